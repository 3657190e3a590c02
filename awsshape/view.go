package awsshape

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Annotations are what EC2 shows that vpcemu's model does not keep, because
// nothing in the datapath depends on it: launch details of instances, where
// flow logs are delivered, VPC attributes, and tags of objects whose model
// type has none. The API records them; import may fill them from its input.
type Annotations struct {
	VPCs        map[string]VPCInfo      // by VPC id
	Instances   map[string]InstanceInfo // by instance id
	FlowLogs    map[string]FlowLogInfo  // by flow-log id
	NATGateways map[string]NATInfo      // by NAT gateway id
	Tags        map[string]vpc.Tags     // by id: security-group rules, flow logs, prefix lists
}

// VPCInfo holds a VPC's attributes (nil = AWS's default).
type VPCInfo struct {
	IsDefault                        bool
	EnableDNSSupport                 *bool // default true
	EnableDNSHostnames               *bool // default false (true for a default VPC)
	EnableNetworkAddressUsageMetrics *bool // default false
}

// DNSSupport, DNSHostnames and NAUMetrics return the attributes with AWS's
// defaults applied.
func (i VPCInfo) DNSSupport() bool   { return i.EnableDNSSupport == nil || *i.EnableDNSSupport }
func (i VPCInfo) DNSHostnames() bool { return orDefault(i.EnableDNSHostnames, i.IsDefault) }
func (i VPCInfo) NAUMetrics() bool   { return orDefault(i.EnableNetworkAddressUsageMetrics, false) }

func orDefault(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// InstanceInfo holds an instance's launch details.
type InstanceInfo struct {
	ImageID       string
	InstanceType  string
	KeyName       string
	ReservationID string
	ClientToken   string
	LaunchTime    time.Time
	LaunchIndex   int
}

// FlowLogInfo holds when a flow log was created (where it delivers is
// the model's).
type FlowLogInfo struct {
	CreationTime time.Time
}

// NATInfo holds when a NAT gateway was created.
type NATInfo struct {
	CreateTime time.Time
}

// View renders a topology in EC2's shapes. Ann may be nil.
type View struct {
	T   *vpc.Topology
	Ann *Annotations
}

func (v View) ann() *Annotations {
	if v.Ann == nil {
		return &Annotations{}
	}
	return v.Ann
}

func (v View) arn(kind, id string) string {
	return "arn:aws:ec2:" + v.T.Region + ":" + v.T.Account + ":" + kind + "/" + id
}

// DerivedID is the id of an object vpcemu's model implies but does not
// name (associations, attachments): prefix, "-", and 17 hex digits of a hash
// of what it ties together, so it is stable across requests, export and
// restarts [INTERP API-18].
func DerivedID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return prefix + "-" + hex.EncodeToString(sum[:])[:17]
}

// Tags turns model tags into a sorted tag list.
func Tags(t vpc.Tags) List[Tag] {
	out := List[Tag]{}
	for _, k := range slices.Sorted(maps.Keys(t)) {
		out = append(out, Tag{Key: k, Value: t[k]})
	}
	return out
}

func prefixStr(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func addrStr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// AZID is the zone id of an availability zone: the region's short form and
// the zone letter's position (us-east-1a -> use1-az1) [INTERP: AWS maps
// names to ids per account].
func AZID(region, az string) string {
	if !strings.HasPrefix(az, region) || len(az) != len(region)+1 {
		return ""
	}
	parts := strings.Split(region, "-")
	if len(parts) != 3 {
		return ""
	}
	dirs := map[string]string{"north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
		"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}
	d, ok := dirs[parts[1]]
	if !ok {
		return ""
	}
	return parts[0] + d + parts[2] + "-az" + strconv.Itoa(int(az[len(az)-1]-'a')+1)
}

// Vpcs renders every VPC.
func (v View) Vpcs() []Vpc {
	out := make([]Vpc, 0, len(v.T.VPCs))
	for i := range v.T.VPCs {
		out = append(out, v.Vpc(&v.T.VPCs[i]))
	}
	return out
}

// Vpc renders one VPC.
func (v View) Vpc(p *vpc.VPC) Vpc {
	info := v.ann().VPCs[p.ID]
	out := Vpc{
		VpcID: p.ID, OwnerID: v.T.Account, State: "available", CidrBlock: prefixStr(p.CIDR),
		InstanceTenancy: "default", IsDefault: Bool(info.IsDefault), Tags: Tags(p.Tags),
		CidrBlockAssociationSet: List[VpcCidrBlockAssociation]{},
	}
	for _, c := range append([]netip.Prefix{p.CIDR}, p.SecondaryCIDRs...) {
		out.CidrBlockAssociationSet = append(out.CidrBlockAssociationSet, VpcCidrBlockAssociation{
			AssociationID: DerivedID("vpc-cidr-assoc", p.ID, c.String()), CidrBlock: c.String(),
			CidrBlockState: &CidrBlockState{State: "associated"},
		})
	}
	if p.IPv6CIDR.IsValid() {
		out.Ipv6CidrBlockAssociationSet = List[VpcIpv6CidrBlockAssociation]{{
			AssociationID: DerivedID("vpc-cidr-assoc", p.ID, p.IPv6CIDR.String()), Ipv6CidrBlock: p.IPv6CIDR.String(),
			Ipv6CidrBlockState: &CidrBlockState{State: "associated"}, NetworkBorderGroup: v.T.Region,
		}}
	}
	return out
}

// Subnets renders every subnet.
func (v View) Subnets() []Subnet {
	out := make([]Subnet, 0, len(v.T.Subnets))
	for i := range v.T.Subnets {
		out = append(out, v.Subnet(&v.T.Subnets[i]))
	}
	return out
}

// Subnet renders one subnet; the available count is the block less AWS's
// five reserved addresses and the private IPv4s in use.
func (v View) Subnet(s *vpc.Subnet) Subnet {
	out := Subnet{
		SubnetID: s.ID, VpcID: s.VPC, State: "available", CidrBlock: prefixStr(s.CIDR),
		AvailabilityZone: s.AZ, AvailabilityZoneID: AZID(v.T.Region, s.AZ),
		DefaultForAz: Bool(false), MapPublicIPOnLaunch: Bool(s.MapPublicIPOnLaunch),
		AssignIpv6AddressOnCreation: Bool(false), OwnerID: v.T.Account,
		SubnetArn: v.arn("subnet", s.ID), Tags: Tags(s.Tags),
	}
	if s.CIDR.IsValid() {
		free := 1<<(32-s.CIDR.Bits()) - 5 - len(v.usedIPs(s.ID))
		out.AvailableIPAddressCount = Int(max(free, 0))
	}
	if s.IPv6CIDR.IsValid() {
		out.Ipv6CidrBlockAssociationSet = List[SubnetIpv6CidrBlockAssociation]{{
			AssociationID: DerivedID("subnet-cidr-assoc", s.ID, s.IPv6CIDR.String()), Ipv6CidrBlock: s.IPv6CIDR.String(),
			Ipv6CidrBlockState: &CidrBlockState{State: "associated"},
		}}
	}
	return out
}

// usedIPs lists the private IPv4s the ENIs in a subnet hold.
func (v View) usedIPs(subnet string) []netip.Addr {
	var out []netip.Addr
	for i := range v.T.Instances {
		for _, e := range v.T.Instances[i].ENIs() {
			if e.Subnet == subnet {
				out = append(out, e.PrivateIP)
				out = append(out, e.SecondaryIPs...)
			}
		}
	}
	for _, n := range v.T.NATGateways {
		if n.Subnet == subnet && n.PrivateIP.IsValid() {
			out = append(out, n.PrivateIP)
		}
	}
	return out
}

// SGProtocol is how EC2 writes a security-group rule's protocol: -1, the
// names of TCP, UDP, ICMP and ICMPv6, else the number (API-26).
func SGProtocol(p int) string {
	switch p {
	case vpc.ProtoAll:
		return "-1"
	case vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6:
		return vpc.ProtocolName(p)
	}
	return strconv.Itoa(p)
}

// SGPorts returns a rule's FromPort and ToPort as EC2 shows them in a
// permission: the port range for TCP and UDP, type and code for ICMP (-1 =
// any), none for the rest (API-27).
func SGPorts(r *vpc.SGRule) (from, to *int32) {
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return Int(r.Ports.From), Int(r.Ports.To)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return Int(r.ICMPType), Int(r.ICMPCode)
	}
	return nil, nil
}

// SecurityGroups renders every security group.
func (v View) SecurityGroups() []SecurityGroup {
	out := make([]SecurityGroup, 0, len(v.T.SecurityGroups))
	for i := range v.T.SecurityGroups {
		out = append(out, v.SecurityGroup(&v.T.SecurityGroups[i]))
	}
	return out
}

// SecurityGroup renders one group, its rules grouped into permissions by
// (protocol, from, to) in the order they first appear [INTERP API-30].
func (v View) SecurityGroup(g *vpc.SecurityGroup) SecurityGroup {
	return SecurityGroup{
		GroupID: g.ID, GroupName: g.Name, Description: g.Description, VpcID: g.VPC, OwnerID: v.T.Account,
		SecurityGroupArn: v.arn("security-group", g.ID),
		IpPermissions:    v.Permissions(g.Ingress), IpPermissionsEgress: v.Permissions(g.Egress),
		Tags: Tags(g.Tags),
	}
}

// Permissions groups rules into IpPermissions.
func (v View) Permissions(rules []vpc.SGRule) List[IpPermission] {
	out := List[IpPermission]{}
	type key struct {
		proto    string
		from, to int32
		ports    bool
	}
	at := map[key]int{}
	for i := range rules {
		r := &rules[i]
		from, to := SGPorts(r)
		k := key{proto: SGProtocol(r.Protocol), ports: from != nil}
		if from != nil {
			k.from, k.to = *from, *to
		}
		j, ok := at[k]
		if !ok {
			j = len(out)
			at[k] = j
			out = append(out, IpPermission{IpProtocol: k.proto, FromPort: from, ToPort: to,
				UserIDGroupPairs: List[UserIDGroupPair]{}, IpRanges: List[IpRange]{},
				Ipv6Ranges: List[Ipv6Range]{}, PrefixListIDs: List[PrefixListID]{}})
		}
		p := &out[j]
		switch {
		case r.SourceGroup != "":
			p.UserIDGroupPairs = append(p.UserIDGroupPairs, UserIDGroupPair{GroupID: r.SourceGroup, UserID: v.T.Account, Description: r.Description})
		case r.PrefixList != "":
			p.PrefixListIDs = append(p.PrefixListIDs, PrefixListID{PrefixListID: r.PrefixList, Description: r.Description})
		case r.CIDR.Addr().Is6():
			p.Ipv6Ranges = append(p.Ipv6Ranges, Ipv6Range{CidrIpv6: r.CIDR.String(), Description: r.Description})
		default:
			p.IpRanges = append(p.IpRanges, IpRange{CidrIp: prefixStr(r.CIDR), Description: r.Description})
		}
	}
	return out
}

// RuleID is a rule's sgr- id: its own, else derived from the group and what
// the rule matches.
func RuleID(g *vpc.SecurityGroup, egress bool, r *vpc.SGRule) string {
	if r.ID != "" {
		return r.ID
	}
	return DerivedID("sgr", g.ID, strconv.FormatBool(egress), strconv.Itoa(r.Protocol), r.Ports.String(),
		strconv.Itoa(r.ICMPType), strconv.Itoa(r.ICMPCode), prefixStr(r.CIDR), r.SourceGroup, r.PrefixList)
}

// SecurityGroupRules renders every rule of every group, ingress first.
func (v View) SecurityGroupRules() []SecurityGroupRule {
	var out []SecurityGroupRule
	for i := range v.T.SecurityGroups {
		g := &v.T.SecurityGroups[i]
		for j := range g.Ingress {
			out = append(out, v.SecurityGroupRule(g, false, &g.Ingress[j]))
		}
		for j := range g.Egress {
			out = append(out, v.SecurityGroupRule(g, true, &g.Egress[j]))
		}
	}
	return out
}

// SecurityGroupRule renders one rule. Unlike a permission, a rule of
// protocol -1 (or any without ports) shows FromPort and ToPort -1.
func (v View) SecurityGroupRule(g *vpc.SecurityGroup, egress bool, r *vpc.SGRule) SecurityGroupRule {
	id := RuleID(g, egress, r)
	from, to := SGPorts(r)
	if from == nil {
		from, to = Int(-1), Int(-1)
	}
	out := SecurityGroupRule{
		SecurityGroupRuleID: id, GroupID: g.ID, GroupOwnerID: v.T.Account, IsEgress: Bool(egress),
		IpProtocol: SGProtocol(r.Protocol), FromPort: from, ToPort: to, Description: r.Description,
		Tags: Tags(r.Tags), SecurityGroupRuleArn: v.arn("security-group-rule", id),
	}
	switch {
	case r.SourceGroup != "":
		out.ReferencedGroupInfo = &ReferencedSecurityGroup{GroupID: r.SourceGroup, UserID: v.T.Account}
	case r.PrefixList != "":
		out.PrefixListID = r.PrefixList
	case r.CIDR.Addr().Is6():
		out.CidrIpv6 = r.CIDR.String()
	default:
		out.CidrIpv4 = prefixStr(r.CIDR)
	}
	return out
}

// NetworkAcls renders every network ACL.
func (v View) NetworkAcls() []NetworkAcl {
	out := make([]NetworkAcl, 0, len(v.T.NetworkACLs))
	for i := range v.T.NetworkACLs {
		out = append(out, v.NetworkAcl(&v.T.NetworkACLs[i]))
	}
	return out
}

// NACLAssociationID is the id of a subnet's association with its NACL.
func NACLAssociationID(subnet, nacl string) string { return DerivedID("aclassoc", subnet, nacl) }

// The rule numbers of the implicit deny entries (`*`).
const (
	naclStarIPv4 = rules.NACLDefaultRuleIPv4
	naclStarIPv6 = rules.NACLDefaultRuleIPv6
)

// NetworkAcl renders one NACL: egress entries then ingress, each by rule
// number and ending with the implicit deny entries 32767 (and 32768 for
// ::/0 when the VPC has IPv6), as EC2 lists them (API-22).
func (v View) NetworkAcl(a *vpc.NetworkACL) NetworkAcl {
	out := NetworkAcl{NetworkAclID: a.ID, VpcID: a.VPC, IsDefault: Bool(a.Default), OwnerID: v.T.Account,
		Entries: List[NetworkAclEntry]{}, Associations: List[NetworkAclAssociation]{}, Tags: Tags(a.Tags)}
	ipv6 := false
	if p := v.T.VPC(a.VPC); p != nil {
		ipv6 = p.IPv6CIDR.IsValid()
	}
	for _, egress := range []bool{true, false} {
		rules := a.Ingress
		if egress {
			rules = a.Egress
		}
		for i := range rules {
			out.Entries = append(out.Entries, NACLEntry(&rules[i], egress))
		}
		out.Entries = append(out.Entries, NetworkAclEntry{RuleNumber: Int(naclStarIPv4), Protocol: "-1", RuleAction: "deny", Egress: Bool(egress), CidrBlock: "0.0.0.0/0"})
		if ipv6 {
			out.Entries = append(out.Entries, NetworkAclEntry{RuleNumber: Int(naclStarIPv6), Protocol: "-1", RuleAction: "deny", Egress: Bool(egress), Ipv6CidrBlock: "::/0"})
		}
	}
	for i := range v.T.Subnets {
		if s := &v.T.Subnets[i]; s.NetworkACL == a.ID {
			out.Associations = append(out.Associations, NetworkAclAssociation{
				NetworkAclAssociationID: NACLAssociationID(s.ID, a.ID), NetworkAclID: a.ID, SubnetID: s.ID})
		}
	}
	return out
}

// NACLEntry renders one NACL rule: the protocol as its decimal number
// (API-29), the port range for TCP and UDP only, type and code for ICMP.
func NACLEntry(r *vpc.NACLRule, egress bool) NetworkAclEntry {
	e := NetworkAclEntry{RuleNumber: Int(r.Number), Protocol: strconv.Itoa(r.Protocol), RuleAction: "deny", Egress: Bool(egress)}
	if r.Allow {
		e.RuleAction = "allow"
	}
	if r.CIDR.Addr().Is6() {
		e.Ipv6CidrBlock = r.CIDR.String()
	} else {
		e.CidrBlock = prefixStr(r.CIDR)
	}
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		e.PortRange = &PortRange{From: Int(r.Ports.From), To: Int(r.Ports.To)}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		e.IcmpTypeCode = &IcmpTypeCode{Type: Int(r.ICMPType), Code: Int(r.ICMPCode)}
	}
	return e
}

// RouteTables renders every route table.
func (v View) RouteTables() []RouteTable {
	out := make([]RouteTable, 0, len(v.T.RouteTables))
	for i := range v.T.RouteTables {
		out = append(out, v.RouteTable(&v.T.RouteTables[i]))
	}
	return out
}

// RTAssociationID is the id of a subnet's explicit association with a
// route table; MainAssociationID that of a VPC's main table.
func RTAssociationID(subnet, rtb string) string { return DerivedID("rtbassoc", subnet, rtb) }

// MainAssociationID is the id of the main association of a VPC's main table.
func MainAssociationID(vpcID, rtb string) string { return DerivedID("rtbassoc", vpcID, rtb, "main") }

// RouteTable renders one route table with its routes and associations.
func (v View) RouteTable(rt *vpc.RouteTable) RouteTable {
	out := RouteTable{RouteTableID: rt.ID, VpcID: rt.VPC, OwnerID: v.T.Account, Routes: List[Route]{},
		Associations: List[RouteTableAssociation]{}, PropagatingVgws: List[PropagatingVgw]{}, Tags: Tags(rt.Tags)}
	for i := range rt.Routes {
		out.Routes = append(out.Routes, v.Route(&rt.Routes[i]))
	}
	if rt.Main {
		out.Associations = append(out.Associations, RouteTableAssociation{
			RouteTableAssociationID: MainAssociationID(rt.VPC, rt.ID), RouteTableID: rt.ID, Main: Bool(true),
			AssociationState: &RouteTableAssociationState{State: "associated"}})
	}
	for i := range v.T.Subnets {
		if s := &v.T.Subnets[i]; s.RouteTable == rt.ID {
			out.Associations = append(out.Associations, RouteTableAssociation{
				RouteTableAssociationID: RTAssociationID(s.ID, rt.ID), RouteTableID: rt.ID, SubnetID: s.ID,
				Main: Bool(false), AssociationState: &RouteTableAssociationState{State: "associated"}})
		}
	}
	return out
}

// Route renders one route.
func (v View) Route(r *vpc.Route) Route {
	out := Route{DestinationPrefixListID: r.DestPrefixList, Origin: "CreateRoute", State: "active"}
	if r.Dest.IsValid() {
		if r.Dest.Addr().Is6() {
			out.DestinationIpv6CidrBlock = r.Dest.String()
		} else {
			out.DestinationCidrBlock = r.Dest.String()
		}
	}
	if r.Blackhole || r.Target.Kind == vpc.TargetNone {
		out.State = "blackhole"
	}
	if r.Propagated {
		out.Origin = "EnableVgwRoutePropagation"
	}
	switch r.Target.Kind {
	case vpc.TargetLocal:
		out.GatewayID, out.Origin = "local", "CreateRouteTable"
	case vpc.TargetIGW, vpc.TargetEndpoint:
		out.GatewayID = r.Target.ID
	case vpc.TargetEIGW:
		out.EgressOnlyInternetGatewayID = r.Target.ID
	case vpc.TargetNAT:
		out.NatGatewayID = r.Target.ID
	case vpc.TargetPeering:
		out.VpcPeeringConnectionID = r.Target.ID
	case vpc.TargetENI:
		out.NetworkInterfaceID = r.Target.ID
		if in := v.instanceOfENI(r.Target.ID); in != nil {
			out.InstanceID, out.InstanceOwnerID = in.ID, v.T.Account
		}
	case vpc.TargetInstance:
		out.InstanceID, out.InstanceOwnerID = r.Target.ID, v.T.Account
		if in := v.T.Instance(r.Target.ID); in != nil {
			out.NetworkInterfaceID = in.ENI.ID
		}
	}
	return out
}

// instanceOfENI returns the instance any of whose ENIs is eni.
func (v View) instanceOfENI(eni string) *vpc.Instance {
	for i := range v.T.Instances {
		for _, e := range v.T.Instances[i].ENIs() {
			if e.ID == eni {
				return &v.T.Instances[i]
			}
		}
	}
	return nil
}

// InternetGateways renders every internet gateway; an attached one shows
// its attachment as "available", as EC2 does.
func (v View) InternetGateways() []InternetGateway {
	out := make([]InternetGateway, 0, len(v.T.InternetGateways))
	for i := range v.T.InternetGateways {
		out = append(out, v.InternetGateway(&v.T.InternetGateways[i]))
	}
	return out
}

// InternetGateway renders one internet gateway.
func (v View) InternetGateway(g *vpc.InternetGateway) InternetGateway {
	out := InternetGateway{InternetGatewayID: g.ID, OwnerID: v.T.Account, Attachments: List[InternetGatewayAttachment]{}, Tags: Tags(g.Tags)}
	if g.VPC != "" {
		out.Attachments = append(out.Attachments, InternetGatewayAttachment{VpcID: g.VPC, State: "available"})
	}
	return out
}

// EIPAssociationID is the id of an Elastic IP's association.
func EIPAssociationID(e *vpc.ElasticIP) string {
	return DerivedID("eipassoc", e.ID, e.ENI, addrStr(e.PrivateIP))
}

func (v View) eip(id string) *vpc.ElasticIP {
	for i := range v.T.ElasticIPs {
		if v.T.ElasticIPs[i].ID == id {
			return &v.T.ElasticIPs[i]
		}
	}
	return nil
}

// NatGateways renders every NAT gateway.
func (v View) NatGateways() []NatGateway {
	out := make([]NatGateway, 0, len(v.T.NATGateways))
	for i := range v.T.NATGateways {
		out = append(out, v.NatGateway(&v.T.NATGateways[i]))
	}
	return out
}

// NatGateway renders one NAT gateway (state available: vpcemu's are ready
// when the request returns).
func (v View) NatGateway(n *vpc.NATGateway) NatGateway {
	out := NatGateway{NatGatewayID: n.ID, SubnetID: n.Subnet, State: "available", ConnectivityType: "public",
		CreateTime: NewTime(v.ann().NATGateways[n.ID].CreateTime), Tags: Tags(n.Tags)}
	if s := v.T.Subnet(n.Subnet); s != nil {
		out.VpcID = s.VPC
	}
	if n.Private {
		out.ConnectivityType = "private"
	}
	a := NatGatewayAddress{NetworkInterfaceID: n.ENI, PrivateIP: addrStr(n.PrivateIP), IsPrimary: Bool(true), Status: "succeeded"}
	if e := v.eip(n.ElasticIP); e != nil {
		a.AllocationID, a.PublicIP, a.AssociationID = e.ID, addrStr(e.PublicIP), EIPAssociationID(e)
	}
	out.NatGatewayAddresses = List[NatGatewayAddress]{a}
	return out
}

// eniOf resolves an Elastic IP's ENI field, which may name an instance
// (meaning its primary ENI), to the ENI and its instance (nil for a NAT
// gateway's ENI).
func (v View) eniOf(id string) (*vpc.ENI, *vpc.Instance) {
	if in := v.T.Instance(id); in != nil {
		return &in.ENI, in
	}
	if in := v.instanceOfENI(id); in != nil {
		for _, e := range in.ENIs() {
			if e.ID == id {
				return e, in
			}
		}
	}
	return nil, nil
}

// Addresses renders every Elastic IP.
func (v View) Addresses() []Address {
	out := make([]Address, 0, len(v.T.ElasticIPs))
	for i := range v.T.ElasticIPs {
		out = append(out, v.Address(&v.T.ElasticIPs[i]))
	}
	return out
}

// Address renders one Elastic IP.
func (v View) Address(e *vpc.ElasticIP) Address {
	out := Address{AllocationID: e.ID, PublicIP: addrStr(e.PublicIP), Domain: "vpc", PublicIpv4Pool: "amazon",
		NetworkBorderGroup: v.T.Region, Tags: Tags(e.Tags)}
	if e.ENI == "" {
		return out
	}
	out.AssociationID = EIPAssociationID(e)
	out.NetworkInterfaceOwnerID = v.T.Account
	out.NetworkInterfaceID = e.ENI
	priv := e.PrivateIP
	if eni, in := v.eniOf(e.ENI); eni != nil {
		out.NetworkInterfaceID, out.InstanceID = eni.ID, in.ID
		if !priv.IsValid() {
			priv = eni.PrivateIP
		}
	} else {
		for _, n := range v.T.NATGateways {
			if n.ENI == e.ENI && !priv.IsValid() {
				priv = n.PrivateIP
			}
		}
	}
	out.PrivateIPAddress = addrStr(priv)
	return out
}

// publicOf returns the public IPv4 of an ENI's private address: an Elastic
// IP associated with it, else the ENI's auto-assigned public IP for its
// primary address.
func (v View) publicOf(eni *vpc.ENI, in *vpc.Instance, priv netip.Addr) (ip string, e *vpc.ElasticIP) {
	for i := range v.T.ElasticIPs {
		x := &v.T.ElasticIPs[i]
		if x.ENI != eni.ID && !(in != nil && eni == &in.ENI && x.ENI == in.ID) {
			continue
		}
		p := x.PrivateIP
		if !p.IsValid() {
			p = eni.PrivateIP
		}
		if p == priv {
			return addrStr(x.PublicIP), x
		}
	}
	if priv == eni.PrivateIP && eni.PublicIP.IsValid() {
		return eni.PublicIP.String(), nil
	}
	return "", nil
}

func (v View) groups(ids []string) List[GroupIdentifier] {
	out := List[GroupIdentifier]{}
	for _, id := range ids {
		g := GroupIdentifier{GroupID: id}
		if sg := v.T.SecurityGroup(id); sg != nil {
			g.GroupName = sg.Name
		}
		out = append(out, g)
	}
	return out
}

// AttachmentID is the id of an ENI's attachment to its instance.
func AttachmentID(eni, instance string) string { return DerivedID("eni-attach", eni, instance) }

// NetworkInterfaces renders every ENI: the instances' and the NAT gateways'.
func (v View) NetworkInterfaces() []NetworkInterface {
	var out []NetworkInterface
	for i := range v.T.Instances {
		in := &v.T.Instances[i]
		for _, e := range in.ENIs() {
			out = append(out, v.NetworkInterface(e, in))
		}
	}
	for i := range v.T.NATGateways {
		out = append(out, v.natENI(&v.T.NATGateways[i]))
	}
	return out
}

// NetworkInterface renders an instance's ENI.
func (v View) NetworkInterface(e *vpc.ENI, in *vpc.Instance) NetworkInterface {
	out := NetworkInterface{
		NetworkInterfaceID: e.ID, SubnetID: e.Subnet, Description: e.Description, OwnerID: v.T.Account,
		RequesterManaged: Bool(false), Status: "in-use", PrivateIPAddress: addrStr(e.PrivateIP),
		SourceDestCheck: Bool(!e.SourceDestCheckDisabled), InterfaceType: "interface",
		Groups: v.groups(e.SecurityGroups), TagSet: Tags(e.Tags),
		Ipv6Addresses: List[NetworkInterfaceIpv6Address]{}, PrivateIPAddresses: List[NetworkInterfacePrivateIPAddress]{},
	}
	if s := v.T.Subnet(e.Subnet); s != nil {
		out.VpcID, out.AvailabilityZone = s.VPC, s.AZ
	}
	for j, a := range append([]netip.Addr{e.PrivateIP}, e.SecondaryIPs...) {
		pa := NetworkInterfacePrivateIPAddress{PrivateIPAddress: addrStr(a), Primary: Bool(j == 0)}
		if pub, eip := v.publicOf(e, in, a); pub != "" {
			pa.Association = v.eniAssociation(pub, eip)
			if j == 0 {
				out.Association = pa.Association
			}
		}
		out.PrivateIPAddresses = append(out.PrivateIPAddresses, pa)
	}
	if e.IPv6.IsValid() {
		out.Ipv6Addresses = append(out.Ipv6Addresses, NetworkInterfaceIpv6Address{Ipv6Address: e.IPv6.String()})
	}
	if in != nil {
		out.Attachment = &NetworkInterfaceAttachment{
			AttachmentID: AttachmentID(e.ID, in.ID), InstanceID: in.ID, InstanceOwnerID: v.T.Account,
			DeviceIndex: Int(e.DeviceIndex), Status: "attached", DeleteOnTermination: Bool(e.DeviceIndex == 0),
			AttachTime: NewTime(v.ann().Instances[in.ID].LaunchTime),
		}
	}
	return out
}

func (v View) eniAssociation(pub string, eip *vpc.ElasticIP) *NetworkInterfaceAssociation {
	a := &NetworkInterfaceAssociation{PublicIP: pub, IPOwnerID: "amazon"}
	if eip != nil {
		a.IPOwnerID, a.AllocationID, a.AssociationID = v.T.Account, eip.ID, EIPAssociationID(eip)
	}
	return a
}

func (v View) natENI(n *vpc.NATGateway) NetworkInterface {
	out := NetworkInterface{
		NetworkInterfaceID: n.ENI, SubnetID: n.Subnet, Description: "Interface for NAT Gateway " + n.ID,
		OwnerID: v.T.Account, RequesterID: "amazon", RequesterManaged: Bool(true), Status: "in-use",
		PrivateIPAddress: addrStr(n.PrivateIP), SourceDestCheck: Bool(false), InterfaceType: "nat_gateway",
		Groups: List[GroupIdentifier]{}, TagSet: List[Tag]{}, Ipv6Addresses: List[NetworkInterfaceIpv6Address]{},
		PrivateIPAddresses: List[NetworkInterfacePrivateIPAddress]{{PrivateIPAddress: addrStr(n.PrivateIP), Primary: Bool(true)}},
	}
	if s := v.T.Subnet(n.Subnet); s != nil {
		out.VpcID, out.AvailabilityZone = s.VPC, s.AZ
	}
	if e := v.eip(n.ElasticIP); e != nil {
		out.Association = v.eniAssociation(addrStr(e.PublicIP), e)
		out.PrivateIPAddresses[0].Association = out.Association
	}
	return out
}

// InstanceState codes (InstanceState.Code).
var (
	StateRunning    = InstanceState{Code: Int(16), Name: "running"}
	StatePending    = InstanceState{Code: Int(0), Name: "pending"}
	StateShutting   = InstanceState{Code: Int(32), Name: "shutting-down"}
	StateTerminated = InstanceState{Code: Int(48), Name: "terminated"}
)

// ReservationID is an instance's reservation: the annotated one, else one
// derived from the instance.
func (v View) ReservationID(id string) string {
	if r := v.ann().Instances[id].ReservationID; r != "" {
		return r
	}
	return DerivedID("r", id)
}

// Reservations renders every instance, grouped by reservation.
func (v View) Reservations() []Reservation {
	var out []Reservation
	at := map[string]int{}
	for i := range v.T.Instances {
		in := &v.T.Instances[i]
		rid := v.ReservationID(in.ID)
		j, ok := at[rid]
		if !ok {
			j = len(out)
			at[rid] = j
			out = append(out, Reservation{ReservationID: rid, OwnerID: v.T.Account, Groups: List[GroupIdentifier]{}, Instances: List[Instance]{}})
		}
		out[j].Instances = append(out[j].Instances, v.Instance(in))
	}
	return out
}

// Instance renders one running instance.
func (v View) Instance(in *vpc.Instance) Instance {
	info := v.ann().Instances[in.ID]
	st := StateRunning
	out := Instance{
		InstanceID: in.ID, ImageID: info.ImageID, State: &st, KeyName: info.KeyName,
		AmiLaunchIndex: Int(info.LaunchIndex), InstanceType: info.InstanceType, LaunchTime: NewTime(info.LaunchTime),
		SubnetID: in.Subnet, PrivateIPAddress: addrStr(in.PrivateIP), Ipv6Address: addrStr(in.IPv6),
		SourceDestCheck: Bool(!in.SourceDestCheckDisabled), SecurityGroups: v.groups(in.SecurityGroups),
		NetworkInterfaces: List[InstanceNetworkInterface]{}, ClientToken: info.ClientToken, Tags: Tags(in.Tags),
	}
	if strings.HasPrefix(in.OS, "windows") {
		out.Platform = "windows"
	}
	if s := v.T.Subnet(in.Subnet); s != nil {
		out.VpcID = s.VPC
		out.Placement = &Placement{AvailabilityZone: s.AZ, Tenancy: "default"}
	}
	if in.PrivateIP.IsValid() {
		out.PrivateDNSName = v.privateDNS(in.PrivateIP)
	}
	if pub, _ := v.publicOf(&in.ENI, in, in.PrivateIP); pub != "" {
		out.PublicIPAddress = pub
	}
	for _, e := range in.ENIs() {
		ni := v.NetworkInterface(e, in)
		ine := InstanceNetworkInterface{
			NetworkInterfaceID: ni.NetworkInterfaceID, SubnetID: ni.SubnetID, VpcID: ni.VpcID, Description: ni.Description,
			OwnerID: ni.OwnerID, Status: ni.Status, PrivateIPAddress: ni.PrivateIPAddress, SourceDestCheck: ni.SourceDestCheck,
			InterfaceType: ni.InterfaceType, Groups: ni.Groups, Ipv6Addresses: List[InstanceIpv6Address]{},
			PrivateIPAddresses: List[InstancePrivateIPAddress]{},
			Attachment: &InstanceNetworkInterfaceAttachment{AttachmentID: ni.Attachment.AttachmentID, DeviceIndex: ni.Attachment.DeviceIndex,
				Status: "attached", DeleteOnTermination: ni.Attachment.DeleteOnTermination, AttachTime: ni.Attachment.AttachTime},
		}
		if ni.Association != nil {
			ine.Association = &InstanceNetworkInterfaceAssociation{PublicIP: ni.Association.PublicIP, IPOwnerID: ni.Association.IPOwnerID}
		}
		for _, pa := range ni.PrivateIPAddresses {
			ipa := InstancePrivateIPAddress{PrivateIPAddress: pa.PrivateIPAddress, Primary: pa.Primary}
			if pa.Association != nil {
				ipa.Association = &InstanceNetworkInterfaceAssociation{PublicIP: pa.Association.PublicIP, IPOwnerID: pa.Association.IPOwnerID}
			}
			ine.PrivateIPAddresses = append(ine.PrivateIPAddresses, ipa)
		}
		for _, a := range ni.Ipv6Addresses {
			ine.Ipv6Addresses = append(ine.Ipv6Addresses, InstanceIpv6Address(a))
		}
		out.NetworkInterfaces = append(out.NetworkInterfaces, ine)
	}
	return out
}

// privateDNS is EC2's private DNS name of an address in the region.
func (v View) privateDNS(a netip.Addr) string {
	host := "ip-" + strings.ReplaceAll(a.String(), ".", "-")
	if v.T.Region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + v.T.Region + ".compute.internal"
}

// ManagedPrefixLists renders every prefix list.
func (v View) ManagedPrefixLists() []ManagedPrefixList {
	out := make([]ManagedPrefixList, 0, len(v.T.PrefixLists))
	for i := range v.T.PrefixLists {
		p := &v.T.PrefixLists[i]
		m := ManagedPrefixList{PrefixListID: p.ID, PrefixListName: p.Name, AddressFamily: "IPv4", State: "create-complete",
			PrefixListArn: v.arn("prefix-list", p.ID), MaxEntries: Int(p.MaxEntries), Version: Long(1), OwnerID: v.T.Account,
			Tags: Tags(v.tagsOf(p.ID, p.Tags))}
		if len(p.CIDRs) > 0 && p.CIDRs[0].Addr().Is6() {
			m.AddressFamily = "IPv6"
		}
		if p.AWSManaged {
			m.OwnerID, m.MaxEntries = "AWS", nil
		}
		out = append(out, m)
	}
	return out
}

// PrefixLists renders the AWS-managed prefix lists (DescribePrefixLists).
func (v View) PrefixLists() []PrefixList {
	var out []PrefixList
	for _, p := range v.T.PrefixLists {
		if !p.AWSManaged {
			continue
		}
		pl := PrefixList{PrefixListID: p.ID, PrefixListName: p.Name, Cidrs: List[string]{}}
		for _, c := range p.CIDRs {
			pl.Cidrs = append(pl.Cidrs, c.String())
		}
		out = append(out, pl)
	}
	return out
}

// FlowLogs renders every flow log.
func (v View) FlowLogs() []FlowLog {
	out := make([]FlowLog, 0, len(v.T.FlowLogs))
	for i := range v.T.FlowLogs {
		out = append(out, v.FlowLog(&v.T.FlowLogs[i]))
	}
	return out
}

// FlowLog renders one flow log; delivery is S3 unless it says otherwise.
func (v View) FlowLog(f *vpc.FlowLog) FlowLog {
	info := v.ann().FlowLogs[f.ID]
	out := FlowLog{
		FlowLogID: f.ID, ResourceID: f.Resource, TrafficType: f.TrafficType, LogDestinationType: f.LogDestinationType,
		LogDestination: f.LogDestination, LogGroupName: f.LogGroupName, DeliverLogsPermissionArn: f.DeliverLogsPermissionArn,
		LogFormat: f.LogFormat, MaxAggregationInterval: Int(f.MaxAggregationInterval), FlowLogStatus: "ACTIVE",
		DeliverLogsStatus: "SUCCESS", CreationTime: NewTime(info.CreationTime), Tags: Tags(v.tagsOf(f.ID, f.Tags)),
	}
	if out.LogDestinationType == "" {
		out.LogDestinationType = "s3"
	}
	if out.LogDestinationType == "s3" {
		out.DestinationOptions = &DestinationOptionsResponse{FileFormat: f.FileFormat,
			HiveCompatiblePartitions: Bool(f.HiveCompatible), PerHourPartition: Bool(f.PerHourPartition)}
	}
	if out.LogFormat == "" || out.LogFormat == "default" {
		out.LogFormat = vpc.DefaultLogFormat
	}
	return out
}

// tagsOf is an object's tags: the model's, else the annotated ones (for
// objects whose model type keeps none).
func (v View) tagsOf(id string, own vpc.Tags) vpc.Tags {
	if len(own) > 0 {
		return own
	}
	return v.ann().Tags[id]
}

// peeringStateMessages are the messages EC2 shows with a peering's state
// (pending acceptance names the accepter's account after it).
var peeringStateMessages = map[string]string{
	"active": "Active", "pending-acceptance": "Pending Acceptance by ", "initiating-request": "Initiating Request",
	"provisioning": "Provisioning", "rejected": "Rejected", "failed": "Failed", "expired": "Expired", "deleting": "Deleting", "deleted": "Deleted",
}

// VpcPeeringConnections renders every peering connection.
func (v View) VpcPeeringConnections() []VpcPeeringConnection {
	out := make([]VpcPeeringConnection, 0, len(v.T.Peerings))
	for i := range v.T.Peerings {
		p := &v.T.Peerings[i]
		side := func(id string) *VpcPeeringConnectionVpcInfo {
			info := &VpcPeeringConnectionVpcInfo{VpcID: id, OwnerID: v.T.Account, Region: v.T.Region}
			if x := v.T.VPC(id); x != nil {
				info.CidrBlock = prefixStr(x.CIDR)
			}
			return info
		}
		msg := peeringStateMessages[p.State]
		if p.State == "pending-acceptance" {
			msg += v.T.Account
		}
		out = append(out, VpcPeeringConnection{VpcPeeringConnectionID: p.ID, RequesterVpcInfo: side(p.Requester),
			AccepterVpcInfo: side(p.Accepter), Status: &VpcPeeringConnectionStateReason{Code: p.State, Message: msg}, Tags: Tags(p.Tags)})
	}
	return out
}

// EgressOnlyInternetGateways renders every egress-only internet gateway.
func (v View) EgressOnlyInternetGateways() []EgressOnlyInternetGateway {
	out := make([]EgressOnlyInternetGateway, 0, len(v.T.EgressOnlyGateways))
	for _, g := range v.T.EgressOnlyGateways {
		e := EgressOnlyInternetGateway{EgressOnlyInternetGatewayID: g.ID, Attachments: List[InternetGatewayAttachment]{}, Tags: Tags(g.Tags)}
		if g.VPC != "" {
			e.Attachments = append(e.Attachments, InternetGatewayAttachment{VpcID: g.VPC, State: "attached"})
		}
		out = append(out, e)
	}
	return out
}

// VpcEndpoints renders every (gateway) VPC endpoint.
func (v View) VpcEndpoints() []VpcEndpoint {
	out := make([]VpcEndpoint, 0, len(v.T.Endpoints))
	for _, e := range v.T.Endpoints {
		out = append(out, VpcEndpoint{VpcEndpointID: e.ID, VpcEndpointType: "Gateway", VpcID: e.VPC, ServiceName: e.Service,
			State: "available", RouteTableIDs: List[string](slices.Clone(e.RouteTables)), OwnerID: v.T.Account, Tags: Tags(e.Tags)})
	}
	return out
}
