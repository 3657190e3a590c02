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

func (c *checker) validatePeerings() {
	t := c.t
	ids := fresh(&c.s.set)
	pairs := fresh(&c.s.pairs)
	for i := range t.Peerings {
		p := &t.Peerings[i]
		path := rootIndex("peering_connections", i)
		if c.isBad(path) {
			continue
		}
		if p.ID != "" {
			if ids[p.ID] {
				c.dupID(path.key("id"), "peering connection", p.ID)
			}
			ids[p.ID] = true
		}
		if p.Requester == "" || p.Accepter == "" {
			continue
		}
		if p.Requester == p.Accepter {
			c.errf(path.key("accepter_vpc"), "InvalidParameterValue", "a peering connection joins two VPCs but both sides are %s; valid: another VPC (%s)", p.Requester, choices(c.vpcSetExcept(p.Requester)))
			continue
		}
		if !livePeering(p.State) {
			continue
		}
		key := vpcPair(p.Requester, p.Accepter)
		if first, dup := pairs[key]; dup {
			c.errf(path.key("accepter_vpc"), "VpcPeeringConnectionAlreadyExists", "%s and %s are already peered by %s; valid: one peering connection per VPC pair (PCX-2)", p.Requester, p.Accepter, first)
			continue
		}
		pairs[key] = p.ID
		a, b := t.VPC(p.Requester), t.VPC(p.Accepter)
		if x, y, bad := overlapping(a, b); bad {
			// PCX-2 [INTERP code]: AWS moves such a request to failed.
			c.errf(path.key("accepter_vpc"), "InvalidParameterValue", "%s's block %s overlaps %s's block %s; valid: VPCs none of whose IPv4 (or IPv6) blocks overlap, or state: failed, where AWS leaves such a request (PCX-2)",
				a.ID, x, b.ID, y)
			continue
		}
		if p.Active() {
			c.peered[key] = true
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

func (c *checker) vpcSetExcept(id string) map[string]bool {
	set := c.vpcSet()
	delete(set, id)
	return set
}

func (c *checker) validateGateways() {
	t := c.t
	ids := fresh(&c.s.set)
	attached := fresh(&c.s.attached)
	for i := range t.InternetGateways {
		g := &t.InternetGateways[i]
		p := rootIndex("internet_gateways", i)
		if c.isBad(p) {
			continue
		}
		if ids[g.ID] && g.ID != "" {
			c.dupID(p.key("id"), "internet gateway", g.ID)
		}
		ids[g.ID] = true
		if g.VPC == "" {
			continue
		}
		if first, dup := attached[g.VPC]; dup {
			c.errf(p.key("vpc"), "Resource.AlreadyAssociated", "%s already has internet gateway %s; valid: one internet gateway per VPC (EIP-1), or leave this one detached (no vpc)", g.VPC, first)
			continue
		}
		attached[g.VPC] = g.ID
	}
	clear(ids)
	clear(attached)
	for i := range t.EgressOnlyGateways {
		g := &t.EgressOnlyGateways[i]
		p := rootIndex("egress_only_internet_gateways", i)
		if c.isBad(p) {
			continue
		}
		if ids[g.ID] && g.ID != "" {
			c.dupID(p.key("id"), "egress-only internet gateway", g.ID)
		}
		ids[g.ID] = true
		if g.VPC == "" {
			continue
		}
		if first, dup := attached[g.VPC]; dup {
			// EIP-13: one per VPC [INTERP code].
			c.errf(p.key("vpc"), "Resource.AlreadyAssociated", "%s already has egress-only internet gateway %s; valid: one per VPC (EIP-13)", g.VPC, first)
			continue
		}
		attached[g.VPC] = g.ID
	}
}

// hasIGW reports whether the VPC has an internet gateway attached, the one
// `public: true` gives it included.
func (c *checker) hasIGW(vpc string) bool {
	t := c.t
	for i := range t.InternetGateways {
		if g := &t.InternetGateways[i]; g.VPC == vpc && vpc != "" && !c.isBad(rootIndex("internet_gateways", i)) {
			return true
		}
	}
	for id := range c.implicit {
		if r, _ := c.lookup(id); r.kind == kindIGW && r.vpc == vpc {
			return true
		}
	}
	return false
}

func (c *checker) validateNATs() {
	t := c.t
	ids := fresh(&c.s.set)
	perAZ := fresh(&c.s.perAZ)
	c.eipUser = fresh(&c.s.eipUser)
	var free []int
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		p := rootIndex("nat_gateways", i)
		if c.isBad(p) {
			continue
		}
		if ids[g.ID] && g.ID != "" {
			c.dupID(p.key("id"), "NAT gateway", g.ID)
		}
		ids[g.ID] = true
		s := c.goodSubnet(g.Subnet)
		if s == nil {
			if g.Subnet != "" {
				c.errf(p.key("subnet"), "InvalidSubnetID.NotFound", "unknown subnet %q; valid: %s", g.Subnet, choices(c.idsOf(kindSubnet, "")))
			}
			continue
		}
		if g.PrivateIP.IsValid() {
			c.checkHostAddr(p.key("private_ip"), g.PrivateIP, s.ID, s.CIDR)
			c.useAddr(g.PrivateIP, p.key("private_ip"), "InvalidIPAddress.InUse")
		} else {
			free = append(free, i)
		}
		switch {
		case g.Private && g.ElasticIP != "":
			c.errf(p.key("elastic_ip"), "InvalidParameterCombination", "a private NAT gateway has no Elastic IP (NGW-1); valid: remove elastic_ip, or connectivity: public")
		case !g.Private && g.ElasticIP == "":
			c.errf(p.key("elastic_ip"), "MissingParameter", "a public NAT gateway needs an Elastic IP (NGW-1); valid: elastic_ip: an id of elastic_ips (%s), or connectivity: private", choices(c.idsOf(kindEIP, "")))
		case g.ElasticIP != "":
			if r, ok := c.lookup(g.ElasticIP); !ok || r.kind != kindEIP {
				c.errf(p.key("elastic_ip"), "InvalidAllocationID.NotFound", "unknown Elastic IP %q; valid: %s", g.ElasticIP, choices(c.idsOf(kindEIP, "")))
			} else if first, dup := c.eipUser[g.ElasticIP]; dup {
				c.errf(p.key("elastic_ip"), "Resource.AlreadyAssociated", "Elastic IP %s is already the address of %s; valid: an Elastic IP of its own (EIP-10)", g.ElasticIP, rootIndex("nat_gateways", first))
			} else {
				c.eipUser[g.ElasticIP] = i
			}
			// A VPC without an internet gateway cannot hold mapped public addresses.
			if !c.hasIGW(s.VPC) {
				c.errf(p.key("elastic_ip"), "Gateway.NotAttached", "%s has no internet gateway attached; valid: attach one (internet_gateways: [{id: …, vpc: %s}]), or connectivity: private", s.VPC, s.VPC)
			}
		}
		perAZ[s.AZ]++
		if perAZ[s.AZ] == t.Limits.NATGatewaysPerAZ+1 {
			c.errf(p.key("subnet"), "NatGatewayLimitExceeded", "Performing this operation would exceed the limit of %d NAT gateways in %s; valid: at most %d per AZ (NGW-4), or raise limits.nat_gateways_per_az", t.Limits.NATGatewaysPerAZ, s.AZ, t.Limits.NATGatewaysPerAZ)
		}
	}
	// NAT gateways without private_ip get the highest free address of their
	// subnet, after every address the file names is known, so that adding
	// an instance at a low address does not move them [INTERP].
	for _, i := range free {
		g := &t.NATGateways[i]
		s := t.Subnet(g.Subnet)
		if !s.CIDR.IsValid() {
			continue // reported with the subnet
		}
		lo, hi := usableRange(s.CIDR)
		for a := hi; !a.Less(lo); a = a.Prev() {
			if _, used := c.addrs[a]; !used {
				g.PrivateIP = a
				c.addrs[a] = rootIndex("nat_gateways", i).key("private_ip")
				break
			}
		}
		if !g.PrivateIP.IsValid() {
			c.errf(rootIndex("nat_gateways", i).key("subnet"), "InsufficientFreeAddressesInSubnet", "subnet %s %s has no free address; valid: a subnet with room, or private_ip", s.ID, s.CIDR)
		}
	}
}

func (c *checker) validateEIPs() {
	t := c.t
	ids := fresh(&c.s.set)
	private := fresh(&c.s.private)
	count := 0
	for i := range t.ElasticIPs {
		e := &t.ElasticIPs[i]
		p := rootIndex("elastic_ips", i)
		if c.isBad(p) {
			continue
		}
		if ids[e.ID] && e.ID != "" {
			c.dupID(p.key("id"), "Elastic IP", e.ID)
		}
		ids[e.ID] = true
		count++
		if count == t.Limits.ElasticIPs+1 {
			c.errf(p.key("id"), "AddressLimitExceeded", "The maximum number of addresses has been reached: %d Elastic IPs; valid: at most %d per region (EIP-12), or raise limits.elastic_ips", count, t.Limits.ElasticIPs)
		}
		if v, b := c.vpcBlockOf(e.PublicIP); v != "" {
			c.errf(p.key("public_ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 203.0.113.0/24", e.PublicIP, b)
		} else {
			c.useAddr(e.PublicIP, p.key("public_ip"), "")
		}
		if n, ok := c.eipUser[e.ID]; ok {
			nat := rootIndex("nat_gateways", n)
			if e.ENI != "" {
				c.errf(p.key("network_interface"), "Resource.AlreadyAssociated", "Elastic IP %s is the address of %s; valid: no network_interface (the NAT gateway names its Elastic IP), or another Elastic IP for this ENI", e.ID, nat)
			}
			if e.PrivateIP.IsValid() {
				c.errf(p.key("private_ip"), "InvalidParameterCombination", "the NAT gateway %s decides its private IP; valid: no private_ip here (set the NAT gateway's private_ip)", nat)
			}
			continue
		}
		if e.ENI == "" {
			if e.PrivateIP.IsValid() {
				c.errf(p.key("private_ip"), "InvalidParameterCombination", "an unassociated Elastic IP has no private IP; valid: network_interface with private_ip, or neither")
			}
			continue
		}
		eni := c.eipENI(e.ENI, p.key("network_interface"))
		if eni == nil {
			e.PrivateIP = netip.Addr{}
			continue
		}
		e.ENI = eni.ID
		if !e.PrivateIP.IsValid() {
			e.PrivateIP = eni.PrivateIP
		} else if e.PrivateIP != eni.PrivateIP && !slices.Contains(eni.SecondaryIPs, e.PrivateIP) {
			c.errf(p.key("private_ip"), "InvalidParameterValue", "%s is not a private IPv4 of %s; valid: %s (EIP-10)", e.PrivateIP, eni.ID, addrList(eni.PrivateIPs()))
			continue
		}
		if first, dup := private[e.PrivateIP]; dup {
			c.errf(p.key("network_interface"), "Resource.AlreadyAssociated", "%s of %s already has Elastic IP %s; valid: one Elastic IP per private IPv4 (EIP-10)", e.PrivateIP, eni.ID, first)
			continue
		}
		private[e.PrivateIP] = e.ID
		if e.PrivateIP == eni.PrivateIP && eni.PublicIP.IsValid() {
			// EIP-9: associating an EIP releases the auto-assigned address.
			c.errf(p.key("network_interface"), "InvalidParameterCombination", "%s's primary IP already has the auto-assigned public IP %s, which AWS releases when an Elastic IP is associated (EIP-9); valid: remove the instance's public_ip, or private_ip: a secondary IP", eni.ID, eni.PublicIP)
		}
		if vpc := t.VPCOfSubnetID(eni.Subnet); vpc != "" && !c.hasIGW(vpc) {
			c.errf(p.key("network_interface"), "Gateway.NotAttached", "%s has no internet gateway attached; valid: attach one (internet_gateways: [{id: …, vpc: %s}]) before associating Elastic IPs", vpc, vpc)
		}
	}
	// A NAT gateway's Elastic IP maps its private IP (NGW-5).
	for i := range t.NATGateways {
		g := &t.NATGateways[i]
		if e := t.ElasticIP(g.ElasticIP); e != nil && e.ENI == "" && !g.Private {
			if n, ok := c.eipUser[e.ID]; ok && n == i {
				e.ENI, e.PrivateIP = g.ENI, g.PrivateIP
			}
		}
	}
}

// eipENI resolves an Elastic IP's network_interface: an instance ENI id, or
// an instance id meaning its primary ENI (EIP-10).
func (c *checker) eipENI(id string, f fpath) *ENI {
	t := c.t
	r, ok := c.lookup(id)
	switch {
	case ok && r.kind == kindInstance:
		if in := t.Instance(id); in != nil {
			return &in.ENI
		}
	case ok && r.kind == kindENI && t.NATGatewayByENI(id) != nil:
		c.errf(f, "InvalidParameterValue", "%s is NAT gateway %s's network interface; valid: nat_gateways[].elastic_ip names a NAT gateway's Elastic IP", id, r.owner)
		return nil
	case ok && r.kind == kindENI:
		if e, _ := t.ENI(id); e != nil {
			return e
		}
	}
	set := c.idsOf(kindInstance, "")
	for x := range c.idsOf(kindENI, "") {
		if t.NATGatewayByENI(x) == nil {
			set[x] = true
		}
	}
	code := "InvalidNetworkInterfaceID.NotFound"
	if strings.HasPrefix(id, "i-") {
		code = "InvalidInstanceID.NotFound"
	}
	c.errf(f, code, "unknown network interface or instance %q; valid: %s", id, choices(set))
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

// routeDest is routeKey as a map key.
type routeDest struct {
	pl   string
	dest netip.Prefix
}

func destOf(r *Route) routeDest { return routeDest{r.DestPrefixList, r.Dest} }

// modelAux is what the export writes of a route's target: its id (or
// local); for a target that is gone its kind, and blackhole when the route
// says so (RefreshRouteStates, after the target was deleted): a route to
// an id that is no object is otherwise refused, as in a file. The state of
// a route whose target exists is what the target makes it (a detached
// internet gateway, a peering not active: RT-15), whatever Blackhole says.
func (c *checker) modelAux(r *Route) routeAux {
	a := routeAux{target: r.Target.ID, state: routeStateAuto}
	switch _, found := c.ids[a.target]; {
	case r.Target.Kind == TargetLocal:
		a.target = "local"
	case r.Target.Kind == TargetNone:
		a.state = "" // written without a state
	case !found:
		a.targetKind, a.state = r.Target.Kind, ""
		if r.Blackhole {
			a.state = "blackhole"
		}
	}
	return a
}

// validateRoutes builds every table's routes: the local routes (RT-5), the
// topology's routes with their targets resolved, or for the implicit
// public table the sugar's routes. A model's local and endpoint routes
// are dropped first, as the export drops them: they are derived anew.
func (c *checker) validateRoutes() {
	t := c.t
	c.rtPaths = fresh(&c.s.rtPaths)
	ids := fresh(&c.s.set)
	tables := fresh(&c.s.perAZ)
	seen := fresh(&c.s.dests)
	replaced := fresh(&c.s.replaced)
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		v := t.VPC(rt.VPC)
		p := rootIndex("route_tables", i)
		if i < c.fileRTs && c.isBad(p) {
			continue
		}
		if i < c.fileRTs && rt.ID != "" {
			if ids[rt.ID] {
				c.dupID(p.key("id"), "route table", rt.ID)
			}
			ids[rt.ID] = true
		}
		if v == nil {
			if i < c.fileRTs {
				for j := range rt.Routes {
					if rp := p.index("routes", j); !c.isBad(rp) {
						c.checkRouteFields(rp, &rt.Routes[j])
					}
				}
			}
			continue
		}
		tables[v.ID]++
		if tables[v.ID] == maxRouteTablesPerVPC+1 {
			c.errf(p.key("id"), "RouteTableLimitExceeded", "%s has more than %d route tables (its main table included); valid: at most %d per VPC (RT-4)", v.ID, maxRouteTablesPerVPC, maxRouteTablesPerVPC)
		}
		if i >= c.fileRTs {
			routes := LocalRoutes(v)
			if !rt.Main {
				routes = t.PublicRoutes(v)
			}
			rt.Routes = routes
			c.rtPaths[rt.ID] = c.pathsFor(len(routes), len(routes))
			continue
		}
		file := rt.Routes
		routes := appendLocalRoutes(make([]Route, 0, 2+len(v.SecondaryCIDRs)+len(file)), v)
		nLocal := len(routes)
		paths := c.pathsFor(len(routes), cap(routes))
		clear(seen)
		clear(replaced)
		for k := range routes {
			seen[destOf(&routes[k])] = k
		}
		j := -1 // the route's index in the file, or where the export writes it
		for k := range file {
			r := file[k]
			var aux routeAux
			if c.d != nil {
				aux = c.d.routeAux[[2]int{i, k}]
			} else {
				if r.Target.Kind == TargetEndpoint || r.Target.Kind == TargetLocal && r.IsLocal(v) {
					continue
				}
				aux = c.modelAux(&r)
			}
			j++
			rp := p.index("routes", j)
			if c.isBad(rp) {
				continue
			}
			if !c.checkRouteFields(rp, &r) {
				c.mark(rp)
				continue
			}
			if !c.checkRoute(rt, v, &r, rp, aux) {
				continue
			}
			key := destOf(&r)
			k, dup := seen[key]
			switch {
			case dup && k < nLocal && !replaced[key]:
				// RT-5: the file may give a local route another target.
				replaced[key] = true
				routes[k], paths[k] = r, rp
			case dup:
				first := "the local route"
				if !paths[k].empty() {
					first = strings.TrimPrefix(paths[k].String(), p.String()+".")
				}
				c.errf(rp, "RouteAlreadyExists", "The route identified by %s already exists (%s); valid: one route per destination (RT-12)", routeKey(r), first)
			default:
				seen[key] = len(routes)
				routes = append(routes, r)
				paths = append(paths, rp)
			}
		}
		rt.Routes = routes
		c.rtPaths[rt.ID] = slices.Clip(paths)
	}
}

// checkRouteFields checks a route's destination: exactly one of a CIDR
// (its host bits cleared, RT-12) and a prefix list.
func (c *checker) checkRouteFields(rp fpath, r *Route) bool {
	c.values = true
	defer func() { c.values = false }()
	hasDest, hasPL := c.given(&rp, "destination", r.Dest.IsValid()), c.given(&rp, "destination_prefix_list", r.DestPrefixList != "")
	ok := true
	switch {
	case hasDest && hasPL:
		c.errf(rp.key("destination_prefix_list"), "InvalidParameterCombination", "a route has one destination but this one also has destination; valid: exactly one of destination, destination_prefix_list")
		ok = false
	case hasDest:
		r.Dest = c.prefixIn(&rp, "destination", r.Dest, familyOf(r.Dest), true, true)
		ok = r.Dest.IsValid()
	case hasPL:
	default:
		c.errf(rp, "MissingParameter", "a route needs a destination; valid: exactly one of destination (an IPv4 or IPv6 CIDR), destination_prefix_list")
		ok = false
	}
	return ok && !c.failed(&rp, "target_kind") && !c.failed(&rp, "state")
}

// checkRoute validates one route against its table and VPC and resolves
// its target; it reports whether the route is good.
func (c *checker) checkRoute(rt *RouteTable, v *VPC, r *Route, rp fpath, aux routeAux) bool {
	t := c.t
	local := false
	auto := aux.state == routeStateAuto
	if r.DestPrefixList != "" {
		if _, ok := c.pls[r.DestPrefixList]; !ok {
			c.errf(rp.key("destination_prefix_list"), "InvalidPrefixListID.NotFound", "unknown prefix list %q; valid: %s", r.DestPrefixList, choices(c.plIDs()))
			return false
		}
	} else {
		for _, res := range reservedRouteDests {
			if contains(res, r.Dest) {
				c.errf(rp.key("destination"), "InvalidParameterValue", "%s is inside %s, which AWS reserves for its services (RT-7); valid: a destination outside it", r.Dest, res)
				return false
			}
		}
		local = r.IsLocal(v)
	}
	f := rp.key("target")
	// Resolve the target.
	switch {
	case aux.target == "":
		if local {
			c.errf(f, "MissingParameter", "the local route of %s has a target; valid: local, a network interface or a NAT gateway (RT-5)", r.Dest)
			return false
		}
		if aux.state == "active" {
			c.errf(rp.key("state"), "InvalidParameterValue", "a route without a target is a blackhole; valid: a target, or no state")
			return false
		}
		r.Target, r.Blackhole = RouteTarget{}, true
		return true
	case aux.target == "local":
		if !local {
			c.errf(f, "InvalidParameterValue", "local is the target of %s's own blocks only (%s; RT-5); valid: another target for %s", v.ID, prefixes(v.CIDRs()), routeKey(*r))
			return false
		}
		if aux.state == "blackhole" || aux.targetKind != "" {
			c.errf(rp.key("state"), "InvalidParameterValue", "a local route is always active; valid: no state, no target_kind")
			return false
		}
		r.Target, r.Blackhole = RouteTarget{Kind: TargetLocal}, false
		return true
	}
	id := aux.target
	ref, found := c.lookup(id)
	if !found {
		kind := aux.targetKind
		if kind == "" {
			kind = targetKindOf(id)
		}
		if aux.state != "blackhole" && !auto {
			c.errf(f, notFoundCode(kind), "unknown target %q; valid: local or a target of %s (%s), or state: blackhole to keep a route whose target is gone (RT-15)", id, v.ID, choices(c.targetsOf(v.ID)))
			return false
		}
		if kind == TargetNone {
			c.errf(f, "InvalidParameterValue", "the kind of the missing target %q is not known from its id; valid: target_kind: one of %s", id, kindNames())
			return false
		}
		r.Target, r.Blackhole = RouteTarget{Kind: kind, ID: id}, true
		return c.checkLocalTarget(r, local, f) && c.checkRT6(v, r, local, rp)
	}
	if aux.targetKind != "" {
		c.errf(rp.key("target_kind"), "InvalidParameterCombination", "target_kind names the kind of a target that no longer exists, but %s is a %s; valid: no target_kind", id, ref.kind)
		return false
	}
	differ := func(what string) bool {
		c.errf(f, "InvalidParameterValue", "route table %s and %s %s belong to different networks; valid: a target of %s (%s)", rt.ID, what, id, v.ID, choices(c.targetsOf(v.ID)))
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
			if aux.state != "blackhole" && !auto {
				c.errf(f, "Gateway.NotAttached", "internet gateway %s is not attached to any VPC; valid: attach it (internet_gateways[].vpc: %s), or state: blackhole for a route left behind by a detachment (RT-15)", id, v.ID)
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
		if !c.routeIPv6(r) {
			c.errf(f, "InvalidParameterValue", "an egress-only internet gateway carries IPv6 only (EIP-13); valid: an IPv6 destination for %s", id)
			return false
		}
	case kindNAT:
		r.Target = RouteTarget{Kind: TargetNAT, ID: id}
		if ref.vpc != v.ID {
			return differ("NAT gateway")
		}
		if c.routeIPv6(r) && r.Dest != nat64Prefix {
			c.errf(f, "InvalidParameterValue", "a NAT gateway translates IPv4 (and NAT64's %s); valid: an IPv4 destination for %s", nat64Prefix, id)
			return false
		}
	case kindENI:
		r.Target = RouteTarget{Kind: TargetENI, ID: id}
		if g := t.NATGatewayByENI(id); g != nil {
			c.errf(f, "InvalidParameterValue", "%s is NAT gateway %s's network interface; valid: target: %s", id, g.ID, g.ID)
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
			c.errf(f, "InvalidInstanceID", "There are multiple interfaces attached to instance '%s'; valid: target one of its network interfaces (%s)", id, in.ENI.ID)
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
			c.errf(f, "InvalidParameterValue", "peering connection %s%s %s; valid: a peering connection of %s (%s)", id, sides, v.ID, v.ID, choices(c.targetsOf(v.ID)))
			return false
		}
		// RT-15: a route to a peering that is not active (yet) stays a blackhole.
		usable = pc.Active()
	case kindEndpoint:
		c.errf(f, "InvalidParameterValue", "routes to gateway endpoint %s come from the endpoint (VPCE-2); valid: list %s in vpc_endpoints[].route_tables", id, rt.ID)
		return false
	default:
		c.errf(f, "InvalidParameterValue", "%s is a %s, not a route target; valid: local or a target of %s (%s)", id, ref.kind, v.ID, choices(c.targetsOf(v.ID)))
		return false
	}
	if aux.state == "blackhole" && usable {
		c.errf(rp.key("state"), "InvalidParameterValue", "%s exists and is usable, so the route is active; valid: no state (blackhole is for a route whose target is gone or unusable, RT-15)", id)
		return false
	}
	if aux.state == "active" && !usable {
		c.errf(rp.key("state"), "InvalidParameterValue", "%s cannot carry traffic now, so the route is a blackhole (RT-15); valid: state: blackhole, or no state", id)
		return false
	}
	r.Blackhole = !usable
	return c.checkLocalTarget(r, local, f) && c.checkRT6(v, r, local, rp)
}

// checkLocalTarget enforces RT-5: a local route's target can only be
// replaced by a network interface or a NAT gateway.
func (c *checker) checkLocalTarget(r *Route, local bool, f fpath) bool {
	if !local {
		return true
	}
	switch r.Target.Kind {
	case TargetENI, TargetInstance, TargetNAT:
		return true
	}
	c.errf(f, "InvalidParameterValue", "the local route of %s can point at local, a network interface or a NAT gateway only (RT-5); valid: one of those", r.Dest)
	return false
}

// checkRT6 refuses routes more specific than a local route unless they are
// for the whole CIDR of one subnet of the VPC through a NAT gateway or
// network interface (RT-6).
func (c *checker) checkRT6(v *VPC, r *Route, local bool, rp fpath) bool {
	if local || r.DestPrefixList != "" {
		return true
	}
	var block netip.Prefix
	for _, b := range v.CIDRs() {
		if contains(b, r.Dest) {
			block = b
		}
	}
	if !block.IsValid() {
		return true
	}
	subnet := ""
	for _, s := range c.t.Subnets {
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
	c.errf(rp.key("destination"), "InvalidParameterValue", "%s is inside %s's block %s; valid: a destination outside the VPC's blocks, or the whole CIDR of one of its subnets with a NAT gateway or network interface target (RT-6)", r.Dest, v.ID, block)
	return false
}

// routeIPv6 reports whether a route's destination is IPv6 (a prefix list by its entries).
func (c *checker) routeIPv6(r *Route) bool {
	if r.DestPrefixList != "" {
		pl := c.t.PrefixList(r.DestPrefixList)
		return pl != nil && len(pl.CIDRs) > 0 && pl.CIDRs[0].Addr().Is6()
	}
	return r.Dest.Addr().Is6()
}

// targetsOf lists what a route of the VPC may point at, for messages.
func (c *checker) targetsOf(vpc string) map[string]bool {
	t := c.t
	set := map[string]bool{}
	for id, k := range c.ids {
		switch r := &c.refs[k]; r.kind {
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

// pathsFor is a slice of n empty paths with room for capacity, cut from
// one buffer the checker keeps.
func (c *checker) pathsFor(n, capacity int) []fpath {
	s := &c.s
	start := len(s.paths)
	s.paths = slices.Grow(s.paths, capacity)[:start+capacity]
	clear(s.paths[start:])
	return s.paths[start : start+n : start+capacity]
}

func (c *checker) validateEndpoints() {
	t := c.t
	ids := fresh(&c.s.set)
	for i := range t.Endpoints {
		e := &t.Endpoints[i]
		p := rootIndex("vpc_endpoints", i)
		if c.isBad(p) {
			continue
		}
		if ids[e.ID] && e.ID != "" {
			c.dupID(p.key("id"), "VPC endpoint", e.ID)
		}
		ids[e.ID] = true
		if m := reService.FindStringSubmatch(e.Service); m == nil || m[1] != t.Region {
			continue // reported with its fields
		}
		var pl *PrefixList
		for _, x := range c.pls {
			if x.Name == e.Service {
				pl = x
			}
		}
		if pl == nil {
			c.errf(p.key("service"), "InvalidServiceName", "no prefix list is named %s; valid: a prefix_lists entry {id: pl-…, name: %s, cidrs: [the service's ranges]}, inside which vpcemu emulates the service (VPCE-7)", e.Service, e.Service)
			continue
		}
		e.PrefixList = pl.ID
		for k, id := range e.RouteTables {
			f := p.index("route_tables", k)
			if slices.Contains(e.RouteTables[:k], id) {
				c.errf(f, "", "route table %s is listed twice; valid: each table once", id)
				continue
			}
			if e.VPC == "" || !c.checkRef(f, id, kindRouteTable, "InvalidRouteTableID.NotFound", e.VPC,
				func() string {
					return fmt.Sprintf("route table %s and endpoint %s belong to different networks", id, e.ID)
				}) {
				continue
			}
			rt := t.RouteTable(id)
			if rt == nil {
				continue
			}
			r := Route{DestPrefixList: pl.ID, Target: RouteTarget{Kind: TargetEndpoint, ID: e.ID}}
			if k := slices.IndexFunc(rt.Routes, func(x Route) bool { return x.DestPrefixList == pl.ID }); k >= 0 {
				c.errf(f, "RouteAlreadyExists", "The route identified by %s already exists in %s (%s); valid: one route per prefix list and table (VPCE-2)", pl.ID, id, c.routeOwner(rt, k))
				continue
			}
			rt.Routes = append(rt.Routes, r)
			c.rtPaths[id] = append(c.rtPaths[id], f)
		}
	}
}

// routeOwner names where route k of rt came from, for messages.
func (c *checker) routeOwner(rt *RouteTable, k int) string {
	if paths := c.rtPaths[rt.ID]; k < len(paths) && !paths[k].empty() {
		return paths[k].String()
	}
	if x := rt.Routes[k].Target; x.Kind == TargetEndpoint {
		return "endpoint " + x.ID
	}
	return "a route"
}

// finishRoutes checks the route quotas (RT-4) and puts every table's routes
// in the model's order (SortRoutes).
func (c *checker) finishRoutes() {
	t := c.t
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		v := t.VPC(rt.VPC)
		if v == nil || (i < c.fileRTs && c.isBad(rootIndex("route_tables", i))) {
			continue
		}
		paths := c.rtPaths[rt.ID]
		var count, propagated [7]int // by address family
		for k := range rt.Routes {
			r := &rt.Routes[k]
			if r.IsLocal(v) {
				continue
			}
			fam, w := family(r.Dest), 1
			if r.DestPrefixList != "" {
				if pl := c.pls[r.DestPrefixList]; pl != nil {
					w = pl.Weight()
					if len(pl.CIDRs) > 0 {
						fam = family(pl.CIDRs[0])
					}
				}
			}
			f := root("route_tables")
			if k < len(paths) && !paths[k].empty() {
				f = paths[k]
			}
			if r.Propagated {
				propagated[fam]++
				if propagated[fam] == maxPropagatedRoutes+1 {
					c.errf(f, "RouteLimitExceeded", "%s has more than %d propagated IPv%d routes; valid: at most %d (RT-4)", rt.ID, maxPropagatedRoutes, fam, maxPropagatedRoutes)
				}
				continue
			}
			before := count[fam]
			count[fam] += w
			if before <= t.Limits.RoutesPerTable && count[fam] > t.Limits.RoutesPerTable {
				c.errf(f, "RouteLimitExceeded", "%s has more than %d IPv%d routes (a prefix list counts its max_entries, AWS's own lists 1); valid: at most %d per table and address family (RT-4), or raise limits.routes_per_table",
					rt.ID, t.Limits.RoutesPerTable, fam, t.Limits.RoutesPerTable)
			}
		}
		if !slices.IsSortedFunc(rt.Routes, compareRoutes) {
			SortRoutes(rt.Routes)
		}
	}
}

// RefreshRouteStates recomputes every route's Blackhole flag from its
// target (RouteUsable). Code that edits a topology (deleting a NAT gateway,
// detaching a gateway, accepting a peering) calls it so that the model
// stays what Parse would make of its export.
func (t *Topology) RefreshRouteStates() {
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		for j := range rt.Routes {
			r := &rt.Routes[j]
			r.Blackhole = !t.RouteUsable(rt, r)
		}
	}
}

// RouteUsable reports whether the target of route r of table rt exists,
// works and belongs with the table's VPC (RT-15). A route is a blackhole
// when it has no target, its target is gone, an internet or egress-only
// gateway is not attached to the table's VPC, a NAT gateway, network
// interface, instance or gateway endpoint is another VPC's, or a peering
// connection does not join the table's VPC or is not active. It looks at
// the target only, not at r.Blackhole.
func (t *Topology) RouteUsable(rt *RouteTable, r *Route) bool {
	x := r.Target
	switch x.Kind {
	case TargetNone:
		return false
	case TargetLocal:
		return true
	}
	if x.ID == "" || t.VPC(rt.VPC) == nil {
		return false
	}
	switch x.Kind {
	case TargetIGW:
		g := t.InternetGateway(x.ID)
		return g != nil && g.VPC == rt.VPC
	case TargetEIGW:
		g := t.EgressOnlyGateway(x.ID)
		return g != nil && g.VPC == rt.VPC
	case TargetNAT:
		g := t.NATGateway(x.ID)
		return g != nil && t.VPCOfSubnetID(g.Subnet) == rt.VPC
	case TargetENI:
		e, _ := t.ENI(x.ID)
		return e != nil && t.VPCOfSubnetID(e.Subnet) == rt.VPC
	case TargetInstance:
		in := t.Instance(x.ID)
		return in != nil && t.VPCOfSubnetID(in.ENI.Subnet) == rt.VPC
	case TargetPeering:
		p := t.Peering(x.ID)
		return p != nil && p.Active() && p.Peer(rt.VPC) != ""
	case TargetEndpoint:
		e := t.Endpoint(x.ID)
		return e != nil && e.VPC == rt.VPC
	}
	return false
}
