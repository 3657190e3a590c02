package vpc_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// benchTopology is one VPC with two subnets, groups of rules each (TCP
// ports from one CIDR per group) and instances spread over the groups.
func benchTopology(b *testing.B, groups, rules, instances int) *vpc.Topology {
	var y strings.Builder
	y.WriteString("name: bench\nvpc: {cidr: 10.0.0.0/16}\nsubnets:\n  - {id: s1, cidr: 10.0.1.0/24}\n  - {id: s2, cidr: 10.0.2.0/24}\nsecurity_groups:\n")
	for g := range groups {
		fmt.Fprintf(&y, "  - id: sg-%d\n    ingress:\n", g)
		for r := range rules {
			fmt.Fprintf(&y, "      - {protocol: tcp, ports: %d, cidr: 10.%d.0.0/16}\n", 1000+r, g)
		}
	}
	y.WriteString("instances:\n")
	for i := range instances {
		fmt.Fprintf(&y, "  - {id: i-%d, subnet: s%d, private_ip: 10.0.%d.%d, security_groups: [sg-%d]}\n", i, 1+i%2, 1+i%2, 10+i, i%groups)
	}
	t, err := vpc.Parse("bench.yaml", []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// benchTopologies are the lab, about ten times the lab (10 groups of 20
// rules, 20 instances) and a region at the rules quota (50 groups of 60).
func benchTopologies(b *testing.B) []struct {
	name string
	t    *vpc.Topology
} {
	return []struct {
		name string
		t    *vpc.Topology
	}{
		{"lab", vpc.Lab()},
		{"10x20rules-20inst", benchTopology(b, 10, 20, 20)},
		{"50x60rules-20inst", benchTopology(b, 50, 60, 20)},
	}
}

// cpuTime is the CPU time the process has used (all threads: the
// collector's work counts). The machine running benchmarks is often
// shared, so CPU time per operation says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op, the CPU time of b's loop per operation.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkValidate is the validation of an edit's result, as the EC2 API
// runs it on every mutation (the topology is already complete: Validate
// then changes nothing but does all its work).
func BenchmarkValidate(b *testing.B) {
	for _, tc := range benchTopologies(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for range b.N {
				if err := vpc.Validate(tc.t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClone is the copy an edit is made on.
func BenchmarkClone(b *testing.B) {
	for _, tc := range benchTopologies(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for range b.N {
				if tc.t.Clone() == nil {
					b.Fatal("nil")
				}
			}
		})
	}
}

// BenchmarkParseExport is what validation cost before Validate: the
// export written and parsed again (the baseline for BenchmarkValidate).
func BenchmarkParseExport(b *testing.B) {
	for _, tc := range benchTopologies(b) {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, cpuTime())
			for range b.N {
				if _, err := vpc.Parse("", tc.t.YAML()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
