package loader

import (
	"testing"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// TestNACLCountersSurviveAFailedRead: when the counters of a retired table
// generation cannot be read at the swap, its hits are not lost: they are
// read later, and Counters reports them exactly.
func TestNACLCountersSurviveAFailedRead(t *testing.T) {
	n := mustLoadNACL(t)
	rule := func(num int) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoUDP, Ports: vpc.PortRange{From: 53, To: 53}, CIDR: naclPrefix("0.0.0.0/0"), Allow: true}
	}
	a := &vpc.NetworkACL{ID: "acl-ctr", Ingress: []vpc.NACLRule{rule(10)}}
	if err := n.SetNACL(a); err != nil {
		t.Fatal(err)
	}
	prog := naclProg(t, n, a.ID, false)
	frame := naclPkt{src: "203.0.113.5", dst: "10.0.1.10", proto: "udp", dport: 53}.frame(t)
	for range 5 {
		if got := naclRun(t, prog, frame); got != naclXDPPass {
			t.Fatalf("%s, want rule 10's allow", naclVerdictName(got))
		}
	}
	n.inject = func() error { return errInjected }
	b := &vpc.NetworkACL{ID: a.ID, Ingress: []vpc.NACLRule{rule(20)}}
	if err := n.SetNACL(b); err != nil {
		t.Fatalf("swap with unreadable counters: %v", err)
	}
	naclRun(t, prog, frame)
	if _, err := n.Counters(); err == nil {
		t.Error("Counters succeeded although the counters could not be read")
	}
	n.inject = nil
	if got := naclHits(t, n, a.ID, false, 10); got != 5 {
		t.Errorf("rule 10 (retired while its counters were unreadable): %d hits, want 5", got)
	}
	if got := naclHits(t, n, a.ID, false, 20); got != 1 {
		t.Errorf("rule 20: %d hits, want 1", got)
	}
	// Once read, the retired generation's slots are free again and its
	// counts stay in the totals.
	c := &vpc.NetworkACL{ID: a.ID, Ingress: []vpc.NACLRule{rule(30)}}
	if err := n.SetNACL(c); err != nil {
		t.Fatal(err)
	}
	if got := naclHits(t, n, a.ID, false, 10); got != 5 {
		t.Errorf("rule 10 after another swap: %d hits, want 5", got)
	}
	if free := len(n.sets); free != n.lim.sets-2 {
		t.Errorf("%d free table sets, want %d (one live set, set 0 unused): retired sets not freed", free, n.lim.sets-2)
	}
}

// TestNACLRuleCountedOnceWithoutItsInfo: a packet whose rule's info cannot
// be found is denied as "no table" and counted there only, not also as a
// hit of the rule. The table header is corrupted on purpose: its rule slots
// point past the end of nacl_rinfo (shrunk for the test) but not of
// nacl_ctr.
func TestNACLRuleCountedOnceWithoutItsInfo(t *testing.T) {
	testenv.RequireRoot(t)
	const rinfoSize = 1024
	n, err := LoadNACL(NACLOptions{Topology: naclTestTopo, edit: func(s *ebpf.CollectionSpec) {
		s.Maps["nacl_rinfo"].MaxEntries = rinfoSize
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	a := &vpc.NetworkACL{ID: "acl-info", Ingress: []vpc.NACLRule{{Number: 10, Protocol: vpc.ProtoUDP, Ports: vpc.PortRange{From: 53, To: 53}, CIDR: naclPrefix("0.0.0.0/0")}}}
	if err := n.SetNACL(a); err != nil {
		t.Fatal(err)
	}
	prog := naclProg(t, n, a.ID, false)
	tid := naclTableID(n.acls[a.ID].set, false, false)
	var hdr naclNaclTable
	if err := n.maps.NaclTables.Lookup(tid, &hdr); err != nil {
		t.Fatal(err)
	}
	hdr.RinfoBase = rinfoSize + 100
	if err := n.maps.NaclTables.Put(tid, &hdr); err != nil {
		t.Fatal(err)
	}
	frame := naclPkt{src: "203.0.113.5", dst: "10.0.1.10", proto: "udp", dport: 53}.frame(t)
	if got := naclRun(t, prog, frame); got != naclXDPDrop {
		t.Fatalf("%s, want a drop", naclVerdictName(got))
	}
	st, err := n.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var per []naclNaclCtr
	if err := n.maps.NaclCtr.Lookup(hdr.RinfoBase, &per); err != nil {
		t.Fatal(err)
	}
	var hits uint64
	for _, c := range per {
		hits += c.Packets
	}
	if st.NoTable != 1 || hits != 0 {
		t.Errorf("no-table packets %d, hits of the rule's counter %d: want the packet counted once, as no table", st.NoTable, hits)
	}
}

// TestNACLBackToBackUpdatesOutlastThePool: updates back to back, more than
// the datapath has table sets, each followed by a packet. Retired sets are
// freed after a grace period, normally in the background; when the pool
// runs dry an update waits for one instead of failing. Each packet meets the rules just
// made live, and the counts of every retired generation add up exactly.
func TestNACLBackToBackUpdatesOutlastThePool(t *testing.T) {
	n := mustLoadNACL(t)
	rule := func(num int, allow bool) vpc.NACLRule {
		return vpc.NACLRule{Number: num, Protocol: vpc.ProtoUDP, Ports: vpc.PortRange{From: 53, To: 53}, CIDR: naclPrefix("0.0.0.0/0"), Allow: allow}
	}
	acls := []*vpc.NetworkACL{
		{ID: "acl-b2b", Ingress: []vpc.NACLRule{rule(10, true)}},
		{ID: "acl-b2b", Ingress: []vpc.NACLRule{rule(20, false)}},
	}
	if err := n.SetNACL(acls[0]); err != nil {
		t.Fatal(err)
	}
	prog := naclProg(t, n, "acl-b2b", false)
	frame := naclPkt{src: "203.0.113.5", dst: "10.0.1.10", proto: "udp", dport: 53}.frame(t)
	// Background grace periods held off (as if each took long): the
	// pool runs dry, and updates must wait for one themselves.
	n.mu.Lock()
	n.graceRunning = true
	n.mu.Unlock()
	updates := 2*n.lim.sets + 10
	for i := range updates {
		if err := n.SetNACL(acls[(i+1)%2]); err != nil {
			t.Fatalf("update %d of %d back to back (%d table sets): %v", i+1, updates, n.lim.sets-1, err)
		}
		want := uint32(naclXDPPass)
		if i%2 == 0 {
			want = naclXDPDrop
		}
		if got := naclRun(t, prog, frame); got != want {
			t.Fatalf("after update %d: %s, want %s", i+1, naclVerdictName(got), naclVerdictName(want))
		}
	}
	// update i made rule 20 live for even i, rule 10 for odd i.
	if got, want := naclHits(t, n, "acl-b2b", false, 20), uint64((updates+1)/2); got != want {
		t.Errorf("rule 20 (deny): %d hits, want %d", got, want)
	}
	if got, want := naclHits(t, n, "acl-b2b", false, 10), uint64(updates/2); got != want {
		t.Errorf("rule 10 (allow): %d hits, want %d", got, want)
	}
}
