package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/flowlog/parquetlog"
	"github.com/vpcemu/vpcemu/intent"
)

type diffOptions struct {
	old, new string
	exitCode bool
	replay   []string
	output   string
}

func newDiffCmd(_ *globalOptions) *cobra.Command {
	o := &diffOptions{}
	c := &cobra.Command{
		Use:         "diff OLD NEW [--exit-code] [--replay PATH...] [-o text|json]",
		Short:       "every flow whose verdict differs between two topology files, and the rules responsible",
		Annotations: map[string]string{annotTopology: "unused"},
		Long: `diff compares two topology files exhaustively: every flow between their
instances and the internet, split into the classes the rules of either
tell apart, and lists the flows whose verdict changes (newly allowed,
newly denied, reply newly blocked), grouped by endpoints, protocol and
ports, with the rule or route that decides on each side.

--replay reads flow-log records (files or directories: *.log.gz and *.log
in any format vpcemu writes or AWS delivers to S3, *.parquet) and lists the
accepted traffic NEW would reject, with packet and byte counts: what the
change would have broken when the records were written.

--exit-code exits 1 when there is a change (or a replayed flow breaks).`,
		Example: `  vpcemu diff main.yaml pr.yaml
  vpcemu diff main.yaml pr.yaml --exit-code -o json
  vpcemu diff main.yaml pr.yaml --replay /var/lib/vpcemu/lab/flowlogs`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			o.old, o.new = args[0], args[1]
			return runDiff(c.OutOrStdout(), c.ErrOrStderr(), o)
		},
	}
	c.Flags().BoolVar(&o.exitCode, "exit-code", false, "exit with status 1 when a verdict changes")
	c.Flags().StringArrayVar(&o.replay, "replay", nil, "replay the flow-log records under PATH against NEW (repeatable)")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return c
}

func runDiff(w, ew io.Writer, o *diffOptions) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("diff: -o %q: want text or json", o.output)
	}
	old, _, err := loadTopology(o.old)
	if err != nil {
		fmt.Fprintf(ew, "vpcemu diff: invalid input:\n%v\n", err)
		return exitError{code: 2}
	}
	new, _, err := loadTopology(o.new)
	if err != nil {
		fmt.Fprintf(ew, "vpcemu diff: invalid input:\n%v\n", err)
		return exitError{code: 2}
	}
	res := intent.Diff(old, new)
	var rep *intent.ReplayResult
	if len(o.replay) > 0 {
		r := intent.NewReplayer(old, new)
		for _, p := range o.replay {
			if err := replayPath(r, p); err != nil {
				fmt.Fprintf(ew, "vpcemu diff: --replay: %v\n", err)
				return exitError{code: 2}
			}
		}
		rep = r.Result()
	}
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			Old    string               `json:"old"`
			New    string               `json:"new"`
			Diff   *intent.DiffResult   `json:"diff"`
			Replay *intent.ReplayResult `json:"replay,omitempty"`
		}{o.old, o.new, res, rep})
	} else {
		err = writeDiffText(w, o, res, rep)
	}
	if err != nil {
		return fmt.Errorf("diff: write: %w", err)
	}
	if o.exitCode && (len(res.Changes) > 0 || (rep != nil && len(rep.Broken) > 0)) {
		return exitError{code: 1}
	}
	return nil
}

func writeDiffText(w io.Writer, o *diffOptions, res *intent.DiffResult, rep *intent.ReplayResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s -> %s: %d changes (%d endpoint pairs compared, %d untouched by the change, %d classes)\n",
		o.old, o.new, len(res.Changes), res.Pairs, res.Skipped, res.Classes)
	for _, c := range res.Changes {
		what := c.Protocol
		if c.Ports != "" {
			what += " " + c.Ports
		}
		fmt.Fprintf(&b, "%s: %s -> %s %s", c.Kind, c.From, c.To, what)
		if c.Addrs != "" {
			fmt.Fprintf(&b, " (addresses %s)", c.Addrs)
		}
		if c.Sources != "" {
			fmt.Fprintf(&b, " (source ports %s)", c.Sources)
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "    before: %s by %s\n", c.Old, rulesLine(c.OldRules))
		fmt.Fprintf(&b, "    after:  %s by %s\n", c.New, rulesLine(c.NewRules))
		fmt.Fprintf(&b, "    e.g. %s\n", c.Example)
	}
	if rep != nil {
		fmt.Fprintf(&b, "Replay: %d records, %d accepted, %d of them rejected by %s: %d connections\n",
			rep.Records, rep.Accepted, rep.Rejected, o.new, len(rep.Broken))
		for _, g := range rep.Groups {
			port := ""
			if g.Port != 0 {
				port = fmt.Sprintf(" %d", g.Port)
			}
			fmt.Fprintf(&b, "would break: %s -> %s %s%s: %d connections, %d packets, %d bytes (%s by %s)\n",
				g.From, g.To, g.Protocol, port, g.Connections, g.Packets, g.Bytes, g.Verdict, rulesLine(g.Rules))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func rulesLine(rs []intent.Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Text)
	}
	return strings.Join(s, "; ")
}

// replayPath feeds the records of a file, or of every log file under a
// directory, to r.
func replayPath(r *intent.Replayer, path string) error {
	return filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasPrefix(name, ".") {
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".log.gz"), strings.HasSuffix(name, ".log"):
			return flowlog.ScanFile(p, func(cols, vals []string) error {
				if err := r.Columns(cols); err != nil {
					return err
				}
				return r.Add(vals)
			})
		case strings.HasSuffix(name, parquetlog.Extension):
			recs, err := parquetlog.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range recs {
				if err := r.AddMap(m); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
		}
		return nil
	})
}
