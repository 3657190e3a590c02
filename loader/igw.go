package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vpcemu/vpcemu/netns"
)

// IGW is the internet gateway's stateless 1:1 NAT (bpf/igw.bpf.c) attached
// at tc to the router-side igw veth.
type IGW struct {
	objs     igwObjects
	tc       *netns.TC
	attached []netns.TCFilter
}

// IGWStats are the gateway's packet counters summed over CPUs.
type IGWStats struct {
	InNAT, OutNAT    uint64 // packets translated from / towards the internet
	InDrop, OutDrop  uint64 // unmapped VPC destination / source without public IP
	MalformedDropped uint64 // IPv4 too short to translate
}

// LoadIGW loads the NAT program for a VPC and attaches it to ifname in ns:
// tc ingress maps public destinations to private ones, tc egress maps
// private sources to public ones and drops VPC sources that have no public
// IP. nat maps each public IPv4 to its private IPv4.
func LoadIGW(ns, ifname string, vpcCIDR netip.Prefix, nat map[netip.Addr]netip.Addr) (*IGW, error) {
	g, err := newIGW(vpcCIDR, nat)
	if err != nil {
		return nil, err
	}
	if err := g.attach(ns, ifname); err != nil {
		_ = g.Close()
		return nil, err
	}
	return g, nil
}

// attach attaches the programs to ifname in ns (see LoadIGW).
func (g *IGW) attach(ns, ifname string) error {
	for _, ingress := range []bool{true, false} {
		f := netns.TCFilter{NS: ns, Ifname: ifname, Ingress: ingress, Prio: igwTCPrio}
		prog, name := g.objs.IgwIngress, igwProgIgwIngress
		if !ingress {
			prog, name = g.objs.IgwEgress, igwProgIgwEgress
		}
		if err := g.tc.Attach(f, prog.FD(), name); err != nil {
			return fmt.Errorf("igw: %w", err)
		}
		g.attached = append(g.attached, f)
	}
	return nil
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
	cfg := igwIgwConfig{
		VpcNet:  binary.NativeEndian.Uint32(vpcCIDR.Addr().AsSlice()),
		VpcMask: binary.NativeEndian.Uint32(net.CIDRMask(vpcCIDR.Bits(), 32)),
	}
	if err := spec.Variables[igwVarIgwCfg].Set(cfg); err != nil {
		return nil, fmt.Errorf("igw: set configuration: %w", err)
	}
	g := &IGW{tc: netns.NewTC()}
	if err := loadAndAssign(spec, &g.objs, nil); err != nil {
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
	dst := map[igwIgwStat]*uint64{
		igwIgwStatIGW_IN_NAT: &s.InNAT, igwIgwStatIGW_OUT_NAT: &s.OutNAT, igwIgwStatIGW_IN_DROP: &s.InDrop,
		igwIgwStatIGW_OUT_DROP: &s.OutDrop, igwIgwStatIGW_MALFORMED: &s.MalformedDropped,
	}
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
	for _, f := range g.attached {
		errs = append(errs, g.tc.Detach(f))
	}
	g.attached = nil
	g.tc.Close()
	errs = append(errs, g.objs.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("igw: close: %w", err)
	}
	return nil
}
