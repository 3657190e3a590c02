package importer

import (
	"encoding/json"
	"fmt"
	"path"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// ExportAWS renders t as the describe JSON of a Batfish-style snapshot:
// file paths (aws_configs/REGION/describe-….json) to contents, in the
// shapes the EC2 API answers with (awsshape.View), so that Import of the
// files gives t back, up to what describe JSON has no place for (see
// AWSOnly). ann may be nil.
func ExportAWS(t *vpc.Topology, ann *awsshape.Annotations) (map[string][]byte, error) {
	v := awsshape.View{T: t, Ann: ann}
	dir := path.Join(SnapshotDir, t.Region)
	out := map[string][]byte{}
	var err error
	put := func(name string, doc any) {
		if err != nil {
			return
		}
		var b []byte
		b, err = json.MarshalIndent(doc, "", "    ")
		out[path.Join(dir, name)] = append(b, '\n')
	}
	put("describe-vpcs.json", map[string]any{"Vpcs": v.Vpcs()})
	put("describe-subnets.json", map[string]any{"Subnets": v.Subnets()})
	put("describe-security-groups.json", map[string]any{"SecurityGroups": v.SecurityGroups()})
	put("describe-security-group-rules.json", map[string]any{"SecurityGroupRules": nonNil(v.SecurityGroupRules())})
	put("describe-network-acls.json", map[string]any{"NetworkAcls": v.NetworkAcls()})
	put("describe-route-tables.json", map[string]any{"RouteTables": v.RouteTables()})
	put("describe-internet-gateways.json", map[string]any{"InternetGateways": v.InternetGateways()})
	put("describe-egress-only-internet-gateways.json", map[string]any{"EgressOnlyInternetGateways": v.EgressOnlyInternetGateways()})
	put("describe-nat-gateways.json", map[string]any{"NatGateways": v.NatGateways()})
	put("describe-network-interfaces.json", map[string]any{"NetworkInterfaces": nonNil(v.NetworkInterfaces())})
	put("describe-instances.json", map[string]any{"Reservations": nonNil(v.Reservations())})
	put("describe-addresses.json", map[string]any{"Addresses": v.Addresses()})
	put("describe-managed-prefix-lists.json", map[string]any{"PrefixLists": v.ManagedPrefixLists()})
	put("describe-prefix-lists.json", map[string]any{"PrefixLists": nonNil(v.PrefixLists())})
	for _, pl := range t.PrefixLists {
		entries := []awsshape.PrefixListEntry{}
		for _, c := range pl.CIDRs {
			entries = append(entries, awsshape.PrefixListEntry{Cidr: c.String()})
		}
		put(fmt.Sprintf("get-managed-prefix-list-entries-%s.json", pl.ID), map[string]any{"PrefixListId": pl.ID, "Entries": entries})
	}
	put("describe-flow-logs.json", map[string]any{"FlowLogs": v.FlowLogs()})
	put("describe-vpc-peering-connections.json", map[string]any{"VpcPeeringConnections": v.VpcPeeringConnections()})
	put("describe-vpc-endpoints.json", map[string]any{"VpcEndpoints": v.VpcEndpoints()})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// AWSOnly is t without what describe JSON has no place for: the topology's
// name and quotas, the internet hosts, the instances' OS profiles (but
// Windows), services and connection tracking, the links' MTU, the NAT
// gateways' port policy; and log_format: default, the same as none, which
// import writes. Import(ExportAWS(t)) equals AWSOnly(t), with the import's
// name and quotas.
func AWSOnly(t *vpc.Topology, name string, limits vpc.Limits) {
	t.Name, t.Limits, t.Internet = name, limits, nil
	for i := range t.VPCs {
		t.VPCs[i].MTU = vpc.DefaultMTU
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		in.Services, in.Conntrack = nil, vpc.DefaultConntrack
		if osProfile(in.OS) != "windows" {
			in.OS = "amazon-linux"
		} else {
			in.OS = "windows"
		}
	}
	for i := range t.NATGateways {
		t.NATGateways[i].PortPolicy = "random"
	}
	for i := range t.FlowLogs {
		if t.FlowLogs[i].LogFormat == "default" {
			t.FlowLogs[i].LogFormat = "" // the same format; import writes none
		}
	}
}
