package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcemu/vpcemu/ec2api"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// heldBackend is the lab's backend whose first Commit waits for gate, so
// that the requests sent meanwhile go live as one batch; it counts plans
// (one per accepted or refused change) and failed commits.
type heldBackend struct {
	labBackend
	gate           chan struct{}
	plans, commits atomic.Int32
	failed         atomic.Int32
}

func (b *heldBackend) Plan(ctx context.Context, base *vpc.Topology, edit func(*vpc.Topology) error) (*vpc.Topology, error) {
	b.plans.Add(1)
	return b.labBackend.Plan(ctx, base, edit)
}

func (b *heldBackend) Commit(ctx context.Context, base, next *vpc.Topology) error {
	if b.commits.Add(1) == 1 {
		<-b.gate
	}
	err := b.labBackend.Commit(ctx, base, next)
	if err != nil {
		b.failed.Add(1)
	}
	return err
}

// bigGroupRules is how many rules sg-big holds: UDP to even ports from one
// peer, each an entry of the same datapath node, just under its capacity
// (rules.SGMaxNodeEnts).
const bigGroupRules = 4090

// groupCommitLab is the lab with UDP echo servers on i-web for the
// churned rules and a second group on i-web, sg-big, whose node is nearly
// full.
func groupCommitLab(t *testing.T) *vpc.Topology {
	y := string(vpc.LabYAML)
	y = strings.Replace(y, "\nvpc:\n", "\nlimits:\n  rules_per_security_group: 5000\n\nvpc:\n", 1)
	var big strings.Builder
	big.WriteString("  - id: sg-big\n    description: a datapath node nearly full\n    ingress:\n")
	for i := range bigGroupRules {
		fmt.Fprintf(&big, "      - {protocol: udp, ports: %d, cidr: 10.99.0.0/16}\n", 2+2*i)
	}
	y = strings.Replace(y, "\nnetwork_acls:\n", "\n"+big.String()+"\nnetwork_acls:\n", 1)
	y = strings.Replace(y, "security_groups: [sg-web]", "security_groups: [sg-web, sg-big]", 1)
	var svc []string
	for _, p := range churnPorts() {
		svc = append(svc, fmt.Sprintf(`"udp:%d"`, p))
	}
	y = strings.Replace(y, "services: [http, https, ssh]", "services: [http, https, ssh, "+strings.Join(svc, ", ")+"]", 1)
	return testenv.Topology(t, y)
}

const churnWorkers = 8

// churnPorts are the UDP ports whose rules the test changes: the held
// batch's 9100-9102 and each churn worker's 9000+w.
func churnPorts() []int {
	ports := []int{9100, 9101, 9102}
	for w := range churnWorkers {
		ports = append(ports, 9000+w)
	}
	slices.Sort(ports)
	return ports
}

// bigPerms are n UDP permissions from sg-big's peer to the even ports
// after its rules.
func bigPerms(n int) []ec2types.IpPermission {
	var ps []ec2types.IpPermission
	for i := range n {
		p := int32(2 + 2*(bigGroupRules+i))
		ps = append(ps, ec2types.IpPermission{IpProtocol: aws.String("udp"), FromPort: aws.Int32(p), ToPort: aws.Int32(p),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.99.0.0/16")}}})
	}
	return ps
}

func udpPerm(port int32) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String("udp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("192.0.2.0/24")}}}}
}

// strangerUDP lists sg-web's UDP ports admitted from the stranger's /24 in t.
func strangerUDP(t *vpc.Topology) []int {
	var ports []int
	for _, r := range t.SecurityGroup("sg-web").Ingress {
		if r.Protocol == vpc.ProtoUDP && r.CIDR.String() == "192.0.2.0/24" {
			ports = append(ports, r.Ports.From)
		}
	}
	slices.Sort(ports)
	return ports
}

// udpEchoes tells whether a datagram from ns (a new source port: no
// tracked flow) to addr is echoed; an answer is waited for up to three
// times.
func udpEchoes(t *testing.T, ns, addr string) bool {
	t.Helper()
	for range 3 {
		got := false
		err := netns.Do(ns, func() error {
			c, err := net.Dial("udp", addr)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(400 * time.Millisecond))
			if _, err := c.Write([]byte("gc")); err != nil {
				return err
			}
			buf := make([]byte, 8)
			n, err := c.Read(buf)
			got = err == nil && string(buf[:n]) == "gc"
			return nil
		})
		if err != nil {
			t.Fatalf("UDP from %s to %s: %v", ns, addr, err)
		}
		if got {
			return true
		}
	}
	return false
}

// The group commit on a running topology, through aws-sdk-go-v2: changes
// that arrive while one is made live go live together, and one of them
// that the datapath cannot hold (sg-big's node over its capacity) or that
// duplicates another fails alone; then clients authorize and revoke rules
// concurrently. The running topology, state.json, DescribeSecurityGroupRules
// and the packets the datapath lets through agree at the end.
func TestAPIGroupCommitLive(t *testing.T) {
	testenv.RequireRoot(t)
	topo := groupCommitLab(t)
	// The precondition of the capacity case: sg-big fits, ten more do not.
	if _, err := rules.CompileSG(topo); err != nil {
		t.Fatalf("the lab's groups do not compile: %v", err)
	}
	over := topo.Clone()
	g := over.SecurityGroup("sg-big")
	for i := range 10 {
		p := 2 + 2*(bigGroupRules+i)
		g.Ingress = append(g.Ingress, vpc.SGRule{Protocol: vpc.ProtoUDP, Ports: vpc.PortRange{From: p, To: p}, CIDR: g.Ingress[0].CIDR})
	}
	if _, err := rules.CompileSG(over); !errors.Is(err, rules.ErrTooManySGEntries) {
		t.Fatalf("ten more rules in sg-big compile (%v): the case tests no capacity", err)
	}

	dir := t.TempDir()
	opts := lab.Options{RunRoot: dir + "/run", DataRoot: dir + "/data"}
	t.Cleanup(func() { _ = lab.Down(topo.Name, true, opts) })
	l, err := lab.Up(context.Background(), topo, "", topo.YAML(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	hb := &heldBackend{labBackend: labBackend{l}, gate: make(chan struct{})}
	srv := httptest.NewServer(ec2api.NewServer(ec2api.Config{Backend: func(r string) (ec2api.Backend, error) {
		if r == topo.Region {
			return hb, nil
		}
		return nil, nil
	}}))
	t.Cleanup(srv.Close)
	c := ec2.New(ec2.Options{Region: topo.Region, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	authorize := func(group string, perms []ec2types.IpPermission) error {
		_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(group), IpPermissions: perms})
		return err
	}

	// A held batch: 9100's commit waits while four more requests are
	// accepted, in this order.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]error{}
	send := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f()
			mu.Lock()
			got[name] = err
			mu.Unlock()
		}()
	}
	send("9100", func() error { return authorize("sg-web", udpPerm(9100)) })
	for hb.commits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{"sg-big over capacity", func() error { return authorize("sg-big", bigPerms(10)) }},
		{"9101", func() error { return authorize("sg-web", udpPerm(9101)) }},
		{"9102", func() error { return authorize("sg-web", udpPerm(9102)) }},
		{"9101 again", func() error { return authorize("sg-web", udpPerm(9101)) }},
	}
	for i, st := range steps {
		send(st.name, st.f)
		for deadline := time.Now().Add(30 * time.Second); hb.plans.Load() < int32(i+2); {
			if time.Now().After(deadline) {
				close(hb.gate)
				t.Fatalf("%s was not accepted", st.name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(hb.gate)
	wg.Wait()
	for name, want := range map[string]string{"9100": "", "sg-big over capacity": "RulesPerSecurityGroupLimitExceeded",
		"9101": "", "9102": "", "9101 again": "InvalidPermission.Duplicate"} {
		if err := got[name]; (want == "" && err != nil) || (want != "" && !isCode(err, want)) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	// The batch of four failed as one, then sg-big's change alone.
	if n := hb.failed.Load(); n != 2 {
		t.Errorf("%d commits failed, want 2 (the batch, then its request over capacity on its own)", n)
	}
	if n := len(l.Topology().SecurityGroup("sg-big").Ingress); n != bigGroupRules {
		t.Errorf("sg-big has %d rules after its failed change, want %d", n, bigGroupRules)
	}

	// Churn: every worker toggles its own rule; odd workers end with it in.
	want := []int{9100, 9101, 9102}
	var failed atomic.Int32
	for w := range churnWorkers {
		if w%2 == 1 {
			want = append(want, 9000+w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			on := false
			for range 24 + w%2 {
				var err error
				if on {
					_, err = c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-web"), IpPermissions: udpPerm(int32(9000 + w))})
				} else {
					err = authorize("sg-web", udpPerm(int32(9000+w)))
				}
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					failed.Add(1)
					return
				}
				on = !on
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.FailNow()
	}
	slices.Sort(want)
	t.Logf("%d commits for %d changes", hb.commits.Load(), 5+churnWorkers*24+churnWorkers/2)

	if ports := strangerUDP(l.Topology()); !slices.Equal(ports, want) {
		t.Errorf("the running sg-web admits UDP ports %v, want %v", ports, want)
	}
	st, err := lab.ReadState(l.Paths())
	if err != nil {
		t.Fatal(err)
	}
	recorded, err := st.Topology()
	if err != nil {
		t.Fatal(err)
	}
	if ports := strangerUDP(recorded); !slices.Equal(ports, want) {
		t.Errorf("state.json's sg-web admits UDP ports %v, want %v", ports, want)
	}
	if n := len(recorded.SecurityGroup("sg-big").Ingress); n != bigGroupRules {
		t.Errorf("state.json's sg-big has %d rules, want %d", n, bigGroupRules)
	}
	out, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{"sg-web"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var described []int
	for _, r := range out.SecurityGroupRules {
		if !*r.IsEgress && *r.IpProtocol == "udp" && aws.ToString(r.CidrIpv4) == "192.0.2.0/24" {
			described = append(described, int(*r.FromPort))
		}
	}
	slices.Sort(described)
	if !slices.Equal(described, want) {
		t.Errorf("DescribeSecurityGroupRules shows UDP ports %v, want %v", described, want)
	}
	// The datapath: the stranger (192.0.2.66) reaches exactly those ports.
	var stranger string
	for i, h := range topo.Internet {
		if h.Name == "stranger" {
			stranger = vpc.NewPlan(topo).Hosts[i].NS
		}
	}
	for _, p := range churnPorts() {
		if echoed, in := udpEchoes(t, stranger, fmt.Sprintf("203.0.113.10:%d", p)), slices.Contains(want, p); echoed != in {
			t.Errorf("UDP port %d from the stranger: echoed %v, but the topology admits it: %v", p, echoed, in)
		}
	}
}
