package lab

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
)

// T2's edits that add, live, a subnet N in vpc-1 with its route table to
// igw-1 and an instance E there, and a VPC vpc-3 with an internet
// gateway, a subnet Z, its route table and an instance F.
var (
	frameSubnet = []string{
		"  - {id: R, vpc: vpc-2,", "  - {id: N, vpc: vpc-1, cidr: 10.0.4.0/24, az: use1-az1, route_table: rtb-n, network_acl: acl-p}\n  - {id: R, vpc: vpc-2,",
		"  - id: rtb-r                    # local only\n", "  - id: rtb-n\n    vpc: vpc-1\n    routes:\n      - {destination: 0.0.0.0/0, target: igw-1}\n  - id: rtb-r\n",
		"  - {id: B, eni: eni-b,", "  - {id: E, eni: eni-e, subnet: N, private_ip: 10.0.4.40, public_ip: 203.0.113.40, security_groups: [sgW], services: [https]}\n  - {id: B, eni: eni-b,",
	}
	frameVPC = []string{
		"  - {id: vpc-2, cidr: 10.1.0.0/16}", "  - {id: vpc-2, cidr: 10.1.0.0/16}\n  - {id: vpc-3, cidr: 10.2.0.0/16}",
		"  - {id: R, vpc: vpc-2,", "  - {id: Z, vpc: vpc-3, cidr: 10.2.1.0/24, az: use1-az1, route_table: rtb-z}\n  - {id: R, vpc: vpc-2,",
		"  - {id: igw-1, vpc: vpc-1}", "  - {id: igw-1, vpc: vpc-1}\n  - {id: igw-3, vpc: vpc-3}",
		"  - id: rtb-r\n", "  - id: rtb-z\n    vpc: vpc-3\n    routes:\n      - {destination: 0.0.0.0/0, target: igw-3}\n  - id: rtb-r\n",
		"  - id: sgB\n", "  - id: sgF\n    vpc: vpc-3\n    ingress: [{protocol: tcp, ports: 443, cidr: 0.0.0.0/0}]\n    egress: [{protocol: all, cidr: 0.0.0.0/0}]\n  - id: sgB\n",
		"  - {id: B, eni: eni-b,", "  - {id: F, eni: eni-f, subnet: Z, private_ip: 10.2.1.50, public_ip: 203.0.113.50, security_groups: [sgF], services: [https]}\n  - {id: B, eni: eni-b,",
	}
)

// Subnets, route tables, internet gateways and VPCs created and deleted
// on a running topology (lab.Change), with real traffic: X on the
// internet reaches an instance in a new subnet of vpc-1 and one in a new
// VPC through its new internet gateway, as the evaluator says; detached,
// the gateway's route is a blackhole where the evaluator says; deleted,
// their namespaces are gone and the rest still works.
func TestFrameLive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t)
	l := flUp(t, topo, Options{})
	x, d := flNS(t, l, "X"), flNS(t, l, "D")
	port := 43000
	try := func(ns, dst string) error {
		port++
		return tcpTry(ns, port, netip.MustParseAddrPort(dst), 2*time.Second)
	}
	apply := func(what string, edits ...string) {
		t.Helper()
		if err := l.ApplyTopology(rtParse(t, topo.Name, edits...)); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	delivered := func(what, src string, sport int, dst string) {
		t.Helper()
		if f := rtFate(l.Topology(), rtTCP(src, sport, dst, 443, rules.TCPSyn)); f != "delivered" {
			t.Errorf("%s: the evaluator says %s", what, f)
		}
	}

	// A change that fails once its steps ran is undone: nothing of N,
	// rtb-n or E is left.
	l.opts.failAfter = "record"
	if err := l.ApplyTopology(rtParse(t, topo.Name, frameSubnet...)); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("change failing when it records its state: %v", err)
	}
	l.opts.failAfter = ""
	names, _ := netns.List()
	for _, ns := range names {
		if ns == "vpcemu."+topo.Name+".sn.N" || ns == "vpcemu."+topo.Name+".i.E" {
			t.Errorf("the failed change left namespace %s", ns)
		}
	}
	if l.Topology().Subnet("N") != nil {
		t.Fatal("the failed change's topology runs")
	}

	apply("subnet N, rtb-n and E", frameSubnet...)
	if err := try(x, "203.0.113.40:443"); err != nil {
		t.Errorf("X -> E's public IP: %v", err)
	}
	delivered("X -> E", "198.51.100.10", port, "203.0.113.40")
	if err := try(d, "10.0.4.40:443"); err != nil {
		t.Errorf("D -> E: %v", err)
	}

	both := append(append([]string{}, frameSubnet...), frameVPC...)
	apply("vpc-3, igw-3, Z, rtb-z and F", both...)
	f := flNS(t, l, "F")
	if err := try(x, "203.0.113.50:443"); err != nil {
		t.Errorf("X -> F's public IP: %v", err)
	}
	delivered("X -> F", "198.51.100.10", port, "203.0.113.50")
	if err := try(f, "203.0.113.80:443"); err != nil {
		t.Errorf("F -> S: %v", err)
	}

	// igw-3 detached: rtb-z's default route is a blackhole (RT-15).
	detached := append(append([]string{}, frameSubnet...), frameVPC...)
	for i := range detached {
		detached[i] = strings.Replace(detached[i], "{id: igw-3, vpc: vpc-3}", "{id: igw-3}", 1)
		detached[i] = strings.Replace(detached[i], "target: igw-3}", "target: igw-3, state: blackhole}", 1)
	}
	apply("igw-3 detached", detached...)
	if err := rtRefused(try(f, "203.0.113.80:443")); err != nil {
		t.Errorf("igw-3 detached: F -> S: %v", err)
	}
	rtWaitDrop(t, l, "igw-3 detached", rtTCP("10.2.1.50", port, "203.0.113.80", 443, rules.TCPSyn))
	apply("igw-3 attached again", both...)
	if err := try(f, "203.0.113.80:443"); err != nil {
		t.Errorf("igw-3 attached again: F -> S: %v", err)
	}

	// All of it deleted: back to T2.
	apply("back to T2")
	names, _ = netns.List()
	for _, ns := range names {
		for _, gone := range []string{".sn.N", ".sn.Z", ".router.vpc-3", ".i.E", ".i.F"} {
			if ns == "vpcemu."+topo.Name+gone {
				t.Errorf("namespace %s still there", ns)
			}
		}
	}
	if err := rtRefused(try(x, "203.0.113.40:443")); err != nil {
		t.Errorf("X -> E's old public IP: %v", err)
	}
	if err := try(x, "203.0.113.10:443"); err != nil {
		t.Errorf("X -> W after the deletions: %v", err)
	}
	// And again: what was deleted can be created anew.
	apply("subnet N again", frameSubnet...)
	if err := try(x, "203.0.113.40:443"); err != nil {
		t.Errorf("X -> E, created again: %v", err)
	}
}

// T2's edits: pcx-12 gone, and (framePeeringRoutes) routes both ways
// through it between P and R.
var (
	frameNoPeering     = []string{"  - {id: pcx-12, requester_vpc: vpc-1, accepter_vpc: vpc-2, state: active}\n", ""}
	framePeeringRoutes = []string{
		"      - {destination: 0.0.0.0/0, target: igw-1}\n", "      - {destination: 0.0.0.0/0, target: igw-1}\n      - {destination: 10.1.0.0/16, target: pcx-12}\n",
		"  - id: rtb-r                    # local only\n    vpc: vpc-2\n", "  - id: rtb-r\n    vpc: vpc-2\n    routes:\n      - {destination: 10.0.0.0/16, target: pcx-12}\n",
	}
)

// A peering created and deleted on a running topology, with real traffic:
// once pcx-12 and routes through it exist, D in vpc-1 reaches B's ssh in
// vpc-2 as the evaluator says; deleted, the link between the two routers
// is gone and D no longer gets through.
func TestFramePeeringLive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := rtTopology(t, frameNoPeering...)
	l := flUp(t, topo, Options{})
	d := flNS(t, l, "D")
	port := 44000
	try := func() error {
		port++
		return tcpTry(d, port, netip.MustParseAddrPort("10.1.1.30:22"), 2*time.Second)
	}
	fate := func() string { return rtFate(l.Topology(), rtTCP("10.0.1.20", port, "10.1.1.30", 22, rules.TCPSyn)) }
	if err := rtRefused(try()); err != nil {
		t.Fatalf("no peering: D -> B: %v", err)
	}

	if err := l.ApplyTopology(rtParse(t, topo.Name, framePeeringRoutes...)); err != nil {
		t.Fatalf("pcx-12 and its routes: %v", err)
	}
	if err := try(); err != nil {
		t.Errorf("pcx-12 created: D -> B: %v", err)
	}
	if f := fate(); f != "delivered" {
		t.Errorf("pcx-12 created: the evaluator says %s", f)
	}
	l.mu.Lock()
	var link []string
	for _, lp := range l.plan.Links {
		if lp.ID == "pcx-12" {
			link = []string{lp.A.NS, lp.A.If}
		}
	}
	l.mu.Unlock()
	if link == nil {
		t.Fatal("the running layout has no link for pcx-12")
	}

	if err := l.ApplyTopology(rtParse(t, topo.Name, frameNoPeering...)); err != nil {
		t.Fatalf("pcx-12 deleted: %v", err)
	}
	if err := rtRefused(try()); err != nil {
		t.Errorf("pcx-12 deleted: D -> B: %v", err)
	}
	if f := fate(); f == "delivered" {
		t.Errorf("pcx-12 deleted: the evaluator says %s", f)
	}
	if out, err := exec.Command("ip", "-n", link[0], "link", "show", link[1]).CombinedOutput(); err == nil {
		t.Errorf("pcx-12 deleted: %s still has %s: %s", link[0], link[1], out)
	}
}
