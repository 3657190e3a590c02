/* SPDX-License-Identifier: GPL-2.0 */
/* nacl.h: the ABI between nacl.bpf.c and the NACL table compiler
 * (rules/nacl_compile.go, Go mirrors there; sizes checked against bpf2go).
 *
 * Classification is a bit-vector scheme, not a scan. A table is one
 * (NACL, direction, address family); its rules, sorted by number, are bits
 * 0..nrules-1. Each header dimension maps the packet's value to the set of
 * rules that accept that value (a "leaf"):
 *   address  (source inbound, destination outbound): a multibit trie with
 *            8-bit strides over the elementary intervals of the rule CIDRs
 *            (at most 4 lookups for IPv4, 16 for IPv6: as deep as the
 *            longest prefix needs), built by the compiler by prefix expansion;
 *   protocol: a 256-entry array per table;
 *   L4 value (TCP/UDP destination port, ICMP type<<8|code, 0 otherwise):
 *            the same trie over 16 bits (at most 2 lookups); later fragments
 *            use frag (rules with no port/ICMP-type restriction).
 * A leaf is the rule set itself when the table has at most 63 rules
 * ("direct": one 64-bit word, no further lookup), else a nacl_bm index. The
 * lowest bit of the AND of the three sets is the first matching rule; none
 * means `*`. Cost: a handful of array lookups plus nwords word ANDs,
 * whatever the rule count.
 *
 * Subnets. The datapath judges every packet once, where it enters the VPC
 * router (see nacl.bpf.c): the source subnet comes from the attach point,
 * the destination subnet from a trie of the same format over the subnet
 * CIDRs (leaf = subnet index, 0 = none), and nacl_subnet maps a subnet to
 * its NACL and that NACL's live set, so an association change is one u32
 * write. The subnet trie
 * starts below the bytes all subnets of a family share (a VPC's /16 or
 * /56): the program compares those with a constant and walks only the rest,
 * one lookup for /24 subnets in a /16, or /64 subnets in a /56.
 *
 * Generations. All tables of one NACL form a "set" (4 tables: direction x
 * family). A new set is written into free pool slots, then the entry of
 * every subnet associated with the NACL (nacl_subnet: one u32 holding the
 * NACL and its set, so a judgement needs one lookup to find its table) is
 * switched to it; user space then waits an RCU grace period before reusing
 * the old set's slots, so every judgement sees one whole table.
 */
#ifndef VPCEMU_NACL_H
#define VPCEMU_NACL_H

#include <linux/types.h>

/* The compiler's limits (rules: constants generated from this enum). */
enum nacl_limit {
	NACL_MAX_RULES = 1024, /* per table (direction and family) */
	NACL_WORDS = 16,       /* NACL_MAX_RULES / 64 */
	NACL_DIRECT_MAX = 63,  /* tables up to this size keep rule sets in the leaves */
	NACL_CHILD_BIT = 63,   /* NACL_CHILD's bit */
};
#define NACL_MAX_SUBNETS 4096 /* subnet indexes 1..NACL_MAX_SUBNETS-1; 0 = none */
#define NACL_MAX_ACLS 256
#define NACL_MAX_SETS 256   /* table sets (>= 2 per NACL for swapping); set 0 unused */
#define NACL_MAX_TABLES (NACL_MAX_SETS * NACL_TID_SET)
#define NACL_MAX_BITMAPS (1 << 14)
#define NACL_MAX_NODES 4096 /* 256-entry trie nodes */
#define NACL_MAX_RINFO (1 << 16)
#define NACL_ADDR_LEVELS 16 /* trie levels of a 128-bit address */

#define NACL_CHILD (1ULL << NACL_CHILD_BIT) /* trie entry: low 32 bits index a child node */
#define NACL_MAX_PORTS (1 << 16) /* nacl_port entries: router port ifindexes */

/* Routing (route.h): what a port connects (bpf2go -type). */
enum rt_port_kind {
	RT_PORT_NONE = 0,        /* a NACL port that does not route (the kernel does) */
	RT_PORT_SUBNET = 1,      /* a router's uplink of a subnet */
	RT_PORT_IGW = 2,         /* a router's end of its internet gateway link */
	RT_PORT_EIGW = 3,        /* a router's end of its egress-only gateway link */
	RT_PORT_PEERING = 4,     /* a router's end of a peering link */
	RT_PORT_ENDPOINT = 5,    /* a router's end of a gateway endpoint's link */
	RT_PORT_INET_IGW = 6,    /* the internet's end of an internet gateway link */
	RT_PORT_INET_EIGW = 7,   /* the internet's end of an egress-only gateway link */
	RT_PORT_INET_HOST = 8,   /* the internet's port of a host */
};

/* rt_port.flags */
enum rt_port_flag {
	RT_F_FORWARDERS = 1, /* the subnet holds ENIs that send others' packets (NAT gateways, check off): flow records name the sender by MAC */
	RT_F_HAS_IGW = 2,    /* the router's VPC has an internet gateway */
	RT_F_HAS_EIGW = 4,   /* ... an egress-only internet gateway */
	RT_F_TAP = 8,        /* a capture tap follows (capture.bpf.c): routed packets go on to it, their way in skb->cb */
};

/* nacl_port value: one port. */
struct rt_port {
	__u32 subnet; /* the subnet whose uplink this is (its outbound table judges what arrives), 0: none */
	__u32 table;  /* the kernel table what arrives is routed by (bpf_fib_lookup); 0: the kernel routes */
	__u16 kind;   /* enum rt_port_kind */
	__u16 flags;  /* enum rt_port_flag */
	__u32 pad;
};

/* vpc_event.reason of EV_ROUTE_DROP: where and why routing dropped a
 * packet. vpc_event.obj is the port it arrived on, vpc_event.rule the port
 * the route chose (0: none); the loader names components from the ports. */
enum rt_drop {
	RT_DROP_NO_ROUTE = 1,       /* route NO_ROUTE_TO_DESTINATION (the arrival port's table) */
	RT_DROP_BLACKHOLE = 2,      /* route BAD_STATE_ROUTE */
	RT_DROP_NO_ENI = 3,         /* subnet (rule: its port) or VPC (rule 0) NO_ENI_AT_ADDRESS */
	RT_DROP_PCX_ADDRESS = 4,    /* pcx PCX_REQUIRES_ADDRESS_IN_VPC_CIDR */
	RT_DROP_LOOP = 5,           /* route NO_ROUTE_TO_DESTINATION: routed back to its sender (NGW-3) */
	RT_DROP_EIGW_INBOUND = 6,   /* eigw EIGW_INBOUND_NOT_PERMITTED (rule: the gateway's port, else the arrival port) */
	RT_DROP_IGW_NO_ROUTE = 7,   /* igw NO_ROUTE_TO_DESTINATION: IPv6 whose subnet does not route back to the gateway (EIP-6) */
	RT_DROP_SPOOFED = 8,        /* igw GATEWAY_REJECTS_SPOOFED_TRAFFIC */
	RT_DROP_VPCE_PROTOCOL = 9,  /* vpce VPCE_GATEWAY_PROTOCOL_RESTRICTION */
	RT_DROP_VPCE_SOURCE = 10,   /* vpce VPCE_GATEWAY_EGRESS_SOURCE_ADDRESS_RESTRICTION */
	RT_DROP_INTERNET = 11,      /* route rtb-internet NO_ROUTE_TO_DESTINATION */
};

/* An egress-only internet gateway's flow, oriented from inside (EIP-13). */
struct eigw_key {
	__u32 in[4];  /* the VPC's address */
	__u32 out[4]; /* the internet's */
	__u16 in_port; /* echo identifier for ICMPv6 echo */
	__u16 out_port; /* 0 for ICMPv6 */
	__u8 proto;
	__u8 pad[3];
};

/* eigw_cfg value: the tracking timeouts of the instance owning an address
 * (EIP-14 [INTERP]), seconds. */
struct eigw_timeouts {
	__u32 tcp_est;
	__u32 udp;
};

/* rt_vpce_src key: a gateway endpoint's port and a source address. */
struct vpce_src_key {
	__u32 prefixlen; /* 32 + the prefix length */
	__u32 port;      /* the endpoint's port (ifindex) */
	__u8 addr[16];   /* IPv4 in the first 4 bytes */
};

/* nacl_subnet entries and other words the loader writes (bpf2go -type). */
enum nacl_entry {
	NACL_VALID = 0x80000000,  /* nacl_subnet: configured (| set << 16 | acl) */
	NACL_NO_ACL = 0xffff,     /* vpc_event.obj: no NACL could be named */
	NACL_NO_TRIE = 0xffffffff, /* nacl_config.sub_root: no subnet of that family */
};

/* table id = set * NACL_TID_SET + NACL_TID_EGRESS? + NACL_TID_V6? */
enum nacl_tid {
	NACL_TID_V6 = 1,
	NACL_TID_EGRESS = 2,
	NACL_TID_SET = 4, /* tables a set: direction x family */
};

/* nacl_stats indexes (bpf2go -type) */
enum nacl_stat {
	NACL_ST_NONIP = 0,     /* non-IP frames passed */
	NACL_ST_BYPASS = 1,    /* SG-45 services / link-local control passed */
	NACL_ST_MALFORMED = 2, /* malformed frames dropped */
	NACL_ST_EVLOST = 3,    /* drop events lost (ring buffer full) */
	NACL_ST_NOTABLE = 4,   /* packets denied because the NACL has no (readable) table */
	NACL_ST_TRANSIT = 5,   /* judged by no table: from no subnet, to no subnet */
	NACL_ST_MAX = 8,
};

/* nacl_tables value: one table of a set. */
struct nacl_table {
	__u16 nwords;     /* bitmap words in use; 0 = no rules (only `*`) */
	__u16 nrules;     /* rules; bit nrules (rinfo/ctr) is the `*` rule */
	__u32 direct;     /* 1: leaves are rule sets (nrules <= NACL_DIRECT_MAX) */
	__u32 rinfo_base; /* index of bit 0 in nacl_rinfo and nacl_ctr */
	__u32 addr_root;  /* trie node of the address dimension */
	__u32 l4_root;    /* trie node of the L4 dimension */
	__u32 pad;
	__u64 frag;       /* leaf for later fragments */
	__u64 allow;      /* direct tables: bit i set = rule i allows (so only a
			   * drop reads nacl_rinfo, for the rule number) */
};

/* nacl_bm value: a rule bitmap; only nwords words are meaningful. */
struct nacl_bitmap {
	__u64 w[NACL_WORDS]; /* bit i of w[i/64]: rule i (sorted by number) */
};

/* nacl_rinfo value: what bit i of a table stands for. */
struct nacl_rinfo {
	__u16 number; /* rule number; nacl_config.star for `*` */
	__u8 allow;   /* 1 allow, 0 deny */
	__u8 pad;
};

/* nacl_ctr value (per CPU): hits of one rule of one table. */
struct nacl_ctr {
	__u64 packets; /* wire packets (GSO segments estimated, see nacl.bpf.c) */
	__u64 bytes;   /* IP bytes */
};

/* Load-time configuration (one volatile const, set by the loader). */
struct nacl_config {
	/* The destination-subnet tries (nacl_nodes) of IPv4 ([0]) and IPv6
	 * ([1]): root node, or NACL_NO_TRIE; the address bytes every subnet
	 * shares (skip), and their value and mask (network order, 4 words
	 * per family). */
	__u32 sub_root[2];
	__u32 sub_skip[2];
	__u32 sub_pfx[2][4];
	__u32 sub_mask[2][4];
	/* Reserved-address candidates: an IPv4 address h (host order) can be
	 * a subnet's base+1..3 or the VPC's base+2 only if (h & 3) != 0 and
	 * (h & rsv4_mask) == 0; rsv6_any = 1 when an IPv6 subnet is longer
	 * than /64 (every address is a candidate). */
	__u32 rsv4_mask;
	__u32 rsv6_any;
	__u32 mtu;     /* link MTU used to count GSO segments */
	__u16 star[2]; /* rule number of `*`: [0] IPv4, [1] IPv6 (rules package) */
	/* Egress-only gateway timeouts not taken from the instance (rules:
	 * TimeoutTCPSynSent, TimeoutTCPClosing, TimeoutICMP, TimeoutOther;
	 * defaults of instances without a configuration), seconds. */
	__u32 eigw_syn;
	__u32 eigw_closing;
	__u32 eigw_icmp;
	__u32 eigw_other;
	__u32 eigw_tcp_est;
	__u32 eigw_udp;
};

#endif
