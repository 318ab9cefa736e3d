package edge_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// upstream is a plain HTTP origin whose responses a test scripts.
type upstream struct {
	*httptest.Server
	hits    atomic.Int64
	mu      sync.Mutex
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
		u.mu.Lock()
		hdr, body := u.headers[r.URL.Path], u.bodies[r.URL.Path]
		u.mu.Unlock()
		for k, vs := range hdr {
			w.Header()[k] = vs
		}
		if etag := hdr.Get("ETag"); etag != "" && r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if lm := hdr.Get("Last-Modified"); lm != "" && r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if v := hdr.Get("Vary"); v != "" {
			body += "|" + r.Header.Get(v) // the variant the origin chose
		}
		fmt.Fprint(w, body)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) serve(path, body string, hdr ...string) {
	h := http.Header{}
	for i := 0; i+1 < len(hdr); i += 2 {
		h.Add(hdr[i], hdr[i+1])
	}
	u.mu.Lock()
	u.headers[path], u.bodies[path] = h, body
	u.mu.Unlock()
}

func upstreamEdge(t *testing.T, u *upstream, cfg edge.Config) *testEdge {
	cfg.Sites = []edge.Site{{Hosts: []string{"localhost"}, Upstream: u.URL}}
	return startEdgeWith(t, cfg, nil)
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
		if r.h("Surrogate-Control") != "" {
			t.Errorf("%s: Surrogate-Control, meant for surrogates alone, reached the client", path)
		}
	}
	// CDN-Cache-Control goes downstream, for a CDN further down (RFC 9213).
	if r := te.get("/cdn"); r.h("Cdn-Cache-Control") != "max-age=60" {
		t.Errorf("/cdn: CDN-Cache-Control %q, want the origin's passed on", r.h("Cdn-Cache-Control"))
	}
	te.get("/nostore")
	if r := te.get("/nostore"); strings.Contains(r.h("Cache-Status"), "hit") {
		t.Errorf("/nostore was served from cache: %q", r.h("Cache-Status"))
	}
	// Set-Cookie is not stored; the rest of the response is.
	te.get("/cookie")
	if r := te.get("/cookie"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.h("Set-Cookie") != "" || r.body != "e" {
		t.Errorf("/cookie afterwards: %q, Set-Cookie %q, body %q: want a hit without the cookie", r.h("Cache-Status"), r.h("Set-Cookie"), r.body)
	}
	hidden := startEdgeWith(t, edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: u.URL, HideCDNCacheControl: true}}}, nil)
	for range 2 {
		if r := hidden.get("/cdn"); r.h("Cdn-Cache-Control") != "" || !strings.Contains(r.h("Cache-Status"), "ttl=") {
			t.Errorf("hide_cdn_cache_control: CDN-Cache-Control %q (%s)", r.h("Cdn-Cache-Control"), r.h("Cache-Status"))
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
	if n := te.store.gets.Load(); n != 3 {
		t.Fatalf("%d origin reads for 2 requests, want 3: the first learns the size, then each streams once", n)
	}
	if r := te.do("HEAD", "/big"); r.status != 200 || r.h("Content-Length") != "4096" {
		t.Fatalf("HEAD of a big object: %d Content-Length %q", r.status, r.h("Content-Length"))
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

// Two sites on one upstream host with different base paths keep apart.
func TestUpstreamBasePathsDoNotShareEntries(t *testing.T) {
	u := startUpstream(t)
	u.serve("/a/index.html", "site A", "Cache-Control", "max-age=60")
	u.serve("/b/index.html", "site B", "Cache-Control", "max-age=60")
	te := startEdgeWith(t, edge.Config{Sites: []edge.Site{
		{Hosts: []string{"a.example"}, Upstream: u.URL + "/a"},
		{Hosts: []string{"b.example"}, Upstream: u.URL + "/b"},
	}}, nil)
	if r := te.get("/index.html", "Host", "a.example"); r.body != "site A" {
		t.Fatalf("site A: %q", r.body)
	}
	if r := te.get("/index.html", "Host", "b.example"); r.body != "site B" {
		t.Fatalf("site B served %q", r.body)
	}
}

// A 304 refreshes the stored headers, not only the freshness (RFC 9111
// §4.3.4); repeated field lines reach the client whole.
func TestRevalidationRefreshesHeaders(t *testing.T) {
	u := startUpstream(t)
	u.serve("/h", "body", "Cache-Control", "max-age=10", "ETag", `"e1"`, "Link", "</a>; rel=preload", "Link", "</b>; rel=preload")
	te := upstreamEdge(t, u, edge.Config{})
	r := te.get("/h")
	if r.h("Link") != "</a>; rel=preload, </b>; rel=preload" {
		t.Fatalf("two Link lines became %q", r.h("Link"))
	}
	u.serve("/h", "body", "Cache-Control", "max-age=3600", "ETag", `"e1"`)
	te.clock.Advance(20 * time.Second)
	r = te.get("/h")
	if !strings.Contains(r.h("Cache-Status"), "fwd-status=304") || r.h("Cache-Control") != "max-age=3600" || r.body != "body" {
		t.Fatalf("after the 304: %q Cache-Control %q body %q", r.h("Cache-Status"), r.h("Cache-Control"), r.body)
	}
}

// Vary: each variant is fetched with its own header values and cached apart.
func TestVaryKeysVariants(t *testing.T) {
	u := startUpstream(t)
	u.serve("/v", "page", "Cache-Control", "max-age=60", "Vary", "Accept-Language")
	te := upstreamEdge(t, u, edge.Config{})
	for range 3 {
		for _, lang := range []string{"en", "fr"} {
			if r := te.get("/v", "Accept-Language", lang); r.body != "page|"+lang {
				t.Fatalf("Accept-Language %s got %q", lang, r.body)
			}
		}
	}
	if n := u.hits.Load(); n > 3 {
		t.Fatalf("%d origin requests for 2 variants, want at most 3 (one to learn Vary, one per variant)", n)
	}
	if r := te.get("/v", "Accept-Language", "fr"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("variant not cached: %q", r.h("Cache-Status"))
	}
}

// s-maxage with the origin's own stale-while-revalidate serves stale.
func TestSMaxAgeWithStaleWhileRevalidate(t *testing.T) {
	u := startUpstream(t)
	u.serve("/s", "x", "Cache-Control", "s-maxage=10, stale-while-revalidate=60")
	te := upstreamEdge(t, u, edge.Config{})
	te.get("/s")
	te.clock.Advance(20 * time.Second)
	if r := te.get("/s"); !strings.Contains(r.h("Cache-Status"), "detail=stale-while-revalidate") {
		t.Fatalf("s-maxage + SWR: %q", r.h("Cache-Status"))
	}
}

// An upstream's weak ETag stays weak: it validates If-None-Match (weak
// comparison) and the edge's own revalidation, never If-Match or If-Range
// (strong comparison), so a resumed download cannot splice two versions.
func TestWeakUpstreamETag(t *testing.T) {
	u := startUpstream(t)
	u.serve("/w", "0123456789", "Cache-Control", "max-age=10", "ETag", `W/"v1"`)
	te := upstreamEdge(t, u, edge.Config{})
	if r := te.get("/w"); r.status != 200 || r.h("ETag") != `W/"v1"` {
		t.Fatalf("fill: %d ETag %q", r.status, r.h("ETag"))
	}
	if r := te.get("/w", "If-None-Match", `"v1"`); r.status != 304 {
		t.Fatalf(`If-None-Match "v1" against W/"v1": %d, want 304 (weak comparison)`, r.status)
	}
	if r := te.get("/w", "If-Match", `W/"v1"`, "Range", "bytes=0-1"); r.status != 412 {
		t.Fatalf(`If-Match W/"v1": %d, want 412 (a weak tag never matches strongly)`, r.status)
	}
	if r := te.get("/w", "If-Range", `W/"v1"`, "Range", "bytes=0-1"); r.status != 200 || r.body != "0123456789" {
		t.Fatalf(`If-Range W/"v1": %d %q, want the whole 200`, r.status, r.body)
	}
	// Stale: the edge revalidates with the weak tag as sent, and the
	// upstream's 304 keeps the entry.
	hits := u.hits.Load()
	te.clock.Advance(20 * time.Second)
	if r := te.get("/w"); r.status != 200 || r.body != "0123456789" || !strings.Contains(r.h("Cache-Status"), "fwd-status=304") {
		t.Fatalf("revalidation (want the upstream's 304): %d %q %q", r.status, r.body, r.h("Cache-Status"))
	}
	if u.hits.Load() != hits+1 {
		t.Fatalf("%d upstream requests for the revalidation, want 1", u.hits.Load()-hits)
	}
	if r := te.get("/w"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("after the 304: %q, want a hit", r.h("Cache-Status"))
	}
}

// A 304 that forbids storing refreshes nothing, and Cache-Status says so
// instead of "stored".
func TestRevalidationNotStored(t *testing.T) {
	u := startUpstream(t)
	u.serve("/r", "body", "Cache-Control", "max-age=10", "ETag", `"a"`)
	te := upstreamEdge(t, u, edge.Config{})
	te.get("/r")
	u.serve("/r", "body", "Cache-Control", "no-store", "ETag", `"a"`)
	te.clock.Advance(20 * time.Second)
	r := te.get("/r")
	if r.status != 200 || r.body != "body" || r.h("Cache-Status") != "edge; fwd=stale; fwd-status=304; detail=no-store" {
		t.Fatalf("a no-store 304: %d %q %q", r.status, r.body, r.h("Cache-Status"))
	}
	if r := te.get("/r"); !strings.Contains(r.h("Cache-Status"), "fwd=stale") {
		t.Fatalf("after a 304 that was not stored: %q, want another revalidation", r.h("Cache-Status"))
	}
}

// If-Range with a date resumes a download only when Last-Modified is a
// strong validator: the response was generated a second or more after it.
func TestIfRangeDateNeedsAStrongLastModified(t *testing.T) {
	u := startUpstream(t)
	te := upstreamEdge(t, u, edge.Config{})
	old := te.clock.Now().Add(-time.Hour).Format(http.TimeFormat)
	same := te.clock.Now().Format(http.TimeFormat)
	u.serve("/old", "0123456789", "Cache-Control", "max-age=60", "Last-Modified", old)
	u.serve("/same", "0123456789", "Cache-Control", "max-age=60", "Last-Modified", same)
	te.get("/old")
	te.get("/same")
	if r := te.get("/old", "If-Range", old, "Range", "bytes=0-1"); r.status != 206 || r.body != "01" {
		t.Fatalf("If-Range with an hour-old Last-Modified: %d %q, want 206", r.status, r.body)
	}
	if r := te.get("/same", "If-Range", same, "Range", "bytes=0-1"); r.status != 200 || r.body != "0123456789" {
		t.Fatalf("If-Range with a Last-Modified of the response's own second: %d %q, want the whole 200", r.status, r.body)
	}
}

// An entry without an entity-tag is revalidated by its Last-Modified, so a
// 304 keeps it instead of a whole refetch.
func TestRevalidationByLastModified(t *testing.T) {
	u := startUpstream(t)
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat)
	u.serve("/lm", "body", "Cache-Control", "max-age=10", "Last-Modified", lm)
	te := upstreamEdge(t, u, edge.Config{})
	te.get("/lm")
	te.clock.Advance(20 * time.Second)
	if r := te.get("/lm"); r.body != "body" || !strings.Contains(r.h("Cache-Status"), "fwd-status=304") {
		t.Fatalf("stale entry with only Last-Modified: %q %q, want a 304 revalidation", r.body, r.h("Cache-Status"))
	}
}
