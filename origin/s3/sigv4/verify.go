package sigv4

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is the part of an HTTP request that SigV4 covers, filled by the
// HTTP layer without any decoding or normalisation of its own.
type Request struct {
	Method   string
	RawPath  string // the path exactly as on the wire, still percent-encoded
	RawQuery string // the query string as on the wire, without '?'
	Host     string // the Host header value
	// Header maps lower-cased names to the values as received; a header
	// sent on several lines keeps one entry per line, in order.
	Header map[string][]string
}

// Credentials looks up the secret of an access key.
type Credentials interface {
	SecretKey(accessKeyID string) (secret string, ok bool)
}

// Verifier checks AWS Signature Version 4 on requests. Creds is required;
// every other field has a default. A Verifier is safe for concurrent use;
// do not change its fields after the first Verify.
type Verifier struct {
	Creds Credentials

	// AcceptRegions lists the regions a credential scope may name, e.g. the
	// configured one plus "us-east-1" and "auto" (what clients default to).
	// Empty accepts any region.
	AcceptRegions []string

	// Service is the service a credential scope must name; default "s3".
	Service string

	// MaxSkew is how far a header-signed request's date may be from Now,
	// either way, and how far in the future a presigned URL's date may be;
	// default 15 minutes, as S3.
	MaxSkew time.Duration

	// Now is the clock; default time.Now.
	Now func() time.Time

	mu   sync.Mutex
	keys map[keyCacheKey][]byte // derived signing keys, see signingKey
}

const defaultMaxSkew = 15 * time.Minute

func (v *Verifier) service() string {
	if v.Service == "" {
		return "s3"
	}
	return v.Service
}

func (v *Verifier) now() time.Time {
	if v.Now == nil {
		return time.Now()
	}
	return v.Now()
}

func (v *Verifier) maxSkew() time.Duration {
	if v.MaxSkew <= 0 {
		return defaultMaxSkew
	}
	return v.MaxSkew
}

// Verify checks the request's signature, sent either in the Authorization
// header or as a presigned URL's query parameters. It returns ErrAnonymous
// for a request that carries neither. On success the Auth says who signed
// and how the body must be read (see Auth.Body).
func (v *Verifier) Verify(r *Request) (*Auth, error) {
	var authz string
	switch values := r.Header["authorization"]; {
	case len(values) > 1:
		return nil, fail(ErrAuthorizationHeaderMalformed, "more than one Authorization header")
	case len(values) == 1:
		authz = strings.TrimSpace(values[0])
	}
	params := parseQuery(r.RawQuery)
	presigned := slices.ContainsFunc(params, func(p queryParam) bool { return p.name == "X-Amz-Algorithm" })

	switch {
	case authz != "" && presigned:
		return nil, fail(ErrMultipleAuth, "only one auth mechanism allowed: Authorization header or X-Amz-Algorithm query parameter")
	case strings.HasPrefix(authz, algorithm+" "):
		return v.verifyHeader(r, authz, params)
	case authz != "":
		scheme, _, _ := strings.Cut(authz, " ")
		return nil, fail(ErrUnsupportedAuth, fmt.Sprintf("authorization scheme %q; use %s", scheme, algorithm))
	case presigned:
		return v.verifyPresigned(r, params)
	case slices.ContainsFunc(params, func(p queryParam) bool { return p.name == "AWSAccessKeyId" }):
		return nil, fail(ErrUnsupportedAuth, "Signature Version 2 presigned URLs are not supported; use "+algorithm)
	}
	return nil, ErrAnonymous
}

func (v *Verifier) verifyHeader(r *Request, authz string, params []queryParam) (*Auth, error) {
	a, detail := parseAuthorization(authz)
	if detail != "" {
		return nil, fail(ErrAuthorizationHeaderMalformed, detail)
	}
	t, detail := parseRequestDate(r.Header)
	if detail != "" {
		return nil, fail(ErrAuthorizationHeaderMalformed, detail)
	}
	if detail, region := v.checkScope(a.cred, t); detail != "" {
		return nil, &Error{Err: ErrAuthorizationHeaderMalformed, Detail: detail, Region: region}
	}
	if now := v.now(); now.Sub(t) > v.maxSkew() || t.Sub(now) > v.maxSkew() {
		return nil, fail(ErrRequestTimeTooSkewed, fmt.Sprintf("request time %s, server time %s", t.Format(iso8601Basic), now.UTC().Format(iso8601Basic)))
	}
	// These two decide the request time and the meaning of the body, so
	// they must be covered by the signature when sent.
	for _, name := range []string{"x-amz-date", "x-amz-content-sha256"} {
		if _, sent := r.Header[name]; sent && !slices.Contains(a.signed, name) {
			return nil, fail(ErrAuthorizationHeaderMalformed, name+" is present but not signed")
		}
	}
	hashes := r.Header["x-amz-content-sha256"]
	if len(hashes) != 1 {
		return nil, fail(ErrInvalidContentSHA256, "a header-signed request needs exactly one x-amz-content-sha256 header")
	}
	auth, err := v.newAuth(r, a, t, hashes[0], false)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignature(r, auth, a, params, "", hashes[0]); err != nil {
		return nil, err
	}
	return auth, nil
}

func (v *Verifier) verifyPresigned(r *Request, params []queryParam) (*Auth, error) {
	p, detail := parsePresign(params)
	if detail != "" {
		return nil, fail(ErrAuthorizationQueryParametersError, detail)
	}
	if detail, region := v.checkScope(p.cred, p.date); detail != "" {
		return nil, &Error{Err: ErrAuthorizationQueryParametersError, Detail: detail, Region: region}
	}
	now := v.now()
	if p.date.Sub(now) > v.maxSkew() {
		return nil, fail(ErrRequestNotYetValid, "X-Amz-Date "+p.date.Format(iso8601Basic)+" is in the future")
	}
	if expiry := p.date.Add(p.expires); now.After(expiry) {
		return nil, fail(ErrExpiredPresign, "expired at "+expiry.Format(iso8601Basic))
	}
	// A presigned URL's payload is unsigned unless the signer put a hash in
	// the query or in a signed header.
	payloadHash := "UNSIGNED-PAYLOAD"
	for _, q := range params {
		if q.name == "X-Amz-Content-Sha256" {
			payloadHash = q.value
		}
	}
	if hashes := r.Header["x-amz-content-sha256"]; len(hashes) == 1 && slices.Contains(p.signed, "x-amz-content-sha256") {
		payloadHash = hashes[0]
	}
	auth, err := v.newAuth(r, p.signedAuth, p.date, payloadHash, true)
	if err != nil {
		return nil, err
	}
	if err := v.checkSignature(r, auth, p.signedAuth, params, "X-Amz-Signature", payloadHash); err != nil {
		return nil, err
	}
	return auth, nil
}

// checkScope checks the credential scope against the request date and the
// accepted regions and service; it returns what is wrong, or "", and the
// region to use when the region was what was wrong.
func (v *Verifier) checkScope(c credential, t time.Time) (detail, region string) {
	if c.date != t.Format(scopeDate) {
		return fmt.Sprintf("invalid credential date %q: it must be the day of the request date %s", c.date, t.Format(iso8601Basic)), ""
	}
	if len(v.AcceptRegions) > 0 && !slices.Contains(v.AcceptRegions, c.region) {
		return fmt.Sprintf("the region %q is wrong; expecting %q", c.region, v.AcceptRegions[0]), v.AcceptRegions[0]
	}
	if c.service != v.service() {
		return fmt.Sprintf("the service %q is wrong; expecting %q", c.service, v.service()), ""
	}
	return "", ""
}

// newAuth builds the Auth of a request from its payload hash and, for
// aws-chunked bodies, its x-amz-decoded-content-length and x-amz-trailer.
func (v *Verifier) newAuth(r *Request, a signedAuth, t time.Time, payloadHash string, presigned bool) (*Auth, error) {
	mode, ok := parsePayloadMode(payloadHash)
	if !ok {
		return nil, fail(ErrInvalidContentSHA256, fmt.Sprintf("%q is neither a hex SHA-256 nor a payload mode", payloadHash))
	}
	auth := &Auth{
		AccessKeyID:   a.cred.accessKeyID,
		Region:        a.cred.region,
		Presigned:     presigned,
		SignedHeaders: a.signed,
		Payload:       mode,
		decodedLength: -1,
		amzDate:       t.Format(iso8601Basic),
		scope:         a.cred.scope(),
	}
	if mode == PayloadSigned {
		auth.ContentSHA256 = strings.ToLower(payloadHash)
	}
	if values := r.Header["x-amz-decoded-content-length"]; len(values) > 0 {
		n, err := strconv.ParseInt(strings.TrimSpace(values[0]), 10, 64)
		if len(values) > 1 || err != nil || n < 0 {
			return nil, fail(ErrDecodedLengthMismatch, fmt.Sprintf("x-amz-decoded-content-length %q is not a length", strings.Join(values, ",")))
		}
		auth.decodedLength = n
	}
	for _, line := range r.Header["x-amz-trailer"] {
		for name := range strings.SplitSeq(line, ",") {
			if name = asciiLower(strings.Trim(name, " \t")); name != "" {
				auth.declaredTrailers = append(auth.declaredTrailers, name)
			}
		}
	}
	return auth, nil
}

// checkSignature recomputes the request signature with the access key's
// secret and compares it with the one sent; payloadHash is the value as
// the client sent it. On success it stores the
// signing state the chunk reader continues from.
func (v *Verifier) checkSignature(r *Request, auth *Auth, a signedAuth, params []queryParam, skip, payloadHash string) error {
	if v.Creds == nil {
		return fail(ErrInvalidAccessKeyID, "no credentials are configured")
	}
	secret, ok := v.Creds.SecretKey(a.cred.accessKeyID)
	if !ok {
		return fail(ErrInvalidAccessKeyID, fmt.Sprintf("access key id %q", a.cred.accessKeyID))
	}
	key := v.signingKey(secret, a.cred.date, a.cred.region, a.cred.service)
	query := canonicalQuery(params, skip)
	headers := canonicalHeaders(r, a.signed)
	for _, uri := range canonicalURIs(r.RawPath) {
		cr := canonicalRequest(r.Method, uri, query, headers, a.signed, payloadHash)
		sig := signature(key, requestStringToSign(auth.amzDate, auth.scope, cr))
		if sameSignature(sig, a.signature) {
			auth.Seed = sig
			auth.key = key
			return nil
		}
	}
	return fail(ErrSignatureDoesNotMatch, "check the secret key and the signing method")
}
