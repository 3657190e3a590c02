package rules

import (
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// Replan keeps what a running plan has where it is and gives what is new
// what neither uses: a subnet, a route table and an internet gateway
// added while others go keep every kept port's name, interface index and
// kernel table, and link addresses.
func TestReplanKeepsTheRunningLayout(t *testing.T) {
	b, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := vpc.Parse("t2.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	prev := NewPlan(cur)
	next := cur.Clone()
	next.Subnets = next.Subnets[1:] // P goes (with what is in it)
	next.Instances, next.NATGateways, next.ElasticIPs, next.FlowLogs = nil, nil, nil, nil
	next.Subnets = append([]vpc.Subnet{{ID: "N", VPC: "vpc-1", CIDR: netip.MustParsePrefix("10.0.9.0/24"), AZ: "use1-az1", RouteTable: "rtb-n", NetworkACL: "acl-q"}}, next.Subnets...)
	next.RouteTables = append([]vpc.RouteTable{{ID: "rtb-n", VPC: "vpc-1", Routes: vpc.LocalRoutes(next.VPC("vpc-1"))}}, next.RouteTables...)
	for i := range next.RouteTables {
		if next.RouteTables[i].ID == "rtb-q" || next.RouteTables[i].ID == "rtb-p" {
			next.RouteTables[i].Routes = vpc.LocalRoutes(next.VPC("vpc-1"))
		}
	}
	next.InternetGateways = append(next.InternetGateways, vpc.InternetGateway{ID: "igw-2", VPC: "vpc-2"})
	p := Replan(prev, next)

	for _, s := range p.Subnets {
		o := prev.Subnet(s.SubnetID)
		if o != nil && (o.UplinkRouterIf != s.UplinkRouterIf || o.RouterIfindex != s.RouterIfindex || o.RouterNS != s.RouterNS) {
			t.Errorf("subnet %s moved: %+v, was %+v", s.SubnetID, s, *o)
		}
	}
	for _, l := range p.Links {
		if o := prev.Link(l.ID); o != nil && (o.A.If != l.A.If || o.A.Ifindex != l.A.Ifindex || o.B.Ifindex != l.B.Ifindex || o.A.Addr != l.A.Addr || o.B.Addr != l.B.Addr) {
			t.Errorf("link %s moved", l.ID)
		}
	}
	// Every port unique across the topology; none reuses one prev had for
	// another object (the old object may still be there when it is made).
	seen := map[int]string{}
	prevPorts := map[int]string{}
	for _, pp := range prev.Routing.Ports {
		prevPorts[pp.Ifindex] = pp.NS + "/" + pp.If
	}
	names := map[string]bool{}
	for _, pp := range p.Routing.Ports {
		id := pp.NS + "/" + pp.If
		if seen[pp.Ifindex] != "" {
			t.Errorf("ifindex %d given to %s and %s", pp.Ifindex, seen[pp.Ifindex], id)
		}
		seen[pp.Ifindex] = id
		if o, ok := prevPorts[pp.Ifindex]; ok && o != id {
			t.Errorf("ifindex %d was %s's, now %s's", pp.Ifindex, o, id)
		}
		if names[id] {
			t.Errorf("interface %s given twice", id)
		}
		names[id] = true
	}
	addrs := map[netip.Prefix]string{}
	for _, l := range p.Links {
		if o, ok := addrs[l.A.Addr]; ok {
			t.Errorf("links %s and %s share %s", o, l.ID, l.A.Addr)
		}
		addrs[l.A.Addr] = l.ID
	}
	// Kernel tables: kept ones keep their id; the new one takes a free id.
	ids := map[string]int{}
	for _, tp := range prev.Routing.Tables {
		ids[tp.NS+"/"+tp.RouteTable] = tp.Table
	}
	taken := map[string]bool{}
	for _, tp := range p.Routing.Tables {
		key := tp.NS + "/" + tp.RouteTable
		if id, ok := ids[key]; ok && tp.RouteTable != "" && id != tp.Table {
			t.Errorf("route table %q moved from kernel table %d to %d", tp.RouteTable, id, tp.Table)
		}
		k := fmt.Sprintf("%s/%d", tp.NS, tp.Table)
		if taken[k] {
			t.Errorf("kernel table %d of %s given twice", tp.Table, tp.NS)
		}
		taken[k] = true
	}
	// Without a running plan, Replan is NewPlan.
	if a, b := Replan(nil, cur), NewPlan(cur); !samePlan(a, b) {
		t.Error("Replan(nil, t) differs from NewPlan(t)")
	}
}

func samePlan(a, b *vpc.Plan) bool {
	if len(a.Routing.Ports) != len(b.Routing.Ports) || len(a.Routing.Tables) != len(b.Routing.Tables) {
		return false
	}
	for i := range a.Routing.Ports {
		if a.Routing.Ports[i] != b.Routing.Ports[i] {
			return false
		}
	}
	for i := range a.Links {
		if a.Links[i].A.Addr != b.Links[i].A.Addr || a.Links[i].A.If != b.Links[i].A.If || a.Links[i].B.If != b.Links[i].B.If {
			return false
		}
	}
	return true
}
