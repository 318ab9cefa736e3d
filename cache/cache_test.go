package cache

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is an injected clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 64 << 20
	}
	if cfg.Now == nil {
		cfg.Now = (&clock{now: t0}).Now
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// newEntry is a fresh 200 of object bucket/object stored under key.
func newEntry(key, bucket, object string, gen int64) *Entry {
	return &Entry{
		Key: key, Bucket: bucket, Object: object, Host: "cdn.example.com",
		Status: 200, Body: []byte("body of " + key), Generation: gen,
		StoredAt: t0, FreshFor: time.Hour,
	}
}

// fill stores e the way the edge does: Begin, then Set.
func fill(c *Cache, e *Entry) bool {
	return c.Set(c.Begin(e.Bucket, e.Object), e)
}

// settle waits until ristretto has every pending entry, as the background
// goroutine eventually does.
func settle(c *Cache) {
	for c.pending.n.Load() > 0 {
		c.pending.drain(c)
	}
	c.store.Wait()
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "MaxBytes must be > 0, got 0"},
		{Config{MaxBytes: -1}, "MaxBytes must be > 0"},
		{Config{MaxBytes: 1 << 20, NumCounters: -1}, "NumCounters must be >= 0"},
		{Config{MaxBytes: 1 << 20, BufferItems: -64}, "BufferItems must be >= 0"},
		{Config{MaxBytes: 1 << 20, MaxRetention: -time.Second}, "MaxRetention must be between"},
		{Config{MaxBytes: 1 << 20, FenceRetention: -time.Second}, "FenceRetention must be between"},
	}
	for _, tt := range tests {
		c, err := New(tt.cfg)
		if err == nil {
			c.Close()
			t.Errorf("New(%+v) succeeded, want error %q", tt.cfg, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	c, err := New(Config{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatalf("New with only MaxBytes: %v", err)
	}
	defer c.Close()
	if c.cfg.NumCounters != 10_000 || c.cfg.BufferItems != 64 || c.cfg.MaxRetention != 24*time.Hour ||
		c.cfg.FenceRetention != 24*time.Hour || c.cfg.RevalidateFor != 10*time.Minute || c.cfg.Now == nil {
		t.Errorf("defaults = %+v", c.cfg)
	}
}

func TestSetIsVisibleToTheNextGet(t *testing.T) {
	c := newTestCache(t, Config{})
	for i := range 10_000 {
		e := newEntry(fmt.Sprintf("site/b/obj-%d", i), "b", fmt.Sprintf("obj-%d", i), 1)
		if !fill(c, e) {
			t.Fatalf("Set(%s) = false", e.Key)
		}
		got, ok := c.Get(e.Key)
		if !ok || got != e {
			t.Fatalf("Get(%s) right after Set = %p, %v; want the same entry %p", e.Key, got, ok, e)
		}
	}
	settle(c)
	if got := c.Stats(); got.Pending != 0 || got.Entries != 10_000 {
		t.Errorf("after settling: Pending = %d, Entries = %d; want 0, 10000", got.Pending, got.Entries)
	}
	for i := range 10_000 {
		if _, ok := c.Get(fmt.Sprintf("site/b/obj-%d", i)); !ok {
			t.Fatalf("Get(obj-%d) after settling missed", i)
		}
	}
}

func TestSetReplacesAnEntryStillInFlight(t *testing.T) {
	c := newTestCache(t, Config{})
	var last *Entry
	for gen := range int64(5) {
		// Each Set lands while the previous one may still be in ristretto's
		// buffer: the newest must win, now and after settling.
		last = newEntry("k", "b", "o", gen+1)
		if !fill(c, last) {
			t.Fatalf("Set gen %d = false", gen+1)
		}
		if got, _ := c.Get("k"); got != last {
			t.Fatalf("Get after Set gen %d = %v, want gen %d", gen+1, got, gen+1)
		}
	}
	settle(c)
	settle(c) // a deferred entry needs a second round
	if got, _ := c.Get("k"); got != last {
		t.Fatalf("Get after settling = %+v, want the last entry", got)
	}
	if st := c.Stats(); st.Entries != 1 || st.Objects != 1 {
		t.Errorf("Entries = %d, Objects = %d; want 1, 1", st.Entries, st.Objects)
	}
}

func TestGetAbsent(t *testing.T) {
	c := newTestCache(t, Config{})
	if e, ok := c.Get("nothing"); ok || e != nil {
		t.Errorf("Get(absent) = %v, %v", e, ok)
	}
	if st := c.Stats(); st.Misses != 1 || st.Hits != 0 {
		t.Errorf("Hits, Misses = %d, %d; want 0, 1", st.Hits, st.Misses)
	}
}

func TestDelete(t *testing.T) {
	c := newTestCache(t, Config{})
	for _, settled := range []bool{false, true} {
		e := newEntry("k", "b", "o", 1)
		fill(c, e)
		if settled {
			settle(c)
		}
		c.Delete("k")
		if _, ok := c.Get("k"); ok {
			t.Errorf("Get after Delete (settled %v) hit", settled)
		}
		settle(c)
		if _, ok := c.Get("k"); ok {
			t.Errorf("Get after Delete and settling (settled %v) hit", settled)
		}
		e2 := newEntry("k", "b", "o", 2)
		if !fill(c, e2) {
			t.Fatal("Set after Delete = false")
		}
		if got, _ := c.Get("k"); got != e2 {
			t.Errorf("Get after Delete then Set = %v, want the new entry", got)
		}
		c.Delete("k")
		settle(c)
	}
}

func TestSetRefusesAMisusedFence(t *testing.T) {
	c := newTestCache(t, Config{})
	e := newEntry("k", "b", "o", 1)
	if c.Set(Fence{}, e) {
		t.Error("Set with the zero Fence = true")
	}
	if c.Set(c.Begin("b", "other"), e) {
		t.Error("Set with a Fence for another object = true")
	}
	if c.Set(c.Begin("b", "o"), nil) {
		t.Error("Set(nil) = true")
	}
	if st := c.Stats(); st.Fenced != 3 || st.Objects != 0 {
		t.Errorf("Fenced = %d, Objects = %d; want 3, 0", st.Fenced, st.Objects)
	}
}

func TestStatsCount(t *testing.T) {
	c := newTestCache(t, Config{})
	e := newEntry("k", "b", "o", 1)
	fill(c, e)
	c.Get("k")
	c.Get("k")
	c.Get("nope")
	c.Purge(Selector{Kind: ByTag, Value: "t"})
	c.Flush()
	settle(c)
	st := c.Stats()
	if st.Hits != 2 || st.Misses != 1 || st.Sets != 1 || st.Purges != 1 || st.Flushes != 1 || st.Rules != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if st.Bytes != e.Cost() || st.Entries != 1 {
		t.Errorf("Bytes, Entries = %d, %d; want %d, 1", st.Bytes, st.Entries, e.Cost())
	}
}

func TestCloseRefusesFurtherUse(t *testing.T) {
	c, err := New(Config{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	fill(c, newEntry("k", "b", "o", 1))
	c.Close()
	c.Close()
	if _, ok := c.Get("k"); ok {
		t.Error("Get after Close hit")
	}
	if fill(c, newEntry("k2", "b", "o", 1)) {
		t.Error("Set after Close = true")
	}
	c.Delete("k")
}
