package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// requireRoot fails early, with the reason, when a command needs root. The
// message starts with cmd alone: main already prefixes "vpcemu: ".
func requireRoot(cmd string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN): run it with sudo", cmd)
	}
	return nil
}

// deniedNeedsRoot says "needs root" for a permission error: a running
// topology's state (keys, control socket) is root's alone, so a user who
// reads it gets EACCES, which alone does not say what to do.
func deniedNeedsRoot(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("reading a running topology needs root: run it with sudo (%w)", err)
	}
	return err
}

// loadTopology reads file, or the built-in lab when file is "".
func loadTopology(file string) (*vpc.Topology, []byte, error) {
	if file == "" {
		return vpc.Lab(), vpc.LabYAML, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read topology: %w", err)
	}
	t, err := vpc.Parse(file, data)
	if err != nil {
		return nil, nil, err
	}
	return t, data, nil
}

// running is a topology that is up, as other commands see it.
type running struct {
	paths lab.Paths
	state *lab.State
	topo  *vpc.Topology
	plan  *vpc.Plan
}

// openRunning finds the topology a command acts on (--topology or the only one up).
func openRunning(g *globalOptions) (*running, error) {
	name, err := lab.Resolve(lab.DefaultRunRoot, g.topology)
	if err != nil {
		return nil, deniedNeedsRoot(err)
	}
	paths := lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name)
	st, err := lab.ReadState(paths)
	if errors.Is(err, fs.ErrPermission) {
		return nil, deniedNeedsRoot(err)
	}
	if err != nil {
		return nil, fmt.Errorf("topology %s: %w", name, err)
	}
	t, err := st.Topology()
	if err != nil {
		return nil, fmt.Errorf("topology %s: recorded state does not parse: %w", name, err)
	}
	return &running{paths: paths, state: st, topo: t, plan: vpc.NewPlan(t)}, nil
}

// host is an instance or internet host of a running topology.
type host struct {
	name     string
	ns       string
	instance *vpc.Instance
	internet *vpc.InternetHost
}

// findHost resolves an instance id or internet host name.
func (r *running) findHost(name string) (*host, error) {
	for i := range r.topo.Instances {
		if r.topo.Instances[i].ID == name {
			return &host{name: name, ns: r.plan.Instances[i].NS, instance: &r.topo.Instances[i]}, nil
		}
	}
	for i := range r.topo.Internet {
		if r.topo.Internet[i].Name == name {
			return &host{name: name, ns: r.plan.Hosts[i].NS, internet: &r.topo.Internet[i]}, nil
		}
	}
	var names []string
	for _, in := range r.topo.Instances {
		names = append(names, in.ID)
	}
	for _, h := range r.topo.Internet {
		names = append(names, h.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("no instance or internet host %q in topology %s; valid: %s", name, r.topo.Name, strings.Join(names, ", "))
}
