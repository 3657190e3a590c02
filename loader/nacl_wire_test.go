package loader

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/rules/rulestest"
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

// naclHit is one table judging a packet: the rule counter it bumps.
type naclHit struct {
	acl        string
	egress, v6 bool
	rule       int
	allow      bool
}

// judge is the verdict the datapath must give to the frame entering the
// router from subnet from ("" from none, the gateway), with acls[s] the
// NACL of subnet s, and the tables' judgements in order (none for
// pass-through and malformed frames). The oracle is the reference
// evaluator on the path of PATH-1/PATH-5: the source subnet's outbound
// table, then the inbound table of the subnet holding the destination.
func (w *naclWire) judge(from string, acls map[string]*vpc.NetworkACL, topo *vpc.Topology) (uint32, []naclHit) {
	if w.ethType != 0 && w.ethType != 0x0800 && w.ethType != 0x86dd {
		return naclXDPPass, nil
	}
	if w.malformed(len(w.bytes())) {
		return naclXDPDrop, nil
	}
	if rules.NACLBypass(topo, w.p) {
		return naclXDPPass, nil
	}
	var hits []naclHit
	for _, t := range []struct {
		subnet string
		egress bool
	}{{from, true}, {naclSubnetOf(topo, w.p.Dst), false}} {
		if t.subnet == "" {
			continue
		}
		acl := acls[t.subnet]
		r := rules.EvalNACL(acl, t.egress, w.p)
		hits = append(hits, naclHit{acl: acl.ID, egress: t.egress, v6: w.p.Src.Is6(), rule: r.Rule, allow: r.Allow})
		if !r.Allow {
			return naclXDPDrop, hits
		}
	}
	return naclXDPPass, hits
}

// want is judge's verdict and deciding rule (0 when no table judged).
func (w *naclWire) want(from string, acls map[string]*vpc.NetworkACL, topo *vpc.Topology) (uint32, int) {
	v, hits := w.judge(from, acls, topo)
	if len(hits) == 0 {
		return v, 0
	}
	return v, hits[len(hits)-1].rule
}

// naclSubnetOf names the subnet of topo holding a, "" if none.
func naclSubnetOf(topo *vpc.Topology, a netip.Addr) string {
	for _, sn := range topo.Subnets {
		if sn.CIDR.Contains(a) || (sn.IPv6CIDR.IsValid() && sn.IPv6CIDR.Contains(a)) {
			return sn.ID
		}
	}
	return ""
}

const (
	naclXDPDrop = 1
	naclXDPPass = 2
)

func naclRandWire(r *rand.Rand) *naclWire {
	v6 := r.IntN(2) == 0
	w := &naclWire{p: rules.Packet{Src: rulestest.RandAddr(r, v6), Dst: rulestest.RandAddr(r, v6)}}
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
			p.SrcPort, p.DstPort = rulestest.RandPort(r), rulestest.RandPort(r)
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
