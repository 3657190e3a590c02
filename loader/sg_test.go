package loader

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

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
	return vpc.Instance{ID: "a", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr(ipA), IPv6: netip.MustParseAddr(ip6A), SecurityGroups: sgs}}
}

func instB(sgs ...string) vpc.Instance {
	return vpc.Instance{ID: "b", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr(ipB), SecurityGroups: sgs}}
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

// sg26 is the documented example of SG-26: inbound TCP 22 from
// 203.0.113.1/32, TCP 80 from 0.0.0.0/0 and ::/0, ICMP all from 0.0.0.0/0;
// outbound all to 0.0.0.0/0 and ::/0.
func sg26() vpc.SecurityGroup {
	return vpc.SecurityGroup{ID: "sg-26",
		Ingress: []vpc.SGRule{tcpRule("22", "203.0.113.1/32"), tcpRule("80", "0.0.0.0/0"), tcpRule("80", "::/0"),
			icmpRule(vpc.ProtoICMP, -1, -1, "0.0.0.0/0")},
		Egress: []vpc.SGRule{allRule("0.0.0.0/0"), allRule("::/0")},
	}
}

func TestSGDocumentedExampleSG26(t *testing.T) {
	h := newSGHarness(t, sgTopo("sgt26", []vpc.SecurityGroup{sg26()}, instA("sg-26")))
	ssh := tcpPkt("203.0.113.1:50000", ipA+":22", fSYN)
	http := tcpPkt(ipX+":50001", ipA+":80", fSYN)
	http6 := tcpPkt("["+ip6X+"]:50002", "["+ip6A+"]:80", fSYN)
	ping := icmpPkt(ipX, ipA, 8, 0, 77)
	runSteps(t, h, []step{
		{name: "SSH SYN from the /32", pkt: ssh, want: sgPass},
		{name: "SSH SYN-ACK", out: true, pkt: reply(withFlags(ssh, fSYN|fACK)), want: sgPass},
		{name: "HTTP SYN from anywhere", pkt: http, want: sgPass},
		{name: "HTTP SYN-ACK", out: true, pkt: reply(withFlags(http, fSYN|fACK)), want: sgPass},
		{name: "HTTP over IPv6", pkt: http6, want: sgPass},
		{name: "HTTP over IPv6 SYN-ACK", out: true, pkt: reply(withFlags(http6, fSYN|fACK)), want: sgPass},
		{name: "ping in", pkt: ping, want: sgPass},
		{name: "echo reply out", out: true, pkt: icmpPkt(ipA, ipX, 0, 0, 77), want: sgPass},
	})
	states := sgStates(t, h, "a")
	want := map[string]bool{"tcp 203.0.113.1:50000": true, "icmp 198.51.100.7": true}
	if len(states) != len(want) {
		t.Fatalf("tracked flows %v, want exactly SSH and ICMP (HTTP untracked)", states)
	}
	for _, s := range states {
		if !want[s] {
			t.Fatalf("tracked flows %v, want exactly SSH and ICMP (HTTP untracked)", states)
		}
	}

	// Delete the IPv4 outbound rule: IPv4 HTTP becomes tracked, IPv6 stays untracked.
	t2 := sgTopo("sgt26", []vpc.SecurityGroup{sg26()}, instA("sg-26"))
	t2.SecurityGroups[0].Egress = []vpc.SGRule{allRule("::/0")}
	h.update(t2)
	http2 := tcpPkt(ipX+":50003", ipA+":80", fSYN)
	http62 := tcpPkt("["+ip6X+"]:50004", "["+ip6A+"]:80", fSYN)
	runSteps(t, h, []step{
		{name: "established untracked IPv4 HTTP is cut: its reply has no outbound rule (SG-28)", out: true, pkt: reply(withFlags(http, fACK)), want: sgDrop, wantCode: SGDropRulesMismatch},
		{name: "tracked SSH keeps working (SG-27)", out: true, pkt: reply(withFlags(ssh, fACK)), want: sgPass},
		{name: "new IPv4 HTTP SYN", pkt: http2, want: sgPass},
		{name: "its SYN-ACK passes by tracking", out: true, pkt: reply(withFlags(http2, fSYN|fACK)), want: sgPass},
		{name: "new IPv6 HTTP SYN", pkt: http62, want: sgPass},
		{name: "its SYN-ACK passes by the ::/0 rule", out: true, pkt: reply(withFlags(http62, fSYN|fACK)), want: sgPass},
	})
	states = sgStates(t, h, "a")
	found4, found6 := false, false
	for _, s := range states {
		found4 = found4 || s == "tcp "+ipX+":50003"
		found6 = found6 || s == "tcp ["+ip6X+"]:50004"
	}
	if !found4 || found6 {
		t.Fatalf("tracked flows %v: want the new IPv4 HTTP flow tracked and the IPv6 one not", states)
	}
}

// sgStates lists an ENI's tracked flows as "proto initiator".
func sgStates(t *testing.T, h *sgHarness, inst string) []string {
	t.Helper()
	ents, err := h.sg.Conntrack(inst)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		switch e.Protocol {
		case vpc.ProtoTCP:
			out = append(out, "tcp "+e.Src.String())
		case vpc.ProtoUDP:
			out = append(out, "udp "+e.Src.String())
		case vpc.ProtoICMP, vpc.ProtoICMPv6:
			out = append(out, "icmp "+e.Src.Addr().String())
		default:
			out = append(out, "other "+e.Src.Addr().String())
		}
	}
	return out
}

func TestSGRuleRemovalTrackedVsUntracked(t *testing.T) {
	// SG-28's example: an open /0 outbound rule; SSH admitted by a /0 rule
	// is untracked and cut when the rule goes, SSH admitted by a /32 rule is
	// tracked and survives.
	mk := func(in ...vpc.SGRule) *vpc.Topology {
		return sgTopo("sgt28", []vpc.SecurityGroup{{ID: "sg", Ingress: in, Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}}, instA("sg"))
	}
	h := newSGHarness(t, mk(tcpRule("22", "0.0.0.0/0"), tcpRule("22", "203.0.113.1/32")))
	wide := tcpPkt(ipX+":40000", ipA+":22", fSYN)
	narrow := tcpPkt("203.0.113.1:40001", ipA+":22", fSYN)
	runSteps(t, h, []step{
		{name: "SSH from anywhere", pkt: wide, want: sgPass},
		{name: "SSH from the /32 (also /0-admitted: untracked)", pkt: narrow, want: sgPass},
	})
	if s := sgStates(t, h, "a"); len(s) != 0 {
		t.Fatalf("tracked %v, want nothing (both untracked)", s)
	}
	// Only the /32 rule: new SSH from the /32 is tracked.
	h.update(mk(tcpRule("22", "203.0.113.1/32")))
	narrow2 := tcpPkt("203.0.113.1:40002", ipA+":22", fSYN)
	runSteps(t, h, []step{
		{name: "untracked SSH is cut at its next inbound packet", pkt: withFlags(wide, fACK), want: sgDrop, wantCode: SGDropRulesMismatch},
		{name: "SSH from the /32 now tracked", pkt: narrow2, want: sgPass},
		{name: "its reply", out: true, pkt: reply(withFlags(narrow2, fSYN|fACK)), want: sgPass},
	})
	// Remove the /32 rule too: the tracked session survives (SG-27), a new one is refused.
	h.update(mk())
	runSteps(t, h, []step{
		{name: "tracked session keeps passing inbound", advance: time.Second, pkt: withFlags(narrow2, fACK), want: sgPass},
		{name: "new SSH from the /32 refused", pkt: tcpPkt("203.0.113.1:40003", ipA+":22", fSYN), want: sgDrop, wantCode: SGDropNoRules},
	})
}

func TestSGUDPTimeoutsTV25(t *testing.T) {
	// TV-25: sgA out-all, no inbound; B's UDP echo on 5353 answers late.
	type exch struct {
		name       string
		udpTimeout time.Duration
		pairs      int
		wait       time.Duration
		want       uint32
	}
	for i, c := range []exch{
		{"(a) one request, reply at +10 s", 0, 1, 10 * time.Second, sgPass},
		{"(b) one request, reply at +45 s", 0, 1, 45 * time.Second, sgDrop},
		{"(c) two exchanges, B sends at +120 s", 0, 2, 120 * time.Second, sgPass},
		{"(d) two exchanges, B sends at +200 s", 0, 2, 200 * time.Second, sgDrop},
		{"(e) one request, reply at +45 s, UdpTimeout 60 s", 60 * time.Second, 1, 45 * time.Second, sgPass},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := instA("sg-a")
			a.Conntrack.UDP = c.udpTimeout
			h := newSGHarness(t, sgTopo(fmt.Sprintf("sgtv25%d", i), []vpc.SecurityGroup{{ID: "sg-a", Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}}, a))
			req := udpPkt(ipA+":40000", ipB+":5353")
			for k := 1; k < c.pairs; k++ {
				runSteps(t, h, []step{
					{name: "request", advance: time.Second, out: true, pkt: req, want: sgPass},
					{name: "response", advance: time.Second, pkt: reply(req), want: sgPass},
				})
			}
			runSteps(t, h, []step{
				{name: "request", advance: time.Second, out: true, pkt: req, want: sgPass},
			})
			if c.pairs > 1 {
				runSteps(t, h, []step{{name: "response", advance: time.Second, pkt: reply(req), want: sgPass}})
			}
			code := uint8(0)
			if c.want == sgDrop {
				code = SGDropNoRules
			}
			runSteps(t, h, []step{{name: "late packet from B", advance: c.wait, pkt: reply(req), want: c.want, wantCode: code}})
		})
	}
}

func TestSGTCPStates(t *testing.T) {
	a := instA("sg-a")
	a.Conntrack.TCPEstablished = 300 * time.Second
	h := newSGHarness(t, sgTopo("sgttcp", []vpc.SecurityGroup{{ID: "sg-a", Egress: []vpc.SGRule{tcpRule("0-65535", "198.51.100.0/24")}}}, a))
	c1 := tcpPkt(ipA+":40000", ipX+":80", fSYN)
	c2 := tcpPkt(ipA+":40001", ipX+":80", fSYN)
	c3 := tcpPkt(ipA+":40002", ipX+":80", fSYN)
	runSteps(t, h, []step{
		{name: "c1 SYN (half-open, 60 s)", out: true, pkt: c1, want: sgPass},
		{name: "c1 SYN-ACK at +59 s", advance: 59 * time.Second, pkt: reply(withFlags(c1, fSYN|fACK)), want: sgPass},
		{name: "c2 SYN", out: true, pkt: c2, want: sgPass},
		{name: "c2 SYN-ACK at +61 s: half-open entry expired", advance: 61 * time.Second, pkt: reply(withFlags(c2, fSYN|fACK)), want: sgDrop, wantCode: SGDropNoRules},
		{name: "c1 established, idle 299 s", advance: 238 * time.Second, pkt: reply(withFlags(c1, fACK)), want: sgPass},
		{name: "c1 idle 299 s again", advance: 299 * time.Second, pkt: reply(withFlags(c1, fACK)), want: sgPass},
		{name: "c1 FIN from the server: closing (120 s)", pkt: reply(withFlags(c1, fFIN|fACK)), want: sgPass},
		{name: "c1 last ACK at +119 s", advance: 119 * time.Second, pkt: reply(withFlags(c1, fACK)), want: sgPass},
		{name: "c1 at +121 s: closed", advance: 121 * time.Second, pkt: reply(withFlags(c1, fACK)), want: sgDrop, wantCode: SGDropNoRules},
		{name: "c3 SYN", out: true, pkt: c3, want: sgPass},
		{name: "c3 SYN-ACK", pkt: reply(withFlags(c3, fSYN|fACK)), want: sgPass},
		{name: "c3 idle for the established timeout (300 s)", advance: 300 * time.Second, pkt: reply(withFlags(c3, fACK)), want: sgDrop, wantCode: SGDropNoRules},
	})
}

func TestSGOtherProtocolsAndICMP(t *testing.T) {
	sgs := []vpc.SecurityGroup{{ID: "sg-a",
		Ingress: []vpc.SGRule{tcpRule("443", "0.0.0.0/0")},
		Egress:  []vpc.SGRule{allRule("198.51.100.0/24")}}}
	h := newSGHarness(t, sgTopo("sgtoth", sgs, instA("sg-a")))
	gre := rules.Packet{Src: netip.MustParseAddr(ipA), Dst: netip.MustParseAddr(ipX), Protocol: 47}
	tcp := tcpPkt(ipA+":40000", ipX+":443", fSYN)
	runSteps(t, h, []step{
		{name: "GRE out (tracked by address pair + protocol)", out: true, pkt: gre, want: sgPass},
		{name: "GRE back at +599 s", advance: 599 * time.Second, pkt: reply(gre), want: sgPass},
		{name: "GRE back at +599 s again", advance: 599 * time.Second, pkt: reply(gre), want: sgPass},
		{name: "GRE back after 600 s idle", advance: 600 * time.Second, pkt: reply(gre), want: sgDrop, wantCode: SGDropRulesMismatch},
		{name: "ESP back from the same peer: other protocol, no entry", pkt: rules.Packet{Src: netip.MustParseAddr(ipX), Dst: netip.MustParseAddr(ipA), Protocol: 50}, want: sgDrop},
		{name: "TCP out", out: true, pkt: tcp, want: sgPass},
		{name: "ICMP port unreachable about it: not RELATED (SG-19)", pkt: icmpPkt(ipX, ipA, 3, 3, 0), want: sgDrop, wantCode: SGDropRulesMismatch},
		{name: "fragmentation needed: not RELATED either", pkt: icmpPkt(ipX, ipA, 3, 4, 0), want: sgDrop},
		{name: "ping out, id 7", out: true, pkt: icmpPkt(ipA, ipX, 8, 0, 7), want: sgPass},
		{name: "echo reply id 7", pkt: icmpPkt(ipX, ipA, 0, 0, 7), want: sgPass},
		{name: "echo reply id 8: no entry", pkt: icmpPkt(ipX, ipA, 0, 0, 8), want: sgDrop},
		{name: "type 3 from the peer does not ride the echo id 3 entry", out: true, pkt: icmpPkt(ipA, ipX, 8, 0, 3), want: sgPass},
		{name: "dest unreachable type 3", pkt: icmpPkt(ipX, ipA, 3, 0, 0), want: sgDrop},
		{name: "echo reply id 7 after 61 s idle (ICMP 60 s)", advance: 61 * time.Second, pkt: icmpPkt(ipX, ipA, 0, 0, 7), want: sgDrop},
	})
}

func TestSGConntrackAllowance(t *testing.T) {
	a := instA("sg-a")
	a.Conntrack.MaxEntries = 2
	sgs := []vpc.SecurityGroup{{ID: "sg-a", Egress: []vpc.SGRule{tcpRule("443", "0.0.0.0/0")}}}
	h := newSGHarness(t, sgTopo("sgtallow", sgs, a))
	f := func(port int) rules.Packet { return tcpPkt(fmt.Sprintf("%s:%d", ipA, port), ipX+":443", fSYN) }
	runSteps(t, h, []step{
		{name: "flow 1", out: true, pkt: f(40001), want: sgPass},
		{name: "flow 2", out: true, pkt: f(40002), want: sgPass},
		{name: "flow 3: allowance used up", out: true, pkt: f(40003), want: sgDrop, wantCode: SGDropAllowance},
		{name: "flow 1 keeps working", pkt: reply(withFlags(f(40001), fSYN|fACK)), want: sgPass},
	})
	tracked, avail, exc, err := h.sg.Stats("a")
	if err != nil || tracked != 2 || avail != 0 || exc != 1 {
		t.Fatalf("stats: tracked %d available %d exceeded %d (%v), want 2 0 1", tracked, avail, exc, err)
	}
	// flow 2 stays half-open and expires after 60 s; flow 1 is established.
	runSteps(t, h, []step{
		{name: "flow 3 again after flow 2 expired", advance: 61 * time.Second, out: true, pkt: f(40003), want: sgPass},
		{name: "flow 4: full again", out: true, pkt: f(40004), want: sgDrop, wantCode: SGDropAllowance},
	})
	tracked, avail, exc, err = h.sg.Stats("eni-a")
	if err != nil || tracked != 2 || avail != 0 || exc != 2 {
		t.Fatalf("stats: tracked %d available %d exceeded %d (%v), want 2 0 2", tracked, avail, exc, err)
	}
	// an hour later everything but the established flow is gone
	h.advance(time.Hour)
	tracked, avail, _, err = h.sg.Stats("a")
	if err != nil || tracked != 1 || avail != 1 {
		t.Fatalf("stats after an hour: tracked %d available %d (%v), want 1 1", tracked, avail, err)
	}
}

func TestSGReferencedGroups(t *testing.T) {
	// sg-db admits 5432 from members of sg-web; membership changes apply on Update.
	sgs := []vpc.SecurityGroup{
		{ID: "sg-web", Egress: []vpc.SGRule{allRule("0.0.0.0/0")}},
		{ID: "sg-db", Ingress: []vpc.SGRule{tcpRule("5432", "sg-web")}},
		{ID: "sg-other"},
	}
	c := vpc.Instance{ID: "c", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr("10.0.1.30"), IPv6: netip.MustParseAddr("2001:db8:0:1::30"), SecurityGroups: []string{"sg-other"}}}
	mk := func(cSGs ...string) *vpc.Topology {
		cc := c
		cc.SecurityGroups = cSGs
		return sgTopo("sgtref", sgs, instA("sg-db"), instB("sg-web"), cc)
	}
	h := newSGHarness(t, mk("sg-other"))
	runSteps(t, h, []step{
		{name: "b (in sg-web) to a:5432", pkt: tcpPkt(ipB+":40000", ipA+":5432", fSYN), want: sgPass},
		{name: "c (not a member) to a:5432", pkt: tcpPkt("10.0.1.30:40001", ipA+":5432", fSYN), want: sgDrop, wantCode: SGDropRulesMismatch},
		{name: "c over IPv6", pkt: tcpPkt("[2001:db8:0:1::30]:40002", "["+ip6A+"]:5432", fSYN), want: sgDrop},
		{name: "b to a:22", pkt: tcpPkt(ipB+":40003", ipA+":22", fSYN), want: sgDrop},
	})
	h.update(mk("sg-other", "sg-web"))
	runSteps(t, h, []step{
		{name: "c joined sg-web: admitted", pkt: tcpPkt("10.0.1.30:40004", ipA+":5432", fSYN), want: sgPass},
		{name: "c over IPv6 too (all private addresses)", pkt: tcpPkt("[2001:db8:0:1::30]:40005", "["+ip6A+"]:5432", fSYN), want: sgPass},
	})
}

func TestSGDropEvents(t *testing.T) {
	sgs := []vpc.SecurityGroup{{ID: "sg-a", Ingress: []vpc.SGRule{tcpRule("22", "203.0.113.0/24")}}}
	h := newSGHarness(t, sgTopo("sgtev", sgs, instA("sg-a"), instB("sg-a")))
	h.run("b", false, tcpPkt(ipX+":1234", ipB+":80", fSYN))
	h.run("a", true, udpPkt(ipA+":5000", ipX+":53"))
	evs := h.events()
	ib, _ := h.sg.ENIIndex("eni-b")
	ia, _ := h.sg.ENIIndex("a")
	want := []SGEvent{
		{ENI: ib, Inbound: true, Code: SGDropRulesMismatch, Protocol: 6, Src: netip.MustParseAddrPort(ipX + ":1234"), Dst: netip.MustParseAddrPort(ipB + ":80"), TCPFlags: fSYN},
		{ENI: ia, Inbound: false, Code: SGDropNoRules, Protocol: 17, Src: netip.MustParseAddrPort(ipA + ":5000"), Dst: netip.MustParseAddrPort(ipX + ":53")},
	}
	if len(evs) != len(want) {
		t.Fatalf("events %+v, want %+v", evs, want)
	}
	for i := range want {
		got := evs[i]
		if got.TimeNs != uint64(h.now) || got.Bytes == 0 || got.Packets != 1 {
			t.Fatalf("event %d: time %d bytes %d packets %d", i, got.TimeNs, got.Bytes, got.Packets)
		}
		got.TimeNs, got.Bytes, got.Packets = 0, 0, 0
		if got != want[i] {
			t.Fatalf("event %d: %+v, want %+v", i, got, want[i])
		}
	}
	if ia == ib || ia == 0 || ib == 0 {
		t.Fatalf("ENI indexes %d %d", ia, ib)
	}
}

func TestSGReservedServicesSG45(t *testing.T) {
	// An SG with no rules at all: SG-45 traffic still passes, untracked.
	h := newSGHarness(t, sgTopo("sgt45", []vpc.SecurityGroup{{ID: "sg-none"}}, instA("sg-none")))
	runSteps(t, h, []step{
		{name: "DNS to VPC base+2", out: true, pkt: udpPkt(ipA+":40000", "10.0.0.2:53"), want: sgPass},
		{name: "DNS answer", pkt: udpPkt("10.0.0.2:53", ipA+":40000"), want: sgPass},
		{name: "ping the subnet router (base+1)", out: true, pkt: icmpPkt(ipA, "10.0.1.1", 8, 0, 1), want: sgPass},
		{name: "IMDS", out: true, pkt: tcpPkt(ipA+":40001", "169.254.169.254:80", fSYN), want: sgPass},
		{name: "IPv6 link-local", pkt: tcpPkt("[fe80::1]:40002", "["+ip6A+"]:22", fSYN), want: sgPass},
		{name: "Amazon DNS over IPv6", out: true, pkt: udpPkt("["+ip6A+"]:40003", "[fd00:ec2::253]:53"), want: sgPass},
		{name: "base+4 is an ordinary address", out: true, pkt: udpPkt(ipA+":40004", "10.0.1.4:53"), want: sgDrop, wantCode: SGDropNoRules},
	})
	if s := sgStates(t, h, "a"); len(s) != 0 {
		t.Fatalf("tracked %v, want nothing", s)
	}
}

func TestSGUpdateIsAtomic(t *testing.T) {
	// Two rule sets that both admit P (untracked, so judged on every
	// packet) through different groups, rules and prefixes. While Update
	// swaps between them, P must never be dropped: a packet sees the old
	// tables or the new ones, never a mix or an empty set.
	mk := func(flip bool) *vpc.Topology {
		sgs := []vpc.SecurityGroup{
			{ID: "sg-1", Ingress: []vpc.SGRule{allRule("0.0.0.0/0")}, Egress: []vpc.SGRule{tcpRule("443", "0.0.0.0/0")}},
			{ID: "sg-2", Ingress: []vpc.SGRule{allRule("0.0.0.0/0")}, Egress: []vpc.SGRule{tcpRule("400-500", "0.0.0.0/0"), udpRule("53", "10.0.0.0/8")}},
		}
		id := "sg-1"
		if flip {
			id = "sg-2"
		}
		return sgTopo("sgtatom", sgs, instA(id))
	}
	h := newSGHarness(t, mk(false))
	data := sgFrame(t, h.macs["a"], true, tcpPkt(ipA+":40000", ipX+":443", fSYN))
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			ret, err := h.sg.objs.SgIngress.Run(&ebpf.RunOptions{Data: data, Repeat: 100})
			if err != nil || ret != sgPass {
				errc <- fmt.Errorf("run %d: %s %v", n, sgVerdictName(ret), err)
				return
			}
			n++
		}
	}()
	for i := range 200 {
		if err := h.sg.Update(mk(i%2 == 0)); err != nil {
			close(stop)
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatalf("P dropped during an Update: %v", err)
	}
	if s := sgStates(t, h, "a"); len(s) != 0 {
		t.Fatalf("tracked %v, want nothing (untracked flow)", s)
	}
}

// Test vectors of spec §7 that only involve security groups, packet by packet.
func TestSGTestVectors(t *testing.T) {
	w443 := "203.0.113.80:443"
	t.Run("TV-04/TV-05: out-all then its deletion", func(t *testing.T) {
		mk := func(out ...vpc.SGRule) *vpc.Topology {
			return sgTopo("sgtv04", []vpc.SecurityGroup{{ID: "sgA", Ingress: []vpc.SGRule{tcpRule("3389", "0.0.0.0/0")}, Egress: out}}, instA("sgA"))
		}
		h := newSGHarness(t, mk(allRule("0.0.0.0/0")))
		old := tcpPkt(ipA+":40000", w443, fSYN)
		rdp := tcpPkt(ipX+":50000", ipA+":3389", fSYN)
		runSteps(t, h, []step{
			{name: "TV-04 A:40000 -> W:443", out: true, pkt: old, want: sgPass},
			{name: "TV-04 reply by tracking (inbound covers 3389 only)", pkt: reply(withFlags(old, fSYN|fACK)), want: sgPass},
		})
		if s := sgStates(t, h, "a"); len(s) != 1 {
			t.Fatalf("TV-04: tracked %v, want the browsing flow", s)
		}
		h.update(mk())
		runSteps(t, h, []step{
			{name: "TV-05 new A -> W:443 dropped", out: true, pkt: tcpPkt(ipA+":40001", w443, fSYN), want: sgDrop, wantCode: SGDropNoRules},
			{name: "TV-05 the older connection keeps working", out: true, pkt: withFlags(old, fACK), want: sgPass},
			{name: "TV-05 inbound RDP", pkt: rdp, want: sgPass},
			{name: "TV-05 its response by tracking", out: true, pkt: reply(withFlags(rdp, fSYN|fACK)), want: sgPass},
		})
	})
	t.Run("TV-12/TV-14: inbound ICMP rule or not", func(t *testing.T) {
		mk := func(in ...vpc.SGRule) *vpc.Topology {
			return sgTopo("sgtv12", []vpc.SecurityGroup{{ID: "sgA", Ingress: in, Egress: []vpc.SGRule{tcpRule("443", "0.0.0.0/0")}}}, instA("sgA"))
		}
		h := newSGHarness(t, mk(icmpRule(vpc.ProtoICMP, -1, -1, "0.0.0.0/0")))
		runSteps(t, h, []step{
			{name: "TV-12 ping X -> A admitted", pkt: icmpPkt(ipX, ipA, 8, 0, 9), want: sgPass},
			{name: "TV-12 echo reply by tracking (no outbound ICMP rule)", out: true, pkt: icmpPkt(ipA, ipX, 0, 0, 9), want: sgPass},
		})
		h14 := newSGHarness(t, mk())
		runSteps(t, h14, []step{
			{name: "TV-14 ping dropped by sgA", pkt: icmpPkt(ipX, ipA, 8, 0, 9), want: sgDrop, wantCode: SGDropNoRules},
		})
	})
	t.Run("TV-18/TV-19: self-referencing groups", func(t *testing.T) {
		c := vpc.Instance{ID: "c", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr("10.0.1.30")}}
		for _, tc := range []struct {
			name string
			sg   vpc.SecurityGroup
		}{
			{"TV-18 sgX in: all from sgX", vpc.SecurityGroup{ID: "sgX", Ingress: []vpc.SGRule{allRule("sgX")}, Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}},
			{"TV-19 the default SG", vpc.SecurityGroup{ID: vpc.DefaultSGID, Ingress: []vpc.SGRule{allRule(vpc.DefaultSGID)}, Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}},
		} {
			cc := c
			cc.SecurityGroups = []string{tc.sg.ID}
			h := newSGHarness(t, sgTopo("sgtv18", []vpc.SecurityGroup{tc.sg}, instA(tc.sg.ID), cc))
			ssh := tcpPkt(ipA+":40000", "10.0.1.30:22", fSYN)
			runSteps(t, h, []step{
				{name: tc.name + ": A -> C:22 leaves A", out: true, pkt: ssh, want: sgPass},
				{name: tc.name + ": A -> C:22 enters C", inst: "c", pkt: ssh, want: sgPass},
				{name: tc.name + ": C pings A, leaves C", inst: "c", out: true, pkt: icmpPkt("10.0.1.30", ipA, 8, 0, 1), want: sgPass},
				{name: tc.name + ": C pings A, enters A", pkt: icmpPkt("10.0.1.30", ipA, 8, 0, 1), want: sgPass},
				{name: tc.name + ": an outsider is not a member", pkt: tcpPkt(ipX+":1", ipA+":22", fSYN), want: sgDrop, wantCode: SGDropRulesMismatch},
			})
		}
	})
	t.Run("TV-35: allowance 3, tracked vs untracked", func(t *testing.T) {
		for _, tc := range []struct {
			peer      string
			fourth    uint32
			available uint64
		}{{"10.0.0.0/16", sgDrop, 0}, {"0.0.0.0/0", sgPass, 3}} {
			a := instA("sgA")
			a.Conntrack.MaxEntries = 3
			h := newSGHarness(t, sgTopo("sgtv35", []vpc.SecurityGroup{{ID: "sgA", Ingress: []vpc.SGRule{tcpRule("8080", tc.peer)}, Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}}, a))
			for i := range 4 {
				want := uint32(sgPass)
				if i == 3 {
					want = tc.fourth
				}
				runSteps(t, h, []step{{name: fmt.Sprintf("B -> A:8080 #%d (peer %s)", i+1, tc.peer), pkt: tcpPkt(fmt.Sprintf("%s:%d", ipB, 40000+i), ipA+":8080", fSYN), want: want}})
			}
			_, avail, exc, err := h.sg.Stats("a")
			wantExc := uint64(0)
			if tc.fourth == sgDrop {
				wantExc = 1
			}
			if err != nil || avail != tc.available || exc != wantExc {
				t.Fatalf("peer %s: available %d exceeded %d (%v), want %d %d", tc.peer, avail, exc, err, tc.available, wantExc)
			}
		}
	})
}
