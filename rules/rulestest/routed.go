package rulestest

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"

	"github.com/vpcemu/vpcemu/vpc"
)

// Random routed topologies and flows (aws-routing.md) for the evaluator's
// property tests and the datapath's differential test: both draw from
// RandRoutedTopology and RandFlow, so a seed names one case everywhere.
//
// A topology has 1-3 VPCs (10.V.0.0/16, V = 0..2; never overlapping, so
// any two may peer), each with 1-4 subnets (10.V.S.0/24), one or two
// instances per subnet (10.V.S.10, .11), an internet gateway (always in the
// first VPC), a main table and up to three more route tables whose random
// routes overlap (0.0.0.0/0 and more specific internet and peer prefixes),
// some of them blackholes. The first VPC has a public NAT gateway (EIP
// 203.0.113.100, sequential ports); with two or more VPCs the first two are
// joined by pcx-1 (sometimes not active). Every ENI is a primary ENI with
// source/destination check on: no appliances. Internet hosts are S
// 203.0.113.80, X 198.51.100.10 and T 192.0.2.50.

// Service ports every instance and internet host listens on.
const (
	FlowTCPPort  = 443
	FlowTCPPort2 = 22
	FlowUDPPort  = 5353
)

// Internet hosts of routed topologies.
var (
	HostS = netip.MustParseAddr("203.0.113.80")
	HostX = netip.MustParseAddr("198.51.100.10")
	HostT = netip.MustParseAddr("192.0.2.50")
	NATIP = netip.MustParseAddr("203.0.113.100") // the NAT gateway's EIP
)

func services() []vpc.Service {
	return []vpc.Service{{Kind: "tcp", Port: FlowTCPPort}, {Kind: "tcp", Port: FlowTCPPort2}, {Kind: "udp", Port: FlowUDPPort}}
}

func allowAll(id, vpcID string) vpc.NetworkACL {
	all := func() []vpc.NACLRule {
		return []vpc.NACLRule{{Number: 100, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0"), Allow: true}}
	}
	return vpc.NetworkACL{ID: id, VPC: vpcID, Ingress: all(), Egress: all()}
}

func cidrRule(proto, from, to int, cidr string) vpc.SGRule {
	r := vpc.SGRule{Protocol: proto, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix(cidr)}
	if proto == vpc.ProtoTCP || proto == vpc.ProtoUDP {
		r.Ports = vpc.PortRange{From: from, To: to}
	}
	return r
}

// suffixed is an implicit object's id in the n-th VPC (vpc.DefaultSGID, ...).
func suffixed(base string, n int, vpcID string) string {
	if n == 0 {
		return base
	}
	return base + "-" + vpcID
}

// RandRoutedTopology draws a routed topology named "rt" (see above),
// completed by vpc.Validate.
func RandRoutedTopology(r *rand.Rand) *vpc.Topology {
	t := &vpc.Topology{Name: "rt", Account: "123456789012", Region: "us-east-1", Limits: vpc.DefaultLimits}
	nv := 1 + r.IntN(3)
	pub := 10 // next public IPv4: 203.0.113.10, .11, ...
	for v := range nv {
		id := fmt.Sprintf("vpc-%d", v+1)
		vp := vpc.VPC{ID: id, CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(v), 0, 0}), 16),
			DefaultSG: suffixed(vpc.DefaultSGID, v, id), DefaultNACL: suffixed(vpc.DefaultNACLID, v, id), MainTable: suffixed(vpc.DefaultMainRouteTableID, v, id)}
		t.VPCs = append(t.VPCs, vp)
		t.SecurityGroups = append(t.SecurityGroups, vpc.SecurityGroup{ID: vp.DefaultSG, VPC: id, Name: "default",
			Ingress: []vpc.SGRule{{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, SourceGroup: vp.DefaultSG}},
			Egress:  []vpc.SGRule{cidrRule(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}})
		t.NetworkACLs = append(t.NetworkACLs, allowAll(vp.DefaultNACL, id))
		if v == 0 || r.IntN(2) == 0 {
			t.InternetGateways = append(t.InternetGateways, vpc.InternetGateway{ID: fmt.Sprintf("igw-%d", v+1), VPC: id})
		}
		// One SG per VPC admitting the flows' ports from everywhere, and
		// sometimes one that admits only the VPCs' range.
		t.SecurityGroups = append(t.SecurityGroups, vpc.SecurityGroup{ID: fmt.Sprintf("sg-open-%d", v+1), VPC: id, Name: fmt.Sprintf("open-%d", v+1),
			Ingress: []vpc.SGRule{cidrRule(vpc.ProtoTCP, FlowTCPPort, FlowTCPPort, "0.0.0.0/0"), cidrRule(vpc.ProtoTCP, FlowTCPPort2, FlowTCPPort2, "10.0.0.0/8"),
				cidrRule(vpc.ProtoUDP, FlowUDPPort, FlowUDPPort, "0.0.0.0/0"), cidrRule(vpc.ProtoICMP, 0, 0, "0.0.0.0/0")},
			Egress: []vpc.SGRule{cidrRule(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}},
			vpc.SecurityGroup{ID: fmt.Sprintf("sg-vpcs-%d", v+1), VPC: id, Name: fmt.Sprintf("vpcs-%d", v+1),
				Ingress: []vpc.SGRule{cidrRule(vpc.ProtoAll, 0, 0, "10.0.0.0/8")}, Egress: []vpc.SGRule{cidrRule(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}})

		ns := 1 + r.IntN(4)
		for s := range ns {
			sn := vpc.Subnet{ID: fmt.Sprintf("sn-%d%c", v+1, 'a'+s), VPC: id, AZ: "use1-az1",
				CIDR: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(v), byte(s + 1), 0}), 24)}
			if r.IntN(4) == 0 {
				// A NACL that denies one of the flow protocols towards or
				// from a random peer range.
				acl := allowAll(fmt.Sprintf("acl-%d%c", v+1, 'a'+s), id)
				deny := vpc.NACLRule{Number: 50, Protocol: []int{vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP}[r.IntN(3)], Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1,
					CIDR: netip.MustParsePrefix([]string{"203.0.113.0/24", "198.51.100.0/24", "10.0.0.0/8", "10.1.0.0/16"}[r.IntN(4)])}
				if r.IntN(2) == 0 {
					acl.Ingress = append([]vpc.NACLRule{deny}, acl.Ingress...)
				} else {
					acl.Egress = append([]vpc.NACLRule{deny}, acl.Egress...)
				}
				t.NetworkACLs = append(t.NetworkACLs, acl)
				sn.NetworkACL = acl.ID
			}
			t.Subnets = append(t.Subnets, sn)
			for k := range 1 + r.IntN(2) {
				in := vpc.Instance{ID: fmt.Sprintf("i-%d%c%d", v+1, 'a'+s, k), OS: "linux", Services: services(), Conntrack: vpc.DefaultConntrack,
					ENI: vpc.ENI{ID: fmt.Sprintf("eni-%d%c%d", v+1, 'a'+s, k), Subnet: sn.ID, PrivateIP: netip.AddrFrom4([4]byte{10, byte(v), byte(s + 1), byte(10 + k)})}}
				switch r.IntN(3) {
				case 0:
					in.SecurityGroups = []string{fmt.Sprintf("sg-open-%d", v+1)}
				case 1:
					in.SecurityGroups = []string{fmt.Sprintf("sg-vpcs-%d", v+1)}
				default:
					in.SecurityGroups = []string{fmt.Sprintf("sg-open-%d", v+1), fmt.Sprintf("sg-vpcs-%d", v+1)}
				}
				if r.IntN(2) == 0 {
					in.PublicIP = netip.AddrFrom4([4]byte{203, 0, 113, byte(pub)})
					pub++
				}
				t.Instances = append(t.Instances, in)
			}
		}
	}
	// The NAT gateway lives in the first VPC's first subnet.
	first := t.Subnets[0]
	t.NATGateways = []vpc.NATGateway{{ID: "nat-1", Subnet: first.ID, ENI: "eni-nat1", PrivateIP: netip.AddrFrom4([4]byte{10, 0, 1, 100}),
		ElasticIP: "eipalloc-nat1", PortPolicy: "sequential"}}
	t.ElasticIPs = []vpc.ElasticIP{{ID: "eipalloc-nat1", PublicIP: NATIP, ENI: "eni-nat1", PrivateIP: netip.AddrFrom4([4]byte{10, 0, 1, 100})}}
	if nv >= 2 {
		state := "active"
		if r.IntN(5) == 0 {
			state = "pending-acceptance"
		}
		t.Peerings = []vpc.Peering{{ID: "pcx-1", Requester: "vpc-1", Accepter: "vpc-2", State: state}}
	}
	t.Internet = []vpc.InternetHost{
		{Name: "S", IP: HostS, OS: "linux", Services: services()},
		{Name: "X", IP: HostX, OS: "linux", Services: services()},
		{Name: "T", IP: HostT, OS: "linux", Services: services()},
	}
	randRouteTables(r, t)
	// Completed as Parse completes a file (the evaluator reads completed
	// topologies only): subnets' NACLs, route states, rule ids.
	if err := vpc.Validate(t); err != nil {
		panic(fmt.Sprintf("RandRoutedTopology drew an invalid topology: %v", err))
	}
	return t
}

// randRouteTables gives each VPC its main table and up to three more, with
// overlapping random routes, and associates subnets at random.
func randRouteTables(r *rand.Rand, t *vpc.Topology) {
	for v := range t.VPCs {
		vp := &t.VPCs[v]
		igw := ""
		for _, g := range t.InternetGateways {
			if g.VPC == vp.ID {
				igw = g.ID
			}
		}
		var targets []vpc.RouteTarget
		if igw != "" {
			targets = append(targets, vpc.RouteTarget{Kind: vpc.TargetIGW, ID: igw}, vpc.RouteTarget{Kind: vpc.TargetIGW, ID: igw})
		}
		if v == 0 {
			targets = append(targets, vpc.RouteTarget{Kind: vpc.TargetNAT, ID: "nat-1"}, vpc.RouteTarget{Kind: vpc.TargetNAT, ID: "nat-1"})
		}
		for _, pc := range t.Peerings {
			if pc.Requester == vp.ID || pc.Accepter == vp.ID {
				targets = append(targets, vpc.RouteTarget{Kind: vpc.TargetPeering, ID: pc.ID}, vpc.RouteTarget{Kind: vpc.TargetPeering, ID: pc.ID})
			}
		}
		dests := []string{"0.0.0.0/0", "0.0.0.0/0", "203.0.113.0/24", "203.0.113.80/32", "198.51.100.0/24", "198.51.100.0/25", "192.0.2.0/24"}
		for o := range t.VPCs {
			if o != v {
				c := t.VPCs[o].CIDR
				dests = append(dests, c.String(), netip.PrefixFrom(c.Addr(), 20).String(), netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(o), 1, 0}), 24).String())
			}
		}
		local := vpc.Route{Dest: vp.CIDR, Target: vpc.RouteTarget{Kind: vpc.TargetLocal}}
		n := 1 + r.IntN(4)
		var ids []string
		for k := range n {
			rt := vpc.RouteTable{ID: vp.MainTable, VPC: vp.ID, Main: true, Routes: []vpc.Route{local}}
			if k > 0 {
				rt = vpc.RouteTable{ID: fmt.Sprintf("rtb-%d%c", v+1, 'a'+k-1), VPC: vp.ID, Routes: []vpc.Route{local}}
			}
			used := map[string]bool{}
			for range r.IntN(5) {
				d := dests[r.IntN(len(dests))]
				if used[d] {
					continue
				}
				used[d] = true
				route := vpc.Route{Dest: netip.MustParsePrefix(d)}
				switch {
				case r.IntN(7) == 0 || len(targets) == 0:
					route.Blackhole = true // a route whose target was deleted
					route.Target = vpc.RouteTarget{Kind: vpc.TargetNAT, ID: "nat-gone"}
				default:
					route.Target = targets[r.IntN(len(targets))]
				}
				rt.Routes = append(rt.Routes, route)
			}
			t.RouteTables = append(t.RouteTables, rt)
			ids = append(ids, rt.ID)
		}
		for i := range t.Subnets {
			if sn := &t.Subnets[i]; sn.VPC == vp.ID && r.IntN(4) > 0 {
				if id := ids[r.IntN(len(ids))]; id != vp.MainTable {
					sn.RouteTable = id
				}
			}
		}
	}
	// The NAT gateway's subnet usually routes to the internet gateway, as
	// a public NAT gateway's must (NGW-1).
	if r.IntN(5) > 0 {
		for i := range t.Subnets {
			if t.Subnets[i].ID != t.NATGateways[0].Subnet {
				continue
			}
			id := t.Subnets[i].RouteTable
			if id == "" {
				id = t.VPCs[0].MainTable
			}
			for j := range t.RouteTables {
				if rt := &t.RouteTables[j]; rt.ID == id {
					rt.Routes = slices.DeleteFunc(rt.Routes, func(r vpc.Route) bool { return r.Dest.Bits() == 0 })
					rt.Routes = append(rt.Routes, vpc.Route{Dest: netip.MustParsePrefix("0.0.0.0/0"), Target: vpc.RouteTarget{Kind: vpc.TargetIGW, ID: "igw-1"}})
				}
			}
		}
	}
}

// Flow is a flow's first packet as its client puts it on the wire: TCP SYN
// to FlowTCPPort or FlowTCPPort2, a UDP datagram to FlowUDPPort, or an ICMP
// echo request (ports 0).
type Flow struct {
	Src, Dst         netip.Addr
	Protocol         int
	SrcPort, DstPort int
	ICMPID           int // echo identifier
}

// RandFlow draws a flow of t: from an instance or an internet host to an
// instance's private or public address, the NAT gateway's EIP or an
// internet host; source ports from 32768, one per draw of n.
func RandFlow(r *rand.Rand, t *vpc.Topology, n int) Flow {
	var srcs, dsts []netip.Addr
	for _, in := range t.Instances {
		srcs = append(srcs, in.PrivateIP)
		dsts = append(dsts, in.PrivateIP)
		if in.PublicIP.IsValid() {
			dsts = append(dsts, in.PublicIP)
		}
	}
	hosts := []netip.Addr{HostS, HostX, HostT}
	for range 2 { // weight: instances send more often than hosts
		srcs = append(srcs, srcs...)
	}
	srcs = append(srcs, hosts...)
	dsts = append(dsts, hosts...)
	dsts = append(dsts, hosts...)
	dsts = append(dsts, NATIP)
	f := Flow{Src: srcs[r.IntN(len(srcs))]}
	own := map[netip.Addr]bool{f.Src: true} // never the sender itself, by any of its addresses
	for _, in := range t.Instances {
		if in.PrivateIP == f.Src && in.PublicIP.IsValid() {
			own[in.PublicIP] = true
		}
	}
	for {
		f.Dst = dsts[r.IntN(len(dsts))]
		if !own[f.Dst] {
			break
		}
	}
	switch r.IntN(6) {
	case 0, 1, 2:
		f.Protocol, f.DstPort = vpc.ProtoTCP, FlowTCPPort
	case 3:
		f.Protocol, f.DstPort = vpc.ProtoTCP, FlowTCPPort2
	case 4:
		f.Protocol, f.DstPort = vpc.ProtoUDP, FlowUDPPort
	default:
		f.Protocol = vpc.ProtoICMP
	}
	if f.Protocol != vpc.ProtoICMP {
		f.SrcPort = 32768 + n%28000
	} else {
		f.ICMPID = 1 + n%65535
	}
	return f
}
