package vpc

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestThreeMistakesThreeErrors(t *testing.T) {
	src := `name: three
vpc: {cidr: 10.0.0.0/16}
subnets:
  - {id: a, cidr: 10.0.1.0/24}
  - {id: b, cidr: 10.0.1.0/25}
security_groups:
  - id: sg-x
    ingress:
      - {protocol: tcp, ports: 70000, cidr: 0.0.0.0/0}
instances:
  - {id: i-1, subnet: a, private_ip: 10.0.1.10, security_groups: [sg-y]}
`
	got := parseErrors(t, src)
	want := []string{
		`t.yaml:5:19: subnets[1].cidr: 10.0.1.0/25 overlaps a 10.0.1.0/24 (subnets[0]); valid: a block that overlaps no other subnet (InvalidSubnet.Conflict)`,
		`t.yaml:9:32: security_groups[0].ingress[0].ports: "70000" is not a valid port range; valid: a number 0-65535 or "FROM-TO" with FROM <= TO (InvalidParameterValue)`,
		`t.yaml:11:67: instances[0].security_groups[0]: unknown security group "sg-y"; valid: default, sg-x (InvalidGroup.NotFound)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", joinLines(got), joinLines(want))
	}
}

func TestErrorFormat(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{File: "lab.yaml", Line: 12, Column: 7, Field: "security_groups[0].ingress[2].ports", Code: "InvalidParameterValue", Msg: `"70000" is not a valid port range`},
			`lab.yaml:12:7: security_groups[0].ingress[2].ports: "70000" is not a valid port range (InvalidParameterValue)`},
		{Error{File: "f.yaml", Line: 3, Msg: "invalid YAML: x"}, "f.yaml:3: invalid YAML: x"},
		{Error{Field: "name", Msg: "bad"}, "name: bad"},
		{Error{File: "f.yaml", Msg: "bad"}, "f.yaml: bad"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	l := ErrorList{{File: "f", Line: 9, Column: 1, Msg: "b"}, {File: "f", Line: 2, Column: 5, Msg: "a"}}
	l.sort()
	if got := l.Error(); got != "f:2:5: a\nf:9:1: b" {
		t.Errorf("sorted list = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	topo := mustParse(t, `name: d
vpc: {cidr: 10.0.0.0/16, ipv6_cidr: "2001:db8::/56"}
subnets:
  - {id: s1, cidr: 10.0.1.0/24, ipv6_cidr: "2001:db8:0:1::/64"}
security_groups:
  - id: open
    ingress: [{protocol: icmp, icmp_type: 8, cidr: 10.0.0.9/16}]
  - id: closed
    egress: []
  - id: bare
    egress:
network_acls:
  - id: n1
    ingress:
      - {rule: 200, protocol: tcp, ports: 22, cidr: 192.0.2.7/24, action: deny}
      - {rule: 10, protocol: udp, cidr: 0.0.0.0/0, action: allow}
      - {rule: 50, protocol: icmpv6, icmp_type: 128, ipv6_cidr: "2001:db8:ffff::1/48", action: allow}
instances:
  - {id: i-a, subnet: s1, private_ip: 10.0.1.10, ipv6: "2001:db8:0:1::10", conntrack: {udp_timeout: 60}}
  - {id: i-b, eni: eni-b, subnet: s1, private_ip: 10.0.1.11, os: windows, security_groups: [open, closed]}
internet:
  - {name: h, ip: 198.51.100.1, ipv6: "2001:db8:ffff::1", services: [http, "udp:53"]}
`)
	if topo.Account != DefaultAccount || topo.Region != DefaultRegion || topo.VPCs[0].ID != "vpc-d" {
		t.Errorf("account/region/vpc id defaults = %q %q %q", topo.Account, topo.Region, topo.VPCs[0].ID)
	}
	if topo.Subnets[0].AZ != "us-east-1a" || topo.Subnets[0].NetworkACL != DefaultNACLID {
		t.Errorf("subnet defaults = %+v", topo.Subnets[0])
	}
	all4 := netip.MustParsePrefix("0.0.0.0/0")
	all6 := netip.MustParsePrefix("::/0")
	// NACL-17: rule 100 for IPv4 and 101 for IPv6 in each direction.
	dn := topo.NetworkACL(DefaultNACLID)
	wantNACL := []NACLRule{
		{Number: 100, Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: all4, Allow: true},
		{Number: 101, Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: all6, Allow: true},
	}
	if !dn.Default || !reflect.DeepEqual(dn.Ingress, wantNACL) || !reflect.DeepEqual(dn.Egress, wantNACL) {
		t.Errorf("default NACL = %+v", dn)
	}
	// SG-30: self-referencing inbound, all outbound to 0.0.0.0/0 and ::/0.
	ds := topo.SecurityGroup(DefaultSGID)
	wantIn := []SGRule{{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, SourceGroup: DefaultSGID}}
	wantOut := []SGRule{
		{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: all4},
		{Protocol: ProtoAll, Ports: AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: all6},
	}
	if ds.Name != "default" || !reflect.DeepEqual(noIDs(ds.Ingress), wantIn) || !reflect.DeepEqual(noIDs(ds.Egress), wantOut) {
		t.Errorf("default SG = %+v", ds)
	}
	// SG-32: a new SG gets only the IPv4 all-outbound rule; `egress: []` means none.
	if got := noIDs(topo.SecurityGroup("open").Egress); !reflect.DeepEqual(got, wantOut[:1]) {
		t.Errorf("open egress = %+v", got)
	}
	if got := topo.SecurityGroup("closed").Egress; len(got) != 0 {
		t.Errorf("closed egress = %+v, want none", got)
	}
	if got := noIDs(topo.SecurityGroup("bare").Egress); !reflect.DeepEqual(got, wantOut[:1]) {
		t.Errorf("bare (egress: with no value) egress = %+v", got)
	}
	if got := topo.SecurityGroup("open").Ingress[0]; got.CIDR != netip.MustParsePrefix("10.0.0.0/16") || got.ICMPType != 8 || got.ICMPCode != -1 || got.Ports != AllPorts {
		t.Errorf("open ingress (masked CIDR, ICMP code default) = %+v", got)
	}
	// Rules sorted by number, CIDRs canonicalised (NACL-16).
	n1 := topo.NetworkACL("n1")
	var nums []int
	for _, r := range n1.Ingress {
		nums = append(nums, r.Number)
	}
	if !slices.Equal(nums, []int{10, 50, 200}) || n1.Default || len(n1.Egress) != 0 {
		t.Errorf("n1 = %+v", n1)
	}
	if r := n1.Ingress[2]; r.CIDR != netip.MustParsePrefix("192.0.2.0/24") || r.Ports != (PortRange{22, 22}) || r.Allow {
		t.Errorf("n1 rule 200 = %+v", r)
	}
	if r := n1.Ingress[0]; r.Ports != AllPorts || r.Protocol != ProtoUDP {
		t.Errorf("n1 rule 10 (udp, no ports = all) = %+v", r)
	}
	if r := n1.Ingress[1]; r.CIDR != netip.MustParsePrefix("2001:db8:ffff::/48") || r.ICMPType != 128 {
		t.Errorf("n1 rule 50 = %+v", r)
	}
	a, b := topo.Instance("i-a"), topo.Instance("i-b")
	if a.OS != "amazon-linux" || !slices.Equal(a.SecurityGroups, []string{DefaultSGID}) || a.ENI.ID != ENIID("d", "i-a") {
		t.Errorf("i-a defaults = %+v", a)
	}
	if a.Conntrack != (Conntrack{TCPEstablished: 432000 * time.Second, UDP: 60 * time.Second, UDPStream: 180 * time.Second}) {
		t.Errorf("i-a conntrack = %+v", a.Conntrack)
	}
	if b.ENI.ID != "eni-b" || b.OS != "windows" || topo.InstanceByENI("eni-b") != b {
		t.Errorf("i-b = %+v", b)
	}
	if got := topo.Host("h").Services; !slices.Equal(got, []Service{{"http", 80}, {"udp", 53}}) {
		t.Errorf("host services = %v", got)
	}
	if topo.HostByIP(netip.MustParseAddr("2001:db8:ffff::1")) != topo.Host("h") || topo.InstanceByIP(netip.MustParseAddr("2001:db8:0:1::10")) != a {
		t.Errorf("IPv6 lookups failed")
	}
}

func TestENIIDIsDeterministic(t *testing.T) {
	// sha256("lab/i-web") begins 15b91eb5ab74d9028…; the id is its first 17 hex digits.
	if got := ENIID("lab", "i-web"); got != "eni-15b91eb5ab74d9028" {
		t.Errorf("ENIID = %q", got)
	}
	if ENIID("lab", "i-web") == ENIID("lab2", "i-web") {
		t.Errorf("ENI ids of two topologies collide")
	}
}

func TestUserDefinedDefaultGroups(t *testing.T) {
	topo := mustParse(t, h+`security_groups:
  - id: default
    ingress: []
network_acls:
  - id: acl-default
    egress:
      - {rule: 5, protocol: all, cidr: 0.0.0.0/0, action: deny}
`)
	ds := topo.SecurityGroup(DefaultSGID)
	if len(ds.Ingress) != 0 || len(ds.Egress) != 2 {
		t.Errorf("edited default SG = %+v (ingress emptied, egress kept as AWS's)", ds)
	}
	dn := topo.NetworkACL(DefaultNACLID)
	if !dn.Default || len(dn.Ingress) != 2 || len(dn.Egress) != 1 || dn.Egress[0].Number != 5 {
		t.Errorf("edited default NACL = %+v", dn)
	}
	if n := len(topo.SecurityGroups); n != 1 {
		t.Errorf("%d SGs, want the one default", n)
	}
}

func TestYAMLConveniences(t *testing.T) {
	// Top-level x- keys hold anchors; aliases and merge keys are followed;
	// quoted numbers are accepted.
	topo := mustParse(t, h+`x-web: &web
  - {protocol: tcp, ports: "80", cidr: 0.0.0.0/0}
  - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}
x-inst: &inst {subnet: s1, os: linux}
security_groups:
  - {id: a, ingress: *web}
  - {id: b, ingress: *web}
instances:
  - {<<: *inst, id: i-a, private_ip: 10.0.1.10}
  - {<<: *inst, id: i-b, private_ip: 10.0.1.11, os: windows}
`)
	if a, b := topo.SecurityGroup("a"), topo.SecurityGroup("b"); len(a.Ingress) != 2 || !reflect.DeepEqual(noIDs(a.Ingress), noIDs(b.Ingress)) || a.Ingress[0].Ports != (PortRange{80, 80}) {
		t.Errorf("aliased rules: a=%+v b=%+v", a.Ingress, b.Ingress)
	}
	if a, b := topo.Instance("i-a"), topo.Instance("i-b"); a.Subnet != "s1" || a.OS != "linux" || b.OS != "windows" {
		t.Errorf("merged instances: %+v %+v", a, b)
	}
}

// noIDs returns rules without their ids (derived from the group and place,
// so equal rules of two groups differ in them).
func noIDs(rules []SGRule) []SGRule {
	out := slices.Clone(rules)
	for i := range out {
		out[i].ID = ""
	}
	return out
}
