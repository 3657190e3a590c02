// Command vpcemu-bench is vpcemu's end-to-end benchmark harness (run by
// `make bench` through scripts/bench.sh): it measures TCP throughput, the
// 64-byte UDP packet rate and new TCP connections per second across a
// throwaway two-subnet topology under each filter configuration, and prints
// "median (min–max) and ratio to bare" tables.
//
//	vpcemu-bench [-quick] [-rounds 3] [-dur 3s] [-slices 1] [-configs bare,ipt40,...] [-md BENCHMARKS.md]
//	vpcemu-bench gobench-table < go-test-bench-output
//	vpcemu-bench md-section -file F -name N [-heading H] < content
//	vpcemu-bench account-snapshot DIR [VPCS GROUPS RULES-PER-GROUP]
//	vpcemu-bench updown [-sizes 100,1000,2000] [-routed 3x10x30] [-rounds 3] [-vpcemu bin/vpcemu] [-json F]
//	vpcemu-bench api [-vpcemu bin/vpcemu] [-changes 1000] [-launches 50] [-churn-rate 1000] [-churn-dur 20s] [-rounds 3] [-md BENCHMARKS.md]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/perf"
)

func main() {
	if os.Getenv(perf.AgentEnv) == "1" || (len(os.Args) > 1 && os.Args[1] == perf.AgentArg) {
		os.Exit(perf.AgentMain(os.Args[1:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "gobench-table" {
		// `go test -bench` output on stdin -> Markdown table of medians on stdout.
		fmt.Print(perf.GoBenchTable(perf.ParseGoBench(os.Stdin)))
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "account-snapshot" {
		// The import benchmark's input: describe JSON of a generated account.
		if err := accountSnapshot(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "vpcemu-bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "md-section" {
		if err := mdSection(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "vpcemu-bench: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if len(os.Args) > 1 && os.Args[1] == "updown" {
		err = updown(ctx, os.Args[2:])
	} else if len(os.Args) > 1 && os.Args[1] == "api" {
		err = apiMain(ctx, os.Args[2:])
	} else {
		err = run(ctx, os.Args[1:])
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "vpcemu-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vpcemu-bench", flag.ContinueOnError)
	quick := fs.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "1 s per metric, 1 round (also BENCH_QUICK=1)")
	rounds := fs.Int("rounds", 3, "interleaved rounds (the tables show the median)")
	dur := fs.Duration("dur", 3*time.Second, "duration of each metric in each trial")
	slices := fs.Int("slices", 1, "N > 1: every configuration of a round up at once, each metric measured in N alternating turns of -dur per configuration (the round's figure: their mean)")
	configs := fs.String("configs", strings.Join(perf.DefaultConfigs, ","), "configurations: bare, ngw, masq, fwd (the NAT gateway's path), iptN, iptctN, nftN, nftctN, naclgenN, naclnatN, sgN, sgnaclN, sgnaclflN (optional -mtuM suffix)")
	metrics := fs.String("metrics", strings.Join(perf.AllMetrics, ","), "metrics: "+strings.Join(perf.AllMetrics, ", "))
	shape := fs.String("shape", string(perf.ShapeVPC), "topology: vpc (two vpcemu subnets) or direct (client-router-server, as the peers)")
	mtu := fs.Int("mtu", 1500, "MTU of every link")
	maxWall := fs.Duration("max-wall", 40*time.Minute, "start no trial after this long")
	md := fs.String("md", "", "write the End-to-end section of this Markdown file (e.g. BENCHMARKS.md)")
	section := fs.String("section", perf.EndToEndSection, "with -md: the generated section to write (its markers' name)")
	title := fs.String("title", "End-to-end", "with -md: the section's heading")
	jsonOut := fs.String("json", "", "write every sample to this JSON file")
	rawOut := fs.String("raw", "", "write every tool's raw output to this file")
	render := fs.String("render", "", "measure nothing: render the tables (and -md) from a -json file of an earlier run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *quick {
		*rounds, *dur = 1, time.Second
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o := perf.Options{
		Configs: split(*configs), Metrics: split(*metrics), Rounds: *rounds, Dur: *dur,
		Shape: perf.Shape(*shape), MTU: *mtu, MaxWall: *maxWall, Slices: *slices, Agent: []string{exe}, Log: os.Stderr,
	}
	if *rawOut != "" {
		f, err := os.Create(*rawOut)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Raw = f
	}
	var res *perf.Results
	if *render != "" {
		b, rerr := os.ReadFile(*render)
		if rerr != nil {
			return rerr
		}
		if res, err = perf.LoadResults(b); err != nil {
			return err
		}
		*quick = res.Rounds == 1 && res.Dur == time.Second.String()
	} else {
		res, err = perf.Run(ctx, o)
	}
	if res == nil {
		return err
	}
	fmt.Println()
	fmt.Print(res.Table())
	fmt.Print(res.NATGatewayPairs())
	fmt.Print(res.FlowLogsOnOff())
	if *jsonOut != "" && *render == "" {
		b, _ := json.MarshalIndent(res, "", " ")
		if werr := os.WriteFile(*jsonOut, b, 0o644); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err // interrupted: tables printed, Markdown left alone
	}
	if *md != "" {
		cmd := "make bench"
		if *quick {
			cmd = "BENCH_QUICK=1 make bench"
		}
		body := "## " + *title + "\n\n" + res.Markdown(cmd)
		if err := perf.ReplaceSection(*md, *section, "", body); err != nil {
			return err
		}
	}
	return nil
}

// mdSection replaces one generated section of a Markdown file with stdin.
func mdSection(args []string) error {
	fs := flag.NewFlagSet("md-section", flag.ContinueOnError)
	file := fs.String("file", "BENCHMARKS.md", "Markdown file")
	name := fs.String("name", "", "section name (marker)")
	heading := fs.String("heading", "", "heading written before the section when it is new")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("md-section: -name is required")
	}
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	return perf.ReplaceSection(*file, *name, *heading, string(b))
}

// accountSnapshot writes the describe JSON of importer.GenerateAccount
// (default 50 VPCs, 2,000 groups, 10 rules each) under dir.
func accountSnapshot(args []string) error {
	if len(args) != 1 && len(args) != 4 {
		return fmt.Errorf("account-snapshot DIR [VPCS GROUPS RULES-PER-GROUP]")
	}
	n := []int{50, 2000, 10}
	for i, a := range args[1:] {
		v, err := strconv.Atoi(a)
		if err != nil || v < 1 {
			return fmt.Errorf("account-snapshot: %q is not a positive number", a)
		}
		n[i] = v
	}
	files, err := importer.ExportAWS(importer.GenerateAccount(n[0], n[1], n[2]), nil)
	if err != nil {
		return err
	}
	for name, data := range files {
		p := filepath.Join(args[0], filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func split(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

// updown measures `vpcemu up -d` and `vpcemu down` of generated topologies
// (a TCP echo on every instance, 20 instances per subnet) and the daemon's
// memory, and prints a Markdown table of medians on stdout.
func updown(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("updown", flag.ContinueOnError)
	sizes := fs.String("sizes", "100,1000,2000", "instance counts (vpc.GenerateWith: one VPC); \"\" for none")
	routed := fs.String("routed", "", "routed topologies VPCSxSUBNETSxINSTANCES (vpc.GenerateRouted: route tables, a NAT gateway, peerings), e.g. 3x10x30")
	rounds := fs.Int("rounds", 3, "interleaved rounds (the table shows the median)")
	perSubnet := fs.Int("per-subnet", 20, "instances per subnet")
	bin := fs.String("vpcemu", "bin/vpcemu", "the vpcemu binary")
	jsonOut := fs.String("json", "", "write every sample to this JSON file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ns []int
	for _, f := range split(*sizes) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not an instance count", f)
		}
		ns = append(ns, n)
	}
	var rs []perf.RoutedShape
	for _, f := range split(*routed) {
		r, err := perf.ParseRoutedShape(f)
		if err != nil {
			return fmt.Errorf("-routed: %w", err)
		}
		rs = append(rs, r)
	}
	samples, err := perf.UpDown(ctx, perf.UpDownOptions{Vpcemu: *bin, Sizes: ns, Routed: rs, PerSubnet: *perSubnet, Rounds: *rounds, Log: os.Stderr})
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(samples, "", " ")
		if werr := os.WriteFile(*jsonOut, b, 0o644); werr != nil {
			return werr
		}
	}
	fmt.Print(perf.UpDownTable(samples, *perSubnet))
	return err
}
