package lab

import (
	"errors"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// trafficMirror makes a change of Traffic Mirroring's targets, filters and
// sessions live: the SG programs get the desired sessions at once
// (loader.SG.SetMirror; the next packet meets them), and the flow logs
// exclude the desired sessions' copies (FL-42). Targets and filters no
// session uses, descriptions and tags need no step. Sessions need the SG
// programs loaded with mirroring compiled in: a topology that came up
// without any traffic_mirror object cannot get a session live.
func (c *change) trafficMirror() error {
	c.rest.TrafficMirror = c.cur.TrafficMirror
	if samePosFree(mirrorDatapath(c.cur), mirrorDatapath(c.next)) {
		return nil
	}
	d := c.l.dp
	if d == nil || d.sg == nil {
		return nil
	}
	cur, next, plan := c.cur, c.next, c.l.plan
	if !d.sg.Mirroring() && len(next.TrafficMirror.Sessions) > 0 {
		return &NotLiveError{Change: "traffic mirror session " + next.TrafficMirror.Sessions[0].ID,
			Reason: "this topology came up without Traffic Mirroring, so its datapath has mirroring compiled out; nothing was changed. " +
				"Declare a traffic_mirror target or filter in the topology file (vpcemu export writes the ones made so far) and run vpcemu down and up"}
	}
	l := c.l
	setExclude := func(t *vpc.Topology) error {
		l.flowMu.Lock()
		defer l.flowMu.Unlock()
		if l.flows == nil {
			return nil
		}
		for _, s := range l.flows.subs {
			s.agg.SetExclude(flowlog.NewExclusions(t))
		}
		return nil
	}
	c.add(Step{What: "flow logs: mirrored copies",
		Do:   func() error { return setExclude(next) },
		Undo: func() error { return setExclude(cur) }})
	c.add(Step{What: "traffic mirror sessions",
		Do: func() error {
			err := d.sg.SetMirror(next, plan)
			if errors.Is(err, loader.ErrMirrorCompiledOut) {
				return &NotLiveError{Change: "traffic_mirror", Reason: err.Error()}
			}
			return err
		},
		Undo: func() error { return d.sg.SetMirror(cur, plan) }})
	return nil
}

// mirrorDatapath is what of t's Traffic Mirroring the datapath holds:
// each session with its target's ENI and its filter's rules, without
// descriptions, tags and rule ids.
func mirrorDatapath(t *vpc.Topology) []mirrorWire {
	var out []mirrorWire
	for _, s := range t.TrafficMirror.Sessions {
		w := mirrorWire{ID: s.ID, Source: s.Source, Number: s.Number, VNI: s.VNI, PacketLength: s.PacketLength}
		if tg := t.MirrorTarget(s.Target); tg != nil {
			w.TargetENI = tg.ENI
		}
		if f := t.MirrorFilter(s.Filter); f != nil {
			w.In, w.Out = ruleWires(f.Inbound), ruleWires(f.Outbound)
		}
		out = append(out, w)
	}
	return out
}

type mirrorWire struct {
	ID, Source, TargetENI     string
	Number, VNI, PacketLength int
	In, Out                   []vpc.MirrorRule
}

func ruleWires(rs []vpc.MirrorRule) []vpc.MirrorRule {
	out := make([]vpc.MirrorRule, len(rs))
	for i, r := range rs {
		r.ID, r.Description = "", ""
		out[i] = r
	}
	return out
}
