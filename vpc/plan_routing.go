package vpc

import "net/netip"

// The routing part of a plan: the kernel routing tables of every router
// namespace and of the internet namespace, and the ports that route by
// them. rules.PlanRouting fills Plan.Routing from the topology's route
// tables (the lookup semantics live in rules); netns programs the tables
// and the datapath reads Ports.

// Kernel table ids inside router and internet namespaces.
const (
	// LocalTable is each router's local delivery (the VPC's subnets and
	// blocks): how packets entering the VPC through a gateway or peering
	// reach their destination (EIP-3, PCX-7).
	LocalTable = 900
	// InternetGatewaysTable routes what enters the internet namespace
	// from a VPC's gateway: to the internet hosts and, for IGW NAT
	// reflection (EIP-8), to the VPCs' public addresses.
	InternetGatewaysTable = 900
	// InternetHostsTable routes what internet hosts send: the same, plus
	// the first internet gateway as the internet's default route, and no
	// route to VPCs without a gateway.
	InternetHostsTable = 901
	// FirstRouteTable is the kernel table of a router's first route table;
	// the others follow.
	FirstRouteTable = 1000
)

// KernelRouteType is a kernel route's type.
type KernelRouteType int

// Kernel route types.
const (
	RouteUnicast     KernelRouteType = iota // forward on Dev (via Via when set)
	RouteBlackhole                          // dropped: a blackhole route (BAD_STATE_ROUTE)
	RouteProhibit                           // dropped: in a VPC block, in no subnet (NO_ENI_AT_ADDRESS)
	RouteUnreachable                        // dropped: the internet has no route there
)

// KernelRoute is one route of a kernel table.
type KernelRoute struct {
	Dst  netip.Prefix
	Type KernelRouteType
	Dev  string     // unicast: the outgoing port
	Via  netip.Addr // unicast: the next hop; zero for on-link delivery
}

// TablePlan is one kernel routing table of a namespace.
type TablePlan struct {
	NS         string
	Table      int
	RouteTable string // the route table it implements; "" for the local and internet tables
	VPC        string // the router's VPC; "" in the internet namespace
	Routes     []KernelRoute
}

// PortKind is what a routing port connects.
type PortKind int

// Routing port kinds.
const (
	PortSubnet       PortKind = iota + 1 // a router's uplink of a subnet
	PortIGW                              // a router's end of its internet gateway link
	PortEIGW                             // a router's end of its egress-only gateway link
	PortPeering                          // a router's end of a peering link
	PortEndpoint                         // a router's end of a gateway endpoint link
	PortInternetIGW                      // the internet's end of an internet gateway link
	PortInternetEIGW                     // the internet's end of an egress-only gateway link
	PortInternetHost                     // the internet's port of a host
)

// PortPlan is one routing port: where the router program runs, what a
// packet arriving there has crossed, and which table routes it.
type PortPlan struct {
	NS      string
	If      string
	Ifindex int
	Kind    PortKind
	VPC     string // the router's VPC; "" in the internet namespace
	Subnet  string // PortSubnet: the subnet
	Link    string // gateway link ports: the gateway, peering or endpoint id
	Table   int    // the kernel table packets arriving here are routed by
	// RouteTable is the route table behind Table ("" for the local and
	// internet tables).
	RouteTable string
}

// RoutingPlan is the routing of a whole topology.
type RoutingPlan struct {
	Tables []TablePlan
	Ports  []PortPlan
}

// Port returns the port at ifindex, or nil.
func (r *RoutingPlan) Port(ifindex int) *PortPlan {
	for i := range r.Ports {
		if r.Ports[i].Ifindex == ifindex {
			return &r.Ports[i]
		}
	}
	return nil
}

// TableOf returns the table of namespace ns with kernel id table, or nil.
func (r *RoutingPlan) TableOf(ns string, table int) *TablePlan {
	for i := range r.Tables {
		if r.Tables[i].NS == ns && r.Tables[i].Table == table {
			return &r.Tables[i]
		}
	}
	return nil
}
