package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// aws-routing.md §10 vectors over T2 (routing_helpers_test.go), each with
// its outcome, its drop point and its flow-log records. Clients use source
// port 40000 (then 40001, ...), X uses 51000.

const (
	wIP, dIP, aIP2, bIP2, ngwIP = "10.0.1.10", "10.0.1.20", "10.0.2.20", "10.1.1.30", "10.0.1.100"
	xIP2, sIP, wPub, ngwPub     = "198.51.100.10", "203.0.113.80", "203.0.113.10", "203.0.113.100"
)

func TestTV42_InternetAccessNeedsAPublicIP(t *testing.T) {
	top := t2()
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	c := newConv(t, m, fl)
	if !c.handshake(tcp(wIP, 40000, sIP, 443, 0)) {
		t.Fatalf("W -> S: %s", routeKinds(c.last))
	}
	if got := c.server.Dst; got != ip(wPub) || c.server.DstPort != 40000 {
		t.Errorf("S sees %s:%d, want %s:40000", got, c.server.DstPort, wPub)
	}
	d := newConv(t, m, fl)
	p := d.start(tcp(dIP, 40000, sIP, 443, TCPSyn))
	wantFate(t, p, "igw:igw-1:outbound:"+CodeIGWPublicIPEgress)
	checkFlows(t, fl.Records(), []string{
		"eni-w eg ACCEPT 10.0.1.10:40000>203.0.113.80:443 tp=8",
		"eni-w in ACCEPT 203.0.113.80:443>10.0.1.10:40000 tp=-",
		"eni-d eg ACCEPT 10.0.1.20:40000>203.0.113.80:443 tp=8 flags=2",
	}, true)
}

func TestTV43_InboundOnlyToMappedPublicIPs(t *testing.T) {
	top := t2()
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	c := newConv(t, m, fl)
	if !c.handshake(tcp(xIP2, 51000, wPub, 443, 0)) {
		t.Fatalf("X -> W: %s", routeKinds(c.last))
	}
	fwd := m.Send(0, tcp(xIP2, 51000, wPub, 443, TCPSyn))
	for _, h := range fwd.Hops {
		if (h.Kind == HopNetworkACL || h.Kind == HopSecurityGroup) && h.In.Dst != ip(wIP) {
			t.Errorf("%s %s sees destination %s, want the private %s", h.Kind, h.ID, h.In.Dst, wIP)
		}
	}
	for _, dst := range []string{"203.0.113.77", wIP} {
		p := NewPathModel(top).Send(0, tcp(xIP2, 51000, dst, 443, TCPSyn))
		wantFate(t, p, "igw:igw-1:inbound:"+CodeIGWPrivateIPIngress)
		if len(p.obs) != 0 {
			t.Errorf("%s: logged %d records", dst, len(p.obs))
		}
	}
	checkFlows(t, fl.Records(), []string{
		"eni-w in ACCEPT 198.51.100.10:51000>10.0.1.10:443 pkt=198.51.100.10>10.0.1.10",
		"eni-w eg ACCEPT 10.0.1.10:443>198.51.100.10:51000 tp=8",
	}, true)
}

func TestTV44_ImplicitMainTableAssociation(t *testing.T) {
	top := t2()
	top.Subnets = append(top.Subnets, vpc.Subnet{ID: "N", VPC: "vpc-1", CIDR: pfx("10.0.4.0/24"), AZ: "use1-az1"})
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgE", VPC: "vpc-1", Egress: []vpc.SGRule{outAll()}})
	top.Instances = append(top.Instances, vpc.Instance{ID: "E", ENI: vpc.ENI{ID: "eni-e", Subnet: "N", PrivateIP: ip("10.0.4.40"), PublicIP: ip("203.0.113.40"), SecurityGroups: []string{"sgE"}}, OS: "linux"})
	fl := NewFlowLogger(top)
	c := newConv(t, NewPathModel(top), fl)
	p := c.start(tcp("10.0.4.40", 40000, sIP, 443, TCPSyn))
	wantFate(t, p, "route:rtb-main:outbound:"+CodeNoRouteToDestination)
	checkFlows(t, fl.Records(), []string{"eni-e eg ACCEPT 10.0.4.40:40000>203.0.113.80:443 tp=- flags=2"}, true)

	// (b) rtb-p becomes the main table: N and M follow it (RT-3).
	top.VPCs[0].MainTable = "rtb-p"
	tableOf(top, "rtb-main").Main, tableOf(top, "rtb-p").Main = false, true
	fl = NewFlowLogger(top)
	c = newConv(t, NewPathModel(top), fl)
	if !c.handshake(tcp("10.0.4.40", 40000, sIP, 443, 0)) {
		t.Fatalf("after the main table change: %s", routeKinds(c.last))
	}
	checkFlows(t, fl.Records(), []string{"eni-e eg ACCEPT tp=8", "eni-e in ACCEPT"}, true)
}

func TestTV45_NATGatewayFullExchange(t *testing.T) {
	top := t2()
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	c := newConv(t, m, fl)
	if !c.session(tcp(aIP2, 40000, sIP, 443, 0)) {
		t.Fatalf("A -> S: %s", routeKinds(c.last))
	}
	if c.server.Dst != ip(ngwPub) || c.server.DstPort != 1024 {
		t.Errorf("S sees %s:%d, want %s:1024", c.server.Dst, c.server.DstPort, ngwPub)
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:40000>203.0.113.80:443 tp=1 inst=A",
		"eni-ngw in ACCEPT 10.0.2.20:40000>10.0.1.100:443 pkt=10.0.2.20>203.0.113.80 inst=-",
		"eni-ngw eg ACCEPT 10.0.1.100:1024>203.0.113.80:443 pkt=10.0.1.100>203.0.113.80 tp=8 inst=-",
		"eni-ngw in ACCEPT 203.0.113.80:443>10.0.1.100:1024 pkt=203.0.113.80>10.0.1.100 inst=-",
		"eni-ngw eg ACCEPT 10.0.1.100:443>10.0.2.20:40000 pkt=203.0.113.80>10.0.2.20 tp=1 inst=-",
		"eni-a in ACCEPT 203.0.113.80:443>10.0.2.20:40000",
	}, true)
}

func TestTV46_NATGatewayRefusesInboundAndPingsToItself(t *testing.T) {
	top := t2()
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	p := m.Send(0, tcp(xIP2, 51000, ngwPub, 22, TCPSyn))
	fl.Add(0, &p)
	wantFate(t, p, "ngw:nat-1:inbound:"+CodeNGWNoMapping)
	checkFlows(t, fl.Records(), []string{"eni-ngw in ACCEPT 198.51.100.10:51000>10.0.1.100:22"}, true)

	fl = NewFlowLogger(top)
	p = m.Send(time.Second, icmp(aIP2, ngwIP, 8, 0, 7))
	fl.Add(time.Second, &p)
	wantFate(t, p, "ngw:nat-1:inbound:"+CodeNGWNoMapping)
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:0>10.0.1.100:0 tp=1 proto=1",
		"eni-ngw in ACCEPT 10.0.2.20:0>10.0.1.100:0 proto=1",
	}, true)

	fl = NewFlowLogger(top)
	c := newConv(t, m, fl)
	if p := c.start(icmp(aIP2, sIP, 8, 0, 7)); !p.Delivered || p.Final().Src != ip(ngwPub) {
		t.Fatalf("A pings S: %s, S sees %s", routeKinds(p), p.Final().Src)
	}
	if p := c.fromServer(0); !p.Delivered {
		t.Fatalf("echo reply: %s", routeKinds(p))
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:0>203.0.113.80:0 proto=1 tp=1",
		"eni-a in ACCEPT 203.0.113.80:0>10.0.2.20:0 proto=1",
		"eni-ngw in ACCEPT 10.0.2.20:0>10.0.1.100:0 pkt=10.0.2.20>203.0.113.80 proto=1",
		"eni-ngw eg ACCEPT 10.0.1.100:0>203.0.113.80:0 proto=1 tp=8",
		"eni-ngw in ACCEPT 203.0.113.80:0>10.0.1.100:0 proto=1",
		"eni-ngw eg ACCEPT 10.0.1.100:0>10.0.2.20:0 pkt=203.0.113.80>10.0.2.20 proto=1 tp=1",
	}, true)
}

func TestTV48_NATGatewayIdleTimeoutAnswersWithRST(t *testing.T) {
	for _, tc := range []struct {
		name      string
		idle      time.Duration
		delivered bool
	}{{"idle 360 s: RST", 360 * time.Second, false}, {"idle 300 s: delivered", 300 * time.Second, true}} {
		t.Run(tc.name, func(t *testing.T) {
			top := t2()
			m := NewPathModel(top)
			c := newConv(t, m, nil)
			if !c.handshake(tcp(aIP2, 40000, sIP, 443, 0)) || !c.fromClient(TCPAck).Delivered {
				t.Fatalf("establish: %s", routeKinds(c.last))
			}
			fl := NewFlowLogger(top)
			c.fl = fl
			c.at += tc.idle
			p := c.fromClient(TCPAck | TCPPsh)
			if p.Delivered != tc.delivered {
				t.Fatalf("data after %s: %s", tc.idle, routeKinds(p))
			}
			if tc.delivered {
				if n := m.NAT.Stats("nat-1").IdleTimeoutCount; n != 0 {
					t.Errorf("IdleTimeoutCount %d", n)
				}
				return
			}
			wantFate(t, p, "ngw:nat-1:outbound:"+CodeNGWNoMapping)
			if len(p.Responses) != 1 || !p.Responses[0].Delivered {
				t.Fatalf("responses %+v", p.Responses)
			}
			rst := p.Responses[0].Final()
			if rst.TCPFlags != TCPRst || rst.Src != ip(sIP) || rst.SrcPort != 443 || rst.Dst != ip(aIP2) || rst.DstPort != 40000 {
				t.Errorf("A receives %s, want RST from %s:443", packetText(rst), sIP)
			}
			if n := m.NAT.Stats("nat-1").IdleTimeoutCount; n != 1 {
				t.Errorf("IdleTimeoutCount %d, want 1", n)
			}
			checkFlows(t, fl.Records(), []string{
				"eni-a eg ACCEPT 10.0.2.20:40000>203.0.113.80:443 tp=1",
				"eni-ngw in ACCEPT 10.0.2.20:40000>10.0.1.100:443 pkt=10.0.2.20>203.0.113.80",
				"eni-ngw eg ACCEPT 10.0.1.100:443>10.0.2.20:40000 pkt=203.0.113.80>10.0.2.20 tp=1 flags=4",
				"eni-a in ACCEPT 203.0.113.80:443>10.0.2.20:40000 flags=4",
			}, true)
			// A new connection works.
			n := newConv(t, m, nil)
			n.at = c.at
			if !n.handshake(tcp(aIP2, 40001, sIP, 443, 0)) {
				t.Errorf("new connection: %s", routeKinds(n.last))
			}
		})
	}
}

func TestTV49_NATGatewayPortsPerDestination(t *testing.T) {
	top := t2()
	top.Limits.NATConnectionsPerDestination = 2
	m := NewPathModel(top)
	for i := range 2 {
		if c := newConv(t, m, nil); !c.handshake(tcp(aIP2, 40000+i, sIP, 443, 0)) {
			t.Fatalf("connection %d: %s", i+1, routeKinds(c.last))
		}
	}
	fl := NewFlowLogger(top)
	third := newConv(t, m, fl)
	third.at = time.Second
	for range 2 { // the SYN and its retransmission
		wantFate(t, third.start(tcp(aIP2, 40002, sIP, 443, TCPSyn)), "ngw:nat-1:outbound:"+CodeNGWPortAllocation)
	}
	if n := m.NAT.Stats("nat-1").ErrorPortAllocation; n != 2 {
		t.Errorf("ErrorPortAllocation %d, want 2 (one per SYN)", n)
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:40002>203.0.113.80:443 tp=1 flags=2 packets=2",
		"eni-ngw in ACCEPT 10.0.2.20:40002>10.0.1.100:443 pkt=10.0.2.20>203.0.113.80 packets=2",
	}, true)
	if c := newConv(t, m, nil); !c.handshake(tcp(aIP2, 40003, sIP, 80, 0)) {
		t.Errorf("S:80: %s", routeKinds(c.last))
	}
	c := newConv(t, m, nil)
	if p := c.start(udp(aIP2, 40004, sIP, 443)); !p.Delivered || !c.fromServer(0).Delivered {
		t.Errorf("UDP S:443: %s", routeKinds(c.last))
	}
}

func TestTV50_BlackholeRoutes(t *testing.T) {
	// (a) nat-1 deleted: rtb-q's 0.0.0.0/0 is a blackhole; the EIP stays
	// allocated, disassociated.
	top := t2()
	top.NATGateways = nil
	top.ElasticIPs[0].ENI, top.ElasticIPs[0].PrivateIP = "", netip.Addr{}
	fl := NewFlowLogger(top)
	p := newConv(t, NewPathModel(top), fl).start(tcp(aIP2, 40000, sIP, 443, TCPSyn))
	wantFate(t, p, "route:rtb-q:outbound:"+CodeBadStateRoute)
	checkFlows(t, fl.Records(), []string{"eni-a eg ACCEPT 10.0.2.20:40000>203.0.113.80:443 tp=- flags=2"}, true)

	// (b) a /32 to a deleted nat-2 wins over 0.0.0.0/0 -> nat-1 (RT-16).
	top = t2()
	addRoute(top, "rtb-q", "203.0.113.80/32", "nat-2")
	m := NewPathModel(top)
	fl = NewFlowLogger(top)
	p = newConv(t, m, fl).start(tcp(aIP2, 40000, sIP, 443, TCPSyn))
	wantFate(t, p, "route:rtb-q:outbound:"+CodeBadStateRoute)
	c := newConv(t, m, fl)
	if p := c.start(icmp(aIP2, xIP2, 8, 0, 5)); !p.Delivered || !c.fromServer(0).Delivered {
		t.Errorf("ping X: %s", routeKinds(c.last))
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:40000>203.0.113.80:443 tp=- flags=2",
		"eni-a eg ACCEPT proto=1 tp=1", "eni-a in ACCEPT proto=1",
		"eni-ngw in ACCEPT proto=1", "eni-ngw eg ACCEPT proto=1 tp=8", "eni-ngw in ACCEPT proto=1", "eni-ngw eg ACCEPT proto=1 tp=1",
	}, true)
}

func TestTV51_PeeringNeedsRoutesOnBothSides(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12")
	fl := NewFlowLogger(top)
	c := newConv(t, NewPathModel(top), fl)
	if p := c.start(tcp(wIP, 40000, bIP2, 22, TCPSyn)); !p.Delivered {
		t.Fatalf("(a) SYN: %s", routeKinds(p))
	}
	wantFate(t, c.fromServer(synAck), "route:rtb-r:outbound:"+CodeNoRouteToDestination)
	checkFlows(t, fl.Records(), []string{
		"eni-w eg ACCEPT 10.0.1.10:40000>10.1.1.30:22 tp=4 flags=2",
		"eni-b in ACCEPT 10.0.1.10:40000>10.1.1.30:22 flags=2",
		"eni-b eg ACCEPT 10.1.1.30:22>10.0.1.10:40000 tp=- flags=18",
	}, true)
	a := Explain(top, Query{From: "W", To: "B", Protocol: vpc.ProtoTCP, Port: 22, SourcePort: 40000})
	if len(a.Explanations) != 1 || a.Explanations[0].Path != "return" || a.Explanations[0].RouteTable == nil || a.Explanations[0].RouteTable.ID != "rtb-r" {
		t.Errorf("(a) explanation %+v, want the return path at rtb-r (RA-10)", a.Explanations)
	}

	addRoute(top, "rtb-r", "10.0.0.0/16", "pcx-12")
	fl = NewFlowLogger(top)
	if c := newConv(t, NewPathModel(top), fl); !c.handshake(tcp(wIP, 40000, bIP2, 22, 0)) {
		t.Fatalf("(b): %s", routeKinds(c.last))
	}
	checkFlows(t, fl.Records(), []string{"eni-w eg ACCEPT tp=4", "eni-b in ACCEPT", "eni-b eg ACCEPT tp=4", "eni-w in ACCEPT"}, true)

	// (c) sgB admits ssh from members of sgW (PCX-8): W, not D.
	sgOf(top, "sgB").Ingress = []vpc.SGRule{sgrGroup(vpc.ProtoTCP, 22, 22, "sgW")}
	m := NewPathModel(top)
	fl = NewFlowLogger(top)
	if c := newConv(t, m, fl); !c.handshake(tcp(wIP, 40000, bIP2, 22, 0)) {
		t.Errorf("(c) W: %s", routeKinds(c.last))
	}
	fl = NewFlowLogger(top)
	wantFate(t, newConv(t, m, fl).start(tcp(dIP, 40000, bIP2, 22, TCPSyn)), "sg:eni-b:inbound:"+CodeSGRulesMismatch)
	checkFlows(t, fl.Records(), []string{
		"eni-d eg ACCEPT 10.0.1.20:40000>10.1.1.30:22 tp=4",
		"eni-b in REJECT 10.0.1.20:40000>10.1.1.30:22",
	}, true)
}

// s3 adds TV-53's gateway endpoint: vpce-s3 on rtb-q for the S3 prefix list
// {192.0.2.128/25}, the service host at 192.0.2.200.
func s3(top *vpc.Topology) {
	top.PrefixLists = append(top.PrefixLists, vpc.PrefixList{ID: "pl-0a1b2c3d", Name: "com.amazonaws.us-east-1.s3", MaxEntries: 1, CIDRs: []netip.Prefix{pfx("192.0.2.128/25")}})
	top.Endpoints = append(top.Endpoints, vpc.Endpoint{ID: "vpce-s3", VPC: "vpc-1", Service: "com.amazonaws.us-east-1.s3", PrefixList: "pl-0a1b2c3d", RouteTables: []string{"rtb-q"}})
	top.Internet = append(top.Internet, vpc.InternetHost{Name: "s3", IP: ip("192.0.2.200"), OS: "linux"})
	complete(top)
}

func TestTV53_GatewayEndpoint(t *testing.T) {
	top := t2()
	s3(top)
	sgOf(top, "sgA").Egress = []vpc.SGRule{{Protocol: vpc.ProtoTCP, Ports: ports(443, 443), ICMPType: -1, ICMPCode: -1, PrefixList: "pl-0a1b2c3d"}}
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	c := newConv(t, m, fl)
	if !c.handshake(tcp(aIP2, 40000, "192.0.2.200", 443, 0)) {
		t.Fatalf("(a): %s", routeKinds(c.last))
	}
	if c.server.Dst != ip(aIP2) {
		t.Errorf("(a) the service sees %s, want %s", c.server.Dst, aIP2)
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:40000>192.0.2.200:443 tp=7",
		"eni-a in ACCEPT 192.0.2.200:443>10.0.2.20:40000",
	}, true)

	fl = NewFlowLogger(top)
	wantFate(t, newConv(t, m, fl).start(tcp(aIP2, 40001, sIP, 443, TCPSyn)), "sg:eni-a:outbound:"+CodeSGRulesMismatch)
	checkFlows(t, fl.Records(), []string{"eni-a eg REJECT 10.0.2.20:40001>203.0.113.80:443 flags=2"}, true)

	sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
	m = NewPathModel(top)
	fl = NewFlowLogger(top)
	wantFate(t, newConv(t, m, fl).start(udp(aIP2, 40002, "192.0.2.200", 443)), "vpce:vpce-s3:outbound:"+CodeVPCEProtocol)
	checkFlows(t, fl.Records(), []string{"eni-a eg ACCEPT 10.0.2.20:40002>192.0.2.200:443 tp=7 proto=17"}, true)
}

// appliance adds TV-54's F: eni-f 10.0.3.50 in M, sgF in all from
// 10.0.0.0/16, and the routes through it between P and Q.
func appliance(top *vpc.Topology, checkOff bool) {
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgF", VPC: "vpc-1",
		Ingress: []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "10.0.0.0/16")}, Egress: []vpc.SGRule{outAll()}})
	top.Instances = append(top.Instances, vpc.Instance{ID: "F", OS: "linux", Conntrack: vpc.DefaultConntrack,
		ENI: vpc.ENI{ID: "eni-f", Subnet: "M", PrivateIP: ip("10.0.3.50"), SecurityGroups: []string{"sgF"}, SourceDestCheckDisabled: checkOff}})
	addRoute(top, "rtb-q", "10.0.1.0/24", "eni-f")
	addRoute(top, "rtb-p", "10.0.2.0/24", "eni-f")
	complete(top)
}

func TestTV54_ApplianceNeedsSourceDestCheckOff(t *testing.T) {
	top := t2()
	appliance(top, false)
	fl := NewFlowLogger(top)
	wantFate(t, newConv(t, NewPathModel(top), fl).start(tcp(aIP2, 40000, wIP, 443, TCPSyn)), "eni:eni-f:inbound:"+CodeSourceDestCheck)
	checkFlows(t, fl.Records(), []string{"eni-a eg ACCEPT 10.0.2.20:40000>10.0.1.10:443 tp=1"}, true)

	top = t2()
	appliance(top, true)
	fl = NewFlowLogger(top)
	c := newConv(t, NewPathModel(top), fl)
	if p := c.start(tcp(aIP2, 40000, wIP, 443, TCPSyn)); !p.Delivered {
		t.Fatalf("(b): %s", routeKinds(p))
	}
	if got, want := routeKinds(c.last), "sg-out:eni-a nacl-out:acl-q route:rtb-q nacl-in:acl-default sg-in:eni-f sg-out:eni-f nacl-out:acl-default route:rtb-main nacl-in:acl-p sg-in:eni-w"; got != want {
		t.Errorf("(b) path\n  %s\nwant\n  %s", got, want)
	}
	if p := c.fromServer(synAck); !p.Delivered {
		t.Fatalf("(b) reply: %s", routeKinds(p))
	}
	if got, want := routeKinds(c.last), "sg-out:eni-w nacl-out:acl-p route:rtb-p nacl-in:acl-default sg-in:eni-f sg-out:eni-f nacl-out:acl-default route:rtb-main nacl-in:acl-q sg-in:eni-a"; got != want {
		t.Errorf("(b) reply path\n  %s\nwant\n  %s", got, want)
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT 10.0.2.20:40000>10.0.1.10:443 tp=1",
		"eni-f in ACCEPT 10.0.2.20:40000>10.0.3.50:443 pkt=10.0.2.20>10.0.1.10",
		"eni-f eg ACCEPT 10.0.3.50:40000>10.0.1.10:443 pkt=10.0.2.20>10.0.1.10 tp=1",
		"eni-w in ACCEPT 10.0.2.20:40000>10.0.1.10:443",
		"eni-w eg ACCEPT 10.0.1.10:443>10.0.2.20:40000 tp=1",
		"eni-f in ACCEPT 10.0.1.10:443>10.0.3.50:40000 pkt=10.0.1.10>10.0.2.20",
		"eni-f eg ACCEPT 10.0.3.50:443>10.0.2.20:40000 pkt=10.0.1.10>10.0.2.20 tp=1",
		"eni-a in ACCEPT 10.0.1.10:443>10.0.2.20:40000",
	}, true)

	// (d) rtb-q's local route targets eni-f: Q reaches every other subnet
	// through F; restoring the local target makes it direct again. ((c),
	// a route more specific than a subnet, is refused at validation: vpc/.)
	top = t2()
	appliance(top, true)
	delRoute(top, "rtb-q", "10.0.1.0/24")
	delRoute(top, "rtb-q", "10.0.0.0/16")
	addRoute(top, "rtb-q", "10.0.0.0/16", "eni-f")
	c = newConv(t, NewPathModel(top), nil)
	if p := c.start(tcp(aIP2, 40000, dIP, 22, TCPSyn)); !strings.Contains(routeKinds(p), "sg-in:eni-f") {
		t.Errorf("(d) A -> D not via F: %s", routeKinds(p))
	}
	delRoute(top, "rtb-q", "10.0.0.0/16")
	addRoute(top, "rtb-q", "10.0.0.0/16", "local")
	if p := c.start(tcp(aIP2, 40001, dIP, 22, TCPSyn)); strings.Contains(routeKinds(p), "eni-f") {
		t.Errorf("(d) after --local-target A -> D still via F: %s", routeKinds(p))
	}
}

// dualStack adds TV-56's IPv6.
func dualStack(top *vpc.Topology) {
	top.VPCs[0].IPv6CIDR = pfx("2001:db8:1::/56")
	top.Subnets[0].IPv6CIDR = pfx("2001:db8:1:1::/64")
	top.Subnets[1].IPv6CIDR = pfx("2001:db8:1:2::/64")
	instOf(top, "A").IPv6 = ip("2001:db8:1:2::20")
	instOf(top, "W").IPv6 = ip("2001:db8:1:1::10")
	top.EgressOnlyGateways = []vpc.EgressOnlyGateway{{ID: "eigw-1", VPC: "vpc-1"}}
	addRoute(top, "rtb-q", "::/0", "eigw-1")
	addRoute(top, "rtb-p", "::/0", "igw-1")
	for _, id := range []string{"sgA", "sgW"} {
		sg := sgOf(top, id)
		sg.Egress = append(sg.Egress, sgr(vpc.ProtoAll, 0, 0, "::/0"))
		sg.Ingress = append(sg.Ingress, sgr(vpc.ProtoTCP, 22, 22, "::/0"), sgr(vpc.ProtoTCP, 443, 443, "::/0"))
	}
	for _, id := range []string{"acl-p", "acl-q", "acl-default"} {
		a := aclOf(top, id)
		a.Ingress = append(a.Ingress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
		a.Egress = append(a.Egress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
	}
	top.Internet = append(top.Internet, vpc.InternetHost{Name: "S6", IP: ip("198.51.100.80"), IPv6: ip("2001:db8:ffff::80"), OS: "linux"})
	complete(top)
}

func TestTV56_EgressOnlyInternetGateway(t *testing.T) {
	const a6, w6, s6 = "2001:db8:1:2::20", "2001:db8:1:1::10", "2001:db8:ffff::80"
	top := t2()
	dualStack(top)
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	c := newConv(t, m, fl)
	if !c.handshake(tcp(a6, 40000, s6, 443, 0)) {
		t.Fatalf("(a): %s", routeKinds(c.last))
	}
	if c.server.Dst != ip(a6) {
		t.Errorf("(a) S6 sees %s", c.server.Dst)
	}
	checkFlows(t, fl.Records(), []string{
		"eni-a eg ACCEPT [2001:db8:1:2::20]:40000>[2001:db8:ffff::80]:443 tp=8 type=IPv6",
		"eni-a in ACCEPT [2001:db8:ffff::80]:443>[2001:db8:1:2::20]:40000 type=IPv6",
	}, true)

	fl = NewFlowLogger(top)
	p := newConv(t, m, fl).start(tcp(s6, 51000, a6, 22, TCPSyn))
	wantFate(t, p, "eigw:eigw-1:inbound:"+CodeEIGWInbound)
	if len(fl.Records()) != 0 {
		t.Errorf("(b) records %d", len(fl.Records()))
	}

	fl = NewFlowLogger(top)
	if c := newConv(t, m, fl); !c.handshake(tcp(s6, 51000, w6, 443, 0)) {
		t.Fatalf("(c): %s", routeKinds(c.last))
	}
	checkFlows(t, fl.Records(), []string{
		"eni-w in ACCEPT [2001:db8:ffff::80]:51000>[2001:db8:1:1::10]:443",
		"eni-w eg ACCEPT [2001:db8:1:1::10]:443>[2001:db8:ffff::80]:51000 tp=8",
	}, true)

	delRoute(top, "rtb-q", "::/0")
	fl = NewFlowLogger(top)
	wantFate(t, newConv(t, NewPathModel(top), fl).start(tcp(a6, 40001, s6, 443, TCPSyn)), "route:rtb-q:outbound:"+CodeNoRouteToDestination)
	checkFlows(t, fl.Records(), []string{"eni-a eg ACCEPT [2001:db8:1:2::20]:40001>[2001:db8:ffff::80]:443 tp=-"}, true)
}
