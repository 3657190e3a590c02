package lab

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// waitDrop polls drops.jsonl (the daemon writes it asynchronously) until a
// drop satisfies match; it fails the test with what it saw otherwise.
func waitDrop(t *testing.T, file string, match func(*Drop) bool) *Drop {
	t.Helper()
	var seen []Drop
	for deadline := time.Now().Add(10 * time.Second); ; {
		ds, _, err := ReadDrops(file, 0)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for i := range ds {
			if match(&ds[i]) {
				return &ds[i]
			}
		}
		seen = ds
		if time.Now().After(deadline) {
			t.Fatalf("no matching drop in %s; have %+v", file, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The stranger's SSH to i-web is dropped by sg-web and the drop says so;
// once acl-public denies the stranger first, the drop names the NACL rule.
// Both stay in drops.jsonl after Close.
func TestDropsNameTheirReason(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Lab(t)
	opts := testOptions(t)
	t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
	l, err := Up(context.Background(), topo, "", nil, opts)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			l.Close()
		}
	})
	var web *vpc.Instance
	for i := range topo.Instances {
		if topo.Instances[i].ID == "i-web" {
			web = &topo.Instances[i]
		}
	}
	if web == nil {
		t.Fatal("lab has no i-web")
	}
	stranger := flNS(t, l, "stranger")
	file := l.Paths().Drops()
	fromStranger := func(d *Drop) bool {
		return d.Src == "192.0.2.66" && d.DstPort == 22 && d.Direction == "inbound"
	}

	if err := flSSH(l, stranger, "203.0.113.10", 2); err == nil {
		t.Fatal("the stranger logged in to i-web although sg-web admits SSH from the laptop only")
	}
	d := waitDrop(t, file, func(d *Drop) bool { return fromStranger(d) && d.Component == "sg" })
	if d.Reason != ReasonSGMismatch || d.ENI != web.ENI.ID || d.Instance != "i-web" || !slices.Equal(d.SecurityGroups, []string{"sg-web"}) ||
		d.Protocol != vpc.ProtoTCP || d.Dst != web.PrivateIP.String() || d.TCPFlags&2 == 0 || d.Packets == 0 {
		t.Errorf("SG drop = %+v, want ENI_SG_RULES_MISMATCH of a SYN to %s:22 at %s (i-web, sg-web)", d, web.PrivateIP, web.ENI.ID)
	}
	if age := time.Since(d.Time); age < -time.Minute || age > time.Hour {
		t.Errorf("drop time %v is not wall-clock time (now %v)", d.Time, time.Now())
	}

	nt, err := vpc.Parse("drops.yaml", topo.YAML())
	if err != nil {
		t.Fatal(err)
	}
	for i := range nt.NetworkACLs {
		if acl := &nt.NetworkACLs[i]; acl.ID == "acl-public" {
			deny := vpc.NACLRule{Number: 20, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 22, To: 22}, ICMPType: -1, ICMPCode: -1,
				CIDR: netip.MustParsePrefix("192.0.2.66/32")}
			acl.Ingress = append([]vpc.NACLRule{deny}, acl.Ingress...)
		}
	}
	if err := l.Apply("drops.yaml", nt.YAML()); err != nil {
		t.Fatalf("apply the NACL deny rule: %v", err)
	}
	if err := flSSH(l, stranger, "203.0.113.10", 2); err == nil {
		t.Fatal("the stranger logged in to i-web through a NACL that denies it")
	}
	d = waitDrop(t, file, func(d *Drop) bool { return fromStranger(d) && d.Component == "nacl" })
	want := Drop{Component: "nacl", Reason: ReasonACL, ACL: "acl-public", RuleNumber: 20, Rule: "deny tcp 22 192.0.2.66/32", ENI: web.ENI.ID, Instance: "i-web"}
	if d.Reason != want.Reason || d.ACL != want.ACL || d.RuleNumber != want.RuleNumber || d.Rule != want.Rule || d.ENI != want.ENI || d.Instance != want.Instance {
		t.Errorf("NACL drop = %+v, want %+v", d, want)
	}
	if got, wantText := d.Explain(), "denied by acl-public rule 20 (deny tcp 22 192.0.2.66/32)"; got != wantText {
		t.Errorf("Explain() = %q, want %q", got, wantText)
	}

	closed = true
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	ds, _, err := ReadDrops(file, 0)
	if err != nil {
		t.Fatalf("drops.jsonl after close: %v", err)
	}
	var n int
	for i := range ds {
		if fromStranger(&ds[i]) {
			n++
		}
	}
	if n < 2 {
		t.Errorf("drops.jsonl after close has %d of the stranger's drops, want both kinds: %s", n, fmt.Sprint(ds))
	}
}

// A line the daemon is still writing is left for the next read; the
// offset resumes exactly after the last complete line.
func TestReadDropsResumesAfterCompleteLines(t *testing.T) {
	file := t.TempDir() + "/drops.jsonl"
	full := `{"component":"sg","reason":"ENI_SG_RULES_MISMATCH","packets":1}` + "\n"
	if err := os.WriteFile(file, []byte(full+`{"component":"na`), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, off, err := ReadDrops(file, 0)
	if err != nil || len(ds) != 1 || off != int64(len(full)) || ds[0].Reason != ReasonSGMismatch {
		t.Fatalf("ReadDrops = %+v, %d, %v; want the one complete drop and offset %d", ds, off, err, len(full))
	}
	rest := `cl","reason":"SUBNET_ACL_RESTRICTION","acl_id":"acl-x","rule_number":32767,"rule":"deny all"}` + "\n"
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(rest)
	f.Close()
	ds, _, err = ReadDrops(file, off)
	if err != nil || len(ds) != 1 || ds[0].Component != "nacl" {
		t.Fatalf("ReadDrops from %d = %+v, %v; want the completed NACL drop only", off, ds, err)
	}
	if got, want := ds[0].Explain(), "denied by acl-x rule * (deny all)"; got != want {
		t.Errorf("Explain() = %q, want %q", got, want)
	}
}

// Rule texts come from the topology as applied: by direction and family.
func TestNACLRuleText(t *testing.T) {
	topo := &vpc.Topology{NetworkACLs: []vpc.NetworkACL{{ID: "acl-x",
		Ingress: []vpc.NACLRule{
			{Number: 20, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 32768, To: 65535}, CIDR: netip.MustParsePrefix("0.0.0.0/0")},
			{Number: 30, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, CIDR: netip.MustParsePrefix("::/0"), Allow: true},
		},
		Egress: []vpc.NACLRule{
			{Number: 20, Protocol: vpc.ProtoICMP, ICMPType: 8, ICMPCode: -1, CIDR: netip.MustParsePrefix("10.0.0.0/8"), Allow: true},
		},
	}}}
	for _, c := range []struct {
		inbound bool
		number  int
		want    string
	}{
		{true, 20, "deny tcp 32768-65535 0.0.0.0/0"},
		{true, 30, "allow all ::/0"},
		{false, 20, "allow icmp type 8 code -1 10.0.0.0/8"},
		{false, 30, ""},
		{true, 32768, "deny all"},
	} {
		if got := naclRuleText(topo, "acl-x", c.inbound, c.number); got != c.want {
			t.Errorf("naclRuleText(inbound=%v, %d) = %q, want %q", c.inbound, c.number, got, c.want)
		}
	}
}
