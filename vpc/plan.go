package vpc

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
)

// Plan is the concrete layout of a topology on one kernel: namespace and
// interface names, addresses and MACs. It is computed from a Topology alone,
// so the same file always yields the same plan.
//
// Interface names live inside the topology's own namespaces, so they need no
// topology prefix; namespace names carry "vpcemu.NAME." so that topologies
// never collide (and "." cannot occur in a topology name).
type Plan struct {
	Name       string
	RouterNS   string // the VPC router
	InternetNS string // "the internet": routes between hosts and the IGW
	IGW        IGWPlan
	Subnets    []SubnetPlan
	Instances  []HostPlan // in Topology.Instances order
	Hosts      []HostPlan // internet hosts, in Topology.Internet order
	MTU        int
}

// IGWPlan is the veth between the router and the internet namespace.
type IGWPlan struct {
	RouterIf     string       // in RouterNS; the IGW NAT program attaches here
	InternetIf   string       // in InternetNS
	RouterAddr   netip.Prefix // 169.254.100.1/30
	InternetAddr netip.Prefix // 169.254.100.2/30
	RouterLL     netip.Addr   // fe80::1, IPv6 next hop towards the router
	InternetLL   netip.Addr   // fe80::2, IPv6 next hop towards the internet
}

// SubnetPlan is one subnet: an L2 namespace with a bridge and an uplink to the router.
type SubnetPlan struct {
	SubnetID       string
	Index          int
	NS             string
	Bridge         string       // in NS
	UplinkSubnetIf string       // in NS, enslaved to Bridge
	UplinkRouterIf string       // in RouterNS; the NACL program judging what leaves the subnet attaches here
	Gateway        netip.Prefix // base+1 with the subnet's prefix length, on UplinkRouterIf
	GatewayV6      netip.Prefix // base::1/len when the subnet has IPv6
	RouterMAC      net.HardwareAddr
	SubnetMAC      net.HardwareAddr
}

// HostPlan is an instance (with its ENI) or an internet host.
type HostPlan struct {
	ID             string // instance id or internet host name
	ENI            string // ENI id for instances, "" for internet hosts
	SubnetID       string // "" for internet hosts
	NS             string
	IfName         string           // "eth0" inside NS
	PeerNS         string           // subnet NS (instances) or InternetNS (hosts)
	PeerIf         string           // the ENI end: SG programs attach here (instances)
	Addr           netip.Prefix     // private IP with subnet prefix; /32 for internet hosts
	AddrV6         netip.Prefix     // zero when none (/64-ish for instances, /128 for hosts)
	Gateway        netip.Addr       // instances: subnet base+1; hosts: zero (on-link default route)
	GatewayV6      netip.Addr       // instances: subnet base::1; hosts: fe80::1, set on PeerIf in InternetNS
	MAC            net.HardwareAddr // of IfName
	PeerMAC        net.HardwareAddr // of PeerIf
	EphemeralPorts [2]int           // net.ipv4.ip_local_port_range
}

// DefaultMTU is AWS's jumbo-frame MTU inside a VPC.
const DefaultMTU = 9001

// NSPrefix returns the prefix shared by every namespace of topology name.
func NSPrefix(name string) string { return "vpcemu." + name + "." }

// NewPlan lays out t. t must be valid (see Parse).
func NewPlan(t *Topology) *Plan {
	p := &Plan{
		Name:       t.Name,
		RouterNS:   NSPrefix(t.Name) + "router",
		InternetNS: NSPrefix(t.Name) + "internet",
		MTU:        t.VPCs[0].MTU,
		IGW: IGWPlan{
			RouterIf:     "igw",
			InternetIf:   "igw",
			RouterAddr:   netip.MustParsePrefix("169.254.100.1/30"),
			InternetAddr: netip.MustParsePrefix("169.254.100.2/30"),
			RouterLL:     netip.MustParseAddr("fe80::1"),
			InternetLL:   netip.MustParseAddr("fe80::2"),
		},
	}
	if p.MTU == 0 { // a Topology built in code
		p.MTU = DefaultMTU
	}
	subnetIdx := map[string]int{}
	for i, s := range t.Subnets {
		subnetIdx[s.ID] = i
		sp := SubnetPlan{
			SubnetID:       s.ID,
			Index:          i,
			NS:             NSPrefix(t.Name) + "sn." + s.ID,
			Bridge:         "br0",
			UplinkSubnetIf: "uplink",
			UplinkRouterIf: fmt.Sprintf("sn%d", i),
			Gateway:        netip.PrefixFrom(s.CIDR.Masked().Addr().Next(), s.CIDR.Bits()),
			RouterMAC:      mac(t.Name, "router-uplink", s.ID),
			SubnetMAC:      mac(t.Name, "subnet-uplink", s.ID),
		}
		if s.IPv6CIDR.IsValid() {
			sp.GatewayV6 = netip.PrefixFrom(s.IPv6CIDR.Masked().Addr().Next(), s.IPv6CIDR.Bits())
		}
		p.Subnets = append(p.Subnets, sp)
	}
	perSubnet := map[string]int{}
	for _, in := range t.Instances {
		sp := p.Subnets[subnetIdx[in.Subnet]]
		n := perSubnet[in.Subnet]
		perSubnet[in.Subnet]++
		lo, hi := EphemeralPorts(in.OS)
		hp := HostPlan{
			ID:             in.ID,
			ENI:            in.ENI.ID,
			SubnetID:       in.Subnet,
			NS:             NSPrefix(t.Name) + "i." + in.ID,
			IfName:         "eth0",
			PeerNS:         sp.NS,
			PeerIf:         fmt.Sprintf("eni%d", n),
			Addr:           netip.PrefixFrom(in.PrivateIP, sp.Gateway.Bits()),
			Gateway:        sp.Gateway.Addr(),
			MAC:            mac(t.Name, "eni", in.ID),
			PeerMAC:        mac(t.Name, "eni-peer", in.ID),
			EphemeralPorts: [2]int{lo, hi},
		}
		if in.IPv6.IsValid() && sp.GatewayV6.IsValid() {
			hp.AddrV6 = netip.PrefixFrom(in.IPv6, sp.GatewayV6.Bits())
			hp.GatewayV6 = sp.GatewayV6.Addr()
		}
		p.Instances = append(p.Instances, hp)
	}
	for i, h := range t.Internet {
		lo, hi := EphemeralPorts(h.OS)
		hp := HostPlan{
			ID:             h.Name,
			NS:             NSPrefix(t.Name) + "h." + h.Name,
			IfName:         "eth0",
			PeerNS:         p.InternetNS,
			PeerIf:         fmt.Sprintf("h%d", i),
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

// mac derives a stable, locally administered unicast MAC from its owner's names.
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
