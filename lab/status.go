package lab

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// Status describes a running topology for `vpcemu status`.
type Status struct {
	Name      string           `json:"name"`
	File      string           `json:"file"`
	PID       int              `json:"pid"`
	Started   time.Time        `json:"started"`
	XDPMode   string           `json:"xdp_mode"`
	UI        string           `json:"ui,omitempty"`      // host:port of the web view
	Metrics   string           `json:"metrics,omitempty"` // host:port of /metrics
	API       string           `json:"api,omitempty"`     // host:port of the EC2 API
	VPCs      []VPCStatus      `json:"vpcs"`
	Subnets   []SubnetStatus   `json:"subnets"`
	Instances []InstanceStatus `json:"instances"`
	Hosts     []HostStatus     `json:"internet"`
	NACLs     []NACLStatus     `json:"network_acls,omitempty"`
	// RouteTables and Gateways: routing (blackhole routes as such, NAT
	// gateways with their connection counts when live).
	RouteTables []RouteTableStatus `json:"route_tables,omitempty"`
	Gateways    []GatewayStatus    `json:"gateways,omitempty"`
	FlowLogs    []FlowLogStatus    `json:"flow_logs,omitempty"`
	// DropEventsLost counts drop events the datapath could not queue (their
	// drops are missing from drops.jsonl).
	DropEventsLost uint64 `json:"drop_events_lost"`
	// Daemon is the daemon process's own usage (live status only).
	Daemon *DaemonStatus `json:"daemon,omitempty"`
}

// DaemonStatus is what the daemon process holds, to watch a long run.
type DaemonStatus struct {
	RSSBytes   uint64 `json:"rss_bytes"`
	FDs        int    `json:"open_fds"`
	Goroutines int    `json:"goroutines"`
}

// daemonStatus reads the calling process's resident memory and open
// descriptors from /proc (zero when unreadable) and counts its goroutines.
func daemonStatus() *DaemonStatus {
	d := &DaemonStatus{Goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				d.RSSBytes = kb * 1024
			}
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		d.FDs = len(ents) - 1 // the directory being read
	}
	return d
}

// SubnetStatus is one subnet of a running topology.
type SubnetStatus struct {
	ID         string `json:"id"`
	VPC        string `json:"vpc"`
	CIDR       string `json:"cidr"`
	IPv6CIDR   string `json:"ipv6_cidr,omitempty"`
	Public     bool   `json:"public"`
	NetworkACL string `json:"network_acl"`
	RouteTable string `json:"route_table"` // the table that routes it (explicit or the main one)
	Namespace  string `json:"namespace"`
}

// InstanceStatus is one instance and its ENI.
type InstanceStatus struct {
	ID             string         `json:"id"`
	ENI            string         `json:"eni"`
	Subnet         string         `json:"subnet"`
	PrivateIP      string         `json:"private_ip"`
	PublicIP       string         `json:"public_ip,omitempty"`
	IPv6           string         `json:"ipv6,omitempty"`
	SecurityGroups []string       `json:"security_groups"`
	OS             string         `json:"os"`
	EphemeralPorts string         `json:"ephemeral_ports"`
	Services       []string       `json:"services"`
	Namespace      string         `json:"namespace"`
	Conntrack      *ConntrackStat `json:"conntrack,omitempty"`
	// SGDrops are the packets the ENI's security groups dropped, by reason
	// (Reason* of drops.go), as the SG datapath counts them.
	SGDrops []SGDropStat `json:"sg_drops,omitempty"`
}

// SGDropStat counts an ENI's SG drops of one reason.
type SGDropStat struct {
	Reason  string `json:"reason"`
	Packets uint64 `json:"packets"`
}

// ConntrackStat is an ENI's connection-tracking usage.
type ConntrackStat struct {
	Tracked            uint64  `json:"tracked"`
	AllowanceAvailable *uint64 `json:"conntrack_allowance_available,omitempty"` // nil: no allowance set
	AllowanceExceeded  uint64  `json:"conntrack_allowance_exceeded"`
}

// HostStatus is one internet host.
type HostStatus struct {
	Name      string   `json:"name"`
	IP        string   `json:"ip"`
	IPv6      string   `json:"ipv6,omitempty"`
	OS        string   `json:"os"`
	Services  []string `json:"services"`
	Namespace string   `json:"namespace"`
}

// NACLStatus is a network ACL with per-rule hit counters.
type NACLStatus struct {
	ID    string           `json:"id"`
	Rules []NACLRuleStatus `json:"rules"`
}

// NACLRuleStatus is one rule's counters ("*" is the default deny).
type NACLRuleStatus struct {
	Direction string `json:"direction"`
	Rule      string `json:"rule"`        // as shown: "100", "*", "* (v6)"
	Number    int    `json:"rule_number"` // 32767 (IPv4) and 32768 (IPv6) for `*`
	IPv6      bool   `json:"ipv6,omitempty"`
	Action    string `json:"action"`
	Packets   uint64 `json:"packets"`
	Bytes     uint64 `json:"bytes"` // IP bytes
}

// FlowLogStatus counts what one flow-log subscription wrote.
type FlowLogStatus struct {
	ID string `json:"flow_log_id"`
	// Records written to the S3-layout files, by log-status.
	RecordsOK       uint64 `json:"records_ok"`
	RecordsNoData   uint64 `json:"records_nodata"`
	RecordsSkipData uint64 `json:"records_skipdata"`
	// RecordsFailed could not be written (WriteErrors counts the failed
	// writes, of the files or of the log streams `vpcemu logs` reads).
	RecordsFailed uint64 `json:"records_failed"`
	WriteErrors   uint64 `json:"write_errors"`
	// FlowsSkipped is how many flows the datapath could not count (full
	// tables): the SKIPDATA records stand for them.
	FlowsSkipped uint64 `json:"flows_skipped"`
}

// ServiceNames renders services as the topology file writes them.
func ServiceNames(svcs []vpc.Service) []string {
	out := []string{}
	for _, s := range svcs {
		switch s.Kind {
		case "tcp", "udp":
			out = append(out, fmt.Sprintf("%s:%d", s.Kind, s.Port))
		default:
			out = append(out, s.Kind)
		}
	}
	return out
}

func addr(a interface {
	IsValid() bool
	String() string
}) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// StaticStatus describes topology t as laid out by plan, without live counters.
func StaticStatus(s *State, t *vpc.Topology, p *vpc.Plan) *Status {
	st := &Status{Name: t.Name, File: s.File, PID: s.PID, Started: s.Started, XDPMode: s.XDPMode, UI: s.UI, Metrics: s.Metrics, API: s.API}
	for i, sn := range t.Subnets {
		rt := ""
		if r := t.RouteTableOfSubnet(sn.ID); r != nil {
			rt = r.ID
		}
		st.Subnets = append(st.Subnets, SubnetStatus{ID: sn.ID, VPC: sn.VPC, CIDR: sn.CIDR.String(), IPv6CIDR: addr(sn.IPv6CIDR),
			Public: sn.Public, NetworkACL: sn.NetworkACL, RouteTable: rt, Namespace: p.Subnets[i].NS})
	}
	routingStatus(st, t)
	for i, in := range t.Instances {
		hp := p.Instances[i]
		st.Instances = append(st.Instances, InstanceStatus{ID: in.ID, ENI: in.ENI.ID, Subnet: in.Subnet,
			PrivateIP: in.PrivateIP.String(), PublicIP: addr(in.PublicIP), IPv6: addr(in.IPv6),
			SecurityGroups: in.SecurityGroups, OS: in.OS,
			EphemeralPorts: fmt.Sprintf("%d-%d", hp.EphemeralPorts[0], hp.EphemeralPorts[1]),
			Services:       ServiceNames(in.Services), Namespace: hp.NS})
	}
	for i, h := range t.Internet {
		st.Hosts = append(st.Hosts, HostStatus{Name: h.Name, IP: h.IP.String(), IPv6: addr(h.IPv6), OS: h.OS,
			Services: ServiceNames(h.Services), Namespace: p.Hosts[i].NS})
	}
	return st
}

// Status describes the running topology with live counters: what `vpcemu
// status` prints and /metrics exports.
func (l *Lab) Status() *Status {
	st := l.datapathStatus()
	st.FlowLogs = l.flowLogStatus()
	return st
}

func (l *Lab) datapathStatus() *Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := StaticStatus(l.state, l.topo, l.plan)
	if l.dp != nil {
		l.dp.fillStatus(st)
		// A deleted NACL's tables stay allocated (reconcile.go) but are
		// no longer the topology's.
		st.NACLs = slices.DeleteFunc(st.NACLs, func(n NACLStatus) bool { return l.topo.NetworkACL(n.ID) == nil })
	}
	st.Daemon = daemonStatus()
	return st
}

// Summary is a one-line description of the instances, for progress output.
func (st *Status) Summary() string {
	var ids []string
	for _, in := range st.Instances {
		ids = append(ids, in.ID)
	}
	return strings.Join(ids, ", ")
}
