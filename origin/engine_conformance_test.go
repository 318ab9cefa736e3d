package origin_test

import (
	"testing"

	"github.com/edgecdn/edge/origin"
	"github.com/edgecdn/edge/origin/origintest"
)

// TestEngineConformance runs the Store conformance suite against the engine,
// each subtest on a fresh directory.
func TestEngineConformance(t *testing.T) {
	origintest.Run(t, func(t *testing.T) origin.Store {
		e, err := origin.Open(t.TempDir(), nil)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			if err := e.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return e
	})
}
