package importer

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The CloudFormation evaluator: parameters, mappings, conditions, and the
// intrinsic functions of IMP-10 over the template's values.

// noValue is AWS::NoValue: the property it stands in for is removed.
type noValueType struct{}

var noValue = noValueType{}

type cfnResource struct {
	id         string
	typ        string
	props      *cfnMap
	condition  string
	line       int
	physical   string // the made-up physical id (Ref)
	evaluated  *cfnMap
	evaluating bool
	skip       bool // its Condition is false
}

type cfnStack struct {
	b          *builder
	file       File
	name       string // AWS::StackName
	region     string
	account    string
	params     map[string]any
	mappings   *cfnMap
	conditions *cfnMap
	condCache  map[string]bool
	condBusy   map[string]bool
	resources  map[string]*cfnResource
	order      []string
	multi      bool // several templates: ids carry the stack name
}

// cfnError is a mistake found while evaluating, with where it is.
type cfnError struct {
	path string
	msg  string
}

func (e *cfnError) Error() string {
	if e.path == "" {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func cfnErrf(path, format string, args ...any) error {
	return &cfnError{path: path, msg: fmt.Sprintf(format, args...)}
}

func newStack(b *builder, f File, top *cfnMap, multi bool) (*cfnStack, error) {
	s := &cfnStack{b: b, file: f, params: map[string]any{}, condCache: map[string]bool{}, condBusy: map[string]bool{}, resources: map[string]*cfnResource{}, multi: multi}
	s.name = b.o.StackName
	if s.name == "" {
		base := filepath.Base(f.Name)
		s.name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	s.region = b.o.Region
	if s.region == "" {
		s.region = b.t.Region
	}
	s.account = b.t.Account
	if v, ok := top.get("Mappings"); ok {
		s.mappings, _ = v.(*cfnMap)
	}
	if v, ok := top.get("Conditions"); ok {
		s.conditions, _ = v.(*cfnMap)
	}
	if err := s.parameters(top); err != nil {
		return nil, err
	}
	return s, nil
}

// parameters settles each parameter: --parameter, else its Default.
func (s *cfnStack) parameters(top *cfnMap) error {
	pv, _ := top.get("Parameters")
	pm, _ := pv.(*cfnMap)
	var errs []error
	for name := range s.b.o.Parameters {
		if _, ok := pm.get(name); !ok {
			var have []string
			if pm != nil {
				have = pm.keys
			}
			errs = append(errs, cfnErrf("Parameters", "--parameter %s: the template has no such parameter; valid: %s", name, orNone(have)))
		}
	}
	if pm == nil {
		return errors.Join(errs...)
	}
	for _, name := range pm.keys {
		def, _ := pm.vals[name].(*cfnMap)
		path := "Parameters." + name
		typ := ""
		if t, ok := def.get("Type"); ok {
			typ, _ = t.(string)
		}
		raw, given := s.b.o.Parameters[name]
		var val string
		switch {
		case given:
			val = raw
		default:
			d, ok := def.get("Default")
			if !ok {
				errs = append(errs, cfnErrf(path, "has no Default; valid: --parameter %s=VALUE", name))
				continue
			}
			val = scalarString(d)
		}
		if strings.HasPrefix(typ, "AWS::SSM::Parameter") && !given {
			errs = append(errs, cfnErrf(path, "is read from SSM Parameter Store (%s), which vpcemu cannot read; valid: --parameter %s=VALUE", typ, name))
			continue
		}
		if av, ok := def.get("AllowedValues"); ok {
			allowed, _ := av.([]any)
			okv := false
			var list []string
			for _, a := range allowed {
				list = append(list, scalarString(a))
				okv = okv || scalarString(a) == val
			}
			if !okv && len(list) > 0 {
				errs = append(errs, cfnErrf(path, "%q is not an allowed value; valid: %s", val, strings.Join(list, ", ")))
				continue
			}
		}
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var l []any
			if val != "" {
				for _, p := range strings.Split(val, ",") {
					l = append(l, strings.TrimSpace(p))
				}
			}
			s.params[name] = l
			continue
		}
		s.params[name] = val
	}
	return errors.Join(errs...)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = scalarString(e)
		}
		return strings.Join(parts, ",")
	}
	return ""
}

// condition evaluates a named condition (memoised; cycles are errors).
func (s *cfnStack) condition(name, path string) (bool, error) {
	if v, ok := s.condCache[name]; ok {
		return v, nil
	}
	c, ok := s.conditions.get(name)
	if !ok {
		var have []string
		if s.conditions != nil {
			have = s.conditions.keys
		}
		return false, cfnErrf(path, "unknown condition %q; valid: %s", name, orNone(have))
	}
	if s.condBusy[name] {
		return false, cfnErrf(path, "condition %s refers to itself", name)
	}
	s.condBusy[name] = true
	defer delete(s.condBusy, name)
	v, err := s.eval(c, "Conditions."+name)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, cfnErrf("Conditions."+name, "is not a boolean (Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition)")
	}
	s.condCache[name] = b
	return b, nil
}

// pseudo are the pseudo parameters.
func (s *cfnStack) pseudo(name string) (any, bool) {
	switch name {
	case "AWS::Region":
		return s.region, true
	case "AWS::AccountId":
		return s.account, true
	case "AWS::StackName":
		return s.name, true
	case "AWS::StackId":
		return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", s.region, s.account, s.name, hash(s.name)[:32]), true
	case "AWS::Partition":
		return "aws", true
	case "AWS::URLSuffix":
		return "amazonaws.com", true
	case "AWS::NotificationARNs":
		return []any{}, true
	case "AWS::NoValue":
		return noValue, true
	}
	return nil, false
}

// eval resolves every intrinsic function in v.
func (s *cfnStack) eval(v any, path string) (any, error) {
	switch x := v.(type) {
	case *cfnMap:
		if x == nil {
			return v, nil
		}
		if len(x.keys) == 1 {
			k := x.keys[0]
			if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
				return s.intrinsic(k, x.vals[k], path+"."+k)
			}
		}
		out := &cfnMap{vals: map[string]any{}, lines: x.lines}
		for _, k := range x.keys {
			e, err := s.eval(x.vals[k], path+"."+k)
			if err != nil {
				return nil, err
			}
			if e == noValue {
				continue
			}
			out.keys = append(out.keys, k)
			out.vals[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(x))
		for i, e := range x {
			r, err := s.eval(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			if r == noValue {
				continue
			}
			out = append(out, r)
		}
		return out, nil
	}
	return v, nil
}

func (s *cfnStack) evalString(v any, path string) (string, error) {
	r, err := s.eval(v, path)
	if err != nil {
		return "", err
	}
	switch r.(type) {
	case string, int64, float64, bool:
		return scalarString(r), nil
	}
	return "", cfnErrf(path, "is not a string")
}

func (s *cfnStack) evalList(v any, path string) ([]any, error) {
	r, err := s.eval(v, path)
	if err != nil {
		return nil, err
	}
	l, ok := r.([]any)
	if !ok {
		return nil, cfnErrf(path, "is not a list")
	}
	return l, nil
}

func (s *cfnStack) args(v any, path string, n int, name string) ([]any, error) {
	l, ok := v.([]any)
	if !ok || (n > 0 && len(l) != n) {
		return nil, cfnErrf(path, "%s takes a list of %d arguments", name, n)
	}
	return l, nil
}

func (s *cfnStack) intrinsic(fn string, arg any, path string) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, cfnErrf(path, "Ref takes a name")
		}
		return s.ref(name, path)
	case "Condition":
		name, ok := arg.(string)
		if !ok {
			return nil, cfnErrf(path, "Condition takes a condition name")
		}
		return s.condition(name, path)
	case "Fn::GetAtt":
		var l []any
		switch a := arg.(type) {
		case []any:
			l = a
		case string:
			res, attr, _ := strings.Cut(a, ".")
			l = []any{res, attr}
		}
		if len(l) != 2 {
			return nil, cfnErrf(path, "Fn::GetAtt takes [LogicalId, Attribute]")
		}
		res, ok := l[0].(string)
		attr, err := s.evalString(l[1], path)
		if !ok || err != nil {
			return nil, cfnErrf(path, "Fn::GetAtt takes [LogicalId, Attribute]")
		}
		return s.getAtt(res, attr, path)
	case "Fn::Sub":
		return s.sub(arg, path)
	case "Fn::Join":
		l, err := s.args(arg, path, 2, "Fn::Join")
		if err != nil {
			return nil, err
		}
		delim, err := s.evalString(l[0], path+"[0]")
		if err != nil {
			return nil, err
		}
		items, err := s.evalList(l[1], path+"[1]")
		if err != nil {
			return nil, err
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = scalarString(it)
		}
		return strings.Join(parts, delim), nil
	case "Fn::Select":
		l, err := s.args(arg, path, 2, "Fn::Select")
		if err != nil {
			return nil, err
		}
		is, err := s.evalString(l[0], path+"[0]")
		if err != nil {
			return nil, err
		}
		i, cerr := strconv.Atoi(is)
		items, err := s.evalList(l[1], path+"[1]")
		if err != nil {
			return nil, err
		}
		if cerr != nil || i < 0 || i >= len(items) {
			return nil, cfnErrf(path, "index %s is out of range of a list of %d", is, len(items))
		}
		return items[i], nil
	case "Fn::Split":
		l, err := s.args(arg, path, 2, "Fn::Split")
		if err != nil {
			return nil, err
		}
		delim, err := s.evalString(l[0], path+"[0]")
		if err != nil {
			return nil, err
		}
		str, err := s.evalString(l[1], path+"[1]")
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(str, delim) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::GetAZs":
		region, err := s.evalString(arg, path)
		if err != nil {
			return nil, err
		}
		if region == "" {
			region = s.region
		}
		// vpcemu's zones for a region: a, b and c [INTERP].
		return []any{region + "a", region + "b", region + "c"}, nil
	case "Fn::Cidr":
		return s.cidr(arg, path)
	case "Fn::FindInMap":
		l, ok := arg.([]any)
		if !ok || len(l) < 3 {
			return nil, cfnErrf(path, "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]")
		}
		var keys [3]string
		for i := range 3 {
			k, err := s.evalString(l[i], fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			keys[i] = k
		}
		m, _ := s.mappings.get(keys[0])
		mm, _ := m.(*cfnMap)
		top, _ := mm.get(keys[1])
		tm, _ := top.(*cfnMap)
		v, ok := tm.get(keys[2])
		if !ok {
			return nil, cfnErrf(path, "Mappings has no %s.%s.%s", keys[0], keys[1], keys[2])
		}
		return s.eval(v, path)
	case "Fn::If":
		l, err := s.args(arg, path, 3, "Fn::If")
		if err != nil {
			return nil, err
		}
		name, ok := l[0].(string)
		if !ok {
			return nil, cfnErrf(path, "Fn::If takes a condition name first")
		}
		c, err := s.condition(name, path)
		if err != nil {
			return nil, err
		}
		if c {
			return s.eval(l[1], path+"[1]")
		}
		return s.eval(l[2], path+"[2]")
	case "Fn::Equals":
		l, err := s.args(arg, path, 2, "Fn::Equals")
		if err != nil {
			return nil, err
		}
		a, err := s.eval(l[0], path+"[0]")
		if err != nil {
			return nil, err
		}
		b, err := s.eval(l[1], path+"[1]")
		if err != nil {
			return nil, err
		}
		return scalarString(a) == scalarString(b), nil
	case "Fn::And", "Fn::Or":
		l, ok := arg.([]any)
		if !ok || len(l) < 2 || len(l) > 10 {
			return nil, cfnErrf(path, "%s takes 2 to 10 conditions", fn)
		}
		and := fn == "Fn::And"
		for i, c := range l {
			v, err := s.eval(c, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			b, ok := v.(bool)
			if !ok {
				return nil, cfnErrf(fmt.Sprintf("%s[%d]", path, i), "is not a condition")
			}
			if b != and {
				return b, nil
			}
		}
		return and, nil
	case "Fn::Not":
		l, err := s.args(arg, path, 1, "Fn::Not")
		if err != nil {
			return nil, err
		}
		v, err := s.eval(l[0], path+"[0]")
		if err != nil {
			return nil, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, cfnErrf(path, "Fn::Not takes a condition")
		}
		return !b, nil
	case "Fn::ImportValue":
		name, err := s.evalString(arg, path)
		if err != nil {
			return nil, err
		}
		if v, ok := s.b.o.Exports[name]; ok {
			return v, nil
		}
		return nil, cfnErrf(path, "Fn::ImportValue %s reads another stack's export, which vpcemu cannot see; valid: --import-value %s=VALUE", name, name)
	case "Fn::Base64":
		return s.evalString(arg, path)
	case "Fn::Length":
		l, err := s.evalList(arg, path)
		if err != nil {
			return nil, err
		}
		return int64(len(l)), nil
	}
	return nil, cfnErrf(path, "intrinsic function %s is not supported; valid: Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::GetAZs, Fn::Cidr, Fn::FindInMap, Fn::If, Fn::Equals, Fn::And, Fn::Or, Fn::Not, Fn::ImportValue, Fn::Base64, Fn::Length", fn)
}

func (s *cfnStack) ref(name, path string) (any, error) {
	if v, ok := s.pseudo(name); ok {
		return v, nil
	}
	if v, ok := s.params[name]; ok {
		return v, nil
	}
	r := s.resources[name]
	if r == nil {
		return nil, cfnErrf(path, "Ref %s: no parameter or resource of that name; valid: %s", name, orNone(s.names()))
	}
	if r.skip {
		return nil, cfnErrf(path, "Ref %s: the resource's condition %s is false, so it does not exist", name, r.condition)
	}
	if r.typ == "AWS::EC2::EIP" {
		return s.getAtt(name, "PublicIp", path) // Ref of an EIP is its address (IMP-10)
	}
	return r.physical, nil
}

func (s *cfnStack) names() []string {
	var out []string
	for k := range s.params {
		out = append(out, k)
	}
	out = append(out, s.order...)
	sort.Strings(out)
	return out
}

var reSubVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (s *cfnStack) sub(arg any, path string) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, cfnErrf(path, "Fn::Sub takes a string or [string, {Var: value}]")
		}
		t, ok := a[0].(string)
		if !ok {
			return nil, cfnErrf(path, "Fn::Sub takes a string first")
		}
		tmpl = t
		m, _ := a[1].(*cfnMap)
		for _, k := range m.keysOrEmpty() {
			v, err := s.eval(m.vals[k], path+"[1]."+k)
			if err != nil {
				return nil, err
			}
			vars[k] = v
		}
	default:
		return nil, cfnErrf(path, "Fn::Sub takes a string or [string, {Var: value}]")
	}
	var firstErr error
	out := reSubVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal}
		}
		if v, ok := vars[name]; ok {
			return scalarString(v)
		}
		var v any
		var err error
		if res, attr, ok := strings.Cut(name, "."); ok && s.resources[res] != nil {
			v, err = s.getAtt(res, attr, path)
		} else {
			v, err = s.ref(name, path)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return scalarString(v)
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func (m *cfnMap) keysOrEmpty() []string {
	if m == nil {
		return nil
	}
	return m.keys
}

// cidr is Fn::Cidr: count blocks of cidrBits host bits, in order, from the
// start of ipBlock.
func (s *cfnStack) cidr(arg any, path string) (any, error) {
	l, err := s.args(arg, path, 3, "Fn::Cidr")
	if err != nil {
		return nil, err
	}
	var a [3]string
	for i := range 3 {
		if a[i], err = s.evalString(l[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return nil, err
		}
	}
	block, perr := netip.ParsePrefix(a[0])
	count, cerr := strconv.Atoi(a[1])
	bits, berr := strconv.Atoi(a[2])
	if perr != nil || cerr != nil || berr != nil || count < 1 || count > 256 {
		return nil, cfnErrf(path, "Fn::Cidr takes [ipBlock, count 1-256, cidrBits]; got %v", a)
	}
	size := block.Addr().BitLen() - bits
	if bits < 0 || size < block.Bits() {
		return nil, cfnErrf(path, "Fn::Cidr: blocks of %d host bits do not fit in %s", bits, block)
	}
	start := new(big.Int).SetBytes(block.Masked().Addr().AsSlice())
	step := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	avail := new(big.Int).Lsh(big.NewInt(1), uint(size-block.Bits()))
	if avail.Cmp(big.NewInt(int64(count))) < 0 {
		return nil, cfnErrf(path, "Fn::Cidr: %s holds %s blocks of /%d, not %d", block, avail, size, count)
	}
	var out []any
	for i := range count {
		n := new(big.Int).Add(start, new(big.Int).Mul(step, big.NewInt(int64(i))))
		b := n.FillBytes(make([]byte, block.Addr().BitLen()/8))
		addr, _ := netip.AddrFromSlice(b)
		out = append(out, netip.PrefixFrom(addr, size).String())
	}
	return out, nil
}
