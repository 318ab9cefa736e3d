package origin

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// body is a durable, immutable body file named by id.
type body struct {
	id   string
	size int64
	md5  []byte
}

// copyBufSize is the write unit of a body; large enough that a 1 GiB upload
// costs few syscalls, small enough to keep memory flat.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// writeBody streams r into a new body: temp file, fsync, rename to its
// immutable name, fsync of the directory. It reads exactly declared bytes
// when declared ≥ 0 (ErrIncompleteBody if r ends early) and fails with
// ErrEntityTooLarge past limit. On any error nothing is left behind.
func (e *Engine) writeBody(ctx context.Context, r io.Reader, declared, limit int64, wantMD5 []byte) (body, error) {
	if declared > limit {
		return body{}, ErrEntityTooLarge
	}
	want := limit + 1 // read one byte past the limit to detect an oversize body
	if declared >= 0 {
		want = declared
	}
	f, err := os.CreateTemp(e.tmpDir(), "body-*")
	if err != nil {
		return body{}, err
	}
	tmp := f.Name()
	fail := func(err error) (body, error) {
		f.Close()
		os.Remove(tmp)
		return body{}, err
	}
	h := md5.New()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for n < want {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		chunk := buf[:min(int64(len(buf)), want-n)]
		k, rerr := io.ReadFull(r, chunk)
		if k > 0 {
			h.Write(chunk[:k])
			if _, err := e.writeFile(f, chunk[:k]); err != nil {
				return fail(err)
			}
			n += int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fail(rerr)
		}
	}
	if n > limit {
		return fail(ErrEntityTooLarge)
	}
	if declared >= 0 && n < declared {
		return fail(ErrIncompleteBody)
	}
	sum := h.Sum(nil)
	if wantMD5 != nil && !bytes.Equal(sum, wantMD5) {
		return fail(ErrBadDigest)
	}
	if err := e.syncFile(f); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return body{}, err
	}
	id := newID()
	dst := e.bodyPath(id)
	if err := e.ensureDataDir(id); err != nil {
		os.Remove(tmp)
		return body{}, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return body{}, err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		os.Remove(dst)
		return body{}, err
	}
	return body{id: id, size: n, md5: sum}, nil
}

// linkBody gives an existing body a second immutable name, so a copy owns
// its own file and can be reclaimed independently of its source.
func (e *Engine) linkBody(srcID string) (string, error) {
	id := newID()
	dst := e.bodyPath(id)
	if err := e.ensureDataDir(id); err != nil {
		return "", err
	}
	if err := os.Link(e.bodyPath(srcID), dst); err != nil {
		return "", err
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		os.Remove(dst)
		return "", err
	}
	return id, nil
}

// openBody opens a body for reading. The metadata transaction that named it
// may have been overtaken by a commit that removed it; callers retry on
// errBodyGone with fresh metadata.
func (e *Engine) openBody(id string) (*os.File, error) {
	f, err := os.Open(e.bodyPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errBodyGone
	}
	return f, err
}

var errBodyGone = errors.New("body removed by a newer commit")

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
