package sigv4

import (
	"sort"
	"strings"
)

// queryParam is one name=value pair of the query string, percent-decoded.
type queryParam struct {
	name, value string
}

// parseQuery splits a raw query string into decoded parameters, keeping
// their order and repetitions. Only %XX escapes are decoded: S3 reads a bare
// '+' as a plus sign, not as a space (SDKs always send %20 and %2B), and an
// invalid escape is kept as written, so it simply fails to match whatever
// the client signed. Empty segments ("a&&b", a trailing '&') are skipped.
func parseQuery(raw string) []queryParam {
	var params []queryParam
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		params = append(params, queryParam{percentDecode(name), percentDecode(value)})
	}
	return params
}

// canonicalQuery builds the canonical query string of SigV4: every
// parameter re-encoded with uriEncode, sorted by encoded name then encoded
// value, joined with '&'. A parameter sent without '=' gets an empty value.
// skip names a parameter to leave out (X-Amz-Signature of a presigned URL).
func canonicalQuery(params []queryParam, skip string) string {
	encoded := make([]queryParam, 0, len(params))
	for _, p := range params {
		if skip != "" && p.name == skip {
			continue
		}
		encoded = append(encoded, queryParam{uriEncode(p.name, false), uriEncode(p.value, false)})
	}
	sort.Slice(encoded, func(i, j int) bool {
		if encoded[i].name != encoded[j].name {
			return encoded[i].name < encoded[j].name
		}
		return encoded[i].value < encoded[j].value
	})
	var b strings.Builder
	for i, p := range encoded {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalURIs returns the canonical URI candidates for a raw request
// path. S3 signs the path as it is sent (no normalisation of "//" or "..",
// no second round of encoding), so the raw path comes first. The second
// candidate, tried only when it differs, re-encodes each segment the way
// AWS documents it: it accepts clients that send a reserved character such
// as '!' literally or escape an unreserved one (%7E) yet sign the standard
// form. Both spell the same key, so accepting either gives nothing away.
func canonicalURIs(rawPath string) []string {
	if rawPath == "" {
		return []string{"/"}
	}
	segments := strings.Split(rawPath, "/")
	for i, s := range segments {
		segments[i] = uriEncode(percentDecode(s), false)
	}
	normalised := strings.Join(segments, "/")
	if normalised == rawPath {
		return []string{rawPath}
	}
	return []string{rawPath, normalised}
}

// canonicalHeaders returns the canonical header block: one "name:value\n"
// line per signed header, values trimmed, runs of inner spaces collapsed,
// repeated header lines joined with ','. A signed header that is absent
// signs as an empty value, which AWS does too.
func canonicalHeaders(r *Request, signed []string) string {
	var b strings.Builder
	for _, name := range signed {
		b.WriteString(name)
		b.WriteByte(':')
		values := r.Header[name]
		if name == "host" && r.Host != "" {
			values = []string{r.Host}
		}
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimAll(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// trimAll trims the value and collapses every run of spaces inside it to
// one space, as the SigV4 "Trimall" step does.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// canonicalRequest joins the parts of the canonical request.
func canonicalRequest(method, uri, query, headers string, signed []string, payloadHash string) string {
	var b strings.Builder
	b.Grow(len(method) + len(uri) + len(query) + len(headers) + len(payloadHash) + 64)
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(uri)
	b.WriteByte('\n')
	b.WriteString(query)
	b.WriteByte('\n')
	b.WriteString(headers)
	b.WriteByte('\n')
	b.WriteString(strings.Join(signed, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// uriEncode percent-encodes every byte except the unreserved characters
// A-Z a-z 0-9 - _ . ~ (and '/' when keepSlash), with upper-case hex, as
// SigV4 requires.
func uriEncode(s string, keepSlash bool) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// percentDecode decodes valid %XX escapes (either case) and leaves
// everything else, including '+' and broken escapes, as it is.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
