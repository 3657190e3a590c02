/* SPDX-License-Identifier: GPL-2.0 */
/* nacl.bpf.c: network ACLs where packets enter the VPC router: the
 * router-side end of every subnet uplink veth and of the internet gateway's
 * veth, at tc ingress (the default, see BENCHMARKS.md) or in XDP (generic
 * or native mode).
 *
 * One judgement per packet. Every packet that crosses a subnet boundary
 * passes through the router, and enters it on exactly one of these hooks:
 * from a subnet's uplink (it leaves that subnet) or from the internet
 * gateway. So one program run there applies both tables AWS applies on the
 * way (PATH-1): the source subnet's outbound table (the attach point says
 * which subnet that is; none for the gateway), then, if the destination
 * lies in a subnet, that subnet's inbound table (a trie over the subnet
 * CIDRs names it). Earlier versions ran a second program on the subnet-side
 * end for the inbound table: two hook entries and two parses for every
 * packet between two subnets, which made 40 rules cost more than nftables
 * (BENCHMARKS.md). Traffic inside one subnet is bridged there and never
 * reaches the router (NACL-8); traffic the router sends itself comes from a
 * subnet's base+1, which nothing filters anyway.
 *
 * Contract (spec §2). One program serves every attach point: nacl_port
 * maps the port (the frame's ingress ifindex) to the subnet it receives
 * from (0: none). Per frame:
 *   1. non-IP (ARP, ...) passes untouched;
 *   2. malformed IP (truncated Ethernet/IP/extension/L4 header, bad IP
 *      version or IHL, more than IPV6_EXT_MAX extension headers) is dropped
 *      and reported (EV_REASON_MALFORMED, rule 0): no rule can be judged;
 *   3. traffic nothing filters passes (SG-45/NACL-10, PATH-6), with the
 *      reference evaluator's rules.ReservedService addresses as source or
 *      destination: 169.254.0.0/16 (IMDS, DNS, Time Sync), fd00:ec2::/32,
 *      fe80::/10, the VPC's base+2 and every subnet's base+1..3; and IPv6
 *      link-local control: ICMPv6 133..137 (RS, RA, NS, NA, redirect) and
 *      anything to ff02::/16 (ND, MLD). Mirror: rules.NACLBypass;
 *   4. from a subnet, its NACL's outbound table for the family decides; a
 *      deny ends the packet (PATH-3);
 *   5. to a subnet, its NACL's inbound table decides.
 * A table's verdict is the lowest-numbered matching rule, else `*` deny
 * (32767 IPv4 / 32768 IPv6); matching is bit-vector classification, see
 * nacl.h. Non-first fragments match only rules without port/ICMP-type
 * restriction (rules.EvalNACL's choice). Every judgement counts in nacl_ctr
 * under its deciding rule; every drop also goes to nacl_events as a struct
 * vpc_event, and, while a capture wants drops, to cap_drops with the frame
 * (capture.h).
 *
 * At the internet gateway the program must see the private destination,
 * so it runs at tc ingress after the gateway's NAT program (a filter of
 * lower priority; igw.bpf.c passes to the next filter).
 *
 * Flow logs (flow.h): the outbound judgement is where the verdict on what an
 * ENI sends outside its subnet becomes final, so it counts every packet it
 * judges (ACCEPT or REJECT, egress) for the ENI owning the source address;
 * the inbound judgement counts only its drops (REJECT, ingress) for the ENI
 * owning the destination: a pass there is judged again by that ENI's SG.
 * Neither looks the ENI up: the loader attributes by address.
 *
 * Counting wire packets. At tc the skb's gso_segs is exact. XDP sees one
 * frame; in generic mode on a veth that frame can be a GSO super-packet (TSO
 * kept, see BENCHMARKS.md) and the skb with its gso_segs is out of reach.
 * For TCP/UDP frames longer than the MTU the XDP program estimates the
 * segments as ceil(payload / (MTU - headers)) with this frame's own header
 * lengths (so TCP options are accounted for); bytes add the repeated
 * headers. A sender whose MSS is below what the MTU allows is undercounted
 * there. In native mode and for every frame <= MTU this is exact.
 */
#include <linux/pkt_cls.h>
#include "parse.h"
#include "nacl.h"
#include "events.h"
#include "flow.h"
#ifdef VPCEMU_NO_CAPTURE
#define CAP_NONE
#else
#define CAP_DROPS
#endif
#include "capture.h"

/* Set once by the loader (nacl.h). */
volatile const struct nacl_config nacl_cfg = {
	.sub_root = {NACL_NO_TRIE, NACL_NO_TRIE},
	.mtu = 9001,
};

struct in6_key {
	__u32 a[4]; /* network order */
};

#define NACL_ENTRY_ACL(e) ((e) & 0xffff)                     /* nacl_subnet: the NACL */
#define NACL_ENTRY_SET(e) (((e) & ~(__u32)NACL_VALID) >> 16) /* nacl_subnet: its live set */

/* port ifindex -> what it connects, the subnet it receives from (0:
 * none) and the table it routes by: the loader writes it when it attaches
 * there. A port's subnet never changes, its NACL does (nacl_subnet), and so
 * does its table (a subnet's association). Routing ports have interface
 * indexes unique across the topology's namespaces (vpc.PortIfindexBase),
 * so one map serves every router. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct rt_port);
} nacl_port SEC(".maps");

/* egress-only gateway flows (struct eigw_key) -> expiry (ns), EIP-13 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct eigw_key);
	__type(value, __u64);
} eigw_flows SEC(".maps");

/* an instance's IPv6 address -> its tracking timeouts (EIP-14 [INTERP]) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct in6_key);
	__type(value, struct eigw_timeouts);
} eigw_cfg SEC(".maps");

/* (gateway endpoint port, address in its prefix list) -> 1 (VPCE-5) */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vpce_src_key);
	__type(value, __u8);
} vpce_src SEC(".maps");

/* subnet index -> NACL_VALID | live table set << 16 | its NACL's index
 * (NACL-2: exactly one; set 0: the NACL has no tables, everything hits `*`) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_SUBNETS);
	__type(key, __u32);
	__type(value, __u32);
} nacl_subnet SEC(".maps");

/* table id (set*4 + egress*2 + v6) -> table */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_TABLES);
	__type(key, __u32);
	__type(value, struct nacl_table);
} nacl_tables SEC(".maps");

/* bitmap index -> rule bitmap */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_BITMAPS);
	__type(key, __u32);
	__type(value, struct nacl_bitmap);
} nacl_bm SEC(".maps");

/* node * 256 + byte -> trie entry: NACL_CHILD | node, or a leaf */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_NODES * 256);
	__type(key, __u32);
	__type(value, __u64);
} nacl_nodes SEC(".maps");

/* table id * 256 + protocol -> leaf */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_TABLES * 256);
	__type(key, __u32);
	__type(value, __u64);
} nacl_proto SEC(".maps");

/* rinfo_base + bit -> rule number and action */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NACL_MAX_RINFO);
	__type(key, __u32);
	__type(value, struct nacl_rinfo);
} nacl_rinfo SEC(".maps");

/* rinfo_base + bit -> hits (per CPU) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NACL_MAX_RINFO);
	__type(key, __u32);
	__type(value, struct nacl_ctr);
} nacl_ctr SEC(".maps");

/* NACL_ST_* -> packets (per CPU) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NACL_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} nacl_stats SEC(".maps");

/* IPv4 address (network order) -> 1: never filtered (VPC base+2, subnet base+1..3) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} nacl_rsv4 SEC(".maps");

/* IPv6 address (network order) -> 1: never filtered (subnet base+1..3) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct in6_key);
	__type(value, __u8);
} nacl_rsv6 SEC(".maps");

/* drop events (struct vpc_event) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} nacl_events SEC(".maps");

/* Keep the ABI types in BTF so bpf2go emits Go mirrors for them. */
struct vpc_event _nacl_event_btf __attribute__((unused));
enum ev_kind _nacl_ev_kind_btf __attribute__((unused));
enum ev_reason _nacl_ev_reason_btf __attribute__((unused));
enum ev_dir _nacl_ev_dir_btf __attribute__((unused));
enum nacl_stat _nacl_stat_btf __attribute__((unused));
enum nacl_entry _nacl_entry_btf __attribute__((unused));
enum nacl_limit _nacl_limit_btf __attribute__((unused));
enum nacl_tid _nacl_tid_btf __attribute__((unused));
enum rt_port_kind _rt_port_kind_btf __attribute__((unused));
enum rt_port_flag _rt_port_flag_btf __attribute__((unused));
enum rt_drop _rt_drop_btf __attribute__((unused));

static __always_inline void stat(__u32 idx, __u32 n)
{
	__u64 *v = bpf_map_lookup_elem(&nacl_stats, &idx);
	if (v)
		*v += n;
}

/* de Bruijn table: index of the lowest set bit of a 64-bit word */
static const __u8 debruijn64[64] = {
	0,  1,  2,  53, 3,  7,  54, 27, 4,  38, 41, 8,  34, 55, 48, 28,
	62, 5,  39, 46, 44, 42, 22, 9,  24, 35, 59, 56, 49, 18, 29, 11,
	63, 52, 6,  26, 37, 40, 33, 47, 61, 45, 43, 21, 23, 58, 17, 10,
	51, 25, 36, 32, 60, 20, 57, 16, 50, 31, 19, 15, 30, 14, 13, 12,
};

static __always_inline __u32 ctz64(__u64 x)
{
	return debruijn64[((x & -x) * 0x022fdd63cc95386dULL) >> 58];
}

/* wire_segs returns the wire packets a frame stands for and their IP bytes.
 * gso_segs is the skb's segment count where the hook sees it (tc: exact;
 * 1 for a frame that is no GSO packet) and 0 in XDP, where a frame longer
 * than the MTU is estimated (see the contract). frame_len includes the
 * Ethernet header. */
static __always_inline __u32 wire_segs(void *data, void *data_end, struct pkt *p, __u32 *bytes,
				       __u32 gso_segs, __u32 frame_len)
{
	__u32 len = p->l3_len;
	*bytes = len;
	if (gso_segs == 1)
		return 1;
	if (gso_segs == 0 && len <= nacl_cfg.mtu)
		return 1;
	if (p->frag != FRAG_NONE || p->l4_off <= ETH_HLEN ||
	    (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return gso_segs ? gso_segs : 1;
	__u32 hdr = l34_hdr_len(data, data_end, p);
	if (!hdr)
		return gso_segs ? gso_segs : 1;
	if (gso_segs > 1) {
		/* The skb's length, not the IP header's: BIG TCP leaves 0 there. */
		len = frame_len > ETH_HLEN ? frame_len - ETH_HLEN : len;
		*bytes = len + (gso_segs - 1) * hdr;
		return gso_segs;
	}
	if (hdr >= nacl_cfg.mtu || hdr >= len)
		return 1;
	__u32 seg = nacl_cfg.mtu - hdr;
	__u32 segs = (len - hdr + seg - 1) / seg;
	*bytes = len + (segs - 1) * hdr;
	return segs;
}

static __always_inline void emit(struct pkt *p, __u32 acl, __u32 egress, __u16 rule, __u8 reason,
				 __u32 segs, __u32 bytes)
{
	struct vpc_event ev = {};
	ev.ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev.saddr, p->saddr, 16);
	__builtin_memcpy(ev.daddr, p->daddr, 16);
	ev.sport = p->sport;
	ev.dport = p->dport;
	ev.obj = acl;
	ev.packets = segs;
	ev.bytes = bytes;
	ev.rule = rule;
	ev.kind = EV_NACL_DROP;
	ev.reason = reason;
	ev.dir = egress ? EV_DIR_OUTBOUND : EV_DIR_INBOUND;
	ev.family = p->family;
	ev.proto = p->proto;
	ev.tcp_flags = p->tcp_flags;
	ev.icmp_type = p->icmp_type;
	ev.icmp_code = p->icmp_code;
	ev.frag = p->frag;
	if (bpf_ringbuf_output(&nacl_events, &ev, sizeof(ev), 0) < 0)
		stat(NACL_ST_EVLOST, 1);
	/* The frame itself follows from the entry point (cap_pending). */
	cap_verdict(EV_NACL_DROP, acl, rule, reason, ev.dir);
}

/* v4_reserved: 169.254.0.0/16 (IMDS, DNS, Time Sync, ...) or a listed
 * router/DNS address (rules.ReservedService). */
static __always_inline int v4_reserved(__u32 a)
{
	__u32 h = bpf_ntohl(a);
	if ((h >> 16) == 0xa9fe)
		return 1;
	if (!(h & 3) || (h & nacl_cfg.rsv4_mask))
		return 0;
	return bpf_map_lookup_elem(&nacl_rsv4, &a) != NULL;
}

/* v6_reserved: fd00:ec2::/32, fe80::/10 or a listed subnet base+1..3. */
static __always_inline int v6_reserved(__u32 *a)
{
	__u32 h = bpf_ntohl(a[0]);
	if (h == 0xfd000ec2 || (h & 0xffc00000) == 0xfe800000)
		return 1;
	__u32 l = bpf_ntohl(a[3]);
	if (!(l & 3))
		return 0;
	if (!nacl_cfg.rsv6_any && (a[2] != 0 || l > 3))
		return 0;
	return bpf_map_lookup_elem(&nacl_rsv6, a) != NULL;
}

/* bypass: traffic no NACL filters (see the contract above). */
static __always_inline int bypass(struct pkt *p)
{
	if (p->family == 4)
		return v4_reserved(p->saddr[0]) || v4_reserved(p->daddr[0]);
	if (p->proto == IPPROTO_ICMPV6_ && p->frag != FRAG_LATER && p->icmp_type >= 133 &&
	    p->icmp_type <= 137)
		return 1;
	if ((bpf_ntohl(p->daddr[0]) >> 16) == 0xff02)
		return 1;
	return v6_reserved(p->saddr) || v6_reserved(p->daddr);
}

/* trie_leaf walks an address trie from root, whose level is address byte
 * first: one 8-bit stride per level. */
static __always_inline int trie_leaf(__u32 root, __u8 *a, __u32 family, __u32 first, __u64 *leaf)
{
	__u32 levels = family == 4 ? 4 : NACL_ADDR_LEVELS;
	__u64 v = NACL_CHILD | root;
	for (__u32 i = 0; i < NACL_ADDR_LEVELS; i++) {
		__u32 j = i + first;
		if (j >= levels || j >= NACL_ADDR_LEVELS)
			return -1;
		__u32 k = (__u32)v * 256 + a[j];
		__u64 *e = bpf_map_lookup_elem(&nacl_nodes, &k);
		if (!e)
			return -1;
		v = *e;
		if (!(v & NACL_CHILD)) {
			*leaf = v;
			return 0;
		}
	}
	return -1;
}

/* addr_leaf: the rules accepting the packet's address (NACL-15: the
 * source inbound, the destination outbound). */
static __always_inline int addr_leaf(struct nacl_table *t, struct pkt *p, __u32 egress, __u64 *leaf)
{
	return trie_leaf(t->addr_root, (__u8 *)(egress ? p->daddr : p->saddr), p->family, 0, leaf);
}

/* dst_subnet returns the index of the subnet holding the destination, 0 if
 * none. */
static __always_inline __u32 dst_subnet(struct pkt *p)
{
	if (p->family != 4 && p->family != 6)
		return 0; /* a malformed frame's IP header did not parse */
	__u32 f = p->family == 6;
	__u32 root = nacl_cfg.sub_root[f];
	if (root == NACL_NO_TRIE)
		return 0;
	for (int i = 0; i < 4; i++)
		if ((p->daddr[i] & nacl_cfg.sub_mask[f][i]) != nacl_cfg.sub_pfx[f][i])
			return 0;
	__u64 leaf;
	if (trie_leaf(root, (__u8 *)p->daddr, p->family, nacl_cfg.sub_skip[f], &leaf) < 0)
		return 0;
	return (__u32)leaf;
}

/* subnet_nacl returns a subnet's nacl_subnet entry (its NACL and that
 * NACL's live table set), NACL_NO_ACL with no set if it has none. */
static __always_inline __u32 subnet_nacl(__u32 subnet)
{
	__u32 *v = bpf_map_lookup_elem(&nacl_subnet, &subnet);
	if (!v || !(*v & NACL_VALID))
		return NACL_NO_ACL;
	return *v;
}

/* l4_leaf: the rules accepting the packet's port/ICMP value. */
static __always_inline int l4_leaf(struct nacl_table *t, struct pkt *p, __u64 *leaf)
{
	if (p->frag == FRAG_LATER) {
		*leaf = t->frag;
		return 0;
	}
	__u32 v = 0;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)
		v = p->dport;
	else if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_)
		v = ((__u32)p->icmp_type << 8) | p->icmp_code;
	__u32 k = t->l4_root * 256 + (v >> 8);
	__u64 *e = bpf_map_lookup_elem(&nacl_nodes, &k);
	if (!e)
		return -1;
	if (!(*e & NACL_CHILD)) {
		*leaf = *e;
		return 0;
	}
	k = (__u32)*e * 256 + (v & 0xff);
	e = bpf_map_lookup_elem(&nacl_nodes, &k);
	if (!e || (*e & NACL_CHILD))
		return -1;
	*leaf = *e;
	return 0;
}

/* classify returns the bit of the first matching rule (nrules for `*`),
 * or -1 when the table is inconsistent. */
static __always_inline int classify(struct nacl_table *t, __u32 tid, struct pkt *p, __u32 egress)
{
	__u32 nw = t->nwords;
	if (nw == 0)
		return t->nrules;
	__u64 la, lp, ll;
	if (addr_leaf(t, p, egress, &la) < 0 || l4_leaf(t, p, &ll) < 0)
		return -1;
	__u32 k = tid * 256 + p->proto;
	__u64 *pp = bpf_map_lookup_elem(&nacl_proto, &k);
	if (!pp)
		return -1;
	lp = *pp;
	if (t->direct) {
		__u64 x = la & lp & ll;
		return x ? ctz64(x) : t->nrules;
	}
	__u32 ia = la, ip = lp, il = ll;
	struct nacl_bitmap *ba = bpf_map_lookup_elem(&nacl_bm, &ia);
	struct nacl_bitmap *bp = bpf_map_lookup_elem(&nacl_bm, &ip);
	struct nacl_bitmap *bl = bpf_map_lookup_elem(&nacl_bm, &il);
	if (!ba || !bp || !bl)
		return -1;
	for (__u32 w = 0; w < NACL_WORDS; w++) {
		if (w >= nw)
			break;
		__u64 x = ba->w[w] & bp->w[w] & bl->w[w];
		if (x)
			return w * 64 + ctz64(x);
	}
	return t->nrules;
}

/* flow_count charges a judged packet to its ENI (see the contract). */
static __always_inline void flow_count(struct pkt *p, __u32 eni, __u32 egress, int reject, __u32 segs, __u32 bytes)
{
	if (!flow_enabled || (!egress && !reject))
		return;
	flow_account(p, eni, egress, reject, segs, bytes);
}

/* judge applies one table of a subnet's NACL (nacl: its nacl_subnet entry)
 * to p (see the contract): 1 pass, 0 drop. p is used in place: a copy of it
 * cost 15 ns per packet (40 rules: 1.57x parse-only became 2.1x). */
static __always_inline int judge(struct pkt *p, __u32 nacl, __u32 egress, __u32 segs, __u32 bytes, __u32 eni)
{
	__u16 star = nacl_cfg.star[p->family == 6];
	__u32 acl = NACL_ENTRY_ACL(nacl);
	__u32 set = NACL_ENTRY_SET(nacl);
	if (set == 0 || set >= NACL_MAX_SETS)
		goto no_table;
	__u32 tid = set * NACL_TID_SET + (egress ? NACL_TID_EGRESS : 0) + (p->family == 6 ? NACL_TID_V6 : 0);
	struct nacl_table *t = bpf_map_lookup_elem(&nacl_tables, &tid);
	if (!t)
		goto no_table;
	int bit = classify(t, tid, p, egress);
	if (bit < 0 || bit > t->nrules)
		goto no_table;
	__u32 ri = t->rinfo_base + bit;
	/* A direct table's header holds its actions: only a drop, or a larger
	 * table, reads the rule's info (number, action). The rule's counter
	 * counts the packet once its verdict is known, so that a packet
	 * denied for a missing info counts as "no table" alone. */
	int allow = t->direct && ((t->allow >> (bit & 63)) & 1);
	struct nacl_rinfo *info = NULL;
	if (!allow) {
		info = bpf_map_lookup_elem(&nacl_rinfo, &ri);
		if (!info)
			goto no_table;
		allow = info->allow;
	}
	struct nacl_ctr *c = bpf_map_lookup_elem(&nacl_ctr, &ri);
	if (c) {
		c->packets += segs;
		c->bytes += bytes;
	}
	if (!allow)
		emit(p, acl, egress, info->number, EV_REASON_RULE, segs, bytes);
	flow_count(p, eni, egress, !allow, segs, bytes);
	return allow;

no_table:
	stat(NACL_ST_NOTABLE, segs);
	flow_count(p, eni, egress, 1, segs, bytes);
	emit(p, acl, egress, star, EV_REASON_NO_TABLE, segs, bytes);
	return 0;
}

/* What the router does with a packet. */
enum {
	RT_V_DROP = 0,     /* dropped (event sent) */
	RT_V_PASS = 1,     /* to the next filter, or the kernel's stack */
	RT_V_REDIRECT = 2, /* out of rt_out.ifindex, MACs set (or resolved: neigh) */
};

/* rt_out is where a routed packet goes. */
struct rt_out {
	__u32 ifindex;
	__u32 neigh; /* no neighbour entry: bpf_redirect_neigh resolves it */
	__u8 smac[6];
	__u8 dmac[6];
};

static __always_inline struct rt_port *port_of(__u32 ifindex)
{
	return bpf_map_lookup_elem(&nacl_port, &ifindex);
}

/* rt_drop sends a routing drop event (obj: the arrival port, rule: the
 * port the route chose). */
static __always_inline int rt_drop(struct pkt *p, __u8 reason, __u32 in_if, __u32 out_if, __u32 egress, __u32 segs,
				   __u32 bytes)
{
	struct vpc_event ev = {};
	ev.ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(ev.saddr, p->saddr, 16);
	__builtin_memcpy(ev.daddr, p->daddr, 16);
	ev.sport = p->sport;
	ev.dport = p->dport;
	ev.obj = in_if;
	ev.rule = (__u16)out_if;
	ev.packets = segs;
	ev.bytes = bytes;
	ev.kind = EV_ROUTE_DROP;
	ev.reason = reason;
	ev.dir = egress ? EV_DIR_OUTBOUND : EV_DIR_INBOUND;
	ev.family = p->family;
	ev.proto = p->proto;
	ev.tcp_flags = p->tcp_flags;
	ev.icmp_type = p->icmp_type;
	ev.icmp_code = p->icmp_code;
	ev.frag = p->frag;
	if (bpf_ringbuf_output(&nacl_events, &ev, sizeof(ev), 0) < 0)
		stat(NACL_ST_EVLOST, 1);
	cap_verdict(EV_ROUTE_DROP, in_if, out_if, reason, ev.dir);
	return RT_V_DROP;
}

/* fib fills a lookup of dst from src in table. */
static __always_inline void fib_params(struct bpf_fib_lookup *f, struct pkt *p, const __u32 *src, const __u32 *dst,
				       __u32 in_if, __u32 table)
{
	__builtin_memset(f, 0, sizeof(*f));
	f->l4_protocol = p->proto;
	f->sport = bpf_htons(p->sport);
	f->dport = bpf_htons(p->dport);
	f->ifindex = in_if;
	f->tbid = table;
	if (p->family == 4) {
		f->family = 2; /* AF_INET */
		f->ipv4_src = src[0];
		f->ipv4_dst = dst[0];
	} else {
		f->family = 10; /* AF_INET6 */
		__builtin_memcpy(f->ipv6_src, src, 16);
		__builtin_memcpy(f->ipv6_dst, dst, 16);
	}
}

/* A lookup in one table of the port's namespace, the packet's arrival
 * there (no rules: the table is the route table's). */
#define RT_FIB_FLAGS (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID)

/* found: a lookup result that names an outgoing port. */
static __always_inline int found(long rc)
{
	return rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH;
}

/* eigw_timeout is an egress-only gateway flow's timeout after packet p
 * (rules.eigwTimeout), for the instance owning address a. */
static __always_inline __u64 eigw_timeout(struct pkt *p, const __u32 *a)
{
	__u32 s;
	struct eigw_timeouts *c = bpf_map_lookup_elem(&eigw_cfg, a);
	switch (p->proto) {
	case IPPROTO_TCP:
		if (p->tcp_flags & 0x05) /* FIN, RST */
			s = nacl_cfg.eigw_closing;
		else if ((p->tcp_flags & 0x12) == 0x02) /* SYN */
			s = nacl_cfg.eigw_syn;
		else
			s = c ? c->tcp_est : nacl_cfg.eigw_tcp_est;
		break;
	case IPPROTO_UDP:
		s = c ? c->udp : nacl_cfg.eigw_udp;
		break;
	case IPPROTO_ICMPV6_:
		s = nacl_cfg.eigw_icmp;
		break;
	default:
		s = nacl_cfg.eigw_other;
	}
	return (__u64)s * 1000000000ULL;
}

/* eigw_key_of is p's egress-only gateway flow; out: p leaves the VPC. */
static __always_inline void eigw_key_of(struct eigw_key *k, struct pkt *p, int out)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->proto = p->proto;
	__builtin_memcpy(k->in, out ? p->saddr : p->daddr, 16);
	__builtin_memcpy(k->out, out ? p->daddr : p->saddr, 16);
	if (p->proto == IPPROTO_ICMPV6_) {
		if (p->icmp_type == 128 || p->icmp_type == 129)
			k->in_port = p->icmp_id;
		return;
	}
	k->in_port = out ? p->sport : p->dport;
	k->out_port = out ? p->dport : p->sport;
}

/* eigw_inbound: a packet from the internet through the egress-only
 * gateway belongs to a flow started inside that has not expired; it
 * refreshes the flow (EIP-13). */
static __always_inline int eigw_inbound(struct pkt *p)
{
	struct eigw_key k;
	eigw_key_of(&k, p, 0);
	__u64 *exp = bpf_map_lookup_elem(&eigw_flows, &k);
	__u64 now = bpf_ktime_get_ns();
	if (!exp)
		return 0;
	if (now >= *exp) {
		bpf_map_delete_elem(&eigw_flows, &k);
		return 0;
	}
	*exp = now + eigw_timeout(p, p->daddr);
	return 1;
}

/* in6 decides whether IPv6 from the internet may enter the VPC through
 * the gateway port it arrived on (EIP-6, EIP-13 [INTERP, OQ-17]), as
 * rules' in6 does: the destination subnet's table must route the source
 * to the internet gateway, or to the egress-only gateway for a flow
 * started inside. f is the arrival's lookup of the destination (the local
 * table): it names the destination subnet's port. 1: it may. */
static __always_inline int in6(void *ctx, struct pkt *p, __u32 in_if, struct rt_port *port, long rc,
			       struct bpf_fib_lookup *f, __u32 segs, __u32 bytes)
{
	int has_igw = port->kind == RT_PORT_IGW; /* the internet sends IPv6 to the internet gateway when there is one */
	struct rt_port *dp = found(rc) ? port_of(f->ifindex) : NULL;
	if (!dp || dp->kind != RT_PORT_SUBNET) {
		/* No subnet holds it: through the internet gateway to no ENI,
		 * else the internet has no way in. */
		rt_drop(p, has_igw ? RT_DROP_NO_ENI : RT_DROP_INTERNET, in_if, 0, 0, segs, bytes);
		return 0;
	}
	struct bpf_fib_lookup g;
	fib_params(&g, p, p->daddr, p->saddr, in_if, dp->table);
	long rg = bpf_fib_lookup(ctx, &g, sizeof(g), RT_FIB_FLAGS);
	struct rt_port *gp = found(rg) ? port_of(g.ifindex) : NULL;
	if (gp && gp->kind == RT_PORT_EIGW) {
		if (eigw_inbound(p))
			return 1;
		rt_drop(p, RT_DROP_EIGW_INBOUND, in_if, g.ifindex, 0, segs, bytes);
		return 0;
	}
	if (has_igw) {
		struct bpf_fib_lookup s;
		fib_params(&s, p, p->daddr, p->saddr, in_if, port->table);
		long rs = bpf_fib_lookup(ctx, &s, sizeof(s), RT_FIB_FLAGS);
		if (found(rs) || rs == BPF_FIB_LKUP_RET_PROHIBIT) {
			rt_drop(p, RT_DROP_SPOOFED, in_if, 0, 0, segs, bytes);
			return 0;
		}
		if (gp && gp->kind == RT_PORT_IGW)
			return 1;
		rt_drop(p, RT_DROP_IGW_NO_ROUTE, in_if, 0, 0, segs, bytes);
		return 0;
	}
	if (port->flags & RT_F_HAS_EIGW)
		rt_drop(p, RT_DROP_EIGW_INBOUND, in_if, 0, 0, segs, bytes);
	else
		rt_drop(p, RT_DROP_INTERNET, in_if, 0, 0, segs, bytes);
	return 0;
}

/* vpce_from_list: p's source is in the prefix list of the gateway
 * endpoint at port in_if. */
static __always_inline int vpce_from_list(struct pkt *p, __u32 in_if)
{
	struct vpce_src_key k = {};
	k.prefixlen = 32 + (p->family == 4 ? 32 : 128);
	k.port = in_if;
	__builtin_memcpy(k.addr, p->saddr, 16);
	return bpf_map_lookup_elem(&vpce_src, &k) != NULL;
}

/* route routes a packet that arrived on a routing port (aws-routing.md §8,
 * PATH-10..PATH-15): the source subnet's outbound table, the port's table
 * (bpf_fib_lookup with the table's id), the checks of the gateway it
 * arrived from or goes to, and the inbound table of the subnet the packet
 * enters; then it leaves through the chosen port unchanged (bpf_redirect):
 * the router decrements no TTL (PATH-18). Drops send events naming the
 * component, as rules.Path.DropPoint does. */
static __always_inline int route(void *ctx, struct pkt *p, __u32 in_if, struct rt_port *port, __u32 segs,
				 __u32 bytes, __u8 *frame_smac, struct rt_out *out)
{
	__u32 kind = port->kind;
	/* The flow record of a packet an ENI forwards (a NAT gateway, an
	 * appliance) is that ENI's, named by its MAC. */
	if (port->subnet &&
	    !judge(p, subnet_nacl(port->subnet), 1, segs, bytes,
		   (port->flags & RT_F_FORWARDERS) ? flow_eni_by_mac(frame_smac) : 0))
		return RT_V_DROP;
	struct bpf_fib_lookup f;
	fib_params(&f, p, p->saddr, p->daddr, in_if, port->table);
	long rc = bpf_fib_lookup(ctx, &f, sizeof(f), RT_FIB_FLAGS);

	/* Arrival from a gateway endpoint's service: TCP and echo replies,
	 * from inside its prefix list (VPCE-5). */
	if (kind == RT_PORT_ENDPOINT) {
		if (!(p->proto == IPPROTO_TCP || (p->proto == IPPROTO_ICMP && p->icmp_type == 0)))
			return rt_drop(p, RT_DROP_VPCE_PROTOCOL, in_if, 0, 0, segs, bytes);
		if (!vpce_from_list(p, in_if))
			return rt_drop(p, RT_DROP_VPCE_SOURCE, in_if, 0, 0, segs, bytes);
	}
	if ((kind == RT_PORT_IGW || kind == RT_PORT_EIGW) && p->family == 6 && !in6(ctx, p, in_if, port, rc, &f, segs, bytes))
		return RT_V_DROP;

	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		break;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
		return rt_drop(p, RT_DROP_BLACKHOLE, in_if, 0, 1, segs, bytes);
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return rt_drop(p, RT_DROP_NO_ENI, in_if, 0, 0, segs, bytes);
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return RT_V_PASS; /* the kernel answers with ICMP */
	default:
		switch (kind) {
		case RT_PORT_SUBNET:
			return rt_drop(p, RT_DROP_NO_ROUTE, in_if, 0, 1, segs, bytes);
		case RT_PORT_PEERING:
			return rt_drop(p, RT_DROP_PCX_ADDRESS, in_if, 0, 1, segs, bytes);
		case RT_PORT_INET_HOST:
			return rt_drop(p, RT_DROP_INTERNET, in_if, 0, 0, segs, bytes);
		case RT_PORT_INET_IGW:
		case RT_PORT_INET_EIGW:
			/* a VPC the internet has no route to (no gateway) */
			if (rc == BPF_FIB_LKUP_RET_UNREACHABLE)
				return rt_drop(p, RT_DROP_INTERNET, in_if, 0, 0, segs, bytes);
			return RT_V_PASS; /* an address of no host: the internet's kernel answers */
		}
		return rt_drop(p, RT_DROP_NO_ENI, in_if, 0, 0, segs, bytes);
	}
	__u32 out_if = f.ifindex;
	struct rt_port *op = port_of(out_if);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		if (op && op->kind == RT_PORT_SUBNET)
			return rt_drop(p, RT_DROP_NO_ENI, in_if, out_if, 0, segs, bytes);
		out->neigh = 1;
	}
	if (op && op->kind == RT_PORT_SUBNET) {
		/* Routed back to the ENI that sent it: a NAT gateway whose
		 * subnet routes the destination to itself (NGW-3). */
		if (kind == RT_PORT_SUBNET && out_if == in_if && !out->neigh) {
			int same = 1;
			for (int i = 0; i < 6; i++)
				if (f.dmac[i] != frame_smac[i])
					same = 0;
			if (same)
				return rt_drop(p, RT_DROP_LOOP, in_if, out_if, 1, segs, bytes);
		}
		if (!judge(p, subnet_nacl(op->subnet), 0, segs, bytes,
			   (op->flags & RT_F_FORWARDERS) ? flow_eni_by_mac(f.dmac) : 0))
			return RT_V_DROP;
	} else if (op && op->kind == RT_PORT_ENDPOINT) {
		if (!(p->proto == IPPROTO_TCP || (p->proto == IPPROTO_ICMP && p->icmp_type == 8)))
			return rt_drop(p, RT_DROP_VPCE_PROTOCOL, in_if, out_if, 1, segs, bytes);
	}
	out->ifindex = out_if;
	__builtin_memcpy(out->smac, f.smac, 6);
	__builtin_memcpy(out->dmac, f.dmac, 6);
	return RT_V_REDIRECT;
}

/* nacl_main judges (and on routing ports routes) one parsed frame (r:
 * parse_pkt's result) that entered on port ifindex: an RT_V_* verdict.
 * gso_segs and frame_len as for wire_segs. */
static __always_inline int nacl_main(void *ctx, void *data, void *data_end, struct pkt *p, int r,
				     __u32 ifindex, __u32 gso_segs, __u32 frame_len, struct rt_out *out)
{
	struct rt_port *port = port_of(ifindex);
	__u32 src = port ? port->subnet : 0;

	if (r == PARSE_NOT_IP) {
		stat(NACL_ST_NONIP, 1);
		return RT_V_PASS;
	}
	if (r != PARSE_IP) {
		/* Charged to the NACL the packet would have met first. */
		stat(NACL_ST_MALFORMED, 1);
		__u32 s = src ? src : dst_subnet(p);
		emit(p, s ? NACL_ENTRY_ACL(subnet_nacl(s)) : NACL_NO_ACL, src != 0, 0, EV_REASON_MALFORMED, 1, frame_len);
		return RT_V_DROP;
	}
	if (bypass(p)) {
		stat(NACL_ST_BYPASS, 1);
		return RT_V_PASS;
	}
	__u32 bytes;
	__u32 segs = wire_segs(data, data_end, p, &bytes, gso_segs, frame_len);
	if (port && port->table) {
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) > data_end)
			return RT_V_DROP;
		return route(ctx, p, ifindex, port, segs, bytes, eth->h_source, out);
	}
	if (src && !judge(p, subnet_nacl(src), 1, segs, bytes, 0))
		return RT_V_DROP;
	__u32 dst = dst_subnet(p);
	if (dst)
		return judge(p, subnet_nacl(dst), 0, segs, bytes, 0) ? RT_V_PASS : RT_V_DROP;
	if (!src)
		stat(NACL_ST_TRANSIT, 1);
	return RT_V_PASS;
}

/* set_macs writes a routed frame's Ethernet addresses. */
static __always_inline int set_macs(void *data, void *data_end, struct rt_out *out)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, out->dmac, 6);
	__builtin_memcpy(eth->h_source, out->smac, 6);
	return 0;
}

/* nacl_xdp runs nacl_main on an XDP frame. */
static __always_inline int nacl_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p;
	struct rt_out out = {};
	int r = parse_pkt(data, data_end, &p);
	switch (nacl_main(ctx, data, data_end, &p, r, ctx->ingress_ifindex, 0, data_end - data, &out)) {
	case RT_V_PASS:
		return XDP_PASS;
	case RT_V_REDIRECT:
		/* XDP has no neighbour resolution: the kernel routes such a
		 * packet by the port's rule instead. */
		if (out.neigh || set_macs((void *)(long)ctx->data, (void *)(long)ctx->data_end, &out) < 0)
			return XDP_PASS;
		return bpf_redirect(out.ifindex, 0);
	}
	cap_drop_xdp(ctx, cap_pending());
	return XDP_DROP;
}

/* nacl_filter: generic (skb) mode: the kernel linearizes the skb, so every
 * header is between data and data_end. */
SEC("xdp")
int nacl_filter(struct xdp_md *ctx)
{
	return nacl_xdp(ctx);
}

/* nacl_filter_frags: native mode. A veth refuses a non-frags program when
 * its MTU exceeds a page (VPC MTU 9001); multi-buffer frames keep their
 * headers in the first buffer, which is all the program reads. */
SEC("xdp.frags")
int nacl_filter_frags(struct xdp_md *ctx)
{
	return nacl_xdp(ctx);
}

/* nacl_filter_tc: the same judgement at tc ingress (--xdp-mode tc, see
 * BENCHMARKS.md): no copy of the skb head as generic XDP makes, and the
 * skb's exact GSO segment count. A pass is TC_ACT_UNSPEC (the next filter),
 * a drop TC_ACT_SHOT, a routed packet leaves by bpf_redirect. */
SEC("tc")
int nacl_filter_tc(struct __sk_buff *skb)
{
	struct pkt p;
	struct rt_out out = {};
	int r = parse_skb(skb, &p);
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	switch (nacl_main(skb, data, data_end, &p, r, skb->ingress_ifindex, segs, skb->len, &out)) {
	case RT_V_PASS:
		return TC_ACT_UNSPEC;
	case RT_V_REDIRECT:
		if (!out.neigh && set_macs((void *)(long)skb->data, (void *)(long)skb->data_end, &out) < 0)
			return TC_ACT_SHOT;
		__u32 in = skb->ingress_ifindex;
		struct rt_port *port = port_of(in);
		if (port && (port->flags & RT_F_TAP)) {
			/* a capture tap follows: it sends the packet on */
			skb->cb[0] = CAP_ROUTED;
			skb->cb[1] = out.ifindex;
			skb->cb[2] = out.neigh;
			return TC_ACT_UNSPEC;
		}
		if (out.neigh)
			return bpf_redirect_neigh(out.ifindex, NULL, 0, 0);
		return bpf_redirect(out.ifindex, 0);
	}
	cap_drop_skb(skb, cap_pending());
	return TC_ACT_SHOT;
}

/* eigw_egress records the flows that leave through an egress-only
 * internet gateway (tc egress of the router's end of its link, EIP-13);
 * IPv4 never routes there (RT-9). */
SEC("tc")
int eigw_egress(struct __sk_buff *skb)
{
	struct pkt p;
	int r = parse_skb(skb, &p);
	if (r != PARSE_IP || p.family != 6)
		return TC_ACT_UNSPEC;
	if (p.proto == IPPROTO_ICMPV6_ && p.icmp_type >= 133 && p.icmp_type <= 137)
		return TC_ACT_UNSPEC; /* the link's own neighbour discovery */
	struct eigw_key k;
	eigw_key_of(&k, &p, 1);
	__u64 exp = bpf_ktime_get_ns() + eigw_timeout(&p, p.saddr);
	bpf_map_update_elem(&eigw_flows, &k, &exp, BPF_ANY);
	return TC_ACT_UNSPEC;
}

/* nacl_parse_only is the benchmark baseline: the same parse and bypass
 * checks, no classification. */
SEC("xdp")
int nacl_parse_only(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt p;
	__builtin_memset(&p, 0, sizeof(p));
	int r = parse_pkt(data, data_end, &p);
	if (r == PARSE_MALFORMED)
		return XDP_DROP;
	if (r == PARSE_NOT_IP || bypass(&p))
		return XDP_PASS;
	return p.dport == 22 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
