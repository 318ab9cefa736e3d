package origin

import "errors"

// Sentinel errors of the store. Every operation wraps them in an *Error, so
// callers test with errors.Is; the S3 API maps each to one S3 error code.
var (
	// ErrNoSuchBucket: the named bucket does not exist.
	ErrNoSuchBucket = errors.New("the specified bucket does not exist")
	// ErrBucketExists: CreateBucket named a bucket that already exists.
	ErrBucketExists = errors.New("the requested bucket name is not available")
	// ErrBucketNotEmpty: DeleteBucket on a bucket that still holds objects or uploads.
	ErrBucketNotEmpty = errors.New("the bucket you tried to delete is not empty")
	// ErrInvalidBucketName: the name breaks the S3 bucket naming rules.
	ErrInvalidBucketName = errors.New("the specified bucket name is not valid")
	// ErrNoSuchKey: the object does not exist.
	ErrNoSuchKey = errors.New("the specified key does not exist")
	// ErrInvalidKey: the key is empty or not valid UTF-8.
	ErrInvalidKey = errors.New("object keys must be non-empty valid UTF-8")
	// ErrKeyTooLong: the key is longer than MaxKeyLength bytes.
	ErrKeyTooLong = errors.New("your key is too long (at most 1024 bytes)")
	// ErrPreconditionFailed: an If-Match, If-Unmodified-Since, If-None-Match
	// (on a write) or generation-match condition did not hold.
	ErrPreconditionFailed = errors.New("at least one of the preconditions you specified did not hold")
	// ErrNotModified: a read's If-None-Match or If-Modified-Since says the
	// client's copy is current.
	ErrNotModified = errors.New("not modified")
	// ErrInvalidRange: the requested byte range does not overlap the object.
	ErrInvalidRange = errors.New("the requested range is not satisfiable")
	// ErrInvalidPartNumber: a read asked for a part the object does not have.
	ErrInvalidPartNumber = errors.New("the requested part number is not satisfiable")
	// ErrEntityTooLarge: the body is larger than the configured maximum object size.
	ErrEntityTooLarge = errors.New("your proposed upload exceeds the maximum allowed object size")
	// ErrEntityTooSmall: a multipart part other than the last is below the minimum part size.
	ErrEntityTooSmall = errors.New("your proposed upload is smaller than the minimum allowed object size")
	// ErrIncompleteBody: the body ended before the declared size.
	ErrIncompleteBody = errors.New("you did not provide the number of bytes specified by the Content-Length")
	// ErrBadDigest: the body does not match the Content-MD5 or checksum the client sent.
	ErrBadDigest = errors.New("the content digest you specified did not match what was received")
	// ErrNoSuchUpload: the multipart upload does not exist (never created, completed or aborted).
	ErrNoSuchUpload = errors.New("the specified multipart upload does not exist")
	// ErrInvalidPart: a listed part was not uploaded or its ETag does not match.
	ErrInvalidPart = errors.New("one or more of the specified parts could not be found or its entity tag did not match")
	// ErrInvalidPartOrder: the part list is empty or not in ascending part-number order.
	ErrInvalidPartOrder = errors.New("the list of parts was not in ascending order")
	// ErrInvalidArgument: an option is out of range (part number, max-keys, token…).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("the store is closed")
)

// Error is what every store operation returns on failure: the operation and
// the object it was about, wrapping one of the sentinel errors (or an I/O error).
type Error struct {
	Op     string
	Bucket string
	Key    string
	Err    error
}

func (e *Error) Error() string {
	s := e.Op
	if e.Bucket != "" {
		s += " " + e.Bucket
		if e.Key != "" {
			s += "/" + e.Key
		}
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func opError(op, bucket, key string, err error) error {
	if err == nil {
		return nil
	}
	var oe *Error
	if errors.As(err, &oe) {
		return err
	}
	return &Error{Op: op, Bucket: bucket, Key: key, Err: err}
}
