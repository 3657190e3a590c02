package loader

import (
	"net"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// testFrame describes an Ethernet frame carrying p, for BPF_PROG_RUN.
type testFrame struct {
	src, dst net.HardwareAddr
	p        rules.Packet // Protocol may disagree with the family (ICMPv6 in IPv4)
	hbh      bool         // IPv6: hop-by-hop and destination options before L4
	payload  []byte       // after the L4 header; 16 zero bytes when nil
}

// build serializes the frame with correct lengths and checksums. A first
// fragment keeps its L4 header, a later one (offset 100) carries payload only.
func (f testFrame) build(tb testing.TB) []byte {
	tb.Helper()
	p := f.p
	eth := &layers.Ethernet{SrcMAC: f.src, DstMAC: f.dst, EthernetType: layers.EthernetTypeIPv4}
	proto := layers.IPProtocol(p.Protocol)
	var nl gopacket.NetworkLayer
	var ls []gopacket.SerializableLayer
	if p.Src.Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: p.Src.AsSlice(), DstIP: p.Dst.AsSlice()}
		switch p.Fragment {
		case rules.FragFirst:
			ip.Flags = layers.IPv4MoreFragments
		case rules.FragLater:
			ip.FragOffset = 100
		}
		nl = ip
		ls = append(ls, eth, ip)
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: p.Src.AsSlice(), DstIP: p.Dst.AsSlice()}
		nl = ip
		ls = append(ls, eth, ip)
		if f.hbh {
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			// hop-by-hop then destination options, 8 bytes each (PadN)
			ls = append(ls, gopacket.Payload([]byte{byte(layers.IPProtocolIPv6Destination), 0, 1, 4, 0, 0, 0, 0}),
				gopacket.Payload([]byte{byte(proto), 0, 1, 4, 0, 0, 0, 0}))
		}
		if p.Fragment != rules.FragNone {
			// gopacket cannot serialise a fragment header: write its 8 bytes.
			fh := []byte{byte(proto), 0, 0, 1, 0, 0, 0, 7}
			if p.Fragment == rules.FragLater {
				fh[2], fh[3] = 0x03, 0x20 // offset 100 * 8 bytes, no more fragments
			}
			if f.hbh {
				ls[len(ls)-1].(gopacket.Payload)[0] = byte(layers.IPProtocolIPv6Fragment)
			} else {
				ip.NextHeader = layers.IPProtocolIPv6Fragment
			}
			ls = append(ls, gopacket.Payload(fh))
		}
	}
	if p.Fragment != rules.FragLater {
		switch p.Protocol {
		case vpc.ProtoTCP:
			fl := p.TCPFlags
			tcp := &layers.TCP{SrcPort: layers.TCPPort(p.SrcPort), DstPort: layers.TCPPort(p.DstPort), Window: 1000,
				FIN: fl&1 != 0, SYN: fl&2 != 0, RST: fl&4 != 0, PSH: fl&8 != 0, ACK: fl&16 != 0}
			_ = tcp.SetNetworkLayerForChecksum(nl)
			ls = append(ls, tcp)
		case vpc.ProtoUDP:
			udp := &layers.UDP{SrcPort: layers.UDPPort(p.SrcPort), DstPort: layers.UDPPort(p.DstPort)}
			_ = udp.SetNetworkLayerForChecksum(nl)
			ls = append(ls, udp)
		case vpc.ProtoICMP:
			ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(uint8(p.ICMPType), uint8(p.ICMPCode)), Id: uint16(p.ICMPID), Seq: 1})
		case vpc.ProtoICMPv6:
			ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(uint8(p.ICMPType), uint8(p.ICMPCode))}
			_ = ic.SetNetworkLayerForChecksum(nl)
			ls = append(ls, ic, gopacket.Payload([]byte{byte(p.ICMPID >> 8), byte(p.ICMPID), 0, 1}))
		}
	}
	payload := f.payload
	if payload == nil {
		payload = make([]byte, 16)
	}
	return serializeLayers(tb, append(ls, gopacket.Payload(payload))...)
}

func serializeLayers(tb testing.TB, ls ...gopacket.SerializableLayer) []byte {
	tb.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatalf("serialize: %v", err)
	}
	return buf.Bytes()
}
