package loader

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/flowlog"
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

// BenchmarkFlowNewFlows: the NACL's per-packet cost when flows are short,
// as short connections make them (16 in flight, round robin, each life
// packets long: 1, every packet a new flow; 4, a TCP connection's share of
// one direction), counting off and on, the counters drained every 16384
// packets (outside the timing). Each packet is its own BPF_PROG_RUN, timed
// by the kernel, so the index and the log are touched as traffic touches
// them, not one hot entry.
func BenchmarkFlowNewFlows(b *testing.B) {
	for _, c := range []struct {
		life int
		on   bool
	}{{1, false}, {1, true}, {4, false}, {4, true}} {
		mode := map[bool]string{false: "off", true: "on"}[c.on]
		b.Run(fmt.Sprintf("nacl-egress-40/life%d/%s", c.life, mode), func(b *testing.B) {
			testenv.RequireRoot(b)
			pk := rules.Packet{Src: netip.MustParseAddr(ipA), Dst: netip.MustParseAddr(ipX), Protocol: vpc.ProtoTCP,
				SrcPort: 40000, DstPort: 5201, TCPFlags: fACK}
			topo := sgBenchTopo(1, false, false)
			opts := NACLOptions{Topology: naclTestTopo}
			var f *Flows
			if c.on {
				spec, err := loadNacl()
				if err != nil {
					b.Fatal(err)
				}
				f = flowsFor(b, spec, topo, func(string) (uint32, error) { return 1, nil })
				opts.Flows = f
			}
			n, err := LoadNACL(opts)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { n.Close() })
			acl := flowBenchNACL(pk)
			if err := n.SetNACL(acl); err != nil {
				b.Fatal(err)
			}
			port := naclProg(b, n, acl.ID, true)
			conc, life := 16, c.life
			ports := make([]uint16, conc)
			left := make([]int, conc)
			next := uint16(1024)
			frames := map[uint16][]byte{}
			frame := func(sp uint16) []byte {
				if fr, ok := frames[sp]; ok {
					return fr
				}
				p := pk
				p.SrcPort = int(sp)
				fr := (&naclWire{p: p}).bytes()
				frames[sp] = fr
				return fr
			}
			var total time.Duration
			pkts := 0
			for b.Loop() {
				i := pkts % conc
				if left[i] == 0 {
					ports[i], left[i] = next, life
					if next++; next == 0 {
						next = 1024
					}
				}
				left[i]--
				ret, d, err := port.benchmark(frame(ports[i]), 1, nil)
				if err != nil {
					b.Fatal(err)
				}
				if ret != naclXDPPass {
					b.Fatalf("verdict %d", ret)
				}
				total += d
				pkts++
				if f != nil && pkts%16384 == 0 {
					b.StopTimer()
					if _, _, err := f.Drain(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(pkts), "ns/pkt")
		})
	}
}

// BenchmarkFlowsDrain: what a drain costs per flow, the log of each CPU
// holding 30000 flows of two ENIs (written through the memory mapping, as
// if the programs had counted them): short connections' flows, a second's
// worth at 10 000 connections a second, handed to a consumer that reads
// every sample.
func BenchmarkFlowsDrain(b *testing.B) {
	testenv.RequireRoot(b)
	topo := sgBenchTopo(1, false, false)
	topo.Instances = append(topo.Instances, topo.Instances[0])
	topo.Instances[1].ID, topo.Instances[1].ENI.ID = "i-b", "eni-b"
	topo.Instances[1].ENI.PrivateIP = netip.MustParseAddr(ipX)
	spec, err := loadNacl()
	if err != nil {
		b.Fatal(err)
	}
	next := uint32(0)
	f := flowsFor(b, spec, topo, func(string) (uint32, error) { next++; return next, nil })
	const perCPU = 30000
	a, x := words(netip.MustParseAddr(ipA)), words(netip.MustParseAddr(ipX))
	log := make([]flowSlot, perCPU)
	for i := range log {
		k := flowKey{Saddr: a, Daddr: x, Sport: uint16(1024 + i), Dport: 80, Proto: vpc.ProtoTCP, Family: 4, Egress: uint8(i % 2)}
		if i%4 >= 2 {
			k.Saddr, k.Daddr, k.Sport, k.Dport = x, a, 80, k.Sport
		}
		log[i] = flowSlot{Key: k, Val: flowVal{Packets: 3, Bytes: 180, FirstNs: 1e9 + uint64(i), LastNs: 1e9 + uint64(i) + 500, TcpFlags: 3}}
	}
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&log[0])), len(log)*int(unsafe.Sizeof(log[0])))
	fill := func() {
		for c := 0; c < f.ncpu; c++ {
			g := f.gen // the generation the programs fill: the next drain's
			if _, err := f.log.WriteAt(raw, int64(c*2+int(g))*int64(f.logPerCPU)*int64(unsafe.Sizeof(log[0]))); err != nil {
				b.Fatal(err)
			}
			var n [8]byte
			binary.NativeEndian.PutUint64(n[:], perCPU)
			if _, err := f.logn.WriteAt(n[:], int64(c*flowLognStride+int(g))*8); err != nil {
				b.Fatal(err)
			}
		}
	}
	samples := 0
	var cpu time.Duration // the process's CPU time in Drain: wall time moves with other work
	for b.Loop() {
		b.StopTimer()
		fill()
		b.StartTimer()
		var r0, r1 unix.Rusage
		_ = unix.Getrusage(unix.RUSAGE_SELF, &r0)
		var pkts uint64
		_, err := f.DrainTo(func(ss []flowlog.Sample) {
			for i := range ss { // a consumer reads every sample
				pkts += ss[i].Packets
			}
			samples += len(ss)
		})
		_ = unix.Getrusage(unix.RUSAGE_SELF, &r1)
		if err != nil {
			b.Fatal(err)
		}
		if pkts != 3*perCPU*uint64(f.ncpu) {
			b.Fatalf("%d packets drained, want %d", pkts, 3*perCPU*f.ncpu)
		}
		cpu += time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	}
	if samples != b.N*perCPU*f.ncpu {
		b.Fatalf("%d samples, want %d", samples, b.N*perCPU*f.ncpu)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(samples), "ns/flow")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(samples), "cpu-ns/flow")
}
