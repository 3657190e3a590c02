package netns

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

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
