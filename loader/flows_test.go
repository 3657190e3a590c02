package loader

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// TestFlowsSumCPUs: a flow's per-CPU shares merge into one sample's counts;
// CPUs that counted nothing (first_ns 0) take no part in first/last.
func TestFlowsSumCPUs(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []flowVal
		want flowVal
		ok   bool
	}{
		{"none", []flowVal{{}, {}}, flowVal{}, false},
		{"one CPU", []flowVal{{}, {Packets: 3, Bytes: 180, FirstNs: 50, LastNs: 70, TcpFlags: 2}},
			flowVal{Packets: 3, Bytes: 180, FirstNs: 50, LastNs: 70, TcpFlags: 2}, true},
		{"two CPUs", []flowVal{
			{Packets: 1, Bytes: 60, FirstNs: 90, LastNs: 90, TcpFlags: 1},
			{Packets: 4, Bytes: 400, FirstNs: 40, LastNs: 80, TcpFlags: 18},
			{}},
			flowVal{Packets: 5, Bytes: 460, FirstNs: 40, LastNs: 90, TcpFlags: 19}, true},
	} {
		got, ok := sumCPUs(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: sumCPUs = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// The same-subnet test of the SG (flow_same_subnet) compares the masked
// destination words with the subnet's words: both laid out as the datapath
// keeps addresses.
func TestFlowsSubnetMask(t *testing.T) {
	for _, c := range []struct {
		prefix string
		in     []string
		out    []string
	}{
		{"10.0.1.0/24", []string{"10.0.1.1", "10.0.1.255"}, []string{"10.0.2.1", "11.0.1.1"}},
		{"10.0.3.16/28", []string{"10.0.3.17"}, []string{"10.0.3.32", "10.0.3.15"}},
		{"2001:db8:1::/64", []string{"2001:db8:1::10", "2001:db8:1:0:ffff::1"}, []string{"2001:db8:1:1::10", "2001:db8:2::10"}},
	} {
		p := netip.MustParsePrefix(c.prefix)
		net, mask := words(p.Masked().Addr()), prefixMask(p)
		same := func(a string) bool {
			w := words(netip.MustParseAddr(a))
			for i := range w {
				if w[i]&mask[i] != net[i] {
					return false
				}
			}
			return true
		}
		for _, a := range c.in {
			if !same(a) {
				t.Errorf("%s not in %s by mask", a, c.prefix)
			}
		}
		for _, a := range c.out {
			if same(a) {
				t.Errorf("%s in %s by mask", a, c.prefix)
			}
		}
	}
}

// TestFlowsTableCap: the default 131072-flow tables fit the budget on small
// machines; on many CPUs they shrink instead of taking gigabytes.
func TestFlowsTableCap(t *testing.T) {
	if c := flowTableCap(2); c < 1<<17 {
		t.Errorf("2 CPUs: cap %d, want >= 131072", c)
	}
	for _, n := range []int{64, 512} {
		c := flowTableCap(n)
		per := uint64(n)*uint64(binary.Size(flowVal{})) + uint64(binary.Size(flowKey{}))
		if bytes := 2 * uint64(c) * per; bytes > FlowTablesBudget || c < 1024 {
			t.Errorf("%d CPUs: cap %d flows, %d bytes for both tables (budget %d)", n, c, bytes, FlowTablesBudget)
		}
	}
}

// flowHashOf is flow_hash of bpf/flow.h, for tests that pick flows sharing
// an index set (TestFlowsDrainExact checks it against the datapath).
func flowHashOf(k *flowKey) uint32 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(k)), unsafe.Sizeof(*k))
	m := [5]uint64{0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0xd6e8feb86659fd93, 0xff51afd7ed558ccd}
	var h uint64
	for i, c := range m {
		h += binary.NativeEndian.Uint64(b[8*i:]) * c
	}
	return uint32(h >> 32)
}

// TestFlowsDrainExact counts flows through every structure of bpf/flow.h
// and checks that the drained packets and bytes of every flow are exactly
// what was sent, over three generations (0 and 2 reuse what 0 left): more
// flows than the index has ways (so refs are replaced and a flow's later
// packets start another log entry), three flows in one set within one tick
// (the third goes to the hash table), and, after a pause, packets of half
// the old flows again. BPF_PROG_RUN through the NACL's router-side end, the
// test's thread pinned to one CPU so that the index it fills is one CPU's.
func TestFlowsDrainExact(t *testing.T) {
	testenv.RequireRoot(t)
	topo := sgBenchTopo(1, false, false)
	spec, err := loadNacl()
	if err != nil {
		t.Fatal(err)
	}
	f := flowsFor(t, spec, topo, func(string) (uint32, error) { return 1, nil })
	n, err := LoadNACL(NACLOptions{Topology: naclTestTopo, Flows: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	acl := &vpc.NetworkACL{ID: "acl-open", Egress: []vpc.NACLRule{{Number: 100, Protocol: vpc.ProtoAll,
		Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0"), Allow: true}}}
	if err := n.SetNACL(acl); err != nil {
		t.Fatal(err)
	}
	prog := naclProg(t, n, acl.ID, true)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpus unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cpus); err != nil {
		t.Fatal(err)
	}
	cpu := 0
	for !cpus.IsSet(cpu) {
		cpu++
	}
	var one unix.CPUSet
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &cpus)
	var size uint64
	key := func(port int) flowKey {
		return flowKey{Saddr: words(netip.MustParseAddr(ipA)), Daddr: words(netip.MustParseAddr(ipX)),
			Sport: uint16(port), Dport: 53, Proto: vpc.ProtoUDP, Family: 4, Egress: 1}
	}
	shift := 32 - bits.TrailingZeros(uint(f.idxSets)) // the set is the hash's top bits
	set := func(port int) uint32 {
		k := key(port)
		return flowHashOf(&k) >> shift
	}
	send := func(port, packets int, want map[int]uint64) {
		pk := rules.Packet{Src: netip.MustParseAddr(ipA), Dst: netip.MustParseAddr(ipX), Protocol: vpc.ProtoUDP,
			SrcPort: port, DstPort: 53}
		frame := (&naclWire{p: pk}).bytes()
		size = uint64(len(frame) - 14)
		for range packets {
			if naclRun(t, prog, frame) != naclXDPPass {
				t.Fatal("open NACL dropped a packet")
			}
			want[port]++
		}
	}
	flows := 3 * f.idxSets / 2
	for gen := 0; gen < 3; gen++ { // 0 and 2 reuse what 0 left
		want := map[int]uint64{}
		for i := 0; i < flows; i++ {
			send(1024+i, 1+i%3, want)
		}
		if gen == 0 {
			// The index holds the last flow where flow_hash says.
			k := key(1024 + flows - 1)
			h := flowHashOf(&k)
			var s flowSet
			if err := f.maps["flow_idx"].Lookup(uint32(cpu*2*f.idxSets)+h>>shift, &s); err != nil {
				t.Fatal(err)
			}
			if (s.W[0].Tag != h || s.W[0].Pos == 0) && (s.W[1].Tag != h || s.W[1].Pos == 0) {
				t.Fatalf("the index set of hash %#x holds %+v: flowHashOf is not flow_hash", h, s)
			}
		}
		// Three new flows of one set in one tick: the third goes to the
		// hash table (retried if a tick passed between them).
		hashed := 0
		for try, p := 0, 40000; hashed == 0 && try < 20; try++ {
			var same []int
			for ; len(same) < 3; p++ {
				if len(same) == 0 || set(p) == set(same[0]) {
					same = append(same, p)
				}
			}
			for _, q := range same {
				send(q, 1, want)
			}
			var k flowKey
			var v []flowVal
			for it := f.maps[fmt.Sprintf("flow_tab%d", gen%2)].Iterate(); it.Next(&k, &v); {
				hashed++
			}
		}
		time.Sleep(10 * time.Millisecond) // a few ticks: every ref is idle
		for i := 0; i < flows; i++ {
			send(20000+i, 1, want)
			if i%2 == 0 {
				send(1024+i, 1, want)
			}
		}
		var logged uint64
		for c := range f.ncpu {
			var n uint64
			if err := f.maps["flow_logn"].Lookup(uint32(c*flowLognStride+gen%2), &n); err != nil {
				t.Fatal(err)
			}
			logged += n
		}
		if logged == 0 || hashed == 0 {
			t.Fatalf("generation %d: %d flows in the log, %d in the hash table: want both used", gen, logged, hashed)
		}
		samples, skipped, err := f.Drain()
		if err != nil {
			t.Fatal(err)
		}
		if len(skipped) != 0 {
			t.Fatalf("generation %d: skipped %v", gen, skipped)
		}
		got := map[int]uint64{}
		if len(samples) <= len(want) {
			t.Fatalf("generation %d: %d samples of %d flows: want some flows in parts (a ref replaced)", gen, len(samples), len(want))
		}
		for _, s := range samples {
			if s.ENI != topo.Instances[0].ENI.ID || !s.Egress || s.Reject || s.Bytes != s.Packets*size {
				t.Fatalf("generation %d: sample %+v", gen, s)
			}
			got[int(s.SrcPort)] += s.Packets
		}
		if len(got) != len(want) {
			t.Fatalf("generation %d: %d flows drained, want %d", gen, len(got), len(want))
		}
		for p, w := range want {
			if got[p] != w {
				t.Fatalf("generation %d: flow from port %d: %d packets, want %d", gen, p, got[p], w)
			}
		}
	}
}

// TestFlowsFullSkips: with a 1024-flow log per CPU and a 1024-flow table,
// 3000 one-packet flows on one CPU in one generation are counted up to what
// both hold and the rest is charged to the ENI as skipped, exactly: a full
// table is never silent (SKIPDATA), and nothing is counted twice.
func TestFlowsFullSkips(t *testing.T) {
	testenv.RequireRoot(t)
	topo := sgBenchTopo(1, false, false)
	spec, err := loadNacl()
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFlows(spec, 1024)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.SetENIs(topo, vpc.NewPlan(topo), func(string) (uint32, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	n, err := LoadNACL(NACLOptions{Topology: naclTestTopo, Flows: f})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	acl := &vpc.NetworkACL{ID: "acl-open", Egress: []vpc.NACLRule{{Number: 100, Protocol: vpc.ProtoAll,
		Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix("0.0.0.0/0"), Allow: true}}}
	if err := n.SetNACL(acl); err != nil {
		t.Fatal(err)
	}
	prog := naclProg(t, n, acl.ID, true)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var cpus, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &cpus); err != nil {
		t.Fatal(err)
	}
	for c := 0; ; c++ {
		if cpus.IsSet(c) {
			one.Set(c)
			break
		}
	}
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		t.Fatal(err)
	}
	defer unix.SchedSetaffinity(0, &cpus)
	const flows = 3000
	for i := 0; i < flows; i++ {
		pk := rules.Packet{Src: netip.MustParseAddr(ipA), Dst: netip.MustParseAddr(ipX), Protocol: vpc.ProtoUDP,
			SrcPort: 1024 + i, DstPort: 53}
		if naclRun(t, prog, (&naclWire{p: pk}).bytes()) != naclXDPPass {
			t.Fatal("open NACL dropped a packet")
		}
	}
	samples, skipped, err := f.Drain()
	if err != nil {
		t.Fatal(err)
	}
	var counted uint64
	for _, s := range samples {
		counted += s.Packets
	}
	eni := topo.Instances[0].ENI.ID
	if counted != 2*1024 || skipped[eni] != flows-2*1024 || len(skipped) != 1 {
		t.Fatalf("%d packets counted, skipped %v: want %d counted (log and table full) and %s: %d", counted, skipped, 2*1024, eni, flows-2*1024)
	}
	// The next drain reports only what was skipped since.
	if _, skipped, err = f.Drain(); err != nil || len(skipped) != 0 {
		t.Fatalf("second drain: skipped %v (%v), want none", skipped, err)
	}
}
