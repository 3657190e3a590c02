/* SPDX-License-Identifier: GPL-2.0 */
/* sg.bpf.c: security groups on the ENI veth's subnet-side end (tc).
 *
 * Contract (spec §1). sg_ingress runs on the tc ingress hook (frames the
 * instance sends: outbound rules), sg_egress on the tc egress hook (frames
 * it receives: inbound rules). Per packet: conntrack lookup first; a live
 * entry admits the packet whatever the rules say (SG-20, SG-27). On a miss
 * the union of the ENI's rules for the direction decides (SG-4); an admitted
 * packet creates an entry unless its flow is untracked (SG-23/24) or the
 * ENI's conntrack allowance is used up (SG-38). Allowed packets return
 * TC_ACT_UNSPEC ("next"), so later programs on the hook still run;
 * drops return TC_ACT_SHOT and emit a vpc_event (events.h, EV_SG_DROP),
 * and the frame with its verdict while a capture wants drops (capture.h).
 * Not judged at all: non-IP frames, IPv6 ND/MLD, and traffic to or from
 * SG-45's services and router addresses (never tracked either). Non-first
 * fragments are judged by port-unrestricted rules alone, without state.
 *
 * Untracked flows keep no state, so the reply of an untracked flow must
 * not create an entry either: a TCP/UDP packet whose own direction is
 * all-open (/0, all ports) and whose reversal the opposite direction admits
 * through a /0 rule is treated as such a reply and passes untracked.
 *
 * Flow logs (flow.h): every judged packet the ENI receives is counted here
 * (ACCEPT or REJECT, ingress); of what it sends, drops (REJECT, egress) and
 * passes to its own subnet (ACCEPT, egress: no NACL on that path). A pass
 * elsewhere is counted by the NACL program where it enters the router.
 */
#include "parse.h"
#include "conntrack.h"
#include "sg.h"
#include "events.h"
#include "flow.h"
#ifdef VPCEMU_NO_CAPTURE
#define CAP_NONE
#else
#define CAP_DROPS
#endif
#include "capture.h"
#include <linux/pkt_cls.h>
#include "mirror.h"

/* Test clock: now_override != 0 replaces the clock, now_offset shifts it. */
volatile __u64 now_override;
volatile __s64 now_offset;
/* Live rule-table generation (0 or 1); see sg.h. */
volatile __u32 sg_gen;
/* Set once by the loader (sg.h). */
volatile const struct sg_config sg_cfg = {.ct_fast_mask = (1 << 16) - 1};

/* Keep the ABI types in BTF so bpf2go emits Go constants and mirrors for
 * them (and the layout test compares both objects' vpc_event). */
struct vpc_event _sg_event_btf __attribute__((unused));
enum sg_drop _sg_drop_btf __attribute__((unused));
enum sg_eni_flag _sg_eni_flag_btf __attribute__((unused));
enum sg_dir _sg_dir_btf __attribute__((unused));
enum sg_limit _sg_limit_btf __attribute__((unused));
enum sg_open _sg_open_btf __attribute__((unused));
enum sg_node_flag _sg_node_flag_btf __attribute__((unused));
enum ct_state _ct_state_btf __attribute__((unused));
enum ct_slot_state _ct_slot_state_btf __attribute__((unused));
enum ev_kind _sg_ev_kind_btf __attribute__((unused));
enum ev_dir _sg_ev_dir_btf __attribute__((unused));

/* (instance MAC, gen) -> ENI configuration */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * SG_MAX_ENIS);
	__type(key, struct sg_eni_key);
	__type(value, struct sg_eni);
} sg_eni SEC(".maps");

/* (ENI, gen, dir, family, proto, peer prefix) -> slice of sg_ents */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SG_MAX_LPM);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sg_lpm_key);
	__type(value, struct sg_lpm_val);
} sg_rules SEC(".maps");

/* index -> candidate rule; [0, N/2) generation 0, [N/2, N) generation 1 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_MAX_ENTS);
	__type(key, __u32);
	__type(value, struct sg_ent);
} sg_ents SEC(".maps");

/* normalised flow of one ENI -> tracking state, for keys whose ct_fast slot
 * was taken; the loader sizes it */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_val);
} ct_table SEC(".maps");

/* hash(key) & sg_cfg.ct_fast_mask -> slot; the loader sizes it (a power of two) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 16);
	__type(key, __u32);
	__type(value, struct ct_slot);
} ct_fast SEC(".maps");

/* ENI index -> counters */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SG_MAX_ENIS);
	__type(key, __u32);
	__type(value, struct sg_stats);
} sg_stats SEC(".maps");

/* address (IPv4 in the first word, rest 0) -> 1: VPC base+2 and every
 * subnet's base+1..3, whose traffic no SG filters (SG-45) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sg_addr);
	__type(value, __u8);
} sg_reserved SEC(".maps");

/* address (IPv4 in the first word, rest 0) -> the index of the ENI that
 * holds it: primary, secondary and IPv6 addresses (ENI-5's "its own") */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__type(key, struct sg_addr);
	__type(value, __u32);
} sg_owner SEC(".maps");

/* 0 -> program runs in flight per rule-table generation, on each CPU
 * ("Counting readers" below) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sg_inflight);
} sg_inflight SEC(".maps");

/* drop events (struct vpc_event of events.h, kind EV_SG_DROP, reason SG_DROP_*) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} sg_events SEC(".maps");

/* reserved: an address of SG-45's services (DNS, DHCP, IMDS,
 * Time Sync: all of 169.254.0.0/16, fe80::/10, fd00:ec2::/32) or the
 * router's reserved addresses; rules.ReservedService is the reference. */
static __always_inline int reserved(const __u32 *a, __u8 family)
{
	__u32 h = bpf_ntohl(a[0]);
	if (family == 4) {
		if ((h >> 16) == 0xa9fe)
			return 1;
		if (!(h & 3) || (h & sg_cfg.rsv4_mask))
			return 0;
	} else {
		if (h == 0xfd000ec2 || (h & 0xffc00000) == 0xfe800000)
			return 1;
		__u32 l = bpf_ntohl(a[3]);
		if (!(l & 3))
			return 0;
		if (!sg_cfg.rsv6_any && (a[2] != 0 || l > 3))
			return 0;
	}
	struct sg_addr k;
	__builtin_memcpy(k.a, a, 16);
	return bpf_map_lookup_elem(&sg_reserved, &k) != NULL;
}

static __always_inline __u64 ct_now(void)
{
	__u64 o = now_override;
	if (o)
		return o;
	return bpf_ktime_get_ns() + now_offset;
}

static __always_inline __u32 ct_timeout_s(const struct sg_eni *cfg, __u8 state)
{
	__u32 s;
	switch (state) {
	case CT_TCP_SYN:
		s = CT_SYN_S;
		break;
	case CT_TCP_EST:
		s = cfg->tcp_est_s;
		break;
	case CT_TCP_CLOSING:
		s = CT_CLOSING_S;
		break;
	case CT_UDP:
		s = cfg->udp_s;
		break;
	case CT_UDP_STREAM:
		s = cfg->udp_stream_s;
		break;
	case CT_ICMP:
		s = cfg->icmp_s;
		break;
	default:
		s = CT_OTHER_S;
	}
	return s;
}

/* An entry admits traffic while now - last < timeout. */
static __always_inline int ct_expired(const struct ct_val *v, __u64 now)
{
	if (now <= v->last_ns)
		return 0;
	return now - v->last_ns >= (__u64)v->timeout_s * NSEC;
}

static __always_inline void stats_add_tracked(__u32 eni, __s64 d)
{
	struct sg_stats *s = bpf_map_lookup_elem(&sg_stats, &eni);
	if (s)
		__sync_fetch_and_add(&s->tracked, d);
}

struct sweep_ctx {
	__u32 eni; /* 0 = every ENI */
	__u64 now;
	__u64 next; /* earliest deadline among the remaining entries of eni */
};

static __always_inline void sweep_one(struct ct_val *v, struct sweep_ctx *c, int *del)
{
	*del = 0;
	if (c->eni && v->eni != c->eni)
		return;
	if (ct_expired(v, c->now)) {
		*del = 1;
		return;
	}
	__u64 d = v->last_ns + (__u64)v->timeout_s * NSEC;
	if (d < c->next)
		c->next = d;
}

static long sweep_hash_cb(void *map, struct ct_key *k, struct ct_val *v, struct sweep_ctx *c)
{
	int del;
	__u32 idx = v->eni;
	sweep_one(v, c, &del);
	if (del && bpf_map_delete_elem(map, k) == 0)
		stats_add_tracked(idx, -1);
	return 0;
}

static long sweep_fast_cb(void *map, __u32 *k, struct ct_slot *s, struct sweep_ctx *c)
{
	int del;
	if (s->used != CT_SLOT_LIVE)
		return 0;
	__u32 idx = s->v.eni;
	sweep_one(&s->v, c, &del);
	if (del && __sync_val_compare_and_swap(&s->used, CT_SLOT_LIVE, CT_SLOT_BUSY) == CT_SLOT_LIVE) {
		stats_add_tracked(idx, -1);
		s->used = CT_SLOT_FREE;
	}
	return 0;
}

/* ct_sweep deletes expired entries of eni (0: all) and fixes the counts;
 * for one ENI it also renews the ENI's next-expiry bound. */
static __always_inline void ct_sweep(__u32 eni, __u64 now)
{
	struct sweep_ctx c = {.eni = eni, .now = now, .next = ~0ULL};
	bpf_for_each_map_elem(&ct_fast, sweep_fast_cb, &c, 0);
	bpf_for_each_map_elem(&ct_table, sweep_hash_cb, &c, 0);
	if (eni) {
		struct sg_stats *s = bpf_map_lookup_elem(&sg_stats, &eni);
		if (s)
			s->next_expiry = c.next;
	}
}

/* ct_deadline lowers the ENI's next-expiry bound to an entry's deadline. */
static __always_inline void ct_deadline(__u32 eni, const struct ct_val *v)
{
	struct sg_stats *s = bpf_map_lookup_elem(&sg_stats, &eni);
	__u64 d = v->last_ns + (__u64)v->timeout_s * NSEC;
	if (s && d < s->next_expiry)
		s->next_expiry = d;
}

struct scan_ctx {
	__u32 off;
	__u16 v;
	__u8 c;
	__u8 pad;
	int result;
};

/* Linear scan of a group whose entries are not disjoint port intervals
 * (ICMP type/code entries): the first match decides. */
static long scan_cb(__u32 i, struct scan_ctx *s)
{
	__u32 idx = s->off + i;
	struct sg_ent *e = bpf_map_lookup_elem(&sg_ents, &idx);
	if (!e)
		return 1;
	if (s->v < e->lo || s->v > e->hi || s->c < e->clo || s->c > e->chi)
		return 0;
	s->result = 1;
	return 1;
}

struct bisect_ctx {
	__u32 off;
	__u32 lo; /* the answer is in [lo, hi) */
	__u32 hi;
	__u32 v;
};

/* One bisection step: narrow to the last entry with lo <= v. */
static long bisect_cb(__u32 i, struct bisect_ctx *b)
{
	if (b->hi - b->lo <= 1)
		return 1;
	__u32 mid = b->lo + (b->hi - b->lo) / 2;
	__u32 idx = b->off + mid;
	struct sg_ent *e = bpf_map_lookup_elem(&sg_ents, &idx);
	if (!e)
		return 1;
	if (e->lo <= b->v)
		b->lo = mid;
	else
		b->hi = mid;
	return 0;
}

/* group_match tells whether an entry of sg_ents[off, off+n) admits (v, c):
 * bisection when the group is sorted and disjoint, a scan otherwise. Both
 * loops are bpf_loop callbacks, which the verifier checks once. */
static __always_inline int group_match(__u32 off, __u32 n, int sorted, __u16 v, __u8 c)
{
	if (!n)
		return 0;
	if (n > SG_MAX_NODE_ENTS)
		n = SG_MAX_NODE_ENTS;
	if (!sorted) {
		struct scan_ctx s = {.off = off, .v = v, .c = c};
		bpf_loop(n, scan_cb, &s, 0);
		return s.result;
	}
	struct bisect_ctx b = {.off = off, .lo = 0, .hi = n, .v = v};
	bpf_loop(SG_SEARCH_STEPS, bisect_cb, &b, 0);
	__u32 idx = off + b.lo;
	struct sg_ent *e = bpf_map_lookup_elem(&sg_ents, &idx);
	return e && e->lo <= v && v <= e->hi && e->clo <= c && c <= e->chi;
}

/* sg_match judges p against the rules of dir: peer is the remote address,
 * (v, c) the port-or-type and code. It returns 0 (no rule), 1 (admitted)
 * or 2 (admitted by a /0 rule); zero_only looks at /0 rules alone. */
static __always_inline int sg_match(__u32 gen, const struct sg_eni *cfg, __u8 dir, const struct pkt *p,
				    const __u32 *peer, __u16 v, __u8 c, int zero_only)
{
	struct sg_lpm_key k = {};
	__u32 proto = p->proto;
	k.prefixlen = 64 + (p->family == 4 ? 32 : 128);
	k.eni = cfg->idx;
	k.gen_dir = (gen << 1) | dir;
	k.family = p->family;
	k.proto = (cfg->protos[dir & 1][(proto >> 5) & 7] & (1u << (proto & 31))) ? proto : SG_PROTO_OTHER;
	__builtin_memcpy(k.addr, peer, 16);
	struct sg_lpm_val *val = bpf_map_lookup_elem(&sg_rules, &k);
	if (!val)
		return 0;
	if (p->frag == FRAG_LATER)
		return (val->flags & SG_NODE_HAS_FULL) ? 1 : 0;
	__u32 nz = val->nzero;
	if (group_match(val->off, nz, val->flags & SG_NODE_ZERO_SORTED, v, c))
		return 2;
	if (zero_only || val->n <= nz)
		return 0;
	return group_match(val->off + nz, val->n - nz, val->flags & SG_NODE_REST_SORTED, v, c);
}

/* open_all: dir has a /0 rule of p's family admitting p's protocol on all ports. */
static __always_inline int open_all(const struct sg_eni *cfg, __u8 dir, const struct pkt *p)
{
	__u8 o = cfg->open[dir & 1][p->family == 6];
	if (o & SG_OPEN_ALL)
		return 1;
	if (p->proto == IPPROTO_TCP)
		return o & SG_OPEN_TCP;
	if (p->proto == IPPROTO_UDP)
		return o & SG_OPEN_UDP;
	return 0;
}

/* sg_wire returns the wire packets of skb and their IP bytes: a GSO skb
 * stands for gso_segs packets, each with its own copy of the L3+L4 headers. */
static __always_inline __u32 sg_wire(struct __sk_buff *skb, const struct pkt *p, __u32 *bytes)
{
	__u32 segs = skb->gso_segs;
	if (segs <= 1 || p->l4_off <= ETH_HLEN) {
		*bytes = p->l3_len;
		return 1;
	}
	__u32 hdr = l34_hdr_len((void *)(long)skb->data, (void *)(long)skb->data_end, p);
	if (!hdr) /* TCP offset out of reach: assume no options */
		hdr = p->l4_off - ETH_HLEN + 20;
	__u32 len = skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
	*bytes = len + (segs - 1) * hdr;
	return segs;
}

/* sg_pass counts an admitted packet (see "Flow logs" above) and lets it go. */
static __always_inline int sg_pass(struct __sk_buff *skb, const struct pkt *p, __u32 eni, __u8 dir)
{
	if (mirror_enabled)
		mirror_tap(skb, p, eni, dir == SG_DIR_IN, 0);
	if (!flow_enabled)
		return TC_ACT_UNSPEC;
	if (dir == SG_DIR_OUT && !flow_same_subnet(p, eni))
		return TC_ACT_UNSPEC;
	__u32 bytes;
	__u32 segs = sg_wire(skb, p, &bytes);
	flow_account(p, eni, dir == SG_DIR_OUT, 0, segs, bytes);
	return TC_ACT_UNSPEC;
}

static __always_inline int sg_drop(struct __sk_buff *skb, const struct pkt *p, __u32 eni, __u8 dir, __u8 code,
				   __u64 now)
{
	/* ENI-5's drops are logged nowhere [INTERP, OQ-11]. */
	if (flow_enabled && code != SG_DROP_MALFORMED && code != SG_DROP_SOURCE_DEST_CHECK) {
		__u32 fb;
		__u32 fs = sg_wire(skb, p, &fb);
		flow_account(p, eni, dir == SG_DIR_OUT, 1, fs, fb);
	}
	struct sg_stats *s = bpf_map_lookup_elem(&sg_stats, &eni);
	if (s) {
		__sync_fetch_and_add(&s->drops, 1);
		if (code == SG_DROP_ALLOWANCE)
			__sync_fetch_and_add(&s->exceeded, 1);
		__u32 segs = skb->gso_segs;
		__sync_fetch_and_add(&s->drops_by[code & (SG_DROP_CODES - 1)], segs ? segs : 1);
	}
	struct vpc_event *e = bpf_ringbuf_reserve(&sg_events, sizeof(*e), 0);
	if (e) {
		__u32 segs = skb->gso_segs;
		e->ts_ns = now;
		__builtin_memcpy(e->saddr, p->saddr, 16);
		__builtin_memcpy(e->daddr, p->daddr, 16);
		e->sport = p->sport;
		e->dport = p->dport;
		e->obj = eni;
		e->packets = segs ? segs : 1;
		e->bytes = skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
		e->rule = 0;
		e->kind = EV_SG_DROP;
		e->reason = code;
		e->dir = dir == SG_DIR_OUT ? EV_DIR_OUTBOUND : EV_DIR_INBOUND;
		e->family = p->family;
		e->proto = p->proto;
		e->tcp_flags = p->tcp_flags;
		e->icmp_type = p->icmp_type;
		e->icmp_code = p->icmp_code;
		e->frag = p->frag;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		bpf_ringbuf_submit(e, 0);
	} else if (s) {
		__sync_fetch_and_add(&s->events_lost, 1);
	}
	cap_drop_skb(skb, cap_verdict(EV_SG_DROP, eni, 0, code, dir == SG_DIR_OUT ? EV_DIR_OUTBOUND : EV_DIR_INBOUND));
	return TC_ACT_SHOT;
}

/* Counting readers. A run reads one generation's tables (sg_eni, sg_rules,
 * sg_ents) and counts itself in sg_inflight[gen] meanwhile, so that user
 * space can tell when a retired generation has no reader left and may be
 * rewritten: microseconds after the flip, where an RCU grace period takes
 * 10-100 ms.
 *
 * Reader (here): add 1 to n[g], then read sg_gen again; the same g means
 * the run may use g until it subtracts the 1. Writer (sg_flip, then
 * sg_readers until 0): store sg_gen = new, then read every CPU's n[old].
 * Both sides put a full barrier between their store and their load: BPF's
 * value-returning atomics (BPF_FETCH) are fully ordered, the others are
 * not (arm64 JITs a plain atomic add as a relaxed STADD), so every update
 * of n and the writer's reads are fetching atomics (sg_atomic_add). That
 * is Dekker's pattern (store buffering forbidden): either the reader's
 * second read of sg_gen sees the flip, and the run retries with the new
 * generation, or the writer's read of n[old] sees the reader's 1 and waits
 * for it. The subtraction, fully ordered too, comes after the run's last
 * read of the tables, so a writer that sees the count at 0 rewrites
 * nothing a run still reads. After the flip no run starts on the retired
 * generation (a retrying run holds it for two instructions and gives it
 * back), so its count only goes down. A same g read twice across two
 * flips (g retired, rewritten and live again) is safe too: then the run's
 * 1 counts against the next retirement of g.
 *
 * The retries are bounded (SG_ENTER_TRIES): each needs a whole update by
 * user space between two instructions of the run. After them the run holds
 * both generations and uses whichever is live: the writer's poll of either
 * sees it (the same argument), so it is safe, only it delays the next
 * reuse by one run.
 *
 * A packet of a tracked flow reads no generation (ct_fast and ct_table are
 * shared by both) unless its state changes, so it counts itself only then.
 *
 * tc programs run with migration disabled, so a run adds and subtracts on
 * one CPU's counter; the atomics are for runs nested on a CPU (a program
 * interrupted by a softirq running another), and user space sums over
 * CPUs anyway. */
#define SG_ENTER_TRIES 3

static __always_inline void sg_atomic_add(__u64 *c, __s64 d)
{
	__u64 old = __sync_fetch_and_add(c, d);
	/* use the result: without it clang emits the non-fetching (relaxed) add */
	asm volatile("" : : "r"(old) : "memory");
}

/* sg_enter counts the run as a reader and returns the generation it reads;
 * *held is the mask of generations counted, for sg_exit. */
static __always_inline __u32 sg_enter(struct sg_inflight *c, __u32 *held)
{
	__u32 g = sg_gen & 1;
#pragma unroll
	for (int i = 0; i < SG_ENTER_TRIES; i++) {
		sg_atomic_add(&c->n[g], 1);
		__u32 now = sg_gen & 1;
		if (now == g) {
			*held = 1 << g;
			return g;
		}
		sg_atomic_add(&c->n[g], -1);
		g = now;
	}
	sg_atomic_add(&c->n[0], 1);
	sg_atomic_add(&c->n[1], 1);
	*held = 3;
	return sg_gen & 1;
}

static __always_inline struct sg_inflight *sg_counters(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&sg_inflight, &zero);
}

static __always_inline void sg_exit(struct sg_inflight *c, __u32 held)
{
	if (held & 1)
		sg_atomic_add(&c->n[0], -1);
	if (held & 2)
		sg_atomic_add(&c->n[1], -1);
}

/* ct_refresh restarts the idle timer; a state change takes the new state's
 * timeout from the ENI's configuration of the live generation (the only
 * lookup on a hit); ek's gen is set here. */
static __always_inline void ct_refresh(struct ct_val *v, const struct pkt *p, __u8 side, __u64 now,
				       struct sg_eni_key *ek)
{
	__u8 st = v->state;
	v->last_ns = now;
	v->pkts[side & 1]++;
	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & (TCP_FIN | TCP_RST))
			st = CT_TCP_CLOSING;
		else if (st == CT_TCP_SYN && side != v->init_side)
			st = CT_TCP_EST;
	} else if (p->proto == IPPROTO_UDP) {
		if (side != v->last_side && side != v->init_side) {
			if (v->exchanges < 255)
				v->exchanges++;
			if (v->exchanges >= 2)
				st = CT_UDP_STREAM;
		}
		v->last_side = side;
	}
	if (st != v->state) {
		v->state = st;
		struct sg_inflight *c = sg_counters();
		if (c) {
			__u32 held;
			ek->gen = sg_enter(c, &held);
			struct sg_eni *cfg = bpf_map_lookup_elem(&sg_eni, ek);
			if (cfg)
				v->timeout_s = ct_timeout_s(cfg, st);
			sg_exit(c, held);
		}
		ct_deadline(v->eni, v);
	}
}

static __always_inline __u8 ct_initial_state(const struct pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP:
		if (p->tcp_flags & (TCP_FIN | TCP_RST))
			return CT_TCP_CLOSING;
		if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			return CT_TCP_SYN;
		return CT_TCP_EST;
	case IPPROTO_UDP:
		return CT_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_:
		return CT_ICMP;
	}
	return CT_OTHER;
}

/* sg_judge gives the verdict on a parsed frame (r: parse_skb's result)
 * that no conntrack entry admitted, with the rule tables of generation gen,
 * which the caller holds (sg_enter); ek is the ENI's key in gen, sl the
 * flow's ct_fast slot (NULL: untracked). */
static __always_inline int sg_judge(struct __sk_buff *skb, const struct pkt *p, int r, __u8 dir, __u32 gen,
				    const struct sg_eni_key *ek, __u64 now, struct ct_slot *sl, const struct ct_key *ck,
				    __u8 side)
{
	/* SG-45: never filtered, never tracked; only the slow path pays */
	if (r == PARSE_IP && (reserved(p->saddr, p->family) || reserved(p->daddr, p->family))) {
		if (mirror_enabled) {
			struct sg_eni *c = bpf_map_lookup_elem(&sg_eni, ek);
			if (c)
				mirror_tap(skb, p, c->idx, dir == SG_DIR_IN, 1);
		}
		return TC_ACT_UNSPEC;
	}

	struct sg_eni *cfg = bpf_map_lookup_elem(&sg_eni, ek);
	if (!cfg)
		return sg_drop(skb, p, 0, dir, SG_DROP_UNKNOWN_ENI, now);
	if (r != PARSE_IP)
		return sg_drop(skb, p, cfg->idx, dir, SG_DROP_MALFORMED, now);
	/* A NAT gateway's ENI has no SG (NGW-2): only its flow log counts. */
	if (cfg->flags & SG_ENI_NO_SG)
		return sg_pass(skb, p, cfg->idx, dir);
	/* ENI-5: with the check on, only the ENI's own addresses send and
	 * receive through it; before the SG (PATH-10, PATH-15). */
	if (!(cfg->flags & SG_ENI_CHECK_OFF)) {
		struct sg_addr a;
		__builtin_memcpy(a.a, dir == SG_DIR_OUT ? p->saddr : p->daddr, 16);
		__u32 *own = bpf_map_lookup_elem(&sg_owner, &a);
		if (!own || *own != cfg->idx)
			return sg_drop(skb, p, cfg->idx, dir, SG_DROP_SOURCE_DEST_CHECK, now);
	}

	const __u32 *peer = dir == SG_DIR_OUT ? p->daddr : p->saddr;
	if (p->frag == FRAG_LATER) {
		/* no ports: rules alone decide, and no state is kept */
		if (!sg_match(gen, cfg, dir, p, peer, 0, 0, 0))
			return sg_drop(skb, p, cfg->idx, dir,
				       cfg->no_rules[dir & 1] ? SG_DROP_NO_RULES : SG_DROP_RULES_MISMATCH, now);
		return sg_pass(skb, p, cfg->idx, dir);
	}

	__u16 v = 0;
	__u8 c = 0;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		v = p->dport;
	} else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_) {
		v = p->icmp_type;
		c = p->icmp_code;
	}
	int m = sg_match(gen, cfg, dir, p, peer, v, c, 0);
	if (!m)
		return sg_drop(skb, p, cfg->idx, dir, cfg->no_rules[dir & 1] ? SG_DROP_NO_RULES : SG_DROP_RULES_MISMATCH,
			       now);

	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		/* a SYN-ACK never initiates, a bare SYN never answers */
		__u8 sa = p->tcp_flags & (TCP_SYN | TCP_ACK);
		int udp = p->proto == IPPROTO_UDP;
		int can_init = udp || sa != (TCP_SYN | TCP_ACK);
		int can_resp = udp || sa != TCP_SYN;
		/* SG-23: /0 rule here and an all-ports /0 rule the other way */
		if (can_init && m == 2 && open_all(cfg, dir ^ 1, p))
			return sg_pass(skb, p, cfg->idx, dir);
		/* the reply of such a flow started in the other direction */
		if (can_resp && open_all(cfg, dir, p) && sg_match(gen, cfg, dir ^ 1, p, peer, p->sport, 0, 1) == 2)
			return sg_pass(skb, p, cfg->idx, dir);
	}

	__u32 idx = cfg->idx;
	if (cfg->max_entries) {
		struct sg_stats *st = bpf_map_lookup_elem(&sg_stats, &idx);
		if (st && st->tracked >= cfg->max_entries) {
			/* sweep only when some entry of the ENI may have expired */
			if (now >= st->next_expiry)
				ct_sweep(idx, now);
			if (st->tracked >= cfg->max_entries)
				return sg_drop(skb, p, idx, dir, SG_DROP_ALLOWANCE, now);
		}
	}
	struct ct_val nv = {};
	nv.last_ns = now;
	nv.created_ns = now;
	nv.pkts[side & 1] = 1;
	nv.state = ct_initial_state(p);
	nv.init_side = side;
	nv.last_side = side;
	nv.init_dir = dir;
	nv.eni = idx;
	nv.timeout_s = ct_timeout_s(cfg, nv.state);
	if (!sl)
		return sg_pass(skb, p, idx, dir);
	/* claim the slot if it is free or holds an expired entry */
	__u64 prev = sl->used;
	if ((prev == CT_SLOT_FREE || (prev == CT_SLOT_LIVE && ct_expired(&sl->v, now))) &&
	    __sync_val_compare_and_swap(&sl->used, prev, CT_SLOT_BUSY) == prev) {
		if (prev == CT_SLOT_LIVE)
			stats_add_tracked(sl->v.eni, -1);
		sl->k = *ck;
		sl->v = nv;
		asm volatile("" ::: "memory"); /* key and value before "live" */
		sl->used = CT_SLOT_LIVE;
		stats_add_tracked(idx, 1);
		ct_deadline(idx, &nv);
		return sg_pass(skb, p, idx, dir);
	}
	sl->overflow = 1;
	if (bpf_map_update_elem(&ct_table, ck, &nv, BPF_NOEXIST) == 0) {
		stats_add_tracked(idx, 1);
		ct_deadline(idx, &nv);
	}
	return sg_pass(skb, p, idx, dir);
}

static __always_inline int sg_handle(struct __sk_buff *skb, __u8 dir)
{
	/* a mirrored copy re-entering its source ENI (mirror.h) */
	if (mirror_enabled && dir == SG_DIR_OUT && (skb->mark & MIRROR_MARK_MASK) == MIRROR_MARK)
		return mirror_wrap(skb);
	struct pkt p;
	int r = parse_skb(skb, &p);
	if (r == PARSE_NOT_IP)
		return TC_ACT_UNSPEC;
	/* IPv6 neighbour discovery and MLD are link control, not VPC traffic
	 * (rules.SGBypass); protocol 58 in IPv4 is no such thing */
	if (r == PARSE_IP && p.family == 6 && p.proto == IPPROTO_ICMPV6_ &&
	    ((p.icmp_type >= 130 && p.icmp_type <= 137) || p.icmp_type == 143))
		return TC_ACT_UNSPEC;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	struct sg_eni_key ek = {};
	if (dir == SG_DIR_OUT)
		__builtin_memcpy(ek.mac, eth->h_source, 6);
	else
		__builtin_memcpy(ek.mac, eth->h_dest, 6);
	__u64 now = ct_now();

	/* the fast path: a live entry admits without looking at the ENI */
	struct ct_key ck;
	__u8 side = 0;
	struct ct_slot *sl = NULL;
	if (r == PARSE_IP && p.frag != FRAG_LATER) {
		ct_key_of(&p, ek.mac, &ck, &side);
		__u32 h = ct_hash(&ck) & sg_cfg.ct_fast_mask;
		sl = bpf_map_lookup_elem(&ct_fast, &h);
		if (!sl)
			return TC_ACT_SHOT;
		if (sl->used == CT_SLOT_LIVE && ct_key_eq(&sl->k, &ck)) {
			if (!ct_expired(&sl->v, now)) {
				ct_refresh(&sl->v, &p, side, now, &ek);
				return sg_pass(skb, &p, sl->v.eni, dir);
			}
			__u32 old = sl->v.eni;
			if (__sync_val_compare_and_swap(&sl->used, CT_SLOT_LIVE, CT_SLOT_BUSY) == CT_SLOT_LIVE) {
				stats_add_tracked(old, -1);
				sl->used = CT_SLOT_FREE;
			}
		} else if (sl->overflow) {
			struct ct_val *cv = bpf_map_lookup_elem(&ct_table, &ck);
			if (cv) {
				if (!ct_expired(cv, now)) {
					ct_refresh(cv, &p, side, now, &ek);
					return sg_pass(skb, &p, cv->eni, dir);
				}
				__u32 old = cv->eni;
				if (bpf_map_delete_elem(&ct_table, &ck) == 0)
					stats_add_tracked(old, -1);
			}
		}
	}

	struct sg_inflight *c = sg_counters();
	if (!c)
		return TC_ACT_SHOT;
	__u32 held;
	__u32 gen = sg_enter(c, &held);
	ek.gen = gen;
	int ret = sg_judge(skb, &p, r, dir, gen, &ek, now, sl, &ck, side);
	sg_exit(c, held);
	return ret;
}

SEC("tc")
int sg_ingress(struct __sk_buff *skb)
{
	return sg_handle(skb, SG_DIR_OUT);
}

SEC("tc")
int sg_egress(struct __sk_buff *skb)
{
	return sg_handle(skb, SG_DIR_IN);
}

/* sg_sweep (run with BPF_PROG_RUN) deletes every expired entry and fixes
 * the per-ENI counts, so allowance figures read by user space are exact. */
SEC("tc")
int sg_sweep(struct __sk_buff *skb)
{
	ct_sweep(0, ct_now());
	return TC_ACT_UNSPEC;
}

struct readers_ctx {
	__u32 gen;
	__u64 n;
};

static long readers_cb(__u32 cpu, struct readers_ctx *r)
{
	__u32 zero = 0;
	struct sg_inflight *c = bpf_map_lookup_percpu_elem(&sg_inflight, &zero, cpu);
	if (!c)
		return 1; /* past the last possible CPU */
	/* a fetching atomic: a full barrier, see "Counting readers" */
	r->n += __sync_fetch_and_add(&c->n[r->gen & 1], 0);
	return 0;
}

/* sg_readers_of returns the runs in flight on generation gen over every
 * CPU, at most 0x7fffffff; 0xffffffff if the sum is below zero (a bug). */
static __always_inline __u32 sg_readers_of(__u32 gen)
{
	struct readers_ctx r = {.gen = gen};
	bpf_loop(1 << 16, readers_cb, &r, 0);
	if ((__s64)r.n < 0)
		return 0xffffffff;
	return r.n > 0x7fffffff ? 0x7fffffff : r.n;
}

/* sg_flip (run with BPF_PROG_RUN, by the loader only) makes the idle
 * generation live and returns the runs still reading the retired one. */
SEC("tc")
int sg_flip(struct __sk_buff *skb)
{
	__u32 old = sg_gen & 1;
	sg_gen = old ^ 1;
	return sg_readers_of(old);
}

/* sg_readers (BPF_PROG_RUN) returns the runs still reading the idle
 * generation. */
SEC("tc")
int sg_readers(struct __sk_buff *skb)
{
	return sg_readers_of((sg_gen & 1) ^ 1);
}

/* sg_parse_only is the benchmark baseline: parsing and nothing else. */
SEC("tc")
int sg_parse_only(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pkt p;
	if (parse_pkt(data, data_end, &p) == PARSE_MALFORMED)
		return TC_ACT_SHOT;
	return TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
