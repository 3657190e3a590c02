package webui

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/vpc"
)

// The server answers GET alone: every other method is refused before
// anything else happens.
func TestOnlyGET(t *testing.T) {
	_, _, url := serveFake(t, Options{})
	for _, path := range []string{"/", "/events", "/api/topology", "/api/status", "/api/explain", "/assets/app.js"} {
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
			req, _ := http.NewRequest(m, url+path, strings.NewReader("{}"))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
				t.Errorf("%s %s = %d (Allow %q), want 405 with Allow: GET", m, path, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	}
}

// A page of another site cannot read the stream (or anything else), nor can
// a DNS name rebound to this machine.
func TestForeignOriginRefused(t *testing.T) {
	_, _, url := serveFake(t, Options{})
	host := strings.TrimPrefix(url, "http://")
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"a foreign Origin", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"a foreign Origin on this host's other port", map[string]string{"Origin": "http://127.0.0.1:1"}, http.StatusForbidden},
		{"a null Origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"a cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"a rebound DNS name", map[string]string{"Host": "evil.example:" + strings.Split(host, ":")[1]}, http.StatusForbidden},
		{"its own Origin", map[string]string{"Origin": url}, http.StatusOK},
		{"no Origin (same-origin EventSource, curl)", nil, http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, url+"/events", nil)
		for k, v := range tc.header {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("stream with %s = %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

// readEvents reads server-sent events until want returns true.
func readEvents(t *testing.T, url string, want func(event, data string) bool) {
	t.Helper()
	resp, err := http.Get(url + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("stream Content-Type %q", ct)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			resp.Body.Close()
		}
	}()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 8<<20)
	var ev string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			if want(ev, strings.TrimPrefix(line, "data: ")) {
				return
			}
		}
	}
	t.Fatalf("stream ended before the expected event: %v", sc.Err())
}

// A drop reaches the stream with its reason and exact count; the stream
// starts with hello and the counters `vpcemu status` shows.
func TestStreamCarriesDropsAndCounters(t *testing.T) {
	src, s, url := serveFake(t, Options{Interval: 20 * time.Millisecond})
	src.setNACLCounter("acl-public", "inbound", "100", 7)
	var gotHello, gotStatus bool
	var packets uint64
	readEvents(t, url, func(ev, data string) bool {
		switch ev {
		case "hello":
			gotHello = true
			for range 3 {
				s.Hub().Drop(sgDrop())
			}
		case "status":
			if strings.Contains(data, `"packets":7`) {
				gotStatus = true
			}
		case "batch":
			var b batch
			if err := json.Unmarshal([]byte(data), &b); err != nil {
				t.Fatal(err)
			}
			// One row per flow and interval: the three drops arrive in one
			// row, or in two when an interval ends between them.
			for _, e := range b.Entries {
				if e.Reason != "ENI_SG_RULES_MISMATCH" || e.SecurityGroups[0] != "sg-web" {
					t.Fatalf("row = %+v; want a drop by sg-web", e)
				}
				packets += e.Packets
			}
			if len(b.Entries) != 1 || b.Totals.DropPackets != packets {
				t.Fatalf("batch = %+v; want one row, totals %d", b, packets)
			}
			return packets == 3
		}
		return false
	})
	if !gotHello || !gotStatus {
		t.Errorf("hello %v, status with the NACL counter %v; want both before the batch", gotHello, gotStatus)
	}
}

// Closing the server says goodbye to the pages, so they can say the daemon
// stopped rather than retry silently.
func TestCloseSaysBye(t *testing.T) {
	_, s, url := serveFake(t, Options{})
	readEvents(t, url, func(ev, data string) bool {
		if ev == "hello" {
			go s.Close()
		}
		return ev == "bye" && strings.Contains(data, "stopped")
	})
}

// A clicked row is explained as its flow: a reply is turned around so the
// walk starts with the request, as `vpcemu explain` asks it.
func TestFlowQuery(t *testing.T) {
	lab := vpc.Lab()
	for _, tc := range []struct {
		name  string
		f     Flow
		want  rules.Query
		reply bool
	}{
		{"a SYN from the internet to a public instance's private address", Flow{Protocol: 6, Src: "192.0.2.66", Dst: "10.0.1.10", SrcPort: 40000, DstPort: 22, TCPFlags: tcpSyn},
			rules.Query{From: "stranger", To: "i-web", Protocol: 6, Port: 22, SourcePort: 40000}, false},
		{"a SYN-ACK back to a client's ephemeral port", Flow{Protocol: 6, Src: "203.0.113.80", Dst: "10.0.1.10", SrcPort: 443, DstPort: 33000, TCPFlags: tcpSyn | tcpAck},
			rules.Query{From: "i-web", To: "website", Protocol: 6, Port: 443, SourcePort: 33000}, true},
		{"mid-flow TCP from the port the sender serves", Flow{Protocol: 6, Src: "10.0.1.10", Dst: "198.51.100.10", SrcPort: 80, DstPort: 50000, TCPFlags: tcpAck},
			rules.Query{From: "laptop", To: "i-web", Protocol: 6, Port: 80, SourcePort: 50000}, true},
		{"an echo reply", Flow{Protocol: 1, Src: "203.0.113.80", Dst: "10.0.1.10", ICMPType: 0},
			rules.Query{From: "i-web", To: "website", Protocol: 1}, true},
		{"UDP to a port nobody serves, from a high port", Flow{Protocol: 17, Src: "10.0.1.10", Dst: "10.0.2.20", SrcPort: 40000, DstPort: 9999},
			rules.Query{From: "i-web", To: "i-db", Protocol: 17, Port: 9999, SourcePort: 40000}, false},
	} {
		q, reply, err := FlowQuery(lab, tc.f)
		if err != nil || q != tc.want || reply != tc.reply {
			t.Errorf("%s: FlowQuery = %+v reply %v (%v); want %+v reply %v", tc.name, q, reply, err, tc.want, tc.reply)
		}
	}
}

// The explain endpoint answers with the walk `vpcemu explain` prints and
// refuses bad parameters with a message naming them.
func TestExplainEndpoint(t *testing.T) {
	_, _, url := serveFake(t, Options{})
	resp, err := http.Get(url + "/api/explain?protocol=6&src=192.0.2.66&dst=10.0.1.10&src_port=40000&dst_port=22&tcp_flags=2")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Analysis rules.Analysis
		Walk     []rules.WalkHop
		Text     string
	}
	err = json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Analysis.Explanations) != 1 || res.Analysis.Explanations[0].ExplanationCode != rules.CodeSGRulesMismatch ||
		!strings.Contains(res.Text, "ENI_SG_RULES_MISMATCH") || res.Walk[len(res.Walk)-1].SecurityGroups[0] != "sg-web" {
		t.Errorf("explain of stranger's ssh = %+v", res)
	}
	resp, err = http.Get(url + "/api/explain?protocol=6&src=192.0.2.66&dst=10.0.1.10&dst_port=99999")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("explain with dst_port=99999 = %d, want 400", resp.StatusCode)
	}
}
