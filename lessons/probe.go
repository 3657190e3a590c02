package lessons

import (
	"bufio"
	"bytes"
	"context"

	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/services"
	"github.com/vpcemu/vpcemu/vpc"
)

// probe is one attempt to reach a service, with AWS's expected outcome.
type probe struct {
	from, to string // instance id or internet host name
	service  string // "http", "https", "ssh", "tcp" (an echo server) or "rdp" (tcp echo on 3389)
	port     int    // 0: the service's usual port
	hold     string // "" for one request; "open", "send" or "close" for a held TCP connection
	want     bool   // works on AWS
	why      text   // AWS's reason for want
	inRange  bool   // also check the client port against its OS's ephemeral range
	explain  bool   // show the full evaluator walk (else only its verdict)
}

// How long a client waits: failures are silent drops, so these bound every
// failing probe's time.
const (
	connectTimeout = 3 // seconds
	requestTimeout = 6 // seconds
)

func (p *probe) dport() int {
	if p.port != 0 {
		return p.port
	}
	switch p.service {
	case "http":
		return 80
	case "https":
		return 443
	case "ssh":
		return 22
	case "rdp":
		return 3389
	}
	return 0
}

// label names the traffic for people, e.g. "HTTPS i-amzn -> website".
func (p *probe) label() string {
	svc := strings.ToUpper(p.service)
	switch {
	case p.service == "tcp":
		svc = fmt.Sprintf("TCP %d", p.dport())
	case p.service == "rdp":
		svc = "RDP (tcp 3389)"
	case p.port != 0:
		svc = fmt.Sprintf("%s %d", svc, p.port)
	}
	switch p.hold {
	case "open":
		svc = "open a " + svc + " connection"
	case "send":
		svc = "send on the open " + svc + " connection"
	case "close":
		svc = "close the " + svc + " connection, then a new one"
	}
	return fmt.Sprintf("%s %s -> %s", svc, p.from, p.to)
}

// endpoint is a host of the running topology that traffic starts from.
type endpoint struct {
	name string
	ns   string
	os   string
	addr netip.Addr // its own (private) address
}

// outcome is what one probe observed.
type outcome struct {
	works   bool
	port    int // client source port; 0 when unknown
	elapsed time.Duration
	detail  string // the error, or what came back
	command string // the equivalent command a user would type
	// serverSaw is the client's address and port as the server saw them,
	// when they differ from the client's own (a NAT gateway translated
	// them); only logins report it.
	serverSaw netip.AddrPort
}

// source resolves the client side of a probe.
func (e *env) source(name string) (endpoint, error) {
	t, p := e.topo, e.lab.Plan()
	for i := range t.Instances {
		if t.Instances[i].ID == name {
			return endpoint{name, p.Instances[i].NS, t.Instances[i].OS, t.Instances[i].PrivateIP}, nil
		}
	}
	for i := range t.Internet {
		if t.Internet[i].Name == name {
			return endpoint{name, p.Hosts[i].NS, t.Internet[i].OS, t.Internet[i].IP}, nil
		}
	}
	return endpoint{}, fmt.Errorf("no instance or internet host %q", name)
}

// target is the address a client uses for to: an instance's public IP from
// the internet, its private IP from an instance (of its own VPC or, over a
// peering, of another), a host's own IP.
func (e *env) target(from endpoint, to string) (netip.Addr, error) {
	t := e.topo
	if in := t.Instance(to); in != nil {
		if t.Instance(from.name) != nil {
			return in.PrivateIP, nil
		}
		if !in.PublicIP.IsValid() {
			return netip.Addr{}, fmt.Errorf("%s has no public IP for %s to reach", to, from.name)
		}
		return in.PublicIP, nil
	}
	if h := t.Host(to); h != nil {
		return h.IP, nil
	}
	return netip.Addr{}, fmt.Errorf("no instance or internet host %q", to)
}

// run sends the probe's traffic for real.
func (e *env) run(ctx context.Context, p *probe) (outcome, error) {
	src, err := e.source(p.from)
	if err != nil {
		return outcome{}, err
	}
	dst, err := e.target(src, p.to)
	if err != nil {
		return outcome{}, err
	}
	ap := netip.AddrPortFrom(dst, uint16(p.dport()))
	if p.hold != "" {
		return e.runHold(ctx, p, src, ap)
	}
	if p.service == "ssh" {
		return e.runSSH(ctx, p, src, ap)
	}
	return e.runCurl(ctx, p, src, ap)
}

// runCurl fetches a URL with curl inside the client's namespace.
func (e *env) runCurl(ctx context.Context, p *probe, src endpoint, dst netip.AddrPort) (outcome, error) {
	scheme := "http"
	if p.service == "https" {
		scheme = "https"
	}
	url := fmt.Sprintf("%s://%s/", scheme, dst.Addr())
	if (scheme == "http" && dst.Port() != 80) || (scheme == "https" && dst.Port() != 443) {
		url = fmt.Sprintf("%s://%s/", scheme, dst)
	}
	args := []string{"curl", "-sS", "-o", "/dev/null", "--connect-timeout", strconv.Itoa(connectTimeout),
		"-m", strconv.Itoa(requestTimeout), "-w", "%{local_port} %{http_code}"}
	if scheme == "https" {
		args = append(args, "-k") // the website's certificate is the topology's own
	}
	args = append(args, url)
	o := outcome{command: fmt.Sprintf("vpcemu exec %s -- %s", src.name, shellJoin(args))}
	out, stderr, seen, err := runWatched(ctx, &o, netns.Command(src.ns, src.name, args...), src.ns, dst, requestTimeout+3)
	if ctx.Err() != nil {
		return o, ctx.Err()
	}
	f := strings.Fields(out.String())
	if len(f) == 2 {
		o.port, _ = strconv.Atoi(f[0])
		o.works = err == nil && f[1] != "000"
		o.detail = "HTTP " + f[1]
	}
	if o.port == 0 {
		o.port = seen
	}
	if err != nil {
		o.works = false
		o.detail = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(stderr.String()), "curl: "))
		if o.detail == "" {
			o.detail = err.Error()
		}
	}
	return o, nil
}

// runSSH logs in with OpenSSH and asks the server which client port it saw.
func (e *env) runSSH(ctx context.Context, p *probe, src endpoint, dst netip.AddrPort) (outcome, error) {
	cmd := services.SSHCommand(e.lab.Paths().Run, src.ns, dst.Addr().String(), []string{"echo", "$SSH_CLIENT"})
	// ssh keeps the first value of an option: this one wins over SSHCommand's.
	for i, a := range cmd.Args {
		if a == "ssh" {
			cmd.Args = slices.Insert(cmd.Args, i+1, "-o", "ConnectTimeout="+strconv.Itoa(connectTimeout))
			break
		}
	}
	o := outcome{command: fmt.Sprintf("vpcemu ssh %s %s 'echo $SSH_CLIENT'", src.name, p.to)}
	out, stderr, seen, err := runWatched(ctx, &o, cmd, src.ns, dst, requestTimeout+6)
	if ctx.Err() != nil {
		return o, ctx.Err()
	}
	f := strings.Fields(out.String())
	if err == nil && len(f) == 3 {
		o.works = true
		o.port, _ = strconv.Atoi(f[1])
		o.detail = "logged in; the server saw the client at " + f[0] + " port " + f[1]
		if a, perr := netip.ParseAddr(f[0]); perr == nil && a != src.addr {
			// Translated on the way: the client's own port is the one
			// it was seen connecting from locally.
			o.serverSaw = netip.AddrPortFrom(a, uint16(o.port))
			o.port = seen
		}
	} else {
		o.detail = strings.TrimSpace(stderr.String())
		if o.detail == "" && err != nil {
			o.detail = err.Error()
		}
	}
	if o.port == 0 {
		o.port = seen
	}
	return o, nil
}

// runHold opens, uses or closes a TCP connection that stays open across
// steps, from a socket made inside the client's namespace.
func (e *env) runHold(ctx context.Context, p *probe, src endpoint, dst netip.AddrPort) (o outcome, _ error) {
	key := p.from + ">" + dst.String()
	start := time.Now()
	defer func() { o.elapsed = time.Since(start) }()
	exchange := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(connectTimeout * time.Second))
		msg := "hello " + strconv.FormatInt(time.Now().UnixNano(), 36) + "\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		got, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return fmt.Errorf("no echo within %ds: %w", connectTimeout, err)
		}
		if got != msg {
			return fmt.Errorf("echo was %q, sent %q", got, msg)
		}
		return nil
	}
	dial := func() (net.Conn, error) {
		var c net.Conn
		err := netns.Do(src.ns, func() error {
			var err error
			c, err = (&net.Dialer{Timeout: connectTimeout * time.Second}).DialContext(ctx, "tcp", dst.String())
			return err
		})
		return c, err
	}
	switch p.hold {
	case "open":
		o.command = fmt.Sprintf("vpcemu exec %s -- nc %s %d   (vpcemu holds the connection open)", src.name, dst.Addr(), dst.Port())
		c, err := dial()
		if err != nil {
			o.detail = err.Error()
			return o, nil
		}
		o.port = c.LocalAddr().(*net.TCPAddr).Port
		if err := exchange(c); err != nil {
			c.Close()
			o.detail = err.Error()
			return o, nil
		}
		e.held[key] = c
		o.works, o.detail = true, "connected; a line sent came back"
	case "send":
		o.command = "(type a line into the open nc session)"
		c := e.held[key]
		if c == nil {
			o.detail = "no open connection (it failed earlier)"
			return o, nil
		}
		o.port = c.LocalAddr().(*net.TCPAddr).Port
		if err := exchange(c); err != nil {
			o.detail = err.Error()
			return o, nil
		}
		o.works, o.detail = true, "the line came back on the open connection"
	case "close":
		o.command = fmt.Sprintf("(end nc) then: vpcemu exec %s -- nc %s %d", src.name, dst.Addr(), dst.Port())
		if c := e.held[key]; c != nil {
			c.Close()
			delete(e.held, key)
		}
		w := watchPort(src.ns, dst)
		c, err := dial()
		seen := w.stop()
		if err != nil {
			o.port, o.detail = seen, err.Error()
			return o, nil
		}
		defer c.Close()
		o.port = c.LocalAddr().(*net.TCPAddr).Port
		if err := exchange(c); err != nil {
			o.detail = err.Error()
			return o, nil
		}
		o.works, o.detail = true, "a new connection works"
	}
	return o, nil
}

// runCtx runs cmd and kills it when ctx ends (exec.CommandContext needs the
// context at construction, netns.Command and services.SSHCommand don't take one).
// runWatched runs a client command for at most timeoutSec seconds while
// watching which source port it uses towards dst (seen; 0 if none), and
// records the elapsed time in o.
func runWatched(ctx context.Context, o *outcome, cmd *exec.Cmd, ns string, dst netip.AddrPort, timeoutSec int) (out, stderr *bytes.Buffer, seen int, err error) {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(timeoutSec)*time.Second)
	defer cancel()
	w := watchPort(ns, dst)
	out, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, stderr
	start := time.Now()
	err = runCtx(cctx, cmd)
	o.elapsed = time.Since(start)
	return out, stderr, w.stop(), err
}

func runCtx(ctx context.Context, cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return ctx.Err()
	}
}

// portWatcher finds the source port of a client's connection to dst while
// it is being attempted: curl reports no local port for a connection that
// never completed, but the kernel's socket table shows it in SYN-SENT. A
// connection that completed before the watcher saw its SYN-SENT is found
// as the established socket to dst that was not there when it started.
type portWatcher struct {
	quit chan struct{}
	done chan struct{}
	mu   sync.Mutex
	port int
}

func watchPort(ns string, dst netip.AddrPort) *portWatcher {
	w := &portWatcher{quit: make(chan struct{}), done: make(chan struct{})}
	before := make(chan struct{})
	go func() {
		defer close(w.done)
		_ = netns.Do(ns, func() error {
			// thread-self: /proc/net is the namespace of the process's main thread.
			const table = "/proc/thread-self/net/tcp"
			old := map[int]bool{}
			if b, err := os.ReadFile(table); err == nil {
				old = socketsTo(b, dst)
			}
			close(before)
			for {
				if b, err := os.ReadFile(table); err == nil {
					if p := pickPort(b, dst, old); p != 0 {
						w.mu.Lock()
						w.port = p
						w.mu.Unlock()
						return nil
					}
				}
				select {
				case <-w.quit:
					return nil
				case <-time.After(5 * time.Millisecond):
				}
			}
		})
	}()
	select { // the client starts once the sockets already there are known
	case <-before:
	case <-w.done:
	}
	return w
}

func (w *portWatcher) stop() int {
	close(w.quit)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.port
}

// TCP states in /proc/net/tcp.
const (
	tcpEstablished = "01"
	tcpSynSent     = "02"
)

// tcpLines calls fn with the local port and state of every socket in b
// (/proc/net/tcp format) whose remote end is dst.
func tcpLines(b []byte, dst netip.AddrPort, fn func(port int, state string)) {
	if !dst.Addr().Is4() {
		return
	}
	a := dst.Addr().As4()
	// The kernel prints the address as the host-order (little-endian) u32 of its bytes.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], dst.Port())
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[2] != want {
			continue
		}
		_, port, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(port, 16, 16); err == nil && n != 0 {
			fn(int(n), f[3])
		}
	}
}

// socketsTo returns the local ports of the sockets to dst in b.
func socketsTo(b []byte, dst netip.AddrPort) map[int]bool {
	m := map[int]bool{}
	tcpLines(b, dst, func(port int, _ string) { m[port] = true })
	return m
}

// pickPort returns the local port of the connection being made to dst: a
// socket in SYN-SENT, else an established one not in old; 0 if none.
func pickPort(b []byte, dst netip.AddrPort, old map[int]bool) int {
	syn, est := 0, 0
	tcpLines(b, dst, func(port int, state string) {
		switch {
		case state == tcpSynSent && syn == 0:
			syn = port
		case state == tcpEstablished && !old[port] && est == 0:
			est = port
		}
	})
	if syn != 0 {
		return syn
	}
	return est
}

// parsePort returns the local port of a socket to dst in SYN-SENT in b:
// the attempt in progress, not an older socket to dst.
func parsePort(b []byte, dst netip.AddrPort) int { return pickPort(b, dst, socketsTo(b, dst)) }

// shellJoin quotes args for a POSIX shell where needed.
func shellJoin(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '.' || r == '/' || r == ':' || r == '_' || r == '=' ||
				(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
		}) < 0 {
			b.WriteString(a)
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
	}
	return b.String()
}

// inRange reports whether port is in the ephemeral range of OS profile os.
func inRange(os string, port int) (bool, int, int) {
	lo, hi := vpc.EphemeralPorts(os)
	return port >= lo && port <= hi, lo, hi
}
