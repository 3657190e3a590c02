package loader

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/vpcemu/vpcemu/netns"
	"github.com/vpcemu/vpcemu/rules"
	"github.com/vpcemu/vpcemu/testenv"
	"github.com/vpcemu/vpcemu/vpc"
)

// routeBenchRoutes is the size of the big route table (issue 12: route
// lookup cost with 50 routes per table).
const routeBenchRoutes = 50

// routeBenchYAML is vpc.GenerateRouted's 2 VPCs × 4 subnets × 1 instance
// with one more route table, rtb-big, on subnet-0-2: rtb-0's routes (local,
// 0.0.0.0/0 to the NAT gateway, the peer's block to the peering) and
// routeBenchRoutes-3 more /24s, half of them inside the peer's /16 around
// the benchmark's destination (a deeper trie on its path), half elsewhere.
func routeBenchYAML(name string) []byte {
	src := string(vpc.GenerateRouted(name, 2, 4, 1))
	src = strings.Replace(src, "{id: subnet-0-2, vpc: vpc-0, cidr: 10.0.2.0/24, route_table: rtb-0}",
		"{id: subnet-0-2, vpc: vpc-0, cidr: 10.0.2.0/24, route_table: rtb-big}", 1)
	var b strings.Builder
	b.WriteString("  - id: rtb-big\n    vpc: vpc-0\n    routes:\n")
	b.WriteString("      - {destination: 0.0.0.0/0, target: nat-0}\n      - {destination: 10.1.0.0/16, target: pcx-0-1}\n")
	for i := range routeBenchRoutes - 3 {
		if i%2 == 0 {
			fmt.Fprintf(&b, "      - {destination: 10.1.%d.0/24, target: nat-0}\n", 1+i/2)
		} else {
			fmt.Fprintf(&b, "      - {destination: 172.16.%d.0/24, target: nat-0}\n", i/2)
		}
	}
	return []byte(strings.Replace(src, "\nsecurity_groups:\n", b.String()+"\nsecurity_groups:\n", 1))
}

// routeBenchCase is one router port of the routed benchmark topology and
// the frame its subnet's instance sends to the peer VPC's instance.
type routeBenchCase struct {
	name    string
	ns      string
	ifindex int
	frame   []byte
}

// routeBenchSetup builds the routed topology in real namespaces with its
// datapath (the router program at tc on every routing port) and returns the
// router program and its cases: a subnet on rtb-0 (3 routes), one on
// rtb-big (routeBenchRoutes routes), and one whose port is set to table 0,
// what DatapathOptions.KernelRouting does: the program judges the NACLs and
// passes the packet to the kernel, whose ip-rule lookup BPF_PROG_RUN does
// not include.
func routeBenchSetup(b *testing.B) (*NACL, []*routeBenchCase) {
	testenv.RequireRoot(b)
	name := testenv.Name(b)
	topo, err := vpc.Parse("routed.yaml", routeBenchYAML(name))
	if err != nil {
		b.Fatalf("benchmark topology: %v", err)
	}
	if rt := topo.RouteTableOfSubnet("subnet-0-2"); len(rt.Routes) < routeBenchRoutes {
		b.Fatalf("rtb-big has %d routes, want %d", len(rt.Routes), routeBenchRoutes)
	}
	p := rules.NewPlan(topo)
	b.Cleanup(func() { _ = netns.Teardown(name) })
	if err := netns.Build(context.Background(), p, topo, nil); err != nil {
		b.Fatalf("build: %v", err)
	}
	d, err := LoadDatapath(topo, p, DatapathOptions{Mode: TC})
	if err != nil {
		b.Fatalf("datapath: %v", err)
	}
	b.Cleanup(func() { _ = d.Close() })
	port := func(subnet string) vpc.PortPlan {
		for _, pp := range p.Routing.Ports {
			if pp.Kind == vpc.PortSubnet && pp.Subnet == subnet {
				return pp
			}
		}
		b.Fatalf("no routing port of %s", subnet)
		return vpc.PortPlan{}
	}
	kernel := port("subnet-0-3")
	kernel.Table = 0
	if err := d.NACL.SetPort(kernel, PortFlagsOf(topo, p, kernel)); err != nil {
		b.Fatal(err)
	}
	var cases []*routeBenchCase
	for _, c := range []struct{ name, subnet string }{
		{"table=3routes", "subnet-0-1"}, {fmt.Sprintf("table=%droutes", routeBenchRoutes), "subnet-0-2"}, {"kernelrouting-judgement-only", "subnet-0-3"},
	} {
		pp := port(c.subnet)
		inst := topo.Subnet(c.subnet)
		src := inst.CIDR.Addr().Next()
		for range 9 {
			src = src.Next() // .10, the subnet's instance
		}
		pk := rules.Packet{Src: src, Dst: netip.MustParseAddr("10.1.0.10"), Protocol: vpc.ProtoTCP, SrcPort: 40000, DstPort: 80, TCPFlags: 2}
		cases = append(cases, &routeBenchCase{name: c.name, ns: pp.NS, ifindex: pp.Ifindex, frame: (&naclWire{p: pk}).bytes()})
	}
	return d.NACL, cases
}

// tcActUnspec is tc's "next filter": the kernel routes the packet.
const tcActUnspec = 0xffffffff

// progTestRun is BPF_PROG_RUN of a tc program with a __sk_buff context
// naming the arrival device (cilium/ebpf's Benchmark takes no context):
// the verdict and the kernel's mean time per run. The calling thread must
// be in the namespace of ifindex.
func progTestRun(fd int, frame []byte, ifindex, repeat int) (uint32, int64, error) {
	ctx := skbContext{IngressIfindex: uint32(ifindex), Ifindex: uint32(ifindex)}
	attr := struct {
		progFD, retval, sizeIn, sizeOut uint32
		dataIn, dataOut                 uint64
		repeat, duration                uint32
		ctxSizeIn, ctxSizeOut           uint32
		ctxIn, ctxOut                   uint64
		flags, cpu, batch               uint32
		_                               uint32
	}{progFD: uint32(fd), sizeIn: uint32(len(frame)), dataIn: uint64(uintptr(unsafe.Pointer(&frame[0]))),
		repeat: uint32(repeat), ctxSizeIn: uint32(unsafe.Sizeof(ctx)), ctxIn: uint64(uintptr(unsafe.Pointer(&ctx)))}
	for try := 0; ; try++ {
		_, _, errno := unix.Syscall(unix.SYS_BPF, unix.BPF_PROG_TEST_RUN, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr))
		if errno == unix.EINTR && try < 100 {
			continue // a signal (the Go runtime's preemption) cut the loop short
		}
		if errno != 0 {
			return 0, 0, fmt.Errorf("BPF_PROG_TEST_RUN: %w", errno)
		}
		return attr.retval, int64(attr.duration), nil
	}
}

// run runs c repeat times in its router's namespace.
func (c *routeBenchCase) run(prog int, repeat int) (ret uint32, ns int64, err error) {
	err = netns.Do(c.ns, func() error {
		var e error
		ret, ns, e = progTestRun(prog, c.frame, c.ifindex, repeat)
		return e
	})
	return ret, ns, err
}

// BenchmarkRouteLookup is the router program's per-packet cost through
// BPF_PROG_RUN on a real routed topology (its bpf_fib_lookup runs in the
// router namespace's kernel tables): a TCP SYN from a private subnet to the
// peered VPC, routed by a table of 3 routes, by one of 50 (issue 12), and
// on a KernelRouting port (the program's NACL judgement only). Ratio is the
// 50-route table's cost over the 3-route one's, from interleaved rounds of
// the two in the same run (median of the rounds' ratios).
func BenchmarkRouteLookup(b *testing.B) {
	n, cases := routeBenchSetup(b)
	n.mu.Lock()
	prog, err := n.program(TC)
	n.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	fd := prog.FD()
	for i, c := range cases {
		ret, _, err := c.run(fd, 1)
		if err != nil {
			if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
				b.Skip(err)
			}
			b.Fatal(err)
		}
		want := uint32(tcActRedirect)
		if i == 2 {
			want = tcActUnspec // to the kernel's routing
		}
		if ret != want && !(i == 2 && ret == tcActOK) {
			b.Fatalf("%s: verdict %d, want %d (routed out of the peering link)", c.name, int32(ret), int32(want))
		}
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			_, ns, err := c.run(fd, max(b.N, 1))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(ns), "ns/pkt")
			b.ReportMetric(0, "ns/op") // the kernel's figure is ns/pkt
		})
	}
	b.Run(fmt.Sprintf("ratio=%droutes/3routes", routeBenchRoutes), func(b *testing.B) {
		var ratios []float64
		for range 15 {
			_, small, err := cases[0].run(fd, 20000)
			if err != nil {
				b.Fatal(err)
			}
			_, big, err := cases[1].run(fd, 20000)
			if err != nil {
				b.Fatal(err)
			}
			ratios = append(ratios, float64(big)/float64(max(small, 1)))
		}
		slices.Sort(ratios)
		b.ReportMetric(ratios[len(ratios)/2], "x")
		b.ReportMetric(0, "ns/op")
	})
}
