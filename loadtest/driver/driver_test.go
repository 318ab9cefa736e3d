package driver

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/loadtest/consistency"
	"github.com/edgecdn/edge/loadtest/systemtest"
)

func config(s systemtest.System) Config {
	return Config{
		Edges: []string{s.EdgeURL}, Host: systemtest.Host, S3: s.S3URL, Bucket: systemtest.Bucket, AccessKey: systemtest.AccessKey, SecretKey: systemtest.SecretKey,
		Duration: 2 * time.Second, Concurrency: 8, Keys: 20, Zipf: 1, Sizes: []SizeShare{{Bytes: 64, Weight: 1}},
		Mix: Mix{Read: 70, Overwrite: 25, Delete: 5}, Unborn: 25, Seed: 1,
	}
}

// Against a real edge: with TTL-only caching the observer sees stale
// reads (and content served after delete); with the store's purges
// applied before each write returns, it sees none.
func TestScenariosAgainstARealEdge(t *testing.T) {
	ttl, err := Run(context.Background(), config(systemtest.Start(t, edge.ConsistencyTTL)))
	if err != nil {
		t.Fatal(err)
	}
	c := ttl.Consistency
	t.Logf("ttl: %d reads %d writes, hit %.2f, fresh %d stale %d after-delete %d 404-after-put %d unexplained %d, staleness %+v",
		ttl.Reads, ttl.Writes, ttl.HitRatio, c.Fresh, c.Stale, c.ServedAfterDelete, c.NotFoundAfterPut, c.Unexplained, c.StalenessMs)
	if ttl.Reads < 100 || ttl.Writes < 20 || ttl.Errors != 0 {
		t.Fatalf("ttl run too small or failing: %d reads, %d writes, errors %v", ttl.Reads, ttl.Writes, ttl.ErrorKinds)
	}
	if c.GenerationsChecked == 0 {
		t.Errorf("no read's generation was checked against the one the store reported for its write")
	}
	if c.Stale+c.ServedAfterDelete == 0 || c.StalenessMs.Max <= 0 {
		t.Errorf("TTL-only caching showed no stale reads: %+v", c)
	}
	purged, err := Run(context.Background(), config(systemtest.Start(t, edge.ConsistencyPurge)))
	if err != nil {
		t.Fatal(err)
	}
	p := purged.Consistency
	t.Logf("purge: %d reads %d writes, hit %.2f, fresh %d stale %d after-delete %d 404-after-put %d unexplained %d",
		purged.Reads, purged.Writes, purged.HitRatio, p.Fresh, p.Stale, p.ServedAfterDelete, p.NotFoundAfterPut, p.Unexplained)
	if o := purged.Origin; o.Requests == 0 || o.Requests >= purged.Reads || o.RequestOffload <= 0 || o.ByteOffload <= 0 || o.Bytes == 0 || o.Bytes >= o.BytesServed {
		t.Errorf("origin traffic and offload: %+v over %d reads", o, purged.Reads)
	}
	if purged.Reads < 100 || purged.Errors != 0 || purged.HitRatio == 0 {
		t.Fatalf("purge run: %d reads, errors %v, hit ratio %v", purged.Reads, purged.ErrorKinds, purged.HitRatio)
	}
	if p.Stale+p.ServedAfterDelete+p.NotFoundAfterPut+p.Unexplained != 0 {
		t.Errorf("with purges applied before each write returns, reads were not fresh: %+v", p)
	}
}

func TestVersionBody(t *testing.T) {
	b := versionBody(42, 64)
	if v, ok := parseVersion(b); !ok || v != 42 || len(b) != 64 {
		t.Fatalf("%q: %d %v", b, v, ok)
	}
	for _, bad := range []string{"", "x1\n", "v\n", "vx\n"} {
		if _, ok := parseVersion([]byte(bad)); ok {
			t.Errorf("%q read as a version", bad)
		}
	}
}

// A read-only run after a prefill reads objects that exist: every read
// fresh, and after the first of each key, hits.
func TestPrefilledReadOnly(t *testing.T) {
	cfg := config(systemtest.Start(t, edge.ConsistencyPurge))
	cfg.Mix, cfg.Prefill, cfg.Duration = Mix{Read: 1}, true, time.Second
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Consistency
	if c.PropagationMs != (consistency.Quantiles{}) {
		t.Errorf("the prefill's writes measured for propagation: %+v", c.PropagationMs)
	}
	if res.Writes != 0 || res.Reads < 100 || c.Fresh != c.Reads || res.HitRatio < 0.9 {
		t.Fatalf("%d writes counted, %d reads, %d fresh, hit ratio %.2f", res.Writes, res.Reads, c.Fresh, res.HitRatio)
	}
}

// Errors are counted by kind and by the edge that gave them.
func TestErrorsPerEdge(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // connections to it are refused
	cfg := config(systemtest.Start(t, edge.ConsistencyPurge))
	cfg.Edges = append(cfg.Edges, down)
	cfg.Mix, cfg.Prefill, cfg.Duration = Mix{Read: 1}, true, 500*time.Millisecond
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	good, bad := res.Edges[cfg.Edges[0]], res.Edges[down]
	if bad.Consistency == nil {
		t.Fatal("an edge without reads has no consistency summary")
	}
	if bad.Errors == 0 || bad.Reads != 0 || good.Errors != 0 || good.Reads == 0 || res.ErrorKinds["read-transport"] != bad.Errors || res.Errors != bad.Errors {
		t.Fatalf("good edge %d reads %d errors, refusing edge %d reads %d errors, by kind %v", good.Reads, good.Errors, bad.Reads, bad.Errors, res.ErrorKinds)
	}
}

// Open loop: operations due that no worker could begin count as unsent;
// at a rate the system keeps up with, none do.
func TestOpenLoopCountsUnsent(t *testing.T) {
	sys := systemtest.Start(t, edge.ConsistencyPurge)
	cfg := config(sys)
	cfg.Mix, cfg.Prefill, cfg.Duration, cfg.Concurrency = Mix{Read: 1}, true, 500*time.Millisecond, 1
	cfg.Rate = 1e6 // far beyond one worker
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unsent < 1000 || res.TargetRate != 1e6 {
		t.Errorf("at a rate beyond reach: %d unsent after %d reads", res.Unsent, res.Reads)
	}
	cfg.Rate, cfg.Concurrency = 50, 8
	if res, err = Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if res.Unsent > 1 || res.Reads < 20 {
		t.Errorf("at 50 a second: %d unsent, %d reads", res.Unsent, res.Reads)
	}
}
