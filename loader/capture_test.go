package loader

import (
	"testing"
	"unsafe"
)

// The Go decoder's offsets are struct cap_hdr's (bpf/capture.h).
func TestCaptureHeaderLayout(t *testing.T) {
	var b captureCapBuf
	h := &b.H
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", capHdrSize, unsafe.Sizeof(b.H)},
		{"ts_ns", capOffTs, unsafe.Offsetof(h.TsNs)},
		{"wire_len", capOffWireLen, unsafe.Offsetof(h.WireLen)},
		{"cap_len", capOffCapLen, unsafe.Offsetof(h.CapLen)},
		{"obj", capOffObj, unsafe.Offsetof(h.Obj)},
		{"rule", capOffRule, unsafe.Offsetof(h.Rule)},
		{"kind", capOffKind, unsafe.Offsetof(h.Kind)},
		{"reason", capOffReason, unsafe.Offsetof(h.Reason)},
		{"dir", capOffDir, unsafe.Offsetof(h.Dir)},
		{"buffer", captureBufSize, unsafe.Sizeof(b.Data)},
	} {
		if c.got != c.want {
			t.Errorf("%s: Go %d, C %d", c.name, c.got, c.want)
		}
	}
	var nb naclCapBuf
	var sb sgCapBuf
	if unsafe.Sizeof(nb) != unsafe.Sizeof(b) || unsafe.Sizeof(sb) != unsafe.Sizeof(b) {
		t.Error("the NACL's, the SG's and the tap's cap_buf differ")
	}
}
