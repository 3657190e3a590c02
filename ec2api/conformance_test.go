package ec2api

import (
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpcemu/vpcemu/vpc"
)

// f0 is fixture F0 of the spec's §5: a VPC 10.0.0.0/16, a subnet
// 10.0.1.0/24 and a group "web", created through the Go SDK.
type f0 struct {
	s                *testServer
	ec2              *ec2.Client
	vpc, subnet, web string
}

func newF0(t *testing.T) *f0 {
	t.Helper()
	s := newTestServer(t, Config{})
	c := s.sdk("us-east-1")
	v, err := c.CreateVpc(ctx(t), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	sn, err := c.CreateSubnet(ctx(t), &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: v.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	return &f0{s: s, ec2: c, vpc: *v.Vpc.VpcId, subnet: *sn.Subnet.SubnetId, web: *g.GroupId}
}

// exportRoundTrips checks that the committed topology is one its export
// recreates exactly (what `vpcemu export` then `up -f` relies on).
func (f *f0) exportRoundTrips(t *testing.T) {
	t.Helper()
	cur := f.committed(t).Clone()
	back, err := vpc.Parse("", cur.YAML())
	if err != nil {
		t.Fatalf("the export does not parse: %v\n%s", err, cur.YAML())
	}
	vpc.ClearIncidentals(cur)
	vpc.ClearIncidentals(back)
	if d := vpc.Diff(cur, back); d != "" {
		t.Errorf("the export parses to another topology: %s", d)
	}
}

var reSGR = regexp.MustCompile(`^sgr-[0-9a-f]{17}$`)

// apiCode returns the EC2 error code of an SDK error.
func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode()
}

// API-TV-1 and API-TV-2 through the AWS CLI, then API-TV-11 through the SDK.
func TestAPITV1AuthorizeThroughCLI(t *testing.T) {
	f := newF0(t)
	perm := `[{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"198.51.100.10/32"}]}]`
	out, errOut, code := f.s.cli(t, "authorize-security-group-ingress", "--group-id", f.web, "--ip-permissions", perm)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// What the CLI sent (API-3).
	ex := f.s.last(t, "AuthorizeSecurityGroupIngress")
	want := url.Values{"Action": {"AuthorizeSecurityGroupIngress"}, "Version": {"2016-11-15"}, "GroupId": {f.web},
		"IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"22"}, "IpPermissions.1.ToPort": {"22"},
		"IpPermissions.1.IpRanges.1.CidrIp": {"198.51.100.10/32"}}
	if ex.form.Encode() != want.Encode() {
		t.Errorf("wire form\n got %s\nwant %s", ex.form.Encode(), want.Encode())
	}
	// What the server answered (API-7..9).
	x := parseXML(t, ex.body)
	if x.name != "AuthorizeSecurityGroupIngressResponse" || ex.status != 200 {
		t.Fatalf("HTTP %d root %s", ex.status, x.name)
	}
	if x.get(t, "return") != "true" || x.get(t, "requestId") == "" {
		t.Errorf("return/requestId missing: %s", ex.body)
	}
	items := x.all("securityGroupRuleSet/item")
	if len(items) != 1 {
		t.Fatalf("%d rule items, want 1: %s", len(items), ex.body)
	}
	it := items[0]
	rid := it.get(t, "securityGroupRuleId")
	for path, want := range map[string]string{"groupId": f.web, "isEgress": "false", "ipProtocol": "tcp", "fromPort": "22", "toPort": "22", "cidrIpv4": "198.51.100.10/32"} {
		if got := it.get(t, path); got != want {
			t.Errorf("%s = %q, want %q", path, got, want)
		}
	}
	if !reSGR.MatchString(rid) {
		t.Errorf("securityGroupRuleId %q is not sgr- and 17 hex digits", rid)
	}
	// What the CLI printed.
	var printed struct {
		Return             bool
		SecurityGroupRules []struct{ SecurityGroupRuleId, CidrIpv4 string }
	}
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatalf("CLI output: %v: %s", err, out)
	}
	if !printed.Return || len(printed.SecurityGroupRules) != 1 || printed.SecurityGroupRules[0].SecurityGroupRuleId != rid {
		t.Errorf("CLI printed %s", out)
	}

	// API-TV-2: the same again is a duplicate; nothing is added.
	_, errOut, code = f.s.cli(t, "authorize-security-group-ingress", "--group-id", f.web, "--ip-permissions", perm)
	if code == 0 || !strings.Contains(errOut, "InvalidPermission.Duplicate") {
		t.Errorf("repeat: exit %d, stderr %q; want a failure with InvalidPermission.Duplicate", code, errOut)
	}
	if ex := f.s.last(t, "AuthorizeSecurityGroupIngress"); ex.status != 400 {
		t.Errorf("repeat: HTTP %d, want 400", ex.status)
	}
	rules, err := f.ec2.DescribeSecurityGroupRules(ctx(t), &ec2.DescribeSecurityGroupRulesInput{
		Filters: []types.Filter{{Name: aws.String("group-id"), Values: []string{f.web}}}})
	if err != nil {
		t.Fatal(err)
	}
	ingress := 0
	for _, r := range rules.SecurityGroupRules {
		if !*r.IsEgress {
			ingress++
		}
	}
	if ingress != 1 {
		t.Errorf("%d ingress rules after the duplicate, want 1", ingress)
	}

	// API-TV-11: revoke by rule id, again, then by permission.
	rv, err := f.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: &f.web, SecurityGroupRuleIds: []string{rid}})
	if err != nil || !*rv.Return {
		t.Fatalf("revoke by id: %v", err)
	}
	_, err = f.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: &f.web, SecurityGroupRuleIds: []string{rid}})
	if c := apiCode(t, err); c != "InvalidSecurityGroupRuleId.NotFound" {
		t.Errorf("revoke again: %s, want InvalidSecurityGroupRuleId.NotFound", c)
	}
	_, err = f.ec2.RevokeSecurityGroupIngress(ctx(t), &ec2.RevokeSecurityGroupIngressInput{GroupId: &f.web, IpPermissions: []types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []types.IpRange{{CidrIp: aws.String("198.51.100.10/32")}}}}})
	if c := apiCode(t, err); c != "InvalidPermission.NotFound" {
		t.Errorf("revoke by permission: %s, want InvalidPermission.NotFound", c)
	}
}

// API-TV-3: a new group's one egress rule, and revoking it as Terraform does.
func TestAPITV3DefaultEgress(t *testing.T) {
	f := newF0(t)
	out, err := f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{f.web}})
	if err != nil {
		t.Fatal(err)
	}
	g := out.SecurityGroups[0]
	if len(g.IpPermissions) != 0 || len(g.IpPermissionsEgress) != 1 {
		t.Fatalf("ingress %d, egress %d permissions; want 0 and 1", len(g.IpPermissions), len(g.IpPermissionsEgress))
	}
	x := parseXML(t, f.s.last(t, "DescribeSecurityGroups").body)
	sg := x.all("securityGroupInfo/item")[0]
	if !sg.has("ipPermissions") || sg.has("ipPermissions/item") {
		t.Error("want an empty ipPermissions element")
	}
	e := sg.all("ipPermissionsEgress/item")
	if len(e) != 1 || e[0].get(t, "ipProtocol") != "-1" || e[0].get(t, "ipRanges/item/cidrIp") != "0.0.0.0/0" {
		t.Fatalf("egress permission: %+v", e)
	}
	if e[0].has("fromPort") || e[0].has("toPort") {
		t.Error("a -1 permission carries fromPort/toPort")
	}
	_, body := f.s.call(t, "RevokeSecurityGroupEgress", map[string]string{"GroupId": f.web, "IpPermissions.1.IpProtocol": "-1",
		"IpPermissions.1.FromPort": "0", "IpPermissions.1.ToPort": "0", "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"}, nil)
	if x := parseXML(t, body); !x.has("return") || x.get(t, "return") != "true" {
		t.Fatalf("revoke: %s", body)
	}
	out, err = f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{f.web}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.SecurityGroups[0].IpPermissionsEgress); n != 0 {
		t.Errorf("%d egress permissions after the revoke, want 0", n)
	}
	if x := parseXML(t, f.s.last(t, "DescribeSecurityGroups").body); !x.has("securityGroupInfo/item/ipPermissionsEgress") {
		t.Error("want an empty ipPermissionsEgress element")
	}
}

// API-TV-5: an unknown group is InvalidGroup.NotFound in AWS's error document.
func TestAPITV5NotFound(t *testing.T) {
	f := newF0(t)
	_, err := f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000dead"}})
	if c := apiCode(t, err); c != "InvalidGroup.NotFound" {
		t.Fatalf("code %s", c)
	}
	ex := f.s.last(t, "DescribeSecurityGroups")
	x := parseXML(t, ex.body)
	if ex.status != 400 || x.name != "Response" {
		t.Fatalf("HTTP %d root %s", ex.status, x.name)
	}
	if x.get(t, "Errors/Error/Code") != "InvalidGroup.NotFound" || !strings.Contains(x.get(t, "Errors/Error/Message"), "sg-0000000000000dead") {
		t.Errorf("error document: %s", ex.body)
	}
	reqID := x.get(t, "RequestID")
	var re *awshttp.ResponseError
	if reqID == "" || !errors.As(err, &re) || re.ServiceRequestID() != reqID {
		t.Errorf("RequestID %q; the SDK saw %v", reqID, err)
	}
}

// API-TV-6: filters are ANDed across names and ORed across values.
func TestAPITV6Filters(t *testing.T) {
	f := newF0(t)
	out, err := f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{f.vpc}},
		{Name: aws.String("group-name"), Values: []string{"web", "default"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, g := range out.SecurityGroups {
		got[*g.GroupName] = *g.Description
		if *g.VpcId != f.vpc {
			t.Errorf("%s in %s", *g.GroupName, *g.VpcId)
		}
	}
	if len(out.SecurityGroups) != 2 || got["web"] != "web" || got["default"] != "default VPC security group" {
		t.Errorf("groups %v", got)
	}
}

// API-TV-7 and API-TV-8: a new NACL's entries, adding, repeating, Terraform's
// -1 form, and deleting a missing entry.
func TestAPITV7NetworkAclEntries(t *testing.T) {
	f := newF0(t)
	a, err := f.ec2.CreateNetworkAcl(ctx(t), &ec2.CreateNetworkAclInput{VpcId: &f.vpc})
	if err != nil {
		t.Fatal(err)
	}
	acl := *a.NetworkAcl.NetworkAclId
	if *a.NetworkAcl.IsDefault || len(a.NetworkAcl.Entries) != 2 {
		t.Fatalf("new NACL: default %v, %d entries", *a.NetworkAcl.IsDefault, len(a.NetworkAcl.Entries))
	}
	egress := map[bool]bool{}
	for _, e := range a.NetworkAcl.Entries {
		if *e.RuleNumber != 32767 || *e.Protocol != "-1" || e.RuleAction != types.RuleActionDeny || *e.CidrBlock != "0.0.0.0/0" {
			t.Errorf("entry %+v", e)
		}
		egress[*e.Egress] = true
	}
	if len(egress) != 2 {
		t.Error("want one 32767 entry per direction")
	}
	entry := map[string]string{"NetworkAclId": acl, "RuleNumber": "100", "Protocol": "6", "RuleAction": "allow", "Egress": "false",
		"CidrBlock": "0.0.0.0/0", "PortRange.From": "22", "PortRange.To": "22"}
	_, body := f.s.call(t, "CreateNetworkAclEntry", entry, nil)
	if parseXML(t, body).get(t, "return") != "true" {
		t.Fatalf("create entry: %s", body)
	}
	d, err := f.ec2.DescribeNetworkAcls(ctx(t), &ec2.DescribeNetworkAclsInput{NetworkAclIds: []string{acl}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range d.NetworkAcls[0].Entries {
		if *e.RuleNumber == 100 {
			found = *e.Protocol == "6" && !*e.Egress && *e.PortRange.From == 22 && *e.PortRange.To == 22
		}
	}
	if !found {
		t.Errorf("entry 100 not listed as tcp 22 ingress: %+v", d.NetworkAcls[0].Entries)
	}
	f.s.wantError(t, "CreateNetworkAclEntry", entry, 400, "NetworkAclEntryAlreadyExists")
	entry["Egress"] = "true"
	f.s.mustCall(t, "CreateNetworkAclEntry", entry, nil)

	// API-TV-8
	f.s.mustCall(t, "CreateNetworkAclEntry", map[string]string{"NetworkAclId": acl, "RuleNumber": "200", "Protocol": "-1",
		"RuleAction": "deny", "Egress": "false", "CidrBlock": "10.0.0.0/16", "PortRange.From": "0", "PortRange.To": "0"}, nil)
	body = f.s.mustCall(t, "DescribeNetworkAcls", map[string]string{"NetworkAclId.1": acl}, nil)
	var e200 *xnode
	for _, e := range parseXML(t, body).all("networkAclSet/item/entrySet/item") {
		if e.get(t, "ruleNumber") == "200" {
			e200 = e
		}
	}
	if e200 == nil || e200.get(t, "protocol") != "-1" || e200.get(t, "ruleAction") != "deny" || e200.get(t, "cidrBlock") != "10.0.0.0/16" || e200.has("portRange") {
		t.Errorf("entry 200: %s", body)
	}
	f.s.wantError(t, "DeleteNetworkAclEntry", map[string]string{"NetworkAclId": acl, "RuleNumber": "200", "Egress": "true"}, 400, "InvalidNetworkAclEntry.NotFound")
}

// API-TV-12: an instance, its groups, source/destination check.
func TestAPITV12Instances(t *testing.T) {
	f := newF0(t)
	run, err := f.ec2.RunInstances(ctx(t), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ImageId: aws.String("ami-12345678"),
		SubnetId: &f.subnet, SecurityGroupIds: []string{f.web}})
	if err != nil {
		t.Fatal(err)
	}
	inst := run.Instances[0]
	if len(inst.SecurityGroups) != 1 || *inst.SecurityGroups[0].GroupId != f.web || len(inst.NetworkInterfaces) != 1 {
		t.Fatalf("instance %+v", inst)
	}
	id, eni := *inst.InstanceId, *inst.NetworkInterfaces[0].NetworkInterfaceId
	db, err := f.ec2.CreateSecurityGroup(ctx(t), &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("db"), VpcId: &f.vpc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.ModifyInstanceAttribute(ctx(t), &ec2.ModifyInstanceAttributeInput{InstanceId: &id, Groups: []string{f.web, *db.GroupId}}); err != nil {
		t.Fatal(err)
	}
	d, err := f.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	groups := func(gs []types.GroupIdentifier) []string {
		var out []string
		for _, g := range gs {
			out = append(out, *g.GroupId)
		}
		slices.Sort(out)
		return out
	}
	want := []string{f.web, *db.GroupId}
	slices.Sort(want)
	got := d.Reservations[0].Instances[0]
	if !slices.Equal(groups(got.SecurityGroups), want) || !slices.Equal(groups(got.NetworkInterfaces[0].Groups), want) {
		t.Errorf("groups %v / %v, want %v", groups(got.SecurityGroups), groups(got.NetworkInterfaces[0].Groups), want)
	}
	_, err = f.ec2.DeleteSecurityGroup(ctx(t), &ec2.DeleteSecurityGroupInput{GroupId: db.GroupId})
	if c := apiCode(t, err); c != "DependencyViolation" {
		t.Errorf("delete a group in use: %s", c)
	}
	if _, err := f.ec2.ModifyNetworkInterfaceAttribute(ctx(t), &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: &eni,
		SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)}}); err != nil {
		t.Fatal(err)
	}
	n, err := f.ec2.DescribeNetworkInterfaces(ctx(t), &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{eni}})
	if err != nil {
		t.Fatal(err)
	}
	if *n.NetworkInterfaces[0].SourceDestCheck {
		t.Error("DescribeNetworkInterfaces: sourceDestCheck still true")
	}
	d, err = f.ec2.DescribeInstances(ctx(t), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Reservations[0].Instances[0].SourceDestCheck {
		t.Error("DescribeInstances: sourceDestCheck still true")
	}
	f.exportRoundTrips(t)
}

// API-TV-13: an unknown action, and a missing required parameter that
// creates nothing.
func TestAPITV13BadRequests(t *testing.T) {
	f := newF0(t)
	st, body := f.s.post(t, "Action=FlyToTheMoon&Version=2016-11-15")
	if x := parseXML(t, body); st != 400 || x.get(t, "Errors/Error/Code") != "InvalidAction" {
		t.Errorf("FlyToTheMoon: %d %s", st, body)
	}
	st, body = f.s.post(t, "Action=CreateSecurityGroup&Version=2016-11-15&GroupDescription=x&VpcId="+f.vpc)
	if x := parseXML(t, body); st != 400 || x.get(t, "Errors/Error/Code") != "MissingParameter" {
		t.Errorf("no GroupName: %d %s", st, body)
	}
	out, err := f.ec2.DescribeSecurityGroups(ctx(t), &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{f.vpc}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SecurityGroups) != 2 {
		t.Errorf("%d groups in the VPC, want 2 (default, web)", len(out.SecurityGroups))
	}
}
