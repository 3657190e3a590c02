package intent

import (
	"os"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// topo reads a topology file of the repository and applies text edits
// (old, new pairs), each of which must apply.
func topo(t testing.TB, path string, edits ...string) *vpc.Topology {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("%s: edit %q does not apply", path, edits[i])
		}
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	tp, err := vpc.Parse(path, []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

const (
	labFile       = "../vpc/lab.yaml"
	ephemeralFile = "../lessons/topologies/nacl-ephemeral.yaml"
	orderFile     = "../lessons/topologies/nacl-order.yaml"
)

// ephemeralStep2 is the nacl-ephemeral lesson after its change: inbound
// rule 20 denies TCP 32768-65535.
func ephemeralStep2(t testing.TB) *vpc.Topology {
	return topo(t, ephemeralFile, "    ingress:\n      - {rule: 50,",
		"    ingress:\n      - {rule: 20, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: deny}\n      - {rule: 50,")
}

// orderStep2 is the nacl-order lesson after its change: 90 denies all,
// 100 allows HTTP.
func orderStep2(t testing.TB) *vpc.Topology {
	return topo(t, orderFile,
		"{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: deny}", "{rule: 90, protocol: all, cidr: 0.0.0.0/0, action: deny}",
		"{rule: 90, protocol: tcp, ports: 80, cidr: 0.0.0.0/0, action: allow}", "{rule: 100, protocol: tcp, ports: 80, cidr: 0.0.0.0/0, action: allow}")
}

// checkOne parses one intent (YAML of the intents list item) and decides it.
func checkOne(t *testing.T, tp *vpc.Topology, item string) *Result {
	t.Helper()
	f, err := Parse("t.yaml", []byte("intents:\n  - "+item+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewChecker(tp)
	if err := c.Validate(f); err != nil {
		t.Fatal(err)
	}
	r, err := c.Check(&f.Intents[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIntentKinds(t *testing.T) {
	lab := topo(t, labFile)
	eph2 := ephemeralStep2(t)
	cases := []struct {
		name  string
		tp    *vpc.Topology
		item  string
		holds bool
		// For a failing intent: the counterexample's flow and verdict, and
		// a rule that must be named.
		flow, verdict, rule string
	}{
		{"reach holds", lab, "reach: {from: laptop, to: i-web, protocol: tcp, ports: 22}", true, "", "", ""},
		{"reach fails at the SG", lab, "reach: {from: stranger, to: i-web, protocol: tcp, ports: 22}", false,
			"stranger -> i-web tcp 192.0.2.66:32768 -> 203.0.113.10:22", "denied", "sg-web inbound on i-web: no inbound rule matches (ENI_SG_RULES_MISMATCH)"},
		{"reach from an SG's members", lab, "reach: {from: sg-web, to: i-db, protocol: tcp, ports: 5432, both_ways: true}", true, "", "", ""},
		{"reach fails on a port of the range", lab, "reach: {from: internet, to: i-web, protocol: tcp, ports: 80-443}", false,
			"1.0.0.0 -> i-web tcp 1.0.0.0:1024 -> 203.0.113.10:81", "denied", "sg-web inbound on i-web: no inbound rule matches"},
		{"reach to an instance without a public address", lab, "reach: {from: laptop, to: i-db, protocol: tcp, ports: 5432}", false,
			"laptop -> i-db tcp 198.51.100.10:49152 -> 10.0.2.20:5432", "denied", "internet-gateway igw-default: 10.0.2.20 IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"},
		{"reach one way holds where the reply is blocked", eph2, "reach: {from: i-amzn, to: website, protocol: tcp, ports: 443}", true, "", "", ""},
		{"reach both ways fails at the NACL's ephemeral deny", eph2, "reach: {from: i-amzn, to: website, protocol: tcp, ports: 443, both_ways: true}", false,
			"i-amzn -> website tcp 10.0.1.10:32768 -> 203.0.113.80:443", "reply blocked", "acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)"},
		{"reach both ways holds for the Windows 2003 client", eph2, "reach: {from: i-win2003, to: website, protocol: tcp, ports: 443, both_ways: true}", true, "", "", ""},
		{"reach both ways from the subnet fails for two of three", eph2, "reach: {from: subnet-public, to: website, protocol: tcp, ports: 443, both_ways: true}", false,
			"i-amzn -> website tcp 10.0.1.10:32768 -> 203.0.113.80:443", "reply blocked", "acl-public inbound rule 20"},
		{"no_reach holds", lab, "no_reach: {from: internet, to: i-db, protocol: all}", true, "", "", ""},
		{"no_reach fails on an open RDP rule", lab, "no_reach: {from: internet, to: i-web, protocol: tcp, ports: [22, 3389]}", false,
			"1.0.0.0 -> i-web tcp 1.0.0.0:1024 -> 203.0.113.10:3389", "allowed", "sg-web inbound rule #3 (tcp 3389 from 0.0.0.0/0)"},
		{"no_reach fails for the laptop's SSH", lab, "no_reach: {from: 198.51.100.0/24, to: i-web, protocol: tcp, ports: 22}", false,
			"laptop -> i-web tcp 198.51.100.10:1024 -> 203.0.113.10:22", "allowed", "sg-web inbound rule #4 (tcp 22 from 198.51.100.10/32)"},
		{"no_reach one way fails where the request arrives", eph2, "no_reach: {from: i-amzn, to: website, protocol: tcp, ports: 443}", false,
			"i-amzn -> website tcp 10.0.1.10:32768 -> 203.0.113.80:443", "reply blocked", "sg-client outbound rule #1 (all to 0.0.0.0/0)"},
		{"no_reach both ways holds where no exchange completes", eph2, "no_reach: {from: i-amzn, to: website, protocol: tcp, ports: 443, both_ways: true}", true, "", "", ""},
		{"icmp echo reaches", lab, "reach: {from: i-web, to: website, protocol: icmp, both_ways: true}", true, "", "", ""},
		{"icmp echo does not reach the web server", lab, "reach: {from: laptop, to: i-web, protocol: icmp}", false,
			"laptop -> i-web icmp type 8 code 0 198.51.100.10 -> 203.0.113.10", "denied", "sg-web inbound on i-web: no inbound rule matches"},
		{"source ports narrow the flows", eph2, "reach: {from: i-amzn, to: website, protocol: tcp, ports: 443, source_ports: 1024-32767, both_ways: true}", true, "", "", ""},
		{"an ENI, a VPC and a CIDR as endpoints", lab, "reach: {from: [10.0.1.0/24, vpc-lab], to: i-db, protocol: tcp, ports: 5432}", true, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := checkOne(t, c.tp, c.item)
			if r.Holds != c.holds {
				t.Fatalf("holds = %v, want %v (%d of %d classes fail)", r.Holds, c.holds, r.Failing, r.NClass)
			}
			if r.NClass == 0 || r.Flows == 0 {
				t.Errorf("no classes decided")
			}
			if c.holds {
				if r.Counterexample != nil || r.Failing != 0 {
					t.Errorf("a holding intent has a counterexample %v", r.Counterexample)
				}
				return
			}
			ce := r.Counterexample
			if got := ce.Flow.String(); got != c.flow {
				t.Errorf("counterexample %s, want %s", got, c.flow)
			}
			if ce.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s", ce.Verdict, c.verdict)
			}
			if !strings.Contains(rulesText(ce.Rules), c.rule) {
				t.Errorf("rules %q do not name %q", rulesText(ce.Rules), c.rule)
			}
			if !strings.Contains(ce.Explain, "Forward path:") || ce.Analysis == nil {
				t.Errorf("no explain walk:\n%s", ce.Explain)
			}
		})
	}
}

// The counterexample's walk is rules.Explain's, and it agrees with the
// class's verdict.
func TestCounterexampleWalkAgreesWithItsClass(t *testing.T) {
	r := checkOne(t, ephemeralStep2(t), "reach: {from: i-amzn, to: internet, protocol: tcp, ports: 443, both_ways: true}")
	a := r.Counterexample.Analysis
	if r.Holds || !a.ForwardPathFound || a.ReturnPathFound {
		t.Fatalf("want forward found, return blocked: %+v", a)
	}
	if !strings.Contains(r.Counterexample.Explain, "rule 20: deny tcp 32768-65535 from 0.0.0.0/0") {
		t.Errorf("walk does not show rule 20:\n%s", r.Counterexample.Explain)
	}
}
