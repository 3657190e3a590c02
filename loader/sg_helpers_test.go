package loader

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// tcx return codes of the SG programs.
const (
	sgPass = ^uint32(0) // TC_ACT_UNSPEC: tcx "next", i.e. allowed
	sgDrop = 2          // TC_ACT_SHOT
)

func sgVerdictName(v uint32) string {
	switch v {
	case sgPass:
		return "PASS"
	case sgDrop:
		return "DROP"
	}
	return "?"
}

// sgHarness drives the SG programs with BPF_PROG_RUN and a test clock.
type sgHarness struct {
	tb   testing.TB
	t    *vpc.Topology
	plan *vpc.Plan
	sg   *SG
	macs map[string]net.HardwareAddr
	now  time.Duration // test clock; starts at 1000 s
	rd   *ringbuf.Reader
}

func newSGHarness(tb testing.TB, t *vpc.Topology) *sgHarness {
	tb.Helper()
	return newSGHarnessSlots(tb, t, 0)
}

// newSGHarnessSlots loads with a ct_fast of fastSlots slots (0: default).
func newSGHarnessSlots(tb testing.TB, t *vpc.Topology, fastSlots uint64) *sgHarness {
	tb.Helper()
	testenv.RequireRoot(tb)
	p := vpc.NewPlan(t)
	s, err := loadSG(t, p, fastSlots)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			tb.Fatalf("load sg: %+v", ve)
		}
		tb.Fatalf("load sg: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	h := &sgHarness{tb: tb, t: t, plan: p, sg: s, macs: map[string]net.HardwareAddr{}, now: 1000 * time.Second}
	for _, hp := range p.Instances {
		h.macs[hp.ID] = hp.MAC
	}
	h.setClock()
	return h
}

func (h *sgHarness) setClock() {
	h.tb.Helper()
	if err := h.sg.objs.NowOverride.Set(uint64(h.now)); err != nil {
		h.tb.Fatal(err)
	}
}

// advance moves the test clock.
func (h *sgHarness) advance(d time.Duration) {
	h.now += d
	h.setClock()
}

// run sends p through instance's ENI: out = the instance sends it.
func (h *sgHarness) run(instance string, out bool, p rules.Packet) uint32 {
	h.tb.Helper()
	mac, ok := h.macs[instance]
	if !ok {
		h.tb.Fatalf("no instance %s", instance)
	}
	prog := h.sg.objs.SgEgress
	if out {
		prog = h.sg.objs.SgIngress
	}
	ret, err := prog.Run(&ebpf.RunOptions{Data: sgFrame(h.tb, mac, out, p)})
	if err != nil {
		h.tb.Fatalf("run: %v", err)
	}
	return ret
}

func (h *sgHarness) update(t *vpc.Topology) {
	h.tb.Helper()
	if err := h.sg.Update(t); err != nil {
		h.tb.Fatalf("update: %v", err)
	}
	h.t = t
}

// events drains the ring buffer.
func (h *sgHarness) events() []SGEvent {
	h.tb.Helper()
	if h.rd == nil {
		rd, err := ringbuf.NewReader(h.sg.Events())
		if err != nil {
			h.tb.Fatal(err)
		}
		h.rd = rd
		h.tb.Cleanup(func() { rd.Close() })
	}
	var out []SGEvent
	for {
		h.rd.SetDeadline(time.Now().Add(time.Millisecond))
		rec, err := h.rd.Read()
		if err != nil {
			return out
		}
		ev, err := DecodeSGEvent(rec.RawSample)
		if err != nil {
			h.tb.Fatal(err)
		}
		out = append(out, ev)
	}
}

var peerMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x99}

// sgFrame builds an Ethernet frame carrying p; the instance MAC is the
// source when out, the destination otherwise.
func sgFrame(tb testing.TB, mac net.HardwareAddr, out bool, p rules.Packet) []byte {
	tb.Helper()
	f := testFrame{src: peerMAC, dst: mac, p: p}
	if out {
		f.src, f.dst = mac, peerMAC
	}
	return f.build(tb)
}

// Packet constructors for fixtures.

func tcpPkt(src, dst string, flags uint8) rules.Packet {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	return rules.Packet{Src: s.Addr(), Dst: d.Addr(), Protocol: vpc.ProtoTCP, SrcPort: int(s.Port()), DstPort: int(d.Port()), TCPFlags: flags}
}

func udpPkt(src, dst string) rules.Packet {
	p := tcpPkt(src, dst, 0)
	p.Protocol = vpc.ProtoUDP
	return p
}

func icmpPkt(src, dst string, typ, code, id int) rules.Packet {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	proto := vpc.ProtoICMP
	if s.Is6() {
		proto = vpc.ProtoICMPv6
	}
	return rules.Packet{Src: s, Dst: d, Protocol: proto, ICMPType: typ, ICMPCode: code, ICMPID: id}
}

func reply(p rules.Packet) rules.Packet {
	p.Src, p.Dst = p.Dst, p.Src
	p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
	return p
}

const (
	fFIN = 1
	fSYN = 2
	fRST = 4
	fACK = 16
)

// sgTopo builds a one-subnet dual-stack topology; instances get the listed SGs.
func sgTopo(name string, sgs []vpc.SecurityGroup, inst ...vpc.Instance) *vpc.Topology {
	t := &vpc.Topology{
		Name:    name,
		Account: "123456789012",
		Region:  "us-east-1",
		VPCs:    []vpc.VPC{{ID: "vpc-1", CIDR: netip.MustParsePrefix("10.0.0.0/16"), IPv6CIDR: netip.MustParsePrefix("2001:db8::/56")}},
		Subnets: []vpc.Subnet{{ID: "subnet-a", CIDR: netip.MustParsePrefix("10.0.1.0/24"),
			IPv6CIDR: netip.MustParsePrefix("2001:db8:0:1::/64"), NetworkACL: vpc.DefaultNACLID}},
		SecurityGroups: sgs,
		Instances:      inst,
		Limits:         vpc.DefaultLimits,
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.Subnet == "" {
			in.Subnet = "subnet-a"
		}
		if in.ENI.ID == "" {
			in.ENI.ID = "eni-" + in.ID
		}
	}
	return t
}

func cidr(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func tcpRule(ports string, peer string) vpc.SGRule {
	r := vpc.SGRule{Protocol: vpc.ProtoTCP, ICMPType: -1, ICMPCode: -1}
	var a, b int
	if n, _ := fmt.Sscanf(ports, "%d-%d", &a, &b); n == 1 {
		b = a
	}
	r.Ports = vpc.PortRange{From: a, To: b}
	setPeer(&r, peer)
	return r
}

func udpRule(ports string, peer string) vpc.SGRule {
	r := tcpRule(ports, peer)
	r.Protocol = vpc.ProtoUDP
	return r
}

func allRule(peer string) vpc.SGRule {
	r := vpc.SGRule{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1}
	setPeer(&r, peer)
	return r
}

func icmpRule(proto, typ, code int, peer string) vpc.SGRule {
	r := vpc.SGRule{Protocol: proto, Ports: vpc.AllPorts, ICMPType: typ, ICMPCode: code}
	setPeer(&r, peer)
	return r
}

func setPeer(r *vpc.SGRule, peer string) {
	if p, err := netip.ParsePrefix(peer); err == nil {
		r.CIDR = p
		return
	}
	r.SourceGroup = peer
}
