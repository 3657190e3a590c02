package netns

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/vpc"
)

// privateTable is the router's routing table for subnets without an internet
// gateway route: the VPC-local routes and an unreachable default.
const privateTable = 100

// privateRulePrio is the first `ip rule` priority of those subnets (before main).
const privateRulePrio = 1000

// workers is how many namespaces are created or configured at once. Most of
// the work is serialised in the kernel (RTNL, pernet setup); a few workers
// overlap its waits with our own syscalls.
const workers = 4

// Build creates everything p lays out for t: the router, internet, subnet,
// instance and internet-host namespaces, their veths, bridges, addresses,
// routes and sysctls. Nothing is created in the caller's namespace, and
// nothing links a topology to the host's network. On error everything built
// so far is removed. progress, when not nil, receives short status lines.
func Build(ctx context.Context, p *vpc.Plan, t *vpc.Topology, progress func(msg string)) (err error) {
	if err := checkName(p.Name); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if p.Name != t.Name || len(p.Subnets) != len(t.Subnets) || len(p.Instances) != len(t.Instances) || len(p.Hosts) != len(t.Internet) {
		return fmt.Errorf("build %s: the plan was not made from this topology (vpc.NewPlan)", p.Name)
	}
	// Refuse before creating anything: the cleanup of a failed Build would
	// otherwise remove a running topology of the same name.
	if existing, err := namespaces(p.Name); err != nil {
		return fmt.Errorf("build %s: %w", p.Name, err)
	} else if len(existing) > 0 {
		return fmt.Errorf("build %s: namespace %s is there (the topology is up, or a crashed run left it; down removes it): %w", p.Name, existing[0], ErrExists)
	}
	b := &builder{ctx: ctx, p: p, t: t, progress: progress, ns: map[string]*nsState{}}
	defer func() {
		b.close()
		if err != nil {
			if terr := Teardown(p.Name); terr != nil {
				err = errors.Join(err, terr)
			}
			err = fmt.Errorf("build %s: %w", p.Name, err)
		}
	}()
	if err := b.namespaces(); err != nil {
		return err
	}
	if err := b.links(); err != nil {
		return err
	}
	return b.settle()
}

type builder struct {
	ctx      context.Context
	p        *vpc.Plan
	t        *vpc.Topology
	progress func(string)
	pmu      sync.Mutex
	ns       map[string]*nsState
	bridges  map[string]int // subnet id -> br0 ifindex in the subnet ns
	emu      sync.Mutex
	ends     []end // every veth end created
}

// end is one veth end: its namespace and name.
type end struct {
	ns     *nsState
	ifname string
}

func (b *builder) created(ends ...end) {
	b.emu.Lock()
	b.ends = append(b.ends, ends...)
	b.emu.Unlock()
}

func (b *builder) report(format string, args ...any) {
	if b.progress == nil {
		return
	}
	b.pmu.Lock()
	defer b.pmu.Unlock()
	b.progress(fmt.Sprintf(format, args...))
}

// counter reports "what k/n" at about 20 steps.
func (b *builder) counter(what string, n int) func() {
	var k atomic.Int64
	step := max(1, n/20)
	return func() {
		c := int(k.Add(1))
		if c%step == 0 || c == n {
			b.report("%s %d/%d", what, c, n)
		}
	}
}

func (b *builder) close() {
	for _, st := range b.ns {
		st.close()
	}
}

// No reverse-path filter inherited from the host's settings (IPv4 conf is
// copied from init_net).
var rpSysctls = []sysctl{
	{key: "net/ipv4/conf/all/rp_filter", val: "0"},
	{key: "net/ipv4/conf/default/rp_filter", val: "0"},
}

// IPv6 addresses usable at once, link-local ones included (no DAD), where
// IPv6 is in use: the router, the internet and hosts with an IPv6 address.
var dadSysctls = []sysctl{
	{key: "net/ipv6/conf/all/accept_dad", val: "0"},
	{key: "net/ipv6/conf/default/accept_dad", val: "0"},
}

var forwardSysctls = []sysctl{
	{key: "net/ipv4/ip_forward", val: "1"},
	{key: "net/ipv6/conf/all/forwarding", val: "1"},
}

// Subnet namespaces are pure L2: no IPv6 stack means no link-local address,
// router solicitations or MLD reports of their own on the wire. Their
// bridges skip bridge-netfilter: with br_netfilter in the kernel every
// bridged frame would otherwise go through the IP hooks and a route lookup
// of the subnet namespace (no rules there, but a sixth of a 64-byte packet's
// path in profiles). Absent keys mean no br_netfilter: nothing to turn off.
var l2Sysctls = []sysctl{
	{key: "net/ipv6/conf/all/disable_ipv6", val: "1"},
	{key: "net/ipv6/conf/default/disable_ipv6", val: "1"},
	{key: "net/bridge/bridge-nf-call-iptables", val: "0", optional: true},
	{key: "net/bridge/bridge-nf-call-ip6tables", val: "0", optional: true},
	{key: "net/bridge/bridge-nf-call-arptables", val: "0", optional: true},
}

func with(lists ...[]sysctl) []sysctl {
	var out []sysctl
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func portRange(hp vpc.HostPlan) []sysctl {
	return []sysctl{{key: "net/ipv4/ip_local_port_range", val: strconv.Itoa(hp.EphemeralPorts[0]) + " " + strconv.Itoa(hp.EphemeralPorts[1])}}
}

func (b *builder) namespaces() error {
	p := b.p
	specs := []nsSpec{
		{p.RouterNS, with(rpSysctls, dadSysctls, forwardSysctls)},
		{p.InternetNS, with(rpSysctls, dadSysctls, forwardSysctls)},
	}
	for _, s := range p.Subnets {
		specs = append(specs, nsSpec{s.NS, with(rpSysctls, l2Sysctls)})
	}
	for _, h := range append(slices.Clone(p.Instances), p.Hosts...) {
		ss := with(rpSysctls, portRange(h))
		if h.AddrV6.IsValid() {
			ss = with(ss, dadSysctls)
		}
		specs = append(specs, nsSpec{h.NS, ss})
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.name] {
			return fmt.Errorf("namespace %s planned twice", s.name)
		}
		seen[s.name] = true
	}
	sts, err := createNamespaces(b.ctx, specs, workers, b.counter("namespaces", len(specs)))
	for _, st := range sts {
		b.ns[st.name] = st
	}
	return err
}

func (b *builder) links() error {
	p := b.p
	b.bridges = make(map[string]int, len(p.Subnets))
	var mu sync.Mutex
	tick := b.counter("links", len(p.Subnets)+1+len(p.Hosts)+len(p.Instances))
	// Bridges and uplinks first: every ENI is enslaved to its subnet's bridge.
	err := parallel(len(p.Subnets), workers, func(i int) error {
		idx, err := b.subnet(p.Subnets[i])
		if err != nil {
			return err
		}
		mu.Lock()
		b.bridges[p.Subnets[i].SubnetID] = idx
		mu.Unlock()
		tick()
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.igw(); err != nil {
		return err
	}
	tick()
	n := len(p.Hosts) + len(p.Instances)
	err = parallel(n, workers, func(i int) error {
		if err := b.ctx.Err(); err != nil {
			return err
		}
		var err error
		if i < len(p.Hosts) {
			err = b.host(p.Hosts[i])
		} else {
			err = b.instance(p.Instances[i-len(p.Hosts)])
		}
		if err == nil {
			tick()
		}
		return err
	})
	if err != nil {
		return err
	}
	return b.proxyARP()
}

// step wraps err with the namespace and what was being done there.
func step(ns, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", ns, what, err)
}

// subnet creates the subnet's bridge and its uplink veth to the router, and
// configures the router's end. It returns the bridge's ifindex.
func (b *builder) subnet(s vpc.SubnetPlan) (int, error) {
	sn, rt := b.ns[s.NS], b.ns[b.p.RouterNS]
	off := false
	br := &netlink.Bridge{
		LinkAttrs: netlink.LinkAttrs{Name: s.Bridge, MTU: b.p.MTU, Flags: net.FlagUp, TxQLen: -1},
		// Without a querier, snooping would starve IPv6 neighbour discovery.
		MulticastSnooping: &off,
	}
	if err := sn.h.LinkAdd(br); err != nil {
		return 0, step(s.NS, "add bridge "+s.Bridge, err)
	}
	if br.Index == 0 {
		return 0, step(s.NS, "add bridge "+s.Bridge, errors.New("no ifindex"))
	}
	up := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name: s.UplinkSubnetIf, MTU: b.p.MTU, HardwareAddr: s.SubnetMAC,
			Flags: net.FlagUp, MasterIndex: br.Index, TxQLen: -1,
		},
		PeerName:         s.UplinkRouterIf,
		PeerHardwareAddr: s.RouterMAC,
		PeerNamespace:    netlink.NsFd(rt.fd),
	}
	if err := sn.h.LinkAdd(up); err != nil {
		return 0, step(s.NS, fmt.Sprintf("add veth %s (peer %s/%s)", s.UplinkSubnetIf, b.p.RouterNS, s.UplinkRouterIf), err)
	}
	b.created(end{sn, s.UplinkSubnetIf}, end{rt, s.UplinkRouterIf})
	ridx, err := linkUp(rt, s.UplinkRouterIf)
	if err != nil {
		return 0, step(rt.name, "set "+s.UplinkRouterIf+" up", err)
	}
	if err := addAddr(rt.h, ridx, s.Gateway); err != nil {
		return 0, step(rt.name, fmt.Sprintf("add %s to %s", s.Gateway, s.UplinkRouterIf), err)
	}
	if s.GatewayV6.IsValid() {
		if err := addAddr(rt.h, ridx, s.GatewayV6); err != nil {
			return 0, step(rt.name, fmt.Sprintf("add %s to %s", s.GatewayV6, s.UplinkRouterIf), err)
		}
	}
	return br.Index, nil
}

// igw links the router to the internet namespace and sets up both sides'
// routes, including the policy that keeps non-public subnets off the internet.
func (b *builder) igw() error {
	p, g := b.p, b.p.IGW
	rt, inet := b.ns[p.RouterNS], b.ns[p.InternetNS]
	ll := func(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 64) }
	for _, st := range []*nsState{rt, inet} {
		if err := loUp(st.h); err != nil {
			return step(st.name, "set lo up", err)
		}
	}
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name: g.RouterIf, MTU: p.MTU, HardwareAddr: mac(p.Name, "igw-router"),
			Flags: net.FlagUp, TxQLen: -1,
		},
		PeerName:         g.InternetIf,
		PeerHardwareAddr: mac(p.Name, "igw-internet"),
		PeerNamespace:    netlink.NsFd(inet.fd),
	}
	if err := rt.h.LinkAdd(v); err != nil {
		return step(rt.name, fmt.Sprintf("add veth %s (peer %s/%s)", g.RouterIf, inet.name, g.InternetIf), err)
	}
	b.created(end{rt, g.RouterIf}, end{inet, g.InternetIf})
	ridx := v.Index
	for _, a := range []netip.Prefix{g.RouterAddr, ll(g.RouterLL)} {
		if err := addAddr(rt.h, ridx, a); err != nil {
			return step(rt.name, fmt.Sprintf("add %s to %s", a, g.RouterIf), err)
		}
	}
	iidx, err := linkUp(inet, g.InternetIf)
	if err != nil {
		return step(inet.name, "set "+g.InternetIf+" up", err)
	}
	for _, a := range []netip.Prefix{g.InternetAddr, ll(g.InternetLL)} {
		if err := addAddr(inet.h, iidx, a); err != nil {
			return step(inet.name, fmt.Sprintf("add %s to %s", a, g.InternetIf), err)
		}
	}

	// Router: the public route table's defaults point at the internet gateway.
	for _, gw := range []netip.Addr{g.InternetAddr.Addr(), g.InternetLL} {
		r := &netlink.Route{LinkIndex: ridx, Dst: ipnet(defaultRoute(gw)), Gw: gw.AsSlice()}
		if err := rt.h.RouteAdd(r); err != nil {
			return step(rt.name, fmt.Sprintf("add default route via %s", gw), err)
		}
	}
	if err := b.privateSubnets(rt); err != nil {
		return err
	}

	// Internet: public IPs and the VPC's IPv6 block are behind the gateway.
	for _, in := range b.t.Instances {
		if !in.PublicIP.IsValid() {
			continue
		}
		r := &netlink.Route{LinkIndex: iidx, Dst: ipnet(netip.PrefixFrom(in.PublicIP, in.PublicIP.BitLen())), Gw: g.RouterAddr.Addr().AsSlice()}
		if err := inet.h.RouteAdd(r); err != nil {
			return step(inet.name, fmt.Sprintf("add route %s via %s", in.PublicIP, g.RouterAddr.Addr()), err)
		}
	}
	for _, c := range b.vpcV6() {
		r := &netlink.Route{LinkIndex: iidx, Dst: ipnet(c), Gw: g.RouterLL.AsSlice()}
		if err := inet.h.RouteAdd(r); err != nil {
			return step(inet.name, fmt.Sprintf("add route %s via %s", c, g.RouterLL), err)
		}
	}
	return nil
}

// vpcV6 is what the internet routes to the VPC over IPv6: the VPC's block, or
// the subnets' blocks when the VPC itself carries none.
func (b *builder) vpcV6() []netip.Prefix {
	if b.t.VPCs[0].IPv6CIDR.IsValid() {
		return []netip.Prefix{b.t.VPCs[0].IPv6CIDR.Masked()}
	}
	var out []netip.Prefix
	for _, s := range b.t.Subnets {
		if s.IPv6CIDR.IsValid() {
			out = append(out, s.IPv6CIDR.Masked())
		}
	}
	return out
}

// privateSubnets sends traffic from subnets whose route table has no internet
// gateway route to privateTable, which knows only the VPC's own subnets.
func (b *builder) privateSubnets(rt *nsState) error {
	var private []vpc.Subnet
	for _, s := range b.t.Subnets {
		if !s.Public {
			private = append(private, s)
		}
	}
	if len(private) == 0 {
		return nil
	}
	for i, sp := range b.p.Subnets {
		s := b.t.Subnets[i]
		idx, err := linkIndex(rt, sp.UplinkRouterIf)
		if err != nil {
			return step(rt.name, "find "+sp.UplinkRouterIf, err)
		}
		for _, c := range []netip.Prefix{s.CIDR, s.IPv6CIDR} {
			if !c.IsValid() {
				continue
			}
			r := &netlink.Route{LinkIndex: idx, Dst: ipnet(c.Masked()), Scope: netlink.SCOPE_LINK, Table: privateTable}
			if c.Addr().Is6() {
				r.Scope = netlink.SCOPE_UNIVERSE
			}
			if err := rt.h.RouteAdd(r); err != nil {
				return step(rt.name, fmt.Sprintf("add route %s dev %s table %d", c, sp.UplinkRouterIf, privateTable), err)
			}
		}
	}
	for _, z := range []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")} {
		r := &netlink.Route{Dst: ipnet(z), Type: unix.RTN_UNREACHABLE, Table: privateTable}
		if err := rt.h.RouteAdd(r); err != nil {
			return step(rt.name, fmt.Sprintf("add unreachable %s table %d", z, privateTable), err)
		}
	}
	for i, s := range private {
		for _, c := range []netip.Prefix{s.CIDR, s.IPv6CIDR} {
			if !c.IsValid() {
				continue
			}
			r := netlink.NewRule()
			r.Priority = privateRulePrio + i
			r.Src = ipnet(c.Masked())
			r.Table = privateTable
			r.Family = unix.AF_INET
			if c.Addr().Is6() {
				r.Family = unix.AF_INET6
			}
			if err := rt.h.RuleAdd(r); err != nil {
				return step(rt.name, fmt.Sprintf("add rule from %s lookup %d", c, privateTable), err)
			}
		}
	}
	return nil
}

// host links an internet host to the internet namespace. The host has a /32
// and an on-link default route; the internet side answers its ARP by proxy.
func (b *builder) host(hp vpc.HostPlan) error {
	hs, inet := b.ns[hp.NS], b.ns[hp.PeerNS]
	idx, err := b.veth(hs, hp, inet)
	if err != nil {
		return err
	}
	if err := addAddr(hs.h, idx, hp.Addr); err != nil {
		return step(hs.name, fmt.Sprintf("add %s to %s", hp.Addr, hp.IfName), err)
	}
	r := &netlink.Route{LinkIndex: idx, Dst: ipnet(netip.MustParsePrefix("0.0.0.0/0")), Scope: netlink.SCOPE_LINK}
	if err := hs.h.RouteAdd(r); err != nil {
		return step(hs.name, "add default route dev "+hp.IfName, err)
	}
	if hp.AddrV6.IsValid() {
		if err := addAddr(hs.h, idx, hp.AddrV6); err != nil {
			return step(hs.name, fmt.Sprintf("add %s to %s", hp.AddrV6, hp.IfName), err)
		}
		r := &netlink.Route{LinkIndex: idx, Dst: ipnet(netip.MustParsePrefix("::/0")), Gw: hp.GatewayV6.AsSlice()}
		if err := hs.h.RouteAdd(r); err != nil {
			return step(hs.name, fmt.Sprintf("add default route via %s", hp.GatewayV6), err)
		}
	}
	pidx, err := linkUp(inet, hp.PeerIf)
	if err != nil {
		return step(inet.name, "set "+hp.PeerIf+" up", err)
	}
	r = &netlink.Route{LinkIndex: pidx, Dst: ipnet(hp.Addr), Scope: netlink.SCOPE_LINK}
	if err := inet.h.RouteAdd(r); err != nil {
		return step(inet.name, fmt.Sprintf("add route %s dev %s", hp.Addr, hp.PeerIf), err)
	}
	if hp.AddrV6.IsValid() {
		ll := netip.PrefixFrom(hp.GatewayV6, 64)
		if err := addAddr(inet.h, pidx, ll); err != nil {
			return step(inet.name, fmt.Sprintf("add %s to %s", ll, hp.PeerIf), err)
		}
		r := &netlink.Route{LinkIndex: pidx, Dst: ipnet(netip.PrefixFrom(hp.AddrV6.Addr(), 128))}
		if err := inet.h.RouteAdd(r); err != nil {
			return step(inet.name, fmt.Sprintf("add route %s dev %s", hp.AddrV6.Addr(), hp.PeerIf), err)
		}
	}
	return nil
}

// instance links an instance's eth0 to an ENI port on its subnet's bridge.
func (b *builder) instance(hp vpc.HostPlan) error {
	is, sn := b.ns[hp.NS], b.ns[hp.PeerNS]
	idx, err := b.veth(is, hp, sn)
	if err != nil {
		return err
	}
	if err := addAddr(is.h, idx, hp.Addr); err != nil {
		return step(is.name, fmt.Sprintf("add %s to %s", hp.Addr, hp.IfName), err)
	}
	r := &netlink.Route{LinkIndex: idx, Dst: ipnet(netip.MustParsePrefix("0.0.0.0/0")), Gw: hp.Gateway.AsSlice()}
	if err := is.h.RouteAdd(r); err != nil {
		return step(is.name, fmt.Sprintf("add default route via %s", hp.Gateway), err)
	}
	if hp.AddrV6.IsValid() {
		if err := addAddr(is.h, idx, hp.AddrV6); err != nil {
			return step(is.name, fmt.Sprintf("add %s to %s", hp.AddrV6, hp.IfName), err)
		}
		r := &netlink.Route{LinkIndex: idx, Dst: ipnet(netip.MustParsePrefix("::/0")), Gw: hp.GatewayV6.AsSlice()}
		if err := is.h.RouteAdd(r); err != nil {
			return step(is.name, fmt.Sprintf("add default route via %s", hp.GatewayV6), err)
		}
	}
	br, ok := b.bridges[hp.SubnetID]
	if !ok {
		return step(sn.name, "find bridge", fmt.Errorf("no bridge for subnet %s", hp.SubnetID))
	}
	pidx, err := linkIndex(sn, hp.PeerIf)
	if err != nil {
		return step(sn.name, "find "+hp.PeerIf, err)
	}
	if err := sn.h.LinkSetMasterByIndex(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: pidx}}, br); err != nil {
		return step(sn.name, "enslave "+hp.PeerIf+" to bridge", err)
	}
	if err := sn.h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: pidx}}); err != nil {
		return step(sn.name, "set "+hp.PeerIf+" up", err)
	}
	return nil
}

// veth creates hp's eth0 (up, with lo) inside its own namespace, its peer
// going straight into peer's namespace; it returns eth0's ifindex.
func (b *builder) veth(own *nsState, hp vpc.HostPlan, peer *nsState) (int, error) {
	if err := loUp(own.h); err != nil {
		return 0, step(own.name, "set lo up", err)
	}
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{
			Name: hp.IfName, MTU: b.p.MTU, HardwareAddr: hp.MAC, Flags: net.FlagUp, TxQLen: -1,
		},
		PeerName:         hp.PeerIf,
		PeerHardwareAddr: hp.PeerMAC,
		PeerNamespace:    netlink.NsFd(peer.fd),
	}
	if err := own.h.LinkAdd(v); err != nil {
		return 0, step(own.name, fmt.Sprintf("add veth %s (peer %s/%s)", hp.IfName, peer.name, hp.PeerIf), err)
	}
	b.created(end{own, hp.IfName}, end{peer, hp.PeerIf})
	if v.Index == 0 {
		return 0, step(own.name, "add veth "+hp.IfName, errors.New("no ifindex"))
	}
	return v.Index, nil
}

// settle makes every link ready to send before Build returns: each veth end's
// pending link-watch event is run synchronously (see syncLink), and its
// carrier must be on, since both ends are up.
func (b *builder) settle() error {
	return parallel(len(b.ends), workers, func(i int) error {
		e := b.ends[i]
		up, err := syncLink(e.ns.sock, e.ifname)
		if err != nil {
			return step(e.ns.name, "link state of "+e.ifname, err)
		}
		if !up {
			return step(e.ns.name, "link state of "+e.ifname, errors.New("no carrier"))
		}
		return nil
	})
}

// proxyARP turns on proxy ARP on the internet side of each host link, so a
// host's on-link default route reaches every other address the internet routes.
// Proxy replies are otherwise delayed by a random 0..0.8 s (proxy_delay), long
// enough for a client's first packets to time out.
func (b *builder) proxyARP() error {
	if len(b.p.Hosts) == 0 {
		return nil
	}
	return Do(b.p.InternetNS, func() error {
		for _, hp := range b.p.Hosts {
			for _, s := range []sysctl{
				{key: "net/ipv4/conf/" + hp.PeerIf + "/proxy_arp", val: "1"},
				{key: "net/ipv4/neigh/" + hp.PeerIf + "/proxy_delay", val: "0"},
			} {
				if err := writeSysctl(s.key, s.val); err != nil {
					return step(b.p.InternetNS, hp.PeerIf, err)
				}
			}
		}
		return nil
	})
}

func loUp(h *netlink.Handle) error {
	// A new namespace's loopback is always ifindex 1.
	return h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}})
}

// linkIndex returns the ifindex of interface name in st's namespace. An
// ioctl, not a netlink lookup: RTM_GETLINK answers with every attribute of
// the link (statistics, IPv6 settings...), a cost that adds up over a
// thousand instances.
func linkIndex(st *nsState, name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(st.sock, unix.SIOCGIFINDEX, ifr); err != nil {
		return 0, fmt.Errorf("find %s: %w", name, err)
	}
	return int(ifr.Uint32()), nil
}

func linkUp(st *nsState, name string) (int, error) {
	idx, err := linkIndex(st, name)
	if err != nil {
		return 0, err
	}
	return idx, st.h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}})
}

// addAddr adds a; IPv6 addresses skip duplicate address detection so they
// are usable at once.
func addAddr(h *netlink.Handle, idx int, a netip.Prefix) error {
	if !a.IsValid() {
		return fmt.Errorf("invalid address %v", a)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
	if a.Addr().Is6() {
		addr.Flags = unix.IFA_F_NODAD
	}
	return h.AddrAdd(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}}, addr)
}

func defaultRoute(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.MustParsePrefix("0.0.0.0/0")
	}
	return netip.MustParsePrefix("::/0")
}

func ipnet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// mac derives a stable, locally administered unicast MAC the way vpc.NewPlan
// does, for the IGW veth whose MACs the plan does not carry.
func mac(parts ...string) net.HardwareAddr {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	m := net.HardwareAddr(h.Sum(nil)[:6])
	m[0] = (m[0] &^ 0x01) | 0x02
	return m
}
