package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// SG drop reasons carried by SGEvent.Code (enum sg_drop of bpf/sg.h).
const (
	SGDropRulesMismatch = uint8(sgSgDropSG_DROP_RULES_MISMATCH) // ENI_SG_RULES_MISMATCH
	SGDropNoRules       = uint8(sgSgDropSG_DROP_NO_RULES)       // SG_HAS_NO_RULES
	SGDropAllowance     = uint8(sgSgDropSG_DROP_ALLOWANCE)      // CONNTRACK_ALLOWANCE_EXCEEDED
	SGDropUnknownENI    = uint8(sgSgDropSG_DROP_UNKNOWN_ENI)    // frame from/to a MAC that is no ENI of the topology
	SGDropMalformed     = uint8(sgSgDropSG_DROP_MALFORMED)      // truncated or invalid IP header
	// SGDropSourceDestCheck: ENI-5, before the SG (not an SG's drop).
	SGDropSourceDestCheck = uint8(sgSgDropSG_DROP_SOURCE_DEST_CHECK)
)

// SGDropCodeName returns the explanation code of an SG drop reason (RA-7).
func SGDropCodeName(code uint8) string {
	switch code {
	case SGDropRulesMismatch:
		return "ENI_SG_RULES_MISMATCH"
	case SGDropNoRules:
		return "SG_HAS_NO_RULES"
	case SGDropAllowance:
		return "CONNTRACK_ALLOWANCE_EXCEEDED"
	case SGDropUnknownENI:
		return "UNKNOWN_ENI"
	case SGDropMalformed:
		return "MALFORMED"
	case SGDropSourceDestCheck:
		return "ENI_SOURCE_DEST_CHECK_RESTRICTION"
	}
	return fmt.Sprintf("UNKNOWN_%d", code)
}

// CTEntry.State of each enum ct_state (bpf/conntrack.h), named as
// `conntrack -L` would.
var ctStateNames = map[sgCtState]string{
	sgCtStateCT_TCP_SYN: "SYN_SENT", sgCtStateCT_TCP_EST: "ESTABLISHED", sgCtStateCT_TCP_CLOSING: "CLOSING",
	sgCtStateCT_UDP: "UDP", sgCtStateCT_UDP_STREAM: "UDP_STREAM", sgCtStateCT_ICMP: "ICMP", sgCtStateCT_OTHER: "OTHER",
}

// ctMaxEntries caps each conntrack table (ct_fast, ct_table) whatever the
// allowances sum to: 2^22 entries are about 470 MB of ct_fast.
const ctMaxEntries = 1 << 22

// ErrUnknownENI is returned for an ENI (or instance) id the SG datapath does not know.
var ErrUnknownENI = errors.New("unknown ENI")

// SG is the loaded security-group datapath of one topology: one pair of
// programs and one set of maps serving every ENI. Programs tell ENIs apart
// by the instance's eth0 MAC (source MAC on the tc ingress hook,
// destination MAC on the egress hook), because ifindexes repeat across
// subnet namespaces.
//
// Conntrack lives in ct_fast (direct-mapped array) with ct_table (LRU hash)
// for slot collisions; ct_table is sized above the sum of the allowances so
// that LRU eviction, which the per-ENI counts would not see, does not occur
// in practice.
type SG struct {
	mu       sync.Mutex
	objs     sgObjects            // the maps of set, the programs of progs (no sg_parse_only)
	spec     *ebpf.CollectionSpec // as loaded: configuration set
	set      *ebpf.Collection     // the maps, owned here
	progs    []*ebpf.Collection   // one program each
	tc       *netns.TC
	attached []netns.TCFilter
	ends     map[string]bool // "ns/ifname" of the ENI veth ends attached
	plan     *vpc.Plan
	lim      sgLimits
	gen      uint32            // live table generation
	idx      map[string]uint32 // ENI id -> stable index (survives Update)
	inst     map[string]string // instance id -> ENI id
	max      map[uint32]uint64 // ENI index -> allowance (0 unlimited)
	next     uint32
	keys     [2]sgGenKeys // what each generation wrote, to clear it before reuse
	reserved []netip.Addr // SG-45 router and DNS addresses in sg_reserved
	// rsv4Mask, rsv6Any: sg_cfg's pre-check, fixed at load: a reserved
	// address added later must pass it (CoversReserved).
	rsv4Mask, rsv6Any uint32
	owners            map[netip.Addr]uint32 // sg_owner as written: address -> its ENI's index
	// retired: the idle generation was live since the programs in
	// flight were last seen done with it, so some may still read it.
	retired bool
	// drainTimeout bounds the wait for the retired generation's readers
	// to reach 0 (see drain); rcu is the fallback after it.
	drainTimeout time.Duration
	rcu          *rcuWaiter
	// fallbacks counts the drains that ended in a grace period wait.
	fallbacks uint64
	// mirror tells whether the programs were loaded with mirroring
	// compiled in; mirrorSlot is each session's entry in mirror_out.
	mirror     bool
	mirrorSlot map[string]uint32
	// inject, when set (tests), runs before each map write of Update; an
	// error it returns fails that write.
	inject func() error
}

type sgGenKeys struct {
	eni []sgSgEniKey
	lpm []sgSgLpmKey
}

// sgLimits are the datapath's capacities, read from its map sizes; each
// table generation has half of sg_rules and sg_ents.
type sgLimits struct {
	enis, ents, lpm int
}

// LoadSG loads the SG programs and maps, compiles t into them and attaches
// sg_ingress/sg_egress to the tc hooks of every instance's ENI veth end
// (LoadDatapath does it as a part of the whole datapath).
func LoadSG(t *vpc.Topology, p *vpc.Plan) (_ *SG, err error) {
	s, err := loadSGFlows(t, p, 0, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	for _, e := range p.ENIs {
		if err := s.AttachENI(e.ID, e.PeerNS, e.PeerIf); err != nil {
			return nil, err
		}
	}
	for _, g := range p.NATGateways {
		if err := s.AttachENI(g.ENI.ID, g.ENI.PeerNS, g.ENI.PeerIf); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Attach attaches sg_ingress and sg_egress to an instance's primary ENI
// veth end (hp.PeerIf in hp.PeerNS); see AttachENI.
func (s *SG) Attach(hp vpc.HostPlan) error { return s.AttachENI(hp.ENI, hp.PeerNS, hp.PeerIf) }

// AttachENI attaches sg_ingress and sg_egress to ENI eni's veth end on its
// subnet's bridge (ifname in ns), e.g. for an ENI added after LoadSG; Update
// must know the ENI for its packets to pass. Attaching an end twice is a
// no-op.
func (s *SG) AttachENI(eni, ns, ifname string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ns + "/" + ifname
	if s.ends[key] {
		return nil
	}
	// tc ingress of the subnet-side end = frames the instance sends.
	in := netns.TCFilter{NS: ns, Ifname: ifname, Ingress: true, Prio: sgTCPrio}
	if err := s.tc.Attach(in, s.objs.SgIngress.FD(), sgProgSgIngress); err != nil {
		return fmt.Errorf("sg %s: %w", eni, err)
	}
	out := in
	out.Ingress = false
	if err := s.tc.Attach(out, s.objs.SgEgress.FD(), sgProgSgEgress); err != nil {
		_ = s.tc.Detach(in)
		return fmt.Errorf("sg %s: %w", eni, err)
	}
	s.attached = append(s.attached, in, out)
	s.ends[key] = true
	return nil
}

// DetachENI removes the programs from an ENI's veth end (its ENI removed).
func (s *SG) DetachENI(ns, ifname string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := ns + "/" + ifname
	if !s.ends[key] {
		return nil
	}
	delete(s.ends, key)
	var errs []error
	kept := s.attached[:0]
	for _, f := range s.attached {
		if f.NS == ns && f.Ifname == ifname {
			errs = append(errs, s.tc.Detach(f))
			continue
		}
		kept = append(kept, f)
	}
	s.attached = kept
	return errors.Join(errs...)
}

// loadSG loads and fills the maps without attaching (BPF_PROG_RUN tests).
// fastSlots (a power of two) overrides the size of ct_fast; 0 sizes it from
// the allowances. Tests use tiny tables to push entries into ct_table.
func loadSG(t *vpc.Topology, p *vpc.Plan, fastSlots uint64) (*SG, error) {
	return loadSGFlows(t, p, fastSlots, nil)
}

// loadSGFlows is loadSG counting flows into flows (nil: none).
func loadSGFlows(t *vpc.Topology, p *vpc.Plan, fastSlots uint64, flows *Flows) (*SG, error) {
	spec, err := loadSg()
	if err != nil {
		return nil, fmt.Errorf("load sg spec: %w", err)
	}
	s := &SG{plan: p, tc: netns.NewTC(), ends: map[string]bool{}, idx: map[string]uint32{}, inst: map[string]string{}, max: map[uint32]uint64{}, next: 1}
	var errs []error
	size := func(name string) int {
		n, err := mapSize(spec, name)
		errs = append(errs, err)
		return n
	}
	s.lim = sgLimits{enis: size(sgMapSgStats), ents: size(sgMapSgEnts), lpm: size(sgMapSgRules)}
	ctMin, fastMin := size(sgMapCtTable), size(sgMapCtFast)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sg: %w", err)
	}
	// Size conntrack so that LRU eviction never has to take live entries
	// from an ENI within its allowance (the C sizes are the minimum).
	var sum uint64
	for _, in := range t.Instances {
		sum += uint64(in.Conntrack.MaxEntries)
	}
	ct := max(uint64(ctMin), sum+sum/8+1024)
	spec.Maps[sgMapCtTable].MaxEntries = uint32(min(ct, ctMaxEntries))
	// The direct-mapped table: a power of two, about twice the allowances.
	fast := uint64(fastMin)
	for fast < 2*sum && fast < ctMaxEntries {
		fast <<= 1
	}
	if fastSlots > 0 {
		fast = fastSlots
	}
	spec.Maps[sgMapCtFast].MaxEntries = uint32(fast)
	mask4, any6 := reservedMasks(t)
	cfg := sgSgConfig{CtFastMask: uint32(fast - 1), Rsv4Mask: mask4, Rsv6Any: any6}
	s.rsv4Mask, s.rsv6Any = mask4, any6
	if err := spec.Variables[sgVarSgCfg].Set(cfg); err != nil {
		return nil, fmt.Errorf("sg: set configuration: %w", err)
	}
	// mirror.h's switch: its code is compiled out unless the topology
	// mirrors, or declares a target or a filter that sessions added live
	// (SetMirror) will use.
	if tm := &t.TrafficMirror; len(tm.Sessions)+len(tm.Targets)+len(tm.Filters) > 0 {
		if err := spec.Variables[sgVarMirrorEnabled].Set(uint32(1)); err != nil {
			return nil, fmt.Errorf("sg: set mirror_enabled: %w", err)
		}
		s.mirror = true
	}
	fopts, err := flowOptions(spec, flows)
	if err != nil {
		return nil, fmt.Errorf("sg: %w", err)
	}
	s.spec = spec
	if s.set, err = newCollection(withoutPrograms(spec), fopts); err != nil {
		return nil, fmt.Errorf("load sg maps: %w", err)
	}
	if err := errors.Join(assignShared(s.set, &s.objs.sgMaps), assignShared(s.set, &s.objs.sgVariables)); err != nil {
		s.Close()
		return nil, fmt.Errorf("sg: %w", err)
	}
	if s.progs, err = loadPrograms(spec, s.set, sgProgSgIngress, sgProgSgEgress, sgProgSgSweep, sgProgSgFlip, sgProgSgReaders); err != nil {
		s.Close()
		return nil, fmt.Errorf("sg: %w", err)
	}
	s.objs.SgIngress = s.progs[0].Programs[sgProgSgIngress]
	s.objs.SgEgress = s.progs[1].Programs[sgProgSgEgress]
	s.objs.SgSweep = s.progs[2].Programs[sgProgSgSweep]
	s.objs.SgFlip = s.progs[3].Programs[sgProgSgFlip]
	s.objs.SgReaders = s.progs[4].Programs[sgProgSgReaders]
	s.drainTimeout = sgDrainTimeout
	if s.rcu, err = newRCUWaiter(); err != nil {
		s.Close()
		return nil, fmt.Errorf("sg: %w", err)
	}
	if err := s.loadReserved(t); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Update(t); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Update recompiles t's security groups and swaps them in atomically:
// packets see either the old tables or the new ones. Tracked connections
// survive (SG-27); untracked flows meet the new rules at their next packet
// (SG-28); instances' SG lists and group memberships apply at once. A
// changed conntrack timeout applies to new entries and to existing ones at
// their next state change (each entry carries its state's timeout). An
// update that fails leaves the old tables live and nothing behind that a
// later update could expose.
func (s *SG) Update(t *vpc.Topology) error {
	tabs, err := rules.CompileSG(t)
	if err != nil {
		return fmt.Errorf("compile security groups: %w", err)
	}
	// Each ENI's MAC (instances' and NAT gateways'), by ENI id: the
	// running plan's where it has the ENI, else the new topology's.
	macs := map[string]net.HardwareAddr{}
	np := vpc.NewPlan(t)
	for _, p := range []*vpc.Plan{np, s.plan} {
		if p == nil {
			continue
		}
		for _, e := range p.ENIs {
			macs[e.ID] = e.MAC
		}
		for _, g := range p.NATGateways {
			macs[g.ENI.ID] = g.ENI.MAC
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkReserved(t); err != nil {
		return err
	}

	ng := s.gen ^ 1
	if s.retired {
		if err := s.drain(); err != nil {
			return fmt.Errorf("sg: %w", err)
		}
		s.retired = false
	}
	if err := s.clearGen(ng); err != nil {
		return err
	}
	// ENI indexes, instance ids and allowances take effect with the flip;
	// indexes of new ENIs are assigned here and kept only then.
	idx := maps.Clone(s.idx)
	next := s.next
	inst := map[string]string{}
	allow := map[uint32]uint64{}
	base := ng * uint32(s.lim.ents/2)
	var ents []sgSgEnt
	nodes := 0
	owners := map[netip.Addr]uint32{}
	for _, tab := range tabs {
		mac, ok := macs[tab.ENI]
		if !ok || len(mac) != 6 {
			return fmt.Errorf("ENI %s (instance %s): no MAC in plan", tab.ENI, tab.InstanceID)
		}
		i, ok := idx[tab.ENI]
		if !ok {
			if next >= uint32(s.lim.enis) {
				return fmt.Errorf("sg: more than %d ENIs", s.lim.enis-1)
			}
			i = next
			next++
			idx[tab.ENI] = i
		}
		if tab.InstanceID != "" && inst[tab.InstanceID] == "" {
			inst[tab.InstanceID] = tab.ENI // its primary ENI: the first
		}
		for _, a := range tab.Addrs {
			owners[a] = i
		}
		allow[i] = uint64(tab.Conntrack.MaxEntries)
		cfg := sgSgEni{
			Idx:        i,
			MaxEntries: uint32(tab.Conntrack.MaxEntries),
			TcpEstS:    sgSecs(tab.Conntrack.TCPEstablished),
			UdpS:       sgSecs(tab.Conntrack.UDP),
			UdpStreamS: sgSecs(tab.Conntrack.UDPStream),
			IcmpS:      sgSecs(tab.ICMP),
			Protos:     tab.Protos,
		}
		for d := range 2 {
			cfg.NoRules[d] = sgB2u8(tab.NoRules[d])
			cfg.Open[d] = tab.Open[d]
		}
		if tab.CheckOff {
			cfg.Flags |= uint8(sgSgEniFlagSG_ENI_CHECK_OFF)
		}
		if tab.NoSG {
			cfg.Flags |= uint8(sgSgEniFlagSG_ENI_NO_SG)
		}
		for _, n := range tab.Nodes {
			k := sgSgLpmKey{
				Prefixlen: 64 + uint32(n.Prefix.Bits()),
				Eni:       i,
				GenDir:    uint8(ng<<1) | uint8(n.Dir),
				Family:    uint8(n.Family),
				Proto:     uint16(n.Proto),
			}
			copy(k.Addr[:], n.Prefix.Addr().AsSlice())
			v := sgNodeVal(base+uint32(len(ents)), n.Ents)
			for _, e := range n.Ents {
				ents = append(ents, sgSgEnt{Lo: e.Lo, Hi: e.Hi, Clo: e.CLo, Chi: e.CHi, Zero: sgB2u8(e.Zero), Full: sgB2u8(e.Full)})
			}
			if len(ents) > s.lim.ents/2 {
				return fmt.Errorf("sg: more than %d rule entries: %w", s.lim.ents/2, rules.ErrTooManySGEntries)
			}
			if nodes++; nodes > s.lim.lpm/2 {
				return fmt.Errorf("sg: more than %d peer prefixes: %w", s.lim.lpm/2, rules.ErrTooManySGEntries)
			}
			// Recorded before the write: a write that fails half way
			// is cleared with the rest before the generation's reuse.
			s.keys[ng].lpm = append(s.keys[ng].lpm, k)
			if err := s.step(); err != nil {
				return err
			}
			if err := s.objs.SgRules.Put(&k, &v); err != nil {
				return fmt.Errorf("write sg_rules: %w", err)
			}
		}
		ek := sgSgEniKey{Gen: uint16(ng)}
		copy(ek.Mac[:], mac)
		s.keys[ng].eni = append(s.keys[ng].eni, ek)
		if err := s.step(); err != nil {
			return err
		}
		if err := s.objs.SgEni.Put(&ek, &cfg); err != nil {
			return fmt.Errorf("write sg_eni: %w", err)
		}
	}
	// sg_ents needs no clearing: only this generation's nodes point into
	// its half, and each node's slice is written here.
	if len(ents) > 0 {
		keys := make([]uint32, len(ents))
		for i := range keys {
			keys[i] = base + uint32(i)
		}
		if err := s.step(); err != nil {
			return err
		}
		if _, err := s.objs.SgEnts.BatchUpdate(keys, ents, nil); err != nil {
			return fmt.Errorf("write sg_ents: %w", err)
		}
	}
	// The addresses each ENI holds (ENI-5), before the flip: an ENI the
	// new tables name finds its own. Addresses no ENI holds any more go
	// after it.
	for a, i := range owners {
		if err := s.objs.SgOwner.Put(&sgSgAddr{A: words(a)}, i); err != nil {
			return fmt.Errorf("write sg_owner: %w", err)
		}
	}
	// The flip: one write of the live generation.
	if err := s.step(); err != nil {
		return err
	}
	readers, err := s.run(s.objs.SgFlip)
	if err != nil {
		// The flip is one store: it happened or not, sg_gen tells.
		var live uint32
		if gerr := s.objs.SgGen.Get(&live); gerr != nil || live != ng {
			return fmt.Errorf("swap sg tables: %w", err)
		}
		readers = 1 // unknown: drain before the next reuse
	}
	// Most often no packet was in flight on the old generation, and the
	// next update may rewrite it at once.
	s.gen, s.retired = ng, readers != 0
	s.idx, s.next = idx, next
	maps.Copy(s.inst, inst)
	maps.Copy(s.max, allow)
	for a := range s.owners {
		if _, ok := owners[a]; !ok {
			_ = s.objs.SgOwner.Delete(&sgSgAddr{A: words(a)})
		}
	}
	s.owners = owners
	return nil
}

// checkReserved brings sg_reserved to t's router and DNS addresses (SG-45:
// a subnet or VPC created or deleted live), outside the generations: an
// address no subnet holds yet or any more is never an ENI's. It refuses
// an address the pre-check constants, fixed at load, would not look up.
func (s *SG) checkReserved(t *vpc.Topology) error {
	want := rules.NACLReservedAddrs(t)
	if slices.Equal(want, s.reserved) {
		return nil
	}
	for _, a := range want {
		if !s.CoversReserved(a) {
			return fmt.Errorf("security groups: reserved address %s lies outside what the datapath's pre-check, set at load, looks up (a subnet not aligned as those it came up with); down and up with the new topology", a)
		}
	}
	for _, a := range want {
		if !slices.Contains(s.reserved, a) {
			if err := s.objs.SgReserved.Put(&sgSgAddr{A: words(a.Unmap())}, uint8(1)); err != nil {
				return fmt.Errorf("write sg_reserved: %w", err)
			}
		}
	}
	for _, a := range s.reserved {
		if !slices.Contains(want, a) {
			_ = s.objs.SgReserved.Delete(&sgSgAddr{A: words(a.Unmap())})
		}
	}
	s.reserved = want
	return nil
}

// CoversReserved tells whether the program's pre-check (sg_cfg, as
// reserved() in sg.bpf.c reads it) looks address a up in sg_reserved.
func (s *SG) CoversReserved(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		h := binary.BigEndian.Uint32(b[:])
		return h&3 != 0 && h&s.rsv4Mask == 0
	}
	b := a.As16()
	l := binary.BigEndian.Uint32(b[12:])
	return l&3 != 0 && (s.rsv6Any != 0 || (binary.BigEndian.Uint32(b[8:12]) == 0 && l <= 3))
}

// loadReserved writes t's router and DNS addresses (SG-45) into
// sg_reserved (their pre-check masks are in sg_cfg); the fixed link-local
// ranges are in the program.
func (s *SG) loadReserved(t *vpc.Topology) error {
	s.reserved = rules.NACLReservedAddrs(t)
	for _, a := range s.reserved {
		k := sgSgAddr{A: words(a.Unmap())}
		if err := s.objs.SgReserved.Put(&k, uint8(1)); err != nil {
			return fmt.Errorf("write sg_reserved: %w", err)
		}
	}
	return nil
}

// clearGen removes what generation g wrote last time. g is idle: the live
// generation moved away from it at least one Update ago. Keys stay
// recorded until deleted, so a failed clear is finished by the next one.
func (s *SG) clearGen(g uint32) error {
	keys := &s.keys[g]
	for len(keys.lpm) > 0 {
		k := keys.lpm[len(keys.lpm)-1]
		if err := s.step(); err != nil {
			return err
		}
		if err := s.objs.SgRules.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("clear sg_rules: %w", err)
		}
		keys.lpm = keys.lpm[:len(keys.lpm)-1]
	}
	for len(keys.eni) > 0 {
		k := keys.eni[len(keys.eni)-1]
		if err := s.step(); err != nil {
			return err
		}
		if err := s.objs.SgEni.Delete(&k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("clear sg_eni: %w", err)
		}
		keys.eni = keys.eni[:len(keys.eni)-1]
	}
	return nil
}

// step runs before each map write of Update (see SG.inject).
func (s *SG) step() error {
	if s.inject != nil {
		return s.inject()
	}
	return nil
}

// CTEntry is one connection-tracking entry of an ENI, like a `conntrack -L` line.
type CTEntry struct {
	Protocol  int
	Src, Dst  netip.AddrPort // initiator -> responder as first seen at this ENI; ports 0 when portless
	ICMPKey   int            // echo identifier, or ICMP type for other ICMP
	State     string         // SYN_SENT, ESTABLISHED, CLOSING, UDP, UDP_STREAM, ICMP, OTHER
	Outbound  bool           // the first packet left the instance
	Packets   [2]uint64      // sent by initiator, by responder
	ExpiresIn time.Duration  // idle time left
}

// Conntrack lists the live tracking entries of an ENI (ENI or instance id).
func (s *SG) Conntrack(eni string) ([]CTEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.lookup(eni)
	if err != nil {
		return nil, err
	}
	if err := s.sweep(); err != nil {
		return nil, err
	}
	now, err := s.now()
	if err != nil {
		return nil, err
	}
	var out []CTEntry
	add := func(k *sgCtKey, v *sgCtVal) {
		if v.Eni != idx {
			return
		}
		tmo := time.Duration(v.TimeoutS) * time.Second
		age := time.Duration(0)
		if now > v.LastNs {
			age = time.Duration(now - v.LastNs)
		}
		if age >= tmo {
			return
		}
		a := addrOf(k.Family, k.A)
		b := addrOf(k.Family, k.B)
		e := CTEntry{
			Protocol:  int(k.Proto),
			Src:       netip.AddrPortFrom(a, k.Pa),
			Dst:       netip.AddrPortFrom(b, k.Pb),
			ICMPKey:   int(k.Id),
			State:     ctStateNames[sgCtState(v.State)],
			Outbound:  v.InitDir == 0,
			Packets:   [2]uint64{v.Pkts[0], v.Pkts[1]},
			ExpiresIn: tmo - age,
		}
		if k.Proto == 1 || k.Proto == 58 {
			e.Src, e.Dst = netip.AddrPortFrom(a, 0), netip.AddrPortFrom(b, 0)
		}
		if v.InitSide == 1 {
			e.Src, e.Dst = e.Dst, e.Src
			e.Packets[0], e.Packets[1] = e.Packets[1], e.Packets[0]
		}
		out = append(out, e)
	}
	var slotIdx uint32
	var slot sgCtSlot
	fit := s.objs.CtFast.Iterate()
	for fit.Next(&slotIdx, &slot) {
		if slot.Used == uint64(sgCtSlotStateCT_SLOT_LIVE) {
			add(&slot.K, &slot.V)
		}
	}
	if err := fit.Err(); err != nil {
		return nil, fmt.Errorf("iterate ct_fast: %w", err)
	}
	var k sgCtKey
	var v sgCtVal
	it := s.objs.CtTable.Iterate()
	for it.Next(&k, &v) {
		add(&k, &v)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("iterate ct_table: %w", err)
	}
	return out, nil
}

// Stats returns an ENI's tracked entries and its conntrack_allowance_available
// and conntrack_allowance_exceeded counters. available is math.MaxUint64 when
// the ENI has no allowance configured.
func (s *SG) Stats(eni string) (tracked, allowanceAvailable, allowanceExceeded uint64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.lookup(eni)
	if err != nil {
		return 0, 0, 0, err
	}
	if err := s.sweep(); err != nil {
		return 0, 0, 0, err
	}
	var st sgSgStats
	if err := s.objs.SgStats.Lookup(idx, &st); err != nil {
		return 0, 0, 0, fmt.Errorf("read sg_stats: %w", err)
	}
	avail := uint64(math.MaxUint64)
	if m := s.max[idx]; m > 0 {
		avail = 0
		if st.Tracked < m {
			avail = m - st.Tracked
		}
	}
	return st.Tracked, avail, st.Exceeded, nil
}

// EventsLost is how many drop events the SG programs could not queue
// because the ring buffer was full, over every ENI.
func (s *SG) EventsLost() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total uint64
	for _, idx := range s.idx {
		var st sgSgStats
		if err := s.objs.SgStats.Lookup(idx, &st); err != nil {
			return 0, fmt.Errorf("read sg_stats: %w", err)
		}
		total += st.EventsLost
	}
	return total, nil
}

// EventsLostByENI is EventsLost per ENI index (as in SGEvent.ENI).
func (s *SG) EventsLostByENI() (map[uint32]uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint32]uint64, len(s.idx))
	for _, idx := range s.idx {
		var st sgSgStats
		if err := s.objs.SgStats.Lookup(idx, &st); err != nil {
			return nil, fmt.Errorf("read sg_stats: %w", err)
		}
		out[idx] = st.EventsLost
	}
	return out, nil
}

// Events is the ring buffer of SG drop events (SGEvent records).
func (s *SG) Events() *ebpf.Map { return s.objs.SgEvents }

// ENIIndex returns the datapath index of an ENI (as in SGEvent.ENI).
func (s *SG) ENIIndex(eni string) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookup(eni)
}

// sgDrainTimeout bounds drain's polling. A run of the programs takes
// microseconds; the longest, a sweep of a conntrack table of 2^22 slots
// at an ENI's allowance, takes milliseconds.
const sgDrainTimeout = 50 * time.Millisecond

// drain returns once no program run can still be reading the idle
// generation: when its count of readers (sg_inflight, summed over CPUs by
// sg_readers) is 0. The count is the fast proof; a grace period is the
// slow one and stays the fallback: every run that started before the flip
// has ended once synchronize_rcu returns, whatever the counters say. So a
// count that does not reach 0 within drainTimeout (a run held off its CPU
// for long, as a preempted vCPU can be; or a counter left unbalanced by a
// bug) costs time, never a rewrite under a reader.
func (s *SG) drain() error {
	deadline := time.Now().Add(s.drainTimeout)
	for i := 0; ; i++ {
		n, err := s.run(s.objs.SgReaders)
		if err == nil && n == 0 {
			return nil
		}
		if err != nil || time.Now().After(deadline) {
			s.fallbacks++
			if werr := s.rcu.wait(); werr != nil {
				return errors.Join(err, werr)
			}
			return nil
		}
		// Readers finish in microseconds: yield first, then sleep.
		if i < 32 {
			runtime.Gosched()
		} else {
			time.Sleep(20 * time.Microsecond)
		}
	}
}

// run runs one of the control programs (sg_flip, sg_readers) and returns
// its answer.
func (s *SG) run(p *ebpf.Program) (uint32, error) {
	ret, err := p.Run(&ebpf.RunOptions{Data: make([]byte, 64)})
	if err != nil {
		return 0, fmt.Errorf("run %s: %w", p, err)
	}
	return ret, nil
}

// Close detaches every program, then closes programs and maps.
func (s *SG) Close() error {
	var errs []error
	for _, f := range s.attached {
		errs = append(errs, s.tc.Detach(f))
	}
	s.attached = nil
	s.tc.Close()
	if s.rcu != nil {
		errs = append(errs, s.rcu.Close())
	}
	for _, c := range s.progs {
		c.Close()
	}
	s.progs = nil
	if s.set != nil {
		s.set.Close()
		s.set = nil
	}
	return errors.Join(errs...)
}

// SGEvent is one SG drop: a bpf/events.h vpc_event of kind EV_SG_DROP.
type SGEvent struct {
	TimeNs   uint64
	ENI      uint32 // datapath index (see ENIIndex), 0 when unknown
	Inbound  bool   // judged against inbound rules (the instance receives)
	Code     uint8  // SGDrop*
	Protocol uint8
	Src, Dst netip.AddrPort
	ICMPType uint8
	ICMPCode uint8
	TCPFlags uint8
	Fragment uint8 // rules.Frag*
	Packets  uint32
	Bytes    uint32 // IP bytes
}

// DecodeSGEvent decodes one sg_events record.
func DecodeSGEvent(b []byte) (SGEvent, error) {
	e, err := decodeVPCEvent(b, naclEvKindEV_SG_DROP, "sg event")
	if err != nil {
		return SGEvent{}, err
	}
	return SGEvent{
		TimeNs:   e.TsNs,
		Src:      netip.AddrPortFrom(addrOf(e.Family, e.Saddr), e.Sport),
		Dst:      netip.AddrPortFrom(addrOf(e.Family, e.Daddr), e.Dport),
		ENI:      e.Obj,
		Packets:  e.Packets,
		Bytes:    e.Bytes,
		Code:     e.Reason,
		Inbound:  naclEvDir(e.Dir) == naclEvDirEV_DIR_INBOUND,
		Protocol: e.Proto,
		TCPFlags: e.TcpFlags,
		ICMPType: e.IcmpType,
		ICMPCode: e.IcmpCode,
		Fragment: e.Frag,
	}, nil
}

func (s *SG) lookup(eni string) (uint32, error) {
	if id, ok := s.inst[eni]; ok {
		eni = id
	}
	idx, ok := s.idx[eni]
	if !ok {
		return 0, fmt.Errorf("%w %q", ErrUnknownENI, eni)
	}
	return idx, nil
}

// sweep runs sg_sweep, which deletes expired entries and fixes the counts.
func (s *SG) sweep() error {
	if _, err := s.objs.SgSweep.Run(&ebpf.RunOptions{Data: make([]byte, 64)}); err != nil {
		return fmt.Errorf("run sg_sweep: %w", err)
	}
	return nil
}

// now reads the datapath clock (CLOCK_MONOTONIC plus the test offsets).
func (s *SG) now() (uint64, error) {
	var ov uint64
	if err := s.objs.NowOverride.Get(&ov); err != nil {
		return 0, fmt.Errorf("read now_override: %w", err)
	}
	if ov != 0 {
		return ov, nil
	}
	var off int64
	if err := s.objs.NowOffset.Get(&off); err != nil {
		return 0, fmt.Errorf("read now_offset: %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("read clock: %w", err)
	}
	return uint64(ts.Nano() + off), nil
}

// sgNodeVal describes a node's slice: its /0 group comes first, and a group
// made only of port intervals (code range 0-255) is disjoint and sorted by
// the compiler, so the datapath may bisect it.
func sgNodeVal(off uint32, ents []rules.SGEnt) sgSgLpmVal {
	v := sgSgLpmVal{Off: off, N: uint16(len(ents))}
	for _, e := range ents {
		if e.Zero {
			v.Nzero++
		}
		if e.Full {
			v.Flags |= uint8(sgSgNodeFlagSG_NODE_HAS_FULL)
		}
	}
	sorted := func(g []rules.SGEnt) bool {
		for i, e := range g {
			if e.CLo != 0 || e.CHi != 255 || e.Lo > e.Hi {
				return false
			}
			if i > 0 && int(g[i-1].Hi) >= int(e.Lo) {
				return false
			}
		}
		return true
	}
	if sorted(ents[:v.Nzero]) {
		v.Flags |= uint8(sgSgNodeFlagSG_NODE_ZERO_SORTED)
	}
	if sorted(ents[v.Nzero:]) {
		v.Flags |= uint8(sgSgNodeFlagSG_NODE_REST_SORTED)
	}
	return v
}

func sgSecs(d time.Duration) uint32 { return uint32(d / time.Second) }

func sgB2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
