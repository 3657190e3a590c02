package vpc_test

import (
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// Comments land above the object they name and change nothing else: the
// commented file parses to the same topology.
func TestEncodeYAMLComments(t *testing.T) {
	lab := vpc.Lab()
	web := lab.SecurityGroup("sg-web")
	out := string(lab.EncodeYAML(vpc.EncodeOptions{
		Header: "imported from x.json",
		Comments: map[string]string{
			"vpc-lab":                                "from $.Vpcs[0]",
			"subnet-public":                          "from $.Subnets[0]\nsecond line",
			web.Ingress[3].ID:                        "from $.SecurityGroups[0].IpPermissions[3]",
			vpc.NACLRuleKey("acl-public", true, 100): "from acl entry",
			"laptop":                                 "the laptop",
			"no-such-id":                             "never written",
			"i-db":                                   "odd \x7f\x00 bytes",
		},
		Footer: "WARN resource x not modeled: y",
	}))
	for _, want := range []string{
		"# imported from x.json\n",
		"# from $.Vpcs[0]\nvpc:\n",
		"    # from $.Subnets[0]\n    # second line\n    - id: subnet-public\n",
		"        # from $.SecurityGroups[0].IpPermissions[3]\n        - protocol: tcp\n          ports: \"22\"\n",
		"      egress:\n        # from acl entry\n        - rule: 100\n",
		"    # the laptop\n    - name: laptop\n",
		"    # odd \\x7f\\x00 bytes\n    - id: i-db\n",
		"# WARN resource x not modeled: y\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "never written") {
		t.Errorf("a comment for an unknown id was written:\n%s", out)
	}
	again, err := vpc.Parse("again.yaml", []byte(out))
	if err != nil {
		t.Fatalf("the commented export does not parse: %v\n%s", err, out)
	}
	vpc.ClearIncidentals(lab)
	vpc.ClearIncidentals(again)
	if d := vpc.Diff(lab, again); d != "" {
		t.Fatalf("comments changed the topology: %s", d)
	}
}
