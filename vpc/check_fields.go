package vpc

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// intSpec is the range of an integer field and what a message says of it;
// the decoder uses it for text that is no number, the checker for numbers
// out of range.
type intSpec struct {
	lo, hi int
	code   string
	valid  string
}

func (s intSpec) msg(text string) string {
	return fmt.Sprintf("%q is not valid; valid: %s", text, s.valid)
}

var (
	limitSpec        = intSpec{1, 100000, "", "a whole number from 1 to 100000"}
	routesLimitSpec  = intSpec{1, 1000, "", "a whole number from 1 to 1000"} // AWS lets it be raised to 1,000 (RT-4)
	natConnsSpec     = intSpec{1, 55000, "", "a whole number from 1 to 55000 (AWS's fixed limit; lower it for tests)"}
	natIdleSpec      = intSpec{1, 350, "", "seconds from 1 to 350 (AWS's fixed timeout; lower it for tests)"}
	mtuSpec          = intSpec{1280, 9001, "", "a whole number from 1280 to 9001 (AWS: 1500 or 9001)"} // 1280 is IPv6's minimum, 9001 AWS's largest
	maxEntriesSpec   = intSpec{1, 1000, "InvalidParameterValue", "a whole number from 1 to 1000"}
	naclNumberSpec   = intSpec{1, 32766, "InvalidParameterValue", "a rule number from 1 to 32766 (32767 and up are AWS's)"}
	icmpTypeSpec     = intSpec{-1, 255, "InvalidParameterValue", "-1 (any) or an ICMP type 0-255"}
	icmpCodeSpec     = intSpec{-1, 255, "InvalidParameterValue", "-1 (any) or an ICMP code 0-255"}
	deviceIndexSpec  = intSpec{0, maxDeviceIndex, "InvalidParameterValue", fmt.Sprintf("a device index from 0 (the primary ENI) to %d", maxDeviceIndex)}
	flowIntervalSpec = intSpec{1, 600, "InvalidParameterValue", "seconds from 1 to 600 (AWS offers 60 and 600)"} // shorter than AWS's 60 so tests need not wait
	// Conntrack ranges from SG-34.
	tcpEstablishedSpec = intSpec{60, 432000, "InvalidParameterValue", "seconds from 60 to 432000"}
	udpTimeoutSpec     = intSpec{30, 60, "InvalidParameterValue", "seconds from 30 to 60"}
	udpStreamSpec      = intSpec{60, 180, "InvalidParameterValue", "seconds from 60 to 180"}
	ctEntriesSpec      = intSpec{0, 1 << 30, "", "0 (unlimited) or a positive number of tracked connections"}
)

const (
	validID     = "1-64 characters from A-Z a-z 0-9 _ - starting with a letter or digit"
	validENIID  = "eni- followed by 1-32 characters from A-Z a-z 0-9 -"
	validName   = "1-16 characters from a-z 0-9 -"
	validRegion = "a region name such as us-east-1"
)

// isName: [a-z0-9-]{1,16}, a topology name (it prefixes every namespace).
func isName(s string) bool { return len(s) >= 1 && len(s) <= 16 && allIn(s, &lowerDigitDash) }

// isRegion: [a-z0-9-]{1,32}.
func isRegion(s string) bool { return len(s) >= 1 && len(s) <= 32 && allIn(s, &lowerDigitDash) }

// isAccount: 12 digits.
func isAccount(s string) bool { return len(s) == 12 && allIn(s, &digits) }

// isID: [A-Za-z0-9][A-Za-z0-9_-]{0,63}. Ids become parts of namespace
// names and file names: no "/", no ".".
func isID(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && alnum[s[0]] && allIn(s, &idBytes)
}

// isENIID: eni-[A-Za-z0-9-]{1,32}.
func isENIID(s string) bool {
	rest, ok := strings.CutPrefix(s, "eni-")
	return ok && len(rest) >= 1 && len(rest) <= 32 && allIn(rest, &alnumDash)
}

// Byte classes of the id syntaxes.
var (
	digits, alnum, lowerDigitDash, alnumDash, idBytes [256]bool
)

func init() {
	for b := range 256 {
		c := byte(b)
		digits[b] = c >= '0' && c <= '9'
		alnum[b] = digits[b] || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		lowerDigitDash[b] = digits[b] || c >= 'a' && c <= 'z' || c == '-'
		alnumDash[b] = alnum[b] || c == '-'
		idBytes[b] = alnumDash[b] || c == '_'
	}
}

func allIn(s string, class *[256]bool) bool {
	for i := 0; i < len(s); i++ {
		if !class[s[i]] {
			return false
		}
	}
	return true
}

// badPrefix is the message for text that is not a CIDR of the family.
func badPrefix(text string, family int) string {
	ex := "10.0.0.0/16"
	if family == 6 {
		ex = "2001:db8::/56"
	}
	hint := ""
	if a, err := netip.ParseAddr(strings.TrimSpace(text)); err == nil && a.Zone() == "" {
		hint = fmt.Sprintf(" (a single address is %s/%d)", a, a.BitLen())
	}
	return fmt.Sprintf("%q is not a valid IPv%d CIDR; valid: address/length such as %s%s", text, family, ex, hint)
}

func exampleAddr(family int) string {
	if family == 6 {
		return "2001:db8:1::10"
	}
	return "10.0.1.10"
}

// badAddr is the message for text that is not an address of the family.
func badAddr(text string, family int) string {
	return fmt.Sprintf("%q is not a valid IPv%d address; valid: an address such as %s", text, family, exampleAddr(family))
}

// badSecondaryIP is the message for a secondary private IP that is not one.
func badSecondaryIP(text string) string {
	return fmt.Sprintf("%q is not a valid IPv4 address; valid: an address of the ENI's subnet such as 10.0.1.11", text)
}

// badService is the message for a service that is not one.
func badService(text string) string {
	return fmt.Sprintf("%q is not a valid service; valid: %s", text, validService)
}

// badPorts is the message for a port range that is not one.
func badPorts(text string) string {
	return fmt.Sprintf("%q is not a valid port range; valid: a number 0-65535 or \"FROM-TO\" with FROM <= TO", text)
}

// badProtocol is the message for a protocol that is not one.
func badProtocol(text string) string {
	return fmt.Sprintf("%q is not a valid protocol; valid: %s", text, validProtocol)
}

func isFamily(a netip.Addr, family int) bool {
	if a.Zone() != "" {
		return false
	}
	if family == 4 {
		return a.Is4()
	}
	return a.Is6() && !a.Is4In6()
}

func familyOf(p netip.Prefix) int {
	if p.IsValid() && p.Addr().Is6() {
		return 6
	}
	return 4
}

// intIn checks *v against spec; out of range it reports it, quoting the
// text, and sets def.
func (c *checker) intIn(p *fpath, key string, v *int, spec intSpec, def int) bool {
	if *v >= spec.lo && *v <= spec.hi {
		return true
	}
	f := sub(p, key)
	c.errf(f, spec.code, "%s", spec.msg(c.text(f, strconv.Itoa(*v))))
	*v = def
	return false
}

// secondsIn is intIn for a duration written in whole seconds.
func (c *checker) secondsIn(p *fpath, key string, d *time.Duration, spec intSpec, def time.Duration) bool {
	s := int(*d / time.Second)
	*d = time.Duration(s) * time.Second
	if !c.intIn(p, key, &s, spec, int(def/time.Second)) {
		*d = def
		return false
	}
	return true
}

// prefixIn checks a CIDR of the family and returns it, or the zero prefix
// when it is none (an error when required). With mask, host bits are
// cleared as AWS does for rule CIDRs and routes (NACL-16, RT-12); without,
// they are an error (a VPC or subnet block written with host bits is
// almost always a typo).
func (c *checker) prefixIn(at *fpath, key string, p netip.Prefix, family int, required, mask bool) netip.Prefix {
	if !p.IsValid() {
		if required {
			f := sub(at, key)
			c.errf(f, "", "%s", badPrefix(c.text(f, ""), family))
		}
		return netip.Prefix{}
	}
	if !isFamily(p.Addr(), family) {
		f := sub(at, key)
		c.errf(f, "", "%s", badPrefix(c.text(f, p.String()), family))
		return netip.Prefix{}
	}
	if m := p.Masked(); m != p {
		if !mask {
			f := sub(at, key)
			c.errf(f, "", "%q has host bits set; valid: %s", c.text(f, p.String()), m)
			return netip.Prefix{}
		}
		p = m
	}
	return p
}

// addrIn checks an address of the family a host can have and returns it,
// or the zero address when it is none (an error when required).
func (c *checker) addrIn(at *fpath, key string, a netip.Addr, family int, required bool) netip.Addr {
	if !a.IsValid() {
		if required {
			f := sub(at, key)
			c.errf(f, "", "%s", badAddr(c.text(f, ""), family))
		}
		return netip.Addr{}
	}
	if !isFamily(a, family) {
		f := sub(at, key)
		c.errf(f, "", "%s", badAddr(c.text(f, a.String()), family))
		return netip.Addr{}
	}
	if !hostUsable(a) {
		c.errf(sub(at, key), "", "%s is not an address a host can use (unspecified, loopback, link-local, multicast or broadcast); valid: a unicast address such as %s", a, exampleAddr(family))
		return netip.Addr{}
	}
	return a
}

// checkID checks an object id (when given: a file may leave optional ids out).
func (c *checker) checkID(p *fpath, key string, id string, given bool) {
	if given && !isID(id) {
		c.errf(p.key(key), "", "%q is not valid; valid: %s", id, validID)
	}
}

func (c *checker) checkENIID(p *fpath, key string, id string, given bool) {
	if given && !isENIID(id) {
		c.errf(p.key(key), "", "%q is not valid; valid: %s", id, validENIID)
	}
}

func (c *checker) checkDescription(p *fpath, key string, s string) {
	if len(s) > 255 {
		c.errf(p.key(key), "InvalidParameterValue", "description is %d characters; valid: at most 255", len(s))
	}
}

// AWS's tag limits (TagLimitExceeded, InvalidParameterValue).
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// tagValueAt is the position suffix of a tag's value (its key has the tag's path).
const tagValueAt = "#value"

// checkTags checks the tags of the object at f; empty tags are nil.
func (c *checker) checkTags(f fpath, tags *Tags) {
	if len(*tags) == 0 {
		*tags = nil
		return
	}
	tp := f.key("tags")
	for k, v := range *tags {
		switch {
		case k == "" || len(k) > maxTagKeyLen:
			c.errf(tp.key(k), "InvalidParameterValue", "tag key %q is not valid; valid: 1-%d characters", k, maxTagKeyLen)
		case len(k) >= 4 && strings.EqualFold(k[:4], "aws:"):
			c.errf(tp.key(k), "InvalidParameterValue", "tag key %q starts with aws:, which AWS reserves; valid: another key", k)
		case len(v) > maxTagValueLen:
			c.report(tp.key(k), tp.key(k).String()+tagValueAt, "InvalidParameterValue", "tag value is %d characters; valid: at most %d", len(v), maxTagValueLen)
		}
	}
	if len(*tags) > maxTags {
		c.errf(tp, "TagLimitExceeded", "%d tags; valid: at most %d per resource", len(*tags), maxTags)
	}
}

// checkTop checks the topology's own fields and limits.
func (c *checker) checkTop() {
	t := c.t
	if !isName(t.Name) {
		c.errf(root("name"), "", "%q is not valid; valid: %s", t.Name, validName)
	}
	if !isAccount(t.Account) {
		c.errf(root("account"), "", "%q is not a valid AWS account id; valid: 12 digits (quote it to keep leading zeros)", t.Account)
		t.Account = DefaultAccount
	}
	if !isRegion(t.Region) {
		c.errf(root("region"), "", "%q is not valid; valid: %s", t.Region, validRegion)
		t.Region = DefaultRegion
	}
	l, d, lp := &t.Limits, DefaultLimits, root("limits")
	c.intIn(&lp, "security_groups_per_eni", &l.SecurityGroupsPerENI, limitSpec, d.SecurityGroupsPerENI)
	c.intIn(&lp, "rules_per_security_group", &l.RulesPerSecurityGroup, limitSpec, d.RulesPerSecurityGroup)
	c.intIn(&lp, "nacl_rules_per_direction", &l.NACLRulesPerDirection, limitSpec, d.NACLRulesPerDirection)
	// The export leaves out the routing limits that are AWS's: zero in a
	// model is the default.
	optional := func(key string, v *int, spec intSpec, def int) {
		if !c.given(&lp, key, *v != 0) {
			*v = def
		} else {
			c.intIn(&lp, key, v, spec, def)
		}
	}
	optional("routes_per_table", &l.RoutesPerTable, routesLimitSpec, d.RoutesPerTable)
	natKey := "nat_connections_per_destination"
	if c.d != nil && c.d.natKey != "" {
		natKey = c.d.natKey
	}
	optional(natKey, &l.NATConnectionsPerDestination, natConnsSpec, d.NATConnectionsPerDestination)
	l.NATIdleTimeout = l.NATIdleTimeout.Truncate(time.Second)
	if !c.given(&lp, "nat_idle_timeout", l.NATIdleTimeout != 0) {
		l.NATIdleTimeout = d.NATIdleTimeout
	} else {
		c.secondsIn(&lp, "nat_idle_timeout", &l.NATIdleTimeout, natIdleSpec, d.NATIdleTimeout)
	}
	optional("elastic_ips", &l.ElasticIPs, limitSpec, d.ElasticIPs)
	optional("nat_gateways_per_az", &l.NATGatewaysPerAZ, limitSpec, d.NATGatewaysPerAZ)
}

// maxVPCCIDRs is AWS's default quota of IPv4 blocks per VPC, the primary included.
const maxVPCCIDRs = 5

// checkVPCs checks every VPC's fields and gives it its default ids and MTU.
func (c *checker) checkVPCs() {
	t := c.t
	for i := range t.VPCs {
		v := &t.VPCs[i]
		p := c.vpcPath(i)
		if c.isBad(p) {
			c.defaultIDs(i, v, p) // later checks look them up
			continue
		}
		c.checkID(&p, "id", v.ID, c.given(&p, "id", true))
		v.CIDR = c.checkVPCBlock(p.key("cidr"), c.prefixIn(&p, "cidr", v.CIDR, 4, true, false))
		n := 0 // valid secondary blocks so far, as messages count them
		for k, q := range v.SecondaryCIDRs {
			f := p.index("secondary_cidrs", k)
			q = c.checkVPCBlock(f, c.prefixIn(&f, "", q, 4, true, false))
			v.SecondaryCIDRs[k] = q
			if !q.IsValid() {
				continue
			}
			if v.CIDR.IsValid() && v.CIDR.Overlaps(q) {
				c.errf(f, "InvalidVpc.Range", "%s overlaps the primary block %s; valid: a block that overlaps no other block of the VPC", q, v.CIDR)
				v.SecondaryCIDRs[k] = netip.Prefix{}
				continue
			}
			j := 0
			for _, o := range v.SecondaryCIDRs[:k] {
				if !o.IsValid() {
					continue
				}
				if o.Overlaps(q) {
					c.errf(f, "InvalidVpc.Range", "%s overlaps secondary_cidrs[%d] %s; valid: a block that overlaps no other block of the VPC", q, j, o)
					v.SecondaryCIDRs[k] = netip.Prefix{}
					break
				}
				j++
			}
			if v.SecondaryCIDRs[k].IsValid() {
				n++
			}
		}
		if len(v.SecondaryCIDRs) > maxVPCCIDRs-1 {
			c.errf(p.key("secondary_cidrs"), "CidrLimitExceeded", "%d secondary blocks; valid: at most %d (AWS's default of %d IPv4 blocks per VPC)", len(v.SecondaryCIDRs), maxVPCCIDRs-1, maxVPCCIDRs)
		}
		if n < len(v.SecondaryCIDRs) {
			v.SecondaryCIDRs = slices.DeleteFunc(v.SecondaryCIDRs, func(q netip.Prefix) bool { return !q.IsValid() })
		}
		f := p.key("ipv6_cidr")
		v.IPv6CIDR = c.prefixIn(&p, "ipv6_cidr", v.IPv6CIDR, 6, false, false)
		if r, bad := reservedOverlap(v.IPv6CIDR); v.IPv6CIDR.IsValid() && bad {
			c.errf(f, "InvalidVpc.Range", "%s overlaps the reserved block %s; valid: a global or unique-local block such as 2001:db8::/56", v.IPv6CIDR, r)
			v.IPv6CIDR = netip.Prefix{}
		}
		if v.IPv6CIDR.IsValid() && (v.IPv6CIDR.Bits() < 44 || v.IPv6CIDR.Bits() > 60) {
			c.errf(f, "InvalidVpc.Range", "%s is not a valid VPC IPv6 block size; valid: a prefix length from /44 to /60 (AWS assigns /56)", v.IPv6CIDR)
			v.IPv6CIDR = netip.Prefix{}
		}
		if !c.given(&p, "mtu", v.MTU != 0) {
			v.MTU = DefaultMTU
		} else {
			c.intIn(&p, "mtu", &v.MTU, mtuSpec, DefaultMTU)
		}
		c.defaultIDs(i, v, p)
		c.checkTags(p, &v.Tags)
	}
}

// defaultIDs checks the ids VPC i gives its default objects and fills in
// those it leaves out.
func (c *checker) defaultIDs(i int, v *VPC, p fpath) {
	for _, x := range []struct {
		key  string
		id   *string
		base string
	}{{"default_security_group", &v.DefaultSG, DefaultSGID}, {"default_network_acl", &v.DefaultNACL, DefaultNACLID}, {"main_route_table", &v.MainTable, DefaultMainRouteTableID}} {
		c.checkID(&p, x.key, *x.id, c.given(&p, x.key, *x.id != ""))
		if *x.id == "" {
			*x.id = DefaultID(x.base, i, v.ID)
		}
	}
}

// checkVPCBlock checks the size of a VPC's IPv4 block (/16 to /28) and
// that it is outside the reserved ranges; it returns p or the zero prefix.
func (c *checker) checkVPCBlock(f fpath, p netip.Prefix) netip.Prefix {
	if !p.IsValid() {
		return p
	}
	if p.Bits() < 16 || p.Bits() > 28 {
		c.errf(f, "InvalidVpc.Range", "%s is not a valid VPC block size; valid: a prefix length from /16 to /28", p)
		return netip.Prefix{}
	}
	if r, bad := reservedOverlap(p); bad {
		c.errf(f, "InvalidVpc.Range", "%s overlaps the reserved block %s; valid: a private block such as 10.0.0.0/16", p, r)
		return netip.Prefix{}
	}
	return p
}

// vpcSet is the set of the topology's VPC ids, for references and messages.
func (c *checker) vpcSet() map[string]bool {
	set := make(map[string]bool, len(c.t.VPCs))
	for _, v := range c.t.VPCs {
		if v.ID != "" {
			set[v.ID] = true
		}
	}
	return set
}

// isVPC reports whether id is a VPC's.
func (c *checker) isVPC(id string) bool {
	for i := range c.t.VPCs {
		if c.t.VPCs[i].ID == id && id != "" {
			return true
		}
	}
	return false
}

// vpcOf resolves the vpc: of the object at obj. It may be left out when
// the topology has one VPC, or when implied names the VPC (an id that is a
// VPC's default object); otherwise a missing vpc: is an error that lists
// the choices.
func (c *checker) vpcOf(obj fpath, raw, implied string) string {
	if c.failed(&obj, "vpc") {
		return ""
	}
	given := c.given(&obj, "vpc", raw != "")
	f := obj.key("vpc")
	switch {
	case given && !c.isVPC(raw):
		c.errf(f, "InvalidVpcID.NotFound", "unknown VPC %q; valid: %s", raw, choices(c.vpcSet()))
		return ""
	case given:
		return raw
	case implied != "":
		return implied
	case len(c.t.VPCs) == 1:
		return c.t.VPCs[0].ID
	}
	c.report(f, obj.String(), "MissingParameter", "missing; a file with several VPCs names each object's VPC; valid: %s", choices(c.vpcSet()))
	return ""
}

// vpcWithDefault returns the VPC whose default object (as def reads it) is id, or "".
func (c *checker) vpcWithDefault(id string, def func(*VPC) string) string {
	for i := range c.t.VPCs {
		if v := &c.t.VPCs[i]; id != "" && def(v) == id {
			return v.ID
		}
	}
	return ""
}

// resolveVPCs settles the VPC of every object that names one, and what
// follows from it (a NACL is its VPC's default).
func (c *checker) resolveVPCs() {
	t := c.t
	for i := range t.Subnets {
		if p := rootIndex("subnets", i); !c.isBad(p) {
			s := &t.Subnets[i]
			s.VPC = c.vpcOf(p, s.VPC, "")
		}
	}
	for i := range t.SecurityGroups {
		if p := rootIndex("security_groups", i); !c.isBad(p) {
			g := &t.SecurityGroups[i]
			g.VPC = c.vpcOf(p, g.VPC, c.vpcWithDefault(g.ID, func(v *VPC) string { return v.DefaultSG }))
		}
	}
	for i := range t.NetworkACLs {
		if p := rootIndex("network_acls", i); !c.isBad(p) {
			a := &t.NetworkACLs[i]
			a.VPC = c.vpcOf(p, a.VPC, c.vpcWithDefault(a.ID, func(v *VPC) string { return v.DefaultNACL }))
			v := t.VPC(a.VPC)
			a.Default = v != nil && a.ID == v.DefaultNACL
		}
	}
	for i := range t.RouteTables {
		if p := rootIndex("route_tables", i); !c.isBad(p) {
			rt := &t.RouteTables[i]
			rt.VPC = c.vpcOf(p, rt.VPC, c.vpcWithDefault(rt.ID, func(v *VPC) string { return v.MainTable }))
		}
	}
	for i := range t.InternetGateways {
		// An internet gateway exists detached until attached (vpc absent).
		if p := rootIndex("internet_gateways", i); !c.isBad(p) {
			g := &t.InternetGateways[i]
			if c.present(&p, "vpc", g.VPC != "") {
				g.VPC = c.vpcOf(p, g.VPC, "")
			}
		}
	}
	for i := range t.EgressOnlyGateways {
		if p := rootIndex("egress_only_internet_gateways", i); !c.isBad(p) {
			g := &t.EgressOnlyGateways[i]
			g.VPC = c.vpcOf(p, g.VPC, "")
		}
	}
	for i := range t.Endpoints {
		if p := rootIndex("vpc_endpoints", i); !c.isBad(p) {
			e := &t.Endpoints[i]
			e.VPC = c.vpcOf(p, e.VPC, "")
		}
	}
	for i := range t.Peerings {
		p := rootIndex("peering_connections", i)
		if c.isBad(p) {
			continue
		}
		x := &t.Peerings[i]
		for _, side := range []struct {
			key string
			vpc *string
		}{{"requester_vpc", &x.Requester}, {"accepter_vpc", &x.Accepter}} {
			if !c.failed(&p, side.key) && !c.isVPC(*side.vpc) {
				c.errf(p.key(side.key), "InvalidVpcID.NotFound", "unknown VPC %q; valid: %s", *side.vpc, choices(c.vpcSet()))
				*side.vpc = ""
			}
		}
	}
}

// checkObjects checks the fields of every object but VPCs (checkVPCs) and
// route tables' routes (validateRoutes), marks those that cannot take part
// in cross-object checks, and fills in per-object defaults.
func (c *checker) checkObjects() {
	t := c.t
	for i := range t.PrefixLists {
		if p := rootIndex("prefix_lists", i); !c.isBad(p) {
			c.checkPrefixList(p, &t.PrefixLists[i])
		}
	}
	for i := range t.Subnets {
		if p := rootIndex("subnets", i); !c.isBad(p) {
			c.checkSubnet(p, &t.Subnets[i])
		}
	}
	for i := range t.SecurityGroups {
		if p := rootIndex("security_groups", i); !c.isBad(p) {
			c.checkSG(p, &t.SecurityGroups[i])
		}
	}
	for i := range t.NetworkACLs {
		p := rootIndex("network_acls", i)
		if c.isBad(p) {
			continue
		}
		a := &t.NetworkACLs[i]
		c.checkID(&p, "id", a.ID, true)
		for j := range a.Ingress {
			c.checkNACLRule(p.index("ingress", j), &a.Ingress[j])
		}
		for j := range a.Egress {
			c.checkNACLRule(p.index("egress", j), &a.Egress[j])
		}
		c.checkTags(p, &a.Tags)
	}
	for i := range t.RouteTables {
		if p := rootIndex("route_tables", i); !c.isBad(p) {
			rt := &t.RouteTables[i]
			c.checkID(&p, "id", rt.ID, true)
			c.checkTags(p, &rt.Tags)
		}
	}
	for i := range t.InternetGateways {
		if p := rootIndex("internet_gateways", i); !c.isBad(p) {
			g := &t.InternetGateways[i]
			c.checkID(&p, "id", g.ID, true)
			c.checkTags(p, &g.Tags)
		}
	}
	for i := range t.EgressOnlyGateways {
		if p := rootIndex("egress_only_internet_gateways", i); !c.isBad(p) {
			g := &t.EgressOnlyGateways[i]
			c.checkID(&p, "id", g.ID, true)
			c.checkTags(p, &g.Tags)
		}
	}
	for i := range t.Instances {
		if p := rootIndex("instances", i); !c.isBad(p) {
			c.checkInstance(i, p, &t.Instances[i])
		}
	}
	for i := range t.NATGateways {
		if p := rootIndex("nat_gateways", i); !c.isBad(p) {
			c.checkNAT(p, &t.NATGateways[i])
		}
	}
	for i := range t.ElasticIPs {
		if p := rootIndex("elastic_ips", i); !c.isBad(p) {
			e := &t.ElasticIPs[i]
			c.checkID(&p, "id", e.ID, true)
			e.PublicIP = c.addrIn(&p, "public_ip", e.PublicIP, 4, true)
			e.PrivateIP = c.addrIn(&p, "private_ip", e.PrivateIP, 4, false)
			c.checkTags(p, &e.Tags)
		}
	}
	for i := range t.Peerings {
		if p := rootIndex("peering_connections", i); !c.isBad(p) {
			x := &t.Peerings[i]
			c.checkID(&p, "id", x.ID, true)
			if !slices.Contains(PeeringStates, x.State) {
				c.errf(p.key("state"), "InvalidParameterValue", "%q is not a peering state; valid: %s", x.State, strings.Join(PeeringStates, ", "))
				x.State = "active"
			}
			c.checkTags(p, &x.Tags)
		}
	}
	for i := range t.Endpoints {
		if p := rootIndex("vpc_endpoints", i); !c.isBad(p) {
			c.checkEndpoint(p, &t.Endpoints[i])
		}
	}
	for i := range t.Internet {
		if p := rootIndex("internet", i); !c.isBad(p) {
			h := &t.Internet[i]
			c.checkID(&p, "name", h.Name, true)
			h.IP = c.addrIn(&p, "ip", h.IP, 4, true)
			h.IPv6 = c.addrIn(&p, "ipv6", h.IPv6, 6, false)
			h.OS = c.checkOS(p, h.OS, "linux")
			c.checkServices(p, &h.Services)
		}
	}
	for i := range t.FlowLogs {
		if p := rootIndex("flow_logs", i); !c.isBad(p) {
			c.checkFlowLog(p, &t.FlowLogs[i])
		}
	}
	c.checkMirror()
}

func (c *checker) checkPrefixList(p fpath, pl *PrefixList) {
	c.checkID(&p, "id", pl.ID, true)
	if c.given(&p, "name", pl.Name != "") && (pl.Name == "" || len(pl.Name) > 255) {
		c.errf(p.key("name"), "InvalidParameterValue", "%q is not valid; valid: 1-255 characters", pl.Name)
	}
	// AWS's own lists (the gateway endpoints' service ranges) weigh 1 (RT-4, SG-43).
	pl.AWSManaged = strings.HasPrefix(pl.Name, "com.amazonaws.")
	n, fam, good := len(pl.CIDRs), 0, 0
	for k, q := range pl.CIDRs {
		f := p.index("cidrs", k)
		fa := familyOf(q)
		q = c.prefixIn(&f, "", q, fa, true, true)
		pl.CIDRs[k] = q
		if !q.IsValid() {
			continue
		}
		if fam != 0 && fa != fam {
			c.errf(f, "", "%s is IPv%d but the list's first entry is IPv%d; valid: entries of one address family", q, fa, fam)
			pl.CIDRs[k] = netip.Prefix{}
			continue
		}
		fam = fa
		good++
	}
	if good < n {
		pl.CIDRs = slices.DeleteFunc(pl.CIDRs, func(q netip.Prefix) bool { return !q.IsValid() })
	}
	c.intIn(&p, "max_entries", &pl.MaxEntries, maxEntriesSpec, max(n, 1))
	if n > pl.MaxEntries {
		c.errf(p.key("cidrs"), "PrefixListMaxEntriesExceeded", "%d entries exceed max_entries %d; valid: at most max_entries entries", n, pl.MaxEntries)
	}
	c.checkTags(p, &pl.Tags)
}

func (c *checker) checkSubnet(p fpath, s *Subnet) {
	c.checkID(&p, "id", s.ID, true)
	s.CIDR = c.prefixIn(&p, "cidr", s.CIDR, 4, true, false)
	if s.CIDR.IsValid() && (s.CIDR.Bits() < 16 || s.CIDR.Bits() > 28) {
		c.errf(p.key("cidr"), "InvalidSubnet.Range", "%s is not a valid subnet size; valid: a prefix length from /16 to /28", s.CIDR)
		s.CIDR = netip.Prefix{}
	}
	s.IPv6CIDR = c.prefixIn(&p, "ipv6_cidr", s.IPv6CIDR, 6, false, false)
	if s.IPv6CIDR.IsValid() && (s.IPv6CIDR.Bits() < 44 || s.IPv6CIDR.Bits() > 64) {
		c.errf(p.key("ipv6_cidr"), "InvalidSubnet.Range", "%s is not a valid IPv6 subnet size; valid: a prefix length from /44 to /64", s.IPv6CIDR)
		s.IPv6CIDR = netip.Prefix{}
	}
	if s.AZ == "" {
		s.AZ = c.t.Region + "a"
	}
	// The export writes no route_table for `public: true` (it is implied).
	if s.Public && s.RouteTable != "" && c.given(&p, "route_table", false) {
		c.errf(p.key("route_table"), "InvalidParameterCombination", "public: true already associates the VPC's public route table; valid: either public: true or route_table")
		s.RouteTable = ""
	}
	c.checkTags(p, &s.Tags)
}

func (c *checker) checkSG(p fpath, sg *SecurityGroup) {
	c.checkID(&p, "id", sg.ID, true)
	if c.given(&p, "name", sg.Name != "" && sg.Name != sg.ID) {
		f := p.key("name")
		switch v := sg.Name; {
		case strings.HasPrefix(strings.ToLower(v), "sg-"):
			c.errf(f, "InvalidParameterValue", "%q starts with \"sg-\"; valid: a name that does not start with sg- (AWS reserves it for ids)", v)
		case v == "" || len(v) > 255:
			c.errf(f, "InvalidParameterValue", "%q is not valid; valid: 1-255 characters", v)
		}
	}
	if sg.Name == "" {
		sg.Name = sg.ID
	}
	c.checkDescription(&p, "description", sg.Description)
	for j := range sg.Ingress {
		c.checkSGRule(p.index("ingress", j), &sg.Ingress[j])
	}
	for j := range sg.Egress {
		c.checkSGRule(p.index("egress", j), &sg.Egress[j])
	}
	c.checkTags(p, &sg.Tags)
}

// sgPeers are the keys that name an SG rule's peer.
var sgPeers = [4]string{"cidr", "ipv6_cidr", "source_group", "prefix_list"}

func (c *checker) checkSGRule(rp fpath, r *SGRule) {
	if c.isBad(rp) {
		return
	}
	c.checkID(&rp, "id", r.ID, c.given(&rp, "id", r.ID != ""))
	ok := c.checkProtocol(&rp, &r.Protocol)
	c.checkPortsICMP(&rp, r.Protocol, &r.Ports, &r.ICMPType, &r.ICMPCode)
	v4, v6 := r.CIDR.IsValid() && r.CIDR.Addr().Is4(), r.CIDR.IsValid() && !r.CIDR.Addr().Is4()
	set := [4]bool{v4, v6, r.SourceGroup != "", r.PrefixList != ""}
	var buf [4]string
	peers := buf[:0]
	for k, key := range sgPeers {
		if c.given(&rp, key, set[k]) {
			peers = append(peers, key)
		}
	}
	switch len(peers) {
	case 0:
		c.errf(rp, "MissingParameter", "a rule needs a peer; valid: exactly one of cidr, ipv6_cidr, source_group, prefix_list")
		ok = false
	case 1:
		switch peers[0] {
		case "cidr":
			r.CIDR = c.prefixIn(&rp, "cidr", r.CIDR, 4, true, true)
			ok = ok && r.CIDR.IsValid()
		case "ipv6_cidr":
			r.CIDR = c.prefixIn(&rp, "ipv6_cidr", r.CIDR, 6, true, true)
			ok = ok && r.CIDR.IsValid()
		}
	default:
		c.errf(rp.key(peers[1]), "InvalidParameterCombination", "a rule has one peer but this one also has %s; valid: exactly one of cidr, ipv6_cidr, source_group, prefix_list", peers[0])
		ok = false
	}
	c.checkDescription(&rp, "description", r.Description)
	c.checkTags(rp, &r.Tags)
	if !ok {
		c.mark(rp)
	}
}

// checkProtocol checks a rule's protocol: ProtoAll or 0-255.
func (c *checker) checkProtocol(rp *fpath, proto *int) bool {
	if c.failed(rp, "protocol") {
		return false
	}
	if *proto < ProtoAll || *proto > 255 {
		f := rp.key("protocol")
		c.errf(f, "InvalidParameterValue", "%s", badProtocol(c.text(f, ProtocolName(*proto))))
		*proto = 0
		return false
	}
	return true
}

// checkPortsICMP checks a rule's ports and ICMP type and code (SG-11,
// NACL-14); for protocols that have none they are AllPorts and -1, as on
// AWS, which checks but ignores what is given.
func (c *checker) checkPortsICMP(rp *fpath, proto int, ports *PortRange, typ, code *int) {
	tcpUDP := proto == ProtoTCP || proto == ProtoUDP
	if c.given(rp, "ports", tcpUDP) && (ports.From < 0 || ports.To > 65535 || ports.From > ports.To) {
		f := rp.key("ports")
		c.errf(f, "InvalidParameterValue", "%s", badPorts(c.text(f, ports.String())))
		*ports = AllPorts
	}
	if !tcpUDP {
		*ports = AllPorts
	}
	icmp := proto == ProtoICMP || proto == ProtoICMPv6
	ok := true
	if c.given(rp, "icmp_type", icmp) {
		ok = !c.failed(rp, "icmp_type") && c.intIn(rp, "icmp_type", typ, icmpTypeSpec, -1)
	} else {
		*typ = -1
	}
	if c.given(rp, "icmp_code", icmp) {
		ok = !c.failed(rp, "icmp_code") && c.intIn(rp, "icmp_code", code, icmpCodeSpec, -1) && ok
	} else {
		*code = -1
	}
	if !ok || !icmp {
		*typ, *code = -1, -1
		return
	}
	if *typ == -1 && *code != -1 {
		c.errf(rp.key("icmp_code"), "InvalidParameterValue", "icmp_code %d needs a specific icmp_type; valid: icmp_code -1 when icmp_type is -1 (any)", *code)
		*typ, *code = -1, -1
	}
}

func (c *checker) checkNACLRule(rp fpath, r *NACLRule) {
	if c.isBad(rp) {
		return
	}
	ok := true
	switch {
	case !c.given(&rp, "rule", r.Number != 0):
		c.errf(rp.key("rule"), "", "missing; this field is required")
		ok = false
	case c.failed(&rp, "rule"):
		ok = false
	default:
		ok = c.intIn(&rp, "rule", &r.Number, naclNumberSpec, 0)
	}
	ok = c.checkProtocol(&rp, &r.Protocol) && ok
	c.checkPortsICMP(&rp, r.Protocol, &r.Ports, &r.ICMPType, &r.ICMPCode)
	valid := r.CIDR.IsValid()
	v4, v6 := c.given(&rp, "cidr", valid && r.CIDR.Addr().Is4()), c.given(&rp, "ipv6_cidr", valid && !r.CIDR.Addr().Is4())
	switch {
	case v4 && v6:
		c.errf(rp.key("ipv6_cidr"), "InvalidParameterCombination", "a rule has one CIDR but this one also has cidr; valid: exactly one of cidr, ipv6_cidr")
		ok = false
	case v4:
		r.CIDR = c.prefixIn(&rp, "cidr", r.CIDR, 4, true, true)
	case v6:
		r.CIDR = c.prefixIn(&rp, "ipv6_cidr", r.CIDR, 6, true, true)
	default:
		c.errf(rp, "MissingParameter", "a rule needs a CIDR; valid: exactly one of cidr, ipv6_cidr")
		ok = false
	}
	ok = ok && r.CIDR.IsValid() && !c.failed(&rp, "action")
	if !ok {
		c.mark(rp)
	}
}

// maxDeviceIndex bounds an ENI's device index; real limits depend on the
// instance type, which vpcemu does not model (ENI-2).
const maxDeviceIndex = 31

func (c *checker) checkInstance(i int, p fpath, in *Instance) {
	c.checkID(&p, "id", in.ID, true)
	if c.d == nil {
		c.checkDeviceIndexes(i, in)
	}
	for k := 0; k <= len(in.Secondary); k++ {
		e := &in.ENI
		if k > 0 {
			e = &in.Secondary[k-1]
		}
		ep, idKey := c.eniPath(i, in, k)
		c.checkENI(ep, idKey, e, in.ID, k > 0)
	}
	in.OS = c.checkOS(p, in.OS, "amazon-linux")
	c.checkServices(p, &in.Services)
	cp, ct := p.key("conntrack"), &in.Conntrack
	d := DefaultConntrack
	c.secondsIn(&cp, "tcp_established_timeout", &ct.TCPEstablished, tcpEstablishedSpec, d.TCPEstablished)
	c.secondsIn(&cp, "udp_timeout", &ct.UDP, udpTimeoutSpec, d.UDP)
	c.secondsIn(&cp, "udp_stream_timeout", &ct.UDPStream, udpStreamSpec, d.UDPStream)
	c.intIn(&cp, "max_entries", &ct.MaxEntries, ctEntriesSpec, 0)
	c.checkTags(p, &in.Tags)
}

// checkDeviceIndexes checks the device indexes of an instance built in
// code (a file's are checked as it is decoded): the primary ENI's is 0, the
// others' unique, 1 to maxDeviceIndex, in order (as Parse sorts them).
func (c *checker) checkDeviceIndexes(i int, in *Instance) {
	in.ENI.DeviceIndex = 0
	if !slices.IsSortedFunc(in.Secondary, byDeviceIndex) {
		slices.SortStableFunc(in.Secondary, byDeviceIndex)
	}
	for k := range in.Secondary {
		e := &in.Secondary[k]
		ep, _ := c.eniPath(i, in, k+1)
		switch f := ep.key("device_index"); {
		case e.DeviceIndex == 0:
			c.errf(f, "InvalidParameterCombination", "network_interfaces has the primary ENI (device_index 0); valid: describe it either there or with the instance's own fields (subnet, private_ip, …), not both")
		case !c.intIn(&ep, "device_index", &e.DeviceIndex, deviceIndexSpec, e.DeviceIndex):
		case k > 0 && in.Secondary[k-1].DeviceIndex == e.DeviceIndex:
			c.errf(f, "InvalidParameterValue", "device index %d is already network_interfaces[%d]; valid: a unique device index per ENI", e.DeviceIndex, k-1)
		}
	}
}

func byDeviceIndex(a, b ENI) int { return a.DeviceIndex - b.DeviceIndex }

// checkENI checks an ENI's own fields (at ep; its id at ep.idKey) and
// gives it its derived id.
func (c *checker) checkENI(ep fpath, idKey string, e *ENI, instance string, secondary bool) {
	c.checkENIID(&ep, idKey, e.ID, c.given(&ep, idKey, e.ID != ""))
	if e.ID == "" && instance != "" {
		if e.DeviceIndex == 0 {
			e.ID = ENIID(c.t.Name, instance)
		} else {
			e.ID = SecondaryENIID(c.t.Name, instance, e.DeviceIndex)
		}
		if c.derived == nil {
			c.derived = map[string]bool{}
		}
		c.derived[e.ID] = true
	}
	if e.Subnet == "" {
		c.errf(ep.key("subnet"), "", "missing; this field is required")
	}
	e.PrivateIP = c.addrIn(&ep, "private_ip", e.PrivateIP, 4, true)
	for m, a := range e.SecondaryIPs {
		// Bad ones stay (zero), so that paths index the list; the
		// topology is refused anyway.
		if f := ep.index("secondary_private_ips", m); !a.IsValid() || !isFamily(a, 4) || !hostUsable(a) {
			text := ""
			if a.IsValid() {
				text = a.String()
			}
			c.errf(f, "", "%s", badSecondaryIP(c.text(f, text)))
			e.SecondaryIPs[m] = netip.Addr{}
		}
	}
	e.PublicIP = c.addrIn(&ep, "public_ip", e.PublicIP, 4, false)
	if secondary && e.PublicIP.IsValid() {
		// EIP-9: AWS auto-assigns public IPv4s to device index 0 only.
		c.errf(ep.key("public_ip"), "InvalidParameterCombination", "an auto-assigned public IP belongs to the primary ENI (device index 0) only; valid: give this ENI an Elastic IP (elastic_ips[].network_interface) instead")
		e.PublicIP = netip.Addr{}
	}
	e.IPv6 = c.addrIn(&ep, "ipv6", e.IPv6, 6, false)
	c.checkDescription(&ep, "description", e.Description)
	c.checkTags(ep, &e.Tags)
}

// checkOS checks an OS profile name; def replaces a bad one.
func (c *checker) checkOS(p fpath, os, def string) string {
	if slices.Contains(OSProfiles, os) {
		return os
	}
	c.errf(p.key("os"), "", "%q is not a known OS profile; valid: %s", os, strings.Join(OSProfiles, ", "))
	return def
}

// checkServices checks the services of a host: each valid, one per port;
// the others are dropped.
func (c *checker) checkServices(p fpath, svcs *[]Service) {
	list := *svcs
	out := list[:0] // in place: out never passes the item being read
	var buf [8]int
	from := buf[:0] // index in list of each of out
	for j, s := range list {
		f := p.index("services", j)
		s, ok := canonService(s)
		if !ok {
			c.errf(f, "", "%s", badService(c.text(f, s.String())))
			continue
		}
		dup := slices.IndexFunc(out, func(o Service) bool { return o.Port == s.Port && o.Transport() == s.Transport() })
		if dup >= 0 {
			prev := c.text(p.index("services", from[dup]), out[dup].String())
			c.errf(f, "", "%q listens on %s/%d like %q; valid: one service per port", c.text(f, s.String()), s.Transport(), s.Port, prev)
			continue
		}
		out = append(out, s)
		from = append(from, j)
	}
	if len(out) == 0 {
		out = nil
	}
	*svcs = out
}

// canonService is s as Parse reads its String: the named services have
// their fixed port; ok is false for a service that is none.
func canonService(s Service) (Service, bool) {
	switch s.Kind {
	case "http", "https", "ssh":
		return ParseService(s.Kind)
	case "tcp", "udp":
		return s, s.Port >= 1 && s.Port <= 65535
	}
	return s, false
}

func (c *checker) checkNAT(p fpath, g *NATGateway) {
	c.checkID(&p, "id", g.ID, true)
	if g.Subnet == "" {
		c.errf(p.key("subnet"), "", "missing; this field is required")
	}
	c.checkENIID(&p, "eni", g.ENI, c.given(&p, "eni", true))
	if g.ENI == "" && g.ID != "" {
		g.ENI = ENIID(c.t.Name, g.ID)
	}
	g.PrivateIP = c.addrIn(&p, "private_ip", g.PrivateIP, 4, c.given(&p, "private_ip", true))
	if g.PortPolicy != "random" && g.PortPolicy != "sequential" {
		c.errf(p.key("port_policy"), "InvalidParameterValue", "%q is not a port policy; valid: random or sequential (lowest free port from 1024, for tests)", g.PortPolicy)
		g.PortPolicy = "random"
	}
	c.checkTags(p, &g.Tags)
}

func (c *checker) checkEndpoint(p fpath, e *Endpoint) {
	c.checkID(&p, "id", e.ID, true)
	f, region := p.key("service"), c.t.Region
	switch m := reService.FindStringSubmatch(e.Service); {
	case m == nil:
		c.errf(f, "InvalidServiceName", "%q is not a gateway endpoint service; valid: com.amazonaws.%s.s3 or com.amazonaws.%s.dynamodb (VPCE-1)", e.Service, region, region)
	case m[1] != region:
		c.errf(f, "InvalidServiceName", "%q is in region %s but the topology is in %s; valid: com.amazonaws.%s.%s (a gateway endpoint serves its own region, VPCE-1)", e.Service, m[1], region, region, m[2])
	}
	c.checkTags(p, &e.Tags)
}

func (c *checker) checkFlowLog(p fpath, fl *FlowLog) {
	c.checkID(&p, "id", fl.ID, true)
	if fl.Resource == "" {
		c.errf(p.key("resource"), "", "missing; this field is required")
	}
	switch u := strings.ToUpper(fl.TrafficType); u {
	case "ACCEPT", "REJECT", "ALL":
		fl.TrafficType = u
	default:
		c.errf(p.key("traffic_type"), "InvalidParameterValue", "%q is not a valid traffic type; valid: ACCEPT, REJECT or ALL", fl.TrafficType)
		fl.TrafficType = "ALL"
	}
	c.intIn(&p, "max_aggregation_interval", &fl.MaxAggregationInterval, flowIntervalSpec, 60)
	if c.given(&p, "log_format", fl.LogFormat != "") {
		if msg := checkLogFormat(fl.LogFormat); msg != "" {
			c.errf(p.key("log_format"), "InvalidParameter", "%s", msg)
		}
	}
	switch fl.FileFormat {
	case "plain-text", "parquet":
	default:
		c.errf(p.key("file_format"), "InvalidParameterValue", "%q is not a valid file format; valid: plain-text or parquet", fl.FileFormat)
		fl.FileFormat = "plain-text"
	}
	switch fl.LogDestinationType {
	case "", "s3", "cloud-watch-logs", "kinesis-data-firehose":
	default:
		c.errf(p.key("log_destination_type"), "InvalidParameterValue", "%q is not a destination type; valid: s3, cloud-watch-logs or kinesis-data-firehose", fl.LogDestinationType)
	}
	c.checkTags(p, &fl.Tags)
}
