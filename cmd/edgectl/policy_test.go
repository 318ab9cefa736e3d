package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// writePolicy writes a policy file in the test's directory.
func writePolicy(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodPolicy = `defaults:
  negative_ttl: 1m
rules:
  - name: images
    match: {path: "/img/**", extensions: [png, jpg]}
    edge_ttl: 24h
    browser_ttl: 1h
    tags: [images]
  - name: strong
    match: {path_prefix: /img/live/}
    consistency: strong
    max_object_size: 1048576
tests:
  - name: a png is kept a day
    request: {url: "https://cdn.example.com/img/a.png"}
    response: {status: 200}
    expect: {store: true, edge_ttl: 24h, rule: images}
`

// The 1h is wrong (the rule says 24h): the failure must name line 7.
const wrongTTLPolicy = `rules:
  - name: images
    match: {extensions: [png]}
    edge_ttl: 24h
tests:
  - name: right
    request: {url: "https://cdn.example.com/a.png"}
    expect: {edge_ttl: 24h}
  - name: wrong
    request: {url: "https://cdn.example.com/b.png"}
    expect: {edge_ttl: 1h}
`

func TestPolicyCheckGoodFile(t *testing.T) {
	path := writePolicy(t, "good.yaml", goodPolicy)
	stdout, stderr, status, err := edgectl(t, "policy", "check", path)
	if status != 0 || err != nil || stderr != "" {
		t.Fatalf("status %d, err %v, stderr %q", status, err, stderr)
	}
	if want := path + ": ok (2 rules, 1 test)\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
}

func TestPolicyCheckBadFile(t *testing.T) {
	good := writePolicy(t, "good.yaml", goodPolicy)
	bad := writePolicy(t, "bad.yaml", "rules:\n  - name: a\n    edge_tll: 1h\n")
	stdout, stderr, status, err := edgectl(t, "policy", "check", bad, good)
	if status != 1 || err == nil || !strings.Contains(err.Error(), "errors in 1 of 2 files") {
		t.Fatalf("status %d, err %v", status, err)
	}
	// The error names file and line, and the good file is still checked.
	if want := bad + ":3: field edge_tll not found"; !strings.Contains(stderr, want) {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
	if stdout != good+": ok (2 rules, 1 test)\n" {
		t.Errorf("stdout %q", stdout)
	}
}

func TestPolicyCheckMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, stderr, status, _ := edgectl(t, "policy", "check", missing)
	if status != 1 || !strings.Contains(stderr, missing) {
		t.Errorf("status %d, stderr %q", status, stderr)
	}
}

// A warning is printed but is no failure.
func TestPolicyCheckWarning(t *testing.T) {
	path := writePolicy(t, "shadowed.yaml", `rules:
  - name: narrow
    match: {path_prefix: /a/b/}
    edge_ttl: 1h
  - name: broad
    match: {path_prefix: /a/}
    edge_ttl: 2h
`)
	stdout, stderr, status, err := edgectl(t, "policy", "check", path)
	if status != 0 || err != nil {
		t.Fatalf("status %d, err %v", status, err)
	}
	if want := "warning: " + path + `:2: rule "narrow" never changes a decision`; !strings.HasPrefix(stderr, want) {
		t.Errorf("stderr %q, want it to start %q", stderr, want)
	}
	if stdout != path+": ok (2 rules, 0 tests)\n" {
		t.Errorf("stdout %q", stdout)
	}
}

// hasRow matches the report's lines whatever the columns' padding.
func hasRow(report, key, value string) bool {
	re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(key) + `\s+` + regexp.QuoteMeta(value) + `$`)
	return re.MatchString(report)
}

func TestPolicyExplainMatchingRule(t *testing.T) {
	path := writePolicy(t, "p.yaml", goodPolicy)
	stdout, stderr, status, err := edgectl(t, "policy", "explain", "-policy", path,
		"-url", "https://cdn.example.com:8443/img/live/a.png?v=2", "-header", "Accept: image/avif",
		"--response-header", "Content-Type: image/png")
	if status != 0 || err != nil || stderr != "" {
		t.Fatalf("status %d, err %v, stderr %q", status, err, stderr)
	}
	for _, want := range []string{
		"request  GET cdn.example.com/img/live/a.png?v=2\n", "Accept: image/avif\n", "response 200\n", "Content-Type: image/png\n",
		"  matched  images\n", "  matched  strong\n", `decided by rule "strong"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	for _, row := range [][2]string{
		{"store", "yes"}, {"edge TTL", "24h (the origin states no freshness)"}, {"browser TTL", "1h"},
		{"stale-while-revalidate", "0s"}, {"stale-if-error", "0s"},
		{"consistency", "strong"}, {"max object size", "1048576 bytes"}, {"tags", "images"},
	} {
		if !hasRow(stdout, row[0], row[1]) {
			t.Errorf("report lacks row %q %q:\n%s", row[0], row[1], stdout)
		}
	}
}

func TestPolicyExplainDefaults(t *testing.T) {
	path := writePolicy(t, "p.yaml", goodPolicy)
	stdout, _, status, err := edgectl(t, "policy", "explain", "-policy", path,
		"-url", "https://cdn.example.com/page", "-response-header", "Cache-Control: max-age=60, stale-if-error=300")
	if status != 0 || err != nil {
		t.Fatalf("status %d, err %v", status, err)
	}
	for _, want := range []string{"  —        images\n", "  —        strong\n", "\ndecided by the defaults\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	for _, row := range [][2]string{
		{"store", "yes"}, {"edge TTL", "1m"}, {"stale-if-error", "5m"}, {"browser TTL", "origin's (its Cache-Control is passed on)"},
	} {
		if !hasRow(stdout, row[0], row[1]) {
			t.Errorf("report lacks row %q %q:\n%s", row[0], row[1], stdout)
		}
	}
	for _, absent := range []string{"consistency", "max object size", "tags"} {
		if strings.Contains(stdout, absent) {
			t.Errorf("report shows %q, set by no rule:\n%s", absent, stdout)
		}
	}
}

// A response not stored says why, and the negative TTL comes from the
// file's defaults.
func TestPolicyExplainNotStored(t *testing.T) {
	path := writePolicy(t, "p.yaml", goodPolicy)
	stdout, _, _, err := edgectl(t, "policy", "explain", "-policy", path, "-url", "https://cdn.example.com/img/a.png",
		"-response-header", "Cache-Control: no-store")
	if err != nil || !hasRow(stdout, "store", "no (no-store)") || strings.Contains(stdout, "edge TTL") {
		t.Errorf("err %v, report:\n%s", err, stdout)
	}
	stdout, _, _, err = edgectl(t, "policy", "explain", "-policy", path, "-url", "https://cdn.example.com/x", "-status", "404")
	if err != nil || !hasRow(stdout, "edge TTL", "1m (the origin states no freshness)") {
		t.Errorf("err %v, report:\n%s", err, stdout)
	}
	stdout, _, _, err = edgectl(t, "policy", "explain", "-policy", path, "-url", "https://cdn.example.com/img/a.png", "-method", "POST")
	if err != nil || !hasRow(stdout, "store", "no (method)") {
		t.Errorf("err %v, report:\n%s", err, stdout)
	}
}

func TestPolicyExplainBadFile(t *testing.T) {
	bad := writePolicy(t, "bad.yaml", "rules:\n  - match: {path: /a}\n")
	_, stderr, status, err := edgectl(t, "policy", "explain", "-policy", bad, "-url", "https://cdn.example.com/a")
	if status != 1 || err == nil || !strings.Contains(stderr, bad+":2: rule 1: give it a name") {
		t.Errorf("status %d, err %v, stderr %q", status, err, stderr)
	}
}

func TestPolicyTestPasses(t *testing.T) {
	path := writePolicy(t, "good.yaml", goodPolicy)
	stdout, stderr, status, err := edgectl(t, "policy", "test", path)
	if status != 0 || err != nil || stderr != "" || stdout != path+": 1 test passed\n" {
		t.Errorf("status %d, err %v, stdout %q, stderr %q", status, err, stdout, stderr)
	}
}

func TestPolicyTestFails(t *testing.T) {
	good := writePolicy(t, "good.yaml", goodPolicy)
	wrong := writePolicy(t, "wrong.yaml", wrongTTLPolicy)
	stdout, stderr, status, err := edgectl(t, "policy", "test", wrong, good)
	if status != 1 || err == nil || !strings.Contains(err.Error(), "failures in 1 of 2 files") {
		t.Fatalf("status %d, err %v", status, err)
	}
	if want := wrong + `:9: test "wrong": edge_ttl is 24h0m0s (stored true), want 1h0m0s` + "\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}
	if want := wrong + ": 1 of 2 tests failed\n" + good + ": 1 test passed\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
}

func TestPolicyTestNoTests(t *testing.T) {
	path := writePolicy(t, "untested.yaml", "rules:\n  - name: a\n    edge_ttl: 1h\n")
	_, stderr, status, err := edgectl(t, "policy", "test", path)
	if status != 1 || err == nil || stderr != path+" has no tests: add a tests: section\n" {
		t.Errorf("status %d, err %v, stderr %q", status, err, stderr)
	}
}

// The shipped examples load without warnings and pass their tests.
func TestPolicyExamples(t *testing.T) {
	files, _ := filepath.Glob("../../configs/policy-*.yaml")
	if len(files) < 3 {
		t.Fatalf("found only %q", files)
	}
	for _, cmd := range []string{"check", "test"} {
		_, stderr, status, err := edgectl(t, append([]string{"policy", cmd}, files...)...)
		if status != 0 || err != nil || stderr != "" {
			t.Errorf("policy %s: status %d, err %v, stderr %q", cmd, status, err, stderr)
		}
	}
}

func TestPolicyUsageErrors(t *testing.T) {
	path := writePolicy(t, "p.yaml", goodPolicy)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"policy"}, "policy: name a subcommand: check, explain or test"},
		{[]string{"policy", "lint"}, `policy: unknown subcommand "lint"`},
		{[]string{"policy", "check"}, "policy check: name at least one policy file"},
		{[]string{"policy", "test"}, "policy test: name at least one policy file"},
		{[]string{"policy", "check", "-v", path}, "flag provided but not defined: -v"},
		{[]string{"policy", "explain", "-url", "https://cdn.example.com/"}, "give the policy file with -policy FILE"},
		{[]string{"policy", "explain", "-policy", path}, "give the request's URL with -url"},
		{[]string{"policy", "explain", "-policy", path, "-url", "/img/a.png"}, `-url "/img/a.png": give an absolute http(s) URL`},
		{[]string{"policy", "explain", "-policy", path, "-url", "https://cdn.example.com/", "-header", "no colon"},
			`invalid value "no colon" for flag -header: write a field as 'Name: value'`},
		{[]string{"policy", "explain", "-policy", path, "-url", "https://cdn.example.com/", "-response-header", ": v"},
			"flag -response-header: write a field as 'Name: value'"},
		{[]string{"policy", "explain", "-policy", path, "-url", "https://cdn.example.com/", "-status", "99"}, "-status 99: give a status from 100 to 599"},
		{[]string{"policy", "explain", "-policy", path, "-url", "https://cdn.example.com/", "extra"}, `unexpected argument "extra"`},
	} {
		_, _, status, err := edgectl(t, c.args...)
		if status != 2 || err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: status %d, err %v, want status 2 and %q", c.args, status, err, c.want)
		}
	}
	// No or an unknown subcommand also shows the usage, on stderr.
	for _, args := range [][]string{{"policy"}, {"policy", "lint"}} {
		stdout, stderr, _, _ := edgectl(t, args...)
		if stdout != "" || !strings.Contains(stderr, "edgectl policy check FILE…") {
			t.Errorf("%q: stdout %q, stderr %q", args, stdout, stderr)
		}
	}
}

func TestPolicyHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "policy"}, {"policy", "help"}, {"policy", "-h"}, {"policy", "explain", "-h"}, {"policy", "check", "--help"}} {
		stdout, stderr, status, err := edgectl(t, args...)
		if status != 0 || err != nil || stderr != "" {
			t.Errorf("%q: status %d, err %v, stderr %q", args, status, err, stderr)
		}
		for _, want := range []string{
			"edgectl policy check FILE…", "edgectl policy explain -policy FILE -url URL", "edgectl policy test FILE…",
			"-policy FILE", "-url URL", "-method M", "-status N", "-header 'Name: value'", "-response-header 'Name: value'",
			"configs/policy-*.yaml", "2  bad usage",
		} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%q: usage lacks %q", args, want)
			}
		}
	}
	stdout, _, _, _ := edgectl(t, "help")
	for _, want := range []string{"edgectl purge [flags]", "edgectl policy check FILE…", "edgectl policy explain", "edgectl policy test FILE…"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("edgectl help lacks %q:\n%s", want, stdout)
		}
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]string{"0s": "0s", "90s": "1m30s", "5m": "5m", "2h": "2h", "1h30m": "1h30m", "720h": "720h (30 days)", "24h": "24h"} {
		d, err := time.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := duration(d); got != want {
			t.Errorf("duration(%s) = %q, want %q", in, got, want)
		}
	}
}
