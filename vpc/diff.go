package vpc

import (
	"fmt"
	"reflect"
	"slices"
)

// RulesOnlyDiff returns nil when new differs from old only in what `vpcemu
// apply` can change live: security groups and their rules, network ACLs and
// their rules, prefix lists that no route uses, ENIs' security group lists,
// subnets' network_acl associations, quotas, tags and descriptions.
// Otherwise it names the first other difference. Routing (route tables and
// associations, gateways, NAT gateways, Elastic IPs, peerings, endpoints)
// is not rules: changing it needs down and up until apply reconciles it.
func RulesOnlyDiff(old, new *Topology) error {
	if what := structuralDiff(old, new); what != "" {
		return fmt.Errorf("%s changed; apply changes rules only: run vpcemu down and up", what)
	}
	return nil
}

// StructuralChange names the first difference between old and new that
// RulesOnlyDiff refuses ("" when there is none): what a running topology
// cannot take as a rule change.
func StructuralChange(old, new *Topology) string { return structuralDiff(old, new) }

func structuralDiff(a, b *Topology) string {
	switch {
	case a.Name != b.Name:
		return "name"
	case a.Account != b.Account:
		return "account"
	case a.Region != b.Region:
		return "region"
	case len(a.VPCs) != len(b.VPCs):
		return fmt.Sprintf("the number of VPCs (%d, now %d)", len(a.VPCs), len(b.VPCs))
	case len(a.Subnets) != len(b.Subnets):
		return fmt.Sprintf("the number of subnets (%d, now %d)", len(a.Subnets), len(b.Subnets))
	case len(a.Instances) != len(b.Instances):
		return fmt.Sprintf("the number of instances (%d, now %d)", len(a.Instances), len(b.Instances))
	case len(a.Internet) != len(b.Internet):
		return fmt.Sprintf("the number of internet hosts (%d, now %d)", len(a.Internet), len(b.Internet))
	case len(a.FlowLogs) != len(b.FlowLogs):
		return fmt.Sprintf("the number of flow logs (%d, now %d)", len(a.FlowLogs), len(b.FlowLogs))
	case string(encodeMirrorYAML(&a.TrafficMirror)) != string(encodeMirrorYAML(&b.TrafficMirror)):
		return "traffic_mirror"
	case a.Limits.NATConnectionsPerDestination != b.Limits.NATConnectionsPerDestination:
		return "limits.nat_connections_per_destination"
	case a.Limits.NATIdleTimeout != b.Limits.NATIdleTimeout:
		return "limits.nat_idle_timeout"
	}
	for i := range a.VPCs {
		x, y := a.VPCs[i], b.VPCs[i]
		if f := firstDiff(
			"id", x.ID != y.ID, "cidr", x.CIDR != y.CIDR, "secondary_cidrs", !slices.Equal(x.SecondaryCIDRs, y.SecondaryCIDRs),
			"ipv6_cidr", x.IPv6CIDR != y.IPv6CIDR, "mtu", x.MTU != y.MTU,
			"default_security_group", x.DefaultSG != y.DefaultSG, "default_network_acl", x.DefaultNACL != y.DefaultNACL,
			"main_route_table", x.MainTable != y.MainTable); f != "" {
			return vpcField(a, i, f)
		}
	}
	for i := range a.Subnets {
		x, y := a.Subnets[i], b.Subnets[i]
		if f := firstDiff(
			"id", x.ID != y.ID, "vpc", x.VPC != y.VPC, "cidr", x.CIDR != y.CIDR, "ipv6_cidr", x.IPv6CIDR != y.IPv6CIDR,
			"az", x.AZ != y.AZ, "public", x.Public != y.Public, "route_table", x.RouteTable != y.RouteTable); f != "" {
			return fmt.Sprintf("subnets[%d].%s", i, f)
		}
	}
	for i := range a.Instances {
		x, y := &a.Instances[i], &b.Instances[i]
		if f := firstDiff(
			"id", x.ID != y.ID, "network_interfaces", len(x.Secondary) != len(y.Secondary),
			"os", x.OS != y.OS, "services", !slices.Equal(x.Services, y.Services),
			"conntrack", x.Conntrack != y.Conntrack); f != "" {
			return fmt.Sprintf("instances[%d].%s", i, f)
		}
		for j, e := range x.ENIs() {
			if f := eniDiff(e, y.ENIs()[j]); f != "" {
				if j == 0 {
					return fmt.Sprintf("instances[%d].%s", i, f)
				}
				return fmt.Sprintf("instances[%d].network_interfaces[%d].%s", i, j-1, f)
			}
		}
	}
	for i := range a.Internet {
		x, y := a.Internet[i], b.Internet[i]
		if f := firstDiff(
			"name", x.Name != y.Name, "ip", x.IP != y.IP, "ipv6", x.IPv6 != y.IPv6,
			"os", x.OS != y.OS, "services", !slices.Equal(x.Services, y.Services)); f != "" {
			return fmt.Sprintf("internet[%d].%s", i, f)
		}
	}
	for i := range a.FlowLogs {
		x, y := a.FlowLogs[i], b.FlowLogs[i]
		if f := firstDiff(
			"id", x.ID != y.ID, "resource", x.Resource != y.Resource, "traffic_type", x.TrafficType != y.TrafficType,
			"max_aggregation_interval", x.MaxAggregationInterval != y.MaxAggregationInterval,
			"log_format", x.LogFormat != y.LogFormat, "file_format", x.FileFormat != y.FileFormat,
			"hive_compatible_partitions", x.HiveCompatible != y.HiveCompatible,
			"per_hour_partition", x.PerHourPartition != y.PerHourPartition); f != "" {
			return fmt.Sprintf("flow_logs[%d].%s", i, f)
		}
	}
	// Routing objects: any change but their tags.
	for _, l := range []struct {
		name string
		a, b any
	}{
		{"route_tables", a.RouteTables, b.RouteTables},
		{"internet_gateways", a.InternetGateways, b.InternetGateways},
		{"egress_only_internet_gateways", a.EgressOnlyGateways, b.EgressOnlyGateways},
		{"nat_gateways", a.NATGateways, b.NATGateways},
		{"elastic_ips", a.ElasticIPs, b.ElasticIPs},
		{"peering_connections", a.Peerings, b.Peerings},
		{"vpc_endpoints", a.Endpoints, b.Endpoints},
	} {
		if what := listDiff(l.name, l.a, l.b); what != "" {
			return what
		}
	}
	// A prefix list that routes use is routing too (RT-10, VPCE-2).
	for _, pl := range a.PrefixLists {
		other := b.PrefixList(pl.ID)
		if (other == nil || !slices.Equal(pl.CIDRs, other.CIDRs)) && (a.routesUse(pl.ID) || b.routesUse(pl.ID)) {
			return fmt.Sprintf("prefix list %s, which routes use,", pl.ID)
		}
	}
	return ""
}

// vpcField names field f of the i-th VPC as the file writes it.
func vpcField(t *Topology, i int, f string) string {
	if len(t.VPCs) == 1 {
		return "vpc." + f
	}
	return fmt.Sprintf("vpcs[%d].%s", i, f)
}

func eniDiff(x, y *ENI) string {
	return firstDiff(
		"eni", x.ID != y.ID, "subnet", x.Subnet != y.Subnet, "private_ip", x.PrivateIP != y.PrivateIP,
		"secondary_private_ips", !slices.Equal(x.SecondaryIPs, y.SecondaryIPs),
		"public_ip", x.PublicIP != y.PublicIP, "ipv6", x.IPv6 != y.IPv6,
		"source_dest_check", x.SourceDestCheckDisabled != y.SourceDestCheckDisabled,
		"device_index", x.DeviceIndex != y.DeviceIndex)
}

// listDiff compares two lists of routing objects with their tags and
// positions left out, naming the first item that differs.
func listDiff(name string, a, b any) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Len() != vb.Len() {
		return fmt.Sprintf("the number of %s (%d, now %d)", name, va.Len(), vb.Len())
	}
	for i := range va.Len() {
		x, y := withoutTags(va.Index(i)), withoutTags(vb.Index(i))
		if !reflect.DeepEqual(x, y) {
			return fmt.Sprintf("%s[%d]", name, i)
		}
	}
	return ""
}

// withoutTags copies a routing object with its Tags and every Pos zeroed
// (and empty lists as nil, as in ClearIncidentals).
func withoutTags(v reflect.Value) any {
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	if f := c.FieldByName("Tags"); f.IsValid() {
		f.Set(reflect.Zero(f.Type()))
	}
	clearIncidentals(deepCopy(c))
	return c.Interface()
}

// deepCopy gives c its own copies of the slices it holds, so that clearing
// positions in c does not touch the topology it came from.
func deepCopy(c reflect.Value) reflect.Value {
	for i := range c.NumField() {
		f := c.Field(i)
		if f.Kind() == reflect.Slice && !f.IsNil() && c.Type().Field(i).IsExported() {
			n := reflect.MakeSlice(f.Type(), f.Len(), f.Len())
			reflect.Copy(n, f)
			f.Set(n)
		}
	}
	return c
}

// routesUse reports whether a route of t has the prefix list as its destination.
func (t *Topology) routesUse(pl string) bool {
	for _, rt := range t.RouteTables {
		for _, r := range rt.Routes {
			if r.DestPrefixList == pl {
				return true
			}
		}
	}
	return false
}

// firstDiff takes (name, differs) pairs and returns the first name that differs.
func firstDiff(pairs ...any) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1].(bool) {
			return pairs[i].(string)
		}
	}
	return ""
}
