package vpc

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxErrors bounds the list so that a pathological file (alias bombs) cannot
// make Parse produce millions of messages.
const maxErrors = 1000

// decoder walks the yaml.Node tree, building the model and collecting every
// mistake with its position. Positions of decoded fields are remembered by
// path so that cross-object checks can point at the right line later.
type decoder struct {
	file string
	errs ErrorList
	pos  map[string]*yaml.Node
	bad  map[string]bool // objects that did not decode; cross-object checks skip them

	t        *Topology         // being decoded: later lists look up the VPCs
	vpcPaths []string          // path of each VPC (vpc or vpcs[i])
	ids      map[string]ref    // every object id, for references and cross-kind uniqueness
	eniPath  map[string]string // eniKey(instance path, device index) → the path of the ENI's fields
	routeAux map[string]routeAux
	implicit map[string]bool       // ids of the objects VPCs get without the file naming them
	peered   map[[2]string]bool    // VPC pairs joined by an active peering
	addrs    map[netip.Addr]string // every address in use → the field that holds it
	names    map[string]string     // instance ids and internet host names → field
	eipUser  map[string]string     // Elastic IP id → the field of the NAT gateway that uses it
	rtPaths  map[string][]string   // route table id → the path each route came from ("" when implicit)
	fileRTs  int                   // how many of t.RouteTables the file defines
}

// eniKey names an instance's ENI by its device index for decoder.eniPath.
func eniKey(instancePath string, deviceIndex int) string {
	return fmt.Sprintf("%s#%d", instancePath, deviceIndex)
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

// isBad reports whether the object at path, or one containing it, did not decode.
func (d *decoder) isBad(path string) bool {
	for path != "" {
		if d.bad[path] {
			return true
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return false
		}
		path = path[:i]
	}
	return false
}

// errAt records an error at node n (or at the remembered node of field).
func (d *decoder) errAt(n *yaml.Node, field, code, format string, args ...any) {
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

// errf records an error at the remembered position of field (or its closest parent).
func (d *decoder) errf(field, code, format string, args ...any) {
	d.errAt(d.at(field), field, code, format, args...)
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
			d.errAt(k, path, "", "%s is not a valid key; valid: %s", describe(k), strings.Join(valid, ", "))
			continue
		}
		if path == "" && strings.HasPrefix(k.Value, "x-") {
			continue // extension keys (as in compose files) hold YAML anchors for reuse
		}
		if !ok[k.Value] {
			d.errAt(k, join(path, k.Value), "", "unknown field %q; valid: %s", k.Value, strings.Join(valid, ", "))
			continue
		}
		if depth == 0 {
			if _, dup := vals[k.Value]; dup {
				d.errAt(k, join(path, k.Value), "", "%q is given twice; valid: each field once", k.Value)
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

// str decodes a string field that must match re (when not nil).
func (d *decoder) str(o object, key string, required bool, re *regexp.Regexp, valid string) string {
	v, n, ok := d.scalar(o, key, required)
	if !ok {
		return ""
	}
	if re != nil && !re.MatchString(v) {
		d.errAt(n, join(o.path, key), "", "%q is not valid; valid: %s", v, valid)
		// Keep the value: references to it should not cascade into more errors.
	}
	return v
}

// integer decodes an integer field within [lo, hi]; def when absent.
func (d *decoder) integer(o object, key string, def, lo, hi int, code, valid string) (int, bool) {
	v, n, ok := d.scalar(o, key, false)
	if !ok {
		return def, n == nil
	}
	i, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || i < lo || i > hi {
		d.errAt(n, join(o.path, key), code, "%q is not valid; valid: %s", v, valid)
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

// addr decodes an IP address of the given family (4 or 6).
func (d *decoder) addr(o object, key string, family int, required bool) netip.Addr {
	v, n, ok := d.scalar(o, key, required)
	if !ok {
		return netip.Addr{}
	}
	ex := "10.0.1.10"
	if family == 6 {
		ex = "2001:db8:1::10"
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || a.Zone() != "" || (family == 4 && !a.Is4()) || (family == 6 && (!a.Is6() || a.Is4In6())) {
		d.errAt(n, join(o.path, key), "", "%q is not a valid IPv%d address; valid: an address such as %s", v, family, ex)
		return netip.Addr{}
	}
	if !hostUsable(a) {
		d.errAt(n, join(o.path, key), "", "%s is not an address a host can use (unspecified, loopback, link-local, multicast or broadcast); valid: a unicast address such as %s", a, ex)
		return netip.Addr{}
	}
	return a
}

// prefix decodes a CIDR of the given family. With mask, host bits are
// cleared as AWS does for rule CIDRs (NACL-16); without, they are an error
// (a VPC or subnet block written with host bits is almost always a typo).
func (d *decoder) prefix(o object, key string, family int, required, mask bool) netip.Prefix {
	v, n, ok := d.scalar(o, key, required)
	if !ok {
		return netip.Prefix{}
	}
	return d.parsePrefix(n, join(o.path, key), v, family, mask)
}

func (d *decoder) parsePrefix(n *yaml.Node, field, v string, family int, mask bool) netip.Prefix {
	ex := "10.0.0.0/16"
	if family == 6 {
		ex = "2001:db8::/56"
	}
	p, err := netip.ParsePrefix(strings.TrimSpace(v))
	if err != nil || (family == 4 && !p.Addr().Is4()) || (family == 6 && (!p.Addr().Is6() || p.Addr().Is4In6())) {
		hint := ""
		if a, aerr := netip.ParseAddr(strings.TrimSpace(v)); aerr == nil && a.Zone() == "" {
			hint = fmt.Sprintf(" (a single address is %s/%d)", a, a.BitLen())
		}
		d.errAt(n, field, "", "%q is not a valid IPv%d CIDR; valid: address/length such as %s%s", v, family, ex, hint)
		return netip.Prefix{}
	}
	if p.Masked() != p {
		if !mask {
			d.errAt(n, field, "", "%q has host bits set; valid: %s", v, p.Masked())
			return netip.Prefix{}
		}
		p = p.Masked()
	}
	return p
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
	bad := a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() ||
		a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
	for _, p := range reservedBlocks {
		bad = bad || p.Contains(a)
	}
	return !bad
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
