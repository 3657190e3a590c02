package intent

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Rule names one rule (or a component's decision that no rule made) so a
// person can find it: its text and where it is written.
type Rule struct {
	Text string  `json:"text"`           // e.g. "acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)"
	File string  `json:"file,omitempty"` // topology file
	Pos  vpc.Pos `json:"-"`
	Line int     `json:"line,omitempty"`
}

func (r Rule) String() string { return r.Text }

func bound(egress bool) string {
	if egress {
		return "outbound"
	}
	return "inbound"
}

func ruleAt(t *vpc.Topology, text string, p vpc.Pos) Rule {
	return Rule{Text: text, File: t.File, Pos: p, Line: p.Line}
}

// sgRuleText is an SG rule as written: "tcp 22 from 198.51.100.10/32".
func sgRuleText(r *vpc.SGRule, egress bool) string {
	dir := "from"
	if egress {
		dir = "to"
	}
	peer := r.CIDR.String()
	switch {
	case r.SourceGroup != "":
		peer = r.SourceGroup
	case r.PrefixList != "":
		peer = r.PrefixList
	}
	return fmt.Sprintf("%s %s %s", l4Text(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode), dir, peer)
}

func l4Text(proto int, ports vpc.PortRange, typ, code int) string {
	s := protoName(proto)
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if ports != vpc.AllPorts {
			s += " " + intRange{ports.From, ports.To}.String()
		}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if typ >= 0 {
			s += fmt.Sprintf(" type %d", typ)
			if code >= 0 {
				s += fmt.Sprintf(" code %d", code)
			}
		}
	}
	return s
}

// naclRuleText is a NACL rule as written: "deny tcp 443 from 0.0.0.0/0".
func naclRuleText(r *vpc.NACLRule, egress bool) string {
	act := "deny"
	if r.Allow {
		act = "allow"
	}
	dir := "from"
	if egress {
		dir = "to"
	}
	return fmt.Sprintf("%s %s %s %s", act, l4Text(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode), dir, r.CIDR)
}

func sgRuleOf(t *vpc.Topology, ref rules.SGRuleRef) *vpc.SGRule {
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

// sgRule names one SG rule.
func sgRule(t *vpc.Topology, ref rules.SGRuleRef) Rule {
	r := sgRuleOf(t, ref)
	if r == nil {
		return Rule{Text: fmt.Sprintf("%s %s rule #%d", ref.SecurityGroup, bound(ref.Egress), ref.Index+1)}
	}
	return ruleAt(t, fmt.Sprintf("%s %s rule #%d (%s)", ref.SecurityGroup, bound(ref.Egress), ref.Index+1, sgRuleText(r, ref.Egress)), r.Pos)
}

// naclRule names the rule of acl that decided, the `*` rule included.
func naclRule(t *vpc.Topology, acl *vpc.NetworkACL, egress bool, number int) Rule {
	id := "(no network ACL)"
	var p vpc.Pos
	if acl != nil {
		id, p = acl.ID, acl.Pos
		list := acl.Ingress
		if egress {
			list = acl.Egress
		}
		for i := range list {
			if list[i].Number == number {
				return ruleAt(t, fmt.Sprintf("%s %s rule %d (%s)", id, bound(egress), number, naclRuleText(&list[i], egress)), list[i].Pos)
			}
		}
	}
	return ruleAt(t, fmt.Sprintf("%s %s rule * (deny all: no rule matches)", id, bound(egress)), p)
}

func instanceSGText(in *vpc.Instance) string {
	sgs := in.SecurityGroups
	if len(sgs) == 0 {
		sgs = []string{vpc.DefaultSGID}
	}
	return strings.Join(sgs, ",")
}

// hopRules names what decided at hop h: the blocking rule, or the rules
// (or tracking state) that let the packet on.
func hopRules(t *vpc.Topology, h *rules.Hop) []Rule {
	switch h.Kind {
	case rules.HopSecurityGroup:
		owner := h.ID
		sgText := ""
		if h.Instance != nil {
			owner, sgText = h.Instance.ID, instanceSGText(h.Instance)+" "
		}
		where := fmt.Sprintf("%s%s on %s", sgText, bound(h.Egress), owner)
		switch {
		case h.SG.ByState:
			return []Rule{{Text: where + ": connection tracking (reply of a tracked flow)"}}
		case h.Allow:
			var out []Rule
			for _, ref := range h.SG.Match.Rules {
				out = append(out, sgRule(t, ref))
			}
			return out
		case h.Code == rules.CodeSGHasNoRules:
			return []Rule{{Text: fmt.Sprintf("%s: the security groups have no %s rules (%s)", where, bound(h.Egress), h.Code)}}
		}
		p := vpc.Pos{}
		if h.Instance != nil {
			if sg := t.SecurityGroup(strings.Split(instanceSGText(h.Instance), ",")[0]); sg != nil {
				p = sg.Pos
			}
		}
		return []Rule{ruleAt(t, fmt.Sprintf("%s: no %s rule matches (%s)", where, bound(h.Egress), h.Code), p)}
	case rules.HopNetworkACL:
		return []Rule{naclRule(t, h.ACL, h.Egress, h.NACL.Rule)}
	case rules.HopReserved:
		return []Rule{{Text: "Amazon-provided service: not filtered (SG-45)"}}
	}
	if h.Allow {
		if h.Kind == rules.HopRoute && h.Route != nil && h.Route.Table != nil && h.Route.Found {
			r := h.Route.Route
			dest := r.Dest.String()
			if r.DestPrefixList != "" {
				dest = r.DestPrefixList
			}
			target := string(r.Target.Kind)
			if r.Target.ID != "" {
				target = r.Target.ID
			}
			return []Rule{ruleAt(t, fmt.Sprintf("route table %s: %s via %s", h.Route.Table.ID, dest, target), r.Pos)}
		}
		return nil
	}
	// Gateways, route tables, peerings, endpoints: the component, its
	// decision and why.
	text := fmt.Sprintf("%s %s", h.Kind, h.ID)
	if h.Kind == rules.HopRoute && h.Route != nil && h.Route.Table != nil {
		text = "route table " + h.Route.Table.ID
	}
	text += ": " + h.In.Dst.String() + " " + h.Code
	if h.Detail != "" {
		text += " (" + h.Detail + ")"
	}
	return []Rule{{Text: text}}
}

// deciders names what decided o: for a blocked flow the blocking rule (on
// the forward path, else the return path), for one that passes the
// allowing rules of every filter on the way (and back when ret).
func deciders(t *vpc.Topology, o *outcome, ret bool) []Rule {
	if h := o.fwd.Blocked(); h != nil {
		return hopRules(t, h)
	}
	if ret && o.retAnalysed {
		if h := o.ret.Blocked(); h != nil {
			return hopRules(t, h)
		}
	}
	var out []Rule
	for _, p := range []*rules.Path{&o.fwd, &o.ret} {
		if p == &o.ret && (!ret || !o.retAnalysed) {
			break
		}
		for i := range p.Hops {
			h := &p.Hops[i]
			if h.Kind == rules.HopSecurityGroup || h.Kind == rules.HopNetworkACL || h.Kind == rules.HopReserved {
				out = append(out, hopRules(t, h)...)
			}
		}
	}
	return out
}

func rulesText(rs []Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Text)
	}
	return strings.Join(s, "; ")
}

// endpointName names the owner of a: an instance id, a host name, or the address.
func endpointName(t *vpc.Topology, a netip.Addr) string {
	if in := t.InstanceByIP(a); in != nil {
		return in.ID
	}
	if h := t.HostByIP(a); h != nil {
		return h.Name
	}
	return a.String()
}
