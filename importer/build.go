package importer

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vpcemu/vpcemu/vpc"
)

// builder collects what the formats read: the objects, where each came
// from, and the rules, routes and associations that name their object by
// id (Terraform and CloudFormation keep them as resources of their own),
// attached once everything is read.
type builder struct {
	o     Options
	t     *vpc.Topology
	src   map[string]Source // object id → where it came from
	errs  ErrorList
	warns []Warning
	notes []string

	sgRules   []pendingSGRule
	naclRules []pendingNACLRule
	routes    []pendingRoute
	assocs    []pendingAssoc
	// Elastic IP associations made by resources of their own (Terraform's
	// aws_eip_association, an instance named by CloudFormation's EIP).
	eipAssocs []pendingEIPAssoc
	// ENIs defined on their own (Terraform's aws_network_interface,
	// CloudFormation's AWS::EC2::NetworkInterface), placed on their
	// instances once all are read; eniAttachments attach them by id.
	pendingENIs    []pendingENI
	eniAttachments map[string]eniAttachment

	endpointPLs []endpointPL

	// ruleSrc is where each rule of the raw topology came from, by slot,
	// once finish has attached them.
	ruleSrc map[ruleSlot]Source
	// publicUsed holds the public addresses of the input, so that
	// placeholders for unknown ones do not collide with them.
	publicUsed map[netip.Addr]bool
	nextPublic int
	// placeholderIDs remembers each placeholder id, so a resource asked
	// twice gets the same one.
	placeholderIDs map[string]string
	autoComments   map[string]string     // comments on what --internet auto adds, by host name
	cfnEIPs        map[string]netip.Addr // CloudFormation EIPs' made-up addresses, by file/logical id
	regionSet      bool                  // the input named the region (a Batfish folder, the template's AWS::Region)
	accountSet     bool
}

type (
	pendingSGRule struct {
		group  string
		egress bool
		rule   vpc.SGRule
		src    Source
	}
	pendingNACLRule struct {
		acl    string
		egress bool
		rule   vpc.NACLRule
		src    Source
	}
	pendingRoute struct {
		table string
		route vpc.Route
		src   Source
		// active is false when the input says the route is a blackhole;
		// a missing target then is what AWS shows, not a dangling reference.
		active bool
	}
	pendingAssoc struct {
		subnet string
		target string // a NACL or route table id
		nacl   bool
		src    Source
	}
	pendingEIPAssoc struct {
		eip      string // allocation id
		instance string // or
		eni      string
		private  netip.Addr
		src      Source
	}
	endpointPL struct {
		service, id string
		src         Source
	}
	pendingENI struct {
		eni      vpc.ENI
		instance string // "" when the ENI names no attachment itself
		index    int
		src      Source
	}
	// eniAttachment is where a standalone ENI is attached.
	eniAttachment struct {
		instance string
		index    int
	}
	// ruleSlot names a rule by its object, direction (or "routes") and index.
	ruleSlot struct {
		object string
		list   string // ingress, egress, routes
		index  int
	}
)

func newBuilder(o Options) *builder {
	name := o.Name
	if name == "" {
		name = DefaultName
	}
	b := &builder{
		o: o,
		t: &vpc.Topology{
			Name: name, Account: vpc.DefaultAccount, Region: vpc.DefaultRegion, Limits: vpc.DefaultLimits,
		},
		src:            map[string]Source{},
		ruleSrc:        map[ruleSlot]Source{},
		publicUsed:     map[netip.Addr]bool{},
		placeholderIDs: map[string]string{},
		eniAttachments: map[string]eniAttachment{},
		cfnEIPs:        map[string]netip.Addr{},
		autoComments:   map[string]string{},
	}
	if o.Account != "" {
		b.setAccount(o.Account)
	}
	return b
}

// errorf records a mistake in the input at src.
func (b *builder) errorf(src Source, format string, args ...any) {
	if len(b.errs) < 1000 {
		b.errs = append(b.errs, &Error{Source: src, Msg: fmt.Sprintf(format, args...)})
	}
}

// notModeled records something vpcemu does not emulate.
func (b *builder) notModeled(src Source, format string, args ...any) {
	b.warns = append(b.warns, Warning{Source: src, NotModeled: true, Msg: fmt.Sprintf(format, args...)})
}

// warnf records something the import made up or changed.
func (b *builder) warnf(src Source, format string, args ...any) {
	b.warns = append(b.warns, Warning{Source: src, Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) notef(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *builder) setSource(id string, src Source) {
	if id != "" {
		if _, ok := b.src[id]; !ok {
			b.src[id] = src
		}
	}
}

func (b *builder) addVPC(v vpc.VPC, src Source) {
	b.t.VPCs = append(b.t.VPCs, v)
	b.setSource(v.ID, src)
}

func (b *builder) addSubnet(s vpc.Subnet, src Source) {
	b.t.Subnets = append(b.t.Subnets, s)
	b.setSource(s.ID, src)
}

// addSG adds a group without rules; addSGRule adds them.
func (b *builder) addSG(g vpc.SecurityGroup, src Source) {
	g.Ingress, g.Egress = nil, nil
	b.t.SecurityGroups = append(b.t.SecurityGroups, g)
	b.setSource(g.ID, src)
}

func (b *builder) addSGRule(group string, egress bool, r vpc.SGRule, src Source) {
	b.sgRules = append(b.sgRules, pendingSGRule{group, egress, r, src})
}

func (b *builder) addNACL(a vpc.NetworkACL, src Source) {
	a.Ingress, a.Egress = nil, nil
	b.t.NetworkACLs = append(b.t.NetworkACLs, a)
	b.setSource(a.ID, src)
}

func (b *builder) addNACLRule(acl string, egress bool, r vpc.NACLRule, src Source) {
	b.naclRules = append(b.naclRules, pendingNACLRule{acl, egress, r, src})
}

func (b *builder) addRouteTable(rt vpc.RouteTable, src Source) {
	rt.Routes = nil
	b.t.RouteTables = append(b.t.RouteTables, rt)
	b.setSource(rt.ID, src)
}

func (b *builder) addRoute(table string, r vpc.Route, active bool, src Source) {
	b.routes = append(b.routes, pendingRoute{table, r, src, active})
}

func (b *builder) associate(subnet, target string, nacl bool, src Source) {
	b.assocs = append(b.assocs, pendingAssoc{subnet, target, nacl, src})
}

func (b *builder) addPeering(p vpc.Peering, src Source) {
	b.t.Peerings = append(b.t.Peerings, p)
	b.setSource(p.ID, src)
}

func (b *builder) addFlowLog(fl vpc.FlowLog, src Source) {
	if fl.LogFormat == vpc.DefaultLogFormat {
		fl.LogFormat = "" // AWS's default format, spelt out: no log_format [INTERP]
	}
	if fl.TrafficType == "" {
		fl.TrafficType = "ALL"
	}
	if fl.MaxAggregationInterval == 0 {
		fl.MaxAggregationInterval = 600 // AWS's default
	}
	if fl.FileFormat == "" {
		fl.FileFormat = "plain-text"
	}
	b.t.FlowLogs = append(b.t.FlowLogs, fl)
	b.setSource(fl.ID, src)
}

func (b *builder) addPrefixList(pl vpc.PrefixList, src Source) {
	if pl.MaxEntries == 0 {
		pl.MaxEntries = max(len(pl.CIDRs), 1)
	}
	b.t.PrefixLists = append(b.t.PrefixLists, pl)
	b.setSource(pl.ID, src)
}

// addEndpoint adds a gateway endpoint. vpcemu emulates the service inside
// the AWS-managed prefix list named after it; when the input does not
// hold that list (describe-managed-prefix-lists), one is made up with a
// range of the benchmarking block 198.18.0.0/15, and the import says so.
func (b *builder) addEndpoint(e vpc.Endpoint, plID string, src Source) {
	b.t.Endpoints = append(b.t.Endpoints, e)
	b.setSource(e.ID, src)
	b.endpointPLs = append(b.endpointPLs, endpointPL{service: e.Service, id: plID, src: src})
}

// hexDigits is how many hex digits follow the prefix of an AWS id.
const hexDigits = 17

// placeholder is a deterministic id for an object whose id the input does
// not know (a Terraform plan before apply, a CloudFormation template):
// prefix-, then 17 hex digits of a hash of key, like AWS's ids.
func (b *builder) placeholder(prefix, key string) string {
	k := prefix + "\x00" + key
	if id, ok := b.placeholderIDs[k]; ok {
		return id
	}
	id := prefix + "-" + hash(key)[:hexDigits]
	b.placeholderIDs[k] = id
	return id
}

// placeholderPublicIP is a public address for an object whose address the
// input does not know, from the documentation ranges (RFC 5737), one the
// input does not use.
func (b *builder) placeholderPublicIP() netip.Addr {
	for {
		a := docAddr(100 + b.nextPublic)
		b.nextPublic++
		if !a.IsValid() {
			return netip.Addr{}
		}
		if !b.publicUsed[a] {
			b.publicUsed[a] = true
			return a
		}
	}
}

// docRanges are the IPv4 documentation ranges (RFC 5737).
var docRanges = []netip.Prefix{
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
}

// docAddr is the n-th usable address of the documentation ranges (host
// numbers 1..254 of each /24 in turn); invalid past the last.
func docAddr(n int) netip.Addr {
	r := n / 254
	if r >= len(docRanges) {
		return netip.Addr{}
	}
	b := docRanges[r].Addr().As4()
	b[3] = byte(1 + n%254)
	return netip.AddrFrom4(b)
}

func isDocAddr(a netip.Addr) bool {
	for _, p := range docRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// finish attaches rules, routes and associations, checks references, has
// vpc.Parse check the whole, and writes the file.
func (b *builder) finish(kind Kind, files []File) (*Result, error) {
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	t := b.t
	if len(t.VPCs) == 0 {
		return nil, ErrorList{{Source: Source{File: fileNames(files)}, Msg: "no VPC in the input; valid: an input that defines at least one VPC (describe-vpcs, aws_vpc, AWS::EC2::VPC)"}}
	}
	b.settleRegion()
	b.selectVPCs()
	b.checkVPCRefs()
	b.checkOverlaps()
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	b.attach()
	b.modelDefaults()
	b.dropTags()
	b.normalize()
	b.fitLimits()
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	sort.SliceStable(b.warns, func(i, j int) bool { return b.warns[i].NotModeled && !b.warns[j].NotModeled })
	if b.o.Strict {
		var l ErrorList
		for _, w := range b.warns {
			if w.NotModeled {
				l = append(l, &Error{Source: w.Source, Msg: "not modeled (--strict): " + w.Msg})
			}
		}
		if len(l) > 0 {
			return nil, l
		}
	}
	// The file is written once and Parse checks it: what Parse reads is the
	// topology, and so the file and the topology cannot differ.
	b.setRuleIDs()
	out := t.EncodeYAML(vpc.EncodeOptions{Header: b.header(kind, files), Comments: b.comments(t), Footer: b.footer()})
	parsed, err := vpc.Parse("import", out)
	if err != nil {
		return nil, b.translate(out, err)
	}
	if b.o.Internet || b.o.Services {
		if b.o.Internet {
			b.internetAuto(parsed)
		}
		if b.o.Services {
			b.servicesAuto(parsed)
		}
		out = parsed.EncodeYAML(vpc.EncodeOptions{Header: b.header(kind, files), Comments: b.comments(parsed), Footer: b.footer()})
		again, err := vpc.Parse("import", out)
		if err != nil {
			return nil, fmt.Errorf("import: the topology with --internet/--services auto does not validate (a bug): %w", err)
		}
		parsed = again
	}
	parsed.File = ""
	return &Result{Topology: parsed, YAML: out, Warnings: b.warns, Notes: b.notes}, nil
}

// setRuleIDs gives every SG rule without an id the one Parse derives
// (vpc.SGRuleID), so that comments can name the rules by id.
func (b *builder) setRuleIDs() {
	for i := range b.t.SecurityGroups {
		g := &b.t.SecurityGroups[i]
		for j := range g.Ingress {
			if g.Ingress[j].ID == "" {
				g.Ingress[j].ID = vpc.SGRuleID(g.ID, false, j)
			}
		}
		for j := range g.Egress {
			if g.Egress[j].ID == "" {
				g.Egress[j].ID = vpc.SGRuleID(g.ID, true, j)
			}
		}
	}
}

// fileNames names the inputs: each file, or for many files of one folder
// (a snapshot) the folder and how many.
func fileNames(files []File) string {
	var s []string
	dirs := map[string]bool{}
	for _, f := range files {
		s = append(s, f.Name)
		dirs[filepath.Dir(f.Name)] = true
	}
	if len(files) > 3 && len(dirs) == 1 {
		return fmt.Sprintf("%d files in %s", len(files), filepath.Dir(files[0].Name))
	}
	return strings.Join(s, ", ")
}

func (b *builder) header(kind Kind, files []File) string {
	var lines []string
	lines = append(lines, fmt.Sprintf("Imported by vpcemu import (%s) from %s.", kind, fileNames(files)))
	lines = append(lines, "The comment above each object names its source; AWS ids and names are kept as they are.")
	for _, n := range b.notes {
		lines = append(lines, "NOTE "+n)
	}
	return strings.Join(lines, "\n")
}

func (b *builder) footer() string {
	if len(b.warns) == 0 {
		return "Import report: everything was modeled."
	}
	lines := []string{"Import report:"}
	for _, w := range b.warns {
		lines = append(lines, w.String())
	}
	return strings.Join(lines, "\n")
}

// comments are the sources as the encoder wants them: objects by id, rules
// and routes that came from a resource of their own by their keys.
func (b *builder) comments(t *vpc.Topology) map[string]string {
	c := map[string]string{}
	for id, s := range b.src {
		c[id] = "from " + s.String()
	}
	for name, s := range b.autoComments {
		c[name] = s
	}
	own := func(object string, s Source) bool {
		o, ok := b.src[object]
		return !ok || o.File != s.File || !strings.HasPrefix(s.Path, o.Path)
	}
	for _, sg := range t.SecurityGroups {
		for dir, rules := range map[string][]vpc.SGRule{"ingress": sg.Ingress, "egress": sg.Egress} {
			for j, r := range rules {
				if s, ok := b.ruleSrc[ruleSlot{sg.ID, dir, j}]; ok && own(sg.ID, s) {
					c[r.ID] = "from " + s.String()
				}
			}
		}
	}
	for _, a := range t.NetworkACLs {
		for dir, rules := range map[string][]vpc.NACLRule{"ingress": a.Ingress, "egress": a.Egress} {
			for j, r := range rules {
				if s, ok := b.ruleSrc[ruleSlot{a.ID, dir, j}]; ok && own(a.ID, s) {
					c[vpc.NACLRuleKey(a.ID, dir == "egress", r.Number)] = "from " + s.String()
				}
			}
		}
	}
	for _, rt := range t.RouteTables {
		for _, r := range rt.Routes {
			dest := r.DestPrefixList
			if r.Dest.IsValid() {
				dest = r.Dest.String()
			}
			if s, ok := b.ruleSrc[ruleSlot{rt.ID, "routes/" + dest, 0}]; ok && own(rt.ID, s) {
				c[vpc.RouteKey(rt.ID, dest)] = "from " + s.String()
			}
		}
	}
	return c
}

var reRegionOfAZ = regexp.MustCompile(`^([a-z]{2}(?:-gov)?-[a-z]+-\d+)`)

// settleRegion takes the region from the options, else from the subnets'
// availability zones (us-east-1a is in us-east-1).
func (b *builder) settleRegion() {
	if b.o.Region != "" {
		b.t.Region = b.o.Region
		return
	}
	if b.regionSet {
		return
	}
	for _, s := range b.t.Subnets {
		if m := reRegionOfAZ.FindStringSubmatch(s.AZ); m != nil {
			b.t.Region = m[1]
			return
		}
	}
}

// setAccount takes the account of the first object that names one.
func (b *builder) setAccount(owner string) {
	if owner != "" && !b.accountSet && reAccountID.MatchString(owner) {
		b.t.Account, b.accountSet = owner, true
	}
}

var reAccountID = regexp.MustCompile(`^\d{12}$`)

// selectVPCs keeps only the VPCs of --vpc and what belongs to them.
func (b *builder) selectVPCs() {
	if len(b.o.VPCs) == 0 {
		return
	}
	t := b.t
	keep := map[string]bool{}
	have := map[string]bool{}
	for _, v := range t.VPCs {
		have[v.ID] = true
	}
	for _, id := range b.o.VPCs {
		if !have[id] {
			b.errorf(Source{}, "--vpc %s: no such VPC in the input; valid: %s", id, strings.Join(sortedKeys(have), ", "))
		}
		keep[id] = true
	}
	if len(b.errs) > 0 {
		return
	}
	t.VPCs = slices.DeleteFunc(t.VPCs, func(v vpc.VPC) bool { return !keep[v.ID] })
	subnets := map[string]bool{}
	t.Subnets = slices.DeleteFunc(t.Subnets, func(s vpc.Subnet) bool { return !keep[s.VPC] })
	for _, s := range t.Subnets {
		subnets[s.ID] = true
	}
	t.SecurityGroups = slices.DeleteFunc(t.SecurityGroups, func(g vpc.SecurityGroup) bool { return !keep[g.VPC] })
	t.NetworkACLs = slices.DeleteFunc(t.NetworkACLs, func(a vpc.NetworkACL) bool { return !keep[a.VPC] })
	t.RouteTables = slices.DeleteFunc(t.RouteTables, func(rt vpc.RouteTable) bool { return !keep[rt.VPC] })
	t.InternetGateways = slices.DeleteFunc(t.InternetGateways, func(g vpc.InternetGateway) bool { return !keep[g.VPC] })
	t.EgressOnlyGateways = slices.DeleteFunc(t.EgressOnlyGateways, func(g vpc.EgressOnlyGateway) bool { return !keep[g.VPC] })
	t.NATGateways = slices.DeleteFunc(t.NATGateways, func(g vpc.NATGateway) bool { return !subnets[g.Subnet] })
	t.Instances = slices.DeleteFunc(t.Instances, func(in vpc.Instance) bool { return !subnets[in.Subnet] })
	t.Endpoints = slices.DeleteFunc(t.Endpoints, func(e vpc.Endpoint) bool { return !keep[e.VPC] })
	enis := map[string]bool{}
	for _, in := range t.Instances {
		enis[in.ID] = true
		for _, e := range in.ENIs() {
			enis[e.ID] = true
		}
	}
	for _, g := range t.NATGateways {
		enis[g.ENI] = true
	}
	nats := map[string]bool{}
	for _, g := range t.NATGateways {
		nats[g.ElasticIP] = true
	}
	t.ElasticIPs = slices.DeleteFunc(t.ElasticIPs, func(e vpc.ElasticIP) bool { return !enis[e.ENI] && !nats[e.ID] })
	t.Peerings = slices.DeleteFunc(t.Peerings, func(p vpc.Peering) bool {
		switch {
		case keep[p.Requester] && keep[p.Accepter]:
			return false
		case keep[p.Requester] || keep[p.Accepter]:
			b.notModeled(b.src[p.ID], "peering %s joins %s and %s, and --vpc imports only one of them; routes to it become blackholes", p.ID, p.Requester, p.Accepter)
		}
		return true
	})
	t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(fl vpc.FlowLog) bool {
		return !keep[fl.Resource] && !subnets[fl.Resource] && !enis[fl.Resource]
	})
	b.notef("--vpc: imported %s of the input's VPCs", strings.Join(b.o.VPCs, ", "))
}

// checkVPCRefs makes sure every object's VPC is in the input: an error
// naming both ends (IMP-2); with --vpc, objects of VPCs left out are gone.
func (b *builder) checkVPCRefs() {
	t := b.t
	have := map[string]bool{}
	for _, v := range t.VPCs {
		have[v.ID] = true
	}
	check := func(id, kind, vpcID string) {
		if vpcID != "" && !have[vpcID] {
			b.errorf(b.src[id], "%s %s is in VPC %s, which is not in the input; valid: an input that also describes %s", kind, id, vpcID, vpcID)
		}
	}
	for _, s := range t.Subnets {
		check(s.ID, "subnet", s.VPC)
	}
	for _, g := range t.SecurityGroups {
		check(g.ID, "security group", g.VPC)
	}
	for _, a := range t.NetworkACLs {
		check(a.ID, "network ACL", a.VPC)
	}
	for _, rt := range t.RouteTables {
		check(rt.ID, "route table", rt.VPC)
	}
	for _, g := range t.InternetGateways {
		check(g.ID, "internet gateway", g.VPC)
	}
	for _, g := range t.EgressOnlyGateways {
		check(g.ID, "egress-only internet gateway", g.VPC)
	}
	for _, e := range t.Endpoints {
		check(e.ID, "VPC endpoint", e.VPC)
	}
	for _, p := range t.Peerings {
		check(p.ID, "peering connection", p.Requester)
		check(p.ID, "peering connection", p.Accepter)
	}
}

// checkOverlaps refuses VPCs whose blocks overlap: vpcemu finds subnets and
// instances by address across all VPCs of a topology, which AWS does not
// need to (accounts often reuse 10.0.0.0/16).
func (b *builder) checkOverlaps() {
	t := b.t
	for i := range t.VPCs {
		for j := range i {
			for _, p := range t.VPCs[i].IPv4CIDRs() {
				for _, q := range t.VPCs[j].IPv4CIDRs() {
					if p.IsValid() && q.IsValid() && p.Overlaps(q) {
						b.errorf(b.src[t.VPCs[i].ID], "%s %s overlaps %s %s (%s); vpcemu runs the VPCs of one topology in one address space; valid: import them one at a time with --vpc", t.VPCs[i].ID, p, t.VPCs[j].ID, q, b.src[t.VPCs[j].ID])
						return
					}
				}
			}
		}
	}
}

// attach puts rules, routes and associations on their objects; a missing
// object is an error naming both ends, unless --vpc left it out.
func (b *builder) attach() {
	t := b.t
	sgs := map[string]*vpc.SecurityGroup{}
	for i := range t.SecurityGroups {
		sgs[t.SecurityGroups[i].ID] = &t.SecurityGroups[i]
	}
	filtered := len(b.o.VPCs) > 0
	for _, p := range b.sgRules {
		g := sgs[p.group]
		if g == nil {
			if !filtered {
				b.errorf(p.src, "security group %s is not in the input; valid: the id of a security group the input defines", p.group)
			}
			continue
		}
		if ref := p.rule.SourceGroup; ref != "" && sgs[ref] == nil {
			if filtered || strings.Contains(ref, "/") {
				b.notModeled(p.src, "rule of %s refers to security group %s, which is not imported; the rule is left out", p.group, ref)
				continue
			}
			b.errorf(p.src, "rule of %s refers to security group %s, which is not in the input; valid: a group the input defines", p.group, ref)
			continue
		}
		list, dir := &g.Ingress, "ingress"
		if p.egress {
			list, dir = &g.Egress, "egress"
		}
		b.ruleSrc[ruleSlot{g.ID, dir, len(*list)}] = p.src
		*list = append(*list, p.rule)
	}
	acls := map[string]*vpc.NetworkACL{}
	for i := range t.NetworkACLs {
		acls[t.NetworkACLs[i].ID] = &t.NetworkACLs[i]
	}
	for _, p := range b.naclRules {
		a := acls[p.acl]
		if a == nil {
			if !filtered {
				b.errorf(p.src, "network ACL %s is not in the input; valid: the id of a network ACL the input defines", p.acl)
			}
			continue
		}
		if p.rule.Number > 32766 {
			continue // AWS's own '*' rules (32767, and 32768 for IPv6): every NACL ends with them
		}
		list := &a.Ingress
		if p.egress {
			list = &a.Egress
		}
		*list = append(*list, p.rule)
		b.ruleSrc[ruleSlot{a.ID, dirName(p.egress) + "#" + strconv.Itoa(p.rule.Number), 0}] = p.src
	}
	tables := map[string]*vpc.RouteTable{}
	for i := range t.RouteTables {
		tables[t.RouteTables[i].ID] = &t.RouteTables[i]
	}
	targets := b.targetSet()
	for _, p := range b.routes {
		rt := tables[p.table]
		if rt == nil {
			if !filtered {
				b.errorf(p.src, "route table %s is not in the input; valid: the id of a route table the input defines", p.table)
			}
			continue
		}
		r := p.route
		if id := r.Target.ID; id != "" && !targets[id] {
			switch {
			case !p.active:
				r.Blackhole = true
			case filtered || r.Target.Kind == vpc.TargetPeering:
				b.notModeled(p.src, "route to %s in %s: its target is not imported; the route is a blackhole", id, rt.ID)
				r.Blackhole = true
			default:
				b.errorf(p.src, "route in %s targets %s, which is not in the input; valid: the id of a gateway, NAT gateway, ENI, instance or peering the input defines", rt.ID, id)
				continue
			}
		}
		dest := r.DestPrefixList
		if r.Dest.IsValid() {
			dest = r.Dest.String()
		}
		if existing := rt.Route(r.Dest); r.Dest.IsValid() && existing != nil {
			if existing.Target == r.Target {
				continue // the same route from two sources (a table's inline route and aws_route)
			}
		}
		b.ruleSrc[ruleSlot{rt.ID, "routes/" + dest, 0}] = p.src
		rt.Routes = append(rt.Routes, r)
	}
	subnets := map[string]*vpc.Subnet{}
	for i := range t.Subnets {
		subnets[t.Subnets[i].ID] = &t.Subnets[i]
	}
	for _, p := range b.assocs {
		s := subnets[p.subnet]
		if s == nil {
			if !filtered {
				b.errorf(p.src, "subnet %s is not in the input; valid: the id of a subnet the input defines", p.subnet)
			}
			continue
		}
		if p.nacl {
			if acls[p.target] == nil {
				b.errorf(p.src, "network ACL %s (associated with %s) is not in the input; valid: a network ACL the input defines", p.target, s.ID)
				continue
			}
			s.NetworkACL = p.target
			continue
		}
		if tables[p.target] == nil {
			b.errorf(p.src, "route table %s (associated with %s) is not in the input; valid: a route table the input defines", p.target, s.ID)
			continue
		}
		s.RouteTable = p.target // an explicit association with the main table is kept (RT-3)
	}
	b.attachENIs()
	b.attachEIPs()
	b.endpointPrefixLists()
	b.allocateAddresses()
}

// attachENIs places standalone ENIs on their instances.
func (b *builder) attachENIs() {
	t := b.t
	for _, p := range b.pendingENIs {
		inst, idx := p.instance, p.index
		if inst == "" {
			a, ok := b.eniAttachments[p.eni.ID]
			if !ok {
				b.notModeled(p.src, "network interface %s is attached to no instance (a load balancer's, a Lambda function's, an interface endpoint's?); vpcemu models instances' ENIs", p.eni.ID)
				continue
			}
			inst, idx = a.instance, a.index
		}
		in := t.Instance(inst)
		if in == nil {
			b.errorf(p.src, "network interface %s is attached to instance %s, which is not in the input; valid: an instance the input defines", p.eni.ID, inst)
			continue
		}
		e := p.eni
		e.DeviceIndex = idx
		b.setSource(e.ID, p.src)
		if idx == 0 {
			in.ENI = e
			continue
		}
		in.Secondary = append(in.Secondary, e)
		slices.SortStableFunc(in.Secondary, func(a, b vpc.ENI) int { return a.DeviceIndex - b.DeviceIndex })
	}
}

// endpointPrefixLists gives every gateway endpoint's service the
// AWS-managed prefix list vpcemu emulates it in.
func (b *builder) endpointPrefixLists() {
	t := b.t
	for i, e := range b.endpointPLs {
		if t.PrefixListByName(e.service) != nil {
			continue
		}
		if pl := t.PrefixList(e.id); pl != nil && e.id != "" {
			pl.Name = e.service
			continue
		}
		id := e.id
		if id == "" {
			id = b.placeholder("pl", e.service)
		}
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i), 0}), 24)
		t.PrefixLists = append(t.PrefixLists, vpc.PrefixList{ID: id, Name: e.service, AWSManaged: true, MaxEntries: 1, CIDRs: []netip.Prefix{cidr}})
		b.warnf(e.src, "the input does not hold the prefix list of %s: vpcemu emulates the service in %s (%s)", e.service, cidr, id)
	}
}

// allocateAddresses gives ENIs whose private address the input does not
// know (a plan before apply, a template without PrivateIpAddress) the
// lowest free address of their subnet.
func (b *builder) allocateAddresses() {
	t := b.t
	used := map[netip.Addr]bool{}
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			used[e.PrivateIP] = true
			for _, a := range e.SecondaryIPs {
				used[a] = true
			}
		}
	}
	for _, g := range t.NATGateways {
		used[g.PrivateIP] = true
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			if e.PrivateIP.IsValid() {
				continue
			}
			s := t.Subnet(e.Subnet)
			if s == nil || !s.CIDR.IsValid() {
				continue // Parse reports the subnet
			}
			a := s.CIDR.Masked().Addr().Next().Next().Next().Next()
			for ; s.CIDR.Contains(a) && used[a]; a = a.Next() {
			}
			if !s.CIDR.Contains(a) {
				continue
			}
			used[a] = true
			e.PrivateIP = a
			b.warnf(b.src[in.ID], "%s: the private address is not in the input; vpcemu gave it %s, the lowest free address of %s", in.ID, a, s.ID)
		}
	}
}

func dirName(egress bool) string {
	if egress {
		return "egress"
	}
	return "ingress"
}

// attachEIPs resolves Elastic IP associations given by resources of their own.
func (b *builder) attachEIPs() {
	t := b.t
	for _, p := range b.eipAssocs {
		e := t.ElasticIP(p.eip)
		if e == nil {
			b.errorf(p.src, "Elastic IP %s is not in the input; valid: an allocation id the input defines", p.eip)
			continue
		}
		eni := p.eni
		if p.instance != "" {
			in := t.Instance(p.instance)
			if in == nil {
				b.errorf(p.src, "instance %s (associated with Elastic IP %s) is not in the input; valid: an instance the input defines", p.instance, p.eip)
				continue
			}
			eni = in.ENI.ID
			if eni == "" {
				eni = vpc.ENIID(t.Name, in.ID)
			}
		}
		e.ENI, e.PrivateIP = eni, p.private
	}
}

// targetSet is every id a route may target.
func (b *builder) targetSet() map[string]bool {
	t := b.t
	set := map[string]bool{}
	for _, g := range t.InternetGateways {
		set[g.ID] = true
	}
	for _, g := range t.EgressOnlyGateways {
		set[g.ID] = true
	}
	for _, g := range t.NATGateways {
		set[g.ID] = true
	}
	for _, p := range t.Peerings {
		set[p.ID] = true
	}
	for _, e := range t.Endpoints {
		set[e.ID] = true
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		set[in.ID] = true
		for _, e := range in.ENIs() {
			set[e.ID] = true
		}
	}
	return set
}

// modelDefaults fills the fields AWS has no counterpart of with vpcemu's defaults.
func (b *builder) modelDefaults() {
	t := b.t
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.Conntrack == (vpc.Conntrack{}) {
			in.Conntrack = vpc.DefaultConntrack
		}
		if in.OS == "" {
			in.OS = "amazon-linux"
		}
	}
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		if g.PortPolicy == "" {
			g.PortPolicy = "random"
		}
		if g.ENI == "" {
			g.ENI = vpc.ENIID(t.Name, g.ID) // what Parse gives a NAT gateway that names none
		}
	}
	for i := range t.Peerings {
		if t.Peerings[i].State == "" {
			t.Peerings[i].State = "active"
		}
	}
}

// dropTags removes the tags AWS sets itself (aws:cloudformation:…): AWS
// reserves the aws: prefix and vpcemu refuses it in files.
func (b *builder) dropTags() {
	dropped := 0
	clean := func(tags vpc.Tags) vpc.Tags {
		for k := range tags {
			if strings.HasPrefix(strings.ToLower(k), "aws:") {
				delete(tags, k)
				dropped++
			}
		}
		if len(tags) == 0 {
			return nil
		}
		return tags
	}
	t := b.t
	for i := range t.VPCs {
		t.VPCs[i].Tags = clean(t.VPCs[i].Tags)
	}
	for i := range t.Subnets {
		t.Subnets[i].Tags = clean(t.Subnets[i].Tags)
	}
	for i := range t.SecurityGroups {
		t.SecurityGroups[i].Tags = clean(t.SecurityGroups[i].Tags)
	}
	for i := range t.NetworkACLs {
		t.NetworkACLs[i].Tags = clean(t.NetworkACLs[i].Tags)
	}
	for i := range t.RouteTables {
		t.RouteTables[i].Tags = clean(t.RouteTables[i].Tags)
	}
	for i := range t.PrefixLists {
		t.PrefixLists[i].Tags = clean(t.PrefixLists[i].Tags)
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		in.Tags = clean(in.Tags)
		for _, e := range in.ENIs() {
			e.Tags = clean(e.Tags)
		}
	}
	for i := range t.InternetGateways {
		t.InternetGateways[i].Tags = clean(t.InternetGateways[i].Tags)
	}
	for i := range t.EgressOnlyGateways {
		t.EgressOnlyGateways[i].Tags = clean(t.EgressOnlyGateways[i].Tags)
	}
	for i := range t.NATGateways {
		t.NATGateways[i].Tags = clean(t.NATGateways[i].Tags)
	}
	for i := range t.ElasticIPs {
		t.ElasticIPs[i].Tags = clean(t.ElasticIPs[i].Tags)
	}
	for i := range t.Peerings {
		t.Peerings[i].Tags = clean(t.Peerings[i].Tags)
	}
	for i := range t.Endpoints {
		t.Endpoints[i].Tags = clean(t.Endpoints[i].Tags)
	}
	for i := range t.FlowLogs {
		t.FlowLogs[i].Tags = clean(t.FlowLogs[i].Tags)
	}
	if dropped > 0 {
		b.notef("left out %d tags with AWS's reserved aws: prefix (set by AWS itself, e.g. aws:cloudformation:stack-name)", dropped)
	}
}

// normalize orders what the model keeps ordered: NACL rules by number,
// routes in SortRoutes order, and keys the NACL rules' sources by index.
func (b *builder) normalize() {
	t := b.t
	for i := range t.NetworkACLs {
		a := &t.NetworkACLs[i]
		for _, dir := range []string{"ingress", "egress"} {
			list := &a.Ingress
			if dir == "egress" {
				list = &a.Egress
			}
			sort.SliceStable(*list, func(x, y int) bool { return (*list)[x].Number < (*list)[y].Number })
			for j, r := range *list {
				k := ruleSlot{a.ID, dir + "#" + strconv.Itoa(r.Number), 0}
				if s, ok := b.ruleSrc[k]; ok {
					b.ruleSrc[ruleSlot{a.ID, dir, j}] = s
					delete(b.ruleSrc, k)
				}
			}
		}
	}
	for i := range t.RouteTables {
		vpc.SortRoutes(t.RouteTables[i].Routes)
	}
}

// fitLimits raises the quotas the import needs beyond AWS's defaults
// (accounts get theirs raised), and says so.
func (b *builder) fitLimits() {
	t := b.t
	l := &t.Limits
	need := func(name string, cur *int, n int) {
		if n > *cur {
			b.notef("limits.%s raised from %d to %d to hold the input (the account's quota must be raised likewise)", name, *cur, n)
			*cur = n
		}
	}
	perFamily := func(n *[2]int, p netip.Prefix) {
		if p.IsValid() && p.Addr().Is6() {
			n[1]++
		} else {
			n[0]++
		}
	}
	maxRules, maxNACL, maxRoutes, maxSGs := 0, 0, 0, 0
	pls := map[string]int{}
	for _, pl := range t.PrefixLists {
		pls[pl.ID] = max(pl.MaxEntries, 1)
		if strings.HasPrefix(pl.Name, "com.amazonaws.") {
			pls[pl.ID] = 1
		}
	}
	for _, g := range t.SecurityGroups {
		for _, rules := range [][]vpc.SGRule{g.Ingress, g.Egress} {
			var n [2]int
			for _, r := range rules {
				if r.PrefixList != "" {
					n[0] += pls[r.PrefixList]
					continue
				}
				perFamily(&n, r.CIDR)
			}
			maxRules = max(maxRules, n[0], n[1])
		}
	}
	for _, a := range t.NetworkACLs {
		for _, rules := range [][]vpc.NACLRule{a.Ingress, a.Egress} {
			var n [2]int
			for _, r := range rules {
				perFamily(&n, r.CIDR)
			}
			maxNACL = max(maxNACL, n[0], n[1])
		}
	}
	for _, rt := range t.RouteTables {
		var n [2]int
		for _, r := range rt.Routes {
			if r.Target.Kind != vpc.TargetLocal {
				perFamily(&n, r.Dest)
			}
		}
		maxRoutes = max(maxRoutes, n[0], n[1])
	}
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			maxSGs = max(maxSGs, len(e.SecurityGroups))
		}
	}
	need("rules_per_security_group", &l.RulesPerSecurityGroup, maxRules)
	need("nacl_rules_per_direction", &l.NACLRulesPerDirection, maxNACL)
	need("routes_per_table", &l.RoutesPerTable, maxRoutes)
	need("security_groups_per_eni", &l.SecurityGroupsPerENI, maxSGs)
	need("elastic_ips", &l.ElasticIPs, len(t.ElasticIPs))
	perAZ := map[string]int{}
	for _, g := range t.NATGateways {
		for _, s := range t.Subnets {
			if s.ID == g.Subnet {
				perAZ[s.AZ]++
			}
		}
	}
	n := 0
	for _, c := range perAZ {
		n = max(n, c)
	}
	need("nat_gateways_per_az", &l.NATGatewaysPerAZ, n)
}

var rePath = regexp.MustCompile(`^([a-z_]+)(?:\[(\d+)\])?(?:\.(ingress|egress|routes|network_interfaces)\[(\d+)\])?`)

// translate maps the errors vpc.Parse found in the generated file back to
// the inputs: each names the object's source and the field.
func (b *builder) translate(raw []byte, err error) error {
	var list vpc.ErrorList
	if !errors.As(err, &list) {
		return fmt.Errorf("import: %w", err)
	}
	var doc yaml.Node
	if yerr := yaml.Unmarshal(raw, &doc); yerr != nil || len(doc.Content) == 0 {
		return fmt.Errorf("import: the generated topology does not read back (a bug): %w", err)
	}
	root := doc.Content[0]
	var out ErrorList
	for _, e := range list {
		src, field := b.sourceOf(root, e.Field)
		msg := e.Msg
		if field != "" {
			msg = field + ": " + msg
		}
		if e.Code != "" {
			msg += " (" + e.Code + ")"
		}
		out = append(out, &Error{Source: src, Msg: msg})
	}
	return out
}

// sourceOf finds the source of the object at a Parse error's field path
// and the path's rest, within the object.
func (b *builder) sourceOf(root *yaml.Node, path string) (Source, string) {
	m := rePath.FindStringSubmatch(path)
	if m == nil {
		return Source{}, path
	}
	list := mapGet(root, m[1])
	obj := list
	if m[2] != "" {
		i, _ := strconv.Atoi(m[2])
		if list == nil || list.Kind != yaml.SequenceNode || i >= len(list.Content) {
			return Source{}, path
		}
		obj = list.Content[i]
	}
	if obj == nil {
		return Source{}, path
	}
	id := mapValue(obj, "id")
	if m[1] == "internet" {
		id = mapValue(obj, "name")
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(path, m[0]), ".")
	src, ok := b.src[id]
	if m[3] != "" {
		j, _ := strconv.Atoi(m[4])
		if s, found := b.ruleSrc[ruleSlot{id, m[3], j}]; found {
			src, ok = s, true
		}
		if m[3] == "routes" {
			if r := mapGet(obj, "routes"); r != nil && j < len(r.Content) {
				dest := mapValue(r.Content[j], "destination")
				if dest == "" {
					dest = mapValue(r.Content[j], "destination_prefix_list")
				}
				if s, found := b.ruleSrc[ruleSlot{id, "routes/" + dest, 0}]; found {
					src, ok = s, true
				}
			}
		}
		rest = strings.TrimPrefix(strings.TrimPrefix(path, m[1]+"["+m[2]+"]"), ".")
	}
	if !ok {
		src = Source{Path: id}
	}
	if id != "" && !strings.Contains(src.Path, id) {
		rest = id + ": " + rest
		rest = strings.TrimSuffix(rest, ": ")
	}
	return src, rest
}

func mapGet(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapValue(m *yaml.Node, key string) string {
	if n := mapGet(m, key); n != nil {
		return n.Value
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
