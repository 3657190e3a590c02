/* SPDX-License-Identifier: GPL-2.0 */
/* nacl.bpf.c: placeholder; the real program lands with its issue. */
#include "parse.h"

SEC("xdp")
int nacl_stub(void *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
