package webui

import (
	"time"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// LabSource is a running lab.Lab as a Source.
type LabSource struct{ Lab *lab.Lab }

// Topology implements Source.
func (s LabSource) Topology() *vpc.Topology { return s.Lab.Topology() }

// Status implements Source.
func (s LabSource) Status() *lab.Status { return s.Lab.Status() }

// Observe implements Source.
func (s LabSource) Observe(sink Sink) (stop func()) {
	return s.Lab.Observe(lab.Observer{
		Drop: func(d *lab.Drop) {
			ev := dropEvent(d)
			sink.Drop(&ev)
		},
		Flows: func(_ time.Time, samples []flowlog.Sample) {
			if evs := flowEvents(s.Lab.Topology(), samples); len(evs) > 0 {
				sink.Flows(evs)
			}
		},
		Records: func(id, header string, lines []string, _ []flowlog.Record) {
			sink.Records(Records{FlowLog: id, Header: header, Lines: lines, Time: time.Now().UTC()})
		},
	})
}

// dropEvent is the one place that reads lab.Drop.
func dropEvent(d *lab.Drop) Event {
	return Event{Kind: KindDrop, Time: d.Time, Instance: d.Instance, ENI: d.ENI, Direction: d.Direction,
		Component: d.Component, Protocol: d.Protocol, Src: d.Src, Dst: d.Dst, SrcPort: d.SrcPort, DstPort: d.DstPort,
		TCPFlags: d.TCPFlags, ICMPType: d.ICMPType, ICMPCode: d.ICMPCode, Reason: d.Reason, ACL: d.ACL,
		RuleNumber: d.RuleNumber, Rule: d.Rule, SecurityGroups: d.SecurityGroups, Packets: uint64(max(d.Packets, 1))}
}

// flowEvents are the accepted flows of one drain (rejected ones arrive as
// drops, with their reason).
func flowEvents(t *vpc.Topology, samples []flowlog.Sample) []Event {
	owner := map[string]string{}
	for _, in := range t.Instances {
		owner[in.ENI.ID] = in.ID
		for _, e := range in.Secondary {
			owner[e.ID] = in.ID
		}
	}
	var out []Event
	for i := range samples {
		s := &samples[i]
		if s.Reject {
			continue
		}
		dir := "inbound"
		if s.Egress {
			dir = "outbound"
		}
		when := s.Last
		if when.IsZero() {
			when = time.Now()
		}
		out = append(out, Event{Kind: KindFlow, Time: when.UTC(), Instance: owner[s.ENI], ENI: s.ENI, Direction: dir,
			Protocol: int(s.Protocol), Src: s.Src.String(), Dst: s.Dst.String(), SrcPort: int(s.SrcPort), DstPort: int(s.DstPort),
			TCPFlags: s.TCPFlags, Packets: s.Packets, Bytes: s.Bytes})
	}
	return out
}
