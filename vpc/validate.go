package vpc

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// validate runs the checks that span objects (references, containment,
// overlaps, duplicates, quotas) and fills in what AWS creates without being
// asked: default groups, NACLs and main tables, local routes, the `public:
// true` sugar, endpoint routes. Objects that failed are skipped.
func (c *checker) validate() {
	c.addrs = fresh(&c.s.addrs)
	c.validateVPCs()
	c.mainTables()
	c.registerIDs()
	c.prefixLists()
	c.validateSubnets()
	c.validatePeerings()
	c.validateSGs()
	c.validateNACLs()
	c.validateInstances()
	c.validateHosts()
	c.validateGateways()
	c.validateNATs()
	c.validateEIPs()
	c.addDefaults()
	c.validateRoutes()
	c.validateEndpoints()
	c.finishRoutes()
	c.validateFlowLogs()
	c.validateMirror()
}

// dupID reports a second object with an id already used.
func (c *checker) dupID(f fpath, kind, id string) {
	c.errf(f, "", "duplicate %s id %q; valid: an id used once", kind, id)
}

// dupAt reports a value already used by the field at first.
func (c *checker) dupAt(f fpath, code, what string, first fpath) {
	c.errf(f, code, "%s is already used by %s%s; valid: a unique value", what, first, c.lineOf(first))
}

// useAddr claims an address for the object at field: every private,
// public and host address of a topology is unique.
func (c *checker) useAddr(a netip.Addr, f fpath, code string) {
	if !a.IsValid() {
		return
	}
	if first, dup := c.addrs[a]; dup {
		c.dupAt(f, code, a.String(), first)
		return
	}
	c.addrs[a] = f
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

// goodSubnet returns the subnet with id if it is good, else nil.
func (c *checker) goodSubnet(id string) *Subnet {
	t := c.t
	for i := range t.Subnets {
		if s := &t.Subnets[i]; s.ID == id && id != "" && !c.isBad(rootIndex("subnets", i)) {
			return s
		}
	}
	return nil
}

func (c *checker) validateVPCs() {
	t := c.t
	ids := fresh(&c.s.set)
	defaults := fresh(&c.s.owners)
	for i := range t.VPCs {
		v := &t.VPCs[i]
		p := c.vpcPath(i)
		if c.isBad(p) || v.ID == "" {
			continue
		}
		if ids[v.ID] {
			c.dupID(p.key("id"), "VPC", v.ID)
			continue
		}
		ids[v.ID] = true
		for _, x := range []struct{ key, id, what string }{
			{"default_security_group", v.DefaultSG, "default security group"},
			{"default_network_acl", v.DefaultNACL, "default network acl"},
			{"main_route_table", v.MainTable, "main route table"},
		} {
			if first, dup := defaults[x.id]; dup {
				c.errf(p.key(x.key), "", "%q is already the %s of %s; valid: an id of its own for each default object", x.id, first.what, first.vpc)
				continue
			}
			defaults[x.id] = owner{x.what, v.ID}
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

func (c *checker) prefixLists() {
	t := c.t
	c.pls = fresh(&c.s.pls)
	names := fresh(&c.s.fields)
	for i := range t.PrefixLists {
		p := rootIndex("prefix_lists", i)
		pl := &t.PrefixLists[i]
		if c.isBad(p) || pl.ID == "" {
			continue
		}
		if _, dup := c.pls[pl.ID]; dup {
			c.dupID(p.key("id"), "prefix list", pl.ID)
			continue
		}
		if pl.Name != "" {
			if first, dup := names[pl.Name]; dup {
				c.dupAt(p.key("name"), "", fmt.Sprintf("prefix list name %q", pl.Name), first)
			}
			names[pl.Name] = p.key("name")
		}
		c.pls[pl.ID] = pl
	}
}

// plIDs is the set of the prefix lists' ids, for messages.
func (c *checker) plIDs() map[string]bool {
	set := map[string]bool{}
	for id := range c.pls {
		set[id] = true
	}
	return set
}

func (c *checker) validateSubnets() {
	t := c.t
	ids := fresh(&c.s.index)
	for i := range t.Subnets {
		s := &t.Subnets[i]
		p := rootIndex("subnets", i)
		if c.isBad(p) {
			continue
		}
		if s.ID != "" {
			if _, dup := ids[s.ID]; dup {
				c.dupID(p.key("id"), "subnet", s.ID)
			} else {
				ids[s.ID] = i
			}
		}
		v := t.VPC(s.VPC)
		if v == nil {
			continue
		}
		inside := contains(v.CIDR, s.CIDR)
		for _, b := range v.SecondaryCIDRs {
			inside = inside || contains(b, s.CIDR)
		}
		switch {
		case !s.CIDR.IsValid() || !v.CIDR.IsValid():
		case !inside && len(v.SecondaryCIDRs) == 0:
			c.errf(p.key("cidr"), "InvalidSubnet.Range", "%s is not inside the VPC CIDR %s; valid: a block inside %s", s.CIDR, v.CIDR, v.CIDR)
		case !inside:
			c.errf(p.key("cidr"), "InvalidSubnet.Range", "%s is not inside a block of %s; valid: a block inside one of %s", s.CIDR, v.ID, prefixes(v.IPv4CIDRs()))
		default:
			// Subnets of different VPCs may not overlap either: vpcemu finds
			// subnets and instances by address, and one NACL trie spans all
			// VPCs [INTERP].
			for j := range i {
				o := &t.Subnets[j]
				if o.CIDR.IsValid() && s.CIDR.Overlaps(o.CIDR) && !c.isBad(rootIndex("subnets", j)) {
					if o.VPC != s.VPC {
						c.errf(p.key("cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]) of %s; valid: a block that overlaps no other subnet, in any VPC of the topology (vpcemu finds subnets by address)", s.CIDR, o.ID, o.CIDR, j, o.VPC)
					} else {
						c.errf(p.key("cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]); valid: a block that overlaps no other subnet", s.CIDR, o.ID, o.CIDR, j)
					}
					break
				}
			}
		}
		if s.IPv6CIDR.IsValid() {
			switch {
			case !v.IPv6CIDR.IsValid():
				c.errf(p.key("ipv6_cidr"), "InvalidSubnet.Range", "the VPC has no IPv6 block; valid: set the VPC's ipv6_cidr first, or remove this field")
			case !contains(v.IPv6CIDR, s.IPv6CIDR):
				c.errf(p.key("ipv6_cidr"), "InvalidSubnet.Range", "%s is not inside the VPC IPv6 CIDR %s; valid: a block inside %s", s.IPv6CIDR, v.IPv6CIDR, v.IPv6CIDR)
			default:
				for j := range i {
					o := &t.Subnets[j]
					if o.IPv6CIDR.IsValid() && s.IPv6CIDR.Overlaps(o.IPv6CIDR) && !c.isBad(rootIndex("subnets", j)) {
						c.errf(p.key("ipv6_cidr"), "InvalidSubnet.Conflict", "%s overlaps %s %s (subnets[%d]); valid: a block that overlaps no other subnet", s.IPv6CIDR, o.ID, o.IPv6CIDR, j)
						break
					}
				}
			}
		}
		if s.NetworkACL != "" {
			c.checkRef(p.key("network_acl"), s.NetworkACL, kindNACL, "InvalidNetworkAclID.NotFound", s.VPC,
				func() string {
					return fmt.Sprintf("network ACL %s and subnet %s belong to different networks", s.NetworkACL, s.ID)
				})
		}
		if s.RouteTable != "" {
			c.checkRef(p.key("route_table"), s.RouteTable, kindRouteTable, "InvalidRouteTableID.NotFound", s.VPC,
				func() string {
					return fmt.Sprintf("route table %s and subnet %s belong to different networks", s.RouteTable, s.ID)
				})
		}
	}
}

// checkRef checks that id names an object of kind in vpc (when vpc is not
// ""); code is AWS's not-found error, mismatch the message when the object
// is in another VPC. It reports whether the reference is good.
func (c *checker) checkRef(f fpath, id, kind, code, vpc string, mismatch func() string) bool {
	r, ok := c.lookup(id)
	if !ok || r.kind != kind {
		c.errf(f, code, "unknown %s %q; valid: %s", kind, id, choices(c.idsOf(kind, vpc)))
		return false
	}
	if vpc != "" && r.vpc != vpc {
		c.errf(f, "InvalidParameterValue", "%s; valid: a %s of %s (%s)", mismatch(), kind, vpc, choices(c.idsOf(kind, vpc)))
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

// owner is what object of which VPC an id is, for messages.
type owner struct{ what, vpc string }

// vpcName is a security group's name in its VPC.
type vpcName struct{ vpc, name string }

// sgRuleKey identifies an SG rule for duplicate detection; descriptions don't count.
type sgRuleKey struct {
	proto, from, to, typ, code int
	cidr                       netip.Prefix
	group, pl                  string
}

func ruleKeyOf(r *SGRule) sgRuleKey {
	return sgRuleKey{r.Protocol, r.Ports.From, r.Ports.To, r.ICMPType, r.ICMPCode, r.CIDR, r.SourceGroup, r.PrefixList}
}

// ruleRef is where an SG rule is: group index, direction, rule index.
type ruleRef struct {
	group  int32
	egress bool
	rule   int32
}

func (r ruleRef) path() fpath {
	dir := "ingress"
	if r.egress {
		dir = "egress"
	}
	return rootIndex("security_groups", int(r.group)).index(dir, int(r.rule))
}

func (c *checker) validateSGs() {
	t := c.t
	ids := fresh(&c.s.set)
	names := fresh(&c.s.sgNames)
	ruleIDs := fresh(&c.s.ruleIDs)
	seen := fresh(&c.s.rules)
	for i := range t.SecurityGroups {
		sg := &t.SecurityGroups[i]
		p := rootIndex("security_groups", i)
		if c.isBad(p) {
			continue
		}
		dupID := ids[sg.ID]
		if sg.ID != "" {
			if dupID {
				c.dupID(p.key("id"), "security group", sg.ID)
			}
			ids[sg.ID] = true
		}
		if sg.Name != "" && sg.ID != "" && !dupID {
			key := vpcName{sg.VPC, sg.Name}
			if first, dup := names[key]; dup {
				f := p.key("name")
				if !c.present(&p, "name", sg.Name != sg.ID) {
					f = p.key("id")
				}
				c.errf(f, "InvalidGroup.Duplicate", "security group name %q is already used by %s; valid: a name unique in the VPC", sg.Name, first)
			} else {
				names[key] = sg.ID
			}
		}
		for _, dir := range []struct {
			name   string
			egress bool
			rules  []SGRule
		}{{"ingress", false, sg.Ingress}, {"egress", true, sg.Egress}} {
			clear(seen)
			var weight [7]int // by address family
			var over [7]bool
			for j := range dir.rules {
				r := &dir.rules[j]
				at := ruleRef{int32(i), dir.egress, int32(j)}
				if c.anyBad() && c.isBad(at.path()) {
					continue
				}
				if r.ID != "" && !dupID {
					if first, dup := ruleIDs[r.ID]; dup {
						c.dupAt(at.path().key("id"), "", fmt.Sprintf("rule id %q", r.ID), first.path().key("id"))
					} else {
						ruleIDs[r.ID] = at
					}
				}
				if r.SourceGroup != "" {
					g, ok := c.lookup(r.SourceGroup)
					if !ok || g.kind != kindSG {
						c.errf(at.path().key("source_group"), "InvalidGroup.NotFound", "unknown security group %q; valid: %s", r.SourceGroup, choices(c.idsOf(kindSG, "")))
						continue
					}
					// PCX-8: a group of another VPC only across an active peering.
					if g.vpc != sg.VPC && sg.VPC != "" && !c.peered[vpcPair(g.vpc, sg.VPC)] {
						c.errf(at.path().key("source_group"), "InvalidGroup.NotFound", "You have specified two resources that belong to different networks: %s is in %s, %s in %s; valid: a group of %s, or of a VPC it peers with by an active peering connection (PCX-8)",
							r.SourceGroup, g.vpc, sg.ID, sg.VPC, sg.VPC)
						continue
					}
				}
				fam, w := family(r.CIDR), 1
				if r.PrefixList != "" {
					pl, ok := c.pls[r.PrefixList]
					if !ok {
						c.errf(at.path().key("prefix_list"), "InvalidPrefixListID.NotFound", "unknown prefix list %q; valid: %s", r.PrefixList, choices(c.plIDs()))
						continue
					}
					// A customer-managed list weighs its max entries (SG-43).
					w = pl.Weight()
					if len(pl.CIDRs) > 0 {
						fam = family(pl.CIDRs[0])
					}
				}
				first := -1
				if key := ruleKeyOf(r); len(dir.rules) <= 16 {
					// A few rules: comparing is cheaper than hashing.
					for k := range j {
						if prev := &dir.rules[k]; ruleKeyOf(prev) == key && !(c.anyBad() && c.isBad(ruleRef{int32(i), dir.egress, int32(k)}.path())) {
							first = k
							break
						}
					}
				} else if k, dup := seen[key]; dup {
					first = k
				} else {
					seen[key] = j
				}
				if first >= 0 {
					c.errf(at.path(), "InvalidPermission.Duplicate", "the same rule as %s[%d] (protocol, ports and peer); valid: each rule once", dir.name, first)
					continue
				}
				// SG references count as IPv4 rules: AWS does not say which
				// family they weigh on, and one count keeps them bounded.
				weight[fam] += w
				if weight[fam] > t.Limits.RulesPerSecurityGroup && !over[fam] {
					over[fam] = true
					c.errf(at.path(), "RulesPerSecurityGroupLimitExceeded", "security group %q has more than %d IPv%d %s rules (a prefix list counts its max_entries); valid: at most %d per direction and address family, or raise limits.rules_per_security_group",
						sg.ID, t.Limits.RulesPerSecurityGroup, fam, dir.name, t.Limits.RulesPerSecurityGroup)
				}
			}
		}
	}
}

func (c *checker) validateNACLs() {
	t := c.t
	ids := fresh(&c.s.set)
	numbers := fresh(&c.s.numbers)
	for i := range t.NetworkACLs {
		a := &t.NetworkACLs[i]
		p := rootIndex("network_acls", i)
		if c.isBad(p) {
			continue
		}
		if a.ID != "" {
			if ids[a.ID] {
				c.dupID(p.key("id"), "network ACL", a.ID)
			}
			ids[a.ID] = true
		}
		for _, dir := range []struct {
			name  string
			rules []NACLRule
		}{{"ingress", a.Ingress}, {"egress", a.Egress}} {
			clear(numbers)
			var count [7]int
			for j, r := range dir.rules {
				rp := p.index(dir.name, j)
				if c.isBad(rp) {
					continue
				}
				if first, dup := numbers[r.Number]; dup {
					c.errf(rp.key("rule"), "NetworkAclEntryAlreadyExists", "rule number %d is already used by %s[%d]; valid: a number unique per direction", r.Number, dir.name, first)
					continue
				}
				numbers[r.Number] = j
				// OQ-4: AWS says the quota of 20 includes the default deny; we
				// count custom rules only (as other emulators do), so 20 fit.
				fam := family(r.CIDR)
				count[fam]++
				if count[fam] == t.Limits.NACLRulesPerDirection+1 {
					c.errf(rp, "NetworkAclEntryLimitExceeded", "network ACL %q has more than %d IPv%d %s rules; valid: at most %d per direction and address family, or raise limits.nacl_rules_per_direction",
						a.ID, t.Limits.NACLRulesPerDirection, fam, dir.name, t.Limits.NACLRulesPerDirection)
				}
			}
		}
	}
}

func (c *checker) validateInstances() {
	t := c.t
	c.names = fresh(&c.s.names) // instance ids and host names share `vpcemu exec`
	for i := range t.Instances {
		in := &t.Instances[i]
		p := rootIndex("instances", i)
		if c.isBad(p) {
			continue
		}
		if in.ID != "" {
			if first, dup := c.names[in.ID]; dup {
				c.dupAt(p.key("id"), "", fmt.Sprintf("id %q", in.ID), first)
			} else {
				c.names[in.ID] = p.key("id")
			}
		}
		var first *Subnet
		for k := 0; k <= len(in.Secondary); k++ {
			e := &in.ENI
			if k > 0 {
				e = &in.Secondary[k-1]
			}
			ep, _ := c.eniPath(i, in, k)
			s := c.goodSubnet(e.Subnet)
			if e.Subnet != "" && s == nil {
				c.errf(ep.key("subnet"), "InvalidSubnetID.NotFound", "unknown subnet %q; valid: %s", e.Subnet, choices(c.idsOf(kindSubnet, "")))
			}
			if s != nil {
				switch {
				case first == nil:
					first = s
				case s.AZ != first.AZ:
					c.errf(ep.key("subnet"), "InvalidParameterCombination", "subnet %s is in %s but the instance's first ENI is in %s (%s); valid: a subnet of %s (an instance's ENIs share its AZ, ENI-2)", s.ID, s.AZ, first.ID, first.AZ, first.AZ)
				case s.VPC != first.VPC:
					c.errf(ep.key("subnet"), "InvalidParameterCombination", "subnet %s is in %s but the instance's first ENI is in %s; valid: a subnet of %s (vpcemu keeps an instance's ENIs in one VPC, ENI-2)", s.ID, s.VPC, first.VPC, first.VPC)
				}
				c.checkHostAddr(ep.key("private_ip"), e.PrivateIP, s.ID, s.CIDR)
				for m, a := range e.SecondaryIPs {
					c.checkHostAddr(ep.index("secondary_private_ips", m), a, s.ID, s.CIDR)
				}
				if e.IPv6.IsValid() {
					if !s.IPv6CIDR.IsValid() {
						c.errf(ep.key("ipv6"), "InvalidParameterValue", "subnet %s has no IPv6 block; valid: give the subnet an ipv6_cidr, or remove this field", s.ID)
					} else {
						c.checkHostAddr(ep.key("ipv6"), e.IPv6, s.ID, s.IPv6CIDR)
					}
				}
			}
			c.useAddr(e.PrivateIP, ep.key("private_ip"), "InvalidIPAddress.InUse")
			for m, a := range e.SecondaryIPs {
				c.useAddr(a, ep.index("secondary_private_ips", m), "InvalidIPAddress.InUse")
			}
			c.useAddr(e.IPv6, ep.key("ipv6"), "InvalidIPAddress.InUse")
			if e.PublicIP.IsValid() {
				if v, b := c.vpcBlockOf(e.PublicIP); v != "" {
					c.errf(ep.key("public_ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 203.0.113.0/24", e.PublicIP, b)
				} else {
					c.useAddr(e.PublicIP, ep.key("public_ip"), "")
				}
			}
			for j, id := range e.SecurityGroups {
				f := ep.index("security_groups", j)
				r, ok := c.lookup(id)
				switch {
				case !ok || r.kind != kindSG:
					c.errf(f, "InvalidGroup.NotFound", "unknown security group %q; valid: %s", id, choices(c.idsOf(kindSG, "")))
				case slices.Contains(e.SecurityGroups[:j], id):
					c.errf(f, "", "security group %q is listed twice; valid: each group once", id)
				case s != nil && r.vpc != s.VPC:
					c.errf(f, "InvalidParameter", "Security group %s and subnet %s belong to different networks; valid: a group of %s (%s)", id, s.ID, s.VPC, choices(c.idsOf(kindSG, s.VPC)))
				}
			}
			if n := len(e.SecurityGroups); n > t.Limits.SecurityGroupsPerENI {
				c.errf(ep.key("security_groups"), "SecurityGroupsPerInterfaceLimitExceeded", "%d security groups; valid: at most %d per ENI, or raise limits.security_groups_per_eni", n, t.Limits.SecurityGroupsPerENI)
			}
		}
	}
}

// vpcBlockOf returns the VPC and block that hold a, if any.
func (c *checker) vpcBlockOf(a netip.Addr) (string, netip.Prefix) {
	for i := range c.t.VPCs {
		v := &c.t.VPCs[i]
		if v.CIDR.IsValid() && v.CIDR.Contains(a) {
			return v.ID, v.CIDR
		}
		for _, b := range v.SecondaryCIDRs {
			if b.IsValid() && b.Contains(a) {
				return v.ID, b
			}
		}
		if v.IPv6CIDR.IsValid() && v.IPv6CIDR.Contains(a) {
			return v.ID, v.IPv6CIDR
		}
	}
	return "", netip.Prefix{}
}

func (c *checker) validateHosts() {
	t := c.t
	for i := range t.Internet {
		h := &t.Internet[i]
		p := rootIndex("internet", i)
		if c.isBad(p) {
			continue
		}
		if h.Name != "" {
			if first, dup := c.names[h.Name]; dup {
				c.dupAt(p.key("name"), "", fmt.Sprintf("name %q", h.Name), first)
			} else {
				c.names[h.Name] = p.key("name")
			}
		}
		if _, b := c.vpcBlockOf(h.IP); h.IP.IsValid() && b.IsValid() {
			c.errf(p.key("ip"), "", "%s is inside the VPC CIDR %s; valid: an address outside the VPC, e.g. from 198.51.100.0/24", h.IP, b)
		} else {
			c.useAddr(h.IP, p.key("ip"), "")
		}
		if _, b := c.vpcBlockOf(h.IPv6); h.IPv6.IsValid() && b.IsValid() {
			c.errf(p.key("ipv6"), "", "%s is inside the VPC IPv6 CIDR %s; valid: an address outside the VPC", h.IPv6, b)
		} else {
			c.useAddr(h.IPv6, p.key("ipv6"), "")
		}
	}
}

// checkHostAddr checks that an ENI address is inside its subnet and not reserved.
func (c *checker) checkHostAddr(f fpath, a netip.Addr, subnet string, p netip.Prefix) {
	if !a.IsValid() || !p.IsValid() {
		return
	}
	lo, hi := usableRange(p)
	switch {
	case !p.Contains(a):
		c.errf(f, "InvalidParameterValue", "%s is not inside subnet %s %s; valid: an address from %s to %s", a, subnet, p, lo, hi)
	case a.Less(lo) || hi.Less(a):
		c.errf(f, "InvalidParameterValue", "%s is reserved by AWS in subnet %s %s (the first four addresses and the last); valid: an address from %s to %s", a, subnet, p, lo, hi)
	}
}

func (c *checker) validateFlowLogs() {
	t := c.t
	if len(t.FlowLogs) == 0 {
		return
	}
	var resources map[string]bool // built for messages only
	isResource := func(id string) bool {
		r, ok := c.lookup(id)
		if ok && !r.field.empty() {
			switch r.kind {
			case kindVPC, kindSubnet, kindInstance, kindENI:
				return true
			}
		}
		if resources == nil {
			resources = c.flowLogResources()
		}
		return resources[id]
	}
	ids := fresh(&c.s.set)
	for i := range t.FlowLogs {
		fl := &t.FlowLogs[i]
		p := rootIndex("flow_logs", i)
		if c.isBad(p) {
			continue
		}
		if fl.ID != "" {
			if ids[fl.ID] {
				c.dupID(p.key("id"), "flow log", fl.ID)
			}
			ids[fl.ID] = true
		}
		if fl.Resource != "" && !isResource(fl.Resource) {
			c.errf(p.key("resource"), "", "unknown resource %q; valid: a VPC id, a subnet id, an instance id or an ENI id (%s)", fl.Resource, choices(resources))
		}
	}
}

// flowLogResources are the ids a flow log may capture: VPCs, subnets,
// instances and ENIs (NAT gateways' included).
func (c *checker) flowLogResources() map[string]bool {
	t := c.t
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
	return resources
}
