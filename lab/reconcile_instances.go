package lab

import (
	"context"
	"slices"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/services"
	"github.com/vpcemu/vpcemu/vpc"
)

// instances is the live part of instances added (RunInstances) and
// removed (TerminateInstances), with their ENIs: each added one gets its
// namespace, its ENIs on their subnets' bridges (with the routers'
// neighbour entries), the SG programs on them and its services; a removed
// one loses them in reverse. The groups' tables (securityGroups), the
// internet gateways' mappings and the routes to public addresses
// (routing) are other parts' steps. Instances that stay must keep what
// they have: a change to one of them stays in the difference.
func (c *change) instances() error {
	d := c.l.dp
	if d == nil || d.dp == nil || d.sg == nil {
		return nil
	}
	cur, next := c.cur, c.next
	has := func(t *vpc.Topology, id string) bool { return t.Instance(id) != nil }
	var added, removed []string
	for _, in := range next.Instances {
		if !has(cur, in.ID) {
			added = append(added, in.ID)
		}
	}
	for _, in := range cur.Instances {
		if !has(next, in.ID) {
			removed = append(removed, in.ID)
		}
	}
	if len(added)+len(removed) == 0 {
		return nil
	}
	curPlan, nextPlan := c.plans()
	if !sameKept(curPlan, nextPlan) {
		return nil
	}
	var net *netns.Net
	openNet := func() (*netns.Net, error) {
		if net == nil {
			n, err := netns.Open(cur.Name)
			if err != nil {
				return nil, err
			}
			net = n
		}
		return net, nil
	}
	c.cleanup = append(c.cleanup, func() {
		if net != nil {
			net.Close()
		}
	})
	up := func(t *vpc.Topology, p *vpc.Plan, id string) error {
		n, err := openNet()
		if err != nil {
			return err
		}
		h, enis := hostPlan(p, id)
		if err := n.AddInstance(h, enis); err != nil {
			return err
		}
		for _, e := range enis {
			if err := n.AddENI(e, *p.Subnet(e.SubnetID), p.MTU); err != nil {
				return err
			}
			if err := d.sg.AttachENI(e.ID, e.PeerNS, e.PeerIf); err != nil {
				return err
			}
		}
		in := t.Instance(id)
		if len(in.Services) > 0 && c.l.svc != nil {
			return c.l.svc.Add(context.Background(), []services.Spec{{NS: h.NS, Host: in.ID, Services: in.Services}})
		}
		return nil
	}
	down := func(p *vpc.Plan, id string) error {
		n, err := openNet()
		if err != nil {
			return err
		}
		h, enis := hostPlan(p, id)
		var errs []error
		if c.l.svc != nil {
			errs = append(errs, c.l.svc.StopNS(h.NS))
		}
		for _, e := range enis {
			errs = append(errs, d.sg.DetachENI(e.PeerNS, e.PeerIf), n.RemoveENI(e, *p.Subnet(e.SubnetID)))
		}
		return joinErr(append(errs, n.RemoveInstance(h))...)
	}
	for _, id := range removed {
		c.add(Step{What: "instance " + id + ": terminate",
			Do:   func() error { return down(curPlan, id) },
			Undo: func() error { return up(cur, curPlan, id) }})
	}
	for _, id := range added {
		c.add(Step{What: "instance " + id + ": run",
			Do:   func() error { return up(next, nextPlan, id) },
			Undo: func() error { return down(nextPlan, id) }})
	}
	// What the datapath knows of ENIs: groups (indexes by MAC), the flow
	// counters' ENIs, the routers' ports' flags, the flow logs' ENIs.
	c.add(Step{What: "instances: datapath",
		Do: func() error {
			if err := d.sg.Update(next); err != nil {
				return err
			}
			if err := d.dp.SetRouting(next, nextPlan); err != nil {
				return err
			}
			if d.dp.Flows != nil {
				if err := d.dp.Flows.SetENIs(next, nextPlan, d.sg.ENIIndex); err != nil {
					return err
				}
			}
			return d.dp.SetNAT(next)
		},
		Undo: func() error {
			errs := []error{d.sg.Update(cur), d.dp.SetRouting(cur, curPlan), d.dp.SetNAT(cur)}
			if d.dp.Flows != nil {
				errs = append(errs, d.dp.Flows.SetENIs(cur, curPlan, d.sg.ENIIndex))
			}
			return joinErr(errs...)
		},
		Commit: func() {
			c.l.mu.Lock()
			c.l.plan = nextPlan
			c.l.mu.Unlock()
			c.l.flowLogsAddENIs(next)
		}})
	// The difference left: instances that stay, compared with themselves.
	rest := make([]vpc.Instance, 0, len(cur.Instances))
	for _, in := range cur.Instances {
		if n := next.Instance(in.ID); n != nil {
			rest = append(rest, *n)
		} else {
			rest = append(rest, in)
		}
	}
	c.rest.Instances = rest
	return nil
}

// hostPlan is instance id's namespace and ENIs in p.
func hostPlan(p *vpc.Plan, id string) (vpc.HostPlan, []vpc.ENIPlan) {
	var h vpc.HostPlan
	for _, x := range p.Instances {
		if x.ID == id {
			h = x
		}
	}
	var enis []vpc.ENIPlan
	for _, e := range p.ENIs {
		if e.Instance == id {
			enis = append(enis, e)
		}
	}
	return h, enis
}

// sameKept: the instances both plans have are laid out alike.
func sameKept(a, b *vpc.Plan) bool {
	for _, e := range a.ENIs {
		i := slices.IndexFunc(b.ENIs, func(x vpc.ENIPlan) bool { return x.ID == e.ID })
		if i < 0 {
			continue
		}
		x := b.ENIs[i]
		if x.NS != e.NS || x.PeerIf != e.PeerIf || x.Addr != e.Addr || x.IfName != e.IfName {
			return false
		}
	}
	return true
}

// flowLogsAddENIs has every flow log of t watch the ENIs it covers now
// (an instance added to its VPC or subnet; Aggregator.AddENI keeps those
// it has).
func (l *Lab) flowLogsAddENIs(t *vpc.Topology) {
	if l.flows == nil {
		return
	}
	l.flowMu.Lock()
	defer l.flowMu.Unlock()
	for _, s := range l.flows.subs {
		fl := flowLogByID(t, s.id)
		if fl == nil {
			continue
		}
		enis, err := flowlog.ENIsFor(t, *fl)
		if err != nil {
			continue
		}
		for _, e := range enis {
			s.agg.AddENI(e)
		}
	}
}
