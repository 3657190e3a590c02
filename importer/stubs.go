package importer

import "github.com/vpcemu/vpcemu/vpc"

var awsTopKeys = []string{"Vpcs", "Subnets", "SecurityGroups", "SecurityGroupRules", "NetworkAcls", "RouteTables", "InternetGateways",
	"NatGateways", "NetworkInterfaces", "Reservations", "Addresses", "PrefixLists", "Entries", "FlowLogs", "VpcPeeringConnections"}

func importAWS(b *builder, files []File)        {}
func (b *builder) internetAuto(t *vpc.Topology) {}
func (b *builder) servicesAuto(t *vpc.Topology) {}
