package cache

import (
	"sync"
	"time"
)

// Retention is ended here, not by ristretto's TTL: ristretto reads the
// clock on every Get of an item that has a TTL, which was a tenth of a
// hit's cost. Instead each stored item waits in a bucket of the second its
// retention ends; once a second the background goroutine takes the due
// buckets and deletes their items from ristretto (unless a newer Set of
// the key replaced them), and Get compares an item's end with a clock the
// same goroutine advances once a second, so an item is not served more
// than a second or two past its retention. A bucket holds an item until
// the item leaves ristretto (release), so an evicted entry is not kept.
type expiryWheel struct {
	mu      sync.Mutex
	buckets map[int64]map[*item]struct{} // second → items whose retention ends in it
	next    int64                        // the first second not yet taken
	// retry holds due items that were still on their way into ristretto.
	retry []*item
}

// expirySecond is the wall-clock second an item's retention ends in,
// rounded up: an item is expired once the clock's second reaches it.
func expirySecond(expires time.Time) int64 {
	s := expires.Unix()
	if expires.Nanosecond() > 0 {
		s++
	}
	return s
}

// expired: its retention has ended by now.
func (it *item) expired(now time.Time) bool { return now.Unix() >= it.expiresSec }

func (w *expiryWheel) add(it *item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buckets == nil {
		w.buckets = make(map[int64]map[*item]struct{})
	}
	b := w.buckets[it.expiresSec]
	if b == nil {
		b = make(map[*item]struct{})
		w.buckets[it.expiresSec] = b
	}
	b[it] = struct{}{}
}

func (w *expiryWheel) remove(it *item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b := w.buckets[it.expiresSec]; b != nil {
		delete(b, it)
		if len(b) == 0 {
			delete(w.buckets, it.expiresSec)
		}
	}
}

func (w *expiryWheel) later(it *item) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.retry = append(w.retry, it)
}

// due takes the items whose retention ended by second now.
func (w *expiryWheel) due(now int64) []*item {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.retry
	w.retry = nil
	take := func(s int64) {
		for it := range w.buckets[s] {
			out = append(out, it)
		}
		delete(w.buckets, s)
	}
	if w.next == 0 || now-w.next > int64(len(w.buckets)) {
		// The first round, or a clock jump: fewer buckets than seconds.
		for s := range w.buckets {
			if s <= now {
				take(s)
			}
		}
	} else {
		for s := w.next; s <= now; s++ {
			take(s)
		}
	}
	w.next = now + 1
	return out
}

// expire deletes from ristretto the items whose retention has ended, and
// advances the clock Get judges retention by.
func (c *Cache) expire(now time.Time) {
	c.wallSecond.Store(now.Unix())
	for _, it := range c.expiry.due(now.Unix()) {
		switch deleted, retry := c.pending.evict(c, it); {
		case deleted:
			c.stats.evicted.Add(1) // as an eviction for room is
		case retry:
			c.expiry.later(it) // still in ristretto's buffer: deleted next second
		}
	}
}
