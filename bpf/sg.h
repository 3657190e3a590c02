/* SPDX-License-Identifier: GPL-2.0 */
/* sg.h: the ABI between sg.bpf.c and loader/sg.go (compiled SG tables).
 *
 * Contract. One set of maps per topology serves every ENI attach point.
 * The ENI is identified by the instance's eth0 MAC: the source MAC on the
 * tc ingress hook of the ENI veth's subnet-side end (what the instance
 * sends, SG outbound rules) and the destination MAC on its tc egress hook
 * (what the instance receives, SG inbound rules). ifindexes are not unique
 * across subnet namespaces, MACs of a plan are.
 *
 * Rule tables come in two generations (0/1); sg_gen (a .bss variable) names
 * the live one. User space writes the idle generation completely, then flips
 * sg_gen: a packet sees either all of the old tables or all of the new.
 *
 * The swap. User space may rewrite the idle generation only once no
 * program run can still be reading it. Each run counts itself in
 * sg_inflight[its generation] (per CPU) while it reads the tables, and
 * the loader polls the retired generation's count down to zero instead of
 * waiting for an RCU grace period (sg.bpf.c, "Counting readers", gives the
 * ordering argument).
 *
 * Matching. For (generation, ENI, direction, family, protocol) the compiler
 * stores an LPM trie node per distinct peer prefix; its value is a slice of
 * sg_ents holding every rule whose peer contains that prefix (nested
 * prefixes are folded in), so one LPM lookup yields the complete union of
 * candidate rules. Protocols without a rule of their own look up protocol
 * SG_PROTO_OTHER, which holds the "all protocols" rules.
 */
#ifndef VPCEMU_SG_H
#define VPCEMU_SG_H

#include <linux/types.h>

/* The rule compiler's side of this ABI (rules: constants generated from
 * these enums). */
enum sg_dir {
	SG_DIR_OUT = 0, /* the instance sends: tc ingress of the ENI veth end */
	SG_DIR_IN = 1,  /* the instance receives: tc egress of the ENI veth end */
};

enum sg_limit {
	SG_PROTO_OTHER = 256,    /* LPM protocol slot of protocols without rules of their own */
	SG_MAX_NODE_ENTS = 4096, /* entries scanned per LPM node (bpf_loop bound) */
	SG_SEARCH_STEPS = 13,    /* binary-search steps: enough for SG_MAX_NODE_ENTS */
	SG_DROP_CODES = 8,       /* sg_stats.drops_by entries: enum sg_drop codes */
};

#define SG_MAX_ENIS 4096   /* sg_stats entries (ENI indexes 1..); the loader reads the map's size */
#define SG_MAX_ENTS (1 << 18) /* sg_ents slots: half per generation */
#define SG_MAX_LPM (1 << 18)  /* sg_rules nodes: both generations */

/* open[] bits: the direction has a /0 rule (of that family) admitting... */
enum sg_open {
	SG_OPEN_ALL = 1, /* ...every protocol */
	SG_OPEN_TCP = 2, /* ...TCP on all ports */
	SG_OPEN_UDP = 4, /* ...UDP on all ports */
};

/* Drop reasons: vpc_event.reason of EV_SG_DROP events (events.h), RA-7;
 * the Go side's constants too (bpf2go -type). */
enum sg_drop {
	SG_DROP_RULES_MISMATCH = 1, /* ENI_SG_RULES_MISMATCH */
	SG_DROP_NO_RULES = 2,       /* SG_HAS_NO_RULES */
	SG_DROP_ALLOWANCE = 3,      /* CONNTRACK_ALLOWANCE_EXCEEDED */
	SG_DROP_UNKNOWN_ENI = 4,    /* frame of no known ENI (spoofed/foreign MAC) */
	SG_DROP_MALFORMED = 5,      /* truncated or invalid IP header */
	SG_DROP_SOURCE_DEST_CHECK = 6, /* ENI_SOURCE_DEST_CHECK_RESTRICTION (ENI-5): before the SG, logged nowhere */
};

/* sg_eni.flags */
enum sg_eni_flag {
	SG_ENI_CHECK_OFF = 1, /* source/destination check off (ENI-5): it may send and receive others' packets */
	SG_ENI_NO_SG = 2,     /* no security groups (a NAT gateway's ENI, NGW-2): every packet passes, counted for flow logs */
};

/* sg_eni key: MAC of the instance's eth0 and the table generation. */
struct sg_eni_key {
	__u8 mac[6];
	__u16 gen; /* 0 or 1 */
};

/* sg_eni value: per-ENI configuration of one generation. */
struct sg_eni {
	__u32 idx;          /* stable ENI index (1..): conntrack and stats key, survives updates */
	__u32 max_entries;  /* conntrack allowance; 0 = unlimited */
	__u32 tcp_est_s;    /* TcpEstablishedTimeout, seconds */
	__u32 udp_s;        /* UdpTimeout, seconds */
	__u32 udp_stream_s; /* UdpStreamTimeout, seconds */
	__u32 icmp_s;       /* ICMP idle timeout, seconds */
	__u8 no_rules[2];   /* [dir]: every SG of the ENI has no rule in that direction */
	__u8 open[2][2];    /* [dir][0 IPv4, 1 IPv6]: SG_OPEN_* bits */
	__u8 flags;         /* enum sg_eni_flag */
	__u8 pad;
	__u32 protos[2][8]; /* [dir]: bitmap of protocols with LPM nodes of their own */
};

/* sg_rules key (LPM): 64 fixed bits, then the peer prefix. */
struct sg_lpm_key {
	__u32 prefixlen; /* 64 + peer prefix length */
	__u32 eni;       /* sg_eni.idx, host order */
	__u8 gen_dir;    /* gen << 1 | dir */
	__u8 family;     /* 4 or 6 */
	__u16 proto;     /* IANA number or SG_PROTO_OTHER, host order */
	__u8 addr[16];   /* peer address, network order; IPv4 in the first 4 bytes */
};

/* sg_lpm_val.flags (bpf2go -type) */
enum sg_node_flag {
	SG_NODE_ZERO_SORTED = 1, /* the /0 group is disjoint port intervals sorted by lo */
	SG_NODE_REST_SORTED = 2, /* so is the other group */
	SG_NODE_HAS_FULL = 4,    /* an entry is unrestricted (sg_ent.full) */
};

/* sg_rules value: a slice of sg_ents, /0 entries first. */
struct sg_lpm_val {
	__u32 off;   /* first index in sg_ents */
	__u16 n;     /* number of entries */
	__u16 nzero; /* how many of them (the first) have zero=1 */
	__u8 flags;  /* SG_NODE_* */
	__u8 pad[3];
};

/* sg_ents value: one candidate rule (already known to match the peer).
 * Matches when lo <= v <= hi and clo <= c <= chi, where v is the TCP/UDP
 * destination port or the ICMP type (0 for other protocols) and c the ICMP
 * code (0 otherwise). Entries with zero=1 come first in a slice; within a
 * group entries are sorted by (clo, chi, lo) and merged, so a group of
 * port intervals is disjoint and searched by bisection. */
struct sg_ent {
	__u16 lo;
	__u16 hi;
	__u8 clo;
	__u8 chi;
	__u8 zero; /* the rule's peer is the /0 CIDR of the family (SG-23 condition 1) */
	__u8 full; /* one rule behind it is port/type-unrestricted: admits non-first fragments */
};

/* sg_reserved key: an address, network order; IPv4 in a[0], rest 0. */
struct sg_addr {
	__u32 a[4];
};

/* sg_stats value (array, by ENI index). */
/* Load-time configuration (one volatile const, set by the loader). */
struct sg_config {
	__u32 ct_fast_mask; /* ct_fast max_entries - 1 (a power of two) */
	/* Cheap pre-checks before the sg_reserved lookup (loader
	 * reservedMasks): an IPv4 address with a bit of rsv4_mask set is no
	 * subnet base+1..3 nor VPC base+2; rsv6_any = 1 when some IPv6
	 * subnet is longer than /64, else only ::1..::3 low words are
	 * candidates. */
	__u32 rsv4_mask;
	__u32 rsv6_any;
};

/* sg_inflight value (per-CPU array, one entry): n[g] program runs on
 * this CPU counted as readers of generation g. Only the sum over CPUs
 * means anything: a CPU's own count may go below zero (as a u64, wrapping)
 * if a run ever ended on another CPU than it started. */
struct sg_inflight {
	__u64 n[2];
};

struct sg_stats {
	__u64 tracked;  /* live-or-unswept conntrack entries of the ENI */
	__u64 exceeded; /* conntrack_allowance_exceeded: packets dropped at the allowance */
	__u64 drops;    /* packets dropped by the SG programs */
	__u64 next_expiry; /* ns: no entry of the ENI expires before this (lower bound) */
	__u64 events_lost; /* drop events not queued: sg_events was full */
	__u64 drops_by[SG_DROP_CODES]; /* wire packets dropped, by SG_DROP_* code */
};

#endif
