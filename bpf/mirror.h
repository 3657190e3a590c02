/* SPDX-License-Identifier: GPL-2.0 */
/* mirror.h: Traffic Mirroring (spec §5) in the SG program of the source
 * ENI. After the SG passes a packet (so packets it drops are never
 * mirrored, TM-12), the ENI's sessions are tried in ascending session
 * number; the first whose filter accepts the packet (lowest-numbered
 * matching rule of the direction; no match: not mirrored, TM-3..5) gets a
 * clone, marked with the session and redirected into the ENI's own ingress
 * hook. There sg_ingress sees the mark instead of judging the clone (copies
 * are not subject to the source's SG, TM-11): it cuts the copy to the
 * session's packet length and to what fits the MTU once wrapped (TM-9,
 * TM-10), wraps it in Ethernet/IPv4/UDP 4789/VXLAN with the session's VNI
 * from the source ENI's address to the target's (TM-8), and lets the subnet
 * bridge carry it to the target (or to the router for a target in another
 * subnet), whose NACLs and SG judge it like any packet (TM-11). Not
 * mirrored: what the SG never judges (non-IP, IPv6 link control, SG-45's
 * services), DHCP and NTP (TM-13), and mirrored copies themselves.
 * Compiled out unless mirror_enabled (the topology has sessions).
 * Reference: rules.MirrorDecision.
 */
#ifndef VPCEMU_MIRROR_H
#define VPCEMU_MIRROR_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"

#define MIRROR_MAX_SESSIONS 3 /* per source ENI (TM-3) */
#define MIRROR_MAX_RULES 10   /* per filter and direction (TM-7: 10 per filter) */
#define MIRROR_MAX_IDS 1024   /* sessions of a topology */
#define MIRROR_MARK 0x4d490000u /* skb->mark of a clone: MIRROR_MARK | session id */
#define MIRROR_MARK_MASK 0xffff0000u
#define MIRROR_PROTO_ALL 255
#define VXLAN_PORT 4789
#define MIRROR_OVERHEAD 50 /* outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 */

/* One filter rule; addresses and masks in network order. */
struct mirror_rule {
	__u32 src[4], smask[4], dst[4], dmask[4];
	__u16 sp_lo, sp_hi, dp_lo, dp_hi; /* host order; 0-65535 when unset */
	__u8 accept;
	__u8 proto; /* MIRROR_PROTO_ALL or IANA number */
	__u8 family;
	__u8 pad;
};

/* One session of a source ENI: its filter, in rule-number order. */
struct mirror_sess {
	__u32 id; /* index into mirror_out */
	__u8 nin, nout;
	__u8 pad[2];
	/* The VPC's Amazon DNS address (IPv4, network order) when the filter
	 * opts in amazon-dns (TM-6); 0: it does not. */
	__u32 resolver;
	struct mirror_rule in[MIRROR_MAX_RULES];  /* traffic the ENI receives */
	struct mirror_rule out[MIRROR_MAX_RULES]; /* traffic it sends */
};

/* A source ENI's sessions, by ascending session number. */
struct mirror_src {
	__u32 ifindex; /* the ENI veth's (this hook's) ifindex: clones re-enter here */
	__u32 nsess;
	struct mirror_sess s[MIRROR_MAX_SESSIONS];
};

/* How a session's copies are wrapped and where they go. */
struct mirror_out {
	__u32 saddr;     /* source ENI's primary IPv4, network order */
	__u32 daddr;     /* target ENI's primary IPv4 */
	__u32 vni;
	__u32 pkt_len;   /* bytes of the frame kept after the VXLAN header; 0 = all */
	__u32 max_inner; /* most frame bytes that fit the MTU once wrapped */
	__u8 smac[6];    /* source instance (the copy enters the bridge on its port) */
	__u8 dmac[6];    /* target instance, or the router when it is in another subnet */
};

/* ENI index -> its sessions */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct mirror_src);
} mirror_src SEC(".maps");

/* session id -> encapsulation */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MIRROR_MAX_IDS);
	__type(key, __u32);
	__type(value, struct mirror_out);
} mirror_out SEC(".maps");

/* (source IPv4, target IPv4) of every session: mirrored copies, which are
 * neither mirrored again nor logged */
struct mirror_pair {
	__u32 saddr, daddr;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MIRROR_MAX_IDS);
	__type(key, struct mirror_pair);
	__type(value, __u8);
} mirror_pairs SEC(".maps");

/* 1 when the topology has sessions; 0 compiles mirroring out */
volatile const __u32 mirror_enabled = 0;

static __always_inline int mirror_addr_in(const __u32 *a, const __u32 *net, const __u32 *mask)
{
	for (int i = 0; i < 4; i++)
		if ((a[i] & mask[i]) != net[i])
			return 0;
	return 1;
}

static __always_inline int mirror_rule_matches(const struct mirror_rule *r, const struct pkt *p)
{
	if (r->family != p->family)
		return 0;
	if (r->proto != MIRROR_PROTO_ALL && r->proto != p->proto)
		return 0;
	if (!mirror_addr_in(p->saddr, r->src, r->smask) || !mirror_addr_in(p->daddr, r->dst, r->dmask))
		return 0;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		int ranged = r->sp_lo != 0 || r->sp_hi != 65535 || r->dp_lo != 0 || r->dp_hi != 65535;
		if (p->frag == FRAG_LATER)
			return !ranged;
		if (p->sport < r->sp_lo || p->sport > r->sp_hi || p->dport < r->dp_lo || p->dport > r->dp_hi)
			return 0;
	}
	return 1;
}

/* mirror_dns: p is DNS with the VPC's resolver and s opted in amazon-dns
 * (TM-6): mirrored whatever the rules say. */
static __always_inline int mirror_dns(const struct mirror_sess *s, const struct pkt *p)
{
	if (!s->resolver || p->family != 4 || (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP))
		return 0;
	return (p->daddr[0] == s->resolver && p->dport == 53) || (p->saddr[0] == s->resolver && p->sport == 53);
}

/* mirror_filter is a session's verdict on p: 1 mirror, 0 not (TM-5, TM-6). */
static __always_inline int mirror_filter(const struct mirror_sess *s, const struct pkt *p, int inbound)
{
	if (mirror_dns(s, p))
		return 1;
	__u8 n = inbound ? s->nin : s->nout;
	for (int i = 0; i < MIRROR_MAX_RULES; i++) {
		if (i >= n)
			break;
		const struct mirror_rule *r = inbound ? &s->in[i] : &s->out[i];
		if (mirror_rule_matches(r, p))
			return r->accept;
	}
	return 0;
}

/* mirror_excluded: traffic AWS never mirrors (TM-13) and copies themselves. */
static __always_inline int mirror_excluded(const struct pkt *p)
{
	if (p->proto != IPPROTO_UDP)
		return 0;
	if (p->dport == 67 || p->dport == 68 || p->dport == 546 || p->dport == 547 || p->dport == 123 || p->sport == 123)
		return 1;
	if (p->dport == VXLAN_PORT && p->family == 4) {
		struct mirror_pair k = {.saddr = p->saddr[0], .daddr = p->daddr[0]};
		if (bpf_map_lookup_elem(&mirror_pairs, &k))
			return 1;
	}
	return 0;
}

/* mirror_tap sends a copy of a packet the SG passed to the first session
 * that wants it. svc: p is traffic with a VPC service no SG filters
 * (SG-45), which only a session opted into that service mirrors (TM-6). */
static __always_inline void mirror_tap(struct __sk_buff *skb, const struct pkt *p, __u32 eni, int inbound, int svc)
{
	struct mirror_src *m = bpf_map_lookup_elem(&mirror_src, &eni);
	if (!m || mirror_excluded(p))
		return;
	for (int i = 0; i < MIRROR_MAX_SESSIONS; i++) {
		if (i >= m->nsess)
			break;
		if (svc ? !mirror_dns(&m->s[i], p) : !mirror_filter(&m->s[i], p, inbound))
			continue;
		__u32 old = skb->mark;
		skb->mark = MIRROR_MARK | (m->s[i].id & 0xffff);
		bpf_clone_redirect(skb, m->ifindex, BPF_F_INGRESS);
		skb->mark = old;
		return; /* each packet at most once (TM-3) */
	}
}

struct vxlanhdr_ {
	__be32 flags; /* 0x08000000: VNI valid */
	__be32 vni;   /* VNI << 8 */
};

/* mirror_wrap turns a marked clone into its VXLAN copy; TC_ACT_UNSPEC lets
 * the bridge deliver it, TC_ACT_SHOT drops a copy that cannot be built. */
static __always_inline int mirror_wrap(struct __sk_buff *skb)
{
	__u32 id = skb->mark & 0xffff;
	skb->mark = 0;
	struct mirror_out *o = bpf_map_lookup_elem(&mirror_out, &id);
	if (!o)
		return TC_ACT_SHOT;
	__u16 sport = 49152 | (bpf_get_hash_recalc(skb) & 0x3fff);
	__u32 keep = skb->len;
	if (o->pkt_len && keep > o->pkt_len)
		keep = o->pkt_len;
	if (keep > o->max_inner)
		keep = o->max_inner;
	/* A cut also ends a TSO super-packet: one copy of its first segment's
	 * worth, as the target's MTU would cut it. */
	if (keep < skb->len && bpf_skb_change_tail(skb, keep, 0))
		return TC_ACT_SHOT;
	struct ethhdr inner;
	if (bpf_skb_load_bytes(skb, 0, &inner, sizeof(inner)))
		return TC_ACT_SHOT;
	if (bpf_skb_adjust_room(skb, MIRROR_OVERHEAD, BPF_ADJ_ROOM_MAC, 0))
		return TC_ACT_SHOT;
	struct {
		struct ethhdr eth;
		struct iphdr ip;
		struct udphdr udp;
		struct vxlanhdr_ vx;
		struct ethhdr inner;
	} __attribute__((packed)) h = {};
	__builtin_memcpy(h.eth.h_dest, o->dmac, 6);
	__builtin_memcpy(h.eth.h_source, o->smac, 6);
	h.eth.h_proto = bpf_htons(ETH_P_IP);
	__u32 tot = skb->len - sizeof(struct ethhdr);
	struct iphdr ip = {};
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = bpf_htons(tot);
	ip.frag_off = bpf_htons(0x4000); /* DF */
	ip.ttl = 64;
	ip.protocol = IPPROTO_UDP;
	ip.saddr = o->saddr;
	ip.daddr = o->daddr;
	__s64 sum = bpf_csum_diff(0, 0, (__be32 *)&ip, sizeof(ip), 0);
	if (sum < 0)
		return TC_ACT_SHOT;
	__u32 c = (__u32)sum;
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	ip.check = (__u16)~c;
	h.ip = ip;
	h.udp.source = bpf_htons(sport);
	h.udp.dest = bpf_htons(VXLAN_PORT);
	h.udp.len = bpf_htons(tot - sizeof(struct iphdr));
	h.vx.flags = bpf_htonl(0x08000000);
	h.vx.vni = bpf_htonl(o->vni << 8);
	h.inner = inner;
	if (bpf_skb_store_bytes(skb, 0, &h, sizeof(h), 0))
		return TC_ACT_SHOT;
	return TC_ACT_UNSPEC;
}

#endif
