package lab

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// CapturePoint is where `vpcemu capture` looks: an ENI's veth (the SG's
// hooks), a subnet's uplink at the router (the NACL's), or the internet
// gateway's port at the router (after its NAT: VPC addresses).
type CapturePoint struct {
	Kind        string // "eni", "subnet" or "igw"
	Name        string // the ENI id, the subnet id, or "igw"
	Description string // what a pcapng reader shows for the interface
	NS, IfName  string // the veth end the capture program attaches to
	// Ingress tells whether that end's ingress hook sees packets going
	// toward the target (inbound) or away from it (outbound).
	IngressInbound bool
	ENI            string       // eni points: the ENI id
	Instance       string       // eni points: its instance
	Subnet         netip.Prefix // subnet points: the subnet's CIDR
	SubnetV6       netip.Prefix
	VPC            []netip.Prefix // igw points: the VPC's blocks (what is outside is the internet)
}

// ResolveCaptureTarget finds target (an instance id, an ENI id, a subnet id
// or "igw") in topology t laid out as p.
func ResolveCaptureTarget(t *vpc.Topology, p *vpc.Plan, target string) (*CapturePoint, error) {
	if target == "igw" {
		var blocks []netip.Prefix
		for _, v := range t.VPCs {
			blocks = append(blocks, v.IPv4CIDRs()...)
			if v.IPv6CIDR.IsValid() {
				blocks = append(blocks, v.IPv6CIDR)
			}
		}
		// The router's end of the igw veth: its ingress holds what comes
		// in from the internet (after the NAT and the NACL).
		return &CapturePoint{Kind: "igw", Name: "igw", Description: "internet gateway of " + t.Name + " (VPC side of its NAT)",
			NS: p.RouterNS, IfName: p.IGW.RouterIf, IngressInbound: true, VPC: blocks}, nil
	}
	for i, in := range t.Instances {
		if in.ID != target && in.ENI.ID != target {
			continue
		}
		hp := p.Instances[i]
		// The ENI's subnet end: its ingress is what the instance sends.
		return &CapturePoint{Kind: "eni", Name: in.ENI.ID, Description: fmt.Sprintf("ENI of %s (%s)", in.ID, in.PrivateIP),
			NS: hp.PeerNS, IfName: hp.PeerIf, IngressInbound: false, ENI: in.ENI.ID, Instance: in.ID}, nil
	}
	for i, sn := range t.Subnets {
		if sn.ID != target {
			continue
		}
		sp := p.Subnets[i]
		// The uplink's router end: its ingress is what leaves the subnet.
		return &CapturePoint{Kind: "subnet", Name: sn.ID, Description: fmt.Sprintf("edge of subnet %s (%s) at the VPC router", sn.ID, sn.CIDR),
			NS: sp.RouterNS, IfName: sp.UplinkRouterIf, IngressInbound: false, Subnet: sn.CIDR, SubnetV6: sn.IPv6CIDR}, nil
	}
	var valid []string
	for _, in := range t.Instances {
		valid = append(valid, in.ID, in.ENI.ID)
	}
	for _, sn := range t.Subnets {
		valid = append(valid, sn.ID)
	}
	sort.Strings(valid)
	return nil, fmt.Errorf("no capture target %q in topology %s; valid: an instance, an ENI, a subnet or igw (%s, igw)", target, t.Name, strings.Join(valid, ", "))
}

// naclDropConcerns tells whether a packet between src and dst that a NACL
// dropped (by an inbound table: on its way into a subnet) belongs to this
// point's capture: for an ENI, packets to or from its instance; for a
// subnet, packets entering or leaving it; for the internet gateway, packets
// from the internet, which its port judges (outbound ones die at their
// subnet's edge and never reach it).
func (c *CapturePoint) naclDropConcerns(t *vpc.Topology, src, dst netip.Addr, inbound bool) bool {
	switch c.Kind {
	case "eni":
		in := t.Instance(c.Instance)
		if in == nil {
			return false
		}
		for _, e := range in.ENIs() {
			for _, a := range []netip.Addr{e.PrivateIP, e.PublicIP, e.IPv6} {
				if a.IsValid() && (a == src || a == dst) {
					return true
				}
			}
		}
		return false
	case "subnet":
		in := func(a netip.Addr) bool {
			return c.Subnet.Contains(a) || (c.SubnetV6.IsValid() && c.SubnetV6.Contains(a))
		}
		return in(src) != in(dst)
	case "igw":
		inVPC := func(a netip.Addr) bool {
			for _, b := range c.VPC {
				if b.Contains(a) {
					return true
				}
			}
			return false
		}
		return inbound && !inVPC(src) && inVPC(dst)
	}
	return false
}
