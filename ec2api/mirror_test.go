package ec2api

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

var (
	reTMT  = regexp.MustCompile(`^tmt-[0-9a-f]{17}$`)
	reTMF  = regexp.MustCompile(`^tmf-[0-9a-f]{17}$`)
	reTMFR = regexp.MustCompile(`^tmfr-[0-9a-f]{17}$`)
	reTMS  = regexp.MustCompile(`^tms-[0-9a-f]{17}$`)
)

// mirrorENIs launches two instances in f's subnet: a source and a
// monitoring one; it returns their ENIs.
func mirrorENIs(t *testing.T, f *f0) (src, mon string) {
	t.Helper()
	var enis []string
	for _, ip := range []string{"10.0.1.10", "10.0.1.20"} {
		run, err := f.ec2.RunInstances(ctx(t), &ec2.RunInstancesInput{MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: &f.subnet,
			PrivateIpAddress: aws.String(ip)})
		if err != nil {
			t.Fatal(err)
		}
		enis = append(enis, *run.Instances[0].NetworkInterfaces[0].NetworkInterfaceId)
	}
	return enis[0], enis[1]
}

// Targets, filters with rules, sessions: created, described (ids, filters,
// paging), modified and deleted through the SDK, with AWS's shapes; what
// they make is a topology its export recreates.
func TestTrafficMirrorActions(t *testing.T) {
	f := newF0(t)
	c := f.ec2
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	src, mon := mirrorENIs(t, f)

	tg, err := c.CreateTrafficMirrorTarget(ctx(t), &ec2.CreateTrafficMirrorTargetInput{NetworkInterfaceId: &mon, Description: aws.String("monitor"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeTrafficMirrorTarget, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("mon")}}}},
		ClientToken:       aws.String("tok-target")})
	must(err)
	target := *tg.TrafficMirrorTarget.TrafficMirrorTargetId
	if !reTMT.MatchString(target) || aws.ToString(tg.TrafficMirrorTarget.NetworkInterfaceId) != mon ||
		tg.TrafficMirrorTarget.Type != types.TrafficMirrorTargetTypeNetworkInterface || aws.ToString(tg.ClientToken) != "tok-target" {
		t.Errorf("target %+v", tg.TrafficMirrorTarget)
	}
	again, err := c.CreateTrafficMirrorTarget(ctx(t), &ec2.CreateTrafficMirrorTargetInput{NetworkInterfaceId: &mon, Description: aws.String("monitor"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeTrafficMirrorTarget, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("mon")}}}},
		ClientToken:       aws.String("tok-target")})
	must(err)
	if *again.TrafficMirrorTarget.TrafficMirrorTargetId != target {
		t.Errorf("API-6: the same ClientToken created a second target %s", *again.TrafficMirrorTarget.TrafficMirrorTargetId)
	}

	fl, err := c.CreateTrafficMirrorFilter(ctx(t), &ec2.CreateTrafficMirrorFilterInput{Description: aws.String("http")})
	must(err)
	filter := *fl.TrafficMirrorFilter.TrafficMirrorFilterId
	if !reTMF.MatchString(filter) || len(fl.TrafficMirrorFilter.IngressFilterRules) != 0 {
		t.Errorf("filter %+v", fl.TrafficMirrorFilter)
	}
	rule, err := c.CreateTrafficMirrorFilterRule(ctx(t), &ec2.CreateTrafficMirrorFilterRuleInput{TrafficMirrorFilterId: &filter,
		TrafficDirection: types.TrafficDirectionIngress, RuleNumber: aws.Int32(100), RuleAction: types.TrafficMirrorRuleActionAccept,
		Protocol: aws.Int32(6), DestinationPortRange: &types.TrafficMirrorPortRangeRequest{FromPort: aws.Int32(80), ToPort: aws.Int32(80)},
		SourceCidrBlock: aws.String("0.0.0.0/0"), DestinationCidrBlock: aws.String("10.0.1.7/24")})
	must(err)
	r := rule.TrafficMirrorFilterRule
	ruleID := *r.TrafficMirrorFilterRuleId
	if !reTMFR.MatchString(ruleID) || *r.TrafficMirrorFilterId != filter || r.TrafficDirection != types.TrafficDirectionIngress ||
		*r.RuleNumber != 100 || r.RuleAction != types.TrafficMirrorRuleActionAccept || *r.Protocol != 6 ||
		*r.DestinationPortRange.FromPort != 80 || r.SourcePortRange != nil || *r.DestinationCidrBlock != "10.0.1.0/24" {
		t.Errorf("rule %+v", r)
	}
	_, err = c.CreateTrafficMirrorFilterRule(ctx(t), &ec2.CreateTrafficMirrorFilterRuleInput{TrafficMirrorFilterId: &filter,
		TrafficDirection: types.TrafficDirectionEgress, RuleNumber: aws.Int32(100), RuleAction: types.TrafficMirrorRuleActionReject,
		SourceCidrBlock: aws.String("0.0.0.0/0"), DestinationCidrBlock: aws.String("0.0.0.0/0")})
	must(err) // the same number in the other direction
	_, err = c.ModifyTrafficMirrorFilterNetworkServices(ctx(t), &ec2.ModifyTrafficMirrorFilterNetworkServicesInput{TrafficMirrorFilterId: &filter,
		AddNetworkServices: []types.TrafficMirrorNetworkService{types.TrafficMirrorNetworkServiceAmazonDns}})
	must(err)
	df, err := c.DescribeTrafficMirrorFilters(ctx(t), &ec2.DescribeTrafficMirrorFiltersInput{TrafficMirrorFilterIds: []string{filter}})
	must(err)
	if got := df.TrafficMirrorFilters; len(got) != 1 || len(got[0].IngressFilterRules) != 1 || len(got[0].EgressFilterRules) != 1 ||
		*got[0].IngressFilterRules[0].TrafficMirrorFilterRuleId != ruleID || len(got[0].NetworkServices) != 1 || aws.ToString(got[0].Description) != "http" {
		t.Errorf("described filter %+v", got)
	}

	// Renumbered, turned outbound, its port range removed: the rule keeps its id.
	mr, err := c.ModifyTrafficMirrorFilterRule(ctx(t), &ec2.ModifyTrafficMirrorFilterRuleInput{TrafficMirrorFilterRuleId: &ruleID,
		RuleNumber: aws.Int32(50), TrafficDirection: types.TrafficDirectionEgress,
		RemoveFields: []types.TrafficMirrorFilterRuleField{types.TrafficMirrorFilterRuleFieldDestinationPortRange}})
	must(err)
	if r := mr.TrafficMirrorFilterRule; *r.TrafficMirrorFilterRuleId != ruleID || *r.RuleNumber != 50 || r.TrafficDirection != types.TrafficDirectionEgress ||
		r.DestinationPortRange != nil || *r.Protocol != 6 {
		t.Errorf("modified rule %+v", r)
	}
	df, err = c.DescribeTrafficMirrorFilters(ctx(t), &ec2.DescribeTrafficMirrorFiltersInput{TrafficMirrorFilterIds: []string{filter}})
	must(err)
	if got := df.TrafficMirrorFilters[0]; len(got.IngressFilterRules) != 0 || len(got.EgressFilterRules) != 2 || *got.EgressFilterRules[0].TrafficMirrorFilterRuleId != ruleID {
		t.Errorf("after the modify: %+v", got)
	}

	ses, err := c.CreateTrafficMirrorSession(ctx(t), &ec2.CreateTrafficMirrorSessionInput{NetworkInterfaceId: &src, TrafficMirrorTargetId: &target,
		TrafficMirrorFilterId: &filter, SessionNumber: aws.Int32(1), PacketLength: aws.Int32(128),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeTrafficMirrorSession, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}}}})
	must(err)
	s := ses.TrafficMirrorSession
	session := *s.TrafficMirrorSessionId
	if !reTMS.MatchString(session) || *s.NetworkInterfaceId != src || *s.TrafficMirrorTargetId != target || *s.SessionNumber != 1 ||
		*s.PacketLength != 128 || s.VirtualNetworkId == nil || len(s.Tags) != 1 {
		t.Errorf("session %+v", s)
	}
	ms, err := c.ModifyTrafficMirrorSession(ctx(t), &ec2.ModifyTrafficMirrorSessionInput{TrafficMirrorSessionId: &session,
		VirtualNetworkId: aws.Int32(4242), RemoveFields: []types.TrafficMirrorSessionField{types.TrafficMirrorSessionFieldPacketLength}})
	must(err)
	if s := ms.TrafficMirrorSession; *s.VirtualNetworkId != 4242 || s.PacketLength != nil {
		t.Errorf("modified session %+v", s)
	}
	ds, err := c.DescribeTrafficMirrorSessions(ctx(t), &ec2.DescribeTrafficMirrorSessionsInput{Filters: []types.Filter{
		{Name: aws.String("virtual-network-id"), Values: []string{"4242"}}, {Name: aws.String("tag:team"), Values: []string{"sec"}}}})
	must(err)
	if len(ds.TrafficMirrorSessions) != 1 || *ds.TrafficMirrorSessions[0].TrafficMirrorSessionId != session {
		t.Errorf("filtered sessions %+v", ds.TrafficMirrorSessions)
	}
	dt, err := c.DescribeTrafficMirrorTargets(ctx(t), &ec2.DescribeTrafficMirrorTargetsInput{Filters: []types.Filter{
		{Name: aws.String("network-interface-id"), Values: []string{mon}}}})
	must(err)
	if len(dt.TrafficMirrorTargets) != 1 || *dt.TrafficMirrorTargets[0].TrafficMirrorTargetId != target || len(dt.TrafficMirrorTargets[0].Tags) != 1 {
		t.Errorf("filtered targets %+v", dt.TrafficMirrorTargets)
	}
	f.exportRoundTrips(t)

	// In use: neither the target nor the filter can go before the session.
	_, err = c.DeleteTrafficMirrorTarget(ctx(t), &ec2.DeleteTrafficMirrorTargetInput{TrafficMirrorTargetId: &target})
	if apiCode(t, err) != "DependencyViolation" {
		t.Errorf("deleting a target in use: %v", err)
	}
	_, err = c.DeleteTrafficMirrorFilter(ctx(t), &ec2.DeleteTrafficMirrorFilterInput{TrafficMirrorFilterId: &filter})
	if apiCode(t, err) != "DependencyViolation" {
		t.Errorf("deleting a filter in use: %v", err)
	}
	_, err = c.DeleteTrafficMirrorSession(ctx(t), &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: &session, DryRun: aws.Bool(true)})
	if apiCode(t, err) != "DryRunOperation" {
		t.Errorf("DryRun delete: %v", err)
	}
	ds, err = c.DescribeTrafficMirrorSessions(ctx(t), &ec2.DescribeTrafficMirrorSessionsInput{})
	must(err)
	if len(ds.TrafficMirrorSessions) != 1 {
		t.Errorf("a DryRun delete deleted the session: %+v", ds.TrafficMirrorSessions)
	}
	d, err := c.DeleteTrafficMirrorSession(ctx(t), &ec2.DeleteTrafficMirrorSessionInput{TrafficMirrorSessionId: &session})
	must(err)
	if *d.TrafficMirrorSessionId != session {
		t.Errorf("deleted %v", *d.TrafficMirrorSessionId)
	}
	dr, err := c.DeleteTrafficMirrorFilterRule(ctx(t), &ec2.DeleteTrafficMirrorFilterRuleInput{TrafficMirrorFilterRuleId: &ruleID})
	must(err)
	if *dr.TrafficMirrorFilterRuleId != ruleID {
		t.Errorf("deleted rule %v", *dr.TrafficMirrorFilterRuleId)
	}
	_, err = c.DeleteTrafficMirrorFilter(ctx(t), &ec2.DeleteTrafficMirrorFilterInput{TrafficMirrorFilterId: &filter})
	must(err)
	_, err = c.DeleteTrafficMirrorTarget(ctx(t), &ec2.DeleteTrafficMirrorTargetInput{TrafficMirrorTargetId: &target})
	must(err)
	dt, err = c.DescribeTrafficMirrorTargets(ctx(t), &ec2.DescribeTrafficMirrorTargetsInput{})
	must(err)
	if len(dt.TrafficMirrorTargets) != 0 || len(f.committed(t).TrafficMirror.Filters) != 0 {
		t.Errorf("left after deleting everything: %+v %+v", dt.TrafficMirrorTargets, f.committed(t).TrafficMirror)
	}
}

// Bad input: the AWS error codes of the parameters and of the topology's
// validation (TM-1, TM-3, TM-4, TM-7), and a failed call changes nothing.
func TestTrafficMirrorErrors(t *testing.T) {
	f := newF0(t)
	c := f.ec2
	src, mon := mirrorENIs(t, f)
	tg, err := c.CreateTrafficMirrorTarget(ctx(t), &ec2.CreateTrafficMirrorTargetInput{NetworkInterfaceId: &mon})
	if err != nil {
		t.Fatal(err)
	}
	target := *tg.TrafficMirrorTarget.TrafficMirrorTargetId
	fl, err := c.CreateTrafficMirrorFilter(ctx(t), &ec2.CreateTrafficMirrorFilterInput{})
	if err != nil {
		t.Fatal(err)
	}
	filter := *fl.TrafficMirrorFilter.TrafficMirrorFilterId
	ruleIn := func(n int32, dir types.TrafficDirection, srcCIDR, dstCIDR string) *ec2.CreateTrafficMirrorFilterRuleInput {
		return &ec2.CreateTrafficMirrorFilterRuleInput{TrafficMirrorFilterId: &filter, TrafficDirection: dir, RuleNumber: aws.Int32(n),
			RuleAction: types.TrafficMirrorRuleActionAccept, SourceCidrBlock: aws.String(srcCIDR), DestinationCidrBlock: aws.String(dstCIDR)}
	}
	sessionIn := func(eni, target string, n int32) *ec2.CreateTrafficMirrorSessionInput {
		return &ec2.CreateTrafficMirrorSessionInput{NetworkInterfaceId: &eni, TrafficMirrorTargetId: &target, TrafficMirrorFilterId: &filter, SessionNumber: aws.Int32(n)}
	}
	before := f.committed(t).YAML()

	cases := []struct {
		name string
		call func() error
		code string
	}{
		{"target on an unknown ENI", func() error {
			_, err := c.CreateTrafficMirrorTarget(ctx(t), &ec2.CreateTrafficMirrorTargetInput{NetworkInterfaceId: aws.String("eni-0123456789abcdef0")})
			return err
		}, "InvalidNetworkInterfaceID.NotFound"},
		{"target without an ENI", func() error {
			_, err := c.CreateTrafficMirrorTarget(ctx(t), &ec2.CreateTrafficMirrorTargetInput{})
			return err
		}, "MissingParameter"},
		{"TM-1 Network Load Balancer target", func() error {
			_, err := c.CreateTrafficMirrorTarget(ctx(t), &ec2.CreateTrafficMirrorTargetInput{NetworkLoadBalancerArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/net/x/1")})
			return err
		}, "UnsupportedOperation"},
		{"rule in an unknown filter", func() error {
			in := ruleIn(1, types.TrafficDirectionIngress, "0.0.0.0/0", "0.0.0.0/0")
			in.TrafficMirrorFilterId = aws.String("tmf-0123456789abcdef0")
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), in)
			return err
		}, "InvalidTrafficMirrorFilterId.NotFound"},
		{"TM-4 rule number 0", func() error {
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(0, types.TrafficDirectionIngress, "0.0.0.0/0", "0.0.0.0/0"))
			return err
		}, "InvalidParameterValue"},
		{"TM-4 rule number 32767", func() error {
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(32767, types.TrafficDirectionIngress, "0.0.0.0/0", "0.0.0.0/0"))
			return err
		}, "InvalidParameterValue"},
		{"TM-4 not a CIDR", func() error {
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(1, types.TrafficDirectionIngress, "10.0.0.300/8", "0.0.0.0/0"))
			return err
		}, "InvalidParameterValue"},
		{"TM-4 CIDRs of two families", func() error {
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(1, types.TrafficDirectionIngress, "0.0.0.0/0", "::/0"))
			return err
		}, "InvalidParameterCombination"},
		{"TM-4 port range without TCP or UDP", func() error {
			in := ruleIn(1, types.TrafficDirectionIngress, "0.0.0.0/0", "0.0.0.0/0")
			in.Protocol, in.DestinationPortRange = aws.Int32(1), &types.TrafficMirrorPortRangeRequest{FromPort: aws.Int32(80), ToPort: aws.Int32(80)}
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), in)
			return err
		}, "InvalidParameterCombination"},
		{"bad direction", func() error {
			_, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(1, types.TrafficDirection("inbound"), "0.0.0.0/0", "0.0.0.0/0"))
			return err
		}, "InvalidParameterValue"},
		{"TM-6 unknown network service", func() error {
			_, err := c.ModifyTrafficMirrorFilterNetworkServices(ctx(t), &ec2.ModifyTrafficMirrorFilterNetworkServicesInput{TrafficMirrorFilterId: &filter,
				AddNetworkServices: []types.TrafficMirrorNetworkService{"amazon-ntp"}})
			return err
		}, "InvalidParameterValue"},
		{"session on an unknown target", func() error {
			_, err := c.CreateTrafficMirrorSession(ctx(t), sessionIn(src, "tmt-0123456789abcdef0", 1))
			return err
		}, "InvalidTrafficMirrorTargetId.NotFound"},
		{"session from a malformed ENI id", func() error {
			_, err := c.CreateTrafficMirrorSession(ctx(t), sessionIn("i-nope", target, 1))
			return err
		}, "InvalidNetworkInterfaceID.Malformed"},
		{"TM-1 the target's own ENI as the source", func() error {
			_, err := c.CreateTrafficMirrorSession(ctx(t), sessionIn(mon, target, 1))
			return err
		}, "InvalidParameterCombination"},
		{"TM-2 session number 0", func() error {
			_, err := c.CreateTrafficMirrorSession(ctx(t), sessionIn(src, target, 0))
			return err
		}, "InvalidParameterValue"},
		{"TM-2 VNI above 2^24-1", func() error {
			in := sessionIn(src, target, 1)
			in.VirtualNetworkId = aws.Int32(1 << 24)
			_, err := c.CreateTrafficMirrorSession(ctx(t), in)
			return err
		}, "InvalidParameterValue"},
		{"modify an unknown session", func() error {
			_, err := c.ModifyTrafficMirrorSession(ctx(t), &ec2.ModifyTrafficMirrorSessionInput{TrafficMirrorSessionId: aws.String("tms-0123456789abcdef0")})
			return err
		}, "InvalidTrafficMirrorSessionId.NotFound"},
		{"delete an unknown rule", func() error {
			_, err := c.DeleteTrafficMirrorFilterRule(ctx(t), &ec2.DeleteTrafficMirrorFilterRuleInput{TrafficMirrorFilterRuleId: aws.String("tmfr-0123456789abcdef0")})
			return err
		}, "InvalidTrafficMirrorFilterRuleId.NotFound"},
		{"describe an unknown target", func() error {
			_, err := c.DescribeTrafficMirrorTargets(ctx(t), &ec2.DescribeTrafficMirrorTargetsInput{TrafficMirrorTargetIds: []string{"tmt-0123456789abcdef0"}})
			return err
		}, "InvalidTrafficMirrorTargetId.NotFound"},
		{"describe with an unknown filter name", func() error {
			_, err := c.DescribeTrafficMirrorSessions(ctx(t), &ec2.DescribeTrafficMirrorSessionsInput{Filters: []types.Filter{{Name: aws.String("vni"), Values: []string{"1"}}}})
			return err
		}, "InvalidParameterValue"},
	}
	for _, tc := range cases {
		if got := apiCode(t, tc.call()); got != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.code)
		}
	}
	if after := f.committed(t).YAML(); string(after) != string(before) {
		t.Errorf("failed calls changed the topology:\n%s\nnow\n%s", before, after)
	}

	// TM-4 a rule number once per direction; TM-7 ten rules per filter.
	if _, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(1, types.TrafficDirectionIngress, "0.0.0.0/0", "0.0.0.0/0")); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(1, types.TrafficDirectionIngress, "10.0.0.0/8", "0.0.0.0/0"))
	if got := apiCode(t, err); got != "TrafficMirrorFilterRuleAlreadyExists" {
		t.Errorf("TM-4 rule 1 twice: %s", got)
	}
	for n := int32(2); n <= 10; n++ {
		if _, err := c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(n, types.TrafficDirectionEgress, "0.0.0.0/0", "0.0.0.0/0")); err != nil {
			t.Fatalf("rule %d: %v", n, err)
		}
	}
	_, err = c.CreateTrafficMirrorFilterRule(ctx(t), ruleIn(11, types.TrafficDirectionEgress, "0.0.0.0/0", "0.0.0.0/0"))
	if got := apiCode(t, err); got != "TrafficMirrorFilterRuleLimitExceeded" {
		t.Errorf("TM-7 an eleventh rule: %s", got)
	}

	// TM-3 three sessions per source, numbers unique on a source.
	for n := int32(1); n <= 3; n++ {
		if _, err := c.CreateTrafficMirrorSession(ctx(t), sessionIn(src, target, n)); err != nil {
			t.Fatalf("session %d: %v", n, err)
		}
	}
	_, err = c.CreateTrafficMirrorSession(ctx(t), sessionIn(src, target, 4))
	if got := apiCode(t, err); got != "TrafficMirrorSessionsPerInterfaceLimitExceeded" {
		t.Errorf("TM-3 a fourth session: %s", got)
	}
}

// The AWS CLI's own spelling of the mirroring commands (shorthand port
// ranges, --remove-fields) reaches the same actions.
func TestTrafficMirrorCLI(t *testing.T) {
	f := newF0(t)
	src, mon := mirrorENIs(t, f)
	run := func(args ...string) string {
		t.Helper()
		out, stderr, code := f.s.cli(t, args...)
		if code != 0 {
			t.Fatalf("aws ec2 %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
		}
		return out
	}
	target := jsonField(t, run("create-traffic-mirror-target", "--network-interface-id", mon), "TrafficMirrorTarget", "TrafficMirrorTargetId")
	filter := jsonField(t, run("create-traffic-mirror-filter"), "TrafficMirrorFilter", "TrafficMirrorFilterId")
	run("create-traffic-mirror-filter-rule", "--traffic-mirror-filter-id", filter, "--traffic-direction", "ingress", "--rule-number", "10",
		"--rule-action", "accept", "--protocol", "17", "--destination-port-range", "FromPort=53,ToPort=53",
		"--source-cidr-block", "0.0.0.0/0", "--destination-cidr-block", "0.0.0.0/0")
	// One bound of a port range: the other is the range's end; a rule's tags.
	run("create-traffic-mirror-filter-rule", "--traffic-mirror-filter-id", filter, "--traffic-direction", "egress", "--rule-number", "10",
		"--rule-action", "accept", "--protocol", "6", "--source-port-range", "FromPort=1024",
		"--source-cidr-block", "0.0.0.0/0", "--destination-cidr-block", "0.0.0.0/0",
		"--tag-specifications", "ResourceType=traffic-mirror-filter-rule,Tags=[{Key=k,Value=v}]")
	session := jsonField(t, run("create-traffic-mirror-session", "--network-interface-id", src, "--traffic-mirror-target-id", target,
		"--traffic-mirror-filter-id", filter, "--session-number", "1", "--virtual-network-id", "77", "--packet-length", "64"), "TrafficMirrorSession", "TrafficMirrorSessionId")
	run("modify-traffic-mirror-session", "--traffic-mirror-session-id", session, "--remove-fields", "packet-length")
	out := run("describe-traffic-mirror-sessions", "--traffic-mirror-session-ids", session)
	if !strings.Contains(out, `"VirtualNetworkId": 77`) || strings.Contains(out, "PacketLength") {
		t.Errorf("described session:\n%s", out)
	}
	out = run("describe-traffic-mirror-filters", "--filters", "Name=traffic-mirror-filter-id,Values="+filter)
	if !strings.Contains(out, `"FromPort": 53`) || !strings.Contains(out, `"Protocol": 17`) ||
		!regexp.MustCompile(`"FromPort": 1024,\s+"ToPort": 65535`).MatchString(out) || !strings.Contains(out, `"Key": "k"`) {
		t.Errorf("described filter:\n%s", out)
	}
	// describe-traffic-mirror-filter-rules: the filter's egress rule, and
	// paging by hand (the CLI has no paginator for it).
	out = run("describe-traffic-mirror-filter-rules", "--traffic-mirror-filter-id", filter, "--filters", "Name=traffic-direction,Values=egress")
	var rules struct {
		TrafficMirrorFilterRules []struct {
			TrafficMirrorFilterRuleId, TrafficDirection string
			SourcePortRange                             struct{ FromPort, ToPort int }
			Tags                                        []struct{ Key, Value string }
		}
		NextToken string
	}
	if err := json.Unmarshal([]byte(out), &rules); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r := rules.TrafficMirrorFilterRules; len(r) != 1 || r[0].TrafficDirection != "egress" || r[0].SourcePortRange.FromPort != 1024 ||
		r[0].SourcePortRange.ToPort != 65535 || len(r[0].Tags) != 1 || r[0].Tags[0].Key != "k" || !reTMFR.MatchString(r[0].TrafficMirrorFilterRuleId) {
		t.Errorf("described egress rules:\n%s", out)
	}
	egress := rules.TrafficMirrorFilterRules[0].TrafficMirrorFilterRuleId
	for n := 20; n <= 60; n += 10 {
		run("create-traffic-mirror-filter-rule", "--traffic-mirror-filter-id", filter, "--traffic-direction", "ingress", "--rule-number", strconv.Itoa(n),
			"--rule-action", "reject", "--source-cidr-block", "0.0.0.0/0", "--destination-cidr-block", "0.0.0.0/0")
	}
	var seen []string
	args := []string{"describe-traffic-mirror-filter-rules", "--max-results", "5"}
	for page := 0; ; page++ {
		rules.NextToken, rules.TrafficMirrorFilterRules = "", nil
		if err := json.Unmarshal([]byte(run(args...)), &rules); err != nil {
			t.Fatal(err)
		}
		for _, r := range rules.TrafficMirrorFilterRules {
			seen = append(seen, r.TrafficMirrorFilterRuleId)
		}
		if rules.NextToken == "" || page > 2 {
			break
		}
		args = []string{"describe-traffic-mirror-filter-rules", "--max-results", "5", "--next-token", rules.NextToken}
	}
	if len(seen) != 7 || seen[6] != egress {
		t.Errorf("paged rules %v, want 7, ingress (10, 20..60) then egress %s", seen, egress)
	}
	ses := f.committed(t).TrafficMirror.Sessions
	if len(ses) != 1 || ses[0].VNI != 77 || ses[0].PacketLength != 0 || ses[0].Source != src {
		t.Errorf("committed sessions %+v", ses)
	}
}

// jsonField reads obj.field of the CLI's JSON output.
func jsonField(t *testing.T, out, obj, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	o, _ := m[obj].(map[string]any)
	s, _ := o[field].(string)
	if s == "" {
		t.Fatalf("no %s.%s in %s", obj, field, out)
	}
	return s
}

// DescribeTrafficMirrorFilterRules through the SDK: every rule of every
// filter in evaluation order, one filter's (TrafficMirrorFilterId), ids,
// each of AWS's filters, paging, and the errors of what names nothing.
func TestDescribeTrafficMirrorFilterRules(t *testing.T) {
	f := newF0(t)
	c := f.ec2
	newFilter := func() string {
		t.Helper()
		fl, err := c.CreateTrafficMirrorFilter(ctx(t), &ec2.CreateTrafficMirrorFilterInput{})
		if err != nil {
			t.Fatal(err)
		}
		return *fl.TrafficMirrorFilter.TrafficMirrorFilterId
	}
	fa, fb := newFilter(), newFilter()
	type rule struct {
		filter   string
		dir      types.TrafficDirection
		n        int32
		accept   bool
		proto    int32 // 0: all
		src, dst string
		desc     string
	}
	// Created out of order: each filter lists ingress then egress, by number.
	specs := []rule{
		{fa, types.TrafficDirectionIngress, 20, false, 0, "0.0.0.0/0", "0.0.0.0/0", ""},
		{fa, types.TrafficDirectionEgress, 10, true, 17, "10.0.0.0/16", "0.0.0.0/0", "dns"},
		{fa, types.TrafficDirectionIngress, 10, true, 6, "10.0.0.0/8", "0.0.0.0/0", "web"},
		{fb, types.TrafficDirectionEgress, 30, false, 6, "0.0.0.0/0", "192.0.2.0/24", ""},
		{fa, types.TrafficDirectionEgress, 30, false, 6, "0.0.0.0/0", "0.0.0.0/0", ""},
		{fb, types.TrafficDirectionIngress, 10, true, 6, "0.0.0.0/0", "0.0.0.0/0", "web"},
		{fb, types.TrafficDirectionIngress, 5, true, 1, "198.51.100.0/24", "0.0.0.0/0", ""},
	}
	ids := make([]string, len(specs))
	for i, r := range specs {
		in := &ec2.CreateTrafficMirrorFilterRuleInput{TrafficMirrorFilterId: aws.String(r.filter), TrafficDirection: r.dir, RuleNumber: aws.Int32(r.n),
			RuleAction: types.TrafficMirrorRuleActionReject, SourceCidrBlock: aws.String(r.src), DestinationCidrBlock: aws.String(r.dst)}
		if r.accept {
			in.RuleAction = types.TrafficMirrorRuleActionAccept
		}
		if r.proto != 0 {
			in.Protocol = aws.Int32(r.proto)
		}
		if r.desc != "" {
			in.Description = aws.String(r.desc)
		}
		if r.desc == "web" {
			in.DestinationPortRange = &types.TrafficMirrorPortRangeRequest{FromPort: aws.Int32(80), ToPort: aws.Int32(80)}
		}
		out, err := c.CreateTrafficMirrorFilterRule(ctx(t), in)
		if err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
		ids[i] = *out.TrafficMirrorFilterRule.TrafficMirrorFilterRuleId
	}
	describe := func(in *ec2.DescribeTrafficMirrorFilterRulesInput) ([]string, *string) {
		t.Helper()
		out, err := c.DescribeTrafficMirrorFilterRules(ctx(t), in)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		var got []string
		for _, r := range out.TrafficMirrorFilterRules {
			got = append(got, *r.TrafficMirrorFilterRuleId)
		}
		return got, out.NextToken
	}
	// want lists rules by their index in specs.
	want := func(idx ...int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}
	same := func(what string, got, want []string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	all, next := describe(&ec2.DescribeTrafficMirrorFilterRulesInput{})
	same("all rules", all, want(2, 0, 1, 4, 6, 5, 3))
	if next != nil {
		t.Errorf("all rules: NextToken %q", *next)
	}
	got, _ := describe(&ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterId: aws.String(fb)})
	same("TrafficMirrorFilterId", got, want(6, 5, 3))
	got, _ = describe(&ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterRuleIds: []string{ids[3], ids[2]}})
	same("TrafficMirrorFilterRuleIds", got, want(2, 3))

	filter := func(name string, values ...string) types.Filter {
		return types.Filter{Name: aws.String(name), Values: values}
	}
	for _, tc := range []struct {
		filters []types.Filter
		want    []string
	}{
		{[]types.Filter{filter("traffic-mirror-filter-rule-id", ids[1], ids[6])}, want(1, 6)},
		{[]types.Filter{filter("traffic-mirror-filter-id", fa)}, want(2, 0, 1, 4)},
		{[]types.Filter{filter("rule-action", "reject")}, want(0, 4, 3)},
		{[]types.Filter{filter("traffic-direction", "egress")}, want(1, 4, 3)},
		{[]types.Filter{filter("protocol", "6")}, want(2, 4, 5, 3)},
		{[]types.Filter{filter("protocol", "17", "1")}, want(1, 6)},
		{[]types.Filter{filter("rule-number", "10")}, want(2, 1, 5)},
		{[]types.Filter{filter("source-cidr-block", "10.0.0.0/8", "198.51.100.0/24")}, want(2, 6)},
		{[]types.Filter{filter("destination-cidr-block", "192.0.2.0/24")}, want(3)},
		{[]types.Filter{filter("description", "web")}, want(2, 5)},
		{[]types.Filter{filter("description", "d*")}, want(1)},
		// Two filters: both must match.
		{[]types.Filter{filter("rule-number", "10"), filter("traffic-direction", "ingress")}, want(2, 5)},
	} {
		got, _ := describe(&ec2.DescribeTrafficMirrorFilterRulesInput{Filters: tc.filters})
		var names []string
		for _, f := range tc.filters {
			names = append(names, *f.Name+"="+strings.Join(f.Values, "|"))
		}
		same(strings.Join(names, " "), got, tc.want)
	}
	got, _ = describe(&ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterId: aws.String(fa), Filters: []types.Filter{filter("description", "web")}})
	same("TrafficMirrorFilterId and description", got, want(2))

	// Paging: 5 and the 2 left.
	first, next := describe(&ec2.DescribeTrafficMirrorFilterRulesInput{MaxResults: aws.Int32(5)})
	if next == nil {
		t.Fatal("5 of 7 rules and no NextToken")
	}
	rest, last := describe(&ec2.DescribeTrafficMirrorFilterRulesInput{MaxResults: aws.Int32(5), NextToken: next})
	same("pages", append(first, rest...), all)
	if len(first) != 5 || last != nil {
		t.Errorf("pages of %d and %d, last NextToken %v", len(first), len(rest), last)
	}

	// AWS's shape: one rule in full.
	out, err := c.DescribeTrafficMirrorFilterRules(ctx(t), &ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterRuleIds: []string{ids[2]}})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.TrafficMirrorFilterRules[0]; *r.TrafficMirrorFilterId != fa || r.TrafficDirection != types.TrafficDirectionIngress || *r.RuleNumber != 10 ||
		r.RuleAction != types.TrafficMirrorRuleActionAccept || *r.Protocol != 6 || *r.DestinationPortRange.FromPort != 80 || *r.DestinationPortRange.ToPort != 80 ||
		r.SourcePortRange != nil || *r.SourceCidrBlock != "10.0.0.0/8" || *r.DestinationCidrBlock != "0.0.0.0/0" || aws.ToString(r.Description) != "web" {
		t.Errorf("rule %+v", r)
	}
	out, err = c.DescribeTrafficMirrorFilterRules(ctx(t), &ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterRuleIds: []string{ids[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if r := out.TrafficMirrorFilterRules[0]; r.Protocol != nil || r.DestinationPortRange != nil || r.RuleAction != types.TrafficMirrorRuleActionReject {
		t.Errorf("a reject rule for all protocols and ports shows %+v", r)
	}

	for _, tc := range []struct {
		name string
		in   *ec2.DescribeTrafficMirrorFilterRulesInput
		code string
	}{
		{"unknown filter", &ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterId: aws.String("tmf-0123456789abcdef0")}, "InvalidTrafficMirrorFilterId.NotFound"},
		{"malformed filter id", &ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterId: aws.String("acl-1")}, "InvalidTrafficMirrorFilterId.Malformed"},
		{"unknown rule", &ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterRuleIds: []string{"tmfr-0123456789abcdef0"}}, "InvalidTrafficMirrorFilterRuleId.NotFound"},
		{"a rule of another filter", &ec2.DescribeTrafficMirrorFilterRulesInput{TrafficMirrorFilterId: aws.String(fb), TrafficMirrorFilterRuleIds: []string{ids[0]}},
			"InvalidTrafficMirrorFilterRuleId.NotFound"},
		{"unknown filter name", &ec2.DescribeTrafficMirrorFilterRulesInput{Filters: []types.Filter{filter("rule-color", "red")}}, "InvalidParameterValue"},
		{"MaxResults under 5", &ec2.DescribeTrafficMirrorFilterRulesInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue"},
		{"bad NextToken", &ec2.DescribeTrafficMirrorFilterRulesInput{NextToken: aws.String("nope")}, "InvalidPaginationToken"},
	} {
		_, err := c.DescribeTrafficMirrorFilterRules(ctx(t), tc.in)
		if got := apiCode(t, err); got != tc.code {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.code)
		}
	}
}
