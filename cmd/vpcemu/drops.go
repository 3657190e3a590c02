package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

type dropsOptions struct {
	follow bool
	eni    string
	since  time.Duration
	output string
}

func newDropsCmd(g *globalOptions) *cobra.Command {
	o := &dropsOptions{}
	c := &cobra.Command{
		Use:   "drops [NAME]",
		Short: "print every dropped packet and why (which NACL rule, which security groups)",
		Long: `Prints the packets the NACL and SG datapath dropped, each with its reason in
Reachability Analyzer terms: SUBNET_ACL_RESTRICTION with the NACL and rule
number, ENI_SG_RULES_MISMATCH or SG_HAS_NO_RULES with the ENI's security
groups, or CONNTRACK_ALLOWANCE_EXCEEDED. Repeated drops of one flow for one
reason are one line per second with their count. The daemon records them in
/var/lib/vpcemu/NAME/drops.jsonl, rotated at 10 MB to drops.jsonl.1 ... .4
(kept after 'down'); drops whose details the datapath could not queue are
counted as UNRECORDED lines.`,
		Example: `  vpcemu drops -f
  vpcemu drops lab --eni i-web --since 10m -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := g.topology
			if len(args) == 1 {
				name = args[0]
			}
			return runDrops(c.Context(), name, o, c.OutOrStdout())
		},
	}
	c.Flags().BoolVarP(&o.follow, "follow", "f", false, "keep printing new drops until Ctrl-C")
	c.Flags().StringVar(&o.eni, "eni", "", "only drops at this ENI (eni-… id or instance id)")
	c.Flags().DurationVar(&o.since, "since", 0, "only drops within this duration (e.g. 10m)")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	return c
}

func runDrops(ctx context.Context, name string, o *dropsOptions, out io.Writer) error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("-o %q: valid values are text and json", o.output)
	}
	name, err := logsTopology(name)
	if err != nil {
		return err
	}
	paths := lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name)
	if err := checkDropsENI(paths, o.eni); err != nil {
		return err
	}
	var since time.Time
	if o.since > 0 {
		since = time.Now().Add(-o.since)
	}
	r := lab.NewDropReader(paths.Drops())
	defer r.Close()
	enc := json.NewEncoder(out)
	return poll(ctx, o.follow, func() error {
		drops, err := r.Read()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // nothing dropped yet (or an older daemon)
		}
		if errors.Is(err, fs.ErrPermission) {
			return deniedNeedsRoot(err)
		}
		if err != nil {
			return err
		}
		for i := range drops {
			d := &drops[i]
			if d.Time.Before(since) || (o.eni != "" && d.ENI != o.eni && d.Instance != o.eni) {
				continue
			}
			if o.output == "json" {
				if err := enc.Encode(d); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintln(out, dropLine(d))
		}
		return nil
	})
}

// dropLine is a drop as one line of text.
func dropLine(d *lab.Drop) string {
	where := "-"
	switch {
	case d.Instance != "":
		where = d.Instance + "/" + d.ENI
	case d.ENI != "":
		where = d.ENI
	}
	at := d.Time.UTC().Format(time.RFC3339)
	if d.Reason == lab.ReasonUnrecorded {
		return fmt.Sprintf("%s %s %s: %d packets %s", at, where, d.Component, d.Packets, d.Explain())
	}
	flow := fmt.Sprintf("%s %s -> %s", vpc.ProtocolName(d.Protocol), hostPort(d.Src, d.SrcPort, d.Protocol), hostPort(d.Dst, d.DstPort, d.Protocol))
	switch d.Protocol {
	case vpc.ProtoTCP:
		flow += " [" + tcpFlags(d.TCPFlags) + "]"
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		flow += fmt.Sprintf(" type %d code %d", d.ICMPType, d.ICMPCode)
	}
	pk := ""
	if d.Packets > 1 {
		pk = fmt.Sprintf(" (%d packets)", d.Packets)
	}
	return fmt.Sprintf("%s %s %s %s %s: %s%s", at, where, d.Component, d.Direction, flow, d.Explain(), pk)
}

func hostPort(a string, port, proto int) string {
	if proto != vpc.ProtoTCP && proto != vpc.ProtoUDP {
		return a
	}
	if strings.Contains(a, ":") {
		return fmt.Sprintf("[%s]:%d", a, port)
	}
	return fmt.Sprintf("%s:%d", a, port)
}

func tcpFlags(f uint8) string {
	var s []string
	for i, n := range []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"} {
		if f&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}

// checkDropsENI refuses an --eni that is neither an ENI nor an instance of
// the running topology (it would print nothing, silently). A topology that
// is down is not checked: its recorded drops may name ENIs of older files.
func checkDropsENI(paths lab.Paths, eni string) error {
	if eni == "" {
		return nil
	}
	s, err := lab.ReadState(paths)
	if err != nil {
		return nil
	}
	t, err := s.Topology()
	if err != nil {
		return nil
	}
	var valid []string
	for _, in := range t.Instances {
		if in.ENI.ID == eni || in.ID == eni {
			return nil
		}
		valid = append(valid, in.ID, in.ENI.ID)
	}
	return fmt.Errorf("--eni %q: no such ENI or instance in %s; valid: %s", eni, t.Name, strings.Join(valid, ", "))
}
