package vpc

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Plan is the concrete layout of a topology on one kernel: namespace and
// interface names, interface indexes, addresses and MACs. It is computed
// from a Topology alone, so the same file always yields the same plan.
//
// Interface names live inside the topology's own namespaces, so they need no
// topology prefix; namespace names carry "vpcemu.NAME." so that topologies
// never collide (and "." cannot occur in a topology name).
//
// Every VPC has its own router namespace. The ports where the datapath
// routes (a router's subnet uplinks and gateway links, the internet
// namespace's host and gateway ends) are created with an interface index
// unique across the topology (PortIfindexBase and up), so one BPF map keyed
// by ifindex describes the ports of every router namespace at once.
type Plan struct {
	Name       string
	RouterNS   string // the first VPC's router (Routers[0].NS)
	InternetNS string // "the internet": routes between hosts and the VPCs' gateways
	// IGW is the first VPC's internet gateway link, the only one before
	// topologies had several VPCs; its RouterIf is "" when that VPC has no
	// internet gateway.
	IGW         IGWPlan
	Routers     []RouterPlan // one per VPC, in Topology.VPCs order
	Subnets     []SubnetPlan
	Instances   []HostPlan // each instance's namespace and primary ENI, in Topology.Instances order
	ENIs        []ENIPlan  // every instance ENI: Topology.Instances order, each instance's ENIs in Instance.ENIs order
	NATGateways []NATPlan  // in Topology.NATGateways order
	Links       []LinkPlan // internet and egress-only gateways, peerings, gateway endpoints
	Services    []ServicePlan
	Hosts       []HostPlan // internet hosts, in Topology.Internet order
	MTU         int
	// Routing is the kernel routing of routers and the internet, filled by
	// rules.PlanRouting (nil until then).
	Routing *RoutingPlan
}

// PortIfindexBase is the interface index of the first routing port; port n
// (Plan order: subnet uplinks, link ends, internet host ports) is
// PortIfindexBase+n. Router and internet namespaces hold no other links but
// loopback (1) and the fallback tunnels some kernels add to every new
// namespace (sit0, ip6tnl0, ...: a handful, numbered from 2).
const PortIfindexBase = 100

// RouterPlan is one VPC's router namespace.
type RouterPlan struct {
	VPC   string
	Index int // in Topology.VPCs
	NS    string
}

// IGWPlan is the veth between the first VPC's router and the internet namespace.
type IGWPlan struct {
	RouterIf     string       // in RouterNS; the IGW NAT program attaches here
	InternetIf   string       // in InternetNS
	RouterAddr   netip.Prefix // 169.254.100.1/30
	InternetAddr netip.Prefix // 169.254.100.2/30
	RouterLL     netip.Addr   // fe80::1, IPv6 next hop towards the router
	InternetLL   netip.Addr   // fe80::2, IPv6 next hop towards the internet
}

// SubnetPlan is one subnet: an L2 namespace with a bridge and an uplink to its VPC's router.
type SubnetPlan struct {
	SubnetID       string
	Index          int // in Topology.Subnets
	VPC            string
	NS             string
	RouterNS       string       // its VPC's router
	Bridge         string       // in NS
	UplinkSubnetIf string       // in NS, enslaved to Bridge
	UplinkRouterIf string       // in RouterNS; the router program judging what leaves the subnet attaches here
	RouterIfindex  int          // of UplinkRouterIf
	Gateway        netip.Prefix // base+1 with the subnet's prefix length, on UplinkRouterIf
	GatewayV6      netip.Prefix // base::1/len when the subnet has IPv6
	RouterMAC      net.HardwareAddr
	SubnetMAC      net.HardwareAddr
}

// HostPlan is an instance (with its primary ENI) or an internet host.
type HostPlan struct {
	ID             string // instance id or internet host name
	ENI            string // primary ENI id for instances, "" for internet hosts
	SubnetID       string // "" for internet hosts
	NS             string
	IfName         string           // "eth0" inside NS
	PeerNS         string           // subnet NS (instances) or InternetNS (hosts)
	PeerIf         string           // the ENI end: SG programs attach here (instances)
	PeerIfindex    int              // hosts: the internet namespace's port (0 for instances)
	Addr           netip.Prefix     // private IP with subnet prefix; /32 for internet hosts
	AddrV6         netip.Prefix     // zero when none (/64-ish for instances, /128 for hosts)
	Gateway        netip.Addr       // instances: subnet base+1; hosts: zero (on-link default route)
	GatewayV6      netip.Addr       // instances: subnet base::1; hosts: fe80::1, set on PeerIf in InternetNS
	MAC            net.HardwareAddr // of IfName
	PeerMAC        net.HardwareAddr // of PeerIf
	EphemeralPorts [2]int           // net.ipv4.ip_local_port_range
	// Forward: the instance forwards packets (an ENI has its
	// source/destination check off, ENI-5): IP forwarding on in NS.
	Forward bool
}

// ENIPlan is one network interface: a veth from its owner's namespace (an
// instance's, or a NAT gateway's) into its subnet's bridge.
type ENIPlan struct {
	ID          string
	Instance    string // "" for a NAT gateway's ENI
	NATGateway  string // the owning NAT gateway, else ""
	DeviceIndex int
	SubnetID    string
	NS          string // the owner's namespace
	IfName      string // in NS: eth<device index>
	PeerNS      string // the subnet namespace
	PeerIf      string // on the subnet bridge; the SG programs attach here
	MAC         net.HardwareAddr
	PeerMAC     net.HardwareAddr
	Addr        netip.Prefix   // primary private IPv4 with the subnet's prefix length
	Secondary   []netip.Prefix // secondary private IPv4s, same length
	AddrV6      netip.Prefix   // zero when none
	Gateway     netip.Addr     // the subnet's base+1
	GatewayV6   netip.Addr     // the subnet's base::1 when it has IPv6
	// Table is the instance's routing table for packets from this ENI's
	// addresses (ENI-7: one rule and table per ENI); 0 for an instance with
	// a single ENI, which routes by its main table alone.
	Table int
}

// NATPlan is a NAT gateway: its own namespace, whose eth0 is its ENI on
// its subnet's bridge.
type NATPlan struct {
	ID    string
	Index int // in Topology.NATGateways
	NS    string
	ENI   ENIPlan
}

// LinkKind is what a gateway link leads to.
type LinkKind string

// Gateway link kinds.
const (
	LinkIGW      LinkKind = "internet-gateway"
	LinkEIGW     LinkKind = "egress-only-internet-gateway"
	LinkPeering  LinkKind = "vpc-peering-connection"
	LinkEndpoint LinkKind = "gateway-endpoint"
)

// LinkEnd is one end of a gateway link.
type LinkEnd struct {
	NS      string
	If      string
	Ifindex int // a routing port's index (PortIfindexBase and up); 0 for an end nothing routes at (the service's)
	MAC     net.HardwareAddr
	Addr    netip.Prefix // 169.254.x.y/30
	LL      netip.Addr   // IPv6 link-local address
}

// LinkPlan is a veth from a VPC router (A) to the internet namespace
// (internet and egress-only gateways), to the peer VPC's router (a
// peering) or to the emulated service of a gateway endpoint (B).
type LinkPlan struct {
	Kind  LinkKind
	ID    string // igw-…, eigw-…, pcx-…, vpce-…
	VPC   string // A's VPC: the gateway's, the peering's requester, the endpoint's
	Index int    // in Plan.Links; addresses come from it
	A, B  LinkEnd
	// PeerVPC is the accepter VPC of a peering (B's router), else "".
	PeerVPC string
}

// ServicePlan is the emulated AWS service behind a gateway endpoint (VPCE-7
// [INTERP]): a namespace that owns every address of the prefix list (a
// local route per CIDR) and answers on them.
type ServicePlan struct {
	Endpoint string
	NS       string
	Link     int // its link in Plan.Links (B is the service's end)
	CIDRs    []netip.Prefix
}

// DefaultMTU is AWS's jumbo-frame MTU inside a VPC.
const DefaultMTU = 9001

// NSPrefix returns the prefix shared by every namespace of topology name.
func NSPrefix(name string) string { return "vpcemu." + name + "." }

// RouterNSOf is the router namespace of the VPC at index i of a topology
// named name: the first VPC's keeps the single-VPC name "router".
func RouterNSOf(name string, i int, vpcID string) string {
	if i == 0 {
		return NSPrefix(name) + "router"
	}
	return NSPrefix(name) + "router." + vpcID
}

// NewPlan lays out t. t must be valid (see Parse).
func NewPlan(t *Topology) *Plan { return NewPlanFrom(t, nil) }

// NewPlanFrom lays out t as a change of a running topology laid out as
// prev: what both have keeps prev's namespace and interface names,
// interface indexes and link addresses, so that the running objects need
// not move; what t adds gets what neither prev nor t uses. With prev nil
// it is NewPlan.
func NewPlanFrom(t *Topology, prev *Plan) *Plan {
	k := newKeeper(prev)
	p := &Plan{
		Name:       t.Name,
		InternetNS: NSPrefix(t.Name) + "internet",
	}
	if len(t.VPCs) > 0 {
		p.MTU = t.VPCs[0].MTU
	}
	if p.MTU == 0 { // a Topology built in code
		p.MTU = DefaultMTU
	}
	for i, v := range t.VPCs {
		p.Routers = append(p.Routers, RouterPlan{VPC: v.ID, Index: i, NS: k.routerNS(v.ID, RouterNSOf(t.Name, i, v.ID), NSPrefix(t.Name)+"router."+v.ID)})
	}
	if len(p.Routers) > 0 {
		p.RouterNS = p.Routers[0].NS
	}
	nextPort := k.port

	subnetIdx := map[string]int{}
	for i, s := range t.Subnets {
		subnetIdx[s.ID] = i
		r := p.routerOf(vpcIndexOfSubnet(t, &s))
		sp := SubnetPlan{
			SubnetID:       s.ID,
			Index:          i,
			VPC:            r.VPC,
			NS:             NSPrefix(t.Name) + "sn." + s.ID,
			RouterNS:       r.NS,
			Bridge:         "br0",
			UplinkSubnetIf: "uplink",
			UplinkRouterIf: k.name(r.NS, "sn/"+s.ID, fmt.Sprintf("sn%d", i)),
			RouterIfindex:  nextPort(r.NS, "sn/"+s.ID),
			Gateway:        netip.PrefixFrom(s.CIDR.Masked().Addr().Next(), s.CIDR.Bits()),
			RouterMAC:      mac(t.Name, "router-uplink", s.ID),
			SubnetMAC:      mac(t.Name, "subnet-uplink", s.ID),
		}
		if s.IPv6CIDR.IsValid() {
			sp.GatewayV6 = netip.PrefixFrom(s.IPv6CIDR.Masked().Addr().Next(), s.IPv6CIDR.Bits())
		}
		p.Subnets = append(p.Subnets, sp)
	}

	eniPlan := func(e *ENI, id, ns, ifname string, m, peer net.HardwareAddr) ENIPlan {
		sp := p.Subnets[subnetIdx[e.Subnet]]
		ep := ENIPlan{
			ID: id, DeviceIndex: e.DeviceIndex, SubnetID: e.Subnet, NS: ns, IfName: ifname,
			PeerNS: sp.NS, PeerIf: eniPort(id), MAC: m, PeerMAC: peer,
			Addr: netip.PrefixFrom(e.PrivateIP, sp.Gateway.Bits()), Gateway: sp.Gateway.Addr(),
		}
		for _, a := range e.SecondaryIPs {
			ep.Secondary = append(ep.Secondary, netip.PrefixFrom(a, sp.Gateway.Bits()))
		}
		if e.IPv6.IsValid() && sp.GatewayV6.IsValid() {
			ep.AddrV6 = netip.PrefixFrom(e.IPv6, sp.GatewayV6.Bits())
			ep.GatewayV6 = sp.GatewayV6.Addr()
		}
		return ep
	}
	for _, in := range t.Instances {
		ns := NSPrefix(t.Name) + "i." + in.ID
		enis := in.ENIs()
		forward := false
		for k, e := range enis {
			forward = forward || e.SourceDestCheckDisabled
			m, peer := mac(t.Name, "eni", in.ID), mac(t.Name, "eni-peer", in.ID)
			if k > 0 {
				m, peer = mac(t.Name, "eni", in.ID, e.ID), mac(t.Name, "eni-peer", in.ID, e.ID)
			}
			ep := eniPlan(e, ENIIDOf(&in, k), ns, fmt.Sprintf("eth%d", e.DeviceIndex), m, peer)
			ep.Instance = in.ID
			if len(enis) > 1 {
				ep.Table = 100 + e.DeviceIndex
			}
			p.ENIs = append(p.ENIs, ep)
		}
		pe := p.ENIs[len(p.ENIs)-len(enis)]
		lo, hi := EphemeralPorts(in.OS)
		p.Instances = append(p.Instances, HostPlan{
			ID:             in.ID,
			ENI:            in.ENI.ID,
			SubnetID:       in.Subnet,
			NS:             ns,
			IfName:         pe.IfName,
			PeerNS:         pe.PeerNS,
			PeerIf:         pe.PeerIf,
			Addr:           pe.Addr,
			AddrV6:         pe.AddrV6,
			Gateway:        pe.Gateway,
			GatewayV6:      pe.GatewayV6,
			MAC:            pe.MAC,
			PeerMAC:        pe.PeerMAC,
			EphemeralPorts: [2]int{lo, hi},
			Forward:        forward,
		})
	}
	for i, g := range t.NATGateways {
		ns := NSPrefix(t.Name) + "ngw." + g.ID
		eni := ENI{ID: NATENIIDOf(&g), Subnet: g.Subnet, PrivateIP: g.PrivateIP}
		ep := eniPlan(&eni, eni.ID, ns, "eth0", mac(t.Name, "ngw", g.ID), mac(t.Name, "ngw-peer", g.ID))
		ep.NATGateway = g.ID
		p.NATGateways = append(p.NATGateways, NATPlan{ID: g.ID, Index: i, NS: ns, ENI: ep})
	}

	// Gateway links, in a fixed order: each VPC's internet gateway, its
	// egress-only gateway, the peerings, the endpoints.
	link := func(kind LinkKind, id, vpcID string, a, b LinkEnd) *LinkPlan {
		n := len(p.Links)
		// 169.254.100.0/22 holds 256 /30 links: A is .1, B .2 of its /30.
		slot := k.linkSlot(id, a.NS)
		base := netip.AddrFrom4([4]byte{169, 254, byte(100 + slot/64), byte(slot%64) * 4})
		a.Addr, b.Addr = netip.PrefixFrom(base.Next(), 30), netip.PrefixFrom(base.Next().Next(), 30)
		a.LL, b.LL = netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
		a.MAC, b.MAC = mac(t.Name, string(kind), id, "a"), mac(t.Name, string(kind), id, "b")
		p.Links = append(p.Links, LinkPlan{Kind: kind, ID: id, VPC: vpcID, Index: n, A: a, B: b})
		return &p.Links[n]
	}
	for i, v := range t.VPCs {
		r := p.Routers[i]
		suffix := ""
		if i > 0 {
			suffix = fmt.Sprint(i)
		}
		if id := IGWIDOfVPC(t, &t.VPCs[i]); id != "" {
			l := link(LinkIGW, id, v.ID, k.end(r.NS, id, "a", "igw"), k.end(p.InternetNS, id, "b", "igw"+suffix))
			if i == 0 {
				// The single-VPC addresses and MACs, as before several VPCs.
				l.A.MAC, l.B.MAC = mac(t.Name, "igw-router"), mac(t.Name, "igw-internet")
				p.IGW = IGWPlan{RouterIf: l.A.If, InternetIf: l.B.If, RouterAddr: l.A.Addr, InternetAddr: l.B.Addr, RouterLL: l.A.LL, InternetLL: l.B.LL}
			}
		}
		if g := t.EIGWOfVPC(v.ID); g != nil {
			link(LinkEIGW, g.ID, v.ID, k.end(r.NS, g.ID, "a", "eigw"), k.end(p.InternetNS, g.ID, "b", "eigw"+suffix))
		}
	}
	for i, pc := range t.Peerings {
		a, b := vpcIndex(t, pc.Requester), vpcIndex(t, pc.Accepter)
		if a < 0 || b < 0 {
			continue
		}
		ifn := fmt.Sprintf("pcx%d", i)
		l := link(LinkPeering, pc.ID, pc.Requester, k.end(p.Routers[a].NS, pc.ID, "a", ifn), k.end(p.Routers[b].NS, pc.ID, "b", ifn))
		l.PeerVPC = pc.Accepter
	}
	for i, ep := range t.Endpoints {
		v := vpcIndex(t, ep.VPC)
		if v < 0 && len(t.VPCs) == 1 {
			v = 0
		}
		if v < 0 {
			continue
		}
		ns := NSPrefix(t.Name) + "svc." + ep.ID
		l := link(LinkEndpoint, ep.ID, t.VPCs[v].ID, k.end(p.Routers[v].NS, ep.ID, "a", fmt.Sprintf("vpce%d", i)), LinkEnd{NS: ns, If: "eth0"})
		sp := ServicePlan{Endpoint: ep.ID, NS: ns, Link: l.Index}
		if pl := t.PrefixList(ep.PrefixList); pl != nil {
			sp.CIDRs = append(sp.CIDRs, pl.CIDRs...)
		}
		p.Services = append(p.Services, sp)
	}

	k.keepMACs(p.Links)

	for i, h := range t.Internet {
		lo, hi := EphemeralPorts(h.OS)
		hp := HostPlan{
			ID:             h.Name,
			NS:             NSPrefix(t.Name) + "h." + h.Name,
			IfName:         "eth0",
			PeerNS:         p.InternetNS,
			PeerIf:         k.name(p.InternetNS, "host/"+h.Name, fmt.Sprintf("h%d", i)),
			PeerIfindex:    nextPort(p.InternetNS, "host/"+h.Name),
			Addr:           netip.PrefixFrom(h.IP, 32),
			MAC:            mac(t.Name, "host", h.Name),
			PeerMAC:        mac(t.Name, "host-peer", h.Name),
			EphemeralPorts: [2]int{lo, hi},
		}
		if h.IPv6.IsValid() {
			hp.AddrV6 = netip.PrefixFrom(h.IPv6, 128)
			hp.GatewayV6 = netip.MustParseAddr("fe80::1")
		}
		p.Hosts = append(p.Hosts, hp)
	}
	return p
}

// keeper keeps a running plan's layout for NewPlanFrom: what the new plan
// shares with it stays where it is; what is new gets interface indexes,
// names and link addresses that neither uses.
type keeper struct {
	prev    *Plan
	ifindex map[string]int             // object key -> its port's ifindex in prev
	names   map[string]string          // object key -> its interface name in prev
	used    map[int]bool               // ifindexes taken (prev's and given out)
	usedIf  map[string]map[string]bool // namespace -> interface names taken
	slots   map[string]int             // link id -> its address slot in prev
	usedSl  map[int]bool
	links   map[string]*LinkPlan
	routers map[string]string // VPC id -> its router namespace in prev
	next    int
}

func newKeeper(prev *Plan) *keeper {
	k := &keeper{prev: prev, ifindex: map[string]int{}, names: map[string]string{}, used: map[int]bool{},
		usedIf: map[string]map[string]bool{}, slots: map[string]int{}, usedSl: map[int]bool{}, links: map[string]*LinkPlan{},
		routers: map[string]string{}, next: PortIfindexBase}
	if prev == nil {
		return k
	}
	keep := func(key, ns, ifname string, ifindex int) {
		key = ns + "|" + key
		k.names[key] = ifname
		k.takeName(ns, ifname)
		if ifindex != 0 {
			k.ifindex[key] = ifindex
			k.used[ifindex] = true
		}
	}
	for _, r := range prev.Routers {
		k.routers[r.VPC] = r.NS
	}
	for _, s := range prev.Subnets {
		keep("sn/"+s.SubnetID, s.RouterNS, s.UplinkRouterIf, s.RouterIfindex)
	}
	for i := range prev.Links {
		l := &prev.Links[i]
		keep("link/"+l.ID+"/a", l.A.NS, l.A.If, l.A.Ifindex)
		keep("link/"+l.ID+"/b", l.B.NS, l.B.If, l.B.Ifindex)
		a := l.A.Addr.Addr().As4()
		slot := int(a[2]-100)*64 + int(a[3])/4
		k.slots[l.ID], k.usedSl[slot], k.links[l.ID] = slot, true, l
	}
	for _, h := range prev.Hosts {
		keep("host/"+h.ID, h.PeerNS, h.PeerIf, h.PeerIfindex)
	}
	return k
}

func (k *keeper) takeName(ns, ifname string) {
	if k.usedIf[ns] == nil {
		k.usedIf[ns] = map[string]bool{}
	}
	k.usedIf[ns][ifname] = true
}

// routerNS is VPC id's router namespace: prev's, else fresh unless prev
// gave that name to another VPC (then alt).
func (k *keeper) routerNS(id, fresh, alt string) string {
	if ns, ok := k.routers[id]; ok {
		return ns
	}
	for _, ns := range k.routers {
		if ns == fresh {
			return alt
		}
	}
	return fresh
}

// port is the ifindex of the port of object key in namespace ns: prev's, else the lowest
// free one (PortIfindexBase and up, in order, without prev).
func (k *keeper) port(ns, key string) int {
	if i, ok := k.ifindex[ns+"|"+key]; ok {
		return i
	}
	for k.used[k.next] {
		k.next++
	}
	k.used[k.next] = true
	return k.next
}

// name is the interface name of object key in namespace ns: prev's, else
// fresh, or fresh with a suffix when prev (or an earlier call) has it.
func (k *keeper) name(ns, key, fresh string) string {
	if n, ok := k.names[ns+"|"+key]; ok {
		return n
	}
	n := fresh
	for i := 1; k.usedIf[ns][n]; i++ {
		n = fmt.Sprintf("%sx%d", fresh, i)
	}
	k.takeName(ns, n)
	return n
}

// end is one end of link id: its name and port.
func (k *keeper) end(ns, id, side, fresh string) LinkEnd {
	key := "link/" + id + "/" + side
	return LinkEnd{NS: ns, If: k.name(ns, key, fresh), Ifindex: k.port(ns, key)}
}

// linkSlot is link id's address slot: prev's (when its ends stay where
// they were: the slot's addresses are on them), else the lowest free one.
func (k *keeper) linkSlot(id, ns string) int {
	if s, ok := k.slots[id]; ok && k.links[id].A.NS == ns {
		return s
	}
	s := 0
	for k.usedSl[s] {
		s++
	}
	k.usedSl[s] = true
	return s
}

// keepMACs gives the links prev has their MACs in prev (the far ends'
// neighbour entries hold them).
func (k *keeper) keepMACs(links []LinkPlan) {
	for i := range links {
		if o := k.links[links[i].ID]; o != nil && o.A.NS == links[i].A.NS {
			links[i].A.MAC, links[i].B.MAC = o.A.MAC, o.B.MAC
		}
	}
}

// routerOf is the router of the VPC at index i (the first when out of range).
func (p *Plan) routerOf(i int) RouterPlan {
	if i < 0 || i >= len(p.Routers) {
		return p.Routers[0]
	}
	return p.Routers[i]
}

// Router returns the router of VPC vpcID, or nil.
func (p *Plan) Router(vpcID string) *RouterPlan {
	for i := range p.Routers {
		if p.Routers[i].VPC == vpcID {
			return &p.Routers[i]
		}
	}
	return nil
}

// Subnet returns the plan of subnet id, or nil.
func (p *Plan) Subnet(id string) *SubnetPlan {
	for i := range p.Subnets {
		if p.Subnets[i].SubnetID == id {
			return &p.Subnets[i]
		}
	}
	return nil
}

// ENI returns the plan of the ENI with id (an instance's or a NAT
// gateway's), or nil.
func (p *Plan) ENI(id string) *ENIPlan {
	for i := range p.ENIs {
		if p.ENIs[i].ID == id {
			return &p.ENIs[i]
		}
	}
	for i := range p.NATGateways {
		if p.NATGateways[i].ENI.ID == id {
			return &p.NATGateways[i].ENI
		}
	}
	return nil
}

// InstanceENIs returns the plans of instance id's ENIs, the primary first.
func (p *Plan) InstanceENIs(id string) []ENIPlan {
	var out []ENIPlan
	for _, e := range p.ENIs {
		if e.Instance == id {
			out = append(out, e)
		}
	}
	return out
}

// NATGateway returns the plan of NAT gateway id, or nil.
func (p *Plan) NATGateway(id string) *NATPlan {
	for i := range p.NATGateways {
		if p.NATGateways[i].ID == id {
			return &p.NATGateways[i]
		}
	}
	return nil
}

// Link returns the gateway link of gateway, peering or endpoint id, or nil.
func (p *Plan) Link(id string) *LinkPlan {
	for i := range p.Links {
		if p.Links[i].ID == id {
			return &p.Links[i]
		}
	}
	return nil
}

// IGWIDOfVPC is the id of the internet gateway attached to v, "" when
// none. A topology without route tables and internet gateways (written
// before routing, or built in code) has one per VPC, as vpcemu VPCs always
// had (RT-20): vpc.DefaultIGWID, suffixed beyond the first VPC.
func IGWIDOfVPC(t *Topology, v *VPC) string {
	if g := t.IGWOfVPC(v.ID); g != nil {
		return g.ID
	}
	if len(t.RouteTables) == 0 && len(t.InternetGateways) == 0 {
		if len(t.VPCs) > 0 && t.VPCs[0].ID == v.ID {
			return DefaultIGWID
		}
		return DefaultIGWID + "-" + v.ID
	}
	return ""
}

// ENIIDOf is the id of the k-th ENI of in (Instance.ENIs order); topologies
// built in code may leave ids out: a primary ENI is then named by its
// instance's id, others by the instance's id and "-eniK".
func ENIIDOf(in *Instance, k int) string {
	e := in.ENIs()[k]
	switch {
	case e.ID != "":
		return e.ID
	case k == 0:
		return in.ID
	}
	return fmt.Sprintf("%s-eni%d", in.ID, k)
}

// NATENIIDOf is the id of a NAT gateway's ENI: the file's, else "eni-" and
// the gateway id without "nat-" (NGW-2 for topologies built in code).
func NATENIIDOf(g *NATGateway) string {
	if g.ENI != "" {
		return g.ENI
	}
	return "eni-" + strings.TrimPrefix(g.ID, "nat-")
}

func vpcIndex(t *Topology, id string) int {
	for i := range t.VPCs {
		if t.VPCs[i].ID == id {
			return i
		}
	}
	return -1
}

// vpcIndexOfSubnet is the index of the subnet's VPC: the one it names, else
// the one whose blocks hold it, else the first (Topologies built in code may
// leave Subnet.VPC empty).
func vpcIndexOfSubnet(t *Topology, s *Subnet) int {
	if s.VPC != "" {
		if i := vpcIndex(t, s.VPC); i >= 0 {
			return i
		}
	}
	for i := range t.VPCs {
		if s.CIDR.IsValid() && t.VPCs[i].Contains(s.CIDR.Addr()) {
			return i
		}
	}
	return 0
}

// mac derives a stable, locally administered unicast MAC from its owner's names.
// eniPort names an ENI's end on its subnet's bridge after the ENI's id,
// so that instances added and removed on a running topology leave the
// other ENIs' names as they are.
func eniPort(id string) string {
	sum := sha256.Sum256([]byte(id))
	return fmt.Sprintf("e%x", sum[:5])
}

func mac(parts ...string) net.HardwareAddr {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	m := net.HardwareAddr(sum[:6])
	m[0] = (m[0] &^ 0x01) | 0x02
	return m
}

// EphemeralPorts returns the client port range of an OS profile (NACL-19).
func EphemeralPorts(os string) (lo, hi int) {
	switch os {
	case "windows":
		return 49152, 65535
	case "windows-2003":
		return 1025, 5000
	case "nat-gateway", "elb", "lambda":
		return 1024, 65535
	default: // amazon-linux, linux
		return 32768, 60999
	}
}

// OSProfiles lists the accepted `os:` values, the first being the default.
var OSProfiles = []string{"amazon-linux", "linux", "windows", "windows-2003", "nat-gateway", "elb", "lambda"}

// Implied is t as the datapath plans and compiles it: t itself when it
// names everything routing needs (what Parse and Validate return), else a
// copy with what a topology built in code leaves to be implied (nothing is
// checked): a subnet's VPC (the one whose block holds it, else the first),
// ENI ids (ENIIDOf, NATENIIDOf), each VPC's main table with its local
// routes; and in a topology without route tables and internet gateways
// (written before routing), as vpcemu VPCs always had (RT-20), each VPC's
// internet gateway (IGWIDOfVPC) and, for its public: true subnets, the
// public table routing 0.0.0.0/0 and ::/0 to it.
func Implied(t *Topology) *Topology {
	legacy := len(t.RouteTables) == 0 && len(t.InternetGateways) == 0 && len(t.VPCs) > 0
	if !legacy && !t.lacksIDs() {
		return t
	}
	c := t.Clone()
	for i := range c.Subnets {
		if s := &c.Subnets[i]; s.VPC == "" && len(c.VPCs) > 0 {
			s.VPC = c.VPCs[0].ID
			if v := c.VPCOfAddr(s.CIDR.Addr()); v != nil && s.CIDR.IsValid() {
				s.VPC = v.ID
			}
		}
	}
	for i := range c.Instances {
		in := &c.Instances[i]
		for k, e := range in.ENIs() {
			e.ID = ENIIDOf(in, k)
		}
	}
	for i := range c.NATGateways {
		c.NATGateways[i].ENI = NATENIIDOf(&c.NATGateways[i])
	}
	for i := range c.VPCs {
		v := &c.VPCs[i]
		if legacy {
			c.InternetGateways = append(c.InternetGateways, InternetGateway{ID: IGWIDOfVPC(t, &t.VPCs[i]), VPC: v.ID})
		}
		if c.MainRouteTable(v.ID) == nil {
			if v.MainTable == "" {
				v.MainTable = DefaultID(DefaultMainRouteTableID, i, v.ID)
			}
			c.RouteTables = append(c.RouteTables, RouteTable{ID: v.MainTable, VPC: v.ID, Main: true, Routes: LocalRoutes(v)})
		}
		if !legacy {
			continue
		}
		pub := RouteTable{ID: DefaultID(PublicRouteTableID, i, v.ID), VPC: v.ID, Routes: LocalRoutes(v)}
		to := RouteTarget{Kind: TargetIGW, ID: c.InternetGateways[len(c.InternetGateways)-1].ID}
		for _, d := range []string{"0.0.0.0/0", "::/0"} {
			pub.Routes = append(pub.Routes, Route{Dest: netip.MustParsePrefix(d), Target: to})
		}
		SortRoutes(pub.Routes)
		used := false
		for j := range c.Subnets {
			if s := &c.Subnets[j]; s.VPC == v.ID && s.Public && s.RouteTable == "" {
				s.RouteTable, used = pub.ID, true
			}
		}
		if used {
			c.RouteTables = append(c.RouteTables, pub)
		}
	}
	return c
}

// lacksIDs reports whether a subnet names no VPC, an ENI has no id or a
// VPC has no main table.
func (t *Topology) lacksIDs() bool {
	for i := range t.Subnets {
		if t.Subnets[i].VPC == "" {
			return true
		}
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			if e.ID == "" {
				return true
			}
		}
	}
	for i := range t.NATGateways {
		if t.NATGateways[i].ENI == "" {
			return true
		}
	}
	for i := range t.VPCs {
		if t.MainRouteTable(t.VPCs[i].ID) == nil {
			return true
		}
	}
	return false
}
