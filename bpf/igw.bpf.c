/* SPDX-License-Identifier: GPL-2.0 */
/* igw.bpf.c: the internet gateway's stateless 1:1 NAT (this kernel has no
 * tc act_nat), on the router-side end of the igw veth.
 *
 * igw_ingress (tc ingress, packets arriving from the internet): an IPv4
 *   destination that is a public IP in igw_pub2priv is rewritten to its
 *   private IP; a destination inside the VPC CIDR that arrives unmapped is
 *   dropped (the internet cannot address private IPs directly).
 * igw_egress (tc egress, packets leaving towards the internet): an IPv4
 *   source in igw_priv2pub is rewritten to its public IP; any other source
 *   inside the VPC CIDR is dropped (an instance without a public IP cannot
 *   reach the internet).
 * Everything else (IPv6, ARP, the link's own 169.254.100.x traffic) passes
 * untouched: IPv6 addresses are global in AWS too. Every pass hands the
 * packet to the next tc filter (the NACL's, at ingress).
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

/* Load-time configuration (one volatile const, set by the loader). */
struct igw_config {
	__u32 vpc_net;  /* VPC IPv4 CIDR: network-order address */
	__u32 vpc_mask; /* and mask */
};

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
	IGW_IN_DROP = 2,  /* ingress to an unmapped VPC address */
	IGW_OUT_DROP = 3, /* egress from a VPC address without public IP */
	IGW_MALFORMED = 4,/* IPv4 too short to translate, dropped */
	IGW_STAT_MAX = 5,
};

/* Keep the ABI enum in BTF so bpf2go emits Go constants for it. */
enum igw_stat _igw_stat_btf __attribute__((unused));

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
	return igw_cfg.vpc_mask != 0 && (addr & igw_cfg.vpc_mask) == igw_cfg.vpc_net;
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
		return TC_ACT_SHOT;
	}
	__u32 old = inbound ? p.daddr[0] : p.saddr[0];
	__u32 *mapped = bpf_map_lookup_elem(inbound ? (void *)&igw_pub2priv : (void *)&igw_priv2pub, &old);
	if (!mapped) {
		if (in_vpc(old)) {
			count(inbound ? IGW_IN_DROP : IGW_OUT_DROP);
			return TC_ACT_SHOT;
		}
		return TC_ACT_NEXT;
	}
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
