package loader

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/vpc"
)

// sgFill tracks n distinct outbound UDP flows of instance a of h (its SG
// admits UDP 53 to 198.51.100.0/24) through BPF_PROG_RUN, one frame each:
// the frame of the first flow with another source port and destination.
func sgFill(tb testing.TB, h *sgHarness, n int) {
	tb.Helper()
	frame := sgFrame(tb, h.macs["a"], true, udpPkt(ipA+":1024", "198.51.100.0:53"))
	const dstOff, sportOff = 14 + 16, 14 + 20 // IPv4 destination, UDP source port
	o := &ebpf.RunOptions{Data: frame}
	for i := range n {
		frame[dstOff+3] = byte(i / 64000)
		binary.BigEndian.PutUint16(frame[sportOff:], uint16(1024+i%64000))
		v, err := h.sg.objs.SgIngress.Run(o)
		if err != nil {
			tb.Fatal(err)
		}
		if v != sgPass {
			tb.Fatalf("flow %d: %s", i, sgVerdictName(v))
		}
	}
}

// BenchmarkSGMillionConnections: one ENI tracks 1,000,000 connections (its
// allowance), filled through BPF_PROG_RUN; the next new flow meets the
// allowance and every tracked one still passes. Reports the time per new
// connection and the conntrack memory (ct_fast and ct_table, as the kernel
// charges it) per tracked connection.
func BenchmarkSGMillionConnections(b *testing.B) {
	const n = 1_000_000
	a := instA("sg-a")
	a.Conntrack = vpc.Conntrack{MaxEntries: n, UDP: time.Hour, UDPStream: time.Hour, TCPEstablished: time.Hour}
	topo := sgTopo("sgmillion", []vpc.SecurityGroup{{ID: "sg-a", Egress: []vpc.SGRule{udpRule("53", "198.51.100.0/24")}}}, a)
	for b.Loop() {
		h := newSGHarness(b, topo)
		start := time.Now()
		sgFill(b, h, n)
		per := time.Since(start) / n
		tracked, avail, _, err := h.sg.Stats("a")
		if err != nil {
			b.Fatal(err)
		}
		if tracked != n || avail != 0 {
			b.Fatalf("%d tracked, %d available, want %d and 0", tracked, avail, n)
		}
		if v := h.run("a", true, udpPkt(ipA+":1", "198.51.100.200:53")); v != sgDrop {
			b.Fatalf("flow %d: %s, want a drop at the allowance", n+1, sgVerdictName(v))
		}
		if v := h.run("a", false, udpPkt("198.51.100.3:53", fmt.Sprintf("%s:%d", ipA, 1024+7))); v != sgPass {
			b.Fatalf("reply of a tracked flow: %s", sgVerdictName(v))
		}
		var mem uint64
		for _, m := range []*ebpf.Map{h.sg.objs.CtFast, h.sg.objs.CtTable} {
			info, err := m.Info()
			if err != nil {
				b.Fatal(err)
			}
			ml, ok := info.Memlock()
			if !ok {
				b.Skip("kernel reports no map memory")
			}
			mem += ml
		}
		b.ReportMetric(float64(per.Nanoseconds()), "ns/conn")
		b.ReportMetric(float64(mem)/n, "B/conn")
		b.ReportMetric(float64(mem)/(1<<20), "MiB")
		h.sg.Close()
	}
}
