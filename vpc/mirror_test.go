package vpc_test

import (
	"strings"
	"testing"

	"github.com/vpcemu/vpcemu/vpc"
)

// mirrorBase has two VPCs: i-web and i-mon in vpc-a, i-far in vpc-b.
const mirrorBase = `name: tm
vpcs:
  - {id: vpc-a, cidr: 10.0.0.0/16}
  - {id: vpc-b, cidr: 10.1.0.0/16}
subnets:
  - {id: sn-a, vpc: vpc-a, cidr: 10.0.1.0/24}
  - {id: sn-b, vpc: vpc-b, cidr: 10.1.1.0/24}
instances:
  - {id: i-web, subnet: sn-a, private_ip: 10.0.1.10}
  - {id: i-mon, subnet: sn-a, private_ip: 10.0.1.20}
  - {id: i-far, subnet: sn-b, private_ip: 10.1.1.30}
`

func parseMirror(t *testing.T, tm string) (*vpc.Topology, error) {
	t.Helper()
	return vpc.Parse("tm.yaml", []byte(mirrorBase+tm))
}

const goodMirror = `traffic_mirror:
  targets:
    - {id: tmt-mon, network_interface: i-mon}
  filters:
    - id: tmf-http
      inbound:
        - {rule: 100, action: accept, protocol: tcp, destination_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
      outbound:
        - {rule: 100, action: accept, protocol: tcp, source_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}
  sessions:
    - {id: tms-web, source: i-web, target: tmt-mon, filter: tmf-http, session_number: 1, vni: 100, packet_length: 128}
`

func TestMirrorParsesAndExportsBack(t *testing.T) {
	topo, err := parseMirror(t, goodMirror)
	if err != nil {
		t.Fatal(err)
	}
	web := topo.Instance("i-web").ENI.ID
	s := topo.TrafficMirror.Sessions[0]
	if s.Source != web || s.Target != "tmt-mon" || s.Number != 1 || s.VNI != 100 || s.PacketLength != 128 {
		t.Errorf("session %+v", s)
	}
	if got := topo.TrafficMirror.Targets[0].ENI; got != topo.Instance("i-mon").ENI.ID {
		t.Errorf("target ENI %s, want i-mon's primary ENI", got)
	}
	r := topo.TrafficMirror.Filters[0].Inbound[0]
	if !r.Accept || r.Protocol != vpc.ProtoTCP || r.DstPorts != (vpc.PortRange{From: 80, To: 80}) || r.SrcPorts != vpc.AllPorts {
		t.Errorf("rule %+v", r)
	}
	again, err := vpc.Parse("again.yaml", topo.YAML())
	if err != nil {
		t.Fatalf("export does not parse: %v\n%s", err, topo.YAML())
	}
	vpc.ClearIncidentals(topo)
	vpc.ClearIncidentals(again)
	if d := vpc.Diff(topo, again); d != "" {
		t.Errorf("round trip changed %s", d)
	}
	// apply cannot change mirroring live.
	other, _ := parseMirror(t, strings.Replace(goodMirror, "vni: 100", "vni: 101", 1))
	if err := vpc.RulesOnlyDiff(topo, other); err == nil || !strings.Contains(err.Error(), "traffic_mirror") {
		t.Errorf("RulesOnlyDiff: %v, want traffic_mirror named", err)
	}
}

// TM-2: a session without a VNI gets one, unique among the sessions.
func TestTM2VNIDerivedUnique(t *testing.T) {
	topo, err := parseMirror(t, strings.NewReplacer("vni: 100, ", "", "packet_length: 128", "packet_length: 128}\n    - {id: tms-two, source: i-web, target: tmt-mon, filter: tmf-http, session_number: 2").Replace(goodMirror))
	if err != nil {
		t.Fatal(err)
	}
	a, b := topo.TrafficMirror.Sessions[0], topo.TrafficMirror.Sessions[1]
	if a.VNI == b.VNI || a.VNI < 0 || a.VNI > vpc.MirrorMaxVNI {
		t.Errorf("derived VNIs %d and %d: want distinct values in 0..2^24-1", a.VNI, b.VNI)
	}
}

// Invalid mirroring is refused with an error naming the field and what
// would be valid (and nothing is built: Parse returns no topology).
func TestMirrorInvalid(t *testing.T) {
	for _, c := range []struct {
		name, from, to, want string
	}{
		{"TM-1 target in another VPC", "network_interface: i-mon", "network_interface: i-far",
			"traffic_mirror.sessions[0].target: target tmt-mon (ENI"},
		{"TM-1 source is the target", "source: i-web", "source: i-mon",
			"is both the source and the target's ENI"},
		{"unknown source", "source: i-web", "source: i-nope",
			"traffic_mirror.sessions[0].source: unknown network interface \"i-nope\""},
		{"unknown target", "target: tmt-mon", "target: tmt-nope",
			"unknown traffic mirror target \"tmt-nope\"; valid: tmt-mon (InvalidTrafficMirrorTargetId.NotFound)"},
		{"unknown filter", "filter: tmf-http", "filter: tmf-nope",
			"InvalidTrafficMirrorFilterId.NotFound"},
		{"TM-2 session number range", "session_number: 1", "session_number: 32767",
			"traffic_mirror.sessions[0].session_number: \"32767\" is not valid; valid: a session number from 1 to 32766"},
		{"TM-2 VNI range", "vni: 100", "vni: 16777216",
			"traffic_mirror.sessions[0].vni: \"16777216\" is not valid"},
		{"TM-4 rule number range", "{rule: 100, action: accept, protocol: tcp, destination_ports", "{rule: 0, action: accept, protocol: tcp, destination_ports",
			"traffic_mirror.filters[0].inbound[0].rule: \"0\" is not valid; valid: a rule number from 1 to 32766 (InvalidParameterValue)"},
		{"TM-4 rule number unique per direction", "source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}\n      outbound:",
			"source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}\n        - {rule: 100, action: reject, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}\n      outbound:",
			"traffic_mirror.filters[0].inbound[1].rule: inbound rule number 100 is already used by traffic_mirror.filters[0].inbound[0] (line 18); valid: a unique value (TrafficMirrorFilterRuleAlreadyExists)"},
		{"TM-4 bad CIDR", "destination_ports: 80, source_cidr: 0.0.0.0/0", "destination_ports: 80, source_cidr: 10.0.0.300/8",
			"traffic_mirror.filters[0].inbound[0].source_cidr: \"10.0.0.300/8\" is not a valid CIDR"},
		{"TM-4 CIDR families differ", "destination_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0", "destination_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: \"::/0\"",
			"different families; valid: both IPv4 or both IPv6"},
		{"TM-4 CIDR missing", "destination_ports: 80, source_cidr: 0.0.0.0/0, ", "destination_ports: 80, ",
			"inbound[0].source_cidr"},
		{"TM-4 ports without TCP or UDP", "{rule: 100, action: accept, protocol: tcp, destination_ports: 80", "{rule: 100, action: accept, protocol: icmp, destination_ports: 80",
			"port ranges apply to TCP and UDP only"},
		{"TM-4 action", "{rule: 100, action: accept, protocol: tcp, destination_ports", "{rule: 100, action: allow, protocol: tcp, destination_ports",
			"\"allow\" is not a valid action; valid: accept (mirror) or reject (do not mirror)"},
		{"TM-6 network service", "  - id: tmf-http\n", "  - id: tmf-http\n      network_services: [amazon-ntp]\n",
			"\"amazon-ntp\" is not a network service; valid: amazon-dns"},
	} {
		t.Run(c.name, func(t *testing.T) {
			yaml := strings.Replace(goodMirror, c.from, c.to, 1)
			if yaml == goodMirror {
				t.Fatalf("the case changes nothing: %q not in the file", c.from)
			}
			topo, err := parseMirror(t, yaml)
			if err == nil || topo != nil {
				t.Fatalf("accepted:\n%s", yaml)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

// TM-3, TM-7: three sessions per source ENI, ten rules per filter.
func TestTM3TM7Quotas(t *testing.T) {
	var sessions strings.Builder
	for i := 1; i <= 4; i++ {
		sessions.WriteString("    - {id: tms-" + string(rune('a'+i)) + ", source: i-web, target: tmt-mon, filter: tmf-http, session_number: " + string(rune('0'+i)) + "}\n")
	}
	yaml := strings.Replace(goodMirror, "    - {id: tms-web, source: i-web, target: tmt-mon, filter: tmf-http, session_number: 1, vni: 100, packet_length: 128}\n", sessions.String(), 1)
	if _, err := parseMirror(t, yaml); err == nil || !strings.Contains(err.Error(), "traffic_mirror.sessions[3]: a fourth session on source") {
		t.Errorf("four sessions on one source: %v", err)
	}
	dup := strings.Replace(goodMirror, "packet_length: 128}\n", "packet_length: 128}\n    - {id: tms-two, source: i-web, target: tmt-mon, filter: tmf-http, session_number: 1}\n", 1)
	if _, err := parseMirror(t, dup); err == nil || !strings.Contains(err.Error(), "session number 1 on") {
		t.Errorf("two sessions numbered 1 on one source: %v", err)
	}
	var rules strings.Builder
	for i := 1; i <= 11; i++ {
		rules.WriteString("        - {rule: " + string(rune('0'+i%10)) + string(rune('0'+i/10)) + ", action: accept, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}\n")
	}
	many := strings.Replace(goodMirror, "        - {rule: 100, action: accept, protocol: tcp, destination_ports: 80, source_cidr: 0.0.0.0/0, destination_cidr: 0.0.0.0/0}\n", rules.String(), 1)
	if _, err := parseMirror(t, many); err == nil || !strings.Contains(err.Error(), "TrafficMirrorFilterRuleLimitExceeded") {
		t.Errorf("12 rules in one filter: %v", err)
	}
}
