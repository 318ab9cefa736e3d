package s3

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/internal/pacing"
	"github.com/edgecdn/edge/origin"
)

// GenerationHeader carries an object's generation on every object response.
const GenerationHeader = "X-Object-Generation"

// Our own preconditions on a generation, as GCS's ifGenerationMatch.
const (
	ifGenerationMatchHeader    = "X-If-Generation-Match"
	ifGenerationNotMatchHeader = "X-If-Generation-Not-Match"
)

// cacheTagMeta is the user-metadata field whose comma-separated values
// become the object's purge tags (x-amz-meta-cache-tag).
const cacheTagMeta = "cache-tag"

func quoteETag(etag string) string { return `"` + etag + `"` }

// conditions reads the precondition headers with the given prefix ("" for
// If-*, "x-amz-copy-source-" for a copy's source).
func (r *request) conditions(prefix string) (origin.Conditions, error) {
	c := origin.Conditions{
		IfMatch:     r.header(prefix + "If-Match"),
		IfNoneMatch: r.header(prefix + "If-None-Match"),
	}
	// An unparseable date is ignored, as RFC 9110 §13.1.3 says.
	if t, err := http.ParseTime(r.header(prefix + "If-Modified-Since")); err == nil {
		c.IfModifiedSince = t
	}
	if t, err := http.ParseTime(r.header(prefix + "If-Unmodified-Since")); err == nil {
		c.IfUnmodifiedSince = t
	}
	if prefix != "" {
		return c, nil
	}
	for name, dst := range map[string]**int64{ifGenerationMatchHeader: &c.IfGenerationMatch, ifGenerationNotMatchHeader: &c.IfGenerationNotMatch} {
		if s := r.header(name); s != "" {
			g, err := strconv.ParseInt(s, 10, 64)
			if err != nil || g < 0 {
				return c, errInvalidGenerationMatch
			}
			*dst = &g
		}
	}
	return c, nil
}

// storedHeaders reads what S3 stores with an object from the request:
// representation headers, x-amz-meta-*, and the purge tags.
func (r *request) storedHeaders() (origin.Headers, map[string]string, []string) {
	hd := origin.Headers{
		ContentType:        r.header("Content-Type"),
		CacheControl:       r.header("Cache-Control"),
		ContentDisposition: r.header("Content-Disposition"),
		ContentEncoding:    stripAWSChunked(r.header("Content-Encoding")),
		ContentLanguage:    r.header("Content-Language"),
		Expires:            r.header("Expires"),
	}
	var meta map[string]string
	for k, v := range r.ctx.Request.Header.All() {
		name := strings.ToLower(string(k))
		if m, ok := strings.CutPrefix(name, "x-amz-meta-"); ok && m != "" {
			if meta == nil {
				meta = make(map[string]string)
			}
			if old, dup := meta[m]; dup {
				meta[m] = old + "," + string(v)
			} else {
				meta[m] = string(v)
			}
		}
	}
	return hd, meta, tagsOf(meta)
}

func tagsOf(meta map[string]string) []string {
	var tags []string
	for t := range strings.SplitSeq(meta[cacheTagMeta], ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

// stripAWSChunked removes the transfer framing aws-chunked from
// Content-Encoding: it describes the request, not the object.
func stripAWSChunked(ce string) string {
	if !strings.Contains(ce, "aws-chunked") {
		return ce
	}
	var keep []string
	for p := range strings.SplitSeq(ce, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "aws-chunked" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

func (r *request) contentMD5() ([]byte, error) {
	s := r.header("Content-MD5")
	if s == "" {
		return nil, nil
	}
	sum, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(sum) != 16 {
		return nil, errInvalidDigest
	}
	return sum, nil
}

// payload returns the body of a PutObject or UploadPart with what the store
// checks it against: declared size, Content-MD5, and the Verify hook.
func (r *request) payload() (io.Reader, origin.PartOptions, error) {
	md5sum, err := r.contentMD5()
	if err != nil {
		return nil, origin.PartOptions{}, err
	}
	body, verify, err := r.checksummedBody()
	if err != nil {
		return nil, origin.PartOptions{}, err
	}
	return body, origin.PartOptions{Size: r.declaredSize(), ContentMD5: md5sum, Verify: verify}, nil
}

func (h *Handler) putObject(r *request) error {
	c, err := r.conditions("")
	if err != nil {
		return err
	}
	body, p, err := r.payload()
	if err != nil {
		return err
	}
	hd, meta, tags := r.storedHeaders()
	info, err := h.store.PutObject(r.ctx, r.bucket, r.key, body, origin.PutOptions{
		Headers: hd, UserMeta: meta, Tags: tags,
		Size: p.Size, ContentMD5: p.ContentMD5, Verify: p.Verify, Conditions: c,
	})
	if err != nil {
		return err
	}
	setWriteHeaders(r.ctx, &info)
	return nil
}

// setWriteHeaders answers a write with the new version's ETag, generation
// and checksums.
func setWriteHeaders(ctx *fasthttp.RequestCtx, info *origin.ObjectInfo) {
	ctx.Response.Header.Set("ETag", quoteETag(info.ETag))
	ctx.Response.Header.Set(GenerationHeader, strconv.FormatInt(info.Generation, 10))
	setChecksumHeaders(ctx, info.Checksums)
}

// setChecksumHeaders returns stored flexible checksums (x-amz-checksum-<alg>).
func setChecksumHeaders(ctx *fasthttp.RequestCtx, sums map[string]string) {
	for alg, v := range sums {
		ctx.Response.Header.Set("x-amz-checksum-"+strings.ToLower(alg), v)
	}
}

// setObjectHeaders writes the stored headers of an object response.
func (r *request) setObjectHeaders(info *origin.ObjectInfo) {
	rh := &r.ctx.Response.Header
	rh.Set("ETag", quoteETag(info.ETag))
	rh.Set("Last-Modified", httpDate(info.LastModified))
	rh.Set(GenerationHeader, strconv.FormatInt(info.Generation, 10))
	rh.Set("Accept-Ranges", "bytes")
	ct := info.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	rh.SetContentType(ct)
	for _, f := range info.Fields() {
		rh.Set(f[0], f[1])
	}
	for k, v := range info.UserMeta {
		// S3 returns metadata names in lower case, as stored; Set would
		// title-case them, and clients that keep the wire's case (botocore)
		// would hand the user "My-Key" for "my-key".
		rh.SetCanonical([]byte("x-amz-meta-"+k), []byte(v))
	}
	if info.Parts > 0 {
		rh.Set("x-amz-mp-parts-count", strconv.Itoa(info.Parts))
	}
	// A stored checksum covers the whole object: a range or part read
	// gets none, or a client would check its bytes against it and fail.
	whole := r.header("Range") == "" && !r.hasQuery("partNumber")
	if whole && strings.EqualFold(r.header("x-amz-checksum-mode"), "ENABLED") {
		setChecksumHeaders(r.ctx, info.Checksums)
		for _, v := range info.Checksums {
			rh.Set("x-amz-checksum-type", checksumType(v))
		}
	}
	if r.auth != nil {
		r.applyResponseOverrides()
	}
}

// applyResponseOverrides honours response-* query parameters, which S3
// allows on signed requests only.
func (r *request) applyResponseOverrides() {
	for param, name := range map[string]string{
		"response-content-type":        "Content-Type",
		"response-content-language":    "Content-Language",
		"response-expires":             "Expires",
		"response-cache-control":       "Cache-Control",
		"response-content-disposition": "Content-Disposition",
		"response-content-encoding":    "Content-Encoding",
	} {
		if r.hasQuery(param) {
			r.ctx.Response.Header.Set(name, r.query(param))
		}
	}
}

// readOptions reads a GET or HEAD's conditions, Range and partNumber.
func (r *request) readOptions() (origin.GetOptions, error) {
	c, err := r.conditions("")
	if err != nil {
		return origin.GetOptions{}, err
	}
	opts := origin.GetOptions{Conditions: c}
	if s := r.query("partNumber"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > origin.MaxPartNumber {
			return opts, errInvalidPartNumber
		}
		opts.PartNumber = n
		return opts, nil // a part is a range: Range does not apply
	}
	if spec, ok := origin.ParseRange(r.header("Range")); ok {
		opts.Range = &spec
	}
	return opts, nil
}

func (h *Handler) getObject(r *request) error {
	opts, err := r.readOptions()
	if err != nil {
		return err
	}
	obj, err := h.store.GetObject(r.ctx, r.bucket, r.key, opts)
	if err != nil {
		return h.readError(r, err)
	}
	r.setObjectHeaders(&obj.Info)
	if opts.Range != nil || opts.PartNumber > 0 {
		r.ctx.SetStatusCode(fasthttp.StatusPartialContent)
		r.ctx.Response.Header.Set("Content-Range", contentRange(obj.Start, obj.Length, obj.Info.Size))
	}
	if obj.Length > 4<<10 {
		// Beyond fasthttp's write buffer: written in chunks of up to 256
		// KiB (not 4 KiB a write), the write deadline renewed for each.
		r.ctx.SetBodyStream(pacing.NewReader(obj.Body), int(obj.Length))
		return nil
	}
	r.ctx.SetBodyStream(obj.Body, int(obj.Length))
	return nil
}

func (h *Handler) headObject(r *request) error {
	opts, err := r.readOptions()
	if err != nil {
		return err
	}
	info, err := h.store.HeadObject(r.ctx, r.bucket, r.key, opts)
	if err != nil {
		return h.readError(r, err)
	}
	r.setObjectHeaders(&info)
	start, length, err := opts.Span(&info)
	if err != nil {
		return err
	}
	if opts.Range != nil || opts.PartNumber > 0 {
		r.ctx.SetStatusCode(fasthttp.StatusPartialContent)
		r.ctx.Response.Header.Set("Content-Range", contentRange(start, length, info.Size))
	}
	r.ctx.Response.Header.SetContentLength(int(length))
	r.ctx.Response.SkipBody = true
	return nil
}

// readError completes a failed read: 304 carries the validators, 416 the
// object's size, as RFC 9110 asks.
func (h *Handler) readError(r *request, err error) error {
	switch {
	case errors.Is(err, origin.ErrNotModified), errors.Is(err, origin.ErrInvalidRange):
		if info, herr := h.store.HeadObject(r.ctx, r.bucket, r.key, origin.GetOptions{}); herr == nil {
			if errors.Is(err, origin.ErrNotModified) {
				// RFC 9110 §15.4.5: what a 200 would have sent of the
				// fields a cache updates its stored response with.
				r.ctx.Response.Header.Set("ETag", quoteETag(info.ETag))
				r.ctx.Response.Header.Set("Last-Modified", httpDate(info.LastModified))
				r.ctx.Response.Header.Set(GenerationHeader, strconv.FormatInt(info.Generation, 10))
				if info.CacheControl != "" {
					r.ctx.Response.Header.Set("Cache-Control", info.CacheControl)
				}
				if info.Expires != "" {
					r.ctx.Response.Header.Set("Expires", info.Expires)
				}
			} else {
				r.ctx.Response.Header.Set("Content-Range", "bytes */"+strconv.FormatInt(info.Size, 10))
			}
		}
	}
	return err
}

func contentRange(start, length, size int64) string {
	return "bytes " + strconv.FormatInt(start, 10) + "-" + strconv.FormatInt(start+length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

func (h *Handler) deleteObject(r *request) error {
	c, err := r.conditions("")
	if err != nil {
		return err
	}
	res, err := h.store.DeleteObject(r.ctx, r.bucket, r.key, origin.DeleteOptions{Conditions: c})
	if err != nil {
		return err
	}
	r.ctx.Response.Header.Set(GenerationHeader, strconv.FormatInt(res.Generation, 10))
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

func (h *Handler) deleteObjects(r *request) error {
	var req deleteRequest
	if err := r.readXML(h.cfg.MaxXMLBody, &req); err != nil {
		return err
	}
	if len(req.Objects) == 0 {
		return errMalformedXML.withMessage("A Delete request must name at least one object.")
	}
	if len(req.Objects) > origin.MaxDeleteObjects {
		return errTooManyDeleteObjects
	}
	// An entry naming a version other than the current one is answered
	// with its own error and deletes nothing, as DeleteObject would.
	results := make([]origin.DeleteResult, len(req.Objects))
	var keys []string
	for i, o := range req.Objects {
		results[i].Key = o.Key
		if results[i].Err = currentVersionOnly(o.VersionID); results[i].Err == nil {
			keys = append(keys, o.Key)
		}
	}
	if len(keys) > 0 {
		deleted, err := h.store.DeleteObjects(r.ctx, r.bucket, keys)
		if err != nil {
			return err
		}
		for i := range results {
			if results[i].Err == nil {
				results[i], deleted = deleted[0], deleted[1:]
			}
		}
	}
	out := deleteResult{Xmlns: s3Namespace}
	for i, res := range results {
		version := req.Objects[i].VersionID
		if res.Err != nil {
			api := errorFor(res.Err)
			out.Errors = append(out.Errors, deleteError{Key: res.Key, VersionID: version, Code: api.Code, Message: api.Message})
		} else if !req.Quiet {
			out.Deleted = append(out.Deleted, deletedEntry{Key: res.Key, VersionID: version})
		}
	}
	writeXML(r.ctx, fasthttp.StatusOK, out)
	return nil
}

// copySource parses x-amz-copy-source: "[/]bucket/key[?versionId=…]",
// percent-encoded.
func (r *request) copySource() (bucket, key string, err error) {
	src := r.header("x-amz-copy-source")
	src, query, _ := strings.Cut(src, "?")
	if version, ok := strings.CutPrefix(query, "versionId="); ok {
		if err := currentVersionOnly(version); err != nil {
			return "", "", err
		}
	} else if query != "" {
		return "", "", errInvalidCopySource
	}
	src, err = unescapePath(strings.TrimPrefix(src, "/"))
	if err != nil {
		return "", "", errInvalidCopySource
	}
	bucket, key, ok := strings.Cut(src, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", errInvalidCopySource
	}
	return bucket, key, nil
}

func (h *Handler) copyObject(r *request) error {
	srcBucket, srcKey, err := r.copySource()
	if err != nil {
		return err
	}
	srcCond, err := r.conditions("x-amz-copy-source-")
	if err != nil {
		return err
	}
	dstCond, err := r.conditions("")
	if err != nil {
		return err
	}
	opts := origin.CopyOptions{SourceConditions: srcCond, Conditions: dstCond}
	switch d := strings.ToUpper(r.header("x-amz-metadata-directive")); d {
	case "", "COPY":
		if srcBucket == r.bucket && srcKey == r.key {
			return errCopyToItself
		}
	case "REPLACE":
		opts.ReplaceMetadata = true
		opts.Headers, opts.UserMeta, opts.Tags = r.storedHeaders()
	default:
		return errInvalidMetadataDirect
	}
	info, err := h.store.CopyObject(r.ctx, srcBucket, srcKey, r.bucket, r.key, opts)
	if err != nil {
		return err
	}
	setWriteHeaders(r.ctx, &info)
	writeXML(r.ctx, fasthttp.StatusOK, copyObjectResult{Xmlns: s3Namespace, LastModified: isoTime(info.LastModified), ETag: quoteETag(info.ETag)})
	return nil
}

// readAllLimited reads a small body, failing past limit.
func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errMaxMessageLength
	}
	return data, nil
}

func isInvalidArgument(err error) bool { return errors.Is(err, origin.ErrInvalidArgument) }

// httpDate formats t as an HTTP date.
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
