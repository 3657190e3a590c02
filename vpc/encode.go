package vpc

import (
	"fmt"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// The file schema as Go types, used only to write a Topology back out.
type (
	fileTopology struct {
		Name           string         `yaml:"name"`
		Account        string         `yaml:"account"`
		Region         string         `yaml:"region"`
		Limits         fileLimits     `yaml:"limits"`
		VPC            fileVPC        `yaml:"vpc"`
		PrefixLists    []filePL       `yaml:"prefix_lists,omitempty"`
		Subnets        []fileSubnet   `yaml:"subnets,omitempty"`
		SecurityGroups []fileSG       `yaml:"security_groups,omitempty"`
		NetworkACLs    []fileNACL     `yaml:"network_acls,omitempty"`
		Instances      []fileInstance `yaml:"instances,omitempty"`
		Internet       []fileHost     `yaml:"internet,omitempty"`
		FlowLogs       []fileFlowLog  `yaml:"flow_logs,omitempty"`
	}
	fileLimits struct {
		SGsPerENI    int `yaml:"security_groups_per_eni"`
		RulesPerSG   int `yaml:"rules_per_security_group"`
		NACLRulesDir int `yaml:"nacl_rules_per_direction"`
	}
	fileVPC struct {
		ID       string `yaml:"id"`
		CIDR     string `yaml:"cidr"`
		IPv6CIDR string `yaml:"ipv6_cidr,omitempty"`
		MTU      int    `yaml:"mtu,omitempty"`
	}
	filePL struct {
		ID         string   `yaml:"id"`
		MaxEntries int      `yaml:"max_entries"`
		CIDRs      []string `yaml:"cidrs"`
	}
	fileSubnet struct {
		ID         string `yaml:"id"`
		CIDR       string `yaml:"cidr"`
		IPv6CIDR   string `yaml:"ipv6_cidr,omitempty"`
		AZ         string `yaml:"az"`
		Public     bool   `yaml:"public"`
		NetworkACL string `yaml:"network_acl"`
	}
	fileSG struct {
		ID          string     `yaml:"id"`
		Name        string     `yaml:"name,omitempty"`
		Description string     `yaml:"description,omitempty"`
		Ingress     []fileRule `yaml:"ingress"` // always written: absent and [] differ
		Egress      []fileRule `yaml:"egress"`
	}
	fileNACL struct {
		ID      string     `yaml:"id"`
		Ingress []fileRule `yaml:"ingress"`
		Egress  []fileRule `yaml:"egress"`
	}
	fileRule struct {
		Rule        int    `yaml:"rule,omitempty"`
		Protocol    string `yaml:"protocol"`
		Ports       string `yaml:"ports,omitempty"`
		ICMPType    *int   `yaml:"icmp_type,omitempty"`
		ICMPCode    *int   `yaml:"icmp_code,omitempty"`
		CIDR        string `yaml:"cidr,omitempty"`
		IPv6CIDR    string `yaml:"ipv6_cidr,omitempty"`
		SourceGroup string `yaml:"source_group,omitempty"`
		PrefixList  string `yaml:"prefix_list,omitempty"`
		Action      string `yaml:"action,omitempty"`
		Description string `yaml:"description,omitempty"`
	}
	fileInstance struct {
		ID             string        `yaml:"id"`
		ENI            string        `yaml:"eni"`
		Subnet         string        `yaml:"subnet"`
		PrivateIP      string        `yaml:"private_ip"`
		PublicIP       string        `yaml:"public_ip,omitempty"`
		IPv6           string        `yaml:"ipv6,omitempty"`
		SecurityGroups []string      `yaml:"security_groups"`
		OS             string        `yaml:"os"`
		Services       []string      `yaml:"services,omitempty"`
		Conntrack      fileConntrack `yaml:"conntrack"`
	}
	fileConntrack struct {
		TCPEstablished int `yaml:"tcp_established_timeout"`
		UDP            int `yaml:"udp_timeout"`
		UDPStream      int `yaml:"udp_stream_timeout"`
		MaxEntries     int `yaml:"max_entries"`
	}
	fileHost struct {
		Name     string   `yaml:"name"`
		IP       string   `yaml:"ip"`
		IPv6     string   `yaml:"ipv6,omitempty"`
		OS       string   `yaml:"os"`
		Services []string `yaml:"services,omitempty"`
	}
	fileFlowLog struct {
		ID                     string `yaml:"id"`
		Resource               string `yaml:"resource"`
		TrafficType            string `yaml:"traffic_type"`
		MaxAggregationInterval int    `yaml:"max_aggregation_interval"`
		LogFormat              string `yaml:"log_format,omitempty"`
		FileFormat             string `yaml:"file_format"`
		Hive                   bool   `yaml:"hive_compatible_partitions"`
		PerHour                bool   `yaml:"per_hour_partition"`
	}
)

// YAML writes t as a topology file with every default spelled out; parsing
// it gives back the same topology (positions aside).
func (t *Topology) YAML() []byte {
	f := fileTopology{
		Name: t.Name, Account: t.Account, Region: t.Region,
		Limits: fileLimits{t.Limits.SecurityGroupsPerENI, t.Limits.RulesPerSecurityGroup, t.Limits.NACLRulesPerDirection},
		VPC:    fileVPC{ID: t.VPCs[0].ID, CIDR: prefixString(t.VPCs[0].CIDR), IPv6CIDR: prefixString(t.VPCs[0].IPv6CIDR), MTU: t.VPCs[0].MTU},
	}
	for _, pl := range t.PrefixLists {
		c := []string{}
		for _, p := range pl.CIDRs {
			c = append(c, p.String())
		}
		f.PrefixLists = append(f.PrefixLists, filePL{pl.ID, pl.MaxEntries, c})
	}
	for _, s := range t.Subnets {
		f.Subnets = append(f.Subnets, fileSubnet{s.ID, prefixString(s.CIDR), prefixString(s.IPv6CIDR), s.AZ, s.Public, s.NetworkACL})
	}
	for _, sg := range t.SecurityGroups {
		fs := fileSG{ID: sg.ID, Description: sg.Description, Ingress: []fileRule{}, Egress: []fileRule{}}
		if sg.Name != sg.ID {
			fs.Name = sg.Name
		}
		for _, r := range sg.Ingress {
			fs.Ingress = append(fs.Ingress, encodeSGRule(r))
		}
		for _, r := range sg.Egress {
			fs.Egress = append(fs.Egress, encodeSGRule(r))
		}
		f.SecurityGroups = append(f.SecurityGroups, fs)
	}
	for _, a := range t.NetworkACLs {
		fa := fileNACL{ID: a.ID, Ingress: []fileRule{}, Egress: []fileRule{}}
		for _, r := range a.Ingress {
			fa.Ingress = append(fa.Ingress, encodeNACLRule(r))
		}
		for _, r := range a.Egress {
			fa.Egress = append(fa.Egress, encodeNACLRule(r))
		}
		f.NetworkACLs = append(f.NetworkACLs, fa)
	}
	for _, in := range t.Instances {
		f.Instances = append(f.Instances, fileInstance{
			ID: in.ID, ENI: in.ENI.ID, Subnet: in.Subnet, PrivateIP: addrString(in.PrivateIP),
			PublicIP: addrString(in.PublicIP), IPv6: addrString(in.IPv6),
			SecurityGroups: in.SecurityGroups, OS: in.OS, Services: serviceStrings(in.Services),
			Conntrack: fileConntrack{
				int(in.Conntrack.TCPEstablished / time.Second), int(in.Conntrack.UDP / time.Second),
				int(in.Conntrack.UDPStream / time.Second), in.Conntrack.MaxEntries,
			},
		})
	}
	for _, h := range t.Internet {
		f.Internet = append(f.Internet, fileHost{h.Name, addrString(h.IP), addrString(h.IPv6), h.OS, serviceStrings(h.Services)})
	}
	for _, fl := range t.FlowLogs {
		f.FlowLogs = append(f.FlowLogs, fileFlowLog{fl.ID, fl.Resource, fl.TrafficType, fl.MaxAggregationInterval,
			fl.LogFormat, fl.FileFormat, fl.HiveCompatible, fl.PerHourPartition})
	}
	out, err := yaml.Marshal(&f)
	if err != nil {
		panic(fmt.Sprintf("vpc: marshal topology: %v", err)) // plain structs of strings and ints
	}
	return out
}

func prefixString(p interface {
	IsValid() bool
	String() string
}) string {
	if !p.IsValid() {
		return ""
	}
	return p.String()
}

func addrString(a interface {
	IsValid() bool
	String() string
}) string {
	return prefixString(a)
}

func serviceStrings(s []Service) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.String())
	}
	return out
}

// ProtocolName is a protocol as written in a rule: tcp, udp, icmp, icmpv6, all or the number.
func ProtocolName(p int) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	case ProtoAll:
		return "all"
	}
	return strconv.Itoa(p)
}

// String writes r as "FROM-TO", or "N" for a single port.
func (r PortRange) String() string {
	if r.From == r.To {
		return strconv.Itoa(r.From)
	}
	return fmt.Sprintf("%d-%d", r.From, r.To)
}

func encodeRuleCommon(fr *fileRule, proto int, ports PortRange, typ, code int) {
	fr.Protocol = ProtocolName(proto)
	switch proto {
	case ProtoTCP, ProtoUDP:
		fr.Ports = ports.String()
	case ProtoICMP, ProtoICMPv6:
		fr.ICMPType, fr.ICMPCode = &typ, &code
	}
}

func encodeSGRule(r SGRule) fileRule {
	fr := fileRule{SourceGroup: r.SourceGroup, PrefixList: r.PrefixList, Description: r.Description}
	encodeRuleCommon(&fr, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode)
	if r.CIDR.IsValid() {
		if r.CIDR.Addr().Is4() {
			fr.CIDR = r.CIDR.String()
		} else {
			fr.IPv6CIDR = r.CIDR.String()
		}
	}
	return fr
}

func encodeNACLRule(r NACLRule) fileRule {
	fr := fileRule{Rule: r.Number, Action: "deny"}
	if r.Allow {
		fr.Action = "allow"
	}
	encodeRuleCommon(&fr, r.Protocol, r.Ports, r.ICMPType, r.ICMPCode)
	if r.CIDR.Addr().Is4() {
		fr.CIDR = r.CIDR.String()
	} else {
		fr.IPv6CIDR = r.CIDR.String()
	}
	return fr
}
