package lab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/services"
	"github.com/vpcemu/vpcemu/vpc"
)

// ErrAlreadyUp is returned by Up for a topology whose daemon is running.
var ErrAlreadyUp = errors.New("topology is already up")

// Options configure where state lives and how the datapath is attached.
type Options struct {
	RunRoot  string         // default DefaultRunRoot
	DataRoot string         // default DefaultDataRoot
	XDPMode  loader.XDPMode // NACL attach mode on the uplinks; default loader.DefaultNACLMode (BENCHMARKS.md)
	Progress func(msg string)
	Log      *slog.Logger
	// UI is the address the daemon's web view listens on ("" = none),
	// recorded in state.json for `vpcemu ui`, status and the other
	// topologies' web views.
	UI string
	// Metrics is the address /metrics is served on ("" = none), recorded
	// in state.json for `vpcemu status`.
	Metrics string
	// API is the address the EC2 API is served on ("" = none), recorded in
	// state.json for `vpcemu status`.
	API string
	// FlowTableSize is how many flows each of the two flow-counter tables
	// (and each CPU's flow log, at most 65535) holds between drains
	// (default loader.DefaultFlowTableSize); a flow beyond it
	// is never silently lost: its ENI's window gets a SKIPDATA record.
	FlowTableSize int
	// DropsFileSize and DropsFilesKept bound drops.jsonl: it rotates before
	// a line would take it past DropsFileSize bytes, and DropsFilesKept
	// rotated files are kept (defaults DefaultDropsFileSize,
	// DefaultDropsFilesKept).
	DropsFileSize  int64
	DropsFilesKept int

	// failAfter makes Up fail right after the named stage ("namespaces",
	// "datapath", "services", "state"), or a change at "plan" or when it
	// would "record" its state (after the datapath took it): tests prove
	// that every failure path leaves nothing behind, or nothing changed.
	failAfter string
}

// injected returns the test-injected failure for stage, if any.
func (o *Options) injected(stage string) error {
	if o.failAfter == stage {
		return fmt.Errorf("injected failure after %s", stage)
	}
	return nil
}

func (o *Options) defaults() {
	if o.RunRoot == "" {
		o.RunRoot = DefaultRunRoot
	}
	if o.DataRoot == "" {
		o.DataRoot = DefaultDataRoot
	}
	if o.XDPMode == "" {
		o.XDPMode = loader.DefaultNACLMode
	}
	if o.DropsFileSize <= 0 {
		o.DropsFileSize = DefaultDropsFileSize
	}
	if o.DropsFilesKept <= 0 {
		o.DropsFilesKept = DefaultDropsFilesKept
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// Lab is a topology that is up: namespaces, datapath and services, owned by
// this process until Close.
type Lab struct {
	opts  Options
	paths Paths
	// changeMu serialises changes (Change); mu guards topo and state,
	// which a change replaces once its steps ran, and reads of the
	// datapath's counters.
	changeMu sync.Mutex
	mu       sync.Mutex
	state    *State
	topo     *vpc.Topology
	plan     *vpc.Plan
	dp       *datapath
	svc      *services.Running
	// createdData records that Up made the data dir, so a failed Up removes it.
	createdData bool

	drops *dropPump  // drop events -> drops.jsonl
	obs   *observers // who watches drops, flows and flow-log records (the web view)

	capMu     sync.Mutex // guards captures
	captures  map[*CaptureSession]bool
	capOnce   sync.Once
	capDropsV *captureDrops

	flowMu             sync.Mutex // serialises drains of the flow counters
	flows              *flowLogs
	flowSrc            flowSource
	pumpStop, pumpDone chan struct{}
}

// Topology returns the topology as currently applied.
func (l *Lab) Topology() *vpc.Topology {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.topo
}

// Plan returns the layout of the running topology.
func (l *Lab) Plan() *vpc.Plan { return l.plan }

// Paths returns where the topology keeps its state.
func (l *Lab) Paths() Paths { return l.paths }

// Up builds topology t (read from file, "" for the built-in lab, with its
// text yaml) and returns when it is ready for traffic. On any failure, or
// when ctx is cancelled, everything it created is removed again.
func Up(ctx context.Context, t *vpc.Topology, file string, yaml []byte, opts Options) (l *Lab, err error) {
	opts.defaults()
	paths := PathsFor(opts.RunRoot, opts.DataRoot, t.Name)
	if s, err := ReadState(paths); err == nil && alive(s.PID) {
		return nil, fmt.Errorf("%w: %s (daemon pid %d); `vpcemu down %s` first", ErrAlreadyUp, t.Name, s.PID, t.Name)
	}
	if leftovers(opts, t.Name) {
		opts.Progress("removing leftovers of an earlier run of " + t.Name)
		if msg := lostOnCrash(paths); msg != "" {
			opts.Progress(msg)
		}
		if err := cleanup(opts, t.Name); err != nil {
			return nil, fmt.Errorf("remove leftovers of %s: %w", t.Name, err)
		}
	}
	l = &Lab{opts: opts, paths: paths, topo: t, plan: rules.NewPlan(t), obs: &observers{}}
	if _, err := os.Stat(paths.Data); errors.Is(err, os.ErrNotExist) {
		l.createdData = true
	}
	if err := os.MkdirAll(paths.Run, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", paths.Run, err)
	}
	defer func() {
		if err != nil {
			if cerr := l.teardown(); cerr != nil {
				err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
			}
			if l.createdData {
				os.RemoveAll(paths.Data)
			}
		}
	}()
	start := time.Now()
	opts.Progress(fmt.Sprintf("building %s: %d subnets, %d instances, %d internet hosts", t.Name, len(t.Subnets), len(t.Instances), len(t.Internet)))
	// The datapath's programs and tables need no namespace: they load
	// (mostly the verifier's CPU time) while the kernel builds the
	// namespaces; only attaching waits for them.
	type loaded struct {
		dp  *datapath
		err error
	}
	dpc := make(chan loaded, 1)
	var loadTook time.Duration
	go func() {
		s := time.Now()
		dp, err := newDatapath(t, l.plan, opts)
		loadTook = time.Since(s)
		dpc <- loaded{dp, err}
	}()
	buildErr := netns.Build(ctx, l.plan, t, opts.Progress)
	ld := <-dpc
	l.dp = ld.dp // nil on error; teardown closes it otherwise
	if buildErr != nil {
		return l, fmt.Errorf("build namespaces: %w", buildErr)
	}
	if err := opts.injected("namespaces"); err != nil {
		return l, err
	}
	if err := ctx.Err(); err != nil {
		return l, err
	}
	if ld.err != nil {
		return l, ld.err
	}
	opts.Progress("attaching the datapath (IGW NAT, NACLs, SGs)")
	attachStart := time.Now()
	if err := l.dp.attach(); err != nil {
		return l, err
	}
	opts.Progress(fmt.Sprintf("datapath loaded in %v (while the namespaces were built), attached in %v", loadTook.Round(time.Millisecond), time.Since(attachStart).Round(time.Millisecond)))
	if err := opts.injected("datapath"); err != nil {
		return l, err
	}
	if err := ctx.Err(); err != nil {
		return l, err
	}
	if src := l.dp.flowSource(); src != nil {
		if err := l.startFlowLogs(src); err != nil {
			return l, err
		}
	}
	if l.drops, err = startDrops(paths, l.dp, l.Topology, l.obs, opts, opts.Log); err != nil {
		return l, err
	}
	opts.Progress("starting services")
	if l.svc, err = services.Start(ctx, paths.Run, serviceSpecs(t, l.plan)); err != nil {
		return l, fmt.Errorf("start services: %w", err)
	}
	if err := opts.injected("services"); err != nil {
		return l, err
	}
	l.state = &State{Name: t.Name, File: file, YAML: string(yaml), PID: os.Getpid(), Started: time.Now().UTC(), XDPMode: string(opts.XDPMode), UI: opts.UI, Metrics: opts.Metrics, API: opts.API}
	if err := writeState(paths, l.state); err != nil {
		return l, err
	}
	if err := opts.injected("state"); err != nil {
		return l, err
	}
	opts.Log.Info("topology up", "name", t.Name, "took", time.Since(start).Round(time.Millisecond))
	return l, nil
}

// Close flushes flow logs and drop records and removes everything Up
// created but those files.
func (l *Lab) Close() error {
	return l.teardown()
}

func (l *Lab) teardown() error {
	var errs []error
	errs = append(errs, l.closeCaptures())
	errs = append(errs, l.stopFlowLogs())
	// Before the datapath closes: the ring buffers go with it.
	if l.drops != nil {
		errs = append(errs, l.drops.stop())
		l.drops = nil
	}
	if l.svc != nil {
		errs = append(errs, l.svc.Stop())
		l.svc = nil
	}
	// Namespaces before the datapath: a program attached to a device can go
	// with the device when the kernel frees the namespace, after `down` has
	// returned; detaching programs one by one first makes `down` wait for
	// the kernel (with tcx, an RCU grace period per hook under RTNL: about
	// 20 s for a thousand instances).
	errs = append(errs, cleanup(l.opts, l.topo.Name))
	if l.dp != nil {
		errs = append(errs, l.dp.Close())
		l.dp = nil
	}
	return errors.Join(errs...)
}

// leftovers tells whether a topology of that name left anything behind.
func leftovers(opts Options, name string) bool {
	if _, err := os.Stat(PathsFor(opts.RunRoot, opts.DataRoot, name).Run); err == nil {
		return true
	}
	names, _ := netns.List()
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// cleanup removes a topology's namespaces, processes and runtime state,
// whoever left them (a clean Close, or a crashed daemon).
func cleanup(opts Options, name string) error {
	paths := PathsFor(opts.RunRoot, opts.DataRoot, name)
	var errs []error
	if err := services.KillLeftovers(paths.Run); err != nil {
		errs = append(errs, fmt.Errorf("stop leftover services: %w", err))
	}
	if err := netns.Teardown(name); err != nil {
		errs = append(errs, fmt.Errorf("remove namespaces: %w", err))
	}
	if err := os.RemoveAll(paths.Run); err != nil {
		errs = append(errs, err)
	}
	os.Remove(paths.Run + ".daemon.log")
	return errors.Join(errs...)
}

// serviceSpecs lists the servers of every instance and internet host.
func serviceSpecs(t *vpc.Topology, p *vpc.Plan) []services.Spec {
	var specs []services.Spec
	for i, in := range t.Instances {
		if len(in.Services) > 0 {
			specs = append(specs, services.Spec{NS: p.Instances[i].NS, Host: in.ID, Services: in.Services})
		}
	}
	for i, h := range t.Internet {
		if len(h.Services) > 0 {
			specs = append(specs, services.Spec{NS: p.Hosts[i].NS, Host: h.Name, Services: h.Services})
		}
	}
	return specs
}

// Down stops the daemon of topology name (if any) and removes everything but
// its flow logs; with purge, the flow logs too. It is idempotent and also
// clears what a crashed run left behind.
func Down(name string, purge bool, opts Options) error {
	opts.defaults()
	paths := PathsFor(opts.RunRoot, opts.DataRoot, name)
	if msg := lostOnCrash(paths); msg != "" {
		opts.Progress(msg)
	}
	if s, err := ReadState(paths); err == nil && alive(s.PID) && s.PID != os.Getpid() {
		opts.Progress(fmt.Sprintf("stopping the daemon of %s (pid %d)", name, s.PID))
		if err := stopDaemon(paths, s.PID); err != nil {
			opts.Log.Warn("daemon did not stop cleanly", "err", err)
		}
	}
	err := cleanup(opts, name)
	if purge {
		if perr := os.RemoveAll(paths.Data); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return err
}

// stopDaemon asks the daemon to stop over its socket, then by signal.
func stopDaemon(paths Paths, pid int) error {
	_, err := Call(paths, Request{Op: "stop"})
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(30 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("daemon pid %d did not exit in 30s: killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// LostOnCrash says what the crashed daemon of topology name took with it
// ("" when none crashed), for commands that start a new one.
func LostOnCrash(runRoot, dataRoot, name string) string {
	o := Options{RunRoot: runRoot, DataRoot: dataRoot}
	o.defaults()
	return lostOnCrash(PathsFor(o.RunRoot, o.DataRoot, name))
}

// lostOnCrash says what a daemon that died without closing took with it:
// its BPF objects (and so the flow counters of the windows it had not yet
// written) lived only as long as its process. "" when there was no daemon.
func lostOnCrash(paths Paths) string {
	s, err := ReadState(paths)
	if err != nil || alive(s.PID) {
		return ""
	}
	if t, err := s.Topology(); err == nil && len(t.FlowLogs) == 0 {
		return fmt.Sprintf("the daemon of %s (pid %d) died without closing", s.Name, s.PID)
	}
	return fmt.Sprintf("the daemon of %s (pid %d) died without closing: flow-log records of the windows it had not written yet are lost (files already under %s are complete)",
		s.Name, s.PID, paths.FlowLogs())
}
