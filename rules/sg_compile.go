package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// The SG datapath's constants are generated from bpf/sg.h
// (datapath_gen.go): the directions SGDirOut (the instance sends: outbound
// rules) and SGDirIn; SGProtoOther, the protocol slot of packets whose
// protocol has no rule of its own on an ENI in a direction (only "all
// protocols" rules live there); SGMaxNodeEnts, the most candidate rules one
// peer prefix may carry; the SGOpen* bits of SGENITable.Open (a /0 rule
// admits every protocol, TCP or UDP on all ports).

// SGDefaultICMPTimeout is the ICMP idle timeout (SG-36: unpublished by AWS).
const SGDefaultICMPTimeout = 60 * time.Second

// ErrTooManySGEntries is returned when one peer prefix of an ENI collects
// more candidate rules than the datapath scans.
var ErrTooManySGEntries = errors.New("too many security group rules for one peer prefix")

// SGEnt is one candidate rule for packets whose peer is already known to
// match: it admits when Lo <= v <= Hi and CLo <= c <= CHi, v being the
// TCP/UDP destination port or the ICMP type (0 for other protocols) and c
// the ICMP code (0 otherwise).
type SGEnt struct {
	Lo, Hi   uint16
	CLo, CHi uint8
	Zero     bool // the rule's peer is the CIDR /0 of the packet's family (SG-23)
	Full     bool // a rule behind it has no port or ICMP-type restriction: matches non-first fragments
}

// SGNode is the set of candidate rules for peers inside Prefix (and in no
// longer prefix of the same direction, family and protocol slot).
type SGNode struct {
	Dir    int
	Family int // 4 or 6
	Proto  int // IANA number or SGProtoOther
	Prefix netip.Prefix
	Ents   []SGEnt // zero entries first
}

// SGENITable is the compiled SG state of one ENI.
type SGENITable struct {
	InstanceID string
	ENI        string // vpc.ENIIDOf: a primary ENI without an id is named by its instance
	// Addrs are the ENI's own addresses (primary, secondary, IPv6): with
	// the source/destination check on, only these send and receive
	// through it (ENI-5).
	Addrs    []netip.Addr
	CheckOff bool // source/destination check off (ENI-5)
	// NoSG: the ENI has no security groups, a NAT gateway's (NGW-2); its
	// packets all pass, and count for its flow log.
	NoSG      bool
	Conntrack vpc.Conntrack // with AWS defaults filled in
	ICMP      time.Duration // ICMP idle timeout
	NoRules   [2]bool       // [dir]: every SG has an empty rule list (SG_HAS_NO_RULES)
	Open      [2][2]uint8   // [dir][0 IPv4, 1 IPv6]: SGOpen* bits
	Protos    [2][8]uint32  // [dir]: protocols with nodes of their own
	Nodes     []SGNode
}

// CompileSG compiles the security groups of every ENI of t into the
// tables the SG datapath loads, in t.Instances order and each instance's
// ENIs in Instance.ENIs order. Referenced groups
// resolve to the /32 and /128 of the private addresses of the instances that
// carry the group now, so membership changes take a recompile.
func CompileSG(t *vpc.Topology) ([]SGENITable, error) {
	sgs := map[string]*vpc.SecurityGroup{}
	for i := range t.SecurityGroups {
		sgs[t.SecurityGroups[i].ID] = &t.SecurityGroups[i]
	}
	members := map[string][]netip.Prefix{}
	for i := range t.Instances {
		// Every private address of every ENI is a member of that ENI's
		// groups (as NewSGEvaluator resolves them).
		for _, e := range t.Instances[i].ENIs() {
			for _, id := range sgUniq(e.SecurityGroups) {
				for _, a := range append([]netip.Addr{e.PrivateIP, e.IPv6}, e.SecondaryIPs...) {
					if a.IsValid() {
						members[id] = append(members[id], netip.PrefixFrom(a, a.BitLen()))
					}
				}
			}
		}
	}
	lists := map[string][]netip.Prefix{}
	for _, pl := range t.PrefixLists {
		lists[pl.ID] = pl.CIDRs
	}
	out := make([]SGENITable, 0, len(t.Instances))
	for i := range t.Instances {
		in := &t.Instances[i]
		for k, e := range in.ENIs() {
			tab, err := compileENI(in, e, vpc.ENIIDOf(in, k), sgs, members, lists)
			if err != nil {
				return nil, err
			}
			out = append(out, tab)
		}
	}
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		tab := SGENITable{ENI: vpc.NATENIIDOf(g), NoSG: true}
		if g.PrivateIP.IsValid() {
			tab.Addrs = []netip.Addr{g.PrivateIP.Unmap()}
		}
		out = append(out, tab)
	}
	return out, nil
}

// compileENI compiles one ENI's security groups.
func compileENI(in *vpc.Instance, e *vpc.ENI, id string, sgs map[string]*vpc.SecurityGroup, members, lists map[string][]netip.Prefix) (SGENITable, error) {
	{
		tab := SGENITable{InstanceID: in.ID, ENI: id, Conntrack: conntrackConfig(in.Conntrack), ICMP: SGDefaultICMPTimeout,
			CheckOff: e.SourceDestCheckDisabled}
		for _, a := range append([]netip.Addr{e.PrivateIP, e.IPv6}, e.SecondaryIPs...) {
			if a.IsValid() {
				tab.Addrs = append(tab.Addrs, a.Unmap())
			}
		}
		var atoms [2][]sgAtom
		for dir := range 2 {
			nrules := 0
			for _, id := range sgUniq(e.SecurityGroups) {
				sg, ok := sgs[id]
				if !ok {
					return SGENITable{}, fmt.Errorf("instance %s: unknown security group %q", in.ID, id)
				}
				rs := sg.Egress
				if dir == SGDirIn {
					rs = sg.Ingress
				}
				nrules += len(rs)
				for _, r := range rs {
					as, err := ruleAtoms(r, members, lists)
					if err != nil {
						return SGENITable{}, fmt.Errorf("instance %s, security group %s: %w", in.ID, id, err)
					}
					atoms[dir] = append(atoms[dir], as...)
				}
			}
			tab.NoRules[dir] = nrules == 0
		}
		for dir := range 2 {
			for _, a := range atoms[dir] {
				if a.proto >= 0 {
					tab.Protos[dir][a.proto>>5] |= 1 << (a.proto & 31)
				}
				if !a.ent.Zero {
					continue
				}
				fam := 0
				if a.family == 6 {
					fam = 1
				}
				switch {
				case a.proto < 0:
					tab.Open[dir][fam] |= SGOpenAll
				case a.proto == vpc.ProtoTCP && a.ent.Lo == 0 && a.ent.Hi == 65535:
					tab.Open[dir][fam] |= SGOpenTCP
				case a.proto == vpc.ProtoUDP && a.ent.Lo == 0 && a.ent.Hi == 65535:
					tab.Open[dir][fam] |= SGOpenUDP
				}
			}
			nodes, err := sgNodes(dir, atoms[dir], tab.Protos[dir])
			if err != nil {
				return SGENITable{}, fmt.Errorf("instance %s: %w", in.ID, err)
			}
			tab.Nodes = append(tab.Nodes, nodes...)
		}
		return tab, nil
	}
}

// sgAtom is a rule narrowed to one peer prefix.
type sgAtom struct {
	family int
	proto  int // -1 = every protocol
	prefix netip.Prefix
	ent    SGEnt
}

func ruleAtoms(r vpc.SGRule, members, lists map[string][]netip.Prefix) ([]sgAtom, error) {
	var peers []netip.Prefix
	zero := false
	switch {
	case r.CIDR.IsValid():
		peers = []netip.Prefix{r.CIDR.Masked()}
		zero = r.CIDR.Bits() == 0
	case r.SourceGroup != "":
		peers = members[r.SourceGroup]
	case r.PrefixList != "":
		pl, ok := lists[r.PrefixList]
		if !ok {
			return nil, fmt.Errorf("unknown prefix list %q", r.PrefixList)
		}
		peers = pl
	default:
		return nil, fmt.Errorf("rule at line %d has no peer", r.Pos.Line)
	}
	proto := r.Protocol
	ent := SGEnt{Lo: 0, Hi: 65535, CLo: 0, CHi: 255, Zero: zero}
	switch proto {
	case vpc.ProtoAll:
		proto = -1
	case vpc.ProtoTCP, vpc.ProtoUDP:
		ent.Lo, ent.Hi = uint16(r.Ports.From), uint16(r.Ports.To)
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		// Type -1 matches everything, whatever the code says (SG-11),
		// including non-first fragments (Lo..Hi 0..65535 is "unrestricted").
		if r.ICMPType >= 0 {
			ent.Lo, ent.Hi = uint16(r.ICMPType), uint16(r.ICMPType)
			if r.ICMPCode >= 0 {
				ent.CLo, ent.CHi = uint8(r.ICMPCode), uint8(r.ICMPCode)
			}
		}
	}
	ent.Full = ent.Lo == 0 && ent.Hi == 65535 && ent.CLo == 0 && ent.CHi == 255
	if proto > 255 || proto < -1 {
		return nil, fmt.Errorf("protocol %d out of range", proto)
	}
	out := make([]sgAtom, 0, len(peers))
	for _, p := range peers {
		p = p.Masked()
		fam := 4
		if !p.Addr().Is4() {
			fam = 6
		}
		out = append(out, sgAtom{family: fam, proto: proto, prefix: p, ent: ent})
	}
	return out, nil
}

// sgNodes folds atoms into LPM nodes: every node carries the atoms whose
// prefix contains it, so the longest-prefix match alone yields all rules that
// match a peer address.
func sgNodes(dir int, atoms []sgAtom, protos [8]uint32) ([]SGNode, error) {
	var nodes []SGNode
	for _, fam := range []int{4, 6} {
		slots := []int{SGProtoOther}
		for p := 0; p < 256; p++ {
			if protos[p>>5]&(1<<(p&31)) != 0 {
				slots = append(slots, p)
			}
		}
		for _, slot := range slots {
			var in []sgAtom
			for _, a := range atoms {
				if a.family == fam && (a.proto == -1 || a.proto == slot) {
					in = append(in, a)
				}
			}
			seen := map[netip.Prefix]bool{}
			for _, a := range in {
				if seen[a.prefix] {
					continue
				}
				seen[a.prefix] = true
				var ents []SGEnt
				for _, b := range in {
					if b.prefix.Bits() <= a.prefix.Bits() && b.prefix.Contains(a.prefix.Addr()) {
						ents = append(ents, b.ent)
					}
				}
				ents = simplifyEnts(ents)
				if len(ents) > SGMaxNodeEnts {
					return nil, fmt.Errorf("peer %s: %d entries (max %d): %w", a.prefix, len(ents), SGMaxNodeEnts, ErrTooManySGEntries)
				}
				nodes = append(nodes, SGNode{Dir: dir, Family: fam, Proto: slot, Prefix: a.prefix, Ents: ents})
			}
		}
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		if a.Family != b.Family {
			return a.Family < b.Family
		}
		if a.Proto != b.Proto {
			return a.Proto < b.Proto
		}
		return a.Prefix.String() < b.Prefix.String()
	})
	return nodes, nil
}

// simplifyEnts drops entries another entry covers and merges touching port
// ranges, then puts /0 entries first (the datapath's first match decides).
func simplifyEnts(in []SGEnt) []SGEnt {
	covers := func(a, b SGEnt) bool { // a admits everything b admits, and is at least as "zero"
		return a.Lo <= b.Lo && a.Hi >= b.Hi && a.CLo <= b.CLo && a.CHi >= b.CHi && (a.Zero || !b.Zero) && (a.Full || !b.Full)
	}
	var kept []SGEnt
	for i, e := range in {
		drop := false
		for j, f := range in {
			if i == j {
				continue
			}
			if covers(f, e) && (!covers(e, f) || j < i) {
				drop = true
				break
			}
		}
		if !drop {
			kept = append(kept, e)
		}
	}
	sort.Slice(kept, func(i, j int) bool {
		a, b := kept[i], kept[j]
		if a.Zero != b.Zero {
			return a.Zero
		}
		if a.CLo != b.CLo {
			return a.CLo < b.CLo
		}
		if a.CHi != b.CHi {
			return a.CHi < b.CHi
		}
		return a.Lo < b.Lo
	})
	var out []SGEnt
	for _, e := range kept {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.Zero == e.Zero && p.CLo == e.CLo && p.CHi == e.CHi && int(e.Lo) <= int(p.Hi)+1 {
				if e.Hi > p.Hi {
					p.Hi = e.Hi
				}
				p.Full = p.Full || e.Full
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func sgUniq(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
