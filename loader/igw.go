package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/netns"
)

// IGW is one internet gateway (bpf/igw.bpf.c): its 1:1 NAT and checks,
// attached at tc to the router-side end of its VPC's igw veth.
type IGW struct {
	mu       sync.Mutex
	objs     igwObjects
	tc       *netns.TC
	attached []netns.TCFilter
	nat      map[netip.Addr]netip.Addr // public -> private, as written
}

// IGWStats are the gateway's packet counters summed over CPUs.
type IGWStats struct {
	InNAT, OutNAT    uint64 // packets translated from / towards the internet
	InDrop, OutDrop  uint64 // dropped arriving / leaving (IGWEvent says why)
	MalformedDropped uint64 // IPv4 too short to translate
	EventsLost       uint64 // drop events the ring buffer could not take
}

// IGW drop reasons (IGWEvent.Code, enum igw_drop) and their RA-8 codes.
var igwDropCodes = map[igwIgwDrop]string{
	igwIgwDropIGW_DROP_PUBLIC_IP_EGRESS:   "IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS",
	igwIgwDropIGW_DROP_PRIVATE_IP_INGRESS: "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS",
	igwIgwDropIGW_DROP_DST_RFC1918:        "IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS",
	igwIgwDropIGW_DROP_DST_RFC6598:        "IGW_DESTINATION_ADDRESS_NOT_IN_RFC6598_EGRESS",
	igwIgwDropIGW_DROP_SRC_RFC1918:        "IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS",
	igwIgwDropIGW_DROP_SRC_RFC6598:        "IGW_SOURCE_ADDRESS_NOT_IN_RFC6598_INGRESS",
	igwIgwDropIGW_DROP_SPOOFED:            "GATEWAY_REJECTS_SPOOFED_TRAFFIC",
	igwIgwDropIGW_DROP_MALFORMED:          "MALFORMED",
}

// IGWConfig is what an internet gateway is loaded with.
type IGWConfig struct {
	Index  uint32         // the datapath's index of the gateway (its events' obj)
	Blocks []netip.Prefix // its VPC's IPv4 blocks: sources inside are spoofed
	// NAT maps each public IPv4 the gateway translates to its private IPv4.
	NAT map[netip.Addr]netip.Addr
}

// LoadIGW loads the NAT program for a VPC and attaches it to ifname in ns:
// tc ingress maps public destinations to private ones, tc egress maps
// private sources to public ones (see bpf/igw.bpf.c for what they drop).
// nat maps each public IPv4 to its private IPv4.
func LoadIGW(ns, ifname string, vpcCIDR netip.Prefix, nat map[netip.Addr]netip.Addr) (*IGW, error) {
	g, err := newIGW(IGWConfig{Blocks: []netip.Prefix{vpcCIDR}, NAT: nat})
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
	g.mu.Lock()
	defer g.mu.Unlock()
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
func newIGW(c IGWConfig) (*IGW, error) {
	spec, err := loadIgw()
	if err != nil {
		return nil, fmt.Errorf("igw: %w", err)
	}
	var cfg igwIgwConfig
	cfg.Obj = c.Index
	for _, b := range c.Blocks {
		if !b.IsValid() {
			continue
		}
		if !b.Addr().Is4() {
			return nil, fmt.Errorf("igw: vpc cidr %s is not IPv4", b)
		}
		if int(cfg.Nblocks) == len(cfg.VpcNet) {
			return nil, fmt.Errorf("igw: more than %d IPv4 blocks", len(cfg.VpcNet))
		}
		b = b.Masked()
		cfg.VpcNet[cfg.Nblocks] = binary.NativeEndian.Uint32(b.Addr().AsSlice())
		cfg.VpcMask[cfg.Nblocks] = binary.NativeEndian.Uint32(net.CIDRMask(b.Bits(), 32))
		cfg.Nblocks++
	}
	if err := spec.Variables[igwVarIgwCfg].Set(cfg); err != nil {
		return nil, fmt.Errorf("igw: set configuration: %w", err)
	}
	g := &IGW{tc: netns.NewTC(), nat: map[netip.Addr]netip.Addr{}}
	if err := loadAndAssign(spec, &g.objs, nil); err != nil {
		return nil, fmt.Errorf("igw: load: %w", err)
	}
	if err := g.SetNAT(c.NAT); err != nil {
		_ = g.Close()
		return nil, err
	}
	return g, nil
}

// SetNAT makes the gateway translate exactly nat (public -> private), on a
// live gateway too (an Elastic IP associated, moved or released: EIP-10,
// EIP-11, NGW-4).
func (g *IGW) SetNAT(nat map[netip.Addr]netip.Addr) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for pub, priv := range nat {
		if !pub.Is4() || !priv.Is4() {
			return fmt.Errorf("igw: nat %s -> %s: only IPv4 is translated", pub, priv)
		}
	}
	for pub, priv := range g.nat {
		if nat[pub] != priv {
			if err := g.objs.IgwPub2priv.Delete(pub.As4()); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("igw: unmap %s: %w", pub, err)
			}
			if err := g.objs.IgwPriv2pub.Delete(priv.As4()); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return fmt.Errorf("igw: unmap %s: %w", priv, err)
			}
			delete(g.nat, pub)
		}
	}
	for pub, priv := range nat {
		if err := g.objs.IgwPub2priv.Put(pub.As4(), priv.As4()); err != nil {
			return fmt.Errorf("igw: map %s -> %s: %w", pub, priv, err)
		}
		if err := g.objs.IgwPriv2pub.Put(priv.As4(), pub.As4()); err != nil {
			return fmt.Errorf("igw: map %s -> %s: %w", priv, pub, err)
		}
		g.nat[pub] = priv
	}
	return nil
}

// Stats returns the gateway's counters.
func (g *IGW) Stats() (IGWStats, error) {
	var s IGWStats
	dst := map[igwIgwStat]*uint64{
		igwIgwStatIGW_IN_NAT: &s.InNAT, igwIgwStatIGW_OUT_NAT: &s.OutNAT, igwIgwStatIGW_IN_DROP: &s.InDrop,
		igwIgwStatIGW_OUT_DROP: &s.OutDrop, igwIgwStatIGW_MALFORMED: &s.MalformedDropped, igwIgwStatIGW_EVLOST: &s.EventsLost,
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

// Events is the gateway's ring buffer of drop events (DecodeIGWEvent).
func (g *IGW) Events() *ebpf.Map { return g.objs.IgwEvents }

// Close detaches the programs (links first) and frees the maps.
func (g *IGW) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
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
