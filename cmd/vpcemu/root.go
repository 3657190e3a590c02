package main

import (
	"fmt"
	"strings"

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
		newDropsCmd,
		newCaptureCmd,
		newConntrackCmd,
		newExplainCmd,
		newImportCmd,
		newExportCmd,
		newUICmd,
		newCheckCmd,
		newDiffCmd,
		newLessonCmd,
		newVersionCmd,
	} {
		root.AddCommand(newCmd(g))
	}
	withUsageOnError(root)
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if c.Flags().Changed("topology") && c.Annotations[annotTopology] == "unused" {
			return fmt.Errorf("-t/--topology names a running topology, which %s does not act on", c.CommandPath())
		}
		return nil
	}
	return root
}

// annotTopology marks, with the value "unused", the commands that never act
// on a running topology, so that a -t given to them is an error rather than
// silently ignored (up takes its topology from -f).
const annotTopology = "topology"

// withUsageOnError makes every command in the tree answer a bad flag or a
// wrong number of arguments with its usage line, so the error itself says
// what would be valid (cobra's own messages only count arguments).
func withUsageOnError(c *cobra.Command) {
	c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w\n%s", err, usageHint(c))
	})
	if check := c.Args; check != nil {
		c.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return fmt.Errorf("%w\n%s", err, usageHint(c))
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		withUsageOnError(sub)
	}
}

// usageHint is the line added to an argument or flag error: the usage line,
// or for a command that only groups others, the subcommands it has.
func usageHint(c *cobra.Command) string {
	if !c.HasAvailableSubCommands() {
		return fmt.Sprintf("usage: %s (see '%s --help')", c.UseLine(), c.CommandPath())
	}
	var names []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	return fmt.Sprintf("usage: %s COMMAND, one of: %s (see '%s --help')", c.CommandPath(), strings.Join(names, ", "), c.CommandPath())
}

func newVersionCmd(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:         "version",
		Short:       "print vpcemu's version",
		Annotations: map[string]string{annotTopology: "unused"},
		Args:        cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintf(c.OutOrStdout(), "vpcemu %s\n", version)
			return nil
		},
	}
}
