package vpc

import (
	"fmt"
)

// Kinds of objects in the id registry, as messages name them.
const (
	kindVPC        = "VPC"
	kindSubnet     = "subnet"
	kindSG         = "security group"
	kindNACL       = "network ACL"
	kindRouteTable = "route table"
	kindPL         = "prefix list"
	kindInstance   = "instance"
	kindENI        = "network interface"
	kindIGW        = "internet gateway"
	kindEIGW       = "egress-only internet gateway"
	kindNAT        = "NAT gateway"
	kindEIP        = "Elastic IP"
	kindPeering    = "peering connection"
	kindEndpoint   = "VPC endpoint"
	kindFlowLog    = "flow log"
)

// ref is what the registry knows of an object id.
type ref struct {
	kind  string
	vpc   string // "" for objects outside VPCs (and detached gateways)
	field string // path of the object ("" for one a VPC has without the file naming it)
	owner string // network interfaces: the instance or NAT gateway id
	what  string // for implicit objects: what the id is, for messages
}

// describe names the object holding an id, for messages.
func (d *decoder) describe(r ref) string {
	if r.field == "" {
		return r.what
	}
	line := 0
	if n := d.at(r.field); n != nil {
		line = n.Line
	}
	return fmt.Sprintf("%s %s (line %d)", r.kind, r.field, line)
}

// register records id for an object; a second object with the id is an
// error when its kind differs (ids are unique across kinds so that a
// route's target is an id alone). Same-kind duplicates are reported by the
// per-kind checks, with their own messages.
func (d *decoder) register(id string, r ref) {
	if id == "" {
		return
	}
	first, dup := d.ids[id]
	switch {
	case !dup:
		d.ids[id] = r
	case first.kind != r.kind:
		field := join(r.field, "id")
		if r.kind == kindENI {
			field = r.field // already the eni or id field
		}
		d.errf(field, "", "id %q is already the id of %s; valid: an id unique across all objects (routes name their targets by id alone)", id, d.describe(first))
	}
}

// idsOf is the set of ids of one kind (in vpc when vpc is not ""), for messages.
func (d *decoder) idsOf(kind, vpc string) map[string]bool {
	set := map[string]bool{}
	for id, r := range d.ids {
		if r.kind == kind && (vpc == "" || r.vpc == vpc) {
			set[id] = true
		}
	}
	return set
}

// mainTables settles each VPC's main route table: the file's table with
// main: true, else the id the VPC names (main_route_table) or its default
// (RT-2). Every table with a VPC's main id is marked Main.
func (d *decoder) mainTables(t *Topology) {
	for i := range t.VPCs {
		v := &t.VPCs[i]
		vp := d.vpcPaths[i]
		var first string
		for j := range t.RouteTables {
			rt := &t.RouteTables[j]
			p := index("route_tables", j)
			if d.isBad(p) || rt.VPC != v.ID || !rt.Main || v.ID == "" {
				continue
			}
			if first != "" {
				d.errf(join(p, "main"), "", "%s already has main route table %s; valid: one main table per VPC (RT-2)", v.ID, first)
				continue
			}
			first = rt.ID
			if _, named := d.pos[join(vp, "main_route_table")]; named && v.MainTable != rt.ID {
				d.errf(join(p, "main"), "InvalidParameterCombination", "%s names %s as its main route table; valid: main: true on %s only, or main_route_table: %s", v.ID, v.MainTable, v.MainTable, rt.ID)
				continue
			}
			v.MainTable = rt.ID
		}
		for j := range t.RouteTables {
			if rt := &t.RouteTables[j]; rt.ID == v.MainTable && rt.VPC == v.ID {
				rt.Main = true
			}
		}
	}
}

// registerIDs records every id of the file, then the ids of what each VPC
// has without the file naming it (default SG and NACL, main table, and for
// `public: true` the public table and an internet gateway).
func (d *decoder) registerIDs(t *Topology) {
	d.ids = map[string]ref{}
	d.implicit = map[string]bool{}
	d.peered = map[[2]string]bool{}
	for i, v := range t.VPCs {
		if !d.isBad(d.vpcPaths[i]) {
			d.register(v.ID, ref{kind: kindVPC, vpc: v.ID, field: d.vpcPaths[i]})
		}
	}
	eachGood(d, "subnets", t.Subnets, func(p string, s *Subnet) { d.register(s.ID, ref{kind: kindSubnet, vpc: s.VPC, field: p}) })
	eachGood(d, "security_groups", t.SecurityGroups, func(p string, g *SecurityGroup) {
		d.register(g.ID, ref{kind: kindSG, vpc: g.VPC, field: p})
	})
	eachGood(d, "network_acls", t.NetworkACLs, func(p string, a *NetworkACL) { d.register(a.ID, ref{kind: kindNACL, vpc: a.VPC, field: p}) })
	eachGood(d, "route_tables", t.RouteTables, func(p string, rt *RouteTable) {
		d.register(rt.ID, ref{kind: kindRouteTable, vpc: rt.VPC, field: p})
	})
	eachGood(d, "prefix_lists", t.PrefixLists, func(p string, pl *PrefixList) { d.register(pl.ID, ref{kind: kindPL, field: p}) })
	enis := map[string]string{}
	eni := func(id, field, owner, vpc string, explicit bool) {
		if first, dup := enis[id]; dup && explicit {
			d.dupAt(field, "", fmt.Sprintf("ENI id %q", id), first)
			return
		}
		enis[id] = field
		d.register(id, ref{kind: kindENI, vpc: vpc, field: field, owner: owner})
	}
	eachGood(d, "instances", t.Instances, func(p string, in *Instance) {
		vpc := t.VPCOfSubnetID(in.Subnet)
		d.register(in.ID, ref{kind: kindInstance, vpc: vpc, field: p})
		for _, e := range in.ENIs() {
			ep := d.eniPath[eniKey(p, e.DeviceIndex)]
			key := "id"
			if ep == p {
				key = "eni"
			}
			_, given := d.pos[join(ep, key)]
			eni(e.ID, join(ep, key), in.ID, vpc, given)
		}
	})
	eachGood(d, "internet_gateways", t.InternetGateways, func(p string, g *InternetGateway) {
		d.register(g.ID, ref{kind: kindIGW, vpc: g.VPC, field: p})
	})
	eachGood(d, "egress_only_internet_gateways", t.EgressOnlyGateways, func(p string, g *EgressOnlyGateway) {
		d.register(g.ID, ref{kind: kindEIGW, vpc: g.VPC, field: p})
	})
	eachGood(d, "nat_gateways", t.NATGateways, func(p string, g *NATGateway) {
		vpc := t.VPCOfSubnetID(g.Subnet)
		d.register(g.ID, ref{kind: kindNAT, vpc: vpc, field: p})
		_, given := d.pos[join(p, "eni")]
		eni(g.ENI, join(p, "eni"), g.ID, vpc, given)
	})
	eachGood(d, "elastic_ips", t.ElasticIPs, func(p string, e *ElasticIP) { d.register(e.ID, ref{kind: kindEIP, field: p}) })
	eachGood(d, "peering_connections", t.Peerings, func(p string, x *Peering) { d.register(x.ID, ref{kind: kindPeering, field: p}) })
	eachGood(d, "vpc_endpoints", t.Endpoints, func(p string, e *Endpoint) { d.register(e.ID, ref{kind: kindEndpoint, vpc: e.VPC, field: p}) })
	eachGood(d, "flow_logs", t.FlowLogs, func(p string, fl *FlowLog) { d.register(fl.ID, ref{kind: kindFlowLog, field: p}) })

	for i := range t.VPCs {
		v := &t.VPCs[i]
		if v.ID == "" || d.isBad(d.vpcPaths[i]) {
			continue
		}
		d.implicitID(v.DefaultSG, kindSG, v, "default security group", "default_security_group")
		d.implicitID(v.DefaultNACL, kindNACL, v, "default network ACL", "default_network_acl")
		d.implicitID(v.MainTable, kindRouteTable, v, "main route table", "main_route_table")
		public := false
		for j, s := range t.Subnets {
			public = public || (s.Public && s.VPC == v.ID && !d.isBad(index("subnets", j)))
		}
		if !public {
			continue
		}
		attached := false
		for j, g := range t.InternetGateways {
			attached = attached || (g.VPC == v.ID && !d.isBad(index("internet_gateways", j)))
		}
		if !attached {
			d.implicitID(DefaultID(DefaultIGWID, i, v.ID), kindIGW, v, "internet gateway", "")
		}
		d.implicitID(DefaultID(PublicRouteTableID, i, v.ID), kindRouteTable, v, "public route table", "")
	}
}

// implicitID registers id as the VPC's object of kind (what, e.g. "default
// security group") unless the file defines it; a file object with the id
// must then be of that kind and VPC. key is the VPC field that renames it.
func (d *decoder) implicitID(id, kind string, v *VPC, what, key string) {
	r, defined := d.ids[id]
	hint := "another id"
	if key != "" {
		hint += fmt.Sprintf(", or set %s on %s", key, v.ID)
	}
	switch {
	case !defined:
		d.ids[id] = ref{kind: kind, vpc: v.ID, what: fmt.Sprintf("%s's %s", v.ID, what)}
		d.implicit[id] = true
	case r.field == "":
		// Two default objects with one id: validateVPCs reports it.
	case r.kind != kind:
		d.errf(join(r.field, "id"), "", "%q is the id of %s's %s; valid: %s", id, v.ID, what, hint)
	case r.vpc != v.ID && !(kind == kindIGW && r.vpc == ""):
		d.errf(join(r.field, "id"), "", "%q is the id of %s's %s but this %s is in %s; valid: vpc: %s, or %s", id, v.ID, what, kind, r.vpc, v.ID, hint)
	}
}

// eachGood calls f for every item of list (at path key[i]) that decoded cleanly.
func eachGood[T any](d *decoder, key string, list []T, f func(path string, x *T)) {
	for i := range list {
		p := index(key, i)
		if !d.isBad(p) {
			f(p, &list[i])
		}
	}
}

// vpcPair is an unordered pair of VPC ids, as a map key.
func vpcPair(a, b string) [2]string {
	if b < a {
		a, b = b, a
	}
	return [2]string{a, b}
}
