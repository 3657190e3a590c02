/* SPDX-License-Identifier: GPL-2.0 */
/* sg.bpf.c: placeholder; the real program lands with its issue. */
#include "parse.h"

SEC("tc")
int sg_stub(void *ctx)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
