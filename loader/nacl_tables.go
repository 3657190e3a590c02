package loader

import (
	"errors"
	"fmt"
	"sort"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// The NACL's table pool: compiled tables written into free slots of the
// shared pools (bitmaps, trie nodes, rule slots), a set of four tables per
// NACL generation, switched live one u32 per subnet.

type naclACL struct {
	id     string
	idx    uint32
	set    uint32 // live set, 0 = none
	tables [2][2]naclLive
	totals map[naclCtrKey]rules.NACLCounterValue // from retired generations
	// retired generations whose counters are not in totals yet (a read
	// failed): their slots stay allocated until they are.
	retired []naclGen
}

// naclGen is one generation of a NACL's tables: its set and where the
// tables sit in the pools; epoch (NACL.epoch) orders its retirement.
type naclGen struct {
	set    uint32
	tables [2][2]naclLive
	epoch  uint64
}

// naclLive is one table of a live set: where its pieces sit in the pools.
type naclLive struct {
	rules            []rules.NACLRuleInfo
	bm, nodes, rinfo [2]int // [base, count] in each pool
}

// acl returns the NACL named id, numbering it on first sight. Its number
// is what events carry (vpc_event.obj) and nacl_subnet's entries hold in
// 16 bits, NACL_NO_ACL excepted; table sets bound the count well below.
func (n *NACL) acl(id string) (*naclACL, error) {
	if a := n.acls[id]; a != nil {
		return a, nil
	}
	for i := uint32(0); i < uint32(naclNaclEntryNACL_NO_ACL) && i < uint32(n.lim.sets); i++ {
		if n.byIdx[i] == nil {
			a := &naclACL{id: id, idx: i, totals: map[naclCtrKey]rules.NACLCounterValue{}}
			n.byIdx[i] = a
			n.acls[id] = a
			return a, nil
		}
	}
	return nil, fmt.Errorf("nacl %s: more than %d NACLs: %w", id, len(n.byIdx), ErrNACLFull)
}

// SetNACL compiles acl and makes it live atomically: the new generation is
// written to free slots, then one u32 per associated subnet flips it to the
// new tables; the old generation's counters are folded into the totals and its
// slots freed once no packet can still be reading them.
func (n *NACL) SetNACL(acl *vpc.NetworkACL) error {
	img, err := rules.CompileNACL(acl)
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	a, err := n.acl(acl.ID)
	if err != nil {
		return err
	}
	// What grace periods freed since (a failed read keeps its generation).
	_ = n.fold(a, false)
	set, live, err := n.writeSet(img)
	if errors.Is(err, ErrNACLFull) && n.foldAll() {
		// Retired sets not past a grace period yet held the room.
		set, live, err = n.writeSet(img)
	}
	if err != nil {
		return fmt.Errorf("nacl %s: %w", acl.ID, err)
	}
	if err := n.switchSet(a, set); err != nil {
		n.freeSet(set, &live)
		return fmt.Errorf("nacl %s: switch tables: %w", acl.ID, err)
	}
	old, oldLive := a.set, a.tables
	a.set, a.tables = set, live
	if old == 0 {
		return nil
	}
	n.epoch++
	a.retired = append(a.retired, naclGen{old, oldLive, n.epoch})
	// Programs may be reading the old set until a grace period has
	// passed: it is folded and freed after one, which runs in the
	// background so that an update costs no synchronize_rcu (10-100 ms).
	n.graceLater()
	return nil
}

// writeSet writes img's four tables into a free set.
func (n *NACL) writeSet(img *rules.NACLImage) (uint32, [2][2]naclLive, error) {
	var live [2][2]naclLive
	if len(n.sets) == 0 {
		return 0, live, fmt.Errorf("no free table set: %w", ErrNACLFull)
	}
	set := n.sets[len(n.sets)-1]
	n.sets = n.sets[:len(n.sets)-1]
	for e := 0; e < 2; e++ {
		for f := 0; f < 2; f++ {
			l, err := n.writeTable(naclTableID(set, e == 1, f == 1), img.Tables[e][f])
			if err != nil {
				n.freeSet(set, &live)
				return 0, live, err
			}
			live[e][f] = l
		}
	}
	return set, live, nil
}

// foldAll folds every NACL's retired generations, after a grace period if
// needed; it tells whether that freed any set.
func (n *NACL) foldAll() bool {
	free := len(n.sets)
	for _, a := range n.acls {
		_ = n.fold(a, true)
	}
	return len(n.sets) > free
}

// graceLater starts a grace period in the background, unless one runs
// already (it starts the next one when it ends), after which every set
// retired before it started is safe to fold.
func (n *NACL) graceLater() {
	if n.graceRunning || n.closing {
		return
	}
	n.graceRunning = true
	e := n.epoch
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		err := n.rcu.wait()
		n.mu.Lock()
		defer n.mu.Unlock()
		n.graceRunning = false
		if err == nil && e > n.safe {
			n.safe = e
		}
		if n.safe < n.epoch {
			n.graceLater()
		}
	}()
}

// naclTableID is the nacl_tables index of a table of set set.
func naclTableID(set uint32, egress, v6 bool) uint32 {
	id := set * uint32(naclNaclTidNACL_TID_SET)
	if egress {
		id += uint32(naclNaclTidNACL_TID_EGRESS)
	}
	if v6 {
		id += uint32(naclNaclTidNACL_TID_V6)
	}
	return id
}

// freeSet returns table set set and the pool slots of its tables.
func (n *NACL) freeSet(set uint32, live *[2][2]naclLive) {
	for e := range live {
		for f := range live[e] {
			n.freeTable(&live[e][f])
		}
	}
	n.sets = append(n.sets, set)
}

// switchSet points every subnet associated with a to table set set, one
// u32 each; on failure it points back the ones it switched.
func (n *NACL) switchSet(a *naclACL, set uint32) error {
	var done []uint32
	for idx, b := range n.assoc {
		if b != a {
			continue
		}
		if err := n.maps.NaclSubnet.Put(idx, subnetValue(a, set)); err != nil {
			for _, d := range done {
				_ = n.maps.NaclSubnet.Put(d, subnetValue(a, a.set))
			}
			return err
		}
		done = append(done, idx)
	}
	return nil
}

// subnetValue is the nacl_subnet entry of a subnet judged by a's set set.
func subnetValue(a *naclACL, set uint32) uint32 {
	return uint32(naclNaclEntryNACL_VALID) | set<<16 | a.idx
}

// writeTable writes one compiled table into free pool slots and its header
// at table id tid.
func (n *NACL) writeTable(tid uint32, t *rules.NACLTable) (l naclLive, err error) {
	defer func() {
		if err != nil {
			n.freeTable(&l)
		}
	}()
	l.rules = t.Rules
	alloc := func(ra *rangeAlloc, cnt int, what string) ([2]int, error) {
		if cnt == 0 {
			return [2]int{0, 0}, nil
		}
		b, ok := ra.alloc(cnt)
		if !ok {
			return [2]int{}, fmt.Errorf("%d %s: %w", cnt, what, ErrNACLFull)
		}
		return [2]int{b, cnt}, nil
	}
	if !t.Direct {
		if l.bm, err = alloc(n.bitmaps, len(t.Bitmaps), "bitmaps"); err != nil {
			return l, err
		}
	}
	if l.nodes, err = alloc(n.nodes, len(t.Nodes), "trie nodes"); err != nil {
		return l, err
	}
	if l.rinfo, err = alloc(n.rinfo, len(t.Rules), "rule slots"); err != nil {
		return l, err
	}
	// A leaf is the rule word itself in direct tables, else a bitmap index.
	leaf := func(id uint32) uint64 {
		if t.Direct {
			return t.Bitmaps[id].W[0]
		}
		return uint64(id) + uint64(l.bm[0])
	}
	put := func(m *ebpf.Map, keys []uint32, vals any) error {
		if len(keys) == 0 {
			return nil
		}
		if _, err := m.BatchUpdate(keys, vals, nil); err != nil {
			return fmt.Errorf("write %s: %w", m, err)
		}
		return nil
	}
	seq := func(base, cnt int) []uint32 {
		k := make([]uint32, cnt)
		for i := range k {
			k[i] = uint32(base + i)
		}
		return k
	}
	if !t.Direct {
		if err := put(n.maps.NaclBm, seq(l.bm[0], l.bm[1]), t.Bitmaps); err != nil {
			return l, err
		}
	}
	if err := n.writeNodes(l.nodes[0], t.Nodes, func(v uint64) uint64 { return leaf(uint32(v)) }); err != nil {
		return l, err
	}
	proto := make([]uint64, 256)
	for i := range proto {
		proto[i] = leaf(t.Proto[i])
	}
	if err := put(n.maps.NaclProto, seq(int(tid)*256, 256), proto); err != nil {
		return l, err
	}
	if err := put(n.maps.NaclRinfo, seq(l.rinfo[0], l.rinfo[1]), t.Rules); err != nil {
		return l, err
	}
	// Counters of reused slots start at zero.
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return l, err
	}
	zero := make([]rules.NACLCounterValue, ncpu*l.rinfo[1])
	if err := put(n.maps.NaclCtr, seq(l.rinfo[0], l.rinfo[1]), zero); err != nil {
		return l, err
	}
	hdr := rules.NACLTableHeader{
		NWords:    uint16(t.Words),
		NRules:    uint16(len(t.Rules) - 1),
		RinfoBase: uint32(l.rinfo[0]),
		AddrRoot:  t.AddrRoot + uint32(l.nodes[0]),
		L4Root:    t.L4Root + uint32(l.nodes[0]),
		Frag:      leaf(t.Frag),
	}
	if t.Direct {
		hdr.Direct = 1
		for i, r := range t.Rules {
			if r.Allow == 1 {
				hdr.Allow |= 1 << i
			}
		}
	}
	if err := n.maps.NaclTables.Put(tid, hdr); err != nil {
		return l, fmt.Errorf("write table header: %w", err)
	}
	return l, nil
}

// writeNodes writes compiled trie nodes into the node pool from node base:
// child entries (local node indexes) are offset by base, leaves mapped by
// leaf.
func (n *NACL) writeNodes(base int, nodes [][256]uint64, leaf func(uint64) uint64) error {
	if len(nodes) == 0 {
		return nil
	}
	keys := make([]uint32, 0, 256*len(nodes))
	vals := make([]uint64, 0, 256*len(nodes))
	for i, nd := range nodes {
		for b, v := range nd {
			if v&rules.NACLChild != 0 {
				v = rules.NACLChild | (v&^rules.NACLChild + uint64(base))
			} else {
				v = leaf(v)
			}
			keys = append(keys, uint32((base+i)*256+b))
			vals = append(vals, v)
		}
	}
	if _, err := n.maps.NaclNodes.BatchUpdate(keys, vals, nil); err != nil {
		return fmt.Errorf("write trie nodes: %w", err)
	}
	return nil
}

func (n *NACL) freeTable(l *naclLive) {
	n.bitmaps.free(l.bm[0], l.bm[1])
	n.nodes.free(l.nodes[0], l.nodes[1])
	n.rinfo.free(l.rinfo[0], l.rinfo[1])
	*l = naclLive{}
}

// Associate makes aclID the NACL of subnet (NACL-2); the next packet from
// or to the subnet is judged by it.
func (n *NACL) Associate(subnet, aclID string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.associate(subnet, aclID)
}

func (n *NACL) associate(subnet, aclID string) error {
	idx, ok := n.subnets[subnet]
	if !ok {
		return fmt.Errorf("nacl: associate %s: subnet %q is not in the topology", aclID, subnet)
	}
	a, err := n.acl(aclID)
	if err != nil {
		return err
	}
	if err := n.maps.NaclSubnet.Put(idx, subnetValue(a, a.set)); err != nil {
		return fmt.Errorf("nacl: associate %s with %s: %w", aclID, subnet, err)
	}
	n.assoc[idx] = a
	return nil
}

// rangeAlloc hands out contiguous index ranges of a pool (first fit).
type rangeAlloc struct {
	spans [][2]int // free spans, sorted, non-adjacent [start, end)
}

func newRangeAlloc(size int) *rangeAlloc { return &rangeAlloc{spans: [][2]int{{0, size}}} }

func (r *rangeAlloc) alloc(n int) (int, bool) {
	for i, f := range r.spans {
		if f[1]-f[0] >= n {
			r.spans[i][0] += n
			if r.spans[i][0] == r.spans[i][1] {
				r.spans = append(r.spans[:i], r.spans[i+1:]...)
			}
			return f[0], true
		}
	}
	return 0, false
}

func (r *rangeAlloc) free(start, n int) {
	if n == 0 {
		return
	}
	end := start + n
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i][0] >= start })
	r.spans = append(r.spans, [2]int{})
	copy(r.spans[i+1:], r.spans[i:])
	r.spans[i] = [2]int{start, end}
	// merge with neighbours
	if i+1 < len(r.spans) && r.spans[i][1] == r.spans[i+1][0] {
		r.spans[i][1] = r.spans[i+1][1]
		r.spans = append(r.spans[:i+1], r.spans[i+2:]...)
	}
	if i > 0 && r.spans[i-1][1] == r.spans[i][0] {
		r.spans[i-1][1] = r.spans[i][1]
		r.spans = append(r.spans[:i], r.spans[i+1:]...)
	}
}
