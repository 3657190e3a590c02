package loader

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// naclChain is a subnet uplink as vpcemu builds it, minus the bridge, and
// a port from outside every subnet (as the internet gateway's):
//
//	inst ns: eth0 10.0.1.10/24 2001:db8:1::10/64   (subnet-a of naclTestTopo)
//	   | uplink veth
//	router ns: sn0 10.0.1.1/24 2001:db8:1::1/64     <- NACL from subnet-a: outbound table
//	           out 10.0.2.1/24 2001:db8:2::1/64     <- NACL from no subnet: inbound table of subnet-a
//	   | veth
//	host ns: eth0 10.0.2.20/24 2001:db8:2::20/64   (in no subnet)
//
// Every link has MTU 9001, as in a VPC.
type naclChain struct{ inst, router, host string }

func newNACLChain(t *testing.T) *naclChain {
	t.Helper()
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	tag := "vpce-nacl-" + hex.EncodeToString(rnd[:])
	c := &naclChain{inst: tag + "-i", router: tag + "-r", host: tag + "-h"}
	for _, ns := range []string{c.inst, c.router, c.host} {
		naclIP(t, "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		naclIP(t, "-n", ns, "link", "set", "lo", "up")
		// No duplicate address detection: link-local addresses are usable
		// at once, so the first IPv6 packet does not wait for them.
		for _, k := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"} {
			if out, err := exec.Command("ip", "netns", "exec", ns, "sysctl", "-qw", k).CombinedOutput(); err != nil {
				t.Fatalf("sysctl %s: %v: %s", k, err, out)
			}
		}
	}
	naclIP(t, "-n", c.router, "link", "add", "sn0", "mtu", "9001", "type", "veth", "peer", "name", "eth0", "mtu", "9001", "netns", c.inst)
	naclIP(t, "-n", c.router, "link", "add", "out", "mtu", "9001", "type", "veth", "peer", "name", "eth0", "mtu", "9001", "netns", c.host)
	for _, a := range [][3]string{
		{c.inst, "eth0", "10.0.1.10/24"}, {c.inst, "eth0", "2001:db8:1::10/64"},
		{c.router, "sn0", "10.0.1.1/24"}, {c.router, "sn0", "2001:db8:1::1/64"},
		{c.router, "out", "10.0.2.1/24"}, {c.router, "out", "2001:db8:2::1/64"},
		{c.host, "eth0", "10.0.2.20/24"}, {c.host, "eth0", "2001:db8:2::20/64"},
	} {
		args := []string{"-n", a[0], "addr", "add", a[2], "dev", a[1]}
		if strings.Contains(a[2], ":") {
			args = append(args, "nodad")
		}
		naclIP(t, args...)
		naclIP(t, "-n", a[0], "link", "set", a[1], "up")
	}
	naclIP(t, "-n", c.inst, "route", "add", "default", "via", "10.0.1.1")
	naclIP(t, "-n", c.inst, "-6", "route", "add", "default", "via", "2001:db8:1::1")
	naclIP(t, "-n", c.host, "route", "add", "default", "via", "10.0.2.1")
	naclIP(t, "-n", c.host, "-6", "route", "add", "default", "via", "2001:db8:2::1")
	for _, k := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"} {
		if out, err := exec.Command("ip", "netns", "exec", c.router, "sysctl", "-qw", k).CombinedOutput(); err != nil {
			t.Fatalf("sysctl %s: %v: %s", k, err, out)
		}
	}
	return c
}

// attach puts the NACL program on both router ports of the chain.
func (c *naclChain) attach(t *testing.T, n *NACL, mode XDPMode) {
	t.Helper()
	if err := n.Attach(c.router, "sn0", "subnet-a", mode); err != nil {
		t.Fatal(err)
	}
	if err := n.Attach(c.router, "out", "", mode); err != nil {
		t.Fatal(err)
	}
}

func (c *naclChain) detach(t *testing.T, n *NACL) {
	t.Helper()
	for _, ifname := range []string{"sn0", "out"} {
		if err := n.Detach(c.router, ifname); err != nil {
			t.Fatal(err)
		}
	}
}

// naclEchoServer accepts connections in ns and echoes every line back.
func naclEchoServer(t *testing.T, ns, addr string) {
	t.Helper()
	var ln net.Listener
	if err := netns.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
}

func naclDial(ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(ns, func() (err error) {
		d := net.Dialer{Timeout: 2 * time.Second}
		c, err = d.Dial("tcp", addr)
		return err
	})
	return c, err
}

// naclEcho sends one line on c and waits up to wait for it to come back.
func naclEcho(c net.Conn, r *bufio.Reader, line string, wait time.Duration) error {
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	got, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	if got != line+"\n" {
		return fmt.Errorf("echo %q, want %q", got, line)
	}
	return nil
}

func naclACLAll(id string) *vpc.NetworkACL {
	all := func(n int, c string) vpc.NACLRule {
		return vpc.NACLRule{Number: n, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix(c), Allow: true}
	}
	return &vpc.NetworkACL{ID: id, Ingress: []vpc.NACLRule{all(100, "0.0.0.0/0"), all(101, "::/0")}, Egress: []vpc.NACLRule{all(100, "0.0.0.0/0"), all(101, "::/0")}}
}

func TestNACLRealTraffic(t *testing.T) {
	testenv.RequireRoot(t)
	c := newNACLChain(t)
	n := mustLoadNACL(t)
	open := naclACLAll("acl-open")
	// IPv6 allows only TCP: neighbour discovery (ICMPv6) must pass anyway.
	tcpOnly := func(n int, c string) vpc.NACLRule {
		return vpc.NACLRule{Number: n, Protocol: vpc.ProtoTCP, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: naclPrefix(c), Allow: true}
	}
	open.Ingress[1], open.Egress[1] = tcpOnly(101, "::/0"), tcpOnly(101, "::/0")
	closed := &vpc.NetworkACL{ID: "acl-closed"}
	for _, a := range []*vpc.NetworkACL{open, closed} {
		if err := n.SetNACL(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Associate("subnet-a", open.ID); err != nil {
		t.Fatal(err)
	}
	c.attach(t, n, XDPGeneric)
	naclEchoServer(t, c.inst, ":8080")

	for _, target := range []string{"10.0.1.10:8080", "[2001:db8:1::10]:8080"} {
		t.Run("a connection from outside the subnet works through an open NACL to "+target, func(t *testing.T) {
			conn, err := naclDial(c.host, target)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := naclEcho(conn, bufio.NewReader(conn), "hello", 3*time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}

	conn, err := naclDial(c.host, "10.0.1.10:8080")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	if err := naclEcho(conn, rd, "before", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	deny := *open
	deny.ID = "acl-deny50"
	deny.Ingress = append([]vpc.NACLRule{{Number: 50, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 8080, To: 8080}, CIDR: naclPrefix("10.0.2.0/24")}}, open.Ingress...)
	t.Run("a deny added with SetNACL stops an open TCP session on the next packet", func(t *testing.T) {
		withDeny := deny
		withDeny.ID = open.ID
		if err := n.SetNACL(&withDeny); err != nil {
			t.Fatal(err)
		}
		if err := naclEcho(conn, rd, "during", time.Second); err == nil {
			t.Fatal("an established session passed a new deny rule (NACLs are stateless)")
		}
		if h := naclHits(t, n, open.ID, false, 50); h == 0 {
			t.Error("rule 50 counted no drops")
		}
	})
	t.Run("removing the deny lets the same session continue", func(t *testing.T) {
		if err := n.SetNACL(open); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		// TCP retransmits "during", then the echo of both lines arrives.
		if got, err := rd.ReadString('\n'); err != nil || got != "during\n" {
			t.Fatalf("after restore: %q %v", got, err)
		}
		if err := naclEcho(conn, rd, "after", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("associating the subnet with a deny-all NACL blocks it, and back", func(t *testing.T) {
		if err := n.Associate("subnet-a", closed.ID); err != nil {
			t.Fatal(err)
		}
		if cn, err := naclDial(c.host, "10.0.1.10:8080"); err == nil {
			cn.Close()
			t.Fatal("connected through a deny-all NACL")
		}
		if err := n.Associate("subnet-a", open.ID); err != nil {
			t.Fatal(err)
		}
		cn, err := naclDial(c.host, "10.0.1.10:8080")
		if err != nil {
			t.Fatal(err)
		}
		cn.Close()
	})
	t.Run("rule hits count wire segments of GSO frames", func(t *testing.T) {
		naclGSOCount(t, n, c, open.ID)
	})
	t.Run("native mode attaches at MTU 9001 (xdp.frags) and judges the same", func(t *testing.T) {
		c.detach(t, n)
		c.attach(t, n, XDPNative)
		if err := n.SetNACL(&deny); err != nil {
			t.Fatal(err)
		}
		if err := n.Associate("subnet-a", deny.ID); err != nil {
			t.Fatal(err)
		}
		if cn, err := naclDial(c.host, "10.0.1.10:8080"); err == nil {
			cn.Close()
			t.Fatal("native mode: connected through deny rule 50")
		}
		if err := n.Associate("subnet-a", open.ID); err != nil {
			t.Fatal(err)
		}
		cn, err := naclDial(c.host, "10.0.1.10:8080")
		if err != nil {
			t.Fatal(err)
		}
		defer cn.Close()
		if err := naclEcho(cn, bufio.NewReader(cn), strings.Repeat("j", 20000), 5*time.Second); err != nil {
			t.Fatalf("native mode, jumbo frames: %v", err)
		}
	})
	t.Run("tcx mode judges the same and counts GSO segments", func(t *testing.T) {
		c.detach(t, n)
		c.attach(t, n, TC)
		if err := n.Associate("subnet-a", deny.ID); err != nil {
			t.Fatal(err)
		}
		if cn, err := naclDial(c.host, "10.0.1.10:8080"); err == nil {
			cn.Close()
			t.Fatal("tcx mode: connected through deny rule 50")
		}
		if err := n.Associate("subnet-a", open.ID); err != nil {
			t.Fatal(err)
		}
		naclGSOCount(t, n, c, open.ID)
	})
}

// naclGSOCount sends a bulk TCP stream from the host into the subnet and
// compares the inbound allow rule's packet count with the segments the
// sender sent (segments, not skbs; retransmissions included).
func naclGSOCount(t *testing.T, n *NACL, c *naclChain, acl string) {
	sink := make(chan int64, 1)
	var ln net.Listener
	if err := netns.Do(c.inst, func() (err error) {
		ln, err = net.Listen("tcp4", ":8090")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err != nil {
			sink <- -1
			return
		}
		defer s.Close()
		k, _ := io.Copy(io.Discard, s)
		sink <- k
	}()
	segsBefore := naclTCPOutSegs(t, c.host)
	hitsBefore := naclHits(t, n, acl, false, 100)
	conn, err := naclDial(c.host, "10.0.1.10:8090")
	if err != nil {
		t.Fatal(err)
	}
	const total = 32 << 20
	buf := bytes.Repeat([]byte("x"), 1<<20)
	for i := 0; i < total/len(buf); i++ {
		if _, err := conn.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	if got := <-sink; got != total {
		t.Fatalf("sink got %d bytes, want %d", got, total)
	}
	segs := naclTCPOutSegs(t, c.host) - segsBefore
	hits := naclHits(t, n, acl, false, 100) - hitsBefore
	t.Logf("sender TCP segments (OutSegs + RetransSegs) %d, NACL rule 100 inbound hits %d", segs, hits)
	if segs < total/9001 {
		t.Fatalf("sender counted %d segments for %d bytes: counter broken", segs, total)
	}
	// Allow 2% for MSS guesses on the few segments that are not full-size.
	diff := int64(hits) - int64(segs)
	if diff < 0 {
		diff = -diff
	}
	if diff > int64(segs)/50+4 {
		t.Errorf("NACL counted %d packets, the sender sent %d segments", hits, segs)
	}
}

// naclTCPOutSegs reads the TCP segments namespace ns sent from /proc:
// OutSegs, which leaves out retransmissions, plus RetransSegs.
func naclTCPOutSegs(t *testing.T, ns string) uint64 {
	t.Helper()
	var data []byte
	if err := netns.Do(ns, func() (err error) {
		data, err = os.ReadFile("/proc/thread-self/net/snmp")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var hdr []string
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "Tcp: ") {
			continue
		}
		f := strings.Fields(line)
		if hdr == nil {
			hdr = f
			continue
		}
		var sum uint64
		var found int
		for i, h := range hdr {
			if h == "OutSegs" || h == "RetransSegs" {
				v, err := strconv.ParseUint(f[i], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				sum += v
				found++
			}
		}
		if found == 2 {
			return sum
		}
	}
	t.Fatal("no Tcp OutSegs and RetransSegs in /proc/net/snmp")
	return 0
}
