package testenv

import (
	"regexp"
	"testing"
)

func TestNameIsAValidUniqueTopologyName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9-]{1,16}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		n := Name(t)
		if !valid.MatchString(n) {
			t.Fatalf("Name() = %q, want 1-16 characters of [a-z0-9-]", n)
		}
		if seen[n] {
			t.Fatalf("Name() returned %q twice", n)
		}
		seen[n] = true
	}
	var other string
	t.Run("a subtest", func(t *testing.T) { other = Name(t) })
	if other[:6] == Name(t)[:6] {
		t.Errorf("subtest name %q shares its hash with the parent's", other)
	}
}

func TestTopologySnippetGetsAFreshName(t *testing.T) {
	const snippet = `
vpc: {id: vpc-a, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24}
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10}
`
	a := Topology(t, snippet)
	b := Topology(t, "name: fixed\n"+snippet)
	if a.Name == b.Name || b.Name == "fixed" {
		t.Errorf("names %q and %q: want two fresh names", a.Name, b.Name)
	}
	if len(a.Instances) != 1 || a.Instances[0].ID != "i-a" {
		t.Errorf("parsed instances = %+v", a.Instances)
	}
}
