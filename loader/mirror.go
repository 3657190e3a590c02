package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// mirrorOverhead is what wrapping adds in front of a mirrored frame that
// counts against the MTU: outer IPv4 20, UDP 8, VXLAN 8 (bpf/mirror.h; the
// outer Ethernet header is not part of the MTU).
const mirrorOverhead = 36

// ErrMirrorCompiledOut is what SetMirror returns for sessions when the
// programs were loaded without mirroring (errors.Is).
var ErrMirrorCompiledOut = errors.New("traffic mirroring is compiled out of this datapath")

// Mirroring tells whether the programs were loaded with mirroring compiled
// in: SetMirror can then add sessions to a running topology.
func (s *SG) Mirroring() bool { return s.mirror }

// SetMirror makes t's Traffic Mirroring sessions (laid out as p) the ones
// the SG programs apply, replacing those of the last call: each source
// ENI's sessions in ascending session number with their filters' rules in
// rule-number order, and each session's encapsulation (bpf/mirror.h). A
// session keeps its mirror_out entry while it exists and a new one never
// takes an entry freed by this call, so a packet in flight that read the
// old sessions of its ENI still finds their encapsulation; each ENI's
// sessions change in one map update, which the next packet sees. Sources
// with no session left, and copies' (source, target) pairs no session has
// any more, are removed last. Sessions need the programs loaded with
// mirroring compiled in (Mirroring).
func (s *SG) SetMirror(t *vpc.Topology, p *vpc.Plan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tm := &t.TrafficMirror
	if !s.mirror {
		if len(tm.Sessions) == 0 {
			return nil
		}
		return ErrMirrorCompiledOut
	}
	hostOf := map[string]*vpc.HostPlan{} // ENI id -> its instance's plan
	for i, in := range t.Instances {
		hostOf[in.ENI.ID] = &p.Instances[i]
	}
	routerMAC := map[string][]byte{}
	for _, sp := range p.Subnets {
		routerMAC[sp.SubnetID] = sp.RouterMAC
	}
	slots, err := s.mirrorSlots(tm.Sessions)
	if err != nil {
		return err
	}
	pairs := map[sgMirrorPair]bool{}
	for _, ses := range tm.Sessions {
		src, tgtENI := hostOf[ses.Source], ""
		if tg := t.MirrorTarget(ses.Target); tg != nil {
			tgtENI = tg.ENI
		}
		dst := hostOf[tgtENI]
		if src == nil || dst == nil {
			return fmt.Errorf("mirror session %s: source %s or target %s has no ENI veth", ses.ID, ses.Source, tgtENI)
		}
		o := sgMirrorOut{Vni: uint32(ses.VNI), PktLen: uint32(ses.PacketLength), MaxInner: uint32(p.MTU - mirrorOverhead)}
		o.Saddr = word(src.Addr.Addr())
		o.Daddr = word(dst.Addr.Addr())
		copy(o.Smac[:], src.MAC)
		if src.SubnetID == dst.SubnetID {
			copy(o.Dmac[:], dst.MAC)
		} else {
			copy(o.Dmac[:], routerMAC[src.SubnetID])
		}
		if err := s.objs.MirrorOut.Put(slots[ses.ID], &o); err != nil {
			return fmt.Errorf("mirror session %s: %w", ses.ID, err)
		}
		pair := sgMirrorPair{Saddr: o.Saddr, Daddr: o.Daddr}
		pairs[pair] = true
		if err := s.objs.MirrorPairs.Put(pair, uint8(1)); err != nil {
			return fmt.Errorf("mirror session %s: %w", ses.ID, err)
		}
	}
	sources := map[uint32]bool{}
	for eni, hp := range hostOf {
		sessions := t.MirrorSessionsOf(eni)
		if len(sessions) == 0 {
			continue
		}
		idx, err := s.lookup(eni)
		if err != nil {
			return err
		}
		var v sgMirrorSrc
		err = netns.Do(hp.PeerNS, func() error {
			x, err := ifindex(hp.PeerIf)
			v.Ifindex = uint32(x)
			return err
		})
		if err != nil {
			return fmt.Errorf("mirror source %s: %w", eni, err)
		}
		for i, ses := range sessions[:min(len(sessions), len(v.S))] {
			f := t.MirrorFilter(ses.Filter)
			if f == nil {
				return fmt.Errorf("mirror session %s: no filter %s", ses.ID, ses.Filter)
			}
			v.S[i].Id = slots[ses.ID]
			if slices.Contains(f.NetworkServices, vpc.MirrorServiceAmazonDNS) {
				if r := rules.VPCResolver(t, eni); r.Is4() {
					v.S[i].Resolver = word(r)
				}
			}
			in, out := sortedRules(f.Inbound), sortedRules(f.Outbound)
			v.S[i].Nin, v.S[i].Nout = uint8(min(len(in), len(v.S[i].In))), uint8(min(len(out), len(v.S[i].Out)))
			for j, r := range in[:v.S[i].Nin] {
				x := &v.S[i].In[j]
				x.Src, x.Smask, x.Dst, x.Dmask = netWords(r.SrcCIDR), maskWords(r.SrcCIDR), netWords(r.DstCIDR), maskWords(r.DstCIDR)
				x.SpLo, x.SpHi, x.DpLo, x.DpHi = uint16(r.SrcPorts.From), uint16(r.SrcPorts.To), uint16(r.DstPorts.From), uint16(r.DstPorts.To)
				x.Accept, x.Proto, x.Family = b2u(r.Accept), ruleProto(r.Protocol), prefixFamily(r.SrcCIDR)
			}
			for j, r := range out[:v.S[i].Nout] {
				x := &v.S[i].Out[j]
				x.Src, x.Smask, x.Dst, x.Dmask = netWords(r.SrcCIDR), maskWords(r.SrcCIDR), netWords(r.DstCIDR), maskWords(r.DstCIDR)
				x.SpLo, x.SpHi, x.DpLo, x.DpHi = uint16(r.SrcPorts.From), uint16(r.SrcPorts.To), uint16(r.DstPorts.From), uint16(r.DstPorts.To)
				x.Accept, x.Proto, x.Family = b2u(r.Accept), ruleProto(r.Protocol), prefixFamily(r.SrcCIDR)
			}
			v.Nsess = uint32(i + 1)
		}
		if err := s.objs.MirrorSrc.Put(idx, &v); err != nil {
			return fmt.Errorf("mirror source %s: %w", eni, err)
		}
		sources[idx] = true
	}
	if err := deleteOthers(s.objs.MirrorSrc, sources); err != nil {
		return fmt.Errorf("mirror sources: %w", err)
	}
	if err := deleteOthers(s.objs.MirrorPairs, pairs); err != nil {
		return fmt.Errorf("mirror pairs: %w", err)
	}
	s.mirrorSlot = slots
	return nil
}

// mirrorSlots gives each session its mirror_out entry: the one it had, or
// the lowest that no session had or has.
func (s *SG) mirrorSlots(sessions []vpc.MirrorSession) (map[string]uint32, error) {
	taken := map[uint32]bool{}
	for _, i := range s.mirrorSlot {
		taken[i] = true
	}
	slots := map[string]uint32{}
	var fresh []string
	for _, ses := range sessions {
		if i, ok := s.mirrorSlot[ses.ID]; ok {
			slots[ses.ID] = i
		} else {
			fresh = append(fresh, ses.ID)
		}
	}
	next := uint32(0)
	for _, id := range fresh {
		for taken[next] {
			next++
		}
		if next >= s.objs.MirrorOut.MaxEntries() {
			return nil, fmt.Errorf("mirror session %s: more than %d sessions at once", id, s.objs.MirrorOut.MaxEntries())
		}
		slots[id], taken[next] = next, true
	}
	return slots, nil
}

// deleteOthers deletes the entries of m whose keys keep does not hold.
func deleteOthers[K comparable](m *ebpf.Map, keep map[K]bool) error {
	var stale []K
	var prev any // nil: the first key
	for {
		var k K
		if err := m.NextKey(prev, &k); errors.Is(err, ebpf.ErrKeyNotExist) {
			break
		} else if err != nil {
			return err
		}
		if !keep[k] {
			stale = append(stale, k)
		}
		prev = k
	}
	for _, k := range stale {
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return err
		}
	}
	return nil
}

func sortedRules(rs []vpc.MirrorRule) []vpc.MirrorRule {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b vpc.MirrorRule) int { return a.Number - b.Number })
	return out
}

// word is an IPv4 address as the datapath holds it (network order in memory).
func word(a netip.Addr) uint32 {
	b := a.As4()
	return binary.NativeEndian.Uint32(b[:])
}

func words16(b [16]byte) [4]uint32 {
	var w [4]uint32
	for i := range w {
		w[i] = binary.NativeEndian.Uint32(b[4*i:])
	}
	return w
}

// netWords and maskWords are a prefix's network and mask as four words
// (IPv4 in the first).
func netWords(p netip.Prefix) [4]uint32 {
	if p.Addr().Is4() {
		return [4]uint32{word(p.Masked().Addr())}
	}
	return words16(p.Masked().Addr().As16())
}

func maskWords(p netip.Prefix) [4]uint32 {
	var m [16]byte
	for i := 0; i < p.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	if p.Addr().Is4() {
		return [4]uint32{binary.NativeEndian.Uint32(m[:4])}
	}
	return words16(m)
}

func ruleProto(p int) uint8 {
	if p == vpc.ProtoAll {
		return 255
	}
	return uint8(p)
}

func prefixFamily(p netip.Prefix) uint8 {
	if p.Addr().Is4() {
		return 4
	}
	return 6
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
