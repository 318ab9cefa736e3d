// Package policy decides whether a shared cache (a CDN edge) may store an
// origin response, and for how long: RFC 9111 for a shared cache, with
// CDN-Cache-Control (RFC 9213), Surrogate-Control, stale-while-revalidate and
// stale-if-error (RFC 5861), heuristic freshness and negative caching.
//
// [Defaults.Decide] is a pure function of a request, a response and the
// operator's defaults: it reads no clock (the response carries the times it
// was requested and received), does no I/O and keeps no state. One exception:
// without ReceivedAt, the two-digit year of an RFC 850 Date field (or of any
// RFC 850 date when there is no valid Date either) is read against the
// current year. The edge calls it on a miss or a revalidation, never on a
// hit. Directive values are parsed with github.com/pquerna/cachecontrol, one
// directive at a time, because that library alone reads only the first
// Cache-Control line, fails a whole header on one malformed directive,
// ignores Age and rejects private="field" forms.
//
// # Which field governs
//
// The first of these that is present, valid and non-empty sets the edge's
// policy, and the others (and Expires) are ignored by the edge, as RFC 9213
// §2.2 requires of a targeted field:
//
//  1. CDN-Cache-Control (RFC 9213), parsed as a Structured Fields Dictionary;
//     a field that does not parse, or in which a directive this edge acts on
//     has a value of the wrong type (max-age="10", max-age=1.5, no-store=?0),
//     is ignored as if absent (§2.1). Unknown directives are ignored whatever
//     their type.
//  2. Surrogate-Control (Edge Architecture 1.0, as Fastly and Akamai read it),
//     parsed like Cache-Control; directives aimed at a device ("max-age=60;dev")
//     are skipped, no-store-remote counts as no-store (an edge is remote) and
//     "max-age=A+B" means max-age=A with stale-if-error=B.
//  3. Cache-Control, every field line joined, together with Expires.
//
// The response's header fields are not changed: clients still see the
// Cache-Control the origin sent; removing Surrogate-Control is the edge's job.
//
// # Freshness
//
// Lifetime is s-maxage, else max-age, else Expires − Date (RFC 9111 §4.2.1).
// Without any of them: 404 and 410 get Defaults.NegativeTTL; other
// heuristically cacheable statuses (RFC 9110 §15.1) and "public" responses get
// a percentage of (Date − Last-Modified) capped at Defaults.HeuristicMax
// (RFC 9111 §4.2.2), or Defaults.DefaultTTL when there is no Last-Modified.
// InitialAge is the corrected initial age of RFC 9111 §4.2.3 (Age, Date and
// the request's round trip), so the entry is fresh while
// InitialAge + time in cache < Lifetime.
//
// Invalid or conflicting freshness (max-age=abc, max-age=-1, two different
// max-age values, Expires: 0) makes the response stale on arrival, as RFC 9111
// §4.2.1 and §5.3 advise. Date, Expires and Last-Modified are read with
// [ParseHTTPDate], which holds to the HTTP-date grammar: an Expires with a
// one-digit hour, "gmt" or "UTC" is invalid, so already expired. A response
// already past its lifetime and its stale windows on arrival, with no
// validator (ETag, Last-Modified), is not stored: every later request would
// have to fetch it in full anyway. With a validator it is stored, so the next
// request revalidates it cheaply.
//
// A 304 is never stored itself: merge its fields into the stored response
// (RFC 9111 §4.3.4) and call Decide again with the stored status.
package policy
