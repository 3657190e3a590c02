package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Endpoint is one end of a path: an instance (one of its ENIs), a NAT
// gateway, or a host on the internet (declared in the topology or just an
// address).
type Endpoint struct {
	Name     string            // instance id, NAT gateway id, host name, or the address for an undeclared host
	Instance *vpc.Instance     // nil unless an instance
	ENI      *vpc.ENI          // the instance's ENI meant (nil: its primary)
	NAT      *vpc.NATGateway   // non-nil for a NAT gateway
	Host     *vpc.InternetHost // nil for an instance or an undeclared host
	Addr     netip.Addr        // the address given, if an address was given
	OS       string            // OS profile (ephemeral ports)
}

// IsInstance reports whether the endpoint is an instance of a VPC.
func (e Endpoint) IsInstance() bool { return e.Instance != nil }

func eniEndpoint(e *eniRef, a netip.Addr) Endpoint {
	if e.NGW != nil {
		return Endpoint{Name: e.NGW.ID, NAT: e.NGW, Addr: a, OS: "nat-gateway"}
	}
	ep := Endpoint{Name: e.Inst.ID, Instance: e.Inst, Addr: a, OS: e.Inst.OS}
	if e.ENI != &e.Inst.ENI {
		ep.ENI = e.ENI
	}
	return ep
}

// ResolveEndpoint finds what s names in t: an instance id or ENI id (a
// secondary ENI included), a NAT gateway id, an internet host's name, or an
// address (an ENI's private, secondary or IPv6 address, a public or Elastic
// IP, a host's address, or any address outside the VPCs, which is an
// undeclared internet host).
func ResolveEndpoint(t *vpc.Topology, s string) (Endpoint, error) {
	return resolveEndpoint(newView(t), s)
}

func resolveEndpoint(v *view, s string) (Endpoint, error) {
	t := v.t
	if e := v.byID[s]; e != nil {
		ep := eniEndpoint(e, netip.Addr{})
		if ep.ENI != nil || ep.NAT != nil {
			ep.Addr = e.Primary
		}
		return ep, nil
	}
	if h := t.Host(s); h != nil {
		return Endpoint{Name: h.Name, Host: h, OS: h.OS}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("resolve %q: not an instance id, ENI id, NAT gateway id, internet host name or IP address of topology %q", s, t.Name)
	}
	a = a.Unmap()
	if e := v.eniOwning(a); e != nil {
		return eniEndpoint(e, a), nil
	}
	if ps, ok := v.pub[a]; ok {
		return eniEndpoint(ps.eni, a), nil
	}
	for i := range t.Internet {
		h := &t.Internet[i]
		if h.IP == a || (h.IPv6.IsValid() && h.IPv6 == a) {
			return Endpoint{Name: h.Name, Host: h, Addr: a, OS: h.OS}, nil
		}
	}
	if v.reservedService(a) {
		return Endpoint{Name: a.String(), Addr: a}, nil
	}
	if v.vpcOfAddr(a) != nil {
		return Endpoint{}, fmt.Errorf("resolve %q: no instance of topology %q has this address", s, t.Name)
	}
	return Endpoint{Name: a.String(), Addr: a, OS: "linux"}, nil
}

// ReservedService reports whether a is an address whose traffic neither SGs
// nor NACLs filter and flow logs never record (SG-45, NACL-10, FL-7): the
// Amazon DNS server (each VPC's base+2, 169.254.169.253, fd00:ec2::253), instance
// metadata (169.254.169.254, fd00:ec2::254), Time Sync (169.254.169.123,
// fd00:ec2::123), the rest of link-local 169.254.0.0/16, and the reserved
// router addresses of each subnet (.1 .. .3).
func ReservedService(t *vpc.Topology, a netip.Addr) bool {
	a = a.Unmap()
	if reservedRange(a) {
		return true
	}
	for i := range t.VPCs {
		if a == vpcDNS(&t.VPCs[i]) {
			return true
		}
	}
	for i := range t.Subnets {
		for _, p := range [2]netip.Prefix{t.Subnets[i].CIDR, t.Subnets[i].IPv6CIDR} {
			if p.IsValid() && p.Contains(a) {
				if r := subnetReserved(p); slices.Contains(r[:], a) {
					return true
				}
			}
		}
	}
	return false
}

// reservedRange reports whether a is in one of the blocks ReservedService
// exempts whole: link-local and the AWS services' IPv6 block.
func reservedRange(a netip.Addr) bool {
	if a.Is4() {
		return linkLocal4.Contains(a)
	}
	return a.IsLinkLocalUnicast() || awsServices6.Contains(a)
}

// eachRouterAddr calls f with each address ReservedService exempts one by
// one: each VPC's DNS server and every subnet's reserved addresses.
func eachRouterAddr(t *vpc.Topology, f func(netip.Addr)) {
	for i := range t.VPCs {
		if a := vpcDNS(&t.VPCs[i]); a.IsValid() {
			f(a)
		}
	}
	for i := range t.Subnets {
		for _, p := range [2]netip.Prefix{t.Subnets[i].CIDR, t.Subnets[i].IPv6CIDR} {
			if !p.IsValid() {
				continue
			}
			for _, a := range subnetReserved(p) {
				if p.Contains(a) {
					f(a)
				}
			}
		}
	}
}

var (
	linkLocal4   = netip.MustParsePrefix("169.254.0.0/16")
	awsServices6 = netip.MustParsePrefix("fd00:ec2::/32")
)

// vpcDNS is the Amazon DNS server's address in vp: its primary block's
// base+2 (invalid without a block).
func vpcDNS(vp *vpc.VPC) netip.Addr {
	if !vp.CIDR.IsValid() {
		return netip.Addr{}
	}
	return nthAddr(vp.CIDR.Masked().Addr(), 2)
}

// subnetReserved are the addresses of a subnet block the VPC router keeps
// for itself: base+1 (router), +2 (DNS), +3 (future use).
func subnetReserved(p netip.Prefix) [3]netip.Addr {
	a := p.Masked().Addr().Next()
	return [3]netip.Addr{a, a.Next(), a.Next().Next()}
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
	HopSecurityGroup     HopKind = "security-group"
	HopNetworkACL        HopKind = "network-acl"
	HopInternetGateway   HopKind = "internet-gateway"
	HopEgressOnlyGateway HopKind = "egress-only-internet-gateway"
	HopRoute             HopKind = "route-table"
	HopNATGateway        HopKind = "nat-gateway"
	HopPeering           HopKind = "vpc-peering-connection"
	HopEndpoint          HopKind = "vpc-endpoint"      // a gateway VPC endpoint
	HopENI               HopKind = "network-interface" // ENI-5, and forwarding by an intermediate ENI
	HopSubnet            HopKind = "subnet"            // delivery to an address no ENI holds
	HopReserved          HopKind = "reserved-service"  // SG-45: not filtered
)

// Hop is one component on a packet's path and what it decided.
//
// Egress is the direction of the crossing: for an SG or ENI hop leaving the
// instance, for a NACL leaving the subnet, for a route table a packet leaving
// a subnet (false: a gateway's lookup for a packet entering the VPC, EIP-6),
// for an internet or egress-only gateway leaving the VPC, for a NAT gateway a
// client's packet towards the far end (false: the far end's packets), for a
// peering always true (leaving the sender's VPC), for an endpoint towards the
// service.
type Hop struct {
	Kind     HopKind
	Egress   bool
	ID       string        // the component: SG and ENI hops the ENI id, else the ACL, route table, gateway, NAT gateway, peering, endpoint or subnet id
	VPC      string        // the VPC the component belongs to
	Instance *vpc.Instance // SG and ENI hops: the ENI's instance (nil for a NAT gateway's ENI)
	Subnet   *vpc.Subnet   // NACL and route hops
	ACL      *vpc.NetworkACL
	In       Packet // the packet as it reaches the component
	Out      Packet // as it leaves (differs where an address is translated)
	Allow    bool
	NACL     NACLResult     // network-acl hops
	SG       SGVerdict      // security-group hops
	Route    *RouteDecision // route-table hops: the table and the route that decided
	Code     string         // explanation code when !Allow
	// Qualifiers are RA-9's additional details: a drop that a translation
	// upstream caused (NGW_SOURCE_ADDRESS_REASSIGN, NGW_DEST_ADDRESS_PRESERVATION,
	// REMAP_EPHEMERAL_PORT), SG_REFERENCES_NOT_PRESERVED after a forwarder.
	Qualifiers []string
	Detail     string // what the code alone does not say (e.g. "idle timeout: RST sent")
}

// Path is the fate of one packet from sender to receiver.
type Path struct {
	From, To  Endpoint
	Hops      []Hop
	Delivered bool   // reached the receiver
	Code      string // why not, when it was not
	// Responses are packets the network itself sent because of this one,
	// each walked to its receiver: a NAT gateway's RST after its idle
	// timeout (NGW-11).
	Responses []Path

	obs []flowObs // flow-log observations, in order (PATH-16)
}

// flowObs is what one ENI's flow log sees of the packet (FL-20..22,
// PATH-16, PATH-17).
type flowObs struct {
	eni         *eniRef
	egress      bool
	accept      bool
	p           Packet
	trafficPath int // egress: FL-16 code; 0 = '-'
}

// PathModel walks packets through a topology's components, keeping the
// state earlier packets left: each ENI's connection tracking (PATH-1..8),
// NAT gateway mappings (NGW-5..11) and egress-only gateway flows (EIP-13).
// Time is an argument, so tests drive it with a fake clock. Changes to T
// apply from the next packet (RT-12, NACL-9), SG changes after
// CT.SetTopology (SG-27, SG-28).
type PathModel struct {
	T    *vpc.Topology
	CT   *Conntrack
	NAT  *NATTable
	EIGW *EIGWTable
	// Static promises that T is not edited while the model is used, so
	// the topology's lookup tables are built once instead of for every
	// packet (callers that walk many flows over one topology).
	Static bool

	view   *view
	viewOf *vpc.Topology
}

// lookups returns the lookup tables of m.T: fresh for every packet, or
// built once when m.Static.
func (m *PathModel) lookups() *view {
	if !m.Static {
		return newView(m.T)
	}
	if m.view == nil || m.viewOf != m.T {
		m.view, m.viewOf = newView(m.T), m.T
	}
	return m.view
}

// NewPathModel starts a path model with empty state.
func NewPathModel(t *vpc.Topology) *PathModel {
	v := newView(t)
	sg := newSGEvaluator(v)
	return &PathModel{T: t, CT: newConntrack(t, sg, newCTConfig(v, sg)), NAT: NewNATTable(), EIGW: NewEIGWTable()}
}

// SenderOf finds the endpoint that sends a packet with source address a:
// the instance (or NAT gateway) owning it as a private, secondary or IPv6
// address, else an internet host (declared or not).
func SenderOf(t *vpc.Topology, a netip.Addr) Endpoint {
	return senderOf(newView(t), a)
}

func senderOf(v *view, a netip.Addr) Endpoint {
	a = a.Unmap()
	if e := v.eniOwning(a); e != nil {
		return eniEndpoint(e, a)
	}
	if h := v.t.HostByIP(a); h != nil {
		return Endpoint{Name: h.Name, Host: h, Addr: a, OS: h.OS}
	}
	return Endpoint{Name: a.String(), Addr: a, OS: "linux"}
}

// receiverOf is the endpoint a packet to a is meant for, seen from the
// sender's VPC: an ENI's private address there (else in any VPC), a public
// IP, an internet host or just the address.
func receiverOf(v *view, from *eniRef, a netip.Addr) Endpoint {
	a = a.Unmap()
	var e *eniRef
	if from != nil {
		e = v.eniAt(from.VPC, a)
	}
	if e == nil {
		e = v.eniOwning(a)
	}
	if e == nil {
		if ps, ok := v.pub[a]; ok {
			e = ps.eni
		}
	}
	if e != nil {
		return eniEndpoint(e, a)
	}
	if v.vpcOfAddr(a) != nil {
		return Endpoint{Name: a.String(), Addr: a}
	}
	return senderOf(v, a)
}

// Send walks p, as its sender puts it on the wire (source = the sender's
// own address, destination = the address it targets), at time now. The
// sender is the ENI owning the source address, else the internet.
//
// The walk follows aws-routing.md §8 (PATH-10..PATH-17), which extends
// PATH-1..PATH-8: at the sending ENI source/destination check, SG outbound,
// layer-2 delivery inside the subnet, else the subnet's NACL outbound and
// its route table; then the route's target (local delivery, internet or
// egress-only gateway, NAT gateway, peering, ENI, gateway endpoint); at the
// receiving ENI its subnet's NACL inbound (when the packet crossed into the
// subnet), source/destination check, SG inbound. An ENI with the check off
// that receives a packet for someone else forwards it (PATH-14). The first
// drop ends the walk.
func (m *PathModel) Send(now time.Duration, p Packet) Path {
	var out Path
	m.SendInto(&out, now, p)
	return out
}

// SendInto is Send writing the path into *out and reusing its storage
// (hops, responses, flow-log observations): a caller that walks packet
// after packet allocates no path once the buffers have grown. What *out
// held is overwritten; Path.Clone keeps a copy.
func (m *PathModel) SendInto(out *Path, now time.Duration, p Packet) {
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	v := m.lookups()
	var from *eniRef
	if e := v.eniOwning(p.Src); e != nil {
		from = e
	}
	m.walk(out, now, v, from, p)
}

// Reset forgets every packet walked so far: connection tracking, NAT
// gateway mappings and counters, egress-only gateway flows are as
// NewPathModel starts them.
func (m *PathModel) Reset() {
	m.CT.reset()
	m.NAT.reset()
	m.EIGW.reset()
}

// SendFrom walks p as the ENI eni (an ENI id, or an instance id for its
// primary ENI) puts it on the wire, whatever its source address: a packet
// an appliance forwards, or one ENI-5 drops.
func (m *PathModel) SendFrom(now time.Duration, eni string, p Packet) (Path, error) {
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	v := m.lookups()
	e := v.byID[eni]
	if e == nil {
		return Path{}, fmt.Errorf("send from %q: no ENI or instance of topology %q has this id", eni, m.T.Name)
	}
	var out Path
	m.walk(&out, now, v, e, p)
	return out, nil
}

func (m *PathModel) walk(out *Path, now time.Duration, v *view, from *eniRef, p Packet) {
	out.Reset()
	if out.Hops == nil {
		// Most paths have five hops or fewer (SG, NACL, gateway, NACL,
		// SG): one allocation instead of growing the slice hop by hop.
		out.Hops = make([]Hop, 0, 5)
	}
	w := walker{m: m, v: v, now: now, path: out, budget: maxForwards}
	if from != nil {
		w.path.From = eniEndpoint(from, p.Src)
	} else {
		w.path.From = senderOf(v, p.Src)
	}
	w.path.To = receiverOf(v, from, p.Dst)
	switch {
	case from != nil && from.Inst != nil && v.reservedService(p.Dst):
		w.path.To = Endpoint{Name: p.Dst.String(), Addr: p.Dst}
		w.add(Hop{Kind: HopReserved, In: p, Out: p, Allow: true})
		w.path.Delivered = true
	case from != nil:
		w.fromENI(from, p)
	default:
		w.fromInternet(p)
	}
}

// Reset empties p (a Path{}) but keeps its storage for SendInto.
func (p *Path) Reset() {
	*p = Path{Hops: p.Hops[:0], Responses: p.Responses[:0], obs: p.obs[:0]}
}

// Clone is a copy of p that shares no storage SendInto reuses.
func (p Path) Clone() Path {
	p.Hops = slices.Clone(p.Hops)
	p.obs = slices.Clone(p.obs)
	if p.Responses != nil {
		rs := make([]Path, len(p.Responses))
		for i := range rs {
			rs[i] = p.Responses[i].Clone()
		}
		p.Responses = rs
	}
	return p
}

// DropPoint names where a packet was dropped in a form engines can produce
// and compare (RA-7, RA-8): the component (nacl, sg, route, igw, eigw, ngw,
// pcx, vpce, eni, subnet), its id (the ENI for sg and eni), the direction
// ("outbound" or "inbound", Hop.Egress) and the explanation code.
type DropPoint struct {
	Component, ID, Direction, Code string
}

// String is "component:id:direction:code", or "" for no drop.
func (d DropPoint) String() string {
	if d == (DropPoint{}) {
		return ""
	}
	return d.Component + ":" + d.ID + ":" + d.Direction + ":" + d.Code
}

// DropComponent is the RA-7/RA-8 component name of a hop kind.
func DropComponent(k HopKind) string {
	switch k {
	case HopSecurityGroup:
		return "sg"
	case HopNetworkACL:
		return "nacl"
	case HopRoute:
		return "route"
	case HopInternetGateway:
		return "igw"
	case HopEgressOnlyGateway:
		return "eigw"
	case HopNATGateway:
		return "ngw"
	case HopPeering:
		return "pcx"
	case HopEndpoint:
		return "vpce"
	case HopENI:
		return "eni"
	}
	return string(k)
}

// DropPoint is where the packet was dropped; the zero value when it was
// delivered.
func (p *Path) DropPoint() DropPoint {
	h := p.Blocked()
	if h == nil {
		return DropPoint{}
	}
	dir := "inbound"
	if h.Egress {
		dir = "outbound"
	}
	return DropPoint{Component: DropComponent(h.Kind), ID: h.ID, Direction: dir, Code: h.Code}
}

// Fate is "delivered" or the drop point's string: the first packet's fate
// the differential tests compare.
func (p *Path) Fate() string {
	if p.Delivered {
		return "delivered"
	}
	return p.DropPoint().String()
}

func naclCode(r NACLResult) string {
	if r.Allow {
		return ""
	}
	return CodeSubnetACLRestriction
}

// Final is the packet as it arrives at the receiver (or the last hop).
func (p Path) Final() Packet {
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
