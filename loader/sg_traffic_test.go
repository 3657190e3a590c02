package loader

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf/ringbuf"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// Real traffic through the SG programs attached by LoadSG. Setup: a
// topology built by testenv (one subnet namespace with its bridge, two
// instance namespaces a = 10.0.1.10 and b = 10.0.1.20 on ENI veths).
// sg-a lets a open TCP 7000, UDP 7002 and ICMP to b/32 and has no inbound
// rule; sg-b admits TCP 7000, UDP 7002 and echo requests from a/32 and lets
// b open TCP 7001 to a; neither has a rule for the replies, so they pass by
// connection tracking alone.
func TestSGRealTraffic(t *testing.T) {
	testenv.RequireRoot(t)
	mk := func(bIngress ...vpc.SGRule) *vpc.Topology {
		bIngress = append(bIngress, udpRule("7002", "10.0.1.10/32"), icmpRule(vpc.ProtoICMP, 8, -1, "10.0.1.10/32"))
		sgs := []vpc.SecurityGroup{
			{ID: "sg-a", Egress: []vpc.SGRule{tcpRule("7000", "10.0.1.20/32"), udpRule("7002", "10.0.1.20/32"),
				icmpRule(vpc.ProtoICMP, -1, -1, "10.0.1.20/32")}},
			{ID: "sg-b", Ingress: bIngress, Egress: []vpc.SGRule{tcpRule("7001", "10.0.1.10/32")}},
			{ID: vpc.DefaultSGID},
		}
		top := sgTopo(testenv.Name(t), sgs, instA("sg-a"), instB("sg-b"))
		top.Instances[0].IPv6 = netip.Addr{}
		return top
	}
	top := mk(tcpRule("7000", "10.0.1.10/32"))
	p := testenv.Build(t, top)
	sg, err := LoadSG(top, p)
	if err != nil {
		t.Fatalf("LoadSG: %v", err)
	}
	t.Cleanup(func() {
		if err := sg.Close(); err != nil {
			t.Errorf("close sg: %v", err)
		}
	})
	rd, err := ringbuf.NewReader(sg.Events())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	nsA, nsB := p.Instances[0].NS, p.Instances[1].NS

	echoServer(t, nsB, "10.0.1.20:7000")
	echoServer(t, nsA, "10.0.1.10:7001")

	// a -> b:7000: the egress rule admits, the reply comes back by tracking.
	conn, err := dialIn(nsA, "10.0.1.20:7000")
	if err != nil {
		t.Fatalf("a -> b:7000 with an egress rule: %v", err)
	}
	defer conn.Close()
	echo(t, conn, "hello")

	// UDP and ping a -> b: replies by tracking at both ENIs.
	udpEchoServer(t, nsB, "10.0.1.20:7002")
	if err := udpRoundTrip(nsA, "10.0.1.20:7002"); err != nil {
		t.Fatalf("UDP a -> b:7002: %v", err)
	}
	if err := testenv.Ping(nsA, netip.MustParseAddr("10.0.1.20")); err != nil {
		t.Fatalf("ping a -> b: %v", err)
	}

	// b -> a:7001: a has no inbound rule.
	if c, err := dialIn(nsB, "10.0.1.10:7001"); err == nil {
		c.Close()
		t.Fatal("b -> a:7001 connected although sg-a has no inbound rule")
	}
	ia, _ := sg.ENIIndex("a")
	if ev := waitEvent(t, rd, func(e SGEvent) bool { return e.ENI == ia && e.Inbound && e.Dst.Port() == 7001 }); ev.Code != SGDropNoRules {
		t.Fatalf("drop event %+v, want SG_HAS_NO_RULES at a inbound", ev)
	}

	// Remove b's /32 inbound rule: the tracked connection survives, a new one is refused.
	if err := sg.Update(mkSameName(mk(), top.Name)); err != nil {
		t.Fatalf("update: %v", err)
	}
	echo(t, conn, "still there")
	if c, err := dialIn(nsA, "10.0.1.20:7000"); err == nil {
		c.Close()
		t.Fatal("a -> b:7000 connected after the /32 inbound rule was removed")
	}
	ents, err := sg.Conntrack("b")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ents {
		if e.Protocol == vpc.ProtoTCP && e.Dst == netip.MustParseAddrPort("10.0.1.20:7000") && e.State == "ESTABLISHED" && !e.Outbound {
			found = true
		}
	}
	if !found {
		t.Fatalf("b's conntrack %+v lacks the established inbound connection", ents)
	}
}

func mkSameName(t *vpc.Topology, name string) *vpc.Topology {
	t.Name = name
	return t
}

// echoServer serves TCP echo on addr inside ns until the test ends.
func echoServer(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	err := netns.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// udpEchoServer answers every datagram on addr inside ns until the test ends.
func udpEchoServer(t *testing.T, ns, addr string) {
	t.Helper()
	var pc net.PacketConn
	err := netns.Do(ns, func() error {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen udp %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
}

// udpRoundTrip sends a datagram from ns to addr and waits for its echo.
func udpRoundTrip(ns, addr string) error {
	var c net.Conn
	if err := netns.Do(ns, func() error {
		var err error
		c, err = net.Dial("udp", addr)
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 64)
	for try := 0; try < 3; try++ {
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil && string(buf[:n]) == "ping" {
			return nil
		}
	}
	return errors.New("no echo")
}

func dialIn(ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	return c, err
}

func echo(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != msg+"\n" {
		t.Fatalf("echo %q: got %q, %v", msg, got, err)
	}
}

// waitEvent returns the first drop event that satisfies ok.
func waitEvent(t *testing.T, rd *ringbuf.Reader, ok func(SGEvent) bool) SGEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rd.SetDeadline(deadline)
		rec, err := rd.Read()
		if errors.Is(err, ringbuf.ErrClosed) || err != nil {
			t.Fatalf("no matching drop event: %v", err)
		}
		ev, err := DecodeSGEvent(rec.RawSample)
		if err != nil {
			t.Fatal(err)
		}
		if ok(ev) {
			return ev
		}
	}
}
