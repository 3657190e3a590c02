package rules

import (
	"net/netip"
	"slices"

	"github.com/vpcemu/vpcemu/vpc"
)

// Addresses of AWS services whose traffic is never mirrored (TM-13): the
// instance metadata service, the Amazon Time Sync Service (NTP) and the
// Windows activation (KMS) servers, over IPv4 and IPv6.
var mirrorExcludedAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254"),
	netip.MustParseAddr("169.254.169.123"), netip.MustParseAddr("fd00:ec2::123"),
	netip.MustParseAddr("169.254.169.250"), netip.MustParseAddr("169.254.169.251"),
}

// MirrorExcluded tells whether p is traffic AWS never mirrors (TM-13):
// DHCP, the instance metadata service, NTP and Windows activation (ARP is
// not IP and never reaches a filter). The mirrored copies themselves are not
// mirrored again: they leave through no source ENI's filter.
func MirrorExcluded(p Packet) bool {
	if p.Protocol == vpc.ProtoUDP && (p.DstPort == 67 || p.DstPort == 68 || p.DstPort == 546 || p.DstPort == 547) {
		return true
	}
	if p.Protocol == vpc.ProtoUDP && p.DstPort == 123 || p.Protocol == vpc.ProtoUDP && p.SrcPort == 123 {
		return true
	}
	for _, a := range mirrorExcludedAddrs {
		if p.Src == a || p.Dst == a {
			return true
		}
	}
	return false
}

// MirrorRuleMatches tells whether filter rule r matches p (TM-4): protocol
// (absent = all), both CIDRs, and port ranges for TCP and UDP.
func MirrorRuleMatches(r *vpc.MirrorRule, p Packet) bool {
	if r.Protocol != vpc.ProtoAll && r.Protocol != p.Protocol {
		return false
	}
	if !r.SrcCIDR.Contains(p.Src) || !r.DstCIDR.Contains(p.Dst) {
		return false
	}
	if p.Protocol == vpc.ProtoTCP || p.Protocol == vpc.ProtoUDP {
		if p.Fragment == FragLater && (r.SrcPorts != vpc.AllPorts || r.DstPorts != vpc.AllPorts) {
			return false // no ports to match
		}
		if p.SrcPort < r.SrcPorts.From || p.SrcPort > r.SrcPorts.To || p.DstPort < r.DstPorts.From || p.DstPort > r.DstPorts.To {
			return false
		}
	}
	return true
}

// MirrorFilterAccepts is the filter's verdict on p in one direction
// (inbound: received by the source ENI), with the deciding rule number (0
// when no rule matched): the lowest-numbered matching rule decides, no match
// does not mirror (TM-5). A filter opted into amazon-dns mirrors DNS to and
// from the VPC's resolver (base+2) whatever its rules say (TM-6).
func MirrorFilterAccepts(f *vpc.MirrorFilter, p Packet, inbound bool, resolver netip.Addr) (accept bool, rule int) {
	for _, s := range f.NetworkServices {
		if s == vpc.MirrorServiceAmazonDNS && resolver.IsValid() && isDNS(p, resolver) {
			return true, 0
		}
	}
	rules := f.Outbound
	if inbound {
		rules = f.Inbound
	}
	var best *vpc.MirrorRule
	for i := range rules {
		r := &rules[i]
		if (best == nil || r.Number < best.Number) && MirrorRuleMatches(r, p) {
			best = r
		}
	}
	if best == nil {
		return false, 0
	}
	return best.Accept, best.Number
}

func isDNS(p Packet, resolver netip.Addr) bool {
	if p.Protocol != vpc.ProtoUDP && p.Protocol != vpc.ProtoTCP {
		return false
	}
	return p.Dst == resolver && p.DstPort == 53 || p.Src == resolver && p.SrcPort == 53
}

// MirrorDecision is which session mirrors a packet of source ENI eni that
// its SG and NACLs passed (dropped ones are never mirrored, TM-12), or nil:
// sessions in ascending session number, the first whose filter accepts
// mirrors it, and each packet at most once (TM-3).
func MirrorDecision(t *vpc.Topology, eni string, p Packet, inbound bool) *vpc.MirrorSession {
	if MirrorExcluded(p) {
		return nil
	}
	resolver := VPCResolver(t, eni)
	// [INTERP] TM-6: traffic with a VPC service no SG filters (SG-45: the
	// router's addresses, the resolver) is mirrored only as the service a
	// filter opts into, amazon-dns, whatever its rules say.
	svc := ReservedService(t, p.Src) || ReservedService(t, p.Dst)
	for _, s := range t.MirrorSessionsOf(eni) {
		f := t.MirrorFilter(s.Filter)
		if f == nil {
			continue
		}
		if svc {
			if slices.Contains(f.NetworkServices, vpc.MirrorServiceAmazonDNS) && resolver.IsValid() && isDNS(p, resolver) {
				return s
			}
			continue
		}
		if ok, _ := MirrorFilterAccepts(f, p, inbound, resolver); ok {
			return s
		}
	}
	return nil
}

// VPCResolver is the Amazon DNS address of eni's VPC (TM-6's amazon-dns).
func VPCResolver(t *vpc.Topology, eni string) netip.Addr {
	e, _ := t.ENI(eni)
	if e == nil {
		return netip.Addr{}
	}
	if vp := t.VPCOfSubnet(e.Subnet); vp != nil {
		return vpcDNS(vp)
	}
	return netip.Addr{}
}
