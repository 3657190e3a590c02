package lab

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

const mirrorLessTopo = `
vpc: {id: vpc-n, cidr: 10.0.0.0/16}
subnets:
  - {id: sn-a, cidr: 10.0.1.0/24}
instances:
  - {id: i-src, subnet: sn-a, private_ip: 10.0.1.10}
  - {id: i-mon, subnet: sn-a, private_ip: 10.0.1.20}
`

// A topology that came up with no traffic_mirror object has mirroring
// compiled out of its datapath: a session cannot be added live, and the
// refusal says what to do and changes nothing; targets and filters, which
// the datapath does not hold, can.
func TestMirrorSessionNotLiveWithoutMirroring(t *testing.T) {
	testenv.RequireRoot(t)
	l := upForCapture(t, testenv.Topology(t, mirrorLessTopo))
	before := string(l.Topology().YAML())
	edit := func(withSession bool) func(cur *vpc.Topology) (*vpc.Topology, error) {
		return func(cur *vpc.Topology) (*vpc.Topology, error) {
			next := cur.Clone()
			tm := &next.TrafficMirror
			tm.Targets = []vpc.MirrorTarget{{ID: "tmt-1", ENI: cur.Instance("i-mon").ENI.ID}}
			tm.Filters = []vpc.MirrorFilter{{ID: "tmf-1"}}
			if withSession {
				tm.Sessions = []vpc.MirrorSession{{ID: "tms-1", Source: cur.Instance("i-src").ENI.ID, Target: "tmt-1", Filter: "tmf-1", Number: 1, VNI: 7}}
			}
			return vpc.Parse("", next.YAML())
		}
	}
	_, err := l.Change(context.Background(), false, edit(true))
	if !errors.Is(err, ErrNotLive) || !strings.Contains(err.Error(), "traffic_mirror") {
		t.Fatalf("adding a session: %v, want a NotLiveError naming traffic_mirror", err)
	}
	if got := string(l.Topology().YAML()); got != before {
		t.Errorf("the refused change changed the topology:\n%s", got)
	}
	if _, err := l.Change(context.Background(), false, edit(false)); err != nil {
		t.Errorf("adding a target and a filter: %v", err)
	}
}
