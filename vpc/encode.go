package vpc

import (
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// The file schema as Go types, used only to write a Topology back out.
type (
	fileTopology struct {
		Name             string         `yaml:"name"`
		Account          string         `yaml:"account"`
		Region           string         `yaml:"region"`
		Limits           fileLimits     `yaml:"limits"`
		VPC              *fileVPC       `yaml:"vpc,omitempty"`
		VPCs             []fileVPC      `yaml:"vpcs,omitempty"`
		PrefixLists      []filePL       `yaml:"prefix_lists,omitempty"`
		Subnets          []fileSubnet   `yaml:"subnets,omitempty"`
		SecurityGroups   []fileSG       `yaml:"security_groups,omitempty"`
		NetworkACLs      []fileNACL     `yaml:"network_acls,omitempty"`
		InternetGateways []fileIGW      `yaml:"internet_gateways,omitempty"`
		EgressOnly       []fileIGW      `yaml:"egress_only_internet_gateways,omitempty"`
		Peerings         []filePeering  `yaml:"peering_connections,omitempty"`
		Instances        []fileInstance `yaml:"instances,omitempty"`
		ElasticIPs       []fileEIP      `yaml:"elastic_ips,omitempty"`
		NATGateways      []fileNAT      `yaml:"nat_gateways,omitempty"`
		RouteTables      []fileRT       `yaml:"route_tables,omitempty"`
		Endpoints        []fileEndpoint `yaml:"vpc_endpoints,omitempty"`
		Internet         []fileHost     `yaml:"internet,omitempty"`
		FlowLogs         []fileFlowLog  `yaml:"flow_logs,omitempty"`
		TrafficMirror    *fileMirror    `yaml:"traffic_mirror,omitempty"`
	}
	fileLimits struct {
		SGsPerENI    int `yaml:"security_groups_per_eni"`
		RulesPerSG   int `yaml:"rules_per_security_group"`
		NACLRulesDir int `yaml:"nacl_rules_per_direction"`
		// The routing limits are written only when not AWS's, so that
		// exports of files without routing look as before.
		RoutesPerTable int `yaml:"routes_per_table,omitempty"`
		NATConns       int `yaml:"nat_connections_per_destination,omitempty"`
		NATIdle        int `yaml:"nat_idle_timeout,omitempty"`
		ElasticIPs     int `yaml:"elastic_ips,omitempty"`
		NATPerAZ       int `yaml:"nat_gateways_per_az,omitempty"`
	}
	fileVPC struct {
		ID             string   `yaml:"id"`
		CIDR           string   `yaml:"cidr"`
		SecondaryCIDRs []string `yaml:"secondary_cidrs,omitempty"`
		IPv6CIDR       string   `yaml:"ipv6_cidr,omitempty"`
		MTU            int      `yaml:"mtu,omitempty"`
		DefaultSG      string   `yaml:"default_security_group,omitempty"`
		DefaultNACL    string   `yaml:"default_network_acl,omitempty"`
		MainTable      string   `yaml:"main_route_table,omitempty"`
		Tags           Tags     `yaml:"tags,omitempty"`
	}
	filePL struct {
		ID         string   `yaml:"id"`
		Name       string   `yaml:"name,omitempty"`
		MaxEntries int      `yaml:"max_entries"`
		CIDRs      []string `yaml:"cidrs"`
		Tags       Tags     `yaml:"tags,omitempty"`
	}
	fileSubnet struct {
		ID                  string `yaml:"id"`
		VPC                 string `yaml:"vpc,omitempty"`
		CIDR                string `yaml:"cidr"`
		IPv6CIDR            string `yaml:"ipv6_cidr,omitempty"`
		AZ                  string `yaml:"az"`
		Public              bool   `yaml:"public"`
		RouteTable          string `yaml:"route_table,omitempty"`
		NetworkACL          string `yaml:"network_acl"`
		MapPublicIPOnLaunch bool   `yaml:"map_public_ip_on_launch,omitempty"`
		Tags                Tags   `yaml:"tags,omitempty"`
	}
	fileSG struct {
		ID          string     `yaml:"id"`
		VPC         string     `yaml:"vpc,omitempty"`
		Name        string     `yaml:"name,omitempty"`
		Description string     `yaml:"description,omitempty"`
		Ingress     []fileRule `yaml:"ingress"` // always written: absent and [] differ
		Egress      []fileRule `yaml:"egress"`
		Tags        Tags       `yaml:"tags,omitempty"`
	}
	fileNACL struct {
		ID      string     `yaml:"id"`
		VPC     string     `yaml:"vpc,omitempty"`
		Ingress []fileRule `yaml:"ingress"`
		Egress  []fileRule `yaml:"egress"`
		Tags    Tags       `yaml:"tags,omitempty"`
	}
	fileRule struct {
		ID          string `yaml:"id,omitempty"`
		Rule        int    `yaml:"rule,omitempty"`
		Protocol    string `yaml:"protocol"`
		Ports       string `yaml:"ports,omitempty"`
		ICMPType    *int   `yaml:"icmp_type,omitempty"`
		ICMPCode    *int   `yaml:"icmp_code,omitempty"`
		CIDR        string `yaml:"cidr,omitempty"`
		IPv6CIDR    string `yaml:"ipv6_cidr,omitempty"`
		SourceGroup string `yaml:"source_group,omitempty"`
		PrefixList  string `yaml:"prefix_list,omitempty"`
		Action      string `yaml:"action,omitempty"`
		Description string `yaml:"description,omitempty"`
		Tags        Tags   `yaml:"tags,omitempty"`
	}
	fileRT struct {
		ID     string      `yaml:"id"`
		VPC    string      `yaml:"vpc,omitempty"`
		Main   bool        `yaml:"main,omitempty"`
		Routes []fileRoute `yaml:"routes,omitempty"`
		Tags   Tags        `yaml:"tags,omitempty"`
	}
	fileRoute struct {
		Destination   string `yaml:"destination,omitempty"`
		DestinationPL string `yaml:"destination_prefix_list,omitempty"`
		Target        string `yaml:"target,omitempty"`
		TargetKind    string `yaml:"target_kind,omitempty"`
		State         string `yaml:"state,omitempty"`
		Propagated    bool   `yaml:"propagated,omitempty"`
	}
	fileIGW struct {
		ID   string `yaml:"id"`
		VPC  string `yaml:"vpc,omitempty"`
		Tags Tags   `yaml:"tags,omitempty"`
	}
	fileNAT struct {
		ID           string `yaml:"id"`
		Subnet       string `yaml:"subnet"`
		ENI          string `yaml:"eni"`
		PrivateIP    string `yaml:"private_ip"`
		Connectivity string `yaml:"connectivity,omitempty"`
		ElasticIP    string `yaml:"elastic_ip,omitempty"`
		PortPolicy   string `yaml:"port_policy"`
		Tags         Tags   `yaml:"tags,omitempty"`
	}
	fileEIP struct {
		ID               string `yaml:"id"`
		PublicIP         string `yaml:"public_ip"`
		NetworkInterface string `yaml:"network_interface,omitempty"`
		PrivateIP        string `yaml:"private_ip,omitempty"`
		Tags             Tags   `yaml:"tags,omitempty"`
	}
	filePeering struct {
		ID           string `yaml:"id"`
		RequesterVPC string `yaml:"requester_vpc"`
		AccepterVPC  string `yaml:"accepter_vpc"`
		State        string `yaml:"state"`
		Tags         Tags   `yaml:"tags,omitempty"`
	}
	fileEndpoint struct {
		ID          string   `yaml:"id"`
		VPC         string   `yaml:"vpc,omitempty"`
		Service     string   `yaml:"service"`
		RouteTables []string `yaml:"route_tables,omitempty"`
		Tags        Tags     `yaml:"tags,omitempty"`
	}
	fileInstance struct {
		ID                string          `yaml:"id"`
		ENI               string          `yaml:"eni,omitempty"`
		Subnet            string          `yaml:"subnet,omitempty"`
		PrivateIP         string          `yaml:"private_ip,omitempty"`
		SecondaryIPs      []string        `yaml:"secondary_private_ips,omitempty"`
		PublicIP          string          `yaml:"public_ip,omitempty"`
		IPv6              string          `yaml:"ipv6,omitempty"`
		SecurityGroups    []string        `yaml:"security_groups,omitempty"`
		SourceDestCheck   *bool           `yaml:"source_dest_check,omitempty"`
		NetworkInterfaces []fileInterface `yaml:"network_interfaces,omitempty"`
		OS                string          `yaml:"os"`
		Services          []string        `yaml:"services,omitempty"`
		Conntrack         fileConntrack   `yaml:"conntrack"`
		Tags              Tags            `yaml:"tags,omitempty"`
	}
	fileInterface struct {
		ID              string   `yaml:"id"`
		DeviceIndex     int      `yaml:"device_index"`
		Subnet          string   `yaml:"subnet"`
		PrivateIP       string   `yaml:"private_ip"`
		SecondaryIPs    []string `yaml:"secondary_private_ips,omitempty"`
		PublicIP        string   `yaml:"public_ip,omitempty"`
		IPv6            string   `yaml:"ipv6,omitempty"`
		SecurityGroups  []string `yaml:"security_groups,omitempty"`
		SourceDestCheck *bool    `yaml:"source_dest_check,omitempty"`
		Description     string   `yaml:"description,omitempty"`
		Tags            Tags     `yaml:"tags,omitempty"`
	}
	fileConntrack struct {
		TCPEstablished int `yaml:"tcp_established_timeout"`
		UDP            int `yaml:"udp_timeout"`
		UDPStream      int `yaml:"udp_stream_timeout"`
		MaxEntries     int `yaml:"max_entries"`
	}
	fileHost struct {
		Name     string   `yaml:"name"`
		IP       string   `yaml:"ip"`
		IPv6     string   `yaml:"ipv6,omitempty"`
		OS       string   `yaml:"os"`
		Services []string `yaml:"services,omitempty"`
	}
	fileFlowLog struct {
		ID                     string `yaml:"id"`
		Resource               string `yaml:"resource"`
		TrafficType            string `yaml:"traffic_type"`
		MaxAggregationInterval int    `yaml:"max_aggregation_interval"`
		LogFormat              string `yaml:"log_format,omitempty"`
		FileFormat             string `yaml:"file_format"`
		Hive                   bool   `yaml:"hive_compatible_partitions"`
		PerHour                bool   `yaml:"per_hour_partition"`
		DestType               string `yaml:"log_destination_type,omitempty"`
		Dest                   string `yaml:"log_destination,omitempty"`
		LogGroup               string `yaml:"log_group_name,omitempty"`
		DeliverRole            string `yaml:"deliver_logs_permission_arn,omitempty"`
		Tags                   Tags   `yaml:"tags,omitempty"`
	}
)

// YAML writes t as a topology file with every default spelled out, except
// what Parse creates by itself: the objects a VPC has without the file
// naming them (main table, the `public: true` table and internet gateway,
// when unchanged), local routes, gateway endpoint routes, derived SG rule
// ids. Parsing it gives back the same topology (positions aside) as long
// as t keeps the model's invariants: routes in SortRoutes order, Blackhole
// as RefreshRouteStates computes it, implicit objects after the file's.
// One VPC is written with `vpc:`, so exports of single-VPC files look as
// they did before routing.
func (t *Topology) YAML() []byte {
	return t.EncodeYAML(EncodeOptions{})
}

// EncodeOptions are what EncodeYAML writes besides the topology: comments
// for a person reading the file (import names where each object came
// from). Comments are text without the leading "# "; a newline starts
// another comment line.
type EncodeOptions struct {
	Header string // above everything
	// Comments holds the comment written above an object, keyed by its id
	// (VPCs, subnets, groups, ACLs, tables, gateways, …), SG rules by their
	// rule id, NACL rules by NACLRuleKey, routes by RouteKey and internet
	// hosts by name.
	Comments map[string]string
	Footer   string // below everything
}

// NACLRuleKey names a NACL rule in EncodeOptions.Comments.
func NACLRuleKey(acl string, egress bool, number int) string {
	dir := "ingress"
	if egress {
		dir = "egress"
	}
	return fmt.Sprintf("%s/%s/%d", acl, dir, number)
}

// RouteKey names a route in EncodeOptions.Comments by its table and
// destination (a CIDR or a prefix list id).
func RouteKey(table, dest string) string {
	return table + "/" + dest
}

// EncodeYAML is YAML with the comments of o.
func (t *Topology) EncodeYAML(o EncodeOptions) []byte {
	f := t.fileForm()
	doc := toNode(reflect.ValueOf(&f))
	if len(o.Comments) > 0 {
		t.comment(doc, o.Comments)
	}
	root := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}, HeadComment: commentText(o.Header), FootComment: commentText(o.Footer)}
	out, err := yaml.Marshal(root)
	if err != nil {
		panic(fmt.Sprintf("vpc: marshal topology: %v", err))
	}
	return out
}

// comment sets the head comment of every object node of root (the encoded
// fileTopology) that c has a comment for.
func (t *Topology) comment(root *yaml.Node, c map[string]string) {
	field := func(m *yaml.Node, key string) string {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i+1].Value
			}
		}
		return ""
	}
	set := func(n *yaml.Node, key string) {
		if s, ok := c[key]; ok && key != "" {
			n.HeadComment = commentText(s)
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		if key == "vpc" {
			set(root.Content[i], field(val, "id"))
			continue
		}
		if val.Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range val.Content {
			id := field(item, "id")
			if key == "internet" {
				id = field(item, "name")
			}
			set(item, id)
			for k := 0; k+1 < len(item.Content); k += 2 {
				sub, list := item.Content[k].Value, item.Content[k+1]
				if list.Kind != yaml.SequenceNode {
					continue
				}
				for n, r := range list.Content {
					switch {
					case key == "security_groups" && (sub == "ingress" || sub == "egress"):
						sg := &t.SecurityGroups[j]
						rules := sg.Ingress
						if sub == "egress" {
							rules = sg.Egress
						}
						if n < len(rules) {
							set(r, rules[n].ID)
						}
					case key == "network_acls" && (sub == "ingress" || sub == "egress"):
						num, _ := strconv.Atoi(field(r, "rule"))
						set(r, NACLRuleKey(id, sub == "egress", num))
					case key == "route_tables" && sub == "routes":
						dest := field(r, "destination")
						if dest == "" {
							dest = field(r, "destination_prefix_list")
						}
						set(r, RouteKey(id, dest))
					}
				}
			}
		}
	}
}

// commentText makes s fit a YAML comment: control characters (which YAML
// refuses anywhere in a file) are written as Go escapes; newlines start
// new comment lines.
func commentText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\t' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// fileForm is t in the file's schema.
func (t *Topology) fileForm() fileTopology {
	l := t.Limits
	f := fileTopology{
		Name: t.Name, Account: t.Account, Region: t.Region,
		Limits: fileLimits{SGsPerENI: l.SecurityGroupsPerENI, RulesPerSG: l.RulesPerSecurityGroup, NACLRulesDir: l.NACLRulesPerDirection},
	}
	d := DefaultLimits
	f.Limits.RoutesPerTable = nonDefault(l.RoutesPerTable, d.RoutesPerTable)
	f.Limits.NATConns = nonDefault(l.NATConnectionsPerDestination, d.NATConnectionsPerDestination)
	f.Limits.NATIdle = nonDefault(int(l.NATIdleTimeout/time.Second), int(d.NATIdleTimeout/time.Second))
	f.Limits.ElasticIPs = nonDefault(l.ElasticIPs, d.ElasticIPs)
	f.Limits.NATPerAZ = nonDefault(l.NATGatewaysPerAZ, d.NATGatewaysPerAZ)
	multi := len(t.VPCs) > 1
	vpcOf := func(id string) string {
		if multi {
			return id
		}
		return ""
	}
	for i, v := range t.VPCs {
		fv := fileVPC{ID: v.ID, CIDR: prefixString(v.CIDR), IPv6CIDR: prefixString(v.IPv6CIDR), MTU: v.MTU, Tags: v.Tags}
		for _, c := range v.SecondaryCIDRs {
			fv.SecondaryCIDRs = append(fv.SecondaryCIDRs, c.String())
		}
		if v.DefaultSG != DefaultID(DefaultSGID, i, v.ID) {
			fv.DefaultSG = v.DefaultSG
		}
		if v.DefaultNACL != DefaultID(DefaultNACLID, i, v.ID) {
			fv.DefaultNACL = v.DefaultNACL
		}
		if v.MainTable != DefaultID(DefaultMainRouteTableID, i, v.ID) {
			fv.MainTable = v.MainTable
		}
		if multi {
			f.VPCs = append(f.VPCs, fv)
		} else {
			f.VPC = &fv
		}
	}
	for _, pl := range t.PrefixLists {
		c := []string{}
		for _, p := range pl.CIDRs {
			c = append(c, p.String())
		}
		f.PrefixLists = append(f.PrefixLists, filePL{pl.ID, pl.Name, pl.MaxEntries, c, pl.Tags})
	}
	for _, s := range t.Subnets {
		fs := fileSubnet{ID: s.ID, VPC: vpcOf(s.VPC), CIDR: prefixString(s.CIDR), IPv6CIDR: prefixString(s.IPv6CIDR), AZ: s.AZ,
			Public: s.Public, NetworkACL: s.NetworkACL, MapPublicIPOnLaunch: s.MapPublicIPOnLaunch, Tags: s.Tags}
		if !s.Public {
			fs.RouteTable = s.RouteTable
		}
		f.Subnets = append(f.Subnets, fs)
	}
	for _, sg := range t.SecurityGroups {
		fs := fileSG{ID: sg.ID, VPC: vpcOf(sg.VPC), Description: sg.Description, Ingress: []fileRule{}, Egress: []fileRule{}, Tags: sg.Tags}
		if sg.Name != sg.ID {
			fs.Name = sg.Name
		}
		for j, r := range sg.Ingress {
			fs.Ingress = append(fs.Ingress, encodeSGRule(r, SGRuleID(sg.ID, false, j)))
		}
		for j, r := range sg.Egress {
			fs.Egress = append(fs.Egress, encodeSGRule(r, SGRuleID(sg.ID, true, j)))
		}
		f.SecurityGroups = append(f.SecurityGroups, fs)
	}
	for _, a := range t.NetworkACLs {
		fa := fileNACL{ID: a.ID, VPC: vpcOf(a.VPC), Ingress: []fileRule{}, Egress: []fileRule{}, Tags: a.Tags}
		for _, r := range a.Ingress {
			fa.Ingress = append(fa.Ingress, encodeNACLRule(r))
		}
		for _, r := range a.Egress {
			fa.Egress = append(fa.Egress, encodeNACLRule(r))
		}
		f.NetworkACLs = append(f.NetworkACLs, fa)
	}
	implicitIGWs := t.implicitSuffix(len(t.InternetGateways), func(i int) (int, bool) { return t.implicitIGW(&t.InternetGateways[i]) })
	for i, g := range t.InternetGateways {
		if i < len(t.InternetGateways)-implicitIGWs {
			f.InternetGateways = append(f.InternetGateways, fileIGW{g.ID, g.VPC, g.Tags})
		}
	}
	for _, g := range t.EgressOnlyGateways {
		f.EgressOnly = append(f.EgressOnly, fileIGW{g.ID, g.VPC, g.Tags})
	}
	for _, p := range t.Peerings {
		f.Peerings = append(f.Peerings, filePeering{p.ID, p.Requester, p.Accepter, p.State, p.Tags})
	}
	for i := range t.Instances {
		f.Instances = append(f.Instances, encodeInstance(&t.Instances[i]))
	}
	for _, e := range t.ElasticIPs {
		fe := fileEIP{ID: e.ID, PublicIP: addrString(e.PublicIP), Tags: e.Tags}
		if t.NATGatewayByENI(e.ENI) == nil {
			fe.NetworkInterface, fe.PrivateIP = e.ENI, addrString(e.PrivateIP)
		}
		f.ElasticIPs = append(f.ElasticIPs, fe)
	}
	for _, g := range t.NATGateways {
		fn := fileNAT{ID: g.ID, Subnet: g.Subnet, ENI: g.ENI, PrivateIP: addrString(g.PrivateIP), ElasticIP: g.ElasticIP, PortPolicy: g.PortPolicy, Tags: g.Tags}
		if g.Private {
			fn.Connectivity = "private"
		}
		f.NATGateways = append(f.NATGateways, fn)
	}
	implicitRTs := t.implicitSuffix(len(t.RouteTables), func(i int) (int, bool) { return t.implicitRouteTable(&t.RouteTables[i]) })
	for i := range t.RouteTables[:len(t.RouteTables)-implicitRTs] {
		f.RouteTables = append(f.RouteTables, t.encodeRouteTable(&t.RouteTables[i], vpcOf))
	}
	for _, e := range t.Endpoints {
		f.Endpoints = append(f.Endpoints, fileEndpoint{e.ID, vpcOf(e.VPC), e.Service, e.RouteTables, e.Tags})
	}
	for _, h := range t.Internet {
		f.Internet = append(f.Internet, fileHost{h.Name, addrString(h.IP), addrString(h.IPv6), h.OS, serviceStrings(h.Services)})
	}
	for _, fl := range t.FlowLogs {
		f.FlowLogs = append(f.FlowLogs, fileFlowLog{fl.ID, fl.Resource, fl.TrafficType, fl.MaxAggregationInterval,
			fl.LogFormat, fl.FileFormat, fl.HiveCompatible, fl.PerHourPartition,
			fl.LogDestinationType, fl.LogDestination, fl.LogGroupName, fl.DeliverLogsPermissionArn, fl.Tags})
	}
	f.TrafficMirror = encodeMirror(&t.TrafficMirror)
	return f
}

func nonDefault(v, def int) int {
	if v == def {
		return 0
	}
	return v
}

// implicitSuffix is how many items at the end of a list of n are what
// Parse would append by itself, in the order it appends them: implicit(i)
// says whether item i is such an object and gives its place in that order.
func (t *Topology) implicitSuffix(n int, implicit func(i int) (int, bool)) int {
	count, next := 0, int(^uint(0)>>1)
	for i := n - 1; i >= 0; i-- {
		order, ok := implicit(i)
		if !ok || order >= next {
			break
		}
		count, next = count+1, order
	}
	return count
}

// hasPublicSubnet reports whether a subnet of the VPC uses `public: true`.
func (t *Topology) hasPublicSubnet(vpc string) bool {
	for _, s := range t.Subnets {
		if s.Public && s.VPC == vpc {
			return true
		}
	}
	return false
}

// implicitIGW reports whether g is the internet gateway `public: true`
// would give its VPC, and its place among those Parse appends.
func (t *Topology) implicitIGW(g *InternetGateway) (int, bool) {
	i := t.vpcIndex(g.VPC)
	if i < 0 || len(g.Tags) > 0 || g.ID != DefaultID(DefaultIGWID, i, g.VPC) || !t.hasPublicSubnet(g.VPC) {
		return 0, false
	}
	return i, true
}

// implicitRouteTable reports whether rt is a table Parse makes by itself:
// a VPC's main table with local routes only, or the unchanged table of
// `public: true`; and its place among those Parse appends.
func (t *Topology) implicitRouteTable(rt *RouteTable) (int, bool) {
	i := t.vpcIndex(rt.VPC)
	if i < 0 || len(rt.Tags) > 0 {
		return 0, false
	}
	v := &t.VPCs[i]
	var own []Route
	for _, r := range rt.Routes {
		if r.Target.Kind != TargetEndpoint {
			own = append(own, r)
		}
	}
	switch {
	case rt.Main && rt.ID == v.MainTable && sameRoutes(own, LocalRoutes(v)):
		return 2 * i, true
	case !rt.Main && rt.ID == DefaultID(PublicRouteTableID, i, v.ID) && t.hasPublicSubnet(v.ID) && sameRoutes(own, t.PublicRoutes(v)):
		return 2*i + 1, true
	}
	return 0, false
}

func sameRoutes(a, b []Route) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Pos, y.Pos = Pos{}, Pos{}
		if x != y {
			return false
		}
	}
	return true
}

func (t *Topology) encodeRouteTable(rt *RouteTable, vpcOf func(string) string) fileRT {
	fr := fileRT{ID: rt.ID, VPC: vpcOf(rt.VPC), Main: rt.Main, Tags: rt.Tags}
	v := t.VPC(rt.VPC)
	for _, r := range rt.Routes {
		if r.Target.Kind == TargetEndpoint || (r.Target.Kind == TargetLocal && v != nil && r.IsLocal(v)) {
			continue // added by Parse: endpoint routes (VPCE-2), local routes (RT-5)
		}
		x := fileRoute{Destination: prefixString(r.Dest), DestinationPL: r.DestPrefixList, Target: r.Target.ID, Propagated: r.Propagated}
		if r.Target.Kind == TargetLocal {
			x.Target = "local"
		}
		if r.Blackhole && r.Target.Kind != TargetNone {
			x.State = "blackhole"
			if !t.hasObject(r.Target.ID) && targetKindOf(r.Target.ID) != r.Target.Kind {
				x.TargetKind = string(r.Target.Kind)
			}
		}
		fr.Routes = append(fr.Routes, x)
	}
	return fr
}

// hasObject reports whether id names a route target of t.
func (t *Topology) hasObject(id string) bool {
	e, _ := t.ENI(id)
	return t.InternetGateway(id) != nil || t.EgressOnlyGateway(id) != nil || t.NATGateway(id) != nil ||
		e != nil || t.Instance(id) != nil || t.Peering(id) != nil || t.Endpoint(id) != nil || t.NATGatewayByENI(id) != nil
}

func encodeInstance(in *Instance) fileInstance {
	fi := fileInstance{ID: in.ID, OS: in.OS, Services: serviceStrings(in.Services), Tags: in.Tags,
		Conntrack: fileConntrack{
			int(in.Conntrack.TCPEstablished / time.Second), int(in.Conntrack.UDP / time.Second),
			int(in.Conntrack.UDPStream / time.Second), in.Conntrack.MaxEntries,
		},
	}
	// The instance's own fields cannot hold the primary ENI's description
	// and tags: then every ENI is written under network_interfaces.
	enis := in.Secondary
	if in.ENI.Description != "" || len(in.ENI.Tags) > 0 {
		enis = append([]ENI{in.ENI}, in.Secondary...)
	} else {
		e := &in.ENI
		fi.ENI, fi.Subnet, fi.PrivateIP = e.ID, e.Subnet, addrString(e.PrivateIP)
		fi.SecondaryIPs, fi.PublicIP, fi.IPv6 = addrStrings(e.SecondaryIPs), addrString(e.PublicIP), addrString(e.IPv6)
		fi.SecurityGroups, fi.SourceDestCheck = e.SecurityGroups, sourceDestCheck(e)
	}
	for _, e := range enis {
		fi.NetworkInterfaces = append(fi.NetworkInterfaces, fileInterface{
			ID: e.ID, DeviceIndex: e.DeviceIndex, Subnet: e.Subnet, PrivateIP: addrString(e.PrivateIP),
			SecondaryIPs: addrStrings(e.SecondaryIPs), PublicIP: addrString(e.PublicIP), IPv6: addrString(e.IPv6),
			SecurityGroups: e.SecurityGroups, SourceDestCheck: sourceDestCheck(&e), Description: e.Description, Tags: e.Tags,
		})
	}
	return fi
}

// sourceDestCheck writes the attribute only when off (AWS's default is on).
func sourceDestCheck(e *ENI) *bool {
	if !e.SourceDestCheckDisabled {
		return nil
	}
	off := false
	return &off
}

func addrStrings(as []netip.Addr) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}

func prefixString(p interface {
	IsValid() bool
	String() string
}) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	return prefixString(a)
}

func serviceStrings(s []Service) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.String())
	}
	return out
}

// ProtocolName is a protocol as written in a rule: tcp, udp, icmp, icmpv6, all or the number.
func ProtocolName(p int) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	case ProtoAll:
		return "all"
	}
	return strconv.Itoa(p)
}

// String writes r as "FROM-TO", or "N" for a single port.
func (r PortRange) String() string {
	if r.From == r.To {
		return strconv.Itoa(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

func encodeRuleCommon(fr *fileRule, proto int, ports PortRange, typ, code int) {
	fr.Protocol = ProtocolName(proto)
	switch proto {
	case ProtoTCP, ProtoUDP:
		fr.Ports = ports.String()
	case ProtoICMP, ProtoICMPv6:
		fr.ICMPType, fr.ICMPCode = &typ, &code
	}
}

// encodeSGRule writes r; its id only when it is not the one Parse derives.
func encodeSGRule(r SGRule, derived string) fileRule {
	fr := fileRule{SourceGroup: r.SourceGroup, PrefixList: r.PrefixList, Description: r.Description, Tags: r.Tags}
	if r.ID != derived {
		fr.ID = r.ID
	}
	encodeRuleCommon(&fr, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode)
	if r.CIDR.IsValid() {
		if r.CIDR.Addr().Is4() {
			fr.CIDR = r.CIDR.String()
		} else {
			fr.IPv6CIDR = r.CIDR.String()
		}
	}
	return fr
}

func encodeNACLRule(r NACLRule) fileRule {
	fr := fileRule{Rule: r.Number, Action: "deny"}
	if r.Allow {
		fr.Action = "allow"
	}
	encodeRuleCommon(&fr, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode)
	if r.CIDR.Addr().Is4() {
		fr.CIDR = r.CIDR.String()
	} else {
		fr.IPv6CIDR = r.CIDR.String()
	}
	return fr
}
