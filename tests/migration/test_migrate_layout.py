#!/usr/bin/env python3
"""test_migrate_layout.py - a vmig-vmm destination given a stream made for
another RAM layout, fed with --incoming exec:cat STREAM from a stream file a
vmig-vmm source saved: the load fails cleanly with QEMU's words, the process
exits 1 with "vmig-vmm: load of migration failed: ..." on stderr, and its RAM
file keeps its size and content.

  test_migrate_layout.py CASE --vmm PATH
CASE:
  smaller-stream  a 64 MiB stream into 128 MiB of RAM: Length mismatch
  larger-stream   a 128 MiB stream into 64 MiB of RAM: Length mismatch, the
                  RAM file does not grow
  unknown-block   the block renamed in the stream ("mem" -> "xyz"):
                  Unknown ramblock
  truncated       the stream cut in the middle of the RAM pages: exit 1
  good            control: the same stream into the right size loads, the
                  destination ends paused (the source was stopped)
Exit status: 0 pass, 1 fail.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mig_py as M  # noqa: E402
from mig_py import check  # noqa: E402


def save_stream(a, d, memory, content="random"):
    """A stopped vmig-vmm source of memory bytes saves its stream to a file;
    returns (stream path, source RAM path)."""
    sub = os.path.join(d, "save-%s" % memory)
    os.mkdir(sub)
    ram = os.path.join(sub, "src.ram")
    M.make_ram(ram, memory, content)
    stream = os.path.join(sub, "stream")
    src = M.start_vmm(a, sub, "src-%s" % memory, memory, ram)
    src.ok("stop")
    M.migrate(src, "exec:cat > %s" % stream)
    M.wait_mig(src, "completed")
    src.quit()
    check(os.path.getsize(stream) > 0, "empty stream")
    return stream, ram


def refused(a, d, stream, memory, *needles):
    """Load stream into a destination of memory bytes: it must fail, exit 1
    with the needles in its message, and leave its RAM file as it was."""
    ram = os.path.join(d, "dst-%s.ram" % memory)
    h = M.make_ram(ram, memory, 0xA5)
    dst = M.start_vmm(a, d, "dst-%s" % memory, memory, ram, incoming="exec:cat %s" % stream,
                      connect=False)
    M.check_failed_load(dst, *needles)
    print("%s: %s" % (dst.name, dst.stderr_text().splitlines()[-1]))
    check(os.path.getsize(ram) == M.parse_size(memory),
          "RAM file size %d, want %d" % (os.path.getsize(ram), M.parse_size(memory)))
    check(M.file_hash(ram) == h, "the refusing destination's RAM changed")


def case_smaller_stream(a, d):
    stream, _ = save_stream(a, d, "64M")
    refused(a, d, stream, "128M", "Length mismatch")


def case_larger_stream(a, d):
    stream, _ = save_stream(a, d, "128M")
    refused(a, d, stream, "64M", "Length mismatch")


def case_unknown_block(a, d):
    # Zero RAM: page records carry one fill byte, so b"\x03mem" can only be
    # a block name (the MEM_SIZE list and the first page record).
    stream, _ = save_stream(a, d, "16M", "zero")
    with open(stream, "rb") as f:
        data = f.read()
    n = data.count(b"\x03mem")
    check(n >= 2, "expected the block name in the list and a page record, found %d" % n)
    bad = os.path.join(d, "renamed")
    with open(bad, "wb") as f:
        f.write(data.replace(b"\x03mem", b"\x03xyz"))
    refused(a, d, bad, "16M", "Unknown ramblock")


def case_truncated(a, d):
    stream, _ = save_stream(a, d, "64M")
    size = os.path.getsize(stream)
    cut = os.path.join(d, "cut")
    with open(stream, "rb") as f, open(cut, "wb") as g:
        g.write(f.read(size // 2))
    ram = os.path.join(d, "dst.ram")
    M.make_ram(ram, "64M", 0xA5)
    dst = M.start_vmm(a, d, "dst", "64M", ram, incoming="exec:cat %s" % cut, connect=False)
    M.check_failed_load(dst)
    print("truncated: %s" % dst.stderr_text().splitlines()[-1])
    check(os.path.getsize(ram) == 64 << 20, "RAM file size changed")


def case_good(a, d):
    stream, src_ram = save_stream(a, d, "64M")
    ram = os.path.join(d, "dst.ram")
    M.make_ram(ram, "64M", 0xA5)
    dst = M.start_vmm(a, d, "dst", "64M", ram, incoming="exec:cat %s" % stream)
    M.wait_mig(dst, "completed", timeout=30)
    M.wait_runstate(dst, "paused")
    dst.quit()
    M.check_same_ram(src_ram, ram, "destination")


CASES = {
    "smaller-stream": case_smaller_stream,
    "larger-stream": case_larger_stream,
    "unknown-block": case_unknown_block,
    "truncated": case_truncated,
    "good": case_good,
}

if __name__ == "__main__":
    sys.exit(M.main("test_migrate_layout", CASES, __doc__, limit=150))
