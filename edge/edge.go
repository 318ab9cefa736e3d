package edge

import (
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/singleflight"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/origin"
)

// Config configures an Edge.
type Config struct {
	Sites []Site
	// CacheBytes is the memory for cached entries (default 512 MiB).
	CacheBytes int64
	// MaxObjectSize: larger responses stream through uncached (default 16 MiB).
	MaxObjectSize int64
	// FetchTimeout bounds one origin request of a fill (default 30 s).
	FetchTimeout time.Duration
	// Logger gets errors, and the access log when AccessLogEvery > 0.
	Logger *zap.Logger
	// AccessLogEvery logs one request in N (0: no access log).
	AccessLogEvery uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Origin is where fills come from: the embedded store (Store, with Seq for
// the fences of negative fills) or an S3-compatible endpoint (URL).
type Origin struct {
	Store origin.Store
	Seq   Sequencer
	URL   *url.URL
}

// Edge serves the configured sites.
type Edge struct {
	cfg    Config
	sites  *sites
	cache  *cache.Cache
	store  fetcher // bucket sites
	direct fetcher // upstream sites
	fills  singleflight.Group
	// refreshing marks keys with a background revalidation running.
	refreshing syncSet
	vary       varyNames
	// tooBig remembers keys of objects over MaxObjectSize (key → when),
	// at most maxTooBig of them (tooBigN).
	tooBig  sync.Map
	tooBigN atomic.Int64
	log     *zap.Logger
	stats   stats
	reqs    atomic.Uint64
	// degraded: the purge bus cannot vouch that no purge is missed, so
	// hits of purge-mode sites are revalidated (purge.go).
	degraded atomic.Bool
}

// New builds an edge for the sites, filling from o.
func New(cfg Config, o Origin) (*Edge, error) {
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 512 << 20
	}
	if cfg.MaxObjectSize <= 0 {
		cfg.MaxObjectSize = 16 << 20
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
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
	e := &Edge{cfg: cfg, sites: s, cache: c, log: cfg.Logger}
	hf := newHTTPFetcher(o.URL, cfg.FetchTimeout)
	e.direct = hf
	switch {
	case o.Store != nil:
		e.store = &storeFetcher{store: o.Store, seq: o.Seq}
	case o.URL != nil:
		e.store = hf
	default:
		for _, site := range cfg.Sites {
			if site.Bucket != "" {
				c.Close()
				return nil, errors.New("edge: bucket sites need an origin store or an S3 endpoint URL")
			}
		}
	}
	return e, nil
}

// Cache is the edge's cache, for the purge bus and the admin API.
func (e *Edge) Cache() *cache.Cache { return e.cache }

// Close releases the cache.
func (e *Edge) Close() { e.cache.Close() }

func (e *Edge) fetcherFor(site *Site) fetcher {
	if site.upstream != nil {
		return e.direct
	}
	return e.store
}
