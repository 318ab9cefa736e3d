package cache

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// softEntries are four entries of three objects, two buckets and two hosts,
// all of generation 3.
func softEntries() []*Entry {
	es := []*Entry{
		{Key: "a.com/img/1.png", Bucket: "site-a", Object: "img/1.png", Host: "a.com", Tags: []string{"img"}},
		{Key: "a.com/img/2.png", Bucket: "site-a", Object: "img/2.png", Host: "a.com", Tags: []string{"img"}},
		{Key: "a.com/js/app.js", Bucket: "site-a", Object: "js/app.js", Host: "a.com", Tags: []string{"js"}},
		{Key: "b.com/img/1.png", Bucket: "site-b", Object: "img/1.png", Host: "b.com", Tags: []string{"img"}},
	}
	for _, e := range es {
		e.Generation, e.StoredAt, e.FreshFor, e.ETag = 3, t0, time.Hour, `"v3"`
	}
	return es
}

// softKinds lists a selector of every kind and the keys it matches in
// softEntries.
var softKinds = []struct {
	sel     Selector
	matches []string
}{
	{Selector{Kind: ByKey, Bucket: "site-a", Value: "img/1.png"}, []string{"a.com/img/1.png"}},
	{Selector{Kind: ByKey, Bucket: "site-a", Value: "img/1.png", Generation: 4}, []string{"a.com/img/1.png"}},
	{Selector{Kind: ByPrefix, Bucket: "site-a", Value: "img/"}, []string{"a.com/img/1.png", "a.com/img/2.png"}},
	{Selector{Kind: ByTag, Value: "img"}, []string{"a.com/img/1.png", "a.com/img/2.png", "b.com/img/1.png"}},
	{Selector{Kind: ByHost, Value: "b.com"}, []string{"b.com/img/1.png"}},
	{Selector{Kind: All}, []string{"a.com/img/1.png", "a.com/img/2.png", "a.com/js/app.js", "b.com/img/1.png"}},
	{Selector{}, []string{"a.com/img/1.png", "a.com/img/2.png", "a.com/js/app.js", "b.com/img/1.png"}},
}

// wantLookup checks what Get and Lookup return for key: want (nil for a
// miss), flagged soft-purged or not.
func wantLookup(t *testing.T, c *Cache, key string, want *Entry, soft bool) {
	t.Helper()
	got, gotSoft, ok := c.Lookup(key)
	switch {
	case want == nil && ok:
		t.Errorf("Lookup(%s) hit (soft %v), want a miss", key, gotSoft)
	case want != nil && (got != want || gotSoft != soft):
		t.Errorf("Lookup(%s) = %p, soft %v, ok %v; want %p, soft %v", key, got, gotSoft, ok, want, soft)
	}
	got, ok = c.Get(key)
	if fresh := want != nil && !soft; got != want && fresh || ok && !fresh {
		t.Errorf("Get(%s) = %p, %v; want a hit only for a fresh entry (%v)", key, got, ok, fresh)
	}
}

// TestSoftPurgeEveryKind: a soft purge of any kind marks what it matches,
// fills in flight included, and leaves the rest; a fill begun after it is
// fresh. Then a hard purge of the same selector still removes.
func TestSoftPurgeEveryKind(t *testing.T) {
	for _, p := range placements {
		for _, tt := range softKinds {
			t.Run(fmt.Sprintf("%s/%s %s %s gen %d", p.name, tt.sel.Kind, tt.sel.Bucket, tt.sel.Value, tt.sel.Generation), func(t *testing.T) {
				c := newTestCache(t, Config{})
				entries := softEntries()
				fences := map[string]Fence{}
				for _, e := range entries {
					if !fill(c, e) {
						t.Fatalf("Set(%s) = false", e.Key)
					}
					fences[e.Key] = c.Begin(e.Bucket, e.Object)
				}
				place(t, c, p, entries...)
				before := c.Stats() // place may have purged (nothing)
				soft := tt.sel
				soft.Soft = true
				c.Purge(soft)
				matched := map[string]bool{}
				for _, k := range tt.matches {
					matched[k] = true
				}
				for _, e := range entries {
					wantLookup(t, c, e.Key, e, matched[e.Key])
				}
				for _, e := range entries {
					// A fill begun before the purge is stored, marked.
					slow := *e
					if !c.Set(fences[e.Key], &slow) {
						t.Errorf("fill of %s begun before the soft purge refused", e.Key)
					}
					wantLookup(t, c, e.Key, &slow, matched[e.Key])
					// A fill begun after it (a refresh) is fresh.
					after := *e
					after.Generation = 4
					if !fill(c, &after) {
						t.Errorf("fill of %s begun after the soft purge refused", e.Key)
					}
					wantLookup(t, c, e.Key, &after, false)
				}
				if st := c.Stats(); st.Purges-before.Purges != 1 || st.SoftPurges != 1 || st.Fenced != 0 {
					t.Errorf("Purges, SoftPurges, Fenced since placing = %d, %d, %d; want 1, 1, 0", st.Purges-before.Purges, st.SoftPurges, st.Fenced)
				}

				// Soft, then hard: gone.
				c.Purge(soft)
				for _, e := range entries {
					c.Lookup(e.Key) // soft rules mark before the hard rule comes
				}
				hard := tt.sel
				if hard.Generation > 0 {
					hard.Generation = 5
				}
				c.Purge(hard)
				for _, e := range entries {
					if _, soft, ok := c.Lookup(e.Key); ok == matched[e.Key] {
						t.Errorf("Lookup(%s) after soft then hard purges: ok %v (soft %v), want %v", e.Key, ok, soft, !matched[e.Key])
					}
				}
			})
		}
	}
}

// TestHardThenSoftPurge: a soft purge after a hard one changes nothing for
// what the hard one removed, and what is filled after both is fresh.
func TestHardThenSoftPurge(t *testing.T) {
	for _, tt := range softKinds {
		t.Run(fmt.Sprintf("%s %s %s gen %d", tt.sel.Kind, tt.sel.Bucket, tt.sel.Value, tt.sel.Generation), func(t *testing.T) {
			c := newTestCache(t, Config{})
			entries := softEntries()
			fences := map[string]Fence{}
			for _, e := range entries {
				fill(c, e)
				fences[e.Key] = c.Begin(e.Bucket, e.Object)
			}
			c.Purge(tt.sel)
			soft := tt.sel
			soft.Soft = true
			c.Purge(soft)
			matched := map[string]bool{}
			for _, k := range tt.matches {
				matched[k] = true
			}
			for _, e := range entries {
				if matched[e.Key] {
					wantLookup(t, c, e.Key, nil, false)
					slow := *e
					if c.Set(fences[e.Key], &slow) {
						t.Errorf("fill of %s begun before the hard purge stored", e.Key)
					}
				} else {
					wantLookup(t, c, e.Key, e, false)
				}
				after := *e
				after.Generation = 4
				if !fill(c, &after) {
					t.Errorf("fill of %s begun after both purges refused", e.Key)
				}
				wantLookup(t, c, e.Key, &after, false)
			}
		})
	}
}

// TestSoftPurgeByKeyGeneration: entries of lower generations are marked,
// not the others; duplicate and reordered soft purges do not lower the
// mark; a hard purge by generation still removes.
func TestSoftPurgeByKeyGeneration(t *testing.T) {
	c := newTestCache(t, Config{})
	// Variants of one object read at different generations.
	byGen := map[int64]*Entry{}
	for _, gen := range []int64{3, 5, 7} {
		e := newEntry(fmt.Sprintf("k?g=%d", gen), "b", "o", gen)
		fill(c, e)
		byGen[gen] = e
	}
	for _, gen := range []int64{5, 5, 2, 4} {
		c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "o", Generation: gen, Soft: true})
	}
	wantLookup(t, c, byGen[3].Key, byGen[3], true)
	wantLookup(t, c, byGen[5].Key, byGen[5], false)
	wantLookup(t, c, byGen[7].Key, byGen[7], false)

	// A fill that read an older generation, even begun after the purge
	// (a lagging replica, or a 304 refresh that kept the old generation),
	// is stored marked; one that read generation 5 is fresh.
	old := newEntry("k?g=4", "b", "o", 4)
	if !fill(c, old) {
		t.Fatal("fill of generation 4 refused")
	}
	wantLookup(t, c, old.Key, old, true)
	refreshed := *byGen[3]
	refreshed.Generation = 5
	fill(c, &refreshed)
	wantLookup(t, c, refreshed.Key, &refreshed, false)

	c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "o", Generation: 6})
	wantLookup(t, c, old.Key, nil, false)
	wantLookup(t, c, refreshed.Key, nil, false)
	wantLookup(t, c, byGen[5].Key, nil, false)
	wantLookup(t, c, byGen[7].Key, byGen[7], false)
}

// TestSoftPurgeRepeated: a refreshed entry is fresh until a newer soft
// purge matches it; duplicate soft purges are harmless.
func TestSoftPurgeRepeated(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			c := newTestCache(t, Config{})
			e := newEntry("k", "b", "dir/o", 1)
			e.Tags = []string{"t"}
			fill(c, e)
			if p.settle {
				settle(c)
			}
			for range 2 {
				c.Purge(Selector{Kind: ByTag, Value: "t", Soft: true})
			}
			wantLookup(t, c, "k", e, true)
			// Revalidated (a 304): the edge stores a copy.
			fresh := *e
			fill(c, &fresh)
			wantLookup(t, c, "k", &fresh, false)
			if p.settle {
				settle(c)
			}
			c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "dir/", Soft: true})
			wantLookup(t, c, "k", &fresh, true)
			c.Purge(Selector{Kind: All, Soft: true})
			c.Purge(Selector{Kind: All, Soft: true})
			wantLookup(t, c, "k", &fresh, true)
			again := *e
			fill(c, &again)
			wantLookup(t, c, "k", &again, false)
		})
	}
}

func TestLookupCountsSoftHits(t *testing.T) {
	c := newTestCache(t, Config{})
	fill(c, newEntry("fresh", "b", "o1", 1))
	fill(c, newEntry("soft", "b", "o2", 1))
	c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "o2", Soft: true})
	c.Get("fresh")    // hit
	c.Get("soft")     // miss
	c.Lookup("fresh") // hit
	c.Lookup("soft")  // hit, soft
	c.Lookup("none")  // miss
	st := c.Stats()
	if st.Hits != 3 || st.Misses != 2 || st.SoftHits != 1 || st.Purges != 1 || st.SoftPurges != 1 {
		t.Errorf("Hits, Misses, SoftHits, Purges, SoftPurges = %d, %d, %d, %d, %d; want 3, 2, 1, 1, 1",
			st.Hits, st.Misses, st.SoftHits, st.Purges, st.SoftPurges)
	}
}

// TestSweepKeepsSoftPurgedEntries: the sweep deletes only what hard purges
// removed.
func TestSweepKeepsSoftPurgedEntries(t *testing.T) {
	c := newTestCache(t, Config{})
	entries := map[string]*Entry{}
	for i := range 90 {
		dir := []string{"keep", "soft", "hard"}[i%3]
		e := newEntry(fmt.Sprint("k", i), "b", fmt.Sprintf("%s/%d", dir, i), 1)
		fill(c, e)
		entries[e.Key] = e
	}
	settle(c)
	c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "soft/", Soft: true})
	c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "hard/"})
	c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "keep/0", Soft: true})
	c.sweep()
	c.store.Wait()
	if st := c.Stats(); st.Entries != 60 || st.Objects != 60 {
		t.Errorf("after the sweep: Entries = %d, Objects = %d; want 60, 60", st.Entries, st.Objects)
	}
	for k, e := range entries {
		switch e.Object[:4] {
		case "keep":
			wantLookup(t, c, k, e, e.Object == "keep/0")
		case "soft":
			wantLookup(t, c, k, e, true)
		default:
			wantLookup(t, c, k, nil, false)
		}
	}
	c.Purge(Selector{Kind: All, Soft: true})
	c.sweep()
	c.store.Wait()
	if st := c.Stats(); st.Entries != 60 {
		t.Errorf("after a soft purge of everything and a sweep: Entries = %d, want 60", st.Entries)
	}
}

// TestSoftMarkOutlivesItsRule: an entry checked against a soft rule stays
// marked once the rule is forgotten; one never checked is a miss, as with
// hard rules.
func TestSoftMarkOutlivesItsRule(t *testing.T) {
	clk := &clock{now: t0}
	c := newTestCache(t, Config{Now: clk.Now, MaxRetention: time.Hour})
	c.stopBackground() // its sweep would check the idle entry
	looked := newEntry("looked-at", "b", "a/1", 1)
	idle := newEntry("idle", "b", "a/2", 1)
	fill(c, looked)
	fill(c, idle)
	c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "a/", Soft: true})
	wantLookup(t, c, "looked-at", looked, true)
	clk.Advance(time.Hour + time.Second)
	c.expireRules(clk.Now())
	if st := c.Stats(); st.Rules != 0 {
		t.Fatalf("Rules after MaxRetention = %d, want 0", st.Rules)
	}
	wantLookup(t, c, "looked-at", looked, true)
	wantLookup(t, c, "idle", nil, false)
}

// softTicket is what TestConcurrentSoftPurges keeps in Entry.Meta: tickets
// taken just before and just after the fill's Begin.
type softTicket struct{ before, began int64 }

// TestConcurrentSoftPurges runs fills, Gets, Lookups and hard and soft
// purges at once, and checks that once a purge has returned: Get returns
// nothing it covers; Lookup returns nothing a hard one covers, and what a
// soft one covers only flagged; and that every flagged entry is covered by
// some soft purge. Run with -race.
func TestConcurrentSoftPurges(t *testing.T) {
	// As in TestConcurrentPurgesHideWhatTheyCover: every round checks the
	// guarantees, and a few rounds make sure some of them interleaved.
	for round := range 5 {
		seed := rand.Uint64()
		hits, soft, fenced := concurrentSoftRound(t, seed)
		t.Logf("round %d, seed %d: %d hits (%d soft), %d fills fenced", round, seed, hits, soft, fenced)
		if t.Failed() || hits > 0 && soft > 0 && fenced > 0 {
			return
		}
	}
	t.Error("in 5 rounds the test never saw a hit, a soft hit and a fenced fill together: it exercised too little")
}

func concurrentSoftRound(t *testing.T, seed uint64) (hits, softHits, fenced int64) {
	c := newTestCache(t, Config{})

	const (
		buckets, dirs, objects, variants = 2, 3, 6, 2
		fillers, getters, purgers        = 3, 4, 2
		opsPerWorker                     = 3000
		purgesPerPurger                  = 200
	)
	bucket := func(i int) string { return fmt.Sprint("b", i) }
	object := func(d, o int) string { return fmt.Sprintf("d%d/o%d", d, o) }
	key := func(b, d, o, v int) string { return fmt.Sprintf("%s/%s?v=%d", bucket(b), object(d, o), v) }
	var gens [buckets][dirs][objects]atomic.Int64
	var tickets atomic.Int64

	type flag struct {
		e    *Entry
		seen int64 // ticket taken when Lookup returned
	}
	type softApplied struct {
		appliedPurge
		end int64 // ticket taken when Purge returned
	}
	var (
		mu      sync.Mutex
		applied []softApplied
		nApp    atomic.Int64 // applied[:nApp] are complete
		flagged []flag       // entries Lookup returned soft-purged
	)
	var violations, nhits, nsoft, fillsDone atomic.Int64
	var firstViolation atomic.Value
	violation := func(format string, args ...any) {
		violations.Add(1)
		firstViolation.CompareAndSwap(nil, fmt.Sprintf(format, args...))
	}

	var wg sync.WaitGroup
	for w := range fillers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			type inFlight struct {
				f Fence
				e *Entry
			}
			var queue []inFlight
			for range opsPerWorker {
				b, d, o, v := r.IntN(buckets), r.IntN(dirs), r.IntN(objects), r.IntN(variants)
				before := tickets.Add(1)
				f := c.Begin(bucket(b), object(d, o))
				began := tickets.Add(1)
				queue = append(queue, inFlight{f, &Entry{
					Key: key(b, d, o, v), Bucket: bucket(b), Object: object(d, o),
					Host: fmt.Sprint("h", b*variants+v), Tags: []string{fmt.Sprint("t", d), fmt.Sprint("v", v)},
					Generation: gens[b][d][o].Load(),
					StoredAt:   t0, FreshFor: time.Hour, Meta: softTicket{before, began},
				}})
				if len(queue) > r.IntN(6) {
					c.Set(queue[0].f, queue[0].e)
					queue = queue[1:]
				}
			}
			fillsDone.Add(1)
		})
	}
	for w := range getters {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(100+w)))
			for i := 0; fillsDone.Load() < fillers; i++ {
				done := nApp.Load()
				k := key(r.IntN(buckets), r.IntN(dirs), r.IntN(objects), r.IntN(variants))
				var e *Entry
				var soft, ok bool
				var seen int64
				if i%2 == 0 {
					e, ok = c.Get(k)
				} else if e, soft, ok = c.Lookup(k); soft {
					seen = tickets.Add(1)
				}
				if !ok {
					continue
				}
				nhits.Add(1)
				began := e.Meta.(softTicket).began
				mu.Lock()
				if soft {
					nsoft.Add(1)
					flagged = append(flagged, flag{e, seen})
				}
				for _, p := range applied[:done] {
					if p.covers(e, began) && (!soft || !p.sel.Soft) {
						violation("%s(%s) returned gen %d began %d, soft %v, after %+v",
							map[bool]string{true: "Lookup", false: "Get"}[i%2 == 1], k, e.Generation, began, soft, p)
					}
				}
				mu.Unlock()
			}
		})
	}
	for w := range purgers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(200+w)))
			// Purges are spread over the fills: a purge per so many tickets.
			const spacing = 2 * fillers * opsPerWorker / purgesPerPurger
			for i := range purgesPerPurger {
				for tickets.Load() < int64(i*spacing) && fillsDone.Load() < fillers {
					runtime.Gosched()
				}
				b, d, o := r.IntN(buckets), r.IntN(dirs), r.IntN(objects)
				var p softApplied
				switch r.IntN(12) {
				case 0, 1, 2:
					p.sel = Selector{Kind: ByKey, Bucket: bucket(b), Value: object(d, o), Generation: gens[b][d][o].Add(1)}
				case 3:
					p.sel = Selector{Kind: ByKey, Bucket: bucket(b), Value: object(d, o)}
				case 4, 5:
					p.sel = Selector{Kind: ByPrefix, Bucket: bucket(b), Value: fmt.Sprintf("d%d/", d)}
				case 6:
					p.sel = Selector{Kind: ByTag, Value: fmt.Sprint("v", r.IntN(variants))}
				case 7:
					p.sel = Selector{Kind: ByHost, Value: fmt.Sprint("h", r.IntN(buckets*variants))}
				case 8, 9:
					p.sel = Selector{Kind: All}
				case 10:
					p.flush = true
				default:
					// A soft purge of an older generation, as a late event.
					p.sel = Selector{Kind: ByKey, Bucket: bucket(b), Value: object(d, o), Generation: max(1, gens[b][d][o].Load()-1)}
				}
				// Four in five purges are soft, to keep the hard ones from
				// emptying the cache.
				p.sel.Soft = !p.flush && r.IntN(5) > 0
				p.start = tickets.Add(1)
				if p.flush {
					c.Flush()
				} else {
					c.Purge(p.sel)
				}
				p.end = tickets.Add(1)
				mu.Lock()
				applied = append(applied, p)
				nApp.Store(int64(len(applied)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	// Every flagged entry has a soft purge to answer for it, one that
	// started before the Lookup returned: by a generation above the
	// entry's, or one that matches it and that the fill's Begin may have
	// preceded (Begin started before Purge returned).
	for _, f := range flagged {
		e, before := f.e, f.e.Meta.(softTicket).before
		covered := false
		for _, p := range applied {
			q := p.appliedPurge
			q.start = p.end
			if p.sel.Soft && p.start < f.seen && q.covers(e, before) {
				covered = true
				break
			}
		}
		if !covered {
			violation("Lookup(%s) flagged gen %d (fill before %d) soft-purged, but no soft purge covers it", e.Key, e.Generation, before)
			break
		}
	}
	if n := violations.Load(); n > 0 {
		t.Errorf("%d violations; first: %v", n, firstViolation.Load())
	}
	return nhits.Load(), nsoft.Load(), int64(c.Stats().Fenced)
}
