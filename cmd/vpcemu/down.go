package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
)

type downOptions struct {
	purge bool
	all   bool
}

func newDownCmd(g *globalOptions) *cobra.Command {
	o := &downOptions{}
	c := &cobra.Command{
		Use:   "down [NAME]",
		Short: "remove a topology (flow-log files are kept unless --purge)",
		Long: `Stops the topology's daemon and removes its namespaces, links, programs,
processes and runtime state. It is idempotent and also removes what a crashed
run left behind. Flow logs under /var/lib/vpcemu/NAME are kept unless --purge.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := g.topology
			if len(args) == 1 {
				name = args[0]
			}
			return runDown(name, o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().BoolVar(&o.purge, "purge", false, "also delete the topology's flow-log files")
	c.Flags().BoolVar(&o.all, "all", false, "remove every vpcemu topology, including leftovers")
	return c
}

func runDown(name string, o *downOptions, out, errOut io.Writer) error {
	if err := requireRoot("down"); err != nil {
		return err
	}
	var names []string
	switch {
	case o.all:
		up, err := lab.ListUp(lab.DefaultRunRoot)
		if err != nil {
			return err
		}
		left, err := netns.List()
		if err != nil {
			return err
		}
		names = unique(append(up, left...))
	case name != "":
		names = []string{name}
	default:
		n, err := lab.Resolve(lab.DefaultRunRoot, "")
		if err != nil {
			left, _ := netns.List()
			if len(left) == 1 {
				n = left[0]
			} else {
				return err
			}
		}
		names = []string{n}
	}
	for _, n := range names {
		if err := lab.Down(n, o.purge, lab.Options{Progress: func(msg string) { fmt.Fprintf(errOut, "vpcemu: %s\n", msg) }}); err != nil {
			return fmt.Errorf("down %s: %w", n, err)
		}
		fmt.Fprintf(out, "%s is down\n", n)
	}
	return nil
}

func unique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
