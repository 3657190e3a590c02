package importer_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// The two-tier fixtures (testdata/two-tier) describe one network four
// ways: a Batfish-style snapshot of describe JSON, a Terraform state, a
// Terraform plan of the same network before apply, and a CloudFormation
// template. A public subnet with the web server, an internet gateway and
// a NAT gateway; a private subnet with the database; security groups that
// refer to each other (web -> db, db <- web) and to a prefix list (the
// office), and across a peering to a shared-services VPC; custom NACLs on
// both subnets; a route to a transit gateway (not modeled).

const fixtures = "testdata/two-tier"

func mustImport(t *testing.T, o importer.Options, paths ...string) *importer.Result {
	t.Helper()
	files, _, err := importer.ReadPaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(files, o)
	if err != nil {
		t.Fatalf("import %v: %v", paths, err)
	}
	return res
}

// twoTier imports the fixture of each format.
func twoTier(t *testing.T) map[string]*vpc.Topology {
	t.Helper()
	out := map[string]*vpc.Topology{}
	out["aws"] = mustImport(t, importer.Options{}, fixtures).Topology
	out["terraform state"] = mustImport(t, importer.Options{}, fixtures+"/terraform-state.json").Topology
	out["terraform plan"] = mustImport(t, importer.Options{}, fixtures+"/terraform-plan.json").Topology
	// A template names no account: the one the other inputs carry.
	out["cloudformation"] = mustImport(t, importer.Options{Account: "111122223333"}, fixtures+"/cloudformation.yaml").Topology
	return out
}

// names maps every id of t, and every public address, to a name that does
// not depend on the format: the kind and the object's Name tag (or, for
// the objects a VPC has without naming them, the VPC's).
func names(t *vpc.Topology) map[string]string {
	m := map[string]string{}
	tag := func(kind string, tags vpc.Tags, id string) string {
		n := kind + ":" + tags["Name"]
		if tags["Name"] == "" {
			n = kind + ":?" + id
		}
		m[id] = n
		return n
	}
	for _, v := range t.VPCs {
		n := tag("vpc", v.Tags, v.ID)
		m[v.DefaultSG], m[v.DefaultNACL], m[v.MainTable] = "default-sg:"+n, "default-acl:"+n, "main-rtb:"+n
	}
	for _, s := range t.Subnets {
		tag("subnet", s.Tags, s.ID)
	}
	for _, g := range t.SecurityGroups {
		if _, ok := m[g.ID]; !ok {
			tag("sg", g.Tags, g.ID)
		}
	}
	for _, a := range t.NetworkACLs {
		if _, ok := m[a.ID]; !ok {
			tag("acl", a.Tags, a.ID)
		}
	}
	for _, rt := range t.RouteTables {
		if _, ok := m[rt.ID]; !ok {
			tag("rtb", rt.Tags, rt.ID)
		}
	}
	for _, pl := range t.PrefixLists {
		tag("pl", pl.Tags, pl.ID)
	}
	for _, g := range t.InternetGateways {
		tag("igw", g.Tags, g.ID)
	}
	for _, g := range t.NATGateways {
		n := tag("nat", g.Tags, g.ID)
		m[g.ENI] = "eni:" + n
	}
	for _, e := range t.ElasticIPs {
		n := tag("eip", e.Tags, e.ID)
		m[e.PublicIP.String()] = "public:" + n
	}
	for _, p := range t.Peerings {
		tag("pcx", p.Tags, p.ID)
	}
	for _, fl := range t.FlowLogs {
		tag("fl", fl.Tags, fl.ID)
	}
	for _, in := range t.Instances {
		n := tag("i", in.Tags, in.ID)
		m[in.ENI.ID] = "eni:" + n
		if in.PublicIP.IsValid() {
			m[in.PublicIP.String()] = "public:" + n
		}
	}
	return m
}

// canonical is t with ids renamed by names, public addresses (which a plan
// or a template cannot know) and rule ids (derived from where a rule is)
// cleared, and every list in a fixed order.
func canonical(t *vpc.Topology) *vpc.Topology {
	m := names(t)
	vpc.ClearIncidentals(t)
	rename(reflect.ValueOf(t).Elem(), m)
	for i := range t.Instances {
		t.Instances[i].PublicIP = netip.Addr{}
	}
	for i := range t.ElasticIPs {
		t.ElasticIPs[i].PublicIP = netip.Addr{}
	}
	t.Account, t.Name = "", ""
	byID := func(s any, id func(i int) string) {
		sort.SliceStable(s, func(i, j int) bool { return id(i) < id(j) })
	}
	byID(t.VPCs, func(i int) string { return t.VPCs[i].ID })
	byID(t.Subnets, func(i int) string { return t.Subnets[i].ID })
	byID(t.NetworkACLs, func(i int) string { return t.NetworkACLs[i].ID })
	byID(t.RouteTables, func(i int) string { return t.RouteTables[i].ID })
	byID(t.PrefixLists, func(i int) string { return t.PrefixLists[i].ID })
	byID(t.Instances, func(i int) string { return t.Instances[i].ID })
	byID(t.InternetGateways, func(i int) string { return t.InternetGateways[i].ID })
	byID(t.NATGateways, func(i int) string { return t.NATGateways[i].ID })
	byID(t.ElasticIPs, func(i int) string { return t.ElasticIPs[i].ID })
	byID(t.Peerings, func(i int) string { return t.Peerings[i].ID })
	byID(t.FlowLogs, func(i int) string { return t.FlowLogs[i].ID })
	byID(t.SecurityGroups, func(i int) string { return t.SecurityGroups[i].ID })
	for i := range t.SecurityGroups {
		g := &t.SecurityGroups[i]
		for _, rules := range [][]vpc.SGRule{g.Ingress, g.Egress} {
			for j := range rules {
				rules[j].ID = ""
			}
			sort.Slice(rules, func(a, b int) bool { return fmt.Sprint(rules[a]) < fmt.Sprint(rules[b]) })
		}
	}
	for i := range t.RouteTables {
		vpc.SortRoutes(t.RouteTables[i].Routes)
	}
	return t
}

// rename replaces every string of v that m names.
func rename(v reflect.Value, m map[string]string) {
	switch v.Kind() {
	case reflect.String:
		if n, ok := m[v.String()]; ok && v.CanSet() {
			v.SetString(n)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				rename(v.Field(i), m)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			rename(v.Index(i), m)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			rename(v.Elem(), m)
		}
	}
}

// The same network in all three formats imports to the same topology, up
// to the ids and public addresses a plan or a template cannot know.
func TestTwoTierFormatsImportAlike(t *testing.T) {
	topos := twoTier(t)
	want := canonical(topos["terraform state"])
	for _, k := range []string{"aws", "terraform plan", "cloudformation"} {
		if d := vpc.Diff(want, canonical(topos[k])); d != "" {
			t.Errorf("%s and the Terraform state differ: %s", k, d)
		}
	}
}

// The describe JSON and the Terraform state carry the real ids: both keep
// them as they are, and agree without renaming anything.
func TestTwoTierRealIDsKept(t *testing.T) {
	topos := twoTier(t)
	for _, k := range []string{"aws", "terraform state"} {
		topo := topos[k]
		for _, id := range []string{"vpc-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60012", "sg-0a1b2c3d4e5f60092", "acl-0a1b2c3d4e5f600a2",
			"rtb-0a1b2c3d4e5f60062", "nat-0a1b2c3d4e5f60051", "i-0a1b2c3d4e5f600b3", "pcx-0a1b2c3d4e5f60071", "pl-0a1b2c3d4e5f60081"} {
			if topo.VPCOf(id) == "" && topo.Peering(id) == nil && topo.PrefixList(id) == nil {
				t.Errorf("%s: id %s is not in the import", k, id)
			}
		}
		if sg := topo.SecurityGroup("sg-0a1b2c3d4e5f60091"); sg == nil || sg.Name != "web" || sg.Description != "web tier" {
			t.Errorf("%s: sg-0a1b2c3d4e5f60091 lost its name or description: %+v", k, sg)
		}
	}
	clear := func(t *vpc.Topology) *vpc.Topology {
		vpc.ClearIncidentals(t)
		for i := range t.SecurityGroups {
			g := &t.SecurityGroups[i]
			for _, rules := range [][]vpc.SGRule{g.Ingress, g.Egress} {
				for j := range rules {
					rules[j].ID = ""
				}
				sort.Slice(rules, func(a, b int) bool { return fmt.Sprint(rules[a]) < fmt.Sprint(rules[b]) })
			}
		}
		sort.SliceStable(t.SecurityGroups, func(i, j int) bool { return t.SecurityGroups[i].ID < t.SecurityGroups[j].ID })
		sort.SliceStable(t.NetworkACLs, func(i, j int) bool { return t.NetworkACLs[i].ID < t.NetworkACLs[j].ID })
		sort.SliceStable(t.RouteTables, func(i, j int) bool { return t.RouteTables[i].ID < t.RouteTables[j].ID })
		sort.SliceStable(t.Instances, func(i, j int) bool { return t.Instances[i].ID < t.Instances[j].ID })
		return t
	}
	if d := vpc.Diff(clear(topos["terraform state"]), clear(topos["aws"])); d != "" {
		t.Errorf("describe JSON and Terraform state differ: %s", d)
	}
}

// explainQueries are the questions a user asks of the two-tier network;
// endpoints are Name tags of instances or internet addresses.
var explainQueries = []struct {
	from, to string
	proto    int
	port     int
}{
	{"web", "db", vpc.ProtoTCP, 5432},          // SGs refer to each other
	{"report", "db", vpc.ProtoTCP, 5432},       // across the peering, by group
	{"db", "web", vpc.ProtoTCP, 22},            // web admits ssh from the office only
	{"198.51.100.10", "web", vpc.ProtoTCP, 22}, // the office's admin desk (prefix list)
	{"192.0.2.200", "web", vpc.ProtoTCP, 22},   // not in the office list
	{"192.0.2.200", "web", vpc.ProtoTCP, 443},  // https from anywhere
	{"8.8.4.4", "web", vpc.ProtoTCP, 22},       // monitoring /32
	{"db", "203.0.113.77", vpc.ProtoTCP, 443},  // updates through the NAT gateway
	{"db", "172.16.1.1", vpc.ProtoTCP, 443},    // the transit gateway route: a blackhole
	{"web", "db", vpc.ProtoICMP, 0},            // the private NACL admits ICMP from the VPC
	{"report", "web", vpc.ProtoTCP, 80},        // the peering, but web's group does not admit it
}

// explainAnswer is what explain says, with ids and public addresses
// renamed as names does.
func explainAnswer(t *testing.T, topo *vpc.Topology, from, to string, proto, port int) string {
	t.Helper()
	byName := map[string]string{}
	for _, in := range topo.Instances {
		byName[in.Tags["Name"]] = in.ID
	}
	end := func(s string) string {
		if id, ok := byName[s]; ok {
			return id
		}
		return s
	}
	a := rules.Explain(topo, rules.Query{From: end(from), To: end(to), Protocol: proto, Port: port})
	if a.Status == "failed" {
		t.Fatalf("explain %s -> %s: %s", from, to, a.Verdict)
	}
	js, err := json.Marshal(struct {
		Found           bool
		Forward, Return []rules.PathComponent
		Explanations    []rules.Explanation
	}{a.NetworkPathFound, a.ForwardPathComponents, a.ReturnPathComponents, a.Explanations})
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	m := names(topo)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, m[k])
	}
	return s
}

// explain answers the same on the import of each format.
func TestTwoTierExplainAlike(t *testing.T) {
	topos := twoTier(t)
	kinds := []string{"aws", "terraform state", "terraform plan", "cloudformation"}
	for _, q := range explainQueries {
		want := explainAnswer(t, topos["terraform state"], q.from, q.to, q.proto, q.port)
		for _, k := range kinds {
			if got := explainAnswer(t, topos[k], q.from, q.to, q.proto, q.port); got != want {
				t.Errorf("%s -> %s %d/%d: %s answers\n%s\nthe Terraform state\n%s", q.from, q.to, q.proto, q.port, k, got, want)
			}
		}
	}
}

// What the fixtures say decides what explain finds, in every format.
func TestTwoTierExplainVerdicts(t *testing.T) {
	want := map[string]bool{
		"web db 5432": true, "report db 5432": true, "db web 22": false, "198.51.100.10 web 22": true,
		"192.0.2.200 web 22": false, "192.0.2.200 web 443": true, "8.8.4.4 web 22": true, "db 203.0.113.77 443": true,
		"db 172.16.1.1 443": false, "web db 0": false, "report web 80": false,
	}
	for k, topo := range twoTier(t) {
		byName := map[string]string{}
		for _, in := range topo.Instances {
			byName[in.Tags["Name"]] = in.ID
		}
		end := func(s string) string {
			if id, ok := byName[s]; ok {
				return id
			}
			return s
		}
		for _, q := range explainQueries {
			key := fmt.Sprintf("%s %s %d", q.from, q.to, q.port)
			a := rules.Explain(topo, rules.Query{From: end(q.from), To: end(q.to), Protocol: q.proto, Port: q.port})
			if a.NetworkPathFound != want[key] {
				t.Errorf("%s: %s: path found %v, want %v: %s", k, key, a.NetworkPathFound, want[key], a.Verdict)
			}
		}
	}
}
