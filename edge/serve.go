package edge

import (
	"bufio"
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
	statusRevalidatedNotStored                    // 304, but not stored (detail)
	statusSoftPurged                              // soft-purged, refresh running

	// collapsed marks a request that waited for another request's fill
	// (RFC 9211 "collapsed").
	collapsed cacheStatus = 1 << 8
)

// entryMeta is what the edge keeps in Entry.Meta: headers split into
// name/value pairs that point into Entry.Header.
type entryMeta struct {
	// The fields a hit reads come first (see cache.Entry).

	// tmpl is the stored fields and Date as a response header that a hit
	// copies whole (nil when the serving server sets Date itself; see
	// headerTemplate).
	tmpl *fasthttp.ResponseHeader
	// part, for a stored 206, is the byte range it holds (partial.go).
	part *part
	// consistency is a rule's for this entry ("": the site's).
	consistency Consistency
	// detail explains why a response was not stored (Cache-Status detail=).
	detail string
	// rule is the policy-file rule that decided the entry (Cache-Status
	// detail=rule:<name>), and browserCC the Cache-Control its clients
	// get in place of the origin's (ttlpolicy.go).
	rule      string
	browserCC []byte
	// ageSent: the origin's response had an Age, which a miss passes on
	// grown by the transit time (RFC 9111 §5.1); a miss of a response
	// without one sends none, since Age says the response did not come
	// from the origin for this request.
	ageSent bool

	// pairs are the stored header fields, pointing into Entry.Header, and
	// date the response's Date (what tmpl is made of).
	pairs [][2][]byte
	date  time.Time
}

// Cost is what the pairs add to the entry's cost: they point into
// Entry.Header, so only their slice headers count.
func (m *entryMeta) Cost() int64 {
	n := int64(len(m.pairs))*48 + int64(len(m.detail))
	if m.tmpl != nil {
		n += 512 + int64(m.tmpl.Len())
	}
	return n
}

func metaOf(e *cache.Entry) *entryMeta {
	m, _ := e.Meta.(*entryMeta)
	if m == nil {
		return &entryMeta{}
	}
	return m
}

// serveEntry answers from an entry: conditional requests, ranges and HEAD
// included. The body is shared with the cache, never copied.
//
// An entry without a generation that a generation condition applies to
// is not served (false): only the origin can answer it.
func (e *Edge) serveEntry(ctx *fasthttp.RequestCtx, entry *cache.Entry, now time.Time, cs cacheStatus) bool {
	rh := &ctx.Response.Header
	meta := metaOf(entry)
	conditional, ranged := false, false
	if entry.Status == fasthttp.StatusOK || meta.part != nil {
		// A part's validators are its representation's: preconditions are
		// judged by them as for a whole one.
		conditional, ranged = scanRequest(&ctx.Request.Header)
		if conditional && entry.Generation == 0 && generationConditional(&ctx.Request.Header) {
			return false
		}
	}
	if meta.tmpl != nil {
		meta.tmpl.CopyTo(rh)
	} else {
		serverDate(rh)
		for _, p := range meta.pairs {
			if len(p[0]) == len("Set-Cookie") && string(p[0]) == "Set-Cookie" {
				rh.AddBytesKV(p[0], p[1]) // one line per cookie
				continue
			}
			rh.SetCanonical(p[0], p[1])
		}
	}
	age := entry.Age(now)
	var num [24]byte
	if base := cs &^ collapsed; meta.ageSent || (base != statusMissStored && base != statusMissNotStored) {
		rh.SetCanonical(strAge, strconv.AppendInt(num[:0], int64(age/time.Second), 10))
	}
	var csb [160]byte
	// ttl= is the remaining freshness, negative once stale (RFC 9211).
	ttl := int64((entry.FreshFor - age) / time.Second)
	rh.SetCanonical(strCacheStatus, appendCacheStatus(csb[:0], cs, ttl, meta.detail, meta.rule))
	if meta.browserCC != nil {
		rh.SetCanonical(strCacheControl, meta.browserCC)
	}

	if conditional && preconditionFailed(&ctx.Request.Header, entry) {
		ctx.Response.ResetBody()
		ctx.SetStatusCode(fasthttp.StatusPreconditionFailed)
		return true
	}
	if conditional && notModified(&ctx.Request.Header, entry) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		rh.Del(fasthttp.HeaderContentType)
		rh.Del(fasthttp.HeaderContentEncoding)
		ctx.Response.SkipBody = true
		return true
	}
	if meta.part != nil {
		servePart(ctx, entry, meta.part)
		return true
	}
	ctx.SetStatusCode(entry.Status)
	body := entry.Body
	if ranged && ifRangeHolds(&ctx.Request.Header, entry) {
		if served := serveRanges(ctx, entry); served {
			return true
		}
	}
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		rh.SetContentLength(len(body))
		return true
	}
	setBody(ctx, body)
	return true
}

var (
	strAge          = []byte("Age")
	strCacheStatus  = []byte("Cache-Status")
	strCacheControl = []byte("Cache-Control")
)

// appendCacheStatus writes the RFC 9211 Cache-Status value for cs.
func appendDetail(b []byte, detail string) []byte {
	if detail == "" {
		return b
	}
	return append(append(b, "; detail="...), detail...)
}

// rule, when set, is the policy-file rule that decided a stored entry:
// the detail of an answer that has no other.
func appendCacheStatus(b []byte, cs cacheStatus, ttl int64, detail, rule string) []byte {
	b = append(b, "edge; "...)
	if rule != "" && detail == "" {
		detail = "rule:" + rule
	}
	switch cs &^ collapsed {
	case statusHit, statusStaleWhileRevalidate, statusStaleIfError:
		b = append(b, "hit; ttl="...)
		b = strconv.AppendInt(b, ttl, 10)
		switch cs &^ collapsed {
		case statusStaleWhileRevalidate:
			b = append(b, "; detail=stale-while-revalidate"...)
		case statusStaleIfError:
			b = append(b, "; detail=stale-if-error"...)
		default:
			b = appendDetail(b, detail)
		}
	case statusSoftPurged:
		// A soft purge made it stale whatever its lifetime said.
		b = append(b, "hit; ttl="...)
		b = strconv.AppendInt(b, min(ttl, 0), 10)
		b = append(b, "; detail=soft-purged"...)
	case statusRevalidated:
		b = append(b, "fwd=stale; fwd-status=304; stored; ttl="...)
		b = strconv.AppendInt(b, ttl, 10)
		b = appendDetail(b, detail)
	case statusRevalidatedNotStored:
		b = append(b, "fwd=stale; fwd-status=304"...)
		b = appendDetail(b, detail)
	case statusMissStored:
		b = append(b, "fwd=uri-miss; stored; ttl="...)
		b = strconv.AppendInt(b, ttl, 10)
		b = appendDetail(b, detail)
	case statusMissNotStored:
		b = append(b, "fwd=uri-miss"...)
		b = appendDetail(b, detail)
	}
	if cs&collapsed != 0 {
		b = append(b, "; collapsed"...)
	}
	return b
}

// headerTemplate is a stored response's header as a hit sends it, Date
// included. fasthttp manages Date itself: Set ignores it, and it writes
// one of its own unless the server has NoDefaultDate, in which case it
// writes the Date fields a header holds, which only parsing or CopyTo put
// there. So the template copies the flags of a request's fresh response
// header (seed, from the edge's server: NoDefaultDate) and parses the
// stored fields; a hit copies it whole, which also costs less than
// setting each field. Without a seed (no request served yet) or with
// fields fasthttp will not parse, it is nil and the fields are set one
// by one, under the server's own Date.
func (e *Edge) headerTemplate(pairs [][2][]byte, date time.Time) *fasthttp.ResponseHeader {
	t := new(fasthttp.ResponseHeader)
	if !e.readTemplate(t, pairs, date) {
		return nil
	}
	return t
}

// readTemplate builds the template in t, a zero header: false when it
// cannot (see headerTemplate).
func (e *Edge) readTemplate(t *fasthttp.ResponseHeader, pairs [][2][]byte, date time.Time) bool {
	seed := e.seed.Load()
	if seed == nil {
		return false
	}
	block := append(make([]byte, 0, 256), "HTTP/1.1 200 OK\r\nDate: "...)
	block = date.UTC().AppendFormat(block, http.TimeFormat)
	block = append(block, "\r\n"...)
	for _, p := range pairs {
		block = append(append(append(append(block, p[0]...), ": "...), p[1]...), "\r\n"...)
	}
	// A length, so that the parser does not take the response as one
	// that ends with its connection; writing sets the body's.
	block = append(block, "Content-Length: 0\r\n\r\n"...)
	seed.CopyTo(t)
	if err := t.Read(bufio.NewReaderSize(bytes.NewReader(block), len(block)+16)); err != nil {
		return false
	}
	t.SetStatusMessage(nil)             // the status code's own reason phrase, whatever the code
	t.Del(fasthttp.HeaderContentLength) // the body's length is set when written; a 304 sends none
	return true
}

// serveOrForward answers ctx from entry, or, when only the origin can
// (see serveEntry), with the origin's own answer.
func (e *Edge) serveOrForward(ctx *fasthttp.RequestCtx, site *Site, path []byte, entry *cache.Entry, now time.Time, cs cacheStatus) {
	if !e.serveEntry(ctx, entry, now, cs) {
		e.streamThrough(ctx, site, path, "generation-unknown")
	}
}

// serverDate has fasthttp write its own Date on a response built field by
// field (a reset header forgets the server's NoDefaultDate).
func serverDate(rh *fasthttp.ResponseHeader) {
	rh.Reset()
	rh.SetNoDefaultContentType(true)
}
