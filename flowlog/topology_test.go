package flowlog

import (
	"net/netip"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

func TestENIsFor(t *testing.T) {
	topo := &vpc.Topology{
		Account: "123456789012", Region: "us-east-1",
		VPCs: []vpc.VPC{{ID: "vpc-t1", CIDR: netip.MustParsePrefix("10.0.0.0/16")}},
		Subnets: []vpc.Subnet{
			{ID: "subnet-1", CIDR: netip.MustParsePrefix("10.0.1.0/24"), AZ: "us-east-1a"},
			{ID: "subnet-2", CIDR: netip.MustParsePrefix("10.0.2.0/24"), AZ: "us-east-1c"},
		},
		Instances: []vpc.Instance{
			{ID: "i-b", ENI: vpc.ENI{ID: "eni-b", Subnet: "subnet-2", PrivateIP: netip.MustParseAddr("10.0.2.20")}},
			{ID: "i-a", ENI: vpc.ENI{ID: "eni-a", Subnet: "subnet-1", PrivateIP: netip.MustParseAddr("10.0.1.10"), IPv6: netip.MustParseAddr("2001:db8::a")}},
		},
	}
	ids := func(es []ENIInfo) (out []string) {
		for _, e := range es {
			out = append(out, e.ENI+"/"+e.InstanceID+"/"+e.SubnetID+"/"+e.AZID+"/"+e.Primary.String())
		}
		return out
	}
	for _, tt := range []struct {
		resource string
		want     []string
	}{
		{"vpc-t1", []string{"eni-a/i-a/subnet-1/use1-az1/10.0.1.10", "eni-b/i-b/subnet-2/use1-az3/10.0.2.20"}},
		{"subnet-2", []string{"eni-b/i-b/subnet-2/use1-az3/10.0.2.20"}},
		{"i-a", []string{"eni-a/i-a/subnet-1/use1-az1/10.0.1.10"}},
		{"eni-b", []string{"eni-b/i-b/subnet-2/use1-az3/10.0.2.20"}},
	} {
		es, err := ENIsFor(topo, vpc.FlowLog{ID: "fl-1", Resource: tt.resource})
		if err != nil {
			t.Fatalf("%s: %v", tt.resource, err)
		}
		diffLines(t, ids(es), tt.want)
	}
	if _, err := ENIsFor(topo, vpc.FlowLog{ID: "fl-1", Resource: "vpc-other"}); err == nil {
		t.Error("unknown resource accepted")
	}
	cfg, err := ConfigFor(topo, vpc.FlowLog{ID: "fl-1", Resource: "vpc-t1", TrafficType: "reject", MaxAggregationInterval: 600}, nil)
	if err != nil || cfg.Interval != 600*time.Second || cfg.TrafficType != TrafficReject || len(cfg.ENIs) != 2 {
		t.Errorf("ConfigFor: %+v, %v", cfg, err)
	}
	if _, err := NewAggregator(cfg); err != nil {
		t.Errorf("aggregator from ConfigFor: %v", err)
	}
}

func TestAZID(t *testing.T) {
	for _, tt := range []struct{ region, az, want string }{
		{"us-east-1", "us-east-1a", "use1-az1"},
		{"eu-west-2", "eu-west-2c", "euw2-az3"},
		{"us-east-1", "us-west-2a", ""},
		{"us-east-1", "us-east-1", ""},
		{"us-east-1", "us-east-1A", ""},
	} {
		if got := AZID(tt.region, tt.az); got != tt.want {
			t.Errorf("AZID(%q, %q) = %q, want %q", tt.region, tt.az, got, tt.want)
		}
	}
}

// FL-7: traffic AWS never logs produces no record, and the ENI still gets
// NODATA if that was all its traffic.
func TestExclusions(t *testing.T) {
	topo := &vpc.Topology{
		VPCs:    []vpc.VPC{{ID: "vpc-t1", CIDR: netip.MustParsePrefix("10.0.0.0/16")}},
		Subnets: []vpc.Subnet{{ID: "subnet-1", CIDR: netip.MustParsePrefix("10.0.1.0/24")}},
	}
	clk := &fakeClock{now: at(0)}
	a, err := NewAggregator(Config{ENIs: []ENIInfo{eniA}, Clock: clk.Now, Exclude: NewExclusions(topo)})
	if err != nil {
		t.Fatal(err)
	}
	udp := func(src, dst string, sport, dport uint16) Sample {
		return Sample{ENI: "eni-a", Egress: true, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
			SrcPort: sport, DstPort: dport, Protocol: 17, Packets: 1, First: at(1), Last: at(1)}
	}
	for _, s := range []Sample{
		udp("10.0.1.10", "10.0.0.2", 5353, 53),        // Amazon DNS (VPC base + 2)
		udp("10.0.1.10", "169.254.169.253", 5353, 53), // Amazon DNS, link-local
		udp("10.0.1.10", "169.254.169.254", 5353, 80), // IMDS
		udp("10.0.1.10", "169.254.169.123", 123, 123), // Time Sync
		udp("10.0.1.10", "255.255.255.255", 68, 67),   // DHCP
		udp("10.0.1.10", "10.0.1.1", 5353, 53),        // the subnet's router
	} {
		a.Add(s)
	}
	diffLines(t, lines(DefaultFormat(), a.Flush(at(60))), []string{
		"2 123456789012 eni-a - - - - - - - 1714990500 1714990560 - NODATA",
	})
	a.Add(udp("10.0.1.10", "10.0.5.53", 5353, 53)) // a customer DNS server is logged
	a.Add(udp("10.0.1.10", "10.0.0.3", 5353, 53))
	if recs := a.Flush(at(120)); len(recs) != 2 || recs[0].Status != StatusOK {
		t.Errorf("customer DNS: %v", lines(DefaultFormat(), recs))
	}
}

// FL-1 on routed topologies: a VPC's flow log covers every ENI of its
// subnets (an instance's secondary ENIs, a NAT gateway's, whose records
// carry no instance id) and none of another VPC's.
func TestENIsForRouted(t *testing.T) {
	topo := &vpc.Topology{
		Region: "us-east-1",
		VPCs: []vpc.VPC{{ID: "vpc-1", CIDR: netip.MustParsePrefix("10.0.0.0/16")},
			{ID: "vpc-2", CIDR: netip.MustParsePrefix("10.1.0.0/16")}},
		Subnets: []vpc.Subnet{
			{ID: "P", VPC: "vpc-1", CIDR: netip.MustParsePrefix("10.0.1.0/24"), AZ: "us-east-1a"},
			{ID: "Q", VPC: "vpc-1", CIDR: netip.MustParsePrefix("10.0.2.0/24"), AZ: "us-east-1a"},
			{ID: "R", VPC: "vpc-2", CIDR: netip.MustParsePrefix("10.1.1.0/24"), AZ: "us-east-1a"},
		},
		Instances: []vpc.Instance{
			{ID: "appl", ENI: vpc.ENI{ID: "eni-a0", Subnet: "P", PrivateIP: netip.MustParseAddr("10.0.1.5")},
				Secondary: []vpc.ENI{{ID: "eni-a1", Subnet: "Q", PrivateIP: netip.MustParseAddr("10.0.2.5"), DeviceIndex: 1}}},
			{ID: "B", ENI: vpc.ENI{ID: "eni-b", Subnet: "R", PrivateIP: netip.MustParseAddr("10.1.1.30")}},
		},
		NATGateways: []vpc.NATGateway{{ID: "nat-1", Subnet: "P", ENI: "eni-ngw", PrivateIP: netip.MustParseAddr("10.0.1.100")}},
	}
	ids := func(es []ENIInfo) (out []string) {
		for _, e := range es {
			out = append(out, e.ENI+"/"+e.InstanceID+"/"+e.SubnetID+"/"+e.VPCID)
		}
		return out
	}
	for _, tt := range []struct {
		resource string
		want     []string
	}{
		{"vpc-1", []string{"eni-a0/appl/P/vpc-1", "eni-a1/appl/Q/vpc-1", "eni-ngw//P/vpc-1"}},
		{"vpc-2", []string{"eni-b/B/R/vpc-2"}},
		{"appl", []string{"eni-a0/appl/P/vpc-1", "eni-a1/appl/Q/vpc-1"}},
		{"Q", []string{"eni-a1/appl/Q/vpc-1"}},
		{"eni-ngw", []string{"eni-ngw//P/vpc-1"}},
	} {
		es, err := ENIsFor(topo, vpc.FlowLog{ID: "fl-1", Resource: tt.resource})
		if err != nil {
			t.Fatalf("%s: %v", tt.resource, err)
		}
		diffLines(t, ids(es), tt.want)
	}
}
