package vpc

import (
	"net/netip"
	"testing"
)

func TestLookups(t *testing.T) {
	topo := planTopology(t)
	in := &topo.Instances[0]
	a := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	checks := []struct {
		name string
		ok   bool
	}{
		{"Instance", topo.Instance(in.ID) == in && topo.Instance("nope") == nil},
		{"InstanceByENI", topo.InstanceByENI(in.ENI.ID) == in && topo.InstanceByENI("eni-nope") == nil},
		{"InstanceByIP private", topo.InstanceByIP(a("10.0.1.10")) == in},
		{"InstanceByIP ipv6", topo.InstanceByIP(a("2001:db8:0:1::10")) == in},
		{"InstanceByIP 4in6", topo.InstanceByIP(a("::ffff:10.0.1.10")) == in},
		{"InstanceByIP miss", topo.InstanceByIP(a("10.0.1.99")) == nil && topo.InstanceByIP(netip.Addr{}) == nil},
		{"Host", topo.Host("g") == &topo.Internet[1] && topo.Host("nope") == nil},
		{"HostByIP", topo.HostByIP(a("198.51.100.2")) == &topo.Internet[1] && topo.HostByIP(a("2001:db8:ffff::1")) == &topo.Internet[0]},
		{"HostByIP miss", topo.HostByIP(a("198.51.100.3")) == nil},
		{"Subnet", topo.Subnet(topo.Subnets[1].ID) == &topo.Subnets[1] && topo.Subnet("nope") == nil},
		{"SubnetOf v4", topo.SubnetOf(a("10.0.2.15")) == &topo.Subnets[1]},
		{"SubnetOf v6", topo.SubnetOf(a("2001:db8:0:1::abcd")) == &topo.Subnets[0]},
		{"SubnetOf miss", topo.SubnetOf(a("10.0.2.16")) == nil && topo.SubnetOf(a("2001:db8:0:2::1")) == nil},
		{"SecurityGroup", topo.SecurityGroup(DefaultSGID) != nil && topo.SecurityGroup("nope") == nil},
		{"NetworkACL", topo.NetworkACL(DefaultNACLID) != nil && topo.NetworkACL("nope") == nil},
		{"NACLOfSubnet", topo.NACLOfSubnet(topo.Subnets[0].ID) == topo.NetworkACL(DefaultNACLID) && topo.NACLOfSubnet("nope") == nil},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s lookup wrong", c.name)
		}
	}
	lab := Lab()
	if pl := mustParse(t, h+"prefix_lists: [{id: pl-1, cidrs: [192.0.2.0/24]}]\n").PrefixList("pl-1"); pl == nil || pl.MaxEntries != 1 {
		t.Errorf("PrefixList = %+v", pl)
	}
	for _, tc := range []struct {
		resource string
		want     int
	}{{"vpc-lab", 2}, {"subnet-public", 1}, {"i-db", 1}, {lab.Instance("i-web").ENI.ID, 1}} {
		got := lab.FlowLogInstances(&FlowLog{Resource: tc.resource})
		if len(got) != tc.want {
			t.Errorf("FlowLogInstances(%s) = %d instances, want %d", tc.resource, len(got), tc.want)
		}
	}
}

func TestLogFormat(t *testing.T) {
	def, err := ParseLogFormat("default")
	if err != nil || len(def) != 14 || def[0] != "version" || def[13] != "log-status" {
		t.Errorf("default format = %v, %v", def, err)
	}
	if f := (FlowLog{LogFormat: "${vpc-id}  ${reject-reason}"}).Fields(); len(f) != 2 || f[1] != "reject-reason" {
		t.Errorf("custom fields = %v", f)
	}
	if v := FlowLogFieldVersion("ecs-task-id"); v != 7 {
		t.Errorf("ecs-task-id version = %d", v)
	}
	if _, err := ParseLogFormat("${version} ${resource-id}"); err == nil {
		t.Errorf("resource-id (unconfirmed, v9+) accepted")
	}
}
