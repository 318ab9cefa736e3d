package edge

import (
	"cmp"
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

// outcome is what one fill came to, and so who may be given its answer.
type outcome int

const (
	// shared: a response a cache could store and reuse fresh; the
	// leader and the waiters of its variant are given it.
	shared outcome = iota
	// ownAnswer: a response for the leader alone: not storable (private,
	// Set-Cookie, an uncacheable error…) or not reusable without asking
	// the origin. Only a response that could be stored and reused fresh
	// may answer another request (RFC 9111 §4): anything else would let an
	// attacker's request choose what its victims get.
	ownAnswer
	// purgedDuring: a purge of the object landed while the fill ran, so
	// the response is not stored; a waiter may have arrived after the
	// purge and must not get it.
	purgedDuring
	// tooBig: over MaxObjectSize; every request streams its own copy.
	tooBig
	// failed: the origin could not be used (unreachable, too slow, a
	// body cut short, a 5xx while a stale entry may be served instead).
	failed
)

// fillResult is what one coalesced origin fetch gives every waiter.
type fillResult struct {
	outcome outcome
	entry   *cache.Entry // the response (shared, ownAnswer, purgedDuring)
	// own, when set, is the response as the leader gets it: with the
	// fields entry may not keep for others.
	own *cache.Entry
	// status is the leader's Cache-Status: stored or not, revalidated.
	status cacheStatus
	// vary holds, for each field the response varies by, the value the
	// fill sent: a waiter that sent another value is another variant.
	vary map[string]string
	err  *failure // failed
	// sent is when the origin request was sent (zero if none was): a
	// waiter that arrived later may not count on it seeing every write
	// acknowledged before it arrived.
	sent time.Time
}

// fillAndServe makes (or joins) the one origin request for key and serves
// its result. The fetch runs on its own context and timeout: a client that
// gives up neither cancels it nor fails the other waiters.
func (e *Edge) fillAndServe(ctx *fasthttp.RequestCtx, site *Site, key, primary string, path []byte, stale *cache.Entry, again bool) {
	req := e.newFillRequest(ctx, site, primary, path, stale)
	req.interim = interimRelay(ctx) // used if this request leads the fill
	arrived := time.Now()
	leader := false
	var res *fillResult
	for joined := 0; ; joined++ {
		ch := e.fills.DoChan(key, func() (any, error) {
			leader = true
			return e.fill(site, key, req, stale), nil
		})
		if joined == 0 {
			e.stats.fillRequests.Add(1)
		}
		res = (<-ch).Val.(*fillResult)
		// A fill whose origin request was sent before this request arrived
		// may predate a write acknowledged in between, whose purge has
		// not reached this edge yet. Where every read is confirmed with
		// the origin, that answer will not do: the next fill (which began
		// after this one ended, so after this request arrived) will. Only
		// a shared answer: the others are not served from the fill.
		if leader || joined > 0 || res.outcome != shared || !res.sent.Before(arrived) || !e.confirmsEveryRead(site, cmp.Or(res.entry, stale)) {
			break
		}
		e.stats.rejoins.Add(1)
	}
	switch {
	case res.outcome == failed:
		if stale != nil && stale.WithinStaleIfError(e.cfg.Now()) {
			e.stats.staleIfError.Add(1) // counted a miss already
			e.serveOrForward(ctx, site, path, stale, e.cfg.Now(), statusStaleIfError)
			return
		}
		f := res.err
		if !leader {
			waiter := *f
			waiter.cause = nil // logged once, by the leader
			f = &waiter
		}
		e.fail(ctx, f)
	case res.outcome == tooBig:
		e.rememberTooBig(key, e.cfg.Now())
		e.streamThrough(ctx, site, path, "too-big")
	case leader:
		e.serveOrForward(ctx, site, path, cmp.Or(res.own, res.entry), e.cfg.Now(), res.status)
	case res.outcome == purgedDuring:
		e.streamThrough(ctx, site, path, "purged-during-fill")
	case res.outcome == ownAnswer:
		e.streamThrough(ctx, site, path, "not-shareable")
	case !res.sameVariant(site, &ctx.Request.Header):
		// Another variant: now that its Vary is known, this waiter's own
		// variant may be cached, or collapse with others like it.
		if !again {
			e.lookup(ctx, site, true)
			return
		}
		e.streamThrough(ctx, site, path, "vary-mismatch")
	default:
		e.stats.collapsed.Add(1)
		e.serveOrForward(ctx, site, path, res.entry, e.cfg.Now(), res.status|collapsed)
	}
}

// newFetchRequest describes the origin request for ctx; own marks one
// served to this client alone, which carries its conditionals and Range.
// vary names the fields the response is known to vary by.
func (e *Edge) newFetchRequest(ctx *fasthttp.RequestCtx, site *Site, path []byte, vary []string, own bool) *fetchRequest {
	req := &fetchRequest{Site: site, Path: string(path), Query: string(requestQuery(ctx)), Method: http.MethodGet}
	if site.upstream == nil {
		req.Key, _ = objectOfPath(site, req.Path) // undecodable: "", which the store answers 404
	}
	if own && ctx.IsHead() {
		req.Method = http.MethodHead
	}
	req.Header = originHeader(ctx, site, vary, own)
	return req
}

// newFillRequest is the origin request of a fill for ctx: the whole
// representation, conditional on the stale entry's validators when there
// is one.
func (e *Edge) newFillRequest(ctx *fasthttp.RequestCtx, site *Site, primary string, path []byte, stale *cache.Entry) *fetchRequest {
	req := e.newFetchRequest(ctx, site, path, e.varyOf([]byte(primary)), false)
	req.Primary = primary
	req.revalidating(stale)
	return req
}

// fill fetches from the origin and stores what may be stored. It runs once
// per key at a time, under the fetch timeout.
func (e *Edge) fill(site *Site, key string, req *fetchRequest, stale *cache.Entry) (res *fillResult) {
	if !e.startWork() {
		return &fillResult{outcome: failed, err: errClosing}
	}
	defer e.work.Done()
	// A fill runs on singleflight's goroutine, out of reach of the
	// handler's recover: a panic here would end the process.
	defer func() {
		if p := recover(); p != nil {
			e.stats.panics.Add(1)
			e.log.Error("panic in fill", zap.String("key", key), zap.Any("panic", p), zap.Stack("stack"))
			res = &fillResult{outcome: failed, err: &failure{status: fasthttp.StatusBadGateway, detail: "fill-panicked", cause: fmt.Errorf("%v", p)}}
		}
	}()
	if stale == nil {
		// A fill of the key may have stored it between this request's
		// miss and its joining: the entry is the answer, as a hit.
		if entry, soft, ok := e.cache.Lookup(key); ok && !soft && entry.Status != http.StatusPartialContent && e.usable(site, entry, e.cfg.Now()) {
			return &fillResult{outcome: shared, entry: entry, status: statusHit}
		}
	}
	ow := e.newOriginWait() // each wait for the origin, not the fill, is bounded
	defer ow.done()
	e.stats.originFetches.Add(1)
	fence := e.cache.Begin(site.cacheID, objectOf(site, req))
	requestedAt := e.cfg.Now()
	sent := time.Now()
	defer func() {
		if res != nil {
			res.sent = sent
		}
	}()
	resp, err := e.originOf(site).fetch(ow.ctx, req)
	err = ow.headed(resp, err)
	e.observeOrigin(sent, err)
	if err != nil {
		return &fillResult{outcome: failed, err: requestFailure(err)}
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	if resp.Status >= 500 && stale != nil && stale.WithinStaleIfError(e.cfg.Now()) {
		// An origin error, and stale-if-error has something better.
		return &fillResult{outcome: failed, err: originFailure("origin-error", fmt.Errorf("status %d", resp.Status))}
	}
	if resp.Status == http.StatusNotModified && stale != nil {
		entry, storable := e.refreshed(site, key, req, stale, resp, requestedAt)
		return e.keep(fence, entry, storable, statusRevalidated, nil)
	}
	if resp.Size > e.cfg.MaxObjectSize {
		return &fillResult{outcome: tooBig}
	}
	var body []byte
	if resp.Body != nil {
		body, err = io.ReadAll(io.LimitReader(ow.body(resp.Body), e.cfg.MaxObjectSize+1))
		if err != nil {
			return &fillResult{outcome: failed, err: originFailure("origin-body-cut", err)}
		}
		if int64(len(body)) > e.cfg.MaxObjectSize {
			return &fillResult{outcome: tooBig}
		}
	}
	if resp.Status == http.StatusNotFound && len(body) == 0 {
		body = []byte("404 Not Found\n")
		resp.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}
	d := e.decide(site, req, policy.Response{
		Status: resp.Status, Header: resp.Header, RequestedAt: requestedAt, ReceivedAt: e.cfg.Now(),
	})
	if d.maxObjectSize > 0 && int64(len(body)) > d.maxObjectSize {
		return &fillResult{outcome: tooBig}
	}
	entry := e.newEntry(site, key, req, resp, body, d, requestedAt)
	if !d.Store {
		metaOf(entry).detail = d.Reason
		return &fillResult{outcome: ownAnswer, entry: entry, status: statusMissNotStored}
	}
	if resp.Status == http.StatusPartialContent {
		return e.keepPart(fence, site, key, req, entry, resp, body, d, requestedAt)
	}
	var own *cache.Entry
	if len(d.DropHeaders) > 0 {
		// The fields the cache may not serve again (no-cache="…",
		// Set-Cookie) still reach the client whose request fetched them.
		full := d
		full.DropHeaders = nil
		own = e.newEntry(site, key, req, resp, body, full, requestedAt)
	}
	vary := sentValues(req.Header, d.Vary)
	if len(d.Vary) > 0 {
		if !slices.Equal(e.varyOf([]byte(req.Primary)), d.Vary) {
			e.learnVary(req.Primary, d.Vary) // later requests are keyed by their values
		}
		// Stored under the values this fill sent, which are not always the
		// request's: a field its Connection names is not sent.
		entry.Key = string(appendVaryValues([]byte(req.Primary), d.Vary, vary))
	}
	res = e.keep(fence, entry, true, statusMissStored, vary)
	if own != nil {
		metaOf(own).detail = metaOf(entry).detail
		res.own = own
	}
	return res
}

// keepPart stores a 206: as the range it holds, combined with a range of
// the same representation already stored (partial.go). Its answer is the
// leader's alone: a waiter asked for the whole, or for another range.
func (e *Edge) keepPart(fence cache.Fence, site *Site, key string, req *fetchRequest, entry *cache.Entry, resp *originResponse, body []byte, d decision, requestedAt time.Time) *fillResult {
	p, ok := partOf(resp, body)
	if !ok || len(d.Vary) > 0 {
		metaOf(entry).detail = "partial-unusable"
		return &fillResult{outcome: ownAnswer, entry: entry, status: statusMissNotStored}
	}
	d.DropHeaders = append(slices.Clone(d.DropHeaders), "Content-Range") // rebuilt for each answer
	entry = e.newEntry(site, key, req, resp, body, d, requestedAt)
	metaOf(entry).part = &p
	if stored, found := e.cache.Get(entry.Key); found {
		combine(entry, stored, e.cfg.MaxObjectSize)
	}
	res := e.keep(fence, entry, true, statusMissStored, nil)
	if res.outcome == shared {
		res.outcome = ownAnswer
	}
	return res
}

// keep stores a storable entry and says who may be given it. status is
// what the leader is told when it is stored: a miss or a revalidation.
func (e *Edge) keep(fence cache.Fence, entry *cache.Entry, storable bool, status cacheStatus, vary map[string]string) *fillResult {
	notStored := statusMissNotStored
	if status == statusRevalidated {
		notStored = statusRevalidatedNotStored
	}
	if !storable { // the reason is the entry's detail
		return &fillResult{outcome: ownAnswer, entry: entry, status: notStored}
	}
	if !e.cache.Set(fence, entry) {
		metaOf(entry).detail = "purged-during-fill"
		return &fillResult{outcome: purgedDuring, entry: entry, status: notStored}
	}
	if !e.reusable(entry) {
		return &fillResult{outcome: ownAnswer, entry: entry, status: status}
	}
	return &fillResult{outcome: shared, entry: entry, status: status, vary: vary}
}

// reusable: a response just received may answer other requests only if a
// cache could reuse it without asking the origin: fresh, and not no-cache.
func (e *Edge) reusable(entry *cache.Entry) bool {
	return !entry.NoCache && entry.Fresh(e.cfg.Now())
}

// sentValues are the values a fill sent of the fields a response varies
// by ("" for a field it did not send).
func sentValues(sent http.Header, names []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = strings.Join(sent.Values(n), ", ")
	}
	return out
}

// sameVariant reports whether a waiter's request selects the fill's
// response: it sends the same value of every field the response varies by.
func (r *fillResult) sameVariant(site *Site, h *fasthttp.RequestHeader) bool {
	for name, v := range r.vary {
		if variantValue(site, name, h) != v {
			return false
		}
	}
	return true
}

// storedHeaderSkip are response headers the cache never keeps: hop-by-hop,
// per-response (Date, Age: recomputed), and Surrogate-Control, which is
// meant for surrogates alone. CDN-Cache-Control goes downstream (RFC 9213
// §2.2 lets a CDN further down act on it) unless the site hides it.
var storedHeaderSkip = map[string]bool{
	"Date": true, "Age": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Content-Length": true, "Surrogate-Control": true, "Server": true,
	"X-Amz-Request-Id": true, "X-Amz-Id-2": true, // an S3 origin's, per request
}

// newEntry turns an origin response into an immutable cache entry.
func (e *Edge) newEntry(site *Site, key string, req *fetchRequest, resp *originResponse, body []byte, d decision, requestedAt time.Time) *cache.Entry {
	drop := map[string]bool{}
	for _, h := range d.DropHeaders {
		drop[http.CanonicalHeaderKey(h)] = true
	}
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		if !storedHeaderSkip[name] && !drop[name] && !site.hidden(name) {
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
	originAge, ageSent := originAge(resp.Header)
	stored := new(storedEntry)
	meta := &stored.meta
	*meta = entryMeta{pairs: make([][2][]byte, len(spans)), ageSent: ageSent, rule: d.rule, consistency: d.consistency}
	if d.browserCC != "" {
		meta.browserCC = []byte(d.browserCC)
	}
	for i, s := range spans {
		meta.pairs[i] = [2][]byte{raw[s.k0:s.k1:s.k1], raw[s.v0:s.v1:s.v1]}
	}
	// The response keeps the Date it was generated at (RFC 9110 §6.6.1):
	// the origin's, or the time it arrived when the origin sent none.
	var ok bool
	if meta.date, ok = policy.ParseHTTPDate(resp.Header.Get("Date")); !ok {
		meta.date = e.cfg.Now().UTC().Truncate(time.Second)
	}
	if e.readTemplate(&stored.tmpl, meta.pairs, meta.date) {
		meta.tmpl = &stored.tmpl
	}
	stored.entry = cache.Entry{
		Key: key, Bucket: site.cacheID, Object: objectOf(site, req), Host: site.Hosts[0],
		Tags: appendNew(resp.Tags, d.tags), Status: resp.Status, Header: raw, Body: body,
		ETag: resp.ETag, LastModified: resp.LastMod, Generation: resp.Generation,
		Negative: resp.Status == http.StatusNotFound || resp.Status == http.StatusGone,
		StoredAt: e.cfg.Now(), InitialAge: max(d.InitialAge, originAge), FreshFor: d.Lifetime,
		StaleWhileRevalidate: d.StaleWhileRevalidate, StaleIfError: d.StaleIfError,
		MustRevalidate: d.MustRevalidate, NoCache: d.NoCache, Meta: meta,
	}
	return &stored.entry
}

// storedEntry is a new entry with its meta and header template in one
// allocation: a hit reads all three, and adjacent they cost fewer cache
// misses than three objects apart.
type storedEntry struct {
	entry cache.Entry
	meta  entryMeta
	tmpl  fasthttp.ResponseHeader
}

// originAge is the origin's Age, when it sent a valid one (RFC 9111 §5.1:
// the first member of the first line, a non-negative integer). A stored
// entry's initial age (policy's, transit time included) is at least it;
// a response not stored passes it on.
func originAge(h http.Header) (time.Duration, bool) {
	v, _, _ := strings.Cut(h.Get("Age"), ",")
	n, ok := digits([]byte(strings.TrimSpace(v)))
	if !ok {
		return 0, false
	}
	return time.Duration(min(n, 1<<31)) * time.Second, true
}

// appendNew is tags with the new ones added, in a new slice.
func appendNew(tags, more []string) []string {
	if len(more) == 0 {
		return tags
	}
	out := slices.Clone(tags)
	for _, t := range more {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
