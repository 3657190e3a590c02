package perf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure a benchmark run.
type Options struct {
	Configs  []string      // configuration tokens (ParseConfig); default DefaultConfigs
	Metrics  []string      // default AllMetrics
	Rounds   int           // interleaved rounds; default 3
	Dur      time.Duration // per metric and trial; default 3 s
	Shape    Shape         // default ShapeVPC
	MTU      int           // default 1500 (configurations may override with -mtuM)
	ConnConc int           // connections in flight in the connection test; default 16
	// Slices > 1 brings every configuration of a round up at once and
	// measures each metric in Slices turns of Dur per configuration,
	// alternating between them (ABBA...), the round's figure the mean of
	// its turns: a comparison of configurations that other work on the
	// machine disturbs equally, as it comes in bursts of seconds. 0 or 1:
	// one trial of Dur per configuration, each on its own topology.
	Slices  int
	MaxWall time.Duration // stop starting trials after this long; 0 = no limit
	// Agent is the command line that starts this binary as an agent; the
	// harness appends AgentArg and the agent's arguments, and sets AgentEnv.
	// Default: os.Executable().
	Agent []string
	Log   io.Writer // progress lines; default io.Discard
	Raw   io.Writer // every tool's raw output; default io.Discard
}

func (o *Options) defaults() error {
	if len(o.Configs) == 0 {
		o.Configs = DefaultConfigs
	}
	if len(o.Metrics) == 0 {
		o.Metrics = AllMetrics
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Dur <= 0 {
		o.Dur = 3 * time.Second
	}
	if o.Shape == "" {
		o.Shape = ShapeVPC
	}
	if o.Shape != ShapeVPC && o.Shape != ShapeDirect {
		return fmt.Errorf("unknown shape %q (valid: vpc, direct)", o.Shape)
	}
	if o.MTU == 0 {
		o.MTU = 1500
	}
	if o.ConnConc <= 0 {
		o.ConnConc = 16
	}
	if len(o.Agent) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own executable for the agents: %w", err)
		}
		o.Agent = []string{exe}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Raw == nil {
		o.Raw = io.Discard
	}
	for _, m := range o.Metrics {
		if PrimaryKey(m) == m {
			return fmt.Errorf("unknown metric %q (valid: %s)", m, strings.Join(AllMetrics, ", "))
		}
	}
	return nil
}

// Sample is one measurement: a metric of a configuration in a round.
type Sample struct {
	Round  int                `json:"round"`
	Config string             `json:"config"`
	Metric string             `json:"metric"`
	Values map[string]float64 `json:"values,omitempty"`
	Err    string             `json:"error,omitempty"`
	NA     bool               `json:"na,omitempty"` // the configuration is not available in this build
}

// Results are the samples of a run and what it ran on.
type Results struct {
	Configs []Config `json:"-"`
	Names   []string `json:"configs"` // Configs' tokens, to render saved results again
	Metrics []string `json:"metrics"`
	Rounds  int      `json:"rounds"`
	Dur     string   `json:"dur"`
	Shape   Shape    `json:"shape"`
	MTU     int      `json:"mtu"`
	Env     string   `json:"env"`
	Busy    bool     `json:"busy"`             // load average above 1.5 before the first trial
	Slices  int      `json:"slices,omitempty"` // Options.Slices of the run (0: one trial per configuration and round)
	Start   time.Time
	Wall    time.Duration
	Samples []Sample `json:"samples"`
}

// lockPath serialises runs: two at once would measure each other.
var lockPath = "/run/vpcemu-bench.lock"

// LoadResults reads results saved as JSON (vpcemu-bench -json) so that
// their tables can be rendered again.
func LoadResults(b []byte) (*Results, error) {
	r := &Results{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("parse results: %w", err)
	}
	if len(r.Names) == 0 { // saved before Names existed: the samples' order
		seen := map[string]bool{}
		for _, s := range r.Samples {
			if !seen[s.Config] {
				seen[s.Config] = true
				r.Names = append(r.Names, s.Config)
			}
		}
	}
	for _, tok := range r.Names {
		c, err := ParseConfig(tok)
		if err != nil {
			return nil, err
		}
		r.Configs = append(r.Configs, c)
	}
	return r, nil
}

// Run measures every configuration with every metric, Rounds times,
// interleaved (round 1: every configuration, round 2: every configuration,
// ...), each trial on a fresh topology that is removed afterwards, also when
// ctx is cancelled. A failing trial is recorded, not fatal.
func Run(ctx context.Context, o Options) (*Results, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	var cfgs []Config
	for _, tok := range o.Configs {
		c, err := ParseConfig(tok)
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, c)
	}
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", lockPath, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return nil, fmt.Errorf("another benchmark run holds %s: %w", lockPath, err)
	}
	if rm := RemoveStale(); len(rm) > 0 {
		fmt.Fprintf(o.Log, "removed namespaces of dead runs: %s\n", strings.Join(rm, " "))
	}
	cli, srv := pickCPUs()
	env := &loadEnv{agent: o.Agent, cliCPU: cli, srvCPU: srv, dur: o.Dur, connConc: o.ConnConc, rawWriter: o.Raw}
	res := &Results{Configs: cfgs, Names: o.Configs, Metrics: o.Metrics, Rounds: o.Rounds, Dur: o.Dur.String(), Shape: o.Shape, MTU: o.MTU, Slices: sliceCount(o.Slices),
		Env: envLine(cli, srv), Start: time.Now()}
	load0 := loadAvg()
	defer func() {
		res.Wall = time.Since(res.Start)
		// Other work on the machine moves every figure: say how busy it was.
		load1 := loadAvg()
		res.Env += fmt.Sprintf("; load average (1 min) %s before the first trial, %s at the end (which includes the benchmark's own load)", load0, load1)
		if v, err := strconv.ParseFloat(load0, 64); err == nil && v > 1.5 {
			res.Busy = true
		}
	}()
	for round := 1; round <= o.Rounds; round++ {
		if o.Slices > 1 {
			if o.MaxWall > 0 && time.Since(res.Start) > o.MaxWall {
				fmt.Fprintf(o.Log, "wall-clock budget %s spent: stopping before round %d\n", o.MaxWall, round)
				return res, nil
			}
			res.Samples = append(res.Samples, slicedRound(ctx, o, env, cfgs, round)...)
			if err := ctx.Err(); err != nil {
				return res, err
			}
			continue
		}
		for _, c := range cfgs {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if o.MaxWall > 0 && time.Since(res.Start) > o.MaxWall {
				fmt.Fprintf(o.Log, "wall-clock budget %s spent: stopping before round %d %s\n", o.MaxWall, round, c.Name)
				return res, nil
			}
			ss := trial(ctx, o, env, c, round)
			if failedTrial(ss) && ctx.Err() == nil {
				// One retry on a fresh topology: a trial can be disturbed from
				// outside (e.g. `vpcemu down` removing every vpcemu.* namespace).
				fmt.Fprintf(o.Log, "round %d %-14s retrying once on a fresh topology\n", round, c.Name)
				ss = trial(ctx, o, env, c, round)
			}
			res.Samples = append(res.Samples, ss...)
		}
	}
	return res, ctx.Err()
}

// trial builds a topology, applies c, measures every metric and removes it all.
func trial(ctx context.Context, o Options, env *loadEnv, c Config, round int) []Sample {
	fail := func(err error) []Sample {
		var out []Sample
		for _, m := range o.Metrics {
			out = append(out, Sample{Round: round, Config: c.Name, Metric: m, Err: err.Error(), NA: errors.Is(err, ErrUnavailable)})
		}
		if errors.Is(err, ErrUnavailable) {
			fmt.Fprintf(o.Log, "round %d %-14s n/a: %v\n", round, c.Name, err)
		} else {
			fmt.Fprintf(o.Log, "round %d %-14s FAILED: %v\n", round, c.Name, err)
		}
		return out
	}
	mtu := o.MTU
	if c.MTU != 0 {
		mtu = c.MTU
	}
	shape := o.Shape
	if c.Shape != "" {
		shape = c.Shape
	}
	t := NewTopo(shape, mtu)
	t.raw = o.Raw
	fmt.Fprintf(o.Raw, "=== round %d %s on %s (%s, MTU %d)\n", round, c.Name, t.Prefix, t.Shape, t.MTU)
	if err := t.Up(ctx); err != nil {
		return fail(err)
	}
	defer t.Down()
	release, err := c.Apply(ctx, t)
	if err != nil {
		return fail(fmt.Errorf("apply %s: %w", c.Name, err))
	}
	defer release()
	describe(ctx, o.Raw, t)
	if err := env.check(ctx, t); err != nil {
		return fail(err)
	}
	var out []Sample
	line := fmt.Sprintf("round %d %-14s", round, c.Name)
	for _, m := range o.Metrics {
		fmt.Fprintf(o.Raw, "--- %s\n", m)
		vals, err := env.measure(ctx, m, t)
		s := Sample{Round: round, Config: c.Name, Metric: m, Values: vals}
		if err != nil {
			s.Err = err.Error()
			line += fmt.Sprintf(" %s=ERR", m)
			fmt.Fprintf(o.Raw, "error: %v\n", err)
		} else {
			line += fmt.Sprintf(" %s=%.4g%s", m, vals[PrimaryKey(m)], Unit(m))
		}
		out = append(out, s)
	}
	fmt.Fprintln(o.Log, line)
	return out
}

// sliceCount is what Results.Slices records of Options.Slices.
func sliceCount(n int) int {
	if n > 1 {
		return n
	}
	return 0
}

// slicedRound brings every configuration up on its own topology, then
// measures each metric o.Slices times per configuration, in turns whose
// order reverses every turn (A B, B A, A B, ...), and records per
// configuration and metric the mean of its turns' values. Round r starts
// with configuration r-1 (mod the count).
func slicedRound(ctx context.Context, o Options, env *loadEnv, cfgs []Config, round int) []Sample {
	type live struct {
		c    Config
		t    *Topo
		vals []map[string]float64 // per metric: sums over the turns
		n    []int
		errs []string
	}
	var out []Sample
	var ls []*live
	defer func() {
		for i := len(ls) - 1; i >= 0; i-- {
			ls[i].t.Down()
		}
	}()
	// Each round starts with another configuration, in building the
	// topologies and in the turns: whichever came first measured ~5 %
	// apart from the next in A/A runs.
	k := (round - 1) % len(cfgs)
	for _, c := range append(cfgs[k:len(cfgs):len(cfgs)], cfgs[:k]...) {
		mtu, shape := o.MTU, o.Shape
		if c.MTU != 0 {
			mtu = c.MTU
		}
		if c.Shape != "" {
			shape = c.Shape
		}
		t := NewTopo(shape, mtu)
		t.raw = o.Raw
		fmt.Fprintf(o.Raw, "=== round %d %s on %s (%s, MTU %d, %d turns)\n", round, c.Name, t.Prefix, t.Shape, t.MTU, o.Slices)
		fail := func(err error) {
			for _, m := range o.Metrics {
				out = append(out, Sample{Round: round, Config: c.Name, Metric: m, Err: err.Error(), NA: errors.Is(err, ErrUnavailable)})
			}
			fmt.Fprintf(o.Log, "round %d %-14s FAILED: %v\n", round, c.Name, err)
		}
		if err := t.Up(ctx); err != nil {
			fail(err)
			continue
		}
		release, err := c.Apply(ctx, t)
		if err != nil {
			t.Down()
			fail(fmt.Errorf("apply %s: %w", c.Name, err))
			continue
		}
		defer release()
		describe(ctx, o.Raw, t)
		if err := env.check(ctx, t); err != nil {
			t.Down()
			fail(err)
			continue
		}
		l := &live{c: c, t: t, vals: make([]map[string]float64, len(o.Metrics)), n: make([]int, len(o.Metrics)), errs: make([]string, len(o.Metrics))}
		for i := range l.vals {
			l.vals[i] = map[string]float64{}
		}
		ls = append(ls, l)
	}
	lines := make([]string, len(ls))
	for i, l := range ls {
		lines[i] = fmt.Sprintf("round %d %-14s", round, l.c.Name)
	}
	for mi, m := range o.Metrics {
		for turn := 0; turn < o.Slices; turn++ {
			for j := range ls {
				i := j
				if turn%2 == 1 {
					i = len(ls) - 1 - j
				}
				l := ls[i]
				if ctx.Err() != nil {
					break
				}
				fmt.Fprintf(o.Raw, "--- round %d %s %s turn %d\n", round, l.c.Name, m, turn+1)
				vals, err := env.measure(ctx, m, l.t)
				if err != nil {
					l.errs[mi] = err.Error()
					fmt.Fprintf(o.Raw, "error: %v\n", err)
					continue
				}
				for k, v := range vals {
					l.vals[mi][k] += v
				}
				l.n[mi]++
				lines[i] += fmt.Sprintf(" %.4g", vals[PrimaryKey(m)])
			}
		}
		for i, l := range ls {
			s := Sample{Round: round, Config: l.c.Name, Metric: m}
			if l.n[mi] == 0 {
				s.Err = l.errs[mi]
				if s.Err == "" {
					s.Err = "interrupted"
				}
				lines[i] += fmt.Sprintf(" => %s=ERR", m)
			} else {
				s.Values = map[string]float64{}
				for k, v := range l.vals[mi] {
					s.Values[k] = v / float64(l.n[mi])
				}
				lines[i] += fmt.Sprintf(" => %s=%.4g%s", m, s.Values[PrimaryKey(m)], Unit(m))
			}
			out = append(out, s)
		}
	}
	for _, line := range lines {
		fmt.Fprintln(o.Log, line)
	}
	return out
}

// pickCPUs pins load generators to the first CPU we may use and receivers to
// the second, as the peers did (with veth, the sender's CPU also does the
// forwarding and filtering in softirq).
func pickCPUs() (cli, srv int) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, 0
	}
	var cpus []int
	for i := 0; i < 1024 && len(cpus) < 2; i++ {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	switch len(cpus) {
	case 0:
		return 0, 0
	case 1:
		return cpus[0], cpus[0]
	}
	return cpus[0], cpus[1]
}

func envLine(cli, srv int) string {
	var u unix.Utsname
	_ = unix.Uname(&u)
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("kernel %s, %d CPUs (%s), generators on CPU %d, receivers on CPU %d, %s",
		unix.ByteSliceToString(u.Release[:]), runtime.NumCPU(), model, cli, srv, runtime.Version())
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// describe logs the state a configuration leaves behind that explains its
// figures: segmentation offloads of the instances' veths (a native XDP
// program on a veth turns TSO off on its peer), attached XDP programs and
// tcx links, netfilter rule counts.
func describe(ctx context.Context, w io.Writer, t *Topo) {
	if w == io.Discard {
		return
	}
	ports := []Port{{t.ClientNS, t.ClientIf}, {t.ServerNS, t.ServerIf}}
	for _, s := range t.Subnets {
		ports = append(ports, s.RouterIf, s.SubnetIf)
	}
	for _, p := range ports {
		if !p.Valid() {
			continue
		}
		out, _ := nsRun(ctx, p.NS, "", "ethtool", "-k", p.If)
		var offl []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "tcp-segmentation-offload:") || strings.HasPrefix(l, "generic-segmentation-offload:") || strings.HasPrefix(l, "generic-receive-offload:") {
				offl = append(offl, strings.TrimSpace(l))
			}
		}
		fmt.Fprintf(w, "offloads %s/%s: %s\n", p.NS, p.If, strings.Join(offl, ", "))
	}
	for _, s := range t.Subnets {
		for _, p := range []Port{s.RouterIf, s.SubnetIf, s.ENIPeer} {
			if !p.Valid() {
				continue
			}
			out, _ := run(ctx, "", "ip", "-n", p.NS, "-d", "link", "show", "dev", p.If)
			var xdp []string
			for _, f := range strings.Split(out, "\n") {
				f = strings.TrimSpace(f)
				if strings.HasPrefix(f, "prog/xdp") {
					xdp = append(xdp, f)
				}
			}
			fmt.Fprintf(w, "xdp on %s/%s: %s\n", p.NS, p.If, strings.Join(xdp, "; "))
		}
	}
	out, _ := nsRun(ctx, t.RouterNS, "", "nft", "list", "ruleset")
	fmt.Fprintf(w, "netfilter rules in %s: %d\n", t.RouterNS, strings.Count(out, "accept")+strings.Count(out, "drop"))
}

// failedTrial reports whether every sample of a trial failed for a reason
// other than the configuration being unavailable.
func failedTrial(ss []Sample) bool {
	for _, s := range ss {
		if s.Err == "" || s.NA {
			return false
		}
	}
	return len(ss) > 0
}
