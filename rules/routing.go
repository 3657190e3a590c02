package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// The routing picture of a topology (aws-routing.md §1): each subnet's
// effective route table, the gateways, every ENI and who owns which
// address. A topology written before route tables existed (subnets with
// `public: true` and no tables, as Go-built test topologies still are) gets
// the tables the shorthand stands for (RT-20): each VPC's main table with
// its local routes, and for public subnets a table adding 0.0.0.0/0 and ::/0
// to the VPC's internet gateway (vpc.DefaultIGWID when the file names none).

// eniRef is one network interface: an instance's (primary or secondary) or
// a NAT gateway's requester-managed one (NGW-2).
type eniRef struct {
	ID      string          // ENI id; an instance's id for a primary ENI without one
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
	a = a.Unmap()
	if e.NGW != nil {
		return a == e.Primary
	}
	if e.ENI.PrivateIP == a || (e.ENI.IPv6.IsValid() && e.ENI.IPv6 == a) {
		return true
	}
	return slices.Contains(e.ENI.SecondaryIPs, a)
}

// checkOff reports whether source/destination check is off (ENI-5).
func (e *eniRef) checkOff() bool { return e.ENI != nil && e.ENI.SourceDestCheckDisabled }

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

// view is built per packet: topologies are small, and callers edit them in
// place between packets (RT-12, NACL-9: changes apply to the next packet).
type view struct {
	t      *vpc.Topology
	enis   []*eniRef
	byAddr map[addrKey]*eniRef
	byID   map[string]*eniRef
	pub    map[netip.Addr]pubSide // public IPv4 -> private side
	priv   map[addrKey]netip.Addr // (ENI id, private IPv4) -> public IPv4
	tables map[string]*vpc.RouteTable
	legacy bool // no route tables at all: synthesize what the shorthand implies
	// owner is the first ENI (in enis order) owning each address, for
	// eniOwning: one lookup instead of a scan of every ENI per packet.
	owner map[netip.Addr]*eniRef
}

func newView(t *vpc.Topology) *view {
	v := &view{t: t, byAddr: map[addrKey]*eniRef{}, byID: map[string]*eniRef{},
		pub: map[netip.Addr]pubSide{}, priv: map[addrKey]netip.Addr{}, tables: map[string]*vpc.RouteTable{},
		legacy: len(t.RouteTables) == 0}
	add := func(e *eniRef) {
		v.enis = append(v.enis, e)
		if _, dup := v.byID[e.ID]; !dup {
			v.byID[e.ID] = e
		}
		vid := ""
		if e.VPC != nil {
			vid = e.VPC.ID
		}
		own := []netip.Addr{e.Primary}
		if e.ENI != nil {
			own = append(own, e.ENI.SecondaryIPs...)
			own = append(own, e.ENI.IPv6)
		}
		for _, a := range own {
			if a.IsValid() {
				if _, dup := v.byAddr[addrKey{vid, a.Unmap()}]; !dup {
					v.byAddr[addrKey{vid, a.Unmap()}] = e
				}
			}
		}
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for j, en := range in.ENIs() {
			id := en.ID
			switch {
			case id == "" && j == 0:
				id = in.ID
			case id == "":
				id = fmt.Sprintf("%s-eni%d", in.ID, j) // Go-built topologies may leave ids out
			}
			sn := t.Subnet(en.Subnet)
			e := &eniRef{ID: id, Inst: in, ENI: en, Subnet: sn, VPC: v.vpcOfSubnet(sn), Primary: en.PrivateIP.Unmap()}
			add(e)
			if j == 0 && in.ID != id {
				v.byID[in.ID] = e // an instance id names its primary ENI (RT-13, EIP-10)
			}
		}
	}
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		id := g.ENI
		if id == "" {
			id = "eni-" + strings.TrimPrefix(g.ID, "nat-")
		}
		sn := t.Subnet(g.Subnet)
		e := &eniRef{ID: id, NGW: g, Subnet: sn, VPC: v.vpcOfSubnet(sn), Primary: g.PrivateIP.Unmap()}
		add(e)
		if _, dup := v.byID[g.ID]; !dup {
			v.byID[g.ID] = e
		}
	}
	// Public IPv4s: an Elastic IP on an ENI's primary private IP releases
	// its auto-assigned public IP (EIP-9); one public IP per private IP
	// (EIP-10).
	mapPub := func(pub netip.Addr, e *eniRef, priv netip.Addr) {
		if !pub.IsValid() || e == nil || !priv.IsValid() {
			return
		}
		pub, priv = pub.Unmap(), priv.Unmap()
		v.pub[pub] = pubSide{e, priv}
		v.priv[addrKey{e.ID, priv}] = pub
	}
	withEIP := map[*eniRef]bool{} // ENIs whose primary private IP has an EIP
	for i := range t.ElasticIPs {
		eip := &t.ElasticIPs[i]
		if e := v.byID[eip.ENI]; e != nil && (!eip.PrivateIP.IsValid() || eip.PrivateIP.Unmap() == e.Primary) {
			withEIP[e] = true
		}
	}
	for _, e := range v.enis {
		if e.ENI != nil && !withEIP[e] {
			mapPub(e.ENI.PublicIP, e, e.Primary)
		}
	}
	for i := range t.ElasticIPs {
		eip := &t.ElasticIPs[i]
		if eip.ENI == "" {
			continue
		}
		e := v.byID[eip.ENI]
		priv := eip.PrivateIP
		switch {
		case e == nil:
			continue
		case !priv.IsValid():
			priv = e.Primary
		case !e.owns(priv):
			// EIP-11: a secondary address moved to another ENI of the VPC
			// keeps its EIP; one no ENI holds any more has lost it.
			if e = v.eniAt(e.VPC, priv); e == nil {
				continue
			}
		}
		mapPub(eip.PublicIP, e, priv)
	}
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		if g.ElasticIP == "" {
			continue
		}
		for j := range t.ElasticIPs {
			if eip := &t.ElasticIPs[j]; eip.ID == g.ElasticIP || eip.PublicIP.String() == g.ElasticIP {
				mapPub(eip.PublicIP, v.byID[g.ID], g.PrivateIP)
			}
		}
	}
	for i := range t.RouteTables {
		v.tables[t.RouteTables[i].ID] = &t.RouteTables[i]
	}
	return v
}

// firstVPC reports whether v is the topology's first VPC, whose implicit
// objects carry the plain default ids (vpc.DefaultSGID, ...).
func (v *view) defaultID(vp *vpc.VPC, base string) string {
	if vp == nil || len(v.t.VPCs) == 0 || vp.ID == v.t.VPCs[0].ID {
		return base
	}
	return base + "-" + vp.ID
}

// vpcOfSubnet is the subnet's VPC: the one it names, else the one whose
// CIDRs hold it, else the first (Go-built single-VPC topologies leave
// Subnet.VPC empty).
func (v *view) vpcOfSubnet(sn *vpc.Subnet) *vpc.VPC {
	t := v.t
	if len(t.VPCs) == 0 {
		return nil
	}
	if sn == nil {
		return &t.VPCs[0]
	}
	if sn.VPC != "" {
		if vp := t.VPC(sn.VPC); vp != nil {
			return vp
		}
	}
	if sn.CIDR.IsValid() {
		if vp := t.VPCOfAddr(sn.CIDR.Addr()); vp != nil {
			return vp
		}
	}
	return &t.VPCs[0]
}

// vpcOfAddr is the VPC one of whose CIDRs holds a, or nil.
func (v *view) vpcOfAddr(a netip.Addr) *vpc.VPC { return v.t.VPCOfAddr(a.Unmap()) }

// eniAt is the ENI of VPC vp owning address a, or nil.
func (v *view) eniAt(vp *vpc.VPC, a netip.Addr) *eniRef {
	if vp == nil {
		return nil
	}
	return v.byAddr[addrKey{vp.ID, a.Unmap()}]
}

// eniOwning is the first ENI (in topology order) owning a in any VPC.
func (v *view) eniOwning(a netip.Addr) *eniRef {
	a = a.Unmap()
	if v.owner == nil {
		v.owner = map[netip.Addr]*eniRef{}
		for _, e := range v.enis {
			own := []netip.Addr{e.Primary}
			if e.ENI != nil {
				own = append(append(own, e.ENI.PrivateIP, e.ENI.IPv6), e.ENI.SecondaryIPs...)
			}
			for _, x := range own {
				if x.IsValid() && e.owns(x.Unmap()) {
					if _, dup := v.owner[x.Unmap()]; !dup {
						v.owner[x.Unmap()] = e
					}
				}
			}
		}
	}
	return v.owner[a]
}

// eniOfInstance is the instance's ENI holding a, its primary when a is not
// one of its addresses.
func (v *view) eniOfInstance(in *vpc.Instance, a netip.Addr) *eniRef {
	var primary *eniRef
	for _, e := range v.enis {
		if e.Inst != in {
			continue
		}
		if primary == nil {
			primary = e
		}
		if a.IsValid() && e.owns(a) {
			return e
		}
	}
	return primary
}

// subnetOf is the subnet of VPC vp whose block holds a, or nil.
func (v *view) subnetOf(vp *vpc.VPC, a netip.Addr) *vpc.Subnet {
	a = a.Unmap()
	for i := range v.t.Subnets {
		s := &v.t.Subnets[i]
		if v.vpcOfSubnet(s) != vp {
			continue
		}
		if (s.CIDR.IsValid() && s.CIDR.Contains(a)) || (s.IPv6CIDR.IsValid() && s.IPv6CIDR.Contains(a)) {
			return s
		}
	}
	return nil
}

// inSubnet reports whether a is inside the subnet's IPv4 or IPv6 block.
func inSubnet(sn *vpc.Subnet, a netip.Addr) bool {
	a = a.Unmap()
	return sn != nil && ((sn.CIDR.IsValid() && sn.CIDR.Contains(a)) || (sn.IPv6CIDR.IsValid() && sn.IPv6CIDR.Contains(a)))
}

// naclOf is the NACL guarding the subnet: its association, else its VPC's
// default NACL (NACL-2, NACL-17).
func (v *view) naclOf(sn *vpc.Subnet) *vpc.NetworkACL {
	if sn == nil {
		return nil
	}
	if sn.NetworkACL != "" {
		return v.t.NetworkACL(sn.NetworkACL)
	}
	vp := v.vpcOfSubnet(sn)
	if vp != nil && vp.DefaultNACL != "" {
		if a := v.t.NetworkACL(vp.DefaultNACL); a != nil {
			return a
		}
	}
	return v.t.NetworkACL(v.defaultID(vp, vpc.DefaultNACLID))
}

// igwOf is the internet gateway attached to vp ("" when none). Topologies
// without route tables have one implicitly, as vpcemu VPCs always had.
func (v *view) igwOf(vp *vpc.VPC) string {
	if vp == nil {
		return ""
	}
	for i := range v.t.InternetGateways {
		if v.t.InternetGateways[i].VPC == vp.ID {
			return v.t.InternetGateways[i].ID
		}
	}
	if v.legacy && len(v.t.InternetGateways) == 0 {
		return v.defaultID(vp, vpc.DefaultIGWID)
	}
	return ""
}

// eigwOf is the egress-only internet gateway attached to vp, or "".
func (v *view) eigwOf(vp *vpc.VPC) string {
	if vp == nil {
		return ""
	}
	for i := range v.t.EgressOnlyGateways {
		if v.t.EgressOnlyGateways[i].VPC == vp.ID {
			return v.t.EgressOnlyGateways[i].ID
		}
	}
	return ""
}

// vpcOfIGW is the VPC the internet gateway id is attached to, or nil.
func (v *view) vpcOfIGW(id string) *vpc.VPC {
	for i := range v.t.VPCs {
		if v.igwOf(&v.t.VPCs[i]) == id {
			return &v.t.VPCs[i]
		}
	}
	return nil
}

// mainTable is the VPC's main route table (RT-2), synthesized with only the
// local routes when the topology does not define it.
func (v *view) mainTable(vp *vpc.VPC) *vpc.RouteTable {
	if vp.MainTable != "" {
		if rt := v.tables[vp.MainTable]; rt != nil {
			return rt
		}
	}
	for i := range v.t.RouteTables {
		if rt := &v.t.RouteTables[i]; rt.Main && rt.VPC == vp.ID {
			return rt
		}
	}
	id := vp.MainTable
	if id == "" {
		id = v.defaultID(vp, vpc.DefaultMainRouteTableID)
	}
	if rt := v.tables[id]; rt != nil {
		return rt
	}
	rt := &vpc.RouteTable{ID: id, VPC: vp.ID, Main: true}
	v.tables[id] = rt
	return rt
}

// publicTable is the table `public: true` stands for (RT-20).
func (v *view) publicTable(vp *vpc.VPC) *vpc.RouteTable {
	id := v.defaultID(vp, vpc.PublicRouteTableID)
	if rt := v.tables[id]; rt != nil {
		return rt
	}
	rt := &vpc.RouteTable{ID: id, VPC: vp.ID}
	if igw := v.igwOf(vp); igw != "" {
		tgt := vpc.RouteTarget{Kind: vpc.TargetIGW, ID: igw}
		rt.Routes = []vpc.Route{{Dest: netip.MustParsePrefix("0.0.0.0/0"), Target: tgt}, {Dest: netip.MustParsePrefix("::/0"), Target: tgt}}
	}
	v.tables[id] = rt
	return rt
}

// tableOf is the subnet's route table: its explicit association, the public
// table of the shorthand, else its VPC's main table (RT-3, RT-20).
func (v *view) tableOf(sn *vpc.Subnet) *vpc.RouteTable {
	vp := v.vpcOfSubnet(sn)
	if sn.RouteTable != "" {
		if rt := v.tables[sn.RouteTable]; rt != nil {
			return rt
		}
	}
	if sn.Public {
		return v.publicTable(vp)
	}
	return v.mainTable(vp)
}

// routes are the table's routes as the router uses them: its own, one
// local route per VPC CIDR it does not already route (RT-5), and the
// prefix-list route of each gateway endpoint naming it (VPCE-2).
func (v *view) routes(rt *vpc.RouteTable) []vpc.Route {
	out := slices.Clone(rt.Routes)
	vp := v.t.VPC(rt.VPC)
	if vp == nil && len(v.t.VPCs) > 0 {
		vp = &v.t.VPCs[0] // a Go-built table that names no VPC
	}
	if vp != nil {
		for _, c := range vp.CIDRs() {
			if !c.IsValid() {
				continue
			}
			if !slices.ContainsFunc(out, func(r vpc.Route) bool { return r.Dest == c.Masked() }) {
				out = append(out, vpc.Route{Dest: c.Masked(), Target: vpc.RouteTarget{Kind: vpc.TargetLocal}})
			}
		}
	}
	for i := range v.t.Endpoints {
		ep := &v.t.Endpoints[i]
		if ep.PrefixList == "" || !slices.Contains(ep.RouteTables, rt.ID) {
			continue
		}
		if !slices.ContainsFunc(out, func(r vpc.Route) bool { return r.DestPrefixList == ep.PrefixList }) {
			out = append(out, vpc.Route{DestPrefixList: ep.PrefixList, Target: vpc.RouteTarget{Kind: vpc.TargetEndpoint, ID: ep.ID}})
		}
	}
	return out
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
	type cand struct {
		r           vpc.Route
		bits, class int
	}
	var cs []cand
	for _, r := range v.routes(rt) {
		if bits, class, ok := routeMatch(v.t, &r, dst); ok {
			cs = append(cs, cand{r, bits, class})
		}
	}
	if len(cs) == 0 {
		return d
	}
	slices.SortStableFunc(cs, func(a, b cand) int {
		switch {
		case a.bits != b.bits:
			return b.bits - a.bits
		case a.class != b.class:
			return a.class - b.class
		}
		return strings.Compare(a.r.DestPrefixList, b.r.DestPrefixList)
	})
	w := cs[0]
	d.Found, d.Route, d.Bits = true, w.r, w.bits
	d.Blackhole = !v.targetUsable(rt, &w.r)
	for _, c := range cs[1:] {
		if c.r.Target != w.r.Target || c.r.Blackhole != w.r.Blackhole {
			r := c.r
			d.Shadowed = &r
			d.ShadowReason = "MORE_SPECIFIC_ROUTE"
			if c.bits == w.bits {
				d.ShadowReason = "HIGHER_PRIORITY_ROUTE"
			}
			break
		}
	}
	return d
}

// targetUsable reports whether a route's target exists, works and belongs
// with the table's VPC; a route to anything else is a blackhole (RT-15),
// a peering that is not active included (as vpc.RefreshRouteStates marks
// it).
func (v *view) targetUsable(rt *vpc.RouteTable, r *vpc.Route) bool {
	if r.Blackhole {
		return false
	}
	vp := v.t.VPC(rt.VPC)
	if vp == nil && len(v.t.VPCs) > 0 {
		vp = &v.t.VPCs[0]
	}
	id := r.Target.ID
	switch r.Target.Kind {
	case vpc.TargetLocal:
		return true
	case vpc.TargetIGW:
		return id != "" && v.igwOf(vp) == id
	case vpc.TargetEIGW:
		return id != "" && v.eigwOf(vp) == id
	case vpc.TargetNAT:
		e := v.byID[id]
		return e != nil && e.NGW != nil && e.NGW.ID == id && e.VPC == vp
	case vpc.TargetENI, vpc.TargetInstance:
		e := v.byID[id]
		return e != nil && e.VPC == vp
	case vpc.TargetPeering:
		pc := v.peering(id)
		return pc != nil && peeringActive(pc) && (pc.Requester == vp.ID || pc.Accepter == vp.ID)
	case vpc.TargetEndpoint:
		ep := v.endpoint(id)
		return ep != nil && (ep.VPC == "" || ep.VPC == vp.ID)
	}
	return false
}

func (v *view) peering(id string) *vpc.Peering {
	for i := range v.t.Peerings {
		if v.t.Peerings[i].ID == id {
			return &v.t.Peerings[i]
		}
	}
	return nil
}

func (v *view) endpoint(id string) *vpc.Endpoint {
	for i := range v.t.Endpoints {
		if v.t.Endpoints[i].ID == id {
			return &v.t.Endpoints[i]
		}
	}
	return nil
}

// peeringActive reports whether a peering carries traffic (PCX-1).
func peeringActive(pc *vpc.Peering) bool { return pc.State == "" || pc.State == "active" }

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
