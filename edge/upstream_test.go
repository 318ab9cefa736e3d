package edge_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// upstream is a plain HTTP origin whose responses a test scripts.
type upstream struct {
	*httptest.Server
	hits    atomic.Int64
	headers map[string]http.Header // path → response headers
	bodies  map[string]string
}

func startUpstream(t *testing.T) *upstream {
	u := &upstream{headers: map[string]http.Header{}, bodies: map[string]string{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		for k, vs := range u.headers[r.URL.Path] {
			w.Header()[k] = vs
		}
		fmt.Fprint(w, u.bodies[r.URL.Path])
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) serve(path, body string, hdr ...string) {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	u.headers[path], u.bodies[path] = h, body
}

func upstreamEdge(t *testing.T, u *upstream, cfg edge.Config) *testEdge {
	cfg.Sites = []edge.Site{{Hosts: []string{"localhost"}, Upstream: u.URL}}
	return startEdgeWith(t, cfg, edge.Origin{})
}

// Targeted cache controls: CDN-Cache-Control over s-maxage over max-age.
func TestFreshnessPrecedence(t *testing.T) {
	u := startUpstream(t)
	u.serve("/smax", "a", "Cache-Control", "max-age=300, s-maxage=30")
	u.serve("/cdn", "b", "Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60")
	u.serve("/surrogate", "c", "Cache-Control", "max-age=5", "Surrogate-Control", "max-age=90")
	u.serve("/nostore", "d", "Cache-Control", "no-store")
	u.serve("/cookie", "e", "Cache-Control", "max-age=60", "Set-Cookie", "session=1")
	te := upstreamEdge(t, u, edge.Config{})
	for path, want := range map[string]string{"/smax": "ttl=30", "/cdn": "ttl=60", "/surrogate": "ttl=90"} {
		r := te.get(path)
		if !strings.Contains(r.h("Cache-Status"), "stored; "+want) {
			t.Errorf("%s: Cache-Status %q, want stored with %s", path, r.h("Cache-Status"), want)
		}
		if r.h("Surrogate-Control") != "" || r.h("Cdn-Cache-Control") != "" {
			t.Errorf("%s: the targeted header reached the client", path)
		}
	}
	for _, path := range []string{"/nostore", "/cookie"} {
		te.get(path)
		if r := te.get(path); strings.Contains(r.h("Cache-Status"), "hit") {
			t.Errorf("%s was served from cache: %q", path, r.h("Cache-Status"))
		}
	}
}

// A successful POST through an upstream site invalidates the target URI.
func TestUnsafeMethodInvalidates(t *testing.T) {
	u := startUpstream(t)
	u.serve("/page", "v1", "Cache-Control", "max-age=600")
	te := upstreamEdge(t, u, edge.Config{})
	te.get("/page")
	if r := te.get("/page"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("not cached: %q", r.h("Cache-Status"))
	}
	u.serve("/page", "v2", "Cache-Control", "max-age=600")
	if r := te.do("POST", "/page"); r.status != 204 {
		t.Fatalf("POST passed through: %d", r.status)
	}
	if r := te.get("/page"); r.body != "v2" {
		t.Fatalf("after POST: %q, want v2", r.body)
	}
}

// Objects over MaxObjectSize stream through and are not cached.
func TestLargeObjectsStreamThrough(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.MaxObjectSize = 1024 })
	big := strings.Repeat("B", 4096)
	te.put("big", big, origin.Headers{CacheControl: "max-age=60"})
	for range 2 {
		r := te.get("/big")
		if r.status != 200 || r.body != big || !strings.Contains(r.h("Cache-Status"), "bypass") {
			t.Fatalf("big object: %d %d bytes %q", r.status, len(r.body), r.h("Cache-Status"))
		}
	}
	if n := te.store.gets.Load(); n < 2 {
		t.Fatalf("%d origin reads: a big object must not be cached", n)
	}
}

// Smuggling attempts, over-size headers and bodies are refused.
func TestServerLimits(t *testing.T) {
	te := startEdge(t)
	te.put("x", "x", origin.Headers{})
	if status, _ := te.raw("GET /x HTTP/1.1\r\nHost: localhost\r\nX-Big: " + strings.Repeat("a", 20<<10) + "\r\n"); status != 431 {
		t.Fatalf("20 KiB header: %d, want 431", status)
	}
	// The smuggled request after the ambiguous one must never be answered.
	c, err := net.Dial("tcp", te.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\nHost: localhost\r\n\r\n")
	all, _ := io.ReadAll(c)
	if n := strings.Count(string(all), "HTTP/1.1 "); n != 1 || !strings.HasPrefix(string(all), "HTTP/1.1 400") {
		t.Fatalf("ambiguous framing: %d responses, first %.40q", n, all)
	}
}
