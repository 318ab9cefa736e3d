package edge

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
)

// maxRanges caps the ranges of one request: more is a denial-of-service
// pattern (RFC 9110 §14.1.1), answered with the whole representation.
const maxRanges = 16

type byteRange struct{ start, end int64 } // inclusive

// parseRanges reads a bytes Range header against a representation of size
// bytes. ok is false when the header should be ignored (other unit, bad
// syntax, too many or overlapping ranges): the whole body is then sent.
// An empty, ok result means no range is satisfiable (416).
func parseRanges(h []byte, size int64) (ranges []byteRange, ok bool) {
	spec, found := bytes.CutPrefix(h, []byte("bytes="))
	if !found {
		return nil, false
	}
	var count int
	for part := range bytes.SplitSeq(spec, []byte(",")) {
		part = trimSpace(part)
		if len(part) == 0 {
			continue
		}
		if count++; count > maxRanges {
			return nil, false
		}
		first, last, dash := bytes.Cut(part, []byte("-"))
		if !dash {
			return nil, false
		}
		var r byteRange
		if len(first) == 0 { // suffix: the last N bytes
			n, ok := digits(last)
			if !ok {
				return nil, false
			}
			if n == 0 || size == 0 {
				continue
			}
			r = byteRange{max(size-n, 0), size - 1}
		} else {
			f, ok := digits(first)
			if !ok {
				return nil, false
			}
			l := size - 1
			if len(last) > 0 {
				if l, ok = digits(last); !ok || l < f {
					return nil, false
				}
				l = min(l, size-1)
			}
			if f >= size {
				continue // unsatisfiable on its own
			}
			r = byteRange{f, l}
		}
		ranges = append(ranges, r)
	}
	if count == 0 {
		return nil, false
	}
	for i := range ranges {
		for j := i + 1; j < len(ranges); j++ {
			if ranges[i].start <= ranges[j].end && ranges[j].start <= ranges[i].end {
				return nil, false // overlapping: send it whole
			}
		}
	}
	return ranges, true
}

func digits(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// serveRanges answers a Range request from a full cached body: 206 with
// one range or multipart/byteranges, or 416. It returns false when the
// whole body should be sent instead.
func serveRanges(ctx *fasthttp.RequestCtx, entry *cache.Entry) bool {
	body := entry.Body
	size := int64(len(body))
	ranges, ok := parseRanges(ctx.Request.Header.Peek(fasthttp.HeaderRange), size)
	if !ok {
		return false
	}
	rh := &ctx.Response.Header
	if len(ranges) == 0 {
		ctx.SetStatusCode(fasthttp.StatusRequestedRangeNotSatisfiable)
		rh.Set(fasthttp.HeaderContentRange, "bytes */"+strconv.FormatInt(size, 10))
		ctx.Response.ResetBody()
		return true
	}
	ctx.SetStatusCode(fasthttp.StatusPartialContent)
	if len(ranges) == 1 {
		r := ranges[0]
		rh.Set(fasthttp.HeaderContentRange, contentRange(r, size))
		if ctx.IsHead() {
			ctx.Response.SkipBody = true
			rh.SetContentLength(int(r.end - r.start + 1))
			return true
		}
		setBody(ctx, body[r.start:r.end+1])
		return true
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := hex.EncodeToString(rnd[:])
	ct := rh.ContentType()
	var out bytes.Buffer
	for _, r := range ranges {
		out.WriteString("\r\n--" + boundary + "\r\n")
		if len(ct) > 0 {
			out.WriteString("Content-Type: ")
			out.Write(ct)
			out.WriteString("\r\n")
		}
		out.WriteString("Content-Range: " + contentRange(r, size) + "\r\n\r\n")
		out.Write(body[r.start : r.end+1])
	}
	out.WriteString("\r\n--" + boundary + "--\r\n")
	rh.SetContentType("multipart/byteranges; boundary=" + boundary)
	if ctx.IsHead() {
		ctx.Response.SkipBody = true
		rh.SetContentLength(out.Len())
		return true
	}
	setBody(ctx, out.Bytes())
	return true
}

func contentRange(r byteRange, size int64) string {
	return "bytes " + strconv.FormatInt(r.start, 10) + "-" + strconv.FormatInt(r.end, 10) + "/" + strconv.FormatInt(size, 10)
}
