package rules

import (
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func TestNACL1_IngressAndEgressAreIndependentLists(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n",
		Ingress: []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)},
	}
	p := tcp("198.51.100.10", 40000, "10.0.1.10", 22, TCPSyn)
	mustAllowNACL(t, acl, false, p, true, 100)
	mustAllowNACL(t, acl, true, p, false, NACLDefaultRuleIPv4)
}

func TestNACL4_FirstMatchByNumberNotPosition(t *testing.T) {
	// TV-08: 200 allow created first, then 100 deny; 100 wins.
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{
		nr(200, vpc.ProtoTCP, 22, 22, "0.0.0.0/0", true),
		nr(100, vpc.ProtoTCP, 22, 22, "198.51.100.0/24", false),
	}}
	mustAllowNACL(t, acl, false, tcp("198.51.100.10", 40000, "10.0.1.10", 22, TCPSyn), false, 100)
	mustAllowNACL(t, acl, false, tcp("192.0.2.1", 40000, "10.0.1.10", 22, TCPSyn), true, 200)
	acl.Ingress[0], acl.Ingress[1] = acl.Ingress[1], acl.Ingress[0]
	mustAllowNACL(t, acl, false, tcp("198.51.100.10", 40000, "10.0.1.10", 22, TCPSyn), false, 100)
}

func TestNACL5_DefaultDenyIs32767ForIPv4And32768ForIPv6(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "empty"}
	mustAllowNACL(t, acl, false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), false, 32767)
	mustAllowNACL(t, acl, true, tcp("2001:db8:1::10", 1, "2001:db8:2::20", 22, TCPSyn), false, 32768)
	mustAllowNACL(t, nil, false, tcp("198.51.100.10", 1, "10.0.1.10", 22, TCPSyn), false, 32767)
}

func TestNACL6_FamiliesNeverCross(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{
		nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true),
	}}
	mustAllowNACL(t, acl, false, tcp("2001:db8::1", 1, "2001:db8:1::10", 22, TCPSyn), false, 32768)
	acl.Ingress = append(acl.Ingress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
	mustAllowNACL(t, acl, false, tcp("2001:db8::1", 1, "2001:db8:1::10", 22, TCPSyn), true, 101)
	// An IPv4-mapped IPv6 address is an IPv4 packet.
	mustAllowNACL(t, acl, false, tcp("::ffff:198.51.100.1", 1, "::ffff:10.0.1.10", 22, TCPSyn), true, 100)
}

func TestNACL7_StatelessResponseNeedsItsOwnRule(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n",
		Ingress: []vpc.NACLRule{nr(100, vpc.ProtoTCP, 22, 22, "0.0.0.0/0", true)},
		Egress:  []vpc.NACLRule{nr(100, vpc.ProtoTCP, 22, 22, "0.0.0.0/0", true)},
	}
	mustAllowNACL(t, acl, false, tcp("198.51.100.10", 40000, "10.0.1.10", 22, TCPSyn), true, 100)
	// The reply goes to port 40000: the outbound 22 rule does not cover it.
	mustAllowNACL(t, acl, true, tcp("10.0.1.10", 22, "198.51.100.10", 40000, synAck), false, 32767)
}

func TestNACL11_ProtocolAllAndNumbers(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{
		nr(10, 47, 0, 0, "0.0.0.0/0", false),
		nr(20, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true),
	}}
	gre := Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.1.10"), Protocol: 47}
	mustAllowNACL(t, acl, false, gre, false, 10)
	mustAllowNACL(t, acl, false, udp("198.51.100.1", 5, "10.0.1.10", 53), true, 20)
}

func TestNACL12_PortsIgnoredForOtherProtocols(t *testing.T) {
	r := nr(10, 47, 0, 0, "0.0.0.0/0", true)
	r.Ports = ports(5, 5) // nonsense ports on GRE are ignored
	r.ICMPType, r.ICMPCode = 3, 4
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{r}}
	mustAllowNACL(t, acl, false, Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.1.10"), Protocol: 47}, true, 10)
}

func TestNACL13_TCPAndUDPMatchTheDestinationPort(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{
		nr(50, vpc.ProtoTCP, 443, 443, "0.0.0.0/0", false),
		nr(60, vpc.ProtoUDP, 1000, 2000, "0.0.0.0/0", true),
	}}
	// TV-01: the reply from W:443 to port 40000 does not hit rule 50.
	mustAllowNACL(t, acl, false, tcp("203.0.113.80", 443, "10.0.1.10", 40000, synAck), false, 32767)
	mustAllowNACL(t, acl, false, tcp("203.0.113.80", 40000, "10.0.1.10", 443, TCPSyn), false, 50)
	mustAllowNACL(t, acl, false, udp("203.0.113.80", 40000, "10.0.1.10", 1000), true, 60)
	mustAllowNACL(t, acl, false, udp("203.0.113.80", 40000, "10.0.1.10", 2000), true, 60)
	mustAllowNACL(t, acl, false, udp("203.0.113.80", 1500, "10.0.1.10", 2001), false, 32767)
	// A TCP rule does not match UDP on the same port.
	mustAllowNACL(t, acl, false, udp("203.0.113.80", 1, "10.0.1.10", 443), false, 32767)
}

func TestNACL14_ICMPTypeCodeWildcards(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{
		nr(10, vpc.ProtoICMP, 3, 4, "0.0.0.0/0", true),  // fragmentation needed
		nr(20, vpc.ProtoICMP, 8, -1, "0.0.0.0/0", true), // echo, any code
		nr(30, vpc.ProtoICMPv6, 128, 0, "::/0", true),
		nr(40, vpc.ProtoICMPv6, 1, 1, "0.0.0.0/0", true), // 58 with IPv4 CIDR: all types
		nr(50, vpc.ProtoICMP, -1, -1, "192.0.2.0/24", true),
	}}
	mustAllowNACL(t, acl, false, icmp("198.51.100.1", "10.0.1.10", 3, 4, 0), true, 10)
	mustAllowNACL(t, acl, false, icmp("198.51.100.1", "10.0.1.10", 3, 1, 0), false, 32767)
	mustAllowNACL(t, acl, false, icmp("198.51.100.1", "10.0.1.10", 8, 5, 0), true, 20)
	mustAllowNACL(t, acl, false, icmp("192.0.2.1", "10.0.1.10", 13, 0, 0), true, 50)
	mustAllowNACL(t, acl, false, icmp("2001:db8::1", "2001:db8:1::10", 128, 0, 1), true, 30)
	mustAllowNACL(t, acl, false, icmp("2001:db8::1", "2001:db8:1::10", 128, 1, 1), false, 32768)
	v4v6 := Packet{Src: ip("198.51.100.1"), Dst: ip("10.0.1.10"), Protocol: vpc.ProtoICMPv6, ICMPType: 135}
	mustAllowNACL(t, acl, false, v4v6, true, 40)
}

func TestNACL15_InboundMatchesSourceOutboundMatchesDestination(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n",
		Ingress: []vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "198.51.100.0/24", true)},
		Egress:  []vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "198.51.100.0/24", true)},
	}
	mustAllowNACL(t, acl, false, tcp("198.51.100.1", 1, "10.0.1.10", 2, 0), true, 10)
	mustAllowNACL(t, acl, false, tcp("10.0.1.10", 1, "198.51.100.1", 2, 0), false, 32767)
	mustAllowNACL(t, acl, true, tcp("10.0.1.10", 1, "198.51.100.1", 2, 0), true, 10)
	mustAllowNACL(t, acl, true, tcp("198.51.100.1", 1, "10.0.1.10", 2, 0), false, 32767)
}

func TestNACL16_NonCanonicalCIDRStillMatchesItsNetwork(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "100.68.0.18/18", true)}}
	mustAllowNACL(t, acl, false, tcp("100.68.63.1", 1, "10.0.1.10", 2, 0), true, 10)
	mustAllowNACL(t, acl, false, tcp("100.68.64.1", 1, "10.0.1.10", 2, 0), false, 32767)
}

func TestNACL17_DefaultNACLAllowsBothFamilies(t *testing.T) {
	acl := &vpc.NetworkACL{ID: vpc.DefaultNACLID, Default: true,
		Ingress: []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true), nr(101, vpc.ProtoAll, 0, 0, "::/0", true)},
		Egress:  []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true), nr(101, vpc.ProtoAll, 0, 0, "::/0", true)},
	}
	mustAllowNACL(t, acl, false, tcp("198.51.100.1", 1, "10.0.1.10", 2, 0), true, 100)
	mustAllowNACL(t, acl, true, tcp("2001:db8:1::10", 1, "2001:db8::1", 2, 0), true, 101)
}

func TestNACL18_NewCustomNACLDeniesEverything(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "custom"}
	for _, egress := range []bool{false, true} {
		mustAllowNACL(t, acl, egress, udp("198.51.100.1", 1, "10.0.1.10", 2), false, 32767)
		mustAllowNACL(t, acl, egress, icmp("2001:db8::1", "2001:db8:1::10", 128, 0, 1), false, 32768)
	}
}

func TestNACL19_EphemeralRangesPerClientOS(t *testing.T) {
	// TV-03: inbound 20 denies 32768-65535: Linux and Windows>=2008 clients
	// lose the reply, a Windows 2003 client (1025-5000) does not.
	acl := &vpc.NetworkACL{ID: "N1", Ingress: []vpc.NACLRule{
		nr(20, vpc.ProtoTCP, 32768, 65535, "0.0.0.0/0", false),
		nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true),
	}}
	for _, tc := range []struct {
		os    string
		allow bool
		rule  int
	}{{"linux", false, 20}, {"windows", false, 20}, {"windows-2003", true, 100}} {
		lo, _ := vpc.EphemeralPorts(tc.os)
		mustAllowNACL(t, acl, false, tcp("203.0.113.80", 443, "10.0.1.10", lo, synAck), tc.allow, tc.rule)
	}
}

func TestNACL20_PMTUDNeedsICMP3_4(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{nr(100, vpc.ProtoTCP, 0, 65535, "0.0.0.0/0", true)}}
	ptb := icmp("198.51.100.1", "10.0.1.10", 3, 4, 0)
	mustAllowNACL(t, acl, false, ptb, false, 32767)
	acl.Ingress = append(acl.Ingress, nr(110, vpc.ProtoICMP, 3, 4, "0.0.0.0/0", true))
	mustAllowNACL(t, acl, false, ptb, true, 110)
}

func TestNACL24_NewDenyAppliesToTheNextPacket(t *testing.T) {
	acl := allowAllNACL("N2")
	p := tcp("198.51.100.10", 51000, "10.0.2.20", 22, TCPAck)
	mustAllowNACL(t, &acl, false, p, true, 100)
	acl.Ingress = append([]vpc.NACLRule{nr(5, vpc.ProtoTCP, 22, 22, "198.51.100.10/32", false)}, acl.Ingress...)
	mustAllowNACL(t, &acl, false, p, false, 5)
}

// Non-first fragments carry no ports: only rules that do not restrict ports
// or ICMP type can match them (documented on EvalNACL; the XDP side agrees).
func TestNACLFragmentLaterMatchesOnlyProtocolWideRules(t *testing.T) {
	acl := &vpc.NetworkACL{ID: "n", Ingress: []vpc.NACLRule{
		nr(10, vpc.ProtoTCP, 22, 22, "0.0.0.0/0", false), // cannot be proven to match
		nr(20, vpc.ProtoICMP, 8, -1, "0.0.0.0/0", false), // nor this
		nr(30, vpc.ProtoUDP, 0, 65535, "0.0.0.0/0", true),
		nr(40, vpc.ProtoICMP, -1, -1, "0.0.0.0/0", true),
		nr(50, vpc.ProtoTCP, 1, 65535, "0.0.0.0/0", true), // narrower than all ports
		nr(60, vpc.ProtoAll, 0, 0, "198.51.100.0/24", true),
	}}
	later := func(p Packet) Packet {
		p.SrcPort, p.DstPort, p.ICMPType, p.ICMPCode, p.Fragment = 0, 0, 0, 0, FragLater
		return p
	}
	mustAllowNACL(t, acl, false, later(tcp("192.0.2.1", 1, "10.0.1.10", 22, 0)), false, 32767)
	mustAllowNACL(t, acl, false, later(tcp("198.51.100.1", 1, "10.0.1.10", 22, 0)), true, 60)
	mustAllowNACL(t, acl, false, later(udp("192.0.2.1", 1, "10.0.1.10", 53)), true, 30)
	mustAllowNACL(t, acl, false, later(icmp("192.0.2.1", "10.0.1.10", 8, 0, 1)), true, 40)
	// The first fragment has ports and matches normally.
	first := tcp("192.0.2.1", 1, "10.0.1.10", 22, 0)
	first.Fragment = FragFirst
	mustAllowNACL(t, acl, false, first, false, 10)
}
