package ec2api

import (
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// node is one level of a request's parameters, split at dots:
// IpPermissions.1.IpRanges.2.CidrIp is kids["IpPermissions"].kids["1"]
// .kids["IpRanges"].kids["2"].kids["CidrIp"].
type node struct {
	value    string
	hasValue bool
	kids     map[string]*node
}

// parseParams builds the parameter tree of a form. A key given twice keeps
// its first value [INTERP].
func parseParams(form url.Values) *node {
	root := &node{}
	for key, vals := range form {
		n := root
		for part := range strings.SplitSeq(key, ".") {
			if n.kids == nil {
				n.kids = map[string]*node{}
			}
			k := n.kids[part]
			if k == nil {
				k = &node{}
				n.kids[part] = k
			}
			n = k
		}
		if len(vals) > 0 {
			n.value, n.hasValue = vals[0], true
		}
	}
	return root
}

// get returns the value at a dotted path ("" when absent).
func (n *node) get(path string) (string, bool) {
	for part := range strings.SplitSeq(path, ".") {
		if n == nil || n.kids == nil {
			return "", false
		}
		n = n.kids[part]
	}
	if n == nil {
		return "", false
	}
	return n.value, n.hasValue
}

// items returns the list entries under n in numeric index order (API-4:
// indices sorted as numbers, gaps tolerated; keys that are not indices are
// ignored like any unknown parameter).
func (n *node) items() []indexed {
	if n == nil {
		return nil
	}
	var out []indexed
	for k, kid := range n.kids {
		if k == "" || len(k) > 18 || strings.TrimLeft(k, "0123456789") != "" {
			continue
		}
		i, err := strconv.ParseUint(k, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, indexed{i, k, kid})
	}
	slices.SortFunc(out, func(a, b indexed) int {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return strings.Compare(a.key, b.key) // "1" and "01": stable
	})
	return out
}

type indexed struct {
	i   uint64
	key string
	n   *node
}

// field is how one struct field is read from the wire.
type field struct {
	index    int
	wire     string
	required bool
	inline   bool // an embedded struct whose fields are read at this level
}

var fieldCache sync.Map // reflect.Type -> []field

// fieldsOf lists the wire names of a struct's fields: the `ec2` tag
// ("Name" or "Name,required"; "-" skips), else the `xml` tag with its first
// letter upper-cased (the locationName rule of API-3), else the field name.
func fieldsOf(t reflect.Type) []field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]field)
	}
	var fs []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			// Exported fields of an embedded struct are settable through
			// reflection even when its type is unexported.
			fs = append(fs, field{index: i, inline: true})
			continue
		}
		if !f.IsExported() {
			continue
		}
		fl := field{index: i, wire: f.Name}
		if tag, ok := f.Tag.Lookup("ec2"); ok {
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			fl.wire, fl.required = name, opts == "required"
		} else if tag, ok := f.Tag.Lookup("xml"); ok {
			name, _, _ := strings.Cut(tag, ",")
			if name == "-" || name == "" {
				continue
			}
			r, size := utf8.DecodeRuneInString(name)
			fl.wire = string(unicode.ToUpper(r)) + name[size:]
		}
		fs = append(fs, fl)
	}
	fieldCache.Store(t, fs)
	return fs
}

// decode fills the struct dst points to from n. Errors are
// MissingParameter and InvalidParameterValue naming the full wire path.
func decode(n *node, dst any) *Error {
	v := reflect.ValueOf(dst).Elem()
	return decodeStruct(n, v, "")
}

func decodeStruct(n *node, v reflect.Value, prefix string) *Error {
	for _, f := range fieldsOf(v.Type()) {
		if f.inline {
			if err := decodeStruct(n, v.Field(f.index), prefix); err != nil {
				return err
			}
			continue
		}
		var kid *node
		if n != nil && n.kids != nil {
			kid = n.kids[f.wire]
		}
		path := prefix + f.wire
		if kid == nil {
			if f.required {
				return missing(path)
			}
			continue
		}
		if err := decodeValue(kid, v.Field(f.index), path); err != nil {
			return err
		}
		if fv := v.Field(f.index); f.required && fv.Kind() == reflect.Slice && fv.Len() == 0 {
			return missing(path + ".1")
		}
	}
	return nil
}

func decodeValue(n *node, v reflect.Value, path string) *Error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.Struct && !n.hasValue && n.kids == nil {
			return nil
		}
		if v.Type().Elem().Kind() != reflect.Struct && !n.hasValue {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := decodeValue(n, p.Elem(), path); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return decodeStruct(n, v, path+".")
	case reflect.Slice:
		items := n.items()
		s := reflect.MakeSlice(v.Type(), 0, len(items))
		for _, it := range items {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(it.n, e, path+"."+it.key); err != nil {
				return err
			}
			s = reflect.Append(s, e)
		}
		v.Set(s)
		return nil
	}
	if !n.hasValue {
		return nil
	}
	s := n.value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			return invalidValue("Invalid value '%s' for %s: expected true or false", s, path)
		}
	case reflect.Int32, reflect.Int64, reflect.Int:
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return invalidValue("Invalid value '%s' for %s: expected an integer", s, path)
		}
		v.SetInt(i)
	default:
		panic("ec2api: cannot decode into " + v.Type().String())
	}
	return nil
}
