package intent

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// Internet is the endpoint name for every address on the internet.
const Internet = "internet"

type atomKind int

const (
	atomInstance atomKind = iota // one address of an instance's ENI
	atomHost                     // one address of a declared internet host
	atomRange                    // addresses outside every VPC (internet, a CIDR)
)

// atom is one sender or receiver an endpoint stands for: an address of an
// instance or host, or a range of internet addresses.
type atom struct {
	kind atomKind
	name string // instance id, host name, "internet" or the CIDR as written
	inst *vpc.Instance
	r    addrRange // the own address (instance: private or IPv6), or the range
	os   string
}

// sports is the range a sender picks its source port from.
func (a *atom) sports() intRange {
	if a.kind == atomRange {
		return intRange{1024, 65535} // [INTERP] any client OS
	}
	lo, hi := vpc.EphemeralPorts(a.os)
	return intRange{lo, hi}
}

// target is the address src uses to reach a: an instance's private
// address from inside the VPC, its public one from outside (the private one
// when it has none: the walk then shows no route).
func (a *atom) target(src *atom) addrRange {
	if a.kind != atomInstance || a.r.v6 || src.kind == atomInstance {
		return a.r
	}
	if a.inst.PublicIP.IsValid() {
		return singleAddr(a.inst.PublicIP)
	}
	return a.r
}

// internetExcluded are the blocks the "internet" endpoint leaves out:
// this network, loopback, link-local (Amazon's services), multicast and
// reserved, the private and shared blocks an internet gateway does not
// carry (EIP-4), and for IPv6 everything but global unicast.
var internetV4Excluded = append([]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/3"),
}, privatePrefixes...)

var internetV6 = netip.MustParsePrefix("2000::/3")

// resolver turns endpoint names into atoms for one topology.
type resolver struct {
	t     *vpc.Topology
	cache map[string]resolved
}

type resolved struct {
	atoms []atom
	err   error
}

// resolve returns the atoms e stands for, or an error saying what would be
// valid. Callers must not modify the atoms.
func (rs *resolver) resolve(e string) ([]atom, error) {
	if r, ok := rs.cache[e]; ok {
		return r.atoms, r.err
	}
	as, err := rs.resolveOnce(e)
	if rs.cache == nil {
		rs.cache = map[string]resolved{}
	}
	rs.cache[e] = resolved{as, err}
	return as, err
}

func (rs *resolver) resolveOnce(e string) ([]atom, error) {
	t := rs.t
	switch {
	case e == Internet:
		rngs := subtract([]addrRange{prefixRange(netip.MustParsePrefix("0.0.0.0/0"))}, internetV4Excluded...)
		rngs = append(rngs, prefixRange(internetV6))
		return rs.outside(Internet, rngs), nil
	case strings.Contains(e, "/"):
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid CIDR: %v", e, err)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("%q has host bits set; valid: %s", e, p.Masked())
		}
		return rs.cidr(e, p)
	}
	if a, err := netip.ParseAddr(e); err == nil {
		a = a.Unmap()
		if in := t.InstanceByIP(a); in != nil {
			out := rs.instance(in)
			if a == in.PublicIP {
				return out[:1], nil
			}
			for _, x := range out {
				if x.r.contains(a) {
					return []atom{x}, nil
				}
			}
		}
		if h := t.HostByIP(a); h != nil {
			return []atom{{kind: atomHost, name: h.Name, r: singleAddr(a), os: h.OS}}, nil
		}
		return rs.cidr(e, netip.PrefixFrom(a, a.BitLen()))
	}
	if in := t.Instance(e); in != nil {
		return rs.instance(in), nil
	}
	if in := t.InstanceByENI(e); in != nil {
		return rs.instance(in), nil
	}
	if sg := t.SecurityGroup(e); sg != nil {
		var out []atom
		for i := range t.Instances {
			if hasSG(&t.Instances[i], sg.ID) {
				out = append(out, rs.instance(&t.Instances[i])...)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("security group %s has no members: the endpoint stands for no instance", e)
		}
		return out, nil
	}
	if sn := t.Subnet(e); sn != nil {
		var out []atom
		for i := range t.Instances {
			if t.Instances[i].Subnet == sn.ID {
				out = append(out, rs.instance(&t.Instances[i])...)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("subnet %s has no instances: the endpoint stands for no instance", e)
		}
		return out, nil
	}
	if v := t.VPC(e); v != nil {
		var out []atom
		for i := range t.Instances {
			if sn := t.Subnet(t.Instances[i].Subnet); sn != nil && (sn.VPC == v.ID || sn.VPC == "") {
				out = append(out, rs.instance(&t.Instances[i])...)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("VPC %s has no instances", e)
		}
		return out, nil
	}
	if h := t.Host(e); h != nil {
		out := []atom{{kind: atomHost, name: h.Name, r: singleAddr(h.IP), os: h.OS}}
		if h.IPv6.IsValid() {
			out = append(out, atom{kind: atomHost, name: h.Name, r: singleAddr(h.IPv6), os: h.OS})
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown endpoint %q; valid: %s", e, rs.valid())
}

func hasSG(in *vpc.Instance, id string) bool {
	sgs := in.SecurityGroups
	if len(sgs) == 0 {
		sgs = []string{vpc.DefaultSGID}
	}
	for _, s := range sgs {
		if s == id {
			return true
		}
	}
	return false
}

// valid lists the names an endpoint may take in this topology.
func (rs *resolver) valid() string {
	t := rs.t
	var names []string
	add := func(kind string, ids []string) {
		if len(ids) == 0 {
			return
		}
		sort.Strings(ids)
		if len(ids) > 8 {
			ids = append(ids[:8:8], "...")
		}
		names = append(names, kind+" "+strings.Join(ids, ", "))
	}
	var ins, sgs, sns, hosts []string
	for i := range t.Instances {
		ins = append(ins, t.Instances[i].ID)
	}
	for i := range t.SecurityGroups {
		sgs = append(sgs, t.SecurityGroups[i].ID)
	}
	for i := range t.Subnets {
		sns = append(sns, t.Subnets[i].ID)
	}
	for i := range t.Internet {
		hosts = append(hosts, t.Internet[i].Name)
	}
	add("instances", ins)
	add("security groups", sgs)
	add("subnets", sns)
	add("internet hosts", hosts)
	return strings.Join(names, "; ") + "; a CIDR or address; or \"internet\""
}

// instance is an instance's own addresses (IPv4 and IPv6 of its primary ENI).
func (rs *resolver) instance(in *vpc.Instance) []atom {
	var out []atom
	for _, a := range []netip.Addr{in.PrivateIP, in.IPv6} {
		if a.IsValid() {
			out = append(out, atom{kind: atomInstance, name: in.ID, inst: in, r: singleAddr(a.Unmap()), os: in.OS})
		}
	}
	return out
}

// cidr: the instances inside p, and p's addresses outside every VPC.
func (rs *resolver) cidr(name string, p netip.Prefix) ([]atom, error) {
	t := rs.t
	var out []atom
	for i := range t.Instances {
		for _, a := range rs.instance(&t.Instances[i]) {
			if p.Contains(a.r.first()) {
				out = append(out, a)
			}
		}
	}
	out = append(out, rs.outside(name, []addrRange{prefixRange(p)})...)
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no instance and no address outside the VPC: no flow can start or end there", name)
	}
	return out, nil
}

// outside is the part of rngs outside every VPC that is not an
// instance's public address or an Amazon service: internet hosts, declared
// or not.
func (rs *resolver) outside(name string, rngs []addrRange) []atom {
	t := rs.t
	var cut []netip.Prefix
	for i := range t.VPCs {
		for _, p := range t.VPCs[i].CIDRs() {
			if p.IsValid() {
				cut = append(cut, p)
			}
		}
	}
	for i := range t.Instances {
		if a := t.Instances[i].PublicIP; a.IsValid() {
			cut = append(cut, netip.PrefixFrom(a, 32))
		}
	}
	for i := range t.ElasticIPs {
		if a := t.ElasticIPs[i].PublicIP; a.IsValid() {
			cut = append(cut, netip.PrefixFrom(a, 32))
		}
	}
	cut = append(cut, reservedPrefixes...)
	var out []atom
	for _, r := range subtract(rngs, cut...) {
		out = append(out, atom{kind: atomRange, name: name, r: r, os: "linux"})
	}
	return out
}

// subtract removes the prefixes from the ranges.
func subtract(rngs []addrRange, ps ...netip.Prefix) []addrRange {
	for _, p := range ps {
		pr := prefixRange(p)
		var next []addrRange
		for _, r := range rngs {
			if r.v6 != pr.v6 || r.hi.less(pr.lo) || pr.hi.less(r.lo) {
				next = append(next, r)
				continue
			}
			if r.lo.less(pr.lo) {
				next = append(next, addrRange{v6: r.v6, lo: r.lo, hi: pr.lo.dec()})
			}
			if pr.hi.less(r.hi) {
				next = append(next, addrRange{v6: r.v6, lo: pr.hi.inc(), hi: r.hi})
			}
		}
		rngs = next
	}
	return rngs
}
