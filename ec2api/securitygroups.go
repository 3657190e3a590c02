package ec2api

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

type createSecurityGroupIn struct {
	GroupName         string             `ec2:"GroupName,required"`
	Description       string             `ec2:"GroupDescription,required"`
	VpcID             string             `ec2:"VpcId"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type createSecurityGroupOut struct {
	Return           bool                        `xml:"return"`
	GroupID          string                      `xml:"groupId"`
	SecurityGroupArn string                      `xml:"securityGroupArn,omitempty"`
	Tags             awsshape.List[awsshape.Tag] `xml:"tagSet,omitempty"`
}

// createSecurityGroup adds a group with AWS's one default rule: egress of
// everything to 0.0.0.0/0 (API-24).
func createSecurityGroup(c *call, in *createSecurityGroupIn) (*createSecurityGroupOut, error) {
	switch {
	case strings.HasPrefix(strings.ToLower(in.GroupName), "sg-"):
		return nil, invalidValue("Group names may not be in the format sg-*.")
	case in.GroupName == "" || len(in.GroupName) > 255:
		return nil, invalidValue("Value (%s) for parameter GroupName is invalid: 1-255 characters.", in.GroupName)
	case in.Description == "" || len(in.Description) > 255:
		return nil, invalidValue("Value (%s) for parameter GroupDescription is invalid: 1-255 characters.", in.Description)
	}
	if in.VpcID == "" {
		return nil, Errorf("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
	}
	t0 := c.topo()
	if t0.VPC(in.VpcID) == nil {
		return nil, kVPC.notFound(in.VpcID)
	}
	for _, g := range t0.SecurityGroups {
		if g.VPC == in.VpcID && g.Name == in.GroupName {
			return nil, Errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", in.GroupName, in.VpcID)
		}
	}
	tags, err := tagsFor(in.TagSpecifications, "security-group")
	if err != nil {
		return nil, err
	}
	id := newID("sg")
	v, aerr := c.apply(func(t *vpc.Topology) error {
		t.SecurityGroups = append(t.SecurityGroups, vpc.SecurityGroup{
			ID: id, VPC: in.VpcID, Name: in.GroupName, Description: in.Description, Tags: tags,
			Egress: []vpc.SGRule{{ID: newID("sgr"), Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1,
				CIDR: netip.MustParsePrefix("0.0.0.0/0")}},
		})
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	g := v.SecurityGroup(v.T.SecurityGroup(id))
	out := &createSecurityGroupOut{Return: true, GroupID: id, SecurityGroupArn: g.SecurityGroupArn}
	if len(tags) > 0 {
		out.Tags = g.Tags
	}
	return out, nil
}

type describeSecurityGroupsIn struct {
	DescribeCommon
	GroupIDs   []string `ec2:"GroupId"`
	GroupNames []string `ec2:"GroupName"`
}

type describeSecurityGroupsOut struct {
	SecurityGroups awsshape.List[awsshape.SecurityGroup] `xml:"securityGroupInfo"`
	NextToken      string                                `xml:"nextToken,omitempty"`
}

// permValues collects one field over a group's permissions of a direction.
func permValues(perms awsshape.List[awsshape.IpPermission], f func(*awsshape.IpPermission) []string) []string {
	var out []string
	for i := range perms {
		out = append(out, f(&perms[i])...)
	}
	return out
}

func permFilters(fs filterFns[awsshape.SecurityGroup], prefix string, dir func(*awsshape.SecurityGroup) awsshape.List[awsshape.IpPermission]) {
	add := func(name string, f func(*awsshape.IpPermission) []string) {
		fs[prefix+name] = func(g *awsshape.SecurityGroup) []string { return permValues(dir(g), f) }
	}
	add("cidr", func(p *awsshape.IpPermission) []string {
		var out []string
		for _, r := range p.IpRanges {
			out = append(out, r.CidrIp)
		}
		return out
	})
	add("ipv6-cidr", func(p *awsshape.IpPermission) []string {
		var out []string
		for _, r := range p.Ipv6Ranges {
			out = append(out, r.CidrIpv6)
		}
		return out
	})
	add("from-port", func(p *awsshape.IpPermission) []string { return intStr(p.FromPort) })
	add("to-port", func(p *awsshape.IpPermission) []string { return intStr(p.ToPort) })
	add("protocol", func(p *awsshape.IpPermission) []string { return one(p.IpProtocol) })
	add("group-id", func(p *awsshape.IpPermission) []string {
		var out []string
		for _, r := range p.UserIDGroupPairs {
			out = append(out, r.GroupID)
		}
		return out
	})
	add("prefix-list-id", func(p *awsshape.IpPermission) []string {
		var out []string
		for _, r := range p.PrefixListIDs {
			out = append(out, r.PrefixListID)
		}
		return out
	})
}

var sgFilters = func() filterFns[awsshape.SecurityGroup] {
	fs := filterFns[awsshape.SecurityGroup]{
		"group-id":    func(g *awsshape.SecurityGroup) []string { return one(g.GroupID) },
		"group-name":  func(g *awsshape.SecurityGroup) []string { return one(g.GroupName) },
		"description": func(g *awsshape.SecurityGroup) []string { return one(g.Description) },
		"vpc-id":      func(g *awsshape.SecurityGroup) []string { return one(g.VpcID) },
		"owner-id":    func(g *awsshape.SecurityGroup) []string { return one(g.OwnerID) },
	}
	permFilters(fs, "ip-permission.", func(g *awsshape.SecurityGroup) awsshape.List[awsshape.IpPermission] { return g.IpPermissions })
	permFilters(fs, "egress.ip-permission.", func(g *awsshape.SecurityGroup) awsshape.List[awsshape.IpPermission] { return g.IpPermissionsEgress })
	return fs
}()

func describeSecurityGroups(c *call, in *describeSecurityGroupsIn) (*describeSecurityGroupsOut, error) {
	items, err := selectIDs(c.view().SecurityGroups(), in.GroupIDs, func(g *awsshape.SecurityGroup) string { return g.GroupID }, kSG)
	if err != nil {
		return nil, err
	}
	if len(in.GroupNames) > 0 {
		want := newIDSet(in.GroupNames)
		seen := map[string]bool{}
		var keep []awsshape.SecurityGroup
		for _, g := range items {
			if want[g.GroupName] {
				keep, seen[g.GroupName] = append(keep, g), true
			}
		}
		for _, n := range in.GroupNames {
			if !seen[n] {
				return nil, Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", n)
			}
		}
		items = keep
	}
	if items, err = applyFilters(items, in.Filters, sgFilters, func(g *awsshape.SecurityGroup) awsshape.List[awsshape.Tag] { return g.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupsOut{SecurityGroups: items, NextToken: next}, nil
}

// findGroup resolves GroupId or, failing that, GroupName.
func findGroup(t *vpc.Topology, id, name string) (*vpc.SecurityGroup, *Error) {
	switch {
	case id != "":
		if g := t.SecurityGroup(id); g != nil {
			return g, nil
		}
		return nil, kSG.notFound(id)
	case name != "":
		for i := range t.SecurityGroups {
			if t.SecurityGroups[i].Name == name {
				return &t.SecurityGroups[i], nil
			}
		}
		return nil, Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", name)
	}
	return nil, missing("GroupId")
}

type deleteSecurityGroupIn struct {
	GroupID   string `ec2:"GroupId"`
	GroupName string `ec2:"GroupName"`
	DryRun    bool   `ec2:"DryRun"`
}

type deleteSecurityGroupOut struct {
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

// deleteSecurityGroup removes a group no ENI uses and no other group's
// rule references; a VPC's default group cannot be deleted.
func deleteSecurityGroup(c *call, in *deleteSecurityGroupIn) (*deleteSecurityGroupOut, error) {
	var id string
	_, err := c.apply(func(t *vpc.Topology) error {
		g, err := findGroup(t, in.GroupID, in.GroupName)
		if err != nil {
			return err
		}
		id = g.ID
		if p := t.VPC(g.VPC); p != nil && p.DefaultSG == g.ID {
			return Errorf("CannotDelete", "the specified group: \"%s\" name: \"%s\" cannot be deleted by a user", g.ID, g.Name)
		}
		for i := range t.Instances {
			for _, e := range t.Instances[i].ENIs() {
				if slices.Contains(e.SecurityGroups, id) {
					return Errorf("DependencyViolation", "resource %s has a dependent object (network interface %s)", id, e.ID)
				}
			}
		}
		for _, o := range t.SecurityGroups {
			if o.ID == id {
				continue
			}
			for _, r := range append(slices.Clip(o.Ingress), o.Egress...) {
				if r.SourceGroup == id {
					return Errorf("DependencyViolation", "resource %s has a dependent object (a rule of security group %s)", id, o.ID)
				}
			}
		}
		t.SecurityGroups = slices.DeleteFunc(t.SecurityGroups, func(x vpc.SecurityGroup) bool { return x.ID == id })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &deleteSecurityGroupOut{Return: true, GroupID: id}, nil
}

// sgRuleIn is how Authorize, Revoke and ModifySecurityGroupRules spell one
// rule before it is checked.
type sgRuleIn struct {
	where            string // the parameter path, for messages
	perm             int    // index into IpPermissions; -1 for other forms
	proto            string
	from, to         *int32
	cidr4, cidr6     string
	group, groupName string
	prefixList       string
	description      string
}

// parseSGProtocol reads an SG protocol (API-26): tcp, udp, icmp, icmpv6
// in any case, -1, or a number 0-255; "all" is not an EC2 value.
func parseSGProtocol(where, s string) (int, *Error) {
	switch strings.ToLower(s) {
	case "":
		return 0, missing(where)
	case "tcp":
		return vpc.ProtoTCP, nil
	case "udp":
		return vpc.ProtoUDP, nil
	case "icmp":
		return vpc.ProtoICMP, nil
	case "icmpv6":
		return vpc.ProtoICMPv6, nil
	case "-1":
		return vpc.ProtoAll, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, invalidValue("Invalid value '%s' for %s: valid are tcp, udp, icmp, icmpv6, -1 or a protocol number 0-255.", s, where)
	}
	return n, nil
}

// rule checks one rule and builds it for group g (its VPC resolves group
// names).
func (r sgRuleIn) rule(t *vpc.Topology, g *vpc.SecurityGroup) (vpc.SGRule, *Error) {
	out := vpc.SGRule{Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, Description: r.description}
	proto, err := parseSGProtocol(r.where+"IpProtocol", r.proto)
	if err != nil {
		return out, err
	}
	out.Protocol = proto
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if r.from == nil || r.to == nil {
			return out, invalidValue("Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange (%sFromPort, %sToPort)", r.where, r.where)
		}
		f, to := int(*r.from), int(*r.to)
		if f < 0 || to > 65535 || f > to {
			return out, invalidValue("Invalid TCP/UDP port range %d-%d (%sFromPort, %sToPort); valid: 0-65535, from not above to.", f, to, r.where, r.where)
		}
		out.Ports = vpc.PortRange{From: f, To: to}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if r.from == nil && r.to == nil && proto == vpc.ProtoICMPv6 {
			break
		}
		if r.from == nil || r.to == nil {
			return out, invalidValue("Invalid value 'Must specify both ICMP type (FromPort) and code (ToPort) with ICMP.' for %s", r.where)
		}
		typ, code := int(*r.from), int(*r.to)
		if typ < -1 || typ > 255 || code < -1 || code > 255 || (typ == -1 && code != -1) {
			return out, invalidValue("Invalid ICMP type %d and code %d (%sFromPort, %sToPort); valid: type and code -1 to 255, code -1 when type is -1.", typ, code, r.where, r.where)
		}
		out.ICMPType, out.ICMPCode = typ, code
	}
	switch {
	case r.cidr4 != "":
		p, err := parseCIDR(r.where+"CidrIp", r.cidr4, 4)
		if err != nil {
			return out, err
		}
		out.CIDR = p
	case r.cidr6 != "":
		p, err := parseCIDR(r.where+"CidrIpv6", r.cidr6, 6)
		if err != nil {
			return out, err
		}
		out.CIDR = p
	case r.group != "":
		if t.SecurityGroup(r.group) == nil {
			return out, kSG.notFound(r.group)
		}
		out.SourceGroup = r.group
	case r.groupName != "":
		for _, o := range t.SecurityGroups {
			if o.VPC == g.VPC && o.Name == r.groupName {
				out.SourceGroup = o.ID
			}
		}
		if out.SourceGroup == "" {
			return out, Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", r.groupName, g.VPC)
		}
	case r.prefixList != "":
		if t.PrefixList(r.prefixList) == nil {
			return out, kPL.notFound(r.prefixList)
		}
		out.PrefixList = r.prefixList
	default:
		return out, invalidValue("%s names no peer: give a CIDR, an IPv6 CIDR, a security group or a prefix list.", strings.TrimSuffix(r.where, "."))
	}
	return out, nil
}

// permissionRules expands IpPermissions into one rule per (permission,
// peer) (API-25).
func permissionRules(perms []awsshape.IpPermission) []sgRuleIn {
	var out []sgRuleIn
	for i, p := range perms {
		where := fmt.Sprintf("IpPermissions.%d.", i+1)
		base := sgRuleIn{where: where, perm: i, proto: p.IpProtocol, from: p.FromPort, to: p.ToPort}
		n := len(out)
		for _, r := range p.IpRanges {
			x := base
			x.cidr4, x.description = r.CidrIp, r.Description
			if r.CidrIp == "" {
				x.cidr4 = "(empty)"
			}
			out = append(out, x)
		}
		for _, r := range p.Ipv6Ranges {
			x := base
			x.cidr6, x.description = r.CidrIpv6, r.Description
			if r.CidrIpv6 == "" {
				x.cidr6 = "(empty)"
			}
			out = append(out, x)
		}
		for _, r := range p.UserIDGroupPairs {
			x := base
			x.group, x.groupName, x.description = r.GroupID, r.GroupName, r.Description
			out = append(out, x)
		}
		for _, r := range p.PrefixListIDs {
			x := base
			x.prefixList, x.description = r.PrefixListID, r.Description
			out = append(out, x)
		}
		if len(out) == n {
			out = append(out, base) // no peer: rule() says so
		}
	}
	return out
}

// sameRule is the duplicate test of API-25/27: direction aside, protocol,
// ports (type and code) and peer; never the description.
func sameRule(a, b *vpc.SGRule) bool {
	return a.Protocol == b.Protocol && a.Ports == b.Ports && a.ICMPType == b.ICMPType && a.ICMPCode == b.ICMPCode &&
		a.CIDR == b.CIDR && a.SourceGroup == b.SourceGroup && a.PrefixList == b.PrefixList
}

// ruleText is AWS's description of a rule in InvalidPermission.Duplicate.
func ruleText(r *vpc.SGRule) string {
	peer := r.SourceGroup + r.PrefixList
	if r.CIDR.IsValid() {
		peer = r.CIDR.String()
	}
	proto := strings.ToUpper(awsshape.SGProtocol(r.Protocol))
	if r.Protocol == vpc.ProtoAll {
		proto = "ALL"
	}
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, r.Ports.From, r.Ports.To)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return fmt.Sprintf("peer: %s, %s, type: %d, code: %d, ALLOW", peer, proto, r.ICMPType, r.ICMPCode)
	}
	return fmt.Sprintf("peer: %s, %s, ALLOW", peer, proto)
}

// permissionsIn are the rule parameters Authorize and Revoke share: the
// IpPermissions form and the legacy flat one.
type permissionsIn struct {
	IpPermissions              []awsshape.IpPermission `ec2:"IpPermissions"`
	CidrIP                     string                  `ec2:"CidrIp"`
	IpProtocol                 string                  `ec2:"IpProtocol"`
	FromPort                   *int32                  `ec2:"FromPort"`
	ToPort                     *int32                  `ec2:"ToPort"`
	SourceSecurityGroupName    string                  `ec2:"SourceSecurityGroupName"`
	SourceSecurityGroupOwnerID string                  `ec2:"SourceSecurityGroupOwnerId"`
}

// requested lists the rules of the IpPermissions or the legacy flat form.
func (in *permissionsIn) requested() []sgRuleIn {
	if len(in.IpPermissions) > 0 {
		return permissionRules(in.IpPermissions)
	}
	if in.IpProtocol == "" && in.CidrIP == "" && in.SourceSecurityGroupName == "" {
		return nil
	}
	return []sgRuleIn{{perm: -1, proto: in.IpProtocol, from: in.FromPort, to: in.ToPort, cidr4: in.CidrIP, groupName: in.SourceSecurityGroupName}}
}

type authorizeIngressIn struct {
	GroupID   string `ec2:"GroupId"`
	GroupName string `ec2:"GroupName"`
	permissionsIn
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type authorizeEgressIn struct {
	GroupID string `ec2:"GroupId,required"`
	permissionsIn
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

type authorizeOut struct {
	Return             bool                                      `xml:"return"`
	SecurityGroupRules awsshape.List[awsshape.SecurityGroupRule] `xml:"securityGroupRuleSet"`
}

func authorizeIngress(c *call, in *authorizeIngressIn) (*authorizeOut, error) {
	return authorize(c, in.GroupID, in.GroupName, &in.permissionsIn, in.TagSpecifications, false)
}

func authorizeEgress(c *call, in *authorizeEgressIn) (*authorizeOut, error) {
	return authorize(c, in.GroupID, "", &in.permissionsIn, in.TagSpecifications, true)
}

// authorize adds one rule per (permission, peer), all or none (API-25).
func authorize(c *call, groupID, groupName string, in *permissionsIn, specs []TagSpecification, egress bool) (*authorizeOut, error) {
	reqs := in.requested()
	if len(reqs) == 0 {
		return nil, missing("IpPermissions")
	}
	tags, terr := tagsFor(specs, "security-group-rule")
	if terr != nil {
		return nil, terr
	}
	var gid string
	var ids []string
	v, err := c.apply(func(t *vpc.Topology) error {
		g, err := findGroup(t, groupID, groupName)
		if err != nil {
			return err
		}
		gid = g.ID
		rules := &g.Ingress
		if egress {
			rules = &g.Egress
		}
		var added []vpc.SGRule
		for _, req := range reqs {
			r, err := req.rule(t, g)
			if err != nil {
				return err
			}
			for _, have := range append(slices.Clip(*rules), added...) {
				if sameRule(&have, &r) {
					return Errorf("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", ruleText(&r))
				}
			}
			r.ID = newID("sgr")
			if len(tags) > 0 {
				r.Tags = clone(tags)
			}
			ids = append(ids, r.ID)
			added = append(added, r)
		}
		*rules = append(*rules, added...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	g := v.T.SecurityGroup(gid)
	out := &authorizeOut{Return: true, SecurityGroupRules: awsshape.List[awsshape.SecurityGroupRule]{}}
	rules := g.Ingress
	if egress {
		rules = g.Egress
	}
	for i := range rules {
		if slices.Contains(ids, rules[i].ID) {
			out.SecurityGroupRules = append(out.SecurityGroupRules, v.SecurityGroupRule(g, egress, &rules[i]))
		}
	}
	return out, nil
}

type revokeIngressIn struct {
	GroupID   string `ec2:"GroupId"`
	GroupName string `ec2:"GroupName"`
	permissionsIn
	SecurityGroupRuleIDs []string `ec2:"SecurityGroupRuleId"`
	DryRun               bool     `ec2:"DryRun"`
}

type revokeEgressIn struct {
	GroupID string `ec2:"GroupId,required"`
	permissionsIn
	SecurityGroupRuleIDs []string `ec2:"SecurityGroupRuleId"`
	DryRun               bool     `ec2:"DryRun"`
}

// revokedRule is RevokedSecurityGroupRule.
type revokedRule struct {
	SecurityGroupRuleID string `xml:"securityGroupRuleId"`
	GroupID             string `xml:"groupId"`
	IsEgress            bool   `xml:"isEgress"`
	IpProtocol          string `xml:"ipProtocol"`
	FromPort            *int32 `xml:"fromPort,omitempty"`
	ToPort              *int32 `xml:"toPort,omitempty"`
	CidrIpv4            string `xml:"cidrIpv4,omitempty"`
	CidrIpv6            string `xml:"cidrIpv6,omitempty"`
	PrefixListID        string `xml:"prefixListId,omitempty"`
	ReferencedGroupID   string `xml:"referencedGroupId,omitempty"`
	Description         string `xml:"description,omitempty"`
}

type revokeOut struct {
	Return                    bool                                 `xml:"return"`
	UnknownIpPermissions      awsshape.List[awsshape.IpPermission] `xml:"unknownIpPermissionSet,omitempty"`
	RevokedSecurityGroupRules awsshape.List[revokedRule]           `xml:"revokedSecurityGroupRuleSet,omitempty"`
}

func revokeIngress(c *call, in *revokeIngressIn) (*revokeOut, error) {
	return revoke(c, in.GroupID, in.GroupName, &in.permissionsIn, in.SecurityGroupRuleIDs, false)
}

func revokeEgress(c *call, in *revokeEgressIn) (*revokeOut, error) {
	return revoke(c, in.GroupID, "", &in.permissionsIn, in.SecurityGroupRuleIDs, true)
}

// revoke removes rules named by IpPermissions (exact match of protocol,
// ports and peer, API-28) or by SecurityGroupRuleId. In a non-default VPC
// an unmatched permission fails the call and revokes nothing; in a default
// VPC it is echoed in unknownIpPermissionSet.
func revoke(c *call, groupID, groupName string, in *permissionsIn, ruleIDs []string, egress bool) (*revokeOut, error) {
	reqs := in.requested()
	if len(reqs) == 0 && len(ruleIDs) == 0 {
		return nil, missing("IpPermissions")
	}
	if len(reqs) > 0 && len(ruleIDs) > 0 {
		return nil, Errorf("InvalidParameterCombination", "Give either IpPermissions or SecurityGroupRuleIds, not both.")
	}
	out := &revokeOut{Return: true}
	var unknown []int // indices into IpPermissions of unmatched permissions
	_, err := c.apply(func(t *vpc.Topology) error {
		g, err := findGroup(t, groupID, groupName)
		if err != nil {
			return err
		}
		rules := &g.Ingress
		if egress {
			rules = &g.Egress
		}
		drop := map[int]bool{}
		for _, id := range ruleIDs {
			j := slices.IndexFunc(*rules, func(r vpc.SGRule) bool { return awsshape.RuleID(g, egress, &r) == id })
			if j < 0 {
				return kSGR.notFound(id)
			}
			drop[j] = true
		}
		defaultVPC := c.reg.ann.VPCs[g.VPC].IsDefault
		for _, req := range reqs {
			r, err := req.rule(t, g)
			if err != nil {
				return err
			}
			j := slices.IndexFunc(*rules, func(have vpc.SGRule) bool { return sameRule(&have, &r) })
			if j < 0 {
				if !defaultVPC {
					return Errorf("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
				}
				if req.perm >= 0 && !slices.Contains(unknown, req.perm) {
					unknown = append(unknown, req.perm)
				}
				continue
			}
			drop[j] = true
		}
		var keep []vpc.SGRule
		for j := range *rules {
			r := &(*rules)[j]
			if !drop[j] {
				keep = append(keep, *r)
				continue
			}
			from, to := awsshape.SGPorts(r)
			rr := revokedRule{SecurityGroupRuleID: awsshape.RuleID(g, egress, r), GroupID: g.ID, IsEgress: egress,
				IpProtocol: awsshape.SGProtocol(r.Protocol), FromPort: from, ToPort: to, PrefixListID: r.PrefixList,
				ReferencedGroupID: r.SourceGroup, Description: r.Description}
			if rr.FromPort == nil {
				rr.FromPort, rr.ToPort = awsshape.Int(-1), awsshape.Int(-1)
			}
			if r.CIDR.IsValid() {
				if r.CIDR.Addr().Is6() {
					rr.CidrIpv6 = r.CIDR.String()
				} else {
					rr.CidrIpv4 = r.CIDR.String()
				}
			}
			out.RevokedSecurityGroupRules = append(out.RevokedSecurityGroupRules, rr)
		}
		*rules = keep
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, i := range unknown {
		out.UnknownIpPermissions = append(out.UnknownIpPermissions, in.IpPermissions[i])
	}
	return out, nil
}

type describeSecurityGroupRulesIn struct {
	DescribeCommon
	SecurityGroupRuleIDs []string `ec2:"SecurityGroupRuleId"`
}

type describeSecurityGroupRulesOut struct {
	SecurityGroupRules awsshape.List[awsshape.SecurityGroupRule] `xml:"securityGroupRuleSet"`
	NextToken          string                                    `xml:"nextToken,omitempty"`
}

var sgRuleFilters = filterFns[awsshape.SecurityGroupRule]{
	"group-id":               func(r *awsshape.SecurityGroupRule) []string { return one(r.GroupID) },
	"security-group-rule-id": func(r *awsshape.SecurityGroupRule) []string { return one(r.SecurityGroupRuleID) },
}

func describeSecurityGroupRules(c *call, in *describeSecurityGroupRulesIn) (*describeSecurityGroupRulesOut, error) {
	items, err := selectIDs(c.view().SecurityGroupRules(), in.SecurityGroupRuleIDs, func(r *awsshape.SecurityGroupRule) string { return r.SecurityGroupRuleID }, kSGR)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, sgRuleFilters, func(r *awsshape.SecurityGroupRule) awsshape.List[awsshape.Tag] { return r.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeSecurityGroupRulesOut{SecurityGroupRules: items, NextToken: next}, nil
}

type sgRuleRequest struct {
	IpProtocol        string `ec2:"IpProtocol"`
	FromPort          *int32 `ec2:"FromPort"`
	ToPort            *int32 `ec2:"ToPort"`
	CidrIpv4          string `ec2:"CidrIpv4"`
	CidrIpv6          string `ec2:"CidrIpv6"`
	PrefixListID      string `ec2:"PrefixListId"`
	ReferencedGroupID string `ec2:"ReferencedGroupId"`
	Description       string `ec2:"Description"`
}

type sgRuleUpdate struct {
	SecurityGroupRuleID string         `ec2:"SecurityGroupRuleId,required"`
	SecurityGroupRule   *sgRuleRequest `ec2:"SecurityGroupRule"`
}

type modifySecurityGroupRulesIn struct {
	GroupID            string         `ec2:"GroupId,required"`
	SecurityGroupRules []sgRuleUpdate `ec2:"SecurityGroupRule,required"`
	DryRun             bool           `ec2:"DryRun"`
}

// modifySecurityGroupRules replaces rules in place, keeping their ids.
func modifySecurityGroupRules(c *call, in *modifySecurityGroupRulesIn) (*returnTrue, error) {
	_, err := c.apply(func(t *vpc.Topology) error {
		g := t.SecurityGroup(in.GroupID)
		if g == nil {
			return kSG.notFound(in.GroupID)
		}
		for i, u := range in.SecurityGroupRules {
			var rules []vpc.SGRule
			j := -1
			for _, egress := range []bool{false, true} {
				rules = g.Ingress
				if egress {
					rules = g.Egress
				}
				if j = slices.IndexFunc(rules, func(r vpc.SGRule) bool { return awsshape.RuleID(g, egress, &r) == u.SecurityGroupRuleID }); j >= 0 {
					break
				}
			}
			if j < 0 {
				return kSGR.notFound(u.SecurityGroupRuleID)
			}
			if u.SecurityGroupRule == nil {
				return missing(fmt.Sprintf("SecurityGroupRule.%d.SecurityGroupRule", i+1))
			}
			q := u.SecurityGroupRule
			r, err := sgRuleIn{where: fmt.Sprintf("SecurityGroupRule.%d.SecurityGroupRule.", i+1), proto: q.IpProtocol, from: q.FromPort, to: q.ToPort,
				cidr4: q.CidrIpv4, cidr6: q.CidrIpv6, group: q.ReferencedGroupID, prefixList: q.PrefixListID, description: q.Description}.rule(t, g)
			if err != nil {
				return err
			}
			r.ID, r.Tags = rules[j].ID, rules[j].Tags
			if r.ID == "" {
				r.ID = u.SecurityGroupRuleID
			}
			for k := range rules {
				if k != j && sameRule(&rules[k], &r) {
					return Errorf("InvalidPermission.Duplicate", "the specified rule \"%s\" already exists", ruleText(&r))
				}
			}
			rules[j] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}
