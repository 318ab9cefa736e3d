package cache

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Kind is what a Selector matches.
type Kind uint8

// The kinds of purge. The zero Kind is invalid; Purge treats it, like any
// unknown kind, as All (soft if Selector.Soft), so that a malformed purge
// errs towards a miss.
const (
	// ByKey matches every variant of one object: Bucket and Value (the
	// object key) equal the entry's Bucket and Object.
	ByKey Kind = iota + 1
	// ByPrefix matches the objects of Bucket whose key starts with Value
	// (Value "" is the whole bucket; Bucket "" is every bucket).
	ByPrefix
	// ByTag matches entries carrying the tag Value.
	ByTag
	// ByHost matches entries filled for the site host Value.
	ByHost
	// All matches everything.
	All
)

func (k Kind) String() string {
	switch k {
	case ByKey:
		return "key"
	case ByPrefix:
		return "prefix"
	case ByTag:
		return "tag"
	case ByHost:
		return "host"
	case All:
		return "all"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Selector says which entries a purge invalidates.
type Selector struct {
	Kind Kind
	// Bucket is the bucket (or upstream id) for ByKey and ByPrefix. For
	// ByTag and ByHost it optionally narrows the match to one bucket.
	Bucket string
	// Value is the object key (ByKey), key prefix (ByPrefix), tag (ByTag) or
	// host (ByHost). Matching is exact, byte for byte.
	Value string
	// Generation, for ByKey, is the object's generation after the change
	// that caused the purge (origin events carry it). The purge then removes
	// entries of lower generations and refuses fills that read one; entries
	// at or above it stay. Without a generation (0) the purge removes every
	// entry of the object and refuses every fill that began before it.
	Generation int64
	// Soft marks the entries the purge matches as soft-purged instead of
	// invalidating them: Get misses them, Lookup returns them flagged, so
	// the edge can serve them stale while it revalidates. A fill that began
	// before a soft purge is stored, but soft-purged too.
	Soft bool
}

// matches reports whether the rule-based selector s covers e.
func (s *Selector) matches(e *Entry) bool {
	if s.Bucket != "" && s.Bucket != e.Bucket {
		return false
	}
	switch s.Kind {
	case ByPrefix:
		return strings.HasPrefix(e.Object, s.Value)
	case ByTag:
		return slices.Contains(e.Tags, s.Value)
	case ByHost:
		return e.Host == s.Value
	}
	return false
}

// Purges by prefix, tag and host are recorded as rules (bans, in Varnish's
// word) that Get checks entries against, rather than found through indexes
// and deleted:
//
//   - The purge costs O(1) whatever it matches. Deleting a bucket's million
//     entries one by one through ristretto would take a second, and indexes
//     by tag, host and a sorted structure of keys would cost memory and
//     locking on every Set and every eviction callback, which ristretto runs
//     on its single policy goroutine.
//   - Get stays O(1): each item remembers the last rule it was checked
//     against, so it is checked against each rule once; with no rule newer
//     than the item, the check is one atomic comparison. A background sweep
//     also checks every stored item after purges, deleting what they
//     matched (freeing the memory) and advancing the others.
//   - Correctness needs no callbacks: a rule applies to every entry whose
//     fill began before it, wherever the entry is (stored, in flight inside
//     ristretto, or in the admission map).
//
// Rules are kept for MaxRetention and at most maxRules at a time. Dropping
// a rule raises the set's floor: an item not checked since before the floor
// counts as purged, so forgetting a rule can cost a miss, never a stale hit.
// Purge by key does not use rules: it fences the object's state (fence.go).
//
// A soft rule marks the items it matches soft (a sticky flag), and soft All
// raises the set's softFloor, against which an item's begin sequence is
// compared, so it costs O(1) like All.

// maxRules bounds the rule list, and so the work of checking an item that
// has not been looked at for a long time.
const maxRules = 4096

type rule struct {
	Selector
	seq uint64    // purge sequence: applies to fills that began before it
	at  time.Time // when it was made, for expiry
}

// ruleSet is an immutable snapshot of the rules, swapped as a whole so that
// Get reads it with one atomic load and no lock.
type ruleSet struct {
	// epoch is the flush epoch: items of another epoch are misses.
	epoch uint64
	// floor: an item checked only up to a lower sequence counts as purged
	// (everything before it was purged, or a rule before it was forgotten).
	floor uint64
	// last is the highest sequence the set accounts for: an item checked
	// up to last needs no check.
	last uint64
	// softFloor is the sequence of the latest soft All: items whose fill
	// began before it are soft-purged. It only grows.
	softFloor uint64
	rules     []rule // ascending seq; appended to, never changed in place
}

// judge is the verdict of the rules newer than sequence since on e.
func (rs *ruleSet) judge(e *Entry, since uint64) verdict {
	v := valid
	for i := len(rs.rules) - 1; i >= 0 && rs.rules[i].seq > since; i-- {
		if r := &rs.rules[i]; r.matches(e) {
			if !r.Soft {
				return purged
			}
			v = softMarked // an older hard rule may still match
		}
	}
	return v
}

// Purge invalidates the entries s matches and fences the fills in flight
// that began before it: on return, no Get on this Cache returns such an
// entry and no such fill can be stored. Purges may be repeated and may
// arrive out of order.
//
// A soft purge (s.Soft) instead marks those entries soft-purged, and the
// entries of those fills when they are stored: Get misses them, Lookup
// returns them flagged. A later hard purge still removes them.
//
// It returns how many entries it invalidated (or marked): for ByKey, the
// number of entries (variants) the object has; for All, the number of
// entries; for ByPrefix, ByTag and ByHost an estimate from a sample of up
// to 512 entries, exact when the cache holds fewer.
func (c *Cache) Purge(s Selector) int {
	c.stats.purges.Add(1)
	if s.Soft {
		c.stats.softPurges.Add(1)
	}
	switch s.Kind {
	case ByKey:
		n := 0
		c.applyPurge(func(seq uint64, _ *ruleSet) {
			until := c.cfg.Now().Add(c.cfg.FenceRetention)
			n = c.objects.purge(objectID{s.Bucket, s.Value}, s.Generation, s.Soft, seq, until)
		})
		return n
	case ByPrefix, ByTag, ByHost:
		seq := c.applyPurge(func(seq uint64, old *ruleSet) {
			c.rules.Store(old.with(rule{s, seq, c.cfg.Now()}))
		})
		c.sweepWanted.Store(true)
		return c.estimate(&s, seq)
	default:
		if s.Soft {
			// Nothing for the sweep to delete, and Get checks no rule.
			c.applyPurge(func(seq uint64, old *ruleSet) {
				rs := *old
				rs.softFloor = seq
				c.rules.Store(&rs)
			})
		} else {
			c.applyPurge(func(seq uint64, old *ruleSet) {
				c.rules.Store(&ruleSet{epoch: old.epoch, floor: seq, last: seq, softFloor: old.softFloor})
			})
			c.sweepWanted.Store(true)
		}
		return int(max(c.stats.entries.Load(), 0))
	}
}

// applyPurge runs change with the next purge sequence and the current
// rules, then publishes the sequence, so that a Fence holding it began
// after the change. Purges are serialised: the rule list stays in
// sequence order.
func (c *Cache) applyPurge(change func(seq uint64, old *ruleSet)) uint64 {
	c.purgeMu.Lock()
	defer c.purgeMu.Unlock()
	seq := c.seq.Load() + 1
	change(seq, c.rules.Load())
	c.seq.Store(seq)
	return seq
}

// with returns the set plus r, dropping the oldest half of the rules when
// there are too many (raising the floor).
func (rs *ruleSet) with(r rule) *ruleSet {
	rules := append(rs.rules, r) // never overwrites what older sets see
	floor := rs.floor
	if len(rules) > maxRules {
		drop := len(rules) - maxRules/2
		floor = rules[drop-1].seq
		rules = slices.Clone(rules[drop:])
	}
	return &ruleSet{epoch: rs.epoch, floor: floor, last: r.seq, softFloor: rs.softFloor, rules: rules}
}

// Flush makes every entry stored so far a miss and refuses every fill begun
// before it, in O(1): it starts a new epoch. It is for when purges may have
// been lost (a gap in the bus's sequence, a reconnect). Memory is reclaimed
// by the background sweep.
func (c *Cache) Flush() {
	c.applyPurge(func(seq uint64, old *ruleSet) {
		c.rules.Store(&ruleSet{epoch: old.epoch + 1, floor: seq, last: seq, softFloor: old.softFloor})
	})
	c.stats.flushes.Add(1)
	c.sweepWanted.Store(true)
}

// Epoch is the current flush epoch; Flush increments it.
func (c *Cache) Epoch() uint64 { return c.rules.Load().epoch }

// expireRules forgets rules older than MaxRetention, raising the floor.
func (c *Cache) expireRules(now time.Time) {
	c.purgeMu.Lock()
	defer c.purgeMu.Unlock()
	old := c.rules.Load()
	cut := now.Add(-c.cfg.MaxRetention)
	i := 0
	for i < len(old.rules) && old.rules[i].at.Before(cut) {
		i++
	}
	if i == 0 {
		return
	}
	c.rules.Store(&ruleSet{
		epoch:     old.epoch,
		floor:     max(old.floor, old.rules[i-1].seq),
		last:      old.last,
		softFloor: old.softFloor,
		rules:     slices.Clone(old.rules[i:]),
	})
}

const estimateSample = 512

// estimate counts the stored entries a rule made at sequence seq matched,
// from a sample when the cache is large. ristretto shards by key hash and
// iterates shard by shard, so the first entries it yields are a uniform
// sample of the keys.
func (c *Cache) estimate(s *Selector, seq uint64) int {
	seen, hit := 0, 0
	c.store.IterValues(func(it *item) bool {
		seen++
		if it.seq < seq && !it.dead.Load() && s.matches(it.entry) {
			hit++
		}
		return seen >= estimateSample
	})
	if seen < estimateSample {
		return hit
	}
	return int(float64(hit) / float64(seen) * float64(c.stats.entries.Load()))
}
