#!/usr/bin/env bash
# scripts/valgrind.sh — run every coroutine test binary of a build tree under
# valgrind (memcheck, definite leaks are errors); used by `make valgrind`.
# Skipped: binaries whose name contains "guard" (the guard-page test forks a
# child that overflows its stack on purpose, which valgrind cannot follow).
set -euo pipefail

dir=${1:-build/tests}
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind: not installed (apt-get install valgrind, or make deps)" >&2
    exit 1
fi
shopt -s nullglob
bins=()
for b in "$dir"/coroutine_test_*; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    case "$(basename "$b")" in
        *guard*) echo "valgrind: skip $(basename "$b") (crashes a child on purpose)"; continue ;;
    esac
    bins+=("$b")
done
if [ ${#bins[@]} -eq 0 ]; then
    echo "valgrind: no coroutine_test_* binaries in $dir (run make build first)" >&2
    exit 1
fi

failed=()
for b in "${bins[@]}"; do
    echo "valgrind: $(basename "$b")"
    rc=0
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        "$b" </dev/null || rc=$?
    # 77: the test cannot run in this build and said why (not a failure).
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        failed+=("$(basename "$b")")
    fi
done
if [ ${#failed[@]} -ne 0 ]; then
    echo "valgrind: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "valgrind: ${#bins[@]} binaries clean"
