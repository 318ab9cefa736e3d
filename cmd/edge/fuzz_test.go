package main

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// FuzzEdgeConfig reads arbitrary YAML as the edge's config file, as run
// does (over the defaults), and builds the edge from its sites, without
// starting anything. Neither step panics; an error leaves no edge; and an
// edge that is built serves exactly the sites' hosts, each a bare lower
// case host name listed once, each site with a bucket or an http(s)
// upstream (not both) and a known consistency mode.
func FuzzEdgeConfig(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "configs", "edge.yaml")); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"sites:\n  - hosts: [localhost]\n    bucket: public\n",
		"sites:\n  - hosts: [Cdn.Example.COM, www.example.com]\n    upstream: https://origin.example.com/base/\n    consistency: ttl\n" +
			"    negotiation: {accept_encoding: key, accept_language: strip}\n" +
			"    policy: {default_ttl: 5m, max_ttl: 1h, heuristic_percent: 10, stale_while_revalidate: 30s, set_cookie: store}\n",
		"sites:\n  - hosts: [a.example]\n    bucket: b\n    consistency: strong\n  - hosts: [b.example]\n    bucket: b\n",
		"sites:\n  - hosts: [a.example]\n    bucket: b\n    upstream: http://x\n",
		"sites:\n  - hosts: [a.example]\n  - hosts: []\n    bucket: b\n",
		"sites:\n  - hosts: [a.example, A.EXAMPLE]\n    bucket: b\n",
		"sites:\n  - hosts: [\"a.example:8080\", \"user@a.example\", \"a.example/x\", \"\"]\n    bucket: b\n",
		"sites:\n  - hosts: [a.example]\n    upstream: ftp://x/\n",
		"sites:\n  - hosts: [a.example]\n    upstream: \"http://[::1\"\n",
		"sites:\n  - hosts: [a.example]\n    bucket: b\n    consistency: eventual\n",
		"sites:\n  - hosts: [a.example]\n    bucket: b\n    negotiation: {accept_encoding: gzip}\n",
		"sites:\n  - hosts: [a.example]\n    bucket: b\n    policy: {negative_ttl: forever}\n",
		"sites:\n  - &s {hosts: [a.example], bucket: b}\n  - *s\n",
		"sites:\n  - hosts: [a.example]\n    bucket: b\n    cache_id: x\n",
		"purge: {rate: .nan, burst: -1, tokens: [{token: short, hosts: [a.example]}]}\nsites: [{hosts: [a.example], bucket: b}]\n",
		"cache_bytes: -1\nmax_object_size: 9223372036854775807\nbus_silence: 1ns\nsites: [{hosts: [a.example], bucket: b}]\n",
		"sites: []\n",
		"sites:\n",
		"---\n---\nsites: [{hosts: [a.example], bucket: b}]\n",
		"[1, 2]\n",
		"",
	} {
		f.Add([]byte(s))
	}
	originURL, err := url.Parse("http://127.0.0.1:1")
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "edge.yaml")

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := defaultConfig()
		if err := loadConfig(path, &cfg); err != nil {
			if err.Error() == "" {
				t.Fatal("loadConfig failed with an empty error")
			}
			return
		}
		if len(cfg.Sites) == 0 {
			t.Fatal("loadConfig succeeded without sites")
		}
		// A small cache: the fuzzer builds an edge per input.
		ed, err := edge.New(edge.Config{Sites: cfg.Sites, CacheBytes: 1 << 20}, edge.FromS3(originURL, nil))
		if err != nil {
			if ed != nil {
				t.Fatalf("edge.New failed (%v) and returned an edge", err)
			}
			return
		}
		if ed == nil {
			t.Fatal("edge.New returned neither an edge nor an error")
		}
		defer ed.Close()

		seen := map[string]bool{}
		for i, s := range cfg.Sites {
			if (s.Bucket == "") == (s.Upstream == "") {
				t.Fatalf("site %d: bucket %q, upstream %q: want exactly one", i, s.Bucket, s.Upstream)
			}
			if s.Upstream != "" {
				u, err := url.Parse(s.Upstream)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					t.Fatalf("site %d: upstream %q accepted", i, s.Upstream)
				}
			}
			switch s.Consistency {
			case edge.ConsistencyTTL, edge.ConsistencyPurge, edge.ConsistencyStrong:
			default:
				t.Fatalf("site %d: consistency %q accepted", i, s.Consistency)
			}
			if !slices.Contains([]string{edge.NegotiationForward, edge.NegotiationKey, edge.NegotiationStrip}, s.Negotiation.AcceptEncoding) ||
				!slices.Contains([]string{edge.NegotiationForward, edge.NegotiationStrip}, s.Negotiation.AcceptLanguage) {
				t.Fatalf("site %d: negotiation %+v accepted", i, s.Negotiation)
			}
			if len(s.Hosts) == 0 {
				t.Fatalf("site %d: no hosts accepted", i)
			}
			for _, h := range s.Hosts {
				if h == "" || h != strings.ToLower(h) || strings.ContainsAny(h, "/@: ") {
					t.Fatalf("site %d: host %q accepted", i, h)
				}
				if seen[h] {
					t.Fatalf("host %q accepted twice", h)
				}
				seen[h] = true
				if !ed.ServesHost(h) {
					t.Fatalf("site %d: host %q is not served", i, h)
				}
			}
		}
	})
}
