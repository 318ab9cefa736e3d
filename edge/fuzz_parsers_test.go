package edge

import (
	"bufio"
	"bytes"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
	"github.com/edgecdn/edge/policy"
)

// The fuzz targets below hold the edge's small parsers (Range, the
// conditional request headers, the raw framing check) against small
// independent models of RFC 9110 and RFC 9112 for the inputs those models
// describe, and only against panics for the others.

// maxFuzzRangeSize bounds the object size FuzzParseRanges serves.
const maxFuzzRangeSize = 1 << 20

// fuzzRangeBody is the body ranges are cut from: no two nearby positions
// hold the same byte pattern, so an off-by-one range shows.
var fuzzRangeBody = func() []byte {
	b := make([]byte, maxFuzzRangeSize)
	for i := range b {
		b[i] = byte(i) ^ byte(i>>8)*31 ^ byte(i>>16)*97
	}
	return b
}()

// rangeAnswer is what a server does with a Range header (RFC 9110 §14.2,
// §15.3.7, §15.5.17).
type rangeAnswer int

const (
	rangeIgnored       rangeAnswer = iota // 200 with the whole representation
	rangeUnsatisfiable                    // 416
	rangePartial                          // 206
)

func (a rangeAnswer) String() string {
	return [...]string{"ignore the header (200)", "unsatisfiable (416)", "partial (206)"}[a]
}

func answerOf(ranges []byteRange, ok bool) rangeAnswer {
	switch {
	case !ok:
		return rangeIgnored
	case len(ranges) == 0:
		return rangeUnsatisfiable
	}
	return rangePartial
}

// rangeModel is RFC 9110 §14.1.1 and §14.2 for a Range value of exactly
// one of the forms "bytes=a-b", "bytes=a-" and "bytes=-n" (DIGITs, no
// white space, the unit in any ASCII case): known is false for any other
// value. Numbers are read without a size limit.
//
//   - An int-range whose last-pos is less than its first-pos is invalid:
//     the header is ignored.
//   - An int-range is satisfiable when first-pos < size, and then covers
//     first-pos to min(last-pos, size-1).
//   - A suffix-range is satisfiable when suffix-length is not 0, and then
//     covers the last min(n, size) bytes; a 0-byte representation has no
//     bytes to cover, so nothing is satisfiable there (§15.5.17: nothing
//     overlaps the current extent).
//
// mayIgnore is true where the RFC lets the server ignore the header
// (§14.2: "A server MAY ignore the Range header field") and the edge
// documents that it does: a unit not spelt "bytes", and numbers longer
// than the edge reads (18 digits).
func rangeModel(h []byte, size int64) (ans rangeAnswer, r byteRange, mayIgnore, known bool) {
	unit, spec, found := bytes.Cut(h, []byte("="))
	if !found || !asciiEqualFold(unit, "bytes") {
		return 0, r, false, false
	}
	first, last, found := bytes.Cut(spec, []byte("-"))
	if !found || !allDigits(first) || !allDigits(last) || len(first)+len(last) == 0 {
		return 0, r, false, false
	}
	mayIgnore = string(unit) != "bytes" || len(first) > 18 || len(last) > 18
	bigSize := big.NewInt(size)
	num := func(b []byte) *big.Int {
		n, _ := new(big.Int).SetString(string(b), 10)
		return n
	}
	if len(first) == 0 { // suffix-range
		n := num(last)
		if n.Sign() == 0 || size == 0 {
			return rangeUnsatisfiable, r, mayIgnore, true
		}
		start := new(big.Int).Sub(bigSize, n)
		if start.Sign() < 0 {
			start.SetInt64(0)
		}
		return rangePartial, byteRange{start.Int64(), size - 1}, mayIgnore, true
	}
	f := num(first)
	end := big.NewInt(size - 1)
	if len(last) > 0 {
		l := num(last)
		if l.Cmp(f) < 0 {
			return rangeIgnored, r, mayIgnore, true // invalid
		}
		if l.Cmp(end) < 0 {
			end = l
		}
	}
	if f.Cmp(bigSize) >= 0 {
		return rangeUnsatisfiable, r, mayIgnore, true
	}
	return rangePartial, byteRange{f.Int64(), end.Int64()}, mayIgnore, true
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// asciiEqualFold compares ASCII case-insensitively: unlike strings.EqualFold
// it does not fold 'ſ' (U+017F) to 's' or the Kelvin sign to 'k', which no
// HTTP parser does either.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// rangeListElements counts the non-empty elements of a range-set: the
// parts between commas that hold more than white space.
func rangeListElements(spec []byte) int {
	n := 0
	for part := range bytes.SplitSeq(spec, []byte(",")) {
		if len(bytes.Trim(part, " \t")) > 0 {
			n++
		}
	}
	return n
}

// FuzzParseRanges: for any Range value and an object of 0 to 1 MiB,
// parseRanges never panics; an ignored header gives no ranges; the ranges
// it returns lie within the object (0 ≤ start ≤ end < size), do not
// overlap, and number at most maxRanges, and a value with more than
// maxRanges elements is ignored; for a value of one of the single-range
// forms bytes=a-b, bytes=a- and bytes=-n the answer (ignore, 416, or which
// bytes) is rangeModel's. serveRanges, fed the same header through a
// RequestCtx for GET and for HEAD, answers as parseRanges does: 416 with
// "bytes */size"; one range as 206 with a matching Content-Range and
// exactly those bytes (or their length as Content-Length for HEAD); several
// as a multipart/byteranges body whose parts are those ranges in order,
// each with its Content-Range and Content-Type.
func FuzzParseRanges(f *testing.F) {
	for _, s := range []struct {
		h    string
		size uint32
	}{
		{"bytes=0-499", 10000},
		{"bytes=500-999", 10000},
		{"bytes=500-999,0-0", 10000},
		{"bytes=-500", 10000},
		{"bytes=-500", 100},
		{"bytes=9500-", 10000},
		{"bytes=0-0,-1", 10000},
		{"bytes=0-0, 2-3 ,\t5-", 10},
		{"bytes=0-1,1-2", 10},      // overlapping
		{"bytes=0-9999999999", 10}, // last-pos past the end
		{"bytes=10-", 10},          // unsatisfiable
		{"bytes=-0", 10},           // unsatisfiable
		{"bytes=0-", 0},            // empty object
		{"bytes=-5", 0},            // empty object
		{"bytes=5-3", 10},          // invalid
		{"Bytes=0-1", 10},          // unit in another case
		{"bytes=0000000000000000001-2", 10},
		{"bytes=1-2,3-4,5-6,7-8,9-10,11-12,13-14,15-16,17-18,19-20,21-22,23-24,25-26,27-28,29-30,31-32", 100},
		{"bytes=1-2,3-4,5-6,7-8,9-10,11-12,13-14,15-16,17-18,19-20,21-22,23-24,25-26,27-28,29-30,31-32,33-34", 100},
		{"bytes=,,0-0,,", 10},
		{"bytes=", 10},
		{"items=0-1", 10},
		{"bytes=a-b", 10},
		{"bytes=--1", 10},
		{"bytes=1", 10},
		{"", 10},
	} {
		f.Add([]byte(s.h), s.size)
	}
	f.Fuzz(func(t *testing.T, h []byte, size32 uint32) {
		size := int64(size32 % (maxFuzzRangeSize + 1))
		ranges, ok := parseRanges(h, size)
		if !ok && ranges != nil {
			t.Fatalf("parseRanges(%q, %d) = %v, false: an ignored header has no ranges", h, size, ranges)
		}
		if len(ranges) > maxRanges {
			t.Fatalf("parseRanges(%q, %d): %d ranges, more than maxRanges (%d)", h, size, len(ranges), maxRanges)
		}
		for i, r := range ranges {
			if r.start < 0 || r.start > r.end || r.end >= size {
				t.Fatalf("parseRanges(%q, %d): range %d is %d-%d, not within the object", h, size, i, r.start, r.end)
			}
			for _, o := range ranges[:i] {
				if r.start <= o.end && o.start <= r.end {
					t.Fatalf("parseRanges(%q, %d): ranges %d-%d and %d-%d overlap", h, size, o.start, o.end, r.start, r.end)
				}
			}
		}
		if spec, found := bytes.CutPrefix(h, []byte("bytes=")); found && ok && rangeListElements(spec) > maxRanges {
			t.Fatalf("parseRanges(%q, %d) = %v: %d elements, more than maxRanges (%d), must be ignored", h, size, ranges, rangeListElements(spec), maxRanges)
		}
		got := answerOf(ranges, ok)
		if want, r, mayIgnore, known := rangeModel(h, size); known {
			switch {
			case got == rangeIgnored && mayIgnore:
			case got != want:
				t.Fatalf("parseRanges(%q, %d): %v, want %v (range %d-%d)", h, size, got, want, r.start, r.end)
			case got == rangePartial && (len(ranges) != 1 || ranges[0] != r):
				t.Fatalf("parseRanges(%q, %d) = %v, want the one range %d-%d", h, size, ranges, r.start, r.end)
			}
		}
		getLen := checkServeRanges(t, h, size, false, -1)
		checkServeRanges(t, h, size, true, getLen)
	})
}

// checkServeRanges serves header h for an object of size bytes through
// serveRanges, for GET or HEAD, checks the response against parseRanges's
// answer and returns the body length (the Content-Length for HEAD). For
// HEAD, getLen is the body length GET gave.
func checkServeRanges(t *testing.T, h []byte, size int64, head bool, getLen int) int {
	t.Helper()
	var ctx fasthttp.RequestCtx
	method := fasthttp.MethodGet
	if head {
		method = fasthttp.MethodHead
	}
	ctx.Request.Header.SetMethod(method)
	ctx.Request.Header.SetBytesKV([]byte(fasthttp.HeaderRange), h)
	ctx.Response.Header.SetContentType("text/plain")
	sent := ctx.Request.Header.Peek(fasthttp.HeaderRange) // as the edge reads it
	ranges, ok := parseRanges(sent, size)
	body := fuzzRangeBody[:size]
	entry := &cache.Entry{Status: fasthttp.StatusOK, Body: body}
	served := serveRanges(&ctx, entry)
	resp := &ctx.Response
	status, cr := resp.StatusCode(), string(resp.Header.Peek(fasthttp.HeaderContentRange))
	what := method + " with Range " + strconv.Quote(string(sent)) + ", size " + strconv.FormatInt(size, 10)
	if served != ok {
		t.Fatalf("%s: serveRanges = %v, but parseRanges said ok = %v", what, served, ok)
	}
	switch answerOf(ranges, ok) {
	case rangeIgnored:
		if status != fasthttp.StatusOK || cr != "" || len(resp.Body()) != 0 {
			t.Fatalf("%s: an ignored Range changed the response: status %d, Content-Range %q, %d body bytes", what, status, cr, len(resp.Body()))
		}
		return 0
	case rangeUnsatisfiable:
		if want := "bytes */" + strconv.FormatInt(size, 10); status != fasthttp.StatusRequestedRangeNotSatisfiable || cr != want || len(resp.Body()) != 0 {
			t.Fatalf("%s: status %d, Content-Range %q, %d body bytes; want 416, %q, no body", what, status, cr, len(resp.Body()), want)
		}
		return 0
	}
	if status != fasthttp.StatusPartialContent {
		t.Fatalf("%s: status %d, want 206", what, status)
	}
	if len(ranges) == 1 {
		r := ranges[0]
		checkContentRange(t, what, cr, r, size)
		n := int(r.end - r.start + 1)
		if head {
			if cl := resp.Header.ContentLength(); cl != n || len(resp.Body()) != 0 || !resp.SkipBody {
				t.Fatalf("%s: Content-Length %d, %d body bytes, SkipBody %v; want %d, none, true", what, cl, len(resp.Body()), resp.SkipBody, n)
			}
			return n
		}
		if got := resp.Body(); len(got) != n || !bytes.Equal(got, body[r.start:r.end+1]) {
			t.Fatalf("%s: %d body bytes, want bytes %d-%d (%d bytes)", what, len(got), r.start, r.end, n)
		}
		return n
	}
	if cr != "" {
		t.Fatalf("%s: a multipart answer has a top-level Content-Range %q", what, cr)
	}
	mt, params, err := mime.ParseMediaType(string(resp.Header.ContentType()))
	if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
		t.Fatalf("%s: %d ranges, Content-Type %q (%v), want multipart/byteranges with a boundary", what, len(ranges), resp.Header.ContentType(), err)
	}
	if head {
		if cl := resp.Header.ContentLength(); cl != getLen || len(resp.Body()) != 0 || !resp.SkipBody {
			t.Fatalf("%s: Content-Length %d, %d body bytes, SkipBody %v; want GET's length %d, none, true", what, cl, len(resp.Body()), resp.SkipBody, getLen)
		}
		return getLen
	}
	mr := multipart.NewReader(bytes.NewReader(resp.Body()), params["boundary"])
	for i, r := range ranges {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("%s: part %d of %d: %v", what, i, len(ranges), err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "text/plain" {
			t.Fatalf("%s: part %d has Content-Type %q, want the representation's (text/plain)", what, i, ct)
		}
		checkContentRange(t, what, p.Header.Get("Content-Range"), r, size)
		got, err := io.ReadAll(p)
		if err != nil || !bytes.Equal(got, body[r.start:r.end+1]) {
			t.Fatalf("%s: part %d (%d-%d): %d bytes (%v), want those bytes of the object", what, i, r.start, r.end, len(got), err)
		}
	}
	if p, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("%s: more than the %d parts: %v, %v", what, len(ranges), p, err)
	}
	return len(resp.Body())
}

// checkContentRange reads a Content-Range value as RFC 9110 §14.4 spells
// it, "bytes first-last/complete-length", and compares it with r and size.
func checkContentRange(t *testing.T, what, cr string, r byteRange, size int64) {
	t.Helper()
	rest, ok := strings.CutPrefix(cr, "bytes ")
	span, complete, ok2 := strings.Cut(rest, "/")
	first, last, ok3 := strings.Cut(span, "-")
	a, err1 := strconv.ParseInt(first, 10, 64)
	b, err2 := strconv.ParseInt(last, 10, 64)
	n, err3 := strconv.ParseInt(complete, 10, 64)
	if !ok || !ok2 || !ok3 || err1 != nil || err2 != nil || err3 != nil || a != r.start || b != r.end || n != size {
		t.Fatalf("%s: Content-Range %q, want bytes %d-%d/%d", what, cr, r.start, r.end, size)
	}
}

// entityTag is one entity-tag (RFC 9110 §8.8.3): opaque is what is
// between the quotes.
type entityTag struct {
	weak   bool
	opaque string
}

// parseEntityTags reads a field value as "*" or a #entity-tag list (RFC
// 9110 §8.8.3, §5.6.1): elements separated by OWS "," OWS, empty elements
// allowed. ok is false for a value that is neither.
func parseEntityTags(v []byte) (tags []entityTag, star, ok bool) {
	v = bytes.Trim(v, " \t")
	if string(v) == "*" {
		return nil, true, true
	}
	for {
		v = bytes.TrimLeft(v, " \t")
		if len(v) == 0 {
			return tags, false, true
		}
		if v[0] == ',' {
			v = v[1:]
			continue
		}
		tag, rest, ok := entityTagPrefix(v)
		if !ok {
			return nil, false, false
		}
		tags = append(tags, tag)
		if v = bytes.TrimLeft(rest, " \t"); len(v) > 0 && v[0] != ',' {
			return nil, false, false
		}
	}
}

// entityTagPrefix reads the entity-tag v starts with (RFC 9110 §8.8.3):
// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E /
// obs-text, so a comma may sit inside the quotes; W/ is case-sensitive.
func entityTagPrefix(v []byte) (tag entityTag, rest []byte, ok bool) {
	if len(v) >= 2 && v[0] == 'W' && v[1] == '/' {
		tag.weak, v = true, v[2:]
	}
	if len(v) == 0 || v[0] != '"' {
		return tag, nil, false
	}
	i := 1
	for i < len(v) && (v[i] == 0x21 || 0x23 <= v[i] && v[i] <= 0x7e || v[i] >= 0x80) {
		i++
	}
	if i == len(v) || v[i] != '"' {
		return tag, nil, false
	}
	tag.opaque = string(v[1:i])
	return tag, v[i+1:], true
}

// entryTag is the entity-tag an entry holds for the fuzzer's etag: the
// opaque-tag, weak when it starts with "W/"; ok is false when the entry
// has none (etag "" or holding bytes an entity-tag may not).
func entryTag(etag string) (tag entityTag, quoted string, ok bool) {
	if etag == "" {
		return tag, "", false
	}
	if rest, weak := strings.CutPrefix(etag, "W/"); weak {
		tag.weak, etag = true, rest
	}
	quoted = `"` + etag + `"`
	if tag.weak {
		quoted = "W/" + quoted
	}
	t, rest, ok := entityTagPrefix([]byte(quoted))
	if !ok || len(rest) > 0 {
		return tag, "", false
	}
	return t, quoted, true
}

// entityTagsMatch compares a list with the entry's entity tag (etag as
// entryTag reads it), weakly (both opaque-tags equal) or strongly (also
// neither weak), RFC 9110 §8.8.3.2.
func entityTagsMatch(tags []entityTag, etag string, strong bool) bool {
	own, _, ok := entryTag(etag)
	if !ok || (strong && own.weak) {
		return false
	}
	for _, tag := range tags {
		if tag.opaque == own.opaque && !(strong && tag.weak) {
			return true
		}
	}
	return false
}

// parseHTTPDate is the strict HTTP-date parser (RFC 9110 §5.6.7), fuzzed
// on its own in package policy.
func parseHTTPDate(v []byte) (time.Time, bool) { return policy.ParseHTTPDate(string(v)) }

// conditionalModel is RFC 9110 §13.1 and §13.2.2 for an entry with the
// entity tag etag (as entryTag reads it) and modification date lm (or
// none), for the
// request header values (trimmed as the server reads them; "" when
// absent). Each known is false where the model does not describe the
// values (malformed entity-tag lists), where only no panic is checked.
type conditionalModel struct {
	failed, failedKnown    bool // If-Match, else If-Unmodified-Since: 412
	notMod, notModKnown    bool // If-None-Match, else If-Modified-Since: 304
	rangeHolds, rangeKnown bool // If-Range
}

func modelConditionals(inm, im, ims, ius, ir []byte, etag string, lm time.Time) (m conditionalModel) {
	lm = lm.Truncate(time.Second) // HTTP dates have one-second resolution
	// §13.1.1: "*" holds when there is a current representation (the
	// entry); a list when an entity tag matches strongly.
	m.failedKnown = true
	if len(im) > 0 {
		tags, star, ok := parseEntityTags(im)
		m.failed, m.failedKnown = !star && !entityTagsMatch(tags, etag, true), ok
	} else if len(ius) > 0 && !lm.IsZero() {
		// §13.1.4: ignored when not a valid HTTP-date, or after If-Match.
		if t, ok := parseHTTPDate(ius); ok {
			m.failed = lm.After(t)
		}
	}
	// §13.1.2: "*" is false (304) when there is a current representation;
	// a list when an entity tag matches weakly.
	m.notModKnown = true
	if len(inm) > 0 {
		tags, star, ok := parseEntityTags(inm)
		m.notMod, m.notModKnown = star || entityTagsMatch(tags, etag, false), ok
	} else if len(ims) > 0 && !lm.IsZero() {
		// §13.1.3: ignored when not a valid HTTP-date, or after If-None-Match.
		if t, ok := parseHTTPDate(ims); ok {
			m.notMod = !lm.After(t)
		}
	}
	// §13.1.5: If-Range = entity-tag / HTTP-date, compared strongly; a weak
	// tag never matches, a date only the exact Last-Modified.
	m.rangeHolds, m.rangeKnown = true, true
	if len(ir) > 0 {
		if tag, rest, ok := entityTagPrefix(ir); ok && len(rest) == 0 {
			m.rangeHolds = entityTagsMatch([]entityTag{tag}, etag, true)
		} else if t, ok := parseHTTPDate(ir); ok {
			m.rangeHolds = !lm.IsZero() && t.Equal(lm)
		} else {
			m.rangeHolds, m.rangeKnown = false, false
		}
	}
	return m
}

// conditionalRequest is the request fasthttp's server reads for method and
// target "/" with these conditional headers and "Range: bytes=0-0", and whether
// it reads each value back as sent (without surrounding white space); ok
// is false when it refuses the request or reads the values differently.
func conditionalRequest(method string, names, values []string) (*fasthttp.RequestCtx, bool) {
	var b strings.Builder
	b.WriteString(method + " / HTTP/1.1\r\nHost: example.com\r\nRange: bytes=0-0\r\n")
	for i, v := range values {
		if v != "" {
			b.WriteString(names[i] + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	var ctx fasthttp.RequestCtx
	if err := ctx.Request.Header.Read(bufio.NewReader(strings.NewReader(b.String()))); err != nil {
		return nil, false
	}
	for i, v := range values {
		if got := ctx.Request.Header.Peek(names[i]); string(got) != v {
			return nil, false
		}
	}
	return &ctx, true
}

// FuzzConditionals: for any If-None-Match, If-Match, If-Modified-Since,
// If-Unmodified-Since and If-Range values and an entry's ETag and
// Last-Modified, scanRequest, preconditionFailed, notModified,
// ifRangeHolds and serveEntry never panic, whatever bytes the header holds.
// For a request fasthttp's server accepts, scanRequest sees the If-*
// headers and the Range; and where the values are "*", well-formed
// entity-tag lists or HTTP-dates (or junk dates, which are ignored), the
// helpers and the status serveEntry answers (412, 304, 206 or 200) are
// those of conditionalModel: "*" matches any entry, If-None-Match compares
// weakly (a strong ETag listed exactly gives 304 for GET and HEAD), If-Match
// and If-Range strongly, dates at one-second resolution, with the RFC 9110
// §13.2.2 precedence.
func FuzzConditionals(f *testing.F) {
	const (
		lm2015 = 1445412480000 // Wed, 21 Oct 2015 07:28:00 GMT, in ms
		d2015  = "Wed, 21 Oct 2015 07:28:00 GMT"
	)
	type seed struct {
		inm, im, ims, ius, ir, etag string
		lastModMs                   int64
		head                        bool
	}
	for _, s := range []seed{
		{inm: `"abc"`, etag: "abc"},
		{inm: `"a", W/"b"`, etag: "b"},
		{inm: `"a", W/"b"`, etag: "c", head: true},
		{inm: `W/"abc"`, etag: "abc"},
		{inm: `*`, etag: "abc"},
		{inm: `"a" ,,	"b"`, etag: "b"},
		{inm: `"686897696a7c876b7e"`, etag: "686897696a7c876b7e", ims: d2015, lastModMs: lm2015},
		{inm: `"x"`, etag: "abc", ims: d2015, lastModMs: lm2015},
		{ims: d2015, lastModMs: lm2015},
		{ims: d2015, lastModMs: lm2015 + 999},
		{ims: d2015, lastModMs: lm2015 + 1000},
		{ims: "Wednesday, 21-Oct-15 07:28:00 GMT", lastModMs: lm2015},
		{ims: "Wed Oct 21 07:28:00 2015", lastModMs: lm2015 - 1000},
		{ims: "yesterday", lastModMs: lm2015},
		{im: `"abc"`, etag: "abc"},
		{im: `W/"abc"`, etag: "abc"},
		{im: `"x", "abc"`, etag: "abc"},
		{im: `*`, etag: ""},
		{im: `"abc"`, etag: ""},
		{ius: d2015, lastModMs: lm2015},
		{ius: d2015, lastModMs: lm2015 + 1000},
		{im: `"abc"`, ius: "Thu, 01 Jan 1970 00:00:00 GMT", etag: "abc", lastModMs: lm2015},
		{ir: `"abc"`, etag: "abc"},
		{ir: `"abc"`, etag: "abd"},
		{ir: `W/"abc"`, etag: "abc"},
		{ir: d2015, lastModMs: lm2015 + 500},
		{ir: d2015, lastModMs: lm2015 + 1000},
		{ir: `"a", "b"`, etag: "a"},
		{inm: `"abc`, im: `abc"`, ir: `"abc`, etag: "abc"}, // malformed
		{inm: `w/"abc"`, etag: "abc"},
		{inm: `"abc"`, etag: "W/abc"},                 // weak entry: If-None-Match still matches
		{im: `"abc"`, etag: "W/abc"},                  // but If-Match never does
		{ir: `"abc"`, etag: "W/abc"},                  // nor If-Range
		{ir: d2015, etag: "W/abc", lastModMs: lm2015}, // a date starting with "W"
		{inm: "\x00\xff,", im: "W/", ims: "\r\n", ius: ",", ir: `"`, etag: `"`, lastModMs: -1},
	} {
		f.Add(s.inm, s.im, s.ims, s.ius, s.ir, s.etag, s.lastModMs, s.head)
	}
	names := []string{fasthttp.HeaderIfNoneMatch, fasthttp.HeaderIfMatch, fasthttp.HeaderIfModifiedSince, fasthttp.HeaderIfUnmodifiedSince, fasthttp.HeaderIfRange}
	f.Fuzz(func(t *testing.T, inm, im, ims, ius, ir, etag string, lastModMs int64, head bool) {
		var lm time.Time
		if lastModMs != 0 {
			lm = time.UnixMilli(lastModMs % (1 << 42)).UTC() // 1831 to 2109
		}
		body := []byte("0123456789")
		newEntry := func() *cache.Entry {
			_, quoted, _ := entryTag(etag)
			// Received long after any Last-Modified the fuzzer makes:
			// the date is a strong validator (the edge's own tests cover
			// a weak one).
			received := time.Date(2110, 1, 1, 0, 0, 0, 0, time.UTC)
			return &cache.Entry{Status: fasthttp.StatusOK, Body: body, ETag: quoted, LastModified: lm, StoredAt: received}
		}
		method := fasthttp.MethodGet
		if head {
			method = fasthttp.MethodHead
		}
		values := []string{inm, im, ims, ius, ir}

		// Any bytes, set directly: no panic.
		var loose fasthttp.RequestCtx
		loose.Request.Header.SetMethod(method)
		loose.Request.Header.Set(fasthttp.HeaderRange, "bytes=0-0")
		for i, v := range values {
			loose.Request.Header.Set(names[i], v)
		}
		lh := &loose.Request.Header
		scanRequest(lh)
		preconditionFailed(lh, newEntry())
		notModified(lh, newEntry())
		ifRangeHolds(lh, newEntry())
		(&Edge{}).serveEntry(&loose, newEntry(), time.Now(), statusHit)

		// As fasthttp's server reads them: against the model.
		for i, v := range values {
			values[i] = strings.Trim(v, " \t")
		}
		ctx, ok := conditionalRequest(method, names, values)
		if !ok {
			return
		}
		h := &ctx.Request.Header
		lmText := "none"
		if !lm.IsZero() {
			lmText = lm.Format(time.RFC3339Nano)
		}
		what := method + " with If-None-Match " + strconv.Quote(values[0]) + ", If-Match " + strconv.Quote(values[1]) +
			", If-Modified-Since " + strconv.Quote(values[2]) + ", If-Unmodified-Since " + strconv.Quote(values[3]) +
			", If-Range " + strconv.Quote(values[4]) + "; entry ETag " + strconv.Quote(etag) + ", Last-Modified " + lmText
		anyIf := strings.Join(values, "") != ""
		if conditional, ranged := scanRequest(h); conditional != anyIf || !ranged {
			t.Fatalf("%s: scanRequest = %v, %v; want %v, true", what, conditional, ranged, anyIf)
		}
		m := modelConditionals([]byte(values[0]), []byte(values[1]), []byte(values[2]), []byte(values[3]), []byte(values[4]), etag, lm)
		if got := preconditionFailed(h, newEntry()); m.failedKnown && got != m.failed {
			t.Fatalf("%s: preconditionFailed = %v, want %v", what, got, m.failed)
		}
		if got := notModified(h, newEntry()); m.notModKnown && got != m.notMod {
			t.Fatalf("%s: notModified = %v, want %v", what, got, m.notMod)
		}
		if got := ifRangeHolds(h, newEntry()); m.rangeKnown && got != m.rangeHolds {
			t.Fatalf("%s: ifRangeHolds = %v, want %v", what, got, m.rangeHolds)
		}

		// The whole answer, RFC 9110 §13.2.2: preconditions in order, then
		// If-Range decides between 206 and 200.
		(&Edge{}).serveEntry(ctx, newEntry(), time.Now(), statusHit)
		status, gotBody := ctx.Response.StatusCode(), ctx.Response.Body()
		var want int
		switch {
		case !m.failedKnown:
			return
		case m.failed:
			want = fasthttp.StatusPreconditionFailed
		case !m.notModKnown:
			return
		case m.notMod:
			want = fasthttp.StatusNotModified
		case !m.rangeKnown:
			return
		case m.rangeHolds:
			want = fasthttp.StatusPartialContent
		default:
			want = fasthttp.StatusOK
		}
		if status != want {
			t.Fatalf("%s: status %d, want %d", what, status, want)
		}
		wantBody := ""
		switch {
		case head || want == fasthttp.StatusNotModified || want == fasthttp.StatusPreconditionFailed:
		case want == fasthttp.StatusPartialContent:
			wantBody = "0"
		default:
			wantBody = string(body)
		}
		if string(gotBody) != wantBody {
			t.Fatalf("%s: status %d with body %q, want %q", what, status, gotBody, wantBody)
		}
	})
}

// framingModel reads a raw header block as lines ending at LF (RFC 9112
// §2.2) and tells whether a line starts with SP or HT (an obsolete fold,
// §5.2) and whether one line names Transfer-Encoding and another
// Content-Length (§6.1): a line names a field when the bytes before its
// first ':', without the SP and HT a lenient parser drops after a name,
// equal the name ASCII case-insensitively. plain is false when a name holds
// a CR, VT, FF or non-ASCII byte, where Go's bytes.TrimSpace and
// strings.EqualFold see white space or a case fold that no HTTP parser
// does.
func framingModel(raw []byte) (fold, te, cl, plain bool) {
	plain = true
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			fold = true
			continue
		}
		name, _, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		for _, c := range name {
			if c == '\r' || c == '\v' || c == '\f' || c >= 0x80 {
				plain = false
			}
		}
		name = bytes.TrimRight(name, " \t")
		te = te || asciiEqualFold(name, "transfer-encoding")
		cl = cl || asciiEqualFold(name, "content-length")
	}
	return fold, te, cl, plain
}

// lenientFraming is framingModel with Go's notion of white space and case
// (bytes.TrimSpace, strings.EqualFold): the most a line may be read as.
func lenientFraming(raw []byte) (te, cl bool) {
	for line := range bytes.SplitSeq(raw, []byte("\n")) {
		name, _, found := bytes.Cut(line, []byte(":"))
		if !found {
			continue
		}
		name = bytes.TrimSpace(name)
		te = te || strings.EqualFold(string(name), "transfer-encoding")
		cl = cl || strings.EqualFold(string(name), "content-length")
	}
	return te, cl
}

// FuzzFramingProblem: for any raw header block, framingProblem never panics
// and answers "", its folding reason or its both-framings reason; it
// reports folding exactly when a line starts with SP or HT; otherwise it
// reports both framings whenever framingModel finds a Transfer-Encoding
// line and a Content-Length line, and only then when the names are plain
// ASCII (else only when Go's white space and case folding read them so).
// The same holds for the raw headers fasthttp's server keeps for a request
// carrying the block, when it accepts it.
func FuzzFramingProblem(f *testing.F) {
	for _, s := range []string{
		"Host: example.com\r\nContent-Length: 5\r\n\r\n",
		"Host: example.com\r\nTransfer-Encoding: chunked\r\n\r\n",
		"Host: example.com\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
		"content-length: 0\ntransfer-encoding: chunked\n",
		"CONTENT-LENGTH: 1\r\nTRANSFER-ENCODING: chunked",
		"Content-Length : 5\r\nTransfer-Encoding\t: chunked\r\n",
		"Content-Lengthy: 5\r\nTransfer-Encodings: chunked\r\n",
		"X-Note: Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
		"Transfer-Encoding\r\nContent-Length: 1\r\n",
		"X-Folded: a\r\n b\r\n",
		"Host: example.com\r\n\tTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
		" Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
		"Content-Length: 5\r\nContent-Length: 5\r\n",
		"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
		"Content-Length: 5\r\n\r\nTransfer-Encoding: chunked\r\n",
		"Content-Length\r: 5\r\nTransfer-Encoding: chunked\r\n",
		"\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	// The three answers, whatever their type: nothing, folding, both.
	none := framingProblem(nil)
	foldMsg := framingProblem([]byte("X-Folded: a\r\n b\r\n"))
	bothMsg := framingProblem([]byte("Content-Length: 1\r\nTransfer-Encoding: chunked\r\n"))
	if foldMsg == none || bothMsg == none || foldMsg == bothMsg {
		f.Fatalf("framingProblem answers: none %v, fold %v, both %v: want three different ones", none, foldMsg, bothMsg)
	}
	check := func(t *testing.T, what string, raw []byte) {
		t.Helper()
		got := framingProblem(raw)
		fold, te, cl, plain := framingModel(raw)
		lte, lcl := lenientFraming(raw)
		switch {
		case got != none && got != foldMsg && got != bothMsg:
			t.Fatalf("%s %q: framingProblem = %v, neither %v, %v nor %v", what, raw, got, none, foldMsg, bothMsg)
		case fold != (got == foldMsg):
			t.Fatalf("%s %q: framingProblem = %v, but a line starting with SP or HT is %v", what, raw, got, fold)
		case fold:
		case te && cl && got != bothMsg:
			t.Fatalf("%s %q: framingProblem = %v, but it holds both a Transfer-Encoding and a Content-Length line", what, raw, got)
		case got == bothMsg && plain && !(te && cl):
			t.Fatalf("%s %q: framingProblem = %v, but no line names Transfer-Encoding (%v) or none Content-Length (%v)", what, raw, got, te, cl)
		case got == bothMsg && !(lte && lcl):
			t.Fatalf("%s %q: framingProblem = %v, but even read leniently no line names Transfer-Encoding (%v) or none Content-Length (%v)", what, raw, got, lte, lcl)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		check(t, "header block", raw)

		var h fasthttp.RequestHeader
		req := append([]byte("POST / HTTP/1.1\r\nHost: example.com\r\n"), raw...)
		req = append(req, "\r\n\r\n"...)
		if err := h.Read(bufio.NewReader(bytes.NewReader(req))); err != nil {
			return
		}
		check(t, "fasthttp's raw headers for block", h.RawHeaders())
	})
}
