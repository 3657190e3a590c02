package rules

import (
	"net/netip"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Timeouts vpcemu chooses where AWS publishes none (SG-35, SG-36, OQ-1).
const (
	TimeoutTCPSynSent = 60 * time.Second  // half-open: SYN seen, no reply yet
	TimeoutTCPClosing = 120 * time.Second // after FIN or RST in either direction
	TimeoutICMP       = 60 * time.Second
	TimeoutOther      = 600 * time.Second // protocols other than TCP/UDP/ICMP (SG-21)
)

// SGVerdict is the security-group decision for one packet at one ENI,
// connection tracking included.
type SGVerdict struct {
	Allow   bool
	Tracked bool   // the packet belongs to (or created) a tracked flow
	ByState bool   // admitted by an existing tracking entry, not by rules
	Reason  string // deny: an explanation code; allow: "tracked", "untracked" or "state"
	Match   SGMatch
}

// Reasons of allowing verdicts.
const (
	ReasonTracked   = "tracked"   // rules admitted it and created a tracking entry
	ReasonUntracked = "untracked" // rules admitted it; SG-23 flow, no entry
	ReasonState     = "state"     // an existing tracking entry admitted it
	ReasonFragment  = "fragment"  // a later fragment admitted by rules (no state)
	ReasonBypass    = "bypass"    // not judged, not tracked (SGBypass)
)

type ctKind uint8

const (
	ctL4    ctKind = iota // TCP/UDP 5-tuple
	ctEcho                // ICMP/ICMPv6 echo: identifier
	ctICMP                // other ICMP: type
	ctOther               // address pair + protocol
)

// ctKey is oriented as the packet that is looked up; entries are stored
// under the orientation of their initiating packet.
type ctKey struct {
	eni        *ctENI
	proto      int
	kind       ctKind
	src, dst   netip.Addr
	sport, dpt int
}

type ctState uint8

const (
	stSynSent ctState = iota
	stEstablished
	stClosing
	stUDP
	stICMP
	stOther
)

type ctEntry struct {
	state    ctState
	expires  time.Duration
	lastOrig bool // UDP: the previous packet went in the original direction
	pairs    int  // UDP: request-response exchanges seen
}

// Conntrack is vpcemu's security-group connection tracking as a pure state
// machine: time is passed in, so tests drive it with a fake clock. Entries
// are per ENI (SG-21 keys); timeouts follow SG-34..36 with each instance's
// configuration. It is not safe for concurrent use.
type Conntrack struct {
	t  *vpc.Topology
	sg *SGEvaluator
	ctConfig
	unknown  map[string]*ctENI // ids the configuration does not know, as packets named them
	entries  map[ctKey]*ctEntry
	count    map[*ctENI]int
	exceeded map[*ctENI]uint64
}

// NewConntrack starts an empty tracking table for the topology's ENIs,
// deciding new flows with sg.
func NewConntrack(t *vpc.Topology, sg *SGEvaluator) *Conntrack {
	return newConntrack(t, sg, newCTConfig(newView(t), sg))
}

func newConntrack(t *vpc.Topology, sg *SGEvaluator, cfg ctConfig) *Conntrack {
	return &Conntrack{t: t, sg: sg, ctConfig: cfg,
		unknown:  make(map[string]*ctENI),
		entries:  make(map[ctKey]*ctEntry),
		count:    make(map[*ctENI]int),
		exceeded: make(map[*ctENI]uint64),
	}
}

// ctENI is an ENI as tracking knows it: the id its entries and counters
// are kept under (the instance id for a primary ENI), its instance's
// tracking settings and its security groups' compiled rules (nil when
// the SG evaluator does not know it).
type ctENI struct {
	id    string
	cfg   vpc.Conntrack
	rules *eniRules
}

// ctConfig is what tracking needs of a topology's ENIs, by instance id
// and ENI id; never changed once made, so explainers share one.
type ctConfig struct {
	enis map[string]*ctENI
}

func newCTConfig(v *view, sg *SGEvaluator) ctConfig {
	c := ctConfig{enis: make(map[string]*ctENI)}
	for _, e := range v.enis {
		if e.Inst == nil {
			continue
		}
		// An instance's settings hold for each of its ENIs; entries of a
		// primary ENI are kept under the instance id.
		id := e.ctID()
		ce := &ctENI{id: id, cfg: conntrackConfig(e.Inst.Conntrack), rules: sg.enis[id]}
		c.enis[id] = ce
		if e.ENI.ID != "" {
			c.enis[e.ENI.ID] = ce
		}
	}
	return c
}

// eni is the tracking identity of an instance or ENI id; an id the
// topology does not have is tracked under itself, with default settings.
func (c *Conntrack) eni(id string) *ctENI {
	if e := c.enis[id]; e != nil {
		return e
	}
	e := c.unknown[id]
	if e == nil {
		e = &ctENI{id: id, rules: c.sg.enis[id]}
		c.unknown[id] = e
	}
	return e
}

// known is eni for queries: nil for an id no packet has named.
func (c *Conntrack) known(id string) *ctENI {
	if e := c.enis[id]; e != nil {
		return e
	}
	return c.unknown[id]
}

// SetTopology applies changed rules: tracked entries survive and keep
// admitting their flows until idle (SG-27); untracked flows and new flows
// are judged by the new rules from the next packet on (SG-28).
func (c *Conntrack) SetTopology(t *vpc.Topology) {
	v := newView(t)
	c.t, c.sg = t, newSGEvaluator(v)
	c.ctConfig, c.unknown = newCTConfig(v, c.sg), make(map[string]*ctENI)
	// Entries and counters stay with their ENIs' ids.
	entries := make(map[ctKey]*ctEntry, len(c.entries))
	for k, e := range c.entries {
		k.eni = c.eni(k.eni.id)
		entries[k] = e
	}
	count, exceeded := make(map[*ctENI]int, len(c.count)), make(map[*ctENI]uint64, len(c.exceeded))
	for e, n := range c.count {
		count[c.eni(e.id)] += n
	}
	for e, n := range c.exceeded {
		exceeded[c.eni(e.id)] += n
	}
	c.entries, c.count, c.exceeded = entries, count, exceeded
}

// reset forgets every entry and counter, as NewConntrack starts.
func (c *Conntrack) reset() {
	clear(c.entries)
	clear(c.count)
	clear(c.exceeded)
}

func ctKeys(eni *ctENI, p *Packet) (fwd, rev ctKey) {
	fwd = ctKey{eni: eni, proto: p.Protocol, src: p.Src.Unmap(), dst: p.Dst.Unmap()}
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		fwd.kind, fwd.sport, fwd.dpt = ctL4, p.SrcPort, p.DstPort
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if isEcho(p) {
			fwd.kind, fwd.sport = ctEcho, p.ICMPID
		} else {
			fwd.kind, fwd.sport = ctICMP, p.ICMPType
		}
	default:
		fwd.kind = ctOther
	}
	rev = fwd
	rev.src, rev.dst = fwd.dst, fwd.src
	if fwd.kind == ctL4 {
		rev.sport, rev.dpt = fwd.dpt, fwd.sport
	}
	return fwd, rev
}

func isEcho(p *Packet) bool {
	if p.Protocol == vpc.ProtoICMP {
		return p.ICMPType == 8 || p.ICMPType == 0
	}
	return p.ICMPType == 128 || p.ICMPType == 129
}

// Process decides one packet at an ENI (instance or ENI id) in one direction
// at time now (egress=true: leaving the instance). Order (PATH-1): a live
// tracking entry admits; an expired one is dropped and never admits; else
// the rules decide (SGEvaluator.Match), and an admitted tracked flow gets a
// new entry if the ENI's allowance has room (else the packet is dropped with
// CONNTRACK_ALLOWANCE_EXCEEDED, SG-38). Untracked flows take no entry
// (SG-24). ICMP errors are never admitted as RELATED to a TCP/UDP entry
// (SG-19). Non-first fragments carry no ports: they are judged by rules
// alone and create no entry. Packets SGBypass names pass unjudged first.
func (c *Conntrack) Process(now time.Duration, instanceID string, egress bool, p Packet) SGVerdict {
	if SGBypass(c.t, p) {
		return SGVerdict{Allow: true, Reason: ReasonBypass}
	}
	return c.process(now, instanceID, egress, p, true)
}

// process is Process after SGBypass (which the walk asks of its view);
// without refs, SG rules referencing groups do not admit new flows (the
// packet came through a forwarder: RT-22).
func (c *Conntrack) process(now time.Duration, instanceID string, egress bool, p Packet, refs bool) SGVerdict {
	eni := c.eni(instanceID)
	if p.Fragment == FragLater {
		m := eni.rules.match(egress, p, refs)
		if !m.Allowed {
			return SGVerdict{Reason: m.Code, Match: m}
		}
		return SGVerdict{Allow: true, Reason: ReasonFragment, Match: m}
	}
	fwd, rev := ctKeys(eni, &p)
	orig := true
	key := fwd
	e := c.entries[fwd]
	if e == nil {
		if e = c.entries[rev]; e != nil {
			orig, key = false, rev
		}
	}
	if e != nil {
		if now < e.expires {
			c.advance(e, eni, orig, now, &p)
			return SGVerdict{Allow: true, Tracked: true, ByState: true, Reason: ReasonState}
		}
		c.remove(key)
	}
	m := eni.rules.match(egress, p, refs)
	if !m.Allowed {
		return SGVerdict{Reason: m.Code, Match: m}
	}
	if m.Untracked {
		return SGVerdict{Allow: true, Reason: ReasonUntracked, Match: m}
	}
	if max := eni.cfg.MaxEntries; max > 0 && c.count[eni] >= max {
		c.collect(eni, now)
		if c.count[eni] >= max {
			c.exceeded[eni]++
			return SGVerdict{Tracked: true, Reason: CodeConntrackAllowanceExceeded, Match: m}
		}
	}
	ne := &ctEntry{lastOrig: true}
	switch fwd.kind {
	case ctL4:
		if p.Protocol == vpc.ProtoUDP {
			ne.state = stUDP
		} else {
			switch {
			case p.TCPFlags&(TCPFin|TCPRst) != 0:
				ne.state = stClosing
			case p.TCPFlags&TCPSyn != 0 && p.TCPFlags&TCPAck == 0:
				ne.state = stSynSent
			default:
				ne.state = stEstablished
			}
		}
	case ctEcho, ctICMP:
		ne.state = stICMP
	default:
		ne.state = stOther
	}
	ne.expires = now + c.timeout(ne, eni)
	c.entries[fwd] = ne
	c.count[eni]++
	return SGVerdict{Allow: true, Tracked: true, Reason: ReasonTracked, Match: m}
}

// advance moves an entry's state on a packet it admitted and restarts its
// idle timer. Every state's timeout is an idle timer (SG-34: "idle"), the
// closing one included: a retransmitted FIN keeps a closing entry alive.
func (c *Conntrack) advance(e *ctEntry, eni *ctENI, orig bool, now time.Duration, p *Packet) {
	switch e.state {
	case stSynSent, stEstablished, stClosing:
		switch {
		case p.TCPFlags&(TCPFin|TCPRst) != 0:
			e.state = stClosing
		case e.state == stSynSent && !orig:
			e.state = stEstablished
		}
	case stUDP:
		if !orig && e.lastOrig {
			e.pairs++
		}
		e.lastOrig = orig
	}
	e.expires = now + c.timeout(e, eni)
}

func (c *Conntrack) timeout(e *ctEntry, eni *ctENI) time.Duration {
	cfg := &eni.cfg
	switch e.state {
	case stSynSent:
		return TimeoutTCPSynSent
	case stEstablished:
		if cfg.TCPEstablished > 0 {
			return cfg.TCPEstablished
		}
		return vpc.DefaultConntrack.TCPEstablished
	case stClosing:
		return TimeoutTCPClosing
	case stUDP:
		// SG-34: more than one request-response exchange makes a stream.
		if e.pairs > 1 {
			if cfg.UDPStream > 0 {
				return cfg.UDPStream
			}
			return vpc.DefaultConntrack.UDPStream
		}
		if cfg.UDP > 0 {
			return cfg.UDP
		}
		return vpc.DefaultConntrack.UDP
	case stICMP:
		return TimeoutICMP
	}
	return TimeoutOther
}

func (c *Conntrack) remove(k ctKey) {
	if _, ok := c.entries[k]; ok {
		delete(c.entries, k)
		c.count[k.eni]--
	}
}

// collect drops the ENI's expired entries.
func (c *Conntrack) collect(eni *ctENI, now time.Duration) {
	for k, e := range c.entries {
		if k.eni == eni && now >= e.expires {
			c.remove(k)
		}
	}
}

// Expire drops every entry that is idle at now; Process does this lazily,
// so calling it only changes Len.
func (c *Conntrack) Expire(now time.Duration) {
	for k, e := range c.entries {
		if now >= e.expires {
			c.remove(k)
		}
	}
}

// Len is the number of tracking entries the instance (or ENI) holds,
// expired ones included until they are collected.
func (c *Conntrack) Len(instanceID string) int { return c.count[c.known(instanceID)] }

// Exceeded is the ENI's conntrack_allowance_exceeded counter: packets
// dropped because the tracking table was full (SG-38).
func (c *Conntrack) Exceeded(instanceID string) uint64 { return c.exceeded[c.known(instanceID)] }

// Available is the ENI's conntrack_allowance_available counter at now, or
// -1 when the allowance is unlimited.
func (c *Conntrack) Available(now time.Duration, instanceID string) int {
	eni := c.known(instanceID)
	if eni == nil || eni.cfg.MaxEntries <= 0 {
		return -1
	}
	c.collect(eni, now)
	if n := eni.cfg.MaxEntries - c.count[eni]; n > 0 {
		return n
	}
	return 0
}
