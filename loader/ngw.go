package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// NGW is one NAT gateway (bpf/ngw.bpf.c) at tc ingress of its ENI, eth0
// of its own namespace. Its maps are its own: mappings, the ports in use
// per destination, CloudWatch's counters.
type NGW struct {
	ID      string
	objs    ngwObjects
	tc      *netns.TC
	filter  *netns.TCFilter
	idle    time.Duration
	closing time.Duration
}

// NGWConfig is what a NAT gateway is loaded with.
type NGWConfig struct {
	ID         string
	Index      uint32         // the datapath's index of the gateway (its events' obj)
	Addr       netip.Addr     // its private IPv4
	Blocks     []netip.Prefix // its VPC's IPv4 blocks: its clients' sources (NGW-10)
	Sequential bool           // port_policy sequential (NGW-6 [INTERP])
	// PerDestination and Idle are vpc.Limits' NAT gateway limits (defaults
	// when 0): live mappings per destination (NGW-7) and the idle timeout
	// (NGW-11).
	PerDestination int
	Idle           time.Duration
}

// NATStats are a NAT gateway's counters under CloudWatch's names
// (AWS/NATGateway, NGW-15).
type NATStats struct {
	ActiveConnectionCount      uint64 // live TCP mappings
	BytesInFromDestination     uint64
	BytesInFromSource          uint64
	BytesOutToDestination      uint64
	BytesOutToSource           uint64
	ConnectionAttemptCount     uint64
	ConnectionEstablishedCount uint64
	ErrorPortAllocation        uint64
	IdleTimeoutCount           uint64
	PacketsDropCount           uint64
	PacketsInFromDestination   uint64
	PacketsInFromSource        uint64
	PacketsOutToDestination    uint64
	PacketsOutToSource         uint64
	EventsLost                 uint64 // drop events the ring buffer could not take
}

// NGW drop reasons (enum ngw_drop) and their codes (RA-8).
var ngwDropCodes = map[ngwNgwDrop]string{
	ngwNgwDropNGW_DROP_NO_MAPPING:        rules.CodeNGWNoMapping,
	ngwNgwDropNGW_DROP_PORT_ALLOCATION:   rules.CodeNGWPortAllocation,
	ngwNgwDropNGW_DROP_SOURCE_NOT_IN_VPC: rules.CodeNGWRequiresSourceInVPC,
	ngwNgwDropNGW_DROP_PROTOCOL:          rules.CodeProtocolRestriction,
	ngwNgwDropNGW_DROP_MALFORMED:         "MALFORMED",
}

// NGWConfigOf is the configuration of NAT gateway g of t.
func NGWConfigOf(t *vpc.Topology, g *vpc.NATGateway, index uint32) NGWConfig {
	c := NGWConfig{ID: g.ID, Index: index, Addr: g.PrivateIP, Sequential: g.PortPolicy == "sequential",
		PerDestination: t.Limits.NATConnectionsPerDestination, Idle: t.Limits.NATIdleTimeout}
	if v := t.VPC(t.VPCOfSubnetID(g.Subnet)); v != nil {
		c.Blocks = v.IPv4CIDRs()
	} else if len(t.VPCs) > 0 {
		c.Blocks = t.VPCs[0].IPv4CIDRs()
	}
	return c
}

// LoadNGW loads a NAT gateway's program and maps, attached nowhere yet.
func LoadNGW(c NGWConfig) (*NGW, error) {
	if !c.Addr.Is4() {
		return nil, fmt.Errorf("nat gateway %s: address %v is not IPv4", c.ID, c.Addr)
	}
	spec, err := loadNgw()
	if err != nil {
		return nil, fmt.Errorf("nat gateway %s: %w", c.ID, err)
	}
	perDest := c.PerDestination
	if perDest <= 0 {
		perDest = vpc.DefaultLimits.NATConnectionsPerDestination
	}
	idle := c.Idle
	if idle <= 0 {
		idle = vpc.DefaultLimits.NATIdleTimeout
	}
	closing := min(idle, rules.TimeoutTCPClosing)
	cfg := ngwNgwConfig{Addr: binary.NativeEndian.Uint32(c.Addr.AsSlice()), PerDest: uint32(min(perDest, rules.NATLastPort-rules.NATFirstPort+1)),
		IdleNs: uint64(idle), ClosingNs: uint64(closing), Obj: c.Index}
	if c.Sequential {
		cfg.Policy = uint32(ngwNgwPolicyNGW_POLICY_SEQUENTIAL)
	}
	for _, b := range c.Blocks {
		if !b.Addr().Is4() {
			continue
		}
		if int(cfg.Nblocks) == len(cfg.Net) {
			return nil, fmt.Errorf("nat gateway %s: more than %d IPv4 blocks", c.ID, len(cfg.Net))
		}
		b = b.Masked()
		cfg.Net[cfg.Nblocks] = binary.NativeEndian.Uint32(b.Addr().AsSlice())
		cfg.Mask[cfg.Nblocks] = binary.NativeEndian.Uint32(net.CIDRMask(b.Bits(), 32))
		cfg.Nblocks++
	}
	if err := spec.Variables[ngwVarNgwCfg].Set(cfg); err != nil {
		return nil, fmt.Errorf("nat gateway %s: set configuration: %w", c.ID, err)
	}
	g := &NGW{ID: c.ID, tc: netns.NewTC(), idle: idle, closing: closing}
	if err := loadAndAssign(spec, &g.objs, nil); err != nil {
		return nil, fmt.Errorf("nat gateway %s: load: %w", c.ID, err)
	}
	return g, nil
}

// Attach runs the gateway at tc ingress of its ENI (ifname in ns).
func (g *NGW) Attach(ns, ifname string) error {
	f := netns.TCFilter{NS: ns, Ifname: ifname, Ingress: true, Prio: igwTCPrio}
	if err := g.tc.Attach(f, g.objs.NgwIngress.FD(), ngwProgNgwIngress); err != nil {
		return fmt.Errorf("nat gateway %s: %w", g.ID, err)
	}
	g.filter = &f
	return nil
}

// Events is the gateway's ring buffer of drop events.
func (g *NGW) Events() *ebpf.Map { return g.objs.NgwEvents }

// Stats returns the gateway's counters: the datapath's, and the live TCP
// mappings counted now.
func (g *NGW) Stats() (NATStats, error) {
	var s NATStats
	dst := map[ngwNgwStat]*uint64{
		ngwNgwStatNGW_ST_PACKETS_IN_FROM_SOURCE: &s.PacketsInFromSource, ngwNgwStatNGW_ST_BYTES_IN_FROM_SOURCE: &s.BytesInFromSource,
		ngwNgwStatNGW_ST_PACKETS_OUT_TO_DESTINATION: &s.PacketsOutToDestination, ngwNgwStatNGW_ST_BYTES_OUT_TO_DESTINATION: &s.BytesOutToDestination,
		ngwNgwStatNGW_ST_PACKETS_IN_FROM_DESTINATION: &s.PacketsInFromDestination, ngwNgwStatNGW_ST_BYTES_IN_FROM_DESTINATION: &s.BytesInFromDestination,
		ngwNgwStatNGW_ST_PACKETS_OUT_TO_SOURCE: &s.PacketsOutToSource, ngwNgwStatNGW_ST_BYTES_OUT_TO_SOURCE: &s.BytesOutToSource,
		ngwNgwStatNGW_ST_CONNECTION_ATTEMPT: &s.ConnectionAttemptCount, ngwNgwStatNGW_ST_CONNECTION_ESTABLISHED: &s.ConnectionEstablishedCount,
		ngwNgwStatNGW_ST_ERROR_PORT_ALLOCATION: &s.ErrorPortAllocation, ngwNgwStatNGW_ST_IDLE_TIMEOUT: &s.IdleTimeoutCount,
		ngwNgwStatNGW_ST_PACKETS_DROP: &s.PacketsDropCount, ngwNgwStatNGW_ST_EVENTS_LOST: &s.EventsLost,
	}
	for i, d := range dst {
		var per []uint64
		if err := g.objs.NgwStats.Lookup(uint32(i), &per); err != nil {
			return s, fmt.Errorf("nat gateway %s: read stats: %w", g.ID, err)
		}
		for _, v := range per {
			*d += v
		}
	}
	now, err := ktimeNow()
	if err != nil {
		return s, err
	}
	var off int64
	_ = g.objs.NowOffset.Get(&off)
	now = uint64(int64(now) + off)
	var k ngwNgwFlow
	var m ngwNgwMapping
	it := g.objs.NgwFwd.Iterate()
	for it.Next(&k, &m) {
		to := g.idle
		if m.Closing != 0 {
			to = g.closing
		}
		if k.Proto == 6 && m.Closing == 0 && (now <= m.LastNs || now-m.LastNs < uint64(to)) {
			s.ActiveConnectionCount++
		}
	}
	if err := it.Err(); err != nil {
		return s, fmt.Errorf("nat gateway %s: read mappings: %w", g.ID, err)
	}
	return s, nil
}

// Mappings is how many mappings the gateway holds (collected or not).
func (g *NGW) Mappings() (int, error) {
	n := 0
	var k ngwNgwFlow
	var m ngwNgwMapping
	it := g.objs.NgwFwd.Iterate()
	for it.Next(&k, &m) {
		n++
	}
	return n, it.Err()
}

// AdvanceClock moves the gateway's clock forward by d (tests: an idle
// timeout without the wait).
func (g *NGW) AdvanceClock(d time.Duration) error {
	var off int64
	if err := g.objs.NowOffset.Get(&off); err != nil {
		return err
	}
	return g.objs.NowOffset.Set(off + int64(d))
}

// Close detaches the program and frees the maps.
func (g *NGW) Close() error {
	var errs []error
	if g.filter != nil {
		errs = append(errs, g.tc.Detach(*g.filter))
		g.filter = nil
	}
	g.tc.Close()
	errs = append(errs, g.objs.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("nat gateway %s: close: %w", g.ID, err)
	}
	return nil
}

// ktimeNow reads the clock bpf_ktime_get_ns reads (CLOCK_MONOTONIC).
func ktimeNow() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("read monotonic clock: %w", err)
	}
	return uint64(ts.Nano()), nil
}
