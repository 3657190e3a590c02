package loader

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
)

const (
	igwTCNext = ^uint32(0) // TC_ACT_UNSPEC: pass to the next tcx program
	igwTCShot = 2
)

var (
	igwVPC     = netip.MustParsePrefix("10.0.0.0/16")
	igwWebPriv = netip.MustParseAddr("10.0.1.10")
	igwWebPub  = netip.MustParseAddr("203.0.113.10")
	igwDBPriv  = netip.MustParseAddr("10.0.2.20")
	igwLaptop  = netip.MustParseAddr("198.51.100.10")
)

func mustLoadIGW(tb testing.TB) *IGW {
	tb.Helper()
	testenv.RequireRoot(tb)
	g, err := newIGW(IGWConfig{Blocks: []netip.Prefix{igwVPC}, NAT: map[netip.Addr]netip.Addr{igwWebPub: igwWebPriv}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = g.Close() })
	return g
}

// igwPkt describes a test packet; proto is "tcp", "udp", "icmp", "icmperr"
// (port unreachable quoting a UDP packet from dst to src), "frag" (a
// non-first UDP fragment) or "udp0" (UDP without checksum).
func igwPkt(tb testing.TB, proto string, src, dst netip.Addr) []byte {
	tb.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 7, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	payload := gopacket.Payload([]byte("vpcemu igw test payload"))
	var ls []gopacket.SerializableLayer
	switch proto {
	case "tcp":
		ip.Protocol = layers.IPProtocolTCP
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: 1, SYN: true, Window: 1000}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		ls = []gopacket.SerializableLayer{eth, ip, tcp, payload}
	case "udp", "udp0":
		ip.Protocol = layers.IPProtocolUDP
		udp := &layers.UDP{SrcPort: 40000, DstPort: 53}
		_ = udp.SetNetworkLayerForChecksum(ip)
		ls = []gopacket.SerializableLayer{eth, ip, udp, payload}
	case "icmp":
		ip.Protocol = layers.IPProtocolICMPv4
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 9, Seq: 1}
		ls = []gopacket.SerializableLayer{eth, ip, ic, payload}
	case "icmperr":
		// The quoted packet went the other way: dst -> src.
		inner := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: dst.AsSlice(), DstIP: src.AsSlice()}
		udp := &layers.UDP{SrcPort: 40000, DstPort: 53}
		_ = udp.SetNetworkLayerForChecksum(inner)
		ib := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(ib, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, inner, udp, gopacket.Payload([]byte("quoted"))); err != nil {
			tb.Fatal(err)
		}
		ip.Protocol = layers.IPProtocolICMPv4
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}
		ls = []gopacket.SerializableLayer{eth, ip, ic, gopacket.Payload(ib.Bytes())}
	case "frag":
		ip.Protocol = layers.IPProtocolUDP
		ip.FragOffset = 100
		ls = []gopacket.SerializableLayer{eth, ip, payload}
	default:
		tb.Fatalf("unknown packet kind %q", proto)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		tb.Fatal(err)
	}
	b := buf.Bytes()
	if proto == "udp0" {
		b[14+20+6], b[14+20+7] = 0, 0
	}
	return b
}

// csumFold is the Internet checksum of b (RFC 1071), folded, not inverted.
func igwCsumSum(sum uint32, b []byte) uint32 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	return sum
}

func igwCsumOK(sum uint32) bool {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

// igwVerifyChecksums recomputes every checksum of an IPv4 frame: the IP
// header, TCP/UDP with the pseudo header (a zero UDP checksum must stay
// zero when it came in zero), ICMP, and an ICMP error's quoted IP header.
func igwVerifyChecksums(t *testing.T, frame []byte, udpZero bool) {
	t.Helper()
	ip := frame[14:]
	ihl := int(ip[0]&0xf) * 4
	if !igwCsumOK(igwCsumSum(0, ip[:ihl])) {
		t.Errorf("IPv4 header checksum wrong: %s", hex.EncodeToString(ip[:ihl]))
	}
	if binary.BigEndian.Uint16(ip[6:])&0x1fff != 0 {
		return
	}
	l4 := ip[ihl:binary.BigEndian.Uint16(ip[2:])]
	pseudo := igwCsumSum(0, ip[12:20]) + uint32(ip[9]) + uint32(len(l4))
	switch ip[9] {
	case 6:
		if !igwCsumOK(igwCsumSum(pseudo, l4)) {
			t.Errorf("TCP checksum wrong")
		}
	case 17:
		c := binary.BigEndian.Uint16(l4[6:])
		if udpZero {
			if c != 0 {
				t.Errorf("UDP checksum 0 (none) became %#04x", c)
			}
			return
		}
		if !igwCsumOK(igwCsumSum(pseudo, l4)) {
			t.Errorf("UDP checksum wrong")
		}
	case 1:
		if !igwCsumOK(igwCsumSum(0, l4)) {
			t.Errorf("ICMP checksum wrong")
		}
		if l4[0] == 3 {
			in := l4[8:]
			if !igwCsumOK(igwCsumSum(0, in[:20])) {
				t.Errorf("quoted IPv4 header checksum wrong")
			}
		}
	}
}

func TestIGWTranslate(t *testing.T) {
	g := mustLoadIGW(t)
	stranger := netip.MustParseAddr("192.0.2.66")
	for _, tc := range []struct {
		name                 string
		ingress              bool
		kind                 string
		src, dst             netip.Addr
		want                 uint32
		wantSrc, wantDst     netip.Addr
		wantInSrc, wantInDst netip.Addr // quoted header after NAT (icmperr only)
	}{
		{name: "ingress TCP to the public IP is sent to the private IP", ingress: true, kind: "tcp", src: igwLaptop, dst: igwWebPub, want: igwTCNext, wantSrc: igwLaptop, wantDst: igwWebPriv},
		{name: "ingress UDP to the public IP is sent to the private IP", ingress: true, kind: "udp", src: igwLaptop, dst: igwWebPub, want: igwTCNext, wantSrc: igwLaptop, wantDst: igwWebPriv},
		{name: "ingress UDP without checksum keeps checksum zero", ingress: true, kind: "udp0", src: igwLaptop, dst: igwWebPub, want: igwTCNext, wantSrc: igwLaptop, wantDst: igwWebPriv},
		{name: "ingress ICMP echo to the public IP is sent to the private IP", ingress: true, kind: "icmp", src: igwLaptop, dst: igwWebPub, want: igwTCNext, wantSrc: igwLaptop, wantDst: igwWebPriv},
		{name: "ingress non-first fragment is translated at the IP layer", ingress: true, kind: "frag", src: igwLaptop, dst: igwWebPub, want: igwTCNext, wantSrc: igwLaptop, wantDst: igwWebPriv},
		{name: "ingress ICMP error has its quoted source translated", ingress: true, kind: "icmperr", src: igwLaptop, dst: igwWebPub, want: igwTCNext, wantSrc: igwLaptop, wantDst: igwWebPriv, wantInSrc: igwWebPriv, wantInDst: igwLaptop},
		{name: "ingress to an unmapped VPC address is dropped", ingress: true, kind: "tcp", src: igwLaptop, dst: igwDBPriv, want: igwTCShot},
		{name: "ingress to an unmapped public address is dropped (TV-43 b)", ingress: true, kind: "tcp", src: igwLaptop, dst: stranger, want: igwTCShot},
		{name: "ingress from an address of the VPC is spoofed (EIP-4)", ingress: true, kind: "tcp", src: igwDBPriv, dst: igwWebPub, want: igwTCShot},
		{name: "ingress from an RFC 1918 address is dropped (EIP-4)", ingress: true, kind: "tcp", src: netip.MustParseAddr("192.168.1.1"), dst: igwWebPub, want: igwTCShot},
		{name: "ingress from an RFC 6598 address is dropped (EIP-4)", ingress: true, kind: "tcp", src: netip.MustParseAddr("100.64.1.1"), dst: igwWebPub, want: igwTCShot},
		{name: "egress to an RFC 1918 address is dropped (EIP-4)", kind: "tcp", src: igwWebPriv, dst: netip.MustParseAddr("172.16.0.1"), want: igwTCShot},
		{name: "egress TCP from the private IP leaves from the public IP", kind: "tcp", src: igwWebPriv, dst: igwLaptop, want: igwTCNext, wantSrc: igwWebPub, wantDst: igwLaptop},
		{name: "egress UDP from the private IP leaves from the public IP", kind: "udp", src: igwWebPriv, dst: igwLaptop, want: igwTCNext, wantSrc: igwWebPub, wantDst: igwLaptop},
		{name: "egress UDP without checksum keeps checksum zero", kind: "udp0", src: igwWebPriv, dst: igwLaptop, want: igwTCNext, wantSrc: igwWebPub, wantDst: igwLaptop},
		{name: "egress ICMP echo from the private IP leaves from the public IP", kind: "icmp", src: igwWebPriv, dst: igwLaptop, want: igwTCNext, wantSrc: igwWebPub, wantDst: igwLaptop},
		{name: "egress ICMP error has its quoted destination translated", kind: "icmperr", src: igwWebPriv, dst: igwLaptop, want: igwTCNext, wantSrc: igwWebPub, wantDst: igwLaptop, wantInSrc: igwLaptop, wantInDst: igwWebPub},
		{name: "egress from an instance without public IP is dropped", kind: "tcp", src: igwDBPriv, dst: igwLaptop, want: igwTCShot},
		{name: "egress non-first fragment without public IP is dropped", kind: "frag", src: igwDBPriv, dst: igwLaptop, want: igwTCShot},
		{name: "egress from the link's own address passes untouched", kind: "udp", src: netip.MustParseAddr("169.254.100.1"), dst: igwLaptop, want: igwTCNext, wantSrc: netip.MustParseAddr("169.254.100.1"), wantDst: igwLaptop},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog := g.objs.IgwEgress
			if tc.ingress {
				prog = g.objs.IgwIngress
			}
			in := igwPkt(t, tc.kind, tc.src, tc.dst)
			out := make([]byte, len(in)+64)
			opts := &ebpf.RunOptions{Data: in, DataOut: out}
			ret, err := prog.Run(opts)
			if err != nil {
				t.Fatal(err)
			}
			if ret != tc.want {
				t.Fatalf("verdict %d, want %d", ret, tc.want)
			}
			if tc.want != igwTCNext {
				return
			}
			out = opts.DataOut
			p := gopacket.NewPacket(out, layers.LayerTypeEthernet, gopacket.Default)
			ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			if ip4 == nil {
				t.Fatalf("no IPv4 in output %x", out)
			}
			if s, d := igwAddrOf(ip4.SrcIP), igwAddrOf(ip4.DstIP); s != tc.wantSrc || d != tc.wantDst {
				t.Errorf("after NAT %s -> %s, want %s -> %s", s, d, tc.wantSrc, tc.wantDst)
			}
			igwVerifyChecksums(t, out, tc.kind == "udp0")
			if tc.kind == "icmperr" {
				inner := out[14+20+8:]
				s, d := igwAddrOf(inner[12:16]), igwAddrOf(inner[16:20])
				if s != tc.wantInSrc || d != tc.wantInDst {
					t.Errorf("quoted header %s -> %s, want %s -> %s", s, d, tc.wantInSrc, tc.wantInDst)
				}
			}
			// Only the addresses and checksums may change.
			if len(out) != len(in) {
				t.Errorf("length changed %d -> %d", len(in), len(out))
			}
		})
	}
}

func TestIGWIPv6Untouched(t *testing.T) {
	g := mustLoadIGW(t)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
		SrcIP: net.ParseIP("2001:db8::10"), DstIP: net.ParseIP("2001:db8:1::1")}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: true}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		t.Fatal(err)
	}
	for _, prog := range []*ebpf.Program{g.objs.IgwIngress, g.objs.IgwEgress} {
		in := buf.Bytes()
		opts := &ebpf.RunOptions{Data: in, DataOut: make([]byte, len(in)+64)}
		ret, err := prog.Run(opts)
		if err != nil {
			t.Fatal(err)
		}
		if ret != igwTCNext || string(opts.DataOut) != string(in) {
			t.Errorf("IPv6: verdict %d, changed=%v; want untouched pass", ret, string(opts.DataOut) != string(in))
		}
	}
}

func igwAddrOf(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

// --- real traffic through the NAT ---------------------------------------

// igwChain is a small namespace chain built with ip(8):
//
//	webNS  eth0 10.0.1.10/24 --- rweb 10.0.1.1/24  \
//	                                                 routerNS igw 169.254.100.1/30 --- igw 169.254.100.2/30 hostNS (lo: 198.51.100.10)
//	dbNS   eth0 10.0.2.20/24 --- rdb  10.0.2.1/24  /
type igwChain struct {
	router, host, web, db string
}

func naclIP(tb testing.TB, args ...string) {
	tb.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func newIGWChain(t *testing.T) *igwChain {
	t.Helper()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	tag := "vpce-igw-" + hex.EncodeToString(rnd[:])
	c := &igwChain{router: tag + "-r", host: tag + "-h", web: tag + "-w", db: tag + "-d"}
	for _, ns := range []string{c.router, c.host, c.web, c.db} {
		naclIP(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		naclIP(t, "-n", ns, "link", "set", "lo", "up")
	}
	naclIP(t, "-n", c.router, "link", "add", "igw", "type", "veth", "peer", "name", "igw", "netns", c.host)
	naclIP(t, "-n", c.router, "link", "add", "rweb", "type", "veth", "peer", "name", "eth0", "netns", c.web)
	naclIP(t, "-n", c.router, "link", "add", "rdb", "type", "veth", "peer", "name", "eth0", "netns", c.db)
	for _, a := range [][3]string{
		{c.router, "igw", "169.254.100.1/30"}, {c.host, "igw", "169.254.100.2/30"},
		{c.router, "rweb", "10.0.1.1/24"}, {c.web, "eth0", "10.0.1.10/24"},
		{c.router, "rdb", "10.0.2.1/24"}, {c.db, "eth0", "10.0.2.20/24"},
		{c.host, "lo", "198.51.100.10/32"},
	} {
		naclIP(t, "-n", a[0], "addr", "add", a[2], "dev", a[1])
		naclIP(t, "-n", a[0], "link", "set", a[1], "up")
	}
	naclIP(t, "-n", c.web, "route", "add", "default", "via", "10.0.1.1")
	naclIP(t, "-n", c.db, "route", "add", "default", "via", "10.0.2.1")
	naclIP(t, "-n", c.router, "route", "add", "default", "via", "169.254.100.2")
	naclIP(t, "-n", c.host, "route", "add", "203.0.113.0/24", "via", "169.254.100.1", "src", "198.51.100.10")
	// Without the NAT the internet would reach private addresses directly;
	// this route lets the test prove the program (not routing) stops it.
	naclIP(t, "-n", c.host, "route", "add", "10.0.0.0/16", "via", "169.254.100.1", "src", "198.51.100.10")
	if _, err := testenv.Exec(t, c.router, "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		t.Fatal(err)
	}
	return c
}

// igwTCPServer listens on addr:port inside ns and reports each peer's address.
func igwTCPServer(t *testing.T, ns, addr string) (peers <-chan netip.Addr) {
	t.Helper()
	var ln net.Listener
	if err := netns.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	ch := make(chan netip.Addr, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ap := netip.MustParseAddrPort(c.RemoteAddr().String())
			ch <- ap.Addr()
			_, _ = c.Write([]byte("hello\n"))
			_ = c.Close()
		}
	}()
	return ch
}

func igwTCPDial(ns, addr string) (string, error) {
	var c net.Conn
	if err := netns.Do(ns, func() (err error) {
		d := net.Dialer{Timeout: 2 * time.Second}
		c, err = d.Dial("tcp4", addr)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestIGWRealTraffic(t *testing.T) {
	testenv.RequireRoot(t)
	c := newIGWChain(t)
	g, err := LoadIGW(c.router, "igw", igwVPC, map[netip.Addr]netip.Addr{igwWebPub: igwWebPriv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close() })

	t.Run("ping from the instance with a public IP reaches the internet", func(t *testing.T) {
		if err := testenv.Ping(c.web, igwLaptop); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ping from the internet reaches the public IP", func(t *testing.T) {
		if err := testenv.Ping(c.host, igwWebPub); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("TCP out leaves with the public source address", func(t *testing.T) {
		peers := igwTCPServer(t, c.host, "198.51.100.10:8080")
		got, err := igwTCPDial(c.web, "198.51.100.10:8080")
		if err != nil || got != "hello\n" {
			t.Fatalf("dial: %q %v", got, err)
		}
		if p := <-peers; p != igwWebPub {
			t.Errorf("server saw %s, want %s", p, igwWebPub)
		}
	})
	t.Run("TCP in to the public IP reaches the instance", func(t *testing.T) {
		peers := igwTCPServer(t, c.web, "0.0.0.0:8081")
		got, err := igwTCPDial(c.host, "203.0.113.10:8081")
		if err != nil || got != "hello\n" {
			t.Fatalf("dial: %q %v", got, err)
		}
		if p := <-peers; p != igwLaptop {
			t.Errorf("instance saw %s, want %s", p, igwLaptop)
		}
	})
	before, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("an instance without public IP cannot reach the internet", func(t *testing.T) {
		peers := igwTCPServer(t, c.host, "198.51.100.10:8082")
		if got, err := igwTCPDial(c.db, "198.51.100.10:8082"); err == nil {
			t.Fatalf("private-only instance connected: %q", got)
		}
		select {
		case p := <-peers:
			t.Fatalf("server accepted a connection from %s", p)
		default:
		}
		if err := testenv.Ping(c.db, igwLaptop); err == nil {
			t.Fatal("private-only instance got an echo reply from the internet")
		}
	})
	t.Run("the internet cannot reach a private address", func(t *testing.T) {
		_ = igwTCPServer(t, c.db, "0.0.0.0:8083")
		if got, err := igwTCPDial(c.host, "10.0.2.20:8083"); err == nil {
			t.Fatalf("internet reached a private address: %q", got)
		}
	})
	after, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if after.OutDrop <= before.OutDrop || after.InDrop <= before.InDrop {
		t.Errorf("drop counters did not move: before %+v after %+v", before, after)
	}
}
