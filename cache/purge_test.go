package cache

import (
	"fmt"
	"testing"
	"time"
)

// placements are where an entry is when a purge comes: still in the
// admission map, in ristretto, or in ristretto and served (from the front
// table, its object's fences found clear by an earlier purge's sequence,
// so that the purge under test is what makes Get read them again).
var placements = []placement{{"pending", false, false}, {"settled", true, false}, {"served", true, true}}

type placement struct {
	name   string
	settle bool
	served bool
}

// place puts the entries where p says.
func place(t *testing.T, c *Cache, p placement, entries ...*Entry) {
	t.Helper()
	if p.settle {
		settle(c)
	}
	if !p.served {
		return
	}
	// A purge of nothing here, so that the Gets below find the fences
	// clear at a sequence above zero and record it (item.unfenced).
	c.Purge(Selector{Kind: ByKey, Bucket: "unrelated", Value: "nothing"})
	for _, e := range entries {
		warmFront(t, c, e.Key)
	}
}

func TestPurgeByKeyWithGeneration(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			c := newTestCache(t, Config{})
			old := newEntry("site/photos/cat.jpg", "photos", "cat.jpg", 3)
			other := newEntry("site/photos/dog.jpg", "photos", "dog.jpg", 3)
			fill(c, old)
			fill(c, other)
			// Fills that begin before the purge, as a slow origin read would.
			slowOld := c.Begin("photos", "cat.jpg")
			slowNew := c.Begin("photos", "cat.jpg")
			place(t, c, p, old, other)

			if n := c.Purge(Selector{Kind: ByKey, Bucket: "photos", Value: "cat.jpg", Generation: 5}); n != 1 {
				t.Errorf("Purge = %d, want 1", n)
			}
			if _, ok := c.Get(old.Key); ok {
				t.Error("entry of generation 3 still served after a purge at generation 5")
			}
			if got, _ := c.Get(other.Key); got != other {
				t.Error("another object's entry was purged")
			}
			if c.Set(slowOld, newEntry(old.Key, "photos", "cat.jpg", 3)) {
				t.Error("fill begun before the purge with generation 3 was stored")
			}
			fresh := newEntry(old.Key, "photos", "cat.jpg", 5)
			if !c.Set(slowNew, fresh) {
				t.Error("fill with generation 5 (>= fence) was refused")
			}
			if got, _ := c.Get(old.Key); got != fresh {
				t.Errorf("Get = %v, want the generation 5 entry", got)
			}
		})
	}
}

func TestPurgeByKeyDuplicateAndReordered(t *testing.T) {
	c := newTestCache(t, Config{})
	sel := Selector{Kind: ByKey, Bucket: "b", Value: "o"}
	for _, gen := range []int64{5, 5, 3, 1} {
		sel.Generation = gen
		c.Purge(sel)
	}
	if c.Set(c.Begin("b", "o"), newEntry("k", "b", "o", 4)) {
		t.Error("generation 4 stored after purges at 5, 5, 3, 1: the fence went down")
	}
	e := newEntry("k", "b", "o", 5)
	if !c.Set(c.Begin("b", "o"), e) {
		t.Fatal("generation 5 refused")
	}
	// A late duplicate of an old purge does not remove a newer entry.
	sel.Generation = 3
	c.Purge(sel)
	if got, _ := c.Get("k"); got != e {
		t.Errorf("late purge at generation 3 removed the generation 5 entry")
	}
}

func TestPurgeByKeyWithoutGeneration(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			c := newTestCache(t, Config{})
			// Two variants of one object (query, Vary) and another object.
			a := newEntry("site/b/o?w=100", "b", "o", 7)
			v := newEntry("site/b/o?w=200", "b", "o", 7)
			other := newEntry("site/b/o2", "b", "o2", 7)
			for _, e := range []*Entry{a, v, other} {
				fill(c, e)
			}
			before := c.Begin("b", "o")
			place(t, c, p, a, v, other)
			if n := c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "o"}); n != 2 {
				t.Errorf("Purge = %d, want 2 variants", n)
			}
			for _, e := range []*Entry{a, v} {
				if _, ok := c.Get(e.Key); ok {
					t.Errorf("variant %s served after its purge", e.Key)
				}
			}
			if _, ok := c.Get(other.Key); !ok {
				t.Error("another object was purged")
			}
			if c.Set(before, newEntry(a.Key, "b", "o", 99)) {
				t.Error("fill begun before an unversioned purge was stored")
			}
			if !fill(c, newEntry(a.Key, "b", "o", 7)) {
				t.Error("fill begun after the purge was refused")
			}
		})
	}
}

func TestPurgeByKeyRemovesNegativeEntry(t *testing.T) {
	c := newTestCache(t, Config{})
	// A 404 read when the store's sequence was 40; the object is then
	// written at generation 42, whose event purges at 42.
	notFound := &Entry{
		Key: "site/b/new.txt", Bucket: "b", Object: "new.txt", Status: 404, Negative: true,
		Generation: 40, StoredAt: t0, FreshFor: time.Minute,
	}
	fill(c, notFound)
	slow404 := c.Begin("b", "new.txt")
	c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "new.txt", Generation: 42})
	if _, ok := c.Get(notFound.Key); ok {
		t.Error("negative entry served after the object was written")
	}
	late := *notFound
	late.Generation = 41
	if c.Set(slow404, &late) {
		t.Error("404 read at sequence 41 stored after the write at 42")
	}
	created := newEntry(notFound.Key, "b", "new.txt", 42)
	if !c.Set(slow404, created) {
		t.Error("fill that read generation 42 was refused")
	}
}

func TestPurgeRules(t *testing.T) {
	newEntries := func() []*Entry {
		es := []*Entry{
			{Key: "a.com/img/1.png", Bucket: "site-a", Object: "img/1.png", Host: "a.com", Tags: []string{"img", "all"}},
			{Key: "a.com/img/2.png", Bucket: "site-a", Object: "img/2.png", Host: "a.com", Tags: []string{"img"}},
			{Key: "a.com/js/app.js", Bucket: "site-a", Object: "js/app.js", Host: "a.com", Tags: []string{"js", "all"}},
			{Key: "b.com/img/1.png", Bucket: "site-b", Object: "img/1.png", Host: "b.com", Tags: []string{"img"}},
			{Key: "www.b.com/img/3.png", Bucket: "site-b", Object: "img/3.png", Host: "www.b.com"},
		}
		for _, e := range es {
			e.StoredAt, e.FreshFor = t0, time.Hour
		}
		return es
	}
	tests := []struct {
		sel  Selector
		gone []string // keys the purge matches; the rest must stay
	}{
		{Selector{Kind: ByPrefix, Bucket: "site-a", Value: "img/"}, []string{"a.com/img/1.png", "a.com/img/2.png"}},
		{Selector{Kind: ByPrefix, Bucket: "site-a", Value: ""}, []string{"a.com/img/1.png", "a.com/img/2.png", "a.com/js/app.js"}},
		{Selector{Kind: ByPrefix, Value: "img/1"}, []string{"a.com/img/1.png", "b.com/img/1.png"}},
		{Selector{Kind: ByPrefix, Bucket: "site-a", Value: "img/1.png/"}, nil},
		{Selector{Kind: ByTag, Value: "img"}, []string{"a.com/img/1.png", "a.com/img/2.png", "b.com/img/1.png"}},
		{Selector{Kind: ByTag, Bucket: "site-b", Value: "img"}, []string{"b.com/img/1.png"}},
		{Selector{Kind: ByTag, Value: "al"}, nil},
		{Selector{Kind: ByHost, Value: "b.com"}, []string{"b.com/img/1.png"}},
		{Selector{Kind: All}, []string{"a.com/img/1.png", "a.com/img/2.png", "a.com/js/app.js", "b.com/img/1.png", "www.b.com/img/3.png"}},
		{Selector{}, []string{"a.com/img/1.png", "a.com/img/2.png", "a.com/js/app.js", "b.com/img/1.png", "www.b.com/img/3.png"}},
	}
	for _, p := range placements {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s %s %s", p.name, tt.sel.Kind, tt.sel.Bucket, tt.sel.Value), func(t *testing.T) {
				c := newTestCache(t, Config{})
				entries := newEntries()
				fences := map[string]Fence{}
				for _, e := range entries {
					if !fill(c, e) {
						t.Fatalf("Set(%s) = false", e.Key)
					}
					fences[e.Key] = c.Begin(e.Bucket, e.Object)
				}
				place(t, c, p, entries...)
				// The count of a rule-based purge comes from ristretto (exact
				// when small); entries not admitted yet are not counted.
				if n := c.Purge(tt.sel); p.settle && n != len(tt.gone) {
					t.Errorf("Purge = %d, want %d", n, len(tt.gone))
				}
				gone := map[string]bool{}
				for _, k := range tt.gone {
					gone[k] = true
				}
				for _, e := range entries {
					got, ok := c.Get(e.Key)
					if gone[e.Key] && ok {
						t.Errorf("%s served after the purge", e.Key)
					}
					if !gone[e.Key] && got != e {
						t.Errorf("%s not served after a purge that does not match it", e.Key)
					}
					// A fill begun before the purge is refused if the purge
					// covers it; one begun after is stored.
					refill := *e
					if stored := c.Set(fences[e.Key], &refill); stored == gone[e.Key] {
						t.Errorf("refill of %s begun before the purge: stored = %v", e.Key, stored)
					}
					after := *e
					if !fill(c, &after) {
						t.Errorf("refill of %s begun after the purge was refused", e.Key)
					}
					if got, _ := c.Get(e.Key); got != &after {
						t.Errorf("Get(%s) after the refill = %p, want %p", e.Key, got, &after)
					}
				}
			})
		}
	}
}

func TestFlush(t *testing.T) {
	for _, p := range placements {
		t.Run(p.name, func(t *testing.T) {
			c := newTestCache(t, Config{})
			e := newEntry("k", "b", "o", 1)
			fill(c, e)
			slow := c.Begin("b", "o2")
			place(t, c, p, e)
			epoch := c.Epoch()
			c.Flush()
			if c.Epoch() != epoch+1 {
				t.Errorf("Epoch after Flush = %d, want %d", c.Epoch(), epoch+1)
			}
			if _, ok := c.Get("k"); ok {
				t.Error("entry from before the flush served")
			}
			if c.Set(slow, newEntry("k2", "b", "o2", 1)) {
				t.Error("fill begun before the flush was stored")
			}
			e2 := newEntry("k", "b", "o", 1)
			if !fill(c, e2) {
				t.Fatal("fill begun after the flush was refused")
			}
			if got, _ := c.Get("k"); got != e2 {
				t.Error("entry stored after the flush not served")
			}
		})
	}
}

func TestSweepFreesPurgedEntries(t *testing.T) {
	c := newTestCache(t, Config{})
	for i := range 100 {
		dir := "keep"
		if i%2 == 0 {
			dir = "drop"
		}
		fill(c, newEntry(fmt.Sprintf("k%d", i), "b", fmt.Sprintf("%s/%d", dir, i), 1))
	}
	settle(c)
	if n := c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "drop/"}); n != 50 {
		t.Errorf("Purge = %d, want 50", n)
	}
	c.sweep()
	c.store.Wait()
	if st := c.Stats(); st.Entries != 50 || st.Objects != 50 {
		t.Errorf("after the sweep: Entries = %d, Objects = %d; want 50, 50", st.Entries, st.Objects)
	}
	c.Flush()
	c.sweep()
	c.store.Wait()
	if st := c.Stats(); st.Entries != 0 || st.Objects != 0 || st.Bytes != 0 {
		t.Errorf("after a flush and a sweep: Entries = %d, Objects = %d, Bytes = %d; want 0", st.Entries, st.Objects, st.Bytes)
	}
}

func TestFencesExpire(t *testing.T) {
	clk := &clock{now: t0}
	c := newTestCache(t, Config{Now: clk.Now, FenceRetention: time.Hour})
	ancient := c.Begin("b", "o")
	c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "o", Generation: 5})
	c.objects.expire(clk.Now())
	if st := c.Stats(); st.Objects != 1 {
		t.Fatalf("Objects after a purge = %d, want 1 (the fence)", st.Objects)
	}
	clk.Advance(time.Hour + time.Second)
	c.objects.expire(clk.Now())
	if st := c.Stats(); st.Objects != 0 {
		t.Errorf("Objects after FenceRetention = %d, want 0", st.Objects)
	}
	// The fence is gone: a new fill of any generation is stored, but a fill
	// older than the forgotten purge is still refused.
	if !fill(c, newEntry("k", "b", "o", 1)) {
		t.Error("fill after the fence expired was refused")
	}
	if c.Set(ancient, newEntry("k", "b", "o", 9)) {
		t.Error("fill begun before a forgotten purge was stored")
	}
}

func TestFencedObjectWithEntriesOutlivesItsFence(t *testing.T) {
	clk := &clock{now: t0}
	c := newTestCache(t, Config{Now: clk.Now, FenceRetention: time.Hour})
	e := newEntry("k", "b", "o", 5)
	c.Purge(Selector{Kind: ByKey, Bucket: "b", Value: "o", Generation: 5})
	fill(c, e)
	clk.Advance(2 * time.Hour)
	c.objects.expire(clk.Now())
	if got, _ := c.Get("k"); got != e {
		t.Error("entry lost when its object's fence expired")
	}
	c.Delete("k")
	settle(c)
	if st := c.Stats(); st.Objects != 0 {
		t.Errorf("Objects after the last entry went = %d, want 0", st.Objects)
	}
}

func TestRulesExpireConservatively(t *testing.T) {
	clk := &clock{now: t0}
	c := newTestCache(t, Config{Now: clk.Now, MaxRetention: time.Hour})
	c.stopBackground() // its sweep would check the entries this test leaves unchecked
	looked := newEntry("looked-at", "b", "a/1", 1)
	idle := newEntry("idle", "b", "a/2", 1)
	fill(c, looked)
	fill(c, idle)
	c.Purge(Selector{Kind: ByPrefix, Bucket: "b", Value: "z/"})
	c.Get("looked-at") // checked against the rule
	clk.Advance(time.Hour + time.Second)
	c.expireRules(clk.Now())
	if st := c.Stats(); st.Rules != 0 {
		t.Fatalf("Rules after MaxRetention = %d, want 0", st.Rules)
	}
	if _, ok := c.Get("looked-at"); !ok {
		t.Error("entry checked against the forgotten rule became a miss")
	}
	// The idle entry was not checked against the rule, which is gone: it
	// cannot be judged, so it is a miss (never a stale hit).
	if _, ok := c.Get("idle"); ok {
		t.Error("entry never checked against a forgotten rule is still served")
	}
}

func TestRulesAreBounded(t *testing.T) {
	c := newTestCache(t, Config{})
	c.stopBackground() // its sweep would check the entries this test leaves unchecked
	e := newEntry("k", "b", "keep/1", 1)
	fill(c, e)
	for i := range maxRules + 10 {
		c.Purge(Selector{Kind: ByTag, Value: fmt.Sprint("t", i)})
		if i == 10 {
			c.Get("k")
		}
	}
	if st := c.Stats(); st.Rules > maxRules {
		t.Errorf("Rules = %d, want at most %d", st.Rules, maxRules)
	}
	if _, ok := c.Get("k"); ok {
		t.Error("entry last checked before dropped rules still served")
	}
	e2 := newEntry("k", "b", "keep/1", 1)
	fill(c, e2)
	if got, _ := c.Get("k"); got != e2 {
		t.Error("entry stored after the rules were trimmed not served")
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{ByKey: "key", ByPrefix: "prefix", ByTag: "tag", ByHost: "host", All: "all", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
