package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/cmd/internal/testenv"
	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/loadtest/driver"
	"github.com/edgecdn/edge/loadtest/systemtest"
)

func TestMain(m *testing.M) {
	testenv.ClearEdgeVars()
	os.Exit(m.Run())
}

// A short run of a named scenario against a real edge writes
// result.json with the fields scripts rely on, and a table.
func TestRunWritesResult(t *testing.T) {
	sys := systemtest.Start(t, edge.ConsistencyTTL)
	t.Setenv("EDGE_ACCESS_KEY_ID", systemtest.AccessKey)
	t.Setenv("EDGE_SECRET_ACCESS_KEY", systemtest.SecretKey)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-scenario", "cache-no-purge", "-duration", "1s", "-edges", sys.EdgeURL,
		"-host", systemtest.Host, "-s3", sys.S3URL, "-bucket", systemtest.Bucket, "-out", out, "-keys", "20", "-concurrency", "4"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if page, err := os.ReadFile(filepath.Join(out, "report.html")); err != nil || !bytes.Contains(page, []byte("Read latency over time")) {
		t.Errorf("report.html: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"scenario", "reads", "writes", "errors", "hit_ratio", "latency_ms", "consistency", "edges"} {
		if _, ok := got[k]; !ok {
			t.Errorf("result.json lacks %q", k)
		}
	}
	lat := got["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p99", "p999", "max"} {
		if _, ok := lat[k]; !ok {
			t.Errorf("latency_ms lacks %q", k)
		}
	}
	for edge, v := range got["edges"].(map[string]any) {
		for _, k := range []string{"reads", "errors", "hit_ratio", "latency_ms", "origin", "consistency"} {
			if _, ok := v.(map[string]any)[k]; !ok {
				t.Errorf("edges[%s] lacks %q", edge, k)
			}
		}
	}
	c := got["consistency"].(map[string]any)
	for _, k := range []string{"fresh", "stale", "served_after_delete", "not_found_after_put", "staleness_ms", "propagation_ms"} {
		if _, ok := c[k]; !ok {
			t.Errorf("consistency lacks %q", k)
		}
	}
	if got["scenario"] != "cache-no-purge" || got["reads"].(float64) == 0 {
		t.Errorf("scenario %v, reads %v", got["scenario"], got["reads"])
	}
	if !strings.Contains(stdout.String(), "hit ratio") || !strings.Contains(stderr.String(), "ops/s") {
		t.Errorf("table:\n%s\nprogress:\n%s", stdout.String(), stderr.String())
	}
}

// Without keys in the environment, the all-in-one's generated pair in its
// data directory is used.
func TestGeneratedKeysFromTheDataDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "s3-credentials.json"), []byte(`{"access_key_id":"AK","secret_access_key":"SK"}`), 0o600)
	if id, secret := generatedKeys(dir); id != "AK" || secret != "SK" {
		t.Fatalf("%q %q", id, secret)
	}
	if id, _ := generatedKeys(t.TempDir()); id != "" {
		t.Fatalf("a pair from an empty directory: %q", id)
	}
}

func TestParseMix(t *testing.T) {
	m, err := parseMix("read=80, overwrite=10,delete=5,create=4,purge=1")
	if err != nil || m != (driver.Mix{Read: 80, Overwrite: 10, Delete: 5, Create: 4, Purge: 1}) {
		t.Fatalf("%+v %v", m, err)
	}
	for _, bad := range []string{"read", "read=-1", "read=x", "reads=1", "=1"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Mistakes are refused before any traffic, with what to fix.
func TestRunRefuses(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-scenario", "nope"}, "use one of"},
		{[]string{"-scenario", "purge", "-duration", "1s", "-data", t.TempDir()}, "EDGE_ACCESS_KEY_ID"},
		{[]string{"-scenario", "read-only", "-edges", "", "-duration", "1s"}, "edge"},
		{[]string{"-scenario", "read-only", "-size", "64x"}, "-size"},
		{[]string{"-scenario", "read-only", "-mix", "read=1,write=2"}, "names read, overwrite"},
		{[]string{"-scenario", "read-only", "-mix", "read=0"}, "no operation"},
		{[]string{"-scenario", "read-only", "-mix", "read=5,purge=1", "-data", t.TempDir()}, "EDGE_PURGE_TOKEN"},
	} {
		err := run(context.Background(), c.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error about %q", c.args, err, c.want)
		}
	}
}

// A scenario run against the wrong kind of site says so.
func TestSiteWarnings(t *testing.T) {
	fresh := &driver.Result{Writes: 10, HitRatio: 0.5}
	if w := siteWarnings("cache-no-purge", fresh); len(w) != 1 || !strings.Contains(w[0], "consistency ttl") {
		t.Errorf("cache-no-purge without a stale read: %q", w)
	}
	if w := siteWarnings("strong", fresh); len(w) != 1 || !strings.Contains(w[0], "consistency strong") {
		t.Errorf("strong with hits: %q", w)
	}
	stale := &driver.Result{Writes: 10, HitRatio: 0.5}
	stale.Consistency.Stale = 3
	if w := siteWarnings("cache-no-purge", stale); len(w) != 0 {
		t.Errorf("cache-no-purge with stale reads: %q", w)
	}
	if w := siteWarnings("strong", &driver.Result{Writes: 10}); len(w) != 0 {
		t.Errorf("strong without hits: %q", w)
	}
}
