// Package livecheck proves the evaluator's verdicts with real packets: it
// sends representative flows through a running topology (TCP connections,
// UDP datagrams, ICMP echoes between the namespaces), watches what arrives
// at each end, and reports every flow whose packets fared otherwise than
// the evaluator says.
package livecheck

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/intent"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/vpc"
)

// Options control a live run.
type Options struct {
	// Wait is how long a probe waits for its packets (default 1.5 s): a
	// dropped packet shows only as silence.
	Wait time.Duration
	// Parallel is how many flows are in flight at once (default 16).
	Parallel int
}

// Observed verdicts (the evaluator's words, plus one for probes that can
// tell only whether the exchange completed).
const (
	Allowed    = "allowed"
	ReplyBlock = "reply blocked"
	Denied     = "denied"
	NoExchange = "no exchange" // denied or reply blocked: a service owns the receiving port
)

// end is where one side of a flow lives.
type end struct {
	ns   string
	addr netip.Addr // its own address (the one sockets bind)
}

// Send sends every flow through the running topology t (laid out by p) and
// compares what arrives with the evaluator's verdicts.
func Send(ctx context.Context, t *vpc.Topology, p *vpc.Plan, flows []intent.LiveFlow, o Options) (*intent.Live, error) {
	if o.Wait <= 0 {
		o.Wait = 1500 * time.Millisecond
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	start := time.Now()
	live := &intent.Live{Topology: t.Name}
	// Addresses no namespace owns are the internet's: the internet
	// namespace takes them on its loopback for the run.
	var extra []netip.Addr
	have := map[netip.Addr]bool{}
	for _, lf := range flows {
		for _, a := range []netip.Addr{lf.Flow.Src, lf.Flow.Dst} {
			if owner(t, p, a) == nil && !have[a] {
				have[a] = true
				extra = append(extra, a)
			}
		}
	}
	if len(extra) > 0 {
		if !netns.Exists(p.InternetNS) {
			return nil, fmt.Errorf("topology %s has no internet namespace for the internet's addresses", t.Name)
		}
		remove, err := netns.AddLocal(p.InternetNS, extra)
		if err != nil {
			return nil, err
		}
		defer remove()
		// IPv6 addresses on loopback are usable at once (no DAD); routes
		// to them need nothing else.
	}
	type result struct {
		obs    string
		detail string
	}
	results := make([]result, len(flows))
	sem := make(chan struct{}, o.Parallel)
	locks := map[string]*sync.Mutex{}
	lock := func(k string) *sync.Mutex {
		if locks[k] == nil {
			locks[k] = &sync.Mutex{}
		}
		return locks[k]
	}
	var wg sync.WaitGroup
	for i := range flows {
		f := flows[i].Flow
		// Flows sharing a sending or a receiving socket address go one
		// after another; locks are taken in key order (no deadlock).
		keys := []string{
			"s" + netip.AddrPortFrom(f.Src, uint16(f.SrcPort)).String(),
			fmt.Sprintf("r%d/%s", f.Protocol, netip.AddrPortFrom(endOf(t, p, f.Dst).addr, uint16(f.DstPort))),
		}
		if f.Protocol == vpc.ProtoICMP || f.Protocol == vpc.ProtoICMPv6 {
			keys = []string{"icmp"}
		}
		sort.Strings(keys)
		var mus []*sync.Mutex
		for _, k := range keys {
			mus = append(mus, lock(k))
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for _, mu := range mus {
				mu.Lock()
				defer mu.Unlock()
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = result{obs: "", detail: ctx.Err().Error()}
				return
			}
			defer func() { <-sem }()
			obs, detail := probe(ctx, t, p, f, o.Wait)
			results[i] = result{obs, detail}
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	live.Flows = len(flows)
	for i, lf := range flows {
		r := results[i]
		live.Sent++
		agree := r.obs == lf.Verdict || (r.obs == NoExchange && lf.Verdict != Allowed)
		if agree {
			live.Agree++
			continue
		}
		live.Disagreements = append(live.Disagreements, intent.Disagreement{Flow: lf.Flow, Evaluator: lf.Verdict, Observed: r.obs, Detail: r.detail})
	}
	live.Seconds = time.Since(start).Seconds()
	return live, nil
}

// owner finds the namespace that owns address a (an instance by its
// private, public or IPv6 address, a declared host), or nil.
func owner(t *vpc.Topology, p *vpc.Plan, a netip.Addr) *end {
	for i := range t.Instances {
		in := &t.Instances[i]
		switch a {
		case in.PrivateIP, in.PublicIP:
			return &end{ns: p.Instances[i].NS, addr: in.PrivateIP}
		case in.IPv6:
			if in.IPv6.IsValid() {
				return &end{ns: p.Instances[i].NS, addr: in.IPv6}
			}
		}
	}
	for i := range t.Internet {
		h := &t.Internet[i]
		if a == h.IP || (h.IPv6.IsValid() && a == h.IPv6) {
			return &end{ns: p.Hosts[i].NS, addr: a}
		}
	}
	return nil
}

func endOf(t *vpc.Topology, p *vpc.Plan, a netip.Addr) end {
	if e := owner(t, p, a); e != nil {
		return *e
	}
	return end{ns: p.InternetNS, addr: a}
}

// seenSource is the source address the receiver sees: an instance that
// leaves through the internet gateway is translated to its public IPv4.
func seenSource(t *vpc.Topology, f intent.Flow) netip.Addr {
	in := t.InstanceByIP(f.Src)
	if in == nil || !f.Src.Is4() || !in.PublicIP.IsValid() {
		return f.Src
	}
	if dst := t.InstanceByIP(f.Dst); dst != nil && dst.PrivateIP == f.Dst {
		return f.Src // inside the VPC: no translation
	}
	return in.PublicIP
}

// probe sends one flow and says what happened.
func probe(ctx context.Context, t *vpc.Topology, p *vpc.Plan, f intent.Flow, wait time.Duration) (string, string) {
	src, dst := endOf(t, p, f.Src), endOf(t, p, f.Dst)
	seen := seenSource(t, f)
	var obs, detail string
	var err error
	switch f.Protocol {
	case vpc.ProtoTCP:
		obs, detail, err = probeTCP(ctx, src, dst, f, seen, wait)
	case vpc.ProtoUDP:
		obs, detail, err = probeUDP(src, dst, f, seen, wait)
	default:
		obs, detail, err = probeICMP(src, dst, f, seen, wait)
	}
	if err != nil {
		return "error", err.Error()
	}
	return obs, detail
}

func sockaddr(a netip.Addr, port int) unix.Sockaddr {
	if a.Is4() {
		return &unix.SockaddrInet4{Port: port, Addr: a.As4()}
	}
	return &unix.SockaddrInet6{Port: port, Addr: a.As16()}
}

func family(a netip.Addr) int {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// probeTCP connects from src:sport to dst:dport. The receiver's socket
// table tells whether the SYN arrived (SYN-RECV or an accepted connection)
// when the client's connect times out.
func probeTCP(ctx context.Context, src, dst end, f intent.Flow, seen netip.Addr, wait time.Duration) (string, string, error) {
	var ln net.Listener
	lerr := netns.Do(dst.ns, func() error {
		var err error
		lc := net.ListenConfig{}
		ln, err = lc.Listen(ctx, "tcp", netip.AddrPortFrom(dst.addr, uint16(f.DstPort)).String())
		return err
	})
	service := errors.Is(lerr, syscall.EADDRINUSE)
	if lerr != nil && !service {
		return "", "", fmt.Errorf("listen at %s:%d in %s: %w", dst.addr, f.DstPort, dst.ns, lerr)
	}
	if ln != nil {
		defer ln.Close()
	}
	var conn net.Conn
	derr := netns.Do(src.ns, func() error {
		d := net.Dialer{Timeout: wait, LocalAddr: &net.TCPAddr{IP: src.addr.AsSlice(), Port: f.SrcPort},
			Control: func(_, _ string, c syscall.RawConn) error {
				var serr error
				err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1) })
				if err != nil {
					return err
				}
				return serr
			}}
		var err error
		conn, err = d.DialContext(ctx, "tcp", netip.AddrPortFrom(f.Dst, uint16(f.DstPort)).String())
		return err
	})
	if derr == nil {
		conn.Close()
		return Allowed, "", nil
	}
	if errors.Is(derr, syscall.EADDRINUSE) || errors.Is(derr, syscall.EADDRNOTAVAIL) {
		return "", "", fmt.Errorf("bind %s:%d in %s: %w", src.addr, f.SrcPort, src.ns, derr)
	}
	arrived, err := synArrived(dst.ns, f.DstPort, netip.AddrPortFrom(seen, uint16(f.SrcPort)))
	if err != nil {
		return "", "", err
	}
	if arrived {
		return ReplyBlock, "the SYN arrived, the SYN-ACK did not come back (" + shortErr(derr) + ")", nil
	}
	return Denied, shortErr(derr), nil
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// synArrived looks in ns's TCP socket tables for a connection to local
// port from remote (SYN-RECV, or established and not yet accepted).
func synArrived(ns string, port int, remote netip.AddrPort) (bool, error) {
	var found bool
	err := netns.Do(ns, func() error {
		for _, tab := range []string{"/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"} {
			b, err := os.ReadFile(tab)
			if err != nil {
				return err
			}
			r := remote
			if strings.HasSuffix(tab, "6") && r.Addr().Is4() {
				// A dual-stack listener holds IPv4 peers as ::ffff:a.b.c.d.
				r = netip.AddrPortFrom(netip.AddrFrom16(r.Addr().As16()), r.Port())
			}
			if tcpTableHas(string(b), port, r) {
				found = true
			}
		}
		return nil
	})
	return found, err
}

// tcpTableHas parses a /proc/net/tcp{,6} table.
func tcpTableHas(table string, port int, remote netip.AddrPort) bool {
	want := procAddr(remote)
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		_, lp, _ := strings.Cut(f[1], ":")
		n, err := strconv.ParseUint(lp, 16, 16)
		if err != nil || int(n) != port {
			continue
		}
		// 01 established, 03 SYN-RECV.
		if f[2] == want && (f[3] == "01" || f[3] == "03") {
			return true
		}
	}
	return false
}

// procAddr renders an address and port as /proc/net/tcp does: each 32-bit
// word of the address in host (little-endian) order, then the port.
func procAddr(ap netip.AddrPort) string {
	var b strings.Builder
	a := ap.Addr()
	if a.Is4() {
		x := a.As4()
		fmt.Fprintf(&b, "%02X%02X%02X%02X", x[3], x[2], x[1], x[0])
	} else {
		x := a.As16()
		for w := 0; w < 16; w += 4 {
			fmt.Fprintf(&b, "%02X%02X%02X%02X", x[w+3], x[w+2], x[w+1], x[w])
		}
	}
	fmt.Fprintf(&b, ":%04X", ap.Port())
	return b.String()
}

// probeUDP sends one datagram; the receiver answers from its port to the
// sender's, as the evaluator's reply does.
func probeUDP(src, dst end, f intent.Flow, seen netip.Addr, wait time.Duration) (string, string, error) {
	var rc *net.UDPConn
	lerr := netns.Do(dst.ns, func() error {
		var err error
		rc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst.addr, uint16(f.DstPort))))
		return err
	})
	service := errors.Is(lerr, syscall.EADDRINUSE)
	if lerr != nil && !service {
		return "", "", fmt.Errorf("listen udp at %s:%d in %s: %w", dst.addr, f.DstPort, dst.ns, lerr)
	}
	got := make(chan bool, 1)
	if rc != nil {
		defer rc.Close()
		go func() {
			buf := make([]byte, 2048)
			_ = rc.SetReadDeadline(time.Now().Add(wait + 500*time.Millisecond))
			for {
				n, from, err := rc.ReadFromUDPAddrPort(buf)
				if err != nil {
					got <- false
					return
				}
				if from == netip.AddrPortFrom(seen, uint16(f.SrcPort)) {
					_, _ = rc.WriteToUDPAddrPort(buf[:n], from)
					got <- true
					return
				}
			}
		}()
	}
	var sc *net.UDPConn
	err := netns.Do(src.ns, func() error {
		var err error
		sc, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src.addr, uint16(f.SrcPort))),
			net.UDPAddrFromAddrPort(netip.AddrPortFrom(f.Dst, uint16(f.DstPort))))
		return err
	})
	if errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH) {
		return Denied, "no route from the sender: " + shortErr(err), nil
	}
	if err != nil {
		return "", "", fmt.Errorf("udp from %s:%d in %s: %w", src.addr, f.SrcPort, src.ns, err)
	}
	defer sc.Close()
	if _, err := sc.Write([]byte("vpcemu check\n")); err != nil {
		return Denied, "send: " + err.Error(), nil
	}
	_ = sc.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 2048)
	_, rerr := sc.Read(buf)
	if rerr == nil {
		return Allowed, "", nil
	}
	if rc == nil {
		return NoExchange, "a service owns the port; no reply", nil
	}
	if <-got {
		return ReplyBlock, "the datagram arrived, the reply did not come back", nil
	}
	return Denied, "", nil
}

// echoIDs gives each echo probe its own identifier: tracking keys ICMP
// echoes on it (SG-21), and a probe must never meet another's state.
var echoIDs atomic.Uint32

func init() { echoIDs.Store(uint32(os.Getpid()) << 8) }

// probeICMP sends an echo request from src's address; a raw socket at the
// receiver watches for it.
func probeICMP(src, dst end, f intent.Flow, seen netip.Addr, wait time.Duration) (string, string, error) {
	v6 := f.Src.Is6()
	proto, req := unix.IPPROTO_ICMP, byte(8)
	if v6 {
		proto, req = unix.IPPROTO_ICMPV6, 128
	}
	id := uint16(echoIDs.Add(1))
	seq := uint16(time.Now().UnixNano())
	// Receiver first, so that it sees the request.
	var rfd int
	if err := netns.Do(dst.ns, func() error {
		var err error
		rfd, err = unix.Socket(family(dst.addr), unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		return err
	}); err != nil {
		return "", "", fmt.Errorf("raw socket in %s: %w", dst.ns, err)
	}
	defer unix.Close(rfd)
	arrived := make(chan bool, 1)
	go func() {
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		_ = unix.SetsockoptTimeval(rfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		buf := make([]byte, 2048)
		deadline := time.Now().Add(wait + 500*time.Millisecond)
		for time.Now().Before(deadline) {
			n, from, err := unix.Recvfrom(rfd, buf, 0)
			if err != nil {
				continue
			}
			msg := buf[:n]
			if !v6 {
				if n < 20 {
					continue
				}
				msg = msg[int(msg[0]&0xf)*4:]
			}
			if len(msg) >= 8 && msg[0] == req && binary.BigEndian.Uint16(msg[4:]) == id &&
				binary.BigEndian.Uint16(msg[6:]) == seq && fromAddr(from) == seen {
				arrived <- true
				return
			}
		}
		arrived <- false
	}()
	var ok bool
	err := netns.Do(src.ns, func() error {
		var err error
		ok, err = echo(src.addr, f.Dst, id, seq, wait)
		return err
	})
	if err != nil {
		return "", "", err
	}
	if ok {
		return Allowed, "", nil
	}
	if <-arrived {
		return ReplyBlock, "the echo request arrived, the reply did not come back", nil
	}
	return Denied, "", nil
}

// echo sends one echo request from src to dst and waits for its reply.
func echo(src, dst netip.Addr, id, seq uint16, wait time.Duration) (bool, error) {
	v6 := dst.Is6()
	proto, req, rep := unix.IPPROTO_ICMP, byte(8), byte(0)
	if v6 {
		proto, req, rep = unix.IPPROTO_ICMPV6, 128, 129
	}
	fd, err := unix.Socket(family(dst), unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		return false, fmt.Errorf("raw socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, sockaddr(src, 0)); err != nil {
		return false, fmt.Errorf("bind %s: %w", src, err)
	}
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	pkt := make([]byte, 16)
	pkt[0] = req
	binary.BigEndian.PutUint16(pkt[4:], id)
	binary.BigEndian.PutUint16(pkt[6:], seq)
	copy(pkt[8:], "vpcemu!!")
	if !v6 {
		binary.BigEndian.PutUint16(pkt[2:], checksum(pkt))
	}
	if err := unix.Sendto(fd, pkt, 0, sockaddr(dst, 0)); err != nil {
		return false, nil // unreachable from here: nothing left the sender
	}
	buf := make([]byte, 2048)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue
		}
		msg := buf[:n]
		if !v6 {
			if n < 20 {
				continue
			}
			msg = msg[int(msg[0]&0xf)*4:]
		}
		if len(msg) >= 8 && msg[0] == rep && binary.BigEndian.Uint16(msg[4:]) == id &&
			binary.BigEndian.Uint16(msg[6:]) == seq && fromAddr(from) == dst {
			return true, nil
		}
	}
	return false, nil
}

func fromAddr(sa unix.Sockaddr) netip.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrFrom4(a.Addr)
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr)
	}
	return netip.Addr{}
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
