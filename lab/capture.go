package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/capture"
	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// captureQueue is how many packets a capture holds between the datapath's
// rings and its client; beyond it the rings fill and the datapath counts
// what it cannot queue.
const captureQueue = 4096

// CaptureSession is one running capture.
type CaptureSession struct {
	Point   *CapturePoint
	Packets <-chan *capture.Packet

	lab     *Lab
	tap     *loader.Tap
	sub     *dropSub
	out     chan *capture.Packet
	toWall  time.Duration
	wg      sync.WaitGroup
	stopped chan struct{}
	once    sync.Once
	lost0   uint64 // drop-ring losses before this capture
	tapFlag bool   // the router program at the point hands routed packets to the tap
}

// StartCapture starts capturing at target: with dropsOnly, only the frames
// the NACL and SG programs drop. Nothing is attached when target is
// unknown. Close ends it.
func (l *Lab) StartCapture(target string, dropsOnly bool) (*CaptureSession, error) {
	l.mu.Lock()
	t := l.topo
	dp := l.dp
	l.mu.Unlock()
	if dp == nil {
		return nil, errors.New("the topology's datapath is not loaded")
	}
	point, err := ResolveCaptureTarget(t, l.plan, target)
	if err != nil {
		return nil, err
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("capture: read monotonic clock: %w", err)
	}
	c := &CaptureSession{Point: point, lab: l, out: make(chan *capture.Packet, captureQueue), stopped: make(chan struct{}),
		toWall: time.Duration(time.Now().UnixNano() - ts.Nano())}
	c.Packets = c.out
	if !dropsOnly {
		if c.tap, err = loader.AttachTap(point.NS, point.IfName, point.Kind == "igw", 0); err != nil {
			return nil, err
		}
		// A routing port's program redirects what passes, which would skip
		// the tap: it hands the packets on to it instead.
		if l.dp != nil && l.dp.nacl != nil {
			if err := l.dp.nacl.SetTap(point.NS, point.IfName, true); err != nil {
				_ = c.tap.Close()
				return nil, err
			}
			c.tapFlag = true
		}
		c.wg.Add(1)
		go c.readTap()
	}
	c.sub = &dropSub{point: point, session: c}
	if c.lost0, err = l.capDrops().add(c.sub); err != nil {
		c.sub = nil
		c.Close()
		return nil, err
	}
	l.capMu.Lock()
	if l.captures == nil {
		l.captures = map[*CaptureSession]bool{}
	}
	l.captures[c] = true
	l.capMu.Unlock()
	return c, nil
}

func (c *CaptureSession) wall(ns uint64) time.Time { return time.Unix(0, int64(ns)+int64(c.toWall)) }

// readTap turns the tap's records into packets; a full queue holds the
// reader back, so the tap's ring fills and the datapath counts the rest.
func (c *CaptureSession) readTap() {
	defer c.wg.Done()
	r := c.tap.Reader()
	var rec ringbuf.Record
	for {
		if err := r.ReadInto(&rec); err != nil {
			return
		}
		cr, err := loader.DecodeCaptureRecord(rec.RawSample)
		if err != nil {
			continue
		}
		dir := capture.Outbound
		if cr.Ingress == c.Point.IngressInbound {
			dir = capture.Inbound
		}
		p := &capture.Packet{Time: c.wall(cr.TimeNs), Dir: dir, Length: cr.WireLen, Data: append([]byte(nil), cr.Data...)}
		select {
		case c.out <- p:
		case <-c.stopped:
			return
		}
	}
}

// Lost is how many packets of this capture the datapath could not queue.
func (c *CaptureSession) Lost() uint64 {
	var n uint64
	if c.tap != nil {
		if v, err := c.tap.Lost(); err == nil {
			n += v
		}
	}
	if v, err := c.lab.capDrops().lost(); err == nil && v >= c.lost0 {
		n += v - c.lost0
	}
	if c.sub != nil {
		n += c.sub.skipped.Load()
	}
	return n
}

// closeCaptures ends every running capture (the topology goes down).
func (l *Lab) closeCaptures() error {
	l.capMu.Lock()
	var cs []*CaptureSession
	for c := range l.captures {
		cs = append(cs, c)
	}
	l.capMu.Unlock()
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Close detaches the capture's tap and stops its share of the drops.
func (c *CaptureSession) Close() error {
	var err error
	c.once.Do(func() {
		c.lab.capMu.Lock()
		delete(c.lab.captures, c)
		c.lab.capMu.Unlock()
		close(c.stopped)
		if c.sub != nil {
			err = c.lab.capDrops().remove(c.sub)
		}
		if c.tapFlag {
			err = errors.Join(err, c.lab.dp.nacl.SetTap(c.Point.NS, c.Point.IfName, false))
		}
		if c.tap != nil {
			err = errors.Join(err, c.tap.Close())
		}
		c.wg.Wait()
	})
	return err
}

// dropSub is a capture's subscription to the datapath's dropped frames.
type dropSub struct {
	point   *CapturePoint
	session *CaptureSession
	skipped atomic.Uint64
}

// captureDrops fans the NACL's and SG's dropped frames out to the captures
// that want them; the datapath copies frames only while one does.
type captureDrops struct {
	lab     *Lab
	mu      sync.Mutex
	subs    map[*dropSub]bool
	readers []*ringbuf.Reader
	wg      sync.WaitGroup
	eniOf   map[uint32]*vpc.Instance
}

func (l *Lab) capDrops() *captureDrops {
	l.capOnce.Do(func() { l.capDropsV = &captureDrops{lab: l, subs: map[*dropSub]bool{}} })
	return l.capDropsV
}

func (d *captureDrops) lost() (uint64, error) {
	d.lab.mu.Lock()
	dp := d.lab.dp
	d.lab.mu.Unlock()
	if dp == nil {
		return 0, errors.New("no datapath")
	}
	a, err := dp.nacl.CaptureLost()
	if err != nil {
		return 0, err
	}
	b, err := dp.sg.CaptureLost()
	return a + b, err
}

// add subscribes s, switching the drop copies on for the first one; it
// returns the drop rings' losses so far.
func (d *captureDrops) add(s *dropSub) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lost, err := d.lost()
	if err != nil {
		return 0, err
	}
	if len(d.subs) == 0 {
		if err := d.start(); err != nil {
			return 0, err
		}
	}
	d.subs[s] = true
	return lost, nil
}

func (d *captureDrops) remove(s *dropSub) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.subs[s] {
		return nil
	}
	delete(d.subs, s)
	if len(d.subs) > 0 {
		return nil
	}
	return d.stop()
}

func (d *captureDrops) start() error {
	d.lab.mu.Lock()
	dp, t := d.lab.dp, d.lab.topo
	d.lab.mu.Unlock()
	d.eniOf = map[uint32]*vpc.Instance{}
	for i := range t.Instances {
		if x, err := dp.sg.ENIIndex(t.Instances[i].ENI.ID); err == nil {
			d.eniOf[x] = &t.Instances[i]
		}
	}
	for _, m := range []*ebpf.Map{dp.nacl.CaptureDrops(), dp.sg.CaptureDrops()} {
		r, err := ringbuf.NewReader(m)
		if err != nil {
			d.stop()
			return fmt.Errorf("capture: %w", err)
		}
		d.readers = append(d.readers, r)
		d.wg.Add(1)
		go d.run(r)
	}
	if err := errors.Join(dp.nacl.SetCaptureDrops(true), dp.sg.SetCaptureDrops(true)); err != nil {
		d.stop()
		return err
	}
	return nil
}

func (d *captureDrops) stop() error {
	d.lab.mu.Lock()
	dp := d.lab.dp
	d.lab.mu.Unlock()
	var errs []error
	if dp != nil {
		errs = append(errs, dp.nacl.SetCaptureDrops(false), dp.sg.SetCaptureDrops(false))
	}
	for _, r := range d.readers {
		_ = r.Flush()
	}
	d.wg.Wait()
	for _, r := range d.readers {
		errs = append(errs, r.Close())
	}
	d.readers = nil
	return errors.Join(errs...)
}

func (d *captureDrops) run(r *ringbuf.Reader) {
	defer d.wg.Done()
	var rec ringbuf.Record
	for {
		if err := r.ReadInto(&rec); err != nil {
			return
		}
		cr, err := loader.DecodeCaptureRecord(rec.RawSample)
		if err != nil {
			continue
		}
		d.dispatch(&cr)
	}
}

// dispatch hands a dropped frame to every capture it concerns, never
// waiting for one: a capture that cannot keep up counts it as lost.
func (d *captureDrops) dispatch(cr *loader.CaptureRecord) {
	d.lab.mu.Lock()
	t, dp := d.lab.topo, d.lab.dp
	d.lab.mu.Unlock()
	if dp == nil {
		return
	}
	src, dst := frameAddrs(cr.Data)
	var verdict string
	var inst *vpc.Instance
	switch cr.Kind {
	case loader.CaptureSGDrop:
		inst = d.eniOf[cr.Obj]
		sgs := "its security groups"
		if inst != nil {
			sgs = strings.Join(inst.SecurityGroups, " ")
		}
		verdict = "dropped: " + sgs + ", " + sgReason(cr.Reason)
	case loader.CaptureNACLDrop:
		acl := dp.nacl.ACLID(cr.Obj)
		dir := direction(cr.Ingress)
		switch cr.Reason {
		case loader.NACLReasonMalformed:
			verdict = fmt.Sprintf("dropped: %s, malformed headers (%s)", acl, ReasonMalformed)
		default:
			verdict = fmt.Sprintf("dropped: %s %s rule %s", acl, dir, ruleNumberText(cr.Rule))
		}
	default:
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for s := range d.subs {
		pt := s.point
		var dirIn bool
		switch {
		case cr.Kind == loader.CaptureSGDrop:
			if pt.Kind != "eni" || inst == nil || inst.ENI.ID != pt.ENI {
				continue
			}
			dirIn = cr.Ingress
		default:
			if !pt.naclDropConcerns(t, src, dst, cr.Ingress) {
				continue
			}
			dirIn = towards(t, pt, dst)
		}
		dir := capture.Outbound
		if dirIn {
			dir = capture.Inbound
		}
		p := &capture.Packet{Time: s.session.wall(cr.TimeNs), Dir: dir, Length: cr.WireLen, Data: append([]byte(nil), cr.Data...), Verdict: verdict}
		select {
		case s.session.out <- p:
		default:
			s.skipped.Add(1)
		}
	}
}

// towards tells whether a packet to dst goes toward the point's side: the
// instance, into the subnet, into the VPC.
func towards(t *vpc.Topology, pt *CapturePoint, dst netip.Addr) bool {
	switch pt.Kind {
	case "eni":
		if e, _ := t.ENIByIP(dst); e != nil && e.ID == pt.ENI {
			return true
		}
		if in := t.Instance(pt.Instance); in != nil && in.PublicIP == dst {
			return true
		}
		return false
	case "subnet":
		return pt.Subnet.Contains(dst) || (pt.SubnetV6.IsValid() && pt.SubnetV6.Contains(dst))
	}
	return true
}

func sgReason(code uint8) string {
	switch code {
	case loader.SGDropRulesMismatch:
		return ReasonSGMismatch
	case loader.SGDropNoRules:
		return ReasonSGNoRules
	case loader.SGDropAllowance:
		return ReasonAllowance
	}
	return loader.SGDropCodeName(code)
}

// frameAddrs reads the IP addresses of an Ethernet frame (zero when it has
// none).
func frameAddrs(b []byte) (src, dst netip.Addr) {
	if len(b) < 14 {
		return
	}
	switch uint16(b[12])<<8 | uint16(b[13]) {
	case 0x0800:
		if len(b) >= 14+20 {
			src, _ = netip.AddrFromSlice(b[14+12 : 14+16])
			dst, _ = netip.AddrFromSlice(b[14+16 : 14+20])
		}
	case 0x86dd:
		if len(b) >= 14+40 {
			src, _ = netip.AddrFromSlice(b[14+8 : 14+24])
			dst, _ = netip.AddrFromSlice(b[14+24 : 14+40])
		}
	}
	return
}

// Capture runs a capture of target until ctx is done or fn fails, handing
// fn each packet; it returns how many packets the datapath lost for it.
func (l *Lab) Capture(ctx context.Context, target string, dropsOnly bool, fn func(*capture.Packet) error) (uint64, error) {
	c, err := l.StartCapture(target, dropsOnly)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	for {
		select {
		case <-ctx.Done():
			return c.Lost(), nil
		case p := <-c.Packets:
			if err := fn(p); err != nil {
				return c.Lost(), err
			}
		}
	}
}
