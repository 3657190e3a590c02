package importer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// AWS describe JSON (IMP-3..5): the output of `aws ec2 describe-*`, read
// into awsshape's structs, the shapes the EC2 API answers with.

// awsTopKeys are the top-level keys of the describe calls' output.
var awsTopKeys = []string{"Vpcs", "Subnets", "SecurityGroups", "SecurityGroupRules", "NetworkAcls", "RouteTables", "InternetGateways",
	"EgressOnlyInternetGateways", "NatGateways", "NetworkInterfaces", "Reservations", "Addresses", "PrefixLists", "Entries", "FlowLogs",
	"VpcPeeringConnections", "VpcEndpoints"}

// awsDoc is one describe JSON file; a file may hold several keys (IMP-3).
type awsDoc struct {
	Vpcs                       []awsshape.Vpc                       `json:"Vpcs"`
	Subnets                    []awsshape.Subnet                    `json:"Subnets"`
	SecurityGroups             []awsshape.SecurityGroup             `json:"SecurityGroups"`
	SecurityGroupRules         []awsshape.SecurityGroupRule         `json:"SecurityGroupRules"`
	NetworkAcls                []awsshape.NetworkAcl                `json:"NetworkAcls"`
	RouteTables                []awsshape.RouteTable                `json:"RouteTables"`
	InternetGateways           []awsshape.InternetGateway           `json:"InternetGateways"`
	EgressOnlyInternetGateways []awsshape.EgressOnlyInternetGateway `json:"EgressOnlyInternetGateways"`
	NatGateways                []awsshape.NatGateway                `json:"NatGateways"`
	NetworkInterfaces          []awsshape.NetworkInterface          `json:"NetworkInterfaces"`
	Reservations               []awsshape.Reservation               `json:"Reservations"`
	Addresses                  []awsshape.Address                   `json:"Addresses"`
	// PrefixLists holds describe-managed-prefix-lists' ManagedPrefixList
	// or describe-prefix-lists' PrefixList (with Cidrs): each is read as both.
	PrefixLists           []json.RawMessage               `json:"PrefixLists"`
	PrefixListID          string                          `json:"PrefixListId"` // the wrapper of get-managed-prefix-list-entries [INTERP]
	Entries               []awsshape.PrefixListEntry      `json:"Entries"`
	FlowLogs              []awsshape.FlowLog              `json:"FlowLogs"`
	VpcPeeringConnections []awsshape.VpcPeeringConnection `json:"VpcPeeringConnections"`
	VpcEndpoints          []awsshape.VpcEndpoint          `json:"VpcEndpoints"`
	file                  File
	other                 []string // lists of describe calls vpcemu does not read
}

var rePrefixListInName = regexp.MustCompile(`pl-[0-9a-zA-Z]+`)

// awsImport gathers the documents of one region, then builds the model.
type awsImport struct {
	b    *builder
	docs []*awsDoc
	// what the documents say about objects defined elsewhere in them
	sgByID   map[string]bool
	eniTags  map[string]awsshape.NetworkInterface
	natENIs  map[string]bool
	eipOfIP  map[string]bool // public IPs that are Elastic IPs
	plNames  map[string]string
	endpoint map[string]bool
}

// awsDocFields are awsDoc's fields by JSON key.
var awsDocFields = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[awsDoc]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" {
			m[name] = i
		}
	}
	return m
}()

// decodeAWS reads one file in one pass: each top-level key into its field
// of awsDoc; lists of other describe calls (VpnGateways, TransitGateways,
// …) are noted to be reported, other keys (NextToken, ResponseMetadata)
// ignored (IMP-2).
func decodeAWS(f File) (*awsDoc, *Error) {
	doc := &awsDoc{file: f}
	dec := json.NewDecoder(bytes.NewReader(f.Data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		if err != nil {
			return nil, jsonError(f, err, "")
		}
		return nil, &Error{Source: Source{File: f.Name}, Line: 1, Msg: "not a JSON object; valid: an object with describe keys such as Vpcs"}
	}
	v := reflect.ValueOf(doc).Elem()
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(f, err, "")
		}
		key, _ := tok.(string)
		i, known := awsDocFields[key]
		if !known {
			for k, j := range awsDocFields {
				if strings.EqualFold(k, key) { // as encoding/json matches fields
					i, known = j, true
				}
			}
		}
		if known {
			if err := dec.Decode(v.Field(i).Addr().Interface()); err != nil {
				return nil, jsonError(f, err, key)
			}
			continue
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(f, err, key)
		}
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) == nil && len(l) > 0 {
			doc.other = append(doc.other, fmt.Sprintf("%s (%d)", key, len(l)))
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError(f, err, "")
	}
	if _, err := dec.Token(); err != io.EOF {
		off := dec.InputOffset()
		return nil, &Error{Source: Source{File: f.Name}, Line: lineOf(f.Data, off), Msg: "more than one JSON value in the file; valid: one object with describe keys such as Vpcs"}
	}
	sort.Strings(doc.other)
	return doc, nil
}

func importAWS(b *builder, files []File) {
	var docs []*awsDoc
	regions := map[string][]string{}
	for _, f := range files {
		d, err := decodeAWS(f)
		if err != nil {
			b.errs = append(b.errs, err)
			continue
		}
		docs = append(docs, d)
		regions[f.Region] = append(regions[f.Region], f.Name)
	}
	if len(b.errs) > 0 {
		return
	}
	docs = b.pickRegion(docs, regions)
	if docs == nil {
		return
	}
	x := &awsImport{b: b, docs: docs, sgByID: map[string]bool{}, eniTags: map[string]awsshape.NetworkInterface{},
		natENIs: map[string]bool{}, eipOfIP: map[string]bool{}, plNames: map[string]string{}, endpoint: map[string]bool{}}
	for _, d := range docs {
		for _, o := range d.other {
			b.notModeled(Source{File: d.file.Name}, "%s: vpcemu does not emulate these", o)
		}
	}
	x.index()
	x.vpcs()
	x.subnets()
	x.prefixLists()
	x.securityGroups()
	x.networkACLs()
	x.gateways()
	x.peerings()
	x.endpoints()
	x.routeTables()
	x.natGateways()
	x.instances()
	x.orphanENIs()
	x.addresses()
	x.flowLogs()
	x.publicSugar()
}

// pickRegion keeps the documents of one region: --region, else the only
// one; top-level files of a snapshot go to the default region (IMP-5
// [INTERP]).
func (b *builder) pickRegion(docs []*awsDoc, regions map[string][]string) []*awsDoc {
	var named []string
	for r := range regions {
		if r != "" {
			named = append(named, r)
		}
	}
	sort.Strings(named)
	want := b.o.Region
	switch {
	case want != "":
	case len(named) == 1:
		want = named[0]
	case len(named) > 1:
		b.errorf(Source{}, "the snapshot holds several regions (%s); vpcemu runs one region per topology; valid: --region with one of them", strings.Join(named, ", "))
		return nil
	}
	if want != "" {
		b.t.Region, b.regionSet = want, true
	}
	var out []*awsDoc
	for _, d := range docs {
		if d.file.Region == "" || d.file.Region == want {
			out = append(out, d)
			if d.file.Account != "" {
				b.setAccount(d.file.Account)
			}
		}
	}
	if len(named) > 1 {
		b.notef("imported region %s of the snapshot's %s", want, strings.Join(named, ", "))
	}
	return out
}

func (x *awsImport) src(d *awsDoc, path string, i int) Source {
	return Source{File: d.file.Name, Path: fmt.Sprintf("$.%s[%d]", path, i)}
}

// index collects what later steps look up across documents.
func (x *awsImport) index() {
	for _, d := range x.docs {
		for _, g := range d.SecurityGroups {
			x.sgByID[g.GroupID] = true
		}
		for _, e := range d.NetworkInterfaces {
			x.eniTags[e.NetworkInterfaceID] = e
			if e.InterfaceType == "nat_gateway" {
				x.natENIs[e.NetworkInterfaceID] = true
			}
		}
		for _, n := range d.NatGateways {
			for _, a := range n.NatGatewayAddresses {
				x.natENIs[a.NetworkInterfaceID] = true
			}
		}
		for _, a := range d.Addresses {
			x.eipOfIP[a.PublicIP] = true
		}
		for _, raw := range d.PrefixLists {
			var p awsshape.PrefixList
			if json.Unmarshal(raw, &p) == nil && p.PrefixListName != "" {
				x.plNames[p.PrefixListID] = p.PrefixListName
			}
		}
		for _, e := range d.VpcEndpoints {
			x.endpoint[e.VpcEndpointID] = true
		}
	}
}

func tagsOf(l awsshape.List[awsshape.Tag]) vpc.Tags {
	if len(l) == 0 {
		return nil
	}
	t := vpc.Tags{}
	for _, tag := range l {
		t[tag.Key] = tag.Value
	}
	return t
}

// seen drops a second definition of an object the documents repeat.
func (x *awsImport) seen(id string) bool {
	_, ok := x.b.src[id]
	return ok
}

func (x *awsImport) vpcs() {
	for _, d := range x.docs {
		for i, v := range d.Vpcs {
			src := x.src(d, "Vpcs", i)
			if v.VpcID == "" || x.seen(v.VpcID) {
				if v.VpcID == "" {
					x.b.errorf(src, "VpcId is missing")
				}
				continue
			}
			x.b.setAccount(v.OwnerID)
			m := vpc.VPC{ID: v.VpcID, Tags: tagsOf(v.Tags)}
			var ok bool
			if m.CIDR, ok = x.b.prefix(src, "CidrBlock", v.CidrBlock, 4); !ok {
				continue
			}
			for _, a := range v.CidrBlockAssociationSet {
				if a.CidrBlock == v.CidrBlock || (a.CidrBlockState != nil && a.CidrBlockState.State != "associated") {
					continue
				}
				if p, ok := x.b.prefix(src, "CidrBlockAssociationSet CidrBlock", a.CidrBlock, 4); ok {
					m.SecondaryCIDRs = append(m.SecondaryCIDRs, p)
				}
			}
			for _, a := range v.Ipv6CidrBlockAssociationSet {
				if a.Ipv6CidrBlockState == nil || a.Ipv6CidrBlockState.State == "associated" {
					m.IPv6CIDR, _ = x.b.prefix(src, "Ipv6CidrBlock", a.Ipv6CidrBlock, 6)
					break
				}
			}
			x.b.addVPC(m, src)
		}
	}
}

func (x *awsImport) subnets() {
	for _, d := range x.docs {
		for i, s := range d.Subnets {
			src := x.src(d, "Subnets", i)
			if s.SubnetID == "" || x.seen(s.SubnetID) {
				if s.SubnetID == "" {
					x.b.errorf(src, "SubnetId is missing")
				}
				continue
			}
			m := vpc.Subnet{ID: s.SubnetID, VPC: s.VpcID, AZ: s.AvailabilityZone, Tags: tagsOf(s.Tags)}
			var ok bool
			if m.CIDR, ok = x.b.prefix(src, "CidrBlock", s.CidrBlock, 4); !ok {
				continue
			}
			for _, a := range s.Ipv6CidrBlockAssociationSet {
				if a.Ipv6CidrBlockState == nil || a.Ipv6CidrBlockState.State == "associated" {
					m.IPv6CIDR, _ = x.b.prefix(src, "Ipv6CidrBlock", a.Ipv6CidrBlock, 6)
					break
				}
			}
			if s.MapPublicIPOnLaunch != nil {
				m.MapPublicIPOnLaunch = *s.MapPublicIPOnLaunch
			}
			x.b.addSubnet(m, src)
		}
	}
}

func (x *awsImport) prefixLists() {
	lists := map[string]*vpc.PrefixList{}
	var order []string
	get := func(id string, src Source) *vpc.PrefixList {
		if pl := lists[id]; pl != nil {
			return pl
		}
		lists[id] = &vpc.PrefixList{ID: id}
		order = append(order, id)
		x.b.setSource(id, src)
		return lists[id]
	}
	for _, d := range x.docs {
		for i, raw := range d.PrefixLists {
			src := x.src(d, "PrefixLists", i)
			var m awsshape.ManagedPrefixList
			var p awsshape.PrefixList
			if err := json.Unmarshal(raw, &m); err != nil {
				x.b.errorf(src, "not a prefix list: %v", err)
				continue
			}
			_ = json.Unmarshal(raw, &p)
			if m.PrefixListID == "" {
				x.b.errorf(src, "PrefixListId is missing")
				continue
			}
			pl := get(m.PrefixListID, src)
			x.b.src[m.PrefixListID] = src // the list's own definition, rather than its entries' file
			pl.Name = m.PrefixListName
			pl.AWSManaged = m.OwnerID == "AWS" || strings.HasPrefix(m.PrefixListName, "com.amazonaws.")
			if m.MaxEntries != nil {
				pl.MaxEntries = int(*m.MaxEntries)
			}
			if t := tagsOf(m.Tags); t != nil {
				pl.Tags = t
			}
			for j, c := range p.Cidrs {
				x.addPLCIDR(pl, Source{File: d.file.Name, Path: fmt.Sprintf("$.PrefixLists[%d].Cidrs[%d]", i, j)}, c)
			}
		}
		if len(d.Entries) > 0 {
			id := d.PrefixListID
			if id == "" {
				id = rePrefixListInName.FindString(d.file.Name) // get-managed-prefix-list-entries-pl-….json [INTERP]
			}
			if id == "" {
				x.b.errorf(Source{File: d.file.Name, Path: "$.Entries"}, "cannot tell which prefix list these entries belong to; valid: a wrapper {\"PrefixListId\": \"pl-…\", \"Entries\": […]} or a file name with the list's id")
				continue
			}
			pl := get(id, Source{File: d.file.Name, Path: "$.Entries"})
			for j, e := range d.Entries {
				x.addPLCIDR(pl, Source{File: d.file.Name, Path: fmt.Sprintf("$.Entries[%d]", j)}, e.Cidr)
			}
		}
	}
	for _, id := range order {
		pl := lists[id]
		if pl.MaxEntries == 0 {
			pl.MaxEntries = max(len(pl.CIDRs), 1)
		}
		if pl.AWSManaged && len(pl.CIDRs) == 0 {
			x.b.warnf(x.b.src[id], "AWS-managed prefix list %s (%s) has no entries in the input (describe-prefix-lists has them); it matches nothing", id, pl.Name)
		}
		x.b.t.PrefixLists = append(x.b.t.PrefixLists, *pl)
	}
}

func (x *awsImport) addPLCIDR(pl *vpc.PrefixList, src Source, c string) {
	fam := 4
	if strings.Contains(c, ":") {
		fam = 6
	}
	p, ok := x.b.prefix(src, "Cidr", c, fam)
	if !ok {
		return
	}
	for _, q := range pl.CIDRs {
		if q == p {
			return
		}
	}
	pl.CIDRs = append(pl.CIDRs, p)
}

func int32p(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

func (x *awsImport) securityGroups() {
	// SecurityGroupRules, where the input has them, give each rule its id
	// and the order; IpPermissions are read for groups without them.
	rules := map[string][]awsshape.SecurityGroupRule{}
	ruleSrc := map[string][]Source{}
	for _, d := range x.docs {
		for i, r := range d.SecurityGroupRules {
			rules[r.GroupID] = append(rules[r.GroupID], r)
			ruleSrc[r.GroupID] = append(ruleSrc[r.GroupID], x.src(d, "SecurityGroupRules", i))
		}
	}
	for _, d := range x.docs {
		for i, g := range d.SecurityGroups {
			src := x.src(d, "SecurityGroups", i)
			if g.GroupID == "" || x.seen(g.GroupID) {
				if g.GroupID == "" {
					x.b.errorf(src, "GroupId is missing")
				}
				continue
			}
			if g.VpcID == "" {
				x.b.notModeled(src, "EC2-Classic security group %s (no VpcId)", g.GroupID)
				continue
			}
			x.b.setAccount(g.OwnerID)
			x.b.addSG(vpc.SecurityGroup{ID: g.GroupID, VPC: g.VpcID, Name: g.GroupName, Description: g.Description, Tags: tagsOf(g.Tags)}, src)
			if g.GroupName == "default" {
				x.setVPCDefault(g.VpcID, func(v *vpc.VPC) { v.DefaultSG = g.GroupID })
			}
			if rs := rules[g.GroupID]; len(rs) > 0 {
				for j, r := range rs {
					x.sgRuleFromRule(g.GroupID, r, ruleSrc[g.GroupID][j])
				}
				continue
			}
			for _, dir := range []string{"IpPermissions", "IpPermissionsEgress"} {
				perms := g.IpPermissions
				if dir == "IpPermissionsEgress" {
					perms = g.IpPermissionsEgress
				}
				for j, p := range perms {
					psrc := Source{File: d.file.Name, Path: fmt.Sprintf("$.SecurityGroups[%d].%s[%d]", i, dir, j)}
					x.permission(g.GroupID, g.VpcID, dir == "IpPermissionsEgress", p, psrc)
				}
			}
		}
	}
}

// permission adds the rules of one IpPermission: one per peer (IMP-4).
func (x *awsImport) permission(group, vpcID string, egress bool, p awsshape.IpPermission, src Source) {
	add := func(pr peer, desc string) {
		if r, ok := x.b.sgRule(src, p.IpProtocol, int32p(p.FromPort), int32p(p.ToPort), pr, desc); ok {
			x.b.addSGRule(group, egress, r, src)
		}
	}
	for _, r := range p.IpRanges {
		add(peer{cidr: r.CidrIp}, r.Description)
	}
	for _, r := range p.Ipv6Ranges {
		add(peer{cidr6: r.CidrIpv6}, r.Description)
	}
	for _, r := range p.PrefixListIDs {
		add(peer{prefixList: r.PrefixListID}, r.Description)
	}
	for _, r := range p.UserIDGroupPairs {
		if ok := x.groupPeer(r.GroupID, r.UserID, r.VpcID, src); ok {
			add(peer{group: r.GroupID}, r.Description)
		}
	}
}

// groupPeer reports whether a group peer can be modeled: a group of
// another account, or missing from the input, cannot.
func (x *awsImport) groupPeer(id, owner, peerVPC string, src Source) bool {
	switch {
	case id == "":
		x.b.notModeled(src, "a rule naming its peer group by name only (EC2-Classic); the rule is left out")
		return false
	case !x.sgByID[id] && owner != "" && owner != x.b.t.Account:
		x.b.notModeled(src, "a rule whose peer %s belongs to account %s; the rule is left out", id, owner)
		return false
	case !x.sgByID[id] && len(x.b.o.VPCs) > 0:
		return true // attach says it is not imported
	}
	return true
}

func (x *awsImport) sgRuleFromRule(group string, r awsshape.SecurityGroupRule, src Source) {
	pr := peer{cidr: r.CidrIpv4, cidr6: r.CidrIpv6, prefixList: r.PrefixListID}
	if g := r.ReferencedGroupInfo; g != nil {
		if !x.groupPeer(g.GroupID, g.UserID, g.VpcID, src) {
			return
		}
		pr.group = g.GroupID
	}
	from, to := int32p(r.FromPort), int32p(r.ToPort)
	rule, ok := x.b.sgRule(src, r.IpProtocol, from, to, pr, r.Description)
	if !ok {
		return
	}
	rule.ID = r.SecurityGroupRuleID
	x.b.addSGRule(group, r.IsEgress != nil && *r.IsEgress, rule, src)
}

func (x *awsImport) setVPCDefault(vpcID string, set func(*vpc.VPC)) {
	for i := range x.b.t.VPCs {
		if x.b.t.VPCs[i].ID == vpcID {
			set(&x.b.t.VPCs[i])
		}
	}
}

func (x *awsImport) networkACLs() {
	for _, d := range x.docs {
		for i, a := range d.NetworkAcls {
			src := x.src(d, "NetworkAcls", i)
			if a.NetworkAclID == "" || x.seen(a.NetworkAclID) {
				if a.NetworkAclID == "" {
					x.b.errorf(src, "NetworkAclId is missing")
				}
				continue
			}
			x.b.addNACL(vpc.NetworkACL{ID: a.NetworkAclID, VPC: a.VpcID, Tags: tagsOf(a.Tags)}, src)
			if a.IsDefault != nil && *a.IsDefault {
				x.setVPCDefault(a.VpcID, func(v *vpc.VPC) { v.DefaultNACL = a.NetworkAclID })
			}
			for j, e := range a.Entries {
				esrc := Source{File: d.file.Name, Path: fmt.Sprintf("$.NetworkAcls[%d].Entries[%d]", i, j)}
				if e.RuleNumber == nil {
					x.b.errorf(esrc, "RuleNumber is missing")
					continue
				}
				cidr := e.CidrBlock
				if cidr == "" {
					cidr = e.Ipv6CidrBlock
				}
				var from, to, it, ic *int
				if e.PortRange != nil {
					from, to = int32p(e.PortRange.From), int32p(e.PortRange.To)
				}
				if e.IcmpTypeCode != nil {
					it, ic = int32p(e.IcmpTypeCode.Type), int32p(e.IcmpTypeCode.Code)
				}
				action := strings.ToLower(e.RuleAction)
				if action != "allow" && action != "deny" {
					x.b.errorf(esrc, "RuleAction %q is not valid; valid: allow or deny", e.RuleAction)
					continue
				}
				if r, ok := x.b.naclRule(esrc, int(*e.RuleNumber), e.Protocol, action == "allow", cidr, from, to, it, ic); ok {
					x.b.addNACLRule(a.NetworkAclID, e.Egress != nil && *e.Egress, r, esrc)
				}
			}
			for _, as := range a.Associations {
				x.b.associate(as.SubnetID, a.NetworkAclID, true, src)
			}
		}
	}
}

func (x *awsImport) gateways() {
	for _, d := range x.docs {
		for i, g := range d.InternetGateways {
			src := x.src(d, "InternetGateways", i)
			if x.seen(g.InternetGatewayID) {
				continue
			}
			m := vpc.InternetGateway{ID: g.InternetGatewayID, Tags: tagsOf(g.Tags)}
			for _, a := range g.Attachments {
				if a.State == "available" || a.State == "attached" || a.State == "" {
					m.VPC = a.VpcID
				}
			}
			x.b.t.InternetGateways = append(x.b.t.InternetGateways, m)
			x.b.setSource(m.ID, src)
		}
		for i, g := range d.EgressOnlyInternetGateways {
			src := x.src(d, "EgressOnlyInternetGateways", i)
			if x.seen(g.EgressOnlyInternetGatewayID) {
				continue
			}
			m := vpc.EgressOnlyGateway{ID: g.EgressOnlyInternetGatewayID, Tags: tagsOf(g.Tags)}
			for _, a := range g.Attachments {
				m.VPC = a.VpcID
			}
			x.b.t.EgressOnlyGateways = append(x.b.t.EgressOnlyGateways, m)
			x.b.setSource(m.ID, src)
		}
	}
}

func (x *awsImport) peerings() {
	for _, d := range x.docs {
		for i, p := range d.VpcPeeringConnections {
			src := x.src(d, "VpcPeeringConnections", i)
			if x.seen(p.VpcPeeringConnectionID) || p.RequesterVpcInfo == nil || p.AccepterVpcInfo == nil {
				continue
			}
			m := vpc.Peering{ID: p.VpcPeeringConnectionID, Requester: p.RequesterVpcInfo.VpcID, Accepter: p.AccepterVpcInfo.VpcID, Tags: tagsOf(p.Tags)}
			if p.Status != nil {
				m.State = p.Status.Code
			}
			for _, side := range []*awsshape.VpcPeeringConnectionVpcInfo{p.RequesterVpcInfo, p.AccepterVpcInfo} {
				if side.Region != "" && side.Region != x.b.t.Region && x.b.regionSet {
					x.b.notModeled(src, "peering %s with %s in region %s; vpcemu runs one region", m.ID, side.VpcID, side.Region)
					m.ID = ""
					break
				}
			}
			if m.ID == "" {
				continue
			}
			if !x.hasVPC(m.Requester) || !x.hasVPC(m.Accepter) {
				if len(x.b.o.VPCs) == 0 {
					x.b.notModeled(src, "peering %s with a VPC not in the input (another account's?)", m.ID)
					continue
				}
			}
			x.b.addPeering(m, src)
		}
	}
}

func (x *awsImport) hasVPC(id string) bool {
	for _, v := range x.b.t.VPCs {
		if v.ID == id {
			return true
		}
	}
	return false
}

func (x *awsImport) endpoints() {
	for _, d := range x.docs {
		for i, e := range d.VpcEndpoints {
			src := x.src(d, "VpcEndpoints", i)
			if x.seen(e.VpcEndpointID) {
				continue
			}
			if e.VpcEndpointType != "" && e.VpcEndpointType != "Gateway" {
				x.b.notModeled(src, "%s endpoint %s to %s (only gateway endpoints for S3 and DynamoDB are emulated)", e.VpcEndpointType, e.VpcEndpointID, e.ServiceName)
				continue
			}
			x.b.addEndpoint(vpc.Endpoint{ID: e.VpcEndpointID, VPC: e.VpcID, Service: e.ServiceName, RouteTables: append([]string(nil), e.RouteTableIDs...), Tags: tagsOf(e.Tags)}, "", src)
		}
	}
}

func (x *awsImport) routeTables() {
	for _, d := range x.docs {
		for i, rt := range d.RouteTables {
			src := x.src(d, "RouteTables", i)
			if rt.RouteTableID == "" || x.seen(rt.RouteTableID) {
				if rt.RouteTableID == "" {
					x.b.errorf(src, "RouteTableId is missing")
				}
				continue
			}
			m := vpc.RouteTable{ID: rt.RouteTableID, VPC: rt.VpcID, Tags: tagsOf(rt.Tags)}
			for _, a := range rt.Associations {
				if a.Main != nil && *a.Main {
					m.Main = true
					x.setVPCDefault(rt.VpcID, func(v *vpc.VPC) { v.MainTable = rt.RouteTableID })
				}
			}
			x.b.addRouteTable(m, src)
			for j, r := range rt.Routes {
				rsrc := Source{File: d.file.Name, Path: fmt.Sprintf("$.RouteTables[%d].Routes[%d]", i, j)}
				x.route(rt, r, rsrc)
			}
			for _, a := range rt.Associations {
				switch {
				case a.SubnetID != "":
					x.b.associate(a.SubnetID, rt.RouteTableID, false, src)
				case a.GatewayID != "":
					x.b.notModeled(src, "edge association of %s with gateway %s (ingress routing)", rt.RouteTableID, a.GatewayID)
				}
			}
		}
	}
}

func (x *awsImport) route(rt awsshape.RouteTable, r awsshape.Route, src Source) {
	targets := map[string]string{
		"GatewayId": r.GatewayID, "EgressOnlyInternetGatewayId": r.EgressOnlyInternetGatewayID, "NatGatewayId": r.NatGatewayID,
		"VpcPeeringConnectionId": r.VpcPeeringConnectionID, "TransitGatewayId": r.TransitGatewayID,
	}
	// An instance's route names both the instance and its ENI: the ENI is the target.
	if r.NetworkInterfaceID != "" {
		targets["NetworkInterfaceId"] = r.NetworkInterfaceID
	} else if r.InstanceID != "" {
		targets["InstanceId"] = r.InstanceID
	}
	if strings.HasPrefix(r.GatewayID, "vpce-") && !x.endpoint[r.GatewayID] {
		// No describe-vpc-endpoints: the route says there is a gateway endpoint.
		name := x.plNames[r.DestinationPrefixListID]
		for _, pl := range x.b.t.PrefixLists {
			if pl.ID == r.DestinationPrefixListID && pl.Name != "" {
				name = pl.Name
			}
		}
		if name == "" {
			x.b.notModeled(src, "route to gateway endpoint %s: the input has neither describe-vpc-endpoints nor the name of prefix list %s; the route is left out", r.GatewayID, r.DestinationPrefixListID)
			return
		}
		x.endpoint[r.GatewayID] = true
		x.b.addEndpoint(vpc.Endpoint{ID: r.GatewayID, VPC: rt.VpcID, Service: name}, r.DestinationPrefixListID, src)
	}
	if strings.HasPrefix(r.GatewayID, "vpce-") {
		for i := range x.b.t.Endpoints {
			if e := &x.b.t.Endpoints[i]; e.ID == r.GatewayID && !containsStr(e.RouteTables, rt.RouteTableID) {
				e.RouteTables = append(e.RouteTables, rt.RouteTableID)
			}
		}
		return
	}
	if r.Origin == "EnableVgwRoutePropagation" && r.GatewayID != "" && strings.HasPrefix(r.GatewayID, "vgw-") {
		x.b.notModeled(src, "route to %s propagated from %s (VPN)", routeDestOf(r), r.GatewayID)
		return
	}
	active := r.State != "blackhole"
	before := len(x.b.routes)
	x.b.addRouteFrom(src, rt.RouteTableID, r.DestinationCidrBlock, r.DestinationIpv6CidrBlock, r.DestinationPrefixListID, targets, active)
	if len(x.b.routes) > before && r.Origin == "EnableVgwRoutePropagation" {
		x.b.routes[len(x.b.routes)-1].route.Propagated = true
	}
}

func routeDestOf(r awsshape.Route) string {
	for _, s := range []string{r.DestinationCidrBlock, r.DestinationIpv6CidrBlock, r.DestinationPrefixListID} {
		if s != "" {
			return s
		}
	}
	return "?"
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func (x *awsImport) natGateways() {
	for _, d := range x.docs {
		for i, n := range d.NatGateways {
			src := x.src(d, "NatGateways", i)
			if x.seen(n.NatGatewayID) {
				continue
			}
			switch n.State {
			case "deleted", "deleting", "failed":
				x.b.notef("%s: NAT gateway %s is %s; not imported (its routes are blackholes)", d.file.Name, n.NatGatewayID, n.State)
				continue
			}
			m := vpc.NATGateway{ID: n.NatGatewayID, Subnet: n.SubnetID, Private: n.ConnectivityType == "private", Tags: tagsOf(n.Tags)}
			for j, a := range n.NatGatewayAddresses {
				if a.IsPrimary != nil && !*a.IsPrimary {
					if j > 0 {
						x.b.notModeled(src, "secondary address %s of NAT gateway %s", a.PrivateIP, n.NatGatewayID)
					}
					continue
				}
				m.ENI = a.NetworkInterfaceID
				m.PrivateIP = x.b.addr(src, "PrivateIp", a.PrivateIP)
				if !m.Private {
					m.ElasticIP = a.AllocationID
				}
				if pub := x.b.addr(src, "PublicIp", a.PublicIP); pub.IsValid() {
					x.b.publicUsed[pub] = true
				}
			}
			x.b.t.NATGateways = append(x.b.t.NATGateways, m)
			x.b.setSource(m.ID, src)
		}
	}
}

func (x *awsImport) instances() {
	for _, d := range x.docs {
		for ri, res := range d.Reservations {
			for ii, in := range res.Instances {
				src := Source{File: d.file.Name, Path: fmt.Sprintf("$.Reservations[%d].Instances[%d]", ri, ii)}
				if in.InstanceID == "" || x.seen(in.InstanceID) {
					if in.InstanceID == "" {
						x.b.errorf(src, "InstanceId is missing")
					}
					continue
				}
				if in.State != nil {
					switch in.State.Name {
					case "terminated", "shutting-down":
						x.b.notef("%s: instance %s is %s; not imported", d.file.Name, in.InstanceID, in.State.Name)
						continue
					case "stopped", "stopping":
						x.b.warnf(src, "instance %s is %s; imported as running", in.InstanceID, in.State.Name)
					}
				}
				x.b.setAccount(res.OwnerID)
				x.instance(in, src)
			}
		}
	}
}

func (x *awsImport) instance(in awsshape.Instance, src Source) {
	m := vpc.Instance{ID: in.InstanceID, Tags: tagsOf(in.Tags), OS: osProfile(in.Platform)}
	if len(in.NetworkInterfaces) == 0 {
		// Some outputs carry the instance's own fields only.
		e := vpc.ENI{Subnet: in.SubnetID, PrivateIP: x.b.addr(src, "PrivateIpAddress", in.PrivateIPAddress)}
		for _, g := range in.SecurityGroups {
			e.SecurityGroups = append(e.SecurityGroups, g.GroupID)
		}
		if in.PublicIPAddress != "" && !x.eipOfIP[in.PublicIPAddress] {
			e.PublicIP = x.b.addr(src, "PublicIpAddress", in.PublicIPAddress)
		}
		if in.SourceDestCheck != nil {
			e.SourceDestCheckDisabled = !*in.SourceDestCheck
		}
		m.ENI = e
	}
	for j, ni := range in.NetworkInterfaces {
		nsrc := Source{File: src.File, Path: fmt.Sprintf("%s.NetworkInterfaces[%d]", src.Path, j)}
		e := vpc.ENI{ID: ni.NetworkInterfaceID, Subnet: ni.SubnetID, Description: ni.Description}
		if ni.Attachment != nil && ni.Attachment.DeviceIndex != nil {
			e.DeviceIndex = int(*ni.Attachment.DeviceIndex)
		}
		for _, g := range ni.Groups {
			e.SecurityGroups = append(e.SecurityGroups, g.GroupID)
		}
		if ni.SourceDestCheck != nil {
			e.SourceDestCheckDisabled = !*ni.SourceDestCheck
		}
		primary := ni.PrivateIPAddress
		for _, pa := range ni.PrivateIPAddresses {
			if pa.Primary != nil && *pa.Primary {
				primary = pa.PrivateIPAddress
				if a := pa.Association; a != nil && a.PublicIP != "" && !x.eipOfIP[a.PublicIP] && (a.IPOwnerID == "amazon" || a.IPOwnerID == "") {
					e.PublicIP = x.b.addr(nsrc, "PublicIp", a.PublicIP)
				}
				continue
			}
			e.SecondaryIPs = append(e.SecondaryIPs, x.b.addr(nsrc, "PrivateIpAddress", pa.PrivateIPAddress))
		}
		e.PrivateIP = x.b.addr(nsrc, "PrivateIpAddress", primary)
		if len(ni.PrivateIPAddresses) == 0 && ni.Association != nil && ni.Association.PublicIP != "" && !x.eipOfIP[ni.Association.PublicIP] {
			e.PublicIP = x.b.addr(nsrc, "PublicIp", ni.Association.PublicIP)
		}
		if e.PublicIP.IsValid() {
			x.b.publicUsed[e.PublicIP] = true
		}
		for _, a := range ni.Ipv6Addresses {
			e.IPv6 = x.b.addr(nsrc, "Ipv6Address", a.Ipv6Address)
			break
		}
		if full, ok := x.eniTags[e.ID]; ok {
			e.Tags = tagsOf(full.TagSet)
		}
		if e.DeviceIndex == 0 {
			m.ENI = e
		} else {
			m.Secondary = append(m.Secondary, e)
		}
		delete(x.eniTags, e.ID)
	}
	sort.SliceStable(m.Secondary, func(i, j int) bool { return m.Secondary[i].DeviceIndex < m.Secondary[j].DeviceIndex })
	x.b.t.Instances = append(x.b.t.Instances, m)
	x.b.setSource(m.ID, src)
}

// orphanENIs reports the ENIs no instance or NAT gateway of the input owns.
func (x *awsImport) orphanENIs() {
	for _, d := range x.docs {
		for i, e := range d.NetworkInterfaces {
			if _, left := x.eniTags[e.NetworkInterfaceID]; !left || x.natENIs[e.NetworkInterfaceID] {
				continue
			}
			delete(x.eniTags, e.NetworkInterfaceID)
			src := x.src(d, "NetworkInterfaces", i)
			what := e.InterfaceType
			if what == "" || what == "interface" {
				what = e.Description
			}
			if e.Attachment != nil && e.Attachment.InstanceID != "" {
				x.b.notModeled(src, "network interface %s of instance %s, which the input does not describe (describe-instances)", e.NetworkInterfaceID, e.Attachment.InstanceID)
				continue
			}
			x.b.notModeled(src, "network interface %s (%s) belongs to no instance; vpcemu models instances' ENIs", e.NetworkInterfaceID, what)
		}
	}
}

func (x *awsImport) addresses() {
	for _, d := range x.docs {
		for i, a := range d.Addresses {
			src := x.src(d, "Addresses", i)
			if a.AllocationID == "" {
				x.b.notModeled(src, "EC2-Classic Elastic IP %s (no AllocationId)", a.PublicIP)
				continue
			}
			if x.seen(a.AllocationID) {
				continue
			}
			e := vpc.ElasticIP{ID: a.AllocationID, PublicIP: x.b.addr(src, "PublicIp", a.PublicIP), Tags: tagsOf(a.Tags)}
			x.b.publicUsed[e.PublicIP] = true
			x.b.t.ElasticIPs = append(x.b.t.ElasticIPs, e)
			x.b.setSource(e.ID, src)
			private := x.b.addr(src, "PrivateIpAddress", a.PrivateIPAddress)
			switch {
			case x.natENIs[a.NetworkInterfaceID]:
				// The NAT gateway names its Elastic IP.
			case a.NetworkInterfaceID != "":
				x.b.eipAssocs = append(x.b.eipAssocs, pendingEIPAssoc{eip: e.ID, eni: a.NetworkInterfaceID, private: private, src: src})
			case a.InstanceID != "":
				x.b.eipAssocs = append(x.b.eipAssocs, pendingEIPAssoc{eip: e.ID, instance: a.InstanceID, private: private, src: src})
			}
		}
	}
}

func (x *awsImport) flowLogs() {
	for _, d := range x.docs {
		for i, f := range d.FlowLogs {
			src := x.src(d, "FlowLogs", i)
			if x.seen(f.FlowLogID) {
				continue
			}
			switch {
			case strings.HasPrefix(f.ResourceID, "tgw-"):
				x.b.notModeled(src, "flow log %s on transit gateway %s", f.FlowLogID, f.ResourceID)
				continue
			}
			m := vpc.FlowLog{ID: f.FlowLogID, Resource: f.ResourceID, TrafficType: f.TrafficType, LogFormat: f.LogFormat, Tags: tagsOf(f.Tags)}
			if f.MaxAggregationInterval != nil {
				m.MaxAggregationInterval = int(*f.MaxAggregationInterval)
			}
			if o := f.DestinationOptions; o != nil {
				m.FileFormat = o.FileFormat
				m.HiveCompatible = o.HiveCompatiblePartitions != nil && *o.HiveCompatiblePartitions
				m.PerHourPartition = o.PerHourPartition != nil && *o.PerHourPartition
			}
			if f.LogDestinationType != "" && f.LogDestinationType != "s3" {
				x.b.warnf(src, "flow log %s delivers to %s; vpcemu writes its records as files in the S3 layout", f.FlowLogID, f.LogDestinationType)
			}
			x.b.addFlowLog(m, src)
		}
	}
}

// publicSugar turns a subnet associated with the route table vpcemu's
// `public: true` stands for (rtb-public, of an export of vpcemu's own)
// back into the sugar, so that import(export(T)) is T.
func (x *awsImport) publicSugar() {
	t := x.b.t
	for i := range t.Subnets {
		s := &t.Subnets[i]
		for j := range t.VPCs {
			if t.VPCs[j].ID == s.VPC {
				pub := vpc.DefaultID(vpc.PublicRouteTableID, j, s.VPC)
				for _, a := range x.b.assocs {
					if a.subnet == s.ID && !a.nacl && a.target == pub {
						s.Public = true
					}
				}
			}
		}
	}
	if len(t.Subnets) > 0 {
		var keep []pendingAssoc
		for _, a := range x.b.assocs {
			s := t.Subnet(a.subnet)
			if s != nil && s.Public && !a.nacl {
				continue
			}
			keep = append(keep, a)
		}
		x.b.assocs = keep
	}
}
