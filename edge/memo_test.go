package edge

import (
	"strconv"
	"testing"
)

// The memo never holds more than its capacity (rounded up to whole
// shards), however many unique keys go through it.
func TestMemoIsBounded(t *testing.T) {
	m := newMemo[int](1000)
	for i := range 100_000 {
		m.set("/scan?q="+strconv.Itoa(i), i)
	}
	if n, most := m.len(), m.perShard*memoShards; n > most || n < 1000 {
		t.Fatalf("%d entries after 100 000 unique keys, want between 1000 and %d", n, most)
	}
	if v, ok := m.get("/scan?q=99999"); !ok || v != 99999 {
		t.Fatalf("the newest key: %v %v", v, ok)
	}
}

// Keys in use survive a scan of unique keys: eviction takes the least
// recently used of its sample, and a read counts as a use.
func TestMemoKeepsWhatIsUsedThroughAScan(t *testing.T) {
	m := newMemo[int](1000)
	const hot = 50
	for h := range hot {
		m.set("/hot/"+strconv.Itoa(h), h)
	}
	for i := range 100_000 {
		m.set("/scan?q="+strconv.Itoa(i), i)
		if i%100 == 0 { // the hot keys are asked for between scan requests
			for h := range hot {
				m.get("/hot/" + strconv.Itoa(h))
			}
		}
	}
	lost := 0
	for h := range hot {
		if v, ok := m.get("/hot/" + strconv.Itoa(h)); !ok || v != h {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d hot keys evicted by a scan of 100 000 unique keys", lost, hot)
	}
}

func TestMemoDeleteIfKeepsANewerValue(t *testing.T) {
	m := newMemo[int](10)
	m.set("k", 1)
	m.deleteIf("k", func(v int) bool { return v == 0 })
	if _, ok := m.get("k"); !ok {
		t.Fatal("deleteIf removed a value it did not judge stale")
	}
	m.deleteIf("k", func(v int) bool { return v == 1 })
	if _, ok := m.get("k"); ok {
		t.Fatal("deleteIf kept a stale value")
	}
}
