package services

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/vpc"
)

// Spec says which services one namespace (an instance or internet host) runs.
type Spec struct {
	NS       string        // network namespace name
	Host     string        // instance id or internet host name: the http answer and the sshd hostname
	Services []vpc.Service // Port 0 means the kind's well-known port (80, 443, 22)
}

// Running is the set of servers Start started; Stop ends them all.
type Running struct {
	stateDir string

	mu        sync.Mutex
	listeners []io.Closer // net.Listener, net.PacketConn, *http.Server
	nsOf      []string    // each listener's namespace
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup // serving goroutines
	sshds     []*sshd

	stopOnce sync.Once
	stopErr  error
}

// Start opens every listener inside its namespace, serves them from
// goroutines of this process and starts one sshd per namespace that has ssh.
// It returns when everything accepts connections. ctx bounds only the start
// (key generation, waiting for sshd); the servers run until Stop. On error
// Start stops whatever it started.
func Start(ctx context.Context, stateDir string, specs []Spec) (_ *Running, err error) {
	r := &Running{stateDir: stateDir, conns: map[net.Conn]struct{}{}}
	defer func() {
		if err != nil {
			_ = r.Stop()
		}
	}()
	if err := r.start(ctx, specs); err != nil {
		return nil, err
	}
	return r, nil
}

// Add starts the services of more namespaces (an instance added to a
// running topology); on error it stops what it started of them.
func (r *Running) Add(ctx context.Context, specs []Spec) error {
	if err := r.start(ctx, specs); err != nil {
		for _, s := range specs {
			_ = r.StopNS(s.NS)
		}
		return err
	}
	return nil
}

// StopNS ends the services of namespace ns (an instance removed from a
// running topology): its listeners and its sshd.
func (r *Running) StopNS(ns string) error {
	r.mu.Lock()
	var ls []io.Closer
	keep, keepNS := r.listeners[:0:0], r.nsOf[:0:0]
	for i, l := range r.listeners {
		if r.nsOf[i] == ns {
			ls = append(ls, l)
		} else {
			keep, keepNS = append(keep, l), append(keepNS, r.nsOf[i])
		}
	}
	r.listeners, r.nsOf = keep, keepNS
	var sshds []*sshd
	keepD := r.sshds[:0:0]
	for _, d := range r.sshds {
		if d.ns == ns {
			sshds = append(sshds, d)
		} else {
			keepD = append(keepD, d)
		}
	}
	r.sshds = keepD
	r.mu.Unlock()
	var errs []error
	for _, l := range ls {
		if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, d := range sshds {
		errs = append(errs, d.stop())
	}
	return errors.Join(errs...)
}

// start starts the services of specs.
func (r *Running) start(ctx context.Context, specs []Spec) (err error) {
	stateDir := r.stateDir
	var started []*sshd
	var needTLS, needSSH bool
	for _, s := range specs {
		for _, svc := range s.Services {
			switch svc.Kind {
			case "https":
				needTLS = true
			case "ssh":
				needSSH = true
			case "http", "tcp", "udp":
			default:
				return fmt.Errorf("%s: unknown service kind %q", s.NS, svc.Kind)
			}
		}
	}
	var cert tls.Certificate
	if needTLS {
		if cert, err = loadOrCreateCert(stateDir, specs); err != nil {
			return err
		}
	}
	if needSSH {
		if err := prepareSSH(stateDir); err != nil {
			return err
		}
	}

	for _, s := range specs {
		var sshPorts []int
		for _, svc := range s.Services {
			switch svc.Kind {
			case "http":
				err = r.serveHTTP(s, portOr(svc.Port, 80), nil)
			case "https":
				err = r.serveHTTP(s, portOr(svc.Port, 443), &cert)
			case "tcp":
				err = r.serveTCPEcho(s, svc.Port)
			case "udp":
				err = r.serveUDPEcho(s, svc.Port)
			case "ssh":
				sshPorts = append(sshPorts, portOr(svc.Port, 22))
			}
			if err != nil {
				return err
			}
		}
		if len(sshPorts) > 0 {
			d, err := startSSHD(stateDir, s.NS, s.Host, sshPorts)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.sshds = append(r.sshds, d)
			r.mu.Unlock()
			started = append(started, d)
		}
	}
	// Started all sshds first and only now wait, so that they start in parallel.
	for _, d := range started {
		if err := d.waitReady(ctx); err != nil {
			return err
		}
	}
	return nil
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// listen opens a listener inside ns; the socket stays in ns afterwards.
func listen(ns, network string, port int) (l io.Closer, err error) {
	addr := ":" + strconv.Itoa(port)
	err = netns.Do(ns, func() error {
		if network == "udp" {
			l, err = net.ListenPacket("udp", addr)
		} else {
			l, err = net.Listen("tcp", addr)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen %s/%s in %s: %w", network, addr, ns, err)
	}
	return l, nil
}

// track registers c for Stop, or closes it and reports false when Stop has begun.
func (r *Running) track(ns string, c io.Closer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = c.Close()
		return false
	}
	r.listeners = append(r.listeners, c)
	r.nsOf = append(r.nsOf, ns)
	return true
}

func (r *Running) serveHTTP(s Spec, port int, cert *tls.Certificate) error {
	l, err := listen(s.NS, "tcp", port)
	if err != nil {
		return err
	}
	ln := l.(net.Listener)
	body := []byte(s.Host + "\n")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write(body)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// Probes and half-open handshakes are normal here; they are not errors.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	if !r.track(s.NS, srv) {
		_ = ln.Close()
		return errors.New("services stopped")
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		_ = srv.Serve(ln) // closes ln when srv.Close is called
	}()
	return nil
}

func (r *Running) serveTCPEcho(s Spec, port int) error {
	if port <= 0 {
		return fmt.Errorf("%s: tcp echo needs a port", s.NS)
	}
	l, err := listen(s.NS, "tcp", port)
	if err != nil {
		return err
	}
	ln := l.(net.Listener)
	if !r.track(s.NS, ln) {
		return errors.New("services stopped")
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					continue
				}
				return
			}
			if !r.trackConn(c) {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				defer r.untrackConn(c)
				echoTCP(c, s.Host)
			}()
		}
	}()
	return nil
}

func (r *Running) trackConn(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = c.Close()
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *Running) untrackConn(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	_ = c.Close()
}

func (r *Running) serveUDPEcho(s Spec, port int) error {
	if port <= 0 {
		return fmt.Errorf("%s: udp echo needs a port", s.NS)
	}
	l, err := listen(s.NS, "udp", port)
	if err != nil {
		return err
	}
	pc := l.(net.PacketConn)
	if !r.track(s.NS, pc) {
		return errors.New("services stopped")
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // e.g. ICMP errors reported for an earlier reply
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return nil
}

// Stop closes every listener and connection, kills every sshd and waits for
// them. It is idempotent.
func (r *Running) Stop() error {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		ls := r.listeners
		r.listeners, r.nsOf = nil, nil
		for c := range r.conns {
			_ = c.Close()
		}
		sshds := r.sshds
		r.mu.Unlock()

		var errs []error
		for _, l := range ls {
			if err := l.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
				errs = append(errs, fmt.Errorf("close listener: %w", err))
			}
		}
		// In parallel: each stop waits for processes to exit, and `down` of a
		// large topology should not pay that wait once per instance.
		sshErrs := make([]error, len(sshds))
		var swg sync.WaitGroup
		for i, d := range sshds {
			swg.Go(func() { sshErrs[i] = d.stop() })
		}
		swg.Wait()
		errs = append(errs, sshErrs...)
		r.wg.Wait()
		r.stopErr = errors.Join(errs...)
	})
	return r.stopErr
}

// writeFileAtomic writes data to path through a temporary file, so that a
// crash never leaves a half-written key or certificate to be reused.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
