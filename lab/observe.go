package lab

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpcemu/vpcemu/flowlog"
)

// Observer receives what the datapath reports while the topology is up, as
// it is recorded: the web view watches a topology through one. Each
// function may be nil. They run on the daemon's own goroutines (drops on
// the ring-buffer readers, at up to the datapath's drop rate): they must
// return quickly and must not keep what they are handed.
type Observer struct {
	// Drop is every line of drops.jsonl as it is written: the drops of one
	// flow, place and reason within a second (Packets counts them).
	Drop func(d *Drop)
	// Flows is every drain of the flow counters (once a second; only for a
	// topology with flow logs): each ENI's flows since the last drain, a
	// batch at a time (several calls per drain).
	Flows func(now time.Time, samples []flowlog.Sample)
	// Records are the flow-log records of the windows that closed, for the
	// flow log flowLogID, rendered in its format (header: its field names).
	Records func(flowLogID, header string, lines []string, recs []flowlog.Record)
}

// observers is the lab's set of Observers. Readers on the drop path take
// no lock: they load the current slice.
type observers struct {
	mu   sync.Mutex
	list atomic.Pointer[[]*Observer]
}

func (o *observers) add(ob *Observer) (remove func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var cur []*Observer
	if p := o.list.Load(); p != nil {
		cur = *p
	}
	next := append(slices.Clone(cur), ob)
	o.list.Store(&next)
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		cur := *o.list.Load()
		next := slices.DeleteFunc(slices.Clone(cur), func(x *Observer) bool { return x == ob })
		o.list.Store(&next)
	}
}

func (o *observers) each(fn func(*Observer)) {
	if o == nil {
		return
	}
	if p := o.list.Load(); p != nil {
		for _, ob := range *p {
			fn(ob)
		}
	}
}

func (o *observers) drop(d *Drop) {
	o.each(func(ob *Observer) {
		if ob.Drop != nil {
			ob.Drop(d)
		}
	})
}

func (o *observers) flows(now time.Time, samples []flowlog.Sample) {
	o.each(func(ob *Observer) {
		if ob.Flows != nil {
			ob.Flows(now, samples)
		}
	})
}

func (o *observers) records(id, header string, lines []string, recs []flowlog.Record) {
	o.each(func(ob *Observer) {
		if ob.Records != nil {
			ob.Records(id, header, lines, recs)
		}
	})
}

// Observe registers ob until the returned function is called (or the lab
// closes).
func (l *Lab) Observe(ob Observer) (remove func()) {
	return l.obs.add(&ob)
}
