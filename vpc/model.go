package vpc

import (
	"net/netip"
	"time"
)

// IANA protocol numbers used by rules; ProtoAll is AWS's "-1".
const (
	ProtoAll    = -1
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// IDs of the objects the first VPC of a file has without the file naming
// them; a further VPC's are these suffixed with "-" and its id.
const (
	DefaultSGID             = "default"
	DefaultNACLID           = "acl-default"
	DefaultMainRouteTableID = "rtb-main"
	// PublicRouteTableID is the table `public: true` subnets are associated
	// with (local routes, 0.0.0.0/0 and ::/0 to the VPC's internet gateway),
	// created only when the file uses the sugar; suffixed as above.
	PublicRouteTableID = "rtb-public"
	// DefaultIGWID is the internet gateway `public: true` attaches to a VPC
	// that has none, so that files written before routing keep their
	// meaning; suffixed as above.
	DefaultIGWID = "igw-default"
)

// Pos is a place in the topology file (1-based; zero when built in code).
type Pos struct {
	Line   int
	Column int
}

// Topology is a validated definition of one account's VPCs in one region:
// everything vpcemu builds comes from it.
//
// Every object has an id unique across all kinds (a route's target is named
// by id alone). Objects that belong to a VPC name it; the file may leave the
// VPC out when there is only one.
//
// Code that edits a Topology validates the result with Validate (on a
// Clone, keeping the original on error): it runs Parse's checks and
// restores what Parse establishes, so that the export (YAML) parses back
// to the same topology: every route table holds its local routes and its
// endpoints' routes, in SortRoutes order; Blackhole flags are as
// RefreshRouteStates computes them; the objects Parse adds by itself
// (default groups, NACLs and main tables, the public: true table and
// gateway) come after the file's, per VPC.
type Topology struct {
	File           string // path it was read from, for messages ("" when built in code)
	Name           string // [a-z0-9-]{1,16}; prefixes every namespace
	Account        string // 12-digit AWS account id used in flow logs
	Region         string
	VPCs           []VPC // at least one; the file's `vpc:` is shorthand for a list of one
	Subnets        []Subnet
	SecurityGroups []SecurityGroup // includes each VPC's default SG
	NetworkACLs    []NetworkACL    // includes each VPC's default NACL
	RouteTables    []RouteTable    // includes each VPC's main route table
	PrefixLists    []PrefixList    // customer-managed and the emulated AWS-managed ones (gateway endpoints)
	Instances      []Instance
	Internet       []InternetHost

	InternetGateways   []InternetGateway
	EgressOnlyGateways []EgressOnlyGateway
	NATGateways        []NATGateway
	ElasticIPs         []ElasticIP
	Peerings           []Peering
	Endpoints          []Endpoint // gateway VPC endpoints

	FlowLogs      []FlowLog
	TrafficMirror TrafficMirror
	Limits        Limits
}

// VPC is one address space with its own router.
type VPC struct {
	ID             string
	CIDR           netip.Prefix   // the primary IPv4 block
	SecondaryCIDRs []netip.Prefix // further IPv4 blocks (CidrBlockAssociationSet)
	IPv6CIDR       netip.Prefix   // invalid (zero) when the VPC has no IPv6 block
	MTU            int            // link MTU of every veth; DefaultMTU (9001, AWS's jumbo frames) when unset
	// The objects every VPC has without the file naming them (SG-30,
	// NACL-17, RT-2). For the first VPC of a file they default to
	// DefaultSGID, DefaultNACLID and DefaultMainRouteTableID; for the others
	// to those ids suffixed with "-" and the VPC id.
	DefaultSG   string
	DefaultNACL string
	MainTable   string
	Tags        Tags
	Pos         Pos
}

// Tags are an object's AWS tags (the API's TagSpecification, import's Tags).
type Tags map[string]string

// Subnet is one L2 segment of a VPC with the NACL that guards its boundary.
type Subnet struct {
	ID         string
	VPC        string
	CIDR       netip.Prefix
	IPv6CIDR   netip.Prefix // zero when the subnet has no IPv6 block
	AZ         string
	Public     bool   // as written: sugar for RouteTable = the VPC's public route table (RT-20)
	NetworkACL string // associated NACL id; the VPC's default NACL when the file names none
	// RouteTable is the explicitly associated route table; "" means the
	// VPC's main table (RT-3). `public: true` associates the implicit
	// public table (PublicRouteTableID).
	RouteTable          string
	MapPublicIPOnLaunch bool
	Tags                Tags
	Pos                 Pos
}

// PortRange is an inclusive range of ports; {0, 65535} means all ports.
type PortRange struct {
	From, To int
}

// AllPorts is the range that matches every port.
var AllPorts = PortRange{0, 65535}

// SGRule is one allow rule of a security group; exactly one peer is set.
type SGRule struct {
	ID          string    // sgr-…: the file's id:, else derived from the group and the rule (stable across export)
	Protocol    int       // IANA number or ProtoAll
	Ports       PortRange // TCP/UDP only; AllPorts otherwise
	ICMPType    int       // ICMP/ICMPv6 only; -1 = any
	ICMPCode    int       // ICMP/ICMPv6 only; -1 = any
	CIDR        netip.Prefix
	SourceGroup string // referenced SG id (the peer for ingress and egress alike)
	PrefixList  string // prefix-list id
	Description string
	Tags        Tags // the rule's own tags (security-group-rule resources)
	Pos         Pos
}

// SecurityGroup is a set of allow rules attached to ENIs of its VPC.
type SecurityGroup struct {
	ID          string
	VPC         string
	Name        string // the file's name:, or ID when it gives none
	Description string
	Ingress     []SGRule
	Egress      []SGRule
	Tags        Tags
	Pos         Pos
}

// NACLRule is one numbered rule of a network ACL.
type NACLRule struct {
	Number   int // 1..32766
	Protocol int // IANA number or ProtoAll
	Ports    PortRange
	ICMPType int // -1 = any
	ICMPCode int // -1 = any
	CIDR     netip.Prefix
	Allow    bool
	Pos      Pos
}

// NetworkACL is a stateless, numbered, first-match filter at subnet boundaries.
// Ingress and Egress are sorted by rule number.
type NetworkACL struct {
	ID      string
	VPC     string
	Default bool
	Ingress []NACLRule
	Egress  []NACLRule
	Tags    Tags
	Pos     Pos
}

// PrefixList is a managed prefix list usable as an SG peer or a route
// destination: customer-managed, or AWS-managed (Name com.amazonaws.REGION.s3
// or .dynamodb: the emulated service ranges a gateway endpoint routes).
type PrefixList struct {
	ID         string
	Name       string // PrefixListName; "" for customer-managed lists that give none
	AWSManaged bool   // weight 1 against quotas (RT-4, SG-43)
	MaxEntries int    // its weight against the rules-per-SG quota (customer-managed)
	CIDRs      []netip.Prefix
	Tags       Tags
	Pos        Pos
}

// Service is a server started inside an instance or internet host.
type Service struct {
	Kind string // "http", "https", "ssh", "tcp" (echo) or "udp" (echo)
	Port int
}

// Conntrack holds an ENI's connection-tracking settings (AWS defaults when unset).
type Conntrack struct {
	TCPEstablished time.Duration // TcpEstablishedTimeout, 60s..5d, default 432000s
	UDP            time.Duration // UdpTimeout, 30..60s, default 30s
	UDPStream      time.Duration // UdpStreamTimeout, 60..180s, default 180s
	MaxEntries     int           // conntrack allowance; 0 = unlimited
}

// ENI is an elastic network interface: one veth into its subnet, its own
// SGs, tracking table and flow-log records (ENI-1, ENI-3).
type ENI struct {
	ID             string // eni-…; deterministic when the file gives none
	Subnet         string
	PrivateIP      netip.Addr   // primary private IPv4
	SecondaryIPs   []netip.Addr // secondary private IPv4s in the same subnet
	PublicIP       netip.Addr   // auto-assigned public IPv4 of the primary private IP; zero when none (EIPs are ElasticIPs)
	IPv6           netip.Addr   // zero when none
	SecurityGroups []string     // ids; the VPC's default SG when the file names none
	// SourceDestCheckDisabled is AWS's SourceDestCheck=false (ENI-5): the
	// ENI may send and receive packets not of its own addresses (routers,
	// NAT instances, appliances). The zero value is AWS's default, on.
	SourceDestCheckDisabled bool
	DeviceIndex             int // 0 for an instance's primary ENI
	Description             string
	Tags                    Tags
	Pos                     Pos
}

// Instance is an EC2 instance. Its primary ENI (device index 0) is embedded,
// as AWS's Instance carries its primary interface's subnet, addresses and
// groups; Secondary holds the others, each in a subnet of the same AZ.
type Instance struct {
	ID string
	ENI
	Secondary []ENI
	OS        string // canonical OS profile name (see EphemeralPorts)
	Services  []Service
	Conntrack Conntrack
	Tags      Tags
	Pos       Pos
}

// InternetHost is a host outside the VPC, reachable through the internet gateway.
type InternetHost struct {
	Name     string
	IP       netip.Addr
	IPv6     netip.Addr // zero when none
	OS       string
	Services []Service
	Pos      Pos
}

// FlowLog is a flow-log subscription on a VPC, subnet or ENI/instance.
type FlowLog struct {
	ID                     string
	Resource               string // VPC id, subnet id, instance id or ENI id
	TrafficType            string // ACCEPT | REJECT | ALL
	MaxAggregationInterval int    // seconds: 60 or 600 on AWS, 1..600 accepted
	LogFormat              string // "" or "default" for the v2 default; else ${field} tokens
	FileFormat             string // "plain-text" (default) or "parquet"
	HiveCompatible         bool
	PerHourPartition       bool
	// Where AWS would deliver the records, as the API was told: vpcemu
	// writes them as files in the S3 layout whatever these say, and keeps
	// them so that describe-flow-logs answers what was created.
	LogDestinationType       string // "" (s3), s3, cloud-watch-logs or kinesis-data-firehose
	LogDestination           string // the destination's ARN
	LogGroupName             string // CloudWatch Logs log group
	DeliverLogsPermissionArn string // the IAM role CloudWatch Logs delivery assumes
	Tags                     Tags
	Pos                      Pos
}

// Limits are the AWS quotas enforced at validation, liftable with `limits:`,
// and the NAT gateway's fixed limits, lowered for tests (TV-48, TV-49).
type Limits struct {
	SecurityGroupsPerENI  int // default 5
	RulesPerSecurityGroup int // per direction and address family; default 60
	NACLRulesPerDirection int // per direction and address family; default 20
	RoutesPerTable        int // non-propagated routes per table and address family; default 50 (RT-4)
	// NATConnectionsPerDestination is how many simultaneous connections a NAT
	// gateway address holds per destination IP, port and protocol (NGW-7).
	NATConnectionsPerDestination int           // default 55000
	NATIdleTimeout               time.Duration // default 350 s (NGW-11)
	ElasticIPs                   int           // Elastic IPs per region; default 5 (EIP-12, AddressLimitExceeded)
	NATGatewaysPerAZ             int           // default 5 (NGW-4, NatGatewayLimitExceeded)
}

// DefaultLimits are AWS's default quotas.
var DefaultLimits = Limits{
	SecurityGroupsPerENI: 5, RulesPerSecurityGroup: 60, NACLRulesPerDirection: 20, RoutesPerTable: 50,
	NATConnectionsPerDestination: 55000, NATIdleTimeout: 350 * time.Second, ElasticIPs: 5, NATGatewaysPerAZ: 5,
}

// DefaultConntrack is AWS's default connection-tracking configuration.
var DefaultConntrack = Conntrack{
	TCPEstablished: 432000 * time.Second,
	UDP:            30 * time.Second,
	UDPStream:      180 * time.Second,
}

// RouteTable routes the packets that leave its subnets (RT-1). Routes
// always include one local route per VPC CIDR (RT-5), whose target an ENI
// or NAT gateway may replace, and a route from each of its gateway
// endpoints' prefix lists (VPCE-2); they are kept in SortRoutes order.
type RouteTable struct {
	ID     string
	VPC    string
	Main   bool // the VPC's main table: implicitly associated with subnets that name none (RT-2, RT-3)
	Routes []Route
	Tags   Tags
	Pos    Pos
}

// Route sends a destination to a target. Exactly one of Dest and
// DestPrefixList is set.
type Route struct {
	Dest           netip.Prefix // IPv4 or IPv6 CIDR, canonical (RT-12)
	DestPrefixList string       // a prefix list id (RT-10; gateway endpoints add these, VPCE-2)
	Target         RouteTarget
	// Blackhole marks a route whose target is gone (deleted NAT gateway,
	// terminated instance, deleted peering) or unusable (internet gateway
	// detached from the table's VPC, peering not active): RT-15. The target
	// id is kept, as AWS shows it; a route with no target at all is a
	// blackhole too. RefreshRouteStates recomputes it.
	Blackhole  bool
	Propagated bool // RT-11's propagated routes, for tests only [INTERP]
	Pos        Pos
}

// TargetKind is what a route points at (RT-13).
type TargetKind string

// Route target kinds.
const (
	TargetNone     TargetKind = ""      // no target: blackhole
	TargetLocal    TargetKind = "local" // the VPC itself
	TargetIGW      TargetKind = "internet-gateway"
	TargetEIGW     TargetKind = "egress-only-internet-gateway"
	TargetNAT      TargetKind = "nat-gateway"
	TargetENI      TargetKind = "network-interface"
	TargetInstance TargetKind = "instance" // its primary ENI
	TargetPeering  TargetKind = "vpc-peering-connection"
	TargetEndpoint TargetKind = "gateway-endpoint"
)

// RouteTarget names a route's target; ID is "" for local and none.
type RouteTarget struct {
	Kind TargetKind
	ID   string
}

// InternetGateway does the 1:1 NAT between public and private IPv4 of one
// VPC (EIP-1). VPC is "" when detached.
type InternetGateway struct {
	ID   string
	VPC  string
	Tags Tags
	Pos  Pos
}

// EgressOnlyGateway lets IPv6 out and its replies in, nothing else (EIP-13).
type EgressOnlyGateway struct {
	ID   string
	VPC  string
	Tags Tags
	Pos  Pos
}

// NATGateway translates the sources of its VPC's clients to its own address
// (NGW-5): its requester-managed ENI sits in Subnet; a public one leaves
// through the VPC's internet gateway with the address of its Elastic IP.
type NATGateway struct {
	ID         string
	Subnet     string
	ENI        string     // eni-…; deterministic when the file gives none
	PrivateIP  netip.Addr // chosen in the subnet when the file gives none
	Private    bool       // ConnectivityType private (R2: no EIP, no internet)
	ElasticIP  string     // allocation id of its EIP (public NAT gateways)
	PortPolicy string     // "random" (default) or "sequential" (lowest free port from 1024, for tests) [INTERP NGW-6]
	Tags       Tags
	Pos        Pos
}

// ElasticIP is an allocated public IPv4, associated with one private IPv4 of
// one ENI (an instance's, or a NAT gateway's) or unassociated (EIP-10).
type ElasticIP struct {
	ID        string // eipalloc-…
	PublicIP  netip.Addr
	ENI       string     // associated ENI id (an instance id in the file means its primary ENI); "" when unassociated
	PrivateIP netip.Addr // which of the ENI's private IPv4s; its primary when the file gives none
	Tags      Tags
	Pos       Pos
}

// Peering is a VPC peering connection in one account and region (PCX-1).
type Peering struct {
	ID        string
	Requester string // VPC id
	Accepter  string // VPC id
	State     string // "active" (default), "pending-acceptance", … : only active carries traffic
	Tags      Tags
	Pos       Pos
}

// Endpoint is a gateway VPC endpoint (S3 or DynamoDB, VPCE-1): each of its
// route tables gets a route from the service's prefix list to it (VPCE-2).
type Endpoint struct {
	ID          string
	VPC         string
	Service     string   // com.amazonaws.REGION.s3 or .dynamodb
	PrefixList  string   // the AWS-managed prefix list of the service's ranges
	RouteTables []string // route table ids
	Tags        Tags
	Pos         Pos
}
