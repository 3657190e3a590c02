package perf

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// cmdTimeout bounds every short setup command (ip, nft, iptables, ss).
const cmdTimeout = 20 * time.Second

// newCmd returns a command bounded by ctx and timeout that runs in its own
// process group, so that cancelling it kills whatever it spawned and only that.
func newCmd(ctx context.Context, timeout time.Duration, name string, args ...string) (*exec.Cmd, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	c := exec.CommandContext(ctx, name, args...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		if c.Process == nil {
			return nil
		}
		// Negative pid: the group we created with Setpgid, i.e. our child and its children.
		return syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	}
	c.WaitDelay = 2 * time.Second
	return c, cancel
}

// run runs a short command and returns its stdout; stderr goes into the error.
func run(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	c, cancel := newCmd(ctx, cmdTimeout, name, args...)
	defer cancel()
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// ip runs `ip ARGS...`.
func ip(ctx context.Context, args ...string) error {
	_, err := run(ctx, "", "ip", args...)
	return err
}

// nsRun runs a command inside namespace ns (`ip netns exec`).
func nsRun(ctx context.Context, ns, stdin string, args ...string) (string, error) {
	return run(ctx, stdin, "ip", append([]string{"netns", "exec", ns}, args...)...)
}
