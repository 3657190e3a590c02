package rules

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
)

func naclRandPacket(r *rand.Rand) Packet {
	v6 := r.IntN(2) == 0
	p := Packet{Src: rulestest.RandAddr(r, v6), Dst: rulestest.RandAddr(r, v6)}
	p.Protocol = []int{vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6, 47, 0, 132}[r.IntN(7)]
	p.Fragment = []int{FragNone, FragNone, FragNone, FragFirst, FragLater}[r.IntN(5)]
	if p.Fragment != FragLater {
		switch p.Protocol {
		case vpc.ProtoTCP, vpc.ProtoUDP:
			p.SrcPort, p.DstPort = rulestest.RandPort(r), rulestest.RandPort(r)
		case vpc.ProtoICMP, vpc.ProtoICMPv6:
			p.ICMPType = []int{0, 3, 8, 11, 128, 129, 135, r.IntN(256)}[r.IntN(8)]
			p.ICMPCode = r.IntN(5)
		}
	}
	return p
}

// TestNACLCompileMatchesEvaluator checks the compiled tables (evaluated by
// NACLTable.Classify, a Go rendering of the datapath's lookups) against the
// reference evaluator on random tables and packets.
func TestNACLCompileMatchesEvaluator(t *testing.T) {
	r := rulestest.Rand(t)
	for round := 0; round < 300; round++ {
		n := 1 + r.IntN(40)
		if round%50 == 0 {
			n = 1000
		}
		acl := &vpc.NetworkACL{ID: "acl-x", Ingress: rulestest.RandNACLRules(r, n), Egress: rulestest.RandNACLRules(r, n)}
		img, err := CompileNACL(acl)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 300; i++ {
			p := naclRandPacket(r)
			for e := 0; e < 2; e++ {
				want := EvalNACL(acl, e == 1, p)
				fam := 0
				if p.Src.Is6() {
					fam = 1
				}
				got := img.Tables[e][fam].Classify(p)
				if int(got.Number) != want.Rule || (got.Allow == 1) != want.Allow {
					t.Fatalf("round %d egress=%v packet %+v: compiled rule %d allow=%d, evaluator %+v",
						round, e == 1, p, got.Number, got.Allow, want)
				}
			}
		}
	}
}

func TestNACLCompileEdges(t *testing.T) {
	rules := []vpc.NACLRule{
		{Number: 10, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 1024, To: 1024}, CIDR: netip.MustParsePrefix("0.0.0.0/0")},
		{Number: 20, Protocol: vpc.ProtoICMP, ICMPType: 3, ICMPCode: 4, CIDR: netip.MustParsePrefix("255.255.255.255/32"), Allow: true},
		{Number: 30, Protocol: vpc.ProtoICMPv6, ICMPType: 128, ICMPCode: -1, CIDR: netip.MustParsePrefix("10.0.0.0/8"), Allow: true},
		{Number: 40, Protocol: vpc.ProtoAll, CIDR: netip.MustParsePrefix("ffff::/16"), Allow: true},
	}
	v4, err := CompileNACLTable(rules, false, false)
	if err != nil {
		t.Fatal(err)
	}
	if v4.Words != 1 || len(v4.Rules) != 4 || v4.Rules[3].Number != NACLDefaultRuleIPv4 {
		t.Fatalf("v4 table: words %d rules %+v", v4.Words, v4.Rules)
	}
	v6, err := CompileNACLTable(rules, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(v6.Rules) != 2 || v6.Rules[1].Number != NACLDefaultRuleIPv6 {
		t.Fatalf("v6 table: rules %+v", v6.Rules)
	}
	for _, tc := range []struct {
		name string
		t    *NACLTable
		p    Packet
		want int
	}{
		{"port 1024 hits the single-port rule", v4, Packet{Src: netip.MustParseAddr("1.2.3.4"), Protocol: 6, DstPort: 1024}, 10},
		{"port 1023 misses it", v4, Packet{Src: netip.MustParseAddr("1.2.3.4"), Protocol: 6, DstPort: 1023}, NACLDefaultRuleIPv4},
		{"ICMP 3/4 from the last IPv4 address", v4, Packet{Src: netip.MustParseAddr("255.255.255.255"), Protocol: 1, ICMPType: 3, ICMPCode: 4}, 20},
		{"ICMPv6 rule with an IPv4 CIDR ignores type", v4, Packet{Src: netip.MustParseAddr("10.9.9.9"), Protocol: 58, ICMPType: 1}, 30},
		{"a later fragment skips port rules", v4, Packet{Src: netip.MustParseAddr("1.2.3.4"), Protocol: 6, Fragment: FragLater}, NACLDefaultRuleIPv4},
		{"the last IPv6 address", v6, Packet{Src: netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Protocol: 6}, 40},
		{"below the IPv6 rule", v6, Packet{Src: netip.MustParseAddr("fffe::1"), Protocol: 6}, NACLDefaultRuleIPv6},
	} {
		if got := tc.t.Classify(tc.p); int(got.Number) != tc.want {
			t.Errorf("%s: rule %d, want %d", tc.name, got.Number, tc.want)
		}
	}
}

func TestNACLCompileTooMany(t *testing.T) {
	r := rulestest.Rand(t)
	var rules []vpc.NACLRule
	for i := 1; i <= NACLMaxRules+1; i++ {
		rl := rulestest.RandNACLRule(r, i)
		rl.CIDR = netip.MustParsePrefix("10.0.0.0/8")
		rules = append(rules, rl)
	}
	if _, err := CompileNACLTable(rules, false, false); !errors.Is(err, ErrTooManyNACLRules) {
		t.Fatalf("err = %v, want ErrTooManyNACLRules", err)
	}
	if _, err := CompileNACLTable(rules[:NACLMaxRules], false, false); err != nil {
		t.Fatalf("%d rules: %v", NACLMaxRules, err)
	}
}

func TestNACLBypass(t *testing.T) {
	topo := &vpc.Topology{VPCs: []vpc.VPC{{CIDR: netip.MustParsePrefix("10.0.0.0/16")}},
		Subnets: []vpc.Subnet{{CIDR: netip.MustParsePrefix("10.0.1.0/24"), IPv6CIDR: netip.MustParsePrefix("2001:db8:1::/64")},
			{CIDR: netip.MustParsePrefix("10.0.3.16/28")}}}
	for _, tc := range []struct {
		src, dst string
		proto    int
		icmp     int
		want     bool
	}{
		{"10.0.1.10", "169.254.169.254", 6, 0, true},
		{"169.254.169.253", "10.0.1.10", 17, 0, true},
		{"169.254.7.7", "10.0.1.10", 17, 0, true},
		{"10.0.1.10", "10.0.0.2", 17, 0, true},
		{"10.0.1.10", "10.0.0.3", 17, 0, false},
		{"10.0.1.1", "10.0.1.10", 1, 8, true},
		{"10.0.1.10", "10.0.3.19", 6, 0, true},
		{"10.0.1.10", "10.0.3.20", 6, 0, false},
		{"10.0.1.10", "10.0.2.1", 6, 0, false},
		{"2001:db8::1", "2001:db8::2", 58, 135, true},
		{"2001:db8::1", "2001:db8::2", 58, 128, false},
		{"2001:db8:1::2", "2001:db8::2", 6, 0, true},
		{"2001:db8::1", "ff02::1:ff00:2", 58, 143, true},
		{"fe80::1", "2001:db8::2", 6, 0, true},
		{"2001:db8::1", "fd00:ec2::254", 6, 0, true},
		{"2001:db8::1", "ff05::1", 17, 0, false},
	} {
		p := Packet{Src: netip.MustParseAddr(tc.src), Dst: netip.MustParseAddr(tc.dst), Protocol: tc.proto, ICMPType: tc.icmp}
		if got := NACLBypass(topo, p); got != tc.want {
			t.Errorf("%s -> %s proto %d type %d: bypass %v, want %v", tc.src, tc.dst, tc.proto, tc.icmp, got, tc.want)
		}
	}
	// The datapath's exact list plus its fixed ranges must be ReservedService.
	for _, a := range NACLReservedAddrs(topo) {
		if !ReservedService(topo, a) {
			t.Errorf("%s listed but not a reserved service", a)
		}
	}
	if got := len(NACLReservedAddrs(topo)); got != 1+3+3+3 {
		t.Errorf("%d reserved addresses, want 10", got)
	}
}

func BenchmarkCompileNACL1000(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	acl := &vpc.NetworkACL{ID: "acl-big", Ingress: rulestest.RandNACLRules(r, 1000), Egress: rulestest.RandNACLRules(r, 1000)}
	b.ResetTimer()
	for b.Loop() {
		if _, err := CompileNACL(acl); err != nil {
			b.Fatal(err)
		}
	}
}
