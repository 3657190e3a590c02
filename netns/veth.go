package netns

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// vethEnd is one end of a veth pair to create.
type vethEnd struct {
	st      *nsState
	name    string
	index   int // 0: the kernel picks
	mac     net.HardwareAddr
	master  int // bridge ifindex to enslave this end to (0: none)
	noUp    bool
	created bool
}

// addVeth creates a veth pair: a in a's namespace, b directly in b's, both
// up (unless noUp), with the given MACs, MTU and interface indexes. The
// library sets the index of the end it creates only, but routing ports need
// theirs chosen at both ends of gateway links (vpc.PortIfindexBase), and
// veth takes the peer's from the peer's ifinfomsg.
func addVeth(a, b *vethEnd, mtu int) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: a.st.raw}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(a.index)
	if !a.noUp {
		msg.Flags, msg.Change = unix.IFF_UP, unix.IFF_UP
	}
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(a.name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(mtu))))
	if a.mac != nil {
		req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, []byte(a.mac)))
	}
	if a.master != 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(a.master))))
	}
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	peer := data.AddRtAttr(nl.VETH_INFO_PEER, nil)
	pm := nl.NewIfInfomsgChild(peer, unix.AF_UNSPEC)
	// The peer comes up after the pair exists: up at creation, it would
	// open before its peer is registered (ENOTCONN).
	pm.Index = int32(b.index)
	peer.AddRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(b.name))
	peer.AddRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(mtu)))
	if b.mac != nil {
		peer.AddRtAttr(unix.IFLA_ADDRESS, []byte(b.mac))
	}
	if b.st != a.st {
		peer.AddRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(b.st.fd)))
	}
	req.AddData(info)
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("add veth %s/%s (peer %s/%s): %w", a.st.name, a.name, b.st.name, b.name, err)
	}
	a.created, b.created = true, true
	idx := b.index
	if idx == 0 {
		var err error
		if idx, err = linkIndex(b.st.h, b.name); err != nil {
			return step(b.st.name, "find "+b.name, err)
		}
	}
	if b.master != 0 {
		if err := b.st.h.LinkSetMasterByIndex(linkRef(idx), b.master); err != nil {
			return step(b.st.name, "enslave "+b.name, err)
		}
	}
	if !b.noUp {
		if err := b.st.h.LinkSetUp(linkRef(idx)); err != nil {
			return step(b.st.name, "set "+b.name+" up", err)
		}
	}
	return nil
}
