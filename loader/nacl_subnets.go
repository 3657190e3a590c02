package loader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// SetSubnets makes t's subnets the ones the router program knows (a
// subnet created or deleted on a running topology): subnets it knew keep
// their index, new ones get an index no subnet had, and the destination
// tries are rebuilt over t's subnets. The tries' roots and shared bytes
// and the reserved-address masks are the program's configuration, set
// before load, so the programs are loaded again with the new one and
// swapped in at every port (one atomic replace per port: a packet meets
// the old program with the old tries or the new with the new); the old
// tries are freed once no program run can be using them. New subnets are
// associated with their NACLs. On failure nothing changed.
func (n *NACL) SetSubnets(t *vpc.Topology) (err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	idx := map[string]uint32{}
	used := map[uint32]bool{}
	for _, i := range n.subnets {
		used[i] = true // not given to another subnet in this change
	}
	for _, s := range t.Subnets {
		if i, ok := n.subnets[s.ID]; ok {
			idx[s.ID] = i
		}
	}
	next := uint32(1)
	var added []vpc.Subnet
	for _, s := range t.Subnets {
		if _, ok := idx[s.ID]; ok {
			continue
		}
		for used[next] {
			next++
		}
		if int(next) >= n.lim.subnets {
			return fmt.Errorf("nacl: subnet %s: the datapath holds %d subnets: %w", s.ID, n.lim.subnets-1, ErrNACLFull)
		}
		idx[s.ID], used[next] = next, true
		added = append(added, s)
	}
	if len(added) == 0 && len(idx) == len(n.subnets) {
		return nil
	}
	var cfg naclNaclConfig
	if err := n.spec.Variables[naclVarNaclCfg].Get(&cfg); err != nil {
		return fmt.Errorf("nacl: read configuration: %w", err)
	}
	oldCfg := cfg
	var prefixes []netip.Prefix
	var index []uint32
	for _, s := range t.Subnets {
		prefixes = append(prefixes, s.CIDR, s.IPv6CIDR)
		index = append(index, idx[s.ID], idx[s.ID])
	}
	cfg.SubRoot = [2]uint32{uint32(naclNaclEntryNACL_NO_TRIE), uint32(naclNaclEntryNACL_NO_TRIE)}
	cfg.SubSkip, cfg.SubPfx, cfg.SubMask = [2]uint32{}, [2][4]uint32{}, [2][4]uint32{}
	var tries []naclTrie
	freeTries := func(ts []naclTrie) {
		for _, tr := range ts {
			n.nodes.free(tr.base, len(tr.nodes))
		}
	}
	for f, v6 := range []bool{false, true} {
		tr, err := rules.CompileNACLSubnets(prefixes, index, v6)
		if err != nil {
			freeTries(tries)
			return fmt.Errorf("nacl: subnet lookup: %w", err)
		}
		if tr == nil {
			continue
		}
		base, ok := n.nodes.alloc(len(tr.Nodes))
		if !ok {
			freeTries(tries)
			return fmt.Errorf("nacl: subnet lookup: %d trie nodes: %w", len(tr.Nodes), ErrNACLFull)
		}
		tries = append(tries, naclTrie{base, tr.Nodes})
		cfg.SubRoot[f], cfg.SubSkip[f] = tr.Root+uint32(base), uint32(tr.Skip)
		var pfx, mask [16]byte
		for i := 0; i < tr.Skip; i++ {
			pfx[i], mask[i] = tr.Prefix[i], 0xff
		}
		for w := range 4 {
			cfg.SubPfx[f][w] = binary.NativeEndian.Uint32(pfx[4*w:])
			cfg.SubMask[f][w] = binary.NativeEndian.Uint32(mask[4*w:])
		}
	}
	cfg.Rsv4Mask, cfg.Rsv6Any = reservedMasks(t)
	defer func() {
		if err != nil {
			freeTries(tries)
			_ = n.spec.Variables[naclVarNaclCfg].Set(oldCfg)
		}
	}()
	for _, tr := range tries {
		if err := n.writeNodes(tr.base, tr.nodes, func(v uint64) uint64 { return v }); err != nil {
			return fmt.Errorf("nacl: subnet lookup: %w", err)
		}
	}
	reserved := rules.NACLReservedAddrs(t)
	for _, a := range reserved {
		if err := n.putReserved(a); err != nil {
			return err
		}
	}
	if err := n.spec.Variables[naclVarNaclCfg].Set(cfg); err != nil {
		return fmt.Errorf("nacl: set configuration: %w", err)
	}
	if err := n.reload(); err != nil {
		return err
	}
	old := n.subTries
	n.subTries, n.subnets = tries, idx
	live := map[uint32]bool{}
	for _, i := range idx {
		live[i] = true
	}
	for i := range n.assoc {
		if !live[i] {
			delete(n.assoc, i)
		}
	}
	for _, a := range n.reserved {
		if !slices.Contains(reserved, a) {
			n.delReserved(a)
		}
	}
	n.reserved = reserved
	// The old tries stay readable until the old programs' runs are over.
	if werr := n.rcu.wait(); werr == nil {
		freeTries(old)
	}
	for _, s := range added {
		if s.NetworkACL == "" {
			continue
		}
		if err := n.associate(s.ID, s.NetworkACL); err != nil {
			return err
		}
	}
	return nil
}

func (n *NACL) putReserved(a netip.Addr) error {
	var err error
	if a.Is4() {
		err = n.maps.NaclRsv4.Put(a.As4(), uint8(1))
	} else {
		err = n.maps.NaclRsv6.Put(a.As16(), uint8(1))
	}
	if err != nil {
		return fmt.Errorf("nacl: reserved address %s: %w", a, err)
	}
	return nil
}

func (n *NACL) delReserved(a netip.Addr) {
	if a.Is4() {
		_ = n.maps.NaclRsv4.Delete(a.As4())
	} else {
		_ = n.maps.NaclRsv6.Delete(a.As16())
	}
}

// reload loads the router programs again from n.spec (its configuration
// changed) and swaps them in at every port; on failure the ports keep
// (or get back) the programs they had. n.mu is held.
func (n *NACL) reload() error {
	var names []string
	for name := range n.progs {
		if name != naclProgEigwEgress {
			names = append(names, name)
		}
	}
	cs, err := loadPrograms(n.spec, n.set, names...)
	if err != nil {
		return fmt.Errorf("nacl: %w", err)
	}
	fresh := map[string]*ebpf.Collection{}
	for i, name := range names {
		fresh[name] = cs[i]
	}
	swap := func(p *naclPort, progs map[string]*ebpf.Collection) error {
		name := naclProgram(p.mode)
		prog := progs[name].Programs[name]
		if p.filter != nil {
			return n.tc.Replace(*p.filter, prog.FD(), name)
		}
		return p.link.Update(prog)
	}
	var done []*naclPort
	for _, p := range n.ports {
		if err := swap(p, fresh); err != nil {
			for _, q := range done {
				err = errors.Join(err, swap(q, n.progs))
			}
			for _, c := range fresh {
				c.Close()
			}
			return fmt.Errorf("nacl: swap in the router program: %w", err)
		}
		done = append(done, p)
	}
	for name, c := range fresh {
		// Detached everywhere now: runs in flight hold their program.
		n.progs[name].Close()
		n.progs[name] = c
	}
	return nil
}
