package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

func newApplyCmd(g *globalOptions) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "make a running topology the one in FILE, live",
		Long: `Makes the running topology of the same name the one FILE describes, through
the daemon's control plane (the EC2 API's changes go the same way): security
groups and their rules, network ACLs, their rules and subnets' associations,
instances' security_groups, flow-log subscriptions (on a topology that came up
with one), tags and descriptions change live. NACL changes apply to the next
packet; SG changes follow AWS's tracking rules (tracked connections survive,
untracked ones are judged by the new rules). A change the running topology
cannot make (addresses, instances, subnets, routing, for now) is refused with
what differs, and nothing is changed: use down and up.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireRoot("apply"); err != nil {
				return err
			}
			if file == "" {
				return fmt.Errorf("apply needs -f FILE (the edited topology file)")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("read topology: %w", err)
			}
			t, err := vpc.Parse(file, data)
			if err != nil {
				return err
			}
			name := g.topology
			if name == "" {
				name = t.Name
			}
			paths := lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name)
			if _, err := lab.ReadState(paths); err != nil {
				return fmt.Errorf("topology %s: %w", name, err)
			}
			if _, err := lab.Call(paths, lab.Request{Op: "apply", File: file, YAML: string(data)}); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "applied %s to %s\n", file, name)
			return nil
		},
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the edited topology file")
	return c
}
