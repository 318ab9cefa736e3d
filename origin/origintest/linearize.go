package origintest

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// ConcurrentHistory runs client(id, clock) for every id in [0, clients) at
// once, released together, and joins the operations they recorded. clock
// is one monotonic time source for all clients' Call and Return stamps.
func ConcurrentHistory(clients int, client func(id int, clock func() int64) []porcupine.Operation) []porcupine.Operation {
	epoch := time.Now()
	clock := func() int64 { return int64(time.Since(epoch)) }
	perClient := make([][]porcupine.Operation, clients)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for id := range clients {
		wg.Go(func() {
			<-start
			perClient[id] = client(id, clock)
		})
	}
	close(start)
	wg.Wait()
	var history []porcupine.Operation
	for _, ops := range perClient {
		history = append(history, ops...)
	}
	return history
}

// CheckLinearizable checks history against model within timeout and,
// unless it is Ok, writes porcupine's visualization to the test's artifact
// directory as name.html and logs where.
func CheckLinearizable(t testing.TB, model porcupine.Model, history []porcupine.Operation, timeout time.Duration, name string) porcupine.CheckResult {
	t.Helper()
	begin := time.Now()
	res, info := porcupine.CheckOperationsVerbose(model, history, timeout)
	t.Logf("%s: porcupine checked %d operations in %v: %s", name, len(history), time.Since(begin).Round(time.Millisecond), res)
	if res != porcupine.Ok {
		path := filepath.Join(t.ArtifactDir(), name+".html")
		if err := porcupine.VisualizePath(model, info, path); err != nil {
			t.Logf("writing the visualization: %v", err)
		} else {
			t.Logf("visualization of the history (open in a browser): %s", path)
		}
	}
	return res
}
