package intent

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
)

func labReport(t *testing.T, policies bool) *Report {
	t.Helper()
	f, err := Parse("intents.yaml", []byte(`intents:
  - name: web reaches db
    reach: {from: sg-web, to: i-db, protocol: tcp, ports: 5432}
  - name: no admin ports from the internet
    no_reach: {from: internet, to: i-web, protocol: tcp, ports: [22, 3389]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tp := topo(t, labFile)
	c := NewChecker(tp)
	rs, err := c.CheckFile(f)
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{IntentsFile: "intents.yaml", TopologyFile: labFile, Topology: tp.Name, Results: rs}
	if policies {
		r.Policies = Policies()
		r.Findings = c.RunPolicies(r.Policies, f)
	}
	return r
}

func TestGitHubAnnotationsAtTheIntentsLine(t *testing.T) {
	r := labReport(t, true)
	var b bytes.Buffer
	if err := r.WriteGitHub(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	first := lines[0]
	if !strings.HasPrefix(first, "::error file=intents.yaml,line=4,col=5,title=intent fails%3A no admin ports from the internet::no_reach internet -> i-web tcp 22,3389%0Acounterexample: ") {
		t.Errorf("annotation:\n%s", first)
	}
	if strings.Contains(first, "\n") || !strings.Contains(first, "%0A") {
		t.Errorf("the message is not one escaped line: %q", first)
	}
	var vpc001 string
	for _, l := range lines {
		if strings.Contains(l, "VPC001") {
			vpc001 = l
		}
	}
	if !strings.HasPrefix(vpc001, "::error file=../vpc/lab.yaml,line=") || !strings.Contains(vpc001, "title=VPC001 admin-port-from-internet::") {
		t.Errorf("policy annotation at the rule's line:\n%s", vpc001)
	}
	if !strings.HasPrefix(lines[len(lines)-1], "1 of 2 intents hold") {
		t.Errorf("summary: %s", lines[len(lines)-1])
	}
	if r.ExitCode() != 1 {
		t.Errorf("exit code %d", r.ExitCode())
	}
}

func TestJUnitXML(t *testing.T) {
	r := labReport(t, true)
	var b bytes.Buffer
	if err := r.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var s junitSuites
	if err := xml.Unmarshal(b.Bytes(), &s); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if s.Tests != 2+len(Policies()) || s.Failures != 1+2 || len(s.Suites) != 2 {
		t.Errorf("tests %d failures %d suites %d:\n%s", s.Tests, s.Failures, len(s.Suites), b.String())
	}
	c := s.Suites[0].Cases[1]
	if c.Failure == nil || c.Line != 4 || !strings.Contains(c.Failure.Message, "sg-web inbound rule #3 (tcp 3389 from 0.0.0.0/0)") || !strings.Contains(c.Failure.Text, "Forward path:") {
		t.Errorf("failing case: %+v", c)
	}
	if s.Suites[0].Cases[0].Failure != nil {
		t.Errorf("the holding intent failed: %+v", s.Suites[0].Cases[0])
	}
}

func TestJSONAndText(t *testing.T) {
	r := labReport(t, false)
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var v struct {
		Intents []struct {
			Name           string
			Holds          bool
			Line           int
			Counterexample *struct{ Verdict string }
		}
		Failed   int
		ExitCode int `json:"exit_code"`
	}
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Intents) != 2 || !v.Intents[0].Holds || v.Intents[1].Holds || v.Intents[1].Counterexample.Verdict != "allowed" || v.Intents[1].Line != 4 || v.ExitCode != 1 || v.Failed != 1 || !strings.Contains(b.String(), `sg-web -> i-db`) {
		t.Errorf("json: %+v\n%s", v, b.String())
	}
	b.Reset()
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PASS  intents.yaml:2  web reaches db", "FAIL  intents.yaml:4  no admin ports from the internet",
		"counterexample: 1.0.0.0 -> i-web tcp 1.0.0.0:1024 -> 203.0.113.10:3389: allowed", "by sg-web inbound rule #3 (tcp 3389 from 0.0.0.0/0)", "1 of 2 intents hold"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}
