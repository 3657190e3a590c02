package intent

import (
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// findings runs one policy (by id) over tp.
func findings(t *testing.T, tp *vpc.Topology, id string, intents *File) []Finding {
	t.Helper()
	for _, p := range Policies() {
		if p.ID == id {
			return NewChecker(tp).RunPolicies([]Policy{p}, intents)
		}
	}
	t.Fatalf("no policy %s", id)
	return nil
}

func messages(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Message+" ["+rulesText(f.Rules)+"]")
	}
	return strings.Join(s, "\n")
}

// expectFindings checks the number of findings and that each wanted text
// appears in one of them (message or rules).
func expectFindings(t *testing.T, fs []Finding, n int, want ...string) {
	t.Helper()
	all := messages(fs)
	if len(fs) != n {
		t.Fatalf("%d findings, want %d:\n%s", len(fs), n, all)
	}
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("findings do not say %q:\n%s", w, all)
		}
	}
	for _, f := range fs {
		if f.Policy == "" || f.Why == "" || f.Severity == "" {
			t.Errorf("finding without id, why or severity: %+v", f)
		}
	}
}

func TestPolicyAdminPortFromInternet(t *testing.T) {
	lab := topo(t, labFile)
	// The lab's RDP rule is open to the world: a finding. Its SSH rule
	// admits the laptop only: known addresses are not the internet.
	fs := findings(t, lab, "VPC001", nil)
	expectFindings(t, fs, 1, "RDP (tcp 3389) on i-web is reachable from the internet", "sg-web inbound rule #3 (tcp 3389 from 0.0.0.0/0)")
	if fs[0].Flow == nil || fs[0].Flow.DstPort != 3389 || !strings.Contains(fs[0].Explain, "REACHABLE") {
		t.Errorf("finding without its flow and walk: %+v", fs[0])
	}
	// The same 0.0.0.0/0 rule behind a NACL deny is not a finding.
	behindNACL := topo(t, labFile, "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:",
		"      - {rule: 90, protocol: tcp, ports: 3389, cidr: 0.0.0.0/0, action: deny}\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:")
	expectFindings(t, findings(t, behindNACL, "VPC001", nil), 0)
	// Nor on an instance with no public path (a private subnet, no public IP).
	private := topo(t, labFile, "      - {protocol: tcp, ports: 5432, source_group: sg-web}", "      - {protocol: tcp, ports: 22, cidr: 0.0.0.0/0}",
		"      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n", "")
	expectFindings(t, findings(t, private, "VPC001", nil), 0)
}

func TestPolicyDatabasePortFromInternet(t *testing.T) {
	expectFindings(t, findings(t, topo(t, labFile), "VPC002", nil), 0)
	open := topo(t, labFile, "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}", "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n      - {protocol: tcp, ports: 3306, cidr: 0.0.0.0/0}")
	expectFindings(t, findings(t, open, "VPC002", nil), 1, "MySQL (tcp 3306) on i-web", "sg-web inbound rule #2 (tcp 3306 from 0.0.0.0/0)")
}

func TestPolicyNACLBlocksReturn(t *testing.T) {
	expectFindings(t, findings(t, topo(t, ephemeralFile), "VPC003", nil), 0)
	fs := findings(t, ephemeralStep2(t), "VPC003", nil)
	expectFindings(t, fs, 1, "acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0) drops the replies", "i-amzn -> ", "i-win2019 -> ")
	if strings.Contains(fs[0].Message, "i-win2003") {
		t.Errorf("the Windows 2003 client's replies pass rule 20: %s", fs[0].Message)
	}
	if fs[0].Rules[0].Line == 0 {
		t.Errorf("rule without its line: %+v", fs[0].Rules[0])
	}
}

func TestPolicyNACLRuleShadowed(t *testing.T) {
	expectFindings(t, findings(t, topo(t, labFile), "VPC004", nil), 0)
	// nacl-ephemeral's outbound rule 50 (deny tcp 443) comes after 40 (allow tcp 443).
	expectFindings(t, findings(t, topo(t, ephemeralFile), "VPC004", nil), 1,
		"acl-public outbound rule 50 (deny tcp 443 to 0.0.0.0/0) never decides a packet: rule 40 matches everything it matches first")
	// nacl-order after the swap: 90 denies all, so 100 (allow tcp 80) never decides.
	expectFindings(t, findings(t, orderStep2(t), "VPC004", nil), 1, "acl-public inbound rule 100 (allow tcp 80 from 0.0.0.0/0) never decides a packet: rule 90")
	// Two rules together can cover a third.
	split := topo(t, orderFile, "      - {rule: 90, protocol: tcp, ports: 80, cidr: 0.0.0.0/0, action: allow}",
		"      - {rule: 90, protocol: tcp, ports: 80, cidr: 0.0.0.0/1, action: allow}\n      - {rule: 91, protocol: tcp, ports: 80, cidr: 128.0.0.0/1, action: deny}\n      - {rule: 95, protocol: tcp, ports: 80, cidr: 198.51.100.0/24, action: allow}")
	expectFindings(t, findings(t, split, "VPC004", nil), 1, "rule 95 (allow tcp 80 from 198.51.100.0/24) never decides a packet: rule 91")
}

func TestPolicySGRuleCovered(t *testing.T) {
	expectFindings(t, findings(t, topo(t, labFile), "VPC005", nil), 0)
	covered := topo(t, labFile, "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}", "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n      - {protocol: tcp, ports: 80-81, cidr: 10.0.0.0/8}")
	expectFindings(t, findings(t, covered, "VPC005", nil), 0) // port 81 from 10/8 is its own
	covered = topo(t, labFile, "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}", "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n      - {protocol: tcp, ports: 80, cidr: 10.0.0.0/8}")
	expectFindings(t, findings(t, covered, "VPC005", nil), 1, "sg-web inbound rule #2 (tcp 80 from 10.0.0.0/8) never decides anything")
	// Two halves admit what 0.0.0.0/0 admits, but only the /0 rule makes
	// the flows untracked (SG-23): it decides something, the halves do not.
	halves := topo(t, labFile, "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}", "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/1}\n      - {protocol: tcp, ports: 80, cidr: 128.0.0.0/1}")
	fs := findings(t, halves, "VPC005", nil)
	expectFindings(t, fs, 2, "rule #2 (tcp 80 from 0.0.0.0/1)", "rule #3 (tcp 80 from 128.0.0.0/1)")
}

func TestPolicyUntrackedFlow(t *testing.T) {
	fs := findings(t, topo(t, labFile), "VPC006", nil)
	expectFindings(t, fs, 3, "i-web: inbound tcp 80 is untracked (sg-web inbound rule #1 (tcp 80 from 0.0.0.0/0))", "inbound tcp 443", "inbound tcp 3389")
	// Without sg-web's all-outbound rule every flow is tracked (SG-26).
	tracked := topo(t, labFile, "    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n  - id: sg-db", "    egress:\n      - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}\n  - id: sg-db")
	expectFindings(t, findings(t, tracked, "VPC006", nil), 0)
}

func TestPolicyUnintendedInternetPath(t *testing.T) {
	lab := topo(t, labFile)
	all, err := Parse("all.yaml", []byte(`intents:
  - reach: {from: internet, to: i-web, protocol: tcp, ports: [80, 443], both_ways: true}
  - no_reach: {from: internet, to: i-web, protocol: tcp, ports: 3389}
  - reach: {from: laptop, to: i-web, protocol: tcp, ports: 22}
`))
	if err != nil {
		t.Fatal(err)
	}
	expectFindings(t, findings(t, lab, "VPC007", all), 0)
	partial, err := Parse("partial.yaml", []byte(`intents:
  - reach: {from: internet, to: i-web, protocol: tcp, ports: 443}
  - reach: {from: laptop, to: i-web, protocol: tcp, ports: 22}
`))
	if err != nil {
		t.Fatal(err)
	}
	fs := findings(t, lab, "VPC007", partial)
	expectFindings(t, fs, 1, "i-web is reachable from the internet on tcp 80,3389, which no intent mentions", "sg-web inbound rule #1 (tcp 80 from 0.0.0.0/0)")
}
