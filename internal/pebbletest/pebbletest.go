// Package pebbletest starts Pebble, Let's Encrypt's ACME test server,
// for one test: on loopback ports, validating challenges for real
// against the ports the test names, with every name resolving to
// 127.0.0.1 through pebble-challtestsrv's DNS. Its API's certificate is
// signed by a test CA (CAFile) that only the test's ACME client trusts;
// the certificates it issues chain to a root of its own (Roots).
//
// The binaries, pinned to Version, are cached as $(go env GOPATH)/bin/
// pebble-Version and pebble-challtestsrv-Version: `make pebble` installs
// them before the tests; a test that finds them missing installs them
// from the Go module proxy, and fails, saying what to run, if it cannot.
package pebbletest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgecdn/edge/certs/certstest"
	"github.com/edgecdn/edge/internal/proclog"
)

// Version is the pinned release; Module the module both commands are in.
const (
	Version = "v2.10.1"
	Module  = "github.com/letsencrypt/pebble/v2"
)

// Options are the ports Pebble validates challenges on (the test's
// HTTP and HTTPS listeners) and the lifetime of what it issues.
type Options struct {
	HTTPPort, TLSPort int
	Validity          time.Duration // default 90 days
}

// Server is one running Pebble.
type Server struct {
	// Directory is the ACME directory URL.
	Directory string
	// CAFile is a PEM file of the root that signed Pebble's API
	// certificate: the ACME client's trusted root.
	CAFile string
	mgmt   string // the management API's base URL
	client *http.Client
	log    string // pebble's log
}

// Start runs pebble-challtestsrv and pebble until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	dir := t.TempDir()
	ca := certstest.New(t)
	certFile, keyFile, _ := ca.Issue(t, dir, "pebble-api", "localhost", "127.0.0.1")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	ports := make([]int, 4) // DNS, challtestsrv management, ACME API, Pebble management
	for i := range ports {
		p, err := proclog.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	dns, chMgmt, api, mgmt := ports[0], ports[1], ports[2], ports[3]
	run(t, dir, "pebble-challtestsrv", nil, "-dnsserver", addr(dns), "-management", addr(chMgmt),
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")
	validity := int64(o.Validity / time.Second)
	if validity <= 0 {
		validity = 90 * 24 * 3600
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": addr(api), "managementListenAddress": addr(mgmt),
		"certificate": certFile, "privateKey": keyFile,
		"httpPort": o.HTTPPort, "tlsPort": o.TLSPort, "ocspResponderURL": "",
		"externalAccountBindingRequired": false, "keyAlgorithm": "ecdsa",
		"profiles": map[string]any{"default": map[string]any{"description": "the test's", "validityPeriod": validity}},
	}}
	data, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	// No random sleeps before validations or rejected nonces; an order
	// validates its names again rather than reuse an authorization, so a
	// renewal answers challenges too.
	env := []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"}
	run(t, dir, "pebble", env, "-config", cfgFile, "-dnsserver", addr(dns), "-strict=false")
	s := &Server{
		Directory: "https://localhost:" + strconv.Itoa(api) + "/dir", CAFile: caFile,
		mgmt:   "https://localhost:" + strconv.Itoa(mgmt),
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}},
		log:    filepath.Join(dir, "pebble.log"),
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := s.client.Get(s.Directory)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebbletest: pebble did not answer %s within 20 s: %v", s.Directory, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Roots trusts the root Pebble signs what it issues with.
func (s *Server) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	resp, err := s.client.Get(s.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("pebbletest: the root: %d %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("pebbletest: no PEM root in %q", data)
	}
	return pool
}

// Issued counts the certificates Pebble has issued so far.
func (s *Server) Issued(t testing.TB) int {
	t.Helper()
	data, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "Issued certificate serial")
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// run starts one of the binaries until the test ends (its whole process
// group, killed), its output in a log shown if the test fails.
func run(t testing.TB, dir, name string, env []string, args ...string) {
	t.Helper()
	bin := Binary(t, name)
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("pebbletest: %s: %v", name, err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		logFile.Close()
		if t.Failed() {
			t.Logf("%s", proclog.Log{Path: logPath, Name: name}.Tail(40))
		}
	})
}

// Binary is the path of a Pebble command (pebble, pebble-challtestsrv)
// at Version, installed from the Go module proxy if missing.
func Binary(t testing.TB, name string) string {
	t.Helper()
	gopath := strings.Split(goEnv(t, "GOPATH"), string(os.PathListSeparator))[0]
	bin := filepath.Join(gopath, "bin", name+"-"+Version)
	if fi, err := os.Stat(bin); err == nil && fi.Mode()&0o111 != 0 {
		return bin
	}
	t.Logf("pebbletest: installing %s %s as %s (`make pebble` does it before the tests)", name, Version, bin)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(bin), "."+name+"-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", Module+"/cmd/"+name+"@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pebbletest: %s %s is missing and go install failed (%v): run `make pebble`\n%s", name, Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, name), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func goEnv(t testing.TB, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}
