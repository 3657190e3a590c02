package perf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/flowlog"
	"github.com/vpcemu/vpcemu/loader"
	"github.com/vpcemu/vpcemu/vpc"
)

// datapathOpts says which vpcemu programs a configuration loads.
type datapathOpts struct {
	rules    int    // N non-matching rules in the bench NACL and SG
	nacl     bool   // NACL programs where packets enter the router (both uplinks)
	sg       bool   // SG programs on both ENIs
	flowLogs bool   // count flows in the programs and drain them every second
	mode     string // XDP mode of the NACL programs
	// scrape reads every counter /metrics exports (NACL rule counters, each
	// ENI's conntrack and drop counters) every second, as a Prometheus
	// scrape of `vpcemu up` does.
	scrape bool
	// capture runs `vpcemu capture` at the server's ENI for the whole
	// trial: a tap after its SG, drained as the daemon does.
	capture bool
	// mirror mirrors everything the client's ENI sends and receives to the
	// server's ENI (one Traffic Mirroring session, filter accepting all).
	mirror bool
}

// withVPC returns a copy of t.VPC for a configuration to change.
func withVPC(t *Topo) (*vpc.Topology, error) {
	if t.VPC == nil {
		return nil, fmt.Errorf("vpcemu programs need the vpc topology shape: %w", ErrUnavailable)
	}
	return t.VPC.Clone(), nil
}

// BenchNACL is a NACL whose rules 1..n (both directions) allow TCP from
// addresses no benchmark packet has, and whose rule n+1 allows everything
// within the VPC: every benchmark packet matches the last rule (worst case
// for a first-match scan).
func BenchNACL(n int, vpcCIDR netip.Prefix) vpc.NetworkACL {
	var rs []vpc.NACLRule
	for i := 0; i < n; i++ {
		p := RulePort(i)
		rs = append(rs, vpc.NACLRule{
			Number: i + 1, Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: p, To: p}, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.PrefixFrom(netip.MustParseAddr(RuleSource(i)), 32), Allow: true,
		})
	}
	rs = append(rs, vpc.NACLRule{Number: n + 1, Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: vpcCIDR, Allow: true})
	return vpc.NetworkACL{ID: "acl-bench", Ingress: rs, Egress: append([]vpc.NACLRule(nil), rs...)}
}

// BenchSG is a security group with n ingress rules that match no benchmark
// packet, then ingress from the whole VPC and egress anywhere. The ingress
// peer is not /0, so every flow is tracked (SG-23/24 would untrack it).
func BenchSG(n int, vpcCIDR netip.Prefix) vpc.SecurityGroup {
	var in []vpc.SGRule
	for i := 0; i < n; i++ {
		p := RulePort(i)
		in = append(in, vpc.SGRule{
			Protocol: vpc.ProtoTCP, Ports: vpc.PortRange{From: p, To: p}, ICMPType: -1, ICMPCode: -1,
			CIDR: netip.PrefixFrom(netip.MustParseAddr(RuleSource(i)), 32),
		})
	}
	in = append(in, vpc.SGRule{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: vpcCIDR})
	out := []vpc.SGRule{{Protocol: vpc.ProtoAll, Ports: vpc.AllPorts, ICMPType: -1, ICMPCode: -1, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}
	return vpc.SecurityGroup{ID: "sg-bench", Name: "bench", Description: "benchmark", Ingress: in, Egress: out}
}

// applyDatapath loads the vpcemu programs o asks for onto t the way
// `vpcemu up` does (loader.LoadDatapath, without the internet gateway,
// which no benchmark packet crosses): the NACL where packets enter the
// router, the SGs on each ENI, the flow counters. With flow logs a
// goroutine drains the counters every second, as the flow-log pump does
// (the samples are dropped: aggregating, formatting and writing files is
// not measured).
func applyDatapath(_ context.Context, t *Topo, o datapathOpts) (_ func(), err error) {
	v, err := withVPC(t)
	if err != nil {
		return nil, err
	}
	p := t.Plan
	if o.nacl {
		v.NetworkACLs = append(v.NetworkACLs, BenchNACL(o.rules, t.VPCCIDR))
		for i := range v.Subnets {
			v.Subnets[i].NetworkACL = "acl-bench"
		}
	}
	if o.sg {
		v.SecurityGroups = append(v.SecurityGroups, BenchSG(o.rules, t.VPCCIDR))
		for i := range v.Instances {
			v.Instances[i].SecurityGroups = []string{"sg-bench"}
		}
	}
	if o.mirror {
		// Each direction its own rule, with the id a parsed file would get.
		all := func(outbound bool) []vpc.MirrorRule {
			return []vpc.MirrorRule{{ID: vpc.MirrorRuleID("tmf-all", outbound, 1), Number: 1, Accept: true,
				Protocol: vpc.ProtoAll, SrcPorts: vpc.AllPorts, DstPorts: vpc.AllPorts,
				SrcCIDR: netip.MustParsePrefix("0.0.0.0/0"), DstCIDR: netip.MustParsePrefix("0.0.0.0/0")}}
		}
		var client, server string
		for _, in := range v.Instances {
			for _, hp := range p.Instances {
				if hp.ID == in.ID && hp.NS == t.ClientNS {
					client = in.ENI.ID
				}
				if hp.ID == in.ID && hp.NS == t.ServerNS {
					server = in.ENI.ID
				}
			}
		}
		v.TrafficMirror = vpc.TrafficMirror{
			Targets:  []vpc.MirrorTarget{{ID: "tmt-bench", ENI: server}},
			Filters:  []vpc.MirrorFilter{{ID: "tmf-all", Inbound: all(false), Outbound: all(true)}},
			Sessions: []vpc.MirrorSession{{ID: "tms-bench", Source: client, Target: "tmt-bench", Filter: "tmf-all", Number: 1, VNI: 1}},
		}
	}
	if o.flowLogs {
		v.FlowLogs = append(v.FlowLogs, vpc.FlowLog{ID: "fl-bench", Resource: v.VPCs[0].ID, TrafficType: "ALL", MaxAggregationInterval: 60, FileFormat: "plain-text"})
	}
	if err := vpc.Validate(v); err != nil {
		return nil, fmt.Errorf("benchmark topology: %w", err)
	}
	var mode loader.XDPMode // no NACL: none
	if o.mode != "" {
		if mode, err = loader.ParseXDPMode(o.mode); err != nil {
			return nil, err
		}
	}
	d, err := loader.LoadDatapath(v, p, loader.DatapathOptions{Mode: mode, SkipIGW: true, SkipNACL: !o.nacl, SkipSG: !o.sg})
	if err != nil {
		return nil, fmt.Errorf("vpcemu datapath: %w", err)
	}
	closers := []func() error{d.Close}
	release := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i]()
		}
	}
	defer func() {
		if err != nil {
			release()
		}
	}()
	if o.scrape {
		closers = append(closers, scrapeEverySecond(t, d.NACL, d.SG, v))
	}
	if o.capture {
		c, err := captureServer(t)
		if err != nil {
			return nil, err
		}
		closers = append(closers, c)
	}
	flows := d.Flows
	if flows != nil {
		stop := make(chan struct{})
		var samples, drains, skipped int
		var drainTime time.Duration
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The drain's CPU time (RUSAGE_THREAD) is this thread's only
			// if the goroutine keeps it.
			runtime.LockOSThread()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					var r0, r1 unix.Rusage
					_ = unix.Getrusage(unix.RUSAGE_THREAD, &r0)
					n := 0
					skips, err := flows.DrainTo(func(ss []flowlog.Sample) { n += len(ss) })
					_ = unix.Getrusage(unix.RUSAGE_THREAD, &r1)
					drainTime += time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
					if err == nil {
						drains++
						samples += n
						for _, k := range skips {
							skipped += int(k)
						}
					}
				}
			}
		}()
		// Stops before the programs and maps close (closers run in reverse).
		closers = append(closers, func() error {
			close(stop)
			wg.Wait()
			if t.raw != nil {
				// Evidence that counting was on: flows seen per drain.
				fmt.Fprintf(t.raw, "flow logs: %d drains, %d flow samples, %d packets skipped (table full), %s of CPU draining\n", drains, samples, skipped, drainTime)
			}
			return nil
		})
	}
	return release, nil
}

var errNoDatapath = errors.New("configuration loads no vpcemu program")

// vpcemuConfig returns the Apply of a vpcemu configuration.
func vpcemuConfig(o datapathOpts) func(ctx context.Context, t *Topo) (func(), error) {
	return func(ctx context.Context, t *Topo) (func(), error) {
		if !o.nacl && !o.sg && !o.flowLogs {
			return nil, errNoDatapath
		}
		return applyDatapath(ctx, t, o)
	}
}

// scrapeEverySecond reads what a /metrics scrape reads, every second, until
// the returned function; it logs how many scrapes ran.
func scrapeEverySecond(t *Topo, nacl *loader.NACL, sg *loader.SG, v *vpc.Topology) func() error {
	stop := make(chan struct{})
	done := make(chan struct{})
	scrapes := 0
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if nacl != nil {
					_, _ = nacl.Counters()
					_, _ = nacl.Stats()
				}
				if sg != nil {
					for _, in := range v.Instances {
						_, _, _, _ = sg.Stats(in.ENI.ID)
						_, _ = sg.SGDrops(in.ENI.ID)
					}
					_, _ = sg.EventsLost()
				}
				scrapes++
			}
		}
	}()
	return func() error {
		close(stop)
		<-done
		if t.raw != nil {
			fmt.Fprintf(t.raw, "metrics: %d scrapes\n", scrapes)
		}
		return nil
	}
}

// captureServer taps the server's ENI (after its SG) and drains the tap as
// `vpcemu capture` does, until the returned function; it logs what it
// captured and lost.
func captureServer(t *Topo) (func() error, error) {
	var hp *vpc.HostPlan
	for i := range t.Plan.Instances {
		if t.Plan.Instances[i].NS == t.ServerNS {
			hp = &t.Plan.Instances[i]
		}
	}
	if hp == nil {
		return nil, fmt.Errorf("capture: no server ENI: %w", ErrUnavailable)
	}
	tap, err := loader.AttachTap(hp.PeerNS, hp.PeerIf, false, 0)
	if err != nil {
		return nil, err
	}
	var captured uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		var rec ringbuf.Record
		r := tap.Reader()
		for {
			if err := r.ReadInto(&rec); err != nil {
				return
			}
			if cr, err := loader.DecodeCaptureRecord(rec.RawSample); err == nil {
				_ = append([]byte(nil), cr.Data...) // the copy the daemon makes
				captured++
			}
		}
	}()
	return func() error {
		lost, _ := tap.Lost()
		err := tap.Close()
		<-done
		if t.raw != nil {
			fmt.Fprintf(t.raw, "capture: %d frames captured, %d lost\n", captured, lost)
		}
		return err
	}, nil
}
