package importer

var awsTopKeys = []string{"Vpcs", "Subnets", "SecurityGroups", "SecurityGroupRules", "NetworkAcls", "RouteTables", "InternetGateways",
	"NatGateways", "NetworkInterfaces", "Reservations", "Addresses", "PrefixLists", "Entries", "FlowLogs", "VpcPeeringConnections"}

func importAWS(b *builder, files []File) {}
