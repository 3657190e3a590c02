package vpc

import (
	"net/netip"
	"slices"
	"strings"
)

// Lookups scan the slices: topologies are small (hundreds of objects) and
// an index could go stale when callers edit a Topology in place.

// Instance returns the instance with id, or nil.
func (t *Topology) Instance(id string) *Instance {
	for i := range t.Instances {
		if t.Instances[i].ID == id {
			return &t.Instances[i]
		}
	}
	return nil
}

// InstanceByENI returns the instance one of whose ENIs is eni, or nil.
func (t *Topology) InstanceByENI(eni string) *Instance {
	_, in := t.ENI(eni)
	return in
}

// InstanceByIP returns the instance with a as one of its ENIs' private
// (primary or secondary), IPv6 or auto-assigned public addresses, or as an
// Elastic IP associated with one of them; nil when none.
func (t *Topology) InstanceByIP(a netip.Addr) *Instance {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	if _, in := t.ENIByIP(a); in != nil {
		return in
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			if e.PublicIP == a {
				return in
			}
		}
	}
	if e := t.ElasticIPByPublicIP(a); e != nil {
		return t.InstanceByENI(e.ENI)
	}
	return nil
}

// ENI returns the instance ENI with id and its instance, or nil, nil. A NAT
// gateway's ENI is not an instance's: see NATGatewayByENI.
func (t *Topology) ENI(id string) (*ENI, *Instance) {
	if id == "" {
		return nil, nil
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.ENI.ID == id {
			return &in.ENI, in
		}
		for j := range in.Secondary {
			if in.Secondary[j].ID == id {
				return &in.Secondary[j], in
			}
		}
	}
	return nil, nil
}

// ENIByIP returns the instance ENI holding a as its primary or a secondary
// private IPv4 or as its IPv6 address, and its instance; nil, nil when none.
func (t *Topology) ENIByIP(a netip.Addr) (*ENI, *Instance) {
	if !a.IsValid() {
		return nil, nil
	}
	a = a.Unmap()
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			if e.HasAddr(a) {
				return e, in
			}
		}
	}
	return nil, nil
}

// HasAddr reports whether a is one of the ENI's private IPv4s (primary or
// secondary) or its IPv6 address; public addresses are the internet
// gateway's, not the ENI's (EIP-1).
func (e *ENI) HasAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && (e.PrivateIP == a || e.IPv6 == a || slices.Contains(e.SecondaryIPs, a))
}

// PrivateIPs lists the ENI's private IPv4s, the primary first.
func (e *ENI) PrivateIPs() []netip.Addr {
	return append([]netip.Addr{e.PrivateIP}, e.SecondaryIPs...)
}

// SourceDestCheck is AWS's attribute of that name (ENI-5): on unless disabled.
func (e *ENI) SourceDestCheck() bool { return !e.SourceDestCheckDisabled }

// Host returns the internet host called name, or nil.
func (t *Topology) Host(name string) *InternetHost {
	for i := range t.Internet {
		if t.Internet[i].Name == name {
			return &t.Internet[i]
		}
	}
	return nil
}

// HostByIP returns the internet host with address a (IPv4 or IPv6), or nil.
func (t *Topology) HostByIP(a netip.Addr) *InternetHost {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	for i := range t.Internet {
		if h := &t.Internet[i]; h.IP == a || h.IPv6 == a {
			return h
		}
	}
	return nil
}

// Subnet returns the subnet with id, or nil.
func (t *Topology) Subnet(id string) *Subnet {
	for i := range t.Subnets {
		if t.Subnets[i].ID == id {
			return &t.Subnets[i]
		}
	}
	return nil
}

// SubnetOf returns the subnet whose IPv4 or IPv6 block holds a, or nil.
func (t *Topology) SubnetOf(a netip.Addr) *Subnet {
	if !a.IsValid() {
		return nil
	}
	for i := range t.Subnets {
		if s := &t.Subnets[i]; s.Contains(a) {
			return s
		}
	}
	return nil
}

// VPCSubnetOf returns the subnet of VPC vpcID whose IPv4 or IPv6 block
// holds a, or nil (VPCs that are not peered may use the same blocks).
func (t *Topology) VPCSubnetOf(vpcID string, a netip.Addr) *Subnet {
	for i := range t.Subnets {
		if s := &t.Subnets[i]; s.VPC == vpcID && s.Contains(a) {
			return s
		}
	}
	return nil
}

// Contains reports whether a is inside the subnet's IPv4 or IPv6 block.
func (s *Subnet) Contains(a netip.Addr) bool {
	a = a.Unmap()
	return (s.CIDR.IsValid() && s.CIDR.Contains(a)) || (s.IPv6CIDR.IsValid() && s.IPv6CIDR.Contains(a))
}

// SecurityGroup returns the security group with id, or nil.
func (t *Topology) SecurityGroup(id string) *SecurityGroup {
	for i := range t.SecurityGroups {
		if t.SecurityGroups[i].ID == id {
			return &t.SecurityGroups[i]
		}
	}
	return nil
}

// NetworkACL returns the network ACL with id, or nil.
func (t *Topology) NetworkACL(id string) *NetworkACL {
	for i := range t.NetworkACLs {
		if t.NetworkACLs[i].ID == id {
			return &t.NetworkACLs[i]
		}
	}
	return nil
}

// PrefixList returns the prefix list with id, or nil.
func (t *Topology) PrefixList(id string) *PrefixList {
	for i := range t.PrefixLists {
		if t.PrefixLists[i].ID == id {
			return &t.PrefixLists[i]
		}
	}
	return nil
}

// PrefixListByName returns the prefix list called name (an AWS-managed
// list's name is its service, com.amazonaws.REGION.s3), or nil.
func (t *Topology) PrefixListByName(name string) *PrefixList {
	for i := range t.PrefixLists {
		if t.PrefixLists[i].Name == name && name != "" {
			return &t.PrefixLists[i]
		}
	}
	return nil
}

// Weight is what the list counts against the rules-per-SG and routes-per-
// table quotas: its max entries, or 1 for AWS's S3 and DynamoDB lists (RT-4, SG-43).
func (pl *PrefixList) Weight() int {
	if pl.AWSManaged {
		return 1
	}
	return pl.MaxEntries
}

// NACLOfSubnet returns the network ACL associated with the subnet (its
// VPC's default NACL when it names none), or nil for an unknown subnet.
func (t *Topology) NACLOfSubnet(subnetID string) *NetworkACL {
	s := t.Subnet(subnetID)
	if s == nil {
		return nil
	}
	if s.NetworkACL == "" {
		if v := t.VPC(s.VPC); v != nil && v.DefaultNACL != "" {
			return t.NetworkACL(v.DefaultNACL)
		}
		return t.NetworkACL(DefaultNACLID)
	}
	return t.NetworkACL(s.NetworkACL)
}

// FlowLogInstances returns the instances fl captures at least one ENI of
// (FL-1): those in the VPC or subnet, or the one instance or ENI owner.
// FlowLogENIs says which of their ENIs.
func (t *Topology) FlowLogInstances(fl *FlowLog) []*Instance {
	var out []*Instance
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			if t.captures(fl, e.ID, e.Subnet, in.ID) {
				out = append(out, in)
				break
			}
		}
	}
	return out
}

// FlowLogENIs returns the ids of the ENIs fl captures: instances' ENIs (in
// instance order, each instance's primary first), then NAT gateways' ENIs.
// A flow log on an instance captures all of its ENIs [INTERP].
func (t *Topology) FlowLogENIs(fl *FlowLog) []string {
	var out []string
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			if t.captures(fl, e.ID, e.Subnet, in.ID) {
				out = append(out, e.ID)
			}
		}
	}
	for _, g := range t.NATGateways {
		if t.captures(fl, g.ENI, g.Subnet, "") {
			out = append(out, g.ENI)
		}
	}
	return out
}

func (t *Topology) captures(fl *FlowLog, eni, subnet, instance string) bool {
	switch fl.Resource {
	case "":
		return false
	case eni, subnet, instance:
		return true
	}
	s := t.Subnet(subnet)
	return s != nil && s.VPC == fl.Resource
}

// VPC returns the VPC with id, or nil.
func (t *Topology) VPC(id string) *VPC {
	for i := range t.VPCs {
		if t.VPCs[i].ID == id {
			return &t.VPCs[i]
		}
	}
	return nil
}

// VPCOfSubnet returns the VPC that holds the subnet, or nil.
func (t *Topology) VPCOfSubnet(subnetID string) *VPC {
	if s := t.Subnet(subnetID); s != nil {
		return t.VPC(s.VPC)
	}
	return nil
}

// VPCOfAddr returns the VPC one of whose CIDRs holds a, or nil.
func (t *Topology) VPCOfAddr(a netip.Addr) *VPC {
	for i := range t.VPCs {
		if t.VPCs[i].Contains(a) {
			return &t.VPCs[i]
		}
	}
	return nil
}

// CIDRs lists the VPC's IPv4 blocks, primary first, then its IPv6 block.
func (v *VPC) CIDRs() []netip.Prefix {
	out := append([]netip.Prefix{v.CIDR}, v.SecondaryCIDRs...)
	if v.IPv6CIDR.IsValid() {
		out = append(out, v.IPv6CIDR)
	}
	return out
}

// Contains reports whether a is inside one of the VPC's CIDRs.
func (v *VPC) Contains(a netip.Addr) bool {
	a = a.Unmap()
	if (v.CIDR.IsValid() && v.CIDR.Contains(a)) || (v.IPv6CIDR.IsValid() && v.IPv6CIDR.Contains(a)) {
		return true
	}
	for _, p := range v.SecondaryCIDRs {
		if p.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// ENIs lists the instance's network interfaces, the primary first.
func (in *Instance) ENIs() []*ENI {
	out := []*ENI{&in.ENI}
	for i := range in.Secondary {
		out = append(out, &in.Secondary[i])
	}
	return out
}

// IPv4CIDRs lists the VPC's IPv4 blocks, primary first.
func (v *VPC) IPv4CIDRs() []netip.Prefix {
	if !v.CIDR.IsValid() {
		return slices.Clone(v.SecondaryCIDRs)
	}
	return append([]netip.Prefix{v.CIDR}, v.SecondaryCIDRs...)
}

// VPCOf returns the id of the VPC an object belongs to, given the object's
// id: a VPC, subnet, security group, network ACL, route table, internet or
// egress-only gateway (attached), NAT gateway or its ENI, instance or one of
// its ENIs, or gateway endpoint. "" when unknown or detached.
func (t *Topology) VPCOf(id string) string {
	if id == "" {
		return ""
	}
	if v := t.VPC(id); v != nil {
		return v.ID
	}
	if s := t.Subnet(id); s != nil {
		return s.VPC
	}
	if g := t.SecurityGroup(id); g != nil {
		return g.VPC
	}
	if a := t.NetworkACL(id); a != nil {
		return a.VPC
	}
	if rt := t.RouteTable(id); rt != nil {
		return rt.VPC
	}
	if g := t.InternetGateway(id); g != nil {
		return g.VPC
	}
	if g := t.EgressOnlyGateway(id); g != nil {
		return g.VPC
	}
	if g := t.NATGateway(id); g != nil {
		return t.VPCOfSubnetID(g.Subnet)
	}
	if g := t.NATGatewayByENI(id); g != nil {
		return t.VPCOfSubnetID(g.Subnet)
	}
	if in := t.Instance(id); in != nil {
		return t.VPCOfSubnetID(in.Subnet)
	}
	if e, _ := t.ENI(id); e != nil {
		return t.VPCOfSubnetID(e.Subnet)
	}
	if e := t.Endpoint(id); e != nil {
		return e.VPC
	}
	return ""
}

// VPCOfSubnetID is the VPC id of a subnet, "" for an unknown subnet.
func (t *Topology) VPCOfSubnetID(subnetID string) string {
	if s := t.Subnet(subnetID); s != nil {
		return s.VPC
	}
	return ""
}

// RouteTable returns the route table with id, or nil.
func (t *Topology) RouteTable(id string) *RouteTable {
	for i := range t.RouteTables {
		if t.RouteTables[i].ID == id {
			return &t.RouteTables[i]
		}
	}
	return nil
}

// MainRouteTable returns the VPC's main route table, or nil.
func (t *Topology) MainRouteTable(vpcID string) *RouteTable {
	if v := t.VPC(vpcID); v != nil {
		if rt := t.RouteTable(v.MainTable); rt != nil {
			return rt
		}
	}
	for i := range t.RouteTables {
		if rt := &t.RouteTables[i]; rt.Main && rt.VPC == vpcID {
			return rt
		}
	}
	return nil
}

// RouteTableOfSubnet returns the table that routes what leaves the subnet:
// its explicitly associated table, else its VPC's main table (RT-3); nil
// for an unknown subnet or a topology built in code without tables.
func (t *Topology) RouteTableOfSubnet(subnetID string) *RouteTable {
	s := t.Subnet(subnetID)
	if s == nil {
		return nil
	}
	if s.RouteTable != "" {
		return t.RouteTable(s.RouteTable)
	}
	return t.MainRouteTable(s.VPC)
}

// SubnetsOfRouteTable returns the subnets whose traffic rt routes, those
// implicitly associated through the main table included.
func (t *Topology) SubnetsOfRouteTable(rtID string) []*Subnet {
	var out []*Subnet
	for i := range t.Subnets {
		s := &t.Subnets[i]
		if rt := t.RouteTableOfSubnet(s.ID); rt != nil && rt.ID == rtID {
			out = append(out, s)
		}
	}
	return out
}

// InternetGateway returns the internet gateway with id, or nil.
func (t *Topology) InternetGateway(id string) *InternetGateway {
	for i := range t.InternetGateways {
		if t.InternetGateways[i].ID == id {
			return &t.InternetGateways[i]
		}
	}
	return nil
}

// IGWOfVPC returns the internet gateway attached to the VPC, or nil.
func (t *Topology) IGWOfVPC(vpcID string) *InternetGateway {
	for i := range t.InternetGateways {
		if g := &t.InternetGateways[i]; g.VPC == vpcID && vpcID != "" {
			return g
		}
	}
	return nil
}

// EgressOnlyGateway returns the egress-only internet gateway with id, or nil.
func (t *Topology) EgressOnlyGateway(id string) *EgressOnlyGateway {
	for i := range t.EgressOnlyGateways {
		if t.EgressOnlyGateways[i].ID == id {
			return &t.EgressOnlyGateways[i]
		}
	}
	return nil
}

// EIGWOfVPC returns the VPC's egress-only internet gateway, or nil.
func (t *Topology) EIGWOfVPC(vpcID string) *EgressOnlyGateway {
	for i := range t.EgressOnlyGateways {
		if g := &t.EgressOnlyGateways[i]; g.VPC == vpcID && vpcID != "" {
			return g
		}
	}
	return nil
}

// NATGateway returns the NAT gateway with id, or nil.
func (t *Topology) NATGateway(id string) *NATGateway {
	for i := range t.NATGateways {
		if t.NATGateways[i].ID == id {
			return &t.NATGateways[i]
		}
	}
	return nil
}

// NATGatewayByENI returns the NAT gateway whose ENI is eni, or nil.
func (t *Topology) NATGatewayByENI(eni string) *NATGateway {
	for i := range t.NATGateways {
		if g := &t.NATGateways[i]; g.ENI == eni && eni != "" {
			return g
		}
	}
	return nil
}

// NATGatewayByIP returns the NAT gateway whose private IP is a, or nil.
func (t *Topology) NATGatewayByIP(a netip.Addr) *NATGateway {
	a = a.Unmap()
	for i := range t.NATGateways {
		if g := &t.NATGateways[i]; g.PrivateIP == a && a.IsValid() {
			return g
		}
	}
	return nil
}

// ElasticIP returns the Elastic IP with allocation id, or nil.
func (t *Topology) ElasticIP(id string) *ElasticIP {
	for i := range t.ElasticIPs {
		if t.ElasticIPs[i].ID == id {
			return &t.ElasticIPs[i]
		}
	}
	return nil
}

// ElasticIPByPublicIP returns the Elastic IP whose address is a, or nil.
func (t *Topology) ElasticIPByPublicIP(a netip.Addr) *ElasticIP {
	a = a.Unmap()
	for i := range t.ElasticIPs {
		if e := &t.ElasticIPs[i]; e.PublicIP == a && a.IsValid() {
			return e
		}
	}
	return nil
}

// ElasticIPOf returns the Elastic IP associated with the private IPv4 of
// the ENI (an instance's or a NAT gateway's), or nil.
func (t *Topology) ElasticIPOf(eni string, private netip.Addr) *ElasticIP {
	private = private.Unmap()
	for i := range t.ElasticIPs {
		if e := &t.ElasticIPs[i]; e.ENI == eni && eni != "" && e.PrivateIP == private {
			return e
		}
	}
	return nil
}

// Peering returns the peering connection with id, or nil.
func (t *Topology) Peering(id string) *Peering {
	for i := range t.Peerings {
		if t.Peerings[i].ID == id {
			return &t.Peerings[i]
		}
	}
	return nil
}

// PeeringBetween returns the active peering connection between two VPCs
// (either side requester), or nil.
func (t *Topology) PeeringBetween(a, b string) *Peering {
	for i := range t.Peerings {
		p := &t.Peerings[i]
		if p.Active() && ((p.Requester == a && p.Accepter == b) || (p.Requester == b && p.Accepter == a)) {
			return p
		}
	}
	return nil
}

// Active reports whether the peering carries traffic (PCX-1).
func (p *Peering) Active() bool { return p.State == "active" }

// Peer returns the VPC on the other side of the peering from vpcID, or ""
// when the peering does not involve vpcID.
func (p *Peering) Peer(vpcID string) string {
	switch vpcID {
	case p.Requester:
		return p.Accepter
	case p.Accepter:
		return p.Requester
	}
	return ""
}

// Endpoint returns the gateway VPC endpoint with id, or nil.
func (t *Topology) Endpoint(id string) *Endpoint {
	for i := range t.Endpoints {
		if t.Endpoints[i].ID == id {
			return &t.Endpoints[i]
		}
	}
	return nil
}

// PublicMapping is one entry of an internet gateway's one-to-one NAT
// (EIP-1): a public IPv4 and the private IPv4 of an ENI it stands for.
type PublicMapping struct {
	Public    netip.Addr
	Private   netip.Addr
	ENI       string // an instance's ENI or a NAT gateway's
	VPC       string // the VPC whose internet gateway does the mapping
	ElasticIP string // allocation id; "" for an auto-assigned public IP
}

// PublicMappings lists every public IPv4 mapped to a private one: the
// instances' auto-assigned public IPs (primary ENIs), then the associated
// Elastic IPs, in file order.
func (t *Topology) PublicMappings() []PublicMapping {
	var out []PublicMapping
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.PublicIP.IsValid() {
			out = append(out, PublicMapping{Public: in.PublicIP, Private: in.PrivateIP, ENI: in.ENI.ID, VPC: t.VPCOfSubnetID(in.Subnet)})
		}
	}
	for _, e := range t.ElasticIPs {
		if e.ENI == "" {
			continue
		}
		m := PublicMapping{Public: e.PublicIP, Private: e.PrivateIP, ENI: e.ENI, ElasticIP: e.ID}
		if g := t.NATGatewayByENI(e.ENI); g != nil {
			m.VPC = t.VPCOfSubnetID(g.Subnet)
		} else if x, _ := t.ENI(e.ENI); x != nil {
			m.VPC = t.VPCOfSubnetID(x.Subnet)
		}
		out = append(out, m)
	}
	return out
}

// PublicToPrivate returns the mapping whose public IPv4 is a (EIP-3).
func (t *Topology) PublicToPrivate(a netip.Addr) (PublicMapping, bool) {
	a = a.Unmap()
	for _, m := range t.PublicMappings() {
		if m.Public == a {
			return m, true
		}
	}
	return PublicMapping{}, false
}

// PrivateToPublic returns the mapping whose private IPv4 is a (EIP-2): the
// public address the internet gateway gives a packet from a.
func (t *Topology) PrivateToPublic(a netip.Addr) (PublicMapping, bool) {
	a = a.Unmap()
	for _, m := range t.PublicMappings() {
		if m.Private == a {
			return m, true
		}
	}
	return PublicMapping{}, false
}

// LocalRoutes are the routes every table of v starts with: one local route
// per VPC block, IPv4 then IPv6 (RT-5).
func LocalRoutes(v *VPC) []Route {
	return appendLocalRoutes(make([]Route, 0, 2+len(v.SecondaryCIDRs)), v)
}

func appendLocalRoutes(out []Route, v *VPC) []Route {
	add := func(p netip.Prefix) {
		if p.IsValid() {
			out = append(out, Route{Dest: p, Target: RouteTarget{Kind: TargetLocal}})
		}
	}
	add(v.CIDR)
	for _, p := range v.SecondaryCIDRs {
		add(p)
	}
	add(v.IPv6CIDR)
	return out
}

// IsLocal reports whether r is one of v's local routes (its destination is
// one of v's blocks), whatever its target now is (RT-5 lets an ENI or NAT
// gateway replace it).
func (r *Route) IsLocal(v *VPC) bool {
	d := r.Dest
	return d.IsValid() && (d == v.CIDR || d == v.IPv6CIDR || slices.Contains(v.SecondaryCIDRs, d))
}

// SortRoutes puts routes in the order the model keeps them (and the order
// Parse yields): IPv4 CIDR routes, then IPv6, each most specific first and
// then by address, then prefix-list routes by list id. Order does not
// change a lookup (RT-10); one order makes topologies comparable.
func SortRoutes(routes []Route) {
	slices.SortStableFunc(routes, compareRoutes)
}

func compareRoutes(a, b Route) int {
	ka, kb := routeOrder(a), routeOrder(b)
	if ka != kb {
		return ka - kb
	}
	if a.DestPrefixList != "" || b.DestPrefixList != "" {
		return strings.Compare(a.DestPrefixList, b.DestPrefixList)
	}
	if a.Dest.Bits() != b.Dest.Bits() {
		return b.Dest.Bits() - a.Dest.Bits()
	}
	return a.Dest.Addr().Compare(b.Dest.Addr())
}

func routeOrder(r Route) int {
	switch {
	case r.DestPrefixList != "":
		return 2
	case r.Dest.Addr().Is6():
		return 1
	}
	return 0
}

// Route returns the route of rt for exactly dest (a CIDR), or nil.
func (rt *RouteTable) Route(dest netip.Prefix) *Route {
	for i := range rt.Routes {
		if rt.Routes[i].DestPrefixList == "" && rt.Routes[i].Dest == dest {
			return &rt.Routes[i]
		}
	}
	return nil
}
