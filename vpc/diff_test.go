package vpc

import (
	"strings"
	"testing"
)

func TestRulesOnlyDiff(t *testing.T) {
	base := string(LabYAML)
	old := Lab()
	ok := []struct{ name, from, to string }{
		{"identical", "", ""},
		{"SG rule added", "      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n", "      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n      - {protocol: udp, ports: 53, cidr: 10.0.0.0/16}\n"},
		{"SG rule removed", "      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n", ""},
		{"NACL rule changed", "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:", "      - {rule: 90, protocol: tcp, ports: 22, cidr: 0.0.0.0/0, action: deny}\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:"},
		{"instance SG list", "security_groups: [sg-db]", "security_groups: [sg-db, sg-web]"},
		{"subnet NACL association", "    az: ap-northeast-2c ", "    network_acl: acl-public\n    az: ap-northeast-2c "},
		{"limits", "region: ap-northeast-2\n", "region: ap-northeast-2\nlimits: {rules_per_security_group: 100}\n"},
		{"new SG", "network_acls:", "  - {id: sg-new}\nnetwork_acls:"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			if src == base && tc.from != "" {
				t.Fatalf("edit %q did not apply", tc.from)
			}
			if err := RulesOnlyDiff(old, mustParse(t, src)); err != nil {
				t.Errorf("RulesOnlyDiff = %v, want nil", err)
			}
		})
	}
	bad := []struct{ name, from, to, want string }{
		{"private IP", "private_ip: 10.0.2.20", "private_ip: 10.0.2.21", "instances[1].private_ip changed; apply changes rules only: run vpcemu down and up"},
		{"public IP", "    public_ip: 203.0.113.10\n", "", "instances[0].public_ip changed; apply changes rules only: run vpcemu down and up"},
		{"os", "    os: amazon-linux            # ephemeral", "    os: linux            # ephemeral", "instances[0].os changed; apply changes rules only: run vpcemu down and up"},
		{"services", `services: ["tcp:5432"]`, `services: ["tcp:5433"]`, "instances[1].services changed; apply changes rules only: run vpcemu down and up"},
		{"conntrack", `services: ["tcp:5432"]`, "services: [\"tcp:5432\"]\n    conntrack: {udp_timeout: 60}", "instances[1].conntrack changed; apply changes rules only: run vpcemu down and up"},
		{"subnet CIDR", "cidr: 10.0.2.0/24", "cidr: 10.0.2.0/23", "subnets[1].cidr changed; apply changes rules only: run vpcemu down and up"},
		{"subnet public", "    public: true ", "    public: false ", "subnets[0].public changed; apply changes rules only: run vpcemu down and up"},
		{"instance added", "internet:   ", "  - {id: i-new, subnet: subnet-private, private_ip: 10.0.2.30}\ninternet:   ", "the number of instances (2, now 3) changed; apply changes rules only: run vpcemu down and up"},
		{"host IP", "ip: 192.0.2.66", "ip: 192.0.2.67", "internet[1].ip changed; apply changes rules only: run vpcemu down and up"},
		{"flow log", "traffic_type: ALL ", "traffic_type: REJECT ", "flow_logs[0].traffic_type changed; apply changes rules only: run vpcemu down and up"},
		{"region", "region: ap-northeast-2", "region: us-west-2", "region changed; apply changes rules only: run vpcemu down and up"},
		{"VPC CIDR", "cidr: 10.0.0.0/16", "cidr: 10.0.0.0/17", "vpc.cidr changed; apply changes rules only: run vpcemu down and up"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			if src == base {
				t.Fatalf("edit %q did not apply", tc.from)
			}
			err := RulesOnlyDiff(old, mustParse(t, src))
			if err == nil || err.Error() != tc.want {
				t.Errorf("RulesOnlyDiff = %v, want %q", err, tc.want)
			}
		})
	}
}
