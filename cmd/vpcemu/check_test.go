package main

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// execCLI runs vpcemu with args in-process and returns its output and error.
func execCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

// runCLI runs vpcemu with args and returns stdout, stderr and the exit status.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	stdout, stderr, err := execCLI(t, args...)
	errb := bytes.NewBufferString(stderr)
	code := 0
	var ee exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		errb.WriteString(err.Error())
		code = 1
	}
	return stdout, errb.String(), code
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckCLIExample(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, errs, code := runCLI(t, "check", "../../examples/ci/intents.yaml", "--junit", junit)
	if code != 0 {
		t.Fatalf("exit %d, want 0 (every intent of the example holds on the lab)\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "8 of 8 intents hold") {
		t.Errorf("output:\n%s", out)
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &s); err != nil || s.Tests != 8 || s.Failures != 0 {
		t.Errorf("junit (%v): %+v\n%s", err, s, b)
	}
}

func TestCheckCLIFailsWithAnnotations(t *testing.T) {
	p := writeFile(t, "intents.yaml", `intents:
  - name: nothing on the internet reaches RDP
    no_reach: {from: internet, to: i-web, protocol: tcp, ports: 3389}
`)
	out, _, code := runCLI(t, "check", p, "-o", "github")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	if !strings.HasPrefix(out, "::error file="+p+",line=2,col=5,title=intent fails%3A nothing on the internet reaches RDP::") ||
		!strings.Contains(out, "sg-web inbound rule #3 (tcp 3389 from 0.0.0.0/0)") {
		t.Errorf("annotations:\n%s", out)
	}
}

func TestCheckCLIInvalidInput(t *testing.T) {
	p := writeFile(t, "intents.yaml", `intents:
  - reach: {from: i-wbe, to: i-db, protocol: tcp, ports: 99999}
`)
	out, errs, code := runCLI(t, "check", p)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, out, errs)
	}
	for _, want := range []string{p + `:2:19: intents[0]: unknown endpoint "i-wbe"`, p + `:2:58: intents[0].reach.ports: "99999" is out of range`} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	// A topology that does not parse is invalid input too.
	bad := writeFile(t, "topo.yaml", "name: x\n")
	_, errs, code = runCLI(t, "check", "-f", bad, "../../examples/ci/intents.yaml")
	if code != 2 || !strings.Contains(errs, bad+":1:1") {
		t.Errorf("bad topology: exit %d:\n%s", code, errs)
	}
}

func TestCheckCLIPolicy(t *testing.T) {
	out, _, code := runCLI(t, "check", "../../examples/ci/intents.yaml", "--policy", "default", "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the lab opens RDP to the world)", code)
	}
	if !strings.Contains(out, `"policy": "VPC001"`) || !strings.Contains(out, `"exit_code": 1`) {
		t.Errorf("json:\n%s", out)
	}
	_, errs, code := runCLI(t, "check", "../../examples/ci/intents.yaml", "--policy", "strict")
	if code != 2 || !strings.Contains(errs, `no policy set "strict"; valid: default`) {
		t.Errorf("unknown policy set: exit %d %s", code, errs)
	}
}

const (
	orderFile     = "../../lessons/topologies/nacl-order.yaml"
	ephemeralFile = "../../lessons/topologies/nacl-ephemeral.yaml"
)

func edited(t *testing.T, path, old, new string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s: edit does not apply", path)
	}
	return writeFile(t, filepath.Base(path), strings.Replace(string(b), old, new, 1))
}

func TestDiffCLI(t *testing.T) {
	new := edited(t, ephemeralFile, "    ingress:\n      - {rule: 50,", "    ingress:\n      - {rule: 20, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: deny}\n      - {rule: 50,")
	out, _, code := runCLI(t, "diff", ephemeralFile, new, "--exit-code")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{"2 changes", "reply newly blocked: i-amzn -> internet tcp 0-65535", "reply newly blocked: i-win2019 -> internet tcp 0-65535",
		"after:  reply blocked by acl-public inbound rule 20 (deny tcp 32768-65535 from 0.0.0.0/0)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "i-win2003") {
		t.Errorf("the Windows 2003 client is not affected:\n%s", out)
	}
	out, _, code = runCLI(t, "diff", orderFile, orderFile, "--exit-code")
	if code != 0 || !strings.Contains(out, "0 changes") {
		t.Errorf("a file against itself: exit %d\n%s", code, out)
	}
}

// Replay reads gzipped (S3) and plain log files under a directory.
func TestDiffCLIReplay(t *testing.T) {
	new := edited(t, ephemeralFile, "    ingress:\n      - {rule: 50,", "    ingress:\n      - {rule: 20, protocol: tcp, ports: 32768-65535, cidr: 0.0.0.0/0, action: deny}\n      - {rule: 50,")
	dir := t.TempDir()
	header := "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n"
	lines := []string{
		"2 123456789012 eni-a 10.0.1.10 203.0.113.80 40000 443 6 10 1000 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-a 203.0.113.80 10.0.1.10 443 40000 6 12 9000 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-c 10.0.1.12 203.0.113.80 1030 443 6 10 1000 1700000000 1700000060 ACCEPT OK",
		"2 123456789012 eni-c 203.0.113.80 10.0.1.12 443 1030 6 12 9000 1700000000 1700000060 ACCEPT OK",
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(header + strings.Join(lines[:2], "\n") + "\n"))
	zw.Close()
	if err := os.MkdirAll(filepath.Join(dir, "AWSLogs", "2024"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "AWSLogs", "2024", "a.log.gz"), gz.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "b.log"), []byte(header+strings.Join(lines[2:], "\n")+"\n"), 0o644)
	out, _, code := runCLI(t, "diff", ephemeralFile, new, "--replay", dir)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{"Replay: 4 records, 4 accepted, 1 of them rejected", "would break: i-amzn -> website tcp 443: 1 connections, 12 packets, 9000 bytes (reply blocked by acl-public inbound rule 20"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "i-win2003 -> website") {
		t.Errorf("the Windows 2003 client's flow does not break:\n%s", out)
	}
}
