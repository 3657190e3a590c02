// Package rulestest generates random rule tables and addresses for the
// differential and property tests of the reference evaluator, the rule
// compilers and the BPF datapath, so that all of them draw from one
// distribution. It is pure and imported by tests only.
package rulestest

import (
	"math/rand/v2"
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

var EdgePorts = []int{0, 1, 1023, 1024, 32767, 32768, 65535, 22, 80, 443}

func RandPort(r *rand.Rand) int {
	if r.IntN(2) == 0 {
		return EdgePorts[r.IntN(len(EdgePorts))]
	}
	return r.IntN(65536)
}

var specialV4 = []string{"169.254.169.254", "169.254.169.253", "169.254.169.123", "169.254.0.1", "169.253.255.255", "10.0.0.2", "10.0.0.3", "10.0.3.17", "10.0.3.20", "0.0.0.0", "0.0.0.1", "255.255.255.255"}
var specialV6 = []string{"fe80::1", "ff02::1", "ff02::1:ff00:1", "fd00:ec2::254", "fd00:ec2::123", "ff05::2", "::", "::3", "2001:db8:1::1", "2001:db8:1::3", "2001:db8:1::4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}

func RandAddr(r *rand.Rand, v6 bool) netip.Addr {
	if r.IntN(30) == 0 {
		if v6 {
			return netip.MustParseAddr(specialV6[r.IntN(len(specialV6))])
		}
		return netip.MustParseAddr(specialV4[r.IntN(len(specialV4))])
	}
	if v6 {
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		b[4] = byte(r.IntN(4))
		b[15] = byte(r.IntN(256))
		if r.IntN(8) == 0 {
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
		}
		return netip.AddrFrom16(b)
	}
	b := [4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))}
	if r.IntN(8) == 0 {
		b = [4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}
	}
	return netip.AddrFrom4(b)
}

// ICMPv6LinkControl are the ICMPv6 types of MLD (130-132, 143) and
// neighbour discovery (133-137), which no SG judges (rules.SGBypass) and no
// NACL judges either (133-137, rules.NACLBypass).
var ICMPv6LinkControl = []int{130, 131, 132, 133, 134, 135, 136, 137, 143}

// RandICMPv6Type draws an ICMPv6 message type: an error, echo, link
// control, the types around link control, or any byte.
func RandICMPv6Type(r *rand.Rand) int {
	switch r.IntN(4) {
	case 0:
		return []int{1, 2, 3, 4}[r.IntN(4)]
	case 1:
		return []int{128, 129}[r.IntN(2)]
	case 2:
		return ICMPv6LinkControl[r.IntN(len(ICMPv6LinkControl))]
	}
	if r.IntN(2) == 0 {
		return []int{129, 138, 142, 144}[r.IntN(4)]
	}
	return r.IntN(256)
}

func RandNACLRule(r *rand.Rand, num int) vpc.NACLRule {
	v6 := r.IntN(3) == 0
	bits := []int{0, 8, 16, 22, 24, 30, 32}[r.IntN(7)]
	if v6 {
		bits = []int{0, 32, 48, 64, 120, 128}[r.IntN(6)]
	}
	rule := vpc.NACLRule{Number: num, Allow: r.IntN(2) == 0, ICMPType: -1, ICMPCode: -1,
		CIDR: netip.PrefixFrom(RandAddr(r, v6), bits).Masked(), Ports: vpc.AllPorts}
	rule.Protocol = []int{vpc.ProtoAll, vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6, 47, 132, 0}[r.IntN(8)]
	switch rule.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		a, b := RandPort(r), RandPort(r)
		if r.IntN(5) == 0 {
			a, b = 0, 65535
		}
		rule.Ports = vpc.PortRange{From: min(a, b), To: max(a, b)}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if r.IntN(3) > 0 {
			rule.ICMPType = []int{0, 3, 8, 11, 128, 129, 135, 255}[r.IntN(8)]
			if r.IntN(2) == 0 {
				rule.ICMPCode = r.IntN(5)
			}
		}
	default:
		if r.IntN(3) == 0 { // NACL-12: ignored for these protocols
			rule.Ports = vpc.PortRange{From: 80, To: 80}
			rule.ICMPType = 3
		}
	}
	return rule
}

func RandNACLRules(r *rand.Rand, n int) []vpc.NACLRule {
	var out []vpc.NACLRule
	used := map[int]bool{}
	for len(out) < n {
		num := 1 + r.IntN(32766)
		if used[num] {
			continue
		}
		used[num] = true
		out = append(out, RandNACLRule(r, num))
	}
	return out
}
