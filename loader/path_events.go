package loader

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// Event kinds (vpc_event.kind): which program dropped the packet.
const (
	EventNACL  = uint8(naclEvKindEV_NACL_DROP)
	EventSG    = uint8(naclEvKindEV_SG_DROP)
	EventRoute = uint8(naclEvKindEV_ROUTE_DROP)
	EventIGW   = uint8(naclEvKindEV_IGW_DROP)
	EventNGW   = uint8(naclEvKindEV_NGW_DROP)
)

// EventKind is the kind of one ring-buffer record (Event*).
func EventKind(b []byte) (uint8, error) {
	var e vpcEvent
	if len(b) < binary.Size(e) {
		return 0, fmt.Errorf("event: %d bytes, want %d", len(b), binary.Size(e))
	}
	if _, err := binary.Decode(b, binary.NativeEndian, &e); err != nil {
		return 0, fmt.Errorf("event: %w", err)
	}
	return e.Kind, nil
}

// PathEvent is a packet routing or a gateway dropped, named as
// rules.Path.DropPoint names it: component (route, subnet, igw, eigw, ngw,
// pcx, vpce), its id, the direction and the code (RA-8).
type PathEvent struct {
	TimeNs    uint64 // CLOCK_MONOTONIC
	Component string
	ID        string
	Inbound   bool
	Code      string
	Protocol  uint8
	Src, Dst  netip.AddrPort
	ICMPType  uint8
	ICMPCode  uint8
	TCPFlags  uint8
	Fragment  uint8
	Packets   uint32
	Bytes     uint32
}

// DropPoint is "component:id:direction:code" (rules.DropPoint.String).
func (e *PathEvent) DropPoint() string {
	dir := "outbound"
	if e.Inbound {
		dir = "inbound"
	}
	return rules.DropPoint{Component: e.Component, ID: e.ID, Direction: dir, Code: e.Code}.String()
}

// Route drop reasons (enum rt_drop) and the component and code each names.
var routeDrops = map[naclRtDrop]struct{ component, code string }{
	naclRtDropRT_DROP_NO_ROUTE:      {"route", rules.CodeNoRouteToDestination},
	naclRtDropRT_DROP_BLACKHOLE:     {"route", rules.CodeBadStateRoute},
	naclRtDropRT_DROP_NO_ENI:        {"subnet", rules.CodeNoENIAtAddress},
	naclRtDropRT_DROP_PCX_ADDRESS:   {"pcx", rules.CodePCXAddressInVPC},
	naclRtDropRT_DROP_LOOP:          {"route", rules.CodeNoRouteToDestination},
	naclRtDropRT_DROP_EIGW_INBOUND:  {"eigw", rules.CodeEIGWInbound},
	naclRtDropRT_DROP_IGW_NO_ROUTE:  {"igw", rules.CodeNoRouteToDestination},
	naclRtDropRT_DROP_SPOOFED:       {"igw", rules.CodeSpoofed},
	naclRtDropRT_DROP_VPCE_PROTOCOL: {"vpce", rules.CodeVPCEProtocol},
	naclRtDropRT_DROP_VPCE_SOURCE:   {"vpce", rules.CodeVPCEEgressSource},
	naclRtDropRT_DROP_INTERNET:      {"route", rules.CodeNoRouteToDestination},
}

// DecodePathEvent decodes a record of kind EventRoute (the NACL's ring),
// EventIGW (an internet gateway's) or EventNGW (a NAT gateway's).
func (d *Datapath) DecodePathEvent(b []byte) (PathEvent, error) {
	var e vpcEvent
	if len(b) < binary.Size(e) {
		return PathEvent{}, fmt.Errorf("path event: %d bytes, want %d", len(b), binary.Size(e))
	}
	if _, err := binary.Decode(b, binary.NativeEndian, &e); err != nil {
		return PathEvent{}, fmt.Errorf("path event: %w", err)
	}
	fam := uint8(4)
	if e.Family == 6 {
		fam = 6
	}
	pe := PathEvent{
		TimeNs: e.TsNs, Inbound: naclEvDir(e.Dir) == naclEvDirEV_DIR_INBOUND, Protocol: e.Proto,
		Src: netip.AddrPortFrom(addrOf(fam, e.Saddr), e.Sport), Dst: netip.AddrPortFrom(addrOf(fam, e.Daddr), e.Dport),
		ICMPType: e.IcmpType, ICMPCode: e.IcmpCode, TCPFlags: e.TcpFlags, Fragment: e.Frag, Packets: e.Packets, Bytes: e.Bytes,
	}
	switch e.Kind {
	case EventRoute:
		rd, ok := routeDrops[naclRtDrop(e.Reason)]
		if !ok {
			return pe, fmt.Errorf("route event: reason %d", e.Reason)
		}
		pe.Component, pe.Code = rd.component, rd.code
		pe.ID = d.routeDropID(naclRtDrop(e.Reason), int(e.Obj), int(e.Rule))
	case EventIGW:
		pe.Component, pe.ID, pe.Code = "igw", d.gatewayID(e.Obj), igwDropCodes[igwIgwDrop(e.Reason)]
	case EventNGW:
		pe.Component, pe.ID, pe.Code = "ngw", d.gatewayID(e.Obj), ngwDropCodes[ngwNgwDrop(e.Reason)]
	default:
		return pe, fmt.Errorf("path event: kind %d", e.Kind)
	}
	return pe, nil
}

// routeDropID names the component of a route drop from the ports it
// happened between: the arrival port's route table, the subnet the route
// chose, the arrival port's VPC, gateway or peering.
func (d *Datapath) routeDropID(reason naclRtDrop, in, out int) string {
	d.mu.Lock()
	p := d.plan
	d.mu.Unlock()
	if p == nil || p.Routing == nil {
		return ""
	}
	pin, pout := p.Routing.Port(in), p.Routing.Port(out)
	switch reason {
	case naclRtDropRT_DROP_INTERNET:
		return "rtb-internet"
	case naclRtDropRT_DROP_NO_ENI:
		if pout != nil && pout.Kind == vpc.PortSubnet {
			return pout.Subnet
		}
		if pin != nil {
			return pin.VPC
		}
	case naclRtDropRT_DROP_EIGW_INBOUND, naclRtDropRT_DROP_VPCE_PROTOCOL:
		if pout != nil && pout.Link != "" {
			return pout.Link
		}
		if pin != nil {
			return pin.Link
		}
	case naclRtDropRT_DROP_PCX_ADDRESS, naclRtDropRT_DROP_IGW_NO_ROUTE, naclRtDropRT_DROP_SPOOFED, naclRtDropRT_DROP_VPCE_SOURCE:
		if pin != nil {
			return pin.Link
		}
	default: // a route of the arrival port's table
		if pin != nil {
			if pin.Kind == vpc.PortInternetHost || pin.Kind == vpc.PortInternetIGW || pin.Kind == vpc.PortInternetEIGW {
				return "rtb-internet"
			}
			return pin.RouteTable
		}
	}
	return ""
}

// gatewayID is the internet or NAT gateway with events' obj i.
func (d *Datapath) gatewayID(i uint32) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, x := range d.index {
		if x == i {
			return id
		}
	}
	return ""
}

// EventRings are the ring buffers of every path event source besides the
// NACL's (which carries route drops too): the internet and NAT gateways'.
func (d *Datapath) EventRings() map[string]*ebpf.Map {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]*ebpf.Map{}
	for id, g := range d.IGWs {
		out[id] = g.Events()
	}
	for id, g := range d.NGWs {
		out[id] = g.Events()
	}
	return out
}
