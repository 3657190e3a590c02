package netns_test

// These tests build real topologies: namespaces named after a per-test
// topology name (testenv.Name), torn down in t.Cleanup. Traffic only flows
// between the test's own namespaces.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// handleAt opens a netlink handle inside ns for inspection.
func handleAt(t *testing.T, ns string) *netlink.Handle {
	t.Helper()
	nh, err := vnetns.GetFromPath(netns.Path(ns))
	if err != nil {
		t.Fatalf("open %s: %v", ns, err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		t.Fatalf("netlink in %s: %v", ns, err)
	}
	t.Cleanup(h.Close)
	return h
}

func host(p *vpc.Plan, id string) vpc.HostPlan {
	for _, h := range append(slices.Clone(p.Instances), p.Hosts...) {
		if h.ID == id {
			return h
		}
	}
	panic("no host " + id)
}

func mustPing(t *testing.T, p *vpc.Plan, from string, to netip.Addr) {
	t.Helper()
	if err := testenv.Ping(host(p, from).NS, to); err != nil {
		t.Errorf("ping %s -> %s: %v", from, to, err)
	}
}

func TestBuildLab(t *testing.T) {
	testenv.RequireRoot(t)
	topo := labTopology()
	p := testenv.Build(t, topo)

	t.Run("every planned namespace exists", func(t *testing.T) {
		want := []string{p.RouterNS, p.InternetNS}
		for _, s := range p.Subnets {
			want = append(want, s.NS)
		}
		for _, h := range append(slices.Clone(p.Instances), p.Hosts...) {
			want = append(want, h.NS)
		}
		for _, ns := range want {
			if !netns.Exists(ns) {
				t.Errorf("namespace %s missing", ns)
			}
		}
		names, err := netns.List()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(names, p.Name) {
			t.Errorf("List() = %v, want it to contain %s", names, p.Name)
		}
	})

	t.Run("links carry the plan's names, MACs and MTU", func(t *testing.T) {
		for _, hp := range append(slices.Clone(p.Instances), p.Hosts...) {
			for _, end := range []struct {
				ns, ifname string
				mac        string
			}{{hp.NS, hp.IfName, hp.MAC.String()}, {hp.PeerNS, hp.PeerIf, hp.PeerMAC.String()}} {
				l, err := handleAt(t, end.ns).LinkByName(end.ifname)
				if err != nil {
					t.Errorf("%s/%s: %v", end.ns, end.ifname, err)
					continue
				}
				a := l.Attrs()
				if a.HardwareAddr.String() != end.mac || a.MTU != vpc.DefaultMTU || a.OperState != netlink.OperUp {
					t.Errorf("%s/%s: mac %s mtu %d state %s, want %s %d up", end.ns, end.ifname, a.HardwareAddr, a.MTU, a.OperState, end.mac, vpc.DefaultMTU)
				}
			}
		}
		for _, s := range p.Subnets {
			sh := handleAt(t, s.NS)
			br, err := sh.LinkByName(s.Bridge)
			if err != nil {
				t.Fatalf("%s/%s: %v", s.NS, s.Bridge, err)
			}
			ports := []string{s.UplinkSubnetIf}
			for _, in := range p.Instances {
				if in.SubnetID == s.SubnetID {
					ports = append(ports, in.PeerIf)
				}
			}
			for _, port := range ports {
				l, err := sh.LinkByName(port)
				if err != nil {
					t.Errorf("%s/%s: %v", s.NS, port, err)
				} else if l.Attrs().MasterIndex != br.Attrs().Index {
					t.Errorf("%s/%s is not a port of %s", s.NS, port, s.Bridge)
				}
			}
			addrs, err := sh.AddrList(nil, netlink.FAMILY_ALL)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range addrs {
				if !a.IP.IsLoopback() {
					t.Errorf("subnet namespace %s has address %s; it should be pure L2", s.NS, a.IPNet)
				}
			}
		}
	})

	t.Run("instances reach each other in and across subnets", func(t *testing.T) {
		mustPing(t, p, "i-web", netip.MustParseAddr("10.0.1.11")) // same subnet
		mustPing(t, p, "i-app", netip.MustParseAddr("10.0.1.10"))
		mustPing(t, p, "i-web", netip.MustParseAddr("10.0.2.20")) // across the router
		mustPing(t, p, "i-db", netip.MustParseAddr("10.0.1.11"))
		mustPing(t, p, "i-web", netip.MustParseAddr("2600:1f18:1234:5602::20"))
		mustPing(t, p, "i-web", netip.MustParseAddr("10.0.1.1")) // the VPC router
	})

	t.Run("LinkStats counts the packets of a ping", func(t *testing.T) {
		web := host(p, "i-web")
		rx0, tx0, err := netns.LinkStats(web.PeerNS, web.PeerIf)
		if err != nil {
			t.Fatal(err)
		}
		mustPing(t, p, "i-web", netip.MustParseAddr("10.0.1.11"))
		rx1, tx1, err := netns.LinkStats(web.PeerNS, web.PeerIf)
		if err != nil {
			t.Fatal(err)
		}
		// The ENI end receives what the instance sends, and sends it what it receives.
		if rx1 <= rx0 || tx1 <= tx0 {
			t.Errorf("%s/%s: rx %d -> %d, tx %d -> %d; want both to grow", web.PeerNS, web.PeerIf, rx0, rx1, tx0, tx1)
		}
		if _, _, err := netns.LinkStats(web.PeerNS, "nosuch0"); err == nil {
			t.Error("LinkStats of a missing interface: no error")
		}
	})

	t.Run("internet hosts reach each other through the internet namespace", func(t *testing.T) {
		mustPing(t, p, "laptop", netip.MustParseAddr("192.0.2.66"))
		mustPing(t, p, "stranger", netip.MustParseAddr("203.0.113.80"))
		mustPing(t, p, "website", netip.MustParseAddr("198.51.100.10"))
		mustPing(t, p, "website", netip.MustParseAddr("2001:db8:10::10"))
	})

	t.Run("only public subnets route to the internet", func(t *testing.T) {
		// IPv6 needs no NAT, so it shows the routing directly.
		mustPing(t, p, "i-web", netip.MustParseAddr("2001:db8:10::10"))
		mustPing(t, p, "laptop", netip.MustParseAddr("2600:1f18:1234:5601::10"))
		err := testenv.Ping(host(p, "i-db").NS, netip.MustParseAddr("2001:db8:10::10"))
		if !errors.Is(err, testenv.ErrUnreachable) {
			t.Errorf("ping i-db -> laptop over IPv6: got %v, want %v", err, testenv.ErrUnreachable)
		}
		// IPv4 needs the IGW NAT (loader), so ask the router's FIB instead.
		out, err := testenv.Exec(t, p.RouterNS, "ip", "route", "get", "198.51.100.10", "from", "10.0.1.10", "iif", "sn0")
		if err != nil || !strings.Contains(out, "via 169.254.100.2 dev igw") {
			t.Errorf("public subnet to the internet: %q, %v; want via 169.254.100.2 dev igw", out, err)
		}
		out, err = testenv.Exec(t, p.RouterNS, "ip", "route", "get", "198.51.100.10", "from", "10.0.2.20", "iif", "sn1")
		if err == nil || !strings.Contains(err.Error(), "Network is unreachable") {
			t.Errorf("private subnet to the internet: %q, %v; want no route (network unreachable)", out, err)
		}
		out, err = testenv.Exec(t, p.RouterNS, "ip", "route", "get", "10.0.1.10", "from", "10.0.2.20", "iif", "sn1")
		if err != nil || !strings.Contains(out, "dev sn0") {
			t.Errorf("private subnet to the public subnet: %q, %v; want dev sn0", out, err)
		}
		out, err = testenv.Exec(t, p.InternetNS, "ip", "route", "get", "203.0.113.10", "from", "198.51.100.10", "iif", "h0")
		if err != nil || !strings.Contains(out, "via 169.254.100.1 dev igw") {
			t.Errorf("internet to i-web's public IP: %q, %v; want via 169.254.100.1 dev igw", out, err)
		}
	})

	t.Run("ephemeral port range follows the os profile", func(t *testing.T) {
		for _, tc := range []struct{ id, want string }{
			{"i-web", "32768\t60999"}, // amazon-linux
			{"i-app", "49152\t65535"}, // windows
			{"laptop", "49152\t65535"},
			{"stranger", "32768\t60999"},
		} {
			out, err := testenv.Exec(t, host(p, tc.id).NS, "cat", "/proc/sys/net/ipv4/ip_local_port_range")
			if err != nil || strings.TrimSpace(out) != tc.want {
				t.Errorf("%s: ip_local_port_range = %q, %v; want %q", tc.id, out, err, tc.want)
			}
		}
	})

	t.Run("sysctls land in the namespaces, not the host", func(t *testing.T) {
		for _, tc := range []struct{ ns, key, want string }{
			{p.RouterNS, "net/ipv4/ip_forward", "1"},
			{p.RouterNS, "net/ipv6/conf/all/forwarding", "1"},
			{p.InternetNS, "net/ipv4/conf/h0/proxy_arp", "1"},
			{p.InternetNS, "net/ipv4/conf/igw/proxy_arp", "0"},
			{p.InternetNS, "net/ipv4/neigh/h2/proxy_delay", "0"},
			{host(p, "i-web").NS, "net/ipv6/conf/eth0/accept_dad", "0"},
			{host(p, "i-web").NS, "net/ipv4/conf/all/rp_filter", "0"},
			{host(p, "i-web").NS, "net/ipv4/conf/eth0/rp_filter", "0"},
			{p.Subnets[0].NS, "net/ipv6/conf/br0/disable_ipv6", "1"},
		} {
			out, err := testenv.Exec(t, tc.ns, "cat", "/proc/sys/"+tc.key)
			if err != nil || strings.TrimSpace(out) != tc.want {
				t.Errorf("%s: %s = %q, %v; want %q", tc.ns, tc.key, out, err, tc.want)
			}
		}
	})

	t.Run("subnet bridges skip bridge-netfilter", func(t *testing.T) {
		if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
			t.Skip("kernel without br_netfilter: nothing to turn off")
		}
		for _, s := range p.Subnets {
			for _, k := range []string{"iptables", "ip6tables", "arptables"} {
				key := "/proc/sys/net/bridge/bridge-nf-call-" + k
				out, err := testenv.Exec(t, s.NS, "cat", key)
				if err != nil || strings.TrimSpace(out) != "0" {
					t.Errorf("%s: %s = %q, %v; want 0", s.NS, key, out, err)
				}
			}
		}
	})
}

func TestEphemeralPortsEveryOSProfile(t *testing.T) {
	testenv.RequireRoot(t)
	topo := labTopology()
	topo.Instances = nil
	for i, os := range vpc.OSProfiles {
		topo.Instances = append(topo.Instances, vpc.Instance{
			ID:  "i-" + os,
			ENI: vpc.ENI{ID: "eni-" + os, Subnet: "subnet-public", PrivateIP: netip.AddrFrom4([4]byte{10, 0, 1, byte(10 + i)})},
			OS:  os,
		})
	}
	p := testenv.Build(t, topo)
	for _, in := range topo.Instances {
		lo, hi := vpc.EphemeralPorts(in.OS)
		want := fmt.Sprintf("%d\t%d", lo, hi)
		out, err := testenv.Exec(t, host(p, in.ID).NS, "cat", "/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("os %s: ip_local_port_range = %q, %v; want %q", in.OS, out, err, want)
		}
	}
}

// The built-in lab, as `vpcemu up` builds it, before any filtering or NAT.
func TestBuildBuiltinLab(t *testing.T) {
	testenv.RequireRoot(t)
	p := testenv.Build(t, testenv.Lab(t))
	mustPing(t, p, "i-web", netip.MustParseAddr("10.0.2.20"))
	mustPing(t, p, "i-db", netip.MustParseAddr("10.0.1.10"))
	mustPing(t, p, "laptop", netip.MustParseAddr("203.0.113.80"))
	mustPing(t, p, "stranger", netip.MustParseAddr("198.51.100.10"))
	for id, want := range map[string]string{"i-web": "32768\t60999", "i-db": "32768\t60999", "laptop": "49152\t65535", "website": "32768\t60999"} {
		out, err := testenv.Exec(t, host(p, id).NS, "cat", "/proc/sys/net/ipv4/ip_local_port_range")
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("%s: ip_local_port_range = %q, %v; want %q", id, out, err, want)
		}
	}
}

// snapshot is what the host's own namespace shows of links, addresses,
// routes and rules.
func snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		fmt.Fprintf(&b, "link %d %s %s\n", l.Attrs().Index, l.Attrs().Name, l.Type())
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		fmt.Fprintf(&b, "addr %d %s\n", a.LinkIndex, a.IPNet)
	}
	routes, err := netlink.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		fmt.Fprintf(&b, "route %s\n", r)
	}
	rules, err := netlink.RuleList(netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "rule %s\n", r)
	}
	// The host's own sysctls, which Build writes in every namespace it makes.
	for _, k := range []string{"net/ipv4/ip_local_port_range", "net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding",
		"net/ipv6/conf/default/accept_dad", "net/ipv4/conf/all/rp_filter", "net/ipv6/conf/default/disable_ipv6"} {
		v, err := os.ReadFile("/proc/sys/" + k)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "sysctl %s = %s", k, v)
	}
	return b.String()
}

func TestBuildIsSealed(t *testing.T) {
	testenv.RequireRoot(t)
	before := snapshot(t)
	p := testenv.Build(t, labTopology())
	if after := snapshot(t); after != before {
		t.Errorf("the host's namespace changed during Build:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	root, err := vnetns.GetFromPath("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	all := []string{p.RouterNS, p.InternetNS}
	for _, s := range p.Subnets {
		all = append(all, s.NS)
	}
	for _, h := range append(slices.Clone(p.Instances), p.Hosts...) {
		all = append(all, h.NS)
	}
	veths := 0
	for _, ns := range all {
		h := handleAt(t, ns)
		links, err := h.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		// Listing links assigns ids to the peers' namespaces; only then is
		// the host's id (if it has one here at all) comparable.
		rootID, err := h.GetNetNsIdByFd(int(root))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if l.Type() != "veth" {
				continue
			}
			veths++
			if l.Attrs().NetNsID < 0 {
				t.Errorf("%s/%s: peer in the same namespace; every veth should cross namespaces", ns, l.Attrs().Name)
			} else if l.Attrs().NetNsID == rootID {
				t.Errorf("%s/%s: peer is in the host's namespace", ns, l.Attrs().Name)
			}
		}
		for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
			routes, err := h.RouteListFiltered(fam, &netlink.Route{Table: 0}, netlink.RT_FILTER_TABLE)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range routes {
				if r.Dst != nil && r.Dst.IP.IsLoopback() {
					continue
				}
				link, err := h.LinkByIndex(r.LinkIndex)
				if r.LinkIndex != 0 && (err != nil || link.Type() != "veth" && link.Type() != "bridge" && link.Attrs().Name != "lo") {
					t.Errorf("%s: route %s uses a link outside the topology", ns, r)
				}
			}
		}
	}
	// Two ends per veth: every host, instance, subnet uplink and the IGW.
	if want := 2 * (len(p.Instances) + len(p.Hosts) + len(p.Subnets) + 1); veths != want {
		t.Errorf("found %d veth ends in the topology, want %d", veths, want)
	}
}

func TestBuildFailureLeavesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	topo := labTopology()
	topo.Name = testenv.Name(t)
	t.Cleanup(func() { netns.Teardown(topo.Name) })
	// Last, so that everything else is built first: a private IP outside its
	// subnet makes the default route's gateway unreachable, which the kernel
	// refuses. (vpc.Parse would reject this file; Build must not trust that.)
	bad := topo.Instances[0]
	bad.ID, bad.ENI.ID, bad.PrivateIP, bad.PublicIP, bad.IPv6 = "i-bad", "eni-bad", netip.MustParseAddr("10.0.9.9"), netip.Addr{}, netip.Addr{}
	topo.Instances = append(topo.Instances, bad)
	var progress []string
	err := netns.Build(context.Background(), rules.NewPlan(topo), topo, func(m string) { progress = append(progress, m) })
	if err == nil {
		t.Fatal("Build succeeded with an instance outside its subnet")
	}
	if !strings.Contains(err.Error(), "i.i-bad") || !strings.Contains(err.Error(), "default route via 10.0.1.1") {
		t.Errorf("error %q does not name the namespace and the step", err)
	}
	if len(progress) == 0 {
		t.Error("no progress reported")
	}
	assertGone(t, topo.Name)
}

func TestBuildCancelledLeavesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	topo, err := vpc.Parse("generated.yaml", vpc.Generate(testenv.Name(t), 20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.Teardown(topo.Name) })
	ctx, cancel := context.WithCancel(context.Background())
	err = netns.Build(ctx, rules.NewPlan(topo), topo, func(m string) {
		if strings.HasPrefix(m, "links") {
			cancel()
		}
	})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build = %v, want %v", err, context.Canceled)
	}
	assertGone(t, topo.Name)
}

func assertGone(t *testing.T, name string) {
	t.Helper()
	ents, err := os.ReadDir(netns.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), vpc.NSPrefix(name)) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
	if names, _ := netns.List(); slices.Contains(names, name) {
		t.Errorf("List() still has %s", name)
	}
}

func TestBuildRefusesARunningTopology(t *testing.T) {
	testenv.RequireRoot(t)
	topo := labTopology()
	p := testenv.Build(t, topo)
	err := netns.Build(context.Background(), p, topo, nil)
	if !errors.Is(err, netns.ErrExists) {
		t.Fatalf("second Build = %v, want %v", err, netns.ErrExists)
	}
	// The refusal must not have torn the running topology down.
	if !netns.Exists(p.RouterNS) {
		t.Fatal("second Build removed the running topology")
	}
	mustPing(t, p, "i-web", netip.MustParseAddr("10.0.2.20"))
}

func TestTwoTopologiesCoexist(t *testing.T) {
	testenv.RequireRoot(t)
	// Same addresses, same interface names: only the topology name differs.
	a := testenv.Build(t, labTopology())
	b := testenv.Build(t, labTopology())
	for _, p := range []*vpc.Plan{a, b} {
		mustPing(t, p, "i-web", netip.MustParseAddr("10.0.2.20"))
		mustPing(t, p, "laptop", netip.MustParseAddr("203.0.113.80"))
	}
	if err := netns.Teardown(a.Name); err != nil {
		t.Fatal(err)
	}
	assertGone(t, a.Name)
	if !netns.Exists(b.RouterNS) {
		t.Fatal("tearing down one topology removed the other")
	}
	mustPing(t, b, "i-web", netip.MustParseAddr("10.0.2.20"))
}

func TestTeardownRemovesLeftovers(t *testing.T) {
	testenv.RequireRoot(t)
	name := testenv.Name(t)
	t.Cleanup(func() { netns.Teardown(name) })
	// A crashed run: one namespace mounted by iproute2, one file never mounted.
	if out, err := exec.Command("ip", "netns", "add", vpc.NSPrefix(name)+"i.i-crashed").CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	if err := os.WriteFile(netns.Path(vpc.NSPrefix(name)+"h.half"), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	if names, _ := netns.List(); !slices.Contains(names, name) {
		t.Errorf("List() = %v, want it to contain %s", names, name)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := netns.Teardown(name); err != nil {
			t.Fatalf("Teardown #%d: %v", i+1, err)
		}
	}
	assertGone(t, name)
	if err := netns.Teardown("never-built-" + name[:3]); err != nil {
		t.Errorf("Teardown of a topology that never existed: %v", err)
	}
	if err := netns.Teardown("../etc"); err == nil {
		t.Error("Teardown accepted a name outside [a-z0-9-]")
	}
}
