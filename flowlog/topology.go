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
// subnet, or its one instance/ENI; an instance's every ENI, a NAT
// gateway's ENI) with the metadata records carry, sorted by ENI id.
func ENIsFor(t *vpc.Topology, fl vpc.FlowLog) ([]ENIInfo, error) {
	found := t.VPC(fl.Resource) != nil || t.Subnet(fl.Resource) != nil
	var out []ENIInfo
	add := func(instance string, e *vpc.ENI) {
		sn := t.Subnet(e.Subnet)
		if sn == nil {
			return
		}
		vpcID := sn.VPC
		if vpcID == "" && len(t.VPCs) > 0 { // a one-VPC topology built in code
			vpcID = t.VPCs[0].ID
		}
		if fl.Resource != vpcID && fl.Resource != sn.ID && fl.Resource != instance && fl.Resource != e.ID {
			return
		}
		found = true
		info := ENIInfo{
			ENI: e.ID, InstanceID: instance, SubnetID: sn.ID, VPCID: vpcID,
			AZ: sn.AZ, AZID: AZID(t.Region, sn.AZ), Region: t.Region, Account: t.Account,
			Primary: e.PrivateIP,
		}
		info.Addrs = append(info.Addrs, e.PrivateIP)
		if e.IPv6.IsValid() {
			info.Addrs = append(info.Addrs, e.IPv6)
		}
		info.Addrs = append(info.Addrs, e.SecondaryIPs...)
		out = append(out, info)
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		if in.ID == fl.Resource {
			found = true
		}
		for _, e := range in.ENIs() {
			add(in.ID, e)
		}
	}
	// A NAT gateway's ENI is requester-managed: its records carry no
	// instance id.
	for _, g := range t.NATGateways {
		add("", &vpc.ENI{ID: g.ENI, Subnet: g.Subnet, PrivateIP: g.PrivateIP})
	}
	if !found {
		return nil, fmt.Errorf("flow log %s: resource %q is not a VPC, a subnet, an instance or an ENI", fl.ID, fl.Resource)
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
