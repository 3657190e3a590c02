package loader

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/google/gopacket/layers"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

var naclTestVPC = netip.MustParsePrefix("10.0.0.0/16")

// naclTestTopo gives the datapath its subnets and reserved addresses:
// 10.0.0.2, 10.0.1.1-3, 2001:db8:1::1-3 and (a /28) 10.0.3.17-19. No NACL
// is associated: tests associate what they judge with.
var naclTestTopo = &vpc.Topology{VPCs: []vpc.VPC{{CIDR: naclTestVPC}},
	Subnets: []vpc.Subnet{{ID: "subnet-a", CIDR: netip.MustParsePrefix("10.0.1.0/24"), IPv6CIDR: netip.MustParsePrefix("2001:db8:1::/64")},
		{ID: "subnet-b", CIDR: netip.MustParsePrefix("10.0.3.16/28")}}}

func mustLoadNACL(tb testing.TB) *NACL {
	tb.Helper()
	testenv.RequireRoot(tb)
	n, err := LoadNACL(NACLOptions{Topology: naclTestTopo})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = n.Close() })
	return n
}

// naclProg makes aclID subnet-a's NACL and returns a router port (not
// attached) where one of its tables judges: egress, subnet-a's uplink port
// (aclID's outbound table judges what subnet-a sends to an address in no
// subnet); else the gateway port (aclID's inbound table judges what is
// sent to subnet-a).
func naclProg(tb testing.TB, n *NACL, aclID string, egress bool) *naclTestPort {
	return naclProgMode(tb, n, aclID, egress, XDPGeneric)
}

// naclProgMode is naclProg for the program of an attach mode.
func naclProgMode(tb testing.TB, n *NACL, aclID string, egress bool, mode XDPMode) *naclTestPort {
	tb.Helper()
	if err := n.Associate("subnet-a", aclID); err != nil {
		tb.Fatal(err)
	}
	from := ""
	if egress {
		from = "subnet-a"
	}
	return naclPortProg(tb, n, from, mode)
}

// naclTestPort is a router port for BPF_PROG_RUN: the program of an attach
// mode and the subnet the port receives from. Every port of a NACL is
// played by ifindex 1, the loopback device an XDP test run presents (tc
// runs are given it): a run first maps it to the port's subnet.
type naclTestPort struct {
	n    *NACL // nil: a program of no port (nacl_parse_only)
	prog *ebpf.Program
	sub  uint32
	tc   bool
}

const naclTestIfindex = 1

// naclTestPortOf tracks which subnet ifindex 1 stands for, per NACL.
var naclTestPortOf sync.Map // *NACL -> uint32

// naclPortProg returns a router port receiving from subnet from ("" none).
func naclPortProg(tb testing.TB, n *NACL, from string, mode XDPMode) *naclTestPort {
	tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	prog, err := n.program(mode)
	if err != nil {
		tb.Fatal(err)
	}
	p := &naclTestPort{n: n, prog: prog, tc: mode == TC}
	if from != "" {
		var ok bool
		if p.sub, ok = n.subnets[from]; !ok {
			tb.Fatalf("no subnet %q", from)
		}
	}
	return p
}

// skbContext is the head of struct __sk_buff up to ifindex, what a tc test
// run may set.
type skbContext struct {
	Len, PktType, Mark, QueueMapping, Protocol, VlanPresent, VlanTCI, VlanProto, Priority uint32
	IngressIfindex, Ifindex                                                               uint32
}

// options returns the run options of frame at this port, after pointing
// ifindex 1 at its subnet.
func (p *naclTestPort) options(frame []byte) (*ebpf.RunOptions, error) {
	o := &ebpf.RunOptions{Data: frame}
	if p.n == nil {
		return o, nil
	}
	if cur, ok := naclTestPortOf.Load(p.n); !ok || cur.(uint32) != p.sub {
		if err := p.n.maps.NaclPort.Put(uint32(naclTestIfindex), &naclRtPort{Subnet: p.sub}); err != nil {
			return nil, err
		}
		naclTestPortOf.Store(p.n, p.sub)
	}
	if p.tc {
		o.Context = skbContext{IngressIfindex: naclTestIfindex}
	}
	return o, nil
}

// runRaw runs frame through the port's program: its raw verdict.
func (p *naclTestPort) runRaw(frame []byte) (uint32, error) {
	o, err := p.options(frame)
	if err != nil {
		return 0, err
	}
	return p.prog.Run(o)
}

// run runs frame once: the verdict in XDP's codes (see naclRunTC).
func (p *naclTestPort) run(frame []byte) (uint32, error) {
	if p.tc && naclTCShort(frame) {
		return naclTCUntestable, nil
	}
	v, err := p.runRaw(frame)
	if err != nil || !p.tc {
		return v, err
	}
	return naclTCVerdict(v), nil
}

// benchmark runs frame repeat times in the kernel: verdict, time per run.
func (p *naclTestPort) benchmark(frame []byte, repeat int, reset func()) (uint32, time.Duration, error) {
	if _, err := p.options(frame); err != nil {
		return 0, 0, err
	}
	return p.prog.Benchmark(frame, repeat, reset)
}

// naclRun runs frame through an XDP port: XDP_PASS or XDP_DROP.
func naclRun(tb testing.TB, p *naclTestPort, frame []byte) uint32 {
	tb.Helper()
	ret, err := p.runRaw(frame)
	if err != nil {
		tb.Fatalf("prog run (%d bytes): %v", len(frame), err)
	}
	return ret
}

// naclRunTC runs frame through a tc port and maps the verdict to XDP's
// codes (TC_ACT_UNSPEC: pass to the next program; TC_ACT_SHOT: drop). The
// kernel's skb test run refuses an IPv4/IPv6 frame shorter than its IP
// header (EINVAL); such frames report naclTCUntestable.
func naclRunTC(tb testing.TB, p *naclTestPort, frame []byte) uint32 {
	tb.Helper()
	if naclTCShort(frame) {
		return naclTCUntestable
	}
	return naclTCVerdict(naclRun(tb, p, frame))
}

// naclTCShort: the skb test run refuses frame.
func naclTCShort(frame []byte) bool {
	et := uint16(frame[12])<<8 | uint16(frame[13])
	return (et == 0x0800 && len(frame) < 34) || (et == 0x86dd && len(frame) < 54)
}

func naclTCVerdict(v uint32) uint32 {
	switch v {
	case ^uint32(0): // TC_ACT_UNSPEC (-1)
		return naclXDPPass
	case 2: // TC_ACT_SHOT
		return naclXDPDrop
	}
	return 1000 + v
}

const naclTCUntestable = 999

func naclVerdictName(v uint32) string {
	switch v {
	case naclXDPDrop:
		return "XDP_DROP"
	case naclXDPPass:
		return "XDP_PASS"
	}
	return fmt.Sprintf("xdp(%d)", v)
}

// --- gopacket frames for the fixture table --------------------------------

type naclPkt struct {
	src, dst   string
	proto      string // tcp udp icmp icmp6 gre arp icmp6-in-v4
	dport      int
	typ, code  int
	frag       int // rules.Frag*
	hbh        bool
	truncateL4 bool
	ihl4       bool
}

func (np naclPkt) frame(tb testing.TB) []byte {
	tb.Helper()
	src, dst := netip.MustParseAddr(np.src), netip.MustParseAddr(np.dst)
	f := testFrame{src: net.HardwareAddr{2, 0, 0, 0, 0, 1}, dst: net.HardwareAddr{2, 0, 0, 0, 0, 2}, hbh: np.hbh,
		payload: []byte("nacl fixture payload")}
	if np.proto == "arp" {
		eth := &layers.Ethernet{SrcMAC: f.src, DstMAC: f.dst, EthernetType: layers.EthernetTypeARP}
		arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: eth.SrcMAC, SourceProtAddress: src.AsSlice(), DstHwAddress: make([]byte, 6), DstProtAddress: dst.AsSlice()}
		return serializeLayers(tb, eth, arp)
	}
	f.p = rules.Packet{Src: src, Dst: dst, SrcPort: 40000, DstPort: np.dport, ICMPType: np.typ, ICMPCode: np.code, ICMPID: 1, Fragment: np.frag}
	switch np.proto {
	case "tcp":
		f.p.Protocol, f.p.TCPFlags = vpc.ProtoTCP, 2 // SYN
	case "udp":
		f.p.Protocol = vpc.ProtoUDP
	case "icmp":
		f.p.Protocol = vpc.ProtoICMP
	case "icmp6", "icmp6-in-v4":
		f.p.Protocol, f.p.ICMPID = vpc.ProtoICMPv6, 0
	case "gre":
		f.p.Protocol = 47
	default:
		tb.Fatalf("naclPkt: unknown proto %q", np.proto)
	}
	b := f.build(tb)
	if np.truncateL4 {
		l4 := len(b) - len(f.payload)
		switch np.proto {
		case "tcp":
			l4 -= 20
		case "udp", "icmp":
			l4 -= 8
		case "icmp6", "icmp6-in-v4":
			l4 -= 12
		}
		b = b[:l4+5]
	}
	if np.ihl4 {
		b[14] = 0x44
	}
	return b
}

func naclPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// naclFixtureACL exercises each rule feature; rule numbers are the
// fixture's expectations.
func naclFixtureACL() *vpc.NetworkACL {
	tcp := func(num int, from, to int, c string, allow bool) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: from, To: to}, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix(c), Allow: allow}
	}
	return &vpc.NetworkACL{ID: "acl-fixture",
		Ingress: []vpc.NACLRule{
			tcp(10, 22, 22, "198.51.100.0/24", false),
			tcp(20, 22, 22, "0.0.0.0/0", true),
			tcp(30, 1024, 65535, "0.0.0.0/0", true),
			{Number: 40, Protocol: vpc.ProtoUDP, Ports: vpc.PortRange{From: 53, To: 53}, CIDR: naclPrefix("10.0.0.0/16"), Allow: true},
			{Number: 50, Protocol: vpc.ProtoICMP, ICMPType: 8, ICMPCode: 0, CIDR: naclPrefix("0.0.0.0/0"), Allow: true},
			{Number: 60, Protocol: vpc.ProtoICMP, ICMPType: 3, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0"), Allow: true},
			{Number: 70, Protocol: 47, Ports: vpc.PortRange{From: 80, To: 80}, ICMPType: 3, ICMPCode: 1, CIDR: naclPrefix("0.0.0.0/0")},
			{Number: 80, Protocol: vpc.ProtoICMPv6, ICMPType: 128, ICMPCode: 0, CIDR: naclPrefix("0.0.0.0/0"), Allow: true},
			tcp(100, 80, 80, "2001:db8::/32", true),
			{Number: 110, Protocol: vpc.ProtoICMPv6, ICMPType: 128, ICMPCode: -1, CIDR: naclPrefix("::/0"), Allow: true},
			{Number: 120, Protocol: vpc.ProtoAll, Ports: vpc.PortRange{From: 1, To: 1}, CIDR: naclPrefix("2001:db8:ffff::/48"), Allow: true},
			{Number: 130, Protocol: vpc.ProtoUDP, Ports: vpc.AllPorts, CIDR: naclPrefix("::/0")},
		},
		Egress: []vpc.NACLRule{
			{Number: 100, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, CIDR: naclPrefix("10.0.0.0/8"), Allow: true},
			{Number: 200, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, CIDR: naclPrefix("0.0.0.0/0")},
		},
	}
}

func TestNACLFixtures(t *testing.T) {
	n := mustLoadNACL(t)
	acl := naclFixtureACL()
	if err := n.SetNACL(acl); err != nil {
		t.Fatal(err)
	}
	progs := [2]*naclTestPort{naclProg(t, n, acl.ID, false), naclProg(t, n, acl.ID, true)}
	frags := [2]*naclTestPort{naclProgMode(t, n, acl.ID, false, XDPNative), naclProgMode(t, n, acl.ID, true, XDPNative)}
	tcs := [2]*naclTestPort{naclProgMode(t, n, acl.ID, false, TC), naclProgMode(t, n, acl.ID, true, TC)}
	rd, err := ringbuf.NewReader(n.Events())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	const web, laptop = "10.0.1.10", "198.51.100.7"
	for _, tc := range []struct {
		name   string
		egress bool
		p      naclPkt
		want   uint32
		rule   int // deciding rule; 0 = not judged (passed through or malformed)
	}{
		{"rule 10 denies ssh from the laptop range before rule 20 allows it", false, naclPkt{src: laptop, dst: web, proto: "tcp", dport: 22}, naclXDPDrop, 10},
		{"rule 20 allows ssh from elsewhere", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 22}, naclXDPPass, 20},
		{"port 1023 matches no rule: * denies", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 1023}, naclXDPDrop, 32767},
		{"port 1024 is the first ephemeral port of rule 30", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 1024}, naclXDPPass, 30},
		{"port 65535 is the last port of rule 30", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 65535}, naclXDPPass, 30},
		{"port 0 matches nothing", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 0}, naclXDPDrop, 32767},
		{"udp 53 from inside the VPC is allowed by rule 40", false, naclPkt{src: "10.0.5.5", dst: web, proto: "udp", dport: 53}, naclXDPPass, 40},
		{"udp 53 from outside the VPC CIDR is denied by *", false, naclPkt{src: "11.0.0.1", dst: web, proto: "udp", dport: 53}, naclXDPDrop, 32767},
		{"the port is the destination port: udp 32768 is not rule 40", false, naclPkt{src: "10.0.5.5", dst: web, proto: "udp", dport: 32768}, naclXDPDrop, 32767},
		{"echo request 8/0 is rule 50", false, naclPkt{src: laptop, dst: web, proto: "icmp", typ: 8}, naclXDPPass, 50},
		{"type 8 code 1 is not rule 50", false, naclPkt{src: laptop, dst: web, proto: "icmp", typ: 8, code: 1}, naclXDPDrop, 32767},
		{"3/4 (frag needed) matches rule 60, code -1", false, naclPkt{src: laptop, dst: web, proto: "icmp", typ: 3, code: 4}, naclXDPPass, 60},
		{"echo reply 0/0 matches no rule", false, naclPkt{src: laptop, dst: web, proto: "icmp", typ: 0}, naclXDPDrop, 32767},
		{"GRE rule 70 ignores its ports and type (NACL-12)", false, naclPkt{src: laptop, dst: web, proto: "gre"}, naclXDPDrop, 70},
		{"protocol 58 with an IPv4 CIDR matches every type (NACL-14)", false, naclPkt{src: laptop, dst: web, proto: "icmp6-in-v4", typ: 1, code: 3}, naclXDPPass, 80},
		{"a later IPv4 fragment skips port and type rules", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", frag: rules.FragLater}, naclXDPDrop, 32767},
		{"a first IPv4 fragment has ports: rule 20", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 22, frag: rules.FragFirst}, naclXDPPass, 20},
		{"IPv4 rules never match IPv6: tcp 22 over IPv6 is the v6 *", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "tcp", dport: 22}, naclXDPDrop, 32768},
		{"IPv6 rule 100 allows tcp 80 from 2001:db8::/32", false, naclPkt{src: "2001:db8::5", dst: "2001:db8:1::10", proto: "tcp", dport: 80}, naclXDPPass, 100},
		{"IPv6 extension headers are walked to TCP", false, naclPkt{src: "2001:db8::5", dst: "2001:db8:1::10", proto: "tcp", dport: 80, hbh: true}, naclXDPPass, 100},
		{"ICMPv6 echo 128 from anywhere is rule 110", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "icmp6", typ: 128}, naclXDPPass, 110},
		{"ICMPv6 type 1 is not rule 110", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "icmp6", typ: 1}, naclXDPDrop, 32768},
		{"protocol all ignores rule 120's port", false, naclPkt{src: "2001:db8:ffff::9", dst: "2001:db8:1::10", proto: "udp", dport: 9999}, naclXDPPass, 120},
		{"a later IPv6 fragment matches the all-ports deny 130", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "udp", frag: rules.FragLater}, naclXDPDrop, 130},
		{"a later IPv6 fragment behind extension headers too", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "udp", frag: rules.FragLater, hbh: true}, naclXDPDrop, 130},
		{"ARP passes untouched", false, naclPkt{src: laptop, dst: web, proto: "arp"}, naclXDPPass, 0},
		{"neighbour solicitation passes without a rule", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "icmp6", typ: 135}, naclXDPPass, 0},
		{"router advertisement from fe80:: to ff02::1 passes", false, naclPkt{src: "fe80::1", dst: "ff02::1", proto: "icmp6", typ: 134}, naclXDPPass, 0},
		{"traffic from instance metadata is not filtered", false, naclPkt{src: "169.254.169.254", dst: web, proto: "tcp", dport: 40000}, naclXDPPass, 0},
		{"traffic from the VPC resolver (base+2) is not filtered", false, naclPkt{src: "10.0.0.2", dst: web, proto: "udp", dport: 1}, naclXDPPass, 0},
		{"a truncated TCP header is malformed: dropped", false, naclPkt{src: "203.0.113.5", dst: web, proto: "tcp", dport: 22, truncateL4: true}, naclXDPDrop, 0},
		{"a truncated ICMPv6 header is malformed: dropped", false, naclPkt{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "icmp6", typ: 128, truncateL4: true}, naclXDPDrop, 0},
		{"IPv4 IHL below 5 is malformed: dropped", false, naclPkt{src: "203.0.113.5", dst: web, proto: "udp", dport: 53, ihl4: true}, naclXDPDrop, 0},
		{"outbound rule 100 matches the destination, not the source", true, naclPkt{src: laptop, dst: "10.1.2.3", proto: "tcp", dport: 80}, naclXDPPass, 100},
		{"outbound rule 200 denies the internet", true, naclPkt{src: web, dst: laptop, proto: "tcp", dport: 80}, naclXDPDrop, 200},
		{"outbound IPv6 has no rules: * 32768", true, naclPkt{src: "2001:db8::10", dst: "2001:dead::1", proto: "udp", dport: 53}, naclXDPDrop, 32768},
		{"from the gateway to an address in no subnet: no table applies", false, naclPkt{src: laptop, dst: "10.0.2.5", proto: "tcp", dport: 22}, naclXDPPass, 0},
		{"outbound to instance metadata is not filtered", true, naclPkt{src: web, dst: "169.254.169.254", proto: "tcp", dport: 80}, naclXDPPass, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := 0
			if tc.egress {
				e = 1
			}
			before := naclHits(t, n, acl.ID, tc.egress, tc.rule)
			got := naclRun(t, progs[e], tc.p.frame(t))
			if got != tc.want {
				t.Fatalf("verdict %s, want %s", naclVerdictName(got), naclVerdictName(tc.want))
			}
			if tc.rule != 0 {
				if after := naclHits(t, n, acl.ID, tc.egress, tc.rule); after != before+1 {
					t.Errorf("rule %d hits %d -> %d, want +1", tc.rule, before, after)
				}
			}
			// The native-mode (xdp.frags) variant judges the same.
			if got := naclRun(t, frags[e], tc.p.frame(t)); got != tc.want {
				t.Errorf("xdp.frags variant: %s, want %s", naclVerdictName(got), naclVerdictName(tc.want))
			}
			if got := naclRunTC(t, tcs[e], tc.p.frame(t)); got != tc.want {
				t.Errorf("tcx variant: %s, want %s", naclVerdictName(got), naclVerdictName(tc.want))
			}
			if tc.want != naclXDPDrop {
				return
			}
			for i := 0; i < 3; i++ { // one event per variant
				rd.SetDeadline(time.Now().Add(time.Second))
				rec, err := rd.Read()
				if err != nil {
					t.Fatalf("no drop event: %v", err)
				}
				naclCheckEvent(t, n, rec.RawSample, tc.rule, tc.egress, acl.ID, tc.p)
			}
		})
	}
	st, err := n.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.NonIP != 3 || st.Bypassed != 15 || st.Malformed != 9 || st.Transit != 3 { // three variants
		t.Errorf("stats %+v: want 3 non-IP, 15 bypassed, 9 malformed, 3 in transit", st)
	}
}

func naclCheckEvent(t *testing.T, n *NACL, raw []byte, rule int, egress bool, acl string, p naclPkt) {
	t.Helper()
	ev, err := DecodeNACLEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	wantReason := uint8(NACLReasonRule)
	if rule == 0 {
		wantReason = NACLReasonMalformed
		if p.ihl4 && !egress {
			acl = "" // from the gateway, an IP header that does not parse names no subnet
		}
	}
	if ev.Rule != rule || ev.Reason != wantReason || ev.Egress != egress || n.ACLID(ev.ACL) != acl {
		t.Errorf("event %+v, want rule %d reason %d egress %v acl %s", ev, rule, wantReason, egress, acl)
	}
	if rule != 0 && (ev.Src.Addr().String() != p.src || ev.Dst.Addr().String() != p.dst || ev.Dst.Port() != uint16(p.dport)) {
		t.Errorf("event 5-tuple %s -> %s, want %s -> %s:%d", ev.Src, ev.Dst, p.src, p.dst, p.dport)
	}
	if rule != 0 && (ev.Packets != 1 || ev.Bytes == 0) {
		t.Errorf("event counts %d packets %d bytes, want 1 packet", ev.Packets, ev.Bytes)
	}
}

// naclHits returns the packets counted for one rule (any family).
func naclHits(tb testing.TB, n *NACL, acl string, egress bool, rule int) uint64 {
	tb.Helper()
	return naclSumHits(tb, n, func(c NACLCounter) bool { return c.ACL == acl && c.Egress == egress && c.Rule == rule })
}

// naclSumHits sums the packets of the rule counters keep selects.
func naclSumHits(tb testing.TB, n *NACL, keep func(NACLCounter) bool) uint64 {
	tb.Helper()
	cs, err := n.Counters()
	if err != nil {
		tb.Fatal(err)
	}
	var sum uint64
	for _, c := range cs {
		if keep(c) {
			sum += c.Packets
		}
	}
	return sum
}

// TestNACLAssociate switches a subnet between NACLs and back: packets to
// it are judged by whichever NACL it has at the time (NACL-2).
func TestNACLAssociate(t *testing.T) {
	n := mustLoadNACL(t)
	allow := &vpc.NetworkACL{ID: "acl-allow", Ingress: []vpc.NACLRule{{Number: 100, Protocol: vpc.ProtoAll, CIDR: naclPrefix("0.0.0.0/0"), Allow: true}}}
	deny := &vpc.NetworkACL{ID: "acl-deny"}
	for _, a := range []*vpc.NetworkACL{allow, deny} {
		if err := n.SetNACL(a); err != nil {
			t.Fatal(err)
		}
	}
	prog := naclPortProg(t, n, "", XDPGeneric)
	frame := naclPkt{src: "203.0.113.5", dst: "10.0.1.10", proto: "udp", dport: 53}.frame(t)
	if got := naclRun(t, prog, frame); got != naclXDPDrop {
		t.Errorf("subnet-a has no NACL yet: %s, want XDP_DROP (`*`)", naclVerdictName(got))
	}
	for i, want := range []struct {
		acl string
		v   uint32
	}{{allow.ID, naclXDPPass}, {deny.ID, naclXDPDrop}, {allow.ID, naclXDPPass}, {"acl-never-set", naclXDPDrop}} {
		if err := n.Associate("subnet-a", want.acl); err != nil {
			t.Fatal(err)
		}
		if got := naclRun(t, prog, frame); got != want.v {
			t.Errorf("step %d (%s): %s, want %s", i, want.acl, naclVerdictName(got), naclVerdictName(want.v))
		}
	}
	// A NACL of two subnets: SetNACL switches both to the new tables.
	toB := naclPkt{src: "203.0.113.5", dst: "10.0.3.20", proto: "udp", dport: 53}.frame(t)
	for _, sn := range []string{"subnet-a", "subnet-b"} {
		if err := n.Associate(sn, allow.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []uint32{naclXDPPass, naclXDPDrop} {
		if want == naclXDPDrop {
			closed := *allow
			closed.Ingress = nil
			if err := n.SetNACL(&closed); err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range [][]byte{frame, toB} {
			if got := naclRun(t, prog, f); got != want {
				t.Errorf("shared NACL: %s, want %s", naclVerdictName(got), naclVerdictName(want))
			}
		}
	}
	if err := n.Associate("subnet-z", allow.ID); err == nil {
		t.Error("associated a subnet the topology does not have")
	}
	if err := n.Attach("nowhere", "eth0", "subnet-z", XDPGeneric); err == nil {
		t.Error("attached a port of a subnet the topology does not have")
	}
}

// TestNACLTwoTables: a packet from one subnet to another meets the source
// subnet's outbound table and then the destination's inbound table in one
// program run (PATH-1); a deny in the first ends it before the second, and
// each drop is charged to the NACL and direction that made it.
func TestNACLTwoTables(t *testing.T) {
	n := mustLoadNACL(t)
	all := func(num int, allow bool) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0"), Allow: allow}
	}
	tcp := func(num, port int, allow bool) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: port, To: port}, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0"), Allow: allow}
	}
	a := &vpc.NetworkACL{ID: "acl-a", Ingress: []vpc.NACLRule{tcp(10, 22, false), all(100, true)}, Egress: []vpc.NACLRule{tcp(10, 25, false), all(100, true)}}
	b := &vpc.NetworkACL{ID: "acl-b", Ingress: []vpc.NACLRule{tcp(20, 5432, false), all(100, true)}, Egress: []vpc.NACLRule{all(100, true)}}
	for _, acl := range []*vpc.NetworkACL{a, b} {
		if err := n.SetNACL(acl); err != nil {
			t.Fatal(err)
		}
	}
	for sub, acl := range map[string]string{"subnet-a": a.ID, "subnet-b": b.ID} {
		if err := n.Associate(sub, acl); err != nil {
			t.Fatal(err)
		}
	}
	fromA := naclPortProg(t, n, "subnet-a", XDPGeneric)
	fromB := naclPortProg(t, n, "subnet-b", TC)
	rd, err := ringbuf.NewReader(n.Events())
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	const ia, ib = "10.0.1.10", "10.0.3.20"
	type hit struct {
		acl    string
		egress bool
		rule   int
	}
	for _, tc := range []struct {
		name string
		tcx  bool // from subnet-b's port (tcx variant), else subnet-a's (XDP)
		p    naclPkt
		want uint32
		hits []hit // rule counters that must grow by one, in order of judgement
	}{
		{"a to b: a's outbound, then b's inbound allow", false, naclPkt{src: ia, dst: ib, proto: "tcp", dport: 80}, naclXDPPass,
			[]hit{{a.ID, true, 100}, {b.ID, false, 100}}},
		{"a to b:5432 is denied by b's inbound rule 20", false, naclPkt{src: ia, dst: ib, proto: "tcp", dport: 5432}, naclXDPDrop,
			[]hit{{a.ID, true, 100}, {b.ID, false, 20}}},
		{"a to b:25 is denied by a's outbound rule 10; b's table is not consulted", false, naclPkt{src: ia, dst: ib, proto: "tcp", dport: 25}, naclXDPDrop,
			[]hit{{a.ID, true, 10}}},
		{"b to a:22 is denied by a's inbound rule 10", true, naclPkt{src: ib, dst: ia, proto: "tcp", dport: 22}, naclXDPDrop,
			[]hit{{b.ID, true, 100}, {a.ID, false, 10}}},
		{"a to an address of a itself through the router: both of a's tables", false, naclPkt{src: ia, dst: "10.0.1.11", proto: "tcp", dport: 22}, naclXDPDrop,
			[]hit{{a.ID, true, 100}, {a.ID, false, 10}}},
		{"a to an address in the VPC but in no subnet: a's outbound only", false, naclPkt{src: ia, dst: "10.0.2.5", proto: "tcp", dport: 22}, naclXDPPass,
			[]hit{{a.ID, true, 100}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := fromA
			if tc.tcx {
				prog = fromB
			}
			before := make([]uint64, len(tc.hits))
			for i, h := range tc.hits {
				before[i] = naclHits(t, n, h.acl, h.egress, h.rule)
			}
			others := naclTotalHits(t, n)
			var got uint32
			if tc.tcx {
				got = naclRunTC(t, prog, tc.p.frame(t))
			} else {
				got = naclRun(t, prog, tc.p.frame(t))
			}
			if got != tc.want {
				t.Fatalf("verdict %s, want %s", naclVerdictName(got), naclVerdictName(tc.want))
			}
			for i, h := range tc.hits {
				if after := naclHits(t, n, h.acl, h.egress, h.rule); after != before[i]+1 {
					t.Errorf("%s egress=%v rule %d: hits %d -> %d, want +1", h.acl, h.egress, h.rule, before[i], after)
				}
			}
			if d := naclTotalHits(t, n) - others; d != uint64(len(tc.hits)) {
				t.Errorf("%d rule hits in all, want %d (one per table consulted)", d, len(tc.hits))
			}
			if tc.want == naclXDPDrop {
				last := tc.hits[len(tc.hits)-1]
				rd.SetDeadline(time.Now().Add(time.Second))
				rec, err := rd.Read()
				if err != nil {
					t.Fatalf("no drop event: %v", err)
				}
				naclCheckEvent(t, n, rec.RawSample, last.rule, last.egress, last.acl, tc.p)
			}
		})
	}
}

// naclTotalHits sums every rule counter of every NACL.
func naclTotalHits(tb testing.TB, n *NACL) uint64 {
	tb.Helper()
	return naclSumHits(tb, n, func(NACLCounter) bool { return true })
}

// TestNACLDifferential compares the program with the reference evaluator
// (naclWire.judge) on seeded random tables and packets entering the router
// from either subnet or from no subnet, to either subnet or elsewhere, in
// XDP and at tc: each verdict must be the evaluator's, and at the end of
// each round every rule counter must have grown by exactly the hits the
// evaluator predicts. (Not BPF_PROG_RUN's repeat: between repetitions the
// kernel yields the CPU whenever another task waits, which on a busy
// machine costs a time slice per repetition.)
func TestNACLDifferential(t *testing.T) {
	n := mustLoadNACL(t)
	r := rulestest.Rand(t)
	froms := []string{"", "subnet-a", "subnet-b"}
	var progs, tcs [3]*naclTestPort
	for i, f := range froms {
		progs[i], tcs[i] = naclPortProg(t, n, f, XDPGeneric), naclPortProg(t, n, f, TC)
	}
	acls := map[string]*vpc.NetworkACL{}
	for _, sn := range naclTestTopo.Subnets {
		if err := n.Associate(sn.ID, "acl-diff-"+sn.ID); err != nil {
			t.Fatal(err)
		}
	}
	const rounds, perFrom = 50, 3000
	var judged, twice, malformed, bypass, passed, packets, runs int
	start := time.Now()
	for round := 0; round < rounds; round++ {
		for _, sn := range naclTestTopo.Subnets {
			nr := 1 + r.IntN(40)
			if round%10 == 0 {
				nr = 1000 // limits lifted
			}
			acl := &vpc.NetworkACL{ID: "acl-diff-" + sn.ID, Ingress: rulestest.RandNACLRules(r, nr), Egress: rulestest.RandNACLRules(r, 1+r.IntN(nr))}
			if err := n.SetNACL(acl); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			acls[sn.ID] = acl
		}
		before := naclCounterMap(t, n)
		want := map[naclHit]uint64{}
		// By port, so that ifindex 1 is remapped once per port and round.
		for e := range froms {
			for i := 0; i < perFrom; i++ {
				w := naclRandWire(r)
				naclSteerDst(r, w)
				frame := w.bytes()
				v, hits := w.judge(froms[e], acls, naclTestTopo)
				rule := 0
				if len(hits) > 0 {
					rule = hits[len(hits)-1].rule
				}
				packets++
				got, err := progs[e].run(frame)
				if err != nil || got != v {
					t.Fatalf("round %d packet %d: from %q %+v (ext %v opts %d cut %d badVer %v badIHL %v eth %#x) frame %x:\n  XDP %s (%v), want %s (rule %d)",
						round, i, froms[e], w.p, w.ext, w.v4opts, w.cut, w.badVer, w.badIHL, w.ethType, frame, naclVerdictName(got), err, naclVerdictName(v), rule)
				}
				runs++
				for _, h := range hits {
					want[h]++
				}
				if got, err := tcs[e].run(frame); err != nil || (got != v && got != naclTCUntestable) {
					t.Fatalf("round %d packet %d: from %q %+v frame %x:\n  tc %s (%v), want %s (rule %d)",
						round, i, froms[e], w.p, frame, naclVerdictName(got), err, naclVerdictName(v), rule)
				} else if got != naclTCUntestable {
					runs++
					for _, h := range hits {
						want[h]++
					}
				}
				switch {
				case w.malformed(len(frame)):
					malformed++
				case rule == 0:
					bypass++
				default:
					judged++
					if froms[e] != "" && naclSubnetOf(naclTestTopo, w.p.Dst) != "" {
						twice++
					}
				}
				if got == naclXDPPass {
					passed++
				}
			}
		}
		after := naclCounterMap(t, n)
		for k := range after {
			if d := after[k] - before[k]; d != want[k] {
				t.Fatalf("round %d: %s egress=%v v6=%v rule %d allow=%v counted %d packets, the evaluator %d", round, k.acl, k.egress, k.v6, k.rule, k.allow, d, want[k])
			}
			delete(want, k)
		}
		for k, c := range want {
			t.Fatalf("round %d: %s egress=%v v6=%v rule %d allow=%v: no counter, the evaluator %d packets", round, k.acl, k.egress, k.v6, k.rule, k.allow, c)
		}
	}
	t.Logf("%d frames, %d program runs agreed with the evaluator in %v: %d judged by rules (%d from a subnet into a subnet), %d malformed, %d pass-through; %d passed",
		packets, runs, time.Since(start).Round(time.Millisecond), judged, twice, malformed, bypass, passed)
	if judged < packets/2 || twice < packets/8 || malformed == 0 || bypass == 0 || passed == 0 || passed == packets {
		t.Errorf("packet mix too narrow to mean anything")
	}
}

// naclCounterMap reads every rule counter.
func naclCounterMap(tb testing.TB, n *NACL) map[naclHit]uint64 {
	tb.Helper()
	cs, err := n.Counters()
	if err != nil {
		tb.Fatal(err)
	}
	m := map[naclHit]uint64{}
	for _, c := range cs {
		m[naclHit{acl: c.ACL, egress: c.Egress, v6: c.IPv6, rule: c.Rule, allow: c.Allow}] += c.Packets
	}
	return m
}

// naclSteerDst moves most random destinations into naclTestTopo's subnets
// (random addresses would almost never be in one).
func naclSteerDst(r *rand.Rand, w *naclWire) {
	var p netip.Prefix
	switch k := r.IntN(5); {
	case k >= 3:
		return
	case w.p.Dst.Is6():
		p = naclTestTopo.Subnets[0].IPv6CIDR
	case k == 2:
		p = naclTestTopo.Subnets[1].CIDR
	default:
		p = naclTestTopo.Subnets[0].CIDR
	}
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if r.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	w.p.Dst, _ = netip.AddrFromSlice(b)
}

// TestNACLAtomicSwap runs packets continuously (one goroutine of
// BPF_PROG_RUN) while the NACL is swapped
// between two tables: every packet must get table A's verdict (rule 5,
// allow) or table B's (rule 7, deny), never a mix, never `*`.
func TestNACLAtomicSwap(t *testing.T) {
	n := mustLoadNACL(t)
	r := rulestest.Rand(t)
	pk := rules.Packet{Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("10.0.1.10"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 80}
	decoys := func(k int) []vpc.NACLRule {
		var out []vpc.NACLRule
		for len(out) < k {
			rl := rulestest.RandNACLRule(r, 100+r.IntN(30000))
			if rules.NACLRuleMatches(&rl, false, pk) || slicesHasNumber(out, rl.Number) {
				continue
			}
			out = append(out, rl)
		}
		return out
	}
	hit := func(num int, allow bool) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 80, To: 80}, CIDR: naclPrefix("10.0.0.0/24"), Allow: allow}
	}
	mk := func(num int, allow bool, k int) *vpc.NetworkACL {
		return &vpc.NetworkACL{ID: "acl-swap", Ingress: append(decoys(k), hit(num, allow))}
	}
	tables := []*vpc.NetworkACL{mk(5, true, 39), mk(7, false, 25), mk(5, true, 200), mk(7, false, 1000)}
	if err := n.SetNACL(tables[0]); err != nil {
		t.Fatal(err)
	}
	prog := naclProg(t, n, "acl-swap", false)
	frame := (&naclWire{p: pk}).bytes()
	var stop atomic.Bool
	var passes, drops, other atomic.Uint64
	var wg sync.WaitGroup
	for g := 0; g < 1; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ret, err := prog.runRaw(frame)
				switch {
				case err != nil:
					other.Add(1)
				case ret == naclXDPPass:
					passes.Add(1)
				case ret == naclXDPDrop:
					drops.Add(1)
				default:
					other.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 60; i++ {
		if err := n.SetNACL(tables[(i+1)%len(tables)]); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	cs, err := n.Counters()
	if err != nil {
		t.Fatal(err)
	}
	var r5, r7 uint64
	for _, c := range cs {
		switch {
		case c.Rule == 5 && c.Allow:
			r5 += c.Packets
		case c.Rule == 7 && !c.Allow:
			r7 += c.Packets
		case c.Packets != 0:
			t.Errorf("a packet was judged by rule %d (allow=%v, %d packets): a table mix", c.Rule, c.Allow, c.Packets)
		}
	}
	t.Logf("%d passes, %d drops during 60 swaps", passes.Load(), drops.Load())
	if other.Load() != 0 || r5 != passes.Load() || r7 != drops.Load() || passes.Load() == 0 || drops.Load() == 0 {
		t.Errorf("passes %d (rule 5 hits %d), drops %d (rule 7 hits %d), errors/other %d", passes.Load(), r5, drops.Load(), r7, other.Load())
	}
}

func slicesHasNumber(rs []vpc.NACLRule, num int) bool {
	for _, r := range rs {
		if r.Number == num {
			return true
		}
	}
	return num == 5 || num == 7
}

// naclCostCase is one program and frame of the cost measurements, with the
// subnet associations it needs while it runs (they are global).
type naclCostCase struct {
	name  string
	prog  *naclTestPort
	frame []byte
	assoc map[string]string // subnet -> NACL
}

// associate sets the subnet associations c needs.
func (c *naclCostCase) associate(tb testing.TB, n *NACL) {
	tb.Helper()
	for sn, acl := range c.assoc {
		if err := n.Associate(sn, acl); err != nil {
			tb.Fatal(err)
		}
	}
}

func (c *naclCostCase) run(tb testing.TB, n *NACL, repeat int, reset func()) (uint32, time.Duration, error) {
	c.associate(tb, n)
	return c.prog.benchmark(c.frame, repeat, reset)
}

// naclCostCases builds the measured configurations: parse-only; one table
// of 1..1000 rules (a packet from the internet gateway to subnet-a: its
// inbound table, where the packet matches only the last rule); two tables
// of 40 and 1000 rules each (subnet-b to subnet-a: b's outbound table, then
// a's inbound one, the last rule deciding in both); IPv6 one-table cases
// with deeper tries.
func naclCostCases(tb testing.TB, n *NACL) []*naclCostCase {
	r := rand.New(rand.NewPCG(9, 9))
	pk := rules.Packet{Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("10.0.1.10"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 5201, TCPFlags: 2}
	var objs struct {
		P *ebpf.Program `ebpf:"nacl_parse_only"`
	}
	if err := n.spec.Copy().LoadAndAssign(&objs, nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { objs.P.Close() })
	frame := (&naclWire{p: pk}).bytes()
	cases := []*naclCostCase{{name: "parse-only", prog: &naclTestPort{prog: objs.P}, frame: frame}}
	gw := naclPortProg(tb, n, "", XDPGeneric)
	fromB := naclPortProg(tb, n, "subnet-b", XDPGeneric)
	set := func(acl *vpc.NetworkACL) string {
		tb.Helper()
		if err := n.SetNACL(acl); err != nil {
			tb.Fatal(err)
		}
		return acl.ID
	}
	for _, size := range []int{1, 20, 40, 200, 1000} {
		id := set(naclWorstCase(r, fmt.Sprintf("acl-cost-%d", size), size, pk, false))
		cases = append(cases, &naclCostCase{name: fmt.Sprintf("%d rules", size), prog: gw, frame: frame, assoc: map[string]string{"subnet-a": id}})
	}
	pk2 := pk
	pk2.Src = netip.MustParseAddr("10.0.3.20")
	for _, size := range []int{40, 1000} {
		in := set(naclWorstCase(r, fmt.Sprintf("acl-cost2in-%d", size), size, pk2, false))
		out := set(naclWorstCase(r, fmt.Sprintf("acl-cost2out-%d", size), size, pk2, true))
		cases = append(cases, &naclCostCase{name: fmt.Sprintf("2 x %d rules, subnet to subnet", size), prog: fromB, frame: (&naclWire{p: pk2}).bytes(),
			assoc: map[string]string{"subnet-a": in, "subnet-b": out}})
	}
	pk6 := pk
	pk6.Src, pk6.Dst = netip.MustParseAddr("2001:db8:2::5"), netip.MustParseAddr("2001:db8:1::10")
	for _, size := range []int{40, 1000} {
		id := set(naclWorstCase(r, fmt.Sprintf("acl-cost6-%d", size), size, pk6, false))
		cases = append(cases, &naclCostCase{name: fmt.Sprintf("%d rules, IPv6", size), prog: gw, frame: (&naclWire{p: pk6}).bytes(), assoc: map[string]string{"subnet-a": id}})
	}
	for _, c := range cases[1:] {
		c.associate(tb, n)
		if got := naclRun(tb, c.prog, c.frame); got != naclXDPPass {
			tb.Fatalf("%s: %s, want the last rule's allow", c.name, naclVerdictName(got))
		}
	}
	return cases
}

// BenchmarkNACL reports the per-packet cost through BPF_PROG_RUN of the
// naclCostCases. Tables and programs are set up once, outside the timed
// loops (b.Run calls its function once per b.N round).
func BenchmarkNACL(b *testing.B) {
	n := mustLoadNACL(b)
	for _, c := range naclCostCases(b, n) {
		b.Run(strings.ReplaceAll(c.name, " ", ""), func(b *testing.B) { naclBench(b, n, c) })
	}
}

func naclBench(b *testing.B, n *NACL, c *naclCostCase) {
	b.Helper()
	// BPF_PROG_RUN with repeat: the kernel times the loop; b.N is the repeat.
	ret, per, err := c.run(b, n, max(b.N, 1), b.ResetTimer)
	if err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			b.Skip(err)
		}
		b.Fatal(err)
	}
	if ret != naclXDPPass && ret != naclXDPDrop {
		b.Fatalf("verdict %d", ret)
	}
	b.ReportMetric(float64(per.Nanoseconds()), "ns/pkt")
}

// TestNACLCostReport prints the BENCHMARKS.md table: per-packet cost via
// BPF_PROG_RUN (repeat 200000) of the naclCostCases, interleaved, 25
// rounds, min and median. It only reports (no timing assertions) and runs
// only with VPCEMU_NACL_COST=1, as the numbers need a quiet machine.
func TestNACLCostReport(t *testing.T) {
	if os.Getenv("VPCEMU_NACL_COST") != "1" {
		t.Skip("set VPCEMU_NACL_COST=1 to measure")
	}
	n := mustLoadNACL(t)
	cases := naclCostCases(t, n)
	res := make([][]time.Duration, len(cases))
	// Many short rounds: on a shared VM noise slows whole stretches of
	// rounds, and the minimum over rounds is what the program costs.
	for round := 0; round < 25; round++ {
		for i, c := range cases {
			_, d, err := c.run(t, n, 200000, nil)
			if err != nil {
				t.Fatal(err)
			}
			res[i] = append(res[i], d)
		}
	}
	med := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	base := slices.Min(res[0])
	out := "| program | min ns/pkt | median ns/pkt | min / parse-only min |\n|---|---|---|---|\n"
	for i, c := range cases {
		out += fmt.Sprintf("| %s | %d | %d | %.2fx |\n", c.name, slices.Min(res[i]).Nanoseconds(), med(res[i]).Nanoseconds(), float64(slices.Min(res[i]))/float64(base))
	}
	t.Log("\n" + out)
}

// naclWorstCase is a NACL with size rules of pk's family in one direction
// where pk matches only the last one: inbound rules match pk's source
// (the last one its /24 or /64), outbound rules its destination.
func naclWorstCase(r *rand.Rand, id string, size int, pk rules.Packet, egress bool) *vpc.NetworkACL {
	v6 := pk.Src.Is6()
	var rs []vpc.NACLRule
	for len(rs) < size-1 {
		rl := rulestest.RandNACLRule(r, len(rs)+1)
		if rl.CIDR.Addr().Is6() != v6 || rules.NACLRuleMatches(&rl, egress, pk) {
			continue
		}
		rs = append(rs, rl)
	}
	a, bits := pk.Src, 24
	if egress {
		a = pk.Dst
	}
	if v6 {
		bits = 64
	}
	rs = append(rs, vpc.NACLRule{Number: size, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: pk.DstPort, To: pk.DstPort}, CIDR: netip.PrefixFrom(a, bits).Masked(), Allow: true})
	if egress {
		return &vpc.NetworkACL{ID: id, Egress: rs}
	}
	return &vpc.NetworkACL{ID: id, Ingress: rs}
}

// FuzzNACLFrame feeds arbitrary frames to the program: it must return
// XDP_PASS or XDP_DROP, pass every non-IP frame and agree with the variant
// for native mode. The seed corpus (truncations of real frames) runs in
// `go test`.
func FuzzNACLFrame(f *testing.F) {
	for _, p := range []naclPkt{
		{src: "203.0.113.5", dst: "10.0.1.10", proto: "tcp", dport: 22},
		{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "udp", frag: rules.FragLater, hbh: true},
		{src: "2001:dead::1", dst: "2001:db8:1::10", proto: "icmp6", typ: 128},
		{src: "198.51.100.7", dst: "10.0.1.10", proto: "icmp", typ: 3, code: 4},
	} {
		fr := p.frame(f)
		for _, cut := range []int{len(fr), 14, 20, 33, 34, 53, 54, 60, 62} {
			if cut <= len(fr) {
				f.Add(fr[:cut])
			}
		}
	}
	n := mustLoadNACL(f)
	if err := n.SetNACL(naclFixtureACL()); err != nil {
		f.Fatal(err)
	}
	prog := naclProg(f, n, "acl-fixture", false)
	frags := naclProgMode(f, n, "acl-fixture", false, XDPNative)
	tcx := naclProgMode(f, n, "acl-fixture", false, TC)
	f.Fuzz(func(t *testing.T, frame []byte) {
		if len(frame) < 14 || len(frame) > 1500 {
			t.Skip("BPF_PROG_RUN needs an Ethernet header; keep frames in one page")
		}
		got := naclRun(t, prog, frame)
		if got != naclXDPPass && got != naclXDPDrop {
			t.Fatalf("verdict %d", got)
		}
		if et := uint16(frame[12])<<8 | uint16(frame[13]); et != 0x0800 && et != 0x86dd && got != naclXDPPass {
			t.Fatalf("non-IP ethertype %#x dropped", et)
		}
		if g2 := naclRun(t, frags, frame); g2 != got {
			t.Fatalf("xdp.frags variant %s, generic %s", naclVerdictName(g2), naclVerdictName(got))
		}
		if g3 := naclRunTC(t, tcx, frame); g3 != got && g3 != naclTCUntestable {
			t.Fatalf("tcx variant %s, generic %s", naclVerdictName(g3), naclVerdictName(got))
		}
	})
}
