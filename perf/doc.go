// Package perf is vpcemu's end-to-end benchmark harness (`make bench`): a
// throwaway VPC-shaped topology per trial, filter configurations to compare
// (bare forwarding, iptables-nft, nftables, vpcemu's NACL and SG programs),
// load generators run inside the namespaces (iperf3, a sendmmsg UDP blaster,
// a new-connections-per-second client/server) and median/min/max tables.
//
// The method follows the peer measurements this project is compared with
// (../shared/bench, not imported): interleaved configurations, a fresh
// topology per trial, generators pinned to one CPU and receivers to the
// other, every process bounded by a timeout and killed by its own id.
// Nothing outside the namespaces a run creates is touched: filters live in
// the benchmark's router namespace only.
package perf
