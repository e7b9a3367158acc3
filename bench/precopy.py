#!/usr/bin/env python3
"""precopy.py - live precopy migration of RAM over loopback TCP: vmig -> vmig
against QEMU 7.2 -> QEMU 7.2, in the same run, for zero, random and mixed RAM,
next to the machine's ceiling (one loopback TCP connection, memory to memory,
build/bench/loopback_ceiling) and the zero-page scan rate (build/bench/zero_scan).

  precopy.py [--vmm PATH] [--qemu PATH] [--size 1G] [--runs 3] [--json]
             [--only vmig|qemu] [--downtime-limit MS] [--mixed page|2m]
             [--build DIR] [--smoke]

Each run: destination started with `--incoming tcp:127.0.0.1:PORT` (QEMU:
`-incoming`), source running, both with RAM in a pre-allocated shared file in
/dev/shm (`--memory-file F --prealloc`, QEMU `memory-backend-file,share=on,
prealloc=on` and `-M none,memory-backend=mem`); `events` capability on both
sides, max-bandwidth 100 GiB/s, the same downtime-limit (300 ms) on both; the
clock runs from sending `migrate` to the destination's MIGRATION "completed"
event (its load is done), and to its RESUME (running). The source's
query-migrate gives total-time and downtime. After each run (untimed) the
destination's RAM file must equal the source's, byte for byte (and the
source's file its original sha256 after all runs of a content). Engines
alternate order from run to run; medians of --runs are reported.

Content (1 GiB by default): zero; random (every page distinct); mixed = half
zero pages, half random, interleaved page by page (even pages zero), or by
2 MiB chunks with --mixed 2m.

--json prints one object: <c>_vmig_ms, <c>_qemu_ms, <c>_ratio (QEMU's time /
vmig's) for c in zero, random, mixed; loopback_gbps; random_vs_ceiling (vmig's
random throughput / loopback_gbps); zero_scan_gbps; plus details
(<c>_<engine>_best_ms, _running_ms, _total_ms, _downtime_ms, _gbps). GB/s = 1e9 bytes/s
of guest RAM. Missing figures are null. Exit 0; 1 when a migration or a
verification failed; 2 bad usage; 77 (with --smoke) when vmig-vmm is missing or
cannot migrate yet.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

REQUIRED_KEYS = (["%s_%s" % (c, k) for c in bl.CONTENTS for k in ("vmig_ms", "qemu_ms", "ratio")]
                 + ["loopback_gbps", "random_vs_ceiling", "zero_scan_gbps"])
# keys that must be numbers when vmig runs (the smoke test's check)
VMIG_KEYS = ["%s_vmig_ms" % c for c in bl.CONTENTS] + ["loopback_gbps", "random_vs_ceiling",
                                                        "zero_scan_gbps"]


def parse_args(argv):
    ap = bl.arg_parser("vmig vs QEMU 7.2 precopy migration over tcp loopback",
                       size_help="guest RAM (default 1G)",
                       runs_help="runs per case, medians reported (default 3)")
    ap.add_argument("--mixed", choices=("page", "2m"), default="page",
                    help="mixed content interleaving (default: page by page)")
    ap.add_argument("--smoke", action="store_true", help="64 MiB, 1 run, quick ceiling")
    a = ap.parse_args(argv)
    if a.smoke:
        a.size, a.runs = "64M", 1
    bl.finish_args(ap, a)
    if a.runs < 1:
        ap.error("--runs must be >= 1")
    a.ceiling = os.path.join(a.build, "bench", "loopback_ceiling")
    a.zero_scan = os.path.join(a.build, "bench", "zero_scan")
    return a


def one_run(engine, binary, d, src_file, size, args):
    """One migration; a dict of figures (ms) or raises Fail/Unsupported."""
    dst_file = os.path.join(d, "dst-%s.ram" % engine)
    m = bl.Migration(engine, binary, d, src_file, dst_file, size, args.downtime_limit)
    try:
        m.start()
        m.run()
        t = m.ms(arrival=True)   # what a client observes: wall time
    finally:
        m.stop()
    info = m.src_info or {}
    ram = info.get("ram", {})
    m.verify_and_remove()
    return {
        "ms": t.get("dst_completed"),
        "running_ms": t.get("dst_running"),
        "src_completed_ms": t.get("src_completed"),
        "total_ms": info.get("total-time"),
        "downtime_ms": info.get("downtime"),
        "setup_ms": info.get("setup-time"),
        "transferred": ram.get("transferred"),
        "mbps": ram.get("mbps"),
        "events": "events" if m.src_events and m.dst_events else "polled",
    }


def main(argv):
    args = parse_args(argv)
    R = bl.reaper()
    size = args.size_bytes
    engines, binaries, notes, vmig_missing = bl.find_engines("precopy", args)
    if args.smoke and vmig_missing:
        return 77

    res = {"size_bytes": size, "runs": args.runs, "downtime_limit_ms": args.downtime_limit,
           "max_bandwidth": bl.UNLIMITED_BW, "mixed": args.mixed}
    res["loadavg_1min"] = bl.load_average("precopy", "figures")
    # the machine's limit, same run: measured before and after the migrations,
    # the best kept (it is a ceiling)
    ceil = []

    def ceiling():
        if os.access(args.ceiling, os.X_OK):
            c = bl.run_json([args.ceiling, "--json", "--size", bl.size_arg(size), "--rounds",
                             "1" if args.smoke else "2"])
            if c:
                ceil.append(c)
        else:
            bl.log("precopy: %s not built" % args.ceiling)

    ceiling()
    zs = None
    if os.access(args.zero_scan, os.X_OK):
        zs = bl.run_json([args.zero_scan, "--json"] + (["--mib", "64", "--rounds", "2"] if args.smoke else []))
    else:
        bl.log("precopy: %s not built" % args.zero_scan)
    res["zero_scan_gbps"] = zs["zero_scan_gbps"] if zs else None

    d = R.tmpdir()
    src_file = os.path.join(d, "src.ram")
    samples = {(c, e): [] for c in bl.CONTENTS for e in ("vmig", "qemu")}
    failures = []
    unsupported = {}
    for c in bl.CONTENTS:
        if not [e for e in engines if e not in unsupported]:
            break
        bl.make_content(src_file, size, c, args.mixed)
        h0 = bl.file_hash(src_file)
        runs = bl.alternating_runs("precopy", engines, args.runs,
                                   lambda e: one_run(e, binaries[e], d, src_file, size, args),
                                   failures, unsupported, label=c + " ")
        for e, r, s in runs:
            samples[(c, e)].append(s)
            bl.log("precopy: %-6s %-4s run %d: loaded %.0f ms, running %.0f ms, total-time %s ms, "
                   "downtime %s ms (%s)" % (c, e, r + 1, s["ms"], s["running_ms"] or -1, s["total_ms"],
                                            s["downtime_ms"], s["events"]))
        if bl.file_hash(src_file) != h0:
            failures.append("%s: the source RAM file changed during the runs" % c)
            bl.log("precopy: FAILED " + failures[-1])
        os.unlink(src_file)

    if not args.smoke:
        ceiling()
    best = max(ceil, key=lambda c: c["loopback_gbps"]) if ceil else None
    res["loopback_gbps"] = best["loopback_gbps"] if best else None
    res["loopback_best_write_bytes"] = best["best_write_bytes"] if best else None
    for c in bl.CONTENTS:
        for e in ("vmig", "qemu"):
            ss = samples[(c, e)]
            ms = bl.median([s["ms"] for s in ss])
            res["%s_%s_ms" % (c, e)] = bl.rnd(ms, 1)
            res["%s_%s_best_ms" % (c, e)] = bl.rnd(min([s["ms"] for s in ss]), 1) if ss else None
            res["%s_%s_running_ms" % (c, e)] = bl.rnd(bl.median([s["running_ms"] for s in ss]), 1)
            res["%s_%s_total_ms" % (c, e)] = bl.median([s["total_ms"] for s in ss])
            res["%s_%s_downtime_ms" % (c, e)] = bl.median([s["downtime_ms"] for s in ss])
            res["%s_%s_transferred" % (c, e)] = bl.median([s["transferred"] for s in ss])
            res["%s_%s_gbps" % (c, e)] = bl.rnd(size / 1e9 / (ms / 1e3)) if ms else None
        v, q = res["%s_vmig_ms" % c], res["%s_qemu_ms" % c]
        res["%s_ratio" % c] = bl.rnd(q / v) if v and q else None
    vg = res["random_vmig_gbps"]
    res["random_vs_ceiling"] = bl.rnd(vg / res["loopback_gbps"]) if vg and res["loopback_gbps"] else None
    res["qemu_random_vs_ceiling"] = (bl.rnd(res["random_qemu_gbps"] / res["loopback_gbps"])
                                     if res["random_qemu_gbps"] and res["loopback_gbps"] else None)
    rc = bl.report(res, args, failures, unsupported, notes, vmig_missing,
                   lambda res: print_table(res, args, size))
    if rc == 1:
        for f in failures:
            bl.log("precopy: failed: " + f)
        for e, why in unsupported.items():
            bl.log("precopy: %s unsupported: %s" % (e, why))
    return rc


def fmt(x, f="%.0f"):
    return "-" if x is None else f % x


def print_table(res, args, size):
    print("precopy over tcp loopback, %d MiB RAM (mixed: %s), downtime-limit %d ms, max-bandwidth "
          "100 GiB/s, source running, median of %d run(s)" %
          (size >> 20, "page by page" if args.mixed == "page" else "2 MiB chunks",
           args.downtime_limit, args.runs))
    print("%-7s %-5s %11s %8s %11s %11s %10s %9s %12s" % ("content", "engine", "loaded ms", "best",
                                                          "running ms", "total-time", "downtime", "GB/s",
                                                          "MiB sent"))
    for c in bl.CONTENTS:
        for e in ("vmig", "qemu"):
            p = "%s_%s" % (c, e)
            tr = res[p + "_transferred"]
            print("%-7s %-5s %11s %8s %11s %11s %10s %9s %12s" % (
                c, e, fmt(res[p + "_ms"]), fmt(res[p + "_best_ms"]), fmt(res[p + "_running_ms"]),
                fmt(res[p + "_total_ms"]),
                fmt(res[p + "_downtime_ms"]), fmt(res[p + "_gbps"], "%.2f"),
                fmt(tr / 2**20 if tr is not None else None, "%.1f")))
    print("QEMU time / vmig time (loaded): " + ", ".join(
        "%s %s" % (c, fmt(res[c + "_ratio"], "%.2fx")) for c in bl.CONTENTS))
    bw = res["loopback_best_write_bytes"]
    print("loopback ceiling, one TCP connection memory->memory: %s GB/s (best write size %s KiB)" %
          (fmt(res["loopback_gbps"], "%.2f"), fmt(bw / 1024 if bw else None)))
    print("random throughput / ceiling: vmig %s, QEMU %s" % (fmt(res["random_vs_ceiling"], "%.2f"),
                                                            fmt(res["qemu_random_vs_ceiling"], "%.2f")))
    print("zero-page scan (zero_scan): %s GB/s" % fmt(res["zero_scan_gbps"], "%.1f"))
    bl.print_footer(res)


if __name__ == "__main__":
    bl.run_main("precopy", main)
