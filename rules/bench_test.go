package rules

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Throughput of the evaluator: the differential tests feed it millions of
// packets, so it must decide well over a million packets per second per core.

func benchPackets(n int) []Packet {
	r := rand.New(rand.NewPCG(3, 4))
	out := make([]Packet, n)
	for i := range out {
		p := Packet{
			Src:      netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(256))}),
			Dst:      netip.AddrFrom4([4]byte{10, 0, 1, 10}),
			Protocol: []int{6, 6, 6, 17, 1}[r.IntN(5)],
			SrcPort:  32768 + r.IntN(28000),
			DstPort:  []int{22, 80, 443, 5432, 8080, 3389, 40000}[r.IntN(7)],
			TCPFlags: TCPSyn,
			Length:   60,
		}
		if p.Protocol == 1 {
			p.SrcPort, p.DstPort, p.ICMPType = 0, 0, 8
		}
		out[i] = p
	}
	return out
}

// bench40 is a 40-rule inbound NACL whose decisive rules sit at the end.
func bench40() *vpc.NetworkACL {
	acl := &vpc.NetworkACL{ID: "bench"}
	for i := range 39 {
		acl.Ingress = append(acl.Ingress, nr(10+i, vpc.ProtoTCP, 1000+i, 1000+i, fmt.Sprintf("192.0.2.%d/32", i), false))
	}
	acl.Ingress = append(acl.Ingress, nr(1000, vpc.ProtoAll, 0, 0, "198.51.100.0/25", true))
	return acl
}

func BenchmarkEvalNACL40(b *testing.B) {
	acl := bench40()
	pkts := benchPackets(1024)
	b.ReportAllocs()
	allowed := 0
	i := 0
	for b.Loop() {
		if EvalNACL(acl, false, pkts[i&1023]).Allow {
			allowed++
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	_ = allowed
}

// bench5x60 is T1 with instance A in 5 SGs of 60 inbound rules each
// (TCP ports from various /24s, some group references and one /0 rule).
func bench5x60() *vpc.Topology { return bench5x60Width(0) }

// bench5x60Width makes every CIDR rule a port range of width+1 ports.
func bench5x60Width(width int) *vpc.Topology {
	top := t1()
	var ids []string
	for s := range 5 {
		id := fmt.Sprintf("sg-bench-%d", s)
		sg := vpc.SecurityGroup{ID: id, Egress: []vpc.SGRule{outAll()}}
		for i := range 60 {
			var r vpc.SGRule
			switch {
			case s == 4 && i == 59:
				r = sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0")
			case i%20 == 19:
				r = sgrGroup(vpc.ProtoTCP, 5432, 5432, "sgB")
			default:
				r = sgr(vpc.ProtoTCP, 2000+s*60+i, 2000+s*60+i+width, fmt.Sprintf("203.0.%d.0/24", i))
			}
			sg.Ingress = append(sg.Ingress, r)
		}
		top.SecurityGroups = append(top.SecurityGroups, sg)
		ids = append(ids, id)
	}
	instOf(top, "A").SecurityGroups = ids
	return top
}

func BenchmarkSGMatch5x60(b *testing.B) {
	e := NewSGEvaluator(bench5x60())
	pkts := benchPackets(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Match("A", false, pkts[i&1023])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkSGMatch5x60Ranges is the worst case: no rule is a single port,
// so every TCP rule is checked.
func BenchmarkSGMatch5x60Ranges(b *testing.B) {
	e := NewSGEvaluator(bench5x60Width(10))
	pkts := benchPackets(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Match("A", false, pkts[i&1023])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

func BenchmarkConntrackProcess(b *testing.B) {
	top := bench5x60()
	sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
	c := NewConntrack(top, NewSGEvaluator(top))
	pkts := benchPackets(1024)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Process(time.Duration(i)*time.Microsecond, "A", false, pkts[i&1023])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
}

// The hot paths allocate nothing: EvalNACL never, Match when at most one
// rule matches (the matching rule's reference is shared).
func TestHotPathsDoNotAllocate(t *testing.T) {
	acl := bench40()
	e := NewSGEvaluator(bench5x60())
	pkts := benchPackets(64)
	https := tcp("198.51.100.1", 40000, "10.0.1.10", 443, TCPSyn)
	i := 0
	if n := testing.AllocsPerRun(200, func() { EvalNACL(acl, false, pkts[i&63]); i++ }); n != 0 {
		t.Errorf("EvalNACL allocates %.1f per call", n)
	}
	if n := testing.AllocsPerRun(200, func() { e.Match("A", false, pkts[i&63]); i++ }); n != 0 {
		t.Errorf("Match allocates %.1f per call", n)
	}
	if m := e.Match("A", false, https); !m.Allowed || !m.Untracked {
		t.Errorf("https from anywhere: %+v", m)
	}
}
