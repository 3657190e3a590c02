package flowlog

import (
	"io"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkAggregatorAdd adds samples spread over 4096 flows of two ENIs,
// one at a time (Add) and a drain's worth at a time (AddAll, as the lab's
// flow-log pump does).
func BenchmarkAggregatorAdd(b *testing.B) {
	samples := make([]Sample, 4096)
	for i := range samples {
		samples[i] = Sample{ENI: []string{"eni-a", "eni-b"}[i%2], Src: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), Dst: addrA,
			SrcPort: uint16(32768 + i), DstPort: 443, Protocol: 6, Packets: 1, Bytes: 1500, TCPFlags: 0x10,
			First: at(1), Last: at(2)}
	}
	b.Run("one", func(b *testing.B) {
		clk := &fakeClock{now: at(0)}
		a := newAgg(b, clk, 600*time.Second, TrafficAll, eniA, eniB)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			a.Add(samples[i%len(samples)])
		}
	})
	b.Run("all", func(b *testing.B) {
		clk := &fakeClock{now: at(0)}
		a := newAgg(b, clk, 600*time.Second, TrafficAll, eniA, eniB)
		b.ReportAllocs()
		for b.Loop() {
			a.AddAll(samples)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(samples)), "ns/sample")
	})
}

// BenchmarkFormatLine formats default and all-field records into a gzip
// file, reporting records per second.
func BenchmarkFormatLine(b *testing.B) {
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = Record{ENI: eniA, Src: addrX, Dst: addrA, SrcPort: uint16(i), DstPort: 22, Protocol: 6, Packets: 3,
			Bytes: 180, TCPFlags: 0x13, Start: at(1), End: at(2)}
	}
	for _, tc := range []struct{ name, format string }{{"default", ""}, {"all-fields", allField}} {
		f := mustFormat(b, tc.format)
		b.Run(tc.name+"/line", func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			for i := range b.N {
				buf = f.AppendLine(buf[:0], recs[i%len(recs)])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(tc.name+"/gzip-file", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if err := (TextEncoder{}).Encode(io.Discard, f, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
		})
	}
}
