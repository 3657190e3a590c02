package rules

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// Route tables compiled for a longest-prefix-match FIB (the datapath's
// kernel routing tables, one per route table): a list of prefixes, each
// with what happens to a packet whose longest match it is. The lookup rules
// of RT-9..RT-16 (prefix-list length, static over prefix list over
// propagated, blackholes winning) are resolved here, once, so that a plain
// longest-prefix match over the compiled list decides exactly as
// (*view).lookup does; TestCompiledTablesMatchLookup checks it on random
// routed topologies.

// CompiledKind is what a compiled route does with a packet.
type CompiledKind int

// Compiled route kinds.
const (
	// CompiledSubnet delivers on a subnet of the table's VPC (Target: the
	// subnet id): the local route, narrowed to the subnet's block.
	CompiledSubnet CompiledKind = iota + 1
	// CompiledNoENI is the rest of a VPC block that the local route
	// covers: no subnet holds the address (NO_ENI_AT_ADDRESS, Target: the
	// VPC id).
	CompiledNoENI
	// CompiledBlackhole drops (BAD_STATE_ROUTE, RT-15, RT-16).
	CompiledBlackhole
	CompiledIGW      // to the internet gateway Target
	CompiledEIGW     // to the egress-only internet gateway Target
	CompiledNAT      // to the NAT gateway Target
	CompiledENI      // to the network interface Target (an instance target: its primary ENI)
	CompiledPeering  // to the peering connection Target
	CompiledEndpoint // to the gateway endpoint Target
)

var compiledKindNames = map[CompiledKind]string{
	CompiledSubnet: "subnet", CompiledNoENI: "no-eni", CompiledBlackhole: "blackhole", CompiledIGW: "internet-gateway",
	CompiledEIGW: "egress-only-internet-gateway", CompiledNAT: "nat-gateway", CompiledENI: "network-interface",
	CompiledPeering: "vpc-peering-connection", CompiledEndpoint: "gateway-endpoint",
}

func (k CompiledKind) String() string { return compiledKindNames[k] }

// CompiledRoute is one prefix of a compiled table.
type CompiledRoute struct {
	Dest   netip.Prefix
	Kind   CompiledKind
	Target string    // the subnet, VPC, gateway, NAT gateway, ENI, peering or endpoint id
	From   vpc.Route // the table's route it comes from
}

// CompiledTable is one effective route table (RT-3: including the main
// tables and the table `public: true` stands for when the topology does
// not define them) compiled for a FIB.
type CompiledTable struct {
	ID      string
	VPC     string
	Main    bool
	Subnets []string // the subnets using it (explicitly or as their VPC's main table)
	Routes  []CompiledRoute
}

// Routing is a topology's routing as the datapath programs it.
type Routing struct {
	Tables []CompiledTable // every table a subnet uses, then the other tables of the topology
	// SubnetTable is the id of each subnet's effective table.
	SubnetTable map[string]string
	// Local is, per VPC id, its local delivery alone (the subnets and the
	// VPC blocks): how a packet entering the VPC through a gateway or a
	// peering reaches its destination (EIP-3, PCX-7).
	Local map[string][]CompiledRoute
	// Public is every public IPv4 and the private one it maps to, with the
	// VPC whose internet gateway maps it (EIP-1, EIP-9..EIP-11).
	Public []vpc.PublicMapping
}

// Table returns the compiled table id, or nil.
func (r *Routing) Table(id string) *CompiledTable {
	for i := range r.Tables {
		if r.Tables[i].ID == id {
			return &r.Tables[i]
		}
	}
	return nil
}

// CompileRouting compiles every effective route table of t, as the
// datapath plans it (vpc.Implied: a topology built in code without route
// tables gets the main and public tables and the gateway it implies).
func CompileRouting(t *vpc.Topology) *Routing {
	t = vpc.Implied(t)
	v := newView(t)
	r := &Routing{SubnetTable: map[string]string{}, Local: map[string][]CompiledRoute{}}
	seen := map[string]int{}
	add := func(rt *vpc.RouteTable) int {
		if i, ok := seen[rt.ID]; ok {
			return i
		}
		vp := v.t.VPC(rt.VPC)
		if vp == nil && len(t.VPCs) > 0 {
			vp = &t.VPCs[0]
		}
		ct := CompiledTable{ID: rt.ID, VPC: vpcID(vp), Main: rt.Main, Routes: v.compile(rt, vp)}
		r.Tables = append(r.Tables, ct)
		seen[rt.ID] = len(r.Tables) - 1
		return len(r.Tables) - 1
	}
	for i := range t.Subnets {
		sn := &t.Subnets[i]
		rt := v.tableOf(sn)
		k := add(rt)
		r.Tables[k].Subnets = append(r.Tables[k].Subnets, sn.ID)
		r.SubnetTable[sn.ID] = rt.ID
	}
	for i := range t.RouteTables {
		add(&t.RouteTables[i])
	}
	for i := range t.VPCs {
		vp := &t.VPCs[i]
		var local []CompiledRoute
		for _, c := range vp.CIDRs() {
			if c.IsValid() {
				local = append(local, v.expandLocal(vp, vpc.Route{Dest: c.Masked(), Target: vpc.RouteTarget{Kind: vpc.TargetLocal}}, nil)...)
			}
		}
		// A VPC without an IPv6 block still delivers its subnets' IPv6
		// blocks (topologies built in code).
		for j := range t.Subnets {
			sn := &t.Subnets[j]
			if vpcOf(v.t, sn) == vp && sn.IPv6CIDR.IsValid() && !slices.ContainsFunc(local, func(c CompiledRoute) bool { return c.Dest.Contains(sn.IPv6CIDR.Addr()) }) {
				local = append(local, CompiledRoute{Dest: sn.IPv6CIDR.Masked(), Kind: CompiledSubnet, Target: sn.ID,
					From: vpc.Route{Dest: sn.IPv6CIDR.Masked(), Target: vpc.RouteTarget{Kind: vpc.TargetLocal}}})
			}
		}
		sortCompiled(local)
		r.Local[vp.ID] = local
	}
	for pub, ps := range v.pub {
		m := vpc.PublicMapping{Public: pub, Private: ps.priv, ENI: ps.eni.ID, VPC: vpcID(ps.eni.VPC)}
		if ps.eni.NGW != nil {
			m.ElasticIP = ps.eni.NGW.ElasticIP
		}
		for _, e := range t.ElasticIPs {
			if e.PublicIP == pub {
				m.ElasticIP = e.ID
			}
		}
		r.Public = append(r.Public, m)
	}
	slices.SortFunc(r.Public, func(a, b vpc.PublicMapping) int { return a.Public.Compare(b.Public) })
	return r
}

// compile turns rt into prefixes: the winner of each distinct prefix (the
// table's CIDRs, every entry of its prefix lists), with local routes
// narrowed to the VPC's subnets where no more specific route of the table
// covers them.
func (v *view) compile(rt *vpc.RouteTable, vp *vpc.VPC) []CompiledRoute {
	type cand struct {
		r     vpc.Route
		class int
	}
	best := map[netip.Prefix]cand{}
	consider := func(p netip.Prefix, r vpc.Route, class int) {
		p = p.Masked()
		c, ok := best[p]
		if !ok || class < c.class || (class == c.class && strings.Compare(r.DestPrefixList, c.r.DestPrefixList) < 0) {
			best[p] = cand{r, class}
		}
	}
	for _, r := range rt.Routes {
		switch {
		case r.Dest.IsValid():
			class := classStatic
			if r.Propagated {
				class = classPropagated
			}
			consider(r.Dest, r, class)
		case r.DestPrefixList != "":
			if pl := v.t.PrefixList(r.DestPrefixList); pl != nil {
				for _, c := range pl.CIDRs {
					consider(c, r, classPrefixList)
				}
			}
		}
	}
	var out []CompiledRoute
	for p, c := range best {
		r := c.r
		cr := CompiledRoute{Dest: p, From: r, Target: r.Target.ID}
		switch {
		case !v.targetUsable(rt, &r):
			cr.Kind = CompiledBlackhole
		case r.Target.Kind == vpc.TargetLocal:
			var longer []netip.Prefix
			for q := range best {
				if q.Bits() > p.Bits() && p.Contains(q.Addr()) {
					longer = append(longer, q)
				}
			}
			out = append(out, v.expandLocal(vp, vpc.Route{Dest: p, Target: r.Target, Propagated: r.Propagated, DestPrefixList: r.DestPrefixList}, longer)...)
			continue
		case r.Target.Kind == vpc.TargetIGW:
			cr.Kind = CompiledIGW
		case r.Target.Kind == vpc.TargetEIGW:
			cr.Kind = CompiledEIGW
		case r.Target.Kind == vpc.TargetNAT:
			cr.Kind = CompiledNAT
		case r.Target.Kind == vpc.TargetENI || r.Target.Kind == vpc.TargetInstance:
			cr.Kind, cr.Target = CompiledENI, v.byID[r.Target.ID].ID
		case r.Target.Kind == vpc.TargetPeering:
			cr.Kind = CompiledPeering
		case r.Target.Kind == vpc.TargetEndpoint:
			cr.Kind = CompiledEndpoint
		default:
			cr.Kind = CompiledBlackhole
		}
		out = append(out, cr)
	}
	sortCompiled(out)
	return out
}

// expandLocal narrows a local route for block p of VPC vp to the subnets in
// it (each delivered on its subnet) and the rest (no ENI). A subnet is left
// to the table when a route of the table (longer, more specific than p)
// contains it: that route decides there, as (*view).lookup would.
func (v *view) expandLocal(vp *vpc.VPC, r vpc.Route, longer []netip.Prefix) []CompiledRoute {
	p := r.Dest
	out := []CompiledRoute{{Dest: p, Kind: CompiledNoENI, Target: vpcID(vp), From: r}}
	for i := range v.t.Subnets {
		sn := &v.t.Subnets[i]
		if vpcOf(v.t, sn) != vp {
			continue
		}
		for _, c := range []netip.Prefix{sn.CIDR, sn.IPv6CIDR} {
			if !c.IsValid() || c.Addr().Is4() != p.Addr().Is4() || c.Bits() < p.Bits() || !p.Contains(c.Addr()) {
				continue
			}
			c = c.Masked()
			if slices.ContainsFunc(longer, func(q netip.Prefix) bool { return q.Bits() <= c.Bits() && q.Contains(c.Addr()) }) {
				continue
			}
			if c == p {
				out[0] = CompiledRoute{Dest: c, Kind: CompiledSubnet, Target: sn.ID, From: r}
				continue
			}
			out = append(out, CompiledRoute{Dest: c, Kind: CompiledSubnet, Target: sn.ID, From: r})
		}
	}
	return out
}

// sortCompiled orders routes IPv4 first, then by address and length, so
// that compiled tables compare and print the same every time.
func sortCompiled(rs []CompiledRoute) {
	slices.SortFunc(rs, func(a, b CompiledRoute) int {
		if a.Dest.Addr().Is4() != b.Dest.Addr().Is4() {
			if a.Dest.Addr().Is4() {
				return -1
			}
			return 1
		}
		if c := a.Dest.Addr().Compare(b.Dest.Addr()); c != 0 {
			return c
		}
		return a.Dest.Bits() - b.Dest.Bits()
	})
}

// LookupCompiled is the longest-prefix match over compiled routes; ok is
// false when no route matches.
func LookupCompiled(rs []CompiledRoute, a netip.Addr) (CompiledRoute, bool) {
	a = a.Unmap()
	best, ok := CompiledRoute{}, false
	for _, r := range rs {
		if r.Dest.Addr().Is4() == a.Is4() && r.Dest.Contains(a) && (!ok || r.Dest.Bits() > best.Dest.Bits()) {
			best, ok = r, true
		}
	}
	return best, ok
}
