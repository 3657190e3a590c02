package loader

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Limits of bpf/nacl.h, mirrored for allocation.
const (
	naclMaxACLs    = 256
	naclMaxSets    = 256
	naclMaxBitmaps = 1 << 14
	naclMaxNodes   = 4096
	naclMaxRinfo   = 1 << 16
	naclMaxSubnets = 4096

	naclValid  = 0x80000000 // nacl_subnet: configured (| set << 16 | acl)
	naclNoTrie = 0xffffffff // nacl_sub_root*: no subnet of that family
)

// ErrNACLFull is returned when the datapath's table pools cannot hold
// another table generation.
var ErrNACLFull = errors.New("nacl datapath tables full")

// NACLOptions configure a topology's NACL datapath.
type NACLOptions struct {
	VPCCIDR netip.Prefix // its base+2 (Route 53 Resolver) is never filtered
	// Topology, when set, adds every subnet's base+1..3 to the addresses
	// never filtered (rules.ReservedService) and supplies VPCCIDR if unset.
	Topology *vpc.Topology
	MTU      int // link MTU for counting GSO segments; vpc.DefaultMTU when 0
	// Flows, when set, are the topology's shared flow-log counters the
	// programs count into (bpf/flow.h); nil counts nothing.
	Flows *Flows
	// edit, when set (tests), changes the collection spec before load.
	edit func(*ebpf.CollectionSpec)
}

// NACL is the NACL datapath of one topology: one set of maps shared by one
// program instance per attach point (where packets enter the VPC router:
// the router-side end of each subnet uplink and of the internet gateway).
type NACL struct {
	mu   sync.Mutex
	spec *ebpf.CollectionSpec
	maps naclMaps
	rcu  *rcuWaiter

	acls  map[string]*naclACL
	byIdx [naclMaxACLs]*naclACL
	slots map[naclPortKey]*naclSlot

	sets                  []uint32 // free set ids
	bitmaps, nodes, rinfo *rangeAlloc

	subnets map[string]uint32   // subnet ID -> index (1..) in nacl_subnet and the tries
	assoc   map[uint32]*naclACL // subnet index -> its NACL
	subVars map[string]any      // the subnet tries' constants (nacl_sub_*) for every program

	// unwaited: a set was retired since the last wait for the programs in
	// flight, so its slots cannot be reused yet.
	unwaited bool
	// inject, when set (tests), runs before each counter read; an error
	// it returns fails that read.
	inject func() error
}

type naclPortKey struct{ ns, ifname string }

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
// tables sit in the pools.
type naclGen struct {
	set    uint32
	tables [2][2]naclLive
}

type naclCtrKey struct {
	egress, v6, allow bool
	rule              int
}

// naclLive is one table of a live set: where its pieces sit in the pools.
type naclLive struct {
	rules            []rules.NACLRuleInfo
	bm, nodes, rinfo [2]int // [base, count] in each pool
}

type naclSlot struct {
	coll *ebpf.Collection
	prog *ebpf.Program
	link link.Link
}

// LoadNACL loads the NACL maps of one topology, with its subnets (opts.Topology)
// and their NACL associations; programs are loaded per attach point by
// Attach.
func LoadNACL(opts NACLOptions) (_ *NACL, err error) {
	spec, err := loadNacl()
	if err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	mtu := opts.MTU
	if mtu == 0 {
		mtu = vpc.DefaultMTU
	}
	if err := spec.Variables["nacl_mtu"].Set(uint32(mtu)); err != nil {
		return nil, fmt.Errorf("nacl: set mtu: %w", err)
	}
	topo := opts.Topology
	if topo == nil {
		topo = &vpc.Topology{}
	}
	if opts.VPCCIDR.IsValid() {
		c := *topo
		c.VPCs[0].CIDR = opts.VPCCIDR
		topo = &c
	}
	reserved := rules.NACLReservedAddrs(topo)
	mask4, any6 := reservedMasks(topo)
	if err := spec.Variables["nacl_rsv4_mask"].Set(mask4); err != nil {
		return nil, fmt.Errorf("nacl: set reserved mask: %w", err)
	}
	if err := spec.Variables["nacl_rsv6_any"].Set(any6); err != nil {
		return nil, fmt.Errorf("nacl: set reserved mask: %w", err)
	}
	n := &NACL{
		spec:    spec,
		acls:    map[string]*naclACL{},
		slots:   map[naclPortKey]*naclSlot{},
		bitmaps: newRangeAlloc(naclMaxBitmaps),
		nodes:   newRangeAlloc(naclMaxNodes),
		rinfo:   newRangeAlloc(naclMaxRinfo),
		subnets: map[string]uint32{},
		assoc:   map[uint32]*naclACL{},
	}
	for s := uint32(naclMaxSets - 1); s >= 1; s-- {
		n.sets = append(n.sets, s)
	}
	fopts, err := flowOptions(spec, opts.Flows)
	if err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	if opts.edit != nil {
		opts.edit(spec)
	}
	if err := spec.LoadAndAssign(&n.maps, fopts); err != nil {
		return nil, fmt.Errorf("nacl: load maps: %w", err)
	}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	for _, a := range reserved {
		var err error
		if a.Is4() {
			err = n.maps.NaclRsv4.Put(a.As4(), uint8(1))
		} else {
			err = n.maps.NaclRsv6.Put(a.As16(), uint8(1))
		}
		if err != nil {
			return nil, fmt.Errorf("nacl: reserved address %s: %w", a, err)
		}
	}
	if err := n.loadSubnets(topo); err != nil {
		return nil, err
	}
	if n.rcu, err = newRCUWaiter(); err != nil {
		return nil, fmt.Errorf("nacl: %w", err)
	}
	return n, nil
}

// loadSubnets numbers t's subnets 1.. in their order, writes the
// destination tries over their CIDRs and associates each with its NACL.
func (n *NACL) loadSubnets(t *vpc.Topology) error {
	if len(t.Subnets) >= naclMaxSubnets {
		return fmt.Errorf("nacl: %d subnets (the datapath holds %d): %w", len(t.Subnets), naclMaxSubnets-1, ErrNACLFull)
	}
	var prefixes []netip.Prefix
	var index []uint32
	for i, s := range t.Subnets {
		idx := uint32(i + 1)
		n.subnets[s.ID] = idx
		prefixes = append(prefixes, s.CIDR, s.IPv6CIDR)
		index = append(index, idx, idx)
	}
	root := [2]uint32{naclNoTrie, naclNoTrie}
	var skip [2]uint32
	var pfx, mask [2][4][4]byte // per family, 4 words in network order
	for f, v6 := range []bool{false, true} {
		tr, err := rules.CompileNACLSubnets(prefixes, index, v6)
		if err != nil {
			return fmt.Errorf("nacl: subnet lookup: %w", err)
		}
		if tr == nil {
			continue
		}
		base, ok := n.nodes.alloc(len(tr.Nodes))
		if !ok {
			return fmt.Errorf("nacl: subnet lookup: %d trie nodes: %w", len(tr.Nodes), ErrNACLFull)
		}
		// Leaves are subnet indexes already.
		if err := n.writeNodes(base, tr.Nodes, func(v uint64) uint64 { return v }); err != nil {
			return fmt.Errorf("nacl: subnet lookup: %w", err)
		}
		root[f], skip[f] = tr.Root+uint32(base), uint32(tr.Skip)
		for i := 0; i < tr.Skip; i++ {
			pfx[f][i/4][i%4], mask[f][i/4][i%4] = tr.Prefix[i], 0xff
		}
	}
	n.subVars = map[string]any{"nacl_sub_root": root, "nacl_sub_skip": skip, "nacl_sub_pfx": pfx, "nacl_sub_mask": mask}
	for _, s := range t.Subnets {
		if s.NetworkACL == "" {
			continue // judged by `*` until Associate names its NACL
		}
		if err := n.associate(s.ID, s.NetworkACL); err != nil {
			return err
		}
	}
	return nil
}

func (n *NACL) acl(id string) (*naclACL, error) {
	if a := n.acls[id]; a != nil {
		return a, nil
	}
	for i := range n.byIdx {
		if n.byIdx[i] == nil {
			a := &naclACL{id: id, idx: uint32(i), totals: map[naclCtrKey]rules.NACLCounterValue{}}
			n.byIdx[i] = a
			n.acls[id] = a
			return a, nil
		}
	}
	return nil, fmt.Errorf("nacl %s: more than %d NACLs: %w", id, naclMaxACLs, ErrNACLFull)
}

// ACLID returns the NACL id of an index found in events (vpc_event.obj).
func (n *NACL) ACLID(idx uint32) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if idx < naclMaxACLs && n.byIdx[idx] != nil {
		return n.byIdx[idx].id
	}
	return ""
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
	if len(n.sets) == 0 {
		return fmt.Errorf("nacl %s: no free table set: %w", acl.ID, ErrNACLFull)
	}
	set := n.sets[len(n.sets)-1]
	n.sets = n.sets[:len(n.sets)-1]
	var live [2][2]naclLive
	for e := 0; e < 2; e++ {
		for f := 0; f < 2; f++ {
			l, err := n.writeTable(set*4+uint32(e*2+f), img.Tables[e][f])
			if err != nil {
				n.freeSet(set, &live)
				return fmt.Errorf("nacl %s: %w", acl.ID, err)
			}
			live[e][f] = l
		}
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
	a.retired = append(a.retired, naclGen{old, oldLive})
	n.unwaited = true
	// A failed read keeps the generation for Counters to read later.
	_ = n.fold(a)
	return nil
}

// fold adds the counters of a's retired generations to its totals and
// frees their slots; a generation whose counters cannot be read stays.
func (n *NACL) fold(a *naclACL) error {
	if len(a.retired) == 0 {
		return nil
	}
	// Programs may still be reading the retired sets until a grace period.
	if n.unwaited {
		if err := n.rcu.wait(); err != nil {
			return err
		}
		n.unwaited = false
	}
	var keep []naclGen
	var errs []error
	for _, g := range a.retired {
		sums := map[naclCtrKey]rules.NACLCounterValue{}
		if err := n.sumCounters(&g.tables, sums); err != nil {
			keep = append(keep, g)
			errs = append(errs, err)
			continue
		}
		for k, v := range sums {
			t := a.totals[k]
			t.Packets += v.Packets
			t.Bytes += v.Bytes
			a.totals[k] = t
		}
		n.freeSet(g.set, &g.tables)
	}
	a.retired = keep
	return errors.Join(errs...)
}

// sumCounters adds the rule counters of a generation's tables to sums.
func (n *NACL) sumCounters(tables *[2][2]naclLive, sums map[naclCtrKey]rules.NACLCounterValue) error {
	for e := 0; e < 2; e++ {
		for f := 0; f < 2; f++ {
			l := &tables[e][f]
			vals, err := n.readCounters(l)
			if err != nil {
				return err
			}
			for i, r := range l.rules {
				k := naclCtrKey{e == 1, f == 1, r.Allow == 1, int(r.Number)}
				v := sums[k]
				v.Packets += vals[i].Packets
				v.Bytes += vals[i].Bytes
				sums[k] = v
			}
		}
	}
	return nil
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
func subnetValue(a *naclACL, set uint32) uint32 { return naclValid | set<<16 | a.idx }

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

func (n *NACL) readCounters(l *naclLive) ([]rules.NACLCounterValue, error) {
	if n.inject != nil {
		if err := n.inject(); err != nil {
			return nil, fmt.Errorf("nacl: read counters: %w", err)
		}
	}
	out := make([]rules.NACLCounterValue, l.rinfo[1])
	for i := range out {
		var per []rules.NACLCounterValue
		if err := n.maps.NaclCtr.Lookup(uint32(l.rinfo[0]+i), &per); err != nil {
			return nil, fmt.Errorf("nacl: read counters: %w", err)
		}
		for _, v := range per {
			out[i].Packets += v.Packets
			out[i].Bytes += v.Bytes
		}
	}
	return out, nil
}

// NACLCounter is the hit count of one rule (or `*`) of one NACL table.
// A deny rule's hits are its drops.
type NACLCounter struct {
	ACL     string
	Egress  bool
	IPv6    bool
	Rule    int // rule number; 32767/32768 for `*`
	Allow   bool
	Packets uint64 // wire packets (see bpf/nacl.bpf.c on GSO)
	Bytes   uint64
	Drops   uint64 // = Packets for deny rules, 0 for allow rules
}

// Counters returns per-rule hit and drop counters of every NACL: one entry
// per (direction, family, rule number, action) that any generation of the
// NACL had, so counts survive `apply` and removed rules keep theirs; sorted
// by NACL, direction, family and rule number.
func (n *NACL) Counters() ([]NACLCounter, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []NACLCounter
	for _, a := range n.acls {
		if err := n.fold(a); err != nil {
			return nil, fmt.Errorf("nacl %s: retired tables: %w", a.id, err)
		}
		sum := maps.Clone(a.totals)
		if a.set != 0 {
			if err := n.sumCounters(&a.tables, sum); err != nil {
				return nil, fmt.Errorf("nacl %s: %w", a.id, err)
			}
		}
		for k, v := range sum {
			c := NACLCounter{ACL: a.id, Egress: k.egress, IPv6: k.v6, Rule: k.rule, Allow: k.allow, Packets: v.Packets, Bytes: v.Bytes}
			if !c.Allow {
				c.Drops = c.Packets
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ACL != b.ACL {
			return a.ACL < b.ACL
		}
		if a.Egress != b.Egress {
			return !a.Egress
		}
		if a.IPv6 != b.IPv6 {
			return !a.IPv6
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Allow
	})
	return out, nil
}

// NACLStats are datapath-wide packet counts (summed over CPUs); verdicts
// by rules are in Counters.
type NACLStats struct {
	NonIP      uint64 // non-IP frames passed
	Bypassed   uint64 // SG-45 services and IPv6 link-local control passed
	Malformed  uint64 // malformed frames dropped
	EventsLost uint64 // drop events lost to a full ring buffer
	NoTable    uint64 // wire packets denied because the NACL had no tables
	Transit    uint64 // frames from no subnet to no subnet: no table applies, passed
}

// Stats returns the datapath-wide counters.
func (n *NACL) Stats() (NACLStats, error) {
	var s NACLStats
	for i, d := range []*uint64{&s.NonIP, &s.Bypassed, &s.Malformed, &s.EventsLost, &s.NoTable, &s.Transit} {
		var per []uint64
		if err := n.maps.NaclStats.Lookup(uint32(i), &per); err != nil {
			return s, fmt.Errorf("nacl: read stats: %w", err)
		}
		for _, v := range per {
			*d += v
		}
	}
	return s, nil
}

// Events is the ring buffer of drop events (struct vpc_event; DecodeNACLEvent).
func (n *NACL) Events() *ebpf.Map { return n.maps.NaclEvents }

// newSlot loads a program instance for a new attach point that receives
// from subnet from ("" for none: the internet gateway): nacl_filter for
// generic mode, the multi-buffer nacl_filter_frags for native mode (jumbo
// MTU), nacl_filter_tc for tcx.
func (n *NACL) newSlot(from string, mode XDPMode) (*naclSlot, error) {
	var sub uint32
	if from != "" {
		var ok bool
		if sub, ok = n.subnets[from]; !ok {
			return nil, fmt.Errorf("nacl: subnet %q is not in the topology", from)
		}
	}
	prog := "nacl_filter"
	switch mode {
	case XDPNative:
		prog = "nacl_filter_frags"
	case TCX:
		prog = "nacl_filter_tc"
	}
	spec := n.spec.Copy()
	for name := range spec.Programs {
		if name != prog {
			delete(spec.Programs, name)
		}
	}
	if err := spec.Variables["nacl_src_subnet"].Set(sub); err != nil {
		return nil, fmt.Errorf("nacl: set source subnet: %w", err)
	}
	for name, v := range n.subVars {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("nacl: set %s: %w", name, err)
		}
	}
	repl := map[string]*ebpf.Map{}
	for name, m := range n.mapsByName() {
		repl[name] = m
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: repl})
	if err != nil {
		return nil, fmt.Errorf("nacl: load program: %w", err)
	}
	return &naclSlot{coll: coll, prog: coll.Programs[prog]}, nil
}

func (n *NACL) mapsByName() map[string]*ebpf.Map {
	return map[string]*ebpf.Map{
		"nacl_subnet": n.maps.NaclSubnet, "nacl_tables": n.maps.NaclTables,
		"nacl_bm": n.maps.NaclBm, "nacl_nodes": n.maps.NaclNodes, "nacl_proto": n.maps.NaclProto,
		"nacl_rinfo": n.maps.NaclRinfo, "nacl_ctr": n.maps.NaclCtr, "nacl_stats": n.maps.NaclStats,
		"nacl_events": n.maps.NaclEvents, "nacl_rsv4": n.maps.NaclRsv4, "nacl_rsv6": n.maps.NaclRsv6,
		"flow_tab0": n.maps.FlowTab0, "flow_tab1": n.maps.FlowTab1, "flow_gen": n.maps.FlowGen,
		"flow_fast": n.maps.FlowFast, "flow_log": n.maps.FlowLog, "flow_logn": n.maps.FlowLogn,
		"flow_skip": n.maps.FlowSkip, "flow_addr": n.maps.FlowAddr, "flow_eni": n.maps.FlowEni,
		"cap_scratch": n.maps.CapScratch, "cap_drops": n.maps.CapDrops, "cap_ctl": n.maps.CapCtl, "cap_lost": n.maps.CapLost,
	}
}

func (n *NACL) closeSlot(s *naclSlot) error {
	var err error
	if s.link != nil {
		err = s.link.Close()
	}
	s.coll.Close()
	return err
}

// Attach loads a program instance for (ns, ifname), a router-side end
// where packets enter the VPC router, and attaches it in mode: from names
// the subnet whose uplink this is (its outbound table judges what arrives
// here), "" a port no subnet sends from (the internet gateway: there the
// caller attaches in tcx mode after the gateway's NAT program, which tcx
// runs first as it was attached first, so that inbound tables see private
// destinations). Either way, a destination in a subnet is then judged by
// that subnet's inbound table. A subnet whose NACL was not yet given to
// SetNACL denies everything.
func (n *NACL) Attach(ns, ifname, from string, mode XDPMode) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := naclPortKey{ns, ifname}
	if n.slots[key] != nil {
		return fmt.Errorf("nacl: %s/%s already attached", ns, ifname)
	}
	s, err := n.newSlot(from, mode)
	if err != nil {
		return err
	}
	var l link.Link
	if mode == TCX {
		l, err = AttachTC(ns, ifname, s.prog, true) // appended: after the NAT
	} else {
		l, err = AttachXDP(ns, ifname, s.prog, mode)
	}
	if err != nil {
		_ = n.closeSlot(s)
		return fmt.Errorf("nacl: %w", err)
	}
	s.link = l
	n.slots[key] = s
	return nil
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

// Detach removes the program from (ns, ifname).
func (n *NACL) Detach(ns, ifname string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	key := naclPortKey{ns, ifname}
	s := n.slots[key]
	if s == nil {
		return nil
	}
	delete(n.slots, key)
	if err := n.closeSlot(s); err != nil {
		return fmt.Errorf("nacl: detach %s/%s: %w", ns, ifname, err)
	}
	return nil
}

// Close detaches every program (links first), then frees the maps.
func (n *NACL) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for k, s := range n.slots {
		if s.link != nil {
			errs = append(errs, s.link.Close())
			s.link = nil
		}
		s.coll.Close()
		delete(n.slots, k)
	}
	if n.rcu != nil {
		errs = append(errs, n.rcu.Close())
	}
	errs = append(errs, n.maps.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nacl: close: %w", err)
	}
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

// NACLEvent is one NACL drop: a bpf/events.h vpc_event of kind EV_NACL_DROP.
type NACLEvent struct {
	TimeNs   uint64 // CLOCK_MONOTONIC
	ACL      uint32 // NACL index; ACLID names it
	Egress   bool   // judged by the outbound table (leaving the subnet)
	Rule     int    // deciding rule number; 32767/32768 = `*`; 0 = malformed
	Reason   uint8  // NACLReason*
	Protocol uint8
	Src, Dst netip.AddrPort
	ICMPType uint8
	ICMPCode uint8
	TCPFlags uint8
	Fragment uint8 // rules.Frag*
	Packets  uint32
	Bytes    uint32 // IP bytes
}

// NACL event reasons (EV_REASON_* in bpf/events.h).
const (
	NACLReasonRule      = 0 // Rule decided
	NACLReasonMalformed = 1 // truncated or invalid headers
	NACLReasonNoTable   = 2 // the NACL has no tables (never SetNACL'd)
)

// DecodeNACLEvent decodes one nacl_events record.
func DecodeNACLEvent(b []byte) (NACLEvent, error) {
	e, err := decodeVPCEvent(b, evNACLDrop, "nacl event")
	if err != nil {
		return NACLEvent{}, err
	}
	// A frame whose IP header was not parsed (family 0) reads as IPv4.
	fam := uint8(4)
	if e.Family == 6 {
		fam = 6
	}
	return NACLEvent{
		TimeNs:   e.TimeNs,
		Src:      netip.AddrPortFrom(addrOf(fam, e.Saddr), e.Sport),
		Dst:      netip.AddrPortFrom(addrOf(fam, e.Daddr), e.Dport),
		ACL:      e.Obj,
		Packets:  e.Packets,
		Bytes:    e.Bytes,
		Rule:     int(e.Rule),
		Reason:   e.Reason,
		Egress:   e.Dir == evOutbound,
		Protocol: e.Proto,
		TCPFlags: e.TCPFlags,
		ICMPType: e.ICMPType,
		ICMPCode: e.ICMPCode,
		Fragment: e.Frag,
	}, nil
}
