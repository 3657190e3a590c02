package vpc

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Validate runs every check Parse runs on a topology built or edited in
// code, and completes it as Parse completes a file: a topology Validate
// accepts is the one Parse makes of its export, Parse(t.YAML()), so it is
// what `vpcemu export` writes and `up -f` recreates. It reports the same
// mistakes with the same AWS error codes and messages, as an ErrorList
// whose errors name the field as the export places it
// (security_groups[2].ingress[3].cidr) and have no line.
//
// A zero value means "left out" where the export leaves the field out, and
// takes the default Parse gives: a VPC's default group, NACL and main
// table ids and MTU (9001), a subnet's AZ (REGION + "a") and network ACL,
// a group's name (its id), rule ids (SGRuleID), an ENI's id (ENIID) and
// groups (its VPC's default group), the routing limits and NAT idle
// timeout, a rule's ports and ICMP fields where its protocol has none
// (AllPorts, -1), an Elastic IP's private IP (its ENI's primary; an
// instance id in ENI means its primary ENI). Elsewhere a zero is checked
// as the export writes it: a NAT gateway needs its ENI id, private IP and
// port policy, an instance its OS and conntrack timeouts, a flow log its
// traffic type, interval and file format, a peering its state, a traffic
// mirror session its VNI.
//
// Validate also restores what Parse derives: the objects a VPC has without
// being asked (default group and NACL, main table; for `public: true` the
// public table and an internet gateway), made anew at the end where Parse
// puts them; NetworkACL.Default, RouteTable.Main, PrefixList.AWSManaged and
// `public: true` subnets' table; every table's local and gateway endpoint
// routes (RT-5, VPCE-2); a NAT gateway's Elastic IP association (NGW-5);
// in a topology of one VPC, every object's VPC (the export names none).
// It clears the host bits of rule and route CIDRs (NACL-16, RT-12), sorts
// NACL rules by number, routes (SortRoutes) and secondary ENIs by device
// index, and makes empty tags nil and durations whole seconds.
//
// Where the model says more than a file, it does not check what a file
// would: the state of a route whose target exists is recomputed (a
// detached internet gateway or a peering that is not active makes it a
// blackhole, RT-15) whatever Blackhole says; a route to an id that is no
// object must be marked Blackhole, as RefreshRouteStates marks it after a
// deletion, else it is refused with the target's NotFound code.
//
// Validate changes t in place; on error t is left half completed, so
// callers validate a copy (Clone) and keep the original. It is safe for
// concurrent use on distinct topologies.
func Validate(t *Topology) error {
	c := checkers.Get().(*checker)
	defer c.release()
	c.t = t
	c.run()
	if len(c.errs) > 0 {
		slices.SortStableFunc(c.errs, func(a, b *Error) int { return comparePaths(a.Field, b.Field) })
		return c.errs
	}
	return nil
}

// checkers keeps checkers between validations, with their maps' storage:
// the EC2 API validates a topology on every mutation.
var checkers = sync.Pool{New: func() any { return new(checker) }}

// release empties c (so that it holds on to no topology) and gives it back
// to checkers.
func (c *checker) release() {
	s := c.s
	clear(c.refs) // strings of the topology
	s.refs = c.refs[:0]
	clear(s.pls) // pointers into it
	clear(s.rtPaths)
	clear(s.paths)
	s.paths = s.paths[:0]
	*c = checker{s: s}
	checkers.Put(c)
}

// fresh returns *m empty, making it on first use: a pooled checker keeps
// its maps' storage from one validation to the next.
func fresh[K comparable, V any](m *map[K]V) map[K]V {
	if *m == nil {
		*m = make(map[K]V)
	} else {
		clear(*m)
	}
	return *m
}

// scratch are the maps and slices a validation fills, kept for the next.
type scratch struct {
	refs     []ref
	ids      map[string]int32
	implicit map[string]bool
	peered   map[[2]string]bool
	addrs    map[netip.Addr]fpath
	names    map[string]fpath
	eipUser  map[string]int
	rtPaths  map[string][]fpath
	pls      map[string]*PrefixList
	paths    []fpath // backing store of rtPaths

	set      map[string]bool // the ids of one kind seen so far, for duplicates
	owners   map[string]owner
	fields   map[string]fpath
	index    map[string]int
	sgNames  map[vpcName]string
	ruleIDs  map[string]ruleRef
	rules    map[sgRuleKey]int
	numbers  map[int]int
	pairs    map[[2]string]string
	attached map[string]string
	perAZ    map[string]int
	private  map[netip.Addr]string
	dests    map[routeDest]int
	replaced map[routeDest]bool
}

// checker runs the value and cross-object checks on a model and completes
// it. Parse runs it on what the decoder made of a file (d set: positions,
// texts and which keys the file wrote come from it); Validate on a model
// built in code, where a field counts as written when the export would
// write it.
type checker struct {
	t    *Topology
	d    *decoder // nil for a model built in code
	file string
	errs ErrorList
	bad  map[string]bool // objects that failed; cross-object checks skip them
	// values is set while the fields' own values are checked: then a
	// field the decoder refused (its value replaced) is not reported twice.
	values bool

	ids      map[string]int32 // every object id → its ref in refs, for references and cross-kind uniqueness
	refs     []ref
	implicit map[string]bool
	peered   map[[2]string]bool
	addrs    map[netip.Addr]fpath // every address in use → the field that holds it
	names    map[string]fpath     // instance ids and internet host names → field
	eipUser  map[string]int       // Elastic IP id → index of the NAT gateway that uses it
	rtPaths  map[string][]fpath
	fileRTs  int             // how many of t.RouteTables the topology defines (the rest Parse adds)
	derived  map[string]bool // ENI ids derived for ENIs that had none
	pls      map[string]*PrefixList
	s        scratch
}

func (c *checker) run() {
	t := c.t
	if c.d == nil {
		if len(t.VPCs) == 0 {
			c.errf(root("vpc"), "", "missing; this field is required (a mapping with id and cidr, or vpcs: a list of them)")
			return
		}
		c.modelView()
	}
	c.values = true
	c.checkTop()
	c.checkVPCs()
	c.resolveVPCs()
	c.checkObjects()
	c.values = false
	if c.d != nil {
		c.d.fileDefaults(t) // AWS's rules, which need no checks of their fields
	}
	for i := range t.SecurityGroups {
		setRuleIDs(&t.SecurityGroups[i])
	}
	setMirrorRuleIDs(&t.TrafficMirror)
	c.validate()
}

// modelView makes the model read as its export does where the export
// leaves something out that Parse then derives: the route tables and
// internet gateways at the end that Parse would add by itself (they are
// added again, where Parse adds them, with the ones the edit calls for),
// in a topology with one VPC the objects' VPC, and an Elastic IP of a NAT
// gateway's ENI (the NAT gateway names its Elastic IP).
func (c *checker) modelView() {
	t := c.t
	if n := t.implicitSuffix(len(t.RouteTables), func(i int) (int, bool) { return t.implicitRouteTable(&t.RouteTables[i]) }); n > 0 {
		t.RouteTables = slices.Clip(t.RouteTables[:len(t.RouteTables)-n])
	}
	if n := t.implicitSuffix(len(t.InternetGateways), func(i int) (int, bool) { return t.implicitIGW(&t.InternetGateways[i]) }); n > 0 {
		t.InternetGateways = slices.Clip(t.InternetGateways[:len(t.InternetGateways)-n])
	}
	if len(t.VPCs) == 1 {
		for i := range t.Subnets {
			t.Subnets[i].VPC = ""
		}
		for i := range t.SecurityGroups {
			t.SecurityGroups[i].VPC = ""
		}
		for i := range t.NetworkACLs {
			t.NetworkACLs[i].VPC = ""
		}
		for i := range t.RouteTables {
			t.RouteTables[i].VPC = ""
		}
		for i := range t.Endpoints {
			t.Endpoints[i].VPC = ""
		}
	}
	for i := range t.ElasticIPs {
		if e := &t.ElasticIPs[i]; e.ENI != "" && t.NATGatewayByENI(e.ENI) != nil {
			e.ENI, e.PrivateIP = "", netip.Addr{}
		}
	}
}

// fpath is a field path (security_groups[2].ingress[3].cidr), formatted
// only when a message or a position needs it, so that checking a valid
// topology formats no strings.
type fpath struct {
	head string // already formatted part
	seg  [3]pathSeg
	n    uint8
}

type pathSeg struct {
	key string
	i   int32 // -1: no index
}

func root(key string) fpath             { return fpath{}.key(key) }
func rootIndex(key string, i int) fpath { return fpath{}.index(key, i) }
func pathOf(s string) fpath             { return fpath{head: s} }

func (f fpath) empty() bool { return f.n == 0 && f.head == "" }

// key is f.key.
func (f fpath) key(k string) fpath { return f.add(k, -1) }

// index is f.k[i].
func (f fpath) index(k string, i int) fpath { return f.add(k, int32(i)) }

func (f fpath) add(k string, i int32) fpath {
	if int(f.n) == len(f.seg) {
		f = f.flat()
	}
	f.seg[f.n] = pathSeg{k, i}
	f.n++
	return f
}

// flat is f with every segment formatted into head.
//
//go:noinline
func (f fpath) flat() fpath { return fpath{head: f.String()} }

// anyBad reports whether any object failed: a valid topology has none,
// so the paths that isBad needs need not be built.
func (c *checker) anyBad() bool { return len(c.bad) > 0 }

func (f fpath) String() string {
	if f.n == 0 {
		return f.head
	}
	var buf [96]byte
	b := append(buf[:0], f.head...)
	for _, s := range f.seg[:f.n] {
		if len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, s.key...)
		if s.i >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.i), 10)
			b = append(b, ']')
		}
	}
	return string(b)
}

// errf reports a mistake at field f.
func (c *checker) errf(f fpath, code, format string, args ...any) {
	c.report(f, "", code, format, args...)
}

// report records an error for field f; in a file its position is that of
// the path at (f when ""), or of its closest parent the file has.
func (c *checker) report(f fpath, at, code, format string, args ...any) {
	if len(c.errs) > maxErrors {
		return
	}
	field := f.String()
	e := &Error{File: c.file, Field: field, Code: code, Msg: fmt.Sprintf(format, args...)}
	if c.d != nil {
		if c.values && c.d.failed[field] {
			return
		}
		if at == "" {
			at = field
		}
		if n := c.d.at(at); n != nil {
			e.Line, e.Column = n.Line, n.Column
		}
	}
	c.errs = append(c.errs, e)
	if len(c.errs) == maxErrors {
		c.errs = append(c.errs, &Error{File: c.file, Line: e.Line, Column: e.Column,
			Msg: fmt.Sprintf("too many errors (more than %d); fix these first", maxErrors)})
	}
}

// sub is p.key, or p itself for key "": the hooks below take a parent and
// a key so that a model's checks, which need no path, build none.
func sub(p *fpath, key string) fpath {
	if key == "" {
		return *p
	}
	return p.key(key)
}

// failed reports whether the decoder refused the value of p.key (missing,
// not a number, …): checks of the value then have nothing to say.
func (c *checker) failed(p *fpath, key string) bool {
	return c.d != nil && c.d.failed[sub(p, key).String()]
}

// given reports whether the topology gives field p.key: in a file,
// whether its key is there with a value; in a model, inModel, which says
// whether the export writes it (a model's zero value often means "left
// out").
func (c *checker) given(p *fpath, key string, inModel bool) bool {
	if c.d == nil {
		return inModel
	}
	n, ok := c.d.pos[sub(p, key).String()]
	return ok && !isNull(n)
}

// present is given counting a key with an empty value too.
func (c *checker) present(p *fpath, key string, inModel bool) bool {
	if c.d == nil {
		return inModel
	}
	_, ok := c.d.pos[sub(p, key).String()]
	return ok
}

// text is field f as written: the file's text, or what the export writes
// (model) for a model. Messages quote it so that they show what the user
// wrote.
func (c *checker) text(f fpath, model string) string {
	if c.d != nil {
		if v, ok := c.d.textOf(f.String()); ok {
			return v
		}
	}
	return model
}

// lineOf is " (line N)" for the field's line in a file, "" in a model.
func (c *checker) lineOf(f fpath) string {
	if c.d == nil {
		return ""
	}
	line := 0
	if n := c.d.at(f.String()); n != nil {
		line = n.Line
	}
	return fmt.Sprintf(" (line %d)", line)
}

// mark records that the object at f failed a check: cross-object checks skip it.
func (c *checker) mark(f fpath) {
	if c.bad == nil {
		c.bad = map[string]bool{}
	}
	c.bad[f.String()] = true
}

// isBad reports whether the object at f, or one containing it, failed.
func (c *checker) isBad(f fpath) bool {
	if len(c.bad) == 0 {
		return false
	}
	path := f.String()
	for path != "" {
		if c.bad[path] {
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

// vpcPath is where VPC i is: vpc or vpcs[i].
func (c *checker) vpcPath(i int) fpath {
	if c.d != nil {
		return pathOf(c.d.vpcPaths[i])
	}
	if len(c.t.VPCs) == 1 {
		return root("vpc")
	}
	return rootIndex("vpcs", i)
}

// eniPath is where the fields of ENI k of instance i (0: the primary) are,
// and the key of its id there: the instance itself (eni) or an entry of
// its network_interfaces (id). The export writes every ENI under
// network_interfaces when the primary has a description or tags.
func (c *checker) eniPath(i int, in *Instance, k int) (fpath, string) {
	ip := rootIndex("instances", i)
	if c.d != nil {
		e := &in.ENI
		if k > 0 {
			e = &in.Secondary[k-1]
		}
		p, ok := c.d.eniPath[[2]int{i, e.DeviceIndex}]
		if !ok || p == ip.String() {
			return ip, "eni"
		}
		return pathOf(p), "id"
	}
	if in.ENI.Description == "" && len(in.ENI.Tags) == 0 {
		if k == 0 {
			return ip, "eni"
		}
		return ip.index("network_interfaces", k-1), "id"
	}
	return ip.index("network_interfaces", k), "id"
}

// comparePaths orders field paths as the export writes them: top-level
// keys in the export's order, list items by index, other keys by name.
func comparePaths(a, b string) int {
	for a != "" || b != "" {
		sa, ra := cutPath(a)
		sb, rb := cutPath(b)
		if c := compareSegs(sa, sb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return 0
}

// cutPath splits off the first segment of a path: "x", "x[3]".
func cutPath(p string) (string, string) {
	i := strings.IndexByte(p, '.')
	if i < 0 {
		return p, ""
	}
	return p[:i], p[i+1:]
}

var exportOrder = func() map[string]int {
	m := map[string]int{}
	for i, k := range []string{"name", "account", "region", "limits", "vpc", "vpcs", "prefix_lists", "subnets", "security_groups",
		"network_acls", "internet_gateways", "egress_only_internet_gateways", "peering_connections", "instances", "elastic_ips",
		"nat_gateways", "route_tables", "vpc_endpoints", "internet", "flow_logs"} {
		m[k] = i + 1
	}
	return m
}()

func compareSegs(a, b string) int {
	ka, ia := splitIndex(a)
	kb, ib := splitIndex(b)
	if ka != kb {
		oa, ob := exportOrder[ka], exportOrder[kb]
		if oa != ob && oa > 0 && ob > 0 {
			return oa - ob
		}
		return strings.Compare(ka, kb)
	}
	return cmp.Compare(ia, ib)
}

// splitIndex splits "key[3]" into "key" and 3 (-1 without an index).
func splitIndex(s string) (string, int) {
	if j := strings.IndexByte(s, '['); j >= 0 && strings.HasSuffix(s, "]") {
		if n, err := strconv.Atoi(s[j+1 : len(s)-1]); err == nil {
			return s[:j], n
		}
	}
	return s, -1
}
