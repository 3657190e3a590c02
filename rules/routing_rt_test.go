package rules

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// Route tables (aws-routing.md §1) over T2.

func send(t *testing.T, top *vpc.Topology, p Packet) Path {
	t.Helper()
	return NewPathModel(top).Send(0, p)
}

func decided(t *testing.T, p Path) *RouteDecision {
	t.Helper()
	for i := range p.Hops {
		if p.Hops[i].Kind == HopRoute && p.Hops[i].Route != nil {
			return p.Hops[i].Route
		}
	}
	t.Fatalf("no route hop: %s", routeKinds(p))
	return nil
}

func TestRT1_EachSubnetRoutesByItsOwnTable(t *testing.T) {
	top := t2()
	// W (P, rtb-p: 0/0 -> igw-1) and A (Q, rtb-q: 0/0 -> nat-1) send to the
	// same destination along different routes.
	if rd := decided(t, send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn))); rd.Table.ID != "rtb-p" || rd.Route.Target.ID != "igw-1" {
		t.Errorf("W: %s %s", rd.Table.ID, routeTargetText(rd.Route))
	}
	if rd := decided(t, send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn))); rd.Table.ID != "rtb-q" || rd.Route.Target.ID != "nat-1" {
		t.Errorf("A: %s %s", rd.Table.ID, routeTargetText(rd.Route))
	}
}

// addG puts instance G (10.0.3.30, public 203.0.113.30, sgD) in M.
func addG(top *vpc.Topology) {
	top.Instances = append(top.Instances, vpc.Instance{ID: "G", ENI: vpc.ENI{ID: "eni-g", Subnet: "M", PrivateIP: ip("10.0.3.30"), PublicIP: ip("203.0.113.30"), SecurityGroups: []string{"sgD"}},
		OS: "linux", Conntrack: vpc.DefaultConntrack})
	complete(top)
}

func TestRT2_RT3_MainTableServesSubnetsWithoutAssociation(t *testing.T) {
	top := t2()
	addG(top)
	addRoute(top, "rtb-main", "0.0.0.0/0", "igw-1") // the main table's routes are editable (RT-2)
	if p := send(t, top, tcp("10.0.3.30", 40000, sIP, 443, TCPSyn)); !p.Delivered || decided(t, p).Table.ID != "rtb-main" {
		t.Errorf("M uses the main table: %s", routeKinds(p))
	}
	// A new main table re-routes the implicitly associated subnet M, not
	// the explicitly associated Q (RT-3).
	top.VPCs[0].MainTable = "rtb-q"
	tableOf(top, "rtb-main").Main, tableOf(top, "rtb-q").Main = false, true
	if rd := decided(t, send(t, top, tcp("10.0.3.30", 40000, sIP, 443, TCPSyn))); rd.Table.ID != "rtb-q" {
		t.Errorf("M after the change: %s", rd.Table.ID)
	}
	if rd := decided(t, send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn))); rd.Table.ID != "rtb-p" {
		t.Errorf("P (explicit) after the change: %s", rd.Table.ID)
	}
}

func TestRT5_OneLocalRoutePerVPCBlock(t *testing.T) {
	top := t2()
	top.VPCs[0].SecondaryCIDRs = []netip.Prefix{pfx("100.64.0.0/24")}
	top.Subnets = append(top.Subnets, vpc.Subnet{ID: "S2nd", VPC: "vpc-1", CIDR: pfx("100.64.0.0/26"), NetworkACL: "acl-p"})
	top.Instances = append(top.Instances, vpc.Instance{ID: "H", ENI: vpc.ENI{ID: "eni-h", Subnet: "S2nd", PrivateIP: ip("100.64.0.10"), SecurityGroups: []string{"sgW"}},
		OS: "linux", Conntrack: vpc.DefaultConntrack})
	complete(top)
	p := send(t, top, tcp(dIP, 40000, "100.64.0.10", 22, TCPSyn))
	if !p.Delivered || decided(t, p).Route.Target.Kind != vpc.TargetLocal || decided(t, p).Route.Dest != pfx("100.64.0.0/24") {
		t.Errorf("secondary block: %s", routeKinds(p))
	}
	// The local route's target replaced by an ENI sends the whole VPC there
	// (TV-54 d covers the way back).
	top = t2()
	appliance(top, false)
	delRoute(top, "rtb-q", "10.0.0.0/16")
	addRoute(top, "rtb-q", "10.0.0.0/16", "eni-f")
	if rd := decided(t, send(t, top, tcp(aIP2, 40000, "10.0.3.99", 22, TCPSyn))); rd.Route.Target.ID != "eni-f" {
		t.Errorf("replaced local target: %s", routeTargetText(rd.Route))
	}
}

func TestRT7_LinkLocalServicesAreNeverRouted(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-q", "169.254.0.0/16", "nat-1") // a larger overlapping CIDR
	for _, dst := range []string{"169.254.169.254", "169.254.169.253", "169.254.169.123"} {
		p := send(t, top, udp(aIP2, 40000, dst, 53))
		if !p.Delivered || len(p.Hops) != 1 || p.Hops[0].Kind != HopReserved {
			t.Errorf("%s: %s", dst, routeKinds(p))
		}
	}
}

func TestRT8_SameSubnetIsLayerTwoEvenWithASubnetRoute(t *testing.T) {
	top := t2()
	appliance(top, true)
	addRoute(top, "rtb-p", "10.0.1.0/24", "eni-f") // cannot redirect intra-subnet traffic
	aclOf(top, "acl-p").Ingress, aclOf(top, "acl-p").Egress = nil, nil
	p := send(t, top, tcp(dIP, 40000, wIP, 22, TCPSyn))
	if got := routeKinds(p); got != "sg-out:eni-d sg-in:eni-w" || !p.Delivered {
		t.Errorf("W and D share P: %s", got)
	}
}

func TestRT9_AddressFamiliesAreLookedUpSeparately(t *testing.T) {
	top := t2()
	dualStack(top)
	delRoute(top, "rtb-p", "::/0")
	// 0.0.0.0/0 -> igw-1 does not match IPv6.
	wantFate(t, send(t, top, tcp("2001:db8:1:1::10", 40000, "2001:db8:ffff::80", 443, TCPSyn)), "route:rtb-p:outbound:"+CodeNoRouteToDestination)
	// ::/0 -> eigw-1 does not match IPv4: A's IPv4 still goes to nat-1.
	if rd := decided(t, send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn))); rd.Route.Target.ID != "nat-1" {
		t.Errorf("IPv4 from Q: %s", routeTargetText(rd.Route))
	}
}

func TestRT10_LongestPrefixMatchAndPrefixListLength(t *testing.T) {
	top := t2()
	top.PrefixLists = append(top.PrefixLists, vpc.PrefixList{ID: "pl-x", CIDRs: []netip.Prefix{pfx("203.0.113.0/24"), pfx("203.0.113.64/26")}})
	// Order of routes is irrelevant: the /25 wins over the /0 whatever
	// comes first, and the prefix list counts as its longest matching entry
	// (/26 for S, /24 for W's public IP).
	tableOf(top, "rtb-p").Routes = []vpc.Route{route("203.0.113.0/25", "nat-1"), route("0.0.0.0/0", "igw-1"), route("pl-x", "")}
	for _, tc := range []struct {
		dst, want string
		bits      int
	}{{sIP, "blackhole", 26}, {"203.0.113.1", "nat-1", 25}, {"198.51.100.10", "igw-1", 0}} {
		rd := decided(t, send(t, top, tcp(dIP, 40000, tc.dst, 443, TCPSyn)))
		if routeTargetText(rd.Route) != tc.want || rd.Bits != tc.bits {
			t.Errorf("%s: %s /%d, want %s /%d", tc.dst, routeTargetText(rd.Route), rd.Bits, tc.want, tc.bits)
		}
	}
}

func TestRT11_PrioritiesAtEqualPrefixLength(t *testing.T) {
	top := t2()
	top.PrefixLists = append(top.PrefixLists,
		vpc.PrefixList{ID: "pl-b", CIDRs: []netip.Prefix{pfx("203.0.113.80/32")}},
		vpc.PrefixList{ID: "pl-a", CIDRs: []netip.Prefix{pfx("203.0.113.80/32")}})
	prop := route("203.0.113.80/32", "nat-1")
	prop.Propagated = true
	for _, tc := range []struct {
		name   string
		routes []vpc.Route
		want   string
	}{
		{"static beats propagated [INTERP: same destination]", []vpc.Route{prop, route("203.0.113.80/32", "igw-1")}, "igw-1"},
		{"static CIDR beats prefix list", []vpc.Route{route("pl-a", "nat-1"), route("203.0.113.80/32", "igw-1")}, "igw-1"},
		{"prefix list beats propagated", []vpc.Route{prop, route("pl-a", "igw-1")}, "igw-1"},
		{"overlapping prefix lists: lowest id [INTERP]", []vpc.Route{route("pl-b", "nat-1"), route("pl-a", "igw-1")}, "igw-1"},
		{"a more specific propagated route still wins", []vpc.Route{route("203.0.113.0/24", "igw-1"), prop}, "nat-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tableOf(top, "rtb-p").Routes = append([]vpc.Route{route("10.0.0.0/16", "local")}, tc.routes...)
			rd := decided(t, send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn)))
			if got := routeTargetText(rd.Route); got != tc.want {
				t.Errorf("%s wins, want %s", got, tc.want)
			}
			if rd.Shadowed == nil {
				t.Errorf("the beaten route is not reported")
			}
		})
	}
}

func TestRT12_RouteChangesApplyToTheNextPacketAndKeepTracking(t *testing.T) {
	top := t2()
	m := NewPathModel(top)
	c := newConv(t, m, nil)
	if !c.handshake(tcp(wIP, 40000, sIP, 443, 0)) {
		t.Fatal(routeKinds(c.last))
	}
	delRoute(top, "rtb-p", "0.0.0.0/0")
	wantFate(t, c.fromClient(TCPAck), "route:rtb-p:outbound:"+CodeNoRouteToDestination)
	addRoute(top, "rtb-p", "0.0.0.0/0", "igw-1")
	if p := c.fromClient(TCPAck); !p.Delivered || !p.Hops[0].SG.ByState {
		t.Errorf("after restoring the route the SG entry still admits: %s %+v", routeKinds(p), p.Hops[0].SG)
	}
}

func TestRT13_EveryRouteTargetKind(t *testing.T) {
	top := t2()
	dualStack(top)
	s3(top)
	appliance(top, true)
	top.Instances = append(top.Instances, vpc.Instance{ID: "i-g", ENI: vpc.ENI{ID: "eni-g", Subnet: "M", PrivateIP: ip("10.0.3.60"), SecurityGroups: []string{"sgF"}, SourceDestCheckDisabled: true}})
	addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12")
	addRoute(top, "rtb-r", "10.0.0.0/16", "pcx-12")
	addRoute(top, "rtb-p", "198.51.100.0/24", "i-g")
	tableOf(top, "rtb-main").Routes = append(tableOf(top, "rtb-main").Routes, route("0.0.0.0/0", "igw-1"))
	for _, tc := range []struct {
		p    Packet
		kind vpc.TargetKind
		next string // the component after the route
	}{
		{tcp(dIP, 40000, wIP, 22, TCPSyn), "", ""}, // same subnet: no route at all
		{tcp(aIP2, 40000, wIP, 443, TCPSyn), vpc.TargetENI, "nacl-in:acl-default"},
		{tcp(wIP, 40000, "10.0.3.50", 22, TCPSyn), vpc.TargetLocal, "nacl-in:acl-default"},
		{tcp(wIP, 40000, sIP, 443, TCPSyn), vpc.TargetIGW, "igw:igw-1"},
		{tcp("2001:db8:1:2::20", 40000, "2001:db8:ffff::80", 443, TCPSyn), vpc.TargetEIGW, "eigw:eigw-1"},
		{tcp(aIP2, 40000, sIP, 443, TCPSyn), vpc.TargetNAT, "nacl-in:acl-p"},
		{tcp(wIP, 40000, "198.51.100.10", 443, TCPSyn), vpc.TargetInstance, "nacl-in:acl-default"},
		{tcp(wIP, 40000, bIP2, 22, TCPSyn), vpc.TargetPeering, "pcx:pcx-12"},
		{tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn), vpc.TargetEndpoint, "vpce:vpce-s3"},
	} {
		p := send(t, top, tc.p)
		if !p.Delivered {
			t.Errorf("%s: %s", packetText(tc.p), routeKinds(p))
		}
		if tc.kind == "" {
			continue
		}
		rd := decided(t, p)
		hops := strings.Fields(routeKinds(p))
		next := ""
		for i, h := range hops {
			if strings.HasPrefix(h, "route:") && i+1 < len(hops) {
				next = hops[i+1]
				break
			}
		}
		if rd.Route.Target.Kind != tc.kind || next != tc.next {
			t.Errorf("%s: target %s then %q, want %s then %q", packetText(tc.p), rd.Route.Target.Kind, next, tc.kind, tc.next)
		}
	}
}

func TestRT14_RouteOriginAndStateInExplain(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-q", "203.0.113.80/32", "nat-2")
	a := Explain(top, Query{From: "A", To: "S", Protocol: vpc.ProtoTCP, Port: 443})
	e := a.Explanations[0]
	if e.ExplanationCode != CodeBadStateRoute || e.RouteTableRoute == nil || e.RouteTableRoute.State != "blackhole" ||
		e.RouteTableRoute.Origin != "CreateRoute" || e.RouteTableRoute.NatGatewayID != "nat-2" || e.RouteTableRoute.DestinationCidr != "203.0.113.80/32" {
		b, _ := json.Marshal(e)
		t.Errorf("explanation %s", b)
	}
	a = Explain(top, Query{From: "A", To: "W", Protocol: vpc.ProtoTCP, Port: 22})
	var local *AnalysisRouteTableRoute
	for _, c := range a.ForwardPathComponents {
		if c.RouteTableRoute != nil {
			local = c.RouteTableRoute
		}
	}
	if local == nil || local.GatewayID != "local" || local.Origin != "CreateRouteTable" || local.State != "active" {
		t.Errorf("local route %+v", local)
	}
}

func TestRT15_RoutesToVanishedTargetsAreBlackholes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*vpc.Topology)
		from   Packet
	}{
		{"NAT gateway deleted", func(top *vpc.Topology) { top.NATGateways = nil }, tcp(aIP2, 40000, sIP, 443, TCPSyn)},
		{"instance terminated", func(top *vpc.Topology) { addRoute(top, "rtb-q", "198.51.100.0/24", "i-gone") }, tcp(aIP2, 40000, xIP2, 443, TCPSyn)},
		{"ENI deleted", func(top *vpc.Topology) { addRoute(top, "rtb-q", "198.51.100.0/24", "eni-gone") }, tcp(aIP2, 40000, xIP2, 443, TCPSyn)},
		{"gateway detached", func(top *vpc.Topology) { top.InternetGateways[0].VPC = "" }, tcp(wIP, 40000, sIP, 443, TCPSyn)},
		{"peering deleted", func(top *vpc.Topology) { addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12"); top.Peerings = nil }, tcp(wIP, 40000, bIP2, 22, TCPSyn)},
		{"a route without target", func(top *vpc.Topology) { addRoute(top, "rtb-p", "203.0.113.80/32", "") }, tcp(wIP, 40000, sIP, 443, TCPSyn)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t2()
			tc.change(top)
			p := send(t, top, tc.from)
			if b := p.Blocked(); b == nil || b.Kind != HopRoute || b.Code != CodeBadStateRoute || !b.Route.Blackhole {
				t.Errorf("%s", routeKinds(p))
			}
		})
	}
}

func TestRT16_ABlackholeIsNeverSkippedForAShorterRoute(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-p", "203.0.113.0/24", "")
	p := send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn))
	wantFate(t, p, "route:rtb-p:outbound:"+CodeBadStateRoute)
	if rd := decided(t, p); rd.Shadowed == nil || rd.Shadowed.Target.ID != "igw-1" {
		t.Errorf("the shorter active route is not named: %+v", rd.Shadowed)
	}
}

func TestRT20_PublicMeansARouteToTheInternetGateway(t *testing.T) {
	// The `public: true` shorthand without route tables (T1): the
	// implicit public table routes 0.0.0.0/0 and ::/0 to the VPC's internet
	// gateway; a private subnet's main table has only local routes.
	top := openT1()
	p := NewPathModel(top).Send(0, tcp("10.0.1.10", 40000, "198.51.100.10", 443, TCPSyn))
	if rd := decided(t, p); !p.Delivered || rd.Table.ID != vpc.PublicRouteTableID || rd.Route.Target.ID != vpc.DefaultIGWID {
		t.Errorf("public subnet: %s", routeKinds(p))
	}
	makePrivate(top, "S1")
	p = NewPathModel(top).Send(0, tcp("10.0.1.10", 40000, "198.51.100.10", 443, TCPSyn))
	wantFate(t, p, "route:"+vpc.DefaultMainRouteTableID+":outbound:"+CodeNoRouteToDestination)
	// A public IP does not help an instance in a private subnet (TV-44 a).
	if instOf(top, "A").PublicIP.IsValid() != true {
		t.Fatal("A lost its public IP")
	}
}

func TestRT21_ApplianceNorthSouth(t *testing.T) {
	// 0.0.0.0/0 -> the appliance in Q; the appliance subnet M routes
	// 0.0.0.0/0 to the internet gateway; the appliance does not NAT, so A
	// needs its own public IP (here an Elastic IP).
	top := t2()
	appliance(top, true)
	delRoute(top, "rtb-q", "0.0.0.0/0")
	addRoute(top, "rtb-q", "0.0.0.0/0", "eni-f")
	addRoute(top, "rtb-main", "0.0.0.0/0", "igw-1")
	sgOf(top, "sgF").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}
	top.ElasticIPs = append(top.ElasticIPs, vpc.ElasticIP{ID: "eipalloc-a", PublicIP: ip("203.0.113.20"), ENI: "A"})
	complete(top)
	c := newConv(t, NewPathModel(top), nil)
	p := c.start(tcp(aIP2, 40000, sIP, 443, TCPSyn))
	if !p.Delivered || !strings.Contains(routeKinds(p), "sg-in:eni-f sg-out:eni-f nacl-out:acl-default route:rtb-main igw:igw-1") || p.Final().Src != ip("203.0.113.20") {
		t.Errorf("north-south: %s, S sees %s", routeKinds(p), p.Final().Src)
	}
}

func TestRT22_SGReferencesDoNotSurviveAnAppliance(t *testing.T) {
	top := t2()
	appliance(top, true)
	sgOf(top, "sgW").Ingress = []vpc.SGRule{sgrGroup(vpc.ProtoTCP, 443, 443, "sgA")}
	a := Explain(top, Query{From: "A", To: "W", Protocol: vpc.ProtoTCP, Port: 443})
	if a.NetworkPathFound || len(a.Explanations) != 1 || a.Explanations[0].ExplanationCode != CodeSGRulesMismatch {
		t.Fatalf("%s", explainText(t, a))
	}
	if d := a.Explanations[0].AdditionalDetails; len(d) != 1 || d[0].AdditionalDetailType != QualSGReferencesNotPreserved {
		t.Errorf("details %+v", d)
	}
	// By CIDR it works (AWS's advice).
	sgOf(top, "sgW").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "10.0.2.0/24")}
	if a := Explain(top, Query{From: "A", To: "W", Protocol: vpc.ProtoTCP, Port: 443}); !a.NetworkPathFound {
		t.Errorf("%s", explainText(t, a))
	}
	// Straight from A (no appliance on the way) the reference matches.
	top = t2()
	sgOf(top, "sgW").Ingress = []vpc.SGRule{sgrGroup(vpc.ProtoTCP, 443, 443, "sgA")}
	if p := send(t, top, tcp(aIP2, 40000, wIP, 443, TCPSyn)); !p.Delivered {
		t.Errorf("direct: %s", routeKinds(p))
	}
}
