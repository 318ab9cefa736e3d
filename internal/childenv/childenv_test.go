package childenv

import (
	"slices"
	"testing"
)

func TestClean(t *testing.T) {
	t.Setenv("EDGE_PURGE_TOKEN", "junk")
	t.Setenv("AWS_REGION", "junk")
	t.Setenv("CHILDENV_KEPT", "yes")
	env := Clean("EDGE_BUS_KEY=k")
	for _, kv := range env {
		if kv == "EDGE_PURGE_TOKEN=junk" || kv == "AWS_REGION=junk" {
			t.Errorf("%s reached the child", kv)
		}
	}
	if !slices.Contains(env, "CHILDENV_KEPT=yes") || env[len(env)-1] != "EDGE_BUS_KEY=k" {
		t.Errorf("kept variables or extra missing: %v", env)
	}
}
