package perf

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Metric names: what a trial measures. Each produces a primary value (the
// table's figure) and secondary values kept in the raw results.
const (
	MetricTCP  = "tcp"      // iperf3 TCP, one stream, Gbit/s received
	MetricUDP  = "udp64"    // 64-byte UDP payload via sendmmsg, forwarded kpps
	MetricConn = "conns"    // new TCP connections per second
	keyTCP     = "tcp_gbps" // primary values, by metric
	keyUDP     = "udp64_fwd_kpps"
	keyConn    = "conns_per_s"
)

// AllMetrics lists every metric in the order tables show them.
var AllMetrics = []string{MetricTCP, MetricUDP, MetricConn}

// PrimaryKey is the value a metric's table shows.
func PrimaryKey(metric string) string {
	switch metric {
	case MetricTCP:
		return keyTCP
	case MetricUDP:
		return keyUDP
	case MetricConn:
		return keyConn
	}
	return metric
}

// Unit is the unit of a metric's primary value.
func Unit(metric string) string {
	switch metric {
	case MetricTCP:
		return "Gbit/s"
	case MetricUDP:
		return "kpps"
	case MetricConn:
		return "conn/s"
	}
	return ""
}

// Ports used inside the benchmark's own namespaces.
const (
	portIperf = 5201
	portUDP   = 9000
	portConn  = 9100
)

// loadEnv is where load runs: which binary is the agent and which CPUs to pin.
type loadEnv struct {
	agent     []string // command line that starts an agent (AgentArg appended by the caller)
	cliCPU    int
	srvCPU    int
	dur       time.Duration
	connConc  int
	rawWriter io.Writer // receives every tool's raw output, for the log
}

// agentProc is a running agent.
type agentProc struct {
	cancel context.CancelFunc
	stdin  io.WriteCloser
	lines  chan string
	done   chan error
}

func (e *loadEnv) startAgent(ctx context.Context, ns string, cpu int, max time.Duration, kind string, args ...string) (*agentProc, error) {
	full := append([]string{"netns", "exec", ns, "taskset", "-c", strconv.Itoa(cpu)}, e.agent...)
	full = append(full, AgentArg, kind)
	full = append(full, args...)
	c, cancel := newCmd(ctx, max+10*time.Second, "ip", full...)
	// Async preemption signals would interrupt socket calls that have timeouts (EINTR).
	c.Env = append(os.Environ(), AgentEnv+"=1", "GODEBUG=asyncpreemptoff=1")
	stdin, err := c.StdinPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	stdout, err := c.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	var errb strings.Builder
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start agent %s in %s: %w", kind, ns, err)
	}
	p := &agentProc{cancel: cancel, stdin: stdin, lines: make(chan string, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		err := c.Wait()
		if err != nil {
			err = fmt.Errorf("agent %s in %s: %w: %s", kind, ns, err, strings.TrimSpace(errb.String()))
		}
		p.done <- err
	}()
	return p, nil
}

// ready waits for a receiver's "ready" line.
func (p *agentProc) ready(timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l, ok := <-p.lines:
		if ok && l == agentReady {
			return nil
		}
		if !ok {
			return fmt.Errorf("agent exited before it was ready: %v", <-p.done)
		}
		return fmt.Errorf("agent said %q instead of ready", l)
	case <-t.C:
		return errors.New("agent not ready in time")
	}
}

// result closes the agent's stdin (receivers stop) and waits for its result.
func (p *agentProc) result(timeout time.Duration) (AgentResult, error) {
	defer p.cancel()
	_ = p.stdin.Close()
	var last string
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if ok {
				last = l
				continue
			}
			if err := <-p.done; err != nil {
				return AgentResult{}, err
			}
			var r AgentResult
			if err := json.Unmarshal([]byte(last), &r); err != nil {
				return AgentResult{}, fmt.Errorf("agent result %q: %w", last, err)
			}
			return r, nil
		case <-t.C:
			return AgentResult{}, errors.New("agent did not finish in time")
		}
	}
}

// kill stops an agent at once (error paths).
func (p *agentProc) kill() {
	_ = p.stdin.Close()
	p.cancel()
}

// waitListen polls `ss` until something listens on proto/port in ns.
func waitListen(ctx context.Context, ns, proto string, port int) error {
	flag := "-Htln"
	if proto == "udp" {
		flag = "-Huln"
	}
	for i := 0; i < 100; i++ {
		out, _ := nsRun(ctx, ns, "", "ss", flag, "sport = :"+strconv.Itoa(port))
		if strings.TrimSpace(out) != "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listening on %s %s/%d", ns, proto, port)
}

// measureTCP runs iperf3 for one TCP stream, client pinned to cliCPU and
// server to srvCPU (-A), as the peers did.
func (e *loadEnv) measureTCP(ctx context.Context, t *Topo) (map[string]float64, error) {
	secs := int(math.Max(1, math.Round(e.dur.Seconds())))
	srv, cancel := newCmd(ctx, time.Duration(secs+20)*time.Second, "ip", "netns", "exec", t.ServerNS,
		"iperf3", "-s", "-1", "-p", strconv.Itoa(portIperf), "-A", strconv.Itoa(e.srvCPU))
	defer cancel()
	var srvOut strings.Builder
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("iperf3 server: %w", err)
	}
	srvDone := make(chan struct{})
	go func() { _ = srv.Wait(); close(srvDone) }()
	defer func() { cancel(); <-srvDone }()
	if err := waitListen(ctx, t.ServerNS, "tcp", portIperf); err != nil {
		return nil, err
	}
	cli, ccancel := newCmd(ctx, time.Duration(secs+15)*time.Second, "ip", "netns", "exec", t.ClientNS,
		"iperf3", "-c", t.ServerIP.String(), "-p", strconv.Itoa(portIperf), "-t", strconv.Itoa(secs),
		"-A", strconv.Itoa(e.cliCPU), "-J")
	defer ccancel()
	out, err := cli.Output()
	fmt.Fprintf(e.rawWriter, "iperf3 client:\n%s\n", out)
	var res struct {
		End struct {
			SumSent struct {
				Retransmits float64 `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if jerr := json.Unmarshal(out, &res); jerr != nil || res.Error != "" || res.End.SumReceived.BitsPerSecond == 0 {
		return nil, fmt.Errorf("iperf3: %v %v %s", err, jerr, res.Error)
	}
	return map[string]float64{
		keyTCP:        res.End.SumReceived.BitsPerSecond / 1e9,
		"tcp_retrans": res.End.SumSent.Retransmits,
	}, nil
}

// rxPackets reads an interface's received-packets counter.
func rxPackets(ctx context.Context, ns, ifname string) (uint64, error) {
	out, err := nsRun(ctx, ns, "", "cat", "/sys/class/net/"+ifname+"/statistics/rx_packets")
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(out), 10, 64)
}

// measureUDP blasts 64-byte datagrams from the client to a sink in the
// server; the forwarded rate is the server veth's rx counter delta over the
// sender's elapsed time (what got through the router and every filter).
func (e *loadEnv) measureUDP(ctx context.Context, t *Topo) (map[string]float64, error) {
	maxSink := e.dur + 15*time.Second
	sink, err := e.startAgent(ctx, t.ServerNS, e.srvCPU, maxSink, "sink", "-port", strconv.Itoa(portUDP), "-max", maxSink.String())
	if err != nil {
		return nil, err
	}
	if err := sink.ready(10 * time.Second); err != nil {
		sink.kill()
		return nil, fmt.Errorf("udp sink: %w", err)
	}
	r0, err := rxPackets(ctx, t.ServerNS, t.ServerIf)
	if err != nil {
		sink.kill()
		return nil, err
	}
	bl, err := e.startAgent(ctx, t.ClientNS, e.cliCPU, e.dur+5*time.Second, "blast",
		"-dst", t.ServerIP.String(), "-port", strconv.Itoa(portUDP), "-len", "64", "-batch", "64", "-dur", e.dur.String())
	if err != nil {
		sink.kill()
		return nil, err
	}
	br, berr := bl.result(e.dur + 10*time.Second)
	r1, rerr := rxPackets(ctx, t.ServerNS, t.ServerIf)
	// Let datagrams still queued reach the socket before the sink stops counting.
	time.Sleep(200 * time.Millisecond)
	sr, serr := sink.result(10 * time.Second)
	fmt.Fprintf(e.rawWriter, "blast: %+v (%v)\nsink: %+v (%v)\nrx %s/%s: %d -> %d\n", br, berr, sr, serr, t.ServerNS, t.ServerIf, r0, r1)
	if berr != nil {
		return nil, berr
	}
	if rerr != nil {
		return nil, rerr
	}
	if br.Secs <= 0 {
		return nil, errors.New("blast ran for no time")
	}
	m := map[string]float64{
		keyUDP:            float64(r1-r0) / br.Secs / 1e3,
		"udp64_tx_kpps":   float64(br.Sent) / br.Secs / 1e3,
		"udp64_sink_kpps": float64(sr.Recv) / br.Secs / 1e3,
	}
	return m, nil
}

// measureConns runs the connection client in the client ns against the
// accept-and-close server in the server ns.
func (e *loadEnv) measureConns(ctx context.Context, t *Topo) (map[string]float64, error) {
	maxSrv := e.dur + 15*time.Second
	srv, err := e.startAgent(ctx, t.ServerNS, e.srvCPU, maxSrv, "connsrv", "-port", strconv.Itoa(portConn), "-max", maxSrv.String())
	if err != nil {
		return nil, err
	}
	if err := srv.ready(10 * time.Second); err != nil {
		srv.kill()
		return nil, fmt.Errorf("conn server: %w", err)
	}
	cli, err := e.startAgent(ctx, t.ClientNS, e.cliCPU, e.dur+5*time.Second, "conncli",
		"-dst", t.ServerIP.String(), "-port", strconv.Itoa(portConn), "-conc", strconv.Itoa(e.connConc), "-dur", e.dur.String())
	if err != nil {
		srv.kill()
		return nil, err
	}
	cr, cerr := cli.result(e.dur + 10*time.Second)
	sr, serr := srv.result(10 * time.Second)
	fmt.Fprintf(e.rawWriter, "conn client: %+v (%v)\nconn server: %+v (%v)\n", cr, cerr, sr, serr)
	if cerr != nil {
		return nil, cerr
	}
	if cr.Secs <= 0 || cr.Conns == 0 {
		return nil, fmt.Errorf("no connection completed (%d errors)", cr.Errs)
	}
	return map[string]float64{
		keyConn:      float64(cr.Conns) / cr.Secs,
		"conns_errs": float64(cr.Errs),
	}, nil
}

func (e *loadEnv) measure(ctx context.Context, metric string, t *Topo) (map[string]float64, error) {
	switch metric {
	case MetricTCP:
		return e.measureTCP(ctx, t)
	case MetricUDP:
		return e.measureUDP(ctx, t)
	case MetricConn:
		return e.measureConns(ctx, t)
	}
	return nil, fmt.Errorf("unknown metric %q (valid: %s)", metric, strings.Join(AllMetrics, ", "))
}

// check proves the topology passes traffic both ways under the applied
// filters: a UDP HELLO answered by the sink, and TCP connections completed.
func (e *loadEnv) check(ctx context.Context, t *Topo) error {
	short := *e
	short.dur = 300 * time.Millisecond
	short.connConc = 1
	short.rawWriter = io.Discard
	if _, err := short.measureUDP(ctx, t); err != nil {
		return fmt.Errorf("no UDP connectivity %s -> %s: %w", t.ClientIP, t.ServerIP, err)
	}
	if _, err := short.measureConns(ctx, t); err != nil {
		return fmt.Errorf("no TCP connectivity %s -> %s: %w", t.ClientIP, t.ServerIP, err)
	}
	return nil
}
