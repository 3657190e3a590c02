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
	InstanceID  string        `json:"instance-id"`
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
	TrafficPath int           `json:"traffic-path"` // egress: 1 inside the VPC, 8 internet gateway; 0 for ingress
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
// tracking, in order) and returns the records every ENI's flow log would
// hold for them, as one capture window. Attribution (PATH-7, FL-20..22):
// the sender's ENI logs an egress record, REJECT when its SG or NACL
// dropped the packet, else ACCEPT even if it is dropped further on; the
// receiver's ENI logs an ingress record when the packet reached its NACL
// or SG, REJECT when one of them dropped it. SG-45 traffic is never logged
// (FL-7).
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

// Add accounts one walked packet.
func (f *FlowLogger) Add(at time.Duration, path *Path) {
	if len(path.Hops) == 0 || path.Hops[0].Kind == HopReserved {
		return
	}
	if path.From.IsInstance() {
		action := "ACCEPT"
		for i := range path.Hops {
			h := &path.Hops[i]
			if !h.Egress || (h.Kind != HopSecurityGroup && h.Kind != HopNetworkACL) {
				break
			}
			if !h.Allow {
				action = "REJECT"
			}
		}
		tp := 1
		if path.To.Instance == nil || path.hasIGW() {
			tp = 8
		}
		f.record(at, path.From.Instance, true, action, path.Hops[0].In, tp)
	}
	// The receiver's side starts at its NACL or SG ingress hop.
	for i := range path.Hops {
		h := &path.Hops[i]
		if h.Egress || (h.Kind != HopSecurityGroup && h.Kind != HopNetworkACL) {
			continue
		}
		action := "ACCEPT"
		if path.Blocked() != nil {
			action = "REJECT"
		}
		if path.To.Instance != nil {
			f.record(at, path.To.Instance, false, action, h.In, 0)
		}
		break
	}
}

func (p *Path) hasIGW() bool {
	for i := range p.Hops {
		if p.Hops[i].Kind == HopInternetGateway {
			return true
		}
	}
	return false
}

func (f *FlowLogger) record(at time.Duration, in *vpc.Instance, egress bool, action string, p Packet, trafficPath int) {
	src, dst := p.Src.Unmap(), p.Dst.Unmap()
	// FL-8: the ENI's side of an IPv4 record is its primary private address.
	if src.Is4() {
		if egress && src != in.PrivateIP {
			src = in.PrivateIP
		}
		if !egress && dst != in.PrivateIP {
			dst = in.PrivateIP
		}
	}
	sport, dport := p.SrcPort, p.DstPort
	if p.Protocol != vpc.ProtoTCP && p.Protocol != vpc.ProtoUDP {
		sport, dport = 0, 0
	}
	dir := direction(egress)
	k := flowKey{eni: eniName(in), dir: dir, action: action, src: src, dst: dst, sport: sport, dport: dport, proto: p.Protocol}
	i, ok := f.index[k]
	if !ok {
		typ := "IPv4"
		if src.Is6() {
			typ = "IPv6"
		}
		f.records = append(f.records, PredictedRecord{
			ENI: k.eni, InstanceID: in.ID, Direction: dir, Action: action,
			SrcAddr: src, DstAddr: dst, SrcPort: sport, DstPort: dport, Protocol: p.Protocol,
			PktSrcAddr: p.Src, PktDstAddr: p.Dst, Start: at, Type: typ, TrafficPath: trafficPath,
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
