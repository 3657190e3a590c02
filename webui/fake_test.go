package webui

import (
	"sync"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// fakeSource is a topology without a datapath: tests push events through
// the sink it was given and set the counters status returns.
type fakeSource struct {
	mu     sync.Mutex
	topo   *vpc.Topology
	status *lab.Status
	sink   Sink
}

func newFakeSource(t *vpc.Topology) *fakeSource {
	st := lab.StaticStatus(&lab.State{Name: t.Name}, t, vpc.NewPlan(t))
	return &fakeSource{topo: t, status: st}
}

func (f *fakeSource) Topology() *vpc.Topology {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.topo
}

func (f *fakeSource) Status() *lab.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *f.status
	return &c
}

func (f *fakeSource) Observe(s Sink) func() {
	f.mu.Lock()
	f.sink = s
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.sink = nil
		f.mu.Unlock()
	}
}

func (f *fakeSource) setNACLCounter(acl, dir, rule string, packets uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.status.NACLs {
		if f.status.NACLs[i].ID != acl {
			continue
		}
		for j := range f.status.NACLs[i].Rules {
			r := &f.status.NACLs[i].Rules[j]
			if r.Direction == dir && r.Rule == rule {
				r.Packets = packets
				return
			}
		}
		f.status.NACLs[i].Rules = append(f.status.NACLs[i].Rules, lab.NACLRuleStatus{Direction: dir, Rule: rule, Action: "allow", Packets: packets})
		return
	}
	f.status.NACLs = append(f.status.NACLs, lab.NACLStatus{ID: acl, Rules: []lab.NACLRuleStatus{{Direction: dir, Rule: rule, Action: "allow", Packets: packets}}})
}
