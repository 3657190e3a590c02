package lab

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
)

// testOptions keeps a test's state out of the real /run/vpcemu and /var/lib/vpcemu.
func testOptions(t *testing.T) Options {
	dir := t.TempDir()
	return Options{RunRoot: dir + "/run", DataRoot: dir + "/data"}
}

// assertNothingLeft checks that topology name left no namespace, state,
// data directory or process behind.
func assertNothingLeft(t *testing.T, opts Options, name string) {
	t.Helper()
	names, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == name {
			t.Errorf("namespaces of %s left behind", name)
		}
	}
	paths := PathsFor(opts.RunRoot, opts.DataRoot, name)
	for _, p := range []string{paths.Run, paths.Data} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left behind", p)
		}
	}
	out, _ := exec.Command("pgrep", "-af", paths.Run).CombinedOutput()
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("processes left behind:\n%s", s)
	}
}

// A failed up leaves the machine as it found it, whichever stage failed.
func TestUpFailureAtEveryStageLeavesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	for _, stage := range []string{"namespaces", "datapath", "services", "state"} {
		t.Run(stage, func(t *testing.T) {
			topo := testenv.Lab(t)
			opts := testOptions(t)
			opts.failAfter = stage
			t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
			l, err := Up(context.Background(), topo, "", nil, opts)
			if err == nil {
				l.Close()
				t.Fatalf("Up succeeded despite a failure injected after %s", stage)
			}
			if !strings.Contains(err.Error(), "injected failure after "+stage) {
				t.Errorf("error does not carry the cause: %v", err)
			}
			assertNothingLeft(t, opts, topo.Name)
		})
	}
}

// Cancelling the context (Ctrl-C during up) also leaves nothing.
func TestUpCancelledLeavesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Lab(t)
	opts := testOptions(t)
	t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
	ctx, cancel := context.WithCancel(context.Background())
	opts.Progress = func(msg string) {
		if strings.HasPrefix(msg, "loading the datapath") {
			cancel()
		}
	}
	l, err := Up(ctx, topo, "", nil, opts)
	if err == nil {
		l.Close()
		t.Fatal("Up succeeded after its context was cancelled")
	}
	assertNothingLeft(t, opts, topo.Name)
}

// Close keeps the flow logs (the audit trail); Down with purge removes them.
func TestCloseKeepsDataDownPurgeRemovesIt(t *testing.T) {
	testenv.RequireRoot(t)
	topo := testenv.Lab(t)
	opts := testOptions(t)
	t.Cleanup(func() { _ = Down(topo.Name, true, opts) })
	l, err := Up(context.Background(), topo, "", nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	paths := l.Paths()
	if err := os.MkdirAll(paths.FlowLogs(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(paths.Data); err != nil {
		t.Errorf("Close removed the flow-log directory: %v", err)
	}
	if _, err := os.Stat(paths.Run); err == nil {
		t.Errorf("Close left %s", paths.Run)
	}
	if err := Down(topo.Name, true, opts); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, opts, topo.Name)
}
