package cache

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"
)

// Config configures a Cache. The zero value of every field but MaxBytes
// means its documented default.
type Config struct {
	// MaxBytes is the memory budget, in bytes, summed over Entry.Cost.
	// Required, > 0.
	MaxBytes int64
	// NumCounters is the number of ristretto's admission counters (about
	// 3 bytes each). Ten per entry the cache holds when full is ristretto's
	// advice. Default MaxBytes / 4 KiB * 10, at least 10 000.
	NumCounters int64
	// BufferItems is the size of ristretto's Get buffers. Default 64.
	BufferItems int64
	// Now is the clock entries' ages are judged by and purge rules and
	// fences age by. Default time.Now. Retention always ends on the wall
	// clock.
	Now func() time.Time
	// MaxRetention caps how long an entry is kept past its freshness
	// lifetime (for stale serving and revalidation), and is how long purge
	// rules are remembered. Default 24 h.
	MaxRetention time.Duration
	// FenceRetention is how long the fence of a purge by key is remembered
	// after the purge while no entry of the object is cached. Default
	// MaxRetention. Forgetting is safe: a fill that began before a
	// forgotten purge is refused, so anything longer than the longest fill
	// (the edge's fetch timeout) will do. Each remembered fence costs about
	// 250 bytes, so with many distinct objects written per second, minutes
	// are better than a day.
	FenceRetention time.Duration
	// RevalidateFor keeps an entry that has a validator (ETag or
	// Last-Modified) this much longer than its stale windows, so a request
	// for it can be answered by a conditional fetch (a 304 moves no body)
	// instead of a full one. Default 10 minutes; negative: not at all.
	// MaxRetention caps it.
	RevalidateFor time.Duration
}

const (
	// minRetention keeps even an entry that is useless on arrival (stale,
	// no windows, no validator) long enough for read-after-Set to hold.
	minRetention = time.Second
	// maxRetention keeps retention arithmetic clear of overflow.
	maxRetention = 100 * 365 * 24 * time.Hour
)

func (cfg *Config) withDefaults() (Config, error) {
	c := *cfg
	switch {
	case c.MaxBytes <= 0:
		return c, fmt.Errorf("cache: MaxBytes must be > 0, got %d", c.MaxBytes)
	case c.NumCounters < 0:
		return c, fmt.Errorf("cache: NumCounters must be >= 0 (0: default), got %d", c.NumCounters)
	case c.BufferItems < 0:
		return c, fmt.Errorf("cache: BufferItems must be >= 0 (0: default), got %d", c.BufferItems)
	case c.MaxRetention < 0 || c.MaxRetention > maxRetention:
		return c, fmt.Errorf("cache: MaxRetention must be between 0 (default) and 100 years, got %v", c.MaxRetention)
	case c.FenceRetention < 0 || c.FenceRetention > maxRetention:
		return c, fmt.Errorf("cache: FenceRetention must be between 0 (default) and 100 years, got %v", c.FenceRetention)
	}
	if c.NumCounters == 0 {
		c.NumCounters = max(c.MaxBytes/4096*10, 10_000)
	}
	if c.BufferItems == 0 {
		c.BufferItems = 64
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxRetention == 0 {
		c.MaxRetention = 24 * time.Hour
	}
	if c.FenceRetention == 0 {
		c.FenceRetention = c.MaxRetention
	}
	switch {
	case c.RevalidateFor == 0:
		c.RevalidateFor = 10 * time.Minute
	case c.RevalidateFor < 0:
		c.RevalidateFor = 0
	}
	return c, nil
}

// Cache is an in-memory cache of immutable entries, on ristretto, with
// purges and fill fences. It is safe for concurrent use, except Close.
type Cache struct {
	cfg   Config
	store *ristretto.Cache[string, *item]

	// front serves hits without ristretto's Get (front.go).
	front frontTable
	// pending makes a Set visible to the next Get while ristretto admits it
	// asynchronously (pending.go).
	pending pendingTable
	// objects holds the per-object fences of purges by key (fence.go).
	objects objectTable
	// rules holds the epoch and the purge rules (purge.go).
	rules atomic.Pointer[ruleSet]
	// seq is the purge sequence: every purge and flush takes the next
	// number, under purgeMu, and stores it here once applied.
	seq     atomic.Uint64
	purgeMu sync.Mutex

	// expiry ends retention; wallSecond is the wall clock's second as the
	// background goroutine last read it (expiry.go).
	expiry     expiryWheel
	wallSecond atomic.Int64

	sweepWanted atomic.Bool
	kick        chan struct{} // asks the background goroutine to drain pending
	stop        chan struct{}
	done        chan struct{}
	stopOnce    sync.Once
	closeOnce   sync.Once

	stats counters
}

// item is what ristretto stores: an entry plus what the cache needs to
// judge it. Only the atomics change after creation. The fields Get reads
// come first, to share a cache line.
type item struct {
	entry *Entry
	key   string // entry.Key, here so that the front table's check needs no other line
	obj   *objectState
	seq   uint64 // the purge sequence when its fill began (Fence.seq)
	epoch uint64
	gen   int64 // entry.Generation, here to spare Get a pointer chase
	// checked: no purge rule up to this sequence matches the entry.
	checked atomic.Uint64
	// unfenced: no purge by key up to this sequence covers the entry, so
	// Get need not read the object's fences (another cache line) until a
	// purge takes a later one.
	unfenced atomic.Uint64
	// dead caches a permanent verdict: purged, flushed or deleted.
	dead atomic.Bool
	// soft: a soft purge rule matched (the other soft purges are judged
	// from seq and gen). Set before checked is raised past the rule.
	soft atomic.Bool
	// superseded: a later Set for the key may be in the admission map.
	superseded atomic.Bool
	// released guards the single release of the object reference.
	released atomic.Bool
	// submitted: handed to ristretto (set under the pending shard's mutex,
	// read by OnExit on ristretto's goroutine).
	submitted atomic.Bool

	cost int64
	// front is the item's slot in the front table.
	front uint64
	// expiresSec is the wall-clock second retention ends in, rounded up
	// (expiry.go).
	expiresSec int64
}

// New builds a Cache and starts its background goroutine; Close stops it.
func New(cfg Config) (*Cache, error) {
	conf, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache{
		cfg:  conf,
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	c.pending.init()
	c.objects.init()
	c.front.init(conf.NumCounters / 10) // about the entries a full cache holds
	c.wallSecond.Store(time.Now().Unix())
	c.rules.Store(&ruleSet{})
	c.store, err = ristretto.NewCache(&ristretto.Config[string, *item]{
		NumCounters: conf.NumCounters,
		MaxCost:     conf.MaxBytes,
		BufferItems: conf.BufferItems,
		// OnExit runs once for every value that leaves ristretto or never
		// got in: replaced, deleted, evicted, expired or rejected. It runs
		// on ristretto's goroutine or inside Set and Del, so it must not
		// block or take the admission locks (release takes only an object
		// shard lock, which is never held while calling ristretto).
		OnExit:   c.release,
		OnEvict:  func(*ristretto.Item[*item]) { c.stats.evicted.Add(1) },
		OnReject: func(*ristretto.Item[*item]) { c.stats.dropped.Add(1) },
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	go c.background()
	return c, nil
}

// Get returns the entry stored under key, fresh or stale (judge it with
// Entry.Fresh and the window helpers), or false. It never returns an entry
// that a purge or a flush invalidated, nor one a soft purge marked (see
// Lookup). It does not allocate and does not retain key, so key may be an
// unsafe view of a reusable buffer.
func (c *Cache) Get(key string) (*Entry, bool) {
	if it, _ := c.find(key, valid); it != nil {
		c.stats.hits.inc()
		return it.entry, true
	}
	c.stats.misses.inc()
	return nil, false
}

// Lookup is Get for callers that serve soft-purged entries: it also returns
// an entry a soft purge marked, with softPurged true, to be served only as
// stale (while revalidating it, for example with its ETag). It never returns
// an entry that a hard purge or a flush invalidated. Like Get, it does not
// allocate or retain key.
func (c *Cache) Lookup(key string) (e *Entry, softPurged bool, ok bool) {
	it, v := c.find(key, softMarked)
	if it == nil {
		c.stats.misses.inc()
		return nil, false, false
	}
	c.stats.hits.inc()
	if v == softMarked {
		c.stats.softHits.Add(1)
	}
	return it.entry, v == softMarked, true
}

// verdict is what Get and Lookup make of an item; the order matters.
type verdict uint8

const (
	purged     verdict = iota // hard-purged, flushed or deleted: never served
	softMarked                // soft-purged: served by Lookup only, flagged
	valid
)

// find returns the item stored under key and its verdict if that is at
// least least, or nil.
func (c *Cache) find(key string, least verdict) (*item, verdict) {
	if it := c.front.get(key); it != nil {
		// It is the key's newest item (a newer one would have superseded
		// or released it): neither ristretto nor pending has a better one.
		if v := c.judge(it); v >= least {
			return it, v
		}
		return nil, purged
	}
	drains := c.pending.drains.Load()
	if it, ok := c.store.Get(key); ok && !it.superseded.Load() {
		if v := c.judge(it); v >= least {
			c.front.remember(it)
			return it, v
		}
	}
	// ristretto has nothing usable: a newer Set may not have reached it yet.
	if it := c.pending.get(key); it != nil {
		if v := c.judge(it); v >= least {
			return it, v
		}
	} else if c.pending.drains.Load() != drains {
		// A drain round may have moved the key's item from the map into
		// ristretto between the two lookups: look again.
		if it, ok := c.store.Get(key); ok && !it.superseded.Load() {
			if v := c.judge(it); v >= least {
				return it, v
			}
		}
	}
	return nil, purged
}

// judge tells whether an item may be served: not if it is of another epoch,
// purged by key, by rule, or deleted; only as soft-purged if a soft purge
// covers it.
func (c *Cache) judge(it *item) verdict {
	if it.dead.Load() || it.expiresSec <= c.wallSecond.Load() {
		return purged // an ended retention is not a purge: it stays undead
	}
	// The sequence first: a purge stores its fences before it publishes
	// its sequence, so fences read after this load are at least as new.
	seq := c.seq.Load()
	rs := c.rules.Load()
	if it.epoch != rs.epoch {
		it.dead.Store(true)
		return purged
	}
	softFenced := false
	if it.unfenced.Load() < seq {
		o := it.obj
		if it.gen < o.minGen.Load() || it.seq < o.purgedSeq.Load() || o.retired.Load() {
			it.dead.Store(true)
			return purged
		}
		softFenced = it.gen < o.softGen.Load() || it.seq < o.softSeq.Load()
		if !softFenced {
			raise(&it.unfenced, seq)
		}
	}
	if checked := it.checked.Load(); checked < rs.last && !c.checkRules(it, rs, checked) {
		return purged
	}
	if softFenced || it.seq < rs.softFloor || it.soft.Load() {
		return softMarked
	}
	return valid
}

// checkRules checks an item against the rules it has not been checked
// against, then records that it has been. It reports false if one purged
// it; a soft rule marks it soft.
func (c *Cache) checkRules(it *item, rs *ruleSet, checked uint64) bool {
	if checked < rs.floor {
		it.dead.Store(true)
		return false
	}
	switch rs.judge(it.entry, checked) {
	case purged:
		it.dead.Store(true)
		return false
	case softMarked:
		it.soft.Store(true) // before checked passes the rule
	}
	raise(&it.checked, rs.last)
	return true
}

// Fence is what a fill captured when it began: Set compares it with the
// purges applied since. The zero Fence fences everything.
type Fence struct {
	bucket, object string
	seq, epoch     uint64
	valid          bool
}

// Begin is called by a fill before its origin request. The Fence it
// returns lets Set refuse the fill's entry if a purge covering
// (bucket, object) or a flush is applied in between. It does not allocate.
func (c *Cache) Begin(bucket, object string) Fence {
	// The rules first: a fence that sees a purge's sequence also sees its
	// rule, and a flush seen between the two loads refuses the fill (its
	// floor is above seq), which errs towards a miss.
	rs := c.rules.Load()
	return Fence{bucket: bucket, object: object, seq: c.seq.Load(), epoch: rs.epoch, valid: true}
}

// Set stores e unless the fill was fenced: a purge matching e was applied
// after f's Begin (for a purge by key with a generation: unless
// e.Generation is at least the object's fence), or a flush was, or f is
// not from Begin for e.Bucket and e.Object. It reports whether e was
// stored; a stored entry is visible to the very next Get. Set also returns
// false when ristretto is too busy to take the entry (its buffer is full).
// A soft purge fences nothing: e is stored, soft-purged if the soft purge
// covers it (Lookup returns it flagged, Get misses it).
//
// e must not be changed afterwards. It is kept for its retention: the rest
// of its freshness lifetime plus its longest stale window (and
// Config.RevalidateFor if it has a validator), capped past freshness by
// Config.MaxRetention, and at least a second. ristretto may evict it sooner.
func (c *Cache) Set(f Fence, e *Entry) bool {
	if e == nil || !f.valid || e.Bucket != f.bucket || e.Object != f.object {
		c.stats.fenced.Add(1)
		return false
	}
	rs := c.rules.Load()
	if rs.epoch != f.epoch || f.seq < rs.floor {
		c.stats.fenced.Add(1)
		return false
	}
	v := rs.judge(e, f.seq)
	if v == purged {
		c.stats.fenced.Add(1)
		return false
	}
	obj, ok := c.objects.acquire(e, f.seq)
	if !ok {
		c.stats.fenced.Add(1)
		return false
	}
	expires := time.Now().Add(c.retention(e, c.cfg.Now()))
	it := &item{
		entry: e, key: e.Key, obj: obj, seq: f.seq, epoch: f.epoch, gen: e.Generation,
		cost: e.Cost(), front: c.front.index(e.Key), expiresSec: expirySecond(expires),
	}
	// Purges from now on have a higher sequence than rs.last and f.seq, so
	// Get checks the item against them. Soft purges by key and soft All
	// need no marking: they are judged from it.seq and it.gen.
	it.soft.Store(v == softMarked)
	it.checked.Store(max(f.seq, rs.last))
	if !c.pending.put(c, it) {
		c.release(it)
		c.stats.dropped.Add(1)
		return false
	}
	c.stats.sets.Add(1)
	return true
}

// retention is how long ristretto keeps e, from now.
func (c *Cache) retention(e *Entry, now time.Time) time.Duration {
	extra := max(e.StaleWhileRevalidate, e.StaleIfError)
	if e.hasValidator() {
		extra = max(extra, c.cfg.RevalidateFor)
	}
	extra = min(extra, c.cfg.MaxRetention)
	left := clamp(e.FreshFor, 0, maxRetention) - clamp(e.Age(now), 0, maxRetention)
	return max(left+extra, minRetention)
}

func clamp(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

// Delete removes the entry stored under key. It is an eviction, not an
// invalidation: it fences no fill. To invalidate, Purge ByKey, which
// covers all variants of the object and fences fills in flight.
func (c *Cache) Delete(key string) {
	c.pending.delete(c, key)
}

// release drops an item's object reference, once, whichever way it left.
func (c *Cache) release(it *item) {
	if it == nil || !it.released.CompareAndSwap(false, true) {
		return
	}
	if it.submitted.Load() {
		c.stats.entries.Add(-1)
		c.stats.bytes.Add(-it.cost)
		c.expiry.remove(it)
		c.front.forget(it)
	}
	c.objects.release(objectID{it.entry.Bucket, it.entry.Object}, it.obj)
}

// Close stops the background goroutine and releases ristretto. Call it
// once nothing else uses the Cache: ristretto's Close is not safe against
// concurrent Gets. Calling Close again does nothing.
func (c *Cache) Close() {
	c.closeOnce.Do(func() {
		c.stopBackground()
		c.pending.close(c)
		c.store.Close()
		c.front.clear() // ristretto forgets its items without releasing them
	})
}

// stopBackground stops the background goroutine and waits for it.
// Until Close, Sets then stay in the admission map (see pending.go).
func (c *Cache) stopBackground() {
	c.stopOnce.Do(func() {
		close(c.stop)
		<-c.done
	})
}
