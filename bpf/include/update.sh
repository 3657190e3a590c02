#!/bin/sh
# Re-copies the vendored kernel UAPI and libbpf headers from Debian's
# linux-libc-dev and libbpf-dev, so BPF objects build hermetically with
# -nostdinc (host headers do not work for -target bpf: STYLE.md §5.1).
set -eu
cd "$(dirname "$0")"
for f in $(find linux asm-generic -name '*.h'); do cp "/usr/include/$f" "$f"; done
for f in asm/*.h; do cp "/usr/include/x86_64-linux-gnu/$f" "$f"; done
for f in bpf/*.h; do cp "/usr/include/$f" "$f"; done
