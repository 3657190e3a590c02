package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// explainLiveTopology is the hook for "the live rules of a running
// topology": `vpcemu explain` without -f asks it for the rules that the
// topology named by --topology ("" = the only one up) runs now. It returns
// (nil, nil) when no topology is up; explain then uses the built-in lab.
// Tests set it to nil to stay independent of what runs on the machine.
var explainLiveTopology = liveTopology

// liveTopology reads the rules a running topology applied last from its
// recorded state (lab.State, written by up and apply).
func liveTopology(name string) (*vpc.Topology, error) {
	if name == "" {
		up, err := lab.ListUp(lab.DefaultRunRoot)
		if err != nil {
			return nil, fmt.Errorf("%w (reading live rules may need root; or give the file with -f)", err)
		}
		switch len(up) {
		case 0:
			return nil, nil
		case 1:
			name = up[0]
		default:
			return nil, fmt.Errorf("%d topologies are up (%s): choose one with -t NAME, or give a file with -f", len(up), strings.Join(up, ", "))
		}
	}
	st, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name))
	if errors.Is(err, lab.ErrNotUp) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("topology %s: %w (reading live rules may need root; or give the file with -f)", name, err)
	}
	t, err := st.Topology()
	if err != nil {
		return nil, fmt.Errorf("topology %s: recorded rules do not parse: %w", name, err)
	}
	return t, nil
}

type explainOptions struct {
	global     *globalOptions
	file       string
	from, to   string
	protocol   string
	port       int
	sourcePort int
	icmpType   int
	icmpCode   int
	ipv6       bool
	output     string
	exitCode   bool
}

// newExplainCmd answers "can FROM reach TO" from the rules alone, root-free.
func newExplainCmd(g *globalOptions) *cobra.Command {
	o := &explainOptions{global: g}
	c := &cobra.Command{
		Use:   "explain [-f FILE] FROM TO --protocol tcp|udp|icmp|icmpv6|NUM [--port N]",
		Short: "explain what the SGs and NACLs on the path decide for a flow, both ways (no root needed)",
		Long: `explain walks the first packet of a flow from FROM to TO through every
security group, network ACL and the internet gateway on its path, then the
reply back, and says which rule decided at each hop. FROM and TO are
instance ids, ENI ids, internet host names or IP addresses. Without -f it
uses the running topology's live rules if one is up, else the built-in lab.
-o json prints an AWS Reachability Analyzer NetworkInsightsAnalysis.`,
		Example: `  vpcemu explain laptop i-web --protocol tcp --port 22
  vpcemu explain -f vpc.yaml i-web i-db --protocol tcp --port 5432 -o json
  vpcemu explain i-web website --protocol icmp`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			o.from, o.to = args[0], args[1]
			return runExplain(c.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.StringVarP(&o.file, "file", "f", "", "topology file (default: the running topology, else the built-in lab)")
	f.StringVarP(&o.protocol, "protocol", "p", "tcp", "tcp, udp, icmp, icmpv6, or an IP protocol number")
	f.IntVar(&o.port, "port", 0, "destination port (tcp/udp)")
	f.IntVar(&o.sourcePort, "source-port", 0, "source port (default: the lowest port of the client OS's ephemeral range)")
	f.IntVar(&o.icmpType, "icmp-type", -1, "ICMP type; -1 means an echo request")
	f.IntVar(&o.icmpCode, "icmp-code", 0, "ICMP code")
	f.BoolVarP(&o.ipv6, "ipv6", "6", false, "use the endpoints' IPv6 addresses")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	f.BoolVar(&o.exitCode, "exit-code", false, "exit with status 2 when there is no path")
	return c
}

func parseProtocol(s string) (int, error) {
	switch strings.ToLower(s) {
	case "tcp":
		return vpc.ProtoTCP, nil
	case "udp":
		return vpc.ProtoUDP, nil
	case "icmp":
		return vpc.ProtoICMP, nil
	case "icmpv6":
		return vpc.ProtoICMPv6, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("--protocol %q: want tcp, udp, icmp, icmpv6 or a protocol number 0-255", s)
	}
	return n, nil
}

func explainTopology(o *explainOptions) (*vpc.Topology, error) {
	if o.file != "" {
		t, err := vpc.Load(o.file)
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		return t, nil
	}
	if explainLiveTopology != nil {
		t, err := explainLiveTopology(o.global.topology)
		if err != nil {
			return nil, fmt.Errorf("explain: live rules: %w", err)
		}
		if t != nil {
			return t, nil
		}
	}
	if o.global.topology != "" && o.global.topology != "lab" {
		return nil, fmt.Errorf("explain: topology %q is not up; give its file with -f", o.global.topology)
	}
	return vpc.Lab(), nil
}

func runExplain(w io.Writer, o *explainOptions) error {
	proto, err := parseProtocol(o.protocol)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("explain: -o %q: want text or json", o.output)
	}
	q := rules.Query{From: o.from, To: o.to, Protocol: proto, SourcePort: o.sourcePort, IPv6: o.ipv6}
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if o.port < 1 || o.port > 65535 {
			return fmt.Errorf("explain: --port: %s needs a destination port 1-65535", o.protocol)
		}
		if o.sourcePort < 0 || o.sourcePort > 65535 {
			return fmt.Errorf("explain: --source-port %d: want 1-65535", o.sourcePort)
		}
		q.Port = o.port
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if o.icmpType >= 0 {
			q.ICMPType, q.ICMPCode = o.icmpType, o.icmpCode
			if o.icmpType == 0 && o.icmpCode == 0 {
				return errors.New("explain: --icmp-type 0 (echo reply) is a response; ask for the echo request (the default)")
			}
		}
	}
	t, err := explainTopology(o)
	if err != nil {
		return err
	}
	a := rules.Explain(t, q)
	if a.Status == "failed" {
		return fmt.Errorf("explain: %s", strings.TrimPrefix(a.Verdict, "error: "))
	}
	if o.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("explain: write json: %w", err)
		}
	} else if err := a.WriteText(w); err != nil {
		return fmt.Errorf("explain: write: %w", err)
	}
	if o.exitCode && !a.NetworkPathFound {
		return exitError{code: 2}
	}
	return nil
}
