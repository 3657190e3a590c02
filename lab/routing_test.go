package lab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
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
	b, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "name: t2", "name: "+testenv.Name(t), 1)
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
	want := rtFate(l.Topology(), p)
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
