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

// IDs of the objects every VPC has without the file naming them.
const (
	DefaultSGID   = "default"
	DefaultNACLID = "acl-default"
)

// Pos is a place in the topology file (1-based; zero when built in code).
type Pos struct {
	Line   int
	Column int
}

// Topology is a validated VPC definition: everything vpcemu builds comes from it.
type Topology struct {
	File           string // path it was read from, for messages ("" when built in code)
	Name           string // [a-z0-9-]{1,16}; prefixes every namespace
	Account        string // 12-digit AWS account id used in flow logs
	Region         string
	VPC            VPC
	Subnets        []Subnet
	SecurityGroups []SecurityGroup // includes the VPC's default SG (DefaultSGID)
	NetworkACLs    []NetworkACL    // includes the VPC's default NACL (DefaultNACLID)
	PrefixLists    []PrefixList
	Instances      []Instance
	Internet       []InternetHost
	FlowLogs       []FlowLog
	Limits         Limits
}

// VPC is the address space of the topology.
type VPC struct {
	ID       string
	CIDR     netip.Prefix
	IPv6CIDR netip.Prefix // invalid (zero) when the VPC has no IPv6 block
	MTU      int          // link MTU of every veth; DefaultMTU (9001, AWS's jumbo frames) when unset
}

// Subnet is one L2 segment of the VPC with the NACL that guards its boundary.
type Subnet struct {
	ID         string
	CIDR       netip.Prefix
	IPv6CIDR   netip.Prefix // zero when the subnet has no IPv6 block
	AZ         string
	Public     bool   // its route table sends 0.0.0.0/0 (and ::/0) to the internet gateway
	NetworkACL string // associated NACL id; DefaultNACLID when the file names none
	Pos        Pos
}

// PortRange is an inclusive range of ports; {0, 65535} means all ports.
type PortRange struct {
	From, To int
}

// AllPorts is the range that matches every port.
var AllPorts = PortRange{0, 65535}

// SGRule is one allow rule of a security group; exactly one peer is set.
type SGRule struct {
	Protocol    int       // IANA number or ProtoAll
	Ports       PortRange // TCP/UDP only; AllPorts otherwise
	ICMPType    int       // ICMP/ICMPv6 only; -1 = any
	ICMPCode    int       // ICMP/ICMPv6 only; -1 = any
	CIDR        netip.Prefix
	SourceGroup string // referenced SG id (the peer for ingress and egress alike)
	PrefixList  string // prefix-list id
	Description string
	Pos         Pos
}

// SecurityGroup is a set of allow rules attached to ENIs.
type SecurityGroup struct {
	ID          string
	Name        string // the file's name:, or ID when it gives none
	Description string
	Ingress     []SGRule
	Egress      []SGRule
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
	Default bool
	Ingress []NACLRule
	Egress  []NACLRule
	Pos     Pos
}

// PrefixList is a customer-managed prefix list usable as an SG peer.
type PrefixList struct {
	ID         string
	MaxEntries int // its weight against the rules-per-SG quota
	CIDRs      []netip.Prefix
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

// Instance is an EC2 instance with one ENI.
type Instance struct {
	ID             string
	ENI            string // eni-…; deterministic when the file gives none
	Subnet         string
	PrivateIP      netip.Addr
	PublicIP       netip.Addr // zero when none
	IPv6           netip.Addr // zero when none
	SecurityGroups []string   // ids; [DefaultSGID] when the file names none
	OS             string     // canonical OS profile name (see EphemeralPorts)
	Services       []Service
	Conntrack      Conntrack
	Pos            Pos
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
	Pos                    Pos
}

// Limits are the AWS quotas enforced at validation, liftable with `limits:`.
type Limits struct {
	SecurityGroupsPerENI  int // default 5
	RulesPerSecurityGroup int // per direction and address family; default 60
	NACLRulesPerDirection int // per direction and address family; default 20
}

// DefaultLimits are AWS's default quotas.
var DefaultLimits = Limits{SecurityGroupsPerENI: 5, RulesPerSecurityGroup: 60, NACLRulesPerDirection: 20}

// DefaultConntrack is AWS's default connection-tracking configuration.
var DefaultConntrack = Conntrack{
	TCPEstablished: 432000 * time.Second,
	UDP:            30 * time.Second,
	UDPStream:      180 * time.Second,
}
