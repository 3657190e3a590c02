package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/vpc"
)

// The steps. Each adds or removes one object of a live topology, from a
// plan entry (vpc.Plan); Build is their application in dependency order:
//
//	AddRouter, AddInternet          namespaces that route
//	AddSubnet                       a subnet's bridge and its uplink to its router
//	AddInstance, AddENI             an instance's namespace, each of its ENIs
//	AddNATGateway                   a NAT gateway's namespace and ENI
//	AddLink                         an internet or egress-only gateway, a peering, a gateway endpoint (and its service)
//	AddHost                         an internet host
//	SetTable, SetPortRule           a kernel routing table's contents; the table a port routes by
//
// and their Remove counterparts. A step only touches the namespaces its
// object lives in and its neighbours' entries for it (a router's
// permanent neighbour entries of an ENI). The datapath's steps live in
// loader; lab runs both.

// nsSpec constructors: the sysctls each kind of namespace needs before any
// link exists (links inherit conf/default at creation).

func routerSpec(ns string) nsSpec {
	return nsSpec{name: ns, lo: true, sysctls: with(rpSysctls, dadSysctls, forwardSysctls, noRedirects)}
}

func subnetSpec(s vpc.SubnetPlan) nsSpec {
	return nsSpec{name: s.NS, sysctls: with(rpSysctls, l2Sysctls)}
}

// instanceSpec is an instance's or an internet host's namespace.
func instanceSpec(h vpc.HostPlan, v6 bool) nsSpec {
	s := nsSpec{name: h.NS, lo: true, sysctls: with(rpSysctls, portRange(h))}
	if v6 || h.AddrV6.IsValid() {
		s.sysctls = with(s.sysctls, dadSysctls)
	}
	if h.Forward {
		s.sysctls = with(s.sysctls, forwardSysctls)
	}
	return s
}

func natSpec(g vpc.NATPlan) nsSpec {
	return nsSpec{name: g.NS, lo: true, sysctls: with(rpSysctls, forwardSysctls, noRedirects)}
}

func serviceSpec(s vpc.ServicePlan) nsSpec {
	return nsSpec{name: s.NS, lo: true, sysctls: with(rpSysctls, dadSysctls)}
}

// Routers answer ARP and forward what the datapath passes up; redirects
// would tell instances about other subnets' hosts, which AWS never does.
var noRedirects = []sysctl{
	{key: "net/ipv4/conf/all/send_redirects", val: "0"},
	{key: "net/ipv4/conf/default/send_redirects", val: "0"},
}

// AddRouter creates the router namespace of a VPC.
func (n *Net) AddRouter(r vpc.RouterPlan) error {
	return n.create([]nsSpec{routerSpec(r.NS)}, nil)
}

// RemoveRouter deletes a VPC's router namespace, and with it every link
// that ends there.
func (n *Net) RemoveRouter(r vpc.RouterPlan) error { return n.remove(r.NS) }

// AddInternet creates the internet namespace.
func (n *Net) AddInternet(ns string) error {
	return n.create([]nsSpec{routerSpec(ns)}, nil)
}

// AddSubnet creates a subnet: its namespace with bridge br0, and the
// uplink veth to its VPC's router, whose end holds the subnet's base+1 (and
// base::1) and has the port's interface index.
func (n *Net) AddSubnet(s vpc.SubnetPlan, mtu int) error {
	if err := n.create([]nsSpec{subnetSpec(s)}, nil); err != nil {
		return err
	}
	if err := n.wireSubnet(s, mtu); err != nil {
		return errors.Join(err, n.remove(s.NS))
	}
	return n.done()
}

// RemoveSubnet deletes a subnet's namespace (its uplink goes with it). Its
// ENIs must be gone first.
func (n *Net) RemoveSubnet(s vpc.SubnetPlan) error { return n.remove(s.NS) }

func (n *Net) wireSubnet(s vpc.SubnetPlan, mtu int) error {
	sn, err := n.at(s.NS)
	if err != nil {
		return err
	}
	rt, err := n.at(s.RouterNS)
	if err != nil {
		return err
	}
	off := false
	br := &netlink.Bridge{
		LinkAttrs: netlink.LinkAttrs{Name: s.Bridge, MTU: mtu, Flags: net.FlagUp, TxQLen: -1},
		// Without a querier, snooping would starve IPv6 neighbour discovery.
		MulticastSnooping: &off,
	}
	if err := sn.h.LinkAdd(br); err != nil {
		return step(s.NS, "add bridge "+s.Bridge, err)
	}
	if br.Index == 0 {
		return step(s.NS, "add bridge "+s.Bridge, errors.New("no ifindex"))
	}
	sn.setBridge(s.Bridge, br.Index)
	a := &vethEnd{st: rt, name: s.UplinkRouterIf, index: s.RouterIfindex, mac: s.RouterMAC}
	b := &vethEnd{st: sn, name: s.UplinkSubnetIf, mac: s.SubnetMAC, master: br.Index}
	if err := addVeth(a, b, mtu); err != nil {
		return err
	}
	n.created(end{rt, s.UplinkRouterIf}, end{sn, s.UplinkSubnetIf})
	for _, g := range []netip.Prefix{s.Gateway, s.GatewayV6} {
		if g.IsValid() {
			if err := addAddr(rt.h, s.RouterIfindex, g); err != nil {
				return step(rt.name, fmt.Sprintf("add %s to %s", g, s.UplinkRouterIf), err)
			}
		}
	}
	return nil
}

// AddInstance creates an instance's namespace; its ENIs (enis: the plan's
// for this instance) come with AddENI.
func (n *Net) AddInstance(h vpc.HostPlan, enis []vpc.ENIPlan) error {
	return n.create([]nsSpec{instanceSpec(h, anyV6(enis))}, nil)
}

func anyV6(enis []vpc.ENIPlan) bool {
	for _, e := range enis {
		if e.AddrV6.IsValid() {
			return true
		}
	}
	return false
}

// RemoveInstance deletes an instance's namespace with its ENIs; their
// neighbour entries in the router go with RemoveENI.
func (n *Net) RemoveInstance(h vpc.HostPlan) error { return n.remove(h.NS) }

// AddENI attaches an ENI: a veth from its owner's namespace (e.IfName) to
// its subnet's bridge (e.PeerIf), its addresses, its routes (ENI-7: with
// several ENIs, a table and a rule per ENI for packets from its addresses),
// and permanent neighbour entries for its addresses on the subnet's router
// port, so the router never resolves them and an address no ENI holds has
// no entry (NO_ENI_AT_ADDRESS).
func (n *Net) AddENI(e vpc.ENIPlan, s vpc.SubnetPlan, mtu int) error {
	if err := n.wireENI(e, s, mtu); err != nil {
		return errors.Join(err, n.RemoveENI(e, s))
	}
	return n.done()
}

func (n *Net) wireENI(e vpc.ENIPlan, s vpc.SubnetPlan, mtu int) error {
	own, err := n.at(e.NS)
	if err != nil {
		return err
	}
	sn, err := n.at(e.PeerNS)
	if err != nil {
		return err
	}
	rt, err := n.at(s.RouterNS)
	if err != nil {
		return err
	}
	br, err := sn.bridgeIndex(s.Bridge)
	if err != nil {
		return step(sn.name, "find bridge "+s.Bridge, err)
	}
	a := &vethEnd{st: own, name: e.IfName, mac: e.MAC}
	b := &vethEnd{st: sn, name: e.PeerIf, mac: e.PeerMAC, master: br, clsact: true}
	if err := addVeth(a, b, mtu); err != nil {
		return err
	}
	n.created(end{own, e.IfName}, end{sn, e.PeerIf})
	idx := a.index
	addrs := append([]netip.Prefix{e.Addr}, e.Secondary...)
	if e.AddrV6.IsValid() {
		addrs = append(addrs, e.AddrV6)
	}
	for _, a := range addrs {
		if err := addAddr(own.h, idx, a); err != nil {
			return step(own.name, fmt.Sprintf("add %s to %s", a, e.IfName), err)
		}
	}
	// The main table's default routes leave through the primary ENI (or
	// the only one); with several ENIs each also gets its own table.
	gws := []netip.Addr{e.Gateway, e.GatewayV6}
	if e.Table == 0 || e.DeviceIndex == 0 {
		for _, gw := range gws {
			if gw.IsValid() {
				r := &netlink.Route{LinkIndex: idx, Dst: ipnet(defaultRoute(gw)), Gw: gw.AsSlice()}
				if err := own.h.RouteAdd(r); err != nil {
					return step(own.name, fmt.Sprintf("add default route via %s", gw), err)
				}
			}
		}
	}
	if e.Table != 0 {
		for _, gw := range gws {
			if !gw.IsValid() {
				continue
			}
			for _, r := range []*netlink.Route{
				{LinkIndex: idx, Dst: ipnet(netip.PrefixFrom(gw, subnetBits(addrs, gw)).Masked()), Scope: netlink.SCOPE_LINK, Table: e.Table},
				{LinkIndex: idx, Dst: ipnet(defaultRoute(gw)), Gw: gw.AsSlice(), Table: e.Table},
			} {
				if gw.Is6() {
					r.Scope = netlink.SCOPE_UNIVERSE
				}
				if err := own.h.RouteAdd(r); err != nil {
					return step(own.name, fmt.Sprintf("add route %s table %d", r.Dst, e.Table), err)
				}
			}
		}
		for _, a := range addrs {
			rule := netlink.NewRule()
			rule.Priority = e.Table
			rule.Src = ipnet(netip.PrefixFrom(a.Addr(), a.Addr().BitLen()))
			rule.Table = e.Table
			rule.Family = family(a.Addr())
			if err := own.h.RuleAdd(rule); err != nil {
				return step(own.name, fmt.Sprintf("add rule from %s lookup %d", a.Addr(), e.Table), err)
			}
		}
	}
	for _, a := range addrs {
		if err := setNeigh(rt.h, s.RouterIfindex, a.Addr(), e.MAC); err != nil {
			return step(rt.name, fmt.Sprintf("neighbour %s on %s", a.Addr(), s.UplinkRouterIf), err)
		}
	}
	return nil
}

// subnetBits is the prefix length of the address of addrs in gw's family.
func subnetBits(addrs []netip.Prefix, gw netip.Addr) int {
	for _, a := range addrs {
		if a.Addr().Is4() == gw.Is4() {
			return a.Bits()
		}
	}
	return gw.BitLen()
}

// RemoveENI detaches an ENI: its veth and the router's neighbour entries
// for its addresses. Parts already gone are skipped.
func (n *Net) RemoveENI(e vpc.ENIPlan, s vpc.SubnetPlan) error {
	var errs []error
	if own, err := n.at(e.NS); err == nil {
		if err := own.h.LinkDel(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: e.IfName}}); err != nil && !notFound(err) {
			errs = append(errs, step(own.name, "delete "+e.IfName, err))
		}
		if e.Table != 0 {
			for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
				rule := netlink.NewRule()
				rule.Table, rule.Family, rule.Priority = e.Table, fam, e.Table
				for own.h.RuleDel(rule) == nil {
				}
			}
		}
	}
	errs = append(errs, n.delNeighs(s, e))
	return errors.Join(errs...)
}

func (n *Net) delNeighs(s vpc.SubnetPlan, e vpc.ENIPlan) error {
	rt, err := n.at(s.RouterNS)
	if err != nil {
		return nil // the router is gone, and its entries with it
	}
	var errs []error
	for _, a := range append(append([]netip.Prefix{e.Addr}, e.Secondary...), e.AddrV6) {
		if !a.IsValid() {
			continue
		}
		nb := &netlink.Neigh{LinkIndex: s.RouterIfindex, Family: family(a.Addr()), IP: a.Addr().AsSlice()}
		if err := rt.h.NeighDel(nb); err != nil && !notFound(err) {
			errs = append(errs, step(rt.name, fmt.Sprintf("delete neighbour %s", a.Addr()), err))
		}
	}
	return errors.Join(errs...)
}

// AddNATGateway creates a NAT gateway's namespace (forwarding on: packets
// whose TTL runs out are the kernel's to answer, NGW-12) and its ENI.
func (n *Net) AddNATGateway(g vpc.NATPlan, s vpc.SubnetPlan, mtu int) error {
	if err := n.create([]nsSpec{natSpec(g)}, nil); err != nil {
		return err
	}
	if err := n.wireNAT(g, s, mtu); err != nil {
		return errors.Join(err, n.RemoveNATGateway(g, s))
	}
	return n.done()
}

// NATResetMark is the mark the NAT gateway's program puts on a packet
// its idle timeout ended (NGW-11): the namespace's stack answers it with a
// TCP reset from the packet's destination (the one nftables rule of the
// namespace; nftables never runs in the host's namespace).
const NATResetMark = 0x4e475231

const natResetRules = `table ip ngw {
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta mark 0x4e475231 reject with tcp reset
	}
}
`

func (n *Net) wireNAT(g vpc.NATPlan, s vpc.SubnetPlan, mtu int) error {
	if err := n.wireENI(g.ENI, s, mtu); err != nil {
		return err
	}
	st, err := n.at(g.NS)
	if err != nil {
		return err
	}
	// The router's MAC, so that the first packet leaves without ARP.
	if idx, err := linkIndex(st.h, g.ENI.IfName); err == nil {
		if err := setNeigh(st.h, idx, s.Gateway.Addr(), s.RouterMAC); err != nil {
			return step(g.NS, "neighbour of the router", err)
		}
	}
	cmd := exec.Command("ip", "netns", "exec", g.NS, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(natResetRules)
	if out, err := cmd.CombinedOutput(); err != nil {
		return step(g.NS, "nftables reset rule", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out))))
	}
	return nil
}

// RemoveNATGateway deletes a NAT gateway's namespace and the router's
// neighbour entry for its address.
func (n *Net) RemoveNATGateway(g vpc.NATPlan, s vpc.SubnetPlan) error {
	return errors.Join(n.remove(g.NS), n.delNeighs(s, g.ENI))
}

// AddLink creates a gateway link: a veth from a VPC router (A) to the
// internet, the peer VPC's router or a gateway endpoint's service (B),
// with a /30 and link-local addresses, and permanent neighbour entries both
// ways. An endpoint's service namespace is created with it: it holds every
// address of the service's prefix list (a local route per CIDR, VPCE-7
// [INTERP]) and routes everything back to the router.
func (n *Net) AddLink(l vpc.LinkPlan, svc *vpc.ServicePlan, mtu int) error {
	if svc != nil {
		if err := n.create([]nsSpec{serviceSpec(*svc)}, nil); err != nil {
			return err
		}
	}
	if err := n.wireLink(l, svc, mtu); err != nil {
		return errors.Join(err, n.RemoveLink(l, svc))
	}
	return n.done()
}

func (n *Net) wireLink(l vpc.LinkPlan, svc *vpc.ServicePlan, mtu int) error {
	sa, err := n.at(l.A.NS)
	if err != nil {
		return err
	}
	sb, err := n.at(l.B.NS)
	if err != nil {
		return err
	}
	a := &vethEnd{st: sa, name: l.A.If, index: l.A.Ifindex, mac: l.A.MAC}
	b := &vethEnd{st: sb, name: l.B.If, index: l.B.Ifindex, mac: l.B.MAC}
	if err := addVeth(a, b, mtu); err != nil {
		return err
	}
	n.created(end{sa, l.A.If}, end{sb, l.B.If})
	ends := []struct {
		st         *nsState
		near, far  vpc.LinkEnd
		nearIfname string
		idx        int
	}{{sa, l.A, l.B, l.A.If, a.index}, {sb, l.B, l.A, l.B.If, b.index}}
	for _, e := range ends {
		idx := e.idx
		for _, a := range []netip.Prefix{e.near.Addr, netip.PrefixFrom(e.near.LL, 64)} {
			if err := addAddr(e.st.h, idx, a); err != nil {
				return step(e.st.name, fmt.Sprintf("add %s to %s", a, e.nearIfname), err)
			}
		}
		for _, a := range []netip.Addr{e.far.Addr.Addr(), e.far.LL} {
			if err := setNeigh(e.st.h, idx, a, e.far.MAC); err != nil {
				return step(e.st.name, fmt.Sprintf("neighbour %s on %s", a, e.nearIfname), err)
			}
		}
	}
	if svc == nil {
		return nil
	}
	idx := b.index
	for _, c := range svc.CIDRs {
		// The service answers on every address of its ranges (a local
		// route, as AnyIP).
		r := &netlink.Route{LinkIndex: 1, Dst: ipnet(c.Masked()), Type: unix.RTN_LOCAL, Table: unix.RT_TABLE_LOCAL, Scope: netlink.SCOPE_HOST}
		if err := sb.h.RouteAdd(r); err != nil {
			return step(sb.name, fmt.Sprintf("add local route %s", c), err)
		}
	}
	for _, gw := range []netip.Addr{l.A.Addr.Addr(), l.A.LL} {
		r := &netlink.Route{LinkIndex: idx, Dst: ipnet(defaultRoute(gw)), Gw: gw.AsSlice()}
		if err := sb.h.RouteAdd(r); err != nil {
			return step(sb.name, fmt.Sprintf("add default route via %s", gw), err)
		}
	}
	return nil
}

// RemoveLink deletes a gateway link (and a gateway endpoint's service).
func (n *Net) RemoveLink(l vpc.LinkPlan, svc *vpc.ServicePlan) error {
	var errs []error
	if sa, err := n.at(l.A.NS); err == nil {
		if err := sa.h.LinkDel(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: l.A.If}}); err != nil && !notFound(err) {
			errs = append(errs, step(sa.name, "delete "+l.A.If, err))
		}
	}
	if svc != nil {
		errs = append(errs, n.remove(svc.NS))
	}
	return errors.Join(errs...)
}

// AddHost creates an internet host: its namespace with eth0 (a /32, an
// on-link default route; IPv6 via fe80::1) and its port in the internet
// namespace, which answers the host's ARP by proxy for everything the
// internet routes.
func (n *Net) AddHost(h vpc.HostPlan, mtu int) error {
	if err := n.create([]nsSpec{instanceSpec(h, false)}, nil); err != nil {
		return err
	}
	if err := n.wireHost(h, mtu); err != nil {
		return errors.Join(err, n.remove(h.NS))
	}
	if err := n.proxyARP([]vpc.HostPlan{h}); err != nil {
		return errors.Join(err, n.remove(h.NS))
	}
	return n.done()
}

// RemoveHost deletes an internet host (its port goes with it).
func (n *Net) RemoveHost(h vpc.HostPlan) error { return n.remove(h.NS) }

func (n *Net) wireHost(h vpc.HostPlan, mtu int) error {
	hs, err := n.at(h.NS)
	if err != nil {
		return err
	}
	inet, err := n.at(h.PeerNS)
	if err != nil {
		return err
	}
	a := &vethEnd{st: inet, name: h.PeerIf, index: h.PeerIfindex, mac: h.PeerMAC}
	b := &vethEnd{st: hs, name: h.IfName, mac: h.MAC}
	if err := addVeth(a, b, mtu); err != nil {
		return err
	}
	n.created(end{inet, h.PeerIf}, end{hs, h.IfName})
	idx := b.index
	if err := addAddr(hs.h, idx, h.Addr); err != nil {
		return step(hs.name, fmt.Sprintf("add %s to %s", h.Addr, h.IfName), err)
	}
	// The default route goes via a link-local next hop whose neighbour
	// entry is the internet's port: a host resolves no destination, so what
	// the internet has no route to still leaves the host and is dropped
	// (with its event) by the internet's routing, not by a failed ARP.
	if err := setNeigh(hs.h, idx, hostGateway, h.PeerMAC); err != nil {
		return step(hs.name, fmt.Sprintf("neighbour %s on %s", hostGateway, h.IfName), err)
	}
	r := &netlink.Route{LinkIndex: idx, Dst: ipnet(netip.MustParsePrefix("0.0.0.0/0")), Gw: hostGateway.AsSlice(), Flags: int(netlink.FLAG_ONLINK)}
	if err := hs.h.RouteAdd(r); err != nil {
		return step(hs.name, "add default route dev "+h.IfName, err)
	}
	if err := setNeigh(inet.h, h.PeerIfindex, h.Addr.Addr(), h.MAC); err != nil {
		return step(inet.name, fmt.Sprintf("neighbour %s on %s", h.Addr.Addr(), h.PeerIf), err)
	}
	if !h.AddrV6.IsValid() {
		return nil
	}
	if err := addAddr(hs.h, idx, h.AddrV6); err != nil {
		return step(hs.name, fmt.Sprintf("add %s to %s", h.AddrV6, h.IfName), err)
	}
	r = &netlink.Route{LinkIndex: idx, Dst: ipnet(netip.MustParsePrefix("::/0")), Gw: h.GatewayV6.AsSlice()}
	if err := hs.h.RouteAdd(r); err != nil {
		return step(hs.name, fmt.Sprintf("add default route via %s", h.GatewayV6), err)
	}
	ll := netip.PrefixFrom(h.GatewayV6, 64)
	if err := addAddr(inet.h, h.PeerIfindex, ll); err != nil {
		return step(inet.name, fmt.Sprintf("add %s to %s", ll, h.PeerIf), err)
	}
	if err := setNeigh(inet.h, h.PeerIfindex, h.AddrV6.Addr(), h.MAC); err != nil {
		return step(inet.name, fmt.Sprintf("neighbour %s on %s", h.AddrV6.Addr(), h.PeerIf), err)
	}
	return nil
}

// hostGateway is internet hosts' IPv4 next hop (link-local, answered by
// a permanent neighbour entry).
var hostGateway = netip.MustParseAddr("169.254.1.1")

// proxyARP turns on proxy ARP on the internet side of each host link, so a
// host's on-link default route reaches every other address the internet routes.
// Proxy replies are otherwise delayed by a random 0..0.8 s (proxy_delay), long
// enough for a client's first packets to time out.
func (n *Net) proxyARP(hosts []vpc.HostPlan) error {
	if len(hosts) == 0 {
		return nil
	}
	inet, err := n.at(hosts[0].PeerNS)
	if err != nil {
		return err
	}
	return inNS(inet, func() error {
		for _, hp := range hosts {
			for _, s := range []sysctl{
				{key: "net/ipv4/conf/" + hp.PeerIf + "/proxy_arp", val: "1"},
				{key: "net/ipv4/neigh/" + hp.PeerIf + "/proxy_delay", val: "0"},
			} {
				if err := writeSysctl(s.key, s.val); err != nil {
					return step(inet.name, hp.PeerIf, err)
				}
			}
		}
		return nil
	})
}

// SetTable makes a kernel routing table hold exactly t's routes: routes
// it lacks are added or replaced, others deleted; a route's change is one
// atomic replace, so packets see the old route or the new one (RT-12).
func (n *Net) SetTable(t vpc.TablePlan) error {
	st, err := n.at(t.NS)
	if err != nil {
		return err
	}
	want := map[netip.Prefix]bool{}
	for _, kr := range t.Routes {
		r, err := kernelRoute(st, t.Table, kr)
		if err != nil {
			return err
		}
		want[kr.Dst] = true
		if err := st.h.RouteReplace(r); err != nil {
			return step(st.name, fmt.Sprintf("table %d: route %s", t.Table, describeRoute(kr)), err)
		}
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		have, err := st.h.RouteListFiltered(fam, &netlink.Route{Table: t.Table}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return step(st.name, fmt.Sprintf("list table %d", t.Table), err)
		}
		for i := range have {
			r := &have[i]
			if r.Dst == nil {
				continue
			}
			p, ok := netip.AddrFromSlice(r.Dst.IP)
			if !ok {
				continue
			}
			bits, _ := r.Dst.Mask.Size()
			if !want[netip.PrefixFrom(p.Unmap(), bits)] {
				if err := st.h.RouteDel(r); err != nil && !notFound(err) {
					return step(st.name, fmt.Sprintf("table %d: delete route %s", t.Table, r.Dst), err)
				}
			}
		}
	}
	return nil
}

// RemoveTable empties a kernel routing table.
func (n *Net) RemoveTable(ns string, table int) error {
	return n.SetTable(vpc.TablePlan{NS: ns, Table: table})
}

func describeRoute(kr vpc.KernelRoute) string {
	switch kr.Type {
	case vpc.RouteBlackhole:
		return "blackhole " + kr.Dst.String()
	case vpc.RouteProhibit:
		return "prohibit " + kr.Dst.String()
	case vpc.RouteUnreachable:
		return "unreachable " + kr.Dst.String()
	}
	s := kr.Dst.String()
	if kr.Via.IsValid() {
		s += " via " + kr.Via.String()
	}
	return s + " dev " + kr.Dev
}

func kernelRoute(st *nsState, table int, kr vpc.KernelRoute) (*netlink.Route, error) {
	r := &netlink.Route{Dst: ipnet(kr.Dst), Table: table, Family: family(kr.Dst.Addr())}
	switch kr.Type {
	case vpc.RouteBlackhole:
		r.Type = unix.RTN_BLACKHOLE
	case vpc.RouteProhibit:
		r.Type = unix.RTN_PROHIBIT
	case vpc.RouteUnreachable:
		r.Type = unix.RTN_UNREACHABLE
	default:
		idx, err := linkIndex(st.h, kr.Dev)
		if err != nil {
			return nil, step(st.name, "find "+kr.Dev, err)
		}
		r.LinkIndex = idx
		if kr.Via.IsValid() {
			r.Gw = kr.Via.AsSlice()
			// The next hop is on the port's link by construction: no
			// lookup of it (which would search other tables).
			r.Flags = int(netlink.FLAG_ONLINK)
		} else if kr.Dst.Addr().Is4() {
			r.Scope = netlink.SCOPE_LINK
		}
	}
	return r, nil
}

// SetPortRule makes packets arriving on port p that the kernel forwards
// itself route by p's table (`ip rule iif PORT lookup TABLE`, both
// families) at priority prio, replacing the port's earlier rule. The
// datapath routes by the same table with bpf_fib_lookup; the rule keeps
// what it passes up consistent.
func (n *Net) SetPortRule(p vpc.PortPlan, prio int) error {
	st, err := n.at(p.NS)
	if err != nil {
		return err
	}
	if err := n.delPortRules(st, p.If); err != nil {
		return err
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		r := netlink.NewRule()
		r.Priority, r.IifName, r.Table, r.Family = prio, p.If, p.Table, fam
		if err := st.h.RuleAdd(r); err != nil {
			return step(st.name, fmt.Sprintf("rule iif %s lookup %d", p.If, p.Table), err)
		}
	}
	return nil
}

// RemovePortRule deletes port p's rules.
func (n *Net) RemovePortRule(p vpc.PortPlan) error {
	st, err := n.at(p.NS)
	if err != nil {
		return nil
	}
	return n.delPortRules(st, p.If)
}

func (n *Net) delPortRules(st *nsState, ifname string) error {
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rules, err := st.h.RuleList(fam)
		if err != nil {
			return step(st.name, "list rules", err)
		}
		for i := range rules {
			if rules[i].IifName == ifname {
				if err := st.h.RuleDel(&rules[i]); err != nil && !notFound(err) {
					return step(st.name, "delete rule iif "+ifname, err)
				}
			}
		}
	}
	return nil
}

// PortRulePriority is the `ip rule` priority of the port at index i of a
// plan's routing ports.
func PortRulePriority(i int) int { return 1000 + i }

func setNeigh(h *netlink.Handle, idx int, a netip.Addr, mac net.HardwareAddr) error {
	if !a.IsValid() {
		return nil
	}
	return h.NeighSet(&netlink.Neigh{LinkIndex: idx, Family: family(a), State: netlink.NUD_PERMANENT, IP: a.AsSlice(), HardwareAddr: mac})
}

func family(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func notFound(err error) bool {
	var le netlink.LinkNotFoundError
	return errors.As(err, &le) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENODEV)
}

func linkRef(idx int) netlink.Link { return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}} }
