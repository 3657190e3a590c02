package vpc

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// maxRouteTablesPerVPC is AWS's quota of route tables per VPC, the main
// table included (RT-4).
const maxRouteTablesPerVPC = 200

// maxPropagatedRoutes is AWS's fixed quota of propagated routes per table (RT-4).
const maxPropagatedRoutes = 100

// Destinations no route may have (RT-7): the Amazon services range and its IPv6 twin.
var reservedRouteDests = []netip.Prefix{netip.MustParsePrefix("169.254.168.0/22"), netip.MustParsePrefix("fd00:ec2::/32")}

// nat64Prefix is the one IPv6 destination a NAT gateway may be the target of (DNS64/NAT64).
var nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")

// livePeering reports whether a peering in state s counts as one between
// its VPCs (PCX-2's one per pair); refused and removed ones do not.
func livePeering(s string) bool {
	switch s {
	case "rejected", "failed", "expired", "deleted":
		return false
	}
	return true
}

func (d *decoder) validatePeerings(t *Topology) {
	ids := map[string]bool{}
	pairs := map[[2]string]string{}
	for i, p := range t.Peerings {
		path := index("peering_connections", i)
		if d.isBad(path) {
			continue
		}
		if p.ID != "" {
			if ids[p.ID] {
				d.dupID(join(path, "id"), "peering connection", p.ID)
			}
			ids[p.ID] = true
		}
		if p.Requester == "" || p.Accepter == "" {
			continue
		}
		if p.Requester == p.Accepter {
			d.errf(join(path, "accepter_vpc"), "InvalidParameterValue", "a peering connection joins two VPCs but both sides are %s; valid: another VPC (%s)", p.Requester, choices(d.vpcSetExcept(p.Requester)))
			continue
		}
		if !livePeering(p.State) {
			continue
		}
		key := vpcPair(p.Requester, p.Accepter)
		if first, dup := pairs[key]; dup {
			d.errf(join(path, "accepter_vpc"), "VpcPeeringConnectionAlreadyExists", "%s and %s are already peered by %s; valid: one peering connection per VPC pair (PCX-2)", p.Requester, p.Accepter, first)
			continue
		}
		pairs[key] = p.ID
		a, b := t.VPC(p.Requester), t.VPC(p.Accepter)
		if x, y, bad := overlapping(a, b); bad {
			// PCX-2 [INTERP code]: AWS moves such a request to failed.
			d.errf(join(path, "accepter_vpc"), "InvalidParameterValue", "%s's block %s overlaps %s's block %s; valid: VPCs none of whose IPv4 (or IPv6) blocks overlap, or state: failed, where AWS leaves such a request (PCX-2)",
				a.ID, x, b.ID, y)
			continue
		}
		if p.Active() {
			d.peered[key] = true
		}
	}
}

// overlapping returns the first overlapping blocks of two VPCs (IPv4 with
// IPv4, IPv6 with IPv6; PCX-2), if any.
func overlapping(a, b *VPC) (netip.Prefix, netip.Prefix, bool) {
	for _, x := range a.CIDRs() {
		for _, y := range b.CIDRs() {
			if x.IsValid() && y.IsValid() && x.Overlaps(y) {
				return x, y, true
			}
		}
	}
	return netip.Prefix{}, netip.Prefix{}, false
}

func (d *decoder) vpcSetExcept(id string) map[string]bool {
	set := d.vpcSet()
	delete(set, id)
	return set
}

func (d *decoder) validateGateways(t *Topology) {
	ids := map[string]bool{}
	attached := map[string]string{}
	for i, g := range t.InternetGateways {
		p := index("internet_gateways", i)
		if d.isBad(p) {
			continue
		}
		if ids[g.ID] && g.ID != "" {
			d.dupID(join(p, "id"), "internet gateway", g.ID)
		}
		ids[g.ID] = true
		if g.VPC == "" {
			continue
		}
		if first, dup := attached[g.VPC]; dup {
			d.errf(join(p, "vpc"), "Resource.AlreadyAssociated", "%s already has internet gateway %s; valid: one internet gateway per VPC (EIP-1), or leave this one detached (no vpc)", g.VPC, first)
			continue
		}
		attached[g.VPC] = g.ID
	}
	ids = map[string]bool{}
	attached = map[string]string{}
	for i, g := range t.EgressOnlyGateways {
		p := index("egress_only_internet_gateways", i)
		if d.isBad(p) {
			continue
		}
		if ids[g.ID] && g.ID != "" {
			d.dupID(join(p, "id"), "egress-only internet gateway", g.ID)
		}
		ids[g.ID] = true
		if g.VPC == "" {
			continue
		}
		if first, dup := attached[g.VPC]; dup {
			// EIP-13: one per VPC [INTERP code].
			d.errf(join(p, "vpc"), "Resource.AlreadyAssociated", "%s already has egress-only internet gateway %s; valid: one per VPC (EIP-13)", g.VPC, first)
			continue
		}
		attached[g.VPC] = g.ID
	}
}

// hasIGW reports whether the VPC has an internet gateway attached, the one
// `public: true` gives it included.
func (d *decoder) hasIGW(t *Topology, vpc string) bool {
	for i, g := range t.InternetGateways {
		if g.VPC == vpc && vpc != "" && !d.isBad(index("internet_gateways", i)) {
			return true
		}
	}
	for id := range d.implicit {
		if r := d.ids[id]; r.kind == kindIGW && r.vpc == vpc {
			return true
		}
	}
	return false
}

func (d *decoder) validateNATs(t *Topology) {
	ids := map[string]bool{}
	perAZ := map[string]int{}
	d.eipUser = map[string]string{}
	var free []*NATGateway
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		p := index("nat_gateways", i)
		if d.isBad(p) {
			continue
		}
		if ids[g.ID] && g.ID != "" {
			d.dupID(join(p, "id"), "NAT gateway", g.ID)
		}
		ids[g.ID] = true
		s := d.goodSubnet(t, g.Subnet)
		if s == nil {
			if g.Subnet != "" {
				d.errf(join(p, "subnet"), "InvalidSubnetID.NotFound", "unknown subnet %q; valid: %s", g.Subnet, choices(d.idsOf(kindSubnet, "")))
			}
			continue
		}
		if g.PrivateIP.IsValid() {
			d.checkHostAddr(join(p, "private_ip"), g.PrivateIP, s.ID, s.CIDR)
			d.useAddr(g.PrivateIP, join(p, "private_ip"), "InvalidIPAddress.InUse")
		} else {
			free = append(free, g)
		}
		switch {
		case g.Private && g.ElasticIP != "":
			d.errf(join(p, "elastic_ip"), "InvalidParameterCombination", "a private NAT gateway has no Elastic IP (NGW-1); valid: remove elastic_ip, or connectivity: public")
		case !g.Private && g.ElasticIP == "":
			d.errf(join(p, "elastic_ip"), "MissingParameter", "a public NAT gateway needs an Elastic IP (NGW-1); valid: elastic_ip: an id of elastic_ips (%s), or connectivity: private", choices(d.idsOf(kindEIP, "")))
		case g.ElasticIP != "":
			if r, ok := d.ids[g.ElasticIP]; !ok || r.kind != kindEIP {
				d.errf(join(p, "elastic_ip"), "InvalidAllocationID.NotFound", "unknown Elastic IP %q; valid: %s", g.ElasticIP, choices(d.idsOf(kindEIP, "")))
			} else if first, dup := d.eipUser[g.ElasticIP]; dup {
				d.errf(join(p, "elastic_ip"), "Resource.AlreadyAssociated", "Elastic IP %s is already the address of %s; valid: an Elastic IP of its own (EIP-10)", g.ElasticIP, first)
			} else {
				d.eipUser[g.ElasticIP] = p
			}
			// A VPC without an internet gateway cannot hold mapped public addresses.
			if !d.hasIGW(t, s.VPC) {
				d.errf(join(p, "elastic_ip"), "Gateway.NotAttached", "%s has no internet gateway attached; valid: attach one (internet_gateways: [{id: …, vpc: %s}]), or connectivity: private", s.VPC, s.VPC)
			}
		}
		perAZ[s.AZ]++
		if perAZ[s.AZ] == t.Limits.NATGatewaysPerAZ+1 {
			d.errf(join(p, "subnet"), "NatGatewayLimitExceeded", "Performing this operation would exceed the limit of %d NAT gateways in %s; valid: at most %d per AZ (NGW-4), or raise limits.nat_gateways_per_az", t.Limits.NATGatewaysPerAZ, s.AZ, t.Limits.NATGatewaysPerAZ)
		}
	}
	// NAT gateways without private_ip get the highest free address of their
	// subnet, after every address the file names is known, so that adding
	// an instance at a low address does not move them [INTERP].
	for _, g := range free {
		s := t.Subnet(g.Subnet)
		if !s.CIDR.IsValid() {
			continue // reported with the subnet
		}
		lo, hi := usableRange(s.CIDR)
		for a := hi; !a.Less(lo); a = a.Prev() {
			if _, used := d.addrs[a]; !used {
				g.PrivateIP = a
				d.addrs[a] = join(d.natPath(t, g.ID), "private_ip")
				break
			}
		}
		if !g.PrivateIP.IsValid() {
			d.errf(join(d.natPath(t, g.ID), "subnet"), "InsufficientFreeAddressesInSubnet", "subnet %s %s has no free address; valid: a subnet with room, or private_ip", s.ID, s.CIDR)
		}
	}
}

func (d *decoder) natPath(t *Topology, id string) string {
	for i := range t.NATGateways {
		if t.NATGateways[i].ID == id {
			return index("nat_gateways", i)
		}
	}
	return "nat_gateways"
}

func (d *decoder) validateEIPs(t *Topology) {
	ids := map[string]bool{}
	private := map[netip.Addr]string{}
	count := 0
	for i := range t.ElasticIPs {
		e := &t.ElasticIPs[i]
		p := index("elastic_ips", i)
		if d.isBad(p) {
			continue
		}
		if ids[e.ID] && e.ID != "" {
			d.dupID(join(p, "id"), "Elastic IP", e.ID)
		}
		ids[e.ID] = true
		count++
		if count == t.Limits.ElasticIPs+1 {
			d.errf(join(p, "id"), "AddressLimitExceeded", "The maximum number of addresses has been reached: %d Elastic IPs; valid: at most %d per region (EIP-12), or raise limits.elastic_ips", count, t.Limits.ElasticIPs)
		}
		if v, c := d.vpcBlockOf(t, e.PublicIP); v != "" {
			d.errf(join(p, "public_ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 203.0.113.0/24", e.PublicIP, c)
		} else {
			d.useAddr(e.PublicIP, join(p, "public_ip"), "")
		}
		if nat := d.eipUser[e.ID]; nat != "" {
			if e.ENI != "" {
				d.errf(join(p, "network_interface"), "Resource.AlreadyAssociated", "Elastic IP %s is the address of %s; valid: no network_interface (the NAT gateway names its Elastic IP), or another Elastic IP for this ENI", e.ID, nat)
			}
			if e.PrivateIP.IsValid() {
				d.errf(join(p, "private_ip"), "InvalidParameterCombination", "the NAT gateway %s decides its private IP; valid: no private_ip here (set the NAT gateway's private_ip)", nat)
			}
			continue
		}
		if e.ENI == "" {
			if e.PrivateIP.IsValid() {
				d.errf(join(p, "private_ip"), "InvalidParameterCombination", "an unassociated Elastic IP has no private IP; valid: network_interface with private_ip, or neither")
			}
			continue
		}
		eni := d.eipENI(t, e.ENI, join(p, "network_interface"))
		if eni == nil {
			e.PrivateIP = netip.Addr{}
			continue
		}
		e.ENI = eni.ID
		if !e.PrivateIP.IsValid() {
			e.PrivateIP = eni.PrivateIP
		} else if !slices.Contains(eni.PrivateIPs(), e.PrivateIP) {
			d.errf(join(p, "private_ip"), "InvalidParameterValue", "%s is not a private IPv4 of %s; valid: %s (EIP-10)", e.PrivateIP, eni.ID, addrList(eni.PrivateIPs()))
			continue
		}
		if first, dup := private[e.PrivateIP]; dup {
			d.errf(join(p, "network_interface"), "Resource.AlreadyAssociated", "%s of %s already has Elastic IP %s; valid: one Elastic IP per private IPv4 (EIP-10)", e.PrivateIP, eni.ID, first)
			continue
		}
		private[e.PrivateIP] = e.ID
		if e.PrivateIP == eni.PrivateIP && eni.PublicIP.IsValid() {
			// EIP-9: associating an EIP releases the auto-assigned address.
			d.errf(join(p, "network_interface"), "InvalidParameterCombination", "%s's primary IP already has the auto-assigned public IP %s, which AWS releases when an Elastic IP is associated (EIP-9); valid: remove the instance's public_ip, or private_ip: a secondary IP", eni.ID, eni.PublicIP)
		}
		if vpc := t.VPCOfSubnetID(eni.Subnet); vpc != "" && !d.hasIGW(t, vpc) {
			d.errf(join(p, "network_interface"), "Gateway.NotAttached", "%s has no internet gateway attached; valid: attach one (internet_gateways: [{id: …, vpc: %s}]) before associating Elastic IPs", vpc, vpc)
		}
	}
	// A NAT gateway's Elastic IP maps its private IP (NGW-5).
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		if e := t.ElasticIP(g.ElasticIP); e != nil && e.ENI == "" && !g.Private && d.eipUser[e.ID] == index("nat_gateways", i) {
			e.ENI, e.PrivateIP = g.ENI, g.PrivateIP
		}
	}
}

// eipENI resolves an Elastic IP's network_interface: an instance ENI id, or
// an instance id meaning its primary ENI (EIP-10).
func (d *decoder) eipENI(t *Topology, id, field string) *ENI {
	r, ok := d.ids[id]
	switch {
	case ok && r.kind == kindInstance:
		if in := t.Instance(id); in != nil {
			return &in.ENI
		}
	case ok && r.kind == kindENI && t.NATGatewayByENI(id) != nil:
		d.errf(field, "InvalidParameterValue", "%s is NAT gateway %s's network interface; valid: nat_gateways[].elastic_ip names a NAT gateway's Elastic IP", id, r.owner)
		return nil
	case ok && r.kind == kindENI:
		if e, _ := t.ENI(id); e != nil {
			return e
		}
	}
	set := d.idsOf(kindInstance, "")
	for x := range d.idsOf(kindENI, "") {
		if t.NATGatewayByENI(x) == nil {
			set[x] = true
		}
	}
	code := "InvalidNetworkInterfaceID.NotFound"
	if strings.HasPrefix(id, "i-") {
		code = "InvalidInstanceID.NotFound"
	}
	d.errf(field, code, "unknown network interface or instance %q; valid: %s", id, choices(set))
	return nil
}

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// routeKey identifies a route's destination for RouteAlreadyExists.
func routeKey(r Route) string {
	if r.DestPrefixList != "" {
		return "pl:" + r.DestPrefixList
	}
	return r.Dest.String()
}

// validateRoutes builds every table's routes: the local routes (RT-5), the
// file's routes with their targets resolved, or for the implicit public
// table the sugar's routes.
func (d *decoder) validateRoutes(t *Topology, pls map[string]*PrefixList) {
	d.rtPaths = map[string][]string{}
	ids := map[string]bool{}
	tables := map[string]int{}
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		v := t.VPC(rt.VPC)
		p := index("route_tables", i)
		if i < d.fileRTs && d.isBad(p) {
			continue
		}
		if i < d.fileRTs && rt.ID != "" {
			if ids[rt.ID] {
				d.dupID(join(p, "id"), "route table", rt.ID)
			}
			ids[rt.ID] = true
		}
		if v == nil {
			continue
		}
		tables[v.ID]++
		if tables[v.ID] == maxRouteTablesPerVPC+1 {
			d.errf(join(p, "id"), "RouteTableLimitExceeded", "%s has more than %d route tables (its main table included); valid: at most %d per VPC (RT-4)", v.ID, maxRouteTablesPerVPC, maxRouteTablesPerVPC)
		}
		if i >= d.fileRTs {
			routes := LocalRoutes(v)
			if !rt.Main {
				routes = t.PublicRoutes(v)
			}
			rt.Routes = routes
			d.rtPaths[rt.ID] = make([]string, len(routes))
			continue
		}
		file := rt.Routes
		routes := LocalRoutes(v)
		paths := make([]string, len(routes))
		seen := map[string]int{}
		for k, r := range routes {
			seen[routeKey(r)] = k
		}
		replaced := map[string]bool{}
		for j, r := range file {
			rp := index(join(p, "routes"), j)
			if d.isBad(rp) {
				continue
			}
			if !d.checkRoute(t, rt, v, &r, rp, pls) {
				continue
			}
			key := routeKey(r)
			k, dup := seen[key]
			switch {
			case dup && k < len(LocalRoutes(v)) && !replaced[key]:
				// RT-5: the file may give a local route another target.
				replaced[key] = true
				routes[k], paths[k] = r, rp
			case dup:
				first := "the local route"
				if paths[k] != "" {
					first = strings.TrimPrefix(paths[k], p+".")
				}
				d.errf(rp, "RouteAlreadyExists", "The route identified by %s already exists (%s); valid: one route per destination (RT-12)", key, first)
			default:
				seen[key] = len(routes)
				routes = append(routes, r)
				paths = append(paths, rp)
			}
		}
		rt.Routes = routes
		d.rtPaths[rt.ID] = paths
	}
}

// checkRoute validates one route of the file against its table and VPC and
// resolves its target; it reports whether the route is good.
func (d *decoder) checkRoute(t *Topology, rt *RouteTable, v *VPC, r *Route, path string, pls map[string]*PrefixList) bool {
	aux := d.routeAux[path]
	local := false
	if r.DestPrefixList != "" {
		if _, ok := pls[r.DestPrefixList]; !ok {
			set := map[string]bool{}
			for id := range pls {
				set[id] = true
			}
			d.errf(join(path, "destination_prefix_list"), "InvalidPrefixListID.NotFound", "unknown prefix list %q; valid: %s", r.DestPrefixList, choices(set))
			return false
		}
	} else {
		for _, res := range reservedRouteDests {
			if contains(res, r.Dest) {
				d.errf(join(path, "destination"), "InvalidParameterValue", "%s is inside %s, which AWS reserves for its services (RT-7); valid: a destination outside it", r.Dest, res)
				return false
			}
		}
		local = r.IsLocal(v)
	}
	field := join(path, "target")
	// Resolve the target.
	switch {
	case aux.target == "":
		if local {
			d.errf(field, "MissingParameter", "the local route of %s has a target; valid: local, a network interface or a NAT gateway (RT-5)", r.Dest)
			return false
		}
		if aux.state == "active" {
			d.errf(join(path, "state"), "InvalidParameterValue", "a route without a target is a blackhole; valid: a target, or no state")
			return false
		}
		r.Target, r.Blackhole = RouteTarget{}, true
		return true
	case aux.target == "local":
		if !local {
			d.errf(field, "InvalidParameterValue", "local is the target of %s's own blocks only (%s; RT-5); valid: another target for %s", v.ID, prefixes(v.CIDRs()), routeKey(*r))
			return false
		}
		if aux.state == "blackhole" || aux.targetKind != "" {
			d.errf(join(path, "state"), "InvalidParameterValue", "a local route is always active; valid: no state, no target_kind")
			return false
		}
		r.Target, r.Blackhole = RouteTarget{Kind: TargetLocal}, false
		return true
	}
	id := aux.target
	ref, found := d.ids[id]
	if !found {
		kind := aux.targetKind
		if kind == "" {
			kind = targetKindOf(id)
		}
		if aux.state != "blackhole" {
			d.errf(field, notFoundCode(kind), "unknown target %q; valid: local or a target of %s (%s), or state: blackhole to keep a route whose target is gone (RT-15)", id, v.ID, choices(d.targetsOf(t, v.ID)))
			return false
		}
		if kind == TargetNone {
			d.errf(field, "InvalidParameterValue", "the kind of the missing target %q is not known from its id; valid: target_kind: one of %s", id, kindNames())
			return false
		}
		r.Target, r.Blackhole = RouteTarget{Kind: kind, ID: id}, true
		return d.checkLocalTarget(r, local, field) && d.checkRT6(t, v, r, local, field)
	}
	if aux.targetKind != "" {
		d.errf(join(path, "target_kind"), "InvalidParameterCombination", "target_kind names the kind of a target that no longer exists, but %s is a %s; valid: no target_kind", id, ref.kind)
		return false
	}
	differ := func(what string) bool {
		d.errf(field, "InvalidParameterValue", "route table %s and %s %s belong to different networks; valid: a target of %s (%s)", rt.ID, what, id, v.ID, choices(d.targetsOf(t, v.ID)))
		return false
	}
	usable := true
	switch ref.kind {
	case kindIGW:
		r.Target = RouteTarget{Kind: TargetIGW, ID: id}
		switch ref.vpc {
		case v.ID:
		case "":
			usable = false
			if aux.state != "blackhole" {
				d.errf(field, "Gateway.NotAttached", "internet gateway %s is not attached to any VPC; valid: attach it (internet_gateways[].vpc: %s), or state: blackhole for a route left behind by a detachment (RT-15)", id, v.ID)
				return false
			}
		default:
			return differ("network gateway")
		}
	case kindEIGW:
		r.Target = RouteTarget{Kind: TargetEIGW, ID: id}
		if ref.vpc != v.ID {
			return differ("egress-only internet gateway")
		}
		if !d.routeIPv6(t, r) {
			d.errf(field, "InvalidParameterValue", "an egress-only internet gateway carries IPv6 only (EIP-13); valid: an IPv6 destination for %s", id)
			return false
		}
	case kindNAT:
		r.Target = RouteTarget{Kind: TargetNAT, ID: id}
		if ref.vpc != v.ID {
			return differ("NAT gateway")
		}
		if d.routeIPv6(t, r) && r.Dest != nat64Prefix {
			d.errf(field, "InvalidParameterValue", "a NAT gateway translates IPv4 (and NAT64's %s); valid: an IPv4 destination for %s", nat64Prefix, id)
			return false
		}
	case kindENI:
		r.Target = RouteTarget{Kind: TargetENI, ID: id}
		if g := t.NATGatewayByENI(id); g != nil {
			d.errf(field, "InvalidParameterValue", "%s is NAT gateway %s's network interface; valid: target: %s", id, g.ID, g.ID)
			return false
		}
		if ref.vpc != v.ID {
			return differ("interface")
		}
	case kindInstance:
		r.Target = RouteTarget{Kind: TargetInstance, ID: id}
		if ref.vpc != v.ID {
			return differ("instance")
		}
		if in := t.Instance(id); in != nil && len(in.Secondary) > 0 {
			d.errf(field, "InvalidInstanceID", "There are multiple interfaces attached to instance '%s'; valid: target one of its network interfaces (%s)", id, in.ENI.ID)
			return false
		}
	case kindPeering:
		r.Target = RouteTarget{Kind: TargetPeering, ID: id}
		pc := t.Peering(id)
		if pc == nil || pc.Peer(v.ID) == "" {
			sides := ""
			if pc != nil {
				sides = fmt.Sprintf(" joins %s and %s, not", pc.Requester, pc.Accepter)
			} else {
				sides = " does not join"
			}
			d.errf(field, "InvalidParameterValue", "peering connection %s%s %s; valid: a peering connection of %s (%s)", id, sides, v.ID, v.ID, choices(d.targetsOf(t, v.ID)))
			return false
		}
		// RT-15: a route to a peering that is not active (yet) stays a blackhole.
		usable = pc.Active()
	case kindEndpoint:
		d.errf(field, "InvalidParameterValue", "routes to gateway endpoint %s come from the endpoint (VPCE-2); valid: list %s in vpc_endpoints[].route_tables", id, rt.ID)
		return false
	default:
		d.errf(field, "InvalidParameterValue", "%s is a %s, not a route target; valid: local or a target of %s (%s)", id, ref.kind, v.ID, choices(d.targetsOf(t, v.ID)))
		return false
	}
	if aux.state == "blackhole" && usable {
		d.errf(join(path, "state"), "InvalidParameterValue", "%s exists and is usable, so the route is active; valid: no state (blackhole is for a route whose target is gone or unusable, RT-15)", id)
		return false
	}
	if aux.state == "active" && !usable {
		d.errf(join(path, "state"), "InvalidParameterValue", "%s cannot carry traffic now, so the route is a blackhole (RT-15); valid: state: blackhole, or no state", id)
		return false
	}
	r.Blackhole = !usable
	return d.checkLocalTarget(r, local, field) && d.checkRT6(t, v, r, local, field)
}

// checkLocalTarget enforces RT-5: a local route's target can only be
// replaced by a network interface or a NAT gateway.
func (d *decoder) checkLocalTarget(r *Route, local bool, field string) bool {
	if !local {
		return true
	}
	switch r.Target.Kind {
	case TargetENI, TargetInstance, TargetNAT:
		return true
	}
	d.errf(field, "InvalidParameterValue", "the local route of %s can point at local, a network interface or a NAT gateway only (RT-5); valid: one of those", r.Dest)
	return false
}

// checkRT6 refuses routes more specific than a local route unless they are
// for the whole CIDR of one subnet of the VPC through a NAT gateway or
// network interface (RT-6).
func (d *decoder) checkRT6(t *Topology, v *VPC, r *Route, local bool, field string) bool {
	if local || r.DestPrefixList != "" {
		return true
	}
	var block netip.Prefix
	for _, c := range v.CIDRs() {
		if contains(c, r.Dest) {
			block = c
		}
	}
	if !block.IsValid() {
		return true
	}
	subnet := ""
	for _, s := range t.Subnets {
		if s.VPC == v.ID && (s.CIDR == r.Dest || s.IPv6CIDR == r.Dest) {
			subnet = s.ID
		}
	}
	switch r.Target.Kind {
	case TargetENI, TargetInstance, TargetNAT:
		if subnet != "" {
			return true
		}
	}
	d.errf(strings.TrimSuffix(field, ".target")+".destination", "InvalidParameterValue", "%s is inside %s's block %s; valid: a destination outside the VPC's blocks, or the whole CIDR of one of its subnets with a NAT gateway or network interface target (RT-6)", r.Dest, v.ID, block)
	return false
}

// routeIPv6 reports whether a route's destination is IPv6 (a prefix list by its entries).
func (d *decoder) routeIPv6(t *Topology, r *Route) bool {
	if r.DestPrefixList != "" {
		pl := t.PrefixList(r.DestPrefixList)
		return pl != nil && len(pl.CIDRs) > 0 && pl.CIDRs[0].Addr().Is6()
	}
	return r.Dest.Addr().Is6()
}

// targetsOf lists what a route of the VPC may point at, for messages.
func (d *decoder) targetsOf(t *Topology, vpc string) map[string]bool {
	set := map[string]bool{}
	for id, r := range d.ids {
		switch r.kind {
		case kindIGW, kindEIGW, kindNAT, kindInstance:
			set[id] = set[id] || r.vpc == vpc
		case kindENI:
			set[id] = set[id] || (r.vpc == vpc && t.NATGatewayByENI(id) == nil)
		case kindPeering:
			if p := t.Peering(id); p != nil && p.Peer(vpc) != "" {
				set[id] = true
			}
		}
		if !set[id] {
			delete(set, id)
		}
	}
	return set
}

func kindNames() string {
	s := make([]string, len(targetKinds))
	for i, k := range targetKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

func (d *decoder) validateEndpoints(t *Topology, pls map[string]*PrefixList) {
	ids := map[string]bool{}
	for i := range t.Endpoints {
		e := &t.Endpoints[i]
		p := index("vpc_endpoints", i)
		if d.isBad(p) {
			continue
		}
		if ids[e.ID] && e.ID != "" {
			d.dupID(join(p, "id"), "VPC endpoint", e.ID)
		}
		ids[e.ID] = true
		if m := reService.FindStringSubmatch(e.Service); m == nil || m[1] != t.Region {
			continue // reported when decoded
		}
		var pl *PrefixList
		for _, x := range pls {
			if x.Name == e.Service {
				pl = x
			}
		}
		if pl == nil {
			d.errf(join(p, "service"), "InvalidServiceName", "no prefix list is named %s; valid: a prefix_lists entry {id: pl-…, name: %s, cidrs: [the service's ranges]}, inside which vpcemu emulates the service (VPCE-7)", e.Service, e.Service)
			continue
		}
		e.PrefixList = pl.ID
		listed := map[string]bool{}
		for k, id := range e.RouteTables {
			field := index(join(p, "route_tables"), k)
			if listed[id] {
				d.errf(field, "", "route table %s is listed twice; valid: each table once", id)
				continue
			}
			listed[id] = true
			if e.VPC == "" || !d.checkRef(field, id, kindRouteTable, "InvalidRouteTableID.NotFound", e.VPC,
				fmt.Sprintf("route table %s and endpoint %s belong to different networks", id, e.ID)) {
				continue
			}
			rt := t.RouteTable(id)
			if rt == nil {
				continue
			}
			r := Route{DestPrefixList: pl.ID, Target: RouteTarget{Kind: TargetEndpoint, ID: e.ID}}
			if k := slices.IndexFunc(rt.Routes, func(x Route) bool { return x.DestPrefixList == pl.ID }); k >= 0 {
				d.errf(field, "RouteAlreadyExists", "The route identified by %s already exists in %s (%s); valid: one route per prefix list and table (VPCE-2)", pl.ID, id, d.routeOwner(rt, k))
				continue
			}
			rt.Routes = append(rt.Routes, r)
			d.rtPaths[id] = append(d.rtPaths[id], field)
		}
	}
}

// routeOwner names where route k of rt came from, for messages.
func (d *decoder) routeOwner(rt *RouteTable, k int) string {
	if paths := d.rtPaths[rt.ID]; k < len(paths) && paths[k] != "" {
		return paths[k]
	}
	if x := rt.Routes[k].Target; x.Kind == TargetEndpoint {
		return "endpoint " + x.ID
	}
	return "a route"
}

// finishRoutes checks the route quotas (RT-4) and puts every table's routes
// in the model's order (SortRoutes).
func (d *decoder) finishRoutes(t *Topology, pls map[string]*PrefixList) {
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		v := t.VPC(rt.VPC)
		if v == nil || (i < d.fileRTs && d.isBad(index("route_tables", i))) {
			continue
		}
		paths := d.rtPaths[rt.ID]
		count := map[int]int{}
		propagated := map[int]int{}
		for k, r := range rt.Routes {
			if r.IsLocal(v) {
				continue
			}
			fam, w := family(r.Dest), 1
			if r.DestPrefixList != "" {
				if pl := pls[r.DestPrefixList]; pl != nil {
					w = pl.Weight()
					if len(pl.CIDRs) > 0 {
						fam = family(pl.CIDRs[0])
					}
				}
			}
			field := "route_tables"
			if k < len(paths) && paths[k] != "" {
				field = paths[k]
			}
			if r.Propagated {
				propagated[fam]++
				if propagated[fam] == maxPropagatedRoutes+1 {
					d.errf(field, "RouteLimitExceeded", "%s has more than %d propagated IPv%d routes; valid: at most %d (RT-4)", rt.ID, maxPropagatedRoutes, fam, maxPropagatedRoutes)
				}
				continue
			}
			before := count[fam]
			count[fam] += w
			if before <= t.Limits.RoutesPerTable && count[fam] > t.Limits.RoutesPerTable {
				d.errf(field, "RouteLimitExceeded", "%s has more than %d IPv%d routes (a prefix list counts its max_entries, AWS's own lists 1); valid: at most %d per table and address family (RT-4), or raise limits.routes_per_table",
					rt.ID, t.Limits.RoutesPerTable, fam, t.Limits.RoutesPerTable)
			}
		}
		SortRoutes(rt.Routes)
	}
}

// RefreshRouteStates recomputes every route's Blackhole flag from its
// target (RT-15): a route is a blackhole when it has no target, its target
// is gone, an internet gateway is not attached to the table's VPC, or a
// peering connection is not active. Code that edits a topology (deleting a
// NAT gateway, detaching a gateway, accepting a peering) calls it so that
// the model stays what Parse would make of its export.
func (t *Topology) RefreshRouteStates() {
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		for j := range rt.Routes {
			r := &rt.Routes[j]
			r.Blackhole = !t.routeUsable(rt, r)
		}
	}
}

func (t *Topology) routeUsable(rt *RouteTable, r *Route) bool {
	x := r.Target
	switch x.Kind {
	case TargetNone:
		return false
	case TargetLocal:
		return true
	case TargetIGW:
		g := t.InternetGateway(x.ID)
		return g != nil && g.VPC == rt.VPC
	case TargetEIGW:
		return t.EgressOnlyGateway(x.ID) != nil
	case TargetNAT:
		return t.NATGateway(x.ID) != nil
	case TargetENI:
		e, _ := t.ENI(x.ID)
		return e != nil
	case TargetInstance:
		return t.Instance(x.ID) != nil
	case TargetPeering:
		p := t.Peering(x.ID)
		return p != nil && p.Active()
	case TargetEndpoint:
		return t.Endpoint(x.ID) != nil
	}
	return false
}
