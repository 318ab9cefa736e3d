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
	// An origin that drops every connection without answering; the fill
	// of /herd is held until every request has joined it.
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	dropper := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/herd" {
			once.Do(func() { close(entered) })
			<-release
		}
		panic(http.ErrAbortHandler)
	}))
	t.Cleanup(dropper.Close)
	te := startEdgeWith(t, edge.Config{Logger: zap.New(core), Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: dropper.URL}}}, nil)

	if r := te.get("/x", "Host", "unknown.example"); r.status != 421 || r.h("Cache-Status") != "edge; detail=unknown-host" {
		t.Fatalf("unknown host: %d %q", r.status, r.h("Cache-Status"))
	}
	if r := te.do("DELETE", "/x"); r.status != 502 || !strings.Contains(r.h("Cache-Status"), "origin-unreachable") {
		t.Fatalf("pass-through to a dropping origin: %d %q", r.status, r.h("Cache-Status"))
	}
	const herd = 20
	var wg sync.WaitGroup
	for range herd {
		wg.Go(func() {
			if r := te.get("/herd"); r.status != 502 || r.h("Cache-Status") != "edge; detail=origin-unreachable" {
				t.Errorf("a fill from a dropping origin: %d %q", r.status, r.h("Cache-Status"))
			}
		})
	}
	recv(t, entered, "the fill to reach the origin")
	waitFor(t, "every request to join the fill", func() bool { return te.edge.Stats().FillRequests >= herd })
	close(release)
	wg.Wait()
	if n := te.edge.Stats().OriginFetches; n != 1 {
		t.Fatalf("%d origin fetches for %d collapsed requests, want 1", n, herd)
	}
	if n := logs.FilterMessage("request failed").Len(); n != 2 {
		t.Fatalf("%d log lines for 1 failed pass-through and 1 failed fill shared by %d requests, want 2 (once per failure, not per waiter)", n, herd)
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
