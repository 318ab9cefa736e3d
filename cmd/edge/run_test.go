package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgecdn/edge/cmd/internal/testenv"
	"github.com/edgecdn/edge/internal/versitygwtest"
	"github.com/edgecdn/edge/purge/redistest"
)

func TestMain(m *testing.M) {
	testenv.ClearEdgeVars()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir) // the commands cluster_test.go built
	}
	os.Exit(code)
}

// listenArgs bind every port the all-in-one opens to loopback port 0.
var listenArgs = []string{"-listen", "127.0.0.1:0", "-tls-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-s3", "127.0.0.1:0"}

func startAllInOne(t testing.TB, args ...string) (addrs, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	args = append(append(slices.Clone(listenArgs), "-data", dir), args...)
	go func() { done <- run(ctx, args, &stdout, &stderr, func(a addrs) { ready <- a }) }()
	select {
	case a := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return a, dir
	case err := <-done:
		cancel()
		t.Fatalf("edge stopped at start: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("edge did not start")
	}
	return addrs{}, ""
}

func httpGet(t *testing.T, url, host string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The all-in-one on its defaults: an object uploaded over S3 into bucket
// "public" is served by the edge on Host localhost, from cache the second
// time, and an overwrite is visible at once (in-process purge).
func TestAllInOneDefaults(t *testing.T) {
	a, dir := startAllInOne(t)
	put := func(body string) { putPublic(t, a, dir, "index.html", body) }
	put("<h1>one</h1>")
	url := "http://" + a.Edge + "/index.html"
	if resp, body := httpGet(t, url, "localhost"); resp.StatusCode != 200 || body != "<h1>one</h1>" {
		t.Fatalf("first GET: %d %q", resp.StatusCode, body)
	}
	resp, _ := httpGet(t, url, "localhost")
	if cs := resp.Header.Get("Cache-Status"); !strings.HasPrefix(cs, "edge; hit") {
		t.Fatalf("second GET Cache-Status %q", cs)
	}
	put("<h1>two</h1>")
	if _, body := httpGet(t, url, "127.0.0.1"); body != "<h1>two</h1>" {
		t.Fatalf("after overwrite: %q", body)
	}
	if resp, _ := httpGet(t, url, "unknown.example"); resp.StatusCode != 421 {
		t.Fatalf("unknown host: %d, want 421", resp.StatusCode)
	}
	if resp, body := httpGet(t, "http://"+a.Admin+"/healthz", ""); resp.StatusCode != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}
	if _, body := httpGet(t, "http://"+a.Admin+"/metrics", ""); !strings.Contains(body, "edge_cache_hits_total 1") {
		t.Fatalf("metrics lack the hit:\n%s", body)
	}
}

// refuse runs the program on a configuration it must reject; should it
// start serving instead, the test fails and the servers stop at once.
func refuse(t *testing.T, args ...string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args = append(slices.Clone(listenArgs), args...)
	return run(ctx, args, io.Discard, io.Discard, func(a addrs) {
		t.Errorf("run started serving on %+v; want it to refuse %v", a, args)
		cancel()
	})
}

func TestBadEdgeConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("sites:\n  - hosts: [cdn.example.com]\n    bucket: b\n    consistency: sometimes\n"), 0o644)
	err := refuse(t, "-config", path, "-data", dir, "-s3", "")
	if err == nil || !strings.Contains(err.Error(), "consistency") {
		t.Fatalf("bad consistency: %v", err)
	}
	os.WriteFile(path, []byte("sites: []\n"), 0o644)
	err = refuse(t, "-config", path, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "at least one site") {
		t.Fatalf("no sites: %v", err)
	}
	t.Setenv("EDGE_SECRET_ACCESS_KEY", "only-the-secret")
	err = refuse(t, "-data", dir)
	if err == nil || !strings.Contains(err.Error(), "EDGE_ACCESS_KEY_ID") {
		t.Fatalf("half a key pair in the environment: %v", err)
	}
}

func TestExampleEdgeConfigLoads(t *testing.T) {
	cfg := defaultConfig()
	if err := loadConfig("../../configs/edge.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
}

// An edge in front of a separate origin has no way to hear of its writes
// without the bus: purge-mode sites are refused, with what to configure,
// unless the operator accepts unbounded staleness, which /readyz states.
func TestPurgeSitesNeedABus(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	site := "sites:\n  - hosts: [cdn.example.com]\n    bucket: b\n"
	os.WriteFile(path, []byte(site), 0o644)
	err := refuse(t, "-config", path, "-data", dir, "-s3", "", "-origin", "http://127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "-redis") || !strings.Contains(err.Error(), "consistency: ttl") || !strings.Contains(err.Error(), "allow_unbounded_staleness") {
		t.Fatalf("purge site without a bus: %v", err)
	}
	os.WriteFile(path, []byte(site+"allow_unbounded_staleness: true\n"), 0o644)
	a, _ := startAllInOne(t, "-config", path, "-s3", "", "-origin", "http://127.0.0.1:1")
	if _, body := httpGet(t, "http://"+a.Admin+"/readyz", ""); !strings.Contains(body, "allow_unbounded_staleness") {
		t.Fatalf("/readyz does not say staleness is unbounded:\n%s", body)
	}
	os.WriteFile(path, []byte("sites:\n  - hosts: [cdn.example.com]\n    bucket: b\n    consistency: ttl\n"), 0o644)
	startAllInOne(t, "-config", path, "-s3", "", "-origin", "http://127.0.0.1:1")
}

// The all-in-one's purge API: a token is generated at first start, printed
// once, and purges what it names; without it the API answers 401.
func TestAllInOnePurgeAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	var stdout bytes.Buffer
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(slices.Clone(listenArgs), "-data", dir), &lockedWriter{w: &stdout}, io.Discard, func(a addrs) { ready <- a })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	defer func() { cancel(); <-done }()
	token, err := os.ReadFile(filepath.Join(dir, "purge-token"))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(token))
	if !strings.Contains(stdout.String(), tok) {
		t.Fatalf("the generated purge token was not printed: %q", stdout.String())
	}
	post := func(auth string) int {
		req, _ := http.NewRequest("POST", "http://"+a.Admin+"/v1/purge?wait=1", strings.NewReader(`{"hosts":["localhost"]}`))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := post(""); s != 401 {
		t.Fatalf("purge without a token: %d", s)
	}
	if s := post(tok); s != 200 {
		t.Fatalf("purge with the generated token: %d", s)
	}
}

// Secrets never reach the logs or /metrics: the purge token, the Redis
// password, the bus key and the S3 secret, even at debug level and after
// failed and successful purge calls.
func TestNoSecretInLogsOrMetrics(t *testing.T) {
	const (
		token     = "tok-very-secret-0123456789"
		redisPass = "redis-very-secret-pw"
		busKey    = "bus-very-secret-key-0123"
		s3Secret  = "s3-very-secret-0123456789"
	)
	rds := redistest.StartWith(t, redistest.Options{Users: []redistest.User{{Name: "edge", Password: redisPass}}})
	t.Setenv("EDGE_ACCESS_KEY_ID", "SECRETSTESTKEY000001")
	t.Setenv("EDGE_SECRET_ACCESS_KEY", s3Secret)
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	redisURL := strings.Replace(rds.URL(), "redis://", "redis://edge:"+redisPass+"@", 1)
	os.WriteFile(path, []byte(`log_level: debug
access_log_every: 1
redis: `+redisURL+`
bus_key: `+busKey+`
purge:
  tokens:
    - token: `+token+`
sites:
  - hosts: [localhost]
    bucket: public
`), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(slices.Clone(listenArgs), "-config", path, "-data", dir), io.Discard, &lockedWriter{w: &logs}, func(a addrs) { ready <- a })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	for _, auth := range []string{"Bearer wrong-token-0123456789", "Bearer " + token} {
		req, _ := http.NewRequest("POST", "http://"+a.Admin+"/v1/purge", strings.NewReader(`{"hosts":["localhost"]}`))
		req.Header.Set("Authorization", auth)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	httpGet(t, "http://"+a.Edge+"/x", "localhost")
	_, metrics := httpGet(t, "http://"+a.Admin+"/metrics", "")
	cancel()
	<-done
	for _, secret := range []string{token, redisPass, busKey, s3Secret} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs contain the secret %q", secret)
		}
		if strings.Contains(metrics, secret) {
			t.Errorf("/metrics contains the secret %q", secret)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"request"`) {
		t.Fatal("the access log was not written: the test saw no logs to search")
	}
}

// A config file holds one YAML document: a second one is refused, not
// silently ignored.
func TestConfigWithTwoDocumentsIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("sites:\n  - hosts: [a.example]\n    bucket: b\n---\nadmin: 0.0.0.0:8081\n"), 0o644)
	if err := refuse(t, "-config", path, "-data", dir, "-s3", ""); err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Fatalf("two documents: %v", err)
	}
}

// A server that stops serving by itself ends the process with an error
// naming it, and the other servers stop with it; until then /readyz
// answers 200.
func TestAServerThatStopsEndsTheProcess(t *testing.T) {
	var mu sync.Mutex
	var listeners []net.Listener
	listen := func(network, address string) (net.Listener, error) {
		ln, err := net.Listen(network, address)
		if err == nil {
			mu.Lock()
			listeners = append(listeners, ln)
			mu.Unlock()
		}
		return ln, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	args := append(slices.Clone(listenArgs), "-data", t.TempDir())
	go func() { done <- runListening(ctx, args, io.Discard, io.Discard, func(a addrs) { ready <- a }, listen) }()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("edge stopped at start: %v", err)
	}
	if resp, body := httpGet(t, "http://"+a.Admin+"/readyz", ""); resp.StatusCode != 200 || !strings.HasPrefix(body, "ready\n") {
		t.Fatalf("/readyz of a serving edge: %d %q", resp.StatusCode, body)
	}

	mu.Lock()
	for _, ln := range listeners {
		if ln.Addr().String() == a.Edge {
			ln.Close() // the edge's accept loop fails
		}
	}
	mu.Unlock()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "edge server") {
			t.Fatalf("run returned %v, want the edge server's failure", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the process kept running without its edge server")
	}
	for _, addr := range []string{a.Admin, a.S3} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Fatalf("%s still accepts connections after run returned", addr)
		}
	}
}

// The config the repository ships loads as it reads.
func TestShippedConfigLoads(t *testing.T) {
	cfg := defaultConfig()
	if err := loadConfig(filepath.Join("..", "..", "configs", "edge.yaml"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.VaryKeys != 100_000 || cfg.TooBigKeys != 10_000 || cfg.CacheBytes != 512<<20 {
		t.Fatalf("configs/edge.yaml read as vary_keys %d, too_big_keys %d, cache_bytes %d", cfg.VaryKeys, cfg.TooBigKeys, cfg.CacheBytes)
	}
}

// A negative bound is refused with the field to fix, not read as a default.
func TestNegativeBoundsRefused(t *testing.T) {
	for _, field := range []string{"vary_keys", "too_big_keys", "cache_bytes", "max_object_size", "gomaxprocs"} {
		dir := t.TempDir()
		path := filepath.Join(dir, "edge.yaml")
		if err := os.WriteFile(path, []byte(field+": -1\nsites:\n  - hosts: [localhost]\n    bucket: public\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := refuse(t, "-config", path, "-data", dir); err == nil || !strings.Contains(err.Error(), field+" is -1") {
			t.Errorf("%s: -1: %v, want an error naming it", field, err)
		}
	}
}

// On shutdown with shutdown_delay, /readyz answers 503 while the edge
// port still serves, so a load balancer stops sending traffic first.
func TestShutdownDelayFailsReadinessFirst(t *testing.T) {
	t.Parallel() // its shutdown holds readiness down 3 s
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	if err := os.WriteFile(path, []byte("shutdown_delay: 3s\nsites:\n  - hosts: [localhost]\n    bucket: public\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(slices.Clone(listenArgs), "-config", path, "-data", dir), io.Discard, io.Discard, func(a addrs) { ready <- a })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("edge stopped at start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("edge did not start")
	}
	if resp, _ := httpGet(t, "http://"+a.Admin+"/readyz", ""); resp.StatusCode != 200 {
		t.Fatalf("/readyz before shutdown: %d", resp.StatusCode)
	}
	cancel()
	deadline := time.Now().Add(2 * time.Second)
	for {
		resp, body := httpGet(t, "http://"+a.Admin+"/readyz", "")
		if resp.StatusCode == 503 && strings.Contains(body, "shutting down") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the signal: %d %q, want 503 shutting down", resp.StatusCode, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp, _ := httpGet(t, "http://"+a.Edge+"/missing", "localhost"); resp.StatusCode != 404 {
		t.Fatalf("the edge port while readiness fails: %d, want it still serving (404)", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after the delay")
	}
}

// -origin fronts a private bucket of another S3 server with the key pair
// of EDGE_ORIGIN_ACCESS_KEY_ID and EDGE_ORIGIN_SECRET_ACCESS_KEY, and the
// secret never reaches the logs.
func TestOriginKeysFromTheEnvironment(t *testing.T) {
	gw := versitygwtest.Start(t)
	gw.MakeBucket(t, "private")
	gw.Put(t, "private", "k.txt", []byte("from the private bucket"))
	t.Setenv("EDGE_ORIGIN_ACCESS_KEY_ID", gw.AccessKey)
	t.Setenv("EDGE_ORIGIN_SECRET_ACCESS_KEY", gw.SecretKey)
	dir := t.TempDir()
	path := filepath.Join(dir, "edge.yaml")
	os.WriteFile(path, []byte("log_level: debug\naccess_log_every: 1\norigin_region: "+gw.Region+
		"\nsites:\n  - hosts: [cdn.example]\n    bucket: private\n    consistency: ttl\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append(slices.Clone(listenArgs), "-config", path, "-data", dir, "-s3", "", "-origin", gw.Endpoint),
			io.Discard, &lockedWriter{w: &logs}, func(a addrs) { ready <- a })
	}()
	var a addrs
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(20 * time.Second):
		t.Fatal("edge did not start")
	}
	resp, body := httpGet(t, "http://"+a.Edge+"/k.txt", "cdn.example")
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if resp.StatusCode != 200 || body != "from the private bucket" {
		t.Fatalf("through -origin with the environment's keys: %d %q", resp.StatusCode, body)
	}
	if strings.Contains(logs.String(), gw.SecretKey) {
		t.Error("the logs contain the origin's secret key")
	}
	t.Setenv("EDGE_ORIGIN_SECRET_ACCESS_KEY", "")
	if err := refuse(t, "-config", path, "-data", dir, "-s3", "", "-origin", gw.Endpoint); err == nil || !strings.Contains(err.Error(), "EDGE_ORIGIN_SECRET_ACCESS_KEY") {
		t.Errorf("half a key pair: %v, want an error naming the variable to set", err)
	}
}

// A site's policy_file is read beside the config that names it, and a
// policy file that does not load keeps the edge from starting with the
// file and line.
func TestPolicyFileBesideTheConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "edge.yaml"), []byte("s3: \"\"\nsites:\n  - hosts: [cdn.example]\n    upstream: http://127.0.0.1:1\n    consistency: ttl\n    policy_file: site-policy.yaml\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "site-policy.yaml"), []byte("rules:\n  - name: all\n    edge_ttl: 1m\n"), 0o644)
	startAllInOne(t, "-config", filepath.Join(dir, "edge.yaml"))
	os.WriteFile(filepath.Join(dir, "site-policy.yaml"), []byte("rules:\n  - name: all\n    edge_ttl: 1 minute\n"), 0o644)
	err := refuse(t, "-config", filepath.Join(dir, "edge.yaml"), "-data", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "site-policy.yaml")+":3:") {
		t.Errorf("a bad policy file: %v", err)
	}
}

// SIGHUP reloads the sites' policy files.
func TestSIGHUPReloadsPolicyFiles(t *testing.T) {
	dir := t.TempDir()
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }))
	defer o.Close()
	os.WriteFile(filepath.Join(dir, "edge.yaml"), []byte("s3: \"\"\nsites:\n  - hosts: [cdn.example]\n    upstream: "+o.URL+"\n    consistency: ttl\n    policy_file: p.yaml\n"), 0o644)
	// The policy is a link to a file elsewhere: writing that file shows
	// the watcher nothing, so only SIGHUP can reload it.
	policy := filepath.Join(t.TempDir(), "real.yaml")
	os.WriteFile(policy, []byte("rules:\n  - name: before\n    edge_ttl: 1m\n"), 0o644)
	if err := os.Symlink(policy, filepath.Join(dir, "p.yaml")); err != nil {
		t.Fatal(err)
	}
	a, _ := startAllInOne(t, "-config", filepath.Join(dir, "edge.yaml"))
	if resp, _ := httpGet(t, "http://"+a.Edge+"/one", "cdn.example"); !strings.Contains(resp.Header.Get("Cache-Status"), "rule:before") {
		t.Fatalf("before: %q", resp.Header.Get("Cache-Status"))
	}
	os.WriteFile(policy, []byte("rules:\n  - name: after\n    edge_ttl: 2m\n"), 0o644)
	time.Sleep(300 * time.Millisecond) // longer than a watched change takes to reload
	if resp, _ := httpGet(t, "http://"+a.Edge+"/two", "cdn.example"); !strings.Contains(resp.Header.Get("Cache-Status"), "rule:before") {
		t.Fatalf("reloaded without SIGHUP: %q", resp.Header.Get("Cache-Status"))
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		resp, _ := httpGet(t, fmt.Sprintf("http://%s/n%d", a.Edge, i), "cdn.example")
		if strings.Contains(resp.Header.Get("Cache-Status"), "rule:after") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after SIGHUP: %q", resp.Header.Get("Cache-Status"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
