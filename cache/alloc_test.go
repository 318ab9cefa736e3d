//go:build !race

package cache

import "testing"

// The hit path must not allocate. (ristretto's Get amortises one small
// allocation per BufferItems calls, for its access ring, which
// testing.AllocsPerRun rounds away; this package adds none.)
func TestGetAllocatesNothing(t *testing.T) {
	c := newTestCache(t, Config{})
	fill(c, newEntry("settled", "b", "o1", 1))
	settle(c)
	fill(c, newEntry("pending", "b", "o2", 1))
	fill(c, newEntry("checked", "b", "o3", 1))
	fill(c, newEntry("soft", "b", "soft/o4", 1))
	c.Purge(Selector{Kind: ByTag, Value: "nothing"}) // the next Get of "checked" walks the rule
	c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "soft/", Soft: true})
	if _, soft, ok := c.Lookup("soft"); !ok || !soft {
		t.Fatalf("Lookup(soft) = %v, %v; want a soft-purged hit", soft, ok)
	}

	tests := []struct {
		name string
		f    func()
	}{
		{"Get present", func() { c.Get("settled") }},
		{"Get pending", func() { c.Get("pending") }},
		{"Get after a purge rule", func() { c.Get("checked") }},
		{"Get absent", func() { c.Get("absent") }},
		{"Get soft-purged", func() { c.Get("soft") }},
		{"Lookup present", func() { c.Lookup("settled") }},
		{"Lookup pending", func() { c.Lookup("pending") }},
		{"Lookup soft-purged", func() { c.Lookup("soft") }},
		{"Begin", func() { c.Begin("b", "o1") }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(1000, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
}
