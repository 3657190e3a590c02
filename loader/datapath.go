package loader

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// DefaultFlowTableSize is the default DatapathOptions.FlowTableSize: a scan
// of all 65535 TCP ports of one instance (one REJECT flow per port, no
// replies) fits between two drains with room for the topology's other
// traffic.
const DefaultFlowTableSize = 1 << 17

// DatapathOptions say how LoadDatapath builds a topology's datapath. The
// zero value is what `vpcemu up` runs.
type DatapathOptions struct {
	Mode XDPMode // NACL hook on the subnet uplinks; DefaultNACLMode when empty
	// Skip leaves parts out (benchmarks measure them one at a time): the
	// internet gateway (its NAT and its NACL port), the NACL, the SG. With
	// flow logs the SG loads anyway: flow accounting needs its ENI table.
	SkipIGW, SkipNACL, SkipSG bool
	// FlowTableSize is how many flows each flow-counter table holds between
	// drains (DefaultFlowTableSize when 0); a topology without flow logs
	// has no tables.
	FlowTableSize int
	// Progress, when set, receives notes for the user.
	Progress func(string)
}

// Datapath is every BPF object of one topology. Parts left out are nil.
type Datapath struct {
	IGW   *IGW
	NACL  *NACL
	SG    *SG
	Flows *Flows // the shared flow-log counters; nil without flow logs
	plan  *vpc.Plan
	topo  *vpc.Topology
	mode  XDPMode
}

// LoadDatapath loads the datapath of topology t laid out as p and attaches
// it to p's namespaces (NewDatapath, then Attach). On failure it closes
// whatever it loaded.
func LoadDatapath(t *vpc.Topology, p *vpc.Plan, o DatapathOptions) (*Datapath, error) {
	d, err := NewDatapath(t, p, o)
	if err != nil {
		return nil, err
	}
	if err := d.Attach(); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// NewDatapath loads the datapath of topology t laid out as p, attached
// nowhere yet: the internet gateway's NAT, the NACL (one judgement where
// packets enter the VPC router), the SGs, and the flow counters they share,
// with t's rules in their tables. It needs no namespace, so it can run
// while they are built: most of its time is the verifier's. On failure it
// closes whatever it loaded.
func NewDatapath(t *vpc.Topology, p *vpc.Plan, o DatapathOptions) (d *Datapath, err error) {
	d = &Datapath{plan: p, topo: t, mode: o.Mode}
	defer func() {
		if err != nil {
			_ = d.Close()
			d = nil
		}
	}()
	if d.mode == "" {
		d.mode = DefaultNACLMode
	}
	if len(t.FlowLogs) > 0 {
		size := o.FlowTableSize
		if size <= 0 {
			size = DefaultFlowTableSize
		}
		spec, err := loadNacl()
		if err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
		if d.Flows, err = NewFlows(spec, size); err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
		if got := d.Flows.TableSize(); got < size && o.Progress != nil {
			o.Progress(fmt.Sprintf("flow logs: tables hold %d flows between drains, not %d (per-CPU memory on this many CPUs); more new flows per second give SKIPDATA", got, size))
		}
	}
	if !o.SkipIGW {
		if d.IGW, err = newIGW(t.VPCs[0].CIDR, natTable(t)); err != nil {
			return d, fmt.Errorf("internet gateway: %w", err)
		}
	}
	if !o.SkipNACL {
		if d.NACL, err = LoadNACL(NACLOptions{VPCCIDR: t.VPCs[0].CIDR, Topology: t, MTU: p.MTU, Flows: d.Flows}); err != nil {
			return d, fmt.Errorf("network ACLs: %w", err)
		}
		if err := d.setNACLs(t); err != nil {
			return d, err
		}
		modes := []XDPMode{d.mode}
		if !o.SkipIGW {
			modes = append(modes, TC) // the gateway's port
		}
		if err := d.NACL.Load(modes...); err != nil {
			return d, fmt.Errorf("network ACLs: %w", err)
		}
	}
	if !o.SkipSG || d.Flows != nil {
		if d.SG, err = loadSGFlows(t, p, 0, d.Flows); err != nil {
			return d, fmt.Errorf("security groups: %w", err)
		}
	}
	if d.Flows != nil {
		if err := d.Flows.SetENIs(t, d.SG.ENIIndex); err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
	}
	return d, nil
}

// Attach attaches every program to the namespaces of the plan, which must
// exist by now: the gateway's NAT, then the NACL where packets enter the
// router (on each uplink: the subnet's outbound table, then the
// destination subnet's inbound one; at the gateway after the NAT), then
// the SGs on every ENI, with their traffic mirror sessions.
func (d *Datapath) Attach() error {
	p := d.plan
	if d.IGW != nil {
		if err := d.IGW.attach(p.RouterNS, p.IGW.RouterIf); err != nil {
			return fmt.Errorf("internet gateway: %w", err)
		}
	}
	if d.NACL != nil {
		for _, sp := range p.Subnets {
			if err := d.NACL.Attach(p.RouterNS, sp.UplinkRouterIf, sp.SubnetID, d.mode); err != nil {
				return fmt.Errorf("subnet %s: %w", sp.SubnetID, err)
			}
		}
		if d.IGW != nil {
			if err := d.NACL.Attach(p.RouterNS, p.IGW.RouterIf, "", TC); err != nil {
				return fmt.Errorf("internet gateway: %w", err)
			}
		}
	}
	if d.SG != nil {
		for _, hp := range p.Instances {
			if err := d.SG.Attach(hp); err != nil {
				return fmt.Errorf("security groups: %w", err)
			}
		}
		// Mirror sources are named by their veths' ifindexes.
		if err := d.SG.SetMirror(d.topo, p); err != nil {
			return fmt.Errorf("traffic mirroring: %w", err)
		}
	}
	return nil
}

func (d *Datapath) setNACLs(t *vpc.Topology) error {
	for i := range t.NetworkACLs {
		if err := d.NACL.SetNACL(&t.NetworkACLs[i]); err != nil {
			return fmt.Errorf("network ACL %s: %w", t.NetworkACLs[i].ID, err)
		}
	}
	return nil
}

// Apply swaps in the rules of t, which must differ from the running
// topology in rules only (vpc.RulesOnlyDiff): NACL tables and
// associations, then security groups.
func (d *Datapath) Apply(t *vpc.Topology) error {
	if d.NACL != nil {
		if err := d.setNACLs(t); err != nil {
			return err
		}
		for i, sp := range d.plan.Subnets {
			if err := d.NACL.Associate(sp.SubnetID, t.Subnets[i].NetworkACL); err != nil {
				return err
			}
		}
	}
	if d.SG != nil {
		if err := d.SG.Update(t); err != nil {
			return fmt.Errorf("security groups: %w", err)
		}
	}
	return nil
}

// Close detaches and frees every program and map.
func (d *Datapath) Close() error {
	var errs []error
	if d.SG != nil {
		errs = append(errs, d.SG.Close())
	}
	if d.NACL != nil {
		errs = append(errs, d.NACL.Close())
	}
	if d.IGW != nil {
		errs = append(errs, d.IGW.Close())
	}
	// Last: the programs above hold the flow maps until they are detached.
	if d.Flows != nil {
		errs = append(errs, d.Flows.Close())
	}
	return errors.Join(errs...)
}

// natTable maps each public IPv4 of t to its instance's private IPv4.
func natTable(t *vpc.Topology) map[netip.Addr]netip.Addr {
	nat := map[netip.Addr]netip.Addr{}
	for _, in := range t.Instances {
		if in.PublicIP.IsValid() {
			nat[in.PublicIP] = in.PrivateIP
		}
	}
	return nat
}
