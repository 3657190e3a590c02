package lab

import (
	"context"
	"fmt"

	"github.com/vpcemu/vpcemu/vpc"
)

// Change is the one way a running topology changes (apply -f, the EC2 API,
// the lessons): edit gets the running topology, which it must not modify,
// and returns the desired one, validated (a file's parse, or the API's
// validation of its edited copy). Change computes the steps from one to
// the other and, unless check is set (the API's DryRun), runs them and
// records the result in state.json, where exec, explain, export and a
// restarted CLI read it. It returns the desired topology. A change that
// cannot be made live (ErrNotLive), or fails part way, leaves the running
// topology, its datapath and its state as they were.
func (l *Lab) Change(ctx context.Context, check bool, edit func(cur *vpc.Topology) (*vpc.Topology, error)) (*vpc.Topology, error) {
	return l.change(ctx, check, edit, "", nil)
}

// change is Change; file and text, when text is given, are what state.json
// records as where the topology came from and its text (apply -f keeps
// the user's file as written), else the desired topology's export.
func (l *Lab) change(ctx context.Context, check bool, edit func(cur *vpc.Topology) (*vpc.Topology, error), file string, text []byte) (*vpc.Topology, error) {
	l.changeMu.Lock()
	defer l.changeMu.Unlock()
	cur := l.Topology()
	next, err := edit(cur)
	if err != nil {
		return nil, err
	}
	c, err := l.diff(cur, next)
	if err != nil {
		return nil, err
	}
	defer c.close()
	if err := l.opts.injected("plan"); err != nil {
		return nil, err
	}
	if check {
		return next, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if text == nil {
		text = next.YAML()
	}
	// Last: state.json says what runs once the datapath runs it.
	l.mu.Lock()
	old := *l.state
	l.mu.Unlock()
	st := old
	st.YAML = string(text)
	if file != "" {
		st.File = file
	}
	c.add(Step{What: "record the state",
		Do: func() error {
			if err := l.opts.injected("record"); err != nil {
				return err
			}
			return writeState(l.paths, &st)
		},
		Undo: func() error { return writeState(l.paths, &old) }})
	if err := c.run(); err != nil {
		return nil, fmt.Errorf("change %s: %w (nothing was changed)", cur.Name, err)
	}
	l.mu.Lock()
	l.topo, l.state = next, &st
	l.mu.Unlock()
	return next, nil
}

// Check tells whether a change from cur to next could be made live, as
// Change decides before it runs anything: a NotLiveError if not. cur need
// not be the running topology (the EC2 API checks each request's change on
// top of those it accepted before, while a change runs). It runs no step
// and takes no lock: computing steps reads only what Up set.
func (l *Lab) Check(cur, next *vpc.Topology) error {
	_, err := l.diff(cur, next)
	return err
}

// ApplyTopology makes nt, a topology changed in code rather than read from
// a file (the lessons edit rules as a model, and their tests run settings
// no file may hold, such as a 1 s tracking timeout), the running one.
func (l *Lab) ApplyTopology(nt *vpc.Topology) error {
	_, err := l.Change(context.Background(), false, func(*vpc.Topology) (*vpc.Topology, error) { return nt, nil })
	return err
}
