package rules

import (
	"github.com/vpcemu/vpcemu/vpc"
)

// eniSGs is the ENI's SG list; a completed topology names its VPC's
// default group where the ENI named none (SG-31).
func eniSGs(e *eniRef) []string {
	if e.ENI == nil {
		return nil
	}
	return e.ENI.SecurityGroups
}

// conntrackConfig is an instance's conntrack configuration with AWS's
// defaults for unset timeouts (SG-34): the evaluator's and the datapath
// compiler's, so both track alike.
func conntrackConfig(c vpc.Conntrack) vpc.Conntrack {
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
