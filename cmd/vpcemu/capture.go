package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/capture"
	"github.com/vpcemu/vpcemu/lab"
)

type captureOptions struct {
	write  string
	drops  bool
	count  int
	filter string
}

func newCaptureCmd(g *globalOptions) *cobra.Command {
	o := &captureOptions{}
	c := &cobra.Command{
		Use:   "capture TARGET [-w FILE.pcapng] [--drops] [-c N] [--filter EXPR]",
		Short: "capture the packets at an instance, ENI, subnet or the internet gateway, each drop with its verdict",
		Long: `Captures the packets at one point of a running topology:
  an instance or ENI   what its ENI sends and receives (after its security
                       groups), and what a NACL dropped on the way to or from it
  a subnet             what crosses the subnet's edge at the VPC router
  igw                  what passes the internet gateway, with VPC addresses
                       (the VPC side of its NAT)
A packet the datapath dropped carries its verdict: "dropped: acl-public
inbound rule 20", "dropped: sg-web, ENI_SG_RULES_MISMATCH". With -w the
packets go to a pcapng file (Wireshark, tshark and tcpdump read it; the
verdict is the packet comment); without, one line per packet like tcpdump.
The capture stops on Ctrl-C or after -c packets and says how many packets it
lost (a capture buffer that overflowed: the packets went on, the capture
missed them). While no capture runs, the datapath does nothing for it.`,
		Example: `  vpcemu capture i-web
  vpcemu capture i-web --drops
  vpcemu capture subnet-public -w edge.pcapng -c 100 --filter 'tcp port 22'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runCapture(c.Context(), g, args[0], o, c.OutOrStdout(), c.ErrOrStderr())
		},
	}
	c.Flags().StringVarP(&o.write, "write", "w", "", "write the packets to this pcapng file (- for standard output)")
	c.Flags().BoolVar(&o.drops, "drops", false, "only the packets the datapath drops, each with its verdict")
	c.Flags().IntVarP(&o.count, "count", "c", 0, "stop after this many packets (0: until Ctrl-C)")
	c.Flags().StringVar(&o.filter, "filter", "", "only packets this tcpdump filter expression matches (e.g. 'tcp port 80')")
	return c
}

func runCapture(ctx context.Context, g *globalOptions, target string, o *captureOptions, out, errOut io.Writer) error {
	if o.count < 0 {
		return fmt.Errorf("-c %d: valid: a number of packets, or 0 for no limit", o.count)
	}
	filter, err := capture.CompileFilter(o.filter)
	if err != nil {
		return err
	}
	r, err := openRunning(g)
	if err != nil {
		return err
	}
	var (
		pcap  *capture.PcapNG
		file  *os.File
		lines *bufio.Writer
		st    capture.Stats
	)
	started := func(s *lab.CaptureStarted) error {
		switch o.write {
		case "":
			lines = bufio.NewWriter(out)
			fmt.Fprintf(errOut, "vpcemu: capturing at %s (%s); Ctrl-C stops\n", s.Point.Name, s.Point.Description)
			return nil
		case "-":
			file = nil
			pcap, err = capture.NewPcapNG(out, s.Point.Name, s.Point.Description, s.Snaplen)
		default:
			if file, err = os.Create(o.write); err != nil {
				return err
			}
			pcap, err = capture.NewPcapNG(file, s.Point.Name, s.Point.Description, s.Snaplen)
		}
		if err == nil {
			fmt.Fprintf(errOut, "vpcemu: capturing at %s (%s) into %s; Ctrl-C stops\n", s.Point.Name, s.Point.Description, o.write)
		}
		return err
	}
	each := func(p *capture.Packet) error {
		if !filter.Match(p.Data) {
			return nil
		}
		st.Packets++
		if p.Dropped() {
			st.Dropped++
		}
		if pcap != nil {
			if err := pcap.Write(p); err != nil {
				return err
			}
			if err := pcap.Flush(); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(lines, capture.Line(p))
			if err := lines.Flush(); err != nil {
				return err
			}
		}
		if o.count > 0 && st.Packets >= uint64(o.count) {
			return io.EOF
		}
		return nil
	}
	lost, err := lab.CaptureCall(r.paths, lab.CaptureRequest{Target: target, Drops: o.drops}, started, each, ctx.Done())
	st.Lost = lost
	if pcap != nil {
		err = errors.Join(err, pcap.Close(st))
	}
	if file != nil {
		err = errors.Join(err, file.Close())
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(errOut, "vpcemu: %d packets captured (%d dropped by the datapath), %d lost by the capture\n", st.Packets, st.Dropped, st.Lost)
	return nil
}
