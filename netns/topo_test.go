package netns_test

import (
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// labTopology is the lab of vpc/lab.yaml plus IPv6 and a
// second instance in the public subnet, built in code so that these tests do
// not depend on the parser. Name is left empty for testenv.Build to fill.
func labTopology() *vpc.Topology {
	pp := netip.MustParsePrefix
	pa := netip.MustParseAddr
	return &vpc.Topology{
		Account: "123456789012",
		Region:  "ap-northeast-2",
		VPCs:    []vpc.VPC{{ID: "vpc-lab", CIDR: pp("10.0.0.0/16"), IPv6CIDR: pp("2600:1f18:1234:5600::/56")}},
		Subnets: []vpc.Subnet{
			{ID: "subnet-public", CIDR: pp("10.0.1.0/24"), IPv6CIDR: pp("2600:1f18:1234:5601::/64"), Public: true, NetworkACL: vpc.DefaultNACLID},
			{ID: "subnet-private", CIDR: pp("10.0.2.0/24"), IPv6CIDR: pp("2600:1f18:1234:5602::/64"), NetworkACL: vpc.DefaultNACLID},
		},
		Instances: []vpc.Instance{
			{ID: "i-web", ENI: vpc.ENI{ID: "eni-web", Subnet: "subnet-public", PrivateIP: pa("10.0.1.10"), PublicIP: pa("203.0.113.10"), IPv6: pa("2600:1f18:1234:5601::10"), SecurityGroups: []string{vpc.DefaultSGID}}, OS: "amazon-linux"},
			{ID: "i-app", ENI: vpc.ENI{ID: "eni-app", Subnet: "subnet-public", PrivateIP: pa("10.0.1.11"), SecurityGroups: []string{vpc.DefaultSGID}}, OS: "windows"},
			{ID: "i-db", ENI: vpc.ENI{ID: "eni-db", Subnet: "subnet-private", PrivateIP: pa("10.0.2.20"), IPv6: pa("2600:1f18:1234:5602::20"), SecurityGroups: []string{vpc.DefaultSGID}}, OS: "amazon-linux"},
		},
		Internet: []vpc.InternetHost{
			{Name: "laptop", IP: pa("198.51.100.10"), IPv6: pa("2001:db8:10::10"), OS: "windows"},
			{Name: "stranger", IP: pa("192.0.2.66"), OS: "linux"},
			{Name: "website", IP: pa("203.0.113.80"), IPv6: pa("2001:db8:80::80"), OS: "linux"},
		},
	}
}
