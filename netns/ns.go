package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/vpc"
)

// RunDir is where named namespaces are bind-mounted, shared with `ip netns`.
const RunDir = "/run/netns"

// ErrExists reports that a topology (or one of its namespaces) is already up.
var ErrExists = errors.New("already exists")

// Path returns the bind-mount path of the named namespace.
func Path(ns string) string { return filepath.Join(RunDir, ns) }

// Exists reports whether the named namespace is mounted now.
func Exists(ns string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(Path(ns), &st); err != nil {
		return false
	}
	// An unmounted leftover file is not a namespace.
	return st.Type == unix.NSFS_MAGIC
}

// List returns the names of the topologies that have namespaces now, sorted.
func List() ([]string, error) {
	ents, err := os.ReadDir(RunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	seen := map[string]bool{}
	var names []string
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "vpcemu.")
		if !ok {
			continue
		}
		name, _, ok := strings.Cut(rest, ".")
		if !ok || name == "" || seen[name] {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// namespaces returns the namespace names of topology name present now.
func namespaces(name string) ([]string, error) {
	ents, err := os.ReadDir(RunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	prefix := vpc.NSPrefix(name)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Teardown deletes every namespace of topology name, including leftovers of a
// crashed run. Deleting a namespace deletes the veths in it, and with them
// their peers. It is idempotent.
func Teardown(name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	nss, err := namespaces(name)
	if err != nil {
		return fmt.Errorf("teardown %s: %w", name, err)
	}
	// The kernel frees a namespace asynchronously once its last mount is gone,
	// so unmount+unlink is cheap; a few workers overlap the syscalls' RCU waits.
	errs := make([]error, len(nss))
	parallel(len(nss), 8, func(i int) error {
		errs[i] = removeNS(nss[i])
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("teardown %s: %w", name, err)
	}
	return nil
}

// removeNS unmounts and unlinks one namespace, tolerating half-created ones.
func removeNS(ns string) error {
	p := Path(ns)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("unmount %s: %w", p, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

var runDirOnce = sync.OnceValue(prepareRunDir)

// prepareRunDir makes RunDir a shared mount point as `ip netns add` does, so
// that namespaces mounted later propagate into mount namespaces made by
// `ip netns exec` and friends.
func prepareRunDir() error {
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", RunDir, err)
	}
	err := unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if err == unix.EINVAL {
		if err := unix.Mount(RunDir, RunDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s: %w", RunDir, err)
		}
		err = unix.Mount("", RunDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s shared: %w", RunDir, err)
	}
	return nil
}

// sysctl is one /proc/sys write, the key relative to /proc/sys.
type sysctl struct {
	key, val string
	optional bool // skipped when the kernel lacks the key
}

// nsSpec is a namespace to create and the sysctls it needs before any link
// exists (links inherit conf/default at creation).
type nsSpec struct {
	name    string
	sysctls []sysctl
	lo      bool // bring loopback up
}

// nsState holds what Build keeps open for one namespace while it builds.
type nsState struct {
	name string
	h    *netlink.Handle  // bound to the namespace: no thread switching needed
	raw  *nl.SocketHandle // for requests the library cannot make (veths with both indexes)
	fd   int              // for IFLA_NET_NS_FD when a veth peer goes here
	sock int              // a UDP socket here, for interface ioctls
	// The bridge of a subnet's namespace, found once: every ENI of the
	// subnet is enslaved to it.
	brMu   sync.Mutex
	brName string
	brIdx  int
}

func (s *nsState) setBridge(name string, idx int) {
	s.brMu.Lock()
	s.brName, s.brIdx = name, idx
	s.brMu.Unlock()
}

// bridgeIndex is the index of bridge name here.
func (s *nsState) bridgeIndex(name string) (int, error) {
	s.brMu.Lock()
	defer s.brMu.Unlock()
	if s.brName == name && s.brIdx > 0 {
		return s.brIdx, nil
	}
	idx, err := linkIndex(s.h, name)
	if err != nil {
		return 0, err
	}
	s.brName, s.brIdx = name, idx
	return idx, nil
}

func (s *nsState) close() {
	if s.h != nil {
		s.h.Close()
	}
	if s.raw != nil {
		s.raw.Close()
	}
	if s.fd > 0 {
		unix.Close(s.fd)
	}
	if s.sock > 0 {
		unix.Close(s.sock)
	}
}

// createNamespaces creates specs on a few locked threads. Each thread unshares
// into a fresh namespace, mounts it, writes its sysctls and opens a netlink
// socket there: everything happens from inside, so no thread ever switches
// back and forth per namespace. Threads go back to their original namespace
// at the end, or die with their goroutine if that fails.
func createNamespaces(ctx context.Context, specs []nsSpec, workers int, done func()) ([]*nsState, error) {
	if err := runDirOnce(); err != nil {
		return nil, err
	}
	out := make([]*nsState, len(specs))
	fresh := &freshValues{m: map[string]string{}}
	err := parallelLocked(len(specs), workers, func(i int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := createNS(specs[i], fresh)
		out[i] = st
		if err == nil && done != nil {
			done()
		}
		return err
	})
	if err != nil {
		for _, st := range out {
			if st != nil {
				st.close()
			}
		}
		return nil, err
	}
	return out, nil
}

// createNS must run on a locked thread; it leaves the thread in the new
// namespace. It writes the sysctls whose value differs from fresh's.
func createNS(spec nsSpec, fresh *freshValues) (*nsState, error) {
	p := Path(spec.name)
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o444)
	if err != nil {
		if err == unix.EEXIST {
			return nil, fmt.Errorf("namespace %s: %w", spec.name, ErrExists)
		}
		return nil, fmt.Errorf("create %s: %w", p, err)
	}
	unix.Close(fd)
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("namespace %s: unshare: %w", spec.name, err)
	}
	if err := unix.Mount("/proc/thread-self/ns/net", p, "none", unix.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("namespace %s: mount: %w", spec.name, err)
	}
	// Every comparison before any write: a write can change another key
	// (IPv6's conf/all sets conf/default too).
	var writes []sysctl
	for _, s := range spec.sysctls {
		need, err := fresh.differs(s)
		if err != nil && !(s.optional && errors.Is(err, unix.ENOENT)) {
			return nil, fmt.Errorf("namespace %s: %w", spec.name, err)
		}
		if err == nil && need {
			writes = append(writes, s)
		}
	}
	for _, s := range writes {
		if err := writeSysctl(s.key, s.val); err != nil {
			return nil, fmt.Errorf("namespace %s: %w", spec.name, err)
		}
	}
	st, err := nsHandles(spec.name)
	if err == nil && spec.lo {
		if err = loUp(st.h); err != nil {
			st.close()
			return nil, fmt.Errorf("namespace %s: set lo up: %w", spec.name, err)
		}
	}
	return st, err
}

// freshValues holds, per sysctl key, the value a namespace has when it is
// created: the kernel's default, or for IPv4's conf/all and conf/default
// the host's value, copied at creation. It is the same for every namespace
// one Build creates, so a write of that value is skipped. Writes are what
// creating many namespaces spends most on: a /proc/sys lookup walks one
// entry per namespace in existence, so a thousand namespaces took seconds.
type freshValues struct {
	mu sync.Mutex
	m  map[string]string
}

// differs tells whether s.val differs from the fresh value of s.key; the
// first call for a key reads it in the calling thread's namespace, which
// must be one no sysctl write has touched yet.
func (f *freshValues) differs(s sysctl) (bool, error) {
	f.mu.Lock()
	v, ok := f.m[s.key]
	f.mu.Unlock()
	if !ok {
		var err error
		if v, err = readSysctl(s.key); err != nil {
			return false, err
		}
		f.mu.Lock()
		f.m[s.key] = v
		f.mu.Unlock()
	}
	return v != strings.Join(strings.Fields(s.val), " "), nil
}

// readSysctl reads /proc/sys/key in the namespace of the calling thread,
// its fields separated by single spaces.
func readSysctl(key string) (string, error) {
	fd, err := unix.Open("/proc/sys/"+key, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("sysctl %s: %w", key, err)
	}
	defer unix.Close(fd)
	buf := make([]byte, 256)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return "", fmt.Errorf("sysctl %s: %w", key, err)
	}
	return strings.Join(strings.Fields(string(buf[:n])), " "), nil
}

// writeSysctl writes /proc/sys/key in the namespace of the calling thread:
// /proc/sys/net resolves against the opener's namespace, not the process's.
func writeSysctl(key, val string) error {
	p := "/proc/sys/" + key
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(val)); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, val, err)
	}
	return nil
}

// parallel runs fn(0..n-1) on up to workers goroutines and returns the first
// error; after an error no new item starts.
func parallel(n, workers int, fn func(i int) error) error {
	return runWorkers(n, workers, false, fn)
}

// parallelLocked is parallel on locked OS threads that are restored to their
// original network namespace afterwards, for fn that changes it.
func parallelLocked(n, workers int, fn func(i int) error) error {
	return runWorkers(n, workers, true, fn)
}

func runWorkers(n, workers int, locked bool, fn func(i int) error) error {
	if workers > n {
		workers = n
	}
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if first != nil || next >= n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var orig int = -1
			if locked {
				runtime.LockOSThread()
				var err error
				if orig, err = unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
					runtime.UnlockOSThread()
					fail(fmt.Errorf("open current netns: %w", err))
					return
				}
				defer unix.Close(orig)
			}
			for {
				i, ok := take()
				if !ok {
					break
				}
				if err := fn(i); err != nil {
					fail(err)
					break
				}
			}
			if locked {
				if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
					// Leave the thread locked: it exits with this goroutine
					// instead of carrying a foreign namespace to other code.
					fail(fmt.Errorf("restore netns: %w", err))
					return
				}
				runtime.UnlockOSThread()
			}
		}()
	}
	wg.Wait()
	return first
}

// checkName rejects topology names that would escape the namespace prefix.
func checkName(name string) error {
	if name == "" || len(name) > 16 {
		return fmt.Errorf("topology name %q: want 1 to 16 characters of [a-z0-9-]", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("topology name %q: want 1 to 16 characters of [a-z0-9-]", name)
		}
	}
	return nil
}
