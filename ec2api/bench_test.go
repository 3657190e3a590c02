package ec2api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// cpuTime is the CPU time the process has used, all threads: the
// benchmarks share the machine, so CPU time per request says more than
// wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op, the CPU time of b's loop per operation.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// exportValidate is how mutations were validated before vpc.Validate: the
// edited topology written as a topology file and parsed back. The
// benchmarks measure it beside Validate, in the same run.
func exportValidate(t *vpc.Topology) (*vpc.Topology, error) {
	if len(t.VPCs) == 0 {
		return t, nil
	}
	return vpc.Parse("", t.YAML())
}

// validators are the validations the benchmarks compare.
var validators = []struct {
	name string
	fn   func(*vpc.Topology) (*vpc.Topology, error)
}{{"validate", Validate}, {"parse-export", exportValidate}}

// benchServer is a region with a VPC, two subnets, 10 groups of 20 rules
// and 20 instances: about the lab's size times ten.
func benchServer(b *testing.B, validate func(*vpc.Topology) (*vpc.Topology, error)) (*Server, string) {
	s := NewServer(Config{Backend: func(string) (Backend, error) {
		return NewMemory(&vpc.Topology{Name: "api", Account: DefaultAccount, Region: "us-east-1", Limits: vpc.DefaultLimits}, validate), nil
	}})
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
// decode, edit a copy, validate it, commit, answer (in-memory backend: no
// datapath); one operation is an authorize or a revoke, alternately, of a
// rule of a group of the lab (lab) or of a region about ten times its size
// (10x20rules-20inst), with Validate and with the parse of the export it
// replaced.
func BenchmarkAuthorizeRevoke(b *testing.B) {
	for _, v := range validators {
		b.Run("lab/"+v.name, func(b *testing.B) {
			s := NewServer(Config{Backend: func(string) (Backend, error) { return NewMemory(vpc.Lab(), v.fn), nil }})
			authorizeRevoke(b, s, "sg-web")
		})
		b.Run("10x20rules-20inst/"+v.name, func(b *testing.B) {
			s, sg := benchServer(b, v.fn)
			authorizeRevoke(b, s, sg)
		})
	}
}

func authorizeRevoke(b *testing.B, s *Server, sg string) {
	perm := "&GroupId=" + sg + "&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=2222&IpPermissions.1.ToPort=2222&IpPermissions.1.IpRanges.1.CidrIp=198.51.100.10%2F32"
	forms := []string{"Action=AuthorizeSecurityGroupIngress" + perm, "Action=RevokeSecurityGroupIngress" + perm}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
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
	s, _ := benchServer(b, nil)
	b.ResetTimer()
	for range b.N {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=DescribeSecurityGroups")))
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkValidate is the validation every mutation runs, of the lab and
// of the ten times larger region, on a copy as Apply makes it.
func BenchmarkValidate(b *testing.B) {
	s, _ := benchServer(b, nil)
	r, _ := s.region("us-east-1")
	for _, tc := range []struct {
		name string
		t    *vpc.Topology
	}{{"lab", vpc.Lab()}, {"10x20rules-20inst", r.backend.Topology()}} {
		for _, v := range validators {
			b.Run(tc.name+"/"+v.name, func(b *testing.B) {
				b.ReportAllocs()
				defer reportCPU(b, cpuTime())
				for range b.N {
					if _, err := v.fn(tc.t.Clone()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
