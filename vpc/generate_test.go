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

func TestGenerateWith(t *testing.T) {
	src := GenerateWith("g", 1000, GenerateOptions{PerSubnet: 20, Services: []Service{{Kind: "tcp", Port: 80}}})
	topo := mustParse(t, string(src))
	if len(topo.Instances) != 1000 || len(topo.Subnets) != 50 {
		t.Fatalf("got %d instances in %d subnets, want 1000 in 50", len(topo.Instances), len(topo.Subnets))
	}
	for _, in := range topo.Instances {
		if len(in.Services) != 1 || in.Services[0] != (Service{Kind: "tcp", Port: 80}) {
			t.Fatalf("%s runs %v, want tcp:80", in.ID, in.Services)
		}
	}
	if in := topo.Instance("i-999"); in.Subnet != "subnet-49" || in.PrivateIP != netip.MustParseAddr("10.0.49.29") {
		t.Errorf("i-999 = %s %s", in.Subnet, in.PrivateIP)
	}
}
