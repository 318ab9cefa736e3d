package edge_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

var ctx = context.Background()

// clock is an injected, manually advanced time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore is the real engine, with origin reads counted and,
// optionally, slowed down or failed.
type countingStore struct {
	origin.Store
	gets  atomic.Int64
	delay time.Duration
	down  atomic.Bool
	// panicKey makes reads of that key panic.
	panicKey string
	// holdKey: reads of that key signal entered once they have the object,
	// then wait for release (a slow fill of a version, deterministically).
	holdKey          string
	entered, release chan struct{}
}

// LastSeq is the engine's.
func (s *countingStore) LastSeq() (uint64, error) { return s.Store.(*origin.Engine).LastSeq() }

func (s *countingStore) GetObject(ctx context.Context, bucket, key string, opts origin.GetOptions) (*origin.Object, error) {
	s.gets.Add(1)
	if s.panicKey != "" && key == s.panicKey {
		panic("injected panic reading " + key)
	}
	if s.delay > 0 {
		time.Sleep(s.delay) // a slow origin, not an ordering device
	}
	if s.down.Load() {
		return nil, io.ErrUnexpectedEOF
	}
	obj, err := s.Store.GetObject(ctx, bucket, key, opts)
	if key == s.holdKey && s.release != nil {
		s.entered <- struct{}{}
		<-s.release
	}
	return obj, err
}

// recv waits for a value from ch, failing the test after 10 s: a goroutine
// that failed or hung must not hang the test.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// testEdge is an edge on loopback in front of a real engine.
type testEdge struct {
	t      testing.TB
	addr   string
	engine *origin.Engine
	store  *countingStore
	edge   *edge.Edge
	clock  *clock
	client *fasthttp.Client
}

type edgeOption func(*edge.Config, *countingStore)

func startEdge(t *testing.T, opts ...edgeOption) *testEdge {
	t.Helper()
	te := &testEdge{t: t, clock: newClock()}
	var err error
	te.engine, err = origin.Open(t.TempDir(), &origin.Options{Sink: origin.EventSinkFunc(func(ev origin.Event) {
		if te.edge != nil {
			te.edge.ApplyEvent(ev)
		}
	})})
	if err != nil {
		t.Fatal(err)
	}
	if err := te.engine.CreateBucket(ctx, "public"); err != nil {
		t.Fatal(err)
	}
	te.store = &countingStore{Store: te.engine}
	cfg := edge.Config{
		Sites: []edge.Site{{Hosts: []string{"localhost", "127.0.0.1", "cdn.example.com"}, Bucket: "public"}},
		Now:   te.clock.Now,
	}
	for _, o := range opts {
		o(&cfg, te.store)
	}
	te.edge, err = edge.New(cfg, edge.FromStore(te.store))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { te.engine.Close() }) // runs after the server's cleanup
	te.serve()
	return te
}

// startEdgeWith serves an edge with its own config and origin.
func startEdgeWith(t *testing.T, cfg edge.Config, o edge.Origin) *testEdge {
	t.Helper()
	te := &testEdge{t: t, clock: newClock()}
	cfg.Now = te.clock.Now
	var err error
	if te.edge, err = edge.New(cfg, o); err != nil {
		t.Fatal(err)
	}
	te.serve()
	return te
}

// serve puts te.edge on a loopback port until the test ends.
func (te *testEdge) serve() {
	te.t.Cleanup(func() { te.edge.Close() }) // after the server stops
	te.addr = serveOn(te.t, edge.NewServer(te.edge, edge.ServerConfig{}))
	te.client = &fasthttp.Client{MaxConnsPerHost: 512}
	te.t.Cleanup(te.client.CloseIdleConnections) // first: the shutdown need not wait for them
}

// serveOn serves srv on a loopback port until the test ends and returns
// its address.
func serveOn(t testing.TB, srv *fasthttp.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown()
		ln.Close() // a Shutdown before Serve began would leave it serving
		<-done
	})
	return ln.Addr().String()
}

// put writes an object to the origin store.
func (te *testEdge) put(key, body string, hd origin.Headers) origin.ObjectInfo {
	te.t.Helper()
	info, err := te.engine.PutObject(ctx, "public", key, strings.NewReader(body), origin.PutOptions{Size: int64(len(body)), Headers: hd})
	if err != nil {
		te.t.Fatal(err)
	}
	return info
}

// response is what a client saw.
type response struct {
	status int
	header map[string]string
	body   string
}

func (r response) h(name string) string { return r.header[strings.ToLower(name)] }

// do sends one request to the edge. hdr may set Host.
func (te *testEdge) do(method, path string, hdr ...string) response {
	te.t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + te.addr + path)
	req.URI().DisablePathNormalizing = true // "a//b" and "a/../b" are keys
	req.UseHostHeader = true                // send the Host we set, not the address
	req.Header.SetHost("localhost")
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Header.SetHost(hdr[i+1])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	if method == fasthttp.MethodHead {
		resp.SkipBody = true
	}
	if err := te.client.DoTimeout(req, resp, 10*time.Second); err != nil {
		te.t.Fatalf("%s %s: %v", method, path, err)
	}
	out := response{status: resp.StatusCode(), header: map[string]string{}, body: string(resp.Body())}
	for k, v := range resp.Header.All() {
		out.header[strings.ToLower(string(k))] = string(v)
	}
	return out
}

func (te *testEdge) get(path string, hdr ...string) response {
	te.t.Helper()
	return te.do(fasthttp.MethodGet, path, hdr...)
}

// raw sends a request head byte for byte (no client normalisation) and
// returns the status and body.
func (te *testEdge) raw(head string) (int, string) {
	te.t.Helper()
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		te.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, head+"Connection: close\r\n\r\n"); err != nil {
		te.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		te.t.Fatalf("%q: %v", head, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
