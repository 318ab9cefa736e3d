package edge

import (
	"bytes"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/policy"
)

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
		case len(k) > 5 && (k[0]|0x20) == 'x' && k[1] == '-' && (k[2]|0x20) == 'i' && (k[3]|0x20) == 'f' && k[4] == '-':
			conditional = true // X-If-Generation-Match and -Not-Match
		}
	}
	return conditional, ranged
}

// The origin's generation conditions (as GCS's ifGenerationMatch), decided
// from the cache when the stored entry carries its generation; otherwise
// the request is forwarded, for the origin to decide.
const (
	ifGenerationMatch    = "X-If-Generation-Match"
	ifGenerationNotMatch = "X-If-Generation-Not-Match"
)

// generationConditional reports whether a request carries a generation
// condition.
func generationConditional(h *fasthttp.RequestHeader) bool {
	return len(h.Peek(ifGenerationMatch)) > 0 || len(h.Peek(ifGenerationNotMatch)) > 0
}

// preconditionFailed evaluates If-Match, else If-Unmodified-Since (RFC 9110
// §13.2.2 steps 1 and 2): a resumed download must not get ranges of a
// newer version. If-Match compares strongly.
func preconditionFailed(h *fasthttp.RequestHeader, entry *cache.Entry) bool {
	if v := h.Peek(ifGenerationMatch); len(v) > 0 && entry.Generation > 0 {
		n, ok := digits(trimSpace(v))
		if !ok || n != entry.Generation {
			return true
		}
	}
	if im := h.Peek(fasthttp.HeaderIfMatch); len(im) > 0 {
		if isStar(im) {
			return false // the entry is a current representation
		}
		return !etagListMatches(im, entry.ETag, true)
	}
	if ius := h.Peek(fasthttp.HeaderIfUnmodifiedSince); len(ius) > 0 && !entry.LastModified.IsZero() {
		t, ok := policy.ParseHTTPDate(string(ius))
		return ok && entry.LastModified.Truncate(time.Second).After(t)
	}
	return false
}

// notModified evaluates If-None-Match, else If-Modified-Since, against the
// entry (RFC 9110 §13.2.2 steps 3 and 4 for GET/HEAD; weak comparison).
func notModified(h *fasthttp.RequestHeader, entry *cache.Entry) bool {
	if v := h.Peek(ifGenerationNotMatch); len(v) > 0 && entry.Generation > 0 {
		if n, ok := digits(trimSpace(v)); ok && n == entry.Generation {
			return true
		}
	}
	if inm := h.Peek(fasthttp.HeaderIfNoneMatch); len(inm) > 0 {
		return isStar(inm) || etagListMatches(inm, entry.ETag, false)
	}
	if ims := h.Peek(fasthttp.HeaderIfModifiedSince); len(ims) > 0 {
		// Without a Last-Modified, the stored response's Date stands in
		// (RFC 9111 §4.3.2): it was not modified after it was sent.
		lm := entry.LastModified
		if lm.IsZero() {
			lm = metaOf(entry).date
		}
		t, ok := policy.ParseHTTPDate(string(ims))
		return ok && !lm.IsZero() && !lm.Truncate(time.Second).After(t)
	}
	return false
}

// ifRangeHolds: without If-Range the Range applies; with it, only when the
// validator names the stored representation: a strong entity-tag equal to
// the entry's strong one, or exactly its Last-Modified when that is a
// strong validator (RFC 9110 §13.1.5, §8.8.2.2).
func ifRangeHolds(h *fasthttp.RequestHeader, entry *cache.Entry) bool {
	ir := trimSpace(h.Peek("If-Range"))
	if len(ir) == 0 {
		return true
	}
	if ir[0] == '"' || bytes.HasPrefix(ir, []byte("W/")) { // not "Wed, ..."
		tag, rest, ok := cutETag(ir)
		return ok && len(rest) == 0 && etagsMatch(tag, entry.ETag, true)
	}
	t, ok := policy.ParseHTTPDate(string(ir))
	return ok && strongDate(entry) && t.Equal(entry.LastModified.Truncate(time.Second))
}

// strongDate: a Last-Modified is a strong validator only if the response
// was generated at least a second later (§8.8.2.2): within the same second
// the object could have changed again under the same date. The response's
// Date is when it was received less the age it already had.
func strongDate(entry *cache.Entry) bool {
	if entry.LastModified.IsZero() {
		return false
	}
	dated := entry.StoredAt.Add(-entry.InitialAge)
	return dated.Sub(entry.LastModified) >= time.Second
}

func isStar(v []byte) bool { v = trimSpace(v); return len(v) == 1 && v[0] == '*' }

// etagListMatches reports whether a #entity-tag list names etag (the
// entry's, as sent: quoted, W/ when weak; "" for none), strongly (neither
// weak, opaque-tags equal) or weakly (opaque-tags equal), RFC 9110
// §8.8.3.2. A malformed list matches nothing: a 304 or a range of another
// version must never come from a header the edge misread.
func etagListMatches(list []byte, etag string, strong bool) bool {
	matched := false
	for {
		for len(list) > 0 && (list[0] == ' ' || list[0] == '\t' || list[0] == ',') {
			list = list[1:]
		}
		if len(list) == 0 {
			return matched
		}
		tag, rest, ok := cutETag(list)
		if !ok {
			return false
		}
		if rest = trimSpace(rest); len(rest) > 0 && rest[0] != ',' {
			return false
		}
		matched = matched || etagsMatch(tag, etag, strong)
		list = rest
	}
}

// cutETag cuts the entity-tag v starts with: [W/] DQUOTE *etagc DQUOTE,
// where etagc is any visible byte but DQUOTE (commas included) or
// obs-text.
func cutETag(v []byte) (tag, rest []byte, ok bool) {
	i := 0
	if len(v) >= 2 && v[0] == 'W' && v[1] == '/' {
		i = 2
	}
	if i >= len(v) || v[i] != '"' {
		return nil, nil, false
	}
	for i++; i < len(v) && v[i] != '"'; i++ {
		if c := v[i]; c < 0x21 || c == 0x7f {
			return nil, nil, false
		}
	}
	if i == len(v) {
		return nil, nil, false
	}
	return v[:i+1], v[i+1:], true
}

// etagsMatch compares two well-formed entity-tags; etag "" is no tag.
func etagsMatch(tag []byte, etag string, strong bool) bool {
	if etag == "" {
		return false
	}
	tagWeak, etagWeak := tag[0] == 'W', etag[0] == 'W'
	if strong && (tagWeak || etagWeak) {
		return false
	}
	if tagWeak {
		tag = tag[2:]
	}
	if etagWeak {
		etag = etag[2:]
	}
	return string(tag) == etag
}

// validETag is v when it is one well-formed entity-tag, else "": an
// origin's malformed ETag is not used to validate anything.
func validETag(v string) string {
	tag, rest, ok := cutETag([]byte(v))
	if !ok || len(rest) > 0 {
		return ""
	}
	return string(tag)
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
