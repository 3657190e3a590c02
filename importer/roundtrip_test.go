package importer_test

import (
	"math/rand/v2"
	"path"
	"sort"
	"testing"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/vpc"
	"github.com/vpcemu/vpcemu/vpc/vpctest"
)

// snapshotFiles turns ExportAWS's output into import inputs, with the
// region the Batfish layout gives each file.
func snapshotFiles(t *testing.T, files map[string][]byte) []importer.File {
	t.Helper()
	var out []importer.File
	for name, data := range files {
		out = append(out, importer.File{Name: name, Data: data, Region: path.Base(path.Dir(name))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// The property export --format aws promises: import(export(T)) == T for
// random topologies (several VPCs, route tables, gateways, NAT gateways,
// Elastic IPs, peerings, endpoints, multi-ENI instances, tags), up to what
// describe JSON has no place for (importer.AWSOnly).
func TestAWSExportImportRoundTrip(t *testing.T) {
	for seed := range uint64(100) {
		want := vpctest.Random(rand.New(rand.NewPCG(seed, 14)), vpctest.Options{})
		files, err := importer.ExportAWS(want, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := importer.Import(snapshotFiles(t, files), importer.Options{Name: want.Name})
		if err != nil {
			t.Fatalf("seed %d: import of the export fails: %v\n%s", seed, err, want.YAML())
		}
		got := res.Topology
		importer.AWSOnly(want, got.Name, got.Limits)
		instanceRoutesToENIs(want)
		vpc.ClearIncidentals(want)
		vpc.ClearIncidentals(got)
		if d := vpc.Diff(want, got); d != "" {
			t.Fatalf("seed %d: import(export(T)) differs: %s\nT:\n%s\nimported:\n%s", seed, d, want.YAML(), got.YAML())
		}
	}
}

// instanceRoutesToENIs turns routes to an instance into routes to its
// primary ENI: describe JSON shows both alike (InstanceId and
// NetworkInterfaceId), and import reads the ENI [INTERP].
func instanceRoutesToENIs(t *vpc.Topology) {
	for i := range t.RouteTables {
		for j := range t.RouteTables[i].Routes {
			r := &t.RouteTables[i].Routes[j]
			if r.Target.Kind != vpc.TargetInstance {
				continue
			}
			if in := t.Instance(r.Target.ID); in != nil {
				r.Target = vpc.RouteTarget{Kind: vpc.TargetENI, ID: in.ENI.ID}
			}
		}
	}
}
