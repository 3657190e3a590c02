package importer

import (
	"fmt"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// GenerateAccount is an account for the import benchmark: vpcs VPCs
// (10.N.0.0/16, at most 200) of four /24 subnets, each with two instances;
// groups security groups spread over the VPCs, each with rules rules
// (three in five ingress) whose peers are CIDRs, other groups of the VPC and
// a prefix list; a custom network ACL of ten rules per VPC. Export it with
// ExportAWS to get the describe JSON of a Batfish snapshot.
func GenerateAccount(vpcs, groups, rules int) *vpc.Topology {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("name: account\naccount: %q\nregion: us-east-1\nlimits: {rules_per_security_group: %d}\n", vpc.DefaultAccount, max(60, rules))
	w("prefix_lists:\n  - {id: pl-office, max_entries: 4, cidrs: [198.51.100.0/26, 198.51.100.64/26]}\nvpcs:\n")
	for v := range vpcs {
		w("  - {id: vpc-%04d, cidr: 10.%d.0.0/16, tags: {Name: vpc-%d, env: bench}}\n", v, v, v)
	}
	w("subnets:\n")
	for v := range vpcs {
		for s := range 4 {
			w("  - {id: subnet-%04d-%d, vpc: vpc-%04d, cidr: 10.%d.%d.0/24, az: us-east-1%c, network_acl: acl-%04d}\n", v, s, v, v, s, 'a'+s%3, v)
		}
	}
	perVPC := (groups + vpcs - 1) / max(vpcs, 1)
	w("security_groups:\n")
	for g := range groups {
		v := g / perVPC
		w("  - id: sg-%05d\n    vpc: vpc-%04d\n    name: group-%d\n    description: generated group %d\n", g, v, g, g)
		for dir, n := range map[string]int{"ingress": rules * 3 / 5, "egress": rules - rules*3/5} {
			w("    %s:\n", dir)
			for r := range n {
				switch r % 4 {
				case 0:
					peer := g - 1 - r%perVPC
					if peer < v*perVPC {
						peer += perVPC
					}
					if peer >= groups {
						peer = v * perVPC
					}
					w("      - {protocol: tcp, ports: %d, source_group: sg-%05d}\n", 1000+r, peer)
				case 1:
					w("      - {protocol: tcp, ports: %d, prefix_list: pl-office}\n", 1000+r)
				case 2:
					w("      - {protocol: udp, ports: %d-%d, cidr: 172.%d.%d.0/24}\n", 2000+r, 2010+r, 16+r%16, g%256)
				default:
					w("      - {protocol: tcp, ports: %d, cidr: 10.%d.%d.%d/32, description: rule %d}\n", 3000+r, v, r%256, g%250+1, r)
				}
			}
		}
	}
	w("network_acls:\n")
	for v := range vpcs {
		w("  - id: acl-%04d\n    vpc: vpc-%04d\n    ingress:\n", v, v)
		for r := range 8 {
			w("      - {rule: %d, protocol: tcp, ports: %d, cidr: 0.0.0.0/0, action: allow}\n", 100+10*r, 20+r)
		}
		w("      - {rule: 900, protocol: all, cidr: 10.0.0.0/8, action: allow}\n    egress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n")
	}
	w("instances:\n")
	for v := range vpcs {
		for s := range 4 {
			for i := range 2 {
				w("  - {id: i-%04d-%d-%d, subnet: subnet-%04d-%d, private_ip: 10.%d.%d.%d, security_groups: [sg-%05d]}\n", v, s, i, v, s, v, s, 10+i, min(v*perVPC+s, groups-1))
			}
		}
	}
	t, err := vpc.Parse("account.yaml", []byte(b.String()))
	if err != nil {
		panic(fmt.Sprintf("importer: the generated account is invalid: %v", err))
	}
	return t
}
