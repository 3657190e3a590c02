package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/netns"
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
			return in.ENI
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

var _ = slices.Contains[[]string]

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
	recs = flRecords(t, l, seen)
	attempts := flSelect(recs, map[string]string{"srcaddr": "192.0.2.66", "dstport": "22"})
	if len(attempts) == 0 {
		t.Fatalf("no record of the stranger's attempts among %v", recs)
	}
	for _, r := range attempts {
		if r["action"] != "REJECT" || r["tcp_flags"] != "2" || r["flow_direction"] != "ingress" {
			t.Errorf("stranger's attempt: %s %s tcp-flags %s, want ingress REJECT tcp-flags 2", r["flow_direction"], r["action"], r["tcp_flags"])
		}
	}
	if len(flSelect(recs, map[string]string{"srcaddr": "10.0.1.10", "dstaddr": "192.0.2.66"})) != 0 {
		t.Error("i-web answered the rejected stranger")
	}
}

func servicesSSH(l *Lab, ns, addr string) *exec.Cmd {
	return services.SSHCommand(l.Paths().Run, ns, addr, []string{"true"})
}
