package cache

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fillTicket is what the property test keeps in Entry.Meta: when the fill
// that produced the entry had returned from Begin.
type fillTicket struct{ began int64 }

type appliedPurge struct {
	sel   Selector
	start int64 // ticket taken before Purge was called
	flush bool
}

// covers reports whether p, applied after a fill that began at ticket
// began, must hide e.
func (p appliedPurge) covers(e *Entry, began int64) bool {
	if p.flush {
		return began < p.start
	}
	s := p.sel
	switch s.Kind {
	case ByKey:
		if e.Bucket != s.Bucket || e.Object != s.Value {
			return false
		}
		if s.Generation > 0 {
			return e.Generation < s.Generation
		}
		return began < p.start
	case All:
		return began < p.start
	}
	return began < p.start && s.matches(e)
}

// TestConcurrentPurgesHideWhatTheyCover runs fills, gets and purges of all
// kinds at once and checks the purge guarantee: once Purge (or Flush) has
// returned, no Get returns an entry it covers from a fill that began
// before it. Run with -race.
func TestConcurrentPurgesHideWhatTheyCover(t *testing.T) {
	// On a loaded machine the scheduler may keep fills, gets and purges
	// apart in one round; the guarantee is checked in every round, and a
	// few rounds make sure some of them interleaved.
	for round := range 5 {
		seed := rand.Uint64()
		hits, fenced := concurrentPurgesRound(t, seed)
		t.Logf("round %d, seed %d: %d hits, %d fills fenced", round, seed, hits, fenced)
		if t.Failed() || hits > 0 && fenced > 0 {
			return
		}
	}
	t.Error("in 5 rounds the test never saw a hit and a fenced fill: it exercised nothing")
}

func concurrentPurgesRound(t *testing.T, seed uint64) (hits, fenced int64) {
	c := newTestCache(t, Config{})

	const (
		buckets, dirs, objects, variants = 2, 3, 8, 2
		fillers, getters, purgers        = 4, 4, 2
		opsPerWorker                     = 3000
		purgesPerPurger                  = 150
	)
	bucket := func(i int) string { return fmt.Sprint("b", i) }
	object := func(d, o int) string { return fmt.Sprintf("d%d/o%d", d, o) }
	key := func(b, d, o, v int) string { return fmt.Sprintf("%s/%s?v=%d", bucket(b), object(d, o), v) }
	// gens is the origin: each object's current generation, bumped by a
	// "write" before its purge is published.
	var gens [buckets][dirs][objects]atomic.Int64
	var tickets atomic.Int64

	var (
		mu      sync.Mutex
		applied []appliedPurge
		nApp    atomic.Int64 // applied[:nApp] are complete
	)
	var violations, nhits atomic.Int64
	var firstViolation atomic.Value

	var wg sync.WaitGroup
	for w := range fillers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			// Each filler keeps a few fills in flight, as slow origin
			// requests would, so purges land between Begin and Set.
			type inFlight struct {
				f Fence
				e *Entry
			}
			var queue []inFlight
			for range opsPerWorker {
				b, d, o, v := r.IntN(buckets), r.IntN(dirs), r.IntN(objects), r.IntN(variants)
				f := c.Begin(bucket(b), object(d, o))
				began := tickets.Add(1)
				queue = append(queue, inFlight{f, &Entry{
					Key: key(b, d, o, v), Bucket: bucket(b), Object: object(d, o),
					Host: fmt.Sprint("h", b*variants+v), Tags: []string{fmt.Sprint("t", d), fmt.Sprint("v", v)},
					Generation: gens[b][d][o].Load(), // read from the origin after Begin
					StoredAt:   t0, FreshFor: time.Hour, Meta: fillTicket{began},
				}})
				if len(queue) > r.IntN(6) {
					c.Set(queue[0].f, queue[0].e)
					queue = queue[1:]
				}
			}
		})
	}
	for w := range getters {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(100+w)))
			for range opsPerWorker {
				done := nApp.Load()
				k := key(r.IntN(buckets), r.IntN(dirs), r.IntN(objects), r.IntN(variants))
				e, ok := c.Get(k)
				if !ok {
					continue
				}
				nhits.Add(1)
				began := e.Meta.(fillTicket).began
				mu.Lock()
				for _, p := range applied[:done] {
					if p.covers(e, began) {
						violations.Add(1)
						firstViolation.CompareAndSwap(nil, fmt.Sprintf("Get(%s) returned gen %d began %d after %+v", k, e.Generation, began, p))
					}
				}
				mu.Unlock()
			}
		})
	}
	for w := range purgers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(200+w)))
			for range purgesPerPurger {
				b, d, o := r.IntN(buckets), r.IntN(dirs), r.IntN(objects)
				var p appliedPurge
				switch r.IntN(10) {
				case 0, 1, 2, 3:
					p.sel = Selector{Kind: ByKey, Bucket: bucket(b), Value: object(d, o), Generation: gens[b][d][o].Add(1)}
				case 4:
					p.sel = Selector{Kind: ByKey, Bucket: bucket(b), Value: object(d, o)}
				case 5:
					p.sel = Selector{Kind: ByPrefix, Bucket: bucket(b), Value: fmt.Sprintf("d%d/", d)}
				case 6:
					p.sel = Selector{Kind: ByTag, Value: fmt.Sprint("v", r.IntN(variants))}
				case 7:
					p.sel = Selector{Kind: ByHost, Value: fmt.Sprint("h", r.IntN(buckets*variants))}
				case 8:
					p.sel = Selector{Kind: All}
				default:
					p.flush = true
				}
				p.start = tickets.Add(1)
				if p.flush {
					c.Flush()
				} else {
					c.Purge(p.sel)
				}
				mu.Lock()
				applied = append(applied, p)
				nApp.Store(int64(len(applied)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if n := violations.Load(); n > 0 {
		t.Errorf("%d Gets returned purged entries; first: %v", n, firstViolation.Load())
	}
	return nhits.Load(), int64(c.Stats().Fenced)
}

// TestConcurrentSetGetSameKeys hammers few keys from many goroutines, so
// that Sets of a key overlap inside ristretto's buffer, and checks
// read-after-Set: after a Set returns, Get returns its entry or one whose
// Set had not finished before it started (never a miss, never an older one).
func TestConcurrentSetGetSameKeys(t *testing.T) {
	c := newTestCache(t, Config{})
	const keys, workers, ops = 4, 8, 2000
	var tickets atomic.Int64
	var finished sync.Map // *Entry → ticket taken when its Set returned
	var misses, older atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				key := fmt.Sprint("k", (w+i)%keys)
				e := newEntry(key, "b", key, 1)
				start := tickets.Add(1)
				if !fill(c, e) {
					continue
				}
				finished.Store(e, tickets.Add(1))
				got, ok := c.Get(key)
				if !ok {
					misses.Add(1)
					continue
				}
				if end, ok := finished.Load(got); ok && end.(int64) < start {
					older.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if misses.Load() > 0 || older.Load() > 0 {
		t.Errorf("Gets right after a Set: %d misses, %d older entries; want none", misses.Load(), older.Load())
	}
}
