package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/capture"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

func upForCapture(t *testing.T, topo *vpc.Topology) *Lab {
	t.Helper()
	opts := testOptions(t)
	t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
	l, err := Up(context.Background(), topo, "", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// collect gathers a session's packets until stop.
func collect(c *CaptureSession, stop <-chan struct{}) <-chan []*capture.Packet {
	out := make(chan []*capture.Packet, 1)
	go func() {
		var got []*capture.Packet
		for {
			select {
			case p := <-c.Packets:
				got = append(got, p)
			case <-stop:
				for {
					select {
					case p := <-c.Packets:
						got = append(got, p)
					default:
						out <- got
						return
					}
				}
			}
		}
	}()
	return out
}

func synsTo(ps []*capture.Packet, dst string, port int) (n int, dirs []capture.Direction) {
	for _, p := range ps {
		l := capture.Line(p)
		if strings.Contains(l, fmt.Sprintf("> %s.%d: Flags [S]", dst, port)) {
			n++
			dirs = append(dirs, p.Dir)
		}
	}
	return n, dirs
}

// A subnet's edge and the internet gateway, captured at once: both see the
// laptop's SYN to i-web inbound, the gateway with the private address (the
// VPC side of its NAT); an unknown target attaches nothing.
func TestCaptureSubnetAndGateway(t *testing.T) {
	testenv.RequireRoot(t)
	l := upForCapture(t, testenv.Lab(t))
	if _, err := l.StartCapture("subnet-nope", false); err == nil || !strings.Contains(err.Error(), "subnet-public") {
		t.Errorf("unknown target: %v", err)
	}
	sn, err := l.StartCapture("subnet-public", false)
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	gw, err := l.StartCapture("igw", false)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	stop := make(chan struct{})
	snC, gwC := collect(sn, stop), collect(gw, stop)
	laptop := l.Plan().Hosts[0].NS
	if _, err := testenv.Exec(t, laptop, "curl", "-s", "--max-time", "5", "http://203.0.113.10/"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	for name, ch := range map[string]<-chan []*capture.Packet{"subnet-public": snC, "igw": gwC} {
		got := <-ch
		n, dirs := synsTo(got, "10.0.1.10", 80)
		if n != 1 || dirs[0] != capture.Inbound {
			t.Errorf("%s: %d SYNs to 10.0.1.10:80 (%v) in %d packets, want 1 inbound", name, n, dirs, len(got))
		}
	}
}

// A busy ENI: at a moderate rate the capture holds every packet; when its
// reader stalls, what it misses is counted, so captured + lost = sent.
func TestCaptureCountsWhatItLoses(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, `
vpc: {id: vpc-c, cidr: 10.0.0.0/16}
subnets:
  - {id: sn-c, cidr: 10.0.1.0/24}
security_groups:
  - id: sg-all
    ingress:
      - {protocol: udp, ports: 9000, cidr: 10.0.0.0/16}
instances:
  - {id: i-a, subnet: sn-c, private_ip: 10.0.1.10, security_groups: [sg-all]}
  - {id: i-b, subnet: sn-c, private_ip: 10.0.1.20, security_groups: [sg-all]}
`)
	l := upForCapture(t, topo)
	send := func(n int, pace time.Duration) {
		t.Helper()
		err := netns.Do(l.Plan().Instances[0].NS, func() error {
			c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.0.1.20:9000")))
			if err != nil {
				return err
			}
			defer c.Close()
			msg := make([]byte, 18) // 64-byte frames
			for i := range n {
				if _, err := c.Write(msg); err != nil {
					return fmt.Errorf("datagram %d: %w", i, err)
				}
				if pace > 0 && i%100 == 99 {
					time.Sleep(pace)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(ps []*capture.Packet) int {
		n := 0
		for _, p := range ps {
			if strings.Contains(capture.Line(p), "> 10.0.1.20.9000: UDP") {
				n++
			}
		}
		return n
	}

	// 20,000 datagrams at about 100,000/s, read as they come.
	c, err := l.StartCapture("i-b", false)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	got := collect(c, stop)
	send(20000, time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	if n, lost := count(<-got), c.Lost(); n != 20000 || lost != 0 {
		t.Errorf("paced: captured %d of 20000, lost %d; want all, none lost", n, lost)
	}
	c.Close()

	// 300,000 datagrams as fast as they go, while nobody reads: the queue
	// and the ring fill, the rest is counted as lost.
	c, err = l.StartCapture("i-b", false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const flood = 300000
	send(flood, 0)
	time.Sleep(300 * time.Millisecond)
	stop = make(chan struct{})
	got = collect(c, stop)
	time.Sleep(2 * time.Second) // drain the ring
	close(stop)
	n, lost := count(<-got), c.Lost()
	if lost == 0 || uint64(n)+lost < flood || uint64(n)+lost > flood+10 {
		t.Errorf("stalled: captured %d, lost %d: want some lost and the two to add up to %d (+ a few ARP/ND frames)", n, lost, flood)
	}
	t.Logf("stalled reader: captured %d, lost %d of %d", n, lost, flood)
}
