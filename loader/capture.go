package loader

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"

	"github.com/vpcemu/vpcemu/netns"
)

// CaptureSnaplen is the most bytes of a frame a capture copies
// (CAP_SNAPLEN, bpf/capture.h): a whole frame at the VPC's MTU.
const CaptureSnaplen = 9216

// captureBufSize is CAP_BUFSZ, the per-CPU copy buffer.
const captureBufSize = 16384

// Layout of struct cap_hdr (bpf/capture.h), checked against bpf2go's type
// by TestCaptureHeaderLayout.
const (
	capHdrSize    = 32
	capOffTs      = 0
	capOffWireLen = 8
	capOffCapLen  = 12
	capOffObj     = 16
	capOffRule    = 20
	capOffKind    = 22
	capOffReason  = 23
	capOffDir     = 24
)

// Capture record kinds (cap_hdr.kind).
const (
	CapturePass     = 0                             // CAP_PASS: a tap saw the frame pass
	CaptureNACLDrop = uint8(naclEvKindEV_NACL_DROP) // the NACL dropped it (Obj: NACL index, Rule, Reason EV_REASON_*)
	CaptureSGDrop   = uint8(naclEvKindEV_SG_DROP)   // an SG dropped it (Obj: ENI index, Reason SGDrop*)
)

// CaptureRecord is one frame of a capture.
type CaptureRecord struct {
	TimeNs  uint64 // CLOCK_MONOTONIC
	WireLen int    // the frame's length (GSO segments together)
	Kind    uint8
	Obj     uint32
	Rule    int
	Reason  uint8
	// Ingress: for CapturePass, the tap's hook; for drops, the verdict's
	// direction is inbound (EV_DIR_INBOUND).
	Ingress bool
	Data    []byte // aliases the ring buffer's record: copy to keep
}

// DecodeCaptureRecord decodes one record of a capture ring.
func DecodeCaptureRecord(b []byte) (CaptureRecord, error) {
	if len(b) < capHdrSize {
		return CaptureRecord{}, fmt.Errorf("capture record: %d bytes, want at least %d", len(b), capHdrSize)
	}
	le := binary.LittleEndian
	r := CaptureRecord{
		TimeNs:  le.Uint64(b[capOffTs:]),
		WireLen: int(le.Uint32(b[capOffWireLen:])),
		Obj:     le.Uint32(b[capOffObj:]),
		Rule:    int(le.Uint16(b[capOffRule:])),
		Kind:    b[capOffKind],
		Reason:  b[capOffReason],
	}
	n := int(le.Uint32(b[capOffCapLen:]))
	if n > len(b)-capHdrSize {
		return r, fmt.Errorf("capture record: %d bytes of frame announced, %d there", n, len(b)-capHdrSize)
	}
	r.Data = b[capHdrSize : capHdrSize+n]
	if r.Kind == CapturePass {
		r.Ingress = b[capOffDir] == 0 // CAP_HOOK_INGRESS
	} else {
		r.Ingress = naclEvDir(b[capOffDir]) == naclEvDirEV_DIR_INBOUND
	}
	return r, nil
}

// Tap is a capture point's pair of tap programs (bpf/capture.bpf.c),
// attached only while a capture runs.
type Tap struct {
	objs     captureObjects
	tc       *netns.TC
	attached []netns.TCFilter
	reader   *ringbuf.Reader
}

// AttachTap loads a tap with a ring of ringBytes (a power of two, 0 for the
// default 16 MiB) and attaches it to both hooks of ifname in ns, after
// the programs there; with egressFirst, before them on egress (the
// internet gateway: ahead of the NAT).
func AttachTap(ns, ifname string, egressFirst bool, ringBytes int) (t *Tap, err error) {
	spec, err := loadCapture()
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	if ringBytes > 0 {
		spec.Maps[captureMapCapRing].MaxEntries = uint32(ringBytes)
	}
	t = &Tap{tc: netns.NewTC()}
	if err := loadAndAssign(spec, &t.objs, nil); err != nil {
		return nil, fmt.Errorf("capture: load tap: %w", err)
	}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	egressPrio := uint16(tapLastTCPrio)
	if egressFirst {
		egressPrio = tapFirstTCPrio
	}
	for _, h := range []struct {
		prog    *ebpf.Program
		name    string
		ingress bool
		prio    uint16
	}{
		{t.objs.CapTapIngress, captureProgCapTapIngress, true, tapLastTCPrio},
		{t.objs.CapTapEgress, captureProgCapTapEgress, false, egressPrio},
	} {
		f := netns.TCFilter{NS: ns, Ifname: ifname, Ingress: h.ingress, Prio: h.prio}
		if err := t.tc.Attach(f, h.prog.FD(), h.name); err != nil {
			return t, fmt.Errorf("capture: %w", err)
		}
		t.attached = append(t.attached, f)
	}
	if t.reader, err = ringbuf.NewReader(t.objs.CapRing); err != nil {
		return t, fmt.Errorf("capture: %w", err)
	}
	return t, nil
}

// Reader is the tap's ring of CaptureRecords.
func (t *Tap) Reader() *ringbuf.Reader { return t.reader }

// Lost is how many frames the tap's ring had no room for.
func (t *Tap) Lost() (uint64, error) { return perCPUSum(t.objs.CapTapLost) }

// Close detaches the tap and frees it.
func (t *Tap) Close() error {
	var errs []error
	for _, f := range t.attached {
		errs = append(errs, t.tc.Detach(f))
	}
	t.attached = nil
	t.tc.Close()
	if t.reader != nil {
		errs = append(errs, t.reader.Close())
		t.reader = nil
	}
	errs = append(errs, t.objs.Close())
	return errors.Join(errs...)
}

func perCPUSum(m *ebpf.Map) (uint64, error) {
	var per []uint64
	if err := m.Lookup(uint32(0), &per); err != nil {
		return 0, fmt.Errorf("capture: read %s: %w", m, err)
	}
	var n uint64
	for _, v := range per {
		n += v
	}
	return n, nil
}

func setCaptureDrops(m *ebpf.Map, on bool) error {
	v := uint32(0)
	if on {
		v = 1
	}
	if err := m.Put(uint32(0), v); err != nil {
		return fmt.Errorf("capture: switch drop capture: %w", err)
	}
	return nil
}

// CaptureDrops is the ring of dropped frames with their verdicts
// (CaptureNACLDrop records), filled while SetCaptureDrops is on.
func (n *NACL) CaptureDrops() *ebpf.Map { return n.maps.CapDrops }

// SetCaptureDrops makes the NACL programs copy every frame they drop.
func (n *NACL) SetCaptureDrops(on bool) error { return setCaptureDrops(n.maps.CapCtl, on) }

// CaptureLost is how many dropped frames CaptureDrops had no room for.
func (n *NACL) CaptureLost() (uint64, error) { return perCPUSum(n.maps.CapLost) }

// CaptureDrops is the ring of dropped frames with their verdicts
// (CaptureSGDrop records), filled while SetCaptureDrops is on.
func (s *SG) CaptureDrops() *ebpf.Map { return s.objs.CapDrops }

// SetCaptureDrops makes the SG programs copy every frame they drop.
func (s *SG) SetCaptureDrops(on bool) error { return setCaptureDrops(s.objs.CapCtl, on) }

// CaptureLost is how many dropped frames CaptureDrops had no room for.
func (s *SG) CaptureLost() (uint64, error) { return perCPUSum(s.objs.CapLost) }
