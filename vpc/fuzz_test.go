package vpc

import (
	"os"
	"testing"
)

func mustLoad(t *testing.T, path string) *Topology {
	t.Helper()
	topo, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// checkRoundTrip asserts that a parsed topology, written back out, parses
// again (so it re-validates) to the same topology.
func checkRoundTrip(t *testing.T, topo *Topology) {
	t.Helper()
	out := topo.YAML()
	again, err := Parse("again.yaml", out)
	if err != nil {
		t.Fatalf("re-encoded topology does not re-validate: %v\n%s", err, out)
	}
	ClearIncidentals(topo)
	ClearIncidentals(again)
	if d := Diff(topo, again); d != "" {
		t.Fatalf("round trip changed the topology: %s\n%s", d, out)
	}
}

func TestRoundTrip(t *testing.T) {
	checkRoundTrip(t, Lab())
	checkRoundTrip(t, mustLoad(t, "../examples/routing/t2.yaml"))
	checkRoundTrip(t, planTopology(t))
	checkRoundTrip(t, mustParse(t, string(Generate("rt", 250))))
}

func FuzzParse(f *testing.F) {
	f.Add(LabYAML)
	if t2, err := os.ReadFile("../examples/routing/t2.yaml"); err == nil {
		f.Add(t2)
	}
	f.Add(Generate("fz", 3))
	f.Add([]byte(h))
	f.Add([]byte(h + "security_groups:\n  - {id: a, name: web, ingress: [{protocol: icmpv6, icmp_type: 128, ipv6_cidr: \"::/0\"}], egress: []}\n" +
		"prefix_lists:\n  - {id: pl, max_entries: 3, cidrs: [\"2001:db8::/32\"]}\n" +
		"network_acls:\n  - {id: acl-default, ingress: [{rule: 7, protocol: 47, cidr: 10.1.2.3/8, action: deny}]}\n" +
		"instances:\n  - {id: i, eni: eni-1, subnet: s1, private_ip: 10.0.1.9, ipv6: \"2001:db8:0:1::9\", security_groups: [a], conntrack: {udp_timeout: 45, max_entries: 9}}\n" +
		"flow_logs:\n  - {id: f, resource: eni-1, log_format: \"${version} ${reject-reason}\", file_format: parquet, per_hour_partition: true}\n"))
	for _, tc := range validationCases {
		f.Add([]byte(tc.yaml))
	}
	for _, tc := range routingCases {
		f.Add([]byte(tc.yaml))
	}
	f.Add([]byte("a: &a [*a]\nname: *a\n"))
	f.Add([]byte("x-a: &a {<<: *a}\nname: t\nvpc: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := Parse("fuzz.yaml", data)
		if err != nil {
			if topo != nil {
				t.Fatalf("topology returned with error %v", err)
			}
			if _, ok := err.(ErrorList); !ok || err.Error() == "" {
				t.Fatalf("error %T %q is not a non-empty ErrorList", err, err)
			}
			return
		}
		checkRoundTrip(t, topo)
		NewPlan(topo) // a valid topology always lays out
	})
}
