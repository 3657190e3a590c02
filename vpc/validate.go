package vpc

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// validate runs the checks that span objects: references, containment,
// overlaps, duplicates and quotas. Objects that did not decode are skipped.
func (d *decoder) validate(t *Topology) {
	sgIDs := map[string]bool{DefaultSGID: true}
	for _, sg := range t.SecurityGroups {
		if sg.ID != "" {
			sgIDs[sg.ID] = true
		}
	}
	naclIDs := map[string]bool{DefaultNACLID: true}
	for _, a := range t.NetworkACLs {
		if a.ID != "" {
			naclIDs[a.ID] = true
		}
	}
	pls := map[string]*PrefixList{}
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
		pls[pl.ID] = pl
	}
	d.validateSubnets(t, naclIDs)
	d.validateSGs(t, sgIDs, pls)
	d.validateNACLs(t)
	d.validateInstances(t, sgIDs)
	d.validateFlowLogs(t)
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

func (d *decoder) validateSubnets(t *Topology, naclIDs map[string]bool) {
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
		if s.CIDR.IsValid() && t.VPCs[0].CIDR.IsValid() && !contains(t.VPCs[0].CIDR, s.CIDR) {
			d.errf(join(p, "cidr"), "InvalidSubnet.Range", "%s is not inside the VPC CIDR %s; valid: a block inside %s", s.CIDR, t.VPCs[0].CIDR, t.VPCs[0].CIDR)
		} else if s.CIDR.IsValid() {
			for j := range i {
				o := t.Subnets[j]
				if !d.isBad(index("subnets", j)) && o.CIDR.IsValid() && s.CIDR.Overlaps(o.CIDR) {
					d.errf(join(p, "cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]); valid: a block that overlaps no other subnet", s.CIDR, o.ID, o.CIDR, j)
					break
				}
			}
		}
		if s.IPv6CIDR.IsValid() {
			switch {
			case !t.VPCs[0].IPv6CIDR.IsValid():
				d.errf(join(p, "ipv6_cidr"), "InvalidSubnet.Range", "the VPC has no IPv6 block; valid: set vpc.ipv6_cidr first, or remove this field")
			case !contains(t.VPCs[0].IPv6CIDR, s.IPv6CIDR):
				d.errf(join(p, "ipv6_cidr"), "InvalidSubnet.Range", "%s is not inside the VPC IPv6 CIDR %s; valid: a block inside %s", s.IPv6CIDR, t.VPCs[0].IPv6CIDR, t.VPCs[0].IPv6CIDR)
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
		if s.NetworkACL != "" && !naclIDs[s.NetworkACL] {
			d.errf(join(p, "network_acl"), "InvalidNetworkAclID.NotFound", "unknown network ACL %q; valid: %s", s.NetworkACL, choices(naclIDs))
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

func (d *decoder) validateSGs(t *Topology, sgIDs map[string]bool, pls map[string]*PrefixList) {
	ids := map[string]bool{}
	names := map[string]string{}
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
			if first, dup := names[sg.Name]; dup {
				field := join(p, "name")
				if _, given := d.pos[field]; !given {
					field = join(p, "id")
				}
				d.errf(field, "InvalidGroup.Duplicate", "security group name %q is already used by %s; valid: a name unique in the VPC", sg.Name, first)
			} else {
				names[sg.Name] = sg.ID
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
				if r.SourceGroup != "" && !sgIDs[r.SourceGroup] {
					d.errf(join(rp, "source_group"), "InvalidGroup.NotFound", "unknown security group %q; valid: %s", r.SourceGroup, choices(sgIDs))
					continue
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
					w = pl.MaxEntries
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

func (d *decoder) validateInstances(t *Topology, sgIDs map[string]bool) {
	subnets := map[string]*Subnet{}
	for i := range t.Subnets {
		if s := &t.Subnets[i]; s.ID != "" && !d.isBad(index("subnets", i)) {
			if _, dup := subnets[s.ID]; !dup {
				subnets[s.ID] = s
			}
		}
	}
	names := map[string]string{} // instance ids and host names share `vpcemu exec`
	enis := map[string]string{}
	ips := map[netip.Addr]string{}
	useIP := func(a netip.Addr, field, code string) {
		if !a.IsValid() {
			return
		}
		if first, dup := ips[a]; dup {
			d.dupAt(field, code, a.String(), first)
			return
		}
		ips[a] = field
	}
	for i, in := range t.Instances {
		p := index("instances", i)
		if d.isBad(p) {
			continue
		}
		if in.ID != "" {
			if first, dup := names[in.ID]; dup {
				d.dupAt(join(p, "id"), "", fmt.Sprintf("id %q", in.ID), first)
			} else {
				names[in.ID] = join(p, "id")
			}
		}
		if _, given := d.pos[join(p, "eni")]; given && in.ENI.ID != "" {
			// Derived ENI ids are unique when instance ids are.
			field := join(p, "eni")
			if first, dup := enis[in.ENI.ID]; dup {
				d.dupAt(field, "", fmt.Sprintf("ENI id %q", in.ENI.ID), first)
			} else {
				enis[in.ENI.ID] = field
			}
		}
		s := subnets[in.Subnet]
		if in.Subnet != "" && s == nil {
			set := map[string]bool{}
			for id := range subnets {
				set[id] = true
			}
			d.errf(join(p, "subnet"), "InvalidSubnetID.NotFound", "unknown subnet %q; valid: %s", in.Subnet, choices(set))
		}
		if s != nil {
			d.checkHostAddr(join(p, "private_ip"), in.PrivateIP, s.ID, s.CIDR)
			if in.IPv6.IsValid() {
				if !s.IPv6CIDR.IsValid() {
					d.errf(join(p, "ipv6"), "InvalidParameterValue", "subnet %s has no IPv6 block; valid: give the subnet an ipv6_cidr, or remove this field", s.ID)
				} else {
					d.checkHostAddr(join(p, "ipv6"), in.IPv6, s.ID, s.IPv6CIDR)
				}
			}
		}
		useIP(in.PrivateIP, join(p, "private_ip"), "InvalidIPAddress.InUse")
		useIP(in.IPv6, join(p, "ipv6"), "InvalidIPAddress.InUse")
		if in.PublicIP.IsValid() {
			if t.VPCs[0].CIDR.Contains(in.PublicIP) {
				d.errf(join(p, "public_ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 203.0.113.0/24", in.PublicIP, t.VPCs[0].CIDR)
			} else {
				useIP(in.PublicIP, join(p, "public_ip"), "")
			}
		}
		seen := map[string]bool{}
		for j, id := range in.SecurityGroups {
			field := index(join(p, "security_groups"), j)
			switch {
			case !sgIDs[id]:
				d.errf(field, "InvalidGroup.NotFound", "unknown security group %q; valid: %s", id, choices(sgIDs))
			case seen[id]:
				d.errf(field, "", "security group %q is listed twice; valid: each group once", id)
			}
			seen[id] = true
		}
		if n := len(in.SecurityGroups); n > t.Limits.SecurityGroupsPerENI {
			d.errf(join(p, "security_groups"), "SecurityGroupsPerInterfaceLimitExceeded", "%d security groups; valid: at most %d per ENI, or raise limits.security_groups_per_eni", n, t.Limits.SecurityGroupsPerENI)
		}
	}
	for i, h := range t.Internet {
		p := index("internet", i)
		if d.isBad(p) {
			continue
		}
		if h.Name != "" {
			if first, dup := names[h.Name]; dup {
				d.dupAt(join(p, "name"), "", fmt.Sprintf("name %q", h.Name), first)
			} else {
				names[h.Name] = join(p, "name")
			}
		}
		if h.IP.IsValid() && t.VPCs[0].CIDR.Contains(h.IP) {
			d.errf(join(p, "ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 198.51.100.0/24", h.IP, t.VPCs[0].CIDR)
		} else {
			useIP(h.IP, join(p, "ip"), "")
		}
		if h.IPv6.IsValid() && t.VPCs[0].IPv6CIDR.Contains(h.IPv6) {
			d.errf(join(p, "ipv6"), "", "%s is inside the VPC IPv6 CIDR %s; valid: an address outside the VPC", h.IPv6, t.VPCs[0].IPv6CIDR)
		} else {
			useIP(h.IPv6, join(p, "ipv6"), "")
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
	if t.VPCs[0].ID != "" {
		resources[t.VPCs[0].ID] = true
	}
	for _, s := range t.Subnets {
		resources[s.ID] = true
	}
	for _, in := range t.Instances {
		resources[in.ID] = true
		resources[in.ENI.ID] = true
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
			d.errf(join(p, "resource"), "", "unknown resource %q; valid: the VPC id, a subnet id, an instance id or an ENI id (%s)", fl.Resource, choices(resources))
		}
	}
}

// addDefaults adds the VPC's default SG and NACL (SG-30, NACL-17) when the
// file does not define them, and orders NACL rules by number.
func addDefaults(t *Topology) {
	v := &t.VPCs[0]
	v.DefaultSG, v.DefaultNACL, v.MainTable = DefaultSGID, DefaultNACLID, DefaultMainRouteTableID
	for i := range t.Subnets {
		t.Subnets[i].VPC = v.ID
	}
	for i := range t.SecurityGroups {
		t.SecurityGroups[i].VPC = v.ID
	}
	for i := range t.NetworkACLs {
		t.NetworkACLs[i].VPC = v.ID
	}
	ipv6 := v.IPv6CIDR.IsValid()
	if t.SecurityGroup(DefaultSGID) == nil {
		t.SecurityGroups = append(t.SecurityGroups, SecurityGroup{
			ID:          DefaultSGID,
			VPC:         v.ID,
			Name:        "default",
			Description: "default VPC security group",
			Ingress:     defaultSGIngress(),
			Egress:      defaultSGEgress(ipv6),
		})
	}
	if t.NetworkACL(DefaultNACLID) == nil {
		t.NetworkACLs = append(t.NetworkACLs, NetworkACL{
			ID:      DefaultNACLID,
			VPC:     v.ID,
			Default: true,
			Ingress: defaultNACLRules(ipv6),
			Egress:  defaultNACLRules(ipv6),
		})
	}
	for i := range t.NetworkACLs {
		a := &t.NetworkACLs[i]
		sort.SliceStable(a.Ingress, func(x, y int) bool { return a.Ingress[x].Number < a.Ingress[y].Number })
		sort.SliceStable(a.Egress, func(x, y int) bool { return a.Egress[x].Number < a.Egress[y].Number })
	}
	for i := range t.Subnets {
		if t.Subnets[i].NetworkACL == "" {
			t.Subnets[i].NetworkACL = DefaultNACLID
		}
	}
}
