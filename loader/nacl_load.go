package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// ErrNACLFull is returned when the datapath's table pools cannot hold
// another table generation.
var ErrNACLFull = errors.New("nacl datapath tables full")

// NACLOptions configure a topology's NACL datapath.
type NACLOptions struct {
	// VPCCIDR is the VPC of a Topology without one: its base+2 (Route 53
	// Resolver) is never filtered.
	VPCCIDR netip.Prefix
	// Topology, when set, supplies the subnets (and their base+1..3, never
	// filtered: rules.ReservedService) and the VPCs.
	Topology *vpc.Topology
	MTU      int // link MTU for counting GSO segments; vpc.DefaultMTU when 0
	// Flows, when set, are the topology's shared flow-log counters the
	// programs count into (bpf/flow.h); nil counts nothing.
	Flows *Flows
	// edit, when set (tests), changes the collection spec before load.
	edit func(*ebpf.CollectionSpec)
}

// NACL is the NACL datapath of one topology: one set of maps, and one
// program per attach mode serving every attach point (where packets enter
// the VPC router: the router-side end of each subnet uplink and of the
// internet gateway). nacl_port tells the program which subnet a port
// receives from.
type NACL struct {
	mu    sync.Mutex
	spec  *ebpf.CollectionSpec // as loaded: configuration set
	set   *ebpf.Collection     // the maps, owned here; programs load with them
	maps  naclMaps             // set's maps by name
	progs map[string]*ebpf.Collection
	rcu   *rcuWaiter
	tc    *netns.TC
	ports map[naclPortKey]*naclPort
	eigw  []netns.TCFilter    // eigw_egress filters
	taps  map[naclPortKey]int // capture taps following the router program at a port
	lim   naclLimits

	acls  map[string]*naclACL
	byIdx map[uint32]*naclACL

	sets                  []uint32 // free set ids
	bitmaps, nodes, rinfo *rangeAlloc

	subnets map[string]uint32 // subnet ID -> index (1..) in nacl_subnet and the tries
	// subTries are the destination tries' places in the node pool, and
	// reserved the addresses in nacl_rsv4/6: SetSubnets replaces them.
	subTries []naclTrie
	reserved []netip.Addr
	assoc    map[uint32]*naclACL // subnet index -> its NACL

	// epoch counts the sets retired; those retired up to safe are past a
	// grace period: no program can be reading them.
	epoch, safe uint64
	// graceRunning: a background grace period runs (graceLater); bg
	// waits for it, closing stops the next.
	graceRunning, closing bool
	bg                    sync.WaitGroup
	// inject, when set (tests), runs before each counter read; an error
	// it returns fails that read.
	inject func() error
}

// naclLimits are the datapath's capacities, read from its map sizes.
type naclLimits struct {
	sets, bitmaps, nodes, rinfo, subnets, ports int
}

func naclLimitsOf(spec *ebpf.CollectionSpec) (naclLimits, error) {
	var l naclLimits
	var errs []error
	size := func(name string, div int) int {
		n, err := mapSize(spec, name)
		errs = append(errs, err)
		return n / div
	}
	l.sets = size(naclMapNaclTables, int(naclNaclTidNACL_TID_SET))
	l.bitmaps = size(naclMapNaclBm, 1)
	l.nodes = size(naclMapNaclNodes, 256) // a node is 256 entries
	l.rinfo = min(size(naclMapNaclRinfo, 1), size(naclMapNaclCtr, 1))
	l.subnets = size(naclMapNaclSubnet, 1)
	l.ports = size(naclMapNaclPort, 1)
	// A set id must fit nacl_subnet's entry (NACL_ENTRY_SET: 15 bits).
	l.sets = min(l.sets, 1<<15)
	return l, errors.Join(errs...)
}

type naclPortKey struct{ ns, ifname string }

// naclPort is one attach point.
type naclPort struct {
	ifindex uint32
	mode    XDPMode
	filter  *netns.TCFilter // tc mode
	link    link.Link       // XDP modes
}

// LoadNACL loads the NACL maps of one topology, with its subnets (opts.Topology)
// and their NACL associations; Attach loads the program of an attach mode
// on its first use.
func LoadNACL(opts NACLOptions) (_ *NACL, err error) {
	spec, err := loadNacl()
	if err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	lim, err := naclLimitsOf(spec)
	if err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	topo := opts.Topology
	if topo == nil {
		topo = &vpc.Topology{}
	}
	if opts.VPCCIDR.IsValid() && len(topo.VPCs) == 0 {
		c := *topo
		c.VPCs = []vpc.VPC{{CIDR: opts.VPCCIDR}}
		topo = &c
	}
	n := &NACL{
		spec:    spec,
		progs:   map[string]*ebpf.Collection{},
		tc:      netns.NewTC(),
		ports:   map[naclPortKey]*naclPort{},
		lim:     lim,
		acls:    map[string]*naclACL{},
		byIdx:   map[uint32]*naclACL{},
		bitmaps: newRangeAlloc(lim.bitmaps),
		nodes:   newRangeAlloc(lim.nodes),
		rinfo:   newRangeAlloc(lim.rinfo),
		subnets: map[string]uint32{},
		assoc:   map[uint32]*naclACL{},
	}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	for s := uint32(lim.sets - 1); s >= 1; s-- {
		n.sets = append(n.sets, s)
	}
	cfg := naclNaclConfig{Mtu: uint32(opts.MTU), Star: [2]uint16{rules.NACLDefaultRuleIPv4, rules.NACLDefaultRuleIPv6},
		EigwSyn: secs(rules.TimeoutTCPSynSent), EigwClosing: secs(rules.TimeoutTCPClosing), EigwIcmp: secs(rules.TimeoutICMP),
		EigwOther: secs(rules.TimeoutOther), EigwTcpEst: secs(vpc.DefaultConntrack.TCPEstablished), EigwUdp: secs(vpc.DefaultConntrack.UDP)}
	if cfg.Mtu == 0 {
		cfg.Mtu = vpc.DefaultMTU
	}
	cfg.Rsv4Mask, cfg.Rsv6Any = reservedMasks(topo)
	tries, err := n.planSubnets(topo, &cfg)
	if err != nil {
		return nil, err
	}
	if err := spec.Variables[naclVarNaclCfg].Set(cfg); err != nil {
		return nil, fmt.Errorf("nacl: set configuration: %w", err)
	}
	fopts, err := flowOptions(spec, opts.Flows)
	if err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	if opts.edit != nil {
		opts.edit(spec)
	}
	if n.set, err = newCollection(withoutPrograms(spec), fopts); err != nil {
		return nil, fmt.Errorf("nacl: load maps: %w", err)
	}
	if err := assignShared(n.set, &n.maps); err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	for _, a := range rules.NACLReservedAddrs(topo) {
		var err error
		if a.Is4() {
			err = n.maps.NaclRsv4.Put(a.As4(), uint8(1))
		} else {
			err = n.maps.NaclRsv6.Put(a.As16(), uint8(1))
		}
		if err != nil {
			return nil, fmt.Errorf("nacl: reserved address %s: %w", a, err)
		}
	}
	if err := n.writeSubnets(topo, tries); err != nil {
		return nil, err
	}
	n.subTries, n.reserved = tries, rules.NACLReservedAddrs(topo)
	if n.rcu, err = newRCUWaiter(); err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	return n, nil
}

// naclTrie is a destination-subnet trie placed in the node pool.
type naclTrie struct {
	base  int
	nodes [][256]uint64
}

// planSubnets numbers t's subnets 1.., compiles the destination tries over
// their CIDRs and places them in the node pool: their roots and shared
// bytes are configuration, set before load; writeSubnets writes them.
func (n *NACL) planSubnets(t *vpc.Topology, cfg *naclNaclConfig) ([]naclTrie, error) {
	if len(t.Subnets) >= n.lim.subnets {
		return nil, fmt.Errorf("nacl: %d subnets (the datapath holds %d): %w", len(t.Subnets), n.lim.subnets-1, ErrNACLFull)
	}
	var prefixes []netip.Prefix
	var index []uint32
	for i, s := range t.Subnets {
		idx := uint32(i + 1)
		n.subnets[s.ID] = idx
		prefixes = append(prefixes, s.CIDR, s.IPv6CIDR)
		index = append(index, idx, idx)
	}
	cfg.SubRoot = [2]uint32{uint32(naclNaclEntryNACL_NO_TRIE), uint32(naclNaclEntryNACL_NO_TRIE)}
	var tries []naclTrie
	for f, v6 := range []bool{false, true} {
		tr, err := rules.CompileNACLSubnets(prefixes, index, v6)
		if err != nil {
			return nil, fmt.Errorf("nacl: subnet lookup: %w", err)
		}
		if tr == nil {
			continue
		}
		base, ok := n.nodes.alloc(len(tr.Nodes))
		if !ok {
			return nil, fmt.Errorf("nacl: subnet lookup: %d trie nodes: %w", len(tr.Nodes), ErrNACLFull)
		}
		tries = append(tries, naclTrie{base, tr.Nodes})
		cfg.SubRoot[f], cfg.SubSkip[f] = tr.Root+uint32(base), uint32(tr.Skip)
		var pfx, mask [16]byte // network order
		for i := 0; i < tr.Skip; i++ {
			pfx[i], mask[i] = tr.Prefix[i], 0xff
		}
		for w := range 4 {
			cfg.SubPfx[f][w] = binary.NativeEndian.Uint32(pfx[4*w:])
			cfg.SubMask[f][w] = binary.NativeEndian.Uint32(mask[4*w:])
		}
	}
	return tries, nil
}

// writeSubnets writes the destination tries and associates each subnet
// with its NACL.
func (n *NACL) writeSubnets(t *vpc.Topology, tries []naclTrie) error {
	for _, tr := range tries {
		// Leaves are subnet indexes already.
		if err := n.writeNodes(tr.base, tr.nodes, func(v uint64) uint64 { return v }); err != nil {
			return fmt.Errorf("nacl: subnet lookup: %w", err)
		}
	}
	for _, s := range t.Subnets {
		if s.NetworkACL == "" {
			continue // judged by `*` until Associate names its NACL
		}
		if err := n.associate(s.ID, s.NetworkACL); err != nil {
			return err
		}
	}
	return nil
}

// naclProgram names the program of an attach mode: nacl_filter for
// generic XDP, the multi-buffer nacl_filter_frags for native XDP (jumbo
// MTU), nacl_filter_tc for tc.
func naclProgram(mode XDPMode) string {
	switch mode {
	case XDPNative:
		return naclProgNaclFilterFrags
	case TC:
		return naclProgNaclFilterTc
	}
	return naclProgNaclFilter
}

// Load loads the programs of the attach modes given (Attach loads a mode's
// program on its first use otherwise), all at once, with the maps of
// n.set.
func (n *NACL) Load(modes ...XDPMode) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var names []string
	for _, m := range modes {
		if name := naclProgram(m); n.progs[name] == nil && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	cs, err := loadPrograms(n.spec, n.set, names...)
	if err != nil {
		return fmt.Errorf("nacl: %w", err)
	}
	for i, name := range names {
		n.progs[name] = cs[i]
	}
	return nil
}

// program returns the program of attach mode mode, loading it on first
// use. n.mu is held.
func (n *NACL) program(mode XDPMode) (*ebpf.Program, error) {
	name := naclProgram(mode)
	if c := n.progs[name]; c != nil {
		return c.Programs[name], nil
	}
	cs, err := loadPrograms(n.spec, n.set, name)
	if err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	n.progs[name] = cs[0]
	return cs[0].Programs[name], nil
}

// Attach runs the NACL program at (ns, ifname), a router-side end where
// packets enter the VPC router, in mode: from names the subnet whose uplink
// this is (its outbound table judges what arrives here), "" a port no
// subnet sends from (the internet gateway: there the caller attaches in tc
// mode, where the program runs after the gateway's NAT, so that inbound
// tables see private destinations). Either way, a destination in a subnet
// is then judged by that subnet's inbound table. A subnet whose NACL was
// not yet given to SetNACL denies everything.
func (n *NACL) Attach(ns, ifname, from string, mode XDPMode) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := naclPortKey{ns, ifname}
	if n.ports[key] != nil {
		return fmt.Errorf("nacl: %s/%s already attached", ns, ifname)
	}
	var sub uint32
	if from != "" {
		var ok bool
		if sub, ok = n.subnets[from]; !ok {
			return fmt.Errorf("nacl: subnet %q is not in the topology", from)
		}
	}
	prog, err := n.program(mode)
	if err != nil {
		return err
	}
	ifindex, err := n.tc.Ifindex(ns, ifname)
	if err != nil {
		return fmt.Errorf("nacl: %w", err)
	}
	if ifindex <= 0 || ifindex >= n.lim.ports {
		return fmt.Errorf("nacl: %s/%s has ifindex %d, nacl_port holds 1..%d", ns, ifname, ifindex, n.lim.ports-1)
	}
	return n.attach(key, uint32(ifindex), naclRtPort{Subnet: sub}, prog, mode)
}

// attach writes port's entry at ifindex and runs prog there. n.mu is held.
func (n *NACL) attach(key naclPortKey, ifindex uint32, port naclRtPort, prog *ebpf.Program, mode XDPMode) error {
	p := &naclPort{ifindex: ifindex, mode: mode}
	if err := n.maps.NaclPort.Put(p.ifindex, &port); err != nil {
		return fmt.Errorf("nacl: port %s/%s: %w", key.ns, key.ifname, err)
	}
	var err error
	if mode == TC {
		f := netns.TCFilter{NS: key.ns, Ifname: key.ifname, Ingress: true, Prio: naclTCPrio}
		err = n.tc.Attach(f, prog.FD(), naclProgNaclFilterTc)
		p.filter = &f
	} else {
		p.link, err = AttachXDP(key.ns, key.ifname, prog, mode)
	}
	if err != nil {
		_ = n.maps.NaclPort.Put(p.ifindex, &naclRtPort{})
		return fmt.Errorf("nacl: %w", err)
	}
	n.ports[key] = p
	return nil
}

// Port kinds of vpc.PortKind, as the router program knows them.
var rtPortKinds = map[vpc.PortKind]naclRtPortKind{
	vpc.PortSubnet: naclRtPortKindRT_PORT_SUBNET, vpc.PortIGW: naclRtPortKindRT_PORT_IGW, vpc.PortEIGW: naclRtPortKindRT_PORT_EIGW,
	vpc.PortPeering: naclRtPortKindRT_PORT_PEERING, vpc.PortEndpoint: naclRtPortKindRT_PORT_ENDPOINT,
	vpc.PortInternetIGW: naclRtPortKindRT_PORT_INET_IGW, vpc.PortInternetEIGW: naclRtPortKindRT_PORT_INET_EIGW,
	vpc.PortInternetHost: naclRtPortKindRT_PORT_INET_HOST,
}

// PortFlags are what the router program knows of a port's surroundings.
type PortFlags struct {
	// Forwarders: the port's subnet holds ENIs that send and receive
	// packets not of their own addresses (NAT gateways, ENIs with the
	// check off): their flow records are named by MAC.
	Forwarders bool
	// HasIGW, HasEIGW: the router's VPC has an internet gateway, an
	// egress-only one (IPv6 from the internet, EIP-6).
	HasIGW, HasEIGW bool
}

func (n *NACL) rtPort(pp vpc.PortPlan, f PortFlags) (naclRtPort, error) {
	port := naclRtPort{Table: uint32(pp.Table), Kind: uint16(rtPortKinds[pp.Kind])}
	if pp.Kind == vpc.PortSubnet {
		sub, ok := n.subnets[pp.Subnet]
		if !ok {
			return port, fmt.Errorf("nacl: subnet %q is not in the topology", pp.Subnet)
		}
		port.Subnet = sub
	}
	if f.Forwarders {
		port.Flags |= uint16(naclRtPortFlagRT_F_FORWARDERS)
	}
	if f.HasIGW {
		port.Flags |= uint16(naclRtPortFlagRT_F_HAS_IGW)
	}
	if f.HasEIGW {
		port.Flags |= uint16(naclRtPortFlagRT_F_HAS_EIGW)
	}
	return port, nil
}

// AttachPort runs the router program at a routing port (rules.PlanRouting):
// what arrives there is judged by its subnet's outbound table (subnet
// ports), routed by its table with bpf_fib_lookup, judged by the inbound
// table of the subnet it enters, and sent out of the chosen port. Subnet
// ports attach in mode, the others at tc.
func (n *NACL) AttachPort(pp vpc.PortPlan, f PortFlags, mode XDPMode) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := naclPortKey{pp.NS, pp.If}
	if n.ports[key] != nil {
		return fmt.Errorf("nacl: %s/%s already attached", pp.NS, pp.If)
	}
	if pp.Kind != vpc.PortSubnet {
		mode = TC
	}
	port, err := n.rtPort(pp, f)
	if err != nil {
		return err
	}
	if pp.Ifindex <= 0 || pp.Ifindex >= n.lim.ports {
		return fmt.Errorf("nacl: %s/%s has ifindex %d, nacl_port holds 1..%d", pp.NS, pp.If, pp.Ifindex, n.lim.ports-1)
	}
	prog, err := n.program(mode)
	if err != nil {
		return err
	}
	return n.attach(key, uint32(pp.Ifindex), port, prog, mode)
}

// SetPort rewrites an attached routing port's entry: the table it routes
// by (a subnet's association changed, RT-3) or its flags. The next packet
// sees it (RT-12).
func (n *NACL) SetPort(pp vpc.PortPlan, f PortFlags) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	port, err := n.rtPort(pp, f)
	if err != nil {
		return err
	}
	if err := n.maps.NaclPort.Put(uint32(pp.Ifindex), &port); err != nil {
		return fmt.Errorf("nacl: port %s/%s: %w", pp.NS, pp.If, err)
	}
	return nil
}

// AttachEIGW runs eigw_egress at tc egress of the router's end of an
// egress-only gateway's link: the flows that leave there may answer
// (EIP-13).
func (n *NACL) AttachEIGW(ns, ifname string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	name := naclProgEigwEgress
	c := n.progs[name]
	if c == nil {
		cs, err := loadPrograms(n.spec, n.set, name)
		if err != nil {
			return fmt.Errorf("nacl: %w", err)
		}
		c = cs[0]
		n.progs[name] = c
	}
	f := netns.TCFilter{NS: ns, Ifname: ifname, Ingress: false, Prio: naclTCPrio}
	if err := n.tc.Attach(f, c.Programs[name].FD(), name); err != nil {
		return fmt.Errorf("nacl: egress-only gateway: %w", err)
	}
	n.eigw = append(n.eigw, f)
	return nil
}

// SetEIGWTimeouts gives the egress-only gateways the tracking timeouts of
// the instance owning IPv6 address a (EIP-14 [INTERP]).
func (n *NACL) SetEIGWTimeouts(a netip.Addr, tcpEstablished, udp time.Duration) error {
	v := naclEigwTimeouts{TcpEst: uint32(tcpEstablished / time.Second), Udp: uint32(udp / time.Second)}
	if err := n.maps.EigwCfg.Put(a.As16(), &v); err != nil {
		return fmt.Errorf("nacl: egress-only gateway timeouts of %s: %w", a, err)
	}
	return nil
}

// SetEndpointRanges tells the router program the prefix list of the gateway
// endpoint at port ifindex: what comes from its service must come from
// these (VPCE-5).
func (n *NACL) SetEndpointRanges(ifindex int, cidrs []netip.Prefix) error {
	for _, c := range cidrs {
		k := naclVpceSrcKey{Prefixlen: 32 + uint32(c.Bits()), Port: uint32(ifindex)}
		copy(k.Addr[:], c.Masked().Addr().AsSlice())
		if err := n.maps.VpceSrc.Put(&k, uint8(1)); err != nil {
			return fmt.Errorf("nacl: endpoint range %s: %w", c, err)
		}
	}
	return nil
}

// Detach removes the program from (ns, ifname).
func (n *NACL) Detach(ns, ifname string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := naclPortKey{ns, ifname}
	p := n.ports[key]
	if p == nil {
		return nil
	}
	delete(n.ports, key)
	if err := n.detach(p); err != nil {
		return fmt.Errorf("nacl: %w", err)
	}
	return n.maps.NaclPort.Put(p.ifindex, &naclRtPort{})
}

func (n *NACL) detach(p *naclPort) error {
	if p.filter != nil {
		return n.tc.Detach(*p.filter)
	}
	return p.link.Close()
}

// Close detaches every program, then frees programs and maps.
func (n *NACL) Close() error {
	n.mu.Lock()
	n.closing = true
	n.mu.Unlock()
	n.bg.Wait()
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for k, p := range n.ports {
		errs = append(errs, n.detach(p))
		delete(n.ports, k)
	}
	for _, f := range n.eigw {
		errs = append(errs, n.tc.Detach(f))
	}
	n.eigw = nil
	n.tc.Close()
	for name, c := range n.progs {
		c.Close()
		delete(n.progs, name)
	}
	if n.rcu != nil {
		errs = append(errs, n.rcu.Close())
	}
	if n.set != nil {
		n.set.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nacl: close: %w", err)
	}
	return nil
}

func secs(d time.Duration) uint32 { return uint32(d / time.Second) }

// SetTap tells the router program at (ns, ifname) whether a capture tap
// follows it on the port's ingress: while one does, routed packets go on to
// the tap, which sends them on (capture.h's CAP_ROUTED), instead of leaving
// at once, which would skip it. A port that is no routing port is left
// alone.
func (n *NACL) SetTap(ns, ifname string, on bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := naclPortKey{ns, ifname}
	p := n.ports[key]
	if p == nil {
		return nil
	}
	if n.taps == nil {
		n.taps = map[naclPortKey]int{}
	}
	if on {
		n.taps[key]++
	} else if n.taps[key] > 0 {
		n.taps[key]--
	}
	on = n.taps[key] > 0
	var port naclRtPort
	if err := n.maps.NaclPort.Lookup(p.ifindex, &port); err != nil {
		return fmt.Errorf("nacl: port %s/%s: %w", ns, ifname, err)
	}
	if on {
		port.Flags |= uint16(naclRtPortFlagRT_F_TAP)
	} else {
		port.Flags &^= uint16(naclRtPortFlagRT_F_TAP)
	}
	if err := n.maps.NaclPort.Put(p.ifindex, &port); err != nil {
		return fmt.Errorf("nacl: port %s/%s: %w", ns, ifname, err)
	}
	return nil
}

// DetachEIGW removes eigw_egress from (ns, ifname) (an egress-only
// gateway detached live).
func (n *NACL) DetachEIGW(ns, ifname string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, f := range n.eigw {
		if f.NS == ns && f.Ifname == ifname {
			n.eigw = slices.Delete(n.eigw, i, i+1)
			if err := n.tc.Detach(f); err != nil {
				return fmt.Errorf("nacl: egress-only gateway: %w", err)
			}
			return nil
		}
	}
	return nil
}
