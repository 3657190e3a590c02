package vpc

import (
	"fmt"
	"slices"
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
	field fpath  // path of the object (empty for one a VPC has without the topology naming it)
	owner string // network interfaces: the instance or NAT gateway id
	what  string // for implicit objects: what the id is to its VPC, for messages
}

// describe names the object holding an id, for messages.
func (c *checker) describe(r ref) string {
	if r.field.empty() {
		return fmt.Sprintf("%s's %s", r.vpc, r.what)
	}
	return fmt.Sprintf("%s %s%s", r.kind, r.field, c.lineOf(r.field))
}

// lookup returns what the registry knows of id.
func (c *checker) lookup(id string) (ref, bool) {
	k, ok := c.ids[id]
	if !ok {
		return ref{}, false
	}
	return c.refs[k], true
}

// add records id's ref in the registry.
func (c *checker) add(id string, r ref) {
	c.ids[id] = int32(len(c.refs))
	c.refs = append(c.refs, r)
}

// register records id for an object; a second object with the id is an
// error when its kind differs (ids are unique across kinds so that a
// route's target is an id alone). Same-kind duplicates are reported by the
// per-kind checks, with their own messages.
func (c *checker) register(id string, r ref) {
	if id == "" {
		return
	}
	first, dup := c.lookup(id)
	switch {
	case !dup:
		c.add(id, r)
	case first.kind != r.kind:
		f := r.field.key("id")
		if r.kind == kindENI {
			f = r.field // already the eni or id field
		}
		c.errf(f, "", "id %q is already the id of %s; valid: an id unique across all objects (routes name their targets by id alone)", id, c.describe(first))
	}
}

// idsOf is the set of ids of one kind (in vpc when vpc is not ""), for messages.
func (c *checker) idsOf(kind, vpc string) map[string]bool {
	set := map[string]bool{}
	for id, k := range c.ids {
		if r := &c.refs[k]; r.kind == kind && (vpc == "" || r.vpc == vpc) {
			set[id] = true
		}
	}
	return set
}

// mainTables settles each VPC's main route table: the topology's table
// with main: true, else the id the VPC names (main_route_table) or its
// default (RT-2). Every table with a VPC's main id is marked Main.
func (c *checker) mainTables() {
	t := c.t
	for i := range t.VPCs {
		v := &t.VPCs[i]
		vp := c.vpcPath(i)
		named := c.present(&vp, "main_route_table", v.MainTable != DefaultID(DefaultMainRouteTableID, i, v.ID))
		var first string
		for j := range t.RouteTables {
			rt := &t.RouteTables[j]
			if rt.VPC != v.ID || !rt.Main || v.ID == "" {
				continue
			}
			p := rootIndex("route_tables", j)
			if c.isBad(p) {
				continue
			}
			if first != "" {
				c.errf(p.key("main"), "", "%s already has main route table %s; valid: one main table per VPC (RT-2)", v.ID, first)
				continue
			}
			first = rt.ID
			if named && v.MainTable != rt.ID {
				c.errf(p.key("main"), "InvalidParameterCombination", "%s names %s as its main route table; valid: main: true on %s only, or main_route_table: %s", v.ID, v.MainTable, v.MainTable, rt.ID)
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

// registerIDs records every id of the topology, then the ids of what each
// VPC has without the topology naming it (default SG and NACL, main table,
// and for `public: true` the public table and an internet gateway).
func (c *checker) registerIDs() {
	t := c.t
	n := len(t.VPCs) + len(t.Subnets) + len(t.SecurityGroups) + len(t.NetworkACLs) + len(t.RouteTables) + len(t.PrefixLists) +
		2*len(t.Instances) + len(t.InternetGateways) + len(t.EgressOnlyGateways) + 2*len(t.NATGateways) + len(t.ElasticIPs) +
		len(t.Peerings) + len(t.Endpoints) + len(t.FlowLogs) + 5*len(t.VPCs)
	c.ids = fresh(&c.s.ids)
	c.refs = slices.Grow(c.s.refs[:0], n)
	c.implicit = fresh(&c.s.implicit)
	c.peered = fresh(&c.s.peered)
	for i, v := range t.VPCs {
		if p := c.vpcPath(i); !c.isBad(p) {
			c.register(v.ID, ref{kind: kindVPC, vpc: v.ID, field: p})
		}
	}
	eachGood(c, "subnets", t.Subnets, func(p fpath, s *Subnet) { c.register(s.ID, ref{kind: kindSubnet, vpc: s.VPC, field: p}) })
	eachGood(c, "security_groups", t.SecurityGroups, func(p fpath, g *SecurityGroup) {
		c.register(g.ID, ref{kind: kindSG, vpc: g.VPC, field: p})
	})
	eachGood(c, "network_acls", t.NetworkACLs, func(p fpath, a *NetworkACL) { c.register(a.ID, ref{kind: kindNACL, vpc: a.VPC, field: p}) })
	eachGood(c, "route_tables", t.RouteTables, func(p fpath, rt *RouteTable) {
		c.register(rt.ID, ref{kind: kindRouteTable, vpc: rt.VPC, field: p})
	})
	eachGood(c, "prefix_lists", t.PrefixLists, func(p fpath, pl *PrefixList) { c.register(pl.ID, ref{kind: kindPL, field: p}) })
	enis := fresh(&c.s.fields)
	eni := func(id string, f fpath, owner, vpc string, explicit bool) {
		if first, dup := enis[id]; dup && explicit {
			c.dupAt(f, "", fmt.Sprintf("ENI id %q", id), first)
			return
		}
		enis[id] = f
		c.register(id, ref{kind: kindENI, vpc: vpc, field: f, owner: owner})
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		p := rootIndex("instances", i)
		if c.isBad(p) {
			continue
		}
		vpc := t.VPCOfSubnetID(in.Subnet)
		c.register(in.ID, ref{kind: kindInstance, vpc: vpc, field: p})
		for k := 0; k <= len(in.Secondary); k++ {
			e := &in.ENI
			if k > 0 {
				e = &in.Secondary[k-1]
			}
			ep, key := c.eniPath(i, in, k)
			f := ep.key(key)
			eni(e.ID, f, in.ID, vpc, c.present(&f, "", !c.derived[e.ID]))
		}
	}
	eachGood(c, "internet_gateways", t.InternetGateways, func(p fpath, g *InternetGateway) {
		c.register(g.ID, ref{kind: kindIGW, vpc: g.VPC, field: p})
	})
	eachGood(c, "egress_only_internet_gateways", t.EgressOnlyGateways, func(p fpath, g *EgressOnlyGateway) {
		c.register(g.ID, ref{kind: kindEIGW, vpc: g.VPC, field: p})
	})
	eachGood(c, "nat_gateways", t.NATGateways, func(p fpath, g *NATGateway) {
		vpc := t.VPCOfSubnetID(g.Subnet)
		c.register(g.ID, ref{kind: kindNAT, vpc: vpc, field: p})
		f := p.key("eni")
		eni(g.ENI, f, g.ID, vpc, c.present(&f, "", true))
	})
	eachGood(c, "elastic_ips", t.ElasticIPs, func(p fpath, e *ElasticIP) { c.register(e.ID, ref{kind: kindEIP, field: p}) })
	eachGood(c, "peering_connections", t.Peerings, func(p fpath, x *Peering) { c.register(x.ID, ref{kind: kindPeering, field: p}) })
	eachGood(c, "vpc_endpoints", t.Endpoints, func(p fpath, e *Endpoint) { c.register(e.ID, ref{kind: kindEndpoint, vpc: e.VPC, field: p}) })
	eachGood(c, "flow_logs", t.FlowLogs, func(p fpath, fl *FlowLog) { c.register(fl.ID, ref{kind: kindFlowLog, field: p}) })

	for i := range t.VPCs {
		v := &t.VPCs[i]
		if v.ID == "" || c.isBad(c.vpcPath(i)) {
			continue
		}
		c.implicitID(v.DefaultSG, kindSG, v, "default security group", "default_security_group")
		c.implicitID(v.DefaultNACL, kindNACL, v, "default network ACL", "default_network_acl")
		c.implicitID(v.MainTable, kindRouteTable, v, "main route table", "main_route_table")
		public := false
		for j := range t.Subnets {
			s := &t.Subnets[j]
			public = public || (s.Public && s.VPC == v.ID && !c.isBad(rootIndex("subnets", j)))
		}
		if !public {
			continue
		}
		attached := false
		for j := range t.InternetGateways {
			attached = attached || (t.InternetGateways[j].VPC == v.ID && !c.isBad(rootIndex("internet_gateways", j)))
		}
		if !attached {
			c.implicitID(DefaultID(DefaultIGWID, i, v.ID), kindIGW, v, "internet gateway", "")
		}
		c.implicitID(DefaultID(PublicRouteTableID, i, v.ID), kindRouteTable, v, "public route table", "")
	}
}

// implicitID registers id as the VPC's object of kind (what, e.g. "default
// security group") unless the topology defines it; an object with the id
// must then be of that kind and VPC. key is the VPC field that renames it.
func (c *checker) implicitID(id, kind string, v *VPC, what, key string) {
	r, defined := c.lookup(id)
	hint := func() string {
		if key == "" {
			return "another id"
		}
		return fmt.Sprintf("another id, or set %s on %s", key, v.ID)
	}
	switch {
	case !defined:
		c.add(id, ref{kind: kind, vpc: v.ID, what: what})
		c.implicit[id] = true
	case r.field.empty():
		// Two default objects with one id: validateVPCs reports it.
	case r.kind != kind:
		c.errf(r.field.key("id"), "", "%q is the id of %s's %s; valid: %s", id, v.ID, what, hint())
	case r.vpc != v.ID && !(kind == kindIGW && r.vpc == ""):
		c.errf(r.field.key("id"), "", "%q is the id of %s's %s but this %s is in %s; valid: vpc: %s, or %s", id, v.ID, what, kind, r.vpc, v.ID, hint())
	}
}

// eachGood calls f for every item of list (at path key[i]) that is good.
func eachGood[T any](c *checker, key string, list []T, f func(p fpath, x *T)) {
	for i := range list {
		if p := rootIndex(key, i); !c.isBad(p) {
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
