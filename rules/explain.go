package rules

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Query asks whether From can reach To: instance ids, ENI ids, internet
// host names or IP addresses (ResolveEndpoint).
type Query struct {
	From, To   string
	Protocol   int // IANA number
	Port       int // destination port (TCP/UDP)
	SourcePort int // 0: the lowest port of the client's ephemeral range (vpc.EphemeralPorts)
	// ICMP type/code of the request; both 0 means echo request (8, or 128 for ICMPv6).
	ICMPType, ICMPCode int
	IPv6               bool // use the endpoints' IPv6 addresses
}

// Analysis mirrors AWS Reachability Analyzer's NetworkInsightsAnalysis
// (RA-2) for one query, with vpcemu's additions after the AWS fields.
type Analysis struct {
	Status                string          `json:"Status"`
	NetworkPathFound      bool            `json:"NetworkPathFound"`
	ForwardPathComponents []PathComponent `json:"ForwardPathComponents"`
	ReturnPathComponents  []PathComponent `json:"ReturnPathComponents,omitempty"`
	Explanations          []Explanation   `json:"Explanations,omitempty"`

	// vpcemu additions.
	Source           string `json:"Source"`
	Destination      string `json:"Destination"`
	Protocol         string `json:"Protocol"`
	ForwardPathFound bool   `json:"ForwardPathFound"`
	ReturnPathFound  bool   `json:"ReturnPathFound"`
	ReturnAnalyzed   bool   `json:"ReturnPathAnalyzed"`
	Verdict          string `json:"Verdict"`
	Suggestion       string `json:"Suggestion,omitempty"`
	// FlowLogs are the records the ENIs' flow logs would hold for the
	// packets analysed (the first packet and its reply).
	FlowLogs []PredictedRecord `json:"PredictedFlowLogs,omitempty"`
	// Notes are RA-9's analysis-only findings (MORE_SPECIFIC_ROUTE,
	// HIGHER_PRIORITY_ROUTE, IGW_NAT_REFLECTION, DISCONNECTED_VPCS).
	Notes []Explanation `json:"Notes,omitempty"`

	v                *view // the topology's, as the walk used it
	forward, reverse *Path
}

// AnalysisComponent names a resource (AWS AnalysisComponent).
type AnalysisComponent struct {
	ID   string `json:"Id"`
	Name string `json:"Name,omitempty"`
}

// AnalysisPortRange is AWS's PortRange.
type AnalysisPortRange struct {
	From int `json:"From"`
	To   int `json:"To"`
}

// AnalysisACLRule is AWS's AnalysisAclRule.
type AnalysisACLRule struct {
	CIDR       string             `json:"Cidr"`
	Egress     bool               `json:"Egress"`
	PortRange  *AnalysisPortRange `json:"PortRange,omitempty"`
	Protocol   string             `json:"Protocol"`
	RuleAction string             `json:"RuleAction"`
	RuleNumber int                `json:"RuleNumber"`
}

// AnalysisSecurityGroupRule is AWS's AnalysisSecurityGroupRule, plus the
// referenced group when the peer is a group.
type AnalysisSecurityGroupRule struct {
	CIDR                      string             `json:"Cidr,omitempty"`
	Direction                 string             `json:"Direction"`
	SecurityGroupID           string             `json:"SecurityGroupId"`
	PortRange                 *AnalysisPortRange `json:"PortRange,omitempty"`
	PrefixListID              string             `json:"PrefixListId,omitempty"`
	Protocol                  string             `json:"Protocol"`
	ReferencedSecurityGroupID string             `json:"ReferencedSecurityGroupId,omitempty"`
}

// AnalysisRouteTableRoute is AWS's AnalysisRouteTableRoute.
type AnalysisRouteTableRoute struct {
	DestinationCidr             string `json:"DestinationCidr,omitempty"`
	DestinationPrefixListID     string `json:"DestinationPrefixListId,omitempty"`
	EgressOnlyInternetGatewayID string `json:"EgressOnlyInternetGatewayId,omitempty"`
	GatewayID                   string `json:"GatewayId,omitempty"` // local, igw-…, vpce-… (gateway endpoint)
	InstanceID                  string `json:"InstanceId,omitempty"`
	NatGatewayID                string `json:"NatGatewayId,omitempty"`
	NetworkInterfaceID          string `json:"NetworkInterfaceId,omitempty"`
	VpcPeeringConnectionID      string `json:"VpcPeeringConnectionId,omitempty"`
	Origin                      string `json:"Origin,omitempty"` // CreateRouteTable | CreateRoute | EnableVgwRoutePropagation
	State                       string `json:"State,omitempty"`  // active | blackhole
}

// AnalysisAdditionalDetail is AWS's AdditionalDetail (RA-9 qualifiers).
type AnalysisAdditionalDetail struct {
	AdditionalDetailType string `json:"AdditionalDetailType"`
}

// AnalysisPacketHeader is AWS's AnalysisPacketHeader.
type AnalysisPacketHeader struct {
	DestinationAddresses  []string            `json:"DestinationAddresses"`
	DestinationPortRanges []AnalysisPortRange `json:"DestinationPortRanges,omitempty"`
	Protocol              string              `json:"Protocol"`
	SourceAddresses       []string            `json:"SourceAddresses"`
	SourcePortRanges      []AnalysisPortRange `json:"SourcePortRanges,omitempty"`
}

// PathComponent is AWS's PathComponent (one hop), plus vpcemu's decision.
type PathComponent struct {
	SequenceNumber    int                        `json:"SequenceNumber"`
	Component         AnalysisComponent          `json:"Component"`
	ACLRule           *AnalysisACLRule           `json:"AclRule,omitempty"`
	SecurityGroupRule *AnalysisSecurityGroupRule `json:"SecurityGroupRule,omitempty"`
	InboundHeader     *AnalysisPacketHeader      `json:"InboundHeader,omitempty"`
	OutboundHeader    *AnalysisPacketHeader      `json:"OutboundHeader,omitempty"`
	Subnet            *AnalysisComponent         `json:"Subnet,omitempty"`
	VPC               *AnalysisComponent         `json:"Vpc,omitempty"`
	RouteTableRoute   *AnalysisRouteTableRoute   `json:"RouteTableRoute,omitempty"`
	AdditionalDetails []AnalysisAdditionalDetail `json:"AdditionalDetails,omitempty"`

	// vpcemu additions.
	Kind           string              `json:"Kind,omitempty"`      // the hop's kind (HopKind)
	Direction      string              `json:"Direction,omitempty"` // ingress | egress
	Decision       string              `json:"Decision"`            // allow | deny | translate | not-filtered
	Tracking       string              `json:"Tracking,omitempty"`  // tracked | untracked | state
	SecurityGroups []AnalysisComponent `json:"SecurityGroups,omitempty"`
}

// Explanation is AWS's Explanation for a blocking component (RA-3), plus
// which path it was found on.
type Explanation struct {
	ExplanationCode      string                   `json:"ExplanationCode"`
	Direction            string                   `json:"Direction,omitempty"`
	Component            *AnalysisComponent       `json:"Component,omitempty"`
	ACL                  *AnalysisComponent       `json:"Acl,omitempty"`
	ACLRule              *AnalysisACLRule         `json:"AclRule,omitempty"`
	SecurityGroups       []AnalysisComponent      `json:"SecurityGroups,omitempty"`
	NetworkInterface     *AnalysisComponent       `json:"NetworkInterface,omitempty"`
	Subnet               *AnalysisComponent       `json:"Subnet,omitempty"`
	VPC                  *AnalysisComponent       `json:"Vpc,omitempty"`
	Addresses            []string                 `json:"Addresses,omitempty"`
	Protocols            []string                 `json:"Protocols,omitempty"`
	PortRanges           []AnalysisPortRange      `json:"PortRanges,omitempty"`
	RouteTable           *AnalysisComponent       `json:"RouteTable,omitempty"`
	RouteTableRoute      *AnalysisRouteTableRoute `json:"RouteTableRoute,omitempty"`
	InternetGateway      *AnalysisComponent       `json:"InternetGateway,omitempty"`
	NatGateway           *AnalysisComponent       `json:"NatGateway,omitempty"`
	VpcPeeringConnection *AnalysisComponent       `json:"VpcPeeringConnection,omitempty"`
	VpcEndpoint          *AnalysisComponent       `json:"VpcEndpoint,omitempty"`
	DestinationVpc       *AnalysisComponent       `json:"DestinationVpc,omitempty"`
	State                string                   `json:"State,omitempty"`

	// vpcemu additions.
	Path              string                     `json:"Path"` // forward | return
	AdditionalDetails []AnalysisAdditionalDetail `json:"AdditionalDetails,omitempty"`
	Detail            string                     `json:"Detail,omitempty"`
}

// Explain answers q over t without sending a packet: the first packet of
// the flow (a TCP SYN, a UDP datagram, an ICMP echo request, ...) is walked
// from source to destination, then its response back, with connection
// tracking in between (PATH-1, PATH-2). The path is found when both arrive.
func Explain(t *vpc.Topology, q Query) *Analysis {
	return NewExplainer(t).Explain(q)
}

// Explainer answers many queries over one topology: its security groups
// are compiled and its lookup tables built once, each query still starts
// with empty connection tracking. It is not safe for concurrent use.
type Explainer struct {
	t  *vpc.Topology
	v  *view
	sg *SGEvaluator
	ct ctConfig
}

// NewExplainer prepares t for queries; t must not change afterwards.
func NewExplainer(t *vpc.Topology) *Explainer {
	v := newView(t)
	sg := newSGEvaluator(v)
	return &Explainer{t: t, v: v, sg: sg, ct: newCTConfig(v, sg)}
}

// PathModel is a path model over the explainer's topology, with empty
// state, that shares its compiled security groups and lookup tables
// (Static: t must not change).
func (e *Explainer) PathModel() *PathModel {
	return &PathModel{T: e.t, CT: newConntrack(e.t, e.sg, e.ct), NAT: NewNATTable(), EIGW: NewEIGWTable(), Static: true, view: e.v, viewOf: e.t}
}

// Explain is the package's Explain over the explainer's topology.
func (e *Explainer) Explain(q Query) *Analysis {
	t, v := e.t, e.v
	a := &Analysis{Status: "succeeded", Protocol: protoLabel(q.Protocol), v: v}
	src, err := resolveEndpoint(v, q.From)
	if err != nil {
		return a.fail(err)
	}
	dst, err := resolveEndpoint(v, q.To)
	if err != nil {
		return a.fail(err)
	}
	a.Source, a.Destination = src.Name, dst.Name
	p, err := firstPacket(v, src, dst, q)
	if err != nil {
		return a.fail(err)
	}
	m := e.PathModel()
	fl := NewFlowLogger(t)
	defer func() { a.FlowLogs = fl.Records() }()
	fwd := m.Send(0, p)
	fl.Add(0, &fwd)
	a.forward = &fwd
	a.ForwardPathComponents = components(v, &fwd)
	a.ForwardPathFound = fwd.Delivered
	a.Notes = append(a.Notes, notes(v, &fwd, "forward")...)
	if !fwd.Delivered {
		a.Explanations = append(a.Explanations, explain(v, &fwd, "forward"))
		a.Verdict = a.verdict()
		return a
	}
	rp, ok := Reply(fwd.Final())
	if !ok || fwd.Hops[0].Kind == HopReserved {
		a.NetworkPathFound = true
		a.Verdict = a.verdict()
		return a
	}
	a.ReturnAnalyzed = true
	rev := m.Send(time.Second, rp)
	fl.Add(time.Second, &rev)
	a.reverse = &rev
	a.ReturnPathComponents = components(v, &rev)
	a.ReturnPathFound = rev.Delivered
	a.NetworkPathFound = rev.Delivered
	a.Notes = append(a.Notes, notes(v, &rev, "return")...)
	if !rev.Delivered {
		a.Explanations = append(a.Explanations, explain(v, &rev, "return"))
		a.Suggestion = suggest(t, src, &fwd, &rev)
	}
	a.Verdict = a.verdict()
	return a
}

// protoLabel names a protocol in prose: "tcp", or "protocol 47".
func protoLabel(p int) string {
	if n := protoName(p); n != strconv.Itoa(p) {
		return n
	}
	return "protocol " + strconv.Itoa(p)
}

func (a *Analysis) fail(err error) *Analysis {
	a.Status = "failed"
	a.Verdict = "error: " + err.Error()
	return a
}

// firstPacket is the flow's first packet as the source puts it on the wire.
func firstPacket(v *view, src, dst Endpoint, q Query) (Packet, error) {
	p := Packet{Protocol: q.Protocol, Length: 60}
	// An IPv6 address given for either end makes it an IPv6 question.
	v6 := q.IPv6 || src.Addr.Is6() || dst.Addr.Is6()
	var err error
	if p.Src, err = ownAddr(src, v6); err != nil {
		return p, err
	}
	if p.Dst, err = targetAddr(v, src, dst, v6); err != nil {
		return p, err
	}
	if p.Src.Is4() != p.Dst.Is4() {
		return p, fmt.Errorf("%s and %s are of different address families", p.Src, p.Dst)
	}
	switch q.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		p.DstPort = q.Port
		p.SrcPort = q.SourcePort
		if p.SrcPort == 0 {
			p.SrcPort, _ = vpc.EphemeralPorts(src.OS)
		}
		if q.Protocol == vpc.ProtoTCP {
			p.TCPFlags = TCPSyn
		} else {
			p.Length = 28
		}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		p.ICMPType, p.ICMPCode, p.ICMPID = q.ICMPType, q.ICMPCode, 1
		if q.ICMPType == 0 && q.ICMPCode == 0 {
			p.ICMPType = 8
			if q.Protocol == vpc.ProtoICMPv6 {
				p.ICMPType = 128
			}
		}
		p.Length = 84
	}
	if p.Src == p.Dst {
		return p, fmt.Errorf("source and destination are the same address %s", p.Src)
	}
	return p, nil
}

// ownAddr is the address an endpoint sends from.
func ownAddr(e Endpoint, v6 bool) (netip.Addr, error) {
	switch {
	case e.Instance != nil:
		eni := e.ENI
		if eni == nil {
			eni = &e.Instance.ENI
		}
		if v6 {
			if !eni.IPv6.IsValid() {
				return netip.Addr{}, fmt.Errorf("instance %s has no IPv6 address", e.Name)
			}
			return eni.IPv6, nil
		}
		if e.Addr.Is4() && (e.Addr == eni.PrivateIP || slices.Contains(eni.SecondaryIPs, e.Addr)) {
			return e.Addr, nil
		}
		return eni.PrivateIP, nil
	case e.Host != nil && v6:
		if !e.Host.IPv6.IsValid() {
			return netip.Addr{}, fmt.Errorf("internet host %s has no IPv6 address", e.Name)
		}
		return e.Host.IPv6, nil
	case e.Host != nil:
		return e.Host.IP, nil
	}
	return e.Addr, nil
}

// targetAddr is the address src uses to reach dst: the private address
// inside the VPCs, the public one (an Elastic IP or auto-assigned) from the
// internet, or the one given.
func targetAddr(v *view, src, dst Endpoint, v6 bool) (netip.Addr, error) {
	if dst.Addr.IsValid() {
		return dst.Addr, nil
	}
	if dst.Instance != nil && !v6 && !src.IsInstance() {
		priv, _ := ownAddr(dst, false)
		if e := v.eniOwning(priv); e != nil {
			if pub := v.priv[addrKey{e.ID, priv}]; pub.IsValid() {
				return pub, nil
			}
		}
		// No public address: the internet cannot name it; the private
		// address shows IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS on the path.
		return priv, nil
	}
	return ownAddr(dst, v6)
}
