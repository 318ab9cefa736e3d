// Package arch_test keeps the import arrows of DESIGN.md pointing one way:
// cmd → edge → {cache, policy, purge, origin}; the leaves import none of ours.
package arch_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/edgecdn/edge"

func TestLeafPackagesImportNoSibling(t *testing.T) {
	for _, leaf := range []string{"origin", "cache", "policy"} {
		if _, err := os.Stat(leaf); err != nil {
			t.Fatalf("%s/ is missing: DESIGN.md fixes the top-level packages", leaf)
		}
		out, err := exec.Command("go", "list", "-deps", "./"+leaf+"/...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", leaf, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ours := strings.CutPrefix(dep, module+"/")
			if !ours {
				continue
			}
			if top, _, _ := strings.Cut(rest, "/"); top != leaf {
				t.Errorf("%s/ imports %s: DESIGN.md keeps %s free of the project's other packages", leaf, dep, leaf)
			}
		}
	}
}
