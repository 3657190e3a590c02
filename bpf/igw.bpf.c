/* SPDX-License-Identifier: GPL-2.0 */
/* igw.bpf.c: an internet gateway (aws-routing.md §2, rules' igwIn and
 * igwOut): the stateless 1:1 NAT (this kernel has no tc act_nat) and the
 * gateway's checks, on the router-side end of its VPC's igw veth; one
 * program and map set per internet gateway.
 *
 * igw_ingress (tc ingress, IPv4 arriving from the internet): a source in
 *   the VPC is dropped (GATEWAY_REJECTS_SPOOFED_TRAFFIC), so is an RFC 1918
 *   or RFC 6598 one (EIP-4); a destination that is a public IP in
 *   igw_pub2priv is rewritten to its private IP, any other is dropped
 *   (IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS, EIP-3).
 * igw_egress (tc egress, IPv4 leaving towards the internet): an RFC 1918
 *   or RFC 6598 destination is dropped (EIP-4); a source in igw_priv2pub
 *   is rewritten to its public IP, any other is dropped
 *   (IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS, EIP-2).
 * Every drop sends an event (EV_IGW_DROP). IPv6, ARP and the link's own
 * 169.254.x traffic pass untouched: IPv6 addresses are global in AWS too
 * (the router program decides where IPv6 from the internet may go, EIP-6).
 * Every pass hands the packet to the next tc filter (the router program's,
 * at ingress).
 *
 * Checksums: the IPv4 header checksum and the TCP/UDP checksum (pseudo
 * header, BPF_F_PSEUDO_HDR, so CHECKSUM_PARTIAL skbs stay right) are fixed
 * incrementally; a UDP checksum of zero (none) stays zero. ICMP has no
 * pseudo header. ICMP errors (types 3, 4, 5, 11, 12) quote the offending
 * packet: its inner IPv4 header is rewritten too (the quoted packet went
 * the other way: inner source on ingress, inner destination on egress), with the
 * inner IP checksum and the outer ICMP checksum fixed, so that PMTUD and
 * port-unreachable reach the instance's socket. The inner TCP/UDP checksum
 * is left alone: the quote is usually truncated and no stack verifies it.
 * Non-first fragments carry no L4 header and need only the IP fix.
 */
#include "parse.h"
#include "events.h"

#define TC_ACT_SHOT 2
/* A pass is "next filter" (TC_ACT_UNSPEC): at ingress the NACL program
 * runs after this one and must see the private destination (nacl.bpf.c). */
#define TC_ACT_NEXT -1

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

/* Headers we need in the linear area: Ethernet, IPv4 with options, and an
 * ICMP error quoting an IPv4 header with options plus 8 bytes. */
#define PULL_LEN (ETH_HLEN + 60 + 8 + 60 + 8)

#define IGW_MAX_BLOCKS 8 /* VPC IPv4 blocks (primary and secondary) */

/* Load-time configuration (one volatile const, set by the loader). */
struct igw_config {
	__u32 nblocks;
	__u32 obj; /* vpc_event.obj: the loader's index of this gateway */
	__u32 vpc_net[IGW_MAX_BLOCKS];  /* the VPC's IPv4 blocks: network-order address */
	__u32 vpc_mask[IGW_MAX_BLOCKS]; /* and mask */
};

/* vpc_event.reason of EV_IGW_DROP events (RA-8's codes). */
enum igw_drop {
	IGW_DROP_PUBLIC_IP_EGRESS = 1,   /* IGW_PUBLIC_IP_ASSOCIATION_FOR_EGRESS */
	IGW_DROP_PRIVATE_IP_INGRESS = 2, /* IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS */
	IGW_DROP_DST_RFC1918 = 3,        /* IGW_DESTINATION_ADDRESS_NOT_IN_RFC1918_EGRESS */
	IGW_DROP_DST_RFC6598 = 4,        /* IGW_DESTINATION_ADDRESS_NOT_IN_RFC6598_EGRESS */
	IGW_DROP_SRC_RFC1918 = 5,        /* IGW_SOURCE_ADDRESS_NOT_IN_RFC1918_INGRESS */
	IGW_DROP_SRC_RFC6598 = 6,        /* IGW_SOURCE_ADDRESS_NOT_IN_RFC6598_INGRESS */
	IGW_DROP_SPOOFED = 7,            /* GATEWAY_REJECTS_SPOOFED_TRAFFIC */
	IGW_DROP_MALFORMED = 8,
};

/* drop events (struct vpc_event, kind EV_IGW_DROP, reason enum igw_drop) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18);
} igw_events SEC(".maps");

volatile const struct igw_config igw_cfg;

/* public IPv4 (network order) -> private IPv4 (network order) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} igw_pub2priv SEC(".maps");

/* private IPv4 (network order) -> public IPv4 (network order) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} igw_priv2pub SEC(".maps");

/* Per-CPU packet counters, indexed by enum igw_stat. */
enum igw_stat {
	IGW_IN_NAT = 0,   /* ingress packets translated */
	IGW_OUT_NAT = 1,  /* egress packets translated */
	IGW_IN_DROP = 2,  /* ingress dropped */
	IGW_OUT_DROP = 3, /* egress dropped */
	IGW_MALFORMED = 4,/* IPv4 too short to translate, dropped */
	IGW_EVLOST = 5,   /* drop events lost (ring buffer full) */
	IGW_STAT_MAX = 6,
};

/* Keep the ABI types in BTF so bpf2go emits Go mirrors for them. */
enum igw_stat _igw_stat_btf __attribute__((unused));
enum igw_drop _igw_drop_btf __attribute__((unused));
enum ev_kind _igw_ev_kind_btf __attribute__((unused));
struct vpc_event _igw_event_btf __attribute__((unused));

/* stat index -> packets (per CPU) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IGW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} igw_stats SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&igw_stats, &idx);
	if (v)
		*v += 1;
}

static __always_inline int in_vpc(__u32 addr)
{
	for (int i = 0; i < IGW_MAX_BLOCKS; i++) {
		if (i >= igw_cfg.nblocks)
			break;
		if ((addr & igw_cfg.vpc_mask[i]) == igw_cfg.vpc_net[i])
			return 1;
	}
	return 0;
}

/* in: a (network order) is inside net/bits (host order network). */
static __always_inline int in(__u32 a, __u32 net, __u32 bits)
{
	return (bpf_ntohl(a) >> (32 - bits)) == (net >> (32 - bits));
}

static __always_inline int rfc1918(__u32 a)
{
	return in(a, 0x0a000000, 8) || in(a, 0xac100000, 12) || in(a, 0xc0a80000, 16);
}

static __always_inline int rfc6598(__u32 a)
{
	return in(a, 0x64400000, 10);
}

static __always_inline int link_local(__u32 a)
{
	return in(a, 0xa9fe0000, 16);
}

/* drop sends an event and drops. */
static __always_inline int drop(struct __sk_buff *skb, struct pkt *p, __u8 reason, int inbound)
{
	count(inbound ? IGW_IN_DROP : IGW_OUT_DROP);
	struct vpc_event *e = bpf_ringbuf_reserve(&igw_events, sizeof(*e), 0);
	if (!e) {
		count(IGW_EVLOST);
		return TC_ACT_SHOT;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->saddr, p->saddr, 16);
	__builtin_memcpy(e->daddr, p->daddr, 16);
	e->sport = p->sport;
	e->dport = p->dport;
	e->obj = igw_cfg.obj;
	e->packets = skb->gso_segs > 1 ? skb->gso_segs : 1;
	e->bytes = p->l3_len;
	e->kind = EV_IGW_DROP;
	e->reason = reason;
	e->dir = inbound ? EV_DIR_INBOUND : EV_DIR_OUTBOUND;
	e->family = p->family;
	e->proto = p->proto;
	e->tcp_flags = p->tcp_flags;
	e->icmp_type = p->icmp_type;
	e->icmp_code = p->icmp_code;
	e->frag = p->frag;
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_SHOT;
}

/* load_ipv4 makes the headers readable and parses them; returns the
 * parse_pkt result (PARSE_NOT_IP for IPv6 too: we leave it alone). */
static __always_inline int load_ipv4(struct __sk_buff *skb, struct pkt *p)
{
	__u32 len = skb->len;
	if (len > PULL_LEN)
		len = PULL_LEN;
	/* GRO/GSO skbs may keep headers outside the linear area. */
	if ((void *)(long)skb->data + len > (void *)(long)skb->data_end)
		bpf_skb_pull_data(skb, len);
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int r = parse_pkt(data, data_end, p);
	if (r == PARSE_IP && p->family != 4)
		return PARSE_NOT_IP;
	if (r == PARSE_NOT_IP || r == PARSE_MALFORMED) {
		struct ethhdr *eth = data;
		if ((void *)(eth + 1) <= data_end && eth->h_proto != bpf_htons(ETH_P_IP))
			return PARSE_NOT_IP;
	}
	return r;
}

/* l4_csum_off returns the offset of the TCP/UDP checksum, or 0 when the
 * packet has no L4 checksum covering the addresses. */
static __always_inline __u32 l4_csum_off(struct __sk_buff *skb, struct pkt *p, __u64 *flags)
{
	if (p->frag == FRAG_LATER)
		return 0;
	if (p->proto == IPPROTO_TCP) {
		*flags = BPF_F_PSEUDO_HDR | 4;
		return p->l4_off + offsetof(struct tcphdr, check);
	}
	if (p->proto == IPPROTO_UDP) {
		/* A zero UDP checksum means "none" and must stay zero. */
		*flags = BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | 4;
		return p->l4_off + offsetof(struct udphdr, check);
	}
	return 0;
}

/* rewrite_addr replaces the IPv4 address at addr_off (old -> new), fixing
 * the IP header checksum and the L4 pseudo-header checksum. */
static __always_inline int rewrite_addr(struct __sk_buff *skb, struct pkt *p, __u32 addr_off,
					__u32 old, __u32 new)
{
	__u64 flags = 0;
	__u32 off = l4_csum_off(skb, p, &flags);
	if (off && bpf_l4_csum_replace(skb, off, old, new, flags) < 0)
		return -1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, 4) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &new, 4, 0) < 0)
		return -1;
	return 0;
}

static __always_inline int is_icmp_error(__u8 type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

/* nat_icmp_inner rewrites the IPv4 header quoted by an ICMP error: the
 * quoted packet travelled the other way, so on ingress (outer dst rewritten)
 * its source is the public IP; on egress its destination is the private IP.
 * inner_field is offsetof(saddr) or offsetof(daddr). Best effort: a quote
 * too short to hold the field is left alone. */
static __always_inline void nat_icmp_inner(struct __sk_buff *skb, struct pkt *p, __u32 inner_field,
					   __u32 old, __u32 new)
{
	if (p->proto != IPPROTO_ICMP || p->frag != FRAG_NONE || !is_icmp_error(p->icmp_type))
		return;
	__u32 icmp_off = p->l4_off;
	__u32 inner = icmp_off + 8;
	__u32 cur = 0;
	if (bpf_skb_load_bytes(skb, inner + inner_field, &cur, 4) < 0 || cur != old)
		return;
	__u16 old_csum = 0, new_csum;
	if (bpf_skb_load_bytes(skb, inner + offsetof(struct iphdr, check), &old_csum, 2) < 0)
		return;
	/* inner IP checksum; then the ICMP checksum sees both changes */
	if (bpf_l3_csum_replace(skb, inner + offsetof(struct iphdr, check), old, new, 4) < 0)
		return;
	if (bpf_skb_load_bytes(skb, inner + offsetof(struct iphdr, check), &new_csum, 2) < 0)
		return;
	bpf_l4_csum_replace(skb, icmp_off + 2, old, new, 4);
	bpf_l4_csum_replace(skb, icmp_off + 2, old_csum, new_csum, 2);
	bpf_skb_store_bytes(skb, inner + inner_field, &new, 4, 0);
}

/* nat rewrites one address of a VPC<->internet packet by map: the
 * destination (public -> private) on the way in, the source (private ->
 * public) on the way out. A VPC address with no mapping is dropped: the
 * internet cannot address private IPs, and an instance without a public IP
 * cannot reach the internet. */
static __always_inline int nat(struct __sk_buff *skb, int inbound)
{
	struct pkt p;
	int r = load_ipv4(skb, &p);
	if (r == PARSE_NOT_IP)
		return TC_ACT_NEXT;
	if (r == PARSE_MALFORMED) {
		count(IGW_MALFORMED);
		return drop(skb, &p, IGW_DROP_MALFORMED, inbound);
	}
	__u32 src = p.saddr[0], dst = p.daddr[0];
	/* The link's own traffic (its 169.254.x addresses) is no VPC's. */
	if (link_local(inbound ? dst : src))
		return TC_ACT_NEXT;
	if (inbound) {
		if (in_vpc(src))
			return drop(skb, &p, IGW_DROP_SPOOFED, 1);
		if (rfc1918(src))
			return drop(skb, &p, IGW_DROP_SRC_RFC1918, 1);
		if (rfc6598(src))
			return drop(skb, &p, IGW_DROP_SRC_RFC6598, 1);
	} else {
		if (rfc1918(dst))
			return drop(skb, &p, IGW_DROP_DST_RFC1918, 0);
		if (rfc6598(dst))
			return drop(skb, &p, IGW_DROP_DST_RFC6598, 0);
	}
	__u32 old = inbound ? dst : src;
	__u32 *mapped = bpf_map_lookup_elem(inbound ? (void *)&igw_pub2priv : (void *)&igw_priv2pub, &old);
	if (!mapped)
		return drop(skb, &p, inbound ? IGW_DROP_PRIVATE_IP_INGRESS : IGW_DROP_PUBLIC_IP_EGRESS, inbound);
	__u32 new = *mapped;
	if (rewrite_addr(skb, &p, inbound ? IP_DST_OFF : IP_SRC_OFF, old, new) < 0)
		return TC_ACT_SHOT;
	/* an ICMP error quotes the packet it answers, addresses swapped */
	nat_icmp_inner(skb, &p, inbound ? offsetof(struct iphdr, saddr) : offsetof(struct iphdr, daddr), old, new);
	count(inbound ? IGW_IN_NAT : IGW_OUT_NAT);
	return TC_ACT_NEXT;
}

SEC("tc")
int igw_ingress(struct __sk_buff *skb)
{
	return nat(skb, 1);
}

SEC("tc")
int igw_egress(struct __sk_buff *skb)
{
	return nat(skb, 0);
}

char _license[] SEC("license") = "GPL";
