package edge_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

func TestMissThenHit(t *testing.T) {
	te := startEdge(t)
	te.put("img/logo.png", "PNGDATA", origin.Headers{ContentType: "image/png", CacheControl: "max-age=60"})
	first := te.get("/img/logo.png")
	if first.status != 200 || first.body != "PNGDATA" || first.h("Content-Type") != "image/png" {
		t.Fatalf("miss: %d %q %q", first.status, first.body, first.h("Content-Type"))
	}
	if cs := first.h("Cache-Status"); !strings.HasPrefix(cs, "edge; fwd=uri-miss; stored") {
		t.Fatalf("miss Cache-Status = %q", cs)
	}
	te.clock.Advance(10 * time.Second)
	second := te.get("/img/logo.png")
	if second.status != 200 || second.body != "PNGDATA" {
		t.Fatalf("hit: %d %q", second.status, second.body)
	}
	if cs := second.h("Cache-Status"); cs != "edge; hit; ttl=50" {
		t.Fatalf("hit Cache-Status = %q, want edge; hit; ttl=50", cs)
	}
	if second.h("Age") != "10" {
		t.Fatalf("Age = %q, want 10", second.h("Age"))
	}
	if n := te.store.gets.Load(); n != 1 {
		t.Fatalf("%d origin reads, want 1", n)
	}
	head := te.do("HEAD", "/img/logo.png")
	if head.status != 200 || head.body != "" || head.h("Content-Length") != "7" {
		t.Fatalf("HEAD: %d %q len %q", head.status, head.body, head.h("Content-Length"))
	}
}

func TestConditionalFromCache(t *testing.T) {
	te := startEdge(t)
	info := te.put("a.txt", "hello", origin.Headers{CacheControl: "max-age=60"})
	te.get("/a.txt")
	r := te.get("/a.txt", "If-None-Match", `"`+info.ETag+`"`)
	if r.status != 304 || r.body != "" || r.h("ETag") != `"`+info.ETag+`"` {
		t.Fatalf("If-None-Match: %d %q etag %q", r.status, r.body, r.h("ETag"))
	}
	r = te.get("/a.txt", "If-None-Match", `W/"`+info.ETag+`", "other"`)
	if r.status != 304 {
		t.Fatalf("weak If-None-Match list: %d", r.status)
	}
	r = te.get("/a.txt", "If-Modified-Since", info.LastModified.Add(time.Hour).UTC().Format(http.TimeFormat))
	if r.status != 304 {
		t.Fatalf("If-Modified-Since after Last-Modified: %d", r.status)
	}
	r = te.get("/a.txt", "If-None-Match", `"other"`)
	if r.status != 200 || r.body != "hello" {
		t.Fatalf("non-matching If-None-Match: %d", r.status)
	}
	if r := te.get("/a.txt", "If-Match", `"other"`, "Range", "bytes=0-1"); r.status != 412 {
		t.Fatalf("If-Match naming another version: %d, want 412", r.status)
	}
	if r := te.get("/a.txt", "If-Match", `"`+info.ETag+`"`, "Range", "bytes=0-1"); r.status != 206 || r.body != "he" {
		t.Fatalf("If-Match naming this version: %d %q", r.status, r.body)
	}
	if r := te.get("/a.txt", "If-Unmodified-Since", info.LastModified.Add(-time.Hour).UTC().Format(http.TimeFormat)); r.status != 412 {
		t.Fatalf("If-Unmodified-Since before Last-Modified: %d, want 412", r.status)
	}
	if n := te.store.gets.Load(); n != 1 {
		t.Fatalf("%d origin reads, want 1: conditionals are answered from the cache", n)
	}
}

func TestRangesFromCache(t *testing.T) {
	te := startEdge(t)
	te.put("r.bin", "0123456789", origin.Headers{CacheControl: "max-age=60", ContentType: "text/plain"})
	te.get("/r.bin")
	r := te.get("/r.bin", "Range", "bytes=2-4")
	if r.status != 206 || r.body != "234" || r.h("Content-Range") != "bytes 2-4/10" {
		t.Fatalf("single range: %d %q %q", r.status, r.body, r.h("Content-Range"))
	}
	r = te.get("/r.bin", "Range", "bytes=-3")
	if r.status != 206 || r.body != "789" {
		t.Fatalf("suffix range: %d %q", r.status, r.body)
	}
	r = te.get("/r.bin", "Range", "bytes=0-1, 5-6")
	if r.status != 206 || !strings.HasPrefix(r.h("Content-Type"), "multipart/byteranges; boundary=") ||
		!strings.Contains(r.body, "Content-Range: bytes 0-1/10\r\n\r\n01") || !strings.Contains(r.body, "Content-Range: bytes 5-6/10\r\n\r\n56") {
		t.Fatalf("multi range: %d %q\n%s", r.status, r.h("Content-Type"), r.body)
	}
	r = te.get("/r.bin", "Range", "bytes=20-30")
	if r.status != 416 || r.h("Content-Range") != "bytes */10" {
		t.Fatalf("unsatisfiable: %d %q", r.status, r.h("Content-Range"))
	}
	r = te.get("/r.bin", "Range", "bytes=0-5, 3-8")
	if r.status != 200 || r.body != "0123456789" {
		t.Fatalf("overlapping ranges: %d %q, want the whole object", r.status, r.body)
	}
	if n := te.store.gets.Load(); n != 1 {
		t.Fatalf("%d origin reads, want 1", n)
	}
}

func TestNegativeCachingExpiresAtTTL(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.Sites[0].Consistency = edge.ConsistencyTTL // no purge on write: the TTL alone
	})
	r := te.get("/missing")
	if r.status != 404 {
		t.Fatalf("missing: %d", r.status)
	}
	te.put("missing", "now here", origin.Headers{})
	te.clock.Advance(2*time.Minute + 59*time.Second)
	if r := te.get("/missing"); r.status != 404 {
		t.Fatalf("before the negative TTL: %d, want the cached 404", r.status)
	}
	te.clock.Advance(2 * time.Second)
	if r := te.get("/missing"); r.status != 200 || r.body != "now here" {
		t.Fatalf("after the 3 min negative TTL: %d %q", r.status, r.body)
	}
}

func TestWriteThroughPurgesLocally(t *testing.T) {
	te := startEdge(t)
	te.put("doc", "v1", origin.Headers{CacheControl: "max-age=3600"})
	te.get("/doc")
	te.put("doc", "v2", origin.Headers{CacheControl: "max-age=3600"})
	if r := te.get("/doc"); r.body != "v2" {
		t.Fatalf("after an overwrite the edge serves %q, want v2 (read-your-writes)", r.body)
	}
	te.get("/gone")
	te.put("gone", "appeared", origin.Headers{})
	if r := te.get("/gone"); r.status != 200 {
		t.Fatalf("a cached 404 hid a new object: %d", r.status)
	}
	if _, err := te.engine.DeleteObject(ctx, "public", "doc", origin.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := te.get("/doc"); r.status != 404 {
		t.Fatalf("after delete: %d, want 404", r.status)
	}
}

func TestNoStoreAndPrivateAreNotStored(t *testing.T) {
	te := startEdge(t)
	te.put("ns", "x", origin.Headers{CacheControl: "no-store"})
	te.put("pv", "y", origin.Headers{CacheControl: "private, max-age=60"})
	for _, p := range []string{"/ns", "/pv"} {
		te.get(p)
		r := te.get(p)
		if !strings.HasPrefix(r.h("Cache-Status"), "edge; fwd=uri-miss") {
			t.Fatalf("%s second Cache-Status %q: it was stored", p, r.h("Cache-Status"))
		}
	}
	if n := te.store.gets.Load(); n != 4 {
		t.Fatalf("%d origin reads, want 4", n)
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.Sites[0].Consistency = edge.ConsistencyTTL })
	te.put("swr", "old", origin.Headers{CacheControl: "max-age=10, stale-while-revalidate=60"})
	te.get("/swr")
	te.put("swr", "new", origin.Headers{CacheControl: "max-age=10, stale-while-revalidate=60"})
	te.clock.Advance(20 * time.Second)
	r := te.get("/swr")
	if r.body != "old" || !strings.Contains(r.h("Cache-Status"), "detail=stale-while-revalidate") {
		t.Fatalf("stale-while-revalidate: %q %q", r.body, r.h("Cache-Status"))
	}
	// The one background refresh lands; then the new version is a hit.
	deadline := time.Now().Add(30 * time.Second)
	for te.get("/swr").body != "new" {
		if time.Now().After(deadline) {
			t.Fatal("the background refresh never replaced the stale entry")
		}
		time.Sleep(5 * time.Millisecond) // polling the outcome, not ordering
	}
	if n := te.store.gets.Load(); n != 2 {
		t.Fatalf("%d origin reads, want 2 (fill + one refresh)", n)
	}
}

func TestStaleIfErrorWhenOriginFails(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.Sites[0].Consistency = edge.ConsistencyTTL })
	te.put("sie", "kept", origin.Headers{CacheControl: "max-age=10, stale-if-error=300"})
	te.get("/sie")
	te.store.down.Store(true)
	te.clock.Advance(30 * time.Second)
	r := te.get("/sie")
	if r.status != 200 || r.body != "kept" || !strings.Contains(r.h("Cache-Status"), "detail=stale-if-error") {
		t.Fatalf("stale-if-error: %d %q %q", r.status, r.body, r.h("Cache-Status"))
	}
	te.clock.Advance(10 * time.Minute)
	if r := te.get("/sie"); r.status != 502 {
		t.Fatalf("past stale-if-error: %d, want 502", r.status)
	}
}

func TestUnknownHostNeverReachesOrigin(t *testing.T) {
	te := startEdge(t)
	te.put("x", "secret", origin.Headers{})
	for _, host := range []string{"evil.example.com", "user@localhost", "localhost.evil.com"} {
		if r := te.get("/x", "Host", host); r.status == 200 {
			t.Fatalf("Host %q: served %q", host, r.body)
		}
	}
	for _, head := range []string{
		"GET /x HTTP/1.1\r\n", // no Host at all
		"GET http://evil.example.com/x HTTP/1.1\r\nHost: localhost\r\n", // absolute form naming another host
		"GET http://user@localhost/x HTTP/1.1\r\nHost: localhost\r\n",   // userinfo
	} {
		if status, body := te.raw(head); status == 200 {
			t.Fatalf("%q: served %q", head, body)
		}
	}
	if n := te.store.gets.Load(); n != 0 {
		t.Fatalf("%d origin reads for unknown hosts", n)
	}
	r := te.do("POST", "/x")
	if r.status != 405 || r.h("Allow") != "GET, HEAD" {
		t.Fatalf("POST to a bucket site: %d Allow %q", r.status, r.h("Allow"))
	}
}

// 200 concurrent misses of one key behind a slow origin: one origin
// request, 200 identical answers.
func TestHerdCoalescesToOneOriginRequest(t *testing.T) {
	te := startEdge(t, func(_ *edge.Config, s *countingStore) { s.delay = 200 * time.Millisecond })
	te.put("hot", strings.Repeat("h", 4096), origin.Headers{CacheControl: "max-age=60"})
	var wg sync.WaitGroup
	bodies := make([]string, 200)
	statuses := make([]string, 200)
	start := make(chan struct{})
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := te.get("/hot")
			bodies[i], statuses[i] = r.body, r.h("Cache-Status")
		}()
	}
	close(start)
	wg.Wait()
	if n := te.store.gets.Load(); n != 1 {
		t.Fatalf("%d origin requests for 200 concurrent misses, want 1", n)
	}
	leaders := 0
	for i, b := range bodies {
		if b != strings.Repeat("h", 4096) {
			t.Fatalf("client %d got %d bytes", i, len(b))
		}
		if statuses[i] == "edge; fwd=uri-miss; stored; ttl=60" {
			leaders++
		} else if !strings.HasSuffix(statuses[i], "; collapsed") && !strings.HasPrefix(statuses[i], "edge; hit") {
			t.Fatalf("client %d: Cache-Status %q: neither the fill, a waiter on it, nor a hit", i, statuses[i])
		}
	}
	if leaders != 1 {
		t.Fatalf("%d responses claim to be the fill, want 1", leaders)
	}
}

// A new entry is a hit on the very next request, 1000 keys in a row.
func TestNewEntryIsHitOnNextRequest(t *testing.T) {
	te := startEdge(t)
	for i := range 1000 {
		te.put("k/"+strconv.Itoa(i), "v", origin.Headers{CacheControl: "max-age=600"})
	}
	for i := range 1000 {
		p := "/k/" + strconv.Itoa(i)
		te.get(p)
		if r := te.get(p); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
			t.Fatalf("key %d: second request %q", i, r.h("Cache-Status"))
		}
	}
	if n := te.store.gets.Load(); n != 1000 {
		t.Fatalf("%d origin reads, want 1000", n)
	}
}

func TestRawKeysStayDistinct(t *testing.T) {
	te := startEdge(t)
	for i, k := range []string{"a/b", "a//b", "a/../b", "a%2Fb"} {
		te.put(k, fmt.Sprint(i), origin.Headers{CacheControl: "max-age=60"})
	}
	for i, p := range []string{"/a/b", "/a//b", "/a/../b", "/a%252Fb"} {
		if status, body := te.raw("GET " + p + " HTTP/1.1\r\nHost: localhost\r\n"); status != 200 || body != fmt.Sprint(i) {
			t.Errorf("%s: %d %q, want %d", p, status, body, i)
		}
	}
}

// A stale entry is revalidated by ETag; the origin's 304 refreshes it and
// the body is served from memory.
func TestStaleEntryRevalidates(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.Sites[0].Consistency = edge.ConsistencyTTL })
	te.put("v", "same", origin.Headers{CacheControl: "max-age=10"})
	te.get("/v")
	te.clock.Advance(15 * time.Second)
	r := te.get("/v")
	if r.body != "same" || r.h("Cache-Status") != "edge; fwd=stale; fwd-status=304; stored; ttl=10" {
		t.Fatalf("revalidation: %q %q", r.body, r.h("Cache-Status"))
	}
	if r := te.get("/v"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Fatalf("after the 304 the entry is fresh again: %q", r.h("Cache-Status"))
	}
	if n := te.store.gets.Load(); n != 2 {
		t.Fatalf("%d origin reads, want 2 (fill, revalidation)", n)
	}
}

// Strong consistency confirms every hit with the origin: never stale.
func TestStrongConsistencyConfirmsEveryHit(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.Sites[0].Consistency = edge.ConsistencyStrong })
	te.put("s", "v1", origin.Headers{CacheControl: "max-age=3600"})
	te.get("/s")
	for range 3 {
		if r := te.get("/s"); r.body != "v1" || !strings.Contains(r.h("Cache-Status"), "fwd-status=304") {
			t.Fatalf("strong hit: %q %q", r.body, r.h("Cache-Status"))
		}
	}
	if n := te.store.gets.Load(); n != 4 {
		t.Fatalf("%d origin reads, want 4: one per request", n)
	}
}

// A panic while filling is answered 502, logged and counted; the edge
// keeps serving.
func TestPanicInFillIsContained(t *testing.T) {
	te := startEdge(t)
	te.store.panicKey = "boom"
	te.put("fine", "ok", origin.Headers{CacheControl: "max-age=60"})
	if r := te.get("/boom"); r.status != 502 {
		t.Fatalf("panicking fill: %d, want 502", r.status)
	}
	if r := te.get("/fine"); r.status != 200 || r.body != "ok" {
		t.Fatalf("after a panic: %d %q", r.status, r.body)
	}
}

func TestSitePolicyFromConfig(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.Sites[0].Consistency = edge.ConsistencyTTL
		c.Sites[0].PolicyConfig = &edge.PolicyConfig{NegativeTTL: 10 * time.Second}
	})
	te.get("/later")
	te.put("later", "here", origin.Headers{})
	te.clock.Advance(9 * time.Second)
	if r := te.get("/later"); r.status != 404 {
		t.Fatalf("within the site's 10 s negative TTL: %d, want the cached 404", r.status)
	}
	te.clock.Advance(2 * time.Second)
	if r := te.get("/later"); r.status != 200 {
		t.Fatalf("after the site's 10 s negative TTL: %d", r.status)
	}
}

// A request that arrives after a write was acknowledged never gets the old
// version, even when it joins a fill of the old version still in flight.
func TestJoinAfterPurgeGetsNewVersion(t *testing.T) {
	te := startEdge(t)
	te.put("doc", "v1", origin.Headers{CacheControl: "max-age=600"})
	te.store.holdKey = "doc"
	te.store.entered, te.store.release = make(chan struct{}, 4), make(chan struct{})
	first := make(chan response, 1)
	go func() { first <- te.get("/doc") }()
	recv(t, te.store.entered, "the fill of v1") // the fill holds v1
	te.put("doc", "v2", origin.Headers{CacheControl: "max-age=600"})
	second := make(chan response, 1)
	go func() { second <- te.get("/doc") }()
	// Until the second request has missed and joined or begun a fill.
	waitFor(t, "the second request's miss", func() bool { return te.edge.Stats().Misses >= 2 })
	close(te.store.release)
	if r := recv(t, first, "the first request"); r.body != "v1" && r.body != "v2" {
		t.Fatalf("first request: %q", r.body)
	}
	if r := recv(t, second, "the second request"); r.body != "v2" {
		t.Fatalf("a request made after the overwrite was acknowledged got %q (%s)", r.body, r.h("Cache-Status"))
	}
	if r := te.get("/doc"); r.body != "v2" {
		t.Fatalf("cached after the race: %q", r.body)
	}
}
