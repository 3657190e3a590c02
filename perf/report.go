package perf

import (
	"fmt"
	"strings"
)

// EndToEndSection is the name of BENCHMARKS.md's end-to-end section markers.
const EndToEndSection = "end-to-end"

// Markdown is the "End-to-end" section body: method, table, environment.
func (r *Results) Markdown(command string) string {
	var b strings.Builder
	shape := "two vpcemu subnets: instance ns `i-client` (10.10.1.10) — ENI veth — subnet ns (bridge) — uplink veth — " +
		"VPC router ns — uplink veth — subnet ns (bridge) — ENI veth — instance ns `i-server` (10.10.2.10), laid out by " +
		"`vpc.NewPlan` (the namespaces, interface names and MACs of `vpcemu up`), so NACL programs sit on the router end of both " +
		"uplinks (one judgement per packet: the source subnet's outbound table, then the destination subnet's inbound one) and SG programs on both ENIs' subnet-side ends, as in production"
	if r.Shape == ShapeDirect {
		shape = "the peers' layout: client ns — veth — router ns — veth — server ns (no subnet bridges)"
	}
	fmt.Fprintf(&b, "Measured %s with `%s` (%s, %d round(s), %s per metric; wall %s).\n\n",
		r.Start.UTC().Format("2006-01-02 15:04 MST"), command, r.Shape, r.Rounds, r.Dur, r.Wall.Round(1e9))
	b.WriteString("Each cell: **median of the rounds (min–max)**, then the ratio of the median to bare's median from the same run. ")
	b.WriteString("\"n/a\": the configuration's datapath is not in this build yet; \"failed\": no round produced a value (see the raw log).\n\n")
	b.WriteString(r.Table())
	if h := r.HeadToHead(); h != "" {
		b.WriteString("\nRound by round (each vpcemu configuration against each peer with the same rule count, both measured in the same round; the median of the per-round ratios, and the rounds where vpcemu's figure was higher):\n\n")
		b.WriteString(h)
	}
	b.WriteString(r.NATGatewayPairs())
	b.WriteString(r.FlowLogsOnOff())
	for _, m := range r.Metrics {
		// A scattered baseline makes every ratio of that column unreliable: say so.
		if st := r.Summarize("bare", m, ""); st.N > 1 && st.Min > 0 && st.Max/st.Min > 1.5 {
			fmt.Fprintf(&b, "\n**Caution:** bare's %s ranged %s–%s over the rounds of this run, so the ratios in that column carry that much noise; compare the min–max ranges, not just the medians.\n",
				metricTitle(m), fmtVal(st.Min), fmtVal(st.Max))
		}
	}
	b.WriteString("\n**Method.**\n\n")
	fmt.Fprintf(&b, "- Topology, rebuilt for every trial (one configuration in one round) and deleted after it: %s. MTU %d, veth defaults (TSO/GSO on, GRO off). Filters (netfilter FORWARD rules) live in the router namespace only; nothing on the host is touched.\n", shape, r.MTU)
	if r.Slices > 1 {
		fmt.Fprintf(&b, "- Interleaved in turns: each round brings every configuration up at once, each on its own topology, then measures each metric in %d turns of %s per configuration, alternating (A B, B A, ...); the round's figure is the mean of its turns, so other work on the machine disturbs the configurations of a round alike.\n", r.Slices, r.Dur)
	} else {
		b.WriteString("- Interleaved: round 1 runs every configuration, then round 2, ...; all metrics of a trial run on the same topology, one after the other.\n")
	}
	b.WriteString("- Rule sets: N rules that match no benchmark packet (`-s 10.99.a.b/32 -p tcp --dport 10000+i`), then one that allows VPC ↔ VPC, so every packet walks all N (worst case for first-match lists). iptables-nft: FORWARD policy DROP via `iptables-nft-restore`; `iptct` adds `-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT` first; nftables: `table ip` with the same N rules; `nftct` adds `ct state established,related accept` first. vpcemu NACL: `acl-bench` with rules 1..N (the same TCP /32 allows) and rule N+1 allowing 10.10.0.0/16, on both subnets, both directions, so every packet meets two tables of N+1 rules (its source subnet's outbound, its destination subnet's inbound) where the netfilter peers walk one list; XDP in generic or native mode, or tcx. vpcemu SG: `sg-bench` on both instances, N non-matching ingress rules plus ingress from 10.10.0.0/16 (not /0, so every flow is tracked) and egress to 0.0.0.0/0.\n")
	b.WriteString("- Flow logs (`sgnaclfl`): the same SG + NACL programs loaded with the shared flow maps (bpf/flow.h, a 131072-flow table), a VPC-wide flow log, and the counters drained every second as the flow-log pump drains them; records are not formatted or written (user-space cost outside the datapath). Compare with `sgnacl` of the same N.\n")
	b.WriteString("- TCP: `iperf3 -c SERVER -t DUR -A 0 -J` against `iperf3 -s -1 -A 1` (one stream; `end.sum_received.bits_per_second`); the retransmits column is the median of `end.sum_sent.retransmits`. Single-stream TCP over veth on a 2-vCPU VM moves by tens of percent between runs (ANCHORS.md: bare 11–20 Gbit/s in one run, with thousands of retransmits when the receiver falls behind); differences under ~30 % between configurations that keep TSO are noise, not speed-ups. Native XDP on a veth turns TSO off on its peer (the raw log records the offloads of every trial), which is the large, consistent drop.\n")
	b.WriteString("- UDP 64 B: the harness's own sendmmsg blaster (64 datagrams per call, 64-byte payload, one flow; a HELLO answered by the sink first, so stateful filters see an established flow) pinned to CPU 0, a recvmmsg sink busy-polling on CPU 1 (a sleeping sink would make the sender's CPU pay a wake-up IPI per batch, a VM cost larger than any filter); the figure is the delta of the server eth0's `rx_packets` over the sender's run time, i.e. what got through every filter.\n")
	b.WriteString("- New TCP connections/s: one client thread pinned to CPU 0 keeps 16 non-blocking connections in flight, each socket → connect → read until EOF → close, busy-polling; the server (CPU 1) busy-polls a non-blocking accept and closes each connection at once (server-side active close, so client ports never sit in TIME_WAIT). Without sleeps neither side waits for a wake-up IPI, so the rate is the TCP handshake plus the datapath, where filters' first-packet costs show. A connection not done within 1 s counts as an error.\n")
	b.WriteString("- Every process is started by the harness, bounded by a timeout, in its own process group, and killed by that id; Ctrl-C and errors remove the topology (and with it the rules and programs).\n")
	b.WriteString("- Rows marked \"peers' topology\" ran on the peers' client — router — server layout (../shared/bench), without subnet namespaces and bridges: their bare row against the vpc-shaped bare row is what the two extra bridges and veth hops of a vpcemu path cost, and links these figures to ANCHORS.md.\n")
	fmt.Fprintf(&b, "- Machine: %s.\n", r.Env)
	if r.Busy {
		b.WriteString("- **The machine was busy during this run** (load average above 1.5 before the first trial: other work shared the pinned CPUs), so absolute figures are lower and noisier than on an idle machine; ratios within the run remain the comparison to read.\n")
	}
	return b.String()
}
