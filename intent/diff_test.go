package intent

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

func changesText(r *DiffResult) string {
	var s []string
	for _, c := range r.Changes {
		line := fmt.Sprintf("%s: %s -> %s %s %s", c.Kind, c.From, c.To, c.Protocol, c.Ports)
		if c.Addrs != "" {
			line += " addrs " + c.Addrs
		}
		if c.Sources != "" {
			line += " sports " + c.Sources
		}
		line += fmt.Sprintf(" | before %s by %s | after %s by %s", c.Old, rulesText(c.OldRules), c.New, rulesText(c.NewRules))
		s = append(s, line)
	}
	return strings.Join(s, "\n")
}

func expectChanges(t *testing.T, r *DiffResult, want ...string) {
	t.Helper()
	got := changesText(r)
	if got != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// The seed's NACL changes: the diff names exactly the flows that change.
func TestDiffNACLOrder(t *testing.T) {
	r := Diff(topo(t, orderFile), orderStep2(t))
	expectChanges(t, r,
		"newly denied: internet -> i-web tcp 80 | before allowed by acl-public inbound rule 90 (allow tcp 80 from 0.0.0.0/0) | after denied by acl-public inbound rule 90 (deny all from 0.0.0.0/0)")
}

func TestDiffNACLEphemeral(t *testing.T) {
	r := Diff(topo(t, ephemeralFile), ephemeralStep2(t))
	expectChanges(t, r,
		"reply newly blocked: i-amzn -> internet tcp 0-65535 | before allowed by acl-public inbound rule 100 (allow all from 0.0.0.0/0) | after reply blocked by acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)",
		"reply newly blocked: i-win2019 -> internet tcp 0-65535 | before allowed by acl-public inbound rule 100 (allow all from 0.0.0.0/0) | after reply blocked by acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)")
}

// Back again: the same flows, the other way round.
func TestDiffIsSymmetric(t *testing.T) {
	r := Diff(ephemeralStep2(t), topo(t, ephemeralFile))
	if len(r.Changes) != 2 || r.Changes[0].Kind != "newly allowed" || r.Changes[0].Old != "reply blocked" {
		t.Errorf("reverse diff:\n%s", changesText(r))
	}
}

func TestDiffOfEqualTopologiesIsEmpty(t *testing.T) {
	r := Diff(topo(t, labFile), topo(t, labFile, "# The default lab", "# a comment moves every line\n\n# The default lab"))
	if len(r.Changes) != 0 || r.Skipped != r.Pairs || r.Pairs == 0 {
		t.Errorf("equal topologies: %d changes, %d of %d pairs skipped:\n%s", len(r.Changes), r.Skipped, r.Pairs, changesText(r))
	}
}

// An SG change names the rule on the side that has it, and only the
// addresses and ports it affects.
func TestDiffSGRule(t *testing.T) {
	old := topo(t, labFile)
	new := topo(t, labFile, "      - {protocol: tcp, ports: 22, cidr: 198.51.100.10/32, description: my laptop}",
		"      - {protocol: tcp, ports: 22, cidr: 198.51.100.10/32, description: my laptop}\n      - {protocol: tcp, ports: 8080-8081, cidr: 192.0.2.0/24}")
	expectChanges(t, Diff(old, new),
		"newly allowed: internet -> i-web tcp 8080-8081 addrs 192.0.2.0/24 | before denied by sg-web inbound on i-web: no inbound rule matches (ENI_SG_RULES_MISMATCH) | after allowed by sg-web inbound rule #5 (tcp 8080-8081 from 192.0.2.0/24)")
}

// Restricting each endpoint pair to the flows its changed rules can touch
// must find exactly what comparing every flow finds: on seeded random
// topologies and random edits of them, both diffs agree flow for flow.
func TestDiffDeltaAgreesWithWholeComparison(t *testing.T) {
	base := testSeed(t)
	compared := 0
	for s := base; s < base+exhaustiveSeeds; s++ {
		g := &rgen{rand.New(rand.NewPCG(s, 0xd1ff))}
		text := g.topology()
		old, err := vpc.Parse("old.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		// Edit: change one rule line of an SG or a NACL to another random one.
		lines := strings.Split(text, "\n")
		var ruleLines []int
		for i, l := range lines {
			if strings.HasPrefix(l, "      - {") {
				ruleLines = append(ruleLines, i)
			}
		}
		var new *vpc.Topology
		for try := 0; try < 20 && new == nil; try++ {
			i := ruleLines[g.n(len(ruleLines))]
			edited := append([]string(nil), lines...)
			if strings.Contains(edited[i], "rule:") {
				num := strings.Fields(edited[i])[2]
				edited[i] = fmt.Sprintf("      - {rule: %s %s, cidr: %s, action: %s}", num, g.ruleL4(), randCIDRs[g.n(len(randCIDRs))], pickS(g, "allow", "deny"))
			} else {
				edited[i] = fmt.Sprintf("      - {%s, cidr: %s}", g.ruleL4(), randCIDRs[g.n(len(randCIDRs))])
			}
			new, _ = vpc.Parse("new.yaml", []byte(strings.Join(edited, "\n")))
		}
		if new == nil {
			continue
		}
		sum := func(r *DiffResult) map[string]float64 {
			m := map[string]float64{}
			for _, c := range r.Changes {
				m[fmt.Sprintf("%s %s->%s %s", c.Kind, c.From, c.To, c.Protocol)] += c.Flows
			}
			return m
		}
		got := sum(Diff(old, new))
		diffWhole = true
		want := sum(Diff(old, new))
		diffWhole = false
		compared++
		same := len(got) == len(want)
		for k, v := range want {
			if d := got[k] - v; d > 1e-9*v || d < -1e-9*v {
				same = false
			}
		}
		if !same {
			t.Errorf("TEST_SEED=%d: restricted diff %v, whole diff %v", s, got, want)
		}
	}
	if compared < exhaustiveSeeds/2 {
		t.Errorf("only %d edits compared", compared)
	}
}
