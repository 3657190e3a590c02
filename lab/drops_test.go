package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
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

const dropFloodYAML = `account: "123456789012"
region: us-east-1
vpc: {id: vpc-flood, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, network_acl: acl-a}
security_groups:
  - id: sg-ssh
    ingress:
      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/16}
    egress:
      - {protocol: all, cidr: 0.0.0.0/0}
network_acls:
  - id: acl-a
    ingress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, security_groups: [sg-ssh]}
  - {id: i-b, subnet: subnet-a, private_ip: 10.0.1.20, security_groups: [sg-ssh]}
`

// udpFlood sends as many datagrams as it can from namespace ns to dst for
// d (port(i) picks the destination port of the i-th one) and returns how
// many the kernel accepted.
func udpFlood(ns string, dst netip.Addr, d time.Duration, port func(i int) int) (int, error) {
	sent := 0
	err := netns.Do(ns, func() error {
		c, err := net.ListenUDP("udp", nil)
		if err != nil {
			return err
		}
		defer c.Close()
		msg := make([]byte, 18)
		for start := time.Now(); time.Since(start) < d; {
			for range 256 {
				if _, err := c.WriteToUDPAddrPort(msg, netip.AddrPortFrom(dst, uint16(port(sent)))); err == nil {
					sent++
				}
			}
		}
		return nil
	})
	return sent, err
}

// A UDP flood at a port i-b's SG denies is one line per second with the
// exact count (the lines add up to what the sender sent, UNRECORDED ones
// included should the ring buffer overflow); a flood of many flows rotates
// the file, keeping the configured number, by whole lines; and a drop after
// the floods is still recorded.
func TestDropsFloodIsCountedExactlyAndRotated(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, dropFloodYAML)
	const fileSize, kept = 64 << 10, 2
	l := flUp(t, topo, Options{DropsFileSize: fileSize, DropsFilesKept: kept})
	file := l.Paths().Drops()
	ns := flNS(t, l, "i-a")
	src, dst := netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.1.20")
	atB := func(d *Drop) bool { return d.Instance == "i-b" && d.Component == "sg" }

	const floodFor = 2 * time.Second
	sent, err := udpFlood(ns, dst, floodFor, func(int) int { return 9999 })
	if err != nil {
		t.Fatal(err)
	}
	var got, lines, lost uint64
	for deadline := time.Now().Add(15 * time.Second); ; {
		got, lines, lost = 0, 0, 0
		ds, err := NewDropReader(file).Read()
		if err != nil {
			t.Fatal(err)
		}
		for i := range ds {
			d := &ds[i]
			switch {
			case atB(d) && d.Reason == ReasonUnrecorded:
				lost += d.Packets
				got += d.Packets
			case atB(d) && d.Src == src.String() && d.DstPort == 9999 && d.Reason == ReasonSGMismatch:
				lines++
				got += d.Packets
			}
		}
		if got >= uint64(sent) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("flood: %d datagrams sent in %v, %d recorded in %d lines (%d of them UNRECORDED)", sent, floodFor, got, lines, lost)
	if got != uint64(sent) {
		t.Errorf("drops.jsonl counts %d dropped datagrams, the sender sent %d", got, sent)
	}
	// One line per second; a window takes another line when events of its
	// second reach the daemon after it was written (a reader behind).
	if max := uint64(4 * (floodFor/time.Second + 2)); lines > max || lines == 0 {
		t.Errorf("the flood of one flow took %d lines, want about 1 per second (at most %d)", lines, max)
	}

	// Many flows: one line per destination port, far more than the files hold.
	ports, err := udpFlood(ns, dst, time.Second, func(i int) int { return 10000 + i%20000 })
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // as a user would look: after the flood
	err = netns.Do(ns, func() error {
		c, err := net.Dial("udp", "10.0.1.20:7")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write([]byte("after the floods"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	last := waitDrop(t, file, func(d *Drop) bool { return atB(d) && d.DstPort == 7 })
	if last.Packets != 1 || last.Reason != ReasonSGMismatch {
		t.Errorf("drop after the floods = %+v, want one ENI_SG_RULES_MISMATCH packet", last)
	}
	rotated, err := rotatedFiles(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(rotated) != kept {
		t.Errorf("rotated files %v after %d datagrams to distinct ports, want %d", rotated, ports, kept)
	}
	for _, f := range append(rotated, file) {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > fileSize {
			t.Errorf("%s holds %d bytes, more than the %d limit", f, fi.Size(), fileSize)
		}
		if _, _, err := ReadDrops(f, 0); err != nil { // every line whole
			t.Errorf("%s: %v", f, err)
		}
	}
	var unrecorded uint64
	ds, err := NewDropReader(file).Read()
	for i := range ds {
		if ds[i].Reason == ReasonUnrecorded {
			unrecorded += ds[i].Packets
		}
	}
	t.Logf("%d datagrams to distinct ports (%d lines kept, %d UNRECORDED), then one more drop, recorded", ports, len(ds), unrecorded)
}

// DropReader reads every line exactly once, in order, while the writer
// rotates between its reads (up to as many rotations as files are kept),
// and a new reader starts with the oldest kept file.
func TestDropReaderFollowsRotation(t *testing.T) {
	name := t.TempDir() + "/drops.jsonl"
	r := NewDropReader(name)
	defer r.Close()
	if _, err := r.Read(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read before the file exists: %v, want ErrNotExist", err)
	}
	const keep = 3
	line, _ := json.Marshal(Drop{Component: "sg", Reason: ReasonSGMismatch, Packets: 10})
	w, err := openDropsFile(name, int64(2*(len(line)+1)), keep) // two lines a file
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	var want, got []uint64
	n := uint64(0)
	for round, lines := range []int{0, 1, 2, 3, 5, 6, 1, 0, 6, 2} { // 6 lines: 3 rotations
		for range lines {
			n++
			b, _ := json.Marshal(Drop{Component: "sg", Reason: ReasonSGMismatch, Packets: n})
			if err := w.writeLine(append(b, '\n')); err != nil {
				t.Fatal(err)
			}
			want = append(want, n)
		}
		if err := w.flush(); err != nil {
			t.Fatal(err)
		}
		ds, err := r.Read()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("round %d: %v", round, err)
		}
		for _, d := range ds {
			got = append(got, d.Packets)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
	rotated, _ := rotatedFiles(name)
	if len(rotated) != keep {
		t.Errorf("rotated files %v, want %d", rotated, keep)
	}
	ds, err := NewDropReader(name).Read()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 || ds[len(ds)-1].Packets != n || len(ds) > 2*(keep+1) {
		t.Errorf("a new reader read %d lines ending with %+v, want the last %d files' lines ending with %d", len(ds), ds[len(ds)-1], keep+1, n)
	}
}
