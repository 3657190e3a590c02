package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/importer"
	"github.com/vpcemu/vpcemu/vpc"
)

const twoTier = "../../importer/testdata/two-tier"

// import writes the file, says what it wrote and reports on stderr what is
// not modeled; the file is a topology.
func TestImportCLIWritesFileAndReport(t *testing.T) {
	out := filepath.Join(t.TempDir(), "two-tier.yaml")
	stdout, stderr, err := execCLI(t, "import", twoTier+"/terraform-state.json", "-o", out, "--services", "auto", "--internet", "auto")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote "+out+": topology two-tier, 2 VPCs, 3 subnets") {
		t.Errorf("stdout: %s", stdout)
	}
	for _, w := range []string{"WARN resource " + twoTier + "/terraform-state.json aws_vpn_gateway.legacy not modeled", "NOTE --internet auto: remapped 8.8.4.4"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	topo, err := vpc.Load(out)
	if err != nil {
		t.Fatalf("the written file: %v", err)
	}
	if topo.Name != "two-tier" || topo.Host("anywhere") == nil {
		t.Errorf("topology %s, hosts %v", topo.Name, topo.Internet)
	}
}

// A failed import writes nothing, not even over an existing file.
func TestImportCLIBadInputWritesNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/99"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.yaml")
	_, _, err := execCLI(t, "import", bad, "-o", out)
	if err == nil || !strings.Contains(err.Error(), bad+": $.Vpcs[0]: CidrBlock \"10.0.0.0/99\" is not a valid IPv4 CIDR") {
		t.Errorf("error: %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("a failed import wrote %s", out)
	}
	if err := os.WriteFile(out, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execCLI(t, "import", bad, "-o", out); err == nil {
		t.Fatal("no error")
	}
	if b, _ := os.ReadFile(out); string(b) != "keep me" {
		t.Errorf("a failed import changed the existing %s: %q", out, b)
	}
	for _, args := range [][]string{{"import", bad, "--from", "ansible"}, {"import", bad, "--services", "all"}, {"import", bad, "--parameter", "novalue"}} {
		if _, _, err := execCLI(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// export --format yaml of a file is what up -f recreates exactly.
func TestExportYAMLRecreatesTheTopology(t *testing.T) {
	lab := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(lab, vpc.LabYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := execCLI(t, "export", "-f", lab)
	if err != nil {
		t.Fatal(err)
	}
	again, err := vpc.Parse("export.yaml", []byte(stdout))
	if err != nil {
		t.Fatalf("the export does not parse: %v", err)
	}
	want := vpc.Lab()
	vpc.ClearIncidentals(want)
	vpc.ClearIncidentals(again)
	if d := vpc.Diff(want, again); d != "" {
		t.Errorf("export differs from the file: %s", d)
	}
	if _, _, err := execCLI(t, "export", "-f", lab, "--format", "aws"); err == nil || !strings.Contains(err.Error(), "-o DIR") {
		t.Errorf("--format aws without -o: %v", err)
	}
}

// export --format aws, then import of the folder: the same AWS objects.
func TestExportAWSThenImport(t *testing.T) {
	dir := t.TempDir()
	lab := filepath.Join(dir, "lab.yaml")
	if err := os.WriteFile(lab, vpc.LabYAML, 0o644); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, "snap")
	stdout, _, err := execCLI(t, "export", "-f", lab, "--format", "aws", "-o", snap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, filepath.Join(snap, "aws_configs", "ap-northeast-2")) {
		t.Errorf("stdout: %s", stdout)
	}
	out := filepath.Join(dir, "again.yaml")
	if _, _, err := execCLI(t, "import", snap, "-o", out, "--name", "lab"); err != nil {
		t.Fatal(err)
	}
	got, err := vpc.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	want := vpc.Lab()
	importer.AWSOnly(want, got.Name, got.Limits)
	vpc.ClearIncidentals(want)
	vpc.ClearIncidentals(got)
	if d := vpc.Diff(want, got); d != "" {
		t.Errorf("import(export(lab)) differs: %s", d)
	}
}
