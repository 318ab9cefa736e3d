package edge

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgecdn/edge/cache"
	"github.com/valyala/fasthttp"
)

// The cache results a site's requests are counted by.
// Each request is counted once: a GET or HEAD by what its lookup found,
// any other method as pass.
const (
	resultHit   = iota // served from the cache without asking the origin
	resultStale        // served stale while a refresh runs (stale-while-revalidate, soft-purged)
	resultMiss         // the origin was asked (a fill, a revalidation, or a stream-through)
	resultPass         // an unsafe method, relayed to the origin
	resultCount
)

var resultNames = [resultCount]string{"hit", "stale", "miss", "pass"}

// siteMetrics count one site's requests for /metrics with atomic adds on
// the request path: no label is looked up per request. The counters are
// sharded by connection, each shard on cache lines of its own, so that
// requests served on different cores do not contend for one line; the
// shards are summed when read.
type siteMetrics struct {
	shards [metricShards]siteCounters
}

// metricShards is a power of two above the cores an edge usually has.
const metricShards = 16

type siteCounters struct {
	// requests by method (GET, HEAD, other) and status class (1xx to
	// 5xx, other).
	requests [3][6]atomic.Uint64
	bytes    atomic.Uint64 // response bodies, by Content-Length
	results  [resultCount]atomic.Uint64
	_        [256 - (3*6+1+resultCount)*8]byte // to a multiple of the cache line
}

// of is the shard a request's connection counts in.
func (m *siteMetrics) of(ctx *fasthttp.RequestCtx) *siteCounters {
	return &m.shards[ctx.ConnID()%metricShards]
}

// result counts a lookup's result; a second look of one request (again)
// is not a second request.
func (m *siteMetrics) result(ctx *fasthttp.RequestCtx, r int, again bool) {
	if !again {
		m.of(ctx).results[r].Add(1)
	}
}

// sum adds up one counter over the shards.
func (m *siteMetrics) sum(counter func(*siteCounters) *atomic.Uint64) uint64 {
	n := uint64(0)
	for i := range m.shards {
		n += counter(&m.shards[i]).Load()
	}
	return n
}

// results sums a result over the sites: the edge's totals are derived,
// not counted twice on the request path.
func (e *Edge) results(r int) uint64 {
	n := uint64(0)
	for _, site := range e.sites.all {
		n += site.metrics.sum(func(c *siteCounters) *atomic.Uint64 { return &c.results[r] })
	}
	return n
}

// count records a request the site answered.
func (m *siteMetrics) count(ctx *fasthttp.RequestCtx) {
	method := 2
	switch h := &ctx.Request.Header; {
	case h.IsGet():
		method = 0
	case h.IsHead():
		method = 1
	}
	class := ctx.Response.StatusCode()/100 - 1
	if class < 0 || class > 4 {
		class = 5
	}
	c := m.of(ctx)
	c.requests[method][class].Add(1)
	c.bytes.Add(uint64(bodyBytes(ctx)))
}

// bodyBytes is the size of the response body sent: none for HEAD, the
// length of a buffered body (Body does not copy it), the declared length
// of a streamed one (reading it would buffer it).
func bodyBytes(ctx *fasthttp.RequestCtx) int {
	if ctx.IsHead() || ctx.Response.SkipBody {
		return 0
	}
	if ctx.Response.IsBodyStream() {
		return max(ctx.Response.Header.ContentLength(), 0)
	}
	return len(ctx.Response.Body())
}

// siteCollector exports every site's counters, labelled by the site's
// first host, at scrape time.
type siteCollector struct{ e *Edge }

var (
	requestsDesc = prometheus.NewDesc("edge_requests_total", "Requests answered, by site (its first host), method and status class.", []string{"site", "method", "status"}, nil)
	bytesDesc    = prometheus.NewDesc("edge_response_bytes_total", "Response body bytes sent, by site.", []string{"site"}, nil)
	resultsDesc  = prometheus.NewDesc("edge_cache_results_total", "Requests by site and cache result, each counted once: hit, stale (served stale while refreshing), miss (the origin was asked), pass (an unsafe method relayed).", []string{"site", "result"}, nil)
)

func (c siteCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- bytesDesc
	ch <- resultsDesc
}

func (c siteCollector) Collect(ch chan<- prometheus.Metric) {
	methods := [3]string{"GET", "HEAD", "other"}
	classes := [6]string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
	for _, site := range c.e.sites.all {
		m, name := site.metrics, site.Hosts[0]
		for i := range m.shards[0].requests {
			for j := range m.shards[0].requests[i] {
				if n := m.sum(func(c *siteCounters) *atomic.Uint64 { return &c.requests[i][j] }); n > 0 {
					ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), name, methods[i], classes[j])
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(m.sum(func(c *siteCounters) *atomic.Uint64 { return &c.bytes })), name)
		for r := range resultCount {
			ch <- prometheus.MustNewConstMetric(resultsDesc, prometheus.CounterValue, float64(m.sum(func(c *siteCounters) *atomic.Uint64 { return &c.results[r] })), name, resultNames[r])
		}
	}
}

// originLatency is how long the origin took to answer a fill or a
// stream-through (to its header), by outcome.
func newOriginLatency() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "edge_origin_request_seconds", Help: "Time to the origin's answer (its header), by outcome: ok, or error (no answer).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms to 16 s
	}, []string{"outcome"})
}

// observeOrigin records one origin request's time and outcome.
func (e *Edge) observeOrigin(start time.Time, err error) {
	if err != nil {
		e.stats.originErrors.Add(1)
		e.originErr.Observe(time.Since(start).Seconds())
		return
	}
	e.originOK.Observe(time.Since(start).Seconds())
}

type cacheStats = cache.Stats
