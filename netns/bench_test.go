package netns_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// benchSizes are the instance counts of the up/down benchmark (issue 2).
var benchSizes = []int{10, 100, 500}

// benchRuns is how many times each size is built and torn down.
const benchRuns = 3

type upDown struct{ up, down time.Duration }

// benchResults caches each size's runs within one BenchmarkBuildTeardown
// call: the framework calls a sub-benchmark again with a larger b.N when it
// ran shorter than -benchtime, and one median of three is what we report.
// With -count N the whole benchmark, and so the measurement, runs N times.
var benchResults map[int]upDown

// BenchmarkBuildTeardown builds and tears down generated topologies of 10,
// 100 and 500 instances, three times each, and prints the median wall time
// of Build (up) and Teardown (down). Run it alone:
//
//	go test -run '^$' -bench BuildTeardown ./netns/
func BenchmarkBuildTeardown(b *testing.B) {
	testenv.RequireRoot(b)
	benchResults = map[int]upDown{}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			r, ok := benchResults[n]
			if !ok {
				r = measure(b, n)
				benchResults[n] = r
			}
			b.ReportMetric(r.up.Seconds(), "up-s")
			b.ReportMetric(r.down.Seconds(), "down-s")
			b.ReportMetric(0, "ns/op") // b.N means nothing here: suppress it
		})
	}
	fmt.Fprintf(os.Stdout, "\n%-10s %12s %12s   (median of %d runs; vpc.Generate: namespaces = instances + subnets + 2)\n", "instances", "up", "down", benchRuns)
	for _, n := range benchSizes {
		if r, ok := benchResults[n]; ok {
			fmt.Fprintf(os.Stdout, "%-10d %12s %12s\n", n, r.up.Round(time.Millisecond), r.down.Round(time.Millisecond))
		}
	}
}

func measure(b *testing.B, n int) upDown {
	var ups, downs []time.Duration
	for run := 0; run < benchRuns; run++ {
		topo, err := vpc.Parse("generated.yaml", vpc.Generate(testenv.Name(b), n))
		if err != nil {
			b.Fatalf("generated topology of %d instances: %v", n, err)
		}
		b.Cleanup(func() { netns.Teardown(topo.Name) })
		p := rules.NewPlan(topo)
		start := time.Now()
		if err := netns.Build(context.Background(), p, topo, nil); err != nil {
			b.Fatalf("build %d instances: %v", n, err)
		}
		ups = append(ups, time.Since(start))
		start = time.Now()
		if err := netns.Teardown(topo.Name); err != nil {
			b.Fatalf("teardown %d instances: %v", n, err)
		}
		downs = append(downs, time.Since(start))
	}
	return upDown{median(ups), median(downs)}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
