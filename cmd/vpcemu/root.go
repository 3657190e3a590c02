package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// version is set by the build (-ldflags "-X main.version=...").
var version = "dev"

// globalOptions are the flags every command shares.
type globalOptions struct {
	topology string // --topology/-t: which running topology to act on
}

// exitError carries a child's exit status (exec, ssh) without a message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func asExit(err error, target *exitError) bool { return errors.As(err, target) }

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:           "vpcemu",
		Short:         "AWS VPC network security (SGs, NACLs, flow logs) on a real kernel with eBPF",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&g.topology, "topology", "t", "", "running topology to act on (default: the only one that is up)")
	for _, newCmd := range []func(*globalOptions) *cobra.Command{
		newUpCmd,
		newDownCmd,
		newStatusCmd,
		newExecCmd,
		newSSHCmd,
		newApplyCmd,
		newLogsCmd,
		newConntrackCmd,
		newExplainCmd,
		newLessonCmd,
		newVersionCmd,
	} {
		root.AddCommand(newCmd(g))
	}
	return root
}

func newVersionCmd(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print vpcemu's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(c.OutOrStdout(), "vpcemu %s\n", version)
			return nil
		},
	}
}
