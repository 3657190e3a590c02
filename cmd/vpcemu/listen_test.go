package main

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"testing"
)

// A daemon endpoint takes its default port, the next one when another
// daemon holds it, and warns when told to listen beyond loopback.
func TestDaemonPortListen(t *testing.T) {
	// A range of our own, so that running daemons do not interfere.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	d := daemonPort{flag: "--x", port: base, tried: 2, exposes: "sees things"}
	var warn bytes.Buffer

	first, err := d.listen(d.defaultAddr(), false, &warn)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if got := first.Addr().(*net.TCPAddr).Port; got != base {
		t.Errorf("first listener on port %d, want the default %d", got, base)
	}
	second, err := d.listen(d.defaultAddr(), false, &warn)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	// base+1, unless something else of this machine holds it.
	if got := second.Addr().(*net.TCPAddr).Port; got == base {
		t.Errorf("second listener on the taken default port")
	}
	if ln, err := d.listen("off", false, &warn); ln != nil || err != nil {
		t.Errorf("off: listener %v, error %v; want neither", ln, err)
	}
	if warn.Len() != 0 {
		t.Errorf("warned on loopback: %s", warn.String())
	}
	// Given explicitly, a taken port is an error naming the flag.
	if _, err := d.listen("127.0.0.1:"+strconv.Itoa(base), true, &warn); err == nil || !strings.Contains(err.Error(), "--x") {
		t.Errorf("taken explicit port: %v, want an error naming --x", err)
	}
	if _, err := d.listen("nonsense", true, &warn); err == nil || !strings.Contains(err.Error(), "HOST:PORT") {
		t.Errorf("bad address: %v, want HOST:PORT named", err)
	}
	ln, err := d.listen("0.0.0.0:0", true, &warn)
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if !strings.Contains(warn.String(), "beyond this machine") || !strings.Contains(warn.String(), "sees things") {
		t.Errorf("no warning for 0.0.0.0: %q", warn.String())
	}
}

// up says where the EC2 API is, how to reach it, and when the default port
// was taken by another daemon.
func TestPrintEndpointsAPI(t *testing.T) {
	var b bytes.Buffer
	printEndpoints(&b, "ap-northeast-2", "", "", "127.0.0.1:4566", false, false)
	if got := b.String(); !strings.Contains(got, "EC2 API: http://127.0.0.1:4566, region ap-northeast-2\n") ||
		!strings.Contains(got, "aws --endpoint-url http://127.0.0.1:4566 --region ap-northeast-2 ec2") || strings.Contains(got, "taken") {
		t.Errorf("on the default port:\n%s", got)
	}
	b.Reset()
	printEndpoints(&b, "us-east-1", "", "", "127.0.0.1:4567", false, true)
	if got := b.String(); !strings.Contains(got, "http://127.0.0.1:4567 (port 4566 is taken") || !strings.Contains(got, "SigV4 signatures checked") {
		t.Errorf("on the next port, strict:\n%s", got)
	}
	b.Reset()
	printEndpoints(&b, "us-east-1", "", "", "127.0.0.1:5000", true, false)
	if strings.Contains(b.String(), "taken") {
		t.Errorf("--api given, yet up says the default port was taken:\n%s", b.String())
	}
}
