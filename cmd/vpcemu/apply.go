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
		Short: "apply changed SG/NACL rules to a running topology, live",
		Long: `Applies the security-group and network-ACL rules of FILE (and instances'
security_groups, subnets' network_acl) to the running topology of the same
name. NACL changes apply to the next packet; SG changes follow AWS's tracking
rules (tracked connections survive, untracked ones are judged by the new rules).
Anything else (addresses, instances, subnets) is refused: use down and up.`,
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
