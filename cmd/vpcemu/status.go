package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/loader"
)

func newStatusCmd(g *globalOptions) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "status [NAME]",
		Short: "show a running topology: instances, addresses, SGs, NACLs, services, counters",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				g.topology = args[0]
			}
			if output != "text" && output != "json" {
				return fmt.Errorf("-o %q: valid values are text and json", output)
			}
			r, err := openRunning(g)
			if err != nil {
				return err
			}
			st := lab.StaticStatus(r.state, r.topo, r.plan)
			if resp, err := lab.Call(r.paths, lab.Request{Op: "status"}); err == nil && resp.Status != nil {
				st = resp.Status
			}
			if output == "json" {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(c.OutOrStdout(), st)
			return nil
		},
	}
	c.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return c
}

func printStatus(out io.Writer, st *lab.Status) {
	// The internet gateway's port is always tc: its NACL program runs after the NAT.
	hook := "tc ingress at the router's ports"
	if m, err := loader.ParseXDPMode(st.XDPMode); err == nil && m != loader.TC {
		hook = "XDP " + st.XDPMode + " on the router's uplinks, tc ingress at the internet gateway"
	}
	fmt.Fprintf(out, "topology %s (daemon pid %d, up since %s, NACLs in %s)\n", st.Name, st.PID, st.Started.Format("15:04:05Z"), hook)
	if st.File != "" {
		fmt.Fprintf(out, "file: %s\n", st.File)
	}
	if st.UI != "" {
		fmt.Fprintf(out, "web view: %s\n", uiURL(st.UI))
	}
	if st.Metrics != "" {
		fmt.Fprintf(out, "metrics: %s\n", metricsURL(st.Metrics))
	}
	if st.API != "" {
		fmt.Fprintf(out, "EC2 API: %s\n", apiURL(st.API))
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	routed := len(st.VPCs) > 1 || len(st.Gateways) > 0
	if routed {
		fmt.Fprintln(tw, "\nVPC\tCIDRS\tMAIN ROUTE TABLE")
		for _, v := range st.VPCs {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", v.ID, strings.Join(v.CIDRs, ","), v.MainTable)
		}
		fmt.Fprintln(tw, "\nSUBNET\tVPC\tCIDR\tROUTE TABLE\tNACL")
		for _, s := range st.Subnets {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.VPC, s.CIDR, s.RouteTable, s.NetworkACL)
		}
		printRouting(tw, st)
	} else {
		fmt.Fprintln(tw, "\nSUBNET\tCIDR\tPUBLIC\tNACL")
		for _, s := range st.Subnets {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", s.ID, s.CIDR, s.Public, s.NetworkACL)
		}
	}
	fmt.Fprintln(tw, "\nINSTANCE\tENI\tSUBNET\tPRIVATE\tPUBLIC\tSGS\tOS (ports)\tSERVICES\tTRACKED\tSG DROPS")
	for _, in := range st.Instances {
		ct := "-"
		if in.Conntrack != nil {
			ct = fmt.Sprintf("%d (exceeded %d)", in.Conntrack.Tracked, in.Conntrack.AllowanceExceeded)
		}
		var drops uint64
		for _, d := range in.SGDrops {
			drops += d.Packets
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s (%s)\t%s\t%s\t%d\n", in.ID, in.ENI, in.Subnet, in.PrivateIP, dash(in.PublicIP),
			strings.Join(in.SecurityGroups, ","), in.OS, in.EphemeralPorts, dash(strings.Join(in.Services, ",")), ct, drops)
	}
	fmt.Fprintln(tw, "\nINTERNET HOST\tIP\tOS\tSERVICES")
	for _, h := range st.Hosts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", h.Name, h.IP, h.OS, dash(strings.Join(h.Services, ",")))
	}
	if len(st.NACLs) > 0 {
		fmt.Fprintln(tw, "\nNACL\tDIRECTION\tRULE\tACTION\tPACKETS\tBYTES")
		for _, n := range st.NACLs {
			for _, r := range n.Rules {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", n.ID, r.Direction, r.Rule, r.Action, r.Packets, r.Bytes)
			}
		}
	}
	tw.Flush()
	if d := st.Daemon; d != nil {
		fmt.Fprintf(out, "\ndaemon: %.1f MiB resident, %d open descriptors, %d goroutines\n", float64(d.RSSBytes)/(1<<20), d.FDs, d.Goroutines)
	}
	if st.DropEventsLost > 0 {
		fmt.Fprintf(out, "\n%d drop events lost (ring buffer full): `vpcemu drops` counts them as UNRECORDED, without their flows\n", st.DropEventsLost)
	}
}

// printRouting prints the route tables (associations, routes, blackholes)
// and the gateways, NAT gateways with their connection counts.
func printRouting(tw io.Writer, st *lab.Status) {
	fmt.Fprintln(tw, "\nROUTE TABLE\tVPC\tSUBNETS\tDESTINATION\tTARGET\tSTATE")
	for _, rt := range st.RouteTables {
		subnets := strings.Join(rt.Subnets, ",")
		if len(rt.Implicit) > 0 {
			if subnets != "" {
				subnets += ","
			}
			subnets += strings.Join(rt.Implicit, ",") + " (main)"
		} else if rt.Main {
			subnets = dash(subnets) + " (main)"
		}
		name, vpcID, subs := rt.ID, rt.VPC, dash(subnets)
		if len(rt.Routes) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\n", name, vpcID, subs)
		}
		for _, r := range rt.Routes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, vpcID, subs, r.Destination, r.Target, r.State)
			name, vpcID, subs = "", "", ""
		}
	}
	if len(st.Gateways) == 0 {
		return
	}
	fmt.Fprintln(tw, "\nGATEWAY\tKIND\tVPC\tSTATE\tDETAIL\tCONNECTIONS")
	for _, g := range st.Gateways {
		conns := "-"
		if g.NAT != nil {
			conns = fmt.Sprintf("%d active, %d attempts, %d established, %d port allocation errors, %d idle timeouts, %d packets dropped",
				g.NAT.ActiveConnectionCount, g.NAT.ConnectionAttemptCount, g.NAT.ConnectionEstablishedCount,
				g.NAT.ErrorPortAllocation, g.NAT.IdleTimeoutCount, g.NAT.PacketsDropCount)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", g.ID, g.Kind, g.VPC, g.State, dash(g.Detail), conns)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
