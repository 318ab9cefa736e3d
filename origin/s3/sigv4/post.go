package sigv4

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidPOSTField is returned by VerifyPOST when x-amz-credential or
// x-amz-date cannot be used as sent: a malformed credential, a date that is
// not basic ISO 8601, or a credential scope naming another day, region or
// service. It comes wrapped in an *Error whose Detail says which (and
// whose Region names the region to use, when the region was wrong).
var ErrInvalidPOSTField = errors.New("sigv4: invalid POST form signing field")

// PostAuth is the result of a successful VerifyPOST: who signed the policy,
// and for which region and time.
type PostAuth struct {
	AccessKeyID string
	Region      string    // the region of the credential scope
	Date        time.Time // x-amz-date
}

// VerifyPOST checks the signature of a browser-upload form (S3's POST
// Object with a SigV4 POST policy). The fields are the form values as
// received: credential is x-amz-credential, amzDate x-amz-date, policy the
// base64 policy exactly as sent (it is the string to sign, so it is not
// decoded here), signature x-amz-signature.
//
// The signature is the hex HMAC-SHA256 of policy under the signing key of
// the credential's secret, date, region and service. The scope is checked
// as for header signatures: its date must be the day of x-amz-date, its
// region one of AcceptRegions and its service Service. The request time is
// not compared with the clock: a POST policy carries its own signed
// expiration, which the caller checks once it has decoded the policy.
//
// Errors: ErrInvalidPOSTField (malformed credential or date, wrong scope),
// ErrInvalidAccessKeyID, ErrSignatureDoesNotMatch, each wrapped in *Error.
func (v *Verifier) VerifyPOST(credential, amzDate, policy, signature string) (*PostAuth, error) {
	c, detail := parseCredential(credential)
	if detail != "" {
		return nil, fail(ErrInvalidPOSTField, "x-amz-credential: "+detail)
	}
	t, err := time.Parse(iso8601Basic, amzDate)
	if err != nil {
		return nil, fail(ErrInvalidPOSTField, fmt.Sprintf("x-amz-date %q must be in the ISO 8601 basic format yyyyMMddTHHmmssZ", amzDate))
	}
	if detail, region := v.checkScope(c, t); detail != "" {
		return nil, &Error{Err: ErrInvalidPOSTField, Detail: "x-amz-credential: " + detail, Region: region}
	}
	if v.Creds == nil {
		return nil, fail(ErrInvalidAccessKeyID, "no credentials are configured")
	}
	secret, ok := v.Creds.SecretKey(c.accessKeyID)
	if !ok {
		return nil, fail(ErrInvalidAccessKeyID, fmt.Sprintf("access key id %q", c.accessKeyID))
	}
	key := v.signingKey(secret, c.date, c.region, c.service)
	if !sameSignature(postSignature(key, policy), signature) {
		return nil, fail(ErrSignatureDoesNotMatch, "the x-amz-signature field is not the signature of the policy field; check the secret key and the signing method")
	}
	return &PostAuth{AccessKeyID: c.accessKeyID, Region: c.region, Date: t}, nil
}

// postSignature is the signature of a POST policy: the string to sign is
// the base64 policy itself.
func postSignature(key []byte, policyBase64 string) string {
	return signature(key, policyBase64)
}
