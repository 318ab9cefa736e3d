package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkDiskBaseline is what the disk allows a put at best: write a temp
// file, fsync it, rename it, fsync the directory. Put's numbers are read as
// ratios to this one, measured in the same run.
func BenchmarkDiskBaseline(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			dir := b.TempDir()
			data := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				f, err := os.CreateTemp(dir, "tmp-*")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
				if err := os.Rename(f.Name(), filepath.Join(dir, fmt.Sprint("obj-", i%64))); err != nil {
					b.Fatal(err)
				}
				if err := syncDir(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPut(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			e := openBench(b)
			data := bytes.Repeat([]byte("x"), size)
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				_, err := e.PutObject(context.Background(), "bkt", fmt.Sprint("k", i%64), bytes.NewReader(data), PutOptions{Size: int64(size)})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPutParallel shows how concurrent writers share the metadata
// commit.
func BenchmarkPutParallel(b *testing.B) {
	e := openBench(b)
	data := bytes.Repeat([]byte("x"), 4<<10)
	b.SetBytes(int64(len(data)))
	b.SetParallelism(8)
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, err := e.PutObject(context.Background(), "bkt", fmt.Sprint("k", n.Add(1)%64), bytes.NewReader(data), PutOptions{Size: int64(len(data))})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkGet(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(size), func(b *testing.B) {
			e := openBench(b)
			data := bytes.Repeat([]byte("x"), size)
			if _, err := e.PutObject(context.Background(), "bkt", "k", bytes.NewReader(data), PutOptions{Size: int64(size)}); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, size)
			b.SetBytes(int64(size))
			for b.Loop() {
				obj, err := e.GetObject(context.Background(), "bkt", "k", GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(obj.Body, buf); err != nil {
					b.Fatal(err)
				}
				obj.Body.Close()
			}
		})
	}
}

// BenchmarkList pages through 100 000 keys, 1000 a page, with and without a
// delimiter.
func BenchmarkList(b *testing.B) {
	e := openBench(b)
	const n = 100_000
	loadRecords(b, e, "bkt", n)
	for _, delim := range []string{"", "/"} {
		b.Run("delim="+delim, func(b *testing.B) {
			for b.Loop() {
				opts := ListOptions{Delimiter: delim}
				seen := 0
				for {
					res, err := e.ListObjects(context.Background(), "bkt", opts)
					if err != nil {
						b.Fatal(err)
					}
					seen += len(res.Objects) + len(res.CommonPrefixes)
					if !res.IsTruncated {
						break
					}
					opts.ContinuationToken = res.NextContinuationToken
				}
				if delim == "" && seen != n {
					b.Fatalf("listed %d keys, want %d", seen, n)
				}
			}
		})
	}
}

// loadRecords writes n object records in one transaction: LIST reads only
// metadata, and a put per key would make the setup take minutes.
func loadRecords(b *testing.B, e *Engine, bucket string, n int) {
	err := e.db.Update(func(tx *bolt.Tx) error {
		objs := tx.Bucket(bktObjects).Bucket([]byte(bucket))
		for i := range n {
			rec := objectRecord{ObjectInfo: ObjectInfo{Size: 10, ETag: "0123456789abcdef0123456789abcdef", Generation: int64(i + 1)}, Body: newID()}
			v, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			key := fmt.Sprintf("dir%03d/file%06d", i%500, i)
			if err := objs.Put([]byte(key), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func openBench(b *testing.B) *Engine {
	e, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if err := e.CreateBucket(context.Background(), "bkt"); err != nil {
		b.Fatal(err)
	}
	return e
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}
