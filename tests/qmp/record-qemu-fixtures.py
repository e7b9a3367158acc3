#!/usr/bin/env python3
"""record-qemu-fixtures.py - record what QEMU 7.2's monitor answers to the
generic commands, for the shape tests of vmig's monitor (test_shapes.py).

  record-qemu-fixtures.py [--out DIR] [--qemu PATH]

Runs `qemu-system-x86_64 -M none -display none -nodefaults` (and with -S),
drives it over QMP (greeting, query-version, query-status running / paused
after stop / prelaunch with -S, the STOP, RESUME and SHUTDOWN events, the
errors of closefd and getfd) and writes one JSON file per message into DIR
(default: tests/qmp/fixtures/qemu-7.2 next to this script). Values (times,
versions) are what QEMU said; the tests compare only keys and JSON types.
Exit status: 0 written, 1 failure, 77 QEMU not installed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp_py  # noqa: E402


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(here, "fixtures", "qemu-7.2"))
    ap.add_argument("--qemu", default=qmp_py.qemu_binary())
    a = ap.parse_args()
    if not a.qemu:
        print("record-qemu-fixtures: qemu-system-x86_64 not installed", file=sys.stderr)
        return 77
    ver = subprocess.run([a.qemu, "--version"], capture_output=True, text=True).stdout
    if "version 7.2" not in ver:
        print("record-qemu-fixtures: %s is not QEMU 7.2: %s" % (a.qemu, ver.splitlines()[0]),
              file=sys.stderr)
        return 1
    d = qmp_py.tmpdir()
    try:
        msgs = qmp_py.collect_messages(lambda extra: qmp_py.start_qemu(d, extra))
    except qmp_py.Fail as e:
        print("record-qemu-fixtures: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(a.out, exist_ok=True)
    for name, msg in sorted(msgs.items()):
        with open(os.path.join(a.out, name + ".json"), "w") as f:
            json.dump(msg, f, indent=2)
            f.write("\n")
    print("recorded %d messages from %s into %s" % (len(msgs), ver.splitlines()[0], a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
