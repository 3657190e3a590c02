package loader

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/vpc"
)

// mirrorOverhead is what wrapping adds in front of a mirrored frame that
// counts against the MTU: outer IPv4 20, UDP 8, VXLAN 8 (bpf/mirror.h; the
// outer Ethernet header is not part of the MTU).
const mirrorOverhead = 36

// SetMirror writes t's Traffic Mirroring sessions (laid out as p) into the
// SG programs' maps: each source ENI's sessions in ascending session
// number with their filters' rules in rule-number order, and each
// session's encapsulation (bpf/mirror.h). The programs were loaded with
// mirroring compiled in when t has sessions.
func (s *SG) SetMirror(t *vpc.Topology, p *vpc.Plan) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tm := &t.TrafficMirror
	if len(tm.Sessions) == 0 {
		return nil
	}
	hostOf := map[string]*vpc.HostPlan{} // ENI id -> its instance's plan
	for i, in := range t.Instances {
		hostOf[in.ENI.ID] = &p.Instances[i]
	}
	routerMAC := map[string][]byte{}
	for _, sp := range p.Subnets {
		routerMAC[sp.SubnetID] = sp.RouterMAC
	}
	ids := map[string]uint32{}
	for i, ses := range tm.Sessions {
		ids[ses.ID] = uint32(i)
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
		if err := s.objs.MirrorOut.Put(uint32(i), &o); err != nil {
			return fmt.Errorf("mirror session %s: %w", ses.ID, err)
		}
		if err := s.objs.MirrorPairs.Put(sgMirrorPair{Saddr: o.Saddr, Daddr: o.Daddr}, uint8(1)); err != nil {
			return fmt.Errorf("mirror session %s: %w", ses.ID, err)
		}
	}
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
			v.S[i].Id = ids[ses.ID]
			in, out := sortedRules(f.Inbound), sortedRules(f.Outbound)
			v.S[i].Nin, v.S[i].Nout = uint8(min(len(in), 10)), uint8(min(len(out), 10))
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
