package metrics

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// A throwaway topology: i-web behind acl-web, whose rule 20 denies UDP
// 9999 inbound; sg-web admits UDP 7 (an echo service) and 9999 from
// anywhere and lets out HTTPS only (so the echo flows are tracked); i-web
// tracks at most 2 connections.
const labTopology = `
vpc: {id: vpc-m, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-web, cidr: 10.0.1.0/24, public: true, network_acl: acl-web}
security_groups:
  - id: sg-web
    ingress:
      - {protocol: udp, ports: 7, cidr: 0.0.0.0/0}
      - {protocol: udp, ports: 9999, cidr: 0.0.0.0/0}
    egress:
      - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}
network_acls:
  - id: acl-web
    ingress:
      - {rule: 20, protocol: udp, ports: 9999, cidr: 0.0.0.0/0, action: deny}
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
instances:
  - id: i-web
    subnet: subnet-web
    private_ip: 10.0.1.10
    public_ip: 203.0.113.10
    security_groups: [sg-web]
    services: ["udp:7"]
    conntrack: {max_entries: 2}
internet:
  - {name: laptop, ip: 198.51.100.10}
  - {name: stranger, ip: 192.0.2.66}
flow_logs:
  - {id: fl-m, resource: vpc-m, traffic_type: ALL, max_aggregation_interval: 60}
`

func hostNS(t *testing.T, p *vpc.Plan, id string) string {
	t.Helper()
	for _, hp := range append(append([]vpc.HostPlan{}, p.Instances...), p.Hosts...) {
		if hp.ID == id {
			return hp.NS
		}
	}
	t.Fatalf("no host %s", id)
	return ""
}

// sendUDP sends n datagrams of size bytes from ns, local port lport, to
// dst; with echo it waits for each one's echo.
func sendUDP(ns string, lport int, dst netip.AddrPort, n, size int, echo bool) error {
	return netns.Do(ns, func() error {
		c, err := net.DialUDP("udp", &net.UDPAddr{Port: lport}, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return err
		}
		defer c.Close()
		msg, buf := make([]byte, size), make([]byte, size+1)
		for i := range n {
			msg[0] = byte(i)
			if _, err := c.Write(msg); err != nil {
				return fmt.Errorf("datagram %d: %w", i, err)
			}
			if !echo {
				time.Sleep(time.Millisecond)
				continue
			}
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if m, err := c.Read(buf); err != nil || m != size {
				return fmt.Errorf("echo of datagram %d: %d bytes, %v", i, m, err)
			}
		}
		return nil
	})
}

// /metrics after known traffic holds exactly that traffic's counts: the
// datapath's own counters, as `vpcemu status` shows them.
func TestMetricsAfterKnownTraffic(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, labTopology)
	dir := t.TempDir()
	opts := lab.Options{RunRoot: dir + "/run", DataRoot: dir + "/data"}
	t.Cleanup(func() { _ = lab.Down(topo.Name, true, opts) })
	l, err := lab.Up(context.Background(), topo, "", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := l.Plan()
	web := netip.MustParseAddr("203.0.113.10")

	const denied, size = 7, 100
	if err := sendUDP(hostNS(t, p, "stranger"), 41000, netip.AddrPortFrom(web, 9999), denied, size, false); err != nil {
		t.Fatal(err)
	}
	// Two tracked flows of 3 echoed datagrams each use up the allowance of 2;
	// a third flow's 4 datagrams are dropped at the allowance.
	laptop := hostNS(t, p, "laptop")
	for _, port := range []int{41001, 41002} {
		if err := sendUDP(laptop, port, netip.AddrPortFrom(web, 7), 3, size, true); err != nil {
			t.Fatal(err)
		}
	}
	const overAllowance = 4
	if err := sendUDP(laptop, 41003, netip.AddrPortFrom(web, 7), overAllowance, size, false); err != nil {
		t.Fatal(err)
	}
	// sg-web admits no UDP 8888 (acl-web's rule 100 does).
	const mismatch = 3
	if err := sendUDP(laptop, 41004, netip.AddrPortFrom(web, 8888), mismatch, size, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the last datagrams reach the SG
	if err := l.FlushFlowLogs(); err != nil {
		t.Fatal(err)
	}

	mfs := scrape(t, l, Options{Version: "test"})
	wire := float64(20 + 8 + size) // IP bytes of one datagram
	eni := topo.Instances[0].ENI.ID
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"vpcemu_nacl_rule_packets_total", map[string]string{"network_acl_id": "acl-web", "direction": "inbound", "rule": "20", "action": "deny"}, denied},
		{"vpcemu_nacl_rule_bytes_total", map[string]string{"network_acl_id": "acl-web", "direction": "inbound", "rule": "20", "action": "deny"}, denied * wire},
		// 6 echoed, 4 over the allowance and 3 to 8888 pass the NACL; the SG drops 7.
		{"vpcemu_nacl_rule_packets_total", map[string]string{"network_acl_id": "acl-web", "direction": "inbound", "rule": "100"}, 6 + overAllowance + mismatch},
		{"vpcemu_sg_dropped_packets_total", map[string]string{"eni": eni, "instance": "i-web", "reason": "CONNTRACK_ALLOWANCE_EXCEEDED"}, overAllowance},
		{"vpcemu_sg_dropped_packets_total", map[string]string{"eni": eni, "instance": "i-web", "reason": "ENI_SG_RULES_MISMATCH"}, mismatch},
		{"vpcemu_nacl_rule_packets_total", map[string]string{"network_acl_id": "acl-web", "direction": "outbound", "rule": "100"}, 6},
		{"vpcemu_nacl_rule_packets_total", map[string]string{"network_acl_id": "acl-web", "direction": "inbound", "rule": "*", "family": "ipv4"}, 0},
		{"vpcemu_conntrack_tracked_connections", map[string]string{"eni": eni}, 2},
		{"vpcemu_conntrack_allowance_available", map[string]string{"eni": eni, "instance": "i-web"}, 0},
		{"vpcemu_conntrack_allowance_exceeded_total", map[string]string{"eni": eni}, overAllowance},
		{"vpcemu_drop_events_lost_total", nil, 0},
	} {
		if got := value(t, mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Flow-log records: as many OK records as the files hold.
	recs, err := flowlog.ReadDir(l.Paths().FlowLogs())
	if err != nil {
		t.Fatal(err)
	}
	byStatus := map[string]float64{}
	for _, r := range recs {
		byStatus[r["log_status"]]++
	}
	if byStatus["OK"] == 0 {
		t.Fatalf("no OK flow-log record written: %v", recs)
	}
	for _, s := range []string{"OK", "NODATA", "SKIPDATA"} {
		if got := value(t, mfs, "vpcemu_flow_log_records_total", map[string]string{"flow_log_id": "fl-m", "log_status": s}); got != byStatus[s] {
			t.Errorf("flow_log_records_total{log_status=%q} = %v, the files hold %v", s, got, byStatus[s])
		}
	}

	// `vpcemu status` reads the same counters.
	st := l.Status()
	for _, n := range st.NACLs {
		for _, r := range n.Rules {
			if r.Number == 20 && r.Packets != denied {
				t.Errorf("status: rule 20 hit %d times, want %d", r.Packets, denied)
			}
		}
	}
}
