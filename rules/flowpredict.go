package rules

import (
	"net/netip"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// PathPacket is one packet of a sequence, sent at At as its sender puts it
// on the wire (source = the sender's own address, destination = the address
// it targets, e.g. an instance's public IP from the internet).
type PathPacket struct {
	At     time.Duration
	Packet Packet
}

// PredictedRecord is the flow-log record one ENI would write for one flow
// (FL-4 key: ENI, direction, 5-tuple as logged, action) over a sequence.
type PredictedRecord struct {
	ENI         string        `json:"interface-id"`
	InstanceID  string        `json:"instance-id"`    // "" for a requester-managed ENI (a NAT gateway's: `-`, NGW-2)
	Direction   string        `json:"flow-direction"` // "ingress" | "egress"
	Action      string        `json:"action"`         // "ACCEPT" | "REJECT"
	SrcAddr     netip.Addr    `json:"srcaddr"`
	DstAddr     netip.Addr    `json:"dstaddr"`
	SrcPort     int           `json:"srcport"` // 0 for portless protocols
	DstPort     int           `json:"dstport"`
	Protocol    int           `json:"protocol"`
	Packets     int64         `json:"packets"`
	Bytes       int64         `json:"bytes"`
	TCPFlags    int           `json:"tcp-flags"` // FL-27/28: OR of per-packet (flags&7)|(16 if SYN+ACK)
	PktSrcAddr  netip.Addr    `json:"pkt-srcaddr"`
	PktDstAddr  netip.Addr    `json:"pkt-dstaddr"`
	Start       time.Duration `json:"-"`            // first packet
	End         time.Duration `json:"-"`            // last packet
	Type        string        `json:"type"`         // "IPv4" | "IPv6"
	TrafficPath int           `json:"traffic-path"` // egress: FL-16 code (1 inside the VPC, 4 peering, 7 gateway endpoint, 8 internet or egress-only gateway); 0 = '-' (ingress, no route)
}

// FlowLogTCPFlags is a packet's contribution to the tcp-flags field (FL-27):
// FIN, SYN and RST as themselves, and 18 for SYN together with ACK.
func FlowLogTCPFlags(flags uint8) int {
	v := int(flags & (TCPFin | TCPSyn | TCPRst))
	if flags&TCPSyn != 0 && flags&TCPAck != 0 {
		v |= 0x10
	}
	return v
}

// FlowLogger accumulates predicted records for packets walked by a
// PathModel; records keep the order in which their flows first appeared.
type FlowLogger struct {
	T       *vpc.Topology
	records []PredictedRecord
	index   map[flowKey]int
}

type flowKey struct {
	eni, dir, action string
	src, dst         netip.Addr
	sport, dport     int
	proto            int
}

// NewFlowLogger starts an empty prediction for t.
func NewFlowLogger(t *vpc.Topology) *FlowLogger {
	return &FlowLogger{T: t, index: make(map[flowKey]int)}
}

// PredictFlowLog runs packets through the path model (with connection
// tracking and NAT state, in order) and returns the records every ENI's
// flow log would hold for them, as one capture window. Attribution (PATH-7,
// PATH-16, PATH-17, FL-20..22): every ENI the packet leaves logs an egress
// record, REJECT when its SG or its subnet's NACL dropped it, else ACCEPT
// even if it is dropped further on (routing and gateway drops are never
// REJECT); every ENI it reaches logs an ingress record, REJECT when its
// subnet's NACL or its SG dropped it. The sender, each intermediate ENI (a
// NAT gateway's, an appliance's) and the receiver log; gateways without
// ENIs log nothing. Source/destination-check drops are not logged (ENI-5
// [INTERP]); SG-45 traffic never is (FL-7).
func PredictFlowLog(t *vpc.Topology, packets []PathPacket) []PredictedRecord {
	m := NewPathModel(t)
	fl := NewFlowLogger(t)
	for _, pp := range packets {
		path := m.Send(pp.At, pp.Packet)
		fl.Add(pp.At, &path)
	}
	return fl.Records()
}

// Records returns the records so far.
func (f *FlowLogger) Records() []PredictedRecord { return f.records }

// Add accounts one walked packet and the packets the network sent in
// response (Path.Responses).
func (f *FlowLogger) Add(at time.Duration, path *Path) {
	for i := range path.obs {
		f.record(at, &path.obs[i])
	}
	for i := range path.Responses {
		f.Add(at, &path.Responses[i])
	}
}

func (f *FlowLogger) record(at time.Duration, o *flowObs) {
	p := o.p
	src, dst := p.Src.Unmap(), p.Dst.Unmap()
	// FL-8, ENI-4: the ENI's side of an IPv4 record is its primary private
	// address, whatever address the packet carries.
	if src.Is4() && o.eni.Primary.IsValid() {
		if o.egress {
			src = o.eni.Primary
		} else {
			dst = o.eni.Primary
		}
	}
	sport, dport := p.SrcPort, p.DstPort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		sport, dport = 0, 0
	}
	action := "REJECT"
	if o.accept {
		action = "ACCEPT"
	}
	dir := direction(o.egress)
	k := flowKey{eni: o.eni.ID, dir: dir, action: action, src: src, dst: dst, sport: sport, dport: dport, proto: p.Protocol}
	i, ok := f.index[k]
	if !ok {
		typ := "IPv4"
		if src.Is6() {
			typ = "IPv6"
		}
		inst := ""
		if o.eni.Inst != nil {
			inst = o.eni.Inst.ID
		}
		f.records = append(f.records, PredictedRecord{
			ENI: k.eni, InstanceID: inst, Direction: dir, Action: action,
			SrcAddr: src, DstAddr: dst, SrcPort: sport, DstPort: dport, Protocol: p.Protocol,
			PktSrcAddr: p.Src, PktDstAddr: p.Dst, Start: at, Type: typ, TrafficPath: o.trafficPath,
		})
		i = len(f.records) - 1
		f.index[k] = i
	}
	r := &f.records[i]
	r.Packets++
	r.Bytes += int64(p.Length)
	if p.Protocol == vpc.ProtoTCP {
		r.TCPFlags |= FlowLogTCPFlags(p.TCPFlags)
	}
	r.End = at
}
