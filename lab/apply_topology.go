package lab

import (
	"fmt"

	"github.com/vpcemu/vpcemu/vpc"
)

// ApplyTopology swaps in the rules of nt, a topology changed in code rather
// than read from a file (the lessons edit rules as a model, and their tests
// run settings no file may hold, such as a 1 s tracking timeout). As with
// Apply, anything but rules is refused.
func (l *Lab) ApplyTopology(nt *vpc.Topology) error {
	return l.swapRules(nt, "", string(nt.YAML()))
}

// swapRules is Apply and ApplyTopology: it refuses anything but rule changes,
// programs the datapath, then records nt (from file, "" when built in code,
// whose text is yaml) as the topology's state.
func (l *Lab) swapRules(nt *vpc.Topology, file, yaml string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	src := file
	if src == "" {
		src = "the new topology"
	}
	if nt.Name != l.topo.Name {
		return fmt.Errorf("%s describes topology %q, not %q", src, nt.Name, l.topo.Name)
	}
	if err := vpc.RulesOnlyDiff(l.topo, nt); err != nil {
		return err
	}
	if err := l.dp.apply(nt); err != nil {
		return fmt.Errorf("apply rules of %s: %w", nt.Name, err)
	}
	l.topo = nt
	l.state.YAML = yaml
	if file != "" {
		l.state.File = file
	}
	return writeState(l.paths, l.state)
}
