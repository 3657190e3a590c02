package ec2api

import (
	"crypto/rand"
	"net/netip"
	"slices"
	"strings"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

type attributeBool struct {
	Value *bool `ec2:"Value"`
}

// DescribeCommon are the parameters every Describe action takes (API-16).
type DescribeCommon struct {
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32   `ec2:"MaxResults"`
	NextToken  string   `ec2:"NextToken"`
	DryRun     bool     `ec2:"DryRun"`
}

// --- VPCs ---

type createVpcIn struct {
	CidrBlock                   string             `ec2:"CidrBlock"`
	AmazonProvidedIpv6CidrBlock bool               `ec2:"AmazonProvidedIpv6CidrBlock"`
	Ipv6CidrBlock               string             `ec2:"Ipv6CidrBlock"`
	InstanceTenancy             string             `ec2:"InstanceTenancy"`
	TagSpecifications           []TagSpecification `ec2:"TagSpecification"`
	DryRun                      bool               `ec2:"DryRun"`
}

type createVpcOut struct {
	Vpc awsshape.Vpc `xml:"vpc"`
}

// createVpc adds a VPC with what AWS gives every VPC (API-22): a default
// security group, a default network ACL and a main route table with the
// local routes.
func createVpc(c *call, in *createVpcIn) (*createVpcOut, error) {
	if in.CidrBlock == "" {
		return nil, missing("CidrBlock")
	}
	cidr, err := parseCIDR("cidrBlock", in.CidrBlock, 4)
	if err != nil {
		return nil, err
	}
	if cidr.Bits() < 16 || cidr.Bits() > 28 {
		return nil, Errorf("InvalidVpc.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
	}
	if in.InstanceTenancy != "" && in.InstanceTenancy != "default" {
		return nil, invalidValue("Value (%s) for parameter instanceTenancy is invalid: vpcemu supports default only.", in.InstanceTenancy)
	}
	tags, err := tagsFor(in.TagSpecifications, "vpc")
	if err != nil {
		return nil, err
	}
	var v6 netip.Prefix
	switch {
	case in.Ipv6CidrBlock != "":
		if v6, err = parseCIDR("ipv6CidrBlock", in.Ipv6CidrBlock, 6); err != nil {
			return nil, err
		}
	case in.AmazonProvidedIpv6CidrBlock:
		v6 = amazonIPv6Block()
	}
	id := newID("vpc")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		addVPC(t, id, cidr, v6, tags)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	c.reg.ann.VPCs[id] = awsshape.VPCInfo{}
	return &createVpcOut{Vpc: v.Vpc(v.T.VPC(id))}, nil
}

// amazonIPv6Block picks an Amazon-provided /56 [INTERP: from 2600:1f18::/32,
// where AWS allocates us-east-1's].
func amazonIPv6Block() netip.Prefix {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x26, 0x00, 0x1f, 0x18
	rand.Read(b[4:7])
	return netip.PrefixFrom(netip.AddrFrom16(b), 56).Masked()
}

// addVPC adds a VPC with AWS's companions (vpc.AddVPC), under fresh ids.
func addVPC(t *vpc.Topology, id string, cidr, v6 netip.Prefix, tags vpc.Tags) {
	t.AddVPC(vpc.VPC{ID: id, CIDR: cidr, IPv6CIDR: v6, DefaultSG: newID("sg"), DefaultNACL: newID("acl"), MainTable: newID("rtb"), Tags: tags})
}

type describeVpcsIn struct {
	DescribeCommon
	VpcIDs []string `ec2:"VpcId"`
}

type describeVpcsOut struct {
	Vpcs      awsshape.List[awsshape.Vpc] `xml:"vpcSet"`
	NextToken string                      `xml:"nextToken,omitempty"`
}

var vpcFilters = filterFns[awsshape.Vpc]{
	"vpc-id":     func(v *awsshape.Vpc) []string { return one(v.VpcID) },
	"cidr":       func(v *awsshape.Vpc) []string { return one(v.CidrBlock) },
	"cidr-block": func(v *awsshape.Vpc) []string { return one(v.CidrBlock) },
	"cidr-block-association.cidr-block": func(v *awsshape.Vpc) []string {
		var out []string
		for _, a := range v.CidrBlockAssociationSet {
			out = append(out, a.CidrBlock)
		}
		return out
	},
	"ipv6-cidr-block-association.ipv6-cidr-block": func(v *awsshape.Vpc) []string {
		var out []string
		for _, a := range v.Ipv6CidrBlockAssociationSet {
			out = append(out, a.Ipv6CidrBlock)
		}
		return out
	},
	"is-default": func(v *awsshape.Vpc) []string { return boolStr(v.IsDefault) },
	"isDefault":  func(v *awsshape.Vpc) []string { return boolStr(v.IsDefault) }, // legacy alias Terraform sends (API-37)
	"state":      func(v *awsshape.Vpc) []string { return one(v.State) },
	"owner-id":   func(v *awsshape.Vpc) []string { return one(v.OwnerID) },
}

func describeVpcs(c *call, in *describeVpcsIn) (*describeVpcsOut, error) {
	items, err := selectIDs(c.view().Vpcs(), in.VpcIDs, func(v *awsshape.Vpc) string { return v.VpcID }, kVPC)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, vpcFilters, func(v *awsshape.Vpc) awsshape.List[awsshape.Tag] { return v.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeVpcsOut{Vpcs: items, NextToken: next}, nil
}

type deleteVpcIn struct {
	VpcID  string `ec2:"VpcId,required"`
	DryRun bool   `ec2:"DryRun"`
}

// deleteVpc removes a VPC and its default SG, NACL and main route table;
// anything else in it is a DependencyViolation.
func deleteVpc(c *call, in *deleteVpcIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		p := t.VPC(in.VpcID)
		if p == nil {
			return kVPC.notFound(in.VpcID)
		}
		dep := func(what, id string) error {
			return Errorf("DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted (%s %s).", in.VpcID, what, id)
		}
		for _, s := range t.Subnets {
			if s.VPC == p.ID {
				return dep("subnet", s.ID)
			}
		}
		for _, g := range t.SecurityGroups {
			if g.VPC == p.ID && g.ID != p.DefaultSG {
				return dep("security group", g.ID)
			}
		}
		for _, a := range t.NetworkACLs {
			if a.VPC == p.ID && a.ID != p.DefaultNACL {
				return dep("network ACL", a.ID)
			}
		}
		for _, r := range t.RouteTables {
			if r.VPC == p.ID && r.ID != p.MainTable {
				return dep("route table", r.ID)
			}
		}
		for _, g := range t.InternetGateways {
			if g.VPC == p.ID {
				return dep("internet gateway", g.ID)
			}
		}
		for _, pc := range t.Peerings {
			if pc.Requester == p.ID || pc.Accepter == p.ID {
				return dep("peering connection", pc.ID)
			}
		}
		for _, e := range t.Endpoints {
			if e.VPC == p.ID {
				return dep("vpc endpoint", e.ID)
			}
		}
		id := p.ID
		t.SecurityGroups = slices.DeleteFunc(t.SecurityGroups, func(g vpc.SecurityGroup) bool { return g.VPC == id })
		t.NetworkACLs = slices.DeleteFunc(t.NetworkACLs, func(a vpc.NetworkACL) bool { return a.VPC == id })
		t.RouteTables = slices.DeleteFunc(t.RouteTables, func(r vpc.RouteTable) bool { return r.VPC == id })
		t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(f vpc.FlowLog) bool { return f.Resource == id })
		t.VPCs = slices.DeleteFunc(t.VPCs, func(v vpc.VPC) bool { return v.ID == id })
		return nil
	})
	if err != nil {
		return nil, err
	}
	delete(c.reg.ann.VPCs, in.VpcID)
	return ok, nil
}

type describeVpcAttributeIn struct {
	VpcID     string `ec2:"VpcId,required"`
	Attribute string `ec2:"Attribute,required"`
	DryRun    bool   `ec2:"DryRun"`
}

type attributeBoolOut struct {
	Value bool `xml:"value"`
}

type describeVpcAttributeOut struct {
	VpcID                            string            `xml:"vpcId"`
	EnableDNSHostnames               *attributeBoolOut `xml:"enableDnsHostnames,omitempty"`
	EnableDNSSupport                 *attributeBoolOut `xml:"enableDnsSupport,omitempty"`
	EnableNetworkAddressUsageMetrics *attributeBoolOut `xml:"enableNetworkAddressUsageMetrics,omitempty"`
}

func describeVpcAttribute(c *call, in *describeVpcAttributeIn) (*describeVpcAttributeOut, error) {
	if c.topo().VPC(in.VpcID) == nil {
		return nil, kVPC.notFound(in.VpcID)
	}
	info := c.reg.ann.VPCs[in.VpcID]
	out := &describeVpcAttributeOut{VpcID: in.VpcID}
	switch in.Attribute {
	case "enableDnsSupport":
		out.EnableDNSSupport = &attributeBoolOut{info.DNSSupport()}
	case "enableDnsHostnames":
		out.EnableDNSHostnames = &attributeBoolOut{info.DNSHostnames()}
	case "enableNetworkAddressUsageMetrics":
		out.EnableNetworkAddressUsageMetrics = &attributeBoolOut{info.NAUMetrics()}
	default:
		return nil, invalidValue("Value (%s) for parameter attribute is invalid. Valid: enableDnsSupport, enableDnsHostnames, enableNetworkAddressUsageMetrics.", in.Attribute)
	}
	return out, nil
}

type modifyVpcAttributeIn struct {
	VpcID                            string         `ec2:"VpcId,required"`
	EnableDNSHostnames               *attributeBool `ec2:"EnableDnsHostnames"`
	EnableDNSSupport                 *attributeBool `ec2:"EnableDnsSupport"`
	EnableNetworkAddressUsageMetrics *attributeBool `ec2:"EnableNetworkAddressUsageMetrics"`
}

// modifyVpcAttribute records a DNS or metrics attribute: vpcemu has no VPC
// DNS, so the value is only shown back.
func modifyVpcAttribute(c *call, in *modifyVpcAttributeIn) (*returnTrue, error) {
	if c.topo().VPC(in.VpcID) == nil {
		return nil, kVPC.notFound(in.VpcID)
	}
	n := 0
	for _, a := range []*attributeBool{in.EnableDNSHostnames, in.EnableDNSSupport, in.EnableNetworkAddressUsageMetrics} {
		if a != nil {
			n++
			if a.Value == nil {
				return nil, missing("Value")
			}
		}
	}
	if n != 1 {
		return nil, Errorf("InvalidParameterCombination", "Exactly one attribute may be modified at a time: EnableDnsHostnames, EnableDnsSupport or EnableNetworkAddressUsageMetrics.")
	}
	if c.dryRun {
		return nil, dryRunOK()
	}
	info := c.reg.ann.VPCs[in.VpcID]
	switch {
	case in.EnableDNSHostnames != nil:
		info.EnableDNSHostnames = in.EnableDNSHostnames.Value
	case in.EnableDNSSupport != nil:
		info.EnableDNSSupport = in.EnableDNSSupport.Value
	default:
		info.EnableNetworkAddressUsageMetrics = in.EnableNetworkAddressUsageMetrics.Value
	}
	c.reg.ann.VPCs[in.VpcID] = info
	return ok, nil
}

// --- Subnets ---

type createSubnetIn struct {
	VpcID              string             `ec2:"VpcId,required"`
	CidrBlock          string             `ec2:"CidrBlock"`
	Ipv6CidrBlock      string             `ec2:"Ipv6CidrBlock"`
	AvailabilityZone   string             `ec2:"AvailabilityZone"`
	AvailabilityZoneID string             `ec2:"AvailabilityZoneId"`
	TagSpecifications  []TagSpecification `ec2:"TagSpecification"`
	DryRun             bool               `ec2:"DryRun"`
}

type createSubnetOut struct {
	Subnet awsshape.Subnet `xml:"subnet"`
}

// zones are the availability zones vpcemu offers in a region [INTERP]:
// us-east-1 a-f, elsewhere a-d.
func zones(region string) []string {
	letters := "abcd"
	if region == "us-east-1" {
		letters = "abcdef"
	}
	var out []string
	for _, l := range letters {
		out = append(out, region+string(l))
	}
	return out
}

// createSubnet adds a subnet associated with its VPC's default NACL and,
// implicitly, its main route table (API-23).
func createSubnet(c *call, in *createSubnetIn) (*createSubnetOut, error) {
	t0 := c.topo()
	p := t0.VPC(in.VpcID)
	if p == nil {
		return nil, kVPC.notFound(in.VpcID)
	}
	if in.CidrBlock == "" {
		return nil, missing("CidrBlock")
	}
	cidr, err := parseCIDR("cidrBlock", in.CidrBlock, 4)
	if err != nil {
		return nil, err
	}
	inside := false
	for _, b := range append([]netip.Prefix{p.CIDR}, p.SecondaryCIDRs...) {
		inside = inside || (b.Bits() <= cidr.Bits() && b.Contains(cidr.Addr()))
	}
	if !inside || cidr.Bits() < 16 || cidr.Bits() > 28 {
		return nil, Errorf("InvalidSubnet.Range", "The CIDR '%s' is invalid.", in.CidrBlock)
	}
	var v6 netip.Prefix
	if in.Ipv6CidrBlock != "" {
		if v6, err = parseCIDR("ipv6CidrBlock", in.Ipv6CidrBlock, 6); err != nil {
			return nil, err
		}
		if !p.IPv6CIDR.IsValid() || v6.Bits() != 64 || !p.IPv6CIDR.Contains(v6.Addr()) {
			return nil, Errorf("InvalidSubnet.Range", "The IPv6 CIDR '%s' is invalid: a /64 inside the VPC's IPv6 block is needed.", in.Ipv6CidrBlock)
		}
	}
	for _, s := range t0.Subnets {
		if s.VPC == p.ID && s.CIDR.Overlaps(cidr) {
			return nil, Errorf("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", in.CidrBlock)
		}
		if v6.IsValid() && s.VPC == p.ID && s.IPv6CIDR.IsValid() && s.IPv6CIDR.Overlaps(v6) {
			return nil, Errorf("InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", in.Ipv6CidrBlock)
		}
	}
	az := in.AvailabilityZone
	if az == "" && in.AvailabilityZoneID != "" {
		for _, z := range zones(t0.Region) {
			if awsshape.AZID(t0.Region, z) == in.AvailabilityZoneID {
				az = z
			}
		}
		if az == "" {
			return nil, invalidValue("Value (%s) for parameter availabilityZoneId is invalid.", in.AvailabilityZoneID)
		}
	}
	if az == "" {
		az = t0.Region + "a"
	}
	if !slices.Contains(zones(t0.Region), az) {
		return nil, invalidValue("Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", az, strings.Join(zones(t0.Region), ", "))
	}
	tags, err := tagsFor(in.TagSpecifications, "subnet")
	if err != nil {
		return nil, err
	}
	id := newID("subnet")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		t.Subnets = append(t.Subnets, vpc.Subnet{ID: id, VPC: p.ID, CIDR: cidr, IPv6CIDR: v6, AZ: az, NetworkACL: p.DefaultNACL, Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createSubnetOut{Subnet: v.Subnet(v.T.Subnet(id))}, nil
}

type describeSubnetsIn struct {
	DescribeCommon
	SubnetIDs []string `ec2:"SubnetId"`
}

type describeSubnetsOut struct {
	Subnets   awsshape.List[awsshape.Subnet] `xml:"subnetSet"`
	NextToken string                         `xml:"nextToken,omitempty"`
}

var subnetFilters = filterFns[awsshape.Subnet]{
	"subnet-id":               func(s *awsshape.Subnet) []string { return one(s.SubnetID) },
	"vpc-id":                  func(s *awsshape.Subnet) []string { return one(s.VpcID) },
	"cidr-block":              func(s *awsshape.Subnet) []string { return one(s.CidrBlock) },
	"cidr":                    func(s *awsshape.Subnet) []string { return one(s.CidrBlock) },
	"cidrBlock":               func(s *awsshape.Subnet) []string { return one(s.CidrBlock) },
	"availability-zone":       func(s *awsshape.Subnet) []string { return one(s.AvailabilityZone) },
	"availabilityZone":        func(s *awsshape.Subnet) []string { return one(s.AvailabilityZone) },
	"availability-zone-id":    func(s *awsshape.Subnet) []string { return one(s.AvailabilityZoneID) },
	"default-for-az":          func(s *awsshape.Subnet) []string { return boolStr(s.DefaultForAz) },
	"defaultForAz":            func(s *awsshape.Subnet) []string { return boolStr(s.DefaultForAz) },
	"map-public-ip-on-launch": func(s *awsshape.Subnet) []string { return boolStr(s.MapPublicIPOnLaunch) },
	"state":                   func(s *awsshape.Subnet) []string { return one(s.State) },
	"owner-id":                func(s *awsshape.Subnet) []string { return one(s.OwnerID) },
	"subnet-arn":              func(s *awsshape.Subnet) []string { return one(s.SubnetArn) },
	"ipv6-cidr-block-association.ipv6-cidr-block": func(s *awsshape.Subnet) []string {
		var out []string
		for _, a := range s.Ipv6CidrBlockAssociationSet {
			out = append(out, a.Ipv6CidrBlock)
		}
		return out
	},
}

func describeSubnets(c *call, in *describeSubnetsIn) (*describeSubnetsOut, error) {
	items, err := selectIDs(c.view().Subnets(), in.SubnetIDs, func(s *awsshape.Subnet) string { return s.SubnetID }, kSubnet)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, subnetFilters, func(s *awsshape.Subnet) awsshape.List[awsshape.Tag] { return s.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeSubnetsOut{Subnets: items, NextToken: next}, nil
}

type deleteSubnetIn struct {
	SubnetID string `ec2:"SubnetId,required"`
	DryRun   bool   `ec2:"DryRun"`
}

// deleteSubnet removes an empty subnet (no instance or NAT gateway ENIs)
// and the flow logs on it.
func deleteSubnet(c *call, in *deleteSubnetIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		if t.Subnet(in.SubnetID) == nil {
			return kSubnet.notFound(in.SubnetID)
		}
		for i := range t.Instances {
			for _, e := range t.Instances[i].ENIs() {
				if e.Subnet == in.SubnetID {
					return Errorf("DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted (network interface %s of %s).", in.SubnetID, e.ID, t.Instances[i].ID)
				}
			}
		}
		for _, n := range t.NATGateways {
			if n.Subnet == in.SubnetID {
				return Errorf("DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted (NAT gateway %s).", in.SubnetID, n.ID)
			}
		}
		t.Subnets = slices.DeleteFunc(t.Subnets, func(s vpc.Subnet) bool { return s.ID == in.SubnetID })
		t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(f vpc.FlowLog) bool { return f.Resource == in.SubnetID })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type modifySubnetAttributeIn struct {
	SubnetID                    string         `ec2:"SubnetId,required"`
	MapPublicIPOnLaunch         *attributeBool `ec2:"MapPublicIpOnLaunch"`
	AssignIpv6AddressOnCreation *attributeBool `ec2:"AssignIpv6AddressOnCreation"`
}

func modifySubnetAttribute(c *call, in *modifySubnetAttributeIn) (*returnTrue, error) {
	if a := in.AssignIpv6AddressOnCreation; a != nil && a.Value != nil && *a.Value {
		return nil, Errorf("UnsupportedOperation", "vpcemu does not assign IPv6 addresses on creation; give RunInstances the address.")
	}
	_, err := c.apply(func(t *vpc.Topology) error {
		s := t.Subnet(in.SubnetID)
		if s == nil {
			return kSubnet.notFound(in.SubnetID)
		}
		if a := in.MapPublicIPOnLaunch; a != nil {
			if a.Value == nil {
				return missing("MapPublicIpOnLaunch.Value")
			}
			s.MapPublicIPOnLaunch = *a.Value
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}
