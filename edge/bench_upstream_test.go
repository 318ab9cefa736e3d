package edge_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgecdn/edge/edge"
)

// BenchmarkHitUpstream1KiB is a 1 KiB hit of an upstream site, whose
// entries carry no generation: the path the peer harness measures.
func BenchmarkHitUpstream1KiB(b *testing.B) {
	body := strings.Repeat("x", 1024)
	o := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write([]byte(body))
	}))
	b.Cleanup(o.Close)
	e, err := edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Upstream: o.URL}}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	ctx := hitCtx("/bench/1k")
	e.ServeFastHTTP(ctx)
	ctx.Response.Reset()
	e.ServeFastHTTP(ctx)
	if !strings.HasPrefix(string(ctx.Response.Header.Peek("Cache-Status")), "edge; hit") {
		b.Fatalf("not a hit: %s", ctx.Response.Header.Peek("Cache-Status"))
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		e.ServeFastHTTP(ctx)
	}
}
