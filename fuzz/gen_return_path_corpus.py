#!/usr/bin/env python3
"""gen_return_path_corpus.py — writes the seeds of fuzz/corpus/fuzz_return_path/
for fuzz/fuzz_return_path.c: what a QEMU 7.2 or vmig destination sends in a
precopy migration with a return path (PONG 1, then SHUT 0 or SHUT 1; the
bytes checked against 7.2 in spec/stream.md §8-9), every other message
type well-formed, and malformed and truncated variants.

usage: fuzz/gen_return_path_corpus.py [OUTDIR]   (default: fuzz/corpus/fuzz_return_path)
"""
import os
import struct
import sys


def msg(t, data):
    return struct.pack(">HH", t, len(data)) + data


def val(t, v):
    return msg(t, struct.pack(">I", v))


def name(n):
    return bytes([len(n)]) + n


SHUT, PONG, REQ_ID, REQ, BITMAP, ACK = 1, 2, 3, 4, 5, 6
seeds = {
    "precopy-ok": val(PONG, 1) + val(SHUT, 0),
    "precopy-failed": val(PONG, 1) + val(SHUT, 1),
    "pongs": val(PONG, 1) + val(PONG, 2) + val(PONG, 3) + val(SHUT, 0),
    "req-pages": msg(REQ_ID, struct.pack(">QI", 0x3000, 0x1000) + name(b"pc.ram"))
    + msg(REQ, struct.pack(">QI", 0x5000, 0x2000)),
    "recv-bitmap": msg(BITMAP, name(b"pc.ram"))
    + struct.pack(">Q", 8) + b"\xff" * 8 + struct.pack(">Q", 0x0123456789ABCDEF),
    "resume-ack": val(ACK, 1),
    "bad-type": val(0, 0) + val(7, 0),
    "bad-len": msg(SHUT, b"\0" * 8),
    "bad-name-len": msg(REQ_ID, struct.pack(">QI", 0, 4096) + b"\x09pc.ram"),
    "nul-name": msg(BITMAP, name(b"pc\0ram")),
    "bad-ack": val(ACK, 2),
    "cut": (val(PONG, 1) + val(SHUT, 0))[:-3],
    "end-only": b"",
}

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_return_path")
os.makedirs(out, exist_ok=True)
for n, b in seeds.items():
    with open(os.path.join(out, n), "wb") as f:
        f.write(b)
print(f"{len(seeds)} seeds in {out}")
