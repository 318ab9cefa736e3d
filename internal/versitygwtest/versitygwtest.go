// Package versitygwtest starts a real third-party S3 server for one test,
// the Versity S3 Gateway (github.com/versity/versitygw) on its posix
// backend, for the interop tests: on a free loopback port, its objects in
// the test's temporary directory, with random root credentials, and killed
// (its whole process group) when the test ends.
//
// It is used only by tests, which never skip for want of the gateway: the
// binary, pinned to Version, is cached as $(go env GOPATH)/bin/versitygw-
// Version. `make test` installs it up front (make versitygw); a test that
// finds it missing installs it from the Go module proxy (about a minute),
// and fails, saying what to run, if it cannot.
package versitygwtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgecdn/edge/internal/proclog"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Version is the pinned release of the gateway, and Package the command
// go install builds.
const (
	Version = "v1.8.0"
	Package = "github.com/versity/versitygw/cmd/versitygw"
)

// Region is the gateway's region (its default, passed explicitly).
const Region = "us-east-1"

const (
	readyTimeout   = 20 * time.Second // from exec to an answer on the health path
	termTimeout    = 5 * time.Second  // SIGTERM to SIGKILL
	installTimeout = 10 * time.Minute // one go install
	bindAttempts   = 5
	// healthPath answers 200 once the gateway serves; the underscore keeps
	// it from naming a bucket.
	healthPath = "/_versitygwtest_health"
	// readyBanner is printed once the listener is bound, so a health answer
	// after it is ours and not a stranger's on a port we lost.
	readyBanner = "service listening on"
)

// Server is one running gateway. Its fields are fixed for its life.
type Server struct {
	// Endpoint is "http://127.0.0.1:PORT"; buckets are addressed
	// path-style: Endpoint/bucket/key.
	Endpoint string
	// AccessKey and SecretKey are the root account's (random per server).
	AccessKey, SecretKey string
	// Region is the region requests are signed for.
	Region string
	// Dir is the posix root: each bucket is a directory in it, each
	// object a file.
	Dir string

	bin, log string
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd has been waited for
}

// Binary is the path of the versitygw Version binary, installed into the
// cache ($(go env GOPATH)/bin/versitygw-Version) if missing. Parallel test
// binaries install it once (under a lock file), and the binary appears by
// an atomic rename, never half written.
func Binary(t testing.TB) string {
	t.Helper()
	bin, out, err := binary(func(bin string) {
		t.Logf("versitygwtest: installing versitygw %s as %s (about a minute; `make versitygw` does it before the tests)", Version, bin)
	})
	if err != nil {
		if strings.Count(strings.TrimSpace(string(out)), "\n") > 0 { // more than err's last line
			t.Logf("go install %s@%s said:\n%s", Package, Version, out)
		}
		t.Fatalf("versitygwtest: versitygw %s is missing and installing it failed (%v): run `make versitygw`, which installs it as %s from the Go module proxy",
			Version, err, cachePathHint(bin))
	}
	return bin
}

func cachePathHint(bin string) string {
	if bin == "" {
		return "$(go env GOPATH)/bin/versitygw-" + Version
	}
	return bin
}

// binary finds or installs the binary, calling installing first if it
// does; out is go install's output when that failed.
func binary(installing func(bin string)) (bin string, out []byte, err error) {
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		return "", nil, fmt.Errorf("go env GOPATH: %w", err)
	}
	first := filepath.SplitList(strings.TrimSpace(string(gopath)))
	if len(first) == 0 || first[0] == "" {
		return "", nil, errors.New("go env GOPATH is empty")
	}
	binDir := filepath.Join(first[0], "bin")
	bin = filepath.Join(binDir, "versitygw-"+Version)
	if executable(bin) {
		return bin, nil, nil
	}

	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return bin, nil, err
	}
	lock, err := os.OpenFile(filepath.Join(binDir, ".versitygw-"+Version+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return bin, nil, err
	}
	defer lock.Close() // releases the lock, as does the process's death
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return bin, nil, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	if executable(bin) { // another process installed it meanwhile
		return bin, nil, nil
	}
	// Under the lock, install directories left by an interrupted install
	// are nobody's.
	prefix := ".versitygw-" + Version + "-install-"
	if stale, _ := filepath.Glob(filepath.Join(binDir, prefix+"*")); stale != nil {
		for _, d := range stale {
			_ = os.RemoveAll(d)
		}
	}
	installing(bin)
	tmp, err := os.MkdirTemp(binDir, prefix+"*") // same filesystem: the rename is atomic
	if err != nil {
		return bin, nil, err
	}
	defer os.RemoveAll(tmp)

	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", Package+"@"+Version)
	cmd.Dir = tmp // outside any module or workspace
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("go install: not done within %v", installTimeout)
		} else {
			err = fmt.Errorf("go install: %w: %s", err, lastLine(out))
		}
		return bin, out, err
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return bin, nil, err
	}
	return bin, nil, nil
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// Start starts a gateway for t on 127.0.0.1 and stops it when t ends. Its
// environment is only PATH, HOME (a directory of its own) and the root
// credentials: nothing of the test's leaks in.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	base := t.TempDir() // removed after the cleanup below has stopped the gateway
	s := &Server{
		AccessKey: rand.Text()[:20],
		SecretKey: rand.Text(),
		Region:    Region,
		Dir:       filepath.Join(base, "root"),
		bin:       bin,
		log:       filepath.Join(base, "versitygw.log"),
	}
	for _, d := range []string{s.Dir, filepath.Join(base, "home")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatalf("versitygwtest: %v", err)
		}
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("versitygwtest: %s", s.logFile().Tail(30))
		}
	})

	var err error
	for range bindAttempts {
		var port int
		if port, err = proclog.FreePort(); err != nil {
			t.Fatalf("versitygwtest: %v", err)
		}
		if err = s.start(port, filepath.Join(base, "home")); err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("versitygwtest: %v\n%s", err, s.logFile().Tail(30))
	return nil
}

var errPortTaken = errors.New("port taken")

// start runs the gateway on port and waits until it answers.
func (s *Server) start(port int, home string) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logf, logStart, err := s.logFile().Append() // logStart: where this attempt's part begins
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy

	cmd := exec.Command(s.bin,
		"--port", addr,
		"--region", s.Region,
		"--health", healthPath,
		"--keep-alive", // as S3 does; the gateway closes each connection without it
		"posix", s.Dir,
	)
	cmd.Dir = s.Dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"ROOT_ACCESS_KEY=" + s.AccessKey,
		"ROOT_SECRET_KEY=" + s.SecretKey,
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, killed whole at cleanup; should the test
	// binary die without its cleanups, the kernel kills the gateway.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited

	endpoint := "http://" + addr
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-exited:
			s.cmd, s.exited = nil, nil
			if strings.Contains(s.logFile().Since(logStart), "address already in use") {
				return fmt.Errorf("%w: %s: %s", errPortTaken, addr, cmd.ProcessState)
			}
			return fmt.Errorf("versitygw on %s: %s", addr, cmd.ProcessState)
		default:
		}
		if strings.Contains(s.logFile().Since(logStart), readyBanner) && healthy(client, endpoint) {
			s.Endpoint = endpoint
			return nil
		}
		if time.Now().After(deadline) {
			s.stop()
			return fmt.Errorf("versitygw did not answer GET %s%s within %v", endpoint, healthPath, readyTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthy(c *http.Client, endpoint string) bool {
	resp, err := c.Get(endpoint + healthPath)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get("Server") == "VERSITYGW"
}

// stop sends SIGTERM to the process group, SIGKILL after termTimeout, and
// waits for the gateway to exit. Stopping a stopped server does nothing.
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(termTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.exited
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // anything it left in its group
	s.cmd, s.exited = nil, nil
}

// Client is an aws-sdk-go-v2 S3 client of the server: path-style, signed
// with the root credentials, without retries (an interop test should see
// the first answer). edit, if given, changes its options.
func (s *Server) Client(t testing.TB, edit ...func(*s3.Options)) *s3.Client {
	t.Helper()
	return s3.New(s3.Options{
		Region:           s.Region,
		BaseEndpoint:     aws.String(s.Endpoint),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
		RetryMaxAttempts: 1,
	}, edit...)
}

// MakeBucket creates a (private) bucket.
func (s *Server) MakeBucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.Client(t).CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("versitygwtest: CreateBucket %s: %v", name, err)
	}
}

// Put stores body as bucket/key; opts set more of the request, e.g.
// ContentType, CacheControl, Metadata.
func (s *Server) Put(t testing.TB, bucket, key string, body []byte, opts ...func(*s3.PutObjectInput)) *s3.PutObjectOutput {
	t.Helper()
	in := &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}
	for _, o := range opts {
		o(in)
	}
	out, err := s.Client(t).PutObject(t.Context(), in)
	if err != nil {
		t.Fatalf("versitygwtest: PutObject %s/%s: %v", bucket, key, err)
	}
	return out
}

// ContentType is a Put option setting Content-Type.
func ContentType(v string) func(*s3.PutObjectInput) {
	return func(in *s3.PutObjectInput) { in.ContentType = aws.String(v) }
}

// CacheControl is a Put option setting Cache-Control.
func CacheControl(v string) func(*s3.PutObjectInput) {
	return func(in *s3.PutObjectInput) { in.CacheControl = aws.String(v) }
}

// Metadata is a Put option setting user metadata (x-amz-meta-NAME).
func Metadata(m map[string]string) func(*s3.PutObjectInput) {
	return func(in *s3.PutObjectInput) { in.Metadata = m }
}

// ObjectURL is the path-style URL of bucket/key, each segment of the key
// escaped.
func (s *Server) ObjectURL(bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return s.Endpoint + "/" + url.PathEscape(bucket) + "/" + strings.Join(segs, "/")
}

// Sign signs req (SigV4, header form, payload unsigned) with the root
// credentials, for a test that wants the raw HTTP answer rather than the
// SDK's reading of it.
func (s *Server) Sign(t testing.TB, req *http.Request) {
	t.Helper()
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	// S3 signs the path as sent, not escaped again (the SDK's own choice).
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(req.Context(), creds, req, "UNSIGNED-PAYLOAD", "s3", s.Region, time.Now()); err != nil {
		t.Fatalf("versitygwtest: sign %s %s: %v", req.Method, req.URL, err)
	}
}

func (s *Server) logFile() proclog.Log { return proclog.Log{Path: s.log, Name: "versitygw"} }
