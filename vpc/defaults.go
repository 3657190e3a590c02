package vpc

import (
	"net/netip"
	"slices"
)

func defaultSGEgress(ipv6 bool) []SGRule {
	r := []SGRule{{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
	if ipv6 {
		r = append(r, SGRule{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("::/0")})
	}
	return r
}

func defaultNACLRules(ipv6 bool) []NACLRule {
	r := []NACLRule{{Number: 100, Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0"), Allow: true}}
	if ipv6 {
		r = append(r, NACLRule{Number: 101, Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("::/0"), Allow: true})
	}
	return r
}

// DefaultSecurityGroup is the group AWS creates with a VPC (SG-30): all
// traffic from its own members in, everything out.
func DefaultSecurityGroup(v *VPC) SecurityGroup {
	sg := SecurityGroup{
		ID:          v.DefaultSG,
		VPC:         v.ID,
		Name:        "default",
		Description: "default VPC security group",
		Ingress:     defaultSGIngress(v.DefaultSG),
		Egress:      defaultSGEgress(v.IPv6CIDR.IsValid()),
	}
	setRuleIDs(&sg)
	return sg
}

// DefaultNetworkACL is the NACL AWS creates with a VPC (NACL-17): rule 100
// (and 101 for IPv6) allows everything both ways.
func DefaultNetworkACL(v *VPC) NetworkACL {
	ipv6 := v.IPv6CIDR.IsValid()
	return NetworkACL{ID: v.DefaultNACL, VPC: v.ID, Default: true, Ingress: defaultNACLRules(ipv6), Egress: defaultNACLRules(ipv6)}
}

// MainRouteTableOf is the main table AWS creates with a VPC: local routes only (RT-2).
func MainRouteTableOf(v *VPC) RouteTable {
	return RouteTable{ID: v.MainTable, VPC: v.ID, Main: true, Routes: LocalRoutes(v)}
}

// AddVPC appends v with what AWS creates along with a VPC: its default
// security group, network ACL and main route table. v's default ids are
// derived (DefaultID) where empty. For code that builds topologies (the
// EC2 API, tests); a file gets the same from Parse.
func (t *Topology) AddVPC(v VPC) *VPC {
	i := len(t.VPCs)
	if v.DefaultSG == "" {
		v.DefaultSG = DefaultID(DefaultSGID, i, v.ID)
	}
	if v.DefaultNACL == "" {
		v.DefaultNACL = DefaultID(DefaultNACLID, i, v.ID)
	}
	if v.MainTable == "" {
		v.MainTable = DefaultID(DefaultMainRouteTableID, i, v.ID)
	}
	if v.MTU == 0 {
		v.MTU = DefaultMTU
	}
	t.VPCs = append(t.VPCs, v)
	t.SecurityGroups = append(t.SecurityGroups, DefaultSecurityGroup(&v))
	t.NetworkACLs = append(t.NetworkACLs, DefaultNetworkACL(&v))
	t.RouteTables = append(t.RouteTables, MainRouteTableOf(&v))
	return &t.VPCs[i]
}

// vpcIndex is the position of the VPC in t.VPCs, -1 when unknown.
func (t *Topology) vpcIndex(id string) int {
	for i := range t.VPCs {
		if t.VPCs[i].ID == id {
			return i
		}
	}
	return -1
}

// PublicRouteTableIDOf is the id of the table `public: true` associates a
// subnet of the VPC with (PublicRouteTableID, suffixed beyond the first VPC).
func (t *Topology) PublicRouteTableIDOf(vpcID string) string {
	return DefaultID(PublicRouteTableID, t.vpcIndex(vpcID), vpcID)
}

// PublicRoutes are the routes of the table `public: true` stands for
// (RT-20 [INTERP]): the local routes, 0.0.0.0/0 and (with an IPv6 block)
// ::/0 to the VPC's internet gateway: the attached one, else the one with
// the default id (DefaultIGWID), which Parse attaches when the VPC has none.
func (t *Topology) PublicRoutes(v *VPC) []Route {
	igw := DefaultID(DefaultIGWID, t.vpcIndex(v.ID), v.ID)
	if g := t.IGWOfVPC(v.ID); g != nil {
		igw = g.ID
	}
	g := t.InternetGateway(igw)
	blackhole := g == nil || g.VPC != v.ID
	routes := LocalRoutes(v)
	to := RouteTarget{Kind: TargetIGW, ID: igw}
	routes = append(routes, Route{Dest: netip.MustParsePrefix("0.0.0.0/0"), Target: to, Blackhole: blackhole})
	if v.IPv6CIDR.IsValid() {
		routes = append(routes, Route{Dest: netip.MustParsePrefix("::/0"), Target: to, Blackhole: blackhole})
	}
	SortRoutes(routes)
	return routes
}

// addDefaults adds what each VPC has without the topology naming it:
// default SG and NACL (SG-30, NACL-17), main route table (RT-2), and for
// `public: true` the public table and an internet gateway; it associates
// subnets and ENIs with their VPC's defaults and orders NACL rules by
// number. Implicit route tables come after the topology's, per VPC the
// main table then the public one; implicit internet gateways after the
// topology's, by VPC.
func (c *checker) addDefaults() {
	t := c.t
	c.fileRTs = len(t.RouteTables)
	for i := range t.VPCs {
		v := &t.VPCs[i]
		if c.implicit[v.DefaultSG] {
			t.SecurityGroups = append(t.SecurityGroups, DefaultSecurityGroup(v))
		}
		if c.implicit[v.DefaultNACL] {
			t.NetworkACLs = append(t.NetworkACLs, DefaultNetworkACL(v))
		}
	}
	for i := range t.VPCs {
		v := &t.VPCs[i]
		if c.implicit[v.MainTable] {
			t.RouteTables = append(t.RouteTables, RouteTable{ID: v.MainTable, VPC: v.ID, Main: true})
		}
		if pub := DefaultID(PublicRouteTableID, i, v.ID); c.implicit[pub] {
			t.RouteTables = append(t.RouteTables, RouteTable{ID: pub, VPC: v.ID})
		}
	}
	for i := range t.VPCs {
		v := &t.VPCs[i]
		if igw := DefaultID(DefaultIGWID, i, v.ID); c.implicit[igw] {
			t.InternetGateways = append(t.InternetGateways, InternetGateway{ID: igw, VPC: v.ID})
		}
	}
	byNumber := func(a, b NACLRule) int { return a.Number - b.Number }
	for i := range t.NetworkACLs {
		a := &t.NetworkACLs[i]
		if !slices.IsSortedFunc(a.Ingress, byNumber) {
			slices.SortStableFunc(a.Ingress, byNumber)
		}
		if !slices.IsSortedFunc(a.Egress, byNumber) {
			slices.SortStableFunc(a.Egress, byNumber)
		}
	}
	for i := range t.Subnets {
		s := &t.Subnets[i]
		v := t.VPC(s.VPC)
		if v == nil {
			continue
		}
		if s.NetworkACL == "" {
			s.NetworkACL = v.DefaultNACL
		}
		if s.Public {
			s.RouteTable = t.PublicRouteTableIDOf(v.ID)
		}
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for k := 0; k <= len(in.Secondary); k++ {
			e := &in.ENI
			if k > 0 {
				e = &in.Secondary[k-1]
			}
			if len(e.SecurityGroups) > 0 {
				continue
			}
			v := t.VPC(t.VPCOfSubnetID(e.Subnet))
			if v == nil {
				v = &t.VPCs[0]
			}
			e.SecurityGroups = []string{v.DefaultSG}
		}
	}
}
