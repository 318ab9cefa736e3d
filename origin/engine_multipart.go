package origin

import (
	"cmp"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// uploadRecord is a multipart upload in progress: the object's key and the
// metadata it will get on completion.
type uploadRecord struct {
	Key               string            `json:"key"`
	Initiated         time.Time         `json:"i"`
	Headers           Headers           `json:"h"`
	UserMeta          map[string]string `json:"u,omitempty"`
	Tags              []string          `json:"t,omitempty"`
	ChecksumAlgorithm string            `json:"ca,omitempty"`
	ChecksumType      string            `json:"cy,omitempty"`
}

func (u *uploadRecord) upload(bucket, uploadID string) MultipartUpload {
	return MultipartUpload{
		Bucket: bucket, Key: u.Key, UploadID: uploadID, Initiated: u.Initiated,
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType,
	}
}

// partRecord is one uploaded part; its body is a file like an object's.
type partRecord struct {
	Body         string            `json:"b"`
	ETag         string            `json:"e"`
	Size         int64             `json:"s"`
	LastModified time.Time         `json:"m"`
	Checksums    map[string]string `json:"k,omitempty"`
}

func partKey(uploadID string, n int) []byte {
	return binary.BigEndian.AppendUint16([]byte(uploadID), uint16(n))
}

// CreateMultipartUpload starts an upload to bucket/key; opts' metadata is
// what the object gets when the upload completes.
func (e *Engine) CreateMultipartUpload(ctx context.Context, bucket, key string, opts PutOptions) (MultipartUpload, error) {
	now := e.opts.Now().UTC()
	up := MultipartUpload{
		Bucket: bucket, Key: key, UploadID: newUploadID(now), Initiated: now,
		ChecksumAlgorithm: opts.ChecksumAlgorithm, ChecksumType: opts.ChecksumType,
	}
	if err := checkKey(key); err != nil {
		return up, opError("CreateMultipartUpload", bucket, key, err)
	}
	_, err := e.update(ctx, func(w *writeTx) error {
		ups := w.Bucket(bktUploads).Bucket([]byte(bucket))
		if ups == nil {
			return ErrNoSuchBucket
		}
		v, err := json.Marshal(uploadRecord{
			Key: key, Initiated: up.Initiated, Headers: opts.Headers,
			UserMeta: maps.Clone(opts.UserMeta), Tags: slices.Clone(opts.Tags),
			ChecksumAlgorithm: opts.ChecksumAlgorithm, ChecksumType: opts.ChecksumType,
		})
		if err != nil {
			return err
		}
		return ups.Put([]byte(up.UploadID), v)
	})
	return up, opError("CreateMultipartUpload", bucket, key, err)
}

// getUpload returns the upload record, or ErrNoSuchUpload when the id is
// unknown or belongs to another key.
func getUpload(tx *bolt.Tx, bucket, key, uploadID string) (*uploadRecord, error) {
	ups := tx.Bucket(bktUploads).Bucket([]byte(bucket))
	if ups == nil {
		return nil, ErrNoSuchBucket
	}
	v := ups.Get([]byte(uploadID))
	if v == nil {
		return nil, ErrNoSuchUpload
	}
	var u uploadRecord
	if err := json.Unmarshal(v, &u); err != nil {
		return nil, err
	}
	if u.Key != key {
		return nil, ErrNoSuchUpload
	}
	return &u, nil
}

// UploadPart stores one part durably; a second upload of the same number
// replaces the first.
func (e *Engine) UploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, opts PartOptions) (PartInfo, error) {
	p, err := e.uploadPart(ctx, bucket, key, uploadID, n, r, opts)
	return p, opError("UploadPart", bucket, key, err)
}

func (e *Engine) uploadPart(ctx context.Context, bucket, key, uploadID string, n int, r io.Reader, opts PartOptions) (PartInfo, error) {
	if n < 1 || n > MaxPartNumber {
		return PartInfo{}, fmt.Errorf("%w: part number must be an integer between 1 and 10000", ErrInvalidArgument)
	}
	err := e.view(func(tx *bolt.Tx) error {
		_, err := getUpload(tx, bucket, key, uploadID)
		return err
	})
	if err != nil {
		return PartInfo{}, err
	}
	b, err := e.writeBody(ctx, r, opts.Size, e.opts.MaxObjectSize, opts.ContentMD5)
	if err != nil {
		return PartInfo{}, err
	}
	rec := partRecord{Body: b.id, ETag: hex.EncodeToString(b.md5), Size: b.size, LastModified: e.opts.Now().UTC()}
	if opts.Verify != nil {
		if rec.Checksums, err = opts.Verify(); err != nil {
			e.removeBodies([]string{b.id})
			return PartInfo{}, err
		}
	}
	_, err = e.update(ctx, func(w *writeTx) error {
		if _, err := getUpload(w.Tx, bucket, key, uploadID); err != nil {
			return err
		}
		parts := w.Bucket(bktParts)
		pk := partKey(uploadID, n)
		if old := parts.Get(pk); old != nil {
			var p partRecord
			if err := json.Unmarshal(old, &p); err != nil {
				return err
			}
			w.garbage = append(w.garbage, p.Body)
		}
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		return parts.Put(pk, v)
	})
	if err != nil {
		e.removeBodies([]string{b.id})
		return PartInfo{}, err
	}
	return rec.info(n), nil
}

func (p *partRecord) info(n int) PartInfo {
	return PartInfo{PartNumber: n, ETag: p.ETag, Size: p.Size, LastModified: p.LastModified, Checksums: p.Checksums}
}

// forEachPart calls fn for the upload's parts numbered above after, in order.
func forEachPart(tx *bolt.Tx, uploadID string, after int, fn func(n int, p *partRecord) (bool, error)) error {
	c := tx.Bucket(bktParts).Cursor()
	prefix := []byte(uploadID)
	for k, v := c.Seek(partKey(uploadID, after+1)); k != nil && len(k) == len(prefix)+2 && string(k[:len(prefix)]) == uploadID; k, v = c.Next() {
		var p partRecord
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		more, err := fn(int(binary.BigEndian.Uint16(k[len(prefix):])), &p)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ListParts lists an upload's parts by number.
func (e *Engine) ListParts(ctx context.Context, bucket, key, uploadID string, opts ListPartsOptions) (ListPartsResult, error) {
	res := ListPartsResult{}
	limit, err := pageSize(opts.MaxParts)
	if err != nil {
		return res, opError("ListParts", bucket, key, err)
	}
	err = e.view(func(tx *bolt.Tx) error {
		u, err := getUpload(tx, bucket, key, uploadID)
		if err != nil {
			return err
		}
		res.Upload = u.upload(bucket, uploadID)
		return forEachPart(tx, uploadID, max(opts.PartNumberMarker, 0), func(n int, p *partRecord) (bool, error) {
			if len(res.Parts) == limit {
				res.IsTruncated = true
				return false, nil
			}
			res.Parts = append(res.Parts, p.info(n))
			res.NextPartNumberMarker = n
			return true, nil
		})
	})
	return res, opError("ListParts", bucket, key, err)
}

// CompleteMultipartUpload concatenates the listed parts into a new durable
// body and, in one transaction, makes it the object and ends the upload.
func (e *Engine) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, list []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	info, err := e.completeUpload(ctx, bucket, key, uploadID, list, opts)
	return info, opError("CompleteMultipartUpload", bucket, key, err)
}

func (e *Engine) completeUpload(ctx context.Context, bucket, key, uploadID string, list []CompletePart, opts CompleteOptions) (ObjectInfo, error) {
	if len(list) == 0 {
		return ObjectInfo{}, ErrInvalidPartOrder
	}
	for i := range list {
		if list[i].PartNumber < 1 || list[i].PartNumber > MaxPartNumber {
			return ObjectInfo{}, ErrInvalidPart
		}
		if i > 0 && list[i].PartNumber <= list[i-1].PartNumber {
			return ObjectInfo{}, ErrInvalidPartOrder
		}
	}
	if err := e.precheckWrite(bucket, key, &opts.Conditions); err != nil {
		return ObjectInfo{}, err
	}
	for {
		info, err := e.tryComplete(ctx, bucket, key, uploadID, list, &opts)
		if errors.Is(err, errPartsChanged) {
			continue // a part was replaced while we joined them: join again
		}
		return info, err
	}
}

var errPartsChanged = errors.New("parts changed during completion")

func (e *Engine) tryComplete(ctx context.Context, bucket, key, uploadID string, list []CompletePart, opts *CompleteOptions) (ObjectInfo, error) {
	var up *uploadRecord
	var used []partRecord
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	err := e.view(func(tx *bolt.Tx) error {
		var err error
		if up, err = getUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		used, err = lookupParts(tx, uploadID, list, e.opts.MinPartSize)
		if err != nil {
			return err
		}
		for _, p := range used {
			f, err := e.openBody(p.Body)
			if err != nil {
				return err
			}
			files = append(files, f)
		}
		return nil
	})
	if errors.Is(err, errBodyGone) {
		return ObjectInfo{}, errPartsChanged
	}
	if err != nil {
		return ObjectInfo{}, err
	}
	var total int64
	sizes := make([]int64, len(files))
	readers := make([]io.Reader, len(files))
	infos := make([]PartInfo, len(files))
	sums := md5.New()
	for i, f := range files {
		readers[i] = f
		total += used[i].Size
		sizes[i] = used[i].Size
		infos[i] = used[i].info(list[i].PartNumber)
		raw, _ := hex.DecodeString(used[i].ETag)
		sums.Write(raw)
	}
	joined := io.MultiReader(readers...)
	var verify func() (map[string]string, error)
	if opts.Check != nil {
		wrap, v, err := opts.Check(up.upload(bucket, uploadID), infos)
		if err != nil {
			return ObjectInfo{}, err
		}
		if wrap != nil {
			joined = wrap(joined)
		}
		verify = v
	}
	b, err := e.writeBody(ctx, joined, total, e.opts.MaxObjectSize, nil)
	if err != nil {
		return ObjectInfo{}, err
	}
	var checksums map[string]string
	if verify != nil {
		if checksums, err = verify(); err != nil {
			e.removeBodies([]string{b.id})
			return ObjectInfo{}, err
		}
	}
	rec := objectRecord{
		ObjectInfo: ObjectInfo{
			Bucket: bucket, Key: key, Size: b.size,
			ETag:      fmt.Sprintf("%x-%d", sums.Sum(nil), len(list)),
			Headers:   up.Headers,
			UserMeta:  up.UserMeta,
			Tags:      up.Tags,
			Parts:     len(list),
			PartSizes: sizes,
			Checksums: checksums,
		},
		Body: b.id,
	}
	return e.commitObject(ctx, &rec, &opts.Conditions, func(w *writeTx) error {
		if _, err := getUpload(w.Tx, bucket, key, uploadID); err != nil {
			return err
		}
		now, err := lookupParts(w.Tx, uploadID, list, e.opts.MinPartSize)
		if err != nil {
			return err
		}
		for i := range now {
			if now[i].Body != used[i].Body {
				return errPartsChanged
			}
		}
		return dropUpload(w, bucket, uploadID)
	})
}

// lookupParts returns the records of the listed parts, checking that each
// exists with the listed ETag and that all but the last are big enough.
func lookupParts(tx *bolt.Tx, uploadID string, list []CompletePart, minSize int64) ([]partRecord, error) {
	parts := tx.Bucket(bktParts)
	out := make([]partRecord, len(list))
	for i, cp := range list {
		v := parts.Get(partKey(uploadID, cp.PartNumber))
		if v == nil {
			return nil, ErrInvalidPart
		}
		if err := json.Unmarshal(v, &out[i]); err != nil {
			return nil, err
		}
		if strings.Trim(cp.ETag, `"`) != out[i].ETag {
			return nil, ErrInvalidPart
		}
		if i < len(list)-1 && out[i].Size < minSize {
			return nil, ErrEntityTooSmall
		}
	}
	return out, nil
}

// dropUpload deletes the upload and all its parts, listing their bodies
// for removal after the commit.
func dropUpload(w *writeTx, bucket, uploadID string) error {
	var keys [][]byte
	err := forEachPart(w.Tx, uploadID, 0, func(n int, p *partRecord) (bool, error) {
		keys = append(keys, partKey(uploadID, n))
		w.garbage = append(w.garbage, p.Body)
		return true, nil
	})
	if err != nil {
		return err
	}
	parts := w.Bucket(bktParts)
	for _, k := range keys {
		if err := parts.Delete(k); err != nil {
			return err
		}
	}
	return w.Bucket(bktUploads).Bucket([]byte(bucket)).Delete([]byte(uploadID))
}

// AbortMultipartUpload ends an upload and discards its parts.
func (e *Engine) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	_, err := e.update(ctx, func(w *writeTx) error {
		if _, err := getUpload(w.Tx, bucket, key, uploadID); err != nil {
			return err
		}
		return dropUpload(w, bucket, uploadID)
	})
	return opError("AbortMultipartUpload", bucket, key, err)
}

// afterUploadMarker applies S3's markers: keys after KeyMarker, and with an
// UploadIDMarker also uploads of KeyMarker whose id sorts after it. Upload
// ids sort by creation, so this works when the marker's upload is gone.
func afterUploadMarker(u MultipartUpload, opts ListUploadsOptions) bool {
	if u.Key != opts.KeyMarker {
		return u.Key > opts.KeyMarker
	}
	return opts.UploadIDMarker != "" && u.UploadID > opts.UploadIDMarker
}

// newUploadID is unique and sorts in creation order (ListMultipartUploads
// orders a key's uploads by initiation).
func newUploadID(now time.Time) string {
	return fmt.Sprintf("%016x", now.UnixNano()) + newID()[:16]
}

// ListMultipartUploads lists uploads in progress by key, then initiation.
func (e *Engine) ListMultipartUploads(ctx context.Context, bucket string, opts ListUploadsOptions) (ListUploadsResult, error) {
	var res ListUploadsResult
	limit, err := pageSize(opts.MaxUploads)
	if err != nil {
		return res, opError("ListMultipartUploads", bucket, "", err)
	}
	var all []MultipartUpload
	err = e.view(func(tx *bolt.Tx) error {
		ups := tx.Bucket(bktUploads).Bucket([]byte(bucket))
		if ups == nil {
			return ErrNoSuchBucket
		}
		return ups.ForEach(func(k, v []byte) error {
			var u uploadRecord
			if err := json.Unmarshal(v, &u); err != nil {
				return err
			}
			if strings.HasPrefix(u.Key, opts.Prefix) {
				all = append(all, u.upload(bucket, string(k)))
			}
			return nil
		})
	})
	if err != nil {
		return res, opError("ListMultipartUploads", bucket, "", err)
	}
	slices.SortFunc(all, func(a, b MultipartUpload) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.UploadID, b.UploadID))
	})
	for _, u := range all {
		if !afterUploadMarker(u, opts) {
			continue
		}
		prefix, rolled := commonPrefix(u.Key, opts.Prefix, opts.Delimiter)
		if rolled && (prefix <= opts.KeyMarker || len(res.CommonPrefixes) > 0 && res.CommonPrefixes[len(res.CommonPrefixes)-1] == prefix) {
			continue // returned already, on this page or an earlier one (as in listPage)
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == limit {
			res.IsTruncated = true
			break
		}
		if rolled {
			res.CommonPrefixes = append(res.CommonPrefixes, prefix)
			res.NextKeyMarker, res.NextUploadIDMarker = prefix, ""
			continue
		}
		res.Uploads = append(res.Uploads, u)
		res.NextKeyMarker, res.NextUploadIDMarker = u.Key, u.UploadID
	}
	if !res.IsTruncated {
		res.NextKeyMarker, res.NextUploadIDMarker = "", ""
	}
	return res, nil
}
