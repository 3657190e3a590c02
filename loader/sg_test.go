package loader

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Fixture tests of the SG programs through BPF_PROG_RUN. Setup: one subnet
// 10.0.1.0/24 (2001:db8:0:1::/64); instance "a" is 10.0.1.10 / 2001:db8:0:1::10,
// "b" is 10.0.1.20; remote peers are TEST-NET addresses. The test clock
// (now_override) starts at 1000 s; each case loads its own maps.

var (
	ipA  = "10.0.1.10"
	ipB  = "10.0.1.20"
	ip6A = "2001:db8:0:1::10"
	ipX  = "198.51.100.7"
	ip6X = "2001:db8:ff::7"
)

func instA(sgs ...string) vpc.Instance {
	return vpc.Instance{ID: "a", PrivateIP: netip.MustParseAddr(ipA), IPv6: netip.MustParseAddr(ip6A), SecurityGroups: sgs}
}

func instB(sgs ...string) vpc.Instance {
	return vpc.Instance{ID: "b", PrivateIP: netip.MustParseAddr(ipB), SecurityGroups: sgs}
}

type step struct {
	name     string
	advance  time.Duration
	inst     string
	out      bool
	pkt      rules.Packet
	want     uint32
	wantCode uint8 // expected drop code when want == sgDrop (0: don't check)
}

func runSteps(t *testing.T, h *sgHarness, steps []step) {
	t.Helper()
	for i, s := range steps {
		if s.advance > 0 {
			h.advance(s.advance)
		}
		inst := s.inst
		if inst == "" {
			inst = "a"
		}
		got := h.run(inst, s.out, s.pkt)
		if got != s.want {
			t.Fatalf("step %d (%s): got %s, want %s", i, s.name, sgVerdictName(got), sgVerdictName(s.want))
		}
		if s.want == sgDrop && s.wantCode != 0 {
			evs := h.events()
			if len(evs) == 0 || evs[len(evs)-1].Code != s.wantCode {
				t.Fatalf("step %d (%s): events %+v, want last code %s", i, s.name, evs, SGDropCodeName(s.wantCode))
			}
		}
	}
}

func TestSGTrackedTCPOutbound(t *testing.T) {
	sgs := []vpc.SecurityGroup{{ID: "sg-out", Egress: []vpc.SGRule{tcpRule("443", "198.51.100.0/24")}}}
	h := newSGHarness(t, sgTopo("sgt1", sgs, instA("sg-out")))
	syn := tcpPkt(ipA+":40000", ipX+":443", fSYN)
	runSteps(t, h, []step{
		{name: "SYN out admitted by the egress rule", out: true, pkt: syn, want: sgPass},
		{name: "SYN-ACK in admitted by tracking (no inbound rules)", pkt: reply(withFlags(syn, fSYN|fACK)), want: sgPass},
		{name: "ACK out", out: true, pkt: withFlags(syn, fACK), want: sgPass},
		{name: "new inbound SYN refused: SG has no inbound rules", pkt: tcpPkt(ipX+":5555", ipA+":22", fSYN), want: sgDrop, wantCode: SGDropNoRules},
		{name: "outbound to port 80 refused: no rule", out: true, pkt: tcpPkt(ipA+":40001", ipX+":80", fSYN), want: sgDrop, wantCode: SGDropRulesMismatch},
		{name: "outbound 443 to another /24 refused", out: true, pkt: tcpPkt(ipA+":40002", "203.0.113.9:443", fSYN), want: sgDrop, wantCode: SGDropRulesMismatch},
	})
	ents, err := h.sg.Conntrack("a")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].State != "ESTABLISHED" || !ents[0].Outbound || ents[0].Src != netip.MustParseAddrPort(ipA+":40000") {
		t.Fatalf("conntrack = %+v, want one outbound ESTABLISHED entry from %s:40000", ents, ipA)
	}
	tracked, avail, exceeded, err := h.sg.Stats("eni-a")
	if err != nil || tracked != 1 || exceeded != 0 || avail == 0 {
		t.Fatalf("stats = %d %d %d %v", tracked, avail, exceeded, err)
	}
	evs := h.events()
	_ = evs
}

func withFlags(p rules.Packet, f uint8) rules.Packet {
	p.TCPFlags = f
	return p
}
