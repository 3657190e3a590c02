package intent

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strings"
)

// u128 is an address as a number: IPv4 in the low 32 bits, IPv6 all 128.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) cmp(b u128) int {
	switch {
	case a == b:
		return 0
	case a.less(b):
		return -1
	}
	return 1
}

func (a u128) inc() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}

func (a u128) dec() u128 {
	lo, b := bits.Sub64(a.lo, 1, 0)
	return u128{a.hi - b, lo}
}

func addrNum(a netip.Addr) u128 {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func numAddr(n u128, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(n.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], n.hi)
	binary.BigEndian.PutUint64(b[8:], n.lo)
	return netip.AddrFrom16(b)
}

// maxAddr is the last address of a family.
func maxAddr(v6 bool) u128 {
	if v6 {
		return u128{^uint64(0), ^uint64(0)}
	}
	return u128{0, 0xffffffff}
}

// prefixBounds is the first and last address of p as numbers.
func prefixBounds(p netip.Prefix) (first, last u128) {
	p = p.Masked()
	first = addrNum(p.Addr())
	host := 128 - p.Bits()
	if p.Addr().Is4() {
		host = 32 - p.Bits()
	}
	last = first
	switch {
	case host >= 128:
		last = u128{^uint64(0), ^uint64(0)}
	case host > 64:
		last.hi |= (1 << (host - 64)) - 1
		last.lo = ^uint64(0)
	case host == 64:
		last.lo = ^uint64(0)
	case host > 0:
		last.lo |= (1 << host) - 1
	}
	return first, last
}

// addrRange is an inclusive range of addresses of one family.
type addrRange struct {
	v6     bool
	lo, hi u128
}

func prefixRange(p netip.Prefix) addrRange {
	lo, hi := prefixBounds(p)
	return addrRange{v6: p.Addr().Is6(), lo: lo, hi: hi}
}

func singleAddr(a netip.Addr) addrRange {
	n := addrNum(a)
	return addrRange{v6: a.Unmap().Is6(), lo: n, hi: n}
}

func (r addrRange) single() bool { return r.lo == r.hi }

func (r addrRange) contains(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is6() != r.v6 {
		return false
	}
	n := addrNum(a)
	return !n.less(r.lo) && !r.hi.less(n)
}

func (r addrRange) first() netip.Addr { return numAddr(r.lo, r.v6) }

// String writes the range as the fewest CIDRs (at most three, then a count).
func (r addrRange) String() string {
	ps := r.prefixes(4)
	var s []string
	for i, p := range ps {
		if i == 3 {
			s = append(s, fmt.Sprintf("+%d more", len(r.prefixes(1<<20))-3))
			break
		}
		if p.IsSingleIP() {
			s = append(s, p.Addr().String())
		} else {
			s = append(s, p.String())
		}
	}
	return strings.Join(s, ", ")
}

// prefixes covers the range with the fewest CIDRs, up to limit of them.
func (r addrRange) prefixes(limit int) []netip.Prefix {
	var out []netip.Prefix
	width := 32
	if r.v6 {
		width = 128
	}
	lo := r.lo
	for len(out) < limit {
		// The largest aligned block starting at lo that ends at or before hi.
		host := 0
		for host < width {
			size := host + 1
			mask := lowMask(size)
			if lo.hi&mask.hi != 0 || lo.lo&mask.lo != 0 {
				break
			}
			end := u128{lo.hi | mask.hi, lo.lo | mask.lo}
			if r.hi.less(end) {
				break
			}
			host = size
		}
		out = append(out, netip.PrefixFrom(numAddr(lo, r.v6), width-host))
		end := u128{lo.hi | lowMask(host).hi, lo.lo | lowMask(host).lo}
		if end == r.hi || end == maxAddr(r.v6) {
			break
		}
		lo = end.inc()
	}
	return out
}

// lowMask has the n lowest bits set.
func lowMask(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n >= 128:
		return u128{^uint64(0), ^uint64(0)}
	case n > 64:
		return u128{(1 << (n - 64)) - 1, ^uint64(0)}
	case n == 64:
		return u128{0, ^uint64(0)}
	}
	return u128{0, (1 << n) - 1}
}

// intRange is an inclusive range of ports (or ICMP type<<8|code, or
// protocol numbers).
type intRange struct{ lo, hi int }

func (r intRange) String() string {
	if r.lo == r.hi {
		return fmt.Sprint(r.lo)
	}
	return fmt.Sprintf("%d-%d", r.lo, r.hi)
}

// protoClass is a set of protocol numbers the rules never tell apart.
type protoClass struct {
	rep    int        // the protocol packets of the class carry
	ranges []intRange // every protocol of the class, for display
}

func (p protoClass) String() string {
	if len(p.ranges) == 1 && p.ranges[0].lo == p.ranges[0].hi {
		return protoName(p.rep)
	}
	var s []string
	for _, r := range p.ranges {
		s = append(s, r.String())
	}
	return "protocols " + strings.Join(s, ",")
}

// box is a set of flows: every combination of its dimensions. l4 is the
// destination port (TCP/UDP), type<<8|code (ICMP) or {0,0}; sport the
// source port (TCP/UDP) or {0,0}.
type box struct {
	src, dst addrRange
	proto    *protoClass
	l4       intRange
	sport    intRange
	from, to string // the endpoints' names (instance id, host, "internet", CIDR)
}

// rep is the flow every flow of the box is judged by: the lowest of each dimension.
func (b *box) rep() flow {
	return flow{src: b.src.first(), dst: b.dst.first(), proto: b.proto.rep, l4: b.l4.lo, sport: b.sport.lo}
}

// size is how many flows the box holds (saturating).
func (b *box) size() float64 {
	np := 0
	for _, r := range b.proto.ranges {
		np += r.hi - r.lo + 1
	}
	return b.src.count() * b.dst.count() * float64(np) * float64(b.l4.hi-b.l4.lo+1) * float64(b.sport.hi-b.sport.lo+1)
}

// count is how many addresses the range holds.
func (r addrRange) count() float64 {
	lo, borrow := bits.Sub64(r.hi.lo, r.lo.lo, 0)
	hi := r.hi.hi - r.lo.hi - borrow
	return float64(hi)*18446744073709551616.0 + float64(lo) + 1
}

// flow is one concrete flow: the first packet of a connection attempt.
type flow struct {
	src, dst netip.Addr
	proto    int
	l4       int // destination port, or ICMP type<<8|code
	sport    int
}

// cuts are breakpoints of one dimension: a value x in cuts starts a new
// class (x-1 and x may be judged differently).
type addrCuts []u128

type intCuts []int

// splitAddr cuts r at every point of the given sorted lists that lies inside it.
func splitAddr(r addrRange, lists ...[]u128) []addrRange {
	var pts []u128
	return appendSplitAddr(nil, &pts, r, lists...)
}

// appendSplitAddr appends splitAddr's pieces to out, gathering the points
// in *pts (storage reused between calls).
func appendSplitAddr(out []addrRange, pts *[]u128, r addrRange, lists ...[]u128) []addrRange {
	ps := (*pts)[:0]
	for _, l := range lists {
		i := sort.Search(len(l), func(i int) bool { return r.lo.less(l[i]) })
		for ; i < len(l) && !r.hi.less(l[i]); i++ {
			ps = append(ps, l[i])
		}
	}
	*pts = ps
	if len(ps) == 0 {
		return append(out, r)
	}
	slices.SortFunc(ps, u128.cmp)
	lo := r.lo
	for _, p := range ps {
		if p == lo {
			continue
		}
		out = append(out, addrRange{v6: r.v6, lo: lo, hi: p.dec()})
		lo = p
	}
	return append(out, addrRange{v6: r.v6, lo: lo, hi: r.hi})
}

// splitInt cuts r at every point of the given sorted lists inside it.
func splitInt(r intRange, lists ...[]int) []intRange {
	var pts []int
	return appendSplitInt(nil, &pts, r, lists...)
}

// appendSplitInt appends splitInt's pieces to out, gathering the points in
// *pts (storage reused between calls).
func appendSplitInt(out []intRange, pts *[]int, r intRange, lists ...[]int) []intRange {
	ps := (*pts)[:0]
	for _, l := range lists {
		i := sort.SearchInts(l, r.lo+1)
		for ; i < len(l) && l[i] <= r.hi; i++ {
			ps = append(ps, l[i])
		}
	}
	*pts = ps
	if len(ps) == 0 {
		return append(out, r)
	}
	slices.Sort(ps)
	lo := r.lo
	for _, p := range ps {
		if p == lo {
			continue
		}
		out = append(out, intRange{lo, p - 1})
		lo = p
	}
	return append(out, intRange{lo, r.hi})
}

// sortAddrCuts sorts and dedupes.
func sortAddrCuts(c []u128) []u128 {
	slices.SortFunc(c, u128.cmp)
	out := c[:0]
	for i, x := range c {
		if i == 0 || x != c[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func sortIntCuts(c []int) []int {
	sort.Ints(c)
	out := c[:0]
	for i, x := range c {
		if i == 0 || x != c[i-1] {
			out = append(out, x)
		}
	}
	return out
}
