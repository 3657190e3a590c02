package lab

import (
	"errors"
	"fmt"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// datapath is every BPF object of one topology.
type datapath struct {
	igw *loader.IGW
}

// loadDatapath loads and attaches the IGW NAT, the NACL and the SG programs.
// On failure it closes whatever it attached.
func loadDatapath(t *vpc.Topology, p *vpc.Plan, opts Options) (d *datapath, err error) {
	d = &datapath{}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	if d.igw, err = loader.LoadIGW(p.RouterNS, p.IGW.RouterIf, t.VPC.CIDR, natTable(t)); err != nil {
		return d, fmt.Errorf("internet gateway: %w", err)
	}
	return d, nil
}

// apply swaps in the rules of t (which must differ from the running
// topology in rules only, see vpc.RulesOnlyDiff).
func (d *datapath) apply(t *vpc.Topology) error {
	return nil
}

// Close detaches and frees every program and map.
func (d *datapath) Close() error {
	var errs []error
	if d.igw != nil {
		errs = append(errs, d.igw.Close())
	}
	return errors.Join(errs...)
}

// fillStatus adds live counters (NACL rule hits, conntrack usage) to st.
func (d *datapath) fillStatus(st *Status) {}
