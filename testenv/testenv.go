package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// ExecTimeout bounds every command Exec runs.
const ExecTimeout = 30 * time.Second

// RequireRoot skips tb unless it runs as root. Under CI (CI=true) or with
// VPCEMU_REQUIRE_PRIV=1 it fails instead: a privileged test that silently
// skips where it is supposed to run is a failure.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("VPCEMU_REQUIRE_PRIV") == "1" || os.Getenv("CI") == "true" {
		tb.Fatal("privileged test needs root (CAP_NET_ADMIN, CAP_BPF, CAP_SYS_ADMIN) and would be skipped")
	}
	tb.Skip("needs root (CAP_NET_ADMIN, CAP_BPF, CAP_SYS_ADMIN); run `sudo make test`")
}

var counter atomic.Uint32

// Name returns a topology name unique to this test, process and call: at
// most 16 characters of [a-z0-9-], so parallel tests and packages never collide.
func Name(tb testing.TB) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(tb.Name()))
	n := "t" + hex.EncodeToString(sum[:])[:5] +
		strconv.FormatInt(int64(os.Getpid()), 36) + "-" +
		strconv.FormatUint(uint64(counter.Add(1)), 36)
	if len(n) > 16 {
		// Only a pid beyond 36^5 or a six-digit counter gets here; keep the
		// tail, which is what differs between calls.
		n = "t" + n[len(n)-15:]
	}
	return n
}

// Build lays out topo (its Name set to a fresh Name(tb) when empty) and builds
// its namespaces. Teardown is registered before building, so a test that
// fails anywhere, Build included, leaves nothing behind.
func Build(tb testing.TB, topo *vpc.Topology) *vpc.Plan {
	tb.Helper()
	RequireRoot(tb)
	if topo.Name == "" {
		topo.Name = Name(tb)
	}
	p := rules.NewPlan(topo)
	tb.Cleanup(func() {
		if err := netns.Teardown(topo.Name); err != nil {
			tb.Errorf("teardown %s: %v", topo.Name, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := netns.Build(ctx, p, topo, nil); err != nil {
		tb.Fatalf("build topology: %v", err)
	}
	return p
}

// Exec runs args inside namespace ns (a full namespace name, as in the plan)
// and returns its standard output. The error carries the standard error.
func Exec(tb testing.TB, ns string, args ...string) (string, error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ExecTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s in %s: %w: %s", strings.Join(args, " "), ns, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

var hasName = regexp.MustCompile(`(?m)^name:`)

// Topology parses a YAML topology snippet (the schema of vpc/lab.yaml)
// under a fresh Name(tb): a "name:" line is
// added when the snippet has none and replaced when it has one.
func Topology(tb testing.TB, snippet string) *vpc.Topology {
	tb.Helper()
	name := Name(tb)
	if !hasName.MatchString(snippet) {
		snippet = "name: " + name + "\n" + snippet
	}
	t, err := vpc.Parse(tb.Name()+".yaml", []byte(snippet))
	if err != nil {
		tb.Fatalf("parse topology snippet: %v", err)
	}
	t.Name = name
	return t
}

// Lab returns the built-in lab topology under a fresh Name(tb).
func Lab(tb testing.TB) *vpc.Topology {
	tb.Helper()
	t := vpc.Lab()
	t.Name = Name(tb)
	return t
}
