#!/usr/bin/env python3
"""qemu_stream.py - drive QEMU 7.2 over QMP (unix socket) to save migration
streams to files: the interop tests and scripts/make-seed-corpus.sh use it
(the migration tests' mig_py.py finds and starts QEMU with its helpers).

Usage as a program:
  qemu_stream.py none  --ram FILE --size 64M --out STREAM   (RAM file must exist)
  qemu_stream.py pc    --out STREAM [--mem 32M] [--minimal [--xbzrle]]
Exit status: 0 saved, 1 failed, 77 QEMU is not installed.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


def qemu_path():
    """The QEMU binary, or None when it is not installed."""
    return shutil.which(QEMU)


def die_with_parent():
    """In the child: get SIGKILL when the test that started QEMU dies, so an
    interrupted test (a ctest timeout) leaves no QEMU behind."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def kvm_usable():
    """True when /dev/kvm can be opened read-write (else we run TCG)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


class QMP:
    """A minimal QMP client over a unix socket, with a deadline on every read."""

    def __init__(self, path, deadline):
        self.deadline = deadline
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise TimeoutError("QMP socket %s did not appear" % path)
                time.sleep(0.02)
        self.buf = b""
        self._read()  # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("QMP did not answer in time")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError("%s: %s" % (name, reply["error"].get("desc")))
            return reply.get("return")

    def close(self):
        self.sock.close()


def _size(text):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1].upper() in mult:
        return int(text[:-1]) * mult[text[-1].upper()]
    return int(text)


def save_stream(qemu_args, out, timeout=60, caps=None, stop=True, params=None, during=None):
    """Start QEMU with qemu_args (plus QMP), migrate to `exec:cat > out`, wait
    for completion, quit. params: migration parameters (default: max-bandwidth
    100 GiB/s); during(qmp): called once the migration has started. Raises on
    failure; kills only the QEMU it started."""
    tmp = tempfile.mkdtemp(prefix="vmig-qmp-")
    sock = os.path.join(tmp, "qmp.sock")
    log = os.path.join(tmp, "qemu.log")
    argv = [qemu_path(), "-display", "none", "-accel", "kvm" if kvm_usable() else "tcg",
            "-qmp", "unix:%s,server=on,wait=off" % sock] + list(qemu_args)
    deadline = time.monotonic() + timeout
    with open(log, "wb") as logf:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                preexec_fn=die_with_parent)
    qmp = None
    try:
        qmp = QMP(sock, deadline)
        if stop:
            qmp.cmd("stop")
        if caps:
            qmp.cmd("migrate-set-capabilities",
                    capabilities=[{"capability": c, "state": True} for c in caps])
        qmp.cmd("migrate-set-parameters", **(params or {"max-bandwidth": 100 << 30}))
        qmp.cmd("migrate", uri="exec:cat > '%s'" % out.replace("'", "'\\''"))
        if during:
            during(qmp)
        while True:
            st = qmp.cmd("query-migrate").get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise RuntimeError("migration %s" % st)
            if time.monotonic() > deadline:
                raise TimeoutError("migration did not complete in %ss" % timeout)
            time.sleep(0.02)
        qmp.cmd("quit")
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    except Exception as e:
        with open(log, "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
        raise RuntimeError("%s (QEMU log: %s)" % (e, tail.strip() or "empty")) from None
    finally:
        if qmp:
            qmp.close()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def save_none(ram_file, size, out, caps=None, timeout=60):
    """-M none with a file-backed RAM backend (block name "mem")."""
    args = ["-nodefaults", "-object",
            "memory-backend-file,id=mem,size=%d,mem-path=%s,share=on" % (size, ram_file),
            "-M", "none,memory-backend=mem"]
    save_stream(args, out, caps=caps, timeout=timeout)


def save_pc_xbzrle(ram_file, size, out, bandwidth=2000000, timeout=60, compress=False):
    """-M pc running (SeaBIOS, then iPXE on the default e1000 keep writing
    memory) with its RAM in a shared file, capability xbzrle and a low
    bandwidth so that pages dirtied again after the first pass are sent as
    XBZRLE records. The file holds the final RAM once the migration is done.
    compress: capability compress too, which QEMU uses in the first pass only
    (ram.md §7), so the stream has COMPRESS_PAGE records, then XBZRLE ones."""
    args = ["-M", "pc,memory-backend=ram0", "-m", "%dM" % (size >> 20), "-object",
            "memory-backend-file,id=ram0,size=%d,mem-path=%s,share=on" % (size, ram_file)]
    caps = ["xbzrle", "compress"] if compress else ["xbzrle"]
    save_stream(args, out, stop=False, caps=caps, timeout=timeout,
                params={"max-bandwidth": bandwidth, "xbzrle-cache-size": 8 << 20})


# A 64 KiB BIOS whose reset vector (offset 0xfff0) loops on `inc word [0x500]`
# (ff 06 00 05, then jmp short back: eb fa): the guest keeps one RAM page
# changing, which is what XBZRLE encodes.
LOOP_BIOS_CODE = bytes([0xFF, 0x06, 0x00, 0x05, 0xEB, 0xFA])


def save_pc(out, mem="32M", timeout=60, minimal=False, xbzrle=False):
    """-M pc -S with its default devices plus an e1000 on -netdev user (slirp).
    minimal: -nodefaults and a 64 KiB BIOS image that is all zero (the guest
    never runs under -S), for a small stream that still has every pc device.
    xbzrle (with minimal): the guest runs a BIOS that keeps writing one page,
    capability xbzrle and a low bandwidth, so the stream has XBZRLE pages."""
    if not minimal:
        args = ["-M", "pc", "-m", mem, "-S",
                "-netdev", "user,id=n0", "-device", "e1000,netdev=n0"]
        save_stream(args, out, stop=False, timeout=timeout)
        return
    tmp = tempfile.mkdtemp(prefix="vmig-bios-")
    try:
        bios = os.path.join(tmp, "bios.bin")
        image = bytearray(64 << 10)
        if xbzrle:
            image[0xFFF0:0xFFF0 + len(LOOP_BIOS_CODE)] = LOOP_BIOS_CODE
        with open(bios, "wb") as f:
            f.write(image)
        args = ["-nodefaults", "-M", "pc", "-m", mem, "-bios", bios, "-netdev", "user,id=n0"]
        if xbzrle:
            # A downtime limit of 1 ms keeps the migration iterating (the page
            # the guest writes is always dirty again), so after the first
            # passes that page goes as XBZRLE records; then a normal limit
            # lets it complete.
            def finish(qmp):
                time.sleep(1.0)
                qmp.cmd("migrate-set-parameters", **{"downtime-limit": 300})
            save_stream(args, out, stop=False, timeout=timeout, caps=["xbzrle"],
                        params={"max-bandwidth": 50000, "downtime-limit": 1,
                                "xbzrle-cache-size": 1 << 20}, during=finish)
        else:
            save_stream(args + ["-S"], out, stop=False, timeout=timeout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("machine", choices=["none", "pc"])
    ap.add_argument("--ram", help="-M none: RAM file (created zero-filled if missing)")
    ap.add_argument("--size", default="64M")
    ap.add_argument("--mem", default="32M", help="-M pc: guest RAM size")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minimal", action="store_true",
                    help="-M pc: -nodefaults and a zero 64 KiB BIOS (small stream)")
    ap.add_argument("--xbzrle", action="store_true",
                    help="-M pc --minimal: a guest that writes memory, xbzrle on")
    ap.add_argument("--cap", action="append", help="migration capability to enable")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if not qemu_path():
        print("SKIP: %s is not installed" % QEMU, file=sys.stderr)
        return SKIP
    try:
        if a.machine == "none":
            size = _size(a.size)
            if not os.path.exists(a.ram):
                with open(a.ram, "wb") as f:
                    f.truncate(size)
            save_none(os.path.abspath(a.ram), size, os.path.abspath(a.out), caps=a.cap,
                      timeout=a.timeout)
        else:
            save_pc(os.path.abspath(a.out), mem=a.mem, timeout=a.timeout, minimal=a.minimal,
                    xbzrle=a.xbzrle)
    except Exception as e:  # one clear line, exit 1
        print("qemu_stream: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
