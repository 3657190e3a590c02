#!/usr/bin/env bash
# `make bench`: vpcemu's benchmarks, printed as tables and written to
# BENCHMARKS.md (only the sections this script generates are replaced).
#
#   1. BPF_PROG_RUN benchmarks of the datapath (go test -bench ./loader/...)
#   2. topology build/teardown (go test -bench BuildTeardown ./netns/)
#   3. end to end across two vpcemu subnets (cmd/vpcemu-bench: bare,
#      iptables-nft, nftables, vpcemu NACL and SG; TCP, 64-byte UDP, conn/s)
#
# Environment:
#   BENCH_QUICK=1        1 s per metric, 1 round, short Go benchmarks (a smoke run)
#   BENCH_CONFIGS=...    end-to-end configurations (default: vpcemu-bench's list)
#   BENCH_ROUNDS=N       end-to-end rounds (default 3)
#   BENCH_DUR=3s BENCH_MTU=1500 BENCH_SHAPE=vpc|direct   end-to-end knobs (see vpcemu-bench -h)
#   BENCH_SKIP="go netns e2e"   parts to skip
#   BENCH_MD=file        Markdown file to update (default BENCHMARKS.md)
#   BENCH_OUT=dir        raw outputs (default /tmp/vpcemu-bench-DATE)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (sudo make bench)" >&2; exit 1; }

GO=${GO:-go}
QUICK=${BENCH_QUICK:-0}
MD=${BENCH_MD:-BENCHMARKS.md}
OUT=${BENCH_OUT:-/tmp/vpcemu-bench-$(date +%Y%m%d-%H%M%S)}
SKIP=" ${BENCH_SKIP:-} "
mkdir -p "$OUT" bin
export BENCH_QUICK=$QUICK

if [ "$QUICK" = 1 ]; then
	BENCHTIME=${BENCH_TIME:-200ms}; COUNT=${BENCH_COUNT:-1}; HOW="BENCH_QUICK=1 make bench"
else
	BENCHTIME=${BENCH_TIME:-1s}; COUNT=${BENCH_COUNT:-5}; HOW="make bench"
fi

$GO build -o bin/vpcemu-bench ./cmd/vpcemu-bench
B=bin/vpcemu-bench
log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
status=0

# go_bench NAME TITLE DESCRIPTION go-test-args...: run, print, write one section.
go_bench() {
	local name=$1 title=$2 desc=$3; shift 3
	local raw=$OUT/$name.txt rc=0
	log "$title: go test $*"
	$GO test -count="$COUNT" -benchtime="$BENCHTIME" -run '^$' "$@" 2>&1 | tee "$raw" || rc=$?
	[ "$rc" = 0 ] || { log "$title: go test failed (exit $rc), see $raw"; status=1; }
	local table
	table=$($B gobench-table <"$raw")
	echo; echo "$table"; echo
	{
		echo "## $title"
		echo
		echo "$desc"
		echo
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$HOW\`: \`go test -run '^\$' -count $COUNT -benchtime $BENCHTIME $*\`;"
		echo "median over the $COUNT runs (min–max). Kernel $(uname -r), $(nproc) CPUs."
		echo
		echo "$table"
		[ "$rc" = 0 ] || { echo; echo "**go test failed (exit $rc) in this run; the table holds what completed.**"; }
	} | $B md-section -file "$MD" -name "$name"
}

case $SKIP in *" go "*) ;; *)
	go_bench go-bench-datapath "Datapath per packet (BPF_PROG_RUN)" \
		"The BPF programs run by the kernel on prepared frames (\`BPF_PROG_RUN\`, repeat N), no topology involved: the per-packet cost of parsing, NACL rule tables and SG lookups, as the programs' own benchmarks in \`loader/\` define them. The NACL and Security groups sections interpret these figures." \
		-bench . ./loader/... ;;
esac
case $SKIP in *" netns "*) ;; *)
	go_bench go-bench-topology "Topology up/down" \
		"Building and tearing down a whole vpcemu topology (namespaces, veths, bridges, addresses, routes) with \`netns.Build\`/\`netns.Teardown\`." \
		-bench BuildTeardown ./netns/ ;;
esac
case $SKIP in *" e2e "*) ;; *)
	log "end to end: $B (raw output in $OUT)"
	args=(-md "$MD" -json "$OUT/e2e.json" -raw "$OUT/e2e.raw")
	[ -n "${BENCH_CONFIGS:-}" ] && args+=(-configs "$BENCH_CONFIGS")
	[ -n "${BENCH_ROUNDS:-}" ] && args+=(-rounds "$BENCH_ROUNDS")
	[ -n "${BENCH_DUR:-}" ] && args+=(-dur "$BENCH_DUR")
	[ -n "${BENCH_MTU:-}" ] && args+=(-mtu "$BENCH_MTU")
	[ -n "${BENCH_SHAPE:-}" ] && args+=(-shape "$BENCH_SHAPE")
	$B "${args[@]}" || { log "end-to-end harness failed"; status=1; } ;;
esac
log "done: $MD updated, raw outputs in $OUT"
exit $status
