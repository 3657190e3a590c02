package flowlog

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// ENIsFor lists the ENIs a flow log monitors (FL-1: every ENI of its VPC or
// subnet, or its one instance/ENI) with the metadata records carry, sorted
// by ENI id.
func ENIsFor(t *vpc.Topology, fl vpc.FlowLog) ([]ENIInfo, error) {
	subnets := make(map[string]vpc.Subnet, len(t.Subnets))
	for _, s := range t.Subnets {
		subnets[s.ID] = s
	}
	var out []ENIInfo
	found := fl.Resource == t.VPCs[0].ID
	if _, ok := subnets[fl.Resource]; ok {
		found = true
	}
	for _, in := range t.Instances {
		if in.ID == fl.Resource || in.ENI.ID == fl.Resource {
			found = true
		}
		if fl.Resource != t.VPCs[0].ID && fl.Resource != in.Subnet && fl.Resource != in.ID && fl.Resource != in.ENI.ID {
			continue
		}
		sn := subnets[in.Subnet]
		info := ENIInfo{
			ENI: in.ENI.ID, InstanceID: in.ID, SubnetID: in.Subnet, VPCID: t.VPCs[0].ID,
			AZ: sn.AZ, AZID: AZID(t.Region, sn.AZ), Region: t.Region, Account: t.Account,
			Primary: in.PrivateIP,
		}
		info.Addrs = append(info.Addrs, in.PrivateIP)
		if in.IPv6.IsValid() {
			info.Addrs = append(info.Addrs, in.IPv6)
		}
		out = append(out, info)
	}
	if !found {
		return nil, fmt.Errorf("flow log %s: resource %q is not the VPC, a subnet, an instance or an ENI", fl.ID, fl.Resource)
	}
	slices.SortFunc(out, func(a, b ENIInfo) int { return cmp.Compare(a.ENI, b.ENI) })
	return out, nil
}

// AZID makes up a stable AZ ID for an AZ name (us-east-1a -> use1-az1).
// AWS maps names to IDs per account; vpcemu has no such mapping, so it uses
// the AZ letter's position in the region's short code. Returns "" when az
// is not region + one letter.
func AZID(region, az string) string {
	if len(az) != len(region)+1 || !strings.HasPrefix(az, region) {
		return ""
	}
	l := az[len(region)]
	if l < 'a' || l > 'z' {
		return ""
	}
	var short strings.Builder
	for i, part := range strings.Split(region, "-") {
		if i == 0 || part == "" || (part[0] >= '0' && part[0] <= '9') {
			short.WriteString(part)
			continue
		}
		short.WriteByte(part[0])
	}
	return fmt.Sprintf("%s-az%d", short.String(), int(l-'a')+1)
}

// ConfigFor is the Aggregator configuration of a flow log of topology t.
func ConfigFor(t *vpc.Topology, fl vpc.FlowLog, clock Clock) (Config, error) {
	enis, err := ENIsFor(t, fl)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Interval:    time.Duration(fl.MaxAggregationInterval) * time.Second,
		TrafficType: TrafficType(strings.ToUpper(fl.TrafficType)),
		ENIs:        enis,
		Clock:       clock,
		Exclude:     NewExclusions(t),
	}, nil
}
