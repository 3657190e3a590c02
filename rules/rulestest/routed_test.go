package rulestest

import (
	"math/rand/v2"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func TestRandRoutedTopologyIsValid(t *testing.T) {
	for seed := range 300 {
		top := RandRoutedTopology(rand.New(rand.NewPCG(uint64(seed), 7)))
		y := top.YAML()
		if _, err := vpc.Parse("rt.yaml", y); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, y)
		}
	}
}
