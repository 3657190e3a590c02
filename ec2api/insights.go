package ec2api

import (
	"slices"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Reachability Analyzer: a path names a source, a destination and a flow;
// an analysis of it is rules.Explain over the committed topology, the
// same answer `vpcemu explain -o json` gives (RA-2).

type insightsPath struct {
	id, source, destination, sourceIP, destinationIP, protocol string
	port                                                       *int32
	created                                                    time.Time
	tags                                                       vpc.Tags
}

type insightsAnalysis struct {
	id, pathID string
	start      time.Time
	result     *rules.Analysis
	tags       vpc.Tags
}

type createNetworkInsightsPathIn struct {
	Source            string             `ec2:"Source,required"`
	Destination       string             `ec2:"Destination"`
	SourceIP          string             `ec2:"SourceIp"`
	DestinationIP     string             `ec2:"DestinationIp"`
	Protocol          string             `ec2:"Protocol,required"`
	DestinationPort   *int32             `ec2:"DestinationPort"`
	ClientToken       string             `ec2:"ClientToken"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type networkInsightsPathOut struct {
	NetworkInsightsPathID  string                      `xml:"networkInsightsPathId"`
	NetworkInsightsPathArn string                      `xml:"networkInsightsPathArn"`
	CreatedDate            *awsshape.Time              `xml:"createdDate,omitempty"`
	Source                 string                      `xml:"source"`
	Destination            string                      `xml:"destination,omitempty"`
	SourceIP               string                      `xml:"sourceIp,omitempty"`
	DestinationIP          string                      `xml:"destinationIp,omitempty"`
	Protocol               string                      `xml:"protocol"`
	DestinationPort        *int32                      `xml:"destinationPort,omitempty"`
	Tags                   awsshape.List[awsshape.Tag] `xml:"tagSet"`
}

type createNetworkInsightsPathOut struct {
	NetworkInsightsPath networkInsightsPathOut `xml:"networkInsightsPath"`
}

func (c *call) arn(kind, id string) string {
	return "arn:aws:ec2:" + c.reg.name + ":" + c.topo().Account + ":" + kind + "/" + id
}

func (c *call) pathOut(p *insightsPath) networkInsightsPathOut {
	return networkInsightsPathOut{NetworkInsightsPathID: p.id, NetworkInsightsPathArn: c.arn("network-insights-path", p.id),
		CreatedDate: awsshape.NewTime(p.created), Source: p.source, Destination: p.destination, SourceIP: p.sourceIP,
		DestinationIP: p.destinationIP, Protocol: p.protocol, DestinationPort: p.port, Tags: awsshape.Tags(p.tags)}
}

// endpointOf is what rules.Explain is asked about for a path's end: the
// resource, else the IP address.
func endpointOf(id, ip string) string {
	if id != "" {
		return id
	}
	return ip
}

func createNetworkInsightsPath(c *call, in *createNetworkInsightsPathIn) (*createNetworkInsightsPathOut, error) {
	proto := strings.ToLower(in.Protocol)
	if proto != "tcp" && proto != "udp" {
		return nil, invalidValue("Value (%s) for parameter protocol is invalid. Valid: tcp, udp.", in.Protocol)
	}
	if in.Destination == "" && in.DestinationIP == "" {
		return nil, missing("Destination")
	}
	if in.DestinationPort == nil {
		return nil, invalidValue("vpcemu analyses one destination port: give DestinationPort [INTERP].")
	}
	if p := *in.DestinationPort; p < 1 || p > 65535 {
		return nil, invalidValue("Value (%d) for parameter destinationPort is invalid. Valid: 1-65535.", p)
	}
	t := c.topo()
	for _, end := range []string{endpointOf(in.Source, in.SourceIP), endpointOf(in.Destination, in.DestinationIP)} {
		if _, err := rules.ResolveEndpoint(t, end); err != nil {
			return nil, invalidValue("The resource '%s' is not an instance, network interface, internet host or IP address of this region: %v", end, err)
		}
	}
	tags, err := tagsFor(in.TagSpecifications, "network-insights-path")
	if err != nil {
		return nil, err
	}
	if c.dryRun {
		return nil, dryRunOK()
	}
	p := &insightsPath{id: newID("nip"), source: in.Source, destination: in.Destination, sourceIP: in.SourceIP,
		destinationIP: in.DestinationIP, protocol: proto, port: in.DestinationPort, created: c.now, tags: tags}
	c.reg.paths = append(c.reg.paths, p)
	return &createNetworkInsightsPathOut{NetworkInsightsPath: c.pathOut(p)}, nil
}

type describeNetworkInsightsPathsIn struct {
	DescribeCommon
	NetworkInsightsPathIDs []string `ec2:"NetworkInsightsPathId"`
}

type describeNetworkInsightsPathsOut struct {
	NetworkInsightsPaths awsshape.List[networkInsightsPathOut] `xml:"networkInsightsPathSet"`
	NextToken            string                                `xml:"nextToken,omitempty"`
}

var pathFilters = filterFns[networkInsightsPathOut]{
	"source":      func(p *networkInsightsPathOut) []string { return one(p.Source) },
	"destination": func(p *networkInsightsPathOut) []string { return one(p.Destination) },
	"protocol":    func(p *networkInsightsPathOut) []string { return one(p.Protocol) },
}

func describeNetworkInsightsPaths(c *call, in *describeNetworkInsightsPathsIn) (*describeNetworkInsightsPathsOut, error) {
	var items []networkInsightsPathOut
	for _, p := range c.reg.paths {
		items = append(items, c.pathOut(p))
	}
	items, err := selectIDs(items, in.NetworkInsightsPathIDs, func(p *networkInsightsPathOut) string { return p.NetworkInsightsPathID }, kPath)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, pathFilters, func(p *networkInsightsPathOut) awsshape.List[awsshape.Tag] { return p.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeNetworkInsightsPathsOut{NetworkInsightsPaths: items, NextToken: next}, nil
}

type deleteNetworkInsightsPathIn struct {
	NetworkInsightsPathID string `ec2:"NetworkInsightsPathId,required"`
	DryRun                bool   `ec2:"DryRun"`
}

type deleteNetworkInsightsPathOut struct {
	NetworkInsightsPathID string `xml:"networkInsightsPathId"`
}

func deleteNetworkInsightsPath(c *call, in *deleteNetworkInsightsPathIn) (*deleteNetworkInsightsPathOut, error) {
	i := slices.IndexFunc(c.reg.paths, func(p *insightsPath) bool { return p.id == in.NetworkInsightsPathID })
	if i < 0 {
		return nil, kPath.notFound(in.NetworkInsightsPathID)
	}
	if slices.ContainsFunc(c.reg.results, func(a *insightsAnalysis) bool { return a.pathID == in.NetworkInsightsPathID }) {
		return nil, Errorf("DependencyViolation", "The network insights path '%s' has analyses: delete them first.", in.NetworkInsightsPathID)
	}
	if c.dryRun {
		return nil, dryRunOK()
	}
	c.reg.paths = slices.Delete(c.reg.paths, i, i+1)
	return &deleteNetworkInsightsPathOut{NetworkInsightsPathID: in.NetworkInsightsPathID}, nil
}

type startNetworkInsightsAnalysisIn struct {
	NetworkInsightsPathID string             `ec2:"NetworkInsightsPathId,required"`
	ClientToken           string             `ec2:"ClientToken"`
	TagSpecifications     []TagSpecification `ec2:"TagSpecification"`
	DryRun                bool               `ec2:"DryRun"`
}

// XML forms of rules.Analysis (the model's locationNames).
type (
	analysisComponentX struct {
		ID   string `xml:"id"`
		Arn  string `xml:"arn,omitempty"`
		Name string `xml:"name,omitempty"`
	}
	portRangeX struct {
		From *int32 `xml:"from,omitempty"`
		To   *int32 `xml:"to,omitempty"`
	}
	aclRuleX struct {
		Cidr       string      `xml:"cidr"`
		Egress     bool        `xml:"egress"`
		PortRange  *portRangeX `xml:"portRange,omitempty"`
		Protocol   string      `xml:"protocol"`
		RuleAction string      `xml:"ruleAction"`
		RuleNumber int32       `xml:"ruleNumber"`
	}
	sgRuleX struct {
		Cidr            string      `xml:"cidr,omitempty"`
		Direction       string      `xml:"direction"`
		SecurityGroupID string      `xml:"securityGroupId"`
		PortRange       *portRangeX `xml:"portRange,omitempty"`
		PrefixListID    string      `xml:"prefixListId,omitempty"`
		Protocol        string      `xml:"protocol"`
	}
	headerX struct {
		DestinationAddresses  awsshape.List[string]     `xml:"destinationAddressSet"`
		DestinationPortRanges awsshape.List[portRangeX] `xml:"destinationPortRangeSet,omitempty"`
		Protocol              string                    `xml:"protocol"`
		SourceAddresses       awsshape.List[string]     `xml:"sourceAddressSet"`
		SourcePortRanges      awsshape.List[portRangeX] `xml:"sourcePortRangeSet,omitempty"`
	}
	pathComponentX struct {
		SequenceNumber    int32               `xml:"sequenceNumber"`
		AclRule           *aclRuleX           `xml:"aclRule,omitempty"`
		Component         analysisComponentX  `xml:"component"`
		OutboundHeader    *headerX            `xml:"outboundHeader,omitempty"`
		InboundHeader     *headerX            `xml:"inboundHeader,omitempty"`
		SecurityGroupRule *sgRuleX            `xml:"securityGroupRule,omitempty"`
		Subnet            *analysisComponentX `xml:"subnet,omitempty"`
		Vpc               *analysisComponentX `xml:"vpc,omitempty"`
	}
	explanationX struct {
		Acl              *analysisComponentX               `xml:"acl,omitempty"`
		AclRule          *aclRuleX                         `xml:"aclRule,omitempty"`
		Addresses        awsshape.List[string]             `xml:"addressSet,omitempty"`
		Component        *analysisComponentX               `xml:"component,omitempty"`
		Direction        string                            `xml:"direction,omitempty"`
		ExplanationCode  string                            `xml:"explanationCode"`
		NetworkInterface *analysisComponentX               `xml:"networkInterface,omitempty"`
		PortRanges       awsshape.List[portRangeX]         `xml:"portRangeSet,omitempty"`
		Protocols        awsshape.List[string]             `xml:"protocolSet,omitempty"`
		SecurityGroups   awsshape.List[analysisComponentX] `xml:"securityGroupSet,omitempty"`
		Subnet           *analysisComponentX               `xml:"subnet,omitempty"`
		Vpc              *analysisComponentX               `xml:"vpc,omitempty"`
	}
	networkInsightsAnalysisOut struct {
		NetworkInsightsAnalysisID  string                        `xml:"networkInsightsAnalysisId"`
		NetworkInsightsAnalysisArn string                        `xml:"networkInsightsAnalysisArn"`
		NetworkInsightsPathID      string                        `xml:"networkInsightsPathId"`
		StartDate                  *awsshape.Time                `xml:"startDate,omitempty"`
		Status                     string                        `xml:"status"`
		StatusMessage              string                        `xml:"statusMessage,omitempty"`
		NetworkPathFound           *bool                         `xml:"networkPathFound,omitempty"`
		ForwardPathComponents      awsshape.List[pathComponentX] `xml:"forwardPathComponentSet,omitempty"`
		ReturnPathComponents       awsshape.List[pathComponentX] `xml:"returnPathComponentSet,omitempty"`
		Explanations               awsshape.List[explanationX]   `xml:"explanationSet,omitempty"`
		Tags                       awsshape.List[awsshape.Tag]   `xml:"tagSet"`
	}
)

func compX(c *rules.AnalysisComponent) *analysisComponentX {
	if c == nil {
		return nil
	}
	return &analysisComponentX{ID: c.ID, Name: c.Name}
}

func portRangeOf(p *rules.AnalysisPortRange) *portRangeX {
	if p == nil {
		return nil
	}
	return &portRangeX{From: awsshape.Int(p.From), To: awsshape.Int(p.To)}
}

func portRanges(ps []rules.AnalysisPortRange) awsshape.List[portRangeX] {
	var out awsshape.List[portRangeX]
	for i := range ps {
		out = append(out, *portRangeOf(&ps[i]))
	}
	return out
}

func aclRuleOf(r *rules.AnalysisACLRule) *aclRuleX {
	if r == nil {
		return nil
	}
	return &aclRuleX{Cidr: r.CIDR, Egress: r.Egress, PortRange: portRangeOf(r.PortRange), Protocol: r.Protocol, RuleAction: r.RuleAction, RuleNumber: int32(r.RuleNumber)}
}

func headerOf(h *rules.AnalysisPacketHeader) *headerX {
	if h == nil {
		return nil
	}
	return &headerX{DestinationAddresses: h.DestinationAddresses, DestinationPortRanges: portRanges(h.DestinationPortRanges),
		Protocol: h.Protocol, SourceAddresses: h.SourceAddresses, SourcePortRanges: portRanges(h.SourcePortRanges)}
}

func componentsOf(pcs []rules.PathComponent) awsshape.List[pathComponentX] {
	var out awsshape.List[pathComponentX]
	for _, pc := range pcs {
		x := pathComponentX{SequenceNumber: int32(pc.SequenceNumber), AclRule: aclRuleOf(pc.ACLRule), Component: *compX(&pc.Component),
			OutboundHeader: headerOf(pc.OutboundHeader), InboundHeader: headerOf(pc.InboundHeader), Subnet: compX(pc.Subnet), Vpc: compX(pc.VPC)}
		if r := pc.SecurityGroupRule; r != nil {
			x.SecurityGroupRule = &sgRuleX{Cidr: r.CIDR, Direction: r.Direction, SecurityGroupID: r.SecurityGroupID,
				PortRange: portRangeOf(r.PortRange), PrefixListID: r.PrefixListID, Protocol: r.Protocol}
		}
		out = append(out, x)
	}
	return out
}

func (c *call) analysisOut(a *insightsAnalysis) networkInsightsAnalysisOut {
	r := a.result
	out := networkInsightsAnalysisOut{NetworkInsightsAnalysisID: a.id, NetworkInsightsAnalysisArn: c.arn("network-insights-analysis", a.id),
		NetworkInsightsPathID: a.pathID, StartDate: awsshape.NewTime(a.start), Status: r.Status, Tags: awsshape.Tags(a.tags)}
	if r.Status == "failed" {
		out.StatusMessage = strings.TrimPrefix(r.Verdict, "error: ")
		return out
	}
	out.NetworkPathFound = awsshape.Bool(r.NetworkPathFound)
	out.ForwardPathComponents = componentsOf(r.ForwardPathComponents)
	out.ReturnPathComponents = componentsOf(r.ReturnPathComponents)
	for _, e := range r.Explanations {
		x := explanationX{Acl: compX(e.ACL), AclRule: aclRuleOf(e.ACLRule), Addresses: e.Addresses, Component: compX(e.Component),
			Direction: e.Direction, ExplanationCode: e.ExplanationCode, NetworkInterface: compX(e.NetworkInterface),
			PortRanges: portRanges(e.PortRanges), Protocols: e.Protocols, Subnet: compX(e.Subnet), Vpc: compX(e.VPC)}
		for i := range e.SecurityGroups {
			x.SecurityGroups = append(x.SecurityGroups, *compX(&e.SecurityGroups[i]))
		}
		out.Explanations = append(out.Explanations, x)
	}
	return out
}

type startNetworkInsightsAnalysisOut struct {
	NetworkInsightsAnalysis networkInsightsAnalysisOut `xml:"networkInsightsAnalysis"`
}

// startNetworkInsightsAnalysis runs the analysis at once: vpcemu's answer
// is computed from the rules, so it is complete when the call returns.
func startNetworkInsightsAnalysis(c *call, in *startNetworkInsightsAnalysisIn) (*startNetworkInsightsAnalysisOut, error) {
	i := slices.IndexFunc(c.reg.paths, func(p *insightsPath) bool { return p.id == in.NetworkInsightsPathID })
	if i < 0 {
		return nil, kPath.notFound(in.NetworkInsightsPathID)
	}
	tags, err := tagsFor(in.TagSpecifications, "network-insights-analysis")
	if err != nil {
		return nil, err
	}
	if c.dryRun {
		return nil, dryRunOK()
	}
	p := c.reg.paths[i]
	q := rules.Query{From: endpointOf(p.source, p.sourceIP), To: endpointOf(p.destination, p.destinationIP), Protocol: vpc.ProtoTCP, Port: int(*p.port)}
	if p.protocol == "udp" {
		q.Protocol = vpc.ProtoUDP
	}
	a := &insightsAnalysis{id: newID("nia"), pathID: p.id, start: c.now, result: rules.Explain(c.topo(), q), tags: tags}
	c.reg.results = append(c.reg.results, a)
	return &startNetworkInsightsAnalysisOut{NetworkInsightsAnalysis: c.analysisOut(a)}, nil
}

type describeNetworkInsightsAnalysesIn struct {
	DescribeCommon
	NetworkInsightsAnalysisIDs []string `ec2:"NetworkInsightsAnalysisId"`
	NetworkInsightsPathID      string   `ec2:"NetworkInsightsPathId"`
}

type describeNetworkInsightsAnalysesOut struct {
	NetworkInsightsAnalyses awsshape.List[networkInsightsAnalysisOut] `xml:"networkInsightsAnalysisSet"`
	NextToken               string                                    `xml:"nextToken,omitempty"`
}

var analysisFilters = filterFns[networkInsightsAnalysisOut]{
	"path-found": func(a *networkInsightsAnalysisOut) []string { return boolStr(a.NetworkPathFound) },
	"status":     func(a *networkInsightsAnalysisOut) []string { return one(a.Status) },
}

func describeNetworkInsightsAnalyses(c *call, in *describeNetworkInsightsAnalysesIn) (*describeNetworkInsightsAnalysesOut, error) {
	var items []networkInsightsAnalysisOut
	for _, a := range c.reg.results {
		if in.NetworkInsightsPathID == "" || a.pathID == in.NetworkInsightsPathID {
			items = append(items, c.analysisOut(a))
		}
	}
	items, err := selectIDs(items, in.NetworkInsightsAnalysisIDs, func(a *networkInsightsAnalysisOut) string { return a.NetworkInsightsAnalysisID }, kAnalysis)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, analysisFilters, func(a *networkInsightsAnalysisOut) awsshape.List[awsshape.Tag] { return a.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeNetworkInsightsAnalysesOut{NetworkInsightsAnalyses: items, NextToken: next}, nil
}

type deleteNetworkInsightsAnalysisIn struct {
	NetworkInsightsAnalysisID string `ec2:"NetworkInsightsAnalysisId,required"`
	DryRun                    bool   `ec2:"DryRun"`
}

type deleteNetworkInsightsAnalysisOut struct {
	NetworkInsightsAnalysisID string `xml:"networkInsightsAnalysisId"`
}

func deleteNetworkInsightsAnalysis(c *call, in *deleteNetworkInsightsAnalysisIn) (*deleteNetworkInsightsAnalysisOut, error) {
	i := slices.IndexFunc(c.reg.results, func(a *insightsAnalysis) bool { return a.id == in.NetworkInsightsAnalysisID })
	if i < 0 {
		return nil, kAnalysis.notFound(in.NetworkInsightsAnalysisID)
	}
	if c.dryRun {
		return nil, dryRunOK()
	}
	c.reg.results = slices.Delete(c.reg.results, i, i+1)
	return &deleteNetworkInsightsAnalysisOut{NetworkInsightsAnalysisID: in.NetworkInsightsAnalysisID}, nil
}
