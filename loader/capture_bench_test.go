package loader

import (
	"reflect"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// What the capture machinery costs the SG program while no capture runs:
// sg_egress as `vpcemu up` loads it against the same program compiled
// without the capture code of its drop path (sgnocap, -DVPCEMU_NO_CAPTURE),
// sharing every map, on a passing packet of a tracked flow and on a dropped
// packet. Taps are attached only while a capture runs, so they are absent
// from both. The two run alternately in each iteration; ns/pkt as measured
// by the kernel around BPF_PROG_RUN, and their ratio.
// Run: go test ./loader -run '^$' -bench BenchmarkCaptureIdle -count 5
func BenchmarkCaptureIdle(b *testing.B) {
	h := newSGHarness(b, sgBenchTopo(60, false, false))
	// A tracked flow: SYN out, SYN-ACK in; the ACKs in then pass on the hit.
	syn := tcpPkt(ipA+":40000", ipX+":60000", fSYN)
	if h.run("a", true, syn) != sgPass {
		b.Fatal("SYN refused")
	}
	if h.run("a", false, reply(withFlags(syn, fSYN|fACK))) != sgPass {
		b.Fatal("SYN-ACK refused")
	}
	pass := sgFrame(b, h.macs["a"], false, reply(withFlags(syn, fACK)))
	// No ingress rule admits a new flow from 198.51.100.8.
	drop := sgFrame(b, h.macs["a"], false, tcpPkt("198.51.100.8:50000", ipA+":22", fSYN))

	nocap := loadNoCapture(b, h.sg)
	for _, c := range []struct {
		name string
		data []byte
		want uint32
	}{{"pass", pass, sgPass}, {"drop", drop, sgDrop}} {
		// Each iteration runs both programs 1000 times, alternating, so
		// that a machine whose load drifts charges both alike.
		b.Run(c.name, func(b *testing.B) {
			var with, without time.Duration
			for b.Loop() {
				for _, p := range []struct {
					prog *ebpf.Program
					sum  *time.Duration
				}{{h.sg.objs.SgEgress, &with}, {nocap.SgEgress, &without}} {
					ret, d, err := p.prog.Benchmark(c.data, 1000, nil)
					if err != nil || ret != c.want {
						b.Fatalf("verdict %s (%v), want %s", sgVerdictName(ret), err, sgVerdictName(c.want))
					}
					*p.sum += d
				}
			}
			b.ReportMetric(float64(with.Nanoseconds())/float64(b.N), "ns/pkt-with")
			b.ReportMetric(float64(without.Nanoseconds())/float64(b.N), "ns/pkt-without")
			b.ReportMetric(float64(with)/float64(without), "with/without")
		})
	}
}

// loadNoCapture loads sgnocap on s's maps, with s's constants and clock.
func loadNoCapture(tb testing.TB, s *SG) *sgnocapPrograms {
	tb.Helper()
	spec, err := loadSgnocap()
	if err != nil {
		tb.Fatal(err)
	}
	repl := map[string]*ebpf.Map{}
	mv := reflect.ValueOf(s.objs.sgMaps)
	for i := range mv.NumField() {
		name := mv.Type().Field(i).Tag.Get("ebpf")
		if ms, ok := spec.Maps[name]; ok {
			m := mv.Field(i).Interface().(*ebpf.Map)
			ms.MaxEntries = m.MaxEntries() // sized by the loader
			repl[name] = m
		}
	}
	vv := reflect.ValueOf(s.objs.sgVariables)
	for i := range vv.NumField() {
		name := vv.Type().Field(i).Tag.Get("ebpf")
		v := vv.Field(i).Interface().(*ebpf.Variable)
		buf := make([]byte, v.Size())
		if err := v.Get(buf); err != nil {
			tb.Fatalf("read %s: %v", name, err)
		}
		if sv := spec.Variables[name]; sv != nil && sv.Constant() {
			if err := sv.Set(buf); err != nil {
				tb.Fatalf("set %s: %v", name, err)
			}
		}
	}
	var objs sgnocapObjects
	if err := spec.LoadAndAssign(&objs, &ebpf.CollectionOptions{MapReplacements: repl}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { objs.Close() })
	// The mutable globals (test clock) are the program's own: copy them.
	nv := reflect.ValueOf(objs.sgnocapVariables)
	for i := range nv.NumField() {
		name := nv.Type().Field(i).Tag.Get("ebpf")
		dst := nv.Field(i).Interface().(*ebpf.Variable)
		if dst.ReadOnly() {
			continue
		}
		src := vv.FieldByNameFunc(func(n string) bool { return n == nv.Type().Field(i).Name }).Interface().(*ebpf.Variable)
		buf := make([]byte, src.Size())
		if err := src.Get(buf); err != nil {
			tb.Fatalf("read %s: %v", name, err)
		}
		if err := dst.Set(buf); err != nil {
			tb.Fatalf("set %s: %v", name, err)
		}
	}
	return &objs.sgnocapPrograms
}
