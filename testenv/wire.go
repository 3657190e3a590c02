package testenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/netns"
)

// Packet-level test tools: frames written straight onto an interface
// inside a namespace (the first packet of a flow, with no socket and no
// retransmission behind it), and sniffers that see which tagged packets
// arrived. A tag is Magic and a 32-bit id in the payload, so a packet is
// recognised whatever the network translated on the way.

// Magic starts the payload of every tagged test packet.
const Magic = "vpcemu-t"

// Frame describes one tagged IPv4 or IPv6 packet to build.
type Frame struct {
	SrcMAC, DstMAC   net.HardwareAddr
	Src, Dst         netip.Addr
	Protocol         int // 6 TCP (a SYN), 17 UDP, 1 ICMP or 58 ICMPv6 (an echo request)
	SrcPort, DstPort int // ports; for ICMP the echo identifier is SrcPort
	TTL              int // 64 when 0
	Tag              uint32
}

// Bytes builds the frame.
func (f Frame) Bytes() ([]byte, error) {
	ttl := uint8(f.TTL)
	if ttl == 0 {
		ttl = 64
	}
	payload := make([]byte, len(Magic)+4)
	copy(payload, Magic)
	binary.BigEndian.PutUint32(payload[len(Magic):], f.Tag)
	eth := &layers.Ethernet{SrcMAC: f.SrcMAC, DstMAC: f.DstMAC, EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.NetworkLayer
	var ls []gopacket.SerializableLayer
	if f.Src.Is4() {
		ip4 := &layers.IPv4{Version: 4, TTL: ttl, Id: uint16(f.Tag), Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocol(f.Protocol),
			SrcIP: f.Src.AsSlice(), DstIP: f.Dst.AsSlice()}
		ip = ip4
		ls = append(ls, eth, ip4)
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip6 := &layers.IPv6{Version: 6, HopLimit: ttl, NextHeader: layers.IPProtocol(f.Protocol), SrcIP: f.Src.AsSlice(), DstIP: f.Dst.AsSlice()}
		ip = ip6
		ls = append(ls, eth, ip6)
	}
	switch f.Protocol {
	case 6:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(f.SrcPort), DstPort: layers.TCPPort(f.DstPort), Seq: f.Tag, SYN: true, Window: 64240}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		ls = append(ls, tcp)
	case 17:
		udp := &layers.UDP{SrcPort: layers.UDPPort(f.SrcPort), DstPort: layers.UDPPort(f.DstPort)}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		ls = append(ls, udp)
	case 1:
		ls = append(ls, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: uint16(f.SrcPort), Seq: 1})
	case 58:
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		ls = append(ls, icmp, &layers.ICMPv6Echo{Identifier: uint16(f.SrcPort), SeqNumber: 1})
	default:
		return nil, fmt.Errorf("frame: protocol %d not built", f.Protocol)
	}
	ls = append(ls, gopacket.Payload(payload))
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		return nil, fmt.Errorf("frame: %w", err)
	}
	return buf.Bytes(), nil
}

// Injector writes frames onto interfaces inside namespaces; it keeps one
// AF_PACKET socket per interface.
type Injector struct {
	mu    sync.Mutex
	socks map[string]injSock
}

type injSock struct {
	fd      int
	ifindex int
}

// NewInjector returns an Injector with no socket open yet.
func NewInjector() *Injector { return &Injector{socks: map[string]injSock{}} }

// Send writes frame out of ifname in namespace ns, as the interface's own
// stack would send it.
func (j *Injector) Send(ns, ifname string, frame []byte) error {
	j.mu.Lock()
	s, ok := j.socks[ns+"/"+ifname]
	j.mu.Unlock()
	if !ok {
		err := netns.Do(ns, func() error {
			ifi, err := net.InterfaceByName(ifname)
			if err != nil {
				return err
			}
			fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			s = injSock{fd: fd, ifindex: ifi.Index}
			return nil
		})
		if err != nil {
			return fmt.Errorf("inject on %s/%s: %w", ns, ifname, err)
		}
		j.mu.Lock()
		j.socks[ns+"/"+ifname] = s
		j.mu.Unlock()
	}
	return unix.Sendto(s.fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: s.ifindex, Halen: 6})
}

// Close closes every socket.
func (j *Injector) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range j.socks {
		unix.Close(s.fd)
	}
	j.socks = map[string]injSock{}
}

// Arrival is a tagged packet a sniffer saw, as it arrived.
type Arrival struct {
	Where            string // "ns/ifname"
	Tag              uint32
	Src, Dst         netip.Addr
	Protocol         int
	SrcPort, DstPort int // ICMP: the echo identifier in SrcPort
	TTL              int
	At               time.Time
}

// Sniffers watch interfaces for tagged packets arriving there (not those
// leaving) and collect them by tag.
type Sniffers struct {
	mu      sync.Mutex
	arrived map[uint32][]Arrival
	fds     []int
	wg      sync.WaitGroup
}

// NewSniffers returns sniffers watching nothing yet.
func NewSniffers() *Sniffers { return &Sniffers{arrived: map[uint32][]Arrival{}} }

// Watch starts a sniffer on ifname in namespace ns.
func (s *Sniffers) Watch(ns, ifname string) error {
	var fd int
	err := netns.Do(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return err
		}
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	})
	if err != nil {
		return fmt.Errorf("sniff %s/%s: %w", ns, ifname, err)
	}
	s.mu.Lock()
	s.fds = append(s.fds, fd)
	s.mu.Unlock()
	where := ns + "/" + ifname
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return // closed
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			if a, ok := parseTagged(buf[:n]); ok {
				a.Where, a.At = where, time.Now()
				s.mu.Lock()
				s.arrived[a.Tag] = append(s.arrived[a.Tag], a)
				s.mu.Unlock()
			}
		}
	}()
	return nil
}

// Arrived returns where the packet tagged tag arrived so far.
func (s *Sniffers) Arrived(tag uint32) []Arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Arrival(nil), s.arrived[tag]...)
}

// Close stops every sniffer.
func (s *Sniffers) Close() {
	s.mu.Lock()
	for _, fd := range s.fds {
		unix.Shutdown(fd, unix.SHUT_RDWR)
		unix.Close(fd)
	}
	s.fds = nil
	s.mu.Unlock()
	s.wg.Wait()
}

func parseTagged(b []byte) (Arrival, bool) {
	i := bytes.Index(b, []byte(Magic))
	if i < 0 || i+len(Magic)+4 > len(b) {
		return Arrival{}, false
	}
	pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.NoCopy)
	a := Arrival{Tag: binary.BigEndian.Uint32(b[i+len(Magic):])}
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		a.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		a.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		a.Protocol, a.TTL = int(ip.Protocol), int(ip.TTL)
	case *layers.IPv6:
		a.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		a.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		a.Protocol, a.TTL = int(ip.NextHeader), int(ip.HopLimit)
	default:
		return Arrival{}, false
	}
	switch l := pkt.TransportLayer().(type) {
	case *layers.TCP:
		a.SrcPort, a.DstPort = int(l.SrcPort), int(l.DstPort)
	case *layers.UDP:
		a.SrcPort, a.DstPort = int(l.SrcPort), int(l.DstPort)
	}
	if l, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		if l.TypeCode.Type() != 8 { // an error quoting a tagged packet
			return Arrival{}, false
		}
		a.SrcPort = int(l.Id)
	}
	if l, ok := pkt.Layer(layers.LayerTypeICMPv6Echo).(*layers.ICMPv6Echo); ok {
		a.SrcPort = int(l.Identifier)
	}
	if pkt.Layer(layers.LayerTypeICMPv6) != nil && pkt.Layer(layers.LayerTypeICMPv6Echo) == nil {
		return Arrival{}, false
	}
	return a, true
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
