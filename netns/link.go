package netns

import (
	"fmt"
	"unsafe"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// LinkStats returns the packets interface ifname in namespace ns has
// received and sent, as the kernel counts them (drops by XDP not included).
func LinkStats(ns, ifname string) (rx, tx uint64, err error) {
	h, err := handleAt(ns)
	if err != nil {
		return 0, 0, err
	}
	defer h.Close()
	l, err := h.LinkByName(ifname)
	if err != nil {
		return 0, 0, fmt.Errorf("%s/%s: %w", ns, ifname, err)
	}
	st := l.Attrs().Statistics
	if st == nil {
		return 0, 0, fmt.Errorf("%s/%s: no statistics", ns, ifname)
	}
	return st.RxPackets, st.TxPackets, nil
}

// handleAt opens a netlink handle bound to namespace ns.
func handleAt(ns string) (*netlink.Handle, error) {
	nh, err := vnetns.GetFromPath(Path(ns))
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", ns, err)
	}
	defer nh.Close()
	h, err := netlink.NewHandleAt(nh)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", ns, err)
	}
	return h, nil
}

// ifreqData is struct ifreq with a pointer in its union, for SIOCETHTOOL.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// syncLink asks the kernel for ifname's link state (ETHTOOL_GLINK) through
// sock, a socket in the interface's namespace. The kernel first runs the
// link's pending link-watch event, which is what installs its real qdisc:
// until then the device drops everything it is asked to send, so the first
// packets after Build would be lost.
func syncLink(sock int, ifname string) (bool, error) {
	var ifr ifreqData
	copy(ifr.name[:unix.IFNAMSIZ-1], ifname)
	v := &struct{ cmd, data uint32 }{cmd: unix.ETHTOOL_GLINK}
	ifr.data = unsafe.Pointer(v)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(sock), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	if errno != 0 {
		return false, errno
	}
	return v.data != 0, nil
}
