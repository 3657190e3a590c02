package loader

import (
	"errors"
	"fmt"
	"maps"
	"sort"

	"github.com/vpcemu/vpcemu/rules"
)

// naclCtrKey names a counter across generations: a rule of a table.
type naclCtrKey struct {
	egress, v6, allow bool
	rule              int
}

// fold adds the counters of a's retired generations that are past a
// grace period (programs may be reading, and counting into, a retired set
// until then) to its totals and frees their slots; with wait, it first
// waits for one if some are not. A generation whose counters cannot be
// read stays.
func (n *NACL) fold(a *naclACL, wait bool) error {
	if len(a.retired) == 0 {
		return nil
	}
	if wait && a.retired[len(a.retired)-1].epoch > n.safe {
		if err := n.rcu.wait(); err != nil {
			return err
		}
		n.safe = n.epoch
	}
	var keep []naclGen
	var errs []error
	for _, g := range a.retired {
		if g.epoch > n.safe {
			keep = append(keep, g)
			continue
		}
		sums := map[naclCtrKey]rules.NACLCounterValue{}
		if err := n.sumCounters(&g.tables, sums); err != nil {
			keep = append(keep, g)
			errs = append(errs, err)
			continue
		}
		for k, v := range sums {
			t := a.totals[k]
			t.Packets += v.Packets
			t.Bytes += v.Bytes
			a.totals[k] = t
		}
		n.freeSet(g.set, &g.tables)
	}
	a.retired = keep
	return errors.Join(errs...)
}

// sumCounters adds the rule counters of a generation's tables to sums.
func (n *NACL) sumCounters(tables *[2][2]naclLive, sums map[naclCtrKey]rules.NACLCounterValue) error {
	for e := 0; e < 2; e++ {
		for f := 0; f < 2; f++ {
			l := &tables[e][f]
			vals, err := n.readCounters(l)
			if err != nil {
				return err
			}
			for i, r := range l.rules {
				k := naclCtrKey{e == 1, f == 1, r.Allow == 1, int(r.Number)}
				v := sums[k]
				v.Packets += vals[i].Packets
				v.Bytes += vals[i].Bytes
				sums[k] = v
			}
		}
	}
	return nil
}

func (n *NACL) readCounters(l *naclLive) ([]rules.NACLCounterValue, error) {
	if n.inject != nil {
		if err := n.inject(); err != nil {
			return nil, fmt.Errorf("nacl: read counters: %w", err)
		}
	}
	out := make([]rules.NACLCounterValue, l.rinfo[1])
	for i := range out {
		var per []rules.NACLCounterValue
		if err := n.maps.NaclCtr.Lookup(uint32(l.rinfo[0]+i), &per); err != nil {
			return nil, fmt.Errorf("nacl: read counters: %w", err)
		}
		for _, v := range per {
			out[i].Packets += v.Packets
			out[i].Bytes += v.Bytes
		}
	}
	return out, nil
}

// NACLCounter is the hit count of one rule (or `*`) of one NACL table.
// A deny rule's hits are its drops.
type NACLCounter struct {
	ACL     string
	Egress  bool
	IPv6    bool
	Rule    int // rule number; 32767/32768 for `*`
	Allow   bool
	Packets uint64 // wire packets (see bpf/nacl.bpf.c on GSO)
	Bytes   uint64
	Drops   uint64 // = Packets for deny rules, 0 for allow rules
}

// Counters returns per-rule hit and drop counters of every NACL: one entry
// per (direction, family, rule number, action) that any generation of the
// NACL had, so counts survive `apply` and removed rules keep theirs; sorted
// by NACL, direction, family and rule number.
func (n *NACL) Counters() ([]NACLCounter, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []NACLCounter
	for _, a := range n.acls {
		if err := n.fold(a, true); err != nil {
			return nil, fmt.Errorf("nacl %s: retired tables: %w", a.id, err)
		}
		sum := maps.Clone(a.totals)
		if a.set != 0 {
			if err := n.sumCounters(&a.tables, sum); err != nil {
				return nil, fmt.Errorf("nacl %s: %w", a.id, err)
			}
		}
		for k, v := range sum {
			c := NACLCounter{ACL: a.id, Egress: k.egress, IPv6: k.v6, Rule: k.rule, Allow: k.allow, Packets: v.Packets, Bytes: v.Bytes}
			if !c.Allow {
				c.Drops = c.Packets
			}
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.ACL != b.ACL {
			return a.ACL < b.ACL
		}
		if a.Egress != b.Egress {
			return !a.Egress
		}
		if a.IPv6 != b.IPv6 {
			return !a.IPv6
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Allow
	})
	return out, nil
}

// NACLStats are datapath-wide packet counts (summed over CPUs); verdicts
// by rules are in Counters.
type NACLStats struct {
	NonIP      uint64 // non-IP frames passed
	Bypassed   uint64 // SG-45 services and IPv6 link-local control passed
	Malformed  uint64 // malformed frames dropped
	EventsLost uint64 // drop events lost to a full ring buffer
	NoTable    uint64 // wire packets denied because the NACL had no tables
	Transit    uint64 // frames from no subnet to no subnet: no table applies, passed
}

// Stats returns the datapath-wide counters.
func (n *NACL) Stats() (NACLStats, error) {
	var s NACLStats
	for i, d := range map[naclNaclStat]*uint64{
		naclNaclStatNACL_ST_NONIP: &s.NonIP, naclNaclStatNACL_ST_BYPASS: &s.Bypassed, naclNaclStatNACL_ST_MALFORMED: &s.Malformed,
		naclNaclStatNACL_ST_EVLOST: &s.EventsLost, naclNaclStatNACL_ST_NOTABLE: &s.NoTable, naclNaclStatNACL_ST_TRANSIT: &s.Transit,
	} {
		var per []uint64
		if err := n.maps.NaclStats.Lookup(uint32(i), &per); err != nil {
			return s, fmt.Errorf("nacl: read stats: %w", err)
		}
		for _, v := range per {
			*d += v
		}
	}
	return s, nil
}
