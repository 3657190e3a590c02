package importer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// protocolNumber reads AWS's protocol spellings: tcp, udp, icmp, icmpv6
// (also as 6, 17, 1, 58), -1 or all, and other protocol numbers.
func protocolNumber(s string) (int, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tcp":
		return vpc.ProtoTCP, true
	case "udp":
		return vpc.ProtoUDP, true
	case "icmp":
		return vpc.ProtoICMP, true
	case "icmpv6", "58":
		return vpc.ProtoICMPv6, true
	case "-1", "all":
		return vpc.ProtoAll, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 255 {
		return 0, false
	}
	return n, true
}

const validProtocols = "tcp, udp, icmp, icmpv6, -1 (all) or a protocol number 0-255"

// rulePorts reads FromPort/ToPort as AWS uses them: a port range for TCP
// and UDP (absent or -1: all ports), ICMP type and code for ICMP (-1: any).
func rulePorts(proto int, from, to *int) (ports vpc.PortRange, icmpType, icmpCode int, msg string) {
	ports, icmpType, icmpCode = vpc.AllPorts, -1, -1
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if from == nil && to == nil {
			return
		}
		f, t := -1, -1
		if from != nil {
			f = *from
		}
		if to != nil {
			t = *to
		}
		if f == -1 && t == -1 {
			return
		}
		if from == nil || to == nil {
			f, t = max(f, t), max(f, t)
		}
		if f < 0 || t > 65535 || f > t {
			return ports, -1, -1, fmt.Sprintf("ports %d-%d are not a valid range; valid: FromPort <= ToPort within 0-65535", f, t)
		}
		ports = vpc.PortRange{From: f, To: t}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if from != nil {
			icmpType = *from
		}
		if to != nil {
			icmpCode = *to
		}
		if icmpType < -1 || icmpType > 255 || icmpCode < -1 || icmpCode > 255 {
			return ports, -1, -1, fmt.Sprintf("ICMP type %d and code %d are not valid; valid: -1 (any) or 0-255", icmpType, icmpCode)
		}
		if icmpType == -1 {
			icmpCode = -1
		}
	}
	return
}

// peer is an SG rule's peer as the formats give it; one field is set.
type peer struct {
	cidr, cidr6, group, prefixList string
}

// sgRule builds one SG rule; false (with an error recorded) when the input is bad.
func (b *builder) sgRule(src Source, proto string, from, to *int, p peer, desc string) (vpc.SGRule, bool) {
	n, ok := protocolNumber(proto)
	if !ok {
		b.errorf(src, "protocol %q is not valid; valid: %s", proto, validProtocols)
		return vpc.SGRule{}, false
	}
	r := vpc.SGRule{Protocol: n, Description: desc}
	var msg string
	r.Ports, r.ICMPType, r.ICMPCode, msg = rulePorts(n, from, to)
	if msg != "" {
		b.errorf(src, "%s", msg)
		return r, false
	}
	switch {
	case p.cidr != "":
		r.CIDR, ok = b.prefix(src, "CIDR", p.cidr, 4)
	case p.cidr6 != "":
		r.CIDR, ok = b.prefix(src, "IPv6 CIDR", p.cidr6, 6)
	case p.group != "":
		r.SourceGroup = p.group
	case p.prefixList != "":
		r.PrefixList = p.prefixList
	default:
		b.errorf(src, "the rule has no peer; valid: one of a CIDR, an IPv6 CIDR, a security group or a prefix list")
		return r, false
	}
	return r, ok
}

// naclRule builds one NACL rule.
func (b *builder) naclRule(src Source, number int, proto string, allow bool, cidr string, from, to *int, icmpType, icmpCode *int) (vpc.NACLRule, bool) {
	n, ok := protocolNumber(proto)
	if !ok {
		b.errorf(src, "protocol %q is not valid; valid: %s", proto, validProtocols)
		return vpc.NACLRule{}, false
	}
	r := vpc.NACLRule{Number: number, Protocol: n, Allow: allow}
	var msg string
	if n == vpc.ProtoICMP || n == vpc.ProtoICMPv6 {
		r.Ports, r.ICMPType, r.ICMPCode, msg = rulePorts(n, icmpType, icmpCode)
	} else {
		r.Ports, r.ICMPType, r.ICMPCode, msg = rulePorts(n, from, to)
	}
	if msg != "" {
		b.errorf(src, "%s", msg)
		return r, false
	}
	fam := 4
	if strings.Contains(cidr, ":") {
		fam = 6
	}
	r.CIDR, ok = b.prefix(src, "CIDR", cidr, fam)
	return r, ok
}

// prefix parses a CIDR of the input, recording an error naming what it is.
func (b *builder) prefix(src Source, what, s string, family int) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil || (family == 4 && !p.Addr().Is4()) || (family == 6 && !p.Addr().Is6()) {
		ex := "10.0.0.0/16"
		if family == 6 {
			ex = "2001:db8::/56"
		}
		b.errorf(src, "%s %q is not a valid IPv%d CIDR; valid: address/length such as %s", what, s, family, ex)
		return netip.Prefix{}, false
	}
	return p, true
}

// addr parses an address of the input ("" is no address).
func (b *builder) addr(src Source, what, s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		b.errorf(src, "%s %q is not a valid IP address", what, s)
		return netip.Addr{}
	}
	return a
}

// optPrefix parses an optional CIDR ("" is none).
func (b *builder) optPrefix(src Source, what, s string, family int) netip.Prefix {
	if s == "" {
		return netip.Prefix{}
	}
	p, _ := b.prefix(src, what, s, family)
	return p
}

// routeTarget is a route's target from the fields AWS (and Terraform and
// CloudFormation after it) use; kind "" with a reason for targets vpcemu
// does not model.
func routeTarget(field, id string) (vpc.RouteTarget, string) {
	switch field {
	case "GatewayId":
		switch {
		case id == "local":
			return vpc.RouteTarget{Kind: vpc.TargetLocal}, ""
		case strings.HasPrefix(id, "igw-"):
			return vpc.RouteTarget{Kind: vpc.TargetIGW, ID: id}, ""
		case strings.HasPrefix(id, "vpce-"):
			return vpc.RouteTarget{Kind: vpc.TargetEndpoint, ID: id}, ""
		case strings.HasPrefix(id, "vgw-"):
			return vpc.RouteTarget{}, "virtual private gateway (VPN)"
		case strings.HasPrefix(id, "eigw-"):
			return vpc.RouteTarget{Kind: vpc.TargetEIGW, ID: id}, ""
		}
		// CloudFormation and Terraform placeholders keep the kind's prefix;
		// other gateways are AWS's igw-.
		return vpc.RouteTarget{Kind: vpc.TargetIGW, ID: id}, ""
	case "EgressOnlyInternetGatewayId":
		return vpc.RouteTarget{Kind: vpc.TargetEIGW, ID: id}, ""
	case "NatGatewayId":
		return vpc.RouteTarget{Kind: vpc.TargetNAT, ID: id}, ""
	case "NetworkInterfaceId":
		return vpc.RouteTarget{Kind: vpc.TargetENI, ID: id}, ""
	case "InstanceId":
		return vpc.RouteTarget{Kind: vpc.TargetInstance, ID: id}, ""
	case "VpcPeeringConnectionId":
		return vpc.RouteTarget{Kind: vpc.TargetPeering, ID: id}, ""
	case "TransitGatewayId":
		return vpc.RouteTarget{}, "transit gateway"
	case "LocalGatewayId":
		return vpc.RouteTarget{}, "local gateway (Outposts)"
	case "CarrierGatewayId":
		return vpc.RouteTarget{}, "carrier gateway (Wavelength)"
	case "CoreNetworkArn":
		return vpc.RouteTarget{}, "Cloud WAN core network"
	case "VpcEndpointId":
		return vpc.RouteTarget{}, "Gateway Load Balancer endpoint"
	}
	return vpc.RouteTarget{}, field
}

// routeTargetFields are the fields routeTarget reads, in AWS's order.
var routeTargetFields = []string{"GatewayId", "EgressOnlyInternetGatewayId", "NatGatewayId", "NetworkInterfaceId", "InstanceId",
	"VpcPeeringConnectionId", "TransitGatewayId", "LocalGatewayId", "CarrierGatewayId", "CoreNetworkArn", "VpcEndpointId"}

// addRouteFrom adds a route to table from a destination and the target
// fields set; a target vpcemu does not model makes a blackhole route, so
// that its destination does not fall through to a shorter route.
func (b *builder) addRouteFrom(src Source, table, dest, dest6, destPL string, targets map[string]string, active bool) {
	r := vpc.Route{}
	switch {
	case dest != "":
		p, ok := b.prefix(src, "destination", dest, 4)
		if !ok {
			return
		}
		r.Dest = p
	case dest6 != "":
		p, ok := b.prefix(src, "IPv6 destination", dest6, 6)
		if !ok {
			return
		}
		r.Dest = p
	case destPL != "":
		r.DestPrefixList = destPL
	default:
		b.errorf(src, "the route has no destination; valid: a destination CIDR, IPv6 CIDR or prefix list")
		return
	}
	set := 0
	for _, f := range routeTargetFields {
		id := targets[f]
		if id == "" {
			continue
		}
		set++
		if set > 1 {
			continue
		}
		tgt, reason := routeTarget(f, id)
		if reason != "" {
			b.notModeled(src, "route to %s via %s %s: vpcemu has no %s; the route is a blackhole", routeDest(r), reason, id, reason)
			r.Blackhole = true
			active = false
			break
		}
		r.Target = tgt
		if tgt.Kind == vpc.TargetEndpoint {
			return // added by the endpoint itself (VPCE-2)
		}
	}
	if set == 0 {
		r.Blackhole = true
	}
	if r.Target.Kind == vpc.TargetLocal {
		return // every table has its local routes (RT-5)
	}
	if !active {
		r.Blackhole = true
	}
	b.addRoute(table, r, active, src)
}

func routeDest(r vpc.Route) string {
	if r.Dest.IsValid() {
		return r.Dest.String()
	}
	return r.DestPrefixList
}

// osProfile maps an instance's platform to the OS profile whose ephemeral
// ports its clients use.
func osProfile(platform string) string {
	if strings.Contains(strings.ToLower(platform), "windows") {
		return "windows"
	}
	return "amazon-linux"
}
