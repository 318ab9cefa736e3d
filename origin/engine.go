package origin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// The engine's layout on disk:
//
//	dir/meta.db        bbolt: buckets, object records, uploads, parts, outbox
//	dir/data/xx/<id>   immutable bodies (objects and parts), named by a random id
//	dir/tmp/           bodies being written; emptied at Open
//
// A body is written to tmp, fsynced, renamed into data and its directory
// fsynced before the bbolt transaction that points metadata at it commits,
// so metadata never names a missing or short body. Bodies that no metadata
// names (an interrupted write, an overwritten or deleted object) are removed
// after the commit that drops them, and at Open.
var (
	bktBuckets = []byte("buckets") // name → bucketRecord
	bktObjects = []byte("objects") // name → nested bucket: key → objectRecord
	bktUploads = []byte("uploads") // name → nested bucket: uploadID → uploadRecord
	bktParts   = []byte("parts")   // uploadID + be16(part) → partRecord
	bktOutbox  = []byte("outbox")  // be64(seq) → Event; its Sequence numbers every change
)

// Engine is the durable, linearizable Store on a local directory. Metadata
// lives in bbolt, whose single writer serialises every change; reads run in
// read-only transactions and so see exactly the committed state.
type Engine struct {
	dir  string
	db   *bolt.DB
	opts Options

	// commitMu orders commits with their EventSink calls, so the sink sees
	// events in Seq order and before the write returns.
	commitMu sync.Mutex

	// File operations, replaceable by tests that inject disk faults.
	writeFile func(f *os.File, p []byte) (int, error)
	syncFile  func(f *os.File) error
}

var _ Store = (*Engine)(nil)
var _ Outbox = (*Engine)(nil)

// Open opens (creating if needed) the engine in dir. It removes unfinished
// writes and unreferenced bodies left by a crash before it returns.
func Open(dir string, opts *Options) (*Engine, error) {
	e := &Engine{
		dir:       dir,
		opts:      opts.withDefaults(),
		writeFile: (*os.File).Write,
		syncFile:  (*os.File).Sync,
	}
	if err := e.prepareDirs(); err != nil {
		return nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, "meta.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (is another process using this data directory?)", dir, err)
	}
	e.db = db
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktBuckets, bktObjects, bktUploads, bktParts, bktOutbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = e.reclaim()
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	return e, nil
}

// Close closes the metadata database. Bodies being streamed stay readable.
func (e *Engine) Close() error { return e.db.Close() }

func (e *Engine) prepareDirs() error {
	if err := os.MkdirAll(e.tmpDir(), 0o755); err != nil {
		return err
	}
	for i := 0; i < 256; i++ {
		if err := os.MkdirAll(filepath.Join(e.dir, "data", fmt.Sprintf("%02x", i)), 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{filepath.Join(e.dir, "data"), e.dir} {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) tmpDir() string { return filepath.Join(e.dir, "tmp") }

// bodyPath is where the body with the given id lives; ids are hex, so no
// key ever becomes part of a path.
func (e *Engine) bodyPath(id string) string {
	return filepath.Join(e.dir, "data", id[:2], id)
}

// reclaim empties tmp and removes every body no object or part names.
func (e *Engine) reclaim() error {
	tmp, err := os.ReadDir(e.tmpDir())
	if err != nil {
		return err
	}
	for _, f := range tmp {
		if err := os.RemoveAll(filepath.Join(e.tmpDir(), f.Name())); err != nil {
			return err
		}
	}
	live := make(map[string]bool)
	err = e.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bktObjects).ForEachBucket(func(name []byte) error {
			return tx.Bucket(bktObjects).Bucket(name).ForEach(func(_, v []byte) error {
				var r objectRecord
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				live[r.Body] = true
				return nil
			})
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bktParts).ForEach(func(_, v []byte) error {
			var p partRecord
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			live[p.Body] = true
			return nil
		})
	})
	if err != nil {
		return err
	}
	dirs, err := os.ReadDir(filepath.Join(e.dir, "data"))
	if err != nil {
		return err
	}
	for _, d := range dirs {
		sub := filepath.Join(e.dir, "data", d.Name())
		files, err := os.ReadDir(sub)
		if err != nil {
			return err
		}
		for _, f := range files {
			if !live[f.Name()] {
				if err := os.Remove(filepath.Join(sub, f.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// removeBodies deletes bodies that a committed change no longer references.
// A reader that already opened one keeps reading it: unlink does not touch
// open files. Errors are not the caller's: the next Open reclaims leftovers.
func (e *Engine) removeBodies(ids []string) {
	for _, id := range ids {
		if id != "" {
			_ = os.Remove(e.bodyPath(id))
		}
	}
}

// writeTx is one metadata transaction that may record changes in the outbox.
type writeTx struct {
	*bolt.Tx
	e      *Engine
	events []Event
	// garbage lists bodies to delete once the transaction has committed.
	garbage []string
}

// record numbers a change, writes its event to the outbox and returns the
// sequence number, which is also the generation of a put.
func (w *writeTx) record(op Op, bucket, key string) (int64, error) {
	ob := w.Bucket(bktOutbox)
	seq, err := ob.NextSequence()
	if err != nil {
		return 0, err
	}
	ev := Event{Seq: seq, Bucket: bucket, Key: key, Generation: int64(seq), Op: op}
	v, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	if err := ob.Put(be64(seq), v); err != nil {
		return 0, err
	}
	if err := trimOutbox(ob, seq, w.e.opts.OutboxLimit); err != nil {
		return 0, err
	}
	w.events = append(w.events, ev)
	return int64(seq), nil
}

// update runs fn in one write transaction. After the commit is durable it
// deletes the bodies fn dropped and tells the sink of fn's events, in order,
// before returning them.
func (e *Engine) update(ctx context.Context, fn func(w *writeTx) error) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e.commitMu.Lock()
	defer e.commitMu.Unlock()
	var w *writeTx
	err := e.db.Update(func(tx *bolt.Tx) error {
		w = &writeTx{Tx: tx, e: e}
		return fn(w)
	})
	if err != nil {
		if errors.Is(err, berrors.ErrDatabaseNotOpen) {
			err = ErrClosed
		}
		return nil, err
	}
	e.removeBodies(w.garbage)
	if e.opts.Sink != nil {
		for _, ev := range w.events {
			e.opts.Sink.Committed(ev)
		}
	}
	return w.events, nil
}

func (e *Engine) view(fn func(tx *bolt.Tx) error) error {
	err := e.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// bucketRecord is what the store keeps about a bucket.
type bucketRecord struct {
	Created time.Time `json:"c"`
}

// objectRecord is an object's metadata plus the id of its body.
type objectRecord struct {
	ObjectInfo
	Body string `json:"b"`
}

func be64(v uint64) []byte {
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
