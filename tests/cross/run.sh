#!/usr/bin/env bash
# run.sh — build switch_check.c for aarch64 (cross gcc, static) and run it under
# qemu-user, then natively; exit 77 (ctest: skipped) without the cross tools.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$(mktemp -d)}
mkdir -p "$out"
cc -O2 -DCO_BACKEND_ASM=1 -I"$src/coroutine" "$src/tests/cross/switch_check.c" \
   "$src/coroutine/co_switch_frame.c" "$src/coroutine/co_switch_x86_64.S" -o "$out/switch_native"
"$out/switch_native"
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64-static >/dev/null; then
    echo "SKIP: aarch64-linux-gnu-gcc or qemu-aarch64-static missing (apt-get install gcc-aarch64-linux-gnu qemu-user-static)"
    exit 77
fi
aarch64-linux-gnu-gcc -O2 -static -I"$src/coroutine" "$src/tests/cross/switch_check.c" \
   "$src/coroutine/co_switch_frame.c" "$src/coroutine/co_switch_aarch64.S" -o "$out/switch_aarch64"
qemu-aarch64-static "$out/switch_aarch64"
echo "aarch64 context switch: ok"
