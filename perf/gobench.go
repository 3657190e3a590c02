package perf

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// GoBench is one benchmark of `go test -bench` output, every run of it.
type GoBench struct {
	Pkg   string
	Name  string               // without the -GOMAXPROCS suffix
	Units []string             // in first-seen order: ns/op, then custom metrics
	Vals  map[string][]float64 // unit -> one value per run
	order int
}

// ParseGoBench reads `go test -bench` output (any number of packages and -count runs).
func ParseGoBench(r io.Reader) []*GoBench {
	byKey := map[string]*GoBench{}
	var out []*GoBench
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		key := pkg + " " + name
		b := byKey[key]
		if b == nil {
			b = &GoBench{Pkg: pkg, Name: name, Vals: map[string][]float64{}, order: len(out)}
			byKey[key] = b
			out = append(out, b)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			u := f[i+1]
			if u == "B/op" || u == "allocs/op" {
				continue // Go-side allocation figures say nothing about the datapath
			}
			if _, seen := b.Vals[u]; !seen {
				b.Units = append(b.Units, u)
			}
			b.Vals[u] = append(b.Vals[u], v)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].order < out[j].order })
	return out
}

// GoBenchTable renders benchmarks as Markdown: per benchmark, every unit's
// median over the runs with min–max.
func GoBenchTable(bs []*GoBench) string {
	if len(bs) == 0 {
		return "(no benchmark results)\n"
	}
	var b strings.Builder
	b.WriteString("| package | benchmark | runs | median (min–max) |\n|---|---|---|---|\n")
	for _, g := range bs {
		var cells []string
		runs := 0
		for _, u := range g.Units {
			v := g.Vals[u]
			runs = max(runs, len(v))
			c := fmtVal(Median(v)) + " " + u
			if len(v) > 1 {
				c += fmt.Sprintf(" (%s–%s)", fmtVal(slicesMin(v)), fmtVal(slicesMax(v)))
			}
			cells = append(cells, c)
		}
		pkg := strings.TrimPrefix(g.Pkg, "github.com/vpcemu/vpcemu/")
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", pkg, strings.TrimPrefix(g.Name, "Benchmark"), runs, strings.Join(cells, "; "))
	}
	return b.String()
}
