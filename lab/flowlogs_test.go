package lab

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/services"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// flTestFormat is the default format plus the v3..v5 fields the tests read.
const flTestFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} " +
	"${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction} ${tcp-flags} ${type}"

// flUp brings topo up for one test with its state in a temporary directory.
func flUp(t *testing.T, topo *vpc.Topology, opts Options) *Lab {
	t.Helper()
	if opts.RunRoot == "" {
		opts.RunRoot, opts.DataRoot = testOptions(t).RunRoot, testOptions(t).DataRoot
	}
	t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
	l, err := Up(context.Background(), topo, "", nil, opts)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// flRecords flushes every window and returns the records of files not in
// seen (then marks them seen), keyed by Athena column names.
func flRecords(t *testing.T, l *Lab, seen map[string]bool) []map[string]string {
	t.Helper()
	if err := l.FlushFlowLogs(); err != nil {
		t.Fatalf("flush flow logs: %v", err)
	}
	var out []map[string]string
	err := filepath.WalkDir(l.Paths().FlowLogs(), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".log.gz") || seen[p] {
			return err
		}
		seen[p] = true
		recs, err := flowlog.ReadFile(p)
		for _, r := range recs {
			r["_file"] = filepath.Base(p) // not a column: which flow log wrote it
		}
		out = append(out, recs...)
		return err
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read flow logs: %v", err)
	}
	return out
}

// flSelect returns the records for which every column in want has the value.
func flSelect(recs []map[string]string, want map[string]string) []map[string]string {
	var out []map[string]string
next:
	for _, r := range recs {
		for k, v := range want {
			if r[k] != v {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

// flSum adds up a numeric column.
func flSum(t *testing.T, recs []map[string]string, col string) int64 {
	t.Helper()
	var n int64
	for _, r := range recs {
		v, err := strconv.ParseInt(r[col], 10, 64)
		if err != nil {
			t.Fatalf("column %s of %v: %v", col, r, err)
		}
		n += v
	}
	return n
}

// flFlags is the OR of the tcp_flags column of recs.
func flFlags(t *testing.T, recs []map[string]string) int64 {
	t.Helper()
	var f int64
	for _, r := range recs {
		v, err := strconv.ParseInt(r["tcp_flags"], 10, 64)
		if err != nil {
			t.Fatalf("tcp_flags of %v: %v", r, err)
		}
		f |= v
	}
	return f
}

// flENI is the ENI id of instance id.
func flENI(t *testing.T, topo *vpc.Topology, id string) string {
	t.Helper()
	for _, in := range topo.Instances {
		if in.ID == id {
			return in.ENI.ID
		}
	}
	t.Fatalf("no instance %s", id)
	return ""
}

// flNS is the namespace of an instance or internet host.
func flNS(t *testing.T, l *Lab, id string) string {
	t.Helper()
	for _, hp := range append(append([]vpc.HostPlan{}, l.Plan().Instances...), l.Plan().Hosts...) {
		if hp.ID == id {
			return hp.NS
		}
	}
	t.Fatalf("no host %s", id)
	return ""
}

// flReparse parses a rules variant of a running lab's topology under its name.
func flReparse(t *testing.T, l *Lab, yaml string) *vpc.Topology {
	t.Helper()
	nt, err := vpc.Parse(t.Name()+".yaml", []byte("name: "+l.Topology().Name+"\n"+yaml))
	if err != nil {
		t.Fatalf("parse topology variant: %v", err)
	}
	nt.FlowLogs = l.Topology().FlowLogs
	return nt
}

// udpExchange sends n datagrams of size payload bytes from ns (local port
// lport) to dst; with echo, it waits for each echo before the next send.
func udpExchange(ns string, lport int, dst netip.AddrPort, n, size int, echo bool) error {
	return netns.Do(ns, func() error {
		c, err := net.DialUDP("udp", &net.UDPAddr{Port: lport}, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return err
		}
		defer c.Close()
		msg := make([]byte, size)
		buf := make([]byte, size+1)
		for i := 0; i < n; i++ {
			msg[0] = byte(i)
			if _, err := c.Write(msg); err != nil {
				return fmt.Errorf("datagram %d: %w", i, err)
			}
			if !echo {
				time.Sleep(time.Millisecond)
				continue
			}
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			m, err := c.Read(buf)
			if err != nil || m != size || buf[0] != byte(i) {
				return fmt.Errorf("echo of datagram %d: %d bytes, %v", i, m, err)
			}
		}
		return nil
	})
}

// tcpTry connects from ns (local port lport, 0 = any) to dst within
// timeout; on success it closes at once (a full handshake and close).
func tcpTry(ns string, lport int, dst netip.AddrPort, timeout time.Duration) error {
	return netns.Do(ns, func() error {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{Port: lport}}
		c, err := d.Dial("tcp", dst.String())
		if err != nil {
			return err
		}
		// Wait for the server's FIN so that both closes are on the wire.
		c.(*net.TCPConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(timeout))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				break
			}
		}
		return c.Close()
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.ETIMEDOUT)
}

// flExactYAML is a one-instance VPC whose web server echoes UDP on 5005;
// %s is the public NACL's extra inbound rule.
const flExactYAML = `account: "123456789012"
region: ap-northeast-2
vpc: {id: vpc-fl, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-public, cidr: 10.0.1.0/24, az: ap-northeast-2a, public: true, network_acl: acl-public}
security_groups:
  - id: sg-web
    ingress:
      - {protocol: udp, ports: 5005, cidr: 0.0.0.0/0}
    egress:
      - {protocol: all, cidr: 0.0.0.0/0}
network_acls:
  - id: acl-public
    ingress:%s
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
instances:
  - {id: i-web, subnet: subnet-public, private_ip: 10.0.1.10, public_ip: 203.0.113.10, security_groups: [sg-web], services: ["udp:5005"]}
  - {id: i-app, subnet: subnet-public, private_ip: 10.0.1.20, security_groups: [sg-web]}
internet:
  - {name: laptop, ip: 198.51.100.10}
flow_logs:
  - {id: fl-exact, resource: vpc-fl, traffic_type: ALL, max_aggregation_interval: 600, log_format: "` + flTestFormat + `"}
`

// Exactness: N datagrams of a known size are N packets and N x the IP
// packet size on the receiving ENI, ingress ACCEPT, and so are their echoes
// (egress ACCEPT); dropped by the NACL they are REJECT with the same totals.
func TestFlowLogsUDPExact(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, fmt.Sprintf(flExactYAML, ""))
	l := flUp(t, topo, Options{})
	eni := flENI(t, topo, "i-web")
	laptop := flNS(t, l, "laptop")
	const n, payload = 25, 100
	const ipSize = 20 + 8 + payload
	web := netip.MustParseAddrPort("203.0.113.10:5005")
	if err := udpExchange(laptop, 41000, web, n, payload, true); err != nil {
		t.Fatalf("udp echo exchange: %v", err)
	}
	// Same subnet: no NACL on the way, the SGs count both ends (once).
	if err := udpExchange(flNS(t, l, "i-app"), 42000, netip.MustParseAddrPort("10.0.1.10:5005"), n, payload, true); err != nil {
		t.Fatalf("udp echo exchange in the subnet: %v", err)
	}
	deny := "\n      - {rule: 50, protocol: udp, ports: 5005, cidr: 0.0.0.0/0, action: deny}"
	if err := l.ApplyTopology(flReparse(t, l, fmt.Sprintf(flExactYAML, deny))); err != nil {
		t.Fatal(err)
	}
	if err := udpExchange(laptop, 41001, web, n, payload, false); err != nil {
		t.Fatalf("udp sends: %v", err)
	}
	recs := flRecords(t, l, map[string]bool{})

	check := func(what string, sel map[string]string) {
		t.Helper()
		sel["interface_id"] = eni
		got := flSelect(recs, sel)
		if len(got) == 0 {
			t.Fatalf("%s: no record %v among\n%v", what, sel, recs)
		}
		if p, b := flSum(t, got, "packets"), flSum(t, got, "bytes"); p != n || b != n*ipSize {
			t.Errorf("%s: %d packets, %d bytes; want %d, %d", what, p, b, n, n*ipSize)
		}
	}
	check("datagrams in", map[string]string{"srcaddr": "198.51.100.10", "dstaddr": "10.0.1.10", "srcport": "41000",
		"dstport": "5005", "protocol": "17", "flow_direction": "ingress", "action": "ACCEPT"})
	check("echoes out", map[string]string{"srcaddr": "10.0.1.10", "dstaddr": "198.51.100.10", "srcport": "5005",
		"dstport": "41000", "protocol": "17", "flow_direction": "egress", "action": "ACCEPT"})
	app := flENI(t, topo, "i-app")
	for _, c := range []struct{ eni, dir, src, dst, sport, dport string }{
		{app, "egress", "10.0.1.20", "10.0.1.10", "42000", "5005"},
		{eni, "ingress", "10.0.1.20", "10.0.1.10", "42000", "5005"},
		{eni, "egress", "10.0.1.10", "10.0.1.20", "5005", "42000"},
		{app, "ingress", "10.0.1.10", "10.0.1.20", "5005", "42000"},
	} {
		got := flSelect(recs, map[string]string{"interface_id": c.eni, "flow_direction": c.dir, "srcaddr": c.src,
			"dstaddr": c.dst, "srcport": c.sport, "dstport": c.dport, "action": "ACCEPT"})
		if p, b := flSum(t, got, "packets"), flSum(t, got, "bytes"); p != n || b != n*ipSize {
			t.Errorf("same subnet %s %s: %d packets, %d bytes; want %d, %d", c.eni, c.dir, p, b, n, n*ipSize)
		}
	}
	check("datagrams denied by the NACL", map[string]string{"srcaddr": "198.51.100.10", "srcport": "41001",
		"dstport": "5005", "flow_direction": "ingress", "action": "REJECT"})
	// Nothing else of the denied flow: no ACCEPT for it, no echo.
	for _, r := range recs {
		if r["srcport"] == "41001" && r["action"] != "REJECT" || r["dstport"] == "41001" {
			t.Errorf("unexpected record of the denied flow: %v", r)
		}
	}
	if got := flSelect(recs, map[string]string{"srcport": "41001", "action": "REJECT"}); len(got) != 1 {
		// One 600 s window holds the whole burst unless it straddles a boundary.
		if len(got) != 2 || got[0]["start"] == got[1]["start"] {
			t.Errorf("denied flow: %d REJECT records, want 1: %v", len(got), got)
		}
	}
}

// flSSHRule points sg-web's SSH rule of t at cidr.
func flSSHRule(t *testing.T, topo *vpc.Topology, cidr string) {
	t.Helper()
	for i := range topo.SecurityGroups {
		sg := &topo.SecurityGroups[i]
		for j := range sg.Ingress {
			if sg.ID == "sg-web" && sg.Ingress[j].Ports.From == 22 {
				sg.Ingress[j].CIDR = netip.MustParsePrefix(cidr)
				return
			}
		}
	}
	t.Fatal("lab has no SSH rule in sg-web")
}

// flSSH logs in from ns to addr (the lab's services' key); it returns the error.
func flSSH(l *Lab, ns, addr string, timeout int) error {
	cmd := servicesSSH(l, ns, addr)
	for i, a := range cmd.Args {
		if a == "ssh" {
			cmd.Args = slices.Insert(cmd.Args, i+1, "-o", "ConnectTimeout="+strconv.Itoa(timeout))
			break
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// The seed's audit: with SSH open to the world, "accepted port-22
// connections from addresses other than mine" read from the files with
// Athena's column names is exactly the stranger; with the rule back to the
// laptop's /32, the stranger's attempts are REJECT records with tcp-flags 2.
func TestFlowLogsSeedAudit(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Lab(t)
	flSSHRule(t, topo, "0.0.0.0/0")
	topo.FlowLogs[0].LogFormat = flTestFormat
	l := flUp(t, topo, Options{})
	laptop, stranger := flNS(t, l, "laptop"), flNS(t, l, "stranger")
	for _, ns := range []string{laptop, stranger} {
		if err := flSSH(l, ns, "203.0.113.10", 5); err != nil {
			t.Fatalf("ssh from %s with port 22 open: %v", ns, err)
		}
	}
	seen := map[string]bool{}
	recs := flRecords(t, l, seen)
	others := map[string]bool{}
	for _, r := range recs {
		if r["action"] == "ACCEPT" && r["dstport"] == "22" && r["srcaddr"] != "198.51.100.10" {
			others[r["srcaddr"]] = true
		}
	}
	if len(others) != 1 || !others["192.0.2.66"] {
		t.Errorf("accepted port-22 sources other than the laptop = %v, want exactly the stranger 192.0.2.66", others)
	}

	nt, err := vpc.Parse("lab.yaml", topo.YAML())
	if err != nil {
		t.Fatal(err)
	}
	nt.Name = topo.Name
	flSSHRule(t, nt, "198.51.100.10/32")
	if err := l.ApplyTopology(nt); err != nil {
		t.Fatal(err)
	}
	if err := flSSH(l, stranger, "203.0.113.10", 2); err == nil {
		t.Fatal("the stranger still logs in with SSH limited to the laptop")
	}
	// The closes of the first sessions may still be on the wire at the first
	// flush: the attempts are the stranger's flows from new client ports.
	old := map[string]bool{}
	for _, r := range flSelect(recs, map[string]string{"srcaddr": "192.0.2.66", "dstport": "22"}) {
		old[r["srcport"]] = true
	}
	recs = flRecords(t, l, seen)
	var attempts []map[string]string
	for _, r := range flSelect(recs, map[string]string{"srcaddr": "192.0.2.66", "dstport": "22"}) {
		if !old[r["srcport"]] {
			attempts = append(attempts, r)
		}
	}
	if len(attempts) == 0 {
		t.Fatalf("no record of the stranger's attempts among %v", recs)
	}
	for _, r := range attempts {
		if r["action"] != "REJECT" || r["tcp_flags"] != "2" || r["flow_direction"] != "ingress" {
			t.Errorf("stranger's attempt: %s %s tcp-flags %s, want ingress REJECT tcp-flags 2", r["flow_direction"], r["action"], r["tcp_flags"])
		}
	}
	for _, r := range flSelect(recs, map[string]string{"srcaddr": "10.0.1.10", "dstaddr": "192.0.2.66"}) {
		if !old[r["dstport"]] {
			t.Errorf("i-web answered the rejected stranger: %v", r)
		}
	}
}

func servicesSSH(l *Lab, ns, addr string) *exec.Cmd {
	return services.SSHCommand(l.Paths().Run, ns, addr, []string{"true"})
}

// flTVYAML is spec §7's cast: A in subnet-a (NACL N1 = acl-a), B and C in
// subnet-b (N2 = acl-b, a custom NACL without rules), X = laptop, W = an
// internet web server. The %s are N1 in, N1 out, sgA in, sgA out.
const flTVYAML = `account: "123456789012"
region: us-east-1
vpc: {id: vpc-tv, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, az: us-east-1a, public: true, network_acl: acl-a}
  - {id: subnet-b, cidr: 10.0.2.0/24, az: us-east-1b, network_acl: acl-b}
security_groups:
  - id: sg-a
    ingress: [%s]
    egress: [%s]
  - id: sg-b
    ingress: [{protocol: tcp, ports: 22, cidr: 10.0.1.0/24}]
    egress: [{protocol: all, cidr: 0.0.0.0/0}]
network_acls:
  - id: acl-a
    ingress: [%s]
    egress: [%s]
  - {id: acl-b, ingress: [], egress: []}
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, public_ip: 203.0.113.10, security_groups: [sg-a]}
  - {id: i-b, subnet: subnet-b, private_ip: 10.0.2.20, security_groups: [sg-b]}
  - {id: i-c, subnet: subnet-b, private_ip: 10.0.2.30, security_groups: [sg-b]}
internet:
  - {name: laptop, ip: 198.51.100.10}
  - {name: website, ip: 203.0.113.80, services: [https]}
`

// flTV returns the YAML of one vector's rules.
func flTV(sgAIn, sgAOut, n1In, n1Out string) string {
	return fmt.Sprintf(flTVYAML, sgAIn, sgAOut, n1In, n1Out)
}

const (
	flAllowAll = "{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}"
	flOutAll   = "{protocol: all, cidr: 0.0.0.0/0}"
)

// flKey is a record's FL-4 key as the tests compare it, action included.
type flKey struct{ eni, dir, action, src, dst, sport, dport, proto string }

// flCompare checks that the records of enis in recs are the predicted
// ones: the same keys, the same tcp-flags, at least the predicted packets
// (the kernel retransmits SYNs and SYN-ACKs the model sends once).
func flCompare(t *testing.T, vector string, recs []map[string]string, pred []rules.PredictedRecord, enis ...string) {
	t.Helper()
	type agg struct{ flags, packets int64 }
	got, want := map[flKey]agg{}, map[flKey]agg{}
	// Earlier vectors' peers may still retransmit (a SYN-ACK for a closed
	// client port): only this vector's protocols and ports count.
	protos, ports := map[string]bool{}, map[string]bool{}
	for _, p := range pred {
		protos[strconv.Itoa(p.Protocol)] = true
		ports[strconv.Itoa(p.SrcPort)], ports[strconv.Itoa(p.DstPort)] = true, true
	}
	for _, r := range recs {
		if !slices.Contains(enis, r["interface_id"]) || r["log_status"] != "OK" || !protos[r["protocol"]] ||
			!ports[r["srcport"]] || !ports[r["dstport"]] {
			continue
		}
		k := flKey{r["interface_id"], r["flow_direction"], r["action"], r["srcaddr"], r["dstaddr"], r["srcport"], r["dstport"], r["protocol"]}
		a := got[k]
		a.flags |= flFlags(t, []map[string]string{r})
		a.packets += flSum(t, []map[string]string{r}, "packets")
		got[k] = a
	}
	for _, p := range pred {
		if !slices.Contains(enis, p.ENI) {
			continue
		}
		k := flKey{p.ENI, p.Direction, p.Action, p.SrcAddr.String(), p.DstAddr.String(), strconv.Itoa(p.SrcPort), strconv.Itoa(p.DstPort), strconv.Itoa(p.Protocol)}
		want[k] = agg{int64(p.TCPFlags), p.Packets}
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: predicted record %+v missing; written: %+v", vector, k, got)
			continue
		}
		if g.flags != w.flags || g.packets < w.packets {
			t.Errorf("%s: %+v: tcp-flags %d, %d packets; predicted %d, %d", vector, k, g.flags, g.packets, w.flags, w.packets)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: record %+v not predicted", vector, k)
		}
	}
}

// flTCP is a TCP packet for the predictor.
func flTCP(at int, src, dst string, flags uint8) rules.PathPacket {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	return rules.PathPacket{At: time.Duration(at) * time.Millisecond, Packet: rules.Packet{Src: s.Addr(), Dst: d.Addr(),
		Protocol: 6, SrcPort: int(s.Port()), DstPort: int(d.Port()), TCPFlags: flags, Length: 60}}
}

// flPing is an ICMP echo request (8) or reply (0) for the predictor.
func flPing(at int, src, dst string, typ int) rules.PathPacket {
	return rules.PathPacket{At: time.Duration(at) * time.Millisecond, Packet: rules.Packet{Src: netip.MustParseAddr(src),
		Dst: netip.MustParseAddr(dst), Protocol: 1, ICMPType: typ, ICMPID: 7, Length: 84}}
}

// Spec vectors on the files as written, each compared with the reference
// evaluator's predicted records; then NODATA for a quiet ENI (TV-32) and
// AWS's key names and header line (TV-34).
func TestFlowLogsSpecVectors(t *testing.T) {
	testenv.RequireRoot(t)
	const syn, synack, ack, finack = 0x02, 0x12, 0x10, 0x11
	const tv33b = "${version} ${vpc-id} ${flow-direction} ${traffic-path}"
	topo := testenv.Topology(t, flTV("", flOutAll, flAllowAll, flAllowAll))
	eniA, eniB, eniC := flENI(t, topo, "i-a"), flENI(t, topo, "i-b"), flENI(t, topo, "i-c")
	topo.FlowLogs = []vpc.FlowLog{
		{ID: "fl-0abc1234", Resource: "vpc-tv", TrafficType: "ALL", MaxAggregationInterval: 600, LogFormat: flTestFormat},
		{ID: "fl-quiet", Resource: eniC, TrafficType: "ALL", MaxAggregationInterval: 1},
		// TV-33's custom formats (b), (c), (d).
		{ID: "fl-tv33b", Resource: "vpc-tv", TrafficType: "ALL", MaxAggregationInterval: 600, LogFormat: tv33b},
		{ID: "fl-tv33c", Resource: "vpc-tv", TrafficType: "ALL", MaxAggregationInterval: 600, LogFormat: tv33b + " ${ecs-task-id}"},
		{ID: "fl-tv33d", Resource: "vpc-tv", TrafficType: "ALL", MaxAggregationInterval: 600, LogFormat: tv33b + " ${reject-reason}"},
	}
	l := flUp(t, topo, Options{})
	laptop, a := flNS(t, l, "laptop"), flNS(t, l, "i-a")
	seen := map[string]bool{}
	var all []map[string]string // every record the vectors wrote
	read := func() []map[string]string {
		t.Helper()
		r := flRecords(t, l, seen)
		all = append(all, r...)
		return r
	}
	flRecords(t, l, seen) // whatever bringing the lab up logged
	vector := func(name, yaml string, act func() error, pred []rules.PathPacket, enis ...string) {
		t.Helper()
		nt := flReparse(t, l, yaml)
		if err := l.ApplyTopology(nt); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := act(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		flCompare(t, name, read(), rules.PredictFlowLog(nt, pred), enis...)
	}
	refused := func(err error) error {
		if err == nil {
			return errors.New("connected, want no connection")
		}
		if !isTimeout(err) {
			return err
		}
		return nil
	}
	ping := func(want bool) func() error {
		return func() error {
			err := testenv.Ping(laptop, netip.MustParseAddr("203.0.113.10"))
			if (err == nil) != want {
				return fmt.Errorf("ping answered = %v, want %v (%v)", err == nil, want, err)
			}
			return nil
		}
	}
	w := "203.0.113.80:443"

	vector("TV-01", flTV("", flOutAll, "{rule: 50, protocol: tcp, ports: 443, cidr: 0.0.0.0/0, action: deny}, "+flAllowAll, flAllowAll),
		func() error { return tcpTry(a, 40000, netip.MustParseAddrPort(w), 3*time.Second) },
		[]rules.PathPacket{flTCP(0, "10.0.1.10:40000", w, syn), flTCP(1, w, "203.0.113.10:40000", synack),
			flTCP(2, "10.0.1.10:40000", w, ack), flTCP(3, "10.0.1.10:40000", w, finack),
			flTCP(4, w, "203.0.113.10:40000", finack), flTCP(5, "10.0.1.10:40000", w, ack)}, eniA)
	vector("TV-02", flTV("{protocol: tcp, ports: 443, cidr: 0.0.0.0/0}", flOutAll, "{rule: 50, protocol: tcp, ports: 443, cidr: 0.0.0.0/0, action: deny}, "+flAllowAll, flAllowAll),
		func() error {
			return refused(tcpTry(laptop, 51000, netip.MustParseAddrPort("203.0.113.10:443"), 1500*time.Millisecond))
		},
		[]rules.PathPacket{flTCP(0, "198.51.100.10:51000", "203.0.113.10:443", syn)}, eniA)
	vector("TV-03", flTV("", flOutAll, "{rule: 20, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: deny}, "+flAllowAll, flAllowAll),
		func() error { return refused(tcpTry(a, 40001, netip.MustParseAddrPort(w), 1500*time.Millisecond)) },
		[]rules.PathPacket{flTCP(0, "10.0.1.10:40001", w, syn), flTCP(1, w, "203.0.113.10:40001", synack)}, eniA)
	tv12 := func(sgIn, n1Out string, answered bool) (string, func() error, []rules.PathPacket) {
		return flTV(sgIn, "{protocol: tcp, ports: 443, cidr: 0.0.0.0/0}", flAllowAll, n1Out), ping(answered),
			[]rules.PathPacket{flPing(0, "198.51.100.10", "203.0.113.10", 8), flPing(1, "10.0.1.10", "198.51.100.10", 0)}
	}
	icmpIn := "{protocol: icmp, cidr: 0.0.0.0/0}"
	n1OutTCP := "{rule: 100, protocol: tcp, ports: 0-65535, cidr: 0.0.0.0/0, action: allow}"
	// TV-14 first: an echo TV-12 admits leaves a tracking entry that would
	// admit TV-14's request too (SG-27), as the model says for one sequence.
	y, act, pp := tv12("", n1OutTCP, false)
	vector("TV-14", y, act, pp[:1], eniA)
	y, act, pp = tv12(icmpIn, n1OutTCP, false)
	vector("TV-12", y, act, pp, eniA)
	y, act, pp = tv12(icmpIn, n1OutTCP+", {rule: 110, protocol: icmp, cidr: 0.0.0.0/0, action: allow}", true)
	vector("TV-13", y, act, pp, eniA)
	vector("TV-16", flTV("", flOutAll, flAllowAll, flAllowAll),
		func() error {
			return refused(tcpTry(a, 40002, netip.MustParseAddrPort("10.0.2.20:22"), 1500*time.Millisecond))
		},
		[]rules.PathPacket{flTCP(0, "10.0.1.10:40002", "10.0.2.20:22", syn)}, eniA, eniB)
	// TV-28: services no SG or NACL filters leave no record, even with no
	// rules at all on either.
	if err := l.ApplyTopology(flReparse(t, l, flTV("", "", "", ""))); err != nil {
		t.Fatal(err)
	}
	services := []string{"10.0.0.2", "169.254.169.253", "169.254.169.123", "169.254.169.254"}
	for _, dst := range services[:3] {
		if err := udpExchange(a, 0, netip.AddrPortFrom(netip.MustParseAddr(dst), 53), 1, 40, false); err != nil {
			t.Fatalf("TV-28: %v", err)
		}
	}
	_ = tcpTry(a, 0, netip.MustParseAddrPort("169.254.169.254:80"), 300*time.Millisecond)
	for _, r := range read() {
		if slices.Contains(services, r["dstaddr"]) || slices.Contains(services, r["srcaddr"]) {
			t.Errorf("TV-28: record of traffic no filter sees: %v", r)
		}
	}

	// TV-33: the version is the highest of the format's fields; traffic-path
	// is '-' on ingress and 1 on egress inside the VPC (TV-16's A -> B);
	// reject-reason is '-' for SG and NACL rejects (TV-14, TV-16).
	tv33 := map[string][]map[string]string{}
	for _, r := range all {
		for _, id := range []string{"fl-tv33b", "fl-tv33c", "fl-tv33d"} {
			if strings.Contains(r["_file"], "_"+id+"_") {
				tv33[id] = append(tv33[id], r)
			}
		}
	}
	for id, v := range map[string]string{"fl-tv33b": "5", "fl-tv33c": "7", "fl-tv33d": "8"} {
		if len(tv33[id]) == 0 {
			t.Errorf("TV-33: %s wrote no records", id)
		}
		for _, r := range tv33[id] {
			if r["version"] != v || r["vpc_id"] != "vpc-tv" {
				t.Errorf("TV-33: %s record %v, want version %s", id, r, v)
			}
			if r["flow_direction"] == "ingress" && r["traffic_path"] != "-" {
				t.Errorf("TV-33: %s ingress record with traffic-path %s", id, r["traffic_path"])
			}
			if id == "fl-tv33c" && r["ecs_task_id"] != "-" {
				t.Errorf("TV-33: ecs-task-id %q outside ECS", r["ecs_task_id"])
			}
			if id == "fl-tv33d" && r["reject_reason"] != "-" {
				t.Errorf("TV-33: reject-reason %q for an SG/NACL reject", r["reject_reason"])
			}
		}
	}
	// TV-16's A -> B: the only egress to a VPC address is traffic-path 1.
	if got := flSelect(tv33["fl-tv33b"], map[string]string{"flow_direction": "egress", "traffic_path": "1"}); len(got) == 0 {
		t.Error("TV-33: no egress record with traffic-path 1 (A -> B inside the VPC)")
	}

	// TV-32: i-c saw nothing; its 1 s flow log has ended windows by now.
	time.Sleep(1100 * time.Millisecond)
	quiet := flSelect(flRecords(t, l, seen), map[string]string{"interface_id": eniC})
	if len(quiet) == 0 {
		t.Fatal("TV-32: no record for the quiet ENI")
	}
	for _, r := range quiet {
		if r["log_status"] != "NODATA" || r["srcaddr"] != "-" || r["packets"] != "-" || r["action"] != "-" {
			t.Errorf("TV-32: quiet ENI record %v, want NODATA with '-' fields", r)
		}
		s, _ := strconv.Atoi(r["start"])
		e, _ := strconv.Atoi(r["end"])
		if e-s != 1 {
			t.Errorf("TV-32: NODATA window %d..%d, want the 1 s interval", s, e)
		}
	}

	// TV-34: AWS's S3 key names and the header line.
	key := regexp.MustCompile(`^AWSLogs/123456789012/vpcflowlogs/us-east-1/(\d{4})/(\d{2})/(\d{2})/123456789012_vpcflowlogs_us-east-1_(fl-0abc1234|fl-quiet|fl-tv33[bcd])_(\d{8})T(\d{4})Z_[0-9a-f]{8}\.log\.gz$`)
	if len(seen) == 0 {
		t.Fatal("TV-34: no files written")
	}
	for p := range seen {
		rel, _ := filepath.Rel(l.Paths().FlowLogs(), p)
		m := key.FindStringSubmatch(rel)
		if m == nil {
			t.Errorf("TV-34: key %s is not AWS's", rel)
			continue
		}
		if m[5] != m[1]+m[2]+m[3] {
			t.Errorf("TV-34: key %s: date folders and file date differ", rel)
		}
		head := flHeader(t, p)
		want := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
		switch m[4] {
		case "fl-0abc1234":
			want += " flow-direction tcp-flags type"
		case "fl-tv33b":
			want = "version vpc-id flow-direction traffic-path"
		case "fl-tv33c":
			want = "version vpc-id flow-direction traffic-path ecs-task-id"
		case "fl-tv33d":
			want = "version vpc-id flow-direction traffic-path reject-reason"
		}
		if head != want {
			t.Errorf("TV-34: %s header %q, want %q", rel, head, want)
		}
	}
}

// flHeader is the first line of a gzipped log file.
func flHeader(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	line, _ := bufio.NewReader(z).ReadString('\n')
	return strings.TrimSuffix(line, "\n")
}

// flScanYAML is one instance whose security group admits nothing.
const flScanYAML = `account: "123456789012"
region: us-east-1
vpc: {id: vpc-scan, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, az: us-east-1a, public: true}
security_groups:
  - {id: sg-closed, ingress: [], egress: []}
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, public_ip: 203.0.113.10, security_groups: [sg-closed]}
internet:
  - {name: scanner, ip: 198.51.100.10}
flow_logs:
  - {id: fl-scan, resource: vpc-scan, traffic_type: ALL, max_aggregation_interval: 600, log_format: "` + flTestFormat + `"}
`

// synScan sends one TCP SYN from ns (src:sport) to every port of ports on
// dst through a raw socket, paced so that no veth backlog overflows.
func synScan(ns string, src, dst netip.Addr, sport uint16, ports int) error {
	return netns.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP)
		if err != nil {
			return fmt.Errorf("raw socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{Addr: dst.As4()}
		seg := make([]byte, 20)
		for p := 1; p <= ports; p++ {
			binary.BigEndian.PutUint16(seg[0:], sport)
			binary.BigEndian.PutUint16(seg[2:], uint16(p))
			binary.BigEndian.PutUint32(seg[4:], uint32(p)*7919)
			seg[12], seg[13] = 5<<4, 0x02
			binary.BigEndian.PutUint16(seg[14:], 64240)
			seg[16], seg[17] = 0, 0
			binary.BigEndian.PutUint16(seg[16:], tcpChecksum(src, dst, seg))
			if err := unix.Sendto(fd, seg, 0, to); err != nil {
				return fmt.Errorf("syn to port %d: %w", p, err)
			}
			if p%64 == 0 {
				time.Sleep(200 * time.Microsecond)
			}
		}
		return nil
	})
}

func tcpChecksum(src, dst netip.Addr, seg []byte) uint16 {
	s, d := src.As4(), dst.As4()
	pseudo := append(append(append([]byte{}, s[:]...), d[:]...), 0, 6, byte(len(seg)>>8), byte(len(seg)))
	var sum uint32
	for _, b := range [][]byte{pseudo, seg} {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// A port scan of every TCP port yields one REJECT record per port; with a
// flow table too small for it, the ports without a record are covered by
// a SKIPDATA record of the ENI's window: never a silently missing record.
func TestFlowLogsPortScan(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		name        string
		table       int
		ports       int
		wantAllRecs bool
	}{
		{"all ports, default table", 0, 65535, true},
		// more than a CPU's 512-flow log and the 512-flow table
		// hold, even if the scan's packets spread over two CPUs
		{"small table", 512, 16384, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topo := testenv.Topology(t, flScanYAML)
			l := flUp(t, topo, Options{FlowTableSize: tc.table})
			eni := flENI(t, topo, "i-a")
			src := netip.MustParseAddr("198.51.100.10")
			if err := synScan(flNS(t, l, "scanner"), src, netip.MustParseAddr("203.0.113.10"), 40000, tc.ports); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the last SYNs through the veths
			recs := flRecords(t, l, map[string]bool{})
			perPort := map[int]int64{}
			skip := false
			for _, r := range recs {
				if r["interface_id"] != eni {
					continue
				}
				if r["log_status"] == "SKIPDATA" {
					skip = true
					continue
				}
				if r["action"] != "REJECT" || r["flow_direction"] != "ingress" || r["srcaddr"] != src.String() || r["tcp_flags"] != "2" {
					t.Fatalf("unexpected record %v", r)
				}
				p, _ := strconv.Atoi(r["dstport"])
				perPort[p] += flSum(t, []map[string]string{r}, "packets")
			}
			for p, n := range perPort {
				if n != 1 {
					t.Errorf("port %d: %d packets, want 1", p, n)
				}
			}
			missing := tc.ports - len(perPort)
			t.Logf("%d ports with a record, %d without, SKIPDATA: %v", len(perPort), missing, skip)
			switch {
			case missing > 0 && !skip:
				t.Errorf("%d ports have no record and there is no SKIPDATA record", missing)
			case tc.wantAllRecs && (missing != 0 || skip):
				t.Errorf("table large enough, yet %d ports without a record (SKIPDATA %v)", missing, skip)
			case !tc.wantAllRecs && !skip:
				t.Errorf("a %d-flow table held a %d-port scan without SKIPDATA", tc.table, tc.ports)
			}
		})
	}
}

// flIperfYAML: a client in one subnet, an iperf3 server in another.
const flIperfYAML = `account: "123456789012"
region: us-east-1
vpc: {id: vpc-perf, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, az: us-east-1a}
  - {id: subnet-b, cidr: 10.0.2.0/24, az: us-east-1b}
security_groups:
  - id: sg-client
    ingress: []
    egress: [{protocol: all, cidr: 0.0.0.0/0}]
  - id: sg-server
    ingress: [{protocol: tcp, ports: 5201, cidr: 10.0.1.0/24}, {protocol: udp, ports: 5202, cidr: 10.0.1.0/24}]
    egress: [{protocol: all, cidr: 0.0.0.0/0}]
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, security_groups: [sg-client]}
  - {id: i-b, subnet: subnet-b, private_ip: 10.0.2.20, security_groups: [sg-server]}
flow_logs:
  - {id: fl-perf, resource: vpc-perf, traffic_type: ALL, max_aggregation_interval: 600, log_format: "` + flTestFormat + `"}
`

// nstatCounter reads one counter of namespace ns (nstat -a: absolute).
func nstatCounter(t *testing.T, ns, name string) int64 {
	t.Helper()
	out, err := testenv.Exec(t, ns, "nstat", "-asz", name)
	if err != nil {
		t.Fatalf("nstat: %v", err)
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("nstat: %q", line)
			}
			return n
		}
	}
	t.Fatalf("nstat printed no %s: %q", name, out)
	return 0
}

// Under iperf3 transfers the receiving ENI's ingress packets are exactly
// the TCP segments that crossed the wire. Two views of "exactly":
//   - with TSO/GSO (the default), the veths carry super-packets whole and
//     this kernel's TcpInSegs counts one per received skb (in a first run:
//     974 wire segments arrived as 198 skbs), so the exact reference is the
//     sender's TcpOutSegs, which counts every segment of a TSO packet;
//   - with TSO/GSO off at the sender every skb is one wire segment, and
//     the flow log equals the receiver's own TcpInSegs, as the issue asks.
func TestFlowLogsIperfSegments(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, flIperfYAML)
	l := flUp(t, topo, Options{})
	eniB := flENI(t, topo, "i-b")
	a, b := flNS(t, l, "i-a"), flNS(t, l, "i-b")
	seen := map[string]bool{}
	flRecords(t, l, seen)
	run := func(name string) (flowPkts, inSegs, outSegs int64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv := exec.CommandContext(ctx, "ip", "netns", "exec", b, "iperf3", "-s", "-1", "-p", "5201")
		if err := srv.Start(); err != nil {
			t.Fatalf("%s: iperf3 server: %v", name, err)
		}
		defer srv.Wait()
		// Wait for the listener without connecting to it (a probe would count).
		for i := 0; ; i++ {
			out, _ := testenv.Exec(t, b, "ss", "-Hltn", "sport = :5201")
			if strings.Contains(out, "LISTEN") {
				break
			}
			if i == 100 {
				t.Fatalf("%s: iperf3 server does not listen", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// TcpOutSegs leaves retransmissions out; the wire (and the flow
		// log) has them
		in0, out0 := nstatCounter(t, b, "TcpInSegs"), nstatCounter(t, a, "TcpOutSegs")+nstatCounter(t, a, "TcpRetransSegs")
		if out, err := testenv.Exec(t, a, "iperf3", "-c", "10.0.2.20", "-p", "5201", "-n", "8M"); err != nil {
			t.Fatalf("%s: iperf3 client: %v\n%s", name, err, out)
		}
		if err := srv.Wait(); err != nil {
			t.Fatalf("%s: iperf3 server: %v", name, err)
		}
		// Both ends have closed; the last ACK of the close may still be on a veth.
		time.Sleep(200 * time.Millisecond)
		inSegs, outSegs = nstatCounter(t, b, "TcpInSegs")-in0, nstatCounter(t, a, "TcpOutSegs")+nstatCounter(t, a, "TcpRetransSegs")-out0
		recs := flSelect(flRecords(t, l, seen), map[string]string{"interface_id": eniB, "flow_direction": "ingress", "protocol": "6"})
		if len(recs) == 0 {
			t.Fatalf("%s: no ingress TCP record on the server's ENI", name)
		}
		for _, r := range recs {
			if r["action"] != "ACCEPT" || r["dstport"] != "5201" {
				t.Errorf("%s: unexpected record %v", name, r)
			}
		}
		flowPkts = flSum(t, recs, "packets")
		t.Logf("%s: flow log %d packets, %d bytes; receiver TcpInSegs +%d, sender TcpOutSegs+TcpRetransSegs +%d",
			name, flowPkts, flSum(t, recs, "bytes"), inSegs, outSegs)
		return flowPkts, inSegs, outSegs
	}

	pkts, _, out := run("TSO/GSO on")
	if pkts != out {
		t.Errorf("TSO/GSO on: server ENI ingress packets = %d, sender's TcpOutSegs+TcpRetransSegs grew by %d", pkts, out)
	}
	if _, err := testenv.Exec(t, a, "ethtool", "-K", "eth0", "tso", "off", "gso", "off"); err != nil {
		t.Fatalf("ethtool: %v", err)
	}
	pkts, in, out := run("TSO/GSO off")
	if pkts != in || pkts != out {
		t.Errorf("TSO/GSO off: server ENI ingress packets = %d, receiver's TcpInSegs +%d, sender's TcpOutSegs+TcpRetransSegs +%d", pkts, in, out)
	}
}

// flTV24YAML: spec TV-24's dual-stack VPC; N1 is the default NACL, N2 allows
// all of IPv4 only.
const flTV24YAML = `account: "123456789012"
region: us-east-1
vpc: {id: vpc-ds, cidr: 10.0.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:0:1::/64", az: us-east-1a}
  - {id: subnet-b, cidr: 10.0.2.0/24, ipv6_cidr: "2001:db8:0:2::/64", az: us-east-1b, network_acl: acl-n2}
security_groups:
  - id: sg-a
    ingress: []
    egress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, ipv6_cidr: "::/0"}]
  - id: sg-b
    ingress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, ipv6_cidr: "::/0"}]
    egress: [{protocol: all, cidr: 0.0.0.0/0}, {protocol: all, ipv6_cidr: "::/0"}]
network_acls:
  - id: acl-n2
    ingress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]
    egress: [{rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}]
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, ipv6: "2001:db8:0:1::10", security_groups: [sg-a]}
  - {id: i-b, subnet: subnet-b, private_ip: 10.0.2.20, ipv6: "2001:db8:0:2::20", security_groups: [sg-b]}
flow_logs:
  - {id: fl-ds, resource: vpc-ds, traffic_type: ALL, max_aggregation_interval: 600, log_format: "` + flTestFormat + `"}
`

// TV-24: IPv4 and IPv6 to the same port; N2 has no IPv6 rule, so the IPv6
// SYNs meet its IPv6 "*" (32768): eni-b logs ingress ACCEPT of type IPv4
// and ingress REJECT of type IPv6, as the reference evaluator predicts.
func TestFlowLogsTV24(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, flTV24YAML)
	l := flUp(t, topo, Options{})
	eniA, eniB := flENI(t, topo, "i-a"), flENI(t, topo, "i-b")
	a := flNS(t, l, "i-a")
	// Nothing listens on B:22: IPv4 gets a RST back, IPv6 nothing.
	if err := tcpTry(a, 40010, netip.MustParseAddrPort("10.0.2.20:22"), 1500*time.Millisecond); err == nil || isTimeout(err) {
		t.Fatalf("IPv4 to a closed port: %v, want connection refused", err)
	}
	// Under the 1 s SYN retransmission: one SYN, so one record even when an
	// aggregation window closes during the attempt.
	if err := tcpTry(a, 40011, netip.MustParseAddrPort("[2001:db8:0:2::20]:22"), 700*time.Millisecond); !isTimeout(err) {
		t.Fatalf("IPv6 through N2: %v, want a timeout", err)
	}
	recs := flRecords(t, l, map[string]bool{})
	pred := rules.PredictFlowLog(topo, []rules.PathPacket{
		flTCP(0, "10.0.1.10:40010", "10.0.2.20:22", 0x02), flTCP(1, "10.0.2.20:22", "10.0.1.10:40010", 0x14),
		flTCP(2, "[2001:db8:0:1::10]:40011", "[2001:db8:0:2::20]:22", 0x02)})
	flCompare(t, "TV-24", recs, pred, eniA, eniB)
	for _, c := range []struct{ typ, action string }{{"IPv4", "ACCEPT"}, {"IPv6", "REJECT"}} {
		if got := flSelect(recs, map[string]string{"interface_id": eniB, "flow_direction": "ingress", "type": c.typ}); len(got) != 1 || got[0]["action"] != c.action {
			t.Errorf("TV-24: eni-b ingress %s records %v, want one %s", c.typ, got, c.action)
		}
	}
}
