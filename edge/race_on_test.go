//go:build race

package edge_test

// raceEnabled: the race detector allocates on its own and sync.Pool drops
// items at random under it, so allocation counts only mean something
// without it (make test runs the allocation tests a second time, without).
const raceEnabled = true
