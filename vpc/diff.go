package vpc

import (
	"fmt"
	"slices"
)

// RulesOnlyDiff returns nil when new differs from old only in what `vpcemu
// apply` can change live: security groups and their rules, network ACLs and
// their rules, prefix lists, instances' security_groups lists, subnets'
// network_acl associations and limits. Otherwise it names the first other
// difference.
func RulesOnlyDiff(old, new *Topology) error {
	if what := structuralDiff(old, new); what != "" {
		return fmt.Errorf("%s changed; apply changes rules only: run vpcemu down and up", what)
	}
	return nil
}

func structuralDiff(a, b *Topology) string {
	switch {
	case a.Name != b.Name:
		return "name"
	case a.Account != b.Account:
		return "account"
	case a.Region != b.Region:
		return "region"
	case a.VPCs[0].ID != b.VPCs[0].ID:
		return "vpc.id"
	case a.VPCs[0].CIDR != b.VPCs[0].CIDR:
		return "vpc.cidr"
	case a.VPCs[0].IPv6CIDR != b.VPCs[0].IPv6CIDR:
		return "vpc.ipv6_cidr"
	case a.VPCs[0].MTU != b.VPCs[0].MTU:
		return "vpc.mtu"
	case len(a.Subnets) != len(b.Subnets):
		return fmt.Sprintf("the number of subnets (%d, now %d)", len(a.Subnets), len(b.Subnets))
	case len(a.Instances) != len(b.Instances):
		return fmt.Sprintf("the number of instances (%d, now %d)", len(a.Instances), len(b.Instances))
	case len(a.Internet) != len(b.Internet):
		return fmt.Sprintf("the number of internet hosts (%d, now %d)", len(a.Internet), len(b.Internet))
	case len(a.FlowLogs) != len(b.FlowLogs):
		return fmt.Sprintf("the number of flow logs (%d, now %d)", len(a.FlowLogs), len(b.FlowLogs))
	}
	for i := range a.Subnets {
		x, y := a.Subnets[i], b.Subnets[i]
		if f := firstDiff(
			"id", x.ID != y.ID, "cidr", x.CIDR != y.CIDR, "ipv6_cidr", x.IPv6CIDR != y.IPv6CIDR,
			"az", x.AZ != y.AZ, "public", x.Public != y.Public); f != "" {
			return fmt.Sprintf("subnets[%d].%s", i, f)
		}
	}
	for i := range a.Instances {
		x, y := a.Instances[i], b.Instances[i]
		if f := firstDiff(
			"id", x.ID != y.ID, "eni", x.ENI.ID != y.ENI.ID, "subnet", x.Subnet != y.Subnet,
			"private_ip", x.PrivateIP != y.PrivateIP, "public_ip", x.PublicIP != y.PublicIP,
			"ipv6", x.IPv6 != y.IPv6, "os", x.OS != y.OS, "services", !slices.Equal(x.Services, y.Services),
			"conntrack", x.Conntrack != y.Conntrack); f != "" {
			return fmt.Sprintf("instances[%d].%s", i, f)
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
	return ""
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
