package rules_test

import (
	"net/netip"
	"testing"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// TV-38's sessions on i-web (10.0.1.10): session 10 mirrors inbound TCP 443
// to t1, session 20 all inbound TCP to t2 (PacketLength 100); no outbound
// rules. Session 30 (filter f3) mirrors UDP with amazon-dns opted in.
const tv38 = `name: tv
vpc: {id: vpc-a, cidr: 10.0.0.0/16}
subnets:
  - {id: sn-a, cidr: 10.0.1.0/24}
instances:
  - {id: i-web, subnet: sn-a, private_ip: 10.0.1.10}
  - {id: i-t1, subnet: sn-a, private_ip: 10.0.1.21}
  - {id: i-t2, subnet: sn-a, private_ip: 10.0.1.22}
  - {id: i-db, subnet: sn-a, private_ip: 10.0.1.30}
traffic_mirror:
  targets:
    - {id: t1, network_interface: i-t1}
    - {id: t2, network_interface: i-t2}
  filters:
    - id: f1
      inbound:
        - {rule: 10, action: accept, protocol: tcp, destination_ports: 443, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
    - id: f2
      inbound:
        - {rule: 20, action: accept, protocol: tcp, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
        - {rule: 10, action: reject, protocol: tcp, destination_ports: 5432, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
    - id: f3
      network_services: [amazon-dns]
  sessions:
    - {id: s20, source: i-web, target: t2, filter: f2, session_number: 20, vni: 200, packet_length: 100}
    - {id: s10, source: i-web, target: t1, filter: f1, session_number: 10, vni: 100}
    - {id: s30, source: i-db, target: t1, filter: f3, session_number: 1}
`

func tvTopology(t *testing.T) (*vpc.Topology, string) {
	t.Helper()
	topo, err := vpc.Parse("tv.yaml", []byte(tv38))
	if err != nil {
		t.Fatal(err)
	}
	return topo, topo.Instance("i-web").ENI.ID
}

func tcpTo(dport int) rules.Packet {
	return rules.Packet{Src: netip.MustParseAddr("198.51.100.10"), Dst: netip.MustParseAddr("10.0.1.10"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: dport}
}

func sessionID(s *vpc.MirrorSession) string {
	if s == nil {
		return "none"
	}
	return s.ID
}

// TM-3: sessions in ascending session number, the first whose filter
// accepts mirrors the packet, and only that one.
func TestTM3FirstAcceptingSessionMirrorsOnce(t *testing.T) {
	topo, web := tvTopology(t)
	if got := sessionID(rules.MirrorDecision(topo, web, tcpTo(443), true)); got != "s10" {
		t.Errorf(":443 mirrored by %s, want s10 (session 10 first, once)", got)
	}
	if got := sessionID(rules.MirrorDecision(topo, web, tcpTo(22), true)); got != "s20" {
		t.Errorf(":22 mirrored by %s, want s20", got)
	}
}

// TM-4, TM-5: the lowest-numbered matching rule decides, whatever the file
// order; no match, or a direction without rules, mirrors nothing.
func TestTM5FirstMatchingRuleDecides(t *testing.T) {
	topo, web := tvTopology(t)
	if got := sessionID(rules.MirrorDecision(topo, web, tcpTo(5432), true)); got != "none" {
		t.Errorf(":5432 mirrored by %s; f2's rule 10 rejects it before rule 20 accepts", got)
	}
	udp := tcpTo(53)
	udp.Protocol = vpc.ProtoUDP
	if got := sessionID(rules.MirrorDecision(topo, web, udp, true)); got != "none" {
		t.Errorf("UDP mirrored by %s; no rule matches", got)
	}
	out := rules.Packet{Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("203.0.113.80"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 443}
	if got := sessionID(rules.MirrorDecision(topo, web, out, false)); got != "none" {
		t.Errorf("outbound mirrored by %s; neither filter has outbound rules", got)
	}
}

// TM-6: amazon-dns mirrors DNS with the VPC resolver both ways, and nothing
// else of a filter without rules.
func TestTM6AmazonDNS(t *testing.T) {
	topo, _ := tvTopology(t)
	db := topo.Instance("i-db").ENI.ID
	q := rules.Packet{Src: netip.MustParseAddr("10.0.1.30"), Dst: netip.MustParseAddr("10.0.0.2"), Protocol: vpc.ProtoUDP, SrcPort: 5353, DstPort: 53}
	a := rules.Packet{Src: q.Dst, Dst: q.Src, Protocol: vpc.ProtoUDP, SrcPort: 53, DstPort: 5353}
	if rules.MirrorDecision(topo, db, q, false) == nil || rules.MirrorDecision(topo, db, a, true) == nil {
		t.Error("DNS to and from the VPC resolver is not mirrored with amazon-dns")
	}
	other := q
	other.Dst = netip.MustParseAddr("8.8.8.8")
	if s := rules.MirrorDecision(topo, db, other, false); s != nil {
		t.Errorf("DNS to another server mirrored by %s", s.ID)
	}
	// [INTERP] Without amazon-dns, rules that accept everything still do
	// not mirror the resolver's traffic (the datapath's SG-45 path taps
	// only opted-in sessions).
	all := vpc.MirrorRule{Number: 1, Accept: true, Protocol: vpc.ProtoAll, SrcPorts: vpc.AllPorts, DstPorts: vpc.AllPorts,
		SrcCIDR: netip.MustParsePrefix("0.0.0.0/0"), DstCIDR: netip.MustParsePrefix("0.0.0.0/0")}
	for _, s := range topo.MirrorSessionsOf(db) {
		f := topo.MirrorFilter(s.Filter)
		f.NetworkServices = nil
		f.Inbound, f.Outbound = []vpc.MirrorRule{all}, []vpc.MirrorRule{all}
	}
	if s := rules.MirrorDecision(topo, db, q, false); s != nil {
		t.Errorf("DNS to the resolver mirrored by %s without amazon-dns", s.ID)
	}
	if rules.MirrorDecision(topo, db, other, false) == nil {
		t.Error("a filter accepting everything does not mirror DNS to another server")
	}
}

// TM-13: DHCP, the metadata service, NTP and Windows activation are never
// mirrored, whatever the filter.
func TestTM13NotMirrorable(t *testing.T) {
	for _, p := range []rules.Packet{
		{Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("169.254.169.254"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 80},
		{Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("169.254.169.123"), Protocol: vpc.ProtoUDP, SrcPort: 123, DstPort: 123},
		{Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("169.254.169.250"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 1688},
		{Src: netip.MustParseAddr("0.0.0.0"), Dst: netip.MustParseAddr("255.255.255.255"), Protocol: vpc.ProtoUDP, SrcPort: 68, DstPort: 67},
	} {
		if !rules.MirrorExcluded(p) {
			t.Errorf("%v is mirrorable", p)
		}
	}
	if rules.MirrorExcluded(tcpTo(443)) {
		t.Error("HTTPS is excluded")
	}
}
