package loader

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/cilium/ebpf/link"
)

// IGW is the internet gateway's stateless 1:1 NAT (bpf/igw.bpf.c) attached
// with tcx to the router-side igw veth.
type IGW struct {
	objs  igwObjects
	links []link.Link
}

// IGWStats are the gateway's packet counters summed over CPUs.
type IGWStats struct {
	InNAT, OutNAT    uint64 // packets translated from / towards the internet
	InDrop, OutDrop  uint64 // unmapped VPC destination / source without public IP
	MalformedDropped uint64 // IPv4 too short to translate
}

// LoadIGW loads the NAT program for a VPC and attaches it to ifname in ns:
// tcx ingress maps public destinations to private ones, tcx egress maps
// private sources to public ones and drops VPC sources that have no public
// IP. nat maps each public IPv4 to its private IPv4.
func LoadIGW(ns, ifname string, vpcCIDR netip.Prefix, nat map[netip.Addr]netip.Addr) (_ *IGW, err error) {
	g, err := newIGW(vpcCIDR, nat)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = g.Close()
		}
	}()
	in, err := AttachTC(ns, ifname, g.objs.IgwIngress, true)
	if err != nil {
		return nil, fmt.Errorf("igw: %w", err)
	}
	g.links = append(g.links, in)
	out, err := AttachTC(ns, ifname, g.objs.IgwEgress, false)
	if err != nil {
		return nil, fmt.Errorf("igw: %w", err)
	}
	g.links = append(g.links, out)
	return g, nil
}

// newIGW loads the objects and fills the maps without attaching (tests run
// the programs through BPF_PROG_RUN).
func newIGW(vpcCIDR netip.Prefix, nat map[netip.Addr]netip.Addr) (*IGW, error) {
	if !vpcCIDR.Addr().Is4() {
		return nil, fmt.Errorf("igw: vpc cidr %s is not IPv4", vpcCIDR)
	}
	spec, err := loadIgw()
	if err != nil {
		return nil, fmt.Errorf("igw: %w", err)
	}
	vpcCIDR = vpcCIDR.Masked()
	maskb := [4]byte(net.CIDRMask(vpcCIDR.Bits(), 32))
	if err := spec.Variables["igw_vpc_net"].Set(vpcCIDR.Addr().As4()); err != nil {
		return nil, fmt.Errorf("igw: set vpc net: %w", err)
	}
	if err := spec.Variables["igw_vpc_mask"].Set(maskb); err != nil {
		return nil, fmt.Errorf("igw: set vpc mask: %w", err)
	}
	g := &IGW{}
	if err := spec.LoadAndAssign(&g.objs, nil); err != nil {
		return nil, fmt.Errorf("igw: load: %w", err)
	}
	for pub, priv := range nat {
		if !pub.Is4() || !priv.Is4() {
			_ = g.Close()
			return nil, fmt.Errorf("igw: nat %s -> %s: only IPv4 is translated", pub, priv)
		}
		if err := g.objs.IgwPub2priv.Put(pub.As4(), priv.As4()); err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("igw: map %s -> %s: %w", pub, priv, err)
		}
		if err := g.objs.IgwPriv2pub.Put(priv.As4(), pub.As4()); err != nil {
			_ = g.Close()
			return nil, fmt.Errorf("igw: map %s -> %s: %w", priv, pub, err)
		}
	}
	return g, nil
}

// Stats returns the gateway's counters.
func (g *IGW) Stats() (IGWStats, error) {
	var s IGWStats
	dst := []*uint64{&s.InNAT, &s.OutNAT, &s.InDrop, &s.OutDrop, &s.MalformedDropped}
	for i, d := range dst {
		var per []uint64
		if err := g.objs.IgwStats.Lookup(uint32(i), &per); err != nil {
			return s, fmt.Errorf("igw: read stats: %w", err)
		}
		for _, v := range per {
			*d += v
		}
	}
	return s, nil
}

// Close detaches the programs (links first) and frees the maps.
func (g *IGW) Close() error {
	var errs []error
	for _, l := range g.links {
		errs = append(errs, l.Close())
	}
	g.links = nil
	errs = append(errs, g.objs.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("igw: close: %w", err)
	}
	return nil
}
