package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startCapture runs `vpcemu capture` and returns once it is capturing.
func startCapture(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder, <-chan string) {
	t.Helper()
	cmd := exec.Command(vpcemuBin, args...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	select {
	case l := <-lines:
		if !strings.Contains(l, "capturing at") {
			t.Fatalf("capture did not start: %s", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("capture did not start in 30s")
	}
	return cmd, &stdout, lines
}

// waitExit waits for the capture to end and returns the rest of its stderr.
func waitExit(t *testing.T, cmd *exec.Cmd, lines <-chan string) string {
	t.Helper()
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, strings.Join(rest, "\n"))
	}
	return strings.Join(rest, "\n")
}

// A known sequence at i-web: an allowed curl from the laptop, an ssh SYN
// from the stranger (sg-web admits 22 from the laptop only) and an RDP SYN
// from the stranger that acl-public's rule 20 denies. The pcapng holds
// exactly those packets, the two drops with their verdicts; --drops shows
// the two drops alone.
func TestCaptureKnownSequence(t *testing.T) {
	name, _ := upLab(t, func(y string) string {
		return strings.Replace(y, "      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:",
			"      - {rule: 20, protocol: tcp, ports: 3389, cidr: 192.0.2.66/32, action: deny}\n      - {rule: 100, protocol: all, cidr: 0.0.0.0/0, action: allow}\n    egress:", 1)
	})
	file := filepath.Join(t.TempDir(), "seq.pcapng")
	traffic := func() {
		t.Helper()
		if out, code := vpcemu(t, "-t", name, "exec", "laptop", "--", "curl", "-s", "--max-time", "5", "http://203.0.113.10/"); code != 0 || out != "i-web\n" {
			t.Fatalf("curl from the laptop: exit %d, %q", code, out)
		}
		// One SYN each: the connection attempt ends before the kernel's
		// first retransmission (1 s).
		for _, port := range []string{"22", "3389"} {
			if _, code := vpcemu(t, "-t", name, "exec", "stranger", "--", "curl", "-s", "--connect-timeout", "0.5", "telnet://203.0.113.10:"+port); code == 0 {
				t.Fatalf("the stranger reached port %s", port)
			}
		}
	}

	cmd, _, lines := startCapture(t, "-t", name, "capture", "i-web", "-w", file, "--filter", "tcp")
	traffic()
	time.Sleep(300 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	summary := waitExit(t, cmd, lines)
	if !strings.Contains(summary, "(2 dropped by the datapath), 0 lost") {
		t.Errorf("summary: %s", summary)
	}

	out, err := exec.Command("tshark", "-n", "-r", file, "-T", "fields", "-E", "separator=|",
		"-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "frame.comment").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	var http, dropped []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "|")
		switch {
		case f[6] != "":
			dropped = append(dropped, f[0]+" > "+f[3]+" syn="+f[4]+" ack="+f[5]+": "+f[6])
		case (f[0] == "198.51.100.10" && f[3] == "80") || (f[2] == "198.51.100.10" && f[1] == "80"):
			http = append(http, l)
		default:
			t.Errorf("a packet outside the sequence: %s", l)
		}
	}
	want := []string{
		"192.0.2.66 > 22 syn=1 ack=0: dropped: sg-web, ENI_SG_RULES_MISMATCH",
		"192.0.2.66 > 3389 syn=1 ack=0: dropped: acl-public inbound rule 20",
	}
	if strings.Join(dropped, "\n") != strings.Join(want, "\n") {
		t.Errorf("dropped packets:\n%s\nwant:\n%s", strings.Join(dropped, "\n"), strings.Join(want, "\n"))
	}
	// The curl: one connection, handshake to close, nothing dropped.
	ports := map[string]bool{}
	syn, synack := 0, 0
	for _, l := range http {
		f := strings.Split(l, "|")
		if f[0] == "198.51.100.10" {
			ports[f[1]] = true
		}
		if f[4] == "1" && f[5] == "0" {
			syn++
		}
		if f[4] == "1" && f[5] == "1" {
			synack++
		}
	}
	if len(ports) != 1 || syn != 1 || synack != 1 || len(http) < 6 {
		t.Errorf("the curl's packets: %d from %d client ports, %d SYN, %d SYN-ACK:\n%s", len(http), len(ports), syn, synack, strings.Join(http, "\n"))
	}

	// --drops: the two drops alone, as lines with their verdicts; -c 2 ends it.
	cmd, stdout, lines := startCapture(t, "-t", name, "capture", "i-web", "--drops", "-c", "2")
	traffic()
	done := make(chan struct{})
	go func() { waitExit(t, cmd, lines); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("capture -c 2 did not stop after two drops")
	}
	got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(got) != 2 || !strings.HasSuffix(got[0], "> 10.0.1.10.22: Flags [S], seq "+fieldAfter(got[0], "seq ")+", win "+fieldAfter(got[0], "win ")+", length 0  dropped: sg-web, ENI_SG_RULES_MISMATCH") ||
		!strings.HasSuffix(got[1], "dropped: acl-public inbound rule 20") || !strings.Contains(got[1], "192.0.2.66.") {
		t.Errorf("--drops printed:\n%s", stdout.String())
	}
}

// fieldAfter is the text after key up to the next comma.
func fieldAfter(s, key string) string {
	_, rest, _ := strings.Cut(s, key)
	v, _, _ := strings.Cut(rest, ",")
	return v
}

// Unknown targets are refused before anything is attached, naming what is valid.
func TestCaptureUnknownTarget(t *testing.T) {
	name, _ := upLab(t, nil)
	out, code := vpcemu(t, "-t", name, "capture", "i-nope", "-c", "1")
	if code == 0 || !strings.Contains(out, `no capture target "i-nope"`) || !strings.Contains(out, "i-web") || !strings.Contains(out, "igw") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	out, code = vpcemu(t, "-t", name, "capture", "i-web", "--filter", "tcp port nonsense")
	if code == 0 || !strings.Contains(out, "--filter") {
		t.Errorf("bad filter: exit %d:\n%s", code, out)
	}
}
