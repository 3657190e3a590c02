package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/vpcemu/vpcemu/vpc"
)

// Datapath limits and markers shared with bpf/nacl.h.
const (
	NACLMaxRules = 1024       // rules per table (direction and address family)
	NACLWords    = 16         // 64-bit words of a rule bitmap
	NACLL4Sub    = 0x80000000 // NACLTable.L4Top value flag: a second-level block
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
	RinfoBase uint32 // index of bit 0 in nacl_rinfo / nacl_ctr
	AddrBase  uint32 // first bound in nacl_addr4 / nacl_addr6
	AddrN     uint32 // bounds
	FragBM    uint32 // bitmap index for later fragments
	AddrBM0   uint32 // bitmap index of the first address interval
}

// NACLAddr4 mirrors struct nacl_addr4: an interval starting at Bound.
type NACLAddr4 struct {
	Bound uint32 // host order
	BM    uint32
}

// NACLAddr6 mirrors struct nacl_addr6.
type NACLAddr6 struct {
	Hi, Lo uint64 // host order halves of the first address
	BM     uint32
	Pad    uint32
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

// NACLTable is one compiled (direction, family) table. Bitmap indexes in
// Addr4/Addr6, Proto, L4Top, L4Sub and FragBM are local (into Bitmaps) and
// L4Top's block indexes local (into L4Sub); the loader offsets both.
type NACLTable struct {
	Egress  bool
	IPv6    bool
	Words   int            // bitmap words in use (0 when there are no rules)
	Rules   []NACLRuleInfo // bit i -> rule; the last entry is `*`
	Bitmaps []NACLBitmap
	Addr4   []NACLAddr4 // IPv4 tables
	Addr6   []NACLAddr6 // IPv6 tables
	Proto   [256]uint32
	L4Top   [256]uint32 // bitmap, or NACLL4Sub | block
	L4Sub   [][256]uint32
	FragBM  uint32
}

// NACLImage is a whole NACL compiled: Tables[egress][v6].
type NACLImage struct {
	ID     string
	Tables [2][2]*NACLTable
}

// CompileNACL compiles both directions and both families of acl.
func CompileNACL(acl *vpc.NetworkACL) (*NACLImage, error) {
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
	t := &NACLTable{Egress: egress, IPv6: v6, Words: (len(rs) + 63) / 64}
	tb := &tableBuilder{t: t, ids: map[bitset]uint32{}}
	for _, r := range rs {
		t.Rules = append(t.Rules, NACLRuleInfo{Number: uint16(r.Number), Allow: b2u8(r.Allow)})
	}
	star := NACLDefaultRuleIPv4
	if v6 {
		star = NACLDefaultRuleIPv6
	}
	t.Rules = append(t.Rules, NACLRuleInfo{Number: uint16(star)})

	// Address dimension: a sweep over interval starts and ends.
	type edge struct {
		at   u128
		rule int
		add  bool
	}
	var edges []edge
	for i, r := range rs {
		first, last := prefixRange(r.CIDR)
		edges = append(edges, edge{first, i, true})
		maxAddr := u128{lo: 0xffffffff}
		if v6 {
			maxAddr = u128{^uint64(0), ^uint64(0)}
		}
		if last != maxAddr {
			edges = append(edges, edge{last.inc(), i, false})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		if a.at.less(b.at) {
			return -1
		}
		if b.at.less(a.at) {
			return 1
		}
		return 0
	})
	var cur bitset
	emitAddr := func(at u128, b bitset) {
		id := tb.id(b)
		if v6 {
			if n := len(t.Addr6); n > 0 && t.Addr6[n-1].BM == id {
				return
			}
			t.Addr6 = append(t.Addr6, NACLAddr6{Hi: at.hi, Lo: at.lo, BM: id})
			return
		}
		if n := len(t.Addr4); n > 0 && t.Addr4[n-1].BM == id {
			return
		}
		t.Addr4 = append(t.Addr4, NACLAddr4{Bound: uint32(at.lo), BM: id})
	}
	pos := u128{}
	for i := 0; i < len(edges); {
		at := edges[i].at
		if at != pos {
			emitAddr(pos, cur)
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
	emitAddr(pos, cur)
	// The first bound must be address 0 for the datapath's binary search.
	if v6 && (len(t.Addr6) == 0 || t.Addr6[0].Hi != 0 || t.Addr6[0].Lo != 0) {
		t.Addr6 = append([]NACLAddr6{{BM: tb.id(bitset{})}}, t.Addr6...)
	}
	if !v6 && (len(t.Addr4) == 0 || t.Addr4[0].Bound != 0) {
		t.Addr4 = append([]NACLAddr4{{BM: tb.id(bitset{})}}, t.Addr4...)
	}

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

	// L4 dimension and the later-fragment bitmap.
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
	t.FragBM = tb.id(frag)
	slices.Sort(points)
	points = slices.Compact(points)
	var val [65536]uint32
	cur = bitset{}
	for k, v := range points {
		if v > 65535 {
			break
		}
		for _, i := range ends[v] {
			cur.clear(i)
		}
		for _, i := range starts[v] {
			cur.set(i)
		}
		id := tb.id(cur)
		end := 65536
		if k+1 < len(points) && points[k+1] < end {
			end = points[k+1]
		}
		for x := v; x < end; x++ {
			val[x] = id
		}
	}
	for h := 0; h < 256; h++ {
		blk := val[h*256 : h*256+256]
		uniform := true
		for _, x := range blk[1:] {
			if x != blk[0] {
				uniform = false
				break
			}
		}
		if uniform {
			t.L4Top[h] = blk[0]
			continue
		}
		t.L4Top[h] = NACLL4Sub | uint32(len(t.L4Sub))
		var sub [256]uint32
		copy(sub[:], blk)
		t.L4Sub = append(t.L4Sub, sub)
	}
	return t, nil
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
	x := addrU128(addr.Unmap())
	var ia uint32
	if t.IPv6 {
		i := sort.Search(len(t.Addr6), func(i int) bool { return x.less(u128{t.Addr6[i].Hi, t.Addr6[i].Lo}) }) - 1
		ia = t.Addr6[i].BM
	} else {
		i := sort.Search(len(t.Addr4), func(i int) bool { return x.lo < uint64(t.Addr4[i].Bound) }) - 1
		ia = t.Addr4[i].BM
	}
	var il uint32
	if p.Fragment == FragLater {
		il = t.FragBM
	} else {
		v := 0
		switch p.Protocol {
		case vpc.ProtoTCP, vpc.ProtoUDP:
			v = p.DstPort
		case vpc.ProtoICMP, vpc.ProtoICMPv6:
			v = p.ICMPType<<8 | p.ICMPCode
		}
		il = t.L4Top[v>>8]
		if il&NACLL4Sub != 0 {
			il = t.L4Sub[il&^NACLL4Sub][v&0xff]
		}
	}
	ip := t.Proto[p.Protocol&0xff]
	for w := 0; w < t.Words; w++ {
		m := t.Bitmaps[ia].W[w] & t.Bitmaps[ip].W[w] & t.Bitmaps[il].W[w]
		if m != 0 {
			for b := 0; b < 64; b++ {
				if m&(1<<b) != 0 {
					return t.Rules[w*64+b]
				}
			}
		}
	}
	return t.Rules[n]
}

// NACL bypass addresses (SG-45): never filtered by NACLs or SGs.
var (
	naclServicesV4 = []netip.Addr{
		netip.MustParseAddr("169.254.169.254"), // instance metadata
		netip.MustParseAddr("169.254.169.253"), // Route 53 Resolver
		netip.MustParseAddr("169.254.169.123"), // Time Sync
	}
	naclServicesV6 = netip.MustParsePrefix("fd00:ec2::/32")
	linkLocalV6    = netip.MustParsePrefix("fe80::/10")
	linkMulticast6 = netip.MustParsePrefix("ff02::/16")
)

// NACLBypass reports whether the NACL datapath passes p without consulting
// any table (bpf/nacl.bpf.c step 3): traffic to or from the SG-45 services
// (169.254.169.254/.253/.123, vpcDNS = the VPC's base+2, fd00:ec2::/32) and
// IPv6 link-local control (ICMPv6 133..137, from/to fe80::/10, to ff02::/16).
func NACLBypass(p Packet, vpcDNS netip.Addr) bool {
	src, dst := p.Src.Unmap(), p.Dst.Unmap()
	if src.Is4() {
		for _, a := range append(naclServicesV4, vpcDNS) {
			if a.IsValid() && (src == a || dst == a) {
				return true
			}
		}
		return false
	}
	if p.Protocol == vpc.ProtoICMPv6 && p.Fragment != FragLater && p.ICMPType >= 133 && p.ICMPType <= 137 {
		return true
	}
	if linkMulticast6.Contains(dst) {
		return true
	}
	for _, a := range []netip.Addr{src, dst} {
		if naclServicesV6.Contains(a) || linkLocalV6.Contains(a) {
			return true
		}
	}
	return false
}

// VPCDNS returns the Route 53 Resolver address of a VPC: its base+2.
func VPCDNS(vpcCIDR netip.Prefix) netip.Addr {
	if !vpcCIDR.IsValid() {
		return netip.Addr{}
	}
	return vpcCIDR.Masked().Addr().Next().Next()
}
