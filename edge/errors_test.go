package edge_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/edgecdn/edge/edge"
)

// Every error answer goes through one path: the status, a Cache-Status
// detail, a count by status and detail on /metrics, and one log line for
// a failure with a cause — once per fill, not once per waiter — while a
// client's own mistakes are not logged.
func TestErrorAnswersAreCountedAndLoggedOnce(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	down := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	down.Close() // an origin that refuses connections
	te := startEdgeWith(t, edge.Config{Logger: zap.New(core), Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: down.URL}}}, nil)

	if r := te.get("/x", "Host", "unknown.example"); r.status != 421 || r.h("Cache-Status") != "edge; detail=unknown-host" {
		t.Fatalf("unknown host: %d %q", r.status, r.h("Cache-Status"))
	}
	if r := te.do("DELETE", "/x"); r.status != 502 || !strings.Contains(r.h("Cache-Status"), "origin-unreachable") {
		t.Fatalf("pass-through to a dead origin: %d %q", r.status, r.h("Cache-Status"))
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := te.get("/herd"); r.status != 502 || r.h("Cache-Status") != "edge; detail=origin-unreachable" {
				t.Errorf("a fill from a dead origin: %d %q", r.status, r.h("Cache-Status"))
			}
		}()
	}
	wg.Wait()
	fills := te.edge.Stats().OriginFetches
	logged := logs.FilterMessage("request failed").Len()
	if logged < 2 || uint64(logged) > fills+1 || logged > 7 {
		t.Fatalf("%d log lines for 1 pass-through and %d fills of a dead origin (20 requests); want one per failure, and no more than a few a second", logged, fills)
	}
	if n := logs.FilterField(zap.String("detail", "unknown-host")).Len(); n != 0 {
		t.Fatalf("a client's mistake was logged %d times", n)
	}

	resp, err := http.Get("http://" + te.adminAddr(t) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`edge_error_answers_total{detail="unknown-host",status="421"} 1`,
		`edge_error_answers_total{detail="origin-unreachable",status="502"} 21`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// adminAddr serves the edge's admin handler on loopback until the test ends.
func (te *testEdge) adminAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(te.edge.AdminHandler(edge.AdminOptions{}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
