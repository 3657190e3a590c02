package rules

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// NewPlan lays out t (vpc.NewPlan) with its routing (PlanRouting).
func NewPlan(t *vpc.Topology) *vpc.Plan {
	p := vpc.NewPlan(t)
	PlanRouting(p, t)
	return p
}

// Replan lays out t as a change of a running topology laid out as prev
// (vpc.NewPlanFrom), with its routing: route tables prev has keep their
// kernel tables, new ones get the lowest ids neither uses.
func Replan(prev *vpc.Plan, t *vpc.Topology) *vpc.Plan {
	p := vpc.NewPlanFrom(t, prev)
	planRouting(p, t, prev)
	return p
}

// PlanRouting fills p.Routing: every route table of t compiled
// (CompileRouting) into a kernel table of its VPC's router, numbered from
// vpc.FirstRouteTable in CompileRouting's order, each router's local
// delivery table, the internet namespace's two tables, and every routing
// port with the table it routes by.
//
// The internet [INTERP, docs/semantics-routing-eval.md]: it delivers to
// its hosts, carries public addresses and VPC blocks to their VPC's
// internet gateway (IPv6 to the egress-only gateway when there is no
// internet gateway), sends what hosts address to anything else to the
// first internet gateway (which drops it, TV-43 b), and has no route to a
// VPC without a gateway nor to its public addresses.
func PlanRouting(p *vpc.Plan, t *vpc.Topology) { planRouting(p, t, nil) }

func planRouting(p *vpc.Plan, t *vpc.Topology, prev *vpc.Plan) {
	r := CompileRouting(t)
	rp := &vpc.RoutingPlan{}
	kernelID := map[string]int{}      // route table id -> its kernel table
	used := map[string]map[int]bool{} // router namespace -> kernel ids taken
	take := func(ns string, id int) {
		if used[ns] == nil {
			used[ns] = map[int]bool{}
		}
		used[ns][id] = true
	}
	kept := map[string]int{}
	if prev != nil && prev.Routing != nil {
		for _, tp := range prev.Routing.Tables {
			if tp.RouteTable != "" {
				kept[tp.NS+"/"+tp.RouteTable] = tp.Table
				take(tp.NS, tp.Table)
			}
		}
	}
	for _, ct := range r.Tables {
		rt := p.Router(ct.VPC)
		if rt == nil {
			continue
		}
		id, ok := kept[rt.NS+"/"+ct.ID]
		if !ok {
			id = vpc.FirstRouteTable
			for used[rt.NS][id] {
				id++
			}
			take(rt.NS, id)
		}
		kernelID[ct.ID] = id
		rp.Tables = append(rp.Tables, vpc.TablePlan{NS: rt.NS, Table: id, RouteTable: ct.ID, VPC: ct.VPC, Routes: kernelRoutes(p, ct.VPC, ct.Routes)})
	}
	for _, rt := range p.Routers {
		rp.Tables = append(rp.Tables, vpc.TablePlan{NS: rt.NS, Table: vpc.LocalTable, VPC: rt.VPC, Routes: kernelRoutes(p, rt.VPC, r.Local[rt.VPC])})
	}
	gw, hosts := internetTables(p, t, r)
	rp.Tables = append(rp.Tables, gw, hosts)

	for _, sp := range p.Subnets {
		id := r.SubnetTable[sp.SubnetID]
		rp.Ports = append(rp.Ports, vpc.PortPlan{NS: sp.RouterNS, If: sp.UplinkRouterIf, Ifindex: sp.RouterIfindex, Kind: vpc.PortSubnet,
			VPC: sp.VPC, Subnet: sp.SubnetID, Table: kernelID[id], RouteTable: id})
	}
	for _, l := range p.Links {
		a := vpc.PortPlan{NS: l.A.NS, If: l.A.If, Ifindex: l.A.Ifindex, VPC: l.VPC, Link: l.ID, Table: vpc.LocalTable}
		b := vpc.PortPlan{NS: l.B.NS, If: l.B.If, Ifindex: l.B.Ifindex, Link: l.ID, Table: vpc.InternetGatewaysTable}
		switch l.Kind {
		case vpc.LinkIGW:
			a.Kind, b.Kind = vpc.PortIGW, vpc.PortInternetIGW
		case vpc.LinkEIGW:
			a.Kind, b.Kind = vpc.PortEIGW, vpc.PortInternetEIGW
		case vpc.LinkPeering:
			a.Kind, b.Kind = vpc.PortPeering, vpc.PortPeering
			b.VPC, b.Table = l.PeerVPC, vpc.LocalTable
		case vpc.LinkEndpoint:
			a.Kind = vpc.PortEndpoint
		}
		rp.Ports = append(rp.Ports, a)
		if b.Ifindex != 0 {
			rp.Ports = append(rp.Ports, b)
		}
	}
	for _, h := range p.Hosts {
		rp.Ports = append(rp.Ports, vpc.PortPlan{NS: h.PeerNS, If: h.PeerIf, Ifindex: h.PeerIfindex, Kind: vpc.PortInternetHost, Table: vpc.InternetHostsTable})
	}
	p.Routing = rp
}

// kernelRoutes turns compiled routes of router vpcID into kernel routes:
// next hops are the target's address on the port that leads to it.
func kernelRoutes(p *vpc.Plan, vpcID string, rs []CompiledRoute) []vpc.KernelRoute {
	var out []vpc.KernelRoute
	for _, c := range rs {
		v4 := c.Dest.Addr().Is4()
		kr := vpc.KernelRoute{Dst: c.Dest, Type: vpc.RouteBlackhole}
		switch c.Kind {
		case CompiledSubnet:
			if sp := p.Subnet(c.Target); sp != nil {
				kr.Type, kr.Dev = vpc.RouteUnicast, sp.UplinkRouterIf
			}
		case CompiledNoENI:
			kr.Type = vpc.RouteProhibit
		case CompiledNAT:
			if g := p.NATGateway(c.Target); g != nil && v4 {
				kr = viaENI(p, kr, &g.ENI, v4)
			}
		case CompiledENI:
			if e := p.ENI(c.Target); e != nil {
				kr = viaENI(p, kr, e, v4)
			}
		case CompiledIGW, CompiledEIGW, CompiledPeering, CompiledEndpoint:
			l := p.Link(c.Target)
			if l == nil || (c.Kind == CompiledEIGW && v4) {
				break
			}
			near, far := l.A, l.B
			if l.Kind == vpc.LinkPeering && l.VPC != vpcID {
				near, far = l.B, l.A
			}
			kr.Type, kr.Dev, kr.Via = vpc.RouteUnicast, near.If, far.Addr.Addr()
			if !v4 {
				kr.Via = far.LL
			}
		}
		out = append(out, kr)
	}
	return out
}

// viaENI routes to an ENI through its subnet's port: next hop its primary
// IPv4 (or IPv6 for an IPv6 route; an ENI without one cannot take it).
func viaENI(p *vpc.Plan, kr vpc.KernelRoute, e *vpc.ENIPlan, v4 bool) vpc.KernelRoute {
	sp := p.Subnet(e.SubnetID)
	if sp == nil {
		return kr
	}
	via := e.Addr.Addr()
	if !v4 {
		if !e.AddrV6.IsValid() {
			return kr
		}
		via = e.AddrV6.Addr()
	}
	kr.Type, kr.Dev, kr.Via = vpc.RouteUnicast, sp.UplinkRouterIf, via
	return kr
}

// internetTables are the internet namespace's tables: what arrives from a
// gateway, and what hosts send (see PlanRouting).
func internetTables(p *vpc.Plan, t *vpc.Topology, r *Routing) (gw, hosts vpc.TablePlan) {
	gw = vpc.TablePlan{NS: p.InternetNS, Table: vpc.InternetGatewaysTable}
	seen := map[netip.Prefix]bool{}
	add := func(kr vpc.KernelRoute) {
		if kr.Dst.IsValid() && !seen[kr.Dst] {
			seen[kr.Dst] = true
			gw.Routes = append(gw.Routes, kr)
		}
	}
	for _, h := range p.Hosts {
		add(vpc.KernelRoute{Dst: h.Addr, Dev: h.PeerIf})
		add(vpc.KernelRoute{Dst: h.AddrV6, Dev: h.PeerIf})
	}
	links := map[string]map[vpc.LinkKind]*vpc.LinkPlan{}
	var firstIGW *vpc.LinkPlan
	for i := range p.Links {
		l := &p.Links[i]
		if l.Kind != vpc.LinkIGW && l.Kind != vpc.LinkEIGW {
			continue
		}
		if links[l.VPC] == nil {
			links[l.VPC] = map[vpc.LinkKind]*vpc.LinkPlan{}
		}
		links[l.VPC][l.Kind] = l
		if l.Kind == vpc.LinkIGW && firstIGW == nil {
			firstIGW = l
		}
	}
	var unrouted []netip.Prefix
	for _, m := range r.Public {
		if l := links[m.VPC][vpc.LinkIGW]; l != nil {
			add(vpc.KernelRoute{Dst: netip.PrefixFrom(m.Public, 32), Dev: l.B.If, Via: l.A.Addr.Addr()})
		} else {
			// a public address of a VPC without an internet gateway: the
			// internet has no route to it, as to the VPC's blocks
			unrouted = append(unrouted, netip.PrefixFrom(m.Public, 32))
		}
	}
	for i := range t.VPCs {
		vp := &t.VPCs[i]
		igw, eigw := links[vp.ID][vpc.LinkIGW], links[vp.ID][vpc.LinkEIGW]
		for _, c := range vp.IPv4CIDRs() {
			if igw != nil {
				add(vpc.KernelRoute{Dst: c.Masked(), Dev: igw.B.If, Via: igw.A.Addr.Addr()})
			} else {
				unrouted = append(unrouted, c.Masked())
			}
		}
		var v6 []netip.Prefix
		if vp.IPv6CIDR.IsValid() {
			v6 = append(v6, vp.IPv6CIDR.Masked())
		} else {
			for _, sn := range t.Subnets {
				if sn.IPv6CIDR.IsValid() && p.Subnet(sn.ID) != nil && p.Subnet(sn.ID).VPC == vp.ID {
					v6 = append(v6, sn.IPv6CIDR.Masked())
				}
			}
		}
		for _, c := range v6 {
			switch {
			case igw != nil:
				add(vpc.KernelRoute{Dst: c, Dev: igw.B.If, Via: igw.A.LL})
			case eigw != nil:
				add(vpc.KernelRoute{Dst: c, Dev: eigw.B.If, Via: eigw.A.LL})
			default:
				unrouted = append(unrouted, c)
			}
		}
	}
	// Both tables: a host's packet, or one an instance sends out through
	// its internet gateway, to an unrouted address is dropped (NO_ROUTE).
	for _, c := range unrouted {
		if !seen[c] {
			seen[c] = true
			gw.Routes = append(gw.Routes, vpc.KernelRoute{Dst: c, Type: vpc.RouteUnreachable})
		}
	}
	hosts = vpc.TablePlan{NS: p.InternetNS, Table: vpc.InternetHostsTable, Routes: append([]vpc.KernelRoute(nil), gw.Routes...)}
	if firstIGW != nil {
		hosts.Routes = append(hosts.Routes, vpc.KernelRoute{Dst: netip.MustParsePrefix("0.0.0.0/0"), Dev: firstIGW.B.If, Via: firstIGW.A.Addr.Addr()})
	}
	return gw, hosts
}
