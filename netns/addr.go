package netns

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// AddLocal adds addresses to the loopback of namespace ns, so that sockets
// there can send from and receive at them (a probe standing for an
// arbitrary internet host behind the internet namespace). It returns a
// function that removes them again.
func AddLocal(ns string, addrs []netip.Addr) (remove func() error, err error) {
	h, err := handleAt(ns)
	if err != nil {
		return nil, err
	}
	var added []netip.Prefix
	remove = func() error {
		defer h.Close()
		var first error
		for _, p := range added {
			if err := delAddr(h, 1, p); err != nil && first == nil {
				first = fmt.Errorf("remove %s from lo in %s: %w", p, ns, err)
			}
		}
		return first
	}
	for _, a := range addrs {
		p := netip.PrefixFrom(a, a.BitLen())
		if err := addAddr(h, 1, p); err != nil {
			rerr := remove()
			if rerr != nil {
				return nil, fmt.Errorf("add %s to lo in %s: %w (and %v)", p, ns, err, rerr)
			}
			return nil, fmt.Errorf("add %s to lo in %s: %w", p, ns, err)
		}
		added = append(added, p)
	}
	return remove, nil
}

func delAddr(h *netlink.Handle, idx int, a netip.Prefix) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
	return h.AddrDel(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: idx}}, addr)
}
