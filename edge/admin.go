package edge

import (
	"fmt"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgecdn/edge/purge"
)

// AdminOptions are what the admin port serves besides the edge's own state.
type AdminOptions struct {
	// Ready, when set, must return nil for /readyz to answer 200.
	Ready func() error
	// Purge is the purge API, served at /v1/purge.
	Purge http.Handler
	// Bus is the purge bus subscription, whose health /readyz and
	// /metrics report; nil when the edge has none.
	Bus *purge.Subscriber
	// Unbounded: the edge runs purge-mode sites without a bus that
	// carries its origin's writes (allow_unbounded_staleness).
	Unbounded bool
	// Collectors are more metrics for /metrics (the process's others).
	Collectors []prometheus.Collector
	// LogLevel, when set, serves /loglevel: GET says the level, PUT
	// {"level":"debug"} changes it while the process runs.
	LogLevel http.Handler
	// Profiling serves Go's profiles at /debug/pprof/ (CPU, heap,
	// goroutines, mutex and block contention, execution traces): off by
	// default, since a profile costs CPU and shows the process's insides.
	Profiling bool
}

// AdminHandler serves /healthz (the process is up), /readyz (it can serve,
// and the state of its purge bus), /metrics (Prometheus, from the edge's
// own registry), the purge API, and /debug/pprof/ when asked.
func (e *Edge) AdminHandler(opts AdminOptions) http.Handler {
	reg := prometheus.NewRegistry()
	counter := func(name, help string, v func() uint64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edge_" + name, Help: help}, func() float64 { return float64(v()) }))
	}
	gauge := func(name, help string, v func() float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edge_" + name, Help: help}, v))
	}
	counter("cache_hits_total", "Requests served fresh from the cache.", func() uint64 { return e.results(resultHit) })
	counter("cache_stale_hits_total", "Requests served stale while a refresh ran.", func() uint64 { return e.results(resultStale) })
	counter("cache_stale_if_error_total", "Requests served stale because the origin failed.", e.stats.staleIfError.Load)
	counter("cache_misses_total", "Requests that needed the origin.", func() uint64 { return e.results(resultMiss) })
	counter("requests_rejected_total", "Requests refused before the cache: unknown host, bad target.", e.stats.rejected.Load)
	counter("origin_fetches_total", "Requests sent to the origin.", e.stats.originFetches.Load)
	counter("fill_rejoins_total", "Confirmed reads that waited for a second fill: the one they joined had asked the origin before they arrived.", e.stats.rejoins.Load)
	counter("origin_errors_total", "Origin requests that got no answer (refused, timed out, cut).", e.stats.originErrors.Load)
	counter("collapsed_requests_total", "Misses served by a fill another request made (coalesced waiters).", e.stats.collapsed.Load)
	cacheStat := func(f func(s cacheStats) uint64) func() uint64 { return func() uint64 { return f(e.cache.Stats()) } }
	counter("cache_evictions_total", "Entries the cache removed for room or at the end of their retention.", cacheStat(func(s cacheStats) uint64 { return s.Evictions }))
	counter("cache_rejections_total", "Entries the cache did not take (admission policy, full buffer).", cacheStat(func(s cacheStats) uint64 { return s.Dropped }))
	counter("cache_fenced_total", "Fills not stored because a purge came after they began.", cacheStat(func(s cacheStats) uint64 { return s.Fenced }))
	reg.MustRegister(siteCollector{e}, e.originLatency)
	counter("background_refreshes_total", "Stale-while-revalidate refreshes.", e.stats.backgroundRefreshes.Load)
	counter("panics_total", "Requests that panicked (answered 500).", e.stats.panics.Load)
	reg.MustRegister(e.failures, e.decisions)
	reg.MustRegister(opts.Collectors...)
	counter("policy_reloads_total", "Reloads of the sites' policy files (file changes, SIGHUP).", e.stats.policyReloads.Load)
	counter("policy_reload_errors_total", "Policy reloads refused because a file did not load; the previous policy stayed in force.", e.stats.policyReloadErrors.Load)
	gauge("policy_reload_failing", "1 while the last policy reload was refused.", func() float64 { return b2f(e.PolicyError() != "") })
	gauge("cache_bytes", "Bytes held by cached entries.", func() float64 { return float64(e.cache.Stats().Bytes) })
	gauge("cache_entries", "Cached entries.", func() float64 { return float64(e.cache.Stats().Entries) })
	gauge("vary_keys", "URIs whose Vary names are remembered (at most vary_keys).", func() float64 { return float64(e.vary.len()) })
	gauge("too_big_keys", "Keys remembered as over max_object_size (at most too_big_keys).", func() float64 { return float64(e.tooBig.len()) })
	gauge("degraded", "1 while hits of purge-mode sites are revalidated because the purge bus is unhealthy.", func() float64 { return b2f(e.degraded.Load()) })
	if b := opts.Bus; b != nil {
		gauge("purge_bus_healthy", "1 while the purge bus vouches that no purge is missed.", func() float64 { h, _ := b.Health(); return b2f(h) })
		counter("purge_messages_received_total", "Purge messages received and decoded, applied or not (a repeat is received, not applied).", func() uint64 { return b.Stats().Received })
		counter("purge_messages_applied_total", "Purge messages applied.", func() uint64 { return b.Stats().Applied })
		counter("purge_gaps_total", "Gaps found in a publisher's message numbers.", func() uint64 { return b.Stats().Gaps })
		counter("purge_flushes_total", "Cache flushes for possibly lost purges.", func() uint64 { return b.Stats().Flushes })
		counter("purge_dropped_messages_total", "Bus messages that did not decode, dropped whole.", func() uint64 { return b.Stats().Dropped })
		counter("purge_resubscribes_total", "Subscriptions to the bus, the first included.", func() uint64 { return b.Stats().Resets })
		gauge("purge_last_delay_seconds", "Publish-to-apply time of the last origin purge.", func() float64 { return b.Stats().LastDelay.Seconds() })
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	if opts.LogLevel != nil {
		mux.Handle("/loglevel", opts.LogLevel)
	}
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if opts.Ready != nil {
			if err := opts.Ready(); err != nil {
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintf(w, "ready\n%s\n", e.busState(opts))
		if err := e.PolicyError(); err != "" {
			fmt.Fprintf(w, "policy: the last reload was refused, the previous policy stays in force: %s\n", err)
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if opts.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	if opts.Purge != nil {
		mux.Handle("/v1/purge", opts.Purge)
	}
	return mux
}

// busState is the purge bus part of /readyz.
func (e *Edge) busState(opts AdminOptions) string {
	s := "purge bus: none"
	if opts.Bus != nil {
		s = "purge bus: healthy"
		if ok, why := opts.Bus.Health(); !ok {
			s = "purge bus: degraded (" + why + "): every hit of a purge-mode site is revalidated with the origin"
		}
	}
	if opts.Unbounded {
		s += "\nno bus carries the origin's writes and allow_unbounded_staleness is set: purge-mode sites may serve overwritten and deleted objects until their TTL ends"
	}
	return s
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
