package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Read-after-Set. ristretto's Set of a new key only queues it: the key
// appears when ristretto's goroutine gets to it, or never if its admission
// policy rejects it. The edge must serve a stored fill to the very next
// request, so Set also puts the item in a small synchronous map (pending)
// that Get consults when ristretto has nothing usable, and the background
// goroutine removes it once ristretto has processed the item.
//
// Why removal is safe: ristretto processes its buffer in order on one
// goroutine, and its Wait returns once everything queued before it is
// processed. A drain round snapshots the map, calls Wait once, then removes
// the snapshotted items that had been handed to ristretto: each is now in
// ristretto, or was rejected or evicted (a miss, as eviction always is).
// Wait is costly under load, but here it runs once per round on the
// background goroutine, never on a request.
//
// A key already in ristretto needs none of this (its Set replaces the value
// synchronously), but two Sets of a new key in a row would race inside
// ristretto: both are queued, the first is added, the second is rejected as
// a duplicate, and the older entry stays. So while a key's item may be in
// ristretto's buffer, a newer item waits in the map (deferred; Get serves it
// from there) and the next round hands it over, by which time ristretto's
// Set takes the synchronous path. The older item is marked superseded so
// that Get looks in the map before serving it.

const pendingShards = 64

type pendingTable struct {
	seed   maphash.Seed
	shards [pendingShards]pendingShard
	// n counts the items in the map, so that Get skips the lookup when
	// nothing is pending.
	n atomic.Int64
	// drains counts drain rounds that may have removed items, so that a
	// Get that missed in ristretto and then in the map can tell whether an
	// item moved from one to the other in between.
	drains  atomic.Uint64
	drainMu sync.Mutex // one drain round at a time
}

type pendingShard struct {
	mu     sync.RWMutex
	items  map[string]*item
	closed bool
}

func (p *pendingTable) init() {
	p.seed = maphash.MakeSeed()
	for i := range p.shards {
		p.shards[i].items = make(map[string]*item)
	}
}

func (p *pendingTable) shard(key string) *pendingShard {
	return &p.shards[maphash.String(p.seed, key)%pendingShards]
}

// get returns the newest item Set under key that ristretto may not have
// yet, or nil.
func (p *pendingTable) get(key string) *item {
	if p.n.Load() == 0 {
		return nil
	}
	sh := p.shard(key)
	sh.mu.RLock()
	it := sh.items[key]
	sh.mu.RUnlock()
	return it
}

// put makes it the key's item: handed to ristretto now, or deferred behind
// an older item that may still be in ristretto's buffer. It reports false
// if ristretto dropped it (buffer full) or the cache is closed.
func (p *pendingTable) put(c *Cache, it *item) bool {
	key := it.entry.Key
	sh := p.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return false
	}
	old := sh.items[key]
	switch {
	case old == nil:
		if !c.submit(it) {
			return false
		}
		p.n.Add(1)
	case old.submitted.Load():
		old.superseded.Store(true)
	default: // old was deferred: it never reached ristretto, and now never will
		old.superseded.Store(true)
		c.release(old)
	}
	sh.items[key] = it
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return true
}

// submit hands it to ristretto, with its pending shard's mutex held (so a
// Delete or another Set of the key cannot interleave).
func (c *Cache) submit(it *item) bool {
	if it.expired(time.Now()) {
		return false
	}
	// Counted, and waiting for its retention to end, before the
	// hand-over: once ristretto has the item, its OnExit may run at any
	// moment and undo both.
	it.submitted.Store(true)
	c.stats.entries.Add(1)
	c.stats.bytes.Add(it.cost)
	c.expiry.add(it)
	if c.store.Set(it.entry.Key, it, it.cost) {
		return true
	}
	it.submitted.Store(false) // dropped: ristretto never saw it
	c.stats.entries.Add(-1)
	c.stats.bytes.Add(-it.cost)
	c.expiry.remove(it)
	return false
}

// settle runs one drain round and, while items remain, asks for another,
// so the background loop can interleave its periodic work.
func (c *Cache) settle() {
	c.pending.drain(c)
	if c.pending.n.Load() > 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// drain is one round: items handed to ristretto before the round's Wait
// leave the map; deferred ones are handed over.
func (p *pendingTable) drain(c *Cache) {
	p.drainMu.Lock()
	defer p.drainMu.Unlock()
	var batch []*item
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.RLock()
		for _, it := range sh.items {
			batch = append(batch, it)
		}
		sh.mu.RUnlock()
	}
	if len(batch) == 0 {
		return
	}
	// Every snapshotted item that was submitted is now processed; every
	// deferred one was created after its predecessor was submitted, so its
	// predecessor is processed too and its own Set can take the
	// synchronous path.
	c.store.Wait()
	p.drains.Add(1) // before any removal
	for _, it := range batch {
		key := it.entry.Key
		sh := p.shard(key)
		sh.mu.Lock()
		if !sh.closed && sh.items[key] == it {
			switch {
			case it.submitted.Load():
				delete(sh.items, key)
				p.n.Add(-1)
			case c.submit(it):
				// stays until the next round has waited for it
			case it.expired(time.Now()):
				delete(sh.items, key)
				p.n.Add(-1)
				c.release(it)
			}
			// else ristretto's buffer was full: retried next round
		}
		sh.mu.Unlock()
	}
}

// delete removes key from the map and from ristretto.
func (p *pendingTable) delete(c *Cache, key string) {
	sh := p.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed {
		return
	}
	if it := sh.items[key]; it != nil {
		// It may still be in ristretto's buffer: ristretto applies the Del
		// below after it, but a Get in between must not serve it.
		it.dead.Store(true)
		delete(sh.items, key)
		p.n.Add(-1)
		if !it.submitted.Load() {
			c.release(it)
		}
	}
	c.store.Del(key)
}

// evict deletes a dead or expired item from ristretto, unless a newer Set
// of its key has replaced it or is under way (the shard's mutex keeps it
// from starting). It reports whether it deleted the item, and whether the
// item may still reach ristretto (queued, not processed yet): then the
// caller tries again later.
func (p *pendingTable) evict(c *Cache, it *item) (deleted, retry bool) {
	key := it.entry.Key
	sh := p.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cur := sh.items[key]; sh.closed || cur != nil && cur != it {
		return false, false
	}
	if cur, ok := c.store.Get(key); ok && cur == it {
		c.store.Del(key)
		return true, false
	}
	return false, sh.items[key] == it && it.submitted.Load()
}

// close empties the map and refuses further Sets and Deletes.
func (p *pendingTable) close(c *Cache) {
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		sh.closed = true
		for key, it := range sh.items {
			if !it.submitted.Load() {
				c.release(it)
			}
			delete(sh.items, key)
		}
		sh.mu.Unlock()
	}
	p.n.Store(0)
}
