package edge_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
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
