package edge

import (
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Vary: a response that varies by request headers is stored under its
// primary key plus the values of those headers. The names are learned from
// the first response for a primary key and looked up before the cache, in
// a memo of Config.VaryKeys primary keys.

func (e *Edge) varyOf(primary []byte) []string {
	names, _ := e.vary.get(b2s(primary))
	return names
}

func (e *Edge) learnVary(primary string, names []string) { e.vary.set(primary, names) }

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

// appendVaryValues is appendVary with the values given by name.
func appendVaryValues(key []byte, names []string, values map[string]string) []byte {
	for _, name := range names {
		key = append(key, 0)
		key = append(key, name...)
		key = append(key, '=')
		key = append(key, values[name]...)
	}
	return key
}

// negotiation are the request headers an origin commonly varies by; an
// upstream site sends them even before a Vary is known (as its Negotiation
// allows), so the first response is the variant this client asked for.
var negotiation = []string{"Accept", "Accept-Encoding", "Accept-Language"}

// forwardHeaders are the request headers a fill sends to the origin: the
// fields the response is known to vary by, and for upstream sites the
// negotiation headers, as the site's Negotiation says. Nothing else of the
// request reaches the origin, so no unkeyed header can shape a cached answer.
func forwardHeaders(site *Site, names []string, h *fasthttp.RequestHeader) map[string]string {
	out := make(map[string]string, len(names)+len(negotiation))
	if site.upstream != nil {
		for _, n := range negotiation {
			if v := negotiated(site, n, h); v != "" {
				out[n] = v
			}
		}
	}
	for _, n := range names {
		if v := h.Peek(n); len(v) > 0 {
			out[n] = string(v)
		}
		if strings.EqualFold(n, "Accept-Encoding") && site.Negotiation.AcceptEncoding == NegotiationKey {
			out[n] = normalEncoding(h.Peek(n)) // keyed normalised: sent normalised
		}
	}
	return out
}

// negotiated is what a site sends of one negotiation header.
func negotiated(site *Site, name string, h *fasthttp.RequestHeader) string {
	switch {
	case name == "Accept-Encoding" && site.Negotiation.AcceptEncoding == NegotiationStrip,
		name == "Accept-Language" && site.Negotiation.AcceptLanguage == NegotiationStrip:
		return ""
	case name == "Accept-Encoding" && site.Negotiation.AcceptEncoding == NegotiationKey:
		return normalEncoding(h.Peek(name))
	}
	return string(h.Peek(name))
}

// normalEncoding reduces an Accept-Encoding to the one coding a cache
// keys by: br, else gzip, else identity.
func normalEncoding(v []byte) string {
	accepts := func(coding string) bool {
		for part := range strings.SplitSeq(string(v), ",") {
			name, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(name), coding) {
				continue
			}
			q := 1.0
			if k, val, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = f
				}
			}
			return q > 0
		}
		return false
	}
	switch {
	case accepts("br"):
		return "br"
	case accepts("gzip"):
		return "gzip"
	}
	return "identity"
}

// appendNegotiationKey adds the normalised Accept-Encoding to the primary
// key of a site that keys by it.
func appendNegotiationKey(key []byte, site *Site, h *fasthttp.RequestHeader) []byte {
	if site.upstream == nil || site.Negotiation.AcceptEncoding != NegotiationKey {
		return key
	}
	key = append(key, 0)
	key = append(key, "ae="...)
	return append(key, normalEncoding(h.Peek("Accept-Encoding"))...)
}
