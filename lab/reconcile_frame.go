package lab

import (
	"fmt"
	"slices"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// The frame of a running topology: VPC routers, subnets, internet and
// egress-only gateways' and peerings' links, the routing ports on them and the kernel
// tables of route tables. Created or deleted live, they keep everything
// that stays where it is: the desired topology is laid out from the
// running plan (rules.Replan), so the ports that stay keep their names,
// interface indexes and kernel tables. What is created comes first (a
// router before its subnets and links, then the router program on the new
// ports, before the tables and the ports' tables the routing part sets);
// what is deleted goes last (lateSteps), after the instances and NAT
// gateways in it.

// plans returns the layouts of the change's running and desired
// topologies. The running one is the lab's when cur is the running
// topology, else (Check on the EC2 API's desired topology) cur laid out
// from it.
func (c *change) plans() (cur, next *vpc.Plan) {
	if c.curPlan == nil {
		c.l.mu.Lock()
		p, running := c.l.plan, c.l.topo
		c.l.mu.Unlock()
		if c.cur != running {
			p = rules.Replan(p, c.cur)
		}
		c.curPlan = p
		c.nextPlan = rules.Replan(p, c.next)
	}
	return c.curPlan, c.nextPlan
}

// lateSteps adds the steps parts left for last.
func (c *change) lateSteps() error {
	c.steps = append(c.steps, c.late...)
	c.late = nil
	return nil
}

// frame is what a change creates and deletes of the frame.
type frame struct {
	addRouters, delRouters []vpc.RouterPlan
	addSubnets, delSubnets []vpc.SubnetPlan
	addLinks, delLinks     []vpc.LinkPlan
	addPorts, delPorts     []vpc.PortPlan
	delTables              []vpc.TablePlan
}

func (f *frame) empty() bool {
	return len(f.addRouters)+len(f.delRouters)+len(f.addSubnets)+len(f.delSubnets)+len(f.addLinks)+len(f.delLinks)+
		len(f.addPorts)+len(f.delPorts)+len(f.delTables) == 0
}

// diffFrame compares two layouts' frames: a link whose ends moved (an
// internet gateway attached to another VPC) is deleted and created.
func diffFrame(a, b *vpc.Plan) *frame {
	f := &frame{}
	for _, r := range b.Routers {
		if o := a.Router(r.VPC); o == nil || o.NS != r.NS {
			f.addRouters = append(f.addRouters, r)
		}
	}
	for _, r := range a.Routers {
		if o := b.Router(r.VPC); o == nil || o.NS != r.NS {
			f.delRouters = append(f.delRouters, r)
		}
	}
	for _, s := range b.Subnets {
		if a.Subnet(s.SubnetID) == nil {
			f.addSubnets = append(f.addSubnets, s)
		}
	}
	for _, s := range a.Subnets {
		if b.Subnet(s.SubnetID) == nil {
			f.delSubnets = append(f.delSubnets, s)
		}
	}
	sameLink := func(x, y *vpc.LinkPlan) bool {
		return y != nil && x.Kind == y.Kind && x.A.NS == y.A.NS && x.B.NS == y.B.NS && x.A.If == y.A.If && x.B.If == y.B.If
	}
	for _, l := range b.Links {
		if !sameLink(&l, a.Link(l.ID)) {
			f.addLinks = append(f.addLinks, l)
		}
	}
	for _, l := range a.Links {
		if !sameLink(&l, b.Link(l.ID)) {
			f.delLinks = append(f.delLinks, l)
		}
	}
	for _, p := range b.Routing.Ports {
		if findPort(a, p.NS, p.If) == nil {
			f.addPorts = append(f.addPorts, p)
		}
	}
	for _, p := range a.Routing.Ports {
		if findPort(b, p.NS, p.If) == nil {
			f.delPorts = append(f.delPorts, p)
		}
	}
	for _, t := range a.Routing.Tables {
		if b.Routing.TableOf(t.NS, t.Table) == nil {
			f.delTables = append(f.delTables, t)
		}
	}
	return f
}

func findPort(p *vpc.Plan, ns, ifname string) *vpc.PortPlan {
	for i := range p.Routing.Ports {
		if q := &p.Routing.Ports[i]; q.NS == ns && q.If == ifname {
			return q
		}
	}
	return nil
}

// frameLive refuses what the running datapath cannot take: endpoint links
// (sameFixedFrame keeps them out), and router or DNS
// addresses of new subnets and VPCs the SG program's pre-check, fixed at
// load, would not look up.
func (c *change) frameLive(f *frame) error {
	for _, l := range append(slices.Clone(f.addLinks), f.delLinks...) {
		if l.Kind != vpc.LinkIGW && l.Kind != vpc.LinkEIGW && l.Kind != vpc.LinkPeering {
			return &NotLiveError{Change: fmt.Sprintf("%s %s", l.Kind, l.ID)}
		}
	}
	if d := c.l.dp; d != nil && d.sg != nil && (len(f.addSubnets) > 0 || len(f.addRouters) > 0) {
		have := rules.NACLReservedAddrs(c.cur)
		for _, a := range rules.NACLReservedAddrs(c.next) {
			if !slices.Contains(have, a) && !d.sg.CoversReserved(a) {
				return &NotLiveError{Change: "the reserved address " + a.String() + " of a new subnet or VPC",
					Reason: "the running security-group program only recognises router and DNS addresses aligned as those of the subnets it came up with; nothing was changed. Run vpcemu down, then vpcemu up -f with the new topology"}
			}
		}
	}
	return nil
}

// frameSteps adds the steps that create (now) and delete (late) the
// frame's objects.
func (c *change) frameSteps(f *frame, openNet func() (*netns.Net, error)) {
	if f.empty() {
		return
	}
	d := c.l.dp
	cur, next := c.cur, c.next
	curPlan, nextPlan := c.plans()
	mtu := nextPlan.MTU
	for _, r := range f.addRouters {
		c.add(Step{What: "VPC " + r.VPC + ": router",
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.AddRouter(r)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.RemoveRouter(r)
			}})
	}
	for _, s := range f.addSubnets {
		c.add(Step{What: "subnet " + s.SubnetID + ": create",
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.AddSubnet(s, mtu)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.RemoveSubnet(s)
			}})
	}
	if len(f.addSubnets) > 0 && d.nacl != nil {
		// Subnets deleted in this change stay known until their ports go.
		both := *next
		for _, s := range f.delSubnets {
			if o := cur.Subnet(s.SubnetID); o != nil {
				both.Subnets = append(slices.Clone(both.Subnets), *o)
			}
		}
		c.add(Step{What: "network ACLs: subnets",
			Do:   func() error { return d.nacl.SetSubnets(&both) },
			Undo: func() error { return d.nacl.SetSubnets(cur) }})
	}
	for _, l := range f.addLinks {
		c.add(Step{What: fmt.Sprintf("%s %s: attach", l.Kind, l.ID),
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if err := n.AddLink(l, nil, mtu); err != nil {
					return err
				}
				switch {
				case l.Kind == vpc.LinkIGW:
					if err := d.dp.AddIGW(next, l); err != nil {
						return err
					}
					if c.l.drops != nil {
						return c.l.drops.watchGateways()
					}
				case l.Kind == vpc.LinkEIGW && d.nacl != nil:
					return d.nacl.AttachEIGW(l.A.NS, l.A.If)
				}
				// A peering's ends are router ports: the port steps
				// attach the router program to both.
				return nil
			},
			Undo: func() error { return c.removeLink(l, openNet) }})
	}
	for _, pp := range f.addPorts {
		c.add(Step{What: fmt.Sprintf("router port %s/%s", pp.NS, pp.If),
			Do: func() error { return d.dp.AttachPort(pp) },
			Undo: func() error {
				if d.nacl == nil {
					return nil
				}
				return d.nacl.Detach(pp.NS, pp.If)
			}})
	}

	// Deleted, last: tables no port routes by, the ports' programs and
	// rules, the links, the subnets, the routers.
	late := func(s Step) { c.late = append(c.late, s) }
	goneRouter := func(ns string) bool {
		return slices.ContainsFunc(f.delRouters, func(r vpc.RouterPlan) bool { return r.NS == ns })
	}
	for _, tp := range f.delTables {
		if goneRouter(tp.NS) {
			continue
		}
		late(Step{What: fmt.Sprintf("route table %s: delete", tableName(tp)),
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.RemoveTable(tp.NS, tp.Table)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.SetTable(tp)
			}})
	}
	for _, pp := range f.delPorts {
		late(Step{What: fmt.Sprintf("router port %s/%s: detach", pp.NS, pp.If),
			Do: func() error {
				var errs []error
				if d.nacl != nil {
					errs = append(errs, d.nacl.Detach(pp.NS, pp.If))
				}
				if !goneRouter(pp.NS) {
					n, err := openNet()
					if err != nil {
						return err
					}
					errs = append(errs, n.RemovePortRule(pp))
				}
				return joinErr(errs...)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				i := slices.IndexFunc(curPlan.Routing.Ports, func(q vpc.PortPlan) bool { return q.NS == pp.NS && q.If == pp.If })
				return joinErr(d.dp.AttachPort(pp), n.SetPortRule(pp, netns.PortRulePriority(i)))
			}})
	}
	for _, l := range f.delLinks {
		late(Step{What: fmt.Sprintf("%s %s: detach", l.Kind, l.ID),
			Do: func() error { return c.removeLink(l, openNet) },
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if err := n.AddLink(l, nil, curPlan.MTU); err != nil {
					return err
				}
				if l.Kind == vpc.LinkIGW {
					return d.dp.AddIGW(cur, l)
				}
				if l.Kind == vpc.LinkEIGW && d.nacl != nil {
					return d.nacl.AttachEIGW(l.A.NS, l.A.If)
				}
				return nil
			}})
	}
	for _, s := range f.delSubnets {
		late(Step{What: "subnet " + s.SubnetID + ": delete",
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.RemoveSubnet(s)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.AddSubnet(s, curPlan.MTU)
			}})
	}
	if len(f.delSubnets) > 0 && d.nacl != nil {
		late(Step{What: "network ACLs: subnets deleted",
			Do:   func() error { return d.nacl.SetSubnets(next) },
			Undo: func() error { return d.nacl.SetSubnets(cur) }})
	}
	for _, r := range f.delRouters {
		late(Step{What: "VPC " + r.VPC + ": router delete",
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.RemoveRouter(r)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if err := n.AddRouter(r); err != nil {
					return err
				}
				for _, tp := range curPlan.Routing.Tables {
					if tp.NS == r.NS {
						if err := n.SetTable(tp); err != nil {
							return err
						}
					}
				}
				return nil
			}})
	}
}

// removeLink detaches a gateway's programs and deletes its link.
func (c *change) removeLink(l vpc.LinkPlan, openNet func() (*netns.Net, error)) error {
	d := c.l.dp
	var errs []error
	if l.Kind == vpc.LinkIGW {
		if c.l.drops != nil {
			c.l.drops.unwatch(l.ID)
		}
		errs = append(errs, d.dp.RemoveIGW(l.ID))
	} else if l.Kind == vpc.LinkEIGW && d.nacl != nil {
		errs = append(errs, d.nacl.DetachEIGW(l.A.NS, l.A.If))
	}
	n, err := openNet()
	if err != nil {
		return joinErr(append(errs, err)...)
	}
	return joinErr(append(errs, n.RemoveLink(l, nil))...)
}
