package webui

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// View is a topology as the page draws it: every object with what the
// diagram and the rule tables show, ids as in the topology file.
type View struct {
	Name           string         `json:"name"`
	Account        string         `json:"account"`
	Region         string         `json:"region"`
	VPCs           []VPCView      `json:"vpcs"`
	Subnets        []SubnetView   `json:"subnets"`
	Instances      []InstanceView `json:"instances"`
	Internet       []HostView     `json:"internet"`
	SecurityGroups []SGView       `json:"security_groups"`
	NetworkACLs    []NACLView     `json:"network_acls"`
	RouteTables    []RTView       `json:"route_tables"`
	Gateways       []GatewayView  `json:"gateways"` // internet, egress-only and NAT gateways, peerings, endpoints
	FlowLogs       []string       `json:"flow_logs"`
}

// VPCView is one VPC.
type VPCView struct {
	ID    string   `json:"id"`
	CIDRs []string `json:"cidrs"`
	IPv6  string   `json:"ipv6,omitempty"`
}

// SubnetView is one subnet with its NACL and route table.
type SubnetView struct {
	ID         string `json:"id"`
	VPC        string `json:"vpc"`
	CIDR       string `json:"cidr"`
	IPv6       string `json:"ipv6,omitempty"`
	AZ         string `json:"az"`
	Public     bool   `json:"public"`
	NetworkACL string `json:"network_acl"`
	RouteTable string `json:"route_table,omitempty"`
}

// InstanceView is an instance and its ENIs.
type InstanceView struct {
	ID       string    `json:"id"`
	OS       string    `json:"os"`
	Services []string  `json:"services"`
	ENIs     []ENIView `json:"enis"`
}

// ENIView is one network interface.
type ENIView struct {
	ID             string   `json:"id"`
	Subnet         string   `json:"subnet"`
	PrivateIP      string   `json:"private_ip"`
	PublicIP       string   `json:"public_ip,omitempty"`
	IPv6           string   `json:"ipv6,omitempty"`
	SecurityGroups []string `json:"security_groups"`
}

// HostView is an internet host.
type HostView struct {
	Name     string   `json:"name"`
	IP       string   `json:"ip"`
	IPv6     string   `json:"ipv6,omitempty"`
	OS       string   `json:"os"`
	Services []string `json:"services"`
}

// SGView is a security group with its rules in file order (Index is the
// rule's index in its direction, as rules.SGRuleRef counts).
type SGView struct {
	ID          string       `json:"id"`
	VPC         string       `json:"vpc"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Ingress     []SGRuleView `json:"ingress"`
	Egress      []SGRuleView `json:"egress"`
}

// SGRuleView is one SG rule.
type SGRuleView struct {
	Index       int    `json:"index"`
	Protocol    string `json:"protocol"`
	Ports       string `json:"ports"`
	Peer        string `json:"peer"`
	Description string `json:"description,omitempty"`
}

// NACLView is a network ACL with its rules by number, `*` last.
type NACLView struct {
	ID      string         `json:"id"`
	VPC     string         `json:"vpc"`
	Default bool           `json:"default"`
	Ingress []NACLRuleView `json:"ingress"`
	Egress  []NACLRuleView `json:"egress"`
}

// NACLRuleView is one NACL rule; Rule is how `vpcemu status` names it
// ("100", "*", "100 (v6)"), the key of its hit counter.
type NACLRuleView struct {
	Rule     string `json:"rule"`
	Number   int    `json:"number"` // rules.NACLDefaultRuleIPv4/IPv6 for the IPv4/IPv6 `*`
	Action   string `json:"action"`
	Protocol string `json:"protocol"`
	Ports    string `json:"ports"`
	CIDR     string `json:"cidr"`
}

// RTView is a route table.
type RTView struct {
	ID     string      `json:"id"`
	VPC    string      `json:"vpc"`
	Main   bool        `json:"main"`
	Routes []RouteView `json:"routes"`
}

// RouteView is one route.
type RouteView struct {
	Dest      string `json:"dest"`
	Target    string `json:"target"`
	Blackhole bool   `json:"blackhole,omitempty"`
}

// GatewayView is anything the VPC reaches beyond its subnets through.
type GatewayView struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"` // internet-gateway, egress-only-internet-gateway, nat-gateway, vpc-peering-connection, gateway-endpoint
	VPC    string `json:"vpc,omitempty"`
	Subnet string `json:"subnet,omitempty"` // NAT gateways
	Peer   string `json:"peer,omitempty"`   // peerings: the accepter VPC
	Detail string `json:"detail,omitempty"`
}

// NACL rule numbers of the `*` rules, as the datapath and status count them.
const (
	starIPv4 = rules.NACLDefaultRuleIPv4
	starIPv6 = rules.NACLDefaultRuleIPv6
)

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func services(svcs []vpc.Service) []string {
	out := []string{}
	for _, s := range svcs {
		if s.Kind == "tcp" || s.Kind == "udp" {
			out = append(out, s.Kind+":"+strconv.Itoa(s.Port))
		} else {
			out = append(out, s.Kind)
		}
	}
	return out
}

func portsText(proto int, ports vpc.PortRange, typ, code int) string {
	switch proto {
	case vpc.ProtoTCP, vpc.ProtoUDP:
		if ports == vpc.AllPorts {
			return "all"
		}
		return ports.String()
	case vpc.ProtoICMP, vpc.ProtoICMPv6:
		switch {
		case typ < 0:
			return "all"
		case code < 0:
			return fmt.Sprintf("type %d", typ)
		}
		return fmt.Sprintf("type %d code %d", typ, code)
	}
	return "all"
}

// NewView describes t for the page.
func NewView(t *vpc.Topology) *View {
	v := &View{Name: t.Name, Account: t.Account, Region: t.Region}
	vpcOf := func(id string) string {
		if id == "" && len(t.VPCs) > 0 {
			return t.VPCs[0].ID
		}
		return id
	}
	for _, x := range t.VPCs {
		vv := VPCView{ID: x.ID, CIDRs: []string{prefixText(x.CIDR)}, IPv6: prefixText(x.IPv6CIDR)}
		for _, c := range x.SecondaryCIDRs {
			vv.CIDRs = append(vv.CIDRs, c.String())
		}
		v.VPCs = append(v.VPCs, vv)
	}
	anyPublic := false
	for _, s := range t.Subnets {
		acl := s.NetworkACL
		if acl == "" {
			if x := t.NACLOfSubnet(s.ID); x != nil {
				acl = x.ID
			}
		}
		v.Subnets = append(v.Subnets, SubnetView{ID: s.ID, VPC: vpcOf(s.VPC), CIDR: prefixText(s.CIDR), IPv6: prefixText(s.IPv6CIDR),
			AZ: s.AZ, Public: s.Public, NetworkACL: acl, RouteTable: s.RouteTable})
		anyPublic = anyPublic || s.Public
	}
	for _, in := range t.Instances {
		iv := InstanceView{ID: in.ID, OS: in.OS, Services: services(in.Services)}
		for _, e := range append([]vpc.ENI{in.ENI}, in.Secondary...) {
			iv.ENIs = append(iv.ENIs, ENIView{ID: e.ID, Subnet: e.Subnet, PrivateIP: addrText(e.PrivateIP),
				PublicIP: addrText(e.PublicIP), IPv6: addrText(e.IPv6), SecurityGroups: append([]string{}, e.SecurityGroups...)})
		}
		v.Instances = append(v.Instances, iv)
	}
	for _, h := range t.Internet {
		v.Internet = append(v.Internet, HostView{Name: h.Name, IP: addrText(h.IP), IPv6: addrText(h.IPv6), OS: h.OS, Services: services(h.Services)})
	}
	for _, sg := range t.SecurityGroups {
		sv := SGView{ID: sg.ID, VPC: vpcOf(sg.VPC), Name: sg.Name, Description: sg.Description, Ingress: []SGRuleView{}, Egress: []SGRuleView{}}
		for dir, list := range [][]vpc.SGRule{sg.Ingress, sg.Egress} {
			for i, r := range list {
				peer := prefixText(r.CIDR)
				switch {
				case r.SourceGroup != "":
					peer = r.SourceGroup
				case r.PrefixList != "":
					peer = r.PrefixList
				}
				rv := SGRuleView{Index: i, Protocol: vpc.ProtocolName(r.Protocol), Ports: portsText(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode),
					Peer: peer, Description: r.Description}
				if dir == 0 {
					sv.Ingress = append(sv.Ingress, rv)
				} else {
					sv.Egress = append(sv.Egress, rv)
				}
			}
		}
		v.SecurityGroups = append(v.SecurityGroups, sv)
	}
	for _, acl := range t.NetworkACLs {
		nv := NACLView{ID: acl.ID, VPC: vpcOf(acl.VPC), Default: acl.Default, Ingress: naclRules(acl.Ingress), Egress: naclRules(acl.Egress)}
		v.NetworkACLs = append(v.NetworkACLs, nv)
	}
	for _, rt := range t.RouteTables {
		rv := RTView{ID: rt.ID, VPC: vpcOf(rt.VPC), Main: rt.Main, Routes: []RouteView{}}
		for _, r := range rt.Routes {
			dest := prefixText(r.Dest)
			if r.DestPrefixList != "" {
				dest = r.DestPrefixList
			}
			target := r.Target.ID
			if r.Target.Kind == vpc.TargetLocal {
				target = "local"
			}
			rv.Routes = append(rv.Routes, RouteView{Dest: dest, Target: target, Blackhole: r.Blackhole})
		}
		v.RouteTables = append(v.RouteTables, rv)
	}
	for _, g := range t.InternetGateways {
		v.Gateways = append(v.Gateways, GatewayView{ID: g.ID, Kind: string(vpc.TargetIGW), VPC: g.VPC})
	}
	if len(t.InternetGateways) == 0 && anyPublic && len(t.VPCs) > 0 {
		// Topologies from before the routing model have the one internet
		// gateway that `public: true` implies; explain names it as the
		// parser does (vpc.DefaultIGWID).
		v.Gateways = append(v.Gateways, GatewayView{ID: vpc.DefaultIGWID, Kind: string(vpc.TargetIGW), VPC: t.VPCs[0].ID})
	}
	for _, g := range t.EgressOnlyGateways {
		v.Gateways = append(v.Gateways, GatewayView{ID: g.ID, Kind: string(vpc.TargetEIGW), VPC: g.VPC})
	}
	for _, g := range t.NATGateways {
		d := "public"
		if g.Private {
			d = "private"
		}
		d += " " + addrText(g.PrivateIP)
		if g.ElasticIP != "" {
			for _, e := range t.ElasticIPs {
				if e.ID == g.ElasticIP {
					d += " (" + addrText(e.PublicIP) + ")"
				}
			}
		}
		v.Gateways = append(v.Gateways, GatewayView{ID: g.ID, Kind: string(vpc.TargetNAT), VPC: vpcOf(subnetVPC(t, g.Subnet)), Subnet: g.Subnet, Detail: d})
	}
	for _, p := range t.Peerings {
		v.Gateways = append(v.Gateways, GatewayView{ID: p.ID, Kind: string(vpc.TargetPeering), VPC: p.Requester, Peer: p.Accepter, Detail: p.State})
	}
	for _, e := range t.Endpoints {
		v.Gateways = append(v.Gateways, GatewayView{ID: e.ID, Kind: string(vpc.TargetEndpoint), VPC: vpcOf(e.VPC), Detail: e.Service})
	}
	for _, fl := range t.FlowLogs {
		v.FlowLogs = append(v.FlowLogs, fl.ID)
	}
	return v
}

func naclRules(list []vpc.NACLRule) []NACLRuleView {
	out := []NACLRuleView{}
	v6 := false
	for _, r := range list {
		action := "deny"
		if r.Allow {
			action = "allow"
		}
		name := strconv.Itoa(r.Number)
		if r.CIDR.Addr().Is6() {
			name += " (v6)"
			v6 = true
		}
		out = append(out, NACLRuleView{Rule: name, Number: r.Number, Action: action, Protocol: vpc.ProtocolName(r.Protocol),
			Ports: portsText(r.Protocol, r.Ports, r.ICMPType, r.ICMPCode), CIDR: r.CIDR.String()})
	}
	out = append(out, NACLRuleView{Rule: "*", Number: starIPv4, Action: "deny", Protocol: "all", Ports: "all", CIDR: "0.0.0.0/0"})
	if v6 {
		out = append(out, NACLRuleView{Rule: "* (v6)", Number: starIPv6, Action: "deny", Protocol: "all", Ports: "all", CIDR: "::/0"})
	}
	return out
}

func subnetVPC(t *vpc.Topology, id string) string {
	if s := t.Subnet(id); s != nil {
		return s.VPC
	}
	return ""
}
