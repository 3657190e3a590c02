package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// Spec statements decided at validation time (vpc.Parse) rather than per
// packet, checked here end to end so that every in-scope SG-/NACL- statement
// has a test naming it. Out of scope for vpcemu's evaluator: SG-7 (rule ids
// are an API matter), SG-17 (no middleboxes are emulated), SG-39 (link-local
// packet-rate limit), NACL-23 (console batching). PATH-9 (mirroring taps sit
// after the source ENI's filters) is MirrorDecision's contract, which is
// asked only of packets the source's SG and NACLs passed (mirror_test.go for
// its TM- statements), and the datapath's: lab's TestTrafficMirroring
// (TM-12) shows with real packets that what the SG drops is never mirrored.

const stmtHead = "name: t\naccount: \"123456789012\"\nregion: us-east-1\nvpc: {id: vpc-t, cidr: 10.0.0.0/16, ipv6_cidr: \"2001:db8::/56\"}\n" +
	"subnets:\n  - {id: s1, cidr: 10.0.1.0/24, ipv6_cidr: \"2001:db8:0:1::/64\", public: true}\n"

func parseStmt(t *testing.T, body string) (*vpc.Topology, error) {
	t.Helper()
	return vpc.Parse("t.yaml", []byte(stmtHead+body))
}

func mustParseStmt(t *testing.T, body string) *vpc.Topology {
	t.Helper()
	top, err := parseStmt(t, body)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return top
}

func wantParseError(t *testing.T, body, code string) {
	t.Helper()
	_, err := parseStmt(t, body)
	if err == nil || !strings.Contains(err.Error(), code) {
		t.Errorf("want %s, got %v", code, err)
	}
}

func TestSG32_NewGroupAllowsAllIPv4OutboundOnly(t *testing.T) {
	top := mustParseStmt(t, "security_groups:\n  - {id: sg-new}\ninstances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: \"2001:db8:0:1::10\", security_groups: [sg-new]}\n")
	e := NewSGEvaluator(top)
	if m := e.Match("i-a", true, tcp("10.0.1.10", 40000, "198.51.100.1", 443, TCPSyn)); !m.Allowed {
		t.Errorf("ipv4 outbound: %+v", m)
	}
	if m := e.Match("i-a", true, tcp("2001:db8:0:1::10", 40000, "2001:db8:ff::1", 443, TCPSyn)); m.Allowed {
		t.Errorf("ipv6 outbound must need an explicit ::/0 rule: %+v", m)
	}
	if m := e.Match("i-a", false, tcp("198.51.100.1", 40000, "10.0.1.10", 22, TCPSyn)); m.Allowed || m.Code != CodeSGHasNoRules {
		t.Errorf("inbound: %+v", m)
	}
}

func TestSG33_GroupNames(t *testing.T) {
	wantParseError(t, "security_groups:\n  - {id: a, name: sg-web}\n", "InvalidParameterValue")
	wantParseError(t, "security_groups:\n  - {id: a, name: web}\n  - {id: b, name: web}\n", "InvalidGroup.Duplicate")
}

func TestSG40_SecurityGroupsPerENI(t *testing.T) {
	var sgs, ids []string
	for i := range 6 {
		sgs = append(sgs, fmt.Sprintf("  - {id: g%d}\n", i))
		ids = append(ids, fmt.Sprintf("g%d", i))
	}
	body := "security_groups:\n" + strings.Join(sgs, "") + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: [%s]}\n"
	mustParseStmt(t, fmt.Sprintf(body, strings.Join(ids[:5], ", ")))
	wantParseError(t, fmt.Sprintf(body, strings.Join(ids, ", ")), "SecurityGroupsPerInterfaceLimitExceeded")
}

func sgBody(n4, n6 int) string {
	var b strings.Builder
	b.WriteString("security_groups:\n  - id: big\n    ingress:\n")
	for i := range n4 {
		fmt.Fprintf(&b, "      - {protocol: tcp, ports: %d, cidr: 0.0.0.0/0}\n", 1000+i)
	}
	for i := range n6 {
		fmt.Fprintf(&b, "      - {protocol: tcp, ports: %d, ipv6_cidr: \"::/0\"}\n", 1000+i)
	}
	return b.String()
}

func TestSG41_RulesPerGroupCountPerFamily(t *testing.T) {
	mustParseStmt(t, sgBody(60, 60))
	wantParseError(t, sgBody(61, 0), "RulesPerSecurityGroupLimitExceeded")
	wantParseError(t, sgBody(0, 61), "RulesPerSecurityGroupLimitExceeded")
}

func TestSG42_LiftedLimitsAreForScaleExperiments(t *testing.T) {
	// AWS caps rules-per-SG x SGs-per-ENI at 1000; vpcemu's `limits:` lifts
	// quotas for scale experiments, and the evaluator handles the result.
	top := mustParseStmt(t, "limits: {rules_per_security_group: 70}\n"+sgBody(70, 0)+
		"instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: [big]}\n")
	if m := NewSGEvaluator(top).Match("i-a", false, tcp("198.51.100.1", 1, "10.0.1.10", 1069, TCPSyn)); !m.Allowed {
		t.Errorf("70th rule: %+v", m)
	}
}

func TestSG43_PrefixListWeighsItsMaxEntries(t *testing.T) {
	body := "prefix_lists:\n  - {id: pl-big, max_entries: 59, cidrs: [192.0.2.0/24]}\nsecurity_groups:\n  - id: a\n    ingress:\n" +
		"      - {protocol: tcp, ports: 22, prefix_list: pl-big}\n      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n"
	top := mustParseStmt(t, body+"instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: [a]}\n")
	if m := NewSGEvaluator(top).Match("i-a", false, tcp("192.0.2.7", 1, "10.0.1.10", 22, TCPSyn)); !m.Allowed {
		t.Errorf("prefix-list peer: %+v", m)
	}
	wantParseError(t, body+"      - {protocol: tcp, ports: 81, cidr: 0.0.0.0/0}\n", "RulesPerSecurityGroupLimitExceeded")
}

func TestSG44_DuplicateRule(t *testing.T) {
	wantParseError(t, "security_groups:\n  - id: a\n    ingress:\n      - {protocol: tcp, ports: 22, cidr: 0.0.0.0/0}\n      - {protocol: tcp, ports: 22, cidr: 0.0.0.0/0}\n", "InvalidPermission.Duplicate")
}

func naclBody(rules ...string) string {
	return "network_acls:\n  - id: n\n    ingress:\n" + strings.Join(rules, "")
}

func TestNACL3_RuleNumbers(t *testing.T) {
	ok := "      - {rule: 1, protocol: all, cidr: 0.0.0.0/0, action: allow}\n      - {rule: 32766, protocol: all, cidr: 0.0.0.0/0, action: deny}\n"
	mustParseStmt(t, naclBody(ok))
	for _, n := range []int{0, 32767} {
		wantParseError(t, naclBody(fmt.Sprintf("      - {rule: %d, protocol: all, cidr: 0.0.0.0/0, action: allow}\n", n)), "InvalidParameterValue")
	}
	wantParseError(t, naclBody("      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n      - {rule: 100, protocol: tcp, ports: 22, cidr: 0.0.0.0/0, action: deny}\n"), "NetworkAclEntryAlreadyExists")
}

func TestNACL21_NACL22_RulesPerDirection(t *testing.T) {
	var rs []string
	for i := range 21 {
		rs = append(rs, fmt.Sprintf("      - {rule: %d, protocol: all, cidr: 0.0.0.0/0, action: allow}\n", i+1))
	}
	mustParseStmt(t, naclBody(rs[:20]...))
	wantParseError(t, naclBody(rs...), "NetworkAclEntryLimitExceeded")
}

func TestNACL16_ParsedCIDRsAreCanonical(t *testing.T) {
	top := mustParseStmt(t, naclBody("      - {rule: 10, protocol: all, cidr: 100.68.0.18/18, action: allow}\n"))
	if got := top.NetworkACL("n").Ingress[0].CIDR.String(); got != "100.68.0.0/18" {
		t.Errorf("cidr %s", got)
	}
}

func TestNACL17_NACL18_DefaultAndCustomNACLs(t *testing.T) {
	src := strings.Replace(stmtHead, "subnets:\n", "subnets:\n  - {id: s2, cidr: 10.0.2.0/24, network_acl: n}\n", 1) +
		naclBody() + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: \"2001:db8:0:1::10\"}\n"
	top, err := vpc.Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	def := top.NetworkACL(vpc.DefaultNACLID)
	mustAllowNACL(t, def, false, tcp("198.51.100.1", 1, "10.0.1.10", 22, TCPSyn), true, 100)
	mustAllowNACL(t, def, false, tcp("2001:db8:ff::1", 1, "2001:db8:0:1::10", 22, TCPSyn), true, 101)
	custom := top.NetworkACL("n")
	mustAllowNACL(t, custom, false, tcp("198.51.100.1", 1, "10.0.2.10", 22, TCPSyn), false, 32767)
	mustAllowNACL(t, custom, true, tcp("10.0.2.10", 1, "198.51.100.1", 22, TCPSyn), false, 32767)
}

func TestSG46_ReservedSubnetAddresses(t *testing.T) {
	for _, a := range []string{"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255"} {
		wantParseError(t, "instances:\n  - {id: i-a, subnet: s1, private_ip: "+a+"}\n", "InvalidParameterValue")
	}
	top := mustParseStmt(t, "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.4}\n")
	for _, a := range []string{"10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.0.2", "2001:db8:0:1::1", "fe80::1"} {
		if !ReservedService(top, ip(a)) {
			t.Errorf("%s is a reserved router/DNS address", a)
		}
	}
	if ReservedService(top, ip("10.0.1.4")) {
		t.Error("10.0.1.4 is an ordinary address")
	}
}

func TestSG47_AWSServiceRangeIsNeverFiltered(t *testing.T) {
	top := mustParseStmt(t, "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: \"2001:db8:0:1::10\"}\n")
	for _, a := range []string{"fd00:ec2::253", "fd00:ec2::254", "fd00:ec2::123", "fd00:ec2:ffff::1"} {
		if !ReservedService(top, ip(a)) {
			t.Errorf("%s is in fd00:ec2::/32", a)
		}
	}
}
