package vpc

import (
	"fmt"
	"reflect"
)

// ClearIncidentals zeroes what may differ between two topologies that mean
// the same: the file they came from, every Pos, and empty lists and maps
// (nil, as Parse leaves what a file does not give). Tests compare a
// topology with the parse of its export after this.
func ClearIncidentals(t *Topology) {
	t.File = ""
	clearIncidentals(reflect.ValueOf(t).Elem())
}

var posType = reflect.TypeOf(Pos{})

func clearIncidentals(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == posType {
			v.Set(reflect.Zero(posType))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				clearIncidentals(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				clearIncidentals(v.Index(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			clearIncidentals(v.Index(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			clearIncidentals(v.Elem())
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
