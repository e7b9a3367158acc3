#!/usr/bin/env bash
# scripts/deps.sh — install the Debian packages vmig builds and tests with
# (called by `make deps` and .ci/run); does nothing when they are all present.
set -euo pipefail

PKGS=(libuv1-dev libzstd-dev zlib1g-dev libmbedtls-dev libjansson-dev libcmocka-dev
      cmake pkg-config gcc libc6-dev make valgrind)
# `deps.sh test`: also what the test suite drives: QEMU 7.2 for the interop
# tests, an aarch64 cross compiler and qemu-user for the aarch64 switch check.
if [ "${1:-}" = test ]; then
    PKGS+=(qemu-system-x86 qemu-utils gcc-aarch64-linux-gnu qemu-user-static python3)
fi

if ! command -v dpkg >/dev/null 2>&1; then
    echo "deps: no dpkg here (not Debian?): make sure these (or your distribution's" \
         "equivalents) are installed: ${PKGS[*]}" >&2
    exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
    # `dpkg -s` also knows removed packages whose config files remain: check the
    # status line (read whole, so no SIGPIPE trips pipefail).
    status=$(dpkg -s "$p" 2>/dev/null || true)
    if ! grep -q '^Status: install ok installed$' <<<"$status"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all build and test packages are installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: not root, so not installing them; run as root:" >&2
    echo "      apt-get install ${missing[*]}" >&2
    echo "      (or: sudo make deps)" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" </dev/null
echo "deps: done"
