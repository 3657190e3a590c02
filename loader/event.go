package loader

import (
	"encoding/binary"
	"fmt"
)

// Layout of struct vpc_event (bpf/events.h), checked against the bpf2go
// type by TestVPCEventLayout.
const (
	vpcEventSize = 72
	evOffTs      = 0
	evOffSaddr   = 8
	evOffDaddr   = 24
	evOffSport   = 40
	evOffDport   = 42
	evOffObj     = 44
	evOffPackets = 48
	evOffBytes   = 52
	evOffRule    = 56
	evOffKind    = 58
	evOffReason  = 59
	evOffDir     = 60
	evOffFamily  = 61
	evOffProto   = 62
	evOffFlags   = 63
	evOffICMPTyp = 64
	evOffICMPCod = 65
	evOffFrag    = 66
)

// vpc_event kinds and directions (EV_* in bpf/events.h).
const (
	evNACLDrop = 1 // EV_NACL_DROP
	evSGDrop   = 2 // EV_SG_DROP
	evInbound  = 0 // EV_DIR_INBOUND
	evOutbound = 1 // EV_DIR_OUTBOUND
)

// vpcEvent is a struct vpc_event as the datapath wrote it; DecodeNACLEvent
// and DecodeSGEvent interpret obj, rule and reason.
type vpcEvent struct {
	TimeNs          uint64
	Saddr, Daddr    [4]uint32 // network order, as words lays them out
	Sport, Dport    uint16
	Obj             uint32
	Packets, Bytes  uint32
	Rule            uint16
	Kind, Reason    uint8
	Dir, Family     uint8
	Proto, TCPFlags uint8
	ICMPType        uint8
	ICMPCode        uint8
	Frag            uint8
}

// decodeVPCEvent decodes one ring-buffer record that must be of kind;
// what names the ring in errors ("nacl event").
func decodeVPCEvent(b []byte, kind uint8, what string) (vpcEvent, error) {
	if len(b) < vpcEventSize {
		return vpcEvent{}, fmt.Errorf("%s: %d bytes, want %d", what, len(b), vpcEventSize)
	}
	if b[evOffKind] != kind {
		return vpcEvent{}, fmt.Errorf("%s: kind %d, want %d", what, b[evOffKind], kind)
	}
	le := binary.LittleEndian
	e := vpcEvent{
		TimeNs:   le.Uint64(b[evOffTs:]),
		Sport:    le.Uint16(b[evOffSport:]),
		Dport:    le.Uint16(b[evOffDport:]),
		Obj:      le.Uint32(b[evOffObj:]),
		Packets:  le.Uint32(b[evOffPackets:]),
		Bytes:    le.Uint32(b[evOffBytes:]),
		Rule:     le.Uint16(b[evOffRule:]),
		Kind:     b[evOffKind],
		Reason:   b[evOffReason],
		Dir:      b[evOffDir],
		Family:   b[evOffFamily],
		Proto:    b[evOffProto],
		TCPFlags: b[evOffFlags],
		ICMPType: b[evOffICMPTyp],
		ICMPCode: b[evOffICMPCod],
		Frag:     b[evOffFrag],
	}
	for i := range 4 {
		e.Saddr[i] = binary.NativeEndian.Uint32(b[evOffSaddr+4*i:])
		e.Daddr[i] = binary.NativeEndian.Uint32(b[evOffDaddr+4*i:])
	}
	return e, nil
}
