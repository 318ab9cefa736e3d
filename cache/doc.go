// Package cache will hold the edge's cache entries, the ristretto store,
// lookups by key, invalidation (key, prefix, tag, host, everything) and the
// fill fences that keep a purged object from coming back. It knows nothing
// of HTTP servers or Redis. See DESIGN.md; built by the edge and purge issues.
package cache
