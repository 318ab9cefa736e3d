package cache

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
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
func benchKeyList(n int) []string {
	keys := make([]string, n)
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
		keys := benchKeyList(benchKeys)
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
		keys := benchKeyList(benchKeys)
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

// fillMillion stores n small entries (millionEntries), outside any timing,
// in a cache closed when b ends.
func fillMillion(b *testing.B, n int) *Cache {
	b.Helper()
	c := storeAll(b, millionEntries(n))
	b.Cleanup(c.Close)
	return c
}

// millionEntries builds n small entries spread over 1000 directories
// (dirNNN/, each of one of two buckets), 4 tags, 1000 groups, 100 tags of
// 1% each (pctNN, NN the last two digits of the directory) and 8 hosts.
func millionEntries(n int) []*Entry {
	name := func(prefix string, n int) []string {
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprint(prefix, i)
		}
		return names
	}
	buckets, hosts, tags, groups := name("bucket", 2), name("host", 8), name("tag", 4), name("group", 1000)
	pcts := make([]string, 100)
	for i := range pcts {
		pcts[i] = fmt.Sprintf("pct%02d", i)
	}
	body := []byte("0123456789abcdef")
	es := make([]*Entry, n)
	for i := range es {
		obj := fmt.Sprintf("dir%03d/file%d", i%1000, i)
		es[i] = &Entry{
			Key: "site/" + obj, Bucket: buckets[i%2], Object: obj, Host: hosts[i%8],
			Tags: []string{tags[i%4], groups[i%1000], pcts[i%100]},
			Body: body, StoredAt: t0, FreshFor: time.Hour,
		}
	}
	return es
}

// storeAll stores es in a new cache, which the caller must close.
func storeAll(b *testing.B, es []*Entry) *Cache {
	b.Helper()
	c, err := New(Config{MaxBytes: 4 << 30, Now: (&clock{now: t0}).Now})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for _, e := range es {
		for !fill(c, e) { // ristretto's buffer is full: let it catch up
			settle(c)
		}
	}
	settle(c)
	st := c.Stats()
	if st.Entries != int64(len(es)) {
		c.Close()
		b.Fatalf("filled %d entries, cache holds %d", len(es), st.Entries)
	}
	b.Logf("filled %d entries (%d MiB by cost) in %v", len(es), st.Bytes>>20, time.Since(start).Round(time.Millisecond))
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
	keys := benchKeyList(benchKeys)
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

// BenchmarkPurge1M compares applying a purge to a cache of 1 000 000
// entries with doing the same to a plain map[string]*Entry of them, which
// the rule-based design avoids:
//
//	go test -run '^$' -bench 'Purge1M' -benchtime=100x -benchmem ./cache/
//
// map/delete-1pct deletes the 10 000 keys of one prefix (dirNN: ten
// directories, 1%) from the map, map/clear clears the full map. prefix and
// tag are one Purge matching 1% (by dirNN, by tag pctNN; a different one
// each call), all and flush are Purge All and Flush. The purges leave the
// work to Gets: get/after-prefix-match and get/after-prefix-nomatch time
// the first Get of cold keys after a prefix purge that matches them or
// not, and get/no-purge such Gets with no purge at all, 1 000 Gets an op
// (ns/get is per Get). The background sweep, which would do that work, is
// stopped. p50-µs is the median call where ns/op is a mean that GC pauses
// and the machine's other load sway.
//
// The map runs first, before the cache (3 to 10 s to fill here) is built,
// so that the heap is what a map-based cache would have; the cache is
// built once, and the sub-benchmarks that purge everything run last.
func BenchmarkPurge1M(b *testing.B) {
	const groups, perGroup = 100, 10_000
	entries := millionEntries(groups * perGroup)
	var byDir [groups][]*Entry // entries whose object starts with dirNN
	for _, e := range entries {
		g, _ := strconv.Atoi(e.Object[3:5])
		byDir[g] = append(byDir[g], e)
	}
	// Built here, so that the timed loops format nothing.
	var prefixes, softPrefixes, tags [groups]Selector
	for g := range groups {
		prefixes[g] = Selector{Kind: ByPrefix, Value: fmt.Sprintf("dir%02d", g)}
		softPrefixes[g] = prefixes[g]
		softPrefixes[g].Soft = true
		tags[g] = Selector{Kind: ByTag, Value: fmt.Sprintf("pct%02d", g)}
	}

	var m map[string]*Entry
	mapOf := func() map[string]*Entry {
		if m == nil {
			m = make(map[string]*Entry, len(entries))
			for _, e := range entries {
				m[e.Key] = e
			}
		}
		return m
	}
	b.Run("map/delete-1pct", func(b *testing.B) {
		m := mapOf()
		b.ReportAllocs()
		var lat latencies
		i := 0
		for b.Loop() {
			g := byDir[i%groups]
			i++
			start := time.Now()
			for _, e := range g {
				delete(m, e.Key)
			}
			lat = append(lat, time.Since(start))
			b.StopTimer()
			for _, e := range g {
				m[e.Key] = e
			}
			b.StartTimer()
		}
		lat.report(b)
	})
	b.Run("map/clear", func(b *testing.B) {
		m := mapOf()
		// Collect only between clears: a clear during a collection shades
		// every pointer it zeroes, which would make the baseline look slow.
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		b.ReportAllocs()
		var lat latencies
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			if i%32 == 0 {
				runtime.GC()
			}
			full := maps.Clone(m) // copies the tables: much faster than a refill
			b.StartTimer()
			start := time.Now()
			clear(full)
			lat = append(lat, time.Since(start))
		}
		lat.report(b)
	})
	m = nil

	var c *Cache
	b.Cleanup(func() {
		if c != nil {
			c.Close()
		}
	})
	cache := func(b *testing.B) *Cache {
		if c == nil {
			c = storeAll(b, entries)
			c.stopBackground() // its sweep would do the Gets' work
			runtime.GC()       // not during the first timings
		}
		return c
	}
	// timeGets times, per op, the Gets of the getsPerOp keys next returns
	// (after the untimed work it does): all cold, in a cache of a million.
	const getsPerOp = 1000
	timeGets := func(b *testing.B, next func() []*Entry, hit bool) {
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			batch := next()
			b.StartTimer()
			for _, e := range batch {
				if _, ok := c.Get(e.Key); ok != hit {
					b.Fatalf("Get(%s) hit %v, want %v", e.Key, ok, hit)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*getsPerOp), "ns/get")
	}
	// Each Get benchmark has its own keys: ten prefixes, 100 000 keys, each
	// looked at once until a benchmark runs past 100 ops in all.
	const matchGroups = groups - 20
	batches := func(from int) func() []*Entry {
		keys := slices.Concat(byDir[from : from+10]...)
		i := 0
		return func() []*Entry {
			i = (i + getsPerOp) % len(keys)
			return keys[i : i+getsPerOp]
		}
	}
	noPurge, noMatch := batches(groups-10), batches(groups-20)
	b.Run("get/no-purge", func(b *testing.B) { // before any purge: no rule to check
		cache(b)
		timeGets(b, noPurge, true)
	})
	purged := 0
	b.Run("get/after-prefix-nomatch", func(b *testing.B) {
		cache(b)
		timeGets(b, func() []*Entry {
			c.Purge(prefixes[purged%matchGroups]) // the Gets check this rule (and few older)
			purged++
			return noMatch()
		}, true)
	})
	var killed [groups]bool // Gets found dirNN's entries purged
	g, off := -1, perGroup
	b.Run("get/after-prefix-match", func(b *testing.B) {
		cache(b)
		timeGets(b, func() []*Entry {
			if off == perGroup { // purge the next prefix
				g, off = (g+1)%matchGroups, 0
				if killed[g] { // store them again, or Get stops at their dead flag
					for _, e := range byDir[g] {
						for !fill(c, e) {
							settle(c)
						}
					}
					settle(c)
				}
				c.Purge(prefixes[g])
				killed[g] = true
			}
			off += getsPerOp
			return byDir[g][off-getsPerOp : off]
		}, false)
	})

	// Each purge below adds a rule (trimmed at maxRules) or kills all.
	purgeCall := func(name string, timed bool, purge func(c *Cache, i int)) {
		b.Run(name, func(b *testing.B) {
			c := cache(b)
			b.ReportAllocs()
			var lat latencies
			i := 0
			for b.Loop() {
				if !timed { // too quick to time each call
					purge(c, i)
					i++
					continue
				}
				start := time.Now()
				purge(c, i)
				lat = append(lat, time.Since(start))
				i++
			}
			lat.report(b)
		})
	}
	purgeCall("prefix", true, func(c *Cache, i int) { c.Purge(prefixes[i%groups]) })
	purgeCall("prefix-soft", true, func(c *Cache, i int) { c.Purge(softPrefixes[i%groups]) })
	purgeCall("tag", true, func(c *Cache, i int) { c.Purge(tags[i%groups]) })
	purgeCall("all", false, func(c *Cache, _ int) { c.Purge(Selector{Kind: All}) })
	purgeCall("all-soft", false, func(c *Cache, _ int) { c.Purge(Selector{Kind: All, Soft: true}) })
	purgeCall("flush", false, func(c *Cache, _ int) { c.Flush() })
}

// BenchmarkZipfHitRatio reports the hit ratio of a cache that holds a
// tenth of a Zipf-distributed key space (s = 1.1, as web objects' requests
// fall off), filling every miss: how well ristretto's admission policy
// keeps the hot keys while most hits skip it (front.go). The figure is the
// hit-ratio metric, counted after a warm-up of ten requests per key so
// that it does not depend on -benchtime; ns/op is one Get or fill.
func BenchmarkZipfHitRatio(b *testing.B) {
	const keys, size = 100_000, 1024
	c := newTestCache(b, Config{MaxBytes: keys / 10 * (size + entryOverhead)})
	body := make([]byte, size)
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, keys-1)
	names := benchKeyList(keys)
	request := func() bool {
		k := int(zipf.Uint64())
		if _, ok := c.Get(names[k]); ok {
			return true
		}
		e := newEntry(names[k], "b", strconv.Itoa(k), 1)
		e.Body = body
		fill(c, e)
		return false
	}
	for range 10 * keys {
		request()
	}
	hits := 0
	for b.Loop() {
		if request() {
			hits++
		}
	}
	b.ReportMetric(float64(hits)/float64(b.N), "hit-ratio")
}
