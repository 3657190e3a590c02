package rules

import "net/netip"

// Packet is one IP packet as the filters see it: the header fields every
// SG and NACL decision depends on. Ports are 0 for portless protocols and
// for non-first fragments.
type Packet struct {
	Src, Dst netip.Addr
	Protocol int // IANA number (6, 17, 1, 58, ...)
	SrcPort  int
	DstPort  int
	ICMPType int // ICMP/ICMPv6 only
	ICMPCode int
	ICMPID   int   // echo identifier, ICMP/ICMPv6 echo only
	TCPFlags uint8 // raw flags byte: FIN=1 SYN=2 RST=4 PSH=8 ACK=16
	Fragment int   // 0 not a fragment, 1 first fragment, 2 later fragment (no L4 header)
	Length   int   // IP packet length in bytes (flow-log bytes)
}

// Fragment kinds of Packet.Fragment, as in bpf/parse.h.
const (
	FragNone  = 0
	FragFirst = 1
	FragLater = 2
)

// OpeningPacket is the first packet a client sends to open a flow: a TCP
// SYN, a UDP datagram, an ICMP/ICMPv6 echo request (srcPort is then the
// echo identifier), or a bare packet of another protocol.
func OpeningPacket(protocol int, src netip.Addr, srcPort int, dst netip.Addr, dstPort int) Packet {
	p := Packet{Src: src.Unmap(), Dst: dst.Unmap(), Protocol: protocol, Length: 60}
	switch protocol {
	case 6:
		p.SrcPort, p.DstPort, p.TCPFlags = srcPort, dstPort, TCPSyn
	case 17:
		p.SrcPort, p.DstPort, p.Length = srcPort, dstPort, 28
	case 1:
		p.ICMPType, p.ICMPID, p.Length = 8, srcPort, 84
	case 58:
		p.ICMPType, p.ICMPID, p.Length = 128, srcPort, 84
	}
	return p
}
