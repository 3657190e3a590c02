package testenv

import (
	"net/netip"
	"testing"
	"time"
)

// A tagged frame written onto an instance's interface crosses the router
// (kernel forwarding here: no datapath is loaded) and its sniffer on the
// receiver sees it by tag, with the addresses and ports it arrived with.
func TestInjectAndSniff(t *testing.T) {
	RequireRoot(t)
	topo := Topology(t, `
vpc: {id: vpc-a, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24}
  - {id: subnet-b, cidr: 10.0.2.0/24}
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10}
  - {id: i-b, subnet: subnet-b, private_ip: 10.0.2.20}
`)
	p := Build(t, topo)
	a, b := p.Instances[0], p.Instances[1]
	s := NewSniffers()
	defer s.Close()
	if err := s.Watch(b.NS, b.IfName); err != nil {
		t.Fatal(err)
	}
	j := NewInjector()
	defer j.Close()
	for i, proto := range []int{6, 17, 1} {
		tag := uint32(100 + i)
		f, err := Frame{SrcMAC: a.MAC, DstMAC: p.Subnets[0].RouterMAC, Src: a.Addr.Addr(), Dst: b.Addr.Addr(),
			Protocol: proto, SrcPort: 40000 + i, DstPort: 443, Tag: tag}.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Send(a.NS, a.IfName, f); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for len(s.Arrived(tag)) == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		got := s.Arrived(tag)
		if len(got) != 1 {
			t.Fatalf("protocol %d: %d arrivals of tag %d, want 1", proto, len(got), tag)
		}
		want := Arrival{Where: b.NS + "/" + b.IfName, Tag: tag, Src: netip.MustParseAddr("10.0.1.10"), Dst: netip.MustParseAddr("10.0.2.20"),
			Protocol: proto, SrcPort: 40000 + i, DstPort: 443, TTL: 63}
		if proto == 1 {
			want.DstPort = 0
		}
		got[0].At = time.Time{}
		if got[0] != want {
			t.Errorf("protocol %d: arrived %+v, want %+v", proto, got[0], want)
		}
	}
}
