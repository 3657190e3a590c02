package livecheck

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/intent"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// up brings topology file up under a fresh name and tears it down at the end.
func up(t *testing.T, file string) *vpc.Topology {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh name, given before parsing: a lesson's own may be longer than
	// a topology name may be (its runner renames it too).
	name := testenv.Name(t)
	b = regexp.MustCompile(`(?m)^name:.*$`).ReplaceAll(b, []byte("name: "+name))
	tp, err := vpc.Parse(file, b)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	opts := lab.Options{RunRoot: filepath.Join(dir, "run"), DataRoot: filepath.Join(dir, "data")}
	t.Cleanup(func() { _ = lab.Down(tp.Name, true, opts) })
	l, err := lab.Up(context.Background(), tp, file, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return tp
}

// everyPair writes intents between every instance, every internet host and
// the internet: TCP to the receiver's services and to a closed port, UDP,
// ICMP echo, both ways (the intents may hold or not: live checks compare
// packets with the evaluator either way).
func everyPair(tp *vpc.Topology) string {
	var b strings.Builder
	b.WriteString("intents:\n")
	var names []string
	ports := map[string][]string{}
	for i := range tp.Instances {
		in := &tp.Instances[i]
		names = append(names, in.ID)
		for _, s := range in.Services {
			ports[in.ID] = append(ports[in.ID], fmt.Sprint(s.Port))
		}
	}
	hosts := map[string]bool{}
	for i := range tp.Internet {
		h := &tp.Internet[i]
		names = append(names, h.Name)
		hosts[h.Name] = true
		for _, s := range h.Services {
			ports[h.Name] = append(ports[h.Name], fmt.Sprint(s.Port))
		}
	}
	names = append(names, intent.Internet)
	hosts[intent.Internet] = true
	for _, from := range names {
		for _, to := range names {
			if from == to || (hosts[from] && hosts[to]) {
				continue
			}
			p := append([]string{"4444"}, ports[to]...)
			fmt.Fprintf(&b, "  - reach: {from: %s, to: %s, protocol: tcp, ports: [%s], both_ways: true}\n", from, to, strings.Join(p, ", "))
			fmt.Fprintf(&b, "  - reach: {from: %s, to: %s, protocol: udp, ports: 5353, both_ways: true}\n", from, to)
			fmt.Fprintf(&b, "  - reach: {from: %s, to: %s, protocol: icmp, both_ways: true}\n", from, to)
		}
	}
	return b.String()
}

// live checks the intents of text on the running tp with real packets.
func live(t *testing.T, tp *vpc.Topology, text string, limit int) *intent.Live {
	t.Helper()
	f, err := intent.Parse("live.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	c := intent.NewChecker(tp)
	if err := c.Validate(f); err != nil {
		t.Fatal(err)
	}
	rs, err := c.CheckFile(f)
	if err != nil {
		t.Fatal(err)
	}
	flows, _ := c.LiveFlows(rs, limit)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := Send(ctx, tp, vpc.NewPlan(tp), flows, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// --live on the lab and on every lesson's topology: the packets agree with
// the evaluator on every representative flow sent.
func TestLiveAgreesOnTheLabAndEveryLesson(t *testing.T) {
	testenv.RequireRoot(t)
	files, err := filepath.Glob("../lessons/topologies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no lesson topologies: %v", err)
	}
	var names []string
	for _, file := range append([]string{"../vpc/lab.yaml"}, files...) {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			tp := up(t, file)
			l := live(t, tp, everyPair(tp), 16)
			names = append(names, tp.Name)
			for _, d := range l.Disagreements {
				t.Errorf("%s: evaluator %s, packets %s (%s)", d.Flow, d.Evaluator, d.Observed, d.Detail)
			}
			if l.Sent < 10 || l.Agree != l.Sent {
				t.Errorf("sent %d flows, %d agree", l.Sent, l.Agree)
			}
			t.Logf("%s: %d flows sent, %d agree, %.1fs", file, l.Sent, l.Agree, l.Seconds)
		})
	}
	assertNothingLeft(t, names)
}

// assertNothingLeft checks that none of the named topologies left a namespace.
func assertNothingLeft(t *testing.T, names []string) {
	t.Helper()
	all, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range all {
		for _, n := range names {
			if strings.HasPrefix(ns, vpc.NSPrefix(n)) {
				t.Errorf("namespace left behind: %s", ns)
			}
		}
	}
}

// A fault in the datapath (acl-public's inbound rule 100 compiled as deny)
// shows as disagreements: the evaluator lets the web traffic in, the
// packets are dropped; replies into the public subnet are dropped too.
func TestLiveReportsAFaultInTheDatapath(t *testing.T) {
	testenv.RequireRoot(t)
	rules.TestFault = func(acl *vpc.NetworkACL) *vpc.NetworkACL {
		if acl.ID != "acl-public" {
			return acl
		}
		c := *acl
		c.Ingress = append([]vpc.NACLRule(nil), acl.Ingress...)
		for i := range c.Ingress {
			if c.Ingress[i].Number == 100 {
				c.Ingress[i].Allow = false
			}
		}
		return &c
	}
	t.Cleanup(func() { rules.TestFault = nil })
	tp := up(t, "../vpc/lab.yaml")
	rules.TestFault = nil // only the datapath built above is faulty
	l := live(t, tp, `intents:
  - reach: {from: internet, to: i-web, protocol: tcp, ports: [80, 443], both_ways: true}
  - reach: {from: i-web, to: i-db, protocol: tcp, ports: 5432, both_ways: true}
`, 16)
	if len(l.Disagreements) == 0 {
		t.Fatalf("a wrongly compiled NACL rule went unnoticed: %d flows sent, all agree", l.Sent)
	}
	for _, d := range l.Disagreements {
		web := d.Flow.To == "i-web" && d.Observed == "denied"
		db := d.Flow.To == "i-db" && d.Observed == "reply blocked" // the reply enters subnet-public
		if d.Evaluator != "allowed" || !(web || db) {
			t.Errorf("unexpected disagreement: %s: evaluator %s, packets %s", d.Flow, d.Evaluator, d.Observed)
		}
	}
	t.Logf("%d disagreements of %d flows", len(l.Disagreements), l.Sent)
}

func TestProcTableParsing(t *testing.T) {
	table := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 147809445 4 000000004b8cc594 100 0 0 10 0
   1: 0000000000000000FFFF0000507100CB:01BB 0000000000000000FFFF00000A7100CB:8236 03 00000000:00000000 01:00000062 00000001     0        0 0 0 00000000157f3833
`
	mapped := netip.AddrPortFrom(netip.AddrFrom16(netip.MustParseAddr("203.0.113.10").As16()), 33334)
	if !tcpTableHas(table, 443, mapped) {
		t.Errorf("SYN-RECV from %s not found", mapped)
	}
	if tcpTableHas(table, 443, netip.AddrPortFrom(mapped.Addr(), 33333)) || tcpTableHas(table, 80, mapped) {
		t.Errorf("found a connection that is not there")
	}
	v4 := "  sl  local_address rem_address   st\n   0: 1402000A:1538 0A01000A:8000 03 00000000:00000000\n"
	if !tcpTableHas(v4, 5432, netip.MustParseAddrPort("10.0.1.10:32768")) {
		t.Errorf("IPv4 SYN-RECV not found")
	}
}
