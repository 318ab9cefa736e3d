package edge_test

import (
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

// The edge in front of a remote origin server (our S3 API over HTTP), as
// with -origin: misses go over the network, hits do not.
func TestRemoteOriginServer(t *testing.T) {
	engine, err := origin.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if err := engine.CreateBucket(ctx, "public"); err != nil {
		t.Fatal(err)
	}
	o := startRemoteOrigin(t, engine)
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public", Consistency: edge.ConsistencyTTL}}}, edge.FromS3(o.url, nil))
	if _, err := engine.PutObject(ctx, "public", "dir/a b.txt", strings.NewReader("remote"), origin.PutOptions{Size: 6, Headers: origin.Headers{CacheControl: "max-age=60", ContentType: "text/plain"}}); err != nil {
		t.Fatal(err)
	}
	r := te.get("/dir/a%20b.txt")
	if r.status != 200 || r.body != "remote" || r.h("Content-Type") != "text/plain" || r.h("X-Object-Generation") == "" {
		t.Fatalf("miss through the remote origin: %d %q %q gen %q", r.status, r.body, r.h("Content-Type"), r.h("X-Object-Generation"))
	}
	r = te.get("/dir/a%20b.txt")
	if !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.body != "remote" {
		t.Fatalf("second request: %q %q", r.h("Cache-Status"), r.body)
	}
	if r := te.get("/nope"); r.status != 404 {
		t.Fatalf("missing object through the remote origin: %d", r.status)
	}
	if n := o.requests.Load(); n != 2 {
		t.Fatalf("the origin server saw %d requests, want 2 (one miss, one 404)", n)
	}
}

// stale-if-error with the remote origin server stopped: the edge serves its
// stale copy within the window and 502 after it.
func TestStaleIfErrorWhenOriginServerStops(t *testing.T) {
	engine, err := origin.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	engine.CreateBucket(ctx, "public")
	o := startRemoteOrigin(t, engine)
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public", Consistency: edge.ConsistencyTTL}}}, edge.FromS3(o.url, nil))
	engine.PutObject(ctx, "public", "k", strings.NewReader("kept"), origin.PutOptions{Size: 4, Headers: origin.Headers{CacheControl: "max-age=10, stale-if-error=300"}})
	if r := te.get("/k"); r.body != "kept" {
		t.Fatalf("fill: %q", r.body)
	}
	o.stop() // the origin is gone: connections are refused
	te.clock.Advance(60 * time.Second)
	if r := te.get("/k"); r.status != 200 || r.body != "kept" || !strings.Contains(r.h("Cache-Status"), "stale-if-error") {
		t.Fatalf("origin stopped, within stale-if-error: %d %q %q", r.status, r.body, r.h("Cache-Status"))
	}
	te.clock.Advance(10 * time.Minute)
	if r := te.get("/k"); r.status != 502 {
		t.Fatalf("origin stopped, past stale-if-error: %d, want 502", r.status)
	}
}

// remoteOrigin is engine's S3 API on a loopback port, bucket "public"
// readable by anyone, counting the requests it serves.
type remoteOrigin struct {
	url      *url.URL
	requests atomic.Int64
	stop     func() // stops serving; the test's end calls it too
	// served, when set, runs after each request's answer is decided and
	// before it is written: a test can hold an answer on its way.
	served atomic.Pointer[func(*fasthttp.RequestCtx)]
}

func startRemoteOrigin(t *testing.T, engine *origin.Engine) *remoteOrigin {
	t.Helper()
	h, err := s3.New(engine, s3.Config{PublicBuckets: []string{"public"}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &remoteOrigin{}
	srv := s3.NewServer(h, s3.ServerConfig{})
	inner := srv.Handler
	srv.Handler = func(c *fasthttp.RequestCtx) {
		o.requests.Add(1)
		inner(c)
		if f := o.served.Load(); f != nil {
			(*f)(c)
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	var once sync.Once
	o.stop = func() { once.Do(func() { srv.Shutdown(); <-done }) }
	t.Cleanup(o.stop)
	o.url, _ = url.Parse("http://" + ln.Addr().String())
	return o
}

// On a strong site whose origin's purges arrive late (over a bus), a read
// that arrives after a write was acknowledged never gets the old version
// by joining a confirmation the edge sent before it arrived.
func TestStrongReadNeverJoinsAnOlderConfirmation(t *testing.T) {
	engine, err := origin.Open(t.TempDir(), nil) // writes purge nothing here: their purges are still on the way
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	engine.CreateBucket(ctx, "public")
	o := startRemoteOrigin(t, engine)
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public", Consistency: edge.ConsistencyStrong}}}, edge.FromS3(o.url, nil))
	put := func(body string) {
		t.Helper()
		if _, err := engine.PutObject(ctx, "public", "doc", strings.NewReader(body), origin.PutOptions{Size: int64(len(body)), Headers: origin.Headers{CacheControl: "max-age=600"}}); err != nil {
			t.Fatal(err)
		}
	}
	put("v1")
	if r := te.get("/doc"); r.body != "v1" {
		t.Fatalf("fill: %q", r.body)
	}
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the origin's server stops: it waits for held answers
	hold := func(*fasthttp.RequestCtx) { entered <- struct{}{}; <-release }
	o.served.Store(&hold)
	first := make(chan response, 1)
	go func() { first <- te.get("/doc") }()
	recv(t, entered, "the confirmation of v1") // the origin's answer says v1
	put("v2")                                  // acknowledged while that answer is on its way
	second := make(chan response, 1)
	go func() { second <- te.get("/doc") }()
	// FillRequests counts a request once it made or joined a fill.
	waitFor(t, "the second read's joining", func() bool { return te.edge.Stats().FillRequests >= 3 })
	unblock()
	if r := recv(t, first, "the first read"); r.body != "v1" && r.body != "v2" {
		t.Fatalf("first read: %q", r.body)
	}
	if r := recv(t, second, "the second read"); r.body != "v2" {
		t.Fatalf("a read that arrived after the overwrite was acknowledged got %q (%s)", r.body, r.h("Cache-Status"))
	}
	if n := te.edge.Stats().Rejoins; n != 1 {
		t.Errorf("%d rejoins, want 1", n)
	}
}
