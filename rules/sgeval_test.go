package rules

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func mustSG(t *testing.T, e *SGEvaluator, id string, egress bool, p Packet, allowed bool) SGMatch {
	t.Helper()
	m := e.Match(id, egress, p)
	if m.Allowed != allowed {
		t.Errorf("Match(%s, egress=%v, %+v) = %+v, want Allowed=%v", id, egress, p, m, allowed)
	}
	return m
}

func TestSG1_OnlyAllowRulesNoMatchDenies(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "198.51.100.0/24")}
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), true)
	m := mustSG(t, e, "A", false, tcp("192.0.2.1", 1, "10.0.1.10", 22, TCPSyn), false)
	if m.Code != CodeSGRulesMismatch {
		t.Errorf("code %q, want %s", m.Code, CodeSGRulesMismatch)
	}
}

func TestSG2_InboundAndOutboundAreIndependent(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), true)
	mustSG(t, e, "A", true, tcp("10.0.1.10", 1, "198.51.100.10", 22, TCPSyn), false)
}

func TestSG3_SG4_UnionOfAllAttachedGroups(t *testing.T) {
	top := t1()
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgExtra", Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0")}})
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "0.0.0.0/0")}
	instOf(top, "A").SecurityGroups = []string{"sgA", "sgExtra"}
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), true)
	m := mustSG(t, e, "eni-a", false, tcp("198.51.100.10", 1, "10.0.1.10", 443, TCPSyn), true)
	if want := []SGRuleRef{{SecurityGroup: "sgExtra", Index: 0}}; !slices.Equal(m.Rules, want) {
		t.Errorf("rules %v, want %v", m.Rules, want)
	}
	mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 80, TCPSyn), false)
}

func TestSG4_AllMatchingRulesAreReportedInOrder(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{
		sgr(vpc.ProtoTCP, 22, 22, "198.51.100.10/32"),
		sgr(vpc.ProtoTCP, 80, 80, "0.0.0.0/0"),
		sgr(vpc.ProtoAll, 0, 0, "198.51.100.0/24"),
	}
	e := NewSGEvaluator(top)
	m := mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), true)
	want := []SGRuleRef{{"sgA", false, 0}, {"sgA", false, 2}}
	if !slices.Equal(m.Rules, want) {
		t.Errorf("rules %v, want %v", m.Rules, want)
	}
}

func TestSG5_NoInboundRulesMeansSGHasNoRules(t *testing.T) {
	top := t1()
	e := NewSGEvaluator(top)
	m := mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), false)
	if m.Code != CodeSGHasNoRules {
		t.Errorf("code %q, want %s", m.Code, CodeSGHasNoRules)
	}
}

func TestSG8_SG13_ProtocolNumbersAndNames(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoUDP, 53, 53, "0.0.0.0/0"), sgr(47, 0, 0, "0.0.0.0/0")}
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, udp("198.51.100.10", 1, "10.0.1.10", 53), true)
	mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 53, TCPSyn), false)
	mustSG(t, e, "A", false, Packet{Src: ip("198.51.100.10"), Dst: ip("10.0.1.10"), Protocol: 47}, true)
	mustSG(t, e, "A", false, Packet{Src: ip("198.51.100.10"), Dst: ip("10.0.1.10"), Protocol: 50}, false)
}

func TestSG9_PortsIgnoredForAllAndOtherProtocols(t *testing.T) {
	top := t1()
	r := sgr(50, 0, 0, "0.0.0.0/0")
	r.Ports = ports(7, 7)
	all := sgr(vpc.ProtoAll, 0, 0, "192.0.2.0/24")
	all.Ports = ports(7, 7)
	sgOf(top, "sgA").Ingress = []vpc.SGRule{r, all}
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, Packet{Src: ip("198.51.100.10"), Dst: ip("10.0.1.10"), Protocol: 50}, true)
	mustSG(t, e, "A", false, tcp("192.0.2.1", 1, "10.0.1.10", 9999, TCPSyn), true)
}

func TestSG10_DestinationPortRangeInclusive(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 8000, 8080, "0.0.0.0/0")}
	e := NewSGEvaluator(top)
	for port, want := range map[int]bool{7999: false, 8000: true, 8080: true, 8081: false} {
		mustSG(t, e, "A", false, tcp("198.51.100.10", 8000, "10.0.1.10", port, TCPSyn), want)
	}
}

func TestSG11_SG12_ICMPTypeCodeWildcards(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{
		sgr(vpc.ProtoICMP, 8, -1, "0.0.0.0/0"),
		sgr(vpc.ProtoICMP, 3, 4, "0.0.0.0/0"),
		sgr(vpc.ProtoICMPv6, -1, -1, "::/0"),
	}
	instOf(top, "A").IPv6 = ip("2001:db8:1::10")
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, icmp("198.51.100.10", "10.0.1.10", 8, 0, 1), true)
	mustSG(t, e, "A", false, icmp("198.51.100.10", "10.0.1.10", 3, 4, 0), true)
	mustSG(t, e, "A", false, icmp("198.51.100.10", "10.0.1.10", 3, 3, 0), false)
	mustSG(t, e, "A", false, icmp("198.51.100.10", "10.0.1.10", 13, 0, 0), false)
	mustSG(t, e, "A", false, icmp("2001:db8::1", "2001:db8:1::10", 135, 0, 0), true)
}

func TestSG14_CIDRFamiliesNeverCross(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}
	instOf(top, "A").IPv6 = ip("2001:db8:1::10")
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, tcp("2001:db8::1", 1, "2001:db8:1::10", 22, TCPSyn), false)
	sgOf(top, "sgA").Ingress = append(sgOf(top, "sgA").Ingress, sgr(vpc.ProtoAll, 0, 0, "::/0"))
	e = NewSGEvaluator(top)
	mustSG(t, e, "A", false, tcp("2001:db8::1", 1, "2001:db8:1::10", 22, TCPSyn), true)
}

func TestSG15_PrefixListPeer(t *testing.T) {
	top := t1()
	top.PrefixLists = []vpc.PrefixList{{ID: "pl-admin", MaxEntries: 5, CIDRs: []netip.Prefix{pfx("198.51.100.0/28"), pfx("192.0.2.64/26")}}}
	r := sgr(vpc.ProtoTCP, 22, 22, "0.0.0.0/0")
	r.CIDR, r.PrefixList = netip.Prefix{}, "pl-admin"
	sgOf(top, "sgA").Ingress = []vpc.SGRule{r}
	e := NewSGEvaluator(top)
	mustSG(t, e, "A", false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), true)
	mustSG(t, e, "A", false, tcp("192.0.2.66", 1, "10.0.1.10", 22, TCPSyn), true)
	mustSG(t, e, "A", false, tcp("198.51.100.77", 1, "10.0.1.10", 22, TCPSyn), false)
}

func TestSG16_ReferencedGroupMatchesPrivateIPsOnly(t *testing.T) {
	top := t1()
	sgOf(top, "sgC").Ingress = []vpc.SGRule{sgrGroup(vpc.ProtoTCP, 5432, 5432, "sgA")}
	instOf(top, "A").IPv6 = ip("2001:db8:1::10")
	e := NewSGEvaluator(top)
	mustSG(t, e, "C", false, tcp("10.0.1.10", 40000, "10.0.1.30", 5432, TCPSyn), true)
	mustSG(t, e, "C", false, tcp("2001:db8:1::10", 40000, "2001:db8:1::30", 5432, TCPSyn), true)
	// A's public IP is not a member address; B is not in sgA.
	mustSG(t, e, "C", false, tcp("203.0.113.10", 40000, "10.0.1.30", 5432, TCPSyn), false)
	mustSG(t, e, "C", false, tcp("10.0.2.20", 40000, "10.0.1.30", 5432, TCPSyn), false)
	// Membership follows the topology: B joins sgA.
	instOf(top, "B").SecurityGroups = []string{"sgB", "sgA"}
	e = NewSGEvaluator(top)
	mustSG(t, e, "C", false, tcp("10.0.2.20", 40000, "10.0.1.30", 5432, TCPSyn), true)
}

func TestSG18_SameGroupNeedsSelfReference(t *testing.T) {
	// TV-17/TV-18: A and C share sgX; without a self-reference C refuses A.
	top := t1()
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgX", Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 80, 80, "192.0.2.0/24")}, Egress: []vpc.SGRule{outAll()}})
	instOf(top, "A").SecurityGroups = []string{"sgX"}
	instOf(top, "C").SecurityGroups = []string{"sgX"}
	e := NewSGEvaluator(top)
	m := mustSG(t, e, "C", false, tcp("10.0.1.10", 40000, "10.0.1.30", 22, TCPSyn), false)
	if m.Code != CodeSGRulesMismatch {
		t.Errorf("code %q", m.Code)
	}
	sgOf(top, "sgX").Ingress = append(sgOf(top, "sgX").Ingress, sgrGroup(vpc.ProtoAll, 0, 0, "sgX"))
	e = NewSGEvaluator(top)
	mustSG(t, e, "C", false, tcp("10.0.1.10", 40000, "10.0.1.30", 22, TCPSyn), true)
	mustSG(t, e, "A", false, icmp("10.0.1.30", "10.0.1.10", 8, 0, 7), true)
}

func TestSG30_SG31_DefaultGroupSelfReference(t *testing.T) {
	// TV-19: A and C in the unchanged default SG reach each other on any port.
	top := t1()
	instOf(top, "A").SecurityGroups = nil // its VPC's default group (SG-31: vpc.Validate)
	instOf(top, "C").SecurityGroups = []string{vpc.DefaultSGID}
	complete(top)
	e := NewSGEvaluator(top)
	mustSG(t, e, "C", false, tcp("10.0.1.10", 40000, "10.0.1.30", 12345, TCPSyn), true)
	mustSG(t, e, "A", false, udp("10.0.1.30", 40000, "10.0.1.10", 53), true)
	mustSG(t, e, "A", true, udp("10.0.1.10", 40000, "198.51.100.1", 53), true)
	mustSG(t, e, "A", false, udp("198.51.100.1", 40000, "10.0.1.10", 53), false)
}

func TestSG23_UntrackedNeedsSlash0BothWays(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{
		sgr(vpc.ProtoTCP, 22, 22, "203.0.113.1/32"),
		sgr(vpc.ProtoTCP, 80, 80, "0.0.0.0/0"),
		sgr(vpc.ProtoTCP, 80, 80, "::/0"),
		sgr(vpc.ProtoICMP, -1, -1, "0.0.0.0/0"),
	}
	sgOf(top, "sgA").Egress = []vpc.SGRule{outAll(), sgr(vpc.ProtoAll, 0, 0, "::/0")}
	instOf(top, "A").IPv6 = ip("2001:db8:1::10")
	e := NewSGEvaluator(top)
	// SG-26: SSH tracked, HTTP untracked, ICMP tracked.
	if m := mustSG(t, e, "A", false, tcp("203.0.113.1", 40000, "10.0.1.10", 22, TCPSyn), true); m.Untracked {
		t.Error("ssh from a /32 must be tracked")
	}
	if m := mustSG(t, e, "A", false, tcp("198.51.100.1", 40000, "10.0.1.10", 80, TCPSyn), true); !m.Untracked {
		t.Error("http from 0.0.0.0/0 with outbound all to 0.0.0.0/0 must be untracked")
	}
	if m := mustSG(t, e, "A", false, icmp("198.51.100.1", "10.0.1.10", 8, 0, 1), true); m.Untracked {
		t.Error("icmp is always tracked (SG-22)")
	}
	// The response leaving A is recognised as part of the untracked flow.
	if m := mustSG(t, e, "A", true, tcp("10.0.1.10", 80, "198.51.100.1", 40000, synAck), true); !m.Untracked {
		t.Error("the SYN-ACK of an untracked http flow must be untracked")
	}
	// Delete the IPv4 outbound rule: IPv4 HTTP becomes tracked, IPv6 stays untracked.
	sgOf(top, "sgA").Egress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "::/0")}
	e = NewSGEvaluator(top)
	if m := mustSG(t, e, "A", false, tcp("198.51.100.1", 40000, "10.0.1.10", 80, TCPSyn), true); m.Untracked {
		t.Error("ipv4 http must be tracked without the ipv4 outbound /0 rule")
	}
	if m := mustSG(t, e, "A", false, tcp("2001:db8::1", 40000, "2001:db8:1::10", 80, TCPSyn), true); !m.Untracked {
		t.Error("ipv6 http must stay untracked")
	}
	// A narrow outbound /0 rule (TCP 80 only) does not cover all response ports.
	sgOf(top, "sgA").Egress = []vpc.SGRule{sgr(vpc.ProtoTCP, 80, 80, "0.0.0.0/0")}
	e = NewSGEvaluator(top)
	if m := mustSG(t, e, "A", false, tcp("198.51.100.1", 40000, "10.0.1.10", 80, TCPSyn), true); m.Untracked {
		t.Error("outbound tcp 80 only does not make inbound http untracked")
	}
	// Same protocol on all ports is enough.
	sgOf(top, "sgA").Egress = []vpc.SGRule{sgr(vpc.ProtoTCP, 0, 65535, "0.0.0.0/0")}
	e = NewSGEvaluator(top)
	if m := mustSG(t, e, "A", false, tcp("198.51.100.1", 40000, "10.0.1.10", 80, TCPSyn), true); !m.Untracked {
		t.Error("outbound tcp 0-65535 to /0 must make inbound http untracked")
	}
	// A prefix list that covers everything is not a /0 CIDR (INTERP).
	top.PrefixLists = []vpc.PrefixList{{ID: "pl-all", CIDRs: []netip.Prefix{pfx("0.0.0.0/0")}}}
	pl := sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0")
	pl.CIDR, pl.PrefixList = netip.Prefix{}, "pl-all"
	sgOf(top, "sgA").Ingress = []vpc.SGRule{pl}
	e = NewSGEvaluator(top)
	if m := mustSG(t, e, "A", false, tcp("198.51.100.1", 40000, "10.0.1.10", 443, TCPSyn), true); m.Untracked {
		t.Error("a prefix-list peer never makes a flow untracked")
	}
}

func TestSG22_ICMPAndOtherProtocolsAlwaysTracked(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}
	sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
	e := NewSGEvaluator(top)
	for _, p := range []Packet{icmp("198.51.100.1", "10.0.1.10", 8, 0, 1), {Src: ip("198.51.100.1"), Dst: ip("10.0.1.10"), Protocol: 47}} {
		if m := mustSG(t, e, "A", false, p, true); m.Untracked {
			t.Errorf("protocol %d must be tracked", p.Protocol)
		}
	}
	if m := mustSG(t, e, "A", false, udp("198.51.100.1", 1, "10.0.1.10", 53), true); !m.Untracked {
		t.Error("udp with /0 both ways must be untracked")
	}
}

func TestSGUnknownInstance(t *testing.T) {
	e := NewSGEvaluator(t1())
	if m := e.Match("nope", false, tcp("198.51.100.1", 1, "10.0.1.10", 22, TCPSyn)); m.Allowed || m.Code != CodeUnknownENI {
		t.Errorf("unknown instance: %+v", m)
	}
}

func TestSGFragmentLaterMatchesOnlyPortlessRules(t *testing.T) {
	top := t1()
	sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "0.0.0.0/0"), sgr(vpc.ProtoUDP, 0, 65535, "0.0.0.0/0")}
	e := NewSGEvaluator(top)
	f := tcp("198.51.100.1", 0, "10.0.1.10", 0, 0)
	f.Fragment = FragLater
	mustSG(t, e, "A", false, f, false)
	g := udp("198.51.100.1", 0, "10.0.1.10", 0)
	g.Fragment = FragLater
	mustSG(t, e, "A", false, g, true)
}

// SGEvaluator is read-only after construction: concurrent Match calls are
// safe (run with -race).
func TestSGEvaluatorConcurrentMatch(t *testing.T) {
	e := NewSGEvaluator(bench5x60())
	pkts := benchPackets(256)
	want := make([]SGMatch, len(pkts))
	for i, p := range pkts {
		want[i] = e.Match("A", false, p)
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i, p := range pkts {
				if got := e.Match("A", false, p); got.Allowed != want[i].Allowed || !slices.Equal(got.Rules, want[i].Rules) {
					t.Errorf("packet %d: %+v, want %+v", i, got, want[i])
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
