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

// cuts are one component's boundaries, by the packet field they apply to.
type cuts struct {
	addr  [2][2][]u128   // [fieldSrc|fieldDst][v4|v6], sorted
	sport [l4Kinds][]int // the packet's source port, sorted
	dport [l4Kinds][]int // destination port or ICMP type<<8|code, sorted
	empty bool           // nothing (structural-only components)
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

// addL4 adds a rule's destination-port (or ICMP type/code) set.
func (c *cuts) addL4(dport bool, proto int, ports vpc.PortRange, icmpType, icmpCode int, icmpV4CIDR bool) {
	list := &c.sport
	if dport {
		list = &c.dport
	}
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		addRange(&list[l4Kind(proto)], max(ports.From, 0), min(ports.To, 65535))
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if !dport || icmpType < 0 || (proto == vpc.ProtoICMPv6 && icmpV4CIDR) {
			return
		}
		if icmpCode < 0 {
			addRange(&list[l4ICMP], icmpType<<8, icmpType<<8|255)
		} else {
			addRange(&list[l4ICMP], icmpType<<8|icmpCode, icmpType<<8|icmpCode)
		}
	}
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
	for _, p := range reservedPrefixes {
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

// hop returns the cuts of the component h met.
func (tc *topoCuts) hop(h *rules.Hop) *cuts {
	k := hopKey{kind: h.Kind, egress: h.Egress}
	switch h.Kind {
	case rules.HopSecurityGroup:
		k.id = h.Instance.ID
	case rules.HopNetworkACL:
		if h.ACL != nil {
			k.id = h.ACL.ID
		}
	case rules.HopInternetGateway, rules.HopReserved, rules.HopRoute:
		// Decided by structural facts alone (which address is whose, a
		// subnet's route to the internet gateway).
		return &cuts{empty: true}
	default:
		return tc.allCuts()
	}
	if c, ok := tc.hops[k]; ok {
		return c
	}
	c := &cuts{}
	switch h.Kind {
	case rules.HopSecurityGroup:
		tc.sgCuts(c, h.Instance, h.Egress)
	case rules.HopNetworkACL:
		naclCuts(c, h.ACL, h.Egress)
	}
	tc.hops[k] = c.finish()
	return c
}

// sgCuts: SG rules of the ENI in the packet's direction test its peer
// (source inbound, destination outbound) and destination port; the
// untracked test (SG-23) compares the source port with the /0 rules of
// the opposite direction.
func (tc *topoCuts) sgCuts(c *cuts, in *vpc.Instance, egress bool) {
	peer := fieldSrc
	if egress {
		peer = fieldDst
	}
	sgs := in.SecurityGroups
	if len(sgs) == 0 {
		sgs = []string{vpc.DefaultSGID}
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
			for _, p := range tc.rulePeers(r) {
				c.addPrefix(peer, p)
			}
			c.addL4(true, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, false)
		}
		for i := range opp {
			r := &opp[i]
			if r.Protocol == vpc.ProtoTCP || r.Protocol == vpc.ProtoUDP {
				c.addL4(false, r.Protocol, r.Ports, -1, -1, false)
			}
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
		c.addPrefix(peer, r.CIDR)
		c.addL4(true, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, r.CIDR.Addr().Is4())
	}
}

// allCuts is every rule of the topology on every field: the fallback for a
// component kind this package does not know yet.
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
	for i := range tc.t.Instances {
		for _, eg := range []bool{false, true} {
			tc.sgCuts(c, &tc.t.Instances[i], eg)
		}
	}
	for i := range tc.t.RouteTables {
		for _, r := range tc.t.RouteTables[i].Routes {
			c.addPrefix(fieldDst, r.Dest)
			if pl := tc.t.PrefixList(r.DestPrefixList); pl != nil {
				for _, p := range pl.CIDRs {
					c.addPrefix(fieldDst, p)
				}
			}
		}
	}
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
