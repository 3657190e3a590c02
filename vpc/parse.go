package vpc

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"regexp"
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
	d := &decoder{file: file, pos: map[string]*yaml.Node{}}
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
	topKeys      = []string{"name", "account", "region", "vpc", "subnets", "security_groups", "network_acls", "prefix_lists", "instances", "internet", "flow_logs", "limits"}
	vpcKeys      = []string{"id", "cidr", "ipv6_cidr", "mtu"}
	subnetKeys   = []string{"id", "cidr", "ipv6_cidr", "az", "public", "network_acl"}
	sgKeys       = []string{"id", "name", "description", "ingress", "egress"}
	sgRuleKeys   = []string{"protocol", "ports", "icmp_type", "icmp_code", "cidr", "ipv6_cidr", "source_group", "prefix_list", "description"}
	naclKeys     = []string{"id", "ingress", "egress"}
	naclRuleKeys = []string{"rule", "protocol", "ports", "icmp_type", "icmp_code", "cidr", "ipv6_cidr", "action"}
	plKeys       = []string{"id", "max_entries", "cidrs"}
	instKeys     = []string{"id", "eni", "subnet", "private_ip", "public_ip", "ipv6", "security_groups", "os", "services", "conntrack"}
	ctKeys       = []string{"tcp_established_timeout", "udp_timeout", "udp_stream_timeout", "max_entries"}
	hostKeys     = []string{"name", "ip", "ipv6", "os", "services"}
	flKeys       = []string{"id", "resource", "traffic_type", "max_aggregation_interval", "log_format", "file_format", "hive_compatible_partitions", "per_hour_partition"}
	limitKeys    = []string{"security_groups_per_eni", "rules_per_security_group", "nacl_rules_per_direction"}
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
	t.VPCs = []VPC{d.vpc(o, t.Name)}

	t.PrefixLists = decodeList(d, o, "prefix_lists", d.prefixList)
	t.Subnets = decodeList(d, o, "subnets", func(n *yaml.Node, path string) (Subnet, bool) {
		return d.subnet(n, path, t.Region)
	})
	t.SecurityGroups = decodeList(d, o, "security_groups", func(n *yaml.Node, path string) (SecurityGroup, bool) {
		return d.securityGroup(n, path, t)
	})
	t.NetworkACLs = decodeList(d, o, "network_acls", func(n *yaml.Node, path string) (NetworkACL, bool) {
		return d.networkACL(n, path, t)
	})
	t.Instances = decodeList(d, o, "instances", func(n *yaml.Node, path string) (Instance, bool) {
		return d.instance(n, path, t.Name)
	})
	t.Internet = decodeList(d, o, "internet", d.host)
	t.FlowLogs = decodeList(d, o, "flow_logs", d.flowLog)
	// Objects that failed to decode are kept (marked bad) so that paths
	// still index the file's lists; cross-object checks skip them.
	d.validate(t)
	addDefaults(t)
	return t
}

// decodeList decodes every item of the list under key with one. Items that
// fail are kept (marked bad) so that later paths still index the file's list.
func decodeList[T any](d *decoder, o object, key string, one func(n *yaml.Node, path string) (T, bool)) []T {
	items, _ := d.list(o, key)
	var out []T
	for i, n := range items {
		v, ok := one(n, index(key, i))
		d.mark(index(key, i), ok)
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
	return l
}

func (d *decoder) vpc(o object, name string) VPC {
	v := VPC{}
	if o.get("vpc") == nil {
		d.errAt(o.node, "vpc", "", "missing; this field is required (a mapping with id and cidr)")
		return v
	}
	vo, ok := d.mapping(o.get("vpc"), "vpc", vpcKeys...)
	if !ok {
		return v
	}
	v.ID = d.str(vo, "id", false, reID, validID)
	if v.ID == "" && !vo.present("id") && name != "" {
		v.ID = "vpc-" + name
	}
	v.CIDR = d.prefix(vo, "cidr", 4, true, false)
	if v.CIDR.IsValid() && (v.CIDR.Bits() < 16 || v.CIDR.Bits() > 28) {
		d.errf("vpc.cidr", "InvalidVpc.Range", "%s is not a valid VPC block size; valid: a prefix length from /16 to /28", v.CIDR)
		v.CIDR = netip.Prefix{}
	}
	if r, bad := reservedOverlap(v.CIDR); v.CIDR.IsValid() && bad {
		d.errf("vpc.cidr", "InvalidVpc.Range", "%s overlaps the reserved block %s; valid: a private block such as 10.0.0.0/16", v.CIDR, r)
		v.CIDR = netip.Prefix{}
	}
	v.IPv6CIDR = d.prefix(vo, "ipv6_cidr", 6, false, false)
	if r, bad := reservedOverlap(v.IPv6CIDR); v.IPv6CIDR.IsValid() && bad {
		d.errf("vpc.ipv6_cidr", "InvalidVpc.Range", "%s overlaps the reserved block %s; valid: a global or unique-local block such as 2001:db8::/56", v.IPv6CIDR, r)
		v.IPv6CIDR = netip.Prefix{}
	}
	if v.IPv6CIDR.IsValid() && (v.IPv6CIDR.Bits() < 44 || v.IPv6CIDR.Bits() > 60) {
		d.errf("vpc.ipv6_cidr", "InvalidVpc.Range", "%s is not a valid VPC IPv6 block size; valid: a prefix length from /44 to /60 (AWS assigns /56)", v.IPv6CIDR)
		v.IPv6CIDR = netip.Prefix{}
	}
	// 1280 is the IPv6 minimum; 9001 is AWS's largest in-VPC MTU.
	v.MTU, _ = d.integer(vo, "mtu", DefaultMTU, 1280, 9001, "", "a whole number from 1280 to 9001 (AWS: 1500 or 9001)")
	return v
}

func (d *decoder) prefixList(n *yaml.Node, path string) (PrefixList, bool) {
	o, ok := d.mapping(n, path, plKeys...)
	if !ok {
		return PrefixList{}, false
	}
	pl := PrefixList{Pos: pos(o.node)}
	pl.ID = d.str(o, "id", true, reID, validID)
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
	s.NetworkACL = d.str(o, "network_acl", false, nil, "")
	return s, true
}

func pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{Line: n.Line, Column: n.Column}
}

func (d *decoder) securityGroup(n *yaml.Node, path string, t *Topology) (SecurityGroup, bool) {
	o, ok := d.mapping(n, path, sgKeys...)
	if !ok {
		return SecurityGroup{}, false
	}
	sg := SecurityGroup{Pos: pos(o.node)}
	sg.ID = d.str(o, "id", true, reID, validID)
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
	if sg.ID == DefaultSGID {
		if !o.present("ingress") || o.get("ingress") == nil {
			sg.Ingress = defaultSGIngress()
		}
		if !o.present("egress") || o.get("egress") == nil {
			sg.Egress = defaultSGEgress(t.VPCs[0].IPv6CIDR.IsValid())
		}
	} else if !o.present("egress") || o.get("egress") == nil {
		sg.Egress = defaultSGEgress(false)
	}
	return sg, true
}

func defaultSGIngress() []SGRule {
	return []SGRule{{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, SourceGroup: DefaultSGID}}
}

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

func (d *decoder) networkACL(n *yaml.Node, path string, t *Topology) (NetworkACL, bool) {
	o, ok := d.mapping(n, path, naclKeys...)
	if !ok {
		return NetworkACL{}, false
	}
	a := NetworkACL{Pos: pos(o.node)}
	a.ID = d.str(o, "id", true, reID, validID)
	a.Default = a.ID == DefaultNACLID
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
			a.Ingress = defaultNACLRules(t.VPCs[0].IPv6CIDR.IsValid())
		}
		if o.get("egress") == nil {
			a.Egress = defaultNACLRules(t.VPCs[0].IPv6CIDR.IsValid())
		}
	}
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

// ENIID is the deterministic ENI id of an instance that names none.
func ENIID(topology, instance string) string {
	sum := sha256.Sum256([]byte(topology + "/" + instance))
	return "eni-" + hex.EncodeToString(sum[:])[:17]
}

func (d *decoder) instance(n *yaml.Node, path, topo string) (Instance, bool) {
	o, ok := d.mapping(n, path, instKeys...)
	if !ok {
		return Instance{}, false
	}
	in := Instance{Pos: pos(o.node)}
	in.ID = d.str(o, "id", true, reID, validID)
	in.ENI.ID = d.str(o, "eni", false, reENI, "eni- followed by 1-32 characters from A-Z a-z 0-9 -")
	if in.ENI.ID == "" && in.ID != "" {
		in.ENI.ID = ENIID(topo, in.ID)
	}
	in.Subnet = d.str(o, "subnet", true, nil, "")
	in.PrivateIP = d.addr(o, "private_ip", 4, true)
	in.PublicIP = d.addr(o, "public_ip", 4, false)
	in.IPv6 = d.addr(o, "ipv6", 6, false)
	if o.present("security_groups") && o.get("security_groups") != nil {
		in.SecurityGroups, _ = d.strList(o, "security_groups")
		if len(in.SecurityGroups) == 0 && o.get("security_groups").Kind == yaml.SequenceNode {
			d.errf(join(path, "security_groups"), "InvalidParameterValue", "an ENI needs at least one security group; valid: a list of security group ids, or no security_groups key for the default group")
		}
	} else {
		in.SecurityGroups = []string{DefaultSGID}
	}
	in.OS = d.os(o, "amazon-linux")
	in.Services = d.services(o)
	in.Conntrack = d.conntrack(o)
	return in, true
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
	return fl, true
}
