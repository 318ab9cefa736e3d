package s3

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/origin"
)

// listBuckets pages with max-buckets and continuation-token (the last
// name of the previous page, base64) and filters by prefix and
// bucket-region, as S3's ListBuckets does; one region holds every bucket.
func (h *Handler) listBuckets(r *request) error {
	maxBuckets := maxListBuckets
	if s := r.query("max-buckets"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxListBuckets {
			return errInvalidArgument.withMessage("max-buckets must be an integer between 1 and 10000.")
		}
		maxBuckets = n
	}
	after := ""
	if r.hasQuery("continuation-token") {
		b, err := base64.RawURLEncoding.DecodeString(r.query("continuation-token"))
		if err != nil || len(b) == 0 {
			return errInvalidContinuation
		}
		after = string(b)
	}
	prefix := r.query("prefix")
	buckets, err := h.store.ListBuckets(r.ctx)
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{Xmlns: s3Namespace, Owner: owner{ID: ownerID, DisplayName: ownerID}, Prefix: prefix}
	if region := r.query("bucket-region"); region != "" && region != h.cfg.Region {
		buckets = nil
	}
	for _, b := range buckets {
		if b.Name <= after || !strings.HasPrefix(b.Name, prefix) {
			continue
		}
		if len(res.Buckets) == maxBuckets {
			res.ContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Buckets[len(res.Buckets)-1].Name))
			break
		}
		res.Buckets = append(res.Buckets, bucketEntry{Name: b.Name, CreationDate: isoTime(b.Created), BucketRegion: h.cfg.Region})
	}
	writeXML(r.ctx, fasthttp.StatusOK, res)
	return nil
}

// maxListBuckets is S3's cap on one ListBuckets page.
const maxListBuckets = 10000

func (h *Handler) createBucket(r *request) error {
	// The body may carry a CreateBucketConfiguration (a location); one
	// region is served, so it is read and not interpreted.
	if _, err := readAllLimited(r.body(), h.cfg.MaxXMLBody); err != nil {
		return err
	}
	if err := h.store.CreateBucket(r.ctx, r.bucket); err != nil {
		return err
	}
	r.ctx.Response.Header.Set("Location", "/"+r.bucket)
	return nil
}

func (h *Handler) deleteBucket(r *request) error {
	if err := h.store.DeleteBucket(r.ctx, r.bucket); err != nil {
		return err
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

func (h *Handler) headBucket(r *request) error {
	if _, err := h.store.HeadBucket(r.ctx, r.bucket); err != nil {
		return err
	}
	r.ctx.Response.Header.Set("x-amz-bucket-region", h.cfg.Region)
	return nil
}

func (h *Handler) getBucketLocation(r *request) error {
	if _, err := h.store.HeadBucket(r.ctx, r.bucket); err != nil {
		return err
	}
	region := h.cfg.Region
	if region == "us-east-1" {
		region = "" // S3 answers us-east-1 with an empty constraint
	}
	writeXML(r.ctx, fasthttp.StatusOK, locationConstraint{Xmlns: s3Namespace, Region: region})
	return nil
}

// listParams reads the parameters ListObjects V1 and V2 share.
func (r *request) listParams() (origin.ListOptions, bool, error) {
	opts := origin.ListOptions{
		Prefix:    r.query("prefix"),
		Delimiter: r.query("delimiter"),
	}
	urlEncode, err := r.encodingType()
	if err != nil {
		return opts, false, err
	}
	if s := r.query("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return opts, false, errInvalidMaxKeys
		}
		opts.MaxKeys = n
		if n == 0 {
			opts.MaxKeys = -1 // marks an explicit 0: an empty page
		}
	}
	return opts, urlEncode, nil
}

func (h *Handler) listObjectsV2(r *request) error {
	opts, enc, err := r.listParams()
	if err != nil {
		return err
	}
	opts.StartAfter = r.query("start-after")
	opts.ContinuationToken = r.query("continuation-token")
	if r.hasQuery("continuation-token") && opts.ContinuationToken == "" {
		return errInvalidContinuation
	}
	res, maxKeys, err := h.list(r, opts)
	if err != nil {
		return err
	}
	out := listResult(r.bucket, opts, res, maxKeys, enc)
	out.StartAfter = encodeIf(enc, opts.StartAfter)
	out.ContinuationToken = opts.ContinuationToken
	out.NextContinuationToken = res.NextContinuationToken
	count := len(res.Objects) + len(res.CommonPrefixes)
	out.KeyCount = &count
	writeXML(r.ctx, fasthttp.StatusOK, out)
	return nil
}

func (h *Handler) listObjectsV1(r *request) error {
	opts, enc, err := r.listParams()
	if err != nil {
		return err
	}
	opts.StartAfter = r.query("marker")
	res, maxKeys, err := h.list(r, opts)
	if err != nil {
		return err
	}
	out := listResult(r.bucket, opts, res, maxKeys, enc)
	marker := encodeIf(enc, opts.StartAfter)
	out.Marker = &marker
	if res.IsTruncated && opts.Delimiter != "" {
		out.NextMarker = encodeIf(enc, res.NextMarker)
	}
	writeXML(r.ctx, fasthttp.StatusOK, out)
	return nil
}

// list runs the listing; max-keys=0 is answered without asking the store.
func (h *Handler) list(r *request, opts origin.ListOptions) (origin.ListResult, int, error) {
	if opts.MaxKeys == -1 {
		if _, err := h.store.HeadBucket(r.ctx, r.bucket); err != nil {
			return origin.ListResult{}, 0, err
		}
		return origin.ListResult{}, 0, nil
	}
	maxKeys := opts.MaxKeys
	if maxKeys == 0 || maxKeys > origin.MaxListKeys {
		maxKeys = origin.MaxListKeys
	}
	res, err := h.store.ListObjects(r.ctx, r.bucket, opts)
	if err != nil {
		if isInvalidArgument(err) && opts.ContinuationToken != "" {
			return res, 0, errInvalidContinuation
		}
		return res, 0, err
	}
	return res, maxKeys, nil
}

func listResult(bucket string, opts origin.ListOptions, res origin.ListResult, maxKeys int, enc bool) listBucketResult {
	out := listBucketResult{
		Xmlns:       s3Namespace,
		Name:        bucket,
		Prefix:      encodeIf(enc, opts.Prefix),
		Delimiter:   encodeIf(enc, opts.Delimiter),
		MaxKeys:     maxKeys,
		IsTruncated: res.IsTruncated,
	}
	if enc {
		out.EncodingType = "url"
	}
	for _, o := range res.Objects {
		out.Contents = append(out.Contents, objectEntry{
			Key:          encodeIf(enc, o.Key),
			LastModified: isoTime(o.LastModified),
			ETag:         quoteETag(o.ETag),
			Size:         o.Size,
			StorageClass: "STANDARD",
		})
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: encodeIf(enc, p)})
	}
	return out
}

// encodingType reads encoding-type: "url" or nothing.
func (r *request) encodingType() (bool, error) {
	switch r.query("encoding-type") {
	case "":
		return false, nil
	case "url":
		return true, nil
	}
	return false, errInvalidEncodingType
}

// encodeIf applies encoding-type=url: keys may hold bytes XML 1.0 cannot.
func encodeIf(enc bool, s string) string {
	if !enc {
		return s
	}
	return url.QueryEscape(s)
}
