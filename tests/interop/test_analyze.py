#!/usr/bin/env python3
"""test_analyze.py - interop tests of `vmig analyze` on streams saved by QEMU 7.2.

  test_analyze.py CASE --vmig PATH
CASE:
  ram-zero, ram-random, ram-mixed, ram-compress
      -M none with a 64 MiB file-backed RAM of that content saves a stream;
      `vmig analyze --json --dump-ram DIR` must give back the RAM file byte for
      byte (cmp) and count the pages of each kind.
      ram-compress also damages one COMPRESS_PAGE of the stream (its adler32,
      then its length): exit 1, one stderr line naming the page and the byte
      offset of the bad payload.
  ram-xbzrle
      -M pc running with its RAM in a shared file, xbzrle on and a low bandwidth:
      the stream has XBZRLE pages; the dump of the RAM block equals the file.
  ram-xbzrle-compress
      the same with compress on too: COMPRESS_PAGE records in the first pass,
      XBZRLE ones after; the dump of the RAM block equals the file.
  pc-sections
      -M pc -S with default devices, an e1000 and -netdev user: analysed without
      error; its section list (FULL sections) equals the device names of QEMU's
      own vmdesc, legacy entries (slirp) having exactly their vmdesc size; the
      same list comes out of stdin (no vmdesc pass).
  truncation
      every prefix up to 2 KiB and 200 random ones (plus those around the end)
      of a real -M none stream: exit 1, one stderr line with the byte offset,
      never a signal; only the prefix ending right after the EOF byte (no
      vmdesc trailer, which QEMU accepts too) exits 0.
Exit status: 0 pass, 1 fail, 77 skip (QEMU not installed).
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qemu_stream  # noqa: E402

SIZE = 64 << 20
PAGE = 4096
MAGIC = 0x5145564D


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run_vmig(vmig, args, stdin=None, timeout=120):
    return subprocess.run([vmig, "analyze"] + args, stdin=stdin, capture_output=True,
                          timeout=timeout)


def analyze_json(vmig, args, stdin=None):
    p = run_vmig(vmig, ["--json"] + args, stdin=stdin)
    err = p.stderr.decode(errors="replace").strip()
    check(p.returncode == 0, "vmig analyze exit %d: %s" % (p.returncode, err))
    try:
        rep = json.loads(p.stdout)
    except ValueError as e:
        raise Fail("stdout is not one JSON object: %s" % e)
    for k in ("header", "configuration", "sections", "ram", "devices", "vmdesc"):
        check(k in rep, "report has no %r" % k)
    check(rep["header"] == {"magic": MAGIC, "version": 3}, "header %r" % rep["header"])
    return rep


def make_ram(path, kind):
    """64 MiB: zero, random, or mixed (even pages zero, odd pages random)."""
    rnd = random.Random(kind)
    with open(path, "wb") as f:
        if kind == "zero":
            f.truncate(SIZE)
            return
        for i in range(SIZE // PAGE):
            if kind == "mixed" and i % 2 == 0:
                f.write(bytes(PAGE))
            else:
                f.write(rnd.randbytes(PAGE))


def files_equal(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def case_ram(vmig, tmp, kind):
    content = "mixed" if kind == "compress" else kind
    ram = os.path.join(tmp, "ram")
    stream = os.path.join(tmp, "stream")
    dump = os.path.join(tmp, "dump")
    make_ram(ram, content)
    t0 = time.monotonic()
    qemu_stream.save_none(ram, SIZE, stream, caps=["compress"] if kind == "compress" else None,
                          timeout=120)
    t1 = time.monotonic()
    rep = analyze_json(vmig, ["--dump-ram", dump, stream])
    t2 = time.monotonic()
    check(rep["configuration"]["machine"] == "none", "machine %r" % rep["configuration"])
    blocks = rep["ram"]["blocks"]
    check(blocks == [{"name": "mem", "length": SIZE}], "blocks %r" % blocks)
    pages = rep["ram"]["pages"]
    n = SIZE // PAGE
    want = {"zero": {"normal": 0, "zero": n, "xbzrle": 0, "compressed": 0},
            "random": {"normal": n, "zero": 0, "xbzrle": 0, "compressed": 0},
            "mixed": {"normal": n // 2, "zero": n // 2, "xbzrle": 0, "compressed": 0},
            "compress": {"normal": 0, "zero": n // 2, "xbzrle": 0, "compressed": n // 2}}[kind]
    check(pages == want, "pages %r, expected %r" % (pages, want))
    check(rep["vmdesc"] is True, "vmdesc trailer not found")
    names = [d["name"] for d in rep["devices"]]
    check(names == ["timer", "globalstate"], "devices %r" % names)
    check(all(d["fields"] for d in rep["devices"]), "devices not decoded")
    check(os.path.getsize(os.path.join(dump, "mem")) == SIZE, "dump size")
    check(files_equal(os.path.join(dump, "mem"), ram), "dump differs from the RAM file")
    print("ram-%s: stream %d bytes, QEMU save %.2f s, analyze+dump %.2f s, pages %s, cmp ok"
          % (kind, os.path.getsize(stream), t1 - t0, t2 - t1, pages))
    if kind == "compress":
        bad_compressed_page(vmig, tmp, stream)


def ram_records(data):
    """(offset, flags, page address, payload offset, payload length) of every
    RAM record of a -M none stream (one block, sections START/PART/END of
    "ram" first, as QEMU 7.2 saves them: lab §1), up to the first other
    section."""
    p = 8
    check(data[p] == 7, "no configuration section")
    p += 5 + struct.unpack(">I", data[p + 1:p + 5])[0]
    out = []
    while data[p] in (1, 2, 3):  # START (with name, instance, version), PART, END
        p += 6 + data[p + 5] + 8 if data[p] == 1 else 5
        while True:
            off = p
            (word,) = struct.unpack(">Q", data[p:p + 8])
            flags, addr = word & (PAGE - 1), word & ~(PAGE - 1)
            p += 8
            if flags & 0x10:  # EOS, then the section footer
                p += 5
                break
            if flags & 0x04:  # MEM_SIZE: the block list (name, be64 length)
                total = 0
                while total < addr:
                    p += 1 + data[p]
                    total += struct.unpack(">Q", data[p:p + 8])[0]
                    p += 8
                continue
            if not flags & 0x20:
                p += 1 + data[p]  # the block's name
            if flags & 0x02:
                n, p0 = 1, p
            elif flags & 0x08:
                n, p0 = PAGE, p
            elif flags & 0x100:
                n, p0 = struct.unpack(">I", data[p:p + 4])[0], p + 4
            else:
                raise Fail("RAM flags 0x%x at %d not expected here" % (flags, off))
            out.append((off, flags, addr, p0, n))
            p = p0 + n
    return out


def bad_compressed_page(vmig, tmp, stream):
    """A damaged COMPRESS_PAGE is refused with one clear line: the page, its
    block and the byte offset of its payload (or of its length field)."""
    with open(stream, "rb") as f:
        data = bytearray(f.read())
    recs = [r for r in ram_records(data) if r[1] & 0x100]
    check(len(recs) == SIZE // PAGE // 2, "%d COMPRESS_PAGE records found" % len(recs))
    off, _, addr, p0, n = recs[len(recs) // 2]
    bad = os.path.join(tmp, "bad")
    dump = os.path.join(tmp, "dump-bad")
    os.mkdir(dump)
    big = 4111  # one past compressBound(4096)
    for what, want, at in (("adler32", "compressed page at offset 0x%x of 'mem'" % addr, p0),
                           ("length", "compressed page of %d bytes" % big, p0 - 4)):
        copy = bytearray(data)
        if what == "adler32":
            copy[p0 + n - 1] ^= 0xff  # the last byte of the zlib stream
        else:
            struct.pack_into(">I", copy, p0 - 4, big)
        with open(bad, "wb") as f:
            f.write(copy)
        p = run_vmig(vmig, ["--dump-ram", dump, bad])
        err = p.stderr.decode(errors="replace")
        lines = err.splitlines()
        check(p.returncode == 1, "bad %s: exit %d: %s" % (what, p.returncode, err.strip()))
        check(len(lines) == 1 and want in lines[0] and "byte offset %d" % at in lines[0],
              "bad %s of the page at 0x%x (payload at %d): stderr %r" % (what, addr, p0, err))
        print("ram-compress: bad %s: %s" % (what, lines[0]))


def case_xbzrle(vmig, tmp, compress=False):
    size = 32 << 20
    ram = os.path.join(tmp, "ram")
    stream = os.path.join(tmp, "stream")
    dump = os.path.join(tmp, "dump")
    # XBZRLE needs pages dirtied again after the first pass: slower passes
    # leave the guest more time to do so.
    for bw in (2000000, 1000000, 500000):
        shutil.rmtree(dump, ignore_errors=True)
        with open(ram, "wb") as f:
            f.truncate(size)
        qemu_stream.save_pc_xbzrle(ram, size, stream, bandwidth=bw, timeout=120,
                                   compress=compress)
        rep = analyze_json(vmig, ["--dump-ram", dump, stream])
        if rep["ram"]["pages"]["xbzrle"]:
            break
    pages = rep["ram"]["pages"]
    check(pages["xbzrle"] > 0, "no XBZRLE page in three attempts: %r" % pages)
    if compress:
        check(pages["compressed"] > 0, "no COMPRESS_PAGE with compress on: %r" % pages)
    check({"name": "ram0", "length": size} in rep["ram"]["blocks"], "no block ram0")
    check(files_equal(os.path.join(dump, "ram0"), ram), "dump of ram0 differs from the RAM file")
    print("ram-xbzrle%s: stream %d bytes at %d B/s, pages %s, ram0 cmp ok"
          % ("-compress" if compress else "", os.path.getsize(stream), bw, pages))


def read_vmdesc(path):
    """QEMU's own vmdesc, located from the end of the file (stream.md §7)."""
    with open(path, "rb") as f:
        data = f.read()
    nul = data.rfind(b"\0")
    brace = data.index(b"{", nul)
    check(data[brace - 5] == 6, "no vmdesc marker")
    (length,) = struct.unpack(">I", data[brace - 4:brace])
    check(length == len(data) - brace, "vmdesc length")
    return json.loads(data[brace:])


def case_pc(vmig, tmp):
    stream = os.path.join(tmp, "stream")
    dump = os.path.join(tmp, "dump")
    qemu_stream.save_pc(stream, mem="32M", timeout=120)
    vd = read_vmdesc(stream)
    rep = analyze_json(vmig, ["--dump-ram", dump, stream])
    check(rep["configuration"]["machine"].startswith("pc-i440fx"),
          "machine %r" % rep["configuration"])
    check(rep["vmdesc"] is True, "vmdesc trailer not found")
    full = [s for s in rep["sections"] if s["type"] == "full"]
    got = [(s["name"], s["instance"]) for s in full]
    want = [(d["name"], d["instance_id"]) for d in vd["devices"]]
    check(got == want, "sections %r\n  vmdesc %r" % (got, want))
    legacy = 0
    for s, d, dev in zip(full, vd["devices"], rep["devices"]):
        hdr = 1 + 4 + 1 + len(s["name"]) + 4 + 4
        if "vmsd_name" not in d:  # legacy: described only by its size
            legacy += 1
            check(s["size"] == hdr + d["size"] + 5,
                  "legacy %s: %d bytes, vmdesc says %d" % (s["name"], s["size"], d["size"]))
            check(dev["fields"] is None, "legacy %s decoded?" % s["name"])
        else:
            check(isinstance(dev["fields"], dict), "%s not decoded" % s["name"])
            check(dev["version"] == d["version"], "%s version" % s["name"])
    check(legacy >= 1, "no legacy (slirp) section in the stream")
    check(any(s["name"] == "slirp" for s in full), "no slirp section")
    # Every block dumped with its length.
    for b in rep["ram"]["blocks"]:
        fname = "".join(c if (c.isascii() and (c.isalnum() or c in "._@:+-")) and
                        not (i == 0 and c == ".") else "%%%02X" % ord(c)
                        for i, c in enumerate(b["name"]))
        path = os.path.join(dump, fname)
        check(os.path.getsize(path) == b["length"], "dump of %s" % b["name"])
    # The same sections from stdin, where bodies are skipped up to their footer.
    with open(stream, "rb") as f:
        rep2 = analyze_json(vmig, ["-"], stdin=f)
    strip = [(s["offset"], s["type"], s["name"], s["size"]) for s in rep["sections"]]
    strip2 = [(s["offset"], s["type"], s["name"], s["size"]) for s in rep2["sections"]]
    check(strip == strip2, "stdin gives another section list")
    print("pc-sections: %d sections, %d devices (%d legacy) match QEMU's vmdesc, "
          "%d RAM blocks dumped" % (len(rep["sections"]), len(full), legacy,
                                    len(rep["ram"]["blocks"])))


def eof_offset(data):
    """Offset just after the EOF byte: where the vmdesc trailer starts."""
    nul = data.rfind(b"\0")
    brace = data.index(b"{", nul)
    return brace - 5


def case_truncation(vmig, tmp):
    ram = os.path.join(tmp, "ram")
    stream = os.path.join(tmp, "stream")
    make_ram(ram, "zero")
    qemu_stream.save_none(ram, SIZE, stream)
    with open(stream, "rb") as f:
        data = f.read()
    end_ok = eof_offset(data)
    rnd = random.Random(1)
    lens = set(range(0, 2049)) | set(rnd.randrange(2049, len(data)) for _ in range(200))
    lens |= set(range(max(0, end_ok - 40), len(data)))  # EOF, trailer, its every cut
    lens = sorted(lens)
    prefix = os.path.join(tmp, "prefix")
    t0 = time.monotonic()
    via_stdin = 0
    for n in lens:
        with open(prefix, "wb") as f:
            f.write(data[:n])
        use_stdin = n % 7 == 0
        if use_stdin:
            via_stdin += 1
            with open(prefix, "rb") as f:
                p = run_vmig(vmig, ["-"], stdin=f, timeout=30)
        else:
            p = run_vmig(vmig, [prefix], timeout=30)
        err = p.stderr.decode(errors="replace")
        check(p.returncode >= 0, "prefix %d: killed by signal %d" % (n, -p.returncode))
        if n == end_ok:
            check(p.returncode == 0, "prefix %d (up to EOF, no trailer): exit %d: %s"
                  % (n, p.returncode, err))
            continue
        check(p.returncode == 1, "prefix %d: exit %d: %s" % (n, p.returncode, err.strip()))
        lines = err.splitlines()
        check(len(lines) == 1 and "byte offset" in lines[0] and
              lines[0].startswith("vmig analyze: "),
              "prefix %d: stderr is not one line with the offset: %r" % (n, err))
    print("truncation: %d prefixes of a %d-byte stream (%d via stdin) rejected cleanly in "
          "%.1f s; the one ending at EOF (%d) accepted" % (len(lens), len(data), via_stdin,
                                                           time.monotonic() - t0, end_ok))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", choices=["ram-zero", "ram-random", "ram-mixed", "ram-compress",
                                     "ram-xbzrle", "ram-xbzrle-compress", "pc-sections",
                                     "truncation"])
    ap.add_argument("--vmig", required=True, help="path of build/bin/vmig")
    a = ap.parse_args()
    if not qemu_stream.qemu_path():
        print("SKIP: qemu-system-x86_64 is not installed", file=sys.stderr)
        return qemu_stream.SKIP
    tmp = tempfile.mkdtemp(prefix="vmig-interop-")
    try:
        if a.case in ("ram-xbzrle", "ram-xbzrle-compress"):
            case_xbzrle(a.vmig, tmp, compress=a.case.endswith("-compress"))
        elif a.case.startswith("ram-"):
            case_ram(a.vmig, tmp, a.case[4:])
        elif a.case == "pc-sections":
            case_pc(a.vmig, tmp)
        else:
            case_truncation(a.vmig, tmp)
    except (Fail, RuntimeError, TimeoutError, subprocess.TimeoutExpired) as e:
        print("FAIL %s: %s" % (a.case, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
