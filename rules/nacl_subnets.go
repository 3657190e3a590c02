package rules

import (
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// NACLSubnetTrie maps addresses of one family to subnet indexes for the
// datapath's destination lookup (bpf/nacl.h "Subnets"). Every subnet
// shares the first Skip bytes of Prefix (an address without them is in no
// subnet); Root is the trie node of byte Skip. Nodes have the format of
// NACLTable.Nodes (child entries are local node indexes, the loader offsets
// them); a leaf is a subnet index, 0 for an address in no subnet.
type NACLSubnetTrie struct {
	IPv6   bool
	Skip   int
	Prefix [16]byte // IPv4 in the first 4 bytes; zero after Skip
	Nodes  [][256]uint64
	Root   uint32
}

// CompileNACLSubnets builds the trie over the prefixes of one family:
// prefixes[i] (which must not overlap, as AWS's subnets never do) maps to
// index[i] (> 0). It returns nil when no prefix is of that family.
func CompileNACLSubnets(prefixes []netip.Prefix, index []uint32, v6 bool) (*NACLSubnetTrie, error) {
	type span struct {
		first, last u128
		idx         uint32
		p           netip.Prefix
	}
	var spans []span
	for i, p := range prefixes {
		if !p.IsValid() || p.Addr().Is6() != v6 {
			continue
		}
		if index[i] == 0 {
			return nil, fmt.Errorf("subnet %s: index 0 is reserved for no subnet", p)
		}
		first, last := prefixRange(p.Masked())
		spans = append(spans, span{first, last, index[i], p})
	}
	if len(spans) == 0 {
		return nil, nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.first.cmp(b.first) })
	var iv intervals
	pos, end := u128{}, false // pos: the first address after the spans so far
	for i, s := range spans {
		if i > 0 && !spans[i-1].last.less(s.first) {
			return nil, fmt.Errorf("subnets %s and %s overlap", spans[i-1].p, s.p)
		}
		if s.first != pos {
			iv.add(pos, 0) // the addresses between the previous span and s
		}
		iv.add(s.first, s.idx)
		pos = s.last.inc()
		end = pos == (u128{}) || (!v6 && pos.lo > 0xffffffff)
	}
	if !end {
		iv.add(pos, 0)
	}
	n := 4
	if v6 {
		n = 16
	}
	// The bytes all subnets share: the whole bytes of their first
	// addresses' common prefix, within the shortest subnet prefix; the trie
	// keeps at least one level.
	tr := &NACLSubnetTrie{IPv6: v6}
	shared := 8 * n
	for _, s := range spans {
		shared = min(shared, s.p.Bits(), commonBits(s.first, spans[0].first, v6))
	}
	tr.Skip = min(shared/8, n-1)
	copy(tr.Prefix[:tr.Skip], spans[0].p.Masked().Addr().AsSlice())
	var base u128
	if v6 {
		base = addrU128(netip.AddrFrom16(tr.Prefix))
	} else {
		base = addrU128(netip.AddrFrom4([4]byte(tr.Prefix[:4])))
	}
	tb := &tableBuilder{t: &NACLTable{}}
	tr.Root = tb.trie(&iv, base, tr.Skip, n)
	tr.Nodes = tb.t.Nodes
	return tr, nil
}

// commonBits is the length of the longest common prefix of two addresses
// of one family.
func commonBits(a, b u128, v6 bool) int {
	if !v6 {
		return bits.LeadingZeros32(uint32(a.lo ^ b.lo))
	}
	if x := a.hi ^ b.hi; x != 0 {
		return bits.LeadingZeros64(x)
	}
	return 64 + bits.LeadingZeros64(a.lo^b.lo)
}

// Lookup walks the trie as bpf/nacl.bpf.c does (for tests without a
// kernel): the subnet index of a, 0 if none.
func (t *NACLSubnetTrie) Lookup(a netip.Addr) uint32 {
	if t == nil || a.Is6() != t.IPv6 {
		return 0
	}
	b := a.AsSlice()
	for i := 0; i < t.Skip; i++ {
		if b[i] != t.Prefix[i] {
			return 0
		}
	}
	v := NACLChild | uint64(t.Root)
	for i := t.Skip; i < len(b); i++ {
		v = t.Nodes[uint32(v)][b[i]]
		if v&NACLChild == 0 {
			return uint32(v)
		}
	}
	return 0
}
