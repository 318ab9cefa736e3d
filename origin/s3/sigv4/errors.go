package sigv4

import "errors"

// Errors returned by Verify and by the readers of Auth.Body. Each may come
// wrapped in an *Error that says what exactly was wrong; match them with
// errors.Is.
var (
	// ErrAnonymous is returned by Verify when the request carries no
	// signature at all; the caller decides whether anonymous access is allowed.
	ErrAnonymous = errors.New("sigv4: request is not signed")

	// ErrUnsupportedAuth is returned for signatures other than
	// AWS4-HMAC-SHA256: Signature Version 2 and other algorithms.
	ErrUnsupportedAuth = errors.New("sigv4: unsupported authorization mechanism")

	// ErrMultipleAuth is returned for a request that carries both an
	// Authorization header and a presigned query.
	ErrMultipleAuth = errors.New("sigv4: more than one authorization mechanism")

	// ErrAuthorizationHeaderMalformed is returned when the Authorization
	// header, its credential scope, or the headers it depends on (the date,
	// the signed header list) cannot be used as sent.
	ErrAuthorizationHeaderMalformed = errors.New("sigv4: authorization header is malformed")

	// ErrAuthorizationQueryParametersError is returned when the X-Amz-*
	// parameters of a presigned URL are missing, repeated or invalid.
	ErrAuthorizationQueryParametersError = errors.New("sigv4: presigned query parameters are malformed")

	// ErrRequestTimeTooSkewed is returned when a header-signed request's date
	// is further than Verifier.MaxSkew from the server's clock.
	ErrRequestTimeTooSkewed = errors.New("sigv4: request time too skewed")

	// ErrExpiredPresign is returned when a presigned URL is used after its
	// X-Amz-Date plus X-Amz-Expires.
	ErrExpiredPresign = errors.New("sigv4: presigned request has expired")

	// ErrRequestNotYetValid is returned when a presigned URL's X-Amz-Date
	// lies more than Verifier.MaxSkew in the future.
	ErrRequestNotYetValid = errors.New("sigv4: presigned request is not valid yet")

	// ErrInvalidAccessKeyID is returned when Credentials does not know the
	// access key ID of the credential scope.
	ErrInvalidAccessKeyID = errors.New("sigv4: unknown access key id")

	// ErrSignatureDoesNotMatch is returned when the request signature, a
	// chunk signature or the trailer signature differs from the one computed
	// with the access key's secret.
	ErrSignatureDoesNotMatch = errors.New("sigv4: signature does not match")

	// ErrInvalidContentSHA256 is returned when a header-signed request lacks
	// x-amz-content-sha256, or its value is neither a hex SHA-256 nor one of
	// the payload modes S3 knows.
	ErrInvalidContentSHA256 = errors.New("sigv4: invalid x-amz-content-sha256")

	// ErrContentSHA256Mismatch is returned at the end of a signed payload
	// whose SHA-256 differs from x-amz-content-sha256.
	ErrContentSHA256Mismatch = errors.New("sigv4: payload does not match x-amz-content-sha256")

	// ErrMalformedChunk is returned when an aws-chunked body breaks the
	// framing: a bad chunk header, a chunk over MaxChunkSize, a missing CRLF,
	// a malformed or undeclared trailer, or bytes after the final chunk.
	// A body that simply stops early gives io.ErrUnexpectedEOF instead.
	ErrMalformedChunk = errors.New("sigv4: malformed aws-chunked body")

	// ErrDecodedLengthMismatch is returned when x-amz-decoded-content-length
	// is not a length, or the aws-chunked body decodes to a different number
	// of bytes than it declares.
	ErrDecodedLengthMismatch = errors.New("sigv4: decoded body length differs from x-amz-decoded-content-length")
)

// Error adds the particulars to one of the sentinel errors above: which
// parameter is missing, which region was expected. Detail is meant for the
// message of the S3 error response.
type Error struct {
	Err    error  // one of the sentinel errors of this package, or io.ErrUnexpectedEOF
	Detail string // what was wrong, for people
	// Region is the region the credential scope must name, when the one
	// it named was what was wrong (S3 returns it for clients to retry).
	Region string
}

func (e *Error) Error() string { return e.Err.Error() + ": " + e.Detail }

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func fail(err error, detail string) error { return &Error{Err: err, Detail: detail} }
