package metrics

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
)

// A routed VPC: A in the private subnet Q reaches the internet through
// nat-n in the public subnet P; S on the internet echoes UDP 7. nat-n
// keeps at most 2 mappings per destination (NGW-7's limit lowered).
const ngwTopology = `
account: "123456789012"
region: us-east-1
limits: {nat_connections_per_destination: 2}
vpcs:
  - {id: vpc-n, cidr: 10.0.0.0/16}
subnets:
  - {id: P, vpc: vpc-n, cidr: 10.0.1.0/24, route_table: rtb-p}
  - {id: Q, vpc: vpc-n, cidr: 10.0.2.0/24, route_table: rtb-q}
internet_gateways:
  - {id: igw-n, vpc: vpc-n}
elastic_ips:
  - {id: eipalloc-ngw, public_ip: 203.0.113.100}
nat_gateways:
  - {id: nat-n, subnet: P, eni: eni-ngw, private_ip: 10.0.1.100, elastic_ip: eipalloc-ngw}
route_tables:
  - {id: rtb-main, vpc: vpc-n, main: true}
  - id: rtb-p
    vpc: vpc-n
    routes: [{destination: 0.0.0.0/0, target: igw-n}]
  - id: rtb-q
    vpc: vpc-n
    routes: [{destination: 0.0.0.0/0, target: nat-n}]
security_groups:
  - id: sgA
    vpc: vpc-n
    ingress: []
    egress: [{protocol: all, cidr: 0.0.0.0/0}]
instances:
  - {id: A, eni: eni-a, subnet: Q, private_ip: 10.0.2.20, security_groups: [sgA]}
internet:
  - {name: S, ip: 203.0.113.80, services: ["udp:7"]}
`

// holdTCP accepts TCP connections on port in ns and keeps them open until
// the test ends.
func holdTCP(t *testing.T, ns string, port int) {
	t.Helper()
	var ln net.Listener
	if err := netns.Do(ns, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(conns)
		for c := range conns {
			c.Close()
		}
	})
}

func dialTCP(ns string, lport int, dst string) (net.Conn, error) {
	var c net.Conn
	err := netns.Do(ns, func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{Port: lport}}
		c, err = d.Dial("tcp4", dst)
		return err
	})
	return c, err
}

// natStatus is nat-n's counters as `vpcemu status` reads them.
func natStatus(t *testing.T, l *lab.Lab) loader.NATStats {
	t.Helper()
	for _, g := range l.Status().Gateways {
		if g.ID == "nat-n" {
			if g.NAT == nil {
				t.Fatal("status: nat-n has no counters")
			}
			return *g.NAT
		}
	}
	t.Fatal("status: no nat-n")
	return loader.NATStats{}
}

// checkNAT compares every NAT gateway metric of nat-n in mfs with want
// (CloudWatch's names) and with the status' counters.
func checkNAT(t *testing.T, step string, mfs map[string]*dto.MetricFamily, st loader.NATStats, want map[string]uint64) {
	t.Helper()
	labels := map[string]string{"nat_gateway_id": "nat-n", "vpc_id": "vpc-n"}
	for _, m := range natMetrics {
		got := value(t, mfs, m.name, labels)
		if w, ok := want[m.cloudWatch]; ok && got != float64(w) {
			t.Errorf("%s: %s (%s) = %v, want %d", step, m.name, m.cloudWatch, got, w)
		}
		if s := m.value(&st); got != float64(s) {
			t.Errorf("%s: %s = %v, status shows %s %d", step, m.name, got, m.cloudWatch, s)
		}
	}
}

// /metrics after known traffic through a NAT gateway holds exactly that
// traffic's counts under CloudWatch's names (NGW-15), the counters `vpcemu
// status` shows.
func TestMetricsNATGatewayKnownTraffic(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, ngwTopology)
	dir := t.TempDir()
	opts := lab.Options{RunRoot: dir + "/run", DataRoot: dir + "/data"}
	t.Cleanup(func() { _ = lab.Down(topo.Name, true, opts) })
	l, err := lab.Up(context.Background(), topo, "", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := l.Plan()
	a, s := hostNS(t, p, "A"), hostNS(t, p, "S")
	echo := netip.MustParseAddrPort("203.0.113.80:7")

	// UDP: two flows to S:7 use up the destination's 2 mappings (5 and 1
	// echoed datagrams); a third flow's datagram finds no port.
	const size = 100
	wire := uint64(20 + 8 + size)
	if err := sendUDP(a, 41000, echo, 5, size, true); err != nil {
		t.Fatal(err)
	}
	if err := sendUDP(a, 41001, echo, 1, size, true); err != nil {
		t.Fatal(err)
	}
	if err := sendUDP(a, 41002, echo, 1, size, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the last datagram reaches nat-n
	mfs := scrape(t, l, Options{})
	checkNAT(t, "udp", mfs, natStatus(t, l), map[string]uint64{
		"PacketsInFromSource": 7, "BytesInFromSource": 7 * wire,
		"PacketsOutToDestination": 6, "BytesOutToDestination": 6 * wire,
		"PacketsInFromDestination": 6, "BytesInFromDestination": 6 * wire,
		"PacketsOutToSource": 6, "BytesOutToSource": 6 * wire,
		"ErrorPortAllocation": 1, "PacketsDropCount": 1,
		"ConnectionAttemptCount": 0, "ConnectionEstablishedCount": 0, "ActiveConnectionCount": 0, "IdleTimeoutCount": 0,
	})

	// TCP: two connections to S:7000 held open, one to S:7001 closed by
	// both ends: 3 attempts, 3 established, 2 active.
	holdTCP(t, s, 7000)
	holdTCP(t, s, 7001)
	for i := range 2 {
		c, err := dialTCP(a, 42000+i, "203.0.113.80:7000")
		if err != nil {
			t.Fatalf("A -> S:7000 (%d): %v", i, err)
		}
		defer c.Close()
	}
	c, err := dialTCP(a, 42002, "203.0.113.80:7001")
	if err != nil {
		t.Fatalf("A -> S:7001: %v", err)
	}
	c.Close()
	time.Sleep(100 * time.Millisecond) // A's FIN reaches nat-n
	mfs = scrape(t, l, Options{})
	checkNAT(t, "tcp", mfs, natStatus(t, l), map[string]uint64{
		"ConnectionAttemptCount": 3, "ConnectionEstablishedCount": 3, "ActiveConnectionCount": 2,
		"ErrorPortAllocation": 1, "PacketsDropCount": 1, "IdleTimeoutCount": 0,
	})
}
