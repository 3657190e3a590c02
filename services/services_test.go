package services

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// pair is a client namespace and a server namespace joined by a veth pair
// named eth0 on both sides: client 10.77.0.1/24, server 10.77.0.2/24.
// lo stays down in both, as nothing here may rely on it.
type pair struct {
	client, server string
	serverIP       string
}

func newPair(t *testing.T) pair {
	t.Helper()
	tag := randHex(t, 3)
	p := pair{client: "vsvc" + tag + "c", server: "vsvc" + tag + "s", serverIP: "10.77.0.2"}
	for _, ns := range []string{p.client, p.server} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
	}
	run(t, "ip", "-n", p.client, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", p.server)
	run(t, "ip", "-n", p.client, "addr", "add", "10.77.0.1/24", "dev", "eth0")
	run(t, "ip", "-n", p.server, "addr", "add", p.serverIP+"/24", "dev", "eth0")
	run(t, "ip", "-n", p.client, "link", "set", "eth0", "up")
	run(t, "ip", "-n", p.server, "link", "set", "eth0", "up")
	return p
}

// dialIn connects from inside ns.
func dialIn(ns, network, addr string) (c net.Conn, err error) {
	err = netns.Do(ns, func() error {
		c, err = net.DialTimeout(network, addr, 3*time.Second)
		return err
	})
	return c, err
}

// matching lists processes whose command line contains pattern.
func matching(t *testing.T, pattern string) string {
	t.Helper()
	out, err := exec.Command("pgrep", "-a", "-f", "--", pattern).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return ""
	}
	if err != nil {
		t.Fatalf("pgrep: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// noLeftovers fails t if any process mentions stateDir, checked in cleanup too.
func noLeftovers(t *testing.T, stateDir string) {
	t.Helper()
	if left := matching(t, stateDir); left != "" {
		t.Errorf("processes left behind:\n%s", left)
		_ = KillLeftovers(stateDir)
	}
}

func startT(t *testing.T, stateDir string, specs []Spec) *Running {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := Start(ctx, stateDir, specs)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
		noLeftovers(t, stateDir)
	})
	return r
}

func sshOut(t *testing.T, stateDir, from, to string, remote ...string) string {
	t.Helper()
	cmd := SSHCommand(stateDir, from, to, remote)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ssh %v: %v: %s", remote, err, stderr.String())
	}
	return string(out)
}

// TestServices starts every kind of service in one namespace and uses each
// from another namespace over a veth pair, then stops them.
func TestServices(t *testing.T) {
	testenv.RequireRoot(t)
	p := newPair(t)
	stateDir := t.TempDir()
	host := "i-" + randHex(t, 4)
	r := startT(t, stateDir, []Spec{{NS: p.server, Host: host, Services: []vpc.Service{
		{Kind: "http", Port: 80}, {Kind: "https"}, {Kind: "tcp", Port: 5432},
		{Kind: "udp", Port: 5353}, {Kind: "ssh", Port: 22},
	}}})
	ip := p.serverIP

	t.Run("http answers with the host on any path", func(t *testing.T) {
		for _, path := range []string{"/", "/some/where?x=1"} {
			out, err := testenv.Exec(t, p.client, "curl", "-sS", "--max-time", "5", "http://"+ip+path)
			if err != nil || out != host+"\n" {
				t.Errorf("GET %s = %q, %v; want %q", path, out, err, host+"\n")
			}
		}
	})
	t.Run("https answers with the host", func(t *testing.T) {
		out, err := testenv.Exec(t, p.client, "curl", "-sSk", "--max-time", "5", "https://"+ip+"/")
		if err != nil || out != host+"\n" {
			t.Errorf("GET https = %q, %v; want %q", out, err, host+"\n")
		}
	})
	t.Run("tcp echo returns what it receives", func(t *testing.T) {
		c, err := dialIn(p.client, "tcp", ip+":5432")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		msg := []byte("hello " + randHex(t, 8) + "\n")
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("echo = %q, %v; want %q", got, err, msg)
		}
	})
	t.Run("tcp echo answers curl", func(t *testing.T) {
		out, err := testenv.Exec(t, p.client, "curl", "-sS", "--max-time", "5", "http://"+ip+":5432")
		if err != nil || out != host+" tcp echo\n" {
			t.Errorf("curl tcp echo = %q, %v", out, err)
		}
	})
	t.Run("udp echo returns each datagram", func(t *testing.T) {
		c, err := dialIn(p.client, "udp", ip+":5353")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 3 {
			msg := []byte(fmt.Sprintf("datagram %d %s", i, randHex(t, 8)))
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1500)
			n, err := c.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], msg) {
				t.Fatalf("udp echo = %q, %v; want %q", buf[:n], err, msg)
			}
		}
	})
	t.Run("ssh runs commands in the server namespace", func(t *testing.T) {
		out := sshOut(t, stateDir, p.client, ip, "ip", "-o", "-4", "addr", "show", "eth0")
		if !strings.Contains(out, " "+ip+"/24 ") {
			t.Errorf("remote eth0 = %q, want %s", out, ip)
		}
		if out := sshOut(t, stateDir, p.client, ip, "hostname"); out != host+"\n" {
			t.Errorf("remote hostname = %q, want %q", out, host)
		}
		if out := sshOut(t, stateDir, p.client, ip, "id", "-u"); out != "0\n" {
			t.Errorf("remote uid = %q, want 0", out)
		}
	})

	// A session still open at Stop must not outlive it.
	marker := fmt.Sprintf("sleep 77.%d", mustRandInt(t))
	sess := SSHCommand(stateDir, p.client, ip, strings.Fields(marker))
	if err := sess.Start(); err != nil {
		t.Fatal(err)
	}
	// Anchored: the ssh client's own command line holds the marker too, and
	// only the remote sleep starts with it.
	waitFor(t, func() bool { return matching(t, "^"+marker) != "" })

	if err := r.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := r.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	_ = sess.Wait() // the connection is gone, so the client exits
	if left := matching(t, marker); left != "" {
		t.Errorf("remote session survived Stop:\n%s", left)
	}
	noLeftovers(t, stateDir)
	for _, port := range []string{"80", "443", "5432", "22"} {
		if c, err := dialIn(p.client, "tcp", ip+":"+port); err == nil {
			c.Close()
			t.Errorf("port %s still accepts after Stop", port)
		}
	}
	if _, err := os.Stat(pidFileFor(stateDir, p.server)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after Stop: %v", err)
	}
}

func mustRandInt(t *testing.T) int64 {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1e9))
	if err != nil {
		t.Fatal(err)
	}
	return n.Int64()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestartReusesKeys checks that a second Start on the same state dir
// keeps the topology's keys and certificate.
func TestRestartReusesKeys(t *testing.T) {
	testenv.RequireRoot(t)
	p := newPair(t)
	stateDir := t.TempDir()
	specs := []Spec{{NS: p.server, Host: "i-again", Services: []vpc.Service{{Kind: "https"}, {Kind: "ssh"}}}}
	r := startT(t, stateDir, specs)
	files := []string{HostKeyFile, ClientKeyFile, CertFile, KeyFile}
	before := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(stateDir, f))
		if err != nil {
			t.Fatal(err)
		}
		before[f] = b
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	startT(t, stateDir, specs)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(stateDir, f))
		if err != nil || !bytes.Equal(b, before[f]) {
			t.Errorf("%s changed across restart (err %v)", f, err)
		}
	}
	if out := sshOut(t, stateDir, p.client, p.serverIP, "hostname"); out != "i-again\n" {
		t.Errorf("hostname after restart = %q", out)
	}
}

// TestKillLeftovers leaves a Running unstopped, as a crashed daemon would,
// and checks KillLeftovers ends its sshd and the sessions under it.
func TestKillLeftovers(t *testing.T) {
	testenv.RequireRoot(t)
	p := newPair(t)
	stateDir := t.TempDir()
	r := startT(t, stateDir, []Spec{{NS: p.server, Host: "i-left", Services: []vpc.Service{{Kind: "ssh"}}}})
	marker := fmt.Sprintf("sleep 78.%d", mustRandInt(t))
	sess := SSHCommand(stateDir, p.client, p.serverIP, strings.Fields(marker))
	if err := sess.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return matching(t, marker) != "" })
	if matching(t, stateDir) == "" {
		t.Fatal("no sshd running before KillLeftovers")
	}

	if err := KillLeftovers(stateDir); err != nil {
		t.Fatalf("KillLeftovers: %v", err)
	}
	_ = sess.Wait()
	if left := matching(t, stateDir); left != "" {
		t.Errorf("sshd survived KillLeftovers:\n%s", left)
	}
	if left := matching(t, marker); left != "" {
		t.Errorf("session survived KillLeftovers:\n%s", left)
	}
	if c, err := dialIn(p.client, "tcp", p.serverIP+":22"); err == nil {
		c.Close()
		t.Error("port 22 still accepts after KillLeftovers")
	}
	if err := KillLeftovers(stateDir); err != nil {
		t.Errorf("second KillLeftovers: %v", err)
	}
	// Stop after a crash cleanup must not complain or kill a reused pid.
	if err := r.Stop(); err != nil {
		t.Errorf("Stop after KillLeftovers: %v", err)
	}
}

// TestStartFailureStopsEverything checks that a Start failing halfway leaves
// no listener and no sshd behind.
func TestStartFailureStopsEverything(t *testing.T) {
	testenv.RequireRoot(t)
	p := newPair(t)

	t.Run("missing namespace", func(t *testing.T) {
		stateDir := t.TempDir()
		_, err := Start(context.Background(), stateDir, []Spec{
			{NS: p.server, Host: "i-ok", Services: []vpc.Service{{Kind: "http"}, {Kind: "ssh"}}},
			{NS: "vsvc-missing", Host: "i-missing", Services: []vpc.Service{{Kind: "ssh"}}},
		})
		if err == nil || !strings.Contains(err.Error(), "vsvc-missing") {
			t.Fatalf("Start = %v, want an error naming vsvc-missing", err)
		}
		noLeftovers(t, stateDir)
		for _, port := range []string{"80", "22"} {
			if c, err := dialIn(p.client, "tcp", p.serverIP+":"+port); err == nil {
				c.Close()
				t.Errorf("port %s accepts after a failed Start", port)
			}
		}
	})
	t.Run("port taken", func(t *testing.T) {
		stateDir := t.TempDir()
		_, err := Start(context.Background(), stateDir, []Spec{{NS: p.server, Host: "i-dup",
			Services: []vpc.Service{{Kind: "tcp", Port: 7000}, {Kind: "udp", Port: 7000}, {Kind: "http", Port: 7000}}}})
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("Start = %v, want address already in use", err)
		}
		if c, err := dialIn(p.client, "tcp", p.serverIP+":7000"); err == nil {
			c.Close()
			t.Error("port 7000 accepts after a failed Start")
		}
	})
	t.Run("sshd not installed", func(t *testing.T) {
		old := sshdPath
		sshdPath = filepath.Join(t.TempDir(), "sshd")
		t.Cleanup(func() { sshdPath = old })
		_, err := Start(context.Background(), t.TempDir(), []Spec{{NS: p.server, Services: []vpc.Service{{Kind: "ssh"}}}})
		if !errors.Is(err, ErrNoSSHD) || !strings.Contains(err.Error(), "openssh-server") {
			t.Errorf("Start = %v, want ErrNoSSHD naming openssh-server", err)
		}
	})
}

func TestLooksLikeHTTP(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"HEAD /x HTTP/1.0\r\n", true},
		{"GET / HTTP/1.1", true},
		{"hello\n", false},
		{"GET me a coffee\n", false},
		{"get / HTTP/1.1\r\n", false},
		{"", false},
	} {
		if got := looksLikeHTTP([]byte(tc.in)); got != tc.want {
			t.Errorf("looksLikeHTTP(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestListeningPorts(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5678 1 0000000000000000 100 0 0 10 0
   2: 0200000A:0016 0100000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 9999 1 0000000000000000 20 4 30 10 -1
`
	got := listeningPorts([]byte(table))
	if len(got) != 2 || len(got[22]) != 1 || got[22][0] != "1234" || got[5432][0] != "5678" {
		t.Errorf("listeningPorts = %v", got)
	}
}
