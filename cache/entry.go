package cache

import "time"

// Entry is one cached response. It is immutable once passed to Set: Get
// hands the same pointer to every reader, and the edge serves Body without
// copying, so nobody may change an Entry or the slices it holds afterwards.
// To refresh an entry (a 304), copy it, change the copy and Set the copy.
type Entry struct {
	// The fields a hit reads come first, so that they share two cache
	// lines: over a hot set bigger than the CPU's caches, each line is a
	// miss.

	// Key is the cache key the entry is stored and looked up under. The edge
	// builds it (site or bucket, raw object key, normalised query, Vary
	// values); the cache treats it as opaque bytes.
	Key    string
	Status int
	Body   []byte
	// Meta is the edge's own extra data (for example headers split for
	// serving); the cache never looks inside. If it has a method
	// Cost() int64, that many bytes are added to the entry's cost.
	Meta any
	// StoredAt is when the response was received, on the cache's clock.
	StoredAt time.Time
	// InitialAge is the age the response already had when received
	// (RFC 9111 §4.2.3: Age header and transit time).
	InitialAge time.Duration
	// FreshFor is the freshness lifetime: fresh while Age(now) < FreshFor.
	FreshFor time.Duration
	// Generation is the origin generation of the object the response
	// carries. For a negative entry (404) it is the store's sequence number
	// at read time, so that a later write's purge (whose generation is
	// higher) removes it and fences out slower 404 fills.
	Generation     int64
	MustRevalidate bool
	NoCache        bool
	Negative       bool

	// Bucket is the origin bucket (or upstream id) and Object the object key
	// the response came from. Purges by key and by prefix match on them, and
	// they must equal the bucket and object given to Begin for the fill.
	Bucket string
	Object string
	// Host is the site host the entry was filled for (purge by host matches
	// it exactly: the edge normalises hosts).
	Host string
	// Tags are purge tags (purge by tag matches any of them exactly).
	Tags []string

	// Header holds the response headers, encoded by the edge; opaque here.
	Header []byte
	// ETag is the entity-tag as the origin sent it, quotes and a weak
	// "W/" included; "" when it sent none or a malformed one.
	ETag         string
	LastModified time.Time

	// StaleWhileRevalidate and StaleIfError are the windows after FreshFor
	// ends in which a stale entry may be served (RFC 5861).
	StaleWhileRevalidate time.Duration
	StaleIfError         time.Duration
}

// entryOverhead approximates the memory an entry costs beyond its byte
// slices and strings: the Entry and item structs, the ristretto store slot
// and policy counters, and the map entries that point at it.
const entryOverhead = 400

// Cost is the number of bytes the entry is charged against Config.MaxBytes:
// its slices and strings plus a fixed overhead. The cache computes it on
// Set; callers need not.
func (e *Entry) Cost() int64 {
	n := len(e.Body) + len(e.Header) + len(e.Key) + len(e.Bucket) + len(e.Object) +
		len(e.Host) + len(e.ETag) + entryOverhead
	for _, t := range e.Tags {
		n += len(t) + 16
	}
	if m, ok := e.Meta.(interface{ Cost() int64 }); ok {
		return int64(n) + m.Cost()
	}
	return int64(n)
}

// Age is the entry's current age (RFC 9111 §4.2.3): its InitialAge plus the
// time it has spent in the cache. A clock that went backwards adds nothing.
func (e *Entry) Age(now time.Time) time.Duration {
	resident := now.Sub(e.StoredAt)
	if resident < 0 {
		resident = 0
	}
	return e.InitialAge + resident
}

// Fresh reports whether the entry is within its freshness lifetime.
// NoCache and MustRevalidate are the caller's to honour.
func (e *Entry) Fresh(now time.Time) bool {
	return e.Age(now) < e.FreshFor
}

// Staleness is how long ago the entry stopped being fresh (0 while fresh).
func (e *Entry) Staleness(now time.Time) time.Duration {
	if s := e.Age(now) - e.FreshFor; s > 0 {
		return s
	}
	return 0
}

// WithinStaleWhileRevalidate reports whether the entry is stale but still
// inside its stale-while-revalidate window: it may be served while it is
// refreshed in the background. A fresh entry reports false.
func (e *Entry) WithinStaleWhileRevalidate(now time.Time) bool {
	return e.withinStale(now, e.StaleWhileRevalidate)
}

// WithinStaleIfError reports whether the entry is stale but still inside
// its stale-if-error window: it may be served when the origin fails.
// A fresh entry reports false.
func (e *Entry) WithinStaleIfError(now time.Time) bool {
	return e.withinStale(now, e.StaleIfError)
}

func (e *Entry) withinStale(now time.Time, window time.Duration) bool {
	age := e.Age(now)
	return age >= e.FreshFor && age-e.FreshFor < window
}

// hasValidator reports whether a stale copy can be revalidated with a
// conditional request, which makes it worth keeping past its windows.
func (e *Entry) hasValidator() bool {
	return e.ETag != "" || !e.LastModified.IsZero()
}
