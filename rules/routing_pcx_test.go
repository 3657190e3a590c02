package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Peering, ENIs and gateway endpoints (aws-routing.md §4..§6) over T2.

// peered routes vpc-1 and vpc-2 to each other through pcx-12.
func peeredT2() *vpc.Topology {
	top := t2()
	addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12")
	addRoute(top, "rtb-q", "10.1.0.0/16", "pcx-12")
	addRoute(top, "rtb-r", "10.0.0.0/16", "pcx-12")
	return top
}

// addVPC3 adds vpc-3 (cidr) with subnet V, instance C (addr, sgC: in all
// from 10.0.0.0/8) and pcx-23 to vpc-2, routed both ways.
func addVPC3(top *vpc.Topology, cidr, subnet, addr string) {
	top.VPCs = append(top.VPCs, vpc.VPC{ID: "vpc-3", CIDR: pfx(cidr), DefaultSG: "default-vpc-3", DefaultNACL: "acl-default-vpc-3", MainTable: "rtb-v"})
	top.Subnets = append(top.Subnets, vpc.Subnet{ID: "V", VPC: "vpc-3", CIDR: pfx(subnet)})
	top.NetworkACLs = append(top.NetworkACLs, vpc.NetworkACL{ID: "acl-default-vpc-3", VPC: "vpc-3",
		Ingress: []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}, Egress: []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}})
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgC", VPC: "vpc-3", Ingress: []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "10.0.0.0/8")}, Egress: []vpc.SGRule{outAll()}})
	top.Instances = append(top.Instances, vpc.Instance{ID: "C", ENI: vpc.ENI{ID: "eni-c", Subnet: "V", PrivateIP: ip(addr), SecurityGroups: []string{"sgC"}}, OS: "linux", Conntrack: vpc.DefaultConntrack})
	top.RouteTables = append(top.RouteTables, vpc.RouteTable{ID: "rtb-v", VPC: "vpc-3", Main: true, Routes: []vpc.Route{route("10.1.0.0/16", "pcx-23")}})
	top.Peerings = append(top.Peerings, vpc.Peering{ID: "pcx-23", Requester: "vpc-2", Accepter: "vpc-3", State: "active"})
	addRoute(top, "rtb-r", cidr, "pcx-23")
	complete(top)
}

func TestPCX1_OnlyAnActivePeeringCarriesTraffic(t *testing.T) {
	top := peeredT2()
	for _, state := range []string{"pending-acceptance", "provisioning", "deleted"} {
		// Its routes are blackholes (RT-15), flagged or not.
		top.Peerings[0].State = state
		wantFate(t, send(t, top, tcp(wIP, 40000, bIP2, 22, TCPSyn)), "route:rtb-p:outbound:"+CodeBadStateRoute)
	}
	top.Peerings[0].State = "active"
	if p := send(t, top, tcp(wIP, 40000, bIP2, 22, TCPSyn)); !p.Delivered {
		t.Errorf("active: %s", routeKinds(p))
	}
}

func TestPCX3_EachSideNeedsItsRoute(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12")
	c := newConv(t, NewPathModel(top), nil)
	if !c.start(tcp(wIP, 40000, bIP2, 22, TCPSyn)).Delivered {
		t.Fatal(routeKinds(c.last))
	}
	wantFate(t, c.fromServer(synAck), "route:rtb-r:outbound:"+CodeNoRouteToDestination)
	// A route to part of the peer (one address) is enough.
	addRoute(top, "rtb-r", "10.0.1.10/32", "pcx-12")
	if c := newConv(t, NewPathModel(top), nil); !c.handshake(tcp(wIP, 40000, bIP2, 22, 0)) {
		t.Errorf("with a /32 back: %s", routeKinds(c.last))
	}
}

func TestPCX4_PeeringIsNotTransitive(t *testing.T) {
	// vpc-1 -- vpc-2 -- vpc-3: W cannot reach C through vpc-2, even with
	// every route in place.
	top := peeredT2()
	addVPC3(top, "10.2.0.0/16", "10.2.1.0/24", "10.2.1.5")
	addRoute(top, "rtb-p", "10.2.0.0/16", "pcx-12")
	p := send(t, top, tcp(wIP, 40000, "10.2.1.5", 22, TCPSyn))
	wantFate(t, p, "pcx:pcx-12:outbound:"+CodePCXAddressInVPC)
	a := Explain(top, Query{From: "W", To: "C", Protocol: vpc.ProtoTCP, Port: 22})
	found := false
	for _, n := range a.Notes {
		found = found || n.ExplanationCode == NoteDisconnectedVPCs
	}
	if !found {
		t.Errorf("notes %+v lack %s", a.Notes, NoteDisconnectedVPCs)
	}
	// B reaches C directly.
	if p := send(t, top, tcp(bIP2, 40000, "10.2.1.5", 22, TCPSyn)); !p.Delivered {
		t.Errorf("B -> C: %s", routeKinds(p))
	}
}

func TestPCX5_NoEdgeToEdgeRouting(t *testing.T) {
	top := peeredT2()
	s3(top)
	addRoute(top, "rtb-r", "0.0.0.0/0", "pcx-12")
	for _, dst := range []string{sIP, "192.0.2.200"} { // vpc-1's internet gateway / NAT gateway / endpoint
		wantFate(t, send(t, top, tcp(bIP2, 40000, dst, 443, TCPSyn)), "pcx:pcx-12:outbound:"+CodePCXAddressInVPC)
	}
}

func TestPCX6_DestinationMustBeInTheReceivingVPC(t *testing.T) {
	top := peeredT2()
	addRoute(top, "rtb-p", "10.9.0.0/16", "pcx-12")
	p := send(t, top, tcp(wIP, 40000, "10.9.0.1", 22, TCPSyn))
	wantFate(t, p, "pcx:pcx-12:outbound:"+CodePCXAddressInVPC)
	a := Explain(top, Query{From: "W", To: "10.9.0.1", Protocol: vpc.ProtoTCP, Port: 22})
	if e := a.Explanations; len(e) != 1 || e[0].VpcPeeringConnection == nil || e[0].VpcPeeringConnection.ID != "pcx-12" || e[0].RouteTableRoute == nil || e[0].RouteTableRoute.VpcPeeringConnectionID != "pcx-12" {
		t.Errorf("explanation %+v", e)
	}
}

func TestPCX7_LocalDeliveryAndNoReversePathCheck(t *testing.T) {
	// The receiving subnet's table is not consulted on the way in; the
	// reply follows the responder's routes, which may lead elsewhere: vpc-3
	// overlaps vpc-1's 10.0.1.0/24 and rtb-r sends its block there, where no
	// ENI holds W's address (a topology holds each address once, and no
	// two subnets overlap).
	top := peeredT2()
	addVPC3(top, "10.0.0.0/20", "10.0.8.0/24", "10.0.8.10")
	p := NewPathModel(top)
	c := newConv(t, p, nil)
	if !c.start(tcp(wIP, 40000, bIP2, 22, TCPSyn)).Delivered {
		t.Fatal(routeKinds(c.last))
	}
	r := c.fromServer(synAck)
	if !strings.Contains(routeKinds(r), "pcx:pcx-23") || r.Fate() != "subnet:vpc-3:inbound:"+CodeNoENIAtAddress {
		t.Errorf("the reply should leave for vpc-3 and find no ENI there: %s (%s)", routeKinds(r), r.Fate())
	}
}

func TestPCX8_SGRulesMayReferencePeerGroups(t *testing.T) {
	top := peeredT2()
	sgOf(top, "sgB").Ingress = []vpc.SGRule{sgrGroup(vpc.ProtoTCP, 22, 22, "sgW")}
	if p := send(t, top, tcp(wIP, 40000, bIP2, 22, TCPSyn)); !p.Delivered {
		t.Errorf("W (member of sgW): %s", routeKinds(p))
	}
	wantFate(t, send(t, top, tcp(dIP, 40000, bIP2, 22, TCPSyn)), "sg:eni-b:inbound:"+CodeSGRulesMismatch)
}

func TestPCX9_BothNACLsSeeUnchangedAddresses(t *testing.T) {
	top := peeredT2()
	p := send(t, top, tcp(wIP, 40000, bIP2, 22, TCPSyn))
	if got, want := routeKinds(p), "sg-out:eni-w nacl-out:acl-p route:rtb-p pcx:pcx-12 nacl-in:acl-default-vpc-2 sg-in:eni-b"; got != want {
		t.Errorf("path %s, want %s", got, want)
	}
	for _, h := range p.Hops {
		if h.In.Src != ip(wIP) || h.In.Dst != ip(bIP2) {
			t.Errorf("%s sees %s", h.ID, packetText(h.In))
		}
	}
	aclOf(top, "acl-default-vpc-2").Ingress = []vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "10.0.1.10/32", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}
	wantFate(t, send(t, top, tcp(wIP, 40000, bIP2, 22, TCPSyn)), "nacl:acl-default-vpc-2:inbound:"+CodeSubnetACLRestriction)
}

func TestPCX10_PeeringFlowLogs(t *testing.T) {
	top := peeredT2()
	recs := PredictFlowLog(top, []PathPacket{{Packet: tcp(wIP, 40000, bIP2, 22, TCPSyn)}, {At: time.Millisecond, Packet: tcp(bIP2, 22, wIP, 40000, synAck)}})
	checkFlows(t, recs, []string{
		"eni-w eg ACCEPT 10.0.1.10:40000>10.1.1.30:22 pkt=10.0.1.10>10.1.1.30 tp=4",
		"eni-b in ACCEPT 10.0.1.10:40000>10.1.1.30:22 pkt=10.0.1.10>10.1.1.30",
		"eni-b eg ACCEPT 10.1.1.30:22>10.0.1.10:40000 tp=4",
		"eni-w in ACCEPT 10.1.1.30:22>10.0.1.10:40000",
	}, true)
}

func TestPCX12_DeletedPeeringTurnsRoutesIntoBlackholes(t *testing.T) {
	top := peeredT2()
	top.Peerings = nil
	wantFate(t, send(t, top, tcp(wIP, 40000, bIP2, 22, TCPSyn)), "route:rtb-p:outbound:"+CodeBadStateRoute)
}

// multiHomed gives W a second ENI eni-w2 in Q (10.0.2.10, secondary
// 10.0.2.11, sgW2: in 22 from 10.0.0.0/8 and X's network).
func multiHomed(top *vpc.Topology) {
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgW2", VPC: "vpc-1",
		Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "10.0.0.0/8"), sgr(vpc.ProtoTCP, 22, 22, "198.51.100.0/24")}, Egress: []vpc.SGRule{outAll()}})
	instOf(top, "W").Secondary = []vpc.ENI{{ID: "eni-w2", Subnet: "Q", PrivateIP: ip("10.0.2.10"), SecondaryIPs: []netip.Addr{ip("10.0.2.11")}, SecurityGroups: []string{"sgW2"}, DeviceIndex: 1}}
	complete(top)
}

func TestENI1_SecondaryAddressesAreTheENIs(t *testing.T) {
	top := t2()
	multiHomed(top)
	for _, dst := range []string{"10.0.2.10", "10.0.2.11"} {
		p := send(t, top, tcp(dIP, 40000, dst, 22, TCPSyn))
		if !p.Delivered || p.To.Name != "W" || p.To.ENI == nil || p.To.ENI.ID != "eni-w2" {
			t.Errorf("%s: %s to %+v", dst, routeKinds(p), p.To)
		}
	}
}

func TestENI3_EachENIHasItsOwnSGsAndTracking(t *testing.T) {
	top := t2()
	multiHomed(top)
	// sgW admits 22 only from 10.0.0.0/8, sgW2 also from X's network: the
	// same instance takes X's ssh on eni-w2 only, tracked there.
	top.Instances[0].PublicIP = netip.Addr{}
	top.ElasticIPs = append(top.ElasticIPs, vpc.ElasticIP{ID: "eipalloc-w2", PublicIP: ip("203.0.113.12"), ENI: "eni-w2"})
	addRoute(top, "rtb-q", "198.51.100.0/24", "igw-1")
	complete(top)
	m := NewPathModel(top)
	if p := m.Send(0, tcp(xIP2, 51000, "203.0.113.12", 22, TCPSyn)); !p.Delivered || p.Blocked() != nil {
		t.Errorf("eni-w2: %s", routeKinds(p))
	}
	if n := m.CT.Len("eni-w2"); n != 1 {
		t.Errorf("eni-w2 entries %d", n)
	}
	if n := m.CT.Len("W"); n != 0 {
		t.Errorf("eni-w (primary) entries %d", n)
	}
}

func TestENI4_FlowLogsShowThePrimaryAddress(t *testing.T) {
	top := t2()
	multiHomed(top)
	recs := PredictFlowLog(top, []PathPacket{{Packet: tcp(dIP, 40000, "10.0.2.11", 22, TCPSyn)}})
	checkFlows(t, recs, []string{
		"eni-d eg ACCEPT",
		"eni-w2 in ACCEPT 10.0.1.20:40000>10.0.2.10:22 pkt=10.0.1.20>10.0.2.11 inst=W",
	}, true)
}

func TestENI5_SourceDestinationCheck(t *testing.T) {
	top := t2()
	appliance(top, false)
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	// Outbound: F sends with A's address.
	p, err := m.SendFrom(0, "eni-f", tcp(aIP2, 40000, wIP, 443, TCPSyn))
	if err != nil {
		t.Fatal(err)
	}
	fl.Add(0, &p)
	wantFate(t, p, "eni:eni-f:outbound:"+CodeSourceDestCheck)
	// Inbound: a packet for W routed to F.
	p = m.Send(0, tcp(aIP2, 40000, wIP, 443, TCPSyn))
	fl.Add(0, &p)
	wantFate(t, p, "eni:eni-f:inbound:"+CodeSourceDestCheck)
	// Checked before the SG, logged nowhere [INTERP, OQ-11].
	if n := m.CT.Len("F"); n != 0 {
		t.Errorf("F's SG was consulted: %d entries", n)
	}
	checkFlows(t, fl.Records(), []string{"eni-a eg ACCEPT"}, true)
	if _, err := m.SendFrom(0, "eni-nope", tcp(aIP2, 1, wIP, 1, 0)); err == nil {
		t.Error("unknown ENI accepted")
	}
}

func TestENI6_TheAppliancesSGJudgesRealAddresses(t *testing.T) {
	top := t2()
	appliance(top, true)
	sgOf(top, "sgF").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "10.0.2.0/24")}
	if p := send(t, top, tcp(aIP2, 40000, wIP, 443, TCPSyn)); !p.Delivered {
		t.Errorf("443 from Q: %s", routeKinds(p))
	}
	wantFate(t, send(t, top, tcp(aIP2, 40000, wIP, 22, TCPSyn)), "sg:eni-f:inbound:"+CodeSGRulesMismatch)
	// On the way out the flow's tracking entry, created on the way in,
	// admits it (PATH-10 step 2: tracking first), whatever the outbound rules.
	sgOf(top, "sgF").Egress = []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "10.0.3.0/24")}
	p := send(t, top, tcp(aIP2, 40001, wIP, 443, TCPSyn))
	for _, h := range p.Hops {
		if h.Kind == HopSecurityGroup && h.ID == "eni-f" && h.Egress && !h.SG.ByState {
			t.Errorf("eni-f outbound not by state: %+v", h.SG)
		}
	}
}

func TestENI7_APacketLeavesThroughTheENIOfItsSource(t *testing.T) {
	top := t2()
	multiHomed(top)
	sgOf(top, "sgD").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "10.0.0.0/16")}
	// From eni-w2's address the packet leaves through eni-w2 (in Q).
	p := send(t, top, tcp("10.0.2.10", 40000, dIP, 22, TCPSyn))
	if !p.Delivered || p.Hops[0].ID != "eni-w2" || !strings.Contains(routeKinds(p), "nacl-out:acl-q") {
		t.Errorf("%s", routeKinds(p))
	}
	// Out of the wrong ENI, source/destination check drops it.
	q, _ := NewPathModel(top).SendFrom(0, "eni-w", tcp("10.0.2.10", 40000, dIP, 22, TCPSyn))
	wantFate(t, q, "eni:eni-w:outbound:"+CodeSourceDestCheck)
}

func TestVPCE1_VPCE2_EndpointRouteWithoutInternetAccess(t *testing.T) {
	top := t2()
	s3(top)
	top.InternetGateways, top.NATGateways, top.ElasticIPs = nil, nil, nil
	c := newConv(t, NewPathModel(top), nil)
	if !c.handshake(tcp(aIP2, 40000, "192.0.2.200", 443, 0)) {
		t.Errorf("no IGW, NAT or public IP needed: %s", routeKinds(c.last))
	}
	// Only the tables named get the route.
	wantFate(t, send(t, top, tcp(dIP, 40000, "192.0.2.200", 443, TCPSyn)), "route:rtb-p:outbound:"+CodeBadStateRoute)
	top.Endpoints[0].RouteTables = nil // and its route goes (VPCE-2)
	delRoute(top, "rtb-q", "pl-0a1b2c3d")
	wantFate(t, send(t, top, tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn)), "route:rtb-q:outbound:"+CodeBadStateRoute)
}

func TestVPCE3_EndpointRouteUnderTheRoutingRules(t *testing.T) {
	top := t2()
	s3(top)
	if rd := decided(t, send(t, top, tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn))); rd.Route.Target.ID != "vpce-s3" || rd.Shadowed == nil || rd.Shadowed.Target.ID != "nat-1" {
		t.Errorf("endpoint route vs 0/0: %+v", rd)
	}
	addRoute(top, "rtb-q", "192.0.2.128/25", "nat-1")
	if rd := decided(t, send(t, top, tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn))); rd.Route.Target.ID != "nat-1" {
		t.Errorf("a static route for exactly the range: %s", routeTargetText(rd.Route))
	}
	// P has no endpoint route: the public path (W's public IP).
	if p := send(t, t2WithS3(), tcp(wIP, 40000, "192.0.2.200", 443, TCPSyn)); !p.Delivered || p.Final().Src != ip(wPub) {
		t.Errorf("P: %s", routeKinds(p))
	}
}

func t2WithS3() *vpc.Topology {
	top := t2()
	s3(top)
	return top
}

func TestVPCE4_TheServiceSeesThePrivateSource(t *testing.T) {
	top := t2WithS3()
	sgOf(top, "sgA").Egress = []vpc.SGRule{{Protocol: vpc.ProtoTCP, Ports: ports(443, 443), ICMPType: -1, ICMPCode: -1, PrefixList: "pl-0a1b2c3d"}}
	aclOf(top, "acl-q").Egress = []vpc.NACLRule{nr(100, vpc.ProtoTCP, 443, 443, "192.0.2.128/25", true)}
	p := send(t, top, tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn))
	if !p.Delivered || p.Final().Src != ip(aIP2) {
		t.Errorf("%s, the service sees %s", routeKinds(p), p.Final().Src)
	}
	aclOf(top, "acl-q").Egress = []vpc.NACLRule{nr(100, vpc.ProtoTCP, 443, 443, "198.51.100.0/24", true)}
	wantFate(t, send(t, top, tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn)), "nacl:acl-q:outbound:"+CodeSubnetACLRestriction)
}

func TestVPCE5_OnlyTCPAndEcho(t *testing.T) {
	top := t2WithS3()
	m := NewPathModel(top)
	c := newConv(t, m, nil)
	if p := c.start(icmp(aIP2, "192.0.2.200", 8, 0, 4)); !p.Delivered || !c.fromServer(0).Delivered {
		t.Errorf("echo: %s", routeKinds(c.last))
	}
	wantFate(t, m.Send(0, udp(aIP2, 40000, "192.0.2.200", 53)), "vpce:vpce-s3:outbound:"+CodeVPCEProtocol)
	wantFate(t, m.Send(0, udp("192.0.2.200", 53, aIP2, 40000)), "vpce:vpce-s3:inbound:"+CodeVPCEProtocol)
}

func TestVPCE7_EndpointTrafficPath(t *testing.T) {
	recs := PredictFlowLog(t2WithS3(), []PathPacket{{Packet: tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn)}})
	checkFlows(t, recs, []string{"eni-a eg ACCEPT 10.0.2.20:40000>192.0.2.200:443 tp=7"}, true)
}
