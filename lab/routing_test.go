package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The routing vectors of aws-routing.md §10 (TV-42 onwards) with real
// traffic on T2 (examples/routing/t2.yaml) and its variants: what arrives,
// where the rest is dropped (drops.jsonl against rules.Path.Fate) and the
// flow-log records of every ENI on the path against rules.PredictFlowLog,
// pkt-srcaddr, pkt-dstaddr and traffic-path included.

// rtFormat is flTestFormat plus the fields routing decides.
const rtFormat = flTestFormat + " ${pkt-srcaddr} ${pkt-dstaddr} ${traffic-path}"

// rtTopology is T2 under a fresh name with each of edits' (old, new) text
// replacements made, every ENI's flow log in rtFormat.
func rtTopology(t *testing.T, edits ...string) *vpc.Topology {
	t.Helper()
	return rtParse(t, testenv.Name(t), edits...)
}

// rtParse is T2 named name with edits made (rtTopology).
func rtParse(t *testing.T, name string, edits ...string) *vpc.Topology {
	t.Helper()
	b, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "name: t2", "name: "+name, 1)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(src, edits[i]) {
			t.Fatalf("T2 has no %q to edit", edits[i])
		}
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	topo, err := vpc.Parse("t2.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	for i := range topo.FlowLogs {
		topo.FlowLogs[i].LogFormat, topo.FlowLogs[i].MaxAggregationInterval = rtFormat, 600
	}
	return topo
}

// rtFate is the evaluator's fate of a first packet on topo.
func rtFate(topo *vpc.Topology, p rules.Packet) string {
	path := rules.NewPathModel(topo).Send(0, p)
	return path.Fate()
}

// rtWaitDrop waits for the drop of p's flow and checks it is dropped where
// the evaluator says; seen, when given, is the destination address the
// dropping component sees (after the internet gateway's translation).
func rtWaitDrop(t *testing.T, l *Lab, vector string, p rules.Packet, seen ...string) {
	t.Helper()
	rtWaitDropAt(t, l, vector, p, rtFate(l.Topology(), p), seen...)
}

// rtWaitDropAt is rtWaitDrop with the evaluator's fate given (a packet
// whose fate depends on the packets before it).
func rtWaitDropAt(t *testing.T, l *Lab, vector string, p rules.Packet, want string, seen ...string) {
	t.Helper()
	if want == "delivered" {
		t.Fatalf("%s: the evaluator delivers %v", vector, p)
	}
	dst := p.Dst.String()
	if len(seen) > 0 {
		dst = seen[0]
	}
	d := waitDrop(t, l.Paths().Drops(), func(d *Drop) bool {
		return d.Dst == dst && d.DstPort == p.DstPort && d.SrcPort == p.SrcPort && d.Protocol == p.Protocol
	})
	if got := d.DropPoint(); got != want {
		t.Errorf("%s: dropped at %s, the evaluator says %s (%s)", vector, got, want, d.Explain())
	}
}

// rtCompare checks the records of enis among recs against the predicted
// ones, as flCompare does, with pkt-srcaddr, pkt-dstaddr and traffic-path.
func rtCompare(t *testing.T, vector string, recs []map[string]string, pred []rules.PredictedRecord, enis ...string) {
	t.Helper()
	type key struct{ eni, dir, action, src, dst, sport, dport, proto, pktSrc, pktDst, path string }
	addr := func(a netip.Addr) string {
		if !a.IsValid() {
			return "-"
		}
		return a.String()
	}
	path := func(p int) string {
		if p == 0 {
			return "-"
		}
		return strconv.Itoa(p)
	}
	want, got := map[key]int64{}, map[key]int64{}
	ports, protos := map[string]bool{}, map[string]bool{}
	for _, p := range pred {
		if !containsStr(enis, p.ENI) {
			continue
		}
		k := key{p.ENI, p.Direction, p.Action, p.SrcAddr.String(), p.DstAddr.String(), strconv.Itoa(p.SrcPort), strconv.Itoa(p.DstPort),
			strconv.Itoa(p.Protocol), addr(p.PktSrcAddr), addr(p.PktDstAddr), path(p.TrafficPath)}
		if p.Direction == "ingress" {
			k.path = "-"
		}
		want[k] = int64(p.TCPFlags)
		ports[k.sport], ports[k.dport], protos[k.proto] = true, true, true
	}
	for _, r := range recs {
		if !containsStr(enis, r["interface_id"]) || r["log_status"] != "OK" || !protos[r["protocol"]] || !ports[r["srcport"]] || !ports[r["dstport"]] {
			continue
		}
		k := key{r["interface_id"], r["flow_direction"], r["action"], r["srcaddr"], r["dstaddr"], r["srcport"], r["dstport"], r["protocol"],
			r["pkt_srcaddr"], r["pkt_dstaddr"], r["traffic_path"]}
		got[k] |= flFlags(t, []map[string]string{r})
	}
	for k, f := range want {
		g, ok := got[k]
		switch {
		case !ok:
			t.Errorf("%s: predicted record %+v missing", vector, k)
		case g != f:
			t.Errorf("%s: %+v: tcp-flags %d, predicted %d", vector, k, g, f)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: record %+v not predicted", vector, k)
		}
	}
	if t.Failed() {
		t.Logf("%s: predicted %+v", vector, want)
		t.Logf("%s: written %+v", vector, got)
	}
}

func containsStr(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// rtListen accepts TCP connections on port in namespace ns and sends each
// peer's address (as the listener sees it) on the returned channel.
func rtListen(t *testing.T, ns string, port int) <-chan netip.AddrPort {
	t.Helper()
	var ln net.Listener
	err := netns.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	peers := make(chan netip.AddrPort, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).AddrPort()
			c.Close()
		}
	}()
	return peers
}

func rtTCP(src string, sport int, dst string, dport int, flags uint8) rules.Packet {
	return rules.Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), Protocol: 6, SrcPort: sport, DstPort: dport,
		TCPFlags: flags, Length: 60}
}

// rtExchange is a connection's packets as tcpTry makes them: handshake,
// the client's FIN, the server's FIN, the last ACK; the server answers the
// client as it sees it (clientAs, after translation).
func rtExchange(client string, cport int, server string, sport int, clientAs string) []rules.PathPacket {
	const syn, synack, ack, finack = 0x02, 0x12, 0x10, 0x11
	c, s := fmt.Sprintf("%s:%d", client, cport), fmt.Sprintf("%s:%d", server, sport)
	back := clientAs
	return []rules.PathPacket{flTCP(0, c, s, syn), flTCP(1, s, back, synack), flTCP(2, c, s, ack), flTCP(3, c, s, finack),
		flTCP(4, s, back, finack), flTCP(5, c, s, ack)}
}

func rtRefused(err error) error {
	if err == nil {
		return errors.New("connected, want no connection")
	}
	if !isTimeout(err) {
		return err
	}
	return nil
}

// T2 as written: the internet through the internet gateway (TV-42, TV-43)
// and through the NAT gateway (TV-45, TV-46).
func TestRoutingT2(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t)
	l := flUp(t, topo, Options{})
	seen := map[string]bool{}
	flRecords(t, l, seen)
	a, d, w, x, s := flNS(t, l, "A"), flNS(t, l, "D"), flNS(t, l, "W"), flNS(t, l, "X"), flNS(t, l, "S")
	peers := rtListen(t, s, 7000)

	// TV-45: A reaches S through nat-1; S sees the EIP and the first port
	// of the sequential policy (per destination, NGW-6); every ENI on the
	// way logs what PredictFlowLog says.
	if err := tcpTry(a, 40000, netip.MustParseAddrPort("203.0.113.80:443"), 3*time.Second); err != nil {
		t.Fatalf("TV-45: A -> S:443: %v", err)
	}
	if err := tcpTry(a, 40001, netip.MustParseAddrPort("203.0.113.80:7000"), 3*time.Second); err != nil {
		t.Fatalf("TV-45: A -> S:7000: %v", err)
	}
	select {
	case p := <-peers:
		if p.Addr() != netip.MustParseAddr("203.0.113.100") || p.Port() != 1024 {
			t.Errorf("TV-45: S sees A as %s, want 203.0.113.100:1024", p)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("TV-45: S accepted nothing")
	}
	rtCompare(t, "TV-45", flRecords(t, l, seen), rules.PredictFlowLog(topo,
		rtExchange("10.0.2.20", 40000, "203.0.113.80", 443, "203.0.113.100:1024")), "eni-a", "eni-ngw")

	// TV-42: W reaches S with its public IP; D, without one, is dropped at
	// the internet gateway.
	if err := tcpTry(w, 40000, netip.MustParseAddrPort("203.0.113.80:7000"), 3*time.Second); err != nil {
		t.Fatalf("TV-42 (a): %v", err)
	}
	if p := <-peers; p != netip.MustParseAddrPort("203.0.113.10:40000") {
		t.Errorf("TV-42 (a): S sees W as %s, want 203.0.113.10:40000", p)
	}
	if err := rtRefused(tcpTry(d, 40000, netip.MustParseAddrPort("203.0.113.80:443"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-42 (b): %v", err)
	}
	rtWaitDrop(t, l, "TV-42 (b)", rtTCP("10.0.1.20", 40000, "203.0.113.80", 443, rules.TCPSyn))

	// TV-43 (b), (c): X reaches neither an unassigned public address nor a
	// private one.
	for _, dst := range []string{"203.0.113.77", "10.0.1.10"} {
		if err := rtRefused(tcpTry(x, 51000, netip.AddrPortFrom(netip.MustParseAddr(dst), 443), time.Second)); err != nil {
			t.Errorf("TV-43 %s: %v", dst, err)
		}
		rtWaitDrop(t, l, "TV-43 "+dst, rtTCP("198.51.100.10", 51000, dst, 443, rules.TCPSyn))
	}

	// TV-46: (a) nothing from the internet opens a mapping; (c) A's echo
	// request to S is answered through nat-1.
	if err := rtRefused(tcpTry(x, 51001, netip.MustParseAddrPort("203.0.113.100:22"), time.Second)); err != nil {
		t.Errorf("TV-46 (a): %v", err)
	}
	rtWaitDrop(t, l, "TV-46 (a)", rtTCP("198.51.100.10", 51001, "203.0.113.100", 22, rules.TCPSyn), "10.0.1.100")
	if err := testenv.Ping(a, netip.MustParseAddr("203.0.113.80")); err != nil {
		t.Errorf("TV-46 (c): A pings S: %v", err)
	}

	// The NAT gateway counted what it did (NGW-15).
	st := l.Status()
	for _, g := range st.Gateways {
		if g.ID == "nat-1" && (g.NAT == nil || g.NAT.ConnectionAttemptCount < 2 || g.NAT.ConnectionEstablishedCount < 2) {
			t.Errorf("nat-1 counters %+v, want 2 attempts and 2 established at least", g.NAT)
		}
	}
}

// t2Appliance adds TV-54's appliance F in M (sgF: in all from the VPC, out
// all) with Q's and P's traffic to each other routed through it; check is
// its source_dest_check.
func t2Appliance(check bool) []string {
	return []string{
		"  - {id: B, eni: eni-b,", fmt.Sprintf("  - {id: F, eni: eni-f, subnet: M, private_ip: 10.0.3.50, security_groups: [sgF], source_dest_check: %v}\n", check) +
			"  - {id: B, eni: eni-b,",
		"  - id: sgB\n", "  - id: sgF\n    vpc: vpc-1\n    ingress: [{protocol: all, cidr: 10.0.0.0/16}]\n    egress: [{protocol: all, cidr: 0.0.0.0/0}]\n  - id: sgB\n",
		"      - {destination: 0.0.0.0/0, target: igw-1}", "      - {destination: 0.0.0.0/0, target: igw-1}\n      - {destination: 10.0.2.0/24, target: eni-f}",
		"      - {destination: 0.0.0.0/0, target: nat-1}", "      - {destination: 0.0.0.0/0, target: nat-1}\n      - {destination: 10.0.1.0/24, target: eni-f}",
		"  - {<<: *flow, id: fl-b, resource: eni-b}", "  - {<<: *flow, id: fl-b, resource: eni-b}\n  - {<<: *flow, id: fl-f, resource: eni-f}",
	}
}

// T2 with pcx-12 routed both ways (TV-51 b), the appliance forwarding
// (TV-54 b) and a blackhole route to S (TV-50 b).
func TestRoutingT2PeeredAppliance(t *testing.T) {
	testenv.RequireRoot(t)
	edits := append(t2Appliance(false),
		"      - {destination: 10.0.2.0/24, target: eni-f}", "      - {destination: 10.0.2.0/24, target: eni-f}\n      - {destination: 10.1.0.0/16, target: pcx-12}",
		"  - id: rtb-r                    # local only\n    vpc: vpc-2\n", "  - id: rtb-r\n    vpc: vpc-2\n    routes:\n      - {destination: 10.0.0.0/16, target: pcx-12}\n",
		"      - {destination: 10.0.1.0/24, target: eni-f}", "      - {destination: 10.0.1.0/24, target: eni-f}\n      - {destination: 203.0.113.80/32, target: nat-2, state: blackhole}",
	)
	// W listens on 7000 for VPC clients too (443 is its https service).
	edits = append(edits, "      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/8}\n", "      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/8}\n      - {protocol: tcp, ports: 7000, cidr: 10.0.0.0/8}\n")
	topo := rtTopology(t, edits...)
	l := flUp(t, topo, Options{})
	seen := map[string]bool{}
	flRecords(t, l, seen)
	a, w, b := flNS(t, l, "A"), flNS(t, l, "W"), flNS(t, l, "B")

	// TV-51 (b): W and B reach each other over the peering.
	if err := tcpTry(w, 40000, netip.MustParseAddrPort("10.1.1.30:22"), 3*time.Second); err != nil {
		t.Errorf("TV-51 (b): W -> B:22: %v", err)
	}
	peers := rtListen(t, w, 7000)
	if err := tcpTry(b, 40000, netip.MustParseAddrPort("10.0.1.10:7000"), 3*time.Second); err != nil {
		t.Errorf("peering, the other way: B -> W:7000: %v", err)
	} else if p := <-peers; p != netip.MustParseAddrPort("10.1.1.30:40000") {
		t.Errorf("W sees B as %s", p)
	}
	rtCompare(t, "TV-51 (b)", flRecords(t, l, seen), rules.PredictFlowLog(topo,
		append(rtExchange("10.0.1.10", 40000, "10.1.1.30", 22, "10.0.1.10:40000"),
			rtExchange("10.1.1.30", 40000, "10.0.1.10", 7000, "10.1.1.30:40000")...)), "eni-w", "eni-b")

	// TV-54 (b): A reaches W through F (source/destination check off).
	if err := tcpTry(a, 40001, netip.MustParseAddrPort("10.0.1.10:7000"), 3*time.Second); err != nil {
		t.Errorf("TV-54 (b): A -> W:7000 through F: %v", err)
	} else if p := <-peers; p != netip.MustParseAddrPort("10.0.2.20:40001") {
		t.Errorf("TV-54 (b): W sees A as %s", p)
	}
	rtCompare(t, "TV-54 (b)", flRecords(t, l, seen), rules.PredictFlowLog(topo,
		rtExchange("10.0.2.20", 40001, "10.0.1.10", 7000, "10.0.2.20:40001")), "eni-a", "eni-f", "eni-w")

	// TV-50 (b): the blackhole route to S wins over 0.0.0.0/0 (no
	// fallback); X is still reached through nat-1.
	if err := rtRefused(tcpTry(a, 40002, netip.MustParseAddrPort("203.0.113.80:443"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-50 (b): %v", err)
	}
	rtWaitDrop(t, l, "TV-50 (b)", rtTCP("10.0.2.20", 40002, "203.0.113.80", 443, rules.TCPSyn))
	// X is routed through nat-1, but its echo reply comes back through F
	// (rtb-p sends Q's block to eni-f), whose sgF admits only the VPC: the
	// reply is dropped there, as the evaluator says for the same exchange.
	if err := testenv.Ping(a, netip.MustParseAddr("198.51.100.10")); err == nil {
		t.Errorf("A pings X: answered, want the reply dropped at eni-f")
	}
	m := rules.NewPathModel(topo)
	req := m.Send(0, rules.OpeningPacket(1, netip.MustParseAddr("10.0.2.20"), 7, netip.MustParseAddr("198.51.100.10"), 0))
	if !req.Delivered {
		t.Fatalf("evaluator: echo request to X %s", req.Fate())
	}
	out := req.Final()
	rep := m.Send(time.Millisecond, rules.Packet{Src: out.Dst, Dst: out.Src, Protocol: 1, ICMPType: 0, ICMPID: out.ICMPID, Length: 84})
	want := rep.Fate()
	d := waitDrop(t, l.Paths().Drops(), func(d *Drop) bool { return d.Src == "198.51.100.10" && d.Protocol == 1 })
	if d.DropPoint() != want {
		t.Errorf("echo reply from X dropped at %s, the evaluator says %s", d.DropPoint(), want)
	}
}

// T2 with pcx-12 routed from vpc-1 only (TV-51 a: the reply has no route
// back) and the appliance with its source/destination check on (TV-54 a).
func TestRoutingT2OneWayPeeringCheckedAppliance(t *testing.T) {
	testenv.RequireRoot(t)
	edits := append(t2Appliance(true),
		"      - {destination: 10.0.2.0/24, target: eni-f}", "      - {destination: 10.0.2.0/24, target: eni-f}\n      - {destination: 10.1.0.0/16, target: pcx-12}")
	topo := rtTopology(t, edits...)
	l := flUp(t, topo, Options{})
	seen := map[string]bool{}
	flRecords(t, l, seen)
	a, w := flNS(t, l, "A"), flNS(t, l, "W")

	// TV-51 (a): the SYN reaches B, its SYN-ACK has no route in rtb-r.
	if err := rtRefused(tcpTry(w, 40000, netip.MustParseAddrPort("10.1.1.30:22"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-51 (a): %v", err)
	}
	rtWaitDrop(t, l, "TV-51 (a)", rtTCP("10.1.1.30", 22, "10.0.1.10", 40000, rules.TCPSyn|rules.TCPAck))
	const syn, synack = 0x02, 0x12
	rtCompare(t, "TV-51 (a)", flRecords(t, l, seen), rules.PredictFlowLog(topo, []rules.PathPacket{
		flTCP(0, "10.0.1.10:40000", "10.1.1.30:22", syn), flTCP(1, "10.1.1.30:22", "10.0.1.10:40000", synack)}), "eni-w", "eni-b")

	// TV-54 (a): F's check drops what is not its own, logged nowhere.
	if err := rtRefused(tcpTry(a, 40001, netip.MustParseAddrPort("10.0.1.10:443"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-54 (a): %v", err)
	}
	rtWaitDrop(t, l, "TV-54 (a)", rtTCP("10.0.2.20", 40001, "10.0.1.10", 443, rules.TCPSyn))
	rtCompare(t, "TV-54 (a)", flRecords(t, l, seen), rules.PredictFlowLog(topo, []rules.PathPacket{
		flTCP(0, "10.0.2.20:40001", "10.0.1.10:443", syn)}), "eni-a", "eni-f", "eni-w")
}

// rtHold accepts TCP connections on port in ns and keeps them open until
// the test ends, discarding what they send.
func rtHold(t *testing.T, ns string, port int) {
	t.Helper()
	var ln net.Listener
	err := netns.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go func() { _, _ = c.Read(make([]byte, 1<<16)) }()
		}
	}()
}

// rtDial opens a TCP connection from ns (local port lport) to dst.
func rtDial(ns string, lport int, dst string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(ns, func() (err error) {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{Port: lport}}
		c, err = d.Dial("tcp4", dst)
		return err
	})
	return c, err
}

// T2 with the NAT gateway's limits lowered (limits:, as TV-48 and TV-49
// allow for CI): two connections per destination, a 3 s idle timeout.
func TestRoutingT2NATLimits(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t, "region: us-east-1\n", "region: us-east-1\nlimits: {nat_connections_per_destination: 2, nat_idle_timeout: 3}\n")
	l := flUp(t, topo, Options{})
	a, s := flNS(t, l, "A"), flNS(t, l, "S")
	rtHold(t, s, 7000)
	rtHold(t, s, 7001)

	// TV-49: the third concurrent connection to S:7000 is refused at the
	// NAT gateway (NGW_PORT_ALLOCATION_ERROR); S:7001 is another
	// destination and gets its own ports.
	var held []net.Conn
	for i := range 2 {
		c, err := rtDial(a, 40000+i, "203.0.113.80:7000", 3*time.Second)
		if err != nil {
			t.Fatalf("TV-49: connection %d: %v", i+1, err)
		}
		held = append(held, c)
	}
	if c, err := rtDial(a, 40002, "203.0.113.80:7000", 1500*time.Millisecond); err == nil {
		c.Close()
		t.Error("TV-49: a third connection to S:7000 was made")
	}
	m := rules.NewPathModel(topo)
	for i := range 2 {
		m.Send(0, rtTCP("10.0.2.20", 40000+i, "203.0.113.80", 7000, rules.TCPSyn))
	}
	third := rtTCP("10.0.2.20", 40002, "203.0.113.80", 7000, rules.TCPSyn)
	p3 := m.Send(0, third)
	rtWaitDropAt(t, l, "TV-49", third, p3.Fate())
	c7001, err := rtDial(a, 40003, "203.0.113.80:7001", 3*time.Second)
	if err != nil {
		t.Fatalf("TV-49: S:7001: %v", err)
	}
	defer c7001.Close()
	var nat *GatewayStatus
	for _, g := range l.Status().Gateways {
		if g.ID == "nat-1" {
			nat = &g
		}
	}
	if nat == nil || nat.NAT == nil || nat.NAT.ErrorPortAllocation == 0 || nat.NAT.ActiveConnectionCount != 3 {
		t.Errorf("TV-49: nat-1 status %+v, want port allocation errors and 3 active connections", nat)
	}

	// TV-48: after the idle timeout, A's next segment is answered with a
	// reset (NGW-11): A's write fails as reset by the peer.
	time.Sleep(4 * time.Second)
	c := held[0]
	if _, err := c.Write([]byte("after idle")); err != nil {
		t.Fatalf("TV-48: write: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 16)); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("TV-48: after the idle timeout A reads %v, want a connection reset", err)
	}
	for _, c := range held {
		c.Close()
	}
	for _, g := range l.Status().Gateways {
		if g.ID == "nat-1" && (g.NAT == nil || g.NAT.IdleTimeoutCount == 0) {
			t.Errorf("TV-48: nat-1 counters %+v, want an idle timeout", g.NAT)
		}
	}
	// A new connection works.
	if c, err := rtDial(a, 40004, "203.0.113.80:7000", 3*time.Second); err != nil {
		t.Errorf("TV-48: a new connection after the timeout: %v", err)
	} else {
		c.Close()
	}
}

// Routing changes live (lab.Change): routes added and deleted, a NAT
// gateway deleted (its route a blackhole, TV-50 a) and created again.
func TestRoutingLiveChanges(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t)
	l := flUp(t, topo, Options{})
	a, w := flNS(t, l, "A"), flNS(t, l, "W")
	apply := func(what string, edits ...string) *vpc.Topology {
		t.Helper()
		nt := rtParse(t, topo.Name, edits...)
		if err := l.ApplyTopology(nt); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return nt
	}
	port := 41000
	try := func(ns, dst string) error {
		port++
		return tcpTry(ns, port, netip.MustParseAddrPort(dst), 2*time.Second)
	}

	// The peering gets routes both ways: W reaches B.
	peered := []string{
		"      - {destination: 0.0.0.0/0, target: igw-1}", "      - {destination: 0.0.0.0/0, target: igw-1}\n      - {destination: 10.1.0.0/16, target: pcx-12}",
		"  - id: rtb-r                    # local only\n    vpc: vpc-2\n", "  - id: rtb-r\n    vpc: vpc-2\n    routes:\n      - {destination: 10.0.0.0/16, target: pcx-12}\n",
	}
	if err := rtRefused(try(w, "10.1.1.30:22")); err != nil {
		t.Fatalf("before the routes: W -> B: %v", err)
	}
	apply("routes added", peered...)
	if err := try(w, "10.1.1.30:22"); err != nil {
		t.Errorf("routes added: W -> B: %v", err)
	}
	// Deleted again: no route (the evaluator says where).
	apply("routes deleted")
	if err := rtRefused(try(w, "10.1.1.30:22")); err != nil {
		t.Errorf("routes deleted: W -> B: %v", err)
	}
	rtWaitDrop(t, l, "routes deleted", rtTCP("10.0.1.10", port, "10.1.1.30", 22, rules.TCPSyn))

	// TV-50 (a): nat-1 deleted, rtb-q's default route is a blackhole.
	if err := try(a, "203.0.113.80:443"); err != nil {
		t.Fatalf("A -> S through nat-1: %v", err)
	}
	noNAT := []string{
		"nat_gateways:\n  - id: nat-1\n    subnet: P\n    eni: eni-ngw\n    private_ip: 10.0.1.100\n    elastic_ip: eipalloc-ngw\n    port_policy: sequential   # the first translated source port is 1024\n", "",
		"      - {destination: 0.0.0.0/0, target: nat-1}", "      - {destination: 0.0.0.0/0, target: nat-1, state: blackhole}",
		"  - {<<: *flow, id: fl-ngw, resource: eni-ngw}\n", "",
	}
	apply("nat-1 deleted", noNAT...)
	if err := rtRefused(try(a, "203.0.113.80:443")); err != nil {
		t.Errorf("TV-50 (a): %v", err)
	}
	rtWaitDrop(t, l, "TV-50 (a)", rtTCP("10.0.2.20", port, "203.0.113.80", 443, rules.TCPSyn))
	for _, rt := range l.Status().RouteTables {
		for _, r := range rt.Routes {
			if rt.ID == "rtb-q" && r.Destination == "0.0.0.0/0" && r.State != "blackhole" {
				t.Errorf("TV-50 (a): status shows rtb-q 0.0.0.0/0 %s", r.State)
			}
		}
	}
	if ns, _ := netns.List(); containsStr(ns, "vpcemu."+topo.Name+".ngw.nat-1") {
		t.Error("nat-1's namespace is still there")
	}
	// Created again: A reaches S through it.
	apply("nat-1 created")
	if err := try(a, "203.0.113.80:443"); err != nil {
		t.Errorf("nat-1 created again: A -> S: %v", err)
	}
}

// Instances run and terminated on a running topology (lab.Change): a new
// instance with a public IP in P answers X and reaches S; terminated, its
// namespace is gone and its address answers nothing; an instance of the
// file (W, with services) is terminated too and the others keep working.
func TestInstancesLive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t)
	l := flUp(t, topo, Options{})
	x, a := flNS(t, l, "X"), flNS(t, l, "A")
	newInst := []string{"  - {id: B, eni: eni-b,", "  - {id: N, eni: eni-n, subnet: P, private_ip: 10.0.1.30, public_ip: 203.0.113.11, security_groups: [sgW], services: [https]}\n  - {id: B, eni: eni-b,"}
	nt := rtParse(t, topo.Name, newInst...)
	if err := l.ApplyTopology(nt); err != nil {
		t.Fatalf("run N: %v", err)
	}
	n := flNS(t, l, "N")
	port := 42000
	try := func(ns, dst string) error {
		port++
		return tcpTry(ns, port, netip.MustParseAddrPort(dst), 2*time.Second)
	}
	if err := try(x, "203.0.113.11:443"); err != nil {
		t.Errorf("X -> N's public IP: %v", err)
	}
	if err := try(n, "203.0.113.80:443"); err != nil {
		t.Errorf("N -> S: %v", err)
	}
	if err := try(a, "10.0.1.30:22"); err == nil || isTimeout(err) {
		t.Errorf("A -> N:22 (sgW admits it, N serves no ssh): %v, want N's reset", err)
	}

	// Terminate N and W (the file's, with its services).
	nt = rtParse(t, topo.Name, "  - {id: W, eni: eni-w, subnet: P, private_ip: 10.0.1.10, public_ip: 203.0.113.10, security_groups: [sgW], services: [https, ssh]}\n", "",
		"  - {<<: *flow, id: fl-w, resource: eni-w}\n", "")
	if err := l.ApplyTopology(nt); err != nil {
		t.Fatalf("terminate N and W: %v", err)
	}
	names, _ := netns.List()
	for _, ns := range names {
		if ns == n || ns == "vpcemu."+topo.Name+".i.W" {
			t.Errorf("namespace %s still there", ns)
		}
	}
	if err := rtRefused(try(x, "203.0.113.11:443")); err != nil {
		t.Errorf("X -> N's old public IP: %v", err)
	}
	if err := rtRefused(try(x, "203.0.113.10:443")); err != nil {
		t.Errorf("X -> W's old public IP: %v", err)
	}
	if err := try(a, "203.0.113.80:443"); err != nil {
		t.Errorf("A -> S after the terminations: %v", err)
	}
}

// TV-44: a subnet without an explicit association routes by its VPC's
// main table: E in N reaches nothing outside (rtb-main has only local
// routes), its public IP notwithstanding; once rtb-p is made the main
// table (live), E reaches S.
func TestRoutingTV44MainTable(t *testing.T) {
	testenv.RequireRoot(t)
	withE := []string{
		"  - {id: M, vpc: vpc-1, cidr: 10.0.3.0/24, az: use1-az1}", "  - {id: M, vpc: vpc-1, cidr: 10.0.3.0/24, az: use1-az1}\n  - {id: N, vpc: vpc-1, cidr: 10.0.4.0/24, az: use1-az1}",
		"  - id: sgB\n", "  - id: sgE\n    vpc: vpc-1\n    ingress: []\n    egress: [{protocol: all, cidr: 0.0.0.0/0}]\n  - id: sgB\n",
		"  - {id: B, eni: eni-b,", "  - {id: E, eni: eni-e, subnet: N, private_ip: 10.0.4.40, public_ip: 203.0.113.40, security_groups: [sgE]}\n  - {id: B, eni: eni-b,",
	}
	topo := rtTopology(t, withE...)
	l := flUp(t, topo, Options{})
	e := flNS(t, l, "E")
	if err := rtRefused(tcpTry(e, 40000, netip.MustParseAddrPort("203.0.113.80:443"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-44 (a): %v", err)
	}
	rtWaitDrop(t, l, "TV-44 (a)", rtTCP("10.0.4.40", 40000, "203.0.113.80", 443, rules.TCPSyn))

	mainP := append(withE,
		"  - id: rtb-main                 # vpc-1's main table: local routes only\n    vpc: vpc-1\n    main: true\n", "  - id: rtb-main\n    vpc: vpc-1\n",
		"  - id: rtb-p\n    vpc: vpc-1\n", "  - id: rtb-p\n    vpc: vpc-1\n    main: true\n")
	if err := l.ApplyTopology(rtParse(t, topo.Name, mainP...)); err != nil {
		t.Fatalf("TV-44 (b): make rtb-p the main table: %v", err)
	}
	if err := tcpTry(e, 40001, netip.MustParseAddrPort("203.0.113.80:443"), 3*time.Second); err != nil {
		t.Errorf("TV-44 (b): E -> S with rtb-p as the main table: %v", err)
	}
}

// TV-56: IPv6 leaves Q through the egress-only gateway (stateful: nothing
// from the internet opens a flow to A) and P through the internet
// gateway (both ways); without Q's ::/0 route, no route (no NAT64).
func TestRoutingTV56IPv6(t *testing.T) {
	testenv.RequireRoot(t)
	v6 := []string{
		"  - {id: vpc-1, cidr: 10.0.0.0/16}", "  - {id: vpc-1, cidr: 10.0.0.0/16, ipv6_cidr: \"2001:db8:1::/56\"}",
		"  - {id: P, vpc: vpc-1, cidr: 10.0.1.0/24,", "  - {id: P, vpc: vpc-1, cidr: 10.0.1.0/24, ipv6_cidr: \"2001:db8:1:1::/64\",",
		"  - {id: Q, vpc: vpc-1, cidr: 10.0.2.0/24,", "  - {id: Q, vpc: vpc-1, cidr: 10.0.2.0/24, ipv6_cidr: \"2001:db8:1:2::/64\",",
		"internet_gateways:\n  - {id: igw-1, vpc: vpc-1}\n", "internet_gateways:\n  - {id: igw-1, vpc: vpc-1}\negress_only_internet_gateways:\n  - {id: eigw-1, vpc: vpc-1}\n",
		"      - {destination: 0.0.0.0/0, target: igw-1}", "      - {destination: 0.0.0.0/0, target: igw-1}\n      - {destination: \"::/0\", target: igw-1}",
		"      - {destination: 0.0.0.0/0, target: nat-1}", "      - {destination: 0.0.0.0/0, target: nat-1}\n      - {destination: \"::/0\", target: eigw-1}",
		"    ingress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]\n    egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]\n  - id: acl-q",
		"    ingress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}, {rule: 101, protocol: all, ipv6_cidr: \"::/0\", action: allow}]\n    egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}, {rule: 101, protocol: all, ipv6_cidr: \"::/0\", action: allow}]\n  - id: acl-q",
		"    ingress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]\n    egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]\n\nsecurity_groups",
		"    ingress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}, {rule: 101, protocol: all, ipv6_cidr: \"::/0\", action: allow}]\n    egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}, {rule: 101, protocol: all, ipv6_cidr: \"::/0\", action: allow}]\n\nsecurity_groups",
		"      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/8}\n    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n",
		"      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/8}\n      - {protocol: tcp, ports: 443, ipv6_cidr: \"::/0\"}\n    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n      - {protocol: all, ipv6_cidr: \"::/0\"}\n",
		"  - id: sgA\n    vpc: vpc-1\n    ingress: []                  # no inbound\n    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n",
		"  - id: sgA\n    vpc: vpc-1\n    ingress:\n      - {protocol: tcp, ports: 22, ipv6_cidr: \"::/0\"}\n    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n      - {protocol: all, ipv6_cidr: \"::/0\"}\n",
		"private_ip: 10.0.1.10, public_ip: 203.0.113.10,", "private_ip: 10.0.1.10, ipv6: \"2001:db8:1:1::10\", public_ip: 203.0.113.10,",
		"private_ip: 10.0.2.20, security_groups: [sgA]}", "private_ip: 10.0.2.20, ipv6: \"2001:db8:1:2::20\", security_groups: [sgA], services: [ssh]}",
		"  - {name: S, ip: 203.0.113.80, services: [https, http]}", "  - {name: S, ip: 203.0.113.80, services: [https, http]}\n  - {name: S6, ip: 203.0.113.81, ipv6: \"2001:db8:ffff::80\", services: [https]}",
	}
	topo := rtTopology(t, v6...)
	l := flUp(t, topo, Options{})
	a, s6 := flNS(t, l, "A"), flNS(t, l, "S6")
	if err := tcpTry(a, 40000, netip.MustParseAddrPort("[2001:db8:ffff::80]:443"), 3*time.Second); err != nil {
		t.Errorf("TV-56 (a): A -> S6 through eigw-1: %v", err)
	}
	if err := rtRefused(tcpTry(s6, 51000, netip.MustParseAddrPort("[2001:db8:1:2::20]:22"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-56 (b): %v", err)
	}
	rtWaitDrop(t, l, "TV-56 (b)", rules.Packet{Src: netip.MustParseAddr("2001:db8:ffff::80"), Dst: netip.MustParseAddr("2001:db8:1:2::20"),
		Protocol: 6, SrcPort: 51000, DstPort: 22, TCPFlags: rules.TCPSyn, Length: 80})
	if err := tcpTry(s6, 51001, netip.MustParseAddrPort("[2001:db8:1:1::10]:443"), 3*time.Second); err != nil {
		t.Errorf("TV-56 (c): S6 -> W through igw-1: %v", err)
	}
	// (d) live: Q's ::/0 route deleted.
	if err := l.ApplyTopology(rtParse(t, topo.Name, append(v6[:10:10], v6[12:]...)...)); err != nil {
		t.Fatalf("TV-56 (d): %v", err)
	}
	if err := rtRefused(tcpTry(a, 40001, netip.MustParseAddrPort("[2001:db8:ffff::80]:443"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-56 (d): %v", err)
	}
	rtWaitDrop(t, l, "TV-56 (d)", rules.Packet{Src: netip.MustParseAddr("2001:db8:1:2::20"), Dst: netip.MustParseAddr("2001:db8:ffff::80"),
		Protocol: 6, SrcPort: 40001, DstPort: 443, TCPFlags: rules.TCPSyn, Length: 80})
}

// TV-53: a gateway endpoint on rtb-q for the S3 prefix list: A reaches the
// service through it (the more specific prefix-list route beats
// 0.0.0.0/0 to nat-1) and the service sees A's private address; sgA's
// egress to the prefix list only refuses S; UDP is dropped at the
// endpoint (VPCE_GATEWAY_PROTOCOL_RESTRICTION).
func TestRoutingTV53GatewayEndpoint(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t)
	topo.PrefixLists = append(topo.PrefixLists, vpc.PrefixList{ID: "pl-0a1b2c3d", Name: "com.amazonaws.us-east-1.s3", AWSManaged: true, MaxEntries: 1,
		CIDRs: []netip.Prefix{netip.MustParsePrefix("192.0.2.128/25")}})
	topo.Endpoints = append(topo.Endpoints, vpc.Endpoint{ID: "vpce-s3", VPC: "vpc-1", Service: "com.amazonaws.us-east-1.s3",
		PrefixList: "pl-0a1b2c3d", RouteTables: []string{"rtb-q"}})
	only443 := []vpc.SGRule{{Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 443, To: 443}, ICMPType: -1, ICMPCode: -1, PrefixList: "pl-0a1b2c3d"}}
	for i := range topo.SecurityGroups {
		if topo.SecurityGroups[i].ID == "sgA" {
			topo.SecurityGroups[i].Egress = only443
		}
	}
	if err := vpc.Validate(topo); err != nil {
		t.Fatal(err)
	}
	l := flUp(t, topo, Options{})
	if len(l.Plan().Services) != 1 {
		t.Fatalf("plan services %+v", l.Plan().Services)
	}
	svc := rtListen(t, l.Plan().Services[0].NS, 443)
	a := flNS(t, l, "A")
	if err := tcpTry(a, 40000, netip.MustParseAddrPort("192.0.2.200:443"), 3*time.Second); err != nil {
		t.Fatalf("TV-53 (a): A -> the S3 service: %v", err)
	}
	if p := <-svc; p != netip.MustParseAddrPort("10.0.2.20:40000") {
		t.Errorf("TV-53 (a): the service sees %s, want 10.0.2.20:40000", p)
	}
	if err := rtRefused(tcpTry(a, 40001, netip.MustParseAddrPort("203.0.113.80:443"), 1500*time.Millisecond)); err != nil {
		t.Errorf("TV-53 (b): %v", err)
	}
	rtWaitDrop(t, l, "TV-53 (b)", rtTCP("10.0.2.20", 40001, "203.0.113.80", 443, rules.TCPSyn))

	// (c): sgA out-all again (live), UDP to the service.
	nt := topo.Clone()
	for i := range nt.SecurityGroups {
		if nt.SecurityGroups[i].ID == "sgA" {
			nt.SecurityGroups[i].Egress = []vpc.SGRule{{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
		}
	}
	if err := l.ApplyTopology(nt); err != nil {
		t.Fatal(err)
	}
	if err := udpExchange(a, 40002, netip.MustParseAddrPort("192.0.2.200:443"), 1, 20, false); err != nil {
		t.Fatal(err)
	}
	rtWaitDrop(t, l, "TV-53 (c)", rules.Packet{Src: netip.MustParseAddr("10.0.2.20"), Dst: netip.MustParseAddr("192.0.2.200"), Protocol: 17,
		SrcPort: 40002, DstPort: 443, Length: 48})
}
