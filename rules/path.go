package rules

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Endpoint is one end of a path: an instance of the VPC or a host on the
// internet (declared in the topology or just an address).
type Endpoint struct {
	Name     string            // instance id, host name, or the address for an undeclared host
	Instance *vpc.Instance     // nil for an internet host
	Host     *vpc.InternetHost // nil for an instance or an undeclared host
	Addr     netip.Addr        // the address given, if an address was given
	OS       string            // OS profile (ephemeral ports)
}

// IsInstance reports whether the endpoint is an instance of the VPC.
func (e Endpoint) IsInstance() bool { return e.Instance != nil }

// ResolveEndpoint finds what s names in t: an instance id or ENI id, an
// internet host's name, or an address (an instance's private, IPv6 or
// public address, a host's address, or any address outside the VPC, which
// is an undeclared internet host).
func ResolveEndpoint(t *vpc.Topology, s string) (Endpoint, error) {
	if in := findInstance(t, s); in != nil {
		return Endpoint{Name: in.ID, Instance: in, OS: in.OS}, nil
	}
	if h := t.Host(s); h != nil {
		return Endpoint{Name: h.Name, Host: h, OS: h.OS}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve %q: not an instance id, ENI id, internet host name or IP address of topology %q", s, t.Name)
	}
	a = a.Unmap()
	if in := instanceByAddr(t, a); in != nil {
		return Endpoint{Name: in.ID, Instance: in, Addr: a, OS: in.OS}, nil
	}
	if in := instanceByPublicIP(t, a); in != nil {
		return Endpoint{Name: in.ID, Instance: in, Addr: a, OS: in.OS}, nil
	}
	for i := range t.Internet {
		h := &t.Internet[i]
		if h.IP == a || (h.IPv6.IsValid() && h.IPv6 == a) {
			return Endpoint{Name: h.Name, Host: h, Addr: a, OS: h.OS}, nil
		}
	}
	if ReservedService(t, a) {
		return Endpoint{Name: a.String(), Addr: a}, nil
	}
	if inVPC(t, a) {
		return Endpoint{}, fmt.Errorf("resolve %q: no instance of topology %q has this address", s, t.Name)
	}
	return Endpoint{Name: a.String(), Addr: a, OS: "linux"}, nil
}

func inVPC(t *vpc.Topology, a netip.Addr) bool {
	return t.VPCs[0].CIDR.Contains(a) || (t.VPCs[0].IPv6CIDR.IsValid() && t.VPCs[0].IPv6CIDR.Contains(a))
}

// ReservedService reports whether a is an address whose traffic neither SGs
// nor NACLs filter and flow logs never record (SG-45, NACL-10, FL-7): the
// Amazon DNS server (VPC base+2, 169.254.169.253, fd00:ec2::253), instance
// metadata (169.254.169.254, fd00:ec2::254), Time Sync (169.254.169.123,
// fd00:ec2::123), the rest of link-local 169.254.0.0/16, and the reserved
// router addresses of each subnet (.1 .. .3).
func ReservedService(t *vpc.Topology, a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() && netip.MustParsePrefix("169.254.0.0/16").Contains(a) {
		return true
	}
	if a.Is6() && (a.IsLinkLocalUnicast() || netip.MustParsePrefix("fd00:ec2::/32").Contains(a)) {
		return true
	}
	if t.VPCs[0].CIDR.IsValid() && a == nthAddr(t.VPCs[0].CIDR.Masked().Addr(), 2) {
		return true
	}
	for i := range t.Subnets {
		for _, p := range []netip.Prefix{t.Subnets[i].CIDR, t.Subnets[i].IPv6CIDR} {
			if !p.IsValid() {
				continue
			}
			base := p.Masked().Addr()
			for n := 1; n <= 3; n++ {
				if a == nthAddr(base, n) {
					return true
				}
			}
		}
	}
	return false
}

func nthAddr(a netip.Addr, n int) netip.Addr {
	for range n {
		a = a.Next()
	}
	return a
}

// HopKind is the kind of component a packet meets on its path.
type HopKind string

// Hop kinds, in Reachability Analyzer's component vocabulary.
const (
	HopSecurityGroup   HopKind = "security-group"
	HopNetworkACL      HopKind = "network-acl"
	HopInternetGateway HopKind = "internet-gateway"
	HopRoute           HopKind = "route-table"
	HopReserved        HopKind = "reserved-service" // SG-45: not filtered
)

// Hop is one component on a packet's path and what it decided.
type Hop struct {
	Kind     HopKind
	Egress   bool          // leaving the ENI/subnet (outbound) or entering it
	Instance *vpc.Instance // security-group hops: whose ENI
	Subnet   *vpc.Subnet   // NACL and route hops
	ACL      *vpc.NetworkACL
	In       Packet // the packet as it reaches the component
	Out      Packet // as it leaves (differs at the internet gateway's NAT)
	Allow    bool
	NACL     NACLResult // network-acl hops
	SG       SGVerdict  // security-group hops
	Code     string     // explanation code when !Allow
}

// Path is the fate of one packet from sender to receiver.
type Path struct {
	From, To  Endpoint
	Hops      []Hop
	Delivered bool   // reached the receiver
	Code      string // why not, when it was not
}

// PathModel walks packets through a topology's components with one
// connection-tracking table, so that a sequence of packets (a request, its
// reply, ...) sees the state the earlier ones left (PATH-1..PATH-8).
type PathModel struct {
	T  *vpc.Topology
	CT *Conntrack
}

// NewPathModel starts a path model with empty connection tracking.
func NewPathModel(t *vpc.Topology) *PathModel {
	return &PathModel{T: t, CT: NewConntrack(t, NewSGEvaluator(t))}
}

// SenderOf finds the endpoint that sends a packet with source address a:
// the instance owning it as a private or IPv6 address, else an internet
// host (declared or not).
func SenderOf(t *vpc.Topology, a netip.Addr) Endpoint {
	a = a.Unmap()
	if in := instanceByAddr(t, a); in != nil {
		return Endpoint{Name: in.ID, Instance: in, Addr: a, OS: in.OS}
	}
	for i := range t.Internet {
		h := &t.Internet[i]
		if h.IP == a || (h.IPv6.IsValid() && h.IPv6 == a) {
			return Endpoint{Name: h.Name, Host: h, Addr: a, OS: h.OS}
		}
	}
	return Endpoint{Name: a.String(), Addr: a, OS: "linux"}
}

// Send walks p, as its sender puts it on the wire (source = the sender's
// own address, destination = the address it targets), at time now.
//
// Order (PATH-1, PATH-3, PATH-5): sender's SG outbound, then its subnet's
// NACL outbound if the packet leaves the subnet, the internet gateway
// (1:1 NAT between private and public IPv4; IPv6 passes unchanged), then
// the receiver's NACL inbound if it enters from another subnet, then the
// receiver's SG inbound. Same-subnet traffic meets no NACL (PATH-4,
// NACL-8); SG-45 destinations meet nothing (PATH-6). The first deny ends
// the walk.
func (m *PathModel) Send(now time.Duration, p Packet) Path {
	t := m.T
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	from := SenderOf(t, p.Src)
	path := Path{From: from}
	add := func(h Hop) bool {
		path.Hops = append(path.Hops, h)
		if !h.Allow {
			path.Code = h.Code
		}
		return h.Allow
	}
	if from.IsInstance() && ReservedService(t, p.Dst) {
		path.To = Endpoint{Name: p.Dst.String(), Addr: p.Dst}
		add(Hop{Kind: HopReserved, In: p, Out: p, Allow: true})
		path.Delivered = true
		return path
	}
	var viaIGWIn bool // the packet reaches the VPC through the internet gateway
	var dstInst *vpc.Instance
	if in := instanceByAddr(t, p.Dst); in != nil {
		dstInst = in
		if !from.IsInstance() {
			viaIGWIn = true
		}
	} else if in := instanceByPublicIP(t, p.Dst); in != nil {
		dstInst, viaIGWIn = in, true
	}
	if dstInst != nil {
		path.To = Endpoint{Name: dstInst.ID, Instance: dstInst, Addr: p.Dst, OS: dstInst.OS}
	} else {
		path.To = SenderOf(t, p.Dst)
		if inVPC(t, p.Dst) {
			path.To = Endpoint{Name: p.Dst.String(), Addr: p.Dst}
		}
	}
	if !from.IsInstance() && dstInst == nil {
		add(Hop{Kind: HopRoute, In: p, Out: p, Code: CodeNoRouteToDestination})
		return path
	}
	cur := p
	if from.IsInstance() {
		src := from.Instance
		sn := t.Subnet(src.Subnet)
		v := m.CT.Process(now, src.ID, true, cur)
		if !add(Hop{Kind: HopSecurityGroup, Egress: true, Instance: src, In: cur, Out: cur, Allow: v.Allow, SG: v, Code: v.Reason}) {
			return path
		}
		sameSubnet := dstInst != nil && !viaIGWIn && dstInst.Subnet == src.Subnet
		if !sameSubnet {
			acl := subnetNACL(t, sn)
			r := EvalNACL(acl, true, cur)
			if !add(Hop{Kind: HopNetworkACL, Egress: true, Subnet: sn, ACL: acl, In: cur, Out: cur, Allow: r.Allow, NACL: r, Code: naclCode(r)}) {
				return path
			}
		}
		if dstInst == nil || viaIGWIn {
			// Out through the internet gateway.
			out := cur
			switch {
			case sn == nil || !sn.Public:
				add(Hop{Kind: HopRoute, Egress: true, Subnet: sn, In: cur, Out: cur, Code: CodeNoRouteToDestination})
				return path
			case cur.Src.Is4() && !src.PublicIP.IsValid():
				add(Hop{Kind: HopInternetGateway, Egress: true, Subnet: sn, In: cur, Out: cur, Code: CodeNoRouteToDestination})
				return path
			case cur.Src.Is4():
				out.Src = src.PublicIP
			}
			add(Hop{Kind: HopInternetGateway, Egress: true, Subnet: sn, In: cur, Out: out, Allow: true})
			cur = out
		}
	}
	if dstInst == nil {
		path.Delivered = true
		return path
	}
	dsn := t.Subnet(dstInst.Subnet)
	if viaIGWIn {
		in := cur
		switch {
		case dsn == nil || !dsn.Public:
			add(Hop{Kind: HopRoute, Subnet: dsn, In: cur, Out: cur, Code: CodeNoRouteToDestination})
			return path
		case cur.Dst.Is4() && cur.Dst != dstInst.PublicIP:
			// The internet has no route to a private address.
			add(Hop{Kind: HopInternetGateway, Subnet: dsn, In: cur, Out: cur, Code: CodeNoRouteToDestination})
			return path
		case cur.Dst.Is4():
			in.Dst = dstInst.PrivateIP
		}
		add(Hop{Kind: HopInternetGateway, Subnet: dsn, In: cur, Out: in, Allow: true})
		cur = in
	}
	if viaIGWIn || !from.IsInstance() || dstInst.Subnet != from.Instance.Subnet {
		acl := subnetNACL(t, dsn)
		r := EvalNACL(acl, false, cur)
		if !add(Hop{Kind: HopNetworkACL, Subnet: dsn, ACL: acl, In: cur, Out: cur, Allow: r.Allow, NACL: r, Code: naclCode(r)}) {
			return path
		}
	}
	v := m.CT.Process(now, dstInst.ID, false, cur)
	if !add(Hop{Kind: HopSecurityGroup, Instance: dstInst, In: cur, Out: cur, Allow: v.Allow, SG: v, Code: v.Reason}) {
		return path
	}
	path.Delivered = true
	return path
}

func naclCode(r NACLResult) string {
	if r.Allow {
		return ""
	}
	return CodeSubnetACLRestriction
}

// Final is the packet as it arrives at the receiver (or the last hop).
func (p *Path) Final() Packet {
	if len(p.Hops) == 0 {
		return Packet{}
	}
	return p.Hops[len(p.Hops)-1].Out
}

// Blocked is the hop that dropped the packet, or nil.
func (p *Path) Blocked() *Hop {
	for i := range p.Hops {
		if !p.Hops[i].Allow {
			return &p.Hops[i]
		}
	}
	return nil
}

// Reply builds the response a receiver sends to packet p as it arrived:
// addresses and ports swapped, SYN-ACK for a SYN, an echo reply for an echo
// request. ok is false when the protocol has no response to model (an ICMP
// message other than echo request).
func Reply(p Packet) (r Packet, ok bool) {
	r = p
	r.Src, r.Dst = p.Dst, p.Src
	r.SrcPort, r.DstPort = p.DstPort, p.SrcPort
	switch p.Protocol {
	case vpc.ProtoTCP:
		switch {
		case p.TCPFlags&TCPSyn != 0 && p.TCPFlags&TCPAck == 0:
			r.TCPFlags = TCPSyn | TCPAck
		default:
			r.TCPFlags = TCPAck
		}
	case vpc.ProtoICMP:
		if p.ICMPType != 8 {
			return r, false
		}
		r.ICMPType, r.ICMPCode = 0, 0
	case vpc.ProtoICMPv6:
		if p.ICMPType != 128 {
			return r, false
		}
		r.ICMPType, r.ICMPCode = 129, 0
	}
	return r, true
}
