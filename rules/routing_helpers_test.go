package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// T2 (aws-routing.md §10.0), written in Go until the YAML schema of
// route tables lands (examples/routing/t2.yaml is the same topology):
//
//	vpc-1 10.0.0.0/16, igw-1
//	  P 10.0.1.0/24 rtb-p (0/0 -> igw-1), acl-p: W 10.0.1.10 (203.0.113.10), D 10.0.1.20, nat-1 10.0.1.100 (EIP 203.0.113.100)
//	  Q 10.0.2.0/24 rtb-q (0/0 -> nat-1), acl-q: A 10.0.2.20
//	  M 10.0.3.0/24 rtb-main (local only), default NACL
//	vpc-2 10.1.0.0/16
//	  R 10.1.1.0/24 rtb-r (local only), default NACL: B 10.1.1.30
//	pcx-12 vpc-1 <-> vpc-2, active, unrouted
//	internet: X 198.51.100.10, S 203.0.113.80
//
// Every NACL allows all IPv4; SGs: sgW in 443 from anywhere and 22 from
// 10.0.0.0/8, sgB in 22 from 10.0.0.0/16, every SG out-all.

func rt(id, vpcID string, routes ...vpc.Route) vpc.RouteTable {
	return vpc.RouteTable{ID: id, VPC: vpcID, Routes: routes}
}

// route is a route "dest -> target" where target is "local", an id with a
// known prefix (igw-, eigw-, nat-, pcx-, vpce-, eni-, i-), or "" for a
// route without target (blackhole); dest a CIDR or a prefix-list id.
func route(dest, target string) vpc.Route {
	r := vpc.Route{}
	if strings.HasPrefix(dest, "pl-") {
		r.DestPrefixList = dest
	} else {
		r.Dest = pfx(dest).Masked()
	}
	kinds := []struct {
		prefix string
		kind   vpc.TargetKind
	}{{"igw-", vpc.TargetIGW}, {"eigw-", vpc.TargetEIGW}, {"nat-", vpc.TargetNAT}, {"pcx-", vpc.TargetPeering},
		{"vpce-", vpc.TargetEndpoint}, {"eni-", vpc.TargetENI}, {"i-", vpc.TargetInstance}}
	switch {
	case target == "local":
		r.Target = vpc.RouteTarget{Kind: vpc.TargetLocal}
	case target == "":
		r.Blackhole = true
	default:
		for _, k := range kinds {
			if strings.HasPrefix(target, k.prefix) {
				r.Target = vpc.RouteTarget{Kind: k.kind, ID: target}
			}
		}
		if r.Target.Kind == "" {
			panic("route target " + target)
		}
	}
	return r
}

func t2() *vpc.Topology {
	inst := func(id, eni, sn, addr, pub string, sgs ...string) vpc.Instance {
		in := vpc.Instance{ID: id, ENI: vpc.ENI{ID: eni, Subnet: sn, PrivateIP: ip(addr), SecurityGroups: sgs}, OS: "linux", Conntrack: vpc.DefaultConntrack}
		if pub != "" {
			in.PublicIP = ip(pub)
		}
		return in
	}
	defSG := func(id, vpcID string) vpc.SecurityGroup {
		return vpc.SecurityGroup{ID: id, VPC: vpcID, Ingress: []vpc.SGRule{sgrGroup(vpc.ProtoAll, 0, 0, id)}, Egress: []vpc.SGRule{outAll()}}
	}
	acl := func(id, vpcID string) vpc.NetworkACL {
		a := allowAllNACL(id)
		a.VPC = vpcID
		return a
	}
	return complete(&vpc.Topology{
		Name: "t2", Account: "123456789012", Region: "us-east-1",
		VPCs: []vpc.VPC{
			{ID: "vpc-1", CIDR: pfx("10.0.0.0/16"), DefaultSG: "default", DefaultNACL: "acl-default", MainTable: "rtb-main"},
			{ID: "vpc-2", CIDR: pfx("10.1.0.0/16"), DefaultSG: "default-vpc-2", DefaultNACL: "acl-default-vpc-2", MainTable: "rtb-main-vpc-2"},
		},
		Subnets: []vpc.Subnet{
			{ID: "P", VPC: "vpc-1", CIDR: pfx("10.0.1.0/24"), AZ: "use1-az1", NetworkACL: "acl-p", RouteTable: "rtb-p"},
			{ID: "Q", VPC: "vpc-1", CIDR: pfx("10.0.2.0/24"), AZ: "use1-az1", NetworkACL: "acl-q", RouteTable: "rtb-q"},
			{ID: "M", VPC: "vpc-1", CIDR: pfx("10.0.3.0/24"), AZ: "use1-az1"},
			{ID: "R", VPC: "vpc-2", CIDR: pfx("10.1.1.0/24"), AZ: "use1-az1", RouteTable: "rtb-r"},
		},
		SecurityGroups: []vpc.SecurityGroup{
			defSG("default", "vpc-1"), defSG("default-vpc-2", "vpc-2"),
			{ID: "sgW", VPC: "vpc-1", Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 443, 443, "0.0.0.0/0"), sgr(vpc.ProtoTCP, 22, 22, "10.0.0.0/8")}, Egress: []vpc.SGRule{outAll()}},
			{ID: "sgD", VPC: "vpc-1", Egress: []vpc.SGRule{outAll()}},
			{ID: "sgA", VPC: "vpc-1", Egress: []vpc.SGRule{outAll()}},
			{ID: "sgB", VPC: "vpc-2", Ingress: []vpc.SGRule{sgr(vpc.ProtoTCP, 22, 22, "10.0.0.0/16")}, Egress: []vpc.SGRule{outAll()}},
		},
		NetworkACLs: []vpc.NetworkACL{acl("acl-default", "vpc-1"), acl("acl-default-vpc-2", "vpc-2"), acl("acl-p", "vpc-1"), acl("acl-q", "vpc-1")},
		RouteTables: []vpc.RouteTable{
			{ID: "rtb-main", VPC: "vpc-1", Main: true, Routes: []vpc.Route{route("10.0.0.0/16", "local")}},
			rt("rtb-p", "vpc-1", route("10.0.0.0/16", "local"), route("0.0.0.0/0", "igw-1")),
			rt("rtb-q", "vpc-1", route("10.0.0.0/16", "local"), route("0.0.0.0/0", "nat-1")),
			{ID: "rtb-main-vpc-2", VPC: "vpc-2", Main: true, Routes: []vpc.Route{route("10.1.0.0/16", "local")}},
			rt("rtb-r", "vpc-2", route("10.1.0.0/16", "local")),
		},
		Instances: []vpc.Instance{
			inst("W", "eni-w", "P", "10.0.1.10", "203.0.113.10", "sgW"),
			inst("D", "eni-d", "P", "10.0.1.20", "", "sgD"),
			inst("A", "eni-a", "Q", "10.0.2.20", "", "sgA"),
			inst("B", "eni-b", "R", "10.1.1.30", "", "sgB"),
		},
		Internet: []vpc.InternetHost{
			{Name: "X", IP: ip("198.51.100.10"), OS: "linux"},
			{Name: "S", IP: ip("203.0.113.80"), OS: "linux"},
		},
		InternetGateways: []vpc.InternetGateway{{ID: "igw-1", VPC: "vpc-1"}},
		NATGateways:      []vpc.NATGateway{{ID: "nat-1", Subnet: "P", ENI: "eni-ngw", PrivateIP: ip("10.0.1.100"), ElasticIP: "eipalloc-ngw", PortPolicy: "sequential"}},
		ElasticIPs:       []vpc.ElasticIP{{ID: "eipalloc-ngw", PublicIP: ip("203.0.113.100"), ENI: "eni-ngw", PrivateIP: ip("10.0.1.100")}},
		Peerings:         []vpc.Peering{{ID: "pcx-12", Requester: "vpc-1", Accepter: "vpc-2", State: "active"}},
		Limits:           vpc.DefaultLimits,
	})
}

func tableOf(top *vpc.Topology, id string) *vpc.RouteTable {
	for i := range top.RouteTables {
		if top.RouteTables[i].ID == id {
			return &top.RouteTables[i]
		}
	}
	panic("no route table " + id)
}

func addRoute(top *vpc.Topology, table, dest, target string) {
	t := tableOf(top, table)
	t.Routes = append(t.Routes, route(dest, target))
}

func delRoute(top *vpc.Topology, table, dest string) {
	t := tableOf(top, table)
	for i, r := range t.Routes {
		if routeDestText(r) == dest {
			t.Routes = append(t.Routes[:i], t.Routes[i+1:]...)
			return
		}
	}
	panic("no route " + dest + " in " + table)
}

// routeKinds renders a path with every hop named: "sg-out:eni-a nacl-out:acl-q
// route:rtb-q ngw:nat-1 ... igw:igw-1", a trailing ! on the dropping hop.
func routeKinds(p Path) string {
	var parts []string
	for _, h := range p.Hops {
		dir := "in"
		if h.Egress {
			dir = "out"
		}
		s := ""
		switch h.Kind {
		case HopSecurityGroup:
			s = "sg-" + dir + ":" + h.ID
		case HopNetworkACL:
			s = "nacl-" + dir + ":" + h.ID
		case HopENI:
			s = "eni-" + dir + ":" + h.ID
		default:
			s = DropComponent(h.Kind) + ":" + h.ID
		}
		if !h.Allow {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// flowText is a predicted record in the spec's notation plus key=value
// fields: "eni-ngw in ACCEPT 10.0.2.20:40000>10.0.1.100:443 pkt=10.0.2.20>203.0.113.80 tp=- flags=2 proto=6 inst=- packets=1".
func flowText(r PredictedRecord) string {
	dir := "in"
	if r.Direction == "egress" {
		dir = "eg"
	}
	tp := "-"
	if r.TrafficPath != 0 {
		tp = fmt.Sprint(r.TrafficPath)
	}
	inst := r.InstanceID
	if inst == "" {
		inst = "-"
	}
	return fmt.Sprintf("%s %s %s %s>%s pkt=%s>%s tp=%s flags=%d proto=%d inst=%s packets=%d type=%s",
		r.ENI, dir, r.Action, netipPort(r.SrcAddr, r.SrcPort), netipPort(r.DstAddr, r.DstPort),
		r.PktSrcAddr, r.PktDstAddr, tp, r.TCPFlags, r.Protocol, inst, r.Packets, r.Type)
}

// flowMatches checks "eni dir action [src>dst] [key=value ...]" against a
// record; "src>dst" is positional, the rest a subset of flowText's fields.
func flowMatches(r PredictedRecord, want string) bool {
	got := strings.Fields(flowText(r))
	w := strings.Fields(want)
	for i := 0; i < 3 && i < len(w); i++ {
		if got[i] != w[i] {
			return false
		}
	}
	rest := w[min(3, len(w)):]
	if len(rest) > 0 && strings.Contains(rest[0], ">") && !strings.Contains(rest[0], "=") {
		if got[3] != rest[0] {
			return false
		}
		rest = rest[1:]
	}
	for _, kv := range rest {
		found := false
		for _, g := range got[4:] {
			if g == kv {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// checkFlows matches expectations to records one to one; with exact,
// every record must be expected.
func checkFlows(t *testing.T, recs []PredictedRecord, want []string, exact bool) {
	t.Helper()
	matchRecords(t, recs, want, exact, flowMatches, flowText)
}

// conv drives one conversation through a model: the client's packets as
// it sends them, the server's as replies to what arrived.
type conv struct {
	t      *testing.T
	m      *PathModel
	fl     *FlowLogger
	client Packet
	server Packet
	at     time.Duration
	last   Path
}

func newConv(t *testing.T, m *PathModel, fl *FlowLogger) *conv {
	return &conv{t: t, m: m, fl: fl}
}

func (c *conv) send(p Packet) Path {
	c.t.Helper()
	c.at += time.Millisecond
	path := c.m.Send(c.at, p)
	if c.fl != nil {
		c.fl.Add(c.at, &path)
	}
	c.last = path
	return path
}

// start sends the client's first packet; its reply template is set when it
// arrives.
func (c *conv) start(p Packet) Path {
	c.t.Helper()
	c.client = p
	path := c.send(p)
	if path.Delivered {
		c.server, _ = Reply(path.Final())
	}
	return path
}

// fromClient sends the client's packet again with flags.
func (c *conv) fromClient(flags uint8) Path {
	p := c.client
	p.TCPFlags = flags
	return c.send(p)
}

// fromServer sends the server's reply with flags (TCP) or as is.
func (c *conv) fromServer(flags uint8) Path {
	p := c.server
	if p.Protocol == vpc.ProtoTCP {
		p.TCPFlags = flags
	}
	return c.send(p)
}

// handshake runs SYN and SYN-ACK and reports whether both arrived.
func (c *conv) handshake(p Packet) bool {
	p.TCPFlags = TCPSyn
	if !c.start(p).Delivered {
		return false
	}
	return c.fromServer(synAck).Delivered
}

// session runs a whole short TCP connection and reports whether every
// packet arrived.
func (c *conv) session(p Packet) bool {
	if !c.handshake(p) {
		return false
	}
	ok := c.fromClient(TCPAck).Delivered
	ok = c.fromClient(TCPFin|TCPAck).Delivered && ok
	ok = c.fromServer(TCPFin|TCPAck).Delivered && ok
	return c.fromClient(TCPAck).Delivered && ok
}

func wantFate(t *testing.T, p Path, fate string) {
	t.Helper()
	if got := p.Fate(); got != fate {
		t.Errorf("fate %q, want %q\n  path: %s", got, fate, routeKinds(p))
	}
}
