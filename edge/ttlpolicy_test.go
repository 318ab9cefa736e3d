package edge_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
)

// A site's policy file decides its fills: a rule's edge TTL for a silent
// origin, its browser TTL sent to clients in place of the origin's
// Cache-Control, its tags purgeable, its bypass; Cache-Status names the
// deciding rule and /metrics counts the decisions.
func TestPolicyFileDecidesFills(t *testing.T) {
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policyPath, []byte(`rules:
  - name: static
    match: {path: "/static/**"}
    edge_ttl: 1h
    browser_ttl: 10m
    tags: [static]
  - name: api
    match: {path_prefix: /api/}
    bypass: true
`), 0o644)
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Cache-Control", "max-age=600")
		}
		fmt.Fprint(w, "body of "+r.URL.Path)
	})
	te := proxyEdge(t, o, edge.Config{}, func(s *edge.Site) { s.PolicyFile = policyPath })

	r := te.get("/static/app.css")
	if r.h("Cache-Status") != "edge; fwd=uri-miss; stored; ttl=3600; detail=rule:static" || r.h("Cache-Control") != "max-age=600" {
		t.Errorf("miss: Cache-Status %q Cache-Control %q", r.h("Cache-Status"), r.h("Cache-Control"))
	}
	r = te.get("/static/app.css")
	if r.h("Cache-Status") != "edge; hit; ttl=3600; detail=rule:static" || r.h("Cache-Control") != "max-age=600" {
		t.Errorf("hit: Cache-Status %q Cache-Control %q", r.h("Cache-Status"), r.h("Cache-Control"))
	}
	te.edge.Apply(&purge.Message{Items: []purge.Item{{Kind: purge.KindTag, Key: "static"}}})
	if r := te.get("/static/app.css"); strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("after a purge of the rule's tag: %q", r.h("Cache-Status"))
	}
	for range 2 {
		if r := te.get("/api/users"); strings.Contains(r.h("Cache-Status"), "hit") || r.h("Cache-Status") != "edge; fwd=uri-miss; detail=rule:api" {
			t.Errorf("bypassed: %q", r.h("Cache-Status"))
		}
	}
	// A page no rule matches: the origin is silent, so the built-in table's
	// 120 minutes, and no rule named.
	if r := te.get("/page"); r.h("Cache-Status") != "edge; fwd=uri-miss; stored; ttl=7200" {
		t.Errorf("defaults: %q", r.h("Cache-Status"))
	}
	admin := httptest.NewServer(te.edge.AdminHandler(edge.AdminOptions{}))
	defer admin.Close()
	resp, err := http.Get(admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`edge_policy_decisions_total{rule="static",site="localhost",stored="true"} 2`,
		`edge_policy_decisions_total{rule="api",site="localhost",stored="false"} 2`,
		`edge_policy_decisions_total{rule="(defaults)",site="localhost",stored="true"} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// A policy file that does not load keeps the edge from starting, with
// the file and line; a site may not have both a file and an inline
// policy.
func TestPolicyFileErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - name: x\n    edge_ttl: forever\n"), 0o644)
	_, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"a.example"}, Upstream: "http://127.0.0.1:1", PolicyFile: bad}}}, nil)
	if err == nil || !strings.Contains(err.Error(), bad+":3:") {
		t.Errorf("bad file: %v", err)
	}
	_, err = edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"a.example"}, Upstream: "http://127.0.0.1:1", PolicyFile: bad,
		PolicyConfig: &edge.PolicyConfig{}}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("file and inline policy: %v", err)
	}
}

// writeAtomically replaces path's content by renaming a new file over it,
// as editors and config managers do.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A changed policy file is reloaded under traffic: every fill decides by
// the old file or the new one, never a mix; an invalid new file is
// refused, the previous policy stays in force and /readyz and /metrics
// say so; the cache is kept.
func TestPolicyReloadUnderTraffic(t *testing.T) {
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	v1 := "rules:\n  - name: v1\n    edge_ttl: 1m\n    tags: [v1]\n"
	v2 := "rules:\n  - name: v2\n    edge_ttl: 2m\n    tags: [v2]\n"
	writeAtomically(t, policyPath, v1)
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") })
	te := proxyEdge(t, o, edge.Config{}, func(s *edge.Site) { s.PolicyFile = policyPath })
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- te.edge.WatchPolicies(ctx) }()
	t.Cleanup(func() { cancel(); recv(t, watched, "the watcher to stop") })

	if r := te.get("/kept"); r.h("Cache-Status") != "edge; fwd=uri-miss; stored; ttl=60; detail=rule:v1" {
		t.Fatalf("before the reload: %q", r.h("Cache-Status"))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mixed atomic.Int64
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				cs := te.get(fmt.Sprintf("/traffic/%d/%d", g, i)).h("Cache-Status")
				if cs != "edge; fwd=uri-miss; stored; ttl=60; detail=rule:v1" && cs != "edge; fwd=uri-miss; stored; ttl=120; detail=rule:v2" {
					mixed.Add(1)
					t.Errorf("a fill decided by neither file whole: %q", cs)
				}
			}
		})
	}
	writeAtomically(t, policyPath, v2)
	waitFor(t, "the new file to decide fills", func() bool {
		return te.get(fmt.Sprintf("/probe/%d", time.Now().UnixNano())).h("Cache-Status") == "edge; fwd=uri-miss; stored; ttl=120; detail=rule:v2"
	})
	close(stop)
	wg.Wait()
	if r := te.get("/kept"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("the cache was not kept over the reload: %q", r.h("Cache-Status"))
	}

	writeAtomically(t, policyPath, "rules:\n  - name: v3\n    edge_ttl: soon\n")
	waitFor(t, "the refused reload to show", func() bool { return te.edge.PolicyError() != "" })
	if err := te.edge.PolicyError(); !strings.Contains(err, policyPath+":3:") {
		t.Errorf("the refusal: %q, want the file and line", err)
	}
	if r := te.get("/after-refusal"); r.h("Cache-Status") != "edge; fwd=uri-miss; stored; ttl=120; detail=rule:v2" {
		t.Errorf("after a refused reload: %q, want v2 still in force", r.h("Cache-Status"))
	}
	admin := httptest.NewServer(te.edge.AdminHandler(edge.AdminOptions{}))
	defer admin.Close()
	for path, want := range map[string]string{
		"/readyz":  "policy: the last reload was refused, the previous policy stays in force: " + policyPath + ":3:",
		"/metrics": "edge_policy_reload_failing 1",
	} {
		resp, err := http.Get(admin.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d, lacks %q:\n%s", path, resp.StatusCode, want, body)
		}
	}
	writeAtomically(t, policyPath, v1)
	waitFor(t, "a good file to clear the refusal", func() bool { return te.edge.PolicyError() == "" })
}

// A rule's cache_key shapes the key by the query (the origin still gets
// the query as sent), and its max_object_size lowers the edge's for the
// objects it matches.
func TestPolicyFileCacheKeyAndObjectSize(t *testing.T) {
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policyPath, []byte(`rules:
  - name: assets
    match: {path_prefix: /assets/}
    cache_key: {query: ignore}
  - name: search
    match: {path_prefix: /search}
    cache_key: {query: allowlist, allow: [q]}
  - name: small
    match: {path_prefix: /small/}
    max_object_size: 4
`), 0o644)
	o := startRecordingOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "for "+r.URL.RawQuery)
	})
	te := proxyEdge(t, o, edge.Config{}, func(s *edge.Site) { s.PolicyFile = policyPath })
	te.get("/assets/app.js?v=1")
	if r := te.get("/assets/app.js?v=2"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.body != "for v=1" {
		t.Errorf("query ignored: %q %q", r.h("Cache-Status"), r.body)
	}
	if got := o.last(t).URL.RawQuery; got != "v=1" {
		t.Errorf("the origin saw query %q, want the client's", got)
	}
	te.get("/search?q=shoes&utm_source=mail")
	if r := te.get("/search?utm_source=ad&q=shoes"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("allowlisted query: %q", r.h("Cache-Status"))
	}
	if r := te.get("/search?q=boots"); strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || r.body != "for q=boots" {
		t.Errorf("another allowed value: %q %q", r.h("Cache-Status"), r.body)
	}
	if r := te.get("/other?a=1"); r.body != "for a=1" {
		t.Fatal(r.body)
	}
	if r := te.get("/other?a=2"); strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("a path no cache_key rule matches keys by its query: %q", r.h("Cache-Status"))
	}
	for range 2 {
		if r := te.get("/small/x?long=query"); r.body != "for long=query" || !strings.Contains(r.h("Cache-Status"), "detail=too-big") {
			t.Errorf("over the rule's max_object_size: %q %q", r.body, r.h("Cache-Status"))
		}
	}
}

// A rule's consistency is its entries': strong ones are confirmed with
// the origin on every hit, purge ones on a ttl site are purged by the
// origin's writes.
func TestPolicyFileConsistency(t *testing.T) {
	policyPath := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policyPath, []byte(`rules:
  - name: live
    match: {path_prefix: /live/}
    consistency: strong
  - name: news
    match: {path_prefix: /news/}
    consistency: purge
`), 0o644)
	te := startEdge(t, func(c *edge.Config, _ *countingStore) {
		c.Sites[0].Consistency = edge.ConsistencyTTL
		c.Sites[0].PolicyFile = policyPath
	})
	if !te.edge.NeedsPurges() {
		t.Error("a ttl site with a purge rule does not ask for the origin's purges")
	}
	for _, k := range []string{"live/score", "news/today", "other"} {
		te.put(k, "v1", origin.Headers{CacheControl: "max-age=600"})
		te.get("/" + k)
	}
	reads := te.store.gets.Load()
	if r := te.get("/live/score"); r.body != "v1" || strings.HasPrefix(r.h("Cache-Status"), "edge; hit") || te.store.gets.Load() == reads {
		t.Errorf("a strong entry was served without the origin: %q", r.h("Cache-Status"))
	}
	if r := te.get("/other"); !strings.HasPrefix(r.h("Cache-Status"), "edge; hit") {
		t.Errorf("a ttl entry: %q", r.h("Cache-Status"))
	}
	te.put("news/today", "v2", origin.Headers{CacheControl: "max-age=600"}) // the store's event purges
	if r := te.get("/news/today"); r.body != "v2" {
		t.Errorf("a purge entry after its object's overwrite: %q (%s)", r.body, r.h("Cache-Status"))
	}
}
