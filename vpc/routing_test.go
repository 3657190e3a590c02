package vpc

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestSecondVPCGetsItsOwnDefaults(t *testing.T) {
	topo := mustParse(t, `name: d
vpcs:
  - {id: vpc-a, cidr: 10.0.0.0/16}
  - {id: vpc-b, cidr: 10.1.0.0/16, ipv6_cidr: "2001:db8:1::/56"}
subnets:
  - {id: a1, vpc: vpc-a, cidr: 10.0.1.0/24}
  - {id: b1, vpc: vpc-b, cidr: 10.1.1.0/24}
instances:
  - {id: i-a, subnet: a1, private_ip: 10.0.1.10}
  - {id: i-b, subnet: b1, private_ip: 10.1.1.10}
`)
	a, b := topo.VPC("vpc-a"), topo.VPC("vpc-b")
	if a.DefaultSG != "default" || a.DefaultNACL != "acl-default" || a.MainTable != "rtb-main" {
		t.Errorf("first VPC's default ids = %q %q %q", a.DefaultSG, a.DefaultNACL, a.MainTable)
	}
	if b.DefaultSG != "default-vpc-b" || b.DefaultNACL != "acl-default-vpc-b" || b.MainTable != "rtb-main-vpc-b" {
		t.Errorf("second VPC's default ids = %q %q %q", b.DefaultSG, b.DefaultNACL, b.MainTable)
	}
	sg := topo.SecurityGroup("default-vpc-b")
	if sg == nil || sg.VPC != "vpc-b" || sg.Name != "default" || sg.Ingress[0].SourceGroup != "default-vpc-b" || len(sg.Egress) != 2 {
		t.Errorf("vpc-b's default SG (self-referencing, IPv6 egress too) = %+v", sg)
	}
	if acl := topo.NACLOfSubnet("b1"); acl == nil || acl.ID != "acl-default-vpc-b" || !acl.Default || len(acl.Ingress) != 2 {
		t.Errorf("b1's NACL = %+v", acl)
	}
	if got := topo.Instance("i-b").SecurityGroups; !slices.Equal(got, []string{"default-vpc-b"}) {
		t.Errorf("i-b's groups = %v, want its VPC's default", got)
	}
	for _, s := range []struct{ subnet, table string }{{"a1", "rtb-main"}, {"b1", "rtb-main-vpc-b"}} {
		rt := topo.RouteTableOfSubnet(s.subnet)
		if rt == nil || rt.ID != s.table || !rt.Main || len(rt.Routes) != len(topo.VPC(rt.VPC).CIDRs()) {
			t.Errorf("%s's route table = %+v, want the main table %s with local routes only", s.subnet, rt, s.table)
		}
	}
	if got := topo.MainRouteTable("vpc-b").Routes; len(got) != 2 || got[1].Dest != netip.MustParsePrefix("2001:db8:1::/56") || got[1].Target.Kind != TargetLocal {
		t.Errorf("vpc-b's main table routes = %+v, want a local route per block", got)
	}
}

func TestPublicSugar(t *testing.T) {
	lab := Lab()
	rt := lab.RouteTableOfSubnet("subnet-public")
	igw := lab.IGWOfVPC("vpc-lab")
	if rt == nil || rt.ID != PublicRouteTableID || igw == nil || igw.ID != DefaultIGWID {
		t.Fatalf("public subnet's table = %+v, VPC's internet gateway = %+v", rt, igw)
	}
	want := []Route{
		{Dest: netip.MustParsePrefix("10.0.0.0/16"), Target: RouteTarget{Kind: TargetLocal}},
		{Dest: netip.MustParsePrefix("0.0.0.0/0"), Target: RouteTarget{Kind: TargetIGW, ID: DefaultIGWID}},
	}
	if !slices.Equal(rt.Routes, want) {
		t.Errorf("public table routes = %+v, want %+v", rt.Routes, want)
	}
	if got := lab.RouteTableOfSubnet("subnet-private"); got == nil || got.ID != DefaultMainRouteTableID {
		t.Errorf("private subnet's table = %+v, want the main table", got)
	}
	// The export of a file written before routing looks as it did: one
	// vpc:, public: true, no routing sections.
	out := string(lab.YAML())
	for _, s := range []string{"route_tables:", "internet_gateways:", "vpcs:", "routes_per_table"} {
		if strings.Contains(out, s) {
			t.Errorf("the lab's export has %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "\nvpc:\n") || !strings.Contains(out, "public: true") {
		t.Errorf("the lab's export lost its vpc: or public: true:\n%s", out)
	}
	// In a second VPC the sugar's ids are suffixed; a VPC with its own
	// internet gateway gets that one, IPv6 gets ::/0 too.
	topo := mustParse(t, `name: p
vpcs:
  - {id: vpc-a, cidr: 10.0.0.0/16}
  - {id: vpc-b, cidr: 10.1.0.0/16, ipv6_cidr: "2001:db8:1::/56"}
subnets:
  - {id: a1, vpc: vpc-a, cidr: 10.0.1.0/24, public: true}
  - {id: b1, vpc: vpc-b, cidr: 10.1.1.0/24, public: true}
  - {id: b2, vpc: vpc-b, cidr: 10.1.2.0/24, public: true}
internet_gateways:
  - {id: igw-a, vpc: vpc-a}
`)
	if rt := topo.RouteTableOfSubnet("a1"); rt.ID != "rtb-public" || rt.Route(netip.MustParsePrefix("0.0.0.0/0")).Target.ID != "igw-a" {
		t.Errorf("a1's table = %+v, want rtb-public to igw-a", rt)
	}
	rt = topo.RouteTableOfSubnet("b2")
	if rt.ID != "rtb-public-vpc-b" || topo.RouteTableOfSubnet("b1") != rt || !topo.Subnet("b1").Public {
		t.Fatalf("b2's table = %+v", rt)
	}
	if r := rt.Route(netip.MustParsePrefix("::/0")); r == nil || r.Target.ID != "igw-default-vpc-b" || topo.IGWOfVPC("vpc-b").ID != "igw-default-vpc-b" {
		t.Errorf("vpc-b's public table = %+v, internet gateways %+v", rt.Routes, topo.InternetGateways)
	}
	if subnets := topo.SubnetsOfRouteTable("rtb-public-vpc-b"); len(subnets) != 2 {
		t.Errorf("subnets of rtb-public-vpc-b = %d, want 2", len(subnets))
	}
}

func TestT2Lookups(t *testing.T) {
	topo := mustLoad(t, "../examples/routing/t2.yaml")
	for _, c := range []struct{ id, vpc string }{
		{"vpc-2", "vpc-2"}, {"P", "vpc-1"}, {"R", "vpc-2"}, {"sgB", "vpc-2"}, {"acl-q", "vpc-1"}, {"rtb-r", "vpc-2"},
		{"igw-1", "vpc-1"}, {"nat-1", "vpc-1"}, {"eni-ngw", "vpc-1"}, {"W", "vpc-1"}, {"eni-b", "vpc-2"},
		{"rtb-main-vpc-2", "vpc-2"}, {"default-vpc-2", "vpc-2"}, {"pcx-12", ""}, {"nope", ""},
	} {
		if got := topo.VPCOf(c.id); got != c.vpc {
			t.Errorf("VPCOf(%s) = %q, want %q", c.id, got, c.vpc)
		}
	}
	if rt := topo.RouteTableOfSubnet("M"); rt == nil || rt.ID != "rtb-main" {
		t.Errorf("M's table = %+v, want the main table (RT-3)", rt)
	}
	q := topo.RouteTableOfSubnet("Q")
	if r := q.Route(netip.MustParsePrefix("0.0.0.0/0")); r == nil || r.Target != (RouteTarget{Kind: TargetNAT, ID: "nat-1"}) || r.Blackhole {
		t.Errorf("rtb-q's default route = %+v", r)
	}
	g := topo.NATGatewayByENI("eni-ngw")
	if g == nil || g.ID != "nat-1" || topo.NATGateway("nat-1") != g || topo.NATGatewayByIP(netip.MustParseAddr("10.0.1.100")) != g || g.PortPolicy != "sequential" {
		t.Errorf("NAT gateway lookups: %+v", g)
	}
	e := topo.ElasticIPOf("eni-ngw", netip.MustParseAddr("10.0.1.100"))
	if e == nil || e.ID != "eipalloc-ngw" || topo.ElasticIPByPublicIP(netip.MustParseAddr("203.0.113.100")) != e {
		t.Errorf("the NAT gateway's Elastic IP = %+v", e)
	}
	m, ok := topo.PublicToPrivate(netip.MustParseAddr("203.0.113.100"))
	if !ok || m.Private != netip.MustParseAddr("10.0.1.100") || m.ENI != "eni-ngw" || m.VPC != "vpc-1" || m.ElasticIP != "eipalloc-ngw" {
		t.Errorf("PublicToPrivate(EIP) = %+v, %v", m, ok)
	}
	m, ok = topo.PrivateToPublic(netip.MustParseAddr("10.0.1.10"))
	if !ok || m.Public != netip.MustParseAddr("203.0.113.10") || m.ENI != "eni-w" || m.ElasticIP != "" {
		t.Errorf("PrivateToPublic(W) = %+v, %v", m, ok)
	}
	if _, ok := topo.PrivateToPublic(netip.MustParseAddr("10.0.1.20")); ok {
		t.Error("D has no public IP")
	}
	if p := topo.PeeringBetween("vpc-2", "vpc-1"); p == nil || p.ID != "pcx-12" || p.Peer("vpc-1") != "vpc-2" {
		t.Errorf("PeeringBetween = %+v", p)
	}
	if e, in := topo.ENI("eni-b"); e == nil || in.ID != "B" || topo.InstanceByENI("eni-b") != in {
		t.Errorf("ENI(eni-b) = %+v, %+v", e, in)
	}
	if in := topo.InstanceByIP(netip.MustParseAddr("203.0.113.10")); in == nil || in.ID != "W" {
		t.Errorf("InstanceByIP(W's public IP) = %+v", in)
	}
	if got := topo.FlowLogENIs(&FlowLog{Resource: "vpc-1"}); !slices.Equal(got, []string{"eni-w", "eni-d", "eni-a", "eni-ngw"}) {
		t.Errorf("ENIs of a flow log on vpc-1 = %v", got)
	}
	if got := topo.FlowLogENIs(&FlowLog{Resource: "eni-ngw"}); !slices.Equal(got, []string{"eni-ngw"}) {
		t.Errorf("ENIs of a flow log on eni-ngw = %v", got)
	}
	if got := topo.FlowLogInstances(&FlowLog{Resource: "vpc-2"}); len(got) != 1 || got[0].ID != "B" {
		t.Errorf("instances of a flow log on vpc-2 = %+v", got)
	}
	if got := topo.IGWOfVPC("vpc-2"); got != nil {
		t.Errorf("vpc-2 has no internet gateway, got %+v", got)
	}
}

func TestMultiENIInstance(t *testing.T) {
	topo := mustParse(t, `name: m
vpc: {id: vpc-a, cidr: 10.0.0.0/16}
subnets:
  - {id: s1, cidr: 10.0.1.0/24}
  - {id: s2, cidr: 10.0.2.0/24}
internet_gateways: [{id: igw, vpc: vpc-a}]
security_groups:
  - {id: sg-f}
instances:
  - id: f
    subnet: s1
    private_ip: 10.0.1.50
    secondary_private_ips: [10.0.1.51]
    source_dest_check: false
    security_groups: [sg-f]
    network_interfaces:
      - {device_index: 2, subnet: s2, private_ip: 10.0.2.50, description: leg, tags: {Name: leg}}
      - {device_index: 1, id: eni-f1, subnet: s1, private_ip: 10.0.1.60}
  - id: g
    network_interfaces:
      - {device_index: 0, id: eni-g, subnet: s1, private_ip: 10.0.1.70, description: primary}
elastic_ips:
  - {id: eip-1, public_ip: 203.0.113.5, network_interface: f, private_ip: 10.0.1.51}
  - {id: eip-2, public_ip: 203.0.113.6, network_interface: eni-f1}
`)
	f := topo.Instance("f")
	if len(f.Secondary) != 2 || f.Secondary[0].ID != "eni-f1" || f.Secondary[1].DeviceIndex != 2 || f.Secondary[1].ID != SecondaryENIID("m", "f", 2) {
		t.Fatalf("f's ENIs = %+v", f.ENIs())
	}
	if f.ENI.SourceDestCheck() || !f.Secondary[0].SourceDestCheck() {
		t.Errorf("source/destination check: primary %v (want off), eni-f1 %v (want on, the default)", f.ENI.SourceDestCheck(), f.Secondary[0].SourceDestCheck())
	}
	if !slices.Equal(f.Secondary[0].SecurityGroups, []string{"default"}) || !slices.Equal(f.SecurityGroups, []string{"sg-f"}) {
		t.Errorf("groups per ENI: %v / %v", f.SecurityGroups, f.Secondary[0].SecurityGroups)
	}
	if e, in := topo.ENIByIP(netip.MustParseAddr("10.0.1.51")); in != f || e != &f.ENI {
		t.Errorf("ENIByIP(secondary IP) = %+v, %+v", e, in)
	}
	if in := topo.InstanceByIP(netip.MustParseAddr("10.0.2.50")); in != f {
		t.Errorf("InstanceByIP(second ENI) = %+v", in)
	}
	if e := topo.ElasticIP("eip-1"); e.ENI != f.ENI.ID || e.PrivateIP != netip.MustParseAddr("10.0.1.51") {
		t.Errorf("an EIP on an instance means its primary ENI (EIP-10): %+v", e)
	}
	if e := topo.ElasticIP("eip-2"); e.PrivateIP != netip.MustParseAddr("10.0.1.60") {
		t.Errorf("an EIP without private_ip maps the ENI's primary IP: %+v", e)
	}
	if m, ok := topo.PublicToPrivate(netip.MustParseAddr("203.0.113.6")); !ok || m.ENI != "eni-f1" {
		t.Errorf("PublicToPrivate(eip-2) = %+v", m)
	}
	g := topo.Instance("g")
	if g.ENI.ID != "eni-g" || g.Subnet != "s1" || g.ENI.Description != "primary" || len(g.Secondary) != 0 {
		t.Errorf("an instance whose primary ENI is network_interfaces[0] = %+v", g)
	}
	// The primary ENI's description is kept in the export.
	checkRoundTrip(t, topo)
}

func TestRouteStates(t *testing.T) {
	topo := mustParse(t, `name: s
vpcs:
  - {id: vpc-a, cidr: 10.0.0.0/16}
  - {id: vpc-b, cidr: 10.1.0.0/16}
subnets:
  - {id: a1, vpc: vpc-a, cidr: 10.0.1.0/24}
nat_gateways:
  - {id: nat-a, subnet: a1, connectivity: private}
peering_connections:
  - {id: pcx-ab, requester_vpc: vpc-a, accepter_vpc: vpc-b, state: pending-acceptance}
internet_gateways:
  - {id: igw-a}
route_tables:
  - id: r
    vpc: vpc-a
    routes:
      - {destination: 10.1.0.0/16, target: pcx-ab}
      - {destination: 0.0.0.0/0, target: nat-a}
      - {destination: 192.0.2.0/24, target: igw-a, state: blackhole}
      - {destination: 198.51.100.0/24}
      - {destination: 203.0.113.0/24, target: nat-gone, state: blackhole}
`)
	rt := topo.RouteTable("r")
	state := func(dest string) (bool, RouteTarget) {
		r := rt.Route(netip.MustParsePrefix(dest))
		return r.Blackhole, r.Target
	}
	for _, c := range []struct {
		dest      string
		blackhole bool
		target    RouteTarget
	}{
		{"10.1.0.0/16", true, RouteTarget{TargetPeering, "pcx-ab"}}, // RT-15: pending peering
		{"0.0.0.0/0", false, RouteTarget{TargetNAT, "nat-a"}},
		{"192.0.2.0/24", true, RouteTarget{TargetIGW, "igw-a"}},      // detached gateway
		{"198.51.100.0/24", true, RouteTarget{}},                     // no target
		{"203.0.113.0/24", true, RouteTarget{TargetNAT, "nat-gone"}}, // deleted NAT gateway
	} {
		if bh, target := state(c.dest); bh != c.blackhole || target != c.target {
			t.Errorf("%s: blackhole %v target %+v, want %v %+v", c.dest, bh, target, c.blackhole, c.target)
		}
	}
	// Accepting the peering and deleting the NAT gateway, as the API would.
	topo.Peering("pcx-ab").State = "active"
	topo.NATGateways = nil
	topo.RefreshRouteStates()
	if bh, _ := state("10.1.0.0/16"); bh {
		t.Error("the route to an active peering is still a blackhole")
	}
	if bh, target := state("0.0.0.0/0"); !bh || target.ID != "nat-a" {
		t.Errorf("the route to a deleted NAT gateway: blackhole %v, target %+v; want a blackhole that keeps its target (RT-15)", bh, target)
	}
	checkRoundTrip(t, topo)
}

func TestNATGatewayAddressIsTheHighestFree(t *testing.T) {
	topo := mustParse(t, `name: n
vpc: {id: vpc-a, cidr: 10.0.0.0/16}
subnets:
  - {id: s, cidr: 10.0.1.0/24}
instances:
  - {id: i, subnet: s, private_ip: 10.0.1.254}
nat_gateways:
  - {id: n1, subnet: s, connectivity: private}
  - {id: n2, subnet: s, connectivity: private}
`)
	if a, b := topo.NATGateway("n1").PrivateIP, topo.NATGateway("n2").PrivateIP; a != netip.MustParseAddr("10.0.1.253") || b != netip.MustParseAddr("10.0.1.252") {
		t.Errorf("NAT gateway addresses = %s, %s; want the highest free ones in file order", a, b)
	}
	if topo.NATGateway("n1").ENI != ENIID("n", "n1") {
		t.Errorf("NAT gateway ENI = %s, want the derived id", topo.NATGateway("n1").ENI)
	}
}

func TestAddVPCMatchesParse(t *testing.T) {
	parsed := mustParse(t, "name: a\nvpcs:\n  - {id: vpc-a, cidr: 10.0.0.0/16}\n  - {id: vpc-b, cidr: 10.1.0.0/16, ipv6_cidr: \"2001:db8::/56\"}\n")
	built := &Topology{Name: "a", Account: DefaultAccount, Region: DefaultRegion, Limits: DefaultLimits}
	built.AddVPC(VPC{ID: "vpc-a", CIDR: netip.MustParsePrefix("10.0.0.0/16")})
	built.AddVPC(VPC{ID: "vpc-b", CIDR: netip.MustParsePrefix("10.1.0.0/16"), IPv6CIDR: netip.MustParsePrefix("2001:db8::/56")})
	ClearIncidentals(parsed)
	// Parse appends defaults after the file's objects, AddVPC with each VPC;
	// for a file of VPCs only the two orders agree.
	if d := Diff(parsed, built); d != "" {
		t.Errorf("AddVPC differs from Parse: %s", d)
	}
}
