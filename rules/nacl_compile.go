package rules

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sort"

	"github.com/vpcemu/vpcemu/vpc"
)

// The NACL datapath's limits are generated from bpf/nacl.h
// (datapath_gen.go): NACLMaxRules rules per table (direction and address
// family), NACLWords 64-bit words of a rule bitmap, tables of up to
// NACLDirectMax rules keep rule sets in the leaves.
const (
	NACLChild      = 1 << NACLChildBit // trie entry flag: the low 32 bits index a child node
	naclTrieStride = 8
)

// ErrTooManyNACLRules is returned when one table has more rules than the
// datapath's bitmaps hold.
var ErrTooManyNACLRules = errors.New("too many NACL rules for one table")

// NACLBitmap mirrors struct nacl_bitmap: bit i is rule i of the table.
type NACLBitmap struct {
	W [NACLWords]uint64
}

// NACLTableHeader mirrors struct nacl_table; the loader fills the bases.
type NACLTableHeader struct {
	NWords    uint16 // bitmap words in use; 0 = no rules
	NRules    uint16
	Direct    uint32 // 1: leaves are rule sets, not bitmap indexes
	RinfoBase uint32 // index of bit 0 in nacl_rinfo / nacl_ctr
	AddrRoot  uint32 // trie node of the address dimension
	L4Root    uint32 // trie node of the L4 dimension
	Pad       uint32
	Frag      uint64 // leaf for later fragments
	Allow     uint64 // direct tables: bit i set = rule i allows
}

// NACLRuleInfo mirrors struct nacl_rinfo.
type NACLRuleInfo struct {
	Number uint16
	Allow  uint8
	Pad    uint8
}

// NACLCounterValue mirrors struct nacl_ctr (one CPU's hits of one rule).
type NACLCounterValue struct {
	Packets uint64
	Bytes   uint64
}

// NACLTable is one compiled (direction, family) table. Leaves (in Nodes,
// Proto and Frag) are local bitmap indexes (into Bitmaps) and child
// entries (NACLChild | n) local node indexes; the loader turns leaves into
// rule words (Direct tables) or global bitmap indexes, and offsets nodes.
type NACLTable struct {
	Egress   bool
	IPv6     bool
	Words    int            // bitmap words in use (0 when there are no rules)
	Direct   bool           // at most NACLDirectMax rules: leaves hold Bitmaps[i].W[0]
	Rules    []NACLRuleInfo // bit i -> rule; the last entry is `*`
	Bitmaps  []NACLBitmap
	Nodes    [][256]uint64 // trie nodes (address and L4 tries)
	AddrRoot uint32
	L4Root   uint32
	Proto    [256]uint32
	Frag     uint32
}

// NACLImage is a whole NACL compiled: Tables[egress][v6].
type NACLImage struct {
	ID     string
	Tables [2][2]*NACLTable
}

// TestFault, when set, rewrites each NACL before it is compiled: a test
// builds a datapath that disagrees with the evaluator (a rule compiled
// wrong) and proves that the live checks notice. Never set outside tests;
// it must return a copy, not modify acl.
var TestFault func(acl *vpc.NetworkACL) *vpc.NetworkACL

// CompileNACL compiles both directions and both families of acl.
func CompileNACL(acl *vpc.NetworkACL) (*NACLImage, error) {
	if TestFault != nil {
		acl = TestFault(acl)
	}
	img := &NACLImage{ID: acl.ID}
	for e, list := range [2][]vpc.NACLRule{acl.Ingress, acl.Egress} {
		for f := 0; f < 2; f++ {
			t, err := CompileNACLTable(list, e == 1, f == 1)
			if err != nil {
				dir := "inbound"
				if e == 1 {
					dir = "outbound"
				}
				return nil, fmt.Errorf("nacl %s %s: %w", acl.ID, dir, err)
			}
			img.Tables[e][f] = t
		}
	}
	return img, nil
}

// bitset is a rule bitmap under construction.
type bitset [NACLWords]uint64

func (b *bitset) set(i int)   { b[i/64] |= 1 << (i % 64) }
func (b *bitset) clear(i int) { b[i/64] &^= 1 << (i % 64) }

// tableBuilder dedupes bitmaps.
type tableBuilder struct {
	t   *NACLTable
	ids map[bitset]uint32
}

func (tb *tableBuilder) id(b bitset) uint32 {
	if id, ok := tb.ids[b]; ok {
		return id
	}
	id := uint32(len(tb.t.Bitmaps))
	tb.ids[b] = id
	tb.t.Bitmaps = append(tb.t.Bitmaps, NACLBitmap{W: b})
	return id
}

// u128 is an address as a 128-bit integer (IPv4 in lo).
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

// cmp orders a and b for slices.SortFunc.
func (a u128) cmp(b u128) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
}

func (a u128) inc() u128 {
	a.lo++
	if a.lo == 0 {
		a.hi++
	}
	return a
}

func addrU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

// prefixRange returns the first and last address of p.
func prefixRange(p netip.Prefix) (first, last u128) {
	p = p.Masked()
	first = addrU128(p.Addr())
	bits := p.Addr().BitLen()
	host := bits - p.Bits() // host bits
	last = first
	if bits == 32 {
		last.lo |= (1 << host) - 1
		return first, last
	}
	switch {
	case host >= 128:
		last = u128{^uint64(0), ^uint64(0)}
	case host > 64:
		last.lo = ^uint64(0)
		last.hi |= (1 << (host - 64)) - 1
	case host == 64:
		last.lo = ^uint64(0)
	default:
		last.lo |= (1 << host) - 1
	}
	return first, last
}

// naclL4Range is the set of L4 values (destination port, or ICMP
// type<<8|code) rule r accepts, as an inclusive range; ok=false if none.
func naclL4Range(r *vpc.NACLRule) (lo, hi int, ok bool) {
	icmp := func() (int, int, bool) {
		t, c := r.ICMPType, r.ICMPCode
		switch {
		case t == -1:
			return 0, 65535, true
		case t < -1 || t > 255 || c < -1 || c > 255:
			return 0, 0, false
		case c == -1:
			return t << 8, t<<8 | 255, true
		}
		return t<<8 | c, t<<8 | c, true
	}
	switch r.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		lo, hi = max(r.Ports.From, 0), min(r.Ports.To, 65535)
		return lo, hi, lo <= hi
	case vpc.ProtoICMP:
		return icmp()
	case vpc.ProtoICMPv6:
		if r.CIDR.Addr().Is4() {
			return 0, 65535, true // NACL-14
		}
		return icmp()
	}
	return 0, 65535, true // NACL-12: ports and type/code ignored
}

// CompileNACLTable compiles the rules of one direction for one address
// family (rules of the other family are skipped) into a table image.
func CompileNACLTable(list []vpc.NACLRule, egress, v6 bool) (*NACLTable, error) {
	var rs []*vpc.NACLRule
	for i := range list {
		if list[i].CIDR.Addr().Is4() != v6 && list[i].CIDR.IsValid() {
			rs = append(rs, &list[i])
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Number < rs[j].Number })
	if len(rs) > NACLMaxRules {
		return nil, fmt.Errorf("%d rules (max %d): %w", len(rs), NACLMaxRules, ErrTooManyNACLRules)
	}
	t := &NACLTable{Egress: egress, IPv6: v6, Words: (len(rs) + 63) / 64, Direct: len(rs) <= NACLDirectMax}
	tb := &tableBuilder{t: t, ids: map[bitset]uint32{}}
	for _, r := range rs {
		t.Rules = append(t.Rules, NACLRuleInfo{Number: uint16(r.Number), Allow: b2u8(r.Allow)})
	}
	star := NACLDefaultRuleIPv4
	if v6 {
		star = NACLDefaultRuleIPv6
	}
	t.Rules = append(t.Rules, NACLRuleInfo{Number: uint16(star)})

	// Address dimension: elementary intervals by a sweep over rule starts
	// and ends, then a multibit trie over them.
	type edge struct {
		at   u128
		rule int
		add  bool
	}
	var edges []edge
	maxAddr := u128{lo: 0xffffffff}
	if v6 {
		maxAddr = u128{^uint64(0), ^uint64(0)}
	}
	for i, r := range rs {
		first, last := prefixRange(r.CIDR)
		edges = append(edges, edge{first, i, true})
		if last != maxAddr {
			edges = append(edges, edge{last.inc(), i, false})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int { return a.at.cmp(b.at) })
	var iv intervals
	var cur bitset
	pos := u128{}
	for i := 0; i < len(edges); {
		at := edges[i].at
		if at != pos {
			iv.add(pos, tb.id(cur))
			pos = at
		}
		for ; i < len(edges) && edges[i].at == at; i++ {
			if edges[i].add {
				cur.set(edges[i].rule)
			} else {
				cur.clear(edges[i].rule)
			}
		}
	}
	iv.add(pos, tb.id(cur))
	addrBytes := 4
	if v6 {
		addrBytes = 16
	}
	t.AddrRoot = tb.trie(&iv, u128{}, 0, addrBytes)

	// Protocol dimension.
	var all bitset
	byProto := map[int]*bitset{}
	for i, r := range rs {
		if r.Protocol == vpc.ProtoAll {
			all.set(i)
		} else if r.Protocol >= 0 && r.Protocol <= 255 {
			if byProto[r.Protocol] == nil {
				byProto[r.Protocol] = &bitset{}
			}
			byProto[r.Protocol].set(i)
		}
	}
	allID := tb.id(all)
	for p := range t.Proto {
		t.Proto[p] = allID
	}
	for p, b := range byProto {
		m := all
		for w := range m {
			m[w] |= b[w]
		}
		t.Proto[p] = tb.id(m)
	}

	// L4 dimension (16-bit values) and the later-fragment set.
	starts, ends := map[int][]int{}, map[int][]int{}
	points := []int{0}
	var frag bitset
	for i, r := range rs {
		lo, hi, ok := naclL4Range(r)
		if !ok {
			continue
		}
		if lo == 0 && hi == 65535 {
			frag.set(i)
		}
		starts[lo] = append(starts[lo], i)
		ends[hi+1] = append(ends[hi+1], i)
		points = append(points, lo, hi+1)
	}
	t.Frag = tb.id(frag)
	slices.Sort(points)
	points = slices.Compact(points)
	var l4 intervals
	cur = bitset{}
	for _, v := range points {
		if v > 65535 {
			break
		}
		for _, i := range ends[v] {
			cur.clear(i)
		}
		for _, i := range starts[v] {
			cur.set(i)
		}
		l4.add(u128{lo: uint64(v)}, tb.id(cur))
	}
	t.L4Root = tb.trie(&l4, u128{}, 0, 2)
	return t, nil
}

// intervals are elementary intervals: interval i covers [starts[i],
// starts[i+1]) and accepts the rules of bitmap ids[i]. starts[0] is 0.
type intervals struct {
	starts []u128
	ids    []uint32
}

func (iv *intervals) add(at u128, id uint32) {
	if n := len(iv.ids); n > 0 && iv.ids[n-1] == id {
		return // same rules as the previous interval: merge
	}
	iv.starts = append(iv.starts, at)
	iv.ids = append(iv.ids, id)
}

// find returns the index of the interval containing x.
func (iv *intervals) find(x u128) int {
	return sort.Search(len(iv.starts), func(i int) bool { return x.less(iv.starts[i]) }) - 1
}

// trie builds the node for values whose first level bytes (of n) equal
// base's: an entry is a leaf when one interval covers its whole slice,
// else a child node one byte further down (prefix expansion).
func (tb *tableBuilder) trie(iv *intervals, base u128, level, n int) uint32 {
	idx := uint32(len(tb.t.Nodes))
	tb.t.Nodes = append(tb.t.Nodes, [256]uint64{})
	shift := uint(naclTrieStride * (n - 1 - level))
	span := u128{lo: 1}.shl(shift).dec()
	for b := 0; b < 256; b++ {
		lo := base.or(u128{lo: uint64(b)}.shl(shift))
		hi := lo.or(span)
		i := iv.find(lo)
		if i+1 == len(iv.starts) || hi.less(iv.starts[i+1]) {
			tb.t.Nodes[idx][b] = uint64(iv.ids[i])
			continue
		}
		child := tb.trie(iv, lo, level+1, n)
		tb.t.Nodes[idx][b] = NACLChild | uint64(child)
	}
	return idx
}

func (a u128) or(b u128) u128 { return u128{a.hi | b.hi, a.lo | b.lo} }

func (a u128) dec() u128 {
	if a.lo == 0 {
		a.hi--
	}
	a.lo--
	return a
}

func (a u128) shl(s uint) u128 {
	switch {
	case s == 0:
		return a
	case s >= 64:
		return u128{hi: a.lo << (s - 64)}
	}
	return u128{hi: a.hi<<s | a.lo>>(64-s), lo: a.lo << s}
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Classify evaluates the compiled table the way bpf/nacl.bpf.c does (for
// tests of the compiler without a kernel): it returns the deciding rule.
// Bypass and malformed handling are not part of the table.
func (t *NACLTable) Classify(p Packet) NACLRuleInfo {
	n := len(t.Rules) - 1
	if t.Words == 0 {
		return t.Rules[n]
	}
	addr := p.Src
	if t.Egress {
		addr = p.Dst
	}
	walk := func(root uint32, key []byte) uint32 {
		v := NACLChild | uint64(root)
		for _, b := range key {
			v = t.Nodes[uint32(v)][b]
			if v&NACLChild == 0 {
				return uint32(v)
			}
		}
		panic("trie deeper than its key")
	}
	ia := walk(t.AddrRoot, addr.Unmap().AsSlice())
	var il uint32
	if p.Fragment == FragLater {
		il = t.Frag
	} else {
		v := 0
		switch p.Protocol {
		case vpc.ProtoTCP, vpc.ProtoUDP:
			v = p.DstPort
		case vpc.ProtoICMP, vpc.ProtoICMPv6:
			v = p.ICMPType<<8 | p.ICMPCode
		}
		il = walk(t.L4Root, []byte{byte(v >> 8), byte(v)})
	}
	ip := t.Proto[p.Protocol&0xff]
	for w := 0; w < t.Words; w++ {
		m := t.Bitmaps[ia].W[w] & t.Bitmaps[ip].W[w] & t.Bitmaps[il].W[w]
		if m != 0 {
			return t.Rules[w*64+bits.TrailingZeros64(m)]
		}
	}
	return t.Rules[n]
}

var linkMulticast6 = netip.MustParsePrefix("ff02::/16")

// NACLBypass reports whether the NACL datapath passes p without consulting
// any table (bpf/nacl.bpf.c step 3): p's source or destination is a
// ReservedService address of t (SG-45, NACL-10, PATH-6), or p is IPv6
// link-local control (ICMPv6 133..137 RS/RA/NS/NA/redirect, anything to
// ff02::/16), which the VPC router needs whatever the NACL says.
func NACLBypass(t *vpc.Topology, p Packet) bool {
	src, dst := p.Src.Unmap(), p.Dst.Unmap()
	if ReservedService(t, src) || ReservedService(t, dst) {
		return true
	}
	if src.Is4() {
		return false
	}
	if p.Protocol == vpc.ProtoICMPv6 && p.Fragment != FragLater && p.ICMPType >= 133 && p.ICMPType <= 137 {
		return true
	}
	return linkMulticast6.Contains(dst)
}

// NACLReservedAddrs lists the individual addresses ReservedService exempts
// beyond its fixed ranges (169.254.0.0/16, fe80::/10, fd00:ec2::/32): each
// VPC's base+2 and every subnet's base+1..+3. The datapath keeps them in a
// hash map.
func NACLReservedAddrs(t *vpc.Topology) []netip.Addr {
	var out []netip.Addr
	eachRouterAddr(t, func(a netip.Addr) { out = append(out, a) })
	return out
}
