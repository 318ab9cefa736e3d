package edge

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
)

// How a response relates to the cache, for the Cache-Status header
// (RFC 9211) and the statistics.
type cacheStatus int

const (
	statusHit                  cacheStatus = iota // fresh from cache
	statusStaleWhileRevalidate                    // stale, refresh running
	statusStaleIfError                            // stale, origin failing
	statusMissStored                              // fetched, stored
	statusMissNotStored                           // fetched, not stored
	statusRevalidated                             // stale, origin said 304
	statusSoftPurged                              // soft-purged, refresh running

	// collapsed marks a request that waited for another request's fill
	// (RFC 9211 "collapsed").
	collapsed cacheStatus = 1 << 8
)

// entryMeta is what the edge keeps in Entry.Meta: headers split into
// name/value pairs that point into Entry.Header.
type entryMeta struct {
	pairs [][2][]byte
	// detail explains why a response was not stored (Cache-Status detail=).
	detail string
}

// Cost is what the pairs add to the entry's cost: they point into
// Entry.Header, so only their slice headers count.
func (m *entryMeta) Cost() int64 { return int64(len(m.pairs))*48 + int64(len(m.detail)) }

func metaOf(e *cache.Entry) *entryMeta {
	m, _ := e.Meta.(*entryMeta)
	if m == nil {
		return &entryMeta{}
	}
	return m
}

// serveEntry answers from an entry: conditional requests, ranges and HEAD
// included. The body is shared with the cache, never copied.
func (e *Edge) serveEntry(ctx *fasthttp.RequestCtx, entry *cache.Entry, now time.Time, cs cacheStatus) {
	rh := &ctx.Response.Header
	meta := metaOf(entry)
	for _, p := range meta.pairs {
		if len(p[0]) == len("Set-Cookie") && string(p[0]) == "Set-Cookie" {
			rh.AddBytesKV(p[0], p[1]) // one line per cookie
			continue
		}
		rh.SetCanonical(p[0], p[1])
	}
	age := entry.Age(now)
	var num [24]byte
	if base := cs &^ collapsed; base != statusMissStored && base != statusMissNotStored {
		rh.SetCanonical(strAge, strconv.AppendInt(num[:0], int64(age/time.Second), 10))
	}
	var csb [96]byte
	// ttl= is the remaining freshness, negative once stale (RFC 9211).
	ttl := int64((entry.FreshFor - age) / time.Second)
	rh.SetCanonical(strCacheStatus, appendCacheStatus(csb[:0], cs, ttl, meta.detail))

	status := entry.Status
	conditional, ranged := false, false
	if status == fasthttp.StatusOK {
		conditional, ranged = scanRequest(&ctx.Request.Header)
	}
	if conditional && preconditionFailed(&ctx.Request.Header, entry) {
		ctx.Response.ResetBody()
		ctx.SetStatusCode(fasthttp.StatusPreconditionFailed)
		return
	}
	if conditional && notModified(&ctx.Request.Header, entry) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		rh.Del(fasthttp.HeaderContentType)
		rh.Del(fasthttp.HeaderContentEncoding)
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetStatusCode(status)
	body := entry.Body
	if ranged && ifRangeHolds(&ctx.Request.Header, entry) {
		if served := serveRanges(ctx, entry); served {
			return
		}
	}
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		rh.SetContentLength(len(body))
		return
	}
	ctx.Response.SetBodyRaw(body)
}

var (
	strAge         = []byte("Age")
	strCacheStatus = []byte("Cache-Status")
)

// appendCacheStatus writes the RFC 9211 Cache-Status value for cs.
func appendCacheStatus(b []byte, cs cacheStatus, ttl int64, detail string) []byte {
	b = append(b, "edge; "...)
	switch cs &^ collapsed {
	case statusHit, statusStaleWhileRevalidate, statusStaleIfError:
		b = append(b, "hit; ttl="...)
		b = strconv.AppendInt(b, ttl, 10)
		switch cs {
		case statusStaleWhileRevalidate:
			b = append(b, "; detail=stale-while-revalidate"...)
		case statusStaleIfError:
			b = append(b, "; detail=stale-if-error"...)
		}
	case statusSoftPurged:
		// A soft purge made it stale whatever its lifetime said.
		b = append(b, "hit; ttl="...)
		b = strconv.AppendInt(b, min(ttl, 0), 10)
		b = append(b, "; detail=soft-purged"...)
	case statusRevalidated:
		b = append(b, "fwd=stale; fwd-status=304; stored; ttl="...)
		b = strconv.AppendInt(b, ttl, 10)
	case statusMissStored:
		b = append(b, "fwd=uri-miss; stored; ttl="...)
		b = strconv.AppendInt(b, ttl, 10)
	case statusMissNotStored:
		b = append(b, "fwd=uri-miss"...)
		if detail != "" {
			b = append(b, "; detail="...)
			b = append(b, detail...)
		}
	}
	if cs&collapsed != 0 {
		b = append(b, "; collapsed"...)
	}
	return b
}

// scanRequest tells in one pass over the request headers whether any
// If-* precondition or a Range is present: most hits have neither, and a
// Peek per header name costs more than the pass.
func scanRequest(h *fasthttp.RequestHeader) (conditional, ranged bool) {
	for k := range h.All() {
		switch {
		case len(k) > 3 && (k[0]|0x20) == 'i' && (k[1]|0x20) == 'f' && k[2] == '-':
			conditional = true
		case len(k) == 5 && (k[0]|0x20) == 'r' && string(k[1:]) == "ange":
			ranged = true
		}
	}
	return conditional, ranged
}

// preconditionFailed evaluates If-Match, else If-Unmodified-Since (RFC 9110
// §13.2.2 steps 1 and 2): a resumed download must not get ranges of a
// newer version. If-Match compares strongly.
func preconditionFailed(h *fasthttp.RequestHeader, entry *cache.Entry) bool {
	if im := h.Peek(fasthttp.HeaderIfMatch); len(im) > 0 {
		if len(im) == 1 && im[0] == '*' {
			return false
		}
		return entry.ETag == "" || !strongListMatches(im, entry.ETag)
	}
	if ius := h.Peek(fasthttp.HeaderIfUnmodifiedSince); len(ius) > 0 && !entry.LastModified.IsZero() {
		t, err := http.ParseTime(string(ius))
		return err == nil && entry.LastModified.Truncate(time.Second).After(t)
	}
	return false
}

// strongListMatches is etagListMatches without weak tags.
func strongListMatches(list []byte, etag string) bool {
	for item := range bytes.SplitSeq(list, []byte(",")) {
		item = trimSpace(item)
		if len(item) >= 2 && item[0] == '"' && string(item[1:len(item)-1]) == etag {
			return true
		}
	}
	return false
}

// notModified evaluates If-None-Match, else If-Modified-Since, against the
// entry (RFC 9110 §13.2.2 steps 3 and 4 for GET/HEAD; weak comparison).
func notModified(h *fasthttp.RequestHeader, entry *cache.Entry) bool {
	if inm := h.Peek(fasthttp.HeaderIfNoneMatch); len(inm) > 0 {
		return entry.ETag != "" && etagListMatches(inm, entry.ETag)
	}
	if ims := h.Peek(fasthttp.HeaderIfModifiedSince); len(ims) > 0 && !entry.LastModified.IsZero() {
		t, err := http.ParseTime(string(ims))
		return err == nil && !entry.LastModified.Truncate(time.Second).After(t)
	}
	return false
}

// etagListMatches compares a list of entity tags with etag (unquoted),
// weakly: W/ prefixes are ignored.
func etagListMatches(list []byte, etag string) bool {
	for len(list) > 0 {
		for len(list) > 0 && (list[0] == ' ' || list[0] == ',' || list[0] == '\t') {
			list = list[1:]
		}
		if len(list) == 0 {
			return false
		}
		if list[0] == '*' {
			return true
		}
		if len(list) > 2 && list[0] == 'W' && list[1] == '/' {
			list = list[2:]
		}
		end := 0
		for end < len(list) && list[end] != ',' {
			end++
		}
		tag := trimSpace(list[:end])
		if len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' {
			tag = tag[1 : len(tag)-1]
		}
		if string(tag) == etag {
			return true
		}
		list = list[end:]
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ifRangeHolds: without If-Range the Range applies; with it, only when the
// validator names the stored representation (strong ETag or exact date).
func ifRangeHolds(h *fasthttp.RequestHeader, entry *cache.Entry) bool {
	ir := h.Peek("If-Range")
	if len(ir) == 0 {
		return true
	}
	if ir[0] == '"' {
		return len(ir) >= 2 && string(ir[1:len(ir)-1]) == entry.ETag
	}
	t, err := http.ParseTime(string(ir))
	return err == nil && t.Equal(entry.LastModified.Truncate(time.Second))
}
