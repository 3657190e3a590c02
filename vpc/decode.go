package vpc

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxErrors bounds the list so that a pathological file (alias bombs) cannot
// make Parse produce millions of messages.
const maxErrors = 1000

// decoder walks the yaml.Node tree, building the model and collecting the
// mistakes of syntax and type with their positions: keys that are not in
// the schema, lists that are not lists, text that is not a number, an
// address, a CIDR. It remembers where every field is, so that the checks
// of the model (checker) can point at the right line.
type decoder struct {
	file   string
	errs   ErrorList
	pos    map[string]*yaml.Node
	bad    map[string]bool // objects that did not decode; the checks skip them
	failed map[string]bool // fields whose value the decoder refused (missing, not a number, …): the checks leave them alone

	vpcPaths  []string            // path of each VPC (vpc or vpcs[i])
	eniPath   map[[2]int]string   // (instance index, device index) → the path of the ENI's fields
	routeAux  map[[2]int]routeAux // (route table index, route index) → what the file wrote of the route's target
	sgRules   map[int][2]bool     // security group index → whether the file leaves out ingress, egress
	naclRules map[int][2]bool     // network ACL index → whether the file leaves out ingress, egress
	natKey    string              // the limits key the file gives the NAT connection limit under, when not the usual one
}

// mark remembers whether the object at path decoded cleanly.
func (d *decoder) mark(path string, ok bool) {
	if !ok {
		if d.bad == nil {
			d.bad = map[string]bool{}
		}
		d.bad[path] = true
	}
}

// errAt records an error at node n (or at the remembered node of field)
// about a value the decoder refuses: the checks of the model skip field.
func (d *decoder) errAt(n *yaml.Node, field, code, format string, args ...any) {
	if d.failed == nil {
		d.failed = map[string]bool{}
	}
	d.failed[field] = true
	d.noteAt(n, field, code, format, args...)
}

// noteAt records an error at node n that leaves field's value in use (a
// key given twice: the first one counts).
func (d *decoder) noteAt(n *yaml.Node, field, code, format string, args ...any) {
	if len(d.errs) >= maxErrors {
		return
	}
	e := &Error{File: d.file, Field: field, Code: code, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
	if len(d.errs) == maxErrors {
		d.errs = append(d.errs, &Error{File: d.file, Line: e.Line, Column: e.Column,
			Msg: fmt.Sprintf("too many errors (more than %d); fix these first", maxErrors)})
	}
}

// note is noteAt at the remembered position of field (or its closest parent).
func (d *decoder) note(field, code, format string, args ...any) {
	d.noteAt(d.at(field), field, code, format, args...)
}

// textOf is the text of the scalar at path, as written.
func (d *decoder) textOf(path string) (string, bool) {
	if n := d.pos[path]; n != nil && n.Kind == yaml.ScalarNode {
		return n.Value, true
	}
	return "", false
}

// at finds the node recorded for path, walking up to parents when absent.
func (d *decoder) at(path string) *yaml.Node {
	for path != "" {
		if n, ok := d.pos[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return d.pos[""]
}

// resolve follows aliases; the schema has bounded depth, so even a
// self-referencing anchor cannot make the walk loop.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// object is a decoded YAML mapping whose keys were checked against the schema.
type object struct {
	node *yaml.Node
	path string
	vals map[string]*yaml.Node
}

// get returns the value of key, or nil when it is absent or null.
func (o object) get(key string) *yaml.Node {
	n := o.vals[key]
	if isNull(n) {
		return nil
	}
	return resolve(n)
}

// present reports whether key was written, even with an empty value.
func (o object) present(key string) bool {
	_, ok := o.vals[key]
	return ok
}

// mapping checks that n is a mapping with only the valid keys (YAML merge
// keys "<<" included) and remembers the position of every value.
func (d *decoder) mapping(n *yaml.Node, path string, valid ...string) (object, bool) {
	n = resolve(n)
	o := object{node: n, path: path, vals: map[string]*yaml.Node{}}
	if n == nil {
		return o, false
	}
	if _, ok := d.pos[path]; !ok {
		d.pos[path] = n
	}
	if n.Kind != yaml.MappingNode {
		d.errAt(n, path, "", "%s is not a mapping; valid: a mapping with keys %s", describe(n), strings.Join(valid, ", "))
		return o, false
	}
	ok := map[string]bool{}
	for _, k := range valid {
		ok[k] = true
	}
	d.collect(n, path, ok, valid, o.vals, 0)
	return o, true
}

func (d *decoder) collect(n *yaml.Node, path string, ok map[string]bool, valid []string, vals map[string]*yaml.Node, depth int) {
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.noteAt(k, path, "", "%s is not a valid key; valid: %s", describe(k), strings.Join(valid, ", "))
			continue
		}
		if path == "" && strings.HasPrefix(k.Value, "x-") {
			continue // extension keys (as in compose files) hold YAML anchors for reuse
		}
		if !ok[k.Value] {
			d.noteAt(k, join(path, k.Value), "", "unknown field %q; valid: %s", k.Value, strings.Join(valid, ", "))
			continue
		}
		if depth == 0 {
			if _, dup := vals[k.Value]; dup {
				d.noteAt(k, join(path, k.Value), "", "%q is given twice; valid: each field once", k.Value)
				continue
			}
		} else if _, set := vals[k.Value]; set {
			continue // keys written in the mapping itself win over merged ones
		}
		vals[k.Value] = v
		if rv := resolve(v); rv != nil {
			d.pos[join(path, k.Value)] = rv
		}
	}
	if depth > 8 {
		return
	}
	for _, m := range merges {
		m = resolve(m)
		if m == nil {
			continue
		}
		switch m.Kind {
		case yaml.MappingNode:
			d.collect(m, path, ok, valid, vals, depth+1)
		case yaml.SequenceNode:
			for _, e := range m.Content {
				if e = resolve(e); e != nil && e.Kind == yaml.MappingNode {
					d.collect(e, path, ok, valid, vals, depth+1)
				}
			}
		}
	}
}

// describe names a node's kind and value for messages.
func describe(n *yaml.Node) string {
	n = resolve(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "an empty value"
	default:
		return strconv.Quote(n.Value)
	}
}

// list returns the elements of a sequence (nil for absent or null).
func (d *decoder) list(o object, key string) ([]*yaml.Node, bool) {
	n := o.get(key)
	if n == nil {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errAt(n, join(o.path, key), "", "%s is not a list; valid: a list (- item or [a, b])", describe(n))
		return nil, false
	}
	for i, e := range n.Content {
		if re := resolve(e); re != nil {
			d.pos[index(join(o.path, key), i)] = re
		}
	}
	return n.Content, true
}

// scalar returns a scalar's text; ok is false (and an error recorded) when
// the value is a mapping or list. Absent and null give "", false, no error.
func (d *decoder) scalar(o object, key string, required bool) (string, *yaml.Node, bool) {
	n := o.get(key)
	if n == nil {
		if required {
			d.errAt(o.node, join(o.path, key), "", "missing; this field is required")
		}
		return "", nil, false
	}
	if n.Kind != yaml.ScalarNode {
		d.errAt(n, join(o.path, key), "", "%s is not a single value; valid: a string or number", describe(n))
		return "", n, false
	}
	return n.Value, n, true
}

// str decodes a string field ("" when absent).
func (d *decoder) str(o object, key string, required bool) string {
	v, _, _ := d.scalar(o, key, required)
	return v
}

// integer decodes an integer field; def when absent or not a number (an
// error then, saying what spec accepts). Its range is checked on the model.
func (d *decoder) integer(o object, key string, def int, spec intSpec) (int, bool) {
	v, n, ok := d.scalar(o, key, false)
	if !ok {
		return def, n == nil
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		d.errAt(n, join(o.path, key), spec.code, "%s", spec.msg(v))
		return def, false
	}
	return i, true
}

// boolean decodes true/false; false when absent.
func (d *decoder) boolean(o object, key string) bool {
	v, n, ok := d.scalar(o, key, false)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true":
		return true
	case "false":
		return false
	}
	d.errAt(n, join(o.path, key), "", "%q is not valid; valid: true or false", v)
	return false
}

// strings decodes a list of scalars.
func (d *decoder) strList(o object, key string) ([]string, []*yaml.Node) {
	items, _ := d.list(o, key)
	var out []string
	var nodes []*yaml.Node
	for i, it := range items {
		it = resolve(it)
		if it == nil || it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			d.errAt(it, index(join(o.path, key), i), "", "%s is not valid; valid: a string", describe(it))
			continue
		}
		out = append(out, it.Value)
		nodes = append(nodes, it)
	}
	return out, nodes
}

// addr decodes an IP address; that it is one of the family a host can
// have is checked on the model.
func (d *decoder) addr(o object, key string, family int, required bool) netip.Addr {
	v, n, ok := d.scalar(o, key, required)
	if !ok {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		d.errAt(n, join(o.path, key), "", "%s", badAddr(v, family))
		return netip.Addr{}
	}
	return a
}

// prefix decodes a CIDR, host bits and all; its family, host bits and
// size are checked on the model.
func (d *decoder) prefix(o object, key string, family int, required bool) netip.Prefix {
	v, n, ok := d.scalar(o, key, required)
	if !ok {
		return netip.Prefix{}
	}
	return d.parsePrefix(n, join(o.path, key), v, family)
}

func (d *decoder) parsePrefix(n *yaml.Node, field, v string, family int) netip.Prefix {
	p, err := netip.ParsePrefix(strings.TrimSpace(v))
	if err != nil {
		d.errAt(n, field, "", "%s", badPrefix(v, family))
		return netip.Prefix{}
	}
	return p
}

// prefixes decodes a list of CIDRs of the family (0: each by its text).
// Entries that are no CIDR are kept as the zero prefix, so that paths
// still index the list.
func (d *decoder) prefixes(o object, key string, family int) []netip.Prefix {
	items, nodes := d.strList(o, key)
	var out []netip.Prefix
	for k, v := range items {
		f := family
		if f == 0 {
			f = 4
			if strings.Contains(v, ":") {
				f = 6
			}
		}
		out = append(out, d.parsePrefix(nodes[k], index(join(o.path, key), k), v, f))
	}
	return out
}

// sortedKeys returns m's keys in order, for messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// hostUsable reports whether a can be a host's own address.
func hostUsable(a netip.Addr) bool {
	if a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() ||
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	for _, p := range reservedBlocks {
		if p.Addr().Is4() == a.Is4() && p.Contains(a) {
			return false
		}
	}
	return true
}

// reservedBlocks can hold neither a VPC nor a host: "this network", loopback,
// link-local (vpcemu's gateway link uses 169.254.100.0/30), multicast and
// class E; for IPv6 the ::/8 block (loopback, mapped), link-local and multicast.
var reservedBlocks = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("224.0.0.0/3"),
	netip.MustParsePrefix("::/8"), netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("ff00::/8"),
}

// reservedOverlap returns the reserved block that p overlaps, if any.
func reservedOverlap(p netip.Prefix) (netip.Prefix, bool) {
	for _, r := range reservedBlocks {
		if r.Overlaps(p) {
			return r, true
		}
	}
	return netip.Prefix{}, false
}
