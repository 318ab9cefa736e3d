package cache

import "time"

// background admits entries (pending.go) and, every second, ends the
// retention of entries (expiry.go), forgets expired fences and rules and
// sweeps purged entries.
func (c *Cache) background() {
	defer close(c.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var nextSweep time.Time
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
			c.settle()
		case <-tick.C:
			c.expire(time.Now())
			c.objects.expire(c.cfg.Now())
			c.expireRules(c.cfg.Now())
			if start := time.Now(); start.After(nextSweep) && c.sweepWanted.Swap(false) {
				c.sweep()
				// A sweep of a million entries takes a fraction of a second:
				// keep sweeping under a tenth of this goroutine's time.
				nextSweep = time.Now().Add(9 * time.Since(start))
			}
		}
	}
}

// sweep deletes the stored entries that purges and flushes invalidated, so
// their memory is freed without waiting for eviction, and records for the
// others that they passed the current rules (so their next Get is O(1)).
// It keeps soft-purged entries: Lookup still serves them for revalidation.
func (c *Cache) sweep() {
	var dead []*item
	c.store.IterValues(func(it *item) bool {
		if c.judge(it) == purged {
			dead = append(dead, it)
		}
		return false
	})
	for _, it := range dead {
		c.pending.evict(c, it)
	}
}
