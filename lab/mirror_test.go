package lab

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpcemu/vpcemu/capture"
	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/testenv"
)

// TV-38's shape with real traffic. i-web (10.0.1.10) is the source: session
// 10 mirrors inbound TCP 80 to t1 (i-t1, same subnet, VNI 100); session 20
// mirrors all inbound TCP to t2 (i-t2 in another subnet, VNI 200, 100
// bytes). Neither filter has outbound rules. sg-web admits 80 and 8080, not
// 22. i-app mirrors everything to t3, whose SG lacks UDP 4789.
const mirrorTopo = `
vpc: {id: vpc-m, cidr: 10.0.0.0/16}
subnets:
  - {id: sn-web, cidr: 10.0.1.0/24, public: true}
  - {id: sn-mon, cidr: 10.0.3.0/24}
security_groups:
  - id: sg-web
    ingress:
      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}
      - {protocol: tcp, ports: 8080-8081, cidr: 0.0.0.0/0}
  - id: sg-mon
    ingress:
      - {protocol: udp, ports: 4789, cidr: 10.0.1.0/24}
  - id: sg-closed
    ingress:
      - {protocol: tcp, ports: 22, cidr: 10.0.0.0/16}
instances:
  - {id: i-web, subnet: sn-web, private_ip: 10.0.1.10, public_ip: 203.0.113.10, security_groups: [sg-web], services: [http, "tcp:8080", "tcp:8081"]}
  - {id: i-app, subnet: sn-web, private_ip: 10.0.1.11, public_ip: 203.0.113.11, security_groups: [sg-web], services: [http]}
  - {id: i-t1, subnet: sn-web, private_ip: 10.0.1.21, security_groups: [sg-mon]}
  - {id: i-t2, subnet: sn-mon, private_ip: 10.0.3.22, security_groups: [sg-mon]}
  - {id: i-t3, subnet: sn-web, private_ip: 10.0.1.23, security_groups: [sg-closed]}
internet:
  - {name: laptop, ip: 198.51.100.10}
flow_logs:
  - {id: fl-m, resource: vpc-m, max_aggregation_interval: 60}
traffic_mirror:
  targets:
    - {id: t1, network_interface: i-t1}
    - {id: t2, network_interface: i-t2}
    - {id: t3, network_interface: i-t3}
  filters:
    - id: f1
      inbound:
        - {rule: 10, action: accept, protocol: tcp, destination_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
        - {rule: 20, action: accept, protocol: tcp, destination_ports: 8081, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
    - id: f2
      inbound:
        - {rule: 10, action: accept, protocol: tcp, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
    - id: fall
      inbound:
        - {rule: 1, action: accept, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
      outbound:
        - {rule: 1, action: accept, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
  sessions:
    - {id: s20, source: i-web, target: t2, filter: f2, session_number: 20, vni: 200, packet_length: 100}
    - {id: s10, source: i-web, target: t1, filter: f1, session_number: 10, vni: 100}
    - {id: s30, source: i-app, target: t3, filter: fall, session_number: 1, vni: 300}
`

// mirrored is one VXLAN copy as its target received it.
type mirrored struct {
	outerSrc, outerDst netip.Addr
	udpDst             int
	vni                uint32
	innerLen           int // bytes after the VXLAN header
	innerSrc, innerDst netip.Addr
	innerDport         int
	verdict            string
}

func decodeMirrored(t *testing.T, ps []*capture.Packet) (out []mirrored, other int) {
	t.Helper()
	for _, p := range ps {
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
		vx, _ := pkt.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if vx == nil || ip == nil || udp == nil {
			other++
			continue
		}
		m := mirrored{udpDst: int(udp.DstPort), vni: vx.VNI, innerLen: len(vx.Payload), verdict: p.Verdict}
		m.outerSrc, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		m.outerDst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		inner := gopacket.NewPacket(vx.Payload, layers.LayerTypeEthernet, gopacket.Default)
		if iip, ok := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			m.innerSrc, _ = netip.AddrFromSlice(iip.SrcIP.To4())
			m.innerDst, _ = netip.AddrFromSlice(iip.DstIP.To4())
		}
		if tcp, ok := inner.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
			m.innerDport = int(tcp.DstPort)
		}
		out = append(out, m)
	}
	return out, other
}

func TestTrafficMirroring(t *testing.T) {
	testenv.RequireRoot(t)
	l := upForCapture(t, testenv.Topology(t, mirrorTopo))
	stop := make(chan struct{})
	var got = map[string]<-chan []*capture.Packet{}
	for _, target := range []string{"i-t1", "i-t2"} {
		c, err := l.StartCapture(target, false)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got[target] = collect(c, stop)
	}
	c3, err := l.StartCapture("i-t3", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	got["i-t3"] = collect(c3, stop)

	laptop := l.Plan().Hosts[0].NS
	for _, args := range [][]string{
		{"curl", "-s", "--max-time", "5", "http://203.0.113.10/"},                                         // :80 -> t1
		{"curl", "-s", "--max-time", "5", "--data-binary", "@/etc/services", "http://203.0.113.10:8080/"}, // :8080 -> t2, cut to 100 bytes
		{"curl", "-s", "--max-time", "5", "http://203.0.113.11/"},                                         // i-app -> t3, whose SG drops it
		{"bash", "-c", "head -c 300000 /dev/zero >/dev/tcp/203.0.113.10/8081"},                            // :8081 -> t1, jumbo segments (a raw stream: the echo server reads it all)
	} {
		if _, err := testenv.Exec(t, laptop, args...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	// :22 is dropped by sg-web: never mirrored (TM-12).
	_, _ = testenv.Exec(t, laptop, "curl", "-s", "--connect-timeout", "0.5", "telnet://203.0.113.10:22")
	time.Sleep(300 * time.Millisecond)
	close(stop)

	web, t1, t2 := netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.1.21"), netip.MustParseAddr("10.0.3.22")
	m1, _ := decodeMirrored(t, <-got["i-t1"])
	m2, _ := decodeMirrored(t, <-got["i-t2"])
	m3, _ := decodeMirrored(t, <-got["i-t3"])

	t.Run("TM-8 VXLAN on UDP 4789 from the source ENI to the target, the session's VNI", func(t *testing.T) {
		for name, ms := range map[string][]mirrored{"t1": m1, "t2": m2} {
			if len(ms) == 0 {
				t.Fatalf("%s received no mirrored packet", name)
			}
			for _, m := range ms {
				want := map[string]struct {
					dst netip.Addr
					vni uint32
				}{"t1": {t1, 100}, "t2": {t2, 200}}[name]
				if m.udpDst != 4789 || m.outerSrc != web || m.outerDst != want.dst || m.vni != want.vni {
					t.Errorf("%s: %+v, want UDP 4789 %s > %s VNI %d", name, m, web, want.dst, want.vni)
				}
			}
		}
	})
	t.Run("TM-3 the first accepting session by number mirrors each packet once", func(t *testing.T) {
		for _, m := range m1 {
			if m.innerDport != 80 && m.innerDport != 8081 {
				t.Errorf("t1 got a copy to port %d; session 10 mirrors :80 and :8081 only", m.innerDport)
			}
		}
		for _, m := range m2 {
			if m.innerDport == 80 {
				t.Errorf("t2 got a copy of :80, which session 10 took first")
			}
		}
	})
	t.Run("TM-5 no outbound rules: nothing outbound mirrored", func(t *testing.T) {
		for _, m := range append(append([]mirrored{}, m1...), m2...) {
			if m.innerSrc == web {
				t.Errorf("an outbound packet of i-web was mirrored: %+v", m)
			}
		}
	})
	t.Run("TM-9 copies are cut to what the MTU holds once wrapped", func(t *testing.T) {
		max := l.Plan().MTU - 36 // outer IPv4, UDP and VXLAN headers
		full := 0
		for _, m := range m1 {
			if m.innerLen > max {
				t.Errorf("t1: a copy of %d bytes after the VXLAN header; the MTU holds %d", m.innerLen, max)
			}
			if m.innerLen == max {
				full++
			}
		}
		if full == 0 {
			var lens []int
			for _, m := range m1 {
				lens = append(lens, m.innerLen)
			}
			t.Errorf("no copy of the jumbo POST reached %d bytes: %v", max, lens)
		}
	})
	t.Run("TM-10 packet length cuts the copy", func(t *testing.T) {
		long := 0
		for _, m := range m2 {
			if m.innerDport != 8080 || m.innerLen > 100 {
				t.Errorf("t2: %+v; want copies of :8080 of at most 100 bytes", m)
			}
			if m.innerLen == 100 {
				long++
			}
		}
		if long == 0 {
			t.Error("no copy was cut to 100 bytes (the POST's segments are longer)")
		}
	})
	t.Run("TM-12 packets the source's SG drops are not mirrored", func(t *testing.T) {
		for _, m := range append(append([]mirrored{}, m1...), m2...) {
			if m.innerDport == 22 {
				t.Errorf("a copy of the dropped :22 SYN: %+v", m)
			}
		}
	})
	t.Run("TM-11 the target's SG judges the copies", func(t *testing.T) {
		if len(m3) == 0 {
			t.Fatal("t3 dropped no copy")
		}
		for _, m := range m3 {
			if !strings.Contains(m.verdict, "sg-closed, ENI_SG_RULES_MISMATCH") || m.vni != 300 {
				t.Errorf("t3: %+v, want copies dropped by sg-closed", m)
			}
		}
	})
	t.Run("TM-13 flow logs record no mirrored copy", func(t *testing.T) {
		if err := l.FlushFlowLogs(); err != nil {
			t.Fatal(err)
		}
		recs, err := flowlog.ReadDir(l.Paths().FlowLogs())
		if err != nil {
			t.Fatal(err)
		}
		http := 0
		for _, r := range recs {
			if r["dstport"] == "4789" {
				t.Errorf("flow-log record of a mirrored copy: %v", r)
			}
			if r["dstport"] == "80" {
				http++
			}
		}
		if http == 0 {
			t.Error("no record of the original HTTP flow")
		}
	})
}
