package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/vpc"
)

// The EC2 API tests drive a detached daemon (up -d) with the real AWS CLI
// (`aws --endpoint-url`, throw-away credentials, no user configuration) and
// aws-sdk-go-v2, and check the outcome with real traffic: the lab's laptop
// (198.51.100.10) and stranger (192.0.2.66) against i-web's public
// address 203.0.113.10.

// apiLab is a running topology with its API endpoint.
type apiLab struct {
	name, file string
	endpoint   string // http://HOST:PORT
	region     string
	topo       *vpc.Topology // as brought up
}

// upAPILab brings a renamed lab up (edit changes its text) with extra up
// arguments and returns its API endpoint, read from status like a user.
func upAPILab(t *testing.T, edit func(string) string, args ...string) *apiLab {
	t.Helper()
	name, file := upLab(t, edit, args...)
	return openAPILab(t, name, file)
}

func openAPILab(t *testing.T, name, file string) *apiLab {
	t.Helper()
	out, code := vpcemu(t, "-t", name, "status", "-o", "json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	if st.API == "" {
		t.Fatalf("status shows no EC2 API address:\n%s", out)
	}
	topo, err := vpc.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return &apiLab{name: name, file: file, endpoint: apiURL(st.API), region: topo.Region, topo: topo}
}

// aws runs `aws ec2 ARGS` against the lab's API; it returns stdout (stderr
// appended on failure) and the exit code.
func (a *apiLab) aws(t *testing.T, args ...string) (string, int) {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("VPCEMU_REQUIRE_PRIV") == "1" {
			t.Fatal("the AWS CLI is not installed (make deps installs awscli)")
		}
		t.Skip("the AWS CLI is not installed (make deps installs awscli)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--endpoint-url", a.endpoint, "--region", a.region, "--output", "json", "ec2"}, args...)...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		return stdout.String() + stderr.String(), code
	}
	return stdout.String(), 0
}

// mustAWS is aws that fails the test on a non-zero exit.
func (a *apiLab) mustAWS(t *testing.T, args ...string) string {
	t.Helper()
	out, code := a.aws(t, args...)
	if code != 0 {
		t.Fatalf("aws ec2 %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// sdk is an aws-sdk-go-v2 EC2 client of the lab's API.
func (a *apiLab) sdk(key, secret string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:           a.region,
		BaseEndpoint:     aws.String(a.endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider(key, secret, ""),
		RetryMaxAttempts: 1,
	})
}

// curl runs curl inside host once (no retries) and tells whether it got
// an answer.
func (a *apiLab) curl(t *testing.T, host, url string) bool {
	t.Helper()
	_, code := vpcemu(t, "-t", a.name, "exec", host, "--", "curl", "-s", "--max-time", "1", url)
	return code == 0
}

// ns is the namespace of an internet host or instance.
func (a *apiLab) ns(t *testing.T, host string) string {
	t.Helper()
	p := vpc.NewPlan(a.topo)
	for i, h := range a.topo.Internet {
		if h.Name == host {
			return p.Hosts[i].NS
		}
	}
	for i, in := range a.topo.Instances {
		if in.ID == host {
			return p.Instances[i].NS
		}
	}
	t.Fatalf("no host %s", host)
	return ""
}

// echoConn is a TCP connection opened inside a namespace.
type echoConn struct{ net.Conn }

func dialFrom(t *testing.T, ns, addr string) *echoConn {
	t.Helper()
	var c net.Conn
	err := netns.Do(ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("connect from %s to %s: %v", ns, addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return &echoConn{c}
}

// echo sends one message and tells whether the echo came back in time.
func (c *echoConn) echo(msg string) bool {
	c.SetDeadline(time.Now().Add(1500 * time.Millisecond))
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	buf := make([]byte, len(msg))
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		if err != nil {
			return false
		}
		n += m
	}
	return string(buf) == msg
}

const (
	webHTTP    = "http://203.0.113.10/"
	noHTTPRule = "      - {protocol: tcp, ports: 80, cidr: 0.0.0.0/0}\n"
)

// enforcementLab is the lab without sg-web's HTTP rule, with two TCP echo
// servers on i-web: 7000 admitted from anywhere (with sg-web's all-outbound
// rule, an untracked flow: SG-23) and 7001 from the laptop alone (tracked).
func enforcementLab(y string) string {
	y = strings.Replace(y, noHTTPRule, "", 1)
	y = strings.Replace(y, "      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n",
		"      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n"+
			"      - {protocol: tcp, ports: 7000, cidr: 0.0.0.0/0}\n"+
			"      - {protocol: tcp, ports: 7001, cidr: 198.51.100.10/32}\n", 1)
	return strings.Replace(y, "services: [http, https, ssh]", `services: [http, https, ssh, "tcp:7000", "tcp:7001"]`, 1)
}

// The acceptance of live enforcement through the API (API-21): authorize
// makes a refused curl work at the next try; a NACL entry with a lower
// rule number denying the client blocks its next packet and not another
// client's; revoke cuts an untracked flow at its next packet and leaves a
// tracked one (SG-27, SG-28); state.json, and so exec and export, follow.
func TestAPILiveEnforcement(t *testing.T) {
	a := upAPILab(t, enforcementLab)

	if a.curl(t, "laptop", webHTTP) {
		t.Fatal("with no HTTP rule in sg-web the laptop's curl got an answer")
	}
	a.mustAWS(t, "authorize-security-group-ingress", "--group-id", "sg-web", "--protocol", "tcp", "--port", "80", "--cidr", "0.0.0.0/0")
	if !a.curl(t, "laptop", webHTTP) {
		t.Error("after authorize-security-group-ingress the laptop's next curl got no answer")
	}

	a.mustAWS(t, "create-network-acl-entry", "--network-acl-id", "acl-public", "--ingress", "--rule-number", "50",
		"--protocol", "-1", "--rule-action", "deny", "--cidr-block", "198.51.100.10/32")
	if a.curl(t, "laptop", webHTTP) {
		t.Error("NACL rule 50 denies the laptop, yet its next curl got an answer")
	}
	if !a.curl(t, "stranger", webHTTP) {
		t.Error("NACL rule 50 denies the laptop only, yet the stranger's curl got no answer")
	}
	a.mustAWS(t, "delete-network-acl-entry", "--network-acl-id", "acl-public", "--ingress", "--rule-number", "50")
	if !a.curl(t, "laptop", webHTTP) {
		t.Error("after delete-network-acl-entry the laptop's curl got no answer")
	}

	laptop := a.ns(t, "laptop")
	untracked := dialFrom(t, laptop, "203.0.113.10:7000")
	tracked := dialFrom(t, laptop, "203.0.113.10:7001")
	if !untracked.echo("a") || !tracked.echo("a") {
		t.Fatal("the echo connections do not work before the revoke")
	}
	a.mustAWS(t, "revoke-security-group-ingress", "--group-id", "sg-web", "--ip-permissions",
		`IpProtocol=tcp,FromPort=7000,ToPort=7000,IpRanges=[{CidrIp=0.0.0.0/0}]`,
		`IpProtocol=tcp,FromPort=7001,ToPort=7001,IpRanges=[{CidrIp=198.51.100.10/32}]`)
	if untracked.echo("b") {
		t.Error("SG-28: the untracked flow's next packet passed after its rule was revoked")
	}
	if !tracked.echo("b") {
		t.Error("SG-27: the tracked connection was cut when its rule was revoked")
	}
	if c, err := tryDial(laptop, "203.0.113.10:7001"); err == nil {
		c.Close()
		t.Error("a new connection to 7001 was admitted after its rule was revoked")
	}

	// The running topology as exec, explain and export read it.
	out, code := vpcemu(t, "-t", a.name, "export")
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	exp, err := vpc.Parse("export", []byte(out))
	if err != nil {
		t.Fatalf("the export does not parse: %v\n%s", err, out)
	}
	var ports []int
	for _, r := range exp.SecurityGroup("sg-web").Ingress {
		ports = append(ports, r.Ports.From)
	}
	if want := []int{443, 3389, 22, 80}; !slices.Equal(ports, want) {
		t.Errorf("exported sg-web admits ports %v, want %v", ports, want)
	}
	if n := exp.NetworkACL("acl-public"); len(n.Ingress) != 1 {
		t.Errorf("exported acl-public has %d inbound rules, want the one of the file", len(n.Ingress))
	}
}

func tryDial(ns, addr string) (c net.Conn, err error) {
	err = netns.Do(ns, func() error {
		c, err = net.DialTimeout("tcp", addr, time.Second)
		return err
	})
	return c, err
}

// Bad requests answer AWS's codes and change nothing, and the SDK sees the
// same topology the CLI changed.
func TestAPIErrorsChangeNothingSDK(t *testing.T) {
	a := upAPILab(t, enforcementLab)
	c := a.sdk("test", "test")
	ctx := context.Background()
	perm := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	if _, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-web"), IpPermissions: perm}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		what string
		call func() error
		code string
	}{
		{"duplicate rule", func() error {
			_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-web"), IpPermissions: perm})
			return err
		}, "InvalidPermission.Duplicate"},
		{"unknown group", func() error {
			_, err := c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-0123456789abcdef0"), IpPermissions: perm})
			return err
		}, "InvalidGroup.NotFound"},
		{"NACL rule number taken", func() error {
			_, err := c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: aws.String("acl-public"), RuleNumber: aws.Int32(100),
				Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny, Egress: aws.Bool(false), CidrBlock: aws.String("192.0.2.66/32")})
			return err
		}, "NetworkAclEntryAlreadyExists"},
		{"invalid CIDR", func() error {
			_, err := c.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-web"),
				IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80),
					IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.300/8")}}}}})
			return err
		}, "InvalidParameterValue"},
	} {
		before, _ := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, a.name))
		err := tc.call()
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != tc.code {
			t.Errorf("%s: %v, want %s", tc.what, err, tc.code)
		}
		after, _ := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, a.name))
		if before == nil || after == nil || before.YAML != after.YAML {
			t.Errorf("%s: the refused request changed the recorded topology", tc.what)
		}
	}
	if !a.curl(t, "laptop", webHTTP) {
		t.Error("after the SDK's authorize and the refused requests the laptop's curl got no answer")
	}
	// The CLI sees what the SDK did.
	out := a.mustAWS(t, "describe-security-group-rules", "--filters", "Name=group-id,Values=sg-web")
	if !strings.Contains(out, `"FromPort": 80`) {
		t.Errorf("describe-security-group-rules through the CLI misses the SDK's rule:\n%s", out)
	}
	// /metrics counts the requests by action and error code.
	st, _ := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, a.name))
	resp, err := http.Get(metricsURL(st.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`vpcemu_ec2_api_requests_total{action="AuthorizeSecurityGroupIngress",error_code=""} 1`,
		`vpcemu_ec2_api_requests_total{action="AuthorizeSecurityGroupIngress",error_code="InvalidPermission.Duplicate"} 1`,
		`vpcemu_ec2_api_requests_total{action="AuthorizeSecurityGroupIngress",error_code="InvalidGroup.NotFound"} 1`,
		`vpcemu_ec2_api_requests_total{action="CreateNetworkAclEntry",error_code="NetworkAclEntryAlreadyExists"} 1`,
		`vpcemu_ec2_api_requests_total{action="DescribeSecurityGroupRules",error_code=""} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// RunInstances adds an instance that exec reaches and curl works to (its
// default HTTP server answers with its id), and TerminateInstances removes
// it with nothing left behind (its namespace and sshd gone).
func TestAPIRunInstancesLive(t *testing.T) {
	a := upAPILab(t, nil)
	nsBefore := namespacesOf(t, a.name)
	out := a.mustAWS(t, "run-instances", "--image-id", "ami-12345678", "--count", "1", "--subnet-id", "subnet-public",
		"--private-ip-address", "10.0.1.50", "--security-group-ids", "sg-web")
	var run struct{ Instances []struct{ InstanceId string } }
	if err := json.Unmarshal([]byte(out), &run); err != nil || len(run.Instances) != 1 {
		t.Fatalf("run-instances output: %v\n%s", err, out)
	}
	id := run.Instances[0].InstanceId
	if out, code := vpcemu(t, "-t", a.name, "exec", id, "--", "hostname"); code != 0 {
		t.Errorf("exec %s: exit %d\n%s", id, code, out)
	}
	if out, code := vpcemu(t, "-t", a.name, "exec", "i-web", "--", "curl", "-s", "--max-time", "3", "http://10.0.1.50/"); code != 0 || strings.TrimSpace(out) != id {
		t.Errorf("i-web curls the new instance: exit %d, %q; want its id %s", code, out, id)
	}
	if after := namespacesOf(t, a.name); len(after) != len(nsBefore)+1 {
		t.Errorf("namespaces after run-instances: %v (before %v)", after, nsBefore)
	}
	a.mustAWS(t, "terminate-instances", "--instance-ids", id)
	if after := namespacesOf(t, a.name); !slices.Equal(after, nsBefore) {
		t.Errorf("after terminate-instances the namespaces are %v, want %v", after, nsBefore)
	}
	if _, code := vpcemu(t, "-t", a.name, "exec", "i-web", "--", "curl", "-s", "--max-time", "2", "http://10.0.1.50/"); code == 0 {
		t.Error("the terminated instance still answers")
	}
	if out, err := exec.Command("pgrep", "-f", vpc.NSPrefix(a.name)+"i."+id+".pid").CombinedOutput(); err == nil {
		t.Errorf("the terminated instance's sshd still runs: %s", out)
	}
}

// namespacesOf lists the namespaces of topology name.
func namespacesOf(t *testing.T, name string) []string {
	t.Helper()
	ents, err := os.ReadDir(netns.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), vpc.NSPrefix(name)) {
			out = append(out, e.Name())
		}
	}
	return out
}

// export then up -f on the export gives a topology whose describe-*
// answers equal the original's: a lab changed through the API (a new
// group with a rule referencing another, a new NACL with entries and an
// association, an instance's groups, tags, a flow log) is exported and
// brought up again under another name, and both daemons answer the same.
// The second one checks signatures (--api-credentials).
func TestAPIExportUpRecreates(t *testing.T) {
	a := upAPILab(t, nil)
	ctx := context.Background()
	c := a.sdk("test", "test")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	tags := func(rt ec2types.ResourceType, k, v string) []ec2types.TagSpecification {
		return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String(k), Value: aws.String(v)}}}}
	}
	sg, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("app"), Description: aws.String("app tier"),
		VpcId: aws.String("vpc-lab"), TagSpecifications: tags(ec2types.ResourceTypeSecurityGroup, "tier", "app")})
	if err != nil {
		t.Fatal(err)
	}
	must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8080), ToPort: aws.Int32(8080),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-web"), Description: aws.String("from the web tier")}}}}}))
	acl, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String("vpc-lab"), TagSpecifications: tags(ec2types.ResourceTypeNetworkAcl, "Name", "private")})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		egress bool
		n      int32
		cidr   string
	}{{false, 100, "10.0.0.0/16"}, {true, 100, "10.0.0.0/16"}, {false, 200, "0.0.0.0/0"}} {
		must(c.CreateNetworkAclEntry(ctx, &ec2.CreateNetworkAclEntryInput{NetworkAclId: acl.NetworkAcl.NetworkAclId, RuleNumber: aws.Int32(e.n),
			Protocol: aws.String("6"), RuleAction: ec2types.RuleActionAllow, Egress: aws.Bool(e.egress), CidrBlock: aws.String(e.cidr),
			PortRange: &ec2types.PortRange{From: aws.Int32(1024), To: aws.Int32(65535)}}))
	}
	acls, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{"subnet-private"}}}})
	if err != nil || len(acls.NetworkAcls) != 1 {
		t.Fatalf("the NACL of subnet-private: %v %v", acls, err)
	}
	var assoc string
	for _, as := range acls.NetworkAcls[0].Associations {
		if aws.ToString(as.SubnetId) == "subnet-private" {
			assoc = aws.ToString(as.NetworkAclAssociationId)
		}
	}
	must(c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{AssociationId: aws.String(assoc), NetworkAclId: acl.NetworkAcl.NetworkAclId}))
	must(c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{InstanceId: aws.String("i-db"), Groups: []string{"sg-db", aws.ToString(sg.GroupId)}}))
	must(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"i-web", "subnet-public"}, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String("web")}}}))
	web, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-web"}})
	if err != nil {
		t.Fatal(err)
	}
	must(c.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{ResourceType: ec2types.FlowLogsResourceTypeNetworkInterface,
		ResourceIds: []string{aws.ToString(web.Reservations[0].Instances[0].NetworkInterfaces[0].NetworkInterfaceId)},
		TrafficType: ec2types.TrafficTypeReject, LogDestinationType: ec2types.LogDestinationTypeS3, LogDestination: aws.String("arn:aws:s3:::audit")}))

	exported := a.file + ".export.yaml"
	if out, code := vpcemu(t, "-t", a.name, "export", "-o", exported); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	text, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	// upLab names the copy: the export under that name.
	b := upAPILab(t, func(y string) string {
		name := strings.TrimPrefix(strings.SplitN(y[strings.Index(y, "\nname: ")+1:], "\n", 2)[0], "name: ")
		return strings.Replace(string(text), "name: "+a.name+"\n", "name: "+name+"\n", 1)
	}, "--api-credentials", "AKIDVPCEMUTEST:s3cr3t")
	if _, err := b.sdk("AKIDVPCEMUTEST", "wrong").DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); !isCode(err, "AuthFailure") {
		t.Errorf("a request signed with the wrong secret: %v, want AuthFailure", err)
	}
	da, db := describeAll(t, a.sdk("test", "test")), describeAll(t, b.sdk("AKIDVPCEMUTEST", "s3cr3t"))
	for k, want := range map[string]string{"DescribeFlowLogs": "arn:aws:s3:::audit", "DescribeSecurityGroups": "from the web tier",
		"DescribeNetworkAcls": `"Value": "private"`, "DescribeInstances": `"Value": "web"`} {
		if !strings.Contains(da[k], want) {
			t.Errorf("%s of the changed lab misses %q:\n%s", k, want, da[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(da)) {
		if da[k] != db[k] {
			t.Errorf("%s differs after export and up -f:\n%s", k, lineDiff(da[k], db[k]))
		}
	}
}

func isCode(err error, code string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == code
}

// describeAll answers every describe call of the API as JSON, with what
// a recreated topology cannot keep (creation and launch times) left out.
func describeAll(t *testing.T, c *ec2.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		var m any
		json.Unmarshal(b, &m)
		dropKeys(m, "ResultMetadata", "LaunchTime", "CreationTime", "AttachTime", "CreateTime", "NextToken")
		b, _ = json.MarshalIndent(m, "", " ")
		out[name] = string(b)
	}
	r1, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	put("DescribeVpcs", r1, err)
	r2, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	put("DescribeSubnets", r2, err)
	r3, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	put("DescribeSecurityGroups", r3, err)
	r4, err := c.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{})
	put("DescribeSecurityGroupRules", r4, err)
	r5, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{})
	put("DescribeNetworkAcls", r5, err)
	r6, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
	put("DescribeRouteTables", r6, err)
	r7, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	put("DescribeInstances", r7, err)
	r8, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{})
	put("DescribeNetworkInterfaces", r8, err)
	r9, err := c.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{})
	put("DescribeFlowLogs", r9, err)
	r10, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{})
	put("DescribeInternetGateways", r10, err)
	r11, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{})
	put("DescribeTags", r11, err)
	r12, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{})
	put("DescribeAddresses", r12, err)
	r13, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{})
	put("DescribeNatGateways", r13, err)
	r14, err := c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{})
	put("DescribeManagedPrefixLists", r14, err)
	return out
}

// dropKeys removes the named keys from every object inside v.
func dropKeys(v any, keys ...string) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(x, k)
		}
		for _, e := range x {
			dropKeys(e, keys...)
		}
	case []any:
		for _, e := range x {
			dropKeys(e, keys...)
		}
	}
}

// lineDiff shows the lines of a and b from their first difference on.
func lineDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	i := 0
	for i < len(la) && i < len(lb) && la[i] == lb[i] {
		i++
	}
	from := max(0, i-3)
	return "original:\n" + strings.Join(la[from:min(len(la), i+8)], "\n") + "\nrecreated:\n" + strings.Join(lb[from:min(len(lb), i+8)], "\n")
}

// tfPlugins is a Terraform provider mirror holding hashicorp/aws (the
// machine may have one; nothing here downloads a provider).
func tfPlugins(t *testing.T) (terraform, mirror string) {
	t.Helper()
	if os.Getenv("VPCEMU_TEST_TERRAFORM") != "1" {
		t.Skip("Terraform's run takes minutes of CPU: make test-terraform (VPCEMU_TEST_TERRAFORM=1) runs it")
	}
	bin, err := exec.LookPath("terraform")
	mirror = os.Getenv("VPCEMU_TF_PLUGINS")
	if mirror == "" {
		mirror = "/opt/tf-plugins"
	}
	if err != nil {
		t.Skip("terraform is not installed (optional: make deps does not install it)")
	}
	if _, err := os.Stat(mirror + "/registry.terraform.io/hashicorp/aws"); err != nil {
		t.Skipf("no hashicorp/aws provider in the mirror %s (VPCEMU_TF_PLUGINS names another)", mirror)
	}
	return bin, mirror
}

// The README's Terraform provider block (API-15) drives a running lab: a
// security group with inline rules and a NACL rule denying the laptop are
// created, obeyed by the next packet, show no drift on plan, and go away
// on destroy. It needs terraform and a provider mirror (nothing downloads
// a provider here): make test-terraform.
func TestTerraformDrivesLab(t *testing.T) {
	tf, mirror := tfPlugins(t)
	a := upAPILab(t, nil)
	dir := t.TempDir()
	rc := "provider_installation {\n  filesystem_mirror {\n    path    = \"" + mirror + "\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }\n}\n"
	if err := os.WriteFile(dir+"/cli.tfrc", []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	main := `terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region                      = "` + a.region + `"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ec2 = "` + a.endpoint + `"
  }
}

resource "aws_security_group" "admin" {
  name        = "admin"
  description = "SSH from the stranger"
  vpc_id      = "vpc-lab"
  ingress {
    protocol    = "tcp"
    from_port   = 22
    to_port     = 22
    cidr_blocks = ["192.0.2.66/32"]
  }
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_network_acl_rule" "block_laptop" {
  network_acl_id = "acl-public"
  rule_number    = 50
  egress         = false
  protocol       = "-1"
  rule_action    = "deny"
  cidr_block     = "198.51.100.10/32"
}
`
	if err := os.WriteFile(dir+"/main.tf", []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+dir+"/cli.tfrc", "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	for _, args := range [][]string{{"init", "-input=false", "-no-color"}, {"apply", "-auto-approve", "-input=false", "-no-color"}} {
		if out, code := run(args...); code != 0 {
			t.Fatalf("terraform %s: exit %d\n%s", args[0], code, out)
		}
	}
	if a.curl(t, "laptop", webHTTP) {
		t.Error("Terraform's NACL rule 50 denies the laptop, yet its next curl got an answer")
	}
	if !a.curl(t, "stranger", webHTTP) {
		t.Error("after Terraform's apply the stranger's curl got no answer")
	}
	if out := a.mustAWS(t, "describe-security-groups", "--filters", "Name=group-name,Values=admin"); !strings.Contains(out, "192.0.2.66/32") {
		t.Errorf("the group Terraform created is not described with its rule:\n%s", out)
	}
	if out, code := run("plan", "-detailed-exitcode", "-input=false", "-no-color"); code != 0 {
		t.Errorf("terraform plan right after apply: exit %d (2 = drift)\n%s", code, out)
	}
	if out, code := run("destroy", "-auto-approve", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("terraform destroy: exit %d\n%s", code, out)
	}
	if !a.curl(t, "laptop", webHTTP) {
		t.Error("after terraform destroy the laptop's curl got no answer")
	}
	if out, _ := vpcemu(t, "-t", a.name, "export"); strings.Contains(out, "name: admin") {
		t.Error("the destroyed group is still in the running topology")
	}
}
