package loader

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vpcemu/vpcemu/netns"
)

// XDPMode selects how an XDP program is attached to a veth.
type XDPMode string

// XDP attach modes. Generic keeps veth TSO but copies every skb a veth
// forwards (less than 256 bytes of headroom); native is the driver hook
// (on a veth it turns the peer's TSO off). TCX runs the NACL program at tcx
// ingress instead of XDP: no copy, TSO kept (see BENCHMARKS.md).
const (
	XDPGeneric XDPMode = "generic"
	XDPNative  XDPMode = "native"
	TCX        XDPMode = "tcx"
)

// DefaultNACLMode is the NACL attach mode that meets the throughput targets
// on veth (BENCHMARKS.md, "Attach mode").
const DefaultNACLMode = TCX

func (m XDPMode) flags() (link.XDPAttachFlags, error) {
	switch m {
	case XDPGeneric, "":
		return link.XDPGenericMode, nil
	case XDPNative:
		return link.XDPDriverMode, nil
	}
	return 0, fmt.Errorf("unknown XDP mode %q (valid: generic, native)", m)
}

// ifindex resolves ifname inside ns. ifindex is per namespace, so it must
// never be used outside that namespace (STYLE.md §5.2).
func ifindex(ifname string) (int, error) {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return 0, err
	}
	return ifc.Index, nil
}

// AttachXDP attaches prog to ifname inside namespace ns with a bpf_link.
func AttachXDP(ns, ifname string, prog *ebpf.Program, mode XDPMode) (link.Link, error) {
	flags, err := mode.flags()
	if err != nil {
		return nil, err
	}
	var l link.Link
	err = netns.Do(ns, func() error {
		idx, err := ifindex(ifname)
		if err != nil {
			return err
		}
		l, err = link.AttachXDP(link.XDPOptions{Program: prog, Interface: idx, Flags: flags})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach XDP (%s) to %s/%s: %w", mode, ns, ifname, err)
	}
	return l, nil
}

// AttachTC attaches prog to the ingress or egress of ifname inside ns with tcx.
func AttachTC(ns, ifname string, prog *ebpf.Program, ingress bool) (link.Link, error) {
	at := ebpf.AttachTCXEgress
	dir := "egress"
	if ingress {
		at, dir = ebpf.AttachTCXIngress, "ingress"
	}
	var l link.Link
	err := netns.Do(ns, func() error {
		idx, err := ifindex(ifname)
		if err != nil {
			return err
		}
		l, err = link.AttachTCX(link.TCXOptions{Interface: idx, Program: prog, Attach: at})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach tcx %s to %s/%s: %w", dir, ns, ifname, err)
	}
	return l, nil
}
