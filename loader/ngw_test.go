package loader

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

var (
	ngwAddr = netip.MustParseAddr("10.0.1.100")
	ngwVPC  = netip.MustParsePrefix("10.0.0.0/16")
)

func mustLoadNGW(tb testing.TB, c NGWConfig) *NGW {
	tb.Helper()
	testenv.RequireRoot(tb)
	if c.ID == "" {
		c.ID = "nat-test"
	}
	if !c.Addr.IsValid() {
		c.Addr = ngwAddr
	}
	if c.Blocks == nil {
		c.Blocks = []netip.Prefix{ngwVPC}
	}
	g, err := LoadNGW(c)
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			tb.Fatalf("%+v", ve)
		}
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g
}

func TestNGWLoads(t *testing.T) {
	mustLoadNGW(t, NGWConfig{Sequential: true})
	mustLoadNGW(t, NGWConfig{})
}

const (
	tcActOK       = 0
	tcActShot     = 2
	tcActRedirect = 7
)

// ngwTCP is an Ethernet frame of a TCP segment (flags as in the header).
func ngwTCP(tb testing.TB, src netip.Addr, sport uint16, dst netip.Addr, dport uint16, flags uint8) []byte {
	tb.Helper()
	eth := &layers.Ethernet{SrcMAC: make(net.HardwareAddr, 6), DstMAC: make(net.HardwareAddr, 6), EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Window: 64240,
		FIN: flags&1 != 0, SYN: flags&2 != 0, RST: flags&4 != 0, PSH: flags&8 != 0, ACK: flags&16 != 0}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		tb.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// ngwRun runs the gateway's program on frame; it returns the verdict and
// the frame's translated source address and port.
func ngwRun(tb testing.TB, g *NGW, frame []byte) (uint32, netip.Addr, uint16) {
	tb.Helper()
	opts := &ebpf.RunOptions{Data: frame, DataOut: make([]byte, len(frame)+64)}
	ret, err := g.objs.NgwIngress.Run(opts)
	if err != nil {
		tb.Fatal(err)
	}
	out := opts.DataOut
	src, _ := netip.AddrFromSlice(out[14+12 : 14+16])
	return ret, src, binary.BigEndian.Uint16(out[14+20:])
}

// NGW-7, NGW-6, NGW-11: a NAT gateway holds 55,000 concurrent connections
// to one destination (address, port, protocol), each with its own source
// port in 1024-65535; the next is refused and counted (ErrorPortAllocation)
// while another destination port still gets one; after the idle timeout
// (350 s by default, the gateway's clock moved, not waited for) the
// mappings expire: a new connection gets a port again, and a segment of an
// expired connection is answered with a reset (IdleTimeoutCount).
func TestNGW7_55000ConnectionsPerDestination(t *testing.T) {
	if vpc.DefaultLimits.NATConnectionsPerDestination != 55000 || vpc.DefaultLimits.NATIdleTimeout != 350*time.Second {
		t.Fatalf("default limits %d, %s; want AWS's 55,000 and 350 s", vpc.DefaultLimits.NATConnectionsPerDestination, vpc.DefaultLimits.NATIdleTimeout)
	}
	g := mustLoadNGW(t, NGWConfig{})
	s := netip.MustParseAddr("203.0.113.80")
	client := func(i int) (netip.Addr, uint16) {
		return netip.AddrFrom4([4]byte{10, 0, 2, byte(10 + i/20000)}), uint16(32768 + i%20000)
	}
	ports := make(map[uint16]bool, 55000)
	for i := range 55000 {
		c, cp := client(i)
		ret, src, port := ngwRun(t, g, ngwTCP(t, c, cp, s, 443, 0x02))
		if ret != tcActRedirect || src != ngwAddr || port < 1024 || ports[port] {
			t.Fatalf("connection %d: verdict %d, source %s:%d (want a redirect from %s, a fresh port from 1024)", i, ret, src, port, ngwAddr)
		}
		ports[port] = true
	}
	c, cp := client(55000)
	if ret, _, _ := ngwRun(t, g, ngwTCP(t, c, cp, s, 443, 0x02)); ret != tcActShot {
		t.Fatalf("connection 55,001: verdict %d, want a drop", ret)
	}
	if ret, _, _ := ngwRun(t, g, ngwTCP(t, c, cp, s, 80, 0x02)); ret != tcActRedirect {
		t.Errorf("another destination port: verdict %d, want a port", ret)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.ErrorPortAllocation != 1 || st.ConnectionAttemptCount != 55001 || st.ActiveConnectionCount != 55001 {
		t.Errorf("counters %+v: want 1 port allocation error, 55,001 attempts and active connections", st)
	}

	// Idle for 300 s: still held; 60 s more: expired (TV-48's times; the
	// mappings were made over the last second or two of real time).
	if err := g.AdvanceClock(300 * time.Second); err != nil {
		t.Fatal(err)
	}
	if ret, _, _ := ngwRun(t, g, ngwTCP(t, c, cp+1, s, 443, 0x02)); ret != tcActShot {
		t.Errorf("after 300 s idle: verdict %d, want still refused", ret)
	}
	if err := g.AdvanceClock(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	c0, cp0 := client(0)
	if ret, _, _ := ngwRun(t, g, ngwTCP(t, c0, cp0, s, 443, 0x18)); ret != tcActOK {
		t.Errorf("data on a connection idle 360 s: verdict %d, want to the stack for its reset (NGW-11)", ret)
	}
	if ret, src, port := ngwRun(t, g, ngwTCP(t, c, cp+2, s, 443, 0x02)); ret != tcActRedirect || src != ngwAddr || port < 1024 {
		t.Errorf("after the idle timeout: verdict %d from %s:%d, want a port", ret, src, port)
	}
	if st, err = g.Stats(); err != nil {
		t.Fatal(err)
	}
	if st.IdleTimeoutCount != 1 || st.ActiveConnectionCount != 1 || st.ErrorPortAllocation != 2 {
		t.Errorf("counters %+v: want 1 idle timeout, the one new connection active, 2 port allocation errors", st)
	}
}
