package cache

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// objectID names one origin object; all cached variants of it (queries,
// Vary values, hosts) share it.
type objectID struct{ bucket, object string }

// objectState is what the cache knows about one object: the fences its
// purges left and how many items point at it. Every item holds a pointer to
// its object's state, so Get learns of a purge by key with two atomic loads
// instead of a map lookup, and purging an object costs one map lookup
// however many variants it has.
type objectState struct {
	// minGen: entries with a lower Generation are purged, and fills that
	// read a lower generation are refused. It only grows, which is what
	// makes duplicate and reordered purges harmless.
	minGen atomic.Int64
	// purgedSeq is the sequence of the latest purge that carried no
	// generation: entries whose fill began before it are purged.
	purgedSeq atomic.Uint64
	// softGen and softSeq are the same fences for soft purges: the entries
	// they cover are soft-purged. Fills are not refused: Lookup compares
	// each item's generation and begin sequence with them.
	softGen atomic.Int64
	softSeq atomic.Uint64
	// retired is set when the state leaves the table. An item still holding
	// it could not learn of later purges, so Get treats it as purged. (Items
	// are counted in refs, so this is a safety net, not a path.)
	retired atomic.Bool

	// Guarded by the shard's mutex.
	refs       int       // items created with this state and not yet released
	lastPurge  uint64    // sequence of the latest purge of the object
	fenceUntil time.Time // when the fence may be forgotten (Config.FenceRetention after the purge)
	queued     bool      // in the shard's expiry queue
}

const objectShards = 64

type objectShard struct {
	mu     sync.Mutex
	states map[objectID]*objectState
	// expiry lists fenced states by the time their fence may be forgotten.
	// The retention is fixed, so appending keeps it (nearly) in order.
	expiry []fenceExpiry
}

type fenceExpiry struct {
	id    objectID
	until time.Time
}

// objectTable holds the states of the objects that are cached or fenced.
// Memory is bounded: a state goes when nothing points at it and its fence,
// if any, has expired.
type objectTable struct {
	seed   maphash.Seed
	shards [objectShards]objectShard
	// floor is the latest purge sequence among forgotten fences: a fill
	// that began before it might have been fenced, so it is refused.
	floor atomic.Uint64
}

func (t *objectTable) init() {
	t.seed = maphash.MakeSeed()
	for i := range t.shards {
		t.shards[i].states = make(map[objectID]*objectState)
	}
}

func (t *objectTable) shard(id objectID) *objectShard {
	return &t.shards[maphash.String(t.seed, id.object)%objectShards]
}

// acquire returns the state an item of e's object must point at, counting
// the new reference, unless the object's fences refuse a fill of e that
// began at purge sequence began.
func (t *objectTable) acquire(e *Entry, began uint64) (*objectState, bool) {
	id := objectID{e.Bucket, e.Object}
	sh := t.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.states[id]
	if st == nil {
		st = &objectState{}
		sh.states[id] = st
	}
	if e.Generation < st.minGen.Load() || began < st.purgedSeq.Load() || began < t.floor.Load() {
		sh.forgetIfUnused(id, st, t)
		return nil, false
	}
	st.refs++
	return st, true
}

// release drops a reference taken by acquire.
func (t *objectTable) release(id objectID, st *objectState) {
	sh := t.shard(id)
	sh.mu.Lock()
	st.refs--
	sh.forgetIfUnused(id, st, t)
	sh.mu.Unlock()
}

// forgetIfUnused removes a state that no item points at and no fence needs.
// Called with sh.mu held.
func (sh *objectShard) forgetIfUnused(id objectID, st *objectState, t *objectTable) {
	if st.refs > 0 || st.queued || sh.states[id] != st {
		return
	}
	delete(sh.states, id)
	st.retired.Store(true)
	raise(&t.floor, st.lastPurge)
}

// purge records a purge of one object at sequence seq and returns how many
// items point at the object (an upper bound of the entries it removed).
// gen > 0 fences by generation; gen == 0 fences by sequence. A soft purge
// sets the soft fences instead.
func (t *objectTable) purge(id objectID, gen int64, soft bool, seq uint64, until time.Time) int {
	sh := t.shard(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st := sh.states[id]
	if st == nil {
		st = &objectState{}
		sh.states[id] = st
	}
	switch {
	case soft && gen > 0:
		if gen > st.softGen.Load() {
			st.softGen.Store(gen)
		}
	case soft:
		st.softSeq.Store(seq)
	case gen > 0:
		if gen > st.minGen.Load() {
			st.minGen.Store(gen)
		}
	default:
		st.purgedSeq.Store(seq)
	}
	// Soft purges too: once the state is forgotten, the table's floor
	// refuses the fills that began before them.
	st.lastPurge = seq
	st.fenceUntil = until
	if !st.queued {
		st.queued = true
		sh.expiry = append(sh.expiry, fenceExpiry{id, until})
	}
	return st.refs
}

// expire forgets fences older than their retention.
func (t *objectTable) expire(now time.Time) {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for len(sh.expiry) > 0 && !sh.expiry[0].until.After(now) {
			x := sh.expiry[0]
			sh.expiry = sh.expiry[1:]
			st := sh.states[x.id]
			if st == nil {
				continue
			}
			if st.fenceUntil.After(now) { // purged again since it was queued
				sh.expiry = append(sh.expiry, fenceExpiry{x.id, st.fenceUntil})
				continue
			}
			st.queued = false
			sh.forgetIfUnused(x.id, st, t)
		}
		if len(sh.expiry) == 0 {
			sh.expiry = nil // let the drained backing array go
		}
		sh.mu.Unlock()
	}
}

// len is the number of objects with state (cached or fenced).
func (t *objectTable) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.states)
		sh.mu.Unlock()
	}
	return n
}

// raise sets v to x if x is larger.
func raise(v *atomic.Uint64, x uint64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}
