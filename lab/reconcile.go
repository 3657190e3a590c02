package lab

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// The reconciler: a running topology changes only by going from the
// topology it runs (actual) to a desired one through steps computed from
// their difference. Each step is undoable; a change runs its steps in
// order and, when one fails, undoes those done in reverse, so a failed
// change leaves the topology as it was. A difference no step can make live
// refuses the whole change before anything runs (NotLiveError).
//
// What each kind of object needs is a livePart: it looks at actual and
// desired, adds its steps, and marks its part of the difference as taken
// care of. Whatever difference remains once every part has looked is
// refused. Routing objects (VPC routers, subnets, instances and their
// ENIs, gateways, NAT gateways, peerings, route tables) join as parts once
// the datapath has steps for them.

// Step is one undoable change to a running topology: its datapath,
// namespaces or the daemon's own services.
type Step struct {
	What string // names the step in errors: "network ACL acl-public: rules"
	Do   func() error
	// Undo reverts Do when a later step fails; nil when there is nothing
	// to revert.
	Undo func() error
	// Commit, when set, runs once every step has succeeded: for what
	// cannot be undone (writing out a removed flow log's last records).
	Commit func()
}

// ErrNotLive is what a change a running topology cannot make is (errors.Is).
var ErrNotLive = errors.New("cannot be changed on a running topology")

// NotLiveError refuses a change the running topology cannot make: Change
// names the difference and Reason why.
type NotLiveError struct {
	Change string // "the number of instances (2, now 3)", "subnets[1].cidr"
	Reason string // "" for the general one: not live yet, down and up
}

func (e *NotLiveError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s: %s", e.Change, e.Reason)
	}
	return fmt.Sprintf("%s changed: a running topology cannot change that (yet); nothing was changed. Run vpcemu down, then vpcemu up -f with the new topology", e.Change)
}

// Is makes errors.Is(err, ErrNotLive) hold.
func (e *NotLiveError) Is(target error) bool { return target == ErrNotLive }

// change is one reconciliation from cur (running) to next (desired).
type change struct {
	l         *Lab
	cur, next *vpc.Topology
	// rest is next with every part a live part took care of set back to
	// cur's: what still differs cannot be made live.
	rest  vpc.Topology
	steps []Step
	// cleanup runs once the change is done or refused (handles its
	// steps share).
	cleanup []func()
	// late are steps that run after every part's (deletions of what
	// other parts' objects live in).
	late []Step
	// curPlan, nextPlan: the layouts of cur and next (plans).
	curPlan, nextPlan *vpc.Plan
}

// liveParts are the parts of a topology the datapath changes live, in the
// order their steps run: NACL tables before the associations that point
// subnets at them, security groups, flow-log subscriptions.
var liveParts = []func(*change) error{
	(*change).naclTables,
	(*change).naclAssociations,
	(*change).securityGroups,
	(*change).flowLogs,
	(*change).trafficMirror,
	(*change).routing,
	(*change).instances,
	// Last: subnets, gateways, route tables and VPCs deleted, once the
	// instances and NAT gateways in them are gone.
	(*change).lateSteps,
}

// diff computes the steps from cur to next, or refuses the change.
func (l *Lab) diff(cur, next *vpc.Topology) (*change, error) {
	if next.Name != cur.Name {
		return nil, &NotLiveError{Change: fmt.Sprintf("the topology's name (%s, now %s)", cur.Name, next.Name),
			Reason: "a running topology keeps its name; apply a file with `name: " + cur.Name + "`"}
	}
	c := &change{l: l, cur: cur, next: next, rest: *next}
	for _, part := range liveParts {
		if err := part(c); err != nil {
			return nil, err
		}
	}
	// Security groups, NACLs and their associations, prefix lists no route
	// uses, ENIs' groups, tags and descriptions are what StructuralChange
	// leaves out: the parts above took care of them.
	if what := vpc.StructuralChange(cur, &c.rest); what != "" {
		return nil, &NotLiveError{Change: what}
	}
	return c, nil
}

// run runs the steps; on failure it undoes the steps done, newest first,
// and returns the failure (with any undo that failed too).
func (c *change) run() error {
	defer c.close()
	for i, s := range c.steps {
		start := time.Now()
		err := s.Do()
		c.l.opts.Log.Debug("change step", "step", s.What, "took", time.Since(start), "err", err)
		if err != nil {
			err = fmt.Errorf("%s: %w", s.What, err)
			for j := i - 1; j >= 0; j-- {
				if u := c.steps[j].Undo; u != nil {
					if uerr := u(); uerr != nil {
						err = errors.Join(err, fmt.Errorf("undo %s: %w", c.steps[j].What, uerr))
					}
				}
			}
			return err
		}
	}
	for _, s := range c.steps {
		if s.Commit != nil {
			s.Commit()
		}
	}
	return nil
}

func (c *change) add(s Step) { c.steps = append(c.steps, s) }

// close releases what the steps shared.
func (c *change) close() {
	for _, f := range c.cleanup {
		f()
	}
	c.cleanup = nil
}

func joinErr(errs ...error) error { return errors.Join(errs...) }

// naclTables: a NACL whose rules changed, or a new one, gets its new
// tables (one atomic flip per NACL: the next packet meets either table).
// A deleted NACL has no subnet left (validation) and stays allocated,
// unreachable, until the topology goes down.
func (c *change) naclTables() error {
	d := c.l.dp
	if d == nil || d.nacl == nil {
		return nil
	}
	for i := range c.next.NetworkACLs {
		n := &c.next.NetworkACLs[i]
		o := c.cur.NetworkACL(n.ID)
		if o != nil && samePosFree(o.Ingress, n.Ingress) && samePosFree(o.Egress, n.Egress) {
			continue
		}
		s := Step{What: "network ACL " + n.ID + ": rules", Do: func() error { return d.nacl.SetNACL(n) }}
		if o != nil {
			s.Undo = func() error { return d.nacl.SetNACL(o) }
		}
		c.add(s)
	}
	return nil
}

// naclAssociations points each subnet whose NACL changed at its new one.
func (c *change) naclAssociations() error {
	d := c.l.dp
	if d == nil || d.nacl == nil {
		return nil
	}
	for _, s := range c.next.Subnets {
		o := c.cur.Subnet(s.ID)
		if o == nil || o.NetworkACL == s.NetworkACL {
			continue
		}
		sub, from, to := s.ID, o.NetworkACL, s.NetworkACL
		c.add(Step{What: "subnet " + sub + ": network ACL " + to,
			Do:   func() error { return d.nacl.Associate(sub, to) },
			Undo: func() error { return d.nacl.Associate(sub, from) }})
	}
	return nil
}

// securityGroups swaps in every group's compiled rules and every ENI's
// groups at once when any of them changed (loader.SG.Update: tracked
// connections survive, untracked flows meet the new rules, SG-27/28).
func (c *change) securityGroups() error {
	d := c.l.dp
	if d == nil || d.sg == nil {
		return nil
	}
	if samePosFree(c.cur.SecurityGroups, c.next.SecurityGroups) && samePosFree(c.cur.PrefixLists, c.next.PrefixLists) &&
		slices.EqualFunc(c.cur.Instances, c.next.Instances, sameGroups) {
		return nil
	}
	cur, next := c.cur, c.next
	c.add(Step{What: "security groups",
		Do:   func() error { return d.sg.Update(next) },
		Undo: func() error { return d.sg.Update(cur) }})
	return nil
}

// sameGroups tells whether two instances' ENIs have the same groups.
func sameGroups(a, b vpc.Instance) bool {
	ea, eb := a.ENIs(), b.ENIs()
	return len(ea) == len(eb) && slices.EqualFunc(ea, eb, func(x, y *vpc.ENI) bool {
		return x.ID == y.ID && slices.Equal(x.SecurityGroups, y.SecurityGroups)
	})
}

// samePosFree compares two parts of topologies as the model means them:
// positions in a file and the difference between a nil and an empty list
// or map do not count.
func samePosFree(a, b any) bool {
	return equalModel(reflect.ValueOf(a), reflect.ValueOf(b))
}

func equalModel(a, b reflect.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Struct:
		if a.Type() == reflect.TypeOf(vpc.Pos{}) {
			return true
		}
		for i := range a.NumField() {
			if !a.Type().Field(i).IsExported() {
				continue
			}
			if !equalModel(a.Field(i), b.Field(i)) {
				return false
			}
		}
		// netip's values keep their state in unexported fields.
		if a.NumField() > 0 && !a.Type().Field(0).IsExported() {
			return a.Interface() == b.Interface()
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalModel(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		it := a.MapRange()
		for it.Next() {
			v := b.MapIndex(it.Key())
			if !v.IsValid() || !equalModel(it.Value(), v) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equalModel(a.Elem(), b.Elem())
	}
	return a.Interface() == b.Interface()
}

// flowLogs adds and removes flow-log subscriptions: a new one counts from
// the next drain of the datapath's flow counters; a removed one gets what
// was counted up to its removal and its open windows written out. A
// changed one is removed and added. The datapath counts flows only when the
// topology came up with a flow log (the programs are built with or without
// the counting), so a topology without one cannot get one live.
func (c *change) flowLogs() error {
	c.rest.FlowLogs = c.cur.FlowLogs
	l := c.l
	for i := range c.cur.FlowLogs {
		o := c.cur.FlowLogs[i]
		n := flowLogByID(c.next, o.ID)
		if n != nil && sameFlowLog(o, *n) {
			continue
		}
		var removed *subscription
		var at int
		c.add(Step{What: "flow log " + o.ID + ": remove",
			Do: func() error {
				l.flowMu.Lock()
				defer l.flowMu.Unlock()
				if l.flows == nil {
					return nil
				}
				// What the datapath counted so far still goes to it.
				if err := l.drainLocked(time.Now()); err != nil {
					return err
				}
				for j, s := range l.flows.subs {
					if s.id == o.ID {
						removed, at = s, j
						l.flows.subs = slices.Delete(l.flows.subs, j, j+1)
						break
					}
				}
				return nil
			},
			Undo: func() error {
				if removed != nil {
					l.flowMu.Lock()
					l.flows.subs = slices.Insert(l.flows.subs, at, removed)
					l.flowMu.Unlock()
				}
				return nil
			},
			Commit: func() {
				if removed != nil {
					if err := l.flows.flushOne(removed, time.Now(), true); err != nil {
						l.opts.Log.Warn("flow logs", "err", err)
					}
				}
			}})
	}
	for i := range c.next.FlowLogs {
		n := c.next.FlowLogs[i]
		if o := flowLogByID(c.cur, n.ID); o != nil && sameFlowLog(*o, n) {
			continue
		}
		if l.flows == nil {
			return &NotLiveError{Change: "flow log " + n.ID,
				Reason: "this topology came up without flow logs, so its datapath counts no flows; nothing was changed. Add the flow log to the topology file and run vpcemu down and up"}
		}
		next := c.next
		var added *subscription
		c.add(Step{What: "flow log " + n.ID + ": add",
			Do: func() error {
				s, err := newSubscription(next, n, l.paths, l.flows.clock)
				if err != nil {
					return err
				}
				l.flowMu.Lock()
				defer l.flowMu.Unlock()
				// Only what is counted from now on is its.
				if err := l.drainLocked(time.Now()); err != nil {
					return err
				}
				l.flows.subs = append(l.flows.subs, s)
				added = s
				return nil
			},
			Undo: func() error {
				l.flowMu.Lock()
				defer l.flowMu.Unlock()
				if i := slices.Index(l.flows.subs, added); i >= 0 {
					l.flows.subs = slices.Delete(l.flows.subs, i, i+1)
				}
				return nil
			}})
	}
	return nil
}

func flowLogByID(t *vpc.Topology, id string) *vpc.FlowLog {
	for i := range t.FlowLogs {
		if t.FlowLogs[i].ID == id {
			return &t.FlowLogs[i]
		}
	}
	return nil
}

// sameFlowLog compares what a subscription is made of: not its tags.
func sameFlowLog(a, b vpc.FlowLog) bool {
	a.Tags, b.Tags = nil, nil
	return samePosFree(a, b)
}
