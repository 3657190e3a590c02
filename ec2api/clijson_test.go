package ec2api

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcemu/vpcemu/awsshape"
)

// What the AWS CLI prints for vpcemu's answers decodes into the awsshape
// structs (their JSON names are the CLI's, IMP-4) and says exactly what
// awsshape.View rendered: every field survives XML, botocore and JSON.
func TestCLIJSONDecodesIntoShapes(t *testing.T) {
	f := newF0(t)
	if _, err := f.ec2.AuthorizeSecurityGroupIngress(ctx(t), &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &f.web, IpPermissions: []types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("https")}},
			UserIdGroupPairs: []types.UserIdGroupPair{{GroupId: &f.web}}},
		{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(8), ToPort: aws.Int32(-1), IpRanges: []types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.RunInstances(ctx(t), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &f.subnet,
		ImageId: aws.String("ami-12345678"), SecurityGroupIds: []string{f.web}, TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("web-1")}}}}}); err != nil {
		t.Fatal(err)
	}
	r, _ := f.s.api.region("us-east-1")
	v := awsshape.View{T: r.backend.Topology(), Ann: &r.ann}
	check := func(cmd string, decoded, want any) {
		t.Helper()
		out, errOut, code := f.s.cli(t, cmd)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", cmd, code, errOut)
		}
		if err := json.Unmarshal([]byte(out), decoded); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		got, _ := json.Marshal(decoded)
		exp, _ := json.Marshal(want)
		if string(got) != string(exp) {
			t.Errorf("%s:\n CLI  %s\n view %s", cmd, got, exp)
		}
	}
	check("describe-security-groups", &struct{ SecurityGroups []awsshape.SecurityGroup }{},
		struct{ SecurityGroups []awsshape.SecurityGroup }{v.SecurityGroups()})
	check("describe-network-acls", &struct{ NetworkAcls []awsshape.NetworkAcl }{},
		struct{ NetworkAcls []awsshape.NetworkAcl }{v.NetworkAcls()})
	check("describe-instances", &struct{ Reservations []awsshape.Reservation }{},
		struct{ Reservations []awsshape.Reservation }{v.Reservations()})
	check("describe-route-tables", &struct{ RouteTables []awsshape.RouteTable }{},
		struct{ RouteTables []awsshape.RouteTable }{v.RouteTables()})
}
