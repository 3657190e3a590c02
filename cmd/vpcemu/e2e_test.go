package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// The end-to-end tests drive the real binary as a user would: `up -d`,
// `exec`, `ssh`, `status`, `down`, on the lab topology renamed so that tests
// never touch a user's lab.

var vpcemuBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vpcemu-bin")
	if err != nil {
		panic(err)
	}
	vpcemuBin = filepath.Join(dir, "vpcemu")
	out, err := exec.Command("go", "build", "-o", vpcemuBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build vpcemu: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// vpcemu runs the binary and returns its combined output and exit code.
func vpcemu(t *testing.T, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, vpcemuBin, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("vpcemu %v: %v", args, err)
	}
	return buf.String(), code
}

// labFile writes the built-in lab under a unique name and returns its path.
func labFile(t *testing.T, name string, edit func(string) string) string {
	y := strings.Replace(string(vpc.LabYAML), "name: lab\n", "name: "+name+"\n", 1)
	if edit != nil {
		y = edit(y)
	}
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// upLab brings a renamed lab up detached (with further up arguments) and
// registers its teardown.
func upLab(t *testing.T, edit func(string) string, args ...string) (name, file string) {
	testenv.RequireRoot(t)
	name = testenv.Name(t)
	file = labFile(t, name, edit)
	t.Cleanup(func() {
		_ = lab.Down(name, true, lab.Options{})
	})
	out, code := vpcemu(t, append([]string{"up", "-d", "-f", file}, args...)...)
	if code != 0 {
		t.Fatalf("vpcemu up -d: exit %d\n%s", code, out)
	}
	return name, file
}

func TestLabAcceptance(t *testing.T) {
	name, file := upLab(t, nil)
	run := func(args ...string) (string, int) {
		return vpcemu(t, append([]string{"-t", name}, args...)...)
	}
	cases := []struct {
		desc  string
		args  []string
		ok    bool
		match string
	}{
		{"laptop reaches i-web's page on its public IP", []string{"exec", "laptop", "--", "curl", "-s", "--max-time", "5", "http://203.0.113.10/"}, true, `^i-web\n$`},
		{"i-web loads the website over HTTPS", []string{"exec", "i-web", "--", "curl", "-sk", "--max-time", "5", "https://203.0.113.80/"}, true, `^website\n$`},
		{"i-web reaches i-db's echo server on 5432", []string{"exec", "i-web", "--", "curl", "-s", "--max-time", "3", "http://10.0.2.20:5432"}, true, `i-db`},
		{"i-db has no public IP: the internet is unreachable", []string{"exec", "i-db", "--", "curl", "-s", "--max-time", "3", "http://203.0.113.80/"}, false, ``},
		{"ssh from the laptop to i-web runs on i-web", []string{"ssh", "laptop", "i-web", "hostname"}, true, `^i-web\n$`},
		{"amazon-linux ephemeral range", []string{"exec", "i-web", "--", "cat", "/proc/sys/net/ipv4/ip_local_port_range"}, true, `^32768\s+60999\n$`},
		{"windows ephemeral range on the laptop", []string{"exec", "laptop", "--", "cat", "/proc/sys/net/ipv4/ip_local_port_range"}, true, `^49152\s+65535\n$`},
		{"exit status passes through exec", []string{"exec", "i-web", "--", "sh", "-c", "exit 7"}, false, ``},
	}
	for _, c := range cases {
		out, code := run(c.args...)
		if (code == 0) != c.ok {
			t.Errorf("%s: vpcemu %s: exit %d, want success=%v\n%s", c.desc, strings.Join(c.args, " "), code, c.ok, out)
			continue
		}
		if c.match != "" && !regexp.MustCompile(c.match).MatchString(out) {
			t.Errorf("%s: output %q does not match %q", c.desc, out, c.match)
		}
	}
	if out, code := run("exec", "i-web", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exec exit status: got %d, want 7 (%s)", code, out)
	}

	out, code := run("status", "-o", "json")
	if code != 0 {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	if st.Name != name || len(st.Instances) != 2 || len(st.Hosts) != 3 {
		t.Errorf("status: name %q, %d instances, %d hosts; want %s, 2, 3", st.Name, len(st.Instances), len(st.Hosts), name)
	}

	// A second up of the same topology says so and changes nothing.
	out, code = vpcemu(t, "up", "-d", "-f", file)
	if code == 0 || !strings.Contains(out, "already up") {
		t.Errorf("second up: exit %d, output %q; want a failure saying it is already up", code, out)
	}
	if out, code := run("exec", "laptop", "--", "curl", "-s", "--max-time", "5", "http://203.0.113.10/"); code != 0 {
		t.Errorf("after the refused second up the lab no longer works: %s", out)
	}

	out, code = vpcemu(t, "down", name)
	if code != 0 {
		t.Fatalf("down: exit %d\n%s", code, out)
	}
	assertGone(t, name)
}

// assertGone checks that nothing of topology name is left on the machine.
func assertGone(t *testing.T, name string) {
	t.Helper()
	names, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == name {
			t.Errorf("namespaces of %s left behind", name)
		}
	}
	if _, err := os.Stat(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name).Run); err == nil {
		t.Errorf("runtime state of %s left behind", name)
	}
	out, _ := exec.Command("pgrep", "-af", "/run/vpcemu/"+name+"/").CombinedOutput()
	if strings.TrimSpace(string(out)) != "" {
		t.Errorf("processes of %s left behind:\n%s", name, out)
	}
}

func TestForegroundUpCtrlCTearsDown(t *testing.T) {
	testenv.RequireRoot(t)
	name := testenv.Name(t)
	file := labFile(t, name, nil)
	t.Cleanup(func() { _ = lab.Down(name, true, lab.Options{}) })
	cmd := exec.Command(vpcemuBin, "up", "-f", file)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(buf.String(), "is up") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("up did not become ready:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, code := vpcemu(t, "-t", name, "exec", "laptop", "--", "curl", "-s", "--max-time", "5", "http://203.0.113.10/"); code != 0 {
		t.Errorf("lab not usable while up runs in the foreground: %s", out)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("up did not exit after Ctrl-C:\n%s", buf.String())
	}
	assertGone(t, name)
}

func TestUpWithThreeMistakesReportsAllAndCreatesNothing(t *testing.T) {
	testenv.RequireRoot(t)
	name := testenv.Name(t)
	file := labFile(t, name, func(y string) string {
		y = strings.Replace(y, "cidr: 10.0.2.0/24", "cidr: 10.0.2.0/33", 1)                 // bad CIDR
		y = strings.Replace(y, "security_groups: [sg-db]", "security_groups: [sg-nope]", 1) // unknown SG
		y = strings.Replace(y, "{protocol: tcp, ports: 443,", "{protocol: tcp, ports: 70000,", 1)
		return y
	})
	out, code := vpcemu(t, "up", "-d", "-f", file)
	if code == 0 {
		t.Fatalf("up accepted a broken file:\n%s", out)
	}
	lines := regexp.MustCompile(`(?m)^.*`+regexp.QuoteMeta(filepath.Base(file))+`:\d+:\d+: .*$`).FindAllString(out, -1)
	if len(lines) != 3 {
		t.Errorf("want exactly 3 errors with file:line:col, got %d:\n%s", len(lines), out)
	}
	for _, want := range []string{"cidr", "sg-nope", "70000"} {
		if !strings.Contains(out, want) {
			t.Errorf("errors do not mention %q:\n%s", want, out)
		}
	}
	assertGone(t, name)
}

// A daemon that dies (kill -9) leaves namespaces, sshd and state behind;
// `down` removes them all, and `up` afterwards works again.
func TestDownCleansUpAfterDaemonCrash(t *testing.T) {
	name, file := upLab(t, nil)
	st, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100 && syscall.Kill(st.PID, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	out, code := vpcemu(t, "up", "-d", "-f", file)
	if code != 0 {
		t.Fatalf("up after a crashed daemon: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "died without closing") || !strings.Contains(out, "flow-log records") {
		t.Errorf("up over a crashed run does not say what was lost:\n%s", out)
	}
	if out, code := vpcemu(t, "-t", name, "exec", "laptop", "--", "curl", "-s", "--max-time", "5", "http://203.0.113.10/"); code != 0 {
		t.Errorf("lab rebuilt over a crashed one does not work: %s", out)
	}
	st, _ = lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name))
	syscall.Kill(st.PID, syscall.SIGKILL)
	for i := 0; i < 100 && syscall.Kill(st.PID, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if out, code := vpcemu(t, "down", name); code != 0 {
		t.Fatalf("down after crash: exit %d\n%s", code, out)
	}
	assertGone(t, name)
}

// `vpcemu conntrack` lists the tracked SSH connection from the laptop
// (tracked: sg-web admits 22 from a /32, not /0).
func TestConntrackListsTrackedSSH(t *testing.T) {
	name, _ := upLab(t, nil)
	if out, code := vpcemu(t, "-t", name, "ssh", "laptop", "i-web", "true"); code != 0 {
		t.Fatalf("ssh: %s", out)
	}
	out, code := vpcemu(t, "-t", name, "conntrack", "i-web", "-o", "json")
	if code != 0 {
		t.Fatalf("conntrack: exit %d\n%s", code, out)
	}
	var entries []lab.ConntrackEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("conntrack -o json: %v\n%s", err, out)
	}
	found := false
	for _, e := range entries {
		if e.Protocol == 6 && e.Src.Addr().String() == "198.51.100.10" && e.Dst.Port() == 22 {
			found = true
		}
	}
	if !found {
		t.Errorf("no tracked 198.51.100.10 -> :22 entry in %+v", entries)
	}
	if out, code := vpcemu(t, "-t", name, "conntrack", "nope"); code == 0 || !strings.Contains(out, `"nope"`) {
		t.Errorf("conntrack of an unknown ENI: exit %d, %q", code, out)
	}
}

// up serves the web view; ui and status say where; it answers GET alone
// and goes away with the topology.
func TestUpServesWebView(t *testing.T) {
	name, _ := upLab(t, nil)
	out, code := vpcemu(t, "ui", "-t", name, "--no-open")
	url := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/$`).MatchString(url) {
		t.Fatalf("vpcemu ui --no-open: exit %d, %q; want a loopback URL", code, out)
	}
	if out, _ := vpcemu(t, "status", "-t", name); !strings.Contains(out, "web view: "+url) {
		t.Errorf("status does not show the web view's address %s:\n%s", url, out)
	}
	resp, err := http.Get(url + "api/topology")
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ View struct{ Name string } }
	err = json.NewDecoder(resp.Body).Decode(&m)
	resp.Body.Close()
	if err != nil || m.View.Name != name {
		t.Errorf("GET %sapi/topology: %v, name %q; want %q", url, err, m.View.Name, name)
	}
	resp, err = http.Post(url+"api/topology", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the web view: %d, want 405", resp.StatusCode)
	}
	if out, code := vpcemu(t, "down", name); code != 0 {
		t.Fatalf("down: %s", out)
	}
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("the web view still answers after down")
	}
}
