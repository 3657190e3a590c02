package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The daemon's /metrics exports the NAT gateway's counters (NGW-15) that
// `vpcemu status` prints: A's two connections to S through nat-1 are two
// attempts and two establishments in both, and every one of CloudWatch's
// metrics has the value `status -o json` shows.
func TestUpMetricsNATGatewayAsStatus(t *testing.T) {
	testenv.RequireRoot(t)
	b, err := os.ReadFile("../../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.Name(t)
	src := strings.Replace(string(b), "name: t2", "name: "+name, 1)
	file := filepath.Join(t.TempDir(), "t2.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	topo, err := vpc.Parse(file, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.Down(name, true, lab.Options{}) })
	if out, code := vpcemu(t, "up", "-d", "-f", file, "--ui", "off", "--api", "off"); code != 0 {
		t.Fatalf("vpcemu up -d: exit %d\n%s", code, out)
	}
	a := (&apiLab{topo: topo}).ns(t, "A")
	for range 2 {
		if !reaches(t, a, "203.0.113.80:443") {
			t.Fatal("A does not reach S through nat-1")
		}
	}

	// status, as text and as JSON.
	out, code := vpcemu(t, "-t", name, "status")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	line := regexp.MustCompile(`(?m)^nat-1\s.*$`).FindString(out)
	if !strings.Contains(line, "2 attempts, 2 established, 0 port allocation errors, 0 idle timeouts, 0 packets dropped") {
		t.Errorf("status shows nat-1 as %q, want 2 attempts, 2 established, no errors or drops", line)
	}
	out, code = vpcemu(t, "-t", name, "status", "-o", "json")
	if code != 0 {
		t.Fatalf("status -o json: exit %d\n%s", code, out)
	}
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o json: %v", err)
	}
	var nat map[string]uint64
	for _, g := range st.Gateways {
		if g.ID == "nat-1" && g.NAT != nil {
			raw, _ := json.Marshal(g.NAT)
			_ = json.Unmarshal(raw, &nat)
		}
	}
	if nat == nil {
		t.Fatalf("status -o json has no counters for nat-1:\n%s", out)
	}

	// /metrics, where status says it is.
	state, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name))
	if err != nil || state.Metrics == "" {
		t.Fatalf("no /metrics address in the state: %v", err)
	}
	resp, err := http.Get(metricsURL(state.Metrics))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	// Prometheus's name of each CloudWatch metric (status' JSON name).
	for cw, prom := range map[string]string{
		"ActiveConnectionCount": "active_connections", "ConnectionAttemptCount": "connection_attempts_total",
		"ConnectionEstablishedCount": "connections_established_total", "ErrorPortAllocation": "error_port_allocation_total",
		"IdleTimeoutCount": "idle_timeouts_total", "PacketsDropCount": "packets_drop_total",
		"BytesInFromSource": "bytes_in_from_source_total", "BytesOutToDestination": "bytes_out_to_destination_total",
		"BytesInFromDestination": "bytes_in_from_destination_total", "BytesOutToSource": "bytes_out_to_source_total",
		"PacketsInFromSource": "packets_in_from_source_total", "PacketsOutToDestination": "packets_out_to_destination_total",
		"PacketsInFromDestination": "packets_in_from_destination_total", "PacketsOutToSource": "packets_out_to_source_total",
	} {
		mf := mfs["vpcemu_nat_gateway_"+prom]
		var got []string
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			v := m.GetCounter().GetValue()
			if m.Gauge != nil {
				v = m.GetGauge().GetValue()
			}
			got = append(got, fmt.Sprintf("%s/%s=%v", labels["nat_gateway_id"], labels["vpc_id"], v))
		}
		want := fmt.Sprintf("nat-1/vpc-1=%d", nat[cw])
		if len(got) != 1 || got[0] != want {
			t.Errorf("vpcemu_nat_gateway_%s: %v, status shows %s (%s)", prom, got, want, cw)
		}
	}
	if nat["ConnectionAttemptCount"] != 2 || nat["PacketsInFromSource"] == 0 {
		t.Errorf("nat-1 counted %v, want 2 attempts and A's packets", nat)
	}
}
