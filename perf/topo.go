package perf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Shape is the layout of a benchmark topology.
type Shape string

// Topology shapes. ShapeVPC is built by netns.Build from vpc.NewPlan: instance ns, subnet ns with a
// bridge, the VPC router, so that vpcemu's programs sit where they do in
// production (NACL on the router end of each uplink, SG on each ENI's
// subnet-side end). ShapeDirect is the peers' layout (../shared/bench): client, router,
// server and nothing in between, for comparison with their published figures.
const (
	ShapeVPC    Shape = "vpc"
	ShapeDirect Shape = "direct"
)

// nsPrefix starts the namespaces of a ShapeDirect topology; ShapeVPC ones
// are vpcemu's ("vpcemu.vbPID-SEQ."). The pid lets a later run remove what a
// killed run left behind without touching a live one.
const nsPrefix = "vpcbench."

// Port is one interface inside one namespace: where a filter attaches.
type Port struct {
	NS, If string
}

// Valid reports whether the port exists in the topology's shape.
func (p Port) Valid() bool { return p.NS != "" }

// Subnet is one side of the benchmark (A holds the client, B the server).
type Subnet struct {
	CIDR     netip.Prefix
	NS       string // the subnet's L2 namespace; "" in ShapeDirect
	RouterIf Port   // router end of the uplink: the NACL (this subnet's outbound table, the destination's inbound)
	SubnetIf Port   // subnet end of the uplink; invalid in ShapeDirect
	ENIPeer  Port   // the instance veth's far end: SG (tcx ingress = instance's outbound)
}

// Topo is one throwaway topology: client ns -- [subnet A] -- router -- [subnet B] -- server ns.
type Topo struct {
	Prefix   string // every namespace name starts with it; unique per topology
	Shape    Shape
	MTU      int
	ClientNS string
	RouterNS string
	ServerNS string
	ClientIf string // "eth0" in ClientNS
	ServerIf string // "eth0" in ServerNS: its rx counter is the forwarded packet count
	ClientIP netip.Addr
	ServerIP netip.Addr
	VPCCIDR  netip.Prefix
	Subnets  [2]Subnet
	// VPC and Plan describe a ShapeVPC topology the way vpcemu does (nil in
	// ShapeDirect): the namespaces, interface names and MACs are the plan's,
	// so vpcemu's loaders attach to it as to a topology of `vpcemu up`.
	VPC  *vpc.Topology
	Plan *vpc.Plan

	raw io.Writer // the run's raw log, for what configurations report on release
}

var topoSeq atomic.Int64

// BenchVPC is the benchmark's VPC: subnet-a (10.10.1.0/24) holds i-client
// (10.10.1.10), subnet-b (10.10.2.0/24) holds i-server (10.10.2.10), default
// NACL and SG, limits lifted so that configurations can add 1000s of rules.
func BenchVPC(name string) *vpc.Topology {
	pp, pa := netip.MustParsePrefix, netip.MustParseAddr
	all := vpc.SGRule{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1}
	in, out := all, all
	in.SourceGroup = vpc.DefaultSGID
	out.CIDR = pp("0.0.0.0/0")
	naclAll := func(n int) vpc.NACLRule {
		return vpc.NACLRule{Number: n, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: pp("0.0.0.0/0"), Allow: true}
	}
	t := &vpc.Topology{
		Name:    name,
		Account: "123456789012",
		Region:  "us-east-1",
		VPCs:    []vpc.VPC{{ID: "vpc-bench", CIDR: pp("10.10.0.0/16")}},
		Subnets: []vpc.Subnet{
			{ID: "subnet-a", CIDR: pp("10.10.1.0/24"), AZ: "us-east-1a", NetworkACL: vpc.DefaultNACLID},
			{ID: "subnet-b", CIDR: pp("10.10.2.0/24"), AZ: "us-east-1a", NetworkACL: vpc.DefaultNACLID},
		},
		SecurityGroups: []vpc.SecurityGroup{{ID: vpc.DefaultSGID, Name: "default", Ingress: []vpc.SGRule{in}, Egress: []vpc.SGRule{out}}},
		NetworkACLs:    []vpc.NetworkACL{{ID: vpc.DefaultNACLID, Default: true, Ingress: []vpc.NACLRule{naclAll(100)}, Egress: []vpc.NACLRule{naclAll(100)}}},
		Instances: []vpc.Instance{
			// nat-gateway's ephemeral range (1024-65535) gives the connection test room.
			{ID: "i-client", ENI: vpc.ENI{ID: "eni-client", Subnet: "subnet-a", PrivateIP: pa("10.10.1.10"), SecurityGroups: []string{vpc.DefaultSGID}}, OS: "nat-gateway", Conntrack: vpc.DefaultConntrack},
			{ID: "i-server", ENI: vpc.ENI{ID: "eni-server", Subnet: "subnet-b", PrivateIP: pa("10.10.2.10"), SecurityGroups: []string{vpc.DefaultSGID}}, OS: "amazon-linux", Conntrack: vpc.DefaultConntrack},
		},
		Limits: vpc.Limits{SecurityGroupsPerENI: 5, RulesPerSecurityGroup: 100000, NACLRulesPerDirection: 100000},
	}
	// Completed as a parsed file is (its main route table, defaults): the
	// evaluator and the datapath read completed topologies only.
	if err := vpc.Validate(t); err != nil {
		panic(fmt.Sprintf("perf: the benchmark VPC is invalid: %v", err))
	}
	return t
}

// NewTopo names a fresh topology; nothing exists until Up.
func NewTopo(shape Shape, mtu int) *Topo {
	if mtu == 0 {
		mtu = 1500
	}
	// "vb" + pid + "-" + seq fits vpcemu's 16-character topology names.
	name := fmt.Sprintf("vb%d-%d", os.Getpid(), topoSeq.Add(1))
	if shape == ShapeNGW {
		return newNGWTopo(name, mtu)
	}
	if shape == ShapeVPC {
		v := BenchVPC(name)
		p := rules.NewPlan(v)
		p.MTU = mtu
		cli, srv := p.Instances[0], p.Instances[1]
		t := &Topo{
			Prefix: vpc.NSPrefix(name), Shape: shape, MTU: mtu,
			ClientNS: cli.NS, RouterNS: p.RouterNS, ServerNS: srv.NS,
			ClientIf: cli.IfName, ServerIf: srv.IfName,
			ClientIP: cli.Addr.Addr(), ServerIP: srv.Addr.Addr(),
			VPCCIDR: v.VPCs[0].CIDR, VPC: v, Plan: p,
		}
		for i, s := range p.Subnets {
			t.Subnets[i] = Subnet{
				CIDR:     v.Subnets[i].CIDR,
				NS:       s.NS,
				RouterIf: Port{p.RouterNS, s.UplinkRouterIf},
				SubnetIf: Port{s.NS, s.UplinkSubnetIf},
				ENIPeer:  Port{p.Instances[i].PeerNS, p.Instances[i].PeerIf},
			}
		}
		return t
	}
	pre := nsPrefix + name + "."
	t := &Topo{
		Prefix: pre, Shape: shape, MTU: mtu,
		ClientNS: pre + "cli", RouterNS: pre + "rtr", ServerNS: pre + "srv",
		ClientIf: "eth0", ServerIf: "eth0",
		ClientIP: netip.MustParseAddr("10.10.1.10"),
		ServerIP: netip.MustParseAddr("10.10.2.10"),
		VPCCIDR:  netip.MustParsePrefix("10.10.0.0/16"),
	}
	for i := range t.Subnets {
		rif := Port{t.RouterNS, fmt.Sprintf("sn%d", i)}
		t.Subnets[i] = Subnet{CIDR: netip.MustParsePrefix(fmt.Sprintf("10.10.%d.0/24", i+1)), RouterIf: rif, ENIPeer: rif}
	}
	return t
}

// Namespaces lists every namespace of t.
func (t *Topo) Namespaces() []string {
	ns := []string{t.ClientNS, t.RouterNS, t.ServerNS}
	if t.Plan != nil {
		ns = append(ns, t.Plan.InternetNS)
		for _, g := range t.Plan.NATGateways {
			ns = append(ns, g.NS)
		}
	}
	for _, s := range t.Subnets {
		if s.NS != "" {
			ns = append(ns, s.NS)
		}
	}
	return ns
}

// gateway is the router's address in subnet i, with the subnet's length.
func (t *Topo) gateway(i int) netip.Prefix {
	c := t.Subnets[i].CIDR
	return netip.PrefixFrom(c.Addr().Next(), c.Bits())
}

// Up creates t. On failure everything created so far is removed. A
// ShapeVPC topology is built by netns.Build, exactly as `vpcemu up` builds
// one (with its internet namespace and gateway veth, unused here).
func (t *Topo) Up(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			t.Down()
			err = fmt.Errorf("topology %s: %w", t.Prefix, err)
		}
	}()
	if t.VPC != nil {
		if err := netns.Build(ctx, t.Plan, t.VPC, nil); err != nil {
			return err
		}
		// Room for the connection test's client ports (per-namespace sysctl).
		_, err := nsRun(ctx, t.ClientNS, "", "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000")
		return err
	}
	for _, ns := range t.Namespaces() {
		if err := ip(ctx, "netns", "add", ns); err != nil {
			return err
		}
		if err := ip(ctx, "-n", ns, "link", "set", "lo", "up"); err != nil {
			return err
		}
		// Per-namespace sysctls only, never the host's. IPv6 autoconfiguration
		// would add packets of its own to the counters; rp_filter is inherited
		// from the host otherwise.
		_, _ = nsRun(ctx, ns, "", "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
			"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
	}
	hosts := [2]struct{ ns, ifname string }{{t.ClientNS, t.ClientIf}, {t.ServerNS, t.ServerIf}}
	addrs := [2]netip.Addr{t.ClientIP, t.ServerIP}
	mtu := itoa(t.MTU)
	for i, s := range t.Subnets {
		gw := t.gateway(i)
		steps := [][]string{
			{"-n", t.RouterNS, "link", "add", s.RouterIf.If, "mtu", mtu, "type", "veth", "peer", "name", hosts[i].ifname, "mtu", mtu, "netns", hosts[i].ns},
			{"-n", hosts[i].ns, "link", "set", hosts[i].ifname, "up"},
			{"-n", t.RouterNS, "link", "set", s.RouterIf.If, "up"},
			{"-n", t.RouterNS, "addr", "add", gw.String(), "dev", s.RouterIf.If},
			{"-n", hosts[i].ns, "addr", "add", netip.PrefixFrom(addrs[i], gw.Bits()).String(), "dev", hosts[i].ifname},
			{"-n", hosts[i].ns, "route", "add", "default", "via", gw.Addr().String()},
		}
		for _, st := range steps {
			if err := ip(ctx, st...); err != nil {
				return err
			}
		}
	}
	if _, err := nsRun(ctx, t.RouterNS, "", "sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		return err
	}
	if _, err := nsRun(ctx, t.ClientNS, "", "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000"); err != nil {
		return err
	}
	return nil
}

// Down deletes every namespace of t (which deletes its veths, rules and
// attached programs with it). It uses its own deadline so that it still runs
// after the caller's context was cancelled (Ctrl-C).
func (t *Topo) Down() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if t.VPC != nil {
		_ = netns.Teardown(t.VPC.Name)
		return
	}
	for _, ns := range t.Namespaces() {
		if nsExists(ns) {
			_ = ip(ctx, "netns", "del", ns)
		}
	}
}

// Exists reports whether any namespace of t is still there.
func (t *Topo) Exists() bool {
	for _, ns := range t.Namespaces() {
		if nsExists(ns) {
			return true
		}
	}
	return false
}

func nsExists(ns string) bool {
	_, err := os.Stat("/run/netns/" + ns)
	return err == nil
}

// RemoveStale deletes benchmark namespaces left by runs whose process is
// gone (killed with SIGKILL, power loss). Namespaces of live runs are kept.
func RemoveStale() []string {
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		var rest string
		var ok bool
		for _, pre := range []string{nsPrefix + "vb", "vpcemu.vb"} {
			if rest, ok = strings.CutPrefix(name, pre); ok {
				break
			}
		}
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + pidStr); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		if ip(ctx, "netns", "del", name) == nil {
			removed = append(removed, name)
		}
		cancel()
	}
	return removed
}

func itoa(i int) string { return strconv.Itoa(i) }
