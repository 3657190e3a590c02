package vpc

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// planTopology is dual-stack, with a 16-character name and the longest ids.
func planTopology(t *testing.T) *Topology {
	long := strings.Repeat("x", 63)
	return mustParse(t, fmt.Sprintf(`name: abcdefghijklmnop
vpc: {cidr: 10.0.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  - {id: s%[1]s, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:0:1::/64"}
  - {id: t%[1]s, cidr: 10.0.2.0/28}
instances:
  - {id: i%[1]s, subnet: s%[1]s, private_ip: 10.0.1.10, ipv6: "2001:db8:0:1::10"}
  - {id: j%[1]s, subnet: s%[1]s, private_ip: 10.0.1.11}
  - {id: k%[1]s, subnet: t%[1]s, private_ip: 10.0.2.4}
internet:
  - {name: h%[1]s, ip: 198.51.100.1, ipv6: "2001:db8:ffff::1"}
  - {name: g, ip: 198.51.100.2}
`, long))
}

func TestPlanNames(t *testing.T) {
	routed := mustParse(t, string(GenerateRouted("r", 3, 4, 2)))
	for _, topo := range []*Topology{planTopology(t), Lab(), mustParse(t, string(Generate("g", 450))), routed} {
		p := NewPlan(topo)
		ifs := map[string]map[string]bool{} // namespace -> interface names
		addIf := func(ns, name string) {
			t.Helper()
			if len(name) == 0 || len(name) > 15 {
				t.Errorf("%s: interface name %q is not 1-15 bytes", ns, name)
			}
			if ifs[ns] == nil {
				ifs[ns] = map[string]bool{}
			}
			if ifs[ns][name] {
				t.Errorf("%s: interface name %q used twice", ns, name)
			}
			ifs[ns][name] = true
		}
		namespaces := map[string]bool{}
		addNS := func(ns string) {
			t.Helper()
			if !strings.HasPrefix(ns, NSPrefix(topo.Name)) || strings.Contains(ns, "/") || len(ns) > 255 {
				t.Errorf("namespace %q is not a file name under %q", ns, NSPrefix(topo.Name))
			}
			if namespaces[ns] {
				t.Errorf("namespace %q used twice", ns)
			}
			namespaces[ns] = true
		}
		ports := map[int]string{}
		addPort := func(ns, ifname string, idx int) {
			t.Helper()
			if idx < PortIfindexBase {
				t.Errorf("%s/%s: port ifindex %d below %d", ns, ifname, idx, PortIfindexBase)
			}
			if prev, dup := ports[idx]; dup {
				t.Errorf("%s/%s and %s share ifindex %d", ns, ifname, prev, idx)
			}
			ports[idx] = ns + "/" + ifname
		}
		for _, r := range p.Routers {
			addNS(r.NS)
		}
		if p.RouterNS != p.Routers[0].NS {
			t.Errorf("RouterNS %q is not the first VPC's router %q", p.RouterNS, p.Routers[0].NS)
		}
		addNS(p.InternetNS)
		for _, s := range p.Subnets {
			addNS(s.NS)
			addIf(s.NS, s.Bridge)
			addIf(s.NS, s.UplinkSubnetIf)
			addIf(s.RouterNS, s.UplinkRouterIf)
			addPort(s.RouterNS, s.UplinkRouterIf, s.RouterIfindex)
		}
		for _, hp := range p.Instances {
			addNS(hp.NS)
		}
		for _, e := range p.ENIs {
			addIf(e.NS, e.IfName)
			addIf(e.PeerNS, e.PeerIf)
		}
		for _, g := range p.NATGateways {
			addNS(g.NS)
			addIf(g.NS, g.ENI.IfName)
			addIf(g.ENI.PeerNS, g.ENI.PeerIf)
		}
		for _, s := range p.Services {
			addNS(s.NS)
		}
		for _, l := range p.Links {
			addIf(l.A.NS, l.A.If)
			addIf(l.B.NS, l.B.If)
			addPort(l.A.NS, l.A.If, l.A.Ifindex)
			if l.Kind != LinkEndpoint {
				addPort(l.B.NS, l.B.If, l.B.Ifindex)
			}
		}
		for _, hp := range p.Hosts {
			addNS(hp.NS)
			addIf(hp.NS, hp.IfName)
			addIf(hp.PeerNS, hp.PeerIf)
			addPort(hp.PeerNS, hp.PeerIf, hp.PeerIfindex)
		}
		if want := 1 + len(topo.VPCs) + len(topo.Subnets) + len(topo.Instances) + len(topo.NATGateways) + len(topo.Endpoints) + len(topo.Internet); len(namespaces) != want {
			t.Errorf("%s: %d namespaces, want %d", topo.Name, len(namespaces), want)
		}
	}
}

func TestPlanMACs(t *testing.T) {
	topo := mustParse(t, string(Generate("macs", 500)))
	p := NewPlan(topo)
	seen := map[string]string{}
	check := func(owner string, m []byte) {
		t.Helper()
		if len(m) != 6 || m[0]&1 != 0 || m[0]&2 == 0 {
			t.Errorf("%s: MAC %x is not a locally administered unicast address", owner, m)
		}
		if prev, dup := seen[string(m)]; dup {
			t.Errorf("%s and %s share MAC %x", owner, prev, m)
		}
		seen[string(m)] = owner
	}
	for _, s := range p.Subnets {
		check(s.SubnetID+" router", s.RouterMAC)
		check(s.SubnetID+" subnet", s.SubnetMAC)
	}
	for _, hp := range p.Instances {
		check(hp.ID, hp.MAC)
		check(hp.ID+" peer", hp.PeerMAC)
	}
	// Same file, same MACs; another topology name, other MACs.
	again := NewPlan(mustParse(t, string(Generate("macs", 500))))
	other := NewPlan(mustParse(t, string(Generate("macs2", 500))))
	for i := range p.Instances {
		if p.Instances[i].MAC.String() != again.Instances[i].MAC.String() {
			t.Errorf("%s: MAC not deterministic", p.Instances[i].ID)
		}
		if p.Instances[i].MAC.String() == other.Instances[i].MAC.String() {
			t.Errorf("%s: MAC equal across topologies", p.Instances[i].ID)
		}
	}
}

func TestPlanAddresses(t *testing.T) {
	topo := planTopology(t)
	p := NewPlan(topo)
	if got := p.Subnets[0].Gateway; got != netip.MustParsePrefix("10.0.1.1/24") {
		t.Errorf("subnet 0 gateway = %s", got)
	}
	if got := p.Subnets[0].GatewayV6; got != netip.MustParsePrefix("2001:db8:0:1::1/64") {
		t.Errorf("subnet 0 IPv6 gateway = %s", got)
	}
	if got := p.Subnets[1].Gateway; got != netip.MustParsePrefix("10.0.2.1/28") {
		t.Errorf("subnet 1 gateway = %s", got)
	}
	if p.Subnets[1].GatewayV6.IsValid() {
		t.Errorf("IPv4-only subnet has an IPv6 gateway %s", p.Subnets[1].GatewayV6)
	}
	i0, i1, i2 := p.Instances[0], p.Instances[1], p.Instances[2]
	if i0.Addr != netip.MustParsePrefix("10.0.1.10/24") || i0.Gateway != netip.MustParseAddr("10.0.1.1") ||
		i0.AddrV6 != netip.MustParsePrefix("2001:db8:0:1::10/64") || i0.GatewayV6 != netip.MustParseAddr("2001:db8:0:1::1") {
		t.Errorf("instance 0 = %+v", i0)
	}
	if i1.AddrV6.IsValid() || i1.GatewayV6.IsValid() || i1.PeerIf != eniPort(i1.ENI) || i1.PeerNS != p.Subnets[0].NS {
		t.Errorf("instance 1 = %+v", i1)
	}
	if i2.Addr != netip.MustParsePrefix("10.0.2.4/28") || i2.PeerIf != eniPort(i2.ENI) || i2.PeerNS != p.Subnets[1].NS || i2.ENI != topo.Instances[2].ENI.ID {
		t.Errorf("instance 2 = %+v", i2)
	}
	h0 := p.Hosts[0]
	if h0.Addr != netip.MustParsePrefix("198.51.100.1/32") || h0.AddrV6 != netip.MustParsePrefix("2001:db8:ffff::1/128") || h0.PeerNS != p.InternetNS || h0.Gateway.IsValid() {
		t.Errorf("host 0 = %+v", h0)
	}
	if lo, hi := i0.EphemeralPorts[0], i0.EphemeralPorts[1]; lo != 32768 || hi != 60999 {
		t.Errorf("amazon-linux ephemeral ports = %d-%d", lo, hi)
	}
	if got := NewPlan(Lab()).Hosts[0].EphemeralPorts; got != [2]int{49152, 65535} {
		t.Errorf("lab laptop (windows) ephemeral ports = %v", got)
	}
}

// vpc.mtu sets every veth's MTU (AWS: 9001 jumbo frames by default, 1500
// for traffic leaving through an internet gateway on real AWS).
func TestVPCMTU(t *testing.T) {
	base := "name: m\nvpc: {cidr: 10.0.0.0/16%s}\nsubnets: [{id: s, cidr: 10.0.1.0/24}]\n"
	topo, err := Parse("m.yaml", []byte(fmt.Sprintf(base, "")))
	if err != nil {
		t.Fatal(err)
	}
	if p := NewPlan(topo); p.MTU != DefaultMTU {
		t.Errorf("default MTU %d, want %d", p.MTU, DefaultMTU)
	}
	topo, err = Parse("m.yaml", []byte(fmt.Sprintf(base, ", mtu: 1500")))
	if err != nil {
		t.Fatal(err)
	}
	if p := NewPlan(topo); p.MTU != 1500 {
		t.Errorf("mtu: 1500 gave plan MTU %d", p.MTU)
	}
	_, err = Parse("m.yaml", []byte(fmt.Sprintf(base, ", mtu: 70000")))
	want := `m.yaml:2:31: vpc.mtu: "70000" is not valid; valid: a whole number from 1280 to 9001 (AWS: 1500 or 9001)`
	if err == nil || err.Error() != want {
		t.Errorf("mtu 70000: got %v, want %s", err, want)
	}
}
