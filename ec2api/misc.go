package ec2api

import (
	"slices"
	"strconv"
	"strings"

	"github.com/vpcemu/vpcemu/awsshape"
	"github.com/vpcemu/vpcemu/vpc"
)

// --- Flow logs ---

type destinationOptionsIn struct {
	FileFormat               string `ec2:"FileFormat"`
	HiveCompatiblePartitions *bool  `ec2:"HiveCompatiblePartitions"`
	PerHourPartition         *bool  `ec2:"PerHourPartition"`
}

type createFlowLogsIn struct {
	ResourceIDs              []string              `ec2:"ResourceId,required"`
	ResourceType             string                `ec2:"ResourceType,required"`
	TrafficType              string                `ec2:"TrafficType"`
	LogDestinationType       string                `ec2:"LogDestinationType"`
	LogDestination           string                `ec2:"LogDestination"`
	LogGroupName             string                `ec2:"LogGroupName"`
	DeliverLogsPermissionArn string                `ec2:"DeliverLogsPermissionArn"`
	LogFormat                string                `ec2:"LogFormat"`
	MaxAggregationInterval   *int32                `ec2:"MaxAggregationInterval"`
	DestinationOptions       *destinationOptionsIn `ec2:"DestinationOptions"`
	ClientToken              string                `ec2:"ClientToken"`
	TagSpecifications        []TagSpecification    `ec2:"TagSpecification"`
	DryRun                   bool                  `ec2:"DryRun"`
}

type unsuccessfulError struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type unsuccessfulItem struct {
	Error      unsuccessfulError `xml:"error"`
	ResourceID string            `xml:"resourceId"`
}

type createFlowLogsOut struct {
	ClientToken  string                          `xml:"clientToken,omitempty"`
	FlowLogIDs   awsshape.List[string]           `xml:"flowLogIdSet"`
	Unsuccessful awsshape.List[unsuccessfulItem] `xml:"unsuccessful"`
}

// createFlowLogs subscribes each resource; a resource that fails is
// reported in unsuccessful and the others are created (HTTP 200).
func createFlowLogs(c *call, in *createFlowLogsIn) (*createFlowLogsOut, error) {
	traffic := in.TrafficType
	switch traffic {
	case "ACCEPT", "REJECT", "ALL":
	case "":
		return nil, missing("TrafficType")
	default:
		return nil, invalidValue("Value (%s) for parameter trafficType is invalid. Valid: ACCEPT, REJECT, ALL.", traffic)
	}
	destType := in.LogDestinationType
	switch destType {
	case "":
		destType = "cloud-watch-logs"
	case "cloud-watch-logs", "s3", "kinesis-data-firehose":
	default:
		return nil, invalidValue("Value (%s) for parameter logDestinationType is invalid. Valid: cloud-watch-logs, s3, kinesis-data-firehose.", destType)
	}
	interval := 600
	if in.MaxAggregationInterval != nil {
		interval = int(*in.MaxAggregationInterval)
		if interval != 60 && interval != 600 {
			return nil, invalidValue("Value (%d) for parameter maxAggregationInterval is invalid. Valid: 60, 600.", interval)
		}
	}
	kinds := map[string]kind{"VPC": kVPC, "Subnet": kSubnet, "NetworkInterface": kENI}
	k, known := kinds[in.ResourceType]
	if !known {
		return nil, invalidValue("Value (%s) for parameter resourceType is invalid. Valid: VPC, Subnet, NetworkInterface.", in.ResourceType)
	}
	tags, err := tagsFor(in.TagSpecifications, "vpc-flow-log")
	if err != nil {
		return nil, err
	}
	fileFormat := "plain-text"
	var hive, perHour bool
	if o := in.DestinationOptions; o != nil {
		if o.FileFormat != "" {
			fileFormat = o.FileFormat
		}
		hive = o.HiveCompatiblePartitions != nil && *o.HiveCompatiblePartitions
		perHour = o.PerHourPartition != nil && *o.PerHourPartition
	}
	dest := in.LogDestination
	if dest == "" {
		dest = in.LogGroupName
	}
	out := &createFlowLogsOut{ClientToken: in.ClientToken, FlowLogIDs: awsshape.List[string]{}}
	created := map[string]bool{}
	_, aerr := c.apply(func(t *vpc.Topology) error {
		for _, rid := range in.ResourceIDs {
			exists := false
			switch in.ResourceType {
			case "VPC":
				exists = t.VPC(rid) != nil
			case "Subnet":
				exists = t.Subnet(rid) != nil
			default:
				exists = eniByID(t, rid) != nil
			}
			if !exists {
				e := k.notFound(rid)
				out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem{unsuccessfulError{e.Code, e.Message}, rid})
				continue
			}
			dup := slices.ContainsFunc(t.FlowLogs, func(f vpc.FlowLog) bool {
				d := f.LogDestination
				if d == "" {
					d = f.LogGroupName
				}
				return f.Resource == rid && f.TrafficType == traffic && d == dest && (f.LogDestinationType == destType || f.LogDestinationType == "" && destType == "s3")
			})
			if dup {
				out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem{unsuccessfulError{"FlowLogAlreadyExists",
					"Error. There is an existing Flow Log with the same configuration and log destination."}, rid})
				continue
			}
			id := newID("fl")
			t.FlowLogs = append(t.FlowLogs, vpc.FlowLog{ID: id, Resource: rid, TrafficType: traffic, MaxAggregationInterval: interval,
				LogFormat: in.LogFormat, FileFormat: fileFormat, HiveCompatible: hive, PerHourPartition: perHour,
				LogDestinationType: destType, LogDestination: in.LogDestination, LogGroupName: in.LogGroupName,
				DeliverLogsPermissionArn: in.DeliverLogsPermissionArn, Tags: clone(tags)})
			out.FlowLogIDs = append(out.FlowLogIDs, id)
			created[id] = true
		}
		return nil
	})
	if aerr != nil {
		return nil, aerr
	}
	for id := range created {
		c.reg.ann.FlowLogs[id] = awsshape.FlowLogInfo{CreationTime: c.now}
	}
	return out, nil
}

type describeFlowLogsIn struct {
	Filters    []Filter `ec2:"Filter"`
	FlowLogIDs []string `ec2:"FlowLogId"`
	MaxResults *int32   `ec2:"MaxResults"`
	NextToken  string   `ec2:"NextToken"`
	DryRun     bool     `ec2:"DryRun"`
}

type describeFlowLogsOut struct {
	FlowLogs  awsshape.List[awsshape.FlowLog] `xml:"flowLogSet"`
	NextToken string                          `xml:"nextToken,omitempty"`
}

var flowLogFilters = filterFns[awsshape.FlowLog]{
	"flow-log-id":          func(f *awsshape.FlowLog) []string { return one(f.FlowLogID) },
	"resource-id":          func(f *awsshape.FlowLog) []string { return one(f.ResourceID) },
	"traffic-type":         func(f *awsshape.FlowLog) []string { return one(f.TrafficType) },
	"log-destination-type": func(f *awsshape.FlowLog) []string { return one(f.LogDestinationType) },
	"log-group-name":       func(f *awsshape.FlowLog) []string { return one(f.LogGroupName) },
	"deliver-log-status":   func(f *awsshape.FlowLog) []string { return one(f.DeliverLogsStatus) },
}

func describeFlowLogs(c *call, in *describeFlowLogsIn) (*describeFlowLogsOut, error) {
	items, err := selectIDs(c.view().FlowLogs(), in.FlowLogIDs, func(f *awsshape.FlowLog) string { return f.FlowLogID }, kFlowLog)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, flowLogFilters, func(f *awsshape.FlowLog) awsshape.List[awsshape.Tag] { return f.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeFlowLogsOut{FlowLogs: items, NextToken: next}, nil
}

type deleteFlowLogsIn struct {
	FlowLogIDs []string `ec2:"FlowLogId,required"`
	DryRun     bool     `ec2:"DryRun"`
}

type deleteFlowLogsOut struct {
	Unsuccessful awsshape.List[unsuccessfulItem] `xml:"unsuccessful"`
}

func deleteFlowLogs(c *call, in *deleteFlowLogsIn) (*deleteFlowLogsOut, error) {
	out := &deleteFlowLogsOut{Unsuccessful: awsshape.List[unsuccessfulItem]{}}
	var gone []string
	_, err := c.apply(func(t *vpc.Topology) error {
		for _, id := range in.FlowLogIDs {
			i := slices.IndexFunc(t.FlowLogs, func(f vpc.FlowLog) bool { return f.ID == id })
			if i < 0 {
				e := kFlowLog.notFound(id)
				out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem{unsuccessfulError{e.Code, e.Message}, id})
				continue
			}
			t.FlowLogs = slices.Delete(t.FlowLogs, i, i+1)
			gone = append(gone, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range gone {
		delete(c.reg.ann.FlowLogs, id)
	}
	return out, nil
}

// --- Tags ---

// taggable is one object CreateTags can reach: its resource type and where
// its tags live (in the model, or in the API's annotations).
type taggable struct {
	id, typ string
	tags    *vpc.Tags // nil: annotation
}

// taggables lists every taggable object of t.
func taggables(t *vpc.Topology) []taggable {
	var out []taggable
	add := func(id, typ string, tags *vpc.Tags) { out = append(out, taggable{id, typ, tags}) }
	for i := range t.VPCs {
		add(t.VPCs[i].ID, "vpc", &t.VPCs[i].Tags)
	}
	for i := range t.Subnets {
		add(t.Subnets[i].ID, "subnet", &t.Subnets[i].Tags)
	}
	for i := range t.SecurityGroups {
		g := &t.SecurityGroups[i]
		add(g.ID, "security-group", &g.Tags)
		for j := range g.Ingress {
			add(awsshape.RuleID(g, false, &g.Ingress[j]), "security-group-rule", &g.Ingress[j].Tags)
		}
		for j := range g.Egress {
			add(awsshape.RuleID(g, true, &g.Egress[j]), "security-group-rule", &g.Egress[j].Tags)
		}
	}
	for i := range t.NetworkACLs {
		add(t.NetworkACLs[i].ID, "network-acl", &t.NetworkACLs[i].Tags)
	}
	for i := range t.RouteTables {
		add(t.RouteTables[i].ID, "route-table", &t.RouteTables[i].Tags)
	}
	for i := range t.InternetGateways {
		add(t.InternetGateways[i].ID, "internet-gateway", &t.InternetGateways[i].Tags)
	}
	for i := range t.NATGateways {
		add(t.NATGateways[i].ID, "natgateway", &t.NATGateways[i].Tags)
	}
	for i := range t.ElasticIPs {
		add(t.ElasticIPs[i].ID, "elastic-ip", &t.ElasticIPs[i].Tags)
	}
	for i := range t.Instances {
		in := &t.Instances[i]
		add(in.ID, "instance", &in.Tags)
		add(in.ENI.ID, "network-interface", &in.ENI.Tags)
		for j := range in.Secondary {
			add(in.Secondary[j].ID, "network-interface", &in.Secondary[j].Tags)
		}
	}
	for i := range t.FlowLogs {
		add(t.FlowLogs[i].ID, "vpc-flow-log", &t.FlowLogs[i].Tags)
	}
	for i := range t.PrefixLists {
		add(t.PrefixLists[i].ID, "prefix-list", &t.PrefixLists[i].Tags)
	}
	for i := range t.Peerings {
		add(t.Peerings[i].ID, "vpc-peering-connection", &t.Peerings[i].Tags)
	}
	for i := range t.Endpoints {
		add(t.Endpoints[i].ID, "vpc-endpoint", &t.Endpoints[i].Tags)
	}
	return append(out, mirrorTaggables(t)...)
}

// prefixKinds maps id prefixes to their kind, for NotFound answers.
var prefixKinds = []kind{kVPC, kSubnet, kSGR, kSG, kNACL, kRTB, kIGW, kNAT, kEIP, kENI, kInstance, kFlowLog, kPL, kTMT, kTMFR, kTMF, kTMS}

func unknownResource(id string) *Error {
	for _, k := range prefixKinds {
		if strings.HasPrefix(id, k.prefix+"-") {
			return k.notFound(id)
		}
	}
	return Errorf("InvalidID", "The ID '%s' is not valid", id)
}

type createTagsIn struct {
	Resources []string       `ec2:"ResourceId,required"`
	Tags      []awsshape.Tag `ec2:"Tag,required"`
	DryRun    bool           `ec2:"DryRun"`
}

// editTags applies f to the tags of every resource, in the model through
// one Apply and in the annotations after it; an unknown id fails the call.
func editTags(c *call, resources []string, f func(vpc.Tags) (vpc.Tags, *Error)) error {
	var annotated []string
	_, err := c.apply(func(t *vpc.Topology) error {
		annotated = annotated[:0]
		byID := map[string]taggable{}
		for _, x := range taggables(t) {
			byID[x.id] = x
		}
		for _, id := range resources {
			x, ok := byID[id]
			if !ok {
				return unknownResource(id)
			}
			if x.tags == nil {
				if _, err := f(clone(c.reg.ann.Tags[id])); err != nil {
					return err
				}
				annotated = append(annotated, id)
				continue
			}
			tags, err := f(clone(*x.tags))
			if err != nil {
				return err
			}
			*x.tags = tags
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range annotated {
		tags, _ := f(clone(c.reg.ann.Tags[id]))
		if len(tags) == 0 {
			delete(c.reg.ann.Tags, id)
		} else {
			c.reg.ann.Tags[id] = tags
		}
	}
	return nil
}

func createTags(c *call, in *createTagsIn) (*returnTrue, error) {
	err := editTags(c, in.Resources, func(t vpc.Tags) (vpc.Tags, *Error) {
		if t == nil {
			t = vpc.Tags{}
		}
		return t, addTags(t, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type deleteTagsIn struct {
	Resources []string      `ec2:"ResourceId,required"`
	Tags      []deleteTagIn `ec2:"Tag"`
	DryRun    bool          `ec2:"DryRun"`
}

type deleteTagIn struct {
	Key   string  `ec2:"Key"`
	Value *string `ec2:"Value"`
}

// deleteTags removes the named keys (only where the value matches, when
// one is given), or every tag when no Tag.N is given.
func deleteTags(c *call, in *deleteTagsIn) (*returnTrue, error) {
	err := editTags(c, in.Resources, func(t vpc.Tags) (vpc.Tags, *Error) {
		if len(in.Tags) == 0 {
			return nil, nil
		}
		for _, d := range in.Tags {
			if v, ok := t[d.Key]; ok && (d.Value == nil || *d.Value == v) {
				delete(t, d.Key)
			}
		}
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

type describeTagsIn struct {
	Filters    []Filter `ec2:"Filter"`
	MaxResults *int32   `ec2:"MaxResults"`
	NextToken  string   `ec2:"NextToken"`
	DryRun     bool     `ec2:"DryRun"`
}

type describeTagsOut struct {
	Tags      awsshape.List[awsshape.TagDescription] `xml:"tagSet"`
	NextToken string                                 `xml:"nextToken,omitempty"`
}

var tagFilters = filterFns[awsshape.TagDescription]{
	"key":           func(d *awsshape.TagDescription) []string { return []string{d.Key} },
	"value":         func(d *awsshape.TagDescription) []string { return []string{d.Value} },
	"resource-id":   func(d *awsshape.TagDescription) []string { return one(d.ResourceID) },
	"resource-type": func(d *awsshape.TagDescription) []string { return one(d.ResourceType) },
}

func describeTags(c *call, in *describeTagsIn) (*describeTagsOut, error) {
	var items []awsshape.TagDescription
	for _, x := range taggables(c.topo()) {
		tags := c.reg.ann.Tags[x.id]
		if x.tags != nil {
			tags = *x.tags
		}
		for _, tg := range awsshape.Tags(tags) {
			items = append(items, awsshape.TagDescription{ResourceID: x.id, ResourceType: x.typ, Key: tg.Key, Value: tg.Value})
		}
	}
	items, err := applyFilters(items, in.Filters, tagFilters, nil)
	if err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeTagsOut{Tags: items, NextToken: next}, nil
}

// --- Account, zones, regions ---

type describeAccountAttributesIn struct {
	AttributeNames []string `ec2:"AttributeName"`
	DryRun         bool     `ec2:"DryRun"`
}

type accountAttributeValue struct {
	AttributeValue string `xml:"attributeValue"`
}

type accountAttribute struct {
	AttributeName   string                               `xml:"attributeName"`
	AttributeValues awsshape.List[accountAttributeValue] `xml:"attributeValueSet"`
}

type describeAccountAttributesOut struct {
	AccountAttributes awsshape.List[accountAttribute] `xml:"accountAttributeSet"`
}

// describeAccountAttributes answers what Terraform reads at start: a
// VPC-only account, its default VPC (none unless one is marked default),
// and limits.
func describeAccountAttributes(c *call, in *describeAccountAttributesIn) (*describeAccountAttributesOut, error) {
	t := c.topo()
	def := "none"
	for _, p := range t.VPCs {
		if c.reg.ann.VPCs[p.ID].IsDefault {
			def = p.ID
		}
	}
	sgs := t.Limits.SecurityGroupsPerENI
	if sgs == 0 {
		sgs = vpc.DefaultLimits.SecurityGroupsPerENI
	}
	all := []struct{ name, value string }{
		{"supported-platforms", "VPC"}, {"default-vpc", def}, {"max-instances", "20"},
		{"vpc-max-security-groups-per-interface", strconv.Itoa(sgs)}, {"max-elastic-ips", "5"}, {"vpc-max-elastic-ips", "5"},
	}
	out := &describeAccountAttributesOut{AccountAttributes: awsshape.List[accountAttribute]{}}
	for _, a := range all {
		if len(in.AttributeNames) == 0 || slices.Contains(in.AttributeNames, a.name) {
			out.AccountAttributes = append(out.AccountAttributes, accountAttribute{a.name, awsshape.List[accountAttributeValue]{{a.value}}})
		}
	}
	return out, nil
}

type describeAvailabilityZonesIn struct {
	ZoneNames            []string `ec2:"ZoneName"`
	ZoneIDs              []string `ec2:"ZoneId"`
	AllAvailabilityZones bool     `ec2:"AllAvailabilityZones"`
	Filters              []Filter `ec2:"Filter"`
	DryRun               bool     `ec2:"DryRun"`
}

type availabilityZone struct {
	ZoneName           string                  `xml:"zoneName"`
	ZoneID             string                  `xml:"zoneId"`
	RegionName         string                  `xml:"regionName"`
	State              string                  `xml:"zoneState"`
	OptInStatus        string                  `xml:"optInStatus"`
	ZoneType           string                  `xml:"zoneType"`
	GroupName          string                  `xml:"groupName"`
	NetworkBorderGroup string                  `xml:"networkBorderGroup"`
	Messages           awsshape.List[struct{}] `xml:"messageSet"`
}

type describeAvailabilityZonesOut struct {
	AvailabilityZones awsshape.List[availabilityZone] `xml:"availabilityZoneInfo"`
}

var azFilters = filterFns[availabilityZone]{
	"zone-name":     func(z *availabilityZone) []string { return one(z.ZoneName) },
	"zone-id":       func(z *availabilityZone) []string { return one(z.ZoneID) },
	"region-name":   func(z *availabilityZone) []string { return one(z.RegionName) },
	"state":         func(z *availabilityZone) []string { return one(z.State) },
	"zone-type":     func(z *availabilityZone) []string { return one(z.ZoneType) },
	"opt-in-status": func(z *availabilityZone) []string { return one(z.OptInStatus) },
	"group-name":    func(z *availabilityZone) []string { return one(z.GroupName) },
}

func describeAvailabilityZones(c *call, in *describeAvailabilityZonesIn) (*describeAvailabilityZonesOut, error) {
	var items []availabilityZone
	for _, z := range zones(c.reg.name) {
		items = append(items, availabilityZone{ZoneName: z, ZoneID: awsshape.AZID(c.reg.name, z), RegionName: c.reg.name,
			State: "available", OptInStatus: "opt-in-not-required", ZoneType: "availability-zone", GroupName: c.reg.name,
			NetworkBorderGroup: c.reg.name, Messages: awsshape.List[struct{}]{}})
	}
	for _, sel := range []struct {
		want []string
		get  func(*availabilityZone) string
	}{{in.ZoneNames, func(z *availabilityZone) string { return z.ZoneName }}, {in.ZoneIDs, func(z *availabilityZone) string { return z.ZoneID }}} {
		if len(sel.want) == 0 {
			continue
		}
		var err *Error
		if items, err = selectIDs(items, sel.want, sel.get, kind{"", "InvalidParameterValue", "InvalidParameterValue", "availability zone"}); err != nil {
			return nil, err
		}
	}
	items, err := applyFilters(items, in.Filters, azFilters, nil)
	if err != nil {
		return nil, err
	}
	return &describeAvailabilityZonesOut{AvailabilityZones: items}, nil
}

// Regions are the regions DescribeRegions lists [INTERP: AWS's commercial
// regions enabled by default]; every one has its own universe (API-13).
var Regions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1", "ap-southeast-2",
	"ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

type describeRegionsIn struct {
	RegionNames []string `ec2:"RegionName"`
	AllRegions  bool     `ec2:"AllRegions"`
	Filters     []Filter `ec2:"Filter"`
	DryRun      bool     `ec2:"DryRun"`
}

type regionInfo struct {
	RegionName  string `xml:"regionName"`
	Endpoint    string `xml:"regionEndpoint"`
	OptInStatus string `xml:"optInStatus"`
}

type describeRegionsOut struct {
	Regions awsshape.List[regionInfo] `xml:"regionInfo"`
}

var regionFilters = filterFns[regionInfo]{
	"region-name":   func(r *regionInfo) []string { return one(r.RegionName) },
	"endpoint":      func(r *regionInfo) []string { return one(r.Endpoint) },
	"opt-in-status": func(r *regionInfo) []string { return one(r.OptInStatus) },
}

func describeRegions(c *call, in *describeRegionsIn) (*describeRegionsOut, error) {
	var items []regionInfo
	for _, r := range Regions {
		items = append(items, regionInfo{RegionName: r, Endpoint: "ec2." + r + ".amazonaws.com", OptInStatus: "opt-in-not-required"})
	}
	items, err := selectIDs(items, in.RegionNames, func(r *regionInfo) string { return r.RegionName }, kind{"", "InvalidParameterValue", "InvalidParameterValue", "region"})
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, regionFilters, nil); err != nil {
		return nil, err
	}
	return &describeRegionsOut{Regions: items}, nil
}

// --- Prefix lists ---

type prefixListsIn struct {
	DescribeCommon
	PrefixListIDs []string `ec2:"PrefixListId"`
}

type describeManagedPrefixListsOut struct {
	PrefixLists awsshape.List[awsshape.ManagedPrefixList] `xml:"prefixListSet"`
	NextToken   string                                    `xml:"nextToken,omitempty"`
}

var mplFilters = filterFns[awsshape.ManagedPrefixList]{
	"prefix-list-id":   func(p *awsshape.ManagedPrefixList) []string { return one(p.PrefixListID) },
	"prefix-list-name": func(p *awsshape.ManagedPrefixList) []string { return one(p.PrefixListName) },
	"owner-id":         func(p *awsshape.ManagedPrefixList) []string { return one(p.OwnerID) },
}

func describeManagedPrefixLists(c *call, in *prefixListsIn) (*describeManagedPrefixListsOut, error) {
	items, err := selectIDs(c.view().ManagedPrefixLists(), in.PrefixListIDs, func(p *awsshape.ManagedPrefixList) string { return p.PrefixListID }, kPL)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, mplFilters, func(p *awsshape.ManagedPrefixList) awsshape.List[awsshape.Tag] { return p.Tags }); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describeManagedPrefixListsOut{PrefixLists: items, NextToken: next}, nil
}

type describePrefixListsOut struct {
	PrefixLists awsshape.List[awsshape.PrefixList] `xml:"prefixListSet"`
	NextToken   string                             `xml:"nextToken,omitempty"`
}

var plFilters = filterFns[awsshape.PrefixList]{
	"prefix-list-id":   func(p *awsshape.PrefixList) []string { return one(p.PrefixListID) },
	"prefix-list-name": func(p *awsshape.PrefixList) []string { return one(p.PrefixListName) },
}

func describePrefixLists(c *call, in *prefixListsIn) (*describePrefixListsOut, error) {
	items, err := selectIDs(c.view().PrefixLists(), in.PrefixListIDs, func(p *awsshape.PrefixList) string { return p.PrefixListID }, kPL)
	if err != nil {
		return nil, err
	}
	if items, err = applyFilters(items, in.Filters, plFilters, nil); err != nil {
		return nil, err
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &describePrefixListsOut{PrefixLists: items, NextToken: next}, nil
}

type getManagedPrefixListEntriesIn struct {
	PrefixListID  string `ec2:"PrefixListId,required"`
	TargetVersion *int64 `ec2:"TargetVersion"`
	MaxResults    *int32 `ec2:"MaxResults"`
	NextToken     string `ec2:"NextToken"`
	DryRun        bool   `ec2:"DryRun"`
}

type getManagedPrefixListEntriesOut struct {
	Entries   awsshape.List[awsshape.PrefixListEntry] `xml:"entrySet"`
	NextToken string                                  `xml:"nextToken,omitempty"`
}

func getManagedPrefixListEntries(c *call, in *getManagedPrefixListEntriesIn) (*getManagedPrefixListEntriesOut, error) {
	p := c.topo().PrefixList(in.PrefixListID)
	if p == nil {
		return nil, kPL.notFound(in.PrefixListID)
	}
	var items []awsshape.PrefixListEntry
	for _, cidr := range p.CIDRs {
		items = append(items, awsshape.PrefixListEntry{Cidr: cidr.String()})
	}
	items, next, err := page(items, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	return &getManagedPrefixListEntriesOut{Entries: items, NextToken: next}, nil
}
