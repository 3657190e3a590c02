package flowlog

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func newAgg(t testing.TB, clk *fakeClock, iv time.Duration, tt TrafficType, enis ...ENIInfo) *Aggregator {
	t.Helper()
	a, err := NewAggregator(Config{Interval: iv, TrafficType: tt, ENIs: enis, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func lines(f Format, recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, f.Line(r))
	}
	return out
}

func diffLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("records:\n got:\n  %s\n want:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// at is t0 plus s seconds.
func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

// TV-32: a monitored ENI without traffic for a window gets a NODATA record
// whose start/end are the window bounds.
func TestNoData(t *testing.T) {
	clk := &fakeClock{now: at(5)}
	a := newAgg(t, clk, 60*time.Second, "", eniC, eniA)
	a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, SrcPort: 5000, DstPort: 80, Protocol: 6, Packets: 1, Bytes: 60,
		TCPFlags: 0x02, First: at(10), Last: at(10)})
	if recs := a.Flush(at(59)); len(recs) != 0 {
		t.Fatalf("flush before the window ended: %v", lines(DefaultFormat(), recs))
	}
	diffLines(t, lines(DefaultFormat(), a.Flush(at(60))), []string{
		"2 123456789012 eni-a 203.0.113.12 10.0.1.10 5000 80 6 1 60 1714990510 1714990510 ACCEPT OK",
		"2 123456789012 eni-c - - - - - - - 1714990500 1714990560 - NODATA",
	})
	// Two quiet windows later: one NODATA per ENI per window, in window order.
	diffLines(t, lines(DefaultFormat(), a.Flush(at(185))), []string{
		"2 123456789012 eni-a - - - - - - - 1714990560 1714990620 - NODATA",
		"2 123456789012 eni-c - - - - - - - 1714990560 1714990620 - NODATA",
		"2 123456789012 eni-a - - - - - - - 1714990620 1714990680 - NODATA",
		"2 123456789012 eni-c - - - - - - - 1714990620 1714990680 - NODATA",
	})
	if recs := a.Flush(at(185)); len(recs) != 0 {
		t.Errorf("second flush of the same time returned %d records", len(recs))
	}
}

// FL-4: a record per (ENI, 5-tuple, action, window); ACCEPTed and REJECTed
// packets of one 5-tuple are separate records; counters sum, flags OR, and
// start/end are the first and last packet.
func TestAggregationKey(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA, eniB)
	req := Sample{ENI: "eni-b", Src: addrA, Dst: addrB, SrcPort: 40000, DstPort: 22, Protocol: 6}
	add := func(s Sample, sec int, pkts, bytes uint64, flags uint8, reject bool) {
		s.First, s.Last, s.Packets, s.Bytes, s.TCPFlags, s.Reject = at(sec), at(sec), pkts, bytes, flags, reject
		a.Add(s)
	}
	add(req, 3, 1, 60, 0x02, false)  // SYN
	add(req, 4, 2, 104, 0x10, false) // ACKs
	add(req, 9, 1, 52, 0x11, false)  // FIN+ACK
	add(req, 7, 1, 60, 0x02, true)   // the same 5-tuple rejected
	resp := Sample{ENI: "eni-b", Egress: true, Src: addrB, Dst: addrA, SrcPort: 22, DstPort: 40000, Protocol: 6}
	add(resp, 3, 1, 60, 0x12, false) // SYN-ACK
	add(resp, 8, 1, 52, 0x11, false) // FIN+ACK
	out := mustFormat(t, "${interface-id} ${flow-direction} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${packets} ${bytes} ${tcp-flags} ${start} ${end} ${action} ${traffic-path}")
	diffLines(t, lines(out, a.Flush(at(60))), []string{
		"eni-b ingress 10.0.1.10 10.0.2.20 40000 22 4 216 3 1714990503 1714990509 ACCEPT -",
		"eni-b egress 10.0.2.20 10.0.1.10 22 40000 2 112 19 1714990503 1714990508 ACCEPT 1",
		"eni-b ingress 10.0.1.10 10.0.2.20 40000 22 1 60 2 1714990507 1714990507 REJECT -",
		"eni-a - - - - - - - - 1714990500 1714990560 - -",
	})
}

// FL-5 [INTERP]: windows are fixed multiples of the interval; a sample
// belongs to the window of its last packet, and start is clamped into it.
func TestWindowBoundaries(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 10*time.Second, TrafficAll, eniA)
	s := Sample{ENI: "eni-a", Src: addrX, Dst: addrA, SrcPort: 1, DstPort: 53, Protocol: 17, Packets: 1, Bytes: 40}
	for _, sec := range []int{0, 9, 10, 19, 20} {
		s.First, s.Last = at(sec), at(sec)
		a.Add(s)
	}
	s.First, s.Last = at(25), at(31) // straddles 30
	a.Add(s)
	f := mustFormat(t, "${packets} ${start} ${end} ${log-status}")
	diffLines(t, lines(f, a.Flush(at(40))), []string{
		"2 1714990500 1714990509 OK",
		"2 1714990510 1714990519 OK",
		"1 1714990520 1714990520 OK",
		"1 1714990530 1714990531 OK",
	})
	if _, err := NewAggregator(Config{Interval: 601 * time.Second}); err == nil {
		t.Error("interval 601s accepted")
	}
	if _, err := NewAggregator(Config{Interval: 1500 * time.Millisecond}); err == nil {
		t.Error("interval 1.5s accepted")
	}
	if _, err := NewAggregator(Config{TrafficType: "accept-ish"}); err == nil {
		t.Error("bad traffic type accepted")
	}
	if a, err := NewAggregator(Config{}); err != nil || a.Interval() != time.Minute {
		t.Errorf("zero interval: %v, %v; want 1m", a.Interval(), err)
	}
}

// FL-19: the traffic type keeps records by action; filtered traffic is
// still traffic, so it does not turn into NODATA.
func TestTrafficTypeFilter(t *testing.T) {
	for _, tt := range []struct {
		typ  TrafficType
		want []string
	}{
		{TrafficAll, []string{"eni-a 22 ACCEPT OK", "eni-a 23 REJECT OK", "eni-b - - NODATA"}},
		{TrafficAccept, []string{"eni-a 22 ACCEPT OK", "eni-b - - NODATA"}},
		{TrafficReject, []string{"eni-a 23 REJECT OK", "eni-b - - NODATA"}},
	} {
		clk := &fakeClock{now: at(0)}
		a := newAgg(t, clk, 60*time.Second, tt.typ, eniA, eniB)
		a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, DstPort: 22, Protocol: 6, Packets: 1, First: at(1), Last: at(1)})
		a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, DstPort: 23, Protocol: 6, Packets: 1, First: at(1), Last: at(1), Reject: true})
		got := lines(mustFormat(t, "${interface-id} ${dstport} ${action} ${log-status}"), a.Flush(at(60)))
		t.Run(string(tt.typ), func(t *testing.T) { diffLines(t, got, tt.want) })
	}
}

// FL-8: srcaddr/dstaddr on the ENI's side show its primary private IPv4,
// the real addresses go to pkt-srcaddr/pkt-dstaddr.
func TestAddressing(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA)
	secondary := netip.MustParseAddr("10.0.1.11")
	other := netip.MustParseAddr("10.0.9.9")
	v6 := netip.MustParseAddr("2001:db8::a")
	for _, s := range []Sample{
		{ENI: "eni-a", Src: addrX, Dst: secondary, DstPort: 1, Protocol: 17, Packets: 1},                       // to a secondary IP
		{ENI: "eni-a", Src: addrX, Dst: other, DstPort: 2, Protocol: 17, Packets: 1},                           // to an address not the ENI's
		{ENI: "eni-a", Egress: true, Src: secondary, Dst: addrX, DstPort: 3, Protocol: 17, Packets: 1},         // from a secondary IP: kept
		{ENI: "eni-a", Egress: true, Src: other, Dst: addrX, DstPort: 4, Protocol: 17, Packets: 1},             // from a foreign source
		{ENI: "eni-a", Src: netip.MustParseAddr("2001:db8::1"), Dst: v6, DstPort: 5, Protocol: 17, Packets: 1}, // IPv6 stays
		{ENI: "eni-a", Src: addrX, Dst: addrA, DstPort: 6, Protocol: 17, Packets: 1,
			PktSrc: netip.MustParseAddr("198.51.100.7")}, // caller-provided real source
	} {
		s.First, s.Last = at(1), at(1)
		a.Add(s)
	}
	f := mustFormat(t, "${dstport} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr} ${type}")
	recs := a.Flush(at(60))
	slices.SortFunc(recs, func(x, y Record) int { return int(x.DstPort) - int(y.DstPort) })
	diffLines(t, lines(f, recs), []string{
		"1 203.0.113.12 10.0.1.10 203.0.113.12 10.0.1.11 IPv4",
		"2 203.0.113.12 10.0.1.10 203.0.113.12 10.0.9.9 IPv4",
		"3 10.0.1.11 203.0.113.12 10.0.1.11 203.0.113.12 IPv4",
		"4 10.0.1.10 203.0.113.12 10.0.9.9 203.0.113.12 IPv4",
		"5 2001:db8::1 2001:db8::a 2001:db8::1 2001:db8::a IPv6",
		"6 203.0.113.12 10.0.1.10 198.51.100.7 10.0.1.10 IPv4",
	})
}

// FL-17: lost samples give a SKIPDATA record after the ENI's records of
// that window, and no NODATA.
func TestSkipData(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA, eniB, eniC)
	a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, DstPort: 22, Protocol: 6, Packets: 1, First: at(2), Last: at(2)})
	a.MarkSkipped("eni-a", at(30), 100)
	a.MarkSkipped("eni-b", at(30), 7)
	a.MarkSkipped("eni-z", at(30), 7) // not monitored by this flow log
	diffLines(t, lines(DefaultFormat(), a.Flush(at(60))), []string{
		"2 123456789012 eni-a 203.0.113.12 10.0.1.10 0 22 6 1 0 1714990502 1714990502 ACCEPT OK",
		"2 123456789012 eni-a - - - - - - - 1714990500 1714990560 - SKIPDATA",
		"2 123456789012 eni-b - - - - - - - 1714990500 1714990560 - SKIPDATA",
		"2 123456789012 eni-c - - - - - - - 1714990500 1714990560 - NODATA",
	})
	if a.Lost() != 107 {
		t.Errorf("Lost() = %d, want 107", a.Lost())
	}
}

// Late data (for a window already flushed) goes to the earliest open
// window; FlushAll closes the current window at shutdown.
func TestLateDataAndFlushAll(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA)
	a.Flush(at(120))
	a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, DstPort: 22, Protocol: 6, Packets: 1, First: at(30), Last: at(50)})
	clk.now = at(130)
	a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, DstPort: 23, Protocol: 6, Packets: 1})
	f := mustFormat(t, "${dstport} ${start} ${end} ${log-status}")
	diffLines(t, lines(f, a.FlushAll()), []string{
		"22 1714990620 1714990620 OK",
		"23 1714990630 1714990630 OK",
	})
	if recs := a.FlushAll(); len(recs) != 0 {
		t.Errorf("second FlushAll returned %v", lines(f, recs))
	}
}

// FL-1: an ENI added later is monitored from the window it appeared in;
// a removed one stops getting NODATA.
func TestAddRemoveENI(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA)
	clk.now = at(70)
	a.AddENI(eniB)
	a.RemoveENI("eni-a")
	diffLines(t, lines(mustFormat(t, "${interface-id} ${start} ${log-status}"), a.Flush(at(120))), []string{
		"eni-b 1714990560 NODATA",
	})
	a.Add(Sample{ENI: "eni-a", Src: addrX, Dst: addrA, Packets: 1, First: at(130), Last: at(130)})
	diffLines(t, lines(mustFormat(t, "${interface-id} ${start} ${log-status}"), a.Flush(at(180))), []string{
		"eni-b 1714990620 NODATA",
	})
}

// FL-44: the same samples, in any order, give the same bytes.
func TestDeterministicOutput(t *testing.T) {
	var samples []Sample
	for i := range 200 {
		s := Sample{ENI: []string{"eni-a", "eni-b"}[i%2], Src: addrX, Dst: addrA, SrcPort: uint16(1000 + i%37),
			DstPort: uint16(i % 5), Protocol: []uint8{6, 17}[i%3%2], Packets: 1, Bytes: uint64(40 + i),
			TCPFlags: uint8(i), Reject: i%7 == 0, Egress: i%11 == 0, First: at(i % 120), Last: at(i%120 + i%3)}
		samples = append(samples, s)
	}
	run := func(order []Sample) []byte {
		clk := &fakeClock{now: at(0)}
		a := newAgg(t, clk, 60*time.Second, TrafficAll, eniA, eniB, eniC)
		for _, s := range order {
			a.Add(s)
		}
		var buf bytes.Buffer
		if err := (TextEncoder{}).Encode(&buf, mustFormat(t, allField), a.Flush(at(300))); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := run(samples)
	rev := slices.Clone(samples)
	slices.Reverse(rev)
	for i := range 3 {
		if got := run(rev); !bytes.Equal(got, first) {
			t.Fatalf("run %d: output differs for the same samples", i)
		}
	}
}

// Every packet added concurrently with flushes comes out in exactly one
// record, late ones included (the accounting invariant).
func TestConcurrentAddFlushConservesPackets(t *testing.T) {
	clk := &fakeClock{now: at(0)}
	a := newAgg(t, clk, 10*time.Second, TrafficAll, eniA, eniB)
	const workers, perWorker = 4, 2000
	done := make(chan []Record)
	go func() {
		var recs []Record
		for s := 0; s <= 300; s += 7 {
			recs = append(recs, a.Flush(at(s))...)
		}
		done <- recs
	}()
	finished := make(chan struct{})
	for w := range workers {
		go func() {
			for i := range perWorker {
				sec := (i * 7919 * (w + 1)) % 300
				a.Add(Sample{ENI: []string{"eni-a", "eni-b"}[i%2], Src: addrX, Dst: addrA, SrcPort: uint16(i % 13),
					DstPort: 80, Protocol: 6, Packets: 1, Bytes: 100, Reject: i%5 == 0, First: at(sec), Last: at(sec)})
			}
			finished <- struct{}{}
		}()
	}
	for range workers {
		<-finished
	}
	recs := <-done
	clk.now = at(1000)
	recs = append(recs, a.FlushAll()...)
	var pkts, bytes uint64
	for _, r := range recs {
		if r.Status == StatusOK {
			pkts += r.Packets
			bytes += r.Bytes
		}
	}
	if pkts != workers*perWorker || bytes != 100*workers*perWorker {
		t.Errorf("records hold %d packets / %d bytes, want %d / %d", pkts, bytes, workers*perWorker, 100*workers*perWorker)
	}
}
