/* SPDX-License-Identifier: GPL-2.0 */
/* capture.bpf.c: the tap of `vpcemu capture` (see capture.h). The loader
 * attaches cap_tap_ingress and cap_tap_egress to a capture point's hooks
 * only while a capture runs, after the NACL/SG programs there (those pass
 * with TC_ACT_UNSPEC, tcx's "next"), so a tap sees exactly what passed; on
 * the internet gateway's egress it goes first, before the NAT rewrites the
 * source. Every frame is copied (up to CAP_SNAPLEN bytes) into cap_ring; a
 * full ring counts in cap_tap_lost and the frame goes on regardless.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include "capture.h"

/* scratch: one cap_buf per CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cap_buf);
} cap_tap_scratch SEC(".maps");

/* frames seen, for user space (the loader sizes it) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} cap_ring SEC(".maps");

/* [0]: frames cap_ring had no room for */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} cap_tap_lost SEC(".maps");

static __always_inline int tap(struct __sk_buff *skb, __u8 hook)
{
	__u32 k = 0;
	struct cap_buf *b = bpf_map_lookup_elem(&cap_tap_scratch, &k);
	if (!b)
		return TC_ACT_UNSPEC;
	b->h.ts_ns = bpf_ktime_get_ns();
	b->h.obj = 0;
	b->h.rule = 0;
	b->h.kind = CAP_PASS;
	b->h.reason = 0;
	b->h.dir = hook;
	__builtin_memset(b->h.pad, 0, sizeof(b->h.pad));
	if (cap_load_skb(skb, b) == 0) {
		__u32 n = cap_len(b->h.cap_len);
		if (bpf_ringbuf_output(&cap_ring, b, sizeof(b->h) + n, 0) < 0) {
			__u64 *lost = bpf_map_lookup_elem(&cap_tap_lost, &k);
			if (lost)
				*lost += 1;
		}
	}
	/* the router program's decision, completed (CAP_ROUTED) */
	if (skb->cb[0] == CAP_ROUTED) {
		__u32 out = skb->cb[1], neigh = skb->cb[2];
		skb->cb[0] = 0;
		if (neigh)
			return bpf_redirect_neigh(out, NULL, 0, 0);
		return bpf_redirect(out, 0);
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int cap_tap_ingress(struct __sk_buff *skb)
{
	return tap(skb, CAP_HOOK_INGRESS);
}

SEC("tc")
int cap_tap_egress(struct __sk_buff *skb)
{
	return tap(skb, CAP_HOOK_EGRESS);
}

char _license[] SEC("license") = "GPL";
