package vpc

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// LabYAML is the built-in lab topology that `vpcemu up` runs without a file.
//
//go:embed lab.yaml
var LabYAML []byte

// Lab returns the built-in lab, parsed afresh on every call.
func Lab() *Topology {
	t, err := Parse("lab.yaml", LabYAML)
	if err != nil {
		panic("vpc: the built-in lab is invalid: " + err.Error())
	}
	return t
}

// Load reads and parses the topology file at path.
func Load(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a topology file and fills in AWS's defaults.
// file is used in messages only. On failure the error is an ErrorList that
// holds every mistake found, each with its line and column.
//
// The decoder reads the YAML (syntax, keys, types) and remembers where
// each field is; the checks of values and between objects are Validate's,
// run on what it decoded, so a file and a topology built in code are held
// to the same rules.
func Parse(file string, data []byte) (*Topology, error) {
	d := &decoder{file: file, pos: map[string]*yaml.Node{}, eniPath: map[[2]int]string{}}
	t := d.parse(data)
	if t == nil {
		d.errs.sort()
		return nil, d.errs
	}
	c := &checker{t: t, d: d, file: file, errs: d.errs, bad: d.bad}
	c.run()
	if len(c.errs) > 0 {
		c.errs.sort()
		return nil, c.errs
	}
	return t, nil
}

var (
	topKeys = []string{"name", "account", "region", "vpc", "vpcs", "subnets", "security_groups", "network_acls", "route_tables",
		"internet_gateways", "egress_only_internet_gateways", "nat_gateways", "elastic_ips", "peering_connections", "vpc_endpoints",
		"prefix_lists", "instances", "internet", "flow_logs", "traffic_mirror", "limits"}
	vpcKeys      = []string{"id", "cidr", "secondary_cidrs", "ipv6_cidr", "mtu", "default_security_group", "default_network_acl", "main_route_table", "tags"}
	subnetKeys   = []string{"id", "vpc", "cidr", "ipv6_cidr", "az", "public", "route_table", "network_acl", "map_public_ip_on_launch", "tags"}
	sgKeys       = []string{"id", "vpc", "name", "description", "ingress", "egress", "tags"}
	sgRuleKeys   = []string{"id", "protocol", "ports", "icmp_type", "icmp_code", "cidr", "ipv6_cidr", "source_group", "prefix_list", "description", "tags"}
	naclKeys     = []string{"id", "vpc", "ingress", "egress", "tags"}
	naclRuleKeys = []string{"rule", "protocol", "ports", "icmp_type", "icmp_code", "cidr", "ipv6_cidr", "action"}
	plKeys       = []string{"id", "name", "max_entries", "cidrs", "tags"}
	instKeys     = []string{"id", "eni", "subnet", "private_ip", "secondary_private_ips", "public_ip", "ipv6", "security_groups", "source_dest_check",
		"network_interfaces", "os", "services", "conntrack", "tags"}
	niKeys   = []string{"id", "device_index", "subnet", "private_ip", "secondary_private_ips", "public_ip", "ipv6", "security_groups", "source_dest_check", "description", "tags"}
	ctKeys   = []string{"tcp_established_timeout", "udp_timeout", "udp_stream_timeout", "max_entries"}
	hostKeys = []string{"name", "ip", "ipv6", "os", "services"}
	flKeys   = []string{"id", "resource", "traffic_type", "max_aggregation_interval", "log_format", "file_format", "hive_compatible_partitions", "per_hour_partition",
		"log_destination_type", "log_destination", "log_group_name", "deliver_logs_permission_arn", "tags"}
	limitKeys = []string{"security_groups_per_eni", "rules_per_security_group", "nacl_rules_per_direction", "routes_per_table",
		"nat_connections_per_destination", "ngw_connections_per_destination", "nat_idle_timeout", "elastic_ips", "nat_gateways_per_az"}
)

// Defaults for fields a file may leave out.
const (
	DefaultAccount = "123456789012"
	DefaultRegion  = "us-east-1"
)

func (d *decoder) parse(data []byte) *Topology {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		d.syntax(err)
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errAt(&yaml.Node{Line: 1, Column: 1}, "", "", "the file is empty; valid: a mapping with at least name and vpc")
		return nil
	}
	root := resolve(doc.Content[0])
	d.pos[""] = root
	o, ok := d.mapping(root, "", topKeys...)
	if !ok {
		return nil
	}
	t := &Topology{File: d.file}
	t.Name = d.str(o, "name", true)
	t.Account = DefaultAccount
	if v, _, ok := d.scalar(o, "account", false); ok {
		t.Account = v
	}
	t.Region = DefaultRegion
	if v, _, ok := d.scalar(o, "region", false); ok {
		t.Region = v
	}
	t.Limits = d.limits(o)
	t.VPCs = d.vpcs(o, t.Name)

	t.PrefixLists = decodeList(d, o, "prefix_lists", d.prefixList)
	t.Subnets = decodeList(d, o, "subnets", d.subnet)
	t.SecurityGroups = decodeList(d, o, "security_groups", d.securityGroup)
	t.NetworkACLs = decodeList(d, o, "network_acls", d.networkACL)
	t.RouteTables = decodeList(d, o, "route_tables", d.routeTable)
	t.InternetGateways = decodeList(d, o, "internet_gateways", d.internetGateway)
	t.EgressOnlyGateways = decodeList(d, o, "egress_only_internet_gateways", d.egressOnlyGateway)
	t.Instances = decodeList(d, o, "instances", d.instance)
	t.NATGateways = decodeList(d, o, "nat_gateways", d.natGateway)
	t.ElasticIPs = decodeList(d, o, "elastic_ips", d.elasticIP)
	t.Peerings = decodeList(d, o, "peering_connections", d.peering)
	t.Endpoints = decodeList(d, o, "vpc_endpoints", d.endpoint)
	t.Internet = decodeList(d, o, "internet", d.host)
	t.FlowLogs = decodeList(d, o, "flow_logs", d.flowLog)
	t.TrafficMirror = d.trafficMirror(o)
	// Objects that failed to decode are kept (marked bad) so that paths
	// still index the file's lists; the checks skip them.
	return t
}

// decodeList decodes every item of the list under key with one. Items that
// fail are kept (marked bad) so that later paths still index the file's list.
func decodeList[T any](d *decoder, o object, key string, one func(n *yaml.Node, path string, i int) (T, bool)) []T {
	items, _ := d.list(o, key)
	var out []T
	for i, n := range items {
		p := index(join(o.path, key), i)
		v, ok := one(n, p, i)
		d.mark(p, ok)
		out = append(out, v)
	}
	return out
}

var reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): `)

// syntax turns a YAML parser error into an Error with its line.
func (d *decoder) syntax(err error) {
	msg := err.Error()
	line := 0
	if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: "invalid YAML: " + msg})
}

func (d *decoder) limits(o object) Limits {
	l := DefaultLimits
	lo, ok := d.mapping(o.get("limits"), "limits", limitKeys...)
	if !ok {
		return l
	}
	l.SecurityGroupsPerENI, _ = d.integer(lo, "security_groups_per_eni", l.SecurityGroupsPerENI, limitSpec)
	l.RulesPerSecurityGroup, _ = d.integer(lo, "rules_per_security_group", l.RulesPerSecurityGroup, limitSpec)
	l.NACLRulesPerDirection, _ = d.integer(lo, "nacl_rules_per_direction", l.NACLRulesPerDirection, limitSpec)
	l.RoutesPerTable, _ = d.integer(lo, "routes_per_table", l.RoutesPerTable, routesLimitSpec)
	// The spec's vectors (TV-49) call the NAT limit ngw_…; both names are accepted.
	key := "nat_connections_per_destination"
	if lo.present("ngw_connections_per_destination") {
		if lo.present(key) {
			d.note("limits.ngw_connections_per_destination", "InvalidParameterCombination", "ngw_connections_per_destination is another name for nat_connections_per_destination; valid: one of the two")
		}
		key = "ngw_connections_per_destination"
		d.natKey = key
	}
	l.NATConnectionsPerDestination, _ = d.integer(lo, key, l.NATConnectionsPerDestination, natConnsSpec)
	secs, _ := d.integer(lo, "nat_idle_timeout", int(l.NATIdleTimeout/time.Second), natIdleSpec)
	l.NATIdleTimeout = time.Duration(secs) * time.Second
	l.ElasticIPs, _ = d.integer(lo, "elastic_ips", l.ElasticIPs, limitSpec)
	l.NATGatewaysPerAZ, _ = d.integer(lo, "nat_gateways_per_az", l.NATGatewaysPerAZ, limitSpec)
	return l
}

// vpcs decodes `vpc:` (one VPC) or `vpcs:` (a list). The result always has
// at least one element so that later checks can index it; a file without a
// valid VPC has errors anyway.
func (d *decoder) vpcs(o object, name string) []VPC {
	var out []VPC
	switch {
	case o.present("vpcs") && o.present("vpc"):
		d.note("vpcs", "InvalidParameterCombination", "a file has either vpc: (one VPC) or vpcs: (a list), not both; valid: move vpc: into the vpcs: list")
	case o.present("vpcs"):
		items, ok := d.list(o, "vpcs")
		if ok && len(items) == 0 {
			d.note("vpcs", "", "the list is empty; valid: at least one VPC, each a mapping with id and cidr")
		}
		for i, n := range items {
			p := index("vpcs", i)
			v, ok := d.vpc(n, p, "")
			d.mark(p, ok)
			out = append(out, v)
		}
	case o.get("vpc") == nil:
		d.errAt(o.node, "vpc", "", "missing; this field is required (a mapping with id and cidr, or vpcs: a list of them)")
	default:
		v, ok := d.vpc(o.get("vpc"), "vpc", name)
		d.mark("vpc", ok)
		out = append(out, v)
	}
	placeholder := len(out) == 0
	if placeholder {
		out = []VPC{{}}
	}
	d.vpcPaths = make([]string, len(out))
	for i := range out {
		d.vpcPaths[i] = index("vpcs", i)
		if !o.present("vpcs") {
			d.vpcPaths[i] = "vpc"
		}
	}
	d.mark(d.vpcPaths[0], !placeholder)
	return out
}

// DefaultID is the id of an object a VPC has without the file naming it
// (DefaultSGID, DefaultNACLID, DefaultMainRouteTableID, PublicRouteTableID,
// DefaultIGWID): base for the first VPC of a file, base-VPCID for the others.
func DefaultID(base string, vpcIndex int, vpcID string) string {
	if vpcIndex == 0 {
		return base
	}
	return base + "-" + vpcID
}

func (d *decoder) vpc(n *yaml.Node, path, name string) (VPC, bool) {
	v := VPC{Pos: pos(resolve(n))}
	vo, ok := d.mapping(n, path, vpcKeys...)
	if !ok {
		return v, false
	}
	if name != "" {
		v.ID = d.str(vo, "id", false)
		if v.ID == "" && !vo.present("id") {
			v.ID = "vpc-" + name
		}
	} else {
		v.ID = d.str(vo, "id", true)
	}
	v.CIDR = d.prefix(vo, "cidr", 4, true)
	v.SecondaryCIDRs = d.prefixes(vo, "secondary_cidrs", 4)
	v.IPv6CIDR = d.prefix(vo, "ipv6_cidr", 6, false)
	v.MTU, _ = d.integer(vo, "mtu", DefaultMTU, mtuSpec)
	v.DefaultSG = d.str(vo, "default_security_group", false)
	v.DefaultNACL = d.str(vo, "default_network_acl", false)
	v.MainTable = d.str(vo, "main_route_table", false)
	v.Tags = d.tags(vo)
	return v, true
}

func (d *decoder) prefixList(n *yaml.Node, path string, _ int) (PrefixList, bool) {
	o, ok := d.mapping(n, path, plKeys...)
	if !ok {
		return PrefixList{}, false
	}
	pl := PrefixList{Pos: pos(o.node)}
	pl.ID = d.str(o, "id", true)
	pl.Name = d.str(o, "name", false)
	pl.CIDRs = d.prefixes(o, "cidrs", 0)
	pl.MaxEntries, _ = d.integer(o, "max_entries", max(len(pl.CIDRs), 1), maxEntriesSpec)
	pl.Tags = d.tags(o)
	return pl, true
}

func (d *decoder) subnet(n *yaml.Node, path string, _ int) (Subnet, bool) {
	o, ok := d.mapping(n, path, subnetKeys...)
	if !ok {
		return Subnet{}, false
	}
	s := Subnet{Pos: pos(o.node)}
	s.ID = d.str(o, "id", true)
	s.VPC = d.str(o, "vpc", false)
	s.CIDR = d.prefix(o, "cidr", 4, true)
	s.IPv6CIDR = d.prefix(o, "ipv6_cidr", 6, false)
	s.AZ = d.str(o, "az", false)
	s.Public = d.boolean(o, "public")
	s.RouteTable = d.str(o, "route_table", false)
	s.NetworkACL = d.str(o, "network_acl", false)
	s.MapPublicIPOnLaunch = d.boolean(o, "map_public_ip_on_launch")
	s.Tags = d.tags(o)
	return s, true
}

func pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{Line: n.Line, Column: n.Column}
}

func (d *decoder) securityGroup(n *yaml.Node, path string, i int) (SecurityGroup, bool) {
	o, ok := d.mapping(n, path, sgKeys...)
	if !ok {
		return SecurityGroup{}, false
	}
	sg := SecurityGroup{Pos: pos(o.node)}
	sg.ID = d.str(o, "id", true)
	sg.VPC = d.str(o, "vpc", false)
	sg.Name = d.str(o, "name", false)
	sg.Description = d.str(o, "description", false)
	items, _ := d.list(o, "ingress")
	for j, rn := range items {
		r, ok := d.sgRule(rn, index(join(path, "ingress"), j))
		d.mark(index(join(path, "ingress"), j), ok)
		sg.Ingress = append(sg.Ingress, r)
	}
	items, _ = d.list(o, "egress")
	for j, rn := range items {
		r, ok := d.sgRule(rn, index(join(path, "egress"), j))
		d.mark(index(join(path, "egress"), j), ok)
		sg.Egress = append(sg.Egress, r)
	}
	d.leftOut(&d.sgRules, i, o)
	sg.Tags = d.tags(o)
	return sg, true
}

// leftOut records which rule lists of object i the file leaves out (an
// absent key or a bare "ingress:"), for fileDefaults.
func (d *decoder) leftOut(m *map[int][2]bool, i int, o object) {
	if *m == nil {
		*m = map[int][2]bool{}
	}
	(*m)[i] = [2]bool{o.get("ingress") == nil, o.get("egress") == nil}
}

// fileDefaults gives rule lists a file leaves out AWS's rules for a new
// object: a default group's ingress from itself, every group's egress to
// everywhere, a default NACL's allow-all rules (SG-30, NACL-17). An
// explicit empty list means none. It runs once the objects' VPCs are known.
func (d *decoder) fileDefaults(t *Topology) {
	for i, absent := range d.sgRules {
		sg := &t.SecurityGroups[i]
		if v := t.VPC(sg.VPC); v != nil && sg.ID == v.DefaultSG {
			if absent[0] {
				sg.Ingress = defaultSGIngress(sg.ID)
			}
			if absent[1] {
				sg.Egress = defaultSGEgress(v.IPv6CIDR.IsValid())
			}
		} else if absent[1] {
			sg.Egress = defaultSGEgress(false)
		}
	}
	for i, absent := range d.naclRules {
		a := &t.NetworkACLs[i]
		if v := t.VPC(a.VPC); a.Default && v != nil {
			if absent[0] {
				a.Ingress = defaultNACLRules(v.IPv6CIDR.IsValid())
			}
			if absent[1] {
				a.Egress = defaultNACLRules(v.IPv6CIDR.IsValid())
			}
		}
	}
}

// setRuleIDs gives every rule without an id its derived one (SGRuleID).
func setRuleIDs(sg *SecurityGroup) {
	for j := range sg.Ingress {
		if sg.Ingress[j].ID == "" {
			sg.Ingress[j].ID = SGRuleID(sg.ID, false, j)
		}
	}
	for j := range sg.Egress {
		if sg.Egress[j].ID == "" {
			sg.Egress[j].ID = SGRuleID(sg.ID, true, j)
		}
	}
}

// SGRuleID is the id of the rule at index i of a group's ingress (egress
// false) or egress rules when the file gives none: derived from the group
// and the place, so a file and its export agree (SG-7's sgr-… ids).
func SGRuleID(group string, egress bool, i int) string {
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", group, dir, i)))
	return "sgr-" + hex.EncodeToString(sum[:])[:17]
}

// defaultSGIngress is a default group's rule: everything from the group itself (SG-30).
func defaultSGIngress(group string) []SGRule {
	return []SGRule{{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, SourceGroup: group}}
}

const validProtocol = "tcp, udp, icmp, icmpv6, all, -1 or a protocol number 0-255"

// protocol decodes a rule's protocol to its IANA number (ProtoAll for
// all/-1); a number out of range is left to the checks.
func (d *decoder) protocol(o object) int {
	v, n, ok := d.scalar(o, "protocol", true)
	if !ok {
		return 0
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "tcp":
		return ProtoTCP
	case "udp":
		return ProtoUDP
	case "icmp":
		return ProtoICMP
	case "icmpv6":
		return ProtoICMPv6
	case "all", "-1":
		return ProtoAll
	}
	if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return i
	}
	d.errAt(n, join(o.path, "protocol"), "InvalidParameterValue", "%s", badProtocol(v))
	return 0
}

// ParsePorts parses a port or "FROM-TO" range as written in a rule.
func ParsePorts(s string) (PortRange, bool) {
	pr, ok := scanPorts(s)
	return pr, ok && pr.From >= 0 && pr.To <= 65535 && pr.From <= pr.To
}

// scanPorts reads "N" or "FROM-TO" as numbers, whatever their range.
func scanPorts(s string) (PortRange, bool) {
	s = strings.TrimSpace(s)
	from, to, isRange := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(from))
	b := a
	var err2 error
	if isRange {
		b, err2 = strconv.Atoi(strings.TrimSpace(to))
	}
	if from == "" || err1 != nil || err2 != nil {
		return PortRange{}, false
	}
	return PortRange{a, b}, true
}

// ports decodes the ports field (AllPorts when absent or not numbers).
func (d *decoder) ports(o object) PortRange {
	v, n, ok := d.scalar(o, "ports", false)
	if !ok {
		return AllPorts
	}
	pr, ok := scanPorts(v)
	if !ok {
		d.errAt(n, join(o.path, "ports"), "InvalidParameterValue", "%s", badPorts(v))
		return AllPorts
	}
	return pr
}

func (d *decoder) sgRule(n *yaml.Node, path string) (SGRule, bool) {
	o, ok := d.mapping(n, path, sgRuleKeys...)
	if !ok {
		return SGRule{}, false
	}
	r := SGRule{Pos: pos(o.node)}
	r.ID = d.str(o, "id", false)
	r.Protocol = d.protocol(o)
	r.Ports = d.ports(o)
	r.ICMPType, _ = d.integer(o, "icmp_type", -1, icmpTypeSpec)
	r.ICMPCode, _ = d.integer(o, "icmp_code", -1, icmpCodeSpec)
	if o.get("cidr") != nil {
		r.CIDR = d.prefix(o, "cidr", 4, true)
	}
	if o.get("ipv6_cidr") != nil {
		r.CIDR = d.prefix(o, "ipv6_cidr", 6, true)
	}
	if o.get("source_group") != nil {
		r.SourceGroup = d.str(o, "source_group", true)
	}
	if o.get("prefix_list") != nil {
		r.PrefixList = d.str(o, "prefix_list", true)
	}
	r.Description = d.str(o, "description", false)
	r.Tags = d.tags(o)
	return r, true
}

func (d *decoder) networkACL(n *yaml.Node, path string, i int) (NetworkACL, bool) {
	o, ok := d.mapping(n, path, naclKeys...)
	if !ok {
		return NetworkACL{}, false
	}
	a := NetworkACL{Pos: pos(o.node)}
	a.ID = d.str(o, "id", true)
	a.VPC = d.str(o, "vpc", false)
	items, _ := d.list(o, "ingress")
	for j, rn := range items {
		r, ok := d.naclRule(rn, index(join(path, "ingress"), j))
		d.mark(index(join(path, "ingress"), j), ok)
		a.Ingress = append(a.Ingress, r)
	}
	items, _ = d.list(o, "egress")
	for j, rn := range items {
		r, ok := d.naclRule(rn, index(join(path, "egress"), j))
		d.mark(index(join(path, "egress"), j), ok)
		a.Egress = append(a.Egress, r)
	}
	d.leftOut(&d.naclRules, i, o)
	a.Tags = d.tags(o)
	return a, true
}

func (d *decoder) naclRule(n *yaml.Node, path string) (NACLRule, bool) {
	o, ok := d.mapping(n, path, naclRuleKeys...)
	if !ok {
		return NACLRule{}, false
	}
	r := NACLRule{Pos: pos(o.node)}
	if _, _, present := d.scalar(o, "rule", true); present {
		r.Number, _ = d.integer(o, "rule", 0, naclNumberSpec)
	}
	r.Protocol = d.protocol(o)
	r.Ports = d.ports(o)
	r.ICMPType, _ = d.integer(o, "icmp_type", -1, icmpTypeSpec)
	r.ICMPCode, _ = d.integer(o, "icmp_code", -1, icmpCodeSpec)
	if o.get("cidr") != nil {
		r.CIDR = d.prefix(o, "cidr", 4, true)
	}
	if o.get("ipv6_cidr") != nil {
		r.CIDR = d.prefix(o, "ipv6_cidr", 6, true)
	}
	v, an, aok := d.scalar(o, "action", true)
	switch strings.ToLower(v) {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		if aok {
			d.errAt(an, join(path, "action"), "InvalidParameterValue", "%q is not a valid action; valid: allow or deny", v)
		}
	}
	return r, true
}

// ENIID is the deterministic ENI id of an instance (or NAT gateway) that names none.
func ENIID(topology, owner string) string {
	sum := sha256.Sum256([]byte(topology + "/" + owner))
	return "eni-" + hex.EncodeToString(sum[:])[:17]
}

// SecondaryENIID is the deterministic id of an instance's ENI at
// deviceIndex (1 and up) when the file names none.
func SecondaryENIID(topology, instance string, deviceIndex int) string {
	return ENIID(topology, fmt.Sprintf("%s/%d", instance, deviceIndex))
}

// primaryKeys are the instance fields that describe its primary ENI.
var primaryKeys = []string{"eni", "subnet", "private_ip", "secondary_private_ips", "public_ip", "ipv6", "security_groups", "source_dest_check"}

func (d *decoder) instance(n *yaml.Node, path string, i int) (Instance, bool) {
	o, ok := d.mapping(n, path, instKeys...)
	if !ok {
		return Instance{}, false
	}
	in := Instance{Pos: pos(o.node)}
	in.ID = d.str(o, "id", true)
	items, _ := d.list(o, "network_interfaces")
	primary := -1
	var enis []ENI
	seen := map[int]int{}
	failed := false
	for k, nn := range items {
		p := index(join(path, "network_interfaces"), k)
		e, ok := d.networkInterface(nn, p)
		d.mark(p, ok)
		if !ok {
			failed = true
			continue // the file is invalid anyway; checks need a device index
		}
		if first, dup := seen[e.DeviceIndex]; dup {
			d.note(join(p, "device_index"), "InvalidParameterValue", "device index %d is already network_interfaces[%d]; valid: a unique device index per ENI", e.DeviceIndex, first)
			continue
		}
		seen[e.DeviceIndex] = k
		d.eniPath[[2]int{i, e.DeviceIndex}] = p
		if e.DeviceIndex == 0 {
			primary = len(enis)
		}
		enis = append(enis, e)
	}
	if primary >= 0 {
		for _, k := range primaryKeys {
			if o.present(k) {
				d.note(join(path, k), "InvalidParameterCombination", "network_interfaces has the primary ENI (device_index 0); valid: describe it either there or with the instance's own fields (subnet, private_ip, …), not both")
			}
		}
		in.ENI = enis[primary]
		enis = append(enis[:primary:primary], enis[primary+1:]...)
	} else if failed && !o.present("subnet") {
		// The primary ENI may be the entry that did not decode: no more errors.
		d.mark(path, false)
	} else if len(items) > 0 && !o.present("subnet") && !o.present("private_ip") {
		d.note(join(path, "network_interfaces"), "InvalidParameterCombination", "no ENI has device index 0; valid: the primary ENI as the instance's subnet and private_ip, or as a network_interfaces entry with device_index: 0 (ENI-2)")
		d.mark(path, false)
	} else {
		in.ENI = ENI{Pos: in.Pos}
		in.ENI.ID = d.str(o, "eni", false)
		d.eniFields(o, &in.ENI)
		d.eniPath[[2]int{i, 0}] = path
	}
	slices.SortStableFunc(enis, byDeviceIndex)
	in.Secondary = enis
	in.OS = "amazon-linux"
	if v, _, ok := d.scalar(o, "os", false); ok {
		in.OS = v
	}
	in.Services = d.services(o)
	in.Conntrack = d.conntrack(o)
	in.Tags = d.tags(o)
	return in, true
}

// eniFields decodes what the primary ENI written as instance fields and an
// entry of network_interfaces have in common.
func (d *decoder) eniFields(o object, e *ENI) {
	e.Subnet = d.str(o, "subnet", true)
	e.PrivateIP = d.addr(o, "private_ip", 4, true)
	ips, nodes := d.strList(o, "secondary_private_ips")
	for k, v := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil {
			d.errAt(nodes[k], index(join(o.path, "secondary_private_ips"), k), "", "%s", badSecondaryIP(v))
		}
		e.SecondaryIPs = append(e.SecondaryIPs, a) // invalid ones too, so that paths index the list
	}
	e.PublicIP = d.addr(o, "public_ip", 4, false)
	e.IPv6 = d.addr(o, "ipv6", 6, false)
	// Absent means the VPC's default group, filled in once the subnet (and
	// so the VPC) is known; an explicit empty list is a mistake the model
	// cannot hold (its empty list means the default).
	if o.present("security_groups") && o.get("security_groups") != nil {
		e.SecurityGroups, _ = d.strList(o, "security_groups")
		if len(e.SecurityGroups) == 0 && o.get("security_groups").Kind == yaml.SequenceNode {
			d.errAt(o.get("security_groups"), join(o.path, "security_groups"), "InvalidParameterValue", "an ENI needs at least one security group; valid: a list of security group ids, or no security_groups key for the default group")
		}
	}
	if o.present("source_dest_check") {
		e.SourceDestCheckDisabled = !d.boolean(o, "source_dest_check")
	}
}

func (d *decoder) networkInterface(n *yaml.Node, path string) (ENI, bool) {
	o, ok := d.mapping(n, path, niKeys...)
	if !ok {
		return ENI{}, false
	}
	e := ENI{Pos: pos(o.node)}
	v, vn, present := d.scalar(o, "device_index", true)
	if !present {
		return e, false
	}
	// The range is checked here, not with the model: which ENI is the
	// primary and where each is in the file follow from it.
	spec := deviceIndexSpec
	if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && i >= spec.lo && i <= spec.hi {
		e.DeviceIndex = i
	} else {
		d.errAt(vn, join(path, "device_index"), spec.code, "%s", spec.msg(v))
		ok = false
	}
	e.ID = d.str(o, "id", false)
	d.eniFields(o, &e)
	e.Description = d.str(o, "description", false)
	e.Tags = d.tags(o)
	return e, ok
}

const validService = "http, https, ssh, \"tcp:PORT\" or \"udp:PORT\" with PORT 1-65535"

// ParseService parses a service name as written in `services:`.
func ParseService(s string) (Service, bool) {
	switch s {
	case "http":
		return Service{Kind: "http", Port: 80}, true
	case "https":
		return Service{Kind: "https", Port: 443}, true
	case "ssh":
		return Service{Kind: "ssh", Port: 22}, true
	}
	kind, port, ok := strings.Cut(s, ":")
	if !ok || (kind != "tcp" && kind != "udp") {
		return Service{}, false
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 1 || p > 65535 || strconv.Itoa(p) != port {
		return Service{}, false
	}
	return Service{Kind: kind, Port: p}, true
}

// Transport is the L4 protocol a service listens on: "udp" or "tcp".
func (s Service) Transport() string {
	if s.Kind == "udp" {
		return "udp"
	}
	return "tcp"
}

// String writes s as it is written in a topology file.
func (s Service) String() string {
	switch s.Kind {
	case "tcp", "udp":
		return fmt.Sprintf("%s:%d", s.Kind, s.Port)
	}
	return s.Kind
}

func (d *decoder) services(o object) []Service {
	names, nodes := d.strList(o, "services")
	var out []Service
	for k, name := range names {
		s, ok := ParseService(name)
		if !ok {
			d.errAt(nodes[k], index(join(o.path, "services"), k), "", "%s", badService(name))
		}
		out = append(out, s) // invalid ones too, so that paths index the list
	}
	return out
}

func (d *decoder) conntrack(o object) Conntrack {
	c := DefaultConntrack
	co, ok := d.mapping(o.get("conntrack"), join(o.path, "conntrack"), ctKeys...)
	if !ok {
		return c
	}
	secs := func(key string, def time.Duration, spec intSpec) time.Duration {
		s, _ := d.integer(co, key, int(def/time.Second), spec)
		return time.Duration(s) * time.Second
	}
	c.TCPEstablished = secs("tcp_established_timeout", c.TCPEstablished, tcpEstablishedSpec)
	c.UDP = secs("udp_timeout", c.UDP, udpTimeoutSpec)
	c.UDPStream = secs("udp_stream_timeout", c.UDPStream, udpStreamSpec)
	c.MaxEntries, _ = d.integer(co, "max_entries", 0, ctEntriesSpec)
	return c
}

func (d *decoder) host(n *yaml.Node, path string, _ int) (InternetHost, bool) {
	o, ok := d.mapping(n, path, hostKeys...)
	if !ok {
		return InternetHost{}, false
	}
	h := InternetHost{Pos: pos(o.node)}
	h.Name = d.str(o, "name", true)
	h.IP = d.addr(o, "ip", 4, true)
	h.IPv6 = d.addr(o, "ipv6", 6, false)
	h.OS = "linux"
	if v, _, ok := d.scalar(o, "os", false); ok {
		h.OS = v
	}
	h.Services = d.services(o)
	return h, true
}

func (d *decoder) flowLog(n *yaml.Node, path string, _ int) (FlowLog, bool) {
	o, ok := d.mapping(n, path, flKeys...)
	if !ok {
		return FlowLog{}, false
	}
	fl := FlowLog{Pos: pos(o.node), TrafficType: "ALL", FileFormat: "plain-text"}
	fl.ID = d.str(o, "id", true)
	fl.Resource = d.str(o, "resource", true)
	if v, _, ok := d.scalar(o, "traffic_type", false); ok {
		fl.TrafficType = v
	}
	fl.MaxAggregationInterval, _ = d.integer(o, "max_aggregation_interval", 60, flowIntervalSpec)
	fl.LogFormat = d.str(o, "log_format", false)
	if v, _, ok := d.scalar(o, "file_format", false); ok {
		fl.FileFormat = v
	}
	fl.HiveCompatible = d.boolean(o, "hive_compatible_partitions")
	fl.PerHourPartition = d.boolean(o, "per_hour_partition")
	fl.LogDestinationType = d.str(o, "log_destination_type", false)
	fl.LogDestination = d.str(o, "log_destination", false)
	fl.LogGroupName = d.str(o, "log_group_name", false)
	fl.DeliverLogsPermissionArn = d.str(o, "deliver_logs_permission_arn", false)
	fl.Tags = d.tags(o)
	return fl, true
}
