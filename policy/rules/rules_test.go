package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// at is the time the test cases' responses arrive.
var at = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// Every valid policy in testdata, and every example under configs/, loads
// without error and passes its own tests.
func TestPolicyFilesPassTheirTests(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	configs, _ := filepath.Glob("../../configs/policy-*.yaml")
	files = append(files, configs...)
	if len(files) < 2 {
		t.Fatalf("found only %q", files)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Tests) == 0 {
				t.Fatal("the file has no tests")
			}
			for _, w := range f.Warnings {
				t.Errorf("warning: %s", w)
			}
			for _, fail := range f.RunTests(at) {
				t.Error(fail)
			}
		})
	}
}

// Every invalid policy in testdata is refused with the error its first
// line names ("# want: …"), file and line included.
func TestInvalidPolicyFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 5 {
		t.Fatalf("found only %q", files)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("first line %q: start it with \"# want: \" and the expected error", first)
			}
			_, err = Parse(path, data)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want one containing %q", err, want)
			}
		})
	}
}

// A rule that a later one shadows entirely is a warning, not an error.
func TestShadowedRuleWarns(t *testing.T) {
	f, err := Parse("p.yaml", []byte(`rules:
  - name: narrow
    match: {path_prefix: /a/b/}
    edge_ttl: 1h
  - name: broad
    match: {path_prefix: /a/}
    edge_ttl: 2h
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Warnings) != 1 || !strings.Contains(f.Warnings[0], `p.yaml:2: rule "narrow" never changes a decision: rule "broad"`) {
		t.Fatalf("warnings %q", f.Warnings)
	}
}

// cache_key: the query string the cache keys a request by.
func TestKeyQuery(t *testing.T) {
	f, err := Parse("p.yaml", []byte(`rules:
  - name: all-sorted
    cache_key: {query: sort}
  - name: assets
    match: {path_prefix: /assets/}
    cache_key: {query: ignore}
  - name: search
    match: {path_prefix: /search}
    cache_key: {query: allowlist, allow: [q, page]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, query, want string }{
		{"/page", "b=2&a=1", "a=1&b=2"},
		{"/assets/app.js", "v=123&cb=9", ""},
		{"/search", "utm_source=x&q=shoes&page=2&fbclid=y", "q=shoes&page=2"},
		{"/search", "utm_source=x", ""},
		{"/page", "", ""},
	} {
		if got := f.KeyQuery(Request{Method: "GET", Host: "h", Path: c.path, Query: c.query}); got != c.want {
			t.Errorf("%s?%s: %q, want %q", c.path, c.query, got, c.want)
		}
	}
	if _, err := Parse("p.yaml", []byte("rules:\n  - name: x\n    match: {status: [200]}\n    cache_key: {query: ignore}\n")); err == nil || !strings.Contains(err.Error(), "p.yaml:2: rule \"x\": cache_key is chosen before the response") {
		t.Errorf("cache_key on a status rule: %v", err)
	}
}
