package ec2api

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// DefaultOS and DefaultServices are what an instance launched through the
// API runs [INTERP]: EC2 knows AMIs, not vpcemu's OS profiles and
// services, so it gets Amazon Linux's ephemeral ports and an HTTP server
// and sshd, enough for curl and ssh to reach it.
var (
	DefaultOS       = "amazon-linux"
	DefaultServices = []vpc.Service{{Kind: "http", Port: 80}, {Kind: "ssh", Port: 22}}
)

type placementIn struct {
	AvailabilityZone string `ec2:"AvailabilityZone"`
}

type niSpecIn struct {
	DeviceIndex                    *int32   `ec2:"DeviceIndex"`
	SubnetID                       string   `ec2:"SubnetId"`
	Groups                         []string `ec2:"SecurityGroupId"`
	AssociatePublicIPAddress       *bool    `ec2:"AssociatePublicIpAddress"`
	PrivateIPAddress               string   `ec2:"PrivateIpAddress"`
	NetworkInterfaceID             string   `ec2:"NetworkInterfaceId"`
	Description                    string   `ec2:"Description"`
	SecondaryPrivateIPAddressCount *int32   `ec2:"SecondaryPrivateIpAddressCount"`
}

type runInstancesIn struct {
	MinCount          int32              `ec2:"MinCount,required"`
	MaxCount          int32              `ec2:"MaxCount,required"`
	ImageID           string             `ec2:"ImageId"`
	InstanceType      string             `ec2:"InstanceType"`
	KeyName           string             `ec2:"KeyName"`
	SubnetID          string             `ec2:"SubnetId"`
	SecurityGroupIDs  []string           `ec2:"SecurityGroupId"`
	SecurityGroups    []string           `ec2:"SecurityGroup"`
	PrivateIPAddress  string             `ec2:"PrivateIpAddress"`
	NetworkInterfaces []niSpecIn         `ec2:"NetworkInterface"`
	Placement         *placementIn       `ec2:"Placement"`
	ClientToken       string             `ec2:"ClientToken"`
	TagSpecifications []TagSpecification `ec2:"TagSpecification"`
	DryRun            bool               `ec2:"DryRun"`
}

// resolveGroups turns group ids and names into ids of the VPC's groups;
// none means the VPC's default group.
func resolveGroups(t *vpc.Topology, p *vpc.VPC, ids, names []string) ([]string, *Error) {
	var out []string
	for _, id := range ids {
		g := t.SecurityGroup(id)
		if g == nil {
			return nil, kSG.notFound(id)
		}
		if g.VPC != p.ID {
			return nil, invalidValue("Security group %s and subnet belong to different networks (%s, %s).", id, g.VPC, p.ID)
		}
		out = append(out, id)
	}
	for _, n := range names {
		found := ""
		for _, g := range t.SecurityGroups {
			if g.VPC == p.ID && g.Name == n {
				found = g.ID
			}
		}
		if found == "" {
			return nil, Errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in VPC '%s'", n, p.ID)
		}
		out = append(out, found)
	}
	if len(out) == 0 {
		out = []string{p.DefaultSG}
	}
	return out, nil
}

func parseHostIP(param, s string) (netip.Addr, *Error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, invalidValue("Value (%s) for parameter %s is invalid. This is not a valid IPv4 address.", s, param)
	}
	return a, nil
}

// runInstances launches MaxCount instances, each with a primary ENI in the
// subnet (or the ENIs of NetworkInterface.N), the given groups or the
// VPC's default one, and a public IP where asked or where the subnet maps
// one on launch.
func runInstances(c *call, in *runInstancesIn) (*awsshape.Reservation, error) {
	if in.MinCount < 1 || in.MaxCount < in.MinCount {
		return nil, invalidValue("Value (%d) for parameter minCount is invalid with maxCount %d: 1 <= MinCount <= MaxCount.", in.MinCount, in.MaxCount)
	}
	if in.MaxCount > 20 {
		return nil, Errorf("InstanceLimitExceeded", "You have requested more instances (%d) than your current instance limit of 20 allows.", in.MaxCount)
	}
	nis := in.NetworkInterfaces
	if len(nis) > 0 && (in.SubnetID != "" || len(in.SecurityGroupIDs) > 0 || len(in.SecurityGroups) > 0 || in.PrivateIPAddress != "") {
		return nil, Errorf("InvalidParameterCombination", "Network interfaces and an instance-level subnet ID, security groups or private IP address may not be specified on the same request")
	}
	if len(nis) == 0 {
		if in.SubnetID == "" {
			return nil, Errorf("VPCIdNotSpecified", "No default VPC for this user: give SubnetId or NetworkInterface.1.SubnetId.")
		}
		nis = []niSpecIn{{DeviceIndex: awsshape.Int(0), SubnetID: in.SubnetID, Groups: in.SecurityGroupIDs, PrivateIPAddress: in.PrivateIPAddress}}
	}
	primary := -1
	for i, ni := range nis {
		if ni.NetworkInterfaceID != "" {
			return nil, Errorf("UnsupportedOperation", "vpcemu has no unattached network interfaces to attach (NetworkInterface.%d.NetworkInterfaceId).", i+1)
		}
		if ni.DeviceIndex == nil {
			return nil, missing(fmt.Sprintf("NetworkInterface.%d.DeviceIndex", i+1))
		}
		if *ni.DeviceIndex == 0 {
			primary = i
		}
		if ni.SubnetID == "" {
			return nil, missing(fmt.Sprintf("NetworkInterface.%d.SubnetId", i+1))
		}
		if ni.PrivateIPAddress != "" && in.MaxCount > 1 {
			return nil, invalidValue("Cannot specify a private IP address when launching more than one instance (MaxCount %d).", in.MaxCount)
		}
	}
	if primary < 0 {
		return nil, invalidValue("No network interface with DeviceIndex 0.")
	}
	var instTags, eniTags vpc.Tags
	for i, s := range in.TagSpecifications {
		var into *vpc.Tags
		switch s.ResourceType {
		case "instance":
			into = &instTags
		case "network-interface":
			into = &eniTags
		case "volume", "spot-instances-request", "elastic-gpu":
			continue // vpcemu has none of these to tag
		default:
			return nil, invalidValue("'%s' is not a valid taggable resource type for this operation (TagSpecification.%d.ResourceType).", s.ResourceType, i+1)
		}
		if *into == nil {
			*into = vpc.Tags{}
		}
		if err := addTags(*into, s.Tags); err != nil {
			return nil, err
		}
	}
	rid := newID("r")
	var ids []string
	v, err := c.apply(func(t *vpc.Topology) error {
		takenPriv, takenPub := map[netip.Addr]bool{}, map[netip.Addr]bool{}
		for n := 0; n < int(in.MaxCount); n++ {
			inst := vpc.Instance{ID: newID("i"), OS: DefaultOS, Services: slices.Clone(DefaultServices), Conntrack: vpc.DefaultConntrack, Tags: clone(instTags)}
			az := ""
			for i, ni := range nis {
				s := t.Subnet(ni.SubnetID)
				if s == nil {
					return kSubnet.notFound(ni.SubnetID)
				}
				if az == "" {
					az = s.AZ
				} else if s.AZ != az {
					return invalidValue("The network interfaces of an instance must be in one availability zone (%s is in %s, not %s).", s.ID, s.AZ, az)
				}
				if in.Placement != nil && in.Placement.AvailabilityZone != "" && in.Placement.AvailabilityZone != s.AZ {
					return invalidValue("Placement.AvailabilityZone %s is not the subnet's %s.", in.Placement.AvailabilityZone, s.AZ)
				}
				p := t.VPC(s.VPC)
				names := []string(nil)
				if i == primary {
					names = in.SecurityGroups
				}
				groups, err := resolveGroups(t, p, ni.Groups, names)
				if err != nil {
					return err
				}
				e := vpc.ENI{ID: newID("eni"), Subnet: s.ID, SecurityGroups: groups, DeviceIndex: int(*ni.DeviceIndex),
					Description: ni.Description, Tags: clone(eniTags)}
				if ni.PrivateIPAddress != "" {
					a, err := parseHostIP(fmt.Sprintf("NetworkInterface.%d.PrivateIpAddress", i+1), ni.PrivateIPAddress)
					if err != nil {
						return err
					}
					if used := ipUser(t, a); used != "" {
						return Errorf("InvalidIPAddress.InUse", "Address %s is in use by %s.", a, used)
					}
					e.PrivateIP = a
				} else {
					a, err := freeIP(t, s, takenPriv)
					if err != nil {
						return err
					}
					e.PrivateIP = a
				}
				takenPriv[e.PrivateIP] = true
				public := s.MapPublicIPOnLaunch
				if ni.AssociatePublicIPAddress != nil {
					public = *ni.AssociatePublicIPAddress
				}
				if public && i == primary {
					a, err := freePublicIP(t, takenPub)
					if err != nil {
						return err
					}
					e.PublicIP, takenPub[a] = a, true
				}
				if i == primary {
					inst.ENI = e
				} else {
					inst.Secondary = append(inst.Secondary, e)
				}
			}
			ids = append(ids, inst.ID)
			t.Instances = append(t.Instances, inst)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	typ := in.InstanceType
	if typ == "" {
		typ = "m1.small" // EC2's default
	}
	for n, id := range ids {
		c.reg.ann.Instances[id] = awsshape.InstanceInfo{ImageID: in.ImageID, InstanceType: typ, KeyName: in.KeyName,
			ReservationID: rid, ClientToken: in.ClientToken, LaunchTime: c.now, LaunchIndex: n}
	}
	out := &awsshape.Reservation{ReservationID: rid, OwnerID: v.T.Account, Groups: awsshape.List[awsshape.GroupIdentifier]{}, Instances: awsshape.List[awsshape.Instance]{}}
	for _, id := range ids {
		x := v.Instance(v.T.Instance(id))
		st := awsshape.StatePending // EC2's answer to the launch; Describe shows running
		x.State = &st
		out.Instances = append(out.Instances, x)
	}
	return out, nil
}

func clone(t vpc.Tags) vpc.Tags {
	if t == nil {
		return nil
	}
	out := make(vpc.Tags, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// ipUser names what holds a private address, "" when free.
func ipUser(t *vpc.Topology, a netip.Addr) string {
	for i := range t.Instances {
		for _, e := range t.Instances[i].ENIs() {
			if e.PrivateIP == a || slices.Contains(e.SecondaryIPs, a) {
				return e.ID
			}
		}
	}
	for _, n := range t.NATGateways {
		if n.PrivateIP == a {
			return n.ID
		}
	}
	return ""
}

type describeInstancesIn struct {
	DescribeCommon
	InstanceIDs []string `ec2:"InstanceId"`
}

type describeInstancesOut struct {
	Reservations awsshape.List[awsshape.Reservation] `xml:"reservationSet"`
	NextToken    string                              `xml:"nextToken,omitempty"`
}

var instanceFilters = filterFns[awsshape.Instance]{
	"instance-id":         func(x *awsshape.Instance) []string { return one(x.InstanceID) },
	"vpc-id":              func(x *awsshape.Instance) []string { return one(x.VpcID) },
	"subnet-id":           func(x *awsshape.Instance) []string { return one(x.SubnetID) },
	"instance-state-name": func(x *awsshape.Instance) []string { return one(x.State.Name) },
	"instance-state-code": func(x *awsshape.Instance) []string { return intStr(x.State.Code) },
	"private-ip-address":  func(x *awsshape.Instance) []string { return one(x.PrivateIPAddress) },
	"ip-address":          func(x *awsshape.Instance) []string { return one(x.PublicIPAddress) },
	"image-id":            func(x *awsshape.Instance) []string { return one(x.ImageID) },
	"instance-type":       func(x *awsshape.Instance) []string { return one(x.InstanceType) },
	"key-name":            func(x *awsshape.Instance) []string { return one(x.KeyName) },
	"reservation-id":      func(x *awsshape.Instance) []string { return nil }, // set per reservation below
	"availability-zone": func(x *awsshape.Instance) []string {
		if x.Placement == nil {
			return nil
		}
		return one(x.Placement.AvailabilityZone)
	},
	"instance.group-id": func(x *awsshape.Instance) []string {
		var out []string
		for _, g := range x.SecurityGroups {
			out = append(out, g.GroupID)
		}
		return out
	},
	"instance.group-name": func(x *awsshape.Instance) []string {
		var out []string
		for _, g := range x.SecurityGroups {
			out = append(out, g.GroupName)
		}
		return out
	},
	"network-interface.network-interface-id": func(x *awsshape.Instance) []string {
		var out []string
		for _, n := range x.NetworkInterfaces {
			out = append(out, n.NetworkInterfaceID)
		}
		return out
	},
}

// describeInstances lists running instances and, for an hour after
// TerminateInstances, terminated ones (as EC2 keeps showing them).
func describeInstances(c *call, in *describeInstancesIn) (*describeInstancesOut, error) {
	v := c.view()
	var all []awsshape.Instance
	rids := map[string]string{}
	for _, r := range v.Reservations() {
		for _, x := range r.Instances {
			all = append(all, x)
			rids[x.InstanceID] = r.ReservationID
		}
	}
	for _, tomb := range c.reg.terminated(c.now) {
		all = append(all, tomb.instance)
		rids[tomb.instance.InstanceID] = tomb.reservation
	}
	items, err := selectIDs(all, in.InstanceIDs, func(x *awsshape.Instance) string { return x.InstanceID }, kInstance)
	if err != nil {
		return nil, err
	}
	fs := filterFns[awsshape.Instance]{}
	for k, f := range instanceFilters {
		fs[k] = f
	}
	fs["reservation-id"] = func(x *awsshape.Instance) []string { return one(rids[x.InstanceID]) }
	if items, err = applyFilters(items, in.Filters, fs, func(x *awsshape.Instance) awsshape.List[awsshape.Tag] { return x.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &describeInstancesOut{Reservations: awsshape.List[awsshape.Reservation]{}, NextToken: next}
	at := map[string]int{}
	for _, x := range items {
		rid := rids[x.InstanceID]
		j, ok := at[rid]
		if !ok {
			j = len(out.Reservations)
			at[rid] = j
			out.Reservations = append(out.Reservations, awsshape.Reservation{ReservationID: rid, OwnerID: v.T.Account,
				Groups: awsshape.List[awsshape.GroupIdentifier]{}, Instances: awsshape.List[awsshape.Instance]{}})
		}
		out.Reservations[j].Instances = append(out.Reservations[j].Instances, x)
	}
	return out, nil
}

// tombstone is a terminated instance as DescribeInstances still shows it.
type tombstone struct {
	instance    awsshape.Instance
	reservation string
	at          time.Time
}

// tombstoneTTL is how long terminated instances stay visible (EC2: about
// an hour).
const tombstoneTTL = time.Hour

// terminated returns the tombstones still visible at now.
func (r *region) terminated(now time.Time) []tombstone {
	var out []tombstone
	for _, t := range r.tombstones {
		if now.Sub(t.at) < tombstoneTTL {
			out = append(out, t)
		}
	}
	return out
}

type terminateInstancesIn struct {
	InstanceIDs []string `ec2:"InstanceId,required"`
	DryRun      bool     `ec2:"DryRun"`
}

type terminateInstancesOut struct {
	TerminatingInstances awsshape.List[awsshape.InstanceStateChange] `xml:"instancesSet"`
}

// terminateInstances removes instances with their ENIs: their Elastic IPs
// are disassociated, routes to them become blackholes, flow logs on them
// go.
func terminateInstances(c *call, in *terminateInstancesIn) (*terminateInstancesOut, error) {
	before := c.view()
	var gone []tombstone
	out := &terminateInstancesOut{TerminatingInstances: awsshape.List[awsshape.InstanceStateChange]{}}
	_, err := c.apply(func(t *vpc.Topology) error {
		for _, id := range in.InstanceIDs {
			inst := t.Instance(id)
			if inst == nil {
				if slices.ContainsFunc(c.reg.terminated(c.now), func(x tombstone) bool { return x.instance.InstanceID == id }) {
					term := awsshape.StateTerminated
					out.TerminatingInstances = append(out.TerminatingInstances, awsshape.InstanceStateChange{InstanceID: id, CurrentState: &term, PreviousState: &term})
					continue
				}
				return kInstance.notFound(id)
			}
			x := before.Instance(before.T.Instance(id))
			term := awsshape.StateTerminated
			x.State = &term
			x.PublicIPAddress, x.PrivateDNSName = "", ""
			x.NetworkInterfaces = awsshape.List[awsshape.InstanceNetworkInterface]{}
			x.SecurityGroups = awsshape.List[awsshape.GroupIdentifier]{}
			gone = append(gone, tombstone{instance: x, reservation: before.ReservationID(id), at: c.now})
			var enis []string
			for _, e := range inst.ENIs() {
				enis = append(enis, e.ID)
			}
			for i := range t.ElasticIPs {
				if e := &t.ElasticIPs[i]; e.ENI == id || slices.Contains(enis, e.ENI) {
					e.ENI, e.PrivateIP = "", netip.Addr{}
				}
			}
			t.FlowLogs = slices.DeleteFunc(t.FlowLogs, func(f vpc.FlowLog) bool { return f.Resource == id || slices.Contains(enis, f.Resource) })
			t.Instances = slices.DeleteFunc(t.Instances, func(x vpc.Instance) bool { return x.ID == id })
			t.RefreshRouteStates()
			run, shut := awsshape.StateRunning, awsshape.StateShutting
			out.TerminatingInstances = append(out.TerminatingInstances, awsshape.InstanceStateChange{InstanceID: id, CurrentState: &shut, PreviousState: &run})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.reg.tombstones = append(c.reg.terminated(c.now), gone...)
	for _, g := range gone {
		delete(c.reg.ann.Instances, g.instance.InstanceID)
	}
	return out, nil
}

type attributeValueIn struct {
	Value *string `ec2:"Value"`
}

type modifyInstanceAttributeIn struct {
	InstanceID      string            `ec2:"InstanceId,required"`
	Groups          []string          `ec2:"GroupId"`
	SourceDestCheck *attributeBool    `ec2:"SourceDestCheck"`
	Attribute       string            `ec2:"Attribute"`
	Value           string            `ec2:"Value"`
	InstanceType    *attributeValueIn `ec2:"InstanceType"`
	DryRun          bool              `ec2:"DryRun"`
}

// modifyInstanceAttribute changes the primary ENI's groups or the
// instance's source/destination check, one attribute per call.
func modifyInstanceAttribute(c *call, in *modifyInstanceAttributeIn) (*returnTrue, error) {
	groups, sdc := in.Groups, in.SourceDestCheck
	switch in.Attribute {
	case "":
	case "groupSet":
		groups = []string{in.Value}
	case "sourceDestCheck":
		b := in.Value == "true"
		if in.Value != "true" && in.Value != "false" {
			return nil, invalidValue("Value (%s) for parameter value is invalid: true or false.", in.Value)
		}
		sdc = &attributeBool{Value: &b}
	default:
		return nil, Errorf("UnsupportedOperation", "vpcemu modifies the groupSet and sourceDestCheck attributes only, not %s.", in.Attribute)
	}
	if in.InstanceType != nil {
		return nil, Errorf("UnsupportedOperation", "vpcemu modifies the groupSet and sourceDestCheck attributes only, not instanceType.")
	}
	if (len(groups) > 0) == (sdc != nil) {
		return nil, Errorf("InvalidParameterCombination", "Give exactly one attribute: GroupId.N or SourceDestCheck.Value.")
	}
	if sdc != nil && sdc.Value == nil {
		return nil, missing("SourceDestCheck.Value")
	}
	_, err := c.apply(func(t *vpc.Topology) error {
		inst := t.Instance(in.InstanceID)
		if inst == nil {
			return kInstance.notFound(in.InstanceID)
		}
		if sdc != nil {
			inst.SourceDestCheckDisabled = !*sdc.Value
			return nil
		}
		ids, err := resolveGroups(t, t.VPCOfSubnet(inst.Subnet), groups, nil)
		if err != nil {
			return err
		}
		inst.SecurityGroups = ids
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type describeNetworkInterfacesIn struct {
	DescribeCommon
	NetworkInterfaceIDs []string `ec2:"NetworkInterfaceId"`
}

type describeNetworkInterfacesOut struct {
	NetworkInterfaces awsshape.List[awsshape.NetworkInterface] `xml:"networkInterfaceSet"`
	NextToken         string                                   `xml:"nextToken,omitempty"`
}

var eniFilters = filterFns[awsshape.NetworkInterface]{
	"network-interface-id": func(n *awsshape.NetworkInterface) []string { return one(n.NetworkInterfaceID) },
	"subnet-id":            func(n *awsshape.NetworkInterface) []string { return one(n.SubnetID) },
	"vpc-id":               func(n *awsshape.NetworkInterface) []string { return one(n.VpcID) },
	"availability-zone":    func(n *awsshape.NetworkInterface) []string { return one(n.AvailabilityZone) },
	"description":          func(n *awsshape.NetworkInterface) []string { return one(n.Description) },
	"interface-type":       func(n *awsshape.NetworkInterface) []string { return one(n.InterfaceType) },
	"owner-id":             func(n *awsshape.NetworkInterface) []string { return one(n.OwnerID) },
	"requester-managed":    func(n *awsshape.NetworkInterface) []string { return boolStr(n.RequesterManaged) },
	"status":               func(n *awsshape.NetworkInterface) []string { return one(n.Status) },
	"source-dest-check":    func(n *awsshape.NetworkInterface) []string { return boolStr(n.SourceDestCheck) },
	"private-ip-address":   func(n *awsshape.NetworkInterface) []string { return one(n.PrivateIPAddress) },
	"addresses.private-ip-address": func(n *awsshape.NetworkInterface) []string {
		var out []string
		for _, a := range n.PrivateIPAddresses {
			out = append(out, a.PrivateIPAddress)
		}
		return out
	},
	"association.public-ip": func(n *awsshape.NetworkInterface) []string {
		if n.Association == nil {
			return nil
		}
		return one(n.Association.PublicIP)
	},
	"group-id": func(n *awsshape.NetworkInterface) []string {
		var out []string
		for _, g := range n.Groups {
			out = append(out, g.GroupID)
		}
		return out
	},
	"group-name": func(n *awsshape.NetworkInterface) []string {
		var out []string
		for _, g := range n.Groups {
			out = append(out, g.GroupName)
		}
		return out
	},
	"attachment.instance-id": func(n *awsshape.NetworkInterface) []string {
		if n.Attachment == nil {
			return nil
		}
		return one(n.Attachment.InstanceID)
	},
	"attachment.attachment-id": func(n *awsshape.NetworkInterface) []string {
		if n.Attachment == nil {
			return nil
		}
		return one(n.Attachment.AttachmentID)
	},
	"attachment.device-index": func(n *awsshape.NetworkInterface) []string {
		if n.Attachment == nil {
			return nil
		}
		return intStr(n.Attachment.DeviceIndex)
	},
}

func describeNetworkInterfaces(c *call, in *describeNetworkInterfacesIn) (*describeNetworkInterfacesOut, error) {
	items, err := selectIDs(c.view().NetworkInterfaces(), in.NetworkInterfaceIDs, func(n *awsshape.NetworkInterface) string { return n.NetworkInterfaceID }, kENI)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, eniFilters, func(n *awsshape.NetworkInterface) awsshape.List[awsshape.Tag] { return n.TagSet }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeNetworkInterfacesOut{NetworkInterfaces: items, NextToken: next}, nil
}

type modifyNetworkInterfaceAttributeIn struct {
	NetworkInterfaceID string            `ec2:"NetworkInterfaceId,required"`
	Groups             []string          `ec2:"SecurityGroupId"`
	SourceDestCheck    *attributeBool    `ec2:"SourceDestCheck"`
	Description        *attributeValueIn `ec2:"Description"`
	DryRun             bool              `ec2:"DryRun"`
}

// modifyNetworkInterfaceAttribute changes an instance ENI's groups,
// source/destination check or description.
func modifyNetworkInterfaceAttribute(c *call, in *modifyNetworkInterfaceAttributeIn) (*returnTrue, error) {
	n := 0
	if len(in.Groups) > 0 {
		n++
	}
	if in.SourceDestCheck != nil {
		n++
		if in.SourceDestCheck.Value == nil {
			return nil, missing("SourceDestCheck.Value")
		}
	}
	if in.Description != nil {
		n++
	}
	if n != 1 {
		return nil, Errorf("InvalidParameterCombination", "Give exactly one attribute: SecurityGroupId.N, SourceDestCheck.Value or Description.Value.")
	}
	_, err := c.apply(func(t *vpc.Topology) error {
		e := eniByID(t, in.NetworkInterfaceID)
		if e == nil {
			for _, nat := range t.NATGateways {
				if nat.ENI == in.NetworkInterfaceID {
					return Errorf("UnsupportedOperation", "%s is managed by NAT gateway %s and cannot be modified.", nat.ENI, nat.ID)
				}
			}
			return kENI.notFound(in.NetworkInterfaceID)
		}
		switch {
		case in.SourceDestCheck != nil:
			e.SourceDestCheckDisabled = !*in.SourceDestCheck.Value
		case in.Description != nil:
			if in.Description.Value != nil {
				e.Description = *in.Description.Value
			}
		default:
			ids, err := resolveGroups(t, t.VPCOfSubnet(e.Subnet), in.Groups, nil)
			if err != nil {
				return err
			}
			e.SecurityGroups = ids
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}
