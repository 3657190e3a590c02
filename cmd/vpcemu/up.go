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
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/metrics"
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
	api        string
	apiSet     bool   // --api was given: no fallback to the next free port
	apiCreds   string // KEY:SECRET: strict SigV4
}

func newUpCmd(g *globalOptions) *cobra.Command {
	o := &upOptions{}
	c := &cobra.Command{
		Use:         "up [-f FILE] [-d] [--ui ADDR|off] [--metrics ADDR|off] [--api ADDR|off] [--api-credentials KEY:SECRET]",
		Annotations: map[string]string{annotTopology: "unused"},
		Short:       "bring a topology up (default: the built-in lab) and run it until Ctrl-C",
		Long: `Builds the VPC of FILE (or the built-in lab) as network namespaces and veth
pairs, attaches the NACL, SG and IGW programs, starts the instance services and
stays in the foreground writing flow logs until Ctrl-C, which tears it down.
With -d it detaches once the topology is ready; 'vpcemu down' removes it.

The daemon serves the EC2 Query API (--api, default 127.0.0.1:4566): the AWS
CLI, the SDKs and Terraform change the running topology through it, and the
datapath obeys before each response (aws --endpoint-url http://127.0.0.1:4566
ec2 ...). Any credentials are accepted unless --api-credentials KEY:SECRET
makes it verify SigV4 signatures.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			o.uiSet = c.Flags().Changed("ui")
			o.metricsSet = c.Flags().Changed("metrics")
			o.apiSet = c.Flags().Changed("api")
			if !c.Flags().Changed("api-credentials") {
				o.apiCreds = os.Getenv(apiCredentialsEnv)
			}
			return runUp(c.Context(), o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().StringVar(&o.ui, "ui", webui.DefaultAddr, fmt.Sprintf(uiFlagHelp, webui.DefaultPort, webui.DefaultPort+webui.PortsTried-1))
	c.Flags().StringVar(&o.metrics, "metrics", metricsPort.defaultAddr(), fmt.Sprintf(metricsFlagHelp, DefaultMetricsPort, DefaultMetricsPort+metricsPort.tried-1))
	c.Flags().StringVar(&o.api, "api", apiPort.defaultAddr(), fmt.Sprintf(apiFlagHelp, DefaultAPIPort, DefaultAPIPort+apiPort.tried-1))
	c.Flags().StringVar(&o.apiCreds, "api-credentials", "", "ACCESS_KEY_ID:SECRET_ACCESS_KEY: the EC2 API verifies SigV4 signatures and answers AuthFailure to any other (default: any credentials, unchecked)")
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
	creds, err := parseAPICredentials(o.apiCreds)
	if err != nil {
		return err
	}
	if o.detach {
		// The detached daemon's progress goes to its log: say here what a
		// crashed earlier run lost, before the daemon clears its remains.
		if msg := lab.LostOnCrash("", "", t.Name); msg != "" {
			fmt.Fprintf(errOut, "vpcemu: %s\n", msg)
		}
		for _, p := range []struct {
			port    daemonPort
			spec    string
			changed bool
		}{{uiPort, o.ui, o.uiSet}, {metricsPort, o.metrics, o.metricsSet}, {apiPort, o.api, o.apiSet}} {
			if p.changed {
				if err := p.port.warnIfExposed(p.spec, errOut); err != nil {
					return err
				}
			}
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
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	if uiLn != nil {
		lns = append(lns, uiLn)
	}
	metricsLn, err := metricsPort.listen(o.metrics, o.metricsSet, errOut)
	if err != nil {
		closeAll()
		return fail(err)
	}
	metricsAddr := ""
	if metricsLn != nil {
		metricsAddr = metricsLn.Addr().String()
		lns = append(lns, metricsLn)
	}
	apiLn, err := apiPort.listen(o.api, o.apiSet, errOut)
	if err != nil {
		closeAll()
		return fail(err)
	}
	apiAddr := ""
	if apiLn != nil {
		apiAddr = apiLn.Addr().String()
		lns = append(lns, apiLn)
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var labLog *slog.Logger // the lab's own log only when asked for
	if lvl, ok := logLevel(); ok {
		labLog = slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: lvl}))
	}
	l, err := lab.Up(ctx, t, o.file, data, lab.Options{XDPMode: mode, Progress: progress, UI: uiAddr, Metrics: metricsAddr, API: apiAddr, Log: labLog})
	if err != nil {
		closeAll()
		return fail(err)
	}
	count := &apiCounter{}
	stopUI, stopMetrics, stopAPI := func() {}, func() {}, func() {}
	if uiLn != nil {
		stopUI = serveUI(l, uiLn, log)
	}
	if metricsLn != nil {
		var src metrics.APISource
		if apiLn != nil {
			src = count
		}
		stopMetrics = serveMetrics(l, metricsLn, metrics.Options{API: src}, log)
	}
	if apiLn != nil {
		stopAPI = serveAPI(l, apiLn, creds, count, log)
	}
	if o.readyFD > 0 {
		reportReady(o.readyFD, nil)
	} else {
		printReady(out, l, uiAddr, metricsAddr, apiAddr, o.apiSet, creds != nil)
	}
	serveErr := l.Serve(ctx)
	progress("tearing down " + t.Name)
	stopAPI()
	stopUI()
	stopMetrics()
	closeErr := l.Close()
	return errors.Join(serveErr, closeErr)
}

func printReady(out io.Writer, l *lab.Lab, ui, metrics, api string, apiSet, strict bool) {
	t := l.Topology()
	fmt.Fprintf(out, "%s is up: %d instances, %d internet hosts. Ctrl-C tears it down.\n", t.Name, len(t.Instances), len(t.Internet))
	printEndpoints(out, t.Region, ui, metrics, api, apiSet, strict)
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
	if o.apiSet {
		args = append(args, "--api", o.api)
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
	cmd.Env = append(os.Environ(), apiCredentialsEnv+"="+o.apiCreds)
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
			region := ""
			if t, err := s.Topology(); err == nil {
				region = t.Region
			}
			printEndpoints(out, region, s.UI, s.Metrics, s.API, o.apiSet, o.apiCreds != "")
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

// printEndpoints says where the daemon serves what; the EC2 API's line is
// what a client needs, and says when the default port was taken.
func printEndpoints(out io.Writer, region, ui, metrics, api string, apiSet, strict bool) {
	if ui != "" {
		fmt.Fprintf(out, "Web view: %s\n", uiURL(ui))
	}
	if metrics != "" {
		fmt.Fprintf(out, "Metrics: %s\n", metricsURL(metrics))
	}
	if api == "" {
		return
	}
	note := ""
	if _, port, _ := net.SplitHostPort(api); !apiSet && port != strconv.Itoa(DefaultAPIPort) {
		note = fmt.Sprintf(" (port %d is taken, by another topology's daemon or another program)", DefaultAPIPort)
	}
	fmt.Fprintf(out, "EC2 API: %s%s, region %s", apiURL(api), note, region)
	if strict {
		fmt.Fprint(out, ", SigV4 signatures checked (--api-credentials)")
	}
	fmt.Fprintf(out, "\n  aws --endpoint-url %s --region %s ec2 describe-security-groups\n", apiURL(api), region)
}

// logLevelEnv sets the level of the lab's own log (debug, info, warn,
// error; unset: none), on the daemon's stderr (its log file with -d):
// debug times each step of every change.
const logLevelEnv = "VPCEMU_LOG_LEVEL"

func logLevel() (slog.Level, bool) {
	var l slog.Level
	v := os.Getenv(logLevelEnv)
	if v == "" || l.UnmarshalText([]byte(v)) != nil {
		return 0, false
	}
	return l, true
}
