package vpc

import (
	"fmt"
	"net/netip"
	"strings"
)

// validate runs the checks that span objects (references, containment,
// overlaps, duplicates, quotas) and fills in what AWS creates without being
// asked: default groups, NACLs and main tables, local routes, the `public:
// true` sugar, endpoint routes. Objects that did not decode are skipped.
func (d *decoder) validate(t *Topology) {
	d.addrs = map[netip.Addr]string{}
	d.validateVPCs(t)
	d.mainTables(t)
	d.registerIDs(t)
	pls := d.prefixLists(t)
	d.validateSubnets(t)
	d.validatePeerings(t)
	d.validateSGs(t, pls)
	d.validateNACLs(t)
	d.validateInstances(t)
	d.validateHosts(t)
	d.validateGateways(t)
	d.validateNATs(t)
	d.validateEIPs(t)
	d.addDefaults(t)
	d.validateRoutes(t, pls)
	d.validateEndpoints(t, pls)
	d.finishRoutes(t, pls)
	d.validateFlowLogs(t)
	d.validateMirror(t)
}

// dupID reports a second object with an id already used at first.
func (d *decoder) dupID(field, kind, id string) {
	d.errf(field, "", "duplicate %s id %q; valid: an id used once", kind, id)
}

// dupAt reports a value already used by the field at first.
func (d *decoder) dupAt(field, code, what, first string) {
	line := 0
	if n := d.at(first); n != nil {
		line = n.Line
	}
	d.errf(field, code, "%s is already used by %s (line %d); valid: a unique value", what, first, line)
}

// useAddr claims an address for the object at field: every private,
// public and host address of a topology is unique.
func (d *decoder) useAddr(a netip.Addr, field, code string) {
	if !a.IsValid() {
		return
	}
	if first, dup := d.addrs[a]; dup {
		d.dupAt(field, code, a.String(), first)
		return
	}
	d.addrs[a] = field
}

// choices lists valid ids for a message, shortened when there are many.
func choices(set map[string]bool) string {
	ids := sortedKeys(set)
	if len(ids) > 12 {
		return strings.Join(ids[:12], ", ") + fmt.Sprintf(" … (%d in all)", len(ids))
	}
	if len(ids) == 0 {
		return "none are defined"
	}
	return strings.Join(ids, ", ")
}

func contains(outer, inner netip.Prefix) bool {
	return outer.IsValid() && inner.IsValid() && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// usableRange is the first and last address AWS lets instances use in p
// (SG-46: the network address, the next three and the last are reserved).
func usableRange(p netip.Prefix) (netip.Addr, netip.Addr) {
	first := p.Masked().Addr().Next().Next().Next().Next()
	return first, lastAddr(p).Prev()
}

func reserved(p netip.Prefix, a netip.Addr) bool {
	lo, hi := usableRange(p)
	return a.Less(lo) || hi.Less(a)
}

// goodSubnet returns the subnet with id if it decoded cleanly, else nil.
func (d *decoder) goodSubnet(t *Topology, id string) *Subnet {
	for i := range t.Subnets {
		if s := &t.Subnets[i]; s.ID == id && id != "" && !d.isBad(index("subnets", i)) {
			return s
		}
	}
	return nil
}

func (d *decoder) validateVPCs(t *Topology) {
	ids := map[string]bool{}
	defaults := map[string]string{}
	for i := range t.VPCs {
		v := &t.VPCs[i]
		p := d.vpcPaths[i]
		if d.isBad(p) || v.ID == "" {
			continue
		}
		if ids[v.ID] {
			d.dupID(join(p, "id"), "VPC", v.ID)
			continue
		}
		ids[v.ID] = true
		for _, x := range []struct{ key, id string }{{"default_security_group", v.DefaultSG}, {"default_network_acl", v.DefaultNACL}, {"main_route_table", v.MainTable}} {
			if first, dup := defaults[x.id]; dup {
				d.errf(join(p, x.key), "", "%q is already %s; valid: an id of its own for each default object", x.id, first)
				continue
			}
			defaults[x.id] = fmt.Sprintf("the %s of %s", strings.ReplaceAll(x.key, "_", " "), v.ID)
		}
	}
}

// family is 4 or 6: the address family a rule counts against (SG-41, NACL-22).
func family(p netip.Prefix) int {
	if p.IsValid() && p.Addr().Is6() {
		return 6
	}
	return 4
}

func (d *decoder) prefixLists(t *Topology) map[string]*PrefixList {
	pls := map[string]*PrefixList{}
	names := map[string]string{}
	for i := range t.PrefixLists {
		p := index("prefix_lists", i)
		pl := &t.PrefixLists[i]
		if d.isBad(p) || pl.ID == "" {
			continue
		}
		if _, dup := pls[pl.ID]; dup {
			d.dupID(join(p, "id"), "prefix list", pl.ID)
			continue
		}
		if pl.Name != "" {
			if first, dup := names[pl.Name]; dup {
				d.dupAt(join(p, "name"), "", fmt.Sprintf("prefix list name %q", pl.Name), first)
			}
			names[pl.Name] = join(p, "name")
		}
		pls[pl.ID] = pl
	}
	return pls
}

func (d *decoder) validateSubnets(t *Topology) {
	ids := map[string]int{}
	for i, s := range t.Subnets {
		p := index("subnets", i)
		if d.isBad(p) {
			continue
		}
		if s.ID != "" {
			if _, dup := ids[s.ID]; dup {
				d.dupID(join(p, "id"), "subnet", s.ID)
			} else {
				ids[s.ID] = i
			}
		}
		v := t.VPC(s.VPC)
		if v == nil {
			continue
		}
		inside := false
		for _, c := range v.IPv4CIDRs() {
			inside = inside || contains(c, s.CIDR)
		}
		switch {
		case !s.CIDR.IsValid() || !v.CIDR.IsValid():
		case !inside && len(v.SecondaryCIDRs) == 0:
			d.errf(join(p, "cidr"), "InvalidSubnet.Range", "%s is not inside the VPC CIDR %s; valid: a block inside %s", s.CIDR, v.CIDR, v.CIDR)
		case !inside:
			d.errf(join(p, "cidr"), "InvalidSubnet.Range", "%s is not inside a block of %s; valid: a block inside one of %s", s.CIDR, v.ID, prefixes(v.IPv4CIDRs()))
		default:
			// Subnets of different VPCs may not overlap either: vpcemu finds
			// subnets and instances by address, and one NACL trie spans all
			// VPCs [INTERP].
			for j := range i {
				o := t.Subnets[j]
				if !d.isBad(index("subnets", j)) && o.CIDR.IsValid() && s.CIDR.Overlaps(o.CIDR) {
					if o.VPC != s.VPC {
						d.errf(join(p, "cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]) of %s; valid: a block that overlaps no other subnet, in any VPC of the topology (vpcemu finds subnets by address)", s.CIDR, o.ID, o.CIDR, j, o.VPC)
					} else {
						d.errf(join(p, "cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]); valid: a block that overlaps no other subnet", s.CIDR, o.ID, o.CIDR, j)
					}
					break
				}
			}
		}
		if s.IPv6CIDR.IsValid() {
			switch {
			case !v.IPv6CIDR.IsValid():
				d.errf(join(p, "ipv6_cidr"), "InvalidSubnet.Range", "the VPC has no IPv6 block; valid: set the VPC's ipv6_cidr first, or remove this field")
			case !contains(v.IPv6CIDR, s.IPv6CIDR):
				d.errf(join(p, "ipv6_cidr"), "InvalidSubnet.Range", "%s is not inside the VPC IPv6 CIDR %s; valid: a block inside %s", s.IPv6CIDR, v.IPv6CIDR, v.IPv6CIDR)
			default:
				for j := range i {
					o := t.Subnets[j]
					if !d.isBad(index("subnets", j)) && o.IPv6CIDR.IsValid() && s.IPv6CIDR.Overlaps(o.IPv6CIDR) {
						d.errf(join(p, "ipv6_cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]); valid: a block that overlaps no other subnet", s.IPv6CIDR, o.ID, o.IPv6CIDR, j)
						break
					}
				}
			}
		}
		if s.NetworkACL != "" {
			d.checkRef(join(p, "network_acl"), s.NetworkACL, kindNACL, "InvalidNetworkAclID.NotFound", s.VPC,
				fmt.Sprintf("network ACL %s and subnet %s belong to different networks", s.NetworkACL, s.ID))
		}
		if s.RouteTable != "" {
			d.checkRef(join(p, "route_table"), s.RouteTable, kindRouteTable, "InvalidRouteTableID.NotFound", s.VPC,
				fmt.Sprintf("route table %s and subnet %s belong to different networks", s.RouteTable, s.ID))
		}
	}
}

// checkRef checks that id names an object of kind in vpc (when vpc is not
// ""); code is AWS's not-found error, mismatch the message when the object
// is in another VPC. It reports whether the reference is good.
func (d *decoder) checkRef(field, id, kind, code, vpc, mismatch string) bool {
	r, ok := d.ids[id]
	if !ok || r.kind != kind {
		d.errf(field, code, "unknown %s %q; valid: %s", kind, id, choices(d.idsOf(kind, vpc)))
		return false
	}
	if vpc != "" && r.vpc != vpc {
		d.errf(field, "InvalidParameterValue", "%s; valid: a %s of %s (%s)", mismatch, kind, vpc, choices(d.idsOf(kind, vpc)))
		return false
	}
	return true
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

func (d *decoder) validateSGs(t *Topology, pls map[string]*PrefixList) {
	ids := map[string]bool{}
	names := map[string]string{}
	ruleIDs := map[string]string{}
	for i, sg := range t.SecurityGroups {
		p := index("security_groups", i)
		if d.isBad(p) {
			continue
		}
		dupID := ids[sg.ID]
		if sg.ID != "" {
			if dupID {
				d.dupID(join(p, "id"), "security group", sg.ID)
			}
			ids[sg.ID] = true
		}
		if sg.Name != "" && sg.ID != "" && !dupID {
			key := sg.VPC + "/" + sg.Name
			if first, dup := names[key]; dup {
				field := join(p, "name")
				if _, given := d.pos[field]; !given {
					field = join(p, "id")
				}
				d.errf(field, "InvalidGroup.Duplicate", "security group name %q is already used by %s; valid: a name unique in the VPC", sg.Name, first)
			} else {
				names[key] = sg.ID
			}
		}
		for _, dir := range []struct {
			name  string
			rules []SGRule
		}{{"ingress", sg.Ingress}, {"egress", sg.Egress}} {
			seen := map[string]int{}
			weight := map[int]int{}
			over := map[int]bool{}
			for j, r := range dir.rules {
				rp := index(join(p, dir.name), j)
				if d.isBad(rp) {
					continue
				}
				if r.ID != "" && !dupID {
					field := join(rp, "id")
					if first, dup := ruleIDs[r.ID]; dup {
						d.dupAt(field, "", fmt.Sprintf("rule id %q", r.ID), first)
					} else {
						ruleIDs[r.ID] = field
					}
				}
				if r.SourceGroup != "" {
					g, ok := d.ids[r.SourceGroup]
					if !ok || g.kind != kindSG {
						d.errf(join(rp, "source_group"), "InvalidGroup.NotFound", "unknown security group %q; valid: %s", r.SourceGroup, choices(d.idsOf(kindSG, "")))
						continue
					}
					// PCX-8: a group of another VPC only across an active peering.
					if g.vpc != sg.VPC && sg.VPC != "" && !d.peered[vpcPair(g.vpc, sg.VPC)] {
						d.errf(join(rp, "source_group"), "InvalidGroup.NotFound", "You have specified two resources that belong to different networks: %s is in %s, %s in %s; valid: a group of %s, or of a VPC it peers with by an active peering connection (PCX-8)",
							r.SourceGroup, g.vpc, sg.ID, sg.VPC, sg.VPC)
						continue
					}
				}
				fam, w := family(r.CIDR), 1
				if r.PrefixList != "" {
					pl, ok := pls[r.PrefixList]
					if !ok {
						set := map[string]bool{}
						for id := range pls {
							set[id] = true
						}
						d.errf(join(rp, "prefix_list"), "InvalidPrefixListID.NotFound", "unknown prefix list %q; valid: %s", r.PrefixList, choices(set))
						continue
					}
					// A customer-managed list weighs its max entries (SG-43).
					w = pl.Weight()
					if len(pl.CIDRs) > 0 {
						fam = family(pl.CIDRs[0])
					}
				}
				key := ruleKey(r)
				if first, dup := seen[key]; dup {
					d.errf(rp, "InvalidPermission.Duplicate", "the same rule as %s[%d] (protocol, ports and peer); valid: each rule once", dir.name, first)
					continue
				}
				seen[key] = j
				// SG references count as IPv4 rules: AWS does not say which
				// family they weigh on, and one count keeps them bounded.
				weight[fam] += w
				if weight[fam] > t.Limits.RulesPerSecurityGroup && !over[fam] {
					over[fam] = true
					d.errf(rp, "RulesPerSecurityGroupLimitExceeded", "security group %q has more than %d IPv%d %s rules (a prefix list counts its max_entries); valid: at most %d per direction and address family, or raise limits.rules_per_security_group",
						sg.ID, t.Limits.RulesPerSecurityGroup, fam, dir.name, t.Limits.RulesPerSecurityGroup)
				}
			}
		}
	}
}

// ruleKey identifies an SG rule for duplicate detection; descriptions don't count.
func ruleKey(r SGRule) string {
	return fmt.Sprintf("%d|%d-%d|%d/%d|%s|%s|%s", r.Protocol, r.Ports.From, r.Ports.To, r.ICMPType, r.ICMPCode, r.CIDR, r.SourceGroup, r.PrefixList)
}

func (d *decoder) validateNACLs(t *Topology) {
	ids := map[string]bool{}
	for i, a := range t.NetworkACLs {
		p := index("network_acls", i)
		if d.isBad(p) {
			continue
		}
		if a.ID != "" {
			if ids[a.ID] {
				d.dupID(join(p, "id"), "network ACL", a.ID)
			}
			ids[a.ID] = true
		}
		for _, dir := range []struct {
			name  string
			rules []NACLRule
		}{{"ingress", a.Ingress}, {"egress", a.Egress}} {
			numbers := map[int]int{}
			count := map[int]int{}
			for j, r := range dir.rules {
				rp := index(join(p, dir.name), j)
				if d.isBad(rp) {
					continue
				}
				if first, dup := numbers[r.Number]; dup {
					d.errf(join(rp, "rule"), "NetworkAclEntryAlreadyExists", "rule number %d is already used by %s[%d]; valid: a number unique per direction", r.Number, dir.name, first)
					continue
				}
				numbers[r.Number] = j
				// OQ-4: AWS says the quota of 20 includes the default deny; we
				// count custom rules only (as other emulators do), so 20 fit.
				fam := family(r.CIDR)
				count[fam]++
				if count[fam] == t.Limits.NACLRulesPerDirection+1 {
					d.errf(rp, "NetworkAclEntryLimitExceeded", "network ACL %q has more than %d IPv%d %s rules; valid: at most %d per direction and address family, or raise limits.nacl_rules_per_direction",
						a.ID, t.Limits.NACLRulesPerDirection, fam, dir.name, t.Limits.NACLRulesPerDirection)
				}
			}
		}
	}
}

func (d *decoder) validateInstances(t *Topology) {
	d.names = map[string]string{} // instance ids and host names share `vpcemu exec`
	for i := range t.Instances {
		in := &t.Instances[i]
		p := index("instances", i)
		if d.isBad(p) {
			continue
		}
		if in.ID != "" {
			if first, dup := d.names[in.ID]; dup {
				d.dupAt(join(p, "id"), "", fmt.Sprintf("id %q", in.ID), first)
			} else {
				d.names[in.ID] = join(p, "id")
			}
		}
		var first *Subnet
		for _, e := range in.ENIs() {
			ep := d.eniPath[eniKey(p, e.DeviceIndex)]
			s := d.goodSubnet(t, e.Subnet)
			if e.Subnet != "" && s == nil {
				d.errf(join(ep, "subnet"), "InvalidSubnetID.NotFound", "unknown subnet %q; valid: %s", e.Subnet, choices(d.idsOf(kindSubnet, "")))
			}
			if s != nil {
				switch {
				case first == nil:
					first = s
				case s.AZ != first.AZ:
					d.errf(join(ep, "subnet"), "InvalidParameterCombination", "subnet %s is in %s but the instance's first ENI is in %s (%s); valid: a subnet of %s (an instance's ENIs share its AZ, ENI-2)", s.ID, s.AZ, first.ID, first.AZ, first.AZ)
				case s.VPC != first.VPC:
					d.errf(join(ep, "subnet"), "InvalidParameterCombination", "subnet %s is in %s but the instance's first ENI is in %s; valid: a subnet of %s (vpcemu keeps an instance's ENIs in one VPC, ENI-2)", s.ID, s.VPC, first.VPC, first.VPC)
				}
				d.checkHostAddr(join(ep, "private_ip"), e.PrivateIP, s.ID, s.CIDR)
				for k, a := range e.SecondaryIPs {
					d.checkHostAddr(index(join(ep, "secondary_private_ips"), k), a, s.ID, s.CIDR)
				}
				if e.IPv6.IsValid() {
					if !s.IPv6CIDR.IsValid() {
						d.errf(join(ep, "ipv6"), "InvalidParameterValue", "subnet %s has no IPv6 block; valid: give the subnet an ipv6_cidr, or remove this field", s.ID)
					} else {
						d.checkHostAddr(join(ep, "ipv6"), e.IPv6, s.ID, s.IPv6CIDR)
					}
				}
			}
			d.useAddr(e.PrivateIP, join(ep, "private_ip"), "InvalidIPAddress.InUse")
			for k, a := range e.SecondaryIPs {
				d.useAddr(a, index(join(ep, "secondary_private_ips"), k), "InvalidIPAddress.InUse")
			}
			d.useAddr(e.IPv6, join(ep, "ipv6"), "InvalidIPAddress.InUse")
			if e.PublicIP.IsValid() {
				if v, c := d.vpcBlockOf(t, e.PublicIP); v != "" {
					d.errf(join(ep, "public_ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 203.0.113.0/24", e.PublicIP, c)
				} else {
					d.useAddr(e.PublicIP, join(ep, "public_ip"), "")
				}
			}
			seen := map[string]bool{}
			for j, id := range e.SecurityGroups {
				field := index(join(ep, "security_groups"), j)
				r, ok := d.ids[id]
				switch {
				case !ok || r.kind != kindSG:
					d.errf(field, "InvalidGroup.NotFound", "unknown security group %q; valid: %s", id, choices(d.idsOf(kindSG, "")))
				case seen[id]:
					d.errf(field, "", "security group %q is listed twice; valid: each group once", id)
				case s != nil && r.vpc != s.VPC:
					d.errf(field, "InvalidParameter", "Security group %s and subnet %s belong to different networks; valid: a group of %s (%s)", id, s.ID, s.VPC, choices(d.idsOf(kindSG, s.VPC)))
				}
				seen[id] = true
			}
			if n := len(e.SecurityGroups); n > t.Limits.SecurityGroupsPerENI {
				d.errf(join(ep, "security_groups"), "SecurityGroupsPerInterfaceLimitExceeded", "%d security groups; valid: at most %d per ENI, or raise limits.security_groups_per_eni", n, t.Limits.SecurityGroupsPerENI)
			}
		}
	}
}

// vpcBlockOf returns the VPC and block that hold a, if any.
func (d *decoder) vpcBlockOf(t *Topology, a netip.Addr) (string, netip.Prefix) {
	for _, v := range t.VPCs {
		for _, c := range v.CIDRs() {
			if c.IsValid() && c.Contains(a) {
				return v.ID, c
			}
		}
	}
	return "", netip.Prefix{}
}

func (d *decoder) validateHosts(t *Topology) {
	for i, h := range t.Internet {
		p := index("internet", i)
		if d.isBad(p) {
			continue
		}
		if h.Name != "" {
			if first, dup := d.names[h.Name]; dup {
				d.dupAt(join(p, "name"), "", fmt.Sprintf("name %q", h.Name), first)
			} else {
				d.names[h.Name] = join(p, "name")
			}
		}
		if _, c := d.vpcBlockOf(t, h.IP); h.IP.IsValid() && c.IsValid() {
			d.errf(join(p, "ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 198.51.100.0/24", h.IP, c)
		} else {
			d.useAddr(h.IP, join(p, "ip"), "")
		}
		if _, c := d.vpcBlockOf(t, h.IPv6); h.IPv6.IsValid() && c.IsValid() {
			d.errf(join(p, "ipv6"), "", "%s is inside the VPC IPv6 CIDR %s; valid: an address outside the VPC", h.IPv6, c)
		} else {
			d.useAddr(h.IPv6, join(p, "ipv6"), "")
		}
	}
}

// checkHostAddr checks that an ENI address is inside its subnet and not reserved.
func (d *decoder) checkHostAddr(field string, a netip.Addr, subnet string, p netip.Prefix) {
	if !a.IsValid() || !p.IsValid() {
		return
	}
	lo, hi := usableRange(p)
	switch {
	case !p.Contains(a):
		d.errf(field, "InvalidParameterValue", "%s is not inside subnet %s %s; valid: an address from %s to %s", a, subnet, p, lo, hi)
	case reserved(p, a):
		d.errf(field, "InvalidParameterValue", "%s is reserved by AWS in subnet %s %s (the first four addresses and the last); valid: an address from %s to %s", a, subnet, p, lo, hi)
	}
}

func (d *decoder) validateFlowLogs(t *Topology) {
	resources := map[string]bool{}
	for _, v := range t.VPCs {
		resources[v.ID] = true
	}
	for _, s := range t.Subnets {
		resources[s.ID] = true
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		resources[in.ID] = true
		for _, e := range in.ENIs() {
			resources[e.ID] = true
		}
	}
	for _, g := range t.NATGateways {
		resources[g.ENI] = true
	}
	delete(resources, "")
	ids := map[string]bool{}
	for i, fl := range t.FlowLogs {
		p := index("flow_logs", i)
		if d.isBad(p) {
			continue
		}
		if fl.ID != "" {
			if ids[fl.ID] {
				d.dupID(join(p, "id"), "flow log", fl.ID)
			}
			ids[fl.ID] = true
		}
		if fl.Resource != "" && !resources[fl.Resource] {
			d.errf(join(p, "resource"), "", "unknown resource %q; valid: a VPC id, a subnet id, an instance id or an ENI id (%s)", fl.Resource, choices(resources))
		}
	}
}
