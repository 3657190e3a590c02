package lab

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Drop reasons in Reachability Analyzer terms (spec RA-7).
const (
	ReasonACL        = "SUBNET_ACL_RESTRICTION"
	ReasonSGMismatch = "ENI_SG_RULES_MISMATCH"
	ReasonSGNoRules  = "SG_HAS_NO_RULES"
	ReasonAllowance  = "CONNTRACK_ALLOWANCE_EXCEEDED"
	ReasonMalformed  = "MALFORMED"
	// ReasonUnrecorded: drops whose events the datapath could not queue
	// (its ring buffer was full); counted per ENI (SG) or for all NACLs.
	ReasonUnrecorded = "UNRECORDED"
)

// Drop is a line of drops.jsonl: the packets of one flow dropped at one
// place for one reason within one second (of the datapath's clock). Time
// is the first one's; Packets counts them all (wire packets: a GSO batch
// counts its segments); TCPFlags ORs their flags.
type Drop struct {
	Time time.Time `json:"time"`
	// Component is where it was dropped, as Reachability Analyzer and
	// rules.DropPoint name it: nacl, sg, eni (source/destination check),
	// route, subnet, igw, eigw, ngw, pcx, vpce.
	Component string `json:"component"`
	// ID names the component beyond nacl and sg (which have ACL and ENI):
	// the route table, subnet (or VPC), gateway, NAT gateway, peering or
	// endpoint.
	ID        string `json:"id,omitempty"`
	ENI       string `json:"eni,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Direction string `json:"direction"` // "inbound" or "outbound"
	Protocol  int    `json:"protocol"`
	Src       string `json:"src"`
	SrcPort   int    `json:"src_port"`
	Dst       string `json:"dst"`
	DstPort   int    `json:"dst_port"`
	TCPFlags  uint8  `json:"tcp_flags,omitempty"`
	ICMPType  uint8  `json:"icmp_type,omitempty"`
	ICMPCode  uint8  `json:"icmp_code,omitempty"`
	Reason    string `json:"reason"` // Reason*
	// ACL and RuleNumber name the deciding NACL rule (32767/32768 = `*`);
	// Rule is its text ("deny tcp 32768-65535 0.0.0.0/0").
	ACL            string   `json:"acl_id,omitempty"`
	RuleNumber     int      `json:"rule_number,omitempty"`
	Rule           string   `json:"rule,omitempty"`
	SecurityGroups []string `json:"security_group_ids,omitempty"`
	Packets        uint64   `json:"packets"`
}

// DropPoint is "component:id:direction:code", the form rules.Path.Fate
// gives a drop (RA-7, RA-8).
func (d *Drop) DropPoint() string {
	id := d.ID
	switch d.Component {
	case "nacl":
		id = d.ACL
	case "sg":
		id = d.ENI
	}
	return rules.DropPoint{Component: d.Component, ID: id, Direction: d.Direction, Code: d.Reason}.String()
}

// Explain is the drop's reason in words, for `vpcemu drops`.
func (d *Drop) Explain() string {
	switch d.Component {
	case "route":
		if d.Reason == rules.CodeBadStateRoute {
			return fmt.Sprintf("the route to %s in %s is a blackhole: its target is gone or not usable (%s)", d.Dst, d.ID, d.Reason)
		}
		return fmt.Sprintf("%s has no route to %s (%s)", d.ID, d.Dst, d.Reason)
	case "subnet":
		return fmt.Sprintf("no ENI of %s holds %s (%s)", d.ID, d.Dst, d.Reason)
	case "eni":
		return fmt.Sprintf("the source/destination check of %s (%s)", d.ENI, d.Reason)
	case "igw", "eigw", "ngw", "pcx", "vpce":
		return fmt.Sprintf("dropped by %s (%s)", d.ID, d.Reason)
	}
	switch d.Reason {
	case ReasonACL:
		s := fmt.Sprintf("denied by %s rule %s", d.ACL, ruleNumberText(d.RuleNumber))
		if d.Rule != "" {
			s += " (" + d.Rule + ")"
		}
		return s
	case ReasonMalformed:
		return fmt.Sprintf("malformed headers, dropped by %s (%s)", d.ACL, d.Reason)
	case ReasonSGMismatch, ReasonSGNoRules:
		sgs := strings.Join(d.SecurityGroups, ", ")
		if sgs == "" {
			sgs = "its security groups"
		}
		return fmt.Sprintf("no rule of %s admits it (%s)", sgs, d.Reason)
	case ReasonAllowance:
		return fmt.Sprintf("the ENI's conntrack allowance is used up (%s)", d.Reason)
	case ReasonUnrecorded:
		return fmt.Sprintf("dropped, details lost: the datapath's event ring buffer was full (%s)", d.Reason)
	}
	return d.Reason
}

func ruleNumberText(n int) string {
	if n >= rules.NACLDefaultRuleIPv4 {
		return "*"
	}
	return strconv.Itoa(n)
}

// Drops is where the daemon records every drop the datapath reports.
func (p Paths) Drops() string { return filepath.Join(p.Data, "drops.jsonl") }

func parseDrop(line []byte) (Drop, error) {
	var d Drop
	err := json.Unmarshal(line, &d)
	return d, err
}

// dropPump turns the NACL and SG ring-buffer events into drops.jsonl
// lines while the topology is up. Repeated drops of one flow for one reason
// are counted into one line per second of the datapath's clock: a flood of
// a million packets a second costs a line per second, not a million, and
// the counts stay exact. Events the datapath could not queue are counted
// too (UNRECORDED lines), so the lines always add up to every drop.
type dropPump struct {
	log    *slog.Logger
	obs    *observers
	topo   func() *vpc.Topology
	nacl   *loader.NACL
	sg     *loader.SG
	toWall time.Duration // add to a CLOCK_MONOTONIC timestamp

	mu      sync.Mutex // guards pending (the readers add to it: held briefly)
	pending map[dropKey]*dropWindow

	fileMu   sync.Mutex // guards what follows: writing lines
	file     *dropsFile
	failing  bool              // the last write failed (logged once per failing streak)
	sgLost   map[uint32]uint64 // per ENI index: events lost already recorded
	naclLost uint64
	lastLost time.Time

	eniMu   sync.Mutex // guards the ENI cache
	eniTopo *vpc.Topology
	eniOf   map[uint32]*vpc.Instance

	dp      *loader.Datapath // names routing and gateway drops
	ringMu  sync.Mutex       // guards readers and rings
	readers []*ringbuf.Reader
	rings   map[string]*ringbuf.Reader // the gateways' rings, by gateway id
	wg      sync.WaitGroup             // the readers
	tickWG  sync.WaitGroup
	done    chan struct{}
}

// dropKey identifies a window: one flow, place and reason (the event with
// its time, counts and TCP flags zeroed) and the second of its drops.
type dropKey struct {
	from dropSource
	sg   loader.SGEvent
	nacl loader.NACLEvent
	path loader.PathEvent
	sec  uint64
}

// dropSource is which kind of event a window counts.
type dropSource int

const (
	fromSG dropSource = iota
	fromNACL
	fromPath // routing or a gateway
)

type dropWindow struct {
	first   uint64 // ns of the first drop
	packets uint64
	flags   uint8
}

const (
	// A window is written this long after its second ended, so that
	// events still in the ring buffers join it.
	dropWindowGrace = 250 * time.Millisecond
	// More open windows than this (a scan of many flows) are written at
	// once, so that memory stays bounded; a window may then take 2 lines.
	maxDropWindows = 1 << 16
)

// startDrops starts reading both ring buffers into paths.Drops().
func startDrops(paths Paths, d *datapath, topo func() *vpc.Topology, obs *observers, opts Options, log *slog.Logger) (*dropPump, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("drop events: read monotonic clock: %w", err)
	}
	if err := os.MkdirAll(paths.Data, 0o755); err != nil {
		return nil, fmt.Errorf("drop events: %w", err)
	}
	file, err := openDropsFile(paths.Drops(), opts.DropsFileSize, opts.DropsFilesKept)
	if err != nil {
		return nil, fmt.Errorf("drop events: %w", err)
	}
	p := &dropPump{log: log, obs: obs, topo: topo, nacl: d.nacl, sg: d.sg, dp: d.dp, file: file, pending: map[dropKey]*dropWindow{},
		sgLost: map[uint32]uint64{}, toWall: time.Duration(time.Now().UnixNano() - ts.Nano()), done: make(chan struct{}),
		rings: map[string]*ringbuf.Reader{}}
	// Losses before this run are not this run's drops.
	if err := p.recordLost(true); err != nil {
		file.close()
		return nil, fmt.Errorf("drop events: %w", err)
	}
	for _, m := range []*ebpf.Map{d.nacl.Events(), d.sg.Events()} {
		if err := p.watch("", m); err != nil {
			p.stop()
			return nil, err
		}
	}
	if err := p.watchGateways(); err != nil {
		p.stop()
		return nil, err
	}
	p.tickWG.Add(1)
	go p.tick()
	return p, nil
}

// watch starts reading ring buffer m (a gateway's, named id; "" for the
// NACL's and SG's, read for the pump's whole life).
func (p *dropPump) watch(id string, m *ebpf.Map) error {
	r, err := ringbuf.NewReader(m)
	if err != nil {
		return fmt.Errorf("drop events: %w", err)
	}
	p.ringMu.Lock()
	p.readers = append(p.readers, r)
	if id != "" {
		p.rings[id] = r
	}
	p.ringMu.Unlock()
	p.wg.Add(1)
	go p.run(r)
	return nil
}

// watchGateways reads the rings of the internet and NAT gateways the
// datapath has now and no reader watches yet (a NAT gateway added live).
func (p *dropPump) watchGateways() error {
	if p.dp == nil {
		return nil
	}
	for id, m := range p.dp.EventRings() {
		p.ringMu.Lock()
		_, ok := p.rings[id]
		p.ringMu.Unlock()
		if !ok {
			if err := p.watch(id, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// unwatch stops reading gateway id's ring (its gateway is going).
func (p *dropPump) unwatch(id string) {
	p.ringMu.Lock()
	r := p.rings[id]
	delete(p.rings, id)
	p.readers = slices.DeleteFunc(p.readers, func(x *ringbuf.Reader) bool { return x == r })
	p.ringMu.Unlock()
	if r != nil {
		_ = r.Flush()
		_ = r.Close()
	}
}

func (p *dropPump) run(r *ringbuf.Reader) {
	defer p.wg.Done()
	var rec ringbuf.Record
	for {
		if err := r.ReadInto(&rec); err != nil {
			// ErrFlushed: stop drained what was there; ErrClosed: never started.
			if !errors.Is(err, ringbuf.ErrFlushed) && !errors.Is(err, ringbuf.ErrClosed) {
				p.log.Warn("drop events: read ring buffer", "err", err)
			}
			return
		}
		if err := p.add(rec.RawSample); err != nil {
			p.log.Warn("drop events: skipped a record", "err", err)
		}
	}
}

// add counts one event into its window.
func (p *dropPump) add(b []byte) error {
	var k dropKey
	var ns uint64
	var packets uint32
	var flags uint8
	kind, err := loader.EventKind(b)
	if err != nil {
		return err
	}
	switch kind {
	case loader.EventNACL:
		ev, err := loader.DecodeNACLEvent(b)
		if err != nil {
			return err
		}
		ns, packets, flags = ev.TimeNs, ev.Packets, ev.TCPFlags
		ev.TimeNs, ev.Packets, ev.Bytes, ev.TCPFlags = 0, 0, 0, 0
		k.from, k.nacl = fromNACL, ev
	case loader.EventSG:
		ev, err := loader.DecodeSGEvent(b)
		if err != nil {
			return err
		}
		ns, packets, flags = ev.TimeNs, ev.Packets, ev.TCPFlags
		ev.TimeNs, ev.Packets, ev.Bytes, ev.TCPFlags = 0, 0, 0, 0
		k.from, k.sg = fromSG, ev
	default:
		if p.dp == nil {
			return fmt.Errorf("drop event of kind %d without a routing datapath", kind)
		}
		ev, err := p.dp.DecodePathEvent(b)
		if err != nil {
			return err
		}
		ns, packets, flags = ev.TimeNs, ev.Packets, ev.TCPFlags
		ev.TimeNs, ev.Packets, ev.Bytes, ev.TCPFlags = 0, 0, 0, 0
		k.from, k.path = fromPath, ev
	}
	k.sec = ns / uint64(time.Second)
	p.mu.Lock()
	var full []windowDone
	w := p.pending[k]
	if w == nil {
		if len(p.pending) >= maxDropWindows {
			full = p.takeWindows(^uint64(0))
		}
		w = &dropWindow{first: ns}
		p.pending[k] = w
	}
	w.packets += uint64(packets)
	w.flags |= flags
	p.mu.Unlock()
	if full != nil {
		p.fileMu.Lock()
		p.writeWindows(full)
		p.fileMu.Unlock()
	}
	return nil
}

// tick writes the windows that ended, and records lost events, until stop.
func (p *dropPump) tick() {
	defer p.tickWG.Done()
	t := time.NewTicker(dropWindowGrace)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		now, err := monoNow()
		if err != nil {
			p.log.Warn("drop events: read monotonic clock", "err", err)
			continue
		}
		p.mu.Lock()
		ended := p.takeWindows(uint64(now - dropWindowGrace))
		p.mu.Unlock()
		p.fileMu.Lock()
		p.writeWindows(ended)
		if time.Since(p.lastLost) >= time.Second {
			if err := p.recordLost(false); err != nil {
				p.log.Warn("drop events: read lost-event counters", "err", err)
			}
		}
		p.flushLocked()
		p.fileMu.Unlock()
	}
}

func monoNow() (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}

type windowDone struct {
	k dropKey
	w *dropWindow
}

// takeWindows removes and returns, in time order, the windows whose second
// ended before ns (CLOCK_MONOTONIC). p.mu is held.
func (p *dropPump) takeWindows(ns uint64) []windowDone {
	var out []windowDone
	for k, w := range p.pending {
		if (k.sec+1)*uint64(time.Second) <= ns {
			out = append(out, windowDone{k, w})
			delete(p.pending, k)
		}
	}
	slices.SortFunc(out, func(a, b windowDone) int { return cmp.Compare(a.w.first, b.w.first) })
	return out
}

// writeWindows writes a line per window. p.fileMu is held.
func (p *dropPump) writeWindows(ws []windowDone) {
	for _, o := range ws {
		var d Drop
		switch o.k.from {
		case fromNACL:
			ev := o.k.nacl
			ev.TimeNs, ev.TCPFlags = o.w.first, o.w.flags
			d = p.naclDrop(ev)
		case fromSG:
			ev := o.k.sg
			ev.TimeNs, ev.TCPFlags = o.w.first, o.w.flags
			d = p.sgDrop(ev)
		default:
			ev := o.k.path
			ev.TimeNs, ev.TCPFlags = o.w.first, o.w.flags
			d = p.pathDrop(ev)
		}
		d.Packets = o.w.packets
		p.writeLocked(&d)
	}
}

// recordLost writes an UNRECORDED line for every ENI (and the NACLs) whose
// datapath lost events since the last call; initial only takes the counts.
// p.fileMu is held (or the pump not started).
func (p *dropPump) recordLost(initial bool) error {
	p.lastLost = time.Now()
	st, err := p.nacl.Stats()
	if err != nil {
		return err
	}
	byENI, err := p.sg.EventsLostByENI()
	if err != nil {
		return err
	}
	if d := st.EventsLost - p.naclLost; d > 0 && !initial {
		p.writeLocked(&Drop{Time: time.Now().UTC(), Component: "nacl", Reason: ReasonUnrecorded, Packets: d})
	}
	p.naclLost = st.EventsLost
	idxs := slices.Sorted(maps.Keys(byENI))
	for _, idx := range idxs {
		n := byENI[idx]
		if d := n - p.sgLost[idx]; d > 0 && !initial {
			dr := Drop{Time: time.Now().UTC(), Component: "sg", Reason: ReasonUnrecorded, Packets: d}
			if in := p.instanceByENIIndex(idx); in != nil {
				dr.ENI, dr.Instance, dr.SecurityGroups = in.ENI.ID, in.ID, in.SecurityGroups
			}
			p.writeLocked(&dr)
		}
		p.sgLost[idx] = n
	}
	return nil
}

func (p *dropPump) writeLocked(d *Drop) {
	b, err := json.Marshal(d)
	if err != nil {
		return
	}
	p.noteWrite(p.file.writeLine(append(b, '\n')))
	p.obs.drop(d)
}

func (p *dropPump) flushLocked() { p.noteWrite(p.file.flush()) }

// noteWrite logs the first error of a failing streak; recording goes on
// (a full disk may get room again).
func (p *dropPump) noteWrite(err error) {
	switch {
	case err != nil && !p.failing:
		p.failing = true
		p.log.Warn("drop events: cannot write the drops file, trying again with the next drop", "err", err)
	case err == nil && p.failing:
		p.failing = false
		p.log.Info("drop events: writing the drops file again")
	}
}

// stop drains what the ring buffers hold, writes every window and the
// last lost counts, then closes the file. The datapath must still be loaded.
func (p *dropPump) stop() error {
	p.ringMu.Lock()
	readers := p.readers
	p.readers, p.rings = nil, map[string]*ringbuf.Reader{}
	p.ringMu.Unlock()
	for _, r := range readers {
		_ = r.Flush()
	}
	p.wg.Wait()
	close(p.done)
	p.tickWG.Wait()
	var errs []error
	for _, r := range readers {
		errs = append(errs, r.Close())
	}
	p.mu.Lock()
	rest := p.takeWindows(^uint64(0))
	p.mu.Unlock()
	p.fileMu.Lock()
	defer p.fileMu.Unlock()
	if p.file != nil {
		p.writeWindows(rest)
		errs = append(errs, p.recordLost(false))
		errs = append(errs, p.file.close())
		p.file = nil
	}
	return errors.Join(errs...)
}

func (p *dropPump) wall(ns uint64) time.Time {
	return time.Unix(0, int64(ns)+int64(p.toWall)).UTC()
}

func direction(inbound bool) string {
	if inbound {
		return "inbound"
	}
	return "outbound"
}

// base fills what NACL and SG drops share.
func (p *dropPump) base(component string, ns uint64, inbound bool, proto uint8, src, dst netip.AddrPort, flags, typ, code uint8) Drop {
	return Drop{Time: p.wall(ns), Component: component, Direction: direction(inbound), Protocol: int(proto),
		Src: src.Addr().String(), SrcPort: int(src.Port()), Dst: dst.Addr().String(), DstPort: int(dst.Port()),
		TCPFlags: flags, ICMPType: typ, ICMPCode: code}
}

func (p *dropPump) naclDrop(ev loader.NACLEvent) Drop {
	inbound := !ev.Egress
	d := p.base("nacl", ev.TimeNs, inbound, ev.Protocol, ev.Src, ev.Dst, ev.TCPFlags, ev.ICMPType, ev.ICMPCode)
	t := p.topo()
	// Inbound traffic is for an instance of the subnet, outbound from one.
	who := ev.Dst.Addr()
	if !inbound {
		who = ev.Src.Addr()
	}
	if in := instanceByAddr(t, who); in != nil {
		d.ENI, d.Instance = in.ENI.ID, in.ID
	}
	d.ACL = p.nacl.ACLID(ev.ACL)
	switch ev.Reason {
	case loader.NACLReasonMalformed:
		d.Reason = ReasonMalformed
	default:
		d.Reason = ReasonACL
		d.RuleNumber = ev.Rule
		d.Rule = naclRuleText(t, d.ACL, inbound, ev.Rule)
	}
	return d
}

func (p *dropPump) sgDrop(ev loader.SGEvent) Drop {
	d := p.base("sg", ev.TimeNs, ev.Inbound, ev.Protocol, ev.Src, ev.Dst, ev.TCPFlags, ev.ICMPType, ev.ICMPCode)
	if in := p.instanceByENIIndex(ev.ENI); in != nil {
		d.ENI, d.Instance, d.SecurityGroups = in.ENI.ID, in.ID, in.SecurityGroups
	}
	switch ev.Code {
	case loader.SGDropSourceDestCheck:
		d.Component, d.ID, d.Reason, d.SecurityGroups = "eni", d.ENI, rules.CodeSourceDestCheck, nil
	case loader.SGDropRulesMismatch:
		d.Reason = ReasonSGMismatch
	case loader.SGDropNoRules:
		d.Reason = ReasonSGNoRules
	case loader.SGDropAllowance:
		d.Reason = ReasonAllowance
	default:
		d.Reason = loader.SGDropCodeName(ev.Code)
	}
	return d
}

// pathDrop is a drop by routing or a gateway.
func (p *dropPump) pathDrop(ev loader.PathEvent) Drop {
	d := p.base(ev.Component, ev.TimeNs, ev.Inbound, ev.Protocol, ev.Src, ev.Dst, ev.TCPFlags, ev.ICMPType, ev.ICMPCode)
	d.ID, d.Reason = ev.ID, ev.Code
	who := ev.Src.Addr()
	if ev.Inbound {
		who = ev.Dst.Addr()
	}
	if in := instanceByAddr(p.topo(), who); in != nil {
		d.ENI, d.Instance = in.ENI.ID, in.ID
	}
	return d
}

// instanceByENIIndex maps an SG datapath index to its instance, rebuilding
// the map when the topology changed (apply may change SG lists).
func (p *dropPump) instanceByENIIndex(idx uint32) *vpc.Instance {
	t := p.topo()
	p.eniMu.Lock()
	defer p.eniMu.Unlock()
	if p.eniTopo != t {
		p.eniTopo, p.eniOf = t, map[uint32]*vpc.Instance{}
		for i := range t.Instances {
			if x, err := p.sg.ENIIndex(t.Instances[i].ENI.ID); err == nil {
				p.eniOf[x] = &t.Instances[i]
			}
		}
	}
	return p.eniOf[idx]
}

func instanceByAddr(t *vpc.Topology, a netip.Addr) *vpc.Instance {
	for i, in := range t.Instances {
		if in.PrivateIP == a || (in.IPv6.IsValid() && in.IPv6 == a) || (in.PublicIP.IsValid() && in.PublicIP == a) {
			return &t.Instances[i]
		}
	}
	return nil
}

// naclRuleText writes rule number of aclID's table as the file would
// ("deny tcp 32768-65535 0.0.0.0/0"); `*` is "deny all". Rule numbers are
// unique per direction whatever the address family.
func naclRuleText(t *vpc.Topology, aclID string, inbound bool, number int) string {
	if number >= rules.NACLDefaultRuleIPv4 {
		return "deny all"
	}
	for _, acl := range t.NetworkACLs {
		if acl.ID != aclID {
			continue
		}
		tab := acl.Egress
		if inbound {
			tab = acl.Ingress
		}
		for _, r := range tab {
			if r.Number != number {
				continue
			}
			action := "deny"
			if r.Allow {
				action = "allow"
			}
			s := action + " " + vpc.ProtocolName(r.Protocol)
			switch r.Protocol {
			case vpc.ProtoTCP, vpc.ProtoUDP:
				s += " " + r.Ports.String()
			case vpc.ProtoICMP, vpc.ProtoICMPv6:
				s += fmt.Sprintf(" type %d code %d", r.ICMPType, r.ICMPCode)
			}
			return s + " " + r.CIDR.String()
		}
	}
	return ""
}

// eventsLost is how many drop events the NACL and SG programs could not queue.
func (d *datapath) eventsLost() uint64 {
	var n uint64
	if st, err := d.nacl.Stats(); err == nil {
		n += st.EventsLost
	}
	if sg, err := d.sg.EventsLost(); err == nil {
		n += sg
	}
	return n
}
