package loader

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/vpcemu/vpcemu/rules"
)

// layoutErrors compares the Go struct type of goVal with the C struct
// cName of spec's BTF: the same size, and for every C member a Go field of
// the same name (case and underscores aside), offset and size; no other Go
// fields but blank ones. Nil when they agree.
func layoutErrors(spec *ebpf.CollectionSpec, cName string, goVal any) []string {
	var st *btf.Struct
	if err := spec.Types.TypeByName(cName, &st); err != nil {
		return []string{fmt.Sprintf("struct %s: %v", cName, err)}
	}
	gt := reflect.TypeOf(goVal)
	var errs []string
	if gt.Size() != uintptr(st.Size) {
		errs = append(errs, fmt.Sprintf("struct %s: Go %s is %d bytes, C %d", cName, gt, gt.Size(), st.Size))
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	fields := map[string]reflect.StructField{}
	for i := 0; i < gt.NumField(); i++ {
		if f := gt.Field(i); f.Name != "_" {
			fields[norm(f.Name)] = f
		}
	}
	for _, m := range st.Members {
		f, ok := fields[norm(m.Name)]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s.%s: no Go field in %s", cName, m.Name, gt))
			continue
		}
		delete(fields, norm(m.Name))
		size, err := btf.Sizeof(m.Type)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s.%s: %v", cName, m.Name, err))
			continue
		}
		if off := uintptr(m.Offset.Bytes()); f.Offset != off || f.Type.Size() != uintptr(size) {
			errs = append(errs, fmt.Sprintf("%s.%s: Go %s.%s at %d (%d bytes), C at %d (%d bytes)", cName, m.Name, gt, f.Name, f.Offset, f.Type.Size(), off, size))
		}
	}
	for _, f := range fields {
		errs = append(errs, fmt.Sprintf("%s: Go field %s.%s has no C member", cName, gt, f.Name))
	}
	return errs
}

// TestNACLLayout is root-free: every struct the Go side writes into or
// reads from the datapath has, field by field, the C layout (the BTF of the
// committed objects): the rule compiler's mirrors in rules, which the loader
// writes as they are, and the bpf2go structs the loader uses for maps both
// objects share. A C change that moves a field fails it.
func TestNACLLayout(t *testing.T) {
	nacl, err := loadNacl()
	if err != nil {
		t.Fatal(err)
	}
	sg, err := loadSg()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec  *ebpf.CollectionSpec
		cName string
		goVal any
	}{
		{nacl, "nacl_table", rules.NACLTableHeader{}},
		{nacl, "nacl_bitmap", rules.NACLBitmap{}},
		{nacl, "nacl_rinfo", rules.NACLRuleInfo{}},
		{nacl, "nacl_ctr", rules.NACLCounterValue{}},
		{nacl, "nacl_config", naclNaclConfig{}},
		{nacl, "vpc_event", vpcEvent{}},
		{sg, "vpc_event", vpcEvent{}}, // decoded alike from both rings
		// Flows creates the flow maps from the NACL object's types and
		// hands them to the SG object too.
		{sg, "flow_key", flowKey{}},
		{sg, "flow_val", flowVal{}},
		{sg, "flow_slot", flowSlot{}},
		{sg, "flow_addr_key", flowAddrKey{}},
		{sg, "flow_addr_val", flowAddrVal{}},
		{sg, "flow_eni_net", flowENINet{}},
	} {
		for _, e := range layoutErrors(c.spec, c.cName, c.goVal) {
			t.Error(e)
		}
	}
	if rules.NACLWords*64 != rules.NACLMaxRules {
		t.Errorf("rules.NACLMaxRules %d is not rules.NACLWords*64", rules.NACLMaxRules)
	}
}

// TestLayoutCheckFails: the check catches a moved, a resized, a missing
// and an extra field.
func TestLayoutCheckFails(t *testing.T) {
	nacl, err := loadNacl()
	if err != nil {
		t.Fatal(err)
	}
	type moved struct { // nacl_rinfo with allow before number
		Allow  uint8
		Pad    uint8
		Number uint16
	}
	type resized struct { // nacl_ctr with 32-bit bytes
		Packets uint64
		Bytes   uint32
		_       uint32
	}
	type missing struct{ Number uint16 }
	type extra struct {
		Number uint16
		Allow  uint8
		Pad    uint8
		More   uint32
	}
	for _, c := range []struct {
		cName string
		goVal any
	}{{"nacl_rinfo", moved{}}, {"nacl_ctr", resized{}}, {"nacl_rinfo", missing{}}, {"nacl_rinfo", extra{}}} {
		if errs := layoutErrors(nacl, c.cName, c.goVal); len(errs) == 0 {
			t.Errorf("%T passed as struct %s", c.goVal, c.cName)
		}
	}
}
