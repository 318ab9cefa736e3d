package driver

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3"
)

const (
	testKey    = "LOADTESTKEY000000001"
	testSecret = "loadtest/secret/0123456789abcdefghij"
)

// system is an origin store with its S3 API and an edge over it, on
// loopback ports, for one test; consistency is the edge site's.
type system struct {
	s3URL, edgeURL string
}

func startSystem(t *testing.T, c edge.Consistency) system {
	t.Helper()
	var ed *edge.Edge
	engine, err := origin.Open(t.TempDir(), &origin.Options{Sink: origin.EventSinkFunc(func(ev origin.Event) {
		if ed != nil {
			ed.ApplyEvent(ev) // the store's writes purge in process, before they return
		}
	})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	if err := engine.CreateBucket(context.Background(), "loadtest"); err != nil {
		t.Fatal(err)
	}
	h, err := s3.New(engine, s3.Config{Credentials: map[string]string{testKey: testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(srvServe func(net.Listener) error, shutdown func() error) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { srvServe(ln); close(done) }()
		t.Cleanup(func() { shutdown(); <-done })
		return "http://" + ln.Addr().String()
	}
	s3srv := s3.NewServer(h, s3.ServerConfig{})
	sys := system{s3URL: serve(s3srv.Serve, s3srv.Shutdown)}
	ed, err = edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"cdn.test"}, Bucket: "loadtest", Consistency: c}}}, edge.FromStore(engine))
	if err != nil {
		t.Fatal(err)
	}
	edsrv := edge.NewServer(ed, edge.ServerConfig{})
	sys.edgeURL = serve(edsrv.Serve, edsrv.Shutdown)
	t.Cleanup(ed.Close)
	return sys
}

func (s system) config() Config {
	return Config{
		Edges: []string{s.edgeURL}, Host: "cdn.test", S3: s.s3URL, Bucket: "loadtest", AccessKey: testKey, SecretKey: testSecret,
		Duration: 2 * time.Second, Concurrency: 8, Keys: 20, Zipf: 1, Size: 64,
		Mix: Mix{Read: 70, Overwrite: 25, Delete: 5}, Seed: 1,
	}
}

// Against a real edge: with TTL-only caching the observer sees stale
// reads (and content served after delete); with the store's purges
// applied before each write returns, it sees none.
func TestScenariosAgainstARealEdge(t *testing.T) {
	ttl, err := Run(context.Background(), startSystem(t, edge.ConsistencyTTL).config())
	if err != nil {
		t.Fatal(err)
	}
	c := ttl.Consistency
	t.Logf("ttl: %d reads %d writes, hit %.2f, fresh %d stale %d after-delete %d 404-after-put %d unexplained %d, staleness %+v",
		ttl.Reads, ttl.Writes, ttl.HitRatio, c.Fresh, c.Stale, c.ServedAfterDelete, c.NotFoundAfterPut, c.Unexplained, c.StalenessMs)
	if ttl.Reads < 100 || ttl.Writes < 20 || ttl.Errors != 0 {
		t.Fatalf("ttl run too small or failing: %d reads, %d writes, errors %v", ttl.Reads, ttl.Writes, ttl.ErrorKinds)
	}
	if c.Stale+c.ServedAfterDelete == 0 || c.StalenessMs.Max <= 0 {
		t.Errorf("TTL-only caching showed no stale reads: %+v", c)
	}
	purged, err := Run(context.Background(), startSystem(t, edge.ConsistencyPurge).config())
	if err != nil {
		t.Fatal(err)
	}
	p := purged.Consistency
	t.Logf("purge: %d reads %d writes, hit %.2f, fresh %d stale %d after-delete %d 404-after-put %d unexplained %d",
		purged.Reads, purged.Writes, purged.HitRatio, p.Fresh, p.Stale, p.ServedAfterDelete, p.NotFoundAfterPut, p.Unexplained)
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
