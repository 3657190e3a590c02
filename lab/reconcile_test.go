package lab

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The lab (testenv.Lab) is up for each test: sg-web admits TCP 80 from
// anywhere, acl-public allows everything; i-web serves HTTP on
// 10.0.1.10, the laptop is 198.51.100.10 on the internet.

func upForChange(t *testing.T, opts Options) *Lab {
	t.Helper()
	testenv.RequireRoot(t)
	topo := testenv.Lab(t)
	t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
	l, err := Up(context.Background(), topo, "", topo.YAML(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var webHTTP = netip.MustParseAddrPort("203.0.113.10:80")

// httpFromLaptop tells whether the laptop gets a TCP connection to i-web's
// port 80 (a refused SYN times out).
func httpFromLaptop(t *testing.T, l *Lab) bool {
	t.Helper()
	return tcpTry(flNS(t, l, "laptop"), 0, webHTTP, 700*time.Millisecond) == nil
}

// edit returns a Change edit that applies fn to a copy of the running
// topology (its export, parsed back).
func edit(fn func(*vpc.Topology)) func(*vpc.Topology) (*vpc.Topology, error) {
	return func(cur *vpc.Topology) (*vpc.Topology, error) {
		next, err := vpc.Parse("", cur.YAML())
		if err != nil {
			return nil, err
		}
		fn(next)
		return vpc.Parse("", next.YAML())
	}
}

func dropHTTPRule(t *vpc.Topology) {
	sg := t.SecurityGroup("sg-web")
	for i, r := range sg.Ingress {
		if r.Ports.From == 80 {
			sg.Ingress = append(sg.Ingress[:i:i], sg.Ingress[i+1:]...)
			return
		}
	}
}

func stateYAML(t *testing.T, l *Lab) string {
	t.Helper()
	s, err := ReadState(l.Paths())
	if err != nil {
		t.Fatal(err)
	}
	return s.YAML
}

// A change goes through to the next connection and into state.json; a
// DryRun (check) changes nothing.
func TestChangeIsLiveAndRecorded(t *testing.T) {
	l := upForChange(t, testOptions(t))
	if !httpFromLaptop(t, l) {
		t.Fatal("before any change the laptop cannot reach i-web:80")
	}
	before := stateYAML(t, l)
	if _, err := l.Change(context.Background(), true, edit(dropHTTPRule)); err != nil {
		t.Fatal(err)
	}
	if !httpFromLaptop(t, l) || stateYAML(t, l) != before || len(l.Topology().SecurityGroup("sg-web").Ingress) != 4 {
		t.Fatal("a checked change (DryRun) changed the running topology")
	}
	next, err := l.Change(context.Background(), false, edit(dropHTTPRule))
	if err != nil {
		t.Fatal(err)
	}
	if httpFromLaptop(t, l) {
		t.Error("after removing sg-web's port 80 rule the laptop still connects")
	}
	if l.Topology() != next {
		t.Error("the running topology is not the one the change returned")
	}
	got, err := vpc.Parse("", []byte(stateYAML(t, l)))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(got.SecurityGroup("sg-web").Ingress); n != 3 {
		t.Errorf("state.json's topology has %d sg-web ingress rules, want 3", n)
	}
	// A new NACL denying the laptop, associated with the public subnet.
	_, err = l.Change(context.Background(), false, edit(func(t *vpc.Topology) {
		dropHTTPRule(t) // already gone: no-op
		t.SecurityGroup("sg-web").Ingress = append(t.SecurityGroup("sg-web").Ingress,
			vpc.SGRule{ID: "sgr-0000000000000080a", Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: 80, To: 80}, CIDR: netip.MustParsePrefix("0.0.0.0/0"), ICMPType: -1, ICMPCode: -1})
		acl := *t.NetworkACL("acl-public")
		acl.ID, acl.Tags = "acl-block", nil
		acl.Ingress = append([]vpc.NACLRule{{Number: 50, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.MustParsePrefix("198.51.100.10/32")}}, acl.Ingress...)
		t.NetworkACLs = append(t.NetworkACLs, acl)
		t.Subnet("subnet-public").NetworkACL = "acl-block"
	}))
	if err != nil {
		t.Fatal(err)
	}
	if httpFromLaptop(t, l) {
		t.Error("a new NACL denying the laptop, associated with i-web's subnet, does not stop it")
	}
	_, err = l.Change(context.Background(), false, edit(func(t *vpc.Topology) { t.Subnet("subnet-public").NetworkACL = "acl-public" }))
	if err != nil {
		t.Fatal(err)
	}
	if !httpFromLaptop(t, l) {
		t.Error("back on acl-public with the port 80 rule restored, the laptop cannot connect")
	}
}

// What the datapath cannot change live is refused before anything runs;
// a change that fails after the datapath took it is undone: the rules,
// the topology and state.json are as before.
func TestChangeRefusedOrFailedChangesNothing(t *testing.T) {
	opts := testOptions(t)
	l := upForChange(t, opts)
	before, topo := stateYAML(t, l), l.Topology()

	_, err := l.Change(context.Background(), false, edit(func(t *vpc.Topology) {
		dropHTTPRule(t)
		t.Subnet("subnet-private").AZ = "use1-az2"
	}))
	var nl *NotLiveError
	if !errors.Is(err, ErrNotLive) || !errors.As(err, &nl) || !strings.Contains(nl.Change, "subnets") {
		t.Fatalf("moving a subnet to another AZ: %v; want a NotLiveError naming the subnets", err)
	}
	if !httpFromLaptop(t, l) || l.Topology() != topo || stateYAML(t, l) != before {
		t.Fatal("a refused change changed the running topology")
	}

	l.opts.failAfter = "record"
	_, err = l.Change(context.Background(), false, edit(func(t *vpc.Topology) {
		dropHTTPRule(t)
		t.Subnet("subnet-public").NetworkACL = "acl-default"
	}))
	l.opts.failAfter = ""
	if err == nil || !strings.Contains(err.Error(), "injected failure after record") {
		t.Fatalf("change failing when it records its state: %v", err)
	}
	if !httpFromLaptop(t, l) {
		t.Error("the failed change's new rules are still live: the laptop cannot connect")
	}
	if l.Topology() != topo || stateYAML(t, l) != before {
		t.Error("the failed change's topology was recorded")
	}
	// The undone datapath takes the next change normally.
	if _, err := l.Change(context.Background(), false, edit(dropHTTPRule)); err != nil {
		t.Fatal(err)
	}
	if httpFromLaptop(t, l) {
		t.Error("after the undone change, removing the port 80 rule does not take")
	}
}

// Flow-log subscriptions come and go live: a new one records the flows
// after it, a removed one writes out what it had counted.
func TestChangeFlowLogsLive(t *testing.T) {
	l := upForChange(t, testOptions(t))
	if !httpFromLaptop(t, l) { // counted by fl-lab
		t.Fatal("the laptop cannot reach i-web:80")
	}
	_, err := l.Change(context.Background(), false, edit(func(t *vpc.Topology) {
		t.FlowLogs = []vpc.FlowLog{{ID: "fl-web", Resource: "i-web", TrafficType: "ALL", MaxAggregationInterval: 1, LogFormat: "default", FileFormat: "plain-text"}}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !httpFromLaptop(t, l) {
		t.Fatal("the laptop cannot reach i-web:80")
	}
	if err := l.FlushFlowLogs(); err != nil {
		t.Fatal(err)
	}
	files := func(id string) []string {
		var out []string
		filepath.WalkDir(l.Paths().FlowLogs(), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(filepath.Base(p), "_"+id+"_") {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	if len(files("fl-web")) == 0 {
		t.Error("the flow log added live wrote no file after traffic")
	}
	st := l.Status()
	if len(st.FlowLogs) != 1 || st.FlowLogs[0].ID != "fl-web" || st.FlowLogs[0].RecordsOK == 0 {
		t.Errorf("status of flow logs: %+v; want fl-web alone with records", st.FlowLogs)
	}
	if len(files("fl-lab")) == 0 {
		t.Error("the removed flow log fl-lab did not write out what it had counted")
	}
}
