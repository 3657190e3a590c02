package intent

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// The benchmark topology (issue 15): 50 security groups of 60 inbound
// rules, 20 network ACLs of 20 rules per direction, 100 instances in 20
// subnets, rules drawn from the ports and peers real groups use.

var benchPorts = []int{22, 25, 53, 80, 123, 443, 465, 587, 993, 1433, 1521, 2049, 3000, 3306, 3389, 5432, 5439,
	5672, 6379, 8000, 8080, 8443, 9000, 9090, 9200, 9300, 11211, 15672, 27017, 50051}

func benchTopology(seed uint64, change int) string {
	g := &rgen{rand.New(rand.NewPCG(seed, 7))}
	var b strings.Builder
	b.WriteString("name: bench\nvpc: {id: vpc-bench, cidr: 10.0.0.0/16}\nsubnets:\n")
	for s := range 20 {
		fmt.Fprintf(&b, "  - {id: subnet-%d, cidr: 10.0.%d.0/24, public: %v, network_acl: acl-%d}\n", s, s, s%2 == 0, s)
	}
	peer := func() string {
		switch g.n(6) {
		case 0:
			return fmt.Sprintf("source_group: sg-%d", g.n(50))
		case 1:
			return "cidr: 0.0.0.0/0"
		case 2:
			return fmt.Sprintf("cidr: 10.0.%d.0/24", g.n(20))
		case 3:
			return fmt.Sprintf("cidr: %d.%d.%d.0/24", 1+g.n(200), g.n(256), g.n(256))
		case 4:
			return fmt.Sprintf("cidr: 198.51.100.%d/32", g.n(256))
		}
		return fmt.Sprintf("cidr: 10.%d.0.0/16", g.n(256))
	}
	b.WriteString("security_groups:\n")
	for s := range 50 {
		fmt.Fprintf(&b, "  - id: sg-%d\n    ingress:\n", s)
		seen := map[string]bool{}
		for len(seen) < 59 {
			var r string
			switch g.n(8) {
			case 0:
				lo := 1024 + g.n(40000)
				r = fmt.Sprintf("{protocol: tcp, ports: %d-%d, %s}", lo, lo+g.n(2000), peer())
			case 1:
				r = fmt.Sprintf("{protocol: udp, ports: %d, %s}", benchPorts[g.n(len(benchPorts))], peer())
			case 2:
				r = fmt.Sprintf("{protocol: icmp, icmp_type: %d, %s}", []int{0, 3, 8, 11}[g.n(4)], peer())
			default:
				r = fmt.Sprintf("{protocol: tcp, ports: %d, %s}", benchPorts[g.n(len(benchPorts))], peer())
			}
			if !seen[r] && !strings.Contains(r, "ports: 808") {
				seen[r] = true
				b.WriteString("      - " + r + "\n")
			}
		}
		// The 60th rule: the one a pull request changes (8080 to 8081 on sg-0).
		port := 8080
		if s == 0 && change > 0 {
			port = 8081
		}
		fmt.Fprintf(&b, "      - {protocol: tcp, ports: %d, cidr: 0.0.0.0/0}\n", port)
		b.WriteString("    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n")
	}
	b.WriteString("network_acls:\n")
	for a := range 20 {
		fmt.Fprintf(&b, "  - id: acl-%d\n", a)
		for _, dir := range []string{"ingress", "egress"} {
			fmt.Fprintf(&b, "    %s:\n", dir)
			for i := range 18 {
				act := "allow"
				if g.n(4) == 0 {
					act = "deny"
				}
				var r string
				switch g.n(4) {
				case 0:
					r = fmt.Sprintf("protocol: tcp, ports: %d, cidr: %s", benchPorts[g.n(len(benchPorts))], []string{"0.0.0.0/0", "10.0.0.0/16", "192.0.2.0/24"}[g.n(3)])
				case 1:
					r = fmt.Sprintf("protocol: tcp, ports: %s, cidr: 0.0.0.0/0", []string{"1024-65535", "32768-65535", "49152-65535", "1025-5000"}[g.n(4)])
				case 2:
					r = fmt.Sprintf("protocol: udp, ports: %d, cidr: 0.0.0.0/0", benchPorts[g.n(len(benchPorts))])
				default:
					r = fmt.Sprintf("protocol: all, cidr: %d.%d.0.0/16", 1+g.n(200), g.n(256))
				}
				fmt.Fprintf(&b, "      - {rule: %d, %s, action: %s}\n", 10*(i+1), r, act)
			}
			// Rule 5: the one a pull request changes on acl-0's inbound list.
			r5 := "protocol: tcp, ports: 5432, cidr: 0.0.0.0/0, action: allow"
			switch {
			case a == 0 && dir == "ingress" && change == 1:
				r5 = "protocol: tcp, ports: 5432, cidr: 0.0.0.0/0, action: deny"
			case a == 0 && dir == "ingress" && change == 2:
				r5 = "protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: deny"
			}
			fmt.Fprintf(&b, "      - {rule: 5, %s}\n", r5)
			b.WriteString("      - {rule: 300, protocol: all, cidr: 0.0.0.0/0, action: allow}\n")
		}
	}
	b.WriteString("instances:\n")
	for i := range 100 {
		s := i % 20
		pub := ""
		if s%2 == 0 {
			pub = fmt.Sprintf(", public_ip: 203.0.%d.%d", 100+i/200, 10+i%200)
		}
		sgs := fmt.Sprintf("sg-%d", i%50)
		if i%3 == 0 {
			sgs += fmt.Sprintf(", sg-%d", (i+17)%50)
		}
		fmt.Fprintf(&b, "  - {id: i-%d, subnet: subnet-%d, private_ip: 10.0.%d.%d%s, security_groups: [%s], os: %s}\n",
			i, s, s, 10+i/20, pub, sgs, []string{"linux", "windows", "amazon-linux"}[i%3])
	}
	b.WriteString("internet:\n  - {name: laptop, ip: 198.51.100.10, os: windows}\n  - {name: website, ip: 192.0.2.80}\n")
	return b.String()
}

func mustParseBench(tb testing.TB, text string) *vpc.Topology {
	t, err := vpc.Parse("bench.yaml", []byte(text))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// benchIntents: 1,000 intents of the kinds a CI file holds: tiers reach
// their backends on service ports, the internet does not reach admin
// ports, instances reach the internet, some port ranges and protocol all.
func benchIntents(tb testing.TB, seed uint64) *File {
	g := &rgen{rand.New(rand.NewPCG(seed, 11))}
	var b strings.Builder
	b.WriteString("intents:\n")
	inst := func() string { return fmt.Sprintf("i-%d", g.n(100)) }
	for k := range 1000 {
		var from, to, l4 string
		switch k % 10 {
		case 0, 1, 2:
			from, to = inst(), inst()
		case 3, 4:
			from, to = fmt.Sprintf("sg-%d", g.n(50)), inst()
		case 5, 6:
			from, to = "internet", inst()
		case 7:
			from, to = inst(), "internet"
		case 8:
			from, to = fmt.Sprintf("subnet-%d", g.n(20)), inst()
		default:
			from, to = "laptop", inst()
		}
		switch g.n(10) {
		case 0:
			l4 = fmt.Sprintf("protocol: tcp, ports: %d-%d", 8000, 8100)
		case 1:
			l4 = "protocol: udp, ports: 53"
		case 2:
			l4 = "protocol: icmp"
		default:
			l4 = fmt.Sprintf("protocol: tcp, ports: %d", benchPorts[g.n(len(benchPorts))])
		}
		if from == to {
			to = "internet"
		}
		fmt.Fprintf(&b, "  - %s: {from: %s, to: %s, %s, both_ways: %v}\n", pickS(g, "reach", "no_reach"), from, to, l4, g.n(2) == 0)
	}
	f, err := Parse("bench-intents.yaml", []byte(b.String()))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// BenchmarkCheck1000Intents: target < 1 s per op on one core. The file is
// one a team keeps: its intents hold but for about one in twenty (each
// failing one costs its counterexample's explain walk).
func BenchmarkCheck1000Intents(b *testing.B) {
	tp := mustParseBench(b, benchTopology(1, 0))
	f := benchIntents(b, 1)
	c := NewChecker(tp)
	if err := c.Validate(f); err != nil {
		b.Fatal(err)
	}
	rs, err := c.CheckFile(f)
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range rs {
		if !r.Holds && i%20 != 0 {
			f.Intents[i].Reach = !f.Intents[i].Reach
		}
	}
	classes, evals, failed := 0, 0, 0
	start := cpuTime()
	for b.Loop() {
		c := NewChecker(tp)
		rs, err := c.CheckFile(f)
		if err != nil {
			b.Fatal(err)
		}
		classes, failed = 0, 0
		for _, r := range rs {
			classes += r.NClass
			if !r.Holds {
				failed++
			}
		}
		evals = c.Evaluations()
	}
	reportCPU(b, start)
	b.ReportMetric(float64(classes), "classes")
	b.ReportMetric(float64(evals), "walks")
	b.ReportMetric(float64(failed), "failing")
}

// BenchmarkExplain: the explain walk a failing intent's counterexample
// gets (rules.Explainer over the benchmark topology), 100 queries per op
// between instances, from the internet and to it; reports CPU time per
// explain.
func BenchmarkExplain(b *testing.B) {
	tp := mustParseBench(b, benchTopology(1, 0))
	g := &rgen{rand.New(rand.NewPCG(5, 5))}
	var qs []rules.Query
	for k := range 100 {
		from, to := fmt.Sprintf("i-%d", g.n(100)), fmt.Sprintf("i-%d", g.n(100))
		switch k % 4 {
		case 0:
			from = "laptop"
		case 1:
			to = "website"
		}
		if from == to {
			to = "website"
		}
		qs = append(qs, rules.Query{From: from, To: to, Protocol: vpc.ProtoTCP, Port: benchPorts[g.n(len(benchPorts))]})
	}
	ex := rules.NewExplainer(tp)
	start := cpuTime()
	for b.Loop() {
		for _, q := range qs {
			if a := ex.Explain(q); a.Status != "succeeded" {
				b.Fatal(a.Verdict)
			}
		}
	}
	b.ReportMetric((cpuTime()-start).Seconds()*1000/float64(b.N*len(qs)), "cpu-ms/explain")
}

// BenchmarkDiff: two such topologies, one SG rule and one NACL rule apart
// (a pull request's change); target < 2 s.
func BenchmarkDiff(b *testing.B) { benchDiff(b, 1) }

// BenchmarkDiffEphemeralDeny: the NACL rule denies inbound TCP 32768-65535,
// which touches every TCP flow out of that subnet's five instances, on
// every port, to every destination (the worst case for a small change).
func BenchmarkDiffEphemeralDeny(b *testing.B) { benchDiff(b, 2) }

func benchDiff(b *testing.B, change int) {
	old := mustParseBench(b, benchTopology(1, 0))
	new := mustParseBench(b, benchTopology(1, change))
	var r *DiffResult
	start := cpuTime()
	for b.Loop() {
		r = Diff(old, new)
	}
	reportCPU(b, start)
	b.ReportMetric(float64(len(r.Changes)), "changes")
	b.ReportMetric(float64(r.Classes), "classes")
	b.ReportMetric(float64(r.Pairs-r.Skipped), "pairs")
}

// benchRecords writes flow-log records as a day of traffic would: each
// connection (from the internet to an instance's service, between
// instances, from an instance out to the internet) logged in both
// directions on every ENI it crosses, in one to five aggregation windows.
func benchRecords(tp *vpc.Topology, n int) [][]string {
	g := &rgen{rand.New(rand.NewPCG(3, 3))}
	inet := func() string { return fmt.Sprintf("%d.%d.%d.%d", 1+g.n(200), g.n(256), g.n(256), 1+g.n(250)) }
	var out [][]string
	add := func(eni, src, dst string, sp, dp int) {
		out = append(out, strings.Fields(record(eni, src, dst, sp, dp, 6, 1+g.n(50), 100+g.n(100000), "ACCEPT")))
	}
	for len(out) < n {
		in := tp.Instances[g.n(len(tp.Instances))]
		me := in.PrivateIP.String()
		eni := "eni-" + in.ID
		cport := 32768 + g.n(28000)
		windows := 1 + g.n(5)
		switch g.n(10) {
		case 0, 1, 2, 3: // a client on the internet
			c, sp := inet(), benchPorts[g.n(len(benchPorts))]
			for range windows {
				add(eni, c, me, cport, sp)
				add(eni, me, c, sp, cport)
			}
		case 4, 5, 6: // another instance
			o := tp.Instances[g.n(len(tp.Instances))]
			if o.ID == in.ID {
				continue
			}
			sp := benchPorts[g.n(len(benchPorts))]
			for range windows {
				add(eni, me, o.PrivateIP.String(), cport, sp)
				add(eni, o.PrivateIP.String(), me, sp, cport)
				add("eni-"+o.ID, me, o.PrivateIP.String(), cport, sp)
				add("eni-"+o.ID, o.PrivateIP.String(), me, sp, cport)
			}
		default: // out to the internet
			s, sp := inet(), []int{80, 443, 53, 123}[g.n(4)]
			for range windows {
				add(eni, me, s, cport, sp)
				add(eni, s, me, sp, cport)
			}
		}
	}
	return out[:n]
}

// BenchmarkReplay: records per CPU second (target >= 100,000: a million
// records in 10 s).
func BenchmarkReplay(b *testing.B) {
	old := mustParseBench(b, benchTopology(1, 0))
	new := mustParseBench(b, benchTopology(1, 1))
	recs := benchRecords(old, 250000)
	r := NewReplayer(old, new)
	if err := r.Columns(strings.Fields(v2Header)); err != nil {
		b.Fatal(err)
	}
	n := 0
	start := cpuTime()
	for b.Loop() {
		if err := r.Add(recs[n%len(recs)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(n)/(cpuTime()-start).Seconds(), "records/cpu-s")
	b.ReportMetric(float64(len(r.Result().Broken)), "broken")
}

// cpuTime is the process's user and system CPU time: on a shared machine
// wall-clock time says more about the neighbours than about the code. Run
// with GOMAXPROCS=1 (make bench does) for "one core".
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU seconds per op since start.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op")
}
