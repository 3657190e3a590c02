package rules

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
	"github.com/vpcemu/vpcemu/vpc/vpctest"
)

// A routed topology built in Go and its parsed export are the same network.
func TestRandomRoutedTopologiesRoundTrip(t *testing.T) {
	for seed := range 100 {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		top := rulestest.RandRoutedTopology(r)
		parsed, err := vpc.Parse("rt.yaml", top.YAML())
		if err != nil {
			t.Fatal(err)
		}
		a, b := NewPathModel(top), NewPathModel(parsed)
		for n := range 30 {
			p := flowPacket(rulestest.RandFlow(r, top, n))
			x, y := a.Send(0, p), b.Send(0, p)
			if x.Fate() != y.Fate() || routeKinds(x) != routeKinds(y) {
				t.Errorf("seed %d %s: built %s, parsed %s", seed, packetText(p), routeKinds(x), routeKinds(y))
			}
		}
	}
}

// The path model over vpc/vpctest's random valid topologies (multi-ENI
// instances, Elastic IPs, endpoints, several peerings): deterministic, a
// consistent drop point, continuous hops and naive route decisions.
func TestRandomValidTopologies(t *testing.T) {
	seeds := 100
	if testing.Short() {
		seeds = 20
	}
	total, delivered := 0, 0
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 11))
		top := vpctest.Random(r, vpctest.Options{})
		var addrs []netip.Addr
		for i := range top.Instances {
			for _, e := range top.Instances[i].ENIs() {
				addrs = append(addrs, e.PrivateIPs()...)
				if e.PublicIP.IsValid() {
					addrs = append(addrs, e.PublicIP)
				}
			}
		}
		for _, e := range top.ElasticIPs {
			addrs = append(addrs, e.PublicIP)
		}
		for _, h := range top.Internet {
			addrs = append(addrs, h.IP)
		}
		if len(addrs) < 2 {
			continue
		}
		m1, m2 := NewPathModel(top), NewPathModel(top)
		for n := range 40 {
			s, d := addrs[r.IntN(len(addrs))], addrs[r.IntN(len(addrs))]
			if s == d {
				continue
			}
			p := OpeningPacket([]int{vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP}[r.IntN(3)], s, 32768+n, d, []int{22, 80, 443}[r.IntN(3)])
			what := fmt.Sprintf("seed %d %s", seed, packetText(p))
			a, b := m1.Send(0, p), m2.Send(0, p)
			if a.Fate() != b.Fate() || routeKinds(a) != routeKinds(b) {
				t.Fatalf("%s: not deterministic", what)
			}
			checkPath(t, top, &a, what)
			total++
			if a.Delivered {
				delivered++
				if rp, ok := Reply(a.Final()); ok {
					rev := m1.Send(0, rp)
					m2.Send(0, rp)
					checkPath(t, top, &rev, what+" (reply)")
				}
			}
		}
	}
	t.Logf("%d flows, %d delivered", total, delivered)
	if delivered == 0 {
		t.Error("nothing delivered")
	}
}
