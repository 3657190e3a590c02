package ec2api

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/vpcemu/vpcemu/vpc"
)

// Backend holds one region's desired state and makes changes to it live.
// Handlers never change a topology they did not get from an edit: they
// describe what Topology returns and change state through Plan and Commit.
//
// The two steps let the server accept changes ahead of the datapath and
// make many live at once (group commit): each request's change is planned
// on top of those accepted before it, and one Commit takes them all.
type Backend interface {
	// Topology is the committed state. It is shared and must not be
	// modified.
	Topology() *vpc.Topology
	// Plan runs edit on a private deep copy of base (the committed
	// topology, or one Plan returned) and validates the result with the
	// topology file's own validation (Validate); it also refuses what
	// Commit could not make live (lab.ErrNotLive). It returns the result,
	// shared from then on; nothing changes.
	Plan(ctx context.Context, base *vpc.Topology, edit func(*vpc.Topology) error) (*vpc.Topology, error)
	// Commit makes next, planned from base (possibly through several
	// Plans), live and commits it, provided the committed topology is
	// still base; otherwise it returns ErrStale. Any failure leaves
	// everything as it was.
	Commit(ctx context.Context, base, next *vpc.Topology) error
}

// ErrStale is Commit's answer when the committed topology is no longer the
// one the change was planned from (another change, such as `vpcemu apply
// -f`, came in between): nothing was changed; plan again.
var ErrStale = errors.New("the topology changed since the change was planned")

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
	mu       sync.Mutex // serialises Commit
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

// Plan edits a copy of base (vpc.Topology.Clone) and validates it.
func (m *Memory) Plan(ctx context.Context, base *vpc.Topology, edit func(*vpc.Topology) error) (*vpc.Topology, error) {
	next := base.Clone()
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
	return next, nil
}

// Commit makes next the committed topology if base still is.
func (m *Memory) Commit(ctx context.Context, base, next *vpc.Topology) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.cur.Load() != base {
		return ErrStale
	}
	m.cur.Store(next)
	return nil
}
