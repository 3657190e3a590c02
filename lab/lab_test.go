package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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
		if strings.HasPrefix(msg, "attaching the datapath") {
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

// A daemon that has exited but is not yet reaped (a zombie: a detached
// daemon's parent is init, which may reap it late) is not alive: down and
// up must not wait for init.
func TestAliveIgnoresZombies(t *testing.T) {
	running := exec.Command("sleep", "30")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { running.Process.Kill(); running.Wait() }()
	if !alive(running.Process.Pid) {
		t.Errorf("running process %d is not alive", running.Process.Pid)
	}
	exited := exec.Command("true")
	if err := exited.Start(); err != nil {
		t.Fatal(err)
	}
	defer exited.Wait()
	stat := fmt.Sprintf("/proc/%d/stat", exited.Process.Pid)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			t.Fatalf("zombie %d: %v", exited.Process.Pid, err)
		}
		if strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not exit: %s", exited.Process.Pid, b)
		}
	}
	if alive(exited.Process.Pid) {
		t.Errorf("zombie %d counts as alive", exited.Process.Pid)
	}
	if alive(0) || alive(-1) {
		t.Error("pid 0 or -1 counts as alive")
	}
}

// The daemon's usage in status is the process's own: a descriptor opened
// shows up, and so do a goroutine and memory.
func TestDaemonStatusReadsOwnUsage(t *testing.T) {
	before := daemonStatus()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { <-stop }()
	after := daemonStatus()
	if after.FDs != before.FDs+1 {
		t.Errorf("open descriptors %d, then %d after opening one", before.FDs, after.FDs)
	}
	if after.Goroutines < before.Goroutines+1 {
		t.Errorf("goroutines %d, then %d after starting one", before.Goroutines, after.Goroutines)
	}
	if after.RSSBytes < 1<<20 {
		t.Errorf("resident memory %d bytes", after.RSSBytes)
	}
}
