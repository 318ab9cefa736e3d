package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecdn/edge/loadtest/clustertest"
	"github.com/edgecdn/edge/loadtest/driver"
)

// The scenarios against the product split across processes: cmd/origin
// publishing its writes on a real Redis, and three cmd/edge processes
// subscribed to it, driven through the command's interface.
func TestScenariosAcrossProcesses(t *testing.T) {
	c := clustertest.Start(t, 3)
	t.Setenv("EDGE_ACCESS_KEY_ID", clustertest.AccessKey)
	t.Setenv("EDGE_SECRET_ACCESS_KEY", clustertest.SecretKey)
	t.Setenv("EDGE_PURGE_TOKEN", clustertest.PurgeToken)
	scenario := func(name, host, window string, extra ...string) *driver.Result {
		t.Helper()
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		args := append([]string{"-scenario", name, "-duration", "1s", "-edges", strings.Join(c.EdgeURLs, ","), "-host", host,
			"-s3", c.S3URL, "-bucket", clustertest.Bucket, "-purge", c.AdminURLs[1], "-out", out, "-keys", "20",
			"-concurrency", "8", "-window", window, "-prefix", name + "-" + host + "/"}, extra...)
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("%s on %s: %v\n%s", name, host, err, stderr.String())
		}
		t.Logf("%s on %s:\n%s", name, host, stdout.String())
		data, err := os.ReadFile(filepath.Join(out, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		var res driver.Result
		if err := json.Unmarshal(data, &res); err != nil {
			t.Fatal(err)
		}
		if res.Errors != 0 || res.Reads < 100 || res.Consistency.Unexplained != 0 {
			t.Errorf("%s on %s: %d reads, errors %v, %d unexplained", name, host, res.Reads, res.ErrorKinds, res.Consistency.Unexplained)
		}
		if len(res.Edges) != 3 {
			t.Errorf("%s on %s: reads went to %d edges, want 3", name, host, len(res.Edges))
		}
		return &res
	}

	// A ttl site: nothing purges it, so overwrites and deletes are seen
	// late, well past any propagation window.
	ttl := scenario("cache-no-purge", clustertest.TTLHost, "200ms")
	if c := ttl.Consistency; c.Stale+c.ServedAfterDelete == 0 || c.BeyondWindow == 0 {
		t.Errorf("cache-no-purge on a ttl site: %d stale, %d served after delete, %d beyond 200 ms", c.Stale, c.ServedAfterDelete, c.BeyondWindow)
	}
	// The old S3 caveat: a 404 read before the first write sticks.
	sticky := scenario("404-before-put", clustertest.TTLHost, "200ms", "-keys", "5000")
	if c := sticky.Consistency; c.NotFoundAfterPut == 0 {
		t.Errorf("404-before-put on a ttl site: no 404 after put: %+v", c)
	}

	// A purge site: the origin's writes purge every edge over Redis, so a
	// read is stale only until the purge arrives.
	for name, keys := range map[string]string{"purge": "20", "404-before-put": "5000"} {
		p := scenario(name, clustertest.PurgeHost, "500ms", "-keys", keys)
		if c := p.Consistency; c.BeyondWindow != 0 || c.StalenessMs.Max > 500 {
			t.Errorf("%s on a purge site: %d reads beyond the 500 ms window (staleness %+v)", name, c.BeyondWindow, c.StalenessMs)
		}
		if p.Writes < 50 || p.HitRatio == 0 {
			t.Errorf("%s on a purge site: %d writes, hit ratio %.2f", name, p.Writes, p.HitRatio)
		}
	}

	// A ttl site whose owner calls the purge API after every write: no
	// read sees what a purge that landed everywhere removed.
	api := scenario("purge-api", clustertest.TTLHost, "500ms")
	if c := api.Consistency; c.AfterPurge != 0 || api.Purges < 50 || api.PurgeMs.P50 == 0 {
		t.Errorf("purge-api: %d purges (p50 %.1f ms), %d reads stale after a purge had landed", api.Purges, api.PurgeMs.P50, c.AfterPurge)
	}

	// A strong site: every hit is confirmed, nothing is ever stale.
	strong := scenario("strong", clustertest.StrongHost, "0s")
	if c := strong.Consistency; c.Stale+c.ServedAfterDelete+c.NotFoundAfterPut != 0 || strong.Origin.Requests == 0 {
		t.Errorf("strong: %+v, %d origin requests", c, strong.Origin.Requests)
	}
}
