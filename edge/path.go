package edge

import (
	"bytes"
	"net/url"
	"strings"
	"sync"
	"unsafe"

	"github.com/valyala/fasthttp"
)

// requestPath is the raw path (no query), decoded by nobody: distinct keys
// such as "a//b" and "a/../b" stay distinct. It is read from the request
// line itself: fasthttp's parsed URI takes a path starting "//" followed,
// anywhere, by "://" for an authority, so "//cdn/secret?u=http://x" would
// become "/secret".
func requestPath(ctx *fasthttp.RequestCtx) []byte { return targetPath(ctx.Request.Header.RequestURI()) }

// requestQuery is the raw query of the request line ("" for none).
func requestQuery(ctx *fasthttp.RequestCtx) []byte {
	t := ctx.Request.Header.RequestURI()
	if i := bytes.IndexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	if i := bytes.IndexByte(t, '?'); i >= 0 {
		return t[i+1:]
	}
	return nil
}

// targetPath is the path of a request-target: origin-form as it is, the
// path of an absolute-form one (scheme://authority/path), "/" for none.
func targetPath(t []byte) []byte {
	for i, c := range t {
		if c == '?' || c == '#' {
			t = t[:i]
			break
		}
	}
	if len(t) > 0 && t[0] == '/' {
		return t
	}
	if i := bytes.Index(t, []byte("://")); i >= 0 {
		rest := t[i+3:]
		if j := bytes.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
	}
	return []byte("/")
}

// keyBufs hold the buffers cache keys are built in: a key escapes (into
// the cache lookup and the fill), so a stack array would be a heap
// allocation on every hit.
var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// appendKey writes the cache key: the site's origin identity, the raw path
// and, for upstream sites, the query as sent (objects of a bucket do not
// vary by query, so it is not part of their key).
func appendKey(dst []byte, site *Site, path, query []byte) []byte {
	dst = append(dst, site.cacheID...)
	dst = append(dst, 0)
	dst = append(dst, path...)
	if site.upstream != nil && len(query) > 0 {
		dst = append(dst, '?')
		dst = append(dst, query...)
	}
	return dst
}

// b2s views b as a string without copying; the string must not outlive b.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unescape decodes %XX once ('+' stays '+'), as the S3 API does for keys.
func unescape(s string) (string, error) {
	return url.PathUnescape(s)
}

// objectOfPath is the object a raw URL path (or path prefix) names on a
// site, as fills key it: the decoded key for a bucket site, the raw path
// for an upstream.
func objectOfPath(site *Site, path string) (string, bool) {
	if site.upstream != nil {
		return path, true
	}
	key, err := unescape(path)
	if err != nil {
		return "", false
	}
	return strings.TrimPrefix(key, "/"), true
}

func objectOf(site *Site, req *fetchRequest) string {
	if site.upstream != nil {
		return req.Path
	}
	return req.Key
}
