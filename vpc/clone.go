package vpc

import (
	"maps"
	"slices"
)

// Clone returns a deep copy of t: every slice and map the model holds is
// copied, so editing the copy (appending rules, changing tags, deleting
// objects) never shows in t. Values held by value (netip.Addr,
// netip.Prefix, strings) are shared, as they are immutable. A nil t gives
// nil. TestCloneSharesNothing fails when a new slice or map field is added
// to the model without being copied here.
func (t *Topology) Clone() *Topology {
	if t == nil {
		return nil
	}
	c := *t
	c.VPCs = slices.Clone(t.VPCs)
	for i := range c.VPCs {
		v := &c.VPCs[i]
		v.SecondaryCIDRs = slices.Clone(v.SecondaryCIDRs)
		v.Tags = cloneTags(v.Tags)
	}
	c.Subnets = slices.Clone(t.Subnets)
	for i := range c.Subnets {
		c.Subnets[i].Tags = cloneTags(c.Subnets[i].Tags)
	}
	c.SecurityGroups = slices.Clone(t.SecurityGroups)
	for i := range c.SecurityGroups {
		g := &c.SecurityGroups[i]
		g.Ingress = slices.Clone(g.Ingress)
		g.Egress = slices.Clone(g.Egress)
		for j := range g.Ingress {
			g.Ingress[j].Tags = cloneTags(g.Ingress[j].Tags)
		}
		for j := range g.Egress {
			g.Egress[j].Tags = cloneTags(g.Egress[j].Tags)
		}
		g.Tags = cloneTags(g.Tags)
	}
	c.NetworkACLs = slices.Clone(t.NetworkACLs)
	for i := range c.NetworkACLs {
		a := &c.NetworkACLs[i]
		a.Ingress = slices.Clone(a.Ingress)
		a.Egress = slices.Clone(a.Egress)
		a.Tags = cloneTags(a.Tags)
	}
	c.RouteTables = slices.Clone(t.RouteTables)
	for i := range c.RouteTables {
		rt := &c.RouteTables[i]
		rt.Routes = slices.Clone(rt.Routes)
		rt.Tags = cloneTags(rt.Tags)
	}
	c.PrefixLists = slices.Clone(t.PrefixLists)
	for i := range c.PrefixLists {
		pl := &c.PrefixLists[i]
		pl.CIDRs = slices.Clone(pl.CIDRs)
		pl.Tags = cloneTags(pl.Tags)
	}
	c.Instances = slices.Clone(t.Instances)
	for i := range c.Instances {
		in := &c.Instances[i]
		cloneENI(&in.ENI)
		in.Secondary = slices.Clone(in.Secondary)
		for j := range in.Secondary {
			cloneENI(&in.Secondary[j])
		}
		in.Services = slices.Clone(in.Services)
		in.Tags = cloneTags(in.Tags)
	}
	c.Internet = slices.Clone(t.Internet)
	for i := range c.Internet {
		c.Internet[i].Services = slices.Clone(c.Internet[i].Services)
	}
	c.InternetGateways = slices.Clone(t.InternetGateways)
	for i := range c.InternetGateways {
		c.InternetGateways[i].Tags = cloneTags(c.InternetGateways[i].Tags)
	}
	c.EgressOnlyGateways = slices.Clone(t.EgressOnlyGateways)
	for i := range c.EgressOnlyGateways {
		c.EgressOnlyGateways[i].Tags = cloneTags(c.EgressOnlyGateways[i].Tags)
	}
	c.NATGateways = slices.Clone(t.NATGateways)
	for i := range c.NATGateways {
		c.NATGateways[i].Tags = cloneTags(c.NATGateways[i].Tags)
	}
	c.ElasticIPs = slices.Clone(t.ElasticIPs)
	for i := range c.ElasticIPs {
		c.ElasticIPs[i].Tags = cloneTags(c.ElasticIPs[i].Tags)
	}
	c.Peerings = slices.Clone(t.Peerings)
	for i := range c.Peerings {
		c.Peerings[i].Tags = cloneTags(c.Peerings[i].Tags)
	}
	c.Endpoints = slices.Clone(t.Endpoints)
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		e.RouteTables = slices.Clone(e.RouteTables)
		e.Tags = cloneTags(e.Tags)
	}
	c.FlowLogs = slices.Clone(t.FlowLogs)
	for i := range c.FlowLogs {
		c.FlowLogs[i].Tags = cloneTags(c.FlowLogs[i].Tags)
	}
	tm := &c.TrafficMirror
	tm.Targets = slices.Clone(tm.Targets)
	for i := range tm.Targets {
		tm.Targets[i].Tags = cloneTags(tm.Targets[i].Tags)
	}
	tm.Filters = slices.Clone(tm.Filters)
	for i := range tm.Filters {
		f := &tm.Filters[i]
		f.Inbound = slices.Clone(f.Inbound)
		f.Outbound = slices.Clone(f.Outbound)
		f.NetworkServices = slices.Clone(f.NetworkServices)
		f.Tags = cloneTags(f.Tags)
	}
	tm.Sessions = slices.Clone(tm.Sessions)
	for i := range tm.Sessions {
		tm.Sessions[i].Tags = cloneTags(tm.Sessions[i].Tags)
	}
	return &c
}

func cloneENI(e *ENI) {
	e.SecondaryIPs = slices.Clone(e.SecondaryIPs)
	e.SecurityGroups = slices.Clone(e.SecurityGroups)
	e.Tags = cloneTags(e.Tags)
}

func cloneTags(t Tags) Tags { return maps.Clone(t) }
