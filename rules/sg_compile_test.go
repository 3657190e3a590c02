package rules

import (
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func sgcTopo(sgs []vpc.SecurityGroup, insts ...vpc.Instance) *vpc.Topology {
	for i := range insts {
		if insts[i].ENI.ID == "" {
			insts[i].ENI.ID = "eni-" + insts[i].ID
		}
	}
	return &vpc.Topology{Name: "c", SecurityGroups: sgs, Instances: insts}
}

func sgcRule(proto int, from, to int, peer string) vpc.SGRule {
	r := vpc.SGRule{Protocol: proto, Ports: vpc.PortRange{From: from, To: to}, ICMPType: -1, ICMPCode: -1}
	if p, err := netip.ParsePrefix(peer); err == nil {
		r.CIDR = p
	} else {
		r.SourceGroup = peer
	}
	return r
}

// lookup emulates the datapath: longest node prefix containing addr, then
// the first matching entry decides.
func sgcLookup(tab SGENITable, dir, proto int, addr netip.Addr, v, c int) (allowed, zero bool) {
	fam := 4
	if addr.Is6() {
		fam = 6
	}
	slot := SGProtoOther
	if tab.Protos[dir][proto>>5]&(1<<(proto&31)) != 0 {
		slot = proto
	}
	var best *SGNode
	for i := range tab.Nodes {
		n := &tab.Nodes[i]
		if n.Dir == dir && n.Family == fam && n.Proto == slot && n.Prefix.Contains(addr) && (best == nil || n.Prefix.Bits() > best.Prefix.Bits()) {
			best = n
		}
	}
	if best == nil {
		return false, false
	}
	for _, e := range best.Ents {
		if v >= int(e.Lo) && v <= int(e.Hi) && c >= int(e.CLo) && c <= int(e.CHi) {
			return true, e.Zero
		}
	}
	return false, false
}

func TestCompileSGFoldsNestedPrefixes(t *testing.T) {
	sgs := []vpc.SecurityGroup{{ID: "sg", Egress: []vpc.SGRule{
		sgcRule(vpc.ProtoTCP, 443, 443, "0.0.0.0/0"),
		sgcRule(vpc.ProtoTCP, 22, 22, "10.0.0.0/8"),
		sgcRule(vpc.ProtoTCP, 5432, 5432, "10.0.2.0/24"),
		sgcRule(vpc.ProtoAll, 0, 0, "192.0.2.1/32"),
	}}}
	tabs, err := CompileSG(sgcTopo(sgs, vpc.Instance{ID: "a", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr("10.0.1.10"), SecurityGroups: []string{"sg"}}}))
	if err != nil {
		t.Fatal(err)
	}
	tab := tabs[0]
	for _, c := range []struct {
		name          string
		proto         int
		addr          string
		port          int
		allowed, zero bool
	}{
		{"443 anywhere, by the /0 rule", vpc.ProtoTCP, "198.51.100.1", 443, true, true},
		{"443 inside 10.0.2.0/24 still sees the /0 rule", vpc.ProtoTCP, "10.0.2.5", 443, true, true},
		{"22 in 10/8", vpc.ProtoTCP, "10.9.9.9", 22, true, false},
		{"22 in 10.0.2.0/24 inherits the 10/8 rule", vpc.ProtoTCP, "10.0.2.5", 22, true, false},
		{"5432 only in the /24", vpc.ProtoTCP, "10.0.3.5", 5432, false, false},
		{"5432 in the /24", vpc.ProtoTCP, "10.0.2.5", 5432, true, false},
		{"UDP to the all-protocols host", vpc.ProtoUDP, "192.0.2.1", 53, true, false},
		{"TCP 80 to the all-protocols host", vpc.ProtoTCP, "192.0.2.1", 80, true, false},
		{"UDP elsewhere", vpc.ProtoUDP, "192.0.2.2", 53, false, false},
		{"IPv6 never matches IPv4 rules", vpc.ProtoTCP, "2001:db8::1", 443, false, false},
	} {
		a, z := sgcLookup(tab, SGDirOut, c.proto, netip.MustParseAddr(c.addr), c.port, 0)
		if a != c.allowed || z != c.zero {
			t.Errorf("%s: allowed %v zero %v, want %v %v", c.name, a, z, c.allowed, c.zero)
		}
	}
	if !tab.NoRules[SGDirIn] || tab.NoRules[SGDirOut] {
		t.Errorf("NoRules = %v, want inbound only", tab.NoRules)
	}
	if tab.Open[SGDirOut] != [2]uint8{0, 0} {
		t.Errorf("Open = %v: no rule admits all ports", tab.Open)
	}
}

func TestCompileSGOpenBitsAndReferences(t *testing.T) {
	sgs := []vpc.SecurityGroup{
		{ID: "web", Ingress: []vpc.SGRule{sgcRule(vpc.ProtoTCP, 0, 65535, "::/0"), sgcRule(vpc.ProtoUDP, 0, 65534, "0.0.0.0/0")},
			Egress: []vpc.SGRule{sgcRule(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}},
		{ID: "db", Ingress: []vpc.SGRule{sgcRule(vpc.ProtoTCP, 5432, 5432, "web")}},
	}
	tabs, err := CompileSG(sgcTopo(sgs,
		vpc.Instance{ID: "w", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr("10.0.1.10"), IPv6: netip.MustParseAddr("2001:db8::10"), SecurityGroups: []string{"web"}}},
		vpc.Instance{ID: "d", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr("10.0.2.20"), SecurityGroups: []string{"db"}}}))
	if err != nil {
		t.Fatal(err)
	}
	w, d := tabs[0], tabs[1]
	if w.Open[SGDirIn] != [2]uint8{0, SGOpenTCP} || w.Open[SGDirOut] != [2]uint8{SGOpenAll, 0} {
		t.Errorf("open bits %v, want in: IPv6 TCP only (UDP misses port 65535); out: IPv4 all", w.Open)
	}
	for _, c := range []struct {
		addr string
		want bool
	}{{"10.0.1.10", true}, {"2001:db8::10", true}, {"10.0.1.11", false}, {"10.0.2.20", false}} {
		if got, _ := sgcLookup(d, SGDirIn, vpc.ProtoTCP, netip.MustParseAddr(c.addr), 5432, 0); got != c.want {
			t.Errorf("db inbound 5432 from %s: %v, want %v", c.addr, got, c.want)
		}
	}
	if d.Conntrack != vpc.DefaultConntrack {
		t.Errorf("conntrack %+v, want AWS defaults", d.Conntrack)
	}
}

func TestCompileSGICMPAndSimplify(t *testing.T) {
	r8 := sgcRule(vpc.ProtoICMP, 0, 0, "0.0.0.0/0")
	r8.ICMPType, r8.ICMPCode = 8, -1
	r3 := sgcRule(vpc.ProtoICMP, 0, 0, "10.0.0.0/8")
	r3.ICMPType, r3.ICMPCode = 3, 4
	sgs := []vpc.SecurityGroup{{ID: "sg", Ingress: []vpc.SGRule{r8, r3,
		sgcRule(vpc.ProtoTCP, 1000, 2000, "10.0.0.0/8"), sgcRule(vpc.ProtoTCP, 2001, 3000, "10.0.0.0/8"),
		sgcRule(vpc.ProtoTCP, 1500, 1600, "10.0.0.0/8")}}}
	tabs, err := CompileSG(sgcTopo(sgs, vpc.Instance{ID: "a", ENI: vpc.ENI{PrivateIP: netip.MustParseAddr("10.0.1.10"), SecurityGroups: []string{"sg"}}}))
	if err != nil {
		t.Fatal(err)
	}
	tab := tabs[0]
	x := netip.MustParseAddr("10.1.1.1")
	for _, c := range []struct {
		name       string
		typ, code  int
		want, zero bool
	}{{"echo request", 8, 0, true, true}, {"frag needed", 3, 4, true, false}, {"port unreachable", 3, 3, false, false}, {"echo reply", 0, 0, false, false}} {
		if a, z := sgcLookup(tab, SGDirIn, vpc.ProtoICMP, x, c.typ, c.code); a != c.want || z != c.zero {
			t.Errorf("%s: %v %v, want %v %v", c.name, a, z, c.want, c.zero)
		}
	}
	for _, n := range tab.Nodes {
		if n.Proto == vpc.ProtoTCP && n.Prefix == netip.MustParsePrefix("10.0.0.0/8") {
			if len(n.Ents) != 1 || n.Ents[0].Lo != 1000 || n.Ents[0].Hi != 3000 || n.Ents[0].Full {
				t.Errorf("TCP entries %+v, want one merged 1000-3000 (not fragment-eligible)", n.Ents)
			}
		}
	}
}
