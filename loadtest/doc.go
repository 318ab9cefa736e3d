// Package loadtest is the load test, in parts: driver runs a workload
// against edges and an S3 endpoint, consistency judges every read against
// the writes acknowledged before it (fresh, stale, served after delete,
// 404 after put) and measures propagation, keys chooses keys (uniform or
// Zipf), latency keeps HDR histograms, and systemtest starts a store and
// an edge for tests. cmd/loadtest is the command.
package loadtest
