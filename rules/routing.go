package rules

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// The routing picture of a completed topology (one vpc.Parse or
// vpc.Validate returned, edited since only in ways a topology file could
// say): each subnet's route table, NACL and VPC are named, tables hold their
// local and endpoint routes, every ENI has its id and groups, implicit
// gateways and tables exist. vpc's lookups answer the rest; the view adds
// what a packet needs many times: ENIs by id and address, the internet
// gateways' one-to-one NAT, and remembers the answers of vpc's lookups a
// walk repeats (a subnet's NACL and table, whether a route's target is
// usable, the router's addresses).

// eniRef is one network interface: an instance's (primary or secondary) or
// a NAT gateway's requester-managed one (NGW-2).
type eniRef struct {
	ID      string          // ENI id
	Inst    *vpc.Instance   // nil for a NAT gateway's ENI
	ENI     *vpc.ENI        // nil for a NAT gateway's ENI
	NGW     *vpc.NATGateway // the NAT gateway owning it, else nil
	Subnet  *vpc.Subnet
	VPC     *vpc.VPC
	Primary netip.Addr // primary private IPv4: the ENI's side of flow-log records (ENI-4)
}

// ctID is the ENI's key in the SG evaluator and conntrack: the instance id
// for a primary ENI (so single-ENI callers keep naming instances), else the
// ENI id.
func (e *eniRef) ctID() string {
	if e.Inst != nil && e.ENI == &e.Inst.ENI {
		return e.Inst.ID
	}
	return e.ID
}

// owns reports whether a is one of the ENI's own addresses (ENI-1).
func (e *eniRef) owns(a netip.Addr) bool {
	if e.NGW != nil {
		return a.Unmap() == e.Primary
	}
	return e.ENI.HasAddr(a)
}

// checkOff reports whether source/destination check is off (ENI-5).
func (e *eniRef) checkOff() bool { return e.ENI != nil && !e.ENI.SourceDestCheck() }

// name is how paths and explanations show the ENI's owner.
func (e *eniRef) name() string {
	switch {
	case e.NGW != nil:
		return e.NGW.ID
	case e.Inst != nil:
		return e.Inst.ID
	}
	return e.ID
}

type addrKey struct {
	vpc  string
	addr netip.Addr
}

// pubSide is the private side of a public IPv4 (EIP-1, EIP-10).
type pubSide struct {
	eni  *eniRef
	priv netip.Addr
}

// view is built per packet (callers edit topologies in place between
// packets: RT-12, NACL-9), or once per topology when the caller promises
// not to (PathModel.Static, Explainer). It is not safe for concurrent use.
type view struct {
	t    *vpc.Topology
	enis []*eniRef
	byID map[string]*eniRef // ENI ids, instance ids (their primary ENI), NAT gateway ids
	// owner is the first ENI (in topology order) holding each address as
	// its primary, secondary or IPv6 address.
	owner map[netip.Addr]*eniRef
	pub   map[netip.Addr]pubSide // public IPv4 -> private side
	priv  map[addrKey]netip.Addr // (ENI id, private IPv4) -> public IPv4
	// Filled as walks ask, so that a view built for one packet costs
	// only what that packet needs: the subnets' NACLs and tables, and
	// the router's reserved addresses (reservedService).
	subnets  map[*vpc.Subnet]*subnetRef
	reserved map[netip.Addr]struct{}
	usable   map[*vpc.Route]bool // RT-15, by route
}

// subnetRef is what packets crossing a subnet's boundary ask of it.
type subnetRef struct {
	nacl  *vpc.NetworkACL
	table *vpc.RouteTable
}

func newView(t *vpc.Topology) *view {
	n := len(t.Instances) + len(t.NATGateways)
	v := &view{t: t, enis: make([]*eniRef, 0, n), byID: make(map[string]*eniRef, 2*n), owner: make(map[netip.Addr]*eniRef, n),
		pub: map[netip.Addr]pubSide{}, priv: map[addrKey]netip.Addr{}}
	own := func(e *eniRef, a netip.Addr) {
		if a = a.Unmap(); a.IsValid() {
			if _, dup := v.owner[a]; !dup {
				v.owner[a] = e
			}
		}
	}
	id := func(id string, e *eniRef) {
		if _, dup := v.byID[id]; !dup && id != "" {
			v.byID[id] = e
		}
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, en := range in.ENIs() {
			sn := t.Subnet(en.Subnet)
			e := &eniRef{ID: en.ID, Inst: in, ENI: en, Subnet: sn, VPC: vpcOf(t, sn), Primary: en.PrivateIP.Unmap()}
			v.enis = append(v.enis, e)
			id(e.ID, e)
			if en == &in.ENI {
				id(in.ID, e) // an instance id names its primary ENI (RT-13, EIP-10)
			}
			own(e, en.PrivateIP)
			for _, a := range en.SecondaryIPs {
				own(e, a)
			}
			own(e, en.IPv6)
		}
	}
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		sn := t.Subnet(g.Subnet)
		e := &eniRef{ID: g.ENI, NGW: g, Subnet: sn, VPC: vpcOf(t, sn), Primary: g.PrivateIP.Unmap()}
		v.enis = append(v.enis, e)
		id(e.ID, e)
		id(g.ID, e)
		own(e, g.PrivateIP)
	}
	// The internet gateways' one-to-one NAT (EIP-1): the private address
	// names the ENI, so an address moved to another ENI of the VPC keeps its
	// Elastic IP and one no ENI holds any more has lost it (EIP-11).
	for _, m := range t.PublicMappings() {
		e := v.eniAt(t.VPC(m.VPC), m.Private)
		if e == nil || !m.Public.IsValid() {
			continue
		}
		pub, priv := m.Public.Unmap(), m.Private.Unmap()
		v.pub[pub] = pubSide{e, priv}
		v.priv[addrKey{e.ID, priv}] = pub
	}
	return v
}

// vpcOf is the VPC of a subnet, or nil.
func vpcOf(t *vpc.Topology, sn *vpc.Subnet) *vpc.VPC {
	if sn == nil {
		return nil
	}
	return t.VPC(sn.VPC)
}

// vpcOfAddr is the VPC one of whose CIDRs holds a, or nil.
func (v *view) vpcOfAddr(a netip.Addr) *vpc.VPC { return v.t.VPCOfAddr(a.Unmap()) }

// eniAt is the ENI of VPC vp owning address a, or nil.
func (v *view) eniAt(vp *vpc.VPC, a netip.Addr) *eniRef {
	if e := v.owner[a.Unmap()]; e != nil && e.VPC == vp && vp != nil {
		return e
	}
	return nil
}

// eniOwning is the first ENI (in topology order) owning a in any VPC.
func (v *view) eniOwning(a netip.Addr) *eniRef { return v.owner[a.Unmap()] }

// subnetOf is the subnet of VPC vp whose block holds a, or nil.
func (v *view) subnetOf(vp *vpc.VPC, a netip.Addr) *vpc.Subnet {
	if vp == nil {
		return nil
	}
	return v.t.VPCSubnetOf(vp.ID, a)
}

// inSubnet reports whether a is inside the subnet's IPv4 or IPv6 block.
func inSubnet(sn *vpc.Subnet, a netip.Addr) bool { return sn != nil && sn.Contains(a) }

// subnet is sn's NACL and route table, as vpc's lookups name them.
func (v *view) subnet(sn *vpc.Subnet) *subnetRef {
	if r := v.subnets[sn]; r != nil {
		return r
	}
	if v.subnets == nil {
		v.subnets = make(map[*vpc.Subnet]*subnetRef)
	}
	r := &subnetRef{nacl: v.t.NACLOfSubnet(sn.ID), table: v.t.RouteTableOfSubnet(sn.ID)}
	v.subnets[sn] = r
	return r
}

// naclOf is the NACL guarding the subnet (NACL-2, NACL-17).
func (v *view) naclOf(sn *vpc.Subnet) *vpc.NetworkACL { return v.subnet(sn).nacl }

// tableOf is the subnet's route table (RT-3, RT-20).
func (v *view) tableOf(sn *vpc.Subnet) *vpc.RouteTable { return v.subnet(sn).table }

// reservedService is ReservedService(v.t, a), the router's addresses
// gathered once.
func (v *view) reservedService(a netip.Addr) bool {
	a = a.Unmap()
	if reservedRange(a) {
		return true
	}
	if v.reserved == nil {
		v.reserved = make(map[netip.Addr]struct{})
		eachRouterAddr(v.t, func(r netip.Addr) { v.reserved[r] = struct{}{} })
	}
	_, ok := v.reserved[a]
	return ok
}

// sgBypass is SGBypass(v.t, p).
func (v *view) sgBypass(p *Packet) bool {
	return icmpv6LinkControl(p) || v.reservedService(p.Src) || v.reservedService(p.Dst)
}

// igwOf is the id of the internet gateway attached to vp, or "".
func (v *view) igwOf(vp *vpc.VPC) string {
	if vp == nil {
		return ""
	}
	if g := v.t.IGWOfVPC(vp.ID); g != nil {
		return g.ID
	}
	return ""
}

// eigwOf is the id of the egress-only internet gateway attached to vp, or "".
func (v *view) eigwOf(vp *vpc.VPC) string {
	if vp == nil {
		return ""
	}
	if g := v.t.EIGWOfVPC(vp.ID); g != nil {
		return g.ID
	}
	return ""
}

// Route classes at equal prefix length, best first (RT-11).
const (
	classStatic     = iota // a CIDR route
	classPrefixList        // a prefix-list route
	classPropagated        // a propagated route
)

// RouteDecision is the outcome of one route-table lookup (RT-9..RT-16).
type RouteDecision struct {
	Table *vpc.RouteTable // the table consulted
	Found bool            // some route matches the destination
	Route vpc.Route       // the winning route (when Found)
	Bits  int             // its prefix length (for a prefix list: the longest matching entry, RT-10)
	// Blackhole: the winning route's target is gone or unusable (RT-15);
	// the packet is dropped, never sent on by a shorter route (RT-16).
	Blackhole bool
	// Shadowed is the best matching route the winner beat that has another
	// target (MORE_SPECIFIC_ROUTE / HIGHER_PRIORITY_ROUTE), for explain.
	Shadowed *vpc.Route
	// ShadowReason is MORE_SPECIFIC_ROUTE or HIGHER_PRIORITY_ROUTE.
	ShadowReason string
}

func routeMatch(t *vpc.Topology, r *vpc.Route, dst netip.Addr) (bits, class int, ok bool) {
	switch {
	case r.Dest.IsValid():
		if r.Dest.Addr().Is4() != dst.Is4() || !r.Dest.Contains(dst) {
			return 0, 0, false
		}
		class = classStatic
		if r.Propagated {
			class = classPropagated
		}
		return r.Dest.Bits(), class, true
	case r.DestPrefixList != "":
		pl := t.PrefixList(r.DestPrefixList)
		if pl == nil {
			return 0, 0, false
		}
		bits = -1
		for _, c := range pl.CIDRs {
			if c.Addr().Is4() == dst.Is4() && c.Contains(dst) && c.Bits() > bits {
				bits = c.Bits()
			}
		}
		return bits, classPrefixList, bits >= 0
	}
	return 0, 0, false
}

// lookup selects the route for dst in rt: longest prefix, then static over
// prefix list over propagated, then the lowest prefix-list id (RT-9..RT-11
// with the [INTERP]s of RT-10 and RT-11); order of routes is irrelevant.
func (v *view) lookup(rt *vpc.RouteTable, dst netip.Addr) RouteDecision {
	dst = dst.Unmap()
	d := RouteDecision{Table: rt}
	if rt == nil {
		return d
	}
	// best is the first of the matching routes others may not beat, in
	// the table's order among equals.
	type cand struct{ i, bits, class int }
	beats := func(a, b cand) bool {
		switch {
		case b.i < 0:
			return true
		case a.bits != b.bits:
			return a.bits > b.bits
		case a.class != b.class:
			return a.class < b.class
		}
		return rt.Routes[a.i].DestPrefixList < rt.Routes[b.i].DestPrefixList
	}
	best := func(skip func(r *vpc.Route) bool) cand {
		w := cand{i: -1}
		for i := range rt.Routes {
			r := &rt.Routes[i]
			if skip != nil && skip(r) {
				continue
			}
			if bits, class, ok := routeMatch(v.t, r, dst); ok {
				if c := (cand{i, bits, class}); beats(c, w) {
					w = c
				}
			}
		}
		return w
	}
	w := best(nil)
	if w.i < 0 {
		return d
	}
	win := &rt.Routes[w.i]
	d.Found, d.Route, d.Bits = true, *win, w.bits
	d.Blackhole = !v.targetUsable(rt, win)
	// The best route with another target is the one the winner shadows.
	if s := best(func(r *vpc.Route) bool { return r.Target == win.Target && r.Blackhole == win.Blackhole }); s.i >= 0 {
		r := rt.Routes[s.i]
		d.Shadowed = &r
		d.ShadowReason = "MORE_SPECIFIC_ROUTE"
		if s.bits == w.bits {
			d.ShadowReason = "HIGHER_PRIORITY_ROUTE"
		}
	}
	return d
}

// targetUsable reports whether the route's target carries traffic
// (vpc's RouteUsable, RT-15) and the model does not mark it a blackhole.
func (v *view) targetUsable(rt *vpc.RouteTable, r *vpc.Route) bool {
	if r.Blackhole {
		return false
	}
	if ok, seen := v.usable[r]; seen {
		return ok
	}
	if v.usable == nil {
		v.usable = make(map[*vpc.Route]bool)
	}
	ok := v.t.RouteUsable(rt, r)
	v.usable[r] = ok
	return ok
}

// routeTargetText is a route's target as AWS shows it.
func routeTargetText(r vpc.Route) string {
	switch {
	case r.Target.Kind == vpc.TargetLocal:
		return "local"
	case r.Target.ID != "":
		return r.Target.ID
	}
	return "blackhole"
}

// routeDestText is a route's destination as AWS shows it.
func routeDestText(r vpc.Route) string {
	if r.DestPrefixList != "" {
		return r.DestPrefixList
	}
	return r.Dest.String()
}
