package vpc

import (
	"os"
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

func TestRulesOnlyDiffRouting(t *testing.T) {
	data, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	base := string(data)
	old := mustParse(t, base)
	ok := []struct{ name, from, to string }{
		{"tags of a route table", "  - id: rtb-q\n    vpc: vpc-1\n", "  - id: rtb-q\n    vpc: vpc-1\n    tags: {Name: private}\n"},
		{"tags of a NAT gateway", "    port_policy: sequential", "    port_policy: sequential\n    tags: {team: net}"},
		{"an ENI's groups", "security_groups: [sgD]", "security_groups: [sgD, sgW]"},
		{"route quota", "region: us-east-1\n", "region: us-east-1\nlimits: {routes_per_table: 100}\n"},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			if src == base {
				t.Fatalf("edit %q did not apply", tc.from)
			}
			if err := RulesOnlyDiff(old, mustParse(t, src)); err != nil {
				t.Errorf("RulesOnlyDiff = %v, want nil", err)
			}
		})
	}
	bad := []struct{ name, from, to, want string }{
		{"a route", "      - {destination: 0.0.0.0/0, target: nat-1}", "      - {destination: 0.0.0.0/0, target: igw-1}", "route_tables[2]"},
		{"an association", "route_table: rtb-q, network_acl: acl-q", "network_acl: acl-q", "subnets[1].route_table"},
		{"a peering's state", "state: active}", "state: pending-acceptance}", "peering_connections[0]"},
		{"NAT port policy", "port_policy: sequential", "port_policy: random", "nat_gateways[0]"},
		{"NAT limit", "region: us-east-1\n", "region: us-east-1\nlimits: {nat_idle_timeout: 10}\n", "limits.nat_idle_timeout"},
		{"an internet gateway detached", "  - {id: igw-1, vpc: vpc-1}\n", "  - {id: igw-1, vpc: vpc-1}\n  - {id: igw-2}\n", "the number of internet_gateways (1, now 2)"},
		{"a VPC block", "{id: vpc-2, cidr: 10.1.0.0/16}", "{id: vpc-2, cidr: 10.1.0.0/16, secondary_cidrs: [10.2.0.0/16]}", "vpcs[1].secondary_cidrs"},
		{"source/destination check", "security_groups: [sgD]}", "security_groups: [sgD], source_dest_check: false}", "instances[1].source_dest_check"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(base, tc.from, tc.to, 1)
			if src == base {
				t.Fatalf("edit %q did not apply", tc.from)
			}
			err := RulesOnlyDiff(old, mustParse(t, src))
			if want := tc.want + " changed; apply changes rules only: run vpcemu down and up"; err == nil || err.Error() != want {
				t.Errorf("RulesOnlyDiff = %v, want %q", err, want)
			}
		})
	}
}
