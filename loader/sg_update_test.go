package loader

import (
	"errors"
	"testing"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
)

var errInjected = errors.New("injected failure")

// failAt makes the k-th map write of the SG's next updates fail (k >= 1);
// it returns a function telling how many writes were attempted.
func failAt(s *SG, k int) func() int {
	n := 0
	s.inject = func() error {
		n++
		if n == k {
			return errInjected
		}
		return nil
	}
	return func() int { return n }
}

// sgLiveKeys lists the keys of the live generation in sg_rules and sg_eni.
func sgLiveKeys(t *testing.T, s *SG) (lpm map[sgSgLpmKey]sgSgLpmVal, eni map[sgSgEniKey]sgSgEni) {
	t.Helper()
	var gen uint32
	if err := s.objs.SgGen.Get(&gen); err != nil {
		t.Fatal(err)
	}
	lpm, eni = map[sgSgLpmKey]sgSgLpmVal{}, map[sgSgEniKey]sgSgEni{}
	var lk sgSgLpmKey
	var lv sgSgLpmVal
	it := s.objs.SgRules.Iterate()
	for it.Next(&lk, &lv) {
		if uint32(lk.GenDir>>1) == gen {
			lpm[lk] = lv
		}
	}
	var ek sgSgEniKey
	var ev sgSgEni
	it2 := s.objs.SgEni.Iterate()
	for it2.Next(&ek, &ev) {
		if uint32(ek.Gen) == gen {
			eni[ek] = ev
		}
	}
	if err := errors.Join(it.Err(), it2.Err()); err != nil {
		t.Fatal(err)
	}
	return lpm, eni
}

// TestSGUpdateFailureLeavesNoStaleRules fails an update at each of its map
// writes in turn. After each failure the old rules must still be enforced
// exactly (packet by packet against the evaluator), and a following update
// to other rules must be enforced exactly too: no entry the failed update
// wrote may survive into a later generation (an LPM node pointing into
// reused sg_ents slots would admit what the rules do not).
func TestSGUpdateFailureLeavesNoStaleRules(t *testing.T) {
	g := newDiffGen(rulestest.Rand(t))
	a := g.topology("sgfail")
	h := newSGHarness(t, a)
	c := newDiffChecker(t, g, h, a)
	if !c.check(300) {
		return
	}
	// b: a with more rules, so that its failed writes reach prefixes and
	// slice offsets a does not have.
	b := a
	for range 6 {
		b = g.mutate(b)
	}
	// Counted on an update that clears nothing: every later update of b
	// writes at least this often (its clearing comes first).
	writes := failAt(h.sg, 0)
	if err := h.sg.Update(b); err != nil {
		t.Fatal(err)
	}
	steps := writes()
	if err := h.sg.Update(a); err != nil {
		t.Fatal(err)
	}
	h.sg.inject = nil
	t.Logf("an update writes the maps %d times", steps)
	// Every write near the start (clearing, the first nodes) and the end
	// (the last ENI, sg_ents, the flip), a sample in between.
	var at []int
	for k := 1; k <= steps; k++ {
		if k <= 20 || k > steps-20 || k%max(1, steps/40) == 0 {
			at = append(at, k)
		}
	}
	for _, k := range at {
		failAt(h.sg, k)
		if err := h.sg.Update(b); !errors.Is(err, errInjected) {
			t.Fatalf("update failing at write %d: %v, want the injected failure", k, err)
		}
		h.sg.inject = nil
		if !c.check(100) {
			t.Fatalf("after an update failed at write %d of %d, the old rules are not enforced", k, steps)
		}
		// Another rule change: the failed one's writes must be gone.
		other := g.mutate(a)
		if err := h.sg.Update(other); err != nil {
			t.Fatal(err)
		}
		c.setTopology(other)
		sgCheckLiveKeys(t, h.sg, other)
		if !c.check(200) {
			t.Fatalf("after an update failed at write %d of %d, the next update is not enforced exactly", k, steps)
		}
		a = other
	}
}

// sgCheckLiveKeys checks that the live generation holds exactly what t
// compiles to: one sg_eni entry per instance, one sg_rules node per
// compiled node.
func sgCheckLiveKeys(t *testing.T, s *SG, topo *vpc.Topology) {
	t.Helper()
	tabs, err := rules.CompileSG(topo)
	if err != nil {
		t.Fatal(err)
	}
	lpm, eni := sgLiveKeys(t, s)
	nodes := 0
	for _, tab := range tabs {
		nodes += len(tab.Nodes)
	}
	if len(eni) != len(tabs) || len(lpm) != nodes {
		t.Fatalf("live generation holds %d ENIs and %d rule nodes, the rules compile to %d and %d", len(eni), len(lpm), len(tabs), nodes)
	}
}
