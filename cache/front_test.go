package cache

import (
	"fmt"
	"testing"
)

// warmFront makes key's item the front's: Gets until one goes through
// ristretto (a sampled hit) and leaves it in its slot.
func warmFront(t *testing.T, c *Cache, key string) {
	t.Helper()
	for range 1000 {
		if _, ok := c.Get(key); !ok {
			t.Fatalf("Get(%s) missed", key)
		}
		if it := c.front.slots[c.front.index(key)].Load(); it != nil && it.entry.Key == key {
			return
		}
	}
	t.Fatalf("%s never reached the front table", key)
}

// TestFrontServesTheNewestSet: an entry served from the front table gives
// way to the next Set of its key at once, whether ristretto replaces it in
// place (settled: admitted and out of the admission map) or the newer
// entry waits in the admission map behind it (admitted, not yet settled).
func TestFrontServesTheNewestSet(t *testing.T) {
	c := newTestCache(t, Config{})
	for i := range 50 {
		key := fmt.Sprint("k", i)
		old := newEntry(key, "b", key, 1)
		if !fill(c, old) {
			t.Fatal("Set refused")
		}
		settled := i%2 == 0
		if settled {
			settle(c)
		} else {
			c.store.Wait()
		}
		warmFront(t, c, key)
		newer := newEntry(key, "b", key, 2)
		if !fill(c, newer) {
			t.Fatal("Set refused")
		}
		for range 20 { // past the sampling: most of these would take the front
			if got, ok := c.Get(key); got != newer {
				t.Fatalf("%s (settled %v): Get after the second Set = %+v (found %v), want gen 2", key, settled, got, ok)
			}
		}
	}
}

// TestFrontForgetsWhatRistrettoDropped: Delete and eviction take items out
// of the front table too, so it serves none of them and keeps none alive.
func TestFrontForgetsWhatRistrettoDropped(t *testing.T) {
	c := newTestCache(t, Config{MaxBytes: 256 << 10})
	e := newEntry("deleted", "b", "deleted", 1)
	fill(c, e)
	settle(c)
	warmFront(t, c, "deleted")
	c.Delete("deleted")
	for range 20 {
		if got, ok := c.Get("deleted"); ok {
			t.Fatalf("Get after Delete = %p, want a miss", got)
		}
	}

	body := make([]byte, 1024)
	for batch := range 20 { // eight times the budget
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = fmt.Sprint("e", batch, "-", i)
			e := newEntry(keys[i], "b", keys[i], 1)
			e.Body = body
			fill(c, e)
		}
		settle(c)
		for _, key := range keys {
			c.Get(key) // from ristretto into the front, if it was admitted
		}
	}
	settle(c)
	if c.Stats().Evictions == 0 {
		t.Fatal("nothing was evicted: the test exercised nothing")
	}
	held := 0
	for i := range c.front.slots {
		if it := c.front.slots[i].Load(); it != nil {
			held++
			if it.released.Load() {
				t.Fatalf("slot %d keeps %s, which ristretto dropped", i, it.entry.Key)
			}
		}
	}
	if held == 0 {
		t.Error("the front table holds nothing after thousands of hits")
	}

	c.Close()
	for i := range c.front.slots {
		if c.front.slots[i].Load() != nil {
			t.Fatalf("slot %d still holds an item after Close", i)
		}
	}
}
