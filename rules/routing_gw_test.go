package rules

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Internet gateways, public IPv4 and NAT gateways (aws-routing.md §2, §3)
// over T2.

func TestEIP1_OneToOneNATKeepsPorts(t *testing.T) {
	top := t2()
	p := send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn))
	f := p.Final()
	if f.Src != ip(wPub) || f.SrcPort != 40000 || f.Dst != ip(sIP) || f.DstPort != 443 {
		t.Errorf("S receives %s", packetText(f))
	}
	in := send(t, top, tcp(xIP2, 51000, wPub, 443, TCPSyn))
	if f := in.Final(); f.Dst != ip(wIP) || f.DstPort != 443 || f.Src != ip(xIP2) || f.SrcPort != 51000 {
		t.Errorf("W receives %s", packetText(f))
	}
}

func TestEIP2_EgressNeedsAPublicIP(t *testing.T) {
	wantFate(t, send(t, t2(), tcp(dIP, 40000, sIP, 443, TCPSyn)), "igw:igw-1:outbound:"+CodeIGWPublicIPEgress)
}

func TestEIP3_IngressGoesStraightToTheENI(t *testing.T) {
	// W's subnet table without an internet route: the packet still reaches
	// W (the destination subnet's table is not used inbound); the reply
	// finds no route (OQ-17).
	top := t2()
	delRoute(top, "rtb-p", "0.0.0.0/0")
	c := newConv(t, NewPathModel(top), nil)
	if p := c.start(tcp(xIP2, 51000, wPub, 443, TCPSyn)); !p.Delivered || strings.Contains(routeKinds(p), "route:") {
		t.Errorf("inbound: %s", routeKinds(p))
	}
	wantFate(t, c.fromServer(synAck), "route:rtb-p:outbound:"+CodeNoRouteToDestination)
	wantFate(t, send(t, top, tcp(xIP2, 51000, "203.0.113.77", 443, TCPSyn)), "igw:igw-1:inbound:"+CodeIGWPrivateIPIngress)
}

func TestEIP4_PrivateRangesAndSpoofing(t *testing.T) {
	top := t2()
	top.Internet = append(top.Internet,
		vpc.InternetHost{Name: "rfc1918", IP: ip("192.168.7.7")}, vpc.InternetHost{Name: "cgnat", IP: ip("100.64.1.1")},
		vpc.InternetHost{Name: "spoof", IP: ip("10.0.9.9")})
	for _, tc := range []struct {
		p    Packet
		fate string
	}{
		{tcp(wIP, 40000, "192.168.7.7", 443, TCPSyn), "igw:igw-1:outbound:" + CodeIGWDstRFC1918Egress},
		{tcp(wIP, 40000, "172.16.0.1", 443, TCPSyn), "igw:igw-1:outbound:" + CodeIGWDstRFC1918Egress},
		{tcp(wIP, 40000, "100.64.1.1", 443, TCPSyn), "igw:igw-1:outbound:" + CodeIGWDstRFC6598Egress},
		{tcp("192.168.7.7", 40000, wPub, 443, TCPSyn), "igw:igw-1:inbound:" + CodeIGWSrcRFC1918Ingress},
		{tcp("100.64.1.1", 40000, wPub, 443, TCPSyn), "igw:igw-1:inbound:" + CodeIGWSrcRFC6598Ingress},
		{tcp("10.0.9.9", 40000, wPub, 443, TCPSyn), "igw:igw-1:inbound:" + CodeSpoofed},
	} {
		wantFate(t, send(t, top, tc.p), tc.fate)
	}
	// A VPC of a non-private block: a source inside it is spoofing.
	top.VPCs = append(top.VPCs, vpc.VPC{ID: "vpc-3", CIDR: pfx("198.18.0.0/16")})
	top.InternetGateways = append(top.InternetGateways, vpc.InternetGateway{ID: "igw-3", VPC: "vpc-3"})
	top.Subnets = append(top.Subnets, vpc.Subnet{ID: "T", VPC: "vpc-3", CIDR: pfx("198.18.1.0/24")})
	top.Instances = append(top.Instances, vpc.Instance{ID: "Z", ENI: vpc.ENI{ID: "eni-z", Subnet: "T", PrivateIP: ip("198.18.1.5"), PublicIP: ip("203.0.113.55")}})
	wantFate(t, send(t, top, tcp("198.18.1.99", 40000, "203.0.113.55", 443, TCPSyn)), "igw:igw-3:inbound:"+CodeSpoofed)
}

func TestEIP5_InternetAccessNeedsEveryPiece(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*vpc.Topology)
		fate   string
	}{
		{"all there", func(*vpc.Topology) {}, "delivered"},
		{"gateway detached", func(top *vpc.Topology) { top.InternetGateways[0].VPC = "" }, "route:rtb-p:outbound:" + CodeBadStateRoute},
		{"no route", func(top *vpc.Topology) { delRoute(top, "rtb-p", "0.0.0.0/0") }, "route:rtb-p:outbound:" + CodeNoRouteToDestination},
		{"no public IP", func(top *vpc.Topology) { instOf(top, "W").PublicIP = instOf(top, "D").PublicIP }, "igw:igw-1:outbound:" + CodeIGWPublicIPEgress},
		{"SG", func(top *vpc.Topology) { sgOf(top, "sgW").Egress = nil }, "sg:eni-w:outbound:" + CodeSGHasNoRules},
		{"NACL", func(top *vpc.Topology) { aclOf(top, "acl-p").Egress = nil }, "nacl:acl-p:outbound:" + CodeSubnetACLRestriction},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t2()
			tc.change(top)
			wantFate(t, send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn)), tc.fate)
		})
	}
}

func TestEIP6_IPv6CrossesTheGatewayUnchanged(t *testing.T) {
	const w6, x6 = "2001:db8:1:1::10", "2001:db8:ffff::80"
	top := t2()
	dualStack(top)
	out := send(t, top, tcp(w6, 40000, x6, 443, TCPSyn))
	if f := out.Final(); !out.Delivered || f.Src != ip(w6) {
		t.Errorf("outbound: %s, source %s", routeKinds(out), f.Src)
	}
	if in := send(t, top, tcp(x6, 51000, w6, 443, TCPSyn)); !in.Delivered || in.Final().Dst != ip(w6) {
		t.Errorf("internet-initiated to a subnet routing ::/0 to the IGW: %s", routeKinds(in))
	}
	// Towards a subnet whose table does not route the source to the IGW:
	// dropped at the gateway [INTERP, OQ-17].
	delRoute(top, "rtb-p", "::/0")
	wantFate(t, send(t, top, tcp(x6, 51000, w6, 443, TCPSyn)), "igw:igw-1:inbound:"+CodeNoRouteToDestination)
}

func TestEIP7_FlowLogsNeverShowPublicIPs(t *testing.T) {
	top := t2()
	recs := PredictFlowLog(top, []PathPacket{
		{At: 0, Packet: tcp(xIP2, 51000, wPub, 443, TCPSyn)},
		{At: time.Millisecond, Packet: tcp(wIP, 443, xIP2, 51000, synAck)},
	})
	checkFlows(t, recs, []string{
		"eni-w in ACCEPT 198.51.100.10:51000>10.0.1.10:443 pkt=198.51.100.10>10.0.1.10",
		"eni-w eg ACCEPT 10.0.1.10:443>198.51.100.10:51000 pkt=10.0.1.10>198.51.100.10 tp=8",
	}, true)
}

func TestEIP8_HairpinThroughTheInternetGateway(t *testing.T) {
	top := t2()
	addG(top)
	addRoute(top, "rtb-main", "0.0.0.0/0", "igw-1")
	sgOf(top, "sgW").Ingress = append(sgOf(top, "sgW").Ingress, sgr(vpc.ProtoTCP, 80, 80, "203.0.113.30/32"))
	a := Explain(top, Query{From: "G", To: wPub, Protocol: vpc.ProtoTCP, Port: 80})
	if !a.NetworkPathFound || a.forward.Final().Src != ip("203.0.113.30") {
		t.Fatalf("%s", explainText(t, a))
	}
	found := false
	for _, n := range a.Notes {
		found = found || n.ExplanationCode == NoteIGWNATReflection
	}
	if !found {
		t.Errorf("notes %+v lack %s", a.Notes, NoteIGWNATReflection)
	}
}

func TestEIP9_AnElasticIPReplacesTheAutoAssignedPublicIP(t *testing.T) {
	// AssociateAddress on W's primary address releases its auto-assigned
	// public IP (ec2api does, Validate refuses a topology keeping both).
	top := t2()
	instOf(top, "W").PublicIP = netip.Addr{}
	top.ElasticIPs = append(top.ElasticIPs, vpc.ElasticIP{ID: "eipalloc-w", PublicIP: ip("203.0.113.99"), ENI: "W"})
	complete(top)
	if f := send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn)).Final(); f.Src != ip("203.0.113.99") {
		t.Errorf("S sees %s", f.Src)
	}
	wantFate(t, send(t, top, tcp(xIP2, 51000, wPub, 443, TCPSyn)), "igw:igw-1:inbound:"+CodeIGWPrivateIPIngress)
}

func TestEIP10_ElasticIPOnASecondaryPrivateIP(t *testing.T) {
	top := t2()
	instOf(top, "W").SecondaryIPs = []netip.Addr{ip("10.0.1.11")}
	top.ElasticIPs = append(top.ElasticIPs, vpc.ElasticIP{ID: "eipalloc-2", PublicIP: ip("203.0.113.111"), ENI: "eni-w", PrivateIP: ip("10.0.1.11")})
	in := send(t, top, tcp(xIP2, 51000, "203.0.113.111", 443, TCPSyn))
	if !in.Delivered || in.Final().Dst != ip("10.0.1.11") {
		t.Errorf("inbound: %s", routeKinds(in))
	}
	if f := send(t, top, tcp("10.0.1.11", 40000, sIP, 443, TCPSyn)).Final(); f.Src != ip("203.0.113.111") {
		t.Errorf("from the secondary address S sees %s", f.Src)
	}
	if f := send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn)).Final(); f.Src != ip(wPub) {
		t.Errorf("from the primary address S sees %s", f.Src)
	}
}

func TestEIP11_AMovedSecondaryAddressKeepsItsEIP(t *testing.T) {
	top := t2()
	instOf(top, "W").SecondaryIPs = []netip.Addr{ip("10.0.1.11")}
	top.ElasticIPs = append(top.ElasticIPs, vpc.ElasticIP{ID: "eipalloc-2", PublicIP: ip("203.0.113.111"), ENI: "eni-w", PrivateIP: ip("10.0.1.11")})
	// The address moves to D's ENI: the EIP follows it.
	instOf(top, "W").SecondaryIPs = nil
	instOf(top, "D").SecondaryIPs = []netip.Addr{ip("10.0.1.11")}
	sgOf(top, "sgD").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0")}
	p := send(t, top, tcp(xIP2, 51000, "203.0.113.111", 443, TCPSyn))
	if !p.Delivered || p.To.Name != "D" || p.Final().Dst != ip("10.0.1.11") {
		t.Errorf("after the move: %s to %s", routeKinds(p), p.To.Name)
	}
	// Unassigned, it loses the EIP.
	instOf(top, "D").SecondaryIPs = nil
	wantFate(t, send(t, top, tcp(xIP2, 51000, "203.0.113.111", 443, TCPSyn)), "igw:igw-1:inbound:"+CodeIGWPrivateIPIngress)
}

func TestEIP13_EgressOnlyGatewayIsStateful(t *testing.T) {
	const a6, s6 = "2001:db8:1:2::20", "2001:db8:ffff::80"
	top := t2()
	dualStack(top)
	m := NewPathModel(top)
	wantFate(t, m.Send(0, udp(s6, 53, a6, 40000)), "eigw:eigw-1:inbound:"+CodeEIGWInbound)
	if p := m.Send(time.Second, udp(a6, 40000, s6, 53)); !p.Delivered || p.Final().Src != ip(a6) {
		t.Fatalf("out: %s", routeKinds(p))
	}
	if p := m.Send(2*time.Second, udp(s6, 53, a6, 40000)); !p.Delivered {
		t.Errorf("reply: %s", routeKinds(p))
	}
}

func TestEIP14_EgressOnlyStateTimesOutWithTheInstanceTimeouts(t *testing.T) {
	const a6, s6 = "2001:db8:1:2::20", "2001:db8:ffff::80"
	top := t2()
	dualStack(top)
	instOf(top, "A").Conntrack.UDP = 40 * time.Second
	sgOf(top, "sgA").Ingress = append(sgOf(top, "sgA").Ingress, sgr(vpc.ProtoUDP, 40000, 40000, "::/0"))
	m := NewPathModel(top)
	m.Send(0, udp(a6, 40000, s6, 53))
	if p := m.Send(39*time.Second, udp(s6, 53, a6, 40000)); !p.Delivered {
		t.Errorf("within 40 s: %s", routeKinds(p))
	}
	// 39 + 40 s later the state is gone, although sgA admits the port.
	wantFate(t, m.Send(80*time.Second, udp(s6, 53, a6, 40000)), "eigw:eigw-1:inbound:"+CodeEIGWInbound)
}

func TestNGW1_PublicNATGatewayNeedsItsSubnetsInternetRoute(t *testing.T) {
	top := t2()
	delRoute(top, "rtb-p", "0.0.0.0/0")
	wantFate(t, send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn)), "route:rtb-p:outbound:"+CodeNoRouteToDestination)
	// Without its EIP the internet gateway cannot map its address.
	top = t2()
	top.NATGateways[0].ElasticIP, top.ElasticIPs = "", nil
	wantFate(t, send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn)), "igw:igw-1:outbound:"+CodeIGWPublicIPEgress)
}

func TestNGW2_ENI8_NATGatewayENIHasNoSGsAndNoInstance(t *testing.T) {
	top := t2()
	sgOf(top, "default").Ingress, sgOf(top, "default").Egress = nil, nil // would deny everything if it applied
	p := send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn))
	if !p.Delivered || strings.Contains(routeKinds(p), "sg-in:eni-ngw") || strings.Contains(routeKinds(p), "sg-out:eni-ngw") {
		t.Errorf("%s", routeKinds(p))
	}
	checkFlows(t, PredictFlowLog(top, []PathPacket{{Packet: tcp(aIP2, 40000, sIP, 443, TCPSyn)}}),
		[]string{"eni-a eg ACCEPT inst=A", "eni-ngw in ACCEPT inst=-", "eni-ngw eg ACCEPT inst=-"}, true)
}

func TestNGW3_NATGatewayForwardsWithItsSubnetsTable(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-p", "203.0.113.80/32", "nat-1")
	p := send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn))
	wantFate(t, p, "route:rtb-p:outbound:"+CodeNoRouteToDestination)
	if !strings.Contains(p.Blocked().Detail, "loop") {
		t.Errorf("detail %q", p.Blocked().Detail)
	}
}

func TestNGW4_DeletedNATGatewayMakesItsRoutesBlackholes(t *testing.T) {
	top := t2()
	top.NATGateways = nil
	wantFate(t, send(t, top, tcp(aIP2, 40000, sIP, 443, TCPSyn)), "route:rtb-q:outbound:"+CodeBadStateRoute)
}

func TestNGW5_SourceBecomesThePrivateIPThenTheEIP(t *testing.T) {
	top := t2()
	c := newConv(t, NewPathModel(top), nil)
	p := c.start(tcp(aIP2, 40000, sIP, 443, TCPSyn))
	var ngw *Hop
	for i := range p.Hops {
		if p.Hops[i].Kind == HopNATGateway {
			ngw = &p.Hops[i]
		}
	}
	if ngw == nil || ngw.Out.Src != ip(ngwIP) || ngw.Out.Dst != ip(sIP) || ngw.Out.DstPort != 443 {
		t.Fatalf("NAT gateway hop %+v", ngw)
	}
	if f := p.Final(); f.Src != ip(ngwPub) || f.Dst != ip(sIP) {
		t.Errorf("S sees %s", packetText(f))
	}
	r := c.fromServer(synAck)
	if f := r.Final(); !r.Delivered || f.Dst != ip(aIP2) || f.DstPort != 40000 || f.Src != ip(sIP) || f.SrcPort != 443 {
		t.Errorf("A receives %s: %s", packetText(f), routeKinds(r))
	}
}

func TestNGW6_PortAllocationPerDestination(t *testing.T) {
	top := t2()
	m := NewPathModel(top)
	port := func(sport int, dst string, dport int) int {
		p := m.Send(0, tcp(aIP2, sport, dst, dport, TCPSyn))
		if !p.Delivered {
			t.Fatalf("%s", routeKinds(p))
		}
		return p.Final().SrcPort
	}
	// Sequential: the lowest free port from 1024 per (address, protocol,
	// destination IP, destination port) [INTERP].
	if got := []int{port(40000, sIP, 443), port(40001, sIP, 443), port(40002, sIP, 80), port(40003, xIP2, 443), port(40000, sIP, 443)}; fmt.Sprint(got) != "[1024 1025 1024 1024 1024]" {
		t.Errorf("ports %v", got)
	}
	// Random (the default): inside 1024-65535, distinct per destination.
	top.NATGateways[0].PortPolicy = ""
	m = NewPathModel(top)
	seen := map[int]bool{}
	for i := range 50 {
		p := port(40000+i, sIP, 443)
		if p < NATFirstPort || p > NATLastPort || seen[p] {
			t.Errorf("random port %d", p)
		}
		seen[p] = true
	}
	// ICMP echo identifiers likewise.
	e := m.Send(0, icmp(aIP2, sIP, 8, 0, 7))
	if id := e.Final().ICMPID; id < NATFirstPort {
		t.Errorf("echo identifier %d", id)
	}
}

func TestNGW7_55000ConnectionsPerDestination(t *testing.T) {
	top := t2()
	n := NewNATTable()
	g := &top.NATGateways[0]
	for i := range 55000 {
		if r := n.outbound(0, top.Limits, g, tcp("10.0.2."+fmt.Sprint(20+i/50000), 1+i%50000, sIP, 443, TCPSyn)); !r.ok {
			t.Fatalf("connection %d: %s", i+1, r.code)
		}
	}
	if r := n.outbound(0, top.Limits, g, tcp(aIP2, 60000, sIP, 443, TCPSyn)); r.ok || r.code != CodeNGWPortAllocation {
		t.Errorf("55,001st: %+v", r)
	}
	if s := n.Stats("nat-1"); s.ErrorPortAllocation != 1 {
		t.Errorf("ErrorPortAllocation %d", s.ErrorPortAllocation)
	}
	if r := n.outbound(0, top.Limits, g, tcp(aIP2, 60000, sIP, 80, TCPSyn)); !r.ok {
		t.Errorf("another destination port: %+v", r)
	}
	// Idle mappings expire (NGW-11) and free their ports.
	if r := n.outbound(vpc.DefaultLimits.NATIdleTimeout, top.Limits, g, tcp(aIP2, 60001, sIP, 443, TCPSyn)); !r.ok {
		t.Errorf("after the idle timeout: %+v", r)
	}
	if a := n.Active(vpc.DefaultLimits.NATIdleTimeout, top.Limits, "nat-1"); a != 1 {
		t.Errorf("active %d", a)
	}
}

func TestNGW8_ProtocolsAndFragments(t *testing.T) {
	top := t2()
	gre := tcp(aIP2, 0, sIP, 0, 0)
	gre.Protocol = 47
	wantFate(t, send(t, top, gre), "ngw:nat-1:outbound:"+CodeProtocolRestriction)
	for _, tc := range []struct {
		p    Packet
		frag int
		fate string
	}{
		{tcp(aIP2, 40000, sIP, 443, TCPSyn), FragFirst, "ngw:nat-1:outbound:" + CodeProtocolRestriction},
		{icmp(aIP2, sIP, 8, 0, 3), FragFirst, "ngw:nat-1:outbound:" + CodeProtocolRestriction},
		{udp(aIP2, 40000, sIP, 443), FragFirst, "delivered"},
	} {
		p := tc.p
		p.Fragment = tc.frag
		m := NewPathModel(top)
		wantFate(t, m.Send(0, p), tc.fate)
		if p.Protocol == vpc.ProtoUDP {
			later := Packet{Src: p.Src, Dst: p.Dst, Protocol: vpc.ProtoUDP, Fragment: FragLater, Length: 100}
			if l := m.Send(0, later); !l.Delivered || l.Final().Src != ip(ngwPub) {
				t.Errorf("later UDP fragment: %s", routeKinds(l))
			}
		}
	}
}

func TestNGW9_NoInboundInitiatedTraffic(t *testing.T) {
	top := t2()
	wantFate(t, send(t, top, tcp(xIP2, 51000, ngwPub, 22, TCPSyn)), "ngw:nat-1:inbound:"+CodeNGWNoMapping)
	wantFate(t, send(t, top, icmp(aIP2, ngwIP, 8, 0, 1)), "ngw:nat-1:inbound:"+CodeNGWNoMapping)
	wantFate(t, send(t, top, icmp(xIP2, ngwPub, 8, 0, 1)), "ngw:nat-1:inbound:"+CodeNGWNoMapping)
}

func TestNGW10_OnlySourcesOfItsVPC(t *testing.T) {
	// A packet from another VPC's address that reaches the NAT gateway
	// (forwarded by an appliance whose subnet routes to it) is refused.
	top := t2()
	appliance(top, true)
	addRoute(top, "rtb-main", "0.0.0.0/0", "nat-1")
	p, err := NewPathModel(top).SendFrom(0, "eni-f", tcp(bIP2, 40000, sIP, 443, TCPSyn))
	if err != nil {
		t.Fatal(err)
	}
	wantFate(t, p, "ngw:nat-1:outbound:"+CodeNGWRequiresSourceInVPC)
	// Through a peering it cannot be used at all (PCX-5).
	top = t2()
	addRoute(top, "rtb-r", "0.0.0.0/0", "pcx-12")
	wantFate(t, send(t, top, tcp(bIP2, 40000, sIP, 443, TCPSyn)), "pcx:pcx-12:outbound:"+CodePCXAddressInVPC)
}

func TestNGW11_IdleTimeoutAndExpiry(t *testing.T) {
	top := t2()
	top.Limits.NATIdleTimeout = 10 * time.Second // limits: may scale it down
	m := NewPathModel(top)
	c := newConv(t, m, nil)
	if !c.handshake(tcp(aIP2, 40000, sIP, 443, 0)) {
		t.Fatal(routeKinds(c.last))
	}
	c.at += 11 * time.Second
	if p := c.fromClient(TCPAck); p.Delivered || len(p.Responses) != 1 || p.Responses[0].Final().TCPFlags != TCPRst {
		t.Errorf("after 11 s: %s, responses %d", routeKinds(p), len(p.Responses))
	}
	// UDP: a late reply is dropped silently (no response).
	u := newConv(t, m, nil)
	u.at = c.at
	if p := u.start(udp(aIP2, 40001, sIP, 53)); !p.Delivered {
		t.Fatal(routeKinds(p))
	}
	u.at += 11 * time.Second
	if p := u.fromServer(0); p.Delivered || p.Code != CodeNGWNoMapping || len(p.Responses) != 0 {
		t.Errorf("late UDP reply: %s", routeKinds(p))
	}
	if s := m.NAT.Stats("nat-1"); s.IdleTimeoutCount != 1 {
		t.Errorf("IdleTimeoutCount %d", s.IdleTimeoutCount)
	}
}

func TestNGW13_TheNATGatewaySubnetNACLOnAllFourLegs(t *testing.T) {
	legs := []struct {
		name   string
		egress bool
		rule   vpc.NACLRule
		fate   string
		qual   string
	}{
		{"request in", false, nr(10, vpc.ProtoTCP, 443, 443, "0.0.0.0/0", false), "nacl:acl-p:inbound:" + CodeSubnetACLRestriction, ""},
		{"request out", true, nr(10, vpc.ProtoTCP, 443, 443, "203.0.113.80/32", false), "nacl:acl-p:outbound:" + CodeSubnetACLRestriction, QualNGWDestPreservation},
		{"reply in", false, nr(10, vpc.ProtoTCP, 1024, 65535, "203.0.113.80/32", false), "nacl:acl-p:inbound:" + CodeSubnetACLRestriction, QualRemapEphemeralPort},
		{"reply out", true, nr(10, vpc.ProtoTCP, 32768, 60999, "10.0.2.0/24", false), "nacl:acl-p:outbound:" + CodeSubnetACLRestriction, ""},
	}
	for i, leg := range legs {
		t.Run(leg.name, func(t *testing.T) {
			top := t2()
			a := aclOf(top, "acl-p")
			if leg.egress {
				a.Egress = append([]vpc.NACLRule{leg.rule}, a.Egress...)
			} else {
				a.Ingress = append([]vpc.NACLRule{leg.rule}, a.Ingress...)
			}
			c := newConv(t, NewPathModel(top), nil)
			p := c.start(tcp(aIP2, 40000, sIP, 443, TCPSyn))
			if i >= 2 {
				if !p.Delivered {
					t.Fatalf("request: %s", routeKinds(p))
				}
				p = c.fromServer(synAck)
			}
			wantFate(t, p, leg.fate)
			if leg.qual != "" && (p.Blocked() == nil || !strings.Contains(strings.Join(p.Blocked().Qualifiers, " "), leg.qual)) {
				t.Errorf("qualifiers %v, want %s", p.Blocked().Qualifiers, leg.qual)
			}
		})
	}
}

func TestNGW14_NATGatewayFlowLogRecords(t *testing.T) {
	// The AWS example's shape (TV-45 has the full exchange): each leg's real
	// ports, the NAT gateway's primary address on its side, the EIP never.
	top := t2()
	recs := PredictFlowLog(top, []PathPacket{{Packet: tcp(aIP2, 40000, sIP, 443, TCPSyn)}, {At: time.Millisecond, Packet: tcp(sIP, 443, ngwPub, 1024, synAck)}})
	for _, r := range recs {
		for _, a := range []string{r.SrcAddr.String(), r.DstAddr.String(), r.PktSrcAddr.String(), r.PktDstAddr.String()} {
			if a == ngwPub {
				t.Errorf("the EIP appears: %s", flowText(r))
			}
		}
	}
	checkFlows(t, recs, []string{
		"eni-ngw in ACCEPT 10.0.2.20:40000>10.0.1.100:443 pkt=10.0.2.20>203.0.113.80 tp=-",
		"eni-ngw eg ACCEPT 10.0.1.100:1024>203.0.113.80:443 pkt=10.0.1.100>203.0.113.80 tp=8",
		"eni-ngw in ACCEPT 203.0.113.80:443>10.0.1.100:1024 pkt=203.0.113.80>10.0.1.100 tp=-",
		"eni-ngw eg ACCEPT 10.0.1.100:443>10.0.2.20:40000 pkt=203.0.113.80>10.0.2.20 tp=1",
	}, false)
}

func TestNGW15_NATGatewayCounters(t *testing.T) {
	top := t2()
	top.Limits.NATConnectionsPerDestination = 1
	m := NewPathModel(top)
	c := newConv(t, m, nil)
	c.handshake(tcp(aIP2, 40000, sIP, 443, 0))
	m.Send(time.Second, tcp(aIP2, 40001, sIP, 443, TCPSyn))
	m.Send(time.Second, tcp(xIP2, 51000, ngwPub, 22, TCPSyn))
	want := NATStats{ConnectionAttemptCount: 1, ConnectionEstablishedCount: 1, ErrorPortAllocation: 1, PacketsDropCount: 2}
	if got := m.NAT.Stats("nat-1"); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestNGW16_NATGatewayEastWestAndHairpin(t *testing.T) {
	// A subnet-CIDR route to the NAT gateway: M sees the NAT gateway's
	// private address [INTERP].
	top := t2()
	addG(top)
	sgOf(top, "sgD").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "10.0.0.0/16")}
	addRoute(top, "rtb-q", "10.0.3.0/24", "nat-1")
	p := send(t, top, tcp(aIP2, 40000, "10.0.3.30", 22, TCPSyn))
	if !p.Delivered || p.Final().Src != ip(ngwIP) {
		t.Errorf("east-west: %s, G sees %s", routeKinds(p), p.Final().Src)
	}
	// Hairpin: A targets W's public IP; W sees the NAT gateway's EIP.
	top = t2()
	sgOf(top, "sgW").Ingress = append(sgOf(top, "sgW").Ingress, sgr(vpc.ProtoTCP, 80, 80, "0.0.0.0/0"))
	p = send(t, top, tcp(aIP2, 40000, wPub, 80, TCPSyn))
	if !p.Delivered || p.Final().Src != ip(ngwPub) || p.Final().Dst != ip(wIP) {
		t.Errorf("hairpin: %s, W sees %s", routeKinds(p), packetText(p.Final()))
	}
}
