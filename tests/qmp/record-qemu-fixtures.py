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
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp_py  # noqa: E402


def record(qemu, d):
    # start_qemu() runs the qemu-system-x86_64 found on PATH.
    return qmp_py.collect_messages(lambda extra: qmp_py.start_qemu(d, extra))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    return qmp_py.record_main("record-qemu-fixtures", os.path.join(here, "fixtures", "qemu-7.2"),
                              record, "messages")


if __name__ == "__main__":
    sys.exit(main())
