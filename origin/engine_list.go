package origin

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// ListObjects returns one page of bucket's keys in UTF-8 binary order
// (bbolt's byte order), rolling keys up into common prefixes at Delimiter.
// The page comes from one read transaction, so it is a consistent snapshot.
func (e *Engine) ListObjects(ctx context.Context, bucket string, opts ListOptions) (ListResult, error) {
	var res ListResult
	start, err := listStart(opts)
	if err != nil {
		return res, opError("ListObjects", bucket, "", err)
	}
	limit, err := pageSize(opts.MaxKeys)
	if err != nil {
		return res, opError("ListObjects", bucket, "", err)
	}
	err = e.view(func(tx *bolt.Tx) error {
		objs, err := objectsOf(tx, bucket)
		if err != nil {
			return err
		}
		res, err = listPage(objs.Cursor(), bucket, opts.Prefix, opts.Delimiter, start, limit)
		return err
	})
	return res, opError("ListObjects", bucket, "", err)
}

// pageSize applies S3's rule for max-keys, max-parts and max-uploads: 0
// means the default of 1000, more than 1000 is 1000, negative is an error.
func pageSize(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: the page size must not be negative", ErrInvalidArgument)
	case n == 0 || n > MaxListKeys:
		return MaxListKeys, nil
	}
	return n, nil
}

// listStart is the key the page starts after: the continuation token when
// there is one, else StartAfter.
func listStart(opts ListOptions) (string, error) {
	if opts.ContinuationToken == "" {
		return opts.StartAfter, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(opts.ContinuationToken)
	if err != nil || len(b) == 0 || b[0] != 'k' {
		return "", ErrInvalidArgument
	}
	return string(b[1:]), nil
}

func encodeToken(last string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte{'k'}, last...))
}

// listPage walks keys after start. A common prefix that sorts at or before
// start was returned on an earlier page (or precedes the marker), so it is
// skipped whole by seeking past every key that shares it.
func listPage(c *bolt.Cursor, bucket, prefix, delim, start string, limit int) (ListResult, error) {
	var res ListResult
	var k, v []byte
	if start >= prefix {
		k, v = c.Seek([]byte(start))
		if k != nil && string(k) == start {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek([]byte(prefix))
	}
	var last string
	for k != nil && bytes.HasPrefix(k, []byte(prefix)) {
		key := string(k)
		if cp, ok := commonPrefix(key, prefix, delim); ok {
			if cp > start {
				if len(res.Objects)+len(res.CommonPrefixes) == limit {
					res.IsTruncated = true
					break
				}
				res.CommonPrefixes = append(res.CommonPrefixes, cp)
				last = cp
			}
			next, ok := successor(cp)
			if !ok {
				break // cp is all 0xff bytes: nothing sorts after it
			}
			k, v = c.Seek([]byte(next))
			continue
		}
		if len(res.Objects)+len(res.CommonPrefixes) == limit {
			res.IsTruncated = true
			break
		}
		rec, err := decodeRecord(bucket, key, v)
		if err != nil {
			return res, err
		}
		res.Objects = append(res.Objects, rec.ObjectInfo)
		last = key
		k, v = c.Next()
	}
	if res.IsTruncated {
		res.NextContinuationToken = encodeToken(last)
	}
	res.NextMarker = last
	return res, nil
}

// commonPrefix returns the prefix key rolls up into: everything up to and
// including the first delimiter after prefix.
func commonPrefix(key, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}

// successor returns the smallest string greater than every string with
// prefix p, or false when there is none.
func successor(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
