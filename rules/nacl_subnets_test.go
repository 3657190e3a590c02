package rules

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/rules/rulestest"
)

// naiveSubnet is the lookup the trie must reproduce.
func naiveSubnet(ps []netip.Prefix, idx []uint32, a netip.Addr) uint32 {
	for i, p := range ps {
		if p.IsValid() && p.Contains(a) {
			return idx[i]
		}
	}
	return 0
}

// randDisjoint returns up to n non-overlapping random prefixes of one
// family, lengths biased to what VPCs use, plus the family's edges.
func randDisjoint(r *rand.Rand, n int, v6 bool) []netip.Prefix {
	var out []netip.Prefix
	for tries := 0; len(out) < n && tries < 50*n; tries++ {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		var p netip.Prefix
		if v6 {
			b[0], b[1] = 0x20, 0x01 // keep most prefixes near each other
			bits := []int{48, 56, 60, 64, 64, 64, 80, 120, 128, 1 + r.IntN(128)}[r.IntN(10)]
			p = netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
		} else {
			b[0] = 10
			bits := []int{16, 20, 24, 24, 24, 26, 28, 28, 32, 1 + r.IntN(32)}[r.IntN(10)]
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte(b[:4])), bits).Masked()
		}
		ok := true
		for _, q := range out {
			if q.Overlaps(p) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, p)
		}
	}
	return out
}

func TestCompileNACLSubnetsRandom(t *testing.T) {
	r := rulestest.Rand(t)
	for round := 0; round < 200; round++ {
		v6 := round%2 == 1
		ps := randDisjoint(r, 1+r.IntN(40), v6)
		idx := make([]uint32, len(ps))
		for i := range idx {
			idx[i] = uint32(i + 1 + r.IntN(3)*1000)
		}
		tr, err := CompileNACLSubnets(ps, idx, v6)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		probe := func(a netip.Addr) {
			if got, want := tr.Lookup(a), naiveSubnet(ps, idx, a); got != want {
				t.Fatalf("round %d: %s -> subnet %d, want %d (prefixes %v)", round, a, got, want, ps)
			}
		}
		for _, p := range ps {
			// both ends of every prefix and their outside neighbours
			first, last := prefixRange(p)
			for _, u := range []u128{first, last, first.dec(), last.inc()} {
				if a, ok := u128Addr(u, v6); ok {
					probe(a)
				}
			}
		}
		for i := 0; i < 500; i++ {
			probe(randNear(r, ps, v6))
		}
	}
}

// randNear is a random address, usually inside or next to one of ps.
func randNear(r *rand.Rand, ps []netip.Prefix, v6 bool) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	if len(ps) > 0 && r.IntN(4) != 0 {
		p := ps[r.IntN(len(ps))]
		pb := p.Addr().AsSlice()
		keep := p.Bits() - r.IntN(3) // sometimes just outside the prefix
		for i := 0; i < len(pb)*8 && i < keep; i++ {
			mask := byte(0x80 >> (i % 8))
			b[i/8] = b[i/8]&^mask | pb[i/8]&mask
		}
	}
	if v6 {
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte(b[:4]))
}

// u128Addr converts back; ok=false when u is outside the family.
func u128Addr(u u128, v6 bool) (netip.Addr, bool) {
	if !v6 {
		if u.hi != 0 || u.lo > 0xffffffff {
			return netip.Addr{}, false
		}
		return netip.AddrFrom4([4]byte{byte(u.lo >> 24), byte(u.lo >> 16), byte(u.lo >> 8), byte(u.lo)}), true
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(u.hi >> (56 - 8*i))
		b[8+i] = byte(u.lo >> (56 - 8*i))
	}
	return netip.AddrFrom16(b), true
}

func TestCompileNACLSubnetsEdges(t *testing.T) {
	pp := netip.MustParsePrefix
	for _, tc := range []struct {
		name  string
		ps    []netip.Prefix
		v6    bool
		probe map[string]uint32
		skip  int // address bytes every subnet shares: the walk starts below them
	}{
		{"the whole IPv4 space in two halves", []netip.Prefix{pp("0.0.0.0/1"), pp("128.0.0.0/1")}, false,
			map[string]uint32{"0.0.0.0": 1, "127.255.255.255": 1, "128.0.0.0": 2, "255.255.255.255": 2}, 0},
		{"a /32 at the top", []netip.Prefix{pp("255.255.255.255/32")}, false,
			map[string]uint32{"255.255.255.255": 1, "255.255.255.254": 0, "0.0.0.0": 0}, 3},
		{"adjacent /28s", []netip.Prefix{pp("10.0.3.16/28"), pp("10.0.3.32/28"), pp("10.0.1.0/24")}, false,
			map[string]uint32{"10.0.3.15": 0, "10.0.3.16": 1, "10.0.3.31": 1, "10.0.3.32": 2, "10.0.3.48": 0, "10.0.1.200": 3, "10.0.2.0": 0, "10.1.3.16": 0, "11.0.1.1": 0}, 2},
		{"a VPC's /56 with /64 subnets", []netip.Prefix{pp("2600:1f18:aa:bb00::/64"), pp("2600:1f18:aa:bb01::/64"), pp("2600:1f18:aa:bbff::/64")}, true,
			map[string]uint32{"2600:1f18:aa:bb00::5": 1, "2600:1f18:aa:bb01::5": 2, "2600:1f18:aa:bbff:1::": 3, "2600:1f18:aa:bb02::5": 0, "2600:1f18:aa:cb00::5": 0}, 7},
		{"IPv6 /64s of one /56, and ::/0's last address", []netip.Prefix{pp("2001:db8:1::/64"), pp("2001:db8:0:2::/64"), pp("ffff::/16")}, true,
			map[string]uint32{"2001:db8:1::10": 1, "2001:db8:0:2:ffff::1": 2, "2001:db8:0:3::1": 0, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 3, "::": 0}, 0},
		{"IPv4 prefixes in an IPv6 trie are skipped", []netip.Prefix{pp("10.0.0.0/16"), pp("2001:db8::/32")}, true,
			map[string]uint32{"2001:db8::1": 2, "2001:db9::1": 0}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idx := make([]uint32, len(tc.ps))
			for i := range idx {
				idx[i] = uint32(i + 1)
			}
			tr, err := CompileNACLSubnets(tc.ps, idx, tc.v6)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Skip != tc.skip {
				t.Errorf("skip %d bytes, want %d", tr.Skip, tc.skip)
			}
			for a, want := range tc.probe {
				if got := tr.Lookup(netip.MustParseAddr(a)); got != want {
					t.Errorf("%s -> %d, want %d", a, got, want)
				}
			}
		})
	}
	if _, err := CompileNACLSubnets([]netip.Prefix{pp("10.0.0.0/16"), pp("10.0.1.0/24")}, []uint32{1, 2}, false); err == nil {
		t.Error("overlapping subnets compiled")
	}
	if tr, err := CompileNACLSubnets([]netip.Prefix{pp("10.0.0.0/16")}, []uint32{1}, true); tr != nil || err != nil {
		t.Errorf("no IPv6 subnet: trie %v, err %v; want nil, nil", tr, err)
	}
	if _, err := CompileNACLSubnets([]netip.Prefix{pp("10.0.0.0/16")}, []uint32{0}, false); err == nil {
		t.Error("index 0 accepted")
	}
}
