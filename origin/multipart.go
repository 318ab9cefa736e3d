package origin

import (
	"io"
	"time"
)

// MultipartUpload describes an upload in progress.
type MultipartUpload struct {
	Bucket    string
	Key       string
	UploadID  string
	Initiated time.Time
	// ChecksumAlgorithm and ChecksumType are what the upload was created
	// with (PutOptions), empty when none.
	ChecksumAlgorithm, ChecksumType string
}

// PartInfo describes one uploaded part.
type PartInfo struct {
	PartNumber   int
	ETag         string
	Size         int64
	LastModified time.Time
	Checksums    map[string]string
}

// PartOptions are UploadPart's options.
type PartOptions struct {
	Size       int64
	ContentMD5 []byte
	Verify     func() (map[string]string, error)
}

// CompletePart names one part of CompleteMultipartUpload's list.
type CompletePart struct {
	PartNumber int
	ETag       string
}

// CompleteOptions are CompleteMultipartUpload's preconditions and the
// caller's checks of the joined object.
type CompleteOptions struct {
	Conditions Conditions
	// Check, when set, is called with the upload and the listed parts
	// (their stored checksums included) before they are joined. It may
	// return wrap, to read the joined body as it is written (to hash the
	// whole object), and verify, run once the body is durable and before
	// the commit; verify returns the checksums to store with the object.
	// An error from Check or verify aborts the completion and leaves the
	// upload as it was.
	Check func(up MultipartUpload, parts []PartInfo) (wrap func(io.Reader) io.Reader, verify func() (map[string]string, error), err error)
}

// ListPartsOptions page through ListParts.
type ListPartsOptions struct {
	PartNumberMarker int
	MaxParts         int // 0 means 1000
}

// ListPartsResult is one page of parts.
type ListPartsResult struct {
	Upload               MultipartUpload
	Parts                []PartInfo
	IsTruncated          bool
	NextPartNumberMarker int
}

// ListUploadsOptions page through ListMultipartUploads.
type ListUploadsOptions struct {
	Prefix string
	// Delimiter rolls the uploads of keys that contain it after Prefix
	// into one common prefix each, as ListObjects does.
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string
	MaxUploads     int // 0 means 1000; caps uploads plus common prefixes
}

// ListUploadsResult is one page of uploads in progress, ordered by key, then
// by initiation time, with the common prefixes in the same key order.
type ListUploadsResult struct {
	Uploads        []MultipartUpload
	CommonPrefixes []string
	IsTruncated    bool
	// NextKeyMarker and NextUploadIDMarker resume after this page: the
	// last upload's key and id, or the last common prefix and "".
	NextKeyMarker      string
	NextUploadIDMarker string
}
