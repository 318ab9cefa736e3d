package origin

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// PutObject writes body durably, then commits its metadata (checking the
// conditions in the same transaction) and returns the new version.
func (e *Engine) PutObject(ctx context.Context, bucket, key string, r io.Reader, opts PutOptions) (ObjectInfo, error) {
	info, err := e.putObject(ctx, bucket, key, r, opts)
	return info, opError("PutObject", bucket, key, err)
}

func (e *Engine) putObject(ctx context.Context, bucket, key string, r io.Reader, opts PutOptions) (ObjectInfo, error) {
	if err := checkKey(key); err != nil {
		return ObjectInfo{}, err
	}
	// Fail fast on a missing bucket or a failed condition before reading
	// the body; the commit checks both again.
	if err := e.precheckWrite(bucket, key, &opts.Conditions); err != nil {
		return ObjectInfo{}, err
	}
	b, err := e.writeBody(ctx, r, opts.Size, e.opts.MaxObjectSize, opts.ContentMD5)
	if err != nil {
		return ObjectInfo{}, err
	}
	var checksums map[string]string
	if opts.Verify != nil {
		if checksums, err = opts.Verify(); err != nil {
			e.removeBodies([]string{b.id})
			return ObjectInfo{}, err
		}
	}
	rec := objectRecord{
		ObjectInfo: ObjectInfo{
			Bucket:    bucket,
			Key:       key,
			Size:      b.size,
			ETag:      hex.EncodeToString(b.md5),
			Headers:   opts.Headers,
			UserMeta:  maps.Clone(opts.UserMeta),
			Tags:      slices.Clone(opts.Tags),
			Checksums: checksums,
		},
		Body: b.id,
	}
	return e.commitObject(ctx, &rec, &opts.Conditions, nil)
}

// precheckWrite tells early that a write cannot succeed; it decides nothing.
func (e *Engine) precheckWrite(bucket, key string, c *Conditions) error {
	return e.view(func(tx *bolt.Tx) error {
		objs, err := objectsOf(tx, bucket)
		if err != nil {
			return err
		}
		cur, err := getRecord(objs, bucket, key)
		if err != nil {
			return err
		}
		return c.checkWrite(infoOf(cur))
	})
}

// commitObject makes rec (whose body is durable) the current version of its
// key if the conditions hold, numbering it with a new generation. check,
// when set, runs inside the transaction too (copy uses it to confirm its
// source did not change). On failure rec's body is removed.
func (e *Engine) commitObject(ctx context.Context, rec *objectRecord, c *Conditions, check func(w *writeTx) error) (ObjectInfo, error) {
	_, err := e.update(ctx, func(w *writeTx) error {
		objs, err := objectsOf(w.Tx, rec.Bucket)
		if err != nil {
			return err
		}
		cur, err := getRecord(objs, rec.Bucket, rec.Key)
		if err != nil {
			return err
		}
		if err := c.checkWrite(infoOf(cur)); err != nil {
			return err
		}
		if check != nil {
			if err := check(w); err != nil {
				return err
			}
		}
		gen, err := w.record(OpPut, rec.Bucket, rec.Key)
		if err != nil {
			return err
		}
		rec.Generation = gen
		rec.LastModified = e.opts.Now().UTC()
		v, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if err := objs.Put([]byte(rec.Key), v); err != nil {
			return err
		}
		if cur != nil {
			w.garbage = append(w.garbage, cur.Body)
		}
		return nil
	})
	if err != nil {
		e.removeBodies([]string{rec.Body})
		return ObjectInfo{}, err
	}
	return rec.ObjectInfo, nil
}

// GetObject opens the current version of bucket/key (or the range asked).
func (e *Engine) GetObject(ctx context.Context, bucket, key string, opts GetOptions) (*Object, error) {
	obj, err := e.getObject(ctx, bucket, key, opts)
	return obj, opError("GetObject", bucket, key, err)
}

func (e *Engine) getObject(ctx context.Context, bucket, key string, opts GetOptions) (*Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A commit may remove the body between our read of the metadata and the
	// open; the retry then sees the newer metadata. Each retry means a
	// writer made progress, so this ends.
	for {
		rec, f, err := e.openCurrent(bucket, key, &opts.Conditions)
		if errors.Is(err, errBodyGone) {
			continue
		}
		if err != nil {
			return nil, err
		}
		obj := &Object{Info: rec.ObjectInfo}
		if obj.Start, obj.Length, err = opts.Span(&rec.ObjectInfo); err != nil {
			f.Close()
			return nil, err
		}
		if _, err := f.Seek(obj.Start, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		obj.Body = &bodyReader{Reader: io.LimitReader(f, obj.Length), f: f}
		return obj, nil
	}
}

// openCurrent reads the record and opens its body within one read
// transaction, after checking the read conditions.
func (e *Engine) openCurrent(bucket, key string, c *Conditions) (*objectRecord, *os.File, error) {
	var rec *objectRecord
	var f *os.File
	err := e.view(func(tx *bolt.Tx) error {
		var err error
		rec, err = e.readRecord(tx, bucket, key, c)
		if err != nil {
			return err
		}
		f, err = e.openBody(rec.Body)
		return err
	})
	return rec, f, err
}

// readRecord returns the existing record of bucket/key if c allows the read.
func (e *Engine) readRecord(tx *bolt.Tx, bucket, key string, c *Conditions) (*objectRecord, error) {
	objs, err := objectsOf(tx, bucket)
	if err != nil {
		return nil, err
	}
	rec, err := getRecord(objs, bucket, key)
	if err != nil {
		return nil, err
	}
	if err := c.checkRead(infoOf(rec)); err != nil {
		return nil, err
	}
	return rec, nil
}

// bodyReader delivers a range of an open body file.
type bodyReader struct {
	io.Reader
	f *os.File
}

func (b *bodyReader) Close() error { return b.f.Close() }

// HeadObject returns the metadata of bucket/key.
func (e *Engine) HeadObject(ctx context.Context, bucket, key string, opts GetOptions) (ObjectInfo, error) {
	var info ObjectInfo
	err := e.view(func(tx *bolt.Tx) error {
		rec, err := e.readRecord(tx, bucket, key, &opts.Conditions)
		if err != nil {
			return err
		}
		if _, _, err := opts.Span(&rec.ObjectInfo); err != nil {
			return err
		}
		info = rec.ObjectInfo
		return nil
	})
	return info, opError("HeadObject", bucket, key, err)
}

// DeleteObject removes bucket/key if the conditions hold. Deleting a missing
// key succeeds and changes nothing.
func (e *Engine) DeleteObject(ctx context.Context, bucket, key string, opts DeleteOptions) (DeleteResult, error) {
	res := DeleteResult{Key: key}
	_, err := e.update(ctx, func(w *writeTx) error {
		objs, err := objectsOf(w.Tx, bucket)
		if err != nil {
			return err
		}
		res.Deleted, res.Generation, err = deleteKey(w, objs, bucket, key, &opts.Conditions)
		return err
	})
	if err != nil {
		res.Err = opError("DeleteObject", bucket, key, err)
	}
	return res, res.Err
}

// deleteKey removes one key inside a write transaction and returns the
// delete's place in the store's order: its own sequence number, or, when
// there was nothing to delete, the last committed one (the key was absent
// then, and every later write gets a greater number).
func deleteKey(w *writeTx, objs *bolt.Bucket, bucket, key string, c *Conditions) (deleted bool, gen int64, err error) {
	cur, err := getRecord(objs, bucket, key)
	if err != nil {
		return false, 0, err
	}
	if cur == nil {
		if c.IfMatch != "" || (c.IfGenerationMatch != nil && *c.IfGenerationMatch != 0) {
			return false, 0, ErrNoSuchKey
		}
		return false, int64(w.Bucket(bktOutbox).Sequence()), nil
	}
	if err := c.checkWrite(&cur.ObjectInfo); err != nil {
		return false, 0, err
	}
	if err := objs.Delete([]byte(key)); err != nil {
		return false, 0, err
	}
	seq, err := w.record(OpDelete, bucket, key)
	if err != nil {
		return false, 0, err
	}
	w.garbage = append(w.garbage, cur.Body)
	return true, seq, nil
}

// DeleteObjects deletes up to 1000 keys, each on its own terms: one key's
// failure does not stop the others.
func (e *Engine) DeleteObjects(ctx context.Context, bucket string, keys []string) ([]DeleteResult, error) {
	if len(keys) > MaxDeleteObjects {
		return nil, opError("DeleteObjects", bucket, "", ErrInvalidArgument)
	}
	var results []DeleteResult
	_, err := e.update(ctx, func(w *writeTx) error {
		objs, err := objectsOf(w.Tx, bucket)
		if err != nil {
			return err
		}
		results = make([]DeleteResult, len(keys))
		for i, key := range keys {
			results[i].Key = key
			if err := checkKey(key); err != nil {
				results[i].Err = opError("DeleteObject", bucket, key, err)
				continue
			}
			results[i].Deleted, results[i].Generation, err = deleteKey(w, objs, bucket, key, &Conditions{})
			if err != nil {
				return err // a storage error: fail the batch, nothing applied
			}
		}
		return nil
	})
	if err != nil {
		return nil, opError("DeleteObjects", bucket, "", err)
	}
	return results, nil
}

// CopyObject gives dst its own durable copy of src's body (a hard link:
// bodies are immutable) and commits it as a new version of dst, provided
// src is still the version that was linked.
func (e *Engine) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, opts CopyOptions) (ObjectInfo, error) {
	info, err := e.copyObject(ctx, srcBucket, srcKey, dstBucket, dstKey, opts)
	return info, opError("CopyObject", dstBucket, dstKey, err)
}

func (e *Engine) copyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, opts CopyOptions) (ObjectInfo, error) {
	if err := checkKey(dstKey); err != nil {
		return ObjectInfo{}, err
	}
	if err := e.precheckWrite(dstBucket, dstKey, &opts.Conditions); err != nil {
		return ObjectInfo{}, err
	}
	for {
		var src *objectRecord
		err := e.view(func(tx *bolt.Tx) error {
			var err error
			src, err = e.readRecord(tx, srcBucket, srcKey, &opts.SourceConditions)
			return err
		})
		if err != nil {
			return ObjectInfo{}, sourceError(err)
		}
		id, err := e.linkBody(src.Body)
		if errors.Is(err, os.ErrNotExist) {
			continue // src was replaced meanwhile: copy the new version
		}
		if err != nil {
			return ObjectInfo{}, err
		}
		rec := objectRecord{ObjectInfo: src.ObjectInfo, Body: id}
		rec.Bucket, rec.Key = dstBucket, dstKey
		if opts.ReplaceMetadata {
			rec.Headers = opts.Headers
			rec.UserMeta = maps.Clone(opts.UserMeta)
			rec.Tags = slices.Clone(opts.Tags)
		}
		info, err := e.commitObject(ctx, &rec, &opts.Conditions, func(w *writeTx) error {
			objs, err := objectsOf(w.Tx, srcBucket)
			if err != nil {
				return err
			}
			now, err := getRecord(objs, srcBucket, srcKey)
			if err != nil {
				return err
			}
			if now == nil || now.Generation != src.Generation {
				return errSourceChanged
			}
			return nil
		})
		if errors.Is(err, errSourceChanged) {
			continue
		}
		return info, err
	}
}

var errSourceChanged = errors.New("copy source changed during the copy")

// sourceError keeps a copy's source failures distinct from its destination's:
// a source that is not modified is, for a copy, a failed precondition.
func sourceError(err error) error {
	if errors.Is(err, ErrNotModified) {
		return ErrPreconditionFailed
	}
	return err
}
