package intent

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vpcemu/vpcemu/vpc"
)

// File is an intents file: expectations about which flows a topology
// lets through.
//
//	topology: ../vpc/lab.yaml        # optional, relative to this file
//	intents:
//	  - name: the web tier reaches the database
//	    reach: {from: sg-web, to: i-db, protocol: tcp, ports: 5432, both_ways: true}
//	  - name: nothing on the internet reaches SSH or RDP
//	    no_reach: {from: internet, to: [i-web, i-db], protocol: tcp, ports: [22, 3389]}
type File struct {
	Path        string
	Topology    string // as written; "" when the file names none
	TopologyPos vpc.Pos
	Intents     []Intent
}

// Intent is one expectation: every flow it covers is let through (Reach),
// or none is.
type Intent struct {
	Name     string
	Reach    bool // false: no_reach
	From, To []Endpoint
	Protocol int             // IANA number, or vpc.ProtoAll
	Ports    []vpc.PortRange // TCP/UDP destination ports; nil: all
	// SourcePorts are the clients' ports (TCP/UDP); nil: each sender's
	// ephemeral range (vpc.EphemeralPorts; 1024-65535 for a CIDR or the
	// internet).
	SourcePorts []vpc.PortRange
	// ICMP type and code of the first packet (ICMP/ICMPv6): -1 is every
	// value; by default an echo request (8, or 128 for ICMPv6), code 0.
	ICMPType, ICMPCode int
	ICMPTypeSet        bool
	// BothWays: the reply must come back too (reach), or no exchange may
	// complete (no_reach); otherwise only the first packet counts.
	BothWays bool
	Pos      vpc.Pos // the list item
	ExprPos  vpc.Pos // the reach/no_reach mapping
	Field    string  // intents[N]
	bad      bool    // has a mistake (reported by Parse)
}

// Endpoint is one end of an intent as written: an instance, ENI, security
// group (its members), subnet (its instances), VPC, internet host name,
// CIDR or address, or "internet".
type Endpoint struct {
	Text string
	Pos  vpc.Pos
}

// Kind is "reach" or "no_reach".
func (in *Intent) Kind() string {
	if in.Reach {
		return "reach"
	}
	return "no_reach"
}

// Title is the intent's name, or a description of it.
func (in *Intent) Title() string {
	if in.Name != "" {
		return in.Name
	}
	return in.Describe()
}

// Describe says what the intent expects, e.g. "reach sg-web -> i-db tcp 5432".
func (in *Intent) Describe() string {
	var b strings.Builder
	b.WriteString(in.Kind())
	b.WriteString(" ")
	b.WriteString(endpointsText(in.From))
	b.WriteString(" -> ")
	b.WriteString(endpointsText(in.To))
	b.WriteString(" ")
	b.WriteString(protoName(in.Protocol))
	switch in.Protocol {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if in.Ports != nil {
			b.WriteString(" " + portsText(in.Ports))
		}
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		if in.ICMPTypeSet {
			if in.ICMPType < 0 {
				b.WriteString(" all types")
			} else {
				fmt.Fprintf(&b, " type %d", in.ICMPType)
			}
		}
	}
	if in.BothWays {
		b.WriteString(" both ways")
	}
	return b.String()
}

func endpointsText(es []Endpoint) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Text)
	}
	if len(s) == 1 {
		return s[0]
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func portsText(ps []vpc.PortRange) string {
	var s []string
	for _, p := range ps {
		s = append(s, intRange{p.From, p.To}.String())
	}
	return strings.Join(s, ",")
}

// Load reads and parses the intents file at path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read intents: %w", err)
	}
	return Parse(path, data)
}

// errs collects errors with positions in the style of vpc.ErrorList.

type errs struct {
	file string
	list vpc.ErrorList
}

func (e *errs) at(n *yaml.Node, field, format string, args ...any) {
	er := &vpc.Error{File: e.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		er.Line, er.Column = n.Line, n.Column
	}
	e.list = append(e.list, er)
}

func (e *errs) atPos(p vpc.Pos, field, format string, args ...any) {
	e.list = append(e.list, &vpc.Error{File: e.file, Line: p.Line, Column: p.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (e *errs) err() error {
	if len(e.list) == 0 {
		return nil
	}
	sort.SliceStable(e.list, func(i, j int) bool {
		a, b := e.list[i], e.list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return e.list
}

func pos(n *yaml.Node) vpc.Pos { return vpc.Pos{Line: n.Line, Column: n.Column} }

var reYAMLLine = regexp.MustCompile(`^yaml: line (\d+): `)

// Parse decodes an intents file. file is used in messages. Every mistake
// is reported (a vpc.ErrorList), each with its line and column; the File
// returned with them holds the intents that did parse (nil when the YAML
// itself is broken), so that Validate can report their mistakes too.
func Parse(file string, data []byte) (*File, error) {
	e := &errs{file: file}
	f := &File{Path: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg, line := err.Error(), 0
		if m := reYAMLLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = msg[len(m[0]):]
		}
		e.list = append(e.list, &vpc.Error{File: file, Line: line, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
		return nil, e.err()
	}
	if len(doc.Content) == 0 {
		e.at(&yaml.Node{Line: 1, Column: 1}, "", "the file is empty; valid: a mapping with an intents list")
		return nil, e.err()
	}
	root := doc.Content[0]
	m := mapping(e, root, "", "topology", "intents")
	if m == nil {
		return f, e.err()
	}
	if n := m["topology"]; n != nil {
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			e.at(n, "topology", "want the path of a topology file")
		} else {
			f.Topology, f.TopologyPos = n.Value, pos(n)
		}
	}
	list := m["intents"]
	switch {
	case list == nil:
		e.at(root, "intents", "missing; valid: a list of intents, each with reach or no_reach")
	case list.Kind != yaml.SequenceNode:
		e.at(list, "intents", "want a list of intents, each with reach or no_reach")
	case len(list.Content) == 0:
		e.at(list, "intents", "the list is empty; valid: at least one intent")
	default:
		for i, n := range list.Content {
			in, ok := parseIntent(e, n, fmt.Sprintf("intents[%d]", i))
			// Kept when broken, so that Validate still reports its
			// endpoints: every mistake at once.
			in.bad = !ok
			f.Intents = append(f.Intents, in)
		}
	}
	return f, e.err()
}

// JoinErrors merges error lists (nil ones skipped) into one sorted list.
func JoinErrors(list ...error) error {
	e := &errs{}
	for _, err := range list {
		if err == nil {
			continue
		}
		var l vpc.ErrorList
		if errors.As(err, &l) {
			e.list = append(e.list, l...)
		} else {
			e.list = append(e.list, &vpc.Error{Msg: err.Error()})
		}
	}
	return e.err()
}

// mapping checks that n is a mapping with keys from valid only and returns it by key.
func mapping(e *errs, n *yaml.Node, field string, valid ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		e.at(n, field, "want a mapping with keys %s", strings.Join(valid, ", "))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(valid, k.Value) {
			e.at(k, join(field, k.Value), "unknown key %q; valid: %s", k.Value, strings.Join(valid, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			e.at(k, join(field, k.Value), "given twice")
			continue
		}
		out[k.Value] = v
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

var intentKeys = []string{"name", "reach", "no_reach"}
var flowKeys = []string{"from", "to", "protocol", "ports", "source_ports", "icmp_type", "icmp_code", "both_ways"}

func parseIntent(e *errs, n *yaml.Node, field string) (Intent, bool) {
	in := Intent{Pos: pos(n), Field: field, ICMPType: -2, ICMPCode: -2}
	before := len(e.list)
	m := mapping(e, n, field, intentKeys...)
	if m == nil {
		return in, false
	}
	if v := m["name"]; v != nil {
		if v.Kind != yaml.ScalarNode {
			e.at(v, join(field, "name"), "want a string")
		}
		in.Name = v.Value
	}
	var body *yaml.Node
	switch r, nr := m["reach"], m["no_reach"]; {
	case r != nil && nr != nil:
		e.at(nr, join(field, "no_reach"), "an intent has reach or no_reach, not both")
		return in, false
	case r != nil:
		in.Reach, body, field = true, r, join(field, "reach")
	case nr != nil:
		body, field = nr, join(field, "no_reach")
	default:
		e.at(n, field, "missing reach or no_reach; valid: reach: {from: ..., to: ..., protocol: ...} or no_reach: {...}")
		return in, false
	}
	in.ExprPos = pos(body)
	fm := mapping(e, body, field, flowKeys...)
	if fm == nil {
		return in, false
	}
	in.From = endpoints(e, fm["from"], body, join(field, "from"))
	in.To = endpoints(e, fm["to"], body, join(field, "to"))
	in.Protocol = protocol(e, fm["protocol"], body, join(field, "protocol"))
	l4 := in.Protocol == vpc.ProtoTCP || in.Protocol == vpc.ProtoUDP
	icmp := in.Protocol == vpc.ProtoICMP || in.Protocol == vpc.ProtoICMPv6
	if v := fm["ports"]; v != nil {
		if !l4 {
			e.at(v, join(field, "ports"), "ports apply to tcp and udp only; this intent's protocol is %s", protoName(in.Protocol))
		} else {
			in.Ports = portList(e, v, join(field, "ports"))
		}
	}
	if v := fm["source_ports"]; v != nil {
		if !l4 {
			e.at(v, join(field, "source_ports"), "source_ports apply to tcp and udp only; this intent's protocol is %s", protoName(in.Protocol))
		} else {
			in.SourcePorts = portList(e, v, join(field, "source_ports"))
		}
	}
	for _, k := range []string{"icmp_type", "icmp_code"} {
		v := fm[k]
		if v == nil {
			continue
		}
		if !icmp {
			e.at(v, join(field, k), "%s applies to icmp and icmpv6 only; this intent's protocol is %s", k, protoName(in.Protocol))
			continue
		}
		x := icmpValue(e, v, join(field, k))
		if k == "icmp_type" {
			in.ICMPType, in.ICMPTypeSet = x, true
		} else {
			in.ICMPCode = x
		}
	}
	if v := fm["both_ways"]; v != nil {
		switch v.Value {
		case "true", "yes":
			in.BothWays = true
		case "false", "no":
		default:
			e.at(v, join(field, "both_ways"), "%q is not a boolean; valid: true or false", v.Value)
		}
	}
	return in, len(e.list) == before
}

func endpoints(e *errs, n, parent *yaml.Node, field string) []Endpoint {
	if n == nil {
		e.at(parent, field, "missing; valid: an instance, ENI, security group, subnet or VPC id, an internet host's name, a CIDR, \"internet\", or a list of those")
		return nil
	}
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			e.at(n, field, "the list is empty; valid: at least one endpoint")
		}
	}
	var out []Endpoint
	for i, it := range items {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		if it.Kind != yaml.ScalarNode || it.Value == "" {
			e.at(it, f, "want an endpoint name: an instance, ENI, security group, subnet or VPC id, an internet host's name, a CIDR or \"internet\"")
			continue
		}
		out = append(out, Endpoint{Text: it.Value, Pos: pos(it)})
	}
	return out
}

func protocol(e *errs, n, parent *yaml.Node, field string) int {
	const valid = "tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255"
	if n == nil {
		e.at(parent, field, "missing; valid: %s", valid)
		return vpc.ProtoTCP
	}
	switch strings.ToLower(n.Value) {
	case "tcp":
		return vpc.ProtoTCP
	case "udp":
		return vpc.ProtoUDP
	case "icmp":
		return vpc.ProtoICMP
	case "icmpv6":
		return vpc.ProtoICMPv6
	case "all", "-1":
		return vpc.ProtoAll
	}
	p, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || p < 0 || p > 255 {
		e.at(n, field, "%q is not a protocol; valid: %s", n.Value, valid)
		return vpc.ProtoTCP
	}
	return p
}

const validPorts = `a port 0-65535, a range "FROM-TO", "all", or a list of those`

func portList(e *errs, n *yaml.Node, field string) []vpc.PortRange {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
		if len(items) == 0 {
			e.at(n, field, "the list is empty; valid: %s", validPorts)
		}
	}
	var out []vpc.PortRange
	for i, it := range items {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = fmt.Sprintf("%s[%d]", field, i)
		}
		if it.Kind != yaml.ScalarNode {
			e.at(it, f, "want %s", validPorts)
			continue
		}
		r, err := parsePorts(it.Value)
		if err != nil {
			e.at(it, f, "%v; valid: %s", err, validPorts)
			continue
		}
		out = append(out, r)
	}
	return out
}

func parsePorts(s string) (vpc.PortRange, error) {
	s = strings.TrimSpace(s)
	if s == "all" {
		return vpc.AllPorts, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := lo, error(nil)
	if isRange {
		hi, err2 = strconv.Atoi(strings.TrimSpace(b))
	}
	switch {
	case err1 != nil || err2 != nil:
		return vpc.PortRange{}, fmt.Errorf("%q is not a port or port range", s)
	case lo < 0 || lo > 65535 || hi < 0 || hi > 65535:
		return vpc.PortRange{}, fmt.Errorf("%q is out of range", s)
	case lo > hi:
		return vpc.PortRange{}, fmt.Errorf("%q runs backwards", s)
	}
	return vpc.PortRange{From: lo, To: hi}, nil
}

func icmpValue(e *errs, n *yaml.Node, field string) int {
	if n.Value == "all" || n.Value == "-1" {
		return -1
	}
	v, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < 0 || v > 255 {
		e.at(n, field, "%q is not valid; valid: a number 0-255 or all", n.Value)
		return -1
	}
	return v
}

// protoName is a protocol as users write it.
func protoName(p int) string {
	switch p {
	case vpc.ProtoAll:
		return "all"
	case vpc.ProtoTCP:
		return "tcp"
	case vpc.ProtoUDP:
		return "udp"
	case vpc.ProtoICMP:
		return "icmp"
	case vpc.ProtoICMPv6:
		return "icmpv6"
	}
	return "protocol " + strconv.Itoa(p)
}
