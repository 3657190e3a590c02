package intent

import (
	"errors"
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// errorsOf parses (and validates against the lab) an intents file and
// returns its errors, one line each.
func errorsOf(t *testing.T, text string) []string {
	t.Helper()
	f, err := Parse("bad.yaml", []byte(text))
	if f != nil {
		err = JoinErrors(err, NewChecker(vpc.Lab()).Validate(f))
	}
	if err == nil {
		t.Fatalf("no error for:\n%s", text)
	}
	var list vpc.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is not a vpc.ErrorList: %v", err)
	}
	return strings.Split(err.Error(), "\n")
}

func TestBadInputIsReportedAtItsLineAndColumn(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // each a prefix of one error line, in order
	}{
		{"unknown endpoint", `
intents:
  - reach: {from: i-wbe, to: i-db, protocol: tcp, ports: 5432}
`, []string{`bad.yaml:2:19: intents[0]: unknown endpoint "i-wbe"; valid: instances i-db, i-web; security groups default, sg-db, sg-web; subnets subnet-private, subnet-public; internet hosts laptop, stranger, website`}},
		{"unknown endpoint in a list", `
intents:
  - no_reach:
      from: internet
      to: [i-web, nope]
      protocol: tcp
`, []string{`bad.yaml:4:19: intents[0]: unknown endpoint "nope"`}},
		{"port out of range", `
intents:
  - reach: {from: laptop, to: i-web, protocol: tcp, ports: 70000}
`, []string{`bad.yaml:2:60: intents[0].reach.ports: "70000" is out of range; valid: a port 0-65535, a range "FROM-TO", "all", or a list of those`}},
		{"backwards range in a list", `
intents:
  - reach: {from: laptop, to: i-web, protocol: udp, ports: [53, 90-80]}
`, []string{`bad.yaml:2:65: intents[0].reach.ports[1]: "90-80" runs backwards`}},
		{"not a port", `
intents:
  - reach: {from: laptop, to: i-web, protocol: tcp, ports: ssh}
`, []string{`bad.yaml:2:60: intents[0].reach.ports: "ssh" is not a port or port range`}},
		{"bad protocol name", `
intents:
  - reach: {from: laptop, to: i-web, protocol: tcpp}
`, []string{`bad.yaml:2:48: intents[0].reach.protocol: "tcpp" is not a protocol; valid: tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255`}},
		{"protocol number out of range", `
intents:
  - reach: {from: laptop, to: i-web, protocol: 300}
`, []string{`bad.yaml:2:48: intents[0].reach.protocol: "300" is not a protocol`}},
		{"ports on icmp", `
intents:
  - reach: {from: laptop, to: i-web, protocol: icmp, ports: 22}
`, []string{`bad.yaml:2:61: intents[0].reach.ports: ports apply to tcp and udp only; this intent's protocol is icmp`}},
		{"missing protocol and to", `
intents:
  - reach: {from: laptop}
`, []string{`bad.yaml:2:12: intents[0].reach.to: missing`, `bad.yaml:2:12: intents[0].reach.protocol: missing`}},
		{"both kinds", `
intents:
  - reach: {from: laptop, to: i-web, protocol: tcp}
    no_reach: {from: laptop, to: i-web, protocol: tcp}
`, []string{`bad.yaml:3:15: intents[0].no_reach: an intent has reach or no_reach, not both`}},
		{"unknown key", `
intents:
  - reach: {from: laptop, to: i-web, protocol: tcp, port: 22}
`, []string{`bad.yaml:2:53: intents[0].reach.port: unknown key "port"; valid: from, to, protocol, ports, source_ports, icmp_type, icmp_code, both_ways`}},
		{"no flow", `
intents:
  - reach: {from: i-web, to: i-web, protocol: tcp}
`, []string{`bad.yaml:2:12: intents[0].reach: covers no flow: reach i-web -> i-web tcp`}},
		{"empty sg", `
intents:
  - reach: {from: default, to: i-web, protocol: tcp}
`, []string{`bad.yaml:2:19: intents[0]: security group default has no members`}},
		{"bad CIDR", `
intents:
  - reach: {from: 10.0.1.5/24, to: i-web, protocol: tcp}
`, []string{`bad.yaml:2:19: intents[0]: "10.0.1.5/24" has host bits set; valid: 10.0.1.0/24`}},
		{"YAML syntax", "intents:\n  - reach: {from: [\n", []string{`bad.yaml:2: invalid YAML`}},
		{"no intents", "topology: x.yaml\n", []string{`bad.yaml:1:1: intents: missing`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := errorsOf(t, strings.TrimPrefix(c.text, "\n"))
			if len(got) != len(c.want) {
				t.Fatalf("%d errors, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], c.want[i]) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], c.want[i])
				}
			}
		})
	}
}

func TestAllMistakesAreReportedAtOnce(t *testing.T) {
	got := errorsOf(t, `intents:
  - reach: {from: laptop, to: i-web, protocol: tcp, ports: 99999}
  - no_reach: {from: nobody, to: i-web, protocol: tcp}
  - reach: {from: laptop, to: i-web, protocol: sctpx}
`)
	if len(got) != 3 {
		t.Fatalf("want 3 errors (lines 2, 4 at parse; line 3 at validation is after them), got:\n%s", strings.Join(got, "\n"))
	}
}

func TestParseReadsEveryField(t *testing.T) {
	f, err := Parse("ok.yaml", []byte(`topology: ../vpc/lab.yaml
intents:
  - name: web to db
    reach:
      from: [sg-web, 10.0.1.0/24]
      to: i-db
      protocol: tcp
      ports: [5432, "6000-6010"]
      source_ports: 1024-65535
      both_ways: true
  - no_reach: {from: internet, to: i-db, protocol: icmp, icmp_type: 8, icmp_code: all}
`))
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Intents[0], f.Intents[1]
	if f.Topology != "../vpc/lab.yaml" || a.Name != "web to db" || !a.Reach || !a.BothWays || len(a.From) != 2 ||
		a.Ports[1] != (vpc.PortRange{From: 6000, To: 6010}) || a.SourcePorts[0] != (vpc.PortRange{From: 1024, To: 65535}) || a.Pos.Line != 3 {
		t.Errorf("first intent parsed as %+v", a)
	}
	if b.Reach || b.Protocol != vpc.ProtoICMP || b.ICMPType != 8 || b.ICMPCode != -1 || b.Title() != "no_reach internet -> i-db icmp type 8" {
		t.Errorf("second intent parsed as %+v (%q)", b, b.Title())
	}
}
