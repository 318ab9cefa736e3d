package edge_test

import (
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// hitCtx is a request for path on Host localhost, reusable across calls.
func hitCtx(path string) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.SetRequestURI(path)
	req.Header.SetHost("localhost")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, nil, nil)
	return ctx
}

// warmHit stores a 1 KiB object and returns a context that hits it.
func warmHit(tb testing.TB, te *testEdge) *fasthttp.RequestCtx {
	te.put("bench/1k", strings.Repeat("x", 1024), origin.Headers{ContentType: "application/octet-stream", CacheControl: "max-age=3600"})
	ctx := hitCtx("/bench/1k")
	te.edge.ServeFastHTTP(ctx) // the miss that fills
	ctx.Response.Reset()
	te.edge.ServeFastHTTP(ctx)
	if !strings.HasPrefix(string(ctx.Response.Header.Peek("Cache-Status")), "edge; hit") || len(ctx.Response.Body()) != 1024 {
		tb.Fatalf("not a hit: %s", ctx.Response.Header.Peek("Cache-Status"))
	}
	return ctx
}

// A cache hit allocates nothing.
func TestHitAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; make test runs this test without it")
	}
	te := startEdge(t)
	ctx := warmHit(t, te)
	allocs := testing.AllocsPerRun(1000, func() {
		ctx.Response.Reset()
		te.edge.ServeFastHTTP(ctx)
	})
	if allocs != 0 {
		t.Fatalf("a hit allocates %.1f times, want 0", allocs)
	}
}

// BenchmarkHit1KiB is the edge's handler on a 1 KiB hit; BenchmarkBare1KiB
// is a bare fasthttp handler returning the same bytes: the ratio is the
// cost of caching logic on the hot path.
func BenchmarkHit1KiB(b *testing.B) {
	te := startEdgeB(b)
	ctx := warmHit(b, te)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		te.edge.ServeFastHTTP(ctx)
	}
}

func BenchmarkBare1KiB(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	ctx := hitCtx("/bench/1k")
	handler := func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/octet-stream")
		ctx.Response.Header.Set("Cache-Control", "max-age=3600")
		ctx.Response.SetBodyRaw(body)
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		handler(ctx)
	}
}

func startEdgeB(b *testing.B) *testEdge {
	te := &testEdge{t: b, clock: newClock()}
	engine, err := origin.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { engine.Close() })
	if err := engine.CreateBucket(ctx, "public"); err != nil {
		b.Fatal(err)
	}
	te.engine = engine
	te.store = &countingStore{Store: engine}
	te.edge, err = edge.New(edge.Config{Sites: []edge.Site{{Hosts: []string{"localhost"}, Bucket: "public"}}}, edge.FromStore(te.store))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(te.edge.Close)
	return te
}
