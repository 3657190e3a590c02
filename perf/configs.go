package perf

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/loader"
)

// ErrUnavailable marks a configuration this build cannot apply yet (a vpcemu
// program whose loader has not landed); tables show it as "n/a".
var ErrUnavailable = errors.New("not available in this build")

// Config is one filter configuration, applied to a fresh topology before
// each trial. Apply returns a function that removes what namespace deletion
// does not (BPF objects held in this process).
type Config struct {
	Name  string // token, e.g. "ipt1000"
	Desc  string // table label
	Rules int    // N non-matching rules in front of the allow rule (0 when none)
	MTU   int    // topology MTU override (0 = the run's)
	Shape Shape  // topology shape override ("" = the run's)
	Apply func(ctx context.Context, t *Topo) (release func(), err error)
}

// DefaultConfigs is the configuration list of a full run.
var DefaultConfigs = []string{
	"bare",
	"ipt40", "ipt1000", "iptct60", "iptct300", "iptct1000",
	"nft40", "nft1000", "nftct60", "nftct300",
	"naclgen40", "naclgen1000", "nacltcx40", "nacltcx1000", "naclnat40", "naclnat1000",
	"sg60", "sg300", "sg1000", "sgnacl40", "sgnaclfl40",
	"bare-mtu9001", "sgnacl40-mtu9001",
	"bare-direct",
}

var configRE = regexp.MustCompile(`^([a-z]+?)(\d*)(?:-mtu(\d+))?(-direct)?$`)

// ParseConfig resolves a configuration token: bare, ngw, masq, fwd (the
// NAT gateway's path, ShapeNGW), iptN, iptctN, nftN, nftctN,
// nacltcxN, naclgenN, naclnatN, sgN, sgnaclN, sgnaclflN, each optionally suffixed -mtuM
// and/or -direct (the peers' client-router-server topology for this one).
func ParseConfig(tok string) (Config, error) {
	m := configRE.FindStringSubmatch(tok)
	if m == nil {
		return Config{}, fmt.Errorf("bad configuration %q", tok)
	}
	kind, nStr, mtuStr := m[1], m[2], m[3]
	n := 0
	if nStr != "" {
		var err error
		if n, err = strconv.Atoi(nStr); err != nil || n > 100000 {
			return Config{}, fmt.Errorf("bad rule count in %q", tok)
		}
	}
	c := Config{Name: tok, Rules: n}
	if mtuStr != "" {
		c.MTU, _ = strconv.Atoi(mtuStr)
		if c.MTU < 1280 || c.MTU > 65535 {
			return Config{}, fmt.Errorf("bad MTU in %q", tok)
		}
	}
	needN := true
	switch kind {
	case "bare":
		needN = false
		c.Desc = "bare forwarding"
		c.Apply = func(context.Context, *Topo) (func(), error) { return func() {}, nil }
	case "ngw", "masq", "fwd":
		needN = false
		c.Shape = ShapeNGW
		c.Desc = map[string]string{
			"ngw":  "NAT gateway path: vpcemu datapath with the eBPF NAT gateway",
			"masq": "NAT gateway path: vpcemu datapath, nftables masquerade instead of the NAT gateway's program",
			"fwd":  "NAT gateway path: bare forwarding, no translation",
		}[kind]
		c.Apply = ngwConfig(kind)
	case "ipt", "iptct":
		state := kind == "iptct"
		c.Desc = fmt.Sprintf("iptables-nft, %d rules, stateless", n)
		if state {
			c.Desc = fmt.Sprintf("iptables-nft + conntrack, %d rules", n)
		}
		c.Apply = func(ctx context.Context, t *Topo) (func(), error) {
			_, err := nsRun(ctx, t.RouterNS, IptablesRules(n, state, t.VPCCIDR.String()), "iptables-nft-restore")
			return func() {}, err
		}
	case "nft", "nftct":
		state := kind == "nftct"
		c.Desc = fmt.Sprintf("nftables, %d rules", n)
		if state {
			c.Desc = fmt.Sprintf("nftables + conntrack, %d rules", n)
		}
		c.Apply = func(ctx context.Context, t *Topo) (func(), error) {
			_, err := nsRun(ctx, t.RouterNS, NftRules(n, state, t.VPCCIDR.String()), "nft", "-f", "-")
			return func() {}, err
		}
	case "nacltcx":
		c.Desc = fmt.Sprintf("vpcemu NACL (tcx), %d rules", n)
		c.Apply = vpcemuConfig(datapathOpts{rules: n, nacl: true, mode: "tcx"})
	case "naclgen", "naclnat":
		mode := "generic"
		if kind == "naclnat" {
			mode = "native"
		}
		c.Desc = fmt.Sprintf("vpcemu NACL (XDP %s), %d rules", mode, n)
		c.Apply = vpcemuConfig(datapathOpts{rules: n, nacl: true, mode: mode})
	case "sg":
		c.Desc = fmt.Sprintf("vpcemu SG (tcx), %d rules", n)
		c.Apply = vpcemuConfig(datapathOpts{rules: n, sg: true})
	case "sgnaclmir":
		c.Desc = fmt.Sprintf("vpcemu SG %d rules + NACL (tcx) %d rules + one mirror session copying all the client's traffic to the server", n, n)
		c.Apply = vpcemuConfig(datapathOpts{rules: n, nacl: true, sg: true, mirror: true, mode: string(loader.DefaultNACLMode)})
	case "sgnaclmet", "sgnaclcap":
		c.Desc = fmt.Sprintf("vpcemu SG %d rules + NACL (tcx) %d rules", n, n)
		o := datapathOpts{rules: n, nacl: true, sg: true, mode: string(loader.DefaultNACLMode)}
		if kind == "sgnaclmet" {
			c.Desc += " + /metrics scraped every second"
			o.scrape = true
		} else {
			c.Desc += " + a capture at the server's ENI"
			o.capture = true
		}
		c.Apply = vpcemuConfig(o)
	case "sgnacl", "sgnaclfl":
		fl := kind == "sgnaclfl"
		c.Desc = fmt.Sprintf("vpcemu SG %d rules + NACL (tcx) %d rules", n, n)
		if fl {
			c.Desc += " + flow logs"
		}
		c.Apply = vpcemuConfig(datapathOpts{rules: n, nacl: true, sg: true, flowLogs: fl, mode: string(loader.DefaultNACLMode)})
	default:
		return Config{}, fmt.Errorf("unknown configuration %q (valid: bare, ngw, masq, fwd, iptN, iptctN, nftN, nftctN, nacltcxN, naclgenN, naclnatN, sgN, sgnaclN, sgnaclflN, sgnaclmetN, sgnaclcapN, sgnaclmirN, optional -mtuM and -direct)", tok)
	}
	if needN && nStr == "" {
		return Config{}, fmt.Errorf("configuration %q needs a rule count (e.g. %s40)", tok, kind)
	}
	if !needN && nStr != "" {
		return Config{}, fmt.Errorf("configuration %q takes no rule count", tok)
	}
	if c.MTU != 0 {
		c.Desc += fmt.Sprintf(", MTU %d", c.MTU)
	}
	if m[4] != "" {
		c.Shape = ShapeDirect
		c.Desc += ", peers' topology (no subnets)"
	}
	return c, nil
}

// RuleSource is the source address of non-matching rule i (0-based): in
// 10.99.0.0/16, which no benchmark traffic uses.
func RuleSource(i int) string { return fmt.Sprintf("10.99.%d.%d", i/250, i%250+1) }

// RulePort is the TCP destination port of non-matching rule i.
func RulePort(i int) int { return 10000 + i%50000 }

// IptablesRules is an iptables-nft-restore input: FORWARD policy DROP, N
// rules that match no benchmark packet, then accept VPC <-> VPC; with state,
// an ESTABLISHED,RELATED accept first (the peers' iptN/iptctN).
func IptablesRules(n int, state bool, vpc string) string {
	var b strings.Builder
	b.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	if state {
		b.WriteString("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n")
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "-A FORWARD -s %s/32 -p tcp -m tcp --dport %d -j ACCEPT\n", RuleSource(i), RulePort(i))
	}
	fmt.Fprintf(&b, "-A FORWARD -s %s -d %s -j ACCEPT\nCOMMIT\n", vpc, vpc)
	return b.String()
}

// NftRules is a native nftables ruleset with the same N rules (the peers'
// nftN); with state, `ct state established,related accept` comes first.
func NftRules(n int, state bool, vpc string) string {
	var b strings.Builder
	b.WriteString("table ip vpcbench {\n  chain forward {\n    type filter hook forward priority 0; policy drop;\n")
	if state {
		b.WriteString("    ct state established,related accept\n")
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "    ip saddr %s tcp dport %d accept\n", RuleSource(i), RulePort(i))
	}
	fmt.Fprintf(&b, "    ip saddr %s ip daddr %s accept\n  }\n}\n", vpc, vpc)
	return b.String()
}
