package rules

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// protoName is a protocol as users write it: tcp, udp, icmp, icmpv6, all or a number.
func protoName(p int) string {
	switch p {
	case vpc.ProtoAll:
		return "all"
	case vpc.ProtoTCP:
		return "tcp"
	case vpc.ProtoUDP:
		return "udp"
	case vpc.ProtoICMP:
		return "icmp"
	case vpc.ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(p)
}

func direction(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

func boundWord(egress bool) string {
	if egress {
		return "outbound"
	}
	return "inbound"
}

func header(p Packet) *AnalysisPacketHeader {
	h := &AnalysisPacketHeader{
		SourceAddresses:      []string{p.Src.String()},
		DestinationAddresses: []string{p.Dst.String()},
		Protocol:             strconv.Itoa(p.Protocol),
	}
	if p.Protocol == vpc.ProtoTCP || p.Protocol == vpc.ProtoUDP {
		h.SourcePortRanges = []AnalysisPortRange{{p.SrcPort, p.SrcPort}}
		h.DestinationPortRanges = []AnalysisPortRange{{p.DstPort, p.DstPort}}
	}
	return h
}

// rtbID names the route table of a hop: "rtb-internet" stands for the
// internet's own routing (packets that never reach a VPC).
func rtbID(rt *vpc.RouteTable) string {
	if rt == nil {
		return "rtb-internet"
	}
	return rt.ID
}

func subnetComp(sn *vpc.Subnet) *AnalysisComponent {
	if sn == nil {
		return nil
	}
	return &AnalysisComponent{ID: sn.ID}
}

// aclRule finds the rule that decided r in acl's list, the `*` rule included.
func aclRule(acl *vpc.NetworkACL, egress bool, r NACLResult, v4 bool) *AnalysisACLRule {
	out := &AnalysisACLRule{Egress: egress, RuleNumber: r.Rule, RuleAction: "deny", Protocol: "-1", CIDR: "0.0.0.0/0"}
	if !v4 {
		out.CIDR = "::/0"
	}
	if acl == nil {
		return out
	}
	list := acl.Ingress
	if egress {
		list = acl.Egress
	}
	for i := range list {
		if list[i].Number != r.Rule {
			continue
		}
		nr := &list[i]
		out.CIDR = nr.CIDR.String()
		out.Protocol = strconv.Itoa(nr.Protocol)
		if nr.Allow {
			out.RuleAction = "allow"
		}
		if nr.Protocol == vpc.ProtoTCP || nr.Protocol == vpc.ProtoUDP {
			out.PortRange = &AnalysisPortRange{nr.Ports.From, nr.Ports.To}
		}
		break
	}
	return out
}

func sgRuleOf(t *vpc.Topology, ref SGRuleRef) *vpc.SGRule {
	sg := t.SecurityGroup(ref.SecurityGroup)
	if sg == nil {
		return nil
	}
	list := sg.Ingress
	if ref.Egress {
		list = sg.Egress
	}
	if ref.Index < 0 || ref.Index >= len(list) {
		return nil
	}
	return &list[ref.Index]
}

func analysisSGRule(t *vpc.Topology, ref SGRuleRef) *AnalysisSecurityGroupRule {
	r := sgRuleOf(t, ref)
	if r == nil {
		return nil
	}
	out := &AnalysisSecurityGroupRule{Direction: direction(ref.Egress), SecurityGroupID: ref.SecurityGroup,
		Protocol: strconv.Itoa(r.Protocol), PrefixListID: r.PrefixList, ReferencedSecurityGroupID: r.SourceGroup}
	if r.CIDR.IsValid() {
		out.CIDR = r.CIDR.String()
	}
	if r.Protocol == vpc.ProtoTCP || r.Protocol == vpc.ProtoUDP {
		out.PortRange = &AnalysisPortRange{r.Ports.From, r.Ports.To}
	}
	return out
}

// hopSGs are the SGs of the ENI an SG or ENI hop names.
func hopSGs(v *view, h *Hop) []string {
	if e := v.byID[h.ID]; e != nil {
		return eniSGs(e)
	}
	return nil
}

func sgComps(v *view, h *Hop) []AnalysisComponent {
	var out []AnalysisComponent
	for _, id := range hopSGs(v, h) {
		c := AnalysisComponent{ID: id}
		if sg := v.t.SecurityGroup(id); sg != nil {
			c.Name = sg.Name
		}
		out = append(out, c)
	}
	return out
}

// analysisRoute is a route as AWS's AnalysisRouteTableRoute shows it.
func analysisRoute(t *vpc.Topology, rd *RouteDecision) *AnalysisRouteTableRoute {
	if rd == nil || !rd.Found {
		return nil
	}
	r := rd.Route
	out := &AnalysisRouteTableRoute{Origin: "CreateRoute", State: "active"}
	if r.Dest.IsValid() {
		out.DestinationCidr = r.Dest.String()
	}
	out.DestinationPrefixListID = r.DestPrefixList
	if rd.Blackhole {
		out.State = "blackhole"
	}
	if r.Propagated {
		out.Origin = "EnableVgwRoutePropagation"
	}
	id := r.Target.ID
	switch r.Target.Kind {
	case vpc.TargetLocal:
		out.GatewayID, out.Origin = "local", "CreateRouteTable"
	case vpc.TargetIGW, vpc.TargetEndpoint:
		out.GatewayID = id
	case vpc.TargetEIGW:
		out.EgressOnlyInternetGatewayID = id
	case vpc.TargetNAT:
		out.NatGatewayID = id
	case vpc.TargetENI:
		out.NetworkInterfaceID = id
	case vpc.TargetInstance:
		out.InstanceID = id
	case vpc.TargetPeering:
		out.VpcPeeringConnectionID = id
	}
	return out
}

func details(qs []string) []AnalysisAdditionalDetail {
	var out []AnalysisAdditionalDetail
	for _, q := range qs {
		out = append(out, AnalysisAdditionalDetail{AdditionalDetailType: q})
	}
	return out
}

func vpcComp(t *vpc.Topology, h *Hop) *AnalysisComponent {
	if h.VPC != "" {
		return &AnalysisComponent{ID: h.VPC}
	}
	if len(t.VPCs) > 0 {
		return &AnalysisComponent{ID: t.VPCs[0].ID}
	}
	return nil
}

func components(v *view, p *Path) []PathComponent {
	t := v.t
	out := make([]PathComponent, 0, len(p.Hops))
	for i := range p.Hops {
		h := &p.Hops[i]
		c := PathComponent{SequenceNumber: i + 1, InboundHeader: header(h.In), OutboundHeader: header(h.Out), Decision: "allow",
			Kind: string(h.Kind), Component: AnalysisComponent{ID: h.ID}, VPC: vpcComp(t, h), AdditionalDetails: details(h.Qualifiers)}
		if !h.Allow {
			c.Decision = "deny"
		} else if h.In != h.Out {
			c.Decision = "translate"
		}
		switch h.Kind {
		case HopSecurityGroup:
			c.Component.Name = h.Instance.ID
			c.Direction = direction(h.Egress)
			c.Subnet = subnetComp(h.Subnet)
			c.SecurityGroups = sgComps(v, h)
			if h.Allow {
				c.Tracking = h.SG.Reason
				if len(h.SG.Match.Rules) > 0 {
					c.SecurityGroupRule = analysisSGRule(t, h.SG.Match.Rules[0])
				}
			}
		case HopNetworkACL:
			c.Direction = direction(h.Egress)
			c.ACLRule = aclRule(h.ACL, h.Egress, h.NACL, h.In.Src.Is4())
			c.Subnet = subnetComp(h.Subnet)
		case HopInternetGateway, HopEgressOnlyGateway, HopNATGateway, HopEndpoint, HopENI:
			c.Direction = direction(h.Egress)
			if h.Instance != nil {
				c.Component.Name = h.Instance.ID
			}
		case HopRoute:
			c.Subnet = subnetComp(h.Subnet)
			c.RouteTableRoute = analysisRoute(t, h.Route)
		case HopPeering, HopSubnet:
			c.Subnet = subnetComp(h.Subnet)
		case HopReserved:
			c.Component = AnalysisComponent{ID: h.In.Dst.String(), Name: "Amazon-provided service (not filtered)"}
			c.Decision = "not-filtered"
			c.VPC = nil
		}
		out = append(out, c)
	}
	return out
}

// lastRoute is the route decision that led to hop i (the nearest route
// hop before it), or nil.
func lastRoute(p *Path, i int) *RouteDecision {
	for ; i >= 0; i-- {
		if p.Hops[i].Route != nil {
			return p.Hops[i].Route
		}
	}
	return nil
}

// explain turns a path's blocking hop into an AWS Explanation.
func explain(v *view, p *Path, which string) Explanation {
	t := v.t
	h := p.Blocked()
	e := Explanation{Path: which}
	if h == nil {
		return e
	}
	idx := 0
	for i := range p.Hops {
		if &p.Hops[i] == h {
			idx = i
		}
	}
	e.VPC = vpcComp(t, h)
	e.ExplanationCode = h.Code
	e.Direction = direction(h.Egress)
	e.Protocols = []string{strconv.Itoa(h.In.Protocol)}
	e.AdditionalDetails = details(h.Qualifiers)
	e.Detail = h.Detail
	comp := &AnalysisComponent{ID: h.ID}
	e.Component = comp
	switch h.Kind {
	case HopNetworkACL:
		e.ACL = comp
		e.ACLRule = aclRule(h.ACL, h.Egress, h.NACL, h.In.Src.Is4())
		e.Subnet = subnetComp(h.Subnet)
	case HopSecurityGroup, HopENI:
		comp.Name = h.Instance.ID
		e.NetworkInterface = comp
		e.SecurityGroups = sgComps(v, h)
		e.Subnet = subnetComp(h.Subnet)
	case HopInternetGateway:
		e.InternetGateway = comp
		e.Addresses = []string{h.In.Dst.String()}
		if h.Egress {
			e.Addresses = []string{h.In.Src.String()}
		}
	case HopEgressOnlyGateway:
		e.Addresses = []string{h.In.Src.String()}
	case HopNATGateway:
		e.NatGateway = comp
		e.Addresses = []string{h.In.Src.String()}
	case HopPeering:
		e.VpcPeeringConnection = comp
		e.Addresses = []string{h.In.Dst.String()}
	case HopEndpoint:
		e.VpcEndpoint = comp
		e.Addresses = []string{h.In.Dst.String()}
	case HopRoute:
		e.Subnet = subnetComp(h.Subnet)
		e.Addresses = []string{h.In.Dst.String()}
		if h.ID != rtbID(nil) {
			e.RouteTable = comp
		}
		e.RouteTableRoute = analysisRoute(t, h.Route)
	case HopSubnet:
		e.Subnet = subnetComp(h.Subnet)
		e.Addresses = []string{h.In.Dst.String()}
	}
	if e.RouteTableRoute == nil && h.Kind != HopNetworkACL && h.Kind != HopSecurityGroup {
		if rd := lastRoute(p, idx); rd != nil {
			e.RouteTable = &AnalysisComponent{ID: rtbID(rd.Table)}
			e.RouteTableRoute = analysisRoute(t, rd)
		}
	}
	if h.In.Protocol == vpc.ProtoTCP || h.In.Protocol == vpc.ProtoUDP {
		e.PortRanges = []AnalysisPortRange{{h.In.DstPort, h.In.DstPort}}
	}
	return e
}

// notes are the analysis-only findings of RA-9 on a path: a route that
// beat another one towards a drop (MORE_SPECIFIC_ROUTE,
// HIGHER_PRIORITY_ROUTE), a route whose target cannot carry the
// destination (CANNOT_ROUTE [INTERP]), a hairpin through the internet
// gateway (IGW_NAT_REFLECTION), a destination in a VPC no active peering
// reaches (DISCONNECTED_VPCS).
func notes(v *view, p *Path, which string) []Explanation {
	t := v.t
	var out []Explanation
	igws := 0
	for i := range p.Hops {
		h := &p.Hops[i]
		if h.Kind == HopInternetGateway && h.Allow {
			igws++
			if igws == 2 {
				out = append(out, Explanation{ExplanationCode: NoteIGWNATReflection, Path: which, Component: &AnalysisComponent{ID: h.ID},
					Detail: "the packet leaves through the internet gateway and comes back in (EIP-8)"})
			}
		}
	}
	if p.Delivered {
		return out
	}
	b := p.Blocked()
	if b == nil {
		return out
	}
	for i := len(p.Hops) - 1; i >= 0; i-- {
		h := &p.Hops[i]
		if h.Kind != HopRoute || h.Route == nil || h.Route.Shadowed == nil {
			continue
		}
		out = append(out, Explanation{ExplanationCode: h.Route.ShadowReason, Path: which,
			RouteTable: &AnalysisComponent{ID: h.ID}, RouteTableRoute: analysisRoute(t, h.Route),
			Detail: fmt.Sprintf("%s -> %s wins over %s -> %s", routeDestText(h.Route.Route), routeTargetText(h.Route.Route),
				routeDestText(*h.Route.Shadowed), routeTargetText(*h.Route.Shadowed))})
		break
	}
	if b.Kind != HopRoute && (b.Code == CodeIGWDstRFC1918Egress || b.Code == CodeIGWDstRFC6598Egress || b.Code == CodePCXAddressInVPC ||
		(b.Kind == HopEgressOnlyGateway && b.Egress)) {
		// A route chose a target that cannot carry this destination.
		if rd := lastRoute(p, len(p.Hops)-1); rd != nil {
			out = append(out, Explanation{ExplanationCode: NoteCannotRoute, Path: which, RouteTable: &AnalysisComponent{ID: rtbID(rd.Table)},
				RouteTableRoute: analysisRoute(t, rd), Component: &AnalysisComponent{ID: b.ID},
				Detail: fmt.Sprintf("%s -> %s cannot carry traffic to %s", routeDestText(rd.Route), routeTargetText(rd.Route), b.In.Dst)})
		}
	}
	if b.Code == CodeNoRouteToDestination || b.Code == CodeIGWDstRFC1918Egress || b.Code == CodePCXAddressInVPC {
		src, dst := v.vpcOfAddr(b.In.Src), v.vpcOfAddr(b.In.Dst)
		if src != nil && dst != nil && src != dst && t.PeeringBetween(src.ID, dst.ID) == nil {
			out = append(out, Explanation{ExplanationCode: NoteDisconnectedVPCs, Path: which, VPC: &AnalysisComponent{ID: src.ID},
				DestinationVpc: &AnalysisComponent{ID: dst.ID}, Detail: "no active peering connects the two VPCs (PCX-4: peering is not transitive)"})
		}
	}
	return out
}

// suggest names the fix for a return path that a stateless NACL blocks.
func suggest(t *vpc.Topology, client Endpoint, fwd, rev *Path) string {
	h := rev.Blocked()
	if h == nil || h.Kind != HopNetworkACL {
		return ""
	}
	id := "the NACL"
	if h.ACL != nil {
		id = h.ACL.ID
	}
	peer := h.In.Src
	if h.Egress {
		peer = h.In.Dst
	}
	bits := 32
	if peer.Is6() {
		bits = 128
	}
	what := protoName(h.In.Protocol)
	if h.In.Protocol == vpc.ProtoTCP || h.In.Protocol == vpc.ProtoUDP {
		lo, hi := vpc.EphemeralPorts(client.OS)
		osName := client.OS
		if osName == "" {
			osName = "linux"
		}
		what = fmt.Sprintf("%s %d-%d (the ephemeral port range of %s, %s; this reply goes to port %d)", what, lo, hi, client.Name, osName, h.In.DstPort)
	} else if h.In.Protocol == vpc.ProtoICMP || h.In.Protocol == vpc.ProtoICMPv6 {
		what = fmt.Sprintf("%s type %d code %d", what, h.In.ICMPType, h.In.ICMPCode)
	}
	dirWord, peerWord := "inbound", "from"
	if h.Egress {
		dirWord, peerWord = "outbound", "to"
	}
	place := "with any rule number"
	if h.NACL.Rule < NACLDefaultRuleIPv4 {
		place = fmt.Sprintf("with a rule number below %d", h.NACL.Rule)
	}
	return fmt.Sprintf("network ACLs are stateless: the reply needs its own rule. Add to %s %s an allow rule for %s %s %s/%d (or 0.0.0.0/0) %s",
		id, dirWord, what, peerWord, peer, bits, place)
}

// hopText describes what a hop decided and why, in one line.
func hopText(v *view, h *Hop) (comp, decision, why string) {
	t := v.t
	decision = "ALLOW"
	if !h.Allow {
		decision = "DENY"
	}
	owner := h.ID
	if h.Instance != nil {
		owner = h.Instance.ID
	}
	switch h.Kind {
	case HopSecurityGroup:
		comp = fmt.Sprintf("%s %s on %s (%s)", strings.Join(hopSGs(v, h), ","), boundWord(h.Egress), h.ID, owner)
		switch {
		case h.SG.ByState:
			why = "connection tracking: reply of a tracked flow (SG-20)"
		case h.SG.Reason == ReasonBypass:
			why = "not judged: IPv6 link control or an Amazon-provided service (SG-45)"
		case h.Allow:
			var rs []string
			for _, ref := range h.SG.Match.Rules {
				rs = append(rs, fmt.Sprintf("%s %s rule #%d: %s", ref.SecurityGroup, boundWord(ref.Egress), ref.Index+1, sgRuleText(sgRuleOf(t, ref), ref.Egress)))
			}
			why = strings.Join(rs, "; ") + " [" + h.SG.Reason + "]"
		case h.Code == CodeSGHasNoRules:
			why = fmt.Sprintf("the security groups have no %s rules (%s)", boundWord(h.Egress), h.Code)
		case h.Code == CodeConntrackAllowanceExceeded:
			why = fmt.Sprintf("conntrack allowance exhausted (%s)", h.Code)
		default:
			why = fmt.Sprintf("no %s rule matches (%s)", boundWord(h.Egress), h.Code)
		}
	case HopNetworkACL:
		id := "?"
		if h.ACL != nil {
			id = h.ACL.ID
		}
		sn := ""
		if h.Subnet != nil {
			sn = h.Subnet.ID
		}
		comp = fmt.Sprintf("%s %s (%s)", id, boundWord(h.Egress), sn)
		why = naclRuleText(h.ACL, h.Egress, h.NACL, h.In.Src.Is4())
		if !h.Allow {
			why += " (" + CodeSubnetACLRestriction + ")"
		}
	case HopRoute:
		comp = "route table " + h.ID
		if h.ID == rtbID(nil) {
			comp = "internet routing"
		}
		if h.Subnet != nil {
			comp += " (" + h.Subnet.ID + ")"
		}
		decision = "ROUTE"
		rd := h.Route
		switch {
		case h.Allow:
			why = fmt.Sprintf("%s -> %s", routeDestText(rd.Route), routeTargetText(rd.Route))
			if rd.Route.DestPrefixList != "" {
				why += fmt.Sprintf(" (prefix-list entry /%d)", rd.Bits)
			}
			if rd.Shadowed != nil && rd.Route.Target.Kind != vpc.TargetLocal {
				why += fmt.Sprintf("; beats %s -> %s (%s)", routeDestText(*rd.Shadowed), routeTargetText(*rd.Shadowed), rd.ShadowReason)
			}
		case h.Code == CodeBadStateRoute && rd != nil:
			decision = "DROP"
			why = fmt.Sprintf("%s -> %s is a blackhole: its target is gone or unusable (%s, RT-15); a shorter active route is not used (RT-16)",
				routeDestText(rd.Route), routeTargetText(rd.Route), h.Code)
		case h.Detail != "":
			decision = "DROP"
			why = fmt.Sprintf("%s (%s)", h.Detail, h.Code)
		case h.ID == rtbID(nil):
			decision = "DROP"
			why = fmt.Sprintf("%s is not in a VPC and the internet does not route it through one (%s)", h.In.Dst, h.Code)
		default:
			decision = "DROP"
			why = fmt.Sprintf("no route matches %s (%s)", h.In.Dst, h.Code)
		}
	case HopInternetGateway:
		comp = "internet gateway " + h.ID
		decision = "PASS"
		switch {
		case !h.Allow:
			decision = "DROP"
			why = igwDropText(h)
		case h.In.Src != h.Out.Src:
			why = fmt.Sprintf("1:1 NAT source %s -> %s", h.In.Src, h.Out.Src)
		case h.In.Dst != h.Out.Dst:
			why = fmt.Sprintf("1:1 NAT destination %s -> %s", h.In.Dst, h.Out.Dst)
		default:
			why = "routed (IPv6, no NAT)"
		}
	case HopEgressOnlyGateway:
		comp = "egress-only internet gateway " + h.ID
		decision = "PASS"
		switch {
		case !h.Allow && h.Detail != "":
			decision, why = "DROP", fmt.Sprintf("%s (%s)", h.Detail, h.Code)
		case !h.Allow:
			decision, why = "DROP", fmt.Sprintf("the internet cannot start IPv6 flows through an egress-only gateway (%s, EIP-13)", h.Code)
		case h.Egress:
			why = "IPv6 out, flow recorded (EIP-13)"
		default:
			why = "reply of a flow started inside (EIP-13)"
		}
	case HopNATGateway:
		comp = "NAT gateway " + h.ID
		decision = "PASS"
		switch {
		case !h.Allow:
			decision = "DROP"
			why = ngwDropText(t, h)
		case h.Egress:
			why = fmt.Sprintf("source %s -> %s (NGW-5, NGW-6)", endpointText(h.In, true), endpointText(h.Out, true))
		default:
			why = fmt.Sprintf("reply mapped back: destination %s -> %s", endpointText(h.In, false), endpointText(h.Out, false))
		}
	case HopPeering:
		comp = "peering connection " + h.ID
		decision = "PASS"
		switch {
		case h.Allow:
			why = fmt.Sprintf("into the peer VPC, delivered locally there (PCX-7)")
		case h.Code == CodePCXAddressInVPC:
			decision = "DROP"
			why = fmt.Sprintf("%s is outside the peer VPC's CIDRs: peering is not transitive and no edge-to-edge routing (%s, PCX-4..6)", h.In.Dst, h.Code)
		default:
			decision = "DROP"
			why = fmt.Sprintf("%s (%s)", h.Detail, h.Code)
		}
	case HopEndpoint:
		comp = "gateway endpoint " + h.ID
		decision = "PASS"
		switch {
		case h.Allow && h.Egress:
			why = "to the service, the private source preserved (VPCE-4)"
		case h.Allow:
			why = "from the service (VPCE-5)"
		case h.Code == CodeVPCEProtocol:
			decision = "DROP"
			why = fmt.Sprintf("only TCP and ICMP echo go through a gateway endpoint (%s, VPCE-5)", h.Code)
		default:
			decision = "DROP"
			why = fmt.Sprintf("the source %s is outside the service's prefix list (%s)", h.In.Src, h.Code)
		}
	case HopENI:
		comp = fmt.Sprintf("network interface %s (%s)", h.ID, owner)
		decision = "DROP"
		switch {
		case h.Code == CodeSourceDestCheck && h.Egress:
			why = fmt.Sprintf("source/destination check: %s is not an address of %s (%s, ENI-5)", h.In.Src, h.ID, h.Code)
		case h.Code == CodeSourceDestCheck:
			why = fmt.Sprintf("source/destination check: %s is not an address of %s; turn the check off to let it forward (%s, ENI-5)", h.In.Dst, h.ID, h.Code)
		default:
			why = fmt.Sprintf("%s (%s)", h.Detail, h.Code)
		}
	case HopSubnet:
		comp = h.ID
		decision = "DROP"
		why = fmt.Sprintf("no network interface holds %s (%s)", h.In.Dst, h.Code)
	case HopReserved:
		comp = h.In.Dst.String()
		decision = "PASS"
		why = "Amazon-provided service: neither SGs nor NACLs filter it (SG-45)"
	}
	if len(h.Qualifiers) > 0 {
		why += " [" + strings.Join(h.Qualifiers, ", ") + "]"
	}
	return comp, decision, why
}

func endpointText(p Packet, src bool) string {
	a, port := p.Dst, p.DstPort
	if src {
		a, port = p.Src, p.SrcPort
	}
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return netipPort(a, port)
	case vpc.ProtoICMP:
		return fmt.Sprintf("%s id %d", a, p.ICMPID)
	}
	return a.String()
}

func igwDropText(h *Hop) string {
	switch h.Code {
	case CodeIGWPublicIPEgress:
		return fmt.Sprintf("%s has no public IPv4 address: the internet gateway drops what it cannot map (%s, EIP-2)", h.In.Src, h.Code)
	case CodeIGWPrivateIPIngress:
		return fmt.Sprintf("%s is not a public IP mapped to an ENI of the VPC (%s, EIP-3)", h.In.Dst, h.Code)
	case CodeIGWDstRFC1918Egress, CodeIGWDstRFC6598Egress:
		return fmt.Sprintf("%s is a private or shared address: the internet gateway does not send it out (%s, EIP-4)", h.In.Dst, h.Code)
	case CodeIGWSrcRFC1918Ingress, CodeIGWSrcRFC6598Ingress:
		return fmt.Sprintf("source %s is a private or shared address (%s, EIP-4)", h.In.Src, h.Code)
	case CodeSpoofed:
		return fmt.Sprintf("source %s is inside the VPC: spoofed (%s, EIP-4)", h.In.Src, h.Code)
	}
	if h.Detail != "" {
		return fmt.Sprintf("%s (%s)", h.Detail, h.Code)
	}
	return h.Code
}

func ngwDropText(t *vpc.Topology, h *Hop) string {
	switch {
	case h.Detail != "":
		return fmt.Sprintf("%s (%s)", h.Detail, h.Code)
	case h.Code == CodeNGWNoMapping:
		return fmt.Sprintf("no connection from inside the VPC matches this packet: a NAT gateway admits no inbound-initiated traffic (%s, NGW-9)", h.Code)
	case h.Code == CodeNGWPortAllocation:
		n := natPerDest(t.Limits)
		return fmt.Sprintf("all %d ports towards %s are in use (ErrorPortAllocation, %s, NGW-7)", n, endpointText(h.In, false), h.Code)
	case h.Code == CodeNGWRequiresSourceInVPC:
		return fmt.Sprintf("source %s is not in the NAT gateway's VPC (%s, NGW-10)", h.In.Src, h.Code)
	case h.Code == CodeProtocolRestriction:
		return fmt.Sprintf("a NAT gateway carries IPv4 TCP, UDP and ICMP only (%s, NGW-8)", h.Code)
	}
	return h.Code
}

func naclRuleText(acl *vpc.NetworkACL, egress bool, r NACLResult, v4 bool) string {
	ar := aclRule(acl, egress, r, v4)
	num := strconv.Itoa(r.Rule)
	if r.Rule >= NACLDefaultRuleIPv4 {
		num = "*"
	}
	peer := "from"
	if egress {
		peer = "to"
	}
	proto, _ := strconv.Atoi(ar.Protocol)
	s := fmt.Sprintf("rule %s: %s %s", num, ar.RuleAction, protoName(proto))
	if ar.PortRange != nil {
		s += " " + portText(ar.PortRange.From, ar.PortRange.To)
	}
	return s + " " + peer + " " + ar.CIDR
}

func portText(from, to int) string {
	if from == to {
		return strconv.Itoa(from)
	}
	return fmt.Sprintf("%d-%d", from, to)
}

func sgRuleText(r *vpc.SGRule, egress bool) string {
	if r == nil {
		return "?"
	}
	s := protoName(r.Protocol)
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		s += " " + portText(r.Ports.From, r.Ports.To)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if r.ICMPType != -1 {
			s += fmt.Sprintf(" type %d", r.ICMPType)
			if r.ICMPCode != -1 {
				s += fmt.Sprintf(" code %d", r.ICMPCode)
			}
		}
	}
	peer := "from"
	if egress {
		peer = "to"
	}
	switch {
	case r.CIDR.IsValid():
		s += " " + peer + " " + r.CIDR.String()
	case r.SourceGroup != "":
		s += " " + peer + " members of " + r.SourceGroup
	case r.PrefixList != "":
		s += " " + peer + " prefix list " + r.PrefixList
	}
	return s
}

func packetText(p Packet) string {
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		s := fmt.Sprintf("%s %s -> %s", protoName(p.Protocol), netipPort(p.Src, p.SrcPort), netipPort(p.Dst, p.DstPort))
		if p.Protocol == vpc.ProtoTCP {
			s += " [" + flagsText(p.TCPFlags) + "]"
		}
		return s
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return fmt.Sprintf("%s %s -> %s type %d code %d", protoName(p.Protocol), p.Src, p.Dst, p.ICMPType, p.ICMPCode)
	}
	return fmt.Sprintf("protocol %d %s -> %s", p.Protocol, p.Src, p.Dst)
}

func netipPort(a interface{ String() string }, port int) string {
	s := a.String()
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	return s + ":" + strconv.Itoa(port)
}

func flagsText(f uint8) string {
	var parts []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{TCPSyn, "SYN"}, {TCPAck, "ACK"}, {TCPFin, "FIN"}, {TCPRst, "RST"}, {TCPPsh, "PSH"}} {
		if f&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	return strings.Join(parts, ",")
}

func blockedText(v *view, h *Hop) string {
	comp, _, why := hopText(v, h)
	return comp + ": " + why
}

func (a *Analysis) verdict() string {
	switch {
	case a.Status == "failed":
		return a.Verdict
	case !a.ForwardPathFound:
		return fmt.Sprintf("NOT REACHABLE: %s -> %s %s is blocked on the forward path at %s",
			a.Source, a.Destination, a.Protocol, blockedText(a.v, a.forward.Blocked()))
	case !a.ReturnAnalyzed:
		return fmt.Sprintf("REACHABLE: %s -> %s %s arrives (no response to analyse)", a.Source, a.Destination, a.Protocol)
	case !a.ReturnPathFound:
		return fmt.Sprintf("NOT REACHABLE: the forward path is allowed, but the return path is blocked at %s",
			blockedText(a.v, a.reverse.Blocked()))
	}
	return fmt.Sprintf("REACHABLE: %s -> %s %s is allowed both ways", a.Source, a.Destination, a.Protocol)
}

// WriteText renders the analysis for people: the forward and return path
// hop by hop with each decision and the rule behind it, then the verdict.
func (a *Analysis) WriteText(w io.Writer) error {
	var b strings.Builder
	if a.Status == "failed" {
		fmt.Fprintf(&b, "%s\n", a.Verdict)
		_, err := io.WriteString(w, b.String())
		return err
	}
	section := func(title string, p *Path) {
		if p == nil {
			return
		}
		first := Packet{}
		if len(p.Hops) > 0 {
			first = p.Hops[0].In
		}
		fmt.Fprintf(&b, "%s path: %s -> %s (%s)\n", title, p.From.Name, p.To.Name, packetText(first))
		for i := range p.Hops {
			comp, dec, why := hopText(a.v, &p.Hops[i])
			fmt.Fprintf(&b, "  %d. %-5s %s\n        %s\n", i+1, dec, comp, why)
		}
		if p.Delivered {
			fmt.Fprintf(&b, "  -> delivered to %s\n", p.To.Name)
		} else {
			fmt.Fprintf(&b, "  -> dropped\n")
		}
	}
	section("Forward", a.forward)
	section("Return", a.reverse)
	fmt.Fprintf(&b, "Verdict: %s\n", a.Verdict)
	if a.Suggestion != "" {
		fmt.Fprintf(&b, "Fix: %s\n", a.Suggestion)
	}
	if len(a.FlowLogs) > 0 {
		fmt.Fprintf(&b, "Flow logs (interface-id srcaddr dstaddr srcport dstport protocol packets action, direction, tcp-flags, pkt-srcaddr>pkt-dstaddr, traffic-path):\n")
		for _, r := range a.FlowLogs {
			tp := "-"
			if r.TrafficPath != 0 {
				tp = strconv.Itoa(r.TrafficPath)
			}
			fmt.Fprintf(&b, "  %s %s %s %d %d %d %d %s  %s tcp-flags=%d pkt=%s>%s traffic-path=%s\n", r.ENI, r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort,
				r.Protocol, r.Packets, r.Action, r.Direction, r.TCPFlags, r.PktSrcAddr, r.PktDstAddr, tp)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
