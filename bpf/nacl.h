/* SPDX-License-Identifier: GPL-2.0 */
/* nacl.h: the ABI between nacl.bpf.c and the NACL table compiler
 * (rules/nacl_compile.go, Go mirrors there; sizes checked against bpf2go).
 *
 * Classification is a bit-vector scheme, not a scan. A table is one
 * (NACL, direction, address family); its rules, sorted by number, are bits
 * 0..nrules-1. Each header dimension maps the packet's value to a bitmap
 * of the rules that accept that value:
 *   address  (source inbound, destination outbound): elementary intervals
 *            of the rule CIDRs, binary search over sorted bounds;
 *   protocol: a 256-entry array;
 *   L4 value (TCP/UDP destination port, ICMP type<<8|code, 0 otherwise):
 *            a two-level 256x256 direct table of elementary intervals;
 *            later fragments use the table's frag_bm instead (rules with
 *            no port/ICMP restriction).
 * The AND of the three bitmaps' lowest set bit is the first matching rule;
 * no bit set means `*`. Cost is a handful of array lookups plus nwords
 * (<= 16) word ANDs, whatever the rule count.
 *
 * Generations. All tables of one NACL form a "set" (4 tables: direction x
 * family). A new set is written into free pool slots, then nacl_acl[acl]
 * (one u32) is switched to it; user space then waits an RCU grace period
 * before reusing the old set's slots, so every packet sees one whole set.
 */
#ifndef VPCEMU_NACL_H
#define VPCEMU_NACL_H

#include <linux/types.h>

#define NACL_MAX_RULES 1024 /* per table (direction and family) */
#define NACL_WORDS 16       /* NACL_MAX_RULES / 64 */
#define NACL_MAX_SLOTS 1024 /* attach points */
#define NACL_MAX_ACLS 256
#define NACL_MAX_SETS 256   /* table sets (>= 2 per NACL for swapping); set 0 unused */
#define NACL_MAX_TABLES (NACL_MAX_SETS * 4)
#define NACL_MAX_BITMAPS (1 << 15)
#define NACL_MAX_ADDR4 (1 << 17)
#define NACL_MAX_ADDR6 (1 << 16)
#define NACL_MAX_SUBS 2048  /* 256-entry second-level L4 blocks */
#define NACL_MAX_RINFO (1 << 16)
#define NACL_SEARCH_STEPS 13 /* binary search steps: 2^13 > 2*NACL_MAX_RULES+1 bounds */

#define NACL_L4_SUB 0x80000000u /* nacl_ptop value: low bits index nacl_psub blocks */

/* table id = set * 4 + NACL_TID_EGRESS? + NACL_TID_V6? */
#define NACL_TID_EGRESS 2
#define NACL_TID_V6 1

/* nacl_stats indexes */
#define NACL_ST_NONIP 0     /* non-IP frames passed */
#define NACL_ST_BYPASS 1    /* SG-45 services / link-local control passed */
#define NACL_ST_MALFORMED 2 /* malformed frames dropped */
#define NACL_ST_NOSLOT 3    /* program slot not configured: passed */
#define NACL_ST_EVLOST 4    /* drop events lost (ring buffer full) */
#define NACL_ST_PASS 5      /* packets allowed by a rule */
#define NACL_ST_DROP 6      /* packets denied by a rule or `*` */
#define NACL_ST_MAX 8

/* nacl_tables value: one table of a set. */
struct nacl_table {
	__u16 nwords;     /* bitmap words in use; 0 = no rules (only `*`) */
	__u16 nrules;     /* rules; bit nrules (rinfo/ctr) is the `*` rule */
	__u32 rinfo_base; /* index of bit 0 in nacl_rinfo and nacl_ctr */
	__u32 addr_base;  /* first bound in nacl_addr4/nacl_addr6 */
	__u32 addr_n;     /* number of bounds (>= 1; bound 0 is address 0) */
	__u32 frag_bm;    /* bitmap of rules matching later fragments */
	__u32 pad;
};

/* nacl_bm value: a rule bitmap; only nwords words are meaningful. */
struct nacl_bitmap {
	__u64 w[NACL_WORDS]; /* bit i of w[i/64]: rule i (sorted by number) */
};

/* nacl_addr4 value: an elementary interval starting at bound. */
struct nacl_addr4 {
	__u32 bound; /* first address of the interval, host order */
	__u32 bm;    /* nacl_bm index */
};

/* nacl_addr6 value: as nacl_addr4 for 128-bit addresses. */
struct nacl_addr6 {
	__u64 hi;  /* address bits 127..64, host order */
	__u64 lo;  /* address bits 63..0, host order */
	__u32 bm;  /* nacl_bm index */
	__u32 pad;
};

/* nacl_rinfo value: what bit i of a table stands for. */
struct nacl_rinfo {
	__u16 number; /* rule number; 32767 (IPv4) / 32768 (IPv6) for `*` */
	__u8 allow;   /* 1 allow, 0 deny */
	__u8 pad;
};

/* nacl_ctr value (per CPU): hits of one rule of one table. */
struct nacl_ctr {
	__u64 packets; /* wire packets (GSO segments estimated, see nacl.bpf.c) */
	__u64 bytes;   /* IP bytes */
};

#endif
