// Package childenv is the environment tests give the processes they
// start: the test's own minus every EDGE_* and AWS_* variable, so neither
// the caller's shell nor make test's junk values reach the child.
package childenv

import (
	"os"
	"strings"
)

// Clean is the test process's environment without EDGE_* and AWS_*
// variables, plus extra (NAME=value each).
func Clean(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDGE_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
