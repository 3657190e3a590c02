package ec2api

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// A public subnet the way the console builds one: internet gateway, route
// table with a default route, association, an instance with an Elastic IP,
// a NAT gateway; then the dependencies AWS enforces on the way down.
func TestRoutingActions(t *testing.T) {
	f := newF0(t)
	c := f.ec2
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	igw, err := c.CreateInternetGateway(ctx(t), &ec2.CreateInternetGatewayInput{})
	must(err)
	igwID := *igw.InternetGateway.InternetGatewayId
	_, err = c.AttachInternetGateway(ctx(t), &ec2.AttachInternetGatewayInput{InternetGatewayId: &igwID, VpcId: &f.vpc})
	must(err)
	_, err = c.AttachInternetGateway(ctx(t), &ec2.AttachInternetGatewayInput{InternetGatewayId: &igwID, VpcId: &f.vpc})
	if apiCode(t, err) != "Resource.AlreadyAssociated" {
		t.Errorf("attach twice: %v", err)
	}
	rt, err := c.CreateRouteTable(ctx(t), &ec2.CreateRouteTableInput{VpcId: &f.vpc})
	must(err)
	rtb := *rt.RouteTable.RouteTableId
	if len(rt.RouteTable.Routes) != 1 || *rt.RouteTable.Routes[0].GatewayId != "local" {
		t.Errorf("new table routes %+v", rt.RouteTable.Routes)
	}
	_, err = c.CreateRoute(ctx(t), &ec2.CreateRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: &igwID})
	must(err)
	_, err = c.CreateRoute(ctx(t), &ec2.CreateRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: &igwID})
	if apiCode(t, err) != "RouteAlreadyExists" {
		t.Errorf("route twice: %v", err)
	}
	_, err = c.DeleteRoute(ctx(t), &ec2.DeleteRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("10.0.0.0/16")})
	if apiCode(t, err) != "InvalidParameterValue" {
		t.Errorf("deleting the local route: %v", err)
	}
	as, err := c.AssociateRouteTable(ctx(t), &ec2.AssociateRouteTableInput{RouteTableId: &rtb, SubnetId: &f.subnet})
	must(err)
	d, err := c.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{Filters: []types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{f.subnet}}}})
	must(err)
	if len(d.RouteTables) != 1 || *d.RouteTables[0].RouteTableId != rtb || *d.RouteTables[0].Associations[0].RouteTableAssociationId != *as.AssociationId {
		t.Fatalf("association: %+v", d.RouteTables)
	}
	_, err = c.DeleteRouteTable(ctx(t), &ec2.DeleteRouteTableInput{RouteTableId: &rtb})
	if apiCode(t, err) != "DependencyViolation" {
		t.Errorf("deleting an associated table: %v", err)
	}

	// An instance with an Elastic IP.
	run, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &f.subnet,
		PrivateIpAddress: aws.String("10.0.1.10")})
	must(err)
	inst := *run.Instances[0].InstanceId
	if *run.Instances[0].PrivateIpAddress != "10.0.1.10" || run.Instances[0].State.Name != types.InstanceStateNamePending {
		t.Errorf("launched %+v", run.Instances[0])
	}
	eip, err := c.AllocateAddress(ctx(t), &ec2.AllocateAddressInput{Domain: types.DomainTypeVpc})
	must(err)
	assoc, err := c.AssociateAddress(ctx(t), &ec2.AssociateAddressInput{AllocationId: eip.AllocationId, InstanceId: &inst})
	must(err)
	di, err := c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{inst}})
	must(err)
	if got := di.Reservations[0].Instances[0]; aws.ToString(got.PublicIpAddress) != *eip.PublicIp || got.State.Name != types.InstanceStateNameRunning {
		t.Errorf("instance public IP %v state %v, want %s running", got.PublicIpAddress, got.State.Name, *eip.PublicIp)
	}
	_, err = c.ReleaseAddress(ctx(t), &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId})
	if apiCode(t, err) != "InvalidIPAddress.InUse" {
		t.Errorf("releasing an associated address: %v", err)
	}
	_, err = c.DetachInternetGateway(ctx(t), &ec2.DetachInternetGatewayInput{InternetGatewayId: &igwID, VpcId: &f.vpc})
	if apiCode(t, err) != "DependencyViolation" {
		t.Errorf("detach with a mapped address: %v", err)
	}

	// A NAT gateway in the subnet; a private route table through it.
	eip2, err := c.AllocateAddress(ctx(t), &ec2.AllocateAddressInput{})
	must(err)
	nat, err := c.CreateNatGateway(ctx(t), &ec2.CreateNatGatewayInput{SubnetId: &f.subnet, AllocationId: eip2.AllocationId})
	must(err)
	natID := *nat.NatGateway.NatGatewayId
	if nat.NatGateway.State != types.NatGatewayStatePending || *nat.NatGateway.NatGatewayAddresses[0].PublicIp != *eip2.PublicIp {
		t.Errorf("NAT gateway %+v", nat.NatGateway)
	}
	_, err = c.CreateRoute(ctx(t), &ec2.CreateRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("192.0.2.0/24"), NatGatewayId: &natID})
	must(err)
	enis, err := c.DescribeNetworkInterfaces(ctx(t), &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("interface-type"), Values: []string{"nat_gateway"}}}})
	must(err)
	if len(enis.NetworkInterfaces) != 1 || *enis.NetworkInterfaces[0].NetworkInterfaceId != *nat.NatGateway.NatGatewayAddresses[0].NetworkInterfaceId {
		t.Errorf("NAT gateway ENI %+v", enis.NetworkInterfaces)
	}
	_, err = c.DeleteNatGateway(ctx(t), &ec2.DeleteNatGatewayInput{NatGatewayId: &natID})
	must(err)
	d, err = c.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
	must(err)
	for _, r := range d.RouteTables[0].Routes {
		if aws.ToString(r.NatGatewayId) == natID && r.State != types.RouteStateBlackhole {
			t.Errorf("route to the deleted NAT gateway: %v", r.State)
		}
	}
	_, err = c.ReleaseAddress(ctx(t), &ec2.ReleaseAddressInput{AllocationId: eip2.AllocationId})
	must(err)

	// A middlebox: the local route's target replaced by the instance's ENI, then back (RT-5).
	eni := *run.Instances[0].NetworkInterfaces[0].NetworkInterfaceId
	_, err = c.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("10.0.0.0/16"), NetworkInterfaceId: &eni})
	must(err)
	_, err = c.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: &igwID})
	if apiCode(t, err) != "InvalidParameterValue" {
		t.Errorf("local route to a gateway: %v", err)
	}
	f.exportRoundTrips(t)
	_, err = c.ReplaceRoute(ctx(t), &ec2.ReplaceRouteInput{RouteTableId: &rtb, DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local")})
	must(err)
	f.exportRoundTrips(t)

	// Down again.
	_, err = c.DisassociateAddress(ctx(t), &ec2.DisassociateAddressInput{AssociationId: assoc.AssociationId})
	must(err)
	term, err := c.TerminateInstances(ctx(t), &ec2.TerminateInstancesInput{InstanceIds: []string{inst}})
	must(err)
	if term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Errorf("terminate: %+v", term.TerminatingInstances[0])
	}
	di, err = c.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{inst}})
	must(err)
	if di.Reservations[0].Instances[0].State.Name != types.InstanceStateNameTerminated {
		t.Errorf("after terminate: %v", di.Reservations[0].Instances[0].State.Name)
	}
	_, err = c.DetachInternetGateway(ctx(t), &ec2.DetachInternetGatewayInput{InternetGatewayId: &igwID, VpcId: &f.vpc})
	must(err)
	_, err = c.DisassociateRouteTable(ctx(t), &ec2.DisassociateRouteTableInput{AssociationId: as.AssociationId})
	must(err)
	_, err = c.DeleteRouteTable(ctx(t), &ec2.DeleteRouteTableInput{RouteTableId: &rtb})
	must(err)
	_, err = c.DeleteInternetGateway(ctx(t), &ec2.DeleteInternetGatewayInput{InternetGatewayId: &igwID})
	must(err)
	_, err = c.DeleteSubnet(ctx(t), &ec2.DeleteSubnetInput{SubnetId: &f.subnet})
	must(err)
	_, err = c.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: &f.web})
	must(err)
	_, err = c.DeleteVpc(ctx(t), &ec2.DeleteVpcInput{VpcId: &f.vpc})
	must(err)
	v, err := c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
	must(err)
	if len(v.Vpcs) != 0 {
		t.Errorf("%d VPCs left", len(v.Vpcs))
	}
}

// Flow logs: per-resource failures in unsuccessful, the rest created.
func TestFlowLogActions(t *testing.T) {
	f := newF0(t)
	out, err := f.ec2.CreateFlowLogs(ctx(t), &ec2.CreateFlowLogsInput{ResourceIds: []string{f.vpc, "vpc-00000000000000000"},
		ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll, LogDestinationType: types.LogDestinationTypeS3,
		LogDestination: aws.String("arn:aws:s3:::flows"), MaxAggregationInterval: aws.Int32(60)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.FlowLogIds) != 1 || len(out.Unsuccessful) != 1 || *out.Unsuccessful[0].Error.Code != "InvalidVpcID.NotFound" {
		t.Fatalf("create: %+v", out)
	}
	again, err := f.ec2.CreateFlowLogs(ctx(t), &ec2.CreateFlowLogsInput{ResourceIds: []string{f.vpc}, ResourceType: types.FlowLogsResourceTypeVpc,
		TrafficType: types.TrafficTypeAll, LogDestinationType: types.LogDestinationTypeS3, LogDestination: aws.String("arn:aws:s3:::flows")})
	if err != nil || len(again.Unsuccessful) != 1 || *again.Unsuccessful[0].Error.Code != "FlowLogAlreadyExists" {
		t.Errorf("again: %v %+v", err, again)
	}
	d, err := f.ec2.DescribeFlowLogs(ctx(t), &ec2.DescribeFlowLogsInput{Filter: []types.Filter{{Name: aws.String("resource-id"), Values: []string{f.vpc}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.FlowLogs) != 1 || *d.FlowLogs[0].MaxAggregationInterval != 60 || *d.FlowLogs[0].LogDestination != "arn:aws:s3:::flows" ||
		*d.FlowLogs[0].LogFormat == "" || d.FlowLogs[0].CreationTime == nil {
		t.Errorf("describe: %+v", d.FlowLogs)
	}
	del, err := f.ec2.DeleteFlowLogs(ctx(t), &ec2.DeleteFlowLogsInput{FlowLogIds: []string{out.FlowLogIds[0], "fl-00000000000000000"}})
	if err != nil || len(del.Unsuccessful) != 1 {
		t.Errorf("delete: %v %+v", err, del)
	}
}

// Reachability Analyzer answers with the evaluator: a path two instances
// cannot take, then can after a rule (RA-2).
func TestNetworkInsights(t *testing.T) {
	f := newF0(t)
	c := f.ec2
	launch := func(ip string) string {
		run, err := c.RunInstances(ctx(t), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &f.subnet,
			SecurityGroupIds: []string{f.web}, PrivateIpAddress: aws.String(ip)})
		if err != nil {
			t.Fatal(err)
		}
		return *run.Instances[0].InstanceId
	}
	a, b := launch("10.0.1.10"), launch("10.0.1.11")
	p, err := c.CreateNetworkInsightsPath(ctx(t), &ec2.CreateNetworkInsightsPathInput{Source: &a, Destination: &b,
		Protocol: types.ProtocolTcp, DestinationPort: aws.Int32(80)})
	if err != nil {
		t.Fatal(err)
	}
	pathID := p.NetworkInsightsPath.NetworkInsightsPathId
	analyse := func() types.NetworkInsightsAnalysis {
		t.Helper()
		s, err := c.StartNetworkInsightsAnalysis(ctx(t), &ec2.StartNetworkInsightsAnalysisInput{NetworkInsightsPathId: pathID})
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.DescribeNetworkInsightsAnalyses(ctx(t), &ec2.DescribeNetworkInsightsAnalysesInput{
			NetworkInsightsAnalysisIds: []string{*s.NetworkInsightsAnalysis.NetworkInsightsAnalysisId}})
		if err != nil {
			t.Fatal(err)
		}
		return d.NetworkInsightsAnalyses[0]
	}
	r := analyse()
	if r.Status != types.AnalysisStatusSucceeded || *r.NetworkPathFound || len(r.Explanations) == 0 || len(r.ForwardPathComponents) == 0 {
		t.Fatalf("blocked path: %+v", r)
	}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &f.web, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: &f.web}}}}}); err != nil {
		t.Fatal(err)
	}
	if r := analyse(); !*r.NetworkPathFound || len(r.ReturnPathComponents) == 0 {
		t.Errorf("allowed path: %+v", r)
	}
	f.exportRoundTrips(t)
	if _, err := c.DeleteNetworkInsightsPath(ctx(t), &ec2.DeleteNetworkInsightsPathInput{NetworkInsightsPathId: pathID}); apiCode(t, err) != "DependencyViolation" {
		t.Errorf("deleting a path with analyses: %v", err)
	}
}

// A dual-stack VPC gets AWS's IPv6 defaults (API-22): ::/0 egress in the
// default group, NACL rules 101 and the 32768 denies, an IPv6 local route.
func TestIPv6VPC(t *testing.T) {
	s := newTestServer(t, Config{})
	c := s.sdk("us-east-1")
	v, err := c.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), AmazonProvidedIpv6CidrBlock: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Vpc.Ipv6CidrBlockAssociationSet) != 1 {
		t.Fatalf("no IPv6 block: %+v", v.Vpc)
	}
	filter := []types.Filter{{Name: aws.String("vpc-id"), Values: []string{*v.Vpc.VpcId}}}
	acls, err := c.DescribeNetworkAcls(ctx(t), &ec2.DescribeNetworkAclsInput{Filters: filter})
	if err != nil {
		t.Fatal(err)
	}
	nums := map[int32]int{}
	for _, e := range acls.NetworkAcls[0].Entries {
		nums[*e.RuleNumber]++
	}
	if nums[100] != 2 || nums[101] != 2 || nums[32767] != 2 || nums[32768] != 2 {
		t.Errorf("default NACL entries %v", nums)
	}
	sgs, err := c.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: filter})
	if err != nil {
		t.Fatal(err)
	}
	if e := sgs.SecurityGroups[0].IpPermissionsEgress; len(e) != 1 || len(e[0].Ipv6Ranges) != 1 || len(e[0].IpRanges) != 1 {
		t.Errorf("default egress %+v", e)
	}
	rts, err := c.DescribeRouteTables(ctx(t), &ec2.DescribeRouteTablesInput{Filters: filter})
	if err != nil {
		t.Fatal(err)
	}
	if r := rts.RouteTables[0].Routes; len(r) != 2 || r[1].DestinationIpv6CidrBlock == nil {
		t.Errorf("local routes %+v", r)
	}
}
