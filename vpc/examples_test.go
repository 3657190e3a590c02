package vpc

import (
	"path/filepath"
	"testing"
)

// Every topology the repository offers users as a file loads as it is:
// `vpcemu up -f examples/.../X.yaml` must not fail on the file itself.
func TestExampleTopologiesLoad(t *testing.T) {
	files, err := filepath.Glob("../examples/*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if filepath.Base(filepath.Dir(f)) == "ci" {
			continue // intents and a workflow, not topologies
		}
		n++
		if _, err := Load(f); err != nil {
			t.Errorf("%v", err)
		}
	}
	if n == 0 {
		t.Fatal("no example topologies found under examples/")
	}
}
