package rules

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// NAT gateway translation state (NGW-5..NGW-11) and egress-only internet
// gateway state (EIP-13, EIP-14) as pure state machines: time is passed in.

// NGW port range (NGW-6).
const (
	NATFirstPort = 1024
	NATLastPort  = 65535
)

// NATStats are a NAT gateway's CloudWatch counters the evaluator keeps
// (NGW-15, with the [INTERP] counting rules).
type NATStats struct {
	ErrorPortAllocation        uint64
	IdleTimeoutCount           uint64
	ConnectionAttemptCount     uint64 // mapping-creating TCP SYNs
	ConnectionEstablishedCount uint64 // SYN-ACKs forwarded back to a client
	PacketsDropCount           uint64
}

// natFlow is a client-side flow through a NAT gateway: protocol, client
// address and port (echo identifier for ICMP echo), destination and port.
type natFlow struct {
	ngw      string
	proto    int
	src      netip.Addr
	sport    int
	dst      netip.Addr
	dport    int
	fragment bool // UDP later fragments carry no ports
}

// natOutside is a translated flow as the far end sees it.
type natOutside struct {
	ngw    string
	proto  int
	addr   netip.Addr // the NAT gateway's address
	port   int
	remote netip.Addr
	rport  int
}

// natDest is the allocation key of NGW-6 [INTERP]: (NGW address, protocol,
// destination IP, destination port).
type natDest struct {
	ngw   string
	addr  netip.Addr
	proto int
	dst   netip.Addr
	dport int
}

// destPorts are the ports in use towards one destination; low is at or
// below the lowest free port (sequential allocation starts there).
type destPorts struct {
	ports map[int]*natMapping
	low   int
}

type natMapping struct {
	flow    natFlow
	out     natOutside
	last    time.Duration
	closing bool // FIN or RST seen: the port is freed after the closing timer
}

// NATTable holds every NAT gateway's mappings and counters.
type NATTable struct {
	fwd   map[natFlow]*natMapping
	rev   map[natOutside]*natMapping
	used  map[natDest]*destPorts
	src   *rand.PCG
	rnd   *rand.Rand
	stats map[string]*NATStats
}

// NewNATTable starts empty NAT state; random port choices (policy random,
// the default) come from a fixed seed so runs repeat.
func NewNATTable() *NATTable {
	src := rand.NewPCG(natSeed1, natSeed2)
	return &NATTable{fwd: map[natFlow]*natMapping{}, rev: map[natOutside]*natMapping{},
		used: map[natDest]*destPorts{}, src: src, rnd: rand.New(src), stats: map[string]*NATStats{}}
}

const natSeed1, natSeed2 = 1, 2

// reset empties the table as NewNATTable made it, seed included.
func (n *NATTable) reset() {
	clear(n.fwd)
	clear(n.rev)
	clear(n.used)
	clear(n.stats)
	n.src.Seed(natSeed1, natSeed2)
}

// Stats returns the NAT gateway's counters.
func (n *NATTable) Stats(ngw string) NATStats {
	if s := n.stats[ngw]; s != nil {
		return *s
	}
	return NATStats{}
}

func (n *NATTable) st(ngw string) *NATStats {
	s := n.stats[ngw]
	if s == nil {
		s = &NATStats{}
		n.stats[ngw] = s
	}
	return s
}

// Active is the number of live mappings of the NAT gateway at now.
func (n *NATTable) Active(now time.Duration, limits vpc.Limits, ngw string) int {
	c := 0
	for _, m := range n.fwd {
		if m.flow.ngw == ngw && !n.expired(m, now, limits) {
			c++
		}
	}
	return c
}

func natIdle(l vpc.Limits) time.Duration {
	if l.NATIdleTimeout > 0 {
		return l.NATIdleTimeout
	}
	return vpc.DefaultLimits.NATIdleTimeout
}

func natPerDest(l vpc.Limits) int {
	if l.NATConnectionsPerDestination > 0 {
		return l.NATConnectionsPerDestination
	}
	return vpc.DefaultLimits.NATConnectionsPerDestination
}

// expired: idle for the idle timeout (NGW-11), or closed and past the
// closing timer (SG-35's, NGW-11 [UNCONFIRMED]).
func (n *NATTable) expired(m *natMapping, now time.Duration, l vpc.Limits) bool {
	to := natIdle(l)
	if m.closing {
		to = min(to, TimeoutTCPClosing)
	}
	return now-m.last >= to
}

func (n *NATTable) remove(m *natMapping) {
	delete(n.fwd, m.flow)
	delete(n.rev, m.out)
	k := natDest{m.out.ngw, m.out.addr, m.out.proto, m.out.remote, m.out.rport}
	if d := n.used[k]; d != nil && d.ports[m.out.port] == m {
		delete(d.ports, m.out.port)
		d.low = min(d.low, m.out.port)
		if len(d.ports) == 0 {
			delete(n.used, k)
		}
	}
}

// natResult is what the NAT gateway does with a client's packet.
type natResult struct {
	out   Packet // the translated packet (when ok)
	ok    bool
	code  string // drop code
	reset bool   // idle-timed-out TCP: answer the client with a RST (NGW-11)
	fresh bool   // a new mapping
}

func natPorts(p *Packet) (sport, dport int) {
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		return p.SrcPort, p.DstPort
	case vpc.ProtoICMP:
		if p.ICMPType == 8 || p.ICMPType == 0 {
			return p.ICMPID, 0
		}
	}
	return 0, 0
}

// outbound translates a client's packet: an existing mapping keeps its
// address and port; else a port is allocated per NGW-6 (policy sequential:
// lowest free from 1024; random: uniform over the free ports) within the
// per-destination limit (NGW-7), or the packet is dropped with
// NGW_PORT_ALLOCATION_ERROR and ErrorPortAllocation counts it.
func (n *NATTable) outbound(now time.Duration, limits vpc.Limits, g *vpc.NATGateway, p Packet) natResult {
	st := n.st(g.ID)
	sport, dport := natPorts(&p)
	f := natFlow{ngw: g.ID, proto: p.Protocol, src: p.Src, sport: sport, dst: p.Dst, dport: dport}
	if p.Fragment == FragLater {
		// UDP later fragments (NGW-8): they follow their flow's mapping.
		for _, m := range n.fwd {
			if m.flow.ngw == g.ID && m.flow.proto == p.Protocol && m.flow.src == p.Src && m.flow.dst == p.Dst && !n.expired(m, now, limits) {
				m.last = now
				out := p
				out.Src = m.out.addr
				return natResult{out: out, ok: true}
			}
		}
		st.PacketsDropCount++
		return natResult{code: CodeNGWNoMapping}
	}
	m := n.fwd[f]
	if m != nil && n.expired(m, now, limits) {
		idle := !m.closing
		n.remove(m)
		m = nil
		if idle && p.Protocol == vpc.ProtoTCP && p.TCPFlags&TCPSyn == 0 {
			st.IdleTimeoutCount++
			st.PacketsDropCount++
			return natResult{code: CodeNGWNoMapping, reset: true}
		}
	}
	fresh := false
	if m == nil && !natStarts(&p) {
		st.PacketsDropCount++
		return natResult{code: CodeNGWNoMapping}
	}
	if m == nil {
		k := natDest{g.ID, g.PrivateIP.Unmap(), p.Protocol, p.Dst, dport}
		d := n.used[k]
		if d == nil {
			d = &destPorts{ports: map[int]*natMapping{}, low: NATFirstPort}
			n.used[k] = d
		}
		if len(d.ports) >= natPerDest(limits) {
			for _, old := range d.ports {
				if n.expired(old, now, limits) {
					n.remove(old)
				}
			}
			if n.used[k] == nil {
				n.used[k] = d
			}
		}
		if len(d.ports) >= natPerDest(limits) || len(d.ports) >= NATLastPort-NATFirstPort+1 {
			st.ErrorPortAllocation++
			st.PacketsDropCount++
			return natResult{code: CodeNGWPortAllocation}
		}
		port := n.allocate(g, d)
		m = &natMapping{flow: f, out: natOutside{ngw: g.ID, proto: p.Protocol, addr: g.PrivateIP.Unmap(), port: port, remote: p.Dst, rport: dport}}
		d.ports[port] = m
		n.fwd[f] = m
		n.rev[m.out] = m
		fresh = true
		if p.Protocol == vpc.ProtoTCP && p.TCPFlags&TCPSyn != 0 && p.TCPFlags&TCPAck == 0 {
			st.ConnectionAttemptCount++
		}
	}
	m.last = now
	if p.Protocol == vpc.ProtoTCP && p.TCPFlags&(TCPFin|TCPRst) != 0 {
		m.closing = true
	}
	out := p
	out.Src = m.out.addr
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		out.SrcPort = m.out.port
	case vpc.ProtoICMP:
		if p.ICMPType == 8 {
			out.ICMPID = m.out.port
		}
	}
	return natResult{out: out, ok: true, fresh: fresh}
}

// natStarts reports whether a client's packet may create a mapping: a TCP
// SYN, any UDP datagram, an ICMP echo request. A SYN-ACK, an echo reply or
// an ICMP error without a mapping (a reply routed asymmetrically through
// the NAT gateway) is dropped [INTERP NGW-9].
func natStarts(p *Packet) bool {
	switch p.Protocol {
	case vpc.ProtoTCP:
		return p.TCPFlags&TCPSyn != 0 && p.TCPFlags&TCPAck == 0
	case vpc.ProtoICMP:
		return p.ICMPType == 8
	}
	return true
}

func (n *NATTable) allocate(g *vpc.NATGateway, d *destPorts) int {
	if g.PortPolicy == "sequential" {
		for port := d.low; port <= NATLastPort; port++ {
			if d.ports[port] == nil {
				d.low = port + 1
				return port
			}
		}
	}
	for {
		port := NATFirstPort + n.rnd.IntN(NATLastPort-NATFirstPort+1)
		if d.ports[port] == nil {
			return port
		}
	}
}

// mapped reports whether addr:port is a live translated source of some
// NAT gateway mapping (for RA-9's REMAP_EPHEMERAL_PORT).
func (n *NATTable) mapped(proto int, addr netip.Addr, port int) bool {
	for o := range n.rev {
		if o.proto == proto && o.addr == addr && o.port == port {
			return true
		}
	}
	return false
}

// inbound maps a packet from the far end back to its client (NGW-5); a
// packet matching no live mapping is dropped (NGW-9, NGW_NO_MAPPING).
func (n *NATTable) inbound(now time.Duration, limits vpc.Limits, g *vpc.NATGateway, p Packet) natResult {
	st := n.st(g.ID)
	var o natOutside
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		o = natOutside{g.ID, p.Protocol, p.Dst, p.DstPort, p.Src, p.SrcPort}
	case vpc.ProtoICMP:
		if p.ICMPType != 0 {
			st.PacketsDropCount++
			return natResult{code: CodeNGWNoMapping}
		}
		o = natOutside{g.ID, p.Protocol, p.Dst, p.ICMPID, p.Src, 0}
	default:
		st.PacketsDropCount++
		return natResult{code: CodeNGWNoMapping}
	}
	m := n.rev[o]
	if m == nil || p.Fragment == FragLater || n.expired(m, now, limits) {
		if m != nil && n.expired(m, now, limits) {
			n.remove(m)
		}
		st.PacketsDropCount++
		return natResult{code: CodeNGWNoMapping}
	}
	m.last = now
	if p.Protocol == vpc.ProtoTCP {
		if p.TCPFlags&(TCPFin|TCPRst) != 0 {
			m.closing = true
		}
		if p.TCPFlags&TCPSyn != 0 && p.TCPFlags&TCPAck != 0 {
			st.ConnectionEstablishedCount++
		}
	}
	out := p
	out.Dst = m.flow.src
	switch p.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		out.DstPort = m.flow.sport
	case vpc.ProtoICMP:
		out.ICMPID = m.flow.sport
	}
	return natResult{out: out, ok: true}
}

// eigwKey is an egress-only gateway flow, oriented from inside.
type eigwKey struct {
	eigw         string
	proto        int
	in, out      netip.Addr
	inPort, port int
}

// EIGWTable is the egress-only internet gateways' state (EIP-13): flows
// started inside, with the initiating instance's tracking timeouts
// (EIP-14 [INTERP]).
type EIGWTable struct {
	flows map[eigwKey]time.Duration // expiry
}

// NewEIGWTable starts empty egress-only gateway state.
func NewEIGWTable() *EIGWTable { return &EIGWTable{flows: map[eigwKey]time.Duration{}} }

func (t *EIGWTable) reset() { clear(t.flows) }

func eigwKeyOf(id string, p Packet, outbound bool) eigwKey {
	sport, dport := natPorts(&p)
	if p.Protocol == vpc.ProtoICMPv6 && (p.ICMPType == 128 || p.ICMPType == 129) {
		sport = p.ICMPID
	}
	if outbound {
		return eigwKey{id, p.Protocol, p.Src, p.Dst, sport, dport}
	}
	if p.Protocol == vpc.ProtoICMPv6 {
		return eigwKey{id, p.Protocol, p.Dst, p.Src, sport, 0}
	}
	return eigwKey{id, p.Protocol, p.Dst, p.Src, dport, sport}
}

func eigwTimeout(cfg vpc.Conntrack, p Packet) time.Duration {
	switch p.Protocol {
	case vpc.ProtoTCP:
		switch {
		case p.TCPFlags&(TCPFin|TCPRst) != 0:
			return TimeoutTCPClosing
		case p.TCPFlags&TCPSyn != 0 && p.TCPFlags&TCPAck == 0:
			return TimeoutTCPSynSent
		}
		return cfg.TCPEstablished
	case vpc.ProtoUDP:
		return cfg.UDP
	case vpc.ProtoICMPv6:
		return TimeoutICMP
	}
	return TimeoutOther
}

func (e *EIGWTable) outbound(now time.Duration, id string, cfg vpc.Conntrack, p Packet) {
	e.flows[eigwKeyOf(id, p, true)] = now + eigwTimeout(cfg, p)
}

func (e *EIGWTable) inbound(now time.Duration, id string, cfg vpc.Conntrack, p Packet) bool {
	k := eigwKeyOf(id, p, false)
	exp, ok := e.flows[k]
	if !ok || now >= exp {
		delete(e.flows, k)
		return false
	}
	e.flows[k] = now + eigwTimeout(cfg, p)
	return true
}
