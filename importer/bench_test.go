package importer_test

import (
	"testing"

	"github.com/vpcemu/vpcemu/importer"
)

// The benchmark's account has what it says: 50 VPCs, 2,000 security
// groups, 20,000 rules, and the export of it imports.
func TestGenerateAccount(t *testing.T) {
	topo := importer.GenerateAccount(50, 2000, 10)
	rules := 0
	groups := 0
	for _, g := range topo.SecurityGroups {
		if g.Name != "default" {
			groups++
			rules += len(g.Ingress) + len(g.Egress)
		}
	}
	if len(topo.VPCs) != 50 || groups != 2000 || rules != 20000 {
		t.Fatalf("%d VPCs, %d groups, %d rules; want 50, 2000, 20000", len(topo.VPCs), groups, rules)
	}
}

// BenchmarkImportAccount imports the describe JSON of an account with 50
// VPCs, 2,000 security groups and 20,000 rules (target: < 2 s and < 500 MB
// on one core; make bench measures the CLI's time and peak memory).
func BenchmarkImportAccount(b *testing.B) {
	files, err := importer.ExportAWS(importer.GenerateAccount(50, 2000, 10), nil)
	if err != nil {
		b.Fatal(err)
	}
	var in []importer.File
	size := 0
	for name, data := range files {
		in = append(in, importer.File{Name: name, Data: data, Region: "us-east-1"})
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := importer.Import(in, importer.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
