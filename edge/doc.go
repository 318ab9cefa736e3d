// Package edge is the CDN edge: a fasthttp server that maps custom domains
// (sites) to a bucket of an origin or to a plain HTTP upstream, and serves
// them from the in-memory cache (package cache) as RFC 9111 allows.
//
// # Model
//
// A request is checked first (framing, Host, target: handler.go), then
// served from the cache or filled:
//
//   - Key. A site's entries are its own: the key is the site, the raw path
//     (never normalised: "a//b" and "a/../b" are distinct objects), the
//     query for upstream sites, the normalised Accept-Encoding where the
//     site keys by it, and the values of the fields the response varies by
//     (path.go, vary.go).
//   - Hit. A fresh entry is served from memory: conditional requests and
//     ranges are answered from it (conditional.go, ranges.go), with Age and
//     an RFC 9211 Cache-Status (serve.go). Its header, the response's own
//     Date included, is a parsed template the hit copies whole. A stored
//     206 answers only ranges inside it (partial.go).
//   - Stale. An entry within stale-while-revalidate, or soft-purged, is
//     served while one background refresh per key revalidates it
//     (refresh.go); a stale entry with a validator is revalidated with a
//     conditional request, and served within stale-if-error when the
//     origin fails.
//   - Origins. Bucket sites read the embedded store (FromStore) or an S3
//     endpoint (FromS3, NewS3Origin: signed with SigV4 for a private
//     bucket, revalidated by HEAD), upstream sites their URL (origin.go,
//     s3origin.go); what a request carries to them is forward.go's.
//   - Miss. Concurrent misses of a key make one origin request (fill.go).
//     A waiter is given the answer only if it could be stored and reused
//     fresh and is the waiter's own variant; otherwise the waiter makes its
//     own request (stream.go). A fill begun before a purge of its object
//     is never stored (cache fences).
//   - Purge. The edge is the purge bus's Target (purge.go): the origin's
//     writes purge the object on every site serving its bucket (ttl sites
//     excepted), purge API calls what they name. While the bus cannot vouch
//     for purges (degraded), hits of purge sites are revalidated.
//
// # Invariants
//
//   - A fill asks for the whole representation: an upstream gets the
//     client's end-to-end fields but its conditionals and Range, which the
//     cache answers itself (forward.go); fields an application may take
//     for its URL or host (X-Forwarded-Host, X-Original-URL…) are withheld
//     unless a site passes them. A response is stored under the values
//     the fill sent of every field it varies by.
//   - One client's answer never reaches another unless a cache could have
//     served it to that other client.
//   - After Apply returns, no request gets what the purge covers.
//
// # Caveats
//
//   - Objects larger than Config.MaxObjectSize stream through uncached,
//     each request with its own origin request.
//   - Vary names are learned from the first response of a URI; until then
//     waiters of another variant make a second fill. They and the keys of
//     objects too big to cache are kept in memos (memo.go) bounded by
//     Config.VaryKeys and TooBigKeys: a forgotten key costs one more fill.
package edge
