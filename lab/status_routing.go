package lab

import (
	"strings"

	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// VPCStatus is one VPC of a running topology.
type VPCStatus struct {
	ID        string   `json:"id"`
	CIDRs     []string `json:"cidrs"`
	MainTable string   `json:"main_route_table"`
}

// RouteTableStatus is a route table, the subnets it routes and its routes.
type RouteTableStatus struct {
	ID  string `json:"id"`
	VPC string `json:"vpc"`
	// Main: the VPC's main table, which routes every subnet that has no
	// explicit association (RT-3).
	Main bool `json:"main"`
	// Subnets are its explicit associations; Implicit the subnets it routes
	// as the main table.
	Subnets  []string      `json:"subnets,omitempty"`
	Implicit []string      `json:"implicit_subnets,omitempty"`
	Routes   []RouteStatus `json:"routes"`
}

// RouteStatus is one route as describe-route-tables shows it.
type RouteStatus struct {
	Destination string `json:"destination"` // CIDR or prefix-list id
	Target      string `json:"target"`      // "local", a gateway, NAT gateway, peering, ENI or instance id; "-" for none
	State       string `json:"state"`       // "active" or "blackhole" (RT-15)
}

// GatewayStatus is an internet, egress-only or NAT gateway, a peering or a
// gateway endpoint.
type GatewayStatus struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"` // a vpc.TargetKind: internet-gateway, nat-gateway, ...
	VPC   string `json:"vpc"`  // the requester's for a peering
	State string `json:"state"`
	// Detail: a NAT gateway's subnet, addresses; a peering's accepter.
	Detail string `json:"detail,omitempty"`
	// NAT is a NAT gateway's counters, CloudWatch's names (live only).
	NAT *loader.NATStats `json:"nat,omitempty"`
}

// routingStatus fills the routing part of st from t.
func routingStatus(st *Status, t *vpc.Topology) {
	for _, v := range t.VPCs {
		vs := VPCStatus{ID: v.ID, MainTable: v.MainTable}
		for _, c := range v.IPv4CIDRs() {
			vs.CIDRs = append(vs.CIDRs, c.String())
		}
		if v.IPv6CIDR.IsValid() {
			vs.CIDRs = append(vs.CIDRs, v.IPv6CIDR.String())
		}
		st.VPCs = append(st.VPCs, vs)
	}
	for _, rt := range t.RouteTables {
		rs := RouteTableStatus{ID: rt.ID, VPC: rt.VPC, Main: rt.Main, Routes: []RouteStatus{}}
		for _, sn := range t.SubnetsOfRouteTable(rt.ID) {
			if sn.RouteTable == rt.ID {
				rs.Subnets = append(rs.Subnets, sn.ID)
			} else {
				rs.Implicit = append(rs.Implicit, sn.ID)
			}
		}
		for _, r := range rt.Routes {
			dest := r.DestPrefixList
			if r.Dest.IsValid() {
				dest = r.Dest.String()
			}
			target := r.Target.ID
			switch {
			case r.Target.Kind == vpc.TargetLocal:
				target = "local"
			case target == "":
				target = "-"
			}
			state := "active"
			if r.Blackhole {
				state = "blackhole"
			}
			rs.Routes = append(rs.Routes, RouteStatus{Destination: dest, Target: target, State: state})
		}
		st.RouteTables = append(st.RouteTables, rs)
	}
	for _, g := range t.InternetGateways {
		state := "attached"
		if g.VPC == "" {
			state = "detached"
		}
		st.Gateways = append(st.Gateways, GatewayStatus{ID: g.ID, Kind: string(vpc.TargetIGW), VPC: g.VPC, State: state})
	}
	for _, g := range t.EgressOnlyGateways {
		st.Gateways = append(st.Gateways, GatewayStatus{ID: g.ID, Kind: string(vpc.TargetEIGW), VPC: g.VPC, State: "attached"})
	}
	for _, g := range t.NATGateways {
		d := []string{"subnet " + g.Subnet, "private " + g.PrivateIP.String()}
		if e := t.ElasticIP(g.ElasticIP); e != nil {
			d = append(d, "public "+e.PublicIP.String()+" ("+e.ID+")")
		}
		st.Gateways = append(st.Gateways, GatewayStatus{ID: g.ID, Kind: string(vpc.TargetNAT), VPC: t.VPCOfSubnetID(g.Subnet),
			State: "available", Detail: strings.Join(d, ", ")})
	}
	for _, p := range t.Peerings {
		state := p.State
		if state == "" {
			state = "active"
		}
		st.Gateways = append(st.Gateways, GatewayStatus{ID: p.ID, Kind: string(vpc.TargetPeering), VPC: p.Requester, State: state,
			Detail: "accepter " + p.Accepter})
	}
	for _, e := range t.Endpoints {
		st.Gateways = append(st.Gateways, GatewayStatus{ID: e.ID, Kind: string(vpc.TargetEndpoint), VPC: e.VPC, State: "available",
			Detail: e.Service + " (" + e.PrefixList + ")"})
	}
}
