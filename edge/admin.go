package edge

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves /healthz (the process is up), /readyz (it can serve:
// ready() says so) and /metrics (Prometheus), from the edge's own registry.
func (e *Edge) AdminHandler(ready func() error) http.Handler {
	reg := prometheus.NewRegistry()
	counter := func(name, help string, v func() uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_" + name, Help: help}, func() float64 { return float64(v()) }))
	}
	counter("cache_hits_total", "Requests served fresh from the cache.", e.stats.hits.Load)
	counter("cache_stale_hits_total", "Requests served stale while a refresh ran.", e.stats.staleHits.Load)
	counter("cache_stale_if_error_total", "Requests served stale because the origin failed.", e.stats.staleIfError.Load)
	counter("cache_misses_total", "Requests that needed the origin.", e.stats.misses.Load)
	counter("requests_rejected_total", "Requests refused before the cache: unknown host, bad target.", e.stats.rejected.Load)
	counter("origin_fetches_total", "Requests sent to the origin.", e.stats.originFetches.Load)
	counter("background_refreshes_total", "Stale-while-revalidate refreshes.", e.stats.backgroundRefreshes.Load)
	counter("panics_total", "Requests that panicked (answered 500).", e.stats.panics.Load)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_cache_bytes", Help: "Bytes held by cached entries."},
		func() float64 { return float64(e.cache.Stats().Bytes) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_cache_entries", Help: "Cached entries."},
		func() float64 { return float64(e.cache.Stats().Entries) }))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ready != nil {
			if err := ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
