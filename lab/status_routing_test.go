package lab

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// Status shows T2's VPCs, each subnet's table, explicit and implicit
// associations, routes with their state (a route whose NAT gateway is gone
// is a blackhole, RT-15) and the gateways.
func TestStatusShowsRouting(t *testing.T) {
	b, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// nat-2 is named by a route but does not exist: the route is kept as a
	// blackhole, as after DeleteNatGateway.
	src := strings.Replace(string(b), "      - {destination: 0.0.0.0/0, target: nat-1}",
		"      - {destination: 0.0.0.0/0, target: nat-1}\n      - {destination: 203.0.113.0/24, target: nat-2, state: blackhole}", 1)
	topo, err := vpc.Parse("t2.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	st := StaticStatus(&State{}, topo, vpc.NewPlan(topo))
	if len(st.VPCs) != 2 || st.VPCs[1].ID != "vpc-2" || st.VPCs[1].MainTable == "" {
		t.Errorf("VPCs %+v", st.VPCs)
	}
	tables := map[string]RouteTableStatus{}
	for _, rt := range st.RouteTables {
		tables[rt.ID] = rt
	}
	if m := tables["rtb-main"]; !m.Main || strings.Join(m.Implicit, ",") != "M" || len(m.Subnets) != 0 {
		t.Errorf("rtb-main %+v: want main, M implicitly", m)
	}
	q := tables["rtb-q"]
	var routes []string
	for _, r := range q.Routes {
		routes = append(routes, r.Destination+">"+r.Target+":"+r.State)
	}
	slices.Sort(routes)
	want := "0.0.0.0/0>nat-1:active 10.0.0.0/16>local:active 203.0.113.0/24>nat-2:blackhole"
	if got := strings.Join(routes, " "); got != want || strings.Join(q.Subnets, ",") != "Q" {
		t.Errorf("rtb-q routes %s subnets %v; want %s, Q", got, q.Subnets, want)
	}
	for _, s := range st.Subnets {
		if s.ID == "M" && s.RouteTable != "rtb-main" || s.ID == "R" && (s.RouteTable != "rtb-r" || s.VPC != "vpc-2") {
			t.Errorf("subnet %+v", s)
		}
	}
	kinds := map[string]string{}
	for _, g := range st.Gateways {
		kinds[g.ID] = g.Kind + " " + g.State + " " + g.Detail
	}
	for id, w := range map[string]string{"igw-1": "internet-gateway attached ", "pcx-12": "vpc-peering-connection active accepter vpc-2",
		"nat-1": "nat-gateway available subnet P, private 10.0.1.100, public 203.0.113.100 (eipalloc-ngw)"} {
		if kinds[id] != w {
			t.Errorf("gateway %s: %q, want %q", id, kinds[id], w)
		}
	}
}
