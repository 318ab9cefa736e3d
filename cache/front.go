package cache

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// The front table spares a hit ristretto's Get. That Get hashes the key
// twice, takes a shard lock and hands the key to the admission policy,
// whose goroutine then updates a Bloom filter and four counters: about
// half of a hit's cost in the cache when the hot set is out of the CPU's
// caches. The front is a direct-mapped array of the items hits found, one
// slot per key hash, read with one atomic load.
//
// A slot's item is served only while it is what ristretto holds for its
// key, which the item itself tells: ristretto calls OnExit (release) for
// every value it replaces, deletes, evicts or rejects before the Set or
// Del that caused it returns, and a Set that queues a newer item behind it
// marks it superseded first. So a Get that starts after a Set returned
// never takes the older item from the front, and every item is judged
// against purges as one from ristretto is. release also empties the slot,
// so the front keeps nothing alive that ristretto dropped.
//
// One hit in frontSample still goes through ristretto, so that its
// admission policy keeps counting what is hot: it sees every key's hits
// at the same rate, so their order is kept.

const (
	frontSample  = 8
	minFrontSize = 1 << 10
	maxFrontSize = 1 << 22 // 32 MiB of pointers
)

type frontTable struct {
	seed  maphash.Seed
	slots []atomic.Pointer[item]
	mask  uint64
}

// init sizes the table for about entries items: the next power of two,
// within bounds.
func (f *frontTable) init(entries int64) {
	n := minFrontSize
	for int64(n) < entries && n < maxFrontSize {
		n <<= 1
	}
	f.seed = maphash.MakeSeed()
	f.slots = make([]atomic.Pointer[item], n)
	f.mask = uint64(n - 1)
}

// index is the slot of key.
func (f *frontTable) index(key string) uint64 {
	return maphash.String(f.seed, key) & f.mask
}

// get returns the item in key's slot if it is key's and still ristretto's
// (not released, nor superseded by a newer Set), except for the sample of
// hits that go through ristretto.
func (f *frontTable) get(key string) *item {
	it := f.slots[f.index(key)].Load()
	if it == nil || it.key != key || it.superseded.Load() || it.released.Load() {
		return nil
	}
	if rand.Uint32()%frontSample == 0 {
		return nil
	}
	return it
}

// remember puts it, just found in ristretto, in its slot. If it left
// ristretto meanwhile, its release may have missed the slot: empty it.
func (f *frontTable) remember(it *item) {
	s := &f.slots[it.front]
	if s.Load() == it {
		return // no write: the slot's cache line stays shared
	}
	s.Store(it)
	if it.released.Load() {
		s.CompareAndSwap(it, nil)
	}
}

// forget empties its slot if it holds it. Called after it was released.
func (f *frontTable) forget(it *item) {
	f.slots[it.front].CompareAndSwap(it, nil)
}

// clear empties every slot.
func (f *frontTable) clear() {
	for i := range f.slots {
		f.slots[i].Store(nil)
	}
}
