package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/vpcemu/vpcemu/netns"
)

// mirrorFileFilter declares Traffic Mirroring in the lab's file: a filter
// no session uses, so the datapath comes up with mirroring compiled in and
// the API can add sessions live.
const mirrorFileFilter = `
traffic_mirror:
  filters:
    - {id: tmf-file, description: declared so that sessions can be added live}
`

// vxlanCopy is one mirrored copy as the target's socket on UDP 4789
// received it.
type vxlanCopy struct {
	from  net.IP
	vni   uint32
	dport int // the inner TCP destination port, 0 for other frames
}

// listenVXLAN opens UDP 4789 on addr inside ns and sends what arrives on
// the channel until the test ends.
func listenVXLAN(t *testing.T, ns, addr string) <-chan vxlanCopy {
	t.Helper()
	var conn *net.UDPConn
	err := netns.Do(ns, func() error {
		var err error
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr), Port: 4789})
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s:4789 in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { conn.Close() })
	out := make(chan vxlanCopy, 1024)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 8 || buf[0]&0x08 == 0 {
				continue
			}
			c := vxlanCopy{from: from.IP, vni: binary.BigEndian.Uint32(buf[4:8]) >> 8}
			inner := gopacket.NewPacket(buf[8:n], layers.LayerTypeEthernet, gopacket.Default)
			if tcp, ok := inner.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
				c.dport = int(tcp.DstPort)
			}
			select {
			case out <- c:
			default:
			}
		}
	}()
	return out
}

// copiesFor collects the copies that arrive within d.
func copiesFor(ch <-chan vxlanCopy, d time.Duration) []vxlanCopy {
	var got []vxlanCopy
	end := time.After(d)
	for {
		select {
		case c := <-ch:
			got = append(got, c)
		case <-end:
			return got
		}
	}
}

// Traffic Mirroring made live through the AWS CLI (TM-2, TM-8, TM-11):
// a target on i-db, a filter with one rule (inbound TCP 80) and a session
// on i-web's ENI with VNI 4242; the laptop's next curl to i-web is copied
// to i-db in VXLAN on UDP 4789 from i-web's address, once i-db's SG admits
// UDP 4789; after delete-traffic-mirror-session the next curl is not.
func TestAPITrafficMirroringLive(t *testing.T) {
	a := upAPILab(t, func(y string) string { return y + mirrorFileFilter })
	web := a.topo.Instance("i-web")
	db := a.topo.Instance("i-db")
	copies := listenVXLAN(t, a.ns(t, "i-db"), db.ENI.PrivateIP.String())

	field := func(out, obj, key string) string {
		t.Helper()
		var m map[string]json.RawMessage
		var o map[string]any
		if err := errors.Join(json.Unmarshal([]byte(out), &m), json.Unmarshal(m[obj], &o)); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		s, _ := o[key].(string)
		return s
	}
	target := field(a.mustAWS(t, "create-traffic-mirror-target", "--network-interface-id", db.ENI.ID, "--description", "i-db"),
		"TrafficMirrorTarget", "TrafficMirrorTargetId")
	filter := field(a.mustAWS(t, "create-traffic-mirror-filter", "--description", "http"), "TrafficMirrorFilter", "TrafficMirrorFilterId")
	a.mustAWS(t, "create-traffic-mirror-filter-rule", "--traffic-mirror-filter-id", filter, "--traffic-direction", "ingress",
		"--rule-number", "100", "--rule-action", "accept", "--protocol", "6", "--destination-port-range", "FromPort=80,ToPort=80",
		"--source-cidr-block", "0.0.0.0/0", "--destination-cidr-block", "0.0.0.0/0")
	session := field(a.mustAWS(t, "create-traffic-mirror-session", "--network-interface-id", web.ENI.ID, "--traffic-mirror-target-id", target,
		"--traffic-mirror-filter-id", filter, "--session-number", "1", "--virtual-network-id", "4242"), "TrafficMirrorSession", "TrafficMirrorSessionId")

	if !a.curl(t, "laptop", webHTTP) {
		t.Fatal("the laptop's curl to i-web got no answer")
	}
	if got := copiesFor(copies, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("TM-11: i-db's SG admits no UDP 4789, yet its socket got %d copies", len(got))
	}
	a.mustAWS(t, "authorize-security-group-ingress", "--group-id", "sg-db", "--protocol", "udp", "--port", "4789", "--cidr", web.ENI.PrivateIP.String()+"/32")

	if !a.curl(t, "laptop", webHTTP) {
		t.Fatal("the laptop's curl to i-web got no answer")
	}
	got := copiesFor(copies, 500*time.Millisecond)
	if len(got) == 0 {
		t.Fatal("TM-8: no VXLAN copy of the curl reached i-db on UDP 4789")
	}
	for _, c := range got {
		if c.vni != 4242 || !c.from.Equal(web.ENI.PrivateIP.AsSlice()) || c.dport != 80 {
			t.Errorf("copy %+v; want VNI 4242 from %s of inbound TCP 80 only", c, web.ENI.PrivateIP)
		}
	}

	a.mustAWS(t, "delete-traffic-mirror-session", "--traffic-mirror-session-id", session)
	if !a.curl(t, "laptop", webHTTP) {
		t.Fatal("the laptop's curl to i-web got no answer after the session was deleted")
	}
	if got := copiesFor(copies, 500*time.Millisecond); len(got) != 0 {
		t.Errorf("after delete-traffic-mirror-session i-db still got %d copies: %+v", len(got), got)
	}
	// The running topology, which export writes and a restart reads, lost
	// the session and kept the rest.
	out, code := vpcemu(t, "-t", a.name, "export")
	if code != 0 || !strings.Contains(out, target) || !strings.Contains(out, filter) || strings.Contains(out, session) {
		t.Errorf("export: exit %d, want %s and %s without %s:\n%s", code, target, filter, session, out)
	}
}
