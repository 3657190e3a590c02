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

// The text line names where, the 5-tuple and the reason in words.
func TestDropLine(t *testing.T) {
	at := time.Date(2026, 11, 28, 15, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		d    lab.Drop
		want string
	}{
		{lab.Drop{Time: at, Component: "nacl", ENI: "eni-1", Instance: "i-web", Direction: "inbound", Protocol: 6, Src: "192.0.2.66",
			SrcPort: 40000, Dst: "10.0.1.10", DstPort: 22, TCPFlags: 2, Reason: lab.ReasonACL, ACL: "acl-public", RuleNumber: 20,
			Rule: "deny tcp 22 192.0.2.66/32", Packets: 1},
			"2026-11-28T15:04:05Z i-web/eni-1 nacl inbound tcp 192.0.2.66:40000 -> 10.0.1.10:22 [SYN]: denied by acl-public rule 20 (deny tcp 22 192.0.2.66/32)"},
		{lab.Drop{Time: at, Component: "sg", ENI: "eni-1", Direction: "outbound", Protocol: 58, Src: "2001:db8::1", Dst: "2001:db8::2",
			ICMPType: 128, Reason: lab.ReasonSGNoRules, SecurityGroups: []string{"sg-a", "sg-b"}, Packets: 3},
			"2026-11-28T15:04:05Z eni-1 sg outbound icmpv6 2001:db8::1 -> 2001:db8::2 type 128 code 0: no rule of sg-a, sg-b admits it (SG_HAS_NO_RULES) (3 packets)"},
		{lab.Drop{Time: at, Component: "sg", Direction: "inbound", Protocol: 17, Src: "2001:db8::1", SrcPort: 53, Dst: "2001:db8::2", DstPort: 9,
			Reason: lab.ReasonAllowance},
			"2026-11-28T15:04:05Z - sg inbound udp [2001:db8::1]:53 -> [2001:db8::2]:9: the ENI's conntrack allowance is used up (CONNTRACK_ALLOWANCE_EXCEEDED)"},
	} {
		if got := dropLine(&c.d); got != c.want {
			t.Errorf("dropLine =\n  %s\nwant\n  %s", got, c.want)
		}
	}
}
