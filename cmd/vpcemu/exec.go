package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/services"
)

func newExecCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "exec HOST -- CMD [ARGS...]",
		Short: "run a command inside an instance or internet host (exit status passed through)",
		Example: `  vpcemu exec laptop -- curl -s http://203.0.113.10/
  vpcemu exec i-web -- cat /proc/sys/net/ipv4/ip_local_port_range`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireRoot("exec"); err != nil {
				return err
			}
			r, err := openRunning(g)
			if err != nil {
				return err
			}
			h, err := r.findHost(args[0])
			if err != nil {
				return err
			}
			cmd := netns.Command(h.ns, h.name, args[1:]...)
			return runPassthrough(cmd)
		},
	}
}

// runPassthrough runs cmd on the terminal and turns its exit status into ours.
func runPassthrough(cmd *exec.Cmd) error {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitError{code: ee.ExitCode()}
	}
	return err
}

func newSSHCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "ssh FROM TO [CMD...]",
		Short: "ssh (real OpenSSH, the topology's key) from one host to another",
		Long: `Runs ssh inside FROM to TO as root with the topology's generated key. TO is
reached by its private IP from inside the VPC and by its public IP from the
internet (an instance without a public IP cannot be reached from outside).`,
		Example: "  vpcemu ssh laptop i-web hostname",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireRoot("ssh"); err != nil {
				return err
			}
			r, err := openRunning(g)
			if err != nil {
				return err
			}
			from, err := r.findHost(args[0])
			if err != nil {
				return err
			}
			to, err := r.findHost(args[1])
			if err != nil {
				return err
			}
			addr, err := sshTarget(from, to)
			if err != nil {
				return err
			}
			return runPassthrough(services.SSHCommand(r.paths.Run, from.ns, addr, args[2:]))
		},
	}
}

// sshTarget is the address FROM uses for TO, as on AWS.
func sshTarget(from, to *host) (string, error) {
	switch {
	case to.internet != nil:
		return to.internet.IP.String(), nil
	case from.instance != nil:
		return to.instance.PrivateIP.String(), nil
	case to.instance.PublicIP.IsValid():
		return to.instance.PublicIP.String(), nil
	}
	return "", fmt.Errorf("%s has no public IP: it cannot be reached from the internet host %s", to.name, from.name)
}
