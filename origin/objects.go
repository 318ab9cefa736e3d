package origin

import (
	"fmt"
	"io"
	"time"
)

// Headers are the HTTP representation headers stored with an object and
// returned with it.
type Headers struct {
	ContentType        string `json:"ct,omitempty"`
	CacheControl       string `json:"cc,omitempty"`
	ContentDisposition string `json:"cd,omitempty"`
	ContentEncoding    string `json:"ce,omitempty"`
	ContentLanguage    string `json:"cl,omitempty"`
	Expires            string `json:"ex,omitempty"`
}

// Fields returns the stored headers that are set, as HTTP field name and
// value pairs in a fixed order (Content-Type aside: its default is the
// caller's to choose).
func (h *Headers) Fields() [][2]string {
	out := make([][2]string, 0, 5)
	for _, f := range [...][2]string{
		{"Cache-Control", h.CacheControl},
		{"Content-Disposition", h.ContentDisposition},
		{"Content-Encoding", h.ContentEncoding},
		{"Content-Language", h.ContentLanguage},
		{"Expires", h.Expires},
	} {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}

// ObjectInfo is an object's metadata.
type ObjectInfo struct {
	Bucket string `json:"-"`
	Key    string `json:"-"`
	Size   int64  `json:"s"`
	// ETag is the hex MD5 of the body, or md5-of-part-md5s-N for multipart
	// uploads; without quotes.
	ETag         string    `json:"e"`
	LastModified time.Time `json:"m"`
	// Generation grows with every write of the store and is never reused,
	// also across restarts: it names this version of the object.
	Generation int64 `json:"g"`
	Headers
	// UserMeta holds x-amz-meta-* values, keyed by the lower-case name
	// without the prefix.
	UserMeta map[string]string `json:"u,omitempty"`
	// Tags are purge tags (for example from a Cache-Tag metadata field).
	Tags []string `json:"t,omitempty"`
	// Checksums holds additional checksums by algorithm (CRC32, SHA256…),
	// base64 as S3 returns them.
	Checksums map[string]string `json:"k,omitempty"`
	// Parts is the number of parts of a multipart object, 0 otherwise.
	Parts int `json:"p,omitempty"`
	// PartSizes are the sizes of a multipart object's parts, in order, so a
	// read can ask for one part (GetOptions.PartNumber).
	PartSizes []int64 `json:"ps,omitempty"`
}

// Conditions are the preconditions of a read or a write. Empty fields do not
// apply. Entity tags may be quoted or not, weak or strong; If-Match and
// If-None-Match take comma-separated lists and "*".
type Conditions struct {
	IfMatch           string
	IfNoneMatch       string
	IfModifiedSince   time.Time
	IfUnmodifiedSince time.Time
	// IfGenerationMatch: the object's generation must equal *it; 0 means the
	// object must not exist (as GCS's ifGenerationMatch=0).
	IfGenerationMatch *int64
	// IfGenerationNotMatch: the object's generation must differ from *it.
	IfGenerationNotMatch *int64
}

// PutOptions are the stored headers and the preconditions of a write.
type PutOptions struct {
	Headers
	UserMeta map[string]string
	Tags     []string
	// Size is the declared body length, or -1 when unknown. A body that ends
	// early fails with ErrIncompleteBody; extra bytes are not read.
	Size int64
	// ContentMD5, when set, is the expected raw MD5 of the body (ErrBadDigest).
	ContentMD5 []byte
	// Verify, when set, runs after the whole body is read and before the
	// commit; an error aborts the write. It returns the checksums to store.
	Verify     func() (map[string]string, error)
	Conditions Conditions
	// ChecksumAlgorithm and ChecksumType are kept with a multipart upload
	// (CreateMultipartUpload) for its completion to apply; the store does
	// not interpret them. PutObject ignores them.
	ChecksumAlgorithm, ChecksumType string
}

// RangeSpec is one byte range as an HTTP Range header names it: First-Last
// (Last < 0: to the end) or, with Suffix, the last SuffixLength bytes.
type RangeSpec struct {
	First, Last  int64
	Suffix       bool
	SuffixLength int64
}

// Resolve returns the offset and length the range selects in an object of
// the given size, or ErrInvalidRange when it selects nothing.
func (r RangeSpec) Resolve(size int64) (start, length int64, err error) {
	if r.Suffix {
		if r.SuffixLength <= 0 || size == 0 {
			return 0, 0, ErrInvalidRange
		}
		n := min(r.SuffixLength, size)
		return size - n, n, nil
	}
	if r.First < 0 || r.First >= size || (r.Last >= 0 && r.Last < r.First) {
		return 0, 0, ErrInvalidRange
	}
	last := r.Last
	if last < 0 || last >= size {
		last = size - 1
	}
	return r.First, last - r.First + 1, nil
}

// GetOptions select what a read returns.
type GetOptions struct {
	Range *RangeSpec
	// PartNumber, when > 0, selects one part of a multipart object (part 1
	// of any other object is all of it); ErrInvalidPartNumber if none.
	PartNumber int
	Conditions Conditions
}

// Span returns the byte range opts selects in the object info describes.
func (opts *GetOptions) Span(info *ObjectInfo) (start, length int64, err error) {
	switch {
	case opts.PartNumber > 0 && opts.Range != nil:
		return 0, 0, fmt.Errorf("%w: a read selects a range or a part, not both", ErrInvalidArgument)
	case opts.PartNumber > 0:
		return info.partSpan(opts.PartNumber)
	case opts.Range != nil:
		return opts.Range.Resolve(info.Size)
	}
	return 0, info.Size, nil
}

func (info *ObjectInfo) partSpan(n int) (start, length int64, err error) {
	if len(info.PartSizes) == 0 {
		if n == 1 {
			return 0, info.Size, nil
		}
		return 0, 0, ErrInvalidPartNumber
	}
	if n > len(info.PartSizes) {
		return 0, 0, ErrInvalidPartNumber
	}
	for _, size := range info.PartSizes[:n-1] {
		start += size
	}
	return start, info.PartSizes[n-1], nil
}

// Object is an open object: its metadata and a body positioned at the
// requested range. The caller must Close Body.
type Object struct {
	Info ObjectInfo
	// Start and Length are the byte range Body delivers (the whole object
	// when no range was asked).
	Start, Length int64
	Body          io.ReadCloser
}

// DeleteOptions are the preconditions of a delete.
type DeleteOptions struct {
	Conditions Conditions
}

// DeleteResult is the outcome of deleting one key of a batch.
type DeleteResult struct {
	Key string
	// Deleted is true when an object existed and was removed; deleting a
	// missing key succeeds with Deleted false, as in S3.
	Deleted bool
	// Generation places the delete in the store's order, like a put's
	// generation: the delete's own sequence number when it removed an
	// object, else the last committed one, at which the key was absent.
	// Every later write has a greater generation.
	Generation int64
	Err        error
}

// CopyOptions control CopyObject.
type CopyOptions struct {
	// ReplaceMetadata selects S3's REPLACE directive: the destination takes
	// Headers, UserMeta and Tags from here instead of from the source.
	ReplaceMetadata bool
	Headers
	UserMeta map[string]string
	Tags     []string
	// SourceConditions apply to the source (x-amz-copy-source-if-*);
	// Conditions to the destination.
	SourceConditions Conditions
	Conditions       Conditions
}
