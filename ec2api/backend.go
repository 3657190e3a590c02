package ec2api

import (
	"context"
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

// Validate checks t with the checks of topology files (vpc.Validate), so
// the API accepts exactly what a file may say and answers with the same
// AWS error codes (FromValidation), and completes it in place as Parse
// completes a file (defaults, derived ids, implicit tables, local and
// endpoint routes, route order and states). It returns t, which is then
// what Parse makes of its export: the running topology is always one
// `vpcemu export` writes and `up -f` recreates. t is left half completed
// on error: validate a copy.
func Validate(t *vpc.Topology) (*vpc.Topology, error) {
	if len(t.VPCs) == 0 {
		// A region the API has not created a VPC in yet holds nothing a
		// topology file could state.
		return t, nil
	}
	if err := vpc.Validate(t); err != nil {
		return nil, err
	}
	return t, nil
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

// Apply edits a copy (vpc.Topology.Clone), validates it and commits it
// unless check is set.
func (m *Memory) Apply(ctx context.Context, check bool, edit func(*vpc.Topology) error) (*vpc.Topology, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := m.cur.Load().Clone()
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
