package importer_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/vpc"
)

// API-TV-15: a plan's VPC has no id yet, and its subnet's vpc_id is
// unknown: the subnet is in the VPC's made-up id, found through the
// configuration's references; the warning names the resource address.
func TestAPITV15TerraformPlanPlaceholders(t *testing.T) {
	res := mustImport(t, importer.Options{}, "testdata/terraform/api-tv-15.json")
	topo := res.Topology
	if len(topo.VPCs) != 1 || len(topo.Subnets) != 1 {
		t.Fatalf("%d VPCs and %d subnets, want one of each", len(topo.VPCs), len(topo.Subnets))
	}
	v, s := topo.VPCs[0], topo.Subnets[0]
	if !strings.HasPrefix(v.ID, "vpc-") || v.CIDR.String() != "10.1.0.0/16" {
		t.Errorf("VPC %s %s, want a vpc- placeholder with 10.1.0.0/16", v.ID, v.CIDR)
	}
	if s.VPC != v.ID || s.CIDR.String() != "10.1.1.0/24" {
		t.Errorf("subnet in %s with %s, want the VPC's made-up id %s and 10.1.1.0/24", s.VPC, s.CIDR, v.ID)
	}
	if topo.Region != "eu-west-1" {
		t.Errorf("region %s, want the provider's eu-west-1", topo.Region)
	}
	var addrs []string
	for _, w := range res.Warnings {
		if strings.Contains(w.Msg, "known only after apply") {
			addrs = append(addrs, w.Source.Path)
		}
	}
	if !slices.Equal(addrs, []string{"aws_vpc.main", "aws_subnet.a"}) {
		t.Errorf("placeholder warnings for %v, want aws_vpc.main and aws_subnet.a", addrs)
	}
	again := mustImport(t, importer.Options{}, "testdata/terraform/api-tv-15.json")
	if again.Topology.VPCs[0].ID != v.ID {
		t.Errorf("placeholders differ between two imports: %s, then %s", v.ID, again.Topology.VPCs[0].ID)
	}
}

// A plan's resources being destroyed (["delete"]) are not imported; child
// modules are.
func TestTerraformPlanSkipsDeletesAndWalksModules(t *testing.T) {
	topo := mustImport(t, importer.Options{}, fixtures+"/terraform-plan.json").Topology
	for _, g := range topo.SecurityGroups {
		if g.Name == "legacy" {
			t.Errorf("security group %s is destroyed by the plan but imported", g.ID)
		}
	}
	var shared bool
	for _, v := range topo.VPCs {
		shared = shared || v.Tags["Name"] == "shared-vpc"
	}
	if !shared {
		t.Errorf("the VPC of module.shared is missing")
	}
}

// Each object's comment names its source; the report lists what is not
// modeled.
func TestOutputCommentsAndReport(t *testing.T) {
	out := string(mustImport(t, importer.Options{}, fixtures+"/terraform-state.json").YAML)
	for _, want := range []string{
		"    # from testdata/two-tier/terraform-state.json aws_vpc.app\n    - id: vpc-0a1b2c3d4e5f60001\n",
		"    # from testdata/two-tier/terraform-state.json module.shared.aws_subnet.this[0]\n    - id: subnet-0a1b2c3d4e5f60021\n",
		"        # from testdata/two-tier/terraform-state.json aws_security_group_rule.db_from_report\n",
		"        # from testdata/two-tier/terraform-state.json aws_network_acl_rule.deny_ssh\n        - rule: 130\n",
		"# WARN resource testdata/two-tier/terraform-state.json aws_vpn_gateway.legacy not modeled: aws_vpn_gateway is not emulated by vpcemu\n",
		"# WARN resource testdata/two-tier/terraform-state.json aws_route.private_tgw not modeled: route to 172.16.0.0/12 via transit gateway",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the topology file lacks %q:\n%s", want, out)
		}
	}
	again, err := vpc.Parse("again.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the written file does not parse: %v", err)
	}
	if len(again.Instances) != 3 {
		t.Errorf("%d instances, want 3", len(again.Instances))
	}
}

// --strict makes anything not modeled an error.
func TestStrict(t *testing.T) {
	files, _, err := importer.ReadPaths([]string{fixtures + "/cloudformation.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = importer.Import(files, importer.Options{Strict: true})
	if err == nil || !strings.Contains(err.Error(), "Resources.LegacyVPN (AWS::EC2::VPNGateway): not modeled (--strict): AWS::EC2::VPNGateway is not emulated") {
		t.Errorf("--strict: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "Resources.PrivateToCorp") {
		t.Errorf("--strict does not name the transit gateway route: %v", err)
	}
}

// --vpc keeps one VPC and what is in it; the peering to the other VPC
// goes, and its routes become blackholes, said in the report.
func TestSelectVPC(t *testing.T) {
	res := mustImport(t, importer.Options{VPCs: []string{"vpc-0a1b2c3d4e5f60001"}}, fixtures)
	topo := res.Topology
	if len(topo.VPCs) != 1 || topo.VPCs[0].ID != "vpc-0a1b2c3d4e5f60001" {
		t.Fatalf("VPCs %v", topo.VPCs)
	}
	if topo.Instance("i-0a1b2c3d4e5f600b5") != nil || len(topo.Peerings) != 0 {
		t.Errorf("the shared VPC's instance or the peering survived --vpc")
	}
	db := topo.SecurityGroup("sg-0a1b2c3d4e5f60092")
	for _, r := range db.Ingress {
		if r.SourceGroup == "sg-0a1b2c3d4e5f60093" {
			t.Errorf("a rule referring to the left-out group survived: %+v", r)
		}
	}
	rt := topo.RouteTable("rtb-0a1b2c3d4e5f60062")
	if r := rt.Route(netip.MustParsePrefix("10.30.0.0/16")); r == nil || !r.Blackhole {
		t.Errorf("the route to the left-out peer VPC is %+v, want a blackhole", r)
	}
	var said bool
	for _, w := range res.Warnings {
		said = said || (w.NotModeled && strings.Contains(w.Msg, "peering pcx-0a1b2c3d4e5f60071"))
	}
	if !said {
		t.Errorf("the report does not mention the peering: %v", res.Warnings)
	}
	_, err := importer.Import([]importer.File{{Name: "x.json", Data: []byte(`{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]}`)}}, importer.Options{VPCs: []string{"vpc-2"}})
	if err == nil || !strings.Contains(err.Error(), "--vpc vpc-2: no such VPC in the input; valid: vpc-1") {
		t.Errorf("--vpc of a VPC not in the input: %v", err)
	}
}

// VPCs that overlap cannot run in one topology: the error says to import
// them one at a time.
func TestOverlappingVPCs(t *testing.T) {
	doc := `{"Vpcs": [{"VpcId": "vpc-a", "CidrBlock": "10.0.0.0/16"}, {"VpcId": "vpc-b", "CidrBlock": "10.0.0.0/16"}]}`
	_, err := importer.Import([]importer.File{{Name: "x.json", Data: []byte(doc)}}, importer.Options{})
	if err == nil || !strings.Contains(err.Error(), "vpc-b 10.0.0.0/16 overlaps vpc-a 10.0.0.0/16") || !strings.Contains(err.Error(), "--vpc") {
		t.Errorf("overlapping VPCs: %v", err)
	}
	if _, err := importer.Import([]importer.File{{Name: "x.json", Data: []byte(doc)}}, importer.Options{VPCs: []string{"vpc-b"}}); err != nil {
		t.Errorf("--vpc of one of them: %v", err)
	}
}

// --services auto listens where the groups admit; --internet auto adds a
// host for each /32 peer, remapping one that is not a documentation
// address (and rewriting its rules), and an anywhere host.
func TestServicesAndInternetAuto(t *testing.T) {
	res := mustImport(t, importer.Options{Services: true, Internet: true}, fixtures+"/terraform-state.json")
	topo := res.Topology
	services := func(id string) []string {
		var s []string
		for _, x := range topo.Instance(id).Services {
			s = append(s, x.String())
		}
		return s
	}
	if got := services("i-0a1b2c3d4e5f600b1"); !slices.Equal(got, []string{"ssh", "http", "https"}) {
		t.Errorf("web listens on %v, want ssh, http, https", got)
	}
	if got := services("i-0a1b2c3d4e5f600b3"); !slices.Equal(got, []string{"tcp:5432"}) {
		t.Errorf("db listens on %v, want tcp:5432", got)
	}
	if got := services("i-0a1b2c3d4e5f600b5"); len(got) != 0 {
		t.Errorf("report admits nothing but listens on %v", got)
	}
	desk := topo.Host("peer-198-51-100-10")
	mon := topo.Host("peer-8-8-4-4")
	any := topo.Host("anywhere")
	if desk == nil || desk.IP.String() != "198.51.100.10" {
		t.Errorf("the admin desk (a documentation address) is %+v, want a host at 198.51.100.10", desk)
	}
	if mon == nil || !netip.MustParsePrefix("203.0.113.0/24").Contains(mon.IP) {
		t.Fatalf("the monitoring peer 8.8.4.4 is %+v, want a host remapped into a documentation range", mon)
	}
	web := topo.SecurityGroup("sg-0a1b2c3d4e5f60091")
	var rewritten bool
	for _, r := range web.Ingress {
		rewritten = rewritten || (r.CIDR == netip.PrefixFrom(mon.IP, 32) && r.Description == "monitoring")
	}
	if !rewritten {
		t.Errorf("web's rule for 8.8.4.4 was not rewritten to %s: %+v", mon.IP, web.Ingress)
	}
	if any == nil || any.IP == mon.IP {
		t.Errorf("anywhere host %+v", any)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "remapped 8.8.4.4 to "+mon.IP.String()) || !strings.Contains(notes, "acl-0a1b2c3d4e5f600a1 ingress rule 122") {
		t.Errorf("the notes do not say what was remapped:\n%s", notes)
	}
}

// CloudFormation's intrinsic functions and conditions.
func TestCloudFormationIntrinsics(t *testing.T) {
	tmpl := `
Parameters:
  Zones: {Type: CommaDelimitedList, Default: "a,b"}
  Make: {Type: String, Default: "no"}
Mappings:
  Net: {us-east-1: {Block: 10.7.0.0/16}}
Conditions:
  MakeIt: !Equals [!Ref Make, "yes"]
  Either: !Or [!Condition MakeIt, !Equals [a, a]]
Resources:
  V:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: !FindInMap [Net, !Ref "AWS::Region", Block]
      Tags: [{Key: Name, Value: !Sub "${AWS::StackName}-${AWS::AccountId}-${!Literal}"}]
  S1:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !GetAtt V.VpcId
      CidrBlock: !Select [3, !Cidr [!GetAtt V.CidrBlock, 8, 6]]
      AvailabilityZone: !Join ["", [!Ref "AWS::Region", !Select [1, !Ref Zones]]]
      Tags: [{Key: Name, Value: !Join ["-", !Split [",", "x,y"]]}]
  S2:
    Type: AWS::EC2::Subnet
    Condition: MakeIt
    Properties: {VpcId: !Ref V, CidrBlock: 10.7.9.0/24}
  G:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: g
      VpcId: !Ref V
      SecurityGroupIngress:
        - !If [Either, {IpProtocol: tcp, FromPort: 1, ToPort: 2, CidrIp: 0.0.0.0/0}, !Ref "AWS::NoValue"]
        - !If [MakeIt, {IpProtocol: tcp, FromPort: 3, ToPort: 3, CidrIp: 0.0.0.0/0}, !Ref "AWS::NoValue"]
`
	res, err := importer.Import([]importer.File{{Name: "stack.yaml", Data: []byte(tmpl)}}, importer.Options{Account: "210987654321"})
	if err != nil {
		t.Fatal(err)
	}
	topo := res.Topology
	if v := topo.VPCs[0]; v.CIDR.String() != "10.7.0.0/16" || v.Tags["Name"] != "stack-210987654321-${Literal}" {
		t.Errorf("VPC %s %v", v.CIDR, v.Tags)
	}
	if len(topo.Subnets) != 1 {
		t.Fatalf("%d subnets, want 1 (S2's condition is false)", len(topo.Subnets))
	}
	if s := topo.Subnets[0]; s.CIDR.String() != "10.7.0.192/26" || s.AZ != "us-east-1b" || s.VPC != topo.VPCs[0].ID || s.Tags["Name"] != "x-y" {
		t.Errorf("subnet %s in %s of %s named %q", s.CIDR, s.AZ, s.VPC, s.Tags["Name"])
	}
	g := topo.SecurityGroup("sg-G")
	if g == nil || len(g.Ingress) != 1 || g.Ingress[0].Ports != (vpc.PortRange{From: 1, To: 2}) || g.Name != "stack-G" {
		t.Errorf("group %+v, want one rule for ports 1-2 and the name stack-G", g)
	}
	if len(g.Egress) != 1 || g.Egress[0].CIDR.String() != "0.0.0.0/0" {
		t.Errorf("a group without SecurityGroupEgress keeps AWS's egress rule: %+v", g.Egress)
	}
	res, err = importer.Import([]importer.File{{Name: "stack.yaml", Data: []byte(tmpl)}}, importer.Options{Parameters: map[string]string{"Make": "yes"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Topology.Subnets) != 2 || len(res.Topology.SecurityGroup("sg-G").Ingress) != 2 {
		t.Errorf("with Make=yes: %d subnets and %d rules, want 2 and 2", len(res.Topology.Subnets), len(res.Topology.SecurityGroup("sg-G").Ingress))
	}
}

// Detect tells the formats apart; mixed inputs are refused.
func TestDetect(t *testing.T) {
	for _, c := range []struct {
		data string
		want importer.Kind
	}{
		{`{"Vpcs": []}`, importer.KindAWS},
		{`{"TransitGateways": []}`, importer.KindAWS},
		{`{"format_version": "1.0", "values": {}}`, importer.KindTerraform},
		{`{"format_version": "1.2", "planned_values": {}}`, importer.KindTerraform},
		{`{"Resources": {}}`, importer.KindCloudFormation},
		{"AWSTemplateFormatVersion: 2010-09-09\nResources: {}\n", importer.KindCloudFormation},
	} {
		got, err := importer.Detect(importer.File{Name: "x", Data: []byte(c.data)})
		if err != nil || got != c.want {
			t.Errorf("Detect(%s) = %s, %v; want %s", c.data, got, err, c.want)
		}
	}
	_, err := importer.Import([]importer.File{{Name: "a.json", Data: []byte(`{"Vpcs": []}`)}, {Name: "b.json", Data: []byte(`{"Resources": {}}`)}}, importer.Options{})
	if err == nil || !strings.Contains(err.Error(), "different formats") {
		t.Errorf("mixed formats: %v", err)
	}
}

// A Batfish snapshot folder: region folders are read, other folders and
// files reported as skipped.
func TestReadPathsSnapshot(t *testing.T) {
	files, skipped, err := importer.ReadPaths([]string{fixtures})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Region != "us-east-1" {
			t.Errorf("%s: region %q, want us-east-1 from its folder", f.Name, f.Region)
		}
	}
	if len(files) != 12 {
		t.Errorf("%d files, want the 12 describe files", len(files))
	}
	joined := strings.Join(skipped, " ")
	if !strings.Contains(joined, "README.txt") || !strings.Contains(joined, "notes") {
		t.Errorf("skipped %v, want README.txt and the notes folder", skipped)
	}
}
