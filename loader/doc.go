// Package loader loads vpcemu's BPF objects (committed bpf2go output),
// attaches them inside a topology's namespaces, swaps rule tables and pumps
// the event ring buffer. It is privileged.
package loader
