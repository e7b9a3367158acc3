#!/usr/bin/env python3
"""monitor_latency.py - how responsive the source's monitor stays during a live
migration: vmig-vmm against QEMU 7.2, in the same run.

  monitor_latency.py [--vmm PATH] [--qemu PATH] [--size 1G] [--runs 3] [--json]
                     [--only vmig|qemu] [--downtime-limit MS] [--interval MS]
                     [--idle S] [--build DIR] [--smoke]

Each run: source with random RAM (1 GiB, every page distinct) running, a
destination `--incoming tcp:127.0.0.1:PORT`, both with RAM in pre-allocated
/dev/shm files, max-bandwidth 100 GiB/s, downtime-limit 300 ms (QEMU's default,
the same on both). A separate client process (bench/qmp_pinger.py) on a second
QMP socket of the source sends `query-status` every 5 ms (blocking socket, one
request in flight, perf_counter_ns) for --idle seconds before `migrate`, during
the migration and 250 ms after the destination runs. The driver takes the
phase boundaries from the source's MIGRATION events (setup, active, completed),
its STOP event (start of stop-and-copy) and the destination's RESUME. Each
sample goes to the phase its round trip overlaps most:

  idle        before `migrate`
  setup       `migrate` sent .. status active
  active      the iterations: active .. source STOP (or status leaving active)
  stopcopy    STOP .. source `completed`
  completion  source `completed` .. destination running + 250 ms
  precopy     setup + active + stopcopy (the whole job on the source)

Reports p50 / p99 / max round trip per phase and the longest gap between two
consecutive replies (during the migration, and idle), medians over --runs.
Nothing is asserted: vmig's target is p99 < 2 ms and max < 10 ms.

--json prints one object: idle_p50_ms, idle_p99_ms, idle_max_ms,
precopy_p50_ms, precopy_p99_ms, precopy_max_ms for vmig, the same prefixed
qemu_ for QEMU 7.2 (null when not measured), plus per-phase details
(<phase>_{p50,p99,max}_ms, <phase>_n, gap_max_ms, idle_gap_max_ms, total_ms,
downtime_ms, stopcopy_ms). Exit 0; 1 when a migration or the verification of
the destination's RAM failed; 2 bad usage; 77 (with --smoke) when vmig-vmm is
missing or cannot migrate yet.
"""
import array
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

STAT_KEYS = ["%s_%s_ms" % (p, s) for p in ("idle", "precopy") for s in ("p50", "p99", "max")]
REQUIRED_KEYS = STAT_KEYS + ["qemu_" + k for k in STAT_KEYS]
VMIG_KEYS = STAT_KEYS
PHASES = ("idle", "setup", "active", "stopcopy", "completion")
TAIL_NS = 250 * 1000 * 1000


def parse_args(argv):
    ap = bl.arg_parser("QMP latency during a live migration, vmig vs QEMU 7.2",
                       size_help="guest RAM, random content (default 1G)",
                       runs_help="runs per engine, medians reported (default 3)")
    ap.add_argument("--interval", type=float, default=5.0, help="ms between pings (default 5)")
    ap.add_argument("--idle", type=float, default=2.0, help="s of pinging before migrate (default 2)")
    ap.add_argument("--no-rt", action="store_true",
                    help="run the pinger at normal priority (default: SCHED_FIFO 1 when allowed)")
    ap.add_argument("--smoke", action="store_true", help="64 MiB, 1 run, 0.5 s idle")
    a = ap.parse_args(argv)
    if a.smoke:
        a.size, a.runs, a.idle = "64M", 1, 0.5
    bl.finish_args(ap, a)
    if a.runs < 1 or a.interval <= 0 or a.idle <= 0:
        ap.error("--runs, --interval and --idle must be positive")
    return a


def start_pinger(sock, interval, out, fifo):
    p = bl.reaper().spawn([sys.executable, os.path.join(bl.HERE, "qmp_pinger.py"), sock,
                           str(interval), out] + (["--fifo"] if fifo else []),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    line = p.stdout.readline().split()
    if not line or line[0] != b"ready":
        p.kill()
        p.wait()
        raise bl.Fail("the QMP pinger did not start on %s" % sock)
    p.sched = line[1].decode() if len(line) > 1 else "other"
    return p


def stop_pinger(p, out):
    p.send_signal(signal.SIGUSR1)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise bl.Fail("the QMP pinger did not stop (a reply never came)")
    bl.reaper().forget(p)
    if p.returncode != 0:
        raise bl.Fail("the QMP pinger failed (%d)" % p.returncode)
    a = array.array("q")
    with open(out, "rb") as f:
        a.frombytes(f.read())
    os.unlink(out)
    return list(zip(a[0::2], a[1::2]))


def analyse(samples, t, tail_end):
    """Per-phase stats of (send, reply) ns samples; t = Migration.t."""
    tm = t["t_migrate"]
    stop = t.get("t_stop", t.get("t_src_completed"))
    act = t.get("t_active", stop)
    done = t["t_src_completed"]
    bounds = [("idle", samples[0][0] if samples else tm, tm), ("setup", tm, max(tm, act)),
              ("active", max(tm, act), max(tm, act, stop)), ("stopcopy", max(tm, act, stop), done),
              ("completion", done, tail_end)]
    lat = {p: [] for p in PHASES}
    for s0, s1 in samples:
        best, bo = None, -1
        for name, a, b in bounds:
            o = min(s1, b) - max(s0, a)
            if b > a and o > bo:
                best, bo = name, o
            elif b == a and a >= s0 and a <= s1 and best is None:
                best, bo = name, 0
        if best is not None and s0 < tail_end:
            lat[best].append((s1 - s0) / 1e6)
    lat["precopy"] = lat["setup"] + lat["active"] + lat["stopcopy"]
    r = {}
    for p, xs in lat.items():
        r[p + "_n"] = len(xs)
        r[p + "_p50_ms"] = bl.percentile(xs, 50)
        r[p + "_p99_ms"] = bl.percentile(xs, 99)
        r[p + "_max_ms"] = max(xs) if xs else None

    def gap(a, b):
        # longest time between consecutive replies within [a, b], counting from
        # the last reply before a and to the first reply after b
        rep = [s1 for _, s1 in samples]
        pts = [x for x in rep if a <= x <= b]
        before = [x for x in rep if x < a]
        after = [x for x in rep if x > b]
        pts = before[-1:] + pts + after[:1]
        return max((y - x for x, y in zip(pts, pts[1:])), default=None)

    g = gap(tm, done)
    r["gap_max_ms"] = g / 1e6 if g is not None else None
    g = gap(samples[0][1] if samples else tm, tm)
    r["idle_gap_max_ms"] = g / 1e6 if g is not None else None
    for name, a, b in bounds[1:]:
        r[name + "_ms"] = (b - a) / 1e6
    return r


def one_run(engine, binary, d, src_file, args):
    dst_file = os.path.join(d, "dst-%s.ram" % engine)
    out = os.path.join(d, "pings-%s.bin" % engine)
    m = bl.Migration(engine, binary, d, src_file, dst_file, args.size_bytes, args.downtime_limit,
                     src_qmp=2)
    pinger = None
    try:
        m.start()
        pinger = start_pinger(m.src.socks[1], args.interval, out, not args.no_rt)
        sched = pinger.sched
        time.sleep(args.idle)
        m.run()
        tail_end = max(m.t["t_dst_running"], m.t["t_src_completed"]) + TAIL_NS
        while bl.now_ns() < tail_end + 20 * 1000 * 1000:
            time.sleep(0.01)
        samples = stop_pinger(pinger, out)
        pinger = None
    finally:
        if pinger is not None and pinger.poll() is None:
            pinger.kill()
            pinger.wait()
        m.stop()
    m.verify_and_remove()
    r = analyse(samples, m.t, tail_end)
    info = m.src_info or {}
    r["total_ms"] = info.get("total-time")
    r["downtime_ms"] = info.get("downtime")
    r["pinger_sched"] = sched
    return r


def main(argv):
    args = parse_args(argv)
    R = bl.reaper()
    engines, binaries, notes, vmig_missing = bl.find_engines("monitor_latency", args)
    if args.smoke and vmig_missing:
        return 77
    load = bl.load_average("monitor_latency", "latencies")
    d = R.tmpdir()
    src_file = os.path.join(d, "src.ram")
    bl.make_content(src_file, args.size_bytes, "random")
    runs = {"vmig": [], "qemu": []}
    failures, unsupported = [], {}
    for e, r, x in bl.alternating_runs("monitor_latency", engines, args.runs,
                                       lambda e: one_run(e, binaries[e], d, src_file, args),
                                       failures, unsupported):
        runs[e].append(x)
        bl.log("monitor_latency: %-4s run %d: idle p50 %s p99 %s max %s | precopy p50 %s p99 %s "
               "max %s ms (n=%d) | stop-and-copy %s ms, max %s | gap %s ms" % (
                   e, r + 1, f3(x["idle_p50_ms"]), f3(x["idle_p99_ms"]), f3(x["idle_max_ms"]),
                   f3(x["precopy_p50_ms"]), f3(x["precopy_p99_ms"]), f3(x["precopy_max_ms"]),
                   x["precopy_n"], f3(x["stopcopy_ms"]), f3(x["stopcopy_max_ms"]),
                   f3(x["gap_max_ms"])))
    os.unlink(src_file)

    res = {"size_bytes": args.size_bytes, "runs": args.runs, "interval_ms": args.interval,
           "downtime_limit_ms": args.downtime_limit, "loadavg_1min": load}
    keys = sorted(set(k for e in runs for x in runs[e] for k in x))
    if not keys:
        keys = sorted(set(k for k in analyse([], {"t_migrate": 0, "t_src_completed": 0}, 0)) |
                      {"total_ms", "downtime_ms"})
    for e, prefix in (("vmig", ""), ("qemu", "qemu_")):
        for k in keys:
            vals = [x.get(k) for x in runs[e]]
            if any(isinstance(v, str) for v in vals):
                res[prefix + k] = ",".join(sorted(set(str(v) for v in vals)))
                continue
            v = bl.median(vals)
            res[prefix + k] = bl.rnd(v, 3) if isinstance(v, float) else v
    return bl.report(res, args, failures, unsupported, notes, vmig_missing,
                     lambda res: print_table(res, args))


def fmt_n(x):
    return "-" if x is None else "%d" % x


def f3(x):
    return "-" if x is None else "%.3f" % x


def print_table(res, args):
    print("QMP query-status round trip on the source's 2nd monitor, every %g ms, during a live "
          "migration of %d MiB random RAM over tcp loopback (max-bandwidth 100 GiB/s, downtime-limit "
          "%d ms), median of %d run(s)" % (args.interval, args.size_bytes >> 20, args.downtime_limit,
                                         args.runs))
    for e, prefix in (("vmig", ""), ("qemu", "qemu_")):
        print("%s (total-time %s ms, downtime %s ms):" % (e, res.get(prefix + "total_ms") or "-",
                                                         res.get(prefix + "downtime_ms") if
                                                         res.get(prefix + "downtime_ms") is not None
                                                         else "-"))
        print("  %-11s %9s %6s %9s %9s %9s" % ("phase", "ms", "pings", "p50 ms", "p99 ms", "max ms"))
        for p in PHASES + ("precopy",):
            dur = res.get(prefix + p + "_ms")
            print("  %-11s %9s %6s %9s %9s %9s" % (
                p, "-" if dur is None else "%.0f" % dur, fmt_n(res.get(prefix + p + "_n")),
                f3(res.get(prefix + p + "_p50_ms")), f3(res.get(prefix + p + "_p99_ms")),
                f3(res.get(prefix + p + "_max_ms"))))
        print("  longest gap between replies: migration %s ms, idle %s ms" %
              (f3(res.get(prefix + "gap_max_ms")), f3(res.get(prefix + "idle_gap_max_ms"))))
    bl.print_footer(res)


if __name__ == "__main__":
    bl.run_main("monitor_latency", main)
