package webui

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// Hub aggregates a topology's events and fans them out to the connected
// pages. Whatever the event rate, each interval sends one batch holding at
// most MaxKeys rows, one per flow (ENI, direction, addresses, ports,
// protocol, and for drops the reason and rule), with the exact packet count
// of the interval; flows beyond MaxKeys are summed into one row per
// instance, kind, direction, protocol and reason, which says how many flows
// it holds. Memory is bounded by MaxKeys, the overflow rows, Recent and the
// per-page queues, not by the rate.
type Hub struct {
	interval time.Duration
	maxKeys  int

	mu       sync.Mutex
	pending  map[eventKey]*Entry
	overflow map[overflowKey]*Entry
	order    []*Entry // pending and overflow rows in arrival order
	totals   Totals
	recent   []Entry // the last rows sent, for pages that connect later
	records  []Records
	seq      uint64
	clients  map[*client]struct{}
	closed   bool
	once     sync.Once

	stop, done chan struct{}
}

// Defaults of NewHub.
const (
	DefaultInterval = 250 * time.Millisecond
	DefaultMaxKeys  = 100
	recentRows      = 300 // rows a newly connected page starts with
	recentWindows   = 20  // flow-log record batches kept
	clientQueue     = 16  // messages queued per page before it misses batches
)

// Entry is one row of a batch: one flow's events in the interval, or (with
// Flows > 1) the sum of the flows that did not fit.
type Entry struct {
	Key string `json:"key"`
	Event
	First    time.Time `json:"first"`
	Flows    uint64    `json:"flows"`              // flows summed in this row (1 but for overflow rows)
	Overflow bool      `json:"overflow,omitempty"` // addresses and ports are "*"
}

// Totals are the exact counts since the web view started.
type Totals struct {
	DropPackets uint64            `json:"drop_packets"`
	FlowPackets uint64            `json:"flow_packets"`
	ByReason    map[string]uint64 `json:"drops_by_reason"`
	Aggregated  uint64            `json:"aggregated_rows"` // rows that summed flows beyond MaxKeys
}

type eventKey struct {
	kind, eni, dir, comp, src, dst, reason, acl string
	proto, sport, dport, rule                   int
}

type overflowKey struct {
	kind, instance, eni, dir, comp, reason string
	proto                                  int
}

// message is one server-sent event, encoded once for every page.
type message struct {
	event string
	data  []byte
}

type client struct {
	ch     chan message
	missed uint64 // batches this page did not get (its queue was full)
}

// NewHub starts a hub that sends a batch every interval (0: DefaultInterval)
// of at most maxKeys rows (0: DefaultMaxKeys).
func NewHub(interval time.Duration, maxKeys int) *Hub {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	h := &Hub{interval: interval, maxKeys: maxKeys, pending: map[eventKey]*Entry{}, overflow: map[overflowKey]*Entry{},
		totals: Totals{ByReason: map[string]uint64{}}, clients: map[*client]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go h.run()
	return h
}

// Drop implements Sink.
func (h *Hub) Drop(ev *Event) {
	h.mu.Lock()
	h.totals.DropPackets += ev.Packets
	h.totals.ByReason[ev.Reason] += ev.Packets
	h.add(ev)
	h.mu.Unlock()
}

// Flows implements Sink.
func (h *Hub) Flows(evs []Event) {
	h.mu.Lock()
	for i := range evs {
		h.totals.FlowPackets += evs[i].Packets
		h.add(&evs[i])
	}
	h.mu.Unlock()
}

// Records implements Sink.
func (h *Hub) Records(r Records) {
	h.mu.Lock()
	h.records = append(h.records, r)
	if len(h.records) > recentWindows {
		h.records = h.records[len(h.records)-recentWindows:]
	}
	h.mu.Unlock()
	h.broadcast(encode("records", r), false)
}

// add merges ev into the interval's rows; h.mu is held.
func (h *Hub) add(ev *Event) {
	k := eventKey{kind: ev.Kind, eni: ev.ENI, dir: ev.Direction, comp: ev.Component, src: ev.Src, dst: ev.Dst,
		reason: ev.Reason, acl: ev.ACL, proto: ev.Protocol, sport: ev.SrcPort, dport: ev.DstPort, rule: ev.RuleNumber}
	if e := h.pending[k]; e != nil {
		e.merge(ev)
		return
	}
	if len(h.pending) < h.maxKeys {
		e := &Entry{Key: k.String(), Event: *ev, First: ev.Time, Flows: 1}
		e.SecurityGroups = append([]string(nil), ev.SecurityGroups...)
		h.pending[k] = e
		h.order = append(h.order, e)
		return
	}
	ok := overflowKey{kind: ev.Kind, instance: ev.Instance, eni: ev.ENI, dir: ev.Direction, comp: ev.Component, reason: ev.Reason, proto: ev.Protocol}
	if e := h.overflow[ok]; e != nil {
		e.merge(ev)
		e.Flows++ // an upper bound: a flow seen twice in the interval counts twice
		return
	}
	e := &Entry{Key: "agg|" + k.kind + "|" + ok.eni + "|" + ok.dir + "|" + ok.comp + "|" + ok.reason + "|" + strconv.Itoa(ok.proto),
		Event: *ev, First: ev.Time, Flows: 1, Overflow: true}
	e.Src, e.Dst, e.SrcPort, e.DstPort, e.ACL, e.RuleNumber, e.Rule = "*", "*", 0, 0, ev.ACL, 0, ""
	e.SecurityGroups = append([]string(nil), ev.SecurityGroups...)
	h.overflow[ok] = e
	h.order = append(h.order, e)
	h.totals.Aggregated++
}

func (e *Entry) merge(ev *Event) {
	e.Packets += ev.Packets
	e.Bytes += ev.Bytes
	e.TCPFlags |= ev.TCPFlags
	if ev.Time.After(e.Time) {
		e.Time = ev.Time
	}
}

func (k eventKey) String() string {
	return k.kind + "|" + k.eni + "|" + k.dir + "|" + k.comp + "|" + strconv.Itoa(k.proto) + "|" + k.src + "|" + strconv.Itoa(k.sport) +
		"|" + k.dst + "|" + strconv.Itoa(k.dport) + "|" + k.reason + "|" + k.acl + "|" + strconv.Itoa(k.rule)
}

// batch is what a page receives each interval.
type batch struct {
	Seq     uint64  `json:"seq"`
	Entries []Entry `json:"entries"`
	Totals  Totals  `json:"totals"`
	Missed  uint64  `json:"missed,omitempty"` // batches this page missed before this one
}

func (h *Hub) run() {
	defer close(h.done)
	tick := time.NewTicker(h.interval)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
			h.flush()
		}
	}
}

// flush sends the interval's rows as one batch.
func (h *Hub) flush() {
	h.mu.Lock()
	if len(h.order) == 0 {
		h.mu.Unlock()
		return
	}
	b := batch{Entries: make([]Entry, len(h.order)), Totals: h.totals.clone()}
	for i, e := range h.order {
		b.Entries[i] = *e
	}
	h.seq++
	b.Seq = h.seq
	clear(h.pending)
	clear(h.overflow)
	h.order = h.order[:0]
	h.recent = append(h.recent, b.Entries...)
	if len(h.recent) > recentRows {
		h.recent = append(h.recent[:0], h.recent[len(h.recent)-recentRows:]...)
	}
	h.mu.Unlock()
	h.broadcastBatch(&b)
}

func (t Totals) clone() Totals {
	c := t
	c.ByReason = make(map[string]uint64, len(t.ByReason))
	for k, v := range t.ByReason {
		c.ByReason[k] = v
	}
	return c
}

// broadcastBatch sends b to every page; a page whose queue is full misses
// it and learns how many it missed with the next one it gets (the totals
// in every batch stay exact).
func (h *Hub) broadcastBatch(b *batch) {
	msg := encode("batch", b)
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		m := msg
		if c.missed > 0 {
			bb := *b
			bb.Missed = c.missed
			m = encode("batch", &bb)
		}
		select {
		case c.ch <- m:
			c.missed = 0
		default:
			c.missed++
		}
	}
}

// broadcast sends msg to every page (dropping it for a full queue unless
// must, then the page is cut off: it reconnects and starts afresh).
func (h *Hub) broadcast(msg message, must bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.ch <- msg:
		default:
			if must {
				delete(h.clients, c)
				close(c.ch)
			}
		}
	}
}

func encode(event string, v any) message {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return message{event: event, data: b}
}

// hello is the first message a page gets.
type hello struct {
	Recent     []Entry   `json:"recent"`
	Records    []Records `json:"records"`
	Totals     Totals    `json:"totals"`
	IntervalMS int64     `json:"interval_ms"`
}

// subscribe adds a page; its channel is closed when the hub closes.
func (h *Hub) subscribe() (*client, message, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, message{}, false
	}
	c := &client{ch: make(chan message, clientQueue)}
	h.clients[c] = struct{}{}
	hi := hello{Recent: append([]Entry(nil), h.recent...), Records: append([]Records(nil), h.records...),
		Totals: h.totals.clone(), IntervalMS: h.interval.Milliseconds()}
	return c, encode("hello", hi), true
}

func (h *Hub) unsubscribe(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.ch)
	}
}

// Clients is how many pages are connected.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// pendingRows is how many rows the current interval holds (tests).
func (h *Hub) pendingRows() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.order)
}

// Close sends what is pending and a goodbye to every page, then ends their
// streams.
func (h *Hub) Close(reason string) {
	h.once.Do(func() { h.close(reason) })
}

func (h *Hub) close(reason string) {
	close(h.stop)
	<-h.done
	h.flush()
	bye := encode("bye", map[string]string{"reason": reason})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		select {
		case c.ch <- bye:
		default:
		}
		delete(h.clients, c)
		close(c.ch)
	}
}
