package netns

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Net is a topology's namespaces while they are up: what the steps (add or
// remove one router, subnet, ENI, gateway link, NAT gateway; set one
// routing table or port rule) work through. Build applies the steps from
// nothing; a live topology's changes apply them one at a time (Open). A
// step that fails part way removes what it created.
//
// Steps of one kind are safe to run concurrently (Build does), as long as
// they touch different objects; each holds the namespace handles it uses.
type Net struct {
	name  string
	ctx   context.Context
	mu    sync.Mutex
	ns    map[string]*nsState
	batch bool // Build: veth ends are settled at the end, not per step
	emu   sync.Mutex
	ends  []end // veth ends created and not settled yet (batch)
}

// Open returns the Net of the topology called name, whose namespaces
// exist; it opens each namespace when a step first needs it.
func Open(name string) (*Net, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	return &Net{name: name, ctx: context.Background(), ns: map[string]*nsState{}}, nil
}

// Close releases the namespace handles; the namespaces stay.
func (n *Net) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, st := range n.ns {
		st.close()
	}
	n.ns = map[string]*nsState{}
}

// at returns the open state of namespace name, opening it when needed.
func (n *Net) at(name string) (*nsState, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if st := n.ns[name]; st != nil {
		return st, nil
	}
	st, err := openNS(name)
	if err != nil {
		return nil, err
	}
	n.ns[name] = st
	return st, nil
}

// create makes the namespaces of specs (which must not exist) and keeps
// their handles.
func (n *Net) create(specs []nsSpec, done func()) error {
	sts, err := createNamespaces(n.ctx, specs, workers, done)
	n.mu.Lock()
	for _, st := range sts {
		n.ns[st.name] = st
	}
	n.mu.Unlock()
	return err
}

// remove deletes namespace name with its veths and their peers. The
// kernel frees a namespace asynchronously, so the veths are deleted first:
// when remove returns their peers' names are free again (a step that adds
// the object back must find them so).
func (n *Net) remove(name string) error {
	if st, err := n.at(name); err == nil {
		links, err := st.h.LinkList()
		if err == nil {
			for _, l := range links {
				if l.Type() == "veth" {
					if err := st.h.LinkDel(l); err != nil && !notFound(err) {
						return step(name, "delete "+l.Attrs().Name, err)
					}
				}
			}
		}
	}
	return n.removeNow(name)
}

// removeNow unmounts namespace name, leaving its links to the kernel.
func (n *Net) removeNow(name string) error {
	n.mu.Lock()
	if st := n.ns[name]; st != nil {
		st.close()
		delete(n.ns, name)
	}
	n.mu.Unlock()
	return removeNS(name)
}

func (n *Net) created(ends ...end) {
	n.emu.Lock()
	n.ends = append(n.ends, ends...)
	n.emu.Unlock()
}

// settle makes the veth ends created since the last settle ready to send:
// each end's pending link-watch event is run synchronously (see syncLink),
// and its carrier must be on, since both ends are up.
func (n *Net) settle() error {
	n.emu.Lock()
	ends := n.ends
	n.ends = nil
	n.emu.Unlock()
	return parallel(len(ends), workers, func(i int) error {
		e := ends[i]
		up, err := syncLink(e.ns.sock, e.ifname)
		if err != nil {
			return step(e.ns.name, "link state of "+e.ifname, err)
		}
		if !up {
			return step(e.ns.name, "link state of "+e.ifname, errors.New("no carrier"))
		}
		return nil
	})
}

// done ends a step: outside Build, its veth ends are settled now.
func (n *Net) done() error {
	if n.batch {
		return nil
	}
	return n.settle()
}

// openNS opens an existing namespace: a netlink handle, a raw netlink
// socket for requests the library does not make, and a UDP socket for
// interface ioctls, all bound to it.
func openNS(name string) (*nsState, error) {
	if !Exists(name) {
		return nil, fmt.Errorf("namespace %s: %w", name, unix.ENOENT)
	}
	var st *nsState
	err := Do(name, func() error {
		var err error
		st, err = nsHandles(name)
		return err
	})
	return st, err
}

// nsHandles opens st's handles from inside the namespace (the calling
// thread must be in it and locked).
func nsHandles(name string) (*nsState, error) {
	st := &nsState{name: name}
	var err error
	// Sockets belong to the namespace of the thread that opens them.
	if st.h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("namespace %s: netlink: %w", name, err)
	}
	s, err := nl.GetNetlinkSocketAt(vnetns.None(), vnetns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("namespace %s: netlink socket: %w", name, err)
	}
	st.raw = &nl.SocketHandle{Socket: s}
	if st.fd, err = unix.Open(Path(name), unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
		st.close()
		return nil, fmt.Errorf("namespace %s: open: %w", name, err)
	}
	if st.sock, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
		st.close()
		return nil, fmt.Errorf("namespace %s: socket: %w", name, err)
	}
	return st, nil
}

// inNS runs fn on a thread inside namespace st (for /proc/sys writes,
// which resolve against the writer's namespace).
func inNS(st *nsState, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := vnetns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := vnetns.Set(vnetns.NsHandle(st.fd)); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter %s: %w", st.name, err)
			return
		}
		ferr := fn()
		if err := vnetns.Set(orig); err != nil {
			errc <- fmt.Errorf("leave %s: %w (thread discarded)", st.name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}
