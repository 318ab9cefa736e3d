// Package loadtest holds the load test's parts; the command that drives
// edges with them is still to be built. Today: keys (which key each
// operation touches, uniform or Zipf) and consistency (the observer that
// classifies every read against the writes acknowledged before it:
// fresh, stale, served after delete, 404 after put, and how long each
// write took to reach every edge).
package loadtest
