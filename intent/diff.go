package intent

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Change is a group of flows whose verdict differs between two topologies:
// same endpoints, protocol, verdicts and responsible rules.
type Change struct {
	Kind     string  `json:"kind"` // newly allowed, newly denied, reply newly blocked, ...
	From     string  `json:"from"` // endpoint: instance id, host name or "internet"
	To       string  `json:"to"`
	Protocol string  `json:"protocol"`
	Ports    string  `json:"ports,omitempty"`        // destination ports (or ICMP types) that change
	Sources  string  `json:"source_ports,omitempty"` // when only some of the sender's ports change
	Addrs    string  `json:"addresses,omitempty"`    // when only some addresses of an internet endpoint change
	Old      string  `json:"old"`                    // verdict before: allowed, reply blocked, denied
	New      string  `json:"new"`
	OldRules []Rule  `json:"old_rules"` // what decided before
	NewRules []Rule  `json:"new_rules"` // what decides now
	Example  Flow    `json:"example"`
	Classes  int     `json:"classes"`
	Flows    float64 `json:"flows"`

	l4, sports []intRange
	addrs      []addrRange
	fullSports intRange
	fullAddrs  float64
	proto      int
}

// DiffResult is every verdict change between two topologies.
type DiffResult struct {
	Changes []Change `json:"changes"`
	Pairs   int      `json:"endpoint_pairs"`         // sender/receiver pairs compared
	Skipped int      `json:"endpoint_pairs_skipped"` // pairs no change can touch
	Classes int      `json:"classes"`
}

// changeKind names a verdict change.
func changeKind(old, new string) string {
	switch {
	case new == verdictAllowed:
		return "newly allowed"
	case new == verdictDenied:
		return "newly denied"
	case old == verdictAllowed:
		return "reply newly blocked"
	}
	return "request newly allowed, reply blocked"
}

// Diff compares every flow between the instances of old and new and the
// internet, exhaustively over the classes both topologies tell apart, and
// returns the flows whose verdict changes.
func Diff(old, new *vpc.Topology) *DiffResult {
	mo, mn := newModel(old), newModel(new)
	protos := protoClasses(old, new)
	var pp []*protoClass
	for i := range protos {
		pp = append(pp, &protos[i])
	}
	ro, rn := &resolver{t: old}, &resolver{t: new}
	// Endpoints: every instance of either topology (as new has it, if it
	// has it), and the internet outside both.
	var ins []atom
	seen := map[string]bool{}
	for _, t := range []*vpc.Topology{new, old} {
		rs := rn
		if t == old {
			rs = ro
		}
		for i := range t.Instances {
			if !seen[t.Instances[i].ID] {
				seen[t.Instances[i].ID] = true
				ins = append(ins, rs.instance(&t.Instances[i])...)
			}
		}
	}
	inet, _ := rn.resolve(Internet)
	inet = outsideOf(old, inet)
	fpo, fpn := footprints(old, mo.cuts), footprints(new, mn.cuts)
	deltas := map[string]*delta{}
	deltaOf := func(name string) *delta {
		if deltas[name] == nil {
			deltas[name] = instanceDelta(fpo, fpn, name)
		}
		return deltas[name]
	}
	res := &DiffResult{}
	groups := map[string]*Change{}
	var order []string
	ms := []*model{mo, mn}
	pair := func(s, d *atom) {
		res.Pairs++
		dl := union(deltaOf(s.name), deltaOf(d.name))
		if diffWhole {
			dl.all = true
		}
		if dl.empty() {
			res.Skipped++
			return
		}
		var boxes []box
		for _, b := range layout([]atom{*s}, []atom{*d}, pp, &Intent{Protocol: vpc.ProtoAll}) {
			boxes = append(boxes, dl.restrict(b)...)
		}
		prune := func(b *box) bool { return !dl.touches(b, mo, mn) }
		for _, b := range boxes {
			solveWith(ms, solveOpts{prune: prune}, b, func(cb *box, outs []outcome) {
				res.Classes++
				vo, vn := outs[0].verdict(), outs[1].verdict()
				if vo == vn {
					return
				}
				or, nr := responsible(old, new, &outs[0], &outs[1])
				kind := changeKind(vo, vn)
				key := strings.Join([]string{kind, s.name, d.name, cb.proto.String(), rulesText(or), rulesText(nr)}, "|")
				g := groups[key]
				if g == nil {
					f := cb.rep()
					g = &Change{Kind: kind, From: s.name, To: d.name, Protocol: cb.proto.String(), Old: vo, New: vn,
						OldRules: or, NewRules: nr, Example: mn.exportFlow(f), proto: f.proto, fullSports: s.sports()}
					for _, a := range inet {
						if (s.kind == atomRange || d.kind == atomRange) && a.r.v6 == s.r.v6 {
							g.fullAddrs += a.r.count()
						}
					}
					groups[key] = g
					order = append(order, key)
				}
				g.Classes++
				g.Flows += cb.size()
				g.l4 = append(g.l4, cb.l4)
				g.sports = append(g.sports, cb.sport)
				if s.kind == atomRange {
					g.addrs = append(g.addrs, cb.src)
				} else if d.kind == atomRange {
					g.addrs = append(g.addrs, cb.dst)
				}
			})
		}
	}
	all := append(append([]atom(nil), ins...), inet...)
	for i := range ins {
		for j := range all {
			pair(&ins[i], &all[j])
		}
	}
	for i := range inet {
		for j := range ins {
			pair(&inet[i], &ins[j])
		}
	}
	for _, k := range order {
		g := groups[k]
		g.finish()
		res.Changes = append(res.Changes, *g)
	}
	sort.SliceStable(res.Changes, func(i, j int) bool {
		a, b := res.Changes[i], res.Changes[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Protocol < b.Protocol
	})
	return res
}

func (g *Change) finish() {
	sort.Slice(g.l4, func(i, j int) bool { return g.l4[i].lo < g.l4[j].lo })
	l4 := mergeRanges(g.l4)
	var ps []string
	for _, r := range l4 {
		switch l4Kind(g.proto) {
		case l4TCP, l4UDP:
			ps = append(ps, r.String())
		case l4ICMP:
			ps = append(ps, icmpRangeText(r))
		}
	}
	g.Ports = strings.Join(ps, ",")
	if k := l4Kind(g.proto); k == l4TCP || k == l4UDP {
		sort.Slice(g.sports, func(i, j int) bool { return g.sports[i].lo < g.sports[j].lo })
		sp := mergeRanges(g.sports)
		if len(sp) != 1 || sp[0] != g.fullSports {
			var s []string
			for _, r := range sp {
				s = append(s, r.String())
			}
			g.Sources = strings.Join(s, ",")
		}
	}
	g.Addrs = addrsText(g.addrs, g.fullAddrs)
}

// addrsText lists the addresses of a change to an internet endpoint when
// they are not all of it.
func addrsText(rs []addrRange, full float64) string {
	if len(rs) == 0 || full == 0 {
		return ""
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].v6 != rs[j].v6 {
			return !rs[i].v6
		}
		return rs[i].lo.less(rs[j].lo)
	})
	var merged []addrRange
	var n float64
	for i, r := range rs {
		if i > 0 && r == rs[i-1] {
			continue // the same addresses in another port class
		}
		n += r.count()
		if k := len(merged); k > 0 && merged[k-1].v6 == r.v6 && merged[k-1].hi.inc() == r.lo {
			merged[k-1].hi = r.hi
			continue
		}
		merged = append(merged, r)
	}
	if n >= full {
		return ""
	}
	var s []string
	for i, r := range merged {
		if i == 3 {
			s = append(s, fmt.Sprintf("+%d more ranges", len(merged)-3))
			break
		}
		s = append(s, r.String())
	}
	return strings.Join(s, "; ")
}

// outsideOf removes from internet atoms what t has inside its VPCs or as
// public addresses (so that both topologies agree they are the internet).
func outsideOf(t *vpc.Topology, as []atom) []atom {
	rs := &resolver{t: t}
	var out []atom
	for _, a := range as {
		for _, x := range rs.outside(a.name, []addrRange{a.r}) {
			out = append(out, x)
		}
	}
	return out
}

// footprint is what of a topology a flow to or from one instance can
// meet: its own and its subnet's facts (addresses, OS, subnet, public or
// not, route table, which SGs and NACL) and the rules of those SGs (peers
// resolved, so group memberships count) and that NACL, each as a string.
type footprint struct {
	facts string
	rules map[string]ruleSig
}

// ruleSig is what flows a rule can touch: a protocol and a destination
// port (or ICMP type/code) set.
type ruleSig struct {
	proto    int
	ports    intRange
	restrict bool
	peers    []addrRange
}

func footprints(t *vpc.Topology, tc *topoCuts) map[string]*footprint {
	out := map[string]*footprint{}
	for i := range t.Instances {
		in := &t.Instances[i]
		fp := &footprint{rules: map[string]ruleSig{}}
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s %s %v %s|", in.PrivateIP, in.PublicIP, in.IPv6, in.OS, in.Conntrack, instanceSGText(in))
		if sn := t.Subnet(in.Subnet); sn != nil {
			fmt.Fprintf(&b, "%s %s %s %v %s|", sn.ID, sn.CIDR, sn.IPv6CIDR, sn.Public, sn.RouteTable)
			if rt := routeTableOf(t, sn); rt != nil {
				for _, r := range rt.Routes {
					fmt.Fprintf(&b, "%s %s %v %v;", r.Dest, r.DestPrefixList, r.Target, r.Blackhole)
				}
			}
			if acl := t.NACLOfSubnet(sn.ID); acl != nil {
				b.WriteString(acl.ID)
				for d, l := range [][]vpc.NACLRule{acl.Ingress, acl.Egress} {
					for _, r := range l {
						ports, restrict := l4Set(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, r.CIDR.Addr().Is4())
						fp.rules[fmt.Sprintf("nacl %d %d %d %v %d %d %s %v", d, r.Number, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, r.CIDR, r.Allow)] =
							ruleSig{r.Protocol, ports, restrict, []addrRange{prefixRange(r.CIDR)}}
					}
				}
			}
		}
		for _, id := range strings.Split(instanceSGText(in), ",") {
			sg := t.SecurityGroup(id)
			if sg == nil {
				continue
			}
			for d, l := range [][]vpc.SGRule{sg.Ingress, sg.Egress} {
				for ri := range l {
					r := &l[ri]
					ports, restrict := l4Set(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, false)
					var peers []addrRange
					for _, p := range tc.rulePeers(r) {
						peers = append(peers, prefixRange(p))
					}
					fp.rules[fmt.Sprintf("sg %d %d %v %d %d %v", d, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode, tc.rulePeers(r))] =
						ruleSig{r.Protocol, ports, restrict, peers}
				}
			}
		}
		fp.facts = b.String()
		out[in.ID] = fp
	}
	return out
}

// diffWhole makes Diff compare every flow of every pair (tests: the
// restriction to the delta must change nothing).
var diffWhole bool

// delta is the part of the flow space a change can touch for one pair of
// endpoints: the protocols of the rules that differ and their ports. A
// flow none of those rules can match, on any hop, is judged alike before
// and after (NACLs: the first rule that matches is an unchanged one; SGs:
// the same rules admit it, and SG-23's "all ports" rules are unrestricted
// so they make the delta everything). A packet meets a rule's ports with
// its destination port: the flow's on the way there, the flow's source port
// on the way back.
type delta struct {
	all     bool
	changed []ruleSig
	protos  map[int]bool // vpc.ProtoAll: every protocol
	ports   map[int][]intRange
	free    map[int]bool // a changed rule of that protocol restricts no port
}

// instanceDelta is the delta of the rules a flow of one endpoint can meet.
func instanceDelta(old, new map[string]*footprint, name string) *delta {
	d := &delta{protos: map[int]bool{}, ports: map[int][]intRange{}, free: map[int]bool{}}
	o, w := old[name], new[name]
	switch {
	case o == nil && w == nil:
		return d // the internet
	case o == nil || w == nil || o.facts != w.facts:
		d.all = true
		return d
	}
	for _, pair := range [2][2]map[string]ruleSig{{o.rules, w.rules}, {w.rules, o.rules}} {
		for k, sig := range pair[0] {
			if _, same := pair[1][k]; same {
				continue
			}
			d.protos[sig.proto] = true
			d.changed = append(d.changed, sig)
			if sig.restrict {
				d.ports[sig.proto] = append(d.ports[sig.proto], sig.ports)
			} else {
				d.free[sig.proto] = true
			}
		}
	}
	if d.protos[vpc.ProtoAll] {
		d.all = true
	}
	return d
}

// union is the delta of a flow between two endpoints.
func union(a, b *delta) *delta {
	d := &delta{all: a.all || b.all, protos: map[int]bool{}, ports: map[int][]intRange{}, free: map[int]bool{}}
	for _, x := range []*delta{a, b} {
		d.changed = append(d.changed, x.changed...)
		for p := range x.protos {
			d.protos[p] = true
		}
		for p, r := range x.ports {
			d.ports[p] = append(d.ports[p], r...)
		}
		for p := range x.free {
			d.free[p] = true
		}
	}
	return d
}

func (d *delta) empty() bool { return !d.all && len(d.protos) == 0 }

// touches reports whether a changed rule can match a packet of a flow of b,
// on either path: its peer holds one of the flow's addresses (either one,
// public or private), its protocol is the flow's, its ports hold one of the
// flow's ports. A box no changed rule touches is judged alike before and
// after, so it need not be split or walked.
func (d *delta) touches(b *box, ms ...*model) bool {
	if d.all {
		return true
	}
	var addrs []addrRange
	for _, r := range []addrRange{b.src, b.dst} {
		addrs = append(addrs, r)
		if !r.single() || r.v6 {
			continue
		}
		for _, m := range ms {
			if o := m.owners[r.first()]; o != nil && o.inst != nil {
				for _, e := range o.inst.ENIs() {
					for _, a := range append([]netip.Addr{e.PrivateIP, e.PublicIP}, e.SecondaryIPs...) {
						if a.IsValid() {
							addrs = append(addrs, singleAddr(a))
						}
					}
				}
				for i := range m.t.ElasticIPs {
					eip := &m.t.ElasticIPs[i]
					mine := eip.ENI == o.inst.ID
					for _, e := range o.inst.ENIs() {
						mine = mine || (e.ID != "" && eip.ENI == e.ID)
					}
					if mine && eip.PublicIP.IsValid() {
						addrs = append(addrs, singleAddr(eip.PublicIP))
					}
				}
			}
		}
	}
	icmp := l4Kind(b.proto.rep) == l4ICMP
	for i := range d.changed {
		r := &d.changed[i]
		if r.proto != vpc.ProtoAll && r.proto != b.proto.rep {
			continue
		}
		if r.restrict && !icmp {
			if (r.ports.hi < b.l4.lo || r.ports.lo > b.l4.hi) && (r.ports.hi < b.sport.lo || r.ports.lo > b.sport.hi) {
				continue
			}
		}
		for _, p := range r.peers {
			for _, a := range addrs {
				if p.v6 == a.v6 && !p.hi.less(a.lo) && !a.hi.less(p.lo) {
					return true
				}
			}
		}
	}
	return false
}

// restrict cuts b down to the flows the delta can touch.
func (d *delta) restrict(b box) []box {
	if d.all {
		return []box{b}
	}
	p := b.proto.rep
	if len(b.proto.ranges) != 1 || b.proto.ranges[0].lo != b.proto.ranges[0].hi || !d.protos[p] {
		return nil // the "other protocols" class: no changed rule names one of them
	}
	if d.free[p] || l4Kind(p) < 0 {
		return []box{b}
	}
	var out []box
	inside := func(r intRange, set []intRange) (in, rest []intRange) {
		for _, piece := range splitInt(r, rangeCuts(set)) {
			hit := false
			for _, s := range set {
				if piece.lo >= s.lo && piece.hi <= s.hi {
					hit = true
				}
			}
			if hit {
				in = append(in, piece)
			} else {
				rest = append(rest, piece)
			}
		}
		return in, rest
	}
	l4in, l4rest := inside(b.l4, d.ports[p])
	for _, r := range l4in {
		x := b
		x.l4 = r
		out = append(out, x)
	}
	if l4Kind(p) == l4ICMP {
		// Replies' types are not the flow's: any flow of a changed ICMP
		// rule's protocol may meet it on the way back.
		for _, r := range l4rest {
			x := b
			x.l4 = r
			out = append(out, x)
		}
		return out
	}
	spin, _ := inside(b.sport, d.ports[p])
	for _, r := range l4rest {
		for _, s := range spin {
			x := b
			x.l4, x.sport = r, s
			out = append(out, x)
		}
	}
	return out
}

func rangeCuts(set []intRange) []int {
	var c []int
	for _, r := range set {
		c = append(c, r.lo, r.hi+1)
	}
	return sortIntCuts(c)
}

// responsible names, on each side, what decided where the verdicts part:
// the blocking hop of the side that blocks, and the same component's
// decision on the other side.
func responsible(old, new *vpc.Topology, o, n *outcome) (oldR, newR []Rule) {
	po, pn := &o.fwd, &n.fwd
	if o.fwd.Delivered == n.fwd.Delivered {
		po, pn = &o.ret, &n.ret
	}
	bo, bn := po.Blocked(), pn.Blocked()
	switch {
	case bo != nil && bn != nil:
		return hopRules(old, bo), hopRules(new, bn)
	case bo != nil:
		return hopRules(old, bo), sameHop(new, pn, bo)
	case bn != nil:
		return sameHop(old, po, bn), hopRules(new, bn)
	}
	return deciders(old, o, true), deciders(new, n, true)
}

// sameHop finds on path p the component that hop h (of the other
// topology) stands for and names its decision.
func sameHop(t *vpc.Topology, p *rules.Path, h *rules.Hop) []Rule {
	for i := range p.Hops {
		x := &p.Hops[i]
		if x.Kind != h.Kind || x.Egress != h.Egress {
			continue
		}
		switch {
		case x.Kind == rules.HopSecurityGroup && x.Instance.ID == h.Instance.ID,
			x.Kind == rules.HopNetworkACL && x.Subnet != nil && h.Subnet != nil && x.Subnet.ID == h.Subnet.ID,
			x.Kind != rules.HopSecurityGroup && x.Kind != rules.HopNetworkACL:
			return hopRules(t, x)
		}
	}
	var out []Rule
	for i := range p.Hops {
		out = append(out, hopRules(t, &p.Hops[i])...)
	}
	if len(out) == 0 {
		out = []Rule{{Text: "no filter on the path"}}
	}
	return out
}
