package rules

import (
	"net/netip"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// maxForwards bounds how often intermediate ENIs may forward one packet: a
// routing loop through appliances ends there (the kernel's TTL would).
const maxForwards = 16

// walker carries one packet through the components (aws-routing.md §8).
type walker struct {
	m      *PathModel
	v      *view
	now    time.Duration
	path   *Path
	budget int
	// forwarded: an intermediate ENI forwarded the packet, so SG rules
	// referencing groups no longer match it (RT-22, PATH-15).
	forwarded bool
	// nat: a NAT gateway translated the packet on this walk (RA-9).
	nat *natNote
}

type natNote struct {
	srcAddr, srcPort bool // forward leg: source address / port rewritten
	toClient         bool // reply leg: destination mapped back to the client
	remapped         int  // the NAT gateway's port
}

// add appends a hop; a denying hop ends the path with its code.
func (w *walker) add(h Hop) bool {
	if !h.Allow {
		h.Qualifiers = append(h.Qualifiers, w.qualifiers(&h)...)
		w.path.Code = h.Code
	}
	w.path.Hops = append(w.path.Hops, h)
	return h.Allow
}

// qualifiers names how a translation upstream made a filter drop the packet
// (RA-9 [INTERP]): a source the NAT gateway reassigned judged by an inbound
// rule, a preserved destination judged by an outbound rule, the remapped
// port judged by a NACL.
func (w *walker) qualifiers(h *Hop) []string {
	if w.nat == nil && h.Kind == HopNetworkACL && !h.Egress && w.m.NAT.mapped(h.In.Protocol, h.In.Dst, h.In.DstPort) {
		// A reply to a NAT gateway's remapped port, before the gateway.
		return []string{QualRemapEphemeralPort}
	}
	if w.nat == nil || (h.Kind != HopNetworkACL && h.Kind != HopSecurityGroup) {
		return nil
	}
	var q []string
	switch {
	case w.nat.srcAddr && !h.Egress:
		q = append(q, QualNGWSourceReassign)
	case w.nat.srcAddr && h.Egress:
		q = append(q, QualNGWDestPreservation)
	}
	if h.Kind == HopNetworkACL && w.nat.remapped != 0 && (h.In.SrcPort == w.nat.remapped || h.In.DstPort == w.nat.remapped) {
		q = append(q, QualRemapEphemeralPort)
	}
	return q
}

func (w *walker) log(e *eniRef, egress, accept bool, p Packet, tp int) {
	w.path.obs = append(w.path.obs, flowObs{eni: e, egress: egress, accept: accept, p: p, trafficPath: tp})
}

func vpcID(vp *vpc.VPC) string {
	if vp == nil {
		return ""
	}
	return vp.ID
}

// trafficPath is FL-16's egress code for a leg the route decided: 1 inside
// the VPC (local, ENI, NAT gateway), 4 peering, 7 gateway endpoint, 8
// internet or egress-only gateway (EIP-7, EIP-14, NGW-14, VPCE-7); '-' (0)
// without a usable route (PATH-17).
func trafficPath(rd *RouteDecision) int {
	if rd == nil || !rd.Found || rd.Blackhole {
		return 0
	}
	switch rd.Route.Target.Kind {
	case vpc.TargetIGW, vpc.TargetEIGW:
		return 8
	case vpc.TargetPeering:
		return 4
	case vpc.TargetEndpoint:
		return 7
	}
	return 1
}

// sameSubnet reports whether e reaches dst at layer 2 (RT-8): dst is in
// e's subnet, or held by an ENI there.
func (w *walker) sameSubnet(e *eniRef, dst netip.Addr) (*eniRef, bool) {
	owner := w.v.eniAt(e.VPC, dst)
	if owner != nil && owner.Subnet == e.Subnet {
		return owner, true
	}
	return nil, inSubnet(e.Subnet, dst)
}

// peekTrafficPath is the traffic-path an egress record would carry had the
// packet gone on (for REJECT records: the filters stopped it first).
func (w *walker) peekTrafficPath(e *eniRef, p Packet) int {
	if _, l2 := w.sameSubnet(e, p.Dst); l2 {
		return 1
	}
	if e.Subnet == nil {
		return 0
	}
	rd := w.v.lookup(w.v.tableOf(e.Subnet), p.Dst)
	return trafficPath(&rd)
}

// sg is the ENI's security groups' verdict with connection tracking
// (Conntrack.Process).
func (w *walker) sg(e *eniRef, egress bool, p Packet, refs bool) SGVerdict {
	if w.v.sgBypass(&p) {
		return SGVerdict{Allow: true, Reason: ReasonBypass}
	}
	return w.m.CT.process(w.now, e.ctID(), egress, p, refs)
}

// fromENI sends p out of ENI e (PATH-10; PATH-11 and PATH-14 for a NAT
// gateway's and an appliance's ENI).
func (w *walker) fromENI(e *eniRef, p Packet) {
	vid := vpcID(e.VPC)
	if e.Inst != nil {
		if !e.checkOff() && !e.owns(p.Src) {
			// ENI-5: nothing is logged for these drops [INTERP, OQ-11].
			w.add(Hop{Kind: HopENI, Egress: true, ID: e.ID, VPC: vid, Instance: e.Inst, In: p, Out: p, Code: CodeSourceDestCheck})
			return
		}
		sv := w.sg(e, true, p, true)
		if !w.add(Hop{Kind: HopSecurityGroup, Egress: true, ID: e.ID, VPC: vid, Instance: e.Inst, Subnet: e.Subnet, In: p, Out: p, Allow: sv.Allow, SG: sv, Code: sv.Reason}) {
			w.log(e, true, false, p, w.peekTrafficPath(e, p))
			return
		}
	}
	if owner, l2 := w.sameSubnet(e, p.Dst); l2 {
		w.log(e, true, true, p, 1)
		if owner == nil {
			w.noENI(e.VPC, e.Subnet, p)
			return
		}
		w.arrive(owner, p, false)
		return
	}
	if e.Subnet == nil {
		w.add(Hop{Kind: HopRoute, Egress: true, ID: rtbID(nil), VPC: vid, In: p, Out: p, Code: CodeNoRouteToDestination})
		return
	}
	acl := w.v.naclOf(e.Subnet)
	r := EvalNACL(acl, true, p)
	if !w.add(Hop{Kind: HopNetworkACL, Egress: true, ID: aclID(acl), VPC: vid, Subnet: e.Subnet, ACL: acl, In: p, Out: p, Allow: r.Allow, NACL: r, Code: naclCode(r)}) {
		w.log(e, true, false, p, w.peekTrafficPath(e, p))
		return
	}
	rt := w.v.tableOf(e.Subnet)
	rd := w.v.lookup(rt, p.Dst)
	h := Hop{Kind: HopRoute, Egress: true, ID: rtbID(rt), VPC: vid, Subnet: e.Subnet, In: p, Out: p, Route: &rd, Allow: true}
	switch {
	case !rd.Found:
		h.Allow, h.Code = false, CodeNoRouteToDestination
	case rd.Blackhole:
		h.Allow, h.Code = false, CodeBadStateRoute
	case e.NGW != nil && rd.Route.Target.Kind == vpc.TargetNAT && rd.Route.Target.ID == e.NGW.ID:
		h.Allow, h.Code, h.Detail = false, CodeNoRouteToDestination, "the NAT gateway's subnet routes the destination back to the NAT gateway (loop, NGW-3)"
	}
	w.log(e, true, true, p, trafficPath(&rd))
	if !w.add(h) {
		return
	}
	w.target(e, &rd, p)
}

// target hands p to the route's target (PATH-10 step 6).
func (w *walker) target(from *eniRef, rd *RouteDecision, p Packet) {
	vp := from.VPC
	id := rd.Route.Target.ID
	switch rd.Route.Target.Kind {
	case vpc.TargetLocal:
		w.local(vp, p)
	case vpc.TargetIGW:
		w.igwOut(id, vp, p)
	case vpc.TargetEIGW:
		w.eigwOut(id, vp, from, p)
	case vpc.TargetNAT, vpc.TargetENI, vpc.TargetInstance:
		w.arrive(w.v.byID[id], p, true)
	case vpc.TargetPeering:
		w.peering(w.v.t.Peering(id), vp, p)
	case vpc.TargetEndpoint:
		w.endpointOut(w.v.t.Endpoint(id), vp, p)
	default:
		w.add(Hop{Kind: HopRoute, Egress: true, ID: rd.Table.ID, VPC: vpcID(vp), In: p, Out: p, Route: rd, Code: CodeBadStateRoute})
	}
}

// noENI drops a packet delivered inside a VPC to an address no ENI holds
// (vpcemu's NO_ENI_AT_ADDRESS: nothing answers ARP).
func (w *walker) noENI(vp *vpc.VPC, sn *vpc.Subnet, p Packet) {
	if sn == nil {
		sn = w.v.subnetOf(vp, p.Dst)
	}
	id := vpcID(vp)
	if sn != nil {
		id = sn.ID
	}
	w.add(Hop{Kind: HopSubnet, ID: id, VPC: vpcID(vp), Subnet: sn, In: p, Out: p, Code: CodeNoENIAtAddress})
}

// local delivers p inside VPC vp to the ENI holding its destination
// (the local route, PCX-7, EIP-3).
func (w *walker) local(vp *vpc.VPC, p Packet) {
	e := w.v.eniAt(vp, p.Dst)
	if e == nil {
		w.noENI(vp, nil, p)
		return
	}
	w.arrive(e, p, true)
}

// arrive brings p to ENI e (PATH-15): its subnet's NACL inbound when the
// packet crossed into the subnet, then a NAT gateway's translation, or
// source/destination check and the SG inbound; an ENI with the check off
// forwards what is not addressed to it (PATH-14).
func (w *walker) arrive(e *eniRef, p Packet, crossed bool) {
	vid := vpcID(e.VPC)
	if crossed {
		acl := w.v.naclOf(e.Subnet)
		r := EvalNACL(acl, false, p)
		if !w.add(Hop{Kind: HopNetworkACL, ID: aclID(acl), VPC: vid, Subnet: e.Subnet, ACL: acl, In: p, Out: p, Allow: r.Allow, NACL: r, Code: naclCode(r)}) {
			w.log(e, false, false, p, 0)
			return
		}
	}
	if e.NGW != nil {
		w.log(e, false, true, p, 0)
		w.atNGW(e, p)
		return
	}
	if !e.checkOff() && !e.owns(p.Dst) {
		w.add(Hop{Kind: HopENI, ID: e.ID, VPC: vid, Instance: e.Inst, In: p, Out: p, Code: CodeSourceDestCheck})
		return
	}
	sv := w.sg(e, false, p, !w.forwarded)
	h := Hop{Kind: HopSecurityGroup, ID: e.ID, VPC: vid, Instance: e.Inst, Subnet: e.Subnet, In: p, Out: p, Allow: sv.Allow, SG: sv, Code: sv.Reason}
	if !sv.Allow && w.forwarded && w.m.CT.sg.match(e.ctID(), false, p, true).Allowed {
		h.Qualifiers = append(h.Qualifiers, QualSGReferencesNotPreserved)
	}
	w.log(e, false, sv.Allow, p, 0)
	if !w.add(h) {
		return
	}
	if e.owns(p.Dst) {
		w.path.To = eniEndpoint(e, p.Dst)
		w.path.Delivered = true
		return
	}
	if w.budget == 0 {
		w.add(Hop{Kind: HopENI, Egress: true, ID: e.ID, VPC: vid, Instance: e.Inst, In: p, Out: p, Code: CodeNoRouteToDestination,
			Detail: "forwarded too often: a routing loop through intermediate ENIs"})
		return
	}
	w.budget--
	w.forwarded = true
	w.fromENI(e, p)
}

// atNGW is the NAT gateway's own processing (NGW-5..NGW-11, PATH-11).
func (w *walker) atNGW(e *eniRef, p Packet) {
	g := e.NGW
	vid := vpcID(e.VPC)
	hop := Hop{Kind: HopNATGateway, ID: g.ID, VPC: vid, In: p, Out: p}
	if p.Dst == e.Primary {
		// From the far end: replies, or unsolicited (NGW-9). A client that
		// targets the NAT gateway itself gets no answer either.
		if e.VPC != nil && e.VPC.Contains(p.Src) {
			hop.Code, hop.Detail = CodeNGWNoMapping, "the NAT gateway does not answer packets addressed to itself (NGW-9)"
			w.m.NAT.st(g.ID).PacketsDropCount++
			w.add(hop)
			return
		}
		r := w.m.NAT.inbound(w.now, w.m.T.Limits, g, p)
		if !r.ok {
			hop.Code = r.code
			w.add(hop)
			return
		}
		hop.Allow, hop.Out = true, r.out
		w.add(hop)
		w.nat = &natNote{toClient: true, remapped: p.DstPort}
		w.fromENI(e, r.out)
		return
	}
	hop.Egress = true
	switch {
	case e.VPC == nil || !e.VPC.Contains(p.Src):
		hop.Code = CodeNGWRequiresSourceInVPC
	case p.Dst.Is6() || (p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP && p.Protocol != vpc.ProtoICMP):
		hop.Code = CodeProtocolRestriction
	case p.Fragment != FragNone && p.Protocol != vpc.ProtoUDP:
		hop.Code, hop.Detail = CodeProtocolRestriction, "fragments are forwarded for UDP only (NGW-8)"
	}
	if hop.Code != "" {
		w.m.NAT.st(g.ID).PacketsDropCount++
		w.add(hop)
		return
	}
	r := w.m.NAT.outbound(w.now, w.m.T.Limits, g, p)
	if !r.ok {
		hop.Code = r.code
		if r.reset {
			hop.Detail = "the connection was idle longer than the NAT gateway's timeout: it answers with a TCP RST (NGW-11)"
		}
		w.add(hop)
		if r.reset {
			rst := Packet{Src: p.Dst, Dst: p.Src, Protocol: vpc.ProtoTCP, SrcPort: p.DstPort, DstPort: p.SrcPort, TCPFlags: TCPRst, Length: 40}
			sub := &walker{m: w.m, v: w.v, now: w.now, path: &Path{From: eniEndpoint(e, e.Primary), To: receiverOf(w.v, e, rst.Dst)}, budget: maxForwards}
			sub.fromENI(e, rst)
			w.path.Responses = append(w.path.Responses, *sub.path)
		}
		return
	}
	hop.Allow, hop.Out = true, r.out
	w.add(hop)
	w.nat = &natNote{srcAddr: r.out.Src != p.Src, srcPort: r.out.SrcPort != p.SrcPort, remapped: r.out.SrcPort}
	if p.Protocol == vpc.ProtoICMP {
		w.nat.remapped = 0
	}
	w.fromENI(e, r.out)
}

// RFC 1918 and RFC 6598 ranges (EIP-4).
var (
	rfc1918 = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}
	rfc6598 = netip.MustParsePrefix("100.64.0.0/10")
)

func isRFC1918(a netip.Addr) bool {
	for _, p := range rfc1918 {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// igwOut sends p out of the internet gateway (EIP-2, EIP-4, EIP-6): IPv4
// sources become their public IP, IPv6 passes unchanged.
func (w *walker) igwOut(id string, vp *vpc.VPC, p Packet) {
	hop := Hop{Kind: HopInternetGateway, Egress: true, ID: id, VPC: vpcID(vp), In: p, Out: p}
	if p.Dst.Is4() {
		switch {
		case isRFC1918(p.Dst):
			hop.Code = CodeIGWDstRFC1918Egress
		case rfc6598.Contains(p.Dst):
			hop.Code = CodeIGWDstRFC6598Egress
		}
		if hop.Code != "" {
			w.add(hop)
			return
		}
		owner := w.v.eniAt(vp, p.Src)
		var pub netip.Addr
		if owner != nil {
			pub = w.v.priv[addrKey{owner.ID, p.Src}]
		}
		if !pub.IsValid() {
			hop.Code = CodeIGWPublicIPEgress
			w.add(hop)
			return
		}
		hop.Out.Src = pub
	}
	hop.Allow = true
	w.add(hop)
	w.internet(hop.Out)
}

// eigwOut sends IPv6 out of the egress-only gateway and records the flow
// (EIP-13, EIP-14).
func (w *walker) eigwOut(id string, vp *vpc.VPC, from *eniRef, p Packet) {
	hop := Hop{Kind: HopEgressOnlyGateway, Egress: true, ID: id, VPC: vpcID(vp), In: p, Out: p}
	if p.Dst.Is4() {
		hop.Code, hop.Detail = CodeNoRouteToDestination, "an egress-only internet gateway carries IPv6 only"
		w.add(hop)
		return
	}
	w.m.EIGW.outbound(w.now, id, w.eigwConfig(vp, p.Src, from), p)
	hop.Allow = true
	w.add(hop)
	w.internet(p)
}

// eigwConfig is the tracking configuration of the instance owning a
// (EIP-14 [INTERP]: the gateway's timeouts are the instance's).
func (w *walker) eigwConfig(vp *vpc.VPC, a netip.Addr, fallback *eniRef) vpc.Conntrack {
	e := w.v.eniAt(vp, a)
	if e == nil {
		e = fallback
	}
	if e != nil && e.Inst != nil {
		return conntrackConfig(e.Inst.Conntrack)
	}
	return vpc.DefaultConntrack
}

// internet carries p from a gateway to its destination: a public IP or an
// IPv6 address of a VPC comes back in (EIP-8), anything else is an internet
// host and is delivered.
func (w *walker) internet(p Packet) {
	if p.Dst.Is4() {
		if ps, ok := w.v.pub[p.Dst]; ok {
			w.igwIn(ps.eni.VPC, p, &ps)
			return
		}
		if vp := w.v.vpcOfAddr(p.Dst); vp != nil {
			w.igwIn(vp, p, nil)
			return
		}
	} else if vp, _ := w.v6Dest(p.Dst); vp != nil {
		w.in6(vp, p)
		return
	}
	w.path.Delivered = true
}

// fromInternet starts a packet an internet host sends (PATH-5, PATH-12).
// Towards a public IP it enters that VPC's internet gateway; towards an
// address inside a VPC it meets that VPC's gateway endpoint (a service's
// reply, VPCE-5) or internet gateway; towards a declared internet host it
// never crosses a VPC; any other address goes to the first internet
// gateway, the emulated internet's default route [INTERP].
func (w *walker) fromInternet(p Packet) {
	if p.Dst.Is6() {
		vp, _ := w.v6Dest(p.Dst)
		if vp == nil {
			w.internetNoRoute(p)
			return
		}
		w.in6(vp, p)
		return
	}
	if ps, ok := w.v.pub[p.Dst]; ok {
		w.igwIn(ps.eni.VPC, p, &ps)
		return
	}
	if vp := w.v.vpcOfAddr(p.Dst); vp != nil {
		if ep := w.endpointFor(vp, p); ep != nil {
			w.endpointIn(ep, vp, p)
			return
		}
		w.igwIn(vp, p, nil)
		return
	}
	if w.v.t.HostByIP(p.Dst) != nil {
		w.internetNoRoute(p)
		return
	}
	for i := range w.v.t.VPCs {
		if w.v.igwOf(&w.v.t.VPCs[i]) != "" {
			w.igwIn(&w.v.t.VPCs[i], p, nil)
			return
		}
	}
	w.internetNoRoute(p)
}

// internetNoRoute drops a packet the internet does not carry through any
// VPC.
func (w *walker) internetNoRoute(p Packet) {
	w.add(Hop{Kind: HopRoute, ID: rtbID(nil), In: p, Out: p, Code: CodeNoRouteToDestination})
}

// igwIn brings p from the internet through vp's internet gateway (EIP-3,
// EIP-4): the destination public IP becomes its private IP and the packet
// goes straight to the ENI.
func (w *walker) igwIn(vp *vpc.VPC, p Packet, ps *pubSide) {
	id := w.v.igwOf(vp)
	if id == "" {
		w.internetNoRoute(p)
		return
	}
	hop := Hop{Kind: HopInternetGateway, ID: id, VPC: vpcID(vp), In: p, Out: p}
	switch {
	case w.v.vpcOfAddr(p.Src) == vp:
		hop.Code = CodeSpoofed
	case isRFC1918(p.Src):
		hop.Code = CodeIGWSrcRFC1918Ingress
	case rfc6598.Contains(p.Src):
		hop.Code = CodeIGWSrcRFC6598Ingress
	case ps == nil:
		hop.Code = CodeIGWPrivateIPIngress
	}
	if hop.Code != "" {
		w.add(hop)
		return
	}
	hop.Out.Dst = ps.priv
	hop.Allow = true
	w.add(hop)
	w.arrive(ps.eni, hop.Out, true)
}

// v6Dest is the VPC and subnet an IPv6 address belongs to (nil, nil
// outside the VPCs).
func (w *walker) v6Dest(a netip.Addr) (*vpc.VPC, *vpc.Subnet) {
	vp := w.v.vpcOfAddr(a)
	if vp == nil {
		return nil, nil
	}
	if e := w.v.eniAt(vp, a); e != nil {
		return vp, e.Subnet
	}
	return vp, w.v.subnetOf(vp, a)
}

// in6 brings an internet IPv6 packet into vp (EIP-6, EIP-13): through the
// internet gateway when the destination subnet's table routes the source
// there, through the egress-only gateway when it routes it there and the
// flow was started inside; else dropped [INTERP, OQ-17].
func (w *walker) in6(vp *vpc.VPC, p Packet) {
	_, sn := w.v6Dest(p.Dst)
	igw, eigw := w.v.igwOf(vp), w.v.eigwOf(vp)
	vid := vpcID(vp)
	if sn == nil {
		if igw == "" {
			w.internetNoRoute(p)
			return
		}
		w.add(Hop{Kind: HopInternetGateway, ID: igw, VPC: vid, In: p, Out: p, Allow: true})
		w.noENI(vp, nil, p)
		return
	}
	rt := w.v.tableOf(sn)
	rd := w.v.lookup(rt, p.Src)
	usable := rd.Found && !rd.Blackhole
	switch {
	case usable && rd.Route.Target.Kind == vpc.TargetEIGW:
		hop := Hop{Kind: HopEgressOnlyGateway, ID: rd.Route.Target.ID, VPC: vid, In: p, Out: p, Route: &rd}
		if !w.m.EIGW.inbound(w.now, hop.ID, w.eigwConfig(vp, p.Dst, nil), p) {
			hop.Code = CodeEIGWInbound
			w.add(hop)
			return
		}
		hop.Allow = true
		w.add(hop)
	case igw != "" && w.v.vpcOfAddr(p.Src) == vp:
		w.add(Hop{Kind: HopInternetGateway, ID: igw, VPC: vid, In: p, Out: p, Code: CodeSpoofed})
		return
	case igw != "" && usable && rd.Route.Target.Kind == vpc.TargetIGW:
		w.add(Hop{Kind: HopInternetGateway, ID: igw, VPC: vid, In: p, Out: p, Allow: true, Route: &rd})
	case igw != "":
		w.add(Hop{Kind: HopInternetGateway, ID: igw, VPC: vid, In: p, Out: p, Route: &rd, Code: CodeNoRouteToDestination,
			Detail: "the destination subnet's route table does not send the source to the internet gateway (EIP-6)"})
		return
	case eigw != "":
		w.add(Hop{Kind: HopEgressOnlyGateway, ID: eigw, VPC: vid, In: p, Out: p, Route: &rd, Code: CodeEIGWInbound})
		return
	default:
		w.internetNoRoute(p)
		return
	}
	w.local(vp, p)
}

// peering carries p into the peer VPC (PCX-3..PCX-7, PATH-13).
func (w *walker) peering(pc *vpc.Peering, from *vpc.VPC, p Packet) {
	hop := Hop{Kind: HopPeering, Egress: true, VPC: vpcID(from), In: p, Out: p}
	if pc == nil {
		hop.Code = CodeBadStateRoute
		w.add(hop)
		return
	}
	hop.ID = pc.ID
	other := pc.Accepter
	if from != nil && other == from.ID {
		other = pc.Requester
	}
	ovp := w.v.t.VPC(other)
	if ovp == nil || !ovp.Contains(p.Dst) {
		hop.Code = CodePCXAddressInVPC
		w.add(hop)
		return
	}
	hop.Allow = true
	w.add(hop)
	w.local(ovp, p)
}

// endpointOut sends p to the gateway endpoint's service (VPCE-5).
func (w *walker) endpointOut(ep *vpc.Endpoint, vp *vpc.VPC, p Packet) {
	hop := Hop{Kind: HopEndpoint, Egress: true, VPC: vpcID(vp), In: p, Out: p}
	if ep != nil {
		hop.ID = ep.ID
	}
	if !(p.Protocol == vpc.ProtoTCP || (p.Protocol == vpc.ProtoICMP && p.ICMPType == 8)) {
		hop.Code = CodeVPCEProtocol
		w.add(hop)
		return
	}
	hop.Allow = true
	w.add(hop)
	w.path.Delivered = true
}

// endpointFor is the gateway endpoint of vp through which a packet from the
// service (its source in the endpoint's prefix list) reaches its
// destination: the one the destination subnet's table routes the source to.
func (w *walker) endpointFor(vp *vpc.VPC, p Packet) *vpc.Endpoint {
	e := w.v.eniAt(vp, p.Dst)
	if e == nil || e.Subnet == nil {
		return nil
	}
	rd := w.v.lookup(w.v.tableOf(e.Subnet), p.Src)
	if !rd.Found || rd.Blackhole || rd.Route.Target.Kind != vpc.TargetEndpoint {
		return nil
	}
	return w.v.t.Endpoint(rd.Route.Target.ID)
}

// endpointIn brings the service's packet back through the endpoint
// (VPCE-5): TCP and echo replies, from inside the prefix list.
func (w *walker) endpointIn(ep *vpc.Endpoint, vp *vpc.VPC, p Packet) {
	hop := Hop{Kind: HopEndpoint, ID: ep.ID, VPC: vpcID(vp), In: p, Out: p}
	inList := false
	if pl := w.v.t.PrefixList(ep.PrefixList); pl != nil {
		for _, c := range pl.CIDRs {
			if c.Contains(p.Src) {
				inList = true
			}
		}
	}
	switch {
	case !(p.Protocol == vpc.ProtoTCP || (p.Protocol == vpc.ProtoICMP && p.ICMPType == 0)):
		hop.Code = CodeVPCEProtocol
	case !inList:
		hop.Code = CodeVPCEEgressSource
	}
	if hop.Code != "" {
		w.add(hop)
		return
	}
	hop.Allow = true
	w.add(hop)
	w.local(vp, p)
}

func aclID(acl *vpc.NetworkACL) string {
	if acl == nil {
		return ""
	}
	return acl.ID
}
