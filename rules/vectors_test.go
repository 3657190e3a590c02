package rules

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Spec §7 test vectors over T1 (helpers_test.go), each a sequence of steps
// run through the path model with one conntrack table and one flow logger.
// A step either starts a conversation (start != nil: the client's first
// packet) or sends a follow-up from the client ('c') or the server ('s')
// side of the current conversation; server packets answer the client's
// packet as it arrived (addresses and ports swapped). needPrev skips a step
// whose predecessor was not delivered (no reply to a dropped SYN).

type step struct {
	at       time.Duration
	start    *Packet
	side     byte
	flags    uint8
	needPrev bool
	mutate   func(*vpc.Topology)
	// wantDelivered, if set, asserts the step's packet fate.
	wantDelivered *bool
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

func pkt(p Packet) *Packet { return &p }

// handshake is SYN from the client then SYN-ACK from the server.
func handshake(at time.Duration, first Packet) []step {
	first.TCPFlags = TCPSyn
	return []step{{at: at, start: &first}, {at: at + time.Millisecond, side: 's', flags: synAck, needPrev: true}}
}

// session is a whole short TCP connection: handshake, ACK, FIN both ways, ACK.
func session(at time.Duration, first Packet) []step {
	ms := time.Millisecond
	return append(handshake(at, first),
		step{at: at + 2*ms, side: 'c', flags: TCPAck, needPrev: true},
		step{at: at + 3*ms, side: 'c', flags: TCPFin | TCPAck, needPrev: true},
		step{at: at + 4*ms, side: 's', flags: TCPFin | TCPAck, needPrev: true},
		step{at: at + 5*ms, side: 'c', flags: TCPAck, needPrev: true},
	)
}

// ping is an echo request and its reply.
func ping(at time.Duration, first Packet) []step {
	return []step{{at: at, start: &first}, {at: at + time.Millisecond, side: 's', needPrev: true}}
}

type runResult struct {
	records []PredictedRecord
	paths   []Path
}

func runSteps(t *testing.T, top *vpc.Topology, steps []step) runResult {
	t.Helper()
	m := NewPathModel(top)
	fl := NewFlowLogger(top)
	var res runResult
	var client, server Packet
	delivered := true
	for i, s := range steps {
		if s.mutate != nil {
			s.mutate(top)
			m.CT.SetTopology(top)
			continue
		}
		if s.needPrev && !delivered {
			continue
		}
		var p Packet
		switch {
		case s.start != nil:
			client = *s.start
			p = client
		case s.side == 'c':
			p = client
			p.TCPFlags = s.flags
		default:
			p = server
			if p.Protocol == vpc.ProtoTCP {
				p.TCPFlags = s.flags
			}
		}
		path := m.Send(s.at, p)
		fl.Add(s.at, &path)
		res.paths = append(res.paths, path)
		delivered = path.Delivered
		if s.start != nil && path.Delivered {
			server, _ = Reply(path.Final())
		}
		if s.wantDelivered != nil && *s.wantDelivered != path.Delivered {
			t.Errorf("step %d (%s): delivered=%v, want %v (blocked: %+v)", i, packetText(p), path.Delivered, *s.wantDelivered, path.Blocked())
		}
	}
	res.records = fl.Records()
	return res
}

func recordText(r PredictedRecord) string {
	return fmt.Sprintf("%s %s %s flags=%d type=%s packets=%d src=%s dst=%s sport=%d dport=%d proto=%d",
		r.ENI, r.Direction, r.Action, r.TCPFlags, r.Type, r.Packets, r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Protocol)
}

// recordMatches checks an expectation "eni dir action [key=value ...]".
func recordMatches(r PredictedRecord, want string) bool {
	got := strings.Fields(recordText(r))
	w := strings.Fields(want)
	for i := 0; i < 3 && i < len(w); i++ {
		if got[i] != w[i] {
			return false
		}
	}
	for _, kv := range w[min(3, len(w)):] {
		found := false
		for _, g := range got[3:] {
			if g == kv {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// checkRecords matches expectations to records one to one; with exact,
// every record must be expected.
func checkRecords(t *testing.T, recs []PredictedRecord, want []string, exact bool) {
	t.Helper()
	matchRecords(t, recs, want, exact, recordMatches, recordText)
}

// matchRecords matches expectations to records one to one by matches, and
// shows records by text; with exact, every record must be expected.
func matchRecords(t *testing.T, recs []PredictedRecord, want []string, exact bool,
	matches func(PredictedRecord, string) bool, text func(PredictedRecord) string) {
	t.Helper()
	used := make([]bool, len(recs))
	for _, w := range want {
		ok := false
		for i, r := range recs {
			if !used[i] && matches(r, w) {
				used[i], ok = true, true
				break
			}
		}
		if !ok {
			t.Errorf("no record matches %q", w)
		}
	}
	if exact {
		for i, r := range recs {
			if !used[i] {
				t.Errorf("unexpected record %s", text(r))
			}
		}
	}
	if t.Failed() {
		for _, r := range recs {
			t.Logf("record: %s", text(r))
		}
	}
}

func setN1(in, out []vpc.NACLRule) func(*vpc.Topology) {
	return func(top *vpc.Topology) {
		a := aclOf(top, "N1")
		if in != nil {
			a.Ingress = in
		}
		if out != nil {
			a.Egress = out
		}
	}
}

func TestSpecVectors(t *testing.T) {
	const (
		aIP, aPub, bIP, bPub, cIP = "10.0.1.10", "203.0.113.10", "10.0.2.20", "203.0.113.20", "10.0.1.30"
		xIP, yIP, wIP             = "198.51.100.10", "198.51.100.77", "203.0.113.80"
	)
	tv12 := func(top *vpc.Topology) {
		sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoICMP, -1, -1, "0.0.0.0/0")}
		sgOf(top, "sgA").Egress = []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0")}
		setN1(nil, []vpc.NACLRule{nr(100, vpc.ProtoTCP, 0, 65535, "0.0.0.0/0", true)})(top)
	}
	tv04 := func(top *vpc.Topology) {
		sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 3389, 3389, "0.0.0.0/0")}
		sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
	}
	tv17 := func(top *vpc.Topology) {
		// TV-17 is not in the spec's table; from TV-18/TV-41: A and C share
		// sgX, which has inbound rules but no self-reference.
		top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgX",
			Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 80, 80, "192.0.2.0/24")}, Egress: []vpc.SGRule{outAll()}})
		instOf(top, "A").SecurityGroups = []string{"sgX"}
		instOf(top, "C").SecurityGroups = []string{"sgX"}
	}
	dual := func(top *vpc.Topology) {
		dualT1(top)
		n1 := aclOf(top, "N1")
		n1.Ingress = append(n1.Ingress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
		n1.Egress = append(n1.Egress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
		sgOf(top, "sgA").Egress = []vpc.SGRule{outAll(), sgr(vpc.ProtoAll, 0, 0, "::/0")}
		sgOf(top, "sgB").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "::/0"), sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}
	}
	tv25 := func(udpTO time.Duration) func(*vpc.Topology) {
		return func(top *vpc.Topology) {
			sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
			sgOf(top, "sgB").Ingress = []vpc.SGRule{sgr(vpc.ProtoUDP, 5353, 5353, "10.0.0.0/16")}
			sgOf(top, "sgB").Egress = []vpc.SGRule{outAll()}
			instOf(top, "A").Conntrack.UDP = udpTO
		}
	}
	udpReq := udp(aIP, 40000, bIP, 5353)
	udpSeq := func(replies ...time.Duration) []step {
		// Request at 0; each entry is a server send at that time; a
		// negative entry is a client request at -t.
		s := []step{{at: 0, start: pkt(udpReq)}}
		for _, at := range replies {
			if at < 0 {
				s = append(s, step{at: -at, side: 'c'})
			} else {
				s = append(s, step{at: at, side: 's'})
			}
		}
		return s
	}
	tv35 := func(peer string) func(*vpc.Topology) {
		return func(top *vpc.Topology) {
			sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 8080, 8080, peer)}
			sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
			sgOf(top, "sgB").Egress = []vpc.SGRule{outAll()}
			instOf(top, "A").Conntrack.MaxEntries = 3
		}
	}
	fourConns := func() []step {
		var s []step
		for i := range 4 {
			s = append(s, handshake(time.Duration(i)*time.Second, tcp(bIP, 40000+i, aIP, 8080, 0))...)
		}
		return s
	}
	cat := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}

	for _, tc := range []struct {
		name  string
		setup func(*vpc.Topology)
		steps []step
		want  []string
		exact bool
	}{
		{
			name: "TV-01 inbound deny of 443 does not hit replies to the client port",
			setup: func(top *vpc.Topology) {
				setN1([]vpc.NACLRule{nr(50, vpc.ProtoTCP, 443, 443, "0.0.0.0/0", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}, nil)(top)
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
			},
			steps: session(0, tcp(aIP, 40000, wIP, 443, 0)),
			want: []string{
				"eni-a egress ACCEPT flags=3 src=10.0.1.10 dst=203.0.113.80 sport=40000 dport=443",
				"eni-a ingress ACCEPT flags=19 src=203.0.113.80 dst=10.0.1.10 sport=443 dport=40000",
			},
			exact: true,
		},
		{
			name: "TV-02 inbound deny of 443 stops a server's SYN before the SG",
			setup: func(top *vpc.Topology) {
				setN1([]vpc.NACLRule{nr(50, vpc.ProtoTCP, 443, 443, "0.0.0.0/0", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}, nil)(top)
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
				sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0")}
			},
			steps: session(0, tcp(xIP, 51000, aPub, 443, 0)),
			want:  []string{"eni-a ingress REJECT flags=2 src=198.51.100.10 dst=10.0.1.10 sport=51000 dport=443"},
			exact: true,
		},
		{
			name: "TV-03 inbound deny of the ephemeral range kills the reply",
			setup: func(top *vpc.Topology) {
				setN1([]vpc.NACLRule{nr(20, vpc.ProtoTCP, 32768, 65535, "0.0.0.0/0", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}, nil)(top)
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
			},
			steps: cat(handshake(0, tcp(aIP, 40000, wIP, 443, 0)), []step{
				{at: time.Second, side: 'c', flags: TCPSyn, wantDelivered: yes}, // retransmission
				{at: time.Second + time.Millisecond, side: 's', flags: synAck, wantDelivered: no},
			}),
			want:  []string{"eni-a egress ACCEPT flags=2 packets=2", "eni-a ingress REJECT flags=18 packets=2"},
			exact: true,
		},
		{
			name: "TV-03 a Windows 2003 client's port 1030 is outside the denied range",
			setup: func(top *vpc.Topology) {
				setN1([]vpc.NACLRule{nr(20, vpc.ProtoTCP, 32768, 65535, "0.0.0.0/0", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}, nil)(top)
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
			},
			steps: session(0, tcp(aIP, 1030, wIP, 443, 0)),
			want:  []string{"eni-a egress ACCEPT flags=3", "eni-a ingress ACCEPT flags=19"},
			exact: true,
		},
		{
			name:  "TV-04 a narrow inbound rule keeps browsing tracked",
			setup: tv04,
			steps: session(0, tcp(aIP, 40000, wIP, 443, 0)),
			want:  []string{"eni-a egress ACCEPT flags=3", "eni-a ingress ACCEPT flags=19"},
			exact: true,
		},
		{
			name:  "TV-05 deleting out-all blocks new flows, keeps the old one and inbound RDP",
			setup: tv04,
			steps: cat(handshake(0, tcp(aIP, 40000, wIP, 443, 0)), []step{
				{mutate: func(top *vpc.Topology) { sgOf(top, "sgA").Egress = nil }},
				{at: 2 * time.Second, side: 'c', flags: TCPAck, wantDelivered: yes},
				{at: 2 * time.Second, side: 's', flags: TCPAck, wantDelivered: yes},
			}, handshake(3*time.Second, tcp(aIP, 40001, wIP, 443, 0)),
				handshake(4*time.Second, tcp(xIP, 51000, aPub, 3389, 0))),
			want: []string{
				"eni-a egress ACCEPT sport=40000 packets=2",
				"eni-a ingress ACCEPT dport=40000 packets=2",
				"eni-a egress REJECT flags=2 sport=40001",
				"eni-a ingress ACCEPT flags=2 dport=3389",
				"eni-a egress ACCEPT flags=18 sport=3389",
			},
			exact: true,
		},
		{
			name: "TV-07 deny all from one address",
			setup: func(top *vpc.Topology) {
				setN1([]vpc.NACLRule{nr(10, vpc.ProtoAll, 0, 0, "198.51.100.77/32", false), nr(100, vpc.ProtoAll, 0, 0, "0.0.0.0/0", true)}, nil)(top)
				sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "0.0.0.0/0")}
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
			},
			steps: cat(handshake(0, tcp(yIP, 50000, aPub, 22, 0)), handshake(time.Second, tcp(xIP, 50000, aPub, 22, 0))),
			want: []string{
				"eni-a ingress REJECT src=198.51.100.77",
				"eni-a ingress ACCEPT src=198.51.100.10",
				"eni-a egress ACCEPT dst=198.51.100.10",
			},
			exact: true,
		},
		{
			name: "TV-08 rule number, not creation order, decides",
			setup: func(top *vpc.Topology) {
				setN1([]vpc.NACLRule{nr(200, vpc.ProtoTCP, 22, 22, "0.0.0.0/0", true), nr(100, vpc.ProtoTCP, 22, 22, "198.51.100.0/24", false)}, nil)(top)
				sgOf(top, "sgA").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "0.0.0.0/0")}
			},
			steps: handshake(0, tcp(xIP, 50000, aPub, 22, 0)),
			want:  []string{"eni-a ingress REJECT flags=2"},
			exact: true,
		},
		{
			name:  "TV-12 the NACL drops the tracked echo reply",
			setup: tv12,
			steps: ping(0, icmp(xIP, aPub, 8, 0, 9)),
			want:  []string{"eni-a ingress ACCEPT proto=1 sport=0 dport=0", "eni-a egress REJECT proto=1"},
			exact: true,
		},
		{
			name: "TV-13 an outbound ICMP NACL rule lets the reply out",
			setup: func(top *vpc.Topology) {
				tv12(top)
				a := aclOf(top, "N1")
				a.Egress = append(a.Egress, nr(110, vpc.ProtoICMP, -1, -1, "0.0.0.0/0", true))
			},
			steps: ping(0, icmp(xIP, aPub, 8, 0, 9)),
			want:  []string{"eni-a ingress ACCEPT proto=1", "eni-a egress ACCEPT proto=1"},
			exact: true,
		},
		{
			name: "TV-14 without an inbound ICMP rule the request is dropped",
			setup: func(top *vpc.Topology) {
				tv12(top)
				sgOf(top, "sgA").Ingress = nil
			},
			steps: ping(0, icmp(xIP, aPub, 8, 0, 9)),
			want:  []string{"eni-a ingress REJECT proto=1"},
			exact: true,
		},
		{
			name: "TV-15 a deny-all NACL does not see same-subnet traffic",
			setup: func(top *vpc.Topology) {
				aclOf(top, "N1").Ingress, aclOf(top, "N1").Egress = nil, nil
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
				sgOf(top, "sgC").Ingress = []vpc.SGRule{sgrGroup(vpc.ProtoTCP, 5432, 5432, "sgA")}
			},
			steps: cat(handshake(0, tcp(aIP, 40000, cIP, 5432, 0)), handshake(time.Second, tcp(aIP, 40001, bIP, 22, 0))),
			want: []string{
				"eni-a egress ACCEPT dport=5432", "eni-c ingress ACCEPT dport=5432",
				"eni-c egress ACCEPT sport=5432", "eni-a ingress ACCEPT sport=5432",
				"eni-a egress REJECT dport=22",
			},
			exact: true,
		},
		{
			name: "TV-16 the receiver's custom NACL denies at *",
			setup: func(top *vpc.Topology) {
				aclOf(top, "N2").Ingress, aclOf(top, "N2").Egress = nil, nil
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
				sgOf(top, "sgB").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "10.0.1.0/24")}
			},
			steps: handshake(0, tcp(aIP, 40000, bIP, 22, 0)),
			want:  []string{"eni-a egress ACCEPT flags=2", "eni-b ingress REJECT flags=2"},
			exact: true,
		},
		{
			name:  "TV-17 sharing an SG without a self-reference admits nothing",
			setup: tv17,
			steps: handshake(0, tcp(aIP, 40000, cIP, 22, 0)),
			want:  []string{"eni-a egress ACCEPT flags=2", "eni-c ingress REJECT flags=2"},
			exact: true,
		},
		{
			name: "TV-18 a self-reference admits members both ways",
			setup: func(top *vpc.Topology) {
				tv17(top)
				sgOf(top, "sgX").Ingress = append(sgOf(top, "sgX").Ingress, sgrGroup(vpc.ProtoAll, 0, 0, "sgX"))
			},
			steps: cat(handshake(0, tcp(aIP, 40000, cIP, 22, 0)), ping(time.Second, icmp(cIP, aIP, 8, 0, 3))),
			want: []string{
				"eni-a egress ACCEPT proto=6", "eni-c ingress ACCEPT proto=6", "eni-c egress ACCEPT proto=6", "eni-a ingress ACCEPT proto=6",
				"eni-c egress ACCEPT proto=1", "eni-a ingress ACCEPT proto=1", "eni-a egress ACCEPT proto=1", "eni-c ingress ACCEPT proto=1",
			},
			exact: true,
		},
		{
			name: "TV-19 the unchanged default SG admits its members",
			setup: func(top *vpc.Topology) {
				instOf(top, "A").SecurityGroups = []string{vpc.DefaultSGID}
				instOf(top, "C").SecurityGroups = []string{vpc.DefaultSGID}
			},
			steps: handshake(0, tcp(aIP, 40000, cIP, 12345, 0)),
			want:  []string{"eni-a egress ACCEPT", "eni-c ingress ACCEPT", "eni-c egress ACCEPT", "eni-a ingress ACCEPT"},
			exact: true,
		},
		{
			name:  "TV-24 an IPv4-only custom NACL denies IPv6 at 32768",
			setup: dual,
			steps: cat(handshake(0, tcp(aIP, 40000, bIP, 22, 0)), handshake(time.Second, tcp(aIP6, 40000, bIP6, 22, 0))),
			want:  []string{"eni-b ingress ACCEPT type=IPv4", "eni-b ingress REJECT type=IPv6", "eni-a egress ACCEPT type=IPv6"},
		},
		{name: "TV-25a udp reply after 10 s", setup: tv25(0), steps: udpSeq(10 * time.Second), want: []string{"eni-a ingress ACCEPT packets=1"}},
		{name: "TV-25b udp reply after 45 s", setup: tv25(0), steps: udpSeq(45 * time.Second), want: []string{"eni-a ingress REJECT packets=1"}},
		{
			name: "TV-25c udp stream, then 120 s idle", setup: tv25(0),
			steps: udpSeq(time.Second, -2*time.Second, 3*time.Second, 123*time.Second),
			want:  []string{"eni-a ingress ACCEPT packets=3"},
		},
		{
			name: "TV-25d udp stream, then 200 s idle", setup: tv25(0),
			steps: udpSeq(time.Second, -2*time.Second, 3*time.Second, 203*time.Second),
			want:  []string{"eni-a ingress ACCEPT packets=2", "eni-a ingress REJECT packets=1"},
		},
		{name: "TV-25e UdpTimeout=60, reply after 45 s", setup: tv25(60 * time.Second), steps: udpSeq(45 * time.Second), want: []string{"eni-a ingress ACCEPT packets=1"}},
		{
			name: "TV-28 Amazon-provided services are neither filtered nor logged",
			setup: func(top *vpc.Topology) {
				aclOf(top, "N1").Ingress, aclOf(top, "N1").Egress = nil, nil
			},
			steps: []step{
				{at: 0, start: pkt(udp(aIP, 40000, "10.0.0.2", 53)), wantDelivered: yes},
				{at: 0, start: pkt(udp(aIP, 40001, "169.254.169.253", 53)), wantDelivered: yes},
				{at: 0, start: pkt(tcp(aIP, 40002, "169.254.169.254", 80, TCPSyn)), wantDelivered: yes},
				{at: 0, start: pkt(udp(aIP, 123, "169.254.169.123", 123)), wantDelivered: yes},
				{at: 0, start: pkt(udp(aIP, 68, "10.0.1.1", 67)), wantDelivered: yes},
			},
			want:  nil,
			exact: true,
		},
		{
			name: "TV-30 a new NACL deny breaks an established session at once",
			setup: func(top *vpc.Topology) {
				sgOf(top, "sgB").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "0.0.0.0/0")}
			},
			steps: cat(handshake(0, tcp(xIP, 51000, bPub, 22, 0)), []step{
				{at: time.Second, side: 'c', flags: TCPAck, wantDelivered: yes},
				{mutate: func(top *vpc.Topology) {
					a := aclOf(top, "N2")
					a.Ingress = append([]vpc.NACLRule{nr(5, vpc.ProtoTCP, 22, 22, "198.51.100.10/32", false)}, a.Ingress...)
				}},
				{at: 2 * time.Second, side: 'c', flags: TCPAck | TCPPsh, wantDelivered: no},
			}),
			want:  []string{"eni-b ingress ACCEPT packets=2", "eni-b egress ACCEPT flags=18", "eni-b ingress REJECT packets=1"},
			exact: true,
		},
		{
			name: "TV-35 the fourth tracked connection exceeds the allowance", setup: tv35("10.0.0.0/16"), steps: fourConns(),
			want: []string{
				"eni-a ingress ACCEPT sport=40000", "eni-a ingress ACCEPT sport=40001", "eni-a ingress ACCEPT sport=40002",
				"eni-a ingress REJECT sport=40003 flags=2",
			},
		},
		{
			name: "TV-35 untracked connections need no allowance", setup: tv35("0.0.0.0/0"), steps: fourConns(),
			want: []string{
				"eni-a ingress ACCEPT sport=40000", "eni-a ingress ACCEPT sport=40001", "eni-a ingress ACCEPT sport=40002",
				"eni-a ingress ACCEPT sport=40003",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t1()
			tc.setup(top)
			res := runSteps(t, top, tc.steps)
			checkRecords(t, res.records, tc.want, tc.exact)
			if strings.HasPrefix(tc.name, "TV-28") && len(res.records) != 0 {
				t.Errorf("reserved services logged %d records", len(res.records))
			}
		})
	}
}

func TestTV41_DropExplanations(t *testing.T) {
	const aIP, bIP, cIP = "10.0.1.10", "10.0.2.20", "10.0.1.30"
	for _, tc := range []struct {
		name       string
		setup      func(*vpc.Topology)
		q          Query
		code, dir  string
		acl        string
		rule       int
		sgs        string
		wantRuleV4 string
	}{
		{
			name: "TV-16 custom NACL * (32767)",
			setup: func(top *vpc.Topology) {
				aclOf(top, "N2").Ingress, aclOf(top, "N2").Egress = nil, nil
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()}
				sgOf(top, "sgB").Ingress = []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "10.0.1.0/24")}
			},
			q:    Query{From: "A", To: "B", Protocol: vpc.ProtoTCP, Port: 22},
			code: CodeSubnetACLRestriction, dir: "ingress", acl: "N2", rule: 32767, wantRuleV4: "0.0.0.0/0",
		},
		{
			name: "TV-17 ENI_SG_RULES_MISMATCH on sgX",
			setup: func(top *vpc.Topology) {
				top.SecurityGroups = append(top.SecurityGroups, vpc.SecurityGroup{ID: "sgX",
					Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 80, 80, "192.0.2.0/24")}, Egress: []vpc.SGRule{outAll()}})
				instOf(top, "A").SecurityGroups = []string{"sgX"}
				instOf(top, "C").SecurityGroups = []string{"sgX"}
			},
			q:    Query{From: aIP, To: cIP, Protocol: vpc.ProtoTCP, Port: 22},
			code: CodeSGRulesMismatch, dir: "ingress", sgs: "sgX",
		},
		{
			name:  "an SG without inbound rules: SG_HAS_NO_RULES",
			setup: func(top *vpc.Topology) { sgOf(top, "sgA").Egress = []vpc.SGRule{outAll()} },
			q:     Query{From: aIP, To: bIP, Protocol: vpc.ProtoTCP, Port: 22},
			code:  CodeSGHasNoRules, dir: "ingress", sgs: "sgB",
		},
		{
			name: "TV-24 IPv6 * (32768)",
			setup: func(top *vpc.Topology) {
				dualT1(top)
				n1 := aclOf(top, "N1")
				n1.Egress = append(n1.Egress, nr(101, vpc.ProtoAll, 0, 0, "::/0", true))
				sgOf(top, "sgA").Egress = []vpc.SGRule{outAll(), sgr(vpc.ProtoAll, 0, 0, "::/0")}
				sgOf(top, "sgB").Ingress = []vpc.SGRule{sgr(vpc.ProtoAll, 0, 0, "::/0"), sgr(vpc.ProtoAll, 0, 0, "0.0.0.0/0")}
			},
			q:    Query{From: "A", To: "B", Protocol: vpc.ProtoTCP, Port: 22, IPv6: true},
			code: CodeSubnetACLRestriction, dir: "ingress", acl: "N2", rule: 32768, wantRuleV4: "::/0",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			top := t1()
			tc.setup(top)
			a := Explain(top, tc.q)
			if a.NetworkPathFound || len(a.Explanations) != 1 {
				t.Fatalf("found=%v explanations=%+v\n%s", a.NetworkPathFound, a.Explanations, explainText(t, a))
			}
			e := a.Explanations[0]
			if e.ExplanationCode != tc.code || e.Direction != tc.dir {
				t.Errorf("code %s direction %s, want %s %s", e.ExplanationCode, e.Direction, tc.code, tc.dir)
			}
			if tc.acl != "" {
				want := AnalysisACLRule{CIDR: tc.wantRuleV4, Egress: false, Protocol: "-1", RuleAction: "deny", RuleNumber: tc.rule}
				if e.ACL == nil || e.ACL.ID != tc.acl || e.ACLRule == nil || *e.ACLRule != want {
					t.Errorf("acl %+v rule %+v, want %s %+v", e.ACL, e.ACLRule, tc.acl, want)
				}
			}
			if tc.sgs != "" && (len(e.SecurityGroups) != 1 || e.SecurityGroups[0].ID != tc.sgs) {
				t.Errorf("security groups %+v, want [%s]", e.SecurityGroups, tc.sgs)
			}
		})
	}
}

var _ = strconv.Itoa
