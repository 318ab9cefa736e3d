package origin

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// CreateBucket creates an empty bucket.
func (e *Engine) CreateBucket(ctx context.Context, name string) error {
	if err := checkBucketName(name); err != nil {
		return opError("CreateBucket", name, "", err)
	}
	_, err := e.update(ctx, func(w *writeTx) error {
		bb := w.Bucket(bktBuckets)
		if bb.Get([]byte(name)) != nil {
			return ErrBucketExists
		}
		v, err := json.Marshal(bucketRecord{Created: e.opts.Now().UTC()})
		if err != nil {
			return err
		}
		if err := bb.Put([]byte(name), v); err != nil {
			return err
		}
		if _, err := w.Bucket(bktObjects).CreateBucket([]byte(name)); err != nil {
			return err
		}
		if _, err := w.Bucket(bktUploads).CreateBucket([]byte(name)); err != nil {
			return err
		}
		_, err = w.record(OpCreateBucket, name, "")
		return err
	})
	return opError("CreateBucket", name, "", err)
}

// DeleteBucket removes a bucket that holds no objects and no uploads.
func (e *Engine) DeleteBucket(ctx context.Context, name string) error {
	_, err := e.update(ctx, func(w *writeTx) error {
		if w.Bucket(bktBuckets).Get([]byte(name)) == nil {
			return ErrNoSuchBucket
		}
		objs := w.Bucket(bktObjects).Bucket([]byte(name))
		ups := w.Bucket(bktUploads).Bucket([]byte(name))
		if k, _ := objs.Cursor().First(); k != nil {
			return ErrBucketNotEmpty
		}
		if k, _ := ups.Cursor().First(); k != nil {
			return ErrBucketNotEmpty
		}
		if err := w.Bucket(bktObjects).DeleteBucket([]byte(name)); err != nil {
			return err
		}
		if err := w.Bucket(bktUploads).DeleteBucket([]byte(name)); err != nil {
			return err
		}
		if err := w.Bucket(bktBuckets).Delete([]byte(name)); err != nil {
			return err
		}
		_, err := w.record(OpDeleteBucket, name, "")
		return err
	})
	return opError("DeleteBucket", name, "", err)
}

// HeadBucket reports whether the bucket exists.
func (e *Engine) HeadBucket(ctx context.Context, name string) (BucketInfo, error) {
	var info BucketInfo
	err := e.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktBuckets).Get([]byte(name))
		if v == nil {
			return ErrNoSuchBucket
		}
		var r bucketRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		info = BucketInfo{Name: name, Created: r.Created}
		return nil
	})
	return info, opError("HeadBucket", name, "", err)
}

// ListBuckets lists every bucket, by name.
func (e *Engine) ListBuckets(ctx context.Context) ([]BucketInfo, error) {
	var out []BucketInfo
	err := e.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktBuckets).ForEach(func(k, v []byte) error {
			var r bucketRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			out = append(out, BucketInfo{Name: string(k), Created: r.Created})
			return nil
		})
	})
	return out, opError("ListBuckets", "", "", err)
}

// objectsOf returns the bucket's object index, or ErrNoSuchBucket.
func objectsOf(tx *bolt.Tx, bucket string) (*bolt.Bucket, error) {
	b := tx.Bucket(bktObjects).Bucket([]byte(bucket))
	if b == nil {
		return nil, ErrNoSuchBucket
	}
	return b, nil
}

// getRecord reads bucket/key's record; nil when the object does not exist.
func getRecord(objs *bolt.Bucket, bucket, key string) (*objectRecord, error) {
	v := objs.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	return decodeRecord(bucket, key, v)
}

func decodeRecord(bucket, key string, v []byte) (*objectRecord, error) {
	r := &objectRecord{}
	if err := json.Unmarshal(v, r); err != nil {
		return nil, err
	}
	r.Bucket, r.Key = bucket, key
	return r, nil
}

// infoOf is nil for a missing object, as the condition checks expect.
func infoOf(r *objectRecord) *ObjectInfo {
	if r == nil {
		return nil
	}
	return &r.ObjectInfo
}
