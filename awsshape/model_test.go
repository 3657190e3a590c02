package awsshape

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// digest is testdata/ec2-model.json, written by ec2api/internal/modelgen
// from botocore's EC2 model.
type digest struct {
	APIVersion string                       `json:"apiVersion"`
	Operations map[string]map[string]string `json:"operations"`
	Shapes     map[string]*struct {
		Type    string                `json:"type"`
		Members map[string]*digestRef `json:"members"`
		Member  *digestRef            `json:"member"`
	} `json:"shapes"`
}

type digestRef struct {
	Shape        string `json:"shape"`
	Type         string `json:"type"`
	LocationName string `json:"locationName"`
}

func loadDigest(t *testing.T) *digest {
	t.Helper()
	raw, err := os.ReadFile("testdata/ec2-model.json")
	if err != nil {
		t.Fatal(err)
	}
	var d digest
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func tagName(f reflect.StructField, key string) string {
	name, _, _ := strings.Cut(f.Tag.Get(key), ",")
	return name
}

// checkShape compares the fields of typ with the model shape: each JSON name
// is a member, each XML name that member's locationName, and each Go type
// fits the member's type; nested structs and list items are checked against
// the shapes the model names for them.
func checkShape(t *testing.T, d *digest, typ reflect.Type, shape string, seen map[string]bool) {
	key := typ.String() + "=" + shape
	if seen[key] {
		return
	}
	seen[key] = true
	s := d.Shapes[shape]
	if s == nil || s.Type != "structure" {
		t.Errorf("%s: model shape %s is not a structure in the digest", typ, shape)
		return
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		jn, xn := tagName(f, "json"), tagName(f, "xml")
		m := s.Members[jn]
		if m == nil {
			t.Errorf("%s.%s: json name %q is not a member of %s", typ, f.Name, jn, shape)
			continue
		}
		want := m.LocationName
		if want == "" {
			want = jn
		}
		if xn != want {
			t.Errorf("%s.%s: xml name %q, model locationName %q (%s.%s)", typ, f.Name, xn, want, shape, jn)
		}
		checkType(t, d, typ.Name()+"."+f.Name, f.Type, m, seen)
	}
}

func checkType(t *testing.T, d *digest, where string, ft reflect.Type, m *digestRef, seen map[string]bool) {
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	ok := false
	switch m.Type {
	case "string":
		ok = ft.Kind() == reflect.String
	case "integer":
		ok = ft.Kind() == reflect.Int32
	case "long":
		ok = ft.Kind() == reflect.Int64
	case "boolean":
		ok = ft.Kind() == reflect.Bool
	case "timestamp":
		ok = ft == reflect.TypeOf(Time{})
	case "structure":
		ok = ft.Kind() == reflect.Struct
		if ok {
			checkShape(t, d, ft, m.Shape, seen)
		}
	case "list":
		ok = ft.Kind() == reflect.Slice && strings.HasPrefix(ft.Name(), "List[")
		if ok {
			checkType(t, d, where+"[]", ft.Elem(), d.Shapes[m.Shape].Member, seen)
		}
	}
	if !ok {
		t.Errorf("%s: Go type %s does not fit model type %s (shape %s)", where, ft, m.Type, m.Shape)
	}
}

// Every shape the API writes (XML) and import reads (JSON) has the model's
// names and types (API-8, IMP-4).
func TestShapesMatchModel(t *testing.T) {
	d := loadDigest(t)
	roots := map[string]any{
		"Vpc": Vpc{}, "Subnet": Subnet{}, "SecurityGroup": SecurityGroup{}, "SecurityGroupRule": SecurityGroupRule{},
		"NetworkAcl": NetworkAcl{}, "RouteTable": RouteTable{}, "InternetGateway": InternetGateway{},
		"NatGateway": NatGateway{}, "Address": Address{}, "NetworkInterface": NetworkInterface{},
		"Reservation": Reservation{}, "InstanceStateChange": InstanceStateChange{}, "PrefixList": PrefixList{},
		"ManagedPrefixList": ManagedPrefixList{}, "PrefixListEntry": PrefixListEntry{}, "FlowLog": FlowLog{},
		"TagDescription": TagDescription{}, "VpcPeeringConnection": VpcPeeringConnection{},
		"EgressOnlyInternetGateway": EgressOnlyInternetGateway{}, "VpcEndpoint": VpcEndpoint{},
		"TrafficMirrorTarget": TrafficMirrorTarget{}, "TrafficMirrorFilter": TrafficMirrorFilter{},
		"TrafficMirrorSession": TrafficMirrorSession{},
	}
	seen := map[string]bool{}
	for shape, v := range roots {
		checkShape(t, d, reflect.TypeOf(v), shape, seen)
	}
}
