package vpc_test

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
	"github.com/vpcemu/vpcemu/vpc/vpctest"
)

// roundTrip asserts that t, written out and parsed again, is t.
func roundTrip(t *testing.T, seed uint64, topo *vpc.Topology) {
	t.Helper()
	out := topo.YAML()
	again, err := vpc.Parse("again.yaml", out)
	if err != nil {
		t.Fatalf("seed %d: the export does not parse: %v\n%s", seed, err, out)
	}
	vpc.ClearIncidentals(topo)
	vpc.ClearIncidentals(again)
	if d := vpc.Diff(topo, again); d != "" {
		t.Fatalf("seed %d: the round trip changed %s\n%s", seed, d, out)
	}
}

// The property `vpcemu export` relies on: parse(YAML(t)) == t, for random
// topologies with several VPCs, route tables, gateways, NAT gateways,
// Elastic IPs, peerings, endpoints, multi-ENI instances and tags, as
// parsed and after edits an API would make.
func TestRandomTopologiesRoundTrip(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 12))
		topo := vpctest.Random(r, vpctest.Options{})
		roundTrip(t, seed, topo)
		topo = vpctest.Random(rand.New(rand.NewPCG(seed, 12)), vpctest.Options{})
		edit(r, topo)
		roundTrip(t, seed, topo)
	}
}

// edit changes topo the way the EC2 API would, keeping the model's invariants.
func edit(r *rand.Rand, t *vpc.Topology) {
	// DeleteNatGateway: its routes become blackholes (RT-15), its Elastic
	// IP stays allocated but unassociated (NGW-4).
	if len(t.NATGateways) > 0 && r.IntN(2) == 0 {
		g := t.NATGateways[r.IntN(len(t.NATGateways))]
		t.NATGateways = slices.DeleteFunc(t.NATGateways, func(x vpc.NATGateway) bool { return x.ID == g.ID })
		if e := t.ElasticIP(g.ElasticIP); e != nil {
			e.ENI, e.PrivateIP = "", netip.Addr{}
		}
		t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(fl vpc.FlowLog) bool { return fl.Resource == g.ENI })
		t.RefreshRouteStates()
	}
	// CreateRoute: a blackhole route (no target) into a table.
	if len(t.RouteTables) > 0 {
		rt := &t.RouteTables[r.IntN(len(t.RouteTables))]
		dest := netip.MustParsePrefix("192.0.2.77/32")
		if rt.Route(dest) == nil {
			rt.Routes = append(rt.Routes, vpc.Route{Dest: dest, Blackhole: true})
			vpc.SortRoutes(rt.Routes)
		}
	}
	// RevokeSecurityGroupIngress of a first rule: the others keep their ids.
	for i := range t.SecurityGroups {
		if sg := &t.SecurityGroups[i]; len(sg.Ingress) > 1 {
			sg.Ingress = sg.Ingress[1:]
			break
		}
	}
	// A security group rule's tags (TagSpecification of Authorize, or
	// CreateTags on its sgr- id).
	for i := range t.SecurityGroups {
		if sg := &t.SecurityGroups[i]; len(sg.Egress) > 0 {
			sg.Egress[0].Tags = vpc.Tags{"rule": "tagged"}
			break
		}
	}
	// CreateFlowLogs with a destination vpcemu keeps but does not use.
	if len(t.Subnets) > 0 {
		t.FlowLogs = append(t.FlowLogs, vpc.FlowLog{ID: "fl-api", Resource: t.Subnets[0].ID, TrafficType: "REJECT",
			MaxAggregationInterval: 600, FileFormat: "plain-text", LogDestinationType: "cloud-watch-logs",
			LogDestination: "arn:aws:logs:us-east-1:000000000000:log-group:vpc", LogGroupName: "vpc",
			DeliverLogsPermissionArn: "arn:aws:iam::000000000000:role/flowlogs"})
	}
	// CreateInternetGateway after the implicit ones, and tags.
	t.InternetGateways = append(t.InternetGateways, vpc.InternetGateway{ID: "igw-new", Tags: vpc.Tags{"Name": "new"}})
	if len(t.Subnets) > 0 {
		t.Subnets[0].Tags = vpc.Tags{"edited": "yes"}
	}
}

// YAML builds its node tree itself: it writes what yaml.Marshal writes of
// the file form, byte for byte, tags and all.
func TestToNodeOfRandomTopologies(t *testing.T) {
	mirror, err := vpc.Parse("tm.yaml", []byte(mirrorBase+goodMirror))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := mirror.YAML(), vpc.MarshalFileForm(mirror); string(got) != string(want) {
		t.Fatalf("traffic mirroring: YAML differs from yaml.Marshal:\n%s\nwant:\n%s", got, want)
	}
	for seed := range uint64(100) {
		topo := vpctest.Random(rand.New(rand.NewPCG(seed, 5)), vpctest.Options{})
		if got, want := topo.YAML(), vpc.MarshalFileForm(topo); string(got) != string(want) {
			t.Fatalf("seed %d: YAML differs from yaml.Marshal:\n%s\nwant:\n%s", seed, got, want)
		}
	}
}
