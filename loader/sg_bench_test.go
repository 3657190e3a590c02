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

// Per-packet cost of the SG programs, measured by the kernel around
// BPF_PROG_RUN (ns/pkt = its per-run average; the syscall is not included).
// Instance a (10.0.1.10) sends TCP to 198.51.100.7:60000 (sg_ingress,
// outbound rules). Rule sets of n rules, split into SGs of at most 60:
//   - spread: every rule has its own /32 peer; the matching rule is the last;
//   - samepeer: every rule has the peer 198.51.100.0/24 and its own single
//     port below 60000, so the one LPM node holds n entries and the packet
//     matches the last of them: the worst case of the entry scan.
// Untracked variants add a /0 rule for port 60000 (scanned first) and an
// all-open inbound /0 rule.
// Run: go test ./loader -run '^$' -bench BenchmarkSG

func sgBenchTopo(n int, samePeer, untracked bool) *vpc.Topology {
	var rs []vpc.SGRule
	for i := 0; i < n-1; i++ {
		if samePeer {
			rs = append(rs, tcpRule(fmt.Sprint(1000+2*i), "198.51.100.0/24"))
		} else {
			rs = append(rs, tcpRule("60000", fmt.Sprintf("203.0.%d.%d/32", 113+i/250, i%250)))
		}
	}
	last := "198.51.100.7/32"
	if samePeer {
		last = "198.51.100.0/24"
	}
	if untracked {
		last = "0.0.0.0/0"
	}
	rs = append(rs, tcpRule("60000", last))
	var sgs []vpc.SecurityGroup
	var ids []string
	for i := 0; i < len(rs); i += 60 {
		id := fmt.Sprintf("sg-%d", i/60)
		sgs = append(sgs, vpc.SecurityGroup{ID: id, Egress: rs[i:min(i+60, len(rs))]})
		ids = append(ids, id)
	}
	if untracked {
		sgs[0].Ingress = []vpc.SGRule{allRule("0.0.0.0/0")}
	}
	return sgTopo("sgbench", sgs, instA(ids...))
}

func benchRun(b *testing.B, prog *ebpf.Program, data []byte, repeat int, want uint32) {
	b.Helper()
	var total time.Duration
	runs := 0
	for b.Loop() {
		ret, d, err := prog.Benchmark(data, repeat, nil)
		if err != nil {
			b.Fatal(err)
		}
		if ret != want {
			b.Fatalf("verdict %s, want %s", sgVerdictName(ret), sgVerdictName(want))
		}
		total += d
		runs++
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(runs), "ns/pkt")
}

var benchSizes = []int{1, 60, 300}

func BenchmarkSGParseOnly(b *testing.B) {
	h := newSGHarness(b, sgBenchTopo(1, false, false))
	data := sgFrame(b, h.macs["a"], true, tcpPkt(ipA+":40000", ipX+":60000", fACK))
	benchRun(b, sgParseOnly(b, h.sg), data, 1000, sgPass)
}

// BenchmarkSGEstablished: a packet of a tracked flow (conntrack hit).
func BenchmarkSGEstablished(b *testing.B) {
	for _, layout := range []string{"spread", "samepeer"} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/rules=%d", layout, n), func(b *testing.B) {
				h := newSGHarness(b, sgBenchTopo(n, layout == "samepeer", false))
				syn := tcpPkt(ipA+":40000", ipX+":60000", fSYN)
				if h.run("a", true, syn) != sgPass {
					b.Fatal("SYN refused")
				}
				if h.run("a", false, reply(withFlags(syn, fSYN|fACK))) != sgPass {
					b.Fatal("SYN-ACK refused")
				}
				data := sgFrame(b, h.macs["a"], true, withFlags(syn, fACK))
				benchRun(b, h.sg.objs.SgIngress, data, 1000, sgPass)
			})
		}
	}
}

// BenchmarkSGNewUntracked: a packet of an untracked flow (/0 rule out,
// all-open /0 in): the rules decide every packet and no entry is made.
func BenchmarkSGNewUntracked(b *testing.B) {
	for _, layout := range []string{"spread", "samepeer"} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/rules=%d", layout, n), func(b *testing.B) {
				h := newSGHarness(b, sgBenchTopo(n, layout == "samepeer", true))
				data := sgFrame(b, h.macs["a"], true, tcpPkt(ipA+":40000", ipX+":60000", fSYN))
				benchRun(b, h.sg.objs.SgIngress, data, 1000, sgPass)
			})
		}
	}
}

// BenchmarkSGNewTracked: the first packet of a new tracked flow (rules, then
// a conntrack insert). Every run needs a fresh flow, so each runs once
// (kernel-timed) with a new source port; ParseOnly/repeat=1 is the baseline
// of the same method.
func BenchmarkSGNewTracked(b *testing.B) {
	b.Run("parseonly/repeat=1", func(b *testing.B) {
		h := newSGHarness(b, sgBenchTopo(1, false, false))
		data := sgFrame(b, h.macs["a"], true, tcpPkt(ipA+":40000", ipX+":60000", fSYN))
		benchRun(b, sgParseOnly(b, h.sg), data, 1, sgPass)
	})
	for _, layout := range []string{"spread", "samepeer"} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/rules=%d", layout, n), func(b *testing.B) {
				h := newSGHarness(b, sgBenchTopo(n, layout == "samepeer", false))
				// Rounds of 4096 flows keep ct_fast (65536 slots) sparse, as
				// a table sized for the allowances is; between rounds the
				// clock jumps an hour and a sweep empties the table.
				var frames [][]byte
				for i := range 4096 {
					p := rules.Packet{Src: netip.MustParseAddr(ipA), Dst: netip.MustParseAddr(ipX), Protocol: vpc.ProtoTCP,
						SrcPort: 1024 + i, DstPort: 60000, TCPFlags: fSYN}
					frames = append(frames, sgFrame(b, h.macs["a"], true, p))
				}
				var total time.Duration
				runs, all := 0, 0
				for b.Loop() {
					if runs == len(frames) {
						// a fresh table for the next round of flows
						b.StopTimer()
						h.advance(time.Hour)
						if err := h.sg.sweep(); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						runs = 0
					}
					ret, d, err := h.sg.objs.SgIngress.Benchmark(frames[runs], 1, nil)
					if err != nil || ret != sgPass {
						b.Fatalf("run: %s %v", sgVerdictName(ret), err)
					}
					total += d
					runs++
					all++
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(max(all, 1)), "ns/pkt")
			})
		}
	}
}

// sgParseOnly loads the benchmark baseline sg_parse_only (not loaded by
// LoadSG) with the maps of s.
func sgParseOnly(tb testing.TB, s *SG) *ebpf.Program {
	tb.Helper()
	cs, err := loadPrograms(s.spec, s.set, sgProgSgParseOnly)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cs[0].Close() })
	return cs[0].Programs[sgProgSgParseOnly]
}
