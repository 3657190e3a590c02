package loader

import (
	"encoding/binary"
	"fmt"
)

// vpcEvent is struct vpc_event (bpf/events.h) as bpf2go generated it: the
// one Go layout of the record, decoded as the datapath wrote it (the
// programs are built for little-endian hosts, bpfel). Addresses stay words
// in network order, as words() lays them out.
type vpcEvent = naclVpcEvent

// decodeVPCEvent decodes one ring-buffer record that must be of kind;
// what names the ring in errors ("nacl event").
func decodeVPCEvent(b []byte, kind naclEvKind, what string) (vpcEvent, error) {
	var e vpcEvent
	if n := binary.Size(e); len(b) < n {
		return e, fmt.Errorf("%s: %d bytes, want %d", what, len(b), n)
	}
	if _, err := binary.Decode(b, binary.NativeEndian, &e); err != nil {
		return e, fmt.Errorf("%s: %w", what, err)
	}
	if naclEvKind(e.Kind) != kind {
		return e, fmt.Errorf("%s: kind %d, want %d", what, e.Kind, kind)
	}
	return e, nil
}
