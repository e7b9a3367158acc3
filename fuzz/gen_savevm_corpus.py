#!/usr/bin/env python3
"""gen_savevm_corpus.py — writes the handcrafted seeds of fuzz/corpus/fuzz_savevm/
for fuzz/fuzz_savevm.c: a -M none-like stream (header, configuration "none",
START/PART/END "ram" sections in the harness's test format, FULL timer and
globalstate, EOF, vmdesc trailer) and variants that fail or take other paths.

The ram bodies are the harness's miniature format (be64 addr|flags records,
64-byte pages, 0x10 EOS), not QEMU's RAM format. The corpus also holds two
real QEMU 7.2 streams copied from fuzz/corpus/fuzz_stream/ (qemu-*):
qemu-none-zero-1m fails at its ram START section, qemu-none-ignore-shared
already at the configuration (x-ignore-shared is off in the harness).

usage: fuzz/gen_savevm_corpus.py [OUTDIR]   (default: fuzz/corpus/fuzz_savevm)
"""
import os
import struct
import sys

MAGIC = b"QEVM" + struct.pack(">I", 3)
PAGE = 64


def be16(v):
    return struct.pack(">H", v)


def be32(v):
    return struct.pack(">I", v)


def be64(v):
    return struct.pack(">Q", v)


def counted(s):
    b = s.encode()
    return bytes([len(b)]) + b


def config(machine="none", subsections=b""):
    m = machine.encode()
    return b"\x07" + be32(len(m)) + m + subsections


def footer(section_id):
    return b"\x7e" + be32(section_id)


def start_full(kind, section_id, idstr, version, body, instance=0):
    return (bytes([kind]) + be32(section_id) + counted(idstr) + be32(instance) + be32(version) +
            body + footer(section_id))


def part_end(kind, section_id, body):
    return bytes([kind]) + be32(section_id) + body + footer(section_id)


# ---- the test ram format ------------------------------------------------------------
def eos():
    return be64(0x10)


def fill(addr, byte):
    return be64(addr | 0x02) + bytes([byte])


def page(addr, pattern):
    return be64(addr | 0x08) + bytes((pattern + i) & 0xff for i in range(PAGE))


RAM_ID, TIMER_ID, GS_ID = 2, 0, 4


def ram_start(body):
    return start_full(0x01, RAM_ID, "ram", 4, body + eos())


def ram_part(body):
    return part_end(0x02, RAM_ID, body + eos())


def ram_end(body=b""):
    return part_end(0x03, RAM_ID, body + eos())


def timer(ticks=0x0102030405060708, clock=-1):
    body = struct.pack(">q", ticks) + bytes(8) + struct.pack(">q", clock)
    return start_full(0x04, TIMER_ID, "timer", 2, body)


def globalstate(runstate=b"running", size=None):
    if size is None:
        size = len(runstate) + 1
    buf = runstate + bytes(100 - len(runstate))
    return start_full(0x04, GS_ID, "globalstate", 1, be32(size) + buf[:100])


def command(cmd, data=b""):
    return b"\x08" + be16(cmd) + be16(len(data)) + data


def packaged(pkg):
    return command(7, be32(len(pkg))) + pkg


VMDESC_JSON = (
    '{"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, '
    '"vmsd_name": "timer", "version": 2, "fields": [{"name": "cpu_ticks_offset", '
    '"type": "int64", "size": 8}, {"name": "unused", "type": "unused_buffer", '
    '"size": 8}, {"name": "cpu_clock_offset", "type": "int64", "size": 8}]}, '
    '{"name": "globalstate", "instance_id": 0, "vmsd_name": "globalstate", '
    '"version": 1, "fields": [{"name": "size", "type": "uint32", "size": 4}, '
    '{"name": "runstate", "type": "buffer", "size": 100}]}]}').encode()


def vmdesc():
    return b"\x06" + be32(len(VMDESC_JSON)) + VMDESC_JSON


def header(machine="none", subsections=b""):
    return MAGIC + config(machine, subsections)


def devices():
    return timer() + globalstate()


def tail():
    return devices() + b"\x00" + vmdesc()


def iterative():
    return (ram_start(page(0, 1) + fill(64, 0)) + ram_part(page(960, 7) + fill(128, 0xaa)) +
            ram_end(fill(192, 0)))


def seeds():
    valid = header() + iterative() + tail()
    out = {
        "valid-none": valid,
        "valid-none-no-vmdesc": header() + iterative() + devices() + b"\x00",
        "valid-trailer-garbage": header() + iterative() + devices() + b"\x00\x99junk",
        "valid-short-vmdesc": header() + iterative() + devices() + b"\x00\x06\x00\x00\x10\x00{",
        "valid-commands": (header() + command(1) + command(2, be32(0x1234)) + iterative() +
                           command(1) + command(2, be32(0xffffffff)) + tail()),
        "valid-packaged": (header() + command(1) + ram_start(fill(0, 1)) +
                           packaged(ram_part(page(64, 3)) + command(2, be32(7)) + timer()) +
                           ram_end() + globalstate() + b"\x00" + vmdesc()),
        "valid-postcopy-run": (header() + command(1) + command(3, be64(4096) + be64(4096)) +
                               ram_start(b"") + command(6, b"\x00\x03ram" + be64(0) + be64(64)) +
                               packaged(command(4) + devices() + command(5)) + ram_end()),
        "bad-magic": b"QEVX" + valid[4:],
        "bad-version-v2": b"QEVM" + be32(2) + valid[8:],
        "no-config": MAGIC + iterative() + tail(),
        "wrong-machine": header("pc-i440fx-7.2") + iterative() + tail(),
        "bad-page-bits": (header("none", b"\x05" + counted("configuration/target-page-bits") +
                                 be32(1) + be32(16)) + iterative() + tail()),
        "unknown-section": (header() + iterative() +
                            start_full(0x04, 9, "serial", 1, b"\x00") + tail()),
        "unknown-section-type": header() + b"\x42" + tail(),
        "unknown-part-id": header() + ram_start(b"") + part_end(0x02, 7, eos()) + tail(),
        "bad-footer-id": header() + ram_start(b"")[:-4] + be32(3) + tail(),
        "missing-footer": (header() + start_full(0x04, 0, "timer", 2, bytes(24))[:-5] +
                           globalstate() + b"\x00"),
        "timer-too-new": header() + start_full(0x04, 0, "timer", 3, bytes(24)) + b"\x00",
        "timer-v1": header() + start_full(0x04, 0, "timer", 1, bytes(16)) + b"\x00",
        "globalstate-bad-size": header() + globalstate(b"running", 101) + b"\x00",
        "globalstate-no-nul": header() + globalstate(b"r" * 100, 100) + b"\x00",
        "ram-bad-record": header() + ram_start(be64(0x04)) + tail(),
        "ram-out-of-range": header() + ram_start(page(1024, 0)) + tail(),
        "ram-full-section": header() + start_full(0x04, 2, "ram", 4, eos()) + tail(),
        "ram-old-version": header() + start_full(0x01, 2, "ram", 3, eos()) + tail(),
        "block-inactive": header() + start_full(0x01, 1, "block", 1, eos()) + tail(),
        "truncated-page": (header() + iterative() + tail())[:len(header()) + 40],
        "truncated-header": valid[:10],
        "truncated-eof": (header() + iterative() + devices()),
        "empty": b"",
        "ping-without-rp": header() + command(2, be32(1)) + tail(),
        "ping-hook-fails": header() + command(1) + command(2, be32(0)) + tail(),
        "ping-bad-length": header() + command(1) + command(2, be16(1)) + tail(),
        "unknown-command": header() + command(11) + tail(),
        "colo-fails": header() + command(8) + tail(),
        "packaged-nested": (header() + command(1) +
                            packaged(packaged(command(2, be32(1)))) + tail()),
        "packaged-too-large": header() + command(7, be32(0x01000001)) + tail(),
        "packaged-truncated": header() + command(7, be32(100)) + ram_start(b""),
    }
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "fuzz_savevm")
    os.makedirs(outdir, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
