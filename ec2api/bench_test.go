package ec2api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// benchServer is a region with a VPC, two subnets, 10 groups of 20 rules
// and 20 instances: about the lab's size times ten.
func benchServer(b *testing.B) (*Server, string) {
	s := NewServer(Config{})
	send := func(form string) string {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form)))
		if w.Code != 200 {
			b.Fatalf("%s: %s", form, w.Body.String())
		}
		return w.Body.String()
	}
	grab := func(body, el string) string {
		_, after, _ := strings.Cut(body, "<"+el+">")
		v, _, _ := strings.Cut(after, "<")
		return v
	}
	vpcID := grab(send("Action=CreateVpc&CidrBlock=10.0.0.0%2F16"), "vpcId")
	var groups []string
	for g := range 10 {
		id := grab(send(fmt.Sprintf("Action=CreateSecurityGroup&GroupName=g%d&GroupDescription=g&VpcId=%s", g, vpcID)), "groupId")
		groups = append(groups, id)
		for r := range 20 {
			send(fmt.Sprintf("Action=AuthorizeSecurityGroupIngress&GroupId=%s&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=%d&IpPermissions.1.ToPort=%d&IpPermissions.1.IpRanges.1.CidrIp=10.%d.0.0%%2F16", id, 1000+r, 1000+r, g))
		}
	}
	for n := range 2 {
		sn := grab(send(fmt.Sprintf("Action=CreateSubnet&VpcId=%s&CidrBlock=10.0.%d.0%%2F24", vpcID, n+1)), "subnetId")
		for i := range 10 {
			send(fmt.Sprintf("Action=RunInstances&MinCount=1&MaxCount=1&SubnetId=%s&SecurityGroupId.1=%s", sn, groups[i]))
		}
	}
	return s, groups[0]
}

// BenchmarkAuthorizeRevoke is the API's share of request-to-enforcement:
// decode, edit a copy, validate it as a topology file, commit, answer
// (in-memory backend: no datapath).
func BenchmarkAuthorizeRevoke(b *testing.B) {
	s, sg := benchServer(b)
	perm := "&GroupId=" + sg + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=22&IpPermissions.1.ToPort=22&IpPermissions.1.IpRanges.1.CidrIp=198.51.100.10%2F32"
	forms := []string{"Action=AuthorizeSecurityGroupIngress" + perm, "Action=RevokeSecurityGroupIngress" + perm}
	b.ResetTimer()
	for i := range b.N {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(forms[i%2])))
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkDescribeSecurityGroups renders every group of the region.
func BenchmarkDescribeSecurityGroups(b *testing.B) {
	s, _ := benchServer(b)
	b.ResetTimer()
	for range b.N {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=DescribeSecurityGroups")))
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkValidate is the topology-file validation every mutation runs.
func BenchmarkValidate(b *testing.B) {
	s, _ := benchServer(b)
	r, _ := s.region("us-east-1")
	t := r.backend.Topology()
	b.ResetTimer()
	for range b.N {
		if _, err := Validate(t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateLab is that validation for the built-in lab.
func BenchmarkValidateLab(b *testing.B) {
	t := vpc.Lab()
	for range b.N {
		if _, err := Validate(t); err != nil {
			b.Fatal(err)
		}
	}
}
