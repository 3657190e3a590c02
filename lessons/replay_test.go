package lessons

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/intent"
	"github.com/vpcemu/vpcemu/vpc"
)

// breaking is what a lesson shows breaking: traffic that works in its
// first step and fails, unchanged, in its last.
func breaking(l *Lesson) []string {
	var out []string
	first, last := l.steps[0], l.steps[len(l.steps)-1]
	for _, a := range first.probes {
		for _, b := range last.probes {
			if a.from == b.from && a.to == b.to && a.service == b.service && a.hold == "" && b.hold == "" && a.want && !b.want {
				out = append(out, fmt.Sprintf("%s -> %s tcp %d", a.from, a.to, a.dport()))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Records vpcemu's own flow logs wrote during a lesson, replayed against
// the lesson's last rules, name exactly the flows the lesson shows breaking.
func testReplay(t *testing.T, name string) {
	l := mustFind(t, name)
	want := breaking(l)
	if len(want) == 0 {
		t.Fatalf("lesson %s shows nothing breaking", name)
	}
	res := runLessonKeepingLogs(t, name)
	if !res.Passed {
		t.Fatalf("lesson %s failed; its flow logs prove nothing", name)
	}
	old, err := vpc.Parse(l.File(), l.YAML())
	if err != nil {
		t.Fatal(err)
	}
	new, err := l.TopologyAfter(old, len(l.steps))
	if err != nil {
		t.Fatal(err)
	}
	r := intent.NewReplayer(old, new)
	files := 0
	err = filepath.WalkDir(res.FlowLogDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".log.gz") {
			return err
		}
		files++
		return flowlog.ScanFile(p, func(cols, vals []string) error {
			if err := r.Columns(cols); err != nil {
				return err
			}
			return r.Add(vals)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	rr := r.Result()
	var got []string
	for _, g := range rr.Groups {
		got = append(got, fmt.Sprintf("%s -> %s %s %d", g.From, g.To, g.Protocol, g.Port))
		if g.Packets == 0 || g.Bytes == 0 {
			t.Errorf("%s -> %s: no packet or byte counts: %+v", g.From, g.To, g)
		}
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replay of %d records (%d files) names:\n  %s\nthe lesson shows breaking:\n  %s", rr.Records, files, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	t.Logf("%d records, %d accepted, %d broken connections: %s", rr.Records, rr.Accepted, len(rr.Broken), strings.Join(got, "; "))
}

func TestReplayLessonNACLEphemeral(t *testing.T) { testReplay(t, "nacl-ephemeral") }
func TestReplayLessonFlowlogAudit(t *testing.T)  { testReplay(t, "flowlog-audit") }

func TestTopologyAfter(t *testing.T) {
	l := mustFind(t, "nacl-ephemeral")
	t0, err := vpc.Parse(l.File(), l.YAML())
	if err != nil {
		t.Fatal(err)
	}
	t2, err := l.TopologyAfter(t0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if r := t2.NetworkACL("acl-public").Ingress[0]; r.Number != 20 || r.Allow {
		t.Errorf("after step 2 the first inbound rule is %+v, want rule 20 deny", r)
	}
	if len(t0.NetworkACL("acl-public").Ingress) != 2 {
		t.Errorf("TopologyAfter modified its argument")
	}
}
