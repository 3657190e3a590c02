package netns_test

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// These tests build routed topologies without a datapath: the kernel
// forwards by the port rules (`ip rule iif PORT lookup TABLE`), which name
// the same tables the datapath looks up.

func t2(t *testing.T, extra string) *vpc.Topology {
	t.Helper()
	b, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.Topology(t, string(b)+extra)
}

// routeGet is `ip route get DST from SRC iif PORT` in ns.
func routeGet(t *testing.T, ns, dst, src, iif string) (string, error) {
	t.Helper()
	return testenv.Exec(t, ns, "ip", "route", "get", dst, "from", src, "iif", iif)
}

func TestBuildRoutedT2(t *testing.T) {
	testenv.RequireRoot(t)
	// TV-51 (b): both sides route the peer's block to pcx-12.
	topo := t2(t, "")
	for i := range topo.RouteTables {
		rt := &topo.RouteTables[i]
		switch rt.ID {
		case "rtb-p":
			rt.Routes = append(rt.Routes, vpc.Route{Dest: netip.MustParsePrefix("10.1.0.0/16"), Target: vpc.RouteTarget{Kind: vpc.TargetPeering, ID: "pcx-12"}})
		case "rtb-r":
			rt.Routes = append(rt.Routes, vpc.Route{Dest: netip.MustParsePrefix("10.0.0.0/16"), Target: vpc.RouteTarget{Kind: vpc.TargetPeering, ID: "pcx-12"}})
		}
		vpc.SortRoutes(rt.Routes)
	}
	p := testenv.Build(t, topo)
	r1, r2 := p.Routers[0].NS, p.Routers[1].NS
	if r1 != vpc.NSPrefix(topo.Name)+"router" || r2 != vpc.NSPrefix(topo.Name)+"router.vpc-2" {
		t.Fatalf("routers %s, %s", r1, r2)
	}
	ngw := p.NATGateway("nat-1")
	for _, ns := range []string{r1, r2, ngw.NS, p.InternetNS} {
		if !netns.Exists(ns) {
			t.Errorf("namespace %s missing", ns)
		}
	}
	port := func(subnet string) string { return p.Subnet(subnet).UplinkRouterIf }

	t.Run("each subnet routes by its table", func(t *testing.T) {
		for _, tc := range []struct {
			ns, dst, src, iif, want string
		}{
			{r1, "203.0.113.80", "10.0.1.10", port("P"), "via 169.254.100.2 dev igw"}, // rtb-p: igw-1
			{r1, "203.0.113.80", "10.0.2.20", port("Q"), "via 10.0.1.100 dev " + port("P")},
			{r1, "10.1.1.30", "10.0.1.10", port("P"), "dev pcx0"},
			{r1, "10.0.2.20", "10.0.3.5", port("M"), "dev " + port("Q")},
			{r2, "10.0.1.10", "10.1.1.30", port("R"), "dev pcx0"},
		} {
			out, err := routeGet(t, tc.ns, tc.dst, tc.src, tc.iif)
			if err != nil || !strings.Contains(out, tc.want) {
				t.Errorf("%s: %s from %s iif %s: %q, %v; want %q", tc.ns, tc.dst, tc.src, tc.iif, out, err, tc.want)
			}
		}
		// rtb-main has local routes only (TV-44 a).
		if out, err := routeGet(t, r1, "203.0.113.80", "10.0.3.5", port("M")); err == nil {
			t.Errorf("M to the internet: %q, want no route", out)
		}
	})

	t.Run("the peering carries packets both ways", func(t *testing.T) {
		if err := testenv.Ping(host(p, "W").NS, netip.MustParseAddr("10.1.1.30")); err != nil {
			t.Errorf("W -> B over pcx-12: %v", err)
		}
	})

	t.Run("the NAT gateway's ENI is on its subnet's bridge", func(t *testing.T) {
		out, err := testenv.Exec(t, ngw.NS, "ip", "-br", "addr", "show", "eth0")
		if err != nil || !strings.Contains(out, "10.0.1.100/24") {
			t.Errorf("nat-1 eth0: %q, %v", out, err)
		}
		out, err = testenv.Exec(t, r1, "ip", "neigh", "show", "10.0.1.100")
		if err != nil || !strings.Contains(out, "PERMANENT") || !strings.Contains(out, ngw.ENI.MAC.String()) {
			t.Errorf("router's neighbour entry of nat-1: %q, %v", out, err)
		}
		if err := testenv.Ping(host(p, "A").NS, netip.MustParseAddr("10.0.1.100")); err != nil {
			t.Errorf("A -> nat-1's address: %v", err)
		}
	})

	t.Run("a table changes live", func(t *testing.T) {
		n, err := netns.Open(topo.Name)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		tp := *p.Routing.TableOf(r1, p.Routing.Port(p.Subnet("Q").RouterIfindex).Table)
		tp.Routes = append([]vpc.KernelRoute(nil), tp.Routes...)
		for i := range tp.Routes {
			if tp.Routes[i].Dst.Bits() == 0 {
				tp.Routes[i] = vpc.KernelRoute{Dst: tp.Routes[i].Dst, Type: vpc.RouteBlackhole} // nat-1 deleted (TV-50 a)
			}
		}
		if err := n.SetTable(tp); err != nil {
			t.Fatal(err)
		}
		out, err := routeGet(t, r1, "203.0.113.80", "10.0.2.20", port("Q"))
		if err == nil || !strings.Contains(err.Error(), "Invalid argument") {
			t.Errorf("Q to the internet after the blackhole: %q, %v; want a blackhole (EINVAL)", out, err)
		}
	})
}

const multiENIYAML = `
vpc: {id: vpc-m, cidr: 10.5.0.0/16}
subnets:
  - {id: sa, cidr: 10.5.1.0/24}
  - {id: sb, cidr: 10.5.2.0/24}
instances:
  - id: i-fw
    network_interfaces:
      - {id: eni-fw0, device_index: 0, subnet: sa, private_ip: 10.5.1.10, secondary_private_ips: [10.5.1.11]}
      - {id: eni-fw1, device_index: 1, subnet: sb, private_ip: 10.5.2.10, source_dest_check: false}
  - {id: i-b, subnet: sb, private_ip: 10.5.2.20}
`

// ENI-7: each ENI has a table and a rule for packets from its addresses, so
// they leave through it; secondary addresses are on their ENI; an instance
// with the check off forwards.
func TestBuildMultiENIInstance(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, multiENIYAML)
	p := testenv.Build(t, topo)
	fw := host(p, "i-fw")
	if !fw.Forward {
		t.Errorf("i-fw has an ENI with the check off but does not forward")
	}
	for _, tc := range []struct{ src, want string }{
		{"10.5.1.10", "dev eth0"}, {"10.5.1.11", "dev eth0"}, {"10.5.2.10", "dev eth1"},
	} {
		out, err := testenv.Exec(t, fw.NS, "ip", "route", "get", "192.0.2.1", "from", tc.src)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Errorf("from %s: %q, %v; want %s", tc.src, out, err, tc.want)
		}
	}
	out, err := testenv.Exec(t, fw.NS, "cat", "/proc/sys/net/ipv4/ip_forward")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("i-fw ip_forward = %q, %v", out, err)
	}
	// B reaches both of i-fw's ENIs: eth1 on its subnet, eth0's secondary
	// address through the router.
	for _, a := range []string{"10.5.2.10", "10.5.1.11"} {
		if err := testenv.Ping(host(p, "i-b").NS, netip.MustParseAddr(a)); err != nil {
			t.Errorf("i-b -> %s: %v", a, err)
		}
	}
}

// A NAT gateway comes and goes on a live topology, its neighbour entry in
// the router with it.
func TestNATGatewayStepsLive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := t2(t, "")
	p := testenv.Build(t, topo)
	n, err := netns.Open(topo.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	g := *p.NATGateway("nat-1")
	sp := *p.Subnet(g.ENI.SubnetID)
	if err := n.RemoveNATGateway(g, sp); err != nil {
		t.Fatal(err)
	}
	if netns.Exists(g.NS) {
		t.Errorf("%s still there", g.NS)
	}
	if out, _ := testenv.Exec(t, p.RouterNS, "ip", "neigh", "show", "10.0.1.100"); strings.TrimSpace(out) != "" {
		t.Errorf("neighbour entry left: %q", out)
	}
	if err := n.AddNATGateway(g, sp, p.MTU); err != nil {
		t.Fatal(err)
	}
	if err := testenv.Ping(host(p, "W").NS, netip.MustParseAddr("10.0.1.100")); err != nil {
		t.Errorf("W -> nat-1 after adding it again: %v", err)
	}
}
