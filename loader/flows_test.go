package loader

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestFlowsLayout is root-free: the Go mirrors of bpf/flow.h must marshal to
// the sizes of the C structs as bpf2go generated them (a missing tail pad
// once made every flow_subnet update fail).
func TestFlowsLayout(t *testing.T) {
	for _, c := range []struct {
		name      string
		mine, gen any
	}{
		{"flow_key", flowKey{}, naclFlowKey{}},
		{"flow_val", flowVal{}, naclFlowVal{}},
		{"flow_addr_key", flowAddrKey{}, naclFlowAddrKey{}},
		{"flow_addr_val", flowAddrVal{}, naclFlowAddrVal{}},
		{"flow_subnet_key", flowSubnetKey{}, naclFlowSubnetKey{}},
		{"flow_key (sg)", flowKey{}, sgFlowKey{}},
		{"flow_addr_val (sg)", flowAddrVal{}, sgFlowAddrVal{}},
	} {
		if m, g := binary.Size(c.mine), binary.Size(c.gen); m != g || m <= 0 {
			t.Errorf("%s: Go mirror %d bytes, C %d", c.name, m, g)
		}
	}
}

// The same-subnet test of the SG (flow_same_subnet) compares the masked
// destination words with the subnet's words: both laid out as the datapath
// keeps addresses.
func TestFlowsSubnetMask(t *testing.T) {
	for _, c := range []struct {
		prefix string
		in     []string
		out    []string
	}{
		{"10.0.1.0/24", []string{"10.0.1.1", "10.0.1.255"}, []string{"10.0.2.1", "11.0.1.1"}},
		{"10.0.3.16/28", []string{"10.0.3.17"}, []string{"10.0.3.32", "10.0.3.15"}},
		{"2001:db8:1::/64", []string{"2001:db8:1::10", "2001:db8:1:0:ffff::1"}, []string{"2001:db8:1:1::10", "2001:db8:2::10"}},
	} {
		p := netip.MustParsePrefix(c.prefix)
		net, mask := words(p.Masked().Addr()), prefixMask(p)
		same := func(a string) bool {
			w := words(netip.MustParseAddr(a))
			for i := range w {
				if w[i]&mask[i] != net[i] {
					return false
				}
			}
			return true
		}
		for _, a := range c.in {
			if !same(a) {
				t.Errorf("%s not in %s by mask", a, c.prefix)
			}
		}
		for _, a := range c.out {
			if same(a) {
				t.Errorf("%s in %s by mask", a, c.prefix)
			}
		}
	}
}
