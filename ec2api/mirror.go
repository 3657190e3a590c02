package ec2api

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// Traffic Mirroring (spec §5): targets, filters and their rules, sessions,
// as edits of vpc.TrafficMirror. The topology's validation gives the
// errors of what a file may not say either (rule numbers, CIDRs, quotas,
// a target in another VPC); the checks here are those of the parameters
// themselves and of the ids they name.

var (
	kTMT  = kind{"tmt", "InvalidTrafficMirrorTargetId.Malformed", "InvalidTrafficMirrorTargetId.NotFound", "traffic mirror target"}
	kTMF  = kind{"tmf", "InvalidTrafficMirrorFilterId.Malformed", "InvalidTrafficMirrorFilterId.NotFound", "traffic mirror filter"}
	kTMFR = kind{"tmfr", "InvalidTrafficMirrorFilterRuleId.Malformed", "InvalidTrafficMirrorFilterRuleId.NotFound", "traffic mirror filter rule"}
	kTMS  = kind{"tms", "InvalidTrafficMirrorSessionId.Malformed", "InvalidTrafficMirrorSessionId.NotFound", "traffic mirror session"}
)

// mirrorTaggables are the Traffic Mirroring objects CreateTags reaches; a
// filter rule's tags are annotations (the topology file keeps none).
func mirrorTaggables(t *vpc.Topology) []taggable {
	tm := &t.TrafficMirror
	var out []taggable
	for i := range tm.Targets {
		out = append(out, taggable{tm.Targets[i].ID, "traffic-mirror-target", &tm.Targets[i].Tags})
	}
	for i := range tm.Filters {
		f := &tm.Filters[i]
		out = append(out, taggable{f.ID, "traffic-mirror-filter", &f.Tags})
		for _, r := range slices.Concat(f.Inbound, f.Outbound) {
			out = append(out, taggable{r.ID, "traffic-mirror-filter-rule", nil})
		}
	}
	for i := range tm.Sessions {
		out = append(out, taggable{tm.Sessions[i].ID, "traffic-mirror-session", &tm.Sessions[i].Tags})
	}
	return out
}

// --- Targets ---

type createTrafficMirrorTargetIn struct {
	NetworkInterfaceID            string             `ec2:"NetworkInterfaceId"`
	NetworkLoadBalancerArn        string             `ec2:"NetworkLoadBalancerArn"`
	GatewayLoadBalancerEndpointID string             `ec2:"GatewayLoadBalancerEndpointId"`
	Description                   string             `ec2:"Description"`
	TagSpecifications             []TagSpecification `ec2:"TagSpecification"`
	ClientToken                   string             `ec2:"ClientToken"`
	DryRun                        bool               `ec2:"DryRun"`
}

type createTrafficMirrorTargetOut struct {
	TrafficMirrorTarget awsshape.TrafficMirrorTarget `xml:"trafficMirrorTarget"`
	ClientToken         string                       `xml:"clientToken,omitempty"`
}

func createTrafficMirrorTarget(c *call, in *createTrafficMirrorTargetIn) (*createTrafficMirrorTargetOut, error) {
	switch {
	case in.NetworkLoadBalancerArn != "" || in.GatewayLoadBalancerEndpointID != "":
		return nil, Errorf("UnsupportedOperation", "vpcemu emulates network interface targets only (TM-1): give NetworkInterfaceId, not a Network Load Balancer or a Gateway Load Balancer endpoint.")
	case in.NetworkInterfaceID == "":
		return nil, missing("NetworkInterfaceId")
	}
	tags, err := tagsFor(in.TagSpecifications, "traffic-mirror-target")
	if err != nil {
		return nil, err
	}
	id := newID("tmt")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		if eniByID(t, in.NetworkInterfaceID) == nil {
			return kENI.notFound(in.NetworkInterfaceID)
		}
		t.TrafficMirror.Targets = append(t.TrafficMirror.Targets, vpc.MirrorTarget{ID: id, ENI: in.NetworkInterfaceID,
			Description: in.Description, Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createTrafficMirrorTargetOut{TrafficMirrorTarget: v.TrafficMirrorTarget(v.T.MirrorTarget(id)), ClientToken: in.ClientToken}, nil
}

type describeTrafficMirrorTargetsIn struct {
	TrafficMirrorTargetIDs []string `ec2:"TrafficMirrorTargetId"`
	Filters                []Filter `ec2:"Filter"`
	MaxResults             *int32   `ec2:"MaxResults"`
	NextToken              string   `ec2:"NextToken"`
	DryRun                 bool     `ec2:"DryRun"`
}

type describeTrafficMirrorTargetsOut struct {
	TrafficMirrorTargets awsshape.List[awsshape.TrafficMirrorTarget] `xml:"trafficMirrorTargetSet"`
	NextToken            string                                      `xml:"nextToken,omitempty"`
}

var mirrorTargetFilters = filterFns[awsshape.TrafficMirrorTarget]{
	"traffic-mirror-target-id":  func(x *awsshape.TrafficMirrorTarget) []string { return one(x.TrafficMirrorTargetID) },
	"network-interface-id":      func(x *awsshape.TrafficMirrorTarget) []string { return one(x.NetworkInterfaceID) },
	"network-load-balancer-arn": func(*awsshape.TrafficMirrorTarget) []string { return nil },
	"description":               func(x *awsshape.TrafficMirrorTarget) []string { return one(x.Description) },
	"owner-id":                  func(x *awsshape.TrafficMirrorTarget) []string { return one(x.OwnerID) },
}

func describeTrafficMirrorTargets(c *call, in *describeTrafficMirrorTargetsIn) (*describeTrafficMirrorTargetsOut, error) {
	items, err := selectIDs(c.view().TrafficMirrorTargets(), in.TrafficMirrorTargetIDs,
		func(x *awsshape.TrafficMirrorTarget) string { return x.TrafficMirrorTargetID }, kTMT)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, mirrorTargetFilters, func(x *awsshape.TrafficMirrorTarget) awsshape.List[awsshape.Tag] { return x.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeTrafficMirrorTargetsOut{TrafficMirrorTargets: items, NextToken: next}, nil
}

type deleteTrafficMirrorTargetIn struct {
	TrafficMirrorTargetID string `ec2:"TrafficMirrorTargetId,required"`
	DryRun                bool   `ec2:"DryRun"`
}

type deleteTrafficMirrorTargetOut struct {
	TrafficMirrorTargetID string `xml:"trafficMirrorTargetId"`
}

func deleteTrafficMirrorTarget(c *call, in *deleteTrafficMirrorTargetIn) (*deleteTrafficMirrorTargetOut, error) {
	id := in.TrafficMirrorTargetID
	_, err := c.apply(func(t *vpc.Topology) error {
		tm := &t.TrafficMirror
		i := slices.IndexFunc(tm.Targets, func(x vpc.MirrorTarget) bool { return x.ID == id })
		if i < 0 {
			return kTMT.notFound(id)
		}
		if j := slices.IndexFunc(tm.Sessions, func(s vpc.MirrorSession) bool { return s.Target == id }); j >= 0 {
			return Errorf("DependencyViolation", "The traffic mirror target '%s' is in use by traffic mirror session '%s': delete the session first.", id, tm.Sessions[j].ID)
		}
		tm.Targets = slices.Delete(tm.Targets, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &deleteTrafficMirrorTargetOut{TrafficMirrorTargetID: id}, nil
}

// --- Filters ---

type createTrafficMirrorFilterIn struct {
	Description       string             `ec2:"Description"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	ClientToken       string             `ec2:"ClientToken"`
	DryRun            bool               `ec2:"DryRun"`
}

type createTrafficMirrorFilterOut struct {
	TrafficMirrorFilter awsshape.TrafficMirrorFilter `xml:"trafficMirrorFilter"`
	ClientToken         string                       `xml:"clientToken,omitempty"`
}

func createTrafficMirrorFilter(c *call, in *createTrafficMirrorFilterIn) (*createTrafficMirrorFilterOut, error) {
	tags, err := tagsFor(in.TagSpecifications, "traffic-mirror-filter")
	if err != nil {
		return nil, err
	}
	id := newID("tmf")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		t.TrafficMirror.Filters = append(t.TrafficMirror.Filters, vpc.MirrorFilter{ID: id, Description: in.Description, Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createTrafficMirrorFilterOut{TrafficMirrorFilter: v.TrafficMirrorFilter(v.T.MirrorFilter(id)), ClientToken: in.ClientToken}, nil
}

type describeTrafficMirrorFiltersIn struct {
	TrafficMirrorFilterIDs []string `ec2:"TrafficMirrorFilterId"`
	Filters                []Filter `ec2:"Filter"`
	MaxResults             *int32   `ec2:"MaxResults"`
	NextToken              string   `ec2:"NextToken"`
	DryRun                 bool     `ec2:"DryRun"`
}

type describeTrafficMirrorFiltersOut struct {
	TrafficMirrorFilters awsshape.List[awsshape.TrafficMirrorFilter] `xml:"trafficMirrorFilterSet"`
	NextToken            string                                      `xml:"nextToken,omitempty"`
}

var mirrorFilterFilters = filterFns[awsshape.TrafficMirrorFilter]{
	"traffic-mirror-filter-id": func(x *awsshape.TrafficMirrorFilter) []string { return one(x.TrafficMirrorFilterID) },
	"description":              func(x *awsshape.TrafficMirrorFilter) []string { return one(x.Description) },
}

func describeTrafficMirrorFilters(c *call, in *describeTrafficMirrorFiltersIn) (*describeTrafficMirrorFiltersOut, error) {
	items, err := selectIDs(c.view().TrafficMirrorFilters(), in.TrafficMirrorFilterIDs,
		func(x *awsshape.TrafficMirrorFilter) string { return x.TrafficMirrorFilterID }, kTMF)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, mirrorFilterFilters, func(x *awsshape.TrafficMirrorFilter) awsshape.List[awsshape.Tag] { return x.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeTrafficMirrorFiltersOut{TrafficMirrorFilters: items, NextToken: next}, nil
}

type deleteTrafficMirrorFilterIn struct {
	TrafficMirrorFilterID string `ec2:"TrafficMirrorFilterId,required"`
	DryRun                bool   `ec2:"DryRun"`
}

type deleteTrafficMirrorFilterOut struct {
	TrafficMirrorFilterID string `xml:"trafficMirrorFilterId"`
}

func deleteTrafficMirrorFilter(c *call, in *deleteTrafficMirrorFilterIn) (*deleteTrafficMirrorFilterOut, error) {
	id := in.TrafficMirrorFilterID
	var ruleIDs []string
	_, err := c.apply(func(t *vpc.Topology) error {
		tm := &t.TrafficMirror
		i := slices.IndexFunc(tm.Filters, func(x vpc.MirrorFilter) bool { return x.ID == id })
		if i < 0 {
			return kTMF.notFound(id)
		}
		if j := slices.IndexFunc(tm.Sessions, func(s vpc.MirrorSession) bool { return s.Filter == id }); j >= 0 {
			return Errorf("DependencyViolation", "The traffic mirror filter '%s' is in use by traffic mirror session '%s': delete the session first.", id, tm.Sessions[j].ID)
		}
		for _, r := range slices.Concat(tm.Filters[i].Inbound, tm.Filters[i].Outbound) {
			ruleIDs = append(ruleIDs, r.ID)
		}
		tm.Filters = slices.Delete(tm.Filters, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range ruleIDs {
		delete(c.reg.ann.Tags, r)
	}
	return &deleteTrafficMirrorFilterOut{TrafficMirrorFilterID: id}, nil
}

type modifyTrafficMirrorFilterNetworkServicesIn struct {
	TrafficMirrorFilterID string   `ec2:"TrafficMirrorFilterId,required"`
	AddNetworkServices    []string `ec2:"AddNetworkService"`
	RemoveNetworkServices []string `ec2:"RemoveNetworkService"`
	DryRun                bool     `ec2:"DryRun"`
}

type modifyTrafficMirrorFilterNetworkServicesOut struct {
	TrafficMirrorFilter awsshape.TrafficMirrorFilter `xml:"trafficMirrorFilter"`
}

// modifyTrafficMirrorFilterNetworkServices opts a filter in or out of AWS
// services' traffic (TM-6: amazon-dns).
func modifyTrafficMirrorFilterNetworkServices(c *call, in *modifyTrafficMirrorFilterNetworkServicesIn) (*modifyTrafficMirrorFilterNetworkServicesOut, error) {
	for i, s := range slices.Concat(in.AddNetworkServices, in.RemoveNetworkServices) {
		if s != vpc.MirrorServiceAmazonDNS {
			param := "AddNetworkService"
			if i >= len(in.AddNetworkServices) {
				param = "RemoveNetworkService"
			}
			return nil, invalidValue("Value (%s) for parameter %s is invalid. Valid: %s.", s, param, vpc.MirrorServiceAmazonDNS)
		}
	}
	id := in.TrafficMirrorFilterID
	v, err := c.apply(func(t *vpc.Topology) error {
		f := t.MirrorFilter(id)
		if f == nil {
			return kTMF.notFound(id)
		}
		for _, s := range in.AddNetworkServices {
			if !slices.Contains(f.NetworkServices, s) {
				f.NetworkServices = append(f.NetworkServices, s)
			}
		}
		f.NetworkServices = slices.DeleteFunc(f.NetworkServices, func(s string) bool { return slices.Contains(in.RemoveNetworkServices, s) })
		if len(f.NetworkServices) == 0 {
			f.NetworkServices = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &modifyTrafficMirrorFilterNetworkServicesOut{TrafficMirrorFilter: v.TrafficMirrorFilter(v.T.MirrorFilter(id))}, nil
}

// --- Filter rules ---

type mirrorPortsIn struct {
	FromPort *int32 `ec2:"FromPort"`
	ToPort   *int32 `ec2:"ToPort"`
}

// ruleFieldsIn are the fields CreateTrafficMirrorFilterRule and
// ModifyTrafficMirrorFilterRule share.
type ruleFieldsIn struct {
	DestinationPortRange *mirrorPortsIn `ec2:"DestinationPortRange"`
	SourcePortRange      *mirrorPortsIn `ec2:"SourcePortRange"`
	Protocol             *int32         `ec2:"Protocol"`
	Description          *string        `ec2:"Description"`
}

// set applies the fields given to r; CIDRs, numbers, action and direction
// are the callers'.
func (f *ruleFieldsIn) set(r *vpc.MirrorRule) *Error {
	if f.Protocol != nil {
		if *f.Protocol < 0 || *f.Protocol > 255 {
			return invalidValue("Value (%d) for parameter protocol is invalid. Valid: an IANA protocol number 0-255, or no Protocol for all protocols.", *f.Protocol)
		}
		r.Protocol = int(*f.Protocol)
	}
	for _, pr := range []struct {
		param string
		in    *mirrorPortsIn
		out   *vpc.PortRange
	}{{"DestinationPortRange", f.DestinationPortRange, &r.DstPorts}, {"SourcePortRange", f.SourcePortRange, &r.SrcPorts}} {
		if pr.in == nil {
			continue
		}
		p := vpc.AllPorts
		if pr.in.FromPort != nil {
			p.From = int(*pr.in.FromPort)
		}
		if pr.in.ToPort != nil {
			p.To = int(*pr.in.ToPort)
		}
		if p.From < 0 || p.To > 65535 || p.From > p.To {
			return invalidValue("Value (%d-%d) for parameter %s is invalid. Valid: FromPort and ToPort from 0 to 65535, FromPort not above ToPort.", p.From, p.To, pr.param)
		}
		*pr.out = p
	}
	if f.Description != nil {
		r.Description = *f.Description
	}
	return nil
}

// direction reads TrafficDirection: outbound for egress.
func direction(s string) (bool, *Error) {
	switch s {
	case "ingress":
		return false, nil
	case "egress":
		return true, nil
	}
	return false, invalidValue("Value (%s) for parameter trafficDirection is invalid. Valid: ingress, egress.", s)
}

// ruleAction reads RuleAction: accept mirrors.
func ruleAction(s string) (bool, *Error) {
	switch s {
	case "accept":
		return true, nil
	case "reject":
		return false, nil
	}
	return false, invalidValue("Value (%s) for parameter ruleAction is invalid. Valid: accept, reject.", s)
}

// mirrorCIDR reads a rule's CIDR of either family; the topology's
// validation checks that both are of one.
func mirrorCIDR(param, s string) (netip.Prefix, *Error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return netip.Prefix{}, invalidValue("Value (%s) for parameter %s is invalid. This is not a valid CIDR block.", s, param)
	}
	return p.Masked(), nil
}

// findRule finds the rule with id in t: its filter, its list and its
// index there, and whether it is outbound.
func findRule(t *vpc.Topology, id string) (f *vpc.MirrorFilter, rules *[]vpc.MirrorRule, i int, outbound bool) {
	for k := range t.TrafficMirror.Filters {
		f = &t.TrafficMirror.Filters[k]
		for _, dir := range []struct {
			rules *[]vpc.MirrorRule
			out   bool
		}{{&f.Inbound, false}, {&f.Outbound, true}} {
			if i := slices.IndexFunc(*dir.rules, func(r vpc.MirrorRule) bool { return r.ID == id }); i >= 0 {
				return f, dir.rules, i, dir.out
			}
		}
	}
	return nil, nil, -1, false
}

// insertMirrorRule adds r to rules in rule-number order.
func insertMirrorRule(rules *[]vpc.MirrorRule, r vpc.MirrorRule) {
	i, _ := slices.BinarySearchFunc(*rules, r.Number, func(x vpc.MirrorRule, n int) int { return x.Number - n })
	*rules = slices.Insert(*rules, i, r)
}

type createTrafficMirrorFilterRuleIn struct {
	TrafficMirrorFilterID string `ec2:"TrafficMirrorFilterId,required"`
	TrafficDirection      string `ec2:"TrafficDirection,required"`
	RuleNumber            int32  `ec2:"RuleNumber,required"`
	RuleAction            string `ec2:"RuleAction,required"`
	DestinationCidrBlock  string `ec2:"DestinationCidrBlock,required"`
	SourceCidrBlock       string `ec2:"SourceCidrBlock,required"`
	ruleFieldsIn
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	ClientToken       string             `ec2:"ClientToken"`
	DryRun            bool               `ec2:"DryRun"`
}

type createTrafficMirrorFilterRuleOut struct {
	TrafficMirrorFilterRule awsshape.TrafficMirrorFilterRule `xml:"trafficMirrorFilterRule"`
	ClientToken             string                           `xml:"clientToken,omitempty"`
}

func createTrafficMirrorFilterRule(c *call, in *createTrafficMirrorFilterRuleIn) (*createTrafficMirrorFilterRuleOut, error) {
	outbound, err := direction(in.TrafficDirection)
	if err != nil {
		return nil, err
	}
	r := vpc.MirrorRule{ID: newID("tmfr"), Number: int(in.RuleNumber), Protocol: vpc.ProtoAll, SrcPorts: vpc.AllPorts, DstPorts: vpc.AllPorts}
	if r.Accept, err = ruleAction(in.RuleAction); err != nil {
		return nil, err
	}
	if r.SrcCIDR, err = mirrorCIDR("sourceCidrBlock", in.SourceCidrBlock); err != nil {
		return nil, err
	}
	if r.DstCIDR, err = mirrorCIDR("destinationCidrBlock", in.DestinationCidrBlock); err != nil {
		return nil, err
	}
	if err := in.set(&r); err != nil {
		return nil, err
	}
	tags, err := tagsFor(in.TagSpecifications, "traffic-mirror-filter-rule")
	if err != nil {
		return nil, err
	}
	v, aerr := c.apply(func(t *vpc.Topology) error {
		f := t.MirrorFilter(in.TrafficMirrorFilterID)
		if f == nil {
			return kTMF.notFound(in.TrafficMirrorFilterID)
		}
		if outbound {
			insertMirrorRule(&f.Outbound, r)
		} else {
			insertMirrorRule(&f.Inbound, r)
		}
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	if len(tags) > 0 {
		c.reg.ann.Tags[r.ID] = tags
	}
	f, rules, i, _ := findRule(v.T, r.ID)
	return &createTrafficMirrorFilterRuleOut{TrafficMirrorFilterRule: v.TrafficMirrorFilterRule(f, outbound, &(*rules)[i]), ClientToken: in.ClientToken}, nil
}

type modifyTrafficMirrorFilterRuleIn struct {
	TrafficMirrorFilterRuleID string   `ec2:"TrafficMirrorFilterRuleId,required"`
	TrafficDirection          string   `ec2:"TrafficDirection"`
	RuleNumber                *int32   `ec2:"RuleNumber"`
	RuleAction                string   `ec2:"RuleAction"`
	DestinationCidrBlock      string   `ec2:"DestinationCidrBlock"`
	SourceCidrBlock           string   `ec2:"SourceCidrBlock"`
	RemoveFields              []string `ec2:"RemoveField"`
	ruleFieldsIn
	DryRun bool `ec2:"DryRun"`
}

type modifyTrafficMirrorFilterRuleOut struct {
	TrafficMirrorFilterRule awsshape.TrafficMirrorFilterRule `xml:"trafficMirrorFilterRule"`
}

// modifyTrafficMirrorFilterRule changes the fields given and clears those
// of RemoveField; the rule keeps its id, also when it changes number or
// direction.
func modifyTrafficMirrorFilterRule(c *call, in *modifyTrafficMirrorFilterRuleIn) (*modifyTrafficMirrorFilterRuleOut, error) {
	id := in.TrafficMirrorFilterRuleID
	var setOut *bool
	if in.TrafficDirection != "" {
		out, err := direction(in.TrafficDirection)
		if err != nil {
			return nil, err
		}
		setOut = &out
	}
	var accept *bool
	if in.RuleAction != "" {
		a, err := ruleAction(in.RuleAction)
		if err != nil {
			return nil, err
		}
		accept = &a
	}
	var src, dst netip.Prefix
	var err *Error
	if in.SourceCidrBlock != "" {
		if src, err = mirrorCIDR("sourceCidrBlock", in.SourceCidrBlock); err != nil {
			return nil, err
		}
	}
	if in.DestinationCidrBlock != "" {
		if dst, err = mirrorCIDR("destinationCidrBlock", in.DestinationCidrBlock); err != nil {
			return nil, err
		}
	}
	for _, f := range in.RemoveFields {
		switch f {
		case "destination-port-range", "source-port-range", "protocol", "description":
		default:
			return nil, invalidValue("Value (%s) for parameter RemoveField is invalid. Valid: destination-port-range, source-port-range, protocol, description.", f)
		}
	}
	var outbound bool
	v, aerr := c.apply(func(t *vpc.Topology) error {
		f, rules, i, wasOut := findRule(t, id)
		if rules == nil {
			return kTMFR.notFound(id)
		}
		r := (*rules)[i]
		*rules = slices.Delete(*rules, i, i+1)
		for _, field := range in.RemoveFields {
			switch field {
			case "destination-port-range":
				r.DstPorts = vpc.AllPorts
			case "source-port-range":
				r.SrcPorts = vpc.AllPorts
			case "protocol":
				r.Protocol = vpc.ProtoAll
			case "description":
				r.Description = ""
			}
		}
		if in.RuleNumber != nil {
			r.Number = int(*in.RuleNumber)
		}
		if accept != nil {
			r.Accept = *accept
		}
		if src.IsValid() {
			r.SrcCIDR = src
		}
		if dst.IsValid() {
			r.DstCIDR = dst
		}
		if err := in.set(&r); err != nil {
			return err
		}
		outbound = wasOut
		if setOut != nil {
			outbound = *setOut
		}
		if outbound {
			insertMirrorRule(&f.Outbound, r)
		} else {
			insertMirrorRule(&f.Inbound, r)
		}
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	f, rules, i, _ := findRule(v.T, id)
	return &modifyTrafficMirrorFilterRuleOut{TrafficMirrorFilterRule: v.TrafficMirrorFilterRule(f, outbound, &(*rules)[i])}, nil
}

type deleteTrafficMirrorFilterRuleIn struct {
	TrafficMirrorFilterRuleID string `ec2:"TrafficMirrorFilterRuleId,required"`
	DryRun                    bool   `ec2:"DryRun"`
}

type deleteTrafficMirrorFilterRuleOut struct {
	TrafficMirrorFilterRuleID string `xml:"trafficMirrorFilterRuleId"`
}

func deleteTrafficMirrorFilterRule(c *call, in *deleteTrafficMirrorFilterRuleIn) (*deleteTrafficMirrorFilterRuleOut, error) {
	id := in.TrafficMirrorFilterRuleID
	_, err := c.apply(func(t *vpc.Topology) error {
		_, rules, i, _ := findRule(t, id)
		if rules == nil {
			return kTMFR.notFound(id)
		}
		*rules = slices.Delete(*rules, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	delete(c.reg.ann.Tags, id)
	return &deleteTrafficMirrorFilterRuleOut{TrafficMirrorFilterRuleID: id}, nil
}

type describeTrafficMirrorFilterRulesIn struct {
	TrafficMirrorFilterRuleIDs []string `ec2:"TrafficMirrorFilterRuleId"`
	TrafficMirrorFilterID      string   `ec2:"TrafficMirrorFilterId"`
	Filters                    []Filter `ec2:"Filter"`
	MaxResults                 *int32   `ec2:"MaxResults"`
	NextToken                  string   `ec2:"NextToken"`
	DryRun                     bool     `ec2:"DryRun"`
}

type describeTrafficMirrorFilterRulesOut struct {
	TrafficMirrorFilterRules awsshape.List[awsshape.TrafficMirrorFilterRule] `xml:"trafficMirrorFilterRuleSet"`
	NextToken                string                                          `xml:"nextToken,omitempty"`
}

// mirrorRuleFilters are AWS's filters of DescribeTrafficMirrorFilterRules;
// protocol and rule-number match the numbers a rule shows, so a rule for
// all protocols matches no protocol value (TM-API-7 [INTERP]).
var mirrorRuleFilters = filterFns[awsshape.TrafficMirrorFilterRule]{
	"traffic-mirror-filter-rule-id": func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.TrafficMirrorFilterRuleID) },
	"traffic-mirror-filter-id":      func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.TrafficMirrorFilterID) },
	"rule-number":                   func(x *awsshape.TrafficMirrorFilterRule) []string { return intStr(x.RuleNumber) },
	"rule-action":                   func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.RuleAction) },
	"traffic-direction":             func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.TrafficDirection) },
	"protocol":                      func(x *awsshape.TrafficMirrorFilterRule) []string { return intStr(x.Protocol) },
	"source-cidr-block":             func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.SourceCidrBlock) },
	"destination-cidr-block":        func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.DestinationCidrBlock) },
	"description":                   func(x *awsshape.TrafficMirrorFilterRule) []string { return one(x.Description) },
}

// describeTrafficMirrorFilterRules lists filter rules: those of
// TrafficMirrorFilterId when given (which must exist), the ids asked for
// (each must exist, in that filter when one is named), then Filter.N.
func describeTrafficMirrorFilterRules(c *call, in *describeTrafficMirrorFilterRulesIn) (*describeTrafficMirrorFilterRulesOut, error) {
	v := c.view()
	items := v.TrafficMirrorFilterRules()
	if id := in.TrafficMirrorFilterID; id != "" {
		if v.T.MirrorFilter(id) == nil {
			return nil, kTMF.notFound(id)
		}
		items = slices.DeleteFunc(items, func(r awsshape.TrafficMirrorFilterRule) bool { return r.TrafficMirrorFilterID != id })
	}
	items, err := selectIDs(items, in.TrafficMirrorFilterRuleIDs,
		func(x *awsshape.TrafficMirrorFilterRule) string { return x.TrafficMirrorFilterRuleID }, kTMFR)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, mirrorRuleFilters, func(x *awsshape.TrafficMirrorFilterRule) awsshape.List[awsshape.Tag] { return x.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeTrafficMirrorFilterRulesOut{TrafficMirrorFilterRules: items, NextToken: next}, nil
}

// --- Sessions ---

type createTrafficMirrorSessionIn struct {
	NetworkInterfaceID    string             `ec2:"NetworkInterfaceId,required"`
	TrafficMirrorTargetID string             `ec2:"TrafficMirrorTargetId,required"`
	TrafficMirrorFilterID string             `ec2:"TrafficMirrorFilterId,required"`
	SessionNumber         int32              `ec2:"SessionNumber,required"`
	PacketLength          *int32             `ec2:"PacketLength"`
	VirtualNetworkID      *int32             `ec2:"VirtualNetworkId"`
	Description           string             `ec2:"Description"`
	TagSpecifications     []TagSpecification `ec2:"TagSpecification"`
	ClientToken           string             `ec2:"ClientToken"`
	DryRun                bool               `ec2:"DryRun"`
}

type createTrafficMirrorSessionOut struct {
	TrafficMirrorSession awsshape.TrafficMirrorSession `xml:"trafficMirrorSession"`
	ClientToken          string                        `xml:"clientToken,omitempty"`
}

// sessionRefs answers the ids a session names that name nothing, as AWS
// does, before the topology's validation would.
func sessionRefs(t *vpc.Topology, eni, target, filter string) *Error {
	switch {
	case eni != "" && eniByID(t, eni) == nil:
		return kENI.notFound(eni)
	case target != "" && t.MirrorTarget(target) == nil:
		return kTMT.notFound(target)
	case filter != "" && t.MirrorFilter(filter) == nil:
		return kTMF.notFound(filter)
	}
	return nil
}

func createTrafficMirrorSession(c *call, in *createTrafficMirrorSessionIn) (*createTrafficMirrorSessionOut, error) {
	tags, err := tagsFor(in.TagSpecifications, "traffic-mirror-session")
	if err != nil {
		return nil, err
	}
	s := vpc.MirrorSession{ID: newID("tms"), Source: in.NetworkInterfaceID, Target: in.TrafficMirrorTargetID, Filter: in.TrafficMirrorFilterID,
		Number: int(in.SessionNumber), VNI: -1, Description: in.Description, Tags: tags}
	if in.VirtualNetworkID != nil {
		s.VNI = int(*in.VirtualNetworkID)
		if s.VNI < 0 {
			return nil, invalidValue("Value (%d) for parameter virtualNetworkId is invalid. Valid: 0 to %d.", s.VNI, vpc.MirrorMaxVNI)
		}
	}
	if in.PacketLength != nil {
		if s.PacketLength = int(*in.PacketLength); s.PacketLength < 1 {
			return nil, invalidValue("Value (%d) for parameter packetLength is invalid. Valid: 1 to %d, or no PacketLength for whole packets.", s.PacketLength, vpc.MirrorMaxPacketLength)
		}
	}
	v, aerr := c.apply(func(t *vpc.Topology) error {
		if err := sessionRefs(t, s.Source, s.Target, s.Filter); err != nil {
			return err
		}
		t.TrafficMirror.Sessions = append(t.TrafficMirror.Sessions, s)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createTrafficMirrorSessionOut{TrafficMirrorSession: v.TrafficMirrorSession(mirrorSession(v.T, s.ID)), ClientToken: in.ClientToken}, nil
}

func mirrorSession(t *vpc.Topology, id string) *vpc.MirrorSession {
	for i := range t.TrafficMirror.Sessions {
		if t.TrafficMirror.Sessions[i].ID == id {
			return &t.TrafficMirror.Sessions[i]
		}
	}
	return nil
}

type describeTrafficMirrorSessionsIn struct {
	TrafficMirrorSessionIDs []string `ec2:"TrafficMirrorSessionId"`
	Filters                 []Filter `ec2:"Filter"`
	MaxResults              *int32   `ec2:"MaxResults"`
	NextToken               string   `ec2:"NextToken"`
	DryRun                  bool     `ec2:"DryRun"`
}

type describeTrafficMirrorSessionsOut struct {
	TrafficMirrorSessions awsshape.List[awsshape.TrafficMirrorSession] `xml:"trafficMirrorSessionSet"`
	NextToken             string                                       `xml:"nextToken,omitempty"`
}

var mirrorSessionFilters = filterFns[awsshape.TrafficMirrorSession]{
	"traffic-mirror-session-id": func(x *awsshape.TrafficMirrorSession) []string { return one(x.TrafficMirrorSessionID) },
	"traffic-mirror-target-id":  func(x *awsshape.TrafficMirrorSession) []string { return one(x.TrafficMirrorTargetID) },
	"traffic-mirror-filter-id":  func(x *awsshape.TrafficMirrorSession) []string { return one(x.TrafficMirrorFilterID) },
	"network-interface-id":      func(x *awsshape.TrafficMirrorSession) []string { return one(x.NetworkInterfaceID) },
	"session-number":            func(x *awsshape.TrafficMirrorSession) []string { return intStr(x.SessionNumber) },
	"virtual-network-id":        func(x *awsshape.TrafficMirrorSession) []string { return intStr(x.VirtualNetworkID) },
	"packet-length":             func(x *awsshape.TrafficMirrorSession) []string { return intStr(x.PacketLength) },
	"description":               func(x *awsshape.TrafficMirrorSession) []string { return one(x.Description) },
	"owner-id":                  func(x *awsshape.TrafficMirrorSession) []string { return one(x.OwnerID) },
}

func describeTrafficMirrorSessions(c *call, in *describeTrafficMirrorSessionsIn) (*describeTrafficMirrorSessionsOut, error) {
	items, err := selectIDs(c.view().TrafficMirrorSessions(), in.TrafficMirrorSessionIDs,
		func(x *awsshape.TrafficMirrorSession) string { return x.TrafficMirrorSessionID }, kTMS)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, mirrorSessionFilters, func(x *awsshape.TrafficMirrorSession) awsshape.List[awsshape.Tag] { return x.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeTrafficMirrorSessionsOut{TrafficMirrorSessions: items, NextToken: next}, nil
}

type modifyTrafficMirrorSessionIn struct {
	TrafficMirrorSessionID string   `ec2:"TrafficMirrorSessionId,required"`
	TrafficMirrorTargetID  string   `ec2:"TrafficMirrorTargetId"`
	TrafficMirrorFilterID  string   `ec2:"TrafficMirrorFilterId"`
	PacketLength           *int32   `ec2:"PacketLength"`
	SessionNumber          *int32   `ec2:"SessionNumber"`
	VirtualNetworkID       *int32   `ec2:"VirtualNetworkId"`
	Description            *string  `ec2:"Description"`
	RemoveFields           []string `ec2:"RemoveField"`
	DryRun                 bool     `ec2:"DryRun"`
}

type modifyTrafficMirrorSessionOut struct {
	TrafficMirrorSession awsshape.TrafficMirrorSession `xml:"trafficMirrorSession"`
}

// modifyTrafficMirrorSession changes the fields given and clears those of
// RemoveField: no packet length (whole packets), no description, a new
// VNI (TM-2: one derived, as for a session created without one).
func modifyTrafficMirrorSession(c *call, in *modifyTrafficMirrorSessionIn) (*modifyTrafficMirrorSessionOut, error) {
	for _, f := range in.RemoveFields {
		switch f {
		case "packet-length", "description", "virtual-network-id":
		default:
			return nil, invalidValue("Value (%s) for parameter RemoveField is invalid. Valid: packet-length, description, virtual-network-id.", f)
		}
	}
	if in.VirtualNetworkID != nil && *in.VirtualNetworkID < 0 {
		return nil, invalidValue("Value (%d) for parameter virtualNetworkId is invalid. Valid: 0 to %d.", *in.VirtualNetworkID, vpc.MirrorMaxVNI)
	}
	if in.PacketLength != nil && *in.PacketLength < 1 {
		return nil, invalidValue("Value (%d) for parameter packetLength is invalid. Valid: 1 to %d, or RemoveField packet-length for whole packets.", *in.PacketLength, vpc.MirrorMaxPacketLength)
	}
	id := in.TrafficMirrorSessionID
	v, err := c.apply(func(t *vpc.Topology) error {
		s := mirrorSession(t, id)
		if s == nil {
			return kTMS.notFound(id)
		}
		if err := sessionRefs(t, "", in.TrafficMirrorTargetID, in.TrafficMirrorFilterID); err != nil {
			return err
		}
		for _, f := range in.RemoveFields {
			switch f {
			case "packet-length":
				s.PacketLength = 0
			case "description":
				s.Description = ""
			case "virtual-network-id":
				s.VNI = -1
			}
		}
		if in.TrafficMirrorTargetID != "" {
			s.Target = in.TrafficMirrorTargetID
		}
		if in.TrafficMirrorFilterID != "" {
			s.Filter = in.TrafficMirrorFilterID
		}
		if in.PacketLength != nil {
			s.PacketLength = int(*in.PacketLength)
		}
		if in.SessionNumber != nil {
			s.Number = int(*in.SessionNumber)
		}
		if in.VirtualNetworkID != nil {
			s.VNI = int(*in.VirtualNetworkID)
		}
		if in.Description != nil {
			s.Description = *in.Description
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &modifyTrafficMirrorSessionOut{TrafficMirrorSession: v.TrafficMirrorSession(mirrorSession(v.T, id))}, nil
}

type deleteTrafficMirrorSessionIn struct {
	TrafficMirrorSessionID string `ec2:"TrafficMirrorSessionId,required"`
	DryRun                 bool   `ec2:"DryRun"`
}

type deleteTrafficMirrorSessionOut struct {
	TrafficMirrorSessionID string `xml:"trafficMirrorSessionId"`
}

func deleteTrafficMirrorSession(c *call, in *deleteTrafficMirrorSessionIn) (*deleteTrafficMirrorSessionOut, error) {
	id := in.TrafficMirrorSessionID
	_, err := c.apply(func(t *vpc.Topology) error {
		tm := &t.TrafficMirror
		i := slices.IndexFunc(tm.Sessions, func(s vpc.MirrorSession) bool { return s.ID == id })
		if i < 0 {
			return kTMS.notFound(id)
		}
		tm.Sessions = slices.Delete(tm.Sessions, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &deleteTrafficMirrorSessionOut{TrafficMirrorSessionID: id}, nil
}
