package intent

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Replayer judges recorded flow-log records against a new topology: which
// traffic that was accepted would the new rules drop? The old topology
// (the rules the records were written under) tells a request from a reply
// where the record alone cannot.
type Replayer struct {
	old, new *model
	cells    *cellIndex
	newMemo  map[cellKey]*verdictOf
	oldMemo  map[cellKey]oldVerdict
	cols     map[string]int
	last     []string
	res      ReplayResult
	conns    map[connKey]*BrokenFlow
	services map[netip.AddrPort]bool
	// o is the walks' storage; blocked remembers what blocking hops
	// name (most cells a change breaks stop at the same few rules).
	o       outcome
	blocked map[blockKey][]Rule
}

// ReplayResult is what a replay found.
type ReplayResult struct {
	Records  int `json:"records"`  // records read
	Accepted int `json:"accepted"` // ACCEPT records with flow fields
	Rejected int `json:"accepted_now_rejected"`
	// Broken are the connections with accepted records the new rules
	// would reject, most bytes first.
	Broken []BrokenFlow `json:"broken"`
	// Groups sum Broken by endpoints, protocol and server port.
	Groups []BrokenGroup `json:"groups"`
}

// BrokenFlow is one connection (client to server) the new rules break.
type BrokenFlow struct {
	Flow       Flow     `json:"flow"` // the request, client to server
	Verdict    string   `json:"verdict"`
	Rules      []Rule   `json:"rules"` // what drops it now
	Records    int      `json:"records"`
	Packets    int64    `json:"packets"` // of the records the new rules reject (one interface per direction)
	Bytes      int64    `json:"bytes"`
	Interfaces []string `json:"interfaces"`
	Start, End int64    `json:"-"`

	seen map[bool]string // direction -> the interface whose counts are summed
}

// BrokenGroup sums broken connections between the same endpoints on the
// same server port.
type BrokenGroup struct {
	From        string `json:"from"`
	To          string `json:"to"`
	Protocol    string `json:"protocol"`
	Port        int    `json:"port,omitempty"`
	Verdict     string `json:"verdict"`
	Rules       []Rule `json:"rules"`
	Connections int    `json:"connections"`
	Packets     int64  `json:"packets"`
	Bytes       int64  `json:"bytes"`
}

type connKey struct {
	src, dst     netip.Addr
	proto        int
	sport, dport int
}

// NewReplayer prepares a replay of records written under old against new.
func NewReplayer(old, new *vpc.Topology) *Replayer {
	r := &Replayer{old: newModel(old), new: newModel(new), conns: map[connKey]*BrokenFlow{}, services: map[netip.AddrPort]bool{},
		newMemo: map[cellKey]*verdictOf{}, oldMemo: map[cellKey]oldVerdict{}, blocked: map[blockKey][]Rule{}}
	r.cells = newCellIndex(r.old, r.new)
	for _, t := range []*vpc.Topology{old, new} {
		for i := range t.Instances {
			in := &t.Instances[i]
			for _, s := range in.Services {
				for _, a := range []netip.Addr{in.PrivateIP, in.PublicIP, in.IPv6} {
					if a.IsValid() {
						r.services[netip.AddrPortFrom(a, uint16(s.Port))] = true
					}
				}
			}
		}
		for i := range t.Internet {
			h := &t.Internet[i]
			for _, s := range h.Services {
				for _, a := range []netip.Addr{h.IP, h.IPv6} {
					if a.IsValid() {
						r.services[netip.AddrPortFrom(a, uint16(s.Port))] = true
					}
				}
			}
		}
	}
	return r
}

var replayNeed = []string{"srcaddr", "dstaddr", "srcport", "dstport", "protocol", "action"}

// Columns sets the column names (Athena's: srcaddr, dstport, tcp_flags,
// ...) of the records that follow.
func (r *Replayer) Columns(cols []string) error {
	if r.cols != nil && slices.Equal(cols, r.last) {
		return nil
	}
	r.last = append(r.last[:0], cols...)
	m := make(map[string]int, len(cols))
	for i, c := range cols {
		m[strings.ReplaceAll(c, "-", "_")] = i
	}
	var missing []string
	for _, c := range replayNeed {
		if _, ok := m[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the records lack %s; replay needs %s", strings.Join(missing, ", "), strings.Join(replayNeed, ", "))
	}
	r.cols = m
	return nil
}

func (r *Replayer) val(vals []string, col string) string {
	if i, ok := r.cols[col]; ok && i < len(vals) {
		return vals[i]
	}
	return "-"
}

// AddMap replays one record keyed by column name.
func (r *Replayer) AddMap(m map[string]string) error {
	cols := make([]string, 0, len(m))
	vals := make([]string, 0, len(m))
	for k, v := range m {
		cols = append(cols, k)
		vals = append(vals, v)
	}
	if err := r.Columns(cols); err != nil {
		return err
	}
	return r.Add(vals)
}

// Add replays one record (values in the order Columns gave).
func (r *Replayer) Add(vals []string) error {
	r.res.Records++
	if r.val(vals, "action") != "ACCEPT" {
		return nil
	}
	if st := r.val(vals, "log_status"); st != "-" && st != "OK" {
		return nil
	}
	src, err1 := netip.ParseAddr(r.val(vals, "srcaddr"))
	dst, err2 := netip.ParseAddr(r.val(vals, "dstaddr"))
	sport, err3 := strconv.Atoi(r.val(vals, "srcport"))
	dport, err4 := strconv.Atoi(r.val(vals, "dstport"))
	proto, err5 := strconv.Atoi(r.val(vals, "protocol"))
	if err := firstErr(err1, err2, err3, err4, err5); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	r.res.Accepted++
	packets, _ := strconv.ParseInt(r.val(vals, "packets"), 10, 64)
	bytes, _ := strconv.ParseInt(r.val(vals, "bytes"), 10, 64)
	flags, ferr := strconv.Atoi(r.val(vals, "tcp_flags"))
	src, dst = src.Unmap(), dst.Unmap()

	fwd, rev := r.candidates(src, dst, proto, sport, dport)
	if !r.flagged(proto, ferr == nil, flags) {
		// Whichever the record is, request or reply: if the new rules
		// accept it either way, which one does not matter.
		if r.judge(fwd).fwd && r.judge(rev).both {
			return nil
		}
	}
	req, isReq := r.request(fwd, rev, src, dst, proto, sport, dport, ferr == nil, flags)
	v := r.judge(req)
	rejected := !v.fwd
	if !isReq {
		rejected = !v.both
	}
	if !rejected {
		return nil
	}
	r.res.Rejected++
	k := connKey{req.src, req.dst, req.proto, req.sport, req.l4}
	b := r.conns[k]
	if b == nil {
		b = &BrokenFlow{Flow: r.new.exportFlow(req), Verdict: v.verdict, Rules: v.rules, seen: map[bool]string{}}
		r.conns[k] = b
	}
	b.Records++
	eni := r.val(vals, "interface_id")
	if first, ok := b.seen[isReq]; !ok || first == eni {
		b.seen[isReq] = eni
		b.Packets += packets
		b.Bytes += bytes
	}
	if !contains(b.Interfaces, eni) {
		b.Interfaces = append(b.Interfaces, eni)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// publicOf is an instance's public IPv4 for its private one (the record
// shows the private address, FL-8; the internet sent to the public one).
func (m *model) publicOf(a netip.Addr) netip.Addr {
	if o := m.owners[a]; o != nil && o.public.IsValid() {
		return o.public
	}
	return a
}

func (m *model) inside(a netip.Addr) bool {
	for i := range m.t.VPCs {
		if m.t.VPCs[i].Contains(a) {
			return true
		}
	}
	return false
}

// candidates are the two connections a record may belong to: as its
// request (fwd), or as the reply to rev.
func (r *Replayer) candidates(src, dst netip.Addr, proto, sport, dport int) (fwd, rev flow) {
	mk := func(a, b netip.Addr, sp, dp int) flow {
		// From outside, the client addressed the instance's public IPv4.
		if !r.new.inside(a) && a.Is4() {
			b = r.new.publicOf(b)
		}
		f := flow{src: a, dst: b, proto: proto, sport: sp, l4: dp}
		switch proto {
		case vpc.ProtoICMP:
			f.sport, f.l4 = 0, 8<<8
		case vpc.ProtoICMPv6:
			f.sport, f.l4 = 0, 128<<8
		case vpc.ProtoTCP, vpc.ProtoUDP:
		default:
			f.sport, f.l4 = 0, 0
		}
		return f
	}
	return mk(src, dst, sport, dport), mk(dst, src, dport, sport)
}

// flagged reports whether the record says by itself which side it is.
func (r *Replayer) flagged(proto int, haveFlags bool, flags int) bool {
	return (proto == vpc.ProtoTCP && haveFlags && flags&0x12 != 0) || (proto != vpc.ProtoTCP && proto != vpc.ProtoUDP)
}

// request picks the connection the record belongs to: fwd (the record is
// its request) or rev (the record is its reply).
func (r *Replayer) request(fwd, rev flow, src, dst netip.Addr, proto, sport, dport int, haveFlags bool, flags int) (flow, bool) {
	switch {
	case proto == vpc.ProtoTCP && haveFlags && flags&0x10 != 0:
		return rev, false // SYN-ACK seen: the record is the server's side (FL-27)
	case proto == vpc.ProtoTCP && haveFlags && flags&0x02 != 0:
		return fwd, true
	case proto != vpc.ProtoTCP && proto != vpc.ProtoUDP:
		return fwd, true
	}
	// A server port: the service the topology runs there.
	switch {
	case r.services[netip.AddrPortFrom(dst, uint16(dport))]:
		return fwd, true
	case r.services[netip.AddrPortFrom(src, uint16(sport))]:
		return rev, false
	}
	// The rules the records were written under: the orientation under
	// which these packets were accepted.
	okFwd, okRev := r.oldOrientation(fwd, rev)
	switch {
	case okFwd && !okRev:
		return fwd, true
	case okRev && !okFwd:
		return rev, false
	case sport < dport:
		return rev, false
	}
	return fwd, true
}

// cellIndex holds every boundary of both topologies on every field: a
// flow's cell (the elementary interval of each of its fields) lies inside
// one class of either topology, so flows of one cell are judged alike. It
// lets the replay walk each cell once, however many records fall in it.
type cellIndex struct {
	addr [2][]u128
	port [l4Kinds][]int
}

type cellKey struct {
	fam, proto, src, dst, l4, sport int
}

func newCellIndex(ms ...*model) *cellIndex {
	ci := &cellIndex{}
	for _, m := range ms {
		for _, c := range []*cuts{m.cuts.structural, m.cuts.allCuts()} {
			for fam := range 2 {
				ci.addr[fam] = append(ci.addr[fam], c.addr[fieldSrc][fam]...)
				ci.addr[fam] = append(ci.addr[fam], c.addr[fieldDst][fam]...)
			}
			for k := range l4Kinds {
				ci.port[k] = append(ci.port[k], c.dport[k]...)
				ci.port[k] = append(ci.port[k], c.sport[k]...)
			}
		}
	}
	for fam := range 2 {
		ci.addr[fam] = sortAddrCuts(ci.addr[fam])
	}
	for k := range l4Kinds {
		ci.port[k] = sortIntCuts(ci.port[k])
	}
	return ci
}

func (ci *cellIndex) key(f flow) cellKey {
	fam := 0
	if f.src.Is6() {
		fam = 1
	}
	addr := func(a netip.Addr) int {
		n, l := addrNum(a), ci.addr[fam]
		return sort.Search(len(l), func(i int) bool { return n.less(l[i]) })
	}
	k := cellKey{fam: fam, proto: f.proto, src: addr(f.src), dst: addr(f.dst)}
	if kind := l4Kind(f.proto); kind >= 0 {
		k.l4 = sort.SearchInts(ci.port[kind], f.l4+1)
		k.sport = sort.SearchInts(ci.port[kind], f.sport+1)
	}
	return k
}

// verdictOf is what the new rules do with a request flow.
type verdictOf struct {
	fwd, both bool
	verdict   string
	rules     []Rule
}

// judge walks req under the new rules, once per cell.
func (r *Replayer) judge(req flow) *verdictOf {
	k := r.cells.key(req)
	if v := r.newMemo[k]; v != nil {
		return v
	}
	o := &r.o
	r.new.walk(o, req, true)
	v := &verdictOf{fwd: o.fwd.Delivered, both: o.both(), verdict: o.verdict()}
	if !v.both {
		v.rules = r.blockedBy(o)
	}
	r.newMemo[k] = v
	return v
}

// blockKey is a blocking SG or NACL hop as hopRules names it.
type blockKey struct {
	kind   rules.HopKind
	id     string
	egress bool
	inst   *vpc.Instance
	acl    *vpc.NetworkACL
	rule   int
	code   string
}

// blockedBy is deciders of a flow the new rules block (o.both() false),
// what SG and NACL hops name asked once per hop.
func (r *Replayer) blockedBy(o *outcome) []Rule {
	h := o.fwd.Blocked()
	if h == nil && o.retAnalysed {
		h = o.ret.Blocked()
	}
	if h == nil || (h.Kind != rules.HopSecurityGroup && h.Kind != rules.HopNetworkACL) {
		return deciders(r.new.t, o, true)
	}
	k := blockKey{kind: h.Kind, id: h.ID, egress: h.Egress, inst: h.Instance, acl: h.ACL, rule: h.NACL.Rule, code: h.Code}
	rs, ok := r.blocked[k]
	if !ok {
		rs = hopRules(r.new.t, h)
		r.blocked[k] = rs
	}
	return rs
}

// oldOrientation says, under the old rules, whether the record's packets
// would be accepted as a request (fwd) or as the reply to rev.
func (r *Replayer) oldOrientation(fwd, rev flow) (bool, bool) {
	return r.oldJudge(fwd).fwd, r.oldJudge(rev).both
}

// oldVerdict is what the old rules did with a request flow.
type oldVerdict struct{ fwd, both bool }

// oldJudge walks f under the old rules, once per cell: a record and the
// records of its replies ask of the same two cells.
func (r *Replayer) oldJudge(f flow) oldVerdict {
	k := r.cells.key(f)
	if v, ok := r.oldMemo[k]; ok {
		return v
	}
	o := &r.o
	r.old.walk(o, f, true)
	v := oldVerdict{o.fwd.Delivered, o.both()}
	r.oldMemo[k] = v
	return v
}

// Result returns what the replay found so far.
func (r *Replayer) Result() *ReplayResult {
	res := r.res
	res.Broken = nil
	for _, b := range r.conns {
		res.Broken = append(res.Broken, *b)
	}
	sort.Slice(res.Broken, func(i, j int) bool {
		a, b := &res.Broken[i], &res.Broken[j]
		if a.Bytes != b.Bytes {
			return a.Bytes > b.Bytes
		}
		return a.Flow.String() < b.Flow.String()
	})
	idx := map[string]int{}
	for _, b := range res.Broken {
		g := BrokenGroup{From: b.Flow.From, To: b.Flow.To, Protocol: protoName(b.Flow.Protocol), Verdict: b.Verdict, Rules: b.Rules}
		if b.Flow.Protocol == vpc.ProtoTCP || b.Flow.Protocol == vpc.ProtoUDP {
			g.Port = b.Flow.DstPort
		}
		k := fmt.Sprint(g.From, g.To, g.Protocol, g.Port, g.Verdict, rulesText(g.Rules))
		i, ok := idx[k]
		if !ok {
			i = len(res.Groups)
			idx[k] = i
			res.Groups = append(res.Groups, g)
		}
		res.Groups[i].Connections++
		res.Groups[i].Packets += b.Packets
		res.Groups[i].Bytes += b.Bytes
	}
	sort.SliceStable(res.Groups, func(i, j int) bool { return res.Groups[i].Bytes > res.Groups[j].Bytes })
	return &res
}
