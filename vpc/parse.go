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
func Parse(file string, data []byte) (*Topology, error) {
	d := &decoder{file: file, pos: map[string]*yaml.Node{}, eniPath: map[string]string{}}
	t := d.parse(data)
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return t, nil
}

var (
	reName    = regexp.MustCompile(`^[a-z0-9-]{1,16}$`)
	reAccount = regexp.MustCompile(`^[0-9]{12}$`)
	reRegion  = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	// IDs become parts of namespace names and file names: no "/", no ".".
	reID  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	reENI = regexp.MustCompile(`^eni-[A-Za-z0-9-]{1,32}$`)
)

const validID = "1-64 characters from A-Z a-z 0-9 _ - starting with a letter or digit"

var (
	topKeys = []string{"name", "account", "region", "vpc", "vpcs", "subnets", "security_groups", "network_acls", "route_tables",
		"internet_gateways", "egress_only_internet_gateways", "nat_gateways", "elastic_ips", "peering_connections", "vpc_endpoints",
		"prefix_lists", "instances", "internet", "flow_logs", "traffic_mirror", "limits"}
	vpcKeys      = []string{"id", "cidr", "secondary_cidrs", "ipv6_cidr", "mtu", "default_security_group", "default_network_acl", "main_route_table", "tags"}
	subnetKeys   = []string{"id", "vpc", "cidr", "ipv6_cidr", "az", "public", "route_table", "network_acl", "map_public_ip_on_launch", "tags"}
	sgKeys       = []string{"id", "vpc", "name", "description", "ingress", "egress", "tags"}
	sgRuleKeys   = []string{"id", "protocol", "ports", "icmp_type", "icmp_code", "cidr", "ipv6_cidr", "source_group", "prefix_list", "description"}
	naclKeys     = []string{"id", "vpc", "ingress", "egress", "tags"}
	naclRuleKeys = []string{"rule", "protocol", "ports", "icmp_type", "icmp_code", "cidr", "ipv6_cidr", "action"}
	plKeys       = []string{"id", "name", "max_entries", "cidrs", "tags"}
	instKeys     = []string{"id", "eni", "subnet", "private_ip", "secondary_private_ips", "public_ip", "ipv6", "security_groups", "source_dest_check",
		"network_interfaces", "os", "services", "conntrack", "tags"}
	niKeys    = []string{"id", "device_index", "subnet", "private_ip", "secondary_private_ips", "public_ip", "ipv6", "security_groups", "source_dest_check", "description", "tags"}
	ctKeys    = []string{"tcp_established_timeout", "udp_timeout", "udp_stream_timeout", "max_entries"}
	hostKeys  = []string{"name", "ip", "ipv6", "os", "services"}
	flKeys    = []string{"id", "resource", "traffic_type", "max_aggregation_interval", "log_format", "file_format", "hive_compatible_partitions", "per_hour_partition", "tags"}
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
	d.t = t
	t.Name = d.str(o, "name", true, reName, "1-16 characters from a-z 0-9 -")
	t.Account = DefaultAccount
	if v, n, ok := d.scalar(o, "account", false); ok {
		if reAccount.MatchString(v) {
			t.Account = v
		} else {
			d.errAt(n, "account", "", "%q is not a valid AWS account id; valid: 12 digits (quote it to keep leading zeros)", v)
		}
	}
	t.Region = DefaultRegion
	if v := d.str(o, "region", false, reRegion, "a region name such as us-east-1"); v != "" {
		t.Region = v
	}
	t.Limits = d.limits(o)
	t.VPCs = d.vpcs(o, t.Name)

	t.PrefixLists = decodeList(d, o, "prefix_lists", d.prefixList)
	t.Subnets = decodeList(d, o, "subnets", func(n *yaml.Node, path string) (Subnet, bool) {
		return d.subnet(n, path, t.Region)
	})
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
	// still index the file's lists; cross-object checks skip them.
	d.validate(t)
	return t
}

// decodeList decodes every item of the list under key with one. Items that
// fail are kept (marked bad) so that later paths still index the file's list.
func decodeList[T any](d *decoder, o object, key string, one func(n *yaml.Node, path string) (T, bool)) []T {
	items, _ := d.list(o, key)
	var out []T
	for i, n := range items {
		p := index(join(o.path, key), i)
		v, ok := one(n, p)
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
	const valid = "a whole number from 1 to 100000"
	l.SecurityGroupsPerENI, _ = d.integer(lo, "security_groups_per_eni", l.SecurityGroupsPerENI, 1, 100000, "", valid)
	l.RulesPerSecurityGroup, _ = d.integer(lo, "rules_per_security_group", l.RulesPerSecurityGroup, 1, 100000, "", valid)
	l.NACLRulesPerDirection, _ = d.integer(lo, "nacl_rules_per_direction", l.NACLRulesPerDirection, 1, 100000, "", valid)
	// AWS lets the route quota be raised to 1,000 (RT-4).
	l.RoutesPerTable, _ = d.integer(lo, "routes_per_table", l.RoutesPerTable, 1, 1000, "", "a whole number from 1 to 1000")
	// The spec's vectors (TV-49) call the NAT limit ngw_…; both names are accepted.
	key := "nat_connections_per_destination"
	if lo.present("ngw_connections_per_destination") {
		if lo.present(key) {
			d.errf("limits.ngw_connections_per_destination", "InvalidParameterCombination", "ngw_connections_per_destination is another name for nat_connections_per_destination; valid: one of the two")
		}
		key = "ngw_connections_per_destination"
	}
	l.NATConnectionsPerDestination, _ = d.integer(lo, key, l.NATConnectionsPerDestination, 1, 55000, "", "a whole number from 1 to 55000 (AWS's fixed limit; lower it for tests)")
	secs, _ := d.integer(lo, "nat_idle_timeout", int(l.NATIdleTimeout/time.Second), 1, 350, "", "seconds from 1 to 350 (AWS's fixed timeout; lower it for tests)")
	l.NATIdleTimeout = time.Duration(secs) * time.Second
	l.ElasticIPs, _ = d.integer(lo, "elastic_ips", l.ElasticIPs, 1, 100000, "", valid)
	l.NATGatewaysPerAZ, _ = d.integer(lo, "nat_gateways_per_az", l.NATGatewaysPerAZ, 1, 100000, "", valid)
	return l
}

// vpcs decodes `vpc:` (one VPC) or `vpcs:` (a list). The result always has
// at least one element so that later checks can index it; a file without a
// valid VPC has errors anyway.
func (d *decoder) vpcs(o object, name string) []VPC {
	var out []VPC
	switch {
	case o.present("vpcs") && o.present("vpc"):
		d.errf("vpcs", "InvalidParameterCombination", "a file has either vpc: (one VPC) or vpcs: (a list), not both; valid: move vpc: into the vpcs: list")
	case o.present("vpcs"):
		items, ok := d.list(o, "vpcs")
		if ok && len(items) == 0 {
			d.errf("vpcs", "", "the list is empty; valid: at least one VPC, each a mapping with id and cidr")
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
	if len(out) == 0 {
		out = []VPC{{}}
	}
	d.vpcPaths = make([]string, len(out))
	for i := range out {
		d.vpcPaths[i] = index("vpcs", i)
		if !o.present("vpcs") {
			d.vpcPaths[i] = "vpc"
		}
		v := &out[i]
		if v.DefaultSG == "" {
			v.DefaultSG = DefaultID(DefaultSGID, i, v.ID)
		}
		if v.DefaultNACL == "" {
			v.DefaultNACL = DefaultID(DefaultNACLID, i, v.ID)
		}
		if v.MainTable == "" {
			v.MainTable = DefaultID(DefaultMainRouteTableID, i, v.ID)
		}
	}
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
		v.ID = d.str(vo, "id", false, reID, validID)
		if v.ID == "" && !vo.present("id") {
			v.ID = "vpc-" + name
		}
	} else {
		v.ID = d.str(vo, "id", true, reID, validID)
	}
	v.CIDR = d.vpcBlock(vo, "cidr", true)
	cidrs, nodes := d.strList(vo, "secondary_cidrs")
	for i, c := range cidrs {
		field := index(join(path, "secondary_cidrs"), i)
		p := d.parsePrefix(nodes[i], field, c, 4, false)
		if p = d.checkVPCBlock(field, p); !p.IsValid() {
			continue
		}
		for j, q := range append([]netip.Prefix{v.CIDR}, v.SecondaryCIDRs...) {
			if q.IsValid() && q.Overlaps(p) {
				what := "the primary block"
				if j > 0 {
					what = fmt.Sprintf("secondary_cidrs[%d]", j-1)
				}
				d.errAt(nodes[i], field, "InvalidVpc.Range", "%s overlaps %s %s; valid: a block that overlaps no other block of the VPC", p, what, q)
				p = netip.Prefix{}
				break
			}
		}
		if p.IsValid() {
			v.SecondaryCIDRs = append(v.SecondaryCIDRs, p)
		}
	}
	if len(cidrs) > maxVPCCIDRs-1 {
		d.errf(join(path, "secondary_cidrs"), "CidrLimitExceeded", "%d secondary blocks; valid: at most %d (AWS's default of %d IPv4 blocks per VPC)", len(cidrs), maxVPCCIDRs-1, maxVPCCIDRs)
	}
	v.IPv6CIDR = d.prefix(vo, "ipv6_cidr", 6, false, false)
	if r, bad := reservedOverlap(v.IPv6CIDR); v.IPv6CIDR.IsValid() && bad {
		d.errf(join(path, "ipv6_cidr"), "InvalidVpc.Range", "%s overlaps the reserved block %s; valid: a global or unique-local block such as 2001:db8::/56", v.IPv6CIDR, r)
		v.IPv6CIDR = netip.Prefix{}
	}
	if v.IPv6CIDR.IsValid() && (v.IPv6CIDR.Bits() < 44 || v.IPv6CIDR.Bits() > 60) {
		d.errf(join(path, "ipv6_cidr"), "InvalidVpc.Range", "%s is not a valid VPC IPv6 block size; valid: a prefix length from /44 to /60 (AWS assigns /56)", v.IPv6CIDR)
		v.IPv6CIDR = netip.Prefix{}
	}
	// 1280 is the IPv6 minimum; 9001 is AWS's largest in-VPC MTU.
	v.MTU, _ = d.integer(vo, "mtu", DefaultMTU, 1280, 9001, "", "a whole number from 1280 to 9001 (AWS: 1500 or 9001)")
	v.DefaultSG = d.str(vo, "default_security_group", false, reID, validID)
	v.DefaultNACL = d.str(vo, "default_network_acl", false, reID, validID)
	v.MainTable = d.str(vo, "main_route_table", false, reID, validID)
	v.Tags = d.tags(vo)
	return v, true
}

// maxVPCCIDRs is AWS's default quota of IPv4 blocks per VPC, the primary included.
const maxVPCCIDRs = 5

// vpcBlock decodes a VPC's IPv4 block: /16 to /28, outside the reserved ranges.
func (d *decoder) vpcBlock(o object, key string, required bool) netip.Prefix {
	return d.checkVPCBlock(join(o.path, key), d.prefix(o, key, 4, required, false))
}

func (d *decoder) checkVPCBlock(field string, p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		d.errf(field, "InvalidVpc.Range", "%s is not a valid VPC block size; valid: a prefix length from /16 to /28", p)
		return netip.Prefix{}
	}
	if r, bad := reservedOverlap(p); bad {
		d.errf(field, "InvalidVpc.Range", "%s overlaps the reserved block %s; valid: a private block such as 10.0.0.0/16", p, r)
		return netip.Prefix{}
	}
	return p
}

func (d *decoder) prefixList(n *yaml.Node, path string) (PrefixList, bool) {
	o, ok := d.mapping(n, path, plKeys...)
	if !ok {
		return PrefixList{}, false
	}
	pl := PrefixList{Pos: pos(o.node)}
	pl.ID = d.str(o, "id", true, reID, validID)
	if v, n, ok := d.scalar(o, "name", false); ok {
		if v == "" || len(v) > 255 {
			d.errAt(n, join(path, "name"), "InvalidParameterValue", "%q is not valid; valid: 1-255 characters", v)
		}
		pl.Name = v
		// AWS's own lists (the gateway endpoints' service ranges) weigh 1 (RT-4, SG-43).
		pl.AWSManaged = strings.HasPrefix(v, "com.amazonaws.")
	}
	cidrs, nodes := d.strList(o, "cidrs")
	fam := 0
	for i, c := range cidrs {
		f := 4
		if strings.Contains(c, ":") {
			f = 6
		}
		field := index(join(path, "cidrs"), i)
		p := d.parsePrefix(nodes[i], field, c, f, true)
		if !p.IsValid() {
			continue
		}
		if fam != 0 && f != fam {
			d.errAt(nodes[i], field, "", "%s is IPv%d but the list's first entry is IPv%d; valid: entries of one address family", p, f, fam)
			continue
		}
		fam = f
		pl.CIDRs = append(pl.CIDRs, p)
	}
	def := max(len(cidrs), 1)
	pl.MaxEntries, _ = d.integer(o, "max_entries", def, 1, 1000, "InvalidParameterValue", "a whole number from 1 to 1000")
	pl.Tags = d.tags(o)
	if len(cidrs) > pl.MaxEntries {
		d.errf(join(path, "cidrs"), "PrefixListMaxEntriesExceeded", "%d entries exceed max_entries %d; valid: at most max_entries entries", len(cidrs), pl.MaxEntries)
	}
	return pl, true
}

func (d *decoder) subnet(n *yaml.Node, path, region string) (Subnet, bool) {
	o, ok := d.mapping(n, path, subnetKeys...)
	if !ok {
		return Subnet{}, false
	}
	s := Subnet{Pos: pos(o.node)}
	s.ID = d.str(o, "id", true, reID, validID)
	s.VPC = d.vpcOf(o, "")
	s.CIDR = d.prefix(o, "cidr", 4, true, false)
	if s.CIDR.IsValid() && (s.CIDR.Bits() < 16 || s.CIDR.Bits() > 28) {
		d.errf(join(path, "cidr"), "InvalidSubnet.Range", "%s is not a valid subnet size; valid: a prefix length from /16 to /28", s.CIDR)
		s.CIDR = netip.Prefix{}
	}
	s.IPv6CIDR = d.prefix(o, "ipv6_cidr", 6, false, false)
	if s.IPv6CIDR.IsValid() && (s.IPv6CIDR.Bits() < 44 || s.IPv6CIDR.Bits() > 64) {
		d.errf(join(path, "ipv6_cidr"), "InvalidSubnet.Range", "%s is not a valid IPv6 subnet size; valid: a prefix length from /44 to /64", s.IPv6CIDR)
		s.IPv6CIDR = netip.Prefix{}
	}
	s.AZ = d.str(o, "az", false, nil, "")
	if s.AZ == "" {
		s.AZ = region + "a"
	}
	s.Public = d.boolean(o, "public")
	s.RouteTable = d.str(o, "route_table", false, nil, "")
	if s.Public && s.RouteTable != "" {
		d.errf(join(path, "route_table"), "InvalidParameterCombination", "public: true already associates the VPC's public route table; valid: either public: true or route_table")
		s.RouteTable = ""
	}
	s.NetworkACL = d.str(o, "network_acl", false, nil, "")
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

func (d *decoder) securityGroup(n *yaml.Node, path string) (SecurityGroup, bool) {
	o, ok := d.mapping(n, path, sgKeys...)
	if !ok {
		return SecurityGroup{}, false
	}
	sg := SecurityGroup{Pos: pos(o.node)}
	sg.ID = d.str(o, "id", true, reID, validID)
	sg.VPC = d.vpcOf(o, d.vpcWithDefault(sg.ID, func(v *VPC) string { return v.DefaultSG }))
	if v, n, ok := d.scalar(o, "name", false); ok {
		switch {
		case strings.HasPrefix(strings.ToLower(v), "sg-"):
			d.errAt(n, join(path, "name"), "InvalidParameterValue", "%q starts with \"sg-\"; valid: a name that does not start with sg- (AWS reserves it for ids)", v)
		case v == "" || len(v) > 255:
			d.errAt(n, join(path, "name"), "InvalidParameterValue", "%q is not valid; valid: 1-255 characters", v)
		}
		sg.Name = v
	}
	if sg.Name == "" {
		sg.Name = sg.ID
	}
	sg.Description = d.str(o, "description", false, nil, "")
	if len(sg.Description) > 255 {
		d.errf(join(path, "description"), "InvalidParameterValue", "description is %d characters; valid: at most 255", len(sg.Description))
	}
	items, _ := d.list(o, "ingress")
	for i, rn := range items {
		r, ok := d.sgRule(rn, index(join(path, "ingress"), i))
		d.mark(index(join(path, "ingress"), i), ok)
		sg.Ingress = append(sg.Ingress, r)
	}
	items, _ = d.list(o, "egress")
	for i, rn := range items {
		r, ok := d.sgRule(rn, index(join(path, "egress"), i))
		d.mark(index(join(path, "egress"), i), ok)
		sg.Egress = append(sg.Egress, r)
	}
	// An absent key (or a bare "egress:") gets AWS's rules for a new group;
	// an explicit empty list means none.
	if v := d.t.VPC(sg.VPC); v != nil && sg.ID == v.DefaultSG {
		if !o.present("ingress") || o.get("ingress") == nil {
			sg.Ingress = defaultSGIngress(sg.ID)
		}
		if !o.present("egress") || o.get("egress") == nil {
			sg.Egress = defaultSGEgress(v.IPv6CIDR.IsValid())
		}
	} else if !o.present("egress") || o.get("egress") == nil {
		sg.Egress = defaultSGEgress(false)
	}
	setRuleIDs(&sg)
	sg.Tags = d.tags(o)
	return sg, true
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

// protocol decodes a rule's protocol to its IANA number (ProtoAll for all/-1).
func (d *decoder) protocol(o object) (int, bool) {
	v, n, ok := d.scalar(o, "protocol", true)
	if !ok {
		return 0, false
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "tcp":
		return ProtoTCP, true
	case "udp":
		return ProtoUDP, true
	case "icmp":
		return ProtoICMP, true
	case "icmpv6":
		return ProtoICMPv6, true
	case "all", "-1":
		return ProtoAll, true
	}
	if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && i >= 0 && i <= 255 {
		return i, true
	}
	d.errAt(n, join(o.path, "protocol"), "InvalidParameterValue", "%q is not a valid protocol; valid: %s", v, validProtocol)
	return 0, false
}

// ParsePorts parses a port or "FROM-TO" range as written in a rule.
func ParsePorts(s string) (PortRange, bool) {
	s = strings.TrimSpace(s)
	from, to, isRange := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(from))
	b := a
	var err2 error
	if isRange {
		b, err2 = strconv.Atoi(strings.TrimSpace(to))
	}
	if from == "" || err1 != nil || err2 != nil || a < 0 || b > 65535 || a > b {
		return PortRange{}, false
	}
	return PortRange{a, b}, true
}

// ports decodes the ports field; for protocols other than TCP and UDP the
// value is checked but ignored, as on AWS.
func (d *decoder) ports(o object, proto int) (PortRange, bool) {
	v, n, ok := d.scalar(o, "ports", false)
	if !ok {
		return AllPorts, n == nil
	}
	pr, valid := ParsePorts(v)
	if !valid {
		d.errAt(n, join(o.path, "ports"), "InvalidParameterValue", "%q is not a valid port range; valid: a number 0-65535 or \"FROM-TO\" with FROM <= TO", v)
		return AllPorts, false
	}
	if proto != ProtoTCP && proto != ProtoUDP {
		return AllPorts, true
	}
	return pr, true
}

// icmp decodes icmp_type and icmp_code (SG-11, NACL-14).
func (d *decoder) icmp(o object, proto int) (typ, code int, ok bool) {
	typ, ok1 := d.integer(o, "icmp_type", -1, -1, 255, "InvalidParameterValue", "-1 (any) or an ICMP type 0-255")
	code, ok2 := d.integer(o, "icmp_code", -1, -1, 255, "InvalidParameterValue", "-1 (any) or an ICMP code 0-255")
	if !ok1 || !ok2 {
		return -1, -1, false
	}
	if proto != ProtoICMP && proto != ProtoICMPv6 {
		return -1, -1, true
	}
	if typ == -1 && code != -1 {
		d.errf(join(o.path, "icmp_code"), "InvalidParameterValue", "icmp_code %d needs a specific icmp_type; valid: icmp_code -1 when icmp_type is -1 (any)", code)
		return -1, -1, false
	}
	return typ, code, true
}

func (d *decoder) sgRule(n *yaml.Node, path string) (SGRule, bool) {
	o, ok := d.mapping(n, path, sgRuleKeys...)
	if !ok {
		return SGRule{}, false
	}
	r := SGRule{Pos: pos(o.node)}
	r.ID = d.str(o, "id", false, reID, validID)
	proto, ok := d.protocol(o)
	r.Protocol = proto
	r.Ports, _ = d.ports(o, proto)
	r.ICMPType, r.ICMPCode, _ = d.icmp(o, proto)
	var peers []string
	for _, k := range []string{"cidr", "ipv6_cidr", "source_group", "prefix_list"} {
		if o.get(k) != nil {
			peers = append(peers, k)
		}
	}
	switch len(peers) {
	case 0:
		d.errAt(o.node, path, "MissingParameter", "a rule needs a peer; valid: exactly one of cidr, ipv6_cidr, source_group, prefix_list")
		ok = false
	case 1:
		switch peers[0] {
		case "cidr":
			r.CIDR = d.prefix(o, "cidr", 4, true, true)
			ok = ok && r.CIDR.IsValid()
		case "ipv6_cidr":
			r.CIDR = d.prefix(o, "ipv6_cidr", 6, true, true)
			ok = ok && r.CIDR.IsValid()
		case "source_group":
			r.SourceGroup = d.str(o, "source_group", true, nil, "")
		case "prefix_list":
			r.PrefixList = d.str(o, "prefix_list", true, nil, "")
		}
	default:
		d.errf(join(path, peers[1]), "InvalidParameterCombination", "a rule has one peer but this one also has %s; valid: exactly one of cidr, ipv6_cidr, source_group, prefix_list", peers[0])
		ok = false
	}
	r.Description = d.str(o, "description", false, nil, "")
	if len(r.Description) > 255 {
		d.errf(join(path, "description"), "InvalidParameterValue", "description is %d characters; valid: at most 255", len(r.Description))
	}
	return r, ok
}

func (d *decoder) networkACL(n *yaml.Node, path string) (NetworkACL, bool) {
	o, ok := d.mapping(n, path, naclKeys...)
	if !ok {
		return NetworkACL{}, false
	}
	a := NetworkACL{Pos: pos(o.node)}
	a.ID = d.str(o, "id", true, reID, validID)
	a.VPC = d.vpcOf(o, d.vpcWithDefault(a.ID, func(v *VPC) string { return v.DefaultNACL }))
	v := d.t.VPC(a.VPC)
	a.Default = v != nil && a.ID == v.DefaultNACL
	items, _ := d.list(o, "ingress")
	for i, rn := range items {
		r, ok := d.naclRule(rn, index(join(path, "ingress"), i))
		d.mark(index(join(path, "ingress"), i), ok)
		a.Ingress = append(a.Ingress, r)
	}
	items, _ = d.list(o, "egress")
	for i, rn := range items {
		r, ok := d.naclRule(rn, index(join(path, "egress"), i))
		d.mark(index(join(path, "egress"), i), ok)
		a.Egress = append(a.Egress, r)
	}
	if a.Default {
		if o.get("ingress") == nil {
			a.Ingress = defaultNACLRules(v.IPv6CIDR.IsValid())
		}
		if o.get("egress") == nil {
			a.Egress = defaultNACLRules(v.IPv6CIDR.IsValid())
		}
	}
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
		r.Number, ok = d.integer(o, "rule", 0, 1, 32766, "InvalidParameterValue", "a rule number from 1 to 32766 (32767 and up are AWS's)")
	} else {
		ok = false
	}
	proto, pok := d.protocol(o)
	r.Protocol = proto
	r.Ports, _ = d.ports(o, proto)
	r.ICMPType, r.ICMPCode, _ = d.icmp(o, proto)
	ok = ok && pok
	hasV4, hasV6 := o.get("cidr") != nil, o.get("ipv6_cidr") != nil
	switch {
	case hasV4 && hasV6:
		d.errf(join(path, "ipv6_cidr"), "InvalidParameterCombination", "a rule has one CIDR but this one also has cidr; valid: exactly one of cidr, ipv6_cidr")
		ok = false
	case hasV4:
		r.CIDR = d.prefix(o, "cidr", 4, true, true)
	case hasV6:
		r.CIDR = d.prefix(o, "ipv6_cidr", 6, true, true)
	default:
		d.errAt(o.node, path, "MissingParameter", "a rule needs a CIDR; valid: exactly one of cidr, ipv6_cidr")
		ok = false
	}
	ok = ok && r.CIDR.IsValid()
	v, an, aok := d.scalar(o, "action", true)
	switch strings.ToLower(v) {
	case "allow":
		r.Allow = true
	case "deny":
	default:
		if aok {
			d.errAt(an, join(path, "action"), "InvalidParameterValue", "%q is not a valid action; valid: allow or deny", v)
		}
		ok = false
	}
	return r, ok
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

// maxDeviceIndex bounds an ENI's device index; real limits depend on the
// instance type, which vpcemu does not model (ENI-2).
const maxDeviceIndex = 31

// primaryKeys are the instance fields that describe its primary ENI.
var primaryKeys = []string{"eni", "subnet", "private_ip", "secondary_private_ips", "public_ip", "ipv6", "security_groups", "source_dest_check"}

func (d *decoder) instance(n *yaml.Node, path string) (Instance, bool) {
	o, ok := d.mapping(n, path, instKeys...)
	if !ok {
		return Instance{}, false
	}
	in := Instance{Pos: pos(o.node)}
	in.ID = d.str(o, "id", true, reID, validID)
	items, _ := d.list(o, "network_interfaces")
	primary := -1
	var enis []ENI
	seen := map[int]int{}
	failed := false
	for i, nn := range items {
		p := index(join(path, "network_interfaces"), i)
		e, ok := d.networkInterface(nn, p, in.ID)
		d.mark(p, ok)
		if !ok {
			failed = true
			continue // the file is invalid anyway; checks need a device index
		}
		if first, dup := seen[e.DeviceIndex]; dup {
			d.errf(join(p, "device_index"), "InvalidParameterValue", "device index %d is already network_interfaces[%d]; valid: a unique device index per ENI", e.DeviceIndex, first)
			continue
		}
		seen[e.DeviceIndex] = i
		d.eniPath[eniKey(path, e.DeviceIndex)] = p
		if e.DeviceIndex == 0 {
			primary = len(enis)
		}
		enis = append(enis, e)
	}
	if primary >= 0 {
		for _, k := range primaryKeys {
			if o.present(k) {
				d.errf(join(path, k), "InvalidParameterCombination", "network_interfaces has the primary ENI (device_index 0); valid: describe it either there or with the instance's own fields (subnet, private_ip, …), not both")
			}
		}
		in.ENI = enis[primary]
		enis = append(enis[:primary:primary], enis[primary+1:]...)
	} else if failed && !o.present("subnet") {
		// The primary ENI may be the entry that did not decode: no more errors.
		d.mark(path, false)
	} else if len(items) > 0 && !o.present("subnet") && !o.present("private_ip") {
		d.errf(join(path, "network_interfaces"), "InvalidParameterCombination", "no ENI has device index 0; valid: the primary ENI as the instance's subnet and private_ip, or as a network_interfaces entry with device_index: 0 (ENI-2)")
		d.mark(path, false)
	} else {
		in.ENI = ENI{Pos: in.Pos}
		in.ENI.ID = d.str(o, "eni", false, reENI, "eni- followed by 1-32 characters from A-Z a-z 0-9 -")
		if in.ENI.ID == "" && in.ID != "" {
			in.ENI.ID = ENIID(d.t.Name, in.ID)
		}
		d.eniFields(o, &in.ENI)
		d.eniPath[eniKey(path, 0)] = path
	}
	slices.SortStableFunc(enis, func(a, b ENI) int { return a.DeviceIndex - b.DeviceIndex })
	in.Secondary = enis
	in.OS = d.os(o, "amazon-linux")
	in.Services = d.services(o)
	in.Conntrack = d.conntrack(o)
	in.Tags = d.tags(o)
	return in, true
}

// eniFields decodes what the primary ENI written as instance fields and an
// entry of network_interfaces have in common.
func (d *decoder) eniFields(o object, e *ENI) {
	e.Subnet = d.str(o, "subnet", true, nil, "")
	e.PrivateIP = d.addr(o, "private_ip", 4, true)
	ips, nodes := d.strList(o, "secondary_private_ips")
	for i, v := range ips {
		a, err := netip.ParseAddr(strings.TrimSpace(v))
		if err != nil || !a.Is4() || a.Zone() != "" || !hostUsable(a) {
			d.errAt(nodes[i], index(join(o.path, "secondary_private_ips"), i), "", "%q is not a valid IPv4 address; valid: an address of the ENI's subnet such as 10.0.1.11", v)
			continue
		}
		e.SecondaryIPs = append(e.SecondaryIPs, a)
	}
	e.PublicIP = d.addr(o, "public_ip", 4, false)
	e.IPv6 = d.addr(o, "ipv6", 6, false)
	// nil means "none given": the VPC's default group, filled in once the
	// subnet (and so the VPC) is known.
	if o.present("security_groups") && o.get("security_groups") != nil {
		e.SecurityGroups, _ = d.strList(o, "security_groups")
		if e.SecurityGroups == nil {
			e.SecurityGroups = []string{}
		}
		if len(e.SecurityGroups) == 0 && o.get("security_groups").Kind == yaml.SequenceNode {
			d.errf(join(o.path, "security_groups"), "InvalidParameterValue", "an ENI needs at least one security group; valid: a list of security group ids, or no security_groups key for the default group")
		}
	}
	if o.present("source_dest_check") {
		e.SourceDestCheckDisabled = !d.boolean(o, "source_dest_check")
	}
}

func (d *decoder) networkInterface(n *yaml.Node, path, instance string) (ENI, bool) {
	o, ok := d.mapping(n, path, niKeys...)
	if !ok {
		return ENI{}, false
	}
	e := ENI{Pos: pos(o.node)}
	if _, _, present := d.scalar(o, "device_index", true); !present {
		return e, false
	}
	e.DeviceIndex, ok = d.integer(o, "device_index", 0, 0, maxDeviceIndex, "InvalidParameterValue", fmt.Sprintf("a device index from 0 (the primary ENI) to %d", maxDeviceIndex))
	e.ID = d.str(o, "id", false, reENI, "eni- followed by 1-32 characters from A-Z a-z 0-9 -")
	if e.ID == "" && instance != "" {
		if e.DeviceIndex == 0 {
			e.ID = ENIID(d.t.Name, instance)
		} else {
			e.ID = SecondaryENIID(d.t.Name, instance, e.DeviceIndex)
		}
	}
	d.eniFields(o, &e)
	if e.DeviceIndex > 0 && e.PublicIP.IsValid() {
		// EIP-9: AWS auto-assigns public IPv4s to device index 0 only.
		d.errf(join(path, "public_ip"), "InvalidParameterCombination", "an auto-assigned public IP belongs to the primary ENI (device index 0) only; valid: give this ENI an Elastic IP (elastic_ips[].network_interface) instead")
		e.PublicIP = netip.Addr{}
	}
	e.Description = d.str(o, "description", false, nil, "")
	if len(e.Description) > 255 {
		d.errf(join(path, "description"), "InvalidParameterValue", "description is %d characters; valid: at most 255", len(e.Description))
	}
	e.Tags = d.tags(o)
	return e, ok
}

func (d *decoder) os(o object, def string) string {
	v, n, ok := d.scalar(o, "os", false)
	if !ok {
		return def
	}
	for _, p := range OSProfiles {
		if v == p {
			return v
		}
	}
	d.errAt(n, join(o.path, "os"), "", "%q is not a known OS profile; valid: %s", v, strings.Join(OSProfiles, ", "))
	return def
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
	used := map[string]string{}
	for i, name := range names {
		field := index(join(o.path, "services"), i)
		s, ok := ParseService(name)
		if !ok {
			d.errAt(nodes[i], field, "", "%q is not a valid service; valid: %s", name, validService)
			continue
		}
		key := fmt.Sprintf("%s/%d", s.Transport(), s.Port)
		if prev, dup := used[key]; dup {
			d.errAt(nodes[i], field, "", "%q listens on %s like %q; valid: one service per port", name, key, prev)
			continue
		}
		used[key] = name
		out = append(out, s)
	}
	return out
}

func (d *decoder) conntrack(o object) Conntrack {
	c := DefaultConntrack
	co, ok := d.mapping(o.get("conntrack"), join(o.path, "conntrack"), ctKeys...)
	if !ok {
		return c
	}
	secs := func(key string, def time.Duration, lo, hi int) time.Duration {
		s, _ := d.integer(co, key, int(def/time.Second), lo, hi, "InvalidParameterValue", fmt.Sprintf("seconds from %d to %d", lo, hi))
		return time.Duration(s) * time.Second
	}
	// Ranges from SG-34.
	c.TCPEstablished = secs("tcp_established_timeout", c.TCPEstablished, 60, 432000)
	c.UDP = secs("udp_timeout", c.UDP, 30, 60)
	c.UDPStream = secs("udp_stream_timeout", c.UDPStream, 60, 180)
	c.MaxEntries, _ = d.integer(co, "max_entries", 0, 0, 1<<30, "", "0 (unlimited) or a positive number of tracked connections")
	return c
}

func (d *decoder) host(n *yaml.Node, path string) (InternetHost, bool) {
	o, ok := d.mapping(n, path, hostKeys...)
	if !ok {
		return InternetHost{}, false
	}
	h := InternetHost{Pos: pos(o.node)}
	h.Name = d.str(o, "name", true, reID, validID)
	h.IP = d.addr(o, "ip", 4, true)
	h.IPv6 = d.addr(o, "ipv6", 6, false)
	h.OS = d.os(o, "linux")
	h.Services = d.services(o)
	return h, true
}

func (d *decoder) flowLog(n *yaml.Node, path string) (FlowLog, bool) {
	o, ok := d.mapping(n, path, flKeys...)
	if !ok {
		return FlowLog{}, false
	}
	fl := FlowLog{Pos: pos(o.node)}
	fl.ID = d.str(o, "id", true, reID, validID)
	fl.Resource = d.str(o, "resource", true, nil, "")
	fl.TrafficType = "ALL"
	if v, n, ok := d.scalar(o, "traffic_type", false); ok {
		switch strings.ToUpper(v) {
		case "ACCEPT", "REJECT", "ALL":
			fl.TrafficType = strings.ToUpper(v)
		default:
			d.errAt(n, join(path, "traffic_type"), "InvalidParameterValue", "%q is not a valid traffic type; valid: ACCEPT, REJECT or ALL", v)
		}
	}
	// AWS accepts 60 or 600; shorter windows are allowed so tests need not wait.
	fl.MaxAggregationInterval, _ = d.integer(o, "max_aggregation_interval", 60, 1, 600, "InvalidParameterValue", "seconds from 1 to 600 (AWS offers 60 and 600)")
	if v, n, ok := d.scalar(o, "log_format", false); ok {
		fl.LogFormat = v
		if msg := checkLogFormat(v); msg != "" {
			d.errAt(n, join(path, "log_format"), "InvalidParameter", "%s", msg)
		}
	}
	fl.FileFormat = "plain-text"
	if v, n, ok := d.scalar(o, "file_format", false); ok {
		switch v {
		case "plain-text", "parquet":
			fl.FileFormat = v
		default:
			d.errAt(n, join(path, "file_format"), "InvalidParameterValue", "%q is not a valid file format; valid: plain-text or parquet", v)
		}
	}
	fl.HiveCompatible = d.boolean(o, "hive_compatible_partitions")
	fl.PerHourPartition = d.boolean(o, "per_hour_partition")
	fl.Tags = d.tags(o)
	return fl, true
}
