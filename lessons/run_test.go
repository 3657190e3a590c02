package lessons

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The privileged tests run the lessons for real: each brings its topology
// up under a unique name with state in the test's temp dirs, sends real
// traffic, and tears everything down. They run one after the other (no
// t.Parallel): each lesson's timing-free checks still want a quiet machine.

// runLesson runs lesson name with mutate and returns the result.
func runLesson(t *testing.T, name string, mutate func(*vpc.Topology)) *Result {
	t.Helper()
	testenv.RequireRoot(t)
	l, err := Find(name)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, l, Options{Name: testenv.Name(t), RunRoot: t.TempDir(), DataRoot: t.TempDir(), Mutate: mutate})
	if err != nil {
		t.Fatalf("lesson %s did not run: %v", name, err)
	}
	if res.Seconds > 60 {
		t.Logf("lesson %s took %.1fs, more than the minute a lesson may take", name, res.Seconds)
	}
	return res
}

// runLessonKeepingLogs runs lesson name and keeps its flow-log files (in
// the test's temp dir).
func runLessonKeepingLogs(t *testing.T, name string) *Result {
	t.Helper()
	testenv.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := Run(ctx, mustFind(t, name), Options{Name: testenv.Name(t), RunRoot: t.TempDir(), DataRoot: t.TempDir(), KeepFlowLogs: true})
	if err != nil {
		t.Fatalf("lesson %s did not run: %v", name, err)
	}
	return res
}

// failedSteps lists the numbers of the steps that failed, and their messages.
func failedSteps(r *Result) ([]int, []string) {
	var nums []int
	var msgs []string
	for _, s := range r.Steps {
		if !s.Passed {
			nums = append(nums, s.Number)
			for _, c := range s.Checks {
				if !c.OK {
					msgs = append(msgs, c.Message)
				}
			}
		}
	}
	return nums, msgs
}

func testLesson(t *testing.T, name string) {
	res := runLesson(t, name, nil)
	if nums, msgs := failedSteps(res); !res.Passed || len(nums) > 0 {
		t.Errorf("lesson %s: steps %v differ from AWS's behaviour:\n  %s", name, nums, strings.Join(msgs, "\n  "))
	}
	if len(res.Steps) != len(mustFind(t, name).steps) {
		t.Errorf("lesson %s ran %d of %d steps", name, len(res.Steps), len(mustFind(t, name).steps))
	}
}

func mustFind(t *testing.T, name string) *Lesson {
	l, err := Find(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLessonSGStateful(t *testing.T)           { testLesson(t, "sg-stateful") }
func TestLessonNACLOrder(t *testing.T)            { testLesson(t, "nacl-order") }
func TestLessonNACLEphemeral(t *testing.T)        { testLesson(t, "nacl-ephemeral") }
func TestLessonEphemeralRanges(t *testing.T)      { testLesson(t, "ephemeral-ranges") }
func TestLessonFlowlogAudit(t *testing.T)         { testLesson(t, "flowlog-audit") }
func TestLessonTrafficMirroring(t *testing.T)     { testLesson(t, "traffic-mirroring") }
func TestLessonNACLBlockIP(t *testing.T)          { testLesson(t, "nacl-block-ip") }
func TestLessonSGVsNACL(t *testing.T)             { testLesson(t, "sg-vs-nacl") }
func TestLessonNATGateway(t *testing.T)           { testLesson(t, "nat-gateway") }
func TestLessonPeeringNotTransitive(t *testing.T) { testLesson(t, "peering-not-transitive") }

// TestLessonsCatchBreakage runs lessons on settings an emulator bug would
// produce and checks that exactly the steps that depend on them fail, each
// with a message that names the difference.
func TestLessonsCatchBreakage(t *testing.T) {
	for _, tc := range []struct {
		name, lesson string
		mutate       func(*vpc.Topology)
		wantFailed   []int
		wantInMsg    []string
	}{
		{
			name:   "a 1 s TCP tracking timeout breaks only the held connection",
			lesson: "sg-stateful",
			mutate: func(t *vpc.Topology) {
				for i := range t.Instances {
					t.Instances[i].Conntrack.TCPEstablished = time.Second
				}
			},
			wantFailed: []int{4},
			wantInMsg:  []string{"send on the open TCP 8080 connection", "tcp_established_timeout: 1 (file: tcp_established_timeout: 432000)"},
		},
		{
			name:   "inbound rule 100 (allow all) removed from the NACL",
			lesson: "nacl-ephemeral",
			mutate: func(t *vpc.Topology) {
				if err := deleteNACLRule("acl-public", false, 100)(t); err != nil {
					panic(err)
				}
			},
			// Step 1: every reply falls to the implicit deny; step 2: so does
			// the Windows 2003 client's, which rule 100 was letting in.
			wantFailed: []int{1, 2},
			wantInMsg:  []string{"HTTPS i-win2003 -> website", "acl-public > ingress > removed rule: 100"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runLesson(t, tc.lesson, tc.mutate)
			nums, msgs := failedSteps(res)
			if !slices.Equal(nums, tc.wantFailed) {
				t.Errorf("failed steps %v, want %v; messages:\n  %s", nums, tc.wantFailed, strings.Join(msgs, "\n  "))
			}
			if res.Passed {
				t.Error("the lesson passed on broken settings")
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tc.wantInMsg {
				if !strings.Contains(all, w) {
					t.Errorf("no failure message names %q:\n  %s", w, strings.Join(msgs, "\n  "))
				}
			}
		})
	}
}
