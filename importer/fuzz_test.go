package importer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/vpc"
)

// fuzzImport checks what every input must give: an error, or a topology
// whose file parses back to it. Never a panic.
func fuzzImport(t *testing.T, kind importer.Kind, name string, data []byte) {
	res, err := importer.Import([]importer.File{{Name: name, Data: data}}, importer.Options{From: kind, Services: true, Internet: true})
	if err != nil {
		return
	}
	again, err := vpc.Parse("again.yaml", res.YAML)
	if err != nil {
		t.Fatalf("the import's file does not parse: %v\n%s", err, res.YAML)
	}
	vpc.ClearIncidentals(again)
	vpc.ClearIncidentals(res.Topology)
	if d := vpc.Diff(res.Topology, again); d != "" {
		t.Fatalf("the import's file is another topology: %s", d)
	}
}

func addSeeds(f *testing.F, paths ...string) {
	for _, p := range paths {
		matches, _ := filepath.Glob(p)
		for _, m := range matches {
			data, err := os.ReadFile(m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func FuzzAWS(f *testing.F) {
	addSeeds(f, fixtures+"/aws_configs/us-east-1/*.json")
	f.Add([]byte(`{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}], "Subnets": [{"SubnetId": "s-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, importer.KindAWS, "fuzz.json", data) })
}

func FuzzTerraform(f *testing.F) {
	addSeeds(f, fixtures+"/terraform-*.json", "testdata/terraform/*.json")
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, importer.KindTerraform, "fuzz.json", data) })
}

func FuzzCloudFormation(f *testing.F) {
	addSeeds(f, fixtures+"/cloudformation.yaml")
	f.Add([]byte("Resources:\n  V: {Type: AWS::EC2::VPC, Properties: {CidrBlock: !Select [0, !Cidr [10.0.0.0/8, 2, 16]]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzImport(t, importer.KindCloudFormation, "fuzz.yaml", data) })
}
