package cache

import (
	"sync/atomic"
	"unsafe"
)

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
		_ [56]byte // one cell per 64-byte cache line
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
