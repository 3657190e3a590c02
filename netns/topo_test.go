package netns_test

import (
	"fmt"
	"net/netip"

	"github.com/vpcemu/vpcemu/vpc"
)

// labTopology is the lab of ../shared/examples/lab.yaml plus IPv6 and a
// second instance in the public subnet, built in code so that these tests do
// not depend on the parser. Name is left empty for testenv.Build to fill.
func labTopology() *vpc.Topology {
	pp := netip.MustParsePrefix
	pa := netip.MustParseAddr
	return &vpc.Topology{
		Account: "123456789012",
		Region:  "ap-northeast-2",
		VPC:     vpc.VPC{ID: "vpc-lab", CIDR: pp("10.0.0.0/16"), IPv6CIDR: pp("2600:1f18:1234:5600::/56")},
		Subnets: []vpc.Subnet{
			{ID: "subnet-public", CIDR: pp("10.0.1.0/24"), IPv6CIDR: pp("2600:1f18:1234:5601::/64"), Public: true, NetworkACL: vpc.DefaultNACLID},
			{ID: "subnet-private", CIDR: pp("10.0.2.0/24"), IPv6CIDR: pp("2600:1f18:1234:5602::/64"), NetworkACL: vpc.DefaultNACLID},
		},
		Instances: []vpc.Instance{
			{ID: "i-web", ENI: "eni-web", Subnet: "subnet-public", PrivateIP: pa("10.0.1.10"), PublicIP: pa("203.0.113.10"), IPv6: pa("2600:1f18:1234:5601::10"), OS: "amazon-linux", SecurityGroups: []string{vpc.DefaultSGID}},
			{ID: "i-app", ENI: "eni-app", Subnet: "subnet-public", PrivateIP: pa("10.0.1.11"), OS: "windows", SecurityGroups: []string{vpc.DefaultSGID}},
			{ID: "i-db", ENI: "eni-db", Subnet: "subnet-private", PrivateIP: pa("10.0.2.20"), IPv6: pa("2600:1f18:1234:5602::20"), OS: "amazon-linux", SecurityGroups: []string{vpc.DefaultSGID}},
		},
		Internet: []vpc.InternetHost{
			{Name: "laptop", IP: pa("198.51.100.10"), IPv6: pa("2001:db8:10::10"), OS: "windows"},
			{Name: "stranger", IP: pa("192.0.2.66"), OS: "linux"},
			{Name: "website", IP: pa("203.0.113.80"), IPv6: pa("2001:db8:80::80"), OS: "linux"},
		},
	}
}

// genTopology is a VPC of n instances spread over two public and two private
// /22 subnets, every instance in a public subnet with a public IP, all with
// IPv6, and three internet hosts: the shape `vpcemu bench topology` uses.
func genTopology(name string, n int) *vpc.Topology {
	pp := netip.MustParsePrefix
	t := &vpc.Topology{
		Name: name,
		VPC:  vpc.VPC{ID: "vpc-gen", CIDR: pp("10.0.0.0/16"), IPv6CIDR: pp("2600:1f18:1234:5600::/56")},
		Internet: []vpc.InternetHost{
			{Name: "laptop", IP: netip.MustParseAddr("198.51.100.10"), OS: "windows"},
			{Name: "stranger", IP: netip.MustParseAddr("192.0.2.66"), OS: "linux"},
			{Name: "website", IP: netip.MustParseAddr("203.0.113.80"), OS: "linux"},
		},
	}
	for s := 0; s < 4; s++ {
		t.Subnets = append(t.Subnets, vpc.Subnet{
			ID:         fmt.Sprintf("subnet-%d", s),
			CIDR:       pp(fmt.Sprintf("10.0.%d.0/22", 4*s)),
			IPv6CIDR:   pp(fmt.Sprintf("2600:1f18:1234:56%02x::/64", s)),
			Public:     s < 2,
			NetworkACL: vpc.DefaultNACLID,
		})
	}
	pub := 0
	for i := 0; i < n; i++ {
		s := i % 4
		k := i/4 + 10 // skip the reserved addresses at the start of each subnet
		in := vpc.Instance{
			ID:             fmt.Sprintf("i-%04d", i),
			ENI:            fmt.Sprintf("eni-%04d", i),
			Subnet:         t.Subnets[s].ID,
			PrivateIP:      netip.AddrFrom4([4]byte{10, 0, byte(4*s + k/256), byte(k % 256)}),
			IPv6:           netip.MustParseAddr(fmt.Sprintf("2600:1f18:1234:56%02x::%x", s, k)),
			OS:             []string{"amazon-linux", "windows"}[i%2],
			SecurityGroups: []string{vpc.DefaultSGID},
		}
		if t.Subnets[s].Public {
			blocks := [][3]byte{{203, 0, 113}, {198, 51, 100}, {192, 0, 2}}
			b := blocks[pub/150] // .100 and up: clear of the internet hosts
			in.PublicIP = netip.AddrFrom4([4]byte{b[0], b[1], b[2], byte(pub%150 + 100)})
			pub++
		}
		t.Instances = append(t.Instances, in)
	}
	return t
}
