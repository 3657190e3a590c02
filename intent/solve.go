package intent

import (
	"net/netip"
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// model is one topology with the reference evaluator ready to walk flows.
type model struct {
	t    *vpc.Topology
	pm   *rules.PathModel
	cuts *topoCuts
	// owners names every address an instance or host has (private,
	// secondary, IPv6, public, Elastic IP); public maps an instance's
	// private IPv4 to its public one.
	owners map[netip.Addr]*owner
	// Evals counts the flows walked (forward and return are one).
	evals   int
	scratch *solveScratch
}

// owner is who holds an address.
type owner struct {
	name   string        // instance id or host name
	inst   *vpc.Instance // nil for a host
	public netip.Addr    // the public IPv4 of this private address, if any
}

func newModel(t *vpc.Topology) *model {
	pm := rules.NewPathModel(t)
	pm.Static = true
	return newModelWith(t, pm)
}

// newModelWith is newModel walking with pm (a Static model of t).
func newModelWith(t *vpc.Topology, pm *rules.PathModel) *model {
	m := &model{t: t, pm: pm, cuts: newTopoCuts(t), owners: map[netip.Addr]*owner{}}
	set := func(a netip.Addr, o *owner) {
		if a.IsValid() {
			if _, dup := m.owners[a.Unmap()]; !dup {
				m.owners[a.Unmap()] = o
			}
		}
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		for _, e := range in.ENIs() {
			o := &owner{name: in.ID, inst: in, public: e.PublicIP}
			set(e.PrivateIP, o)
			for _, a := range e.SecondaryIPs {
				set(a, &owner{name: in.ID, inst: in})
			}
			set(e.IPv6, &owner{name: in.ID, inst: in})
			set(e.PublicIP, &owner{name: in.ID, inst: in})
		}
	}
	for i := range t.ElasticIPs {
		eip := &t.ElasticIPs[i]
		in := t.InstanceByENI(eip.ENI)
		if in == nil {
			in = t.Instance(eip.ENI)
		}
		if in != nil {
			set(eip.PublicIP, &owner{name: in.ID, inst: in})
			if o := m.owners[eip.PrivateIP]; o != nil && !o.public.IsValid() {
				o.public = eip.PublicIP
			} else if o == nil && in.PrivateIP.IsValid() {
				if p := m.owners[in.PrivateIP]; p != nil && !p.public.IsValid() && !eip.PrivateIP.IsValid() {
					p.public = eip.PublicIP
				}
			}
		}
	}
	for i := range t.Internet {
		h := &t.Internet[i]
		set(h.IP, &owner{name: h.Name})
		set(h.IPv6, &owner{name: h.Name})
	}
	return m
}

// name is who holds a: an instance id, a host name, or the address.
func (m *model) name(a netip.Addr) string {
	if o := m.owners[a.Unmap()]; o != nil {
		return o.name
	}
	return a.String()
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

// keep is a copy of o that the next walk into o's storage leaves intact.
func (o *outcome) keep() outcome {
	return outcome{fwd: o.fwd.Clone(), ret: o.ret.Clone(), retAnalysed: o.retAnalysed}
}

// eval walks f's first packet and its reply with fresh connection
// tracking, as rules.Explain does.
func (m *model) eval(f flow) outcome {
	var o outcome
	m.walk(&o, f, true)
	return o
}

// walk is eval into o, reusing its paths' storage, that leaves the reply
// out unless reply is set.
func (m *model) walk(o *outcome, f flow, reply bool) {
	m.evals++
	m.pm.SendInto(&o.fwd, 0, f.packet())
	o.ret.Reset()
	o.retAnalysed = false
	if reply && o.fwd.Delivered && o.fwd.Hops[0].Kind != rules.HopReserved {
		if rp, ok := rules.Reply(o.fwd.Final()); ok {
			m.pm.SendInto(&o.ret, time.Second, rp)
			o.retAnalysed = true
		}
	}
	// Every flow starts from empty state: tracking, NAT gateway mappings
	// and egress-only gateway flows.
	m.pm.Reset()
}

// collector gathers the cuts that apply to a box's dimensions from the
// paths of its representative flow.
type collector struct {
	b               *box
	src, dst        [][]u128 // sorted lists
	l4, sport       [][]int
	srcPts, dstPts  []u128 // from rules, unsorted
	l4Pts, sportPts []int
	fam, l4k        int
	seen            map[seenKey]bool
}

type seenKey struct {
	c   *cuts
	ret bool
}

// flowAddr is the flow dimension a packet address field is on: on the
// return path the reply's source is the flow's destination.
func (c *collector) flowAddr(f pktField, ret bool) (*addrRange, *[]u128) {
	if (f == fieldSrc) != ret {
		return &c.b.src, &c.srcPts
	}
	return &c.b.dst, &c.dstPts
}

// flowPort is the flow dimension a packet port field is on: on the return
// path the reply's destination port is the flow's source port.
func (c *collector) flowPort(f portField, ret bool) (*intRange, *[]int) {
	if (f == fieldDport) != ret {
		return &c.b.l4, &c.l4Pts
	}
	return &c.b.sport, &c.sportPts
}

func (c *collector) add(cs *cuts, ret bool, in *rules.Packet) {
	if cs.empty || c.seen[seenKey{cs, ret}] {
		return
	}
	c.seen[seenKey{cs, ret}] = true
	srcF, dstF := fieldSrc, fieldDst
	if ret {
		srcF, dstF = fieldDst, fieldSrc
	}
	c.src = append(c.src, cs.addr[srcF][c.fam])
	c.dst = append(c.dst, cs.addr[dstF][c.fam])
	if c.l4k >= 0 {
		if ret {
			c.l4 = append(c.l4, cs.sport[c.l4k])
			c.sport = append(c.sport, cs.dport[c.l4k])
		} else {
			c.l4 = append(c.l4, cs.dport[c.l4k])
			c.sport = append(c.sport, cs.sport[c.l4k])
		}
	}
	// Each packet field's values at this hop: the box's, or when the box
	// holds one address there, the one the packet carries (after NAT).
	var at [2]addrRange
	for f := range at {
		dim, _ := c.flowAddr(pktField(f), ret)
		at[f] = *dim
		if at[f].single() && in != nil {
			a := in.Src
			if pktField(f) == fieldDst {
				a = in.Dst
			}
			at[f] = singleAddr(a)
		}
	}
	own, all := cs.protoRules(c.b.proto.rep)
	for _, list := range [2][]int32{own, all} {
		for _, i := range list {
			c.rule(&cs.rules[i], ret, in, &at)
		}
	}
}

// rule adds r's boundaries when r can match a flow of the box at this hop,
// whose address fields hold at.
func (c *collector) rule(r *cutRule, ret bool, in *rules.Packet, at *[2]addrRange) {
	a := &at[r.peerField]
	hit := false
	for i := range r.peers {
		p := &r.peers[i]
		if p.v6 == a.v6 && !p.hi.less(a.lo) && !a.hi.less(p.lo) {
			hit = true
			break
		}
	}
	if !hit {
		return
	}
	var ppts *[]int
	if r.restrict {
		var pdim *intRange
		pdim, ppts = c.flowPort(r.portField, ret)
		pr := *pdim
		if c.l4k == l4ICMP && ret && in != nil {
			pr = intRange{in.ICMPType<<8 | in.ICMPCode, in.ICMPType<<8 | in.ICMPCode}
		}
		if r.ports.hi < pr.lo || r.ports.lo > pr.hi {
			return
		}
	}
	_, pts := c.flowAddr(r.peerField, ret)
	for _, p := range r.peers {
		if p.v6 == a.v6 {
			addAddrRange(pts, p)
		}
	}
	if r.restrict {
		addRange(ppts, r.ports.lo, r.ports.hi)
	}
}

func (c *collector) reset(b *box, l4k int) {
	c.b, c.l4k, c.fam = b, l4k, 0
	if b.src.v6 {
		c.fam = 1
	}
	c.src, c.dst, c.l4, c.sport = c.src[:0], c.dst[:0], c.l4[:0], c.sport[:0]
	c.srcPts, c.dstPts, c.l4Pts, c.sportPts = c.srcPts[:0], c.dstPts[:0], c.l4Pts[:0], c.sportPts[:0]
	clear(c.seen)
}

func (c *collector) addPaths(m *model, o *outcome) {
	c.add(m.cuts.structural, false, nil)
	for i := range o.fwd.Hops {
		c.add(m.cuts.hop(&o.fwd.Hops[i]), false, &o.fwd.Hops[i].In)
	}
	if o.retAnalysed {
		c.add(m.cuts.structural, true, nil)
		for i := range o.ret.Hops {
			c.add(m.cuts.hop(&o.ret.Hops[i]), true, &o.ret.Hops[i].In)
		}
	}
}

// solve splits b into classes that every model judges uniformly and calls
// leaf for each with the models' outcomes of its representative flow; the
// outcomes' storage is reused after leaf returns (outcome.keep copies).
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
	solveWith(ms, solveOpts{extra: extra}, b0, leaf)
}

// solveOpts refine solve.
type solveOpts struct {
	extra []*cuts
	// prune drops the boxes that need no decision.
	prune func(*box) bool
	// forwardOnly decides by the first packet alone: replies are not
	// walked and their boundaries do not split classes.
	forwardOnly bool
}

// solveScratch is solveWith's working storage, which the leading model
// keeps between calls: the walks reuse their paths' storage, the splits
// their lists.
type solveScratch struct {
	busy        bool
	c           collector
	stack, subs []box
	outs        []outcome
	srcs, dsts  []addrRange
	l4s, sps    []intRange
	addrPts     []u128
	intPts      []int
}

func solveWith(ms []*model, o solveOpts, b0 box, leaf func(b *box, outs []outcome)) {
	s := ms[0].scratch
	if s == nil || s.busy {
		s = &solveScratch{c: collector{seen: map[seenKey]bool{}}}
		if ms[0].scratch == nil {
			ms[0].scratch = s
		}
	}
	s.busy = true
	defer func() { s.busy = false }()
	if len(s.outs) != len(ms) {
		s.outs = make([]outcome, len(ms))
	}
	extra, prune := o.extra, o.prune
	c, outs := &s.c, s.outs
	stack := append(s.stack[:0], b0)
	defer func() { s.stack = stack[:0] }()
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if prune != nil && prune(&b) {
			continue
		}
		f := b.rep()
		c.reset(&b, l4Kind(f.proto))
		for i, m := range ms {
			m.walk(&outs[i], f, !o.forwardOnly)
			c.addPaths(m, &outs[i])
		}
		for _, x := range extra {
			c.add(x, false, nil)
		}
		s.subs = b.split(c, s)
		if len(s.subs) == 1 {
			leaf(&b, outs)
			continue
		}
		// The first piece holds the representative: cutting it again by
		// the same boundaries leaves it whole, so it is a class already.
		leaf(&s.subs[0], outs)
		for i := len(s.subs) - 1; i >= 1; i-- {
			stack = append(stack, s.subs[i])
		}
	}
}

// split cuts b along every dimension into s.subs (its storage reused).
func (b *box) split(c *collector, s *solveScratch) []box {
	s.srcs = appendSplitAddr(s.srcs[:0], &s.addrPts, b.src, append(c.src, sortAddrCuts(c.srcPts))...)
	s.dsts = appendSplitAddr(s.dsts[:0], &s.addrPts, b.dst, append(c.dst, sortAddrCuts(c.dstPts))...)
	s.l4s = append(s.l4s[:0], b.l4)
	s.sps = append(s.sps[:0], b.sport)
	if c.l4k >= 0 {
		s.l4s = appendSplitInt(s.l4s[:0], &s.intPts, b.l4, append(c.l4, sortIntCuts(c.l4Pts))...)
		s.sps = appendSplitInt(s.sps[:0], &s.intPts, b.sport, append(c.sport, sortIntCuts(c.sportPts))...)
	}
	out := s.subs[:0]
	if len(s.srcs)*len(s.dsts)*len(s.l4s)*len(s.sps) == 1 {
		return append(out, *b)
	}
	for _, sr := range s.srcs {
		for _, d := range s.dsts {
			for _, l := range s.l4s {
				for _, sp := range s.sps {
					out = append(out, box{src: sr, dst: d, proto: b.proto, l4: l, sport: sp, from: b.from, to: b.to})
				}
			}
		}
	}
	return out
}
