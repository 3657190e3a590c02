package vpc

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

// fill gives every slice of v one element and every map one entry, down
// the whole model, so that a field Clone forgets is populated.
func fill(v reflect.Value, n *int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(netip.Addr{}) || v.Type() == reflect.TypeOf(netip.Prefix{}) {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), n)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), n)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, n)
		fill(e, n)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		*n++
		v.SetString(fmt.Sprint("s", *n))
	case reflect.Int, reflect.Int64:
		*n++
		v.SetInt(int64(*n))
	case reflect.Bool:
		v.SetBool(true)
	}
}

// shared returns the path of the first slice or map a and b share.
func shared(path string, a, b reflect.Value) string {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				if p := shared(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); p != "" {
					return p
				}
			}
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
		for i := range a.Len() {
			if p := shared(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); p != "" {
				return p
			}
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			return path
		}
	case reflect.Pointer:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			return path
		}
	}
	return ""
}

// Clone copies every slice and map of the model, those added later
// included: fill populates them all.
func TestCloneSharesNothing(t *testing.T) {
	var orig Topology
	n := 0
	fill(reflect.ValueOf(&orig).Elem(), &n)
	c := orig.Clone()
	if !reflect.DeepEqual(&orig, c) {
		t.Fatalf("the clone differs: %s", Diff(&orig, c))
	}
	if p := shared("Topology", reflect.ValueOf(orig), reflect.ValueOf(*c)); p != "" {
		t.Fatalf("the clone shares %s with the original", p)
	}
	lab := Lab()
	if d := Diff(lab, lab.Clone()); d != "" {
		t.Fatalf("the clone of the lab differs: %s", d)
	}
	if (*Topology)(nil).Clone() != nil {
		t.Fatal("the clone of nil is not nil")
	}
}
