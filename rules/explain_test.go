package rules

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func explainText(t *testing.T, a *Analysis) string {
	t.Helper()
	var b strings.Builder
	if err := a.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestExplainLab(t *testing.T) {
	lab := vpc.Lab()
	for _, tc := range []struct {
		name      string
		q         Query
		found     bool
		code      string
		component string // Explanations[0].Component.Id
		sgs       string // Explanations[0].SecurityGroups[0].Id
	}{
		{"laptop reaches i-web over ssh", Query{From: "laptop", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22}, true, "", "", ""},
		{"stranger is refused ssh by sg-web", Query{From: "stranger", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22}, false, CodeSGRulesMismatch, "", "sg-web"},
		{"anyone reaches https on i-web", Query{From: "stranger", To: "i-web", Protocol: vpc.ProtoTCP, Port: 443}, true, "", "", ""},
		{"i-web reaches i-db through the sg-web reference", Query{From: "i-web", To: "i-db", Protocol: vpc.ProtoTCP, Port: 5432}, true, "", "", ""},
		{"i-db does not admit ssh from i-web", Query{From: "i-web", To: "i-db", Protocol: vpc.ProtoTCP, Port: 22}, false, CodeSGRulesMismatch, "", "sg-db"},
		{"laptop cannot name i-db: it has no public IP (EIP-3, TV-43c)", Query{From: "laptop", To: "i-db", Protocol: vpc.ProtoTCP, Port: 5432}, false, CodeIGWPrivateIPIngress, "", ""},
		{"i-db has no route to the internet", Query{From: "i-db", To: "website", Protocol: vpc.ProtoTCP, Port: 443}, false, CodeNoRouteToDestination, "", ""},
		{"i-web browses the website", Query{From: "i-web", To: "website", Protocol: vpc.ProtoTCP, Port: 443}, true, "", "", ""},
		{"i-web reaches the website by address", Query{From: "10.0.1.10", To: "203.0.113.80", Protocol: vpc.ProtoTCP, Port: 80}, true, "", "", ""},
		{"laptop pings i-web: no icmp rule", Query{From: "laptop", To: "i-web", Protocol: vpc.ProtoICMP}, false, CodeSGRulesMismatch, "", "sg-web"},
		{"i-web asks the Amazon DNS server", Query{From: "i-web", To: "10.0.0.2", Protocol: vpc.ProtoUDP, Port: 53}, true, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Explain(lab, tc.q)
			if a.Status != "succeeded" {
				t.Fatalf("status %s: %s", a.Status, a.Verdict)
			}
			if a.NetworkPathFound != tc.found {
				t.Errorf("NetworkPathFound = %v, want %v\n%s", a.NetworkPathFound, tc.found, explainText(t, a))
			}
			if tc.code == "" {
				if len(a.Explanations) != 0 {
					t.Errorf("explanations %+v", a.Explanations)
				}
				return
			}
			if len(a.Explanations) == 0 {
				t.Fatalf("no explanation\n%s", explainText(t, a))
			}
			e := a.Explanations[0]
			if e.ExplanationCode != tc.code {
				t.Errorf("code %s, want %s\n%s", e.ExplanationCode, tc.code, explainText(t, a))
			}
			if tc.sgs != "" {
				if e.Direction != "ingress" || len(e.SecurityGroups) == 0 || e.SecurityGroups[0].ID != tc.sgs {
					t.Errorf("explanation %+v, want ingress on %s", e, tc.sgs)
				}
			}
		})
	}
}

func TestExplainLabReturnBlockedByEphemeralDeny(t *testing.T) {
	lab := vpc.Lab()
	acl := lab.NetworkACL("acl-public")
	acl.Ingress = append([]vpc.NACLRule{nr(20, vpc.ProtoTCP, 32768, 65535, "0.0.0.0/0", false)}, acl.Ingress...)
	a := Explain(lab, Query{From: "i-web", To: "website", Protocol: vpc.ProtoTCP, Port: 443})
	text := explainText(t, a)
	if !a.ForwardPathFound || a.ReturnPathFound || a.NetworkPathFound {
		t.Fatalf("forward %v return %v found %v, want forward only\n%s", a.ForwardPathFound, a.ReturnPathFound, a.NetworkPathFound, text)
	}
	if len(a.Explanations) != 1 {
		t.Fatalf("explanations %+v", a.Explanations)
	}
	e := a.Explanations[0]
	if e.ExplanationCode != CodeSubnetACLRestriction || e.Path != "return" || e.Direction != "ingress" ||
		e.ACL == nil || e.ACL.ID != "acl-public" || e.ACLRule == nil || e.ACLRule.RuleNumber != 20 ||
		e.ACLRule.RuleAction != "deny" || e.ACLRule.PortRange == nil || e.ACLRule.PortRange.From != 32768 {
		b, _ := json.Marshal(e)
		t.Errorf("explanation %s", b)
	}
	if len(a.FlowLogs) != 2 || a.FlowLogs[0].Action != "ACCEPT" || a.FlowLogs[0].Direction != "egress" ||
		a.FlowLogs[1].Action != "REJECT" || a.FlowLogs[1].Direction != "ingress" || a.FlowLogs[1].TCPFlags != 18 {
		t.Errorf("predicted flow logs %+v", a.FlowLogs)
	}
	for _, want := range []string{"forward path is allowed", "return path is blocked", "acl-public inbound", "rule 20", "32768-60999"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestExplainJSONShape(t *testing.T) {
	a := Explain(vpc.Lab(), Query{From: "stranger", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22})
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"NetworkPathFound", "ForwardPathComponents", "Explanations"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks %s: %s", k, b)
		}
	}
	ex := m["Explanations"].([]any)[0].(map[string]any)
	for _, k := range []string{"ExplanationCode", "Direction", "Component", "SecurityGroups"} {
		if _, ok := ex[k]; !ok {
			t.Errorf("explanation lacks %s: %v", k, ex)
		}
	}
	if id := ex["Component"].(map[string]any)["Id"]; id == "" || id == nil {
		t.Errorf("component id missing: %v", ex)
	}
}

func TestExplainErrors(t *testing.T) {
	lab := vpc.Lab()
	for _, q := range []Query{
		{From: "nobody", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22},
		{From: "i-web", To: "10.0.9.9", Protocol: vpc.ProtoTCP, Port: 22},
		{From: "i-web", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22},
		{From: "i-web", To: "i-db", Protocol: vpc.ProtoTCP, Port: 22, IPv6: true},
	} {
		if a := Explain(lab, q); a.Status != "failed" || a.NetworkPathFound {
			t.Errorf("%+v: status %s found %v", q, a.Status, a.NetworkPathFound)
		}
	}
}
