#!/usr/bin/env python3
"""test_shapes.py - the shapes of vmig-vmm's QMP messages against QEMU 7.2's.

  test_shapes.py fixtures --vmm PATH   compare with tests/qmp/fixtures/qemu-7.2
  test_shapes.py live --vmm PATH       compare with a live qemu-system-x86_64 -M none

For every message of qmp_py.collect_messages() (greeting, query-version,
query-status running/paused/prelaunch, STOP/RESUME/SHUTDOWN events, the
errors of closefd, getfd and an unknown command, the replies to stop and
quit) the key sets and JSON types must equal QEMU's; values are not
compared, except those QEMU 7.2 fixes for everyone: run states, event names
and data, error classes and texts.
Exit status: 0 pass, 1 fail, 77 skip (live: QEMU not installed).
"""
import argparse
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp_py  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "qemu-7.2")

# Values that must be equal, not only of the same type: (message, path).
EXACT = [
    ("greeting", ("QMP", "capabilities")),
    ("query-status-running", ("return",)),
    ("query-status-paused", ("return",)),
    ("query-status-prelaunch", ("return",)),
    ("event-STOP", ("event",)),
    ("event-RESUME", ("event",)),
    ("event-SHUTDOWN", ("event",)),
    ("event-SHUTDOWN", ("data",)),
    ("error-closefd", ("error",)),
    ("error-getfd", ("error",)),
    ("error-command-not-found", ("error",)),
    ("reply-stop", ("return",)),
    ("reply-quit", ("return",)),
]


def dig(msg, path):
    for k in path:
        msg = msg[k]
    return msg


def compare(want, got, against):
    problems = []
    for name in sorted(want):
        if name not in got:
            problems.append("%s: not collected" % name)
            continue
        for d in qmp_py.shape_diff(want[name], got[name]):
            problems.append("%s: %s" % (name, d))
    for name, path in EXACT:
        if name in want and name in got:
            try:
                w, g = dig(want[name], path), dig(got[name], path)
            except (KeyError, TypeError):
                continue  # already reported as a shape difference
            if w != g:
                problems.append("%s.%s: %s, %s has %s" % (name, ".".join(path), json.dumps(g),
                                                          against, json.dumps(w)))
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["fixtures", "live"])
    ap.add_argument("--vmm", required=True)
    a = ap.parse_args()

    if a.mode == "fixtures":
        want = {}
        for f in sorted(os.listdir(FIXTURES)):
            if f.endswith(".json"):
                with open(os.path.join(FIXTURES, f)) as fh:
                    want[f[:-5]] = json.load(fh)
        if not want:
            print("test_shapes: no fixtures in %s" % FIXTURES, file=sys.stderr)
            return 1
        against = "the QEMU 7.2 fixture"
    else:
        if not qmp_py.qemu_binary():
            print("test_shapes: SKIP: qemu-system-x86_64 not installed "
                  "(apt-get install qemu-system-x86)", file=sys.stderr)
            return 77
        against = "live QEMU"

    d = qmp_py.tmpdir()
    try:
        if a.mode == "live":
            want = qmp_py.collect_messages(lambda extra: qmp_py.start_qemu(d, extra))
        got = qmp_py.collect_messages(lambda extra: qmp_py.start_vmm(a.vmm, d, extra=extra))
    except qmp_py.Fail as e:
        print("test_shapes: FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    problems = compare(want, got, against)
    for p in problems:
        print("test_shapes: %s" % p, file=sys.stderr)
    if problems:
        print("test_shapes: FAIL: %d differences from %s" % (len(problems), against),
              file=sys.stderr)
        return 1
    print("test_shapes: %d messages match %s in keys and types" % (len(want), against))
    return 0


if __name__ == "__main__":
    sys.exit(main())
