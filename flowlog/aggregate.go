package flowlog

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Clock tells the aggregator the time; tests inject a fake one.
type Clock func() time.Time

// TrafficType selects the records a flow log keeps by action (FL-19).
type TrafficType string

// Traffic types AWS accepts.
const (
	TrafficAll    TrafficType = "ALL"
	TrafficAccept TrafficType = "ACCEPT"
	TrafficReject TrafficType = "REJECT"
)

// DefaultInterval is the window length when none is configured: 60 s, which
// is what Nitro instances use whatever the flow log says (FL-5).
const DefaultInterval = 60 * time.Second

// Config configures the Aggregator of one flow log.
type Config struct {
	Interval    time.Duration // whole seconds, 1 s..600 s; 0 = DefaultInterval
	TrafficType TrafficType   // "" = ALL
	ENIs        []ENIInfo     // monitored ENIs; samples of other ENIs are ignored
	Clock       Clock         // nil = time.Now
	Exclude     *Exclusions   // FL-7 traffic dropped before accounting; nil = none
}

// flowKey is the record key of FL-4, plus what else must be single-valued
// in a record (direction and the real packet addresses).
type flowKey struct {
	eni              uint32 // Aggregator.ids: cheaper to hash and compare than the id string
	src, dst         netip.Addr
	pktSrc, pktDst   netip.Addr
	srcPort, dstPort uint16
	protocol         uint8
	reject           bool
	egress           bool
}

type flowAgg struct {
	packets, bytes uint64
	flags          uint8
	first, last    int64 // Unix s
	trafficPath    uint8
}

type window struct {
	flows   map[flowKey]*flowAgg
	active  map[string]*ENIInfo // ENIs with any traffic, filtered or not
	skipped map[string]int      // ENI -> samples lost
}

type eniState struct {
	info  ENIInfo
	since int64 // first window (start, Unix s) the ENI is monitored in
	id    uint32
	// active is the start of the last window marked active for the ENI
	// (noActive: none): a window, once flushed, never opens again, so a
	// sample of a marked window needs no map write.
	active int64
}

const noActive = -1 << 63

// Aggregator turns Samples into the records of one flow log: windows on
// fixed boundaries of the interval, one record per FL-4 key and window,
// NODATA for quiet ENIs and SKIPDATA where samples were lost. It is safe for
// concurrent use.
type Aggregator struct {
	mu        sync.Mutex
	interval  int64 // seconds
	traffic   TrafficType
	clock     Clock
	enis      map[string]*eniState
	ids       map[string]uint32 // ENI id -> flowKey.eni, for the aggregator's life
	names     []string          // flowKey.eni -> ENI id
	windows   map[int64]*window // by window start (Unix s)
	watermark int64             // start of the earliest window not yet flushed
	lost      uint64
	exclude   *Exclusions
}

// NewAggregator validates cfg and starts aggregating at the window that
// contains cfg.Clock's current time.
func NewAggregator(cfg Config) (*Aggregator, error) {
	iv := cfg.Interval
	if iv == 0 {
		iv = DefaultInterval
	}
	if iv < time.Second || iv > 600*time.Second || iv%time.Second != 0 {
		return nil, fmt.Errorf("aggregation interval %v: must be whole seconds from 1s to 600s", iv)
	}
	tt := cfg.TrafficType
	switch tt {
	case "":
		tt = TrafficAll
	case TrafficAll, TrafficAccept, TrafficReject:
	default:
		return nil, fmt.Errorf("traffic type %q: must be ACCEPT, REJECT or ALL", cfg.TrafficType)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	a := &Aggregator{
		interval: int64(iv / time.Second),
		traffic:  tt,
		clock:    clock,
		enis:     make(map[string]*eniState),
		ids:      make(map[string]uint32),
		windows:  make(map[int64]*window),
		exclude:  cfg.Exclude,
	}
	a.watermark = a.windowStart(clock().Unix())
	for _, e := range cfg.ENIs {
		if e.ENI == "" {
			return nil, fmt.Errorf("monitored ENI without an id")
		}
		a.enis[e.ENI] = a.newState(e, a.watermark)
	}
	return a, nil
}

// newState is the state of a newly monitored ENI.
func (a *Aggregator) newState(info ENIInfo, since int64) *eniState {
	id, ok := a.ids[info.ENI]
	if !ok {
		id = uint32(len(a.names))
		a.ids[info.ENI] = id
		a.names = append(a.names, info.ENI)
	}
	return &eniState{info: info, since: since, id: id, active: noActive}
}

// Interval is the window length.
func (a *Aggregator) Interval() time.Duration { return time.Duration(a.interval) * time.Second }

func (a *Aggregator) windowStart(unix int64) int64 {
	ws := unix - unix%a.interval
	if unix < 0 && unix%a.interval != 0 {
		ws -= a.interval
	}
	return ws
}

// AddENI starts monitoring an ENI (e.g. created after the flow log, FL-1)
// from the current window on; it updates the metadata of a known ENI.
func (a *Aggregator) AddENI(info ENIInfo) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st, ok := a.enis[info.ENI]; ok {
		st.info = info
		return
	}
	a.enis[info.ENI] = a.newState(info, max(a.watermark, a.windowStart(a.clock().Unix())))
}

// RemoveENI stops monitoring an ENI; records of windows not yet flushed are kept.
func (a *Aggregator) RemoveENI(eni string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.enis, eni)
}

// Lost is the total number of samples reported lost through MarkSkipped.
func (a *Aggregator) Lost() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lost
}

// window returns the open window for time unix; data for a window already
// flushed goes to the earliest open one, as AWS's records may lag the wire.
func (a *Aggregator) window(unix int64) (int64, *window) {
	ws := max(a.windowStart(unix), a.watermark)
	w := a.windows[ws]
	if w == nil {
		w = &window{
			flows:   make(map[flowKey]*flowAgg),
			active:  make(map[string]*ENIInfo),
			skipped: make(map[string]int),
		}
		a.windows[ws] = w
	}
	return ws, w
}

// SetExclude replaces the traffic never logged (Config.Exclude), for the
// samples added from now on: a topology whose mirror sessions changed
// excludes its new sessions' copies (FL-42).
func (a *Aggregator) SetExclude(e *Exclusions) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.exclude = e
}

// Add accounts a sample. Samples of ENIs the flow log does not monitor, and
// traffic AWS never logs (Config.Exclude), are ignored, so one stream of
// samples can feed every flow log.
func (a *Aggregator) Add(s Sample) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.add(&s)
}

// AddAll accounts every sample of ss, as Add does each (one drain of the
// datapath at a time).
func (a *Aggregator) AddAll(ss []Sample) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range ss {
		a.add(&ss[i])
	}
}

func (a *Aggregator) add(s *Sample) {
	st := a.enis[s.ENI]
	if st == nil || a.exclude.Excluded(s) {
		return
	}
	first, last := s.First, s.Last
	switch {
	case first.IsZero() && last.IsZero():
		first = a.clock()
		last = first
	case first.IsZero():
		first = last
	case last.IsZero():
		last = first
	}
	ws, w := a.window(last.Unix())
	if st.active != ws {
		w.active[s.ENI] = &st.info
		st.active = ws
	}
	if (s.Reject && a.traffic == TrafficAccept) || (!s.Reject && a.traffic == TrafficReject) {
		return
	}
	k := a.key(st, s)
	f := w.flows[k]
	if f == nil {
		f = &flowAgg{first: 1<<63 - 1, last: -1 << 63}
		w.flows[k] = f
	}
	f.packets += s.Packets
	f.bytes += s.Bytes
	if s.Protocol == 6 {
		f.flags |= TCPFlagsValue(s.TCPFlags)
	}
	we := ws + a.interval - 1
	f.first = min(f.first, clamp(first.Unix(), ws, we))
	f.last = max(f.last, clamp(last.Unix(), ws, we))
	if s.Egress {
		f.trafficPath = PathSameVPC
		switch {
		case s.TrafficPathKnown:
			f.trafficPath = s.TrafficPath
		case s.ToInternet:
			f.trafficPath = PathInternet
		}
	}
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// key applies FL-8: the logged address on the ENI's side is the ENI's own
// address, its primary private IPv4 when the packet's is not one of the
// ENI's (or, inbound, is a secondary one).
func (a *Aggregator) key(st *eniState, s *Sample) flowKey {
	info := &st.info
	k := flowKey{
		eni: st.id, src: s.Src, dst: s.Dst, pktSrc: s.PktSrc, pktDst: s.PktDst,
		srcPort: s.SrcPort, dstPort: s.DstPort, protocol: s.Protocol,
		reject: s.Reject, egress: s.Egress,
	}
	if !k.pktSrc.IsValid() {
		k.pktSrc = k.src
	}
	if !k.pktDst.IsValid() {
		k.pktDst = k.dst
	}
	if info.Primary.Is4() {
		if s.Egress && k.src.Is4() && !info.owns(k.src) {
			k.src = info.Primary
		}
		if !s.Egress && k.dst.Is4() && k.dst != info.Primary {
			k.dst = info.Primary
		}
	}
	return k
}

// MarkSkipped reports that n samples of an ENI around time at were lost
// (e.g. the datapath's flow table was full): that window's records for the
// ENI end with a SKIPDATA record instead of silently missing flows (FL-17).
func (a *Aggregator) MarkSkipped(eni string, at time.Time, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.enis[eni] == nil || n <= 0 {
		return
	}
	if at.IsZero() {
		at = a.clock()
	}
	ws, w := a.window(at.Unix())
	w.skipped[eni] += n
	st := a.enis[eni]
	w.active[eni] = &st.info
	st.active = ws
	a.lost += uint64(n)
}

// Flush closes every window that ended by now and returns its records in
// the FL-44 order: by window; in a window OK records by start, 5-tuple and
// action, then NODATA/SKIPDATA by ENI.
func (a *Aggregator) Flush(now time.Time) []Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.flush(a.windowStart(now.Unix()), true)
}

// FlushAll closes every window, the current one and any holding late or
// early data included, for shutdown: no accounted packet is left behind.
// NODATA is produced only for windows that have ended.
func (a *Aggregator) FlushAll() []Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	recs := a.flush(a.windowStart(a.clock().Unix()), true)
	return append(recs, a.flush(1<<62, false)...)
}

// flush closes windows starting before limit.
func (a *Aggregator) flush(limit int64, nodata bool) []Record {
	var starts []int64
	for ws := range a.windows {
		if ws < limit {
			starts = append(starts, ws)
		}
	}
	if nodata {
		// Quiet windows have no entry in a.windows; every one of them is a
		// NODATA window for every monitored ENI.
		for ws := a.watermark; ws < limit; ws += a.interval {
			if a.windows[ws] == nil {
				starts = append(starts, ws)
			}
		}
	}
	slices.Sort(starts)
	var out []Record
	var enis []string
	if nodata {
		for id := range a.enis {
			enis = append(enis, id)
		}
		slices.Sort(enis)
	}
	for _, ws := range starts {
		w := a.windows[ws]
		delete(a.windows, ws)
		out = a.appendWindow(out, ws, w, enis)
	}
	if limit > a.watermark && limit < 1<<62 {
		a.watermark = limit
	} else if limit >= 1<<62 && len(starts) > 0 {
		a.watermark = max(a.watermark, starts[len(starts)-1]+a.interval)
	}
	return out
}

func (a *Aggregator) appendWindow(out []Record, ws int64, w *window, nodataENIs []string) []Record {
	first := len(out)
	if w != nil {
		for k, f := range w.flows {
			r := Record{
				Status: StatusOK, ENI: *w.active[a.names[k.eni]], Egress: k.egress,
				Src: k.src, Dst: k.dst, PktSrc: k.pktSrc, PktDst: k.pktDst,
				SrcPort: k.srcPort, DstPort: k.dstPort, Protocol: k.protocol,
				Packets: f.packets, Bytes: f.bytes, TCPFlags: f.flags,
				Start: time.Unix(f.first, 0).UTC(), End: time.Unix(f.last, 0).UTC(),
				TrafficPath: f.trafficPath,
			}
			if k.reject {
				r.Action = Reject
			}
			out = append(out, r)
		}
		slices.SortFunc(out[first:], compareRecords)
	}
	start, end := time.Unix(ws, 0).UTC(), time.Unix(ws+a.interval, 0).UTC()
	special := len(out)
	if w != nil {
		for eni := range w.skipped {
			out = append(out, Record{Status: StatusSkipData, ENI: *w.active[eni], Start: start, End: end})
		}
	}
	for _, eni := range nodataENIs {
		st := a.enis[eni]
		if st.since > ws || (w != nil && w.active[eni] != nil) {
			continue
		}
		out = append(out, Record{Status: StatusNoData, ENI: st.info, Start: start, End: end})
	}
	slices.SortStableFunc(out[special:], func(x, y Record) int { return cmp.Compare(x.ENI.ENI, y.ENI.ENI) })
	return out
}

// compareRecords orders OK records of one window (FL-44): start, 5-tuple,
// action, then whatever else distinguishes two keys, so the order is total.
func compareRecords(x, y Record) int {
	return cmp.Or(
		x.Start.Compare(y.Start),
		x.Src.Compare(y.Src),
		x.Dst.Compare(y.Dst),
		cmp.Compare(x.SrcPort, y.SrcPort),
		cmp.Compare(x.DstPort, y.DstPort),
		cmp.Compare(x.Protocol, y.Protocol),
		cmp.Compare(x.Action, y.Action),
		cmp.Compare(x.ENI.ENI, y.ENI.ENI),
		compareBool(x.Egress, y.Egress),
		x.PktSrc.Compare(y.PktSrc),
		x.PktDst.Compare(y.PktDst),
	)
}

func compareBool(x, y bool) int {
	switch {
	case x == y:
		return 0
	case !x:
		return -1
	}
	return 1
}
