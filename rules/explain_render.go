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

func igwID(t *vpc.Topology) string { return "igw-" + t.Name }

func rtbID(sn *vpc.Subnet) string {
	if sn == nil {
		return "rtb-internet"
	}
	return "rtb-" + strings.TrimPrefix(sn.ID, "subnet-")
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

func sgComps(t *vpc.Topology, in *vpc.Instance) []AnalysisComponent {
	var out []AnalysisComponent
	for _, id := range instanceSGs(in) {
		c := AnalysisComponent{ID: id}
		if sg := t.SecurityGroup(id); sg != nil {
			c.Name = sg.Name
		}
		out = append(out, c)
	}
	return out
}

func components(t *vpc.Topology, p *Path) []PathComponent {
	vpcComp := &AnalysisComponent{ID: t.VPCs[0].ID}
	out := make([]PathComponent, 0, len(p.Hops))
	for i := range p.Hops {
		h := &p.Hops[i]
		c := PathComponent{SequenceNumber: i + 1, InboundHeader: header(h.In), OutboundHeader: header(h.Out), Decision: "allow"}
		if !h.Allow {
			c.Decision = "deny"
		}
		switch h.Kind {
		case HopSecurityGroup:
			c.Component = AnalysisComponent{ID: eniName(h.Instance), Name: h.Instance.ID}
			c.Direction = direction(h.Egress)
			c.Subnet, c.VPC = subnetComp(t.Subnet(h.Instance.Subnet)), vpcComp
			c.SecurityGroups = sgComps(t, h.Instance)
			if h.Allow {
				c.Tracking = h.SG.Reason
				if len(h.SG.Match.Rules) > 0 {
					c.SecurityGroupRule = analysisSGRule(t, h.SG.Match.Rules[0])
				}
			}
		case HopNetworkACL:
			id := ""
			if h.ACL != nil {
				id = h.ACL.ID
			}
			c.Component = AnalysisComponent{ID: id}
			c.Direction = direction(h.Egress)
			c.ACLRule = aclRule(h.ACL, h.Egress, h.NACL, h.In.Src.Is4())
			c.Subnet, c.VPC = subnetComp(h.Subnet), vpcComp
		case HopInternetGateway:
			c.Component = AnalysisComponent{ID: igwID(t)}
			c.Direction = direction(h.Egress)
			if h.Allow && h.In != h.Out {
				c.Decision = "translate"
			}
			c.VPC = vpcComp
		case HopRoute:
			c.Component = AnalysisComponent{ID: rtbID(h.Subnet)}
			c.Subnet, c.VPC = subnetComp(h.Subnet), vpcComp
		case HopReserved:
			c.Component = AnalysisComponent{ID: h.In.Dst.String(), Name: "Amazon-provided service (not filtered)"}
			c.Decision = "not-filtered"
		}
		out = append(out, c)
	}
	return out
}

// explain turns a path's blocking hop into an AWS Explanation.
func explain(t *vpc.Topology, p *Path, which string) Explanation {
	h := p.Blocked()
	e := Explanation{Path: which, VPC: &AnalysisComponent{ID: t.VPCs[0].ID}}
	if h == nil {
		return e
	}
	e.ExplanationCode = h.Code
	e.Direction = direction(h.Egress)
	e.Protocols = []string{strconv.Itoa(h.In.Protocol)}
	switch h.Kind {
	case HopNetworkACL:
		id := ""
		if h.ACL != nil {
			id = h.ACL.ID
		}
		e.Component = &AnalysisComponent{ID: id}
		e.ACL = &AnalysisComponent{ID: id}
		e.ACLRule = aclRule(h.ACL, h.Egress, h.NACL, h.In.Src.Is4())
		e.Subnet = subnetComp(h.Subnet)
	case HopSecurityGroup:
		e.Component = &AnalysisComponent{ID: eniName(h.Instance), Name: h.Instance.ID}
		e.NetworkInterface = e.Component
		e.SecurityGroups = sgComps(t, h.Instance)
		e.Subnet = subnetComp(t.Subnet(h.Instance.Subnet))
	case HopInternetGateway:
		e.Component = &AnalysisComponent{ID: igwID(t)}
		e.Addresses = []string{h.In.Dst.String()}
	case HopRoute:
		e.Component = &AnalysisComponent{ID: rtbID(h.Subnet)}
		e.Subnet = subnetComp(h.Subnet)
		e.Addresses = []string{h.In.Dst.String()}
	}
	if h.In.Protocol == vpc.ProtoTCP || h.In.Protocol == vpc.ProtoUDP {
		e.PortRanges = []AnalysisPortRange{{h.In.DstPort, h.In.DstPort}}
	}
	return e
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
func hopText(t *vpc.Topology, h *Hop) (comp, decision, why string) {
	decision = "ALLOW"
	if !h.Allow {
		decision = "DENY"
	}
	switch h.Kind {
	case HopSecurityGroup:
		comp = fmt.Sprintf("%s %s on %s (%s)", strings.Join(instanceSGs(h.Instance), ","), boundWord(h.Egress), eniName(h.Instance), h.Instance.ID)
		switch {
		case h.SG.ByState:
			why = "connection tracking: reply of a tracked flow (SG-20)"
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
	case HopInternetGateway:
		comp = igwID(t)
		decision = "PASS"
		switch {
		case !h.Allow:
			decision = "DROP"
			why = fmt.Sprintf("%s is not a public address of the VPC: the internet cannot reach a private address (%s)", h.In.Dst, h.Code)
			if h.Egress {
				why = fmt.Sprintf("%s has no public IPv4 address (%s)", h.In.Src, h.Code)
			}
		case h.In.Src != h.Out.Src:
			why = fmt.Sprintf("1:1 NAT source %s -> %s", h.In.Src, h.Out.Src)
		case h.In.Dst != h.Out.Dst:
			why = fmt.Sprintf("1:1 NAT destination %s -> %s", h.In.Dst, h.Out.Dst)
		default:
			why = "routed (IPv6, no NAT)"
		}
	case HopRoute:
		comp = "route table"
		if h.Subnet != nil {
			comp = "route table of " + h.Subnet.ID
		}
		decision = "DROP"
		switch {
		case h.Subnet == nil:
			why = fmt.Sprintf("%s is not in the VPC and the internet does not route it through the VPC (%s)", h.In.Dst, h.Code)
		case h.Egress:
			why = fmt.Sprintf("no route to %s: %s is private (no 0.0.0.0/0 route to the internet gateway) (%s)", h.In.Dst, h.Subnet.ID, h.Code)
		default:
			why = fmt.Sprintf("no route from the internet to %s: %s is private (no route to the internet gateway) (%s)", h.In.Dst, h.Subnet.ID, h.Code)
		}
	case HopReserved:
		comp = h.In.Dst.String()
		decision = "PASS"
		why = "Amazon-provided service: neither SGs nor NACLs filter it (SG-45)"
	}
	return comp, decision, why
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

func blockedText(t *vpc.Topology, h *Hop) string {
	comp, _, why := hopText(t, h)
	return comp + ": " + why
}

func (a *Analysis) verdict() string {
	switch {
	case a.Status == "failed":
		return a.Verdict
	case !a.ForwardPathFound:
		return fmt.Sprintf("NOT REACHABLE: %s -> %s %s is blocked on the forward path at %s",
			a.Source, a.Destination, a.Protocol, blockedText(a.t, a.forward.Blocked()))
	case !a.ReturnAnalyzed:
		return fmt.Sprintf("REACHABLE: %s -> %s %s arrives (no response to analyse)", a.Source, a.Destination, a.Protocol)
	case !a.ReturnPathFound:
		return fmt.Sprintf("NOT REACHABLE: the forward path is allowed, but the return path is blocked at %s",
			blockedText(a.t, a.reverse.Blocked()))
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
			comp, dec, why := hopText(a.t, &p.Hops[i])
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
		fmt.Fprintf(&b, "Flow logs (interface-id srcaddr dstaddr srcport dstport protocol packets action, direction, tcp-flags):\n")
		for _, r := range a.FlowLogs {
			fmt.Fprintf(&b, "  %s %s %s %d %d %d %d %s  %s tcp-flags=%d\n", r.ENI, r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Protocol, r.Packets, r.Action, r.Direction, r.TCPFlags)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
