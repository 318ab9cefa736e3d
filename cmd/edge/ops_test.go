package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/internal/childenv"
	"github.com/edgecdn/edge/purge/redistest"
)

// startLogged runs the all-in-one with config text, its logs in the
// returned buffer (read after stop).
func startLogged(t *testing.T, config string) (addrs, *lockedWriter, func()) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte(config), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedWriter{w: &bytes.Buffer{}}
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(slices.Clone(listenArgs), "-config", path, "-data", dir), io.Discard, logs, func(a addrs) { ready <- a })
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	select {
	case a := <-ready:
		t.Cleanup(stop)
		return a, logs, stop
	case err := <-done:
		cancel()
		t.Fatalf("edge stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("edge did not start")
	}
	return addrs{}, nil, nil
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}

// The access log says which request (the client's X-Request-Id, else the
// server's own id), what it asked and got, and how long it took; the
// level changes at runtime on the admin port.
func TestAccessLogAndRuntimeLevel(t *testing.T) {
	a, logs, _ := startLogged(t, "access_log_every: 1\nlog_level: info\npublic_buckets: [public]\nsites:\n  - hosts: [localhost]\n    bucket: public\n")
	req, _ := http.NewRequest("GET", "http://"+a.Edge+"/missing", nil)
	req.Host = "localhost"
	req.Header.Set("X-Request-Id", "req-abc-123")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
		t.Fatalf("GET: %v %v", resp, err)
	}
	httpGet(t, "http://"+a.Edge+"/other", "localhost")
	line := func(sub string) string {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, `"msg":"request"`) && strings.Contains(l, sub) {
				return l
			}
		}
		return ""
	}
	l := line(`"request_id":"req-abc-123"`)
	for _, want := range []string{`"method":"GET"`, `"host":"localhost"`, `"uri":"/missing"`, `"status":404`, `"cache_status":"edge; fwd=uri-miss`, `"duration":`, `"tls":false`} {
		if !strings.Contains(l, want) {
			t.Errorf("access log line lacks %s:\n%s", want, l)
		}
	}
	if l := line(`"uri":"/other"`); !strings.Contains(l, `"request_id":`) {
		t.Errorf("a request without X-Request-Id has no id of its own:\n%s", l)
	}

	level := func(method, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+a.Admin+"/loglevel", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := level("GET", ""); code != 200 || !strings.Contains(body, `"level":"info"`) {
		t.Fatalf("GET /loglevel: %d %s", code, body)
	}
	if code, body := level("PUT", `{"level":"warn"}`); code != 200 || !strings.Contains(body, `"level":"warn"`) {
		t.Fatalf("PUT /loglevel: %d %s", code, body)
	}
	before := strings.Count(logs.String(), `"msg":"request"`)
	httpGet(t, "http://"+a.Edge+"/quiet", "localhost")
	if after := strings.Count(logs.String(), `"msg":"request"`); after != before {
		t.Errorf("at warn, the access log (info) still wrote %d lines", after-before)
	}
	if code, _ := level("PUT", `{"level":"loud"}`); code != 400 {
		t.Errorf("PUT of a level that does not exist: %d, want 400", code)
	}
}

// log_format: console writes lines for a terminal, not JSON.
func TestConsoleLogFormat(t *testing.T) {
	_, logs, stop := startLogged(t, "log_format: console\npublic_buckets: [public]\nsites:\n  - hosts: [localhost]\n    bucket: public\n")
	stop()
	out := logs.String()
	if !strings.Contains(out, "\tINFO\t") || strings.Contains(out, `{"level"`) {
		t.Fatalf("console logs:\n%s", out)
	}
	path := filepath.Join(t.TempDir(), "edge.yaml")
	os.WriteFile(path, []byte("log_format: xml\nsites:\n  - hosts: [a.test]\n    bucket: public\n"), 0o644)
	if err := refuse(t, "-config", path, "-data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "log_format") {
		t.Errorf("log_format xml: %v", err)
	}
}

// The example configs start as shipped (their addresses on loopback port
// 0, and their remote origin and Redis the test's).
func TestExampleConfigsStart(t *testing.T) {
	t.Parallel() // cluster/edge.yaml's shutdown_delay holds its stop 2 s
	rds := redistest.Start(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	nowhere := "http://" + ln.Addr().String() // an origin that refuses: fills fail, start does not
	ln.Close()
	for _, c := range []struct {
		file  string
		extra []string
	}{
		{"edge.yaml", nil},
		{"cluster/edge.yaml", []string{"-origin", nowhere, "-redis", rds.URL()}},
		{"edge-s3.yaml", []string{"-origin", nowhere}},
		{"../docker/edge.yaml", []string{"-origin", nowhere, "-redis", rds.URL(), "-s3", ""}},
	} {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			ready := make(chan addrs, 1)
			done := make(chan error, 1)
			args := append(append(slices.Clone(listenArgs), "-config", filepath.Join("../../configs", c.file), "-data", t.TempDir()), c.extra...)
			go func() { done <- run(ctx, args, io.Discard, io.Discard, func(a addrs) { ready <- a }) }()
			select {
			case a := <-ready:
				if resp, _ := httpGet(t, "http://"+a.Admin+"/healthz", ""); resp.StatusCode != 200 {
					t.Errorf("healthz: %d", resp.StatusCode)
				}
				cancel()
				if err := <-done; err != nil {
					t.Errorf("run: %v", err)
				}
			case err := <-done:
				cancel()
				t.Fatalf("%s does not start: %v", c.file, err)
			case <-time.After(20 * time.Second):
				cancel()
				t.Fatalf("%s: no start within 20 s", c.file)
			}
		})
	}
}

// The Grafana dashboard under configs/ charts metrics the edge exports:
// every metric its queries name is in /metrics of an edge with HTTPS
// and a purge bus.
func TestGrafanaDashboardNamesRealMetrics(t *testing.T) {
	data, err := os.ReadFile("../../configs/grafana/edge-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	a, dir := startAllInOne(t)
	putPublic(t, a, dir, "x", "y") // a purge, a fill: histograms with samples
	httpGet(t, "http://"+a.Edge+"/x", "localhost")
	httpGet(t, "http://"+a.Edge+"/x", "unknown.example") // an error answer (421)
	_, metrics := httpGet(t, "http://"+a.Admin+"/metrics", "")
	name := regexp.MustCompile(`(edge|s3)_[a-z_]+`)
	seen := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			for _, m := range name.FindAllString(target.Expr, -1) {
				seen++
				if !strings.Contains(metrics, "\n"+m+" ") && !strings.Contains(metrics, "\n"+m+"{") {
					t.Errorf("panel %q queries %s, which /metrics does not have", p.Title, m)
				}
			}
		}
	}
	if seen < 10 {
		t.Fatalf("the dashboard names %d metrics", seen)
	}
}

// The all-in-one's /metrics covers its embedded store too: the S3 API's
// requests and bytes, and the outbox's backlog.
func TestAllInOneMetricsCoverTheStore(t *testing.T) {
	a, dir := startAllInOne(t)
	putPublic(t, a, dir, "k", "12345")
	_, body := httpGet(t, "http://"+a.Admin+"/metrics", "")
	for _, want := range []string{`s3_requests_total{op="PutObject",status="200"} 1`, `s3_bytes_received_total 5`, "edge_purge_outbox_backlog "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// edge healthcheck: 0 while the admin port answers /healthz, 1 when it
// does not.
func TestHealthcheck(t *testing.T) {
	a, _ := startAllInOne(t)
	if code := healthcheck([]string{"http://" + a.Admin + "/healthz"}, io.Discard); code != 0 {
		t.Errorf("a running edge: %d", code)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	var stderr bytes.Buffer
	if code := healthcheck([]string{"http://" + down + "/healthz"}, &stderr); code != 1 || !strings.Contains(stderr.String(), "edge healthcheck") {
		t.Errorf("nothing listening: %d %q", code, stderr.String())
	}
}

// gomaxprocs sets how many cores run Go code, which /metrics and the
// start line report, and admin_pprof serves the profiles; the process is
// the built command, since GOMAXPROCS is the whole process's.
func TestGOMAXPROCSAndProfiles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edge.yaml")
	os.WriteFile(cfg, []byte("gomaxprocs: 1\nadmin_pprof: true\npublic_buckets: [public]\nsites:\n  - hosts: [localhost]\n    bucket: public\n"), 0o644)
	cmd := exec.Command(binary(t, "edge"), "-config", cfg, "-listen", "127.0.0.1:0", "-tls-listen", "", "-admin", "127.0.0.1:0", "-s3", "", "-data", filepath.Join(dir, "data"))
	cmd.Env = childenv.Clean()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() })
	type serving struct {
		Msg, Admin string
		GOMAXPROCS int
	}
	started := make(chan serving, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line serving
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "edge serving" {
				started <- line
			}
		}
	}()
	var s serving
	select {
	case s = <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the edge did not start")
	}
	if s.GOMAXPROCS != 1 {
		t.Errorf("start line: gomaxprocs %d, want 1", s.GOMAXPROCS)
	}
	if resp, body := httpGet(t, "http://"+s.Admin+"/metrics", ""); resp.StatusCode != 200 || !strings.Contains(body, "\ngo_sched_gomaxprocs_threads 1\n") || !strings.Contains(body, "\nprocess_cpu_seconds_total ") {
		t.Errorf("/metrics: %d, without go_sched_gomaxprocs_threads 1 or process_cpu_seconds_total", resp.StatusCode)
	}
	if resp, body := httpGet(t, "http://"+s.Admin+"/debug/pprof/cmdline", ""); resp.StatusCode != 200 || !strings.Contains(body, "edge") {
		t.Errorf("/debug/pprof/cmdline: %d %q", resp.StatusCode, body)
	}
}

// Profiles are off unless admin_pprof asks for them.
func TestProfilesOffByDefault(t *testing.T) {
	a, _ := startAllInOne(t)
	if resp, _ := httpGet(t, "http://"+a.Admin+"/debug/pprof/", ""); resp.StatusCode != 404 {
		t.Errorf("/debug/pprof/ without admin_pprof: %d, want 404", resp.StatusCode)
	}
}
