#!/usr/bin/env bash
# make-seed-corpus.sh — save small real QEMU 7.2 migration streams as the seed
# corpus of the whole-stream fuzz harness (fuzz/corpus/fuzz_stream/), then
# real vmig streams of the demo machine (fuzz/gen_incoming_corpus.py) as the
# seeds of fuzz_incoming and, two of them, of fuzz_stream too.
# Needs qemu-system-x86_64 and python3; exits 77 (skip) without QEMU.
# VMIG_VMM: the vmig-vmm to record with (default build/bin/vmig-vmm; skipped
# when missing).
# Each seed stays under 300 KB; existing seeds of the same name are replaced.
set -euo pipefail

cd "$(dirname "$0")/.."
out=${1:-fuzz/corpus/fuzz_stream}
py=tests/interop/qemu_stream.py
max=$((300 * 1024))

if ! command -v "${QEMU:-qemu-system-x86_64}" >/dev/null; then
    echo "make-seed-corpus: SKIP: qemu-system-x86_64 is not installed" >&2
    exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# RAM contents for -M none, 1 MiB each (256 pages), deterministic:
#   zero    all zero pages
#   mixed   12 random pages, the rest zero
#   pattern 16 compressible non-zero pages (for the compress capability)
python3 - "$tmp" <<'EOF'
import random, sys
d = sys.argv[1]
rnd = random.Random(7)
pages = 256
with open(d + "/zero.ram", "wb") as f:
    f.truncate(pages * 4096)
with open(d + "/mixed.ram", "wb") as f:
    for i in range(pages):
        f.write(bytes(rnd.getrandbits(8) for _ in range(4096)) if i % 21 == 5 else bytes(4096))
with open(d + "/pattern.ram", "wb") as f:
    for i in range(pages):
        f.write(bytes([i & 0xff, 0x55, 0, 0] * 1024) if i % 16 == 3 else bytes(4096))
EOF
cp "$tmp/zero.ram" "$tmp/shared.ram"

save() { # NAME ARGS...: one stream into $out/NAME
    local name=$1
    shift
    python3 "$py" "$@" --out "$tmp/$name"
    local size
    size=$(stat -c %s "$tmp/$name")
    if [ "$size" -gt "$max" ]; then
        echo "make-seed-corpus: $name is $size bytes (over $max): not kept" >&2
        return 1
    fi
    mv "$tmp/$name" "$out/$name"
    printf '  %-24s %8d bytes\n' "$name" "$size"
}

echo "seeds in $out:"
save none-zero-1m none --ram "$tmp/zero.ram" --size 1M
save none-mixed-1m none --ram "$tmp/mixed.ram" --size 1M
save none-compress-1m none --ram "$tmp/pattern.ram" --size 1M --cap compress
save none-ignore-shared none --ram "$tmp/shared.ram" --size 1M --cap x-ignore-shared
save pc-minimal pc --minimal --mem 16M
save pc-xbzrle pc --minimal --xbzrle --mem 4M

vmm=${VMIG_VMM:-build/bin/vmig-vmm}
if [ -x "$vmm" ]; then
    echo "vmig demo streams in fuzz/corpus/fuzz_incoming:"
    python3 fuzz/gen_incoming_corpus.py --vmm "$vmm"
    cp fuzz/corpus/fuzz_incoming/demo-idle "$out/vmig-demo-idle"
    cp fuzz/corpus/fuzz_incoming/demo-compress "$out/vmig-demo-compress"
else
    echo "make-seed-corpus: $vmm not built: no vmig streams recorded" >&2
fi
