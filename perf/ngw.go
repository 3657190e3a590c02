package perf

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// ShapeNGW is the NAT gateway's path (issue 12): a private instance (the
// client, in subnet-priv, whose route table sends 0.0.0.0/0 to the NAT
// gateway) -> the VPC router -> the NAT gateway's namespace (its ENI in
// subnet-pub) -> the router -> the internet gateway link -> the internet
// namespace -> an internet host (the server). Built by netns.Build like a
// topology of `vpcemu up`.
const ShapeNGW Shape = "ngw"

// NGW bench addresses.
var (
	ngwBenchPrivateIP = netip.MustParseAddr("10.10.1.100")
	ngwBenchServerIP  = netip.MustParseAddr("198.51.100.10")
)

// benchNGWYAML is the topology of ShapeNGW.
const benchNGWYAML = `name: %s
account: "123456789012"
region: us-east-1
vpcs:
  - {id: vpc-bench, cidr: 10.10.0.0/16}
subnets:
  - {id: subnet-pub, vpc: vpc-bench, cidr: 10.10.1.0/24, route_table: rtb-pub}
  - {id: subnet-priv, vpc: vpc-bench, cidr: 10.10.2.0/24, route_table: rtb-priv}
internet_gateways:
  - {id: igw-bench, vpc: vpc-bench}
elastic_ips:
  - {id: eipalloc-ngw, public_ip: 203.0.113.100}
nat_gateways:
  - {id: nat-bench, subnet: subnet-pub, eni: eni-ngw, private_ip: %s, elastic_ip: eipalloc-ngw}
route_tables:
  - id: rtb-pub
    vpc: vpc-bench
    routes: [{destination: 0.0.0.0/0, target: igw-bench}]
  - id: rtb-priv
    vpc: vpc-bench
    routes: [{destination: 0.0.0.0/0, target: nat-bench}]
security_groups:
  - id: sg-client
    vpc: vpc-bench
    ingress: []
    egress: [{protocol: all, cidr: 0.0.0.0/0}]
instances:
  # nat-gateway's ephemeral range (1024-65535) gives the connection test room.
  - {id: i-client, eni: eni-client, subnet: subnet-priv, private_ip: 10.10.2.10, security_groups: [sg-client], os: nat-gateway}
internet:
  - {name: srv, ip: %s}
`

// BenchNGWVPC is ShapeNGW's topology.
func BenchNGWVPC(name string) (*vpc.Topology, error) {
	return vpc.Parse("ngw-bench.yaml", []byte(fmt.Sprintf(benchNGWYAML, name, ngwBenchPrivateIP, ngwBenchServerIP)))
}

// newNGWTopo names a fresh ShapeNGW topology.
func newNGWTopo(name string, mtu int) *Topo {
	v, err := BenchNGWVPC(name)
	if err != nil {
		panic(fmt.Sprintf("perf: the NAT gateway benchmark's topology: %v", err)) // a constant: a bug
	}
	p := rules.NewPlan(v)
	p.MTU = mtu
	cli, srv := p.Instances[0], p.Hosts[0]
	t := &Topo{
		Prefix: vpc.NSPrefix(name), Shape: ShapeNGW, MTU: mtu,
		ClientNS: cli.NS, RouterNS: p.RouterNS, ServerNS: srv.NS,
		ClientIf: cli.IfName, ServerIf: srv.IfName,
		ClientIP: cli.Addr.Addr(), ServerIP: srv.Addr.Addr(),
		VPCCIDR: v.VPCs[0].CIDR, VPC: v, Plan: p,
	}
	for i, s := range p.Subnets {
		t.Subnets[i] = Subnet{CIDR: v.Subnets[i].CIDR, NS: s.NS, RouterIf: Port{p.RouterNS, s.UplinkRouterIf}, SubnetIf: Port{s.NS, s.UplinkSubnetIf}}
	}
	return t
}

// ngwConfig is the configurations of ShapeNGW: "ngw", vpcemu's whole
// datapath with its eBPF NAT gateway; "masq", the same datapath with the
// NAT gateway's program removed and nftables masquerade in its namespace
// instead; "fwd", no program at all: the kernels route by the same tables
// and the NAT gateway's namespace forwards without translating.
func ngwConfig(kind string) func(ctx context.Context, t *Topo) (func(), error) {
	return func(ctx context.Context, t *Topo) (func(), error) {
		if t.Shape != ShapeNGW || len(t.Plan.NATGateways) != 1 {
			return nil, fmt.Errorf("%s needs the NAT gateway shape", kind)
		}
		g := t.Plan.NATGateways[0]
		if kind == "fwd" {
			return func() {}, ngwForward(ctx, t)
		}
		d, err := loader.LoadDatapath(t.VPC, t.Plan, loader.DatapathOptions{Mode: loader.TC})
		if err != nil {
			return nil, fmt.Errorf("vpcemu datapath: %w", err)
		}
		release := func() { _ = d.Close() }
		if kind == "masq" {
			n := d.NGWs[g.ID]
			if n == nil {
				release()
				return nil, fmt.Errorf("no NAT gateway %s in the datapath", g.ID)
			}
			delete(d.NGWs, g.ID)
			if err := n.Close(); err != nil {
				release()
				return nil, err
			}
			// AWS's port range (NGW-6) for TCP and UDP.
			rs := fmt.Sprintf("table ip vpcbench {\n  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n"+
				"    oifname %[1]q ip saddr != %[2]s meta l4proto { tcp, udp } masquerade to :1024-65535\n"+
				"    oifname %[1]q ip saddr != %[2]s masquerade\n  }\n}\n", g.ENI.IfName, ngwBenchPrivateIP)
			if _, err := nsRun(ctx, g.NS, rs, "nft", "-f", "-"); err != nil {
				release()
				return nil, fmt.Errorf("masquerade in %s: %w", g.NS, err)
			}
		}
		return release, nil
	}
}

// ngwForward makes the path route without translation. The internet
// already routes the VPC's block to the internet gateway link (its tables
// hold the VPCs' blocks); the router's table of that link (the gateway's
// ingress routing, local routes only) is made to send what arrives for the
// private subnet through the NAT gateway's namespace, so that both
// directions cross it as they do translated.
func ngwForward(ctx context.Context, t *Topo) error {
	p := t.Plan
	g := p.NATGateways[0]
	var pub vpc.SubnetPlan
	for _, s := range p.Subnets {
		if s.SubnetID == "subnet-pub" {
			pub = s
		}
	}
	for _, pp := range p.Routing.Ports {
		if pp.Kind != vpc.PortIGW {
			continue
		}
		args := []string{"-n", pp.NS, "route", "replace", t.Subnets[1].CIDR.String(), "via", g.ENI.Addr.Addr().String(), "dev", pub.UplinkRouterIf, "onlink"}
		if pp.Table != 0 {
			args = append(args, "table", itoa(pp.Table))
		}
		return ip(ctx, args...)
	}
	return fmt.Errorf("no internet gateway port in the NAT gateway path")
}

// NATGatewayPairs renders, when the run has the NAT gateway's path, the
// per-round ratios of the eBPF NAT gateway (`ngw`) to bare forwarding on
// the same path (`fwd`) and to nftables masquerade (`masq`) for each
// metric: the targets are >= 0.8x fwd's throughput and at least
// masq's new connections/s. Empty without `ngw`.
func (r *Results) NATGatewayPairs() string {
	has := map[string]bool{}
	for _, c := range r.Configs {
		has[c.Name] = true
	}
	if !has["ngw"] {
		return ""
	}
	var b strings.Builder
	for _, peer := range []string{"fwd", "masq"} {
		if !has[peer] {
			continue
		}
		row := fmt.Sprintf("| `ngw` / `%s` |", peer)
		for _, m := range r.Metrics {
			ours, theirs := r.roundValues("ngw", m), r.roundValues(peer, m)
			var ratios []float64
			for round, v := range ours {
				if w, ok := theirs[round]; ok && w > 0 {
					ratios = append(ratios, v/w)
				}
			}
			if len(ratios) == 0 {
				row += " – |"
				continue
			}
			row += fmt.Sprintf(" %.2f× (%.2f–%.2f) |", Median(ratios), slicesMin(ratios), slicesMax(ratios))
		}
		b.WriteString(row + "\n")
	}
	if b.Len() == 0 {
		return ""
	}
	head := "| NAT gateway path |"
	for _, m := range r.Metrics {
		head += " " + metricTitle(m) + ", per-round ratio: median (min–max) |"
	}
	return "\nThe NAT gateway's path (`ngw`, `masq`, `fwd`): a private instance (10.10.2.10, its subnet's default route to the NAT gateway) — its subnet — the VPC router — the NAT gateway's namespace (ENI 10.10.1.100 in the public subnet) — the router — the internet gateway link — the internet namespace — an internet host (198.51.100.10), built by `netns.Build` as `vpcemu up` builds it. `ngw`: vpcemu's whole datapath (router program routing by `bpf_fib_lookup`, SG, internet gateway, the eBPF NAT gateway); `masq`: the same datapath with the NAT gateway's program detached and `nftables` masquerade (ports 1024-65535) in its namespace instead; `fwd`: no program, the kernels route by the same tables (`ip rule iif`), the NAT gateway's namespace forwards without translating, and the router sends what comes back from the internet for the private subnet through it too. Each round's `ngw` figure over the other's in the same round (targets: throughput >= 0.8x `fwd`, new connections/s >= `masq`):\n\n" +
		head + "\n|---|" + strings.Repeat("---|", len(r.Metrics)) + "\n" + b.String()
}
