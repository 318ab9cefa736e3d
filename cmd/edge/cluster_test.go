package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/edgecdn/edge/internal/childenv"
	"github.com/edgecdn/edge/purge/redistest"
)

// The product across processes: cmd/origin (a real process, built from
// this tree) and edges in front of it (each run() with its own servers),
// sharing a real Redis.

const (
	clusterKeyID  = "CLUSTERKEY0000000001"
	clusterSecret = "cluster/secret/0123456789"
	clusterToken  = "cluster-purge-token-0123456789"
	clusterBusKey = "cluster-bus-key-0123456789abcdef"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// binary is a command of this tree (edge, origin, edgectl), the three
// built once per test run, by one go build.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "edge-bin-")
		if buildErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", buildDir+"/", "../edge", "../origin", "../edgectl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, name)
}

// startOriginProcess runs cmd/origin on a loopback port, publishing to
// redisURL, until the test ends; it returns the S3 endpoint.
func startOriginProcess(t *testing.T, redisURL string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "origin.yaml")
	os.WriteFile(cfg, []byte("public_buckets: [public]\nlog_level: info\n"), 0o644)
	cmd := exec.Command(binary(t, "origin"), "-config", cfg, "-listen", "127.0.0.1:0", "-data", filepath.Join(dir, "data"), "-redis", redisURL)
	cmd.Env = childenv.Clean("EDGE_ACCESS_KEY_ID="+clusterKeyID, "EDGE_SECRET_ACCESS_KEY="+clusterSecret, "EDGE_BUS_KEY="+clusterBusKey)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving the S3 API" {
				addr <- line.Addr
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("cmd/origin did not start")
	}
	return ""
}

// clusterEdge is one edge process (run) in front of the origin.
type clusterEdge struct {
	addrs
	stop func()
}

func startClusterEdge(t *testing.T, originURL, redisURL string) *clusterEdge {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "edge.yaml")
	os.WriteFile(cfg, []byte(`bus_silence: 300ms
bus_key: `+clusterBusKey+`
purge:
  tokens:
    - token: `+clusterToken+`
sites:
  - hosts: [localhost, 127.0.0.1]
    bucket: public
    consistency: purge
`), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	args := []string{"-config", cfg, "-listen", "127.0.0.1:0", "-tls-listen", "127.0.0.1:0", "-admin", "127.0.0.1:0", "-s3", "", "-data", dir, "-origin", originURL, "-redis", redisURL}
	go func() { done <- run(ctx, args, io.Discard, &lockedWriter{w: &stderr}, func(a addrs) { ready <- a }) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("edge run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-ready:
		return &clusterEdge{addrs: a, stop: stop}
	case err := <-done:
		t.Fatalf("edge did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("edge did not start")
	}
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var clusterHTTP = &http.Client{Timeout: 10 * time.Second}

// get GETs path on an edge: status, body and headers.
func (e *clusterEdge) get(t *testing.T, path string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+e.Edge+path, nil)
	req.Host = "localhost"
	resp, err := clusterHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (e *clusterEdge) metrics(t *testing.T) string {
	t.Helper()
	resp, err := clusterHTTP.Get("http://" + e.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func (e *clusterEdge) readyz(t *testing.T) string {
	t.Helper()
	resp, err := clusterHTTP.Get("http://" + e.Admin + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// eventually polls cond on every edge until all satisfy it; it returns
// how long that took.
func eventually(t *testing.T, edges []*clusterEdge, what string, cond func(*clusterEdge) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	failed := make(chan int, len(edges))
	for i, e := range edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !cond(e) {
				if time.Since(start) > 10*time.Second {
					failed <- i
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(failed)
	for i := range failed {
		t.Fatalf("edge %d: timed out waiting for %s", i, what)
	}
	return time.Since(start)
}

func s3Client(endpoint string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(clusterKeyID, clusterSecret, ""),
	})
}

func putDoc(t *testing.T, c *awss3.Client, key, body string) {
	t.Helper()
	_, err := c.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String("public"), Key: aws.String(key), Body: strings.NewReader(body),
		CacheControl: aws.String("max-age=3600"), ContentType: aws.String("text/plain"),
	})
	if err != nil {
		t.Fatalf("PutObject %s: %v", key, err)
	}
}

func serves(t *testing.T, path, body string) func(*clusterEdge) bool {
	return func(e *clusterEdge) bool { s, b, _ := e.get(t, path); return s == 200 && b == body }
}

// One origin, three edges and a Redis: every kind of write becomes
// visible on every edge without any purge call, within a bounded time
// that is measured (p50/p99 logged); the purge API with ?wait=1 reports
// the edges that applied it and names one that did not.
func TestClusterPropagation(t *testing.T) {
	rds := redistest.Start(t)
	endpoint := startOriginProcess(t, rds.URL())
	var edges []*clusterEdge
	for range 3 {
		edges = append(edges, startClusterEdge(t, endpoint, rds.URL()))
	}
	eventually(t, edges, "a healthy bus", func(e *clusterEdge) bool { return strings.Contains(e.readyz(t), "purge bus: healthy") })
	client := s3Client(endpoint)
	ctx := context.Background()

	// Overwrites: cached everywhere, then overwritten, many times.
	putDoc(t, client, "doc", "v0")
	eventually(t, edges, "v0", serves(t, "/doc", "v0"))
	var delays []time.Duration
	for i := 1; i <= 60; i++ {
		body := fmt.Sprintf("v%d", i)
		putDoc(t, client, "doc", body)
		delays = append(delays, eventually(t, edges, body, serves(t, "/doc", body)))
	}
	slices.Sort(delays)
	t.Logf("overwrite visible on all 3 edges after the PUT returned: p50 %v, p99 %v, max %v (%d writes)",
		delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1], len(delays))
	for i, e := range edges {
		// Each applied write purge is in the propagation histogram.
		m := e.metrics(t)
		if !strings.Contains(m, "edge_purge_messages_received_total ") || strings.Contains(m, "edge_purge_messages_received_total 0\n") {
			t.Errorf("edge %d: no purge message counted as received", i)
		}
		if !strings.Contains(m, `edge_purge_propagation_seconds_count{from="origin"} `) || strings.Contains(m, `edge_purge_propagation_seconds_count{from="origin"} 0`) {
			t.Errorf("edge %d: no origin purge in the propagation histogram:\n%s", i, grepLines(m, "propagation"))
		}
	}

	// A client with only Redis access cannot purge: its message is not
	// signed with the bus key, and every edge drops it.
	forged := `{"v":1,"type":"purge","pub":"origin-forger","role":"origin","seq":1,"first":1,"issued":"2026-01-01T00:00:00Z","items":[{"kind":"everything"}]}`
	if err := rds.Client().Publish(ctx, "edge:purge", forged).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, edges, "the forged purge dropped", func(e *clusterEdge) bool {
		return strings.Contains(e.metrics(t), "edge_purge_dropped_messages_total 1")
	})
	for i, e := range edges {
		if _, _, h := e.get(t, "/doc"); !strings.HasPrefix(h.Get("Cache-Status"), "edge; hit") {
			t.Fatalf("edge %d after a forged purge: Cache-Status %q, want a hit", i, h.Get("Cache-Status"))
		}
	}

	// Delete.
	if _, err := client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String("public"), Key: aws.String("doc")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, edges, "the delete", func(e *clusterEdge) bool { s, _, _ := e.get(t, "/doc"); return s == 404 })

	// Metadata replace (copy onto itself with REPLACE).
	putDoc(t, client, "meta", "same bytes")
	eventually(t, edges, "meta cached", serves(t, "/meta", "same bytes"))
	_, err := client.CopyObject(ctx, &awss3.CopyObjectInput{
		Bucket: aws.String("public"), Key: aws.String("meta"), CopySource: aws.String("public/meta"),
		MetadataDirective: types.MetadataDirectiveReplace, ContentType: aws.String("text/markdown"), CacheControl: aws.String("max-age=3600"),
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, edges, "the new Content-Type", func(e *clusterEdge) bool {
		_, _, h := e.get(t, "/meta")
		return h.Get("Content-Type") == "text/markdown"
	})

	// Upload after a cached 404.
	eventually(t, edges, "a cached 404", func(e *clusterEdge) bool { s, _, _ := e.get(t, "/late"); return s == 404 })
	putDoc(t, client, "late", "arrived")
	eventually(t, edges, "the upload after a 404", serves(t, "/late", "arrived"))

	// The purge API, waiting for every edge.
	res := purgeCall(t, edges[0], `{"files":["http://localhost/late"]}`, "wait=1&timeout=5s")
	if res.status != 200 || len(res.AppliedBy) != 3 || len(res.Lagging) != 0 {
		t.Fatalf("purge with wait: %d %+v", res.status, res)
	}
	// edgectl, the CLI, against the same API.
	out, code := edgectl(t, edges[0], "purge", "--url", "http://localhost/late", "--wait")
	if code != 0 || !strings.Contains(out, "applied by 3 edges") {
		t.Fatalf("edgectl purge: exit %d, %q", code, out)
	}
	// A stopped edge is still heard of for a moment, but applies nothing.
	edges[2].stop()
	res = purgeCall(t, edges[0], `{"tags":["x"]}`, "wait=1&timeout=300ms")
	if res.status != 202 || len(res.Lagging) != 1 || slices.Contains(res.AppliedBy, res.Lagging[0]) {
		t.Fatalf("purge with a stopped edge: %d %+v, want 202 naming one lagging edge", res.status, res)
	}
	out, code = edgectl(t, edges[0], "purge", "--tag", "x", "--wait", "--timeout", "300ms")
	if code != 2 || !strings.Contains(out, "lagging") {
		t.Fatalf("edgectl purge with a stopped edge: exit %d, %q; want 2", code, out)
	}
}

type purgeResult struct {
	status    int
	AppliedBy []string `json:"applied_by"`
	Lagging   []string `json:"lagging"`
	Seq       uint64   `json:"seq"`
}

func purgeCall(t *testing.T, e *clusterEdge, body, query string) purgeResult {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+e.Admin+"/v1/purge?"+query, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+clusterToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := clusterHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r purgeResult
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("purge answer %d %q: %v", resp.StatusCode, raw, err)
	}
	r.status = resp.StatusCode
	return r
}

// edgectl runs the CLI against an edge's admin port; it returns stdout
// and stderr together, and the exit status.
func edgectl(t *testing.T, e *clusterEdge, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary(t, "edgectl"), append([]string{args[0], "-admin", "http://" + e.Admin}, args[1:]...)...)
	cmd.Env = childenv.Clean("EDGE_PURGE_TOKEN=" + clusterToken)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// Redis faults. Paused (a silent fault: nothing errors, nothing arrives),
// the edges notice within the silence timeout and from then on confirm
// every hit with the origin, so a write made during the fault is served at
// once; killed under load and restarted, the writes made meanwhile reach
// every edge, and no edge keeps an old version.
func TestClusterSurvivesRedisFaults(t *testing.T) {
	rds := redistest.Start(t)
	endpoint := startOriginProcess(t, rds.URL())
	edges := []*clusterEdge{startClusterEdge(t, endpoint, rds.URL()), startClusterEdge(t, endpoint, rds.URL())}
	healthy := func(e *clusterEdge) bool { return strings.Contains(e.readyz(t), "purge bus: healthy") }
	degraded := func(e *clusterEdge) bool { return strings.Contains(e.readyz(t), "purge bus: degraded") }
	eventually(t, edges, "a healthy bus", healthy)
	client := s3Client(endpoint)

	putDoc(t, client, "k", "v1")
	eventually(t, edges, "v1", serves(t, "/k", "v1"))
	rds.Pause()
	took := eventually(t, edges, "degraded mode after Redis paused", degraded)
	t.Logf("a paused Redis was noticed after %v (silence timeout 300ms)", took)
	putDoc(t, client, "k", "v2") // its purge cannot be delivered
	for i, e := range edges {
		if s, b, _ := e.get(t, "/k"); s != 200 || b != "v2" {
			t.Fatalf("edge %d, degraded, right after the write: %d %q, want v2", i, s, b)
		}
	}
	rds.Resume()
	eventually(t, edges, "health after Redis resumed", healthy)
	putDoc(t, client, "k", "v3")
	eventually(t, edges, "v3 through the bus again", serves(t, "/k", "v3"))

	// Kill Redis in the middle of a stream of overwrites.
	for i := range 20 {
		putDoc(t, client, fmt.Sprintf("load/%d", i), "0")
	}
	for i := range 20 {
		eventually(t, edges, "the load keys cached", serves(t, fmt.Sprintf("/load/%d", i), "0"))
	}
	var mu sync.Mutex
	latest := map[string]string{}
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("load/%d", n%20)
			body := fmt.Sprint(n)
			putDoc(t, client, key, body)
			mu.Lock()
			latest[key] = body
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond) // some writes before the fault
	rds.Kill()
	eventually(t, edges, "degraded mode after Redis was killed", degraded)
	time.Sleep(200 * time.Millisecond) // writes during the fault
	rds.Restart()
	eventually(t, edges, "health after Redis restarted", healthy)
	time.Sleep(100 * time.Millisecond) // writes after it
	close(stop)
	<-writerDone
	for key, body := range latest {
		eventually(t, edges, key+" = "+body, serves(t, "/"+key, body))
	}
}
