// Package testenv keeps the commands' tests independent of the shell that
// runs them: a developer's EDGE_* credentials must not change what a test
// starts, or make a test that expects a refusal start a real server.
package testenv

import (
	"os"
	"strings"
)

// Prefix names every environment variable the commands read.
const Prefix = "EDGE_"

// ClearEdgeVars unsets every EDGE_* variable of the process. Call it from
// TestMain, before any test runs; a test that needs one sets it with
// t.Setenv, which restores the cleared state afterwards.
func ClearEdgeVars() {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, Prefix) {
			os.Unsetenv(name)
		}
	}
}
