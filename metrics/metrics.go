package metrics

import (
	"net/http"
	"runtime"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/loader"
)

// Namespace prefixes every metric name.
const Namespace = "vpcemu"

// Source is a running topology's counters: *lab.Lab.
type Source interface {
	Status() *lab.Status
}

// APIRequestCount is how many EC2 API requests of one action ended with one
// error code ("" for success).
type APIRequestCount struct {
	Action    string // an EC2 action the API implements, or "Unknown"
	ErrorCode string // AWS's error code; "" when the request succeeded
	Requests  uint64
}

// APISource counts the EC2 API's requests. Its actions must come from the
// set the API implements (anything else counted as "Unknown") and its codes
// from AWS's error codes, so that a client cannot grow the label sets.
type APISource interface {
	APIRequestCounts() []APIRequestCount
}

// Options name the sources beyond the topology's datapath; nil ones export
// nothing.
type Options struct {
	API     APISource
	Version string // vpcemu's version, for vpcemu_build_info
}

// Collector turns one read of a Source into metrics at each scrape: the
// counters are the datapath's own, so nothing is kept here and nothing can
// drift from `vpcemu status`.
type Collector struct {
	src  Source
	opts Options
}

// New returns a collector of src's counters.
func New(src Source, opts Options) *Collector {
	return &Collector{src: src, opts: opts}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(Namespace+"_"+name, help, labels, nil)
}

var (
	buildInfo = desc("build_info", "Always 1: the running topology and the vpcemu that built it.",
		"version", "go_version", "topology", "nacl_hook")
	naclPackets = desc("nacl_rule_packets_total", "Packets a network ACL rule decided (allowed or denied), as `vpcemu status` shows; rule \"*\" is the default deny.",
		"network_acl_id", "direction", "rule", "action", "family")
	naclBytes = desc("nacl_rule_bytes_total", "IP bytes of the packets a network ACL rule decided.",
		"network_acl_id", "direction", "rule", "action", "family")
	sgDrops = desc("sg_dropped_packets_total", "Packets an ENI's security groups dropped, by reason (Reachability Analyzer's terms).",
		"eni", "instance", "reason")
	ctTracked = desc("conntrack_tracked_connections", "Connections the ENI's security groups track now.",
		"eni", "instance")
	ctAvailable = desc("conntrack_allowance_available", "AWS's conntrack_allowance_available: connections the ENI can still track before its allowance is used up (ENIs with an allowance only).",
		"eni", "instance")
	ctExceeded = desc("conntrack_allowance_exceeded_total", "AWS's conntrack_allowance_exceeded: packets dropped because the ENI's conntrack allowance was used up.",
		"eni", "instance")
	flRecords = desc("flow_log_records_total", "Flow-log records written to the subscription's files, by log-status (OK, NODATA, SKIPDATA).",
		"flow_log_id", "log_status")
	flFailed = desc("flow_log_records_failed_total", "Flow-log records that could not be written.",
		"flow_log_id")
	flWriteErrors = desc("flow_log_write_errors_total", "Failed writes of a flow log's files or log streams.",
		"flow_log_id")
	flSkipped = desc("flow_log_skipped_flows_total", "Flows the datapath could not count (full flow tables); SKIPDATA records stand for them.",
		"flow_log_id")
	eventsLost  = desc("drop_events_lost_total", "Drop events the datapath could not queue (ring buffer full): drops missing from `vpcemu drops`, still counted by the rule and SG counters.")
	apiRequests = desc("ec2_api_requests_total", "EC2 API requests by action and error code (\"\" = success).",
		"action", "error_code")
)

// natMetric is one CloudWatch NAT gateway metric (NGW-15) as Prometheus
// exports it.
type natMetric struct {
	cloudWatch string
	name       string // Prometheus's, Namespace_ included
	desc       *prometheus.Desc
	gauge      bool
	value      func(*loader.NATStats) uint64
}

// natLabels bound the NAT gateway series: one per gateway (CloudWatch's
// NatGatewayId dimension) and the VPC it serves.
var natLabels = []string{"nat_gateway_id", "vpc_id"}

func nat(name, cw, help string, gauge bool, value func(*loader.NATStats) uint64) natMetric {
	name = "nat_gateway_" + name
	return natMetric{cloudWatch: cw, name: Namespace + "_" + name, gauge: gauge, value: value,
		desc: desc(name, "CloudWatch AWS/NATGateway "+cw+": "+help, natLabels...)}
}

// natMetrics maps CloudWatch's names onto Prometheus's conventions: counters
// end in _total; the one gauge cannot end in _count (reserved for
// histograms and summaries), so ActiveConnectionCount is active_connections.
// Source is the VPC's clients, destination the far end.
var natMetrics = []natMetric{
	nat("active_connections", "ActiveConnectionCount", "TCP connections through the gateway now (live mappings, not closing).", true,
		func(s *loader.NATStats) uint64 { return s.ActiveConnectionCount }),
	nat("bytes_in_from_destination_total", "BytesInFromDestination", "IP bytes received from destinations.", false,
		func(s *loader.NATStats) uint64 { return s.BytesInFromDestination }),
	nat("bytes_in_from_source_total", "BytesInFromSource", "IP bytes received from clients in the VPC.", false,
		func(s *loader.NATStats) uint64 { return s.BytesInFromSource }),
	nat("bytes_out_to_destination_total", "BytesOutToDestination", "IP bytes sent to destinations.", false,
		func(s *loader.NATStats) uint64 { return s.BytesOutToDestination }),
	nat("bytes_out_to_source_total", "BytesOutToSource", "IP bytes sent to clients in the VPC.", false,
		func(s *loader.NATStats) uint64 { return s.BytesOutToSource }),
	nat("connection_attempts_total", "ConnectionAttemptCount", "TCP connection attempts: SYNs that opened a mapping.", false,
		func(s *loader.NATStats) uint64 { return s.ConnectionAttemptCount }),
	nat("connections_established_total", "ConnectionEstablishedCount", "TCP connections established: SYN-ACKs forwarded to clients.", false,
		func(s *loader.NATStats) uint64 { return s.ConnectionEstablishedCount }),
	nat("error_port_allocation_total", "ErrorPortAllocation", "times the gateway found no free source port for a new connection.", false,
		func(s *loader.NATStats) uint64 { return s.ErrorPortAllocation }),
	nat("idle_timeouts_total", "IdleTimeoutCount", "connections found idle past the timeout, their next client packet answered with a reset (NGW-11).", false,
		func(s *loader.NATStats) uint64 { return s.IdleTimeoutCount }),
	nat("packets_drop_total", "PacketsDropCount", "packets the gateway dropped.", false,
		func(s *loader.NATStats) uint64 { return s.PacketsDropCount }),
	nat("packets_in_from_destination_total", "PacketsInFromDestination", "packets received from destinations.", false,
		func(s *loader.NATStats) uint64 { return s.PacketsInFromDestination }),
	nat("packets_in_from_source_total", "PacketsInFromSource", "packets received from clients in the VPC.", false,
		func(s *loader.NATStats) uint64 { return s.PacketsInFromSource }),
	nat("packets_out_to_destination_total", "PacketsOutToDestination", "packets sent to destinations.", false,
		func(s *loader.NATStats) uint64 { return s.PacketsOutToDestination }),
	nat("packets_out_to_source_total", "PacketsOutToSource", "packets sent to clients in the VPC.", false,
		func(s *loader.NATStats) uint64 { return s.PacketsOutToSource }),
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{buildInfo, naclPackets, naclBytes, sgDrops, ctTracked, ctAvailable, ctExceeded,
		flRecords, flFailed, flWriteErrors, flSkipped, eventsLost, apiRequests} {
		ch <- d
	}
	for _, m := range natMetrics {
		ch <- m.desc
	}
}

// Collect reads the source once and sends its counters.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	hook := "tcx"
	if st.XDPMode != "" && st.XDPMode != "tcx" {
		hook = "xdp-" + st.XDPMode
	}
	gauge(buildInfo, 1, c.opts.Version, runtime.Version(), st.Name, hook)
	for _, n := range st.NACLs {
		for _, r := range n.Rules {
			rule, family := strconv.Itoa(r.Number), "ipv4"
			if r.Number >= 32767 {
				rule = "*"
			}
			if r.IPv6 {
				family = "ipv6"
			}
			counter(naclPackets, r.Packets, n.ID, r.Direction, rule, r.Action, family)
			counter(naclBytes, r.Bytes, n.ID, r.Direction, rule, r.Action, family)
		}
	}
	for _, in := range st.Instances {
		for _, d := range in.SGDrops {
			counter(sgDrops, d.Packets, in.ENI, in.ID, d.Reason)
		}
		if ct := in.Conntrack; ct != nil {
			gauge(ctTracked, ct.Tracked, in.ENI, in.ID)
			if ct.AllowanceAvailable != nil {
				gauge(ctAvailable, *ct.AllowanceAvailable, in.ENI, in.ID)
			}
			counter(ctExceeded, ct.AllowanceExceeded, in.ENI, in.ID)
		}
	}
	for _, fl := range st.FlowLogs {
		counter(flRecords, fl.RecordsOK, fl.ID, "OK")
		counter(flRecords, fl.RecordsNoData, fl.ID, "NODATA")
		counter(flRecords, fl.RecordsSkipData, fl.ID, "SKIPDATA")
		counter(flFailed, fl.RecordsFailed, fl.ID)
		counter(flWriteErrors, fl.WriteErrors, fl.ID)
		counter(flSkipped, fl.FlowsSkipped, fl.ID)
	}
	counter(eventsLost, st.DropEventsLost)
	// A NAT gateway's counters are the ones `vpcemu status` shows: those of
	// the same Status read (none when the gateway's program is not running).
	for _, g := range st.Gateways {
		if g.NAT == nil {
			continue
		}
		for _, m := range natMetrics {
			if m.gauge {
				gauge(m.desc, m.value(g.NAT), g.ID, g.VPC)
			} else {
				counter(m.desc, m.value(g.NAT), g.ID, g.VPC)
			}
		}
	}
	if c.opts.API != nil {
		for _, r := range c.opts.API.APIRequestCounts() {
			counter(apiRequests, r.Requests, r.Action, r.ErrorCode)
		}
	}
}

// Registry is a registry holding a topology's collector (and no process
// metrics: the metrics are the topology's).
func Registry(src Source, opts Options) *prometheus.Registry {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(New(src, opts))
	return reg
}

// Handler serves the registry in Prometheus's text format (or OpenMetrics
// when the scraper asks for it).
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, EnableOpenMetrics: true})
}
