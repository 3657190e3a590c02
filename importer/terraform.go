package importer

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// tfImport reads one show -json document into the builder.
type tfImport struct {
	b *builder
	p *tfPlan
	// resolving guards against reference cycles.
	resolving map[string]bool
	multi     bool // several documents are imported together
}

// tfIDPrefix is the id prefix of each resource type, for placeholders.
var tfIDPrefix = map[string]string{
	"aws_vpc": "vpc", "aws_subnet": "subnet", "aws_security_group": "sg", "aws_default_security_group": "sg",
	"aws_network_acl": "acl", "aws_default_network_acl": "acl", "aws_route_table": "rtb", "aws_default_route_table": "rtb",
	"aws_internet_gateway": "igw", "aws_egress_only_internet_gateway": "eigw", "aws_nat_gateway": "nat", "aws_eip": "eipalloc",
	"aws_instance": "i", "aws_network_interface": "eni", "aws_vpc_peering_connection": "pcx", "aws_flow_log": "fl",
	"aws_ec2_managed_prefix_list": "pl", "aws_vpc_endpoint": "vpce", "aws_security_group_rule": "sgr",
	"aws_vpc_security_group_ingress_rule": "sgr", "aws_vpc_security_group_egress_rule": "sgr",
	"aws_network_acl_association": "aclassoc", "aws_route_table_association": "rtbassoc", "aws_eip_association": "eipassoc",
}

// tfModeled are the resource types the import reads (IMP-9 and a few
// more of the same family); tfIgnored are read for nothing but hold no
// network behaviour.
var tfModeled = map[string]func(*tfImport, *tfResource){
	"aws_vpc":                                  (*tfImport).vpc,
	"aws_vpc_ipv4_cidr_block_association":      (*tfImport).vpcCIDR,
	"aws_subnet":                               (*tfImport).subnet,
	"aws_security_group":                       (*tfImport).securityGroup,
	"aws_default_security_group":               (*tfImport).securityGroup,
	"aws_security_group_rule":                  (*tfImport).sgRule,
	"aws_vpc_security_group_ingress_rule":      (*tfImport).sgRuleV2,
	"aws_vpc_security_group_egress_rule":       (*tfImport).sgRuleV2,
	"aws_network_acl":                          (*tfImport).networkACL,
	"aws_default_network_acl":                  (*tfImport).networkACL,
	"aws_network_acl_rule":                     (*tfImport).naclRule,
	"aws_network_acl_association":              (*tfImport).naclAssociation,
	"aws_route_table":                          (*tfImport).routeTable,
	"aws_default_route_table":                  (*tfImport).routeTable,
	"aws_route":                                (*tfImport).route,
	"aws_route_table_association":              (*tfImport).rtAssociation,
	"aws_main_route_table_association":         (*tfImport).mainAssociation,
	"aws_internet_gateway":                     (*tfImport).internetGateway,
	"aws_internet_gateway_attachment":          (*tfImport).igwAttachment,
	"aws_egress_only_internet_gateway":         (*tfImport).egressOnlyGateway,
	"aws_nat_gateway":                          (*tfImport).natGateway,
	"aws_eip":                                  (*tfImport).eip,
	"aws_eip_association":                      (*tfImport).eipAssociation,
	"aws_instance":                             (*tfImport).instance,
	"aws_network_interface":                    (*tfImport).networkInterface,
	"aws_network_interface_attachment":         (*tfImport).eniAttachment,
	"aws_vpc_peering_connection":               (*tfImport).peering,
	"aws_vpc_peering_connection_accepter":      (*tfImport).peeringAccepter,
	"aws_flow_log":                             (*tfImport).flowLog,
	"aws_ec2_managed_prefix_list":              (*tfImport).prefixList,
	"aws_ec2_managed_prefix_list_entry":        (*tfImport).prefixListEntry,
	"aws_vpc_endpoint":                         (*tfImport).endpoint,
	"aws_vpc_endpoint_route_table_association": (*tfImport).endpointAssociation,
}

// tfNetwork are resource types of the VPC family that vpcemu does not
// model: reported, and errors with --strict.
var tfNetwork = []string{"aws_vpn_", "aws_customer_gateway", "aws_ec2_transit_gateway", "aws_dx_", "aws_lb", "aws_alb", "aws_elb",
	"aws_networkfirewall_", "aws_vpc_", "aws_network_", "aws_route", "aws_security_group", "aws_ec2_", "aws_subnet", "aws_nat_",
	"aws_eip", "aws_internet_gateway", "aws_default_", "aws_flow_log", "aws_globalaccelerator_", "aws_networkmanager_", "aws_verifiedaccess_"}

func importTerraform(b *builder, f File, multi bool) {
	p, err := decodeTerraform(f)
	if err != nil {
		b.errs = append(b.errs, err)
		return
	}
	x := &tfImport{b: b, p: p, resolving: map[string]bool{}, multi: multi}
	if p.region != "" && b.o.Region == "" && !b.regionSet {
		b.t.Region, b.regionSet = p.region, true
	}
	// Gateways, EIPs and NAT gateways first: later resources ask for their ids.
	order := func(typ string) int {
		switch typ {
		case "aws_vpc":
			return 0
		case "aws_vpc_ipv4_cidr_block_association", "aws_subnet", "aws_ec2_managed_prefix_list":
			return 1
		case "aws_instance", "aws_network_interface":
			return 3
		case "aws_eip", "aws_eip_association", "aws_network_interface_attachment":
			return 4
		}
		return 2
	}
	rs := slices.Clone(p.resources)
	sort.SliceStable(rs, func(i, j int) bool { return order(rs[i].Type) < order(rs[j].Type) })
	var other []string
	for _, r := range rs {
		if r.Mode != "managed" {
			if r.Type == "aws_caller_identity" {
				b.setAccount(str(r.Values["account_id"]))
			}
			continue // data sources only resolve references (IMP-7)
		}
		if r.Values == nil {
			r.Values = map[string]any{}
		}
		if fn := tfModeled[r.Type]; fn != nil {
			fn(x, r)
			x.reportPlaceholders(r)
			continue
		}
		switch {
		case !strings.HasPrefix(r.Type, "aws_"):
			other = append(other, r.Address)
		case tfNetworkType(r.Type):
			if near := closest(r.Type, sortedKeys(tfModeled)); near != "" {
				b.errorf(x.errSrc(r), "unknown resource type %s; valid: a type of the AWS provider, such as %s", r.Type, near)
				continue
			}
			b.notModeled(x.src(r), "%s is not emulated by vpcemu", r.Type)
		default:
			other = append(other, r.Address)
		}
	}
	if len(other) > 0 {
		b.notef("%s: ignored %d resources outside the VPC network (%s)", f.Name, len(other), abbreviate(other, 5))
	}
}

func tfNetworkType(t string) bool {
	for _, p := range tfNetwork {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

func abbreviate(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return strings.Join(s[:n], ", ") + fmt.Sprintf(", … %d more", len(s)-n)
}

// closest is the candidate at edit distance 1 or 2 from s (a misspelt
// type), "" when none.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c, bestD); d < bestD && d > 0 {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

func (x *tfImport) src(r *tfResource) Source {
	return Source{File: x.p.file.Name, Path: r.Address}
}

func (x *tfImport) errSrc(r *tfResource) Source {
	return Source{File: x.p.file.Name, Path: r.Address, What: r.Path}
}

func (x *tfImport) attrSrc(r *tfResource, attr string) Source {
	return Source{File: x.p.file.Name, Path: r.Address, What: r.Path + ".values." + attr}
}

// reportPlaceholders warns once per resource about what was made up (API-TV-15).
func (x *tfImport) reportPlaceholders(r *tfResource) {
	if len(r.placeholders) > 0 {
		x.b.warnf(x.src(r), "known only after apply, so vpcemu made up %s", strings.Join(r.placeholders, ", "))
	}
}

// id is the resource's id: its value, else a placeholder (IMP-8).
func (x *tfImport) id(r *tfResource) string {
	if v := str(r.Values["id"]); v != "" {
		return v
	}
	prefix := tfIDPrefix[r.Type]
	if prefix == "" {
		prefix = "res"
	}
	id := x.b.placeholder(prefix, x.key(r.Address))
	x.placeholderNote(r, "id "+id)
	return id
}

// key names a placeholder: the resource address, with the file's base
// name when several documents are imported; not the path as given, so
// that the ids do not depend on where the file is read from.
func (x *tfImport) key(s string) string {
	if x.multi {
		return filepath.Base(x.p.file.Name) + "/" + s
	}
	return s
}

func (x *tfImport) placeholderNote(r *tfResource, what string) {
	if !slices.Contains(r.placeholders, what) {
		r.placeholders = append(r.placeholders, what)
	}
}

// derived is a placeholder for an attribute that holds an id of another
// object (a VPC's default security group, …).
func (x *tfImport) derived(r *tfResource, attr, prefix string) string {
	if v := str(r.Values[attr]); v != "" {
		return v
	}
	id := x.b.placeholder(prefix, x.key(r.Address+"#"+attr))
	x.placeholderNote(r, attr+" "+id)
	return id
}

// expressions are the configuration's expressions of r.
func (x *tfImport) expressions(r *tfResource) (map[string]any, *tfModuleConfig) {
	c := x.p.modules[stripKeys(r.Module)]
	if c == nil {
		return nil, nil
	}
	return c.resources[r.configAddress()], c
}

// attr is a string attribute: its value, else what its references
// resolve to when it is known only after apply.
func (x *tfImport) attr(r *tfResource, name string) string {
	if v, ok := r.Values[name]; ok && v != nil {
		return str(v)
	}
	if vs := x.unknownRefs(r, name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// attrs is a list attribute of strings, resolved likewise.
func (x *tfImport) attrs(r *tfResource, name string) []string {
	var out []string
	if l, ok := r.Values[name].([]any); ok {
		for _, v := range l {
			if s := str(v); s != "" {
				out = append(out, s)
			}
		}
	}
	if u, ok := r.Unknown[name]; ok && isUnknown(u) {
		for _, v := range x.unknownRefs(r, name) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// known reports whether the attribute has a value or will resolve to one.
func (x *tfImport) unknown(r *tfResource, name string) bool {
	u, ok := r.Unknown[name]
	return ok && isUnknown(u)
}

// unknownRefs resolves an attribute that is unknown until apply through the
// configuration's references (IMP-8): ["aws_vpc.main.id", "aws_vpc.main"]
// is the id of aws_vpc.main, known or made up.
func (x *tfImport) unknownRefs(r *tfResource, name string) []string {
	if !x.unknown(r, name) {
		return nil
	}
	ex, c := x.expressions(r)
	if ex == nil {
		return nil
	}
	e, _ := ex[name].(map[string]any)
	return x.resolveExpr(e, c, r)
}

// resolveExpr resolves one expression ({constant_value} or {references})
// in module c; from is the resource asking (its instance key picks among a
// counted resource's instances).
func (x *tfImport) resolveExpr(e map[string]any, c *tfModuleConfig, from *tfResource) []string {
	if e == nil || c == nil {
		return nil
	}
	if cv, ok := e["constant_value"]; ok {
		switch v := cv.(type) {
		case []any:
			var out []string
			for _, s := range v {
				out = append(out, str(s))
			}
			return out
		default:
			if s := str(v); s != "" {
				return []string{s}
			}
		}
		return nil
	}
	raw, _ := e["references"].([]any)
	refs := make([]reference, 0, len(raw))
	withAttr := map[string]bool{}
	for _, s := range raw {
		ref := parseReference(str(s))
		refs = append(refs, ref)
		if ref.attr != "" {
			withAttr[ref.kind+ref.addr] = true
		}
	}
	var out []string
	for _, ref := range refs {
		if ref.attr == "" && withAttr[ref.kind+ref.addr] {
			continue // "aws_vpc.main" after "aws_vpc.main.id"
		}
		for _, v := range x.resolveRef(ref, c, from) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func (x *tfImport) resolveRef(ref reference, c *tfModuleConfig, from *tfResource) []string {
	key := fmt.Sprintf("%s|%s|%s", c.path, ref.kind+ref.addr+"["+ref.key+"]", ref.attr)
	if x.resolving[key] {
		return nil
	}
	x.resolving[key] = true
	defer delete(x.resolving, key)
	switch ref.kind {
	case "var":
		if c.parent == nil {
			return nil // a root variable: its value is in the plan's variables, not a reference
		}
		call := c.parent.calls[c.callName]
		if call == nil {
			return nil
		}
		e, _ := call.expressions[ref.addr].(map[string]any)
		return x.resolveExpr(e, c.parent, from)
	case "module":
		call := c.calls[ref.addr]
		if call == nil || call.module == nil {
			return nil
		}
		return x.resolveExpr(call.module.outputs[ref.attr], call.module, from)
	case "resource", "data":
		insts := x.p.byConfig[c.path+"|"+ref.addr]
		if len(insts) == 0 {
			return nil
		}
		target := x.pick(insts, ref.key, from)
		attr := ref.attr
		if attr == "" {
			attr = "id"
		}
		var out []string
		for _, t := range target {
			if v, ok := t.Values[attr]; ok && v != nil {
				switch l := v.(type) {
				case []any:
					for _, s := range l {
						out = append(out, str(s))
					}
				default:
					out = append(out, str(v))
				}
				continue
			}
			if attr == "id" {
				out = append(out, x.id(t))
				continue
			}
			if x.unknown(t, attr) {
				if vs := x.unknownRefs(t, attr); len(vs) > 0 {
					out = append(out, vs...)
				} else if alias := tfIDAttrs[t.Type+"."+attr]; alias != "" {
					out = append(out, x.derivedAttr(t, attr, alias))
				}
			}
		}
		return out
	}
	return nil
}

// tfIDAttrs are attributes, other than id, that hold ids AWS assigns on
// create: when unknown they get placeholders of these prefixes.
var tfIDAttrs = map[string]string{
	"aws_vpc.default_security_group_id": "sg", "aws_vpc.default_network_acl_id": "acl", "aws_vpc.main_route_table_id": "rtb",
	"aws_eip.allocation_id": "eipalloc", "aws_instance.primary_network_interface_id": "eni",
	"aws_nat_gateway.network_interface_id": "eni", "aws_default_security_group.id": "sg",
	"aws_security_group_rule.security_group_rule_id": "sgr",
}

func (x *tfImport) derivedAttr(t *tfResource, attr, prefix string) string {
	if attr == "allocation_id" {
		return x.id(t) // an EIP's allocation id is its id
	}
	return x.derived(t, attr, prefix)
}

// pick chooses among a counted resource's instances: the one the key
// names, else the one with the asking resource's key, else all.
func (x *tfImport) pick(insts []*tfResource, key string, from *tfResource) []*tfResource {
	match := func(idx any, k string) bool {
		switch v := idx.(type) {
		case json.Number:
			return v.String() == k
		case string:
			return strconv.Quote(v) == k || v == k
		}
		return false
	}
	if key != "" {
		for _, t := range insts {
			if match(t.Index, key) {
				return []*tfResource{t}
			}
		}
		// count.index or each.key: the asking resource's own key.
	}
	if len(insts) == 1 {
		return insts
	}
	if from != nil && from.Index != nil {
		for _, t := range insts {
			if fmt.Sprint(t.Index) == fmt.Sprint(from.Index) && stripKeys(t.Module) == stripKeys(from.Module) {
				return []*tfResource{t}
			}
		}
	}
	return insts
}

func (x *tfImport) boolAttr(r *tfResource, name string) (value, set bool) {
	v, ok := r.Values[name].(bool)
	return v, ok
}

// intAttr is a number attribute (nil when absent).
func (x *tfImport) intAttr(r *tfResource, m map[string]any, name string) (*int, bool) {
	v, ok := m[name]
	if !ok || v == nil {
		return nil, true
	}
	s := str(v)
	if s == "" {
		return nil, true
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		x.b.errorf(x.attrSrc(r, name), "%s %q is not a whole number", name, s)
		return nil, false
	}
	return &n, true
}

func tfTags(v any) vpc.Tags {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return nil
	}
	t := vpc.Tags{}
	for k, val := range m {
		t[k] = str(val)
	}
	return t
}

// cidrAttr is a required CIDR attribute.
func (x *tfImport) cidrAttr(r *tfResource, name string, family int) netip.Prefix {
	s := x.attr(r, name)
	if s == "" {
		if x.unknown(r, name) {
			x.b.errorf(x.attrSrc(r, name), "%s is known only after apply (IPAM?); valid: a plan or state where the block is known", name)
		} else {
			x.b.errorf(x.attrSrc(r, name), "%s is missing; valid: an IPv%d CIDR", name, family)
		}
		return netip.Prefix{}
	}
	p, _ := x.b.prefix(x.attrSrc(r, name), name, s, family)
	return p
}

func (x *tfImport) vpc(r *tfResource) {
	x.b.setAccount(str(r.Values["owner_id"]))
	v := vpc.VPC{ID: x.id(r), Tags: tfTags(r.Values["tags"])}
	v.CIDR = x.cidrAttr(r, "cidr_block", 4)
	v.IPv6CIDR = x.b.optPrefix(x.attrSrc(r, "ipv6_cidr_block"), "ipv6_cidr_block", x.attr(r, "ipv6_cidr_block"), 6)
	v.DefaultSG = x.derived(r, "default_security_group_id", "sg")
	v.DefaultNACL = x.derived(r, "default_network_acl_id", "acl")
	v.MainTable = x.derived(r, "main_route_table_id", "rtb")
	x.b.addVPC(v, x.src(r))
}

func (x *tfImport) vpcCIDR(r *tfResource) {
	id := x.attr(r, "vpc_id")
	p := x.cidrAttr(r, "cidr_block", 4)
	for i := range x.b.t.VPCs {
		if v := &x.b.t.VPCs[i]; v.ID == id {
			v.SecondaryCIDRs = append(v.SecondaryCIDRs, p)
			return
		}
	}
	x.b.errorf(x.attrSrc(r, "vpc_id"), "VPC %q is not in the input; valid: a VPC the plan or state defines", id)
}

func (x *tfImport) subnet(r *tfResource) {
	s := vpc.Subnet{ID: x.id(r), VPC: x.attr(r, "vpc_id"), AZ: x.attr(r, "availability_zone"), Tags: tfTags(r.Values["tags"])}
	s.CIDR = x.cidrAttr(r, "cidr_block", 4)
	s.IPv6CIDR = x.b.optPrefix(x.attrSrc(r, "ipv6_cidr_block"), "ipv6_cidr_block", x.attr(r, "ipv6_cidr_block"), 6)
	s.MapPublicIPOnLaunch, _ = x.boolAttr(r, "map_public_ip_on_launch")
	if s.VPC == "" {
		x.b.errorf(x.attrSrc(r, "vpc_id"), "vpc_id is missing; valid: the id of a VPC")
		return
	}
	x.b.addSubnet(s, x.src(r))
}

func (x *tfImport) securityGroup(r *tfResource) {
	id := x.id(r)
	g := vpc.SecurityGroup{ID: id, VPC: x.attr(r, "vpc_id"), Name: x.attr(r, "name"), Description: x.attr(r, "description"), Tags: tfTags(r.Values["tags"])}
	if r.Type == "aws_default_security_group" {
		g.Name = "default"
		if g.Description == "" {
			g.Description = "default VPC security group"
		}
		for i := range x.b.t.VPCs {
			if v := &x.b.t.VPCs[i]; v.ID == g.VPC {
				// The resource adopts the VPC's default group: its id.
				g.ID = v.DefaultSG
				if str(r.Values["id"]) != "" {
					v.DefaultSG = str(r.Values["id"])
					g.ID = v.DefaultSG
				}
			}
		}
	}
	if g.Name == "" {
		g.Name = id
	}
	x.b.addSG(g, x.src(r))
	// Terraform removes AWS's default egress rule: no egress blocks, no egress rules (IMP-9).
	for _, dir := range []string{"ingress", "egress"} {
		blocks, _ := r.Values[dir].([]any)
		for i, bl := range blocks {
			m, _ := bl.(map[string]any)
			src := Source{File: x.p.file.Name, Path: fmt.Sprintf("%s.%s[%d]", r.Address, dir, i)}
			x.inlineSGRules(r, g.ID, dir == "egress", m, i, dir, src)
		}
	}
}

// blockRefs resolves field of the i-th block of a nested block list (an
// SG's ingress, a table's route) when it is known only after apply.
func (x *tfImport) blockRefs(r *tfResource, block string, i int, field string) []string {
	if block == "" {
		return nil
	}
	ul, ok := dig(r.Unknown, block).([]any)
	if !ok || i >= len(ul) || !isUnknown(dig(ul[i], field)) {
		return nil
	}
	ex, c := x.expressions(r)
	blocks, ok := ex[block].([]any)
	if !ok || i >= len(blocks) {
		return nil
	}
	e, _ := dig(blocks[i], field).(map[string]any)
	return x.resolveExpr(e, c, r)
}

// inlineSGRules adds the rules of one ingress or egress block: one per peer.
func (x *tfImport) inlineSGRules(r *tfResource, group string, egress bool, m map[string]any, i int, dir string, src Source) {
	from, ok1 := x.intAttr(r, m, "from_port")
	to, ok2 := x.intAttr(r, m, "to_port")
	if !ok1 || !ok2 {
		return
	}
	proto := str(m["protocol"])
	desc := str(m["description"])
	list := func(field string) []string {
		var out []string
		l, _ := m[field].([]any)
		for _, v := range l {
			out = append(out, str(v))
		}
		for _, v := range x.blockRefs(r, dir, i, field) {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	var peers []peer
	for _, c := range list("cidr_blocks") {
		peers = append(peers, peer{cidr: c})
	}
	for _, c := range list("ipv6_cidr_blocks") {
		peers = append(peers, peer{cidr6: c})
	}
	for _, p := range list("prefix_list_ids") {
		peers = append(peers, peer{prefixList: p})
	}
	for _, g := range list("security_groups") {
		peers = append(peers, peer{group: g})
	}
	if self, _ := m["self"].(bool); self {
		peers = append(peers, peer{group: group})
	}
	for _, p := range peers {
		if rule, ok := x.b.sgRule(src, proto, from, to, p, desc); ok {
			x.b.addSGRule(group, egress, rule, src)
		}
	}
}

func (x *tfImport) sgRule(r *tfResource) {
	typ := x.attr(r, "type")
	if typ != "ingress" && typ != "egress" {
		x.b.errorf(x.attrSrc(r, "type"), "type %q is not valid; valid: ingress or egress", typ)
		return
	}
	group := x.attr(r, "security_group_id")
	m := map[string]any{}
	for k, v := range r.Values {
		m[k] = v
	}
	// The standalone resource names its group peer source_security_group_id.
	if sg := x.attr(r, "source_security_group_id"); sg != "" {
		m["security_groups"] = []any{sg}
	}
	for _, f := range []string{"cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids"} {
		if vs := x.attrs(r, f); len(vs) > 0 {
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			m[f] = l
		}
	}
	x.inlineSGRules(r, group, typ == "egress", m, 0, "", x.src(r))
}

func (x *tfImport) sgRuleV2(r *tfResource) {
	egress := r.Type == "aws_vpc_security_group_egress_rule"
	group := x.attr(r, "security_group_id")
	from, ok1 := x.intAttr(r, r.Values, "from_port")
	to, ok2 := x.intAttr(r, r.Values, "to_port")
	if !ok1 || !ok2 {
		return
	}
	p := peer{cidr: x.attr(r, "cidr_ipv4"), cidr6: x.attr(r, "cidr_ipv6"), prefixList: x.attr(r, "prefix_list_id"), group: x.attr(r, "referenced_security_group_id")}
	rule, ok := x.b.sgRule(x.errSrc(r), x.attr(r, "ip_protocol"), from, to, p, x.attr(r, "description"))
	if !ok {
		return
	}
	if id := str(r.Values["security_group_rule_id"]); id != "" {
		rule.ID = id
	} else if id := str(r.Values["id"]); strings.HasPrefix(id, "sgr-") {
		rule.ID = id
	}
	x.b.addSGRule(group, egress, rule, x.src(r))
}

func (x *tfImport) networkACL(r *tfResource) {
	a := vpc.NetworkACL{ID: x.id(r), VPC: x.attr(r, "vpc_id"), Tags: tfTags(r.Values["tags"])}
	if r.Type == "aws_default_network_acl" {
		def := x.attr(r, "default_network_acl_id")
		for i := range x.b.t.VPCs {
			if v := &x.b.t.VPCs[i]; v.DefaultNACL == def || (def == "" && v.ID == a.VPC) {
				a.VPC = v.ID
				if def != "" {
					a.ID = def
				} else {
					a.ID = v.DefaultNACL
				}
			}
		}
	}
	x.b.addNACL(a, x.src(r))
	for _, dir := range []string{"ingress", "egress"} {
		blocks, _ := r.Values[dir].([]any)
		for i, bl := range blocks {
			m, _ := bl.(map[string]any)
			src := Source{File: x.p.file.Name, Path: fmt.Sprintf("%s.%s[%d]", r.Address, dir, i)}
			x.naclRuleFrom(r, a.ID, dir == "egress", m, "rule_no", "action", src)
		}
	}
	for _, s := range x.attrs(r, "subnet_ids") {
		x.b.associate(s, a.ID, true, x.src(r))
	}
}

func (x *tfImport) naclRuleFrom(r *tfResource, acl string, egress bool, m map[string]any, numKey, actionKey string, src Source) {
	num, ok := x.intAttr(r, m, numKey)
	if !ok || num == nil {
		x.b.errorf(src, "%s is missing; valid: a rule number 1-32766", numKey)
		return
	}
	from, _ := x.intAttr(r, m, "from_port")
	to, _ := x.intAttr(r, m, "to_port")
	it, _ := x.intAttr(r, m, "icmp_type")
	ic, _ := x.intAttr(r, m, "icmp_code")
	action := strings.ToLower(str(m[actionKey]))
	if action != "allow" && action != "deny" {
		x.b.errorf(src, "%s %q is not valid; valid: allow or deny", actionKey, action)
		return
	}
	cidr := str(m["cidr_block"])
	if cidr == "" {
		cidr = str(m["ipv6_cidr_block"])
	}
	if cidr == "" {
		x.b.errorf(src, "the rule has no cidr_block or ipv6_cidr_block; valid: one of them")
		return
	}
	proto := str(m["protocol"])
	if rule, ok := x.b.naclRule(src, *num, proto, action == "allow", cidr, from, to, it, ic); ok {
		x.b.addNACLRule(acl, egress, rule, src)
	}
}

func (x *tfImport) naclRule(r *tfResource) {
	m := map[string]any{}
	for k, v := range r.Values {
		m[k] = v
	}
	egress, _ := x.boolAttr(r, "egress")
	x.naclRuleFrom(r, x.attr(r, "network_acl_id"), egress, m, "rule_number", "rule_action", x.src(r))
}

func (x *tfImport) naclAssociation(r *tfResource) {
	x.b.associate(x.attr(r, "subnet_id"), x.attr(r, "network_acl_id"), true, x.src(r))
}

func (x *tfImport) routeTable(r *tfResource) {
	rt := vpc.RouteTable{ID: x.id(r), VPC: x.attr(r, "vpc_id"), Tags: tfTags(r.Values["tags"])}
	if r.Type == "aws_default_route_table" {
		def := x.attr(r, "default_route_table_id")
		for i := range x.b.t.VPCs {
			if v := &x.b.t.VPCs[i]; v.MainTable == def && def != "" {
				rt.ID, rt.VPC, rt.Main = def, v.ID, true
			}
		}
	}
	x.b.addRouteTable(rt, x.src(r))
	routes, _ := r.Values["route"].([]any)
	for i, ro := range routes {
		m, _ := ro.(map[string]any)
		src := Source{File: x.p.file.Name, Path: fmt.Sprintf("%s.route[%d]", r.Address, i)}
		x.routeFrom(r, rt.ID, m, "route", i, "cidr_block", "ipv6_cidr_block", "destination_prefix_list_id", src)
	}
}

// tfRouteTargets maps Terraform's target attributes to AWS's fields.
var tfRouteTargets = map[string]string{
	"gateway_id": "GatewayId", "egress_only_gateway_id": "EgressOnlyInternetGatewayId", "nat_gateway_id": "NatGatewayId",
	"network_interface_id": "NetworkInterfaceId", "instance_id": "InstanceId", "vpc_peering_connection_id": "VpcPeeringConnectionId",
	"transit_gateway_id": "TransitGatewayId", "local_gateway_id": "LocalGatewayId", "carrier_gateway_id": "CarrierGatewayId",
	"core_network_arn": "CoreNetworkArn", "vpc_endpoint_id": "VpcEndpointId",
}

// routeFrom adds one route: an aws_route (block "") or a block of a
// table's route list.
func (x *tfImport) routeFrom(r *tfResource, table string, m map[string]any, block string, i int, d4, d6, dpl string, src Source) {
	targets := map[string]string{}
	for k, f := range tfRouteTargets {
		v := str(m[k])
		if v == "" {
			if refs := x.blockRefs(r, block, i, k); len(refs) > 0 {
				v = refs[0]
			} else if block == "" && x.unknown(r, k) {
				v = x.attr(r, k)
			}
		}
		if v != "" {
			targets[f] = v
		}
	}
	// A NAT gateway given as gateway_id (Terraform accepts it) is a NAT gateway.
	if g := targets["GatewayId"]; strings.HasPrefix(g, "nat-") {
		delete(targets, "GatewayId")
		targets["NatGatewayId"] = g
	}
	x.b.addRouteFrom(src, table, str(m[d4]), str(m[d6]), str(m[dpl]), targets, true)
}

func (x *tfImport) route(r *tfResource) {
	m := map[string]any{}
	for k, v := range r.Values {
		m[k] = v
	}
	for k := range tfRouteTargets {
		if m[k] == nil || str(m[k]) == "" {
			if v := x.attr(r, k); v != "" {
				m[k] = v
			}
		}
	}
	x.routeFrom(r, x.attr(r, "route_table_id"), m, "", 0, "destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id", x.src(r))
}

func (x *tfImport) rtAssociation(r *tfResource) {
	if gw := x.attr(r, "gateway_id"); gw != "" {
		x.b.notModeled(x.src(r), "edge association of %s with gateway %s (ingress routing)", x.attr(r, "route_table_id"), gw)
		return
	}
	x.b.associate(x.attr(r, "subnet_id"), x.attr(r, "route_table_id"), false, x.src(r))
}

func (x *tfImport) mainAssociation(r *tfResource) {
	id, table := x.attr(r, "vpc_id"), x.attr(r, "route_table_id")
	for i := range x.b.t.VPCs {
		if v := &x.b.t.VPCs[i]; v.ID == id {
			v.MainTable = table
			for j := range x.b.t.RouteTables {
				if rt := &x.b.t.RouteTables[j]; rt.ID == table {
					rt.Main = true
				}
			}
			return
		}
	}
	x.b.errorf(x.attrSrc(r, "vpc_id"), "VPC %q is not in the input", id)
}

func (x *tfImport) internetGateway(r *tfResource) {
	g := vpc.InternetGateway{ID: x.id(r), VPC: x.attr(r, "vpc_id"), Tags: tfTags(r.Values["tags"])}
	x.b.t.InternetGateways = append(x.b.t.InternetGateways, g)
	x.b.setSource(g.ID, x.src(r))
}

func (x *tfImport) igwAttachment(r *tfResource) {
	id, v := x.attr(r, "internet_gateway_id"), x.attr(r, "vpc_id")
	for i := range x.b.t.InternetGateways {
		if g := &x.b.t.InternetGateways[i]; g.ID == id {
			g.VPC = v
			return
		}
	}
	x.b.errorf(x.attrSrc(r, "internet_gateway_id"), "internet gateway %q is not in the input", id)
}

func (x *tfImport) egressOnlyGateway(r *tfResource) {
	g := vpc.EgressOnlyGateway{ID: x.id(r), VPC: x.attr(r, "vpc_id"), Tags: tfTags(r.Values["tags"])}
	x.b.t.EgressOnlyGateways = append(x.b.t.EgressOnlyGateways, g)
	x.b.setSource(g.ID, x.src(r))
}

func (x *tfImport) natGateway(r *tfResource) {
	g := vpc.NATGateway{ID: x.id(r), Subnet: x.attr(r, "subnet_id"), ENI: str(r.Values["network_interface_id"]), Tags: tfTags(r.Values["tags"])}
	g.PrivateIP = x.b.addr(x.attrSrc(r, "private_ip"), "private_ip", str(r.Values["private_ip"]))
	g.Private = x.attr(r, "connectivity_type") == "private"
	if !g.Private {
		g.ElasticIP = x.attr(r, "allocation_id")
	}
	x.b.t.NATGateways = append(x.b.t.NATGateways, g)
	x.b.setSource(g.ID, x.src(r))
}

func (x *tfImport) eip(r *tfResource) {
	e := vpc.ElasticIP{ID: x.id(r), Tags: tfTags(r.Values["tags"])}
	if s := str(r.Values["allocation_id"]); s != "" {
		e.ID = s
	}
	if pub := str(r.Values["public_ip"]); pub != "" {
		e.PublicIP = x.b.addr(x.attrSrc(r, "public_ip"), "public_ip", pub)
		x.b.publicUsed[e.PublicIP] = true
	} else {
		e.PublicIP = x.b.placeholderPublicIP()
		x.placeholderNote(r, "public_ip "+e.PublicIP.String())
	}
	x.b.t.ElasticIPs = append(x.b.t.ElasticIPs, e)
	x.b.setSource(e.ID, x.src(r))
	private := x.b.addr(x.attrSrc(r, "associate_with_private_ip"), "associate_with_private_ip", x.attr(r, "associate_with_private_ip"))
	if in := x.attr(r, "instance"); in != "" {
		x.b.eipAssocs = append(x.b.eipAssocs, pendingEIPAssoc{eip: e.ID, instance: in, private: private, src: x.src(r)})
	} else if eni := x.attr(r, "network_interface"); eni != "" {
		x.b.eipAssocs = append(x.b.eipAssocs, pendingEIPAssoc{eip: e.ID, eni: eni, private: private, src: x.src(r)})
	}
}

func (x *tfImport) eipAssociation(r *tfResource) {
	private := x.b.addr(x.attrSrc(r, "private_ip_address"), "private_ip_address", x.attr(r, "private_ip_address"))
	x.b.eipAssocs = append(x.b.eipAssocs, pendingEIPAssoc{eip: x.attr(r, "allocation_id"), instance: x.attr(r, "instance_id"),
		eni: x.attr(r, "network_interface_id"), private: private, src: x.src(r)})
}

func (x *tfImport) instance(r *tfResource) {
	in := vpc.Instance{ID: x.id(r), Tags: tfTags(r.Values["tags"]), OS: osProfile(str(r.Values["platform"]) + str(r.Values["get_password_data"]))}
	e := &in.ENI
	e.ID = str(r.Values["primary_network_interface_id"])
	e.Subnet = x.attr(r, "subnet_id")
	e.PrivateIP = x.b.addr(x.attrSrc(r, "private_ip"), "private_ip", str(r.Values["private_ip"]))
	for _, s := range x.attrs(r, "secondary_private_ips") {
		e.SecondaryIPs = append(e.SecondaryIPs, x.b.addr(x.attrSrc(r, "secondary_private_ips"), "secondary private IP", s))
	}
	if ips := x.attrs(r, "ipv6_addresses"); len(ips) > 0 {
		e.IPv6 = x.b.addr(x.attrSrc(r, "ipv6_addresses"), "IPv6 address", ips[0])
	}
	e.SecurityGroups = x.attrs(r, "vpc_security_group_ids")
	if len(e.SecurityGroups) == 0 {
		e.SecurityGroups = nil
	}
	if names := x.attrs(r, "security_groups"); len(names) > 0 && e.SecurityGroups == nil {
		x.b.notModeled(x.src(r), "security_groups by name (EC2-Classic or the default VPC): use vpc_security_group_ids; the instance gets its VPC's default group")
	}
	if sdc, ok := x.boolAttr(r, "source_dest_check"); ok {
		e.SourceDestCheckDisabled = !sdc
	}
	if pub := str(r.Values["public_ip"]); pub != "" {
		e.PublicIP = x.b.addr(x.attrSrc(r, "public_ip"), "public_ip", pub)
		x.b.publicUsed[e.PublicIP] = true
	} else if x.unknown(r, "public_ip") && x.getsPublicIP(r, e.Subnet) {
		e.PublicIP = x.b.placeholderPublicIP()
		x.placeholderNote(r, "public_ip "+e.PublicIP.String())
	}
	// network_interface blocks attach aws_network_interface resources at
	// creation: device index 0 replaces the instance's own fields.
	nis, _ := r.Values["network_interface"].([]any)
	for _, ni := range nis {
		m, _ := ni.(map[string]any)
		idx, _ := strconv.Atoi(str(m["device_index"]))
		x.b.eniAttachments[str(m["network_interface_id"])] = eniAttachment{instance: in.ID, index: idx}
	}
	x.b.t.Instances = append(x.b.t.Instances, in)
	x.b.setSource(in.ID, x.src(r))
}

func (x *tfImport) networkInterface(r *tfResource) {
	e := vpc.ENI{ID: x.id(r), Subnet: x.attr(r, "subnet_id"), Description: x.attr(r, "description"), Tags: tfTags(r.Values["tags"])}
	ips := x.attrs(r, "private_ips")
	if p := str(r.Values["private_ip"]); p != "" {
		ips = append([]string{p}, slices.DeleteFunc(ips, func(s string) bool { return s == p })...)
	}
	for i, s := range ips {
		a := x.b.addr(x.attrSrc(r, "private_ips"), "private IP", s)
		if i == 0 {
			e.PrivateIP = a
		} else {
			e.SecondaryIPs = append(e.SecondaryIPs, a)
		}
	}
	if v6 := x.attrs(r, "ipv6_addresses"); len(v6) > 0 {
		e.IPv6 = x.b.addr(x.attrSrc(r, "ipv6_addresses"), "IPv6 address", v6[0])
	}
	e.SecurityGroups = x.attrs(r, "security_groups")
	if len(e.SecurityGroups) == 0 {
		e.SecurityGroups = nil
	}
	if sdc, ok := x.boolAttr(r, "source_dest_check"); ok {
		e.SourceDestCheckDisabled = !sdc
	}
	at, _ := r.Values["attachment"].([]any)
	for _, a := range at {
		m, _ := a.(map[string]any)
		idx, _ := strconv.Atoi(str(m["device_index"]))
		if inst := str(m["instance"]); inst != "" {
			x.b.pendingENIs = append(x.b.pendingENIs, pendingENI{eni: e, instance: inst, index: idx, src: x.src(r)})
			return
		}
	}
	x.b.pendingENIs = append(x.b.pendingENIs, pendingENI{eni: e, src: x.src(r)})
}

func (x *tfImport) eniAttachment(r *tfResource) {
	idx, _ := strconv.Atoi(x.attr(r, "device_index"))
	x.b.eniAttachments[x.attr(r, "network_interface_id")] = eniAttachment{instance: x.attr(r, "instance_id"), index: idx}
}

func (x *tfImport) peering(r *tfResource) {
	p := vpc.Peering{ID: x.id(r), Requester: x.attr(r, "vpc_id"), Accepter: x.attr(r, "peer_vpc_id"), State: "active", Tags: tfTags(r.Values["tags"])}
	if st := x.attr(r, "accept_status"); st != "" {
		p.State = st
	} else if auto, _ := x.boolAttr(r, "auto_accept"); !auto {
		p.State = "pending-acceptance"
	}
	x.b.addPeering(p, x.src(r))
}

func (x *tfImport) peeringAccepter(r *tfResource) {
	id := x.attr(r, "vpc_peering_connection_id")
	for i := range x.b.t.Peerings {
		if p := &x.b.t.Peerings[i]; p.ID == id {
			if auto, _ := x.boolAttr(r, "auto_accept"); auto || x.attr(r, "accept_status") == "active" {
				p.State = "active"
			}
			return
		}
	}
	x.b.notModeled(x.src(r), "accepter of peering %s, whose requester is not in the input", id)
}

func (x *tfImport) flowLog(r *tfResource) {
	fl := vpc.FlowLog{ID: x.id(r), TrafficType: strings.ToUpper(x.attr(r, "traffic_type")), LogFormat: x.attr(r, "log_format"), Tags: tfTags(r.Values["tags"])}
	for _, k := range []string{"vpc_id", "subnet_id", "eni_id"} {
		if v := x.attr(r, k); v != "" {
			fl.Resource = v
		}
	}
	if fl.Resource == "" {
		x.b.notModeled(x.src(r), "flow log on a transit gateway or attachment")
		return
	}
	if n, _ := x.intAttr(r, r.Values, "max_aggregation_interval"); n != nil {
		fl.MaxAggregationInterval = *n
	}
	x.b.addFlowLog(fl, x.src(r))
}

func (x *tfImport) prefixList(r *tfResource) {
	pl := vpc.PrefixList{ID: x.id(r), Name: x.attr(r, "name"), Tags: tfTags(r.Values["tags"])}
	if n, _ := x.intAttr(r, r.Values, "max_entries"); n != nil {
		pl.MaxEntries = *n
	}
	fam := 4
	if x.attr(r, "address_family") == "IPv6" {
		fam = 6
	}
	entries, _ := r.Values["entry"].([]any)
	for i, e := range entries {
		m, _ := e.(map[string]any)
		if p, ok := x.b.prefix(Source{File: x.p.file.Name, Path: fmt.Sprintf("%s.entry[%d]", r.Address, i)}, "cidr", str(m["cidr"]), fam); ok {
			pl.CIDRs = append(pl.CIDRs, p)
		}
	}
	x.b.addPrefixList(pl, x.src(r))
}

func (x *tfImport) prefixListEntry(r *tfResource) {
	id := x.attr(r, "prefix_list_id")
	cidr := x.attr(r, "cidr")
	fam := 4
	if strings.Contains(cidr, ":") {
		fam = 6
	}
	p, ok := x.b.prefix(x.attrSrc(r, "cidr"), "cidr", cidr, fam)
	if !ok {
		return
	}
	for i := range x.b.t.PrefixLists {
		if pl := &x.b.t.PrefixLists[i]; pl.ID == id {
			pl.CIDRs = append(pl.CIDRs, p)
			return
		}
	}
	x.b.errorf(x.attrSrc(r, "prefix_list_id"), "prefix list %q is not in the input", id)
}

func (x *tfImport) endpoint(r *tfResource) {
	typ := x.attr(r, "vpc_endpoint_type")
	if typ != "" && typ != "Gateway" {
		x.b.notModeled(x.src(r), "%s endpoint %s (only gateway endpoints for S3 and DynamoDB are emulated)", typ, x.attr(r, "service_name"))
		return
	}
	e := vpc.Endpoint{ID: x.id(r), VPC: x.attr(r, "vpc_id"), Service: x.attr(r, "service_name"), RouteTables: x.attrs(r, "route_table_ids"), Tags: tfTags(r.Values["tags"])}
	x.b.addEndpoint(e, x.attr(r, "prefix_list_id"), x.src(r))
}

func (x *tfImport) endpointAssociation(r *tfResource) {
	id, table := x.attr(r, "vpc_endpoint_id"), x.attr(r, "route_table_id")
	for i := range x.b.t.Endpoints {
		if e := &x.b.t.Endpoints[i]; e.ID == id {
			if !slices.Contains(e.RouteTables, table) {
				e.RouteTables = append(e.RouteTables, table)
			}
			return
		}
	}
	x.b.errorf(x.attrSrc(r, "vpc_endpoint_id"), "VPC endpoint %q is not in the input", id)
}

// getsPublicIP says whether AWS gives an instance an automatic public
// address: associate_public_ip_address, else its subnet's
// map_public_ip_on_launch.
func (x *tfImport) getsPublicIP(r *tfResource, subnet string) bool {
	if assoc, ok := x.boolAttr(r, "associate_public_ip_address"); ok {
		return assoc
	}
	for _, s := range x.b.t.Subnets {
		if s.ID == subnet {
			return s.MapPublicIPOnLaunch
		}
	}
	return false
}
