package rules

import (
	"cmp"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/rules/rulestest"
	"github.com/vpcemu/vpcemu/vpc"
)

// Fuzzing the evaluator: random rule tables and packets drawn from small
// pools (so that rules do match), decided twice (determinism) and against
// a naive restatement of the spec that compiles nothing.

// gen draws small integers from fuzz bytes; exhausted input yields zeros.
type gen struct {
	data []byte
	rnd  *rand.Rand
}

func (g *gen) n(max int) int {
	if g.rnd != nil {
		return g.rnd.IntN(max)
	}
	if len(g.data) == 0 {
		return 0
	}
	v := int(g.data[0])
	g.data = g.data[1:]
	return v % max
}

func pick[T any](g *gen, xs []T) T { return xs[g.n(len(xs))] }

var (
	fzV4    = []string{"10.0.1.10", "10.0.2.20", "10.0.1.30", "198.51.100.10", "192.0.2.1", "203.0.113.80"}
	fzV6    = []string{"2001:db8:1::10", "2001:db8:2::20", "2001:db8::1", "2001:db8:ff::1"}
	fzCIDR  = []string{"0.0.0.0/0", "10.0.0.0/16", "10.0.1.0/24", "198.51.100.0/24", "198.51.100.10/32", "::/0", "2001:db8::/32", "2001:db8:1::/64", "2001:db8::1/128"}
	fzProto = []int{-1, 6, 17, 1, 58, 47, 6, 17}
	fzPort  = []int{0, 22, 80, 443, 1024, 32768, 60999, 65535}
	fzType  = []int{-1, 0, 3, 8, 128, 129}
	fzCode  = []int{-1, 0, 4}
)

func (g *gen) ports() vpc.PortRange {
	a, b := pick(g, fzPort), pick(g, fzPort)
	return vpc.PortRange{From: min(a, b), To: max(a, b)}
}

func (g *gen) packet() Packet {
	pool := fzV4
	if g.n(4) == 0 {
		pool = fzV6
	}
	p := Packet{Src: ip(pick(g, pool)), Dst: ip(pick(g, pool)), Protocol: pick(g, fzProto), Length: 40 + g.n(1400)}
	if p.Protocol == -1 {
		p.Protocol = 50
	}
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		p.SrcPort, p.DstPort = min(65535, pick(g, fzPort)+g.n(2)), pick(g, fzPort)
		p.TCPFlags = uint8(g.n(32))
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		p.ICMPType, p.ICMPCode, p.ICMPID = max(0, pick(g, fzType)), max(0, pick(g, fzCode)), g.n(3)
	}
	switch g.n(8) {
	case 0:
		p.Fragment = FragLater
		p.SrcPort, p.DstPort, p.ICMPType, p.ICMPCode = 0, 0, 0, 0
	case 1:
		p.Fragment = FragFirst
	}
	return p
}

func (g *gen) naclRule() vpc.NACLRule {
	r := vpc.NACLRule{Number: 1 + g.n(200), Protocol: pick(g, fzProto), CIDR: pfx(pick(g, fzCIDR)), Allow: g.n(2) == 0,
		Ports: g.ports(), ICMPType: pick(g, fzType), ICMPCode: pick(g, fzCode)}
	return r
}

func (g *gen) acl() *vpc.NetworkACL {
	acl := &vpc.NetworkACL{ID: "fz"}
	for range g.n(12) {
		acl.Ingress = append(acl.Ingress, g.naclRule())
	}
	for range g.n(12) {
		acl.Egress = append(acl.Egress, g.naclRule())
	}
	return acl
}

// naiveNACL restates NACL-4..15 directly.
func naiveNACL(acl *vpc.NetworkACL, egress bool, p Packet) NACLResult {
	list := slices.Clone(acl.Ingress)
	a := p.Src.Unmap()
	if egress {
		list, a = slices.Clone(acl.Egress), p.Dst.Unmap()
	}
	slices.SortStableFunc(list, func(x, y vpc.NACLRule) int { return cmp.Compare(x.Number, y.Number) })
	later := p.Fragment == FragLater
	icmpOK := func(r vpc.NACLRule) bool {
		if r.ICMPType == -1 {
			return true
		}
		return !later && r.ICMPType == p.ICMPType && (r.ICMPCode == -1 || r.ICMPCode == p.ICMPCode)
	}
	for _, r := range list {
		if r.CIDR.Addr().Is4() != a.Is4() || !r.CIDR.Contains(a) {
			continue
		}
		ok := false
		switch {
		case r.Protocol == -1:
			ok = true
		case r.Protocol != p.Protocol:
		case r.Protocol == 6 || r.Protocol == 17:
			if later {
				ok = r.Ports.From == 0 && r.Ports.To == 65535
			} else {
				ok = p.DstPort >= r.Ports.From && p.DstPort <= r.Ports.To
			}
		case r.Protocol == 1:
			ok = icmpOK(r)
		case r.Protocol == 58:
			ok = r.CIDR.Addr().Is4() || icmpOK(r)
		default:
			ok = true
		}
		if ok {
			return NACLResult{Allow: r.Allow, Rule: r.Number}
		}
	}
	if a.Is4() {
		return NACLResult{Rule: 32767}
	}
	return NACLResult{Rule: 32768}
}

func checkNACL(t *testing.T, g *gen) {
	acl := g.acl()
	for range 8 {
		p := g.packet()
		for _, egress := range []bool{false, true} {
			got := EvalNACL(acl, egress, p)
			if again := EvalNACL(acl, egress, p); again != got {
				t.Fatalf("nondeterministic: %+v then %+v", got, again)
			}
			if want := naiveNACL(acl, egress, p); got != want {
				t.Fatalf("EvalNACL(egress=%v, %+v) = %+v, naive %+v\nacl %+v", egress, p, got, want, acl)
			}
		}
	}
}

// fzTopology is T1 with random SGs (A in 1-3 of them) and dual-stack A/B/C.
func (g *gen) topology() *vpc.Topology {
	top := t1()
	top.VPCs[0].IPv6CIDR = pfx("2001:db8::/56")
	instOf(top, "A").IPv6 = ip("2001:db8:1::10")
	instOf(top, "B").IPv6 = ip("2001:db8:2::20")
	top.PrefixLists = []vpc.PrefixList{{ID: "pl-1", CIDRs: []netip.Prefix{pfx("198.51.100.0/28"), pfx("2001:db8::/48")}}}
	groups := []string{"sgA", "sgB", "sgC", vpc.DefaultSGID}
	for _, id := range groups[:3] {
		sg := sgOf(top, id)
		for range g.n(8) {
			sg.Ingress = append(sg.Ingress, g.sgRule(groups))
		}
		for range g.n(6) {
			sg.Egress = append(sg.Egress, g.sgRule(groups))
		}
	}
	instOf(top, "A").SecurityGroups = []string{"sgA", "sgC"}[:1+g.n(2)]
	instOf(top, "C").SecurityGroups = []string{pick(g, groups)}
	return top
}

func (g *gen) sgRule(groups []string) vpc.SGRule {
	r := vpc.SGRule{Protocol: pick(g, fzProto), Ports: g.ports(), ICMPType: pick(g, fzType), ICMPCode: pick(g, fzCode)}
	switch g.n(6) {
	case 0:
		r.SourceGroup = pick(g, groups)
	case 1:
		r.PrefixList = "pl-1"
	default:
		r.CIDR = pfx(pick(g, fzCIDR))
	}
	return r
}

// naiveSG restates SG-4, SG-9..16 and SG-23 over the topology directly.
func naiveSG(top *vpc.Topology, id string, egress bool, p Packet) SGMatch {
	in := instOf(top, id)
	peer := p.Src.Unmap()
	if egress {
		peer = p.Dst.Unmap()
	}
	later := p.Fragment == FragLater
	peers := func(r vpc.SGRule) []netip.Prefix {
		switch {
		case r.CIDR.IsValid():
			return []netip.Prefix{r.CIDR}
		case r.PrefixList != "":
			return top.PrefixList(r.PrefixList).CIDRs
		}
		var out []netip.Prefix
		for _, o := range top.Instances {
			if slices.Contains(o.SecurityGroups, r.SourceGroup) {
				out = append(out, netip.PrefixFrom(o.PrivateIP, 32))
				if o.IPv6.IsValid() {
					out = append(out, netip.PrefixFrom(o.IPv6, 128))
				}
			}
		}
		return out
	}
	matches := func(r vpc.SGRule, peer netip.Addr, p Packet) bool {
		if r.Protocol != -1 && r.Protocol != p.Protocol {
			return false
		}
		switch r.Protocol {
		case 6, 17:
			if later && (r.Ports.From > 0 || r.Ports.To < 65535) {
				return false
			}
			if !later && (p.DstPort < r.Ports.From || p.DstPort > r.Ports.To) {
				return false
			}
		case 1, 58:
			if r.ICMPType != -1 && (later || r.ICMPType != p.ICMPType || (r.ICMPCode != -1 && r.ICMPCode != p.ICMPCode)) {
				return false
			}
		}
		return slices.ContainsFunc(peers(r), func(x netip.Prefix) bool { return x.Contains(peer) })
	}
	rulesOf := func(eg bool) ([]vpc.SGRule, []SGRuleRef) {
		var rs []vpc.SGRule
		var refs []SGRuleRef
		for _, sid := range in.SecurityGroups {
			sg := top.SecurityGroup(sid)
			list := sg.Ingress
			if eg {
				list = sg.Egress
			}
			for i, r := range list {
				rs = append(rs, r)
				refs = append(refs, SGRuleRef{sid, eg, i})
			}
		}
		return rs, refs
	}
	rs, refs := rulesOf(egress)
	var m SGMatch
	any0 := false
	for i, r := range rs {
		if matches(r, peer, p) {
			m.Rules = append(m.Rules, refs[i])
			any0 = any0 || (r.CIDR.IsValid() && r.CIDR.Bits() == 0)
		}
	}
	if len(m.Rules) == 0 {
		m.Code = CodeSGRulesMismatch
		if len(rs) == 0 {
			m.Code = CodeSGHasNoRules
		}
		return m
	}
	m.Allowed = true
	if p.Protocol != 6 && p.Protocol != 17 {
		return m
	}
	slash0 := func(r vpc.SGRule) bool {
		return r.CIDR.IsValid() && r.CIDR.Bits() == 0 && r.CIDR.Addr().Is4() == peer.Is4()
	}
	openAll := func(eg bool) bool {
		os, _ := rulesOf(eg)
		return slices.ContainsFunc(os, func(r vpc.SGRule) bool {
			return slash0(r) && (r.Protocol == -1 || (r.Protocol == p.Protocol && r.Ports.From <= 0 && r.Ports.To >= 65535))
		})
	}
	syn, ack := p.TCPFlags&TCPSyn != 0, p.TCPFlags&TCPAck != 0
	canInit := p.Protocol == 17 || !(syn && ack)
	canResp := p.Protocol == 17 || !(syn && !ack)
	if canInit && any0 && openAll(!egress) {
		m.Untracked = true
	}
	if !m.Untracked && canResp && openAll(egress) {
		rev := p
		rev.Src, rev.Dst, rev.SrcPort, rev.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
		os, _ := rulesOf(!egress)
		m.Untracked = slices.ContainsFunc(os, func(r vpc.SGRule) bool { return slash0(r) && matches(r, peer, rev) })
	}
	return m
}

func checkSG(t *testing.T, g *gen) {
	top := g.topology()
	e := NewSGEvaluator(top)
	for range 8 {
		p := g.packet()
		id := pick(g, []string{"A", "B", "C", "eni-a"})
		for _, egress := range []bool{false, true} {
			got := e.Match(id, egress, p)
			again := e.Match(id, egress, p)
			if got.Allowed != again.Allowed || got.Untracked != again.Untracked || !slices.Equal(got.Rules, again.Rules) || got.Code != again.Code {
				t.Fatalf("nondeterministic: %+v then %+v", got, again)
			}
			want := naiveSG(top, id, egress, p)
			if got.Allowed != want.Allowed || got.Untracked != want.Untracked || !slices.Equal(got.Rules, want.Rules) || got.Code != want.Code {
				t.Fatalf("Match(%s, egress=%v, %+v) = %+v, naive %+v", id, egress, p, got, want)
			}
		}
	}
}

// checkConntrack drives one random packet sequence twice: the verdicts must
// repeat, expired entries must never admit, and the allowance must hold.
func checkConntrack(t *testing.T, g *gen) {
	top := g.topology()
	instOf(top, "A").Conntrack.MaxEntries = g.n(4)
	var steps []struct {
		at     time.Duration
		id     string
		egress bool
		p      Packet
	}
	now := time.Duration(0)
	for range 16 {
		now += time.Duration(g.n(200)) * time.Second
		steps = append(steps, struct {
			at     time.Duration
			id     string
			egress bool
			p      Packet
		}{now, pick(g, []string{"A", "B", "C"}), g.n(2) == 0, g.packet()})
	}
	run := func() []SGVerdict {
		c := newCT(top)
		lastSeen := map[ctKey]time.Duration{}
		var out []SGVerdict
		for _, s := range steps {
			v := c.Process(s.at, s.id, s.egress, s.p)
			if v.ByState {
				// An entry that admits was touched within its longest timeout.
				fwd, rev := ctKeys(c.eni(s.id), &s.p)
				last, ok := lastSeen[fwd]
				if l2, ok2 := lastSeen[rev]; ok2 && (!ok || l2 > last) {
					last, ok = l2, true
				}
				if !ok || s.at-last >= vpc.DefaultConntrack.TCPEstablished+time.Second {
					t.Fatalf("admitted by state without a live entry: %+v", s)
				}
			}
			if v.Allow && v.Tracked {
				fwd, _ := ctKeys(c.eni(s.id), &s.p)
				lastSeen[fwd] = s.at
			}
			if max := instOf(top, "A").Conntrack.MaxEntries; max > 0 && c.Len("A") > max {
				t.Fatalf("allowance %d exceeded: %d entries", max, c.Len("A"))
			}
			out = append(out, v)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i].Allow != b[i].Allow || a[i].Tracked != b[i].Tracked || a[i].ByState != b[i].ByState || a[i].Reason != b[i].Reason {
			t.Fatalf("step %d nondeterministic: %+v then %+v", i, a[i], b[i])
		}
	}
}

func seeds(f *testing.F) {
	for _, s := range []string{"", "\x00", "\x05\x03\x07\x01\x02\x09\x04", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0"} {
		f.Add([]byte(s))
	}
	r := rulestest.Rand(f)
	for range 16 {
		b := make([]byte, 256)
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], r.Uint64())
		}
		f.Add(b)
	}
}

func FuzzEvalNACL(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkNACL(t, &gen{data: data}) })
}

func FuzzSGMatch(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkSG(t, &gen{data: data}) })
}

func FuzzConntrack(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) { checkConntrack(t, &gen{data: data}) })
}

func FuzzExplain(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		top := g.topology()
		ends := []string{"A", "B", "C", "X", "W", "10.0.0.2", "203.0.113.10", "192.0.2.9"}
		q := Query{From: pick(g, ends), To: pick(g, ends), Protocol: pick(g, fzProto), Port: pick(g, fzPort), IPv6: g.n(4) == 0}
		a, b := Explain(top, q), Explain(top, q)
		var sa, sb stringsBuilder
		if err := a.WriteText(&sa); err != nil {
			t.Fatal(err)
		}
		_ = b.WriteText(&sb)
		if sa.String() != sb.String() {
			t.Fatalf("nondeterministic:\n%s\n%s", sa.String(), sb.String())
		}
	})
}

type stringsBuilder struct{ b []byte }

func (s *stringsBuilder) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }
func (s *stringsBuilder) String() string              { return string(s.b) }

// TestRandomizedDifferential is the bounded in-suite run of the fuzz checks,
// seeded by TEST_SEED (rulestest.Seed).
func TestRandomizedDifferential(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	r := rulestest.Rand(t)
	for i := range n {
		g := &gen{rnd: r}
		checkNACL(t, g)
		checkSG(t, g)
		if i%10 == 0 {
			checkConntrack(t, g)
		}
	}
}
