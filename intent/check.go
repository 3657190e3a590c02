package intent

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Flow is one concrete flow: the first packet of a connection attempt.
type Flow struct {
	From     string     `json:"from"` // instance id, host name, or the address
	To       string     `json:"to"`
	Src      netip.Addr `json:"src"`
	Dst      netip.Addr `json:"dst"` // as the sender addresses it (an instance's public IP from the internet)
	Protocol int        `json:"protocol"`
	SrcPort  int        `json:"src_port,omitempty"`
	DstPort  int        `json:"dst_port,omitempty"`
	ICMPType int        `json:"icmp_type,omitempty"`
	ICMPCode int        `json:"icmp_code,omitempty"`
}

func (f Flow) String() string {
	switch f.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return fmt.Sprintf("%s -> %s %s %s:%d -> %s:%d", f.From, f.To, protoName(f.Protocol),
			f.Src, f.SrcPort, f.Dst, f.DstPort)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		return fmt.Sprintf("%s -> %s %s type %d code %d %s -> %s", f.From, f.To, protoName(f.Protocol),
			f.ICMPType, f.ICMPCode, f.Src, f.Dst)
	}
	return fmt.Sprintf("%s -> %s %s %s -> %s", f.From, f.To, protoName(f.Protocol), f.Src, f.Dst)
}

// Query is the rules.Query that explains f.
func (f Flow) Query() rules.Query {
	q := rules.Query{From: f.Src.String(), To: f.Dst.String(), Protocol: f.Protocol, IPv6: f.Src.Is6()}
	switch f.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		q.Port, q.SourcePort = f.DstPort, f.SrcPort
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		q.ICMPType, q.ICMPCode = f.ICMPType, f.ICMPCode
	}
	return q
}

func (t *model) exportFlow(f flow) Flow {
	out := Flow{From: t.name(f.src), To: t.name(f.dst), Src: f.src, Dst: f.dst, Protocol: f.proto}
	switch f.proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		out.SrcPort, out.DstPort = f.sport, f.l4
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		out.ICMPType, out.ICMPCode = f.l4>>8, f.l4&255
	}
	return out
}

// Class is one equivalence class of an intent's flows and how the
// evaluator judges all of them (by its representative flow). Classes of an
// intent without both_ways are decided by the first packet alone: their
// replies are not analysed (ReturnAnalysed false, Verdict allowed or
// denied for the first packet).
type Class struct {
	Flow    Flow    `json:"representative"`
	Flows   float64 `json:"flows"`   // how many flows the class holds
	Verdict string  `json:"verdict"` // allowed, reply blocked, denied
	Forward bool    `json:"forward_delivered"`
	// Return is whether the reply arrives; ReturnAnalysed is false when the
	// first packet did not arrive or the protocol has no modelled reply.
	Return         bool `json:"return_delivered"`
	ReturnAnalysed bool `json:"return_analysed"`
	Holds          bool `json:"holds"`

	l4, sports intRange // the class's destination and source ports
}

// Counterexample is a flow that contradicts an intent, and why.
type Counterexample struct {
	Flow    Flow   `json:"flow"`
	Verdict string `json:"verdict"`
	// Rules decided it: the blocking rule for a flow that should pass, the
	// allowing rules for one that should not.
	Rules    []Rule          `json:"rules"`
	Explain  string          `json:"explain"` // the evaluator's walk (vpcemu explain)
	Analysis *rules.Analysis `json:"analysis,omitempty"`
}

// Result is the decision of one intent over every flow it covers.
type Result struct {
	Intent  *Intent `json:"-"`
	Holds   bool    `json:"holds"`
	Flows   float64 `json:"flows"`   // flows covered
	Classes []Class `json:"-"`       // every class, in order
	NClass  int     `json:"classes"` // len(Classes)
	Failing int     `json:"failing_classes"`
	// Counterexample is the first failing class's representative flow.
	Counterexample *Counterexample `json:"counterexample,omitempty"`
}

// Checker decides intents over one topology.
type Checker struct {
	T      *vpc.Topology
	m      *model
	ex     *rules.Explainer
	rs     *resolver
	protos []protoClass
}

// NewChecker prepares the evaluator for t.
func NewChecker(t *vpc.Topology) *Checker {
	ex := rules.NewExplainer(t)
	return &Checker{T: t, m: newModelWith(t, ex.PathModel()), ex: ex, rs: &resolver{t: t}, protos: protoClasses(t)}
}

// Evaluations is how many flows the checker has walked.
func (c *Checker) Evaluations() int { return c.m.evals }

// Validate resolves every endpoint of f against the topology: an unknown
// endpoint, or an intent that covers no flow, is an error at its place.
func (c *Checker) Validate(f *File) error {
	e := &errs{file: f.Path}
	for i := range f.Intents {
		in := &f.Intents[i]
		ok := true
		for _, side := range [][]Endpoint{in.From, in.To} {
			for _, ep := range side {
				if _, err := c.rs.resolve(ep.Text); err != nil {
					e.atPos(ep.Pos, in.Field, "%v", err)
					ok = false
				}
			}
		}
		if !ok || in.bad {
			continue
		}
		if boxes, _ := c.boxes(in); len(boxes) == 0 {
			e.atPos(in.ExprPos, join(in.Field, in.Kind()), "covers no flow: %s (an instance never sends to itself; icmp is IPv4 only and icmpv6 IPv6 only; both ends need an address of one family)", in.Describe())
		}
	}
	return e.err()
}

// protoClasses splits protocols 0-255 into the classes the rules tell
// apart: every protocol a rule names, the ones the evaluator treats
// specially, and the rest as one class.
func protoClasses(ts ...*vpc.Topology) []protoClass {
	named := map[int]bool{vpc.ProtoICMP: true, vpc.ProtoTCP: true, vpc.ProtoUDP: true, vpc.ProtoICMPv6: true}
	for _, t := range ts {
		for i := range t.SecurityGroups {
			for _, l := range [][]vpc.SGRule{t.SecurityGroups[i].Ingress, t.SecurityGroups[i].Egress} {
				for _, r := range l {
					if r.Protocol >= 0 && r.Protocol < 256 {
						named[r.Protocol] = true
					}
				}
			}
		}
		for i := range t.NetworkACLs {
			for _, l := range [][]vpc.NACLRule{t.NetworkACLs[i].Ingress, t.NetworkACLs[i].Egress} {
				for _, r := range l {
					if r.Protocol >= 0 && r.Protocol < 256 {
						named[r.Protocol] = true
					}
				}
			}
		}
	}
	var out []protoClass
	var rest []intRange
	for p := range 256 {
		if named[p] {
			out = append(out, protoClass{rep: p, ranges: []intRange{{p, p}}})
			continue
		}
		if n := len(rest); n > 0 && rest[n-1].hi == p-1 {
			rest[n-1].hi = p
		} else {
			rest = append(rest, intRange{p, p})
		}
	}
	if len(rest) > 0 {
		out = append(out, protoClass{rep: rest[0].lo, ranges: rest})
	}
	return out
}

func single(p int) *protoClass { return &protoClass{rep: p, ranges: []intRange{{p, p}}} }

// boxes lays out every flow in covers: one box per sender and receiver
// address (or range), protocol class and port range.
func (c *Checker) boxes(in *Intent) ([]box, error) {
	srcs, err := c.atoms(in.From)
	if err != nil {
		return nil, err
	}
	dsts, err := c.atoms(in.To)
	if err != nil {
		return nil, err
	}
	var protos []*protoClass
	if in.Protocol == vpc.ProtoAll {
		for i := range c.protos {
			protos = append(protos, &c.protos[i])
		}
	} else {
		protos = []*protoClass{single(in.Protocol)}
	}
	return layout(srcs, dsts, protos, in), nil
}

func (c *Checker) atoms(es []Endpoint) ([]atom, error) {
	var out []atom
	for _, e := range es {
		as, err := c.rs.resolve(e.Text)
		if err != nil {
			return nil, err
		}
		out = append(out, as...)
	}
	return out, nil
}

// layout is the boxes of every (sender, receiver, protocol, port range);
// in may be nil (every port, default source ports).
func layout(srcs, dsts []atom, protos []*protoClass, in *Intent) []box {
	var out []box
	type pairKey struct{ s, d addrRange }
	seen := map[pairKey]bool{}
	for si := range srcs {
		s := &srcs[si]
		for di := range dsts {
			d := &dsts[di]
			if s.r.v6 != d.r.v6 {
				continue
			}
			if s.kind != atomRange && s.kind == d.kind && s.name == d.name {
				continue // never to itself
			}
			dr := d.target(s)
			key := pairKey{s.r, dr}
			if seen[key] {
				continue // an endpoint listed twice, or in two groups
			}
			seen[key] = true
			for _, pc := range protos {
				p := pc.rep
				if in != nil && ((in.Protocol == vpc.ProtoICMP && s.r.v6) || (in.Protocol == vpc.ProtoICMPv6 && !s.r.v6)) {
					continue // icmp is IPv4's, icmpv6 IPv6's
				}
				for _, l4 := range l4Ranges(p, s.r.v6, in) {
					for _, sp := range sportRanges(p, s, in) {
						out = append(out, box{src: s.r, dst: dr, proto: pc, l4: l4, sport: sp, from: s.name, to: d.name})
					}
				}
			}
		}
	}
	return out
}

func l4Ranges(p int, v6 bool, in *Intent) []intRange {
	switch p {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if in == nil || in.Ports == nil || in.Protocol == vpc.ProtoAll {
			return []intRange{{0, 65535}}
		}
		var out []intRange
		for _, r := range in.Ports {
			out = append(out, intRange{r.From, r.To})
		}
		return out
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if in == nil || in.Protocol == vpc.ProtoAll || (in.ICMPTypeSet && in.ICMPType < 0) {
			return []intRange{{0, 65535}}
		}
		typ := 8
		if p == vpc.ProtoICMPv6 {
			typ = 128
		}
		code := 0
		if in.ICMPTypeSet {
			typ, code = in.ICMPType, -1 // a type given: every code unless one is
		}
		if in.ICMPCode >= 0 {
			code = in.ICMPCode
		} else if in.ICMPCode == -1 {
			code = -1
		}
		if code < 0 {
			return []intRange{{typ << 8, typ<<8 | 255}}
		}
		return []intRange{{typ<<8 | code, typ<<8 | code}}
	}
	return []intRange{{0, 0}}
}

func sportRanges(p int, s *atom, in *Intent) []intRange {
	if p != vpc.ProtoTCP && p != vpc.ProtoUDP {
		return []intRange{{0, 0}}
	}
	if in != nil && in.SourcePorts != nil && in.Protocol != vpc.ProtoAll {
		var out []intRange
		for _, r := range in.SourcePorts {
			out = append(out, intRange{r.From, r.To})
		}
		return out
	}
	return []intRange{s.sports()}
}

// holds says whether one class satisfies the intent.
func (in *Intent) holds(o *outcome) bool {
	ok := o.forward()
	if in.BothWays {
		ok = o.both()
	}
	return ok == in.Reach
}

// Check decides in over every flow it covers.
func (c *Checker) Check(in *Intent) (*Result, error) {
	boxes, err := c.boxes(in)
	if err != nil {
		return nil, err
	}
	res := &Result{Intent: in, Holds: true}
	var first *outcome
	var firstBox box
	ms := []*model{c.m}
	for _, b := range boxes {
		solveWith(ms, solveOpts{forwardOnly: !in.BothWays}, b, func(cb *box, outs []outcome) {
			o := &outs[0]
			ok := in.holds(o)
			n := cb.size()
			res.Flows += n
			cl := Class{Flow: c.m.exportFlow(cb.rep()), Flows: n, Verdict: o.verdict(), Forward: o.fwd.Delivered,
				Return: o.retAnalysed && o.ret.Delivered, ReturnAnalysed: o.retAnalysed, Holds: ok, l4: cb.l4, sports: cb.sport}
			res.Classes = append(res.Classes, cl)
			if !ok {
				res.Failing++
				if first == nil {
					oc := o.keep()
					first, firstBox = &oc, *cb
				}
			}
		})
	}
	res.NClass = len(res.Classes)
	if first != nil {
		res.Holds = false
		if !in.BothWays {
			// The class was decided by its first packet; the example
			// shows the whole exchange.
			o := c.m.eval(firstBox.rep())
			first = &o
		}
		res.Counterexample = c.counterexample(firstBox.rep(), first, in.BothWays)
	}
	return res, nil
}

// counterexample explains one flow.
func (c *Checker) counterexample(f flow, o *outcome, ret bool) *Counterexample {
	ff := c.m.exportFlow(f)
	ce := &Counterexample{Flow: ff, Verdict: o.verdict(), Rules: deciders(c.T, o, ret)}
	a := c.ex.Explain(ff.Query())
	var b strings.Builder
	_ = a.WriteText(&b)
	ce.Explain, ce.Analysis = b.String(), a
	return ce
}

// CheckFile decides every intent of f, in order.
func (c *Checker) CheckFile(f *File) ([]*Result, error) {
	var out []*Result
	for i := range f.Intents {
		r, err := c.Check(&f.Intents[i])
		if err != nil {
			return out, fmt.Errorf("%s: %w", f.Intents[i].Field, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// sortClasses orders classes by flow for stable output.
func sortClasses(cs []Class) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].Flow, cs[j].Flow
		if c := a.Src.Compare(b.Src); c != 0 {
			return c < 0
		}
		if c := a.Dst.Compare(b.Dst); c != 0 {
			return c < 0
		}
		if a.Protocol != b.Protocol {
			return a.Protocol < b.Protocol
		}
		if a.DstPort != b.DstPort {
			return a.DstPort < b.DstPort
		}
		return a.SrcPort < b.SrcPort
	})
}
