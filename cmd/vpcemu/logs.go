package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/lab"
)

type logsOptions struct {
	follow bool
	eni    string
	action string
	since  time.Duration
	output string
}

func newLogsCmd(g *globalOptions) *cobra.Command {
	o := &logsOptions{}
	c := &cobra.Command{
		Use:   "logs [NAME]",
		Short: "print flow-log records as they are produced (like `aws logs tail`)",
		Long: `Prints the flow-log records of a topology from its per-ENI streams under
/var/lib/vpcemu/NAME/cloudwatch (the same records as the S3-layout files under
/var/lib/vpcemu/NAME/flowlogs). Works after 'down' too: the files are kept.`,
		Example: `  vpcemu logs -f --action REJECT
  vpcemu logs lab --eni eni-15b91eb5ab74d9028 --since 10m -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := g.topology
			if len(args) == 1 {
				name = args[0]
			}
			return runLogs(c.Context(), name, o, c.OutOrStdout())
		},
	}
	c.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new records until Ctrl-C")
	c.Flags().StringVar(&o.eni, "eni", "", "only this ENI (eni-… id)")
	c.Flags().StringVar(&o.action, "action", "", "only ACCEPT or REJECT records")
	c.Flags().DurationVar(&o.since, "since", 0, "only records that started within this duration (e.g. 10m)")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return c
}

// logsTopology picks the topology whose logs to read: the named one, the only
// one up, or the only one that has flow logs on disk.
func logsTopology(name string) (string, error) {
	if name != "" {
		return name, nil
	}
	n, err := lab.Resolve(lab.DefaultRunRoot, "")
	if err == nil {
		return n, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return "", deniedNeedsRoot(err)
	}
	ents, err := os.ReadDir(lab.DefaultDataRoot)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("list flow logs: %w", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	switch len(names) {
	case 0:
		return "", fmt.Errorf("no topology is up and none has flow logs under %s (start one with `vpcemu up`)", lab.DefaultDataRoot)
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("name the topology whose logs to print; these have flow logs under %s: %s", lab.DefaultDataRoot, strings.Join(names, ", "))
}

// streamEvent is one record of one ENI's stream.
type streamEvent struct {
	FlowLog string `json:"flow_log"`
	ENI     string `json:"eni"`
	flowlog.Event
}

func runLogs(ctx context.Context, name string, o *logsOptions, out io.Writer) error {
	switch strings.ToUpper(o.action) {
	case "", "ACCEPT", "REJECT":
		o.action = strings.ToUpper(o.action)
	default:
		return fmt.Errorf("--action %q: valid values are ACCEPT and REJECT", o.action)
	}
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("-o %q: valid values are text and json", o.output)
	}
	name, err := logsTopology(name)
	if err != nil {
		return err
	}
	root := filepath.Join(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name).Data, "cloudwatch")
	if err := checkENI(root, o.eni); err != nil {
		return err
	}
	seen := map[string]int{} // stream file -> events already printed
	var since int64
	if o.since > 0 {
		since = time.Now().Add(-o.since).UnixMilli()
	}
	enc := json.NewEncoder(out)
	return poll(ctx, o.follow, func() error {
		evs, err := newEvents(root, o, seen)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if ev.Timestamp < since {
				continue
			}
			if o.output == "json" {
				if err := enc.Encode(ev); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(out, "%s %s %s\n", time.UnixMilli(ev.Timestamp).UTC().Format(time.RFC3339), ev.ENI, ev.Message)
		}
		return nil
	})
}

// poll runs print once, or with follow every half second until ctx ends
// (Ctrl-C), like `tail -f`.
func poll(ctx context.Context, follow bool, print func() error) error {
	for {
		if err := print(); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// checkENI refuses an --eni that none of the topology's streams belongs to
// (an instance id, a typo), which would otherwise print nothing, silently.
// Before the first records are written there are no streams to check against.
func checkENI(root, eni string) error {
	if eni == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.jsonl"))
	var enis []string
	for _, f := range files {
		e := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		if e == eni {
			return nil
		}
		enis = append(enis, e)
	}
	if len(enis) == 0 {
		return nil
	}
	sort.Strings(enis)
	return fmt.Errorf("--eni %q: no flow-log stream for it; valid: %s", eni, strings.Join(slices.Compact(enis), ", "))
}

// newEvents reads the events not printed yet from every stream under root,
// filtered and in ingestion order.
func newEvents(root string, o *logsOptions, seen map[string]int) ([]streamEvent, error) {
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.jsonl"))
	var out []streamEvent
	for _, f := range files {
		eni := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		if o.eni != "" && eni != o.eni {
			continue
		}
		evs, err := flowlog.ReadStream(f)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs[seen[f]:] {
			if o.action != "" && !hasToken(ev.Message, o.action) {
				continue
			}
			out = append(out, streamEvent{FlowLog: filepath.Base(filepath.Dir(f)), ENI: eni, Event: ev})
		}
		seen[f] = len(evs)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].IngestionTime != out[j].IngestionTime {
			return out[i].IngestionTime < out[j].IngestionTime
		}
		return out[i].Timestamp < out[j].Timestamp
	})
	return out, nil
}

// hasToken tells whether the record line has the field value tok (ACCEPT
// and REJECT never occur as any other field's value).
func hasToken(line, tok string) bool {
	for _, f := range strings.Fields(line) {
		if f == tok {
			return true
		}
	}
	return false
}
