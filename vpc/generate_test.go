package vpc

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestGenerate(t *testing.T) {
	for _, tc := range []struct{ n, subnets int }{{0, 0}, {1, 1}, {10, 1}, {200, 1}, {201, 2}, {500, 3}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			topo, err := Parse("gen.yaml", Generate("bench-123456789a", tc.n))
			if err != nil {
				t.Fatalf("Generate(%d) does not parse: %v", tc.n, err)
			}
			if len(topo.Instances) != tc.n || len(topo.Subnets) != tc.subnets {
				t.Fatalf("got %d instances in %d subnets, want %d in %d", len(topo.Instances), len(topo.Subnets), tc.n, tc.subnets)
			}
			per := map[string]int{}
			for _, in := range topo.Instances {
				per[in.Subnet]++
				if s := topo.SubnetOf(in.PrivateIP); s == nil || s.ID != in.Subnet {
					t.Errorf("%s %s is not in its subnet", in.ID, in.PrivateIP)
				}
			}
			for s, n := range per {
				if n > InstancesPerGeneratedSubnet {
					t.Errorf("subnet %s has %d instances", s, n)
				}
			}
			// The plan must lay out every generated size, too.
			if p := NewPlan(topo); len(p.Instances) != tc.n {
				t.Errorf("plan has %d instances", len(p.Instances))
			}
		})
	}
	if in := mustParse(t, string(Generate("g", 3))).Instance("i-2"); in.PrivateIP != netip.MustParseAddr("10.0.0.12") {
		t.Errorf("i-2 = %+v", in)
	}
}

func TestGenerateRouted(t *testing.T) {
	topo, err := Parse("gen.yaml", GenerateRouted("bench-routed", 3, 10, 30))
	if err != nil {
		t.Fatalf("GenerateRouted does not parse: %v", err)
	}
	if len(topo.VPCs) != 3 || len(topo.Subnets) != 30 || len(topo.Instances) != 900 || len(topo.NATGateways) != 1 || len(topo.Peerings) != 2 {
		t.Fatalf("got %d VPCs, %d subnets, %d instances, %d NAT gateways, %d peerings", len(topo.VPCs), len(topo.Subnets), len(topo.Instances), len(topo.NATGateways), len(topo.Peerings))
	}
	if rt := topo.RouteTableOfSubnet("subnet-0-5"); rt.Route(netip.MustParsePrefix("0.0.0.0/0")).Target.ID != "nat-0" {
		t.Errorf("subnet-0-5 routes %+v", rt.Routes)
	}
	if rt := topo.RouteTableOfSubnet("subnet-2-3"); rt.Route(netip.MustParsePrefix("10.0.0.0/16")).Target.ID != "pcx-0-2" {
		t.Errorf("subnet-2-3 routes %+v", rt.Routes)
	}
	if topo.IGWOfVPC("vpc-0") == nil {
		t.Error("vpc-0 has no internet gateway")
	}
	for _, c := range [][3]int{{1, 1, 1}, {1, 0, 0}, {2, 1, 0}, {0, 0, 0}} {
		if _, err := Parse("gen.yaml", GenerateRouted("g", c[0], c[1], c[2])); err != nil && c[0] > 0 {
			t.Errorf("GenerateRouted%v: %v", c, err)
		}
	}
}
