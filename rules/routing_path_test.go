package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Packet paths with routing (aws-routing.md §8) and Reachability Analyzer
// codes (§9) over T2.

func TestPATH10_OrderAtTheSendingENI(t *testing.T) {
	top := t2()
	c := newConv(t, NewPathModel(top), nil)
	sgOf(top, "sgW").Ingress = append(sgOf(top, "sgW").Ingress, sgr(vpc.ProtoTCP, 443, 443, "10.0.0.0/8"))
	if !c.handshake(tcp(aIP2, 40000, wIP, 443, 0)) {
		t.Fatal(routeKinds(c.last))
	}
	if got, want := routeKinds(c.last), "sg-out:eni-w nacl-out:acl-p route:rtb-p nacl-in:acl-q sg-in:eni-a"; got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
	// A drop ends the walk: the NACL is not consulted after the SG.
	sgOf(top, "sgA").Egress = nil
	if got := routeKinds(NewPathModel(top).Send(0, tcp(aIP2, 40001, wIP, 443, TCPSyn))); got != "sg-out:eni-a!" {
		t.Errorf("%s", got)
	}
}

func TestPATH11_NATGatewayPathBothWays(t *testing.T) {
	c := newConv(t, NewPathModel(t2()), nil)
	if !c.handshake(tcp(aIP2, 40000, sIP, 443, 0)) {
		t.Fatal(routeKinds(c.last))
	}
	req := NewPathModel(t2()).Send(0, tcp(aIP2, 40000, sIP, 443, TCPSyn))
	if got, want := routeKinds(req), "sg-out:eni-a nacl-out:acl-q route:rtb-q nacl-in:acl-p ngw:nat-1 nacl-out:acl-p route:rtb-p igw:igw-1"; got != want {
		t.Errorf("request %s\nwant    %s", got, want)
	}
	if got, want := routeKinds(c.last), "igw:igw-1 nacl-in:acl-p ngw:nat-1 nacl-out:acl-p route:rtb-p nacl-in:acl-q sg-in:eni-a"; got != want {
		t.Errorf("reply %s\nwant  %s", got, want)
	}
	for _, h := range c.last.Hops {
		if h.In.Src != ip(sIP) {
			t.Errorf("the host address was replaced at %s: %s", h.ID, packetText(h.In))
		}
	}
}

func TestPATH12_InternetGatewayPath(t *testing.T) {
	top := t2()
	out := send(t, top, tcp(wIP, 40000, sIP, 443, TCPSyn))
	if got, want := routeKinds(out), "sg-out:eni-w nacl-out:acl-p route:rtb-p igw:igw-1"; got != want {
		t.Errorf("out %s, want %s", got, want)
	}
	in := send(t, top, tcp(xIP2, 51000, wPub, 443, TCPSyn))
	if got, want := routeKinds(in), "igw:igw-1 nacl-in:acl-p sg-in:eni-w"; got != want {
		t.Errorf("in %s, want %s", got, want)
	}
	for _, h := range in.Hops[1:] {
		if h.In.Dst != ip(wIP) {
			t.Errorf("%s sees %s", h.ID, h.In.Dst)
		}
	}
}

func TestPATH13_PeeringPath(t *testing.T) {
	top := peeredT2()
	c := newConv(t, NewPathModel(top), nil)
	if !c.handshake(tcp(wIP, 40000, bIP2, 22, 0)) {
		t.Fatal(routeKinds(c.last))
	}
	if got, want := routeKinds(c.last), "sg-out:eni-b nacl-out:acl-default-vpc-2 route:rtb-r pcx:pcx-12 nacl-in:acl-p sg-in:eni-w"; got != want {
		t.Errorf("reply %s, want %s", got, want)
	}
}

func TestPATH14_EgressOnlyEndpointAndAppliancePaths(t *testing.T) {
	top := t2()
	dualStack(top)
	s3(top)
	if got, want := routeKinds(send(t, top, tcp("2001:db8:1:2::20", 40000, "2001:db8:ffff::80", 443, TCPSyn))), "sg-out:eni-a nacl-out:acl-q route:rtb-q eigw:eigw-1"; got != want {
		t.Errorf("eigw %s", got)
	}
	if got, want := routeKinds(send(t, top, tcp(aIP2, 40000, "192.0.2.200", 443, TCPSyn))), "sg-out:eni-a nacl-out:acl-q route:rtb-q vpce:vpce-s3"; got != want {
		t.Errorf("endpoint %s", got)
	}
	if got, want := routeKinds(send(t, top, tcp("192.0.2.200", 443, aIP2, 40000, synAck))), "vpce:vpce-s3 nacl-in:acl-q sg-in:eni-a!"; got != want {
		t.Errorf("from the service %s", got) // no tracked flow: sgA has no inbound rules
	}
	// The appliance path is TV-54 (b).
}

func TestPATH15_OrderAtTheReceivingENI(t *testing.T) {
	top := t2()
	aclOf(top, "acl-p").Ingress = nil
	appliance(top, false)
	delRoute(top, "rtb-q", "10.0.1.0/24")
	// NACL inbound first: the drop is the NACL's, not the SG's or the check's.
	wantFate(t, send(t, top, tcp(aIP2, 40000, wIP, 22, TCPSyn)), "nacl:acl-p:inbound:"+CodeSubnetACLRestriction)
	// Source/destination check before the SG (F's SG admits all from the VPC).
	addRoute(top, "rtb-q", "10.0.1.0/24", "eni-f")
	wantFate(t, send(t, top, tcp(aIP2, 40000, wIP, 22, TCPSyn)), "eni:eni-f:inbound:"+CodeSourceDestCheck)
}

func TestPATH16_EveryENIOnThePathLogs(t *testing.T) {
	// TV-45 (NAT gateway) and TV-54 (appliance) hold the full records; here
	// gateways without ENIs log nothing: a peering, an internet gateway.
	top := peeredT2()
	recs := PredictFlowLog(top, []PathPacket{{Packet: tcp(wIP, 40000, bIP2, 22, TCPSyn)}, {Packet: tcp(xIP2, 51000, wPub, 443, TCPSyn)}})
	for _, r := range recs {
		if r.ENI != "eni-w" && r.ENI != "eni-b" {
			t.Errorf("unexpected record %s", flowText(r))
		}
	}
	if len(recs) != 3 {
		t.Errorf("%d records", len(recs))
	}
}

func TestPATH17_RoutingDropsAreNotRejects(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-p", "203.0.113.80/32", "")
	recs := PredictFlowLog(top, []PathPacket{
		{Packet: tcp(wIP, 40000, sIP, 443, TCPSyn)},             // blackhole
		{Packet: tcp(dIP, 40000, "198.51.100.10", 443, TCPSyn)}, // no public IP: dropped at the IGW
		{Packet: tcp(wIP, 40001, "10.0.9.9", 22, TCPSyn)},       // no ENI there
	})
	checkFlows(t, recs, []string{
		"eni-w eg ACCEPT 10.0.1.10:40000>203.0.113.80:443 tp=-",
		"eni-d eg ACCEPT 10.0.1.20:40000>198.51.100.10:443 tp=8",
		"eni-w eg ACCEPT 10.0.1.10:40001>10.0.9.9:22 tp=1",
	}, true)
}

func TestRA8_RoutingDropCodes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*vpc.Topology)
		p     Packet
		fate  string
	}{
		{"no route", nil, tcp(bIP2, 40000, sIP, 443, TCPSyn), "route:rtb-r:outbound:" + CodeNoRouteToDestination},
		{"blackhole", func(top *vpc.Topology) { top.NATGateways = nil }, tcp(aIP2, 40000, sIP, 443, TCPSyn), "route:rtb-q:outbound:" + CodeBadStateRoute},
		{"igw egress without public IP", nil, tcp(dIP, 40000, sIP, 443, TCPSyn), "igw:igw-1:outbound:" + CodeIGWPublicIPEgress},
		{"igw ingress to an unmapped address", nil, tcp(xIP2, 51000, "203.0.113.77", 443, TCPSyn), "igw:igw-1:inbound:" + CodeIGWPrivateIPIngress},
		{"igw private destination", nil, tcp(wIP, 40000, "192.168.1.1", 443, TCPSyn), "igw:igw-1:outbound:" + CodeIGWDstRFC1918Egress},
		{"peering destination outside", func(top *vpc.Topology) { addRoute(top, "rtb-p", "10.8.0.0/16", "pcx-12") }, tcp(wIP, 40000, "10.8.0.1", 22, TCPSyn), "pcx:pcx-12:outbound:" + CodePCXAddressInVPC},
		{"peering not active", func(top *vpc.Topology) {
			addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12")
			top.Peerings[0].State = "provisioning"
		}, tcp(wIP, 40000, bIP2, 22, TCPSyn), "route:rtb-p:outbound:" + CodeBadStateRoute},
		{"NAT gateway protocol", nil, Packet{Src: ip(aIP2), Dst: ip(sIP), Protocol: 132, Length: 60}, "ngw:nat-1:outbound:" + CodeProtocolRestriction},
		{"NAT gateway unsolicited", nil, tcp(xIP2, 51000, ngwPub, 22, TCPSyn), "ngw:nat-1:inbound:" + CodeNGWNoMapping},
		{"NAT gateway ports", func(top *vpc.Topology) { top.Limits.NATConnectionsPerDestination = -1 }, tcp(aIP2, 40000, sIP, 443, TCPSyn), "delivered"},
		{"endpoint protocol", s3, udp(aIP2, 40000, "192.0.2.200", 443), "vpce:vpce-s3:outbound:" + CodeVPCEProtocol},
		{"source/destination check", func(top *vpc.Topology) { appliance(top, false) }, tcp(aIP2, 40000, wIP, 443, TCPSyn), "eni:eni-f:inbound:" + CodeSourceDestCheck},
		{"egress-only gateway inbound", dualStack, tcp("2001:db8:ffff::80", 51000, "2001:db8:1:2::20", 22, TCPSyn), "eigw:eigw-1:inbound:" + CodeEIGWInbound},
		{"no ENI at the address", nil, tcp(wIP, 40000, "10.0.3.99", 22, TCPSyn), "subnet:M:inbound:" + CodeNoENIAtAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t2()
			if tc.setup != nil {
				tc.setup(top)
			}
			p := send(t, top, tc.p)
			wantFate(t, p, tc.fate)
			if !p.Delivered {
				a := Explain(top, Query{From: tc.p.Src.String(), To: tc.p.Dst.String(), Protocol: tc.p.Protocol, Port: tc.p.DstPort, SourcePort: tc.p.SrcPort})
				if a.Status == "succeeded" && (len(a.Explanations) == 0 || a.Explanations[0].ExplanationCode != p.Code) {
					t.Errorf("explain: %+v\n%s", a.Explanations, explainText(t, a))
				}
			}
		})
	}
}

func TestRA9_QualifiersAndAnalysisOnlyNotes(t *testing.T) {
	// The NAT gateway preserved the destination its subnet's NACL denies
	// (REMAP_EPHEMERAL_PORT on the reply leg: TestNGW13_).
	top := t2()
	aclOf(top, "acl-p").Egress = []vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "203.0.113.80/32", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}
	a := Explain(top, Query{From: "A", To: "S", Protocol: vpc.ProtoTCP, Port: 443})
	if len(a.Explanations) != 1 || len(a.Explanations[0].AdditionalDetails) == 0 || a.Explanations[0].AdditionalDetails[0].AdditionalDetailType != QualNGWDestPreservation {
		t.Errorf("%+v\n%s", a.Explanations, explainText(t, a))
	}
	// A blackhole /32 beating 0.0.0.0/0: MORE_SPECIFIC_ROUTE.
	top = t2()
	addRoute(top, "rtb-q", "203.0.113.80/32", "nat-2")
	a = Explain(top, Query{From: "A", To: "S", Protocol: vpc.ProtoTCP, Port: 443})
	if len(a.Notes) != 1 || a.Notes[0].ExplanationCode != NoteMoreSpecificRoute {
		t.Errorf("notes %+v", a.Notes)
	}
	if !strings.Contains(explainText(t, a), "blackhole") {
		t.Errorf("%s", explainText(t, a))
	}
	// A route to a peering for an address outside the peer: CANNOT_ROUTE.
	top = t2()
	addRoute(top, "rtb-p", "10.9.0.0/16", "pcx-12")
	a = Explain(top, Query{From: "W", To: "10.9.0.1", Protocol: vpc.ProtoTCP, Port: 22})
	codes := []string{}
	for _, n := range a.Notes {
		codes = append(codes, n.ExplanationCode)
	}
	if !slices.Contains(codes, NoteCannotRoute) {
		t.Errorf("notes %v", codes)
	}
}

func TestRA10_ReturnPathFailuresNameTheResponderSide(t *testing.T) {
	top := t2()
	addRoute(top, "rtb-p", "10.1.0.0/16", "pcx-12")
	a := Explain(top, Query{From: "W", To: "B", Protocol: vpc.ProtoTCP, Port: 22})
	if !a.ForwardPathFound || a.ReturnPathFound || len(a.Explanations) != 1 {
		t.Fatalf("%s", explainText(t, a))
	}
	e := a.Explanations[0]
	if e.Path != "return" || e.Direction != "egress" || e.ExplanationCode != CodeNoRouteToDestination || e.RouteTable == nil || e.RouteTable.ID != "rtb-r" || e.VPC.ID != "vpc-2" {
		t.Errorf("explanation %+v", e)
	}
	text := explainText(t, a)
	for _, want := range []string{"route table rtb-r", "no route matches 10.0.1.10", "return path is blocked"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestExplainRoutingText(t *testing.T) {
	a := Explain(t2(), Query{From: "A", To: "S", Protocol: vpc.ProtoTCP, Port: 443})
	text := explainText(t, a)
	for _, want := range []string{
		"ROUTE route table rtb-q (Q)", "0.0.0.0/0 -> nat-1",
		"NAT gateway nat-1", "source 10.0.2.20:32768 -> 10.0.1.100:1024",
		"internet gateway igw-1", "1:1 NAT source 10.0.1.100 -> 203.0.113.100",
		"reply mapped back", "Verdict: REACHABLE",
		"eni-ngw",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	_ = time.Second
}

// Statements of aws-routing.md and where they are tested: in rules/ a test
// named after the statement (TestRT10_...), or elsewhere for a reason.
var routingStatements = map[string]string{
	"RT-1": "", "RT-2": "", "RT-3": "", "RT-5": "", "RT-7": "", "RT-8": "", "RT-9": "", "RT-10": "", "RT-11": "",
	"RT-12": "", "RT-13": "", "RT-14": "", "RT-15": "", "RT-16": "", "RT-20": "", "RT-21": "", "RT-22": "",
	"RT-4":  "tested in vpc/: quotas at validation",
	"RT-6":  "tested in vpc/: routes inside a VPC CIDR refused at validation (TV-54 c)",
	"RT-17": "R2: gateway route tables (edge associations)", "RT-18": "R2: gateway route tables", "RT-19": "R2: gateway route tables",
	"EIP-1": "", "EIP-2": "", "EIP-3": "", "EIP-4": "", "EIP-5": "", "EIP-6": "", "EIP-7": "", "EIP-8": "", "EIP-9": "", "EIP-10": "",
	"EIP-13": "", "EIP-14": "",
	"EIP-11": "", "EIP-12": "tested in vpc/: quotas",
	"NGW-1": "", "NGW-2": "", "NGW-3": "", "NGW-4": "", "NGW-5": "", "NGW-6": "", "NGW-7": "", "NGW-8": "", "NGW-9": "", "NGW-10": "",
	"NGW-11": "", "NGW-13": "", "NGW-14": "", "NGW-15": "", "NGW-16": "",
	"NGW-12": "datapath: the evaluator's packets carry no TTL (PATH-18)",
	"PCX-1":  "", "PCX-3": "", "PCX-4": "", "PCX-5": "", "PCX-6": "", "PCX-7": "", "PCX-8": "", "PCX-9": "", "PCX-10": "", "PCX-12": "",
	"PCX-2":  "tested in vpc/: overlapping CIDRs and quotas at validation",
	"PCX-11": "datapath: MTU; the peer's DNS is out of scope",
	"ENI-1":  "", "ENI-3": "", "ENI-4": "", "ENI-5": "", "ENI-6": "", "ENI-7": "", "ENI-8": "",
	"ENI-2":  "tested in vpc/: attachment rules at validation",
	"VPCE-1": "", "VPCE-2": "", "VPCE-3": "", "VPCE-4": "", "VPCE-5": "", "VPCE-7": "",
	"VPCE-6": "not modelled: an endpoint has no address type; it routes the prefix list it names, looked up per family (RT-9)",
	"VPCE-8": "R2: interface endpoints",
	"TGW-1":  "R2", "TGW-2": "R2", "TGW-3": "R2", "TGW-4": "R2", "TGW-5": "R2", "TGW-6": "R2", "TGW-7": "R2", "TGW-8": "R2",
	"PATH-10": "", "PATH-11": "", "PATH-12": "", "PATH-13": "", "PATH-14": "", "PATH-15": "", "PATH-16": "", "PATH-17": "",
	"PATH-18": "datapath: TTL and traceroute (no TTL in the evaluator's packets)",
	"PATH-19": "datapath: the mapping onto namespaces and programs",
	"RA-8":    "", "RA-9": "", "RA-10": "",
	"TV-42": "", "TV-43": "", "TV-44": "", "TV-45": "", "TV-46": "", "TV-48": "", "TV-49": "", "TV-50": "", "TV-51": "",
	"TV-53": "", "TV-54": "", "TV-56": "",
	"TV-59": "R2: gateway route tables",
}

func TestRoutingStatementsHaveTests(t *testing.T) {
	names := map[string]bool{}
	files, _ := filepath.Glob("*_test.go")
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && strings.HasPrefix(fd.Name.Name, "Test") {
				names[fd.Name.Name] = true
			}
		}
	}
	re := regexp.MustCompile(`^([A-Z]+)-(\d+)$`)
	for id, reason := range routingStatements {
		if reason != "" {
			continue
		}
		m := re.FindStringSubmatch(id)
		// TestRT10_..., also as a later part of a combined name (TestRT2_RT3_...).
		tag := m[1] + m[2] + "_"
		found := false
		for n := range names {
			if strings.HasPrefix(n, "Test"+tag) || strings.Contains(n, "_"+tag) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no test named Test%s...", id, tag)
		}
	}
}
