package edge

import (
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Vary: a response that varies by request headers is stored under its
// primary key plus the values of those headers. The names are learned from
// the first response for a primary key and looked up before the cache, in
// a memo of Config.VaryKeys primary keys.

// Until a response has varied, no request asks the memo (a shard lock and
// a map probe per hit otherwise).
func (e *Edge) varyOf(primary []byte) []string {
	if !e.varied.Load() {
		return nil
	}
	names, _ := e.vary.get(b2s(primary))
	return names
}

func (e *Edge) learnVary(primary string, names []string) {
	e.vary.set(primary, names)
	if len(names) > 0 {
		e.varied.Store(true) // after the set: a request that sees it sees the names
	}
}

// appendVary adds to the key the value ctx's request selects of each
// field a response varies by (variantValue).
func appendVary(key []byte, site *Site, names []string, h *fasthttp.RequestHeader) []byte {
	for _, name := range names {
		key = append(key, 0)
		key = append(key, name...)
		key = append(key, '=')
		if name == "accept-encoding" && site.Negotiation.AcceptEncoding == NegotiationKey {
			key = append(key, normalEncoding(h.Peek(name))...)
		} else {
			key = appendLines(key, h.PeekAll(name))
		}
	}
	return key
}

// appendLines appends a field's lines joined as one value (RFC 9110
// §5.3): a request selects a variant by all of them, as all reach the
// origin.
func appendLines(b []byte, lines [][]byte) []byte {
	for i, v := range lines {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, v...)
	}
	return b
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

// variantValue is what a request sends, and so selects, of a field a
// response varies by: the value as sent, or the normalised one where the
// site keys Accept-Encoding (and sends it normalised).
func variantValue(site *Site, name string, h *fasthttp.RequestHeader) string {
	if strings.EqualFold(name, "Accept-Encoding") && site.Negotiation.AcceptEncoding == NegotiationKey {
		return normalEncoding(h.Peek(name))
	}
	return string(appendLines(nil, h.PeekAll(name)))
}

// negotiated is what an upstream site sends of Accept-Encoding or
// Accept-Language: as the client sent it (forward), normalised (key), or
// nothing (strip) until a response says it varies by the field, after
// which the variants are keyed and each is asked for as its clients ask.
func negotiated(site *Site, name string, vary []string, h *fasthttp.RequestHeader) string {
	mode := site.Negotiation.AcceptLanguage
	if name == "Accept-Encoding" {
		mode = site.Negotiation.AcceptEncoding
	}
	switch {
	case mode == NegotiationKey:
		return normalEncoding(h.Peek(name))
	case mode == NegotiationStrip && !slices.Contains(vary, strings.ToLower(name)):
		return ""
	}
	return string(appendLines(nil, h.PeekAll(name)))
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

// primaryKey is the cache key of ctx without Vary values.
func primaryKey(ctx *fasthttp.RequestCtx, site *Site, path []byte) []byte {
	return appendNegotiationKey(appendKey(nil, site, path, keyQuery(ctx, site, path)), site, &ctx.Request.Header)
}
