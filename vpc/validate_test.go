package vpc

import (
	"errors"
	"testing"
)

// h is a valid dual-stack header that the validation cases extend.
const h = "name: t\nvpc: {cidr: 10.0.0.0/16, ipv6_cidr: \"2001:db8::/56\"}\nsubnets:\n  - {id: s1, cidr: 10.0.1.0/24, ipv6_cidr: \"2001:db8:0:1::/64\"}\n  - {id: s2, cidr: 10.0.2.0/24}\n"

// Each case is one mistake; the whole error text is asserted, position,
// field path, message and AWS code included.
var validationCases = []struct {
	name string
	yaml string
	want []string
}{
	{"bad topology name", "name: Lab_1\nvpc: {cidr: 10.0.0.0/16}\n", []string{
		"t.yaml:1:7: name: \"Lab_1\" is not valid; valid: 1-16 characters from a-z 0-9 -",
	}},
	{"topology name longer than 16", "name: abcdefghijklmnopq\nvpc: {cidr: 10.0.0.0/16}\n", []string{
		"t.yaml:1:7: name: \"abcdefghijklmnopq\" is not valid; valid: 1-16 characters from a-z 0-9 -",
	}},
	{"account not 12 digits", "name: t\naccount: 12345\nvpc: {cidr: 10.0.0.0/16}\n", []string{
		"t.yaml:2:10: account: \"12345\" is not a valid AWS account id; valid: 12 digits (quote it to keep leading zeros)",
	}},
	{"missing name and vpc", "region: us-east-1\n", []string{
		"t.yaml:1:1: name: missing; this field is required",
		"t.yaml:1:1: vpc: missing; this field is required (a mapping with id and cidr, or vpcs: a list of them)",
	}},
	{"unknown top-level key", "name: t\nvpx: {cidr: 10.0.0.0/16}\nvpc: {cidr: 10.0.0.0/16}\n", []string{
		"t.yaml:2:1: vpx: unknown field \"vpx\"; valid: name, account, region, vpc, vpcs, subnets, security_groups, network_acls, route_tables, internet_gateways, egress_only_internet_gateways, nat_gateways, elastic_ips, peering_connections, vpc_endpoints, prefix_lists, instances, internet, flow_logs, traffic_mirror, limits",
	}},
	{"key given twice", "name: t\nvpc: {cidr: 10.0.0.0/16}\nname: u\n", []string{
		"t.yaml:3:1: name: \"name\" is given twice; valid: each field once",
	}},
	{"invalid YAML", "name: t\nvpc: {cidr: 10.0.0.0/16\n", []string{
		"t.yaml:1: invalid YAML: did not find expected ',' or '}'",
	}},
	{"empty file", "", []string{
		"t.yaml:1:1: the file is empty; valid: a mapping with at least name and vpc",
	}},
	{"VPC CIDR syntax", "name: t\nvpc: {cidr: 10.0.0.300/16}\n", []string{
		"t.yaml:2:13: vpc.cidr: \"10.0.0.300/16\" is not a valid IPv4 CIDR; valid: address/length such as 10.0.0.0/16",
	}},
	{"VPC CIDR too large", "name: t\nvpc: {cidr: 10.0.0.0/8}\n", []string{
		"t.yaml:2:13: vpc.cidr: 10.0.0.0/8 is not a valid VPC block size; valid: a prefix length from /16 to /28 (InvalidVpc.Range)",
	}},
	{"VPC CIDR too small", "name: t\nvpc: {cidr: 10.0.0.0/29}\n", []string{
		"t.yaml:2:13: vpc.cidr: 10.0.0.0/29 is not a valid VPC block size; valid: a prefix length from /16 to /28 (InvalidVpc.Range)",
	}},
	{"VPC CIDR with host bits", "name: t\nvpc: {cidr: 10.0.0.1/16}\n", []string{
		"t.yaml:2:13: vpc.cidr: \"10.0.0.1/16\" has host bits set; valid: 10.0.0.0/16",
	}},
	{"VPC IPv6 CIDR is IPv4", "name: t\nvpc: {cidr: 10.0.0.0/16, ipv6_cidr: 10.1.0.0/16}\n", []string{
		"t.yaml:2:37: vpc.ipv6_cidr: \"10.1.0.0/16\" is not a valid IPv6 CIDR; valid: address/length such as 2001:db8::/56",
	}},
	{"subnet outside VPC", h + "  - {id: s3, cidr: 10.1.0.0/24}\n", []string{
		"t.yaml:6:20: subnets[2].cidr: 10.1.0.0/24 is not inside the VPC CIDR 10.0.0.0/16; valid: a block inside 10.0.0.0/16 (InvalidSubnet.Range)",
	}},
	{"subnet IPv6 outside VPC IPv6", h + "  - {id: s3, cidr: 10.0.3.0/24, ipv6_cidr: \"2001:db9::/64\"}\n", []string{
		"t.yaml:6:44: subnets[2].ipv6_cidr: 2001:db9::/64 is not inside the VPC IPv6 CIDR 2001:db8::/56; valid: a block inside 2001:db8::/56 (InvalidSubnet.Range)",
	}},
	{"subnet IPv6 without VPC IPv6", "name: t\nvpc: {cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s1, cidr: 10.0.1.0/24, ipv6_cidr: \"2001:db8::/64\"}\n", []string{
		"t.yaml:4:44: subnets[0].ipv6_cidr: the VPC has no IPv6 block; valid: set the VPC's ipv6_cidr first, or remove this field (InvalidSubnet.Range)",
	}},
	{"overlapping subnets", h + "  - {id: s3, cidr: 10.0.1.128/25}\n", []string{
		"t.yaml:6:20: subnets[2].cidr: 10.0.1.128/25 overlaps s1 10.0.1.0/24 (subnets[0]); valid: a block that overlaps no other subnet (InvalidSubnet.Conflict)",
	}},
	{"overlapping IPv6 subnets", h + "  - {id: s3, cidr: 10.0.3.0/24, ipv6_cidr: \"2001:db8:0:1::/64\"}\n", []string{
		"t.yaml:6:44: subnets[2].ipv6_cidr: 2001:db8:0:1::/64 overlaps s1 2001:db8:0:1::/64 (subnets[0]); valid: a block that overlaps no other subnet (InvalidSubnet.Conflict)",
	}},
	{"duplicate subnet id", h + "  - {id: s1, cidr: 10.0.3.0/24}\n", []string{
		"t.yaml:6:10: subnets[2].id: duplicate subnet id \"s1\"; valid: an id used once",
	}},
	{"subnet unknown NACL", h + "  - {id: s3, cidr: 10.0.3.0/24, network_acl: acl-nope}\n", []string{
		"t.yaml:6:46: subnets[2].network_acl: unknown network ACL \"acl-nope\"; valid: acl-default (InvalidNetworkAclID.NotFound)",
	}},
	{"subnet unknown key", h + "  - {id: s3, cidr: 10.0.3.0/24, route: rt-1}\n", []string{
		"t.yaml:6:33: subnets[2].route: unknown field \"route\"; valid: id, vpc, cidr, ipv6_cidr, az, public, route_table, network_acl, map_public_ip_on_launch, tags",
	}},
	{"instance IP outside its subnet", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.2.10}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: 10.0.2.10 is not inside subnet s1 10.0.1.0/24; valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
	}},
	{"instance IP is the network address", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.0}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: 10.0.1.0 is reserved by AWS in subnet s1 10.0.1.0/24 (the first four addresses and the last); valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
	}},
	{"instance IP is the router", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.1}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: 10.0.1.1 is reserved by AWS in subnet s1 10.0.1.0/24 (the first four addresses and the last); valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
	}},
	{"instance IP is the DNS address", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.2}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: 10.0.1.2 is reserved by AWS in subnet s1 10.0.1.0/24 (the first four addresses and the last); valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
	}},
	{"instance IP is reserved for future use", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.3}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: 10.0.1.3 is reserved by AWS in subnet s1 10.0.1.0/24 (the first four addresses and the last); valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
	}},
	{"instance IP is the broadcast address", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.255}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: 10.0.1.255 is reserved by AWS in subnet s1 10.0.1.0/24 (the first four addresses and the last); valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
	}},
	{"instance IPv6 reserved", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: \"2001:db8:0:1::2\"}\n", []string{
		"t.yaml:7:56: instances[0].ipv6: 2001:db8:0:1::2 is reserved by AWS in subnet s1 2001:db8:0:1::/64 (the first four addresses and the last); valid: an address from 2001:db8:0:1::4 to 2001:db8:0:1:ffff:ffff:ffff:fffe (InvalidParameterValue)",
	}},
	{"instance IPv6 outside subnet", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: \"2001:db8:0:2::10\"}\n", []string{
		"t.yaml:7:56: instances[0].ipv6: 2001:db8:0:2::10 is not inside subnet s1 2001:db8:0:1::/64; valid: an address from 2001:db8:0:1::4 to 2001:db8:0:1:ffff:ffff:ffff:fffe (InvalidParameterValue)",
	}},
	{"instance IPv6 in subnet without IPv6", h + "instances:\n  - {id: i-a, subnet: s2, private_ip: 10.0.2.10, ipv6: \"2001:db8:0:1::10\"}\n", []string{
		"t.yaml:7:56: instances[0].ipv6: subnet s2 has no IPv6 block; valid: give the subnet an ipv6_cidr, or remove this field (InvalidParameterValue)",
	}},
	{"instance private IP syntax", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.1000}\n", []string{
		"t.yaml:7:39: instances[0].private_ip: \"10.0.1.1000\" is not a valid IPv4 address; valid: an address such as 10.0.1.10",
	}},
	{"public IP inside the VPC", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, public_ip: 10.0.5.5}\n", []string{
		"t.yaml:7:61: instances[0].public_ip: 10.0.5.5 is inside the VPC CIDR 10.0.0.0/16; valid: an address outside the VPC, e.g. from 203.0.113.0/24",
	}},
	{"duplicate instance id", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10}\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.11}\n", []string{
		"t.yaml:8:10: instances[1].id: id \"i-a\" is already used by instances[0].id (line 7); valid: a unique value",
	}},
	{"duplicate private IP", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10}\n  - {id: i-b, subnet: s1, private_ip: 10.0.1.10}\n", []string{
		"t.yaml:8:39: instances[1].private_ip: 10.0.1.10 is already used by instances[0].private_ip (line 7); valid: a unique value (InvalidIPAddress.InUse)",
	}},
	{"duplicate public IP", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, public_ip: 203.0.113.10}\n  - {id: i-b, subnet: s1, private_ip: 10.0.1.11, public_ip: 203.0.113.10}\n", []string{
		"t.yaml:8:61: instances[1].public_ip: 203.0.113.10 is already used by instances[0].public_ip (line 7); valid: a unique value",
	}},
	{"public IP equals an internet host IP", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, public_ip: 203.0.113.10}\ninternet:\n  - {name: h, ip: 203.0.113.10}\n", []string{
		"t.yaml:9:19: internet[0].ip: 203.0.113.10 is already used by instances[0].public_ip (line 7); valid: a unique value",
	}},
	{"duplicate IPv6", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: \"2001:db8:0:1::10\"}\n  - {id: i-b, subnet: s1, private_ip: 10.0.1.11, ipv6: \"2001:db8:0:1::10\"}\n", []string{
		"t.yaml:8:56: instances[1].ipv6: 2001:db8:0:1::10 is already used by instances[0].ipv6 (line 7); valid: a unique value (InvalidIPAddress.InUse)",
	}},
	{"duplicate explicit ENI", h + "instances:\n  - {id: i-a, eni: eni-a, subnet: s1, private_ip: 10.0.1.10}\n  - {id: i-b, eni: eni-a, subnet: s1, private_ip: 10.0.1.11}\n", []string{
		"t.yaml:8:20: instances[1].eni: ENI id \"eni-a\" is already used by instances[0].eni (line 7); valid: a unique value",
	}},
	{"bad ENI id", h + "instances:\n  - {id: i-a, eni: nic-1, subnet: s1, private_ip: 10.0.1.10}\n", []string{
		"t.yaml:7:20: instances[0].eni: \"nic-1\" is not valid; valid: eni- followed by 1-32 characters from A-Z a-z 0-9 -",
	}},
	{"unknown subnet", h + "instances:\n  - {id: i-a, subnet: s9, private_ip: 10.0.1.10}\n", []string{
		"t.yaml:7:23: instances[0].subnet: unknown subnet \"s9\"; valid: s1, s2 (InvalidSubnetID.NotFound)",
	}},
	{"unknown security group on instance", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: [sg-nope]}\n", []string{
		"t.yaml:7:68: instances[0].security_groups[0]: unknown security group \"sg-nope\"; valid: default (InvalidGroup.NotFound)",
	}},
	{"empty security group list", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: []}\n", []string{
		"t.yaml:7:67: instances[0].security_groups: an ENI needs at least one security group; valid: a list of security group ids, or no security_groups key for the default group (InvalidParameterValue)",
	}},
	{"security group listed twice", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, security_groups: [default, default]}\n", []string{
		"t.yaml:7:77: instances[0].security_groups[1]: security group \"default\" is listed twice; valid: each group once",
	}},
	{"unknown os", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, os: ubuntu}\n", []string{
		"t.yaml:7:54: instances[0].os: \"ubuntu\" is not a known OS profile; valid: amazon-linux, linux, windows, windows-2003, nat-gateway, elb, lambda",
	}},
	{"unknown service", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, services: [ftp]}\n", []string{
		"t.yaml:7:61: instances[0].services[0]: \"ftp\" is not a valid service; valid: http, https, ssh, \"tcp:PORT\" or \"udp:PORT\" with PORT 1-65535",
	}},
	{"service port out of range", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, services: [\"udp:0\"]}\n", []string{
		"t.yaml:7:61: instances[0].services[0]: \"udp:0\" is not a valid service; valid: http, https, ssh, \"tcp:PORT\" or \"udp:PORT\" with PORT 1-65535",
	}},
	{"two services on one port", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, services: [ssh, \"tcp:22\"]}\n", []string{
		"t.yaml:7:66: instances[0].services[1]: \"tcp:22\" listens on tcp/22 like \"ssh\"; valid: one service per port",
	}},
	{"instance id with a slash", h + "instances:\n  - {id: i/a, subnet: s1, private_ip: 10.0.1.10}\n", []string{
		"t.yaml:7:10: instances[0].id: \"i/a\" is not valid; valid: 1-64 characters from A-Z a-z 0-9 _ - starting with a letter or digit",
	}},
	{"instance missing private_ip", h + "instances:\n  - {id: i-a, subnet: s1}\n", []string{
		"t.yaml:7:5: instances[0].private_ip: missing; this field is required",
	}},
	{"conntrack tcp timeout too short", h + "instances:\n  - id: i-a\n    subnet: s1\n    private_ip: 10.0.1.10\n    conntrack: {tcp_established_timeout: 59}\n", []string{
		"t.yaml:10:42: instances[0].conntrack.tcp_established_timeout: \"59\" is not valid; valid: seconds from 60 to 432000 (InvalidParameterValue)",
	}},
	{"conntrack tcp timeout too long", h + "instances:\n  - id: i-a\n    subnet: s1\n    private_ip: 10.0.1.10\n    conntrack: {tcp_established_timeout: 432001}\n", []string{
		"t.yaml:10:42: instances[0].conntrack.tcp_established_timeout: \"432001\" is not valid; valid: seconds from 60 to 432000 (InvalidParameterValue)",
	}},
	{"conntrack udp timeout", h + "instances:\n  - id: i-a\n    subnet: s1\n    private_ip: 10.0.1.10\n    conntrack: {udp_timeout: 61}\n", []string{
		"t.yaml:10:30: instances[0].conntrack.udp_timeout: \"61\" is not valid; valid: seconds from 30 to 60 (InvalidParameterValue)",
	}},
	{"conntrack udp stream timeout", h + "instances:\n  - id: i-a\n    subnet: s1\n    private_ip: 10.0.1.10\n    conntrack: {udp_stream_timeout: 59}\n", []string{
		"t.yaml:10:37: instances[0].conntrack.udp_stream_timeout: \"59\" is not valid; valid: seconds from 60 to 180 (InvalidParameterValue)",
	}},
	{"conntrack negative max entries", h + "instances:\n  - id: i-a\n    subnet: s1\n    private_ip: 10.0.1.10\n    conntrack: {max_entries: -1}\n", []string{
		"t.yaml:10:30: instances[0].conntrack.max_entries: \"-1\" is not valid; valid: 0 (unlimited) or a positive number of tracked connections",
	}},
	{"conntrack unknown key", h + "instances:\n  - id: i-a\n    subnet: s1\n    private_ip: 10.0.1.10\n    conntrack: {tcp_timeout: 100}\n", []string{
		"t.yaml:10:17: instances[0].conntrack.tcp_timeout: unknown field \"tcp_timeout\"; valid: tcp_established_timeout, udp_timeout, udp_stream_timeout, max_entries",
	}},
	{"internet host inside the VPC", h + "internet:\n  - {name: h, ip: 10.0.1.50}\n", []string{
		"t.yaml:7:19: internet[0].ip: 10.0.1.50 is inside the VPC CIDR 10.0.0.0/16; valid: an address outside the VPC, e.g. from 198.51.100.0/24",
	}},
	{"internet host IPv6 inside the VPC", h + "internet:\n  - {name: h, ip: 198.51.100.1, ipv6: \"2001:db8::5\"}\n", []string{
		"t.yaml:7:39: internet[0].ipv6: 2001:db8::5 is inside the VPC IPv6 CIDR 2001:db8::/56; valid: an address outside the VPC",
	}},
	{"duplicate internet host", h + "internet:\n  - {name: h, ip: 198.51.100.1}\n  - {name: h, ip: 198.51.100.2}\n", []string{
		"t.yaml:8:12: internet[1].name: name \"h\" is already used by internet[0].name (line 7); valid: a unique value",
	}},
	{"duplicate host IP", h + "internet:\n  - {name: h, ip: 198.51.100.1}\n  - {name: g, ip: 198.51.100.1}\n", []string{
		"t.yaml:8:19: internet[1].ip: 198.51.100.1 is already used by internet[0].ip (line 7); valid: a unique value",
	}},
	{"host name equals an instance id", h + "instances:\n  - {id: web, subnet: s1, private_ip: 10.0.1.10}\ninternet:\n  - {name: web, ip: 198.51.100.1}\n", []string{
		"t.yaml:9:12: internet[0].name: name \"web\" is already used by instances[0].id (line 7); valid: a unique value",
	}},
	{"host unknown os", h + "internet:\n  - {name: h, ip: 198.51.100.1, os: beos}\n", []string{
		"t.yaml:7:37: internet[0].os: \"beos\" is not a known OS profile; valid: amazon-linux, linux, windows, windows-2003, nat-gateway, elb, lambda",
	}},
	{"duplicate security group id", h + "security_groups:\n  - {id: sga}\n  - {id: sga}\n", []string{
		"t.yaml:8:10: security_groups[1].id: duplicate security group id \"sga\"; valid: an id used once",
	}},
	{"SG name starting with sg-", h + "security_groups:\n  - {id: sga, name: sg-web}\n", []string{
		"t.yaml:7:21: security_groups[0].name: \"sg-web\" starts with \"sg-\"; valid: a name that does not start with sg- (AWS reserves it for ids) (InvalidParameterValue)",
	}},
	{"duplicate SG name", h + "security_groups:\n  - {id: sga, name: web}\n  - {id: sgb, name: web}\n", []string{
		"t.yaml:8:21: security_groups[1].name: security group name \"web\" is already used by sga; valid: a name unique in the VPC (InvalidGroup.Duplicate)",
	}},
	{"SG rule unknown protocol", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: sctp, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:20: security_groups[0].ingress[0].protocol: \"sctp\" is not a valid protocol; valid: tcp, udp, icmp, icmpv6, all, -1 or a protocol number 0-255 (InvalidParameterValue)",
	}},
	{"SG rule protocol number too big", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: 256, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:20: security_groups[0].ingress[0].protocol: \"256\" is not a valid protocol; valid: tcp, udp, icmp, icmpv6, all, -1 or a protocol number 0-255 (InvalidParameterValue)",
	}},
	{"SG rule missing protocol", h + "security_groups:\n  - id: sga\n    ingress:\n      - {ports: 22, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:9: security_groups[0].ingress[0].protocol: missing; this field is required",
	}},
	{"SG rule port too big", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 70000, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:32: security_groups[0].ingress[0].ports: \"70000\" is not a valid port range; valid: a number 0-65535 or \"FROM-TO\" with FROM <= TO (InvalidParameterValue)",
	}},
	{"SG rule reversed range", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: udp, ports: \"2000-1000\", cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:32: security_groups[0].ingress[0].ports: \"2000-1000\" is not a valid port range; valid: a number 0-65535 or \"FROM-TO\" with FROM <= TO (InvalidParameterValue)",
	}},
	{"SG rule port words", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: http, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:32: security_groups[0].ingress[0].ports: \"http\" is not a valid port range; valid: a number 0-65535 or \"FROM-TO\" with FROM <= TO (InvalidParameterValue)",
	}},
	{"SG rule ICMP type out of range", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: icmp, icmp_type: 256, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:37: security_groups[0].ingress[0].icmp_type: \"256\" is not valid; valid: -1 (any) or an ICMP type 0-255 (InvalidParameterValue)",
	}},
	{"SG rule ICMP code without type", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: icmpv6, icmp_type: -1, icmp_code: 0, ipv6_cidr: \"::/0\"}\n", []string{
		"t.yaml:9:54: security_groups[0].ingress[0].icmp_code: icmp_code 0 needs a specific icmp_type; valid: icmp_code -1 when icmp_type is -1 (any) (InvalidParameterValue)",
	}},
	{"SG rule without peer", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 22}\n", []string{
		"t.yaml:9:9: security_groups[0].ingress[0]: a rule needs a peer; valid: exactly one of cidr, ipv6_cidr, source_group, prefix_list (MissingParameter)",
	}},
	{"SG rule with two peers", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 22, cidr: 0.0.0.0/0, ipv6_cidr: \"::/0\"}\n", []string{
		"t.yaml:9:64: security_groups[0].ingress[0].ipv6_cidr: a rule has one peer but this one also has cidr; valid: exactly one of cidr, ipv6_cidr, source_group, prefix_list (InvalidParameterCombination)",
	}},
	{"SG rule IPv6 in cidr", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 22, cidr: \"::/0\"}\n", []string{
		"t.yaml:9:42: security_groups[0].ingress[0].cidr: \"::/0\" is not a valid IPv4 CIDR; valid: address/length such as 10.0.0.0/16",
	}},
	{"SG rule bare address", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 22, cidr: 198.51.100.10}\n", []string{
		"t.yaml:9:42: security_groups[0].ingress[0].cidr: \"198.51.100.10\" is not a valid IPv4 CIDR; valid: address/length such as 10.0.0.0/16 (a single address is 198.51.100.10/32)",
	}},
	{"SG rule unknown source_group", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 22, source_group: sg-nope}\n", []string{
		"t.yaml:9:50: security_groups[0].ingress[0].source_group: unknown security group \"sg-nope\"; valid: default, sga (InvalidGroup.NotFound)",
	}},
	{"SG rule unknown prefix list", h + "security_groups:\n  - id: sga\n    egress:\n      - {protocol: tcp, ports: 443, prefix_list: pl-nope}\n", []string{
		"t.yaml:9:50: security_groups[0].egress[0].prefix_list: unknown prefix list \"pl-nope\"; valid: none are defined (InvalidPrefixListID.NotFound)",
	}},
	{"SG rule unknown key", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, port: 22, cidr: 0.0.0.0/0}\n", []string{
		"t.yaml:9:25: security_groups[0].ingress[0].port: unknown field \"port\"; valid: id, protocol, ports, icmp_type, icmp_code, cidr, ipv6_cidr, source_group, prefix_list, description, tags",
	}},
	{"duplicate SG rule after masking", h + "security_groups:\n  - id: sga\n    ingress:\n      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/16}\n      - {protocol: 6, ports: \"22-22\", cidr: 10.0.7.7/16, description: same}\n", []string{
		"t.yaml:10:9: security_groups[0].ingress[1]: the same rule as ingress[0] (protocol, ports and peer); valid: each rule once (InvalidPermission.Duplicate)",
	}},
	{"rules is not a list", h + "security_groups:\n  - id: sga\n    ingress: {protocol: tcp}\n", []string{
		"t.yaml:8:14: security_groups[0].ingress: a mapping is not a list; valid: a list (- item or [a, b])",
	}},
	{"NACL rule number 0", h + "network_acls:\n  - id: n1\n    ingress:\n      - {rule: 0, protocol: all, cidr: 0.0.0.0/0, action: allow}\n", []string{
		"t.yaml:9:16: network_acls[0].ingress[0].rule: \"0\" is not valid; valid: a rule number from 1 to 32766 (32767 and up are AWS's) (InvalidParameterValue)",
	}},
	{"NACL rule number 32767", h + "network_acls:\n  - id: n1\n    egress:\n      - {rule: 32767, protocol: all, cidr: 0.0.0.0/0, action: deny}\n", []string{
		"t.yaml:9:16: network_acls[0].egress[0].rule: \"32767\" is not valid; valid: a rule number from 1 to 32766 (32767 and up are AWS's) (InvalidParameterValue)",
	}},
	{"NACL rule number missing", h + "network_acls:\n  - id: n1\n    egress:\n      - {protocol: all, cidr: 0.0.0.0/0, action: deny}\n", []string{
		"t.yaml:9:9: network_acls[0].egress[0].rule: missing; this field is required",
	}},
	{"duplicate NACL rule number", h + "network_acls:\n  - id: n1\n    ingress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n      - {rule: 100, protocol: tcp, ports: 22, cidr: 0.0.0.0/0, action: deny}\n", []string{
		"t.yaml:10:16: network_acls[0].ingress[1].rule: rule number 100 is already used by ingress[0]; valid: a number unique per direction (NetworkAclEntryAlreadyExists)",
	}},
	{"one rule number for IPv4 and IPv6 in one direction", h + "network_acls:\n  - id: n1\n    ingress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n      - {rule: 100, protocol: all, ipv6_cidr: \"::/0\", action: allow}\n", []string{
		"t.yaml:12:16: network_acls[0].egress[1].rule: rule number 100 is already used by egress[0]; valid: a number unique per direction (NetworkAclEntryAlreadyExists)",
	}},
	{"NACL bad action", h + "network_acls:\n  - id: n1\n    ingress:\n      - {rule: 1, protocol: all, cidr: 0.0.0.0/0, action: reject}\n", []string{
		"t.yaml:9:59: network_acls[0].ingress[0].action: \"reject\" is not a valid action; valid: allow or deny (InvalidParameterValue)",
	}},
	{"NACL rule without CIDR", h + "network_acls:\n  - id: n1\n    ingress:\n      - {rule: 1, protocol: all, action: deny}\n", []string{
		"t.yaml:9:9: network_acls[0].ingress[0]: a rule needs a CIDR; valid: exactly one of cidr, ipv6_cidr (MissingParameter)",
	}},
	{"NACL rule port range", h + "network_acls:\n  - id: n1\n    ingress:\n      - {rule: 1, protocol: tcp, ports: \"1024-\", cidr: 0.0.0.0/0, action: allow}\n", []string{
		"t.yaml:9:41: network_acls[0].ingress[0].ports: \"1024-\" is not a valid port range; valid: a number 0-65535 or \"FROM-TO\" with FROM <= TO (InvalidParameterValue)",
	}},
	{"duplicate NACL id", h + "network_acls:\n  - {id: n1}\n  - {id: n1}\n", []string{
		"t.yaml:8:10: network_acls[1].id: duplicate network ACL id \"n1\"; valid: an id used once",
	}},
	{"prefix list entries of two families", h + "prefix_lists:\n  - {id: pl-1, max_entries: 5, cidrs: [10.0.0.0/8, \"2001:db8::/32\"]}\n", []string{
		"t.yaml:7:52: prefix_lists[0].cidrs[1]: 2001:db8::/32 is IPv6 but the list's first entry is IPv4; valid: entries of one address family",
	}},
	{"prefix list over max entries", h + "prefix_lists:\n  - {id: pl-1, max_entries: 1, cidrs: [10.0.0.0/8, 192.168.0.0/16]}\n", []string{
		"t.yaml:7:39: prefix_lists[0].cidrs: 2 entries exceed max_entries 1; valid: at most max_entries entries (PrefixListMaxEntriesExceeded)",
	}},
	{"duplicate prefix list", h + "prefix_lists:\n  - {id: pl-1, cidrs: [10.0.0.0/8]}\n  - {id: pl-1, cidrs: [10.0.0.0/8]}\n", []string{
		"t.yaml:8:10: prefix_lists[1].id: duplicate prefix list id \"pl-1\"; valid: an id used once",
	}},
	{"flow log unknown resource", h + "flow_logs:\n  - {id: fl-1, resource: vpc-nope}\n", []string{
		"t.yaml:7:26: flow_logs[0].resource: unknown resource \"vpc-nope\"; valid: a VPC id, a subnet id, an instance id or an ENI id (s1, s2, vpc-t)",
	}},
	{"flow log interval 0", h + "flow_logs:\n  - {id: fl-1, resource: vpc-t, max_aggregation_interval: 0}\n", []string{
		"t.yaml:7:59: flow_logs[0].max_aggregation_interval: \"0\" is not valid; valid: seconds from 1 to 600 (AWS offers 60 and 600) (InvalidParameterValue)",
	}},
	{"flow log interval 601", h + "flow_logs:\n  - {id: fl-1, resource: vpc-t, max_aggregation_interval: 601}\n", []string{
		"t.yaml:7:59: flow_logs[0].max_aggregation_interval: \"601\" is not valid; valid: seconds from 1 to 600 (AWS offers 60 and 600) (InvalidParameterValue)",
	}},
	{"flow log traffic type", h + "flow_logs:\n  - {id: fl-1, resource: vpc-t, traffic_type: DROP}\n", []string{
		"t.yaml:7:47: flow_logs[0].traffic_type: \"DROP\" is not a valid traffic type; valid: ACCEPT, REJECT or ALL (InvalidParameterValue)",
	}},
	{"flow log unknown field", h + "flow_logs:\n  - {id: fl-1, resource: vpc-t, log_format: \"${version} ${src-addr}\"}\n", []string{
		"t.yaml:7:45: flow_logs[0].log_format: unknown field ${src-addr}; valid: version, account-id, interface-id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, start, end, action, log-status, vpc-id, subnet-id, instance-id, tcp-flags, type, pkt-srcaddr, pkt-dstaddr, region, az-id, sublocation-type, sublocation-id, pkt-src-aws-service, pkt-dst-aws-service, flow-direction, traffic-path, ecs-cluster-arn, ecs-cluster-name, ecs-container-instance-arn, ecs-container-instance-id, ecs-container-id, ecs-second-container-id, ecs-service-name, ecs-task-definition-arn, ecs-task-arn, ecs-task-id, reject-reason (InvalidParameter)",
	}},
	{"flow log repeated field", h + "flow_logs:\n  - {id: fl-1, resource: vpc-t, log_format: \"${version} ${version}\"}\n", []string{
		"t.yaml:7:45: flow_logs[0].log_format: ${version} is given twice; valid: each field once (InvalidParameter)",
	}},
	{"flow log malformed token", h + "flow_logs:\n  - {id: fl-1, resource: vpc-t, log_format: \"$version\"}\n", []string{
		"t.yaml:7:45: flow_logs[0].log_format: \"$version\" is not a ${field} token; valid: ${field} tokens separated by spaces, e.g. ${version} ${srcaddr} (InvalidParameter)",
	}},
	{"flow log file format", h + "flow_logs:\n  - {id: fl-1, resource: s1, file_format: json}\n", []string{
		"t.yaml:7:43: flow_logs[0].file_format: \"json\" is not a valid file format; valid: plain-text or parquet (InvalidParameterValue)",
	}},
	{"flow log not a boolean", h + "flow_logs:\n  - {id: fl-1, resource: s1, hive_compatible_partitions: maybe}\n", []string{
		"t.yaml:7:58: flow_logs[0].hive_compatible_partitions: \"maybe\" is not valid; valid: true or false",
	}},
	{"duplicate flow log id", h + "flow_logs:\n  - {id: fl-1, resource: s1}\n  - {id: fl-1, resource: s2}\n", []string{
		"t.yaml:8:10: flow_logs[1].id: duplicate flow log id \"fl-1\"; valid: an id used once",
	}},
	{"limits value", h + "limits: {rules_per_security_group: -5}\n", []string{
		"t.yaml:6:36: limits.rules_per_security_group: \"-5\" is not valid; valid: a whole number from 1 to 100000",
	}},
	{"VPC CIDR in link-local space", "name: t\nvpc: {cidr: 169.254.0.0/16}\n", []string{
		"t.yaml:2:13: vpc.cidr: 169.254.0.0/16 overlaps the reserved block 169.254.0.0/16; valid: a private block such as 10.0.0.0/16 (InvalidVpc.Range)",
	}},
	{"VPC IPv6 CIDR link-local", "name: t\nvpc: {cidr: 10.0.0.0/16, ipv6_cidr: \"fe80::/56\"}\n", []string{
		"t.yaml:2:37: vpc.ipv6_cidr: fe80::/56 overlaps the reserved block fe80::/10; valid: a global or unique-local block such as 2001:db8::/56 (InvalidVpc.Range)",
	}},
	{"internet host on loopback", h + "internet:\n  - {name: h, ip: 127.0.0.1}\n", []string{
		"t.yaml:7:19: internet[0].ip: 127.0.0.1 is not an address a host can use (unspecified, loopback, link-local, multicast or broadcast); valid: a unicast address such as 10.0.1.10",
	}},
	{"internet host IPv6 link-local", h + "internet:\n  - {name: h, ip: 198.51.100.1, ipv6: \"fe80::1\"}\n", []string{
		"t.yaml:7:39: internet[0].ipv6: fe80::1 is not an address a host can use (unspecified, loopback, link-local, multicast or broadcast); valid: a unicast address such as 2001:db8:1::10",
	}},
	{"public IP multicast", h + "instances:\n  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, public_ip: 224.0.0.1}\n", []string{
		"t.yaml:7:61: instances[0].public_ip: 224.0.0.1 is not an address a host can use (unspecified, loopback, link-local, multicast or broadcast); valid: a unicast address such as 10.0.1.10",
	}},
}

func TestValidationErrors(t *testing.T) {
	for _, tc := range validationCases {
		t.Run(tc.name, func(t *testing.T) {
			got := parseErrors(t, tc.yaml)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(tc.want), joinLines(got))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("error %d:\n got: %s\nwant: %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// parseErrors parses src as t.yaml and returns its error texts; it fails
// the test when src parses or the error is not an ErrorList.
func parseErrors(t *testing.T, src string) []string {
	t.Helper()
	topo, err := Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatalf("parsed without error: %+v", topo)
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not an ErrorList: %v", err, err)
	}
	if topo != nil {
		t.Errorf("Parse returned a topology along with errors")
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	if err.Error() != joinLines(out) {
		t.Errorf("ErrorList.Error() = %q, want the errors one per line", err.Error())
	}
	return out
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "\n"
		}
		out += l
	}
	return out
}
