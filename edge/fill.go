package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/policy"
)

// fillResult is what one coalesced origin fetch gives every waiter.
type fillResult struct {
	entry *cache.Entry // the response, stored or not
	// stored says the entry went into the cache.
	stored bool
	// revalidated says the origin confirmed a stale entry (304).
	revalidated bool
	// shareable says waiters may be served this response: only a response
	// that could be stored and reused fresh may answer another request
	// (RFC 9111 §4). Anything else — private, Set-Cookie, an uncacheable
	// error, no freshness — is the leader's alone, or an attacker's
	// request could choose what its victims get.
	shareable bool
	// vary holds, for each field the response varies by, the value the
	// fill sent: a waiter that sent another value is another variant.
	vary map[string]string
	// tooBig: the object streams through; each waiter fetches it itself.
	tooBig bool
	// purged: a purge of the object landed during the fill.
	purged bool
	err    error
}

// fillAndServe makes (or joins) the one origin request for key and serves
// its result. The fetch runs on its own context and timeout: a client that
// gives up neither cancels it nor fails the other waiters.
func (e *Edge) fillAndServe(ctx *fasthttp.RequestCtx, site *Site, key, primary string, path []byte, stale *cache.Entry, now time.Time, again bool) {
	req := newFetchRequest(ctx, site, path)
	req.Primary = primary
	req.Header = forwardHeaders(site, e.varyOf([]byte(primary)), &ctx.Request.Header)
	if stale != nil && stale.ETag != "" {
		req.IfNoneMatch = `"` + stale.ETag + `"`
	}
	leader := false
	ch := e.fills.DoChan(key, func() (any, error) {
		leader = true
		return e.fill(site, key, req, stale), nil
	})
	e.stats.fillRequests.Add(1)
	res := (<-ch).Val.(*fillResult)
	if res.purged && !leader {
		// A purge landed while the fill ran: this waiter may have arrived
		// after it, so it must not get the old version: it fetches its own.
		e.streamThrough(ctx, req, "purged-during-fill")
		return
	}
	var joined cacheStatus
	if !leader {
		joined = collapsed
	}
	switch {
	case res.err != nil:
		if stale != nil && stale.WithinStaleIfError(e.cfg.Now()) {
			e.stats.staleIfError.Add(1)
			e.serveEntry(ctx, stale, e.cfg.Now(), statusStaleIfError)
			return
		}
		e.log.Warn("origin fetch failed", zap.String("key", key), zap.Error(res.err))
		if errors.Is(res.err, context.DeadlineExceeded) {
			ctx.Error("Gateway Timeout", fasthttp.StatusGatewayTimeout)
		} else {
			ctx.Error("Bad Gateway", fasthttp.StatusBadGateway)
		}
	case res.tooBig:
		e.rememberTooBig(key, e.cfg.Now())
		e.streamThrough(ctx, req, "too-big")
	case !leader && res.shareable && !res.sameVariant(&ctx.Request.Header):
		// Another variant: now that its Vary is known, this waiter's own
		// variant may be cached, or collapse with others like it.
		if !again {
			e.lookup(ctx, site, true)
			return
		}
		e.streamThrough(ctx, req, "vary-mismatch")
	case !leader && !res.shareable:
		// Not for sharing: fetch this waiter's own copy.
		e.streamThrough(ctx, req, "not-shareable")
	case res.revalidated:
		e.serveEntry(ctx, res.entry, e.cfg.Now(), statusRevalidated|joined)
	case res.stored:
		e.serveEntry(ctx, res.entry, e.cfg.Now(), statusMissStored|joined)
	default:
		e.serveEntry(ctx, res.entry, e.cfg.Now(), statusMissNotStored|joined)
	}
}

// newFetchRequest describes the origin request for ctx.
func newFetchRequest(ctx *fasthttp.RequestCtx, site *Site, path []byte) *fetchRequest {
	req := &fetchRequest{Site: site, Path: string(path), Query: string(requestQuery(ctx))}
	if site.upstream == nil {
		key, err := unescape(req.Path)
		if err != nil {
			key = "" // undecodable: the store answers 404
		}
		req.Key = strings.TrimPrefix(key, "/")
	}
	return req
}

// fill fetches from the origin and stores what may be stored. It runs once
// per key at a time, under the fetch timeout.
func (e *Edge) fill(site *Site, key string, req *fetchRequest, stale *cache.Entry) (res *fillResult) {
	// A fill runs on singleflight's goroutine, out of reach of the
	// handler's recover: a panic here would end the process.
	defer func() {
		if p := recover(); p != nil {
			e.stats.panics.Add(1)
			e.log.Error("panic in fill", zap.String("key", key), zap.Any("panic", p), zap.Stack("stack"))
			res = &fillResult{err: fmt.Errorf("fill panicked: %v", p)}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.FetchTimeout)
	defer cancel()
	e.stats.originFetches.Add(1)
	fence := e.cache.Begin(site.cacheID, objectOf(site, req))
	requestedAt := e.cfg.Now()
	resp, err := e.originOf(site).fetch(ctx, req)
	if err != nil {
		return &fillResult{err: err}
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	if resp.Status >= 500 {
		// An origin error: stale-if-error may serve something better.
		if stale != nil && stale.WithinStaleIfError(e.cfg.Now()) {
			return &fillResult{err: errOriginDown}
		}
	}
	if resp.Status == http.StatusNotModified && stale != nil {
		entry, storable := e.refreshed(site, key, req, stale, resp, requestedAt)
		stored := storable && e.cache.Set(fence, entry)
		return &fillResult{entry: entry, stored: stored, revalidated: true, shareable: storable && e.reusable(entry)}
	}
	if resp.Size > e.cfg.MaxObjectSize {
		return &fillResult{tooBig: true, shareable: true}
	}
	var body []byte
	if resp.Body != nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, e.cfg.MaxObjectSize+1))
		if err != nil {
			return &fillResult{err: errors.Join(errOriginDown, err)}
		}
		if int64(len(body)) > e.cfg.MaxObjectSize {
			return &fillResult{tooBig: true, shareable: true}
		}
	}
	if resp.Status == http.StatusNotFound && len(body) == 0 {
		body = []byte("404 Not Found\n")
		resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	d := site.Policy.Decide(policy.Request{Method: http.MethodGet}, policy.Response{
		Status: resp.Status, Header: resp.Header, RequestedAt: requestedAt, ReceivedAt: e.cfg.Now(),
	})
	entry := e.newEntry(site, key, req, resp, body, d, requestedAt)
	if !d.Store {
		metaOf(entry).detail = d.Reason
		return &fillResult{entry: entry}
	}
	out := &fillResult{entry: entry, shareable: e.reusable(entry), vary: sentValues(req.Header, d.Vary)}
	if len(d.Vary) > 0 && !slices.Equal(e.varyOf([]byte(req.Primary)), d.Vary) {
		// First sight of these Vary names for the URI: later requests are
		// keyed by their values, and this response is stored under the
		// values this fill sent.
		e.learnVary(req.Primary, d.Vary)
		entry.Key = string(appendVaryValues([]byte(req.Primary), d.Vary, out.vary))
	}
	out.stored = e.cache.Set(fence, entry)
	if !out.stored {
		metaOf(entry).detail = "purged-during-fill"
		out.purged = true
	}
	return out
}

// reusable: a response just received may answer other requests only if a
// cache could reuse it without asking the origin: fresh, and not no-cache.
func (e *Edge) reusable(entry *cache.Entry) bool {
	return !entry.NoCache && entry.Fresh(e.cfg.Now())
}

// sentValues are the values a fill sent of the fields a response varies
// by ("" for a field it did not send).
func sentValues(sent map[string]string, names []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		for k, v := range sent {
			if strings.EqualFold(k, n) {
				out[n] = v
			}
		}
	}
	return out
}

// sameVariant reports whether a waiter's request selects the fill's
// response: it sent the same value of every field the response varies by.
func (r *fillResult) sameVariant(h *fasthttp.RequestHeader) bool {
	for name, v := range r.vary {
		if string(h.Peek(name)) != v {
			return false
		}
	}
	return true
}

// storedHeaderSkip are response headers the cache never keeps: hop-by-hop,
// per-response (Date, Age: recomputed), and targeted cache controls meant
// for us (RFC 9213: consumed by the targeted cache).
var storedHeaderSkip = map[string]bool{
	"Date": true, "Age": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Content-Length": true, "Surrogate-Control": true, "Cdn-Cache-Control": true, "Server": true,
}

// newEntry turns an origin response into an immutable cache entry.
func (e *Edge) newEntry(site *Site, key string, req *fetchRequest, resp *originResponse, body []byte, d policy.Decision, requestedAt time.Time) *cache.Entry {
	drop := map[string]bool{}
	for _, h := range d.DropHeaders {
		drop[http.CanonicalHeaderKey(h)] = true
	}
	if d.Store && !site.Policy.AllowSetCookie {
		// A stored response never carries another client's cookie; one
		// that is not stored is the requesting client's alone, cookie
		// included.
		drop["Set-Cookie"] = true
	}
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		if !storedHeaderSkip[name] && !drop[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var raw []byte
	type span struct{ k0, k1, v0, v1 int }
	var spans []span
	for _, name := range names {
		values := resp.Header[name]
		if name != "Set-Cookie" {
			// Field lines of one name combine into one value (RFC 9110 §5.3):
			// the response writer sets, so a second line would replace the first.
			values = []string{strings.Join(values, ", ")}
		}
		for _, v := range values {
			k0 := len(raw)
			raw = append(raw, name...)
			v0 := len(raw)
			raw = append(raw, v...)
			spans = append(spans, span{k0, v0, v0, len(raw)})
		}
	}
	meta := &entryMeta{pairs: make([][2][]byte, len(spans))}
	for i, s := range spans {
		meta.pairs[i] = [2][]byte{raw[s.k0:s.k1:s.k1], raw[s.v0:s.v1:s.v1]}
	}
	return &cache.Entry{
		Key: key, Bucket: site.cacheID, Object: objectOf(site, req), Host: site.Hosts[0],
		Tags: resp.Tags, Status: resp.Status, Header: raw, Body: body,
		ETag: resp.ETag, LastModified: resp.LastMod, Generation: resp.Generation,
		Negative: resp.Status == http.StatusNotFound || resp.Status == http.StatusGone,
		StoredAt: e.cfg.Now(), InitialAge: d.InitialAge, FreshFor: d.Lifetime,
		StaleWhileRevalidate: d.StaleWhileRevalidate, StaleIfError: d.StaleIfError,
		MustRevalidate: d.MustRevalidate, NoCache: d.NoCache, Meta: meta,
	}
}
