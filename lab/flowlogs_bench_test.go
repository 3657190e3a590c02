package lab

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
)

// TestFlowLogsCostReport measures what flow logs cost end to end (the
// BENCHMARKS.md "Flow logs" table): iperf3 TCP throughput and 64-byte UDP
// packet rate between two instances in different subnets (SG + NACL on the
// path), with the topology's flow log on and off, rounds interleaved; and
// how long one drain + write of a 65535-flow port scan takes. It only
// reports (no timing assertions) and runs only with VPCEMU_FLOW_COST=1.
func TestFlowLogsCostReport(t *testing.T) {
	if os.Getenv("VPCEMU_FLOW_COST") != "1" {
		t.Skip("set VPCEMU_FLOW_COST=1 to measure")
	}
	testenv.RequireRoot(t)
	type lab struct {
		l    *Lab
		a, b string
	}
	labs := map[string]lab{}
	for _, mode := range []string{"off", "on"} {
		topo := testenv.Topology(t, flIperfYAML)
		if mode == "off" {
			topo.FlowLogs = nil
		}
		l := flUp(t, topo, Options{})
		labs[mode] = lab{l, flNS(t, l, "i-a"), flNS(t, l, "i-b")}
	}
	iperf := func(lb lab, args ...string) map[string]any {
		t.Helper()
		srv := exec.Command("ip", "netns", "exec", lb.b, "iperf3", "-s", "-1", "-p", "5201")
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Wait()
		time.Sleep(150 * time.Millisecond)
		out, err := testenv.Exec(t, lb.a, append([]string{"iperf3", "-c", "10.0.2.20", "-p", "5201", "-J"}, args...)...)
		if err != nil {
			t.Fatalf("iperf3: %v\n%s", err, out)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		return res["end"].(map[string]any)
	}
	num := func(m map[string]any, path ...string) float64 {
		for _, p := range path[:len(path)-1] {
			m = m[p].(map[string]any)
		}
		return m[path[len(path)-1]].(float64)
	}
	tcp, udp := map[string][]float64{}, map[string][]float64{}
	for round := 0; round < 5; round++ {
		// ABBA order: a drift of the machine's load favours neither.
		order := []string{"off", "on"}
		if round%2 == 1 {
			order = []string{"on", "off"}
		}
		for _, mode := range order {
			end := iperf(labs[mode], "-t", "3")
			tcp[mode] = append(tcp[mode], num(end, "sum_received", "bits_per_second")/1e9)
			udp[mode] = append(udp[mode], udpRate(t, labs[mode].a, labs[mode].b, 2*time.Second)/1e3)
		}
	}
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	var b strings.Builder
	fmt.Fprintf(&b, "| measure | flow logs off | flow logs on | on/off |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| TCP throughput (Gbit/s, median of 5) | %.2f | %.2f | %.2fx |\n", med(tcp["off"]), med(tcp["on"]), med(tcp["on"])/med(tcp["off"]))
	fmt.Fprintf(&b, "| UDP 64-byte rate received (kpps, median of 5) | %.1f | %.1f | %.2fx |\n", med(udp["off"]), med(udp["on"]), med(udp["on"])/med(udp["off"]))
	t.Logf("rounds: tcp %v udp %v\n%s", tcp, udp, b.String())

	// Drain + write of a full port scan's flows.
	topo := testenv.Topology(t, flScanYAML)
	l := flUp(t, topo, Options{})
	if err := l.FlushFlowLogs(); err != nil {
		t.Fatal(err)
	}
	l.flowMu.Lock() // keep the 1 s pump out of the measured drain
	defer l.flowMu.Unlock()
	start := time.Now()
	if err := synScan(flNS(t, l, "scanner"), mustAddr("198.51.100.10"), mustAddr("203.0.113.10"), 40000, 65535); err != nil {
		t.Fatal(err)
	}
	scan := time.Since(start)
	time.Sleep(100 * time.Millisecond)
	start = time.Now()
	var samples []flowlog.Sample
	_, err := l.flowSrc.DrainTo(func(b []flowlog.Sample) { samples = append(samples, b...) })
	drain := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	l.flows.add(samples)
	if err := l.flows.flush(time.Now(), true); err != nil {
		t.Fatal(err)
	}
	write := time.Since(start)
	t.Logf("port scan: %d SYNs sent in %v; drain of %d flows %v; aggregate + write %v",
		65535, scan.Round(time.Millisecond), len(samples), drain.Round(time.Millisecond), write.Round(time.Millisecond))
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// udpRate blasts 64-byte UDP datagrams (IP size 64) from ns a to i-b's
// port 5202 for d and returns the rate ns b received them at (packets/s).
func udpRate(t *testing.T, a, b string, d time.Duration) float64 {
	t.Helper()
	ready, got := make(chan error, 1), make(chan float64, 1)
	go func() {
		err := netns.Do(b, func() error {
			c, err := net.ListenPacket("udp", ":5202")
			if err != nil {
				ready <- err
				return err
			}
			defer c.Close()
			ready <- nil
			buf := make([]byte, 2048)
			var n int
			var first, last time.Time
			for {
				c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				if _, _, err := c.ReadFrom(buf); err != nil {
					break
				}
				if n == 0 {
					first = time.Now()
				}
				last = time.Now()
				n++
			}
			got <- float64(n) / max(last.Sub(first).Seconds(), 1e-3)
			return nil
		})
		if err != nil {
			got <- 0
		}
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	err := netns.Do(a, func() error {
		c, err := net.Dial("udp", "10.0.2.20:5202")
		if err != nil {
			return err
		}
		defer c.Close()
		msg := make([]byte, 64-28)
		for end := time.Now().Add(d); time.Now().Before(end); {
			for i := 0; i < 256; i++ {
				c.Write(msg)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return <-got
}
