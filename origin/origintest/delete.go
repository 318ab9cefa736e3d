package origintest

import (
	"bytes"
	"fmt"
	"math/rand/v2"

	"github.com/edgecdn/edge/origin"
)

var deleteTests = []test{
	{"ThenRead", testDeleteThenRead},
	{"Missing", testDeleteMissing},
	{"ThenRecreate", testDeleteThenRecreate},
	{"Generations", testDeleteGenerations},
	{"Batch", testDeleteObjectsBatch},
	{"BatchMissingBucket", testDeleteObjectsMissingBucket},
}

func (h *harness) del(bucket, key string) origin.DeleteResult {
	h.t.Helper()
	res, err := h.s.DeleteObject(h.ctx, bucket, key, origin.DeleteOptions{})
	mustNoErr(h.t, fmt.Sprintf("DeleteObject(%q, %q)", bucket, key), err)
	return res
}

func testDeleteThenRead(h *harness) {
	h.bucket("bkt")
	for _, k := range []string{"a", "a/b", "b", "c"} {
		h.put("bkt", k, []byte(k))
	}
	res := h.del("bkt", "a")
	if !res.Deleted || res.Key != "a" || res.Err != nil {
		h.t.Errorf(`DeleteObject("a"): %+v, want Key "a", Deleted true, no error`, res)
	}
	h.expectMissing("bkt", "a")
	expectStrings(h.t, "keys after deleting a", h.keys("bkt", ""), []string{"a/b", "b", "c"})
	// The neighbours are untouched.
	h.expectObject("bkt", "a/b", []byte("a/b"), 0)
	h.del("bkt", "c")
	expectStrings(h.t, "keys after deleting c", h.keys("bkt", ""), []string{"a/b", "b"})
	objs, prefixes := h.listAll("bkt", origin.ListOptions{Delimiter: "/"})
	if len(objs) != 1 || objs[0].Key != "b" || len(prefixes) != 1 || prefixes[0] != "a/" {
		h.t.Errorf("delimited listing after deletes: objects %v prefixes %q, want [b] and [a/]", keysOf(objs), prefixes)
	}
	h.del("bkt", "a/b")
	objs, prefixes = h.listAll("bkt", origin.ListOptions{Delimiter: "/"})
	if len(objs) != 1 || len(prefixes) != 0 {
		h.t.Errorf("delimited listing after deleting a/b: objects %v prefixes %q, want [b] and no prefix", keysOf(objs), prefixes)
	}
}

func testDeleteMissing(h *harness) {
	h.bucket("bkt")
	res, err := h.s.DeleteObject(h.ctx, "bkt", "never", origin.DeleteOptions{})
	mustNoErr(h.t, "DeleteObject of a missing key", err)
	if res.Deleted || res.Err != nil {
		h.t.Errorf("DeleteObject of a missing key: %+v, want Deleted false and no error", res)
	}
	h.put("bkt", "once", []byte("x"))
	if res := h.del("bkt", "once"); !res.Deleted {
		h.t.Errorf("first DeleteObject: Deleted false, want true")
	}
	if res := h.del("bkt", "once"); res.Deleted {
		h.t.Errorf("second DeleteObject of the same key: Deleted true, want false")
	}
	h.expectMissing("bkt", "once")
}

func testDeleteThenRecreate(h *harness) {
	h.bucket("bkt")
	first := h.put("bkt", "k", []byte("first"))
	h.del("bkt", "k")
	second := h.put("bkt", "k", []byte("second"))
	if second.Generation <= first.Generation {
		h.t.Errorf("re-created object: generation %d, want > %d", second.Generation, first.Generation)
	}
	h.expectObject("bkt", "k", []byte("second"), second.Generation)
	expectStrings(h.t, "keys", h.keys("bkt", ""), []string{"k"})
}

func testDeleteObjectsBatch(h *harness) {
	h.bucket("bkt")
	h.put("bkt", "survivor", []byte("stays"))
	const n = origin.MaxDeleteObjects
	keys := make([]string, n)
	exists := make(map[string]bool)
	for i := range keys {
		keys[i] = fmt.Sprintf("batch/%04d", i)
		exists[keys[i]] = i%5 != 3 // one in five is missing
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(n, func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	parallel(n, 16, func(i int) {
		k := keys[i]
		if !exists[k] {
			return
		}
		info, err := h.s.PutObject(h.ctx, "bkt", k, bytes.NewReader([]byte(k)), origin.PutOptions{Size: int64(len(k))})
		if err != nil {
			h.t.Errorf("PutObject(%q): %v", k, err)
			return
		}
		h.wroteConcurrently(fmt.Sprintf("PutObject(%q)", k), info)
	})
	if h.t.Failed() {
		h.t.FailNow()
	}
	res, err := h.s.DeleteObjects(h.ctx, "bkt", keys)
	mustNoErr(h.t, "DeleteObjects", err)
	if len(res) != n {
		h.t.Fatalf("DeleteObjects of %d keys: %d results, want one per key", n, len(res))
	}
	bad := 0
	for i, r := range res {
		if r.Key != keys[i] || r.Deleted != exists[keys[i]] || r.Err != nil {
			if bad++; bad <= 5 {
				h.t.Errorf("DeleteObjects result %d: %+v, want Key %q, Deleted %v, no error (results in input order)", i, r, keys[i], exists[keys[i]])
			}
		}
	}
	if bad > 5 {
		h.t.Errorf("DeleteObjects: %d results wrong in all", bad)
	}
	expectStrings(h.t, "keys after DeleteObjects", h.keys("bkt", ""), []string{"survivor"})
	for _, i := range []int{0, 1, 2, 3, 500, n - 1} {
		h.expectMissing("bkt", keys[i])
	}
	// Deleting them again reports nothing deleted.
	res, err = h.s.DeleteObjects(h.ctx, "bkt", keys[:10])
	mustNoErr(h.t, "second DeleteObjects", err)
	for i, r := range res {
		if r.Key != keys[i] || r.Deleted || r.Err != nil {
			h.t.Errorf("second DeleteObjects result %d: %+v, want Key %q, Deleted false, no error", i, r, keys[i])
		}
	}
}

func testDeleteObjectsMissingBucket(h *harness) {
	_, err := h.s.DeleteObjects(h.ctx, "missing", []string{"a", "b"})
	expectErr(h.t, "DeleteObjects on a missing bucket", err, origin.ErrNoSuchBucket)
}

func keysOf(objs []origin.ObjectInfo) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}

// A delete has a place in last-writer-wins order: its generation is above
// the version it removed and below any later write; a delete that found
// nothing is placed at or after the last write, never before it.
func testDeleteGenerations(h *harness) {
	h.bucket("bkt")
	put := h.put("bkt", "k", []byte("v"))
	del := h.del("bkt", "k")
	if del.Generation <= put.Generation {
		h.t.Errorf("delete generation %d, want > the deleted version's %d", del.Generation, put.Generation)
	}
	again := h.del("bkt", "k")
	if again.Deleted || again.Generation < del.Generation {
		h.t.Errorf("second delete: %+v, want Deleted false and generation >= %d", again, del.Generation)
	}
	next := h.put("bkt", "k", []byte("w"))
	if next.Generation <= again.Generation {
		h.t.Errorf("put after the deletes: generation %d, want > %d", next.Generation, again.Generation)
	}
	h.put("bkt", "other", []byte("x"))
	results, err := h.s.DeleteObjects(h.ctx, "bkt", []string{"k", "other", "missing"})
	mustNoErr(h.t, "DeleteObjects", err)
	last := next.Generation
	for _, r := range results {
		if r.Generation <= next.Generation && r.Deleted {
			h.t.Errorf("batch delete of %q: generation %d, want > %d", r.Key, r.Generation, next.Generation)
		}
		if r.Generation < last {
			h.t.Errorf("batch delete of %q: generation %d, below the batch's earlier %d", r.Key, r.Generation, last)
		}
		last = r.Generation
	}
}
