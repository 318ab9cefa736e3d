package origin

import (
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

	// commits feeds the committer goroutine (see commit.go).
	commits       chan *commitReq
	closing       chan struct{}
	committerDone chan struct{}
	closeOnce     sync.Once

	// dataDirs remembers which data/xx directories exist and are durable.
	dataDirs sync.Map

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
	e.commits = make(chan *commitReq)
	e.closing = make(chan struct{})
	e.committerDone = make(chan struct{})
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
	go e.committer()
	return e, nil
}

// Close stops accepting changes, lets the group being committed finish and
// closes the metadata database. Bodies being streamed stay readable.
func (e *Engine) Close() error {
	var err error
	e.closeOnce.Do(func() {
		close(e.closing)
		<-e.committerDone
		err = e.db.Close()
	})
	return err
}

func (e *Engine) prepareDirs() error {
	if err := os.MkdirAll(e.tmpDir(), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "data"), 0o755); err != nil {
		return err
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

// ensureDataDir creates data/xx for a body id and makes the new directory
// entry durable before any body is renamed into it.
func (e *Engine) ensureDataDir(id string) error {
	if _, ok := e.dataDirs.Load(id[:2]); ok {
		return nil
	}
	dir := filepath.Join(e.dir, "data", id[:2])
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return err
		}
	}
	e.dataDirs.Store(id[:2], true)
	return nil
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
