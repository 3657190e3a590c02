package vpc

import (
	"net/netip"
	"testing"
)

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
	with, err := Parse("gen.yaml", GenerateRoutedWith("bench-routed", 1, 1, 2, GenerateOptions{Services: []Service{{Kind: "tcp", Port: 80}}}))
	if err != nil {
		t.Fatalf("GenerateRoutedWith does not parse: %v", err)
	}
	if svcs := with.Instances[1].Services; len(svcs) != 1 || svcs[0].Port != 80 {
		t.Errorf("GenerateRoutedWith's instance runs %+v, want tcp:80", svcs)
	}
	for _, c := range [][3]int{{1, 1, 1}, {1, 0, 0}, {2, 1, 0}, {0, 0, 0}} {
		if _, err := Parse("gen.yaml", GenerateRouted("g", c[0], c[1], c[2])); err != nil && c[0] > 0 {
			t.Errorf("GenerateRouted%v: %v", c, err)
		}
	}
}
