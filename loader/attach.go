package loader

import (
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/vpcemu/vpcemu/netns"
)

// XDPMode selects how the NACL program is attached to a router port.
type XDPMode string

// Attach modes of the NACL program. Generic XDP keeps veth TSO but copies
// every skb a veth forwards (less than 256 bytes of headroom); native is
// the driver hook (on a veth it turns the peer's TSO off). TC runs the
// program at tc ingress instead of XDP: no copy, TSO kept (see
// BENCHMARKS.md, measured as tcx; a cls_bpf filter is the same hook, see
// netns.TC for why not tcx).
const (
	XDPGeneric XDPMode = "generic"
	XDPNative  XDPMode = "native"
	TC         XDPMode = "tc"
)

// ParseXDPMode reads an attach mode as users write it: tc, generic or
// native; tcx, the name of an earlier tc attachment, is tc.
func ParseXDPMode(s string) (XDPMode, error) {
	switch m := XDPMode(s); m {
	case XDPGeneric, XDPNative, TC:
		return m, nil
	case "tcx":
		return TC, nil
	}
	return "", fmt.Errorf("attach mode %q: valid values are tc, generic and native", s)
}

// Priorities of the tc filters (lower runs first; a program that passes
// a packet, TC_ACT_UNSPEC, hands it to the next): a capture tap that must
// see frames before the datapath (tapFirstTCPrio), then the internet
// gateway's NAT and the SG programs (the only datapath programs on their
// hooks), then the NACL (after the NAT at the gateway, so that inbound
// tables see private destinations), then a tap that sees what the
// datapath let through.
const (
	tapFirstTCPrio = 1
	igwTCPrio      = 10
	sgTCPrio       = 10
	naclTCPrio     = 20
	tapLastTCPrio  = 1000
)

// DefaultNACLMode is the NACL attach mode that meets the throughput targets
// on veth (BENCHMARKS.md, "Attach mode").
const DefaultNACLMode = TC

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
