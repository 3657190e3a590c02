/* SPDX-License-Identifier: GPL-2.0 */
/* events.h: the drop/verdict event that datapath programs push into a ring
 * buffer for flow logs and `vpcemu explain`. One fixed 72-byte record, the
 * same for every program (NACL now; SG may reuse it with its own kind and
 * reason codes). Go mirror: loader.Event (layout checked against bpf2go).
 */
#ifndef VPCEMU_EVENTS_H
#define VPCEMU_EVENTS_H

#include <linux/types.h>

/* vpc_event.kind */
#define EV_NACL_DROP 1 /* a NACL rule (or `*`) dropped the packet */
#define EV_SG_DROP 2   /* reserved for the SG program */

/* vpc_event.reason */
#define EV_REASON_RULE 0      /* the rule in vpc_event.rule decided */
#define EV_REASON_MALFORMED 1 /* truncated/invalid headers; rule is 0 */
#define EV_REASON_NO_TABLE 2  /* attach point without a NACL; rule is `*` */

/* vpc_event.dir */
#define EV_DIR_INBOUND 0  /* entering the subnet / received by the ENI */
#define EV_DIR_OUTBOUND 1 /* leaving the subnet / sent by the ENI */

struct vpc_event {
	__u64 ts_ns;     /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 saddr[4];  /* network order; IPv4 in saddr[0] */
	__u32 daddr[4];  /* network order; IPv4 in daddr[0] */
	__u16 sport;     /* host order; 0 for portless protocols and later fragments */
	__u16 dport;     /* host order */
	__u32 obj;       /* NACL: loader's NACL index; SG: ENI index */
	__u32 packets;   /* wire packets (GSO segments) this verdict covered */
	__u32 bytes;     /* IP bytes on the wire for those packets */
	__u16 rule;      /* deciding rule number; 32767/32768 = `*`; 0 = none */
	__u8 kind;       /* EV_* */
	__u8 reason;     /* EV_REASON_* */
	__u8 dir;        /* EV_DIR_* */
	__u8 family;     /* 4 or 6; 0 when not parsed */
	__u8 proto;      /* IANA protocol */
	__u8 tcp_flags;  /* TCP flags byte */
	__u8 icmp_type;  /* ICMP/ICMPv6 type, else 0 */
	__u8 icmp_code;
	__u8 frag;       /* enum frag_kind of parse.h */
	__u8 pad[5];     /* zero; keeps the size at 72 explicit */
};

#endif
