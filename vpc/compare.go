package vpc

import (
	"fmt"
	"reflect"
)

// ClearPositions zeroes what legitimately differs between two topologies
// that describe the same thing: the file they came from and every Pos.
// Tests compare a topology with the parse of its export after this.
func ClearPositions(t *Topology) {
	t.File = ""
	clearPos(reflect.ValueOf(t).Elem())
}

var posType = reflect.TypeOf(Pos{})

func clearPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == posType {
			v.Set(reflect.Zero(posType))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				clearPos(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			clearPos(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			clearPos(v.Elem())
		}
	}
}

// Diff returns "" when a and b are deeply equal, else the path of their
// first difference and both values, for test messages.
func Diff(a, b *Topology) string {
	return diff("Topology", reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem())
}

func diff(path string, a, b reflect.Value) string {
	if reflect.DeepEqual(a.Interface(), b.Interface()) {
		return ""
	}
	switch a.Kind() {
	case reflect.Struct:
		if _, ok := a.Interface().(fmt.Stringer); !ok {
			for i := range a.NumField() {
				if !a.Type().Field(i).IsExported() {
					continue
				}
				if d := diff(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
					return d
				}
			}
		}
	case reflect.Slice:
		n := min(a.Len(), b.Len())
		for i := range n {
			if d := diff(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d items, now %d (%+v / %+v)", path, a.Len(), b.Len(), a.Interface(), b.Interface())
		}
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("%s: nil %v, now nil %v", path, a.IsNil(), b.IsNil())
		}
	}
	return fmt.Sprintf("%s: %+v, now %+v", path, a.Interface(), b.Interface())
}
