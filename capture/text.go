package capture

import (
	"fmt"
	"strings"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Line renders p as tcpdump prints a packet (`tcpdump -n` with the
// direction, as on Linux's "any" device), the verdict of a dropped packet
// appended.
func Line(p *Packet) string {
	var b strings.Builder
	b.WriteString(p.Time.Format("15:04:05.000000"))
	fmt.Fprintf(&b, " %-3s ", p.Dir)
	b.WriteString(describe(p.Data, p.Length))
	if p.Verdict != "" {
		b.WriteString("  ")
		b.WriteString(p.Verdict)
	}
	return b.String()
}

// describe is the protocol part of a tcpdump line.
func describe(data []byte, wire int) string {
	pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	var (
		src, dst, proto string
		ipLen           int
	)
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		src, dst, proto, ipLen = ip.SrcIP.String(), ip.DstIP.String(), "IP", int(ip.Length)
	case *layers.IPv6:
		src, dst, proto, ipLen = ip.SrcIP.String(), ip.DstIP.String(), "IP6", int(ip.Length)+40
	default:
		if arp, ok := pkt.Layer(layers.LayerTypeARP).(*layers.ARP); ok {
			if arp.Operation == layers.ARPRequest {
				return fmt.Sprintf("ARP, Request who-has %s tell %s, length %d", ipString(arp.DstProtAddress), ipString(arp.SourceProtAddress), wire-14)
			}
			return fmt.Sprintf("ARP, Reply %s is-at %s, length %d", ipString(arp.SourceProtAddress), macString(arp.SourceHwAddress), wire-14)
		}
		if eth, ok := pkt.LinkLayer().(*layers.Ethernet); ok {
			return fmt.Sprintf("ethertype 0x%04x, length %d", uint16(eth.EthernetType), wire)
		}
		return fmt.Sprintf("truncated frame, length %d", wire)
	}
	switch l4 := pkt.TransportLayer().(type) {
	case *layers.TCP:
		payload := ipLen - int(l4.DataOffset)*4 - headerLen(pkt)
		s := fmt.Sprintf("%s %s.%d > %s.%d: Flags [%s]", proto, src, l4.SrcPort, dst, l4.DstPort, tcpFlags(l4))
		if payload > 0 {
			s += fmt.Sprintf(", seq %d:%d", l4.Seq, l4.Seq+uint32(payload))
		} else if l4.SYN || l4.FIN || l4.RST {
			s += fmt.Sprintf(", seq %d", l4.Seq)
		}
		if l4.ACK {
			s += fmt.Sprintf(", ack %d", l4.Ack)
		}
		return s + fmt.Sprintf(", win %d, length %d", l4.Window, max(payload, 0))
	case *layers.UDP:
		return fmt.Sprintf("%s %s.%d > %s.%d: UDP, length %d", proto, src, l4.SrcPort, dst, l4.DstPort, max(int(l4.Length)-8, 0))
	}
	if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		s := fmt.Sprintf("%s %s > %s: ICMP %s", proto, src, dst, icmpName(icmp))
		if t := icmp.TypeCode.Type(); t == layers.ICMPv4TypeEchoRequest || t == layers.ICMPv4TypeEchoReply {
			s += fmt.Sprintf(", id %d, seq %d", icmp.Id, icmp.Seq)
		}
		return s + fmt.Sprintf(", length %d", ipLen-headerLen(pkt))
	}
	if icmp, ok := pkt.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		return fmt.Sprintf("%s %s > %s: ICMP6, %s, length %d", proto, src, dst, icmp.TypeCode, ipLen-headerLen(pkt))
	}
	return fmt.Sprintf("%s %s > %s: %s, length %d", proto, src, dst, protoName(pkt), ipLen-headerLen(pkt))
}

// headerLen is the IP header's length.
func headerLen(pkt gopacket.Packet) int {
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		return int(ip.IHL) * 4
	case *layers.IPv6:
		return 40
	}
	return 0
}

func tcpFlags(t *layers.TCP) string {
	var b strings.Builder
	for _, f := range []struct {
		on bool
		c  byte
	}{{t.FIN, 'F'}, {t.SYN, 'S'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.ACK, '.'}, {t.URG, 'U'}, {t.ECE, 'E'}, {t.CWR, 'W'}} {
		if f.on {
			b.WriteByte(f.c)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

func icmpName(i *layers.ICMPv4) string {
	switch i.TypeCode.Type() {
	case layers.ICMPv4TypeEchoRequest:
		return "echo request"
	case layers.ICMPv4TypeEchoReply:
		return "echo reply"
	case layers.ICMPv4TypeDestinationUnreachable:
		return "unreachable (" + i.TypeCode.String() + ")"
	}
	return i.TypeCode.String()
}

func protoName(pkt gopacket.Packet) string {
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		return "ip-proto-" + fmt.Sprint(uint8(ip.Protocol))
	case *layers.IPv6:
		return "ip-proto-" + fmt.Sprint(uint8(ip.NextHeader))
	}
	return "?"
}

func ipString(b []byte) string {
	if len(b) == 4 {
		return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
	}
	return fmt.Sprintf("%x", b)
}

func macString(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts, ":")
}
