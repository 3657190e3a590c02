package intent

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Where the evaluator can tell two flows apart.
//
// A class of flows is a box (source and destination address ranges, a
// protocol class, destination-port and source-port ranges) that no
// boundary cuts. Boundaries come from two places:
//
//   - structural ones, which every path depends on: which addresses are
//     instances, hosts, subnets, VPCs or reserved services (the evaluator
//     picks the path's components by them);
//   - the cuts of each component a packet meets on its way (a hop of
//     rules.Path): an SG's rule peers and ports, a NACL's rule CIDRs and
//     ports, and, as the evaluator follows route tables, a table's
//     destination prefixes.
//
// A component tests fields of the packet as it reaches it; a field maps to
// a dimension of the flow depending on whether the hop is on the forward
// path (source address = the flow's source) or the return path (the reply's
// destination port = the flow's source port). New kinds of component add a
// case to hopCuts; a kind it does not know gets every cut of the topology
// (correct, only slower).

// pktField is a header field a component tests.
type pktField int

const (
	fieldSrc pktField = iota
	fieldDst
)

// l4 kinds: cut lists are kept per protocol kind, so that a TCP rule's
// ports do not split UDP or ICMP classes.
const (
	l4TCP = iota
	l4UDP
	l4ICMP
	l4Kinds
)

func l4Kind(proto int) int {
	switch proto {
	case vpc.ProtoTCP:
		return l4TCP
	case vpc.ProtoUDP:
		return l4UDP
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return l4ICMP
	}
	return -1
}

// cuts are one component's boundaries: unconditional ones by the packet
// field they apply to, and rules, whose boundaries count only for boxes
// of flows the rule can match.
type cuts struct {
	addr  [2][2][]u128   // [fieldSrc|fieldDst][v4|v6], sorted
	sport [l4Kinds][]int // the packet's source port, sorted
	dport [l4Kinds][]int // destination port or ICMP type<<8|code, sorted
	rules []cutRule
	// byProto indexes rules by protocol (vpc.ProtoAll's apart), so a box
	// meets only its protocol's rules.
	byProto map[int][]int32
	empty   bool // nothing (structural-only components)
}

// protoRules returns the indexes of the rules that can match protocol p.
func (c *cuts) protoRules(p int) (own, all []int32) {
	if c.byProto == nil {
		c.byProto = map[int][]int32{}
		for i := range c.rules {
			c.byProto[c.rules[i].proto] = append(c.byProto[c.rules[i].proto], int32(i))
		}
	}
	if p == vpc.ProtoAll {
		return nil, c.byProto[vpc.ProtoAll]
	}
	return c.byProto[p], c.byProto[vpc.ProtoAll]
}

// portField is a port field of the packet.
type portField int

const (
	fieldDport portField = iota // destination port, or ICMP type<<8|code
	fieldSport
)

// cutRule is one rule's say in a component's decision: the field its peer
// prefixes test, the protocol, and the port (or ICMP type/code) set on one
// port field. A rule that cannot match any flow of a box (its protocol,
// peer or ports miss the box) decides nothing there, so its boundaries
// do not cut that box.
type cutRule struct {
	peerField pktField
	peers     []addrRange // empty: matches nothing
	proto     int         // vpc.ProtoAll: every protocol
	portField portField
	ports     intRange // {0, 65535} when the rule does not restrict
	restrict  bool     // ports restrict (and cut)
}

func (c *cuts) addPrefix(f pktField, p netip.Prefix) {
	if !p.IsValid() {
		return
	}
	lo, hi := prefixBounds(p)
	fam := 0
	if p.Addr().Is6() {
		fam = 1
	}
	c.addr[f][fam] = append(c.addr[f][fam], lo)
	if hi != maxAddr(fam == 1) {
		c.addr[f][fam] = append(c.addr[f][fam], hi.inc())
	}
}

// offByOne is a test-only fault in class splitting: a range's end cut is
// placed one too low, so that its last value shares a class with the
// values outside it. The exhaustiveness test proves it would notice.
var offByOne bool

func addRange(list *[]int, lo, hi int) {
	*list = append(*list, lo)
	if offByOne {
		*list = append(*list, hi)
		return
	}
	*list = append(*list, hi+1)
}

func addAddrRange(list *[]u128, r addrRange) {
	*list = append(*list, r.lo)
	if r.hi != maxAddr(r.v6) {
		*list = append(*list, r.hi.inc())
	}
}

// l4Set is the set of destination ports (TCP/UDP) or ICMP type<<8|code a
// rule matches, and whether it restricts at all.
func l4Set(proto int, ports vpc.PortRange, icmpType, icmpCode int, icmpV4CIDR bool) (intRange, bool) {
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		r := intRange{max(ports.From, 0), min(ports.To, 65535)}
		return r, r != intRange{0, 65535}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		switch {
		case icmpType < 0 || (proto == vpc.ProtoICMPv6 && icmpV4CIDR):
		case icmpCode < 0:
			return intRange{icmpType << 8, icmpType<<8 | 255}, true
		default:
			return intRange{icmpType<<8 | icmpCode, icmpType<<8 | icmpCode}, true
		}
	}
	return intRange{0, 65535}, false
}

func (c *cuts) addRule(r cutRule) {
	c.rules = append(c.rules, r)
}

// flat is c with every rule's boundaries unconditional (for callers that
// split a rule's own space, not a box of flows).
func (c *cuts) flat() *cuts {
	f := &cuts{addr: c.addr, sport: c.sport, dport: c.dport}
	for _, r := range c.rules {
		for _, p := range r.peers {
			fam := 0
			if p.v6 {
				fam = 1
			}
			addAddrRange(&f.addr[r.peerField][fam], p)
		}
		if !r.restrict {
			continue
		}
		for k := range l4Kinds {
			if r.proto != vpc.ProtoAll && l4Kind(r.proto) != k {
				continue
			}
			list := &f.dport[k]
			if r.portField == fieldSport {
				list = &f.sport[k]
			}
			addRange(list, r.ports.lo, r.ports.hi)
		}
	}
	return f.finish()
}

func (c *cuts) finish() *cuts {
	for f := range c.addr {
		for fam := range c.addr[f] {
			c.addr[f][fam] = sortAddrCuts(c.addr[f][fam])
		}
	}
	for k := range l4Kinds {
		c.sport[k] = sortIntCuts(c.sport[k])
		c.dport[k] = sortIntCuts(c.dport[k])
	}
	return c
}

// topoCuts computes and caches the boundaries of one topology.
type topoCuts struct {
	t          *vpc.Topology
	structural *cuts // on both address fields
	members    map[string][]netip.Prefix
	hops       map[hopKey]*cuts
	all        *cuts
	routes     *cuts
}

type hopKey struct {
	kind   rules.HopKind
	id     string // instance id, NACL id
	egress bool
}

func newTopoCuts(t *vpc.Topology) *topoCuts {
	tc := &topoCuts{t: t, hops: map[hopKey]*cuts{}, members: sgMembers(t)}
	tc.structural = structuralCuts(t)
	return tc
}

// sgMembers maps each SG to its members' addresses (SG-16: private IPv4 and IPv6).
func sgMembers(t *vpc.Topology) map[string][]netip.Prefix {
	m := map[string][]netip.Prefix{}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			sgs := e.SecurityGroups
			if len(sgs) == 0 {
				sgs = []string{vpc.DefaultSGID}
			}
			for _, sg := range sgs {
				for _, a := range eniAddrs(e) {
					m[sg] = append(m[sg], netip.PrefixFrom(a, a.BitLen()))
				}
			}
		}
	}
	return m
}

// eniAddrs is every address an ENI owns (not its public ones).
func eniAddrs(e *vpc.ENI) []netip.Addr {
	var out []netip.Addr
	for _, a := range append([]netip.Addr{e.PrivateIP, e.IPv6}, e.SecondaryIPs...) {
		if a.IsValid() {
			out = append(out, a.Unmap())
		}
	}
	return out
}

var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::/32"),
}

// privatePrefixes are the blocks an internet gateway never carries (EIP-4:
// RFC 1918 and RFC 6598).
var privatePrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

// structuralCuts: every address the evaluator looks up by identity, every
// block it asks "inside?" of.
func structuralCuts(t *vpc.Topology) *cuts {
	c := &cuts{}
	add := func(p netip.Prefix) {
		c.addPrefix(fieldSrc, p)
		c.addPrefix(fieldDst, p)
	}
	addAddr := func(a netip.Addr) {
		if a.IsValid() {
			add(netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	for _, p := range append(append([]netip.Prefix(nil), reservedPrefixes...), privatePrefixes...) {
		add(p)
	}
	for i := range t.VPCs {
		for _, p := range t.VPCs[i].CIDRs() {
			if !p.IsValid() {
				continue
			}
			add(p)
			if p.Addr().Is4() {
				addAddr(nth(p.Masked().Addr(), 2)) // Amazon DNS
			}
		}
	}
	for i := range t.Subnets {
		for _, p := range []netip.Prefix{t.Subnets[i].CIDR, t.Subnets[i].IPv6CIDR} {
			if !p.IsValid() {
				continue
			}
			add(p)
			for n := range 4 {
				addAddr(nth(p.Masked().Addr(), n))
			}
		}
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			for _, a := range eniAddrs(e) {
				addAddr(a)
			}
			addAddr(e.PublicIP)
		}
	}
	for i := range t.Internet {
		addAddr(t.Internet[i].IP)
		addAddr(t.Internet[i].IPv6)
	}
	for i := range t.ElasticIPs {
		addAddr(t.ElasticIPs[i].PublicIP)
	}
	for i := range t.NATGateways {
		addAddr(t.NATGateways[i].PrivateIP)
	}
	// Echo requests have a modelled reply, other ICMP types none.
	for _, ty := range []int{8, 128} {
		addRange(&c.dport[l4ICMP], ty<<8, ty<<8|255)
	}
	return c.finish()
}

func nth(a netip.Addr, n int) netip.Addr {
	for range n {
		a = a.Next()
	}
	return a
}

// noCuts are the cuts of a component whose decisions cut nothing.
var noCuts = &cuts{empty: true}

// hop returns the cuts of the component h met.
func (tc *topoCuts) hop(h *rules.Hop) *cuts {
	k := hopKey{kind: h.Kind, egress: h.Egress, id: h.ID}
	switch h.Kind {
	case rules.HopSecurityGroup:
		if h.ID == "" && h.Instance != nil {
			k.id = h.Instance.ID
		}
	case rules.HopNetworkACL:
		if h.ACL != nil {
			k.id = h.ACL.ID
		}
	case rules.HopInternetGateway, rules.HopReserved:
		// Decided by structural facts alone: which address is whose, the
		// private and shared blocks it does not carry (EIP-4).
		return noCuts
	case rules.HopRoute:
		if h.Route != nil && h.Route.Table != nil {
			k.id = h.Route.Table.ID
		}
	case rules.HopEgressOnlyGateway, rules.HopNATGateway, rules.HopPeering, rules.HopEndpoint, rules.HopENI, rules.HopSubnet:
		// Their decisions look at addresses the structural boundaries and
		// the route tables (peered VPCs, prefix lists) already cut at.
		return tc.routesEverywhere()
	default:
		return tc.allCuts()
	}
	if c, ok := tc.hops[k]; ok {
		return c
	}
	c := &cuts{}
	switch h.Kind {
	case rules.HopSecurityGroup:
		if sgs, ok := tc.eniSGs(h); ok {
			tc.sgCuts(c, sgs, h.Egress)
		} else {
			c = tc.allCuts()
		}
	case rules.HopNetworkACL:
		naclCuts(c, h.ACL, h.Egress)
	case rules.HopRoute:
		if h.Route != nil && h.Route.Table != nil {
			routeCuts(c, tc.t, h.Route.Table)
		} else {
			c = tc.routesEverywhere()
		}
	}
	tc.hops[k] = c.finish()
	return c
}

// eniSGs are the security groups of the ENI an SG hop judged at.
func (tc *topoCuts) eniSGs(h *rules.Hop) ([]string, bool) {
	for i := range tc.t.Instances {
		for _, e := range tc.t.Instances[i].ENIs() {
			if (h.ID != "" && e.ID == h.ID) || (h.ID == "" && h.Instance != nil && tc.t.Instances[i].ID == h.Instance.ID && e == &tc.t.Instances[i].ENI) {
				if len(e.SecurityGroups) == 0 {
					return []string{vpc.DefaultSGID}, true
				}
				return e.SecurityGroups, true
			}
		}
	}
	if h.Instance != nil && (h.ID == "" || h.ID == h.Instance.ID) {
		return instanceSGs(h.Instance), true
	}
	return nil, false
}

func instanceSGs(in *vpc.Instance) []string {
	if len(in.SecurityGroups) == 0 {
		return []string{vpc.DefaultSGID}
	}
	return in.SecurityGroups
}

// routesEverywhere is every route table's destinations, on both address
// fields.
func (tc *topoCuts) routesEverywhere() *cuts {
	if tc.routes != nil {
		return tc.routes
	}
	c := &cuts{}
	for i := range tc.t.RouteTables {
		routeCuts(c, tc.t, &tc.t.RouteTables[i])
	}
	for fam := range 2 {
		both := append(append([]u128(nil), c.addr[fieldSrc][fam]...), c.addr[fieldDst][fam]...)
		c.addr[fieldSrc][fam], c.addr[fieldDst][fam] = both, append([]u128(nil), both...)
	}
	tc.routes = c.finish()
	return tc.routes
}

// sgCuts: SG rules of the ENI in the packet's direction test its peer
// (source inbound, destination outbound) and destination port; the
// untracked test (SG-23) compares the source port with the /0 rules of
// the opposite direction.
func (tc *topoCuts) sgCuts(c *cuts, sgs []string, egress bool) {
	peer := fieldSrc
	if egress {
		peer = fieldDst
	}
	for _, id := range sgs {
		sg := tc.t.SecurityGroup(id)
		if sg == nil {
			continue
		}
		own, opp := sg.Ingress, sg.Egress
		if egress {
			own, opp = opp, own
		}
		for i := range own {
			r := &own[i]
			var peers []addrRange
			for _, p := range tc.rulePeers(r) {
				peers = append(peers, prefixRange(p))
			}
			ports, restrict := l4Set(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, false)
			c.addRule(cutRule{peerField: peer, peers: peers, proto: r.Protocol, portField: fieldDport, ports: ports, restrict: restrict})
		}
		for i := range opp {
			r := &opp[i]
			if !r.CIDR.IsValid() || r.CIDR.Bits() != 0 || (r.Protocol != vpc.ProtoTCP && r.Protocol != vpc.ProtoUDP) {
				continue
			}
			ports, restrict := l4Set(r.Protocol, r.Ports, -1, -1, false)
			c.addRule(cutRule{peerField: peer, peers: []addrRange{prefixRange(r.CIDR)}, proto: r.Protocol, portField: fieldSport, ports: ports, restrict: restrict})
		}
	}
}

func (tc *topoCuts) rulePeers(r *vpc.SGRule) []netip.Prefix {
	switch {
	case r.CIDR.IsValid():
		return []netip.Prefix{r.CIDR}
	case r.SourceGroup != "":
		return tc.members[r.SourceGroup]
	case r.PrefixList != "":
		if pl := tc.t.PrefixList(r.PrefixList); pl != nil {
			return pl.CIDRs
		}
	}
	return nil
}

// naclCuts: a NACL's rules test the source (inbound) or destination
// (outbound) against their CIDR and the destination port or ICMP type.
func naclCuts(c *cuts, acl *vpc.NetworkACL, egress bool) {
	if acl == nil {
		return
	}
	peer, list := fieldSrc, acl.Ingress
	if egress {
		peer, list = fieldDst, acl.Egress
	}
	for i := range list {
		r := &list[i]
		if !r.CIDR.IsValid() {
			continue
		}
		ports, restrict := l4Set(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, r.CIDR.Addr().Is4())
		c.addRule(cutRule{peerField: peer, peers: []addrRange{prefixRange(r.CIDR)}, proto: r.Protocol, portField: fieldDport, ports: ports, restrict: restrict})
	}
}

// routeCuts: a route table picks a route by the longest destination prefix
// that holds the packet's destination.
func routeCuts(c *cuts, t *vpc.Topology, rt *vpc.RouteTable) {
	if rt == nil {
		return
	}
	for _, r := range rt.Routes {
		c.addPrefix(fieldDst, r.Dest)
		if pl := t.PrefixList(r.DestPrefixList); pl != nil {
			for _, p := range pl.CIDRs {
				c.addPrefix(fieldDst, p)
			}
		}
	}
}

// allCuts is every rule of the topology on every field, unconditionally:
// the fallback for a component kind this package does not know yet.
func (tc *topoCuts) allCuts() *cuts {
	if tc.all != nil {
		return tc.all
	}
	c := &cuts{}
	for i := range tc.t.NetworkACLs {
		for _, eg := range []bool{false, true} {
			naclCuts(c, &tc.t.NetworkACLs[i], eg)
		}
	}
	for i := range tc.t.SecurityGroups {
		for _, eg := range []bool{false, true} {
			tc.sgCuts(c, []string{tc.t.SecurityGroups[i].ID}, eg)
		}
	}
	for i := range tc.t.RouteTables {
		routeCuts(c, tc.t, &tc.t.RouteTables[i])
	}
	c = c.flat()
	// Every field may be either.
	for fam := range 2 {
		both := append(append([]u128(nil), c.addr[fieldSrc][fam]...), c.addr[fieldDst][fam]...)
		c.addr[fieldSrc][fam], c.addr[fieldDst][fam] = both, append([]u128(nil), both...)
	}
	for k := range l4Kinds {
		both := append(append([]int(nil), c.sport[k]...), c.dport[k]...)
		c.sport[k], c.dport[k] = both, append([]int(nil), both...)
	}
	tc.all = c.finish()
	return tc.all
}

// routeTableOf is the table a subnet's packets are routed by: its own, else
// its VPC's main table (RT-3).
func routeTableOf(t *vpc.Topology, sn *vpc.Subnet) *vpc.RouteTable {
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		if rt.ID == sn.RouteTable || (sn.RouteTable == "" && rt.Main && (rt.VPC == sn.VPC || sn.VPC == "")) {
			return rt
		}
	}
	return nil
}
