package origintest

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/edgecdn/edge/origin"
)

var generationTests = []test{
	{"Increasing", testGenerationsIncreasing},
	{"ConcurrentOverwrites", testConcurrentOverwrites},
}

// testGenerationsIncreasing mixes every kind of write; the harness checks
// that each one's generation exceeds all before it, and the reads must
// report the generation the write returned.
func testGenerationsIncreasing(h *harness) {
	h.bucket("one")
	h.bucket("two")
	a := h.put("one", "a", []byte("1"))
	b := h.put("two", "a", []byte("1")) // same key, other bucket
	if b.Generation == a.Generation {
		h.t.Errorf("objects in two buckets share generation %d", a.Generation)
	}
	h.put("one", "b", []byte("2"))
	h.put("one", "a", []byte("3"))
	h.copyOK("one", "a", "two", "c", origin.CopyOptions{}, []byte("3"))
	h.copyOK("one", "a", "one", "a", origin.CopyOptions{ReplaceMetadata: true, UserMeta: map[string]string{"v": "2"}}, []byte("3"))
	h.del("one", "b")
	h.put("one", "b", []byte("4"))
	up := h.createUpload("one", "m", origin.PutOptions{Size: -1})
	p := h.uploadPart(up, 1, []byte("5"))
	_, err := h.complete(up, cparts(p), origin.Conditions{})
	mustNoErr(h.t, "CompleteMultipartUpload", err)
	h.put("one", "a", []byte("6"))
	last := h.lastGen()

	// Failed writes hand out nothing visible.
	_, err = h.s.PutObject(h.ctx, "one", "a", bytes.NewReader([]byte("x")), origin.PutOptions{Size: 1, Conditions: origin.Conditions{IfNoneMatch: "*"}})
	expectErr(h.t, "conditional PutObject", err, origin.ErrPreconditionFailed)
	if got := h.head("one", "a").Generation; got != last {
		h.t.Errorf("generation after a refused write: %d, want %d", got, last)
	}
	for _, bk := range []string{"one", "two"} {
		objs, _ := h.listAll(bk, origin.ListOptions{})
		for _, o := range objs {
			if hg := h.head(bk, o.Key).Generation; hg != o.Generation {
				h.t.Errorf("%s/%s: listed generation %d, HeadObject says %d", bk, o.Key, o.Generation, hg)
			}
		}
	}
	h.put("two", "z", nil)
}

// testConcurrentOverwrites races writers on one key: every write gets its
// own generation, and the object left is the one with the highest.
func testConcurrentOverwrites(h *harness) {
	h.bucket("bkt")
	const writers, each = 8, 12
	var mu sync.Mutex
	var best origin.ObjectInfo
	var bestBody []byte
	parallel(writers*each, writers, func(i int) {
		body := []byte(fmt.Sprintf("write %d of the race", i))
		info, err := h.s.PutObject(h.ctx, "bkt", "hot", bytes.NewReader(body), origin.PutOptions{Size: int64(len(body))})
		if err != nil {
			h.t.Errorf("PutObject #%d: %v", i, err)
			return
		}
		h.wroteConcurrently(fmt.Sprintf("PutObject #%d", i), info)
		mu.Lock()
		if info.Generation > best.Generation {
			best, bestBody = info, body
		}
		mu.Unlock()
	})
	if h.t.Failed() {
		return
	}
	h.expectObject("bkt", "hot", bestBody, best.Generation)
	next := h.put("bkt", "hot", []byte("after the race"))
	if next.Generation <= best.Generation {
		h.t.Errorf("write after the race: generation %d, want > %d", next.Generation, best.Generation)
	}
}
