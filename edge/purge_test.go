package edge_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
)

func (te *testEdge) putTagged(key, body string, tags ...string) {
	te.t.Helper()
	_, err := te.engine.PutObject(ctx, "public", key, strings.NewReader(body), origin.PutOptions{
		Size: int64(len(body)), Headers: origin.Headers{CacheControl: "max-age=3600"}, Tags: tags,
	})
	if err != nil {
		te.t.Fatal(err)
	}
}

// hitOrMiss fetches path (on host) and says whether it came from the cache.
func (te *testEdge) hit(path, host string) bool {
	te.t.Helper()
	r := te.get(path, "Host", host)
	if r.status != 200 {
		te.t.Fatalf("GET %s (%s): %d", path, host, r.status)
	}
	return strings.HasPrefix(r.h("Cache-Status"), "edge; hit")
}

func apiPurge(soft bool, scope []string, items ...purge.Item) *purge.Message {
	return &purge.Message{Role: purge.RoleEdge, Soft: soft, Scope: scope, Items: items}
}

// Purge API items remove exactly what they name, on every host of the
// site, and nothing else; the very next request misses.
func TestPurgeItemsAreExact(t *testing.T) {
	te := startEdge(t)
	paths := []string{"/img/a.png", "/img/b.png", "/img/deep/c.png", "/css/site.css", "/a%20b.txt"}
	te.putTagged("img/a.png", "a", "product-1")
	te.putTagged("img/b.png", "b")
	te.putTagged("img/deep/c.png", "c", "product-1", "sale")
	te.putTagged("css/site.css", "css")
	te.putTagged("a b.txt", "space")
	fill := func() {
		for _, p := range paths {
			te.get(p)
			if !te.hit(p, "localhost") {
				t.Fatalf("%s is not cached after a fill", p)
			}
		}
	}
	expect := func(what string, missed ...string) {
		t.Helper()
		for _, p := range paths {
			want := !contains(missed, p)
			if got := te.hit(p, "127.0.0.1"); got != want {
				t.Errorf("after %s: %s hit=%v, want %v", what, p, got, want)
			}
		}
	}
	for _, c := range []struct {
		name   string
		msg    *purge.Message
		missed []string
	}{
		{"a URL purge on another host of the site", apiPurge(false, nil, purge.Item{Kind: purge.KindURL, Host: "cdn.example.com", Key: "/img/a.png"}), []string{"/img/a.png"}},
		{"an escaped URL", apiPurge(false, nil, purge.Item{Kind: purge.KindURL, Host: "localhost", Key: "/a%20b.txt"}), []string{"/a%20b.txt"}},
		{"a prefix purge", apiPurge(false, nil, purge.Item{Kind: purge.KindPrefix, Host: "localhost", Key: "/img/"}), []string{"/img/a.png", "/img/b.png", "/img/deep/c.png"}},
		{"a tag purge", apiPurge(false, nil, purge.Item{Kind: purge.KindTag, Key: "product-1"}), []string{"/img/a.png", "/img/deep/c.png"}},
		{"a host purge", apiPurge(false, nil, purge.Item{Kind: purge.KindHost, Host: "cdn.example.com"}), paths},
		{"everything", apiPurge(false, nil, purge.Item{Kind: purge.KindEverything}), paths},
	} {
		fill()
		te.edge.Apply(c.msg)
		expect(c.name, c.missed...)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Two sites on one bucket keep their own entries: a ttl site is not purged
// by the origin's writes (stale until its TTL is its contract), a purge
// site is; a scoped purge touches only its sites.
func TestSitesOnOneBucketKeepTheirModes(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.Sites = []edge.Site{
			{Hosts: []string{"localhost"}, Bucket: "public"},
			{Hosts: []string{"ttl.example"}, Bucket: "public", Consistency: edge.ConsistencyTTL},
		}
	})
	te.putTagged("doc", "v1", "t")
	te.get("/doc")
	te.get("/doc", "Host", "ttl.example")
	te.putTagged("doc", "v2", "t")
	if r := te.get("/doc"); r.body != "v2" {
		t.Fatalf("purge site after an overwrite: %q", r.body)
	}
	if r := te.get("/doc", "Host", "ttl.example"); r.body != "v1" {
		t.Fatalf("ttl site after an overwrite: %q, want the cached v1 until its TTL", r.body)
	}
	te.edge.Apply(apiPurge(false, []string{"localhost"}, purge.Item{Kind: purge.KindTag, Key: "t"}))
	if r := te.get("/doc", "Host", "ttl.example"); r.body != "v1" {
		t.Fatalf("a purge scoped to localhost reached the ttl site: %q", r.body)
	}
	te.edge.Apply(apiPurge(false, nil, purge.Item{Kind: purge.KindURL, Host: "ttl.example", Key: "/doc"}))
	if r := te.get("/doc", "Host", "ttl.example"); r.body != "v2" {
		t.Fatalf("an explicit purge of the ttl site: %q", r.body)
	}
}

// A soft purge keeps the entry but marks it stale: the next request is
// served the stored copy while it is revalidated (a 304 here), after which
// hits are fresh again.
func TestSoftPurgeRevalidates(t *testing.T) {
	te := startEdge(t)
	te.put("doc", "v1", origin.Headers{CacheControl: "max-age=3600"})
	te.get("/doc")
	te.edge.Apply(apiPurge(true, nil, purge.Item{Kind: purge.KindURL, Host: "localhost", Key: "/doc"}))
	fetches := te.store.gets.Load()
	r := te.get("/doc")
	if r.body != "v1" || !strings.Contains(r.h("Cache-Status"), "detail=soft-purged") || !strings.Contains(r.h("Cache-Status"), "ttl=0") {
		t.Fatalf("after a soft purge: %q, Cache-Status %q", r.body, r.h("Cache-Status"))
	}
	waitFor(t, "the background revalidation", func() bool { return te.store.gets.Load() > fetches })
	waitFor(t, "a fresh hit again", func() bool { return te.get("/doc").h("Cache-Status") == "edge; hit; ttl=3600" })
}

// In degraded mode (the bus cannot vouch for purges), every hit of a
// purge site is confirmed with the origin; a ttl site is not affected.
func TestDegradedModeRevalidatesHits(t *testing.T) {
	te := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.Sites = []edge.Site{
			{Hosts: []string{"localhost"}, Bucket: "public"},
			{Hosts: []string{"ttl.example"}, Bucket: "public", Consistency: edge.ConsistencyTTL},
		}
	})
	te.put("doc", "v1", origin.Headers{CacheControl: "max-age=3600"})
	te.get("/doc")
	te.get("/doc", "Host", "ttl.example")
	te.edge.SetDegraded(true)
	for range 3 {
		before := te.store.gets.Load()
		r := te.get("/doc")
		if r.body != "v1" || te.store.gets.Load() != before+1 || !strings.Contains(r.h("Cache-Status"), "fwd-status=304") {
			t.Fatalf("degraded hit: %q, %d origin reads, Cache-Status %q; want a 304 revalidation", r.body, te.store.gets.Load()-before, r.h("Cache-Status"))
		}
	}
	before := te.store.gets.Load()
	if !te.hit("/doc", "ttl.example") || te.store.gets.Load() != before {
		t.Fatal("degraded mode revalidated a ttl site's hit")
	}
	te.edge.SetDegraded(false)
	if !te.hit("/doc", "localhost") {
		t.Fatal("no hit after degraded mode ended")
	}
}

// waitFor polls cond until it holds or five seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
