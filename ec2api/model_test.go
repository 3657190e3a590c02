package ec2api

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vpcemu/vpcemu/awsshape"
)

// digest is ../awsshape/testdata/ec2-model.json (internal/modelgen).
type digest struct {
	APIVersion string                       `json:"apiVersion"`
	Operations map[string]map[string]string `json:"operations"`
	Shapes     map[string]*digestShape      `json:"shapes"`
}

type digestShape struct {
	Type    string                `json:"type"`
	Members map[string]*digestRef `json:"members"`
	Member  *digestRef            `json:"member"`
}

type digestRef struct {
	Shape        string `json:"shape"`
	Type         string `json:"type"`
	LocationName string `json:"locationName"`
	QueryName    string `json:"queryName"`
	Required     bool   `json:"required"`
}

func loadDigest(t *testing.T) *digest {
	t.Helper()
	raw, err := os.ReadFile("../awsshape/testdata/ec2-model.json")
	if err != nil {
		t.Fatal(err)
	}
	var d digest
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// wireName is botocore's EC2Serializer naming (API-3): queryName, else
// locationName with its first letter upper-cased, else the member name.
func wireName(member string, r *digestRef) string {
	if r.QueryName != "" {
		return r.QueryName
	}
	if r.LocationName != "" {
		c, n := utf8.DecodeRuneInString(r.LocationName)
		return string(unicode.ToUpper(c)) + r.LocationName[n:]
	}
	return member
}

// The operations served are those implemented.txt lists for the digest,
// and all are EC2 operations.
func TestActionsAreModelOperations(t *testing.T) {
	f, err := os.Open("internal/modelgen/implemented.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var listed []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			listed = append(listed, l)
		}
	}
	var served []string
	for name := range actions {
		served = append(served, name)
		if !modelOperations[name] {
			t.Errorf("%s is not an EC2 operation", name)
		}
	}
	slices.Sort(listed)
	slices.Sort(served)
	if !slices.Equal(listed, served) {
		t.Errorf("implemented.txt %v\nactions %v", listed, served)
	}
}

// Every input parameter is read by its wire name, with the model's type;
// parameters the model requires are required (ClientToken aside: SDKs fill
// it and vpcemu never requires it, API-6).
func TestInputsMatchModel(t *testing.T) {
	d := loadDigest(t)
	for name, spec := range actions {
		shape := d.Operations[name]["input"]
		checkInput(t, d, name, spec.in, shape)
		s := d.Shapes[shape]
		for member, r := range s.Members {
			if !r.Required || member == "ClientToken" {
				continue
			}
			if f, ok := findWire(spec.in, wireName(member, r)); !ok || !f.required {
				t.Errorf("%s: the model requires %s (%s), vpcemu does not", name, member, wireName(member, r))
			}
		}
	}
}

func findWire(t reflect.Type, wire string) (field, bool) {
	for _, f := range fieldsOf(t) {
		if f.inline {
			if g, ok := findWire(t.Field(f.index).Type, wire); ok {
				return g, true
			}
			continue
		}
		if f.wire == wire {
			return f, true
		}
	}
	return field{}, false
}

func checkInput(t *testing.T, d *digest, where string, typ reflect.Type, shape string) {
	s := d.Shapes[shape]
	if s == nil || s.Type != "structure" {
		t.Errorf("%s: %s is not a structure of the model", where, shape)
		return
	}
	byWire := map[string]*digestRef{}
	for member, r := range s.Members {
		byWire[wireName(member, r)] = r
	}
	for _, f := range fieldsOf(typ) {
		ft := typ.Field(f.index)
		if f.inline {
			checkInput(t, d, where, ft.Type, shape)
			continue
		}
		r := byWire[f.wire]
		if r == nil {
			t.Errorf("%s.%s: no parameter %s in %s", where, ft.Name, f.wire, shape)
			continue
		}
		checkInputType(t, d, where+"."+f.wire, ft.Type, r)
	}
}

func checkInputType(t *testing.T, d *digest, where string, ft reflect.Type, r *digestRef) {
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	ok := false
	switch r.Type {
	case "string":
		ok = ft.Kind() == reflect.String
	case "integer":
		ok = ft.Kind() == reflect.Int32
	case "long":
		ok = ft.Kind() == reflect.Int64
	case "boolean":
		ok = ft.Kind() == reflect.Bool
	case "structure":
		if ok = ft.Kind() == reflect.Struct; ok {
			checkInput(t, d, where, ft, r.Shape)
		}
	case "list":
		if ok = ft.Kind() == reflect.Slice; ok {
			checkInputType(t, d, where+".N", ft.Elem(), d.Shapes[r.Shape].Member)
		}
	}
	if !ok {
		t.Errorf("%s: Go type %s, model type %s (%s)", where, ft, r.Type, r.Shape)
	}
}

// Every response element has the model's locationName and type (API-8);
// <return> is also written where the model has no member for it (API-10).
func TestOutputsMatchModel(t *testing.T) {
	d := loadDigest(t)
	for name, spec := range actions {
		shape := d.Operations[name]["output"]
		if shape == "" {
			if spec.out != reflect.TypeFor[returnTrue]() {
				t.Errorf("%s: the model has no output, vpcemu answers %s", name, spec.out)
			}
			continue
		}
		checkOutput(t, d, name, spec.out, shape, true)
	}
}

func checkOutput(t *testing.T, d *digest, where string, typ reflect.Type, shape string, top bool) {
	s := d.Shapes[shape]
	if s == nil || s.Type != "structure" {
		t.Errorf("%s: %s is not a structure of the model", where, shape)
		return
	}
	byXML := map[string]*digestRef{}
	for member, r := range s.Members {
		x := r.LocationName
		if x == "" {
			x = member
		}
		byXML[x] = r
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		xn, _, _ := strings.Cut(f.Tag.Get("xml"), ",")
		if xn == "" || xn == "-" {
			continue
		}
		r := byXML[xn]
		if r == nil {
			if top && xn == "return" {
				continue
			}
			t.Errorf("%s.%s: no element %s in %s", where, f.Name, xn, shape)
			continue
		}
		checkOutputType(t, d, where+"."+xn, f.Type, r)
	}
}

func checkOutputType(t *testing.T, d *digest, where string, ft reflect.Type, r *digestRef) {
	if ft.Kind() == reflect.Pointer {
		ft = ft.Elem()
	}
	ok := false
	switch r.Type {
	case "string":
		ok = ft.Kind() == reflect.String
	case "integer":
		ok = ft.Kind() == reflect.Int32
	case "long":
		ok = ft.Kind() == reflect.Int64
	case "boolean":
		ok = ft.Kind() == reflect.Bool
	case "timestamp":
		ok = ft == reflect.TypeFor[awsshape.Time]()
	case "structure":
		if ok = ft.Kind() == reflect.Struct; ok {
			checkOutput(t, d, where, ft, r.Shape, false)
		}
	case "list":
		if ok = ft.Kind() == reflect.Slice && strings.Contains(ft.Name(), "List["); ok {
			checkOutputType(t, d, where+"/item", ft.Elem(), d.Shapes[r.Shape].Member)
		}
	}
	if !ok {
		t.Errorf("%s: Go type %s, model type %s (%s)", where, ft, r.Type, r.Shape)
	}
}
