package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/edgecdn/edge/origin"
)

// originResponse is what a fill got from the origin.
type originResponse struct {
	Status int
	// Header holds the representation headers to keep (canonical names).
	Header http.Header
	Body   io.ReadCloser // nil for 304 and HEAD-less negative answers
	Size   int64         // body length, -1 if unknown
	// Generation is the object's generation; for a 404, the store's
	// sequence number read before the lookup (the fence of DESIGN.md).
	Generation int64
	ETag       string
	LastMod    time.Time
	Tags       []string
}

// fetchRequest is one origin request of a fill.
type fetchRequest struct {
	Site *Site
	// Path is the raw request path (for an upstream) and Key the decoded
	// object key (for a bucket).
	Path, Query string
	Key         string
	// IfNoneMatch revalidates a stored entry.
	IfNoneMatch string
	// Primary is the cache key without Vary values; Header carries the
	// request's values of the headers the response varies by.
	Primary string
	Header  map[string]string
}

// fetcher gets objects from an origin. Implementations: the embedded
// store, and an HTTP origin (our origin server, another S3 endpoint's
// public URLs, or any web server) proxied path for path.
type fetcher interface {
	fetch(ctx context.Context, req *fetchRequest) (*originResponse, error)
}

// errOriginDown marks failures to reach the origin, for stale-if-error.
var errOriginDown = errors.New("origin unavailable")

// Sequencer reports the store's newest change; a 404 carries it so that a
// put racing with the negative fill wins (see cache fences).
type Sequencer interface {
	LastSeq() (uint64, error)
}

// storeFetcher reads the embedded origin store directly.
type storeFetcher struct {
	store origin.Store
	seq   Sequencer // may be nil: negative fills then carry 0
}

func (f *storeFetcher) fetch(ctx context.Context, req *fetchRequest) (*originResponse, error) {
	var seq uint64
	if f.seq != nil {
		s, err := f.seq.LastSeq()
		if err != nil {
			return nil, errors.Join(errOriginDown, err)
		}
		seq = s
	}
	obj, err := f.store.GetObject(ctx, req.Site.Bucket, req.Key, origin.GetOptions{Conditions: origin.Conditions{IfNoneMatch: req.IfNoneMatch}})
	switch {
	case errors.Is(err, origin.ErrNoSuchKey), errors.Is(err, origin.ErrNoSuchBucket),
		errors.Is(err, origin.ErrInvalidKey), errors.Is(err, origin.ErrKeyTooLong):
		return &originResponse{Status: http.StatusNotFound, Header: http.Header{}, Generation: int64(seq)}, nil
	case errors.Is(err, origin.ErrNotModified):
		info, herr := f.store.HeadObject(ctx, req.Site.Bucket, req.Key, origin.GetOptions{})
		if herr != nil || `"`+info.ETag+`"` != req.IfNoneMatch {
			// Changed between the two reads: fetch it whole.
			return f.fetch(ctx, &fetchRequest{Site: req.Site, Key: req.Key})
		}
		return &originResponse{Status: http.StatusNotModified, Header: objectHeader(&info), Generation: info.Generation, ETag: info.ETag, LastMod: info.LastModified, Tags: info.Tags}, nil
	case err != nil:
		return nil, errors.Join(errOriginDown, err)
	}
	return &originResponse{
		Status: http.StatusOK, Header: objectHeader(&obj.Info), Body: obj.Body, Size: obj.Length,
		Generation: obj.Info.Generation, ETag: obj.Info.ETag, LastMod: obj.Info.LastModified, Tags: obj.Info.Tags,
	}, nil
}

// objectHeader is the HTTP form of an object's stored headers, as the
// origin's S3 API would send them.
func objectHeader(info *origin.ObjectInfo) http.Header {
	h := http.Header{}
	h.Set("ETag", `"`+info.ETag+`"`)
	h.Set("Last-Modified", info.LastModified.UTC().Format(http.TimeFormat))
	ct := info.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	for _, f := range info.Fields() {
		h.Set(f[0], f[1])
	}
	h.Set("X-Object-Generation", strconv.FormatInt(info.Generation, 10))
	return h
}
