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
