package vpc

import "testing"

// hr is a valid two-VPC header (vpc-a dual-stack, vpc-b IPv4) with an
// internet gateway for each and a detached one, that routing cases extend.
const hr = `name: t
vpcs:
  - {id: vpc-a, cidr: 10.0.0.0/16, ipv6_cidr: "2001:db8::/56"}
  - {id: vpc-b, cidr: 10.1.0.0/16}
subnets:
  - {id: a1, vpc: vpc-a, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:0:1::/64"}
  - {id: a2, vpc: vpc-a, cidr: 10.0.2.0/24}
  - {id: b1, vpc: vpc-b, cidr: 10.1.1.0/24}
internet_gateways:
  - {id: igw-a, vpc: vpc-a}
  - {id: igw-b, vpc: vpc-b}
  - {id: igw-off}
`

// hr2 is two VPCs and one subnet, for cases that add subnets.
const hr2 = "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16}\n  - {id: vpc-b, cidr: 10.1.0.0/16}\nsubnets:\n"

// routingCases are mistakes in files with several VPCs and routing
// objects; as validationCases, the whole error text is asserted.
var routingCases = []struct {
	name string
	yaml string
	want []string
}{
	{"object without vpc in a file with several VPCs", "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16}\n  - {id: vpc-b, cidr: 10.1.0.0/16}\nsubnets:\n  - {id: s1, cidr: 10.0.1.0/24}\n", []string{
		"t.yaml:6:5: subnets[0].vpc: missing; a file with several VPCs names each object's VPC; valid: vpc-a, vpc-b (MissingParameter)",
	}},
	{"unknown vpc", "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s1, vpc: vpc-x, cidr: 10.0.1.0/24}\n", []string{
		"t.yaml:5:19: subnets[0].vpc: unknown VPC \"vpc-x\"; valid: vpc-a (InvalidVpcID.NotFound)",
	}},
	{"vpc and vpcs", "name: t\nvpc: {cidr: 10.0.0.0/16}\nvpcs: []\n", []string{
		"t.yaml:3:7: vpcs: a file has either vpc: (one VPC) or vpcs: (a list), not both; valid: move vpc: into the vpcs: list (InvalidParameterCombination)",
	}},
	{"empty vpcs", "name: t\nvpcs: []\n", []string{
		"t.yaml:2:7: vpcs: the list is empty; valid: at least one VPC, each a mapping with id and cidr",
	}},
	{"duplicate VPC id", "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16}\n  - {id: vpc-a, cidr: 10.1.0.0/16}\n", []string{
		"t.yaml:4:10: vpcs[1].id: duplicate VPC id \"vpc-a\"; valid: an id used once",
	}},
	{"VPC in a list without id", "name: t\nvpcs:\n  - {cidr: 10.0.0.0/16}\n", []string{
		"t.yaml:3:5: vpcs[0].id: missing; this field is required",
	}},
	{"secondary blocks", "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16, secondary_cidrs: [10.0.128.0/17, 10.2.0.0/16, 10.3.0.0/16, 10.4.0.0/16, 10.5.0.0/16]}\n", []string{
		"t.yaml:3:53: vpcs[0].secondary_cidrs: 5 secondary blocks; valid: at most 4 (AWS's default of 5 IPv4 blocks per VPC) (CidrLimitExceeded)",
		"t.yaml:3:54: vpcs[0].secondary_cidrs[0]: 10.0.128.0/17 overlaps the primary block 10.0.0.0/16; valid: a block that overlaps no other block of the VPC (InvalidVpc.Range)",
	}},
	{"subnets of overlapping VPCs", "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16, secondary_cidrs: [10.9.0.0/16]}\n  - {id: vpc-b, cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s1, vpc: vpc-a, cidr: 10.9.1.0/24}\n  - {id: s2, vpc: vpc-b, cidr: 10.9.1.0/24}\n  - {id: s3, vpc: vpc-b, cidr: 10.0.1.0/24}\n  - {id: s4, vpc: vpc-a, cidr: 10.0.1.0/24}\n", []string{
		"t.yaml:7:32: subnets[1].cidr: 10.9.1.0/24 is not inside the VPC CIDR 10.0.0.0/16; valid: a block inside 10.0.0.0/16 (InvalidSubnet.Range)",
		"t.yaml:9:32: subnets[3].cidr: 10.0.1.0/24 overlaps s3 10.0.1.0/24 (subnets[2]) of vpc-b; valid: a block that overlaps no other subnet, in any VPC of the topology (vpcemu finds subnets by address) (InvalidSubnet.Conflict)",
	}},
	{"id used by two kinds", hr + "security_groups:\n  - {id: a1, vpc: vpc-a}\n", []string{
		"t.yaml:14:10: security_groups[0].id: id \"a1\" is already the id of subnet subnets[0] (line 6); valid: an id unique across all objects (routes name their targets by id alone)",
	}},
	{"id of a default object", hr + "network_acls:\n  - {id: default, vpc: vpc-a}\n", []string{
		"t.yaml:14:10: network_acls[0].id: \"default\" is the id of vpc-a's default security group; valid: another id, or set default_security_group on vpc-a",
	}},
	{"default group in another VPC", hr + "security_groups:\n  - {id: default, vpc: vpc-b}\n", []string{
		"t.yaml:14:10: security_groups[0].id: \"default\" is the id of vpc-a's default security group but this security group is in vpc-b; valid: vpc: vpc-a, or another id, or set default_security_group on vpc-a",
	}},
	{"one id for two default objects", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16, default_security_group: sg-d, default_network_acl: sg-d}\n", []string{
		"t.yaml:2:88: vpc.default_network_acl: \"sg-d\" is already the default security group of vpc-a; valid: an id of its own for each default object",
	}},
	{"NACL and route table of another VPC", hr2 + "  - {id: b2, vpc: vpc-b, cidr: 10.1.2.0/24, network_acl: acl-a, route_table: rtb-main}\nnetwork_acls:\n  - {id: acl-a, vpc: vpc-a}\n", []string{
		"t.yaml:6:58: subnets[0].network_acl: network ACL acl-a and subnet b2 belong to different networks; valid: a network ACL of vpc-b (acl-default-vpc-b) (InvalidParameterValue)",
		"t.yaml:6:78: subnets[0].route_table: route table rtb-main and subnet b2 belong to different networks; valid: a route table of vpc-b (rtb-main-vpc-b) (InvalidParameterValue)",
	}},
	{"unknown route table", hr2 + "  - {id: b2, vpc: vpc-b, cidr: 10.1.2.0/24, route_table: rtb-x}\n", []string{
		"t.yaml:6:58: subnets[0].route_table: unknown route table \"rtb-x\"; valid: rtb-main-vpc-b (InvalidRouteTableID.NotFound)",
	}},
	{"two internet gateways", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\ninternet_gateways:\n  - {id: igw-1, vpc: vpc-a}\n  - {id: igw-2, vpc: vpc-a}\n", []string{
		"t.yaml:5:22: internet_gateways[1].vpc: vpc-a already has internet gateway igw-1; valid: one internet gateway per VPC (EIP-1), or leave this one detached (no vpc) (Resource.AlreadyAssociated)",
	}},
	{"two egress-only gateways", hr + "egress_only_internet_gateways:\n  - {id: eigw-a, vpc: vpc-a}\n  - {id: eigw-a2, vpc: vpc-a}\n", []string{
		"t.yaml:15:24: egress_only_internet_gateways[1].vpc: vpc-a already has egress-only internet gateway eigw-a; valid: one per VPC (EIP-13) (Resource.AlreadyAssociated)",
	}},
	{"routes", hr + "route_tables:\n  - id: r\n    vpc: vpc-a\n    routes:\n" +
		"      - {destination: 0.0.0.0/0, target: igw-b}\n" +
		"      - {destination: 10.0.3.0/24, target: igw-a}\n" +
		"      - {destination: 10.0.1.0/24, target: igw-a}\n" +
		"      - {destination: 169.254.169.0/24, target: igw-a}\n" +
		"      - {destination: 192.0.2.0/24, target: igw-a}\n" +
		"      - {destination: 192.0.2.1/24, target: igw-a}\n" +
		"      - {destination: 198.51.100.0/24, target: igw-off}\n" +
		"      - {destination: 198.51.100.0/25, target: nat-9}\n" +
		"      - {destination: 198.51.100.0/26, target: nat-9, state: blackhole}\n" +
		"      - {destination: 198.51.100.0/27, target: gone, state: blackhole}\n" +
		"      - {destination: 198.51.100.0/28, target: igw-a, state: blackhole}\n" +
		"      - {destination: 203.0.113.0/24, target: local}\n" +
		"      - {destination: 10.0.0.0/16, target: igw-a}\n" +
		"      - {destination: 10.0.0.0/16}\n" +
		"      - {destination: 203.0.113.0/25, target: a1}\n" +
		"      - {destination: \"::/0\", target: igw-a}\n" +
		"      - {destination_prefix_list: pl-x, target: igw-a}\n" +
		"      - {target: igw-a}\n", []string{
		"t.yaml:17:42: route_tables[0].routes[0].target: route table r and network gateway igw-b belong to different networks; valid: a target of vpc-a (igw-a) (InvalidParameterValue)",
		"t.yaml:18:23: route_tables[0].routes[1].destination: 10.0.3.0/24 is inside vpc-a's block 10.0.0.0/16; valid: a destination outside the VPC's blocks, or the whole CIDR of one of its subnets with a NAT gateway or network interface target (RT-6) (InvalidParameterValue)",
		"t.yaml:19:23: route_tables[0].routes[2].destination: 10.0.1.0/24 is inside vpc-a's block 10.0.0.0/16; valid: a destination outside the VPC's blocks, or the whole CIDR of one of its subnets with a NAT gateway or network interface target (RT-6) (InvalidParameterValue)",
		"t.yaml:20:23: route_tables[0].routes[3].destination: 169.254.169.0/24 is inside 169.254.168.0/22, which AWS reserves for its services (RT-7); valid: a destination outside it (InvalidParameterValue)",
		"t.yaml:22:9: route_tables[0].routes[5]: The route identified by 192.0.2.0/24 already exists (routes[4]); valid: one route per destination (RT-12) (RouteAlreadyExists)",
		"t.yaml:23:48: route_tables[0].routes[6].target: internet gateway igw-off is not attached to any VPC; valid: attach it (internet_gateways[].vpc: vpc-a), or state: blackhole for a route left behind by a detachment (RT-15) (Gateway.NotAttached)",
		"t.yaml:24:48: route_tables[0].routes[7].target: unknown target \"nat-9\"; valid: local or a target of vpc-a (igw-a), or state: blackhole to keep a route whose target is gone (RT-15) (InvalidNatGatewayID.NotFound)",
		"t.yaml:26:48: route_tables[0].routes[9].target: the kind of the missing target \"gone\" is not known from its id; valid: target_kind: one of internet-gateway, egress-only-internet-gateway, nat-gateway, network-interface, instance, vpc-peering-connection (InvalidParameterValue)",
		"t.yaml:27:62: route_tables[0].routes[10].state: igw-a exists and is usable, so the route is active; valid: no state (blackhole is for a route whose target is gone or unusable, RT-15) (InvalidParameterValue)",
		"t.yaml:28:47: route_tables[0].routes[11].target: local is the target of vpc-a's own blocks only (10.0.0.0/16, 2001:db8::/56; RT-5); valid: another target for 203.0.113.0/24 (InvalidParameterValue)",
		"t.yaml:29:44: route_tables[0].routes[12].target: the local route of 10.0.0.0/16 can point at local, a network interface or a NAT gateway only (RT-5); valid: one of those (InvalidParameterValue)",
		"t.yaml:30:9: route_tables[0].routes[13].target: the local route of 10.0.0.0/16 has a target; valid: local, a network interface or a NAT gateway (RT-5) (MissingParameter)",
		"t.yaml:31:47: route_tables[0].routes[14].target: a1 is a subnet, not a route target; valid: local or a target of vpc-a (igw-a) (InvalidParameterValue)",
		"t.yaml:33:35: route_tables[0].routes[16].destination_prefix_list: unknown prefix list \"pl-x\"; valid: none are defined (InvalidPrefixListID.NotFound)",
		"t.yaml:34:9: route_tables[0].routes[17]: a route needs a destination; valid: exactly one of destination (an IPv4 or IPv6 CIDR), destination_prefix_list (MissingParameter)",
	}},
	{"route targets of the wrong kind, family or VPC", hr + "egress_only_internet_gateways:\n  - {id: eigw-a, vpc: vpc-a}\n" +
		"nat_gateways:\n  - {id: nat-a, subnet: a1, connectivity: private}\n  - {id: nat-b, subnet: b1, connectivity: private}\n" +
		"peering_connections:\n  - {id: pcx-ab, requester_vpc: vpc-a, accepter_vpc: vpc-b, state: pending-acceptance}\n" +
		"instances:\n  - {id: i-multi, eni: eni-m, subnet: a1, private_ip: 10.0.1.10, network_interfaces: [{device_index: 1, id: eni-m1, subnet: a2, private_ip: 10.0.2.10}]}\n  - {id: i-b, eni: eni-b, subnet: b1, private_ip: 10.1.1.10}\n" +
		"route_tables:\n  - id: r\n    vpc: vpc-a\n    routes:\n" +
		"      - {destination: 0.0.0.0/0, target: eigw-a}\n" +
		"      - {destination: \"::/0\", target: nat-a}\n" +
		"      - {destination: 192.0.2.0/24, target: nat-b}\n" +
		"      - {destination: 192.0.2.0/25, target: i-multi}\n" +
		"      - {destination: 192.0.2.0/26, target: i-b}\n" +
		"      - {destination: 192.0.2.0/27, target: pcx-ab, state: active}\n" +
		"      - {destination: 192.0.2.0/28, target: nat-a, target_kind: nat-gateway}\n" +
		"      - {destination: 192.0.2.0/29, target: vpce-x}\n", []string{
		"t.yaml:27:42: route_tables[0].routes[0].target: an egress-only internet gateway carries IPv6 only (EIP-13); valid: an IPv6 destination for eigw-a (InvalidParameterValue)",
		"t.yaml:28:39: route_tables[0].routes[1].target: a NAT gateway translates IPv4 (and NAT64's 64:ff9b::/96); valid: an IPv4 destination for nat-a (InvalidParameterValue)",
		"t.yaml:29:45: route_tables[0].routes[2].target: route table r and NAT gateway nat-b belong to different networks; valid: a target of vpc-a (eigw-a, eni-m, eni-m1, i-multi, igw-a, nat-a, pcx-ab) (InvalidParameterValue)",
		"t.yaml:30:45: route_tables[0].routes[3].target: There are multiple interfaces attached to instance 'i-multi'; valid: target one of its network interfaces (eni-m) (InvalidInstanceID)",
		"t.yaml:31:45: route_tables[0].routes[4].target: route table r and instance i-b belong to different networks; valid: a target of vpc-a (eigw-a, eni-m, eni-m1, i-multi, igw-a, nat-a, pcx-ab) (InvalidParameterValue)",
		"t.yaml:32:60: route_tables[0].routes[5].state: pcx-ab cannot carry traffic now, so the route is a blackhole (RT-15); valid: state: blackhole, or no state (InvalidParameterValue)",
		"t.yaml:33:65: route_tables[0].routes[6].target_kind: target_kind names the kind of a target that no longer exists, but nat-a is a NAT gateway; valid: no target_kind (InvalidParameterCombination)",
		"t.yaml:34:45: route_tables[0].routes[7].target: unknown target \"vpce-x\"; valid: local or a target of vpc-a (eigw-a, eni-m, eni-m1, i-multi, igw-a, nat-a, pcx-ab), or state: blackhole to keep a route whose target is gone (RT-15) (InvalidGatewayID.NotFound)",
	}},
	{"route quota", hr + "limits: {routes_per_table: 2}\nprefix_lists:\n  - {id: pl-1, max_entries: 2, cidrs: [192.0.2.0/24]}\nroute_tables:\n  - id: r\n    vpc: vpc-a\n    routes:\n      - {destination: 0.0.0.0/0, target: igw-a}\n      - {destination_prefix_list: pl-1, target: igw-a}\n      - {destination: \"::/0\", target: igw-a}\n", []string{
		"t.yaml:21:9: route_tables[0].routes[1]: r has more than 2 IPv4 routes (a prefix list counts its max_entries, AWS's own lists 1); valid: at most 2 per table and address family (RT-4), or raise limits.routes_per_table (RouteLimitExceeded)",
	}},
	{"NAT gateways and Elastic IPs", hr + "elastic_ips:\n  - {id: e1, public_ip: 203.0.113.1}\n  - {id: e2, public_ip: 10.0.0.9}\n  - {id: e3, public_ip: 203.0.113.3, network_interface: i-1}\n  - {id: e4, public_ip: 203.0.113.4, network_interface: eni-1, private_ip: 10.0.1.99}\n  - {id: e5, public_ip: 203.0.113.5, network_interface: eni-nat}\n" +
		"nat_gateways:\n  - {id: nat-1, subnet: a1, eni: eni-nat, elastic_ip: e1}\n  - {id: nat-2, subnet: a2, elastic_ip: e1}\n  - {id: nat-3, subnet: a2}\n  - {id: nat-4, subnet: b1, connectivity: private, elastic_ip: e9}\n  - {id: nat-5, subnet: zz, connectivity: private}\n" +
		"instances:\n  - {id: i-1, eni: eni-1, subnet: a1, private_ip: 10.0.1.10, public_ip: 203.0.113.10}\n", []string{
		"t.yaml:15:25: elastic_ips[1].public_ip: 10.0.0.9 is inside the VPC CIDR 10.0.0.0/16; valid: an address outside the VPC, e.g. from 203.0.113.0/24",
		"t.yaml:16:57: elastic_ips[2].network_interface: eni-1's primary IP already has the auto-assigned public IP 203.0.113.10, which AWS releases when an Elastic IP is associated (EIP-9); valid: remove the instance's public_ip, or private_ip: a secondary IP (InvalidParameterCombination)",
		"t.yaml:17:76: elastic_ips[3].private_ip: 10.0.1.99 is not a private IPv4 of eni-1; valid: 10.0.1.10 (EIP-10) (InvalidParameterValue)",
		"t.yaml:18:57: elastic_ips[4].network_interface: eni-nat is NAT gateway nat-1's network interface; valid: nat_gateways[].elastic_ip names a NAT gateway's Elastic IP (InvalidParameterValue)",
		"t.yaml:21:41: nat_gateways[1].elastic_ip: Elastic IP e1 is already the address of nat_gateways[0]; valid: an Elastic IP of its own (EIP-10) (Resource.AlreadyAssociated)",
		"t.yaml:22:5: nat_gateways[2].elastic_ip: a public NAT gateway needs an Elastic IP (NGW-1); valid: elastic_ip: an id of elastic_ips (e1, e2, e3, e4, e5), or connectivity: private (MissingParameter)",
		"t.yaml:23:64: nat_gateways[3].elastic_ip: a private NAT gateway has no Elastic IP (NGW-1); valid: remove elastic_ip, or connectivity: public (InvalidParameterCombination)",
		"t.yaml:24:25: nat_gateways[4].subnet: unknown subnet \"zz\"; valid: a1, a2, b1 (InvalidSubnetID.NotFound)",
	}},
	{"public addresses need an internet gateway; quotas", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\nlimits: {elastic_ips: 1, nat_gateways_per_az: 1}\nsubnets:\n  - {id: s, cidr: 10.0.1.0/24}\ninstances:\n  - {id: i-1, subnet: s, private_ip: 10.0.1.10}\nelastic_ips:\n  - {id: e1, public_ip: 203.0.113.1, network_interface: i-1}\n  - {id: e2, public_ip: 203.0.113.2}\nnat_gateways:\n  - {id: n1, subnet: s, elastic_ip: e2}\n  - {id: n2, subnet: s, connectivity: private}\n", []string{
		"t.yaml:9:57: elastic_ips[0].network_interface: vpc-a has no internet gateway attached; valid: attach one (internet_gateways: [{id: …, vpc: vpc-a}]) before associating Elastic IPs (Gateway.NotAttached)",
		"t.yaml:10:10: elastic_ips[1].id: The maximum number of addresses has been reached: 2 Elastic IPs; valid: at most 1 per region (EIP-12), or raise limits.elastic_ips (AddressLimitExceeded)",
		"t.yaml:12:37: nat_gateways[0].elastic_ip: vpc-a has no internet gateway attached; valid: attach one (internet_gateways: [{id: …, vpc: vpc-a}]), or connectivity: private (Gateway.NotAttached)",
		"t.yaml:13:22: nat_gateways[1].subnet: Performing this operation would exceed the limit of 1 NAT gateways in us-east-1a; valid: at most 1 per AZ (NGW-4), or raise limits.nat_gateways_per_az (NatGatewayLimitExceeded)",
	}},
	{"NAT gateway addresses", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s, cidr: 10.0.1.0/28}\ninstances:\n  - {id: i-1, subnet: s, private_ip: 10.0.1.4, secondary_private_ips: [10.0.1.5, 10.0.1.6, 10.0.1.7, 10.0.1.8, 10.0.1.9, 10.0.1.10, 10.0.1.11, 10.0.1.12, 10.0.1.13, 10.0.1.14]}\nnat_gateways:\n  - {id: n1, subnet: s, connectivity: private}\n  - {id: n2, subnet: s, connectivity: private, private_ip: 10.0.1.4}\n", []string{
		"t.yaml:8:22: nat_gateways[0].subnet: subnet s 10.0.1.0/28 has no free address; valid: a subnet with room, or private_ip (InsufficientFreeAddressesInSubnet)",
		"t.yaml:9:60: nat_gateways[1].private_ip: 10.0.1.4 is already used by instances[0].private_ip (line 6); valid: a unique value (InvalidIPAddress.InUse)",
	}},
	{"peerings", "name: t\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16}\n  - {id: vpc-b, cidr: 10.1.0.0/16}\n  - {id: vpc-c, cidr: 10.0.0.0/16}\npeering_connections:\n  - {id: pcx-ab, requester_vpc: vpc-a, accepter_vpc: vpc-b}\n  - {id: pcx-ba, requester_vpc: vpc-b, accepter_vpc: vpc-a, state: pending-acceptance}\n  - {id: pcx-ac, requester_vpc: vpc-a, accepter_vpc: vpc-c}\n  - {id: pcx-ac2, requester_vpc: vpc-a, accepter_vpc: vpc-c, state: failed}\n  - {id: pcx-aa, requester_vpc: vpc-a, accepter_vpc: vpc-a}\n  - {id: pcx-x, requester_vpc: vpc-a, accepter_vpc: vpc-x, state: happy}\n", []string{
		"t.yaml:8:54: peering_connections[1].accepter_vpc: vpc-b and vpc-a are already peered by pcx-ab; valid: one peering connection per VPC pair (PCX-2) (VpcPeeringConnectionAlreadyExists)",
		"t.yaml:9:54: peering_connections[2].accepter_vpc: vpc-a's block 10.0.0.0/16 overlaps vpc-c's block 10.0.0.0/16; valid: VPCs none of whose IPv4 (or IPv6) blocks overlap, or state: failed, where AWS leaves such a request (PCX-2) (InvalidParameterValue)",
		"t.yaml:11:54: peering_connections[4].accepter_vpc: a peering connection joins two VPCs but both sides are vpc-a; valid: another VPC (vpc-b, vpc-c) (InvalidParameterValue)",
		"t.yaml:12:53: peering_connections[5].accepter_vpc: unknown VPC \"vpc-x\"; valid: vpc-a, vpc-b, vpc-c (InvalidVpcID.NotFound)",
		"t.yaml:12:67: peering_connections[5].state: \"happy\" is not a peering state; valid: initiating-request, pending-acceptance, provisioning, active, rejected, failed, expired, deleting, deleted (InvalidParameterValue)",
	}},
	{"groups of another VPC", hr + "peering_connections:\n  - {id: pcx-ab, requester_vpc: vpc-a, accepter_vpc: vpc-b, state: pending-acceptance}\nsecurity_groups:\n  - {id: sg-a, vpc: vpc-a, ingress: [{protocol: tcp, ports: 22, source_group: sg-b}]}\n  - {id: sg-b, vpc: vpc-b}\ninstances:\n  - {id: i-1, subnet: a1, private_ip: 10.0.1.10, security_groups: [sg-b]}\n", []string{
		"t.yaml:16:79: security_groups[0].ingress[0].source_group: You have specified two resources that belong to different networks: sg-b is in vpc-b, sg-a in vpc-a; valid: a group of vpc-a, or of a VPC it peers with by an active peering connection (PCX-8) (InvalidGroup.NotFound)",
		"t.yaml:19:68: instances[0].security_groups[0]: Security group sg-b and subnet a1 belong to different networks; valid: a group of vpc-a (default, sg-a) (InvalidParameter)",
	}},
	{"network interfaces", hr + "instances:\n  - id: i-1\n    subnet: a1\n    private_ip: 10.0.1.10\n    secondary_private_ips: [10.0.1.10, 10.0.2.5]\n    network_interfaces:\n      - {device_index: 1, subnet: b1, private_ip: 10.1.1.10}\n      - {device_index: 1, subnet: a2, private_ip: 10.0.2.10}\n      - {device_index: 2, subnet: a2, private_ip: 10.0.2.11, public_ip: 203.0.113.9}\n  - id: i-2\n    subnet: a1\n    network_interfaces:\n      - {device_index: 0, subnet: a1, private_ip: 10.0.1.20}\n  - id: i-3\n    network_interfaces:\n      - {subnet: a1, private_ip: 10.0.1.30}\n", []string{
		"t.yaml:17:29: instances[0].secondary_private_ips[0]: 10.0.1.10 is already used by instances[0].private_ip (line 16); valid: a unique value (InvalidIPAddress.InUse)",
		"t.yaml:17:40: instances[0].secondary_private_ips[1]: 10.0.2.5 is not inside subnet a1 10.0.1.0/24; valid: an address from 10.0.1.4 to 10.0.1.254 (InvalidParameterValue)",
		"t.yaml:19:35: instances[0].network_interfaces[0].subnet: subnet b1 is in vpc-b but the instance's first ENI is in vpc-a; valid: a subnet of vpc-a (vpcemu keeps an instance's ENIs in one VPC, ENI-2) (InvalidParameterCombination)",
		"t.yaml:20:24: instances[0].network_interfaces[1].device_index: device index 1 is already network_interfaces[0]; valid: a unique device index per ENI (InvalidParameterValue)",
		"t.yaml:21:73: instances[0].network_interfaces[2].public_ip: an auto-assigned public IP belongs to the primary ENI (device index 0) only; valid: give this ENI an Elastic IP (elastic_ips[].network_interface) instead (InvalidParameterCombination)",
		"t.yaml:23:13: instances[1].subnet: network_interfaces has the primary ENI (device_index 0); valid: describe it either there or with the instance's own fields (subnet, private_ip, …), not both (InvalidParameterCombination)",
		"t.yaml:28:9: instances[2].network_interfaces[0].device_index: missing; this field is required",
	}},
	{"no primary ENI", hr + "instances:\n  - {id: i-1, network_interfaces: [{device_index: 1, subnet: a1, private_ip: 10.0.1.10}]}\n", []string{
		"t.yaml:14:35: instances[0].network_interfaces: no ENI has device index 0; valid: the primary ENI as the instance's subnet and private_ip, or as a network_interfaces entry with device_index: 0 (ENI-2) (InvalidParameterCombination)",
	}},
	{"ENIs in two AZs; flow log resources", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s, cidr: 10.0.1.0/24, az: us-east-1a}\n  - {id: s2, cidr: 10.0.2.0/24, az: us-east-1b}\ninternet_gateways: [{id: igw, vpc: vpc-a}]\ninstances:\n  - {id: i-1, eni: eni-1, subnet: s, private_ip: 10.0.1.10, network_interfaces: [{device_index: 1, id: eni-2, subnet: s2, private_ip: 10.0.2.10}]}\nnat_gateways:\n  - {id: n1, subnet: s, eni: eni-n1, elastic_ip: e9}\nflow_logs:\n  - {id: fl, resource: eni-n1}\n  - {id: fl2, resource: eni-zz}\n", []string{
		"t.yaml:8:119: instances[0].network_interfaces[0].subnet: subnet s2 is in us-east-1b but the instance's first ENI is in s (us-east-1a); valid: a subnet of us-east-1a (an instance's ENIs share its AZ, ENI-2) (InvalidParameterCombination)",
		"t.yaml:10:50: nat_gateways[0].elastic_ip: unknown Elastic IP \"e9\"; valid: none are defined (InvalidAllocationID.NotFound)",
		"t.yaml:13:25: flow_logs[1].resource: unknown resource \"eni-zz\"; valid: a VPC id, a subnet id, an instance id or an ENI id (eni-1, eni-2, eni-n1, i-1, s, s2, vpc-a)",
	}},
	{"gateway endpoints", hr + "prefix_lists:\n  - {id: pl-s3, name: com.amazonaws.us-east-1.s3, cidrs: [192.0.2.128/25]}\nroute_tables:\n  - {id: r, vpc: vpc-a, routes: [{destination_prefix_list: pl-s3, target: igw-a}]}\n  - {id: rb, vpc: vpc-b}\nvpc_endpoints:\n  - {id: vpce-1, vpc: vpc-a, service: com.amazonaws.us-east-1.s3, route_tables: [r, rtb-main, rb, nope]}\n  - {id: vpce-2, vpc: vpc-a, service: com.amazonaws.eu-west-1.s3}\n  - {id: vpce-3, vpc: vpc-a, service: com.amazonaws.us-east-1.dynamodb}\n  - {id: vpce-4, vpc: vpc-a, service: s3}\n", []string{
		"t.yaml:19:82: vpc_endpoints[0].route_tables[0]: The route identified by pl-s3 already exists in r (route_tables[0].routes[0]); valid: one route per prefix list and table (VPCE-2) (RouteAlreadyExists)",
		"t.yaml:19:95: vpc_endpoints[0].route_tables[2]: route table rb and endpoint vpce-1 belong to different networks; valid: a route table of vpc-a (r, rtb-main) (InvalidParameterValue)",
		"t.yaml:19:99: vpc_endpoints[0].route_tables[3]: unknown route table \"nope\"; valid: r, rtb-main (InvalidRouteTableID.NotFound)",
		"t.yaml:20:39: vpc_endpoints[1].service: \"com.amazonaws.eu-west-1.s3\" is in region eu-west-1 but the topology is in us-east-1; valid: com.amazonaws.us-east-1.s3 (a gateway endpoint serves its own region, VPCE-1) (InvalidServiceName)",
		"t.yaml:21:39: vpc_endpoints[2].service: no prefix list is named com.amazonaws.us-east-1.dynamodb; valid: a prefix_lists entry {id: pl-…, name: com.amazonaws.us-east-1.dynamodb, cidrs: [the service's ranges]}, inside which vpcemu emulates the service (VPCE-7) (InvalidServiceName)",
		"t.yaml:22:39: vpc_endpoints[3].service: \"s3\" is not a gateway endpoint service; valid: com.amazonaws.us-east-1.s3 or com.amazonaws.us-east-1.dynamodb (VPCE-1) (InvalidServiceName)",
	}},
	{"two main tables", hr + "route_tables:\n  - {id: m1, vpc: vpc-a, main: true}\n  - {id: m2, vpc: vpc-a, main: true}\n", []string{
		"t.yaml:15:32: route_tables[1].main: vpc-a already has main route table m1; valid: one main table per VPC (RT-2)",
	}},
	{"main table named twice", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16, main_route_table: rt-x}\nroute_tables:\n  - {id: rt-y, main: true}\n", []string{
		"t.yaml:4:22: route_tables[0].main: vpc-a names rt-x as its main route table; valid: main: true on rt-x only, or main_route_table: rt-y (InvalidParameterCombination)",
	}},
	{"public and route_table", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s1, cidr: 10.0.1.0/24, public: true, route_table: rtb-main}\n", []string{
		"t.yaml:4:60: subnets[0].route_table: public: true already associates the VPC's public route table; valid: either public: true or route_table (InvalidParameterCombination)",
	}},
	{"public with the internet gateway's id taken", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s1, cidr: 10.0.1.0/24, public: true}\nsecurity_groups:\n  - {id: igw-default}\n", []string{
		"t.yaml:6:10: security_groups[0].id: \"igw-default\" is the id of vpc-a's internet gateway; valid: another id",
	}},
	{"route quota per family, propagated apart", "name: t\nvpc: {id: vpc-a, cidr: 10.0.0.0/16}\nlimits: {routes_per_table: 1}\ninternet_gateways: [{id: igw, vpc: vpc-a}]\nroute_tables:\n  - id: r\n    routes:\n      - {destination: 0.0.0.0/0, target: igw}\n      - {destination: \"::/0\", target: igw}\n      - {destination: 192.0.2.0/24, target: igw, propagated: true}\n      - {destination: 198.51.100.0/24, target: igw}\n", []string{
		"t.yaml:11:9: route_tables[0].routes[3]: r has more than 1 IPv4 routes (a prefix list counts its max_entries, AWS's own lists 1); valid: at most 1 per table and address family (RT-4), or raise limits.routes_per_table (RouteLimitExceeded)",
	}},
	{"tags", hr + "security_groups:\n  - {id: s, vpc: vpc-a, tags: {\"aws:x\": 1, Name: [a]}}\n", []string{
		"t.yaml:14:32: security_groups[0].tags.aws:x: tag key \"aws:x\" starts with aws:, which AWS reserves; valid: another key (InvalidParameterValue)",
		"t.yaml:14:50: security_groups[0].tags.Name: a list is not a valid tag value; valid: a string",
	}},
}

func TestRoutingValidationErrors(t *testing.T) {
	for _, tc := range routingCases {
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
