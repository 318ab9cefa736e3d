package edge

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/edgecdn/edge/cache"
)

// Config configures an Edge.
type Config struct {
	Sites []Site
	// CacheBytes is the memory for cached entries (default 512 MiB).
	CacheBytes int64
	// MaxObjectSize: larger responses stream through uncached (default 16 MiB).
	MaxObjectSize int64
	// FetchTimeout bounds each wait for an origin (default 30 s): for its
	// answer's head, then for each 256 KiB of its body. A slow but steady
	// origin's answer arrives however long it takes; one that stops
	// sending, or trickles, is given up on (504), and nothing of it is
	// stored.
	FetchTimeout time.Duration
	// Logger gets errors, and the access log when AccessLogEvery > 0.
	Logger *zap.Logger
	// AccessLogEvery logs one request in N, drawn at random (0: no access
	// log; 1: every request).
	AccessLogEvery uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// VaryKeys bounds the URIs whose Vary names the edge remembers
	// (default 100 000), TooBigKeys the keys it remembers as over
	// MaxObjectSize (default 10 000). Keys come from requests: a scan of
	// unique URLs evicts the least recently used; forgetting costs one
	// more fill.
	VaryKeys, TooBigKeys int
	// HTTPClient reads upstream sites and relays their unsafe methods
	// (default DefaultHTTPClient(FetchTimeout)).
	HTTPClient *http.Client
	// HTTPSPort is the port clients reach the HTTPS listener on, for the
	// Location of https_redirect (0 or 443: none in the URL).
	HTTPSPort int
}

// Edge serves the configured sites.
type Edge struct {
	cfg      Config
	sites    *sites
	cache    *cache.Cache
	origin   Origin          // bucket sites; nil when there are none
	upstream *upstreamOrigin // upstream sites
	fills    singleflight.Group
	// refreshing marks keys with a background revalidation running.
	refreshing syncSet
	vary       *memo[[]string] // primary key → the names it varies by
	varied     atomic.Bool     // a response has varied: the memo may hold names
	// tooBig remembers keys of objects over MaxObjectSize (key → when).
	tooBig *memo[time.Time]
	log    *zap.Logger
	stats  stats
	// wallClock: Now is time.Now, so a request's time is the one fasthttp
	// read when the request arrived (requestTime) and no second read.
	wallClock bool
	// degraded: the purge bus cannot vouch that no purge is missed, so
	// hits of purge-mode sites are revalidated (purge.go).
	degraded atomic.Bool
	// failures counts the error answers by status and detail (errors.go);
	// errLog keeps their logging to a few lines a second.
	failures *prometheus.CounterVec
	// policyErr is the last policy reload's error (nil: it succeeded).
	policyErr atomic.Pointer[string]
	// decisions counts the policy-file decisions by site, rule and
	// whether the response was stored.
	decisions *prometheus.CounterVec
	errLog    *rate.Sometimes
	// work counts the fills and background refreshes running: Close waits
	// for them, since the cache may not be closed under a Begin or a Set.
	// closed (under workMu) refuses new ones.
	// seed is a fresh response header of the edge's server, whose flags
	// (NoDefaultDate) stored responses' headers copy (headerTemplate).
	seed atomic.Pointer[fasthttp.ResponseHeader]
	// httpsPort is ":port" in https_redirect's Location (empty for 443).
	httpsPort []byte
	// originOK and originErr time origin requests (metrics.go).
	originLatency       *prometheus.HistogramVec
	originOK, originErr prometheus.Observer
	workMu              sync.Mutex
	work                sync.WaitGroup
	closed              bool
}

// New builds an edge for the sites; bucket sites read from o (nil when
// there are none).
func New(cfg Config, o Origin) (*Edge, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{{"cache_bytes", cfg.CacheBytes}, {"max_object_size", cfg.MaxObjectSize}, {"vary_keys", int64(cfg.VaryKeys)}, {"too_big_keys", int64(cfg.TooBigKeys)}} {
		if f.v < 0 {
			return nil, fmt.Errorf("edge: %s is %d: give a positive number, or 0 for the default", f.name, f.v)
		}
	}
	if cfg.VaryKeys == 0 {
		cfg.VaryKeys = 100_000
	}
	if cfg.TooBigKeys == 0 {
		cfg.TooBigKeys = 10_000
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 512 << 20
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 16 << 20
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	wallClock := cfg.Now == nil
	if wallClock {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s, err := newSites(cfg.Sites)
	if err != nil {
		return nil, err
	}
	c, err := cache.New(cache.Config{MaxBytes: cfg.CacheBytes, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = DefaultHTTPClient(cfg.FetchTimeout)
	}
	for _, site := range s.all {
		if site.S3 != nil {
			if site.origin, err = NewS3Origin(*site.S3, cfg.HTTPClient); err != nil {
				c.Close()
				return nil, fmt.Errorf("edge: site %v: %w", site.Hosts, err)
			}
		}
		if o == nil && site.Bucket != "" && site.origin == nil {
			c.Close()
			return nil, errors.New("edge: bucket sites need an origin: the embedded store (FromStore), an S3 endpoint (FromS3, NewS3Origin) or their own s3")
		}
	}
	latency := newOriginLatency()
	return &Edge{
		originLatency: latency, originOK: latency.WithLabelValues("ok"), originErr: latency.WithLabelValues("error"),
		httpsPort: httpsPortSuffix(cfg.HTTPSPort),
		cfg:       cfg, sites: s, cache: c, log: cfg.Logger, wallClock: wallClock,
		origin: o, upstream: &upstreamOrigin{client: cfg.HTTPClient},
		vary: newMemo[[]string](cfg.VaryKeys), tooBig: newMemo[time.Time](cfg.TooBigKeys),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_error_answers_total", Help: "Requests answered with an error by the edge itself, by status and Cache-Status detail.",
		}, []string{"status", "detail"}),
		errLog: &rate.Sometimes{First: 5, Interval: time.Second},
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edge_policy_decisions_total", Help: "Fills decided by a site's policy file, by site, deciding rule and whether the response was stored.",
		}, []string{"site", "rule", "stored"}),
	}, nil
}

// Close stops the edge: fills and background refreshes no longer start,
// those running are waited for, then the cache is released. Call it once
// the servers have stopped handing the edge requests.
func (e *Edge) Close() {
	e.workMu.Lock()
	e.closed = true
	e.workMu.Unlock()
	e.work.Wait()
	e.cache.Close()
}

// Ready is nil while the edge can serve: it is not closed and its
// embedded store, if it has one, reads. /readyz answers 503 otherwise.
func (e *Edge) Ready() error {
	e.workMu.Lock()
	closed := e.closed
	e.workMu.Unlock()
	if closed {
		return errors.New("the edge is shutting down")
	}
	if e.origin != nil {
		if err := e.origin.ready(); err != nil {
			return fmt.Errorf("the origin store does not read: %w", err)
		}
	}
	return nil
}

// startWork registers a fill or a refresh, or reports that the edge is
// closing; a true answer must be followed by e.work.Done.
func (e *Edge) startWork() bool {
	e.workMu.Lock()
	defer e.workMu.Unlock()
	if e.closed {
		return false
	}
	e.work.Add(1)
	return true
}

// originOf is where a site's objects come from.
func (e *Edge) originOf(site *Site) Origin {
	switch {
	case site.upstream != nil:
		return e.upstream
	case site.origin != nil:
		return site.origin
	}
	return e.origin
}
