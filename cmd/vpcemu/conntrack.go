package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

func newConntrackCmd(g *globalOptions) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "conntrack [ENI|INSTANCE]",
		Short: "list the security groups' tracked connections (like conntrack -L)",
		Long: `Lists the connection-tracking entries of the SG datapath: flows admitted by a
rule whose replies pass by state. Untracked flows (SG-23: /0 both ways) have
no entry. Counters per ENI are in 'vpcemu status'.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireRoot("conntrack"); err != nil {
				return err
			}
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: valid values are text and json", output)
			}
			r, err := openRunning(g)
			if err != nil {
				return err
			}
			req := lab.Request{Op: "conntrack"}
			if len(args) == 1 {
				req.ENI = args[0]
			}
			resp, err := lab.Call(r.paths, req)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(resp.Conntrack)
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "INSTANCE\tENI\tPROTO\tSTATE\tFROM\tTO\tDIRECTION\tPACKETS\tEXPIRES IN")
			for _, e := range resp.Conntrack {
				dir := "inbound"
				if e.Outbound {
					dir = "outbound"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", e.Instance, e.ENI, vpc.ProtocolName(e.Protocol), e.State,
					e.Src, e.Dst, dir, e.Packets[0], e.Packets[1], e.ExpiresIn.Round(time.Second))
			}
			tw.Flush()
			fmt.Fprintf(c.ErrOrStderr(), "%d tracked connection(s)\n", len(resp.Conntrack))
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return c
}
