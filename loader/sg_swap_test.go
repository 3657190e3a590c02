package loader

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/vpc"
)

// TestSGUpdateWaitsForPacketsInFlight: a packet judged while the rules
// change twice in quick succession must be judged by one generation
// throughout. The packet here is slow for a real reason: it meets the
// ENI's conntrack allowance, so the program sweeps a large conntrack table
// before it creates the flow's entry with the timeout of the ENI's
// configuration. Meanwhile update B goes live and update C rewrites the
// generation the packet started with (B and C drop the packet, so a packet
// admitted was judged by A). Update C may only reuse A's generation once no
// packet can still be reading it: when it returns, the packet is done, and
// its entry carries A's timeout, not C's.
func TestSGUpdateWaitsForPacketsInFlight(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs: the packet runs on one while the updates run on the other")
	}
	topo := func(udp time.Duration, allow bool) *vpc.Topology {
		a := instA("sg-a")
		a.Conntrack = vpc.Conntrack{MaxEntries: 1, UDP: udp, UDPStream: 180 * time.Second, TCPEstablished: time.Hour}
		sg := vpc.SecurityGroup{ID: "sg-a"}
		if allow {
			sg.Egress = []vpc.SGRule{udpRule("53", "198.51.100.0/24")}
		}
		return sgTopo("sginflight", []vpc.SecurityGroup{sg}, a)
	}
	ta, tb, tc := topo(30*time.Second, true), topo(40*time.Second, false), topo(50*time.Second, false)
	for attempt := 0; attempt < 5; attempt++ {
		if sgInFlight(t, ta, tb, tc) {
			return
		}
		t.Logf("attempt %d: the packet started after update B; again", attempt)
	}
	t.Fatal("the packet never started before the updates")
}

// sgInFlight runs one attempt of TestSGUpdateWaitsForPacketsInFlight;
// false when the packet did not start before the updates.
func sgInFlight(t *testing.T, ta, tb, tc *vpc.Topology) bool {
	// 2^20 conntrack slots take the sweep milliseconds.
	h := newSGHarnessSlots(t, ta, 1<<20)
	defer h.sg.Close()
	if got := h.run("a", true, udpPkt(ipA+":40000", ipX+":53")); got != sgPass {
		t.Fatalf("first flow: %s", sgVerdictName(got))
	}
	h.advance(31 * time.Second) // its entry expired: the next flow sweeps
	frame := sgFrame(t, h.macs["a"], true, udpPkt(ipA+":40001", ipX+":53"))
	started := make(chan struct{})
	res := make(chan uint32, 1)
	go func() {
		close(started)
		ret, err := h.sg.objs.SgIngress.Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Error(err)
		}
		res <- ret
	}()
	<-started
	if err := h.sg.Update(tb); err != nil {
		t.Fatal(err)
	}
	if err := h.sg.Update(tc); err != nil {
		t.Fatal(err)
	}
	// The program's last step records the new entry's deadline as the
	// ENI's next expiry (the sweep left none).
	idx, err := h.sg.ENIIndex("a")
	if err != nil {
		t.Fatal(err)
	}
	var st sgSgStats
	if err := h.sg.objs.SgStats.Lookup(idx, &st); err != nil {
		t.Fatal(err)
	}
	if got := <-res; got != sgPass {
		return false
	}
	if want := uint64(h.now + 30*time.Second); st.NextExpiry != want {
		t.Fatalf("update C returned while a packet judged by A was still in flight (ENI's next expiry %d, the packet's entry would make it %d): it rewrote the generation the packet was reading", st.NextExpiry, want)
	}
	e := sgFindFlow(t, h, 40001)
	if e == nil || e.ExpiresIn != 30*time.Second {
		t.Fatalf("the flow A's rules admitted is tracked as %+v: want 30s to live, A's timeout (B 40s, C 50s)", e)
	}
	return true
}

// sgFindFlow returns instance a's tracked flow from source port port, nil
// if there is none; it reads ct_fast without sweeping.
func sgFindFlow(t *testing.T, h *sgHarness, port uint16) *CTEntry {
	t.Helper()
	var i uint32
	var slot sgCtSlot
	it := h.sg.objs.CtFast.Iterate()
	for it.Next(&i, &slot) {
		if slot.Used == uint64(sgCtSlotStateCT_SLOT_LIVE) && (slot.K.Pa == port || slot.K.Pb == port) {
			v := slot.V
			return &CTEntry{ExpiresIn: time.Duration(v.TimeoutS)*time.Second - (h.now - time.Duration(v.LastNs))}
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestSGSwapsUnderTraffic swaps the rules back and forth while packets run:
// every packet gets A's verdict (admitted) or B's (dropped, its SG has no
// inbound rule), never another outcome, and every drop is reported once.
func TestSGSwapsUnderTraffic(t *testing.T) {
	topo := func(allow bool) *vpc.Topology {
		sg := vpc.SecurityGroup{ID: "sg-b", Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}
		if allow {
			sg.Ingress = []vpc.SGRule{tcpRule("22", "198.51.100.0/24")}
		}
		return sgTopo("sgswap", []vpc.SecurityGroup{sg}, instB("sg-b"))
	}
	ta, tb := topo(true), topo(false)
	h := newSGHarness(t, ta)
	var stop atomic.Bool
	var pass, drop, other atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// New flows only (a new source port each), so rules decide each.
		for port := 1024; !stop.Load(); port++ {
			frame := sgFrame(t, h.macs["b"], false, tcpPkt(fmt.Sprintf("%s:%d", ipX, 1024+port%60000), ipB+":22", fSYN))
			ret, err := h.sg.objs.SgEgress.Run(&ebpf.RunOptions{Data: frame})
			switch {
			case err != nil:
				other.Add(1)
			case ret == sgPass:
				pass.Add(1)
			case ret == sgDrop:
				drop.Add(1)
			default:
				other.Add(1)
			}
		}
	}()
	for i := 0; i < 60; i++ {
		next := ta
		if i%2 == 0 {
			next = tb
		}
		if err := h.sg.Update(next); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	evs := h.events()
	codes := map[string]int{}
	for _, e := range evs {
		codes[SGDropCodeName(e.Code)]++
	}
	lost, err := h.sg.EventsLost()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d admitted, %d dropped during 60 swaps; drop reasons %v, %d events lost to a full ring", pass.Load(), drop.Load(), codes, lost)
	if other.Load() != 0 || uint64(codes["SG_HAS_NO_RULES"])+lost != drop.Load() || len(codes) > 1 || pass.Load() == 0 || drop.Load() == 0 {
		t.Errorf("admitted %d, dropped %d (reasons %v, %d events lost), errors or other verdicts %d: want admitted or dropped as SG_HAS_NO_RULES only", pass.Load(), drop.Load(), codes, lost, other.Load())
	}
}

// TestSGBackToBackSwapsUnderTraffic: hundreds of updates back to back,
// each rewriting the generation the one before retired, cycling through
// three rule sets so that a generation's content changes at each reuse,
// while packets run on both CPUs. Every packet must get the verdict of one
// rule set, read whole:
//   - instance b receives new TCP flows, fast: admitted (A) or dropped as
//     SG_HAS_NO_RULES (B, C); a generation rewritten under a packet shows as
//     ENI_SG_RULES_MISMATCH (A's ENI, its rules half cleared) or UNKNOWN_ENI;
//   - instance a sends new UDP flows, slow (at its allowance of one entry,
//     each sweeps a large conntrack table first): admitted by A only, and
//     then its entry must carry A's UDP timeout (30 s), not B's or C's (40,
//     50 s) read through a configuration rewritten during the sweep.
//
// Afterwards no run is counted in flight on either generation.
func TestSGBackToBackSwapsUnderTraffic(t *testing.T) {
	topo := func(udp time.Duration, allow bool) *vpc.Topology {
		a := instA("sg-a")
		a.Conntrack = vpc.Conntrack{MaxEntries: 1, UDP: udp, UDPStream: 180 * time.Second, TCPEstablished: time.Hour}
		sga := vpc.SecurityGroup{ID: "sg-a"}
		sgb := vpc.SecurityGroup{ID: "sg-b", Egress: []vpc.SGRule{allRule("0.0.0.0/0")}}
		if allow {
			sga.Egress = []vpc.SGRule{udpRule("53", "198.51.100.0/24")}
			sgb.Ingress = []vpc.SGRule{tcpRule("22", "198.51.100.0/24")}
		}
		return sgTopo("sgb2b", []vpc.SecurityGroup{sga, sgb}, a, instB("sg-b"))
	}
	cycle := []*vpc.Topology{topo(40*time.Second, false), topo(50*time.Second, false), topo(30*time.Second, true)}
	h := newSGHarnessSlots(t, cycle[2], 1<<18)
	idxA, err := h.sg.ENIIndex("a")
	if err != nil {
		t.Fatal(err)
	}
	// a's first entry: from now on each new flow of a sweeps first.
	if got := h.run("a", true, udpPkt(ipA+":1023", ipX+":53")); got != sgPass {
		t.Fatalf("a's first flow: %s", sgVerdictName(got))
	}
	var stop atomic.Bool
	var pass, drop, other, slowPass, slowDrop atomic.Uint64
	var wrong atomic.Int64 // a's entry's timeout when not A's
	var wg sync.WaitGroup
	wg.Go(func() {
		for port := 0; !stop.Load(); port++ {
			src := fmt.Sprintf("%s:%d", ipX, 1024+port%60000)
			frame := sgFrame(t, h.macs["b"], false, tcpPkt(src, ipB+":22", fSYN))
			ret, err := h.sg.objs.SgEgress.Run(&ebpf.RunOptions{Data: frame})
			switch {
			case err != nil:
				other.Add(1)
			case ret == sgPass:
				pass.Add(1)
			case ret == sgDrop:
				drop.Add(1)
			default:
				other.Add(1)
			}
		}
	})
	wg.Go(func() {
		// Each packet a minute later: the previous entry has expired,
		// so the packet sweeps, then takes its timeout from the ENI's
		// configuration.
		now := h.now
		for port := 0; !stop.Load(); port++ {
			now += time.Minute
			if err := h.sg.objs.NowOverride.Set(uint64(now)); err != nil {
				other.Add(1)
				return
			}
			frame := sgFrame(t, h.macs["a"], true, udpPkt(fmt.Sprintf("%s:%d", ipA, 1024+port%60000), ipX+":53"))
			ret, err := h.sg.objs.SgIngress.Run(&ebpf.RunOptions{Data: frame})
			switch {
			case err != nil:
				other.Add(1)
			case ret == sgPass:
				slowPass.Add(1)
				var st sgSgStats
				if err := h.sg.objs.SgStats.Lookup(idxA, &st); err != nil {
					other.Add(1)
				} else if d := time.Duration(st.NextExpiry) - now; d != 30*time.Second {
					wrong.Store(int64(d))
				}
			case ret == sgDrop:
				slowDrop.Add(1)
			default:
				other.Add(1)
			}
		}
	})
	swaps := 0
	for ; swaps < 300 || (slowPass.Load() < 10 && swaps < 100000); swaps++ {
		if err := h.sg.Update(cycle[swaps%3]); err != nil {
			stop.Store(true)
			wg.Wait()
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	codes := map[string]int{}
	for _, e := range h.events() {
		codes[SGDropCodeName(e.Code)]++
	}
	lost, err := h.sg.EventsLost()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d swaps (%d drains fell back to a grace period); b: %d admitted, %d dropped; a: %d admitted, %d dropped; drop reasons %v, %d events lost",
		swaps, h.sg.fallbacks, pass.Load(), drop.Load(), slowPass.Load(), slowDrop.Load(), codes, lost)
	drops := drop.Load() + slowDrop.Load()
	if other.Load() != 0 || uint64(codes["SG_HAS_NO_RULES"])+lost != drops || len(codes) > 1 || pass.Load() == 0 || drop.Load() == 0 {
		t.Errorf("admitted %d, dropped %d (reasons %v, %d events lost), errors or other verdicts %d: want A's verdict (admitted) or B's and C's (SG_HAS_NO_RULES) only", pass.Load()+slowPass.Load(), drops, codes, lost, other.Load())
	}
	if d := time.Duration(wrong.Load()); d != 0 {
		t.Errorf("a flow A admitted is tracked with %v to live, want A's 30s (B 40s, C 50s): its generation was rewritten while the packet read it", d)
	}
	if n := sgInflightSums(t, h.sg); n != [2]uint64{} {
		t.Errorf("runs counted in flight after the traffic stopped: %v per generation, want none", n)
	}
}

// sgInflightSums reads sg_inflight summed over CPUs, per generation.
func sgInflightSums(t *testing.T, s *SG) [2]uint64 {
	t.Helper()
	var per []sgSgInflight
	if err := s.objs.SgInflight.Lookup(uint32(0), &per); err != nil {
		t.Fatal(err)
	}
	var sum [2]uint64
	for _, c := range per {
		sum[0] += c.N[0]
		sum[1] += c.N[1]
	}
	return sum
}

// TestSGDrainFallsBackToGracePeriod: a reader count that never returns to
// 0 (as a counting bug would leave it) makes updates wait for a grace
// period instead, and they still succeed and take effect; with the counts
// at 0 an update reuses the retired generation without any wait.
func TestSGDrainFallsBackToGracePeriod(t *testing.T) {
	topo := func(allow bool) *vpc.Topology {
		sg := vpc.SecurityGroup{ID: "sg-b"}
		if allow {
			sg.Ingress = []vpc.SGRule{tcpRule("22", "198.51.100.0/24")}
		}
		return sgTopo("sgstuck", []vpc.SecurityGroup{sg}, instB("sg-b"))
	}
	ta, tb := topo(true), topo(false)
	h := newSGHarness(t, ta)
	syn := func(port int) uint32 {
		return h.run("b", false, tcpPkt(fmt.Sprintf("%s:%d", ipX, port), ipB+":22", fSYN))
	}
	for i, next := range []*vpc.Topology{tb, ta, tb} {
		if err := h.sg.Update(next); err != nil {
			t.Fatal(err)
		}
		if h.sg.retired || h.sg.fallbacks != 0 {
			t.Fatalf("update %d with no packet in flight: retired generation left to drain %v, fallbacks %d", i, h.sg.retired, h.sg.fallbacks)
		}
	}
	// A stuck reader on both generations, on the last CPU.
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		t.Fatal(err)
	}
	per := make([]sgSgInflight, ncpu)
	per[len(per)-1].N = [2]uint64{1, 1}
	if err := h.sg.objs.SgInflight.Put(uint32(0), per); err != nil {
		t.Fatal(err)
	}
	h.sg.drainTimeout = time.Millisecond
	if err := h.sg.Update(ta); err != nil { // the flip sees the reader of tb's generation
		t.Fatal(err)
	}
	if !h.sg.retired {
		t.Fatal("the flip did not count the stuck reader of the retired generation")
	}
	if err := h.sg.Update(tb); err != nil { // drains it: falls back
		t.Fatal(err)
	}
	if h.sg.fallbacks != 1 {
		t.Errorf("drains that fell back to a grace period: %d, want 1", h.sg.fallbacks)
	}
	if got := syn(40000); got != sgDrop {
		t.Errorf("after the update to B: %s, want dropped", sgVerdictName(got))
	}
	if err := h.sg.Update(ta); err != nil {
		t.Fatal(err)
	}
	if got := syn(40001); got != sgPass {
		t.Errorf("after the update to A: %s, want admitted", sgVerdictName(got))
	}
}
