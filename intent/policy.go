package intent

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Severity of a policy finding: errors fail a check, warnings and notices
// are reported only.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityNotice  Severity = "notice"
)

// Policy is a built-in check of behaviour (what the rules let through, not
// how they are written).
type Policy struct {
	ID       string   `json:"id"`   // stable: VPC001 ...
	Name     string   `json:"name"` // e.g. admin-port-from-internet
	Severity Severity `json:"severity"`
	Why      string   `json:"why"`
	run      func(p *policyRun) []Finding
}

// Finding is one thing a policy found.
type Finding struct {
	Policy   string   `json:"policy"` // the policy's id
	Name     string   `json:"name"`
	Severity Severity `json:"severity"`
	Why      string   `json:"why"`
	Message  string   `json:"message"`
	// Flow is an example flow the finding is about, when it is about flows.
	Flow  *Flow  `json:"flow,omitempty"`
	Rules []Rule `json:"rules,omitempty"`
	// Explain is the evaluator's walk of Flow.
	Explain string `json:"explain,omitempty"`
}

// Policies is the default policy set (--policy default), in id order.
func Policies() []Policy {
	return []Policy{
		{ID: "VPC001", Name: "admin-port-from-internet", Severity: SeverityError,
			Why: "SSH (22) and RDP (3389) open to the internet invite brute-force logins; allow them from known addresses only (CKV_AWS_24/25, judged by reachability, not rule text)",
			run: func(p *policyRun) []Finding { return p.internetPorts([]int{22, 3389}) }},
		{ID: "VPC002", Name: "database-port-from-internet", Severity: SeverityError,
			Why: "database ports reachable from the internet expose data stores that should only hear the application tier",
			run: func(p *policyRun) []Finding { return p.internetPorts(databasePorts) }},
		{ID: "VPC003", Name: "nacl-blocks-return", Severity: SeverityError,
			Why: "network ACLs are stateless: a reply needs its own rule, and replies go to the client's ephemeral port (TV-03, TV-29), so allowed requests go unanswered",
			run: (*policyRun).naclReturn},
		{ID: "VPC004", Name: "nacl-rule-shadowed", Severity: SeverityWarning,
			Why: "a NACL rule that lower-numbered rules always pre-empt never decides anything: it misleads readers, and editing it changes nothing",
			run: (*policyRun).naclShadowed},
		{ID: "VPC005", Name: "sg-rule-covered", Severity: SeverityWarning,
			Why: "a security group rule whose traffic other rules of the same interfaces already admit (trackedness included) never decides anything: removing it changes nothing",
			run: (*policyRun).sgCovered},
		{ID: "VPC006", Name: "untracked-flow", Severity: SeverityNotice,
			Why: "untracked flows (SG-23: /0 rules both ways) are cut at once when a rule they depend on is removed (SG-28), unlike tracked connections, which survive (SG-27)",
			run: (*policyRun).untracked},
		{ID: "VPC007", Name: "unintended-internet-path", Severity: SeverityError,
			Why: "an instance is reachable from the internet by flows the intents file does not mention: either an intent is missing or the exposure is unintended",
			run: (*policyRun).unmentioned},
	}
}

// PolicyByName returns the policy set called name ("default").
func PolicyByName(name string) ([]Policy, error) {
	if name == "default" {
		return Policies(), nil
	}
	return nil, fmt.Errorf("no policy set %q; valid: default", name)
}

var databasePorts = []int{1433, 1521, 3306, 5432, 5439, 6379, 9042, 9200, 11211, 27017}

var portNames = map[int]string{22: "SSH", 3389: "RDP", 1433: "SQL Server", 1521: "Oracle", 3306: "MySQL",
	5432: "PostgreSQL", 5439: "Redshift", 6379: "Redis", 9042: "Cassandra", 9200: "Elasticsearch", 11211: "Memcached", 27017: "MongoDB"}

type policyRun struct {
	c       *Checker
	intents *File
	p       *Policy
}

// RunPolicies runs ps over the checker's topology; intents (may be nil)
// are what VPC007 compares reachability with.
func (c *Checker) RunPolicies(ps []Policy, intents *File) []Finding {
	var out []Finding
	for i := range ps {
		r := &policyRun{c: c, intents: intents, p: &ps[i]}
		out = append(out, ps[i].run(r)...)
	}
	return out
}

func (p *policyRun) finding(msg string, f *flow, o *outcome, ret bool, rs []Rule) Finding {
	fd := Finding{Policy: p.p.ID, Name: p.p.Name, Severity: p.p.Severity, Why: p.p.Why, Message: msg, Rules: rs}
	if f != nil {
		ce := p.c.counterexample(*f, o, ret)
		fd.Flow, fd.Explain = &ce.Flow, ce.Explain
		if fd.Rules == nil {
			fd.Rules = ce.Rules
		}
	}
	return fd
}

func (p *policyRun) internetAtoms() []atom {
	as, _ := p.c.rs.resolve(Internet)
	return as
}

// internetPorts: VPC001/VPC002, a connection from the internet to one of
// ports completes.
func (p *policyRun) internetPorts(ports []int) []Finding {
	t := p.c.T
	inet := p.internetAtoms()
	var out []Finding
	for i := range t.Instances {
		in := &t.Instances[i]
		dst := p.c.rs.instance(in)
		for _, port := range ports {
			intent := &Intent{Reach: true, Protocol: vpc.ProtoTCP, Ports: []vpc.PortRange{{From: port, To: port}}, BothWays: true}
			var hit *weighted
			var ho outcome
			srcs := map[addrRange]bool{}
			for _, b := range layout(inet, dst, []*protoClass{single(vpc.ProtoTCP)}, intent) {
				solve([]*model{p.c.m}, nil, b, func(cb *box, outs []outcome) {
					if !outs[0].both() {
						return
					}
					srcs[cb.src] = true
					if hit == nil || cb.src.count() > hit.weight {
						f := cb.rep()
						hit, ho = &weighted{f, cb.src.count()}, outs[0].keep()
					}
				})
			}
			var n float64
			for r := range srcs {
				n += r.count()
			}
			// [INTERP] Known addresses are not "the internet": a port
			// reachable from at most a /24's worth of addresses is not a
			// finding (VPC007 still asks that an intent mention it).
			if hit != nil && n > openThreshold {
				msg := fmt.Sprintf("%s (tcp %d) on %s is reachable from the internet (%s addresses can connect)", portNames[port], port, in.ID, countText(n))
				out = append(out, p.finding(msg, &hit.flow, &ho, true, nil))
			}
		}
	}
	return out
}

// openThreshold is how many internet addresses make a port "open to the
// internet": more than a /24.
const openThreshold = 256

type weighted struct {
	flow
	weight float64
}

func countText(n float64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.0f", n)
	}
	return fmt.Sprintf("%.3g", n)
}

// allTraffic lays out every flow from srcs to dsts: every protocol, port
// and ICMP type.
func (p *policyRun) allTraffic(srcs, dsts []atom) []box {
	var protos []*protoClass
	for i := range p.c.protos {
		protos = append(protos, &p.c.protos[i])
	}
	return layout(srcs, dsts, protos, &Intent{Protocol: vpc.ProtoAll})
}

func (p *policyRun) allInstances() []atom {
	var out []atom
	for i := range p.c.T.Instances {
		out = append(out, p.c.rs.instance(&p.c.T.Instances[i])...)
	}
	return out
}

// naclReturn: VPC003, flows whose first packet arrives but whose reply a
// network ACL drops, one finding per rule responsible.
func (p *policyRun) naclReturn() []Finding {
	t := p.c.T
	ins := p.allInstances()
	inet := p.internetAtoms()
	var boxes []box
	boxes = append(boxes, p.allTraffic(ins, append(slices.Clone(ins), inet...))...)
	boxes = append(boxes, p.allTraffic(inet, ins)...)
	type group struct {
		rule  Rule
		f     flow
		o     outcome
		flows map[string]bool
		n     int
	}
	groups := map[string]*group{}
	var order []string
	for _, b := range boxes {
		solve([]*model{p.c.m}, nil, b, func(cb *box, outs []outcome) {
			o := &outs[0]
			if !o.fwd.Delivered || !o.retAnalysed || o.ret.Delivered {
				return
			}
			h := o.ret.Blocked()
			if h == nil || h.Kind != rules.HopNetworkACL {
				return
			}
			r := naclRule(t, h.ACL, h.Egress, h.NACL.Rule)
			g := groups[r.Text]
			if g == nil {
				g = &group{rule: r, f: cb.rep(), o: o.keep(), flows: map[string]bool{}}
				groups[r.Text] = g
				order = append(order, r.Text)
			}
			g.n++
			f := cb.rep()
			g.flows[fmt.Sprintf("%s -> %s %s", cb.from, cb.to, protoName(f.proto))] = true
		})
	}
	var out []Finding
	for _, k := range order {
		g := groups[k]
		var fl []string
		for s := range g.flows {
			fl = append(fl, s)
		}
		sort.Strings(fl)
		if len(fl) > 4 {
			fl = append(fl[:4:4], fmt.Sprintf("%d more", len(fl)-4))
		}
		msg := fmt.Sprintf("%s drops the replies of traffic the rules let out (%d classes: %s)", g.rule.Text, g.n, strings.Join(fl, "; "))
		out = append(out, p.finding(msg, &g.f, &g.o, true, []Rule{g.rule}))
	}
	return out
}

// naclShadowed: VPC004, NACL rules no packet is ever decided by.
func (p *policyRun) naclShadowed() []Finding {
	t := p.c.T
	var out []Finding
	for i := range t.NetworkACLs {
		acl := &t.NetworkACLs[i]
		for _, egress := range []bool{false, true} {
			list := acl.Ingress
			if egress {
				list = acl.Egress
			}
			for ri := range list {
				r := &list[ri]
				if decides, by := naclRuleDecides(acl, egress, r); !decides {
					var names []string
					var rs []Rule
					rs = append(rs, naclRule(t, acl, egress, r.Number))
					for _, n := range by {
						names = append(names, fmt.Sprint(n))
						rs = append(rs, naclRule(t, acl, egress, n))
					}
					msg := fmt.Sprintf("%s never decides a packet: lower-numbered rule %s match everything it matches", rs[0].Text, strings.Join(names, ", "))
					if len(names) == 1 {
						msg = fmt.Sprintf("%s never decides a packet: rule %s matches everything it matches first", rs[0].Text, names[0])
					}
					out = append(out, p.finding(msg, nil, nil, false, rs))
				}
			}
		}
	}
	return out
}

// naclRuleDecides splits r's match space at the boundaries of acl's
// rules and asks the evaluator which rule decides each class; by lists
// the rules that pre-empt r when none is r.
func naclRuleDecides(acl *vpc.NetworkACL, egress bool, r *vpc.NACLRule) (bool, []int) {
	if !r.CIDR.IsValid() {
		return false, nil
	}
	c := &cuts{}
	naclCuts(c, acl, egress)
	c = c.flat()
	fam := 0
	if r.CIDR.Addr().Is6() {
		fam = 1
	}
	field := fieldSrc
	if egress {
		field = fieldDst
	}
	protos := []int{r.Protocol}
	if r.Protocol == vpc.ProtoAll {
		protos = nil
		for _, pc := range protoClasses(&vpc.Topology{NetworkACLs: []vpc.NetworkACL{*acl}}) {
			protos = append(protos, pc.rep)
		}
	}
	by := map[int]bool{}
	other := netip.MustParseAddr("10.255.255.254")
	if fam == 1 {
		other = netip.MustParseAddr("fd00::1")
	}
	for _, proto := range protos {
		l4 := intRange{0, 0}
		k := l4Kind(proto)
		if k >= 0 {
			l4 = intRange{0, 65535}
			if lo, hi, ok := naclL4(r); ok && r.Protocol == proto {
				l4 = intRange{lo, hi}
			}
		}
		for _, ar := range splitAddr(prefixRange(r.CIDR), c.addr[field][fam]) {
			var l4s []intRange
			if k >= 0 {
				l4s = splitInt(l4, c.dport[k])
			} else {
				l4s = []intRange{l4}
			}
			for _, lr := range l4s {
				pk := rules.Packet{Src: other, Dst: ar.first(), Protocol: proto}
				if !egress {
					pk.Src, pk.Dst = ar.first(), other
				}
				switch k {
				case l4TCP, l4UDP:
					pk.DstPort, pk.SrcPort = lr.lo, 40000
				case l4ICMP:
					pk.ICMPType, pk.ICMPCode = lr.lo>>8, lr.lo&255
				}
				res := rules.EvalNACL(acl, egress, pk)
				if res.Rule == r.Number {
					return true, nil
				}
				by[res.Rule] = true
			}
		}
	}
	var out []int
	for n := range by {
		if n < r.Number {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return false, out
}

// naclL4 is the set of destination ports (or ICMP type<<8|code) r matches.
func naclL4(r *vpc.NACLRule) (int, int, bool) {
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return max(r.Ports.From, 0), min(r.Ports.To, 65535), true
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if r.ICMPType < 0 || (r.Protocol == vpc.ProtoICMPv6 && r.CIDR.Addr().Is4()) {
			return 0, 65535, true
		}
		if r.ICMPCode < 0 {
			return r.ICMPType << 8, r.ICMPType<<8 | 255, true
		}
		return r.ICMPType<<8 | r.ICMPCode, r.ICMPType<<8 | r.ICMPCode, true
	}
	return 0, 0, false
}

// sgCovered: VPC005, SG rules whose removal would change no verdict of
// any ENI the group is attached to.
func (p *policyRun) sgCovered() []Finding {
	t := p.c.T
	base := rules.NewSGEvaluator(t)
	var out []Finding
	for gi := range t.SecurityGroups {
		g := &t.SecurityGroups[gi]
		var members []*vpc.Instance
		for i := range t.Instances {
			if hasSG(&t.Instances[i], g.ID) {
				members = append(members, &t.Instances[i])
			}
		}
		if len(members) == 0 {
			continue
		}
		for _, egress := range []bool{false, true} {
			list := g.Ingress
			if egress {
				list = g.Egress
			}
			for ri := range list {
				without := withoutSGRule(t, g.ID, egress, ri)
				ev := rules.NewSGEvaluator(without)
				same := true
				for _, in := range members {
					if !sgSameVerdicts(t, p.c.m.cuts, base, ev, in, egress, &list[ri]) {
						same = false
						break
					}
				}
				if same {
					ref := rules.SGRuleRef{SecurityGroup: g.ID, Egress: egress, Index: ri}
					r := sgRule(t, ref)
					msg := fmt.Sprintf("%s never decides anything: the other rules of %s admit everything it admits, tracked or not", r.Text, membersText(members))
					out = append(out, p.finding(msg, nil, nil, false, []Rule{r}))
				}
			}
		}
	}
	return out
}

func membersText(ins []*vpc.Instance) string {
	var s []string
	for _, in := range ins {
		s = append(s, in.ID)
	}
	if len(s) > 3 {
		s = append(s[:3:3], fmt.Sprintf("%d more", len(s)-3))
	}
	return strings.Join(s, ", ")
}

func withoutSGRule(t *vpc.Topology, sg string, egress bool, idx int) *vpc.Topology {
	c := *t
	c.SecurityGroups = slices.Clone(t.SecurityGroups)
	for i := range c.SecurityGroups {
		if c.SecurityGroups[i].ID != sg {
			continue
		}
		if egress {
			c.SecurityGroups[i].Egress = slices.Delete(slices.Clone(c.SecurityGroups[i].Egress), idx, idx+1)
		} else {
			c.SecurityGroups[i].Ingress = slices.Delete(slices.Clone(c.SecurityGroups[i].Ingress), idx, idx+1)
		}
	}
	return &c
}

// sgSameVerdicts compares two evaluators on every class of packets an ENI
// could see that rule r can affect: r's own direction over its match space,
// and, for a /0 rule (which makes flows untracked, SG-23), the opposite
// direction's TCP and UDP, as initiators and responders.
func sgSameVerdicts(t *vpc.Topology, tc *topoCuts, a, b *rules.SGEvaluator, in *vpc.Instance, egress bool, r *vpc.SGRule) bool {
	c := &cuts{}
	tc.sgCuts(c, instanceSGs(in), false)
	tc.sgCuts(c, instanceSGs(in), true)
	c = c.flat()
	peerField := fieldSrc
	if egress {
		peerField = fieldDst
	}
	check := func(egress bool, peers []netip.Prefix, protos []int) bool {
		for _, pfx := range peers {
			fam := 0
			if pfx.Addr().Is6() {
				fam = 1
			}
			own := in.PrivateIP
			if fam == 1 {
				own = in.IPv6
				if !own.IsValid() {
					own = netip.MustParseAddr("fd00::1")
				}
			}
			for _, proto := range protos {
				k := l4Kind(proto)
				l4s, sps := []intRange{{0, 0}}, []intRange{{0, 0}}
				if k >= 0 {
					l4s = splitInt(intRange{0, 65535}, c.dport[k], c.sport[k])
				}
				if k == l4TCP || k == l4UDP {
					sps = splitInt(intRange{0, 65535}, c.sport[k], c.dport[k])
				}
				for _, ar := range splitAddr(prefixRange(pfx), c.addr[peerField][fam], c.addr[1-peerField][fam]) {
					for _, l := range l4s {
						for _, sp := range sps {
							for _, flags := range []uint8{rules.TCPSyn, rules.TCPSyn | rules.TCPAck, rules.TCPAck} {
								pk := rules.Packet{Src: ar.first(), Dst: own, Protocol: proto, DstPort: l.lo, SrcPort: sp.lo, TCPFlags: flags}
								if egress {
									pk.Src, pk.Dst = own, ar.first()
								}
								if k == l4ICMP {
									pk.ICMPType, pk.ICMPCode, pk.DstPort, pk.SrcPort = l.lo>>8, l.lo&255, 0, 0
								}
								x, y := a.Match(in.ID, egress, pk), b.Match(in.ID, egress, pk)
								if x.Allowed != y.Allowed || x.Untracked != y.Untracked {
									return false
								}
								if proto != vpc.ProtoTCP {
									break
								}
							}
						}
					}
				}
			}
		}
		return true
	}
	peers := p2peers(t, tc, r)
	protos := []int{r.Protocol}
	if r.Protocol == vpc.ProtoAll {
		protos = protoRepsOf(t)
	}
	if !check(egress, peers, protos) {
		return false
	}
	if r.CIDR.IsValid() && r.CIDR.Bits() == 0 {
		all := []netip.Prefix{r.CIDR}
		if !check(!egress, all, []int{vpc.ProtoTCP, vpc.ProtoUDP}) {
			return false
		}
	}
	return true
}

func p2peers(t *vpc.Topology, tc *topoCuts, r *vpc.SGRule) []netip.Prefix {
	return tc.rulePeers(r)
}

func protoRepsOf(t *vpc.Topology) []int {
	var out []int
	for _, pc := range protoClasses(t) {
		out = append(out, pc.rep)
	}
	return out
}

// untracked: VPC006, for each ENI and direction, the flows it admits
// untracked, grouped by the rule that admits them.
func (p *policyRun) untracked() []Finding {
	t := p.c.T
	ev := rules.NewSGEvaluator(t)
	var out []Finding
	for i := range t.Instances {
		in := &t.Instances[i]
		c := &cuts{}
		p.c.m.cuts.sgCuts(c, instanceSGs(in), false)
		p.c.m.cuts.sgCuts(c, instanceSGs(in), true)
		c = c.flat()
		for _, egress := range []bool{false, true} {
			type grp struct {
				ports []intRange
				rule  Rule
				proto int
			}
			groups := map[string]*grp{}
			var order []string
			peerField := fieldSrc
			if egress {
				peerField = fieldDst
			}
			for fam, own := range []netip.Addr{in.PrivateIP, in.IPv6} {
				if !own.IsValid() {
					continue
				}
				all := netip.MustParsePrefix("0.0.0.0/0")
				if fam == 1 {
					all = netip.MustParsePrefix("::/0")
				}
				for _, proto := range []int{vpc.ProtoTCP, vpc.ProtoUDP} {
					k := l4Kind(proto)
					for _, ar := range splitAddr(prefixRange(all), c.addr[peerField][fam]) {
						for _, l := range splitInt(intRange{0, 65535}, c.dport[k]) {
							pk := rules.Packet{Src: ar.first(), Dst: own, Protocol: proto, DstPort: l.lo, SrcPort: 40000, TCPFlags: rules.TCPSyn}
							if egress {
								pk.Src, pk.Dst = own, ar.first()
							}
							m := ev.Match(in.ID, egress, pk)
							if !m.Allowed || !m.Untracked {
								continue
							}
							var rs []string
							var first Rule
							for j, ref := range m.Rules {
								r := sgRuleOf(t, ref)
								if r != nil && r.CIDR.IsValid() && r.CIDR.Bits() == 0 {
									rr := sgRule(t, ref)
									if j == 0 || first.Text == "" {
										first = rr
									}
									rs = append(rs, rr.Text)
								}
							}
							key := fmt.Sprint(proto, rs)
							g := groups[key]
							if g == nil {
								g = &grp{rule: first, proto: proto}
								groups[key] = g
								order = append(order, key)
							}
							if n := len(g.ports); n > 0 && g.ports[n-1].hi+1 == l.lo {
								g.ports[n-1].hi = l.hi
							} else if n == 0 || g.ports[n-1] != l {
								g.ports = append(g.ports, l)
							}
						}
					}
				}
			}
			for _, k := range order {
				g := groups[k]
				var ps []string
				for _, r := range g.ports {
					ps = append(ps, r.String())
				}
				msg := fmt.Sprintf("%s: %s %s %s is untracked (%s): removing or narrowing that rule drops established connections at once",
					in.ID, bound(egress), protoName(g.proto), strings.Join(ps, ","), g.rule.Text)
				out = append(out, p.finding(msg, nil, nil, false, []Rule{g.rule}))
			}
		}
	}
	return out
}

// unmentioned: VPC007, flows from the internet that reach an instance
// (the exchange completes) and that no intent covers.
func (p *policyRun) unmentioned() []Finding {
	if p.intents == nil {
		return nil
	}
	t := p.c.T
	inet := p.internetAtoms()
	// The intents' own boxes are boundaries: a class is mentioned entirely or not at all.
	mc := &cuts{}
	var covered []box
	for i := range p.intents.Intents {
		bs, err := p.c.boxes(&p.intents.Intents[i])
		if err != nil {
			continue
		}
		for _, b := range bs {
			covered = append(covered, b)
			fam := 0
			if b.src.v6 {
				fam = 1
			}
			for f, r := range []addrRange{b.src, b.dst} {
				mc.addr[f][fam] = append(mc.addr[f][fam], r.lo)
				if r.hi != maxAddr(r.v6) {
					mc.addr[f][fam] = append(mc.addr[f][fam], r.hi.inc())
				}
			}
			// Source ports do not matter: an intent about a path mentions
			// it whatever ports its clients pick.
			if k := l4Kind(b.proto.rep); k >= 0 {
				mc.dport[k] = append(mc.dport[k], b.l4.lo, b.l4.hi+1)
			}
		}
	}
	mc.finish()
	var out []Finding
	for i := range t.Instances {
		in := &t.Instances[i]
		type grp struct {
			ports []intRange
			f     flow
			o     outcome
		}
		groups := map[int]*grp{}
		var order []int
		for _, b := range p.allTraffic(inet, p.c.rs.instance(in)) {
			solve([]*model{p.c.m}, []*cuts{mc}, b, func(cb *box, outs []outcome) {
				if !outs[0].both() {
					return
				}
				f := cb.rep()
				for _, cv := range covered {
					any := cv
					any.sport = intRange{0, 65535}
					if any.holds(f) {
						return
					}
				}
				g := groups[f.proto]
				if g == nil {
					g = &grp{f: f, o: outs[0].keep()}
					groups[f.proto] = g
					order = append(order, f.proto)
				}
				l := cb.l4
				for _, x := range g.ports {
					if x == l {
						return
					}
				}
				g.ports = append(g.ports, l)
			})
		}
		for _, proto := range order {
			g := groups[proto]
			sort.Slice(g.ports, func(i, j int) bool { return g.ports[i].lo < g.ports[j].lo })
			var ps []string
			for _, r := range mergeRanges(g.ports) {
				if l4Kind(proto) == l4ICMP {
					ps = append(ps, icmpRangeText(r))
				} else {
					ps = append(ps, r.String())
				}
			}
			msg := fmt.Sprintf("%s is reachable from the internet on %s %s, which no intent mentions", in.ID, protoName(proto), strings.Join(ps, ","))
			out = append(out, p.finding(msg, &g.f, &g.o, true, nil))
		}
	}
	return out
}

func icmpRangeText(r intRange) string {
	if r.lo>>8 == r.hi>>8 {
		if r.lo&255 == 0 && r.hi&255 == 255 {
			return fmt.Sprintf("type %d", r.lo>>8)
		}
		return fmt.Sprintf("type %d code %s", r.lo>>8, intRange{r.lo & 255, r.hi & 255})
	}
	return fmt.Sprintf("types %d-%d", r.lo>>8, r.hi>>8)
}

func mergeRanges(rs []intRange) []intRange {
	var out []intRange
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].hi+1 >= r.lo {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// holds reports whether flow f lies in the box.
func (b *box) holds(f flow) bool {
	in := func(r intRange, v int) bool { return v >= r.lo && v <= r.hi }
	inProto := false
	for _, r := range b.proto.ranges {
		if in(r, f.proto) {
			inProto = true
		}
	}
	return inProto && b.src.contains(f.src) && b.dst.contains(f.dst) && in(b.l4, f.l4) && in(b.sport, f.sport)
}
