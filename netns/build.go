package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/vpc"
)

// workers is how many namespaces are created or configured at once. Most of
// the work is serialised in the kernel (RTNL, pernet setup); a few workers
// overlap its waits with our own syscalls.
const workers = 4

// Build creates everything p lays out for t, by applying the steps (see
// steps.go) in dependency order, the steps of one kind in parallel: the
// router and internet namespaces, subnets, instances and their ENIs, NAT
// gateways, gateway links, internet hosts, then the routing tables and port
// rules of p.Routing (rules.NewPlan fills it). Nothing is created in the
// caller's namespace, and nothing links a topology to the host's network.
// On error everything built so far is removed. progress, when not nil,
// receives short status lines.
func Build(ctx context.Context, p *vpc.Plan, t *vpc.Topology, progress func(msg string)) (err error) {
	if err := checkName(p.Name); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if p.Name != t.Name || len(p.Subnets) != len(t.Subnets) || len(p.Instances) != len(t.Instances) || len(p.Hosts) != len(t.Internet) {
		return fmt.Errorf("build %s: the plan was not made from this topology (vpc.NewPlan)", p.Name)
	}
	if p.Routing == nil {
		return fmt.Errorf("build %s: the plan has no routing (rules.NewPlan, or rules.PlanRouting after vpc.NewPlan)", p.Name)
	}
	// Refuse before creating anything: the cleanup of a failed Build would
	// otherwise remove a running topology of the same name.
	if existing, err := namespaces(p.Name); err != nil {
		return fmt.Errorf("build %s: %w", p.Name, err)
	} else if len(existing) > 0 {
		return fmt.Errorf("build %s: namespace %s is there (the topology is up, or a crashed run left it; down removes it): %w", p.Name, existing[0], ErrExists)
	}
	n := &Net{name: p.Name, ctx: ctx, ns: map[string]*nsState{}, batch: true}
	b := &builder{n: n, p: p, progress: progress}
	defer func() {
		n.Close()
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
	if err := b.routing(); err != nil {
		return err
	}
	return n.settle()
}

type builder struct {
	n        *Net
	p        *vpc.Plan
	progress func(string)
}

func (b *builder) report(format string, args ...any) {
	if b.progress != nil {
		b.progress(fmt.Sprintf(format, args...))
	}
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

// No reverse-path filter inherited from the host's settings (IPv4 conf is
// copied from init_net).
var rpSysctls = []sysctl{
	{key: "net/ipv4/conf/all/rp_filter", val: "0"},
	{key: "net/ipv4/conf/default/rp_filter", val: "0"},
}

// IPv6 addresses usable at once, link-local ones included (no DAD), where
// IPv6 is in use: routers, the internet, NAT gateways, services and hosts
// with an IPv6 address.
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
	var specs []nsSpec
	for _, r := range p.Routers {
		specs = append(specs, routerSpec(r.NS))
	}
	specs = append(specs, routerSpec(p.InternetNS))
	for _, s := range p.Subnets {
		specs = append(specs, subnetSpec(s))
	}
	for _, h := range p.Instances {
		specs = append(specs, instanceSpec(h, anyV6(p.InstanceENIs(h.ID))))
	}
	for _, g := range p.NATGateways {
		specs = append(specs, natSpec(g))
	}
	for _, s := range p.Services {
		specs = append(specs, serviceSpec(s))
	}
	for _, h := range p.Hosts {
		specs = append(specs, instanceSpec(h, false))
	}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.name] {
			return fmt.Errorf("namespace %s planned twice", s.name)
		}
		seen[s.name] = true
	}
	return b.n.create(specs, b.counter("namespaces", len(specs)))
}

func (b *builder) links() error {
	p, n := b.p, b.n
	tick := b.counter("links", len(p.Subnets)+len(p.Links)+len(p.Hosts)+len(p.ENIs)+len(p.NATGateways))
	// Bridges and uplinks first: every ENI is enslaved to its subnet's bridge.
	err := parallel(len(p.Subnets), workers, func(i int) error {
		if err := n.wireSubnet(p.Subnets[i], p.MTU); err != nil {
			return err
		}
		tick()
		return nil
	})
	if err != nil {
		return err
	}
	for _, l := range p.Links {
		if err := n.wireLink(l, serviceOf(p, l), p.MTU); err != nil {
			return err
		}
		tick()
	}
	k := len(p.Hosts) + len(p.ENIs) + len(p.NATGateways)
	err = parallel(k, workers, func(i int) error {
		if err := n.ctx.Err(); err != nil {
			return err
		}
		var err error
		switch {
		case i < len(p.Hosts):
			err = n.wireHost(p.Hosts[i], p.MTU)
		case i < len(p.Hosts)+len(p.ENIs):
			e := p.ENIs[i-len(p.Hosts)]
			err = n.wireENI(e, *p.Subnet(e.SubnetID), p.MTU)
		default:
			g := p.NATGateways[i-len(p.Hosts)-len(p.ENIs)]
			err = n.wireNAT(g, *p.Subnet(g.ENI.SubnetID), p.MTU)
		}
		if err == nil {
			tick()
		}
		return err
	})
	if err != nil {
		return err
	}
	return n.proxyARP(p.Hosts)
}

// serviceOf is the service behind a gateway endpoint's link, else nil.
func serviceOf(p *vpc.Plan, l vpc.LinkPlan) *vpc.ServicePlan {
	for i := range p.Services {
		if p.Services[i].Link == l.Index {
			return &p.Services[i]
		}
	}
	return nil
}

// routing programs every kernel table and port rule of p.Routing.
func (b *builder) routing() error {
	r := b.p.Routing
	if err := parallel(len(r.Tables), workers, func(i int) error { return b.n.SetTable(r.Tables[i]) }); err != nil {
		return err
	}
	for i, port := range r.Ports {
		if err := b.n.SetPortRule(port, PortRulePriority(i)); err != nil {
			return err
		}
	}
	if r.TableOf(b.p.InternetNS, vpc.InternetHostsTable) != nil {
		// What the internet namespace sends itself (addresses a check
		// adds on its loopback as hosts of the internet) routes as a
		// host's packets do; the main table knows only the links.
		lo := vpc.PortPlan{NS: b.p.InternetNS, If: "lo", Table: vpc.InternetHostsTable}
		if err := b.n.SetPortRule(lo, PortRulePriority(-1)); err != nil {
			return err
		}
	}
	return nil
}

// end is one veth end: its namespace and name.
type end struct {
	ns     *nsState
	ifname string
}

// step wraps err with the namespace and what was being done there.
func step(ns, what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", ns, what, err)
}

func loUp(h *netlink.Handle) error {
	// A new namespace's loopback is always ifindex 1.
	return h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1}})
}

func linkIndex(h *netlink.Handle, name string) (int, error) {
	l, err := h.LinkByName(name)
	if err != nil {
		return 0, err
	}
	return l.Attrs().Index, nil
}

func linkUp(h *netlink.Handle, name string) (int, error) {
	idx, err := linkIndex(h, name)
	if err != nil {
		return 0, err
	}
	return idx, h.LinkSetUp(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}})
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
