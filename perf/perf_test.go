package perf

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The harness runs agents by re-executing its binary; in tests that binary
// is the test binary.
func TestMain(m *testing.M) {
	if os.Getenv(AgentEnv) == "1" {
		os.Exit(AgentMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("VPCEMU_REQUIRE_PRIV") == "1" {
			t.Fatal("privileged test: run as root")
		}
		t.Skip("needs root")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	for _, tok := range DefaultConfigs {
		if _, err := ParseConfig(tok); err != nil {
			t.Errorf("ParseConfig(%q): %v", tok, err)
		}
	}
	c, err := ParseConfig("nft1000-mtu9001-direct")
	if err != nil || c.Rules != 1000 || c.MTU != 9001 || c.Shape != ShapeDirect {
		t.Errorf("ParseConfig(nft1000-mtu9001-direct) = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "ipt", "bare40", "foo40", "nft40-mtu100", "IPT40", "bare-direct-mtu9001"} {
		if _, err := ParseConfig(bad); err == nil {
			t.Errorf("ParseConfig(%q) accepted", bad)
		}
	}
}

func TestRuleSetsHaveNRulesThenAllow(t *testing.T) {
	ipt := IptablesRules(1000, true, "10.10.0.0/16")
	if got := strings.Count(ipt, "--dport"); got != 1000 {
		t.Errorf("iptables: %d port rules, want 1000", got)
	}
	if !strings.Contains(ipt, "--ctstate ESTABLISHED,RELATED") {
		t.Error("iptables stateful rules lack the conntrack accept")
	}
	if strings.Contains(IptablesRules(40, false, "10.10.0.0/16"), "conntrack") {
		t.Error("stateless iptables rules use conntrack")
	}
	nft := NftRules(40, false, "10.10.0.0/16")
	if !strings.Contains(NftRules(40, true, "10.10.0.0/16"), "ct state established") {
		t.Error("stateful nft rules lack the ct state accept")
	}
	if got := strings.Count(nft, "tcp dport"); got != 40 {
		t.Errorf("nft: %d port rules, want 40", got)
	}
	// Sources must be distinct and outside the VPC: no rule may match benchmark traffic.
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s := RuleSource(i)
		if seen[s] || strings.HasPrefix(s, "10.10.") {
			t.Fatalf("rule %d source %s repeats or is inside the VPC", i, s)
		}
		seen[s] = true
	}
	acl := BenchNACL(40, netipPrefix("10.10.0.0/16"))
	if len(acl.Ingress) != 41 || acl.Ingress[40].Number != 41 || !acl.Ingress[40].Allow {
		t.Errorf("BenchNACL(40): %d ingress rules, last %+v", len(acl.Ingress), acl.Ingress[len(acl.Ingress)-1])
	}
	sg := BenchSG(60, netipPrefix("10.10.0.0/16"))
	if len(sg.Ingress) != 61 || len(sg.Egress) != 1 {
		t.Errorf("BenchSG(60): %d ingress, %d egress rules", len(sg.Ingress), len(sg.Egress))
	}
}

func TestReplaceSection(t *testing.T) {
	f := filepath.Join(t.TempDir(), "B.md")
	hand := "# Benchmarks\n\n## NACL\n\nwritten by hand\n"
	if err := os.WriteFile(f, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(f, "end-to-end", "", "## End-to-end\n\nfirst\n"); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(f, "other", "", "other block"); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceSection(f, "end-to-end", "", "## End-to-end\n\nsecond\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	s := string(b)
	if !strings.HasPrefix(s, hand) || strings.Contains(s, "first") || strings.Count(s, "second") != 1 ||
		!strings.Contains(s, "other block") || strings.Index(s, "second") > strings.Index(s, "other block") {
		t.Errorf("unexpected file after replacing:\n%s", s)
	}
}

func TestParseGoBench(t *testing.T) {
	out := `goos: linux
pkg: github.com/vpcemu/vpcemu/loader
BenchmarkNACL/rules=40-2   	 1000	        45.5 ns/op	  12 B/op
BenchmarkNACL/rules=40-2   	 1000	        41.5 ns/op	  12 B/op
BenchmarkNACL/rules=40-2   	 1000	        50.5 ns/op	  12 B/op
BenchmarkUp-2  1  1530959159 ns/op  0.5941 up-s
PASS
`
	bs := ParseGoBench(strings.NewReader(out))
	if len(bs) != 2 || bs[0].Name != "BenchmarkNACL/rules=40" || len(bs[0].Vals["ns/op"]) != 3 || bs[0].Vals["B/op"] != nil {
		t.Fatalf("parsed %+v", bs)
	}
	tab := GoBenchTable(bs)
	if !strings.Contains(tab, "| loader | NACL/rules=40 | 3 | 45.5 ns/op (41.5–50.5) |") || !strings.Contains(tab, "0.594 up-s") {
		t.Errorf("table:\n%s", tab)
	}
}

func TestTableRatiosAndMissing(t *testing.T) {
	var cfgs []Config
	for _, tok := range []string{"bare", "ipt40", "naclgen40"} {
		c, _ := ParseConfig(tok)
		cfgs = append(cfgs, c)
	}
	r := &Results{Configs: cfgs, Metrics: []string{MetricUDP}}
	for i, v := range []float64{100, 300, 200} {
		r.Samples = append(r.Samples, Sample{Round: i + 1, Config: "bare", Metric: MetricUDP, Values: map[string]float64{keyUDP: v}})
	}
	r.Samples = append(r.Samples,
		Sample{Round: 1, Config: "ipt40", Metric: MetricUDP, Values: map[string]float64{keyUDP: 50}},
		Sample{Round: 2, Config: "ipt40", Metric: MetricUDP, Err: "boom"},
		Sample{Round: 1, Config: "naclgen40", Metric: MetricUDP, NA: true})
	tab := r.Table()
	for _, want := range []string{"| 200 (100–300) |", "| 50.0 **0.25×** [1 failed] |", "| n/a |", "|---|---|\n"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

// HeadToHead pairs each vpcemu configuration with the peers of its rule
// count only, round by round, and skips rounds one side lacks.
func TestHeadToHead(t *testing.T) {
	var cfgs []Config
	for _, tok := range []string{"bare", "nft40", "nft1000", "nacltcx40", "sg60"} {
		c, err := ParseConfig(tok)
		if err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, c)
	}
	r := &Results{Configs: cfgs, Metrics: []string{MetricUDP}}
	add := func(cfg string, round int, v float64) {
		r.Samples = append(r.Samples, Sample{Round: round, Config: cfg, Metric: MetricUDP, Values: map[string]float64{keyUDP: v}})
	}
	for round, pair := range [][2]float64{{100, 90}, {100, 110}, {120, 100}, {0, 0}} {
		if round == 3 {
			add("nacltcx40", 4, 50) // nft40 has no round 4
			continue
		}
		add("nacltcx40", round+1, pair[0])
		add("nft40", round+1, pair[1])
		add("nft1000", round+1, 1)
	}
	h := r.HeadToHead()
	if want := "| `nacltcx40` | `nft40` | 1.11×, ahead in 2 of 3 |"; !strings.Contains(h, want) {
		t.Errorf("head-to-head lacks %q:\n%s", want, h)
	}
	if strings.Contains(h, "nft1000") || strings.Contains(h, "sg60") {
		t.Errorf("paired configurations of different rule counts, or one without samples:\n%s", h)
	}
	if (&Results{Configs: cfgs[:1], Metrics: []string{MetricUDP}}).HeadToHead() != "" {
		t.Error("a run without vpcemu and peer configurations has a head-to-head table")
	}
}

func testEnv(t *testing.T) *loadEnv {
	cli, srv := pickCPUs()
	return &loadEnv{agent: []string{os.Args[0]}, cliCPU: cli, srvCPU: srv, dur: 300 * time.Millisecond, connConc: 2, rawWriter: testWriter{t}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// The harness's topology builds, forwards through the router (a filter in the
// router namespace is on the path), and is gone afterwards.
func TestTopologyPassesTrafficAndCleansUp(t *testing.T) {
	requireRoot(t)
	for _, shape := range []Shape{ShapeVPC, ShapeDirect} {
		t.Run(string(shape), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			topo := NewTopo(shape, 1500)
			t.Cleanup(topo.Down)
			if err := topo.Up(ctx); err != nil {
				t.Fatal(err)
			}
			env := testEnv(t)
			if err := env.check(ctx, topo); err != nil {
				t.Fatal(err)
			}
			m, err := env.measureUDP(ctx, topo)
			if err != nil {
				t.Fatal(err)
			}
			if m[keyUDP] <= 0 || m["udp64_sink_kpps"] <= 0 {
				t.Errorf("no datagrams forwarded: %v", m)
			}
			// A drop-everything forward chain in the router must cut the path.
			if _, err := nsRun(ctx, topo.RouterNS, "table ip t {\n chain f {\n  type filter hook forward priority 0; policy drop;\n }\n}\n", "nft", "-f", "-"); err != nil {
				t.Fatal(err)
			}
			if err := env.check(ctx, topo); err == nil {
				t.Error("traffic passed a router that drops every forwarded packet")
			}
			topo.Down()
			if topo.Exists() {
				t.Errorf("namespaces of %s left behind", topo.Prefix)
			}
		})
	}
}

// A whole (tiny) run: every sample has a value or is n/a, and nothing stays.
func TestRunBareAndSG(t *testing.T) {
	requireRoot(t)
	lockPath = filepath.Join(t.TempDir(), "lock")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	before, _ := os.ReadDir("/run/netns")
	res, err := Run(ctx, Options{
		Configs: []string{"bare", "sg40", "naclgen40", "sgnaclfl1000"}, Metrics: []string{MetricUDP, MetricConn},
		Rounds: 1, Dur: 300 * time.Millisecond, Agent: []string{os.Args[0]}, Log: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Samples {
		if s.Err != "" && !s.NA {
			t.Errorf("%s %s: %s", s.Config, s.Metric, s.Err)
		}
		if s.NA {
			t.Errorf("%s %s: n/a", s.Config, s.Metric)
		}
	}
	if st := res.Summarize("bare", MetricConn, ""); st.N != 1 || st.Median <= 0 {
		t.Errorf("bare conns: %+v", st)
	}
	after, _ := os.ReadDir("/run/netns")
	for _, e := range after {
		// Only this process's topologies ("vb<pid>-N"): other tests and
		// benchmarks may have their own namespaces up at the same time.
		if strings.Contains(e.Name(), fmt.Sprintf("vb%d-", os.Getpid())) && !containsEntry(before, e.Name()) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}

func containsEntry(es []os.DirEntry, name string) bool {
	for _, e := range es {
		if e.Name() == name {
			return true
		}
	}
	return false
}

func netipPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestFailedTrial(t *testing.T) {
	ok := Sample{Values: map[string]float64{keyUDP: 1}}
	bad := Sample{Err: "x"}
	na := Sample{Err: "x", NA: true}
	for _, tc := range []struct {
		ss   []Sample
		want bool
	}{
		{[]Sample{bad, bad}, true},
		{[]Sample{bad, ok}, false},
		{[]Sample{na, na}, false},
		{nil, false},
	} {
		if got := failedTrial(tc.ss); got != tc.want {
			t.Errorf("failedTrial(%+v) = %v", tc.ss, got)
		}
	}
}

// FlowLogsOnOff pairs each flow-log configuration with the same datapath
// without flow logs, round by round, and skips rounds one side lacks.
func TestFlowLogsOnOff(t *testing.T) {
	var cfgs []Config
	for _, tok := range []string{"bare", "sgnacl40", "sgnaclfl40", "sgnacl1000"} {
		c, err := ParseConfig(tok)
		if err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, c)
	}
	r := &Results{Configs: cfgs, Metrics: []string{MetricConn}}
	add := func(cfg string, round int, v float64) {
		r.Samples = append(r.Samples, Sample{Round: round, Config: cfg, Metric: MetricConn, Values: map[string]float64{keyConn: v}})
	}
	for round, pair := range [][2]float64{{10000, 9000}, {12000, 12600}, {11000, 9900}} {
		add("sgnacl40", round+1, pair[0])
		add("sgnaclfl40", round+1, pair[1])
		add("sgnacl1000", round+1, 1)
	}
	add("sgnaclfl40", 4, 5000) // no round 4 without flow logs
	h := r.FlowLogsOnOff()
	for _, want := range []string{"| 1 | 10 000 | 9 000 | 0.90× |", "| 2 | 12 000 | 12 600 | 1.05× |", "**0.90×** (0.90–1.05)"} {
		if !strings.Contains(h, want) {
			t.Errorf("on/off table lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "| 4 |") || strings.Contains(h, "sgnacl1000") {
		t.Errorf("paired a round or a configuration it should not:\n%s", h)
	}
	if (&Results{Configs: cfgs[:2], Metrics: []string{MetricConn}}).FlowLogsOnOff() != "" {
		t.Error("a run without a flow-log configuration has an on/off table")
	}
}

// Every vpcemu configuration make bench measures builds its datapath on a
// real topology and leaves nothing behind: a configuration that cannot be
// applied would only show up as "failed" cells in a long benchmark run.
func TestVpcemuConfigsApply(t *testing.T) {
	requireRoot(t)
	for _, name := range []string{"sgnacl40", "sgnaclfl40", "sgnaclmet40", "sgnaclcap40", "sgnaclmir40"} {
		t.Run(name, func(t *testing.T) {
			c, err := ParseConfig(name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			topo := NewTopo(ShapeVPC, 1500)
			t.Cleanup(topo.Down)
			if err := topo.Up(ctx); err != nil {
				t.Fatal(err)
			}
			release, err := c.Apply(ctx, topo)
			if err != nil {
				t.Fatalf("apply %s: %v", name, err)
			}
			if err := testEnv(t).check(ctx, topo); err != nil {
				t.Errorf("%s: traffic does not pass: %v", name, err)
			}
			release()
		})
	}
}
