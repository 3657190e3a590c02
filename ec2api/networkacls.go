package ec2api

import (
	"slices"
	"strconv"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

type createNetworkAclIn struct {
	VpcID             string             `ec2:"VpcId,required"`
	ClientToken       string             `ec2:"ClientToken"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type createNetworkAclOut struct {
	NetworkAcl  awsshape.NetworkAcl `xml:"networkAcl"`
	ClientToken string              `xml:"clientToken,omitempty"`
}

// createNetworkAcl adds a NACL with only the implicit deny entries (API-22).
func createNetworkAcl(c *call, in *createNetworkAclIn) (*createNetworkAclOut, error) {
	tags, err := tagsFor(in.TagSpecifications, "network-acl")
	if err != nil {
		return nil, err
	}
	id := newID("acl")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		if t.VPC(in.VpcID) == nil {
			return kVPC.notFound(in.VpcID)
		}
		t.NetworkACLs = append(t.NetworkACLs, vpc.NetworkACL{ID: id, VPC: in.VpcID, Tags: tags})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return &createNetworkAclOut{NetworkAcl: v.NetworkAcl(v.T.NetworkACL(id)), ClientToken: in.ClientToken}, nil
}

type describeNetworkAclsIn struct {
	DescribeCommon
	NetworkAclIDs []string `ec2:"NetworkAclId"`
}

type describeNetworkAclsOut struct {
	NetworkAcls awsshape.List[awsshape.NetworkAcl] `xml:"networkAclSet"`
	NextToken   string                             `xml:"nextToken,omitempty"`
}

func assocValues(a *awsshape.NetworkAcl, f func(*awsshape.NetworkAclAssociation) string) []string {
	var out []string
	for i := range a.Associations {
		out = append(out, f(&a.Associations[i]))
	}
	return out
}

func entryValues(a *awsshape.NetworkAcl, f func(*awsshape.NetworkAclEntry) []string) []string {
	var out []string
	for i := range a.Entries {
		out = append(out, f(&a.Entries[i])...)
	}
	return out
}

var naclFilters = filterFns[awsshape.NetworkAcl]{
	"network-acl-id": func(a *awsshape.NetworkAcl) []string { return one(a.NetworkAclID) },
	"vpc-id":         func(a *awsshape.NetworkAcl) []string { return one(a.VpcID) },
	"default":        func(a *awsshape.NetworkAcl) []string { return boolStr(a.IsDefault) },
	"owner-id":       func(a *awsshape.NetworkAcl) []string { return one(a.OwnerID) },
	"association.subnet-id": func(a *awsshape.NetworkAcl) []string {
		return assocValues(a, func(x *awsshape.NetworkAclAssociation) string { return x.SubnetID })
	},
	"association.association-id": func(a *awsshape.NetworkAcl) []string {
		return assocValues(a, func(x *awsshape.NetworkAclAssociation) string { return x.NetworkAclAssociationID })
	},
	"association.network-acl-id": func(a *awsshape.NetworkAcl) []string {
		return assocValues(a, func(x *awsshape.NetworkAclAssociation) string { return x.NetworkAclID })
	},
	"entry.rule-number": func(a *awsshape.NetworkAcl) []string {
		return entryValues(a, func(e *awsshape.NetworkAclEntry) []string { return intStr(e.RuleNumber) })
	},
	"entry.protocol": func(a *awsshape.NetworkAcl) []string {
		return entryValues(a, func(e *awsshape.NetworkAclEntry) []string { return one(e.Protocol) })
	},
	"entry.rule-action": func(a *awsshape.NetworkAcl) []string {
		return entryValues(a, func(e *awsshape.NetworkAclEntry) []string { return one(e.RuleAction) })
	},
	"entry.egress": func(a *awsshape.NetworkAcl) []string {
		return entryValues(a, func(e *awsshape.NetworkAclEntry) []string { return boolStr(e.Egress) })
	},
	"entry.cidr": func(a *awsshape.NetworkAcl) []string {
		return entryValues(a, func(e *awsshape.NetworkAclEntry) []string { return one(e.CidrBlock) })
	},
	"entry.ipv6-cidr": func(a *awsshape.NetworkAcl) []string {
		return entryValues(a, func(e *awsshape.NetworkAclEntry) []string { return one(e.Ipv6CidrBlock) })
	},
}

func describeNetworkAcls(c *call, in *describeNetworkAclsIn) (*describeNetworkAclsOut, error) {
	items, err := selectIDs(c.view().NetworkAcls(), in.NetworkAclIDs, func(a *awsshape.NetworkAcl) string { return a.NetworkAclID }, kNACL)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, naclFilters, func(a *awsshape.NetworkAcl) awsshape.List[awsshape.Tag] { return a.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeNetworkAclsOut{NetworkAcls: items, NextToken: next}, nil
}

type deleteNetworkAclIn struct {
	NetworkAclID string `ec2:"NetworkAclId,required"`
	DryRun       bool   `ec2:"DryRun"`
}

func deleteNetworkAcl(c *call, in *deleteNetworkAclIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		a := t.NetworkACL(in.NetworkAclID)
		if a == nil {
			return kNACL.notFound(in.NetworkAclID)
		}
		if a.Default {
			return invalidValue("cannot delete default network ACL %s", a.ID)
		}
		for _, s := range t.Subnets {
			if s.NetworkACL == a.ID {
				return Errorf("DependencyViolation", "The network ACL '%s' has dependencies and cannot be deleted (subnet %s).", a.ID, s.ID)
			}
		}
		t.NetworkACLs = slices.DeleteFunc(t.NetworkACLs, func(x vpc.NetworkACL) bool { return x.ID == in.NetworkAclID })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type icmpTypeCodeIn struct {
	Code *int32 `ec2:"Code"`
	Type *int32 `ec2:"Type"`
}

type portRangeIn struct {
	From *int32 `ec2:"From"`
	To   *int32 `ec2:"To"`
}

type naclEntryIn struct {
	NetworkAclID  string          `ec2:"NetworkAclId,required"`
	RuleNumber    int32           `ec2:"RuleNumber,required"`
	Protocol      string          `ec2:"Protocol,required"`
	RuleAction    string          `ec2:"RuleAction,required"`
	Egress        bool            `ec2:"Egress,required"`
	CidrBlock     string          `ec2:"CidrBlock"`
	Ipv6CidrBlock string          `ec2:"Ipv6CidrBlock"`
	IcmpTypeCode  *icmpTypeCodeIn `ec2:"Icmp"`
	PortRange     *portRangeIn    `ec2:"PortRange"`
	DryRun        bool            `ec2:"DryRun"`
}

// rule checks an entry (API-29): the protocol is a number or -1 (names
// are refused), ports only matter for 6 and 17 and are then required,
// ICMP type and code for 1 and 58, CIDRs canonicalised.
func (in *naclEntryIn) rule() (vpc.NACLRule, *Error) {
	r := vpc.NACLRule{Number: int(in.RuleNumber), Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1}
	if in.RuleNumber < 1 || in.RuleNumber > 32766 {
		return r, invalidValue("Value (%d) for parameter ruleNumber is invalid. Valid: 1-32766.", in.RuleNumber)
	}
	proto, err := strconv.Atoi(in.Protocol)
	if err != nil || proto < -1 || proto > 255 {
		return r, invalidValue("Value (%s) for parameter protocol is invalid. Valid: a protocol number 0-255 or -1 (all).", in.Protocol)
	}
	r.Protocol = proto
	switch in.RuleAction {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		return r, invalidValue("Value (%s) for parameter ruleAction is invalid. Valid: allow, deny.", in.RuleAction)
	}
	switch {
	case in.CidrBlock != "" && in.Ipv6CidrBlock != "":
		return r, Errorf("InvalidParameterCombination", "Give either CidrBlock or Ipv6CidrBlock, not both.")
	case in.CidrBlock != "":
		p, err := parseCIDR("cidrBlock", in.CidrBlock, 4)
		if err != nil {
			return r, err
		}
		r.CIDR = p
	case in.Ipv6CidrBlock != "":
		p, err := parseCIDR("ipv6CidrBlock", in.Ipv6CidrBlock, 6)
		if err != nil {
			return r, err
		}
		r.CIDR = p
	default:
		return r, missing("CidrBlock")
	}
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if in.PortRange == nil || in.PortRange.From == nil || in.PortRange.To == nil {
			return r, missing("PortRange")
		}
		f, to := int(*in.PortRange.From), int(*in.PortRange.To)
		if f < 0 || to > 65535 || f > to {
			return r, invalidValue("Invalid port range %d-%d (PortRange.From, PortRange.To); valid: 0-65535, from not above to.", f, to)
		}
		r.Ports = vpc.PortRange{From: f, To: to}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if in.IcmpTypeCode == nil || in.IcmpTypeCode.Type == nil || in.IcmpTypeCode.Code == nil {
			return r, missing("Icmp")
		}
		typ, code := int(*in.IcmpTypeCode.Type), int(*in.IcmpTypeCode.Code)
		if typ < -1 || typ > 255 || code < -1 || code > 255 {
			return r, invalidValue("Invalid ICMP type %d and code %d (Icmp.Type, Icmp.Code); valid: -1 to 255.", typ, code)
		}
		r.ICMPType, r.ICMPCode = typ, code
	}
	return r, nil
}

func naclRules(a *vpc.NetworkACL, egress bool) *[]vpc.NACLRule {
	if egress {
		return &a.Egress
	}
	return &a.Ingress
}

func insertRule(rules *[]vpc.NACLRule, r vpc.NACLRule) {
	i, _ := slices.BinarySearchFunc(*rules, r.Number, func(x vpc.NACLRule, n int) int { return x.Number - n })
	*rules = slices.Insert(*rules, i, r)
}

func createNetworkAclEntry(c *call, in *naclEntryIn) (*returnTrue, error) {
	r, err := in.rule()
	if err != nil {
		return nil, err
	}
	_, aerr := c.apply(func(t *vpc.Topology) error {
		a := t.NetworkACL(in.NetworkAclID)
		if a == nil {
			return kNACL.notFound(in.NetworkAclID)
		}
		rules := naclRules(a, in.Egress)
		if slices.ContainsFunc(*rules, func(x vpc.NACLRule) bool { return x.Number == r.Number }) {
			return Errorf("NetworkAclEntryAlreadyExists", "The network acl entry identified by %d already exists.", r.Number)
		}
		insertRule(rules, r)
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return ok, nil
}

func replaceNetworkAclEntry(c *call, in *naclEntryIn) (*returnTrue, error) {
	r, err := in.rule()
	if err != nil {
		return nil, err
	}
	_, aerr := c.apply(func(t *vpc.Topology) error {
		a := t.NetworkACL(in.NetworkAclID)
		if a == nil {
			return kNACL.notFound(in.NetworkAclID)
		}
		rules := naclRules(a, in.Egress)
		i := slices.IndexFunc(*rules, func(x vpc.NACLRule) bool { return x.Number == r.Number })
		if i < 0 {
			return entryNotFound(a.ID, r.Number, in.Egress)
		}
		(*rules)[i] = r
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	return ok, nil
}

func entryNotFound(acl string, number int, egress bool) *Error {
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	return Errorf("InvalidNetworkAclEntry.NotFound", "The network acl entry identified by %d (%s) does not exist in %s.", number, dir, acl)
}

type deleteNetworkAclEntryIn struct {
	NetworkAclID string `ec2:"NetworkAclId,required"`
	RuleNumber   int32  `ec2:"RuleNumber,required"`
	Egress       bool   `ec2:"Egress,required"`
	DryRun       bool   `ec2:"DryRun"`
}

func deleteNetworkAclEntry(c *call, in *deleteNetworkAclEntryIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		a := t.NetworkACL(in.NetworkAclID)
		if a == nil {
			return kNACL.notFound(in.NetworkAclID)
		}
		rules := naclRules(a, in.Egress)
		i := slices.IndexFunc(*rules, func(x vpc.NACLRule) bool { return x.Number == int(in.RuleNumber) })
		if i < 0 {
			return entryNotFound(a.ID, int(in.RuleNumber), in.Egress)
		}
		*rules = slices.Delete(*rules, i, i+1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type replaceNetworkAclAssociationIn struct {
	AssociationID string `ec2:"AssociationId,required"`
	NetworkAclID  string `ec2:"NetworkAclId,required"`
	DryRun        bool   `ec2:"DryRun"`
}

type replaceNetworkAclAssociationOut struct {
	NewAssociationID string `xml:"newAssociationId"`
}

// replaceNetworkAclAssociation moves the subnet of an association to
// another NACL of its VPC; the association gets a new id.
func replaceNetworkAclAssociation(c *call, in *replaceNetworkAclAssociationIn) (*replaceNetworkAclAssociationOut, error) {
	var subnet string
	_, err := c.apply(func(t *vpc.Topology) error {
		var s *vpc.Subnet
		for i := range t.Subnets {
			if awsshape.NACLAssociationID(t.Subnets[i].ID, t.Subnets[i].NetworkACL) == in.AssociationID {
				s = &t.Subnets[i]
			}
		}
		if s == nil {
			return Errorf("InvalidAssociationID.NotFound", "The association ID '%s' does not exist", in.AssociationID)
		}
		a := t.NetworkACL(in.NetworkAclID)
		if a == nil {
			return kNACL.notFound(in.NetworkAclID)
		}
		if a.VPC != s.VPC {
			return invalidValue("Network ACL %s and subnet %s belong to different networks (%s, %s).", a.ID, s.ID, a.VPC, s.VPC)
		}
		s.NetworkACL, subnet = a.ID, s.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &replaceNetworkAclAssociationOut{NewAssociationID: awsshape.NACLAssociationID(subnet, in.NetworkAclID)}, nil
}
