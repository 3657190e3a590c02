package netns

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TC attaches BPF programs to the tc hooks of interfaces inside topology
// namespaces: direct-action cls_bpf filters on each interface's clsact
// qdisc, through one netlink handle per namespace (no thread switching).
//
// Not tcx: attaching or detaching a tcx program swaps the device's program
// array and then waits a full RCU grace period (synchronize_rcu) with RTNL
// held, so attaches cannot overlap: about 13 ms each here, 26 s for the
// two SG hooks of 1,000 instances. A filter insert waits at most an
// expedited grace period (under 0.2 ms per interface for qdisc and two
// filters, measured). A filter, unlike a tcx link, outlives the process
// that attached it; the topology's namespaces take it with them.
type TC struct {
	mu      sync.Mutex
	handles map[string]*netlink.Handle
	inodes  map[string]uint64         // namespace -> the inode its handle was opened on
	links   map[string]map[string]int // namespace -> ifname -> ifindex, one dump each
}

// NewTC returns a TC with no namespace opened yet; Close releases the
// handles it opens (a handle keeps its namespace alive).
func NewTC() *TC {
	return &TC{handles: map[string]*netlink.Handle{}, inodes: map[string]uint64{}, links: map[string]map[string]int{}}
}

// TCFilter is one filter position: a hook of ifname in namespace NS, and
// the filter's priority there (lower runs first; a program that returns
// TC_ACT_UNSPEC hands the packet to the next one).
type TCFilter struct {
	NS, Ifname string
	Ingress    bool
	Prio       uint16
}

func (f TCFilter) String() string {
	hook := "egress"
	if f.Ingress {
		hook = "ingress"
	}
	return fmt.Sprintf("%s/%s tc %s prio %d", f.NS, f.Ifname, hook, f.Prio)
}

func (f TCFilter) attrs(ifindex int) netlink.FilterAttrs {
	parent := uint32(netlink.HANDLE_MIN_EGRESS)
	if f.Ingress {
		parent = netlink.HANDLE_MIN_INGRESS
	}
	return netlink.FilterAttrs{LinkIndex: ifindex, Parent: parent, Handle: 1, Protocol: unix.ETH_P_ALL, Priority: f.Prio}
}

// handle returns the cached netlink handle of ns; c.mu is held.
// A namespace deleted and made again under its name (a subnet deleted
// and created live) is another namespace: its handle and links are
// opened anew.
func (c *TC) handle(ns string) (*netlink.Handle, error) {
	var st unix.Stat_t
	ino := uint64(0)
	if unix.Stat(Path(ns), &st) == nil {
		ino = st.Ino
	}
	if h := c.handles[ns]; h != nil {
		if c.inodes[ns] == ino {
			return h, nil
		}
		h.Close()
		delete(c.handles, ns)
		delete(c.links, ns)
	}
	h, err := handleAt(ns)
	if err != nil {
		return nil, err
	}
	c.handles[ns], c.inodes[ns] = h, ino
	return h, nil
}

// Ifindex returns the index of ifname inside ns (meaningful there only).
func (c *TC) Ifindex(ns, ifname string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ifindex(ns, ifname)
}

// ifindex looks ifname up in ns; c.mu is held. The first lookup in a
// namespace lists all its links (a subnet's ENIs are attached one after
// the other); a name the list lacks is asked for again.
func (c *TC) ifindex(ns, ifname string) (int, error) {
	h, err := c.handle(ns)
	if err != nil {
		return 0, err
	}
	if idx, ok := c.links[ns][ifname]; ok {
		return idx, nil
	}
	if c.links[ns] == nil {
		ls, err := h.LinkList()
		if err != nil {
			return 0, fmt.Errorf("list links of %s: %w", ns, err)
		}
		m := map[string]int{}
		for _, l := range ls {
			m[l.Attrs().Name] = l.Attrs().Index
		}
		c.links[ns] = m
		if idx, ok := m[ifname]; ok {
			return idx, nil
		}
	}
	l, err := h.LinkByName(ifname)
	if err != nil {
		return 0, fmt.Errorf("%s/%s: %w", ns, ifname, err)
	}
	c.links[ns][ifname] = l.Attrs().Index
	return l.Attrs().Index, nil
}

// Attach runs program fd (named name, for listings) at f, adding the
// interface's clsact qdisc if it has none.
func (c *TC) Attach(f TCFilter, fd int, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx, err := c.ifindex(f.NS, f.Ifname)
	if err != nil {
		return fmt.Errorf("attach %s: %w", f, err)
	}
	h := c.handles[f.NS]
	bf := &netlink.BpfFilter{FilterAttrs: f.attrs(idx), Fd: fd, Name: name, DirectAction: true}
	// Most interfaces have their clsact qdisc by now (an ENI's is added
	// as it is made): the filter alone is one request. Otherwise (no
	// qdisc, or an index gone stale) the qdisc first, then the filter.
	if h.FilterAdd(bf) == nil {
		return nil
	}
	q := &netlink.GenericQdisc{QdiscType: "clsact", QdiscAttrs: netlink.QdiscAttrs{LinkIndex: idx, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}}
	err = h.QdiscAdd(q)
	if errors.Is(err, unix.ENODEV) {
		// The interface was deleted and made again (an object removed and
		// added back live): its cached index is stale.
		delete(c.links[f.NS], f.Ifname)
		if idx, err = c.ifindex(f.NS, f.Ifname); err != nil {
			return fmt.Errorf("attach %s: %w", f, err)
		}
		q.LinkIndex = idx
		err = h.QdiscAdd(q)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("attach %s: add clsact: %w", f, err)
	}
	bf.LinkIndex = idx
	if err := h.FilterAdd(bf); err != nil {
		return fmt.Errorf("attach %s: %w", f, err)
	}
	return nil
}

// Replace runs program fd at f instead of the filter there (one atomic
// swap: each packet meets the old program or the new one).
func (c *TC) Replace(f TCFilter, fd int, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx, err := c.ifindex(f.NS, f.Ifname)
	if err != nil {
		return fmt.Errorf("replace %s: %w", f, err)
	}
	bf := &netlink.BpfFilter{FilterAttrs: f.attrs(idx), Fd: fd, Name: name, DirectAction: true}
	if err := c.handles[f.NS].FilterReplace(bf); err != nil {
		return fmt.Errorf("replace %s: %w", f, err)
	}
	return nil
}

// Detach removes the filter at f. An interface or namespace that is gone
// took its filters with it: not an error.
func (c *TC) Detach(f TCFilter) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx, err := c.ifindex(f.NS, f.Ifname)
	var nf netlink.LinkNotFoundError
	if errors.Is(err, os.ErrNotExist) || errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detach %s: %w", f, err)
	}
	bf := &netlink.BpfFilter{FilterAttrs: f.attrs(idx)}
	err = c.handles[f.NS].FilterDel(bf)
	if errors.Is(err, unix.ENODEV) {
		delete(c.links[f.NS], f.Ifname) // gone: a new one of that name is another interface
	}
	if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("detach %s: %w", f, err)
	}
	return nil
}

// Close releases the netlink handles; attached filters stay.
func (c *TC) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ns, h := range c.handles {
		h.Close()
		delete(c.handles, ns)
	}
	clear(c.links)
}
