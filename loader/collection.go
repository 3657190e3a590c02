package loader

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// btfCache is the one btf.Cache of every load in the process, so that
// kernel BTF is decoded once whatever loads how many collections.
var btfCache struct {
	sync.Mutex
	c *btf.Cache
}

// newCollection loads spec with opts (nil: none), decoding kernel BTF
// through the shared cache.
func newCollection(spec *ebpf.CollectionSpec, opts *ebpf.CollectionOptions) (*ebpf.Collection, error) {
	var o ebpf.CollectionOptions
	if opts != nil {
		o = *opts
	}
	btfCache.Lock()
	defer btfCache.Unlock()
	if btfCache.c == nil {
		btfCache.c = btf.NewCache()
	}
	o.Cache = btfCache.c
	return ebpf.NewCollectionWithOptions(spec, o)
}

// loadAndAssign is spec.LoadAndAssign through the shared BTF cache.
func loadAndAssign(spec *ebpf.CollectionSpec, to any, opts *ebpf.CollectionOptions) error {
	var o ebpf.CollectionOptions
	if opts != nil {
		o = *opts
	}
	btfCache.Lock()
	defer btfCache.Unlock()
	if btfCache.c == nil {
		btfCache.c = btf.NewCache()
	}
	o.Cache = btfCache.c
	return spec.LoadAndAssign(to, &o)
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

// assignMaps points the *ebpf.Map fields of to (tagged `ebpf:"name"`, as
// bpf2go's Maps structs are) at coll's maps, which coll keeps owning:
// unlike coll.Assign, so that coll.Maps stays the one complete set that
// program loads take as MapReplacements.
func assignMaps(coll *ebpf.Collection, to any) error {
	v := reflect.ValueOf(to).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Tag.Get("ebpf")
		m, ok := coll.Maps[name]
		if !ok {
			return fmt.Errorf("map %s missing from the loaded collection", name)
		}
		v.Field(i).Set(reflect.ValueOf(m))
	}
	return nil
}
