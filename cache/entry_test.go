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
