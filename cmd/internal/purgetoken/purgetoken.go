// Package purgetoken reads the purge API token from the environment the
// same way for the edge (which accepts it) and edgectl (which sends it).
package purgetoken

import (
	"os"
	"strings"
)

// Env is the variable that carries the token.
const Env = "EDGE_PURGE_TOKEN"

// FromEnv is the token, without the white space a shell or a file adds;
// "" when unset.
func FromEnv() string { return strings.TrimSpace(os.Getenv(Env)) }
