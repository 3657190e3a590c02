package lessons

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/vpcemu/vpcemu/vpc"
)

// clone copies t deeply, so that a step can change it without touching
// the topology that is applied.
func clone(t *vpc.Topology) *vpc.Topology { return t.Clone() }

// sortNACLs keeps every NACL's rules in number order, as the model requires.
func sortNACLs(t *vpc.Topology) {
	for i := range t.NetworkACLs {
		for _, rs := range [][]vpc.NACLRule{t.NetworkACLs[i].Ingress, t.NetworkACLs[i].Egress} {
			slices.SortStableFunc(rs, func(a, b vpc.NACLRule) int { return a.Number - b.Number })
		}
	}
}

// Helpers the lessons' changes are written with.

func nacl(t *vpc.Topology, id string) (*vpc.NetworkACL, error) {
	if a := t.NetworkACL(id); a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("no network ACL %s", id)
}

func sg(t *vpc.Topology, id string) (*vpc.SecurityGroup, error) {
	if g := t.SecurityGroup(id); g != nil {
		return g, nil
	}
	return nil, fmt.Errorf("no security group %s", id)
}

// naclRule builds a NACL rule; proto is vpc.ProtoAll or a protocol number.
func naclRule(num, proto int, ports vpc.PortRange, cidr string, allow bool) vpc.NACLRule {
	if proto != vpc.ProtoTCP && proto != vpc.ProtoUDP {
		ports = vpc.AllPorts
	}
	return vpc.NACLRule{Number: num, Protocol: proto, Ports: ports, ICMPType: -1, ICMPCode: -1,
		CIDR: netip.MustParsePrefix(cidr), Allow: allow}
}

// addNACLRule adds r to the ingress (egress false) or egress rules of acl id.
func addNACLRule(id string, egress bool, r vpc.NACLRule) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		a, err := nacl(t, id)
		if err != nil {
			return err
		}
		rs := &a.Ingress
		if egress {
			rs = &a.Egress
		}
		for _, x := range *rs {
			if x.Number == r.Number {
				return fmt.Errorf("%s already has rule %d (NetworkAclEntryAlreadyExists)", id, r.Number)
			}
		}
		*rs = append(*rs, r)
		return nil
	}
}

// deleteNACLRule removes rule num from acl id.
func deleteNACLRule(id string, egress bool, num int) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		a, err := nacl(t, id)
		if err != nil {
			return err
		}
		rs := &a.Ingress
		if egress {
			rs = &a.Egress
		}
		n := len(*rs)
		*rs = slices.DeleteFunc(*rs, func(x vpc.NACLRule) bool { return x.Number == num })
		if len(*rs) == n {
			return fmt.Errorf("%s has no rule %d", id, num)
		}
		return nil
	}
}

// tcpPorts is a TCP port range.
func tcpPorts(from, to int) vpc.PortRange { return vpc.PortRange{From: from, To: to} }

// sgRule builds an SG rule for a CIDR peer.
func sgRule(proto int, ports vpc.PortRange, cidr string) vpc.SGRule {
	if proto != vpc.ProtoTCP && proto != vpc.ProtoUDP {
		ports = vpc.AllPorts
	}
	return vpc.SGRule{Protocol: proto, Ports: ports, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix(cidr)}
}

// sameSGRule compares the parts of SG rules that AWS identifies a rule by.
func sameSGRule(a, b vpc.SGRule) bool {
	return a.Protocol == b.Protocol && a.Ports == b.Ports && a.CIDR == b.CIDR &&
		a.SourceGroup == b.SourceGroup && a.PrefixList == b.PrefixList &&
		(a.Protocol != vpc.ProtoICMP || (a.ICMPType == b.ICMPType && a.ICMPCode == b.ICMPCode))
}

// revokeSG removes rule r from group id (egress or ingress).
func revokeSG(id string, egress bool, r vpc.SGRule) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		g, err := sg(t, id)
		if err != nil {
			return err
		}
		rs := &g.Ingress
		if egress {
			rs = &g.Egress
		}
		n := len(*rs)
		*rs = slices.DeleteFunc(*rs, func(x vpc.SGRule) bool { return sameSGRule(x, r) })
		if len(*rs) == n {
			return fmt.Errorf("%s has no such rule (InvalidPermission.NotFound)", id)
		}
		return nil
	}
}

// authorizeSG adds rule r to group id.
func authorizeSG(id string, egress bool, r vpc.SGRule) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		g, err := sg(t, id)
		if err != nil {
			return err
		}
		rs := &g.Ingress
		if egress {
			rs = &g.Egress
		}
		for _, x := range *rs {
			if sameSGRule(x, r) {
				return fmt.Errorf("%s already has that rule (InvalidPermission.Duplicate)", id)
			}
		}
		*rs = append(*rs, r)
		return nil
	}
}

// setInstanceSGs replaces an instance's security groups.
func setInstanceSGs(instance string, groups ...string) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		in := t.Instance(instance)
		if in == nil {
			return fmt.Errorf("no instance %s", instance)
		}
		in.SecurityGroups = groups
		return nil
	}
}
