package rules

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
)

// outcome is what a route lookup decides for one address, in terms both
// the evaluator and a compiled table can state.
type outcome struct {
	kind   CompiledKind // 0: no route
	target string
}

// viaLookup is the evaluator's decision: the winning route (lookup), with a
// local route resolved to the subnet holding the address.
func viaLookup(v *view, rt *vpc.RouteTable, a netip.Addr) outcome {
	d := v.lookup(rt, a)
	switch {
	case !d.Found:
		return outcome{}
	case d.Blackhole:
		return outcome{CompiledBlackhole, d.Route.Target.ID}
	}
	vp := v.t.VPC(rt.VPC)
	switch d.Route.Target.Kind {
	case vpc.TargetLocal:
		if sn := v.subnetOf(vp, a); sn != nil {
			return outcome{CompiledSubnet, sn.ID}
		}
		return outcome{CompiledNoENI, vp.ID}
	case vpc.TargetIGW:
		return outcome{CompiledIGW, d.Route.Target.ID}
	case vpc.TargetEIGW:
		return outcome{CompiledEIGW, d.Route.Target.ID}
	case vpc.TargetNAT:
		return outcome{CompiledNAT, d.Route.Target.ID}
	case vpc.TargetENI, vpc.TargetInstance:
		return outcome{CompiledENI, v.byID[d.Route.Target.ID].ID}
	case vpc.TargetPeering:
		return outcome{CompiledPeering, d.Route.Target.ID}
	case vpc.TargetEndpoint:
		return outcome{CompiledEndpoint, d.Route.Target.ID}
	}
	return outcome{CompiledBlackhole, d.Route.Target.ID}
}

func viaCompiled(rs []CompiledRoute, a netip.Addr) outcome {
	r, ok := LookupCompiled(rs, a)
	if !ok {
		return outcome{}
	}
	if r.Kind == CompiledBlackhole {
		return outcome{r.Kind, r.From.Target.ID}
	}
	return outcome{r.Kind, r.Target}
}

// interesting addresses: every prefix's first, last and neighbours, every
// instance, host and public address, and random ones.
func probeAddrs(r *rand.Rand, t *vpc.Topology, ct *CompiledTable) []netip.Addr {
	var out []netip.Addr
	for _, c := range ct.Routes {
		a := c.Dest.Masked().Addr()
		out = append(out, a, a.Prev(), a.Next())
		last := a
		for range min(uint(c.Dest.Addr().BitLen()-c.Dest.Bits()), 24) {
			last = last.Next()
		}
		out = append(out, last)
	}
	for _, in := range t.Instances {
		out = append(out, in.PrivateIP, in.PublicIP)
	}
	for _, h := range t.Internet {
		out = append(out, h.IP)
	}
	for range 200 {
		out = append(out, netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(6)), byte(r.IntN(256))}),
			rulestest.RandAddr(r, false))
	}
	var valid []netip.Addr
	for _, a := range out {
		if a.IsValid() {
			valid = append(valid, a)
		}
	}
	return valid
}

// A longest-prefix match over a compiled table decides as the evaluator's
// lookup does, for every route table of random routed topologies.
func TestCompiledTablesMatchLookup(t *testing.T) {
	r := rulestest.Rand(t)
	kinds := map[CompiledKind]int{}
	defer func() {
		for _, k := range []CompiledKind{0, CompiledSubnet, CompiledNoENI, CompiledBlackhole, CompiledIGW, CompiledNAT, CompiledPeering} {
			if kinds[k] == 0 {
				t.Errorf("no address was decided as %v: the cases do not cover it", k)
			}
		}
	}()
	for n := range 300 {
		topo := rulestest.RandRoutedTopology(r)
		// Prefix-list routes too: a list overlapping the static routes.
		topo.PrefixLists = append(topo.PrefixLists, vpc.PrefixList{ID: "pl-a", CIDRs: []netip.Prefix{
			netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("198.51.100.0/26"), netip.MustParsePrefix("192.0.2.0/25")}},
			vpc.PrefixList{ID: "pl-b", CIDRs: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/26"), netip.MustParsePrefix("192.0.2.48/28")}})
		for i := range topo.RouteTables {
			if r.IntN(3) == 0 {
				topo.RouteTables[i].Routes = append(topo.RouteTables[i].Routes, vpc.Route{DestPrefixList: "pl-a", Target: vpc.RouteTarget{Kind: vpc.TargetNAT, ID: "nat-1"}})
			}
			if r.IntN(3) == 0 {
				topo.RouteTables[i].Routes = append(topo.RouteTables[i].Routes, vpc.Route{DestPrefixList: "pl-b", Blackhole: true})
			}
		}
		v := newView(topo)
		rt := CompileRouting(topo)
		for i := range topo.Subnets {
			if rt.SubnetTable[topo.Subnets[i].ID] != v.tableOf(&topo.Subnets[i]).ID {
				t.Fatalf("case %d: subnet %s: table %s, evaluator %s", n, topo.Subnets[i].ID, rt.SubnetTable[topo.Subnets[i].ID], v.tableOf(&topo.Subnets[i]).ID)
			}
		}
		for _, ct := range rt.Tables {
			table := topo.RouteTable(ct.ID)
			for _, a := range probeAddrs(r, topo, &ct) {
				kinds[viaLookup(v, table, a).kind]++
				if got, want := viaCompiled(ct.Routes, a), viaLookup(v, table, a); got != want {
					t.Fatalf("case %d, table %s, %s: compiled %v %q, evaluator %v %q\ncompiled: %v", n, ct.ID, a, got.kind, got.target, want.kind, want.target, ct.Routes)
				}
			}
		}
	}
}

// The local delivery of a VPC (gateways, peerings) names the subnet of
// every address of the VPC, and NO_ENI_AT_ADDRESS elsewhere in its blocks.
func TestCompiledLocalDelivery(t *testing.T) {
	r := rulestest.Rand(t)
	for range 100 {
		topo := rulestest.RandRoutedTopology(r)
		v := newView(topo)
		rt := CompileRouting(topo)
		for i := range topo.VPCs {
			vp := &topo.VPCs[i]
			for range 200 {
				a := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(6)), byte(r.IntN(256))})
				got := viaCompiled(rt.Local[vp.ID], a)
				want := outcome{}
				if vp.Contains(a) {
					want = outcome{CompiledNoENI, vp.ID}
					if sn := v.subnetOf(vp, a); sn != nil {
						want = outcome{CompiledSubnet, sn.ID}
					}
				}
				if got != want {
					t.Fatalf("%s %s: compiled %v %q, want %v %q", vp.ID, a, got.kind, got.target, want.kind, want.target)
				}
			}
		}
	}
}

// Public addresses are the evaluator's: an Elastic IP on a primary address
// releases the auto-assigned one (EIP-9), the NAT gateway's EIP maps its
// private address.
func TestCompiledPublicMappings(t *testing.T) {
	topo := t2()
	rt := CompileRouting(topo)
	got := map[string]string{}
	for _, m := range rt.Public {
		got[m.Public.String()] = m.Private.String() + " " + m.ENI + " " + m.VPC
	}
	want := map[string]string{"203.0.113.10": "10.0.1.10 eni-w vpc-1", "203.0.113.100": "10.0.1.100 eni-ngw vpc-1"}
	if len(got) != len(want) {
		t.Fatalf("public mappings %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s -> %q, want %q", k, got[k], w)
		}
	}
}

// A topology built in code without route tables or gateways (tests,
// benchmarks) compiles as vpcemu VPCs always routed (vpc.Implied, RT-20):
// each subnet by its VPC's main table, a public one by the public table
// through the VPC's internet gateway; its ENIs are named as the plan
// names them.
func TestCompileRoutingOfATopologyBuiltInCode(t *testing.T) {
	pp, pa := netip.MustParsePrefix, netip.MustParseAddr
	topo := &vpc.Topology{
		VPCs: []vpc.VPC{{ID: "vpc-1", CIDR: pp("10.0.0.0/16")}},
		Subnets: []vpc.Subnet{{ID: "subnet-pub", CIDR: pp("10.0.1.0/24"), Public: true},
			{ID: "subnet-priv", CIDR: pp("10.0.2.0/24")}},
		Instances: []vpc.Instance{{ID: "i-web", ENI: vpc.ENI{Subnet: "subnet-pub", PrivateIP: pa("10.0.1.10"), PublicIP: pa("203.0.113.10")}}},
	}
	r := CompileRouting(topo)
	if got := r.SubnetTable["subnet-pub"]; got != vpc.PublicRouteTableID {
		t.Errorf("public subnet routes by %q, want %s", got, vpc.PublicRouteTableID)
	}
	if got := r.SubnetTable["subnet-priv"]; got != vpc.DefaultMainRouteTableID {
		t.Errorf("private subnet routes by %q, want %s", got, vpc.DefaultMainRouteTableID)
	}
	for table, want := range map[string]outcome{vpc.PublicRouteTableID: {CompiledIGW, vpc.DefaultIGWID}, vpc.DefaultMainRouteTableID: {}} {
		ct := r.Table(table)
		if ct == nil {
			t.Fatalf("no table %s: %+v", table, r.Tables)
		}
		if got := viaCompiled(ct.Routes, pa("198.51.100.1")); got != want {
			t.Errorf("%s sends the internet to %v %q, want %v %q", table, got.kind, got.target, want.kind, want.target)
		}
		if got := viaCompiled(ct.Routes, pa("10.0.2.20")); got != (outcome{CompiledSubnet, "subnet-priv"}) {
			t.Errorf("%s delivers 10.0.2.20 as %v %q", table, got.kind, got.target)
		}
	}
	if len(r.Public) != 1 || r.Public[0].ENI != "i-web" || r.Public[0].VPC != "vpc-1" {
		t.Errorf("public mappings %+v, want 203.0.113.10 on i-web's primary ENI (named i-web) in vpc-1", r.Public)
	}
	if len(topo.RouteTables) != 0 || topo.Instances[0].ENI.ID != "" {
		t.Error("CompileRouting changed the topology it was given")
	}
	// A parsed topology is compiled as it is.
	if p := t2(); vpc.Implied(p) != p {
		t.Error("vpc.Implied copied a complete topology")
	}
}
