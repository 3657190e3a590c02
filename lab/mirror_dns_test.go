package lab

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpcemu/vpcemu/capture"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// i-dns's session opts in amazon-dns and mirrors outbound TCP 80 only;
// i-all's mirrors everything by its rules and no network service. The VPC
// resolver is 10.0.0.2.
const mirrorDNSTopo = `
vpc: {id: vpc-d, cidr: 10.0.0.0/16}
subnets:
  - {id: sn-a, cidr: 10.0.1.0/24}
security_groups:
  - id: sg-open
    ingress:
      - {protocol: all, cidr: 10.0.0.0/16}
  - id: sg-mon
    ingress:
      - {protocol: udp, ports: 4789, cidr: 10.0.1.0/24}
instances:
  - {id: i-dns, subnet: sn-a, private_ip: 10.0.1.10, security_groups: [sg-open]}
  - {id: i-all, subnet: sn-a, private_ip: 10.0.1.11, security_groups: [sg-open]}
  - {id: i-mon, subnet: sn-a, private_ip: 10.0.1.21, security_groups: [sg-mon]}
  - {id: i-mon2, subnet: sn-a, private_ip: 10.0.1.22, security_groups: [sg-mon]}
traffic_mirror:
  targets:
    - {id: tm, network_interface: i-mon}
    - {id: tm2, network_interface: i-mon2}
  filters:
    - id: fdns
      network_services: [amazon-dns]
      outbound:
        - {rule: 10, action: accept, protocol: tcp, destination_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
    - id: fall
      inbound:
        - {rule: 1, action: accept, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
      outbound:
        - {rule: 1, action: accept, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
  sessions:
    - {id: s-dns, source: i-dns, target: tm, filter: fdns, session_number: 1, vni: 53}
    - {id: s-all, source: i-all, target: tm2, filter: fall, session_number: 1, vni: 77}
`

// udpCopy is a mirrored copy's inner UDP datagram.
type udpCopy struct {
	vni      uint32
	dst      netip.Addr
	dport    int
	fromPort int
}

func decodeUDPCopies(ps []*capture.Packet) []udpCopy {
	var out []udpCopy
	for _, p := range ps {
		pkt := gopacket.NewPacket(p.Data, layers.LayerTypeEthernet, gopacket.Default)
		vx, _ := pkt.Layer(layers.LayerTypeVXLAN).(*layers.VXLAN)
		if vx == nil {
			continue
		}
		inner := gopacket.NewPacket(vx.Payload, layers.LayerTypeEthernet, gopacket.Default)
		ip, _ := inner.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		udp, _ := inner.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if ip == nil || udp == nil {
			continue
		}
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		out = append(out, udpCopy{vni: vx.VNI, dst: dst, dport: int(udp.DstPort), fromPort: int(udp.SrcPort)})
	}
	return out
}

// TM-6 with real traffic: a session whose filter opts in amazon-dns
// mirrors the source's DNS query to the VPC resolver though no rule of it
// accepts UDP, and not a query to another address; a session whose rules
// accept everything but which has not opted in mirrors the other query
// and not the resolver's ([INTERP], as rules.MirrorDecision decides).
func TestTrafficMirroringTM6AmazonDNS(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Topology(t, mirrorDNSTopo)
	l := upForCapture(t, topo)
	stop := make(chan struct{})
	got := map[string]<-chan []*capture.Packet{}
	for _, target := range []string{"i-mon", "i-mon2"} {
		c, err := l.StartCapture(target, false)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got[target] = collect(c, stop)
	}
	send := func(src, dst string, sport int) {
		t.Helper()
		ns := flNS(t, l, src)
		if err := udpExchange(ns, sport, netip.AddrPortFrom(netip.MustParseAddr(dst), 53), 1, 17, false); err != nil {
			t.Fatalf("%s -> %s:53: %v", src, dst, err)
		}
	}
	resolver, other := "10.0.0.2", "10.0.1.22"
	send("i-dns", resolver, 40001)
	send("i-dns", other, 40002)
	send("i-all", resolver, 40003)
	send("i-all", other, 40004)
	time.Sleep(300 * time.Millisecond)
	close(stop)

	mirroredBy := map[string][]udpCopy{"s-dns": decodeUDPCopies(<-got["i-mon"]), "s-all": decodeUDPCopies(<-got["i-mon2"])}
	for _, c := range []struct {
		session, src, dst string
		sport             int
	}{{"s-dns", "i-dns", resolver, 40001}, {"s-dns", "i-dns", other, 40002}, {"s-all", "i-all", resolver, 40003}, {"s-all", "i-all", other, 40004}} {
		in := topo.Instance(c.src)
		p := rules.Packet{Src: in.PrivateIP, Dst: netip.MustParseAddr(c.dst), Protocol: vpc.ProtoUDP, SrcPort: c.sport, DstPort: 53}
		want := rules.MirrorDecision(topo, in.ENI.ID, p, false) != nil
		seen := false
		for _, m := range mirroredBy[c.session] {
			if m.fromPort == c.sport && m.dport == 53 && m.dst == p.Dst {
				seen = true
			}
		}
		if seen != want {
			t.Errorf("%s: %s -> %s:53 mirrored %v, the evaluator says %v", c.session, c.src, c.dst, seen, want)
		}
	}
	// The evaluator's verdicts are the ones TM-6 names.
	for _, c := range []struct {
		src, dst string
		want     bool
	}{{"i-dns", resolver, true}, {"i-dns", other, false}, {"i-all", resolver, false}, {"i-all", other, true}} {
		in := topo.Instance(c.src)
		p := rules.Packet{Src: in.PrivateIP, Dst: netip.MustParseAddr(c.dst), Protocol: vpc.ProtoUDP, SrcPort: 40000, DstPort: 53}
		if got := rules.MirrorDecision(topo, in.ENI.ID, p, false) != nil; got != c.want {
			t.Errorf("evaluator: %s -> %s:53 mirrored %v, want %v", c.src, c.dst, got, c.want)
		}
	}
}
