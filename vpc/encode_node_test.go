package vpc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"go.yaml.in/yaml/v3"
)

// toNode writes what yaml.Marshal writes of the file schema, byte for byte.
func TestToNodeIsYAMLMarshal(t *testing.T) {
	topos := []*Topology{Lab()}
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 3))
		n := 1 + r.IntN(400)
		g, err := Parse("gen.yaml", Generate(fmt.Sprintf("g%d", seed), n))
		if err != nil {
			t.Fatal(err)
		}
		topos = append(topos, g)
		rt, err := Parse("routed.yaml", GenerateRouted("r", 1+r.IntN(3), 1+r.IntN(3), r.IntN(3)))
		if err != nil {
			t.Fatal(err)
		}
		topos = append(topos, rt)
	}
	for i, topo := range topos {
		f := topo.fileForm()
		want, err := yaml.Marshal(&f)
		if err != nil {
			t.Fatal(err)
		}
		if got := topo.YAML(); !bytes.Equal(got, want) {
			t.Fatalf("topology %d: toNode's encoding differs from yaml.Marshal:\n%s\nwant:\n%s", i, got, want)
		}
	}
}
