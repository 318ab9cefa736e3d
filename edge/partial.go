package edge

import (
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
)

// Partial responses (RFC 9111 §3.3, §3.4). A 206 an origin sends a fill
// is stored as what it is, one byte range of a representation of known
// length, and serves later requests for ranges inside it; it never
// answers a request for the whole representation, and never a waiter of
// the fill. A later 206 of the same representation (the same strong
// entity-tag and length) that overlaps or touches the stored range is
// combined with it, and once the ranges cover the whole representation
// the entry becomes a complete 200.

// part is the byte range a partial entry holds: its Body is bytes
// [start, start+len(Body)) of a representation of size bytes.
type part struct {
	start, size int64
}

// parseContentRange reads "bytes first-last/complete" with a known
// complete length; ok is false for anything else (unsatisfied ranges,
// unknown length, other units), which is not stored.
func parseContentRange(v string) (first, last, size int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, total, found := strings.Cut(spec, "/")
	f, l, dash := strings.Cut(rng, "-")
	if !found || !dash {
		return 0, 0, 0, false
	}
	var okF, okL, okS bool
	first, okF = digits([]byte(f))
	last, okL = digits([]byte(l))
	size, okS = digits([]byte(total))
	return first, last, size, okF && okL && okS && first <= last && last < size
}

// partOf checks a 206 for storing: one range, its body exactly that
// range. The entry keeps the range's bytes; Content-Range is rebuilt for
// each answer.
func partOf(resp *originResponse, body []byte) (part, bool) {
	first, last, size, ok := parseContentRange(resp.Header.Get("Content-Range"))
	if !ok || int64(len(body)) != last-first+1 {
		return part{}, false
	}
	return part{start: first, size: size}, true
}

// combine merges a stored partial entry's range into entry's when both
// are parts of the same representation (the same strong entity-tag and
// length) and the ranges overlap or touch; a whole representation becomes
// a 200. Ranges that would together exceed limit bytes are not combined.
// It reports whether it combined.
func combine(entry, stored *cache.Entry, limit int64) bool {
	p, q := metaOf(entry).part, metaOf(stored).part
	if p == nil || q == nil || p.size != q.size || entry.ETag == "" || entry.ETag[0] == 'W' || entry.ETag != stored.ETag {
		return false
	}
	pEnd, qEnd := p.start+int64(len(entry.Body)), q.start+int64(len(stored.Body))
	if q.start > pEnd || p.start > qEnd {
		return false // a gap between them
	}
	start, end := min(p.start, q.start), max(pEnd, qEnd)
	if end-start > limit {
		return false
	}
	body := make([]byte, end-start)
	copy(body[q.start-start:], stored.Body)
	copy(body[p.start-start:], entry.Body) // the newer bytes win
	entry.Body = body
	*metaOf(entry).part = part{start: start, size: p.size}
	if start == 0 && end == p.size {
		entry.Status = http.StatusOK
		metaOf(entry).part = nil
	}
	return true
}

// covers reports whether a partial entry can answer ctx's Range: one
// range, inside the stored bytes.
func (p *part) covers(ctx *fasthttp.RequestCtx, entry *cache.Entry) (byteRange, bool) {
	ranges, ok := parseRanges(ctx.Request.Header.Peek(fasthttp.HeaderRange), p.size)
	if !ok || len(ranges) != 1 || len(ctx.Request.Header.Peek("If-Range")) > 0 {
		return byteRange{}, false
	}
	r := ranges[0]
	return r, r.start >= p.start && r.end < p.start+int64(len(entry.Body))
}

// servePart answers from a partial entry: the requested range when it
// holds it, else the range it holds (a fill's own 206).
func servePart(ctx *fasthttp.RequestCtx, entry *cache.Entry, p *part) {
	r, ok := p.covers(ctx, entry)
	if !ok {
		r = byteRange{p.start, p.start + int64(len(entry.Body)) - 1}
	}
	ctx.SetStatusCode(fasthttp.StatusPartialContent)
	ctx.Response.Header.Set(fasthttp.HeaderContentRange, contentRange(r, p.size))
	data := entry.Body[r.start-p.start : r.end-p.start+1]
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		ctx.Response.Header.SetContentLength(len(data))
		return
	}
	setBody(ctx, data)
}
