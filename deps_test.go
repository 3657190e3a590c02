package vpcemu_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The pure packages must build and test without root or a kernel: they may
// import nothing that talks to the kernel (DESIGN.md, dependency direction).
func TestPurePackagesImportNothingPrivileged(t *testing.T) {
	privileged := regexp.MustCompile(`cilium/ebpf|vishvananda|golang.org/x/sys/unix|vpcemu/(netns|loader|lab|services|testenv)$`)
	for _, pkg := range []string{"./vpc/...", "./rules/...", "./flowlog/...", "./awsshape/...", "./ec2api/...", "./intent/...", "./importer/..."} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if privileged.MatchString(dep) {
				t.Errorf("%s depends on privileged package %s", pkg, dep)
			}
		}
	}
}
