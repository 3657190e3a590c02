package lab

import (
	"fmt"
	"slices"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// routing is the live part of routing objects: routes of existing route
// tables (added, replaced, deleted, blackholes), subnets' associations,
// VPCs' main tables, NAT gateways created and deleted, Elastic IPs
// associated or released. Its steps, in order: new NAT gateways (their
// namespace, ENI and program, so routes to them resolve), the kernel
// tables that changed (one atomic replace per route), the routing ports'
// tables, the internet gateways' mappings, then deleted NAT gateways (the
// routes to them are blackholes by then). Route tables, gateways, peerings
// and endpoints created or deleted are not made live here: they stay in
// the difference and are refused.
func (c *change) routing() error {
	d := c.l.dp
	if d == nil || d.dp == nil {
		return nil
	}
	cur, next := c.cur, c.next
	if !sameFixedFrame(cur, next) {
		return nil
	}
	curPlan, nextPlan := c.plans()
	fr := diffFrame(curPlan, nextPlan)
	if err := c.frameLive(fr); err != nil {
		return err
	}
	// A plan has one NAT gateway per topology's, by id: with the same ids
	// none is added or removed, and natDiff's two whole plans (a tenth of
	// the daemon's CPU under EC2 API churn, which checks every request)
	// are not needed.
	var added, removed []vpc.NATPlan
	if !slices.EqualFunc(cur.NATGateways, next.NATGateways, func(a, b vpc.NATGateway) bool { return a.ID == b.ID }) {
		added, removed = natDiff(cur, next)
	}
	tables := changedTables(curPlan, nextPlan)
	portsChanged := !slices.EqualFunc(curPlan.Routing.Ports, nextPlan.Routing.Ports, func(a, b vpc.PortPlan) bool { return a == b })
	natChanged := !samePosFree(cur.ElasticIPs, next.ElasticIPs) || len(added)+len(removed) > 0 || len(fr.addLinks)+len(fr.delLinks) > 0
	if fr.empty() && len(tables) == 0 && !portsChanged && !natChanged && samePosFree(cur.RouteTables, next.RouteTables) {
		c.markRouting()
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

	c.frameSteps(fr, openNet)
	for _, gp := range added {
		sp := nextPlan.Subnet(gp.ENI.SubnetID)
		c.add(Step{What: "NAT gateway " + gp.ID + ": create",
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if err := n.AddNATGateway(gp, *sp, nextPlan.MTU); err != nil {
					return err
				}
				if err := d.dp.AddNATGateway(next, gp); err != nil {
					return err
				}
				if c.l.drops != nil {
					return c.l.drops.watchGateways()
				}
				return nil
			},
			Undo: func() error {
				if c.l.drops != nil {
					c.l.drops.unwatch(gp.ID)
				}
				n, err := openNet()
				if err != nil {
					return err
				}
				return joinErr(d.dp.RemoveNATGateway(gp.ID, gp.ENI), n.RemoveNATGateway(gp, *sp))
			}})
	}
	for _, tp := range tables {
		old := findTable(curPlan, tp.NS, tp.Table)
		c.add(Step{What: fmt.Sprintf("route table %s: routes", tableName(tp)),
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				return n.SetTable(tp)
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if old == nil {
					return n.RemoveTable(tp.NS, tp.Table)
				}
				return n.SetTable(*old)
			}})
	}
	// The ports' tables (associations, main tables), their kernel rules,
	// the ENIs the flow counters know (a NAT gateway's), traffic-path.
	c.add(Step{What: "routing ports",
		Do: func() error {
			n, err := openNet()
			if err != nil {
				return err
			}
			if err := setPortRules(n, curPlan, nextPlan); err != nil {
				return err
			}
			if err := d.dp.SetRouting(next, nextPlan); err != nil {
				return err
			}
			if (len(added) > 0 || !fr.empty()) && d.sg != nil {
				if err := d.sg.Update(next); err != nil {
					return err
				}
			}
			if d.dp.Flows != nil && d.sg != nil {
				return d.dp.Flows.SetENIs(next, nextPlan, d.sg.ENIIndex)
			}
			return nil
		},
		Undo: func() error {
			n, err := openNet()
			if err != nil {
				return err
			}
			errs := []error{setPortRules(n, nextPlan, curPlan), d.dp.SetRouting(cur, curPlan)}
			if d.dp.Flows != nil && d.sg != nil {
				errs = append(errs, d.dp.Flows.SetENIs(cur, curPlan, d.sg.ENIIndex))
			}
			return joinErr(errs...)
		},
		Commit: func() {
			c.l.mu.Lock()
			c.l.plan = nextPlan
			c.l.mu.Unlock()
		}})
	if natChanged {
		c.add(Step{What: "internet gateways: public addresses",
			Do:   func() error { return d.dp.SetNAT(next) },
			Undo: func() error { return d.dp.SetNAT(cur) }})
	}
	for _, gp := range removed {
		sp := curPlan.Subnet(gp.ENI.SubnetID)
		c.add(Step{What: "NAT gateway " + gp.ID + ": delete",
			Do: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if c.l.drops != nil {
					c.l.drops.unwatch(gp.ID)
				}
				return joinErr(d.dp.RemoveNATGateway(gp.ID, gp.ENI), n.RemoveNATGateway(gp, *sp))
			},
			Undo: func() error {
				n, err := openNet()
				if err != nil {
					return err
				}
				if err := n.AddNATGateway(gp, *sp, curPlan.MTU); err != nil {
					return err
				}
				if err := d.dp.AddNATGateway(cur, gp); err != nil {
					return err
				}
				if c.l.drops != nil {
					return c.l.drops.watchGateways()
				}
				return nil
			}})
	}
	c.markRouting()
	return nil
}

// markRouting sets what routing takes care of back to the running
// topology's in c.rest.
func (c *change) markRouting() {
	c.rest.RouteTables = c.cur.RouteTables
	c.rest.NATGateways = c.cur.NATGateways
	c.rest.ElasticIPs = c.cur.ElasticIPs
	// VPCs and subnets created or deleted, gateways: the frame's. What
	// stays is compared with itself, in the running order.
	vpcs := make([]vpc.VPC, 0, len(c.cur.VPCs))
	for _, o := range c.cur.VPCs {
		v := o
		if n := c.next.VPC(o.ID); n != nil {
			v = *n
			v.MainTable = o.MainTable
		}
		vpcs = append(vpcs, v)
	}
	c.rest.VPCs = vpcs
	subnets := make([]vpc.Subnet, 0, len(c.cur.Subnets))
	for _, o := range c.cur.Subnets {
		s := o
		if n := c.next.Subnet(o.ID); n != nil {
			s = *n
			s.RouteTable = o.RouteTable
		}
		subnets = append(subnets, s)
	}
	c.rest.Subnets = subnets
	c.rest.InternetGateways = c.cur.InternetGateways
	c.rest.EgressOnlyGateways = c.cur.EgressOnlyGateways
	c.rest.Peerings = c.cur.Peerings
}

// sameFixedFrame: what routing cannot change live is the same (peerings,
// gateway endpoints).
func sameFixedFrame(cur, next *vpc.Topology) bool {
	return samePosFree(cur.Endpoints, next.Endpoints)
}

// natDiff lists the NAT gateways next adds and those it deletes, by id.
func natDiff(cur, next *vpc.Topology) (added, removed []vpc.NATPlan) {
	cp, np := rules.NewPlan(cur), rules.NewPlan(next)
	has := func(p *vpc.Plan, id string) bool {
		return slices.ContainsFunc(p.NATGateways, func(g vpc.NATPlan) bool { return g.ID == id })
	}
	for _, g := range np.NATGateways {
		if !has(cp, g.ID) {
			added = append(added, g)
		}
	}
	for _, g := range cp.NATGateways {
		if !has(np, g.ID) {
			removed = append(removed, g)
		}
	}
	return added, removed
}

// changedTables are next's kernel tables whose routes differ from cur's.
func changedTables(cur, next *vpc.Plan) []vpc.TablePlan {
	var out []vpc.TablePlan
	for _, tp := range next.Routing.Tables {
		old := findTable(cur, tp.NS, tp.Table)
		if old == nil || !slices.Equal(old.Routes, tp.Routes) {
			out = append(out, tp)
		}
	}
	return out
}

func findTable(p *vpc.Plan, ns string, table int) *vpc.TablePlan {
	for i := range p.Routing.Tables {
		if t := &p.Routing.Tables[i]; t.NS == ns && t.Table == table {
			return t
		}
	}
	return nil
}

func tableName(tp vpc.TablePlan) string {
	if tp.RouteTable != "" {
		return tp.RouteTable
	}
	return fmt.Sprintf("%d of %s", tp.Table, tp.NS)
}

// setPortRules gives every port whose table changed from a to b its new
// kernel rule.
func setPortRules(n *netns.Net, a, b *vpc.Plan) error {
	for i, p := range b.Routing.Ports {
		if o := findPort(a, p.NS, p.If); o != nil && o.Table == p.Table {
			continue
		}
		if err := n.SetPortRule(p, netns.PortRulePriority(i)); err != nil {
			return err
		}
	}
	return nil
}
