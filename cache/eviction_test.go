package cache

import (
	"fmt"
	"testing"
	"time"
)

// TestEvictionKeepsBytesAndStateBounded fills a 1 MiB cache with 10 MiB and
// checks that memory stays within budget and that nothing the cache keeps
// beside ristretto (object states, the admission map) outlives evicted
// entries.
func TestEvictionKeepsBytesAndStateBounded(t *testing.T) {
	const maxBytes = 1 << 20
	c := newTestCache(t, Config{MaxBytes: maxBytes})
	body := make([]byte, 1024)
	var stored int
	for i := 0; stored*len(body) < 10*maxBytes; i++ {
		e := &Entry{
			Key: fmt.Sprint("k", i), Bucket: "b", Object: fmt.Sprint("o", i), Tags: []string{"t"},
			Body: body, StoredAt: t0, FreshFor: time.Hour,
		}
		if fill(c, e) {
			stored++
		}
		if i%1000 == 0 {
			settle(c)
		}
	}
	settle(c)

	st := c.Stats()
	if st.Bytes > maxBytes {
		t.Errorf("Bytes = %d after inserting %d entries of 1 KiB, want <= %d", st.Bytes, stored, maxBytes)
	}
	if st.Evictions == 0 {
		t.Error("no evictions after inserting 10 times the budget")
	}
	inStore := 0
	c.store.IterValues(func(*item) bool { inStore++; return false })
	if st.Entries != int64(inStore) {
		t.Errorf("Entries = %d, but ristretto holds %d", st.Entries, inStore)
	}
	// One object per entry: every state left must belong to a held entry.
	if st.Objects != inStore || st.Pending != 0 {
		t.Errorf("Objects = %d, Pending = %d; want %d (one per held entry), 0", st.Objects, st.Pending, inStore)
	}
	t.Logf("stored %d, held %d, %+v", stored, inStore, st)
}
