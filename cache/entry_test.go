package cache

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestEntryFreshnessHelpers(t *testing.T) {
	e := &Entry{
		StoredAt:             t0,
		InitialAge:           10 * time.Second,
		FreshFor:             60 * time.Second,
		StaleWhileRevalidate: 30 * time.Second,
		StaleIfError:         5 * time.Minute,
	}
	tests := []struct {
		after     time.Duration // since StoredAt
		age       time.Duration
		fresh     bool
		staleness time.Duration
		swr, sie  bool
	}{
		{after: -time.Minute, age: 10 * time.Second, fresh: true}, // clock went back: no negative residence
		{after: 0, age: 10 * time.Second, fresh: true},
		{after: 49 * time.Second, age: 59 * time.Second, fresh: true},
		{after: 50 * time.Second, age: 60 * time.Second, fresh: false, swr: true, sie: true},
		{after: 79 * time.Second, age: 89 * time.Second, staleness: 29 * time.Second, swr: true, sie: true},
		{after: 80 * time.Second, age: 90 * time.Second, staleness: 30 * time.Second, swr: false, sie: true},
		{after: 349 * time.Second, age: 359 * time.Second, staleness: 299 * time.Second, sie: true},
		{after: 350 * time.Second, age: 360 * time.Second, staleness: 300 * time.Second},
	}
	for _, tt := range tests {
		now := t0.Add(tt.after)
		if got := e.Age(now); got != tt.age {
			t.Errorf("Age(+%v) = %v, want %v", tt.after, got, tt.age)
		}
		if got := e.Fresh(now); got != tt.fresh {
			t.Errorf("Fresh(+%v) = %v, want %v", tt.after, got, tt.fresh)
		}
		if got := e.Staleness(now); got != tt.staleness {
			t.Errorf("Staleness(+%v) = %v, want %v", tt.after, got, tt.staleness)
		}
		if got := e.WithinStaleWhileRevalidate(now); got != tt.swr {
			t.Errorf("WithinStaleWhileRevalidate(+%v) = %v, want %v", tt.after, got, tt.swr)
		}
		if got := e.WithinStaleIfError(now); got != tt.sie {
			t.Errorf("WithinStaleIfError(+%v) = %v, want %v", tt.after, got, tt.sie)
		}
	}
}

type metaWithCost struct{}

func (metaWithCost) Cost() int64 { return 1000 }

func TestEntryCost(t *testing.T) {
	e := &Entry{Key: "k", Bucket: "b", Object: "o", Body: make([]byte, 100), Header: make([]byte, 20)}
	base := e.Cost()
	if want := int64(100 + 20 + 3 + entryOverhead); base != want {
		t.Errorf("Cost() = %d, want %d", base, want)
	}
	e.Meta = metaWithCost{}
	if got := e.Cost(); got != base+1000 {
		t.Errorf("Cost() with a Meta that has a cost = %d, want %d", got, base+1000)
	}
}

func TestRetention(t *testing.T) {
	c := newTestCache(t, Config{MaxBytes: 1 << 20, MaxRetention: time.Hour, RevalidateFor: 10 * time.Minute})
	tests := []struct {
		name string
		e    Entry
		want time.Duration
	}{
		{"fresh, no windows", Entry{StoredAt: t0, FreshFor: time.Minute}, time.Minute},
		{"age counts", Entry{StoredAt: t0, InitialAge: 20 * time.Second, FreshFor: time.Minute}, 40 * time.Second},
		{"longest window", Entry{StoredAt: t0, FreshFor: time.Minute, StaleWhileRevalidate: time.Minute, StaleIfError: 5 * time.Minute}, 6 * time.Minute},
		{"window capped", Entry{StoredAt: t0, FreshFor: time.Minute, StaleIfError: 48 * time.Hour}, time.Hour + time.Minute},
		{"validator kept for revalidation", Entry{StoredAt: t0, FreshFor: time.Minute, ETag: `"x"`}, 11 * time.Minute},
		{"useless on arrival", Entry{StoredAt: t0, InitialAge: time.Hour, FreshFor: time.Minute}, minRetention},
		{"no StoredAt", Entry{FreshFor: time.Minute}, minRetention},
		{"a century", Entry{StoredAt: t0, FreshFor: 1 << 62}, maxRetention},
	}
	for _, tt := range tests {
		if got := c.retention(&tt.e, t0); got != tt.want {
			t.Errorf("%s: retention = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// An entry is gone once its retention ends on the wall clock: Get misses
// it within a second or two, and the memory it cost is given back (counted
// as an eviction); an entry that lives on is untouched, and so is a newer
// Set of the key.
func TestRetentionEndsOnTheWallClock(t *testing.T) {
	t.Parallel()
	c := newTestCache(t, Config{})
	short := newEntry("short", "b", "short", 1)
	short.InitialAge = 2 * time.Hour // stale on arrival, no window: one second
	replaced := newEntry("replaced", "b", "replaced", 1)
	replaced.InitialAge = 2 * time.Hour
	long := newEntry("long", "b", "long", 1)
	for _, e := range []*Entry{short, replaced, long} {
		if !fill(c, e) {
			t.Fatalf("%s not stored", e.Key)
		}
	}
	settle(c)
	newer := newEntry("replaced", "b", "replaced", 2)
	if !fill(c, newer) {
		t.Fatal("the newer entry not stored")
	}
	settle(c)
	if e, ok := c.Get("short"); !ok || e != short {
		t.Fatal("an entry missing before its retention ended")
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Entries > 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d entries 10 s after a retention of 1 s, want 2", c.Stats().Entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok := c.Get("short"); ok {
		t.Error("an entry served after its retention")
	}
	if e, ok := c.Get("replaced"); !ok || e != newer {
		t.Error("the end of an old entry's retention removed the newer entry of its key")
	}
	if e, ok := c.Get("long"); !ok || e != long {
		t.Error("an entry within its retention is gone")
	}
	if st := c.Stats(); st.Evictions != 1 || st.Bytes != newer.Cost()+long.Cost() {
		t.Errorf("stats %+v: want one eviction and the two entries' bytes", st)
	}
}
