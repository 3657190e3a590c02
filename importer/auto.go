package importer

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/vpcemu/vpcemu/vpc"
)

// --services auto and --internet auto: what an imported VPC needs to be
// tested at once, listeners where the rules admit traffic and hosts on the
// internet where the rules name peers.

// maxRangeListeners is the widest port range that gets a listener on every
// port; wider ranges get one on their first port.
const maxRangeListeners = 8

// servicesAuto gives every instance a listener on each port some rule of
// its security groups admits inbound (TCP echo, UDP echo, ssh on 22, http
// on 80, https on 443), and with --internet auto the "anywhere" host one
// on each port the groups let out to 0.0.0.0/0.
func (b *builder) servicesAuto(t *vpc.Topology) {
	for i := range t.Instances {
		in := &t.Instances[i]
		groups := map[string]bool{}
		for _, e := range in.ENIs() {
			for _, g := range e.SecurityGroups {
				groups[g] = true
			}
		}
		var rules []vpc.SGRule
		for _, g := range sortedKeys(groups) {
			if sg := t.SecurityGroup(g); sg != nil {
				rules = append(rules, sg.Ingress...)
			}
		}
		in.Services, _ = listeners(rules, nil)
		if len(in.Services) > 0 {
			b.notef("--services auto: %s listens on %s", in.ID, serviceList(in.Services))
		}
	}
	if h := t.Host(anywhereName); h != nil {
		var out []vpc.SGRule
		for _, sg := range t.SecurityGroups {
			for _, r := range sg.Egress {
				if r.CIDR.IsValid() && r.CIDR.Bits() == 0 && r.CIDR.Addr().Is4() {
					out = append(out, r)
				}
			}
		}
		h.Services, _ = listeners(out, nil)
		if len(h.Services) > 0 {
			b.notef("--services auto: internet host %s listens on %s (ports the groups let out to 0.0.0.0/0)", h.Name, serviceList(h.Services))
		}
	}
}

// listeners are the services for the ports rules admit.
func listeners(rules []vpc.SGRule, _ any) ([]vpc.Service, []string) {
	seen := map[string]bool{}
	var out []vpc.Service
	var skipped []string
	add := func(s vpc.Service) {
		k := fmt.Sprintf("%s/%d", s.Transport(), s.Port)
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for _, r := range rules {
		if r.Protocol != vpc.ProtoTCP && r.Protocol != vpc.ProtoUDP {
			continue // all traffic, ICMP (the kernel answers pings), other protocols: no listener to pick
		}
		from, to := max(r.Ports.From, 1), r.Ports.To
		if to-from+1 > maxRangeListeners {
			skipped = append(skipped, r.Ports.String())
			to = from
		}
		for p := from; p <= to; p++ {
			add(serviceFor(r.Protocol, p))
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Port != out[j].Port {
			return out[i].Port < out[j].Port
		}
		return out[i].Kind < out[j].Kind
	})
	return out, skipped
}

func serviceFor(proto, port int) vpc.Service {
	if proto == vpc.ProtoUDP {
		return vpc.Service{Kind: "udp", Port: port}
	}
	switch port {
	case 22:
		return vpc.Service{Kind: "ssh", Port: 22}
	case 80:
		return vpc.Service{Kind: "http", Port: 80}
	case 443:
		return vpc.Service{Kind: "https", Port: 443}
	}
	return vpc.Service{Kind: "tcp", Port: port}
}

func serviceList(s []vpc.Service) string {
	var out []string
	for _, x := range s {
		out = append(out, x.String())
	}
	return strings.Join(out, ", ")
}

// anywhereName is the internet host --internet auto adds for 0.0.0.0/0.
const anywhereName = "anywhere"

// internetAuto adds an internet host for each distinct /32 peer of the
// security groups and prefix lists outside the VPCs, and one "anywhere"
// host, in the documentation ranges (RFC 5737). A peer that is not a
// documentation address is remapped to one when that changes no rule's
// meaning: every /32 rule of it is rewritten, and no other rule but /0
// covers it. What is remapped or kept is said in the notes.
func (b *builder) internetAuto(t *vpc.Topology) {
	var broad []netip.Prefix // every IPv4 CIDR of the rules, prefix lists and routes but /0 and /32
	peers := map[netip.Addr]bool{}
	note := func(p netip.Prefix) {
		if !p.IsValid() || !p.Addr().Is4() {
			return
		}
		switch p.Bits() {
		case 0:
		case 32:
			peers[p.Addr()] = true
		default:
			broad = append(broad, p)
		}
	}
	for _, sg := range t.SecurityGroups {
		for _, r := range append(append([]vpc.SGRule{}, sg.Ingress...), sg.Egress...) {
			note(r.CIDR)
		}
	}
	for _, pl := range t.PrefixLists {
		for _, c := range pl.CIDRs {
			note(c)
		}
	}
	for _, a := range t.NetworkACLs {
		for _, r := range append(append([]vpc.NACLRule{}, a.Ingress...), a.Egress...) {
			if r.CIDR.Bits() != 32 {
				note(r.CIDR)
			}
		}
	}
	for _, rt := range t.RouteTables {
		for _, r := range rt.Routes {
			if r.Dest.Bits() != 32 {
				note(r.Dest)
			}
		}
	}
	used := map[netip.Addr]string{}
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			if e.PublicIP.IsValid() {
				used[e.PublicIP] = "the public address of " + e.ID
			}
		}
	}
	for _, e := range t.ElasticIPs {
		used[e.PublicIP] = "Elastic IP " + e.ID
	}
	for _, h := range t.Internet {
		used[h.IP] = "internet host " + h.Name
	}
	inVPC := func(a netip.Addr) string {
		for _, v := range t.VPCs {
			if v.Contains(a) {
				return v.ID
			}
		}
		return ""
	}
	covered := func(a netip.Addr) []string {
		var out []string
		for _, p := range broad {
			if p.Contains(a) {
				out = append(out, p.String())
			}
		}
		return out
	}
	next := 0
	free := func() netip.Addr {
		for ; ; next++ {
			a := docAddr(next)
			if !a.IsValid() {
				return a
			}
			if _, taken := used[a]; taken || peers[a] || len(covered(a)) > 0 {
				continue
			}
			next++
			return a
		}
	}
	var list []netip.Addr
	for a := range peers {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Less(list[j]) })
	for _, x := range list {
		name := "peer-" + strings.ReplaceAll(x.String(), ".", "-")
		b.autoComments[name] = fmt.Sprintf("added by --internet auto: the rules' peer %s", x)
		switch {
		case inVPC(x) != "":
			b.notef("--internet auto: no host for %s: it is inside %s", x, inVPC(x))
			continue
		case used[x] != "":
			b.notef("--internet auto: no host for %s: it is %s", x, used[x])
			continue
		case isDocAddr(x):
		case len(covered(x)) > 0:
			b.notef("--internet auto: %s is not a documentation address but kept as it is: %s also cover it, and remapping it would change what they mean", x, strings.Join(covered(x), ", "))
		default:
			y := free()
			if !y.IsValid() {
				b.notef("--internet auto: no documentation address left for %s; kept as it is", x)
				break
			}
			where := remap(t, x, y)
			b.notef("--internet auto: remapped %s to %s (host %s): %s is not a documentation address; rewrote %s", x, y, name, x, strings.Join(where, ", "))
			b.autoComments[name] = fmt.Sprintf("added by --internet auto: the rules' peer %s, remapped to %s", x, y)
			used[y] = "internet host " + name
			x = y
		}
		t.Internet = append(t.Internet, vpc.InternetHost{Name: name, IP: x, OS: "linux"})
		used[x] = "internet host " + name
	}
	if t.Host(anywhereName) != nil {
		return
	}
	y := free()
	if !y.IsValid() {
		b.notef("--internet auto: no documentation address is left outside the rules' CIDRs for the anywhere host")
		return
	}
	t.Internet = append(t.Internet, vpc.InternetHost{Name: anywhereName, IP: y, OS: "linux"})
	b.autoComments[anywhereName] = "added by --internet auto: stands for 0.0.0.0/0"
	b.notef("--internet auto: internet host %s at %s stands for 0.0.0.0/0 (no rule but /0 covers it)", anywhereName, y)
}

// remap rewrites every x/32 of t to y/32 and says where.
func remap(t *vpc.Topology, x, y netip.Addr) []string {
	from, to := netip.PrefixFrom(x, 32), netip.PrefixFrom(y, 32)
	var where []string
	for i := range t.SecurityGroups {
		sg := &t.SecurityGroups[i]
		for dir, rules := range map[string][]vpc.SGRule{"ingress": sg.Ingress, "egress": sg.Egress} {
			for j := range rules {
				if rules[j].CIDR == from {
					rules[j].CIDR = to
					where = append(where, fmt.Sprintf("%s %s rule %s", sg.ID, dir, rules[j].ID))
				}
			}
		}
	}
	for i := range t.NetworkACLs {
		a := &t.NetworkACLs[i]
		for dir, rules := range map[string][]vpc.NACLRule{"ingress": a.Ingress, "egress": a.Egress} {
			for j := range rules {
				if rules[j].CIDR == from {
					rules[j].CIDR = to
					where = append(where, fmt.Sprintf("%s %s rule %d", a.ID, dir, rules[j].Number))
				}
			}
		}
	}
	for i := range t.PrefixLists {
		pl := &t.PrefixLists[i]
		for j := range pl.CIDRs {
			if pl.CIDRs[j] == from {
				pl.CIDRs[j] = to
				where = append(where, "prefix list "+pl.ID)
			}
		}
	}
	for i := range t.RouteTables {
		rt := &t.RouteTables[i]
		for j := range rt.Routes {
			if rt.Routes[j].Dest == from {
				rt.Routes[j].Dest = to
				where = append(where, "a route of "+rt.ID)
			}
		}
		vpc.SortRoutes(rt.Routes)
	}
	sort.Strings(where)
	return where
}
