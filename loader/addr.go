package loader

import (
	"encoding/binary"
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// reservedMasks computes the NACL's and the SG's cheap pre-checks for the
// router and DNS addresses of t (rules.NACLReservedAddrs) before their
// hash lookup: an IPv4 address h (host order) can be one only if h&3 != 0
// and h&mask4 == 0 (mask4 ANDs every VPC's and subnet's prefix host bits
// above bit 1); any6 is 1 when an IPv6 subnet is longer than /64, so that
// every IPv6 address is a candidate, else only those ending in ::1..::3.
func reservedMasks(t *vpc.Topology) (mask4, any6 uint32) {
	mask4 = ^uint32(0)
	var pfx []netip.Prefix
	for _, v := range t.VPCs {
		pfx = append(pfx, v.CIDR)
	}
	for _, s := range t.Subnets {
		pfx = append(pfx, s.CIDR, s.IPv6CIDR)
	}
	for _, p := range pfx {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4() {
			host := uint32(1)<<(32-p.Bits()) - 1
			if p.Bits() == 0 {
				host = ^uint32(0)
			}
			mask4 &= host &^ 3
		} else if p.Bits() > 64 {
			any6 = 1
		}
	}
	return mask4, any6
}

// words lays an address out as the datapath's __u32[4] in network order
// (IPv4 in the first word, the rest zero).
func words(a netip.Addr) [4]uint32 {
	var w [4]uint32
	b := a.As16()
	if a.Is4() {
		b4 := a.As4()
		b = [16]byte{}
		copy(b[:], b4[:])
	}
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

// addrOf reads a datapath __u32[4] address of family fam (4, else IPv6).
func addrOf(fam uint8, w [4]uint32) netip.Addr {
	if fam == 4 {
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], w[0])
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	for i := range w {
		binary.NativeEndian.PutUint32(b[4*i:], w[i])
	}
	return netip.AddrFrom16(b)
}
