#!/usr/bin/env bash
# `make bench`: vpcemu's benchmarks, printed as tables and written to
# BENCHMARKS.md (only the sections this script generates are replaced).
#
#   1. BPF_PROG_RUN benchmarks of the datapath (go test -bench ./loader/...)
#   2. topology build/teardown (go test -bench BuildTeardown ./netns/)
#   3. end to end across two vpcemu subnets (cmd/vpcemu-bench: bare,
#      iptables-nft, nftables, vpcemu NACL and SG; TCP, 64-byte UDP, conn/s)
#   4. the NACL against iptables-nft and nftables at 40 and 1000 rules, more
#      rounds (TCP, 64-byte UDP), with a round-by-round comparison
#   5. /metrics scraped every second and a running capture against the same
#      SG+NACL datapath without them, more rounds
#   6. each filter's share of the forwarding CPU (scripts/filter-profile.sh;
#      only where perf is installed)
#   7. vpcemu check, diff and replay on one core (go test -bench ./intent/)
#   8. the EC2 API's mutations on one core: vpc.Validate and Topology.Clone
#      against the parse of the export, a whole authorize/revoke request
#      (go test -bench ./vpc/ ./ec2api/)
#   9. vpcemu import of a generated account snapshot (50 VPCs, 2,000 security
#      groups, 20,000 rules) on one core: time and peak memory of the CLI,
#      and the Go benchmark (target < 2 s, < 500 MB)
#  10. `vpcemu up -d` / `vpcemu down` of 100, 1,000 and 2,000 instances and
#      the daemon's memory (vpcemu-bench updown)
#  11. the EC2 API: request to enforcement (p50/p99 over 1,000 changes),
#      RunInstances to the first answered curl (p50/p99 over 50 launches) and
#      authorize/revoke churn against an iperf3 flow (vpcemu-bench api)
#  12. routing (issue 12): the router program's route lookup through
#      BPF_PROG_RUN with 3 and 50 routes per table (go test -bench
#      RouteLookup ./loader/), and up/down of 3 VPCs x 10 subnets x 30
#      instances with route tables, a NAT gateway and two peerings beside
#      one VPC of as many instances (vpcemu-bench updown -routed), and
#      through a NAT gateway: TCP, 64-byte UDP and new connections/s of the
#      eBPF NAT gateway beside bare forwarding and nftables masquerade on the
#      same path (vpcemu-bench -configs fwd,masq,ngw)
#
# Environment:
#   BENCH_QUICK=1        1 s per metric, 1 round, short Go benchmarks (a smoke run)
#   BENCH_CONFIGS=...    end-to-end configurations (default: vpcemu-bench's list)
#   BENCH_ROUNDS=N       end-to-end rounds (default 3)
#   BENCH_DUR=3s BENCH_MTU=1500 BENCH_SHAPE=vpc|direct   end-to-end knobs (see vpcemu-bench -h)
#   BENCH_FOCUS=... BENCH_FOCUS_ROUNDS=11   part 4's configurations and rounds
#   BENCH_OBSERVE=... BENCH_OBSERVE_ROUNDS=7   part 5's configurations and rounds
#   BENCH_FLOWCONNS_ROUNDS=9   rounds of flow logs on/off for new connections
#   BENCH_UPDOWN_SIZES=100,1000,2000 BENCH_UPDOWN_ROUNDS=3   part 10's sizes and rounds
#   BENCH_ROUTED=3x10x30 BENCH_ROUTED_ROUNDS=3 BENCH_NGW_ROUNDS=5   part 12's routed topology and rounds
#   BENCH_SKIP="go netns e2e focus observe flowconns profile intent validate import updown api routing ngw"   parts to skip
#   BENCH_API_CHURN=20s  part 11's churn run length (the acceptance run: 60s)
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
# The NACL's acceptance comparison (40 and 1000 rules against iptables-nft
# and nftables) moves by less than a 3-round median scatters here: more
# rounds of just those configurations, with the per-round comparison.
case $SKIP in *" focus "*) ;; *)
	FOCUS=${BENCH_FOCUS:-bare,ipt40,nft40,naclgen40,nacltcx40,ipt1000,nft1000,naclgen1000,nacltcx1000}
	FROUNDS=${BENCH_FOCUS_ROUNDS:-11}
	[ "$QUICK" = 1 ] && FROUNDS=1
	log "NACL against netfilter: $FROUNDS rounds of $FOCUS"
	$B -configs "$FOCUS" -metrics udp64,tcp -rounds "$FROUNDS" ${BENCH_DUR:+-dur "$BENCH_DUR"} \
		-md "$MD" -section end-to-end-nacl -title "End-to-end: NACL against netfilter, $FROUNDS rounds" \
		-json "$OUT/nacl.json" -raw "$OUT/nacl.raw" || { log "NACL focus run failed"; status=1; } ;;
esac
# Observability: /metrics scraped every second, a running capture and a
# mirror session copying all traffic, against the same datapath without
# them, interleaved round by round.
case $SKIP in *" observe "*) ;; *)
	OBS=${BENCH_OBSERVE:-sgnacl40,sgnaclmet40,sgnaclcap40,sgnaclmir40}
	OROUNDS=${BENCH_OBSERVE_ROUNDS:-7}
	[ "$QUICK" = 1 ] && OROUNDS=1
	log "observability: $OROUNDS rounds of $OBS"
	$B -configs "$OBS" -metrics tcp,udp64,conns -rounds "$OROUNDS" -slices 4 -dur "${BENCH_DUR:-2s}" \
		-md "$MD" -section end-to-end-observe -title "End-to-end: metrics, capture and mirroring, $OROUNDS rounds" \
		-json "$OUT/observe.json" -raw "$OUT/observe.raw" || { log "observability run failed"; status=1; }
	grep -E '^(capture|metrics):' "$OUT/observe.raw" >&2 || true ;;
esac
# Flow logs' cost to new connections (issue 18): on against off, both up at
# once, measured in alternating turns within each round.
case $SKIP in *" flowconns "*) ;; *)
	FCROUNDS=${BENCH_FLOWCONNS_ROUNDS:-9}
	[ "$QUICK" = 1 ] && FCROUNDS=1
	log "flow logs and new connections: $FCROUNDS rounds of sgnacl40,sgnaclfl40"
	$B -configs sgnacl40,sgnaclfl40 -metrics conns,tcp -rounds "$FCROUNDS" -slices 4 -dur "${BENCH_DUR:-2s}" \
		-md "$MD" -section flow-logs-conns -title "Flow logs: new connections per second, $FCROUNDS rounds" \
		-json "$OUT/flowconns.json" -raw "$OUT/flowconns.raw" || { log "flow-log connections run failed"; status=1; } ;;
esac
# Where the cycles go: each filter's share of the forwarding CPU (needs perf).
case $SKIP in *" profile "*) ;; *)
	if command -v perf >/dev/null; then
		log "filter CPU share: scripts/filter-profile.sh"
		[ "$QUICK" = 1 ] && export PROFILE_DUR=${PROFILE_DUR:-4}
		{
			echo "## Filter CPU share (in situ)"
			echo
			echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`scripts/filter-profile.sh\` (run by \`$HOW\`): for each configuration one trial of 64-byte UDP across the two subnets while \`perf record -e cpu-clock\` samples CPU 0, the sender's, which with veth also runs the whole forwarding path in softirq; the share of CPU 0's samples in the filter's own code (vpcemu's BPF programs, nftables' \`nft_*\` also under iptables-nft, generic XDP's skb copy). A share of one CPU's samples does not depend on how fast the shared machine happens to run, unlike the throughput figures above. Kernel $(uname -r), $(nproc) CPUs."
			echo
			BENCH_BIN=$B scripts/filter-profile.sh
		} >"$OUT/profile.md" 2>"$OUT/profile.err" && $B md-section -file "$MD" -name filter-cpu-share <"$OUT/profile.md" ||
			{ log "filter profile failed, see $OUT/profile.err"; status=1; }
	else
		log "filter CPU share skipped: no perf (apt-get install linux-perf)"
	fi ;;
esac
# Static checks: the intents engine on one core (-cpu 1), CPU seconds as
# well as wall time (a shared machine's wall time measures its neighbours).
case $SKIP in *" intent "*) ;; *)
	go_bench go-bench-intent "Intent checks, diff and replay" \
		"\`vpcemu check\`, \`vpcemu diff\` and \`--replay\` without a kernel, on one core (\`-cpu 1\`), on a generated topology of 50 security groups of 60 rules and 20 network ACLs of 20 rules per direction (100 instances in 20 subnets): Check1000Intents decides 1,000 intents of the kinds a CI file holds (target < 1 s); Diff compares it with a copy one SG rule and one NACL rule apart (a pull request's change; target < 2 s), DiffEphemeralDeny with a copy whose NACL rule denies inbound TCP 32768-65535 (every TCP flow out of that subnet changes: the worst case of a small change); Replay judges flow-log records of connections in both directions over several windows (target >= 100,000 records per second); Explain is the explain walk a failing intent's counterexample gets. cpu-s/op, cpu-ms/explain and records/cpu-s are the process's CPU time (getrusage)." \
		-cpu 1 -bench . ./intent/ ;;
esac
# The EC2 API's mutations: each edits a copy of the topology and validates
# it (vpc.Validate), against the parse of the export it replaced.
case $SKIP in *" validate "*) ;; *)
	go_bench go-bench-validate "API mutations: copy and validation" \
		"What an EC2 API mutation costs besides the datapath, on one core (\`-cpu 1\`), for the built-in lab, a region about ten times its size (10 security groups of 20 rules, 20 instances) and one of 50 groups of 60 rules: \`vpc.Validate\` (the topology file's checks run on the model), \`Topology.Clone\` (the copy an edit is made on), and \`ParseExport\`, the export written and parsed again, which is how mutations were validated before; AuthorizeRevoke is a whole request through the API (decode, copy, edit, validate, commit, answer) with Validate and with the parse of the export. cpu-ns/op is the process's CPU time per operation (getrusage)." \
		-cpu 1 -benchmem -bench 'Validate|Clone|ParseExport|AuthorizeRevoke' ./vpc/ ./ec2api/ ;;
esac
# Import of a real-sized account: the CLI on one core (taskset, GOMAXPROCS=1),
# its wall and CPU time and peak resident memory, median of the runs.
case $SKIP in *" import "*) ;; *)
	go_bench go-bench-import "Import (Go benchmark)" \
		"\`importer.Import\` of the describe JSON of a generated account (\`importer.GenerateAccount(50, 2000, 10)\`: 50 VPCs, 2,000 security groups, 20,000 rules, 400 instances), one core (\`-cpu 1\`); MB/s is of the JSON read." \
		-cpu 1 -benchmem -bench ImportAccount ./importer/
	log "import: vpcemu import of a generated account snapshot"
	$GO build -o bin/vpcemu ./cmd/vpcemu
	rm -rf "$OUT/account" && $B account-snapshot "$OUT/account"
	IRUNS=5; [ "$QUICK" = 1 ] && IRUNS=1
	: >"$OUT/import.txt"
	for _ in $(seq "$IRUNS"); do
		GOMAXPROCS=1 taskset -c 0 /usr/bin/time -f '%e %U %S %M' -a -o "$OUT/import.txt" bin/vpcemu import "$OUT/account" -o "$OUT/account.yaml" >/dev/null 2>"$OUT/import.err" ||
			{ log "import failed, see $OUT/import.err"; status=1; break; }
	done
	{
		echo "## Import of an account snapshot"
		echo
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$HOW\`: \`vpcemu-bench account-snapshot\` writes the describe JSON of 50 VPCs, 2,000 security groups and 20,000 rules ($(du -sh "$OUT/account" | cut -f1), a Batfish-style snapshot); \`GOMAXPROCS=1 taskset -c 0 vpcemu import DIR -o FILE\` reads it, $IRUNS runs, median (min–max). Target: < 2 s and < 500 MB on one core. Wall time depends on what else runs (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end); CPU time (user + system) much less. Kernel $(uname -r), $(nproc) CPUs."
		echo
		echo "| metric | median (min–max) |"
		echo "|---|---|"
		# median (min–max) of one column of /usr/bin/time's lines
		col() { awk "{print $1}" "$OUT/import.txt" | sort -g | awk -v f="$2" '{a[NR]=$1} END {m=int((NR+1)/2); printf f, a[m], a[1], a[NR]}'; }
		col '$1' "| wall time | %.2f s (%.2f–%.2f) |\n"
		col '$2+$3' "| CPU time (user + system) | %.2f s (%.2f–%.2f) |\n"
		col '$4/1024' "| peak resident memory | %.0f MB (%.0f–%.0f) |\n"
	} | tee /dev/stderr | $B md-section -file "$MD" -name import-account ;;
esac
# A user's topology sizes, as a user brings them up and down: the CLI with
# a TCP echo on every instance, 20 instances per subnet.
case $SKIP in *" updown "*) ;; *)
	SIZES=${BENCH_UPDOWN_SIZES:-100,1000,2000}
	UROUNDS=${BENCH_UPDOWN_ROUNDS:-3}
	[ "$QUICK" = 1 ] && UROUNDS=1
	log "up/down: $SIZES instances, $UROUNDS rounds"
	if $B updown -sizes "$SIZES" -rounds "$UROUNDS" -vpcemu bin/vpcemu -json "$OUT/updown.json" >"$OUT/updown.table" 2>"$OUT/updown.log"; then
		cat "$OUT/updown.table"
		{
			echo "## Topology up/down with the daemon"
			echo
			echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$HOW\` (\`vpcemu-bench updown\`): \`vpcemu up -d\` until it returns (namespaces, links, datapath, a TCP echo service on every instance), the daemon's resident memory and open descriptors once up, \`vpcemu down\` until it returns, and how long after that the kernel still held the namespaces (it frees them asynchronously; read from \`/proc/slabinfo\`). Generated topologies (\`vpc.GenerateWith\`): one SG, 20 instances per subnet. Median (min–max) over $UROUNDS interleaved rounds. Kernel $(uname -r), $(nproc) CPUs."
			echo
			cat "$OUT/updown.table"
		} | $B md-section -file "$MD" -name updown
	else
		log "up/down benchmark failed, see $OUT/updown.log"; status=1
	fi ;;
esac
# The EC2 API against a real daemon: request to enforcement and rule churn.
case $SKIP in *" api "*) ;; *)
	log "EC2 API: vpcemu-bench api"
	$B api -vpcemu bin/vpcemu -churn-dur "${BENCH_API_CHURN:-20s}" -md "$MD" 2>&1 | tee "$OUT/api.txt" ||
		{ log "EC2 API benchmark failed, see $OUT/api.txt"; status=1; } ;;
esac
# Routing: the route lookup's per-packet cost, and a routed topology's
# up/down beside one VPC of as many instances, interleaved.
case $SKIP in *" routing "*) ;; *)
	log "routing: go test -bench RouteLookup ./loader/"
	rc=0
	$GO test -count="$COUNT" -benchtime="$BENCHTIME" -run '^$' -bench RouteLookup ./loader/ 2>&1 | tee "$OUT/routing-lookup.txt" || rc=$?
	[ "$rc" = 0 ] || { log "route lookup benchmark failed (exit $rc), see $OUT/routing-lookup.txt"; status=1; }
	ROUTED=${BENCH_ROUTED:-3x10x30}
	RROUNDS=${BENCH_ROUTED_ROUNDS:-3}
	[ "$QUICK" = 1 ] && RROUNDS=1
	RN=$(echo "$ROUTED" | awk -Fx '{print $1*$2*$3}')
	log "routing: up/down of $ROUTED beside $RN instances in one VPC, $RROUNDS rounds"
	$GO build -o bin/vpcemu ./cmd/vpcemu
	urc=0
	$B updown -sizes "$RN" -per-subnet 30 -routed "$ROUTED" -rounds "$RROUNDS" -vpcemu bin/vpcemu -json "$OUT/routing-updown.json" >"$OUT/routing-updown.table" 2>"$OUT/routing-updown.log" || urc=$?
	[ "$urc" = 0 ] || { log "routed up/down failed (exit $urc), see $OUT/routing-updown.log"; status=1; }
	cat "$OUT/routing-updown.table"
	{
		echo "## Routing"
		echo
		echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') with \`$HOW\`. Kernel $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
		echo
		echo "**Route lookup per packet** (\`go test -run '^\$' -count $COUNT -benchtime $BENCHTIME -bench RouteLookup ./loader/\`, median over the $COUNT runs (min–max)): the router program (bpf/nacl.bpf.c) through \`BPF_PROG_RUN\` at a real subnet port of a routed topology built in namespaces, so its \`bpf_fib_lookup\` searches the router namespace's kernel table of the subnet's route table: a TCP SYN from a private subnet to the peered VPC, routed by a table of 3 routes (local, 0.0.0.0/0 to the NAT gateway, the peer's /16 to the peering) and by one of 50 (the same and 47 /24s, half inside the peer's /16); *kernelrouting* is a port set as \`DatapathOptions.KernelRouting\` sets it (table 0): the program's NACL judgement only, the kernel's \`ip rule\` lookup that follows is not in \`BPF_PROG_RUN\`. *ratio* is the 50-route table's ns/pkt over the 3-route one's, median of 15 interleaved rounds of 20,000 runs each."
		echo
		$B gobench-table <"$OUT/routing-lookup.txt"
		echo
		echo "**Up/down** (\`vpcemu-bench updown -sizes $RN -per-subnet 30 -routed $ROUTED\`, $RROUNDS interleaved rounds, median (min–max)): \`vpcemu up -d\` and \`vpcemu down\` of \`vpc.GenerateRoutedWith\` ($ROUTED: VPCs × subnets × instances; each VPC's subnets on a route table, the first VPC's first subnet public with the NAT gateway the others' default route goes to, the first VPC peered with each other one, routes both ways), a TCP echo on every instance, beside one VPC of as many instances in subnets of 30 (\`vpc.GenerateWith\`). Target: up < 2 s. The routed row counts its namespaces once up."
		echo
		cat "$OUT/routing-updown.table"
	} | $B md-section -file "$MD" -name routing ;;
esac
case $SKIP in *" ngw "*) ;; *)
	# Through a NAT gateway: the eBPF NAT gateway against bare forwarding and
	# nftables masquerade on the same path, interleaved.
	NROUNDS=${BENCH_NGW_ROUNDS:-5}
	[ "$QUICK" = 1 ] && NROUNDS=1
	log "routing: NAT gateway path, $NROUNDS rounds of fwd,masq,ngw"
	$B -configs fwd,masq,ngw -metrics tcp,udp64,conns -rounds "$NROUNDS" -slices 3 -dur "${BENCH_DUR:-2s}" \
		-md "$MD" -section end-to-end-ngw -title "End-to-end: through a NAT gateway, $NROUNDS rounds" \
		-json "$OUT/ngw.json" -raw "$OUT/ngw.raw" || { log "NAT gateway run failed"; status=1; } ;;
esac
log "done: $MD updated, raw outputs in $OUT"
exit $status
