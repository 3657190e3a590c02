package flowlog

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// Addresses of AWS's link-local instance services, IPv4 and IPv6 (Nitro).
var (
	amazonDNSLinkLocal = []netip.Addr{netip.MustParseAddr("169.254.169.253"), netip.MustParseAddr("fd00:ec2::253")}
	imds               = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}
	timeSync           = []netip.Addr{netip.MustParseAddr("169.254.169.123"), netip.MustParseAddr("fd00:ec2::123")}
)

// Exclusions recognise the traffic AWS never logs (FL-7): to and from the
// Amazon DNS server, the instance metadata service, the Time Sync service,
// DHCP, and the VPC router's reserved address in each subnet.
type Exclusions struct {
	addrs map[netip.Addr]bool
	// mirrored are Traffic Mirroring's copies (FL-42, TM-13): VXLAN (UDP
	// 4789) from a session's source ENI to its target ENI.
	mirrored map[[2]netip.Addr]bool
}

// NewExclusions builds the FL-7 exclusions of a topology.
func NewExclusions(t *vpc.Topology) *Exclusions {
	e := &Exclusions{addrs: make(map[netip.Addr]bool), mirrored: make(map[[2]netip.Addr]bool)}
	for _, ses := range t.TrafficMirror.Sessions {
		src, _ := t.ENI(ses.Source)
		var dst *vpc.ENI
		if tg := t.MirrorTarget(ses.Target); tg != nil {
			dst, _ = t.ENI(tg.ENI)
		}
		if src != nil && dst != nil {
			e.mirrored[[2]netip.Addr{src.PrivateIP, dst.PrivateIP}] = true
		}
	}
	for _, list := range [][]netip.Addr{amazonDNSLinkLocal, imds, timeSync} {
		for _, a := range list {
			e.addrs[a] = true
		}
	}
	if t.VPCs[0].CIDR.IsValid() {
		// The Amazon DNS server is the VPC's base address plus two.
		e.addrs[t.VPCs[0].CIDR.Masked().Addr().Next().Next()] = true
	}
	for _, s := range t.Subnets {
		// Base plus one is the VPC router in every subnet.
		if s.CIDR.IsValid() {
			e.addrs[s.CIDR.Masked().Addr().Next()] = true
		}
		if s.IPv6CIDR.IsValid() {
			e.addrs[s.IPv6CIDR.Masked().Addr().Next()] = true
		}
	}
	return e
}

// Excluded reports whether s is traffic AWS does not log.
func (e *Exclusions) Excluded(s *Sample) bool {
	if e == nil {
		return false
	}
	if e.addrs[s.Dst] || e.addrs[s.Src] || e.addrs[s.PktDst] || e.addrs[s.PktSrc] {
		return true
	}
	if s.Protocol == vpc.ProtoUDP && s.DstPort == 4789 && len(e.mirrored) > 0 {
		src, dst := s.Src, s.Dst
		if s.PktSrc.IsValid() {
			src = s.PktSrc
		}
		if s.PktDst.IsValid() {
			dst = s.PktDst
		}
		if e.mirrored[[2]netip.Addr{src, dst}] {
			return true
		}
	}
	if s.Protocol == vpc.ProtoUDP {
		switch {
		case s.SrcPort == 68 && s.DstPort == 67, s.SrcPort == 67 && s.DstPort == 68: // DHCPv4
			return true
		case s.SrcPort == 546 && s.DstPort == 547, s.SrcPort == 547 && s.DstPort == 546: // DHCPv6
			return true
		}
	}
	return false
}
