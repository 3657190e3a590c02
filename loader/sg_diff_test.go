package loader

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// Differential test: the SG datapath (BPF_PROG_RUN) against the reference
// evaluator (rules.Conntrack over rules.SGEvaluator) on seeded random
// topologies and packet sequences: new flows, replies, closes, fragments,
// ICMP errors, clock jumps across every timeout, rule and membership
// changes. Every packet's verdict (and drop reason) must agree.
// TEST_SEED=N replays a run (rulestest.Seed).

const (
	diffRuns       = 5
	diffPacketsPer = 30000
)

func TestSGDifferential(t *testing.T) {
	testenv.RequireRoot(t)
	r := rulestest.Rand(t)
	total := 0
	for run := range diffRuns {
		total += diffRun(t, r, run, diffPacketsPer)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d packets agreed", total)
}

// diffGen generates topologies and packets for one seed.
type diffGen struct {
	r     *rand.Rand
	insts []vpc.Instance
	v4    []netip.Addr // remote addresses, instances' own included
	v6    []netip.Addr
}

var diffProtos = []int{vpc.ProtoTCP, vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6, vpc.ProtoAll, vpc.ProtoAll, 47}

func (g *diffGen) ports() vpc.PortRange {
	switch g.r.IntN(6) {
	case 0:
		return vpc.AllPorts
	case 1:
		p := []int{22, 53, 80, 443, 3389}[g.r.IntN(5)]
		return vpc.PortRange{From: p, To: p}
	case 2:
		return vpc.PortRange{From: 1024, To: 65535}
	case 3:
		return vpc.PortRange{From: 32768, To: 60999}
	case 4:
		a := g.r.IntN(65536)
		return vpc.PortRange{From: a, To: min(65535, a+g.r.IntN(2000))}
	}
	return vpc.PortRange{From: 0, To: 1023}
}

func (g *diffGen) prefix(v6 bool) netip.Prefix {
	if !v6 {
		if g.r.IntN(4) == 0 {
			return cidr("0.0.0.0/0")
		}
		a := g.v4[g.r.IntN(len(g.v4))]
		bits := []int{8, 16, 24, 28, 32, 32}[g.r.IntN(6)]
		return netip.PrefixFrom(a, bits).Masked()
	}
	if g.r.IntN(4) == 0 {
		return cidr("::/0")
	}
	a := g.v6[g.r.IntN(len(g.v6))]
	bits := []int{32, 48, 64, 120, 128, 128}[g.r.IntN(6)]
	return netip.PrefixFrom(a, bits).Masked()
}

func (g *diffGen) rule(sgIDs []string) vpc.SGRule {
	r := vpc.SGRule{Protocol: diffProtos[g.r.IntN(len(diffProtos))], Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1}
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		r.Ports = g.ports()
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if g.r.IntN(2) == 0 {
			r.ICMPType = []int{0, 3, 8, 11, 128, 129, 1, 135}[g.r.IntN(8)]
			if g.r.IntN(2) == 0 {
				r.ICMPCode = g.r.IntN(2)
			}
		}
	}
	switch {
	case g.r.IntN(6) == 0:
		r.SourceGroup = sgIDs[g.r.IntN(len(sgIDs))]
	case r.Protocol == vpc.ProtoICMPv6:
		r.CIDR = g.prefix(true)
	case r.Protocol == vpc.ProtoICMP:
		r.CIDR = g.prefix(false)
	default:
		r.CIDR = g.prefix(g.r.IntN(3) == 0)
	}
	return r
}

func (g *diffGen) rules(sgIDs []string) []vpc.SGRule {
	n := 0
	switch g.r.IntN(4) {
	case 0:
		n = 0
	case 1:
		n = 1 + g.r.IntN(3)
	case 2:
		n = g.r.IntN(15)
	default:
		n = g.r.IntN(61)
	}
	out := make([]vpc.SGRule, n)
	for i := range out {
		out[i] = g.rule(sgIDs)
	}
	return out
}

func (g *diffGen) topology(name string) *vpc.Topology {
	sgIDs := []string{"sg-1", "sg-2", "sg-3", "sg-4", "sg-5", "sg-6", "sg-7"}
	var sgs []vpc.SecurityGroup
	for _, id := range sgIDs {
		sgs = append(sgs, vpc.SecurityGroup{ID: id, Ingress: g.rules(sgIDs), Egress: g.rules(sgIDs)})
	}
	var insts []vpc.Instance
	for i := range 4 {
		in := vpc.Instance{
			ID:  fmt.Sprintf("i-%d", i),
			ENI: vpc.ENI{PrivateIP: netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i)})},
			Conntrack: vpc.Conntrack{
				TCPEstablished: time.Duration(60+g.r.IntN(600)) * time.Second,
				UDP:            time.Duration(30+g.r.IntN(31)) * time.Second,
				UDPStream:      time.Duration(60+g.r.IntN(121)) * time.Second,
			},
		}
		if g.r.IntN(3) > 0 {
			in.IPv6 = netip.MustParseAddr(fmt.Sprintf("2001:db8:0:1::%x", 0x10+i))
		}
		if g.r.IntN(2) == 0 {
			in.Conntrack.MaxEntries = 3 + g.r.IntN(40)
		}
		in.SecurityGroups = g.sgList(sgIDs)
		insts = append(insts, in)
	}
	return sgTopo(name, sgs, insts...)
}

func (g *diffGen) sgList(sgIDs []string) []string {
	perm := g.r.Perm(len(sgIDs))
	n := 1 + g.r.IntN(5)
	var out []string
	for _, i := range perm[:n] {
		out = append(out, sgIDs[i])
	}
	return out
}

// mutate changes t in place the way `vpcemu apply` would: rules removed or
// added, and instance SG lists changed.
func (g *diffGen) mutate(t *vpc.Topology) *vpc.Topology {
	c := *t
	c.SecurityGroups = append([]vpc.SecurityGroup(nil), t.SecurityGroups...)
	c.Instances = append([]vpc.Instance(nil), t.Instances...)
	var ids []string
	for _, sg := range c.SecurityGroups {
		ids = append(ids, sg.ID)
	}
	for n := 1 + g.r.IntN(4); n > 0; n-- {
		switch g.r.IntN(4) {
		case 0, 1: // delete a rule
			sg := &c.SecurityGroups[g.r.IntN(len(c.SecurityGroups))]
			l := &sg.Egress
			if g.r.IntN(2) == 0 {
				l = &sg.Ingress
			}
			if len(*l) > 0 {
				i := g.r.IntN(len(*l))
				nl := append([]vpc.SGRule(nil), (*l)[:i]...)
				*l = append(nl, (*l)[i+1:]...)
			}
		case 2: // add a rule
			sg := &c.SecurityGroups[g.r.IntN(len(c.SecurityGroups))]
			if g.r.IntN(2) == 0 {
				sg.Ingress = append(append([]vpc.SGRule(nil), sg.Ingress...), g.rule(ids))
			} else {
				sg.Egress = append(append([]vpc.SGRule(nil), sg.Egress...), g.rule(ids))
			}
		case 3: // change an instance's SG list (and so group memberships)
			c.Instances[g.r.IntN(len(c.Instances))].SecurityGroups = g.sgList(ids)
		}
	}
	return &c
}

type diffFlow struct {
	inst string
	out  bool // the instance initiated it
	p    rules.Packet
}

func (g *diffGen) newFlow(t *vpc.Topology) diffFlow {
	in := t.Instances[g.r.IntN(len(t.Instances))]
	v6 := in.IPv6.IsValid() && g.r.IntN(3) == 0
	local := in.PrivateIP
	remote := g.v4[g.r.IntN(len(g.v4))]
	if v6 {
		local = in.IPv6
		remote = g.v6[g.r.IntN(len(g.v6))]
	}
	if g.r.IntN(4) == 0 { // somewhere in the remote's prefix, not the host itself
		b := remote.As16()
		b[15] = byte(g.r.IntN(256))
		remote = netip.AddrFrom16(b)
		if !v6 {
			remote = remote.Unmap()
		}
	}
	p := rules.Packet{Src: local, Dst: remote}
	switch k := g.r.IntN(10); {
	case k < 4:
		p.Protocol = vpc.ProtoTCP
		p.TCPFlags = fSYN
		if g.r.IntN(8) == 0 {
			p.TCPFlags = fACK
		}
	case k < 7:
		p.Protocol = vpc.ProtoUDP
	case k < 9:
		p.Protocol = vpc.ProtoICMP
		if v6 {
			p.Protocol = vpc.ProtoICMPv6
		}
		switch k := g.r.IntN(6); {
		case k < 3:
			p.ICMPType, p.ICMPID = 8, g.r.IntN(65536)
			if v6 {
				p.ICMPType = 128
			}
		case k < 5 && v6:
			// MLD and neighbour discovery among other types: the SG
			// lets link control through unjudged (rules.SGBypass)
			p.ICMPType, p.ICMPCode = rulestest.RandICMPv6Type(g.r), g.r.IntN(2)
			if p.ICMPType == 128 || p.ICMPType == 129 {
				p.ICMPID = g.r.IntN(65536)
			}
		case k == 5 && !v6:
			// protocol 58 in IPv4 is not link control: judged
			p.Protocol = vpc.ProtoICMPv6
			p.ICMPType = rulestest.ICMPv6LinkControl[g.r.IntN(len(rulestest.ICMPv6LinkControl))]
		default:
			p.ICMPType, p.ICMPCode = []int{3, 11, 1, 2, 13}[g.r.IntN(5)], g.r.IntN(5)
		}
	default:
		p.Protocol = []int{47, 50, 132}[g.r.IntN(3)]
	}
	if p.Protocol == vpc.ProtoTCP || p.Protocol == vpc.ProtoUDP {
		p.SrcPort = []int{32768 + g.r.IntN(28000), 1024 + g.r.IntN(64000), 80, 53}[g.r.IntN(4)]
		p.DstPort = []int{22, 53, 80, 443, 3389, 5432, g.r.IntN(65536)}[g.r.IntN(7)]
	}
	f := diffFlow{inst: in.ID, out: true, p: p}
	if g.r.IntN(2) == 0 { // initiated by the remote
		f.out = false
		f.p = reply(p)
	}
	return f
}

// next is a packet of flow f: forward or reply, with fitting TCP flags.
func (g *diffGen) next(f diffFlow) (rules.Packet, bool) {
	p, out := f.p, f.out
	fwd := g.r.IntN(2) == 0
	if !fwd {
		p, out = reply(p), !out
		switch p.Protocol {
		case vpc.ProtoICMP:
			if p.ICMPType == 8 {
				p.ICMPType = 0
			}
		case vpc.ProtoICMPv6:
			if p.ICMPType == 128 {
				p.ICMPType = 129
			}
		}
	}
	if p.Protocol == vpc.ProtoTCP {
		switch k := g.r.IntN(20); {
		case k == 0:
			p.TCPFlags = fFIN | fACK
		case k == 1:
			p.TCPFlags = fRST
		case k < 6 && !fwd:
			p.TCPFlags = fSYN | fACK
		case k < 8 && fwd:
			p.TCPFlags = fSYN
		default:
			p.TCPFlags = fACK
		}
	}
	if g.r.IntN(40) == 0 {
		p.Fragment = rules.FragLater
		p.SrcPort, p.DstPort, p.TCPFlags, p.ICMPType, p.ICMPCode, p.ICMPID = 0, 0, 0, 0, 0, 0
	}
	return p, out
}

func (g *diffGen) clockStep() time.Duration {
	switch k := g.r.IntN(200); {
	case k < 150:
		return time.Duration(g.r.IntN(3000)) * time.Millisecond
	case k < 190:
		return time.Duration(g.r.IntN(30)) * time.Second
	default:
		// jump across a timeout boundary, sometimes exactly onto it
		b := []int{30, 60, 120, 180, 600}[g.r.IntN(5)]
		return time.Duration(b-2+g.r.IntN(5)) * time.Second
	}
}

// diffChecker compares the datapath of h with the reference evaluator on
// packets g generates: new flows and the continuation of recent ones, with
// the test clock moving (see TestSGDifferential).
type diffChecker struct {
	t       *testing.T
	g       *diffGen
	h       *sgHarness
	topo    *vpc.Topology // what the datapath should enforce
	ct      *rules.Conntrack
	flows   []diffFlow
	reasons map[string]int
	n       int // packets checked
}

func newDiffChecker(t *testing.T, g *diffGen, h *sgHarness, topo *vpc.Topology) *diffChecker {
	return &diffChecker{t: t, g: g, h: h, topo: topo, ct: rules.NewConntrack(topo, rules.NewSGEvaluator(topo)), reasons: map[string]int{}}
}

// setTopology tells the evaluator what the datapath now enforces.
func (c *diffChecker) setTopology(t *vpc.Topology) {
	c.topo = t
	c.ct.SetTopology(t)
}

// check runs n packets; false (after reporting) on the first disagreement.
func (c *diffChecker) check(n int) bool {
	t, g, h := c.t, c.g, c.h
	t.Helper()
	fail := func(what string, args ...any) bool {
		t.Errorf("packet %d: %s", c.n, fmt.Sprintf(what, args...))
		return false
	}
	for range n {
		c.n++
		if g.r.IntN(3) == 0 {
			h.advance(g.clockStep())
		}
		var p rules.Packet
		var inst string
		var out bool
		if len(c.flows) == 0 || g.r.IntN(4) == 0 {
			f := g.newFlow(c.topo)
			c.flows = append(c.flows, f)
			if len(c.flows) > 300 {
				c.flows = c.flows[len(c.flows)-300:]
			}
			p, inst, out = f.p, f.inst, f.out
		} else {
			f := c.flows[len(c.flows)-1-min(len(c.flows)-1, int(g.r.ExpFloat64()*20))]
			p, out = g.next(f)
			inst = f.inst
		}
		want := c.ct.Process(h.now, inst, out, p)
		got := h.run(inst, out, p)
		c.reasons[want.Reason]++
		if (got == sgPass) != want.Allow {
			return fail("%s %v %+v: bpf %s, evaluator %+v", inst, map[bool]string{true: "out", false: "in"}[out], p, sgVerdictName(got), want)
		}
		if !want.Allow {
			evs := h.events()
			if len(evs) != 1 || SGDropCodeName(evs[0].Code) != want.Reason {
				return fail("%s %+v: drop events %+v, evaluator reason %s", inst, p, evs, want.Reason)
			}
		}
		if c.n%5000 == 0 && !c.checkCounts() {
			return false
		}
	}
	return true
}

// checkCounts compares every ENI's tracked entries and allowance drops.
func (c *diffChecker) checkCounts() bool {
	c.t.Helper()
	c.ct.Expire(c.h.now)
	for _, in := range c.topo.Instances {
		tracked, _, exc, err := c.h.sg.Stats(in.ID)
		if err != nil {
			c.t.Fatal(err)
		}
		if tracked != uint64(c.ct.Len(in.ID)) {
			c.t.Errorf("packet %d: %s tracked entries: bpf %d, evaluator %d", c.n, in.ID, tracked, c.ct.Len(in.ID))
			return false
		}
		if exc != c.ct.Exceeded(in.ID) {
			c.t.Errorf("packet %d: %s conntrack_allowance_exceeded: bpf %d, evaluator %d", c.n, in.ID, exc, c.ct.Exceeded(in.ID))
			return false
		}
	}
	return true
}

// newDiffGen is a generator drawing from r, with the remote addresses of
// the differential topologies.
func newDiffGen(r *rand.Rand) *diffGen {
	g := &diffGen{r: r}
	for _, s := range []string{"10.0.1.10", "10.0.1.11", "10.0.1.12", "10.0.1.13", "198.51.100.7", "198.51.100.200", "203.0.113.9", "192.0.2.66"} {
		g.v4 = append(g.v4, netip.MustParseAddr(s))
	}
	for _, s := range []string{"2001:db8:0:1::10", "2001:db8:0:1::11", "2001:db8:0:1::12", "2001:db8:ff::7", "2001:db8:1234::1"} {
		g.v6 = append(g.v6, netip.MustParseAddr(s))
	}
	return g
}

// diffRun is one differential run: a random topology, packets, and now and
// then a rule change; it returns how many packets agreed.
func diffRun(t *testing.T, r *rand.Rand, run, packets int) int {
	t.Helper()
	g := newDiffGen(r)
	topo := g.topology("sgdiff")
	// every other run with a 4-slot ct_fast: most entries then live in the
	// overflow hash, so both storage paths are compared
	slots := uint64(0)
	if run%2 == 1 {
		slots = 4
	}
	h := newSGHarnessSlots(t, topo, slots)
	c := newDiffChecker(t, g, h, topo)
	defer func() { t.Logf("run %d (ct_fast slots %d): evaluator reasons %v", run, slots, c.reasons) }()
	for c.n < packets {
		if !c.check(min(packets-c.n, 1+g.r.IntN(12000))) {
			return c.n
		}
		topo = g.mutate(topo)
		h.update(topo)
		c.setTopology(topo)
	}
	return c.n
}
