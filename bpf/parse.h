/* SPDX-License-Identifier: GPL-2.0 */
/* parse.h: bounds-checked parsing of one Ethernet frame into struct pkt.
 *
 * Contract: parse_pkt() reads Ethernet, IPv4 (with options) or IPv6 (with
 * hop-by-hop, routing, destination-options and fragment extension headers),
 * then TCP, UDP, ICMP or ICMPv6. It never reads past data_end. Addresses stay
 * in network byte order; ports, ICMP id and lengths are converted to host
 * byte order. Non-first fragments carry no L4 header: their ports/ICMP fields
 * are 0 and frag == FRAG_LATER.
 */
#ifndef VPCEMU_PARSE_H
#define VPCEMU_PARSE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Result of parse_pkt. */
enum parse_result {
	PARSE_IP = 0,        /* an IPv4/IPv6 packet, struct pkt filled in */
	PARSE_NOT_IP = 1,    /* ARP or any other ethertype: not ours to judge */
	PARSE_MALFORMED = 2, /* truncated or invalid IP/L4 header */
};

enum frag_kind {
	FRAG_NONE = 0,  /* not a fragment */
	FRAG_FIRST = 1, /* first fragment: L4 header present */
	FRAG_LATER = 2, /* non-first fragment: no L4 header */
};

#define IPPROTO_ICMPV6_ 58
#define IPV6_EXT_MAX 6 /* extension headers walked before giving up */

/* ICMP/ICMPv6 share this layout for the fields we read. */
struct icmp_min {
	__u8 type;
	__u8 code;
	__u16 csum;
	__u16 id;  /* echo identifier (network order on the wire) */
	__u16 seq;
};

struct pkt {
	__u32 saddr[4];  /* network order; IPv4 in saddr[0], rest 0 */
	__u32 daddr[4];
	__u16 sport;     /* host order; 0 for portless protocols */
	__u16 dport;
	__u16 l3_len;    /* IP packet length on the wire (IPv4 tot_len, IPv6 40+payload) */
	__u16 icmp_id;   /* echo id for ICMP/ICMPv6 echo, else 0 */
	__u8 family;     /* 4 or 6 */
	__u8 proto;      /* L4 protocol number after IPv6 extension headers */
	__u8 frag;       /* enum frag_kind */
	__u8 tcp_flags;  /* TCP flags byte (FIN=1 SYN=2 RST=4 PSH=8 ACK=16 ...) */
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 l4_off;     /* offset of the L4 header from the start of the frame */
	__u8 pad;
};

static __always_inline int parse_l4(void *data, void *l4, void *data_end, struct pkt *p)
{
	if (p->frag == FRAG_LATER)
		return PARSE_IP;
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > data_end)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > data_end)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6_: {
		struct icmp_min *ih = l4;
		if ((void *)(ih + 1) > data_end)
			return PARSE_MALFORMED;
		p->icmp_type = ih->type;
		p->icmp_code = ih->code;
		/* echo request/reply: 8/0 for ICMP, 128/129 for ICMPv6 */
		if ((p->proto == IPPROTO_ICMP && (ih->type == 8 || ih->type == 0)) ||
		    (p->proto == IPPROTO_ICMPV6_ && (ih->type == 128 || ih->type == 129)))
			p->icmp_id = bpf_ntohs(ih->id);
		break;
	}
	default:
		break;
	}
	p->l4_off = (__u8)(l4 - data);
	return PARSE_IP;
}

static __always_inline int parse_ipv4(void *data, void *l3, void *data_end, struct pkt *p)
{
	struct iphdr *iph = l3;
	if ((void *)(iph + 1) > data_end)
		return PARSE_MALFORMED;
	__u32 ihl = iph->ihl * 4;
	if (iph->version != 4 || ihl < sizeof(*iph))
		return PARSE_MALFORMED;
	if (l3 + ihl > data_end)
		return PARSE_MALFORMED;
	p->family = 4;
	p->proto = iph->protocol;
	p->saddr[0] = iph->saddr;
	p->daddr[0] = iph->daddr;
	p->l3_len = bpf_ntohs(iph->tot_len);
	__u16 off = bpf_ntohs(iph->frag_off);
	if (off & 0x1fff)
		p->frag = FRAG_LATER;
	else if (off & 0x2000)
		p->frag = FRAG_FIRST;
	return parse_l4(data, l3 + ihl, data_end, p);
}

struct ipv6_ext {
	__u8 nexthdr;
	__u8 hdrlen;
	__u16 frag_off; /* fragment header only */
	__u32 pad;
};

static __always_inline int parse_ipv6(void *data, void *l3, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > data_end)
		return PARSE_MALFORMED;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	p->family = 6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	p->l3_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	__u8 next = ip6->nexthdr;
	void *cur = ip6 + 1;
#pragma unroll
	for (int i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_ext *ext = cur;
		switch (next) {
		case 0:  /* hop-by-hop */
		case 43: /* routing */
		case 60: /* destination options */
			if ((void *)(ext + 1) > data_end)
				return PARSE_MALFORMED;
			next = ext->nexthdr;
			cur += (ext->hdrlen + 1) * 8;
			continue;
		case 44: { /* fragment: fixed 8 bytes */
			if ((void *)(ext + 1) > data_end)
				return PARSE_MALFORMED;
			__u16 fo = bpf_ntohs(ext->frag_off);
			next = ext->nexthdr;
			cur += 8;
			if (fo & 0xfff8)
				p->frag = FRAG_LATER;
			else if (fo & 1)
				p->frag = FRAG_FIRST;
			continue;
		}
		default:
			goto done;
		}
	}
	/* more extension headers than we walk: treat as malformed */
	return PARSE_MALFORMED;
done:
	p->proto = next;
	if (cur > data_end)
		return PARSE_MALFORMED;
	return parse_l4(data, cur, data_end, p);
}

/* parse_pkt fills *p from the frame [data, data_end). */
static __always_inline int parse_pkt(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	/* zero first: callers may read *p (e.g. for an event) on any result */
	__builtin_memset(p, 0, sizeof(*p));
	if ((void *)(eth + 1) > data_end)
		return PARSE_MALFORMED;
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_IP:
		return parse_ipv4(data, eth + 1, data_end, p);
	case ETH_P_IPV6:
		return parse_ipv6(data, eth + 1, data_end, p);
	default:
		return PARSE_NOT_IP;
	}
}

/* parse_skb parses a tc program's frame; when its headers may run past the
 * linear area (GSO/GRO skbs), it pulls up to 256 bytes and parses again.
 * The pull moves the data: callers read skb->data/data_end afterwards. */
static __always_inline int parse_skb(struct __sk_buff *skb, struct pkt *p)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int r = parse_pkt(data, data_end, p);
	if (r == PARSE_MALFORMED && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256);
		r = parse_pkt((void *)(long)skb->data, (void *)(long)skb->data_end, p);
	}
	return r;
}

/* l34_hdr_len is what each segment of a GSO packet repeats: the IP headers
 * plus the TCP header with its options or the UDP header (other protocols:
 * IP only). 0 when the TCP data offset is out of reach. */
static __always_inline __u32 l34_hdr_len(void *data, void *data_end, const struct pkt *p)
{
	__u32 hdr = p->l4_off - ETH_HLEN;
	if (p->proto == IPPROTO_TCP) {
		__u8 *doff = data + p->l4_off + 12;
		if ((void *)(doff + 1) > data_end)
			return 0;
		hdr += (*doff >> 4) * 4;
	} else if (p->proto == IPPROTO_UDP) {
		hdr += 8;
	}
	return hdr;
}

#endif
