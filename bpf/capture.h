/* SPDX-License-Identifier: GPL-2.0 */
/* capture.h: packets for `vpcemu capture`. Two sources:
 *  - the tap programs of capture.bpf.c, attached to one capture point (an
 *    ENI's veth, a subnet's uplink, the internet gateway's port) only while
 *    a capture runs, after the filters on the hook: they see what passed;
 *  - the drop paths of the NACL and SG programs (with CAP_DROPS defined):
 *    while cap_ctl[0] says a capture wants drops, a dropped frame is copied
 *    into cap_drops with its verdict. A passing packet never reaches this
 *    code, so captures cost nothing while none runs (BENCHMARKS.md).
 * One record = struct cap_hdr + cap_len bytes of the Ethernet frame. Go
 * mirror: loader.CaptureRecord (layout checked against bpf2go).
 */
#ifndef VPCEMU_CAPTURE_H
#define VPCEMU_CAPTURE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "events.h"

#define CAP_SNAPLEN 9216 /* a whole frame at the VPC's 9001-byte MTU */
/* The buffer is a power of two above CAP_SNAPLEN, so that a length masked
 * with CAP_BUFSZ - 1 (what the verifier can follow) always fits. */
#define CAP_BUFSZ 16384

/* cap_hdr.kind: EV_NACL_DROP and EV_SG_DROP (events.h) for drops, else: */
#define CAP_PASS 0 /* a tap saw it pass */

/* A routed packet the router program hands to the tap that follows it on
 * the hook (rt_port's RT_F_TAP): skb->cb[0] is CAP_ROUTED, cb[1] the port
 * to leave by, cb[2] 1 when the neighbour must be resolved. The tap sends
 * it on after copying it. */
#define CAP_ROUTED 0x72747464 /* "rttd" */

/* cap_hdr.dir for CAP_PASS: the hook the tap sits on. */
#define CAP_HOOK_INGRESS 0
#define CAP_HOOK_EGRESS 1

struct cap_hdr {
	__u64 ts_ns;    /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u32 wire_len; /* the frame's length (an skb's may hold GSO segments) */
	__u32 cap_len;  /* bytes of the frame that follow, at most CAP_SNAPLEN */
	__u32 obj;      /* drops: the NACL's index (nacl) or the ENI's (sg) */
	__u16 rule;     /* NACL drops: deciding rule number (32767/32768 = `*`) */
	__u8 kind;      /* CAP_PASS, EV_NACL_DROP, EV_SG_DROP */
	__u8 reason;    /* drops: EV_REASON_* (nacl) or SG_DROP_* (sg) */
	__u8 dir;       /* drops: EV_DIR_*; CAP_PASS: CAP_HOOK_* */
	__u8 pad[7];    /* zero; keeps the size at 32 */
};

struct cap_buf {
	struct cap_hdr h;
	__u8 data[CAP_BUFSZ];
};

/* cap_len bounds a frame length for the helpers: 1..CAP_SNAPLEN in fact,
 * 1..CAP_BUFSZ as the verifier sees it; 0 for an empty frame. */
static __always_inline __u32 cap_len(__u32 n)
{
	if (n > CAP_SNAPLEN)
		n = CAP_SNAPLEN;
	if (n == 0)
		return 0;
	n = ((n - 1) & (CAP_BUFSZ - 1)) + 1;
	return n;
}

/* cap_load_skb copies the head of skb's frame into b and sets its lengths;
 * 0 on success. */
static __always_inline int cap_load_skb(struct __sk_buff *skb, struct cap_buf *b)
{
	b->h.wire_len = skb->len;
	__u32 n = cap_len(skb->len);
	if (n == 0)
		return -1;
	b->h.cap_len = n;
	return bpf_skb_load_bytes(skb, 0, b->data, n) < 0 ? -1 : 0;
}

#ifdef CAP_DROPS
/* scratch: one cap_buf per CPU (too large for the stack) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cap_buf);
} cap_scratch SEC(".maps");

/* dropped frames with their verdicts, while a capture wants them */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} cap_drops SEC(".maps");

/* [0]: 1 while some capture wants dropped frames (the loader sets it) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cap_ctl SEC(".maps");

/* [0]: dropped frames cap_drops had no room for */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cap_lost SEC(".maps");

/* cap_verdict returns the scratch buffer with the verdict of a drop filled
 * in when a capture wants drops, else NULL. */
static __always_inline struct cap_buf *cap_verdict(__u8 kind, __u32 obj, __u16 rule, __u8 reason, __u8 dir)
{
	__u32 k = 0;
	__u32 *on = bpf_map_lookup_elem(&cap_ctl, &k);
	if (!on || !*on)
		return NULL;
	struct cap_buf *b = bpf_map_lookup_elem(&cap_scratch, &k);
	if (!b)
		return NULL;
	b->h.ts_ns = bpf_ktime_get_ns();
	b->h.obj = obj;
	b->h.rule = rule;
	b->h.kind = kind;
	b->h.reason = reason;
	b->h.dir = dir;
	__builtin_memset(b->h.pad, 0, sizeof(b->h.pad));
	b->h.wire_len = 0;
	b->h.cap_len = 0;
	return b;
}

/* cap_send queues b (header and cap_len bytes), counting a full ring. */
static __always_inline void cap_send(struct cap_buf *b)
{
	__u32 n = cap_len(b->h.cap_len);
	if (bpf_ringbuf_output(&cap_drops, b, sizeof(b->h) + n, 0) < 0) {
		__u32 k = 0;
		__u64 *lost = bpf_map_lookup_elem(&cap_lost, &k);
		if (lost)
			*lost += 1;
	}
}

/* cap_pending is the scratch buffer whose verdict cap_verdict noted for the
 * frame being dropped, or NULL when no capture wants drops. */
static __always_inline struct cap_buf *cap_pending(void)
{
	__u32 k = 0;
	__u32 *on = bpf_map_lookup_elem(&cap_ctl, &k);
	if (!on || !*on)
		return NULL;
	return bpf_map_lookup_elem(&cap_scratch, &k);
}

/* cap_drop_xdp sends a dropped XDP frame (its first buffer and fragments). */
static __always_inline void cap_drop_xdp(struct xdp_md *ctx, struct cap_buf *b)
{
	if (!b)
		return;
	__u32 len = bpf_xdp_get_buff_len(ctx);
	b->h.wire_len = len;
	__u32 n = cap_len(len);
	if (n == 0)
		return;
	b->h.cap_len = n;
	if (bpf_xdp_load_bytes(ctx, 0, b->data, n) < 0)
		return;
	cap_send(b);
}

/* cap_drop_skb sends a dropped skb with the verdict cap_verdict noted. */
static __always_inline void cap_drop_skb(struct __sk_buff *skb, struct cap_buf *b)
{
	if (b && cap_load_skb(skb, b) == 0)
		cap_send(b);
}
#elif defined(CAP_NONE)
/* The programs without the drop path's capture code: the baseline of the
 * benchmark that measures what the capture machinery costs (loader). */
#define cap_verdict(kind, obj, rule, reason, dir) ((struct cap_buf *)0)
#define cap_pending() ((struct cap_buf *)0)
#define cap_drop_skb(skb, b) ((void)(b))
#define cap_drop_xdp(ctx, b) ((void)(b))
#endif

#endif
