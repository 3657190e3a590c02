package loader

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// Per-packet cost of flow accounting (bpf/flow.h), BPF_PROG_RUN timed by the
// kernel: the same program, map contents and packet with counting switched
// off (no Flows: flow_enabled = 0, the verifier prunes it) and on (a shared
// Flows with the ENIs set). "on" packets hit one existing flow entry, the
// steady state of a long flow: the cost is the ENI/subnet lookups plus the
// atomic adds. Run: go test ./loader -run '^$' -bench BenchmarkFlowAccounting

// flowsFor returns shared flow counters for t whose ENIs index returns.
func flowsFor(tb testing.TB, spec *ebpf.CollectionSpec, t *vpc.Topology, index func(string) (uint32, error)) *Flows {
	tb.Helper()
	f, err := NewFlows(spec, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	if err := f.SetENIs(t, vpc.NewPlan(t), index); err != nil {
		tb.Fatal(err)
	}
	return f
}

// sgFlowHarness is newSGHarness counting into flows (nil: not counting).
func sgFlowHarness(tb testing.TB, t *vpc.Topology, counting bool) *sgHarness {
	tb.Helper()
	testenv.RequireRoot(tb)
	p := vpc.NewPlan(t)
	var f *Flows
	var s *SG
	var err error
	if counting {
		spec, err := loadSg()
		if err != nil {
			tb.Fatal(err)
		}
		f, err = NewFlows(spec, 0)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { f.Close() })
	}
	if s, err = loadSGFlows(t, p, 0, f); err != nil {
		tb.Fatalf("load sg: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	if f != nil {
		if err := f.SetENIs(t, p, s.ENIIndex); err != nil {
			tb.Fatal(err)
		}
	}
	h := &sgHarness{tb: tb, t: t, plan: p, sg: s, macs: map[string]net.HardwareAddr{}, now: 1000 * time.Second}
	for _, hp := range p.Instances {
		h.macs[hp.ID] = hp.MAC
	}
	h.setClock()
	return h
}

// flowBenchNACL is a 40-rule outbound NACL whose last rule passes pk.
func flowBenchNACL(pk rules.Packet) *vpc.NetworkACL {
	r := rand.New(rand.NewPCG(4, 2))
	var rs []vpc.NACLRule
	for len(rs) < 39 {
		rl := rulestest.RandNACLRule(r, len(rs)+1)
		if rl.CIDR.Addr().Is6() || rules.NACLRuleMatches(&rl, true, pk) {
			continue
		}
		rs = append(rs, rl)
	}
	rs = append(rs, vpc.NACLRule{Number: 40, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: pk.DstPort, To: pk.DstPort},
		CIDR: naclPrefix("0.0.0.0/0"), Allow: true})
	return &vpc.NetworkACL{ID: "acl-flow-bench", Egress: rs}
}

func BenchmarkFlowAccounting(b *testing.B) {
	for _, on := range []bool{false, true} {
		mode := map[bool]string{false: "off", true: "on"}[on]
		// SG, established flow: a -> X leaves the subnet (the SG only
		// looks up the ENI's subnet; the NACL counts it), X -> a is counted.
		b.Run("sg-established-out/"+mode, func(b *testing.B) {
			h := sgFlowHarness(b, sgBenchTopo(1, false, false), on)
			syn := tcpPkt(ipA+":40000", ipX+":60000", fSYN)
			if h.run("a", true, syn) != sgPass || h.run("a", false, reply(withFlags(syn, fSYN|fACK))) != sgPass {
				b.Fatal("handshake refused")
			}
			benchRun(b, h.sg.objs.SgIngress, sgFrame(b, h.macs["a"], true, withFlags(syn, fACK)), 1000, sgPass)
		})
		b.Run("sg-established-in/"+mode, func(b *testing.B) {
			h := sgFlowHarness(b, sgBenchTopo(1, false, false), on)
			syn := tcpPkt(ipA+":40000", ipX+":60000", fSYN)
			if h.run("a", true, syn) != sgPass || h.run("a", false, reply(withFlags(syn, fSYN|fACK))) != sgPass {
				b.Fatal("handshake refused")
			}
			benchRun(b, h.sg.objs.SgEgress, sgFrame(b, h.macs["a"], false, reply(withFlags(syn, fACK))), 1000, sgPass)
		})
		// NACL, from the subnet's uplink, 40 rules, the last decides: every packet
		// is counted for the ENI owning its source.
		b.Run("nacl-egress-40/"+mode, func(b *testing.B) {
			testenv.RequireRoot(b)
			pk := rules.Packet{Src: netip.MustParseAddr(ipA), Dst: netip.MustParseAddr(ipX), Protocol: vpc.ProtoTCP,
				SrcPort: 40000, DstPort: 5201, TCPFlags: fACK}
			topo := sgBenchTopo(1, false, false)
			opts := NACLOptions{Topology: naclTestTopo}
			if on {
				spec, err := loadNacl()
				if err != nil {
					b.Fatal(err)
				}
				opts.Flows = flowsFor(b, spec, topo, func(string) (uint32, error) { return 1, nil })
			}
			n, err := LoadNACL(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { n.Close() })
			acl := flowBenchNACL(pk)
			if got := rules.EvalNACL(acl, true, pk); got.Rule != 40 || !got.Allow {
				b.Fatalf("bench packet decided by rule %d (allow %v), want 40 allow", got.Rule, got.Allow)
			}
			if err := n.SetNACL(acl); err != nil {
				b.Fatal(err)
			}
			naclBench(b, n, &naclCostCase{name: "egress", prog: naclProg(b, n, acl.ID, true), frame: (&naclWire{p: pk}).bytes()})
		})
	}
}
