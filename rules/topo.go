package rules

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// Lookups whose semantics differ from vpc's (an id that may be an ENI, the
// default NACL for ""); plain ones use vpc.Topology's methods.

func findInstance(t *vpc.Topology, id string) *vpc.Instance {
	for i := range t.Instances {
		if t.Instances[i].ID == id || (t.Instances[i].ENI.ID != "" && t.Instances[i].ENI.ID == id) {
			return &t.Instances[i]
		}
	}
	return nil
}

func findNACL(t *vpc.Topology, id string) *vpc.NetworkACL {
	if id == "" {
		id = vpc.DefaultNACLID
	}
	for i := range t.NetworkACLs {
		if t.NetworkACLs[i].ID == id {
			return &t.NetworkACLs[i]
		}
	}
	return nil
}

// instanceSGs is the instance's SG list with the AWS default applied (SG-31).
func instanceSGs(in *vpc.Instance) []string {
	if len(in.SecurityGroups) == 0 {
		return []string{vpc.DefaultSGID}
	}
	return in.SecurityGroups
}

// eniName is the ENI id of an instance, its instance id when none is set.
func eniName(in *vpc.Instance) string {
	if in.ENI.ID != "" {
		return in.ENI.ID
	}
	return in.ID
}

// instanceByAddr finds the instance owning a private (IPv4 or IPv6) address.
func instanceByAddr(t *vpc.Topology, a netip.Addr) *vpc.Instance {
	a = a.Unmap()
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.PrivateIP == a || (in.IPv6.IsValid() && in.IPv6 == a) {
			return in
		}
	}
	return nil
}

// instanceByPublicIP finds the instance whose public IPv4 is a.
func instanceByPublicIP(t *vpc.Topology, a netip.Addr) *vpc.Instance {
	a = a.Unmap()
	for i := range t.Instances {
		if t.Instances[i].PublicIP.IsValid() && t.Instances[i].PublicIP == a {
			return &t.Instances[i]
		}
	}
	return nil
}

// subnetNACL is the NACL guarding the instance's subnet (NACL-2).
func subnetNACL(t *vpc.Topology, sn *vpc.Subnet) *vpc.NetworkACL {
	if sn == nil {
		return nil
	}
	return findNACL(t, sn.NetworkACL)
}

// conntrackConfig is the instance's conntrack configuration with AWS's
// defaults for unset fields (SG-34).
func conntrackConfig(in *vpc.Instance) vpc.Conntrack {
	c := in.Conntrack
	if c.TCPEstablished <= 0 {
		c.TCPEstablished = vpc.DefaultConntrack.TCPEstablished
	}
	if c.UDP <= 0 {
		c.UDP = vpc.DefaultConntrack.UDP
	}
	if c.UDPStream <= 0 {
		c.UDPStream = vpc.DefaultConntrack.UDPStream
	}
	return c
}
