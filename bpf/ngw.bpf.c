/* SPDX-License-Identifier: GPL-2.0 */
/* ngw.bpf.c: a NAT gateway (aws-routing.md §3), at tc ingress of its ENI
 * (eth0 of the NAT gateway's namespace), one program and map set per NAT
 * gateway. The reference is rules/natgw.go; TestNATGatewayDifferential
 * compares the two packet by packet.
 *
 * Packets from clients (destination not the NAT gateway's address):
 *   - a source outside the VPC is dropped (NGW_REQUIRES_SOURCE_IN_VPC,
 *     NGW-10); IPv6, protocols other than TCP, UDP, ICMP, and fragments of
 *     TCP and ICMP are dropped (PROTOCOL_RESTRICTION, NGW-8);
 *   - the flow (protocol, client address and port or echo id, destination
 *     and port) finds its mapping; an expired one is removed first, and a
 *     TCP packet without SYN on a mapping that timed out idle is answered
 *     with a reset from the destination as the client knows it
 *     (IdleTimeoutCount, NGW-11: the packet goes to the namespace's stack,
 *     whose one nftables rule, `reject with tcp reset` on NGW_MARK_RESET,
 *     builds the reset);
 *   - without a mapping only a TCP SYN, a UDP datagram or an echo request
 *     creates one (else NGW_NO_MAPPING, NGW-9): the lowest free port from
 *     1024 (sequential) or the first free at or after a random one
 *     (random), per destination (address, protocol, port; NGW-6); at
 *     ngw_cfg.per_dest live mappings the destination's expired ones are
 *     collected, and if none was, the packet is dropped
 *     (NGW_PORT_ALLOCATION_ERROR, ErrorPortAllocation, NGW-7);
 *   - the source becomes the NAT gateway's address and port.
 * Packets to the NAT gateway's address: from inside its VPC they are
 * dropped (it answers nothing, NGW-9); from outside, only a live mapping's
 * reply passes (TCP, UDP, echo reply; else NGW_NO_MAPPING), its
 * destination mapped back to the client.
 * Every forwarded packet has its TTL decremented (NGW-12; one whose TTL
 * would reach 0 goes to the stack, which answers with ICMP time exceeded)
 * and leaves through eth0 by the namespace's routes (bpf_redirect_neigh):
 * to the router, which routes it by the NAT gateway's subnet's table
 * (NGW-3), or straight to a host of its own subnet.
 * TCP FIN or RST closes a mapping: its port is freed after the closing
 * timer (min(idle timeout, 120 s)). Mappings otherwise expire after
 * ngw_cfg.idle_ns without a packet either way. Expired mappings are
 * collected when a packet meets them, or for a destination at its limit,
 * as rules.NATTable does, so sequential allocation gives the evaluator's
 * ports.
 */
#include <linux/pkt_cls.h>
#include "parse.h"
#include "events.h"

#define NGW_FIRST_PORT 1024
#define NGW_PORTS (65536 - NGW_FIRST_PORT) /* 64512 */
#define NGW_WORDS (NGW_PORTS / 64)          /* 1008 */
#define NGW_SUMMARY ((NGW_WORDS + 63) / 64) /* 16 */
#define NGW_MAX_BLOCKS 8                    /* VPC IPv4 blocks (primary + secondary) */
#define NGW_MARK_RESET 0x4e475231           /* "NGR1": the stack answers with a TCP reset */

#define TCP_FIN_ 0x01
#define TCP_SYN_ 0x02
#define TCP_RST_ 0x04
#define TCP_ACK_ 0x10

/* Port policies (NGW-6 [INTERP]). */
enum ngw_policy {
	NGW_POLICY_RANDOM = 0,
	NGW_POLICY_SEQUENTIAL = 1,
};

/* vpc_event.reason of EV_NGW_DROP events. */
enum ngw_drop {
	NGW_DROP_NO_MAPPING = 1,      /* NGW_NO_MAPPING */
	NGW_DROP_PORT_ALLOCATION = 2, /* NGW_PORT_ALLOCATION_ERROR */
	NGW_DROP_SOURCE_NOT_IN_VPC = 3, /* NGW_REQUIRES_SOURCE_IN_VPC */
	NGW_DROP_PROTOCOL = 4,        /* PROTOCOL_RESTRICTION */
	NGW_DROP_MALFORMED = 5,
};

/* ngw_stats indexes: CloudWatch's AWS/NATGateway metrics (NGW-15). */
enum ngw_stat {
	NGW_ST_PACKETS_IN_FROM_SOURCE = 0,
	NGW_ST_BYTES_IN_FROM_SOURCE = 1,
	NGW_ST_PACKETS_OUT_TO_DESTINATION = 2,
	NGW_ST_BYTES_OUT_TO_DESTINATION = 3,
	NGW_ST_PACKETS_IN_FROM_DESTINATION = 4,
	NGW_ST_BYTES_IN_FROM_DESTINATION = 5,
	NGW_ST_PACKETS_OUT_TO_SOURCE = 6,
	NGW_ST_BYTES_OUT_TO_SOURCE = 7,
	NGW_ST_CONNECTION_ATTEMPT = 8,
	NGW_ST_CONNECTION_ESTABLISHED = 9,
	NGW_ST_ERROR_PORT_ALLOCATION = 10,
	NGW_ST_IDLE_TIMEOUT = 11,
	NGW_ST_PACKETS_DROP = 12,
	NGW_ST_EVENTS_LOST = 13,
	NGW_ST_MAX = 16,
};

/* Load-time configuration (one volatile const, set by the loader). */
struct ngw_config {
	__u32 addr;     /* the NAT gateway's private IPv4, network order */
	__u32 policy;   /* enum ngw_policy */
	__u32 per_dest; /* live mappings per destination (NGW-7), <= NGW_PORTS */
	__u32 nblocks;  /* VPC blocks in use */
	__u32 net[NGW_MAX_BLOCKS]; /* VPC IPv4 blocks: network-order address */
	__u32 mask[NGW_MAX_BLOCKS]; /* and mask */
	__u64 idle_ns;    /* idle timeout (NGW-11) */
	__u64 closing_ns; /* after FIN or RST: min(idle, SG-35's closing timer) */
	__u32 obj;        /* vpc_event.obj: the loader's index of this NAT gateway */
	__u32 pad;
};

volatile const struct ngw_config ngw_cfg;

/* Test clock: now_offset shifts it (a timeout test needs no sleeping). */
volatile __s64 now_offset;

/* A client-side flow. */
struct ngw_flow {
	__u32 src;   /* client address */
	__u32 dst;   /* destination address */
	__u16 sport; /* client port, or echo identifier */
	__u16 dport; /* destination port; 0 for ICMP */
	__u8 proto;
	__u8 pad[3];
};

/* A translated flow as the far end sees it (the NAT gateway's address is
 * implied). */
struct ngw_out {
	__u32 remote;
	__u16 port;  /* the NAT gateway's port, or echo identifier */
	__u16 rport; /* remote port; 0 for ICMP */
	__u8 proto;
	__u8 pad[3];
};

/* An allocation key (NGW-6 [INTERP]): destination, its port, protocol. */
struct ngw_dest_key {
	__u32 dst;
	__u16 dport;
	__u8 proto;
	__u8 pad;
};

/* A mapping. */
struct ngw_mapping {
	__u64 last_ns; /* last packet either way */
	__u16 port;    /* allocated port */
	__u8 closing;  /* FIN or RST seen */
	__u8 pad[5];
};

/* The ports in use towards one destination: bit i of bits is port
 * NGW_FIRST_PORT + i; bit w of summary says word w is full. */
struct ngw_dest {
	__u64 summary[NGW_SUMMARY];
	__u64 bits[NGW_WORDS];
	__u32 count; /* live (or not yet collected) mappings */
	__u32 pad;
};

/* client flow -> mapping */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ngw_flow);
	__type(value, struct ngw_mapping);
} ngw_fwd SEC(".maps");

/* translated flow -> client flow */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ngw_out);
	__type(value, struct ngw_flow);
} ngw_rev SEC(".maps");

/* destination -> ports in use */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 14);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ngw_dest_key);
	__type(value, struct ngw_dest);
} ngw_dests SEC(".maps");

/* a zeroed ngw_dest to create entries from (too large for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ngw_dest);
} ngw_zero SEC(".maps");

/* enum ngw_stat -> count (per CPU) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NGW_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} ngw_stats SEC(".maps");

/* drop events (struct vpc_event, kind EV_NGW_DROP, reason enum ngw_drop) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ngw_events SEC(".maps");

/* Keep the ABI types in BTF so bpf2go emits Go mirrors for them. */
enum ngw_policy _ngw_policy_btf __attribute__((unused));
enum ngw_drop _ngw_drop_btf __attribute__((unused));
enum ngw_stat _ngw_stat_btf __attribute__((unused));
struct vpc_event _ngw_event_btf __attribute__((unused));

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_TTL_OFF (ETH_HLEN + offsetof(struct iphdr, ttl))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

/* de Bruijn table: index of the lowest set bit of a 64-bit word */
static const __u8 debruijn64[64] = {
	0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28,
	62, 5,  39, 46, 44, 42, 22, 9,  24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};

/* ctz64 is the index of x's lowest set bit (x != 0). */
static __always_inline __u32 ctz64(__u64 x)
{
	return debruijn64[((x & -x) * 0x022fdd63cc95386dULL) >> 58];
}

static __always_inline void stat(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&ngw_stats, &idx);
	if (v)
		*v += n;
}

static __always_inline __u64 now_ns(void)
{
	return bpf_ktime_get_ns() + now_offset;
}

static __always_inline int in_vpc(__u32 a)
{
	for (int i = 0; i < NGW_MAX_BLOCKS; i++) {
		if (i >= ngw_cfg.nblocks)
			break;
		if ((a & ngw_cfg.mask[i]) == ngw_cfg.net[i])
			return 1;
	}
	return 0;
}

static __always_inline int drop(struct __sk_buff *skb, struct pkt *p, __u8 reason, __u8 dir)
{
	stat(NGW_ST_PACKETS_DROP, 1);
	struct vpc_event *e = bpf_ringbuf_reserve(&ngw_events, sizeof(*e), 0);
	if (!e) {
		stat(NGW_ST_EVENTS_LOST, 1);
		return TC_ACT_SHOT;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->obj = ngw_cfg.obj;
	e->packets = skb->gso_segs > 1 ? skb->gso_segs : 1;
	e->bytes = p->l3_len;
	e->kind = EV_NGW_DROP;
	e->reason = reason;
	e->dir = dir;
	e->family = p->family;
	e->proto = p->proto;
	e->tcp_flags = p->tcp_flags;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	e->frag = p->frag;
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_SHOT;
}

static __always_inline __u64 timeout(const struct ngw_mapping *m)
{
	return m->closing ? ngw_cfg.closing_ns : ngw_cfg.idle_ns;
}

static __always_inline int expired(const struct ngw_mapping *m, __u64 now)
{
	return now > m->last_ns && now - m->last_ns >= timeout(m);
}

static __always_inline __u16 flow_port(const struct pkt *p)
{
	return p->proto == IPPROTO_ICMP ? p->icmp_id : p->sport;
}

/* free_port returns a port to its destination's set. */
static __always_inline void free_port(const struct ngw_dest_key *dk, __u16 port)
{
	struct ngw_dest *d = bpf_map_lookup_elem(&ngw_dests, dk);
	if (!d || port < NGW_FIRST_PORT)
		return;
	__u32 i = port - NGW_FIRST_PORT;
	__u32 w = i / 64;
	/* clang knows w < NGW_WORDS from port's range and drops the check, but
	 * the verifier cannot see it through the 32-bit subtraction */
	asm volatile("" : "+r"(w));
	if (w >= NGW_WORDS)
		return;
	__sync_fetch_and_and(&d->bits[w], ~(1ULL << (i % 64)));
	__sync_fetch_and_and(&d->summary[(w / 64) & (NGW_SUMMARY - 1)], ~(1ULL << (w % 64)));
	__sync_fetch_and_add(&d->count, -1);
}

/* remove deletes a mapping and frees its port. */
static __always_inline void remove_mapping(const struct ngw_flow *f, const struct ngw_mapping *m)
{
	struct ngw_out o = {.remote = f->dst, .port = m->port, .rport = f->dport, .proto = f->proto};
	struct ngw_dest_key dk = {.dst = f->dst, .dport = f->dport, .proto = f->proto};
	__u16 port = m->port;
	bpf_map_delete_elem(&ngw_rev, &o);
	if (bpf_map_delete_elem(&ngw_fwd, f) == 0)
		free_port(&dk, port);
}

struct sweep_ctx {
	struct ngw_dest_key dk;
	__u64 now;
	__u32 freed;
};

static long sweep_cb(void *map, struct ngw_flow *f, struct ngw_mapping *m, struct sweep_ctx *c)
{
	if (f->dst != c->dk.dst || f->dport != c->dk.dport || f->proto != c->dk.proto || !expired(m, c->now))
		return 0;
	struct ngw_out o = {.remote = f->dst, .port = m->port, .rport = f->dport, .proto = f->proto};
	__u16 port = m->port;
	bpf_map_delete_elem(&ngw_rev, &o);
	if (bpf_map_delete_elem(map, f) == 0) {
		free_port(&c->dk, port);
		c->freed++;
	}
	return 0;
}

struct find_ctx {
	struct ngw_dest *d;
	__u32 start; /* first word to look at */
	__u32 word;  /* result: a word with a free bit, or NGW_WORDS */
};

/* One summary word per call, from the start word on (then from 0). */
static long find_cb(__u32 k, struct find_ctx *c)
{
	__u32 n = NGW_SUMMARY;
	__u32 s = (c->start / 64 + k) % n;
	if (k == n) /* wrapped: the start's summary word again, below start */
		s = c->start / 64;
	if (s >= NGW_SUMMARY)
		return 1;
	__u64 free = ~c->d->summary[s];
	if (k == 0)
		free &= ~0ULL << (c->start % 64); /* at or after the start */
	if (s == NGW_SUMMARY - 1)
		free &= (1ULL << (NGW_WORDS % 64)) - 1; /* words past the last do not exist */
	if (!free)
		return 0;
	c->word = s * 64 + ctz64(free);
	return 1;
}

/* alloc_port takes a free port of d: the lowest one for the sequential
 * policy, the first at or after a random one otherwise; 0 if none. */
static __always_inline __u16 alloc_port(struct ngw_dest *d)
{
	__u32 start = 0;
	if (ngw_cfg.policy != NGW_POLICY_SEQUENTIAL)
		start = bpf_get_prandom_u32() % NGW_PORTS;
	for (int attempt = 0; attempt < 4; attempt++) {
		struct find_ctx c = {.d = d, .start = start / 64, .word = NGW_WORDS};
		bpf_loop(NGW_SUMMARY + 1, find_cb, &c, 0);
		__u32 w = c.word;
		if (w >= NGW_WORDS)
			return 0;
		__u64 free = ~d->bits[w];
		if (w == start / 64 && attempt == 0)
			free &= ~0ULL << (start % 64);
		if (!free) {
			/* the start's word is free only below the start, or another
			 * CPU took the last bit: try from the next word */
			start = (w + 1) * 64 % NGW_PORTS;
			continue;
		}
		__u64 bit = free & -free;
		__u64 old = __sync_fetch_and_or(&d->bits[w], bit);
		if (old & bit)
			continue; /* another CPU took it */
		if ((old | bit) == ~0ULL)
			__sync_fetch_and_or(&d->summary[(w / 64) & (NGW_SUMMARY - 1)], 1ULL << (w % 64));
		__sync_fetch_and_add(&d->count, 1);
		return NGW_FIRST_PORT + w * 64 + ctz64(bit);
	}
	return 0;
}

/* rewrite_addr replaces an IPv4 address (IP and L4 pseudo-header checksums). */
static __always_inline int rewrite_addr(struct __sk_buff *skb, struct pkt *p, __u32 off, __u32 old, __u32 new)
{
	if (p->frag != FRAG_LATER && p->proto == IPPROTO_TCP)
		bpf_l4_csum_replace(skb, p->l4_off + offsetof(struct tcphdr, check), old, new, BPF_F_PSEUDO_HDR | 4);
	else if (p->frag != FRAG_LATER && p->proto == IPPROTO_UDP)
		bpf_l4_csum_replace(skb, p->l4_off + offsetof(struct udphdr, check), old, new,
				    BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4);
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, 4) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, off, &new, 4, 0);
}

/* rewrite_port replaces the source (src) or destination port, or the
 * ICMP echo identifier; values in host order. */
static __always_inline int rewrite_port(struct __sk_buff *skb, struct pkt *p, int src, __u16 old, __u16 new)
{
	__u16 o = bpf_htons(old), n = bpf_htons(new);
	__u32 off, csum;
	__u64 flags = 2;
	switch (p->proto) {
	case IPPROTO_TCP:
		off = p->l4_off + (src ? offsetof(struct tcphdr, source) : offsetof(struct tcphdr, dest));
		csum = p->l4_off + offsetof(struct tcphdr, check);
		break;
	case IPPROTO_UDP:
		off = p->l4_off + (src ? offsetof(struct udphdr, source) : offsetof(struct udphdr, dest));
		csum = p->l4_off + offsetof(struct udphdr, check);
		flags |= BPF_F_MARK_MANGLED_0;
		break;
	default: /* ICMP echo: the identifier */
		off = p->l4_off + 4;
		csum = p->l4_off + 2;
		break;
	}
	if (bpf_l4_csum_replace(skb, csum, o, n, flags) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, off, &n, 2, 0);
}

/* forward decrements the TTL and sends the packet on by the namespace's
 * routes; a packet whose TTL runs out goes to the stack (ICMP time
 * exceeded from the NAT gateway, NGW-12). */
static __always_inline int forward(struct __sk_buff *skb, __u32 to_source)
{
	__u8 ttl;
	if (bpf_skb_load_bytes(skb, IP_TTL_OFF, &ttl, 1) < 0)
		return TC_ACT_SHOT;
	if (ttl <= 1)
		return TC_ACT_OK;
	__u16 old = bpf_htons((__u16)ttl << 8), new = bpf_htons((__u16)(ttl - 1) << 8);
	__u8 nt = ttl - 1;
	bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, 2);
	bpf_skb_store_bytes(skb, IP_TTL_OFF, &nt, 1, 0);
	stat(to_source ? NGW_ST_PACKETS_OUT_TO_SOURCE : NGW_ST_PACKETS_OUT_TO_DESTINATION, 1);
	stat(to_source ? NGW_ST_BYTES_OUT_TO_SOURCE : NGW_ST_BYTES_OUT_TO_DESTINATION, skb->len - ETH_HLEN);
	return bpf_redirect_neigh(skb->ifindex, NULL, 0, 0);
}

/* starts: may this client packet create a mapping? (NGW-9 [INTERP]) */
static __always_inline int starts(const struct pkt *p)
{
	if (p->proto == IPPROTO_TCP)
		return (p->tcp_flags & (TCP_SYN_ | TCP_ACK_)) == TCP_SYN_;
	if (p->proto == IPPROTO_ICMP)
		return p->icmp_type == 8;
	return 1;
}

/* outbound handles a client's packet. */
static __always_inline int outbound(struct __sk_buff *skb, struct pkt *p)
{
	__u32 src = p->saddr[0], dst = p->daddr[0];
	if (!in_vpc(src))
		return drop(skb, p, NGW_DROP_SOURCE_NOT_IN_VPC, EV_DIR_OUTBOUND);
	if (p->frag != FRAG_NONE && p->proto != IPPROTO_UDP)
		return drop(skb, p, NGW_DROP_PROTOCOL, EV_DIR_OUTBOUND);
	if (p->frag == FRAG_LATER) {
		/* UDP later fragments carry no ports: only the address changes */
		if (rewrite_addr(skb, p, IP_SRC_OFF, src, ngw_cfg.addr) < 0)
			return TC_ACT_SHOT;
		return forward(skb, 0);
	}
	if (p->proto == IPPROTO_ICMP && p->icmp_type != 8 && p->icmp_type != 0)
		return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_OUTBOUND);
	__u64 now = now_ns();
	struct ngw_flow f = {.src = src, .dst = dst, .sport = flow_port(p), .proto = p->proto};
	if (p->proto != IPPROTO_ICMP)
		f.dport = p->dport;
	struct ngw_mapping *m = bpf_map_lookup_elem(&ngw_fwd, &f);
	if (m && expired(m, now)) {
		int idle = !m->closing;
		remove_mapping(&f, m);
		m = NULL;
		if (idle && p->proto == IPPROTO_TCP && !(p->tcp_flags & TCP_SYN_)) {
			stat(NGW_ST_IDLE_TIMEOUT, 1);
			stat(NGW_ST_PACKETS_DROP, 1);
			skb->mark = NGW_MARK_RESET;
			return TC_ACT_OK;
		}
	}
	if (!m) {
		if (!starts(p))
			return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_OUTBOUND);
		struct ngw_dest_key dk = {.dst = dst, .dport = f.dport, .proto = p->proto};
		struct ngw_dest *d = bpf_map_lookup_elem(&ngw_dests, &dk);
		if (!d) {
			__u32 zero = 0;
			struct ngw_dest *z = bpf_map_lookup_elem(&ngw_zero, &zero);
			if (!z)
				return TC_ACT_SHOT;
			bpf_map_update_elem(&ngw_dests, &dk, z, BPF_NOEXIST);
			d = bpf_map_lookup_elem(&ngw_dests, &dk);
			if (!d)
				return drop(skb, p, NGW_DROP_PORT_ALLOCATION, EV_DIR_OUTBOUND);
		}
		if (d->count >= ngw_cfg.per_dest) {
			struct sweep_ctx c = {.dk = dk, .now = now};
			bpf_for_each_map_elem(&ngw_fwd, sweep_cb, &c, 0);
		}
		__u16 port = 0;
		if (d->count < ngw_cfg.per_dest)
			port = alloc_port(d);
		if (!port) {
			stat(NGW_ST_ERROR_PORT_ALLOCATION, 1);
			return drop(skb, p, NGW_DROP_PORT_ALLOCATION, EV_DIR_OUTBOUND);
		}
		struct ngw_mapping nm = {.last_ns = now, .port = port};
		struct ngw_out o = {.remote = dst, .port = port, .rport = f.dport, .proto = p->proto};
		if (bpf_map_update_elem(&ngw_fwd, &f, &nm, BPF_NOEXIST) < 0) {
			free_port(&dk, port);
			stat(NGW_ST_ERROR_PORT_ALLOCATION, 1);
			return drop(skb, p, NGW_DROP_PORT_ALLOCATION, EV_DIR_OUTBOUND);
		}
		bpf_map_update_elem(&ngw_rev, &o, &f, BPF_ANY);
		if (p->proto == IPPROTO_TCP)
			stat(NGW_ST_CONNECTION_ATTEMPT, 1);
		m = bpf_map_lookup_elem(&ngw_fwd, &f);
		if (!m)
			return TC_ACT_SHOT;
	}
	m->last_ns = now;
	if (p->proto == IPPROTO_TCP && (p->tcp_flags & (TCP_FIN_ | TCP_RST_)))
		m->closing = 1;
	__u16 port = m->port;
	if (rewrite_addr(skb, p, IP_SRC_OFF, src, ngw_cfg.addr) < 0)
		return TC_ACT_SHOT;
	if (p->proto != IPPROTO_ICMP || p->icmp_type == 8)
		if (rewrite_port(skb, p, 1, f.sport, port) < 0)
			return TC_ACT_SHOT;
	return forward(skb, 0);
}

/* inbound maps a reply from the far end back to its client. */
static __always_inline int inbound(struct __sk_buff *skb, struct pkt *p)
{
	__u32 src = p->saddr[0];
	if (in_vpc(src))
		return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_INBOUND); /* nothing answers inside (NGW-9) */
	if (p->frag == FRAG_LATER)
		return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_INBOUND);
	struct ngw_out o = {.remote = src, .proto = p->proto};
	switch (p->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		o.port = p->dport;
		o.rport = p->sport;
		break;
	case IPPROTO_ICMP:
		if (p->icmp_type != 0)
			return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_INBOUND);
		o.port = p->icmp_id;
		break;
	default:
		return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_INBOUND);
	}
	struct ngw_flow *fp = bpf_map_lookup_elem(&ngw_rev, &o);
	if (!fp)
		return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_INBOUND);
	struct ngw_flow f = *fp;
	struct ngw_mapping *m = bpf_map_lookup_elem(&ngw_fwd, &f);
	__u64 now = now_ns();
	if (!m || expired(m, now)) {
		if (m)
			remove_mapping(&f, m);
		return drop(skb, p, NGW_DROP_NO_MAPPING, EV_DIR_INBOUND);
	}
	m->last_ns = now;
	if (p->proto == IPPROTO_TCP) {
		if (p->tcp_flags & (TCP_FIN_ | TCP_RST_))
			m->closing = 1;
		if ((p->tcp_flags & (TCP_SYN_ | TCP_ACK_)) == (TCP_SYN_ | TCP_ACK_))
			stat(NGW_ST_CONNECTION_ESTABLISHED, 1);
	}
	if (rewrite_addr(skb, p, IP_DST_OFF, ngw_cfg.addr, f.src) < 0)
		return TC_ACT_SHOT;
	if (p->proto == IPPROTO_ICMP) {
		if (rewrite_port(skb, p, 1, o.port, f.sport) < 0)
			return TC_ACT_SHOT;
	} else if (rewrite_port(skb, p, 0, o.port, f.sport) < 0) {
		return TC_ACT_SHOT;
	}
	return forward(skb, 1);
}

SEC("tc")
int ngw_ingress(struct __sk_buff *skb)
{
	struct pkt p;
	int r = parse_skb(skb, &p);
	if (r == PARSE_NOT_IP)
		return TC_ACT_OK; /* ARP: the namespace's own */
	if (r != PARSE_IP)
		return drop(skb, &p, NGW_DROP_MALFORMED, EV_DIR_OUTBOUND);
	if (p.family != 4) {
		/* IPv6 link control is the namespace's own; nothing else passes */
		if (p.proto == IPPROTO_ICMPV6_ && p.icmp_type >= 133 && p.icmp_type <= 137)
			return TC_ACT_OK;
	}
	/* A frame the subnet's bridge floods or multicasts (its neighbours'
	 * MLD reports) is not addressed to the NAT gateway: no judgement, no
	 * event (a VPC carries no multicast). */
	if (skb->pkt_type != 0 /* PACKET_HOST */)
		return TC_ACT_SHOT;
	if (p.family != 4)
		return drop(skb, &p, NGW_DROP_PROTOCOL, EV_DIR_OUTBOUND);
	int to_me = p.daddr[0] == ngw_cfg.addr;
	if (to_me) {
		stat(NGW_ST_PACKETS_IN_FROM_DESTINATION, 1);
		stat(NGW_ST_BYTES_IN_FROM_DESTINATION, p.l3_len);
		return inbound(skb, &p);
	}
	stat(NGW_ST_PACKETS_IN_FROM_SOURCE, 1);
	stat(NGW_ST_BYTES_IN_FROM_SOURCE, p.l3_len);
	if (p.proto != IPPROTO_TCP && p.proto != IPPROTO_UDP && p.proto != IPPROTO_ICMP)
		return drop(skb, &p, NGW_DROP_PROTOCOL, EV_DIR_OUTBOUND);
	return outbound(skb, &p);
}

char _license[] SEC("license") = "GPL";
