/* SPDX-License-Identifier: GPL-2.0 */
/* events.h: the drop/verdict event that datapath programs push into a ring
 * buffer (`vpcemu drops`). One fixed 72-byte record, the same for every
 * program, each with its own kind and reason codes. The Go side decodes it
 * into the struct bpf2go generates from this one.
 */
#ifndef VPCEMU_EVENTS_H
#define VPCEMU_EVENTS_H

#include <linux/types.h>

/* The enums below are the Go side's constants too (bpf2go -type). */

/* vpc_event.kind */
enum ev_kind {
	EV_NACL_DROP = 1, /* a NACL rule (or `*`) dropped the packet */
	EV_SG_DROP = 2,   /* the SG program dropped it; reason is enum sg_drop */
	EV_ROUTE_DROP = 3, /* routing dropped it (nacl.bpf.c); reason is enum rt_drop */
	EV_IGW_DROP = 4,  /* an internet gateway dropped it; reason is enum igw_drop */
	EV_NGW_DROP = 5,  /* a NAT gateway dropped it; reason is enum ngw_drop */
};

/* vpc_event.reason of EV_NACL_DROP */
enum ev_reason {
	EV_REASON_RULE = 0,      /* the rule in vpc_event.rule decided */
	EV_REASON_MALFORMED = 1, /* truncated/invalid headers; rule is 0 */
	EV_REASON_NO_TABLE = 2,  /* the NACL has no (readable) table; rule is `*` */
};

/* vpc_event.dir */
enum ev_dir {
	EV_DIR_INBOUND = 0,  /* entering the subnet / received by the ENI */
	EV_DIR_OUTBOUND = 1, /* leaving the subnet / sent by the ENI */
};

struct vpc_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 saddr[4];  /* network order; IPv4 in saddr[0] */
	__u32 daddr[4];  /* network order; IPv4 in daddr[0] */
	__u16 sport;     /* host order; 0 for portless protocols and later fragments */
	__u16 dport;     /* host order */
	__u32 obj;       /* NACL: loader's NACL index; SG: ENI index; route: arrival port;
			  * IGW, NAT gateway: the loader's index of the gateway */
	__u32 packets;   /* wire packets (GSO segments) this verdict covered */
	__u32 bytes;     /* IP bytes on the wire for those packets */
	__u16 rule;      /* deciding rule number; 32767/32768 = `*`; 0 = none; route: the chosen port */
	__u8 kind;       /* enum ev_kind */
	__u8 reason;     /* enum ev_reason (NACL), sg_drop, rt_drop, igw_drop, ngw_drop */
	__u8 dir;        /* enum ev_dir */
	__u8 family;     /* 4 or 6; 0 when not parsed */
	__u8 proto;      /* IANA protocol */
	__u8 tcp_flags;  /* TCP flags byte */
	__u8 icmp_type;  /* ICMP/ICMPv6 type, else 0 */
	__u8 icmp_code;
	__u8 frag;       /* enum frag_kind of parse.h */
	__u8 pad[5];     /* zero; keeps the size at 72 explicit */
};

#endif
