package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func runExplainCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	// Hermetic: never the live rules of whatever topology runs here.
	old := explainLiveTopology
	explainLiveTopology = nil
	defer func() { explainLiveTopology = old }()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"explain"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestExplainCLILab(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"laptop", "i-web", "--protocol", "tcp", "--port", "22"}, []string{"Verdict: REACHABLE", "sg-web inbound rule #4: tcp 22 from 198.51.100.10/32"}},
		{[]string{"stranger", "i-web", "--protocol", "tcp", "--port", "22"}, []string{"NOT REACHABLE", "ENI_SG_RULES_MISMATCH", "sg-web inbound"}},
		{[]string{"i-web", "i-db", "-p", "tcp", "--port", "5432"}, []string{"Verdict: REACHABLE", "members of sg-web"}},
		{[]string{"laptop", "i-db", "--protocol", "6", "--port", "5432"}, []string{"NOT REACHABLE", "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"}},
		{[]string{"i-web", "website", "--protocol", "icmp"}, []string{"Verdict: REACHABLE", "icmp 10.0.1.10 -> 203.0.113.80 type 8"}},
	} {
		out, err := runExplainCLI(t, tc.args...)
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestExplainCLIFileJSONAndReturnPath(t *testing.T) {
	// The lab with acl-public denying inbound 32768-65535 at rule 20.
	y := strings.Replace(string(vpc.LabYAML),
		"    ingress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}",
		"    ingress:\n      - {rule: 20, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: deny}\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}", 1)
	if y == string(vpc.LabYAML) {
		t.Fatal("lab.yaml changed: cannot insert rule 20")
	}
	file := filepath.Join(t.TempDir(), "vpc.yaml")
	if err := os.WriteFile(file, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runExplainCLI(t, "-f", file, "i-web", "website", "--protocol", "tcp", "--port", "443", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		NetworkPathFound, ForwardPathFound bool
		Explanations                       []struct {
			ExplanationCode, Direction, Path string
			AclRule                          struct{ RuleNumber int }
		}
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if a.NetworkPathFound || !a.ForwardPathFound || len(a.Explanations) != 1 ||
		a.Explanations[0].ExplanationCode != "SUBNET_ACL_RESTRICTION" || a.Explanations[0].Path != "return" ||
		a.Explanations[0].AclRule.RuleNumber != 20 {
		t.Errorf("analysis:\n%s", out)
	}
	out, err = runExplainCLI(t, "-f", file, "i-web", "website", "--protocol", "tcp", "--port", "443", "--exit-code")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 2 {
		t.Errorf("--exit-code: err %v, want exit status 2", err)
	}
	for _, w := range []string{"return path is blocked", "rule 20", "32768-60999"} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
}

func TestExplainCLIErrors(t *testing.T) {
	for _, args := range [][]string{
		{"laptop"},
		{"laptop", "i-web", "--protocol", "tcp"},
		{"laptop", "i-web", "--protocol", "bogus", "--port", "1"},
		{"laptop", "i-web", "--port", "22", "-o", "yaml"},
		{"nobody", "i-web", "--port", "22"},
		{"-f", "/nonexistent/vpc.yaml", "laptop", "i-web", "--port", "22"},
	} {
		if _, err := runExplainCLI(t, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestExplainCLIUsesLiveRules(t *testing.T) {
	live := vpc.Lab()
	for i := range live.SecurityGroups {
		if live.SecurityGroups[i].ID == "sg-web" {
			live.SecurityGroups[i].Ingress = nil
		}
	}
	var asked string
	old := explainLiveTopology
	explainLiveTopology = func(name string) (*vpc.Topology, error) { asked = name; return live, nil }
	defer func() { explainLiveTopology = old }()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"explain", "--topology", "lab", "laptop", "i-web", "--port", "22"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if asked != "lab" || !strings.Contains(out.String(), "SG_HAS_NO_RULES") {
		t.Errorf("asked %q, output:\n%s", asked, out.String())
	}
}
