#!/usr/bin/env python3
"""compress.py - the `compress` capability benchmark: vmig vs QEMU 7.2 on the
same RAM content, side by side, for several compress-threads.

Source only: each engine migrates its RAM with `compress` on to
`exec:cat > /dev/null`, so the time is the sender's (zlib on its threads or
pool, and the stream), not a destination's; max-bandwidth unlimited. The
content is text-like (deflates to about 0.56 at level 1), the same file for
both engines. Then one full vmig -> vmig migration with decompress-threads
as many, verified.

  bench/compress.py [--build DIR] [--size 256M] [--threads 1,2,4] [--runs 3]
                    [--level 1] [--json] [--smoke]

--json prints one object: for each thread count t, vmig_ms_<t>t, qemu_ms_<t>t
(medians), qemu_over_vmig_<t>t (QEMU's time / vmig's: above 1, vmig is
faster), vmig_cpu_s_<t>t, qemu_cpu_s_<t>t (the process's CPU seconds);
vmig_scaling (vmig's time at the lowest count / at the highest), and
full_migration_ms / full_migration_verified for the vmig -> vmig run."""
import os
import random
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PROG = "bench/compress.py"
MiB = 1 << 20
# What bench/smoke_check.py requires of a --smoke --json run (threads 1,2);
# the qemu keys are null without QEMU.
REQUIRED_KEYS = ["%s_%dt" % (k, t) for t in (1, 2)
                 for k in ("vmig_ms", "qemu_ms", "qemu_over_vmig", "vmig_cpu_s")] + \
    ["vmig_scaling", "full_migration_ms"]
VMIG_KEYS = ["vmig_ms_1t", "vmig_ms_2t", "vmig_cpu_s_1t", "vmig_cpu_s_2t", "vmig_scaling",
             "full_migration_ms"]


def make_text(path, size):
    """Text-like RAM: words of random letters, a 16 MiB block rotated by a
    different amount in each 16 MiB chunk, so no two pages are equal."""
    rng = random.Random(1)
    words = [bytes(rng.choice(b"abcdefghijklmnop") for _ in range(rng.randint(2, 9)))
             for _ in range(5000)]
    blob = b" ".join(rng.choice(words) for _ in range(3_000_000))
    chunk = min(16 * MiB, size)
    blob = (blob * (1 + chunk // max(1, len(blob))))[:chunk]
    with open(path, "wb") as f:
        off, i = 0, 0
        while off < size:
            k = (8 * (i + 1)) % chunk
            data = (blob[k:] + blob[:k])[:size - off]
            f.write(data)
            off += len(data)
            i += 1


def cpu_s(proc):
    """User + system CPU seconds of a running process."""
    with open("/proc/%d/stat" % proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_done(q, timeout_s):
    deadline = time.monotonic() + timeout_s
    while True:
        info = q.ok("query-migrate")
        if info.get("status") in ("completed", "failed", "cancelled"):
            return info
        if time.monotonic() > deadline:
            q.ok("migrate_cancel")
            raise bl.Fail("not completed within %d s" % timeout_s)
        time.sleep(0.005)


def compress_caps(q, level, **params):
    q.ok("migrate-set-capabilities",
         {"capabilities": [{"capability": "compress", "state": True}]})
    q.ok("migrate-set-parameters", dict(params, **{"compress-level": level}))


def source_only(a, engine, binary, d, ram, threads):
    """ms and CPU seconds of a compressed migration to /dev/null."""
    vm = bl.VM(engine, binary, d, ram, a.size_bytes, tag=engine + "-src")
    try:
        q = vm.qmp = vm.connect()
        compress_caps(q, a.level, **{"compress-threads": threads,
                                      "max-bandwidth": bl.UNLIMITED_BW})
        c0 = cpu_s(vm.proc)
        t0 = bl.now_ns()
        q.ok("migrate", {"uri": "exec:cat > /dev/null"})
        info = wait_done(q, 120 + 60 * a.size_bytes / (1 << 30))
        t1 = bl.now_ns()
        c1 = cpu_s(vm.proc)
        if info.get("status") != "completed":
            raise bl.Fail("migration %s: %s" % (info.get("status"), info.get("error-desc")))
        comp = info.get("compression", {})
        if comp.get("pages", 0) == 0:
            raise bl.Fail("no page went compressed")
        return (t1 - t0) / 1e6, c1 - c0
    finally:
        vm.quit()


def full_migration(a, d, ram, threads):
    """A vmig -> vmig migration with compress on both sides: ms, verified."""
    def setup(sq, dq):
        compress_caps(sq, a.level, **{"compress-threads": threads})
        compress_caps(dq, a.level, **{"decompress-threads": threads})
    return bl.timed_migration("vmig", a.vmm, d, ram, a.size_bytes, setup)["dst_running"]


def main(argv):
    ap = bl.arg_parser(__doc__.split("\n")[0], "guest RAM (default 256M)",
                       "runs per engine and thread count (default 3)")
    ap.add_argument("--threads", default="1,2,4", help="compress-threads to try (default 1,2,4)")
    ap.add_argument("--level", type=int, default=1, help="compress-level (default 1)")
    ap.add_argument("--smoke", action="store_true", help="32M, one run, threads 1,2")
    ap.set_defaults(size="256M")
    a = ap.parse_args(argv)
    if a.smoke:
        a.size, a.runs, a.threads = "32M", 1, "1,2"
    bl.finish_args(ap, a)
    try:
        counts = [int(x) for x in a.threads.split(",") if x]
    except ValueError:
        ap.error("--threads: a comma-separated list of counts")
    if not counts or any(t < 1 or t > 255 for t in counts):
        ap.error("--threads: counts are 1..255")
    engines, binaries, notes, vmig_missing = bl.find_engines(PROG, a)
    res = {"size_bytes": a.size_bytes, "level": a.level, "threads": counts,
           "loadavg_1min": bl.load_average(PROG, "times")}
    for t in counts:
        for k in ("vmig_ms", "qemu_ms", "qemu_over_vmig", "vmig_cpu_s", "qemu_cpu_s"):
            res["%s_%dt" % (k, t)] = None
    res.update(vmig_scaling=None, full_migration_ms=None, full_migration_verified=False)
    failures, unsupported = [], {}
    r = bl.reaper()
    d = r.tmpdir()
    try:
        ram = os.path.join(d, "src.ram")
        make_text(ram, a.size_bytes)
        for t in counts:
            got = {e: [] for e in engines}
            for e, _, x in bl.alternating_runs(
                    PROG, engines, a.runs,
                    lambda e: source_only(a, e, binaries[e], d, ram, t),
                    failures, unsupported, label="%d threads: " % t):
                got[e].append(x)
            for e in engines:
                if got[e]:
                    res["%s_ms_%dt" % (e, t)] = bl.rnd(bl.median([x[0] for x in got[e]]), 1)
                    res["%s_cpu_s_%dt" % (e, t)] = bl.rnd(bl.median([x[1] for x in got[e]]), 2)
            v, q = res.get("vmig_ms_%dt" % t), res.get("qemu_ms_%dt" % t)
            if v and q:
                res["qemu_over_vmig_%dt" % t] = bl.rnd(q / v, 2)
        lo, hi = res.get("vmig_ms_%dt" % min(counts)), res.get("vmig_ms_%dt" % max(counts))
        if lo and hi and len(counts) > 1:
            res["vmig_scaling"] = bl.rnd(lo / hi, 2)
        if "vmig" in engines and "vmig" not in unsupported:
            try:
                res["full_migration_ms"] = bl.rnd(full_migration(a, d, ram, max(counts)), 1)
                res["full_migration_verified"] = True
            except bl.Fail as ex:
                failures.append("vmig -> vmig: %s" % ex)
                res["full_migration_verified"] = False
    finally:
        r.cleanup()

    def table(res):
        print("compress, %d MiB text-like RAM, level %d, source to /dev/null, medians of %d"
              % (a.size_bytes >> 20, a.level, a.runs))
        print("%-9s %12s %12s %10s %10s %14s" % ("threads", "vmig ms", "QEMU ms", "vmig CPU s",
                                                 "QEMU CPU s", "QEMU/vmig"))
        for t in counts:
            print("%-9d %12s %12s %10s %10s %14s" % (
                t, res.get("vmig_ms_%dt" % t), res.get("qemu_ms_%dt" % t),
                res.get("vmig_cpu_s_%dt" % t), res.get("qemu_cpu_s_%dt" % t),
                res.get("qemu_over_vmig_%dt" % t)))
        if "vmig_scaling" in res:
            print("vmig %d -> %d threads: %sx faster" % (min(counts), max(counts),
                                                         res["vmig_scaling"]))
        if "full_migration_ms" in res:
            print("vmig -> vmig with %d (de)compress threads: %s ms, RAM verified"
                  % (max(counts), res["full_migration_ms"]))
        bl.print_footer(res)

    return bl.report(res, a, failures, unsupported, notes, vmig_missing, table)


if __name__ == "__main__":
    bl.run_main(PROG, main)
