package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The soak test runs mixed traffic across a topology for a while (one
// minute in `make test`, ten in `make soak`: VPCEMU_SOAK=10m) while a rule
// change goes live every second through `vpcemu apply`, with flow logs on.
// Afterwards the daemon has not grown (memory, descriptors, goroutines, BPF
// map entries, tracked connections) between an early and a late sample,
// the flow logs count exactly what the senders sent on flows no rule change
// touches, and `vpcemu down` leaves nothing behind.

// soakYAML is the soak topology; %s is the variant's extra sg-b rule and
// acl-b rule. i-c (subnet-a) and the internet host laptop are clients; i-b
// (subnet-b) and i-a (subnet-a, public) are servers. Port 9000 on i-b is
// what the rule changes open and close; everything else stays as it is.
// Short connections are untracked at both ends (/0 rules both ways), so
// the tracking table holds only the long flows and its size is steady.
const soakYAML = `name: %s
account: "123456789012"
region: us-east-1
vpc: {id: vpc-soak, cidr: 10.0.0.0/16}
subnets:
  - {id: subnet-a, cidr: 10.0.1.0/24, public: true, network_acl: acl-a}
  - {id: subnet-b, cidr: 10.0.2.0/24, network_acl: acl-b}
security_groups:
  - id: sg-a
    ingress:
      - {protocol: tcp, ports: 7000, cidr: 0.0.0.0/0}
      - {protocol: udp, ports: 7001, cidr: 0.0.0.0/0}
  - id: sg-b
    ingress:
      - {protocol: tcp, ports: 7000, cidr: 0.0.0.0/0}
      - {protocol: udp, ports: 7001, cidr: 10.0.0.0/16}
      - {protocol: tcp, ports: 7002, cidr: 10.0.1.0/24}
      - {protocol: icmp, icmp_type: -1, icmp_code: -1, cidr: 10.0.0.0/16}%s
  - id: sg-c
    ingress:
      - {protocol: all, cidr: 0.0.0.0/0}
network_acls:
  - id: acl-a
    ingress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
  - id: acl-b
    ingress:%s
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
    egress:
      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}
instances:
  - {id: i-a, subnet: subnet-a, private_ip: 10.0.1.10, public_ip: 203.0.113.10, security_groups: [sg-a], services: ["tcp:7000", "udp:7001"]}
  - {id: i-b, subnet: subnet-b, private_ip: 10.0.2.20, security_groups: [sg-b], services: ["tcp:7000", "udp:7001", "tcp:7002", "tcp:9000"]}
  - {id: i-c, subnet: subnet-a, private_ip: 10.0.1.30, security_groups: [sg-c]}
internet:
  - {name: laptop, ip: 198.51.100.10}
flow_logs:
  - id: fl-soak
    resource: vpc-soak
    traffic_type: ALL
    max_aggregation_interval: 10
    log_format: "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${flow-direction}"
`

// soakVariant returns the topology with port 9000 open (SG rule, no NACL
// deny) or closed (no SG rule, a NACL deny).
func soakVariant(name string, open bool) string {
	if open {
		return fmt.Sprintf(soakYAML, name, "\n      - {protocol: tcp, ports: 9000, cidr: 0.0.0.0/0}", "")
	}
	return fmt.Sprintf(soakYAML, name, "", "\n      - {rule: 50, protocol: tcp, ports: 9000, cidr: 10.0.1.0/24, action: deny}")
}

// soakDuration is VPCEMU_SOAK, or one minute.
func soakDuration(t *testing.T) time.Duration {
	s := os.Getenv("VPCEMU_SOAK")
	if s == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 30*time.Second {
		t.Fatalf("VPCEMU_SOAK=%q: want a duration of at least 30s", s)
	}
	return d
}

func TestSoak(t *testing.T) {
	testenv.RequireRoot(t)
	dur := soakDuration(t)
	// The early sample is taken at a fifth of the run (minute 2 of 10) but
	// no sooner than 30 s, after start-up allocations; each sample is the
	// median of readings over a window, so that what is in flight at one
	// instant (a short connection, a flow not drained yet) does not count.
	early := max(dur/5, 30*time.Second)
	window := min(10*time.Second, dur/6)

	name := testenv.Name(t)
	dir := t.TempDir()
	files := [2]string{filepath.Join(dir, "closed.yaml"), filepath.Join(dir, "open.yaml")}
	for i, f := range files {
		if err := os.WriteFile(f, []byte(soakVariant(name, i == 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rootLinks := rootInterfaces(t)
	paths := lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name)
	t.Cleanup(func() { _ = lab.Down(name, true, lab.Options{}) })
	upStart := time.Now()
	if out, code := vpcemu(t, "up", "-d", "-q", "-f", files[1]); code != 0 {
		t.Fatalf("vpcemu up -d: exit %d\n%s", code, out)
	}
	t.Logf("up took %v", time.Since(upStart).Round(time.Millisecond))
	st, err := lab.ReadState(paths)
	if err != nil {
		t.Fatal(err)
	}
	pid := st.PID
	ns := func(host string) string {
		for _, p := range []string{".i.", ".h."} {
			if n := "vpcemu." + name + p + host; netns.Exists(n) {
				return n
			}
		}
		t.Fatalf("no namespace for %s", host)
		return ""
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	tr := &soakTraffic{}
	ic, laptop := ns("i-c"), ns("laptop")
	b := netip.MustParseAddr("10.0.2.20")
	aPublic := netip.MustParseAddr("203.0.113.10")
	tr.exact = []*exactFlow{
		{name: "udp i-c -> i-b", ns: ic, src: netip.MustParseAddrPort("10.0.1.30:41000"), dst: netip.AddrPortFrom(b, 7001),
			srcENI: "i-c", dstENI: "i-b", dstLogged: netip.AddrPortFrom(b, 7001)},
		{name: "udp laptop -> i-a (internet gateway)", ns: laptop, src: netip.MustParseAddrPort("198.51.100.10:41001"), dst: netip.AddrPortFrom(aPublic, 7001),
			dstENI: "i-a", dstLogged: netip.MustParseAddrPort("10.0.1.10:7001")},
		{name: "icmp i-c -> i-b", ns: ic, icmp: true, src: netip.AddrPortFrom(netip.MustParseAddr("10.0.1.30"), 0), dst: netip.AddrPortFrom(b, 0),
			srcENI: "i-c", dstENI: "i-b", dstLogged: netip.AddrPortFrom(b, 0)},
	}
	tr.start(ctx, t, []soakPeer{
		{what: "stream i-c -> i-b:7002 (tracked)", ns: ic, dst: netip.AddrPortFrom(b, 7002)},
		{what: "stream laptop -> i-a:7000 (internet gateway)", ns: laptop, dst: netip.AddrPortFrom(aPublic, 7000)},
	}, []soakPeer{
		{what: "short i-c -> i-b:7000", ns: ic, dst: netip.AddrPortFrom(b, 7000), every: 100 * time.Millisecond},
		{what: "short laptop -> i-a:7000", ns: laptop, dst: netip.AddrPortFrom(aPublic, 7000), every: 200 * time.Millisecond},
	}, soakPeer{what: "churn i-c -> i-b:9000", ns: ic, dst: netip.AddrPortFrom(b, 9000), every: 200 * time.Millisecond})

	// One rule change a second, through the CLI as a user applies it.
	var applies, applyFails atomic.Int64
	var applyErr atomic.Value
	applyDone := make(chan struct{})
	go func() {
		defer close(applyDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if out, code := vpcemuNoFatal(vpcemuBin, "-t", name, "apply", "-f", files[i%2]); code != 0 {
				applyFails.Add(1)
				applyErr.Store(fmt.Sprintf("exit %d: %s", code, out))
			}
			applies.Add(1)
		}
	}()

	start := time.Now()
	sampleAt := func(end time.Duration) soakSample {
		var rs []soakSample
		for at := end - window; at <= end; at += time.Second {
			time.Sleep(time.Until(start.Add(at)))
			r, err := readSoakSample(paths, pid)
			if err != nil {
				t.Errorf("sample at %v: %v", at, err)
				continue
			}
			rs = append(rs, r)
		}
		return medianSample(rs)
	}
	first := sampleAt(early)
	last := sampleAt(dur)
	stop()
	tr.wg.Wait()
	<-applyDone

	t.Logf("%v of traffic, %d rule changes applied (%d failed)", dur, applies.Load(), applyFails.Load())
	t.Logf("%-26s %12s %12s", "daemon", fmt.Sprintf("at %v", early), fmt.Sprintf("at %v", dur))
	for _, m := range soakMetrics {
		t.Logf("%-26s %12.0f %12.0f", m.name, m.get(first), m.get(last))
	}
	t.Logf("streams: %v; short connections ok %d failed %d; port 9000 open %d closed %d",
		tr.streamBytes(), tr.shortOK.Load(), tr.shortFail.Load(), tr.churnOK.Load(), tr.churnFail.Load())

	if n := applyFails.Load(); n > 0 {
		t.Errorf("%d of %d rule changes failed, last: %v", n, applies.Load(), applyErr.Load())
	}
	if min := int64(dur/time.Second) / 2; applies.Load() < min {
		t.Errorf("%d rule changes applied in %v, want about one a second", applies.Load(), dur)
	}
	for _, err := range tr.errors() {
		t.Error(err)
	}
	if tr.shortOK.Load() == 0 || tr.shortFail.Load() > 0 {
		t.Errorf("short connections: %d ok, %d failed; the rules always admit them", tr.shortOK.Load(), tr.shortFail.Load())
	}
	if tr.churnOK.Load() == 0 || tr.churnFail.Load() == 0 {
		t.Errorf("port 9000: %d connections while open, %d refused while closed; the rule changes should give both", tr.churnOK.Load(), tr.churnFail.Load())
	}
	for _, m := range soakMetrics {
		if a, z := m.get(first), m.get(last); z > a*1.1+m.slack {
			t.Errorf("daemon %s grew from %.0f at %v to %.0f at %v (more than 10%% + %.0f)", m.name, a, early, z, dur, m.slack)
		}
	}

	// Down flushes the flow logs' last windows; the files stay (no --purge).
	downStart := time.Now()
	if out, code := vpcemu(t, "down", name); code != 0 {
		t.Fatalf("vpcemu down: exit %d\n%s", code, out)
	}
	t.Logf("down took %v", time.Since(downStart).Round(time.Millisecond))
	checkNothingLeft(t, name, pid, paths, rootLinks)
	recs, err := flowlog.ReadDir(paths.FlowLogs())
	if err != nil {
		t.Fatalf("read flow logs: %v", err)
	}
	enis := map[string]string{}
	for _, in := range []string{"i-a", "i-b", "i-c"} {
		enis[in] = soakENI(t, files[0], in)
	}
	for _, f := range tr.exact {
		f.check(t, recs, enis)
	}
}

// soakMetric is one daemon figure that must not grow; slack is an absolute
// allowance for what is in flight at a reading.
type soakMetric struct {
	name  string
	get   func(soakSample) float64
	slack float64
}

var soakMetrics = []soakMetric{
	{"resident memory (KiB)", func(s soakSample) float64 { return s.rssKiB }, 0},
	{"open descriptors", func(s soakSample) float64 { return s.fds }, 4},
	{"goroutines", func(s soakSample) float64 { return s.goroutines }, 4},
	{"BPF hash/LPM map entries", func(s soakSample) float64 { return s.mapEntries }, 32},
	{"tracked connections", func(s soakSample) float64 { return s.tracked }, 4},
}

type soakSample struct {
	rssKiB, fds, goroutines, mapEntries, tracked float64
}

// readSoakSample reads the daemon's usage: memory and descriptors from
// /proc, goroutines from its status, tracked connections from its
// conntrack listing and the entries of every hash-like BPF map it holds.
func readSoakSample(paths lab.Paths, pid int) (soakSample, error) {
	var s soakSample
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("daemon: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			s.rssKiB, _ = strconv.ParseFloat(f[1], 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = float64(len(fds))
	resp, err := lab.Call(paths, lab.Request{Op: "status"})
	if err != nil {
		return s, fmt.Errorf("status: %w", err)
	}
	if resp.Status == nil || resp.Status.Daemon == nil {
		return s, errors.New("status has no daemon usage")
	}
	s.goroutines = float64(resp.Status.Daemon.Goroutines)
	if resp, err = lab.Call(paths, lab.Request{Op: "conntrack"}); err != nil {
		return s, fmt.Errorf("conntrack: %w", err)
	}
	s.tracked = float64(len(resp.Conntrack))
	n, err := bpfMapEntries(pid)
	s.mapEntries = float64(n)
	return s, err
}

// bpfMapEntries counts the entries of the hash, LRU and LPM maps process
// pid holds (arrays have a fixed number of entries: they cannot grow).
func bpfMapEntries(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	seen := map[ebpf.MapID]bool{}
	total := 0
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		_, rest, ok := bytes.Cut(b, []byte("map_id:\t"))
		if !ok {
			continue
		}
		idText, _, _ := bytes.Cut(rest, []byte("\n"))
		id, err := strconv.ParseUint(string(idText), 10, 32)
		if err != nil || seen[ebpf.MapID(id)] {
			continue
		}
		seen[ebpf.MapID(id)] = true
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue // freed meanwhile
		}
		switch m.Type() {
		case ebpf.Hash, ebpf.LRUHash, ebpf.PerCPUHash, ebpf.LRUCPUHash, ebpf.LPMTrie:
			key, next := make([]byte, m.KeySize()), make([]byte, m.KeySize())
			var prev any // nil: the first key
			for n := uint32(0); n <= m.MaxEntries(); n++ {
				if err := m.NextKey(prev, &next); err != nil {
					break
				}
				total++
				copy(key, next)
				prev = key
			}
		}
		m.Close()
	}
	return total, nil
}

func medianSample(rs []soakSample) soakSample {
	med := func(get func(soakSample) float64) float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, get(r))
		}
		if len(v) == 0 {
			return 0
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return soakSample{
		rssKiB:     med(func(s soakSample) float64 { return s.rssKiB }),
		fds:        med(func(s soakSample) float64 { return s.fds }),
		goroutines: med(func(s soakSample) float64 { return s.goroutines }),
		mapEntries: med(func(s soakSample) float64 { return s.mapEntries }),
		tracked:    med(func(s soakSample) float64 { return s.tracked }),
	}
}

// soakPeer is a client in namespace ns of dst.
type soakPeer struct {
	what  string
	ns    string
	dst   netip.AddrPort
	every time.Duration // short connections: one per interval
}

// soakTraffic runs the soak's clients until its context ends.
type soakTraffic struct {
	wg                 sync.WaitGroup
	mu                 sync.Mutex
	errs               []error
	streams            []*atomic.Int64
	shortOK, shortFail atomic.Int64
	churnOK, churnFail atomic.Int64
	exact              []*exactFlow
	streamNames        []string
}

func (tr *soakTraffic) fail(err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.errs) < 10 {
		tr.errs = append(tr.errs, err)
	}
}

func (tr *soakTraffic) errors() []error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.errs)
}

func (tr *soakTraffic) streamBytes() string {
	var parts []string
	for i, n := range tr.streams {
		parts = append(parts, fmt.Sprintf("%s %d KiB echoed", tr.streamNames[i], n.Load()>>10))
	}
	return strings.Join(parts, ", ")
}

func (tr *soakTraffic) start(ctx context.Context, t *testing.T, streams, shorts []soakPeer, churn soakPeer) {
	t.Helper()
	for _, p := range streams {
		c, err := dialIn(p.ns, p.dst, 3*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", p.what, err)
		}
		n := new(atomic.Int64)
		tr.streams, tr.streamNames = append(tr.streams, n), append(tr.streamNames, p.what)
		tr.wg.Go(func() {
			defer c.Close()
			if err := stream(ctx, c, n); err != nil {
				tr.fail(fmt.Errorf("%s: %w", p.what, err))
			}
		})
	}
	for _, p := range shorts {
		tr.wg.Go(func() {
			every(ctx, p.every, func() {
				if err := shortConn(p.ns, p.dst, 3*time.Second); err != nil {
					tr.shortFail.Add(1)
					tr.fail(fmt.Errorf("%s: %w", p.what, err))
					return
				}
				tr.shortOK.Add(1)
			})
		})
	}
	tr.wg.Go(func() {
		every(ctx, churn.every, func() {
			if shortConn(churn.ns, churn.dst, 300*time.Millisecond) == nil {
				tr.churnOK.Add(1)
			} else {
				tr.churnFail.Add(1)
			}
		})
	})
	for _, f := range tr.exact {
		if err := f.open(); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		tr.wg.Go(func() {
			defer f.close()
			every(ctx, 50*time.Millisecond, func() {
				if err := f.exchange(); err != nil {
					tr.fail(fmt.Errorf("%s: %w", f.name, err))
				}
			})
		})
	}
}

// every calls fn at each interval until ctx ends (fn's own time included).
func every(ctx context.Context, d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fn()
		}
	}
}

// dialIn connects from inside namespace ns; the socket stays there.
func dialIn(ns string, dst netip.AddrPort, timeout time.Duration) (c net.Conn, err error) {
	err = netns.Do(ns, func() error {
		c, err = net.DialTimeout("tcp", dst.String(), timeout)
		return err
	})
	return c, err
}

// stream writes 8 KiB and reads its echo every 20 ms until ctx ends.
func stream(ctx context.Context, c net.Conn, echoed *atomic.Int64) error {
	msg, buf := bytes.Repeat([]byte("soak"), 2048), make([]byte, 8192)
	for ctx.Err() == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if !bytes.Equal(buf, msg) {
			return errors.New("echo differs from what was sent")
		}
		echoed.Add(int64(len(buf)))
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// shortConn connects, has one line echoed and closes.
func shortConn(ns string, dst netip.AddrPort, timeout time.Duration) error {
	c, err := dialIn(ns, dst, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("soak\n")); err != nil {
		return err
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

// exactFlow is one flow whose packets the sender counts: UDP datagrams
// echoed by the server, or ICMP echo requests and their replies, always
// from the same source (one 5-tuple), on rules no change touches.
type exactFlow struct {
	name           string
	ns             string
	icmp           bool
	src, dst       netip.AddrPort
	srcENI, dstENI string         // instances whose ENI logs the flow ("" = an internet host)
	dstLogged      netip.AddrPort // the destination as the receiving ENI logs it (private, not public)

	udp          *net.UDPConn
	fd           int
	seq          uint16
	sent, echoed int64
}

// icmpID is the soak's echo identifier.
const icmpID = 0x50a4

func (f *exactFlow) open() error {
	if f.icmp {
		return netns.Do(f.ns, func() (err error) {
			f.fd, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
			return err
		})
	}
	return netns.Do(f.ns, func() (err error) {
		f.udp, err = net.DialUDP("udp", net.UDPAddrFromAddrPort(f.src), net.UDPAddrFromAddrPort(f.dst))
		return err
	})
}

func (f *exactFlow) close() {
	if f.udp != nil {
		f.udp.Close()
	}
	if f.icmp {
		unix.Close(f.fd)
	}
}

// exchange sends one packet and waits for its echo or reply.
func (f *exactFlow) exchange() error {
	f.seq++
	if f.icmp {
		return f.ping()
	}
	msg := []byte(fmt.Sprintf("soak %d", f.seq))
	if _, err := f.udp.Write(msg); err != nil {
		return err
	}
	f.sent++
	buf := make([]byte, 64)
	f.udp.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := f.udp.Read(buf)
		if err != nil {
			return fmt.Errorf("echo of datagram %d: %w", f.seq, err)
		}
		if bytes.Equal(buf[:n], msg) {
			f.echoed++
			return nil
		}
	}
}

func (f *exactFlow) ping() error {
	pkt := make([]byte, 16)
	pkt[0] = 8
	binary.BigEndian.PutUint16(pkt[4:], icmpID)
	binary.BigEndian.PutUint16(pkt[6:], f.seq)
	copy(pkt[8:], "soak....")
	var sum uint32
	for i := 0; i < len(pkt); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(pkt[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(pkt[2:], ^uint16(sum))
	if err := unix.Sendto(f.fd, pkt, 0, &unix.SockaddrInet4{Addr: f.dst.Addr().As4()}); err != nil {
		return err
	}
	f.sent++
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	unix.SetsockoptTimeval(f.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		n, _, err := unix.Recvfrom(f.fd, buf, 0)
		if err != nil {
			continue // timeout or interrupted: look again until the deadline
		}
		if n < 28 {
			continue
		}
		m := buf[int(buf[0]&0xf)*4 : n]
		if m[0] == 0 && binary.BigEndian.Uint16(m[4:]) == icmpID && binary.BigEndian.Uint16(m[6:]) == f.seq {
			f.echoed++
			return nil
		}
	}
	return fmt.Errorf("no reply to echo request %d", f.seq)
}

// check compares the flow-log records of f with what its sender counted:
// its requests at both ENIs, the echoes or replies the other way.
func (f *exactFlow) check(t *testing.T, recs []map[string]string, enis map[string]string) {
	t.Helper()
	if f.sent == 0 || f.sent != f.echoed {
		t.Errorf("%s: %d sent, %d echoed: want every one echoed", f.name, f.sent, f.echoed)
	}
	proto := "17"
	if f.icmp {
		proto = "1"
	}
	port := func(p uint16) string { return strconv.Itoa(int(p)) }
	count := func(eni, dir string, src, dst netip.AddrPort) (accept, other int64) {
		for _, r := range recs {
			if r["interface_id"] != eni || r["flow_direction"] != dir || r["protocol"] != proto ||
				r["srcaddr"] != src.Addr().String() || r["dstaddr"] != dst.Addr().String() ||
				r["srcport"] != port(src.Port()) || r["dstport"] != port(dst.Port()) {
				continue
			}
			n, err := strconv.ParseInt(r["packets"], 10, 64)
			if err != nil {
				t.Fatalf("%s: record %v: %v", f.name, r, err)
			}
			if r["action"] == "ACCEPT" {
				accept += n
			} else {
				other += n
			}
		}
		return accept, other
	}
	type view struct {
		eni, dir string
		src, dst netip.AddrPort
		want     int64
	}
	var views []view
	if f.srcENI != "" {
		views = append(views, view{enis[f.srcENI], "egress", f.src, f.dstLogged, f.sent}, view{enis[f.srcENI], "ingress", f.dstLogged, f.src, f.echoed})
	}
	views = append(views, view{enis[f.dstENI], "ingress", f.src, f.dstLogged, f.sent}, view{enis[f.dstENI], "egress", f.dstLogged, f.src, f.echoed})
	t.Logf("%s: %d sent, %d echoed; flow logs checked on %d ENI views", f.name, f.sent, f.echoed, len(views))
	for _, v := range views {
		got, rejected := count(v.eni, v.dir, v.src, v.dst)
		if got != v.want || rejected != 0 {
			t.Errorf("%s: %s %s %v -> %v: flow logs count %d ACCEPT and %d other packets, the sender counted %d",
				f.name, v.eni, v.dir, v.src, v.dst, got, rejected, v.want)
		}
	}
}

// soakENI is the ENI id the topology gives instance id.
func soakENI(t *testing.T, file, id string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := vpc.Parse(file, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range topo.Instances {
		if in.ID == id {
			return in.ENI.ID
		}
	}
	t.Fatalf("no instance %s", id)
	return ""
}

// vpcemuNoFatal runs the binary from any goroutine: its combined output
// and exit code (-1 when it could not run).
func vpcemuNoFatal(bin string, args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		return err.Error(), -1
	}
	return string(out), 0
}

// rootInterfaces lists the host's own interfaces (a topology adds none).
func rootInterfaces(t *testing.T) []string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	sort.Strings(names)
	return names
}

// checkNothingLeft: after down no namespace, daemon, process or runtime
// state of the topology remains, and the host has the interfaces it had.
func checkNothingLeft(t *testing.T, name string, pid int, paths lab.Paths, rootLinks []string) {
	t.Helper()
	left, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(left, name) {
		t.Errorf("namespaces of %s left after down", name)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !bytes.Contains(b, []byte(") Z ")) {
		t.Errorf("daemon %d still runs after down", pid)
	}
	if _, err := os.Stat(paths.Run); err == nil {
		t.Errorf("%s left after down", paths.Run)
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline")
		if bytes.Contains(cmd, []byte(paths.Run)) || bytes.Contains(cmd, []byte("vpcemu."+name+".")) {
			t.Errorf("process %s left after down: %s", p.Name(), bytes.ReplaceAll(cmd, []byte{0}, []byte(" ")))
		}
	}
	if now := rootInterfaces(t); !slices.Equal(now, rootLinks) {
		t.Errorf("host interfaces %v after down, %v before up", now, rootLinks)
	}
}
