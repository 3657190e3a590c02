package importer_test

import (
	"os"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/importer"
)

func readFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Bad input gets an error that names the file and the JSON path, Terraform
// address or CloudFormation logical id, and no topology.
func TestBadInputErrorsNameWhere(t *testing.T) {
	vpcs := readFixture(t, fixtures+"/aws_configs/us-east-1/vpcs.json")
	state := readFixture(t, fixtures+"/terraform-state.json")
	tmpl := readFixture(t, fixtures+"/cloudformation.yaml")
	const vpcOnly = `{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}], `
	cases := []struct {
		name, file, data string
		from             importer.Kind
		params           map[string]string
		want             []string // every one appears in the error
	}{
		{"truncated describe JSON", "vpcs.json", vpcs[:len(vpcs)/2], "", nil,
			[]string{"vpcs.json:", "the file ends early (truncated?)"}},
		{"malformed describe JSON", "subnets.json", `{"Subnets": [{"SubnetId": "subnet-1",, }]}`, importer.KindAWS, nil,
			[]string{"subnets.json:1", "invalid JSON"}},
		{"a describe field of the wrong type", "subnets.json", "{\"Subnets\": [\n{\"SubnetId\": \"subnet-1\", \"CidrBlock\": 10}]}", "", nil,
			[]string{"subnets.json:2", "$.Subnets.CidrBlock", "a JSON number where a string is expected"}},
		{"invalid CIDR in describe JSON", "snap.json", vpcOnly + `"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/33"}]}`, "", nil,
			[]string{"snap.json: $.Subnets[0]", `CidrBlock "10.0.1.0/33" is not a valid IPv4 CIDR`}},
		{"a subnet of a VPC not in the input", "snap.json", vpcOnly + `"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-2", "CidrBlock": "10.0.1.0/24"}]}`, "", nil,
			[]string{"snap.json: $.Subnets[0]", "subnet-1", "VPC vpc-2, which is not in the input"}},
		{"a rule naming a group not in the input", "snap.json", vpcOnly + `"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "a", "VpcId": "vpc-1", "Description": "a",
			"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": "sg-404"}]}]}]}`, "", nil,
			[]string{"snap.json: $.SecurityGroups[0].IpPermissions[0]", "sg-404", "not in the input"}},
		{"truncated Terraform JSON", "tf.json", state[:len(state)/3], "", nil,
			[]string{"tf.json:", "truncated"}},
		{"a Terraform format from the future", "tf.json", `{"format_version": "2.0", "values": {"root_module": {}}}`, "", nil,
			[]string{"tf.json: $.format_version", "major version 1"}},
		{"a misspelt Terraform resource type", "tf.json", strings.Replace(state, `"type": "aws_subnet"`, `"type": "aws_subnett"`, 1), "", nil,
			[]string{"tf.json: aws_subnet.public", "unknown resource type aws_subnett", "aws_subnet"}},
		{"a Terraform subnet of a VPC not in the state", "tf.json", strings.Replace(state, `"vpc_id": "vpc-0a1b2c3d4e5f60002"`, `"vpc_id": "vpc-0a1b2c3d4e5f60404"`, 1), "", nil,
			[]string{"tf.json: module.shared.aws_subnet.this[0]", "VPC vpc-0a1b2c3d4e5f60404, which is not in the input"}},
		{"an invalid CIDR in Terraform", "tf.json", strings.Replace(state, `"cidr_block": "10.20.2.0/24"`, `"cidr_block": "10.20.2.0/99"`, 1), "", nil,
			[]string{"tf.json: aws_subnet.private", `cidr_block "10.20.2.0/99" is not a valid IPv4 CIDR`}},
		{"malformed template YAML", "t.yaml", "Resources:\n  VPC:\n    Type: AWS::EC2::VPC\n    Properties:\n\tCidrBlock: 10.0.0.0/16\n  Other: {Type: AWS::EC2::VPC}\n", "", nil,
			[]string{"t.yaml:5", "invalid template", "cannot start any token"}},
		{"truncated template", "t.yaml", tmpl[:len(tmpl)/2] + "\n      - {IpProtocol: tcp, FromPort: [", "", nil,
			[]string{"t.yaml:", "invalid template", "truncated"}},
		{"a misspelt CloudFormation type", "t.yaml", strings.Replace(tmpl, "Type: AWS::EC2::Subnet\n", "Type: AWS::EC2::Subnett\n", 1), "", nil,
			[]string{"t.yaml:44: Resources.PublicSubnet", "unknown resource type AWS::EC2::Subnett", "AWS::EC2::Subnet?"}},
		{"a Ref to no resource", "t.yaml", strings.Replace(tmpl, "VpcId: !Ref SharedVPC\n      CidrBlock: !FindInMap", "VpcId: !Ref SharedVPCC\n      CidrBlock: !FindInMap", 1), "", nil,
			[]string{"t.yaml:59: Resources.SharedSubnet", "Ref SharedVPCC: no parameter or resource of that name"}},
		{"an invalid CIDR in a template", "t.yaml", strings.Replace(tmpl, "PrivateIpAddress: 10.30.1.30", "PrivateIpAddress: 10.30.1.300", 1), "", nil,
			[]string{"Resources.ReportInstance", `PrivateIpAddress "10.30.1.300" is not a valid IP address`}},
		{"an export no one supplied", "t.yaml", "Resources:\n  S:\n    Type: AWS::EC2::Subnet\n    Properties: {VpcId: !ImportValue net-VpcId, CidrBlock: 10.0.0.0/24}\n", "", nil,
			[]string{"t.yaml:2: Resources.S", "Fn::ImportValue net-VpcId", "--import-value net-VpcId=VALUE"}},
		{"a parameter without a default", "t.yaml", "Parameters:\n  Cidr: {Type: String}\nResources:\n  V:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: !Ref Cidr}\n", "", nil,
			[]string{"t.yaml", "Parameters.Cidr", "--parameter Cidr=VALUE"}},
		{"a parameter the template lacks", "t.yaml", tmpl, "", map[string]string{"Nope": "1"},
			[]string{"t.yaml", "--parameter Nope", "Env, AppCidr"}},
		{"a parameter value not allowed", "t.yaml", tmpl, "", map[string]string{"Env": "staging"},
			[]string{"Parameters.Env", `"staging" is not an allowed value; valid: prod, test`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := importer.Import([]importer.File{{Name: c.file, Data: []byte(c.data)}}, importer.Options{From: c.from, Parameters: c.params})
			if err == nil {
				t.Fatalf("no error; the import wrote:\n%s", res.YAML)
			}
			if res != nil {
				t.Errorf("an error and a result")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// What an import supplies stands in for Fn::ImportValue.
func TestCloudFormationImportValueSupplied(t *testing.T) {
	tmpl := "Resources:\n  V:\n    Type: AWS::EC2::VPC\n    Properties: {CidrBlock: !ImportValue net-Cidr}\n"
	res, err := importer.Import([]importer.File{{Name: "t.yaml", Data: []byte(tmpl)}}, importer.Options{Exports: map[string]string{"net-Cidr": "10.9.0.0/16"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Topology.VPCs[0].CIDR.String(); got != "10.9.0.0/16" {
		t.Errorf("the VPC's block is %s, want the export's 10.9.0.0/16", got)
	}
}
