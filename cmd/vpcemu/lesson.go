package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/lessons"
	"github.com/vpcemu/vpcemu/webui"
)

// lessonOptions are the flags of `vpcemu lesson run`.
type lessonOptions struct {
	all      bool
	step     bool
	output   string
	lang     string
	file     string
	keepLogs bool
	ui       string
}

func newLessonCmd(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "lesson",
		Short: "the classic VPC security lessons, run with real traffic and checked against AWS",
		Long: `Each lesson brings up its own small topology (examples/lessons/NAME.yaml),
changes rules step by step (showing the equivalent aws ec2 command), sends
real traffic, and shows the outcome, the client port used, the flow-log
records and the rule that decided. Every outcome is checked against AWS's
documented behaviour; the exit status is 1 when one differs.`,
		// Runnable with no arguments, so that cobra rejects an unknown
		// subcommand ("lesson nope") instead of printing help and exiting 0.
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	c.AddCommand(newLessonListCmd(g), newLessonRunCmd(g))
	return c
}

func newLessonListCmd(_ *globalOptions) *cobra.Command {
	var lang string
	c := &cobra.Command{
		Use:         "list",
		Annotations: map[string]string{annotTopology: "unused"},
		Short:       "list the lessons",
		Args:        cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if !lessons.ValidLang(lang) {
				return fmt.Errorf("--lang %q: valid: %s", lang, strings.Join(lessons.Langs, ", "))
			}
			return lessons.WriteList(c.OutOrStdout(), lang)
		},
	}
	c.Flags().StringVar(&lang, "lang", "en", "narration language: en or ko")
	return c
}

func newLessonRunCmd(_ *globalOptions) *cobra.Command {
	o := &lessonOptions{}
	c := &cobra.Command{
		Use:         "run NAME | --all",
		Annotations: map[string]string{annotTopology: "unused"},
		Short:       "run a lesson (or all of them) with real traffic",
		Example: `  sudo vpcemu lesson run nacl-ephemeral
  sudo vpcemu lesson run sg-stateful --step --lang ko
  sudo vpcemu lesson run nacl-order -f my-nacl-order.yaml
  sudo vpcemu lesson run --all`,
		Args: func(c *cobra.Command, args []string) error {
			if o.all && len(args) > 0 {
				return errors.New("give a lesson name or --all, not both")
			}
			if !o.all && len(args) != 1 {
				return fmt.Errorf("give one lesson name (%s) or --all", strings.Join(lessons.Names(), ", "))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runLessons(c.Context(), o, args, c.InOrStdin(), c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().BoolVar(&o.all, "all", false, "run every lesson in sequence and print a summary table")
	c.Flags().BoolVar(&o.step, "step", false, "wait for Enter before each step")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output: text or json")
	c.Flags().StringVar(&o.lang, "lang", "en", "narration language: en or ko")
	c.Flags().StringVarP(&o.file, "file", "f", "", "run the lesson on this topology file (an edited copy of examples/lessons/NAME.yaml)")
	c.Flags().BoolVar(&o.keepLogs, "keep-flowlogs", false, "keep the run's flow-log files (default: removed with the topology)")
	c.Flags().StringVar(&o.ui, "ui", "off", "serve the lesson topology's web view at HOST:PORT while it runs (e.g. "+webui.DefaultAddr+")")
	return c
}

func runLessons(ctx context.Context, o *lessonOptions, args []string, in io.Reader, out, errw io.Writer) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("-o %q: valid: text, json", o.output)
	}
	if !lessons.ValidLang(o.lang) {
		return fmt.Errorf("--lang %q: valid: %s", o.lang, strings.Join(lessons.Langs, ", "))
	}
	todo := lessons.All()
	if !o.all {
		l, err := lessons.Find(args[0])
		if err != nil {
			return err
		}
		todo = []*lessons.Lesson{l}
	}
	if o.file != "" && len(todo) != 1 {
		return errors.New("-f needs one lesson name")
	}
	if err := requireRoot("lesson run"); err != nil {
		return err
	}
	// A reader that goes away (`| head`) must not kill us before the
	// topology is torn down: with SIGPIPE ignored, writes just fail.
	signal.Ignore(syscall.SIGPIPE)
	var data []byte
	if o.file != "" {
		var err error
		if data, err = os.ReadFile(o.file); err != nil {
			return fmt.Errorf("read topology: %w", err)
		}
	}
	text := o.output == "text"
	stdin := bufio.NewReader(in)
	var results []*lessons.Result
	failed := 0
	for _, l := range todo {
		opts := lessons.Options{Lang: o.lang, File: o.file, YAML: data, KeepFlowLogs: o.keepLogs}
		var ln net.Listener
		if o.ui != "off" {
			var err error
			ln, err = listenUI(o.ui, true, errw)
			if err != nil {
				return err
			}
			opts.UI = ln.Addr().String()
			opts.OnUp = func(l *lab.Lab) func() {
				fmt.Fprintf(errw, "  .. web view: %s\n", uiURL(opts.UI))
				return serveUI(l, ln, slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelWarn})))
			}
		}
		if text {
			opts.Progress = func(msg string) {
				if !reCounter.MatchString(msg) { // "namespaces 3/7": too chatty for a lesson
					fmt.Fprintf(errw, "  .. %s\n", msg)
				}
			}
			opts.OnStart = func(l *lessons.Lesson, r *lessons.Result) { _ = lessons.WriteHeader(out, l, r, o.lang) }
			opts.OnStep = func(l *lessons.Lesson, s *lessons.StepResult) { _ = lessons.WriteStep(out, l, s, o.lang) }
		}
		if o.step {
			opts.BeforeStep = func(ctx context.Context, n int, title string) error {
				fmt.Fprintf(errw, "\n[Enter] step %d: %s ", n, title)
				return waitEnter(ctx, stdin)
			}
		}
		r, err := lessons.Run(ctx, l, opts)
		if ln != nil {
			ln.Close() // closed already by the web view, unless the lesson never came up
		}
		if err != nil {
			r.Error = err.Error()
			r.Passed = false
		}
		if text {
			_ = lessons.WriteFooter(out, r, o.lang)
		}
		results = append(results, r)
		if !r.Passed {
			failed++
		}
		if ctx.Err() != nil {
			break
		}
	}
	if text && o.all {
		_ = lessons.WriteSummary(out, results, o.lang)
	}
	if !text {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		var v any = results
		if !o.all {
			v = results[0]
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d lessons: outcomes differ from AWS's behaviour", failed, len(results))
	}
	return nil
}

var reCounter = regexp.MustCompile(`\d+/\d+$`)

// waitEnter returns when a line is read from r, or ctx ends.
func waitEnter(ctx context.Context, r *bufio.Reader) error {
	done := make(chan error, 1)
	go func() {
		_, err := r.ReadString('\n')
		done <- err
	}()
	select {
	case err := <-done:
		if errors.Is(err, io.EOF) {
			return nil // no terminal: run on
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
