package awsshape

import "github.com/vpcemu/vpcemu/vpc"

// TrafficMirrorTarget is a Traffic Mirroring target (an instance's ENI).
type TrafficMirrorTarget struct {
	TrafficMirrorTargetID string    `xml:"trafficMirrorTargetId" json:"TrafficMirrorTargetId"`
	NetworkInterfaceID    string    `xml:"networkInterfaceId,omitempty" json:"NetworkInterfaceId,omitempty"`
	Type                  string    `xml:"type" json:"Type"`
	Description           string    `xml:"description,omitempty" json:"Description,omitempty"`
	OwnerID               string    `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Tags                  List[Tag] `xml:"tagSet" json:"Tags"`
}

// TrafficMirrorFilter is a filter with its rules.
type TrafficMirrorFilter struct {
	TrafficMirrorFilterID string                        `xml:"trafficMirrorFilterId" json:"TrafficMirrorFilterId"`
	IngressFilterRules    List[TrafficMirrorFilterRule] `xml:"ingressFilterRuleSet" json:"IngressFilterRules"`
	EgressFilterRules     List[TrafficMirrorFilterRule] `xml:"egressFilterRuleSet" json:"EgressFilterRules"`
	NetworkServices       List[string]                  `xml:"networkServiceSet" json:"NetworkServices"`
	Description           string                        `xml:"description,omitempty" json:"Description,omitempty"`
	Tags                  List[Tag]                     `xml:"tagSet" json:"Tags"`
}

// TrafficMirrorFilterRule is one rule of a filter.
type TrafficMirrorFilterRule struct {
	TrafficMirrorFilterRuleID string                  `xml:"trafficMirrorFilterRuleId" json:"TrafficMirrorFilterRuleId"`
	TrafficMirrorFilterID     string                  `xml:"trafficMirrorFilterId" json:"TrafficMirrorFilterId"`
	TrafficDirection          string                  `xml:"trafficDirection" json:"TrafficDirection"`
	RuleNumber                *int32                  `xml:"ruleNumber" json:"RuleNumber"`
	RuleAction                string                  `xml:"ruleAction" json:"RuleAction"`
	Protocol                  *int32                  `xml:"protocol,omitempty" json:"Protocol,omitempty"`
	DestinationPortRange      *TrafficMirrorPortRange `xml:"destinationPortRange,omitempty" json:"DestinationPortRange,omitempty"`
	SourcePortRange           *TrafficMirrorPortRange `xml:"sourcePortRange,omitempty" json:"SourcePortRange,omitempty"`
	DestinationCidrBlock      string                  `xml:"destinationCidrBlock" json:"DestinationCidrBlock"`
	SourceCidrBlock           string                  `xml:"sourceCidrBlock" json:"SourceCidrBlock"`
	Description               string                  `xml:"description,omitempty" json:"Description,omitempty"`
	Tags                      List[Tag]               `xml:"tagSet" json:"Tags"`
}

// TrafficMirrorPortRange is a rule's port range.
type TrafficMirrorPortRange struct {
	FromPort *int32 `xml:"fromPort" json:"FromPort"`
	ToPort   *int32 `xml:"toPort" json:"ToPort"`
}

// TrafficMirrorSession is a session.
type TrafficMirrorSession struct {
	TrafficMirrorSessionID string    `xml:"trafficMirrorSessionId" json:"TrafficMirrorSessionId"`
	TrafficMirrorTargetID  string    `xml:"trafficMirrorTargetId" json:"TrafficMirrorTargetId"`
	TrafficMirrorFilterID  string    `xml:"trafficMirrorFilterId" json:"TrafficMirrorFilterId"`
	NetworkInterfaceID     string    `xml:"networkInterfaceId" json:"NetworkInterfaceId"`
	OwnerID                string    `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	PacketLength           *int32    `xml:"packetLength,omitempty" json:"PacketLength,omitempty"`
	SessionNumber          *int32    `xml:"sessionNumber" json:"SessionNumber"`
	VirtualNetworkID       *int32    `xml:"virtualNetworkId" json:"VirtualNetworkId"`
	Description            string    `xml:"description,omitempty" json:"Description,omitempty"`
	Tags                   List[Tag] `xml:"tagSet" json:"Tags"`
}

// TrafficMirrorTargets renders every target.
func (v View) TrafficMirrorTargets() []TrafficMirrorTarget {
	tm := &v.T.TrafficMirror
	out := make([]TrafficMirrorTarget, 0, len(tm.Targets))
	for i := range tm.Targets {
		out = append(out, v.TrafficMirrorTarget(&tm.Targets[i]))
	}
	return out
}

// TrafficMirrorTarget renders one target.
func (v View) TrafficMirrorTarget(t *vpc.MirrorTarget) TrafficMirrorTarget {
	return TrafficMirrorTarget{TrafficMirrorTargetID: t.ID, NetworkInterfaceID: t.ENI, Type: "network-interface",
		Description: t.Description, OwnerID: v.T.Account, Tags: Tags(t.Tags)}
}

// TrafficMirrorFilters renders every filter with its rules.
func (v View) TrafficMirrorFilters() []TrafficMirrorFilter {
	tm := &v.T.TrafficMirror
	out := make([]TrafficMirrorFilter, 0, len(tm.Filters))
	for i := range tm.Filters {
		out = append(out, v.TrafficMirrorFilter(&tm.Filters[i]))
	}
	return out
}

// TrafficMirrorFilter renders one filter with its rules.
func (v View) TrafficMirrorFilter(f *vpc.MirrorFilter) TrafficMirrorFilter {
	out := TrafficMirrorFilter{TrafficMirrorFilterID: f.ID, IngressFilterRules: List[TrafficMirrorFilterRule]{},
		EgressFilterRules: List[TrafficMirrorFilterRule]{}, NetworkServices: List[string]{},
		Description: f.Description, Tags: Tags(f.Tags)}
	for i := range f.Inbound {
		out.IngressFilterRules = append(out.IngressFilterRules, v.TrafficMirrorFilterRule(f, false, &f.Inbound[i]))
	}
	for i := range f.Outbound {
		out.EgressFilterRules = append(out.EgressFilterRules, v.TrafficMirrorFilterRule(f, true, &f.Outbound[i]))
	}
	out.NetworkServices = append(out.NetworkServices, f.NetworkServices...)
	return out
}

// TrafficMirrorFilterRules renders every filter's rules: filter by filter,
// ingress before egress, in rule-number order (as evaluated, TM-7).
func (v View) TrafficMirrorFilterRules() []TrafficMirrorFilterRule {
	var out []TrafficMirrorFilterRule
	for _, f := range v.TrafficMirrorFilters() {
		out = append(append(out, f.IngressFilterRules...), f.EgressFilterRules...)
	}
	return out
}

// TrafficMirrorFilterRule renders one rule of filter f (outbound: an
// egress rule). A rule's tags are the API's annotations: the topology
// file keeps none.
func (v View) TrafficMirrorFilterRule(f *vpc.MirrorFilter, outbound bool, r *vpc.MirrorRule) TrafficMirrorFilterRule {
	out := TrafficMirrorFilterRule{TrafficMirrorFilterRuleID: r.ID, TrafficMirrorFilterID: f.ID, TrafficDirection: "ingress",
		RuleNumber: Int(r.Number), RuleAction: "reject", DestinationCidrBlock: prefixStr(r.DstCIDR), SourceCidrBlock: prefixStr(r.SrcCIDR),
		Description: r.Description, Tags: Tags(v.tagsOf(r.ID, nil))}
	if outbound {
		out.TrafficDirection = "egress"
	}
	if r.Accept {
		out.RuleAction = "accept"
	}
	if r.Protocol != vpc.ProtoAll {
		out.Protocol = Int(r.Protocol)
	}
	portRange := func(p vpc.PortRange) *TrafficMirrorPortRange {
		if p == vpc.AllPorts {
			return nil
		}
		return &TrafficMirrorPortRange{FromPort: Int(p.From), ToPort: Int(p.To)}
	}
	out.DestinationPortRange, out.SourcePortRange = portRange(r.DstPorts), portRange(r.SrcPorts)
	return out
}

// TrafficMirrorSessions renders every session.
func (v View) TrafficMirrorSessions() []TrafficMirrorSession {
	tm := &v.T.TrafficMirror
	out := make([]TrafficMirrorSession, 0, len(tm.Sessions))
	for i := range tm.Sessions {
		out = append(out, v.TrafficMirrorSession(&tm.Sessions[i]))
	}
	return out
}

// TrafficMirrorSession renders one session; no packet length means whole
// packets (TM-10).
func (v View) TrafficMirrorSession(s *vpc.MirrorSession) TrafficMirrorSession {
	out := TrafficMirrorSession{TrafficMirrorSessionID: s.ID, TrafficMirrorTargetID: s.Target, TrafficMirrorFilterID: s.Filter,
		NetworkInterfaceID: s.Source, OwnerID: v.T.Account, SessionNumber: Int(s.Number), VirtualNetworkID: Int(s.VNI),
		Description: s.Description, Tags: Tags(s.Tags)}
	if s.PacketLength > 0 {
		out.PacketLength = Int(s.PacketLength)
	}
	return out
}
