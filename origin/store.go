// Package origin is the object store behind the edge: its contract (Store),
// a durable, linearizable engine on a local directory (Engine), and the
// events each committed change announces for the purge bus.
package origin

import (
	"context"
	"errors"
	"io"
)

// Store is the object and bucket API that the S3 HTTP handler serves and the
// conformance suite (origintest) checks. Its implementations are
// linearizable per object and for LIST: once a call returns, every later call
// sees its effect.
type Store interface {
	CreateBucket(ctx context.Context, bucket string) error
	// DeleteBucket removes an empty bucket (ErrBucketNotEmpty otherwise).
	DeleteBucket(ctx context.Context, bucket string) error
	HeadBucket(ctx context.Context, bucket string) (BucketInfo, error)
	ListBuckets(ctx context.Context) ([]BucketInfo, error)

	// PutObject streams body into a new version of bucket/key and makes it
	// visible atomically once it is durable.
	PutObject(ctx context.Context, bucket, key string, body io.Reader, opts PutOptions) (ObjectInfo, error)
	// GetObject opens the object, or the range opts names.
	GetObject(ctx context.Context, bucket, key string, opts GetOptions) (*Object, error)
	HeadObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, error)
	DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) (DeleteResult, error)
	// DeleteObjects deletes each key on its own and reports per key.
	DeleteObjects(ctx context.Context, bucket string, keys []string) ([]DeleteResult, error)
	// CopyObject copies src to dst (the same object with ReplaceMetadata
	// updates its metadata).
	CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, opts CopyOptions) (ObjectInfo, error)
	ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error)

	CreateMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (MultipartUpload, error)
	UploadPart(ctx context.Context, bucket, key, uploadID string, partNumber int, body io.Reader, opts PartOptions) (PartInfo, error)
	ListParts(ctx context.Context, bucket, key, uploadID string, opts ListPartsOptions) (ListPartsResult, error)
	// CompleteMultipartUpload joins the listed parts into the object; opts
	// carries its preconditions and checks (the metadata came with Create).
	CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletePart, opts CompleteOptions) (ObjectInfo, error)
	AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error
	ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error)
}

// Op says what a committed change did.
type Op string

const (
	OpPut          Op = "put" // put, copy, complete-multipart, metadata replace
	OpDelete       Op = "delete"
	OpCreateBucket Op = "create-bucket"
	OpDeleteBucket Op = "delete-bucket"
)

// Event is one committed change, as written to the outbox in the same
// transaction as the change itself.
type Event struct {
	// Seq numbers every committed change of the store, from 1, without gaps.
	Seq    uint64 `json:"seq"`
	Bucket string `json:"bucket"`
	Key    string `json:"key,omitempty"`
	// Generation is the object's new generation for a put, and the
	// delete's own sequence number for a delete: a read that started after
	// the change carries at least this number.
	Generation int64 `json:"gen"`
	Op         Op    `json:"op"`
}

// EventSink is told of every committed change, after it is durable and
// before the write that made it returns. It must not block for long.
type EventSink interface {
	Committed(Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(Event)

// Committed calls f(e).
func (f EventSinkFunc) Committed(e Event) { f(e) }

// Outbox is the durable log of committed changes that a publisher drains.
type Outbox interface {
	// EventsAfter returns up to max events with Seq > seq, in commit order.
	EventsAfter(seq uint64, max int) ([]Event, error)
	// Ack drops the events up to and including seq: they were published.
	Ack(seq uint64) error
	// LastSeq is the sequence number of the newest committed change.
	LastSeq() (uint64, error)
}

// EnsureBuckets creates each named bucket that does not exist yet: how a
// server makes the buckets its config names before it serves.
func EnsureBuckets(ctx context.Context, s Store, names []string) error {
	for _, name := range names {
		if err := s.CreateBucket(ctx, name); err != nil && !errors.Is(err, ErrBucketExists) {
			return err
		}
	}
	return nil
}
