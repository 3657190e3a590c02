package lessons

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// The root-free tests check the lessons as data: files, topologies, the
// changes every step makes, and the renderers.

func TestExamplesMatchEmbedded(t *testing.T) {
	files, err := filepath.Glob("../examples/lessons/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := Topologies.ReadDir("topologies")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(embedded) {
		t.Errorf("examples/lessons has %d YAML files, lessons/topologies %d: copy lessons/topologies/*.yaml to examples/lessons/", len(files), len(embedded))
	}
	for _, f := range files {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Topologies.ReadFile("topologies/" + filepath.Base(f))
		if err != nil {
			t.Errorf("%s has no embedded counterpart in lessons/topologies", f)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from lessons/topologies/%s: copy it over (cp lessons/topologies/*.yaml examples/lessons/)", f, filepath.Base(f))
		}
	}
	for _, l := range All() {
		if _, err := os.Stat("../examples/lessons/" + l.Name + ".yaml"); err != nil {
			t.Errorf("lesson %s: %v", l.Name, err)
		}
	}
}

var reTopoName = regexp.MustCompile(`^[a-z0-9-]{1,16}$`)

// TestLessonsAreConsistent parses every lesson's topology and applies every
// step's changes in order, as a run would, checking that each is a rules-only
// change that still validates, and that all traffic names real hosts.
func TestLessonsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, l := range All() {
		t.Run(l.Name, func(t *testing.T) {
			if seen[l.Short] {
				t.Errorf("short name %q used twice", l.Short)
			}
			seen[l.Short] = true
			if n := RunName(l); !reTopoName.MatchString(n) {
				t.Errorf("run name %q is not a valid topology name", n)
			}
			if l.title.ko == "" || l.intro.ko == "" {
				t.Error("no Korean title or intro")
			}
			topo, err := vpc.Parse(l.File(), reNameLine.ReplaceAll(l.YAML(), []byte("name: "+RunName(l))))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range l.steps {
				if s.title.ko == "" || (s.say.en != "" && s.say.ko == "") {
					t.Errorf("step %d: no Korean narration", i+1)
				}
				for _, c := range s.changes {
					if len(c.aws) == 0 || !strings.HasPrefix(c.aws[0], "aws ec2 ") {
						t.Errorf("step %d: change %q has no aws ec2 equivalent", i+1, c.what.en)
					}
					nt := clone(topo)
					if err := c.apply(nt); err != nil {
						t.Fatalf("step %d: change %q: %v", i+1, c.what.en, err)
					}
					sortNACLs(nt)
					if err := rulesOrRoutingDiff(topo, nt); err != nil {
						t.Errorf("step %d: change %q is neither rules-only nor routing-only: %v", i+1, c.what.en, err)
					}
					if _, err := vpc.Parse("changed.yaml", nt.YAML()); err != nil {
						t.Errorf("step %d: after %q the topology is invalid: %v", i+1, c.what.en, err)
					}
					if string(topo.YAML()) == string(nt.YAML()) {
						t.Errorf("step %d: change %q changes nothing", i+1, c.what.en)
					}
					topo = nt
				}
				for _, p := range s.probes {
					if topo.Instance(p.from) == nil && topo.Host(p.from) == nil {
						t.Errorf("step %d: traffic from unknown host %q", i+1, p.from)
					}
					if topo.Instance(p.to) == nil && topo.Host(p.to) == nil {
						t.Errorf("step %d: traffic to unknown host %q", i+1, p.to)
					}
					if p.why.en == "" || p.why.ko == "" {
						t.Errorf("step %d: %s has no reason in both languages", i+1, p.label())
					}
				}
				if len(s.probes)+len(s.checks) == 0 {
					t.Errorf("step %d checks nothing", i+1)
				}
			}
		})
	}
}

// rulesOrRoutingDiff refuses a change from a to b that touches more than
// rules and routing objects (route tables, NAT gateways, Elastic IPs,
// peerings): what a running topology changes live.
func rulesOrRoutingDiff(a, b *vpc.Topology) error {
	c := b.Clone()
	c.RouteTables, c.NATGateways, c.ElasticIPs, c.Peerings = a.RouteTables, a.NATGateways, a.ElasticIPs, a.Peerings
	return vpc.RulesOnlyDiff(a, c)
}

func TestFind(t *testing.T) {
	if l, err := Find("nacl-ephemeral"); err != nil || l.Name != "nacl-ephemeral" {
		t.Errorf("Find(nacl-ephemeral) = %v, %v", l, err)
	}
	if _, err := Find("nope"); err == nil || !strings.Contains(err.Error(), "sg-stateful") {
		t.Errorf("Find(nope) error %v does not list the valid names", err)
	}
	if len(Names()) != 10 {
		t.Errorf("%d lessons, want the seven of the study note, traffic-mirroring, nat-gateway and peering-not-transitive", len(Names()))
	}
}

func TestWriteList(t *testing.T) {
	for _, lang := range Langs {
		var b bytes.Buffer
		if err := WriteList(&b, lang); err != nil {
			t.Fatal(err)
		}
		for _, l := range All() {
			if !strings.Contains(b.String(), l.Name) || !strings.Contains(b.String(), l.Title(lang)) {
				t.Errorf("%s list lacks %s or its title:\n%s", lang, l.Name, b.String())
			}
		}
	}
}

func TestRender(t *testing.T) {
	l, _ := Find("nacl-ephemeral")
	r := &Result{Lesson: l.Name, Topology: "ls-neph-1", File: "x.yaml", Differences: []string{"a > b: 1 (file: 2)"}}
	s := StepResult{Number: 2, Title: "Add rule 20", Narration: "narration",
		Changes:  []Change{{What: "add rule 20", AWS: []string{"aws ec2 create-network-acl-entry --rule-number 20"}}},
		Traffic:  []Traffic{{What: "HTTPS i-amzn -> website", Command: "vpcemu exec i-amzn -- curl", Port: 40001, PortNote: "in range", Seconds: 2, Detail: "timeout", Verdict: "NOT REACHABLE"}},
		Checks:   []Check{{What: "HTTPS i-amzn -> website", Expected: "works", Observed: "fails", Why: "rule 100", Message: "differs: rule 20"}},
		FlowLogs: []string{"version ...", "2 123 eni-1 ..."}, Restart: "brought down and up again"}
	r.Steps = []StepResult{s}
	for _, lang := range Langs {
		var b bytes.Buffer
		if err := WriteHeader(&b, l, r, lang); err != nil {
			t.Fatal(err)
		}
		if err := WriteStep(&b, l, &s, lang); err != nil {
			t.Fatal(err)
		}
		if err := WriteFooter(&b, r, lang); err != nil {
			t.Fatal(err)
		}
		if err := WriteSummary(&b, []*Result{r}, lang); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{l.Title(lang), "ls-neph-1", "a > b: 1 (file: 2)", "aws ec2 create-network-acl-entry --rule-number 20",
			"vpcemu exec i-amzn -- curl", "40001", "2.00s", "differs: rule 20", "2 123 eni-1", word(lang, "fail"), "NOT REACHABLE", "brought down and up again"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s rendering lacks %q:\n%s", lang, want, out)
			}
		}
	}
}

func TestParsePort(t *testing.T) {
	table := []byte(`  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0A00010A:DF10 507100CB:01BB 06 00000000:00000000 03:00000F5F 00000000     0        0 0 3 0000000000000000
   1: 0A00010A:E1A2 507100CB:01BB 02 00000000:00000000 01:000001A9 00000002     0        0 0 1 0000000000000000
`)
	dst := netipAddrPort("203.0.113.80:443")
	if got := parsePort(table, dst); got != 0xE1A2 {
		t.Errorf("parsePort = %d, want %d (the SYN-SENT socket, not the TIME-WAIT one)", got, 0xE1A2)
	}
	if got := parsePort(table, netipAddrPort("203.0.113.80:80")); got != 0 {
		t.Errorf("parsePort for another port = %d, want 0", got)
	}
}

func TestLineDiff(t *testing.T) {
	l, _ := Find("sg-stateful")
	topo, err := vpc.Parse("x.yaml", l.YAML())
	if err != nil {
		t.Fatal(err)
	}
	m := clone(topo)
	m.Instances[0].Conntrack.TCPEstablished = time.Second
	d := lineDiff(string(topo.YAML()), string(m.YAML()))
	if len(d) != 1 || !strings.Contains(d[0], "tcp_established_timeout: 1 (file: tcp_established_timeout: 432000)") || !strings.Contains(d[0], "i-win") {
		t.Errorf("diff of a 1 s timeout = %q", d)
	}
	l, _ = Find("nacl-ephemeral")
	topo, _ = vpc.Parse("x.yaml", l.YAML())
	m = clone(topo)
	if err := deleteNACLRule("acl-public", false, 100)(m); err != nil {
		t.Fatal(err)
	}
	d = lineDiff(string(topo.YAML()), string(m.YAML()))
	if len(d) != 1 || !strings.Contains(d[0], "acl-public") || !strings.Contains(d[0], "removed") || !strings.Contains(d[0], "100") {
		t.Errorf("diff of a removed rule 100 = %q", d)
	}
	if d := lineDiff("a\nb\n", "a\nb\n"); len(d) != 0 {
		t.Errorf("diff of equal texts = %q", d)
	}
}

func netipAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestFlowlogAuditQueries runs lesson 5's queries over records shaped as
// the flow log writes them (both directions of both logins, then the
// stranger's rejected SYNs), so its logic is checked without a datapath.
func TestFlowlogAuditQueries(t *testing.T) {
	rec := func(src, dst string, sport, dport int, action string) flowRecord {
		return flowRecord{"version": "2", "account_id": "123456789012", "interface_id": "eni-1", "srcaddr": src, "dstaddr": dst,
			"srcport": fmt.Sprint(sport), "dstport": fmt.Sprint(dport), "protocol": "6", "packets": "10", "bytes": "2000",
			"start": "1", "end": "2", "action": action, "log_status": "OK"}
	}
	logins := []flowRecord{
		rec(myIP, "10.0.1.10", 50001, 22, "ACCEPT"), rec("10.0.1.10", myIP, 22, 50001, "ACCEPT"),
		rec(strangerIP, "10.0.1.10", 40001, 22, "ACCEPT"), rec("10.0.1.10", strangerIP, 22, 40001, "ACCEPT"),
	}
	rejects := []flowRecord{rec(myIP, "10.0.1.10", 50002, 22, "ACCEPT"), rec(strangerIP, "10.0.1.10", 40002, 22, "REJECT")}
	l := mustFindLesson(t, "flowlog-audit")
	for _, tc := range []struct {
		name     string
		step     int
		all, now []flowRecord
		ok       bool
	}{
		{"the stranger's login is found", 1, logins, nil, true},
		{"no records: the audit fails", 1, nil, nil, false},
		{"only my logins: the audit fails", 1, logins[:2], nil, false},
		{"the stranger's rejected attempt is found", 2, append(logins, rejects...), rejects, true},
		{"nothing rejected: the check fails", 2, logins, rejects[:1], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{opts: Options{Lang: "en"}, all: tc.all, recs: tc.now}
			checks := l.steps[tc.step].checks[0](e)
			if len(checks) != 1 || checks[0].OK != tc.ok {
				t.Errorf("checks = %+v, want ok=%v", checks, tc.ok)
			}
			if !tc.ok && checks[0].Message == "" {
				t.Error("a failed check without a message")
			}
		})
	}
}

func mustFindLesson(t *testing.T, name string) *Lesson {
	t.Helper()
	l, err := Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestNATChecks runs the nat-gateway lesson's checks over what a run could
// observe, so that each is seen to fail when the NAT gateway misbehaves.
func TestNATChecks(t *testing.T) {
	l := mustFindLesson(t, "nat-gateway")
	topo, err := vpc.Parse(l.File(), l.YAML())
	if err != nil {
		t.Fatal(err)
	}
	rec := func(src string, sport int, dst string, dport int, psrc, pdst string) flowRecord {
		return flowRecord{"interface_id": "eni-nat", "srcaddr": src, "srcport": fmt.Sprint(sport), "dstaddr": dst,
			"dstport": fmt.Sprint(dport), "pkt_srcaddr": psrc, "pkt_dstaddr": pdst, "action": "ACCEPT"}
	}
	legs := []flowRecord{
		rec("10.0.2.10", 43694, "10.0.1.100", 22, "10.0.2.10", "198.51.100.80"),
		rec("10.0.1.100", 3334, "198.51.100.80", 22, "10.0.1.100", "198.51.100.80"),
	}
	login := func(saw string) []Traffic {
		return []Traffic{{What: "SSH i-private -> website", Works: true, Port: 43694, ServerSaw: saw}}
	}
	for _, tc := range []struct {
		name       string
		trafs      []Traffic
		recs       []flowRecord
		source, fl []bool
	}{
		{"as AWS does", login("203.0.113.100:3334"), legs, []bool{true}, []bool{true, true}},
		{"not translated", login(""), legs, []bool{false}, []bool{true, false}},
		{"another address", login("203.0.113.7:3334"), legs, []bool{false}, []bool{true, true}},
		{"a port below the NAT's range", login("203.0.113.100:80"), legs, []bool{false}, []bool{true, false}},
		{"no pkt-srcaddr on the NAT gateway's ENI", login("203.0.113.100:3334"),
			[]flowRecord{rec("10.0.2.10", 43694, "10.0.1.100", 22, "10.0.1.100", "198.51.100.80"), legs[1]}, []bool{true}, []bool{false, true}},
		{"no records", login("203.0.113.100:3334"), nil, []bool{true}, []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{opts: Options{Lang: "en"}, topo: topo, trafs: tc.trafs, recs: tc.recs}
			for _, x := range []struct {
				got  []Check
				want []bool
			}{
				{natSource("i-private", "website", "nat-lesson")(e), tc.source},
				{natFlowLog("nat-lesson", "i-private", "website")(e), tc.fl},
			} {
				if len(x.got) != len(x.want) {
					t.Fatalf("%d checks, want %d: %+v", len(x.got), len(x.want), x.got)
				}
				for i, c := range x.got {
					if c.OK != x.want[i] {
						t.Errorf("%s: ok=%v, want %v (observed %q)", c.What, c.OK, x.want[i], c.Observed)
					}
					if !c.OK && c.Message == "" {
						t.Errorf("%s failed without a message", c.What)
					}
				}
			}
		})
	}
}
