package netns

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// vethEnd is one end of a veth pair to create.
type vethEnd struct {
	st     *nsState
	name   string
	index  int // 0: the kernel picks; addVeth sets it to the index the end got
	mac    net.HardwareAddr
	master int // bridge ifindex to enslave this end to (0: none)
	noUp   bool
	// clsact adds the clsact qdisc before the end comes up (b only): a
	// datapath program attaches there next (an ENI's SG pair), and
	// grafting the qdisc onto an up device waits for an RCU grace period
	// under RTNL, which holds up every other namespace's netlink work.
	clsact  bool
	created bool
}

// addVeth creates a veth pair: a in a's namespace, b directly in b's, both
// up (unless noUp), with the given MACs, MTU and interface indexes. The
// library sets the index of the end it creates only, but routing ports need
// theirs chosen at both ends of gateway links (vpc.PortIfindexBase), and
// veth takes the peer's from the peer's ifinfomsg. On return a.index and
// b.index hold the indexes the ends got.
//
// Every request here holds RTNL, which serialises the namespaces built in
// parallel: the pair is made with one queue each way (see below), the
// kernel's echo of the new link tells both indexes, and b is enslaved and
// brought up in one request.
func addVeth(a, b *vethEnd, mtu int) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK|unix.NLM_F_ECHO)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: a.st.raw}
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(a.index)
	if !a.noUp {
		msg.Flags, msg.Change = unix.IFF_UP, unix.IFF_UP
	}
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(a.name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(mtu))))
	// One queue, as veth uses by default (it then cuts the CPU count's
	// queues allocated down to one, waiting for a grace period under RTNL
	// per end: the costliest part of a veth's creation).
	req.AddData(nl.NewRtAttr(unix.IFLA_NUM_TX_QUEUES, nl.Uint32Attr(1)))
	req.AddData(nl.NewRtAttr(unix.IFLA_NUM_RX_QUEUES, nl.Uint32Attr(1)))
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
	peer.AddRtAttr(unix.IFLA_NUM_TX_QUEUES, nl.Uint32Attr(1))
	peer.AddRtAttr(unix.IFLA_NUM_RX_QUEUES, nl.Uint32Attr(1))
	if b.mac != nil {
		peer.AddRtAttr(unix.IFLA_ADDRESS, []byte(b.mac))
	}
	if b.st != a.st {
		peer.AddRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(b.st.fd)))
	}
	req.AddData(info)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return fmt.Errorf("add veth %s/%s (peer %s/%s): %w", a.st.name, a.name, b.st.name, b.name, err)
	}
	a.created, b.created = true, true
	echoed(msgs, a, b)
	for _, e := range []*vethEnd{a, b} {
		if e.index == 0 { // a kernel that does not echo
			if e.index, err = linkIndex(e.st.h, e.name); err != nil {
				return step(e.st.name, "find "+e.name, err)
			}
		}
	}
	if b.clsact {
		q := &netlink.GenericQdisc{QdiscType: "clsact", QdiscAttrs: netlink.QdiscAttrs{LinkIndex: b.index, Handle: netlink.MakeHandle(0xffff, 0), Parent: netlink.HANDLE_CLSACT}}
		if err := b.st.h.QdiscAdd(q); err != nil {
			return step(b.st.name, "add clsact to "+b.name, err)
		}
	}
	if b.master == 0 && b.noUp {
		return nil
	}
	// The bridge port first, then up (do_setlink's order).
	set := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	set.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: b.st.raw}
	sm := nl.NewIfInfomsg(unix.AF_UNSPEC)
	sm.Index = int32(b.index)
	if !b.noUp {
		sm.Flags, sm.Change = unix.IFF_UP, unix.IFF_UP
	}
	set.AddData(sm)
	if b.master != 0 {
		set.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(b.master))))
	}
	if _, err := set.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return step(b.st.name, fmt.Sprintf("set %s up (master %d)", b.name, b.master), err)
	}
	return nil
}

// echoed takes the indexes of a and its peer b from the kernel's echo of
// a's creation (IFLA_LINK is a veth's peer), where it has one.
func echoed(msgs [][]byte, a, b *vethEnd) {
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg {
			continue
		}
		ifi := nl.DeserializeIfInfomsg(m)
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			continue
		}
		var name string
		peer := 0
		for _, at := range attrs {
			switch at.Attr.Type {
			case unix.IFLA_IFNAME:
				name = string(trimNUL(at.Value))
			case unix.IFLA_LINK:
				if len(at.Value) >= 4 {
					peer = int(binary.NativeEndian.Uint32(at.Value))
				}
			}
		}
		if name != a.name || ifi.Index <= 0 {
			continue
		}
		a.index = int(ifi.Index)
		if peer > 0 {
			b.index = peer
		}
		return
	}
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}
