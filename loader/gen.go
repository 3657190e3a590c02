package loader

// One bpf2go stem per program file; output (*_bpfel.go/.o) is committed so
// that `go build` needs no clang. `make generate` reruns these.
// the C types Go uses beyond what the maps mention: the ABI
// enums (Go's constants come from them, never from copies) and the load-time
// configuration structs.
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel nacl ../bpf/nacl.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel sg ../bpf/sg.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel igw ../bpf/igw.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel capture ../bpf/capture.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
// The SG program without the capture code of its drop path, for the
// benchmark of what that code costs (test files only).
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel -output-suffix _test sgnocap ../bpf/sg.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf -DVPCEMU_NO_CAPTURE
