package lab

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// datapath is every BPF object of one topology.
type datapath struct {
	plan *vpc.Plan
	mode loader.XDPMode
	igw  *loader.IGW
	nacl *loader.NACL
	sg   *loader.SG
	// flows are the shared flow-log counters; nil when t has no flow logs.
	flows *loader.Flows
}

// DefaultFlowTableSize is the default Options.FlowTableSize: a scan of all
// 65535 TCP ports of one instance (one REJECT flow per port, no replies)
// fits between two drains with room for the topology's other traffic.
const DefaultFlowTableSize = 1 << 17

// loadDatapath loads and attaches the IGW NAT, the NACL and the SG programs.
// On failure it closes whatever it attached.
func loadDatapath(t *vpc.Topology, p *vpc.Plan, opts Options) (d *datapath, err error) {
	d = &datapath{plan: p, mode: opts.XDPMode}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	if len(t.FlowLogs) > 0 {
		size := opts.FlowTableSize
		if size <= 0 {
			size = DefaultFlowTableSize
		}
		spec, err := loader.NACLSpec()
		if err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
		if d.flows, err = loader.NewFlows(spec, size); err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
		if got := d.flows.TableSize(); got < size && opts.Progress != nil {
			opts.Progress(fmt.Sprintf("flow logs: tables hold %d flows between drains, not %d (per-CPU memory on this many CPUs); more new flows per second give SKIPDATA", got, size))
		}
	}
	if d.igw, err = loader.LoadIGW(p.RouterNS, p.IGW.RouterIf, t.VPCs[0].CIDR, natTable(t)); err != nil {
		return d, fmt.Errorf("internet gateway: %w", err)
	}
	if d.nacl, err = loader.LoadNACL(loader.NACLOptions{VPCCIDR: t.VPCs[0].CIDR, Topology: t, MTU: p.MTU, Flows: d.flows}); err != nil {
		return d, fmt.Errorf("network ACLs: %w", err)
	}
	if err := d.setNACLs(t); err != nil {
		return d, err
	}
	// One judgement per packet where it enters the router (bpf/nacl.bpf.c):
	// on each uplink (the subnet's outbound table, then the destination
	// subnet's inbound one) and, after the NAT, on the internet gateway.
	for _, sp := range p.Subnets {
		if err := d.nacl.Attach(p.RouterNS, sp.UplinkRouterIf, sp.SubnetID, opts.XDPMode); err != nil {
			return d, fmt.Errorf("subnet %s: %w", sp.SubnetID, err)
		}
	}
	if err := d.nacl.Attach(p.RouterNS, p.IGW.RouterIf, "", loader.TCX); err != nil {
		return d, fmt.Errorf("internet gateway: %w", err)
	}
	if d.sg, err = loader.LoadSGWithFlows(t, p, d.flows); err != nil {
		return d, fmt.Errorf("security groups: %w", err)
	}
	if err := d.sg.SetMirror(t, p); err != nil {
		return d, fmt.Errorf("traffic mirroring: %w", err)
	}
	if d.flows != nil {
		if err := d.flows.SetENIs(t, d.sg.ENIIndex); err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
	}
	return d, nil
}

func (d *datapath) setNACLs(t *vpc.Topology) error {
	for i := range t.NetworkACLs {
		if err := d.nacl.SetNACL(&t.NetworkACLs[i]); err != nil {
			return fmt.Errorf("network ACL %s: %w", t.NetworkACLs[i].ID, err)
		}
	}
	return nil
}

// apply swaps in the rules of t (which must differ from the running
// topology in rules only, see vpc.RulesOnlyDiff): NACL tables and
// associations, then security groups.
func (d *datapath) apply(t *vpc.Topology) error {
	if err := d.setNACLs(t); err != nil {
		return err
	}
	for i, sp := range d.plan.Subnets {
		if err := d.nacl.Associate(sp.SubnetID, t.Subnets[i].NetworkACL); err != nil {
			return err
		}
	}
	if err := d.sg.Update(t); err != nil {
		return fmt.Errorf("security groups: %w", err)
	}
	return nil
}

// Close detaches and frees every program and map.
func (d *datapath) Close() error {
	var errs []error
	if d.sg != nil {
		errs = append(errs, d.sg.Close())
	}
	if d.nacl != nil {
		errs = append(errs, d.nacl.Close())
	}
	if d.igw != nil {
		errs = append(errs, d.igw.Close())
	}
	// Last: the programs above hold the flow maps until they are detached.
	if d.flows != nil {
		errs = append(errs, d.flows.Close())
	}
	return errors.Join(errs...)
}

// fillStatus adds live counters (NACL rule hits, conntrack usage) to st.
func (d *datapath) fillStatus(st *Status) {
	st.DropEventsLost = d.eventsLost()
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
			if c.Rule >= 32767 {
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
