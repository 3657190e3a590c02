package loader

import (
	"net/netip"

	"github.com/cilium/ebpf"
)

// ACLID returns the NACL id of an index found in events (vpc_event.obj).
func (n *NACL) ACLID(idx uint32) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a := n.byIdx[idx]; a != nil {
		return a.id
	}
	return ""
}

// Events is the ring buffer of drop events (struct vpc_event; DecodeNACLEvent).
func (n *NACL) Events() *ebpf.Map { return n.maps.NaclEvents }

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

// NACL event reasons (enum ev_reason of bpf/events.h).
const (
	NACLReasonRule      = uint8(naclEvReasonEV_REASON_RULE)      // Rule decided
	NACLReasonMalformed = uint8(naclEvReasonEV_REASON_MALFORMED) // truncated or invalid headers
	NACLReasonNoTable   = uint8(naclEvReasonEV_REASON_NO_TABLE)  // the NACL has no (readable) table
)

// DecodeNACLEvent decodes one nacl_events record.
func DecodeNACLEvent(b []byte) (NACLEvent, error) {
	e, err := decodeVPCEvent(b, naclEvKindEV_NACL_DROP, "nacl event")
	if err != nil {
		return NACLEvent{}, err
	}
	// A frame whose IP header was not parsed (family 0) reads as IPv4.
	fam := uint8(4)
	if e.Family == 6 {
		fam = 6
	}
	return NACLEvent{
		TimeNs:   e.TsNs,
		Src:      netip.AddrPortFrom(addrOf(fam, e.Saddr), e.Sport),
		Dst:      netip.AddrPortFrom(addrOf(fam, e.Daddr), e.Dport),
		ACL:      e.Obj,
		Packets:  e.Packets,
		Bytes:    e.Bytes,
		Rule:     int(e.Rule),
		Reason:   e.Reason,
		Egress:   naclEvDir(e.Dir) == naclEvDirEV_DIR_OUTBOUND,
		Protocol: e.Proto,
		TCPFlags: e.TcpFlags,
		ICMPType: e.IcmpType,
		ICMPCode: e.IcmpCode,
		Fragment: e.Frag,
	}, nil
}
