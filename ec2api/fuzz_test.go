package ec2api

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fuzzState is a server with a VPC, a subnet and a group, shared by the
// inputs of one fuzzing process; $vpc, $subnet and $sg in an input name
// them, so inputs reach the handlers and not only NotFound.
var fuzzState struct {
	once sync.Once
	srv  *Server
	ids  map[string]string
}

func fuzzServer(t *testing.T) (*Server, *strings.Replacer) {
	fuzzState.once.Do(func() {
		s := NewServer(Config{})
		ids := map[string]string{}
		send := func(form string) string {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form)))
			return w.Body.String()
		}
		grab := func(body, el string) string {
			_, after, _ := strings.Cut(body, "<"+el+">")
			v, _, _ := strings.Cut(after, "<")
			return v
		}
		ids["$vpc"] = grab(send("Action=CreateVpc&CidrBlock=10.0.0.0%2F16"), "vpcId")
		ids["$subnet"] = grab(send("Action=CreateSubnet&VpcId="+ids["$vpc"]+"&CidrBlock=10.0.1.0%2F24"), "subnetId")
		ids["$sg"] = grab(send("Action=CreateSecurityGroup&GroupName=f&GroupDescription=f&VpcId="+ids["$vpc"]), "groupId")
		fuzzState.srv, fuzzState.ids = s, ids
	})
	var pairs []string
	for k, v := range fuzzState.ids {
		pairs = append(pairs, k, v)
	}
	return fuzzState.srv, strings.NewReplacer(pairs...)
}

// FuzzRequest feeds arbitrary forms to the server: it never panics, never
// answers 5xx, always answers a well-formed response or error document, and
// a failed request commits nothing. The seeds are the Terraform fixtures'
// requests and a few malformed forms.
func FuzzRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/terraform/*.txt")
	for _, file := range files {
		fh, err := os.Open(file)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if form, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "> "); ok {
				f.Add(strings.NewReplacer("$acl", "acl-00000000000000001", "$rule", "sgr-00000000000000001").Replace(form))
			}
		}
		fh.Close()
	}
	for _, s := range []string{"", "Action", "Action=", "Action=DescribeVpcs&Filter.1.Name=vpc-id&Filter.1.Value.99999999999999999999=x",
		"Action=AuthorizeSecurityGroupIngress&GroupId=$sg&IpPermissions.1.IpRanges.1.CidrIp=%zz", "Action=DescribeVpcs&VpcId.-1=x&VpcId..1=y&.=.",
		"Action=RunInstances&MinCount=2147483648&MaxCount=1", "Action=CreateNetworkAclEntry&PortRange=1&PortRange.From.X=2",
		"Action=DescribeSecurityGroups&MaxResults=5&NextToken=bzoz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, form string) {
		s, ids := fuzzServer(t)
		form = ids.Replace(form)
		reg, _ := s.region("us-east-1")
		before := reg.backend.Topology()
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form)))
		if w.Code >= 500 {
			t.Fatalf("HTTP %d for %q: %s", w.Code, form, w.Body.String())
		}
		x := parseXML(t, w.Body.String())
		if w.Code != 200 {
			if x.name != "Response" || len(x.all("Errors/Error/Code")) != 1 {
				t.Fatalf("error document for %q: %s", form, w.Body.String())
			}
			if reg.backend.Topology() != before {
				t.Fatalf("the failed request %q changed the topology", form)
			}
		} else if !strings.HasSuffix(x.name, "Response") || len(x.all("requestId")) != 1 {
			t.Fatalf("response for %q: %s", form, w.Body.String())
		}
	})
}
