package lab

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/flowlog/parquetlog"
	"github.com/vpcemu/vpcemu/vpc"
)

// flowSource is the datapath side of flow logs: what it counted since the
// last drain, handed over a batch at a time (valid during the call), and
// per ENI how many flows it could not count (SKIPDATA).
type flowSource interface {
	DrainTo(fn func(samples []flowlog.Sample)) (skipped map[string]uint64, err error)
}

// flowLogs runs every flow-log subscription of a topology: aggregation
// windows, S3-layout files and the CloudWatch-like streams `logs` reads.
type flowLogs struct {
	subs  []*subscription
	clock flowlog.Clock
	obs   *observers
	mu    sync.Mutex // guards each subscription's stats (status reads them)
}

type subscription struct {
	id     string
	format flowlog.Format
	agg    *flowlog.Aggregator
	s3     *flowlog.S3Writer
	cw     *flowlog.CloudWatchWriter
	stats  FlowLogStatus // guarded by flowLogs.mu
}

// newFlowLogs prepares the subscriptions of t, writing under paths.
func newFlowLogs(t *vpc.Topology, paths Paths, clock flowlog.Clock, obs *observers) (*flowLogs, error) {
	f := &flowLogs{clock: clock, obs: obs}
	for _, fl := range t.FlowLogs {
		s, err := newSubscription(t, fl, paths, clock)
		if err != nil {
			return nil, err
		}
		f.subs = append(f.subs, s)
	}
	return f, nil
}

// newSubscription prepares flow log fl of t: its aggregator and writers.
func newSubscription(t *vpc.Topology, fl vpc.FlowLog, paths Paths, clock flowlog.Clock) (*subscription, error) {
	cfg, err := flowlog.ConfigFor(t, fl, clock)
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
	}
	agg, err := flowlog.NewAggregator(cfg)
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
	}
	format, err := flowlog.ParseFormat(fl.LogFormat)
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
	}
	opts := flowlog.S3Options{Root: paths.FlowLogs(), Account: t.Account, Region: t.Region, FlowLogID: fl.ID,
		Format: format, HiveCompatible: fl.HiveCompatible, PerHourPartition: fl.PerHourPartition}
	if fl.FileFormat == "parquet" {
		opts.Encoder = parquetlog.Encoder{}
	}
	s3, err := flowlog.NewS3Writer(opts)
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
	}
	cw, err := flowlog.NewCloudWatchWriter(paths.Data, fl.ID, format, clock)
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
	}
	return &subscription{id: fl.ID, format: format, agg: agg, s3: s3, cw: cw, stats: FlowLogStatus{ID: fl.ID}}, nil
}

// add feeds a batch of samples of the datapath to every subscription.
func (f *flowLogs) add(samples []flowlog.Sample) {
	for _, s := range f.subs {
		s.agg.AddAll(samples)
	}
}

// skipped tells every subscription what the datapath could not count.
func (f *flowLogs) skipped(skipped map[string]uint64) {
	now := f.clock()
	for _, s := range f.subs {
		for eni, n := range skipped {
			if n > 0 {
				s.agg.MarkSkipped(eni, now, int(n))
			}
		}
	}
}

// flush writes the records of every window that has closed by now; with
// all, of every window (shutdown: no counted packet is lost).
func (f *flowLogs) flush(now time.Time, all bool) error {
	var errs []error
	for _, s := range f.subs {
		errs = append(errs, f.flushOne(s, now, all))
	}
	return errors.Join(errs...)
}

// flushOne is flush for one subscription.
func (f *flowLogs) flushOne(s *subscription, now time.Time, all bool) error {
	var recs []flowlog.Record
	if all {
		recs = s.agg.FlushAll()
	} else {
		recs = s.agg.Flush(now)
	}
	if len(recs) == 0 {
		return nil
	}
	_, s3err := s.s3.Write(recs)
	cwerr := s.cw.Write(recs)
	f.count(s, recs, s3err, cwerr)
	var errs []error
	if s3err != nil {
		errs = append(errs, fmt.Errorf("flow log %s: %w", s.id, s3err))
	}
	if cwerr != nil {
		errs = append(errs, fmt.Errorf("flow log %s: %w", s.id, cwerr))
	}
	f.observe(s, recs)
	return errors.Join(errs...)
}

// count adds a flush of recs to the statistics of s: records by log
// status once the S3 file took them (the files are what AWS's consumers
// read), else as write failures.
func (f *flowLogs) count(s *subscription, recs []flowlog.Record, s3err, cwerr error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := &s.stats
	if s3err != nil {
		st.WriteErrors++
		st.RecordsFailed += uint64(len(recs))
	} else {
		for i := range recs {
			switch recs[i].Status {
			case flowlog.StatusNoData:
				st.RecordsNoData++
			case flowlog.StatusSkipData:
				st.RecordsSkipData++
			default:
				st.RecordsOK++
			}
		}
	}
	if cwerr != nil {
		st.WriteErrors++
	}
}

// status returns each subscription's statistics.
func (f *flowLogs) status() []FlowLogStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FlowLogStatus, 0, len(f.subs))
	for _, s := range f.subs {
		st := s.stats
		st.FlowsSkipped = s.agg.Lost()
		out = append(out, st)
	}
	return out
}

// observe hands the records of s to the observers, rendered as written.
func (f *flowLogs) observe(s *subscription, recs []flowlog.Record) {
	watched := false
	f.obs.each(func(ob *Observer) { watched = watched || ob.Records != nil })
	if !watched {
		return
	}
	lines := make([]string, len(recs))
	for i := range recs {
		lines[i] = s.format.Line(recs[i])
	}
	f.obs.records(s.id, s.format.Header(), lines, recs)
}

// pumpInterval is how often the datapath's flow counters are drained.
const pumpInterval = time.Second

// startFlowLogs starts draining src into the topology's flow logs every
// pumpInterval until stopFlowLogs.
func (l *Lab) startFlowLogs(src flowSource) error {
	fl, err := newFlowLogs(l.topo, l.paths, time.Now, l.obs)
	if err != nil {
		return err
	}
	l.flows, l.flowSrc = fl, src
	l.pumpStop, l.pumpDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.pumpDone)
		tick := time.NewTicker(pumpInterval)
		defer tick.Stop()
		for {
			select {
			case <-l.pumpStop:
				return
			case now := <-tick.C:
				if err := l.pump(now, false); err != nil {
					l.opts.Log.Warn("flow logs", "err", err)
				}
			}
		}
	}()
	return nil
}

// pump drains the datapath once and writes the windows that closed (all
// windows when all is set).
func (l *Lab) pump(now time.Time, all bool) error {
	l.flowMu.Lock()
	defer l.flowMu.Unlock()
	if err := l.drainLocked(now); err != nil {
		return err
	}
	return l.flows.flush(now, all)
}

// drainLocked hands what the datapath counted since the last drain to the
// subscriptions; the caller holds flowMu.
func (l *Lab) drainLocked(now time.Time) error {
	skipped, err := l.flowSrc.DrainTo(func(samples []flowlog.Sample) {
		l.flows.add(samples)
		l.obs.flows(now, samples)
	})
	if err != nil {
		return fmt.Errorf("drain flow counters: %w", err)
	}
	l.flows.skipped(skipped)
	return nil
}

// FlushFlowLogs drains the datapath and writes every open window now, as a
// shutdown does (lessons and tests use it instead of waiting for windows).
func (l *Lab) FlushFlowLogs() error {
	if l.flows == nil {
		return nil
	}
	return l.pump(time.Now(), true)
}

// flowLogStatus returns the statistics of every flow-log subscription.
func (l *Lab) flowLogStatus() []FlowLogStatus {
	l.flowMu.Lock()
	defer l.flowMu.Unlock()
	if l.flows == nil {
		return nil
	}
	return l.flows.status()
}

// stopFlowLogs stops the pump and writes everything still counted.
func (l *Lab) stopFlowLogs() error {
	if l.flows == nil {
		return nil
	}
	close(l.pumpStop)
	<-l.pumpDone
	err := l.pump(time.Now(), true)
	l.flowMu.Lock()
	l.flows = nil
	l.flowMu.Unlock()
	return err
}
