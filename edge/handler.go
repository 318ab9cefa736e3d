package edge

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
	"go.uber.org/zap"

	"github.com/edgecdn/edge/cache"
)

// ServeFastHTTP serves one request. It is the only recover point: a panic
// below it answers 500, is logged and counted, and keeps the process up.
func (e *Edge) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	defer func() {
		if p := recover(); p != nil {
			e.stats.panics.Add(1)
			e.log.Error("panic serving request", zap.Any("panic", p), zap.ByteString("uri", ctx.RequestURI()), zap.Stack("stack"))
			ctx.Response.Reset()
			e.fail(ctx, &failure{status: fasthttp.StatusInternalServerError, detail: "panic", close: true})
		}
	}()
	if e.seed.Load() == nil {
		seed := new(fasthttp.ResponseHeader)
		ctx.Response.Header.CopyTo(seed)
		e.seed.CompareAndSwap(nil, seed)
	}
	if site := e.serve(ctx); site != nil {
		if site.HSTS != "" && ctx.IsTLS() {
			ctx.Response.Header.Set("Strict-Transport-Security", site.HSTS)
		}
		site.metrics.count(ctx)
	}
	// A random draw samples the access log: a shared request counter
	// would be a cache line every core writes on every request.
	if every := e.cfg.AccessLogEvery; every > 0 && (every == 1 || rand.Uint64N(every) == 0) {
		e.accessLog(ctx)
	}
}

// accessLog logs one request: the id the client gave (X-Request-Id) or
// the server's own, who asked what, and what it got, how fast.
func (e *Edge) accessLog(ctx *fasthttp.RequestCtx) {
	id := zap.Uint64("request_id", ctx.ID())
	if rid := ctx.Request.Header.Peek("X-Request-Id"); len(rid) > 0 {
		id = zap.ByteString("request_id", rid)
	}
	e.log.Info("request", id,
		zap.ByteString("method", ctx.Method()), zap.ByteString("host", ctx.Request.Header.Host()),
		zap.ByteString("uri", ctx.RequestURI()), zap.Int("status", ctx.Response.StatusCode()),
		zap.ByteString("cache_status", ctx.Response.Header.Peek("Cache-Status")),
		zap.Int("bytes", bodyBytes(ctx)),
		zap.Bool("tls", ctx.IsTLS()), zap.Duration("duration", time.Since(ctx.Time())))
}

// serve answers a request; the site is that of its Host (nil: none).
func (e *Edge) serve(ctx *fasthttp.RequestCtx) *Site {
	h := &ctx.Request.Header
	// Request smuggling: a message with both framings is ambiguous (RFC 9112
	// §6.3), and an obsolete folded line (§5.2) may be read as a field of
	// its own by a proxy in front — " Transfer-Encoding: chunked" — while
	// fasthttp joins it to the field above. fasthttp keeps only one
	// framing, so look at the raw header block; the answer closes the
	// connection.
	if f := framingProblem(h.RawHeaders()); f != nil {
		e.fail(ctx, f)
		return nil
	}
	site, f := e.siteOf(ctx)
	if f != nil {
		e.stats.rejected.Add(1)
		e.fail(ctx, f)
		return nil
	}
	switch {
	case redirects(ctx, site):
		e.redirectToHTTPS(ctx)
	case !h.IsGet() && !h.IsHead() && site.upstream == nil:
		e.fail(ctx, errMethod)
	case !h.IsGet() && !h.IsHead():
		e.passThrough(ctx, site)
	default:
		e.lookup(ctx, site, false)
	}
	return site
}

// siteOf validates the request target against the configured sites from
// the one value we key on, the Host header: an absolute-form target must
// name the same host, userinfo is refused, and an unknown host never
// reaches the origin.
func (e *Edge) siteOf(ctx *fasthttp.RequestCtx) (*Site, *failure) {
	host := ctx.Request.Header.Host()
	target := ctx.Request.Header.RequestURI()
	if len(target) == 0 || target[0] != '/' {
		// absolute-form: scheme://authority/path, of an http(s) URI
		i := bytes.Index(target, []byte("://"))
		if i < 0 || !(bytes.EqualFold(target[:i], []byte("http")) || bytes.EqualFold(target[:i], []byte("https"))) {
			return nil, errBadTarget
		}
		authority := target[i+3:]
		if j := bytes.IndexByte(authority, '/'); j >= 0 {
			authority = authority[:j]
		}
		if bytes.IndexByte(authority, '@') >= 0 || !bytes.EqualFold(authority, host) {
			return nil, errBadTarget
		}
	}
	if bytes.IndexByte(host, '@') >= 0 {
		return nil, errBadTarget
	}
	site := e.sites.lookup(host)
	if site == nil {
		return nil, errUnknownHost
	}
	return site, nil
}

// lookup serves a GET or HEAD from the cache, or fills. again marks the
// second look of a waiter that found the fill it joined was for another
// variant: it does not look a third time.
func (e *Edge) lookup(ctx *fasthttp.RequestCtx, site *Site, again bool) {
	now := e.requestTime(ctx)
	path := requestPath(ctx)
	kb := keyBufs.Get().(*[]byte)
	key := appendKey((*kb)[:0], site, path, keyQuery(ctx, site, path))
	key = appendNegotiationKey(key, site, &ctx.Request.Header)
	primary := len(key)
	if vary := e.varyOf(key); vary != nil {
		key = appendVary(key, site, vary, &ctx.Request.Header)
	}
	defer func() { *kb = key[:0]; keyBufs.Put(kb) }()
	entry, soft, ok := e.cache.Lookup(b2s(key))
	if ok && entry.Status == fasthttp.StatusPartialContent {
		// A stored range answers only a request for a range inside it,
		// while fresh; anything else is a miss, filled whole.
		if p := metaOf(entry).part; p == nil || soft || !e.usable(site, entry, now) {
			ok = false
		} else if _, covered := p.covers(ctx, entry); !covered {
			ok = false
		}
		if !ok {
			entry = nil
		}
	}
	if ok && !soft && e.usable(site, entry, now) {
		site.metrics.result(ctx, resultHit, again)
		e.serveOrForward(ctx, site, path, entry, now, statusHit)
		return
	}
	if ok && e.servableWhileRefreshing(site, entry, soft, now) {
		site.metrics.result(ctx, resultStale, again)
		cs := statusStaleWhileRevalidate
		if soft {
			cs = statusSoftPurged
		}
		e.serveOrForward(ctx, site, path, entry, now, cs)
		full := string(key)
		e.refreshInBackground(site, full, full[:primary], path, ctx, entry)
		return
	}
	site.metrics.result(ctx, resultMiss, again)
	full := string(key)
	if e.knownTooBig(full, now) {
		e.streamThrough(ctx, site, path, "too-big") // no fill: it would fetch twice
		return
	}
	e.fillAndServe(ctx, site, full, full[:primary], path, entry, again)
}

// requestTime is when the request arrived, on the edge's clock.
func (e *Edge) requestTime(ctx *fasthttp.RequestCtx) time.Time {
	if e.wallClock {
		if t := ctx.Time(); !t.IsZero() {
			return t
		}
	}
	return e.cfg.Now()
}

// usable: a fresh entry that needs no revalidation.
func (e *Edge) usable(site *Site, entry *cache.Entry, now time.Time) bool {
	return e.mayServeStored(site, entry) && !entry.NoCache && entry.Fresh(now)
}

// mayServeStored: an entry that needs no confirmation to be served.
func (e *Edge) mayServeStored(site *Site, entry *cache.Entry) bool {
	return !e.confirmsEveryRead(site, entry)
}

// confirmsEveryRead: a strong entry is confirmed with the origin on every
// read, and so is a purge one while the bus is degraded (a purge may be
// missed). An entry's consistency is its rule's, else its site's (nil:
// the site's).
func (e *Edge) confirmsEveryRead(site *Site, entry *cache.Entry) bool {
	c := site.Consistency
	if entry != nil {
		c = consistencyOf(site, entry)
	}
	return c == ConsistencyStrong || c == ConsistencyPurge && e.degraded.Load()
}

// servableWhileRefreshing: a stale entry within stale-while-revalidate
// (policy leaves the window zero whenever stale serving is forbidden), or
// a soft-purged one that may be served stale at all, is served while one
// background refresh runs.
func (e *Edge) servableWhileRefreshing(site *Site, entry *cache.Entry, soft bool, now time.Time) bool {
	if !e.mayServeStored(site, entry) || entry.NoCache {
		return false
	}
	if soft {
		return !entry.MustRevalidate
	}
	return entry.WithinStaleWhileRevalidate(now)
}

// framingProblem says what makes a raw header block's framing ambiguous:
// both Transfer-Encoding and Content-Length, or a folded line; nil when
// nothing does. It looks at one byte per line unless a line may start
// either name.
func framingProblem(raw []byte) *failure {
	var te, cl bool
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errFolded
		}
		switch line[0] | 0x20 { // ASCII lower case
		case 't':
			te = te || hasFieldName(line, "transfer-encoding")
		case 'c':
			cl = cl || hasFieldName(line, "content-length")
		}
	}
	if te && cl {
		return errFraming
	}
	return nil
}

func hasFieldName(line []byte, name string) bool {
	colon := bytes.IndexByte(line, ':')
	return colon >= 0 && strings.EqualFold(string(bytes.TrimSpace(line[:colon])), name)
}

// tooBigFor is how long an object seen over MaxObjectSize streams through
// without a fill being tried first.
const tooBigFor = time.Minute

func (e *Edge) rememberTooBig(key string, now time.Time) { e.tooBig.set(key, now) }

func (e *Edge) knownTooBig(key string, now time.Time) bool {
	seen, ok := e.tooBig.get(key)
	if !ok {
		return false
	}
	if now.Sub(seen) > tooBigFor {
		e.tooBig.deleteIf(key, func(t time.Time) bool { return t.Equal(seen) })
		return false
	}
	return true
}
