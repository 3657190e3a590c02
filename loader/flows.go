package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Names of the flow-accounting maps of bpf/flow.h, present in both the NACL
// and the SG collections and replaced by one shared set at load.
var flowMapNames = []string{"flow_tab0", "flow_tab1", "flow_idx", "flow_log", "flow_logn",
	"flow_gen", "flow_skip", "flow_addr", "flow_eni", "flow_mac"}

// The structs of bpf/flow.h, as bpf2go generated them (the SG collection's
// are the same; TestFlowsLayout checks).
type (
	flowKey     = naclFlowKey
	flowVal     = naclFlowVal
	flowAddrKey = naclFlowAddrKey
	flowAddrVal = naclFlowAddrVal
	flowENINet  = naclFlowEniNet
	flowMacKey  = naclFlowMacKey
	flowSlot    = naclFlowSlot
	flowSet     = naclFlowSet
)

// Flows is a topology's flow counters: the maps the NACL and SG programs
// count into, and the drain that turns them into flow-log samples.
type Flows struct {
	maps      map[string]*ebpf.Map
	ncpu      int    // possible CPUs: values per entry of the per-CPU tables
	logPerCPU uint32 // entries of each CPU's and generation's part of flow_log
	idxSets   int    // sets of each CPU's and generation's part of flow_idx (FLOW_IDX_SETS)
	// Memory mappings of the arrays the drain reads and clears: the
	// index, the log and its counts.
	idx, log, logn *ebpf.Memory
	// Drain's buffers, kept between drains (a drain a second would
	// otherwise allocate and clear a megabyte each time).
	bufKeys  []flowKey
	bufVals  []flowVal
	bufSlots []flowSlot
	// skips' buffers: ENI indexes and their per-CPU counts
	bufSkipKeys []uint32
	bufSkipVals []uint64
	zero        []byte
	samples     []flowlog.Sample // what Drain returned last: the next one reuses it
	batch       []flowlog.Sample // DrainTo's batch, reused
	gen         uint32
	eniByIdx    map[uint32]string
	eniByAddr   map[netip.Addr]string       // keys the NACL counts name addresses, not ENIs
	eniCache    [eniCacheSize]eniCacheEntry // eniByAddr's recent answers (family 0: none)
	// Each ENI's subnet and each subnet's compiled route table: the
	// traffic-path of what an ENI sends is decided by where its subnet's
	// table sends it (FL-16, as rules.PredictFlowLog decides it).
	eniSubnet map[string]*vpc.Subnet
	routes    map[string][]rules.CompiledRoute
	skipSeen  map[uint32]uint64
}

// FlowTablesBudget bounds the memory of the two preallocated per-CPU flow
// tables: NewFlows shrinks a table that would need more (on many CPUs) to
// what fits. A table too small for the traffic yields SKIPDATA, never
// silence.
const FlowTablesBudget = 512 << 20

// FlowLogBudget bounds the memory of the two flow logs (where the
// programs count flows between drains, bpf/flow.h): a CPU's part holds up
// to flowLogMax flows a second, fewer on many CPUs; beyond it flows go to
// the hash tables.
const FlowLogBudget = 64 << 20

// flowLogMax is the most entries of a CPU's part of a log: the index's
// references are 16 bits (struct flow_ref).
const flowLogMax = 1<<16 - 1

// flowLogPerCPU is how many flows each CPU's part of a log holds.
func flowLogPerCPU(ncpu int) uint32 {
	n := uint64(FlowLogBudget) / 2 / uint64(ncpu) / uint64(binary.Size(flowSlot{}))
	return uint32(max(min(n, flowLogMax), 1024))
}

// NewFlows creates the shared flow maps from the map specs in spec (either
// program's collection has them), with tables of maxEntries flows (0 =
// the C default), fewer if FlowTablesBudget requires (TableSize tells);
// each CPU's log holds at most maxEntries flows too.
func NewFlows(spec *ebpf.CollectionSpec, maxEntries int) (_ *Flows, err error) {
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, fmt.Errorf("flow maps: %w", err)
	}
	logPerCPU := flowLogPerCPU(ncpu)
	if maxEntries > 0 {
		logPerCPU = min(logPerCPU, uint32(maxEntries))
	}
	f := &Flows{maps: map[string]*ebpf.Map{}, ncpu: ncpu, logPerCPU: logPerCPU, eniByIdx: map[uint32]string{},
		eniByAddr: map[netip.Addr]string{}, skipSeen: map[uint32]uint64{}}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	for _, name := range flowMapNames {
		ms, ok := spec.Maps[name]
		if !ok {
			return nil, fmt.Errorf("flow map %s missing from the BPF object", name)
		}
		ms = ms.Copy()
		if name == "flow_tab0" || name == "flow_tab1" {
			if maxEntries > 0 {
				ms.MaxEntries = uint32(maxEntries)
			}
			ms.MaxEntries = min(ms.MaxEntries, flowTableCap(ncpu))
		}
		switch name {
		case "flow_log":
			ms.MaxEntries = uint32(ncpu) * 2 * f.logPerCPU
		case "flow_idx", "flow_logn":
			// a part per CPU; the object's size is one CPU's
			if name == "flow_idx" {
				f.idxSets = int(ms.MaxEntries / 2)
			}
			ms.MaxEntries *= uint32(ncpu)
		}
		m, err := ebpf.NewMap(ms)
		if err != nil {
			return nil, fmt.Errorf("create flow map %s: %w", name, err)
		}
		f.maps[name] = m
	}
	if unsafe.Sizeof(flowSlot{}) != uintptr(binary.Size(flowSlot{})) {
		return nil, fmt.Errorf("flow maps: struct flow_slot has padding the log reader does not expect")
	}
	for _, mm := range []struct {
		m    **ebpf.Memory
		name string
	}{{&f.idx, "flow_idx"}, {&f.log, "flow_log"}, {&f.logn, "flow_logn"}} {
		if *mm.m, err = f.maps[mm.name].Memory(); err != nil {
			return nil, fmt.Errorf("map %s: %w", mm.name, err)
		}
	}
	return f, nil
}

// flowTableCap is the most flows per table FlowTablesBudget allows with
// ncpu CPUs: each element holds a value per CPU, plus its key and header.
func flowTableCap(ncpu int) uint32 {
	per := uint64(ncpu)*uint64(binary.Size(flowVal{})) + uint64(binary.Size(flowKey{})) + 48
	return uint32(min(uint64(FlowTablesBudget)/2/per, 1<<24))
}

// TableSize is how many flows each of the two tables holds between drains.
func (f *Flows) TableSize() int { return int(f.maps["flow_tab0"].MaxEntries()) }

// Replacements are the maps to hand to a collection that includes flow.h.
func (f *Flows) Replacements() map[string]*ebpf.Map { return f.maps }

// flowOptions prepares spec (a collection including flow.h) to count into
// f: its flow map specs take the sizes of f's maps, and the returned options
// replace them. With f nil, counting is switched off (flow_enabled = 0, so
// the verifier prunes it) and the unused tables shrink to one entry.
func flowOptions(spec *ebpf.CollectionSpec, f *Flows) (*ebpf.CollectionOptions, error) {
	if f == nil {
		if err := spec.Variables["flow_enabled"].Set(uint32(0)); err != nil {
			return nil, fmt.Errorf("switch flow counting off: %w", err)
		}
		for _, name := range []string{"flow_tab0", "flow_tab1", "flow_idx", "flow_log", "flow_logn"} {
			spec.Maps[name].MaxEntries = 1
		}
		return nil, nil
	}
	if err := spec.Variables["flow_log_per_cpu"].Set(f.logPerCPU); err != nil {
		return nil, fmt.Errorf("size the flow log: %w", err)
	}
	for name, m := range f.maps {
		ms, ok := spec.Maps[name]
		if !ok {
			return nil, fmt.Errorf("flow map %s missing from the BPF object", name)
		}
		ms.MaxEntries = m.MaxEntries()
	}
	return &ebpf.CollectionOptions{MapReplacements: f.maps}, nil
}

// SetENIs tells the programs which address and which MAC belongs to which
// ENI of t laid out as p (by the index index returns: instances' ENIs and
// NAT gateways'), and which CIDRs each ENI's subnet has; and the drain how
// each subnet routes (traffic-path).
func (f *Flows) SetENIs(t *vpc.Topology, p *vpc.Plan, index func(eni string) (uint32, error)) error {
	f.eniCache = [eniCacheSize]eniCacheEntry{}
	subnetOf := map[string]*vpc.Subnet{}
	for i := range t.Subnets {
		subnetOf[t.Subnets[i].ID] = &t.Subnets[i]
	}
	rt := rules.CompileRouting(t)
	f.routes = map[string][]rules.CompiledRoute{}
	for sn, id := range rt.SubnetTable {
		if ct := rt.Table(id); ct != nil {
			f.routes[sn] = ct.Routes
		}
	}
	f.eniSubnet = map[string]*vpc.Subnet{}
	type eniInfo struct {
		id, subnet string
		addrs      []netip.Addr
		mac        []byte
	}
	var enis []eniInfo
	for _, e := range p.ENIs {
		in := t.Instance(e.Instance)
		if in == nil {
			continue
		}
		var addrs []netip.Addr
		for _, x := range in.ENIs() {
			if x.PrivateIP == e.Addr.Addr() {
				addrs = append([]netip.Addr{x.PrivateIP, x.IPv6}, x.SecondaryIPs...)
			}
		}
		enis = append(enis, eniInfo{e.ID, e.SubnetID, addrs, e.MAC})
	}
	for _, g := range p.NATGateways {
		enis = append(enis, eniInfo{g.ENI.ID, g.ENI.SubnetID, []netip.Addr{g.ENI.Addr.Addr()}, g.ENI.MAC})
	}
	for _, e := range enis {
		idx, err := index(e.id)
		if err != nil {
			return fmt.Errorf("flows: %w", err)
		}
		f.eniByIdx[idx] = e.id
		f.eniSubnet[e.id] = subnetOf[e.subnet]
		var nets flowENINet
		if s := subnetOf[e.subnet]; s != nil {
			for i, c := range []netip.Prefix{s.CIDR, s.IPv6CIDR} {
				if c.IsValid() {
					nets.C[i].Net, nets.C[i].Mask, nets.C[i].Valid = words(c.Masked().Addr()), prefixMask(c), 1
				}
			}
		}
		if err := f.maps["flow_eni"].Put(idx, &nets); err != nil {
			return fmt.Errorf("flows: ENI %s: %w", e.id, err)
		}
		var mk flowMacKey
		copy(mk.Mac[:], e.mac)
		if err := f.maps["flow_mac"].Put(&mk, idx); err != nil {
			return fmt.Errorf("flows: ENI %s: %w", e.id, err)
		}
		for _, a := range e.addrs {
			if !a.IsValid() {
				continue
			}
			f.eniByAddr[a] = e.id
			k := flowAddrKey{Addr: words(a), Family: family(a)}
			if err := f.maps["flow_addr"].Put(k, flowAddrVal{Eni: idx}); err != nil {
				return fmt.Errorf("flows: address %s: %w", a, err)
			}
		}
	}
	return nil
}

// trafficPath is FL-16's code for what ENI eni sends to dst: 1 inside its
// subnet or the VPC, 4 through a peering, 7 to a gateway endpoint, 8 to an
// internet or egress-only gateway, 0 ('-') where its subnet's table has no
// usable route (PATH-17), as rules.PredictFlowLog decides it.
func (f *Flows) trafficPath(eni string, dst netip.Addr) uint8 {
	sn := f.eniSubnet[eni]
	if sn == nil {
		return 0
	}
	if (sn.CIDR.IsValid() && sn.CIDR.Contains(dst)) || (sn.IPv6CIDR.IsValid() && sn.IPv6CIDR.Contains(dst)) {
		return flowlog.PathSameVPC
	}
	r, ok := rules.LookupCompiled(f.routes[sn.ID], dst)
	if !ok {
		return 0
	}
	switch r.Kind {
	case rules.CompiledBlackhole:
		return 0
	case rules.CompiledIGW, rules.CompiledEIGW:
		return flowlog.PathInternet
	case rules.CompiledPeering:
		return flowlog.PathPeering
	case rules.CompiledEndpoint:
		return flowlog.PathEndpoint
	}
	return flowlog.PathSameVPC
}

// drainBatch is how many samples DrainTo hands over at a time: few enough
// to stay in the CPU's caches from the moment they are made until the
// consumer has read them (a second's flows, tens of thousands of samples of
// 200-odd bytes, are several times a CPU's cache).
const drainBatch = 256

// DrainTo hands what the programs counted since the last drain to fn, a
// batch of samples at a time (valid only during the call), and returns per
// ENI the packets they could not count because the flow table was full.
//
// Programs count into the generation flow_gen names; DrainTo points them
// at the other one, waits until no program can still be using the old
// one, then reads and empties it, so no increment is lost between read and
// delete.
func (f *Flows) DrainTo(fn func([]flowlog.Sample)) (map[string]uint64, error) {
	old := f.gen
	f.gen ^= 1
	if err := f.maps["flow_gen"].Put(uint32(0), f.gen); err != nil {
		return nil, fmt.Errorf("flows: flip generation: %w", err)
	}
	// A program that read the old generation runs to its end within
	// microseconds (BPF programs run to completion, preemption disabled);
	// this margin covers it many times over.
	time.Sleep(2 * time.Millisecond)
	tab := f.maps[fmt.Sprintf("flow_tab%d", old)]
	offset, err := monoToWall()
	if err != nil {
		return nil, err
	}
	if f.batch == nil {
		f.batch = make([]flowlog.Sample, 0, drainBatch)
	}
	d := drainer{f: f, fn: fn, b: f.batch[:0], offset: offset}
	if err := f.drainLog(&d, old); err != nil {
		return nil, err
	}
	if err := f.clearIndex(old); err != nil {
		return nil, err
	}

	// Batches take a few system calls for the whole table; whatever they
	// cannot take (an old kernel, a bucket larger than a batch) the
	// per-key loop below reads and deletes. Values come per CPU.
	const batch = 4096
	f.bufKeys, f.bufVals = grow(f.bufKeys, batch), grow(f.bufVals, batch*f.ncpu)
	bk, bv := f.bufKeys, f.bufVals
	var cursor ebpf.MapBatchCursor
	for {
		n, err := tab.BatchLookupAndDelete(&cursor, bk, bv, nil)
		for i := 0; i < n; i++ {
			if v, ok := sumCPUs(bv[i*f.ncpu : (i+1)*f.ncpu]); ok {
				d.add(&bk[i], &v)
			}
		}
		if err != nil {
			break
		}
	}
	var k flowKey
	var v []flowVal
	var keys []flowKey
	it := tab.Iterate()
	for it.Next(&k, &v) {
		keys = append(keys, k)
		if v, ok := sumCPUs(v); ok {
			d.add(&k, &v)
		}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("flows: read table: %w", err)
	}
	for i := range keys {
		if err := tab.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil, fmt.Errorf("flows: clear table: %w", err)
		}
	}
	d.flush()
	return f.skips()
}

// Drain is DrainTo collecting every sample: they are valid until the next
// Drain, which reuses their memory.
func (f *Flows) Drain() ([]flowlog.Sample, map[string]uint64, error) {
	all := f.samples[:0]
	skipped, err := f.DrainTo(func(b []flowlog.Sample) { all = append(all, b...) })
	f.samples = all
	if err != nil {
		return nil, nil, err
	}
	return all, skipped, nil
}

// drainer turns one drain's flows into samples, a batch at a time.
type drainer struct {
	f      *Flows
	fn     func([]flowlog.Sample)
	b      []flowlog.Sample
	offset time.Duration // bpf_ktime to wall clock
}

// add adds the sample of flow k with counts v.
func (d *drainer) add(k *flowKey, v *flowVal) {
	d.b = d.f.appendSample(d.b, k, v, d.offset)
	if len(d.b) == cap(d.b) {
		d.flush()
	}
}

// flush hands the batch over.
func (d *drainer) flush() {
	if len(d.b) > 0 {
		d.fn(d.b)
		d.b = d.b[:0]
	}
}

// flowLognStride is FLOW_LOGN_STRIDE of bpf/flow.h: CPU c's count of
// generation g is flow_logn[c*stride+g] (a __u64), a cache line per CPU.
const flowLognStride = 8

// drainLog reads what each CPU appended to generation g's log (a flow, or
// a part of it, that CPU counted) into d and empties it. It reads a few hundred
// entries at a time, so that they are still in the CPU's caches when they
// become samples.
func (f *Flows) drainLog(d *drainer, g uint32) error {
	size := int(unsafe.Sizeof(flowSlot{})) // the C layout: NewFlows checked
	const chunk = 256
	f.bufSlots = grow(f.bufSlots, chunk)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&f.bufSlots[0])), chunk*size)
	var cnt [8]byte
	for c := 0; c < f.ncpu; c++ {
		at := int64(c*flowLognStride+int(g)) * 8
		if _, err := f.logn.ReadAt(cnt[:], at); err != nil {
			return fmt.Errorf("flows: read flow_logn: %w", err)
		}
		n := int(min(binary.NativeEndian.Uint64(cnt[:]), uint64(f.logPerCPU)))
		base := int64(c*2+int(g)) * int64(f.logPerCPU) * int64(size)
		for i := 0; i < n; i += chunk {
			m := min(chunk, n-i)
			if _, err := f.log.ReadAt(buf[:m*size], base+int64(i*size)); err != nil {
				return fmt.Errorf("flows: read flow_log: %w", err)
			}
			for j := range m {
				if sl := &f.bufSlots[j]; sl.Val.FirstNs != 0 {
					d.add(&sl.Key, &sl.Val)
				}
			}
		}
		if n > 0 {
			clear(cnt[:])
			if _, err := f.logn.WriteAt(cnt[:], at); err != nil {
				return fmt.Errorf("flows: empty generation %d of flow_log: %w", g, err)
			}
		}
	}
	return nil
}

// grow returns b resized to n elements (contents undefined).
func grow[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

// clearIndex empties generation g's index (every CPU's part), so that the
// programs start the generation afresh when it is theirs again.
func (f *Flows) clearIndex(g uint32) error {
	size := f.idxSets * int(unsafe.Sizeof(flowSet{}))
	if len(f.zero) < size {
		f.zero = make([]byte, size)
	}
	for c := 0; c < f.ncpu; c++ {
		if _, err := f.idx.WriteAt(f.zero[:size], int64(c*2+int(g))*int64(size)); err != nil {
			return fmt.Errorf("flows: clear flow_idx: %w", err)
		}
	}
	return nil
}

// appendSample appends the sample of flow k with counts v to samples: of
// the ENI the datapath named, else the one owning its source (egress) or
// destination address; nothing for addresses of no ENI.
func (f *Flows) appendSample(samples []flowlog.Sample, k *flowKey, v *flowVal, offset time.Duration) []flowlog.Sample {
	var eni string
	var ok bool
	switch {
	case k.Eni != 0:
		eni, ok = f.eniByIdx[k.Eni]
	case k.Egress == 1:
		eni, ok = f.eniOf(k.Family, &k.Saddr)
	default:
		eni, ok = f.eniOf(k.Family, &k.Daddr)
	}
	if !ok {
		return samples
	}
	src, dst := addrOf(k.Family, k.Saddr), addrOf(k.Family, k.Daddr)
	s := flowlog.Sample{
		ENI: eni, Egress: k.Egress == 1, Src: src, Dst: dst,
		SrcPort: k.Sport, DstPort: k.Dport, Protocol: k.Proto,
		Packets: v.Packets, Bytes: v.Bytes, TCPFlags: uint8(v.TcpFlags),
		First: time.Unix(0, int64(v.FirstNs)+int64(offset)), Last: time.Unix(0, int64(v.LastNs)+int64(offset)),
		Reject: k.Reject == 1,
	}
	if s.Egress {
		s.TrafficPath, s.TrafficPathKnown = f.trafficPath(eni, dst), true
	}
	return append(samples, s)
}

// eniCacheSize is how many addresses eniOf remembers (a power of two): the
// drain asks for the same few ENIs' addresses over and over.
const eniCacheSize = 16

type eniCacheEntry struct {
	family uint8
	ok     bool
	addr   [4]uint32
	eni    string
}

// eniOf returns the ENI owning the address of family fam in words w.
func (f *Flows) eniOf(fam uint8, w *[4]uint32) (string, bool) {
	e := &f.eniCache[(w[0]^w[1]^w[2]^w[3])>>24%eniCacheSize]
	if e.family == fam && e.addr == *w {
		return e.eni, e.ok
	}
	eni, ok := f.eniByAddr[addrOf(fam, *w)]
	*e = eniCacheEntry{family: fam, ok: ok, addr: *w, eni: eni}
	return eni, ok
}

// sumCPUs merges a flow's per-CPU shares: packets and bytes add up, the
// first packet is the earliest of the CPUs', the last the latest, flags OR.
// A CPU that counted nothing has first_ns 0. ok is false if none counted.
func sumCPUs(perCPU []flowVal) (v flowVal, ok bool) {
	for _, c := range perCPU {
		if c.FirstNs == 0 {
			continue
		}
		if !ok || c.FirstNs < v.FirstNs {
			v.FirstNs = c.FirstNs
		}
		v.LastNs = max(v.LastNs, c.LastNs)
		v.Packets += c.Packets
		v.Bytes += c.Bytes
		v.TcpFlags |= c.TcpFlags
		ok = true
	}
	return v, ok
}

// skips returns the per-ENI growth of flow_skip since the last call.
//
// One batch lookup reads every ENI's counters (indexes 0 to the largest in
// use), so a drain takes the same few system calls however many ENIs the
// topology has; a kernel without batch lookups on arrays gets one lookup per
// ENI.
func (f *Flows) skips() (map[string]uint64, error) {
	out := map[string]uint64{}
	n := 0
	for idx := range f.eniByIdx {
		n = max(n, int(idx)+1)
	}
	if n == 0 {
		return out, nil
	}
	m := f.maps["flow_skip"]
	f.bufSkipKeys, f.bufSkipVals = grow(f.bufSkipKeys, n), grow(f.bufSkipVals, n*f.ncpu)
	var cursor ebpf.MapBatchCursor
	got, err := m.BatchLookup(&cursor, f.bufSkipKeys, f.bufSkipVals, nil)
	batched := (err == nil || errors.Is(err, ebpf.ErrKeyNotExist)) && got == n
	for idx, eni := range f.eniByIdx {
		var per []uint64
		if batched && f.bufSkipKeys[idx] == idx {
			per = f.bufSkipVals[int(idx)*f.ncpu : (int(idx)+1)*f.ncpu]
		} else if err := m.Lookup(idx, &per); err != nil {
			return nil, fmt.Errorf("flows: read skipped: %w", err)
		}
		var sum uint64
		for _, n := range per {
			sum += n
		}
		if d := sum - f.skipSeen[idx]; d > 0 {
			out[eni] = d
		}
		f.skipSeen[idx] = sum
	}
	return out, nil
}

// Close frees the maps (programs still using them keep their references).
func (f *Flows) Close() error {
	var errs []error
	for _, m := range f.maps {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// monoToWall is what to add to a bpf_ktime_get_ns timestamp (CLOCK_MONOTONIC)
// to get wall-clock time.
func monoToWall() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("read monotonic clock: %w", err)
	}
	return time.Duration(time.Now().UnixNano() - ts.Nano()), nil
}

func family(a netip.Addr) uint8 {
	if a.Is4() {
		return 4
	}
	return 6
}

// prefixMask is p's netmask laid out as words lays out addresses.
func prefixMask(p netip.Prefix) [4]uint32 {
	var b [16]byte
	for i := 0; i < p.Bits(); i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	var w [4]uint32
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

// NACLSpec is the NACL program's collection spec, for NewFlows (the flow
// maps are the same in every collection that includes bpf/flow.h).
func NACLSpec() (*ebpf.CollectionSpec, error) {
	spec, err := loadNacl()
	if err != nil {
		return nil, fmt.Errorf("nacl spec: %w", err)
	}
	return spec, nil
}
