package loader

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
)

// TestNACLRangeAlloc is root-free: random alloc/free sequences never hand
// out overlapping ranges and freeing everything restores one span.
func TestNACLRangeAlloc(t *testing.T) {
	r := rulestest.Rand(t)
	ra := newRangeAlloc(1000)
	owner := make([]int, 1000)
	type span struct{ start, n, id int }
	var live []span
	for step := 1; step < 5000; step++ {
		if len(live) > 0 && r.IntN(2) == 0 {
			i := r.IntN(len(live))
			s := live[i]
			for k := s.start; k < s.start+s.n; k++ {
				owner[k] = 0
			}
			ra.free(s.start, s.n)
			live = append(live[:i], live[i+1:]...)
			continue
		}
		n := 1 + r.IntN(60)
		start, ok := ra.alloc(n)
		if !ok {
			continue
		}
		for k := start; k < start+n; k++ {
			if owner[k] != 0 {
				t.Fatalf("step %d: slot %d handed out twice", step, k)
			}
			owner[k] = step
		}
		live = append(live, span{start, n, step})
	}
	for _, s := range live {
		ra.free(s.start, s.n)
	}
	if len(ra.spans) != 1 || ra.spans[0] != [2]int{0, 1000} {
		t.Fatalf("after freeing everything: %v", ra.spans)
	}
}

// TestNACLReservedCandidates is root-free: every address the NACL and the
// SG must pass unjudged survives its cheap pre-check (else the hash map is never
// consulted for it).
func TestNACLReservedCandidates(t *testing.T) {
	for _, topo := range []*vpc.Topology{
		naclTestTopo,
		{VPCs: []vpc.VPC{{CIDR: netip.MustParsePrefix("172.16.0.0/12")}}, Subnets: []vpc.Subnet{
			{CIDR: netip.MustParsePrefix("172.16.5.64/26")}, {CIDR: netip.MustParsePrefix("172.31.255.240/28"), IPv6CIDR: netip.MustParsePrefix("2600:1f18:1:2::/64")}}},
		{VPCs: []vpc.VPC{{CIDR: netip.MustParsePrefix("10.9.0.0/24")}}, Subnets: []vpc.Subnet{{CIDR: netip.MustParsePrefix("10.9.0.4/30"), IPv6CIDR: netip.MustParsePrefix("2001:db8::/120")}}},
	} {
		mask4, any6 := reservedMasks(topo)
		for _, a := range rules.NACLReservedAddrs(topo) {
			if a.Is4() {
				b := a.As4()
				h := binary.BigEndian.Uint32(b[:])
				if h&3 == 0 || h&mask4 != 0 {
					t.Errorf("%s: reserved %s fails the candidate check (mask %#x)", topo.VPCs[0].CIDR, a, mask4)
				}
				continue
			}
			b := a.As16()
			lo := binary.BigEndian.Uint32(b[12:])
			if any6 == 0 && (binary.BigEndian.Uint32(b[8:]) != 0 || lo > 3 || lo&3 == 0) {
				t.Errorf("%s: reserved %s fails the IPv6 candidate check", topo.VPCs[0].CIDR, a)
			}
		}
	}
}
