#!/usr/bin/env bash
# filter-profile.sh: how much of the forwarding CPU each filter itself takes,
# measured in situ. For every configuration: one trial of 64-byte UDP
# (bin/vpcemu-bench, two vpcemu subnets) while `perf record -e cpu-clock`
# samples CPU 0, the sender's CPU, which with veth also runs the whole
# forwarding path in softirq. Prints the share of CPU 0's samples in the
# filter's own code: vpcemu's BPF programs, nftables (nft_*, also under
# iptables-nft), generic XDP's skb copy. Throughput swings by ±10 % between
# seconds on a shared VM; a share of one CPU's samples does not depend on how
# fast the machine happens to run, so it separates filters whose cost differs
# by a few percent of the path. Reports only; asserts nothing.
#
#   sudo scripts/filter-profile.sh [CONFIGS]     (needs perf: apt-get install linux-perf)
#   default CONFIGS: bare,ipt40,nft40,naclgen40,nacltcx40,ipt1000,nft1000,naclgen1000,nacltcx1000
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "filter-profile: run as root" >&2; exit 1; }
command -v perf >/dev/null || { echo "filter-profile: needs perf (apt-get install linux-perf)" >&2; exit 1; }
CONFIGS=${1:-bare,ipt40,nft40,naclgen40,nacltcx40,ipt1000,nft1000,naclgen1000,nacltcx1000}
DUR=${PROFILE_DUR:-12} # seconds of traffic per configuration; the middle half is sampled
# BENCH_BIN: a harness already built (scripts/bench.sh passes its own).
B=${BENCH_BIN:-}
if [ -z "$B" ]; then
	mkdir -p bin
	${GO:-go} build -o bin/vpcemu-bench ./cmd/vpcemu-bench
	B=bin/vpcemu-bench
fi
OUT=$(mktemp -d /tmp/vpcemu-profile.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# The filter's own symbols (perf's kernel symbol names).
FILTER='^(bpf_prog_[0-9a-f]+_(nacl|sg|igw)_|nft_|nf_tables_|ipt_do_table|xt_|do_xdp_generic|bpf_prog_run_generic_xdp|netif_skb_check_for_xdp|skb_cow_data_for_xdp)'

printf '| configuration | UDP 64 B, kpps | filter share of CPU 0 | largest filter symbols |\n|---|---|---|---|\n'
IFS=, read -r -a cfgs <<<"$CONFIGS"
for c in "${cfgs[@]}"; do
	# Not quick (which would cut the blast to 1 s): DUR decides.
	BENCH_QUICK=0 "$B" -configs "$c" -metrics udp64 -rounds 1 -dur "${DUR}s" >"$OUT/$c.txt" 2>&1 &
	bp=$!
	# Sample the middle of the blast: wait for the sender to start.
	for _ in $(seq 300); do
		pgrep -f "vpcemu-bench agent blast" >/dev/null && break
		sleep 0.1
	done
	sleep $((DUR / 4))
	perf record -a -e cpu-clock -F 4999 -o "$OUT/$c.data" -- sleep $((DUR / 2)) >/dev/null 2>&1 || true
	wait "$bp" || { echo "filter-profile: $c failed, see below" >&2; cat "$OUT/$c.txt" >&2; continue; }
	perf report -i "$OUT/$c.data" --stdio --no-children --sort sym -C 0 -q 2>/dev/null |
		awk '$1 ~ /%$/ {sub("%", "", $1); print $1, $NF}' >"$OUT/$c.sym"
	kpps=$(sed -n 's/.*udp64=\([0-9.]*\)kpps.*/\1/p' "$OUT/$c.txt" | head -1)
	awk -v re="$FILTER" '$2 ~ re' "$OUT/$c.sym" | sort -rn >"$OUT/$c.filter"
	share=$(awk '{s += $1} END {printf "%.1f %%", s}' "$OUT/$c.filter")
	top=$(head -3 "$OUT/$c.filter" | awk '{printf "%s`%s` %.1f %%", (NR > 1 ? ", " : ""), $2, $1}')
	printf '| %s | %s | %s | %s |\n' "$c" "${kpps:-?}" "${share:-0.0 %}" "${top:--}"
done
