package ec2api

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/vpcemu/vpcemu/vpc"
)

// Backend holds one region's desired state and makes changes to it live.
// Handlers never change a topology they did not get from an edit: they
// describe what Topology returns and change state through Apply.
type Backend interface {
	// Topology is the committed state. It is shared and must not be
	// modified.
	Topology() *vpc.Topology
	// Apply runs edit on a private deep copy of the committed topology,
	// validates the result with the topology file's own validation
	// (Validate), and, unless check is set (DryRun, API-5), makes it live
	// and commits it. It returns the topology it committed (or would
	// commit). Any failure (edit's error, validation, the datapath) leaves
	// everything as it was.
	Apply(ctx context.Context, check bool, edit func(*vpc.Topology) error) (*vpc.Topology, error)
}

// Validate checks t with the code that validates topology files: t is
// written as YAML and parsed back, so the API accepts exactly what a file
// may say and answers with the same AWS error codes (FromValidation). It
// returns what Parse makes of the export, the canonical form of t (defaults,
// route order and states as a file would give them), which is what gets
// committed: the running topology is always one `vpcemu export` writes
// and `up -f` recreates.
func Validate(t *vpc.Topology) (*vpc.Topology, error) {
	if len(t.VPCs) == 0 {
		// A region the API has not created a VPC in yet holds nothing a
		// topology file could state.
		return t, nil
	}
	return vpc.Parse("", t.YAML())
}

// Memory is a Backend without a datapath: the committed topology in memory.
// Tests use it, and it is the API's state for regions no topology runs in.
type Memory struct {
	mu       sync.Mutex // serialises Apply
	cur      atomic.Pointer[vpc.Topology]
	validate func(*vpc.Topology) (*vpc.Topology, error)
}

// NewMemory returns a Backend holding t (not copied), validating changes
// with validate (Validate when nil), which returns the topology to commit.
func NewMemory(t *vpc.Topology, validate func(*vpc.Topology) (*vpc.Topology, error)) *Memory {
	if validate == nil {
		validate = Validate
	}
	m := &Memory{validate: validate}
	m.cur.Store(t)
	return m
}

// Topology returns the committed topology.
func (m *Memory) Topology() *vpc.Topology { return m.cur.Load() }

// Apply edits a copy, validates it and commits it unless check is set.
func (m *Memory) Apply(ctx context.Context, check bool, edit func(*vpc.Topology) error) (*vpc.Topology, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := Clone(m.cur.Load())
	if err := edit(next); err != nil {
		return nil, err
	}
	next, err := m.validate(next)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !check {
		m.cur.Store(next)
	}
	return next, nil
}

// Clone deep-copies a topology: every slice, map and pointer the model
// reaches is copied, so an edit of the copy never shows in the original.
// Values the model holds by value and never changes in place (netip.Addr
// and netip.Prefix) are copied as values.
func Clone(t *vpc.Topology) *vpc.Topology {
	if t == nil {
		return nil
	}
	c := deepCopy(reflect.ValueOf(t)).Interface().(*vpc.Topology)
	return c
}

func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deepCopy(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			s.Index(i).Set(deepCopy(v.Index(i)))
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			m.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return m
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v) // unexported fields (netip's) by value
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				s.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return s
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		panic(fmt.Sprintf("ec2api: Clone: interface field of type %s", v.Type()))
	}
	return v
}
