/* SPDX-License-Identifier: GPL-2.0 */
/* conntrack.h: vpcemu's own connection tracking for security groups.
 *
 * Contract. An entry is keyed by (ENI's instance MAC, normalised flow): the two
 * endpoints are ordered so both directions of a flow find the same key.
 * Per protocol (SG-21): TCP/UDP the 5-tuple; ICMP/ICMPv6 echo the address
 * pair plus echo identifier; other ICMP the pair plus the type; any other
 * protocol the pair plus the protocol. Entries carry their last-seen time;
 * an entry older than its state's idle timeout never admits traffic (it is
 * deleted on lookup), so no user-space sweep is needed for correctness.
 * Storage is two-level: ct_fast, a direct-mapped array indexed by a hash
 * of the key, holds an entry unless its slot is taken by another live
 * entry; then it goes to ct_table (LRU hash) and the slot is flagged so
 * lookups know to look there too.
 * The entry carries its own timeout (taken from the ENI's configuration at
 * each state change), so a hit needs no other map lookup.
 */
#ifndef VPCEMU_CONNTRACK_H
#define VPCEMU_CONNTRACK_H

#include "parse.h"

#define NSEC 1000000000ULL

enum ct_state {
	CT_TCP_SYN = 1,     /* first packet was a SYN, no answer yet: 60 s */
	CT_TCP_EST = 2,     /* established: the ENI's TcpEstablishedTimeout */
	CT_TCP_CLOSING = 3, /* FIN or RST seen: 120 s */
	CT_UDP = 4,         /* one direction or one exchange: UdpTimeout */
	CT_UDP_STREAM = 5,  /* more than one request-response: UdpStreamTimeout */
	CT_ICMP = 6,        /* ICMP/ICMPv6: icmp_s */
	CT_OTHER = 7,       /* other protocols: 600 s */
};

#define CT_SYN_S 60
#define CT_CLOSING_S 120
#define CT_OTHER_S 600

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct ct_key {
	__u8 mac[6];   /* the ENI: its instance's MAC (no ENI lookup on a hit) */
	__u8 family;   /* 4 or 6 */
	__u8 proto;
	__u16 id;      /* ICMP echo id, or ICMP type for other ICMP; else 0 */
	__u16 pad;
	__u32 a[4];    /* lower endpoint address, network order */
	__u32 b[4];    /* higher endpoint address */
	__u16 pa;      /* lower endpoint port (host order; 0 for portless, 1 for ICMP keyed by type) */
	__u16 pb;
} __attribute__((aligned(8)));

struct ct_val {
	__u64 last_ns;    /* last packet of either direction (ct_now clock) */
	__u32 eni;        /* sg_eni.idx of the ENI (stats, listing) */
	__u32 timeout_s;  /* idle timeout of the current state, set at each state change */
	__u64 created_ns;
	__u64 pkts[2];    /* [side]: packets sent by endpoint a (0) / b (1) */
	__u8 state;       /* enum ct_state */
	__u8 init_side;   /* endpoint (0 = a, 1 = b) that sent the first packet */
	__u8 init_dir;    /* SG_DIR_* of the first packet at this ENI */
	__u8 last_side;   /* side of the previous packet (UDP exchange counting) */
	__u8 exchanges;   /* UDP: replies that followed a request */
	__u8 pad[3];
};

/* Slot states of ct_fast. */
enum ct_slot_state {
	CT_SLOT_FREE = 0,
	CT_SLOT_LIVE = 1,
	CT_SLOT_BUSY = 2, /* being written by one CPU (claimed with cmpxchg) */
};

/* One slot of the direct-mapped table: most entries live here, found with
 * an inlined array access and a key compare instead of a hash-map lookup. */
struct ct_slot {
	__u64 used;     /* CT_SLOT_*; 64 bits for cmpxchg at -mcpu=v1 */
	__u64 overflow; /* a key hashing here was stored in ct_table instead */
	struct ct_key k;
	struct ct_val v;
};

static __always_inline __u32 ct_hash(const struct ct_key *k)
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = 0;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / 8); i++)
		h = (h ^ w[i]) * 0x9E3779B97F4A7C15ULL;
	return (__u32)(h >> 32);
}

static __always_inline int ct_key_eq(const struct ct_key *x, const struct ct_key *y)
{
	const __u64 *a = (const __u64 *)x, *b = (const __u64 *)y;
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5];
}

/* ct_key_of builds the normalised key of p for the ENI of instance MAC mac; *side tells which
 * endpoint (0 = a, 1 = b) sent p. */
static __always_inline void ct_key_of(const struct pkt *p, const __u8 *mac, struct ct_key *k, __u8 *side)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->mac, mac, 6);
	k->family = p->family;
	k->proto = p->proto;
	__u16 sp = p->sport, dp = p->dport;
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6_) {
		sp = dp = 0;
		if ((p->proto == IPPROTO_ICMP && (p->icmp_type == 8 || p->icmp_type == 0)) ||
		    (p->proto == IPPROTO_ICMPV6_ && (p->icmp_type == 128 || p->icmp_type == 129))) {
			k->id = p->icmp_id;
		} else {
			/* ports 1/1 mark "keyed by type", so that echo id N and
			 * type N never share an entry */
			k->id = p->icmp_type;
			sp = dp = 1;
		}
	} else if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP) {
		sp = dp = 0;
	}
	/* order (addr, port) pairs; any total order works as long as it is the
	 * same for both directions */
	int swap = 0;
	int i;
#pragma unroll
	for (i = 0; i < 4; i++) {
		if (p->saddr[i] != p->daddr[i]) {
			swap = p->saddr[i] > p->daddr[i];
			goto decided;
		}
	}
	swap = sp > dp;
decided:
	if (!swap) {
		__builtin_memcpy(k->a, p->saddr, 16);
		__builtin_memcpy(k->b, p->daddr, 16);
		k->pa = sp;
		k->pb = dp;
		*side = 0;
	} else {
		__builtin_memcpy(k->a, p->daddr, 16);
		__builtin_memcpy(k->b, p->saddr, 16);
		k->pa = dp;
		k->pb = sp;
		*side = 1;
	}
}

#endif
