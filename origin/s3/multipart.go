package s3

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/origin"
)

func (h *Handler) createUpload(r *request) error {
	alg, typ, err := r.uploadChecksum()
	if err != nil {
		return err
	}
	hd, meta, tags := r.storedHeaders()
	up, err := h.store.CreateMultipartUpload(r.ctx, r.bucket, r.key, origin.PutOptions{
		Headers: hd, UserMeta: meta, Tags: tags, ChecksumAlgorithm: string(alg), ChecksumType: typ,
	})
	if err != nil {
		return err
	}
	if alg != "" {
		r.ctx.Response.Header.Set("x-amz-checksum-algorithm", string(alg))
		r.ctx.Response.Header.Set("x-amz-checksum-type", typ)
	}
	writeXML(r.ctx, fasthttp.StatusOK, initiateMultipartUploadResult{Xmlns: s3Namespace, Bucket: r.bucket, Key: r.key, UploadID: up.UploadID})
	return nil
}

func (r *request) partNumber() (int, error) {
	n, err := strconv.Atoi(r.query("partNumber"))
	if err != nil || n < 1 || n > origin.MaxPartNumber {
		return 0, errInvalidPartNumber
	}
	return n, nil
}

func (h *Handler) uploadPart(r *request) error {
	n, err := r.partNumber()
	if err != nil {
		return err
	}
	body, opts, err := r.payload()
	if err != nil {
		return err
	}
	part, err := h.store.UploadPart(r.ctx, r.bucket, r.key, r.query("uploadId"), n, body, opts)
	if err != nil {
		return err
	}
	r.ctx.Response.Header.Set("ETag", quoteETag(part.ETag))
	setChecksumHeaders(r.ctx, part.Checksums)
	return nil
}

// uploadPartCopy makes a part from a range of an existing object.
func (h *Handler) uploadPartCopy(r *request) error {
	n, err := r.partNumber()
	if err != nil {
		return err
	}
	srcBucket, srcKey, err := r.copySource()
	if err != nil {
		return err
	}
	cond, err := r.conditions("x-amz-copy-source-")
	if err != nil {
		return err
	}
	opts := origin.GetOptions{Conditions: cond}
	if s := r.header("x-amz-copy-source-range"); s != "" {
		spec, ok := origin.ParseRange(s)
		if !ok || spec.Suffix || spec.Last < 0 {
			return errInvalidArgument.withMessage("The x-amz-copy-source-range value must be of the form bytes=first-last.")
		}
		opts.Range = &spec
	}
	src, err := h.store.GetObject(r.ctx, srcBucket, srcKey, opts)
	if err != nil {
		return sourceError(err)
	}
	defer src.Body.Close()
	part, err := h.store.UploadPart(r.ctx, r.bucket, r.key, r.query("uploadId"), n, src.Body, origin.PartOptions{Size: src.Length})
	if err != nil {
		return err
	}
	writeXML(r.ctx, fasthttp.StatusOK, copyPartResult{Xmlns: s3Namespace, LastModified: isoTime(part.LastModified), ETag: quoteETag(part.ETag)})
	return nil
}

// sourceError: for a copy, a source that is "not modified" failed a
// precondition.
func sourceError(err error) error {
	if api := errorFor(err); api == errNotModified {
		return errPreconditionFailed
	}
	return err
}

func (h *Handler) completeUpload(r *request) error {
	var req completeMultipartUpload
	if err := r.readXML(h.cfg.MaxXMLBody, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return errMalformedXML.withMessage("CompleteMultipartUpload must list at least one part.")
	}
	c, err := r.conditions("")
	if err != nil {
		return err
	}
	parts := make([]origin.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = origin.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag}
	}
	check, err := r.completeCheck(req.Parts)
	if err != nil {
		return err
	}
	info, err := h.store.CompleteMultipartUpload(r.ctx, r.bucket, r.key, r.query("uploadId"), parts, origin.CompleteOptions{Conditions: c, Check: check})
	if err != nil {
		return err
	}
	setWriteHeaders(r.ctx, &info)
	res := completeMultipartUploadResult{
		Xmlns: s3Namespace, Location: "/" + r.bucket + "/" + r.key,
		Bucket: r.bucket, Key: r.key, ETag: quoteETag(info.ETag),
		checksumFields: checksumFieldsOf(info.Checksums),
	}
	for _, v := range info.Checksums {
		res.ChecksumType = checksumType(v)
		r.ctx.Response.Header.Set("x-amz-checksum-type", res.ChecksumType)
	}
	writeXML(r.ctx, fasthttp.StatusOK, res)
	return nil
}

func (h *Handler) abortUpload(r *request) error {
	if err := h.store.AbortMultipartUpload(r.ctx, r.bucket, r.key, r.query("uploadId")); err != nil {
		return err
	}
	r.ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}

// pageParam reads max-parts / max-uploads (0 when absent).
func (r *request) pageParam(name string) (int, error) {
	s := r.query(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errInvalidMaxKeys
	}
	return n, nil
}

func (h *Handler) listParts(r *request) error {
	maxParts, err := r.pageParam("max-parts")
	if err != nil {
		return err
	}
	marker := 0
	if s := r.query("part-number-marker"); s != "" {
		if marker, err = strconv.Atoi(s); err != nil || marker < 0 {
			return errInvalidArgument.withMessage("part-number-marker must be a non-negative integer.")
		}
	}
	res, err := h.store.ListParts(r.ctx, r.bucket, r.key, r.query("uploadId"), origin.ListPartsOptions{PartNumberMarker: marker, MaxParts: maxParts})
	if err != nil {
		return err
	}
	if maxParts == 0 || maxParts > origin.MaxListKeys {
		maxParts = origin.MaxListKeys
	}
	out := listPartsResult{
		Xmlns: s3Namespace, Bucket: r.bucket, Key: r.key, UploadID: res.Upload.UploadID,
		PartNumberMarker: marker, NextPartNumberMarker: res.NextPartNumberMarker,
		MaxParts: maxParts, IsTruncated: res.IsTruncated, StorageClass: "STANDARD",
		ChecksumAlgorithm: res.Upload.ChecksumAlgorithm, ChecksumType: res.Upload.ChecksumType,
	}
	for _, p := range res.Parts {
		out.Parts = append(out.Parts, partEntry{
			PartNumber: p.PartNumber, LastModified: isoTime(p.LastModified), ETag: quoteETag(p.ETag), Size: p.Size,
			checksumFields: checksumFieldsOf(p.Checksums),
		})
	}
	writeXML(r.ctx, fasthttp.StatusOK, out)
	return nil
}

func (h *Handler) listUploads(r *request) error {
	maxUploads, err := r.pageParam("max-uploads")
	if err != nil {
		return err
	}
	enc, err := r.encodingType()
	if err != nil {
		return err
	}
	opts := origin.ListUploadsOptions{
		Prefix: r.query("prefix"), Delimiter: r.query("delimiter"), KeyMarker: r.query("key-marker"),
		UploadIDMarker: r.query("upload-id-marker"), MaxUploads: maxUploads,
	}
	res, err := h.store.ListMultipartUploads(r.ctx, r.bucket, opts)
	if err != nil {
		return err
	}
	if maxUploads == 0 || maxUploads > origin.MaxListKeys {
		maxUploads = origin.MaxListKeys
	}
	// encoding-type=url covers the elements that hold keys: Delimiter,
	// KeyMarker, Prefix, NextKeyMarker, Key and the common prefixes.
	out := listMultipartUploadsResult{
		Xmlns: s3Namespace, Bucket: r.bucket,
		KeyMarker: encodeIf(enc, opts.KeyMarker), UploadIDMarker: opts.UploadIDMarker,
		NextKeyMarker: encodeIf(enc, res.NextKeyMarker), NextUploadIDMarker: res.NextUploadIDMarker,
		Delimiter: encodeIf(enc, opts.Delimiter), Prefix: encodeIf(enc, opts.Prefix),
		MaxUploads: maxUploads, IsTruncated: res.IsTruncated,
	}
	if enc {
		out.EncodingType = "url"
	}
	for _, u := range res.Uploads {
		out.Uploads = append(out.Uploads, uploadEntry{
			Key: encodeIf(enc, u.Key), UploadID: u.UploadID, Initiated: isoTime(u.Initiated), StorageClass: "STANDARD",
			ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType,
		})
	}
	for _, p := range res.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: encodeIf(enc, p)})
	}
	writeXML(r.ctx, fasthttp.StatusOK, out)
	return nil
}
