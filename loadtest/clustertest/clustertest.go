// Package clustertest starts, for one test, the product split across real
// processes as it is deployed (ARCHITECTURE.md, "Processes"): a Redis,
// cmd/origin publishing its writes on it, and edges (cmd/edge -origin
// -redis) subscribed to it, the commands built from this tree, every port
// on loopback. Unlike systemtest, a purge here crosses process boundaries
// and Redis, so what a load test measures against it is propagation as
// production sees it.
//
// Every process ends with the test; when the test failed, the last lines
// of each one's log are in the test's output.
package clustertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgecdn/edge/internal/childenv"
	"github.com/edgecdn/edge/internal/proclog"
	"github.com/edgecdn/edge/purge/redistest"
)

// The origin's key pair, the edges' purge API token, the bucket, and the
// Host of each of the three sites every edge serves on that bucket, one per
// consistency mode.
const (
	AccessKey  = "CLUSTERLTKEY00000001"              // S3 key pair the origin accepts
	SecretKey  = "clusterlt/secret/0123456789abcdef" // its secret
	PurgeToken = "clusterlt-purge-token-0123456789abcdef"
	Bucket     = "loadtest"
	PurgeHost  = "cdn.test"        // site in consistency: purge
	TTLHost    = "ttl.cdn.test"    // site in consistency: ttl
	StrongHost = "strong.cdn.test" // site in consistency: strong
)

const (
	// busKey signs the bus's messages: without it every process would
	// warn, and a stray publisher on the same Redis could purge.
	busKey = "clusterlt-bus-key-0123456789abcdef"
	// busSilence is short so a Redis fault shows within a test's time,
	// and long enough that a loaded machine's late heartbeat is none.
	busSilence = "1s"
	// startTimeout bounds each step of Start after the build: the origin
	// serving, every edge serving, every edge ready with a healthy bus.
	startTimeout = 30 * time.Second
	// stopTimeout is how long a process has after SIGINT before SIGKILL.
	stopTimeout = 10 * time.Second
	// tailLines of each log go to the output of a failed test.
	tailLines = 40
	// binPrefix names the temporary directory of the built commands; the
	// building process's pid follows, so later runs can remove it.
	binPrefix = "edge-clustertest-"
)

// Cluster is one running cluster; its fields are fixed for its life.
type Cluster struct {
	S3URL     string   // http://127.0.0.1:port of cmd/origin's S3 API
	EdgeURLs  []string // http://127.0.0.1:port of each edge
	AdminURLs []string // http://127.0.0.1:port of each edge's admin port (purge API at /v1/purge, /readyz, /metrics)
	RedisURL  string
}

// The commands are built once per test binary, not once per test: a link
// takes seconds.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// Start starts a Redis, cmd/origin and edges edge processes for t, and
// returns once every edge is ready, hears the origin on the bus (not
// degraded), so a test's first write is purged like any other, and hears
// every other edge, so a purge API call with ?wait=1 waits for all of
// them. The processes stop when t ends. Call it from the test's goroutine.
func Start(t testing.TB, edges int) Cluster {
	t.Helper()
	if edges < 1 {
		t.Fatalf("clustertest: %d edges: start at least one", edges)
	}
	dir, err := binaries()
	if err != nil {
		t.Fatalf("clustertest: %v", err)
	}
	rds := redistest.Start(t)
	c := Cluster{RedisURL: rds.URL()}

	odir := t.TempDir()
	ocfg := filepath.Join(odir, "origin.yaml")
	writeFile(t, ocfg, "public_buckets: ["+Bucket+"]\nlog_level: info\n")
	origin := start(t, odir, "origin", filepath.Join(dir, "origin"),
		childenv.Clean("EDGE_ACCESS_KEY_ID="+AccessKey, "EDGE_SECRET_ACCESS_KEY="+SecretKey, "EDGE_BUS_KEY="+busKey),
		"-config", ocfg, "-listen", "127.0.0.1:0", "-data", filepath.Join(odir, "data"), "-redis", c.RedisURL)
	c.S3URL = "http://" + origin.waitLog(t, "serving the S3 API", time.Now().Add(startTimeout)).Addr

	// Every edge is started before any is waited for: they start side by
	// side.
	procs := make([]*process, edges)
	for i := range procs {
		edir := t.TempDir()
		ecfg := filepath.Join(edir, "edge.yaml")
		writeFile(t, ecfg, edgeConfig)
		procs[i] = start(t, edir, fmt.Sprintf("edge%d", i), filepath.Join(dir, "edge"), childenv.Clean(),
			"-config", ecfg, "-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-s3", "",
			"-data", filepath.Join(edir, "data"), "-origin", c.S3URL, "-redis", c.RedisURL)
	}
	deadline := time.Now().Add(startTimeout)
	for _, p := range procs {
		line := p.waitLog(t, "edge serving", deadline)
		c.EdgeURLs = append(c.EdgeURLs, "http://"+line.Edge)
		c.AdminURLs = append(c.AdminURLs, "http://"+line.Admin)
	}
	deadline = time.Now().Add(startTimeout)
	for i, p := range procs {
		p.waitReady(t, c.AdminURLs[i], deadline)
	}
	if edges > 1 {
		for i, p := range procs {
			p.waitPeers(t, c.AdminURLs[i], edges, deadline)
		}
	}
	return c
}

// edgeConfig is every edge's: the three sites on one bucket, the bus
// signed with busKey, and no access log (a load test would flood it).
const edgeConfig = `log_level: info
access_log_every: 0
bus_silence: ` + busSilence + `
bus_key: ` + busKey + `
purge:
  tokens:
    - token: ` + PurgeToken + `
  rate: 10000
  burst: 10000
sites:
  - hosts: [` + PurgeHost + `]
    bucket: ` + Bucket + `
    consistency: purge
  - hosts: [` + TTLHost + `]
    bucket: ` + Bucket + `
    consistency: ttl
  - hosts: [` + StrongHost + `]
    bucket: ` + Bucket + `
    consistency: strong
`

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// binaries builds cmd/origin and cmd/edge of the module the test runs in,
// once per process, and returns their directory.
func binaries() (string, error) {
	buildOnce.Do(func() { binDir, buildErr = build() })
	return binDir, buildErr
}

func build() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD names no go.mod: run the test inside the module")
	}
	removeStale()
	dir, err := os.MkdirTemp("", binPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/origin", "./cmd/edge")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./cmd/origin ./cmd/edge in %s: %v\n%s", cmd.Dir, err, out)
	}
	return dir, nil
}

// removeStale removes the binaries of test processes that have ended: no
// TestMain of the callers' removes them, so each run sweeps its
// predecessors'.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binPrefix+"*"))
	for _, d := range dirs {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(d), binPrefix), "-")
		n, err := strconv.Atoi(pid)
		if err == nil && n != os.Getpid() && errors.Is(syscall.Kill(n, 0), syscall.ESRCH) {
			os.RemoveAll(d)
		}
	}
}

// process is one child, its stdout and stderr in its log file.
type process struct {
	name   string
	cmd    *exec.Cmd
	log    proclog.Log
	exited chan struct{} // closed once cmd has been waited for
}

// start runs bin with its log in dir, and stops it when t ends.
func start(t testing.TB, dir, name, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, log: proclog.Log{Path: filepath.Join(dir, name+".log"), Name: name}, exited: make(chan struct{})}
	f, _, err := p.log.Append()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the child has its own descriptor
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("clustertest: start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop interrupts the process as an operator would, kills it if it does
// not end in time, and shows its log when the test failed. A process that
// ended before the test did failed the test.
func (p *process) stop(t testing.TB) {
	select {
	case <-p.exited:
		t.Errorf("clustertest: %s exited before the test ended: %v", p.name, p.cmd.ProcessState)
	default:
		p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.exited:
		case <-time.After(stopTimeout):
			t.Logf("clustertest: %s did not stop within %v of SIGINT: killed", p.name, stopTimeout)
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if t.Failed() {
		t.Log(p.log.Tail(tailLines))
	}
}

// probeURL is what Start purges to learn which edges an edge has heard:
// a key no test reads, on caches still empty.
const probeURL = "http://" + PurgeHost + "/.clustertest-probe"

// waitPeers waits until a purge through the edge's API is acknowledged by
// all edges: ?wait=1 waits only for the edges an edge has heard a
// heartbeat from (one each 100 ms), so one called too early would answer
// without an edge that never applied its purge.
func (p *process) waitPeers(t testing.TB, admin string, edges int, deadline time.Time) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		req, err := http.NewRequest("POST", admin+"/v1/purge?wait=1&timeout=1s", strings.NewReader(`{"files":["`+probeURL+`"]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+PurgeToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			var answer struct {
				AppliedBy []string `json:"applied_by"`
			}
			if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &answer) == nil && len(answer.AppliedBy) == edges {
				return
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: %s did not hear all %d edges within %v: a purge with wait=1 answered %s", p.name, edges, startTimeout, last)
		}
		time.Sleep(100 * time.Millisecond) // the edges announce themselves every 100 ms
	}
}

// logLine holds the fields of the JSON log lines Start reads addresses
// from.
type logLine struct {
	Msg, Addr, Edge, Admin string
}

// waitLog returns the first log line whose message is msg, failing t if
// the process exits or the deadline passes first (stop then shows the log).
func (p *process) waitLog(t testing.TB, msg string, deadline time.Time) logLine {
	t.Helper()
	for {
		for l := range strings.SplitSeq(p.log.Since(0), "\n") {
			var line logLine
			if json.Unmarshal([]byte(l), &line) == nil && line.Msg == msg {
				return line
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("clustertest: %s exited (%v) before it logged %q", p.name, p.cmd.ProcessState, msg)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: %s did not log %q within %v", p.name, msg, startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReady waits for the edge's /readyz to answer 200 with a healthy
// bus: an edge starts degraded, and flushes its cache when it turns
// healthy, which would make a test's first hits misses.
func (p *process) waitReady(t testing.TB, admin string, deadline time.Time) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		resp, err := client.Get(admin + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %q", resp.StatusCode, b)
			if resp.StatusCode == http.StatusOK && strings.Contains(string(b), "purge bus: healthy") {
				return
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("clustertest: %s not ready with a healthy bus within %v: /readyz %s", p.name, startTimeout, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
