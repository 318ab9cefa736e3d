package cache

import (
	"sync/atomic"
	"unsafe"
)

// Stats is a snapshot of the cache's counters.
type Stats struct {
	Hits   uint64 // Gets and Lookups that returned an entry
	Misses uint64 // Gets and Lookups that did not
	// SoftHits counts the Lookups that returned a soft-purged entry (also
	// counted in Hits); Get counts those entries as misses.
	SoftHits uint64
	Sets     uint64 // Sets that stored their entry
	// Fenced counts Sets refused because a purge or flush came after the
	// fill began (or a misused Fence).
	Fenced uint64
	// Dropped counts entries ristretto did not take: its buffer was full
	// at Set, or its admission policy rejected the entry.
	Dropped    uint64
	Purges     uint64 // calls to Purge
	SoftPurges uint64 // calls to Purge with Soft set (also counted in Purges)
	Flushes    uint64 // calls to Flush
	// Evictions counts entries ristretto removed for room or at the end of
	// their retention.
	Evictions uint64
	// Entries and Bytes are what the cache holds, including entries
	// invalidated but not yet swept (the sweep runs within a second or so
	// of a purge by rule or a flush).
	Entries int64
	Bytes   int64
	Rules   int // purge rules in force
	Objects int // objects with state: cached, or fenced by a purge by key
	Pending int // entries waiting for ristretto to admit them
}

// Stats returns the current counters. It takes locks; do not call it on
// the request path.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:       c.stats.hits.load(),
		Misses:     c.stats.misses.load(),
		SoftHits:   c.stats.softHits.Load(),
		Sets:       c.stats.sets.Load(),
		Fenced:     c.stats.fenced.Load(),
		Dropped:    c.stats.dropped.Load(),
		Purges:     c.stats.purges.Load(),
		SoftPurges: c.stats.softPurges.Load(),
		Flushes:    c.stats.flushes.Load(),
		Evictions:  c.stats.evicted.Load(),
		Entries:    c.stats.entries.Load(),
		Bytes:      c.stats.bytes.Load(),
		Rules:      len(c.rules.Load().rules),
		Objects:    c.objects.len(),
		Pending:    int(c.pending.n.Load()),
	}
}

type counters struct {
	hits, misses stripedCounter
	// softHits is rare (a revalidation follows each): one word will do.
	softHits, sets, fenced, dropped, purges, softPurges, flushes, evicted atomic.Uint64
	entries, bytes                                                        atomic.Int64
}

const (
	stripeBits     = 5
	counterStripes = 1 << stripeBits
)

// stripedCounter is a counter for the hit path. One atomic word incremented
// by every core turns each Get into a cache-line transfer; spreading the
// increments over padded cells keeps parallel hits independent.
type stripedCounter struct {
	cells [counterStripes]struct {
		n atomic.Uint64
		_ [120]byte // 128 bytes a cell: CPUs fetch cache lines in pairs
	}
}

func (s *stripedCounter) inc() { s.cells[goroutineStripe()].n.Add(1) }

func (s *stripedCounter) load() uint64 {
	var sum uint64
	for i := range s.cells {
		sum += s.cells[i].n.Load()
	}
	return sum
}

// goroutineStripe picks a cell from the address of a local variable: each
// goroutine runs on its own stack, so concurrent callers mostly land on
// different cells. It is a spreading hint, never an identity; any value is
// correct. The pointer is only read as a number, never dereferenced or kept.
func goroutineStripe() int {
	var marker byte
	p := uint64(uintptr(unsafe.Pointer(&marker)))
	return int((p >> 10) * 0x9e3779b97f4a7c15 >> (64 - stripeBits))
}
