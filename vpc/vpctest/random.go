// Package vpctest makes random valid topologies for tests: several VPCs
// with route tables, gateways, NAT gateways, Elastic IPs, peerings,
// gateway endpoints, multi-ENI instances and tags. The export round trip
// of package vpc, the EC2 API, import and the evaluator's differential
// tests share it.
package vpctest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// Options bound a random topology; zero fields take the defaults.
type Options struct {
	Name               string // topology name; "rnd"
	MaxVPCs            int    // 3
	MaxSubnets         int    // per VPC; 4
	MaxInstances       int    // per subnet; 3
	MaxRouteTables     int    // custom tables per VPC; 3
	MaxRoutes          int    // routes per custom table; 6
	NoTags             bool   // leave tags out
	NoPeeringSGRefs    bool   // no SG rule references a peer VPC's group
	OnlyActivePeerings bool   // every peering is active
}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "rnd"
	}
	if o.MaxVPCs == 0 {
		o.MaxVPCs = 3
	}
	if o.MaxSubnets == 0 {
		o.MaxSubnets = 4
	}
	if o.MaxInstances == 0 {
		o.MaxInstances = 3
	}
	if o.MaxRouteTables == 0 {
		o.MaxRouteTables = 3
	}
	if o.MaxRoutes == 0 {
		o.MaxRoutes = 6
	}
}

// Random returns a random valid topology drawn from r: the parse of
// RandomYAML. It panics if the generator wrote a file Parse refuses (a bug
// here, reported with the file).
func Random(r *rand.Rand, o Options) *vpc.Topology {
	src := RandomYAML(r, o)
	t, err := vpc.Parse("random.yaml", src)
	if err != nil {
		panic(fmt.Sprintf("vpctest: the random topology is invalid: %v\n%s", err, src))
	}
	return t
}

// The generator's view of what it has written, to pick valid references.
type (
	gen struct {
		r     *rand.Rand
		o     Options
		b     strings.Builder
		vpcs  []*gvpc
		eips  int
		pubIP int
		pairs map[[2]int]string // peering id by VPC pair
		live  map[[2]int]bool   // active peerings
		s3    bool
	}
	gvpc struct {
		i          int
		id         string
		cidr       string
		secondary  string
		ipv6       string
		subnets    []*gsubnet
		sgs        []string
		nacls      []string
		tables     []string
		mainCustom string
		igw        string // attached internet gateway ("" when none, or implicit)
		implicit   bool   // gets igw-default through public: true
		detached   string // a detached internet gateway
		eigw       string
		nat        []string
		natENIs    []string
		enis       []string // instance ENIs (route targets)
		singles    []string // instances with one ENI (route targets)
		endpoint   bool
	}
	gsubnet struct {
		id     string
		cidr   string
		ipv6   string
		az     string
		public bool
		next   int // next host number
		third  string
	}
)

func (g *gen) coin(p float64) bool { return g.r.Float64() < p }
func (g *gen) n(max int) int       { return g.r.IntN(max) }
func (g *gen) w(format string, args ...any) {
	fmt.Fprintf(&g.b, format, args...)
}

// tags writes a random tags mapping (or nothing).
func (g *gen) tags() string {
	if g.o.NoTags || !g.coin(0.3) {
		return ""
	}
	keys := []string{"Name", "env", "team", "cost-center"}
	vals := []string{"web", "prod", "blue", "", "a b", "x:y"}
	var parts []string
	for _, k := range keys[:1+g.n(len(keys))] {
		parts = append(parts, fmt.Sprintf("%q: %q", k, vals[g.n(len(vals))]))
	}
	return ", tags: {" + strings.Join(parts, ", ") + "}"
}

// RandomYAML writes a random valid topology file drawn from r.
func RandomYAML(r *rand.Rand, o Options) []byte {
	o.defaults()
	g := &gen{r: r, o: o, pairs: map[[2]int]string{}, live: map[[2]int]bool{}}
	g.w("name: %s\naccount: \"123456789012\"\nregion: us-east-1\n", o.Name)
	g.w("limits: {elastic_ips: 40, nat_gateways_per_az: 10")
	if g.coin(0.2) {
		g.w(", routes_per_table: %d, nat_connections_per_destination: %d, nat_idle_timeout: %d", 20+g.n(30), 1+g.n(100), 1+g.n(349))
	}
	g.w("}\n")
	nv := 1 + g.n(o.MaxVPCs)
	for i := range nv {
		v := &gvpc{i: i, id: fmt.Sprintf("vpc-%d", i+1), cidr: fmt.Sprintf("10.%d.0.0/16", i+1)}
		if g.coin(0.25) {
			v.secondary = fmt.Sprintf("10.%d.0.0/16", 101+i)
		}
		if g.coin(0.5) {
			v.ipv6 = fmt.Sprintf("2001:db8:%d00::/56", i+1)
		}
		g.vpcs = append(g.vpcs, v)
	}
	g.w("vpcs:\n")
	for _, v := range g.vpcs {
		g.w("  - {id: %s, cidr: %s", v.id, v.cidr)
		if v.secondary != "" {
			g.w(", secondary_cidrs: [%s]", v.secondary)
		}
		if v.ipv6 != "" {
			g.w(", ipv6_cidr: %q", v.ipv6)
		}
		if g.coin(0.1) {
			g.w(", mtu: 1500")
		}
		g.w("%s}\n", g.tags())
	}
	g.prefixLists()
	g.subnetsAndGateways()
	g.peerings()
	g.securityGroups()
	g.networkACLs()
	g.instances()
	g.natGateways()
	g.routeTables()
	g.endpoints()
	g.hostsAndFlowLogs()
	return []byte(g.b.String())
}

func (g *gen) prefixLists() {
	g.w("prefix_lists:\n")
	g.w("  - {id: pl-c1, max_entries: 3, cidrs: [198.18.1.0/24, 198.18.2.0/24]%s}\n", g.tags())
	g.w("  - {id: pl-c6, cidrs: [\"2001:db8:ff01::/48\"]}\n")
	g.s3 = g.coin(0.6)
	if g.s3 {
		g.w("  - {id: pl-s3, name: com.amazonaws.us-east-1.s3, cidrs: [192.0.2.128/25]}\n")
	}
}

func (g *gen) subnetsAndGateways() {
	g.w("subnets:\n")
	for _, v := range g.vpcs {
		ns := 1 + g.n(g.o.MaxSubnets)
		for j := range ns {
			s := &gsubnet{id: fmt.Sprintf("sn-%d-%d", v.i+1, j+1), az: "us-east-1a", next: 10}
			s.third = fmt.Sprintf("10.%d.%d", v.i+1, j+1)
			if v.secondary != "" && g.coin(0.3) {
				s.third = fmt.Sprintf("10.%d.%d", 101+v.i, j+1)
			}
			s.cidr = s.third + ".0/24"
			if g.coin(0.2) {
				s.az = "us-east-1b"
			}
			if v.ipv6 != "" && g.coin(0.6) {
				s.ipv6 = fmt.Sprintf("2001:db8:%d00:%d::/64", v.i+1, j+1)
			}
			s.public = g.coin(0.35)
			v.subnets = append(v.subnets, s)
		}
		v.implicit = slices.ContainsFunc(v.subnets, func(s *gsubnet) bool { return s.public })
		if g.coin(0.6) {
			v.igw = fmt.Sprintf("igw-%d", v.i+1)
			v.implicit = false
		}
		if g.coin(0.15) {
			v.detached = fmt.Sprintf("igw-off-%d", v.i+1)
		}
		if v.ipv6 != "" && g.coin(0.5) {
			v.eigw = fmt.Sprintf("eigw-%d", v.i+1)
		}
		// Custom tables are named now so that subnets can use them.
		for k := range g.n(g.o.MaxRouteTables + 1) {
			v.tables = append(v.tables, fmt.Sprintf("rtb-%d-%d", v.i+1, k+1))
		}
		if len(v.tables) > 0 && g.coin(0.3) {
			v.mainCustom = v.tables[g.n(len(v.tables))]
		}
		for k := range g.n(2) {
			v.nacls = append(v.nacls, fmt.Sprintf("acl-%d-%d", v.i+1, k+1))
		}
		for _, s := range v.subnets {
			g.w("  - {id: %s, vpc: %s, cidr: %s, az: %s", s.id, v.id, s.cidr, s.az)
			if s.ipv6 != "" {
				g.w(", ipv6_cidr: %q", s.ipv6)
			}
			switch {
			case s.public:
				g.w(", public: true")
			case len(v.tables) > 0 && g.coin(0.6):
				g.w(", route_table: %s", v.tables[g.n(len(v.tables))])
			case g.coin(0.2):
				g.w(", route_table: %s", g.mainOf(v)) // explicit association with the main table (RT-3)
			}
			if len(v.nacls) > 0 && g.coin(0.5) {
				g.w(", network_acl: %s", v.nacls[g.n(len(v.nacls))])
			}
			if g.coin(0.2) {
				g.w(", map_public_ip_on_launch: true")
			}
			g.w("%s}\n", g.tags())
		}
	}
	g.w("internet_gateways:\n")
	for _, v := range g.vpcs {
		if v.igw != "" {
			g.w("  - {id: %s, vpc: %s%s}\n", v.igw, v.id, g.tags())
		}
		if v.detached != "" {
			g.w("  - {id: %s%s}\n", v.detached, g.tags())
		}
	}
	g.w("egress_only_internet_gateways:\n")
	for _, v := range g.vpcs {
		if v.eigw != "" {
			g.w("  - {id: %s, vpc: %s%s}\n", v.eigw, v.id, g.tags())
		}
	}
}

// mainOf is the id of the VPC's main table.
func (g *gen) mainOf(v *gvpc) string {
	if v.mainCustom != "" {
		return v.mainCustom
	}
	return vpc.DefaultID(vpc.DefaultMainRouteTableID, v.i, v.id)
}

// igwOf is the VPC's attached internet gateway, the implicit one included.
func (g *gen) igwOf(v *gvpc) string {
	switch {
	case v.igw != "":
		return v.igw
	case v.implicit:
		return vpc.DefaultID(vpc.DefaultIGWID, v.i, v.id)
	}
	return ""
}

func (g *gen) peerings() {
	g.w("peering_connections:\n")
	states := []string{"active", "active", "active", "pending-acceptance", "failed", "deleted"}
	for a := range g.vpcs {
		for b := a + 1; b < len(g.vpcs); b++ {
			if !g.coin(0.6) {
				continue
			}
			id := fmt.Sprintf("pcx-%d%d", a+1, b+1)
			st := states[g.n(len(states))]
			if g.o.OnlyActivePeerings {
				st = "active"
			}
			if st == "failed" || st == "deleted" {
				g.w("  - {id: %s, requester_vpc: %s, accepter_vpc: %s, state: %s%s}\n", id, g.vpcs[a].id, g.vpcs[b].id, st, g.tags())
				continue
			}
			g.pairs[[2]int{a, b}] = id
			g.live[[2]int{a, b}] = st == "active"
			req, acc := g.vpcs[a].id, g.vpcs[b].id
			if g.coin(0.5) {
				req, acc = acc, req
			}
			g.w("  - {id: %s, requester_vpc: %s, accepter_vpc: %s, state: %s%s}\n", id, req, acc, st, g.tags())
		}
	}
}

// peeringOf returns the live peering between VPCs a and b and whether it is active.
func (g *gen) peeringOf(a, b int) (string, bool) {
	if b < a {
		a, b = b, a
	}
	id := g.pairs[[2]int{a, b}]
	return id, g.live[[2]int{a, b}]
}

func (g *gen) securityGroups() {
	g.w("security_groups:\n")
	for _, v := range g.vpcs {
		for k := range g.n(3) {
			v.sgs = append(v.sgs, fmt.Sprintf("sg-%d-%d", v.i+1, k+1))
		}
		if g.coin(0.2) {
			// The default group written out, with rules of its own.
			g.w("  - {id: %s, vpc: %s, ingress: [{protocol: tcp, ports: 22, cidr: 10.0.0.0/8}]}\n", vpc.DefaultID(vpc.DefaultSGID, v.i, v.id), v.id)
		}
	}
	for _, v := range g.vpcs {
		for _, id := range v.sgs {
			g.w("  - id: %s\n    vpc: %s\n", id, v.id)
			if g.coin(0.3) {
				g.w("    description: group %s\n", id)
			}
			if t := g.tags(); t != "" {
				g.w("    tags: {%s\n", strings.TrimPrefix(t, ", tags: {"))
			}
			for _, dir := range []string{"ingress", "egress"} {
				if dir == "egress" && g.coin(0.4) {
					continue // AWS's default egress rule
				}
				g.w("    %s:\n", dir)
				used := map[string]bool{}
				for k := range g.n(4) {
					rule := g.sgRule(v, k)
					if used[rule] {
						continue
					}
					used[rule] = true
					g.w("      - {%s", rule)
					if g.coin(0.15) {
						g.w(", id: sgr-%s-%s-%d", id, dir[:2], k)
					}
					g.w("}\n")
				}
			}
		}
	}
}

func (g *gen) sgRule(v *gvpc, k int) string {
	port := []string{"22", "80", "443", "1024-65535"}[g.n(4)]
	switch g.n(6) {
	case 0:
		return "protocol: all, cidr: 0.0.0.0/0"
	case 1:
		if v.ipv6 != "" {
			return fmt.Sprintf("protocol: tcp, ports: %s, ipv6_cidr: \"::/0\"", port)
		}
	case 2:
		if len(v.sgs) > 0 {
			return fmt.Sprintf("protocol: tcp, ports: %s, source_group: %s", port, v.sgs[g.n(len(v.sgs))])
		}
	case 3:
		return fmt.Sprintf("protocol: tcp, ports: %s, prefix_list: pl-c1", port)
	case 4:
		if g.o.NoPeeringSGRefs {
			break
		}
		for _, w := range g.vpcs {
			if _, active := g.peeringOf(v.i, w.i); active && w != v && len(w.sgs) > 0 {
				return fmt.Sprintf("protocol: tcp, ports: %s, source_group: %s", port, w.sgs[0])
			}
		}
	case 5:
		return fmt.Sprintf("protocol: icmp, icmp_type: 8, cidr: 10.%d.0.0/16", k)
	}
	return fmt.Sprintf("protocol: tcp, ports: %s, cidr: 10.%d.0.0/16", port, g.n(200))
}

func (g *gen) networkACLs() {
	g.w("network_acls:\n")
	for _, v := range g.vpcs {
		for _, id := range v.nacls {
			g.w("  - id: %s\n    vpc: %s\n    ingress:\n", id, v.id)
			for k := range 1 + g.n(3) {
				g.w("      - {rule: %d, protocol: tcp, ports: %d, cidr: 0.0.0.0/0, action: %s}\n", 100+10*k, 22+k, []string{"allow", "deny"}[g.n(2)])
			}
			g.w("    egress:\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n")
		}
	}
}

func (g *gen) host(s *gsubnet) string {
	s.next++
	return fmt.Sprintf("%s.%d", s.third, s.next)
}

func (g *gen) publicIP() string {
	g.pubIP++
	return fmt.Sprintf("203.0.113.%d", g.pubIP)
}

func (g *gen) instances() {
	g.w("instances:\n")
	n := 0
	for _, v := range g.vpcs {
		for _, s := range v.subnets {
			for range g.n(g.o.MaxInstances + 1) {
				n++
				id := fmt.Sprintf("i-%d", n)
				var extra []*gsubnet
				if g.coin(0.25) {
					for _, o := range v.subnets {
						if o.az == s.az && len(extra) < 2 && g.coin(0.6) {
							extra = append(extra, o)
						}
					}
				}
				primary := g.eni(v, s, true, len(extra) > 0)
				var nis []string
				g.w("  - {id: %s", id)
				// The primary ENI is either the instance's own fields or
				// network_interfaces' device_index 0.
				if len(extra) > 0 && g.coin(0.3) {
					eni := "eni-" + id + "-0"
					v.enis = append(v.enis, eni)
					nis = append(nis, fmt.Sprintf("{device_index: 0, id: %s, %s, description: primary%s}", eni, primary, g.tags()))
				} else {
					if g.coin(0.5) {
						g.w(", eni: eni-%s", id)
						v.enis = append(v.enis, "eni-"+id)
					}
					g.w(", %s", primary)
				}
				for k, o := range extra {
					eni := fmt.Sprintf("eni-%s-%d", id, k+1)
					v.enis = append(v.enis, eni)
					desc := ""
					if g.coin(0.3) {
						desc = fmt.Sprintf(", description: \"appliance leg %d\"", k+1)
					}
					nis = append(nis, fmt.Sprintf("{device_index: %d, id: %s, %s%s%s}", k+1, eni, g.eni(v, o, false, true), desc, g.tags()))
				}
				if len(nis) > 0 {
					g.w(", network_interfaces: [%s]", strings.Join(nis, ", "))
				} else {
					v.singles = append(v.singles, id)
				}
				g.w("%s}\n", g.tags())
			}
		}
	}
}

// eni writes the fields of an ENI in subnet s.
func (g *gen) eni(v *gvpc, s *gsubnet, primary, multi bool) string {
	f := fmt.Sprintf("subnet: %s, private_ip: %s", s.id, g.host(s))
	if g.coin(0.2) {
		f += fmt.Sprintf(", secondary_private_ips: [%s]", g.host(s))
	}
	if primary && g.coin(0.3) {
		f += ", public_ip: " + g.publicIP()
	}
	if s.ipv6 != "" && g.coin(0.5) {
		f += fmt.Sprintf(", ipv6: \"%s%x\"", strings.TrimSuffix(s.ipv6, "/64"), 0x100+s.next)
	}
	if len(v.sgs) > 0 && g.coin(0.7) {
		f += ", security_groups: [" + v.sgs[g.n(len(v.sgs))] + "]"
	}
	if multi && g.coin(0.5) {
		f += ", source_dest_check: false"
	}
	return f
}

func (g *gen) natGateways() {
	var eips, nats []string
	for _, v := range g.vpcs {
		for k := range g.n(3) {
			s := v.subnets[g.n(len(v.subnets))]
			id := fmt.Sprintf("nat-%d-%d", v.i+1, k+1)
			line := fmt.Sprintf("  - {id: %s, subnet: %s", id, s.id)
			if g.coin(0.5) {
				line += ", private_ip: " + g.host(s)
			}
			if g.coin(0.5) {
				line += fmt.Sprintf(", eni: eni-%s", id)
				v.natENIs = append(v.natENIs, "eni-"+id)
			}
			if g.igwOf(v) != "" && g.coin(0.7) {
				g.eips++
				eip := fmt.Sprintf("eipalloc-%d", g.eips)
				eips = append(eips, fmt.Sprintf("  - {id: %s, public_ip: 198.51.100.%d%s}\n", eip, 100+g.eips, g.tags()))
				line += ", elastic_ip: " + eip
			} else {
				line += ", connectivity: private"
			}
			if g.coin(0.5) {
				line += ", port_policy: sequential"
			}
			nats = append(nats, line+g.tags()+"}\n")
			v.nat = append(v.nat, id)
		}
		// Elastic IPs on instance ENIs: secondary ENIs' primary IPs (which
		// have no auto-assigned address) in VPCs with an internet gateway.
		if g.igwOf(v) == "" {
			continue
		}
		for _, eni := range v.enis {
			if strings.Count(eni, "-") == 3 && !strings.HasSuffix(eni, "-0") && g.coin(0.4) {
				g.eips++
				eips = append(eips, fmt.Sprintf("  - {id: eipalloc-%d, public_ip: 198.51.100.%d, network_interface: %s%s}\n", g.eips, 100+g.eips, eni, g.tags()))
			}
		}
	}
	if g.coin(0.3) {
		g.eips++
		eips = append(eips, fmt.Sprintf("  - {id: eipalloc-%d, public_ip: 198.51.100.%d}\n", g.eips, 100+g.eips))
	}
	g.w("elastic_ips:\n%s", strings.Join(eips, ""))
	g.w("nat_gateways:\n%s", strings.Join(nats, ""))
}

func (g *gen) routeTables() {
	g.w("route_tables:\n")
	gone := 0
	for _, v := range g.vpcs {
		for _, id := range v.tables {
			g.w("  - id: %s\n    vpc: %s\n", id, v.id)
			if id == v.mainCustom {
				g.w("    main: true\n")
			}
			if t := g.tags(); t != "" {
				g.w("    tags: {%s\n", strings.TrimPrefix(t, ", tags: {"))
			}
			g.w("    routes:\n")
			used := map[string]bool{}
			for range g.n(g.o.MaxRoutes + 1) {
				dest, target := g.route(v, &gone)
				if dest == "" || used[dest] {
					continue
				}
				used[dest] = true
				g.w("      - {%s%s}\n", dest, target)
			}
		}
	}
}

// route returns a random route's destination and target fields for a table of v.
func (g *gen) route(v *gvpc, gone *int) (string, string) {
	dests := []string{"destination: 0.0.0.0/0", "destination: 192.0.2.0/24", "destination: 198.51.100.7/32", "destination: 203.0.113.0/25",
		"destination_prefix_list: pl-c1"}
	if v.ipv6 != "" {
		dests = append(dests, "destination: \"::/0\"", "destination_prefix_list: pl-c6")
	}
	for _, w := range g.vpcs {
		if w != v {
			dests = append(dests, "destination: "+w.cidr)
		}
	}
	s := v.subnets[g.n(len(v.subnets))]
	dests = append(dests, "destination: "+s.cidr)
	if g.coin(0.05) {
		dests = append(dests, "destination: "+v.cidr) // the local route, another target (RT-5)
	}
	dest := dests[g.n(len(dests))]
	ipv6 := strings.Contains(dest, "::") || strings.HasSuffix(dest, "pl-c6")
	inside := dest == "destination: "+s.cidr || dest == "destination: "+v.cidr
	var targets []string
	add := func(t string) {
		if t != "" {
			targets = append(targets, ", target: "+t)
		}
	}
	add(pick(g, v.enis))
	add(pick(g, v.nat))
	add(pick(g, v.singles))
	if !inside {
		add(g.igwOf(v))
		for _, w := range g.vpcs {
			if id, _ := g.peeringOf(v.i, w.i); w != v && id != "" {
				add(id)
			}
		}
		targets = append(targets, "") // no target: a blackhole
		*gone++
		targets = append(targets, fmt.Sprintf(", target: nat-gone-%d, state: blackhole", *gone))
		targets = append(targets, fmt.Sprintf(", target: appliance-%d, target_kind: network-interface, state: blackhole", *gone))
		if v.detached != "" {
			targets = append(targets, ", target: "+v.detached+", state: blackhole")
		}
		if ipv6 {
			targets = slices.DeleteFunc(targets, func(t string) bool { return strings.Contains(t, "nat-") && !strings.Contains(t, "blackhole") })
			if v.eigw != "" {
				add(v.eigw)
			}
		}
	} else {
		targets = slices.DeleteFunc(targets, func(t string) bool { return ipv6 && strings.Contains(t, "nat-") })
	}
	if ipv6 && inside {
		return "", ""
	}
	if len(targets) == 0 {
		return "", ""
	}
	t := targets[g.n(len(targets))]
	if !inside && t != "" && !strings.Contains(t, "blackhole") && g.coin(0.05) {
		t += ", propagated: true"
	}
	return dest, t
}

func pick(g *gen, ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return ids[g.n(len(ids))]
}

func (g *gen) endpoints() {
	g.w("vpc_endpoints:\n")
	if !g.s3 {
		return
	}
	for _, v := range g.vpcs {
		if !g.coin(0.4) {
			continue
		}
		tables := []string{}
		for _, id := range append([]string{g.mainOf(v)}, v.tables...) {
			if !slices.Contains(tables, id) && g.coin(0.5) {
				tables = append(tables, id)
			}
		}
		g.w("  - {id: vpce-%d, vpc: %s, service: com.amazonaws.us-east-1.s3, route_tables: [%s]%s}\n", v.i+1, v.id, strings.Join(tables, ", "), g.tags())
	}
}

func (g *gen) hostsAndFlowLogs() {
	g.w("internet:\n  - {name: client, ip: 198.51.100.10}\n  - {name: server, ip: 198.51.100.80, services: [https]}\n")
	g.w("flow_logs:\n")
	for _, v := range g.vpcs {
		switch g.n(4) {
		case 0:
			g.w("  - {id: fl-%s, resource: %s%s}\n", v.id, v.id, g.tags())
		case 1:
			g.w("  - {id: fl-%s, resource: %s, traffic_type: REJECT}\n", v.subnets[0].id, v.subnets[0].id)
		case 2:
			if len(v.natENIs) > 0 {
				g.w("  - {id: fl-%s, resource: %s, log_format: \"${interface-id} ${pkt-srcaddr} ${traffic-path}\"}\n", v.natENIs[0], v.natENIs[0])
			}
		}
	}
}
