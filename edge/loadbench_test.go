package edge_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
	"github.com/edgecdn/edge/origin"
)

// BenchmarkHit64KiB is BenchmarkHit1KiB with a 64 KiB body: the handler's
// cost does not grow with the body, which is handed to fasthttp, not copied.
func BenchmarkHit64KiB(b *testing.B) {
	te := startEdgeB(b)
	body := strings.Repeat("x", 64<<10)
	te.put("bench/64k", body, origin.Headers{ContentType: "application/octet-stream", CacheControl: "max-age=3600"})
	ctx := hitCtx("/bench/64k")
	te.edge.ServeFastHTTP(ctx) // the miss that fills
	ctx.Response.Reset()
	te.edge.ServeFastHTTP(ctx)
	if !strings.HasPrefix(string(ctx.Response.Header.Peek("Cache-Status")), "edge; hit") || len(ctx.Response.Body()) != len(body) {
		b.Fatalf("not a hit: %s", ctx.Response.Header.Peek("Cache-Status"))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		ctx.Response.Reset()
		te.edge.ServeFastHTTP(ctx)
	}
}

// BenchmarkHitSpread is BenchmarkHit1KiB over 1 000 objects asked for in
// a shuffled order, as a hot set is: each hit then finds its entry, its
// header and its counters out of the CPU's caches, as under real load.
func BenchmarkHitSpread(b *testing.B) {
	ctxs, serve := spreadHits(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ctx := ctxs[i%len(ctxs)]
		i++
		ctx.Response.Reset()
		serve(ctx)
	}
}

// BenchmarkHitEvicted is BenchmarkHitSpread with 32 KiB of other memory
// written between hits, over 64 MiB (twice the last-level cache here),
// as the kernel's and a load generator's work between two requests does:
// each hit then finds its data in memory rather than in any cache, as
// hits under wrk do (the handler's share of a hit measured there with
// perf is close to this benchmark's hit-ns/op, not to BenchmarkHitSpread's
// ns/op). hit-ns/op is the handler's time alone.
func BenchmarkHitEvicted(b *testing.B) {
	ctxs, serve := spreadHits(b)
	other := make([]byte, 64<<20)
	at := 0
	var spent time.Duration
	i := 0
	for b.Loop() {
		ctx := ctxs[i%len(ctxs)]
		i++
		ctx.Response.Reset()
		start := time.Now()
		serve(ctx)
		spent += time.Since(start)
		for range 512 { // a line at a time
			other[at]++
			at = (at + 64) % len(other)
		}
	}
	b.ReportMetric(float64(spent.Nanoseconds())/float64(i), "hit-ns/op")
}

// spreadHits stores 1 000 objects of 1 KiB and returns a request for
// each, shuffled, every one checked to be a hit.
func spreadHits(b *testing.B) ([]*fasthttp.RequestCtx, fasthttp.RequestHandler) {
	te := startEdgeB(b)
	const objects = 1000
	body := strings.Repeat("x", 1<<10)
	ctxs := make([]*fasthttp.RequestCtx, objects)
	for i := range ctxs {
		key := fmt.Sprintf("bench/spread-%d", i)
		te.put(key, body, origin.Headers{ContentType: "application/octet-stream", CacheControl: "max-age=3600"})
		ctxs[i] = hitCtx("/" + key)
		te.edge.ServeFastHTTP(ctxs[i]) // the miss that fills
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(objects, func(i, j int) { ctxs[i], ctxs[j] = ctxs[j], ctxs[i] })
	for _, ctx := range ctxs {
		ctx.Response.Reset()
		te.edge.ServeFastHTTP(ctx)
		if !strings.HasPrefix(string(ctx.Response.Header.Peek("Cache-Status")), "edge; hit") {
			b.Fatalf("not a hit: %s", ctx.Response.Header.Peek("Cache-Status"))
		}
	}
	return ctxs, te.edge.ServeFastHTTP
}

// BenchmarkHitLoopback serves cache hits over loopback TCP to 64
// kept-alive connections, each sending its next request when the last
// answer is read (as wrk does), and reports the rate and the latency
// percentiles a client saw. "limit" is a bare fasthttp server answering
// every request with the same body (SetBodyRaw, no cache), measured in the
// same run: compare the two, not the figures across runs or machines.
//
//	go test -run '^$' -bench HitLoopback -benchtime 200000x ./edge/
//
// The clients share the CPU with the server, so the figures measure the
// server's cost per request as much as its speed; for a comparison with
// other caches, see the README's benchmarks.
func BenchmarkHitLoopback(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		body := strings.Repeat("x", size)
		b.Run(fmt.Sprintf("limit/%dKiB", size>>10), func(b *testing.B) {
			raw := []byte(body) // once: a copy per request would slow the baseline
			srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
				ctx.Response.Header.SetContentType("application/octet-stream")
				ctx.Response.Header.Set("Cache-Control", "max-age=3600")
				ctx.Response.SetBodyRaw(raw)
			}}
			loadLoopback(b, srv, size, nil)
		})
		b.Run(fmt.Sprintf("edge/%dKiB", size>>10), func(b *testing.B) {
			te := startEdgeB(b)
			for i := range hotKeys {
				te.put(fmt.Sprintf("bench/%d", i), body, origin.Headers{ContentType: "application/octet-stream", CacheControl: "max-age=3600"})
			}
			loadLoopback(b, edge.NewServer(te.edge, edge.ServerConfig{}), size, func(resp *fasthttp.Response) error {
				if cs := resp.Header.Peek("Cache-Status"); !strings.HasPrefix(string(cs), "edge; hit") {
					return fmt.Errorf("not a hit: Cache-Status %q", cs)
				}
				return nil
			})
		})
	}
}

const (
	hotKeys     = 100
	loadClients = 64
)

// loadLoopback serves srv on a loopback port, warms every hot key, then
// sends b.N requests over loadClients connections and reports req/s and
// the p50, p99 and p99.9 latency in microseconds. check, when set, judges
// each warmed answer (after the first, which fills).
func loadLoopback(b *testing.B, srv *fasthttp.Server, size int, check func(*fasthttp.Response) error) {
	addr := serveOn(b, srv)
	requests := make([][]byte, hotKeys)
	for i := range requests {
		requests[i] = fmt.Appendf(nil, "GET /bench/%d HTTP/1.1\r\nHost: localhost\r\n\r\n", i)
	}
	c := dialLoad(b, addr)
	for round := range 2 {
		for i := range requests {
			resp, err := c.do(requests[i])
			if err == nil && (resp.StatusCode() != 200 || len(resp.Body()) != size) {
				err = fmt.Errorf("status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
			}
			if err == nil && round == 1 && check != nil {
				err = check(resp)
			}
			if err != nil {
				b.Fatalf("warming key %d: %v", i, err)
			}
		}
	}
	c.close()

	clients := make([]*loadClient, loadClients)
	for i := range clients {
		clients[i] = dialLoad(b, addr)
		defer clients[i].close()
	}
	var wg sync.WaitGroup
	errs := make(chan error, loadClients)
	hists := make([]*hdrhistogram.Histogram, loadClients)
	b.SetBytes(int64(size))
	b.ResetTimer()
	start := time.Now()
	for i, c := range clients {
		n := b.N / loadClients
		if i < b.N%loadClients {
			n++
		}
		hists[i] = hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
		wg.Add(1)
		go func(h *hdrhistogram.Histogram) {
			defer wg.Done()
			for j := range n {
				t0 := time.Now()
				resp, err := c.do(requests[(i*7919+j)%hotKeys])
				if err == nil && (resp.StatusCode() != 200 || len(resp.Body()) != size) {
					err = fmt.Errorf("status %d, %d bytes", resp.StatusCode(), len(resp.Body()))
				}
				if err != nil {
					errs <- err
					return
				}
				h.RecordValue(time.Since(t0).Microseconds())
			}
		}(hists[i])
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	all := hdrhistogram.New(1, int64(10*time.Second/time.Microsecond), 3)
	for _, h := range hists {
		all.Merge(h)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(all.ValueAtQuantile(50)), "p50-µs")
	b.ReportMetric(float64(all.ValueAtQuantile(99)), "p99-µs")
	b.ReportMetric(float64(all.ValueAtQuantile(99.9)), "p99.9-µs")
}

// loadClient is one kept-alive connection sending raw requests, with a
// reused response: the client costs as little as it can, like wrk.
type loadClient struct {
	conn net.Conn
	br   *bufio.Reader
	resp fasthttp.Response
}

func dialLoad(b *testing.B, addr string) *loadClient {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return &loadClient{conn: conn, br: bufio.NewReaderSize(conn, 16<<10)}
}

func (c *loadClient) do(req []byte) (*fasthttp.Response, error) {
	if _, err := c.conn.Write(req); err != nil {
		return nil, err
	}
	c.resp.Reset()
	return &c.resp, c.resp.Read(c.br)
}

func (c *loadClient) close() { c.conn.Close() }
