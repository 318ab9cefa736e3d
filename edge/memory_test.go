package edge_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/edge"
)

// A scan of 100 000 unique query strings, over URIs that vary and objects
// too big to cache, leaves the edge's memory flat: the cache holds its
// CacheBytes, and what the edge remembers beside it (Vary names, too-big
// keys) stays within VaryKeys and TooBigKeys.
func TestUniqueQueryScanKeepsMemoryFlat(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes 100 000 requests slow and the heap noisy; make test runs this test without it")
	}
	const (
		requests = 100_000
		bound    = 1000
	)
	u := startUpstream(t)
	u.serve("/page", "page", "Cache-Control", "max-age=600", "Vary", "Accept-Encoding")
	u.serve("/big", strings.Repeat("b", 2048), "Cache-Control", "max-age=600")
	te := upstreamEdge(t, u, edge.Config{CacheBytes: 1 << 20, MaxObjectSize: 1024, VaryKeys: bound, TooBigKeys: bound})

	var heapAt []uint64
	scan := func(from, to int) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				for i := from + w; i < to; i += 8 {
					path := "/page"
					if i%2 == 1 {
						path = "/big"
					}
					req.SetRequestURI("http://" + te.addr + path + "?q=" + strconv.Itoa(i))
					req.UseHostHeader = true
					req.Header.SetHost("localhost")
					req.Header.Set("Accept-Encoding", "gzip")
					if err := te.client.DoTimeout(req, resp, 10*time.Second); err != nil || resp.StatusCode() != 200 {
						errs <- fmt.Errorf("%s?q=%d: %v %d", path, i, err, resp.StatusCode())
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heapAt = append(heapAt, ms.HeapAlloc)
	}
	scan(0, requests/5)
	scan(requests/5, requests)

	rec := httptest.NewRecorder()
	te.edge.AdminHandler(edge.AdminOptions{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	metrics, _ := io.ReadAll(rec.Body)
	for _, name := range []string{"edge_vary_keys", "edge_too_big_keys"} {
		n := metricValue(t, string(metrics), name)
		if n < bound/2 || n > bound+64 {
			t.Errorf("%s = %v after %d unique URIs, want about %d", name, n, requests/2, bound)
		}
	}
	grew := int64(heapAt[1]) - int64(heapAt[0])
	t.Logf("heap after %d requests %d KiB, after %d %d KiB", requests/5, heapAt[0]>>10, requests, heapAt[1]>>10)
	if grew > 4<<20 {
		t.Errorf("the heap grew %d KiB from %d to %d unique URIs, want it flat", grew>>10, requests/5, requests)
	}
}

// metricValue reads one unlabelled sample of a Prometheus text page.
func metricValue(t *testing.T, page, name string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(page, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}
