package rules

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
)

// Properties of the path model over random routed topologies
// (rulestest.RandRoutedTopology, the datapath differential test's cases):
// determinism, a consistent drop point, route decisions equal to a naive
// longest-prefix match, hop-to-hop continuity, and replies that arrive
// where the request came from, looking as the client addressed it.

// flowPacket is the evaluator's first packet of a random flow.
func flowPacket(f rulestest.Flow) Packet {
	sport := f.SrcPort
	if f.Protocol == vpc.ProtoICMP {
		sport = f.ICMPID
	}
	return OpeningPacket(f.Protocol, f.Src, sport, f.Dst, f.DstPort)
}

// naiveRoute restates RT-9..RT-11 over a table's own routes.
func naiveRoute(t *vpc.Topology, rt *vpc.RouteTable, dst Packet) (vpc.Route, bool) {
	type c struct {
		r           vpc.Route
		bits, class int
	}
	var cs []c
	for _, r := range rt.Routes {
		switch {
		case r.Dest.IsValid() && r.Dest.Addr().Is4() == dst.Dst.Is4() && r.Dest.Contains(dst.Dst):
			class := 0
			if r.Propagated {
				class = 2
			}
			cs = append(cs, c{r, r.Dest.Bits(), class})
		case r.DestPrefixList != "":
			best := -1
			for _, p := range t.PrefixList(r.DestPrefixList).CIDRs {
				if p.Contains(dst.Dst) {
					best = max(best, p.Bits())
				}
			}
			if best >= 0 {
				cs = append(cs, c{r, best, 1})
			}
		}
	}
	if len(cs) == 0 {
		return vpc.Route{}, false
	}
	slices.SortStableFunc(cs, func(a, b c) int {
		if a.bits != b.bits {
			return b.bits - a.bits
		}
		if a.class != b.class {
			return a.class - b.class
		}
		return cmp.Compare(a.r.DestPrefixList, b.r.DestPrefixList)
	})
	return cs[0].r, true
}

func checkPath(t *testing.T, top *vpc.Topology, p *Path, what string) {
	t.Helper()
	if p.Delivered != (p.Blocked() == nil) || p.Delivered != (p.DropPoint() == DropPoint{}) {
		t.Fatalf("%s: delivered=%v blocked=%v drop=%q", what, p.Delivered, p.Blocked(), p.DropPoint())
	}
	if !p.Delivered {
		if b := p.Blocked(); b != &p.Hops[len(p.Hops)-1] || b.Code != p.Code || b.Code == "" {
			t.Fatalf("%s: the drop is not the last hop or has no code: %s", what, routeKinds(*p))
		}
	}
	for i := 1; i < len(p.Hops); i++ {
		if p.Hops[i].In != p.Hops[i-1].Out {
			t.Fatalf("%s: hop %d sees %s, hop %d sent %s", what, i+1, packetText(p.Hops[i].In), i, packetText(p.Hops[i-1].Out))
		}
	}
	for _, h := range p.Hops {
		if h.Kind != HopRoute || h.Route == nil || h.Route.Table == nil || h.ID == rtbID(nil) {
			continue
		}
		want, ok := naiveRoute(top, h.Route.Table, h.In)
		if ok != h.Route.Found || (ok && (want.Dest != h.Route.Route.Dest || want.Target != h.Route.Route.Target)) {
			t.Fatalf("%s: %s decided %s -> %s (found %v), naive %s -> %s (found %v)", what, h.ID,
				routeDestText(h.Route.Route), routeTargetText(h.Route.Route), h.Route.Found, routeDestText(want), routeTargetText(want), ok)
		}
	}
}

func TestRandomRoutedTopologies(t *testing.T) {
	seeds, flows := 300, 30
	if testing.Short() {
		seeds = 50
	}
	delivered, replied, asym, fates := 0, 0, 0, map[string]int{}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 7))
		top := rulestest.RandRoutedTopology(r)
		m1, m2 := NewPathModel(top), NewPathModel(top)
		for n := range flows {
			f := rulestest.RandFlow(r, top, n)
			p := flowPacket(f)
			at := time.Duration(n) * time.Second
			what := fmt.Sprintf("seed %d flow %d %s", seed, n, packetText(p))
			a, b := m1.Send(at, p), m2.Send(at, p)
			if a.Fate() != b.Fate() || routeKinds(a) != routeKinds(b) {
				t.Fatalf("%s: not deterministic: %s / %s", what, routeKinds(a), routeKinds(b))
			}
			checkPath(t, top, &a, what)
			fates[a.DropPoint().Code]++
			if !a.Delivered {
				continue
			}
			delivered++
			rp, ok := Reply(a.Final())
			if !ok {
				continue
			}
			rev := m1.Send(at+time.Millisecond, rp)
			m2.Send(at+time.Millisecond, rp)
			checkPath(t, top, &rev, what+" (reply)")
			if !rev.Delivered {
				continue
			}
			replied++
			got := rev.Final()
			// A reply routed through a NAT gateway the request did not
			// cross (asymmetric routing) arrives from the gateway's EIP.
			snat := false
			for _, h := range rev.Hops {
				snat = snat || (h.Kind == HopNATGateway && h.Egress)
			}
			if snat {
				asym++
				got.Src, got.SrcPort = p.Dst, p.DstPort
			}
			if got.Dst != p.Src || got.Src != p.Dst || (p.Protocol != vpc.ProtoICMP && (got.DstPort != p.SrcPort || got.SrcPort != p.DstPort)) ||
				(p.Protocol == vpc.ProtoICMP && got.ICMPID != p.ICMPID) {
				t.Fatalf("%s: the reply arrives as %s\n  forward %s\n  reply   %s", what, packetText(got), routeKinds(a), routeKinds(rev))
			}
		}
	}
	t.Logf("%d flows: %d delivered, %d replies delivered (%d through a NAT gateway the request did not cross); drop codes %v", seeds*flows, delivered, replied, asym, fates)
	if delivered < seeds*flows/10 || len(fates) < 8 {
		t.Errorf("the generator rarely delivers or drops in few ways: %d delivered, codes %v", delivered, fates)
	}
}
