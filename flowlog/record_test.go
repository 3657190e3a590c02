package flowlog

import (
	"net/netip"
	"testing"
	"time"
)

// The fixtures follow the spec's common topology T1: account 123456789012,
// us-east-1, eni-a (10.0.1.10) and eni-b (10.0.2.20) in vpc-t1, an internet
// host 203.0.113.12.
var (
	eniA = ENIInfo{ENI: "eni-a", InstanceID: "i-a", SubnetID: "subnet-1", VPCID: "vpc-t1", AZ: "us-east-1a",
		AZID: "use1-az1", Region: "us-east-1", Account: "123456789012", Primary: netip.MustParseAddr("10.0.1.10"),
		Addrs: []netip.Addr{netip.MustParseAddr("10.0.1.11"), netip.MustParseAddr("2001:db8::a")}}
	eniB = ENIInfo{ENI: "eni-b", InstanceID: "i-b", SubnetID: "subnet-2", VPCID: "vpc-t1", AZ: "us-east-1b",
		AZID: "use1-az2", Region: "us-east-1", Account: "123456789012", Primary: netip.MustParseAddr("10.0.2.20")}
	eniC     = ENIInfo{ENI: "eni-c", Account: "123456789012", Region: "us-east-1", VPCID: "vpc-t1"}
	addrA    = netip.MustParseAddr("10.0.1.10")
	addrB    = netip.MustParseAddr("10.0.2.20")
	addrX    = netip.MustParseAddr("203.0.113.12")
	t0       = time.Unix(1714990500, 0).UTC() // 2024-05-06T10:15:00Z, a window (and 5-minute period) boundary
	allField = func() string {
		s := ""
		for i, f := range Fields() {
			if i > 0 {
				s += " "
			}
			s += "${" + f.Name + "}"
		}
		return s
	}()
)

func mustFormat(t testing.TB, s string) Format {
	t.Helper()
	f, err := ParseFormat(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTCPFlagsValue(t *testing.T) {
	const fin, syn, rst, psh, ack, urg, ece, cwr = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
	tests := []struct {
		name    string
		packets []uint8
		want    uint8
	}{
		{"SYN", []uint8{syn}, 2},
		{"SYN-ACK", []uint8{syn | ack}, 18},
		{"FIN", []uint8{fin}, 1},
		{"RST", []uint8{rst}, 4},
		{"SYN+ECE (FL-27)", []uint8{syn | ece}, 2},
		{"SYN+ACK+ECE+CWR", []uint8{syn | ack | ece | cwr}, 18},
		{"FIN+ACK (FL-27)", []uint8{fin | ack}, 1},
		{"PSH+ACK (FL-27)", []uint8{psh | ack}, 0},
		{"URG alone", []uint8{urg}, 0},
		{"RST+ACK", []uint8{rst | ack}, 4},
		{"client side of a short connection (FL-28)", []uint8{syn, ack, psh | ack, fin | ack, ack}, 3},
		{"server side of a short connection (FL-28)", []uint8{syn | ack, psh | ack, fin | ack}, 19},
		{"data and ACKs only", []uint8{ack, psh | ack, ack}, 0},
		{"SYN then a separate ACK is not SYN-ACK", []uint8{syn, ack}, 2},
	}
	for _, tt := range tests {
		var got uint8
		for _, p := range tt.packets {
			got |= TCPFlagsValue(p)
		}
		if got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
		// The aggregator maps again whatever it is given: OR-ed mapped
		// values must survive that.
		if again := TCPFlagsValue(got); again != got {
			t.Errorf("%s: mapping %d again gives %d", tt.name, got, again)
		}
	}
}

// TV-32 at the rendering level: start/end are the window bounds.
func TestLineNoData(t *testing.T) {
	r := Record{Status: StatusNoData, ENI: eniC, Start: t0, End: t0.Add(time.Minute)}
	want := "2 123456789012 eni-c - - - - - - - 1714990500 1714990560 - NODATA"
	if got := DefaultFormat().Line(r); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	r.Status = StatusSkipData
	want = "2 123456789012 eni-c - - - - - - - 1714990500 1714990560 - SKIPDATA"
	if got := DefaultFormat().Line(r); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// Every flow-derived field of a v8 line is '-' too (FL-18).
	got := mustFormat(t, "${version} ${interface-id} ${tcp-flags} ${flow-direction} ${traffic-path} ${type} ${log-status}").Line(r)
	if want := "5 eni-c - - - - SKIPDATA"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TV-33 (b)-(d) and FL-14 '-' rules on OK records.
func TestLineCustomFormats(t *testing.T) {
	b := "${version} ${vpc-id} ${flow-direction} ${traffic-path}"
	ingress := Record{ENI: eniB, Src: addrA, Dst: addrB, SrcPort: 40000, DstPort: 22, Protocol: 6, Packets: 3, Bytes: 180,
		TCPFlags: 2, Start: t0, End: t0.Add(2 * time.Second)}
	egress := Record{ENI: eniA, Egress: true, Src: addrA, Dst: addrB, SrcPort: 40000, DstPort: 22, Protocol: 6, Packets: 3,
		Bytes: 180, TCPFlags: 2, Start: t0, End: t0.Add(2 * time.Second), TrafficPath: PathSameVPC}
	sgReject := ingress
	sgReject.Action = Reject
	toInternet := egress
	toInternet.Dst, toInternet.TrafficPath = addrX, PathInternet
	tests := []struct {
		name, format string
		r            Record
		want         string
	}{
		{"TV-33 (b) ingress", b, ingress, "5 vpc-t1 ingress -"},
		{"TV-33 (b) egress A->B", b, egress, "5 vpc-t1 egress 1"},
		{"egress to the internet", b, toInternet, "5 vpc-t1 egress 8"},
		{"TV-33 (c) ECS fields", b + " ${ecs-task-id} ${ecs-cluster-arn}", egress, "7 vpc-t1 egress 1 - -"},
		{"TV-33 (d) SG reject", b + " ${action} ${reject-reason}", sgReject, "8 vpc-t1 ingress - REJECT -"},
		{"TV-33 (a) default", "", egress, "2 123456789012 eni-a 10.0.1.10 10.0.2.20 40000 22 6 3 180 1714990500 1714990502 ACCEPT OK"},
		{"v3/v4 metadata", "${instance-id} ${subnet-id} ${type} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${tcp-flags}",
			ingress, "i-b subnet-2 IPv4 us-east-1 use1-az2 - - 2"},
		{"requester-managed ENI has no instance-id", "${instance-id} ${interface-id}", Record{ENI: ENIInfo{ENI: "eni-nat"}, Src: addrA, Dst: addrX},
			"- eni-nat"},
		{"AWS-service fields", "${pkt-src-aws-service} ${pkt-dst-aws-service}", toInternet, "- -"},
		{"UDP has tcp-flags 0", "${protocol} ${tcp-flags}", Record{ENI: eniA, Src: addrA, Dst: addrB, Protocol: 17, TCPFlags: 0x12},
			"17 0"},
		{"ICMP ports 0", "${srcport} ${dstport} ${protocol}", Record{ENI: eniA, Src: addrX, Dst: addrA, Protocol: 1}, "0 0 1"},
		{"IPv6 type", "${type} ${srcaddr}", Record{ENI: eniA, Src: netip.MustParseAddr("2001:db8::1"),
			Dst: netip.MustParseAddr("2001:db8::a"), Protocol: 58}, "IPv6 2001:db8::1"},
		{"pkt-* default to srcaddr/dstaddr", "${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}", ingress,
			"10.0.1.10 10.0.2.20 10.0.1.10 10.0.2.20"},
	}
	for _, tt := range tests {
		if got := mustFormat(t, tt.format).Line(tt.r); got != tt.want {
			t.Errorf("%s:\n got  %q\n want %q", tt.name, got, tt.want)
		}
	}
}

// A v8 line of every field has one value per header name, none empty.
func TestLineAllFields(t *testing.T) {
	f := mustFormat(t, allField)
	r := Record{ENI: eniA, Egress: true, Src: addrA, Dst: addrX, Protocol: 6, TCPFlags: 0x13, Start: t0, End: t0, TrafficPath: PathInternet}
	got := f.Line(r)
	want := "8 123456789012 eni-a 10.0.1.10 203.0.113.12 0 0 6 0 0 1714990500 1714990500 ACCEPT OK vpc-t1 subnet-1 i-a 19 IPv4" +
		" 10.0.1.10 203.0.113.12 us-east-1 use1-az1 - - - - egress 8 - - - - - - - - - - -"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
