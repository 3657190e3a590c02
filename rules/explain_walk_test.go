package rules

import (
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// The walk names the rule that decided at each hop, as the text does.
func TestWalkNamesDecidingRules(t *testing.T) {
	lab := vpc.Lab()

	a := Explain(lab, Query{From: "stranger", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22})
	w := a.Walk()
	last := w[len(w)-1]
	if last.Path != "forward" || last.Kind != HopSecurityGroup || last.Decision != "DENY" || last.Code != CodeSGRulesMismatch ||
		last.Instance != "i-web" || len(last.SGRules) != 0 || len(last.SecurityGroups) != 1 || last.SecurityGroups[0] != "sg-web" {
		t.Errorf("stranger -> i-web ssh, last hop = %+v; want sg-web denying with %s", last, CodeSGRulesMismatch)
	}
	var acl *WalkHop
	for i := range w {
		if w[i].Kind == HopNetworkACL {
			acl = &w[i]
		}
	}
	if acl == nil || acl.ACL != "acl-public" || acl.RuleNumber != 100 || acl.Egress || acl.Decision != "ALLOW" {
		t.Errorf("stranger -> i-web ssh, NACL hop = %+v; want acl-public inbound rule 100 allowing", acl)
	}

	a = Explain(lab, Query{From: "laptop", To: "i-web", Protocol: vpc.ProtoTCP, Port: 22})
	var fwdSG, retSG *WalkHop
	for i, h := range a.Walk() {
		if h.Kind == HopSecurityGroup && h.Path == "forward" {
			fwdSG = &a.Walk()[i]
		}
		if h.Kind == HopSecurityGroup && h.Path == "return" {
			retSG = &a.Walk()[i]
		}
	}
	want := SGRuleRef{SecurityGroup: "sg-web", Index: 3} // tcp 22 from 198.51.100.10/32
	if fwdSG == nil || len(fwdSG.SGRules) != 1 || fwdSG.SGRules[0] != want {
		t.Errorf("laptop -> i-web ssh, forward SG hop = %+v; want rule %+v", fwdSG, want)
	}
	if retSG == nil || !retSG.ByState || len(retSG.SGRules) != 0 {
		t.Errorf("laptop -> i-web ssh, return SG hop = %+v; want admitted by state", retSG)
	}
}
