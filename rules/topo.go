package rules

import (
	"github.com/vpcemu/vpcemu/vpc"
)

// Lookups whose semantics differ from vpc's (an id that may be an ENI, the
// default NACL for ""); plain ones use vpc.Topology's methods.

func findInstance(t *vpc.Topology, id string) *vpc.Instance {
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.ID == id {
			return in
		}
		for _, e := range in.ENIs() {
			if e.ID != "" && e.ID == id {
				return in
			}
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

// instanceSGs is the instance's (primary ENI's) SG list with the AWS
// default applied (SG-31).
func instanceSGs(in *vpc.Instance) []string {
	if len(in.SecurityGroups) == 0 {
		return []string{vpc.DefaultSGID}
	}
	return in.SecurityGroups
}

// eniSGs is the ENI's SG list with its VPC's default applied (SG-31).
func eniSGs(v *view, e *eniRef) []string {
	if e.ENI == nil {
		return nil
	}
	if len(e.ENI.SecurityGroups) > 0 {
		return e.ENI.SecurityGroups
	}
	if e.VPC != nil && e.VPC.DefaultSG != "" {
		return []string{e.VPC.DefaultSG}
	}
	return []string{v.defaultID(e.VPC, vpc.DefaultSGID)}
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
