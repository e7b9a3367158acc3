#!/usr/bin/env python3
"""multifd.py - the multifd benchmark: vmig vs QEMU 7.2 side by side, the
same RAM content and transport, for each multifd-compression.

1 GiB of mixed RAM (page by page: a quarter zero, a quarter random, half
text-like), pre-allocated on both sides, migrated over loopback tcp with
multifd (2 channels, levels 1), destination started with -incoming defer.
For each of none, zlib, zstd and each engine (alternating, medians of
--runs): time from `migrate` until the destination runs, throughput, bytes
on the wire (loopback interface counters: run it on an otherwise quiet
machine), and the source's monitor latency meanwhile
(query-status every 5 ms on a second QMP socket). Every run's RAM is
verified.

  bench/multifd.py [--build DIR] [--size 1G] [--runs 3] [--channels 2]
                   [--compression none,zlib,zstd] [--only vmig|qemu] [--json]
                   [--smoke]

--json prints one object: <comp>_vmig_ms, <comp>_qemu_ms, <comp>_ratio
(QEMU's time over vmig's: above 1, vmig is faster), <comp>_vmig_gibps,
<comp>_qemu_gibps, <comp>_vmig_wire_mb, <comp>_qemu_wire_mb,
<comp>_vmig_monitor_p99_ms, <comp>_qemu_monitor_p99_ms (median over runs),
and monitor_p99_ms: vmig's worst p99 over every run."""
import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402
import compress as cb  # noqa: E402  (its text-like content)

PROG = "bench/multifd.py"
COMPS = ("none", "zlib", "zstd")
REQUIRED_KEYS = ["%s_%s" % (c, k) for c in COMPS for k in ("vmig_ms", "qemu_ms", "ratio")] + \
    ["monitor_p99_ms"]
VMIG_KEYS = ["%s_vmig_ms" % c for c in COMPS] + ["monitor_p99_ms"]


def make_mixed(path, size, d):
    """Page i: zero if i % 4 == 0, random if 1, text-like otherwise."""
    text = os.path.join(d, "text.tmp")
    cb.make_text(text, min(size, 64 << 20))
    with open(text, "rb") as f:
        tblob = f.read()
    os.unlink(text)
    rnd = os.urandom(min(size, 64 << 20))
    zero = bytes(bl.PAGE)
    with open(path, "wb") as f:
        chunk = []
        for i in range(size // bl.PAGE):
            k = i % 4
            if k == 0:
                chunk.append(zero)
            elif k == 1:
                o = (i * bl.PAGE) % (len(rnd) - bl.PAGE)
                chunk.append(rnd[o:o + bl.PAGE])
            else:
                o = (i * 7919 * 8) % (len(tblob) - bl.PAGE)
                chunk.append(tblob[o:o + bl.PAGE])
            if len(chunk) == 4096:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def lo_bytes():
    """Bytes received on the loopback interface so far: engine-neutral (QEMU
    uses recvmsg, which /proc/PID/io does not count), exact while nothing
    else uses loopback (the monitors use unix sockets)."""
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                return int(rest.split()[0])
    return 0


class Pinger(threading.Thread):
    """query-status every 5 ms on its own monitor connection; round trips in ms."""

    def __init__(self, qmp):
        super().__init__(daemon=True)
        self.qmp = qmp
        self.lat = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t0 = time.perf_counter()
            try:
                self.qmp.ok("query-status")
            except bl.Fail:
                return
            self.lat.append((time.perf_counter() - t0) * 1000)
            self.stop.wait(0.005)


def one(a, engine, binary, d, src, comp):
    def setup(sq, dq):
        for q in (sq, dq):
            q.ok("migrate-set-capabilities",
                 {"capabilities": [{"capability": "multifd", "state": True}]})
            q.ok("migrate-set-parameters", {"multifd-channels": a.channels,
                                            "multifd-compression": comp})
    m = bl.Migration(engine, binary, d, src, os.path.join(d, "dst.ram"), a.size_bytes,
                     src_qmp=2, setup=setup)
    pinger = None
    try:
        m.start()
        r0 = lo_bytes()
        pinger = Pinger(m.src.connect(1))
        pinger.start()
        t = m.run()
        pinger.stop.set()
        pinger.join()
        wire = lo_bytes() - r0
    finally:
        if pinger:
            pinger.stop.set()
        m.stop()
    m.verify_and_remove()
    lat = sorted(pinger.lat)
    p99 = bl.percentile(lat, 99) if lat else None
    return t["dst_running"], wire, p99


def main(argv):
    ap = bl.arg_parser(__doc__.split("\n")[0], "guest RAM (default 1G)",
                       "runs per engine and compression (default 3)")
    ap.add_argument("--channels", type=int, default=2, help="multifd-channels (default 2)")
    ap.add_argument("--compression", default=",".join(COMPS),
                    help="which of none,zlib,zstd to run (default all)")
    ap.add_argument("--smoke", action="store_true", help="64M, one run")
    a = ap.parse_args(argv)
    if a.smoke:
        a.size, a.runs = "64M", 1
    bl.finish_args(ap, a)
    if not 1 <= a.channels <= 255:
        ap.error("--channels: 1..255")
    comps = [c for c in a.compression.split(",") if c]
    if not comps or any(c not in COMPS for c in comps):
        ap.error("--compression: a comma-separated list of none, zlib, zstd")
    engines, binaries, notes, vmig_missing = bl.find_engines(PROG, a)
    res = {"size_bytes": a.size_bytes, "channels": a.channels,
           "loadavg_1min": bl.load_average(PROG, "times")}
    for c in COMPS:
        for k in ("vmig_ms", "qemu_ms", "ratio", "vmig_gibps", "qemu_gibps", "vmig_wire_mb",
                  "qemu_wire_mb", "vmig_monitor_p99_ms", "qemu_monitor_p99_ms"):
            res["%s_%s" % (c, k)] = None
    res["monitor_p99_ms"] = None
    failures, unsupported = [], {}
    r = bl.reaper()
    d = r.tmpdir()
    worst = []
    try:
        src = os.path.join(d, "src.ram")
        make_mixed(src, a.size_bytes, d)
        for comp in comps:
            got = {e: [] for e in engines}
            for e, _, x in bl.alternating_runs(PROG, engines, a.runs,
                                               lambda e: one(a, e, binaries[e], d, src, comp),
                                               failures, unsupported, label=comp + ": "):
                got[e].append(x)
                if e == "vmig" and x[2] is not None:
                    worst.append(x[2])
            for e in engines:
                if not got[e]:
                    continue
                ms = bl.median([x[0] for x in got[e]])
                res["%s_%s_ms" % (comp, e)] = bl.rnd(ms, 1)
                res["%s_%s_gibps" % (comp, e)] = bl.rnd(a.size_bytes / bl.GiB / (ms / 1000), 2)
                res["%s_%s_wire_mb" % (comp, e)] = bl.rnd(bl.median([x[1] for x in got[e]]) / 1e6, 1)
                p = [x[2] for x in got[e] if x[2] is not None]
                res["%s_%s_monitor_p99_ms" % (comp, e)] = bl.rnd(bl.median(p), 2) if p else None
            v, q = res["%s_vmig_ms" % comp], res["%s_qemu_ms" % comp]
            if v and q:
                res["%s_ratio" % comp] = bl.rnd(q / v, 2)
        if worst:
            res["monitor_p99_ms"] = bl.rnd(max(worst), 2)
    finally:
        r.cleanup()

    def table(res):
        print("multifd, %d MiB mixed RAM (1/4 zero, 1/4 random, 1/2 text), %d channels, "
              "loopback tcp, medians of %d" % (a.size_bytes >> 20, a.channels, a.runs))
        print("%-6s %10s %10s %8s %9s %9s %10s %10s %9s %9s" % (
            "comp", "vmig ms", "QEMU ms", "QEMU/vm", "vmig GiB/s", "QEMU GiB/s", "vmig MB",
            "QEMU MB", "vmig p99", "QEMU p99"))
        for c in COMPS:
            print("%-6s %10s %10s %8s %9s %9s %10s %10s %9s %9s" % tuple(
                [c] + [res["%s_%s" % (c, k)] for k in (
                    "vmig_ms", "qemu_ms", "ratio", "vmig_gibps", "qemu_gibps", "vmig_wire_mb",
                    "qemu_wire_mb", "vmig_monitor_p99_ms", "qemu_monitor_p99_ms")]))
        print("vmig monitor p99, worst run: %s ms" % res["monitor_p99_ms"])
        bl.print_footer(res)

    return bl.report(res, a, failures, unsupported, notes, vmig_missing, table)


if __name__ == "__main__":
    bl.run_main(PROG, main)
