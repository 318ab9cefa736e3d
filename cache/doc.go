// Package cache is the edge's in-memory cache: immutable entries (cost:
// bytes) in a ristretto store, looked up by key, invalidated by key,
// prefix, tag, host or everything, with the fill fences of the
// invalidation protocol (ARCHITECTURE.md, at the repository root). It
// knows nothing of HTTP servers or Redis.
//
// # Model
//
// A fill calls Begin before its origin request and Set with the Fence it
// got and the response as an *Entry. Every Purge and Flush takes the next
// number of a purge sequence; a Fence remembers the sequence and the flush
// epoch at Begin, so Set can tell whether a purge covering the entry, or a
// flush, was applied while the fill was in flight, and refuse it.
//
//   - Purge ByKey records a fence in the object's state: with a
//     generation, entries and fills of lower generations are purged (so
//     duplicate and reordered purges are harmless: the fence only grows);
//     without one, entries and fills begun before the purge are. A fence
//     lives as long as entries of its object do, and at least
//     Config.FenceRetention.
//   - Purge ByPrefix, ByTag and ByHost record a rule that Get checks each
//     entry against once (see purge.go for why rules rather than indexes).
//     Purge All and Flush (a new epoch) are O(1) as well. A background
//     sweep then deletes what they invalidated, to free memory.
//   - A soft purge (Selector.Soft) of any kind marks what it matches,
//     fills in flight included, instead of invalidating it: Get misses such
//     entries, Lookup returns them flagged so the edge can serve them stale
//     while it revalidates, and the sweep keeps them. It costs what the
//     hard purge of its kind does (soft All: O(1)).
//   - A purge is visible to the very next Get, on return from Purge.
//   - A stored entry is visible to the very next Get, though ristretto
//     admits entries asynchronously (see pending.go).
//   - Most hits skip ristretto's Get: a front table of the items hits
//     found serves them while ristretto still holds them (front.go), and
//     one hit in eight goes through ristretto to keep its admission
//     policy counting.
//   - Retention is the rest of the freshness lifetime plus the longest
//     stale window (and Config.RevalidateFor for entries with validators),
//     capped by Config.MaxRetention past freshness. It ends on the wall
//     clock, within a second or two (expiry.go), not by ristretto's TTL,
//     which reads the clock on every Get.
//     Freshness itself is judged by the caller, from the Entry's fields and
//     the injected clock: Get returns stale entries too.
//
// # Caveats
//
//   - An Entry is immutable once Set: Get returns the same pointer to every
//     caller, whose Body the edge serves without copying.
//   - Get and Lookup do not retain their key argument; Set retains the
//     Entry and its strings, and Purge the Selector's strings.
//   - Entries are judged by their own Bucket, Object, Host and Tags; the
//     Entry given to Set must carry the bucket and object given to Begin.
//   - Delete is an eviction, not an invalidation: it fences nothing.
//   - A soft-purged entry stays so until a Set of a fill begun after the
//     purge replaces it; after a soft purge by key with a generation, the
//     new entry (a 304 refresh too) must carry that generation or more.
//     A hard purge removes soft-purged entries as any others.
//   - ristretto may evict or reject any entry at any time, and drops Sets
//     when its buffer is full (Set reports false): a stored entry can be
//     a miss later, never a purged one a hit.
//   - Close must not race with other calls (ristretto's Close does not
//     tolerate concurrent Gets).
package cache
