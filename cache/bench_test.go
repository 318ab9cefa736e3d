package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

const benchKeys = 1 << 16

func benchKey(i int) string { return "cdn.example.com/assets/" + strconv.Itoa(i) + ".js" }

// benchKeyList is built once per benchmark so key building stays out of
// the timed loops.
func benchKeyList() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	return keys
}

// BenchmarkGetHit measures the hit path from all cores, beside a bare
// ristretto Get of the same keys as the baseline.
func BenchmarkGetHit(b *testing.B) {
	b.Run("cache", func(b *testing.B) {
		c := newTestCache(b, Config{})
		keys := benchKeyList()
		for i, k := range keys {
			fill(c, newEntry(k, "b", strconv.Itoa(i), 1))
		}
		settle(c)
		c.Purge(Selector{Kind: ByTag, Value: "unrelated"}) // rules in force, as in production
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(benchKeys)
			for pb.Next() {
				if _, ok := c.Get(keys[i&(benchKeys-1)]); !ok {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
	b.Run("ristretto-baseline", func(b *testing.B) {
		r, err := ristretto.NewCache(&ristretto.Config[string, *Entry]{NumCounters: 1e6, MaxCost: 64 << 20, BufferItems: 64})
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		keys := benchKeyList()
		for i, k := range keys {
			// With a TTL, as the cache sets one: ristretto then reads the
			// clock on every Get.
			for !r.SetWithTTL(k, newEntry(k, "b", strconv.Itoa(i), 1), 100, time.Hour) {
				r.Wait() // buffer full
			}
		}
		r.Wait()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(benchKeys)
			for pb.Next() {
				// Touch the entry, as any caller serving it would.
				if e, ok := r.Get(keys[i&(benchKeys-1)]); !ok || e.Generation != 1 {
					b.Error("miss")
					return
				}
				i++
			}
		})
	})
}

func BenchmarkGetMiss(b *testing.B) {
	c := newTestCache(b, Config{})
	b.ReportAllocs()
	for b.Loop() {
		c.Get("cdn.example.com/absent")
	}
}

// BenchmarkSet measures Begin+Set of new keys. Sets that ristretto drops
// because its buffer is full are reported as dropped/op.
func BenchmarkSet(b *testing.B) {
	c := newTestCache(b, Config{MaxBytes: 256 << 20})
	entries := make([]*Entry, benchKeys)
	for i := range entries {
		entries[i] = newEntry(benchKey(i), "b", strconv.Itoa(i), 1)
	}
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		e := entries[i&(benchKeys-1)]
		c.Set(c.Begin(e.Bucket, e.Object), e)
		n++
	}
	b.ReportMetric(float64(c.Stats().Dropped)/float64(n), "dropped/op")
}

// fillMillion stores n small entries spread over 1000 directories of two
// buckets, 4 tags and 8 hosts, outside any timing.
func fillMillion(b *testing.B, n int) *Cache {
	b.Helper()
	c := newTestCache(b, Config{MaxBytes: 4 << 30})
	body := []byte("0123456789abcdef")
	start := time.Now()
	for i := range n {
		obj := fmt.Sprintf("dir%03d/file%d", i%1000, i)
		e := &Entry{
			Key: "site/" + obj, Bucket: fmt.Sprint("bucket", i%2), Object: obj,
			Host: fmt.Sprint("host", i%8), Tags: []string{fmt.Sprint("tag", i%4), fmt.Sprint("group", i%1000)},
			Body: body, StoredAt: t0, FreshFor: time.Hour,
		}
		for !fill(c, e) { // ristretto's buffer is full: let it catch up
			settle(c)
		}
	}
	settle(c)
	st := c.Stats()
	if st.Entries != int64(n) {
		b.Fatalf("filled %d entries, cache holds %d", n, st.Entries)
	}
	b.Logf("filled %d entries (%d MiB by cost) in %v", n, st.Bytes>>20, time.Since(start).Round(time.Millisecond))
	return c
}

// BenchmarkPurgePrefixWith1MEntries times a purge by prefix that matches
// 1 000 of 1 000 000 entries (each iteration a different directory), and
// that it is visible: the next Get of a matched key misses. The sweep that
// later frees the memory runs in the background (BenchmarkSweep1M).
func BenchmarkPurgePrefixWith1MEntries(b *testing.B) {
	c := fillMillion(b, 1_000_000)
	b.ReportAllocs()
	var lat latencies
	i := 0
	for b.Loop() {
		dir := i % 1000
		sel := Selector{Kind: ByPrefix, Bucket: fmt.Sprint("bucket", dir%2), Value: fmt.Sprintf("dir%03d/", dir)}
		key := fmt.Sprintf("site/dir%03d/file%d", dir, dir)
		start := time.Now()
		c.Purge(sel)
		lat = append(lat, time.Since(start))
		if _, ok := c.Get(key); ok {
			b.Fatal("purged entry still served")
		}
		i++
	}
	lat.report(b)
}

// BenchmarkPurgeTag1M times a purge by tag matching 1 000 of 1 000 000.
func BenchmarkPurgeTag1M(b *testing.B) {
	c := fillMillion(b, 1_000_000)
	b.ReportAllocs()
	var lat latencies
	i := 0
	for b.Loop() {
		sel := Selector{Kind: ByTag, Value: fmt.Sprint("group", i%1000)}
		start := time.Now()
		c.Purge(sel)
		lat = append(lat, time.Since(start))
		i++
	}
	lat.report(b)
}

// latencies reports the spread of per-call times: the mean hides the calls
// that ran while the background sweep or the garbage collector did.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q float64) float64 { return float64(l[int(q*float64(len(l)-1))].Microseconds()) }
	b.ReportMetric(at(0.5), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(at(1), "max-µs")
}

// BenchmarkPurgeKey1M times a purge by key (an origin write's event).
func BenchmarkPurgeKey1M(b *testing.B) {
	c := fillMillion(b, 1_000_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		obj := fmt.Sprintf("dir%03d/file%d", i%1000, i%1_000_000)
		c.Purge(Selector{Kind: ByKey, Bucket: fmt.Sprint("bucket", i%2), Value: obj, Generation: int64(i + 1)})
		i++
	}
}

// BenchmarkPurgeBaselineMapDelete is the floor to compare purges with: a
// plain map delete under a mutex-free loop.
func BenchmarkPurgeBaselineMapDelete(b *testing.B) {
	keys := benchKeyList()
	m := make(map[string]int, benchKeys)
	for i, k := range keys {
		m[k] = i
	}
	for i := 0; b.Loop(); i++ {
		k := keys[i&(benchKeys-1)]
		delete(m, k)
		m[k] = i
	}
}

// BenchmarkSweep1M is the background work after a purge by rule: one pass
// over 1 000 000 entries, deleting the 10 000 a tag purge matched.
func BenchmarkSweep1M(b *testing.B) {
	c := fillMillion(b, 1_000_000)
	i := 0
	for b.Loop() {
		b.StopTimer()
		for range 10 {
			c.Purge(Selector{Kind: ByTag, Value: fmt.Sprint("group", i%1000)})
			i++
		}
		c.sweepWanted.Store(false)
		b.StartTimer()
		c.sweep()
		c.store.Wait()
	}
}
