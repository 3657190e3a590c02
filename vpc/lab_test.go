package vpc

import (
	"errors"
	"net/netip"
	"os"
	"testing"
)

func TestLabParsesWithAWSDefaults(t *testing.T) {
	lab := Lab()
	if lab.Name != "lab" || lab.Account != "123456789012" || lab.Region != "ap-northeast-2" {
		t.Fatalf("header = %q %q %q", lab.Name, lab.Account, lab.Region)
	}
	if got := lab.Subnet("subnet-private").NetworkACL; got != DefaultNACLID {
		t.Errorf("subnet-private network_acl = %q, want %q", got, DefaultNACLID)
	}
	if got := lab.NACLOfSubnet("subnet-public").ID; got != "acl-public" {
		t.Errorf("NACLOfSubnet(subnet-public) = %q", got)
	}
	def := lab.NetworkACL(DefaultNACLID)
	if def == nil || !def.Default || len(def.Ingress) != 1 || def.Ingress[0].Number != 100 || !def.Ingress[0].Allow ||
		def.Ingress[0].CIDR != netip.MustParsePrefix("0.0.0.0/0") || def.Ingress[0].Protocol != ProtoAll || len(def.Egress) != 1 {
		t.Errorf("default NACL = %+v", def)
	}
	sg := lab.SecurityGroup(DefaultSGID)
	if sg == nil || len(sg.Ingress) != 1 || sg.Ingress[0].SourceGroup != DefaultSGID || len(sg.Egress) != 1 || sg.Egress[0].CIDR.String() != "0.0.0.0/0" {
		t.Errorf("default SG = %+v", sg)
	}
	db := lab.SecurityGroup("sg-db")
	if len(db.Egress) != 1 || db.Egress[0].Protocol != ProtoAll || db.Egress[0].CIDR.String() != "0.0.0.0/0" {
		t.Errorf("sg-db egress (absent in the file) = %+v, want one all-traffic 0.0.0.0/0 rule", db.Egress)
	}
	web := lab.Instance("i-web")
	if web.ENI.ID != ENIID("lab", "i-web") || len(web.ENI.ID) != len("eni-")+17 {
		t.Errorf("i-web ENI = %q", web.ENI.ID)
	}
	if web.Conntrack != DefaultConntrack {
		t.Errorf("i-web conntrack = %+v", web.Conntrack)
	}
	if got := lab.Host("website").OS; got != "linux" {
		t.Errorf("website os = %q, want linux (the host default)", got)
	}
	if got := lab.Host("laptop").OS; got != "windows" {
		t.Errorf("laptop os = %q", got)
	}
	if in := lab.InstanceByIP(netip.MustParseAddr("203.0.113.10")); in == nil || in.ID != "i-web" {
		t.Errorf("InstanceByIP(public) = %v", in)
	}
	if s := lab.SubnetOf(netip.MustParseAddr("10.0.2.99")); s == nil || s.ID != "subnet-private" {
		t.Errorf("SubnetOf = %v", s)
	}
	if got := lab.Instance("i-db").Services; len(got) != 1 || got[0] != (Service{"tcp", 5432}) {
		t.Errorf("i-db services = %v", got)
	}
}

func TestLabYAMLMatchesSharedExample(t *testing.T) {
	shared, err := os.ReadFile("../../shared/examples/lab.yaml")
	if err != nil {
		t.Skipf("shared example not available: %v", err)
	}
	if string(shared) != string(LabYAML) {
		t.Errorf("vpc/lab.yaml differs from the shared example lab.yaml")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/good.yaml"
	if err := os.WriteFile(good, LabYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	topo, err := Load(good)
	if err != nil || topo.File != good || topo.Name != "lab" {
		t.Fatalf("Load(good) = %+v, %v", topo, err)
	}
	bad := dir + "/bad.yaml"
	if err := os.WriteFile(bad, []byte("name: x\nvpc: {cidr: 10.0.0.0/33}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if want := bad + `:2:13: vpc.cidr: "10.0.0.0/33" is not a valid IPv4 CIDR; valid: address/length such as 10.0.0.0/16`; err == nil || err.Error() != want {
		t.Errorf("Load(bad) = %v, want %s", err, want)
	}
	if _, err := Load(dir + "/missing.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a wrapped ErrNotExist", err)
	}
}
