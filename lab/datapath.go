package lab

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// datapath is every BPF object of one topology (a loader.Datapath), by
// part.
type datapath struct {
	dp    *loader.Datapath
	mode  loader.XDPMode
	igw   *loader.IGW
	nacl  *loader.NACL
	sg    *loader.SG
	flows *loader.Flows // nil when t has no flow logs
}

// newDatapath loads the IGW NAT, the NACL and the SG programs and maps,
// attached nowhere yet: it needs no namespace (loader.NewDatapath).
func newDatapath(t *vpc.Topology, p *vpc.Plan, opts Options) (*datapath, error) {
	d, err := loader.NewDatapath(t, p, loader.DatapathOptions{Mode: opts.XDPMode, FlowTableSize: opts.FlowTableSize, Progress: opts.Progress})
	if err != nil {
		return nil, err
	}
	return &datapath{dp: d, mode: opts.XDPMode, igw: d.IGW, nacl: d.NACL, sg: d.SG, flows: d.Flows}, nil
}

// attach attaches the programs to the topology's namespaces.
func (d *datapath) attach() error { return d.dp.Attach() }

// apply swaps in the rules of t (which must differ from the running
// topology in rules only, see vpc.RulesOnlyDiff).
func (d *datapath) apply(t *vpc.Topology) error { return d.dp.Apply(t) }

// Close detaches and frees every program and map.
func (d *datapath) Close() error { return d.dp.Close() }

// fillStatus adds live counters (NACL rule hits, conntrack usage) to st.
func (d *datapath) fillStatus(st *Status) {
	st.DropEventsLost = d.eventsLost()
	for i := range st.Gateways {
		if g := d.dp.NGWs[st.Gateways[i].ID]; g != nil {
			if s, err := g.Stats(); err == nil {
				st.Gateways[i].NAT = &s
				st.DropEventsLost += s.EventsLost
			}
		}
	}
	if ctrs, err := d.nacl.Counters(); err == nil {
		byACL := map[string]*NACLStatus{}
		for _, c := range ctrs {
			ns := byACL[c.ACL]
			if ns == nil {
				st.NACLs = append(st.NACLs, NACLStatus{ID: c.ACL})
				ns = &st.NACLs[len(st.NACLs)-1]
				byACL[c.ACL] = ns
			}
			dir, action, rule := "inbound", "deny", strconv.Itoa(c.Rule)
			if c.Egress {
				dir = "outbound"
			}
			if c.Allow {
				action = "allow"
			}
			if c.Rule >= rules.NACLDefaultRuleIPv4 {
				rule = "*"
			}
			if c.IPv6 {
				rule += " (v6)"
			}
			ns.Rules = append(ns.Rules, NACLRuleStatus{Direction: dir, Rule: rule, Number: c.Rule, IPv6: c.IPv6, Action: action,
				Packets: c.Packets, Bytes: c.Bytes})
		}
	}
	for i := range st.Instances {
		tracked, avail, exceeded, err := d.sg.Stats(st.Instances[i].ENI)
		if err == nil {
			cs := &ConntrackStat{Tracked: tracked, AllowanceExceeded: exceeded}
			if avail != math.MaxUint64 { // the loader's "no allowance"
				cs.AllowanceAvailable = &avail
			}
			st.Instances[i].Conntrack = cs
		}
		if drops, err := d.sg.SGDrops(st.Instances[i].ENI); err == nil {
			for _, code := range slices.Sorted(maps.Keys(drops)) {
				st.Instances[i].SGDrops = append(st.Instances[i].SGDrops, SGDropStat{Reason: sgReason(code), Packets: drops[code]})
			}
		}
	}
}

// flowSource is where flow logs come from; nil when t has no flow logs.
func (d *datapath) flowSource() flowSource {
	if d.flows == nil {
		return nil
	}
	return d.flows
}
