package rules

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vpcemu/vpcemu/vpc"
)

// The spec's T2 as a file (examples/routing/t2.yaml) and as built in Go
// (t2) are the same network: every flow between their endpoints meets the
// same components and the same fate, with the same flow-log records.
func TestT2FileAndGoBuiltT2Agree(t *testing.T) {
	src, err := os.ReadFile("../examples/routing/t2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file, err := vpc.Parse("t2.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	code := t2()
	addrs := []string{wIP, dIP, aIP2, bIP2, ngwIP, xIP2, sIP, wPub, ngwPub, "10.0.3.9", "203.0.113.77"}
	mf, mc := NewPathModel(file), NewPathModel(code)
	ff, fc := NewFlowLogger(file), NewFlowLogger(code)
	n := 0
	for _, s := range addrs {
		for _, d := range addrs {
			if s == d {
				continue
			}
			for _, p := range []Packet{tcp(s, 40000+n, d, 443, TCPSyn), tcp(s, 40000+n, d, 22, TCPSyn), udp(s, 40000+n, d, 53), icmp(s, d, 8, 0, n)} {
				at := time.Duration(n) * time.Millisecond
				a, b := mf.Send(at, p), mc.Send(at, p)
				ff.Add(at, &a)
				fc.Add(at, &b)
				if a.Fate() != b.Fate() || routeKinds(a) != routeKinds(b) {
					t.Errorf("%s:\n  file %s (%s)\n  Go   %s (%s)", packetText(p), routeKinds(a), a.Fate(), routeKinds(b), b.Fate())
				}
				if a.Delivered {
					if r, ok := Reply(a.Final()); ok {
						ra, rb := mf.Send(at, r), mc.Send(at, r)
						ff.Add(at, &ra)
						fc.Add(at, &rb)
						if ra.Fate() != rb.Fate() {
							t.Errorf("reply %s: file %s, Go %s", packetText(r), ra.Fate(), rb.Fate())
						}
					}
				}
				n++
			}
		}
	}
	ra, rb := ff.Records(), fc.Records()
	if len(ra) != len(rb) {
		t.Fatalf("%d records from the file, %d from Go", len(ra), len(rb))
	}
	for i := range ra {
		if fmt.Sprint(flowText(ra[i])) != fmt.Sprint(flowText(rb[i])) {
			t.Errorf("record %d: file %s, Go %s", i, flowText(ra[i]), flowText(rb[i]))
		}
	}
}
