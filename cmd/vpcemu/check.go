package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/intent"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/livecheck"
	"github.com/vpcemu/vpcemu/vpc"
)

type checkOptions struct {
	global  *globalOptions
	file    string
	intents string
	live    bool
	liveMax int
	junit   string
	output  string
	policy  string
}

func newCheckCmd(g *globalOptions) *cobra.Command {
	o := &checkOptions{global: g}
	c := &cobra.Command{
		Use:   "check [-f TOPOLOGY] INTENTS.yaml [--live] [--junit FILE] [-o text|json|github] [--policy default]",
		Short: "check that a topology lets through exactly what an intents file expects (exit 0 all hold, 1 some fail, 2 invalid input)",
		Long: `check decides every intent of INTENTS.yaml (reach / no_reach between
instances, ENIs, security groups, subnets, CIDRs and the internet) over all
the flows it covers: addresses and ports are split at every rule boundary
into equivalence classes, and the reference evaluator decides one flow of
each. A failed intent shows a counterexample flow and the explain walk that
decides it.

The topology is -f FILE, else the intents file's topology:, else (with -t)
the running topology's live rules, else the built-in lab.

--policy default adds the built-in behavioural checks (VPC001-VPC007).
--live brings the topology up under a fresh name (or uses the running one
given with -t), sends one representative flow per class as real packets
(at most --live-max), and reports any flow where the packets and the
evaluator disagree as an internal error (exit status 3).`,
		Example: `  vpcemu check examples/ci/intents.yaml
  vpcemu check -f my-vpc.yaml intents.yaml --policy default -o github --junit report.xml
  sudo vpcemu check examples/ci/intents.yaml --live`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.intents = args[0]
			return runCheck(c.Context(), c.OutOrStdout(), c.ErrOrStderr(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.file, "file", "f", "", "topology file (default: the intents file's topology:, else the built-in lab)")
	f.BoolVar(&o.live, "live", false, "also send representative flows as real packets (needs root)")
	f.IntVar(&o.liveMax, "live-max", 64, "most flows --live sends")
	f.StringVar(&o.junit, "junit", "", "also write JUnit XML to FILE")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or github (Actions annotations)")
	f.StringVar(&o.policy, "policy", "", "run a built-in policy set: default")
	return c
}

// invalid prints input errors (as annotations with -o github) and exits 2.
func invalid(w io.Writer, output string, err error) error {
	var list vpc.ErrorList
	if output == "github" && errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintf(w, "::error file=%s,line=%d,col=%d,title=invalid input::%s\n", e.File, e.Line, e.Column, e.Msg)
		}
	}
	fmt.Fprintf(w, "vpcemu check: invalid input:\n%v\n", err)
	return exitError{code: 2}
}

// checkTopology picks the topology the intents are checked against.
func checkTopology(o *checkOptions, f *intent.File) (t *vpc.Topology, file string, yaml []byte, err error) {
	switch {
	case o.file != "" && o.global.topology != "":
		return nil, "", nil, errors.New("give -f FILE or -t NAME (a running topology), not both")
	case o.file != "":
		file = o.file
	case o.global.topology != "":
		rt, err := liveTopology(o.global.topology)
		if err != nil {
			return nil, "", nil, err
		}
		if rt == nil {
			return nil, "", nil, fmt.Errorf("topology %s is not up", o.global.topology)
		}
		return rt, "topology " + rt.Name + " (live rules)", nil, nil
	case f.Topology != "":
		file = f.Topology
		if !filepath.IsAbs(file) {
			file = filepath.Join(filepath.Dir(f.Path), file)
		}
	default:
		return vpc.Lab(), "lab.yaml (built-in)", vpc.LabYAML, nil
	}
	t, yaml, err = loadTopology(file)
	return t, file, yaml, err
}

func runCheck(ctx context.Context, w, ew io.Writer, o *checkOptions) error {
	switch o.output {
	case "text", "json", "github":
	default:
		return fmt.Errorf("check: -o %q: want text, json or github", o.output)
	}
	start := time.Now()
	f, perr := intent.Load(o.intents)
	if f == nil {
		return invalid(ew, o.output, perr)
	}
	t, tfile, tyaml, err := checkTopology(o, f)
	if err != nil {
		return invalid(ew, o.output, err)
	}
	var policies []intent.Policy
	if o.policy != "" {
		if policies, err = intent.PolicyByName(o.policy); err != nil {
			return invalid(ew, o.output, err)
		}
	}
	if o.live {
		if err := requireRoot("check --live"); err != nil {
			return err
		}
	}
	ck := intent.NewChecker(t)
	if err := intent.JoinErrors(perr, ck.Validate(f)); err != nil {
		return invalid(ew, o.output, err)
	}
	results, err := ck.CheckFile(f)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	rep := &intent.Report{IntentsFile: o.intents, TopologyFile: tfile, Topology: t.Name, Results: results}
	if policies != nil {
		rep.Policies = policies
		rep.Findings = ck.RunPolicies(policies, f)
	}
	rep.Evaluations = ck.Evaluations()
	if o.live {
		rep.Live, err = runLive(ctx, o, ck, t, tfile, tyaml, results)
		if err != nil {
			return fmt.Errorf("check --live: %w", err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	if o.junit != "" {
		if err := writeFileWith(o.junit, rep.WriteJUnit); err != nil {
			return fmt.Errorf("check: --junit: %w", err)
		}
	}
	switch o.output {
	case "json":
		err = rep.WriteJSON(w)
	case "github":
		err = rep.WriteGitHub(w)
	default:
		err = rep.WriteText(w)
	}
	if err != nil {
		return fmt.Errorf("check: write: %w", err)
	}
	if code := rep.ExitCode(); code != 0 {
		return exitError{code: code}
	}
	return nil
}

func writeFileWith(path string, write func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

var reTopoName = regexp.MustCompile(`(?m)^name:.*$`)

// runLive sends the representative flows through the running topology
// named by -t, or through t brought up under a fresh name for the run.
func runLive(ctx context.Context, o *checkOptions, ck *intent.Checker, t *vpc.Topology, file string, yaml []byte, results []*intent.Result) (*intent.Live, error) {
	flows, total := ck.LiveFlows(results, o.liveMax)
	classes := 0
	for _, r := range results {
		classes += r.NClass
	}
	run := t
	if o.global.topology == "" {
		// A copy under a name of its own: never a running topology's.
		name := fmt.Sprintf("chk-%d", os.Getpid()%100000)
		c := *t
		c.Name = name
		run = &c
		if yaml == nil {
			yaml = t.YAML()
		}
		yaml = reTopoName.ReplaceAll(yaml, []byte("name: "+name))
		l, err := lab.Up(ctx, run, file, yaml, lab.Options{})
		if err != nil {
			return nil, fmt.Errorf("bring up %s: %w", name, err)
		}
		defer func() {
			l.Close()
			os.RemoveAll(l.Paths().Data)
		}()
	}
	live, err := livecheck.Send(ctx, run, vpc.NewPlan(run), flows, livecheck.Options{})
	if err != nil {
		return nil, err
	}
	live.Classes, live.Flows, live.Limit = classes, total, o.liveMax
	return live, nil
}
