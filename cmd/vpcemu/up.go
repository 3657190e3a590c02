package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/webui"
)

type upOptions struct {
	file       string
	detach     bool
	xdpMode    string
	readyFD    int // internal: the detached child reports readiness on this fd
	quiet      bool
	ui         string
	uiSet      bool // --ui was given: no fallback to the next free port
	metrics    string
	metricsSet bool // --metrics was given: no fallback to the next free port
}

func newUpCmd(g *globalOptions) *cobra.Command {
	o := &upOptions{}
	c := &cobra.Command{
		Use:         "up [-f FILE] [-d] [--ui ADDR|off] [--metrics ADDR|off]",
		Annotations: map[string]string{annotTopology: "unused"},
		Short:       "bring a topology up (default: the built-in lab) and run it until Ctrl-C",
		Long: `Builds the VPC of FILE (or the built-in lab) as network namespaces and veth
pairs, attaches the NACL, SG and IGW programs, starts the instance services and
stays in the foreground writing flow logs until Ctrl-C, which tears it down.
With -d it detaches once the topology is ready; 'vpcemu down' removes it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.uiSet = c.Flags().Changed("ui")
			o.metricsSet = c.Flags().Changed("metrics")
			return runUp(c.Context(), o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&o.ui, "ui", webui.DefaultAddr, fmt.Sprintf(uiFlagHelp, webui.DefaultPort, webui.DefaultPort+webui.PortsTried-1))
	c.Flags().StringVar(&o.metrics, "metrics", metricsPort.defaultAddr(), fmt.Sprintf(metricsFlagHelp, DefaultMetricsPort, DefaultMetricsPort+metricsPort.tried-1))
	c.Flags().StringVarP(&o.file, "file", "f", "", "topology file (default: the built-in lab)")
	c.Flags().BoolVarP(&o.detach, "detach", "d", false, "return once the topology is ready and keep it running in the background")
	c.Flags().StringVar(&o.xdpMode, "xdp-mode", string(loader.DefaultNACLMode), "NACL attach mode on the router's uplinks: tc ingress, or generic or native XDP (the same program; see BENCHMARKS.md)")
	c.Flags().IntVar(&o.readyFD, "ready-fd", 0, "internal: report readiness on this file descriptor")
	c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print no progress")
	_ = c.Flags().MarkHidden("ready-fd")
	return c
}

func runUp(ctx context.Context, o *upOptions, out, errOut io.Writer) error {
	if err := requireRoot("up"); err != nil {
		return err
	}
	mode, err := loader.ParseXDPMode(o.xdpMode)
	if err != nil {
		return fmt.Errorf("--xdp-mode: %w", err)
	}
	t, data, err := loadTopology(o.file)
	if err != nil {
		return err
	}
	if o.detach {
		// The detached daemon's progress goes to its log: say here what a
		// crashed earlier run lost, before the daemon clears its remains.
		if msg := lab.LostOnCrash("", "", t.Name); msg != "" {
			fmt.Fprintf(errOut, "vpcemu: %s\n", msg)
		}
		return detach(o, t.Name, out)
	}
	progress := func(msg string) {
		if !o.quiet {
			fmt.Fprintf(errOut, "vpcemu: %s\n", msg)
		}
	}
	fail := func(err error) error {
		if o.readyFD > 0 {
			reportReady(o.readyFD, err)
		}
		return err
	}
	// The web view's port is taken before the topology is built, so that
	// state.json can say where it is.
	uiLn, err := listenUI(o.ui, o.uiSet, errOut)
	if err != nil {
		return fail(err)
	}
	uiAddr := ""
	if uiLn != nil {
		uiAddr = uiLn.Addr().String()
	}
	metricsLn, err := metricsPort.listen(o.metrics, o.metricsSet, errOut)
	if err != nil {
		if uiLn != nil {
			uiLn.Close()
		}
		return fail(err)
	}
	metricsAddr := ""
	if metricsLn != nil {
		metricsAddr = metricsLn.Addr().String()
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	l, err := lab.Up(ctx, t, o.file, data, lab.Options{XDPMode: mode, Progress: progress, UI: uiAddr, Metrics: metricsAddr})
	if err != nil {
		for _, ln := range []net.Listener{uiLn, metricsLn} {
			if ln != nil {
				ln.Close()
			}
		}
		return fail(err)
	}
	stopUI, stopMetrics := func() {}, func() {}
	if uiLn != nil {
		stopUI = serveUI(l, uiLn, log)
	}
	if metricsLn != nil {
		stopMetrics = serveMetrics(l, metricsLn, log)
	}
	if o.readyFD > 0 {
		reportReady(o.readyFD, nil)
	} else {
		printReady(out, l, uiAddr, metricsAddr)
	}
	serveErr := l.Serve(ctx)
	progress("tearing down " + t.Name)
	stopUI()
	stopMetrics()
	closeErr := l.Close()
	return errors.Join(serveErr, closeErr)
}

func printReady(out io.Writer, l *lab.Lab, ui, metrics string) {
	t := l.Topology()
	fmt.Fprintf(out, "%s is up: %d instances, %d internet hosts. Ctrl-C tears it down.\n", t.Name, len(t.Instances), len(t.Internet))
	if ui != "" {
		fmt.Fprintf(out, "Web view: %s\n", uiURL(ui))
	}
	if metrics != "" {
		fmt.Fprintf(out, "Metrics: %s\n", metricsURL(metrics))
	}
	fmt.Fprintf(out, "Try: vpcemu status | vpcemu exec HOST -- CMD | vpcemu ssh FROM TO [CMD]\n")
}

func reportReady(fd int, err error) {
	f := os.NewFile(uintptr(fd), "ready")
	if err != nil {
		fmt.Fprintf(f, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	} else {
		fmt.Fprintln(f, "ready")
	}
	f.Close()
}

// detach re-runs `up` as a session leader in the background and waits until
// it reports that the topology is ready (or why it is not).
func detach(o *upOptions, name string, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create the readiness pipe: %w", err)
	}
	args := []string{"up", "--ready-fd", "3", "--xdp-mode", o.xdpMode, "-q"}
	if o.uiSet {
		args = append(args, "--ui", o.ui)
	}
	if o.metricsSet {
		args = append(args, "--metrics", o.metrics)
	}
	if o.file != "" {
		args = append(args, "-f", o.file)
	}
	logPath := lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name).Run + ".daemon.log"
	if err := os.MkdirAll(lab.DefaultRunRoot, 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open daemon log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	w.Close()
	line, _ := bufio.NewReader(r).ReadString(0)
	r.Close()
	line = strings.TrimSpace(line)
	if line == "ready" {
		pid := cmd.Process.Pid
		_ = cmd.Process.Release()
		fmt.Fprintf(out, "%s is up (daemon pid %d); `vpcemu down %s` removes it\n", name, pid, name)
		if s, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name)); err == nil {
			if s.UI != "" {
				fmt.Fprintf(out, "Web view: %s\n", uiURL(s.UI))
			}
			if s.Metrics != "" {
				fmt.Fprintf(out, "Metrics: %s\n", metricsURL(s.Metrics))
			}
		}
		return nil
	}
	_ = cmd.Wait()
	os.Remove(logPath)
	if strings.HasPrefix(line, "error: ") {
		return errors.New(strings.TrimPrefix(line, "error: "))
	}
	return fmt.Errorf("daemon exited before the topology was ready (%s)", line)
}
