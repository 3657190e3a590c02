package ec2api

import "reflect"

// act wraps a handler: it decodes the request into In (by wire name) and
// records In and Out so tests can check them against the EC2 model.
func act[In, Out any](fn func(*call, *In) (*Out, error)) actionSpec {
	return actionSpec{
		in:  reflect.TypeFor[In](),
		out: reflect.TypeFor[Out](),
		fn: func(c *call) (any, error) {
			var in In
			if err := c.decode(&in); err != nil {
				return nil, err
			}
			out, err := fn(c, &in)
			if err != nil {
				return nil, err
			}
			return out, nil
		},
	}
}

func mut(s actionSpec) actionSpec  { s.mutates = true; return s }
func idem(s actionSpec) actionSpec { s.mutates, s.idempotent = true, true; return s }

// returnTrue is the answer of actions whose model output is empty or just
// Return: <return>true</return> (API-10).
type returnTrue struct {
	Return bool `xml:"return"`
}

var ok = &returnTrue{Return: true}

// actions are the operations vpcemu implements (internal/modelgen/
// implemented.txt lists the same names for the model digest).
var actions map[string]actionSpec

func init() {
	actions = map[string]actionSpec{
		"CreateVpc":             mut(act(createVpc)),
		"DescribeVpcs":          act(describeVpcs),
		"DeleteVpc":             mut(act(deleteVpc)),
		"DescribeVpcAttribute":  act(describeVpcAttribute),
		"ModifyVpcAttribute":    mut(act(modifyVpcAttribute)),
		"CreateSubnet":          mut(act(createSubnet)),
		"DescribeSubnets":       act(describeSubnets),
		"DeleteSubnet":          mut(act(deleteSubnet)),
		"ModifySubnetAttribute": mut(act(modifySubnetAttribute)),

		"CreateSecurityGroup":           mut(act(createSecurityGroup)),
		"DescribeSecurityGroups":        act(describeSecurityGroups),
		"DeleteSecurityGroup":           mut(act(deleteSecurityGroup)),
		"AuthorizeSecurityGroupIngress": mut(act(authorizeIngress)),
		"AuthorizeSecurityGroupEgress":  mut(act(authorizeEgress)),
		"RevokeSecurityGroupIngress":    mut(act(revokeIngress)),
		"RevokeSecurityGroupEgress":     mut(act(revokeEgress)),
		"DescribeSecurityGroupRules":    act(describeSecurityGroupRules),
		"ModifySecurityGroupRules":      mut(act(modifySecurityGroupRules)),

		"CreateNetworkAcl":             idem(act(createNetworkAcl)),
		"DescribeNetworkAcls":          act(describeNetworkAcls),
		"DeleteNetworkAcl":             mut(act(deleteNetworkAcl)),
		"CreateNetworkAclEntry":        mut(act(createNetworkAclEntry)),
		"ReplaceNetworkAclEntry":       mut(act(replaceNetworkAclEntry)),
		"DeleteNetworkAclEntry":        mut(act(deleteNetworkAclEntry)),
		"ReplaceNetworkAclAssociation": mut(act(replaceNetworkAclAssociation)),

		"CreateRouteTable":             idem(act(createRouteTable)),
		"DescribeRouteTables":          act(describeRouteTables),
		"DeleteRouteTable":             mut(act(deleteRouteTable)),
		"CreateRoute":                  mut(act(createRoute)),
		"ReplaceRoute":                 mut(act(replaceRoute)),
		"DeleteRoute":                  mut(act(deleteRoute)),
		"AssociateRouteTable":          mut(act(associateRouteTable)),
		"DisassociateRouteTable":       mut(act(disassociateRouteTable)),
		"ReplaceRouteTableAssociation": mut(act(replaceRouteTableAssociation)),

		"CreateInternetGateway":    mut(act(createInternetGateway)),
		"DescribeInternetGateways": act(describeInternetGateways),
		"DeleteInternetGateway":    mut(act(deleteInternetGateway)),
		"AttachInternetGateway":    mut(act(attachInternetGateway)),
		"DetachInternetGateway":    mut(act(detachInternetGateway)),
		"CreateNatGateway":         idem(act(createNatGateway)),
		"DescribeNatGateways":      act(describeNatGateways),
		"DeleteNatGateway":         mut(act(deleteNatGateway)),
		"AllocateAddress":          mut(act(allocateAddress)),
		"AssociateAddress":         mut(act(associateAddress)),
		"DisassociateAddress":      mut(act(disassociateAddress)),
		"ReleaseAddress":           mut(act(releaseAddress)),
		"DescribeAddresses":        act(describeAddresses),

		"RunInstances":                    idem(act(runInstances)),
		"DescribeInstances":               act(describeInstances),
		"TerminateInstances":              mut(act(terminateInstances)),
		"ModifyInstanceAttribute":         mut(act(modifyInstanceAttribute)),
		"DescribeNetworkInterfaces":       act(describeNetworkInterfaces),
		"ModifyNetworkInterfaceAttribute": mut(act(modifyNetworkInterfaceAttribute)),

		"CreateFlowLogs":   idem(act(createFlowLogs)),
		"DescribeFlowLogs": act(describeFlowLogs),
		"DeleteFlowLogs":   mut(act(deleteFlowLogs)),

		"CreateTrafficMirrorTarget":                idem(act(createTrafficMirrorTarget)),
		"DescribeTrafficMirrorTargets":             act(describeTrafficMirrorTargets),
		"DeleteTrafficMirrorTarget":                mut(act(deleteTrafficMirrorTarget)),
		"CreateTrafficMirrorFilter":                idem(act(createTrafficMirrorFilter)),
		"DescribeTrafficMirrorFilters":             act(describeTrafficMirrorFilters),
		"DeleteTrafficMirrorFilter":                mut(act(deleteTrafficMirrorFilter)),
		"ModifyTrafficMirrorFilterNetworkServices": mut(act(modifyTrafficMirrorFilterNetworkServices)),
		"CreateTrafficMirrorFilterRule":            idem(act(createTrafficMirrorFilterRule)),
		"DescribeTrafficMirrorFilterRules":         act(describeTrafficMirrorFilterRules),
		"ModifyTrafficMirrorFilterRule":            mut(act(modifyTrafficMirrorFilterRule)),
		"DeleteTrafficMirrorFilterRule":            mut(act(deleteTrafficMirrorFilterRule)),
		"CreateTrafficMirrorSession":               idem(act(createTrafficMirrorSession)),
		"DescribeTrafficMirrorSessions":            act(describeTrafficMirrorSessions),
		"ModifyTrafficMirrorSession":               mut(act(modifyTrafficMirrorSession)),
		"DeleteTrafficMirrorSession":               mut(act(deleteTrafficMirrorSession)),

		"CreateTags":   mut(act(createTags)),
		"DeleteTags":   mut(act(deleteTags)),
		"DescribeTags": act(describeTags),

		"DescribeAccountAttributes":   act(describeAccountAttributes),
		"DescribeAvailabilityZones":   act(describeAvailabilityZones),
		"DescribeRegions":             act(describeRegions),
		"DescribeManagedPrefixLists":  act(describeManagedPrefixLists),
		"DescribePrefixLists":         act(describePrefixLists),
		"GetManagedPrefixListEntries": act(getManagedPrefixListEntries),

		"CreateNetworkInsightsPath":       idem(act(createNetworkInsightsPath)),
		"DescribeNetworkInsightsPaths":    act(describeNetworkInsightsPaths),
		"DeleteNetworkInsightsPath":       mut(act(deleteNetworkInsightsPath)),
		"StartNetworkInsightsAnalysis":    idem(act(startNetworkInsightsAnalysis)),
		"DescribeNetworkInsightsAnalyses": act(describeNetworkInsightsAnalyses),
		"DeleteNetworkInsightsAnalysis":   mut(act(deleteNetworkInsightsAnalysis)),
	}
}
