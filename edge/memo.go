package edge

import (
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// memo is what the edge remembers per cache key beside the cache (the
// Vary names of a URI, the objects too big to cache). Its keys come from
// requests, so it holds at most a fixed number of entries: when a shard is
// full, an insert evicts the least recently used of entries sampled at
// random (an approximated LRU). A scan of unique URLs then pushes out
// what it does not touch while the keys in use stay. Forgetting is always
// safe: it costs one more fill or one more buffered try.
//
// Reads take a shard's read lock and no write but a recency stamp, so the
// hit path, which asks the memo of every request, does not serialise.
type memo[V any] struct {
	seed     maphash.Seed
	perShard int
	shards   [memoShards]memoShard[V]
}

const (
	memoShards = 64
	// memoSamples are the entries an eviction compares.
	memoSamples = 32
)

type memoShard[V any] struct {
	mu    sync.RWMutex
	index map[string]int // key → its place in items
	items []memoItem[V]
	// clock counts the shard's inserts: an item's used is the clock when
	// it was last read or written, a recency that needs no time source.
	clock atomic.Int64
	_     [64]byte // keeps shards' locks off each other's cache lines
}

type memoItem[V any] struct {
	key  string
	v    V
	used atomic.Int64 // written under the read lock, hence atomic
}

// newMemo holds up to about capacity entries (at least one per shard).
func newMemo[V any](capacity int) *memo[V] {
	m := &memo[V]{seed: maphash.MakeSeed(), perShard: max(1, (capacity+memoShards-1)/memoShards)}
	for i := range m.shards {
		m.shards[i].index = make(map[string]int)
	}
	return m
}

func (m *memo[V]) shard(key string) *memoShard[V] {
	return &m.shards[maphash.String(m.seed, key)%memoShards]
}

// get returns key's value and marks it used.
func (m *memo[V]) get(key string) (v V, ok bool) {
	s := m.shard(key)
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.index[key]
	if !ok {
		return v, false
	}
	it := &s.items[i]
	if now := s.clock.Load(); it.used.Load() != now {
		it.used.Store(now)
	}
	return it.v, true
}

// set stores key's value, evicting a sampled least recently used entry
// when the shard is full.
func (m *memo[V]) set(key string, v V) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Add(1)
	if i, ok := s.index[key]; ok {
		s.items[i].v = v
		s.items[i].used.Store(now)
		return
	}
	if len(s.items) >= m.perShard {
		s.remove(s.leastRecentlyUsed())
	}
	s.index[key] = len(s.items)
	s.items = append(s.items, memoItem[V]{key: key, v: v})
	s.items[len(s.items)-1].used.Store(now)
}

// leastRecentlyUsed is the oldest item of the shard, or of memoSamples
// drawn at random from a larger one: a key used since k inserts is then
// evicted with odds (k/n)^memoSamples, nil for the keys in use.
func (s *memoShard[V]) leastRecentlyUsed() int {
	n, victim := len(s.items), 0
	pick := func(i int) {
		if s.items[i].used.Load() < s.items[victim].used.Load() {
			victim = i
		}
	}
	if n <= memoSamples {
		for i := 1; i < n; i++ {
			pick(i)
		}
		return victim
	}
	victim = rand.IntN(n)
	for range memoSamples - 1 {
		pick(rand.IntN(n))
	}
	return victim
}

// remove deletes item i, moving the last item into its place.
func (s *memoShard[V]) remove(i int) {
	delete(s.index, s.items[i].key)
	last := len(s.items) - 1
	if i != last {
		s.items[i].key, s.items[i].v = s.items[last].key, s.items[last].v
		s.items[i].used.Store(s.items[last].used.Load())
		s.index[s.items[i].key] = i
	}
	s.items[last] = memoItem[V]{} // let the key and value be collected
	s.items = s.items[:last]
}

// deleteIf forgets key if its value is stale: an expired value is dropped
// unless a set replaced it meanwhile.
func (m *memo[V]) deleteIf(key string, stale func(V) bool) {
	s := m.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[key]; ok && stale(s.items[i].v) {
		s.remove(i)
	}
}

// len is the number of entries held.
func (m *memo[V]) len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		n += len(s.items)
		s.mu.RUnlock()
	}
	return n
}
