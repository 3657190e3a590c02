package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/loader"
)

type fakeSource struct{ st *lab.Status }

func (f fakeSource) Status() *lab.Status { return f.st }

type fakeAPI []APIRequestCount

func (f fakeAPI) APIRequestCounts() []APIRequestCount { return f }

func fakeStatus() *lab.Status {
	avail := uint64(90)
	return &lab.Status{
		Name: "t1", XDPMode: "tcx",
		Instances: []lab.InstanceStatus{
			{ID: "i-web", ENI: "eni-web", Conntrack: &lab.ConntrackStat{Tracked: 10, AllowanceAvailable: &avail, AllowanceExceeded: 3},
				SGDrops: []lab.SGDropStat{{Reason: lab.ReasonSGMismatch, Packets: 7}, {Reason: lab.ReasonAllowance, Packets: 3}}},
			{ID: "i-db", ENI: "eni-db", Conntrack: &lab.ConntrackStat{Tracked: 0}},
		},
		NACLs: []lab.NACLStatus{{ID: "acl-public", Rules: []lab.NACLRuleStatus{
			{Direction: "inbound", Rule: "20", Number: 20, Action: "deny", Packets: 5, Bytes: 500},
			{Direction: "inbound", Rule: "100", Number: 100, Action: "allow", Packets: 12, Bytes: 1200},
			{Direction: "inbound", Rule: "*", Number: 32767, Action: "deny", Packets: 1, Bytes: 60},
			{Direction: "inbound", Rule: "* (v6)", Number: 32768, IPv6: true, Action: "deny", Packets: 2, Bytes: 120},
		}}},
		FlowLogs:       []lab.FlowLogStatus{{ID: "fl-1", RecordsOK: 4, RecordsNoData: 2, RecordsSkipData: 1, FlowsSkipped: 9}},
		DropEventsLost: 6,
	}
}

// scrape serves the registry over HTTP and parses what a Prometheus server
// would read.
func scrape(t *testing.T, src Source, opts Options) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(Handler(Registry(src, opts)))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want the text format", ct)
	}
	return parse(t, resp.Body)
}

func parse(t *testing.T, r io.Reader) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value is the sample of family name whose labels include want, failing
// when there is not exactly one.
func value(t *testing.T, mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	mf := mfs[name]
	if mf == nil {
		t.Fatalf("no metric %s", name)
	}
	var found []float64
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, lp := range m.GetLabel() {
			labels[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			found = append(found, m.Counter.GetValue())
		case m.Gauge != nil:
			found = append(found, m.Gauge.GetValue())
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s%v: %d samples, want 1", name, want, len(found))
	}
	return found[0]
}

func TestMetricsExportStatusCounters(t *testing.T) {
	mfs := scrape(t, fakeSource{fakeStatus()}, Options{Version: "v9"})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"vpcemu_build_info", map[string]string{"version": "v9", "topology": "t1", "nacl_hook": "tcx"}, 1},
		{"vpcemu_nacl_rule_packets_total", map[string]string{"network_acl_id": "acl-public", "rule": "20", "action": "deny", "direction": "inbound"}, 5},
		{"vpcemu_nacl_rule_bytes_total", map[string]string{"network_acl_id": "acl-public", "rule": "20"}, 500},
		{"vpcemu_nacl_rule_packets_total", map[string]string{"rule": "100", "action": "allow"}, 12},
		{"vpcemu_nacl_rule_packets_total", map[string]string{"rule": "*", "family": "ipv4"}, 1},
		{"vpcemu_nacl_rule_packets_total", map[string]string{"rule": "*", "family": "ipv6"}, 2},
		{"vpcemu_sg_dropped_packets_total", map[string]string{"eni": "eni-web", "instance": "i-web", "reason": "ENI_SG_RULES_MISMATCH"}, 7},
		{"vpcemu_conntrack_tracked_connections", map[string]string{"eni": "eni-web"}, 10},
		{"vpcemu_conntrack_allowance_available", map[string]string{"eni": "eni-web"}, 90},
		{"vpcemu_conntrack_allowance_exceeded_total", map[string]string{"eni": "eni-web"}, 3},
		{"vpcemu_conntrack_allowance_exceeded_total", map[string]string{"eni": "eni-db"}, 0},
		{"vpcemu_flow_log_records_total", map[string]string{"flow_log_id": "fl-1", "log_status": "OK"}, 4},
		{"vpcemu_flow_log_records_total", map[string]string{"flow_log_id": "fl-1", "log_status": "NODATA"}, 2},
		{"vpcemu_flow_log_records_total", map[string]string{"flow_log_id": "fl-1", "log_status": "SKIPDATA"}, 1},
		{"vpcemu_flow_log_skipped_flows_total", map[string]string{"flow_log_id": "fl-1"}, 9},
		{"vpcemu_drop_events_lost_total", nil, 6},
	} {
		if got := value(t, mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// An ENI without an allowance has no "available" (AWS has none either).
	for _, m := range mfs["vpcemu_conntrack_allowance_available"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetValue() == "eni-db" {
				t.Error("conntrack_allowance_available exported for an ENI without an allowance")
			}
		}
	}
	// Sources that are not there export nothing (no NAT gateway, no API).
	for _, name := range []string{"vpcemu_nat_gateway_active_connections", "vpcemu_ec2_api_requests_total"} {
		if len(mfs[name].GetMetric()) != 0 {
			t.Errorf("%s exported without its source", name)
		}
	}
}

// withNAT is fakeStatus with an internet gateway and two NAT gateways,
// nat-2's program not running (no counters).
func withNAT(nat loader.NATStats) *lab.Status {
	st := fakeStatus()
	st.Gateways = []lab.GatewayStatus{
		{ID: "igw-1", Kind: "internet-gateway", VPC: "vpc-1"},
		{ID: "nat-1", Kind: "nat-gateway", VPC: "vpc-1", NAT: &nat},
		{ID: "nat-2", Kind: "nat-gateway", VPC: "vpc-2"},
	}
	return st
}

func TestMetricsNATGatewayAndAPI(t *testing.T) {
	st := withNAT(loader.NATStats{ActiveConnectionCount: 4, ErrorPortAllocation: 2, PacketsDropCount: 11, BytesOutToDestination: 3000})
	api := fakeAPI{{Action: "CreateSecurityGroup", Requests: 3}, {Action: "CreateSecurityGroup", ErrorCode: "InvalidGroup.Duplicate", Requests: 1}}
	mfs := scrape(t, fakeSource{st}, Options{API: api})
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"vpcemu_nat_gateway_active_connections", map[string]string{"nat_gateway_id": "nat-1", "vpc_id": "vpc-1"}, 4},
		{"vpcemu_nat_gateway_error_port_allocation_total", map[string]string{"nat_gateway_id": "nat-1", "vpc_id": "vpc-1"}, 2},
		{"vpcemu_nat_gateway_packets_drop_total", map[string]string{"nat_gateway_id": "nat-1"}, 11},
		{"vpcemu_nat_gateway_bytes_out_to_destination_total", map[string]string{"nat_gateway_id": "nat-1"}, 3000},
		{"vpcemu_nat_gateway_idle_timeouts_total", map[string]string{"nat_gateway_id": "nat-1"}, 0},
		{"vpcemu_ec2_api_requests_total", map[string]string{"action": "CreateSecurityGroup", "error_code": ""}, 3},
		{"vpcemu_ec2_api_requests_total", map[string]string{"action": "CreateSecurityGroup", "error_code": "InvalidGroup.Duplicate"}, 1},
	} {
		if got := value(t, mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Every CloudWatch metric is there, its name in its help, one series per
	// running NAT gateway: none for the internet gateway or for nat-2, whose
	// program is not running.
	for _, m := range natMetrics {
		if !strings.Contains(m.desc.String(), m.cloudWatch) {
			t.Errorf("%s: help does not name CloudWatch's %s", m.desc, m.cloudWatch)
		}
		if n := len(mfs[m.name].GetMetric()); n != 1 {
			t.Errorf("%s: %d series, want 1 (nat-1's)", m.name, n)
		}
	}
}

// The equivalent of `promtool check metrics`: names, help, types, units.
func TestMetricsLint(t *testing.T) {
	api := fakeAPI{{Action: "DescribeVpcs", Requests: 1}}
	problems, err := testutil.CollectAndLint(New(fakeSource{withNAT(loader.NATStats{})}, Options{API: api}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
