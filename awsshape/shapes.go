package awsshape

// The EC2 shapes, named as in the EC2 model. Tags: xml = the model's
// locationName (what the API writes, API-8), json = the member name (what
// the SDKs and the CLI show, IMP-4). Only the members vpcemu fills or
// import reads are here; TestShapesMatchModel checks every one against the
// model.

// Tag is a key/value tag.
type Tag struct {
	Key   string `xml:"key" json:"Key"`
	Value string `xml:"value" json:"Value"`
}

// TagDescription is one tag in DescribeTags.
type TagDescription struct {
	ResourceID   string `xml:"resourceId" json:"ResourceId"`
	ResourceType string `xml:"resourceType" json:"ResourceType"`
	Key          string `xml:"key" json:"Key"`
	Value        string `xml:"value" json:"Value"`
}

// Vpc is a VPC.
type Vpc struct {
	VpcID                       string                            `xml:"vpcId" json:"VpcId"`
	OwnerID                     string                            `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	State                       string                            `xml:"state,omitempty" json:"State,omitempty"`
	CidrBlock                   string                            `xml:"cidrBlock,omitempty" json:"CidrBlock,omitempty"`
	CidrBlockAssociationSet     List[VpcCidrBlockAssociation]     `xml:"cidrBlockAssociationSet" json:"CidrBlockAssociationSet"`
	Ipv6CidrBlockAssociationSet List[VpcIpv6CidrBlockAssociation] `xml:"ipv6CidrBlockAssociationSet,omitempty" json:"Ipv6CidrBlockAssociationSet,omitempty"`
	DhcpOptionsID               string                            `xml:"dhcpOptionsId,omitempty" json:"DhcpOptionsId,omitempty"`
	InstanceTenancy             string                            `xml:"instanceTenancy,omitempty" json:"InstanceTenancy,omitempty"`
	IsDefault                   *bool                             `xml:"isDefault,omitempty" json:"IsDefault,omitempty"`
	Tags                        List[Tag]                         `xml:"tagSet" json:"Tags"`
}

// VpcCidrBlockAssociation is one IPv4 block of a VPC.
type VpcCidrBlockAssociation struct {
	AssociationID  string          `xml:"associationId,omitempty" json:"AssociationId,omitempty"`
	CidrBlock      string          `xml:"cidrBlock" json:"CidrBlock"`
	CidrBlockState *CidrBlockState `xml:"cidrBlockState,omitempty" json:"CidrBlockState,omitempty"`
}

// VpcIpv6CidrBlockAssociation is the IPv6 block of a VPC.
type VpcIpv6CidrBlockAssociation struct {
	AssociationID      string          `xml:"associationId,omitempty" json:"AssociationId,omitempty"`
	Ipv6CidrBlock      string          `xml:"ipv6CidrBlock" json:"Ipv6CidrBlock"`
	Ipv6CidrBlockState *CidrBlockState `xml:"ipv6CidrBlockState,omitempty" json:"Ipv6CidrBlockState,omitempty"`
	NetworkBorderGroup string          `xml:"networkBorderGroup,omitempty" json:"NetworkBorderGroup,omitempty"`
}

// CidrBlockState is VpcCidrBlockState and SubnetCidrBlockState.
type CidrBlockState struct {
	State string `xml:"state" json:"State"`
}

// Subnet is a subnet.
type Subnet struct {
	SubnetID                    string                               `xml:"subnetId" json:"SubnetId"`
	VpcID                       string                               `xml:"vpcId" json:"VpcId"`
	State                       string                               `xml:"state,omitempty" json:"State,omitempty"`
	CidrBlock                   string                               `xml:"cidrBlock,omitempty" json:"CidrBlock,omitempty"`
	Ipv6CidrBlockAssociationSet List[SubnetIpv6CidrBlockAssociation] `xml:"ipv6CidrBlockAssociationSet,omitempty" json:"Ipv6CidrBlockAssociationSet,omitempty"`
	AvailabilityZone            string                               `xml:"availabilityZone,omitempty" json:"AvailabilityZone,omitempty"`
	AvailabilityZoneID          string                               `xml:"availabilityZoneId,omitempty" json:"AvailabilityZoneId,omitempty"`
	AvailableIPAddressCount     *int32                               `xml:"availableIpAddressCount,omitempty" json:"AvailableIpAddressCount,omitempty"`
	DefaultForAz                *bool                                `xml:"defaultForAz,omitempty" json:"DefaultForAz,omitempty"`
	MapPublicIPOnLaunch         *bool                                `xml:"mapPublicIpOnLaunch,omitempty" json:"MapPublicIpOnLaunch,omitempty"`
	AssignIpv6AddressOnCreation *bool                                `xml:"assignIpv6AddressOnCreation,omitempty" json:"AssignIpv6AddressOnCreation,omitempty"`
	OwnerID                     string                               `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	SubnetArn                   string                               `xml:"subnetArn,omitempty" json:"SubnetArn,omitempty"`
	Tags                        List[Tag]                            `xml:"tagSet" json:"Tags"`
}

// SubnetIpv6CidrBlockAssociation is the IPv6 block of a subnet.
type SubnetIpv6CidrBlockAssociation struct {
	AssociationID      string          `xml:"associationId,omitempty" json:"AssociationId,omitempty"`
	Ipv6CidrBlock      string          `xml:"ipv6CidrBlock" json:"Ipv6CidrBlock"`
	Ipv6CidrBlockState *CidrBlockState `xml:"ipv6CidrBlockState,omitempty" json:"Ipv6CidrBlockState,omitempty"`
}

// SecurityGroup is a security group with its rules grouped into
// permissions.
type SecurityGroup struct {
	GroupID             string             `xml:"groupId" json:"GroupId"`
	GroupName           string             `xml:"groupName" json:"GroupName"`
	Description         string             `xml:"groupDescription" json:"Description"`
	VpcID               string             `xml:"vpcId,omitempty" json:"VpcId,omitempty"`
	OwnerID             string             `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	SecurityGroupArn    string             `xml:"securityGroupArn,omitempty" json:"SecurityGroupArn,omitempty"`
	IpPermissions       List[IpPermission] `xml:"ipPermissions" json:"IpPermissions"`
	IpPermissionsEgress List[IpPermission] `xml:"ipPermissionsEgress" json:"IpPermissionsEgress"`
	Tags                List[Tag]          `xml:"tagSet" json:"Tags"`
}

// IpPermission is one protocol and port range with the peers it allows;
// each (permission, peer) pair is one rule (SecurityGroupRule). It is also
// the input shape of Authorize and Revoke.
type IpPermission struct {
	IpProtocol       string                `xml:"ipProtocol" json:"IpProtocol"`
	FromPort         *int32                `xml:"fromPort,omitempty" json:"FromPort,omitempty"`
	ToPort           *int32                `xml:"toPort,omitempty" json:"ToPort,omitempty"`
	UserIDGroupPairs List[UserIDGroupPair] `xml:"groups" json:"UserIdGroupPairs"`
	IpRanges         List[IpRange]         `xml:"ipRanges" json:"IpRanges"`
	Ipv6Ranges       List[Ipv6Range]       `xml:"ipv6Ranges" json:"Ipv6Ranges"`
	PrefixListIDs    List[PrefixListID]    `xml:"prefixListIds" json:"PrefixListIds"`
}

// IpRange is an IPv4 peer.
type IpRange struct {
	CidrIp      string `xml:"cidrIp" json:"CidrIp"`
	Description string `xml:"description,omitempty" json:"Description,omitempty"`
}

// Ipv6Range is an IPv6 peer.
type Ipv6Range struct {
	CidrIpv6    string `xml:"cidrIpv6" json:"CidrIpv6"`
	Description string `xml:"description,omitempty" json:"Description,omitempty"`
}

// UserIDGroupPair is a security-group peer.
type UserIDGroupPair struct {
	GroupID     string `xml:"groupId,omitempty" json:"GroupId,omitempty"`
	GroupName   string `xml:"groupName,omitempty" json:"GroupName,omitempty"`
	UserID      string `xml:"userId,omitempty" json:"UserId,omitempty"`
	VpcID       string `xml:"vpcId,omitempty" json:"VpcId,omitempty"`
	Description string `xml:"description,omitempty" json:"Description,omitempty"`
}

// PrefixListID is a prefix-list peer.
type PrefixListID struct {
	PrefixListID string `xml:"prefixListId" json:"PrefixListId"`
	Description  string `xml:"description,omitempty" json:"Description,omitempty"`
}

// SecurityGroupRule is one rule with its own sgr- id.
type SecurityGroupRule struct {
	SecurityGroupRuleID  string                   `xml:"securityGroupRuleId" json:"SecurityGroupRuleId"`
	GroupID              string                   `xml:"groupId" json:"GroupId"`
	GroupOwnerID         string                   `xml:"groupOwnerId,omitempty" json:"GroupOwnerId,omitempty"`
	IsEgress             *bool                    `xml:"isEgress" json:"IsEgress"`
	IpProtocol           string                   `xml:"ipProtocol" json:"IpProtocol"`
	FromPort             *int32                   `xml:"fromPort,omitempty" json:"FromPort,omitempty"`
	ToPort               *int32                   `xml:"toPort,omitempty" json:"ToPort,omitempty"`
	CidrIpv4             string                   `xml:"cidrIpv4,omitempty" json:"CidrIpv4,omitempty"`
	CidrIpv6             string                   `xml:"cidrIpv6,omitempty" json:"CidrIpv6,omitempty"`
	PrefixListID         string                   `xml:"prefixListId,omitempty" json:"PrefixListId,omitempty"`
	ReferencedGroupInfo  *ReferencedSecurityGroup `xml:"referencedGroupInfo,omitempty" json:"ReferencedGroupInfo,omitempty"`
	Description          string                   `xml:"description,omitempty" json:"Description,omitempty"`
	Tags                 List[Tag]                `xml:"tagSet" json:"Tags"`
	SecurityGroupRuleArn string                   `xml:"securityGroupRuleArn,omitempty" json:"SecurityGroupRuleArn,omitempty"`
}

// ReferencedSecurityGroup is a rule's security-group peer.
type ReferencedSecurityGroup struct {
	GroupID string `xml:"groupId" json:"GroupId"`
	UserID  string `xml:"userId,omitempty" json:"UserId,omitempty"`
	VpcID   string `xml:"vpcId,omitempty" json:"VpcId,omitempty"`
}

// NetworkAcl is a network ACL with its entries and subnet associations.
type NetworkAcl struct {
	NetworkAclID string                      `xml:"networkAclId" json:"NetworkAclId"`
	VpcID        string                      `xml:"vpcId" json:"VpcId"`
	IsDefault    *bool                       `xml:"default" json:"IsDefault"`
	OwnerID      string                      `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Entries      List[NetworkAclEntry]       `xml:"entrySet" json:"Entries"`
	Associations List[NetworkAclAssociation] `xml:"associationSet" json:"Associations"`
	Tags         List[Tag]                   `xml:"tagSet" json:"Tags"`
}

// NetworkAclEntry is one numbered rule; Protocol is the decimal string
// (API-29).
type NetworkAclEntry struct {
	RuleNumber    *int32        `xml:"ruleNumber" json:"RuleNumber"`
	Protocol      string        `xml:"protocol" json:"Protocol"`
	RuleAction    string        `xml:"ruleAction" json:"RuleAction"`
	Egress        *bool         `xml:"egress" json:"Egress"`
	CidrBlock     string        `xml:"cidrBlock,omitempty" json:"CidrBlock,omitempty"`
	Ipv6CidrBlock string        `xml:"ipv6CidrBlock,omitempty" json:"Ipv6CidrBlock,omitempty"`
	IcmpTypeCode  *IcmpTypeCode `xml:"icmpTypeCode,omitempty" json:"IcmpTypeCode,omitempty"`
	PortRange     *PortRange    `xml:"portRange,omitempty" json:"PortRange,omitempty"`
}

// IcmpTypeCode is an ICMP type and code (-1 = any).
type IcmpTypeCode struct {
	Code *int32 `xml:"code,omitempty" json:"Code,omitempty"`
	Type *int32 `xml:"type,omitempty" json:"Type,omitempty"`
}

// PortRange is an inclusive port range.
type PortRange struct {
	From *int32 `xml:"from,omitempty" json:"From,omitempty"`
	To   *int32 `xml:"to,omitempty" json:"To,omitempty"`
}

// NetworkAclAssociation ties a subnet to its network ACL.
type NetworkAclAssociation struct {
	NetworkAclAssociationID string `xml:"networkAclAssociationId" json:"NetworkAclAssociationId"`
	NetworkAclID            string `xml:"networkAclId" json:"NetworkAclId"`
	SubnetID                string `xml:"subnetId" json:"SubnetId"`
}

// RouteTable is a route table with its routes and associations.
type RouteTable struct {
	RouteTableID string                      `xml:"routeTableId" json:"RouteTableId"`
	VpcID        string                      `xml:"vpcId" json:"VpcId"`
	OwnerID      string                      `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Routes       List[Route]                 `xml:"routeSet" json:"Routes"`
	Associations List[RouteTableAssociation] `xml:"associationSet" json:"Associations"`
	// PropagatingVgws is always empty: vpcemu has no virtual private gateways.
	PropagatingVgws List[PropagatingVgw] `xml:"propagatingVgwSet" json:"PropagatingVgws"`
	Tags            List[Tag]            `xml:"tagSet" json:"Tags"`
}

// PropagatingVgw is a virtual private gateway propagating routes.
type PropagatingVgw struct {
	GatewayID string `xml:"gatewayId" json:"GatewayId"`
}

// Route is one route; exactly one destination and (unless a blackhole
// without target) one target is set.
type Route struct {
	DestinationCidrBlock        string `xml:"destinationCidrBlock,omitempty" json:"DestinationCidrBlock,omitempty"`
	DestinationIpv6CidrBlock    string `xml:"destinationIpv6CidrBlock,omitempty" json:"DestinationIpv6CidrBlock,omitempty"`
	DestinationPrefixListID     string `xml:"destinationPrefixListId,omitempty" json:"DestinationPrefixListId,omitempty"`
	GatewayID                   string `xml:"gatewayId,omitempty" json:"GatewayId,omitempty"`
	EgressOnlyInternetGatewayID string `xml:"egressOnlyInternetGatewayId,omitempty" json:"EgressOnlyInternetGatewayId,omitempty"`
	NatGatewayID                string `xml:"natGatewayId,omitempty" json:"NatGatewayId,omitempty"`
	NetworkInterfaceID          string `xml:"networkInterfaceId,omitempty" json:"NetworkInterfaceId,omitempty"`
	InstanceID                  string `xml:"instanceId,omitempty" json:"InstanceId,omitempty"`
	InstanceOwnerID             string `xml:"instanceOwnerId,omitempty" json:"InstanceOwnerId,omitempty"`
	VpcPeeringConnectionID      string `xml:"vpcPeeringConnectionId,omitempty" json:"VpcPeeringConnectionId,omitempty"`
	TransitGatewayID            string `xml:"transitGatewayId,omitempty" json:"TransitGatewayId,omitempty"`
	Origin                      string `xml:"origin,omitempty" json:"Origin,omitempty"`
	State                       string `xml:"state,omitempty" json:"State,omitempty"`
}

// RouteTableAssociation ties a subnet (or, as the main association, the
// VPC) to a route table.
type RouteTableAssociation struct {
	RouteTableAssociationID string                      `xml:"routeTableAssociationId" json:"RouteTableAssociationId"`
	RouteTableID            string                      `xml:"routeTableId" json:"RouteTableId"`
	SubnetID                string                      `xml:"subnetId,omitempty" json:"SubnetId,omitempty"`
	GatewayID               string                      `xml:"gatewayId,omitempty" json:"GatewayId,omitempty"`
	Main                    *bool                       `xml:"main" json:"Main"`
	AssociationState        *RouteTableAssociationState `xml:"associationState,omitempty" json:"AssociationState,omitempty"`
}

// RouteTableAssociationState is an association's state (associated).
type RouteTableAssociationState struct {
	State string `xml:"state" json:"State"`
}

// InternetGateway is an internet gateway.
type InternetGateway struct {
	InternetGatewayID string                          `xml:"internetGatewayId" json:"InternetGatewayId"`
	OwnerID           string                          `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Attachments       List[InternetGatewayAttachment] `xml:"attachmentSet" json:"Attachments"`
	Tags              List[Tag]                       `xml:"tagSet" json:"Tags"`
}

// InternetGatewayAttachment is the VPC a gateway is attached to.
type InternetGatewayAttachment struct {
	VpcID string `xml:"vpcId" json:"VpcId"`
	State string `xml:"state" json:"State"`
}

// NatGateway is a NAT gateway.
type NatGateway struct {
	NatGatewayID        string                  `xml:"natGatewayId" json:"NatGatewayId"`
	SubnetID            string                  `xml:"subnetId" json:"SubnetId"`
	VpcID               string                  `xml:"vpcId" json:"VpcId"`
	State               string                  `xml:"state" json:"State"`
	ConnectivityType    string                  `xml:"connectivityType,omitempty" json:"ConnectivityType,omitempty"`
	CreateTime          *Time                   `xml:"createTime,omitempty" json:"CreateTime,omitempty"`
	NatGatewayAddresses List[NatGatewayAddress] `xml:"natGatewayAddressSet" json:"NatGatewayAddresses"`
	Tags                List[Tag]               `xml:"tagSet" json:"Tags"`
}

// NatGatewayAddress is a NAT gateway's address (its ENI, private and public IP).
type NatGatewayAddress struct {
	AllocationID       string `xml:"allocationId,omitempty" json:"AllocationId,omitempty"`
	NetworkInterfaceID string `xml:"networkInterfaceId,omitempty" json:"NetworkInterfaceId,omitempty"`
	PrivateIP          string `xml:"privateIp,omitempty" json:"PrivateIp,omitempty"`
	PublicIP           string `xml:"publicIp,omitempty" json:"PublicIp,omitempty"`
	AssociationID      string `xml:"associationId,omitempty" json:"AssociationId,omitempty"`
	IsPrimary          *bool  `xml:"isPrimary,omitempty" json:"IsPrimary,omitempty"`
	Status             string `xml:"status,omitempty" json:"Status,omitempty"`
}

// Address is an Elastic IP.
type Address struct {
	AllocationID            string    `xml:"allocationId" json:"AllocationId"`
	PublicIP                string    `xml:"publicIp" json:"PublicIp"`
	Domain                  string    `xml:"domain" json:"Domain"`
	AssociationID           string    `xml:"associationId,omitempty" json:"AssociationId,omitempty"`
	InstanceID              string    `xml:"instanceId,omitempty" json:"InstanceId,omitempty"`
	NetworkInterfaceID      string    `xml:"networkInterfaceId,omitempty" json:"NetworkInterfaceId,omitempty"`
	NetworkInterfaceOwnerID string    `xml:"networkInterfaceOwnerId,omitempty" json:"NetworkInterfaceOwnerId,omitempty"`
	PrivateIPAddress        string    `xml:"privateIpAddress,omitempty" json:"PrivateIpAddress,omitempty"`
	PublicIpv4Pool          string    `xml:"publicIpv4Pool,omitempty" json:"PublicIpv4Pool,omitempty"`
	NetworkBorderGroup      string    `xml:"networkBorderGroup,omitempty" json:"NetworkBorderGroup,omitempty"`
	Tags                    List[Tag] `xml:"tagSet" json:"Tags"`
}

// GroupIdentifier names a security group of an ENI or instance.
type GroupIdentifier struct {
	GroupID   string `xml:"groupId" json:"GroupId"`
	GroupName string `xml:"groupName,omitempty" json:"GroupName,omitempty"`
}

// NetworkInterface is an ENI as DescribeNetworkInterfaces shows it (tags
// under TagSet in JSON, unlike most shapes).
type NetworkInterface struct {
	NetworkInterfaceID string                                 `xml:"networkInterfaceId" json:"NetworkInterfaceId"`
	SubnetID           string                                 `xml:"subnetId" json:"SubnetId"`
	VpcID              string                                 `xml:"vpcId" json:"VpcId"`
	AvailabilityZone   string                                 `xml:"availabilityZone,omitempty" json:"AvailabilityZone,omitempty"`
	Description        string                                 `xml:"description" json:"Description"`
	OwnerID            string                                 `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	RequesterID        string                                 `xml:"requesterId,omitempty" json:"RequesterId,omitempty"`
	RequesterManaged   *bool                                  `xml:"requesterManaged,omitempty" json:"RequesterManaged,omitempty"`
	Status             string                                 `xml:"status,omitempty" json:"Status,omitempty"`
	MacAddress         string                                 `xml:"macAddress,omitempty" json:"MacAddress,omitempty"`
	PrivateIPAddress   string                                 `xml:"privateIpAddress,omitempty" json:"PrivateIpAddress,omitempty"`
	PrivateIPAddresses List[NetworkInterfacePrivateIPAddress] `xml:"privateIpAddressesSet" json:"PrivateIpAddresses"`
	Ipv6Addresses      List[NetworkInterfaceIpv6Address]      `xml:"ipv6AddressesSet" json:"Ipv6Addresses"`
	SourceDestCheck    *bool                                  `xml:"sourceDestCheck,omitempty" json:"SourceDestCheck,omitempty"`
	InterfaceType      string                                 `xml:"interfaceType,omitempty" json:"InterfaceType,omitempty"`
	Groups             List[GroupIdentifier]                  `xml:"groupSet" json:"Groups"`
	Attachment         *NetworkInterfaceAttachment            `xml:"attachment,omitempty" json:"Attachment,omitempty"`
	Association        *NetworkInterfaceAssociation           `xml:"association,omitempty" json:"Association,omitempty"`
	TagSet             List[Tag]                              `xml:"tagSet" json:"TagSet"`
}

// NetworkInterfaceAttachment is the instance an ENI is attached to.
type NetworkInterfaceAttachment struct {
	AttachmentID        string `xml:"attachmentId,omitempty" json:"AttachmentId,omitempty"`
	InstanceID          string `xml:"instanceId,omitempty" json:"InstanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty" json:"InstanceOwnerId,omitempty"`
	DeviceIndex         *int32 `xml:"deviceIndex,omitempty" json:"DeviceIndex,omitempty"`
	Status              string `xml:"status,omitempty" json:"Status,omitempty"`
	DeleteOnTermination *bool  `xml:"deleteOnTermination,omitempty" json:"DeleteOnTermination,omitempty"`
	AttachTime          *Time  `xml:"attachTime,omitempty" json:"AttachTime,omitempty"`
}

// NetworkInterfaceAssociation is the public IPv4 of an ENI's address.
type NetworkInterfaceAssociation struct {
	PublicIP      string `xml:"publicIp,omitempty" json:"PublicIp,omitempty"`
	IPOwnerID     string `xml:"ipOwnerId,omitempty" json:"IpOwnerId,omitempty"`
	AllocationID  string `xml:"allocationId,omitempty" json:"AllocationId,omitempty"`
	AssociationID string `xml:"associationId,omitempty" json:"AssociationId,omitempty"`
}

// NetworkInterfacePrivateIPAddress is one private IPv4 of an ENI.
type NetworkInterfacePrivateIPAddress struct {
	PrivateIPAddress string                       `xml:"privateIpAddress" json:"PrivateIpAddress"`
	Primary          *bool                        `xml:"primary" json:"Primary"`
	Association      *NetworkInterfaceAssociation `xml:"association,omitempty" json:"Association,omitempty"`
}

// NetworkInterfaceIpv6Address is one IPv6 address of an ENI.
type NetworkInterfaceIpv6Address struct {
	Ipv6Address string `xml:"ipv6Address" json:"Ipv6Address"`
}

// Reservation is one RunInstances call's instances.
type Reservation struct {
	ReservationID string                `xml:"reservationId" json:"ReservationId"`
	OwnerID       string                `xml:"ownerId" json:"OwnerId"`
	Groups        List[GroupIdentifier] `xml:"groupSet" json:"Groups"`
	Instances     List[Instance]        `xml:"instancesSet" json:"Instances"`
}

// Instance is an EC2 instance.
type Instance struct {
	InstanceID        string                         `xml:"instanceId" json:"InstanceId"`
	ImageID           string                         `xml:"imageId,omitempty" json:"ImageId,omitempty"`
	State             *InstanceState                 `xml:"instanceState" json:"State"`
	PrivateDNSName    string                         `xml:"privateDnsName,omitempty" json:"PrivateDnsName,omitempty"`
	PublicDNSName     string                         `xml:"dnsName,omitempty" json:"PublicDnsName,omitempty"`
	KeyName           string                         `xml:"keyName,omitempty" json:"KeyName,omitempty"`
	AmiLaunchIndex    *int32                         `xml:"amiLaunchIndex,omitempty" json:"AmiLaunchIndex,omitempty"`
	InstanceType      string                         `xml:"instanceType,omitempty" json:"InstanceType,omitempty"`
	LaunchTime        *Time                          `xml:"launchTime,omitempty" json:"LaunchTime,omitempty"`
	Placement         *Placement                     `xml:"placement,omitempty" json:"Placement,omitempty"`
	Platform          string                         `xml:"platform,omitempty" json:"Platform,omitempty"`
	SubnetID          string                         `xml:"subnetId,omitempty" json:"SubnetId,omitempty"`
	VpcID             string                         `xml:"vpcId,omitempty" json:"VpcId,omitempty"`
	PrivateIPAddress  string                         `xml:"privateIpAddress,omitempty" json:"PrivateIpAddress,omitempty"`
	PublicIPAddress   string                         `xml:"ipAddress,omitempty" json:"PublicIpAddress,omitempty"`
	Ipv6Address       string                         `xml:"ipv6Address,omitempty" json:"Ipv6Address,omitempty"`
	SourceDestCheck   *bool                          `xml:"sourceDestCheck,omitempty" json:"SourceDestCheck,omitempty"`
	SecurityGroups    List[GroupIdentifier]          `xml:"groupSet" json:"SecurityGroups"`
	NetworkInterfaces List[InstanceNetworkInterface] `xml:"networkInterfaceSet" json:"NetworkInterfaces"`
	ClientToken       string                         `xml:"clientToken,omitempty" json:"ClientToken,omitempty"`
	Tags              List[Tag]                      `xml:"tagSet" json:"Tags"`
}

// InstanceState is an instance's state: 0 pending, 16 running,
// 32 shutting-down, 48 terminated, 64 stopping, 80 stopped.
type InstanceState struct {
	Code *int32 `xml:"code" json:"Code"`
	Name string `xml:"name" json:"Name"`
}

// InstanceStateChange is one instance's transition (TerminateInstances).
type InstanceStateChange struct {
	InstanceID    string         `xml:"instanceId" json:"InstanceId"`
	CurrentState  *InstanceState `xml:"currentState" json:"CurrentState"`
	PreviousState *InstanceState `xml:"previousState" json:"PreviousState"`
}

// Placement is where an instance runs.
type Placement struct {
	AvailabilityZone string `xml:"availabilityZone,omitempty" json:"AvailabilityZone,omitempty"`
	Tenancy          string `xml:"tenancy,omitempty" json:"Tenancy,omitempty"`
}

// InstanceNetworkInterface is an ENI as part of an instance.
type InstanceNetworkInterface struct {
	NetworkInterfaceID string                               `xml:"networkInterfaceId" json:"NetworkInterfaceId"`
	SubnetID           string                               `xml:"subnetId" json:"SubnetId"`
	VpcID              string                               `xml:"vpcId" json:"VpcId"`
	Description        string                               `xml:"description" json:"Description"`
	OwnerID            string                               `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Status             string                               `xml:"status,omitempty" json:"Status,omitempty"`
	MacAddress         string                               `xml:"macAddress,omitempty" json:"MacAddress,omitempty"`
	PrivateIPAddress   string                               `xml:"privateIpAddress,omitempty" json:"PrivateIpAddress,omitempty"`
	PrivateIPAddresses List[InstancePrivateIPAddress]       `xml:"privateIpAddressesSet" json:"PrivateIpAddresses"`
	Ipv6Addresses      List[InstanceIpv6Address]            `xml:"ipv6AddressesSet" json:"Ipv6Addresses"`
	SourceDestCheck    *bool                                `xml:"sourceDestCheck,omitempty" json:"SourceDestCheck,omitempty"`
	InterfaceType      string                               `xml:"interfaceType,omitempty" json:"InterfaceType,omitempty"`
	Groups             List[GroupIdentifier]                `xml:"groupSet" json:"Groups"`
	Attachment         *InstanceNetworkInterfaceAttachment  `xml:"attachment,omitempty" json:"Attachment,omitempty"`
	Association        *InstanceNetworkInterfaceAssociation `xml:"association,omitempty" json:"Association,omitempty"`
}

// InstanceNetworkInterfaceAttachment is an instance ENI's attachment.
type InstanceNetworkInterfaceAttachment struct {
	AttachmentID        string `xml:"attachmentId,omitempty" json:"AttachmentId,omitempty"`
	DeviceIndex         *int32 `xml:"deviceIndex" json:"DeviceIndex"`
	Status              string `xml:"status,omitempty" json:"Status,omitempty"`
	DeleteOnTermination *bool  `xml:"deleteOnTermination,omitempty" json:"DeleteOnTermination,omitempty"`
	AttachTime          *Time  `xml:"attachTime,omitempty" json:"AttachTime,omitempty"`
}

// InstanceNetworkInterfaceAssociation is the public IPv4 of an instance ENI.
type InstanceNetworkInterfaceAssociation struct {
	PublicIP  string `xml:"publicIp,omitempty" json:"PublicIp,omitempty"`
	IPOwnerID string `xml:"ipOwnerId,omitempty" json:"IpOwnerId,omitempty"`
}

// InstancePrivateIPAddress is one private IPv4 of an instance ENI.
type InstancePrivateIPAddress struct {
	PrivateIPAddress string                               `xml:"privateIpAddress" json:"PrivateIpAddress"`
	Primary          *bool                                `xml:"primary" json:"Primary"`
	Association      *InstanceNetworkInterfaceAssociation `xml:"association,omitempty" json:"Association,omitempty"`
}

// InstanceIpv6Address is one IPv6 address of an instance ENI.
type InstanceIpv6Address struct {
	Ipv6Address string `xml:"ipv6Address" json:"Ipv6Address"`
}

// PrefixList is an AWS-managed prefix list as DescribePrefixLists shows it.
type PrefixList struct {
	PrefixListID   string       `xml:"prefixListId" json:"PrefixListId"`
	PrefixListName string       `xml:"prefixListName" json:"PrefixListName"`
	Cidrs          List[string] `xml:"cidrSet" json:"Cidrs"`
}

// ManagedPrefixList is a prefix list as DescribeManagedPrefixLists shows it.
type ManagedPrefixList struct {
	PrefixListID   string    `xml:"prefixListId" json:"PrefixListId"`
	PrefixListName string    `xml:"prefixListName,omitempty" json:"PrefixListName,omitempty"`
	AddressFamily  string    `xml:"addressFamily" json:"AddressFamily"`
	State          string    `xml:"state" json:"State"`
	PrefixListArn  string    `xml:"prefixListArn,omitempty" json:"PrefixListArn,omitempty"`
	MaxEntries     *int32    `xml:"maxEntries,omitempty" json:"MaxEntries,omitempty"`
	Version        *int64    `xml:"version,omitempty" json:"Version,omitempty"`
	OwnerID        string    `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Tags           List[Tag] `xml:"tagSet" json:"Tags"`
}

// PrefixListEntry is one CIDR of a managed prefix list.
type PrefixListEntry struct {
	Cidr        string `xml:"cidr" json:"Cidr"`
	Description string `xml:"description,omitempty" json:"Description,omitempty"`
}

// FlowLog is a flow-log subscription.
type FlowLog struct {
	FlowLogID                string                      `xml:"flowLogId" json:"FlowLogId"`
	ResourceID               string                      `xml:"resourceId" json:"ResourceId"`
	TrafficType              string                      `xml:"trafficType" json:"TrafficType"`
	LogDestinationType       string                      `xml:"logDestinationType,omitempty" json:"LogDestinationType,omitempty"`
	LogDestination           string                      `xml:"logDestination,omitempty" json:"LogDestination,omitempty"`
	LogGroupName             string                      `xml:"logGroupName,omitempty" json:"LogGroupName,omitempty"`
	DeliverLogsPermissionArn string                      `xml:"deliverLogsPermissionArn,omitempty" json:"DeliverLogsPermissionArn,omitempty"`
	LogFormat                string                      `xml:"logFormat,omitempty" json:"LogFormat,omitempty"`
	DestinationOptions       *DestinationOptionsResponse `xml:"destinationOptions,omitempty" json:"DestinationOptions,omitempty"`
	MaxAggregationInterval   *int32                      `xml:"maxAggregationInterval,omitempty" json:"MaxAggregationInterval,omitempty"`
	FlowLogStatus            string                      `xml:"flowLogStatus,omitempty" json:"FlowLogStatus,omitempty"`
	DeliverLogsStatus        string                      `xml:"deliverLogsStatus,omitempty" json:"DeliverLogsStatus,omitempty"`
	CreationTime             *Time                       `xml:"creationTime,omitempty" json:"CreationTime,omitempty"`
	Tags                     List[Tag]                   `xml:"tagSet" json:"Tags"`
}

// DestinationOptionsResponse is how a flow log writes to S3.
type DestinationOptionsResponse struct {
	FileFormat               string `xml:"fileFormat,omitempty" json:"FileFormat,omitempty"`
	HiveCompatiblePartitions *bool  `xml:"hiveCompatiblePartitions,omitempty" json:"HiveCompatiblePartitions,omitempty"`
	PerHourPartition         *bool  `xml:"perHourPartition,omitempty" json:"PerHourPartition,omitempty"`
}

// VpcPeeringConnection is a VPC peering connection (import and export
// only: the API does not serve peerings).
type VpcPeeringConnection struct {
	VpcPeeringConnectionID string                           `xml:"vpcPeeringConnectionId" json:"VpcPeeringConnectionId"`
	RequesterVpcInfo       *VpcPeeringConnectionVpcInfo     `xml:"requesterVpcInfo,omitempty" json:"RequesterVpcInfo,omitempty"`
	AccepterVpcInfo        *VpcPeeringConnectionVpcInfo     `xml:"accepterVpcInfo,omitempty" json:"AccepterVpcInfo,omitempty"`
	Status                 *VpcPeeringConnectionStateReason `xml:"status,omitempty" json:"Status,omitempty"`
	Tags                   List[Tag]                        `xml:"tagSet" json:"Tags"`
}

// VpcPeeringConnectionVpcInfo is one side of a peering.
type VpcPeeringConnectionVpcInfo struct {
	VpcID     string `xml:"vpcId" json:"VpcId"`
	OwnerID   string `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Region    string `xml:"region,omitempty" json:"Region,omitempty"`
	CidrBlock string `xml:"cidrBlock,omitempty" json:"CidrBlock,omitempty"`
}

// VpcPeeringConnectionStateReason is a peering's state (Code: active,
// pending-acceptance, …).
type VpcPeeringConnectionStateReason struct {
	Code    string `xml:"code" json:"Code"`
	Message string `xml:"message,omitempty" json:"Message,omitempty"`
}

// EgressOnlyInternetGateway is an egress-only internet gateway (import and
// export only).
type EgressOnlyInternetGateway struct {
	EgressOnlyInternetGatewayID string                          `xml:"egressOnlyInternetGatewayId" json:"EgressOnlyInternetGatewayId"`
	Attachments                 List[InternetGatewayAttachment] `xml:"attachmentSet" json:"Attachments"`
	Tags                        List[Tag]                       `xml:"tagSet" json:"Tags"`
}

// VpcEndpoint is a VPC endpoint; vpcemu models gateway endpoints (import
// and export only).
type VpcEndpoint struct {
	VpcEndpointID   string       `xml:"vpcEndpointId" json:"VpcEndpointId"`
	VpcEndpointType string       `xml:"vpcEndpointType,omitempty" json:"VpcEndpointType,omitempty"`
	VpcID           string       `xml:"vpcId" json:"VpcId"`
	ServiceName     string       `xml:"serviceName" json:"ServiceName"`
	State           string       `xml:"state,omitempty" json:"State,omitempty"`
	RouteTableIDs   List[string] `xml:"routeTableIdSet" json:"RouteTableIds"`
	OwnerID         string       `xml:"ownerId,omitempty" json:"OwnerId,omitempty"`
	Tags            List[Tag]    `xml:"tagSet" json:"Tags"`
}
