package vpc

import "net/netip"

// Lookups scan the slices: topologies are small (hundreds of objects) and
// an index could go stale when callers edit a Topology in place.

// Instance returns the instance with id, or nil.
func (t *Topology) Instance(id string) *Instance {
	for i := range t.Instances {
		if t.Instances[i].ID == id {
			return &t.Instances[i]
		}
	}
	return nil
}

// InstanceByENI returns the instance whose ENI is eni, or nil.
func (t *Topology) InstanceByENI(eni string) *Instance {
	for i := range t.Instances {
		if t.Instances[i].ENI.ID == eni {
			return &t.Instances[i]
		}
	}
	return nil
}

// InstanceByIP returns the instance with a as its private, public or IPv6 address, or nil.
func (t *Topology) InstanceByIP(a netip.Addr) *Instance {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.PrivateIP == a || in.PublicIP == a || in.IPv6 == a {
			return in
		}
	}
	return nil
}

// Host returns the internet host called name, or nil.
func (t *Topology) Host(name string) *InternetHost {
	for i := range t.Internet {
		if t.Internet[i].Name == name {
			return &t.Internet[i]
		}
	}
	return nil
}

// HostByIP returns the internet host with address a (IPv4 or IPv6), or nil.
func (t *Topology) HostByIP(a netip.Addr) *InternetHost {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	for i := range t.Internet {
		if h := &t.Internet[i]; h.IP == a || h.IPv6 == a {
			return h
		}
	}
	return nil
}

// Subnet returns the subnet with id, or nil.
func (t *Topology) Subnet(id string) *Subnet {
	for i := range t.Subnets {
		if t.Subnets[i].ID == id {
			return &t.Subnets[i]
		}
	}
	return nil
}

// SubnetOf returns the subnet whose IPv4 or IPv6 block holds a, or nil.
func (t *Topology) SubnetOf(a netip.Addr) *Subnet {
	if !a.IsValid() {
		return nil
	}
	a = a.Unmap()
	for i := range t.Subnets {
		s := &t.Subnets[i]
		if (s.CIDR.IsValid() && s.CIDR.Contains(a)) || (s.IPv6CIDR.IsValid() && s.IPv6CIDR.Contains(a)) {
			return s
		}
	}
	return nil
}

// SecurityGroup returns the security group with id, or nil.
func (t *Topology) SecurityGroup(id string) *SecurityGroup {
	for i := range t.SecurityGroups {
		if t.SecurityGroups[i].ID == id {
			return &t.SecurityGroups[i]
		}
	}
	return nil
}

// NetworkACL returns the network ACL with id, or nil.
func (t *Topology) NetworkACL(id string) *NetworkACL {
	for i := range t.NetworkACLs {
		if t.NetworkACLs[i].ID == id {
			return &t.NetworkACLs[i]
		}
	}
	return nil
}

// PrefixList returns the prefix list with id, or nil.
func (t *Topology) PrefixList(id string) *PrefixList {
	for i := range t.PrefixLists {
		if t.PrefixLists[i].ID == id {
			return &t.PrefixLists[i]
		}
	}
	return nil
}

// NACLOfSubnet returns the network ACL associated with the subnet (the
// default NACL when it names none), or nil for an unknown subnet.
func (t *Topology) NACLOfSubnet(subnetID string) *NetworkACL {
	s := t.Subnet(subnetID)
	if s == nil {
		return nil
	}
	if s.NetworkACL == "" {
		return t.NetworkACL(DefaultNACLID)
	}
	return t.NetworkACL(s.NetworkACL)
}

// FlowLogInstances returns the instances whose ENIs fl captures (FL-1):
// every instance for the VPC, those of a subnet, or the one instance/ENI.
func (t *Topology) FlowLogInstances(fl *FlowLog) []*Instance {
	var out []*Instance
	for i := range t.Instances {
		in := &t.Instances[i]
		if fl.Resource == t.VPCs[0].ID || fl.Resource == in.Subnet || fl.Resource == in.ID || fl.Resource == in.ENI.ID {
			out = append(out, in)
		}
	}
	return out
}

// VPC returns the VPC with id, or nil.
func (t *Topology) VPC(id string) *VPC {
	for i := range t.VPCs {
		if t.VPCs[i].ID == id {
			return &t.VPCs[i]
		}
	}
	return nil
}

// VPCOfSubnet returns the VPC that holds the subnet, or nil.
func (t *Topology) VPCOfSubnet(subnetID string) *VPC {
	if s := t.Subnet(subnetID); s != nil {
		return t.VPC(s.VPC)
	}
	return nil
}

// VPCOfAddr returns the VPC one of whose CIDRs holds a, or nil.
func (t *Topology) VPCOfAddr(a netip.Addr) *VPC {
	for i := range t.VPCs {
		if t.VPCs[i].Contains(a) {
			return &t.VPCs[i]
		}
	}
	return nil
}

// CIDRs lists the VPC's IPv4 blocks, primary first, then its IPv6 block.
func (v *VPC) CIDRs() []netip.Prefix {
	out := append([]netip.Prefix{v.CIDR}, v.SecondaryCIDRs...)
	if v.IPv6CIDR.IsValid() {
		out = append(out, v.IPv6CIDR)
	}
	return out
}

// Contains reports whether a is inside one of the VPC's CIDRs.
func (v *VPC) Contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range v.CIDRs() {
		if p.IsValid() && p.Contains(a) {
			return true
		}
	}
	return false
}

// ENIs lists the instance's network interfaces, the primary first.
func (in *Instance) ENIs() []*ENI {
	out := []*ENI{&in.ENI}
	for i := range in.Secondary {
		out = append(out, &in.Secondary[i])
	}
	return out
}
