package loader

import (
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// btfCache is the one btf.Cache of every load in the process, so that
// kernel BTF is decoded once however many collections load (it is safe
// for concurrent loads).
var btfCache = sync.OnceValue(btf.NewCache)

// newCollection loads spec with opts (nil: none), decoding kernel BTF
// through the shared cache.
func newCollection(spec *ebpf.CollectionSpec, opts *ebpf.CollectionOptions) (*ebpf.Collection, error) {
	var o ebpf.CollectionOptions
	if opts != nil {
		o = *opts
	}
	o.Cache = btfCache()
	return ebpf.NewCollectionWithOptions(spec, o)
}

// loadAndAssign is spec.LoadAndAssign through the shared BTF cache.
func loadAndAssign(spec *ebpf.CollectionSpec, to any, opts *ebpf.CollectionOptions) error {
	var o ebpf.CollectionOptions
	if opts != nil {
		o = *opts
	}
	o.Cache = btfCache()
	return spec.LoadAndAssign(to, &o)
}

// loadPrograms loads each named program of spec on its own, all at once
// (the verifier takes most of a load: the CPUs share it), with the maps
// of set. It returns one collection per program, in names' order.
func loadPrograms(spec *ebpf.CollectionSpec, set *ebpf.Collection, names ...string) ([]*ebpf.Collection, error) {
	colls := make([]*ebpf.Collection, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			s, err := onlyProgram(spec, name)
			if err == nil {
				colls[i], err = newCollection(s, &ebpf.CollectionOptions{MapReplacements: set.Maps})
			}
			if err != nil {
				errs[i] = fmt.Errorf("load %s: %w", name, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, c := range colls {
			if c != nil {
				c.Close()
			}
		}
		return nil, err
	}
	return colls, nil
}

// withoutPrograms is a copy of spec with its maps alone (the global
// variables' sections included): loading it creates one set of maps that
// program loads then share (MapReplacements).
func withoutPrograms(spec *ebpf.CollectionSpec) *ebpf.CollectionSpec {
	s := spec.Copy()
	s.Programs = map[string]*ebpf.ProgramSpec{}
	return s
}

// onlyProgram is a copy of spec with one program.
func onlyProgram(spec *ebpf.CollectionSpec, name string) (*ebpf.CollectionSpec, error) {
	p, ok := spec.Programs[name]
	if !ok {
		return nil, fmt.Errorf("program %s missing from the BPF object", name)
	}
	s := spec.Copy()
	s.Programs = map[string]*ebpf.ProgramSpec{name: p.Copy()}
	return s, nil
}

// mapSize is the number of entries map name has in spec: the datapath's
// limits are its map sizes, read here rather than copied into Go.
func mapSize(spec *ebpf.CollectionSpec, name string) (int, error) {
	m, ok := spec.Maps[name]
	if !ok {
		return 0, fmt.Errorf("map %s missing from the BPF object", name)
	}
	return int(m.MaxEntries), nil
}

// assignShared points the *ebpf.Map and *ebpf.Variable fields of to
// (tagged `ebpf:"name"`, as bpf2go's Maps and Variables structs are) at
// coll's, which coll keeps owning: unlike coll.Assign, so that coll.Maps
// stays the one complete set that program loads take as MapReplacements.
func assignShared(coll *ebpf.Collection, to any) error {
	v := reflect.ValueOf(to).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Tag.Get("ebpf")
		var obj any
		var ok bool
		switch v.Field(i).Type() {
		case reflect.TypeFor[*ebpf.Map]():
			obj, ok = coll.Maps[name]
		case reflect.TypeFor[*ebpf.Variable]():
			obj, ok = coll.Variables[name]
		}
		if !ok {
			return fmt.Errorf("%s missing from the loaded collection", name)
		}
		v.Field(i).Set(reflect.ValueOf(obj))
	}
	return nil
}
