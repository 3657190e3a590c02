package loader

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// naclWire is a frame the differential test builds by hand (gopacket cannot
// emit the truncated and malformed headers it needs) with the header fields
// the datapath will see (p) and how to damage it.
type naclWire struct {
	p       rules.Packet
	v4opts  int     // IPv4 option bytes (multiple of 4, <= 40)
	ext     []uint8 // IPv6 extension headers before L4: 0, 43, 60 (8 bytes) and 44 (fragment)
	cut     int     // truncate the frame to cut bytes (0 = keep)
	badVer  bool    // wrong IP version nibble
	badIHL  bool    // IPv4 IHL 4
	ethType uint16  // 0 = IPv4/IPv6 by address family
	more    bool    // more-fragments flag on a later fragment
}

func naclL4Min(proto int) int {
	switch proto {
	case vpc.ProtoTCP:
		return 20
	case vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6:
		return 8
	}
	return 0
}

func (w *naclWire) l4() []byte {
	p := &w.p
	payload := []byte("0123456789abcdef")
	if p.Fragment == rules.FragLater {
		return payload
	}
	var h []byte
	switch p.Protocol {
	case vpc.ProtoTCP:
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], uint16(p.SrcPort))
		binary.BigEndian.PutUint16(h[2:], uint16(p.DstPort))
		h[12] = 5 << 4
		h[13] = p.TCPFlags
		binary.BigEndian.PutUint16(h[14:], 1000)
	case vpc.ProtoUDP:
		h = make([]byte, 8)
		binary.BigEndian.PutUint16(h[0:], uint16(p.SrcPort))
		binary.BigEndian.PutUint16(h[2:], uint16(p.DstPort))
		binary.BigEndian.PutUint16(h[4:], uint16(8+len(payload)))
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		h = make([]byte, 8)
		h[0], h[1] = byte(p.ICMPType), byte(p.ICMPCode)
	}
	return append(h, payload...)
}

var (
	naclMACs = []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
)

func (w *naclWire) bytes() []byte {
	p := &w.p
	v6 := p.Src.Is6()
	b := append([]byte{}, naclMACs...)
	et := w.ethType
	if et == 0 {
		et = 0x0800
		if v6 {
			et = 0x86dd
		}
	}
	b = binary.BigEndian.AppendUint16(b, et)
	l4 := w.l4()
	if !v6 {
		ihl := 5 + w.v4opts/4
		ip := make([]byte, ihl*4)
		ver := byte(4)
		if w.badVer {
			ver = 6
		}
		ip[0] = ver<<4 | byte(ihl)
		if w.badIHL {
			ip[0] = ver<<4 | 4
		}
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)+len(l4)))
		switch p.Fragment {
		case rules.FragFirst:
			binary.BigEndian.PutUint16(ip[6:], 0x2000)
		case rules.FragLater:
			binary.BigEndian.PutUint16(ip[6:], 100|b2u16(w.more)<<13)
		}
		ip[8] = 64
		ip[9] = byte(p.Protocol)
		s, d := p.Src.As4(), p.Dst.As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
		for i := 20; i < len(ip); i++ {
			ip[i] = 1 // NOP options
		}
		b = append(b, ip...)
	} else {
		ip := make([]byte, 40)
		ver := byte(6)
		if w.badVer {
			ver = 4
		}
		ip[0] = ver << 4
		ip[7] = 64
		s, d := p.Src.As16(), p.Dst.As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
		var ext []byte
		chain := w.ext
		next := func(i int) byte {
			if i+1 < len(chain) {
				return chain[i+1]
			}
			return byte(p.Protocol)
		}
		for i, e := range chain {
			h := make([]byte, 8)
			h[0] = next(i)
			if e == 44 {
				switch p.Fragment {
				case rules.FragFirst:
					h[3] = 1
				case rules.FragLater:
					binary.BigEndian.PutUint16(h[2:], 185<<3|b2u16(w.more))
				}
			}
			ext = append(ext, h...)
		}
		if len(chain) > 0 {
			ip[6] = chain[0]
		} else {
			ip[6] = byte(p.Protocol)
		}
		binary.BigEndian.PutUint16(ip[4:], uint16(len(ext)+len(l4)))
		b = append(b, ip...)
		b = append(b, ext...)
	}
	b = append(b, l4...)
	if w.cut > 0 && w.cut < len(b) {
		b = b[:w.cut]
	}
	return b
}

// malformed mirrors bpf/parse.h's checks on the frame bytes() returns.
func (w *naclWire) malformed(n int) bool {
	if n < 14 {
		return true
	}
	l4off := 0
	if w.p.Src.Is4() {
		if n < 34 || w.badVer || w.badIHL {
			return true
		}
		l4off = 14 + 20 + w.v4opts
		if n < l4off {
			return true
		}
	} else {
		if n < 54 || w.badVer {
			return true
		}
		if len(w.ext) >= 6 {
			// parse.h walks at most IPV6_EXT_MAX headers including the L4
			// one; it fails on whichever comes first, a short header or the limit
			for i := 0; i < 6; i++ {
				if n < 54+8*(i+1) {
					return true
				}
			}
			return true
		}
		for i := range w.ext {
			if n < 54+8*(i+1) {
				return true
			}
		}
		l4off = 54 + 8*len(w.ext)
	}
	if w.p.Fragment == rules.FragLater {
		return false
	}
	return n < l4off+naclL4Min(w.p.Protocol)
}

// want is the verdict the datapath must give: XDP_PASS or XDP_DROP and the
// deciding rule (0 for pass-through and malformed frames).
func (w *naclWire) want(acl *vpc.NetworkACL, egress bool, topo *vpc.Topology) (uint32, int) {
	if w.ethType != 0 && w.ethType != 0x0800 && w.ethType != 0x86dd {
		return naclXDPPass, 0
	}
	if w.malformed(len(w.bytes())) {
		return naclXDPDrop, 0
	}
	if rules.NACLBypass(topo, w.p) {
		return naclXDPPass, 0
	}
	r := rules.EvalNACL(acl, egress, w.p)
	if r.Allow {
		return naclXDPPass, r.Rule
	}
	return naclXDPDrop, r.Rule
}

const (
	naclXDPDrop = 1
	naclXDPPass = 2
)

var naclEdgePorts = []int{0, 1, 1023, 1024, 32767, 32768, 65535, 22, 80, 443}

func naclRandPort(r *rand.Rand) int {
	if r.IntN(2) == 0 {
		return naclEdgePorts[r.IntN(len(naclEdgePorts))]
	}
	return r.IntN(65536)
}

var naclSpecialV4 = []string{"169.254.169.254", "169.254.169.253", "169.254.169.123", "169.254.0.1", "169.253.255.255", "10.0.0.2", "10.0.0.3", "10.0.3.17", "10.0.3.20", "0.0.0.0", "0.0.0.1", "255.255.255.255"}
var naclSpecialV6 = []string{"fe80::1", "ff02::1", "ff02::1:ff00:1", "fd00:ec2::254", "fd00:ec2::123", "ff05::2", "::", "::3", "2001:db8:1::1", "2001:db8:1::3", "2001:db8:1::4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}

func naclRandAddr(r *rand.Rand, v6 bool) netip.Addr {
	if r.IntN(30) == 0 {
		if v6 {
			return netip.MustParseAddr(naclSpecialV6[r.IntN(len(naclSpecialV6))])
		}
		return netip.MustParseAddr(naclSpecialV4[r.IntN(len(naclSpecialV4))])
	}
	if v6 {
		b := [16]byte{0x20, 0x01, 0x0d, 0xb8}
		b[4] = byte(r.IntN(4))
		b[15] = byte(r.IntN(256))
		if r.IntN(8) == 0 {
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
		}
		return netip.AddrFrom16(b)
	}
	b := [4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))}
	if r.IntN(8) == 0 {
		b = [4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}
	}
	return netip.AddrFrom4(b)
}

func naclRandRule(r *rand.Rand, num int) vpc.NACLRule {
	v6 := r.IntN(3) == 0
	bits := []int{0, 8, 16, 22, 24, 30, 32}[r.IntN(7)]
	if v6 {
		bits = []int{0, 32, 48, 64, 120, 128}[r.IntN(6)]
	}
	rule := vpc.NACLRule{Number: num, Allow: r.IntN(2) == 0, ICMPType: -1, ICMPCode: -1,
		CIDR: netip.PrefixFrom(naclRandAddr(r, v6), bits).Masked(), Ports: vpc.AllPorts}
	rule.Protocol = []int{vpc.ProtoAll, vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6, 47, 132, 0}[r.IntN(8)]
	switch rule.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		a, b := naclRandPort(r), naclRandPort(r)
		if r.IntN(5) == 0 {
			a, b = 0, 65535
		}
		rule.Ports = vpc.PortRange{From: min(a, b), To: max(a, b)}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if r.IntN(3) > 0 {
			rule.ICMPType = []int{0, 3, 8, 11, 128, 129, 135, 255}[r.IntN(8)]
			if r.IntN(2) == 0 {
				rule.ICMPCode = r.IntN(5)
			}
		}
	default:
		if r.IntN(3) == 0 { // NACL-12: ignored for these protocols
			rule.Ports = vpc.PortRange{From: 80, To: 80}
			rule.ICMPType = 3
		}
	}
	return rule
}

func naclRandRules(r *rand.Rand, n int) []vpc.NACLRule {
	var out []vpc.NACLRule
	used := map[int]bool{}
	for len(out) < n {
		num := 1 + r.IntN(32766)
		if used[num] {
			continue
		}
		used[num] = true
		out = append(out, naclRandRule(r, num))
	}
	return out
}

func naclRandWire(r *rand.Rand) *naclWire {
	v6 := r.IntN(2) == 0
	w := &naclWire{p: rules.Packet{Src: naclRandAddr(r, v6), Dst: naclRandAddr(r, v6)}}
	p := &w.p
	protos := []int{vpc.ProtoTCP, vpc.ProtoTCP, vpc.ProtoUDP, vpc.ProtoUDP, vpc.ProtoICMP, vpc.ProtoICMPv6, 47, 132, 255}
	if !v6 {
		protos = append(protos, 0)
	}
	p.Protocol = protos[r.IntN(len(protos))]
	p.Fragment = []int{rules.FragNone, rules.FragNone, rules.FragNone, rules.FragNone, rules.FragFirst, rules.FragLater}[r.IntN(6)]
	if p.Fragment != rules.FragLater {
		switch p.Protocol {
		case vpc.ProtoTCP, vpc.ProtoUDP:
			p.SrcPort, p.DstPort = naclRandPort(r), naclRandPort(r)
			if p.Protocol == vpc.ProtoTCP {
				p.TCPFlags = uint8(r.IntN(256))
			}
		case vpc.ProtoICMP, vpc.ProtoICMPv6:
			p.ICMPType = []int{0, 3, 8, 11, 128, 129, 133, 134, 135, 136, 137, r.IntN(256)}[r.IntN(12)]
			p.ICMPCode = r.IntN(5)
		}
	} else {
		w.more = r.IntN(2) == 0
	}
	if !v6 && r.IntN(5) == 0 {
		w.v4opts = 4 * r.IntN(11)
	}
	if v6 {
		for i := r.IntN(3); i > 0; i-- {
			w.ext = append(w.ext, []uint8{0, 43, 60}[r.IntN(3)])
		}
		if p.Fragment != rules.FragNone {
			w.ext = append(w.ext, 44)
		}
		if r.IntN(40) == 0 {
			for len(w.ext) < 6+r.IntN(2) {
				w.ext = append([]uint8{60}, w.ext...)
			}
		}
	}
	switch r.IntN(40) {
	case 0:
		w.ethType = []uint16{0x0806, 0x8100, 0x88cc}[r.IntN(3)]
	case 1:
		w.badVer = true
	case 2:
		w.badIHL = !v6
	case 3, 4, 5, 6:
		w.cut = 14 + r.IntN(80)
	}
	return w
}

func b2u16(b bool) uint16 {
	if b {
		return 1
	}
	return 0
}
