package loader

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"github.com/vpcemu/vpcemu/rules"
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
	// internet gateways (their NAT and their router ports), the NACL (and
	// with it the routing: the kernel routes then), the SG. With flow logs
	// the SG loads anyway: flow accounting needs its ENI table.
	SkipIGW, SkipNACL, SkipSG bool
	// KernelRouting leaves routing to the kernel (`ip rule iif PORT lookup
	// TABLE`, the same tables): the router program judges NACLs only. The
	// benchmarks compare it with the program's bpf_fib_lookup.
	KernelRouting bool
	// FlowTableSize is how many flows each flow-counter table holds between
	// drains (DefaultFlowTableSize when 0); a topology without flow logs
	// has no tables.
	FlowTableSize int
	// Progress, when set, receives notes for the user.
	Progress func(string)
}

// Datapath is every BPF object of one topology. Parts left out are nil.
//
// Its steps, like netns's, change one object of a live topology: AddIGW,
// AddNATGateway, AttachPort, SetRouting (ports' tables and flags), SetNAT
// (public addresses), Apply (rules), and the removals. NewDatapath and
// Attach are their application to a whole plan.
type Datapath struct {
	IGW   *IGW            // the first VPC's internet gateway (IGWs has it too)
	IGWs  map[string]*IGW // by internet gateway id
	NGWs  map[string]*NGW // by NAT gateway id
	NACL  *NACL           // the NACL and router program
	SG    *SG
	Flows *Flows // the shared flow-log counters; nil without flow logs
	plan  *vpc.Plan
	topo  *vpc.Topology
	mode  XDPMode
	opts  DatapathOptions

	mu       sync.Mutex
	index    map[string]uint32 // gateway id -> its events' obj (IGWs, NGWs)
	nextIdx  uint32
	attached map[string]bool // IGWs, NGWs and SG ENI ends attached
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
// nowhere yet: each internet gateway's NAT, each NAT gateway, the router
// program (the NACL judgement and the routing where packets enter a
// router), the SGs, and the flow counters they share, with t's rules in
// their tables. It needs no namespace, so it can run while they are built:
// most of its time is the verifier's. On failure it closes whatever it
// loaded.
func NewDatapath(t *vpc.Topology, p *vpc.Plan, o DatapathOptions) (d *Datapath, err error) {
	d = &Datapath{plan: p, topo: t, mode: o.Mode, opts: o, IGWs: map[string]*IGW{}, NGWs: map[string]*NGW{},
		index: map[string]uint32{}, nextIdx: 1, attached: map[string]bool{}}
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
	// The parts load at once: a load is mostly the verifier's CPU time,
	// and the namespaces, built meanwhile (lab.Up), leave the CPUs idle
	// while they wait for RTNL. The gateways' event indexes are handed
	// out first, in the plan's order, as one after the other would.
	var igws []vpc.LinkPlan
	if !o.SkipIGW {
		for _, l := range p.Links {
			if l.Kind == vpc.LinkIGW {
				d.gatewayIndex(l.ID)
				igws = append(igws, l)
			}
		}
	}
	for _, gp := range p.NATGateways {
		d.gatewayIndex(gp.ID)
	}
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	part := func(load func() error) {
		wg.Go(func() {
			if err := load(); err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		})
	}
	if len(igws) > 0 {
		pub := publicByVPC(t)
		for _, l := range igws {
			part(func() error { return d.newIGW(t, l, pub[l.VPC]) })
		}
	}
	for i := range p.NATGateways {
		part(func() error { return d.newNGW(t, p.NATGateways[i]) })
	}
	if !o.SkipNACL {
		var cidr netip.Prefix
		if len(t.VPCs) > 0 {
			cidr = t.VPCs[0].CIDR
		}
		part(func() error {
			n, err := LoadNACL(NACLOptions{VPCCIDR: cidr, Topology: t, MTU: p.MTU, Flows: d.Flows})
			if err != nil {
				return fmt.Errorf("network ACLs: %w", err)
			}
			d.mu.Lock()
			d.NACL = n
			d.mu.Unlock()
			if err := d.setNACLs(t); err != nil {
				return err
			}
			if err := n.Load(d.mode, TC); err != nil {
				return fmt.Errorf("network ACLs: %w", err)
			}
			return d.setRoutingData(t, p)
		})
	}
	if !o.SkipSG || d.Flows != nil {
		part(func() error {
			sg, err := loadSGFlows(t, p, 0, d.Flows)
			if err != nil {
				return fmt.Errorf("security groups: %w", err)
			}
			d.mu.Lock()
			d.SG = sg
			d.mu.Unlock()
			return nil
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return d, err
	}
	if d.Flows != nil {
		if err := d.Flows.SetENIs(t, p, d.SG.ENIIndex); err != nil {
			return d, fmt.Errorf("flow logs: %w", err)
		}
	}
	return d, nil
}

// publicByVPC is, per VPC, the public IPv4s its internet gateway maps
// (rules' view: Elastic IPs on ENIs and NAT gateways, auto-assigned ones).
func publicByVPC(t *vpc.Topology) map[string]map[netip.Addr]netip.Addr {
	out := map[string]map[netip.Addr]netip.Addr{}
	for _, m := range rules.CompileRouting(t).Public {
		if out[m.VPC] == nil {
			out[m.VPC] = map[netip.Addr]netip.Addr{}
		}
		out[m.VPC][m.Public] = m.Private
	}
	return out
}

func (d *Datapath) gatewayIndex(id string) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.index[id]; ok {
		return i
	}
	i := d.nextIdx
	d.nextIdx++
	d.index[id] = i
	return i
}

func (d *Datapath) newIGW(t *vpc.Topology, l vpc.LinkPlan, nat map[netip.Addr]netip.Addr) error {
	var blocks []netip.Prefix
	if v := t.VPC(l.VPC); v != nil {
		blocks = v.IPv4CIDRs()
	} else if len(t.VPCs) > 0 {
		blocks = t.VPCs[0].IPv4CIDRs()
	}
	g, err := newIGW(IGWConfig{Index: d.gatewayIndex(l.ID), Blocks: blocks, NAT: nat})
	if err != nil {
		return fmt.Errorf("internet gateway %s: %w", l.ID, err)
	}
	d.mu.Lock()
	d.IGWs[l.ID] = g
	if d.IGW == nil && len(d.plan.Links) > 0 && d.plan.IGW.RouterIf != "" && l.A.NS == d.plan.RouterNS {
		d.IGW = g
	}
	d.mu.Unlock()
	return nil
}

func (d *Datapath) newNGW(t *vpc.Topology, gp vpc.NATPlan) error {
	g := t.NATGateway(gp.ID)
	if g == nil {
		return fmt.Errorf("nat gateway %s is not in the topology", gp.ID)
	}
	n, err := LoadNGW(NGWConfigOf(t, g, d.gatewayIndex(g.ID)))
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.NGWs[g.ID] = n
	d.mu.Unlock()
	return nil
}

// setRoutingData writes what the router program needs besides ports: the
// egress-only gateways' timeouts of each instance (EIP-14) and each gateway
// endpoint's prefix list (VPCE-5).
func (d *Datapath) setRoutingData(t *vpc.Topology, p *vpc.Plan) error {
	for i := range t.Instances {
		in := &t.Instances[i]
		ct := in.Conntrack
		if ct.TCPEstablished == 0 {
			ct.TCPEstablished = vpc.DefaultConntrack.TCPEstablished
		}
		if ct.UDP == 0 {
			ct.UDP = vpc.DefaultConntrack.UDP
		}
		for _, e := range in.ENIs() {
			if e.IPv6.IsValid() {
				if err := d.NACL.SetEIGWTimeouts(e.IPv6, ct.TCPEstablished, ct.UDP); err != nil {
					return err
				}
			}
		}
	}
	for _, s := range p.Services {
		l := p.Links[s.Link]
		if err := d.NACL.SetEndpointRanges(l.A.Ifindex, s.CIDRs); err != nil {
			return err
		}
	}
	return nil
}

// PortFlagsOf says what the router program must know of port pp of plan
// p for topology t (PortFlags).
func PortFlagsOf(t *vpc.Topology, p *vpc.Plan, pp vpc.PortPlan) PortFlags {
	var f PortFlags
	for _, l := range p.Links {
		if l.VPC == pp.VPC && l.Kind == vpc.LinkIGW {
			f.HasIGW = true
		}
		if l.VPC == pp.VPC && l.Kind == vpc.LinkEIGW {
			f.HasEIGW = true
		}
	}
	if pp.Kind != vpc.PortSubnet {
		return f
	}
	for _, g := range p.NATGateways {
		if g.ENI.SubnetID == pp.Subnet {
			f.Forwarders = true
		}
	}
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			if e.Subnet == pp.Subnet && e.SourceDestCheckDisabled {
				f.Forwarders = true
			}
		}
	}
	return f
}

// Attach attaches every program to the namespaces of the plan, which must
// exist by now: the internet gateways' NAT, the router program at every
// routing port (the legacy NACL ports for a plan without routing), the NAT
// gateways, then the SGs on every ENI, with their traffic mirror sessions.
func (d *Datapath) Attach() error {
	p := d.plan
	for _, l := range p.Links {
		if l.Kind != vpc.LinkIGW {
			continue
		}
		if err := d.attachIGW(l); err != nil {
			return err
		}
	}
	if d.NACL != nil {
		if p.Routing != nil {
			for _, pp := range p.Routing.Ports {
				if err := d.AttachPort(pp); err != nil {
					return err
				}
			}
			for _, l := range p.Links {
				if l.Kind == vpc.LinkEIGW {
					if err := d.NACL.AttachEIGW(l.A.NS, l.A.If); err != nil {
						return err
					}
				}
			}
		} else {
			for _, sp := range p.Subnets {
				if err := d.NACL.Attach(sp.RouterNS, sp.UplinkRouterIf, sp.SubnetID, d.mode); err != nil {
					return fmt.Errorf("subnet %s: %w", sp.SubnetID, err)
				}
			}
			if d.IGW != nil {
				if err := d.NACL.Attach(p.RouterNS, p.IGW.RouterIf, "", TC); err != nil {
					return fmt.Errorf("internet gateway: %w", err)
				}
			}
		}
	}
	for _, g := range p.NATGateways {
		if err := d.attachNGW(g); err != nil {
			return err
		}
	}
	if d.SG != nil {
		for _, e := range p.ENIs {
			if err := d.SG.AttachENI(e.ID, e.PeerNS, e.PeerIf); err != nil {
				return fmt.Errorf("security groups: %w", err)
			}
		}
		for _, g := range p.NATGateways {
			if err := d.SG.AttachENI(g.ENI.ID, g.ENI.PeerNS, g.ENI.PeerIf); err != nil {
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

func (d *Datapath) attachIGW(l vpc.LinkPlan) error {
	g := d.IGWs[l.ID]
	if g == nil {
		return nil
	}
	if err := g.attach(l.A.NS, l.A.If); err != nil {
		return fmt.Errorf("internet gateway %s: %w", l.ID, err)
	}
	return nil
}

func (d *Datapath) attachNGW(gp vpc.NATPlan) error {
	n := d.NGWs[gp.ID]
	if n == nil {
		return nil
	}
	return n.Attach(gp.NS, gp.ENI.IfName)
}

// AttachPort runs the router program at routing port pp (a step: a new
// subnet's uplink, a gateway link's ends). With KernelRouting the port
// keeps its NACL judgement and leaves routing to the kernel.
func (d *Datapath) AttachPort(pp vpc.PortPlan) error {
	if d.NACL == nil {
		return nil
	}
	if d.opts.KernelRouting {
		pp.Table = 0
	}
	if err := d.NACL.AttachPort(pp, PortFlagsOf(d.topo, d.plan, pp), d.mode); err != nil {
		return fmt.Errorf("router port %s/%s: %w", pp.NS, pp.If, err)
	}
	return nil
}

// SetRouting makes every routing port of p route by its table with its
// flags (a subnet associated with another table, a table added), for the
// topology t: a step on a live topology. The tables' contents are the
// kernel's (netns.SetTable).
func (d *Datapath) SetRouting(t *vpc.Topology, p *vpc.Plan) error {
	d.mu.Lock()
	d.topo, d.plan = t, p
	d.mu.Unlock()
	if d.NACL == nil || p.Routing == nil {
		return nil
	}
	for _, pp := range p.Routing.Ports {
		if d.opts.KernelRouting {
			pp.Table = 0
		}
		if err := d.NACL.SetPort(pp, PortFlagsOf(t, p, pp)); err != nil {
			return err
		}
	}
	return d.setRoutingData(t, p)
}

// SetNAT gives every internet gateway the public addresses t maps (an
// Elastic IP associated or released, a NAT gateway added or deleted).
func (d *Datapath) SetNAT(t *vpc.Topology) error {
	pub := publicByVPC(t)
	for _, l := range d.plan.Links {
		if g := d.IGWs[l.ID]; g != nil && l.Kind == vpc.LinkIGW {
			if err := g.SetNAT(pub[l.VPC]); err != nil {
				return fmt.Errorf("internet gateway %s: %w", l.ID, err)
			}
		}
	}
	return nil
}

// AddIGW loads the NAT of internet gateway link l of t and attaches it
// (a step: the link exists; its ports are AttachPort's).
func (d *Datapath) AddIGW(t *vpc.Topology, l vpc.LinkPlan) error {
	if d.opts.SkipIGW {
		return nil
	}
	if err := d.newIGW(t, l, publicByVPC(t)[l.VPC]); err != nil {
		return err
	}
	if err := d.attachIGW(l); err != nil {
		return errors.Join(err, d.RemoveIGW(l.ID))
	}
	return nil
}

// RemoveIGW detaches and frees internet gateway id's NAT (a step, before
// its link goes).
func (d *Datapath) RemoveIGW(id string) error {
	d.mu.Lock()
	g := d.IGWs[id]
	delete(d.IGWs, id)
	if d.IGW == g {
		d.IGW = nil
	}
	d.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.Close()
}

// AddNATGateway loads and attaches NAT gateway gp of t (a step: its
// namespace and ENI exist); its ENI joins the SG datapath with Apply(t).
func (d *Datapath) AddNATGateway(t *vpc.Topology, gp vpc.NATPlan) error {
	if err := d.newNGW(t, gp); err != nil {
		return err
	}
	if err := d.attachNGW(gp); err != nil {
		return err
	}
	if d.SG != nil {
		if err := d.SG.AttachENI(gp.ENI.ID, gp.ENI.PeerNS, gp.ENI.PeerIf); err != nil {
			return fmt.Errorf("security groups: %w", err)
		}
	}
	return nil
}

// RemoveNATGateway detaches and frees NAT gateway id (a step, before its
// namespace goes).
func (d *Datapath) RemoveNATGateway(id string, eni vpc.ENIPlan) error {
	d.mu.Lock()
	n := d.NGWs[id]
	delete(d.NGWs, id)
	d.mu.Unlock()
	var errs []error
	if n != nil {
		errs = append(errs, n.Close())
	}
	if d.SG != nil {
		errs = append(errs, d.SG.DetachENI(eni.PeerNS, eni.PeerIf))
	}
	return errors.Join(errs...)
}

// NATGatewayIDs lists the NAT gateways loaded, sorted.
func (d *Datapath) NATGatewayIDs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for id := range d.NGWs {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (d *Datapath) setNACLs(t *vpc.Topology) error {
	for i := range t.NetworkACLs {
		if err := d.NACL.SetNACL(&t.NetworkACLs[i]); err != nil {
			return fmt.Errorf("network ACL %s: %w", t.NetworkACLs[i].ID, err)
		}
	}
	return nil
}

// Apply swaps in the rules of t (NACL tables and associations, then
// security groups), which must differ from the running topology in rules
// and routing only: routing is SetRouting's and SetNAT's.
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
	d.mu.Lock()
	d.topo = t
	d.mu.Unlock()
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
	for _, g := range d.IGWs {
		errs = append(errs, g.Close())
	}
	for _, g := range d.NGWs {
		errs = append(errs, g.Close())
	}
	// Last: the programs above hold the flow maps until they are detached.
	if d.Flows != nil {
		errs = append(errs, d.Flows.Close())
	}
	return errors.Join(errs...)
}
