package rules

import (
	"math"
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// Explanation codes (Reachability Analyzer vocabulary, RA-4/RA-7) the
// evaluator produces; CodeConntrackAllowanceExceeded is vpcemu's own.
const (
	CodeSGRulesMismatch            = "ENI_SG_RULES_MISMATCH"
	CodeSGHasNoRules               = "SG_HAS_NO_RULES"
	CodeSubnetACLRestriction       = "SUBNET_ACL_RESTRICTION"
	CodeNoRouteToDestination       = "NO_ROUTE_TO_DESTINATION"
	CodeConntrackAllowanceExceeded = "CONNTRACK_ALLOWANCE_EXCEEDED"
	CodeUnknownENI                 = "UNKNOWN_ENI" // vpcemu: the instance/ENI is not in the topology
)

// SGRuleRef names one rule of a security group: the group, the direction
// and the rule's index in that direction's list.
type SGRuleRef struct {
	SecurityGroup string
	Egress        bool
	Index         int
}

// SGMatch is the verdict of an ENI's security-group rules (no state) on one
// packet in one direction.
type SGMatch struct {
	Allowed   bool
	Untracked bool        // the flow is untracked per SG-23 (only when Allowed)
	Rules     []SGRuleRef // the rules that admit the packet, in SG then rule order; shared, do not modify
	Code      string      // when denied: CodeSGRulesMismatch or CodeSGHasNoRules
}

// SGEvaluator decides packets against the security groups of a topology's
// ENIs. Rule sets are compiled per ENI at construction; it is read-only
// afterwards and safe for concurrent use.
type SGEvaluator struct {
	enis map[string]*eniRules // by instance id and by ENI id
}

// Rule kinds after compilation.
const (
	sgMatchAll   = iota // protocol -1, or a protocol without ports (SG-9)
	sgMatchPorts        // TCP/UDP destination port range (SG-10)
	sgMatchICMP         // ICMP/ICMPv6 type/code (SG-11)
)

type sgCompiled struct {
	kind     uint8
	slash0   bool // peer is the /0 CIDR of the bucket's family (SG-23)
	group    bool // peer is a referenced security group (RT-22)
	lo, hi   int  // ports for sgMatchPorts
	icmpType int
	icmpCode int
	peers    []netip.Prefix
	ref      []SGRuleRef // one element, shared so a single match allocates nothing
}

// famIndex is 0 for IPv4, 1 for IPv6.
func famIndex(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// l4Index indexes the per-protocol untracked tables: 0 TCP, 1 UDP.
func l4Index(proto int) int {
	if proto == vpc.ProtoUDP {
		return 1
	}
	return 0
}

type dirRules struct {
	// byProto[fam][proto] holds the rules that can match a packet of that
	// family and protocol: the protocol's own rules and the -1 rules, in
	// SG then rule order. A protocol no rule names has no table of its
	// own: anyProto[fam] holds the -1 rules alone.
	byProto  [2][256]*protoTable
	anyProto [2]*protoTable
	named    [2][]int // the protocols with a table of their own
	empty    bool     // every SG of the ENI has no rules in this direction
	// openAll[fam][tcp/udp]: a /0 CIDR rule admits that protocol on all ports.
	openAll [2][2]bool
	// slash0[fam][tcp/udp]: port ranges of /0 CIDR rules (for the responder
	// side of SG-23); protocol -1 rules appear as 0-65535.
	slash0 [2][2][]vpc.PortRange
}

// protoTable indexes one family+protocol's rules by destination port so
// that a packet meets only the rules that can match it: single-port rules
// through a map, every other rule (ranges, ICMP, -1) by a list.
type protoTable struct {
	rules  []sgCompiled
	single map[int][]int32 // port -> indices of single-port rules, ascending
	other  []int32         // indices of all other rules, ascending
	// otherRange[i] is other[i]'s port range (everything for portless
	// rules), kept apart so the scan touches one compact array.
	otherRange []portSpan
}

type portSpan struct{ lo, hi int32 }

func (pt *protoTable) add(c sgCompiled) {
	i := int32(len(pt.rules))
	pt.rules = append(pt.rules, c)
	if c.kind == sgMatchPorts && c.lo == c.hi {
		if pt.single == nil {
			pt.single = make(map[int][]int32)
		}
		pt.single[c.lo] = append(pt.single[c.lo], i)
		return
	}
	pt.other = append(pt.other, i)
	span := portSpan{math.MinInt32, math.MaxInt32}
	if c.kind == sgMatchPorts {
		span = portSpan{int32(max(c.lo, math.MinInt32)), int32(min(c.hi, math.MaxInt32))}
	}
	pt.otherRange = append(pt.otherRange, span)
}

// table is the protocol's own table, started with the -1 rules added so
// far (rules arrive in SG then rule order).
func (dr *dirRules) table(f, proto int) *protoTable {
	if dr.byProto[f][proto] == nil {
		pt := &protoTable{}
		if a := dr.anyProto[f]; a != nil {
			for _, c := range a.rules {
				pt.add(c)
			}
		}
		dr.byProto[f][proto] = pt
		dr.named[f] = append(dr.named[f], proto)
	}
	return dr.byProto[f][proto]
}

// addAny adds a -1 rule to every protocol's table.
func (dr *dirRules) addAny(f int, c sgCompiled) {
	if dr.anyProto[f] == nil {
		dr.anyProto[f] = &protoTable{}
	}
	dr.anyProto[f].add(c)
	for _, p := range dr.named[f] {
		dr.byProto[f][p].add(c)
	}
}

// tableFor is the table a packet of the family and protocol meets, or nil.
func (dr *dirRules) tableFor(f, proto int) *protoTable {
	if pt := dr.byProto[f][proto]; pt != nil {
		return pt
	}
	return dr.anyProto[f]
}

type eniRules struct {
	dir [2]dirRules // 0 ingress, 1 egress
}

func dirIndex(egress bool) int {
	if egress {
		return 1
	}
	return 0
}

// NewSGEvaluator compiles the security groups of every ENI in t (each
// instance's primary ENI under the instance id and its ENI id, secondary
// ENIs under their ENI id). Referenced-SG peers resolve to the private
// (primary and secondary) IPv4 and IPv6 addresses of the ENIs that have the
// group at construction time, in any VPC (SG-16, PCX-8); build a new
// evaluator when the topology changes.
func NewSGEvaluator(t *vpc.Topology) *SGEvaluator { return newSGEvaluator(newView(t)) }

func newSGEvaluator(v *view) *SGEvaluator {
	t := v.t
	e := &SGEvaluator{enis: make(map[string]*eniRules)}
	members := make(map[string][]netip.Prefix)
	for _, en := range v.enis {
		if en.ENI == nil {
			continue
		}
		for _, sg := range eniSGs(en) {
			for _, a := range append([]netip.Addr{en.ENI.PrivateIP}, en.ENI.SecondaryIPs...) {
				if a.IsValid() {
					members[sg] = append(members[sg], netip.PrefixFrom(a.Unmap(), 32))
				}
			}
			if en.ENI.IPv6.IsValid() {
				members[sg] = append(members[sg], netip.PrefixFrom(en.ENI.IPv6, 128))
			}
		}
	}
	for _, en := range v.enis {
		if en.ENI == nil {
			continue
		}
		er := &eniRules{}
		for d := range 2 {
			er.dir[d].empty = true
		}
		for _, id := range eniSGs(en) {
			sg := t.SecurityGroup(id)
			if sg == nil {
				continue
			}
			for d, list := range [2][]vpc.SGRule{sg.Ingress, sg.Egress} {
				if len(list) > 0 {
					er.dir[d].empty = false
				}
				for ri := range list {
					er.dir[d].add(t, &list[ri], SGRuleRef{SecurityGroup: id, Egress: d == 1, Index: ri}, members)
				}
			}
		}
		if _, dup := e.enis[en.ctID()]; !dup {
			e.enis[en.ctID()] = er
		}
		if en.ENI.ID != "" {
			if _, dup := e.enis[en.ENI.ID]; !dup {
				e.enis[en.ENI.ID] = er
			}
		}
	}
	return e
}

func (dr *dirRules) add(t *vpc.Topology, r *vpc.SGRule, ref SGRuleRef, members map[string][]netip.Prefix) {
	c := sgCompiled{ref: []SGRuleRef{ref}, icmpType: -1, icmpCode: -1}
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		c.kind, c.lo, c.hi = sgMatchPorts, r.Ports.From, r.Ports.To
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		c.kind, c.icmpType, c.icmpCode = sgMatchICMP, r.ICMPType, r.ICMPCode
		if c.icmpType == -1 {
			c.kind = sgMatchAll
		}
	default:
		c.kind = sgMatchAll
	}
	var fams []int
	switch {
	case r.CIDR.IsValid():
		pfx := r.CIDR.Masked()
		c.peers = []netip.Prefix{pfx}
		c.slash0 = pfx.Bits() == 0
		fams = []int{famIndex(pfx.Addr())}
	case r.SourceGroup != "":
		c.peers = members[r.SourceGroup]
		c.group = true
		fams = []int{0, 1}
	case r.PrefixList != "":
		if pl := t.PrefixList(r.PrefixList); pl != nil {
			c.peers = pl.CIDRs
		}
		fams = []int{0, 1}
	}
	for _, f := range fams {
		if r.Protocol == vpc.ProtoAll {
			dr.addAny(f, c)
		} else if r.Protocol >= 0 && r.Protocol < 256 {
			dr.table(f, r.Protocol).add(c)
		}
		if !c.slash0 {
			continue
		}
		for l4, proto := range [2]int{vpc.ProtoTCP, vpc.ProtoUDP} {
			switch {
			case r.Protocol == vpc.ProtoAll:
				dr.openAll[f][l4] = true
				dr.slash0[f][l4] = append(dr.slash0[f][l4], vpc.PortRange{From: math.MinInt, To: math.MaxInt})
			case r.Protocol == proto:
				if r.Ports.From <= 0 && r.Ports.To >= 65535 {
					dr.openAll[f][l4] = true
				}
				dr.slash0[f][l4] = append(dr.slash0[f][l4], r.Ports)
			}
		}
	}
}

func (c *sgCompiled) matches(peer netip.Addr, p *Packet) bool {
	switch c.kind {
	case sgMatchPorts:
		if p.Fragment == FragLater {
			if c.lo > 0 || c.hi < 65535 {
				return false
			}
		} else if p.DstPort < c.lo || p.DstPort > c.hi {
			return false
		}
	case sgMatchICMP:
		if !icmpMatches(c.icmpType, c.icmpCode, p) {
			return false
		}
	}
	for i := range c.peers {
		if c.peers[i].Contains(peer) {
			return true
		}
	}
	return false
}

// Match decides p against the rules of the instance's (or ENI's) security
// groups in one direction (egress=true: outbound, the peer is the
// destination; else inbound, the peer is the source). It does not consult
// connection tracking (see Conntrack).
//
// SG-4: allowed iff any rule of any SG of the ENI matches. SG-9..14: ports
// only for TCP/UDP, ICMP type/code with -1 wildcards, address families never
// cross. Non-first fragments match only rules without a port or ICMP-type
// restriction (as in EvalNACL).
//
// Untracked (SG-23) is set for an allowed TCP/UDP packet whose flow is
// untracked: either this packet initiates it (a matching rule has the /0
// CIDR peer of its family, and the opposite direction has a /0 rule that
// admits that protocol on all ports), or it is the response of such a flow
// initiated from the other side (this direction has that all-ports /0 rule
// and a /0 rule of the opposite direction admits the reversed packet). A
// TCP SYN without ACK is only ever an initiator and a SYN-ACK only ever a
// response. ICMP and other protocols are always tracked (SG-21, SG-22).
func (e *SGEvaluator) Match(instanceID string, egress bool, p Packet) SGMatch {
	return e.match(instanceID, egress, p, true)
}

// match is Match; without refs, rules whose peer is a security group do not
// match (the packet did not come straight from an ENI of the group: RT-22).
func (e *SGEvaluator) match(instanceID string, egress bool, p Packet, refs bool) SGMatch {
	return e.enis[instanceID].match(egress, p, refs)
}

// match is SGEvaluator.match over one ENI's rules (nil: an ENI the
// evaluator does not know).
func (er *eniRules) match(egress bool, p Packet, refs bool) SGMatch {
	if er == nil {
		return SGMatch{Code: CodeUnknownENI}
	}
	d := dirIndex(egress)
	dr := &er.dir[d]
	peer := p.Src
	if egress {
		peer = p.Dst
	}
	peer = peer.Unmap()
	if p.Protocol < 0 || p.Protocol > 255 {
		return SGMatch{Code: dr.denyCode()}
	}
	f := famIndex(peer)
	var m SGMatch
	any0 := false
	if pt := dr.tableFor(f, p.Protocol); pt != nil {
		visit := func(c *sgCompiled) {
			if (c.group && !refs) || !c.matches(peer, &p) {
				return
			}
			if c.slash0 {
				any0 = true
			}
			if m.Rules == nil {
				m.Rules = c.ref
			} else {
				m.Rules = append(m.Rules[:len(m.Rules):len(m.Rules)], c.ref[0])
			}
		}
		if (p.Protocol == vpc.ProtoTCP || p.Protocol == vpc.ProtoUDP) && p.Fragment != FragLater {
			// Merge the port's single-port rules with the others, in order.
			a := pt.single[p.DstPort]
			port := int32(p.DstPort)
			for j, span := range pt.otherRange {
				if port < span.lo || port > span.hi {
					continue
				}
				bi := pt.other[j]
				for len(a) > 0 && a[0] < bi {
					visit(&pt.rules[a[0]])
					a = a[1:]
				}
				visit(&pt.rules[bi])
			}
			for _, ai := range a {
				visit(&pt.rules[ai])
			}
		} else {
			for i := range pt.rules {
				visit(&pt.rules[i])
			}
		}
	}
	if m.Rules == nil {
		return SGMatch{Code: dr.denyCode()}
	}
	m.Allowed = true
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		return m
	}
	l4 := l4Index(p.Protocol)
	opp := &er.dir[1-d]
	syn, ack := p.TCPFlags&TCPSyn != 0, p.TCPFlags&TCPAck != 0
	canInit := p.Protocol == vpc.ProtoUDP || !(syn && ack)
	canResp := p.Protocol == vpc.ProtoUDP || !(syn && !ack)
	if canInit && any0 && opp.openAll[f][l4] {
		m.Untracked = true
		return m
	}
	if canResp && dr.openAll[f][l4] {
		for _, pr := range opp.slash0[f][l4] {
			if p.Fragment == FragLater {
				if pr.From <= 0 && pr.To >= 65535 {
					m.Untracked = true
					break
				}
			} else if p.SrcPort >= pr.From && p.SrcPort <= pr.To {
				m.Untracked = true
				break
			}
		}
	}
	return m
}

// SGBypass reports whether the SG datapath passes p without judging or
// tracking it (bpf/sg.bpf.c): p's source or destination is a
// ReservedService address of t (SG-45, PATH-6), or p is IPv6 link control.
//
// [INTERP] (docs/semantics.md, "SG: IPv6 link control"): no statement
// names neighbour discovery or MLD, but an ENI that drops them has no IPv6
// at all (no neighbour resolution, no router), while on AWS they are the
// VPC's own link mechanics, never shown to security groups. vpcemu passes
// ICMPv6 MLD (130 query, 131 and 143 reports, 132 done) and neighbour
// discovery (133 RS, 134 RA, 135 NS, 136 NA, 137 redirect) whatever the
// addresses; a later fragment carries no ICMPv6 header and is judged.
func SGBypass(t *vpc.Topology, p Packet) bool {
	return icmpv6LinkControl(&p) || ReservedService(t, p.Src) || ReservedService(t, p.Dst)
}

// icmpv6LinkControl reports whether p is an IPv6 ICMPv6 MLD or neighbour
// discovery message (the types SGBypass lets through).
func icmpv6LinkControl(p *Packet) bool {
	if p.Protocol != vpc.ProtoICMPv6 || p.Fragment == FragLater || p.Src.Unmap().Is4() {
		return false
	}
	return (p.ICMPType >= 130 && p.ICMPType <= 137) || p.ICMPType == 143
}

func (dr *dirRules) denyCode() string {
	if dr.empty {
		return CodeSGHasNoRules
	}
	return CodeSGRulesMismatch
}

// TCP flag bits of Packet.TCPFlags.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPPsh = 0x08
	TCPAck = 0x10
)
