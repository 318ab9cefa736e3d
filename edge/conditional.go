package edge

import (
	"bytes"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
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
