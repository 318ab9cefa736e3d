package s3

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/s3/sigv4"
)

// apiError is one row of the S3 error table: the code clients switch on,
// the HTTP status, and the message a person reads.
type apiError struct {
	Code    string
	Status  int
	Message string
}

// The S3 error codes this server answers with (names as in the S3 API
// reference, "Error responses").
var (
	errAccessDenied              = apiError{"AccessDenied", http.StatusForbidden, "Access Denied."}
	errAuthHeaderMalformed       = apiError{"AuthorizationHeaderMalformed", http.StatusBadRequest, "The authorization header is malformed."}
	errAuthQueryMalformed        = apiError{"AuthorizationQueryParametersError", http.StatusBadRequest, "The presigned URL's X-Amz-* query parameters are malformed."}
	errBadDigest                 = apiError{"BadDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified did not match what we received."}
	errBucketExists              = apiError{"BucketAlreadyOwnedByYou", http.StatusConflict, "Your previous request to create the named bucket succeeded and you already own it."}
	errBucketNotEmpty            = apiError{"BucketNotEmpty", http.StatusConflict, "The bucket you tried to delete is not empty."}
	errEntityTooLarge            = apiError{"EntityTooLarge", http.StatusBadRequest, "Your proposed upload exceeds the maximum allowed object size."}
	errEntityTooSmall            = apiError{"EntityTooSmall", http.StatusBadRequest, "Your proposed upload is smaller than the minimum allowed object size (5 MiB for every part but the last)."}
	errExpiredPresign            = apiError{"AccessDenied", http.StatusForbidden, "Request has expired."}
	errIncompleteBody            = apiError{"IncompleteBody", http.StatusBadRequest, "You did not provide the number of bytes specified by the Content-Length HTTP header."}
	errInternal                  = apiError{"InternalError", http.StatusInternalServerError, "We encountered an internal error. Please try again."}
	errInvalidAccessKeyID        = apiError{"InvalidAccessKeyId", http.StatusForbidden, "The AWS access key ID you provided does not exist in our records."}
	errInvalidArgument           = apiError{"InvalidArgument", http.StatusBadRequest, "Invalid argument."}
	errInvalidBucketName         = apiError{"InvalidBucketName", http.StatusBadRequest, "The specified bucket is not valid: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit."}
	errInvalidDigest             = apiError{"InvalidDigest", http.StatusBadRequest, "The Content-MD5 or checksum you specified is not valid."}
	errInvalidPart               = apiError{"InvalidPart", http.StatusBadRequest, "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag."}
	errInvalidPartOrder          = apiError{"InvalidPartOrder", http.StatusBadRequest, "The list of parts was not in ascending order. Parts must be ordered by part number."}
	errInvalidPartNumberNotFound = apiError{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable, "The requested partnumber is not satisfiable."}
	errInvalidRange              = apiError{"InvalidRange", http.StatusRequestedRangeNotSatisfiable, "The requested range is not satisfiable."}
	errInvalidRequest            = apiError{"InvalidRequest", http.StatusBadRequest, "Invalid request."}
	errKeyTooLong                = apiError{"KeyTooLongError", http.StatusBadRequest, "Your key is too long (at most 1024 bytes)."}
	errMalformedXML              = apiError{"MalformedXML", http.StatusBadRequest, "The XML you provided was not well-formed or did not validate against our published schema."}
	errMethodNotAllowed          = apiError{"MethodNotAllowed", http.StatusMethodNotAllowed, "The specified method is not allowed against this resource."}
	errNoSuchBucket              = apiError{"NoSuchBucket", http.StatusNotFound, "The specified bucket does not exist."}
	errNoSuchKey                 = apiError{"NoSuchKey", http.StatusNotFound, "The specified key does not exist."}
	errNoSuchUpload              = apiError{"NoSuchUpload", http.StatusNotFound, "The specified multipart upload does not exist. The upload ID might be invalid, or the upload might have been aborted or completed."}
	errNotImplemented            = apiError{"NotImplemented", http.StatusNotImplemented, "A header or query you provided implies functionality that is not implemented."}
	errNotModified               = apiError{"NotModified", http.StatusNotModified, ""}
	errPreconditionFailed        = apiError{"PreconditionFailed", http.StatusPreconditionFailed, "At least one of the preconditions you specified did not hold."}
	errRequestNotYetValid        = apiError{"AccessDenied", http.StatusForbidden, "Request is not valid yet."}
	errRequestTimeTooSkewed      = apiError{"RequestTimeTooSkewed", http.StatusForbidden, "The difference between the request time and the server's time is too large (more than 15 minutes)."}
	errRequestTimeout            = apiError{"RequestTimeout", http.StatusBadRequest, "Your socket connection to the server was not read from or written to within the timeout period."}
	errSignatureDoesNotMatch     = apiError{"SignatureDoesNotMatch", http.StatusForbidden, "The request signature we calculated does not match the signature you provided. Check your key and signing method."}
	errContentSHA256Mismatch     = apiError{"XAmzContentSHA256Mismatch", http.StatusBadRequest, "The provided 'x-amz-content-sha256' header does not match what was computed."}
	errInvalidContentSHA256      = apiError{"InvalidArgument", http.StatusBadRequest, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a hex SHA-256."}
	errMalformedChunk            = apiError{"InvalidArgument", http.StatusBadRequest, "The aws-chunked body is malformed."}
	errUnsupportedAuth           = apiError{"InvalidRequest", http.StatusBadRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."}
	errMultipleAuth              = apiError{"InvalidArgument", http.StatusBadRequest, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified."}
	errMaxMessageLength          = apiError{"MaxMessageLengthExceeded", http.StatusRequestEntityTooLarge, "Your request was too big."}
	errRequestHeaderTooLarge     = apiError{"RequestHeaderSectionTooLarge", http.StatusRequestHeaderFieldsTooLarge, "Your request header section exceeds the maximum allowed size."}
	errInvalidCopySource         = apiError{"InvalidArgument", http.StatusBadRequest, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey."}
	errCopyToItself              = apiError{"InvalidRequest", http.StatusBadRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."}
	errInvalidMetadataDirect     = apiError{"InvalidArgument", http.StatusBadRequest, "Unknown metadata directive: use COPY or REPLACE."}
	errTooManyDeleteObjects      = apiError{"MalformedXML", http.StatusBadRequest, "A Delete request may name at most 1000 objects."}
	errInvalidPartNumber         = apiError{"InvalidArgument", http.StatusBadRequest, "Part number must be an integer between 1 and 10000, inclusive."}
	errInvalidMaxKeys            = apiError{"InvalidArgument", http.StatusBadRequest, "max-keys, max-parts and max-uploads must be integers between 0 and 2147483647."}
	errInvalidContinuation       = apiError{"InvalidArgument", http.StatusBadRequest, "The continuation token provided is incorrect."}
	errInvalidEncodingType       = apiError{"InvalidArgument", http.StatusBadRequest, "Invalid Encoding Method specified in Request: only encoding-type=url is supported."}
	errUnknownChecksumAlg        = apiError{"InvalidRequest", http.StatusBadRequest, "The checksum algorithm is not one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256."}
	errInvalidGenerationMatch    = apiError{"InvalidArgument", http.StatusBadRequest, "X-If-Generation-Match and X-If-Generation-Not-Match take a decimal generation."}
)

// errorFor maps an error from the store, the signature check or the
// request itself to its S3 error. Context errors come first: a client that
// went away or a deadline is not the store's fault.
func errorFor(err error) apiError {
	var api apiError
	switch {
	case errors.As(err, &api):
		return api
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, os.ErrDeadlineExceeded): // the client was too slow for the read timeout
		return errRequestTimeout
	}
	for _, m := range errorMap {
		if errors.Is(err, m.err) {
			return m.api
		}
	}
	return errInternal
}

func (e apiError) Error() string { return e.Code + ": " + e.Message }

// withMessage keeps the code and status but says precisely what was wrong.
func (e apiError) withMessage(msg string) apiError {
	e.Message = msg
	return e
}

var errorMap = []struct {
	err error
	api apiError
}{
	{origin.ErrNoSuchBucket, errNoSuchBucket},
	{origin.ErrBucketExists, errBucketExists},
	{origin.ErrBucketNotEmpty, errBucketNotEmpty},
	{origin.ErrInvalidBucketName, errInvalidBucketName},
	{origin.ErrNoSuchKey, errNoSuchKey},
	{origin.ErrInvalidKey, errInvalidArgument.withMessage("Object keys must be non-empty valid UTF-8.")},
	{origin.ErrKeyTooLong, errKeyTooLong},
	{origin.ErrPreconditionFailed, errPreconditionFailed},
	{origin.ErrNotModified, errNotModified},
	{origin.ErrInvalidRange, errInvalidRange},
	{origin.ErrInvalidPartNumber, errInvalidPartNumberNotFound},
	{origin.ErrEntityTooLarge, errEntityTooLarge},
	{origin.ErrEntityTooSmall, errEntityTooSmall},
	{origin.ErrIncompleteBody, errIncompleteBody},
	{origin.ErrBadDigest, errBadDigest},
	{origin.ErrNoSuchUpload, errNoSuchUpload},
	{origin.ErrInvalidPart, errInvalidPart},
	{origin.ErrInvalidPartOrder, errInvalidPartOrder},
	{origin.ErrInvalidArgument, errInvalidArgument},
	{sigv4.ErrSignatureDoesNotMatch, errSignatureDoesNotMatch},
	{sigv4.ErrInvalidAccessKeyID, errInvalidAccessKeyID},
	{sigv4.ErrRequestTimeTooSkewed, errRequestTimeTooSkewed},
	{sigv4.ErrExpiredPresign, errExpiredPresign},
	{sigv4.ErrRequestNotYetValid, errRequestNotYetValid},
	{sigv4.ErrAuthorizationHeaderMalformed, errAuthHeaderMalformed},
	{sigv4.ErrAuthorizationQueryParametersError, errAuthQueryMalformed},
	{sigv4.ErrContentSHA256Mismatch, errContentSHA256Mismatch},
	{sigv4.ErrInvalidContentSHA256, errInvalidContentSHA256},
	{sigv4.ErrMalformedChunk, errMalformedChunk},
	{sigv4.ErrUnsupportedAuth, errUnsupportedAuth},
	{sigv4.ErrMultipleAuth, errMultipleAuth},
	{sigv4.ErrDecodedLengthMismatch, errIncompleteBody},
	{io.ErrUnexpectedEOF, errIncompleteBody},
}
