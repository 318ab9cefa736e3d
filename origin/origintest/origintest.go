// Package origintest is the conformance suite of origin.Store: every rule of
// the contract that an S3 client relies on, checked through the interface
// alone. An implementation's test calls Run with a constructor of fresh,
// empty stores:
//
//	func TestConformance(t *testing.T) {
//		origintest.Run(t, func(t *testing.T) origin.Store { return newStore(t) })
//	}
package origintest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/edgecdn/edge/origin"
)

// test is one rule of the contract, run against a fresh store; a test
// without fn is skipped for the reason skipReasons gives.
type test struct {
	name string
	fn   func(h *harness)
}

var skipReasons = map[string]string{
	// The maximum object size is an option of the implementation, which the
	// Store interface does not expose: the implementation's own tests check
	// ErrEntityTooLarge.
	"Objects/MaxObjectSize": "the maximum object size is configured outside the Store interface",
}

// group is a topic of the contract.
type group struct {
	name  string
	tests []test
}

func groups() []group {
	return []group{
		{"Buckets", bucketTests},
		{"Objects", objectTests},
		{"Ranges", rangeTests},
		{"Delete", deleteTests},
		{"Copy", copyTests},
		{"ReadConditions", readConditionTests},
		{"WriteConditions", writeConditionTests},
		{"List", listTests},
		{"Multipart", multipartTests},
		{"Generations", generationTests},
	}
}

// Run checks the store contract. Every subtest calls newStore(t) for a fresh,
// empty store that it owns; newStore should register its own cleanup (with
// t.Cleanup). The subtests run one after another. With -short the listing
// of ten thousand keys lists two thousand instead.
func Run(t *testing.T, newStore func(t *testing.T) origin.Store) {
	t.Run("RangeSpecResolve", testRangeSpecResolve)
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					if tc.fn == nil {
						t.Skip(skipReasons[g.name+"/"+tc.name])
					}
					s := newStore(t)
					if s == nil {
						t.Fatal("newStore returned nil")
					}
					tc.fn(&harness{t: t, s: s, ctx: t.Context(), gens: &genLog{seen: map[int64]string{}}})
				})
			}
		})
	}
}

// harness binds a store to the running test and keeps the log of every
// generation the store handed out, to check that they only grow.
type harness struct {
	t    *testing.T
	s    origin.Store
	ctx  context.Context
	gens *genLog
}

// sub is the harness for a nested subtest on the same store.
func (h *harness) sub(t *testing.T) *harness {
	return &harness{t: t, s: h.s, ctx: t.Context(), gens: h.gens}
}

// run runs fn as a nested subtest on the same store.
func (h *harness) run(name string, fn func(h *harness)) {
	h.t.Helper()
	h.t.Run(name, func(t *testing.T) { fn(h.sub(t)) })
}

type genLog struct {
	mu   sync.Mutex
	last int64
	seen map[int64]string
}

// wrote records the generation of a successful sequential write: it must be
// positive and greater than every generation seen before in this test.
func (h *harness) wrote(what string, info origin.ObjectInfo) {
	h.t.Helper()
	h.gens.mu.Lock()
	defer h.gens.mu.Unlock()
	g := info.Generation
	if g <= 0 {
		h.t.Errorf("%s: generation %d, want > 0", what, g)
		return
	}
	if prev, ok := h.gens.seen[g]; ok {
		h.t.Errorf("%s: generation %d was already given to %s", what, g, prev)
	} else if g <= h.gens.last {
		h.t.Errorf("%s: generation %d, want > %d (the newest generation of the writes before it)", what, g, h.gens.last)
	}
	h.gens.seen[g] = what
	h.gens.last = max(h.gens.last, g)
}

// wroteConcurrently records the generation of a write that ran alongside
// others: it must be positive and unique; later sequential writes must
// exceed it.
func (h *harness) wroteConcurrently(what string, info origin.ObjectInfo) {
	h.gens.mu.Lock()
	defer h.gens.mu.Unlock()
	g := info.Generation
	if g <= 0 {
		h.t.Errorf("%s: generation %d, want > 0", what, g)
		return
	}
	if prev, ok := h.gens.seen[g]; ok {
		h.t.Errorf("%s: generation %d was already given to %s", what, g, prev)
	}
	h.gens.seen[g] = what
	h.gens.last = max(h.gens.last, g)
}

// lastGen is the newest generation handed out so far.
func (h *harness) lastGen() int64 {
	h.gens.mu.Lock()
	defer h.gens.mu.Unlock()
	return h.gens.last
}

// ---- store calls that must succeed ----

func (h *harness) bucket(name string) string {
	h.t.Helper()
	if err := h.s.CreateBucket(h.ctx, name); err != nil {
		h.t.Fatalf("CreateBucket(%q): %v", name, err)
	}
	return name
}

// put writes body with its exact declared size and checks what PutObject
// returned.
func (h *harness) put(bucket, key string, body []byte) origin.ObjectInfo {
	h.t.Helper()
	return h.putWith(bucket, key, body, origin.PutOptions{Size: int64(len(body))})
}

// putWith writes body with opts, which must succeed, and checks the returned
// info: key, size, ETag and a fresh generation.
func (h *harness) putWith(bucket, key string, body []byte, opts origin.PutOptions) origin.ObjectInfo {
	h.t.Helper()
	info, err := h.s.PutObject(h.ctx, bucket, key, bytes.NewReader(body), opts)
	if err != nil {
		h.t.Fatalf("PutObject(%q, %q, %d bytes): %v", bucket, key, len(body), err)
	}
	what := fmt.Sprintf("PutObject(%q, %q)", bucket, key)
	h.wrote(what, info)
	checkInfo(h.t, what, info, bucket, key, body)
	return info
}

// tryPut writes body with opts and returns the store's answer; a successful
// write's generation is recorded.
func (h *harness) tryPut(bucket, key string, body []byte, opts origin.PutOptions) (origin.ObjectInfo, error) {
	h.t.Helper()
	info, err := h.s.PutObject(h.ctx, bucket, key, bytes.NewReader(body), opts)
	if err == nil {
		h.wrote(fmt.Sprintf("PutObject(%q, %q)", bucket, key), info)
	}
	return info, err
}

// tryGet opens the object, reads its whole body and closes it.
func (h *harness) tryGet(bucket, key string, opts origin.GetOptions) (*origin.Object, []byte, error) {
	h.t.Helper()
	obj, err := h.s.GetObject(h.ctx, bucket, key, opts)
	if err != nil {
		if obj != nil && obj.Body != nil {
			obj.Body.Close()
		}
		return nil, nil, err
	}
	if obj == nil || obj.Body == nil {
		h.t.Fatalf("GetObject(%q, %q): nil object or body without an error", bucket, key)
	}
	data, rerr := io.ReadAll(obj.Body)
	if cerr := obj.Body.Close(); cerr != nil {
		h.t.Errorf("GetObject(%q, %q): closing the body: %v", bucket, key, cerr)
	}
	if rerr != nil {
		h.t.Fatalf("GetObject(%q, %q): reading the body: %v", bucket, key, rerr)
	}
	return obj, data, nil
}

// get reads the whole object, which must exist.
func (h *harness) get(bucket, key string) (origin.ObjectInfo, []byte) {
	h.t.Helper()
	obj, data, err := h.tryGet(bucket, key, origin.GetOptions{})
	if err != nil {
		h.t.Fatalf("GetObject(%q, %q): %v", bucket, key, err)
	}
	if obj.Start != 0 || obj.Length != int64(len(data)) || obj.Info.Size != int64(len(data)) {
		h.t.Errorf("GetObject(%q, %q) without a range: Start %d, Length %d, Info.Size %d, body %d bytes; want Start 0 and all three equal to the body length",
			bucket, key, obj.Start, obj.Length, obj.Info.Size, len(data))
	}
	return obj.Info, data
}

func (h *harness) head(bucket, key string) origin.ObjectInfo {
	h.t.Helper()
	info, err := h.s.HeadObject(h.ctx, bucket, key, origin.GetOptions{})
	if err != nil {
		h.t.Fatalf("HeadObject(%q, %q): %v", bucket, key, err)
	}
	return info
}

// expectObject checks that bucket/key reads back as want through GetObject
// and HeadObject, with the given generation (when gen != 0).
func (h *harness) expectObject(bucket, key string, want []byte, gen int64) origin.ObjectInfo {
	h.t.Helper()
	info, got := h.get(bucket, key)
	what := fmt.Sprintf("GetObject(%q, %q)", bucket, key)
	expectBytes(h.t, what, got, want)
	checkInfo(h.t, what, info, bucket, key, want)
	hi := h.head(bucket, key)
	checkInfo(h.t, fmt.Sprintf("HeadObject(%q, %q)", bucket, key), hi, bucket, key, want)
	if hi.Generation != info.Generation {
		h.t.Errorf("%s: HeadObject generation %d, GetObject generation %d; want them equal", what, hi.Generation, info.Generation)
	}
	if gen != 0 && info.Generation != gen {
		h.t.Errorf("%s: generation %d, want %d", what, info.Generation, gen)
	}
	return info
}

// expectMissing checks that bucket/key does not exist.
func (h *harness) expectMissing(bucket, key string) {
	h.t.Helper()
	_, _, err := h.tryGet(bucket, key, origin.GetOptions{})
	expectErr(h.t, fmt.Sprintf("GetObject(%q, %q)", bucket, key), err, origin.ErrNoSuchKey)
	_, err = h.s.HeadObject(h.ctx, bucket, key, origin.GetOptions{})
	expectErr(h.t, fmt.Sprintf("HeadObject(%q, %q)", bucket, key), err, origin.ErrNoSuchKey)
}

// keys lists every key of the bucket under prefix (no delimiter).
func (h *harness) keys(bucket, prefix string) []string {
	h.t.Helper()
	objs, _ := h.listAll(bucket, origin.ListOptions{Prefix: prefix})
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}
