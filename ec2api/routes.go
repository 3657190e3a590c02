package ec2api

import (
	"net/netip"
	"slices"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// --- Route tables ---

type createRouteTableIn struct {
	VpcID             string             `ec2:"VpcId,required"`
	ClientToken       string             `ec2:"ClientToken"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type createRouteTableOut struct {
	RouteTable  awsshape.RouteTable `xml:"routeTable"`
	ClientToken string              `xml:"clientToken,omitempty"`
}

// localRoutes are the routes every table of a VPC has (RT-5).
func localRoutes(p *vpc.VPC) []vpc.Route {
	var out []vpc.Route
	for _, c := range p.CIDRs() {
		out = append(out, vpc.Route{Dest: c, Target: vpc.RouteTarget{Kind: vpc.TargetLocal}})
	}
	return out
}

func createRouteTable(c *call, in *createRouteTableIn) (*createRouteTableOut, error) {
	tags, err := tagsFor(in.TagSpecifications, "route-table")
	if err != nil {
		return nil, err
	}
	id := newID("rtb")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		p := t.VPC(in.VpcID)
		if p == nil {
			return kVPC.notFound(in.VpcID)
		}
		t.RouteTables = append(t.RouteTables, vpc.RouteTable{ID: id, VPC: p.ID, Routes: localRoutes(p), Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createRouteTableOut{RouteTable: v.RouteTable(routeTable(v.T, id)), ClientToken: in.ClientToken}, nil
}

func routeTable(t *vpc.Topology, id string) *vpc.RouteTable {
	for i := range t.RouteTables {
		if t.RouteTables[i].ID == id {
			return &t.RouteTables[i]
		}
	}
	return nil
}

type describeRouteTablesIn struct {
	DescribeCommon
	RouteTableIDs []string `ec2:"RouteTableId"`
}

type describeRouteTablesOut struct {
	RouteTables awsshape.List[awsshape.RouteTable] `xml:"routeTableSet"`
	NextToken   string                             `xml:"nextToken,omitempty"`
}

func rtAssoc(r *awsshape.RouteTable, f func(*awsshape.RouteTableAssociation) []string) []string {
	var out []string
	for i := range r.Associations {
		out = append(out, f(&r.Associations[i])...)
	}
	return out
}

func rtRoute(r *awsshape.RouteTable, f func(*awsshape.Route) string) []string {
	var out []string
	for i := range r.Routes {
		out = append(out, one(f(&r.Routes[i]))...)
	}
	return out
}

var rtFilters = filterFns[awsshape.RouteTable]{
	"route-table-id": func(r *awsshape.RouteTable) []string { return one(r.RouteTableID) },
	"vpc-id":         func(r *awsshape.RouteTable) []string { return one(r.VpcID) },
	"owner-id":       func(r *awsshape.RouteTable) []string { return one(r.OwnerID) },
	"association.main": func(r *awsshape.RouteTable) []string {
		// A table without associations has no association.main value,
		// as on AWS: filtering on false finds explicitly associated tables.
		return rtAssoc(r, func(a *awsshape.RouteTableAssociation) []string { return boolStr(a.Main) })
	},
	"association.subnet-id": func(r *awsshape.RouteTable) []string {
		return rtAssoc(r, func(a *awsshape.RouteTableAssociation) []string { return one(a.SubnetID) })
	},
	"association.route-table-association-id": func(r *awsshape.RouteTable) []string {
		return rtAssoc(r, func(a *awsshape.RouteTableAssociation) []string { return one(a.RouteTableAssociationID) })
	},
	"association.route-table-id": func(r *awsshape.RouteTable) []string {
		return rtAssoc(r, func(a *awsshape.RouteTableAssociation) []string { return one(a.RouteTableID) })
	},
	"association.gateway-id": func(r *awsshape.RouteTable) []string {
		return rtAssoc(r, func(a *awsshape.RouteTableAssociation) []string { return one(a.GatewayID) })
	},
	"route.destination-cidr-block": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.DestinationCidrBlock })
	},
	"route.destination-ipv6-cidr-block": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.DestinationIpv6CidrBlock })
	},
	"route.destination-prefix-list-id": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.DestinationPrefixListID })
	},
	"route.gateway-id": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.GatewayID })
	},
	"route.nat-gateway-id": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.NatGatewayID })
	},
	"route.instance-id": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.InstanceID })
	},
	"route.vpc-peering-connection-id": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.VpcPeeringConnectionID })
	},
	"route.origin": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.Origin })
	},
	"route.state": func(r *awsshape.RouteTable) []string {
		return rtRoute(r, func(x *awsshape.Route) string { return x.State })
	},
}

func describeRouteTables(c *call, in *describeRouteTablesIn) (*describeRouteTablesOut, error) {
	items, err := selectIDs(c.view().RouteTables(), in.RouteTableIDs, func(r *awsshape.RouteTable) string { return r.RouteTableID }, kRTB)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, rtFilters, func(r *awsshape.RouteTable) awsshape.List[awsshape.Tag] { return r.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeRouteTablesOut{RouteTables: items, NextToken: next}, nil
}

type deleteRouteTableIn struct {
	RouteTableID string `ec2:"RouteTableId,required"`
	DryRun       bool   `ec2:"DryRun"`
}

func deleteRouteTable(c *call, in *deleteRouteTableIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		rt := routeTable(t, in.RouteTableID)
		if rt == nil {
			return kRTB.notFound(in.RouteTableID)
		}
		if rt.Main {
			return Errorf("DependencyViolation", "The routeTable '%s' has dependencies and cannot be deleted (it is its VPC's main route table).", rt.ID)
		}
		for _, s := range t.Subnets {
			if s.RouteTable == rt.ID {
				return Errorf("DependencyViolation", "The routeTable '%s' has dependencies and cannot be deleted (subnet %s).", rt.ID, s.ID)
			}
		}
		for i := range t.Endpoints {
			t.Endpoints[i].RouteTables = slices.DeleteFunc(t.Endpoints[i].RouteTables, func(x string) bool { return x == rt.ID })
		}
		t.RouteTables = slices.DeleteFunc(t.RouteTables, func(x vpc.RouteTable) bool { return x.ID == in.RouteTableID })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type routeIn struct {
	RouteTableID                string `ec2:"RouteTableId,required"`
	DestinationCidrBlock        string `ec2:"DestinationCidrBlock"`
	DestinationIpv6CidrBlock    string `ec2:"DestinationIpv6CidrBlock"`
	DestinationPrefixListID     string `ec2:"DestinationPrefixListId"`
	GatewayID                   string `ec2:"GatewayId"`
	EgressOnlyInternetGatewayID string `ec2:"EgressOnlyInternetGatewayId"`
	NatGatewayID                string `ec2:"NatGatewayId"`
	NetworkInterfaceID          string `ec2:"NetworkInterfaceId"`
	InstanceID                  string `ec2:"InstanceId"`
	VpcPeeringConnectionID      string `ec2:"VpcPeeringConnectionId"`
	TransitGatewayID            string `ec2:"TransitGatewayId"`
	LocalGatewayID              string `ec2:"LocalGatewayId"`
	CarrierGatewayID            string `ec2:"CarrierGatewayId"`
	VpcEndpointID               string `ec2:"VpcEndpointId"`
	CoreNetworkArn              string `ec2:"CoreNetworkArn"`
	DryRun                      bool   `ec2:"DryRun"`
}

// dest reads the one destination of a route call.
func (in *routeIn) dest() (vpc.Route, *Error) {
	var r vpc.Route
	n := 0
	if in.DestinationCidrBlock != "" {
		p, err := parseCIDR("destinationCidrBlock", in.DestinationCidrBlock, 4)
		if err != nil {
			return r, err
		}
		r.Dest, n = p, n+1
	}
	if in.DestinationIpv6CidrBlock != "" {
		p, err := parseCIDR("destinationIpv6CidrBlock", in.DestinationIpv6CidrBlock, 6)
		if err != nil {
			return r, err
		}
		r.Dest, n = p, n+1
	}
	if in.DestinationPrefixListID != "" {
		r.DestPrefixList, n = in.DestinationPrefixListID, n+1
	}
	switch n {
	case 0:
		return r, missing("DestinationCidrBlock")
	case 1:
		return r, nil
	}
	return r, Errorf("InvalidParameterCombination", "Give exactly one of DestinationCidrBlock, DestinationIpv6CidrBlock and DestinationPrefixListId.")
}

func (in *routeIn) destText() string {
	return in.DestinationCidrBlock + in.DestinationIpv6CidrBlock + in.DestinationPrefixListID
}

// target resolves the one target of a route call against t, for a table
// of VPC vpcID.
func (in *routeIn) target(t *vpc.Topology, vpcID string) (vpc.RouteTarget, *Error) {
	type cand struct {
		kind vpc.TargetKind
		id   string
	}
	var cs []cand
	add := func(k vpc.TargetKind, id string) {
		if id != "" {
			cs = append(cs, cand{k, id})
		}
	}
	add(vpc.TargetIGW, in.GatewayID)
	add(vpc.TargetEIGW, in.EgressOnlyInternetGatewayID)
	add(vpc.TargetNAT, in.NatGatewayID)
	add(vpc.TargetENI, in.NetworkInterfaceID)
	add(vpc.TargetInstance, in.InstanceID)
	add(vpc.TargetPeering, in.VpcPeeringConnectionID)
	add(vpc.TargetEndpoint, in.VpcEndpointID)
	for _, unsupported := range []string{in.TransitGatewayID, in.LocalGatewayID, in.CarrierGatewayID, in.CoreNetworkArn} {
		if unsupported != "" {
			return vpc.RouteTarget{}, Errorf("UnsupportedOperation", "vpcemu routes to internet, egress-only and NAT gateways, network interfaces, instances, peering connections and gateway endpoints; not to %s.", unsupported)
		}
	}
	if len(cs) == 0 {
		return vpc.RouteTarget{}, missing("GatewayId")
	}
	if len(cs) > 1 {
		return vpc.RouteTarget{}, Errorf("InvalidParameterCombination", "Give exactly one route target.")
	}
	k, id := cs[0].kind, cs[0].id
	if k == vpc.TargetIGW && id == "local" {
		return vpc.RouteTarget{Kind: vpc.TargetLocal}, nil
	}
	notAttached := func() *Error {
		return invalidValue("route table and network gateway %s belong to different networks (the table is in %s)", id, vpcID)
	}
	switch k {
	case vpc.TargetIGW:
		for _, g := range t.InternetGateways {
			if g.ID == id {
				if g.VPC != vpcID {
					return vpc.RouteTarget{}, notAttached()
				}
				return vpc.RouteTarget{Kind: k, ID: id}, nil
			}
		}
		for _, e := range t.Endpoints {
			if e.ID == id {
				return vpc.RouteTarget{Kind: vpc.TargetEndpoint, ID: id}, nil
			}
		}
		return vpc.RouteTarget{}, Errorf("InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", id)
	case vpc.TargetEIGW:
		for _, g := range t.EgressOnlyGateways {
			if g.ID == id {
				if g.VPC != vpcID {
					return vpc.RouteTarget{}, notAttached()
				}
				return vpc.RouteTarget{Kind: k, ID: id}, nil
			}
		}
		return vpc.RouteTarget{}, Errorf("InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", id)
	case vpc.TargetNAT:
		for _, n := range t.NATGateways {
			if n.ID == id {
				return vpc.RouteTarget{Kind: k, ID: id}, nil
			}
		}
		return vpc.RouteTarget{}, Errorf("InvalidNatGatewayID.NotFound", "The natGateway ID '%s' does not exist", id)
	case vpc.TargetENI:
		if eniByID(t, id) == nil {
			return vpc.RouteTarget{}, kENI.notFound(id)
		}
	case vpc.TargetInstance:
		if t.Instance(id) == nil {
			return vpc.RouteTarget{}, kInstance.notFound(id)
		}
	case vpc.TargetPeering:
		for _, p := range t.Peerings {
			if p.ID == id {
				return vpc.RouteTarget{Kind: k, ID: id}, nil
			}
		}
		return vpc.RouteTarget{}, Errorf("InvalidVpcPeeringConnectionID.NotFound", "The vpcPeeringConnection ID '%s' does not exist", id)
	case vpc.TargetEndpoint:
		for _, e := range t.Endpoints {
			if e.ID == id {
				return vpc.RouteTarget{Kind: k, ID: id}, nil
			}
		}
		return vpc.RouteTarget{}, Errorf("InvalidVpcEndpointId.NotFound", "The Vpc Endpoint Id '%s' does not exist", id)
	}
	return vpc.RouteTarget{Kind: k, ID: id}, nil
}

// eniByID finds an instance's ENI by id.
func eniByID(t *vpc.Topology, id string) *vpc.ENI {
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			if e.ID == id {
				return e
			}
		}
	}
	return nil
}

func sameDest(a, b *vpc.Route) bool { return a.Dest == b.Dest && a.DestPrefixList == b.DestPrefixList }

func createRoute(c *call, in *routeIn) (*returnTrue, error) {
	r, err := in.dest()
	if err != nil {
		return nil, err
	}
	_, aerr := c.apply(func(t *vpc.Topology) error {
		rt := routeTable(t, in.RouteTableID)
		if rt == nil {
			return kRTB.notFound(in.RouteTableID)
		}
		if r.Target, err = in.target(t, rt.VPC); err != nil {
			return err
		}
		if r.Target.Kind == vpc.TargetLocal {
			return invalidValue("cannot create a local route: the local routes come with the VPC's CIDRs")
		}
		for i := range rt.Routes {
			if sameDest(&rt.Routes[i], &r) {
				return Errorf("RouteAlreadyExists", "The route identified by %s already exists.", in.destText())
			}
		}
		rt.Routes = append(rt.Routes, r)
		vpc.SortRoutes(rt.Routes)
		t.RefreshRouteStates()
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return ok, nil
}

// findRoute finds the route of a destination; a VPC's local routes may
// only have their target replaced (by an ENI or NAT gateway, or back to
// local: RT-5), never be removed.
func findRoute(t *vpc.Topology, rt *vpc.RouteTable, r *vpc.Route, in *routeIn, replace bool) (int, *Error) {
	for i := range rt.Routes {
		if sameDest(&rt.Routes[i], r) {
			if p := t.VPC(rt.VPC); p != nil && rt.Routes[i].IsLocal(p) {
				switch {
				case !replace:
					return -1, invalidValue("cannot remove local route %s in route table %s", in.destText(), rt.ID)
				case in.GatewayID != "" && in.GatewayID != "local" || in.NatGatewayID == "" && in.NetworkInterfaceID == "" && in.GatewayID == "":
					return -1, invalidValue("the local route %s of route table %s can only point at a network interface, a NAT gateway or local", in.destText(), rt.ID)
				}
			}
			return i, nil
		}
	}
	return -1, Errorf("InvalidRoute.NotFound", "no route with destination %s in route table %s", in.destText(), rt.ID)
}

func replaceRoute(c *call, in *routeIn) (*returnTrue, error) {
	r, err := in.dest()
	if err != nil {
		return nil, err
	}
	_, aerr := c.apply(func(t *vpc.Topology) error {
		rt := routeTable(t, in.RouteTableID)
		if rt == nil {
			return kRTB.notFound(in.RouteTableID)
		}
		i, err := findRoute(t, rt, &r, in, true)
		if err != nil {
			return err
		}
		if r.Target, err = in.target(t, rt.VPC); err != nil {
			return err
		}
		rt.Routes[i] = r
		t.RefreshRouteStates()
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return ok, nil
}

type deleteRouteIn struct {
	RouteTableID             string `ec2:"RouteTableId,required"`
	DestinationCidrBlock     string `ec2:"DestinationCidrBlock"`
	DestinationIpv6CidrBlock string `ec2:"DestinationIpv6CidrBlock"`
	DestinationPrefixListID  string `ec2:"DestinationPrefixListId"`
	DryRun                   bool   `ec2:"DryRun"`
}

func deleteRoute(c *call, din *deleteRouteIn) (*returnTrue, error) {
	in := &routeIn{RouteTableID: din.RouteTableID, DestinationCidrBlock: din.DestinationCidrBlock,
		DestinationIpv6CidrBlock: din.DestinationIpv6CidrBlock, DestinationPrefixListID: din.DestinationPrefixListID}
	r, err := in.dest()
	if err != nil {
		return nil, err
	}
	_, aerr := c.apply(func(t *vpc.Topology) error {
		rt := routeTable(t, in.RouteTableID)
		if rt == nil {
			return kRTB.notFound(in.RouteTableID)
		}
		i, err := findRoute(t, rt, &r, in, false)
		if err != nil {
			return err
		}
		rt.Routes = slices.Delete(rt.Routes, i, i+1)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return ok, nil
}

type associateRouteTableIn struct {
	RouteTableID string `ec2:"RouteTableId,required"`
	SubnetID     string `ec2:"SubnetId"`
	GatewayID    string `ec2:"GatewayId"`
	DryRun       bool   `ec2:"DryRun"`
}

type associationStateOut struct {
	State string `xml:"state"`
}

type associateRouteTableOut struct {
	AssociationID    string              `xml:"associationId"`
	AssociationState associationStateOut `xml:"associationState"`
}

func associateRouteTable(c *call, in *associateRouteTableIn) (*associateRouteTableOut, error) {
	if in.GatewayID != "" {
		return nil, Errorf("UnsupportedOperation", "vpcemu does not associate route tables with gateways (edge association).")
	}
	if in.SubnetID == "" {
		return nil, missing("SubnetId")
	}
	_, err := c.apply(func(t *vpc.Topology) error {
		rt := routeTable(t, in.RouteTableID)
		if rt == nil {
			return kRTB.notFound(in.RouteTableID)
		}
		s := t.Subnet(in.SubnetID)
		if s == nil {
			return kSubnet.notFound(in.SubnetID)
		}
		if s.VPC != rt.VPC {
			return invalidValue("Route table %s and subnet %s belong to different networks", rt.ID, s.ID)
		}
		if s.RouteTable != "" {
			return Errorf("Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association (subnet %s is associated with %s)", rt.ID, s.ID, s.RouteTable)
		}
		s.RouteTable, s.Public = rt.ID, false
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &associateRouteTableOut{AssociationID: awsshape.RTAssociationID(in.SubnetID, in.RouteTableID), AssociationState: associationStateOut{"associated"}}, nil
}

type disassociateRouteTableIn struct {
	AssociationID string `ec2:"AssociationId,required"`
	DryRun        bool   `ec2:"DryRun"`
}

// subnetByRTAssociation finds the subnet of an explicit association id.
func subnetByRTAssociation(t *vpc.Topology, id string) *vpc.Subnet {
	for i := range t.Subnets {
		if s := &t.Subnets[i]; s.RouteTable != "" && awsshape.RTAssociationID(s.ID, s.RouteTable) == id {
			return s
		}
	}
	return nil
}

func disassociateRouteTable(c *call, in *disassociateRouteTableIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		s := subnetByRTAssociation(t, in.AssociationID)
		if s == nil {
			for _, rt := range t.RouteTables {
				if rt.Main && awsshape.MainAssociationID(rt.VPC, rt.ID) == in.AssociationID {
					return invalidValue("cannot disassociate the main route table association %s", in.AssociationID)
				}
			}
			return Errorf("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", in.AssociationID)
		}
		s.RouteTable, s.Public = "", false
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type replaceRouteTableAssociationIn struct {
	AssociationID string `ec2:"AssociationId,required"`
	RouteTableID  string `ec2:"RouteTableId,required"`
	DryRun        bool   `ec2:"DryRun"`
}

type replaceRouteTableAssociationOut struct {
	NewAssociationID string              `xml:"newAssociationId"`
	AssociationState associationStateOut `xml:"associationState"`
}

// replaceRouteTableAssociation points a subnet's association, or a VPC's
// main association, at another table of the VPC.
func replaceRouteTableAssociation(c *call, in *replaceRouteTableAssociationIn) (*replaceRouteTableAssociationOut, error) {
	var newID string
	_, err := c.apply(func(t *vpc.Topology) error {
		rt := routeTable(t, in.RouteTableID)
		if rt == nil {
			return kRTB.notFound(in.RouteTableID)
		}
		if s := subnetByRTAssociation(t, in.AssociationID); s != nil {
			if s.VPC != rt.VPC {
				return invalidValue("Route table %s and subnet %s belong to different networks", rt.ID, s.ID)
			}
			s.RouteTable, s.Public = rt.ID, false
			newID = awsshape.RTAssociationID(s.ID, rt.ID)
			return nil
		}
		for i := range t.RouteTables {
			old := &t.RouteTables[i]
			if !old.Main || awsshape.MainAssociationID(old.VPC, old.ID) != in.AssociationID {
				continue
			}
			if old.VPC != rt.VPC {
				return invalidValue("Route table %s is not in VPC %s", rt.ID, old.VPC)
			}
			old.Main = false
			rt.Main = true
			if p := t.VPC(rt.VPC); p != nil {
				p.MainTable = rt.ID
			}
			newID = awsshape.MainAssociationID(rt.VPC, rt.ID)
			return nil
		}
		return Errorf("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", in.AssociationID)
	})
	if err != nil {
		return nil, err
	}
	return &replaceRouteTableAssociationOut{NewAssociationID: newID, AssociationState: associationStateOut{"associated"}}, nil
}

// --- Internet gateways ---

type createInternetGatewayIn struct {
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type createInternetGatewayOut struct {
	InternetGateway awsshape.InternetGateway `xml:"internetGateway"`
}

func createInternetGateway(c *call, in *createInternetGatewayIn) (*createInternetGatewayOut, error) {
	tags, err := tagsFor(in.TagSpecifications, "internet-gateway")
	if err != nil {
		return nil, err
	}
	id := newID("igw")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		t.InternetGateways = append(t.InternetGateways, vpc.InternetGateway{ID: id, Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createInternetGatewayOut{InternetGateway: v.InternetGateway(igw(v.T, id))}, nil
}

func igw(t *vpc.Topology, id string) *vpc.InternetGateway {
	for i := range t.InternetGateways {
		if t.InternetGateways[i].ID == id {
			return &t.InternetGateways[i]
		}
	}
	return nil
}

type describeInternetGatewaysIn struct {
	DescribeCommon
	InternetGatewayIDs []string `ec2:"InternetGatewayId"`
}

type describeInternetGatewaysOut struct {
	InternetGateways awsshape.List[awsshape.InternetGateway] `xml:"internetGatewaySet"`
	NextToken        string                                  `xml:"nextToken,omitempty"`
}

var igwFilters = filterFns[awsshape.InternetGateway]{
	"internet-gateway-id": func(g *awsshape.InternetGateway) []string { return one(g.InternetGatewayID) },
	"owner-id":            func(g *awsshape.InternetGateway) []string { return one(g.OwnerID) },
	"attachment.vpc-id": func(g *awsshape.InternetGateway) []string {
		var out []string
		for _, a := range g.Attachments {
			out = append(out, a.VpcID)
		}
		return out
	},
	"attachment.state": func(g *awsshape.InternetGateway) []string {
		var out []string
		for _, a := range g.Attachments {
			out = append(out, a.State)
		}
		return out
	},
}

func describeInternetGateways(c *call, in *describeInternetGatewaysIn) (*describeInternetGatewaysOut, error) {
	items, err := selectIDs(c.view().InternetGateways(), in.InternetGatewayIDs, func(g *awsshape.InternetGateway) string { return g.InternetGatewayID }, kIGW)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, igwFilters, func(g *awsshape.InternetGateway) awsshape.List[awsshape.Tag] { return g.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeInternetGatewaysOut{InternetGateways: items, NextToken: next}, nil
}

type deleteInternetGatewayIn struct {
	InternetGatewayID string `ec2:"InternetGatewayId,required"`
	DryRun            bool   `ec2:"DryRun"`
}

type internetGatewayIn struct {
	InternetGatewayID string `ec2:"InternetGatewayId,required"`
	VpcID             string `ec2:"VpcId,required"`
	DryRun            bool   `ec2:"DryRun"`
}

func deleteInternetGateway(c *call, in *deleteInternetGatewayIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		g := igw(t, in.InternetGatewayID)
		if g == nil {
			return kIGW.notFound(in.InternetGatewayID)
		}
		if g.VPC != "" {
			return Errorf("DependencyViolation", "The internetGateway '%s' has dependencies and cannot be deleted (attached to %s).", g.ID, g.VPC)
		}
		t.InternetGateways = slices.DeleteFunc(t.InternetGateways, func(x vpc.InternetGateway) bool { return x.ID == in.InternetGatewayID })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

func attachInternetGateway(c *call, in *internetGatewayIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		g := igw(t, in.InternetGatewayID)
		if g == nil {
			return kIGW.notFound(in.InternetGatewayID)
		}
		if t.VPC(in.VpcID) == nil {
			return kVPC.notFound(in.VpcID)
		}
		if g.VPC != "" {
			return Errorf("Resource.AlreadyAssociated", "resource %s is already attached to network %s", g.ID, g.VPC)
		}
		for _, o := range t.InternetGateways {
			if o.VPC == in.VpcID {
				return Errorf("Resource.AlreadyAssociated", "network %s already has an internet gateway attached (%s)", in.VpcID, o.ID)
			}
		}
		g.VPC = in.VpcID
		t.RefreshRouteStates()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// detachInternetGateway refuses while public addresses are mapped in the
// VPC, as EC2 does; routes to the gateway become blackholes.
func detachInternetGateway(c *call, in *internetGatewayIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		g := igw(t, in.InternetGatewayID)
		if g == nil {
			return kIGW.notFound(in.InternetGatewayID)
		}
		if g.VPC != in.VpcID {
			return Errorf("Gateway.NotAttached", "resource %s is not attached to network %s", g.ID, in.VpcID)
		}
		for i := range t.Instances {
			for _, e := range t.Instances[i].ENIs() {
				if t.VPCOfSubnet(e.Subnet) != nil && t.VPCOfSubnet(e.Subnet).ID == in.VpcID && (e.PublicIP.IsValid() || eipOf(t, e.ID, t.Instances[i].ID) != nil) {
					return Errorf("DependencyViolation", "Network %s has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.", in.VpcID)
				}
			}
		}
		g.VPC = ""
		t.RefreshRouteStates()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// eipOf returns an Elastic IP associated with the ENI (or, for a primary
// ENI, named by its instance id).
func eipOf(t *vpc.Topology, eni, instance string) *vpc.ElasticIP {
	for i := range t.ElasticIPs {
		if e := &t.ElasticIPs[i]; e.ENI != "" && (e.ENI == eni || e.ENI == instance) {
			return e
		}
	}
	return nil
}

// --- NAT gateways ---

type createNatGatewayIn struct {
	SubnetID          string             `ec2:"SubnetId,required"`
	AllocationID      string             `ec2:"AllocationId"`
	ConnectivityType  string             `ec2:"ConnectivityType"`
	PrivateIPAddress  string             `ec2:"PrivateIpAddress"`
	ClientToken       string             `ec2:"ClientToken"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type createNatGatewayOut struct {
	ClientToken string              `xml:"clientToken,omitempty"`
	NatGateway  awsshape.NatGateway `xml:"natGateway"`
}

func createNatGateway(c *call, in *createNatGatewayIn) (*createNatGatewayOut, error) {
	private := false
	switch in.ConnectivityType {
	case "", "public":
		if in.AllocationID == "" {
			return nil, missing("AllocationId")
		}
	case "private":
		private = true
		if in.AllocationID != "" {
			return nil, Errorf("InvalidParameterCombination", "A private NAT gateway takes no AllocationId.")
		}
	default:
		return nil, invalidValue("Value (%s) for parameter connectivityType is invalid. Valid: public, private.", in.ConnectivityType)
	}
	tags, err := tagsFor(in.TagSpecifications, "natgateway")
	if err != nil {
		return nil, err
	}
	var priv netip.Addr
	if in.PrivateIPAddress != "" {
		a, perr := netip.ParseAddr(in.PrivateIPAddress)
		if perr != nil || !a.Is4() {
			return nil, invalidValue("Value (%s) for parameter privateIpAddress is invalid.", in.PrivateIPAddress)
		}
		priv = a
	}
	id, eni := newID("nat"), newID("eni")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		s := t.Subnet(in.SubnetID)
		if s == nil {
			return kSubnet.notFound(in.SubnetID)
		}
		if !priv.IsValid() {
			a, err := freeIP(t, s, nil)
			if err != nil {
				return err
			}
			priv = a
		}
		n := vpc.NATGateway{ID: id, Subnet: s.ID, ENI: eni, PrivateIP: priv, Private: private, ElasticIP: in.AllocationID, PortPolicy: "random", Tags: tags}
		if !private {
			e := eipByID(t, in.AllocationID)
			if e == nil {
				return kEIP.notFound(in.AllocationID)
			}
			if e.ENI != "" {
				return Errorf("Resource.AlreadyAssociated", "Elastic IP address [%s] is already associated", e.ID)
			}
			e.ENI, e.PrivateIP = eni, priv
		}
		t.NATGateways = append(t.NATGateways, n)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	c.reg.ann.NATGateways[id] = awsshape.NATInfo{CreateTime: c.now}
	out := &createNatGatewayOut{ClientToken: in.ClientToken}
	for i := range v.T.NATGateways {
		if v.T.NATGateways[i].ID == id {
			out.NatGateway = v.NatGateway(&v.T.NATGateways[i])
		}
	}
	out.NatGateway.State = "pending" // EC2's answer to the create; Describe shows it available
	return out, nil
}

func eipByID(t *vpc.Topology, id string) *vpc.ElasticIP {
	for i := range t.ElasticIPs {
		if t.ElasticIPs[i].ID == id {
			return &t.ElasticIPs[i]
		}
	}
	return nil
}

// freeIP returns the lowest address of the subnet no ENI or NAT gateway
// holds, skipping AWS's reserved ones and those in taken.
func freeIP(t *vpc.Topology, s *vpc.Subnet, taken map[netip.Addr]bool) (netip.Addr, *Error) {
	used := map[netip.Addr]bool{}
	for a := range taken {
		used[a] = true
	}
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			used[e.PrivateIP] = true
			for _, a := range e.SecondaryIPs {
				used[a] = true
			}
		}
	}
	for _, n := range t.NATGateways {
		used[n.PrivateIP] = true
	}
	a := s.CIDR.Addr()
	for range 4 { // network, router, DNS, reserved
		a = a.Next()
	}
	for ; s.CIDR.Contains(a); a = a.Next() {
		if !s.CIDR.Contains(a.Next()) { // broadcast
			break
		}
		if !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, Errorf("InsufficientFreeAddressesInSubnet", "The subnet %s has no free addresses.", s.ID)
}

type describeNatGatewaysIn struct {
	DescribeCommon
	NatGatewayIDs []string `ec2:"NatGatewayId"`
}

type describeNatGatewaysOut struct {
	NatGateways awsshape.List[awsshape.NatGateway] `xml:"natGatewaySet"`
	NextToken   string                             `xml:"nextToken,omitempty"`
}

var natFilters = filterFns[awsshape.NatGateway]{
	"nat-gateway-id": func(n *awsshape.NatGateway) []string { return one(n.NatGatewayID) },
	"state":          func(n *awsshape.NatGateway) []string { return one(n.State) },
	"subnet-id":      func(n *awsshape.NatGateway) []string { return one(n.SubnetID) },
	"vpc-id":         func(n *awsshape.NatGateway) []string { return one(n.VpcID) },
}

func describeNatGateways(c *call, in *describeNatGatewaysIn) (*describeNatGatewaysOut, error) {
	items, err := selectIDs(c.view().NatGateways(), in.NatGatewayIDs, func(n *awsshape.NatGateway) string { return n.NatGatewayID }, kNAT)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, natFilters, func(n *awsshape.NatGateway) awsshape.List[awsshape.Tag] { return n.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeNatGatewaysOut{NatGateways: items, NextToken: next}, nil
}

type deleteNatGatewayIn struct {
	NatGatewayID string `ec2:"NatGatewayId,required"`
	DryRun       bool   `ec2:"DryRun"`
}

type deleteNatGatewayOut struct {
	NatGatewayID string `xml:"natGatewayId"`
}

// deleteNatGateway removes a NAT gateway, frees its Elastic IP and leaves
// the routes to it as blackholes (RT-15).
func deleteNatGateway(c *call, in *deleteNatGatewayIn) (*deleteNatGatewayOut, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		i := slices.IndexFunc(t.NATGateways, func(n vpc.NATGateway) bool { return n.ID == in.NatGatewayID })
		if i < 0 {
			return kNAT.notFound(in.NatGatewayID)
		}
		n := t.NATGateways[i]
		if e := eipByID(t, n.ElasticIP); e != nil && e.ENI == n.ENI {
			e.ENI, e.PrivateIP = "", netip.Addr{}
		}
		t.NATGateways = slices.Delete(t.NATGateways, i, i+1)
		// Its ENI goes with it, and the flow logs of that ENI, as
		// TerminateInstances does for an instance's [INTERP].
		t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(f vpc.FlowLog) bool { return f.Resource == n.ENI })
		t.RefreshRouteStates()
		return nil
	})
	if err != nil {
		return nil, err
	}
	delete(c.reg.ann.NATGateways, in.NatGatewayID)
	return &deleteNatGatewayOut{NatGatewayID: in.NatGatewayID}, nil
}

// --- Elastic IPs ---

type allocateAddressIn struct {
	Domain            string             `ec2:"Domain"`
	Address           string             `ec2:"Address"`
	PublicIpv4Pool    string             `ec2:"PublicIpv4Pool"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type allocateAddressOut struct {
	PublicIP           string `xml:"publicIp"`
	AllocationID       string `xml:"allocationId"`
	Domain             string `xml:"domain"`
	PublicIpv4Pool     string `xml:"publicIpv4Pool"`
	NetworkBorderGroup string `xml:"networkBorderGroup"`
}

// publicPools are where vpcemu takes public IPv4s from [INTERP]: the
// documentation ranges the internet hosts also use, so every public
// address is reachable inside the topology and none leaves it.
var publicPools = []netip.Prefix{
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("192.0.2.0/24"),
}

// freePublicIP returns an unused public IPv4 from the pools.
func freePublicIP(t *vpc.Topology, taken map[netip.Addr]bool) (netip.Addr, *Error) {
	used := map[netip.Addr]bool{}
	for a := range taken {
		used[a] = true
	}
	for _, h := range t.Internet {
		used[h.IP] = true
	}
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			used[e.PublicIP] = true
		}
	}
	for _, e := range t.ElasticIPs {
		used[e.PublicIP] = true
	}
	for _, p := range publicPools {
		for a := p.Addr().Next(); p.Contains(a.Next()); a = a.Next() {
			if !used[a] {
				return a, nil
			}
		}
	}
	return netip.Addr{}, Errorf("AddressLimitExceeded", "vpcemu has no public IPv4 addresses left.")
}

func allocateAddress(c *call, in *allocateAddressIn) (*allocateAddressOut, error) {
	if in.Domain != "" && in.Domain != "vpc" {
		return nil, invalidValue("Value (%s) for parameter domain is invalid. Valid: vpc.", in.Domain)
	}
	tags, err := tagsFor(in.TagSpecifications, "elastic-ip")
	if err != nil {
		return nil, err
	}
	id := newID("eipalloc")
	var ip netip.Addr
	_, aerr := c.apply(func(t *vpc.Topology) error {
		if in.Address != "" {
			a, perr := netip.ParseAddr(in.Address)
			if perr != nil || !a.Is4() {
				return invalidValue("Value (%s) for parameter address is invalid.", in.Address)
			}
			for _, e := range t.ElasticIPs {
				if e.PublicIP == a {
					return Errorf("InvalidAddress.InUse", "Address %s is already allocated (%s).", a, e.ID)
				}
			}
			ip = a
		} else {
			a, err := freePublicIP(t, nil)
			if err != nil {
				return err
			}
			ip = a
		}
		t.ElasticIPs = append(t.ElasticIPs, vpc.ElasticIP{ID: id, PublicIP: ip, Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &allocateAddressOut{PublicIP: ip.String(), AllocationID: id, Domain: "vpc", PublicIpv4Pool: "amazon", NetworkBorderGroup: c.reg.name}, nil
}

type associateAddressIn struct {
	AllocationID       string `ec2:"AllocationId"`
	PublicIP           string `ec2:"PublicIp"`
	InstanceID         string `ec2:"InstanceId"`
	NetworkInterfaceID string `ec2:"NetworkInterfaceId"`
	PrivateIPAddress   string `ec2:"PrivateIpAddress"`
	AllowReassociation bool   `ec2:"AllowReassociation"`
	DryRun             bool   `ec2:"DryRun"`
}

type associateAddressOut struct {
	Return        bool   `xml:"return"`
	AssociationID string `xml:"associationId"`
}

// associateAddress maps an Elastic IP to a private address of an ENI; the
// ENI's VPC needs an internet gateway.
func associateAddress(c *call, in *associateAddressIn) (*associateAddressOut, error) {
	var assoc string
	_, err := c.apply(func(t *vpc.Topology) error {
		var e *vpc.ElasticIP
		switch {
		case in.AllocationID != "":
			if e = eipByID(t, in.AllocationID); e == nil {
				return kEIP.notFound(in.AllocationID)
			}
		case in.PublicIP != "":
			for i := range t.ElasticIPs {
				if addrText(t.ElasticIPs[i].PublicIP) == in.PublicIP {
					e = &t.ElasticIPs[i]
				}
			}
			if e == nil {
				return Errorf("InvalidAddress.NotFound", "Address '%s' not found.", in.PublicIP)
			}
		default:
			return missing("AllocationId")
		}
		var eni *vpc.ENI
		switch {
		case in.NetworkInterfaceID != "":
			if eni = eniByID(t, in.NetworkInterfaceID); eni == nil {
				return kENI.notFound(in.NetworkInterfaceID)
			}
		case in.InstanceID != "":
			in2 := t.Instance(in.InstanceID)
			if in2 == nil {
				return kInstance.notFound(in.InstanceID)
			}
			eni = &in2.ENI
		default:
			return missing("InstanceId")
		}
		priv := eni.PrivateIP
		if in.PrivateIPAddress != "" {
			a, perr := netip.ParseAddr(in.PrivateIPAddress)
			if perr != nil || (a != eni.PrivateIP && !slices.Contains(eni.SecondaryIPs, a)) {
				return invalidValue("Value (%s) for parameter privateIpAddress is invalid: not an address of %s.", in.PrivateIPAddress, eni.ID)
			}
			priv = a
		}
		p := t.VPCOfSubnet(eni.Subnet)
		if p == nil || !slices.ContainsFunc(t.InternetGateways, func(g vpc.InternetGateway) bool { return g.VPC == p.ID }) {
			return Errorf("Gateway.NotAttached", "Network %s is not attached to any internet gateway", eni.Subnet)
		}
		if e.ENI != "" && !in.AllowReassociation {
			return Errorf("Resource.AlreadyAssociated", "resource %s is already associated with associate-id %s", e.ID, awsshape.EIPAssociationID(e))
		}
		for i := range t.ElasticIPs {
			o := &t.ElasticIPs[i]
			if o.ID == e.ID || o.ENI != eni.ID {
				continue
			}
			op := o.PrivateIP
			if !op.IsValid() {
				op = eni.PrivateIP
			}
			if op == priv {
				if !in.AllowReassociation {
					return Errorf("Resource.AlreadyAssociated", "address %s of %s already has the Elastic IP %s", priv, eni.ID, o.ID)
				}
				o.ENI, o.PrivateIP = "", netip.Addr{}
			}
		}
		e.ENI, e.PrivateIP = eni.ID, priv
		if priv == eni.PrivateIP {
			eni.PublicIP = netip.Addr{} // an EIP replaces the auto-assigned public IP
		}
		assoc = awsshape.EIPAssociationID(e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &associateAddressOut{Return: true, AssociationID: assoc}, nil
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

type disassociateAddressIn struct {
	AssociationID string `ec2:"AssociationId"`
	PublicIP      string `ec2:"PublicIp"`
	DryRun        bool   `ec2:"DryRun"`
}

func disassociateAddress(c *call, in *disassociateAddressIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		for i := range t.ElasticIPs {
			e := &t.ElasticIPs[i]
			if e.ENI == "" || !(in.AssociationID != "" && awsshape.EIPAssociationID(e) == in.AssociationID || in.PublicIP != "" && addrText(e.PublicIP) == in.PublicIP) {
				continue
			}
			for _, n := range t.NATGateways {
				if n.ENI == e.ENI {
					return Errorf("InvalidIPAddress.InUse", "The Elastic IP %s is the address of NAT gateway %s: delete the NAT gateway.", e.ID, n.ID)
				}
			}
			e.ENI, e.PrivateIP = "", netip.Addr{}
			return nil
		}
		if in.AssociationID == "" && in.PublicIP == "" {
			return missing("AssociationId")
		}
		return Errorf("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", in.AssociationID+in.PublicIP)
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type releaseAddressIn struct {
	AllocationID string `ec2:"AllocationId"`
	PublicIP     string `ec2:"PublicIp"`
	DryRun       bool   `ec2:"DryRun"`
}

func releaseAddress(c *call, in *releaseAddressIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		i := slices.IndexFunc(t.ElasticIPs, func(e vpc.ElasticIP) bool {
			return in.AllocationID != "" && e.ID == in.AllocationID || in.PublicIP != "" && addrText(e.PublicIP) == in.PublicIP
		})
		if i < 0 {
			if in.AllocationID == "" && in.PublicIP == "" {
				return missing("AllocationId")
			}
			return kEIP.notFound(in.AllocationID + in.PublicIP)
		}
		if t.ElasticIPs[i].ENI != "" {
			return Errorf("InvalidIPAddress.InUse", "Address %s is in use (associated with %s).", t.ElasticIPs[i].PublicIP, t.ElasticIPs[i].ENI)
		}
		t.ElasticIPs = slices.Delete(t.ElasticIPs, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type describeAddressesIn struct {
	Filters       []Filter `ec2:"Filter"`
	PublicIPs     []string `ec2:"PublicIp"`
	AllocationIDs []string `ec2:"AllocationId"`
	DryRun        bool     `ec2:"DryRun"`
}

type describeAddressesOut struct {
	Addresses awsshape.List[awsshape.Address] `xml:"addressesSet"`
}

var addressFilters = filterFns[awsshape.Address]{
	"allocation-id":        func(a *awsshape.Address) []string { return one(a.AllocationID) },
	"association-id":       func(a *awsshape.Address) []string { return one(a.AssociationID) },
	"domain":               func(a *awsshape.Address) []string { return one(a.Domain) },
	"instance-id":          func(a *awsshape.Address) []string { return one(a.InstanceID) },
	"network-interface-id": func(a *awsshape.Address) []string { return one(a.NetworkInterfaceID) },
	"private-ip-address":   func(a *awsshape.Address) []string { return one(a.PrivateIPAddress) },
	"public-ip":            func(a *awsshape.Address) []string { return one(a.PublicIP) },
}

func describeAddresses(c *call, in *describeAddressesIn) (*describeAddressesOut, error) {
	items, err := selectIDs(c.view().Addresses(), in.AllocationIDs, func(a *awsshape.Address) string { return a.AllocationID }, kEIP)
	if err != nil {
		return nil, err
	}
	if len(in.PublicIPs) > 0 {
		if items, err = selectIDs(items, in.PublicIPs, func(a *awsshape.Address) string { return a.PublicIP },
			kind{"", "InvalidAddress.NotFound", "InvalidAddress.NotFound", "address"}); err != nil {
			return nil, err
		}
	}
	if items, err = applyFilters(items, in.Filters, addressFilters, func(a *awsshape.Address) awsshape.List[awsshape.Tag] { return a.Tags }); err != nil {
		return nil, err
	}
	return &describeAddressesOut{Addresses: items}, nil
}
