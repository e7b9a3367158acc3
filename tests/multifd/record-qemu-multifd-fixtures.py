#!/usr/bin/env python3
"""record-qemu-multifd-fixtures.py - capture what a QEMU 7.2 migration source
sends on the main channel and on each multifd channel (spec/multifd.md), for
tests/multifd/test_wire.c and the seeds of fuzz/fuzz_multifd_hdr.c.

  record-qemu-multifd-fixtures.py [--out DIR] [--qemu PATH] [--only none,zlib,zstd]

QEMU runs `-M none` with 1 MiB of file-backed RAM (block "mem",
spec/qemu-7.2-lab.md section 1) whose content this script makes from a
fixed seed: zero pages, random pages, text-like pages, and one page that is
zero but for its last byte. For each multifd-compression (none, zlib, zstd;
levels 1) with multifd on and multifd-channels 2, the script listens on
127.0.0.1 itself, has QEMU migrate there, and keeps every accepted
connection's bytes until EOF (nothing is ever sent back: a 7.2 precopy
source without return-path only writes). The first accepted connection is
the main stream, every later one a channel (spec/multifd.md section 2).
Writes into DIR (default tests/multifd/fixtures/qemu-7.2):

  ram.bin                 the RAM content (the same for every method)
  <comp>/main.bin         the main channel (QEVM stream: zero pages, EOS, devices)
  <comp>/chan-<id>.bin    a channel: 64-byte initial packet, then packets;
                          <id> is the id of its initial packet

QEMU runs with -uuid 12345678-9abc-def0-1234-56789abcdef0 (the spec's
example), so the initial packets carry that uuid.
Exit status: 0 written, 1 failure, 77 QEMU not installed.
"""
import argparse
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "qmp"))
import qmp_py  # noqa: E402
from qmp_py import Fail, check  # noqa: E402

PAGE = 4096
RAM_SIZE = 1 << 20
CHANNELS = 2
UUID = "12345678-9abc-def0-1234-56789abcdef0"
MULTIFD_MAGIC = 0x11223344
COMPRESSIONS = ["none", "zlib", "zstd"]
WORDS = ("migration page channel packet header offset block stream sync zero "
         "source destination qemu vmig multifd compress level ram guest the a of "
         "to and in is that for it with as on").split()


def make_ram():
    """1 MiB in 256 pages, per group of 16: 7 zero, 1 random, 8 text-like;
    page 3 is zero but for its last byte (not a zero page). 144 pages go
    on the channels: more than one full 128-page packet."""
    rng = random.Random(72)
    out = bytearray()
    for i in range(RAM_SIZE // PAGE):
        kind = i % 16
        if i == 3:
            page = bytes(PAGE - 1) + b"\x01"
        elif kind < 7:
            page = bytes(PAGE)
        elif kind == 7:
            page = bytes(rng.getrandbits(8) for _ in range(PAGE))
        else:
            text = []
            n = 0
            while n < PAGE:
                line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
                line = "%04d %s.\n" % (i, line.capitalize())
                text.append(line)
                n += len(line)
            page = "".join(text).encode()[:PAGE]
        out += page
    return bytes(out)


class Recorder:
    """A TCP listener that accepts connections and keeps each one's bytes,
    in accept order, until EOF."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(CHANNELS + 4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.conns = []  # [bytearray, done event]
        self.errors = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError as e:
                self.errors.append("accept: %s" % e)
                return
            buf, done = bytearray(), threading.Event()
            self.conns.append((buf, done))
            threading.Thread(target=self._read, args=(c, buf, done), daemon=True).start()

    def _read(self, c, buf, done):
        try:
            while True:
                chunk = c.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
        except OSError as e:
            self.errors.append("recv: %s" % e)
        finally:
            c.close()
            done.set()

    def all_done(self, want, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.conns) >= want and all(d.is_set() for _, d in self.conns):
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def record_one(qemu, d, ram_path, comp):
    """Migrate to our own listener with multifd-compression comp; returns
    (main bytes, {id: channel bytes})."""
    sock = os.path.join(d, "qmp-%s.sock" % comp)
    argv = [qemu, "-nodefaults", "-display", "none", "-uuid", UUID,
            "-object", "memory-backend-file,id=mem,size=1M,mem-path=%s,share=on" % ram_path,
            "-M", "none,memory-backend=mem",
            "-qmp", "unix:%s,server=on,wait=off" % sock]
    rec = Recorder()
    try:
        with qmp_py.Proc(argv, [sock], d) as p:
            c = p.client()
            c.ok("migrate-set-capabilities",
                 {"capabilities": [{"capability": "multifd", "state": True}]})
            c.ok("migrate-set-parameters",
                 {"multifd-channels": CHANNELS, "multifd-compression": comp,
                  "multifd-zlib-level": 1, "multifd-zstd-level": 1,
                  "max-bandwidth": 100 << 30})
            c.ok("migrate", {"uri": "tcp:127.0.0.1:%d" % rec.port})
            info = qmp_py.wait_migrate_status(c, ["completed", "failed", "cancelled"])
            check(info["status"] == "completed",
                  "%s: migration %s: %s\n%s" % (comp, info["status"], info.get("error-desc"),
                                                 p.stderr_text()))
            # 7.2 closes the channels in its cleanup after "completed": wait for
            # EOF on all of them; quitting QEMU closes whatever is left.
            ended = rec.all_done(1 + CHANNELS, 10)
            c.execute("quit")
            p.wait()
            check(ended or rec.all_done(1 + CHANNELS, 10),
                  "%s: %d connections, not all ended" % (comp, len(rec.conns)))
    finally:
        rec.close()
    check(not rec.errors, "%s: %s" % (comp, "; ".join(rec.errors)))
    check(len(rec.conns) == 1 + CHANNELS,
          "%s: %d connections, expected %d" % (comp, len(rec.conns), 1 + CHANNELS))
    main = bytes(rec.conns[0][0])
    check(main[:4] == b"QEVM", "%s: first connection is not the main stream" % comp)
    chans = {}
    for buf, _ in rec.conns[1:]:
        check(len(buf) >= 64, "%s: channel shorter than its initial packet" % comp)
        magic, version = struct.unpack(">II", buf[:8])
        check(magic == MULTIFD_MAGIC and version == 1,
              "%s: channel starts with %08x %08x" % (comp, magic, version))
        cid = buf[24]
        check(cid < CHANNELS and cid not in chans, "%s: channel id %d" % (comp, cid))
        chans[cid] = bytes(buf)
    return main, chans


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures", "qemu-7.2"))
    ap.add_argument("--qemu", default=qmp_py.qemu_binary())
    ap.add_argument("--only", default=",".join(COMPRESSIONS))
    a = ap.parse_args()
    prog = os.path.basename(sys.argv[0])
    if not a.qemu:
        print("%s: qemu-system-x86_64 not installed" % prog, file=sys.stderr)
        return 77
    ver = subprocess.run([a.qemu, "--version"], capture_output=True, text=True).stdout
    if "version 7.2" not in ver:
        print("%s: %s is not QEMU 7.2: %s" % (prog, a.qemu, ver.splitlines()[0]),
              file=sys.stderr)
        return 1
    comps = [x for x in a.only.split(",") if x]
    for x in comps:
        if x not in COMPRESSIONS:
            print("%s: unknown compression %r" % (prog, x), file=sys.stderr)
            return 1
    ram = make_ram()
    d = qmp_py.tmpdir()
    results = {}
    try:
        for comp in comps:
            # A fresh file each time: what QEMU sends must come from this content.
            ram_path = os.path.join(d, "ram-%s" % comp)
            with open(ram_path, "wb") as f:
                f.write(ram)
            results[comp] = record_one(a.qemu, d, ram_path, comp)
            with open(ram_path, "rb") as f:
                check(f.read() == ram, "%s: the RAM file changed" % comp)
    except Fail as e:
        print("%s: %s" % (prog, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "ram.bin"), "wb") as f:
        f.write(ram)
    for comp, (main_bytes, chans) in results.items():
        cd = os.path.join(a.out, comp)
        shutil.rmtree(cd, ignore_errors=True)
        os.makedirs(cd)
        with open(os.path.join(cd, "main.bin"), "wb") as f:
            f.write(main_bytes)
        for cid, data in sorted(chans.items()):
            with open(os.path.join(cd, "chan-%d.bin" % cid), "wb") as f:
                f.write(data)
        print("%s: main %d bytes, %s" % (comp, len(main_bytes), ", ".join(
            "chan-%d %d bytes" % (cid, len(data)) for cid, data in sorted(chans.items()))))
    print("recorded %s from %s into %s" % (",".join(comps), ver.splitlines()[0], a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
