package ec2api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcemu/vpcemu/vpc"
)

// committed is the region's committed topology: a failed request must
// leave the very same one (nothing changed, nothing half-applied).
func (f *f0) committed(t *testing.T) *vpc.Topology {
	t.Helper()
	r, err := f.s.api.region("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	return r.backend.Topology()
}

// Bad input answers AWS's codes and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	f := newF0(t)
	manyRules := url.Values{}
	for i := range 61 {
		manyRules.Set(fmt.Sprintf("IpPermissions.1.IpRanges.%d.CidrIp", i+1), fmt.Sprintf("10.9.%d.0/24", i))
	}
	manyRules.Set("IpPermissions.1.IpProtocol", "tcp")
	manyRules.Set("IpPermissions.1.FromPort", "80")
	manyRules.Set("IpPermissions.1.ToPort", "80")
	manyRules.Set("GroupId", f.web)
	cases := []struct {
		name   string
		form   string
		status int
		code   string
	}{
		{"malformed form", "Action=DescribeVpcs&Version=2016-11-15&%zz", 400, "MalformedQueryString"},
		{"no action", "Version=2016-11-15&VpcId.1=x", 400, "MissingAction"},
		{"unknown action", "Action=FlyToTheMoon", 400, "InvalidAction"},
		{"unsupported action", "Action=CreateTransitGateway&Version=2016-11-15", 400, "UnsupportedOperation"},
		{"action names are case-sensitive", "Action=createvpc&CidrBlock=10.1.0.0%2F16", 400, "InvalidAction"},
		{"wrong type int", "Action=CreateNetworkAclEntry&NetworkAclId=acl-1&RuleNumber=abc&Protocol=6&RuleAction=allow&Egress=false&CidrBlock=0.0.0.0%2F0", 400, "InvalidParameterValue"},
		{"wrong type bool", "Action=CreateNetworkAclEntry&NetworkAclId=acl-1&RuleNumber=1&Protocol=6&RuleAction=allow&Egress=maybe&CidrBlock=0.0.0.0%2F0", 400, "InvalidParameterValue"},
		{"wrong type port", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=x&IpPermissions.1.ToPort=1&IpPermissions.1.IpRanges.1.CidrIp=1.2.3.4%2F32", 400, "InvalidParameterValue"},
		{"wrong type dryrun", "Action=DescribeVpcs&DryRun=yes", 400, "InvalidParameterValue"},
		{"missing required", "Action=DeleteVpc", 400, "MissingParameter"},
		{"missing nested required", "Action=ModifySecurityGroupRules&GroupId=" + f.web + "&SecurityGroupRule.1.SecurityGroupRule.IpProtocol=tcp", 400, "MissingParameter"},
		{"invalid CIDR", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=1&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.300%2F8", 400, "InvalidParameterValue"},
		{"IPv6 CIDR as IPv4", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=1&IpPermissions.1.IpRanges.1.CidrIp=%3A%3A%2F0", 400, "InvalidParameterValue"},
		{"port range", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=90&IpPermissions.1.ToPort=80&IpPermissions.1.IpRanges.1.CidrIp=1.2.3.4%2F32", 400, "InvalidParameterValue"},
		{"tcp without ports", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.IpRanges.1.CidrIp=1.2.3.4%2F32", 400, "InvalidParameterValue"},
		{"no peer", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=1", 400, "InvalidParameterValue"},
		{"rule limit", "Action=AuthorizeSecurityGroupIngress&" + manyRules.Encode(), 400, "RulesPerSecurityGroupLimitExceeded"},
		{"one good one bad rule", "Action=AuthorizeSecurityGroupIngress&GroupId=" + f.web + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=1&IpPermissions.1.ToPort=1&IpPermissions.1.IpRanges.1.CidrIp=1.2.3.4%2F32&IpPermissions.2.IpProtocol=udp&IpPermissions.2.FromPort=1&IpPermissions.2.ToPort=1&IpPermissions.2.Groups.1.GroupId=sg-00000000000000000", 400, "InvalidGroup.NotFound"},
		{"malformed group id", "Action=DescribeSecurityGroups&GroupId.1=web", 400, "InvalidGroupId.Malformed"},
		{"VPC out of range", "Action=CreateVpc&CidrBlock=10.0.0.0%2F8", 400, "InvalidVpc.Range"},
		{"subnet outside the VPC", "Action=CreateSubnet&VpcId=" + f.vpc + "&CidrBlock=10.1.0.0%2F24", 400, "InvalidSubnet.Range"},
		{"overlapping subnet", "Action=CreateSubnet&VpcId=" + f.vpc + "&CidrBlock=10.0.1.128%2F25", 400, "InvalidSubnet.Conflict"},
		{"duplicate group name", "Action=CreateSecurityGroup&GroupName=web&GroupDescription=x&VpcId=" + f.vpc, 400, "InvalidGroup.Duplicate"},
		{"NACL protocol name", "Action=CreateNetworkAclEntry&NetworkAclId=acl-1&RuleNumber=1&Protocol=tcp&RuleAction=allow&Egress=false&CidrBlock=0.0.0.0%2F0", 400, "InvalidParameterValue"},
		{"NACL rule number", "Action=CreateNetworkAclEntry&NetworkAclId=acl-1&RuleNumber=32767&Protocol=-1&RuleAction=allow&Egress=false&CidrBlock=0.0.0.0%2F0", 400, "InvalidParameterValue"},
		{"tag type mismatch", "Action=CreateSecurityGroup&GroupName=t&GroupDescription=t&VpcId=" + f.vpc + "&TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=a", 400, "InvalidParameterValue"},
		{"reserved tag key", "Action=CreateTags&ResourceId.1=" + f.vpc + "&Tag.1.Key=aws%3Aname&Tag.1.Value=x", 400, "InvalidParameterValue"},
		{"tag unknown resource", "Action=CreateTags&ResourceId.1=" + f.vpc + "&ResourceId.2=subnet-00000000000000000&Tag.1.Key=a&Tag.1.Value=x", 400, "InvalidSubnetID.NotFound"},
		{"unknown filter", "Action=DescribeVpcs&Filter.1.Name=colour&Filter.1.Value.1=red", 400, "InvalidParameterValue"},
		{"dry run", "Action=CreateSecurityGroup&GroupName=dry&GroupDescription=dry&VpcId=" + f.vpc + "&DryRun=true", 412, "DryRunOperation"},
		{"dry run of a failing request", "Action=CreateSecurityGroup&GroupName=web&GroupDescription=dry&VpcId=" + f.vpc + "&DryRun=true", 400, "InvalidGroup.Duplicate"},
		{"dry run of a read", "Action=DescribeVpcs&DryRun=true", 412, "DryRunOperation"},
		{"private IP in use", "Action=RunInstances&MinCount=1&MaxCount=1&SubnetId=" + f.subnet + "&PrivateIpAddress=10.0.1.3", 400, "InvalidParameterValue"},
		{"unknown subnet", "Action=RunInstances&MinCount=1&MaxCount=1&SubnetId=subnet-00000000000000000", 400, "InvalidSubnetID.NotFound"},
		{"delete the default group", "Action=DeleteSecurityGroup&GroupName=default", 400, "CannotDelete"},
		{"delete a VPC in use", "Action=DeleteVpc&VpcId=" + f.vpc, 400, "DependencyViolation"},
	}
	for _, c := range cases {
		before := f.committed(t)
		st, body := f.s.post(t, c.form)
		x := parseXML(t, body)
		if st != c.status || !x.has("Errors/Error/Code") || x.get(t, "Errors/Error/Code") != c.code {
			t.Errorf("%s: HTTP %d %s, want %d %s", c.name, st, body, c.status, c.code)
			continue
		}
		if x.name != "Response" || x.get(t, "RequestID") == "" || x.get(t, "Errors/Error/Message") == "" {
			t.Errorf("%s: error document %s", c.name, body)
		}
		if f.committed(t) != before {
			t.Errorf("%s: the failed request changed the topology", c.name)
		}
	}
	// Unknown parameters are ignored; list indices sort as numbers, gaps allowed.
	st, body := f.s.post(t, "Action=DescribeSecurityGroups&Version=2016-11-15&Colour=red&GroupId.10="+f.web+"&GroupId.2=default-none&GroupId.x=1")
	if st != 400 || !strings.Contains(body, "default-none") {
		t.Errorf("indices: %d %s", st, body)
	}
	st, body = f.s.post(t, "Action=DescribeSecurityGroups&Version=2016-11-15&Colour=red&GroupId.10="+f.web+"&GroupId.x=1")
	if st != 200 || !strings.Contains(body, f.web) {
		t.Errorf("unknown parameters: %d %s", st, body)
	}
}

// GET with the parameters in the query works as POST does (API-1); the
// path is ignored.
func TestGetQuery(t *testing.T) {
	f := newF0(t)
	resp, err := http.Get(f.s.URL + "/any/path?Action=DescribeVpcs&Version=2016-11-15&VpcId.1=" + f.vpc)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/xml;charset=UTF-8" {
		t.Errorf("GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// A body over the limit is refused before it is parsed.
func TestBodyLimit(t *testing.T) {
	s := newTestServer(t, Config{MaxBodyBytes: 1024})
	st, body := s.post(t, "Action=DescribeVpcs&Filter.1.Name=vpc-id&Filter.1.Value.1="+strings.Repeat("a", 2000))
	if x := parseXML(t, body); st != 413 || x.get(t, "Errors/Error/Code") != "RequestEntityTooLarge" {
		t.Errorf("%d %s", st, body)
	}
}

// ClientToken: the same token and parameters give the first answer;
// other parameters with it are IdempotentParameterMismatch (API-6).
func TestClientToken(t *testing.T) {
	f := newF0(t)
	run := func(image string) (*ec2.RunInstancesOutput, error) {
		return f.ec2.RunInstances(ctx(t), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			ImageId: aws.String(image), SubnetId: &f.subnet, ClientToken: aws.String("token-1")})
	}
	a, err := run("ami-1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := run("ami-1")
	if err != nil {
		t.Fatal(err)
	}
	if *a.Instances[0].InstanceId != *b.Instances[0].InstanceId {
		t.Errorf("a repeated token launched %s and %s", *a.Instances[0].InstanceId, *b.Instances[0].InstanceId)
	}
	if _, err := run("ami-2"); apiCode(t, err) != "IdempotentParameterMismatch" {
		t.Errorf("other parameters: %v", err)
	}
	d, err := f.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Reservations); n != 1 {
		t.Errorf("%d reservations, want 1", n)
	}
}

// MaxResults and NextToken page through a Describe; wildcards and tags filter.
func TestPagingAndFilters(t *testing.T) {
	f := newF0(t)
	for i := range 6 {
		_, err := f.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String(fmt.Sprintf("g%d", i)),
			Description: aws.String("g"), VpcId: &f.vpc, TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSecurityGroup,
				Tags: []types.Tag{{Key: aws.String("tier"), Value: aws.String(fmt.Sprint(i % 2))}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	p := ec2.NewDescribeSecurityGroupsPaginator(f.ec2, &ec2.DescribeSecurityGroupsInput{MaxResults: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, g := range out.SecurityGroups {
			names = append(names, *g.GroupName)
		}
	}
	if pages != 2 || len(names) != 8 {
		t.Errorf("%d pages, groups %v; want 2 pages of 8 groups", pages, names)
	}
	_, err := f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{NextToken: aws.String("bogus")})
	if c := apiCode(t, err); c != "InvalidPaginationToken" {
		t.Errorf("bad token: %s", c)
	}
	count := func(filters ...types.Filter) int {
		out, err := f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.SecurityGroups)
	}
	flt := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	for _, c := range []struct {
		f    []types.Filter
		want int
	}{
		{[]types.Filter{flt("group-name", "g*")}, 6},
		{[]types.Filter{flt("group-name", "g?")}, 6},
		{[]types.Filter{flt("group-name", "*e*")}, 2}, // web, default
		{[]types.Filter{flt("tag:tier", "1")}, 3},
		{[]types.Filter{flt("tag-key", "tier")}, 6},
		{[]types.Filter{flt("tag:tier", "0"), flt("group-name", "g0", "g1")}, 1},
		{[]types.Filter{flt("egress.ip-permission.cidr", "0.0.0.0/0")}, 8},
	} {
		if got := count(c.f...); got != c.want {
			t.Errorf("filters %v: %d groups, want %d", c.f, got, c.want)
		}
	}
}

// Each region is its own universe, chosen by the credential scope (API-13).
func TestRegions(t *testing.T) {
	f := newF0(t)
	west := f.s.sdk("us-west-2")
	if _, err := west.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.7.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string]string{"us-east-1": "10.0.0.0/16", "us-west-2": "10.7.0.0/16"} {
		out, err := f.s.sdk(region).DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Vpcs) != 1 || *out.Vpcs[0].CidrBlock != want {
			t.Errorf("%s: %d VPCs", region, len(out.Vpcs))
		}
	}
}

// Strict mode verifies SigV4 signatures (API-13): the SDK and the CLI sign
// correctly; a wrong secret, an unknown key or no signature is AuthFailure.
func TestStrictSigV4(t *testing.T) {
	s := newTestServer(t, Config{Credentials: map[string]string{"AKIDVPCEMU": "s3cr3t"}})
	client := func(key, secret string) *ec2.Client {
		return ec2.New(ec2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(s.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
	}
	if _, err := client("AKIDVPCEMU", "s3cr3t").DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{Filters: []types.Filter{
		{Name: aws.String("cidr"), Values: []string{"10.0.0.0/16", "a b+c/d=e&f"}}}}); err != nil {
		t.Errorf("good signature refused: %v", err)
	}
	for _, kv := range [][2]string{{"AKIDVPCEMU", "wrong"}, {"AKIDOTHER", "s3cr3t"}} {
		_, err := client(kv[0], kv[1]).DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{})
		if c := apiCode(t, err); c != "AuthFailure" {
			t.Errorf("%v: %s, want AuthFailure", kv, c)
		}
		if ex := s.last(t, "DescribeVpcs"); ex.status != 403 {
			t.Errorf("%v: HTTP %d, want 403", kv, ex.status)
		}
	}
	if st, body := s.post(t, "Action=DescribeVpcs&Version=2016-11-15"); st != 403 || !strings.Contains(body, "AuthFailure") {
		t.Errorf("unsigned: %d %s", st, body)
	}
	// botocore's signer, through the CLI.
	cmd := func(secret string) int {
		t.Helper()
		_, errOut, code := s.cliAs(t, "AKIDVPCEMU", secret, "describe-vpcs", "--filters", "Name=cidr,Values=10.0.0.0/16")
		if code != 0 && secret == "s3cr3t" {
			t.Log(errOut)
		}
		return code
	}
	if cmd("s3cr3t") != 0 {
		t.Error("the CLI's signature was refused")
	}
	if cmd("wrong") == 0 {
		t.Error("the CLI with a wrong secret was accepted")
	}
}
