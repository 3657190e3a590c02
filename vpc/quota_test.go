package vpc

import (
	"fmt"
	"strings"
	"testing"
)

// sgWithRules returns a topology whose SG "big" has n IPv4 and n6 IPv6
// ingress rules (distinct ports), plus extra top-level YAML.
func sgWithRules(n, n6 int, extra string) string {
	var b strings.Builder
	b.WriteString(h + extra + "security_groups:\n  - id: big\n    ingress:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - {protocol: tcp, ports: %d, cidr: 0.0.0.0/0}\n", 1000+i)
	}
	for i := range n6 {
		fmt.Fprintf(&b, "      - {protocol: tcp, ports: %d, ipv6_cidr: \"::/0\"}\n", 1000+i)
	}
	return b.String()
}

func naclWithRules(n, n6 int, extra string) string {
	var b strings.Builder
	b.WriteString(h + extra + "network_acls:\n  - id: big\n    egress:\n")
	for i := range n {
		fmt.Fprintf(&b, "      - {rule: %d, protocol: all, cidr: 0.0.0.0/0, action: allow}\n", 1+i)
	}
	for i := range n6 {
		fmt.Fprintf(&b, "      - {rule: %d, protocol: all, ipv6_cidr: \"::/0\", action: allow}\n", 1000+i)
	}
	return b.String()
}

func instanceWithSGs(n int, extra string) string {
	var b strings.Builder
	b.WriteString(h + extra + "security_groups:\n")
	var ids []string
	for i := range n {
		fmt.Fprintf(&b, "  - {id: sg%d}\n", i)
		ids = append(ids, fmt.Sprintf("sg%d", i))
	}
	fmt.Fprintf(&b, "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: [%s]}\n", strings.Join(ids, ", "))
	return b.String()
}

func mustParse(t *testing.T, src string) *Topology {
	t.Helper()
	topo, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return topo
}

func TestQuotas(t *testing.T) {
	ok := []struct{ name, yaml string }{
		{"60 IPv4 ingress rules", sgWithRules(60, 0, "")},
		{"60 IPv4 and 60 IPv6 ingress rules (separate counts, TV-36)", sgWithRules(60, 60, "")},
		{"61 rules with rules_per_security_group lifted", sgWithRules(61, 0, "limits: {rules_per_security_group: 61}\n")},
		{"20 IPv4 and 20 IPv6 NACL egress rules", naclWithRules(20, 20, "")},
		{"30 NACL rules with nacl_rules_per_direction lifted", naclWithRules(30, 0, "limits: {nacl_rules_per_direction: 40}\n")},
		{"5 SGs on an ENI", instanceWithSGs(5, "")},
		{"16 SGs with security_groups_per_eni lifted", instanceWithSGs(16, "limits: {security_groups_per_eni: 16}\n")},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) { mustParse(t, tc.yaml) })
	}
	bad := []struct{ name, yaml, want string }{
		{"61st IPv4 ingress rule", sgWithRules(61, 0, ""),
			`t.yaml:69:9: security_groups[0].ingress[60]: security group "big" has more than 60 IPv4 ingress rules (a prefix list counts its max_entries); valid: at most 60 per direction and address family, or raise limits.rules_per_security_group (RulesPerSecurityGroupLimitExceeded)`},
		{"61st IPv6 ingress rule", sgWithRules(3, 61, ""),
			`t.yaml:72:9: security_groups[0].ingress[63]: security group "big" has more than 60 IPv6 ingress rules (a prefix list counts its max_entries); valid: at most 60 per direction and address family, or raise limits.rules_per_security_group (RulesPerSecurityGroupLimitExceeded)`},
		{"62nd rule over a lifted limit", sgWithRules(62, 0, "limits: {rules_per_security_group: 61}\n"),
			`t.yaml:71:9: security_groups[0].ingress[61]: security group "big" has more than 61 IPv4 ingress rules (a prefix list counts its max_entries); valid: at most 61 per direction and address family, or raise limits.rules_per_security_group (RulesPerSecurityGroupLimitExceeded)`},
		{"21st NACL rule", naclWithRules(21, 0, ""),
			`t.yaml:29:9: network_acls[0].egress[20]: network ACL "big" has more than 20 IPv4 egress rules; valid: at most 20 per direction and address family, or raise limits.nacl_rules_per_direction (NetworkAclEntryLimitExceeded)`},
		{"6 SGs on an ENI", instanceWithSGs(6, ""),
			`t.yaml:14:67: instances[0].security_groups: 6 security groups; valid: at most 5 per ENI, or raise limits.security_groups_per_eni (SecurityGroupsPerInterfaceLimitExceeded)`},
		{"a prefix list weighs its max_entries", h + `prefix_lists:
  - {id: pl-big, max_entries: 59, cidrs: [192.0.2.0/24]}
security_groups:
  - id: sga
    egress:
      - {protocol: tcp, ports: 443, prefix_list: pl-big}
      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}
      - {protocol: tcp, ports: 81, cidr: 0.0.0.0/0}
`, `t.yaml:13:9: security_groups[0].egress[2]: security group "sga" has more than 60 IPv4 egress rules (a prefix list counts its max_entries); valid: at most 60 per direction and address family, or raise limits.rules_per_security_group (RulesPerSecurityGroupLimitExceeded)`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got := parseErrors(t, tc.yaml)
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", joinLines(got), tc.want)
			}
		})
	}
}
