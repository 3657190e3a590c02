package lessons

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// Changes to routing objects, as the EC2 API makes them (ec2api): each
// leaves the topology as validation makes it (local routes, sorted routes,
// route states, RT-15).

// validated finishes a routing change: route states from their targets,
// then what validation derives and checks.
func validated(t *vpc.Topology) error {
	t.RefreshRouteStates()
	if err := vpc.Validate(t); err != nil {
		return fmt.Errorf("the changed topology is not valid: %w", err)
	}
	return nil
}

// deleteNATGateway deletes a NAT gateway: its Elastic IP is disassociated
// (still allocated) and the routes to it become blackholes (NGW-4, RT-15).
func deleteNATGateway(id string) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		i := slices.IndexFunc(t.NATGateways, func(n vpc.NATGateway) bool { return n.ID == id })
		if i < 0 {
			return fmt.Errorf("no NAT gateway %s (InvalidNatGatewayID.NotFound)", id)
		}
		n := t.NATGateways[i]
		if e := t.ElasticIP(n.ElasticIP); e != nil && e.ENI == n.ENI {
			e.ENI, e.PrivateIP = "", netip.Addr{}
		}
		t.NATGateways = slices.Delete(t.NATGateways, i, i+1)
		return validated(t)
	}
}

// createRoute adds dest -> target to route table rtb.
func createRoute(rtb, dest string, kind vpc.TargetKind, target string) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		rt := t.RouteTable(rtb)
		if rt == nil {
			return fmt.Errorf("no route table %s (InvalidRouteTableID.NotFound)", rtb)
		}
		p := netip.MustParsePrefix(dest)
		for _, r := range rt.Routes {
			if r.DestPrefixList == "" && r.Dest == p {
				return fmt.Errorf("%s already has a route to %s (RouteAlreadyExists)", rtb, dest)
			}
		}
		rt.Routes = append(rt.Routes, vpc.Route{Dest: p, Target: vpc.RouteTarget{Kind: kind, ID: target}})
		return validated(t)
	}
}

// replaceRoute points route table rtb's route to dest at another target.
func replaceRoute(rtb, dest string, kind vpc.TargetKind, target string) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		rt := t.RouteTable(rtb)
		if rt == nil {
			return fmt.Errorf("no route table %s (InvalidRouteTableID.NotFound)", rtb)
		}
		p := netip.MustParsePrefix(dest)
		for i := range rt.Routes {
			if r := &rt.Routes[i]; r.DestPrefixList == "" && r.Dest == p {
				r.Target = vpc.RouteTarget{Kind: kind, ID: target}
				return validated(t)
			}
		}
		return fmt.Errorf("%s has no route to %s (InvalidRoute.NotFound)", rtb, dest)
	}
}

// createPeering adds an active peering connection between two VPCs: the
// request and its acceptance (PCX-1).
func createPeering(id, requester, accepter string) func(*vpc.Topology) error {
	return func(t *vpc.Topology) error {
		if t.Peering(id) != nil {
			return fmt.Errorf("peering connection %s exists already", id)
		}
		t.Peerings = append(t.Peerings, vpc.Peering{ID: id, Requester: requester, Accepter: accepter, State: "active"})
		return validated(t)
	}
}

// Checks of what a NAT gateway does, of the datapath's drops and of route
// states.

// natSource checks that the server saw the probe from->to's client at the
// NAT gateway's Elastic IP with a port from the NAT gateway's range.
func natSource(from, to, ngw string) checker {
	return func(e *env) []Check {
		c := Check{What: fmt.Sprintf("%s's address and port as %s saw them", from, to)}
		eip := ""
		if g := e.topo.NATGateway(ngw); g != nil {
			if a := e.topo.ElasticIP(g.ElasticIP); a != nil {
				eip = a.PublicIP.String()
			}
		}
		c.Expected = fmt.Sprintf("%s (%s's Elastic IP), a port in %d-%d", eip, ngw, natPortLo, natPortHi)
		c.Why = text{
			"the NAT gateway replaces the source with its own address, which the internet gateway maps to its Elastic IP (NGW-5), and the source port with one of its own (NGW-6)",
			"NAT 게이트웨이가 출발지 주소를 자신의 주소로 바꾸고 인터넷 게이트웨이가 이를 탄력적 IP로 매핑하며(NGW-5), 출발지 포트도 자신의 포트로 바꾼다(NGW-6)",
		}.in(e.opts.Lang)
		tr := e.traffic(from, to)
		switch {
		case tr == nil:
			c.Observed = "no such traffic"
		case !tr.Works:
			c.Observed = "nothing: the login failed"
		case tr.ServerSaw == "":
			c.Observed = fmt.Sprintf("%s's own address (not translated)", from)
		default:
			c.Observed = tr.ServerSaw
			ap, err := netip.ParseAddrPort(tr.ServerSaw)
			c.OK = err == nil && ap.Addr().String() == eip && int(ap.Port()) >= natPortLo && int(ap.Port()) <= natPortHi
			if tr.Port != 0 {
				c.Observed += fmt.Sprintf(" (%s itself used port %d)", from, tr.Port)
			}
		}
		if !c.OK {
			c.Message = fmt.Sprintf("%s saw %s as %s; on AWS it sees %s", to, from, c.Observed, c.Expected) + e.diffNote()
		}
		return []Check{c}
	}
}

// NAT gateways' source ports (NGW-6).
const natPortLo, natPortHi = 1024, 65535

// traffic returns the current step's traffic from -> to, or nil.
func (e *env) traffic(from, to string) *Traffic {
	for i := range e.trafs {
		if strings.HasSuffix(e.trafs[i].What, " "+from+" -> "+to) {
			return &e.trafs[i]
		}
	}
	return nil
}

// natFlowLog checks the records of this step on the NAT gateway's ENI for
// the traffic of instance to host: the leg from the instance shows the NAT
// gateway as destination and the instance and host in pkt-srcaddr and
// pkt-dstaddr; the leg to the host shows the NAT gateway's private address
// and the port the host saw (NGW-14).
func natFlowLog(ngw, instance, host string) checker {
	return func(e *env) []Check {
		t := e.topo
		g, in, h := t.NATGateway(ngw), t.Instance(instance), t.Host(host)
		if g == nil || in == nil || h == nil {
			return []Check{{What: "flow logs of " + ngw, Message: "the lesson names an unknown NAT gateway, instance or host"}}
		}
		nat, ip, hip := g.PrivateIP.String(), in.PrivateIP.String(), h.IP.String()
		on := func(r flowRecord) bool { return r["interface_id"] == g.ENI }
		inLeg := Check{
			What:     fmt.Sprintf("flow log of %s (%s): %s's packets arriving", g.ENI, ngw, instance),
			Expected: fmt.Sprintf("srcaddr %s dstaddr %s pkt-srcaddr %s pkt-dstaddr %s", ip, nat, ip, hip),
			Why: text{
				"srcaddr and dstaddr are the packet's addresses on this ENI; pkt-srcaddr and pkt-dstaddr say which instance it came from and where it is going (NGW-14)",
				"srcaddr와 dstaddr는 이 ENI에서 본 패킷의 주소이고, pkt-srcaddr와 pkt-dstaddr는 어느 인스턴스에서 와서 어디로 가는지 알려준다(NGW-14)",
			}.in(e.opts.Lang),
		}
		outLeg := Check{
			What:     fmt.Sprintf("flow log of %s (%s): the translated packets leaving for %s", g.ENI, ngw, host),
			Expected: fmt.Sprintf("srcaddr %s dstaddr %s, srcport as %s saw it", nat, hip, host),
			Why: text{
				"the record shows the NAT gateway's private address, never the Elastic IP (NGW-14)",
				"기록에는 탄력적 IP가 아니라 NAT 게이트웨이의 프라이빗 주소가 나온다(NGW-14)",
			}.in(e.opts.Lang),
		}
		var saw netip.AddrPort
		if tr := e.traffic(instance, host); tr != nil && tr.ServerSaw != "" {
			saw, _ = netip.ParseAddrPort(tr.ServerSaw)
		}
		for _, r := range e.recs {
			switch {
			case !on(r):
			case r["srcaddr"] == ip && r["dstaddr"] == nat && r["pkt_srcaddr"] == ip && r["pkt_dstaddr"] == hip:
				inLeg.OK, inLeg.Observed = true, recordText(r)
			case r["srcaddr"] == nat && r["dstaddr"] == hip && saw.IsValid() && r.int("srcport") == int(saw.Port()):
				outLeg.OK, outLeg.Observed = true, recordText(r)
			}
		}
		var out []Check
		for _, c := range []Check{inLeg, outLeg} {
			if !c.OK {
				c.Observed = "no such record"
				c.Message = fmt.Sprintf("%s: no record %s among the %d of this step; AWS writes one", c.What, c.Expected, len(e.recs)) + e.diffNote()
			}
			out = append(out, c)
		}
		return out
	}
}

// recordText names a record's addresses, ports and pkt-* fields.
func recordText(r flowRecord) string {
	s := fmt.Sprintf("%s %s:%s -> %s:%s %s", r["interface_id"], r["srcaddr"], r["srcport"], r["dstaddr"], r["dstport"], r["action"])
	if r["pkt_srcaddr"] != "" {
		s += fmt.Sprintf(" pkt %s -> %s", r["pkt_srcaddr"], r["pkt_dstaddr"])
	}
	return s
}

// dropWait bounds how long a check waits for the datapath to report a drop:
// drops are reported per second of the datapath's clock, after it ends.
const dropWait = 3 * time.Second

// droppedAt checks that the datapath dropped the probe from->to's packets
// at a component (route, pcx, ngw, ...) with id, for AWS's reason code.
func droppedAt(from, to, component, id, code string, why text) checker {
	return func(e *env) []Check {
		c := Check{What: fmt.Sprintf("where the datapath dropped %s -> %s", from, to),
			Expected: fmt.Sprintf("%s %s: %s", component, id, code), Why: why.in(e.opts.Lang)}
		src, err := e.source(from)
		if err != nil {
			c.Message = err.Error()
			return []Check{c}
		}
		dst, err := e.target(src, to)
		if err != nil {
			c.Message = err.Error()
			return []Check{c}
		}
		var seen []string
		for deadline := time.Now().Add(dropWait); ; {
			seen = seen[:0]
			for _, d := range e.stepDrops() {
				if d.Src != src.addr.String() || d.Dst != dst.String() {
					continue
				}
				seen = append(seen, fmt.Sprintf("%s %s: %s", d.Component, dropID(&d), d.Reason))
				if d.Component == component && d.ID == id && d.Reason == code {
					c.OK = true
				}
			}
			if c.OK || time.Now().After(deadline) || e.ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Observed = strings.Join(slices.Compact(seen), "; ")
		if c.OK {
			c.Observed = c.Expected
		}
		if c.Observed == "" {
			c.Observed = "no drop reported"
		}
		if !c.OK {
			c.Message = fmt.Sprintf("%s -> %s: the datapath reported %s; on AWS the packets are dropped at %s", from, to, c.Observed, c.Expected) + e.diffNote()
		}
		return []Check{c}
	}
}

func dropID(d *lab.Drop) string {
	switch d.Component {
	case "nacl":
		return d.ACL
	case "sg":
		return d.ENI
	}
	return d.ID
}

// explainSays checks that `vpcemu explain` of the probe from->to names code.
func explainSays(from, to, code string) checker {
	return func(e *env) []Check {
		c := Check{What: fmt.Sprintf("vpcemu explain %s %s", from, to), Expected: code}
		tr := e.traffic(from, to)
		if tr != nil && strings.Contains(tr.Verdict, code) {
			c.OK, c.Observed = true, code
		} else if tr != nil {
			c.Observed = tr.Verdict
		}
		if !c.OK {
			c.Message = fmt.Sprintf("explain of %s -> %s says %q; it should name %s", from, to, c.Observed, code)
		}
		return []Check{c}
	}
}

// routeState checks a route's state as `vpcemu status` (and
// describe-route-tables) shows it.
func routeState(rtb, dest, state string) checker {
	return func(e *env) []Check {
		c := Check{What: fmt.Sprintf("vpcemu status: route %s in %s", dest, rtb), Expected: state}
		for _, rt := range e.lab.Status().RouteTables {
			if rt.ID != rtb {
				continue
			}
			for _, r := range rt.Routes {
				if r.Destination == dest {
					c.Observed = fmt.Sprintf("%s (-> %s)", r.State, r.Target)
					c.OK = r.State == state
				}
			}
		}
		if c.Observed == "" {
			c.Observed = "no such route"
		}
		if !c.OK {
			c.Message = fmt.Sprintf("route %s in %s is %s; on AWS it is %s (RT-15)", dest, rtb, c.Observed, state)
		}
		return []Check{c}
	}
}
