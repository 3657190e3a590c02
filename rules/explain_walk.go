package rules

// WalkHop is one hop of an analysis, with the keys a view needs to point at
// the rule that decided: the web view shows it beside the SG or NACL table.
// Component, Decision and Why are the text `vpcemu explain` prints.
type WalkHop struct {
	Path      string  `json:"path"` // forward | return
	Seq       int     `json:"seq"`  // 1-based, per path
	Kind      HopKind `json:"kind"`
	Component string  `json:"component"`
	Decision  string  `json:"decision"` // ALLOW, DENY, PASS or DROP
	Why       string  `json:"why"`
	Packet    string  `json:"packet"` // as it reaches the component
	Egress    bool    `json:"egress"`
	Code      string  `json:"code,omitempty"` // explanation code of a deny
	Subnet    string  `json:"subnet,omitempty"`

	// Network-ACL hops: the table and the rule number that decided
	// (NACLDefaultRuleIPv4/IPv6 for `*`).
	ACL        string `json:"acl,omitempty"`
	RuleNumber int    `json:"rule_number,omitempty"`
	IPv6       bool   `json:"ipv6,omitempty"`

	// Security-group hops: whose ENI, its groups, and the rules that
	// admitted the packet (none when denied or admitted by state).
	Instance       string      `json:"instance,omitempty"`
	SecurityGroups []string    `json:"security_groups,omitempty"`
	SGRules        []SGRuleRef `json:"sg_rules,omitempty"`
	ByState        bool        `json:"by_state,omitempty"`
}

// Walk lists the hops of the forward path, then of the return path.
func (a *Analysis) Walk() []WalkHop {
	var out []WalkHop
	for _, p := range []struct {
		name string
		path *Path
	}{{"forward", a.forward}, {"return", a.reverse}} {
		if p.path == nil {
			continue
		}
		for i := range p.path.Hops {
			h := &p.path.Hops[i]
			comp, dec, why := hopText(a.v, h)
			w := WalkHop{Path: p.name, Seq: i + 1, Kind: h.Kind, Component: comp, Decision: dec, Why: why,
				Packet: packetText(h.In), Egress: h.Egress, Code: h.Code}
			if h.Subnet != nil {
				w.Subnet = h.Subnet.ID
			}
			switch h.Kind {
			case HopNetworkACL:
				if h.ACL != nil {
					w.ACL = h.ACL.ID
				}
				w.RuleNumber, w.IPv6 = h.NACL.Rule, !h.In.Src.Is4()
			case HopSecurityGroup:
				w.Instance, w.SecurityGroups = h.Instance.ID, hopSGs(a.v, h)
				w.ByState = h.SG.ByState
				if h.Allow && !h.SG.ByState {
					w.SGRules = append([]SGRuleRef(nil), h.SG.Match.Rules...)
				}
			}
			out = append(out, w)
		}
	}
	return out
}
