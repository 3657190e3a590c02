package capture

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// frame builds an Ethernet/IPv4/TCP or UDP frame.
func frame(t *testing.T, src, dst string, proto layers.IPProtocol, sport, dport int, syn bool, payload int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	var l4 gopacket.SerializableLayer
	switch proto {
	case layers.IPProtocolTCP:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), SYN: syn, ACK: !syn, Seq: 1000, Ack: 1, Window: 64240}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		l4 = tcp
	default:
		udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
		_ = udp.SetNetworkLayerForChecksum(ip)
		l4 = udp
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, l4, gopacket.Payload(make([]byte, payload))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLineReadsLikeTcpdump(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	syn := &Packet{Time: at, Dir: Inbound, Data: frame(t, "192.0.2.66", "10.0.1.10", layers.IPProtocolTCP, 40000, 22, true, 0),
		Verdict: "dropped: sg-web, ENI_SG_RULES_MISMATCH"}
	syn.Length = len(syn.Data)
	if got, want := Line(syn), "03:04:05.000006 In  IP 192.0.2.66.40000 > 10.0.1.10.22: Flags [S], seq 1000, win 64240, length 0  dropped: sg-web, ENI_SG_RULES_MISMATCH"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	data := &Packet{Time: at, Dir: Outbound, Data: frame(t, "10.0.1.10", "198.51.100.10", layers.IPProtocolTCP, 80, 40001, false, 100)}
	data.Length = len(data.Data)
	if got, want := Line(data), "03:04:05.000006 Out IP 10.0.1.10.80 > 198.51.100.10.40001: Flags [.], seq 1000:1100, ack 1, win 64240, length 100"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	udp := &Packet{Time: at, Dir: Inbound, Data: frame(t, "192.0.2.66", "10.0.1.10", layers.IPProtocolUDP, 5000, 53, false, 30)}
	udp.Length = len(udp.Data)
	if got := Line(udp); !strings.HasSuffix(got, "IP 192.0.2.66.5000 > 10.0.1.10.53: UDP, length 30") {
		t.Errorf("udp: %q", got)
	}
}

func TestFilterIsTcpdumps(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		if os.Getenv("VPCEMU_REQUIRE_PRIV") != "" {
			t.Fatal("tcpdump is not installed (make deps)")
		}
		t.Skip("tcpdump is not installed (make deps)")
	}
	f, err := CompileFilter("tcp port 22 and host 10.0.1.10")
	if err != nil {
		t.Fatal(err)
	}
	if !f.Match(frame(t, "192.0.2.66", "10.0.1.10", layers.IPProtocolTCP, 40000, 22, true, 0)) {
		t.Error("ssh to 10.0.1.10 does not match")
	}
	if f.Match(frame(t, "192.0.2.66", "10.0.1.10", layers.IPProtocolTCP, 40000, 80, true, 0)) {
		t.Error("http matches tcp port 22")
	}
	if f.Match(frame(t, "192.0.2.66", "10.0.1.11", layers.IPProtocolTCP, 40000, 22, true, 0)) {
		t.Error("another host matches")
	}
	if _, err := CompileFilter("tcp port nonsense"); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Errorf("bad expression: %v, want tcpdump's complaint", err)
	}
	if f, err := CompileFilter(" "); f != nil || err != nil || !f.Match([]byte{1}) {
		t.Errorf("empty filter: %v %v, want nil (match all)", f, err)
	}
}

// What tshark reads back from a pcapng: the packets, their direction and
// the verdict comments.
func TestPcapNGReadsInTshark(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		if os.Getenv("VPCEMU_REQUIRE_PRIV") != "" {
			t.Fatal("tshark is not installed (make deps)")
		}
		t.Skip("tshark is not installed (make deps)")
	}
	var buf bytes.Buffer
	w, err := NewPcapNG(&buf, "eni-1", "i-web", 9216)
	if err != nil {
		t.Fatal(err)
	}
	pkts := []*Packet{
		{Dir: Inbound, Data: frame(t, "198.51.100.10", "10.0.1.10", layers.IPProtocolTCP, 40001, 80, true, 0)},
		{Dir: Inbound, Data: frame(t, "192.0.2.66", "10.0.1.10", layers.IPProtocolTCP, 40000, 22, true, 0), Verdict: "dropped: sg-web, ENI_SG_RULES_MISMATCH"},
	}
	for i, p := range pkts {
		p.Time, p.Length = time.Unix(1700000000+int64(i), 0), len(p.Data)
		if err := w.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(Stats{Packets: 2, Lost: 3}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "c.pcapng")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tshark", "-n", "-r", file, "-T", "fields", "-e", "tcp.dstport", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || lines[0] != "80\t" || lines[1] != "22\tdropped: sg-web, ENI_SG_RULES_MISMATCH" {
		t.Errorf("tshark reads:\n%s", out)
	}
}
