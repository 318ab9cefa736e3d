package edge

import (
	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/purge"
)

// The edge is the purge bus's Target: it turns purge items, which name
// buckets (the store's writes) or hosts and URL paths (the purge API),
// into purges of its sites' cache entries.
var _ purge.Target = (*Edge)(nil)

// Apply invalidates what m names. A write at the origin purges the object
// on every site serving its bucket, except sites in ttl mode, whose
// contract is staleness up to the TTL; a purge API call purges whatever
// it names, in any mode.
func (e *Edge) Apply(m *purge.Message) {
	scope := e.scopeOf(m.Scope)
	for _, it := range m.Items {
		switch it.Kind {
		case purge.KindObject, purge.KindBucket:
			for _, site := range e.sites.byBucket[it.Bucket] {
				if m.Role == purge.RoleOrigin && !site.hearsOriginPurges() {
					continue
				}
				if it.Kind == purge.KindObject {
					e.cache.Purge(cache.Selector{Kind: cache.ByKey, Bucket: site.cacheID, Value: it.Key, Generation: it.Generation, Soft: m.Soft})
				} else {
					e.purgeSite(site, m.Soft)
				}
			}
		case purge.KindURL:
			if site := e.sites.byHost[it.Host]; site != nil {
				if obj, ok := objectOfPath(site, it.Key); ok {
					e.cache.Purge(cache.Selector{Kind: cache.ByKey, Bucket: site.cacheID, Value: obj, Soft: m.Soft})
				} else {
					e.purgeSite(site, m.Soft) // undecodable: err towards a miss
				}
			}
		case purge.KindPrefix:
			if site := e.sites.byHost[it.Host]; site != nil {
				prefix, ok := objectOfPath(site, it.Key)
				if !ok {
					prefix = ""
				}
				e.cache.Purge(cache.Selector{Kind: cache.ByPrefix, Bucket: site.cacheID, Value: prefix, Soft: m.Soft})
			}
		case purge.KindHost:
			if site := e.sites.byHost[it.Host]; site != nil {
				e.purgeSite(site, m.Soft)
			}
		case purge.KindTag:
			if scope == nil {
				e.cache.Purge(cache.Selector{Kind: cache.ByTag, Value: it.Key, Soft: m.Soft})
			}
			for _, site := range scope {
				e.cache.Purge(cache.Selector{Kind: cache.ByTag, Bucket: site.cacheID, Value: it.Key, Soft: m.Soft})
			}
		case purge.KindEverything:
			if scope == nil {
				e.cache.Purge(cache.Selector{Kind: cache.All, Soft: m.Soft})
			}
			for _, site := range scope {
				e.purgeSite(site, m.Soft)
			}
		}
	}
}

// purgeSite invalidates every entry of a site, whatever host it was
// requested under.
func (e *Edge) purgeSite(site *Site, soft bool) {
	e.cache.Purge(cache.Selector{Kind: cache.ByPrefix, Bucket: site.cacheID, Value: "", Soft: soft})
}

// scopeOf returns the sites a scoped purge may touch (nil: no scope).
func (e *Edge) scopeOf(hosts []string) []*Site {
	if len(hosts) == 0 {
		return nil
	}
	out := []*Site{}
	for _, h := range hosts {
		if site := e.sites.byHost[h]; site != nil && !containsSite(out, site) {
			out = append(out, site)
		}
	}
	return out
}

func containsSite(list []*Site, s *Site) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Flush invalidates every entry in O(1) (a new cache epoch).
func (e *Edge) Flush() { e.cache.Flush() }

// SetDegraded turns degraded mode on or off: while on, hits of purge-mode
// sites are revalidated with the origin, since a purge may be missed.
func (e *Edge) SetDegraded(on bool) { e.degraded.Store(on) }

// ApplyEvent applies a committed write of the embedded store at once. The
// all-in-one calls it from the store's EventSink, before the write is
// acknowledged, so a client reads its own writes; the bus carries the same
// event to other edges.
func (e *Edge) ApplyEvent(ev origin.Event) {
	it := purge.Item{Kind: purge.KindBucket, Bucket: ev.Bucket}
	if ev.Op == origin.OpPut || ev.Op == origin.OpDelete {
		it = purge.Item{Kind: purge.KindObject, Bucket: ev.Bucket, Key: ev.Key, Generation: ev.Generation}
	}
	e.Apply(&purge.Message{Role: purge.RoleOrigin, Items: []purge.Item{it}})
}

// ServesHost reports whether a host (lower case, no port) is one of the
// sites': the purge API refuses others.
func (e *Edge) ServesHost(host string) bool { return e.sites.byHost[host] != nil }

// NeedsPurges reports whether a site relies on the origin's write purges
// (consistency purge): such an edge needs a bus that carries them.
func (e *Edge) NeedsPurges() bool {
	for _, s := range e.sites.all {
		if f := s.policyFile(); s.Bucket != "" && (s.Consistency == ConsistencyPurge || f != nil && f.SetsConsistency(string(ConsistencyPurge))) {
			return true
		}
	}
	return false
}
