package rules

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// Builders for topologies written in Go (spec §7.0's T1 and variations).

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }

func ports(from, to int) vpc.PortRange { return vpc.PortRange{From: from, To: to} }

// sgr is an SG rule with a CIDR peer; for ICMP from/to are type/code.
func sgr(proto, from, to int, cidr string) vpc.SGRule {
	r := vpc.SGRule{Protocol: proto, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: pfx(cidr)}
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		r.Ports = ports(from, to)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		r.ICMPType, r.ICMPCode = from, to
	}
	return r
}

// sgrGroup is an SG rule whose peer is another security group.
func sgrGroup(proto, from, to int, group string) vpc.SGRule {
	r := sgr(proto, from, to, "0.0.0.0/0")
	r.CIDR = netip.Prefix{}
	r.SourceGroup = group
	return r
}

// outAll is "out-all": all protocols to 0.0.0.0/0.
func outAll() vpc.SGRule { return sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0") }

// nr is a NACL rule; for ICMP from/to are type/code.
func nr(num, proto, from, to int, cidr string, allow bool) vpc.NACLRule {
	r := vpc.NACLRule{Number: num, Protocol: proto, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: pfx(cidr), Allow: allow}
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		r.Ports = ports(from, to)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		r.ICMPType, r.ICMPCode = from, to
	}
	return r
}

func allowAllNACL(id string) vpc.NetworkACL {
	return vpc.NetworkACL{ID: id,
		Ingress: []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)},
		Egress:  []vpc.NACLRule{nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)},
	}
}

// t1 is spec §7.0's common topology: S1 (A, C) and S2 (B) with
// allow-all NACLs N1/N2, SGs sgA/sgB/sgC with no rules, hosts X, Y, W.
// Both subnets are public and every instance has a public IP so that
// internet vectors have a path.
func t1() *vpc.Topology {
	t := &vpc.Topology{
		Name: "t1", Account: "123456789012", Region: "us-east-1",
		VPCs: []vpc.VPC{{ID: "vpc-t1", CIDR: pfx("10.0.0.0/16")}},
		Subnets: []vpc.Subnet{
			{ID: "S1", CIDR: pfx("10.0.1.0/24"), Public: true, NetworkACL: "N1"},
			{ID: "S2", CIDR: pfx("10.0.2.0/24"), Public: true, NetworkACL: "N2"},
		},
		SecurityGroups: []vpc.SecurityGroup{
			{ID: vpc.DefaultSGID, Ingress: []vpc.SGRule{sgrGroup(vpc.ProtoAll, 0, 0, vpc.DefaultSGID)}, Egress: []vpc.SGRule{outAll()}},
			{ID: "sgA"}, {ID: "sgB"}, {ID: "sgC"},
		},
		NetworkACLs: []vpc.NetworkACL{allowAllNACL(vpc.DefaultNACLID), allowAllNACL("N1"), allowAllNACL("N2")},
		Instances: []vpc.Instance{
			{ID: "A", ENI: vpc.ENI{ID: "eni-a", Subnet: "S1", PrivateIP: ip("10.0.1.10"), PublicIP: ip("203.0.113.10"), SecurityGroups: []string{"sgA"}}, OS: "linux", Conntrack: vpc.DefaultConntrack},
			{ID: "B", ENI: vpc.ENI{ID: "eni-b", Subnet: "S2", PrivateIP: ip("10.0.2.20"), PublicIP: ip("203.0.113.20"), SecurityGroups: []string{"sgB"}}, OS: "linux", Conntrack: vpc.DefaultConntrack},
			{ID: "C", ENI: vpc.ENI{ID: "eni-c", Subnet: "S1", PrivateIP: ip("10.0.1.30"), PublicIP: ip("203.0.113.30"), SecurityGroups: []string{"sgC"}}, OS: "linux", Conntrack: vpc.DefaultConntrack},
		},
		Internet: []vpc.InternetHost{
			{Name: "X", IP: ip("198.51.100.10"), OS: "linux"},
			{Name: "Y", IP: ip("198.51.100.77"), OS: "linux"},
			{Name: "W", IP: ip("203.0.113.80"), OS: "linux"},
		},
		Limits: vpc.DefaultLimits,
	}
	return complete(t)
}

// IPv6 addresses of A and B in T1 with dualT1.
const aIP6, bIP6 = "2001:db8:0:1::10", "2001:db8:0:2::20"

// dualT1 gives T1 IPv6 blocks (the VPC 2001:db8::/56, S1 2001:db8:0:1::/64,
// S2 2001:db8:0:2::/64) and A and B an address in theirs, and the public
// table its ::/0 route (as Parse gives a dual-stack VPC's, RT-20), completed
// again (the block's local route).
func dualT1(top *vpc.Topology) {
	top.VPCs[0].IPv6CIDR = pfx("2001:db8::/56")
	top.Subnets[0].IPv6CIDR = pfx("2001:db8:0:1::/64")
	top.Subnets[1].IPv6CIDR = pfx("2001:db8:0:2::/64")
	instOf(top, "A").IPv6 = ip(aIP6)
	instOf(top, "B").IPv6 = ip(bIP6)
	rt := top.RouteTable(vpc.PublicRouteTableID)
	rt.Routes = append(rt.Routes, vpc.Route{Dest: pfx("::/0"), Target: vpc.RouteTarget{Kind: vpc.TargetIGW, ID: vpc.DefaultIGWID}})
	complete(top)
}

// makePrivate turns `public: true` off for the subnet: it leaves the public
// table for its VPC's main table (completed again).
func makePrivate(top *vpc.Topology, subnet string) {
	s := top.Subnet(subnet)
	s.Public, s.RouteTable = false, ""
	complete(top)
}

// complete finishes a topology written in Go as Parse finishes a file
// (vpc.Validate: default groups, NACLs and tables, the tables and gateway
// `public: true` stands for, derived ids): the evaluator reads completed
// topologies only. A topology Validate refuses is a mistake in the test.
func complete(t *vpc.Topology) *vpc.Topology {
	if err := vpc.Validate(t); err != nil {
		panic(fmt.Sprintf("topology %s written in Go is not valid: %v", t.Name, err))
	}
	return t
}

func sgOf(t *vpc.Topology, id string) *vpc.SecurityGroup {
	if sg := t.SecurityGroup(id); sg != nil {
		return sg
	}
	panic("no sg " + id)
}

func aclOf(t *vpc.Topology, id string) *vpc.NetworkACL {
	if a := t.NetworkACL(id); a != nil {
		return a
	}
	panic("no acl " + id)
}

func instOf(t *vpc.Topology, id string) *vpc.Instance {
	if in := t.Instance(id); in != nil {
		return in
	}
	if in := t.InstanceByENI(id); in != nil {
		return in
	}
	panic("no instance " + id)
}

// tcp builds a TCP packet "src:port -> dst:port" with flags.
func tcp(src string, sport int, dst string, dport int, flags uint8) Packet {
	return Packet{Src: ip(src), Dst: ip(dst), Protocol: vpc.ProtoTCP, SrcPort: sport, DstPort: dport, TCPFlags: flags, Length: 60}
}

func udp(src string, sport int, dst string, dport int) Packet {
	return Packet{Src: ip(src), Dst: ip(dst), Protocol: vpc.ProtoUDP, SrcPort: sport, DstPort: dport, Length: 60}
}

func icmp(src, dst string, typ, code, id int) Packet {
	proto := vpc.ProtoICMP
	if ip(src).Is6() {
		proto = vpc.ProtoICMPv6
	}
	return Packet{Src: ip(src), Dst: ip(dst), Protocol: proto, ICMPType: typ, ICMPCode: code, ICMPID: id, Length: 84}
}

const synAck = TCPSyn | TCPAck

func mustAllowNACL(t *testing.T, acl *vpc.NetworkACL, egress bool, p Packet, allow bool, rule int) {
	t.Helper()
	got := EvalNACL(acl, egress, p)
	if got.Allow != allow || got.Rule != rule {
		t.Errorf("EvalNACL(%s, egress=%v, %+v) = %+v, want {Allow:%v Rule:%d}", acl.ID, egress, p, got, allow, rule)
	}
}
