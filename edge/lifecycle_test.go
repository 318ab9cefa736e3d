package edge_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// Close waits for a background refresh still reading the origin before it
// releases the cache the refresh will write to; afterwards misses are
// refused with 503 instead of filling a closed cache.
func TestCloseWaitsForBackgroundRefresh(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) { c.Sites[0].Consistency = edge.ConsistencyTTL })
	te.put("swr", "old", origin.Headers{CacheControl: "max-age=10, stale-while-revalidate=60"})
	te.get("/swr")
	te.put("swr", "new", origin.Headers{CacheControl: "max-age=10, stale-while-revalidate=60"})
	te.clock.Advance(20 * time.Second)
	te.store.holdKey = "swr"
	te.store.entered, te.store.release = make(chan struct{}, 1), make(chan struct{})
	if r := te.get("/swr"); r.body != "old" {
		t.Fatalf("stale-while-revalidate served %q", r.body)
	}
	select {
	case <-te.store.entered: // the refresh holds the new version
	case <-time.After(10 * time.Second):
		t.Fatal("the background refresh never reached the origin")
	}

	closed := make(chan struct{})
	go func() { te.edge.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a background refresh was still running")
	case <-time.After(100 * time.Millisecond):
	}
	close(te.store.release)
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close never returned after the refresh finished")
	}

	r := te.get("/never-cached")
	if r.status != 503 || !strings.Contains(r.h("Cache-Status"), "detail=shutting-down") {
		t.Fatalf("a miss after Close: %d %q, want 503 shutting-down", r.status, r.h("Cache-Status"))
	}
}

// /readyz is 200 while the edge can serve and 503, saying why, once its
// store no longer reads or the edge is closed.
func TestReadyzFollowsTheStoreAndClose(t *testing.T) {
	te := startEdge(t)
	admin := te.edge.AdminHandler(edge.AdminOptions{Ready: te.edge.Ready})
	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := readyz(); code != 200 || !strings.HasPrefix(body, "ready\n") {
		t.Fatalf("a serving edge: %d %q", code, body)
	}
	te.engine.Close()
	if code, body := readyz(); code != 503 || !strings.Contains(body, "the store is closed") {
		t.Fatalf("with its store closed: %d %q, want 503 naming the store", code, body)
	}
	te.edge.Close()
	if code, body := readyz(); code != 503 || !strings.Contains(body, "shutting down") {
		t.Fatalf("after Close: %d %q, want 503 shutting down", code, body)
	}
}
