#!/usr/bin/env bash
# tests/install/run.sh — install test: install a built vmig tree into a temporary
# prefix, then build and run hello.c against it twice, once with
# `pkg-config --cflags --libs vmig` and once with CMake's find_package(vmig).
# Usage: run.sh BUILD_DIR   (env: CC, VMIG_INSTALL_TEST_CFLAGS, VMIG_KEEP_TMP=1)
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
    echo "usage: $0 BUILD_DIR (a configured and built vmig tree)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cflags=${VMIG_INSTALL_TEST_CFLAGS:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmig-install.XXXXXX")
cleanup() {
    if [ "${VMIG_KEEP_TMP:-0}" = 1 ]; then
        echo "install test: kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
prefix=$tmp/prefix

step() { printf '\n--- install test: %s\n' "$*"; }
fail() { echo "install test: FAILED: $*" >&2; exit 1; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log"; fail "cmake --install"; }

# GNUInstallDirs picks lib/, lib64/ or lib/<multiarch>/: look for what it chose.
pc=$(find "$prefix" -path '*/pkgconfig/vmig.pc' | head -n1)
[ -n "$pc" ] || fail "no vmig.pc installed under $prefix"
cfg=$(find "$prefix" -name vmigConfig.cmake | head -n1)
[ -n "$cfg" ] || fail "no vmigConfig.cmake installed under $prefix"
echo "vmig.pc: $pc"
echo "vmigConfig.cmake: $cfg"

step "pkg-config build"
export PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pcprefix=$(pkg-config --variable=prefix vmig)
[ "$pcprefix" = "$prefix" ] || fail "vmig.pc says prefix=$pcprefix, installed to $prefix"
libdir=$(pkg-config --variable=libdir vmig)
[ -e "$libdir/libvmig.so" ] || fail "vmig.pc libdir $libdir has no libvmig.so"
flags=$(pkg-config --cflags --libs vmig)
echo "$cc${cflags:+ $cflags} $here/hello.c $flags"
# shellcheck disable=SC2086 # the flags are words
"$cc" $cflags -o "$tmp/hello-pkgconfig" "$here/hello.c" $flags ||
    fail "building hello.c with pkg-config flags"
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "$tmp/hello-pkgconfig" ||
    fail "hello (pkg-config build) exited with $?"

step "CMake find_package build"
cmake -S "$here" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$cflags" >"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log"; fail "configuring the find_package(vmig) project"; }
vmig_dir=$(sed -n 's/^vmig_DIR:PATH=//p' "$tmp/cmake-build/CMakeCache.txt")
case "$vmig_dir" in
    "$prefix"/*) echo "find_package(vmig) used $vmig_dir" ;;
    *) fail "find_package(vmig) found $vmig_dir, not the one in $prefix" ;;
esac
cmake --build "$tmp/cmake-build" >"$tmp/build.log" 2>&1 ||
    { cat "$tmp/build.log"; fail "building the find_package(vmig) project"; }
# No LD_LIBRARY_PATH: CMake's build RPATH must find the installed libvmig.so.
"$tmp/cmake-build/hello" || fail "hello (find_package build) exited with $?"

echo
echo "install test: ok (pkg-config and find_package builds ran)"
