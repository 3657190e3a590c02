package perf

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// naclLoader loads vpcemu's NACL datapath for t onto the namespaces of p
// the way `vpcemu up` does (lab/datapath.go): XDP on both ends of every
// subnet uplink, the router end judging with the subnet's outbound table,
// the subnet end with its inbound table. A variable so that tests can swap it.
var naclLoader = func(t *vpc.Topology, p *vpc.Plan, mode loader.XDPMode) (_ io.Closer, err error) {
	n, err := loader.LoadNACL(loader.NACLOptions{VPCCIDR: t.VPC.CIDR, MTU: p.MTU})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = n.Close()
		}
	}()
	for i := range t.NetworkACLs {
		if err := n.SetNACL(&t.NetworkACLs[i]); err != nil {
			return nil, fmt.Errorf("network ACL %s: %w", t.NetworkACLs[i].ID, err)
		}
	}
	for i, sp := range p.Subnets {
		acl := t.Subnets[i].NetworkACL
		if err := n.Attach(p.RouterNS, sp.UplinkRouterIf, acl, true, mode); err != nil {
			return nil, fmt.Errorf("subnet %s: %w", sp.SubnetID, err)
		}
		if err := n.Attach(sp.NS, sp.UplinkSubnetIf, acl, false, mode); err != nil {
			return nil, fmt.Errorf("subnet %s: %w", sp.SubnetID, err)
		}
	}
	return n, nil
}

// sgLoader loads vpcemu's SG datapath (tcx on every ENI's subnet-side end).
var sgLoader = func(t *vpc.Topology, p *vpc.Plan) (io.Closer, error) { return loader.LoadSG(t, p) }

// withVPC returns a copy of t.VPC for a configuration to change.
func withVPC(t *Topo) (*vpc.Topology, error) {
	if t.VPC == nil {
		return nil, fmt.Errorf("vpcemu programs need the vpc topology shape: %w", ErrUnavailable)
	}
	c := *t.VPC
	c.Subnets = append([]vpc.Subnet(nil), t.VPC.Subnets...)
	c.Instances = append([]vpc.Instance(nil), t.VPC.Instances...)
	c.SecurityGroups = append([]vpc.SecurityGroup(nil), t.VPC.SecurityGroups...)
	c.NetworkACLs = append([]vpc.NetworkACL(nil), t.VPC.NetworkACLs...)
	return &c, nil
}

// BenchNACL is a NACL whose rules 1..n (both directions) allow TCP from
// addresses no benchmark packet has, and whose rule n+1 allows everything
// within the VPC: every benchmark packet matches the last rule (worst case
// for a first-match scan).
func BenchNACL(n int, vpcCIDR netip.Prefix) vpc.NetworkACL {
	var rs []vpc.NACLRule
	for i := 0; i < n; i++ {
		p := RulePort(i)
		rs = append(rs, vpc.NACLRule{
			Number: i + 1, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: p, To: p}, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.PrefixFrom(netip.MustParseAddr(RuleSource(i)), 32), Allow: true,
		})
	}
	rs = append(rs, vpc.NACLRule{Number: n + 1, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: vpcCIDR, Allow: true})
	return vpc.NetworkACL{ID: "acl-bench", Ingress: rs, Egress: append([]vpc.NACLRule(nil), rs...)}
}

// BenchSG is a security group with n ingress rules that match no benchmark
// packet, then ingress from the whole VPC and egress anywhere. The ingress
// peer is not /0, so every flow is tracked (SG-23/24 would untrack it).
func BenchSG(n int, vpcCIDR netip.Prefix) vpc.SecurityGroup {
	var in []vpc.SGRule
	for i := 0; i < n; i++ {
		p := RulePort(i)
		in = append(in, vpc.SGRule{
			Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: p, To: p}, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.PrefixFrom(netip.MustParseAddr(RuleSource(i)), 32),
		})
	}
	in = append(in, vpc.SGRule{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: vpcCIDR})
	out := []vpc.SGRule{{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
	return vpc.SecurityGroup{ID: "sg-bench", Name: "bench", Description: "benchmark", Ingress: in, Egress: out}
}

func applyNACL(_ context.Context, t *Topo, n int, mode string) (func(), error) {
	v, err := withVPC(t)
	if err != nil {
		return nil, err
	}
	v.NetworkACLs = append(v.NetworkACLs, BenchNACL(n, t.VPCCIDR))
	for i := range v.Subnets {
		v.Subnets[i].NetworkACL = "acl-bench"
	}
	c, err := naclLoader(v, t.Plan, loader.XDPMode(mode))
	if err != nil {
		return nil, fmt.Errorf("vpcemu NACL: %w", err)
	}
	return func() { _ = c.Close() }, nil
}

func applySG(_ context.Context, t *Topo, n int) (func(), error) {
	v, err := withVPC(t)
	if err != nil {
		return nil, err
	}
	v.SecurityGroups = append(v.SecurityGroups, BenchSG(n, t.VPCCIDR))
	for i := range v.Instances {
		v.Instances[i].SecurityGroups = []string{"sg-bench"}
	}
	c, err := sgLoader(v, t.Plan)
	if err != nil {
		return nil, fmt.Errorf("vpcemu SG: %w", err)
	}
	return func() { _ = c.Close() }, nil
}

// flowLogLoader turns on vpcemu's flow logs for every ENI of t (issue 6),
// before the SG and NACL programs load, and returns what stops them.
//
// HOOK: nil until the flow-log pump lands in loader/; the sgnaclflN
// configurations (SG + NACL + flow logs, to compare with sgnaclN) report
// "n/a" meanwhile.
var flowLogLoader func(t *vpc.Topology, p *vpc.Plan) (io.Closer, error)

func applyFlowLogs(_ context.Context, t *Topo) (func(), error) {
	if flowLogLoader == nil {
		return nil, fmt.Errorf("vpcemu flow logs: not wired (perf/vpcemu.go flowLogLoader): %w", ErrUnavailable)
	}
	v, err := withVPC(t)
	if err != nil {
		return nil, err
	}
	v.FlowLogs = append(v.FlowLogs, vpc.FlowLog{ID: "fl-bench", Resource: v.VPC.ID, TrafficType: "ALL", MaxAggregationInterval: 60})
	c, err := flowLogLoader(v, t.Plan)
	if err != nil {
		return nil, fmt.Errorf("vpcemu flow logs: %w", err)
	}
	return func() { _ = c.Close() }, nil
}
