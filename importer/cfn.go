package importer

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// cfnTypes are the resource types the import reads (IMP-11 and a few of
// the same family), with the prefix of the ids vpcemu makes up for them.
var cfnTypes = map[string]struct {
	prefix string
	read   func(*cfnStack, *cfnResource, *cfnMap, Source)
}{
	"AWS::EC2::VPC":                         {"vpc", (*cfnStack).vpc},
	"AWS::EC2::VPCCidrBlock":                {"vpc-cidr-assoc", (*cfnStack).vpcCIDR},
	"AWS::EC2::Subnet":                      {"subnet", (*cfnStack).subnet},
	"AWS::EC2::SecurityGroup":               {"sg", (*cfnStack).securityGroup},
	"AWS::EC2::SecurityGroupIngress":        {"sgr", (*cfnStack).sgRuleResource},
	"AWS::EC2::SecurityGroupEgress":         {"sgr", (*cfnStack).sgRuleResource},
	"AWS::EC2::NetworkAcl":                  {"acl", (*cfnStack).networkACL},
	"AWS::EC2::NetworkAclEntry":             {"aclentry", (*cfnStack).naclEntry},
	"AWS::EC2::SubnetNetworkAclAssociation": {"aclassoc", (*cfnStack).naclAssociation},
	"AWS::EC2::RouteTable":                  {"rtb", (*cfnStack).routeTable},
	"AWS::EC2::Route":                       {"route", (*cfnStack).route},
	"AWS::EC2::SubnetRouteTableAssociation": {"rtbassoc", (*cfnStack).rtAssociation},
	"AWS::EC2::InternetGateway":             {"igw", (*cfnStack).internetGateway},
	"AWS::EC2::VPCGatewayAttachment":        {"attach", (*cfnStack).gatewayAttachment},
	"AWS::EC2::EgressOnlyInternetGateway":   {"eigw", (*cfnStack).egressOnlyGateway},
	"AWS::EC2::NatGateway":                  {"nat", (*cfnStack).natGateway},
	"AWS::EC2::EIP":                         {"eipalloc", (*cfnStack).eip},
	"AWS::EC2::EIPAssociation":              {"eipassoc", (*cfnStack).eipAssociation},
	"AWS::EC2::Instance":                    {"i", (*cfnStack).instance},
	"AWS::EC2::NetworkInterface":            {"eni", (*cfnStack).networkInterface},
	"AWS::EC2::NetworkInterfaceAttachment":  {"attach", (*cfnStack).eniAttachment},
	"AWS::EC2::VPCPeeringConnection":        {"pcx", (*cfnStack).peering},
	"AWS::EC2::FlowLog":                     {"fl", (*cfnStack).flowLog},
	"AWS::EC2::PrefixList":                  {"pl", (*cfnStack).prefixList},
	"AWS::EC2::VPCEndpoint":                 {"vpce", (*cfnStack).endpoint},
}

var reCFNType = regexp.MustCompile(`^(AWS|Alexa)::[A-Za-z0-9]+::[A-Za-z0-9]+$|^Custom::[A-Za-z0-9_@-]+$|^AWS::CloudFormation::[A-Za-z]+$`)

func importCFN(b *builder, f File, multi bool) {
	top, err := decodeCFN(f)
	if err != nil {
		b.errs = append(b.errs, err)
		return
	}
	if v, ok := top.get("AWSTemplateFormatVersion"); ok && scalarString(v) != "2010-09-09" {
		b.errs = append(b.errs, &Error{Source: Source{File: f.Name, Path: "AWSTemplateFormatVersion", Line: top.lines["AWSTemplateFormatVersion"]}, Msg: fmt.Sprintf("%q is not a template format version; valid: 2010-09-09", scalarString(v))})
		return
	}
	rv, ok := top.get("Resources")
	rm, isMap := rv.(*cfnMap)
	if !ok || !isMap || len(rm.keys) == 0 {
		b.errs = append(b.errs, &Error{Source: Source{File: f.Name, Path: "Resources"}, Msg: "the template has no Resources; valid: a mapping of logical ids to {Type, Properties}"})
		return
	}
	if tr, ok := top.get("Transform"); ok {
		b.notModeled(Source{File: f.Name, Path: "Transform", Line: top.lines["Transform"]}, "transform %s is not applied: the resources it would generate are not imported", scalarString(tr))
	}
	if b.o.Region != "" {
		b.regionSet = true
	}
	s, perr := newStack(b, f, top, multi)
	if perr != nil {
		b.reportCFN(perr, Source{File: f.Name, Path: "Parameters", Line: top.lines["Parameters"]})
		return
	}
	for _, id := range rm.keys {
		src := Source{File: f.Name, Path: "Resources." + id, Line: rm.lines[id]}
		def, ok := rm.vals[id].(*cfnMap)
		if !ok {
			b.errorf(src, "not a mapping; valid: {Type, Properties}")
			continue
		}
		typ, _ := def.vals["Type"].(string)
		src.What = typ
		if typ == "" {
			b.errorf(src, "Type is missing; valid: a resource type such as AWS::EC2::VPC")
			continue
		}
		r := &cfnResource{id: id, typ: typ, line: rm.lines[id]}
		if p, ok := def.vals["Properties"]; ok {
			r.props, _ = p.(*cfnMap)
			if r.props == nil && p != nil {
				b.errorf(src, "Properties is not a mapping")
				continue
			}
		}
		if c, ok := def.vals["Condition"].(string); ok {
			r.condition = c
		}
		r.physical = s.physicalID(r)
		s.resources[id] = r
		s.order = append(s.order, id)
	}
	for _, id := range s.order {
		r := s.resources[id]
		if r.condition != "" {
			c, err := s.condition(r.condition, "Resources."+id+".Condition")
			if err != nil {
				s.report(err, Source{File: f.Name, Path: "Resources." + id, What: r.typ, Line: r.line})
				continue
			}
			r.skip = !c
		}
	}
	if len(b.errs) > 0 {
		return
	}
	var other []string
	for _, id := range s.order {
		r := s.resources[id]
		src := Source{File: f.Name, Path: "Resources." + id, What: r.typ, Line: r.line}
		if r.skip {
			continue
		}
		t, ok := cfnTypes[r.typ]
		if !ok {
			switch {
			case !reCFNType.MatchString(r.typ):
				b.errorf(src, "unknown resource type %q; valid: AWS::Service::Resource, such as AWS::EC2::Subnet", r.typ)
			case strings.HasPrefix(r.typ, "AWS::EC2::"):
				if near := closest(r.typ, cfnTypeNames()); near != "" {
					b.errorf(src, "unknown resource type %s; valid: %s?", r.typ, near)
					continue
				}
				b.notModeled(src, "%s is not emulated by vpcemu", r.typ)
			case strings.HasPrefix(r.typ, "AWS::ElasticLoadBalancing"), strings.HasPrefix(r.typ, "AWS::NetworkFirewall::"), strings.HasPrefix(r.typ, "AWS::DirectConnect"):
				b.notModeled(src, "%s is not emulated by vpcemu", r.typ)
			default:
				other = append(other, id)
			}
			continue
		}
		props, err := s.props(r)
		if err != nil {
			s.report(err, src)
			continue
		}
		t.read(s, r, props, src)
	}
	if len(other) > 0 {
		b.notef("%s: ignored %d resources outside the VPC network (%s)", f.Name, len(other), abbreviate(other, 5))
	}
	b.notef("%s: CloudFormation templates hold no physical ids; vpcemu names each object after its logical id (vpc-LogicalId, …)", f.Name)
}

func cfnTypeNames() []string { return sortedKeys(cfnTypes) }

// report records an evaluation error at src.
func (s *cfnStack) report(err error, src Source) { s.b.reportCFN(err, src) }

func (b *builder) reportCFN(err error, src Source) {
	var ce *cfnError
	for _, e := range unwrapAll(err) {
		if errors.As(e, &ce) {
			b.errorf(src, "%s", ce.Error())
		} else {
			b.errorf(src, "%v", e)
		}
	}
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// props evaluates a resource's properties once.
func (s *cfnStack) props(r *cfnResource) (*cfnMap, error) {
	if r.evaluated != nil {
		return r.evaluated, nil
	}
	if r.evaluating {
		return nil, cfnErrf("Resources."+r.id, "its properties refer to themselves")
	}
	r.evaluating = true
	defer func() { r.evaluating = false }()
	if r.props == nil {
		r.evaluated = &cfnMap{vals: map[string]any{}}
		return r.evaluated, nil
	}
	v, err := s.eval(r.props, "Properties")
	if err != nil {
		return nil, err
	}
	m, _ := v.(*cfnMap)
	if m == nil {
		m = &cfnMap{vals: map[string]any{}}
	}
	r.evaluated = m
	return m, nil
}

var reLogical = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// physicalID makes up a resource's id: PREFIX-LogicalId, readable in the
// topology file (PREFIX-StackName-LogicalId when several templates are
// imported); a hash when that would be too long.
func (s *cfnStack) physicalID(r *cfnResource) string {
	prefix := "res"
	if t, ok := cfnTypes[r.typ]; ok {
		prefix = t.prefix
	}
	name := r.id
	if s.multi {
		name = regexp.MustCompile(`[^A-Za-z0-9-]`).ReplaceAllString(s.name, "-") + "-" + r.id
	}
	id := prefix + "-" + name
	if !reLogical.MatchString(r.id) || len(id) > 48 {
		id = s.b.placeholder(prefix, s.name+"/"+r.id)
	}
	return id
}

// getAtt is Fn::GetAtt.
func (s *cfnStack) getAtt(id, attr, path string) (any, error) {
	r := s.resources[id]
	if r == nil {
		return nil, cfnErrf(path, "Fn::GetAtt %s.%s: no resource %s; valid: %s", id, attr, id, orNone(s.order))
	}
	if r.skip {
		return nil, cfnErrf(path, "Fn::GetAtt %s.%s: the resource's condition %s is false", id, attr, r.condition)
	}
	prop := func(name string) (any, error) {
		p, err := s.props(r)
		if err != nil {
			return nil, err
		}
		v, ok := p.get(name)
		if !ok {
			return nil, cfnErrf(path, "Fn::GetAtt %s.%s: %s does not set %s, so the value exists only once AWS creates it", id, attr, id, name)
		}
		return v, nil
	}
	switch r.typ + "." + attr {
	case "AWS::EC2::VPC.CidrBlock", "AWS::EC2::Subnet.CidrBlock":
		return prop("CidrBlock")
	case "AWS::EC2::VPC.DefaultSecurityGroup":
		return "sg-" + strings.TrimPrefix(r.physical, "vpc-") + "-default", nil
	case "AWS::EC2::VPC.DefaultNetworkAcl":
		return "acl-" + strings.TrimPrefix(r.physical, "vpc-") + "-default", nil
	case "AWS::EC2::VPC.CidrBlockAssociations":
		return []any{"vpc-cidr-assoc-" + r.id}, nil
	case "AWS::EC2::VPC.Ipv6CidrBlocks", "AWS::EC2::Subnet.Ipv6CidrBlocks":
		v, err := prop("Ipv6CidrBlock")
		if err != nil {
			return []any{}, nil
		}
		return []any{v}, nil
	case "AWS::EC2::Subnet.AvailabilityZone", "AWS::EC2::Instance.AvailabilityZone":
		if v, err := prop("AvailabilityZone"); err == nil {
			return v, nil
		}
		return s.region + "a", nil
	case "AWS::EC2::Subnet.VpcId", "AWS::EC2::SecurityGroup.VpcId":
		return prop("VpcId")
	case "AWS::EC2::Subnet.NetworkAclAssociationId":
		return "aclassoc-" + r.id, nil
	case "AWS::EC2::EIP.PublicIp":
		if ip, ok := s.b.cfnEIPs[s.file.Name+"/"+id]; ok {
			return ip.String(), nil
		}
		ip := s.b.placeholderPublicIP()
		s.b.cfnEIPs[s.file.Name+"/"+id] = ip
		return ip.String(), nil
	case "AWS::EC2::EIP.AllocationId":
		return r.physical, nil
	case "AWS::EC2::Instance.PrivateIp":
		if v, err := prop("PrivateIpAddress"); err == nil {
			return v, nil
		}
		p, _ := s.props(r)
		if nis, ok := p.get("NetworkInterfaces"); ok {
			for _, ni := range asList(nis) {
				m, _ := ni.(*cfnMap)
				if di, _ := m.get("DeviceIndex"); scalarString(di) == "0" {
					if v, ok := m.get("PrivateIpAddress"); ok {
						return v, nil
					}
				}
			}
		}
		return nil, cfnErrf(path, "Fn::GetAtt %s.PrivateIp: %s sets no PrivateIpAddress, so its address exists only once AWS creates it; valid: set PrivateIpAddress", id, id)
	case "AWS::EC2::NetworkInterface.PrimaryPrivateIpAddress":
		return prop("PrivateIpAddress")
	case "AWS::EC2::Instance.PublicIp":
		return nil, cfnErrf(path, "Fn::GetAtt %s.PublicIp: the address exists only once AWS creates the instance; valid: an Elastic IP (Ref of an AWS::EC2::EIP)", id)
	}
	switch attr {
	case "Id", "GroupId", "VpcId", "SubnetId", "RouteTableId", "InternetGatewayId", "NatGatewayId", "InstanceId", "PrefixListId", "NetworkAclId", "AllocationId":
		if attr == "VpcId" && r.typ != "AWS::EC2::VPC" {
			break
		}
		return r.physical, nil
	}
	if !strings.HasPrefix(r.typ, "AWS::EC2::") {
		// An attribute of a resource outside the network (a bucket's Arn
		// for a flow log's destination): a stand-in value.
		return fmt.Sprintf("arn:aws:vpcemu:%s:%s:%s/%s", s.region, s.account, id, attr), nil
	}
	return nil, cfnErrf(path, "Fn::GetAtt %s.%s: %s has no attribute %s that vpcemu knows", id, attr, r.typ, attr)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// Typed reads of evaluated properties.

func pstr(m *cfnMap, k string) string {
	v, _ := m.get(k)
	return scalarString(v)
}

func pbool(m *cfnMap, k string) (bool, bool) {
	v, ok := m.get(k)
	if !ok {
		return false, false
	}
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.ToLower(x))
		return b, err == nil
	}
	return false, false
}

func (s *cfnStack) pint(m *cfnMap, k string, src Source) (*int, bool) {
	v, ok := m.get(k)
	if !ok || v == nil {
		return nil, true
	}
	n, err := strconv.Atoi(scalarString(v))
	if err != nil {
		s.b.errorf(src, "%s %q is not a whole number", k, scalarString(v))
		return nil, false
	}
	return &n, true
}

func pstrs(m *cfnMap, k string) []string {
	var out []string
	v, _ := m.get(k)
	for _, e := range asList(v) {
		out = append(out, scalarString(e))
	}
	return out
}

func cfnTags(m *cfnMap) vpc.Tags {
	v, _ := m.get("Tags")
	l := asList(v)
	if len(l) == 0 {
		return nil
	}
	t := vpc.Tags{}
	for _, e := range l {
		tm, _ := e.(*cfnMap)
		t[pstr(tm, "Key")] = pstr(tm, "Value")
	}
	return t
}

func (s *cfnStack) required(m *cfnMap, k string, src Source) string {
	v := pstr(m, k)
	if v == "" {
		s.b.errorf(src, "Properties.%s is missing", k)
	}
	return v
}

func (s *cfnStack) vpc(r *cfnResource, p *cfnMap, src Source) {
	cidr := s.required(p, "CidrBlock", src)
	if cidr == "" {
		if pstr(p, "Ipv4IpamPoolId") != "" {
			s.b.errorf(src, "the block comes from an IPAM pool, which vpcemu cannot see; valid: CidrBlock")
		}
		return
	}
	pre, ok := s.b.prefix(src, "CidrBlock", cidr, 4)
	if !ok {
		return
	}
	v := vpc.VPC{ID: r.physical, CIDR: pre, Tags: cfnTags(p)}
	v.DefaultSG = "sg-" + strings.TrimPrefix(r.physical, "vpc-") + "-default"
	v.DefaultNACL = "acl-" + strings.TrimPrefix(r.physical, "vpc-") + "-default"
	v.MainTable = "rtb-" + strings.TrimPrefix(r.physical, "vpc-") + "-main"
	s.b.addVPC(v, src)
}

func (s *cfnStack) vpcCIDR(r *cfnResource, p *cfnMap, src Source) {
	id := s.required(p, "VpcId", src)
	if c := pstr(p, "CidrBlock"); c != "" {
		pre, ok := s.b.prefix(src, "CidrBlock", c, 4)
		if !ok {
			return
		}
		for i := range s.b.t.VPCs {
			if v := &s.b.t.VPCs[i]; v.ID == id {
				v.SecondaryCIDRs = append(v.SecondaryCIDRs, pre)
				return
			}
		}
		s.b.errorf(src, "VpcId %s is not a VPC of the template", id)
		return
	}
	if c := pstr(p, "Ipv6CidrBlock"); c != "" {
		pre, ok := s.b.prefix(src, "Ipv6CidrBlock", c, 6)
		if !ok {
			return
		}
		for i := range s.b.t.VPCs {
			if v := &s.b.t.VPCs[i]; v.ID == id {
				v.IPv6CIDR = pre
				return
			}
		}
	}
	s.b.notModeled(src, "an Amazon-provided or IPAM block, which the template does not state")
}

func (s *cfnStack) subnet(r *cfnResource, p *cfnMap, src Source) {
	sn := vpc.Subnet{ID: r.physical, VPC: s.required(p, "VpcId", src), AZ: pstr(p, "AvailabilityZone"), Tags: cfnTags(p)}
	c := s.required(p, "CidrBlock", src)
	if c == "" {
		return
	}
	var ok bool
	if sn.CIDR, ok = s.b.prefix(src, "CidrBlock", c, 4); !ok {
		return
	}
	sn.IPv6CIDR = s.b.optPrefix(src, "Ipv6CidrBlock", pstr(p, "Ipv6CidrBlock"), 6)
	sn.MapPublicIPOnLaunch, _ = pbool(p, "MapPublicIpOnLaunch")
	if sn.AZ == "" {
		sn.AZ = s.region + "a"
	}
	s.b.addSubnet(sn, src)
}

func (s *cfnStack) securityGroup(r *cfnResource, p *cfnMap, src Source) {
	g := vpc.SecurityGroup{ID: r.physical, VPC: pstr(p, "VpcId"), Name: pstr(p, "GroupName"), Description: pstr(p, "GroupDescription"), Tags: cfnTags(p)}
	if g.VPC == "" {
		s.b.notModeled(src, "a security group without VpcId (EC2-Classic or the default VPC)")
		return
	}
	if g.Name == "" {
		g.Name = s.name + "-" + r.id // CloudFormation's generated name, without its random suffix
	}
	s.b.addSG(g, src)
	ing, _ := p.get("SecurityGroupIngress")
	for i, x := range asList(ing) {
		m, _ := x.(*cfnMap)
		rs := src
		rs.Path = fmt.Sprintf("%s.Properties.SecurityGroupIngress[%d]", src.Path, i)
		s.sgRule(g.ID, false, m, rs)
	}
	eg, hasEgress := p.get("SecurityGroupEgress")
	if !hasEgress {
		// Without SecurityGroupEgress the group keeps AWS's rule (IMP-11).
		s.b.addSGRule(g.ID, true, vpc.SGRule{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}, src)
	}
	for i, x := range asList(eg) {
		m, _ := x.(*cfnMap)
		rs := src
		rs.Path = fmt.Sprintf("%s.Properties.SecurityGroupEgress[%d]", src.Path, i)
		s.sgRule(g.ID, true, m, rs)
	}
}

func (s *cfnStack) sgRule(group string, egress bool, m *cfnMap, src Source) {
	from, ok1 := s.pint(m, "FromPort", src)
	to, ok2 := s.pint(m, "ToPort", src)
	if !ok1 || !ok2 {
		return
	}
	pr := peer{cidr: pstr(m, "CidrIp"), cidr6: pstr(m, "CidrIpv6")}
	if egress {
		pr.group, pr.prefixList = pstr(m, "DestinationSecurityGroupId"), pstr(m, "DestinationPrefixListId")
	} else {
		pr.group, pr.prefixList = pstr(m, "SourceSecurityGroupId"), pstr(m, "SourcePrefixListId")
		if name := pstr(m, "SourceSecurityGroupName"); name != "" && pr.group == "" {
			s.b.notModeled(src, "a rule naming its peer group by name (%s); the rule is left out", name)
			return
		}
		if owner := pstr(m, "SourceSecurityGroupOwnerId"); owner != "" && owner != s.account {
			s.b.notModeled(src, "a rule whose peer group belongs to account %s; the rule is left out", owner)
			return
		}
	}
	rule, ok := s.b.sgRule(src, pstr(m, "IpProtocol"), from, to, pr, pstr(m, "Description"))
	if ok {
		s.b.addSGRule(group, egress, rule, src)
	}
}

func (s *cfnStack) sgRuleResource(r *cfnResource, p *cfnMap, src Source) {
	g := s.required(p, "GroupId", src)
	if g == "" {
		if pstr(p, "GroupName") != "" {
			s.b.notModeled(src, "a rule adding to a group named by GroupName (EC2-Classic or the default VPC)")
		}
		return
	}
	s.sgRule(g, r.typ == "AWS::EC2::SecurityGroupEgress", p, src)
}

func (s *cfnStack) networkACL(r *cfnResource, p *cfnMap, src Source) {
	s.b.addNACL(vpc.NetworkACL{ID: r.physical, VPC: s.required(p, "VpcId", src), Tags: cfnTags(p)}, src)
}

func (s *cfnStack) naclEntry(r *cfnResource, p *cfnMap, src Source) {
	num, ok := s.pint(p, "RuleNumber", src)
	if !ok || num == nil {
		s.b.errorf(src, "Properties.RuleNumber is missing; valid: 1-32766")
		return
	}
	action := strings.ToLower(pstr(p, "RuleAction"))
	if action != "allow" && action != "deny" {
		s.b.errorf(src, "RuleAction %q is not valid; valid: allow or deny", pstr(p, "RuleAction"))
		return
	}
	egress, _ := pbool(p, "Egress")
	cidr := pstr(p, "CidrBlock")
	if cidr == "" {
		cidr = pstr(p, "Ipv6CidrBlock")
	}
	if cidr == "" {
		s.b.errorf(src, "the entry has no CidrBlock or Ipv6CidrBlock; valid: one of them")
		return
	}
	var from, to, it, ic *int
	if v, ok := p.get("PortRange"); ok {
		m, _ := v.(*cfnMap)
		from, _ = s.pint(m, "From", src)
		to, _ = s.pint(m, "To", src)
	}
	if v, ok := p.get("Icmp"); ok {
		m, _ := v.(*cfnMap)
		it, _ = s.pint(m, "Type", src)
		ic, _ = s.pint(m, "Code", src)
	}
	rule, ok := s.b.naclRule(src, *num, pstr(p, "Protocol"), action == "allow", cidr, from, to, it, ic)
	if ok {
		s.b.addNACLRule(s.required(p, "NetworkAclId", src), egress, rule, src)
	}
}

func (s *cfnStack) naclAssociation(r *cfnResource, p *cfnMap, src Source) {
	s.b.associate(s.required(p, "SubnetId", src), s.required(p, "NetworkAclId", src), true, src)
}

func (s *cfnStack) routeTable(r *cfnResource, p *cfnMap, src Source) {
	s.b.addRouteTable(vpc.RouteTable{ID: r.physical, VPC: s.required(p, "VpcId", src), Tags: cfnTags(p)}, src)
}

func (s *cfnStack) route(r *cfnResource, p *cfnMap, src Source) {
	targets := map[string]string{}
	for _, f := range routeTargetFields {
		if v := pstr(p, f); v != "" {
			targets[f] = v
		}
	}
	if g := targets["GatewayId"]; s.gatewayType(g) == "AWS::EC2::VPNGateway" {
		delete(targets, "GatewayId")
		targets["GatewayId"] = "vgw-" + strings.TrimPrefix(g, "res-")
	}
	s.b.addRouteFrom(src, s.required(p, "RouteTableId", src), pstr(p, "DestinationCidrBlock"), pstr(p, "DestinationIpv6CidrBlock"), pstr(p, "DestinationPrefixListId"), targets, true)
}

// gatewayType is the type of the resource whose physical id is id, if any.
func (s *cfnStack) gatewayType(id string) string {
	for _, r := range s.resources {
		if r.physical == id {
			return r.typ
		}
	}
	return ""
}

func (s *cfnStack) rtAssociation(r *cfnResource, p *cfnMap, src Source) {
	s.b.associate(s.required(p, "SubnetId", src), s.required(p, "RouteTableId", src), false, src)
}

func (s *cfnStack) internetGateway(r *cfnResource, p *cfnMap, src Source) {
	s.b.t.InternetGateways = append(s.b.t.InternetGateways, vpc.InternetGateway{ID: r.physical, Tags: cfnTags(p)})
	s.b.setSource(r.physical, src)
}

func (s *cfnStack) gatewayAttachment(r *cfnResource, p *cfnMap, src Source) {
	v := s.required(p, "VpcId", src)
	if vgw := pstr(p, "VpnGatewayId"); vgw != "" {
		s.b.notModeled(src, "attachment of VPN gateway %s", vgw)
		return
	}
	id := s.required(p, "InternetGatewayId", src)
	for i := range s.b.t.InternetGateways {
		if g := &s.b.t.InternetGateways[i]; g.ID == id {
			g.VPC = v
			return
		}
	}
	s.b.errorf(src, "InternetGatewayId %s is not an internet gateway of the template", id)
}

func (s *cfnStack) egressOnlyGateway(r *cfnResource, p *cfnMap, src Source) {
	s.b.t.EgressOnlyGateways = append(s.b.t.EgressOnlyGateways, vpc.EgressOnlyGateway{ID: r.physical, VPC: s.required(p, "VpcId", src)})
	s.b.setSource(r.physical, src)
}

func (s *cfnStack) natGateway(r *cfnResource, p *cfnMap, src Source) {
	g := vpc.NATGateway{ID: r.physical, Subnet: s.required(p, "SubnetId", src), Tags: cfnTags(p)}
	g.Private = pstr(p, "ConnectivityType") == "private"
	if !g.Private {
		g.ElasticIP = pstr(p, "AllocationId")
	}
	g.PrivateIP = s.b.addr(src, "PrivateIpAddress", pstr(p, "PrivateIpAddress"))
	s.b.t.NATGateways = append(s.b.t.NATGateways, g)
	s.b.setSource(g.ID, src)
}

func (s *cfnStack) eip(r *cfnResource, p *cfnMap, src Source) {
	ipv, err := s.getAtt(r.id, "PublicIp", "")
	if err != nil {
		s.report(err, src)
		return
	}
	ip, perr := netip.ParseAddr(scalarString(ipv))
	if perr != nil {
		s.b.errorf(src, "no documentation address is left for the Elastic IP's made-up address")
		return
	}
	e := vpc.ElasticIP{ID: r.physical, PublicIP: ip, Tags: cfnTags(p)}
	s.b.t.ElasticIPs = append(s.b.t.ElasticIPs, e)
	s.b.setSource(e.ID, src)
	s.b.warnf(src, "the template cannot know the Elastic IP's address: vpcemu gave it %s", ip)
	if in := pstr(p, "InstanceId"); in != "" {
		s.b.eipAssocs = append(s.b.eipAssocs, pendingEIPAssoc{eip: e.ID, instance: in, src: src})
	}
}

func (s *cfnStack) eipAssociation(r *cfnResource, p *cfnMap, src Source) {
	alloc := pstr(p, "AllocationId")
	if alloc == "" {
		if pub := pstr(p, "EIP"); pub != "" {
			for _, e := range s.b.t.ElasticIPs {
				if e.PublicIP.String() == pub {
					alloc = e.ID
				}
			}
		}
	}
	private := s.b.addr(src, "PrivateIpAddress", pstr(p, "PrivateIpAddress"))
	s.b.eipAssocs = append(s.b.eipAssocs, pendingEIPAssoc{eip: alloc, instance: pstr(p, "InstanceId"), eni: pstr(p, "NetworkInterfaceId"), private: private, src: src})
}

func (s *cfnStack) instance(r *cfnResource, p *cfnMap, src Source) {
	in := vpc.Instance{ID: r.physical, Tags: cfnTags(p)}
	in.ENI.ID = "eni-" + strings.TrimPrefix(r.physical, "i-")
	if len(in.ENI.ID) > 36 {
		in.ENI.ID = ""
	}
	e := &in.ENI
	e.Subnet = pstr(p, "SubnetId")
	e.PrivateIP = s.b.addr(src, "PrivateIpAddress", pstr(p, "PrivateIpAddress"))
	e.SecurityGroups = pstrs(p, "SecurityGroupIds")
	if len(e.SecurityGroups) == 0 {
		e.SecurityGroups = nil
		if names := pstrs(p, "SecurityGroups"); len(names) > 0 {
			e.SecurityGroups = s.groupsByName(names, src)
		}
	}
	if sdc, ok := pbool(p, "SourceDestCheck"); ok {
		e.SourceDestCheckDisabled = !sdc
	}
	for _, a := range pstrs(p, "Ipv6Addresses") {
		e.IPv6 = s.b.addr(src, "Ipv6Addresses", a)
		break
	}
	public := false
	if sn := s.subnetProps(e.Subnet); sn != nil {
		public, _ = pbool(sn, "MapPublicIpOnLaunch")
	}
	nis, _ := p.get("NetworkInterfaces")
	for i, x := range asList(nis) {
		m, _ := x.(*cfnMap)
		nsrc := src
		nsrc.Path = fmt.Sprintf("%s.Properties.NetworkInterfaces[%d]", src.Path, i)
		idx, _ := s.pint(m, "DeviceIndex", nsrc)
		if idx == nil {
			s.b.errorf(nsrc, "DeviceIndex is missing")
			continue
		}
		if existing := pstr(m, "NetworkInterfaceId"); existing != "" {
			s.b.eniAttachments[existing] = eniAttachment{instance: in.ID, index: *idx}
			continue
		}
		ne := vpc.ENI{Subnet: pstr(m, "SubnetId"), SecurityGroups: pstrs(m, "GroupSet"), Description: pstr(m, "Description"), DeviceIndex: *idx}
		ne.PrivateIP = s.b.addr(nsrc, "PrivateIpAddress", pstr(m, "PrivateIpAddress"))
		if len(ne.SecurityGroups) == 0 {
			ne.SecurityGroups = nil
		}
		if *idx == 0 {
			ne.ID = e.ID
			if a, ok := pbool(m, "AssociatePublicIpAddress"); ok {
				public = a
			} else if sn := s.subnetProps(ne.Subnet); sn != nil {
				public, _ = pbool(sn, "MapPublicIpOnLaunch")
			}
			ne.SourceDestCheckDisabled = e.SourceDestCheckDisabled
			in.ENI = ne
			e = &in.ENI
			continue
		}
		ne.ID = fmt.Sprintf("%s-%d", in.ENI.ID, *idx)
		in.Secondary = append(in.Secondary, ne)
	}
	if public {
		e.PublicIP = s.b.placeholderPublicIP()
		s.b.warnf(src, "the template cannot know the public address AWS assigns: vpcemu gave it %s", e.PublicIP)
	}
	if pl := strings.ToLower(pstr(p, "ImageId")); strings.Contains(pl, "windows") {
		in.OS = "windows"
	}
	s.b.t.Instances = append(s.b.t.Instances, in)
	s.b.setSource(in.ID, src)
}

// subnetProps are the properties of the template's subnet with physical id id.
func (s *cfnStack) subnetProps(id string) *cfnMap {
	for _, r := range s.resources {
		if r.physical == id && r.typ == "AWS::EC2::Subnet" && !r.skip {
			p, _ := s.props(r)
			return p
		}
	}
	return nil
}

// groupsByName resolves SecurityGroups given by name to the template's groups.
func (s *cfnStack) groupsByName(names []string, src Source) []string {
	var out []string
	for _, n := range names {
		found := ""
		for _, g := range s.b.t.SecurityGroups {
			if g.Name == n || g.ID == n {
				found = g.ID
			}
		}
		if found == "" {
			s.b.notModeled(src, "security group %q given by name, which is not a group of the template", n)
			continue
		}
		out = append(out, found)
	}
	return out
}

func (s *cfnStack) networkInterface(r *cfnResource, p *cfnMap, src Source) {
	e := vpc.ENI{ID: r.physical, Subnet: s.required(p, "SubnetId", src), Description: pstr(p, "Description"), SecurityGroups: pstrs(p, "GroupSet"), Tags: cfnTags(p)}
	if len(e.SecurityGroups) == 0 {
		e.SecurityGroups = nil
	}
	e.PrivateIP = s.b.addr(src, "PrivateIpAddress", pstr(p, "PrivateIpAddress"))
	ips, _ := p.get("PrivateIpAddresses")
	for _, x := range asList(ips) {
		m, _ := x.(*cfnMap)
		a := s.b.addr(src, "PrivateIpAddresses", pstr(m, "PrivateIpAddress"))
		if prim, _ := pbool(m, "Primary"); prim && !e.PrivateIP.IsValid() {
			e.PrivateIP = a
		} else if a != e.PrivateIP {
			e.SecondaryIPs = append(e.SecondaryIPs, a)
		}
	}
	if sdc, ok := pbool(p, "SourceDestCheck"); ok {
		e.SourceDestCheckDisabled = !sdc
	}
	s.b.pendingENIs = append(s.b.pendingENIs, pendingENI{eni: e, src: src})
}

func (s *cfnStack) eniAttachment(r *cfnResource, p *cfnMap, src Source) {
	idx, _ := s.pint(p, "DeviceIndex", src)
	if idx == nil {
		s.b.errorf(src, "DeviceIndex is missing")
		return
	}
	s.b.eniAttachments[s.required(p, "NetworkInterfaceId", src)] = eniAttachment{instance: s.required(p, "InstanceId", src), index: *idx}
}

func (s *cfnStack) peering(r *cfnResource, p *cfnMap, src Source) {
	pc := vpc.Peering{ID: r.physical, Requester: s.required(p, "VpcId", src), Accepter: s.required(p, "PeerVpcId", src), State: "active", Tags: cfnTags(p)}
	if owner := pstr(p, "PeerOwnerId"); owner != "" && owner != s.account {
		pc.State = "pending-acceptance" // another account must accept it
	}
	if region := pstr(p, "PeerRegion"); region != "" && region != s.region {
		s.b.notModeled(src, "an inter-region peering (to %s); vpcemu runs one region", region)
		return
	}
	s.b.addPeering(pc, src)
}

func (s *cfnStack) flowLog(r *cfnResource, p *cfnMap, src Source) {
	fl := vpc.FlowLog{ID: r.physical, Resource: s.required(p, "ResourceId", src), TrafficType: strings.ToUpper(pstr(p, "TrafficType")), LogFormat: pstr(p, "LogFormat"), Tags: cfnTags(p)}
	switch pstr(p, "ResourceType") {
	case "VPC", "Subnet", "NetworkInterface", "":
	default:
		s.b.notModeled(src, "a flow log on a %s", pstr(p, "ResourceType"))
		return
	}
	if n, _ := s.pint(p, "MaxAggregationInterval", src); n != nil {
		fl.MaxAggregationInterval = *n
	}
	s.b.addFlowLog(fl, src)
}

func (s *cfnStack) prefixList(r *cfnResource, p *cfnMap, src Source) {
	pl := vpc.PrefixList{ID: r.physical, Name: pstr(p, "PrefixListName"), Tags: cfnTags(p)}
	if n, _ := s.pint(p, "MaxEntries", src); n != nil {
		pl.MaxEntries = *n
	}
	fam := 4
	if pstr(p, "AddressFamily") == "IPv6" {
		fam = 6
	}
	entries, _ := p.get("Entries")
	for _, x := range asList(entries) {
		m, _ := x.(*cfnMap)
		if c, ok := s.b.prefix(src, "Entries Cidr", pstr(m, "Cidr"), fam); ok {
			pl.CIDRs = append(pl.CIDRs, c)
		}
	}
	s.b.addPrefixList(pl, src)
}

func (s *cfnStack) endpoint(r *cfnResource, p *cfnMap, src Source) {
	if t := pstr(p, "VpcEndpointType"); t != "" && t != "Gateway" {
		s.b.notModeled(src, "%s endpoint %s (only gateway endpoints for S3 and DynamoDB are emulated)", t, pstr(p, "ServiceName"))
		return
	}
	e := vpc.Endpoint{ID: r.physical, VPC: s.required(p, "VpcId", src), Service: s.required(p, "ServiceName", src), RouteTables: pstrs(p, "RouteTableIds")}
	s.b.addEndpoint(e, "", src)
}
