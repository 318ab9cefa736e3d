package edge

import (
	"net/url"
	"sync"

	"github.com/valyala/fasthttp"
)

// Vary: a response that varies by request headers is stored under its
// primary key plus the values of those headers. The names are learned from
// the first response for a primary key and looked up before the cache.
type varyNames struct {
	m sync.Map // primary key (string) → []string
}

func (e *Edge) varyOf(primary []byte) []string {
	v, ok := e.vary.m.Load(b2s(primary))
	if !ok {
		return nil
	}
	return v.([]string)
}

func (e *Edge) learnVary(primary string, names []string) {
	e.vary.m.Store(primary, names)
}

// appendVary adds each varying request header's value to the key.
func appendVary(key []byte, names []string, h *fasthttp.RequestHeader) []byte {
	for _, name := range names {
		key = append(key, 0)
		key = append(key, name...)
		key = append(key, '=')
		key = append(key, h.Peek(name)...)
	}
	return key
}

// unescape decodes %XX once ('+' stays '+'), as the S3 API does for keys.
func unescape(s string) (string, error) {
	return url.PathUnescape(s)
}

// negotiation are the request headers an origin commonly varies by; they
// go to the origin even before a Vary is known, so the first response is
// the variant this client asked for.
var negotiation = []string{"Accept", "Accept-Encoding", "Accept-Language"}

// varyHeaders copies the request's values of the varying headers (and of
// the negotiation headers), which the origin must see to answer for this
// variant.
func varyHeaders(names []string, h *fasthttp.RequestHeader) map[string]string {
	out := make(map[string]string, len(names)+len(negotiation))
	for _, list := range [][]string{negotiation, names} {
		for _, n := range list {
			if v := h.Peek(n); len(v) > 0 {
				out[n] = string(v)
			}
		}
	}
	return out
}
