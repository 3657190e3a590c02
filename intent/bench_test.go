package intent

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

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
		for len(seen) < 60 {
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
			if s == 0 && len(seen) == 0 && change > 0 {
				r = fmt.Sprintf("{protocol: tcp, ports: %d, cidr: 0.0.0.0/0}", 8080+change)
			}
			if !seen[r] {
				seen[r] = true
				b.WriteString("      - " + r + "\n")
			}
		}
		b.WriteString("    egress:\n      - {protocol: all, cidr: 0.0.0.0/0}\n")
	}
	b.WriteString("network_acls:\n")
	for a := range 20 {
		fmt.Fprintf(&b, "  - id: acl-%d\n", a)
		for _, dir := range []string{"ingress", "egress"} {
			fmt.Fprintf(&b, "    %s:\n", dir)
			for i := range 19 {
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
				if a == 0 && i == 0 && dir == "ingress" && change > 0 {
					r, act = "protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0", "deny"
				}
				fmt.Fprintf(&b, "      - {rule: %d, %s, action: %s}\n", 10*(i+1), r, act)
			}
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

// BenchmarkCheck1000Intents: target < 1 s per op on one core.
func BenchmarkCheck1000Intents(b *testing.B) {
	tp := mustParseBench(b, benchTopology(1, 0))
	f := benchIntents(b, 1)
	if err := NewChecker(tp).Validate(f); err != nil {
		b.Fatal(err)
	}
	classes := 0
	for b.Loop() {
		c := NewChecker(tp)
		rs, err := c.CheckFile(f)
		if err != nil {
			b.Fatal(err)
		}
		classes = 0
		for _, r := range rs {
			classes += r.NClass
		}
	}
	b.ReportMetric(float64(classes), "classes")
}

// BenchmarkDiff: two such topologies, one SG rule and one NACL rule apart; target < 2 s.
func BenchmarkDiff(b *testing.B) {
	old := mustParseBench(b, benchTopology(1, 0))
	new := mustParseBench(b, benchTopology(1, 1))
	var changes int
	for b.Loop() {
		changes = len(Diff(old, new).Changes)
	}
	b.ReportMetric(float64(changes), "changes")
}

// BenchmarkReplay: records per second (target >= 100,000: a million in 10 s).
func BenchmarkReplay(b *testing.B) {
	old := mustParseBench(b, benchTopology(1, 0))
	new := mustParseBench(b, benchTopology(1, 1))
	g := &rgen{rand.New(rand.NewPCG(3, 3))}
	cols := strings.Fields(v2Header)
	var recs [][]string
	for range 4096 {
		i := g.n(100)
		in := old.Instances[i]
		var src, dst string
		var sp, dp int
		switch g.n(3) {
		case 0: // an inbound request from the internet
			src, dst, sp, dp = fmt.Sprintf("%d.%d.%d.%d", 1+g.n(200), g.n(256), g.n(256), 1+g.n(250)), in.PrivateIP.String(), 1024+g.n(60000), benchPorts[g.n(len(benchPorts))]
		case 1: // the instance's reply
			src, dst, sp, dp = in.PrivateIP.String(), fmt.Sprintf("%d.%d.%d.%d", 1+g.n(200), g.n(256), g.n(256), 1+g.n(250)), benchPorts[g.n(len(benchPorts))], 1024+g.n(60000)
		default: // to another instance
			src, dst, sp, dp = in.PrivateIP.String(), old.Instances[g.n(100)].PrivateIP.String(), 32768+g.n(28000), benchPorts[g.n(len(benchPorts))]
		}
		recs = append(recs, strings.Fields(record("eni-x", src, dst, sp, dp, 6, 10, 1000, "ACCEPT")))
	}
	r := NewReplayer(old, new)
	if err := r.Columns(cols); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		if err := r.Add(recs[n%len(recs)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
