package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// hopKinds renders a path as "sg-out:A nacl-out:N1 igw nacl-in:N2 sg-in:B".
// Route hops that passed are left out (the single-VPC tests predate them;
// routing tests use routeKinds).
func hopKinds(p Path) string {
	var parts []string
	for _, h := range p.Hops {
		if h.Kind == HopRoute && h.Allow {
			continue
		}
		dir := "in"
		if h.Egress {
			dir = "out"
		}
		s := ""
		switch h.Kind {
		case HopSecurityGroup:
			s = "sg-" + dir + ":" + h.Instance.ID
		case HopNetworkACL:
			s = "nacl-" + dir + ":" + h.ACL.ID
		case HopInternetGateway:
			s = "igw"
		case HopRoute:
			s = "route"
		case HopReserved:
			s = "reserved"
		}
		if !h.Allow {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func openT1() *vpc.Topology {
	top := t1()
	for _, id := range []string{"sgA", "sgB", "sgC"} {
		sgOf(top, id).Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "10.0.0.0/8"), sgr(vpc.ProtoTCP, 22, 22, "198.51.100.0/24"), sgr(vpc.ProtoICMP, -1, -1, "0.0.0.0/0")}
		sgOf(top, id).Egress = []vpc.SGRule{outAll()}
	}
	return top
}

func TestPATH1_RequestOrderAcrossSubnets(t *testing.T) {
	m := NewPathModel(openT1())
	p := m.Send(0, tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn))
	if got, want := hopKinds(p), "sg-out:A nacl-out:N1 nacl-in:N2 sg-in:B"; got != want || !p.Delivered {
		t.Errorf("path %q delivered=%v, want %q", got, p.Delivered, want)
	}
	if last := p.Hops[len(p.Hops)-1]; !p.Hops[0].SG.Tracked || !last.SG.Tracked {
		t.Errorf("both ends must create tracking entries: %+v / %+v", p.Hops[0].SG, last.SG)
	}
}

func TestPATH2_ResponseOrderAndTracking(t *testing.T) {
	top := openT1()
	sgOf(top, "sgB").Egress = nil // responses need no outbound rule
	m := NewPathModel(top)
	m.Send(0, tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn))
	r := m.Send(time.Millisecond, tcp("10.0.2.20", 22, "10.0.1.10", 40000, synAck))
	if got, want := hopKinds(r), "sg-out:B nacl-out:N2 nacl-in:N1 sg-in:A"; got != want {
		t.Errorf("reply path %q, want %q", got, want)
	}
	if last := r.Hops[len(r.Hops)-1]; !r.Hops[0].SG.ByState || !last.SG.ByState {
		t.Errorf("reply must pass both SGs by state: %+v / %+v", r.Hops[0].SG, last.SG)
	}
	// N2 outbound must itself allow the ephemeral port (stateless).
	aclOf(top, "N2").Egress = []vpc.NACLRule{nr(100, vpc.ProtoTCP, 0, 1023, "0.0.0.0/0", true)}
	r = m.Send(2*time.Millisecond, tcp("10.0.2.20", 22, "10.0.1.10", 40000, TCPAck))
	if got, want := hopKinds(r), "sg-out:B nacl-out:N2!"; got != want {
		t.Errorf("reply path %q, want %q", got, want)
	}
}

func TestPATH3_FirstDropEndsThePacket(t *testing.T) {
	top := openT1()
	aclOf(top, "N2").Ingress = nil
	m := NewPathModel(top)
	p := m.Send(0, tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn))
	if got, want := hopKinds(p), "sg-out:A nacl-out:N1 nacl-in:N2!"; got != want || p.Delivered || p.Code != CodeSubnetACLRestriction {
		t.Errorf("path %q code %s, want %q", got, p.Code, want)
	}
	if n := m.CT.Len("B"); n != 0 {
		t.Errorf("B's SG was consulted: %d entries", n)
	}
	sgOf(top, "sgA").Egress = nil
	m.CT.SetTopology(top)
	p = m.Send(0, tcp("10.0.1.10", 40001, "10.0.2.20", 22, TCPSyn))
	if got, want := hopKinds(p), "sg-out:A!"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
}

func TestPATH4_SameSubnetSkipsTheNACL(t *testing.T) {
	top := openT1()
	aclOf(top, "N1").Ingress, aclOf(top, "N1").Egress = nil, nil // NACL-8: would deny everything
	m := NewPathModel(top)
	p := m.Send(0, tcp("10.0.1.10", 40000, "10.0.1.30", 22, TCPSyn))
	if got, want := hopKinds(p), "sg-out:A sg-in:C"; got != want || !p.Delivered {
		t.Errorf("path %q, want %q", got, want)
	}
}

func TestNACL8_EvaluatedOnlyAtTheSubnetBoundary(t *testing.T) {
	top := openT1()
	aclOf(top, "N1").Ingress, aclOf(top, "N1").Egress = nil, nil
	m := NewPathModel(top)
	if p := m.Send(0, tcp("10.0.1.10", 40000, "10.0.1.30", 22, TCPSyn)); !p.Delivered {
		t.Errorf("same subnet: %s", hopKinds(p))
	}
	if p := m.Send(0, tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn)); p.Delivered {
		t.Errorf("other subnet: %s", hopKinds(p))
	}
	// Through the internet gateway (C's public IP) the packet leaves S1 and
	// comes back in: both crossings meet N1.
	aclOf(top, "N1").Egress = []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}
	p := m.Send(0, tcp("10.0.1.10", 40002, "203.0.113.30", 22, TCPSyn))
	if got, want := hopKinds(p), "sg-out:A nacl-out:N1 igw igw nacl-in:N1!"; got != want {
		t.Errorf("hairpin %q, want %q", got, want)
	}
}

func TestNACL2_SubnetWithoutAssociationUsesTheDefaultNACL(t *testing.T) {
	top := openT1()
	top.Subnets[1].NetworkACL = ""
	aclOf(top, vpc.DefaultNACLID).Ingress = []vpc.NACLRule{nr(7, vpc.ProtoAll, 0, 0, "0.0.0.0/0", false)}
	p := NewPathModel(top).Send(0, tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn))
	if got, want := hopKinds(p), "sg-out:A nacl-out:N1 nacl-in:acl-default!"; got != want || p.Blocked().NACL.Rule != 7 {
		t.Errorf("path %q rule %d, want %q at rule 7", got, p.Blocked().NACL.Rule, want)
	}
	// Re-association takes effect on the next packet (NACL-9).
	top.Subnets[1].NetworkACL = "N2"
	if p := NewPathModel(top).Send(0, tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn)); !p.Delivered {
		t.Errorf("after association: %s", hopKinds(p))
	}
}

func TestNACL9_ChangesApplyToTheNextPacket(t *testing.T) {
	top := openT1()
	m := NewPathModel(top)
	ssh := tcp("198.51.100.10", 50000, "203.0.113.20", 22, TCPSyn)
	if p := m.Send(0, ssh); !p.Delivered {
		t.Fatalf("before: %s", hopKinds(p))
	}
	aclOf(top, "N2").Ingress = nil
	ssh.TCPFlags = TCPAck
	if p := m.Send(time.Second, ssh); p.Delivered {
		t.Errorf("after: %s", hopKinds(p))
	}
}

func TestPATH5_InternetPeersGoThroughTheGatewayWithNAT(t *testing.T) {
	top := openT1()
	m := NewPathModel(top)
	in := m.Send(0, tcp("198.51.100.10", 50000, "203.0.113.10", 22, TCPSyn))
	if got, want := hopKinds(in), "igw nacl-in:N1 sg-in:A"; got != want || !in.Delivered {
		t.Errorf("inbound %q, want %q", got, want)
	}
	if f := in.Final(); f.Dst != ip("10.0.1.10") || f.Src != ip("198.51.100.10") {
		t.Errorf("inbound NAT: final %s -> %s", f.Src, f.Dst)
	}
	out := m.Send(time.Millisecond, tcp("10.0.1.10", 22, "198.51.100.10", 50000, synAck))
	if got, want := hopKinds(out), "sg-out:A nacl-out:N1 igw"; got != want || !out.Delivered {
		t.Errorf("outbound %q, want %q", got, want)
	}
	if f := out.Final(); f.Src != ip("203.0.113.10") {
		t.Errorf("outbound NAT: source %s", f.Src)
	}
	if !out.Hops[0].SG.ByState {
		t.Errorf("reply not admitted by state: %+v", out.Hops[0].SG)
	}

	// No public IP: no path either way (EIP-2, EIP-3; TV-42b, TV-43c).
	instOf(top, "A").PublicIP = vpc.Instance{}.PublicIP
	m = NewPathModel(top)
	if p := m.Send(0, tcp("10.0.1.10", 40000, "198.51.100.10", 443, TCPSyn)); p.Delivered || p.Code != CodeIGWPublicIPEgress {
		t.Errorf("no public ip, outbound: %s %s", hopKinds(p), p.Code)
	}
	if p := m.Send(0, tcp("198.51.100.10", 40000, "10.0.1.10", 22, TCPSyn)); p.Delivered || p.Code != CodeIGWPrivateIPIngress {
		t.Errorf("internet to a private address: %s %s", hopKinds(p), p.Code)
	}
	// Private subnet: no route to the internet; a public IP there still
	// receives (EIP-3 delivers straight to the ENI), but the reply finds no
	// route (OQ-17).
	top = openT1()
	makePrivate(top, "S2")
	m = NewPathModel(top)
	if p := m.Send(0, tcp("10.0.2.20", 40000, "198.51.100.10", 443, TCPSyn)); p.Delivered || p.Code != CodeNoRouteToDestination {
		t.Errorf("private subnet, outbound: %s %s", hopKinds(p), p.Code)
	}
	if p := m.Send(0, tcp("198.51.100.10", 40000, "203.0.113.20", 22, TCPSyn)); !p.Delivered {
		t.Errorf("private subnet, inbound: %s %s", hopKinds(p), p.Code)
	}
	if p := m.Send(time.Millisecond, tcp("10.0.2.20", 22, "198.51.100.10", 40000, synAck)); p.Delivered || p.Code != CodeNoRouteToDestination {
		t.Errorf("private subnet, reply: %s %s", hopKinds(p), p.Code)
	}
	// Internet to internet does not cross the VPC.
	if p := m.Send(0, tcp("198.51.100.10", 40000, "192.0.2.1", 22, TCPSyn)); p.Delivered {
		t.Errorf("internet to internet delivered: %s", hopKinds(p))
	}
}

func TestPATH5_IPv6NeedsNoNAT(t *testing.T) {
	top := openT1()
	dualT1(top)
	n1 := aclOf(top, "N1")
	n1.Ingress = append(n1.Ingress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
	sgOf(top, "sgA").Ingress = append(sgOf(top, "sgA").Ingress, sgr(vpc.ProtoTCP, 22, 22, "::/0"))
	p := NewPathModel(top).Send(0, tcp("2001:db8:ff::1", 50000, aIP6, 22, TCPSyn))
	if got, want := hopKinds(p), "igw nacl-in:N1 sg-in:A"; got != want || !p.Delivered || p.Final().Dst != ip(aIP6) {
		t.Errorf("ipv6 inbound %q, want %q", got, want)
	}
}

func TestPATH6_SG45_NACL10_ReservedServicesAreNotFiltered(t *testing.T) {
	top := t1() // sgA has no rules at all
	aclOf(top, "N1").Ingress, aclOf(top, "N1").Egress = nil, nil
	dualT1(top)
	m := NewPathModel(top)
	for _, dst := range []string{"10.0.0.2", "169.254.169.253", "169.254.169.254", "169.254.169.123", "10.0.1.1", "10.0.1.2", "10.0.1.3"} {
		p := m.Send(0, udp("10.0.1.10", 40000, dst, 53))
		if got := hopKinds(p); got != "reserved" || !p.Delivered {
			t.Errorf("%s: %q", dst, got)
		}
	}
	for _, dst := range []string{"fd00:ec2::253", "fd00:ec2::254", "fd00:ec2::123"} {
		if p := m.Send(0, udp(aIP6, 40000, dst, 53)); hopKinds(p) != "reserved" {
			t.Errorf("%s: %q", dst, hopKinds(p))
		}
	}
	if n := m.CT.Len("A"); n != 0 {
		t.Errorf("reserved traffic took %d conntrack entries", n)
	}
	// An ordinary address in the VPC is filtered.
	if ReservedService(top, ip("10.0.1.4")) || ReservedService(top, ip("10.0.0.3")) {
		t.Error("10.0.1.4 / 10.0.0.3 are not reserved services")
	}
}

func TestPATH7_FlowLogAttributionOfDrops(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*vpc.Topology)
		want  []string
	}{
		{"dropped by the sender's SG", func(top *vpc.Topology) { sgOf(top, "sgA").Egress = nil }, []string{"eni-a egress REJECT"}},
		{"dropped by the sender's NACL", func(top *vpc.Topology) { aclOf(top, "N1").Egress = nil }, []string{"eni-a egress REJECT"}},
		{"dropped by the receiver's NACL", func(top *vpc.Topology) { aclOf(top, "N2").Ingress = nil }, []string{"eni-a egress ACCEPT", "eni-b ingress REJECT"}},
		{"dropped by the receiver's SG", func(top *vpc.Topology) { sgOf(top, "sgB").Ingress = nil }, []string{"eni-a egress ACCEPT", "eni-b ingress REJECT"}},
		{"delivered", func(*vpc.Topology) {}, []string{"eni-a egress ACCEPT", "eni-b ingress ACCEPT"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := openT1()
			tc.setup(top)
			recs := PredictFlowLog(top, []PathPacket{{Packet: tcp("10.0.1.10", 40000, "10.0.2.20", 22, TCPSyn)}})
			checkRecords(t, recs, tc.want, true)
		})
	}
}

func TestPATH8_SameSubnetTrafficNeverMeetsTheNACLButHairpinDoes(t *testing.T) {
	top := openT1()
	// N1 denies everything except traffic to and from the internet range.
	aclOf(top, "N1").Ingress = []vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "203.0.113.0/24", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}
	m := NewPathModel(top)
	if p := m.Send(0, tcp("10.0.1.10", 40000, "10.0.1.30", 22, TCPSyn)); !p.Delivered || strings.Contains(hopKinds(p), "nacl") {
		t.Errorf("bridge-local traffic: %s", hopKinds(p))
	}
	if p := m.Send(0, tcp("10.0.1.10", 40000, "203.0.113.30", 22, TCPSyn)); p.Delivered {
		t.Errorf("hairpin through the gateway must meet N1 inbound: %s", hopKinds(p))
	}
}

func TestSG6_RuleChangesApplyToEveryENIOfTheGroup(t *testing.T) {
	top := openT1()
	top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgShared"})
	instOf(top, "A").SecurityGroups = []string{"sgShared"}
	instOf(top, "B").SecurityGroups = []string{"sgShared"}
	c := newCT(top)
	x := func(dst string) Packet { return tcp("198.51.100.10", 50000, dst, 8080, TCPSyn) }
	mustCT(t, c, 0, "A", false, x("10.0.1.10"), false)
	sgOf(top, "sgShared").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 8080, 8080, "198.51.100.0/24")}
	c.SetTopology(top)
	mustCT(t, c, 0, "A", false, x("10.0.1.10"), true)
	mustCT(t, c, 0, "B", false, x("10.0.2.20"), true)
}

func TestSG26_DocumentedUntrackedExample(t *testing.T) {
	top := t1()
	instOf(top, "A").IPv6 = ip("2001:db8:1::10")
	sgOf(top, "sgA").Ingress = []vpc.SGRule{
		sgr(vpc.ProtoTCP, 22, 22, "203.0.113.1/32"),
		sgr(vpc.ProtoTCP, 80, 80, "0.0.0.0/0"),
		sgr(vpc.ProtoTCP, 80, 80, "::/0"),
		sgr(vpc.ProtoICMP, -1, -1, "0.0.0.0/0"),
	}
	sgOf(top, "sgA").Egress = []vpc.SGRule{outAll(), sgr(vpc.ProtoAll, 0, 0, "::/0")}
	c := newCT(top)
	for _, tc := range []struct {
		p       Packet
		tracked bool
	}{
		{tcp("203.0.113.1", 50000, "10.0.1.10", 22, TCPSyn), true},
		{tcp("198.51.100.1", 50000, "10.0.1.10", 80, TCPSyn), false},
		{tcp("2001:db8:ff::1", 50000, "2001:db8:1::10", 80, TCPSyn), false},
		{icmp("198.51.100.1", "10.0.1.10", 8, 0, 4), true},
	} {
		if v := mustCT(t, c, 0, "A", false, tc.p, true); v.Tracked != tc.tracked {
			t.Errorf("%s: tracked=%v, want %v", packetText(tc.p), v.Tracked, tc.tracked)
		}
	}
	sgOf(top, "sgA").Egress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "::/0")}
	c.SetTopology(top)
	if v := mustCT(t, c, 0, "A", false, tcp("198.51.100.1", 50001, "10.0.1.10", 80, TCPSyn), true); !v.Tracked {
		t.Error("ipv4 http must be tracked after deleting the ipv4 outbound rule")
	}
	if v := mustCT(t, c, 0, "A", false, tcp("2001:db8:ff::1", 50001, "2001:db8:1::10", 80, TCPSyn), true); v.Tracked {
		t.Error("ipv6 http must stay untracked")
	}
}

func TestSG29_NACLCutsTrackedTrafficAtOnce(t *testing.T) {
	top := openT1()
	m := NewPathModel(top)
	ssh := tcp("198.51.100.10", 50000, "203.0.113.20", 22, TCPSyn)
	m.Send(0, ssh)
	aclOf(top, "N2").Ingress = append([]vpc.NACLRule{nr(5, vpc.ProtoTCP, 22, 22, "198.51.100.10/32", false)}, aclOf(top, "N2").Ingress...)
	ssh.TCPFlags = TCPAck
	p := m.Send(time.Second, ssh)
	if got, want := hopKinds(p), "igw nacl-in:N2!"; got != want {
		t.Errorf("path %q, want %q", got, want)
	}
}

func TestNACL19_ExplainUsesTheClientsEphemeralPort(t *testing.T) {
	top := openT1()
	top.Internet = append(top.Internet, vpc.InternetHost{Name: "win", IP: ip("198.51.100.50"), OS: "windows"}, vpc.InternetHost{Name: "w2003", IP: ip("198.51.100.51"), OS: "windows-2003"})
	for _, tc := range []struct {
		from  string
		sport int
		want  int
	}{{"win", 0, 49152}, {"w2003", 0, 1025}, {"X", 0, 32768}, {"win", 50123, 50123}} {
		a := Explain(top, Query{From: tc.from, To: "A", Protocol: vpc.ProtoTCP, Port: 22, SourcePort: tc.sport})
		if got := a.forward.Hops[0].In.SrcPort; got != tc.want {
			t.Errorf("%s sport %d: source port %d, want %d", tc.from, tc.sport, got, tc.want)
		}
		if got := a.reverse.Hops[0].In.DstPort; got != tc.want {
			t.Errorf("%s: reply to port %d, want %d", tc.from, got, tc.want)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	top := t1()
	for _, tc := range []struct{ in, name string }{
		{"A", "A"}, {"eni-b", "B"}, {"10.0.1.30", "C"}, {"203.0.113.10", "A"}, {"X", "X"}, {"198.51.100.77", "Y"}, {"192.0.2.99", "192.0.2.99"},
	} {
		e, err := ResolveEndpoint(top, tc.in)
		if err != nil || e.Name != tc.name {
			t.Errorf("%s: %+v %v, want %s", tc.in, e, err, tc.name)
		}
	}
	for _, bad := range []string{"nobody", "10.0.9.9", ""} {
		if _, err := ResolveEndpoint(top, bad); err == nil {
			t.Errorf("%q resolved", bad)
		}
	}
}
