package main

// vpcemu-bench api: the EC2 API's benchmarks against a real daemon (`vpcemu
// up -d` of the lab with a UDP echo server and an iperf3 port on i-web),
// driven by aws-sdk-go-v2 as a client would:
//
//   - request to enforcement: a probe from the laptop sends a datagram to
//     i-web's UDP echo port every 100 µs (a new source port each change, so
//     no tracked flow carries over); AuthorizeSecurityGroupIngress admits
//     it; the time from sending the request to the first echo, p50/p99
//     over N changes (each revoked again before the next);
//   - sustained churn: authorize/revoke of a rule no flow uses, on the
//     group of the iperf3 server's ENI, at a target rate, while an iperf3
//     TCP flow runs from the laptop; against the same run without churn,
//     interleaved round by round: throughput, retransmits, and the SG and
//     NACL drop counters of the flow's path;
//   - RunInstances to the first answered curl: i-web sends an HTTP GET to
//     a private address no instance holds yet every millisecond (each a
//     new connection); RunInstances launches an instance there in
//     subnet-private with sg-web (HTTP from anywhere), whose default HTTP
//     server answers with its id; the time from sending the request to
//     the first answer, p50/p99 over N launches, each terminated again.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/perf"
	"github.com/vpcemu/vpcemu/vpc"
)

type apiBench struct {
	bin      string // the vpcemu binary
	name     string
	file     string
	topo     *vpc.Topology
	endpoint string
	client   *ec2.Client
	log      *os.File
}

func apiMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("vpcemu-bench api", flag.ContinueOnError)
	bin := fs.String("vpcemu", "bin/vpcemu", "the vpcemu binary (make build)")
	quick := fs.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "a smoke run: 100 changes, 1 round of 3 s")
	changes := fs.Int("changes", 1000, "request-to-enforcement: how many changes")
	interval := fs.Duration("probe-interval", 100*time.Microsecond, "request-to-enforcement: the probe's retry interval")
	gap := fs.Duration("gap", 30*time.Millisecond, "request-to-enforcement: pause after each revoke (changes as a person or Terraform makes them; back-to-back changes: the churn run)")
	rate := fs.Int("churn-rate", 1000, "churn: target authorize/revoke requests per second")
	dur := fs.Duration("churn-dur", 20*time.Second, "churn: length of each iperf3 run (the acceptance run is 60s)")
	rounds := fs.Int("rounds", 3, "churn: interleaved rounds of (without churn, with churn)")
	workers := fs.Int("churn-clients", 96, "churn: concurrent API clients, each toggling its own rule in sg-web (at most 190)")
	launchN := fs.Int("launches", 50, "RunInstances to first answered curl: how many launches (at most 150)")
	curlEvery := fs.Duration("curl-interval", time.Millisecond, "RunInstances to first answered curl: how often the prober starts a new HTTP GET")
	md := fs.String("md", "", "write the ec2-api section of this Markdown file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *quick {
		*changes, *dur, *rounds, *launchN = 100, 3*time.Second, 1, min(*launchN, 10)
	}
	if *launchN < 1 || *launchN > 150 {
		return fmt.Errorf("-launches %d: want 1 to 150", *launchN)
	}
	b := &apiBench{bin: *bin, log: os.Stderr}
	if err := b.up(ctx); err != nil {
		return err
	}
	defer b.down()
	lat, err := b.enforcement(ctx, *changes, *interval, *gap)
	if err != nil {
		return fmt.Errorf("request to enforcement: %w", err)
	}
	fmt.Println(lat.table())
	runs, err := b.launches(ctx, *launchN, *curlEvery)
	if err != nil {
		return fmt.Errorf("RunInstances to first answered curl: %w", err)
	}
	fmt.Println(runs.table())
	churn, err := b.churn(ctx, *rate, *workers, *dur, *rounds)
	if err != nil {
		return fmt.Errorf("churn: %w", err)
	}
	fmt.Println(churn.table())
	if *md != "" {
		how := "make bench"
		if *quick {
			how = "BENCH_QUICK=1 make bench"
		}
		body := apiMarkdown(how, lat, runs, churn, *dur, *rounds)
		if err := perf.ReplaceSection(*md, "ec2-api", "", body); err != nil {
			return err
		}
	}
	return nil
}

// The lab with a UDP echo server on i-web (the probe's port, admitted by
// no rule until the benchmark's authorize), an iperf3 port admitted from
// the laptop, and room in sg-web for a rule per churn client (its default
// limit of 60 rules would cap them at 54).
func apiLabYAML(name string) string {
	y := strings.Replace(string(vpc.LabYAML), "name: lab\n", "name: "+name+"\n", 1)
	y = strings.Replace(y, "\nvpc:\n", "\nlimits:\n  rules_per_security_group: 200\n\nvpc:\n", 1)
	y = strings.Replace(y, "      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n",
		"      - {protocol: tcp, ports: 3389, cidr: 0.0.0.0/0}\n      - {protocol: tcp, ports: 5201, cidr: 198.51.100.10/32}\n", 1)
	return strings.Replace(y, "services: [http, https, ssh]", `services: [http, https, ssh, "udp:7100"]`, 1)
}

const (
	probePort = 7100
	iperfPort = 5201
)

var webPublic = netip.MustParseAddr("203.0.113.10")

func (b *apiBench) vpcemu(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.bin, append([]string{"-t", b.name}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("vpcemu %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (b *apiBench) up(ctx context.Context) error {
	b.name = fmt.Sprintf("benchapi%d", os.Getpid()%100000)
	dir, err := os.MkdirTemp("", "vpcemu-bench-api")
	if err != nil {
		return err
	}
	b.file = filepath.Join(dir, b.name+".yaml")
	if err := os.WriteFile(b.file, []byte(apiLabYAML(b.name)), 0o644); err != nil {
		return err
	}
	if b.topo, err = vpc.Load(b.file); err != nil {
		return err
	}
	fmt.Fprintf(b.log, "api: bringing %s up\n", b.name)
	cmd := exec.CommandContext(ctx, b.bin, "up", "-d", "-f", b.file, "--ui", "off", "--metrics", "off", "--api", "127.0.0.1:0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vpcemu up: %w\n%s", err, out)
	}
	st, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, b.name))
	if err != nil {
		b.down()
		return err
	}
	b.endpoint = "http://" + st.API
	// A connection per churn client stays open (the SDK keeps 10 by
	// default: more clients would connect anew for most requests).
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.MaxIdleConnsPerHost = 256 })
	b.client = ec2.New(ec2.Options{Region: b.topo.Region, BaseEndpoint: aws.String(b.endpoint), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), RetryMaxAttempts: 1})
	return nil
}

func (b *apiBench) down() {
	exec.Command(b.bin, "down", "--purge", b.name).Run()
	os.RemoveAll(filepath.Dir(b.file))
}

func (b *apiBench) ns(host string) string {
	p := vpc.NewPlan(b.topo)
	for i, h := range b.topo.Internet {
		if h.Name == host {
			return p.Hosts[i].NS
		}
	}
	for i, in := range b.topo.Instances {
		if in.ID == host {
			return p.Instances[i].NS
		}
	}
	return ""
}

func perm(proto string, port int32, cidr string) []ec2types.IpPermission {
	return []ec2types.IpPermission{{IpProtocol: aws.String(proto), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}}
}

// latencies is the request-to-enforcement run.
type latencies struct {
	firstEcho []time.Duration // request sent -> first echo back
	admitted  []time.Duration // request sent -> the first admitted probe was sent
	response  []time.Duration // request sent -> response read
	sends     int64           // probes sent
	probeTime time.Duration   // how long the probes ran
	early     int             // changes whose probe passed before the request (a stale tracked flow): redone
	gap       time.Duration   // pause after each revoke
}

func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func (l *latencies) table() string {
	var w strings.Builder
	fmt.Fprintf(&w, "| from sending AuthorizeSecurityGroupIngress to | p50 | p99 | max |\n|---|---|---|---|\n")
	for _, r := range []struct {
		what string
		d    []time.Duration
	}{{"its response", l.response}, {"the first admitted probe (sent)", l.admitted}, {"that probe's echo back at the prober", l.firstEcho}} {
		fmt.Fprintf(&w, "| %s | %s | %s | %s |\n", r.what, fmtDur(pct(r.d, .5)), fmtDur(pct(r.d, .99)), fmtDur(pct(r.d, 1)))
	}
	return w.String()
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// enforcement measures n changes: for each, a fresh probe socket, then
// authorize; the first echo ends it; revoke.
func (b *apiBench) enforcement(ctx context.Context, n int, every, gap time.Duration) (*latencies, error) {
	laptop := b.ns("laptop")
	l := &latencies{}
	for i := 0; len(l.firstEcho) < n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if i > n+100 {
			return nil, fmt.Errorf("%d of %d changes measured after %d tries", len(l.firstEcho), n, i)
		}
		p, err := newProbe(laptop, 20000+i%40000, netip.AddrPortFrom(webPublic, probePort), every)
		if err != nil {
			return nil, err
		}
		// A probe that gets through before the request rides a flow some
		// earlier change left tracked: measure that change again.
		time.Sleep(2 * time.Millisecond)
		if p.echoed() {
			_, _ = p.stop()
			l.early++
			continue
		}
		t0 := time.Now()
		_, err = b.client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-web"),
			IpPermissions: perm("udp", probePort, "198.51.100.10/32")})
		tr := time.Now()
		if err != nil {
			p.stop()
			return nil, err
		}
		echo, sent, ok := p.wait(2 * time.Second)
		sends, ran := p.stop()
		if !ok {
			return nil, fmt.Errorf("change %d: no echo within 2 s of the authorize", i)
		}
		l.firstEcho = append(l.firstEcho, echo.Sub(t0))
		l.admitted = append(l.admitted, max(0, sent.Sub(t0)))
		l.response = append(l.response, tr.Sub(t0))
		l.sends += sends
		l.probeTime += ran
		if _, err := b.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-web"),
			IpPermissions: perm("udp", probePort, "198.51.100.10/32")}); err != nil {
			return nil, err
		}
		time.Sleep(gap)
	}
	l.gap = gap
	return l, nil
}

// launchRuns is the RunInstances-to-first-answered-curl run.
type launchRuns struct {
	answered  []time.Duration // RunInstances sent -> the new instance's first HTTP answer read at i-web
	response  []time.Duration // RunInstances sent -> its response read
	terminate []time.Duration // TerminateInstances sent -> its response read
	attempts  int64           // HTTP GETs started
	every     time.Duration
}

func (r *launchRuns) table() string {
	var w strings.Builder
	fmt.Fprintf(&w, "| from sending | to | p50 | p99 | max |\n|---|---|---|---|---|\n")
	for _, x := range []struct {
		from, to string
		d        []time.Duration
	}{{"RunInstances", "its response", r.response}, {"RunInstances", "the first answered curl", r.answered}, {"TerminateInstances", "its response", r.terminate}} {
		fmt.Fprintf(&w, "| %s | %s | %s | %s | %s |\n", x.from, x.to, fmtDur(pct(x.d, .5)), fmtDur(pct(x.d, .99)), fmtDur(pct(x.d, 1)))
	}
	return w.String()
}

// How long one of the launch prober's GETs may take to connect and to be
// answered: attempts overlap, one starting every interval.
const (
	launchDialTimeout = 25 * time.Millisecond
	launchReadTimeout = 200 * time.Millisecond
)

// launches measures n RunInstances, each to the first HTTP answer from
// the new instance at i-web, terminating each before the next.
func (b *apiBench) launches(ctx context.Context, n int, every time.Duration) (*launchRuns, error) {
	web := b.ns("i-web")
	r := &launchRuns{every: every}
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		addr := netip.AddrFrom4([4]byte{10, 0, 2, byte(100 + i)})
		c := newCurler(web, netip.AddrPortFrom(addr, 80), every)
		t0 := time.Now()
		out, err := b.client.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12345678"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String("subnet-private"), PrivateIpAddress: aws.String(addr.String()), SecurityGroupIds: []string{"sg-web"}})
		tr := time.Now()
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("launch %d: %w", i, err)
		}
		if len(out.Instances) != 1 {
			c.stop()
			return nil, fmt.Errorf("launch %d: %d instances in the response", i, len(out.Instances))
		}
		id := aws.ToString(out.Instances[0].InstanceId)
		at, body, ok := c.wait(5 * time.Second)
		r.attempts += c.stop()
		if !ok {
			return nil, fmt.Errorf("launch %d (%s at %s): no answer within 5 s", i, id, addr)
		}
		if strings.TrimSpace(body) != id {
			return nil, fmt.Errorf("launch %d: %s answered %q, want the new instance's id %s", i, addr, body, id)
		}
		r.answered = append(r.answered, at.Sub(t0))
		r.response = append(r.response, tr.Sub(t0))
		t1 := time.Now()
		if _, err := b.client.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}); err != nil {
			return nil, fmt.Errorf("terminate %s: %w", id, err)
		}
		r.terminate = append(r.terminate, time.Since(t1))
	}
	return r, nil
}

// curler starts an HTTP GET to dst from namespace ns every interval, each
// on a new connection, until one is answered.
type curler struct {
	quit     chan struct{}
	done     sync.WaitGroup
	attempts atomic.Int64
	once     sync.Once
	got      chan struct{}
	at       time.Time // the first answer's arrival
	body     string
}

func newCurler(ns string, dst netip.AddrPort, every time.Duration) *curler {
	c := &curler{quit: make(chan struct{}), got: make(chan struct{})}
	// Bounded: attempts that time out overlap by launchDialTimeout/every.
	slots := make(chan struct{}, 128)
	req := []byte("GET / HTTP/1.0\r\nHost: " + dst.Addr().String() + "\r\n\r\n")
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-c.quit:
				return
			case <-c.got:
				return
			case <-tick.C:
			}
			select {
			case slots <- struct{}{}:
			default:
				continue
			}
			c.attempts.Add(1)
			c.done.Add(1)
			go func() {
				defer c.done.Done()
				defer func() { <-slots }()
				c.try(ns, dst, req)
			}()
		}
	}()
	return c
}

// try makes one GET; the first answered one ends the curler.
func (c *curler) try(ns string, dst netip.AddrPort, req []byte) {
	var conn net.Conn
	// The socket is made (and connects) inside ns; it stays there.
	err := netns.Do(ns, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", dst.String(), launchDialTimeout)
		return err
	})
	if err != nil {
		return
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(launchReadTimeout))
	if _, err := conn.Write(req); err != nil {
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return
	}
	now := time.Now()
	c.once.Do(func() {
		c.at, c.body = now, string(body)
		close(c.got)
	})
}

func (c *curler) wait(timeout time.Duration) (time.Time, string, bool) {
	select {
	case <-c.got:
		return c.at, c.body, true
	case <-time.After(timeout):
		return time.Time{}, "", false
	}
}

// stop ends the curler and returns how many GETs it started.
func (c *curler) stop() int64 {
	close(c.quit)
	c.done.Wait()
	return c.attempts.Load()
}

// probe sends a datagram (its send time inside) every interval from a
// socket in ns and notes the first echo.
type probe struct {
	c        *net.UDPConn
	quit     chan struct{}
	done     sync.WaitGroup
	sends    atomic.Int64
	mu       sync.Mutex
	first    time.Time // first echo's arrival
	firstTx  time.Time // its send time
	gotFirst chan struct{}
	start    time.Time
}

func newProbe(ns string, lport int, dst netip.AddrPort, every time.Duration) (*probe, error) {
	p := &probe{quit: make(chan struct{}), gotFirst: make(chan struct{}), start: time.Now()}
	err := netns.Do(ns, func() error {
		var err error
		p.c, err = net.DialUDP("udp", &net.UDPAddr{Port: lport}, net.UDPAddrFromAddrPort(dst))
		return err
	})
	if err != nil {
		return nil, err
	}
	base := time.Now()
	p.done.Add(2)
	go func() {
		defer p.done.Done()
		msg := make([]byte, 16)
		next := time.Now()
		for {
			select {
			case <-p.quit:
				return
			default:
			}
			binary.LittleEndian.PutUint64(msg, uint64(time.Since(base)))
			p.c.Write(msg)
			p.sends.Add(1)
			next = next.Add(every)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
		}
	}()
	go func() {
		defer p.done.Done()
		buf := make([]byte, 64)
		for {
			n, err := p.c.Read(buf)
			if err != nil {
				return
			}
			if n < 8 {
				continue
			}
			now := time.Now()
			p.mu.Lock()
			if p.first.IsZero() {
				p.first = now
				p.firstTx = base.Add(time.Duration(binary.LittleEndian.Uint64(buf)))
				close(p.gotFirst)
			}
			p.mu.Unlock()
		}
	}()
	return p, nil
}

func (p *probe) echoed() bool {
	select {
	case <-p.gotFirst:
		return true
	default:
		return false
	}
}

func (p *probe) wait(timeout time.Duration) (echo, sent time.Time, ok bool) {
	select {
	case <-p.gotFirst:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.first, p.firstTx, true
	case <-time.After(timeout):
		return time.Time{}, time.Time{}, false
	}
}

// stop ends the probe; it returns how many probes it sent and for how long.
func (p *probe) stop() (int64, time.Duration) {
	close(p.quit)
	p.c.Close()
	p.done.Wait()
	return p.sends.Load(), time.Since(p.start)
}

// churnResult is one iperf3 run.
type churnRun struct {
	churn       bool
	bps         float64
	retransmits int64
	sgDrops     uint64 // i-web's SG drops during the run
	naclDenied  uint64 // NACL deny-rule packets during the run
	requests    int64  // API requests answered during the run
	failed      int64
	reqLat      []time.Duration
	secs        float64
	daemonCPU   time.Duration // the daemon's CPU time during the run
}

type churnResults struct {
	rate, workers int
	runs          []churnRun
}

func (c *churnResults) of(churn bool) []churnRun {
	var out []churnRun
	for _, r := range c.runs {
		if r.churn == churn {
			out = append(out, r)
		}
	}
	return out
}

func median(v []float64) float64 { return perf.Median(v) }

func (c *churnResults) table() string {
	var w strings.Builder
	fmt.Fprintf(&w, "| run | iperf3 throughput (median, min–max) | ratio | retransmits | SG drops | NACL denies | API requests/s | request p50 / p99 | daemon CPU |\n|---|---|---|---|---|---|---|---|---|\n")
	base := 0.0
	for _, churn := range []bool{false, true} {
		runs := c.of(churn)
		var bps, rps []float64
		var retr int64
		var sg, nacl uint64
		var lat []time.Duration
		var failed int64
		var cpu time.Duration
		var secs float64
		for _, r := range runs {
			cpu += r.daemonCPU
			secs += r.secs
			bps = append(bps, r.bps)
			rps = append(rps, float64(r.requests)/r.secs)
			retr += r.retransmits
			sg += r.sgDrops
			nacl += r.naclDenied
			lat = append(lat, r.reqLat...)
			failed += r.failed
		}
		m := median(bps)
		what := "without churn"
		ratio, reqs, rl := "1.00", "-", "-"
		if churn {
			what = fmt.Sprintf("with authorize/revoke at a target %d/s", c.rate)
			if base > 0 {
				ratio = fmt.Sprintf("%.3f", m/base)
			}
			reqs = fmt.Sprintf("%.0f", median(rps))
			if failed > 0 {
				reqs += fmt.Sprintf(" (%d failed)", failed)
			}
			rl = fmtDur(pct(lat, .5)) + " / " + fmtDur(pct(lat, .99))
		} else {
			base = m
		}
		fmt.Fprintf(&w, "| %s | %.2f Gbit/s (%.2f–%.2f) | %s | %d | %d | %d | %s | %s | %.0f%% |\n", what, m/1e9, slicesMin(bps)/1e9, slicesMax(bps)/1e9,
			ratio, retr, sg, nacl, reqs, rl, 100*cpu.Seconds()/secs)
	}
	return w.String()
}

func slicesMin(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Min(v)
}

func slicesMax(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return slices.Max(v)
}

// daemonCPU is the CPU time (user and system) the daemon used so far.
func (b *apiBench) daemonCPU() (time.Duration, error) {
	st, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, b.name))
	if err != nil {
		return 0, err
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", st.PID))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces): state is the 3rd
	// field of stat, utime and stime the 14th and 15th, in USER_HZ (100).
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", st.PID, raw)
	}
	var ticks int64
	for _, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", st.PID, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond, nil
}

// counters reads i-web's SG drops and the NACL deny-rule packets.
func (b *apiBench) counters(ctx context.Context) (sg, nacl uint64, err error) {
	out, err := b.vpcemu(ctx, "status", "-o", "json")
	if err != nil {
		return 0, 0, err
	}
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return 0, 0, err
	}
	for _, in := range st.Instances {
		if in.ID == "i-web" {
			for _, d := range in.SGDrops {
				sg += d.Packets
			}
		}
	}
	for _, n := range st.NACLs {
		for _, r := range n.Rules {
			if r.Action == "deny" {
				nacl += r.Packets
			}
		}
	}
	return sg, nacl, nil
}

func (b *apiBench) churn(ctx context.Context, rate, workers int, dur time.Duration, rounds int) (*churnResults, error) {
	// Its own process group: exec's child, the server, goes with it.
	srv := exec.CommandContext(ctx, b.bin, "-t", b.name, "exec", "i-web", "--", "iperf3", "-s", "-p", fmt.Sprint(iperfPort))
	srv.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() {
		syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
		srv.Wait()
	}()
	time.Sleep(500 * time.Millisecond)
	res := &churnResults{rate: rate, workers: workers}
	for r := range rounds {
		for _, churn := range []bool{false, true} {
			if r%2 == 1 { // alternate which goes first
				churn = !churn
			}
			fmt.Fprintf(b.log, "api: churn round %d, churn=%v\n", r+1, churn)
			run, err := b.churnRun(ctx, churn, rate, workers, dur)
			if err != nil {
				return nil, err
			}
			res.runs = append(res.runs, *run)
		}
	}
	return res, nil
}

func (b *apiBench) churnRun(ctx context.Context, churn bool, rate, workers int, dur time.Duration) (*churnRun, error) {
	run := &churnRun{churn: churn}
	cpu0, err := b.daemonCPU()
	if err != nil {
		return nil, err
	}
	sg0, nacl0, err := b.counters(ctx)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var latMu sync.Mutex
	if churn {
		// Each token is one request; workers alternate authorize and revoke
		// of their own rule (UDP 9000+worker from 192.0.2.0/24: no flow).
		tokens := make(chan struct{}, workers)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(tokens)
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					select {
					case tokens <- struct{}{}:
					default: // the clients are behind: the achieved rate says so
					}
				}
			}
		}()
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := perm("udp", int32(9000+w), "192.0.2.0/24")
				on := false
				for range tokens {
					t0 := time.Now()
					var err error
					if !on {
						_, err = b.client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String("sg-web"), IpPermissions: p})
					} else {
						_, err = b.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-web"), IpPermissions: p})
					}
					d := time.Since(t0)
					if err != nil {
						if atomic.AddInt64(&run.failed, 1) == 1 {
							fmt.Fprintf(b.log, "api: churn: a request failed (the first of the run): %v\n", err)
						}
						continue
					}
					on = !on
					atomic.AddInt64(&run.requests, 1)
					latMu.Lock()
					run.reqLat = append(run.reqLat, d)
					latMu.Unlock()
				}
			}()
		}
	}
	t0 := time.Now()
	out, ierr := b.vpcemu(ctx, "exec", "laptop", "--", "iperf3", "-c", webPublic.String(), "-p", fmt.Sprint(iperfPort),
		"-t", fmt.Sprint(int(dur.Seconds())), "-J")
	run.secs = time.Since(t0).Seconds()
	cpu1, cerr := b.daemonCPU()
	if cerr != nil {
		return nil, cerr
	}
	run.daemonCPU = cpu1 - cpu0
	close(stop)
	wg.Wait()
	if ierr != nil {
		return nil, ierr
	}
	var rep struct {
		End struct {
			SumSent struct {
				Retransmits int64 `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return nil, fmt.Errorf("iperf3 -J: %w\n%s", err, out)
	}
	run.bps, run.retransmits = rep.End.SumReceived.BitsPerSecond, rep.End.SumSent.Retransmits
	sg1, nacl1, err := b.counters(ctx)
	if err != nil {
		return nil, err
	}
	run.sgDrops, run.naclDenied = sg1-sg0, nacl1-nacl0
	// Leave no churned rule behind for the next run.
	if churn {
		for w := range workers {
			b.client.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String("sg-web"),
				IpPermissions: perm("udp", int32(9000+w), "192.0.2.0/24")})
		}
	}
	return run, nil
}

func apiMarkdown(how string, l *latencies, r *launchRuns, c *churnResults, dur time.Duration, rounds int) string {
	var w strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&w, "## EC2 API: request to enforcement and rule churn\n\n")
	fmt.Fprintf(&w, "Measured %s with `%s` (`vpcemu-bench api`): a detached daemon (`vpcemu up -d`) of the lab with a UDP echo server and an iperf3 port on i-web, driven by aws-sdk-go-v2. Kernel %s, %d CPUs, load average %s at the end.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), how, kernel(), numCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(&w, "**Request to enforcement.** %d changes: for each, a probe in the laptop sends a datagram to i-web's UDP echo port every 100 µs from a new source port (%.0f µs between sends on average, as the Go timer managed), then `AuthorizeSecurityGroupIngress` admits UDP from the laptop; the time from sending the request to the first echo; the rule is revoked, and the next change comes %v later (changes back to back: the churn run below). Target: p99 < 10 ms.\n\n",
		len(l.firstEcho), float64(l.probeTime.Microseconds())/float64(max(1, l.sends)), l.gap)
	w.WriteString(l.table())
	fmt.Fprintf(&w, "\n**RunInstances to the first answered curl.** %d launches: i-web starts an HTTP GET (a new TCP connection, %v to connect, %v to answer) to a private address of subnet-private every %v, then `RunInstances` launches an instance there with sg-web (HTTP from anywhere), whose default HTTP server answers with the instance's id; the time from sending the request to the first answer with that id at i-web, then `TerminateInstances`. Target: p50 < 100 ms.\n\n",
		len(r.answered), launchDialTimeout, launchReadTimeout, r.every)
	w.WriteString(r.table())
	fmt.Fprintf(&w, "\n**Sustained churn.** %d interleaved rounds of an iperf3 TCP flow from the laptop to i-web (%s each) without and with authorize/revoke of rules no flow uses, in i-web's own group, at a target of %d requests/s from %d clients, each sending its next request once the previous one is answered (the daemon makes the changes that arrive while one is being made live go live together: one SG table swap and one state.json write per batch). This is the short version of the acceptance run (60 s: `vpcemu-bench api -churn-dur 60s`). Targets: throughput ≥ 0.95× the run without churn, no packet of the flow dropped by the filters (SG drops at i-web and NACL denies during the run); the flow's TCP retransmits are shown for both runs (the veth path loses packets when the 2 CPUs are saturated, churn or not); daemon CPU is the daemon's CPU time over the runs' length (100%% = one CPU).\n\n",
		rounds, dur, c.rate, c.workers)
	w.WriteString(c.table())
	return w.String()
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func numCPU() int { return runtime.NumCPU() }
