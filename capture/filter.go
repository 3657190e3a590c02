package capture

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// Filter is a compiled tcpdump filter expression ("tcp port 80 and host
// 10.0.1.10"), run on each captured Ethernet frame.
type Filter struct {
	expr string
	vm   *bpf.VM
}

// CompileFilter compiles expr with tcpdump (libpcap's compiler: the
// language users know, nothing reimplemented) into classic BPF for
// Ethernet frames. An empty expression matches everything (nil Filter).
func CompileFilter(expr string) (*Filter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		return nil, errors.New("--filter needs tcpdump to compile the expression (apt-get install tcpdump, or `make deps`)")
	}
	// -y EN10MB with -i lo: compile for Ethernet frames; nothing is
	// captured (-ddd only prints the program).
	cmd := exec.Command(tcpdump, "-ddd", "-y", "EN10MB", "-i", "lo", "--", expr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "tcpdump: ")
		return nil, fmt.Errorf("--filter %q: %s", expr, msg)
	}
	prog, err := parseDDD(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("--filter %q: tcpdump's program: %w", expr, err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, fmt.Errorf("--filter %q: %w", expr, err)
	}
	return &Filter{expr: expr, vm: vm}, nil
}

// parseDDD reads `tcpdump -ddd` output: a count line, then one
// "code jt jf k" line per instruction.
func parseDDD(s string) ([]bpf.Instruction, error) {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n != len(lines)-1 {
		return nil, fmt.Errorf("want a count and %d instructions, got %d lines", n, len(lines))
	}
	prog := make([]bpf.Instruction, 0, n)
	for _, l := range lines[1:] {
		var f [4]uint64
		parts := strings.Fields(l)
		if len(parts) != 4 {
			return nil, fmt.Errorf("instruction %q", l)
		}
		for i, p := range parts {
			if f[i], err = strconv.ParseUint(p, 10, 32); err != nil {
				return nil, fmt.Errorf("instruction %q: %w", l, err)
			}
		}
		prog = append(prog, bpf.RawInstruction{Op: uint16(f[0]), Jt: uint8(f[1]), Jf: uint8(f[2]), K: uint32(f[3])}.Disassemble())
	}
	return prog, nil
}

// Match tells whether frame passes the filter; a nil Filter passes all.
func (f *Filter) Match(frame []byte) bool {
	if f == nil {
		return true
	}
	n, err := f.vm.Run(frame)
	return err == nil && n > 0
}

// String is the expression.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.expr
}
