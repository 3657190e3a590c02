package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/lab"
)

// The stranger's connection to i-web's SSH port shows up in `vpcemu drops`
// with sg-web's ENI_SG_RULES_MISMATCH, in JSON and in text; an --eni that
// names nothing of the topology is refused.
func TestDropsCommandExplainsSGDrop(t *testing.T) {
	name, _ := upLab(t, nil)
	run := func(args ...string) (string, int) {
		return vpcemu(t, append([]string{"-t", name}, args...)...)
	}
	if out, code := run("exec", "stranger", "--", "curl", "-s", "--max-time", "2", "http://203.0.113.10:22/"); code == 0 {
		t.Fatalf("the stranger reached i-web's port 22 although sg-web admits only the laptop:\n%s", out)
	}
	var found *lab.Drop
	var out string
	for deadline := time.Now().Add(10 * time.Second); found == nil; {
		var code int
		out, code = vpcemu(t, "drops", name, "--eni", "i-web", "-o", "json")
		if code != 0 {
			t.Fatalf("drops -o json: exit %d\n%s", code, out)
		}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var d lab.Drop
			if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
				t.Fatalf("drops -o json: line %q: %v", sc.Text(), err)
			}
			if d.Instance != "i-web" {
				t.Errorf("--eni i-web printed a drop of %q: %s", d.Instance, sc.Text())
			}
			if d.Src == "192.0.2.66" && d.DstPort == 22 && d.Component == "sg" {
				found = &d
			}
		}
		if found == nil && time.Now().After(deadline) {
			t.Fatalf("no SG drop of the stranger's SYN in `vpcemu drops -o json`:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if found.Reason != "ENI_SG_RULES_MISMATCH" || found.Direction != "inbound" || strings.Join(found.SecurityGroups, ",") != "sg-web" {
		t.Errorf("drop = %+v, want an inbound ENI_SG_RULES_MISMATCH naming sg-web", found)
	}
	out, code := run("drops")
	if code != 0 || !strings.Contains(out, "192.0.2.66") || !strings.Contains(out, "no rule of sg-web admits it (ENI_SG_RULES_MISMATCH)") {
		t.Errorf("drops (text): exit %d, want the stranger's drop explained:\n%s", code, out)
	}
	if out, code := run("drops", "--eni", "eni-nope"); code == 0 || !strings.Contains(out, "eni-nope") {
		t.Errorf("drops --eni eni-nope: exit %d, want a refusal naming it:\n%s", code, out)
	}
}
