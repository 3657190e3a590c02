package loader

// One bpf2go stem per program file; output (*_bpfel.go/.o) is committed so
// that `go build` needs no clang. `make generate` reruns these.
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel nacl ../bpf/nacl.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel sg ../bpf/sg.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel igw ../bpf/igw.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel capture ../bpf/capture.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
