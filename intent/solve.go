package intent

import (
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// model is one topology with the reference evaluator ready to walk flows.
type model struct {
	t    *vpc.Topology
	pm   *rules.PathModel
	cuts *topoCuts
	// Evals counts the flows walked (forward and return are one).
	evals int
}

func newModel(t *vpc.Topology) *model {
	return &model{t: t, pm: rules.NewPathModel(t), cuts: newTopoCuts(t)}
}

// outcome is what the evaluator says of one flow: its first packet's path
// and, when that arrives and the protocol has a reply, the reply's.
type outcome struct {
	fwd, ret    rules.Path
	retAnalysed bool
}

// forward reports whether the first packet arrives.
func (o *outcome) forward() bool { return o.fwd.Delivered }

// both reports whether the first packet and its reply arrive (a flow with
// no modelled reply counts on its first packet alone).
func (o *outcome) both() bool {
	return o.fwd.Delivered && (!o.retAnalysed || o.ret.Delivered)
}

// verdict is the outcome in three words: allowed (both ways), one-way
// (the reply is blocked) or denied.
func (o *outcome) verdict() string {
	switch {
	case !o.fwd.Delivered:
		return verdictDenied
	case o.retAnalysed && !o.ret.Delivered:
		return verdictOneWay
	}
	return verdictAllowed
}

// Verdicts of a flow.
const (
	verdictAllowed = "allowed"
	verdictOneWay  = "reply blocked"
	verdictDenied  = "denied"
)

// farFuture empties the tracking table between flows (every entry is idle by then).
const farFuture = time.Duration(1 << 62)

// packet is a flow's first packet as its sender puts it on the wire,
// exactly as rules.Explain builds it.
func (f flow) packet() rules.Packet {
	p := rules.Packet{Src: f.src, Dst: f.dst, Protocol: f.proto, Length: 60}
	switch f.proto {
	case vpc.ProtoTCP:
		p.SrcPort, p.DstPort, p.TCPFlags = f.sport, f.l4, rules.TCPSyn
	case vpc.ProtoUDP:
		p.SrcPort, p.DstPort, p.Length = f.sport, f.l4, 28
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		p.ICMPType, p.ICMPCode, p.ICMPID, p.Length = f.l4>>8, f.l4&255, 1, 84
	}
	return p
}

// eval walks f's first packet and its reply with fresh connection
// tracking, as rules.Explain does.
func (m *model) eval(f flow) outcome {
	m.evals++
	o := outcome{fwd: m.pm.Send(0, f.packet())}
	if o.fwd.Delivered && o.fwd.Hops[0].Kind != rules.HopReserved {
		if rp, ok := rules.Reply(o.fwd.Final()); ok {
			o.ret = m.pm.Send(time.Second, rp)
			o.retAnalysed = true
		}
	}
	m.pm.CT.Expire(farFuture)
	return o
}

// collector gathers the cut lists that apply to a box's dimensions from
// the paths of its representative flow.
type collector struct {
	src, dst     [][]u128
	l4, sport    [][]int
	fam, l4k     int
	seen         map[*cuts]bool
	forwardCache bool
}

func (c *collector) add(cs *cuts, ret bool) {
	if cs.empty || c.seen[cs] {
		return
	}
	c.seen[cs] = true
	// On the return path the reply's source is the flow's destination and
	// its destination port the flow's source port.
	srcF, dstF := fieldSrc, fieldDst
	if ret {
		srcF, dstF = fieldDst, fieldSrc
	}
	c.src = append(c.src, cs.addr[srcF][c.fam])
	c.dst = append(c.dst, cs.addr[dstF][c.fam])
	if c.l4k < 0 {
		return
	}
	if ret {
		c.l4 = append(c.l4, cs.sport[c.l4k])
		c.sport = append(c.sport, cs.dport[c.l4k])
	} else {
		c.l4 = append(c.l4, cs.dport[c.l4k])
		c.sport = append(c.sport, cs.sport[c.l4k])
	}
}

func (c *collector) addPaths(m *model, o *outcome) {
	if c.seen == nil {
		c.seen = map[*cuts]bool{}
	}
	c.add(m.cuts.structural, false)
	for i := range o.fwd.Hops {
		c.add(m.cuts.hop(&o.fwd.Hops[i]), false)
	}
	if o.retAnalysed {
		// Components met on both paths may test other fields on the way back.
		clear(c.seen)
		c.add(m.cuts.structural, true)
		for i := range o.ret.Hops {
			c.add(m.cuts.hop(&o.ret.Hops[i]), true)
		}
	}
}

// solve splits b into classes that every model judges uniformly and calls
// leaf for each with the models' outcomes of its representative flow.
//
// It walks the box's representative flow, gathers the boundaries of the
// structural facts and of every component the walk met, and cuts the box at
// those inside it. A box no boundary cuts is a class: every flow in it meets
// the same components (structural boundaries pick them) and each component
// decides them alike (its own boundaries are not crossed), so the walk of
// one stands for all. Otherwise each piece is solved again: its walk may
// meet other components.
//
// extra cuts (in the flow's own orientation) refine the classes further,
// e.g. at the edges of what an intents file mentions.
func solve(ms []*model, extra []*cuts, b0 box, leaf func(b *box, outs []outcome)) {
	stack := []box{b0}
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f := b.rep()
		outs := make([]outcome, len(ms))
		c := collector{fam: 0, l4k: l4Kind(f.proto)}
		if b.src.v6 {
			c.fam = 1
		}
		for i, m := range ms {
			outs[i] = m.eval(f)
			c.addPaths(m, &outs[i])
		}
		for _, x := range extra {
			c.add(x, false)
		}
		subs := b.split(&c)
		if len(subs) == 1 {
			leaf(&b, outs)
			continue
		}
		// The first piece holds the representative: cutting it again by
		// the same boundaries leaves it whole, so it is a class already.
		leaf(&subs[0], outs)
		for i := len(subs) - 1; i >= 1; i-- {
			stack = append(stack, subs[i])
		}
	}
}

// split cuts b along every dimension.
func (b *box) split(c *collector) []box {
	srcs := splitAddr(b.src, c.src...)
	dsts := splitAddr(b.dst, c.dst...)
	l4s := []intRange{b.l4}
	sps := []intRange{b.sport}
	if c.l4k >= 0 {
		l4s = splitInt(b.l4, c.l4...)
		sps = splitInt(b.sport, c.sport...)
	}
	n := len(srcs) * len(dsts) * len(l4s) * len(sps)
	if n == 1 {
		return []box{*b}
	}
	out := make([]box, 0, n)
	for _, s := range srcs {
		for _, d := range dsts {
			for _, l := range l4s {
				for _, sp := range sps {
					out = append(out, box{src: s, dst: d, proto: b.proto, l4: l, sport: sp, from: b.from, to: b.to})
				}
			}
		}
	}
	return out
}
