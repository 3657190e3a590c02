package ec2api

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcemu/vpcemu/vpc"
)

// What the API records lives in the topology, so a server over the export
// (what `vpcemu export` then `up -f` gives) describes it alike: a flow
// log's destination and tags, a rule's tags (from its TagSpecification and
// from CreateTags), a prefix list's tags.
func TestDescribeSurvivesExport(t *testing.T) {
	f := newF0(t)
	c := f.ec2
	spec := func(rt types.ResourceType) []types.TagSpecification {
		return []types.TagSpecification{{ResourceType: rt, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("net")}}}}
	}
	if _, err := c.CreateFlowLogs(ctx(t), &ec2.CreateFlowLogsInput{ResourceIds: []string{f.subnet}, ResourceType: types.FlowLogsResourceTypeSubnet,
		TrafficType: types.TrafficTypeReject, LogGroupName: aws.String("vpc-rejects"),
		DeliverLogsPermissionArn: aws.String("arn:aws:iam::000000000000:role/flowlogs"), TagSpecifications: spec(types.ResourceTypeVpcFlowLog)}); err != nil {
		t.Fatal(err)
	}
	a, err := c.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(f.web),
		IpPermissions: []types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}, TagSpecifications: spec(types.ResourceTypeSecurityGroupRule)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTags(ctx(t), &ec2.CreateTagsInput{Resources: []string{*a.SecurityGroupRules[0].SecurityGroupRuleId},
		Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("https")}}}); err != nil {
		t.Fatal(err)
	}
	f.exportRoundTrips(t)

	back, err := vpc.Parse("export.yaml", f.committed(t).YAML())
	if err != nil {
		t.Fatal(err)
	}
	again := newTestServer(t, Config{Backend: func(string) (Backend, error) { return NewMemory(back, nil), nil }})
	c2 := again.sdk("us-east-1")
	describe := func(c *ec2.Client) string {
		fl, err := c.DescribeFlowLogs(ctx(t), &ec2.DescribeFlowLogsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range fl.FlowLogs {
			fl.FlowLogs[i].CreationTime = nil
		}
		rules, err := c.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{})
		if err != nil {
			t.Fatal(err)
		}
		tags, err := c.DescribeTags(ctx(t), &ec2.DescribeTagsInput{})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent([]any{fl.FlowLogs, rules.SecurityGroupRules, tags.Tags}, "", " ")
		return string(b)
	}
	if got, want := describe(c2), describe(c); got != want {
		t.Errorf("a server over the export describes otherwise:\n%s\nwant:\n%s", got, want)
	}
}
