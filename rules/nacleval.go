package rules

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// Rule numbers AWS reports for the implicit `*` deny of each address family (NACL-5).
const (
	NACLDefaultRuleIPv4 = 32767
	NACLDefaultRuleIPv6 = 32768
)

// NACLResult is a network ACL's verdict on one packet in one direction.
type NACLResult struct {
	Allow bool
	Rule  int // deciding rule number; NACLDefaultRuleIPv4/IPv6 for the `*` deny
}

// EvalNACL decides one packet crossing a subnet boundary through acl, in the
// inbound (egress=false) or outbound (egress=true) list (NACL-4..NACL-15):
// the lowest-numbered matching rule decides, else the family's `*` denies.
// Inbound rules match their CIDR against the source, outbound against the
// destination; an IPv4 CIDR never matches an IPv6 packet and vice versa.
//
// Ports are the destination port (TCP/UDP); ICMP type/code apply to protocol
// 1, and to 58 only with an IPv6 CIDR; every other protocol, and -1, match
// whatever the ports (NACL-12..14).
//
// Non-first fragments (p.Fragment == FragLater) carry no L4 header, so a rule
// that restricts ports (anything narrower than 0-65535) or ICMP type (anything
// but -1) cannot be proven to match them: such rules are skipped, allow and
// deny alike, and only protocol-wide rules (protocol -1, another protocol
// number, full port range, ICMP type -1) can decide a later fragment. The
// datapath follows the same choice.
//
// A nil acl denies everything (rule `*`).
func EvalNACL(acl *vpc.NetworkACL, egress bool, p Packet) NACLResult {
	addr := p.Src
	if egress {
		addr = p.Dst
	}
	addr = addr.Unmap()
	v4 := addr.Is4()
	def := NACLResult{Rule: NACLDefaultRuleIPv6}
	if v4 {
		def.Rule = NACLDefaultRuleIPv4
	}
	if acl == nil {
		return def
	}
	rules := acl.Ingress
	if egress {
		rules = acl.Egress
	}
	if naclSorted(rules) {
		for i := range rules {
			if naclRuleMatches(&rules[i], addr, v4, &p) {
				return NACLResult{Allow: rules[i].Allow, Rule: rules[i].Number}
			}
		}
		return def
	}
	// The model keeps rules sorted; a hand-built table may not be, and the
	// number, not the position, decides (NACL-4).
	best := -1
	for i := range rules {
		if (best < 0 || rules[i].Number < rules[best].Number) && naclRuleMatches(&rules[i], addr, v4, &p) {
			best = i
		}
	}
	if best < 0 {
		return def
	}
	return NACLResult{Allow: rules[best].Allow, Rule: rules[best].Number}
}

func naclSorted(rules []vpc.NACLRule) bool {
	for i := 1; i < len(rules); i++ {
		if rules[i].Number < rules[i-1].Number {
			return false
		}
	}
	return true
}

// NACLRuleMatches reports whether rule r of a NACL's inbound (egress=false)
// or outbound list matches p, with EvalNACL's semantics.
func NACLRuleMatches(r *vpc.NACLRule, egress bool, p Packet) bool {
	addr := p.Src
	if egress {
		addr = p.Dst
	}
	addr = addr.Unmap()
	return naclRuleMatches(r, addr, addr.Is4(), &p)
}

func naclRuleMatches(r *vpc.NACLRule, addr netip.Addr, v4 bool, p *Packet) bool {
	// Cheapest tests first: most rules of a table differ in protocol or port.
	switch r.Protocol {
	case vpc.ProtoAll:
	case p.Protocol:
		switch r.Protocol {
		case vpc.ProtoTCP, vpc.ProtoUDP:
			if p.Fragment == FragLater {
				if r.Ports.From > 0 || r.Ports.To < 65535 {
					return false
				}
			} else if p.DstPort < r.Ports.From || p.DstPort > r.Ports.To {
				return false
			}
		case vpc.ProtoICMP:
			if !icmpMatches(r.ICMPType, r.ICMPCode, p) {
				return false
			}
		case vpc.ProtoICMPv6:
			// NACL-14: 58 with an IPv4 CIDR ignores type/code.
			if !r.CIDR.Addr().Is4() && !icmpMatches(r.ICMPType, r.ICMPCode, p) {
				return false
			}
		}
	default:
		return false
	}
	return r.CIDR.Addr().Is4() == v4 && r.CIDR.Contains(addr)
}

// icmpMatches applies an ICMP type/code filter with -1 wildcards; a later
// fragment only matches "all types".
func icmpMatches(typ, code int, p *Packet) bool {
	if typ == -1 {
		return true
	}
	if p.Fragment == FragLater || typ != p.ICMPType {
		return false
	}
	return code == -1 || code == p.ICMPCode
}
