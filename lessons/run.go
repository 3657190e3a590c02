package lessons

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Options control a lesson run.
type Options struct {
	Lang     string // "en" (default) or "ko"
	RunRoot  string // lab state; default lab.DefaultRunRoot
	DataRoot string // flow logs; default lab.DefaultDataRoot
	// Name is the topology name of the run; default "ls-SHORT-NNNN" from the pid.
	Name string
	// File and YAML replace the lesson's own topology (a user's edited copy).
	File string
	YAML []byte
	// Mutate changes the parsed topology before it is brought up, bypassing
	// validation: tests use it to check that the lessons catch a broken
	// emulator (e.g. a 1 s tracking timeout, a missing NACL rule).
	Mutate func(*vpc.Topology)
	// KeepFlowLogs keeps the run's flow-log files after the lesson (default: removed).
	KeepFlowLogs bool
	// OnUp is called with the lab once the topology is up (the web view
	// serves it); the function it returns is called before the teardown.
	OnUp func(*lab.Lab) (done func())
	// UI is the web view's address that state.json records ("" = none).
	UI string
	// OnStart is called once the topology is up, OnStep after every step.
	OnStart func(*Lesson, *Result)
	OnStep  func(*Lesson, *StepResult)
	// BeforeStep is called before step n (1-based) runs; an error stops the
	// lesson (--step waits for Enter here).
	BeforeStep func(ctx context.Context, n int, title string) error
	Progress   func(msg string)
}

// Result is a lesson run: every step with what it changed, sent, observed
// and checked.
type Result struct {
	Lesson      string       `json:"lesson"`
	Title       string       `json:"title"`
	Intro       string       `json:"intro"`
	Topology    string       `json:"topology"`
	File        string       `json:"file"`
	Differences []string     `json:"settings_differing_from_file,omitempty"`
	Steps       []StepResult `json:"steps"`
	Outro       string       `json:"outro,omitempty"`
	Passed      bool         `json:"passed"`
	Error       string       `json:"error,omitempty"`
	Seconds     float64      `json:"seconds"`
	FlowLogDir  string       `json:"flow_log_dir,omitempty"`
}

// StepResult is one step of a run.
type StepResult struct {
	Number     int       `json:"number"`
	Title      string    `json:"title"`
	Narration  string    `json:"narration,omitempty"`
	Changes    []Change  `json:"changes,omitempty"`
	Pause      string    `json:"pause,omitempty"`
	Traffic    []Traffic `json:"traffic,omitempty"`
	Checks     []Check   `json:"checks"`
	FlowLogs   []string  `json:"flow_log_records,omitempty"`
	FlowNote   string    `json:"flow_log_note,omitempty"`
	Conclusion string    `json:"conclusion,omitempty"`
	// Restart says that the step's changes were made by bringing the
	// topology down and up again, as they could not be made live.
	Restart string `json:"restart,omitempty"`
	Passed  bool   `json:"passed"`
}

// Change is one rule change a step made, with the AWS CLI command that does
// the same on AWS.
type Change struct {
	What string   `json:"what"`
	AWS  []string `json:"aws_cli"`
}

// Traffic is one real attempt to reach a service.
type Traffic struct {
	What     string `json:"what"`
	Command  string `json:"command"`
	Works    bool   `json:"works"`
	Port     int    `json:"client_port,omitempty"`
	PortNote string `json:"client_port_note,omitempty"`
	// ServerSaw is the client's address and port as the server saw them,
	// when a NAT gateway translated them.
	ServerSaw string  `json:"server_saw,omitempty"`
	Seconds   float64 `json:"seconds"`
	Detail    string  `json:"detail,omitempty"`
	Verdict   string  `json:"explain_verdict,omitempty"`
	Explain   string  `json:"explain,omitempty"`
}

// Check is one outcome compared with AWS's behaviour.
type Check struct {
	What     string `json:"what"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Why      string `json:"why,omitempty"`
	OK       bool   `json:"ok"`
	Message  string `json:"message,omitempty"` // why it failed, naming the difference
}

// env is the state of one run that steps and checks see.
type env struct {
	ctx    context.Context
	lesson *Lesson
	opts   Options
	lab    *lab.Lab
	file   string        // where the topology came from
	topo   *vpc.Topology // as currently applied
	held   map[string]net.Conn
	seen   map[string]bool // flow-log files read so far
	recs   []flowRecord    // records of the current step
	all    []flowRecord    // every record read so far
	diff   []string        // where the run's topology differs from the file
	trafs  []Traffic       // traffic of the current step

	uiDone    func() // ends the web view's watch (OnUp)
	stopDrops func() // ends the drop observer
	dropMu    sync.Mutex
	drops     []lab.Drop // the datapath's drops since the current step began
}

// labOptions are the options the run brings its topology up with.
func (e *env) labOptions() lab.Options {
	return lab.Options{RunRoot: e.opts.RunRoot, DataRoot: e.opts.DataRoot, Progress: e.opts.Progress, UI: e.opts.UI}
}

// watch starts what watches the running lab: the web view (OnUp) and the
// drop observer; unwatch stops them.
func (e *env) watch() {
	if e.opts.OnUp != nil {
		e.uiDone = e.opts.OnUp(e.lab)
	}
	e.stopDrops = e.observeDrops()
}

func (e *env) unwatch() {
	e.stopDrops()
	if e.uiDone != nil {
		e.uiDone()
		e.uiDone = nil
	}
}

// restart brings the topology down and up again as e.topo: for changes the
// running topology cannot make live (change.anew). Flow-log files already
// written stay and are not read again.
func (e *env) restart() error {
	for k, c := range e.held {
		c.Close()
		delete(e.held, k)
	}
	e.unwatch()
	if err := e.lab.Close(); err != nil {
		e.lab = nil
		return fmt.Errorf("bring %s down to restart it: %w", e.opts.Name, err)
	}
	l, err := lab.Up(e.ctx, e.topo, e.file, e.topo.YAML(), e.labOptions())
	if err != nil {
		os.RemoveAll(e.lab.Paths().Data)
		e.lab = nil
		return fmt.Errorf("bring %s up again with the step's changes: %w", e.opts.Name, err)
	}
	e.lab = l
	e.watch()
	return nil
}

// observeDrops keeps the drops the datapath reports from now on; the
// returned function stops that.
func (e *env) observeDrops() (stop func()) {
	return e.lab.Observe(lab.Observer{Drop: func(d *lab.Drop) {
		e.dropMu.Lock()
		e.drops = append(e.drops, *d)
		e.dropMu.Unlock()
	}})
}

// stepDrops returns the drops reported since the current step began.
func (e *env) stepDrops() []lab.Drop {
	e.dropMu.Lock()
	defer e.dropMu.Unlock()
	return slices.Clone(e.drops)
}

var reNameLine = regexp.MustCompile(`(?m)^name:.*$`)

// RunName returns the topology name a run of l uses by default.
func RunName(l *Lesson) string {
	return fmt.Sprintf("ls-%s-%04d", l.Short, os.Getpid()%10000)
}

// Run brings the lesson's topology up, runs every step and tears it down
// again (also when ctx is cancelled). The error is for a lesson that could
// not run; outcomes that differ from AWS's make Result.Passed false.
func Run(ctx context.Context, l *Lesson, opts Options) (res *Result, err error) {
	if opts.Lang == "" {
		opts.Lang = "en"
	}
	if opts.RunRoot == "" {
		opts.RunRoot = lab.DefaultRunRoot
	}
	if opts.DataRoot == "" {
		opts.DataRoot = lab.DefaultDataRoot
	}
	if opts.Name == "" {
		opts.Name = RunName(l)
	}
	file, data := opts.File, opts.YAML
	if data == nil {
		file, data = "examples/lessons/"+l.Name+".yaml", l.YAML()
	}
	start := time.Now()
	res = &Result{Lesson: l.Name, Title: l.title.in(opts.Lang), Intro: l.intro.in(opts.Lang), Topology: opts.Name, File: file}
	defer func() { res.Seconds = time.Since(start).Seconds() }()
	renamed := reNameLine.ReplaceAll(data, []byte("name: "+opts.Name))
	t, err := vpc.Parse(file, renamed)
	if err != nil {
		return res, err
	}
	if opts.Mutate != nil {
		before := t.YAML()
		opts.Mutate(t)
		res.Differences = lineDiff(string(before), string(t.YAML()))
	}
	e := &env{ctx: ctx, lesson: l, opts: opts, file: file, topo: t, held: map[string]net.Conn{}, seen: map[string]bool{}, diff: res.Differences}
	e.lab, err = lab.Up(ctx, t, file, renamed, e.labOptions())
	if err != nil {
		return res, fmt.Errorf("bring up the lesson's topology %s: %w", opts.Name, err)
	}
	e.watch()
	defer func() {
		for _, c := range e.held {
			c.Close()
		}
		if e.lab == nil { // a restart failed half way: nothing is up
			return
		}
		e.unwatch()
		cerr := e.lab.Close()
		if opts.KeepFlowLogs {
			res.FlowLogDir = e.lab.Paths().FlowLogs()
		} else {
			os.RemoveAll(e.lab.Paths().Data)
		}
		if cerr != nil && err == nil {
			err = fmt.Errorf("tear down %s: %w", opts.Name, cerr)
		}
	}()
	if opts.OnStart != nil {
		opts.OnStart(l, res)
	}
	res.Passed = true
	for i := range l.steps {
		if opts.BeforeStep != nil {
			if err := opts.BeforeStep(ctx, i+1, l.steps[i].title.in(opts.Lang)); err != nil {
				return res, err
			}
		}
		sr, err := e.runStep(i+1, &l.steps[i])
		if err != nil {
			res.Passed = false
			return res, fmt.Errorf("step %d (%s): %w", i+1, l.steps[i].title.en, err)
		}
		res.Steps = append(res.Steps, *sr)
		res.Passed = res.Passed && sr.Passed
		if opts.OnStep != nil {
			opts.OnStep(l, sr)
		}
	}
	res.Outro = l.outro.in(opts.Lang)
	return res, nil
}

// runStep applies a step's changes, sends its traffic and checks the outcomes.
func (e *env) runStep(n int, s *step) (*StepResult, error) {
	lang := e.opts.Lang
	sr := &StepResult{Number: n, Title: s.title.in(lang), Narration: s.say.in(lang), Conclusion: s.after.in(lang), Passed: true}
	e.dropMu.Lock()
	e.drops = nil
	e.dropMu.Unlock()
	restarted := false
	for _, c := range s.changes {
		nt := clone(e.topo)
		if err := c.apply(nt); err != nil {
			return nil, fmt.Errorf("change %q: %w", c.what.en, err)
		}
		sortNACLs(nt)
		if !restarted {
			err := e.lab.ApplyTopology(nt)
			switch {
			case err != nil && c.anew && errors.Is(err, lab.ErrNotLive):
				// The rest of the step's changes are made in the model
				// only: the restart below brings them up at once.
				restarted = true
			case err != nil:
				return nil, fmt.Errorf("apply %q: %w", c.what.en, err)
			}
		}
		e.topo = nt
		sr.Changes = append(sr.Changes, Change{What: c.what.in(lang), AWS: c.aws})
	}
	if restarted {
		if err := e.restart(); err != nil {
			return nil, err
		}
		sr.Restart = text{
			"this vpcemu cannot yet make this change on a running topology, so it brought the topology down and up again with the change made: held connections and connection tracking start anew, which on AWS they would not",
			"이 vpcemu는 아직 실행 중인 토폴로지에서 이 변경을 할 수 없어, 변경을 반영해 토폴로지를 내렸다가 다시 올렸습니다. 유지 중인 연결과 연결 추적이 새로 시작되며, AWS에서는 그렇지 않습니다",
		}.in(lang)
	}
	if s.pause.seconds > 0 {
		sr.Pause = fmt.Sprintf("%ds: %s", s.pause.seconds, s.pause.why.in(lang))
		select {
		case <-time.After(time.Duration(s.pause.seconds) * time.Second):
		case <-e.ctx.Done():
			return nil, e.ctx.Err()
		}
	}
	e.trafs = nil
	var ports []portPair
	for i := range s.probes {
		p := &s.probes[i]
		o, err := e.run(e.ctx, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.label(), err)
		}
		tr := Traffic{What: p.label(), Command: o.command, Works: o.works, Port: o.port, Seconds: o.elapsed.Seconds(), Detail: o.detail}
		if o.serverSaw.IsValid() {
			tr.ServerSaw = o.serverSaw.String()
			ports = append(ports, portPair{client: int(o.serverSaw.Port()), server: p.dport()})
		}
		src, _ := e.source(p.from)
		if o.port == 0 {
			tr.PortNote = "unknown"
		} else if ok, lo, hi := inRange(src.os, o.port); p.hold == "" || p.hold == "open" {
			tr.PortNote = portNote(lang, ok, src.os, lo, hi)
		}
		if p.hold != "send" {
			tr.Verdict, tr.Explain = e.explain(p, src, o.port)
			if !p.explain {
				tr.Explain = ""
			}
		}
		e.trafs = append(e.trafs, tr)
		sr.Traffic = append(sr.Traffic, tr)
		sr.Checks = append(sr.Checks, e.checkProbe(p, &tr))
		if o.port != 0 {
			ports = append(ports, portPair{client: o.port, server: p.dport()})
		}
		if p.inRange {
			ok, lo, hi := inRange(src.os, o.port)
			c := Check{What: fmt.Sprintf("%s's source port is in its OS's range", p.from),
				Expected: fmt.Sprintf("%d-%d (%s)", lo, hi, src.os), Observed: fmt.Sprint(o.port), OK: ok}
			if !ok {
				c.Message = fmt.Sprintf("%s used port %d, outside the %d-%d that %s uses", p.from, o.port, lo, hi, src.os)
				c.Message += e.diffNote()
			}
			sr.Checks = append(sr.Checks, c)
		}
	}
	if err := e.readFlowLogs(); err != nil {
		return nil, err
	}
	sr.FlowLogs, sr.FlowNote = e.flowLines(ports, lang)
	for _, c := range s.checks {
		sr.Checks = append(sr.Checks, c(e)...)
	}
	for _, c := range sr.Checks {
		sr.Passed = sr.Passed && c.OK
	}
	return sr, nil
}

// checkProbe compares a probe's outcome with AWS's.
func (e *env) checkProbe(p *probe, tr *Traffic) Check {
	c := Check{What: p.label(), Expected: worksWord(p.want), Observed: worksWord(tr.Works), Why: p.why.in(e.opts.Lang), OK: p.want == tr.Works}
	if !c.OK {
		c.Message = fmt.Sprintf("%s: on AWS this %s (%s), here it %s", p.label(), worksVerb(p.want), p.why.en, worksVerb(tr.Works))
		if tr.Detail != "" {
			c.Message += " (" + tr.Detail + ")"
		}
		if tr.Verdict != "" {
			c.Message += "; the rules as applied say: " + tr.Verdict
		}
		c.Message += e.diffNote()
	}
	return c
}

// diffNote names how this run's settings differ from the lesson's file.
func (e *env) diffNote() string {
	if len(e.diff) == 0 {
		return ""
	}
	return "; this run's topology differs from the lesson's file: " + strings.Join(e.diff, ", ")
}

func worksWord(b bool) string {
	if b {
		return "works"
	}
	return "fails"
}

func worksVerb(b bool) string {
	if b {
		return "works"
	}
	return "fails"
}

// explain asks the reference evaluator about the probe's flow as the rules stand.
func (e *env) explain(p *probe, src endpoint, port int) (verdict, text string) {
	dst, err := e.target(src, p.to)
	if err != nil {
		return "", ""
	}
	a := rules.Explain(e.topo, rules.Query{From: p.from, To: dst.String(), Protocol: vpc.ProtoTCP, Port: p.dport(), SourcePort: port})
	var b strings.Builder
	_ = a.WriteText(&b)
	return a.Verdict, b.String()
}

// ErrStopped is returned by a BeforeStep hook to stop a lesson early.
var ErrStopped = errors.New("lesson stopped")

// portNote says whether a client port is in its OS's ephemeral range.
func portNote(lang string, ok bool, os string, lo, hi int) string {
	switch {
	case lang == "ko" && ok:
		return fmt.Sprintf("%s의 임시 포트 범위 %d-%d 안", os, lo, hi)
	case lang == "ko":
		return fmt.Sprintf("%s의 임시 포트 범위 %d-%d 밖!", os, lo, hi)
	case ok:
		return fmt.Sprintf("in %s's ephemeral range %d-%d", os, lo, hi)
	}
	return fmt.Sprintf("OUTSIDE %s's ephemeral range %d-%d", os, lo, hi)
}
