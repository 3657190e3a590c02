package loader

// One bpf2go stem per program file; output (*_bpfel.go/.o) is committed so
// that `go build` needs no clang. `make generate` reruns these. Go's
// constants come from the C enums, never from copies: bpf2go emits every
// type a map or a global names, and each program keeps the ABI enums it
// shares with Go in BTF through an unused global of that type.
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel nacl ../bpf/nacl.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel sg ../bpf/sg.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel igw ../bpf/igw.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel capture ../bpf/capture.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel ngw ../bpf/ngw.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf
// The SG program without the capture code of its drop path, for the
// benchmark of what that code costs (test files only).
//go:generate go tool bpf2go -cc $BPF2GO_CC -strip $BPF2GO_STRIP -target bpfel -output-suffix _test sgnocap ../bpf/sg.bpf.c -- -O2 -g -Wall -Werror -nostdinc -isystem ../bpf/include -I../bpf -DVPCEMU_NO_CAPTURE

// The rule compiler (rules, pure) gets the datapath's limits and markers the
// same way, as generated constants, since it must not import this package.
//go:generate go run ./internal/bpfconst -pkg rules -o ../rules/datapath_gen.go nacl_bpfel.o sg_bpfel.o -- NACL_MAX_RULES=NACLMaxRules NACL_WORDS=NACLWords NACL_DIRECT_MAX=NACLDirectMax NACL_CHILD_BIT=NACLChildBit SG_DIR_OUT=SGDirOut SG_DIR_IN=SGDirIn SG_PROTO_OTHER=SGProtoOther SG_MAX_NODE_ENTS=SGMaxNodeEnts SG_OPEN_ALL=SGOpenAll SG_OPEN_TCP=SGOpenTCP SG_OPEN_UDP=SGOpenUDP
