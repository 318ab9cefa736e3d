package edge

import (
	"cmp"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/policy"
)

// refreshed is a stale entry confirmed by a 304: the same body with the
// freshness the new headers give (RFC 9111 §4.3.4).
func (e *Edge) refreshed(site *Site, key string, req *fetchRequest, stale *cache.Entry, resp *originResponse, requestedAt time.Time) (*cache.Entry, bool) {
	h := http.Header{}
	for _, p := range metaOf(stale).pairs {
		h.Add(string(p[0]), string(p[1]))
	}
	for name, vs := range resp.Header {
		if !storedHeaderSkip[name] {
			h[name] = vs // the 304's fields replace the stored ones (§4.3.4)
		}
	}
	d := e.decide(site, req, policy.Response{
		Status: stale.Status, Header: h, RequestedAt: requestedAt, ReceivedAt: e.cfg.Now(),
	})
	// The 304's validators, when it sends them, are the ones the client
	// is shown (they replaced the stored fields above).
	merged := &originResponse{
		Status: stale.Status, Header: h, Generation: max(stale.Generation, resp.Generation),
		ETag: cmp.Or(resp.ETag, stale.ETag), LastMod: stale.LastModified, Tags: stale.Tags,
	}
	if !resp.LastMod.IsZero() {
		merged.LastMod = resp.LastMod
	}
	entry := e.newEntry(site, key, req, merged, stale.Body, d, requestedAt)
	if !d.Store {
		metaOf(entry).detail = d.Reason
	}
	return entry, d.Store
}

// refreshInBackground revalidates a stale entry once per key while the
// stale copy is being served (stale-while-revalidate).
func (e *Edge) refreshInBackground(site *Site, key, primary string, path []byte, ctx *fasthttp.RequestCtx, stale *cache.Entry) {
	if !e.refreshing.add(key) {
		return
	}
	if !e.startWork() {
		e.refreshing.remove(key)
		return
	}
	req := e.newFillRequest(ctx, site, primary, path, stale)
	go func() {
		defer e.work.Done()
		defer e.refreshing.remove(key)
		e.stats.backgroundRefreshes.Add(1)
		e.fills.Do(key, func() (any, error) { return e.fill(site, key, req, stale), nil })
	}()
}

// syncSet is a set of keys safe for concurrent use.
type syncSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (s *syncSet) add(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]bool)
	}
	if s.m[k] {
		return false
	}
	s.m[k] = true
	return true
}

func (s *syncSet) remove(k string) {
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}
