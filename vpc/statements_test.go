package vpc

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Routing statements (aws-routing.md) decided when a file is read, each
// with a test named after it; the per-packet ones are in rules/. The
// vectors (TV-42 onwards) start from examples/routing/t2.yaml.

// stmtBase has two VPCs (vpc-1 dual-stack with an internet gateway, vpc-2
// IPv4 only) and an appliance F with source/destination check off.
const stmtBase = `name: s
vpcs:
  - {id: vpc-1, cidr: 10.0.0.0/16, ipv6_cidr: "2001:db8:1::/56"}
  - {id: vpc-2, cidr: 10.1.0.0/16}
subnets:
  - {id: P, vpc: vpc-1, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:1:1::/64"}
  - {id: Q, vpc: vpc-1, cidr: 10.0.2.0/24}
  - {id: R, vpc: vpc-2, cidr: 10.1.1.0/24}
internet_gateways:
  - {id: igw-1, vpc: vpc-1}
instances:
  - {id: F, eni: eni-f, subnet: Q, private_ip: 10.0.2.50, source_dest_check: false}
`

func stmt(t *testing.T, body string) *Topology {
	t.Helper()
	return mustParse(t, stmtBase+body)
}

// stmtErr asserts that body makes the file invalid with code (AWS's error
// code, or a message fragment) in the error.
func stmtErr(t *testing.T, body, code string) {
	t.Helper()
	_, err := Parse("s.yaml", []byte(stmtBase+body))
	if err == nil || !strings.Contains(err.Error(), code) {
		t.Errorf("want an error with %q, got %v\n%s", code, err, body)
	}
}

// routes writes a table of vpc-1 with the given routes.
func routes(id string, rs ...string) string {
	return fmt.Sprintf("route_tables:\n  - id: %s\n    vpc: vpc-1\n    routes:\n      - %s\n", id, strings.Join(rs, "\n      - "))
}

func TestRT2_EachVPCHasAMainTableWithLocalRoutesOnly(t *testing.T) {
	topo := stmt(t, "")
	for _, v := range topo.VPCs {
		rt := topo.MainRouteTable(v.ID)
		if rt == nil || !rt.Main || rt.VPC != v.ID {
			t.Fatalf("%s has no main table: %+v", v.ID, rt)
		}
		if len(rt.Routes) != len(v.CIDRs()) {
			t.Errorf("%s's main table has %d routes, want its %d local routes", v.ID, len(rt.Routes), len(v.CIDRs()))
		}
		for _, r := range rt.Routes {
			if r.Target.Kind != TargetLocal || !r.IsLocal(&v) {
				t.Errorf("%s's main table: %+v is not a local route", v.ID, r)
			}
		}
	}
	stmtErr(t, "route_tables:\n  - {id: m1, vpc: vpc-1, main: true}\n  - {id: m2, vpc: vpc-1, main: true}\n", "one main table per VPC (RT-2)")
}

func TestRT3_ExplicitAssociationElseTheMainTable(t *testing.T) {
	base := strings.Replace(stmtBase, "{id: P, vpc: vpc-1,", "{id: P, vpc: vpc-1, route_table: rtb-x,", 1)
	body := "route_tables:\n  - {id: rtb-p, vpc: vpc-1, routes: [{destination: 0.0.0.0/0, target: igw-1}]%s}\n  - {id: rtb-x, vpc: vpc-1}\n"
	before := mustParse(t, base+fmt.Sprintf(body, ""))
	if got := before.RouteTableOfSubnet("Q"); got.ID != "rtb-main" {
		t.Errorf("Q (no association) uses %s, want the main table", got.ID)
	}
	// Making rtb-p the main table moves the implicitly associated subnets only.
	after := mustParse(t, base+fmt.Sprintf(body, ", main: true"))
	if got := after.RouteTableOfSubnet("Q"); got.ID != "rtb-p" {
		t.Errorf("after rtb-p becomes main, Q uses %s, want rtb-p", got.ID)
	}
	if got := after.RouteTableOfSubnet("P"); got.ID != "rtb-x" {
		t.Errorf("an explicitly associated subnet does not follow the main table: P uses %s, want rtb-x", got.ID)
	}
	if after.VPC("vpc-1").MainTable != "rtb-p" || after.RouteTable("rtb-main") != nil {
		t.Errorf("main table of vpc-1 = %s; tables %+v", after.VPC("vpc-1").MainTable, after.RouteTables)
	}
	// An explicit association with the main table is allowed and kept.
	explicit := mustParse(t, strings.Replace(stmtBase, "{id: Q, vpc: vpc-1,", "{id: Q, vpc: vpc-1, route_table: rtb-main,", 1))
	if s := explicit.Subnet("Q"); s.RouteTable != "rtb-main" || explicit.RouteTableOfSubnet("Q").ID != "rtb-main" {
		t.Errorf("Q explicitly on the main table: %+v", s)
	}
	checkRoundTrip(t, explicit)
}

func TestRT4_RouteQuotas(t *testing.T) {
	many := func(n int, dest func(i int) string) []string {
		var rs []string
		for i := range n {
			rs = append(rs, fmt.Sprintf("{destination: %s, target: igw-1}", dest(i)))
		}
		return rs
	}
	v4 := func(i int) string { return fmt.Sprintf("192.0.%d.0/24", i) }
	v6 := func(i int) string { return fmt.Sprintf("\"2001:db8:ff:%x::/64\"", i) }
	// 50 IPv4 and 50 IPv6 routes fit: the families count apart.
	stmt(t, routes("r", append(many(50, v4), many(50, v6)...)...))
	stmtErr(t, routes("r", many(51, v4)...), "RouteLimitExceeded")
	stmt(t, "limits: {routes_per_table: 51}\n"+routes("r", many(51, v4)...))
	// A customer-managed prefix list weighs its max entries, an AWS one 1.
	pls := "prefix_lists:\n  - {id: pl-c, max_entries: 5, cidrs: [198.18.0.0/24]}\n  - {id: pl-s3, name: com.amazonaws.us-east-1.s3, max_entries: 9, cidrs: [192.0.2.128/25]}\n"
	stmtErr(t, pls+routes("r", append(many(46, v4), "{destination_prefix_list: pl-c, target: igw-1}")...), "RouteLimitExceeded")
	stmt(t, pls+routes("r", append(many(45, v4), "{destination_prefix_list: pl-c, target: igw-1}")...))
	stmt(t, pls+routes("r", append(many(49, v4), "{destination_prefix_list: pl-s3, target: igw-1}")...))
	// Propagated routes have their own quota.
	var prop []string
	for i := range 60 {
		prop = append(prop, fmt.Sprintf("{destination: 198.51.%d.0/24, target: igw-1, propagated: true}", i))
	}
	stmt(t, routes("r", append(many(50, v4), prop...)...))
	// 200 tables per VPC, the main one included.
	var b strings.Builder
	b.WriteString("route_tables:\n")
	for i := range 199 {
		fmt.Fprintf(&b, "  - {id: t%d, vpc: vpc-2}\n", i)
	}
	stmt(t, b.String())
	fmt.Fprintf(&b, "  - {id: t199, vpc: vpc-2}\n")
	stmtErr(t, b.String(), "RouteTableLimitExceeded")
}

func TestRT5_LocalRoutesAndTheirTargets(t *testing.T) {
	topo := mustParse(t, strings.Replace(stmtBase, "{id: vpc-1, cidr: 10.0.0.0/16,", "{id: vpc-1, cidr: 10.0.0.0/16, secondary_cidrs: [10.9.0.0/16],", 1)+
		routes("r", "{destination: 10.0.0.0/16, target: eni-f}", "{destination: 10.9.0.0/16, target: local}"))
	rt := topo.RouteTable("r")
	want := map[string]RouteTarget{
		"10.0.0.0/16":     {Kind: TargetENI, ID: "eni-f"}, // replaced (TV-54 d)
		"10.9.0.0/16":     {Kind: TargetLocal},            // the secondary block's local route
		"2001:db8:1::/56": {Kind: TargetLocal},
	}
	for dest, target := range want {
		if r := rt.Route(netip.MustParsePrefix(dest)); r == nil || r.Target != target {
			t.Errorf("route %s = %+v, want target %+v", dest, r, target)
		}
	}
	if len(rt.Routes) != 3 {
		t.Errorf("routes = %+v, want one per VPC block", rt.Routes)
	}
	stmt(t, "nat_gateways: [{id: nat-q, subnet: Q, connectivity: private}]\n"+routes("r", "{destination: 10.0.0.0/16, target: nat-q}"))
	stmtErr(t, routes("r", "{destination: 10.0.0.0/16, target: igw-1}"), "(RT-5)")
	stmtErr(t, routes("r", "{destination: 192.0.2.0/24, target: local}"), "RT-5)")
	// Restoring the local target (--local-target) is writing it as local or
	// not at all; the export writes a replaced local route only.
	checkRoundTrip(t, topo)
	if out := string(topo.YAML()); strings.Contains(out, "10.9.0.0/16\n          target: local") || !strings.Contains(out, "target: eni-f") {
		t.Errorf("export of local routes:\n%s", out)
	}
}

func TestRT6_MoreSpecificThanLocalOnlyForASubnetThroughAnApplianceOrNAT(t *testing.T) {
	stmt(t, routes("r", "{destination: 10.0.1.0/24, target: eni-f}"))
	stmt(t, routes("r", "{destination: \"2001:db8:1:1::/64\", target: eni-f}"))
	stmt(t, "nat_gateways: [{id: nat-q, subnet: Q, connectivity: private}]\n"+routes("r", "{destination: 10.0.1.0/24, target: nat-q}"))
	stmtErr(t, routes("r", "{destination: 10.0.1.0/25, target: eni-f}"), "(RT-6)") // TV-54(c)
	stmtErr(t, routes("r", "{destination: 10.0.1.0/24, target: igw-1}"), "(RT-6)")
	stmtErr(t, routes("r", "{destination: 10.0.200.0/24, target: eni-f}"), "(RT-6)") // no such subnet
	// Outside the VPC's blocks anything goes; vpc-2's subnet is outside vpc-1.
	stmt(t, routes("r", "{destination: 10.1.1.0/24, target: eni-f}"))
}

func TestRT7_AWSReservedDestinationsRefused(t *testing.T) {
	stmtErr(t, routes("r", "{destination: 169.254.168.0/22, target: igw-1}"), "(RT-7)")
	stmtErr(t, routes("r", "{destination: 169.254.169.254/32, target: igw-1}"), "(RT-7)")
	stmtErr(t, routes("r", "{destination: \"fd00:ec2::254/128\", target: igw-1}"), "(RT-7)")
	// A larger overlapping block is accepted (it never forwards into the range).
	stmt(t, routes("r", "{destination: 169.254.0.0/16, target: igw-1}"))
}

func TestRT9_TargetsOfOneFamily(t *testing.T) {
	body := "egress_only_internet_gateways: [{id: eigw-1, vpc: vpc-1}]\nnat_gateways: [{id: nat-q, subnet: Q, connectivity: private}]\n"
	stmt(t, body+routes("r", "{destination: \"::/0\", target: eigw-1}", "{destination: 0.0.0.0/0, target: nat-q}", "{destination: \"64:ff9b::/96\", target: nat-q}"))
	stmtErr(t, body+routes("r", "{destination: 0.0.0.0/0, target: eigw-1}"), "IPv6 only (EIP-13)")
	stmtErr(t, body+routes("r", "{destination: \"::/0\", target: nat-q}"), "an IPv4 destination")
	// 0.0.0.0/0 and ::/0 are two routes, not a duplicate.
	topo := stmt(t, routes("r", "{destination: 0.0.0.0/0, target: igw-1}", "{destination: \"::/0\", target: igw-1}"))
	if n := len(topo.RouteTable("r").Routes); n != 4 {
		t.Errorf("%d routes, want 2 local and 2 default", n)
	}
}

func TestRT12_CanonicalCIDRsAndDuplicates(t *testing.T) {
	topo := stmt(t, routes("r", "{destination: 100.68.0.18/18, target: igw-1}"))
	if r := topo.RouteTable("r").Route(netip.MustParsePrefix("100.68.0.0/18")); r == nil {
		t.Errorf("100.68.0.18/18 was not kept as 100.68.0.0/18: %+v", topo.RouteTable("r").Routes)
	}
	stmtErr(t, routes("r", "{destination: 100.68.0.18/18, target: igw-1}", "{destination: 100.68.0.0/18, target: eni-f}"), "RouteAlreadyExists")
	stmtErr(t, "prefix_lists: [{id: pl-c, cidrs: [198.18.0.0/24]}]\n"+routes("r", "{destination_prefix_list: pl-c, target: igw-1}", "{destination_prefix_list: pl-c, target: eni-f}"), "RouteAlreadyExists")
}

func TestRT13_TargetKinds(t *testing.T) {
	topo := stmt(t, `egress_only_internet_gateways: [{id: eigw-1, vpc: vpc-1}]
nat_gateways: [{id: nat-q, subnet: Q, connectivity: private}]
peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2}]
`+routes("r",
		"{destination: 0.0.0.0/0, target: igw-1}",
		"{destination: \"::/0\", target: eigw-1}",
		"{destination: 192.0.2.0/24, target: nat-q}",
		"{destination: 192.0.2.0/25, target: eni-f}",
		"{destination: 192.0.2.0/26, target: F}",
		"{destination: 10.1.0.0/16, target: pcx-12}",
		"{destination: 192.0.2.0/27}"))
	rt := topo.RouteTable("r")
	for dest, kind := range map[string]TargetKind{
		"0.0.0.0/0": TargetIGW, "::/0": TargetEIGW, "192.0.2.0/24": TargetNAT, "192.0.2.0/25": TargetENI,
		"192.0.2.0/26": TargetInstance, "10.1.0.0/16": TargetPeering, "192.0.2.0/27": TargetNone, "10.0.0.0/16": TargetLocal,
	} {
		if r := rt.Route(netip.MustParsePrefix(dest)); r == nil || r.Target.Kind != kind {
			t.Errorf("route %s = %+v, want target kind %s", dest, r, kind)
		}
	}
}

func TestRT14_RouteStates(t *testing.T) {
	stmtErr(t, routes("r", "{destination: 192.0.2.0/24, target: igw-1, state: broken}"), "valid: active or blackhole")
	stmt(t, routes("r", "{destination: 192.0.2.0/24, target: igw-1, state: active}"))
}

func TestRT15_BlackholeRoutesKeepTheirTarget(t *testing.T) {
	topo := stmt(t, "peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2, state: pending-acceptance}]\n"+
		routes("r", "{destination: 10.1.0.0/16, target: pcx-12}", "{destination: 0.0.0.0/0, target: nat-1, state: blackhole}"))
	rt := topo.RouteTable("r")
	if r := rt.Route(netip.MustParsePrefix("10.1.0.0/16")); !r.Blackhole {
		t.Errorf("a route to a peering pending acceptance is a blackhole until it is active: %+v", r)
	}
	if r := rt.Route(netip.MustParsePrefix("0.0.0.0/0")); !r.Blackhole || r.Target != (RouteTarget{Kind: TargetNAT, ID: "nat-1"}) {
		t.Errorf("a deleted NAT gateway's route = %+v", r)
	}
	// An unknown target is refused unless the route says it is a blackhole.
	stmtErr(t, routes("r", "{destination: 0.0.0.0/0, target: nat-1}"), "InvalidNatGatewayID.NotFound")
	stmtErr(t, routes("r", "{destination: 0.0.0.0/0, target: igw-1, state: blackhole}"), "(blackhole is for a route whose target is gone or unusable, RT-15)")
	checkRoundTrip(t, topo)
}

func TestRT20_PublicIsSugarForARouteToTheInternetGateway(t *testing.T) {
	topo := mustParse(t, strings.Replace(stmtBase, "{id: R, vpc: vpc-2, cidr: 10.1.1.0/24}", "{id: R, vpc: vpc-2, cidr: 10.1.1.0/24, public: true}", 1))
	rt := topo.RouteTableOfSubnet("R")
	if rt.ID != "rtb-public-vpc-2" || !topo.Subnet("R").Public {
		t.Fatalf("R's table = %+v", rt)
	}
	r := rt.Route(netip.MustParsePrefix("0.0.0.0/0"))
	igw := topo.IGWOfVPC("vpc-2")
	if r == nil || igw == nil || r.Target != (RouteTarget{Kind: TargetIGW, ID: igw.ID}) || r.Blackhole {
		t.Errorf("the sugar's default route = %+v, vpc-2's gateway %+v", r, igw)
	}
	checkRoundTrip(t, topo)
}

func TestEIP1_OneInternetGatewayPerVPC(t *testing.T) {
	_, err := Parse("s.yaml", []byte(strings.Replace(stmtBase, "  - {id: igw-1, vpc: vpc-1}\n", "  - {id: igw-1, vpc: vpc-1}\n  - {id: igw-2, vpc: vpc-1}\n", 1)))
	if err == nil || !strings.Contains(err.Error(), "Resource.AlreadyAssociated") {
		t.Errorf("two internet gateways in one VPC: %v", err)
	}
	// A second gateway may exist detached.
	mustParse(t, strings.Replace(stmtBase, "  - {id: igw-1, vpc: vpc-1}\n", "  - {id: igw-1, vpc: vpc-1}\n  - {id: igw-2}\n", 1))
}

func TestEIP9_AutoAssignedPublicIPOnThePrimaryENIOnly(t *testing.T) {
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, network_interfaces: [{device_index: 1, subnet: Q, private_ip: 10.0.2.61, public_ip: 203.0.113.61}]}\n", "device index 0) only")
	// An Elastic IP on the primary IP replaces the auto-assigned address.
	stmtErr(t, "  - {id: G, subnet: P, private_ip: 10.0.1.60, public_ip: 203.0.113.60}\nelastic_ips: [{id: e, public_ip: 203.0.113.99, network_interface: G}]\n", "(EIP-9)")
}

func TestEIP10_OneElasticIPPerPrivateIPv4(t *testing.T) {
	body := "  - {id: G, eni: eni-g, subnet: P, private_ip: 10.0.1.60, secondary_private_ips: [10.0.1.61]}\nelastic_ips:\n  - {id: e1, public_ip: 203.0.113.1, network_interface: G}\n"
	topo := stmt(t, body+"  - {id: e2, public_ip: 203.0.113.2, network_interface: eni-g, private_ip: 10.0.1.61}\n  - {id: e3, public_ip: 203.0.113.3}\n")
	if e := topo.ElasticIP("e1"); e.ENI != "eni-g" || e.PrivateIP != netip.MustParseAddr("10.0.1.60") {
		t.Errorf("an EIP for an instance maps its primary ENI's primary IP: %+v", e)
	}
	if e := topo.ElasticIP("e3"); e.ENI != "" || e.PrivateIP.IsValid() {
		t.Errorf("an unassociated EIP stays allocated without a mapping: %+v", e)
	}
	stmtErr(t, body+"  - {id: e2, public_ip: 203.0.113.2, network_interface: eni-g}\n", "Resource.AlreadyAssociated")
	stmtErr(t, body+"  - {id: e2, public_ip: 203.0.113.1}\n", "203.0.113.1 is already used")
}

func TestEIP12_ElasticIPQuota(t *testing.T) {
	var b strings.Builder
	b.WriteString("elastic_ips:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - {id: e%d, public_ip: 203.0.113.%d}\n", i, i+1)
	}
	stmt(t, b.String())
	stmtErr(t, b.String()+"  - {id: e5, public_ip: 203.0.113.6}\n", "AddressLimitExceeded")
	stmt(t, "limits: {elastic_ips: 6}\n"+b.String()+"  - {id: e5, public_ip: 203.0.113.6}\n")
}

func TestEIP13_EgressOnlyGatewayIsIPv6AndOnePerVPC(t *testing.T) {
	stmtErr(t, "egress_only_internet_gateways: [{id: eigw-1, vpc: vpc-1}]\n"+routes("r", "{destination: 0.0.0.0/0, target: eigw-1}"), "IPv6 only (EIP-13)")
	stmtErr(t, "egress_only_internet_gateways: [{id: eigw-1, vpc: vpc-1}, {id: eigw-2, vpc: vpc-1}]\n", "one per VPC (EIP-13)")
	stmtErr(t, "egress_only_internet_gateways: [{id: eigw-1}]\n", "MissingParameter")
}

func TestNGW1_PublicNATGatewayNeedsAnElasticIPAndAnInternetGateway(t *testing.T) {
	stmt(t, "elastic_ips: [{id: e, public_ip: 203.0.113.100}]\nnat_gateways: [{id: nat-1, subnet: P, elastic_ip: e}]\n")
	stmtErr(t, "nat_gateways: [{id: nat-1, subnet: P}]\n", "(NGW-1)")
	stmtErr(t, "elastic_ips: [{id: e, public_ip: 203.0.113.100}]\nnat_gateways: [{id: nat-1, subnet: P, connectivity: private, elastic_ip: e}]\n", "(NGW-1)")
	stmtErr(t, "elastic_ips: [{id: e, public_ip: 203.0.113.100}]\nnat_gateways: [{id: nat-2, subnet: R, elastic_ip: e}]\n", "Gateway.NotAttached")
	stmtErr(t, "elastic_ips: [{id: e, public_ip: 203.0.113.100, network_interface: F}]\nnat_gateways: [{id: nat-1, subnet: P, elastic_ip: e}]\n", "Resource.AlreadyAssociated")
}

func TestNGW2_NATGatewayENIInItsSubnet(t *testing.T) {
	topo := stmt(t, "elastic_ips: [{id: e, public_ip: 203.0.113.100}]\nnat_gateways: [{id: nat-1, subnet: P, eni: eni-ngw, elastic_ip: e}]\nflow_logs: [{id: fl, resource: eni-ngw}]\n")
	g := topo.NATGateway("nat-1")
	if !topo.Subnet("P").CIDR.Contains(g.PrivateIP) || reserved(topo.Subnet("P").CIDR, g.PrivateIP) {
		t.Errorf("NAT gateway address %s is not a usable address of P", g.PrivateIP)
	}
	if e := topo.ElasticIP("e"); e.ENI != "eni-ngw" || e.PrivateIP != g.PrivateIP {
		t.Errorf("the NAT gateway's EIP maps its ENI's private IP (NGW-5): %+v", e)
	}
	if got := topo.FlowLogENIs(&topo.FlowLogs[0]); len(got) != 1 || got[0] != "eni-ngw" {
		t.Errorf("a flow log on the NAT gateway's ENI captures %v", got)
	}
	stmtErr(t, "nat_gateways: [{id: nat-1, subnet: P, connectivity: private, private_ip: 10.0.2.9}]\n", "is not inside subnet P")
	stmtErr(t, "nat_gateways: [{id: nat-1, subnet: Q, connectivity: private, private_ip: 10.0.2.50}]\n", "InvalidIPAddress.InUse")
}

func TestNGW4_NATGatewaysPerAZ(t *testing.T) {
	var b strings.Builder
	b.WriteString("nat_gateways:\n")
	for i := range 5 {
		fmt.Fprintf(&b, "  - {id: nat-%d, subnet: Q, connectivity: private}\n", i)
	}
	stmt(t, b.String())
	stmtErr(t, b.String()+"  - {id: nat-5, subnet: P, connectivity: private}\n", "NatGatewayLimitExceeded")
	// Another AZ has its own quota.
	mustParse(t, strings.Replace(stmtBase, "{id: R, vpc: vpc-2, cidr: 10.1.1.0/24}", "{id: R, vpc: vpc-2, cidr: 10.1.1.0/24, az: us-east-1b}", 1)+b.String()+"  - {id: nat-5, subnet: R, connectivity: private}\n")
}

func TestPCX1_OnlyActivePeeringsCarryTraffic(t *testing.T) {
	for _, st := range PeeringStates {
		topo := stmt(t, fmt.Sprintf("peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2, state: %s}]\n", st)+
			routes("r", "{destination: 10.1.0.0/16, target: pcx-12}"))
		r := topo.RouteTable("r").Route(netip.MustParsePrefix("10.1.0.0/16"))
		if r.Blackhole != (st != "active") {
			t.Errorf("state %s: route blackhole = %v", st, r.Blackhole)
		}
	}
	if p := stmt(t, "peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2}]\n").Peering("pcx-12"); !p.Active() {
		t.Errorf("a peering's state defaults to active: %+v", p)
	}
}

func TestPCX2_NoOverlapAndOnePeeringPerPair(t *testing.T) {
	overlapping := strings.Replace(stmtBase, "{id: vpc-2, cidr: 10.1.0.0/16}", "{id: vpc-2, cidr: 10.1.0.0/16, secondary_cidrs: [10.0.0.0/16]}", 1)
	_, err := Parse("s.yaml", []byte(overlapping+"peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2}]\n"))
	if err == nil || !strings.Contains(err.Error(), "(PCX-2)") {
		t.Errorf("peering of VPCs with overlapping blocks: %v", err)
	}
	// The refused request stays, as failed.
	mustParse(t, overlapping+"peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2, state: failed}]\n")
	stmtErr(t, "peering_connections:\n  - {id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2}\n  - {id: pcx-21, requester_vpc: vpc-2, accepter_vpc: vpc-1}\n", "VpcPeeringConnectionAlreadyExists")
	stmt(t, "peering_connections:\n  - {id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2, state: deleted}\n  - {id: pcx-21, requester_vpc: vpc-2, accepter_vpc: vpc-1}\n")
}

func TestPCX8_GroupReferencesAcrossAnActivePeeringOnly(t *testing.T) {
	groups := "security_groups:\n  - {id: sgA, vpc: vpc-1}\n  - {id: sgB, vpc: vpc-2, ingress: [{protocol: tcp, ports: 22, source_group: sgA}]}\n"
	stmt(t, groups+"peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2}]\n")
	stmtErr(t, groups, "InvalidGroup.NotFound")
	stmtErr(t, groups+"peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2, state: pending-acceptance}]\n", "(PCX-8)")
	// An ENI's own groups are of its VPC, peered or not.
	stmtErr(t, "  - {id: G, subnet: R, private_ip: 10.1.1.9, security_groups: [sgA]}\n"+groups+"peering_connections: [{id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2}]\n", "belong to different networks")
}

func TestENI1_AddressesOfAnENI(t *testing.T) {
	topo := stmt(t, "  - {id: G, eni: eni-g, subnet: Q, private_ip: 10.0.2.60, secondary_private_ips: [10.0.2.61, 10.0.2.62]}\n")
	e, _ := topo.ENI("eni-g")
	if got := e.PrivateIPs(); len(got) != 3 || !e.HasAddr(netip.MustParseAddr("10.0.2.62")) || e.HasAddr(netip.MustParseAddr("10.0.2.63")) {
		t.Errorf("private IPs = %v", got)
	}
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, secondary_private_ips: [10.0.1.61]}\n", "is not inside subnet Q")
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, secondary_private_ips: [10.0.2.50]}\n", "InvalidIPAddress.InUse")
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, secondary_private_ips: [10.0.2.255]}\n", "reserved by AWS")
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, security_groups: [default-vpc-2]}\n", "belong to different networks")
}

func TestENI2_ENIsOfAnInstanceShareItsAZAndVPC(t *testing.T) {
	stmt(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, network_interfaces: [{device_index: 1, subnet: P, private_ip: 10.0.1.60}]}\n")
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, network_interfaces: [{device_index: 1, subnet: R, private_ip: 10.1.1.60}]}\n", "(vpcemu keeps an instance's ENIs in one VPC, ENI-2)")
	withAZ := strings.Replace(stmtBase, "{id: P, vpc: vpc-1, cidr: 10.0.1.0/24,", "{id: P, vpc: vpc-1, az: us-east-1b, cidr: 10.0.1.0/24,", 1)
	if _, err := Parse("s.yaml", []byte(withAZ+"  - {id: G, subnet: Q, private_ip: 10.0.2.60, network_interfaces: [{device_index: 1, subnet: P, private_ip: 10.0.1.60}]}\n")); err == nil || !strings.Contains(err.Error(), "share its AZ, ENI-2") {
		t.Errorf("ENIs in two AZs: %v", err)
	}
	stmtErr(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60, network_interfaces: [{device_index: 0, subnet: Q, private_ip: 10.0.2.61}]}\n", "InvalidParameterCombination")
}

func TestENI5_SourceDestCheckIsOnByDefault(t *testing.T) {
	topo := stmt(t, "  - {id: G, subnet: Q, private_ip: 10.0.2.60}\n")
	if !topo.Instance("G").SourceDestCheck() || topo.Instance("F").SourceDestCheck() {
		t.Errorf("SourceDestCheck: G %v (want on), F %v (want off)", topo.Instance("G").SourceDestCheck(), topo.Instance("F").SourceDestCheck())
	}
}

func TestVPCE1_GatewayEndpointsForS3AndDynamoDBOfTheRegion(t *testing.T) {
	pl := "prefix_lists:\n  - {id: pl-ddb, name: com.amazonaws.us-east-1.dynamodb, cidrs: [192.0.2.64/26]}\n"
	topo := stmt(t, pl+"vpc_endpoints: [{id: vpce-d, vpc: vpc-1, service: com.amazonaws.us-east-1.dynamodb}]\n")
	if e := topo.Endpoint("vpce-d"); e.PrefixList != "pl-ddb" || !topo.PrefixList("pl-ddb").AWSManaged {
		t.Errorf("endpoint = %+v", e)
	}
	stmtErr(t, pl+"vpc_endpoints: [{id: vpce-d, vpc: vpc-1, service: com.amazonaws.us-east-1.sqs}]\n", "InvalidServiceName")
	stmtErr(t, pl+"vpc_endpoints: [{id: vpce-d, vpc: vpc-1, service: com.amazonaws.us-west-2.dynamodb}]\n", "InvalidServiceName")
}

func TestVPCE2_EndpointRoutesInItsTables(t *testing.T) {
	body := "prefix_lists:\n  - {id: pl-s3, name: com.amazonaws.us-east-1.s3, cidrs: [192.0.2.128/25]}\n" +
		routes("rtb-q", "{destination: 0.0.0.0/0, target: igw-1}") +
		"vpc_endpoints: [{id: vpce-s3, vpc: vpc-1, service: com.amazonaws.us-east-1.s3, route_tables: [rtb-q, rtb-main]}]\n"
	topo := stmt(t, body)
	for _, id := range []string{"rtb-q", "rtb-main"} {
		rt := topo.RouteTable(id)
		last := rt.Routes[len(rt.Routes)-1]
		if last.DestPrefixList != "pl-s3" || last.Target != (RouteTarget{Kind: TargetEndpoint, ID: "vpce-s3"}) || last.Blackhole {
			t.Errorf("%s routes = %+v, want pl-s3 → vpce-s3", id, rt.Routes)
		}
	}
	// The export leaves the endpoint's routes to the endpoint, so a round
	// trip does not add them twice; the main table stays implicit.
	out := string(topo.YAML())
	if strings.Contains(out, "destination_prefix_list") || strings.Contains(out, "id: rtb-main") {
		t.Errorf("export of endpoint routes:\n%s", out)
	}
	checkRoundTrip(t, topo)
	stmtErr(t, strings.Replace(body, "{destination: 0.0.0.0/0, target: igw-1}", "{destination_prefix_list: pl-s3, target: igw-1}", 1), "(VPCE-2)")
	stmtErr(t, strings.Replace(body, "{destination: 0.0.0.0/0, target: igw-1}", "{destination: 0.0.0.0/0, target: vpce-s3}", 1), "(VPCE-2)")
}
