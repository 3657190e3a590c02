/* SPDX-License-Identifier: GPL-2.0 */
/* flow.h: per-flow counters for VPC Flow Logs, shared by the NACL and SG
 * programs (the loader creates these maps once per topology and hands the
 * same maps to both collections).
 *
 * Accounting invariant (DESIGN.md): every packet is counted once for each
 * ENI that sends it or is addressed by it, with the verdict that became
 * final for that ENI, by the program where it became final:
 *   sent by ENI X:     SG drop -> REJECT (sg); SG pass to X's own subnet ->
 *                      ACCEPT (sg); SG pass elsewhere -> NACL outbound of X's
 *                      subnet decides ACCEPT/REJECT (nacl, at the router).
 *   addressed to X:    NACL inbound drop -> REJECT (nacl, at the router);
 *                      otherwise SG inbound decides (sg).
 * Counters never need a ring-buffer message per packet. The loader drains
 * one of two tables while programs fill the other (flow_gen selects), so no
 * increment is lost to a read-then-delete race. A full table is never
 * silent: the ENI's flow_skip counter grows and its window gets SKIPDATA.
 *
 * Cost on the hot path (BENCHMARKS.md "Flow logs"): everything is per CPU
 * (a per-CPU map, or the CPU's own part of an array),
 * so a count is plain adds (no atomics, no cache line shared between CPUs;
 * the loader sums the CPUs at drain), and the key holds addresses, not the
 * ENI: the ENI is the one owning the source (egress) or destination
 * (ingress) address, which the loader resolves at drain, so the NACL needs
 * no address lookup per packet. A flow's counts live in the generation's
 * log flow_log, appended to at the flow's first packet (a sequential write,
 * never a copy: short connections make flows faster than the loader
 * drains); an index flow_idx, two ways per set of a hash of the key, 16
 * bytes a set (64 KiB per CPU, so it stays in the CPU's caches), finds the
 * entry of a flow's later packets. A new flow takes a free way or the one
 * idle longer, unless that one was used this tick; only when both were, or
 * the log is full, does the flow go to the hash table flow_tabN, whose
 * lookup and insert cost cache misses per new flow (BENCHMARKS.md "Flow
 * logs").
 */
#ifndef VPCEMU_FLOW_H
#define VPCEMU_FLOW_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "parse.h"

#define FLOW_MAX_ENTRIES 65536 /* per table; the loader may resize */
#define FLOW_MAX_ENI 4096      /* ENI indexes are 1..FLOW_MAX_ENI-1 */

/* 0 when the loader was given no shared flow maps (tests, benchmarks): the
 * verifier then prunes every counting path, so the cost is exactly zero. */
volatile const __u32 flow_enabled = 1;

struct flow_key {
	__u32 saddr[4]; /* network order; IPv4 in [0] */
	__u32 daddr[4];
	__u16 sport;    /* host order; 0 for portless protocols */
	__u16 dport;
	__u8 proto;
	__u8 family;    /* 4 or 6 */
	__u8 egress;    /* 1: sent by the ENI owning saddr; 0: to the one owning daddr */
	__u8 reject;    /* 1: REJECT; 0: ACCEPT */
	/* The ENI that sent (egress) or received the packet when the program
	 * knows it (the SG's own; the NACL's where an ENI forwards others'
	 * packets: a NAT gateway's, an appliance's); 0: the one owning the
	 * address, which the loader finds. */
	__u32 eni;
	__u32 pad;
};

/* One CPU's share of a flow; the loader sums packets and bytes, takes the
 * earliest first_ns and latest last_ns and ORs the flags over the CPUs. */
struct flow_val {
	__u64 packets;   /* wire packets (GSO segments) */
	__u64 bytes;     /* IP bytes on the wire */
	__u64 first_ns;  /* bpf_ktime_get_coarse_ns of the first packet; 0: none on this CPU */
	__u64 last_ns;   /* of the last packet */
	__u64 tcp_flags; /* OR of per-packet FL-27 values */
};

#define FLOW_IDX_SETS 4096 /* per CPU and generation (the loader sizes flow_idx for the CPUs) */
#define FLOW_IDX_SHIFT 12  /* log2(FLOW_IDX_SETS) */
#define FLOW_LOG_PER_CPU 4096 /* the object's log entries per CPU; the loader sizes it (at most 65535) */

/* flow_log entries per CPU and generation: CPU c appends to generation g's
 * [(c * 2 + g) * n, (c * 2 + g) * n + n). The loader sets it and sizes
 * flow_log to (possible CPUs) * 2 * n. */
volatile const __u32 flow_log_per_cpu = FLOW_LOG_PER_CPU;

/* A flow and this CPU's counts of it: an entry of the log. */
struct flow_slot {
	struct flow_key key;
	struct flow_val val;
};

/* Where the log holds a flow, in the index. */
struct flow_ref {
	__u32 tag;  /* flow_hash of the key */
	__u16 pos;  /* 1 + the entry in the CPU's and generation's part of flow_log; 0: none */
	__u16 tick; /* flow_tick of the flow's last packet here */
};

/* Two ways: the refs of flows whose hash picks this set (16 bytes, so a
 * set never straddles a cache line). */
struct flow_set {
	struct flow_ref w[2];
};

/* An ENI's address -> its index (for flow_skip when a table is full). */
struct flow_addr_key {
	__u32 addr[4];
	__u8 family;
	__u8 pad[3];
};

struct flow_addr_val {
	__u32 eni;
};

/* One family's CIDR of an ENI's subnet (valid 0: the subnet has none). */
struct flow_cidr {
	__u32 net[4]; /* network order */
	__u32 mask[4];
	__u32 valid;
};

/* An ENI index -> its subnet's CIDRs, [0] IPv4 and [1] IPv6. */
struct flow_eni_net {
	struct flow_cidr c[2];
};

/* Per-CPU and preallocated: a new flow takes an element from a free list
 * (allocating per-CPU memory per new flow halved the connection rate). The
 * loader sizes the tables for the CPU count (loader.NewFlows). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FLOW_MAX_ENTRIES);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flow_tab0 SEC(".maps"); /* flow_key -> flow_val per CPU, generation 0 */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FLOW_MAX_ENTRIES);
	__type(key, struct flow_key);
	__type(value, struct flow_val);
} flow_tab1 SEC(".maps"); /* flow_key -> flow_val per CPU, generation 1 */

/* The index and the log are one array each, the generation part of the
 * index (not a choice between two maps), so that the verifier inlines the
 * lookups: a lookup in a map chosen at run time is a helper call. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FLOW_IDX_SETS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct flow_set);
} flow_idx SEC(".maps"); /* (CPU * 2 + generation) * FLOW_IDX_SETS + set -> refs into flow_log */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} flow_gen SEC(".maps"); /* 0 -> which table programs fill (0 or 1) */

/* Every flow a CPU counts outside the hash tables, appended at its first
 * packet per CPU and generation (flow_log_per_cpu each); the loader reads
 * them through a memory mapping. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * FLOW_LOG_PER_CPU);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct flow_slot);
} flow_log SEC(".maps"); /* (CPU * 2 + generation) * flow_log_per_cpu + i -> flow */

/* CPU * FLOW_LOGN_STRIDE + generation -> entries the CPU appended to its
 * part of flow_log (a cache line per CPU) */
#define FLOW_LOGN_STRIDE 8
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLOW_LOGN_STRIDE);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
} flow_logn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLOW_MAX_ENI);
	__type(key, __u32);
	__type(value, __u64);
} flow_skip SEC(".maps"); /* ENI index -> packets not counted (table full) */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLOW_MAX_ENI * 4);
	__type(key, struct flow_addr_key);
	__type(value, struct flow_addr_val);
} flow_addr SEC(".maps"); /* ENI private address -> ENI index */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLOW_MAX_ENI);
	__type(key, __u32);
	__type(value, struct flow_eni_net);
} flow_eni SEC(".maps"); /* ENI index -> its subnet's CIDRs */

/* An ENI's MAC, for the NACL to name the ENI that sent or receives a
 * packet not of its own addresses (rt_port's RT_F_FORWARDERS). */
struct flow_mac_key {
	__u8 mac[6];
	__u8 pad[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLOW_MAX_ENI);
	__type(key, struct flow_mac_key);
	__type(value, __u32);
} flow_mac SEC(".maps"); /* ENI MAC -> ENI index */

/* flow_eni_by_mac is the index of the ENI with MAC m, 0 if none. */
static __always_inline __u32 flow_eni_by_mac(const __u8 *m)
{
	if (!flow_enabled)
		return 0;
	struct flow_mac_key k = {};
	__builtin_memcpy(k.mac, m, 6);
	__u32 *v = bpf_map_lookup_elem(&flow_mac, &k);
	return v ? *v : 0;
}

/* flow_flags maps a TCP flags byte to its FL-27 value: FIN, SYN, RST, and
 * 18 for SYN+ACK; ACK/PSH/URG/ECE/CWR on their own count 0. */
static __always_inline __u32 flow_flags(__u8 f)
{
	__u32 v = f & 0x07;
	if ((f & 0x12) == 0x12)
		v |= 0x10;
	return v;
}

/* flow_eni_of returns the ENI index owning p's destination (dst) or source
 * address, or 0. */
static __always_inline __u32 flow_eni_of(const struct pkt *p, int dst)
{
	struct flow_addr_key k = {};
	k.family = p->family;
	__builtin_memcpy(k.addr, dst ? p->daddr : p->saddr, 16);
	struct flow_addr_val *v = bpf_map_lookup_elem(&flow_addr, &k);
	return v ? v->eni : 0;
}

/* flow_same_subnet tells whether p's destination is in the subnet of ENI
 * eni (an array lookup and a mask compare). */
static __always_inline int flow_same_subnet(const struct pkt *p, __u32 eni)
{
	struct flow_eni_net *n = bpf_map_lookup_elem(&flow_eni, &eni);
	if (!n)
		return 0;
	const struct flow_cidr *c = &n->c[p->family == 6 ? 1 : 0];
	if (!c->valid)
		return 0;
	for (int i = 0; i < 4; i++)
		if ((p->daddr[i] & c->mask[i]) != c->net[i])
			return 0;
	return 1;
}

/* flow_hash hashes k: six independent multiplies (the words of a key
 * differ mostly in a port), summed; the high half mixes every word. */
static __always_inline __u32 flow_hash(const struct flow_key *k)
{
	_Static_assert(sizeof(*k) == 48, "flow_hash reads six words");
	const __u64 *x = (const __u64 *)k;
	__u64 h = x[0] * 0x9e3779b97f4a7c15ULL + x[1] * 0xc2b2ae3d27d4eb4fULL + x[2] * 0x165667b19e3779f9ULL +
		  x[3] * 0xd6e8feb86659fd93ULL + x[4] * 0xff51afd7ed558ccdULL + x[5] * 0xc4ceb9fe1a85ec53ULL;
	return h >> 32;
}

/* flow_tick is the index's clock: coarse ns in units of 2^20 (about a
 * millisecond), truncated to 16 bits. */
static __always_inline __u16 flow_tick(__u64 now)
{
	return now >> 20;
}

static __always_inline int flow_key_eq(const struct flow_key *a, const struct flow_key *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	for (int i = 0; i < (int)(sizeof(*a) / 8); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* flow_add adds one packet's share to this CPU's counters of a flow. */
static __always_inline void flow_add(struct flow_val *v, __u32 segs, __u32 bytes, __u64 fl, __u64 now)
{
	/* This CPU's share: nothing else writes it while the program runs. */
	v->packets += segs;
	v->bytes += bytes;
	v->tcp_flags |= fl;
	if (!v->first_ns)
		v->first_ns = now;
	v->last_ns = now;
}

/* flow_append appends flow k, with this packet's counts, to this CPU's
 * part (part = CPU * 2 + generation) of the log: 1 + its entry there, or 0
 * when that part is full. */
static __always_inline __u32 flow_append(__u32 cpu, __u32 part, int g1, const struct flow_key *k, __u32 segs,
					 __u32 bytes, __u64 fl, __u64 now)
{
	__u32 g = cpu * FLOW_LOGN_STRIDE + (g1 ? 1 : 0);
	__u64 *n = bpf_map_lookup_elem(&flow_logn, &g);
	if (!n || *n >= flow_log_per_cpu)
		return 0;
	__u32 idx = part * flow_log_per_cpu + *n;
	struct flow_slot *e = bpf_map_lookup_elem(&flow_log, &idx);
	if (!e)
		return 0;
	e->key = *k;
	e->val.packets = segs;
	e->val.bytes = bytes;
	e->val.first_ns = now;
	e->val.last_ns = now;
	e->val.tcp_flags = fl;
	*n += 1;
	return *n;
}

/* flow_account counts segs wire packets of bytes IP bytes of p, sent
 * (egress) by the ENI owning its source or addressed to the one owning its
 * destination. eni names that ENI when the caller knows it (0: looked up
 * only if the table is full, to charge its flow_skip). */
static __always_inline void flow_account(const struct pkt *p, __u32 eni, int egress, int reject,
					 __u32 segs, __u32 bytes)
{
	if (!flow_enabled)
		return;
	__u32 zero = 0;
	__u32 *gen = bpf_map_lookup_elem(&flow_gen, &zero);
	int g1 = gen && *gen;
	struct flow_key k = {};
	__builtin_memcpy(k.saddr, p->saddr, 16);
	__builtin_memcpy(k.daddr, p->daddr, 16);
	k.sport = p->sport;
	k.dport = p->dport;
	k.proto = p->proto;
	k.family = p->family;
	k.egress = egress ? 1 : 0;
	k.reject = reject ? 1 : 0;
	k.eni = eni;
	/* Records have second resolution: the coarse clock (same base as
	 * CLOCK_MONOTONIC, tick resolution) costs a fraction of the precise one. */
	__u64 now = bpf_ktime_get_coarse_ns();
	__u64 fl = p->proto == IPPROTO_TCP ? flow_flags(p->tcp_flags) : 0;

	/* The index: the set the key's hash picks, two ways. */
	__u32 h = flow_hash(&k);
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 part = cpu * 2 + (g1 ? 1 : 0);
	__u32 si = part * FLOW_IDX_SETS + (h >> (32 - FLOW_IDX_SHIFT));
	__u16 tick = flow_tick(now);
	struct flow_set *s = bpf_map_lookup_elem(&flow_idx, &si);
	if (s) {
		for (int w = 0; w < 2; w++) {
			struct flow_ref *r = &s->w[w];
			if (!r->pos || r->tag != h)
				continue;
			__u32 li = part * flow_log_per_cpu + r->pos - 1;
			struct flow_slot *e = bpf_map_lookup_elem(&flow_log, &li);
			if (e && flow_key_eq(&e->key, &k)) {
				flow_add(&e->val, segs, bytes, fl, now);
				r->tick = tick;
				return;
			}
		}
		/* A flow new to this CPU's index: a free way, else the way
		 * idle longer unless it was used this tick (so that flows
		 * alternating in one set do not take a log entry per packet).
		 * A flow whose ref is replaced keeps its entry; its next packet
		 * starts another one (the loader adds them up). */
		struct flow_ref *r = !s->w[0].pos ? &s->w[0] : !s->w[1].pos ? &s->w[1] : NULL;
		if (!r) {
			__u16 age0 = tick - s->w[0].tick, age1 = tick - s->w[1].tick;
			r = age0 >= age1 ? &s->w[0] : &s->w[1];
			if (r->tick == tick)
				r = NULL;
		}
		if (r) {
			__u32 pos = flow_append(cpu, part, g1, &k, segs, bytes, fl, now);
			if (pos) {
				r->tag = h;
				r->pos = pos;
				r->tick = tick;
				return;
			}
		}
	}

	/* Both ways busy, or the log full: the hash table. */
	void *tab = g1 ? (void *)&flow_tab1 : (void *)&flow_tab0;
	struct flow_val *v = bpf_map_lookup_elem(tab, &k);
	if (!v) {
		struct flow_val nv = {.packets = segs, .bytes = bytes, .first_ns = now, .last_ns = now, .tcp_flags = fl};
		if (bpf_map_update_elem(tab, &k, &nv, BPF_NOEXIST) == 0)
			return;
		/* Another CPU created it (this CPU's share starts at zero), or
		 * the table is full. */
		v = bpf_map_lookup_elem(tab, &k);
		if (!v) {
			if (!eni)
				eni = flow_eni_of(p, !egress);
			__u64 *skip = bpf_map_lookup_elem(&flow_skip, &eni);
			if (skip && eni)
				*skip += segs;
			return;
		}
	}
	flow_add(v, segs, bytes, fl, now);
}

#endif
