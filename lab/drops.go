package lab

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// MaxDropsFileSize is where drops.jsonl stops growing: a flood of drops (a
// port scan against a deny-all NACL) must not fill the disk.
const MaxDropsFileSize = 50 << 20

// Drop reasons in Reachability Analyzer terms (spec RA-7).
const (
	ReasonACL        = "SUBNET_ACL_RESTRICTION"
	ReasonSGMismatch = "ENI_SG_RULES_MISMATCH"
	ReasonSGNoRules  = "SG_HAS_NO_RULES"
	ReasonAllowance  = "CONNTRACK_ALLOWANCE_EXCEEDED"
	ReasonMalformed  = "MALFORMED"
)

// Drop is one dropped packet (or GSO batch) as recorded in drops.jsonl.
type Drop struct {
	Time      time.Time `json:"time"`
	Component string    `json:"component"` // "nacl" or "sg"
	ENI       string    `json:"eni,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	Direction string    `json:"direction"` // "inbound" or "outbound"
	Protocol  int       `json:"protocol"`
	Src       string    `json:"src"`
	SrcPort   int       `json:"src_port"`
	Dst       string    `json:"dst"`
	DstPort   int       `json:"dst_port"`
	TCPFlags  uint8     `json:"tcp_flags,omitempty"`
	ICMPType  uint8     `json:"icmp_type,omitempty"`
	ICMPCode  uint8     `json:"icmp_code,omitempty"`
	Reason    string    `json:"reason"` // Reason*
	// ACL and RuleNumber name the deciding NACL rule (32767/32768 = `*`);
	// Rule is its text ("deny tcp 32768-65535 0.0.0.0/0").
	ACL            string   `json:"acl_id,omitempty"`
	RuleNumber     int      `json:"rule_number,omitempty"`
	Rule           string   `json:"rule,omitempty"`
	SecurityGroups []string `json:"security_group_ids,omitempty"`
	Packets        uint32   `json:"packets"`
}

// Explain is the drop's reason in words, for `vpcemu drops`.
func (d *Drop) Explain() string {
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
	}
	return d.Reason
}

func ruleNumberText(n int) string {
	if n >= 32767 {
		return "*"
	}
	return strconv.Itoa(n)
}

// Drops is where the daemon records every drop the datapath reports.
func (p Paths) Drops() string { return filepath.Join(p.Data, "drops.jsonl") }

// ReadDrops returns the drops recorded in file from byte offset on, and the
// offset after the last complete line (a line being written is left for
// the next read).
func ReadDrops(file string, offset int64) ([]Drop, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, offset, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, offset, fmt.Errorf("read %s: %w", file, err)
	}
	r := bufio.NewReader(f)
	var out []Drop
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, offset, nil
			}
			return out, offset, fmt.Errorf("read %s: %w", file, err)
		}
		var d Drop
		if err := json.Unmarshal(line, &d); err != nil {
			return out, offset, fmt.Errorf("%s at byte %d: %w", file, offset, err)
		}
		out = append(out, d)
		offset += int64(len(line))
	}
}

// dropPump turns the NACL and SG ring-buffer events into drops.jsonl lines
// while the topology is up.
type dropPump struct {
	log    *slog.Logger
	obs    *observers
	topo   func() *vpc.Topology
	nacl   *loader.NACL
	sg     *loader.SG
	toWall time.Duration // add to a CLOCK_MONOTONIC timestamp

	mu      sync.Mutex // guards the file and the ENI cache
	f       *os.File
	w       *bufio.Writer // flushed whenever a ring buffer is empty
	size    int64
	full    bool
	eniTopo *vpc.Topology
	eniOf   map[uint32]*vpc.Instance

	readers []*ringbuf.Reader
	wg      sync.WaitGroup
}

// startDrops starts reading both ring buffers into paths.Drops().
func startDrops(paths Paths, d *datapath, topo func() *vpc.Topology, obs *observers, log *slog.Logger) (*dropPump, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return nil, fmt.Errorf("drop events: read monotonic clock: %w", err)
	}
	if err := os.MkdirAll(paths.Data, 0o755); err != nil {
		return nil, fmt.Errorf("drop events: %w", err)
	}
	f, err := os.OpenFile(paths.Drops(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("drop events: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("drop events: %w", err)
	}
	p := &dropPump{log: log, obs: obs, topo: topo, nacl: d.nacl, sg: d.sg, f: f, w: bufio.NewWriterSize(f, 64<<10), size: fi.Size(),
		toWall: time.Duration(time.Now().UnixNano() - ts.Nano())}
	for _, src := range []struct {
		m      *ebpf.Map
		decode func([]byte) (Drop, error)
	}{{d.nacl.Events(), p.naclDrop}, {d.sg.Events(), p.sgDrop}} {
		r, err := ringbuf.NewReader(src.m)
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("drop events: %w", err)
		}
		p.readers = append(p.readers, r)
		p.wg.Add(1)
		go p.run(r, src.decode)
	}
	return p, nil
}

func (p *dropPump) run(r *ringbuf.Reader, decode func([]byte) (Drop, error)) {
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
		d, err := decode(rec.RawSample)
		if err != nil {
			p.log.Warn("drop events: skipped a record", "err", err)
			continue
		}
		p.write(&d)
		p.obs.drop(&d)
		// One write(2) per burst, not per drop; `drops -f` sees a burst
		// as soon as the ring has no more of it.
		if r.AvailableBytes() == 0 {
			p.flush()
		}
	}
}

func (p *dropPump) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil || p.w.Buffered() == 0 {
		return
	}
	if err := p.w.Flush(); err != nil && !p.full {
		p.full = true
		p.log.Warn("drop events: write failed, not recording more drops", "err", err)
	}
}

func (p *dropPump) write(d *Drop) {
	b, err := json.Marshal(d)
	if err != nil {
		return
	}
	b = append(b, '\n')
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.full || p.f == nil {
		return
	}
	if p.size+int64(len(b)) > MaxDropsFileSize {
		p.full = true
		p.log.Warn("drop events: drops file is full, not recording more drops", "file", p.f.Name(), "limit_bytes", MaxDropsFileSize)
		return
	}
	n, err := p.w.Write(b)
	p.size += int64(n)
	if err != nil {
		p.full = true
		p.log.Warn("drop events: write failed, not recording more drops", "err", err)
	}
}

// stop drains what the ring buffers hold, then closes the file. The
// datapath must still be loaded.
func (p *dropPump) stop() error {
	for _, r := range p.readers {
		_ = r.Flush()
	}
	p.wg.Wait()
	var errs []error
	for _, r := range p.readers {
		errs = append(errs, r.Close())
	}
	p.readers = nil
	p.mu.Lock()
	if p.f != nil {
		errs = append(errs, p.w.Flush(), p.f.Close())
		p.f = nil
	}
	p.mu.Unlock()
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
func (p *dropPump) base(component string, ns uint64, inbound bool, proto uint8, src, dst netip.AddrPort, flags, typ, code uint8, packets uint32) Drop {
	return Drop{Time: p.wall(ns), Component: component, Direction: direction(inbound), Protocol: int(proto),
		Src: src.Addr().String(), SrcPort: int(src.Port()), Dst: dst.Addr().String(), DstPort: int(dst.Port()),
		TCPFlags: flags, ICMPType: typ, ICMPCode: code, Packets: packets}
}

func (p *dropPump) naclDrop(b []byte) (Drop, error) {
	ev, err := loader.DecodeNACLEvent(b)
	if err != nil {
		return Drop{}, err
	}
	inbound := !ev.Egress
	d := p.base("nacl", ev.TimeNs, inbound, ev.Protocol, ev.Src, ev.Dst, ev.TCPFlags, ev.ICMPType, ev.ICMPCode, ev.Packets)
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
	return d, nil
}

func (p *dropPump) sgDrop(b []byte) (Drop, error) {
	ev, err := loader.DecodeSGEvent(b)
	if err != nil {
		return Drop{}, err
	}
	d := p.base("sg", ev.TimeNs, ev.Inbound, ev.Protocol, ev.Src, ev.Dst, ev.TCPFlags, ev.ICMPType, ev.ICMPCode, ev.Packets)
	if in := p.instanceByENIIndex(ev.ENI); in != nil {
		d.ENI, d.Instance, d.SecurityGroups = in.ENI.ID, in.ID, in.SecurityGroups
	}
	switch ev.Code {
	case loader.SGDropRulesMismatch:
		d.Reason = ReasonSGMismatch
	case loader.SGDropNoRules:
		d.Reason = ReasonSGNoRules
	case loader.SGDropAllowance:
		d.Reason = ReasonAllowance
	default:
		d.Reason = loader.SGDropCodeName(ev.Code)
	}
	return d, nil
}

// instanceByENIIndex maps an SG datapath index to its instance, rebuilding
// the map when the topology changed (apply may change SG lists).
func (p *dropPump) instanceByENIIndex(idx uint32) *vpc.Instance {
	t := p.topo()
	p.mu.Lock()
	defer p.mu.Unlock()
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
	if number >= 32767 {
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
