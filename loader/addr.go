package loader

import (
	"encoding/binary"
	"net/netip"
)

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
	var b [16]byte
	for i := range w {
		binary.NativeEndian.PutUint32(b[4*i:], w[i])
	}
	if fam == 4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(b)
}
