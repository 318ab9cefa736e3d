package sigv4

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	iso8601Basic = "20060102T150405Z"
	scopeDate    = "20060102"

	// maxPresignExpiry is S3's limit on X-Amz-Expires: seven days.
	maxPresignExpiry = 7 * 24 * 60 * 60
)

// credential is the Credential=AKID/date/region/service/aws4_request part.
type credential struct {
	accessKeyID string
	date        string // yyyymmdd
	region      string
	service     string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/" + scopeTerminator
}

// signedAuth is what the Authorization header or the presigned query says.
type signedAuth struct {
	cred      credential
	signed    []string // signed header names, as listed
	signature string   // 64 hex digits
}

// parseAuthorization parses an Authorization header value that starts with
// "AWS4-HMAC-SHA256 ". Errors are details for ErrAuthorizationHeaderMalformed.
func parseAuthorization(value string) (signedAuth, string) {
	var a signedAuth
	rest, ok := strings.CutPrefix(value, algorithm+" ")
	if !ok {
		return a, "the algorithm must be " + algorithm
	}
	var seen [3]bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		key, val, ok := strings.Cut(part, "=")
		if !ok {
			return a, fmt.Sprintf("%q is not a key=value component", part)
		}
		var i int
		switch key {
		case "Credential":
			i = 0
		case "SignedHeaders":
			i = 1
		case "Signature":
			i = 2
		default:
			return a, fmt.Sprintf("unknown component %q", key)
		}
		if seen[i] {
			return a, key + " is given twice"
		}
		seen[i] = true
		var detail string
		switch i {
		case 0:
			a.cred, detail = parseCredential(val)
		case 1:
			a.signed, detail = parseSignedHeaders(val)
		case 2:
			a.signature, detail = parseSignature(val)
		}
		if detail != "" {
			return a, detail
		}
	}
	for i, name := range []string{"Credential", "SignedHeaders", "Signature"} {
		if !seen[i] {
			return a, "missing " + name
		}
	}
	return a, ""
}

// parseCredential parses AKID/yyyymmdd/region/service/aws4_request. The
// access key is everything before the last four fields.
func parseCredential(v string) (credential, string) {
	var c credential
	parts := strings.Split(v, "/")
	if len(parts) < 5 {
		return c, fmt.Sprintf("credential %q must be access-key/date/region/service/aws4_request", v)
	}
	n := len(parts)
	c = credential{
		accessKeyID: strings.Join(parts[:n-4], "/"),
		date:        parts[n-4],
		region:      parts[n-3],
		service:     parts[n-2],
	}
	switch {
	case c.accessKeyID == "":
		return c, "the credential has an empty access key id"
	case !validScopeDate(c.date):
		return c, fmt.Sprintf("the credential date %q is not yyyymmdd", c.date)
	case c.region == "":
		return c, "the credential has an empty region"
	case c.service == "":
		return c, "the credential has an empty service"
	case parts[n-1] != scopeTerminator:
		return c, fmt.Sprintf("the credential must end in %s, not %q", scopeTerminator, parts[n-1])
	}
	return c, ""
}

func validScopeDate(s string) bool {
	if len(s) != len(scopeDate) {
		return false
	}
	_, err := time.Parse(scopeDate, s)
	return err == nil
}

// parseSignedHeaders splits the ';'-separated list and checks that it names
// headers, once each, in lower case (the canonical request lists them as
// sent, so an upper-case name could never have matched a lower-cased header
// map anyway).
func parseSignedHeaders(v string) ([]string, string) {
	if v == "" {
		return nil, "SignedHeaders is empty"
	}
	names := strings.Split(v, ";")
	seen := make(map[string]bool, len(names))
	for _, name := range names {
		if name == "" {
			return nil, fmt.Sprintf("SignedHeaders %q has an empty name", v)
		}
		if name != strings.ToLower(name) || strings.ContainsAny(name, " \t:") {
			return nil, fmt.Sprintf("SignedHeaders has the invalid name %q", name)
		}
		if seen[name] {
			return nil, fmt.Sprintf("SignedHeaders lists %q twice", name)
		}
		seen[name] = true
	}
	if !seen["host"] {
		return nil, "SignedHeaders must include host"
	}
	return names, ""
}

func parseSignature(v string) (string, string) {
	if len(v) != 64 {
		return "", "the signature must be 64 hex digits"
	}
	for i := 0; i < len(v); i++ {
		if !isHex(v[i]) {
			return "", "the signature must be 64 hex digits"
		}
	}
	return strings.ToLower(v), ""
}

// parseRequestDate reads the request time of a header-signed request:
// X-Amz-Date, or the Date header when X-Amz-Date is absent. Date may use
// the basic ISO 8601 form or any HTTP date form.
func parseRequestDate(h map[string][]string) (time.Time, string) {
	if v := h["x-amz-date"]; len(v) > 0 {
		t, err := time.Parse(iso8601Basic, strings.TrimSpace(v[0]))
		if err != nil {
			return t, fmt.Sprintf("X-Amz-Date %q is not in the form %s", v[0], iso8601Basic)
		}
		return t, ""
	}
	if v := h["date"]; len(v) > 0 {
		s := strings.TrimSpace(v[0])
		if t, err := time.Parse(iso8601Basic, s); err == nil {
			return t, ""
		}
		if t, err := http.ParseTime(s); err == nil {
			return t.UTC(), ""
		}
		return time.Time{}, fmt.Sprintf("Date %q is not a valid date", v[0])
	}
	return time.Time{}, "AWS authentication requires a valid Date or X-Amz-Date header"
}

// presignParams holds the X-Amz-* parameters of a presigned URL.
type presignParams struct {
	signedAuth
	date    time.Time
	expires time.Duration
}

// parsePresign reads the presigned-URL parameters; each must appear once.
// Errors are details for ErrAuthorizationQueryParametersError.
func parsePresign(params []queryParam) (presignParams, string) {
	var p presignParams
	names := []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature"}
	values := make(map[string]string, len(names))
	counts := make(map[string]int, len(names))
	for _, q := range params {
		counts[q.name]++
		values[q.name] = q.value
	}
	for _, name := range names {
		switch counts[name] {
		case 0:
			return p, "presigned requests require X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Expires; missing " + name
		case 1:
		default:
			return p, name + " is given more than once"
		}
	}
	if values["X-Amz-Algorithm"] != algorithm {
		return p, "X-Amz-Algorithm must be " + algorithm
	}
	var detail string
	if p.cred, detail = parseCredential(values["X-Amz-Credential"]); detail != "" {
		return p, detail
	}
	if p.signed, detail = parseSignedHeaders(values["X-Amz-SignedHeaders"]); detail != "" {
		return p, detail
	}
	if p.signature, detail = parseSignature(values["X-Amz-Signature"]); detail != "" {
		return p, detail
	}
	t, err := time.Parse(iso8601Basic, values["X-Amz-Date"])
	if err != nil {
		return p, fmt.Sprintf("X-Amz-Date %q is not in the form %s", values["X-Amz-Date"], iso8601Basic)
	}
	p.date = t
	exp := values["X-Amz-Expires"]
	secs, err := strconv.Atoi(exp)
	if err != nil || exp[0] == '+' || exp[0] == '-' || secs < 1 || secs > maxPresignExpiry {
		return p, fmt.Sprintf("X-Amz-Expires %q must be a number of seconds from 1 to %d", exp, maxPresignExpiry)
	}
	p.expires = time.Duration(secs) * time.Second
	return p, ""
}
