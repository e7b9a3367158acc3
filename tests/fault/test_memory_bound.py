#!/usr/bin/env python3
"""test_memory_bound.py - a vmig-vmm destination's memory stays within its
RAM plus a fixed bound, whatever the incoming stream: good migrations with
every RAM encoding, and hostile streams that announce huge sizes.

The destination is `vmig-vmm --machine none --memory 64M --prealloc`:
anonymous RAM, every page resident from the start, so its RAM costs the same
before and after the load and any growth of the peak RSS is the engine's own
(buffers, codec state, threads). Each run first starts a fresh idle vmig-vmm
with --prealloc and reads its VmHWM (RAM + base overhead: code, libraries,
loop, monitor); the destination's peak RSS minus that baseline must stay
within BOUND.

How the peak is read:
  - a destination that completed: VmHWM from /proc/PID/status while it is
    alive, after the migration ended (checked again, as ru_maxrss from
    wait4(), after `quit`);
  - a destination whose load failed exits at once with status 1 (as QEMU
    7.2 does; there is no moment to ask QMP): its peak is ru_maxrss of
    wait4(), the kernel's record of VmHWM at exit, and its error is the text
    of "load of migration failed: MSG" on stderr (the engine's incoming
    error, the one query-migrate gives as error-desc; error-desc is checked
    too when a query got in before the exit).

  test_memory_bound.py CASE --vmm PATH
CASE:
  precopy        vmig-vmm source with 64 MiB of random RAM -> destination,
                 tcp on 127.0.0.1, no capability
  compress       the same with compress on both sides, compress-threads 4,
                 decompress-threads 4 (COMPRESS_PAGE records: zlib per page)
  xbzrle         the source runs --workload random-writes and has xbzrle on
                 (32 MiB/s until the XBZRLE cache has hits, then unlimited):
                 several passes, XBZRLE pages decoded by the destination,
                 which has no capability and no cache of its own
  multifd-zstd   multifd, 4 channels, multifd-compression zstd on both sides
  multifd-zlib   the same, zlib
  hostile        hand-written streams through --incoming file:PATH, each
                 refused with an error: a package announcing 16 MiB followed
                 by 100 bytes, a package announcing 0xffffffff bytes, a RAM
                 section announcing a block "mem" of 2^62 bytes, a command of
                 65535 bytes none of which is sent, an XBZRLE delta of 65535
                 bytes; and a valid stream (RAM list + EOF) that loads, the
                 control
  fuzz-corpus    every file of fuzz/corpus/fuzz_incoming/ (real demo streams and
                 what the fuzzer grew from them) as an incoming file of a
                 demo-machine destination with 64 KiB of RAM, as the harness
                 has, one destination each: it completes (some must) or
                 fails with an error, within the bound
For the good cases the destination ends completed and running, its RAM
(read through /proc/PID/mem) equal to the source's frozen memory file; the
source's counters show that the encoding was used. Every run prints the
baseline, the peak and the growth.
Exit status: 0 pass, 1 fail, 77 skip.
"""
import json
import os
import shutil
import struct
import sys
import time

sys.dont_write_bytecode = True
_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.normpath(os.path.join(_HERE, "..", ".."))
sys.path.insert(0, os.path.join(_HERE, "..", "migration"))
import mig_py as M  # noqa: E402
from mig_py import Fail, check  # noqa: E402

MEM = "64M"
RAM_BYTES = M.parse_size(MEM)
KiB = 1 << 10
MiB = M.MiB

# What the destination may use beyond its RAM and the idle process's own
# overhead (the baseline), at its peak, for any stream of these cases:
#   - the stream's read buffer (1 MiB) and a package being loaded (grown as
#     its bytes arrive: at most 16 MiB, never more than was sent);
#   - compress: the decompression batches in flight (decompress-threads of
#     them, each a batch of pages and its zlib state);
#   - multifd: per channel, a packet's compressed payload (at most 1 MiB)
#     and the codec's state: a zlib inflate window (32 KiB), or a zstd
#     decoder whose window is what the sender chose, at most 32 MiB
#     (ZSTD_d_windowLogMax 25); the level-1 encoder of these cases, QEMU
#     7.2's only one, uses 512 KiB windows;
#   - the libuv thread pool's threads (their stacks as far as touched) and
#     glibc's per-thread malloc arenas.
# Measured growth over the baseline (8 runs each, this machine): precopy and
# xbzrle about 1 MiB (the read buffer), multifd-zlib 2.5 MiB, compress 3.5
# MiB, multifd-zstd 5.5 MiB (4 x ~1.1 MiB per channel + the read buffer);
# the hostile streams and the fuzz corpora within 0.4 MiB of the baseline
# (refused before reading much). 12 MiB is twice the largest, rounded up.
# A sender using large zstd windows adds up to ZSTD_WINDOW_MAX per channel
# of the destination's own multifd-channels (case multifd-zstd-20): a vmig
# source at multifd-zstd-level 19 uses 8 MiB windows, 20 uses 32 MiB.
BOUND = 12 * MiB

IDLE_TIMEOUT = 15.0


# ---- reading a process's memory ---------------------------------------------------------

def status_kib(pid, key):
    """A "Vm..." line of /proc/PID/status, in KiB; None when missing (a
    zombie has none)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


def alive(vm):
    """The process has not exited; a dead one is left waitable (WNOWAIT),
    so that try_reap() still gets its rusage."""
    if vm.proc.returncode is not None:
        return False
    return os.waitid(os.P_PID, vm.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def hwm_alive(vm):
    """VmHWM (KiB) of a live process: read, then checked still alive (the
    value is then the process's own, not a zombie's)."""
    check(alive(vm), "%s exited before its VmHWM was read: %s" % (vm.name, vm.stderr_text()))
    v = status_kib(vm.proc.pid, "VmHWM")
    check(v is not None and alive(vm), "%s: no VmHWM in /proc/%d/status" %
          (vm.name, vm.proc.pid))
    return v


def try_reap(vm):
    """wait4(WNOHANG): None while the process runs, else (exit code,
    ru_maxrss KiB). The Popen object is told the exit code. Nothing else
    may reap the process (Popen.poll() would, losing its rusage): the VM's
    own connect() and exited() are not used on these processes."""
    if vm.proc.returncode is not None:
        check(vm.reaped is not None, "%s was reaped without its rusage" % vm.name)
        return vm.reaped
    pid, status, ru = os.wait4(vm.proc.pid, os.WNOHANG)
    if pid == 0:
        return None
    vm.proc.returncode = os.waitstatus_to_exitcode(status)
    vm.reaped = (vm.proc.returncode, ru.ru_maxrss)
    return vm.reaped


def reap(vm, timeout):
    deadline = time.monotonic() + timeout
    while True:
        r = try_reap(vm)
        if r:
            return r
        if time.monotonic() > deadline:
            raise M.TimedOut("%s did not exit within %gs" % (vm.name, timeout))
        time.sleep(0.005)


def quit_reap(vm, timeout=15.0):
    """QMP quit; exit status 0; ru_maxrss (KiB) at exit."""
    vm.ok("quit")
    rc, maxrss = reap(vm, timeout)
    check(rc == 0, "%s: exit status %d after quit: %s" % (vm.name, rc, vm.stderr_text()))
    return maxrss


def ram_mapping(pid):
    """(start, end) of the guest RAM in /proc/PID/smaps: the one private
    anonymous read-write mapping of exactly the RAM's size with MAP_NORESERVE
    (VmFlags "nr")."""
    found = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                anon = len(fields) == 5 and fields[4] == "0"
                cur = (lo, hi) if anon and fields[1] == "rw-p" and hi - lo == RAM_BYTES else None
            elif fields[0] == "VmFlags:" and cur and "nr" in fields[1:]:
                found.append(cur)
    check(len(found) == 1, "pid %d: %d mappings look like the guest RAM: %r" %
          (pid, len(found), found))
    return found[0]


def check_ram_equals(vm, src_ram):
    """The destination's anonymous RAM, read through /proc/PID/mem, equals the
    source's memory file (first differing page named)."""
    lo, _ = ram_mapping(vm.proc.pid)
    with open("/proc/%d/mem" % vm.proc.pid, "rb", buffering=0) as m, open(src_ram, "rb") as s:
        m.seek(lo)
        off = 0
        while off < RAM_BYTES:
            a, b = m.read(MiB), s.read(MiB)
            check(len(a) == MiB and len(b) == MiB, "short read at %d" % off)
            if a != b:
                i = next(i for i in range(MiB) if a[i] != b[i])
                raise Fail("%s: RAM differs from the source's at byte %d (page %d)" %
                           (vm.name, off + i, (off + i) // 4096))
            off += MiB


# ---- processes ---------------------------------------------------------------------------

def baseline(a, d, mem=MEM, extra=()):
    """VmHWM (KiB) of a fresh idle vmig-vmm with its RAM preallocated."""
    vm = M.start_vmm(a, d, "idle", mem, extra=["--prealloc"] + list(extra))
    check(vm.runstate() == "running", "idle VM not running")
    vm.ok("query-migrate")
    hwm = hwm_alive(vm)
    rss = status_kib(vm.proc.pid, "RssAnon")
    check(rss is not None and rss * KiB >= M.parse_size(mem),
          "idle VM: RssAnon %s KiB < RAM: --prealloc did not populate" % rss)
    vm.quit()
    return hwm


def start_dest(a, d, name, incoming, connect=True, mem=MEM, extra=()):
    sock = os.path.join(d, "%s.qmp" % name)
    if os.path.exists(sock):
        os.unlink(sock)  # a previous destination's, had it not removed it
    vm = M.start_vmm(a, d, name, mem, incoming=incoming, extra=["--prealloc"] + list(extra),
                     connect=connect)
    vm.reaped = None
    return vm


def judge(what, base, peak, how, bound=BOUND):
    growth = peak - base
    print("%s: baseline VmHWM %d KiB, peak %d KiB (%s), growth %d KiB (%.2f MiB), "
          "bound %d MiB" % (what, base, peak, how, growth, growth / 1024, bound // MiB))
    sys.stdout.flush()
    check(growth * KiB <= bound, "%s: the destination's peak RSS grew %d KiB over the idle "
          "baseline, more than the bound %d KiB" % (what, growth, bound // KiB))
    return growth


# ---- good migrations --------------------------------------------------------------------

def caps_params(vm, caps, params):
    if caps:
        vm.set_caps(**caps)
        got = {c["capability"]: c["state"] for c in vm.ok("query-migrate-capabilities")}
        for k in caps:
            check(got.get(k.replace("_", "-")) is True, "%s: %s not on: %r" % (vm.name, k, got))
    if params:
        vm.set_params(**params)


def good(a, d, what, src_caps=None, src_params=None, dst_caps=None, dst_params=None,
         workload=False, used=None, content="random", bound=BOUND):
    base = baseline(a, d)
    src_ram = os.path.join(d, "src.ram")
    M.make_ram(src_ram, MEM, content)
    uri = M.tcp_uri()
    dst = start_dest(a, d, "dst", "defer")
    caps_params(dst, dst_caps, dst_params)
    dst.ok("migrate-incoming", {"uri": uri})
    extra = ["--workload", "random-writes", "--dirty-rate", M.XBZRLE_DIRTY_RATE] if workload else []
    src = M.start_vmm(a, d, "src", MEM, src_ram, extra=extra)
    caps_params(src, src_caps, src_params)
    if workload:
        M.migrate_until_xbzrle_hits(src, uri, timeout=40)
    else:
        M.migrate(src, uri)
    info = M.wait_mig(src, "completed", timeout=60)
    M.wait_runstate(src, "postmigrate")
    dinfo = M.wait_mig(dst, "completed", timeout=30)
    M.wait_runstate(dst, "running")
    peak = hwm_alive(dst)
    check(not dinfo.get("error-desc"), "destination completed with an error: %r" % dinfo)
    ram = info.get("ram", {})
    print("%s: source sent %d bytes in %d passes, normal %d, %s" %
          (what, ram.get("transferred", 0), ram.get("dirty-sync-count", 0),
           ram.get("normal", 0), used(info) if used else ""))
    check_ram_equals(dst, src_ram)
    # The RAM was read through /proc/PID/mem: it does not count in the
    # destination's RSS (the pages were resident already).
    growth = judge(what, base, peak, "VmHWM after completion", bound)
    at_exit = quit_reap(dst)
    print("%s: ru_maxrss at exit %d KiB (growth %d KiB)" % (what, at_exit, at_exit - base))
    judge(what + " (through quit)", base, max(peak, at_exit), "max of VmHWM and ru_maxrss",
          bound)
    src.quit()
    return growth


def used_compress(info):
    c = info.get("compression", {})
    check(c.get("pages", 0) > 0, "no page was compressed: %r" % c)
    return "compression %s" % json.dumps(c)


def used_multifd(info):
    mfb = info.get("ram", {}).get("multifd-bytes", 0)
    check(mfb >= RAM_BYTES, "multifd-bytes %d: the pages did not go on the channels" % mfb)
    return "multifd-bytes %d" % mfb


def used_xbzrle(info):
    x = info.get("xbzrle-cache", {})
    check(x.get("pages", 0) > 0, "no XBZRLE page was sent: %r" % x)
    return "xbzrle-cache %s" % json.dumps(x)


def case_precopy(a, d):
    good(a, d, "precopy")


def case_compress(a, d):
    good(a, d, "compress", src_caps={"compress": True}, src_params={"compress-threads": 4},
         dst_caps={"compress": True}, dst_params={"decompress-threads": 4},
         used=used_compress)


def case_xbzrle(a, d):
    good(a, d, "xbzrle", src_caps={"xbzrle": True},
         src_params={"xbzrle-cache-size": RAM_BYTES}, workload=True, used=used_xbzrle)


def multifd(a, d, method):
    p = {"multifd-channels": 4, "multifd-compression": method}
    good(a, d, "multifd-" + method, src_caps={"multifd": True}, src_params=p,
         dst_caps={"multifd": True}, dst_params=p, used=used_multifd)


# The one allowance on top of BOUND: a zstd sender picks its window (level
# 20: 32 MiB, the most a vmig decoder accepts, ZSTD_d_windowLogMax 25), and
# each of the destination's own multifd-channels fills one as data arrives
# (plus its ~1 MiB of buffers). 2 channels at level 20, 32 MiB of
# compressible pages each: measured growth ~61 MiB.
ZSTD_WINDOW_MAX = 32 * MiB


def case_multifd_zstd_20(a, d):
    ch = 2
    p = {"multifd-channels": ch, "multifd-compression": "zstd"}
    good(a, d, "multifd-zstd-20", src_caps={"multifd": True},
         src_params=dict(p, **{"multifd-zstd-level": 20}), dst_caps={"multifd": True},
         dst_params=p, used=used_multifd, content=0x5a,
         bound=BOUND + ch * (ZSTD_WINDOW_MAX + 1 * MiB))


# ---- hostile streams --------------------------------------------------------------------

def h(s):
    return bytes.fromhex(s.replace(" ", ""))


# The stream's beginning: QEVM, version 3, configuration "none" (the
# machine vmig-vmm --machine none reports, as QEMU's -M none).
HDR = h("5145564d 00000003 07 00000004 6e6f6e65")
# SECTION_START of "ram" (section 2, instance 0, version 4), then its
# total size with RAM_SAVE_FLAG_MEM_SIZE.
RAM_START = h("01 00000002 03 72616d 00000000 00000004")
# The block list as this destination has it ("mem", 64 MiB), EOS, footer.
RAM_SETUP = (RAM_START + struct.pack(">Q", RAM_BYTES | 4) + h("03 6d656d") +
             struct.pack(">Q", RAM_BYTES) + h("0000000000000010 7e 00000002"))

HOSTILE = [
    # name, bytes, what the error says
    ("package-16m-100-bytes", HDR + h("08 0007 0004 01000000") + bytes(100), "truncated"),
    ("package-4g", HDR + h("08 0007 0004 ffffffff"), "Unreasonably large packaged state"),
    ("ram-block-2e62", HDR + RAM_START + h("4000000000000004 03 6d656d 4000000000000000"),
     "Length mismatch"),
    ("command-65535-none-sent", HDR + h("08 0006 ffff"), "truncated"),
    ("xbzrle-delta-65535", HDR + RAM_SETUP + h("02 00000002 0000000000000040 03 6d656d 01 ffff"),
     "XBZRLE"),
]
VALID = HDR + RAM_SETUP + h("00")


def threads(pid):
    """Where a process's threads are (for a report of one that hangs)."""
    out = []
    try:
        for t in sorted(os.listdir("/proc/%d/task" % pid), key=int):
            base = "/proc/%d/task/%s/" % (pid, t)
            with open(base + "comm") as f:
                comm = f.read().strip()
            with open(base + "stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(base + "wchan") as f:
                wchan = f.read().strip()
            out.append("%s %s %s %s" % (t, comm, state, wchan))
    except OSError:
        pass
    return "; threads: " + ", ".join(out) if out else ""


def load_file(a, d, name, path, timeout=20.0, label=None, mem=MEM, extra=(),
              with_exit_rss=True):
    """A destination started with --incoming file:PATH, until its load ended:
    ("failed", peak KiB, message, error-desc or None) after it exited with 1,
    or ("completed", peak KiB, "", None) once it runs with the RAM loaded
    (then quit)."""
    what = label or name
    vm = start_dest(a, d, name, "file:" + path, connect=False, mem=mem, extra=extra)
    deadline = time.monotonic() + timeout
    desc = None
    try:
        while True:
            r = try_reap(vm)
            if r:
                rc, maxrss = r
                err = vm.stderr_text()
                check(rc == 1, "%s: exit status %d, want 1 after a failed load: %r" %
                      (what, rc, err))
                tag = "load of migration failed: "
                check(tag in err, "%s: no %r on stderr: %r" % (what, tag, err))
                msg = err.split(tag, 1)[1].split("\n", 1)[0].strip()
                check(msg, "%s: empty error" % what)
                if desc is not None:
                    check(desc == msg, "%s: error-desc %r but stderr %r" % (what, desc, msg))
                return "failed", maxrss, msg, desc
            if time.monotonic() > deadline:
                raise M.TimedOut("%s: the load neither ended nor failed within %gs (%s)%s" %
                                 (what, timeout, vm.stderr_text(), threads(vm.proc.pid)))
            if vm.qmp is None and os.path.exists(vm.sock):
                try:
                    # Not vm.connect(): it polls (reaps) the process.
                    vm.qmp = M.qmp_py.Client(vm.sock, timeout=5.0)
                except (Fail, OSError, ValueError):
                    vm.qmp = None  # it left meanwhile: reaped on the next turn
                    continue
            if vm.qmp is not None:
                try:
                    info = vm.mig()
                except (Fail, OSError, ValueError):
                    time.sleep(0.005)  # the connection closed: it is leaving
                    continue
                st = info.get("status")
                if st == "failed":
                    desc = info.get("error-desc")
                    check(desc, "%s: failed without error-desc: %r" % (what, info))
                elif st == "completed":
                    peak = hwm_alive(vm)
                    # Running, or the state the stream's global state
                    # gives (demo-paused: a source started with -S).
                    rs = vm.runstate()
                    check(rs in ("running", "paused", "prelaunch"),
                          "%s: completed but %s" % (what, rs))
                    at_exit = quit_reap(vm)
                    return "completed", max(peak, at_exit) if with_exit_rss else peak, "", None
            time.sleep(0.005)
    finally:
        vm.kill()
        M._procs.remove(vm)


def case_hostile(a, d):
    base = baseline(a, d)
    worst = 0
    for name, data, want in HOSTILE + [("valid-control", VALID, None)]:
        path = os.path.join(d, name + ".stream")
        with open(path, "wb") as f:
            f.write(data)
        end, peak, msg, desc = load_file(a, d, name, path)
        if want is None:
            check(end == "completed", "%s: %s (%s)" % (name, end, msg))
        else:
            check(end == "failed", "%s: the destination %s, want refused" % (name, end))
            check(want in msg, "%s: error %r does not say %r" % (name, msg, want))
        print("%s: %s%s%s" % (name, end, ": " + msg if msg else "",
                              " (error-desc seen)" if desc else ""))
        worst = max(worst, judge(name, base, peak, "ru_maxrss" if end == "failed" else
                                 "VmHWM, ru_maxrss"))
    print("hostile: largest growth %d KiB (%.2f MiB)" % (worst, worst / 1024))


# fuzz_incoming's corpus is made for the demo machine with 64 KiB of RAM
# (fuzz/fuzz_incoming.c): real demo streams and what the fuzzer grew from
# them, so the loads get past the configuration into RAM and devices. Every
# file is replayed (~200, one process each).
CORPUS = "fuzz_incoming"
DEMO_MEM = "64K"
DEMO = ("--machine", "demo", "--accel", "sim", "--workload", "idle")


def case_fuzz_corpus(a, d):
    # Two baselines, one per way of measuring: VmHWM of an idle destination
    # for loads that complete (read while alive), and ru_maxrss of a load
    # refused at its first byte for those that fail (the process exits).
    # ru_maxrss also counts the Python process it was forked from (~12 MiB,
    # more than this 64 KiB machine uses), so for failed loads it only sees
    # growth beyond that; the 64 MiB cases above see it all.
    base = baseline(a, d, DEMO_MEM, DEMO)
    empty = os.path.join(d, "empty")
    open(empty, "wb").close()
    end, base_exit, msg, _ = load_file(a, d, "dst", empty, label="empty stream",
                                       mem=DEMO_MEM, extra=DEMO)
    check(end == "failed", "an empty stream loaded")
    print("fuzz-corpus: baselines VmHWM %d KiB (idle), ru_maxrss %d KiB (refused at once; "
          "demo machine, %s), bound %d MiB" % (base, base_exit, DEMO_MEM, BOUND // MiB))
    src = os.path.join(_ROOT, "fuzz", "corpus", CORPUS)
    names = sorted(os.listdir(src)) if os.path.isdir(src) else []
    if not names:
        raise M.Skip("no fuzz corpus in %s" % src)
    t0 = time.monotonic()
    results = []
    counts = {}
    for n in names:
        # A copy: a fuzzer may be rewriting the corpus meanwhile.
        path = os.path.join(d, "input")
        shutil.copyfile(os.path.join(src, n), path)
        end, peak, msg, _ = load_file(a, d, "dst", path, label=n, mem=DEMO_MEM, extra=DEMO,
                                      with_exit_rss=False)
        results.append((peak - (base if end == "completed" else base_exit), peak, n, end, msg))
        counts[end] = counts.get(end, 0) + 1
    print("fuzz-corpus: replayed %d files in %.1fs: %s" %
          (len(names), time.monotonic() - t0,
           ", ".join("%s %d" % kv for kv in sorted(counts.items()))))
    # The seeds are real streams: some loads must complete, or the replay
    # only exercised the header.
    check(counts.get("completed", 0) > 0, "no corpus file loaded completely: %r" % counts)
    results.sort(reverse=True)
    for growth, peak, n, end, msg in results[:5]:
        print("  largest: %s: %s, peak %d KiB, growth %d KiB%s" %
              (n, end, peak, growth, " (%s)" % msg[:80] if msg else ""))
    growth, peak, n, end, msg = results[0]
    judge("fuzz-corpus %s" % n, base if end == "completed" else base_exit, peak,
          "ru_maxrss" if end == "failed" else "VmHWM")


CASES = {
    "precopy": case_precopy,
    "compress": case_compress,
    "xbzrle": case_xbzrle,
    "multifd-zstd": lambda a, d: multifd(a, d, "zstd"),
    "multifd-zlib": lambda a, d: multifd(a, d, "zlib"),
    "multifd-zstd-20": case_multifd_zstd_20,
    "hostile": case_hostile,
    "fuzz-corpus": case_fuzz_corpus,
}

if __name__ == "__main__":
    sys.exit(M.main("test_memory_bound", CASES, __doc__, limit=150))
