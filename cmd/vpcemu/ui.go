package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/webui"
)

// uiFlagHelp describes --ui for up and lesson run.
const uiFlagHelp = "address of the web view (HOST:PORT), or off; when another topology's daemon holds the default port %d, the next free one up to %d is used (then any free one; status shows it); any address but loopback makes the view reachable from other machines"

// uiPort is the web view's endpoint.
var uiPort = daemonPort{flag: "--ui", port: webui.DefaultPort, tried: webui.PortsTried,
	exposes: "sees the topology, its rules and its traffic (it changes nothing)"}

// listenUI opens the web view's listener (daemonPort.listen).
func listenUI(spec string, changed bool, errOut io.Writer) (net.Listener, error) {
	return uiPort.listen(spec, changed, errOut)
}

// serveUI serves the web view of l on ln until the returned function.
func serveUI(l *lab.Lab, ln net.Listener, log *slog.Logger) (stop func()) {
	srv := webui.New(webui.LabSource{Lab: l}, webui.Options{Log: log})
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Warn("web view", "err", err)
		}
	}()
	return func() { _ = srv.Close() }
}

// uiURL is the address a browser on this machine opens.
func uiURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

func newUICmd(g *globalOptions) *cobra.Command {
	var noOpen bool
	c := &cobra.Command{
		Use:   "ui [NAME]",
		Short: "print the address of a running topology's web view and open it in a browser",
		Long: `Every 'vpcemu up' daemon serves a live web view of its topology (see --ui):
the diagram, drops and accepted flows as they happen, the explain walk of any
of them beside the SG and NACL tables, rule hit counters and flow-log records.
'vpcemu ui' prints its address and opens it with xdg-open when a desktop
session is there to show it.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				g.topology = args[0]
			}
			r, err := openRunning(g)
			if err != nil {
				return err
			}
			if r.state.UI == "" {
				return fmt.Errorf("topology %s serves no web view (it was brought up with --ui off)", r.state.Name)
			}
			url := uiURL(r.state.UI)
			fmt.Fprintln(c.OutOrStdout(), url)
			if noOpen {
				return nil
			}
			if err := openBrowser(url); err != nil {
				fmt.Fprintf(c.ErrOrStderr(), "vpcemu: %v: open %s in a browser\n", err, url)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&noOpen, "no-open", false, "only print the address")
	return c
}

// openBrowser starts xdg-open on url where a desktop session can show it.
func openBrowser(url string) error {
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errors.New("no desktop session (DISPLAY, WAYLAND_DISPLAY)")
	}
	p, err := exec.LookPath("xdg-open")
	if err != nil {
		return errors.New("xdg-open is not installed")
	}
	cmd := exec.Command(p, url)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("xdg-open: %w", err)
	}
	go cmd.Wait()
	return nil
}
