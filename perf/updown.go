package perf

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vpcemu/vpcemu/lab"
	"github.com/vpcemu/vpcemu/vpc"
)

// UpDownOptions configure the daemon's up/down benchmark: a user's
// `vpcemu up -d` and `vpcemu down` of generated topologies.
type UpDownOptions struct {
	Vpcemu    string        // the vpcemu binary
	Sizes     []int         // instance counts
	PerSubnet int           // instances per subnet (default 20: 1,000 instances in 50 subnets)
	Rounds    int           // interleaved rounds (default 3)
	Reclaim   time.Duration // how long to wait for the kernel to free the namespaces (default 3 min)
	// Routed are routed topologies (vpc.GenerateRoutedWith: route tables,
	// a NAT gateway, peerings) brought up and down beside Sizes.
	Routed []RoutedShape
	Log    io.Writer
}

// RoutedShape is a vpc.GenerateRouted topology's size.
type RoutedShape struct{ VPCs, Subnets, PerSubnet int }

func (r RoutedShape) String() string { return fmt.Sprintf("%dx%dx%d", r.VPCs, r.Subnets, r.PerSubnet) }

// ParseRoutedShape reads VPCSxSUBNETSxINSTANCES, e.g. 3x10x30.
func ParseRoutedShape(s string) (RoutedShape, error) {
	var r RoutedShape
	f := strings.Split(s, "x")
	if len(f) != 3 {
		return r, fmt.Errorf("routed topology %q: want VPCSxSUBNETSxINSTANCES (e.g. 3x10x30)", s)
	}
	var n [3]int
	for i, v := range f {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 || x > 200 {
			return r, fmt.Errorf("routed topology %q: %q is not a count of 1..200", s, v)
		}
		n[i] = x
	}
	return RoutedShape{n[0], n[1], n[2]}, nil
}

// UpDownSample is one up and down of one size.
type UpDownSample struct {
	Instances  int     `json:"instances"`
	Routed     string  `json:"routed,omitempty"`     // a RoutedShape; "" for vpc.GenerateWith's one VPC
	Namespaces int     `json:"namespaces,omitempty"` // namespaces the kernel gained once up (routed only)
	Round      int     `json:"round"`
	Up         float64 `json:"up_s"`   // `vpcemu up -d` until it returns (topology ready)
	Down       float64 `json:"down_s"` // `vpcemu down` until it returns
	// Reclaim is how long after `down` returned the kernel still held the
	// topology's namespaces (it frees them asynchronously); -1 when unknown.
	Reclaim float64 `json:"reclaim_s"`
	RSS     float64 `json:"rss_mib"` // the daemon's resident memory once up
	FDs     int     `json:"fds"`     // the daemon's open file descriptors once up
	Err     string  `json:"error,omitempty"`
}

// UpDown brings each size up and down Rounds times, sizes interleaved
// within a round, and returns every sample. A failed round is recorded and
// the next one runs.
func UpDown(ctx context.Context, o UpDownOptions) ([]UpDownSample, error) {
	if o.PerSubnet <= 0 {
		o.PerSubnet = 20
	}
	if o.Rounds <= 0 {
		o.Rounds = 3
	}
	if o.Reclaim <= 0 {
		o.Reclaim = 3 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	dir, err := os.MkdirTemp("", "vpcemu-updown")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var out []UpDownSample
	for round := 1; round <= o.Rounds; round++ {
		var topos []upDownTopo
		for _, n := range o.Sizes {
			name := fmt.Sprintf("ud%d-%d", os.Getpid()%100000, n)
			topos = append(topos, upDownTopo{name: name, n: n,
				src: vpc.GenerateWith(name, n, vpc.GenerateOptions{PerSubnet: o.PerSubnet, Services: upDownServices})})
		}
		for _, r := range o.Routed {
			name := fmt.Sprintf("udr%d-%s", os.Getpid()%100000, r)
			topos = append(topos, upDownTopo{name: name, n: r.VPCs * r.Subnets * r.PerSubnet, routed: r.String(),
				src: vpc.GenerateRoutedWith(name, r.VPCs, r.Subnets, r.PerSubnet, vpc.GenerateOptions{Services: upDownServices})})
		}
		for _, tp := range topos {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			s := upDownOnce(ctx, o, dir, tp)
			s.Round = round
			fmt.Fprintf(o.Log, "updown: round %d, %d instances %s: up %.2fs, down %.2fs, reclaim %.1fs, rss %.0f MiB, %d fds %s\n",
				round, tp.n, tp.routed, s.Up, s.Down, s.Reclaim, s.RSS, s.FDs, s.Err)
			out = append(out, s)
		}
	}
	return out, nil
}

// upDownServices run on every instance: a TCP echo.
var upDownServices = []vpc.Service{{Kind: "tcp", Port: 80}}

// upDownTopo is one generated topology of the benchmark.
type upDownTopo struct {
	name, routed string
	n            int
	src          []byte
}

func upDownOnce(ctx context.Context, o UpDownOptions, dir string, tp upDownTopo) UpDownSample {
	n, name, src := tp.n, tp.name, tp.src
	s := UpDownSample{Instances: n, Routed: tp.routed, Reclaim: -1}
	file := filepath.Join(dir, name+".yaml")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		s.Err = err.Error()
		return s
	}
	down := func() (time.Duration, error) {
		start := time.Now()
		err := runFor(context.WithoutCancel(ctx), updownTimeout, o.Vpcemu, "down", "--purge", name)
		return time.Since(start), err
	}
	base := liveNetns()
	start := time.Now()
	if err := runFor(ctx, updownTimeout, o.Vpcemu, "up", "-d", "-q", "-f", file); err != nil {
		down()
		s.Err = fmt.Sprintf("up: %v", err)
		return s
	}
	s.Up = time.Since(start).Seconds()
	if tp.routed != "" {
		s.Namespaces = topoNamespaces(name)
	}
	if st, err := lab.ReadState(lab.PathsFor(lab.DefaultRunRoot, lab.DefaultDataRoot, name)); err == nil {
		s.RSS, s.FDs = procUsage(st.PID)
	}
	d, err := down()
	s.Down = d.Seconds()
	if err != nil {
		s.Err = fmt.Sprintf("down: %v", err)
		return s
	}
	if base >= 0 {
		// Other namespaces may come and go meanwhile: back to within a
		// few of the baseline is "freed".
		slack := max(10, n/100)
		deadline := time.Now().Add(o.Reclaim)
		start = time.Now()
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if liveNetns() <= base+slack {
				s.Reclaim = time.Since(start).Seconds()
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

// updownTimeout bounds one `vpcemu up` or `down` of the benchmark.
const updownTimeout = 10 * time.Minute

// runFor runs a command bounded by timeout; its output goes into the error.
func runFor(ctx context.Context, timeout time.Duration, name string, args ...string) error {
	c, cancel := newCmd(ctx, timeout, name, args...)
	defer cancel()
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// procUsage returns a process's resident memory (MiB) and open descriptors.
func procUsage(pid int) (rssMiB float64, fds int) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				rssMiB = kb / 1024
			}
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		fds = len(ents)
	}
	return rssMiB, fds
}

// topoNamespaces counts the named namespaces of topology name.
func topoNamespaces(name string) int {
	ents, _ := os.ReadDir("/run/netns")
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), vpc.NSPrefix(name)) {
			n++
		}
	}
	return n
}

// liveNetns is how many network namespaces the kernel holds, freed or not
// yet (its net_namespace slab cache), or -1 when /proc/slabinfo says nothing.
func liveNetns() int {
	b, err := os.ReadFile("/proc/slabinfo")
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) > 1 && f[0] == "net_namespace" {
			if n, err := strconv.Atoi(f[1]); err == nil {
				return n
			}
		}
	}
	return -1
}

// UpDownTable renders samples as a Markdown table: per size the median
// (min–max) over the rounds.
func UpDownTable(samples []UpDownSample, perSubnet int) string {
	type key struct {
		n      int
		routed string
	}
	var keys []key
	seen := map[key]bool{}
	for _, s := range samples {
		k := key{s.Instances, s.Routed}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	var b strings.Builder
	b.WriteString("| instances | subnets | namespaces | up (s) | down (s) | kernel frees namespaces (s after down) | daemon RSS (MiB) | daemon fds |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, k := range keys {
		n := k.n
		var up, down, reclaim, rss, fds, nss []float64
		failed := 0
		for _, s := range samples {
			if s.Instances != n || s.Routed != k.routed {
				continue
			}
			if s.Err != "" {
				failed++
				continue
			}
			up, down, rss, fds = append(up, s.Up), append(down, s.Down), append(rss, s.RSS), append(fds, float64(s.FDs))
			if s.Reclaim >= 0 {
				reclaim = append(reclaim, s.Reclaim)
			}
			if s.Namespaces > 0 {
				nss = append(nss, float64(s.Namespaces))
			}
		}
		cell := func(v []float64, prec int) string {
			if len(v) == 0 {
				return "–"
			}
			f := "%." + strconv.Itoa(prec) + "f"
			c := fmt.Sprintf(f, Median(v))
			if len(v) > 1 {
				c += fmt.Sprintf(" ("+f+"–"+f+")", slicesMin(v), slicesMax(v))
			}
			return c
		}
		inst := strconv.Itoa(n)
		subnets := strconv.Itoa((n + perSubnet - 1) / perSubnet)
		namespaces := strconv.Itoa(n + (n+perSubnet-1)/perSubnet + 2)
		if k.routed != "" {
			r, err := ParseRoutedShape(k.routed)
			if err == nil {
				inst += fmt.Sprintf(" (routed: %d VPCs × %d subnets × %d, route tables, a NAT gateway, %d peerings)", r.VPCs, r.Subnets, r.PerSubnet, r.VPCs-1)
				subnets = strconv.Itoa(r.VPCs * r.Subnets)
			}
			namespaces = cell(nss, 0)
		}
		if failed > 0 {
			inst += fmt.Sprintf(" (%d of %d rounds failed)", failed, failed+len(up))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", inst, subnets, namespaces,
			cell(up, 2), cell(down, 2), cell(reclaim, 1), cell(rss, 0), cell(fds, 0))
	}
	return b.String()
}
